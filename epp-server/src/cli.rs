//! The command line: `epp-server [--config FILE] [serve | migrate | registrar … | domain
//! set-expiry | registrant invalidate | config check]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::admin::{
    self, DomainCommand, HistoryKind, RegistrantCommand, RegistrarCommand, ZoneCommand,
};
use crate::config::{Config, Mode};
use crate::error::Error;
use crate::serve::{Wiring, serve};
use crate::{notify, store, tls};

/// How long spawned tasks get to notice the runtime is stopping, after `serve` returned.
const RUNTIME_STOP_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Parser)]
#[command(
    name = "epp-server",
    version,
    about = "EPP registry server (Norid-compatible): TLS, storage, admin commands",
    long_about = None,
    after_help = "Exit status: 0 done, 1 failure, 2 invalid arguments, 3 refused (no such \
                  object, already exists, or not allowed in this mode)."
)]
struct Cli {
    /// Configuration file (TOML). Without one, built-in development defaults apply.
    /// Keys can be overridden with EPP_SERVER__SECTION__KEY variables.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "EPP_SERVER_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the EPP server (the default without a subcommand).
    Serve,
    /// Apply pending database schema migrations (serve and the admin commands do this
    /// too when they open the database).
    Migrate,
    /// Write a consistent copy of the embedded SQLite database to a new file, while the
    /// server runs (PostgreSQL: use pg_dump).
    Backup {
        /// The new file (never overwritten).
        #[arg(value_name = "FILE")]
        to: PathBuf,
    },
    /// Manage registrar accounts.
    #[command(subcommand)]
    Registrar(RegistrarCommand),
    /// Test-environment domain commands.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Domain holder (registrant) decisions of the registry.
    #[command(subcommand)]
    Registrant(RegistrantCommand),
    /// The zones' delegations, for the DNS.
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// Every recorded change of a domain, contact, host or registrar account, oldest
    /// first: when, which command, by whom, its trIDs and the fields it changed.
    History {
        /// What kind of record.
        #[arg(value_enum)]
        kind: HistoryKind,
        /// The domain or host name, contact id or registrar id.
        key: String,
        /// One JSON object per change, with the record before and after (transfer codes
        /// hidden).
        #[arg(long)]
        json: bool,
    },
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (and the TLS files and notify programs it names), then
    /// print the effective configuration with secrets redacted.
    Check {
        /// Also connect to the database and report its schema version (changes nothing).
        #[arg(long)]
        database: bool,
    },
}

/// The binary's `main`: parses the command line, runs the command, and turns an error
/// into a message on standard error and exit status 1. `wiring` supplies the protocol
/// that `serve` runs.
pub fn main_with<W: Wiring>(wiring: W) -> ExitCode {
    let cli = Cli::parse();
    match run(cli, wiring) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            eprintln!("epp-server: {message}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run<W: Wiring>(cli: Cli, wiring: W) -> Result<(), Error> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Config(ConfigCommand::Check { database }) => config_check(&config, database),
        Command::Migrate => admin::migrate(&config),
        Command::Backup { to } => admin::backup(&config, &to),
        Command::Registrar(command) => admin::registrar(&config, command),
        Command::Domain(command) => admin::domain(&config, command),
        Command::Registrant(command) => admin::registrant(&config, command),
        Command::Zone(command) => admin::zone(&config, command),
        Command::History { kind, key, json } => admin::history(&config, kind, &key, json),
        Command::Serve => {
            let log = crate::log::init(&config.log)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(Error::Runtime)?;
            let result = runtime.block_on(serve(config, wiring));
            if let Err(e) = &result {
                tracing::error!(error = %e, "epp-server stopped");
            }
            runtime.shutdown_timeout(RUNTIME_STOP_TIMEOUT);
            drop(log);
            result
        }
    }
}

fn config_check(config: &Config, database: bool) -> Result<(), Error> {
    match (&config.tls.cert_chain, &config.tls.private_key) {
        (Some(cert), Some(key)) => {
            let certified = tls::load_certified_key(cert, key, &tls::provider())?;
            let fingerprint = certified
                .cert
                .first()
                .map(|c| tls::fingerprint_of_der(c).to_string())
                .unwrap_or_default();
            eprintln!("TLS: certificate and key load and match (SHA-256 {fingerprint})");
        }
        _ => {
            // Config::validate refuses this combination in production.
            debug_assert_eq!(config.mode, Mode::Development);
            eprintln!(
                "TLS: development certificates under {} (created on first start)",
                config.data_dir.join(tls::dev::DEV_TLS_DIR).display()
            );
        }
    }
    match notify::notifier_from_config(&config.notify)? {
        Some(n) if n.name() == "exec" => eprintln!(
            "notify: exec (e-mail: {}; SMS: {})",
            config.notify.email_command.join(" "),
            config.notify.sms_command.join(" ")
        ),
        Some(_) => eprintln!("notify: log (development only: notifications are not sent)"),
        None => eprintln!("notify: off (another process delivers notifications)"),
    }
    if database {
        check_database(config)?;
    }
    print!("{}", config.to_redacted_toml()?);
    eprintln!("configuration OK ({} mode)", config.mode);
    Ok(())
}

/// `config check --database`: reach the database and report its schema, changing nothing.
fn check_database(config: &Config) -> Result<(), Error> {
    let label = config.database_label();
    let store_config = config.store_config()?;
    let status = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(store::check(&store_config))
        .map_err(|source| Error::Database {
            database: label.clone(),
            source,
        })?;
    let pending = match status.pending.len() {
        0 => "up to date".to_owned(),
        1 => "1 migration pending (applied by `epp-server migrate` or at start)".to_owned(),
        n => format!("{n} migrations pending (applied by `epp-server migrate` or at start)"),
    };
    match status.exists {
        true => eprintln!(
            "database: {label}: reachable, schema version {}, {pending}",
            status.version
        ),
        false => eprintln!(
            "database: {label}: not created yet (created at start or by `epp-server migrate`)"
        ),
    }
    Ok(())
}
