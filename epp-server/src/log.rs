//! Logging with tracing: text or JSON lines on standard error, written by a writer thread
//! ([`crate::log_writer`]), and the one-line-per-command record.
//!
//! What is never logged: frame payloads, passwords, authInfo. Log lines carry only the
//! fields named here and in the connection driver.

use std::time::Duration;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};
use crate::error::Error;
use crate::log_writer::BatchWriter;
pub use crate::log_writer::LogGuard;
use crate::protocol::CommandOutcome;

/// The tracing target of the per-command lines, so they can be filtered apart
/// (`log.level = "info,epp::command=off"`).
pub const COMMAND_TARGET: &str = "epp::command";

/// Installs the global log subscriber, writing to standard error through a writer thread.
/// Keep the returned guard while the server runs: dropping it writes the lines still
/// buffered.
///
/// # Errors
///
/// [`Error::Logging`] if the filter is invalid, a subscriber is already installed, or the
/// writer thread cannot start.
pub fn init(config: &LogConfig) -> Result<LogGuard, Error> {
    let filter: Targets = config
        .level
        .parse()
        .map_err(|e| Error::Logging(format!("log.level {:?}: {e}", config.level)))?;
    let (writer, guard) = BatchWriter::start(std::io::stderr())
        .map_err(|e| Error::Logging(format!("log writer thread: {e}")))?;
    let result = match config.format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish()
            .with(filter)
            .try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(writer)
            .finish()
            .with(filter)
            .try_init(),
    };
    result.map_err(|e| Error::Logging(e.to_string()))?;
    Ok(guard)
}

/// Logs one command: connection, registrar, command, result code, clTRID, svTRID,
/// latency in microseconds, refusal and whether it was a replay, at `info` under
/// [`COMMAND_TARGET`].
///
/// The connection driver calls this for every [`CommandOutcome`]; a handler that answers
/// outside [`crate::ConnectionHandler::handle`] can call it directly.
pub fn log_command(connection: u64, outcome: &CommandOutcome, latency: Duration) {
    let latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    tracing::info!(
        target: COMMAND_TARGET,
        conn = connection,
        registrar = outcome.registrar.as_ref().map_or("-", |r| r.as_str()),
        command = %outcome.command,
        result = outcome.result_code,
        cl_trid = outcome.cl_trid.as_ref().map_or("-", |t| t.as_str()),
        sv_trid = outcome.sv_trid.as_ref().map_or("-", |t| t.as_str()),
        latency_us,
        refusal = outcome.refusal.map_or("-", |r| r.label()),
        replayed = outcome.replayed,
        "command"
    );
}
