//! A hot backup of the embedded SQLite database (the admin `backup` command).
//!
//! [`backup_sqlite`] copies the database with SQLite's `VACUUM INTO`, which reads the
//! whole database in one read transaction: the copy is the database as of one commit,
//! whatever the server (or any other process) commits meanwhile, and the server's readers
//! and its writer go on while it runs (in WAL mode a reader blocks no one). The copy is a
//! single self-contained file (rollback journal, not WAL), compacted, readable only by its
//! owner (it holds the registrars' password hashes), synced to disk, and checked before
//! the function returns.
//!
//! PostgreSQL has its own tools for this (`pg_dump`, base backups); nothing here
//! replaces them.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// What a backup holds, read back from the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteBackup {
    /// The copy's size in bytes.
    pub bytes: u64,
    /// The latest schema migration applied to the database.
    pub schema_version: i64,
    /// Registrar accounts (the registry's own `reg0` included).
    pub registrars: u64,
    /// Domains.
    pub domains: u64,
    /// Contacts.
    pub contacts: u64,
    /// Hosts.
    pub hosts: u64,
}

/// Why a backup was not made. Whatever the reason, no file is left at the destination
/// unless it was there before.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// There is no database file to copy.
    #[error("no database at {}", .0.display())]
    NoDatabase(PathBuf),
    /// The destination exists; a backup never overwrites a file.
    #[error("{} exists; a backup never overwrites a file", .0.display())]
    DestinationExists(PathBuf),
    /// The destination is not a UTF-8 path (SQLite takes the name as text).
    #[error("{} is not a UTF-8 path", .0.display())]
    DestinationName(PathBuf),
    /// The file is not a database of this server (no schema migrations recorded).
    #[error("{} is not an epp-server database", .0.display())]
    NotARegistry(PathBuf),
    /// The copy failed SQLite's integrity check.
    #[error("the copy failed SQLite's integrity check: {0}")]
    Integrity(String),
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// SQLite refused.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// How long the copy waits for a lock: only a WAL recovery (after a crash of the last
/// process that had the file open) holds readers back.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes a consistent copy of the SQLite database `from` to the new file `to`, while the
/// server runs (see the module documentation), and returns what the copy holds.
///
/// # Errors
///
/// [`BackupError`]: no database at `from`, `to` exists, or SQLite or the file system
/// failed; the partial copy is removed.
pub fn backup_sqlite(from: &Path, to: &Path) -> Result<SqliteBackup, BackupError> {
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from.to_owned()));
    }
    let name = to
        .to_str()
        .ok_or_else(|| BackupError::DestinationName(to.to_owned()))?;
    // Made here, empty, so that it is nobody else's to read from the start and so that an
    // existing file is refused without a race (VACUUM INTO writes into an empty file).
    create_private(to)?;
    let result = copy(from, name, to);
    if result.is_err() {
        let _ = std::fs::remove_file(to);
        for suffix in ["-journal", "-wal", "-shm"] {
            let mut side = to.as_os_str().to_owned();
            side.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(side));
        }
    }
    result
}

fn copy(from: &Path, name: &str, to: &Path) -> Result<SqliteBackup, BackupError> {
    {
        // Read-write (not created): a read-only connection cannot read a WAL database
        // whose -shm file is missing. Nothing is written through it.
        let source = Connection::open_with_flags(
            from,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        source.busy_timeout(BUSY_TIMEOUT)?;
        let registry: bool = source.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master \
             WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |r| r.get(0),
        )?;
        if !registry {
            return Err(BackupError::NotARegistry(from.to_owned()));
        }
        source.execute("VACUUM INTO ?1", [name])?;
    }
    let backup = {
        let copy = Connection::open_with_flags(
            to,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // One file, readable without a -wal or -shm beside it; the server switches it
        // back to WAL when it opens it.
        let mode: String = copy.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(BackupError::Integrity(format!(
                "the copy stays in journal mode {mode}"
            )));
        }
        let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(BackupError::Integrity(check));
        }
        let count = |table: &str| -> Result<u64, rusqlite::Error> {
            copy.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
        };
        SqliteBackup {
            bytes: 0,
            schema_version: copy.query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )?,
            registrars: count("registrars")?,
            domains: count("domains")?,
            contacts: count("contacts")?,
            hosts: count("hosts")?,
        }
    };
    // SQLite does not sync what VACUUM INTO writes.
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io { path, source }
    };
    let file = File::open(to).map_err(io(to))?;
    file.sync_all().map_err(io(to))?;
    let bytes = file.metadata().map_err(io(to))?.len();
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(SqliteBackup { bytes, ..backup })
}

/// Creates `path`, empty, readable and writable by its owner only; refuses an existing
/// file.
fn create_private(path: &Path) -> Result<(), BackupError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(BackupError::DestinationExists(path.to_owned()))
        }
        Err(source) => Err(BackupError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that is not this server's database is refused, and the empty copy made for
    /// it removed; a destination in a missing directory is an I/O error.
    #[test]
    fn only_a_registry_database_is_copied_and_a_failed_copy_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.sqlite3");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let to = dir.path().join("copy.sqlite3");
        assert!(matches!(
            backup_sqlite(&other, &to),
            Err(BackupError::NotARegistry(_))
        ));
        assert!(!to.exists());
        assert!(matches!(
            backup_sqlite(&dir.path().join("missing.sqlite3"), &to),
            Err(BackupError::NoDatabase(_))
        ));
        assert!(!to.exists());
        let nowhere = dir.path().join("no-such-dir").join("copy.sqlite3");
        assert!(matches!(
            backup_sqlite(&other, &nowhere),
            Err(BackupError::Io { .. })
        ));
    }
}
