use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the server could not start, serve or run an admin command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration could not be loaded or is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Certificates could not be loaded or generated.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A file or directory operation failed.
    #[error("{what} {}", path.display())]
    Io {
        /// What was being done, e.g. "cannot create data directory".
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The tokio runtime could not be started.
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),
    /// The log subscriber could not be installed.
    #[error("cannot set up logging: {0}")]
    Logging(String),
    /// The registry database could not be opened, migrated or checked.
    #[error("cannot open the registry database ({database})")]
    Database {
        /// The database as configured (SQLite file or PostgreSQL URL, password redacted).
        database: String,
        /// What the store said.
        #[source]
        source: crate::store::OpenError,
    },
    /// A store operation of an admin command or of the start-up failed.
    #[error("{what} failed")]
    Store {
        /// What was being done, e.g. "adding registrar reg1".
        what: String,
        /// What the store said (boxed: it is large and rare).
        #[source]
        source: Box<epp_session::store::StoreError>,
    },
    /// An argument of an admin command is invalid (exit status 2).
    #[error("{0}")]
    InvalidArgument(String),
    /// The `backup` command could not copy the database.
    #[error("cannot back up the registry database ({database})")]
    Backup {
        /// The database as configured.
        database: String,
        /// Why.
        #[source]
        source: crate::store::BackupError,
    },
    /// An admin command was refused: the object it names does not exist or already
    /// exists, or the command is not available in this mode (exit status 3).
    #[error("{0}")]
    Refused(String),
    /// The operating system's random number generator is unavailable (svTRIDs and
    /// transfer tokens need it).
    #[error("the operating system's random number generator is unavailable: {0}")]
    Randomness(String),
}

impl Error {
    /// A [`Error::Store`] for `what` failing with `source`.
    pub(crate) fn store(what: impl Into<String>, source: epp_session::store::StoreError) -> Self {
        Self::Store {
            what: what.into(),
            source: Box::new(source),
        }
    }

    /// The process exit status for this error: 2 for an invalid argument, 3 for a refused
    /// admin command, 1 otherwise. (Success is 0; clap's own usage errors are 2.)
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::InvalidArgument(_) => 2,
            Self::Refused(_) => 3,
            _ => 1,
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The TOML is malformed, or a key is unknown or has the wrong type.
    #[error("invalid configuration ({source_name}): {message}")]
    Parse {
        /// The file (and environment overrides) the configuration came from.
        source_name: String,
        /// The parser's message, naming the key.
        message: String,
    },
    /// An `EPP_SERVER__…` variable cannot be applied.
    #[error("invalid environment override {var}: {message}")]
    Env {
        /// The variable name.
        var: String,
        /// What is wrong with it.
        message: String,
    },
    /// The configuration parses but breaks a rule (listed one per line).
    #[error("invalid configuration:\n  - {}", problems.join("\n  - "))]
    Invalid {
        /// Each broken rule, naming its key.
        problems: Vec<String>,
    },
}

/// Why certificates or keys could not be loaded or generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("cannot read {what} from {}: {message}", path.display())]
    Pem {
        /// "certificate chain" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// The certificate file holds no certificate.
    #[error("no certificate found in {}", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key is unusable or does not belong to the certificate.
    #[error("private key {} does not fit certificate {}: {source}", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },
    /// The end-entity certificate is not a well-formed X.509 certificate.
    #[error("certificate in {} is malformed: {source}", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },
    /// The rustls server configuration could not be built.
    #[error("cannot configure TLS: {0}")]
    Config(#[source] rustls::Error),
    /// The development CA or server certificate could not be generated.
    #[error("cannot generate development certificates: {0}")]
    Generate(#[source] rcgen::Error),
}
