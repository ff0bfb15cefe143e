//! The server configuration: a TOML file, environment overrides, defaults and validation.
//!
//! Every key is documented in `epp-server.example.toml` (the reference) and in the README.
//! Loading goes file → environment overrides → typed [`Config`] → [`Config::validate`].
//!
//! Environment overrides: `EPP_SERVER__<SECTION>__<KEY>=<value>` sets `[section] key`
//! (`EPP_SERVER__MODE` sets the top-level `mode`). Names are case-insensitive; `__`
//! separates levels. A value is taken verbatim for string settings; for list settings a
//! TOML array (`["a", "b"]`) or a comma-separated list; otherwise it is read as a TOML
//! value (`1200`, `true`, `"quoted string"`) and, failing that, as a plain string.

mod duration;
mod env;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

pub use duration::{HumanDuration, RateLimitSetting, SignedDuration};

use crate::error::ConfigError;

/// The prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "EPP_SERVER__";

/// Default EPP listen address for development: loopback, unprivileged port.
pub(crate) const DEFAULT_EPP_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7000);

/// Default metrics listen address: loopback only.
pub(crate) const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9700);

/// Largest `limits.max_frame_size` accepted (16 MiB).
pub(crate) const MAX_FRAME_SIZE_CEILING: u32 = 16 * 1024 * 1024;

/// Smallest `limits.max_frame_size` accepted: a login command must fit.
pub(crate) const MAX_FRAME_SIZE_FLOOR: u32 = 4096;

/// The complete server configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// `development` (the default) or `production`; see [`Mode`].
    pub mode: Mode,
    /// Directory for the SQLite database, the development CA and other state.
    /// Relative paths are relative to the working directory.
    pub data_dir: PathBuf,
    /// EPP listener.
    pub server: ServerConfig,
    /// TLS certificates and policy.
    pub tls: TlsConfig,
    /// Registry storage.
    pub database: DatabaseConfig,
    /// Transport and session limits.
    pub limits: LimitsConfig,
    /// Per-registrar command rate limits.
    pub rate_limits: RateLimitsConfig,
    /// Session identity (greeting and svTRID).
    pub session: SessionConfig,
    /// Logging.
    pub log: LogConfig,
    /// Prometheus metrics endpoint.
    pub metrics: MetricsConfig,
    /// Development-mode conveniences.
    pub development: DevelopmentConfig,
    /// Test-environment features; refused in production.
    pub testing: TestingConfig,
    /// Delivery of the notification outbox (e-mail and SMS).
    pub notify: NotifyConfig,
    /// The registry's periodic jobs.
    pub scheduler: SchedulerConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Development,
            data_dir: PathBuf::from("data"),
            server: ServerConfig::default(),
            tls: TlsConfig::default(),
            database: DatabaseConfig::default(),
            limits: LimitsConfig::default(),
            rate_limits: RateLimitsConfig::default(),
            session: SessionConfig::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
            development: DevelopmentConfig::default(),
            testing: TestingConfig::default(),
            notify: NotifyConfig::default(),
            scheduler: SchedulerConfig::default(),
        }
    }
}

/// How the server treats missing TLS files and development conveniences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Creates a development CA and server certificate under `data_dir` when no TLS files
    /// are configured, and offers a demo registrar. Meant for a laptop, never for service.
    Development,
    /// Requires explicit TLS files, never creates certificates or demo accounts, and
    /// refuses test-environment features such as the clock offset.
    Production,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Development => "development",
            Self::Production => "production",
        })
    }
}

/// `[server]`: the EPP listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Addresses to accept EPP over TLS on. Port 0 picks a free port (logged).
    pub listen: Vec<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: vec![DEFAULT_EPP_LISTEN],
        }
    }
}

/// `[tls]`: certificates and client-certificate policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// PEM file with the server certificate first, then intermediates.
    pub cert_chain: Option<PathBuf>,
    /// PEM file with the server's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: Option<PathBuf>,
    /// Whether clients must present a certificate at the TLS layer.
    pub client_certificates: ClientCertPolicy,
    /// TLS protocol versions offered.
    pub versions: Vec<TlsVersion>,
    /// How long a client may take to complete the TLS handshake.
    pub handshake_timeout: HumanDuration,
    /// How often the certificate files are checked for changes; `0s` turns the check off
    /// (SIGHUP still reloads).
    pub reload_interval: HumanDuration,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_chain: None,
            private_key: None,
            client_certificates: ClientCertPolicy::Optional,
            versions: vec![TlsVersion::Tls12, TlsVersion::Tls13],
            handshake_timeout: HumanDuration::from_secs(10),
            reload_interval: HumanDuration::from_secs(10),
        }
    }
}

/// Whether a client certificate is required at the TLS layer.
///
/// Either way the server does not validate the certificate against any CA (Norid does not
/// either); it checks that the certificate is well-formed and that the client holds its
/// key, and records its SHA-256 fingerprint for the per-registrar pin checked at login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientCertPolicy {
    /// A certificate is requested but not required (Norid's behaviour). Registrars with
    /// a pinned certificate are still refused at login without it.
    Optional,
    /// The TLS handshake fails without a client certificate.
    Required,
}

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 (RFC 8446).
    #[serde(rename = "1.3")]
    Tls13,
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tls12 => "1.2",
            Self::Tls13 => "1.3",
        })
    }
}

/// `[database]`: where the registry is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DatabaseConfig {
    /// `sqlite` (embedded, the default) or `postgres`.
    pub backend: DatabaseBackend,
    /// SQLite database file; relative paths are relative to `data_dir`.
    pub sqlite_path: PathBuf,
    /// SQLite `PRAGMA synchronous`: `full` (a commit survives a power loss) or `normal`
    /// (a power loss may roll back the latest commits).
    pub sqlite_durability: SqliteDurability,
    /// PostgreSQL connection string (URL or `key=value` form). Its password is never
    /// printed or logged.
    pub postgres_url: Option<Secret>,
    /// PostgreSQL schema holding the tables (created if missing); unset: the user's
    /// default `search_path`. Lower-case letters, digits and `_`.
    pub postgres_schema: Option<String>,
    /// Maximum PostgreSQL connections.
    pub pool_size: u32,
    /// How long to wait for a new PostgreSQL connection.
    pub connect_timeout: HumanDuration,
    /// How long a registrar's poll queue summary (`<msgQ>` of every response) is shown
    /// without reading the queue again; `0s` reads it for every response. This process's
    /// commits refresh it at once; other processes' (a second server, the admin command)
    /// show within this time.
    pub poll_summary_ttl: HumanDuration,
    /// Answer `<domain:check>` from memory while this process is the only writer of the
    /// domains (SQLite: while the file shows no other writer's commit); exact, given up at
    /// once when another writer comes (docs/check-cache.md). Holds every domain name. The
    /// admin command never does.
    pub check_cache: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            backend: DatabaseBackend::Sqlite,
            sqlite_path: PathBuf::from("registry.sqlite3"),
            sqlite_durability: SqliteDurability::Full,
            postgres_url: None,
            postgres_schema: None,
            pool_size: 16,
            connect_timeout: HumanDuration::from_secs(5),
            poll_summary_ttl: HumanDuration::from_secs(1),
            check_cache: true,
        }
    }
}

/// How hard SQLite works to keep a commit through a power loss (see the README's
/// "SQLite durability").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SqliteDurability {
    /// `synchronous=FULL`: every (group) commit is synced before it is answered.
    Full,
    /// `synchronous=NORMAL`: synced at checkpoints; survives a process crash only.
    Normal,
}

/// The storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DatabaseBackend {
    /// Embedded SQLite file under `data_dir`.
    Sqlite,
    /// PostgreSQL server at `postgres_url`.
    Postgres,
}

/// A connection string holding a password: `Debug` and `Serialize` show it with the
/// password replaced by `***`; [`Secret::expose`] gives the real value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a connection string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value, for opening the connection. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_connection_string(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

/// `[limits]`: transport and session limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LimitsConfig {
    /// Largest accepted frame (header included), in bytes; a header announcing more closes
    /// the connection before any payload is read.
    pub max_frame_size: u32,
    /// Time from the greeting until a successful login; the connection is closed after it.
    pub prelogin_timeout: HumanDuration,
    /// Time allowed between two complete commands once logged in (Norid: 120 s).
    pub idle_timeout: HumanDuration,
    /// Time allowed to write one response to a client that does not read.
    pub write_timeout: HumanDuration,
    /// Commands per session, after which the session ends (Norid: 1200).
    pub commands_per_session: u32,
    /// Failed logins on one connection before it is closed with 2501.
    pub max_failed_logins: u32,
    /// The most names one `<check>` may ask about.
    pub max_check_names: u32,
    /// Concurrent sessions for a registrar without its own setting (Norid: 1).
    pub sessions_per_registrar: u32,
    /// Ceiling for any registrar's session setting (Norid: 9).
    pub sessions_per_registrar_max: u32,
    /// Concurrent connections from one IP address.
    pub connections_per_ip: u32,
    /// Concurrent connections in total.
    pub max_connections: u32,
    /// On SIGTERM/SIGINT, how long in-flight commands may take before connections are cut.
    pub shutdown_grace: HumanDuration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_frame_size: epp_frame::DEFAULT_MAX_FRAME_SIZE,
            prelogin_timeout: HumanDuration::from_secs(30),
            idle_timeout: HumanDuration::from_secs(120),
            write_timeout: HumanDuration::from_secs(30),
            commands_per_session: 1200,
            max_failed_logins: 3,
            max_check_names: 100,
            sessions_per_registrar: 1,
            sessions_per_registrar_max: 9,
            connections_per_ip: 20,
            max_connections: 1000,
            shutdown_grace: HumanDuration::from_secs(10),
        }
    }
}

/// `[rate_limits]`: per-registrar limits by command class, across all its sessions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitsConfig {
    /// `<check>`, `<info>` and `<poll>` commands (Norid's AUP names this class).
    pub check_info_poll: RateLimitSetting,
    /// `<create>` commands (Norid: CREATE must not be used to probe names).
    pub create: RateLimitSetting,
}

/// `[session]`: what the server calls itself on the wire, and registry behaviour the
/// EPP session takes from configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionConfig {
    /// `<svID>` in the greeting.
    pub server_id: String,
    /// Last part of every svTRID (`…-reg9094-NORID` at Norid): letters, digits, `-`.
    pub sv_trid_suffix: String,
    /// Suffix of the ROIDs of new objects (`DOM659889D-NORID`): 1-8 letters, digits, `_`.
    pub roid_suffix: String,
    /// A transform resent with the same clTRID within this window is answered with the
    /// first response and not executed again (`docs/session-replay.md`); `0s` turns
    /// replay off.
    pub replay_window: HumanDuration,
    /// Whether a renew answers with `<domain:renData>` (RFC 5731; Norid since 2025-11-18);
    /// `false` gives Norid's older answers without it.
    pub renew_data: bool,
    /// The applicant declaration version accepted on domain create and update (Norid:
    /// only the current one).
    pub applicant_dataset_version: String,
    /// How long a host's address change waits for the registry's DNS check before the
    /// scheduler decides it and queues the late response (Norid: 5-10 minutes).
    pub host_check_delay: HumanDuration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            server_id: "EPP registry server".to_owned(),
            sv_trid_suffix: "NORID".to_owned(),
            roid_suffix: "NORID".to_owned(),
            replay_window: HumanDuration::from_secs(3600),
            renew_data: true,
            applicant_dataset_version: epp_session::SessionConfig::default()
                .applicant_dataset_version,
            host_check_delay: HumanDuration::from_secs(300),
        }
    }
}

/// `[log]`: log format and filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct LogConfig {
    /// `text` (one human-readable line per event) or `json` (one object per line).
    pub format: LogFormat,
    /// Level filter: `info`, or per target such as `warn,epp_server=info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Whether the endpoint is served.
    pub enabled: bool,
    /// Address of the plain-HTTP endpoint (`GET /metrics`, `GET /healthz`).
    pub listen: SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: DEFAULT_METRICS_LISTEN,
        }
    }
}

/// `[development]`: used only when `mode = "development"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct DevelopmentConfig {
    /// Client id of the demo registrar offered in development mode.
    pub demo_registrar: String,
    /// Extra DNS names or IP addresses for the generated server certificate (it always
    /// covers `localhost`, `127.0.0.1`, `::1` and specific listen addresses).
    pub server_names: Vec<String>,
}

impl Default for DevelopmentConfig {
    fn default() -> Self {
        Self {
            demo_registrar: "reg-demo".to_owned(),
            server_names: Vec::new(),
        }
    }
}

/// `[testing]`: test-environment features. Refused when `mode = "production"`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TestingConfig {
    /// Offset added to the system clock to get the registry clock (`"+30d"`, `"-2h"`), so
    /// that renew windows and lifecycle steps can be exercised end to end.
    pub clock_offset: SignedDuration,
}

/// `[notify]`: how the notification outbox (transfer tokens and other messages to
/// e-mail addresses and mobile numbers) is delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct NotifyConfig {
    /// `log`, `exec` or `off`; see [`NotifyMethod`].
    pub method: NotifyMethod,
    /// For `exec`: the program and arguments that send an e-mail; the recipient is
    /// appended as the last argument and the message (headers and body) written to its
    /// standard input, as `sendmail` expects.
    pub email_command: Vec<String>,
    /// For `exec`: the program and arguments that send an SMS; the mobile number is
    /// appended as the last argument and the text written to its standard input.
    pub sms_command: Vec<String>,
    /// The `From:` header of e-mails; unset: the mail system's default for the user.
    pub email_from: Option<String>,
    /// How long one delivery command may run before it is killed (a failed attempt).
    pub timeout: HumanDuration,
    /// How often the outbox is checked when nothing wakes it earlier.
    pub poll_interval: HumanDuration,
    /// The wait before retrying a failed delivery; doubled after each failure ...
    pub retry_initial: HumanDuration,
    /// ... up to this.
    pub retry_max: HumanDuration,
    /// Deliveries run at the same time.
    pub concurrency: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            method: NotifyMethod::Log,
            email_command: vec!["/usr/sbin/sendmail".into(), "-i".into(), "--".into()],
            sms_command: Vec::new(),
            email_from: None,
            timeout: HumanDuration::from_secs(30),
            poll_interval: HumanDuration::from_secs(5),
            retry_initial: HumanDuration::from_secs(60),
            retry_max: HumanDuration::from_secs(3600),
            concurrency: 4,
        }
    }
}

/// How this process delivers the notification outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum NotifyMethod {
    /// Writes each notification (recipient, channel, subject and text) to the log at
    /// info and marks it delivered. Development only: the text may hold one-time
    /// transfer tokens. Refused in production.
    Log,
    /// Runs `email_command` or `sms_command` for each notification.
    Exec,
    /// Delivers nothing: another process sharing the database delivers.
    Off,
}

impl fmt::Display for NotifyMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Log => "log",
            Self::Exec => "exec",
            Self::Off => "off",
        })
    }
}

/// `[scheduler]`: the registry's periodic jobs (domain lifecycle steps and clean-ups).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SchedulerConfig {
    /// Whether this process runs the jobs. With several processes on one PostgreSQL
    /// database, let one of them run them.
    pub enabled: bool,
    /// Time between the starts of two runs of a job (the first runs at start).
    pub interval: HumanDuration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: HumanDuration::from_secs(60),
        }
    }
}

impl Config {
    /// Loads the configuration from an optional TOML file and the process environment,
    /// then validates it.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file, variable or key at fault.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let text = match path {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.to_owned(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        // vars_os: a variable that is not UTF-8 must not abort the server (std::env::vars
        // panics on one); only ours need to be readable, and those are checked in `env`.
        let vars = std::env::vars_os().filter_map(|(k, v)| {
            let k = k.into_string().ok()?;
            if !k.to_ascii_uppercase().starts_with(ENV_PREFIX) {
                return None;
            }
            Some((
                k,
                v.into_string()
                    .unwrap_or_else(|v| v.to_string_lossy().into_owned()),
            ))
        });
        Self::from_sources(text.as_deref(), path, vars)
    }

    /// Builds the configuration from file text (if any) and environment variables.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file, variable or key at fault.
    pub fn from_sources(
        text: Option<&str>,
        path: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let parse_err = |applied: &[String], e: toml::de::Error| ConfigError::Parse {
            source_name: source_name(path, applied),
            message: e.to_string(),
        };
        let mut table: toml::Table = match text {
            Some(text) => toml::from_str(text).map_err(|e| parse_err(&[], e))?,
            None => toml::Table::new(),
        };
        let applied = env::apply(&mut table, vars)?;
        // Typed parsing goes through TOML text so that errors quote the offending line
        // and key: the file itself when no override applies, else the merged document.
        let merged;
        let text = match (text, applied.is_empty()) {
            (Some(text), true) => text,
            _ => {
                merged = toml::to_string(&table).map_err(|e| ConfigError::Parse {
                    source_name: source_name(path, &applied),
                    message: e.to_string(),
                })?;
                &merged
            }
        };
        let config: Config = toml::from_str(text).map_err(|e| parse_err(&applied, e))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules that types cannot express, reporting every problem at once.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] listing each problem with its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, problem: String| {
            if !ok {
                problems.push(problem);
            }
        };
        let production = self.mode == Mode::Production;
        check(
            !self.server.listen.is_empty(),
            "server.listen: at least one address is needed".into(),
        );
        check(
            self.tls.cert_chain.is_some() == self.tls.private_key.is_some(),
            "tls.cert_chain and tls.private_key must be set together".into(),
        );
        check(
            !production || (self.tls.cert_chain.is_some() && self.tls.private_key.is_some()),
            "tls.cert_chain and tls.private_key are required in production mode (development \
             certificates are never generated in production)"
                .into(),
        );
        check(
            !self.tls.versions.is_empty(),
            "tls.versions: at least one TLS version is needed".into(),
        );
        check(
            !self.tls.handshake_timeout.is_zero(),
            "tls.handshake_timeout must be positive".into(),
        );
        check(
            self.database.backend != DatabaseBackend::Postgres
                || self.database.postgres_url.is_some(),
            "database.postgres_url is required when database.backend = \"postgres\"".into(),
        );
        check(
            self.database.pool_size >= 1,
            "database.pool_size must be at least 1".into(),
        );
        check(
            self.database
                .postgres_schema
                .as_deref()
                .is_none_or(valid_schema_name),
            "database.postgres_schema must be 1-63 lower-case letters, digits or '_', not \
             starting with a digit"
                .into(),
        );
        check(
            !self.database.connect_timeout.is_zero(),
            "database.connect_timeout must be positive".into(),
        );
        self.validate_notify(&mut check);
        check(
            !self.scheduler.interval.is_zero(),
            "scheduler.interval must be positive".into(),
        );
        let l = &self.limits;
        check(
            (MAX_FRAME_SIZE_FLOOR..=MAX_FRAME_SIZE_CEILING).contains(&l.max_frame_size),
            format!(
                "limits.max_frame_size must be between {MAX_FRAME_SIZE_FLOOR} and \
                 {MAX_FRAME_SIZE_CEILING} bytes"
            ),
        );
        for (key, value) in [
            ("prelogin_timeout", l.prelogin_timeout),
            ("idle_timeout", l.idle_timeout),
            ("write_timeout", l.write_timeout),
        ] {
            check(!value.is_zero(), format!("limits.{key} must be positive"));
        }
        check(
            l.commands_per_session >= 1,
            "limits.commands_per_session must be at least 1".into(),
        );
        check(
            l.sessions_per_registrar <= l.sessions_per_registrar_max,
            "limits.sessions_per_registrar must not exceed limits.sessions_per_registrar_max"
                .into(),
        );
        check(
            l.connections_per_ip >= 1 && l.max_connections >= 1,
            "limits.connections_per_ip and limits.max_connections must be at least 1".into(),
        );
        check(
            valid_sv_trid_suffix(&self.session.sv_trid_suffix),
            format!("session.sv_trid_suffix must be 1-{MAX_SV_TRID_SUFFIX} letters, digits or '-'"),
        );
        check(
            !self.session.server_id.trim().is_empty(),
            "session.server_id must not be empty".into(),
        );
        check(
            epp_session::SessionConfig::default()
                .with_roid_suffix(&self.session.roid_suffix)
                .is_ok(),
            "session.roid_suffix must be 1-8 letters, digits or '_'".into(),
        );
        check(
            !self.session.applicant_dataset_version.trim().is_empty(),
            "session.applicant_dataset_version must not be empty".into(),
        );
        check(
            l.max_failed_logins >= 1,
            "limits.max_failed_logins must be at least 1".into(),
        );
        check(
            (1..=1000).contains(&l.max_check_names),
            "limits.max_check_names must be between 1 and 1000".into(),
        );
        check(
            self.log
                .level
                .parse::<tracing_subscriber::filter::Targets>()
                .is_ok(),
            format!(
                "log.level {:?} is not a valid filter (e.g. \"info\" or \"warn,epp_server=debug\")",
                self.log.level
            ),
        );
        check(
            epp_xml::ClientId::new(self.development.demo_registrar.as_str()).is_ok(),
            "development.demo_registrar must be a valid client id (3-16 characters)".into(),
        );
        check(
            !production || self.testing.clock_offset.is_zero(),
            "testing.clock_offset is a test-environment feature and is refused in production \
             mode"
                .into(),
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid { problems })
        }
    }

    fn validate_notify(&self, check: &mut impl FnMut(bool, String)) {
        let n = &self.notify;
        check(
            !(self.mode == Mode::Production && n.method == NotifyMethod::Log),
            "notify.method = \"log\" writes message texts (which may hold transfer tokens) \
             to the log and is refused in production mode; use \"exec\" or \"off\""
                .into(),
        );
        if n.method == NotifyMethod::Exec {
            for (key, command) in [
                ("email_command", &n.email_command),
                ("sms_command", &n.sms_command),
            ] {
                check(
                    command.first().is_some_and(|p| !p.trim().is_empty()),
                    format!("notify.{key} must name a program when notify.method = \"exec\""),
                );
            }
        }
        check(
            n.email_from
                .as_deref()
                .is_none_or(|f| !f.trim().is_empty() && !f.chars().any(char::is_control)),
            "notify.email_from must not be empty or contain control characters".into(),
        );
        for (key, value) in [
            ("timeout", n.timeout),
            ("poll_interval", n.poll_interval),
            ("retry_initial", n.retry_initial),
        ] {
            check(!value.is_zero(), format!("notify.{key} must be positive"));
        }
        check(
            n.retry_max >= n.retry_initial,
            "notify.retry_max must not be shorter than notify.retry_initial".into(),
        );
        check(
            (1..=64).contains(&n.concurrency),
            "notify.concurrency must be between 1 and 64".into(),
        );
    }

    /// The EPP session's configuration: `[session]`, and the per-session parts of
    /// `[limits]` (timeouts, command cap, failed logins, names per check).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a svTRID or ROID suffix the session refuses
    /// ([`Config::validate`] refuses those already).
    pub fn session_config(&self) -> Result<epp_session::SessionConfig, ConfigError> {
        let invalid = |key: &str, e: epp_xml::ValueError| ConfigError::Invalid {
            problems: vec![format!("session.{key}: {e}")],
        };
        let s = &self.session;
        let l = &self.limits;
        let mut c = epp_session::SessionConfig::default()
            .with_sv_trid_suffix(&s.sv_trid_suffix)
            .map_err(|e| invalid("sv_trid_suffix", e))?
            .with_roid_suffix(&s.roid_suffix)
            .map_err(|e| invalid("roid_suffix", e))?;
        c.server_id.clone_from(&s.server_id);
        c.prelogin_timeout = l.prelogin_timeout.get();
        c.idle_timeout = l.idle_timeout.get();
        c.commands_per_session = l.commands_per_session;
        c.max_failed_logins = l.max_failed_logins;
        c.max_check_names = usize::try_from(l.max_check_names).unwrap_or(usize::MAX);
        c.replay_window = s.replay_window.get();
        c.renew_data = s.renew_data;
        c.host_check_delay = s.host_check_delay.get();
        c.applicant_dataset_version
            .clone_from(&s.applicant_dataset_version);
        Ok(c)
    }

    /// The store settings for [`crate::store::open`]: the SQLite file under `data_dir`
    /// or the PostgreSQL URL, pool and schema.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] when `backend = "postgres"` has no `postgres_url`
    /// ([`Config::validate`] refuses that already).
    pub fn store_config(&self) -> Result<crate::store::StoreConfig, ConfigError> {
        use crate::store::{Durability, PostgresConfig, SqliteConfig, StoreConfig};
        let db = &self.database;
        Ok(match db.backend {
            DatabaseBackend::Sqlite => {
                let mut c = SqliteConfig::new(self.sqlite_path());
                c.durability = match db.sqlite_durability {
                    SqliteDurability::Full => Durability::Full,
                    SqliteDurability::Normal => Durability::Normal,
                };
                c.poll_summary_ttl = db.poll_summary_ttl.get();
                c.check_cache = db.check_cache;
                StoreConfig::Sqlite(c)
            }
            DatabaseBackend::Postgres => {
                let url = db
                    .postgres_url
                    .as_ref()
                    .ok_or_else(|| ConfigError::Invalid {
                        problems: vec![
                            "database.postgres_url is required when database.backend = \
                         \"postgres\""
                                .into(),
                        ],
                    })?;
                let mut c = PostgresConfig::new(url.expose());
                c.pool_size = usize::try_from(db.pool_size).unwrap_or(usize::MAX);
                c.schema.clone_from(&db.postgres_schema);
                c.connect_timeout = db.connect_timeout.get();
                c.poll_summary_ttl = db.poll_summary_ttl.get();
                c.check_cache = db.check_cache;
                StoreConfig::Postgres(c)
            }
        })
    }

    /// The database as operators name it in messages, without secrets: the SQLite file,
    /// or the PostgreSQL URL with its password redacted (and the schema).
    pub fn database_label(&self) -> String {
        match self.database.backend {
            DatabaseBackend::Sqlite => format!("SQLite {}", self.sqlite_path().display()),
            DatabaseBackend::Postgres => {
                let url = self
                    .database
                    .postgres_url
                    .as_ref()
                    .map_or_else(|| "(no URL)".to_owned(), Secret::redacted);
                match &self.database.postgres_schema {
                    Some(schema) => format!("PostgreSQL {url} (schema {schema})"),
                    None => format!("PostgreSQL {url}"),
                }
            }
        }
    }

    /// The SQLite database path, resolved against `data_dir`.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join(&self.database.sqlite_path)
    }

    /// The effective configuration as TOML, with secrets redacted.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] if serialisation fails (it does not for valid configs).
    pub fn to_redacted_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Parse {
            source_name: "effective configuration".into(),
            message: e.to_string(),
        })
    }
}

/// Longest svTRID suffix: a Norid svTRID is 20 digits, `-`, 6 random characters, `-`, a
/// clID of up to 16, `-` and the suffix, and must fit `epp:trIDStringType` (64).
pub(crate) const MAX_SV_TRID_SUFFIX: usize = 64 - (20 + 1 + 6 + 1 + 16 + 1);

fn valid_sv_trid_suffix(s: &str) -> bool {
    (1..=MAX_SV_TRID_SUFFIX).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A PostgreSQL schema name the store accepts (a plain, unquoted identifier).
fn valid_schema_name(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn source_name(path: Option<&Path>, applied_env: &[String]) -> String {
    let mut name = match path {
        Some(p) => p.display().to_string(),
        None => "built-in defaults".to_owned(),
    };
    if !applied_env.is_empty() {
        name.push_str(" with environment overrides ");
        name.push_str(&applied_env.join(", "));
    }
    name
}

/// Replaces the password in a PostgreSQL connection string with `***`: the
/// `scheme://user:password@host` form and the `password=...` key/value form.
fn redact_connection_string(s: &str) -> String {
    if let Some(scheme_end) = s.find("://") {
        let rest = &s[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                let mut out = String::with_capacity(s.len());
                out.push_str(&s[..scheme_end + 3]);
                out.push_str(&userinfo[..colon]);
                out.push_str(":***");
                out.push_str(&rest[at..]);
                return redact_query_password(&out);
            }
        }
        return redact_query_password(s);
    }
    // key=value form: password=secret or password='se cret'
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = find_key(rest, "password") {
        out.push_str(&rest[..pos]);
        let after_key = &rest[pos + "password".len()..];
        let eq = after_key.find('=').map_or(0, |i| i + 1);
        out.push_str("password=***");
        let value = after_key[eq..].trim_start();
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |i| i + 2)
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        rest = &value[value_len..];
    }
    out.push_str(rest);
    out
}

/// `?password=...` in a URL query.
fn redact_query_password(s: &str) -> String {
    let Some(q) = s.find('?') else {
        return s.to_owned();
    };
    let (head, query) = s.split_at(q + 1);
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{head}{}", parts.join("&"))
}

/// Position of `key` followed by optional spaces and `=`, at a word start.
fn find_key(s: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(key) {
        let at = from + i;
        let word_start = at == 0 || s.as_bytes()[at - 1].is_ascii_whitespace();
        let after = s[at + key.len()..].trim_start();
        if word_start && after.starts_with('=') {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests;
