//! A registry database for one test: a SQLite file in a temporary data directory, or a
//! fresh PostgreSQL schema (from `EPP_TEST_PG_URL`) dropped afterwards; and running the
//! admin commands of the real binary against it.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use epp_server::store::{AnyStore, PostgresConfig, SqliteConfig, StoreConfig};

use crate::harness::{EPP_SERVER, base_env, temp};

/// Runs `$case(&Db)` once on SQLite and once on PostgreSQL (skipped with a notice when
/// `EPP_TEST_PG_URL` is unset), as tests `sqlite::<case>` and `postgres::<case>`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    super::$case(&crate::db::Db::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    if let Some(db) = crate::db::Db::postgres() {
                        super::$case(&db);
                    }
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// What a finished admin command did.
pub(crate) struct Output {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    pub(crate) fn ok(self) -> Output {
        assert_eq!(
            self.code,
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub(crate) fn code(self, code: i32) -> Output {
        assert_eq!(
            self.code,
            Some(code),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Both streams, for "never printed" checks.
    pub(crate) fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// One test's database and data directory.
pub(crate) struct Db {
    _dir: tempfile::TempDir,
    pub(crate) data: PathBuf,
    pg: Option<(String, String)>,
}

impl Db {
    pub(crate) fn sqlite() -> Db {
        let (dir, data) = temp();
        Db {
            _dir: dir,
            data,
            pg: None,
        }
    }

    /// A fresh schema name on `EPP_TEST_PG_URL`, or `None` (with a notice) without one.
    /// The server creates the schema; the test drops it.
    pub(crate) fn postgres() -> Option<Db> {
        let Ok(url) = std::env::var("EPP_TEST_PG_URL") else {
            eprintln!("skipping PostgreSQL test: EPP_TEST_PG_URL is not set");
            return None;
        };
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!(
            "epp_it_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let (dir, data) = temp();
        Some(Db {
            _dir: dir,
            data,
            pg: Some((url, schema)),
        })
    }

    /// The environment for the binary: test defaults plus this database.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = base_env(&self.data);
        if let Some((url, schema)) = &self.pg {
            env.extend([
                ("EPP_SERVER__DATABASE__BACKEND".into(), "postgres".into()),
                ("EPP_SERVER__DATABASE__POSTGRES_URL".into(), url.clone()),
                (
                    "EPP_SERVER__DATABASE__POSTGRES_SCHEMA".into(),
                    schema.clone(),
                ),
                ("EPP_SERVER__DATABASE__POOL_SIZE".into(), "4".into()),
            ]);
        }
        env
    }

    /// `env()` with more variables.
    pub(crate) fn env_with(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.env();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    /// The PostgreSQL URL and schema, or `None` on SQLite.
    pub(crate) fn pg(&self) -> Option<(&str, &str)> {
        self.pg.as_ref().map(|(u, s)| (u.as_str(), s.as_str()))
    }

    /// The SQLite database file the server uses (with the default `sqlite_path`).
    pub(crate) fn sqlite_path(&self) -> PathBuf {
        self.data.join("registry.sqlite3")
    }

    pub(crate) fn store_config(&self) -> StoreConfig {
        match &self.pg {
            Some((url, schema)) => {
                let mut c = PostgresConfig::new(url.clone());
                c.schema = Some(schema.clone());
                c.pool_size = 2;
                StoreConfig::Postgres(c)
            }
            None => StoreConfig::Sqlite(SqliteConfig::new(self.data.join("registry.sqlite3"))),
        }
    }

    /// The store, opened from the test process (as the server would).
    pub(crate) async fn store(&self) -> AnyStore {
        epp_server::store::open(&self.store_config()).await.unwrap()
    }

    /// Runs `f` with the store opened from the test process (as the server would).
    pub(crate) fn with_store<T>(&self, f: impl AsyncFnOnce(&AnyStore) -> T) -> T {
        runtime().block_on(async {
            let store = epp_server::store::open(&self.store_config()).await.unwrap();
            f(&store).await
        })
    }

    /// Runs `epp-server <args>` with this database, `stdin` on standard input.
    pub(crate) fn admin(&self, args: &[&str], stdin: &str) -> Output {
        self.admin_env(args, stdin, &self.env())
    }

    pub(crate) fn admin_env(&self, args: &[&str], stdin: &str, env: &[(String, String)]) -> Output {
        let mut cmd = Command::new(EPP_SERVER);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.to_ascii_uppercase().starts_with("EPP_SERVER") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        // A command that does not read its input may exit first.
        let _ = input.write_all(stdin.as_bytes());
        drop(input);
        let out = child.wait_with_output().unwrap();
        Output {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.pg {
            let (url, schema) = (url.clone(), schema.clone());
            // No panic here: this may run while a failed test unwinds.
            runtime().block_on(async move {
                match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                    Ok((client, conn)) => {
                        tokio::spawn(conn);
                        let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                        if let Err(e) = client.batch_execute(&drop).await {
                            eprintln!("cannot drop test schema {schema}: {e}");
                        }
                    }
                    Err(e) => eprintln!("cannot drop test schema {schema}: {e}"),
                }
            });
        }
    }
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
