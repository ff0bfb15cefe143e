//! The registry's storage backends: [`SqliteStore`] (embedded default) and [`PgStore`]
//! (production, several processes on one database), both implementing epp-session's
//! [`Store`] with the same rules as its `MemoryStore`.
//!
//! The rules (uniqueness, references, links, versions, history) and the reads are written
//! once, in `engine` and `read`, against a small connection interface that the two drivers
//! implement; the SQL is PostgreSQL's dialect, which SQLite also runs after placeholder
//! rewriting. The schema lives in versioned migrations under `migrations/<backend>/`,
//! applied when a store opens and by [`migrate`].
//!
//! To run a server, build a [`StoreConfig`] and call [`open`]: it migrates and returns an
//! [`AnyStore`], which is a [`Store`] whichever backend was chosen.

mod backup;
mod check_cache;
mod engine;
mod error;
mod migrate;
mod poll_cache;
mod postgres;
mod read;
mod sql;
mod sqlite;
mod sqlite_names;

use epp_session::store::model::{
    Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery, LoginCheck,
    Notification, ObjectKey, PollSummary, PolledMessage, Registrar, ReplayRecord, Sequence,
    TransferToken,
};
use epp_session::store::{
    ChangeSet, CommitReceipt, ReadSet, ReadSetAnswer, Store, StoreError, check_login,
};
use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Password};

pub use backup::{BackupError, SqliteBackup, backup_sqlite};
pub use error::OpenError;
pub use migrate::{MigrationReport, SchemaStatus};
pub use postgres::{CommitStats, PgStore, PostgresConfig};
pub use sqlite::{Durability, SqliteConfig, SqliteStore, WriterStats};

/// Which backend to use, with its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreConfig {
    /// The embedded SQLite database (the default).
    Sqlite(SqliteConfig),
    /// A PostgreSQL database.
    Postgres(PostgresConfig),
}

/// Applies pending schema migrations (the admin `migrate` command). Opening a store does
/// this too.
///
/// # Errors
///
/// [`OpenError`] when the database cannot be reached, or its schema was changed or is
/// newer than this server's.
pub async fn migrate(config: &StoreConfig) -> Result<MigrationReport, OpenError> {
    match config {
        StoreConfig::Sqlite(c) => {
            let c = c.clone();
            tokio::task::spawn_blocking(move || sqlite::migrate_sqlite(&c))
                .await
                .map_err(|e| OpenError::InvalidConfig(format!("migration task failed: {e}")))?
        }
        StoreConfig::Postgres(c) => postgres::migrate_postgres(c).await,
    }
}

/// Reads the database's schema status without creating or migrating anything (`config
/// check --database`): whether it exists, its version, the migrations pending.
///
/// # Errors
///
/// [`OpenError`] when the database cannot be reached or read, or its schema was changed
/// or is newer than this server's.
pub async fn check(config: &StoreConfig) -> Result<SchemaStatus, OpenError> {
    match config {
        StoreConfig::Sqlite(c) => {
            let c = c.clone();
            tokio::task::spawn_blocking(move || sqlite::status_sqlite(&c))
                .await
                .map_err(|e| OpenError::InvalidConfig(format!("check task failed: {e}")))?
        }
        StoreConfig::Postgres(c) => postgres::status_postgres(c).await,
    }
}

/// Opens the configured store, applying pending migrations first.
///
/// # Errors
///
/// As [`migrate`].
pub async fn open(config: &StoreConfig) -> Result<AnyStore, OpenError> {
    match config {
        StoreConfig::Sqlite(c) => {
            let c = c.clone();
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(c))
                .await
                .map_err(|e| OpenError::InvalidConfig(format!("open task failed: {e}")))??;
            Ok(AnyStore::Sqlite(store))
        }
        StoreConfig::Postgres(c) => Ok(AnyStore::Postgres(PgStore::connect(c).await?)),
    }
}

/// Runs argon2 work (a login's verification, the hashing of new passwords) on tokio's
/// blocking pool, at most as many at once as the machine has CPUs. Each argon2 call holds
/// its memory cost (19 MiB with the default parameters) while it runs, and more
/// parallelism than CPUs would not make a burst of logins finish sooner. The memory itself
/// is kept between calls, one buffer per CPU (`epp_session`'s `PasswordHash`): allocated
/// per call, the C allocator kept it in per-thread arenas and 32 logins left the server at
/// about 500 MiB (docs/BENCHMARKS.md).
pub(crate) async fn argon2_off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    let _permit = permits
        .acquire()
        .await
        .map_err(|e| StoreError::Unavailable(format!("password work refused: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Unavailable(format!("password work failed: {e}")))
}

/// Checks a login's password against the registrar's argon2 hash, off the async threads.
pub(crate) async fn verify_off_thread(
    registrar: Option<Registrar>,
    password: &Password,
) -> Result<LoginCheck, StoreError> {
    let password = password.clone();
    argon2_off_thread(move || check_login(registrar, &password)).await
}

/// Replaces the clear passwords of a change set by argon2 hashes on tokio's blocking pool,
/// with salts from the operating system.
pub(crate) async fn hash_off_thread(mut set: ChangeSet) -> Result<ChangeSet, StoreError> {
    // One salt per change is at least one per password.
    let mut salts = vec![[0u8; 16]; set.changes.len()];
    for salt in &mut salts {
        getrandom::fill(salt)
            .map_err(|e| StoreError::Unavailable(format!("no randomness for a salt: {e}")))?;
    }
    argon2_off_thread(move || {
        let mut salts = salts.into_iter();
        set.hash_passwords(|| salts.next().unwrap_or_default());
        set
    })
    .await
}

/// The check cache's state and counts (docs/check-cache.md), for the metrics endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckCacheStats {
    /// `[database] check_cache` is on.
    pub enabled: bool,
    /// `<domain:check>` is answered from memory now.
    pub in_use: bool,
    /// Names answered from memory so far.
    pub answered: u64,
    /// Times every domain name was read (at start and after other writers' commits).
    pub loads: u64,
}

impl AnyStore {
    /// The check cache's state and counts.
    pub fn check_cache_stats(&self) -> CheckCacheStats {
        let (enabled, in_use, (answered, loads)) = match self {
            AnyStore::Sqlite(s) => (
                s.check_cache_enabled(),
                s.check_cache_in_use(),
                s.stats().check_cache_counts(),
            ),
            AnyStore::Postgres(s) => (
                s.check_cache_enabled(),
                s.check_cache_in_use(),
                s.stats().check_cache_counts(),
            ),
        };
        CheckCacheStats {
            enabled,
            in_use,
            answered,
            loads,
        }
    }
}

/// Either backend, chosen at run time from the configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyStore {
    /// SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

macro_rules! delegate {
    ($self:ident, $method:ident $(, $arg:expr)*) => {
        match $self {
            AnyStore::Sqlite(s) => s.$method($($arg),*).await,
            AnyStore::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    async fn verify_login(
        &self,
        id: &ClientId,
        password: &Password,
    ) -> Result<LoginCheck, StoreError> {
        delegate!(self, verify_login, id, password)
    }

    async fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        delegate!(self, registrar, id)
    }

    async fn registrars(&self) -> Result<Vec<Registrar>, StoreError> {
        delegate!(self, registrars)
    }

    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        delegate!(self, domain, name)
    }

    async fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        delegate!(self, contact, id)
    }

    async fn host(&self, name: &HostName) -> Result<Option<Host>, StoreError> {
        delegate!(self, host, name)
    }

    async fn domains_exist(&self, names: &[DomainName]) -> Result<Vec<bool>, StoreError> {
        delegate!(self, domains_exist, names)
    }

    async fn contacts_exist(&self, ids: &[ContactId]) -> Result<Vec<bool>, StoreError> {
        delegate!(self, contacts_exist, ids)
    }

    async fn hosts_exist(&self, names: &[HostName]) -> Result<Vec<bool>, StoreError> {
        delegate!(self, hosts_exist, names)
    }

    async fn read_set(&self, reads: ReadSet<'_>) -> ReadSetAnswer {
        delegate!(self, read_set, reads)
    }

    async fn is_linked(&self, object: &ObjectKey) -> Result<bool, StoreError> {
        delegate!(self, is_linked, object)
    }

    async fn domains(
        &self,
        query: &DomainQuery,
        after: Option<&DomainName>,
        limit: usize,
    ) -> Result<Vec<Domain>, StoreError> {
        delegate!(self, domains, query, after, limit)
    }

    async fn count_domains(&self, query: &DomainQuery) -> Result<u64, StoreError> {
        delegate!(self, count_domains, query)
    }

    async fn contacts(
        &self,
        query: &ContactQuery,
        after: Option<&ContactId>,
        limit: usize,
    ) -> Result<Vec<Contact>, StoreError> {
        delegate!(self, contacts, query, after, limit)
    }

    async fn hosts(
        &self,
        query: &HostQuery,
        after: Option<&HostName>,
        limit: usize,
    ) -> Result<Vec<Host>, StoreError> {
        delegate!(self, hosts, query, after, limit)
    }

    async fn poll_summary(&self, registrar: &ClientId) -> Result<Option<PollSummary>, StoreError> {
        delegate!(self, poll_summary, registrar)
    }

    async fn poll_peek(&self, registrar: &ClientId) -> Result<Option<PolledMessage>, StoreError> {
        delegate!(self, poll_peek, registrar)
    }

    async fn history(&self, object: &ObjectKey) -> Result<Vec<HistoryEntry>, StoreError> {
        delegate!(self, history, object)
    }

    async fn transfer_token(
        &self,
        domain: &DomainName,
    ) -> Result<Option<TransferToken>, StoreError> {
        delegate!(self, transfer_token, domain)
    }

    async fn expired_transfer_tokens(
        &self,
        before: epp_xml::Timestamp,
        limit: usize,
    ) -> Result<Vec<TransferToken>, StoreError> {
        delegate!(self, expired_transfer_tokens, before, limit)
    }

    async fn replay(
        &self,
        registrar: &ClientId,
        cl_trid: &ClTrid,
    ) -> Result<Option<ReplayRecord>, StoreError> {
        delegate!(self, replay, registrar, cl_trid)
    }

    async fn pending_notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        delegate!(self, pending_notifications, limit)
    }

    async fn allocate_id(&self, sequence: Sequence) -> Result<u64, StoreError> {
        delegate!(self, allocate_id, sequence)
    }

    async fn commit(&self, changes: ChangeSet) -> Result<CommitReceipt, StoreError> {
        delegate!(self, commit, changes)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::argon2_off_thread;

    /// A burst of password work runs at most as many jobs at once as there are CPUs: each
    /// argon2 call holds 19 MiB, and the blocking pool alone would run 512 of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn argon2_work_runs_at_most_one_job_per_cpu() {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs = (0..cpus * 8).map(|_| {
            let (running, most) = (running.clone(), most.clone());
            tokio::spawn(argon2_off_thread(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            }))
        });
        for job in jobs.collect::<Vec<_>>() {
            job.await.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(most <= cpus, "{most} jobs ran at once on {cpus} CPUs");
        assert!(most >= 1);
    }
}
