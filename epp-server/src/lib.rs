//! The EPP registry server: TLS with rustls, one task per connection driving a protocol
//! handler over `epp-frame`, the SQLite and PostgreSQL stores ([`store`]), configuration,
//! the admin CLI, logs and metrics.
//!
//! The protocol plugs in through [`Wiring`] → [`HandlerFactory`] → [`ConnectionHandler`]
//! (see [`ConnectionHandler`] for the contract): the server owns sockets,
//! TLS, frame boundaries, timeouts, connection limits and shutdown; the handler owns
//! everything inside a frame. [`Epp`] is the EPP wiring the binary runs
//! (`main_with(Epp)`): epp-session's `Session` on every connection and the registry's
//! lifecycle on the scheduler. Shared per-registrar state that the session consults lives
//! here: [`SessionRegistry`] (sessions per registrar) and [`RateLimiter`].
//!
//! This is the only crate that knows tokio, rustls, SQL, configuration files and process
//! signals. It holds no protocol or registry rules of its own, and it never logs frame
//! payloads, passwords or authInfo.

#[cfg(not(unix))]
compile_error!("epp-server supports Unix-like systems only (signals, file modes)");

mod admin;
mod cli;
mod clock;
mod config;
mod connection;
mod database;
mod error;
mod limits;
mod log;
mod log_writer;
mod metrics;
mod notify;
mod protocol;
mod serve;
pub mod store;
mod task;
mod tls;
mod wiring;

pub use cli::main_with;
pub use clock::RegistryClock;
pub use config::{
    ClientCertPolicy, Config, DatabaseBackend, DatabaseConfig, DevelopmentConfig, ENV_PREFIX,
    HumanDuration, LimitsConfig, LogConfig, LogFormat, MetricsConfig, Mode, NotifyConfig,
    NotifyMethod, RateLimitSetting, RateLimitsConfig, SchedulerConfig, Secret, ServerConfig,
    SessionConfig, SignedDuration, SqliteDurability, TestingConfig, TlsConfig, TlsVersion,
};
pub use database::open_store;
pub use error::{ConfigError, Error, TlsError};
pub use limits::{
    RateClass, RateLimited, RateLimiter, SessionGuard, SessionLimitReached, SessionRegistry,
};
pub use log::{COMMAND_TARGET, LogGuard, init as init_logging, log_command};
pub use metrics::{LATENCY_BUCKETS, Metrics};
pub use notify::{
    DeliveryError, DeliveryFuture, ExecNotifier, LogNotifier, Notifier, OutboxWaker,
    notifier_from_config,
};
pub use protocol::{
    Action, CloseReason, CommandOutcome, ConnectionHandler, ConnectionInfo, HandlerFactory,
    Refusal, Reply,
};
pub use serve::{ServeContext, Wiring, serve};
pub use task::{Shutdown, run_periodic};
pub use tls::dev::DemoRegistrar;
pub use tls::{CertFingerprint, fingerprint_of_der};
pub use wiring::{Epp, EppFactory, EppHandler};
