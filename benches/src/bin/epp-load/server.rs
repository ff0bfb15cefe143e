//! The server process: started on port 0 with raised limits, its "listening on" line read
//! from its log file, its resident memory read from `/proc/<pid>/status`, stopped with
//! SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use epp_server::store::{PostgresConfig, SqliteConfig, StoreConfig};

use crate::anyhow_lite::{Context, Result};

/// The database of one run.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// A SQLite file (created by the server's migrations).
    Sqlite(PathBuf),
    /// A fresh schema on a PostgreSQL database.
    Postgres { url: String, schema: String },
}

impl Db {
    /// The store configuration of this process (the server's database and pool size).
    pub(crate) fn store_config(&self) -> StoreConfig {
        match self {
            Db::Sqlite(path) => {
                // As below: this process is not a server and keeps no names.
                let mut c = SqliteConfig::new(path);
                c.check_cache = false;
                StoreConfig::Sqlite(c)
            }
            Db::Postgres { url, schema } => {
                let mut c = PostgresConfig::new(url.clone());
                c.schema = Some(schema.clone());
                c.pool_size = SERVER_POOL_SIZE;
                // This process writes fixtures and raw creates beside the server; it is
                // not a server, so it keeps no names (docs/check-cache.md).
                c.check_cache = false;
                StoreConfig::Postgres(c)
            }
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Db::Sqlite(path) => vec![
                ("EPP_SERVER__DATABASE__BACKEND", "sqlite".into()),
                (
                    "EPP_SERVER__DATABASE__SQLITE_PATH",
                    path.display().to_string(),
                ),
            ],
            Db::Postgres { url, schema } => vec![
                ("EPP_SERVER__DATABASE__BACKEND", "postgres".into()),
                ("EPP_SERVER__DATABASE__POSTGRES_URL", url.clone()),
                ("EPP_SERVER__DATABASE__POSTGRES_SCHEMA", schema.clone()),
                (
                    "EPP_SERVER__DATABASE__POOL_SIZE",
                    SERVER_POOL_SIZE.to_string(),
                ),
            ],
        }
    }
}

/// The server's default `database.pool_size`.
const SERVER_POOL_SIZE: usize = 16;

/// Drops the run's PostgreSQL schema.
pub(crate) async fn drop_schema(url: &str, schema: &str) -> Result<()> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .context("DROP SCHEMA")?;
    drop(client);
    let _ = task.await;
    Ok(())
}

/// A running server, stopped on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) ca: PathBuf,
    pub(crate) cert_chain: PathBuf,
    pub(crate) private_key: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Starts `binary` in development mode on `data_dir` and `db`, with every session,
    /// connection and command limit raised out of the way of the load, and waits until it
    /// listens.
    pub(crate) fn start(binary: &Path, data_dir: &Path, db: &Db, log_level: &str) -> Result<Self> {
        let log = data_dir.join("server.log");
        let log_file = std::fs::File::create(&log).context("creating the server log")?;
        let mut cmd = Command::new(binary);
        for (k, _) in std::env::vars() {
            if k.to_ascii_uppercase().starts_with("EPP_SERVER") {
                cmd.env_remove(k);
            }
        }
        let big = "1000000";
        cmd.env("EPP_SERVER__DATA_DIR", data_dir)
            .env("EPP_SERVER__SERVER__LISTEN", "127.0.0.1:0")
            .env("EPP_SERVER__METRICS__LISTEN", "127.0.0.1:0")
            .env("EPP_SERVER__LOG__LEVEL", log_level)
            .env("EPP_SERVER__LIMITS__SESSIONS_PER_REGISTRAR", big)
            .env("EPP_SERVER__LIMITS__SESSIONS_PER_REGISTRAR_MAX", big)
            .env("EPP_SERVER__LIMITS__CONNECTIONS_PER_IP", big)
            .env("EPP_SERVER__LIMITS__MAX_CONNECTIONS", big)
            .env("EPP_SERVER__LIMITS__COMMANDS_PER_SESSION", "4000000000")
            .env("EPP_SERVER__LIMITS__PRELOGIN_TIMEOUT", "1h")
            .env("EPP_SERVER__LIMITS__IDLE_TIMEOUT", "1h")
            .env("EPP_SERVER__LIMITS__SHUTDOWN_GRACE", "5s")
            .envs(db.env())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("server log")?)
            .stderr(log_file);
        let child = cmd
            .spawn()
            .context(format!("starting {}", binary.display()))?;
        let dev = data_dir.join("dev-tls");
        let mut server = Server {
            child,
            addr: "127.0.0.1:0".parse().expect("a socket address"),
            ca: dev.join("ca.pem"),
            cert_chain: dev.join("server.pem"),
            private_key: dev.join("server-key.pem"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&server.log).unwrap_or_default();
            // The banner of development mode says it too, whatever `log.level` lets through.
            let banner = text.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("EPP over TLS:")?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            });
            if let Some(addr) = listening(&text, "epp").or(banner) {
                server.addr = addr;
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "the server exited with {status} before listening:\n{text}"
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("the server did not listen within 60 s:\n{text}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident set (VmRSS) in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmRSS:")
    }

    /// The server's peak resident set (VmHWM) in KiB.
    pub(crate) fn peak_rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmHWM:")
    }

    /// Lines of the server's log that report an error or a warning (at most `max`).
    pub(crate) fn log_problems(&self, max: usize) -> Vec<String> {
        self.log_lines(|l| l.contains("ERROR") || l.contains("WARN"), max)
    }

    /// Lines of the server's log that contain `pattern` (at most `max`).
    pub(crate) fn log_lines_with(&self, pattern: &str, max: usize) -> Vec<String> {
        self.log_lines(|l| l.contains(pattern), max)
    }

    /// Lines of the server's log that `keep` (at most `max`).
    fn log_lines(&self, keep: impl Fn(&str) -> bool, max: usize) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| keep(l))
            .take(max)
            .map(str::to_owned)
            .collect()
    }

    /// SIGTERM, then waits for the exit (killing it after 15 s).
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A `kB` field of `/proc/<pid>/status`, 0 when unreadable (not Linux).
pub(crate) fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// The address of the `listening on <addr> ... service="<service>"` log line.
pub(crate) fn listening(log: &str, service: &str) -> Option<SocketAddr> {
    log.lines().find_map(|line| {
        let rest = &line[line.find("listening on ")? + "listening on ".len()..];
        let addr: String = rest
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || ".:[]".contains(*c))
            .collect();
        let tagged = line.contains(&format!("service=\"{service}\""))
            || line.contains(&format!("\"service\":\"{service}\""))
            || line.contains(&format!("service={service}"));
        tagged.then(|| addr.parse().ok()).flatten()
    })
}
