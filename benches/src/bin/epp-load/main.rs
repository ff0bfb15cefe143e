//! `epp-load`: the load generator. It starts the real `epp-server` binary on a fresh
//! database (SQLite file or PostgreSQL schema), loads registrars, contacts, hosts and
//! domains into it through the server's own store, opens TLS sessions that log in as real
//! clients do, runs the scenarios one after another for a fixed time (or count), and prints
//! ops/s, latency percentiles, errors by result code and the server's resident memory.
//! The baselines run in the same invocation: a bare rustls echo server (this binary, in a
//! process of its own) answering the server's own check response at the same concurrency,
//! and the create transaction run directly on the server's store against the same database.
//!
//! See `benches/README.md` and `docs/BENCHMARKS.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark tool")]

mod client;
mod cpu;
mod docs;
mod echo;
mod fixtures;
mod scenario;
mod server;
mod stats;

use std::path::PathBuf;
use std::time::Duration;

use anyhow_lite::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

/// Errors as text: a tool reports and exits.
mod anyhow_lite {
    pub(crate) type Result<T, E = String> = std::result::Result<T, E>;

    pub(crate) trait Context<T> {
        fn context(self, what: impl std::fmt::Display) -> Result<T>;
    }

    impl<T, E: std::fmt::Display> Context<T> for std::result::Result<T, E> {
        fn context(self, what: impl std::fmt::Display) -> Result<T> {
            self.map_err(|e| format!("{what}: {e}"))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Every scenario and baseline, in the order `all` runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Scenario {
    /// Domain checks (one name each), as fast as each session can.
    Check,
    /// Domain info of the registrar's own domain.
    Info,
    /// check 40 %, info 30 %, create 10 %, update 10 %, renew 5 %, poll 5 %.
    Mix,
    /// Domain creates of fresh names (durable: committed before the answer).
    Create,
    /// Every session creates the same name at one instant, for several names.
    Dropcatch,
    /// TLS handshakes (new connection, handshake, greeting, close) without and with a
    /// client certificate.
    Connstorm,
    /// Opens many sessions (TLS + greeting) and keeps them idle.
    Idle,
    /// Baseline: the check scenario against a bare rustls echo server.
    Echo,
    /// Baseline: the create transaction on the server's store, same database.
    Rawcreate,
    /// All of the above.
    All,
}

#[derive(Debug, Parser)]
#[command(
    name = "epp-load",
    about = "Load generator for epp-server (see docs/BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Scenarios to run (default: all).
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,

    /// The server binary (default: `epp-server` beside this binary).
    #[arg(long, env = "EPP_SERVER_BIN")]
    server_bin: Option<PathBuf>,

    /// Database backend of the server.
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: Backend,

    /// PostgreSQL URL (a fresh schema is made per run and dropped after).
    #[arg(
        long,
        env = "EPP_TEST_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg_url: String,

    /// Concurrent sessions (TLS connections, each logged in).
    #[arg(long, default_value_t = 32)]
    sessions: usize,

    /// Registrars the sessions log in as (round robin).
    #[arg(long, default_value_t = 4)]
    registrars: usize,

    /// Seconds each timed scenario runs.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,

    /// Stop each session after this many commands (instead of, or before, the duration).
    #[arg(long)]
    count: Option<u64>,

    /// Rounds a scenario and its baseline alternate in (check with echo, create with the
    /// raw create), each round a share of `--duration`: the two rates of a ratio are then
    /// measured over the same stretch of time, so that a shared machine's drift moves both.
    /// One round (and any `--count`) runs the scenario, then its baseline.
    #[arg(long, default_value_t = 5)]
    rounds: u32,

    /// Sessions the idle scenario opens.
    #[arg(long, default_value_t = 10_000)]
    idle_sessions: usize,

    /// Names the drop-catch scenario races for (one round each).
    #[arg(long, default_value_t = 20)]
    dropcatch_names: usize,

    /// Directory for the server's data (SQLite file, certificates, log); default: a new
    /// directory under the system's temporary directory, removed at the end.
    #[arg(long)]
    data_dir: Option<PathBuf>,

    /// The server's `log.level` (every command is logged at `info`, as shipped).
    #[arg(long, default_value = "info")]
    server_log_level: String,

    /// Print one JSON document on standard output instead of tables.
    #[arg(long)]
    json: bool,

    /// Also write the JSON document to this file (with the tables on standard output).
    #[arg(long)]
    json_out: Option<PathBuf>,

    /// Keep the data directory (and the PostgreSQL schema) after the run.
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The bare rustls echo server (started by the `echo` baseline in a process of its
    /// own): answers every frame with the payload in `--payload`.
    EchoServer {
        /// PEM certificate chain.
        #[arg(long)]
        cert: PathBuf,
        /// PEM private key.
        #[arg(long)]
        key: PathBuf,
        /// The payload every frame is answered with (greeting included).
        #[arg(long)]
        payload: PathBuf,
    },
}

/// The run's settings, as the scenarios see them.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) sessions: usize,
    pub(crate) registrars: usize,
    pub(crate) duration: Duration,
    pub(crate) count: Option<u64>,
    /// Rounds a scenario and its baseline alternate in (1 with a count).
    pub(crate) rounds: u32,
    pub(crate) idle_sessions: usize,
    pub(crate) dropcatch_names: usize,
    /// Distinguishes the names of this run from any earlier one.
    pub(crate) run_id: String,
    pub(crate) progress: bool,
}

impl Settings {
    /// The settings of round `round` of `rounds`: an equal share of the duration, and names
    /// of their own for the raw create (whose counters start again each round).
    pub(crate) fn round(&self, round: u32, rounds: u32) -> Settings {
        let mut s = self.clone();
        if rounds > 1 {
            s.duration = self.duration / rounds;
            s.run_id = format!("{}r{round}", self.run_id);
        }
        s
    }
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::EchoServer { cert, key, payload }) => echo::serve(&cert, &key, &payload),
        None => run(cli),
    };
    if let Err(e) = result {
        eprintln!("epp-load: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut scenarios = cli.scenarios.clone();
    if scenarios.is_empty() || scenarios.contains(&Scenario::All) {
        scenarios = vec![
            Scenario::Check,
            Scenario::Info,
            Scenario::Mix,
            Scenario::Create,
            Scenario::Dropcatch,
            Scenario::Connstorm,
            Scenario::Idle,
            Scenario::Echo,
            Scenario::Rawcreate,
        ];
    }
    scenarios.sort();
    scenarios.dedup();
    if cli.sessions == 0 || cli.registrars == 0 {
        return Err("--sessions and --registrars must be at least 1".into());
    }
    let server_bin = match cli.server_bin.clone() {
        Some(p) => p,
        None => std::env::current_exe()
            .context("locating this binary")?
            .with_file_name("epp-server"),
    };
    if !server_bin.exists() {
        return Err(format!(
            "no server binary at {} (build it: cargo build --release -p epp-server, or pass \
             --server-bin)",
            server_bin.display()
        ));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let run_id = format!("{:x}", (nanos as u64) ^ u64::from(std::process::id()));
    let (data_dir, remove_dir) = match &cli.data_dir {
        Some(d) => (d.join(format!("run-{run_id}")), !cli.keep),
        None => (
            std::env::temp_dir().join(format!("epp-load-{run_id}")),
            !cli.keep,
        ),
    };
    std::fs::create_dir_all(&data_dir).context(format!("creating {}", data_dir.display()))?;
    // The server resolves relative paths against its own data directory.
    let data_dir = data_dir
        .canonicalize()
        .context(format!("resolving {}", data_dir.display()))?;
    let settings = Settings {
        sessions: cli.sessions,
        registrars: cli.registrars,
        duration: Duration::from_secs_f64(cli.duration.max(0.01)),
        count: cli.count,
        rounds: if cli.count.is_some() {
            1
        } else {
            cli.rounds.max(1)
        },
        idle_sessions: cli.idle_sessions,
        dropcatch_names: cli.dropcatch_names,
        run_id: run_id.clone(),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()) || !cli.json,
    };
    let db = match cli.backend {
        Backend::Sqlite => server::Db::Sqlite(data_dir.join("registry.sqlite3")),
        Backend::Postgres => server::Db::Postgres {
            url: cli.pg_url.clone(),
            schema: format!("epp_load_{run_id}"),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let result = runtime.block_on(scenario::run_all(
        &settings,
        &scenarios,
        &server_bin,
        &data_dir,
        &db,
        &cli.server_log_level,
    ));
    if !cli.keep
        && let server::Db::Postgres { url, schema } = &db
        && let Err(e) = runtime.block_on(server::drop_schema(url, schema))
    {
        eprintln!("epp-load: dropping schema {schema}: {e}");
    }
    if remove_dir {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    let report = result?;
    if let Some(path) = &cli.json_out {
        let text = serde_json::to_string_pretty(&report.to_json(&settings, cli.backend))
            .context("encoding JSON")?;
        std::fs::write(path, text + "\n").context(format!("writing {}", path.display()))?;
    }
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.to_json(&settings, cli.backend))
                .context("encoding JSON")?
        );
    } else {
        print!("{}", report.to_text(&settings, cli.backend));
    }
    Ok(())
}
