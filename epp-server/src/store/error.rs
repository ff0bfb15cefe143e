//! Errors of opening and migrating a store.

use std::path::PathBuf;

/// Why a store could not be opened or migrated. (Errors of running commands are
/// [`StoreError`](epp_session::store::StoreError)s.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// SQLite refused to open or migrate the database.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL could not be reached or refused a statement.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// A file or directory could not be created or opened, or a thread not started.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A migration already applied to the database differs from the one built into this
    /// server: the migration files were edited after release.
    #[error("migration {version} ({name}) differs from the one applied to the database")]
    MigrationChanged {
        /// The migration's version.
        version: i64,
        /// Its name.
        name: String,
    },
    /// The database was migrated by a newer server: this one does not know its schema.
    #[error("the database schema is at version {found}, newer than this server's {known}")]
    DatabaseNewer {
        /// The database's latest migration.
        found: i64,
        /// This server's latest migration.
        known: i64,
    },
    /// The configuration cannot work (e.g. a malformed URL or schema name).
    #[error("invalid store configuration: {0}")]
    InvalidConfig(String),
}
