//! The command line: `epp-server [--config FILE] [serve | config check]`.
//!
//! Admin subcommands that need the store (`migrate`, `registrar add|list|disable|
//! set-password|pin-certificate|unpin`, `session-limit`, `set-expiry`) join [`Command`]
//! as further variants; each loads the configuration the same way.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{Config, Mode};
use crate::error::Error;
use crate::serve::{Wiring, serve};
use crate::tls;

/// How long spawned tasks get to notice the runtime is stopping, after `serve` returned.
const RUNTIME_STOP_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Parser)]
#[command(
    name = "epp-server",
    version,
    about = "EPP registry server (Norid-compatible): TLS, storage, admin commands",
    long_about = None
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
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (and the TLS files it names), then print the effective
    /// configuration with secrets redacted.
    Check,
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
            ExitCode::FAILURE
        }
    }
}

fn run<W: Wiring>(cli: Cli, wiring: W) -> Result<(), Error> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Config(ConfigCommand::Check) => config_check(&config),
        Command::Serve => {
            crate::log::init(&config.log)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(Error::Runtime)?;
            let result = runtime.block_on(serve(config, wiring));
            if let Err(e) = &result {
                tracing::error!(error = %e, "epp-server stopped");
            }
            runtime.shutdown_timeout(RUNTIME_STOP_TIMEOUT);
            result
        }
    }
}

fn config_check(config: &Config) -> Result<(), Error> {
    match (&config.tls.cert_chain, &config.tls.private_key) {
        (Some(cert), Some(key)) => {
            let certified = tls::load_certified_key(cert, key, &tls::provider())?;
            let fingerprint = certified
                .cert
                .first()
                .map(|c| tls::CertFingerprint::of_der(c).to_string())
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
    print!("{}", config.to_redacted_toml()?);
    eprintln!("configuration OK ({} mode)", config.mode);
    Ok(())
}
