//! The SQLite store: one database file in WAL mode, one writer thread with group commit,
//! reads on their own connections.
//!
//! # Writes
//!
//! Every commit goes to one writer thread over a queue. The writer takes everything queued
//! (up to [`SqliteConfig::max_batch`] change sets), opens one transaction, applies each
//! change set inside its own `SAVEPOINT` (a change set that breaks a rule is rolled back
//! alone and the others stay), and ends with one `COMMIT`, which is one WAL sync for the
//! whole batch. Only after that `COMMIT` returns does it answer each caller. So under load
//! the create rate is not capped by one sync per command, and a caller never hears "done"
//! for something that is not on disk. A single writer also makes every change set
//! serial: the store's checks and writes cannot interleave.
//!
//! # Reads
//!
//! Reads run on the calling task on a pooled read-only connection. In WAL mode a reader
//! sees the last committed state and never waits for the writer. A point read is a few
//! microseconds of CPU (prepared statement, page cache), so it runs inline rather than
//! paying a thread hop; argon2 verification, which takes tens of milliseconds, goes to
//! tokio's blocking pool.
//!
//! ## Read snapshots kept open
//!
//! Starting and ending a read transaction costs more than the read itself: SQLite takes
//! and drops a shared lock on the `-shm` file (two `fcntl` calls) each time. So a pooled
//! connection keeps its read transaction (its snapshot) open between reads and uses it
//! again as long as nothing has been committed since, by this process or any other.
//! That is checked before every read against the WAL-index header, the 48 bytes at the
//! start of the `-shm` file that every commit rewrites (SQLite's documented WAL-index
//! format, `walformat.html`): one `pread`, no lock. When the header differs, or is being
//! rewritten, the old snapshot ends and a new one starts, so a read never sees less than
//! what was committed before it began, exactly as with a transaction per read.
//!
//! An open snapshot keeps the WAL from being checkpointed past it and from restarting,
//! so snapshots of idle connections end before each group commit and after a second
//! without commits.
//!
//! # Durability
//!
//! See [`Durability`]. `synchronous=FULL` (the default) syncs the WAL at every commit;
//! `NORMAL` syncs only at checkpoints, so a power loss may lose the last commits (never
//! corrupt the database); a crash of the process alone loses nothing in either mode.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, mpsc};
use std::time::Duration;

use epp_session::store::model::{
    Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery, LoginCheck,
    Notification, ObjectKey, PollSummary, PolledMessage, Registrar, ReplayRecord, Sequence,
    TransferToken,
};
use epp_session::store::{ChangeSet, CommitReceipt, Store, StoreError};
use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Password};
use futures_util::FutureExt;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ffi};
use tokio::sync::oneshot;

use super::check_cache::domain_writes;
use super::error::OpenError;
use super::poll_cache::PollCache;
use super::sql::{Cell, Conn, DbError, Row, TxError, Value};
use super::sqlite_names::{OpenReader, SqliteNames, WalHeader, data_version};
use super::{engine, migrate, read};

/// How hard SQLite works to keep a commit through a power loss (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is synced before each (group) commit returns. A commit
    /// answered to a client survives a power loss. Costs one fsync per batch.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the WAL is synced at checkpoints only. Survives a process
    /// crash; a power loss or kernel crash may roll back the most recent commits, which
    /// clients were already told succeeded. Faster on disks with slow fsync.
    Normal,
}

/// Settings of the SQLite store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The database file (its `-wal` and `-shm` files sit beside it). The directory is
    /// created if missing.
    pub path: PathBuf,
    /// The sync setting.
    pub durability: Durability,
    /// The most change sets one group commit takes.
    pub max_batch: usize,
    /// How many idle read connections to keep.
    pub max_idle_readers: usize,
    /// How long a connection waits for a lock held by another process (for example the
    /// admin command) before it fails.
    pub busy_timeout: Duration,
    /// How long a poll queue summary (`<msgQ>`) is shown without reading the queue again;
    /// zero reads it for every response. This process's own commits refresh it at once;
    /// another process's (the admin command) show within this time.
    pub poll_summary_ttl: Duration,
    /// Whether pooled read connections keep their snapshot open between reads while
    /// nothing is committed (see the module documentation). Off: a read transaction per
    /// read, as SQLite does by default. Reads see the same data either way.
    pub reuse_read_snapshots: bool,
    /// Answer `<domain:check>` from memory while the file shows no other writer's commit
    /// (docs/check-cache.md, "SQLite"); needs `reuse_read_snapshots`. Off for processes
    /// that only write now and then, such as the admin command.
    pub check_cache: bool,
}

impl SqliteConfig {
    /// The defaults for a database file: FULL durability, batches of up to 256 change
    /// sets, 8 idle readers, a 5 s busy timeout, poll summaries kept for 1 s, read
    /// snapshots reused, checks answered from memory.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            durability: Durability::Full,
            max_batch: 256,
            max_idle_readers: 8,
            busy_timeout: Duration::from_secs(5),
            poll_summary_ttl: super::poll_cache::DEFAULT_TTL,
            reuse_read_snapshots: true,
            check_cache: true,
        }
    }
}

/// How many numbers one process reserves from a sequence at a time.
const SEQUENCE_BLOCK: u64 = 64;

/// The SQLite [`Store`]. Cheap to clone; the writer thread ends when the last clone is
/// dropped, after finishing what was queued.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: SqliteConfig,
    jobs: mpsc::Sender<Job>,
    stats: Arc<Counters>,
    readers: Arc<Mutex<Vec<Pooled>>>,
    /// The `-shm` file, read for the WAL-index header; `None` when snapshots are not
    /// reused (turned off, or the file could not be opened).
    shm: Option<std::fs::File>,
    blocks: Mutex<HashMap<Sequence, Range<u64>>>,
    polls: PollCache,
    /// Domain names for checks, when configured (and `shm` is there).
    names: Option<Arc<SqliteNames>>,
}

/// Counters the store keeps, for metrics and tests.
#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    change_sets: AtomicU64,
    snapshots: AtomicU64,
}

/// What the writer and the readers have done since the store opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Transactions committed (each one group commit, one WAL sync).
    pub batches: u64,
    /// Change sets applied in them (committed or refused by a rule).
    pub change_sets: u64,
    /// Read snapshots started (a read function's one or several statements run in one):
    /// with snapshots reused, far fewer than reads while nothing is committed.
    pub snapshots: u64,
    /// Names of `<domain:check>` answered from memory (docs/check-cache.md).
    pub checks_from_memory: u64,
    /// Times every domain name was read into memory.
    pub name_loads: u64,
}

impl WriterStats {
    /// Names answered from memory, and full readings of the names (the check cache).
    pub(crate) fn check_cache_counts(&self) -> (u64, u64) {
        (self.checks_from_memory, self.name_loads)
    }
}

/// An idle read connection and the snapshot it keeps open, if any.
struct Pooled {
    conn: Connection,
    /// The WAL-index header when the snapshot began: the snapshot is current while the
    /// header is unchanged.
    snapshot: Option<WalHeader>,
}

/// Reads the WAL-index header. `None` when it cannot be read or is being rewritten (the
/// writer writes the second copy, then the first; they differ in between).
fn wal_header(shm: &std::fs::File) -> Option<WalHeader> {
    use std::os::unix::fs::FileExt as _;
    let mut both = [0u8; 96];
    shm.read_exact_at(&mut both, 0).ok()?;
    let (first, second) = both.split_at(48);
    if first != second {
        return None;
    }
    first.try_into().ok()
}

/// Ends the snapshots idle connections keep open, so that checkpoints can copy the whole
/// WAL and the WAL can restart. A connection that cannot end its transaction is closed.
fn end_idle_snapshots(readers: &Mutex<Vec<Pooled>>) {
    lock(readers).retain_mut(|pooled| match pooled.snapshot.take() {
        None => true,
        Some(_) => end_snapshot(&pooled.conn),
    });
}

/// Ends a read transaction; false when that failed.
fn end_snapshot(conn: &Connection) -> bool {
    conn.is_autocommit() || conn.execute_batch("COMMIT").is_ok()
}

enum Job {
    Commit(
        Box<ChangeSet>,
        oneshot::Sender<Result<CommitReceipt, StoreError>>,
    ),
    Reserve(Sequence, oneshot::Sender<Result<u64, StoreError>>),
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.config.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database, applies pending migrations and starts the
    /// writer thread.
    ///
    /// # Errors
    ///
    /// [`OpenError`] when the file cannot be opened or migrated.
    pub fn open(config: SqliteConfig) -> Result<Self, OpenError> {
        let mut writer = open_connection(&config, false)?;
        migrate::sqlite(&mut writer)?;
        let shm = match config.reuse_read_snapshots {
            true => open_shm(&writer, &config.path),
            false => None,
        };
        let (jobs, queue) = mpsc::channel();
        let max_batch = config.max_batch.max(1);
        let stats = Arc::new(Counters::default());
        let counters = Arc::clone(&stats);
        let readers = Arc::new(Mutex::new(Vec::new()));
        let idle = Arc::clone(&readers);
        // The names and the writer's own handle of the `-shm` file.
        // The first reading is made here, before anything commits; later ones (after
        // another writer's commits) on a read-only connection of their own.
        let names = match (&shm, config.check_cache) {
            (Some(f), true) => f.try_clone().ok().map(|f| {
                let n = SqliteNames::new();
                if let Err(e) = n.refresh(&writer, || wal_header(&f), true) {
                    tracing::warn!(error = %e, "cannot read the domain names; checks read SQLite");
                }
                let (path, busy) = (config.path.clone(), config.busy_timeout);
                let open: OpenReader = Arc::new(move || {
                    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                    let conn = Connection::open_with_flags(&path, flags)?;
                    conn.busy_timeout(busy)?;
                    Ok(conn)
                });
                (Arc::new(n.with_reader(open)), f)
            }),
            _ => None,
        };
        let store_names = names.as_ref().map(|(n, _)| Arc::clone(n));
        std::thread::Builder::new()
            .name("epp-sqlite-writer".into())
            .spawn(move || {
                let names = names.as_ref().map(|(n, f)| (&**n, f));
                writer_loop(writer, queue, max_batch, &counters, &idle, names);
            })
            .map_err(|source| OpenError::Io {
                path: config.path.clone(),
                source,
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                jobs,
                stats,
                readers,
                shm,
                blocks: Mutex::new(HashMap::new()),
                polls: PollCache::new(config.poll_summary_ttl),
                names: store_names,
                config,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.config.path
    }

    /// What the writer has done so far.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.inner.stats.batches.load(Ordering::Relaxed),
            change_sets: self.inner.stats.change_sets.load(Ordering::Relaxed),
            snapshots: self.inner.stats.snapshots.load(Ordering::Relaxed),
            checks_from_memory: self.inner.names.as_ref().map_or(0, |n| n.answered()),
            name_loads: self.inner.names.as_ref().map_or(0, |n| n.loads()),
        }
    }

    /// Whether the check cache is configured (`[database] check_cache`).
    pub fn check_cache_enabled(&self) -> bool {
        self.inner.names.is_some()
    }

    /// Whether `<domain:check>` is answered from memory now (docs/check-cache.md).
    pub fn check_cache_in_use(&self) -> bool {
        let header = self.inner.shm.as_ref().and_then(wal_header);
        self.inner.names.as_ref().is_some_and(|n| n.in_use(header))
    }

    /// A read connection from the pool (or a new one). With snapshots reused it is inside
    /// a read transaction whose snapshot holds everything committed before this call.
    fn reader(&self) -> Result<Reader<'_>, StoreError> {
        let inner = &*self.inner;
        let idle = lock(&inner.readers).pop();
        let mut pooled = match idle {
            Some(p) => p,
            None => Pooled {
                conn: open_connection(&inner.config, true)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
                snapshot: None,
            },
        };
        // Read before the snapshot begins, so the snapshot holds at least this state.
        let header = inner.shm.as_ref().and_then(wal_header);
        if header.is_none() || pooled.snapshot != header {
            if pooled.snapshot.take().is_some() && !end_snapshot(&pooled.conn) {
                pooled = Pooled {
                    conn: open_connection(&inner.config, true)
                        .map_err(|e| StoreError::Unavailable(e.to_string()))?,
                    snapshot: None,
                };
            }
            inner.stats.snapshots.fetch_add(1, Ordering::Relaxed);
            // Without a header (snapshots off, or a commit being written) the read runs
            // in a transaction of its own, as SQLite does by default.
            if header.is_some() && pooled.conn.execute_batch("BEGIN").is_ok() {
                pooled.snapshot = header;
            }
        }
        Ok(Reader {
            conn: Some(pooled.conn),
            snapshot: pooled.snapshot,
            store: inner,
        })
    }

    async fn send<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Job,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .jobs
            .send(job(tx))
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }
}

/// A pooled read connection, returned to the pool on drop.
struct Reader<'a> {
    conn: Option<Connection>,
    /// The open snapshot (see [`SqliteStore::reader`]).
    snapshot: Option<WalHeader>,
    store: &'a Inner,
}

impl Reader<'_> {
    fn conn(&mut self) -> SqliteConn<'_> {
        SqliteConn {
            // Always Some until drop.
            conn: self.conn.as_mut(),
        }
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // An error may have made SQLite roll the snapshot's transaction back.
            let snapshot = self.snapshot.filter(|_| !conn.is_autocommit());
            let mut idle = lock(&self.store.readers);
            if idle.len() < self.store.config.max_idle_readers {
                idle.push(Pooled { conn, snapshot });
            }
        }
    }
}

/// Opens the `-shm` file beside the database for reading the WAL-index header, once the
/// writer connection has made it exist.
fn open_shm(writer: &Connection, path: &Path) -> Option<std::fs::File> {
    // A read makes SQLite open (and create) the WAL index if no statement has yet.
    let _ = writer.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()));
    let mut shm = path.as_os_str().to_owned();
    shm.push("-shm");
    match std::fs::File::open(&shm) {
        Ok(f) => wal_header(&f).map(|_| f),
        Err(e) => {
            tracing::warn!(
                file = %Path::new(&shm).display(),
                error = %e,
                "cannot read the WAL index; every SQLite read takes a snapshot of its own"
            );
            None
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values (idle connections, reserved ranges) stay valid whatever a
    // panicking holder did, so a poisoned lock is safe to use.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Applies pending migrations (the admin command's entry point for SQLite).
pub(crate) fn migrate_sqlite(config: &SqliteConfig) -> Result<migrate::MigrationReport, OpenError> {
    let mut conn = open_connection(config, false)?;
    migrate::sqlite(&mut conn)
}

/// Reads the schema status without creating or changing anything.
pub(crate) fn status_sqlite(config: &SqliteConfig) -> Result<migrate::SchemaStatus, OpenError> {
    if !config.path.exists() {
        return Ok(migrate::missing(false));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&config.path, flags)?;
    conn.busy_timeout(config.busy_timeout)?;
    migrate::sqlite_status(&conn)
}

fn open_connection(config: &SqliteConfig, read_only: bool) -> Result<Connection, OpenError> {
    if let Some(dir) = config.path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&config.path, flags)?;
    conn.busy_timeout(config.busy_timeout)?;
    // rusqlite keeps 16 prepared statements by default; the store uses about 70.
    conn.set_prepared_statement_cache_capacity(128);
    if read_only {
        conn.pragma_update(None, "query_only", true)?;
    } else {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(OpenError::InvalidConfig(format!(
                "{}: SQLite refused WAL mode (got {mode})",
                config.path.display()
            )));
        }
        let sync = match config.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "foreign_keys", true)?;
    }
    Ok(conn)
}

// --- the writer ---------------------------------------------------------------------------

/// How long idle read connections may keep their snapshots while nothing is committed
/// (another process's checkpoint cannot pass them meanwhile).
const IDLE_SNAPSHOT: Duration = Duration::from_secs(1);

/// The check cache's names and the writer's handle of the `-shm` file.
type Names<'a> = Option<(&'a SqliteNames, &'a std::fs::File)>;

fn writer_loop(
    mut conn: Connection,
    queue: mpsc::Receiver<Job>,
    max_batch: usize,
    stats: &Counters,
    readers: &Mutex<Vec<Pooled>>,
    names: Names<'_>,
) {
    loop {
        let first = match queue.recv_timeout(IDLE_SNAPSHOT) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                end_idle_snapshots(readers);
                refresh_names(&conn, names, true);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Idle snapshots would stop this batch's checkpoint short and keep the WAL from
        // restarting; the snapshots of connections in use end when they are next used.
        end_idle_snapshots(readers);
        run_batch(&mut conn, batch, stats, names);
        refresh_names(&conn, names, false);
    }
}

/// Between batches (`idle`: after a second without any): another writer's commits drop
/// the names; they are read again when the backoff allows.
fn refresh_names(conn: &Connection, names: Names<'_>, idle: bool) {
    if let Some((n, shm)) = names
        && let Err(e) = n.refresh(conn, || wal_header(shm), idle)
    {
        tracing::warn!(error = %e, "cannot read the domain names; checks read SQLite");
    }
}

enum Outcome {
    Commit(
        oneshot::Sender<Result<CommitReceipt, StoreError>>,
        Result<CommitReceipt, StoreError>,
    ),
    Reserve(
        oneshot::Sender<Result<u64, StoreError>>,
        Result<u64, StoreError>,
    ),
}

impl Outcome {
    /// Replies to the caller; if the batch's COMMIT failed, successes become that error.
    fn reply(self, commit_error: Option<&StoreError>) {
        // A caller that went away (its session closed) no longer needs the answer.
        match self {
            Outcome::Commit(tx, r) => {
                let _ = tx.send(match (r, commit_error) {
                    (Ok(_), Some(e)) => Err(e.clone()),
                    (r, _) => r,
                });
            }
            Outcome::Reserve(tx, r) => {
                let _ = tx.send(match (r, commit_error) {
                    (Ok(_), Some(e)) => Err(e.clone()),
                    (r, _) => r,
                });
            }
        }
    }
}

/// Runs one group commit and answers its callers.
fn run_batch(conn: &mut Connection, batch: Vec<Job>, stats: &Counters, names: Names<'_>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = StoreError::Database(format!("cannot begin a transaction: {e}"));
        for job in batch {
            match job {
                Job::Commit(_, tx) => drop(tx.send(Err(err.clone()))),
                Job::Reserve(_, tx) => drop(tx.send(Err(err.clone()))),
            }
        }
        return;
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    // The domain names the committed change sets add or remove, in order.
    let mut writes = Vec::new();
    let lost = || StoreError::Database("the transaction was rolled back by SQLite".into());
    for job in batch {
        // SQLite rolls a transaction back by itself after some errors (I/O, full disk).
        // Then the rest of the batch must not run: a SAVEPOINT outside a transaction
        // would start and commit a transaction of its own.
        let broken = conn.is_autocommit();
        match job {
            Job::Commit(set, tx) => {
                let result = if broken {
                    Err(lost())
                } else {
                    apply_in_savepoint(conn, &set)
                };
                if names.is_some() && result.is_ok() {
                    writes.extend(domain_writes(&set));
                }
                outcomes.push(Outcome::Commit(tx, result));
            }
            Job::Reserve(seq, tx) => {
                let result = if broken {
                    Err(lost())
                } else {
                    reserve(conn, seq)
                };
                outcomes.push(Outcome::Reserve(tx, result));
            }
        }
    }
    // If the transaction was lost, nothing of the batch can be committed.
    let commit_error = if conn.is_autocommit() {
        Some(lost())
    } else {
        conn.execute_batch("COMMIT").err().map(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            StoreError::Database(format!("commit failed: {e}"))
        })
    };
    if let Some((n, shm)) = names {
        match commit_error {
            // The header first, then whether another connection committed before it.
            None => n.after_commit(wal_header(shm), data_version(conn).ok(), writes),
            Some(_) => n.commit_failed(),
        }
    }
    if commit_error.is_none() {
        // Counted before the replies, so a caller that got its answer sees its batch.
        let change_sets = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Commit(..)))
            .count() as u64;
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.change_sets.fetch_add(change_sets, Ordering::Relaxed);
    }
    for outcome in outcomes {
        outcome.reply(commit_error.as_ref());
    }
}

fn apply_in_savepoint(conn: &mut Connection, set: &ChangeSet) -> Result<CommitReceipt, StoreError> {
    conn.execute_batch("SAVEPOINT change_set")
        .map_err(|e| StoreError::Database(e.to_string()))?;
    let mut c = SqliteConn { conn: Some(conn) };
    // SQLite statements complete synchronously, so the future is ready on its first poll.
    let result = match engine::apply(&mut c, set, engine::Checks::Before).now_or_never() {
        Some(r) => r.map_err(|e| e.into_store_error()),
        None => Err(StoreError::Database(
            "SQLite statement did not complete".into(),
        )),
    };
    let undo = if result.is_err() {
        "ROLLBACK TO change_set; RELEASE change_set"
    } else {
        "RELEASE change_set"
    };
    if !conn.is_autocommit() {
        conn.execute_batch(undo)
            .map_err(|e| StoreError::Database(e.to_string()))?;
    }
    result
}

fn reserve(conn: &mut Connection, seq: Sequence) -> Result<u64, StoreError> {
    let start: i64 = conn
        .query_row(
            "UPDATE sequences SET next_value = next_value + ?2 WHERE name = ?1 \
             RETURNING next_value - ?2",
            rusqlite::params![seq.as_str(), SEQUENCE_BLOCK as i64],
            |r| r.get(0),
        )
        .map_err(|e| StoreError::Database(format!("sequence {seq}: {e}")))?;
    u64::try_from(start).map_err(|_| StoreError::Corrupt(format!("sequence {seq} is negative")))
}

// --- the connection adapter -----------------------------------------------------------------

/// Runs the shared statements on a rusqlite connection.
pub(crate) struct SqliteConn<'a> {
    conn: Option<&'a mut Connection>,
}

struct Param<'a>(Value<'a>);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(n),
            Value::Bool(b) => ValueRef::Integer(i64::from(b)),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

/// The statement with PostgreSQL's `$n` placeholders rewritten to SQLite's `?n`, cached
/// per statement (statements are a fixed set of literals, so the cache is bounded).
fn sqlite_sql(sql: &'static str) -> &'static str {
    static CACHE: OnceLock<Mutex<HashMap<(usize, usize), &'static str>>> = OnceLock::new();
    if !sql.contains('$') {
        return sql;
    }
    let key = (sql.as_ptr() as usize, sql.len());
    let mut cache = lock(CACHE.get_or_init(Default::default));
    cache.entry(key).or_insert_with(|| {
        let mut out = String::with_capacity(sql.len());
        let mut chars = sql.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                out.push('?');
            } else {
                out.push(c);
            }
        }
        Box::leak(out.into_boxed_str())
    })
}

fn map_error(e: rusqlite::Error) -> DbError {
    if let rusqlite::Error::SqliteFailure(err, _) = &e {
        match err.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return DbError::Unique(e.to_string());
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return DbError::ForeignKey(e.to_string()),
            _ => {}
        }
        if err.code == rusqlite::ErrorCode::CannotOpen {
            return DbError::Connection(e.to_string());
        }
    }
    DbError::Other(e.to_string())
}

impl SqliteConn<'_> {
    fn run_query(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<Vec<Row>, DbError> {
        let conn = self
            .conn
            .as_deref_mut()
            .ok_or_else(|| DbError::Connection("no connection".into()))?;
        let mut stmt = conn.prepare_cached(sqlite_sql(sql)).map_err(map_error)?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter().map(|v| Param(*v))))
            .map_err(map_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_error)? {
            let mut cells = Vec::with_capacity(columns);
            for i in 0..columns {
                cells.push(match row.get_ref(i).map_err(map_error)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(n) => Cell::Int(n),
                    ValueRef::Real(f) => Cell::Text(f.to_string()),
                    ValueRef::Text(t) => Cell::Text(
                        String::from_utf8(t.to_vec())
                            .map_err(|_| DbError::Other("invalid UTF-8 in a text column".into()))?,
                    ),
                    ValueRef::Blob(b) => Cell::Bytes(b.to_vec()),
                });
            }
            out.push(Row(cells));
        }
        Ok(out)
    }

    fn run_execute(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<u64, DbError> {
        let conn = self
            .conn
            .as_deref_mut()
            .ok_or_else(|| DbError::Connection("no connection".into()))?;
        let mut stmt = conn.prepare_cached(sqlite_sql(sql)).map_err(map_error)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(|v| Param(*v))))
            .map_err(map_error)?;
        Ok(n as u64)
    }
}

impl Conn for SqliteConn<'_> {
    async fn query(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
    ) -> Result<Vec<Row>, DbError> {
        self.run_query(sql, params)
    }

    async fn execute(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<u64, DbError> {
        self.run_execute(sql, params)
    }
}

// --- the Store ------------------------------------------------------------------------------

/// Runs one read function on a pooled read connection.
macro_rules! read_with {
    ($self:ident, $f:path $(, $arg:expr)*) => {{
        let mut reader = $self.reader()?;
        let mut conn = reader.conn();
        $f(&mut conn $(, $arg)*)
            .await
            .map_err(TxError::into_store_error)
    }};
}

/// Runs one read function of several statements in one read transaction: one snapshot
/// for all of them, and one shared lock (a pair of `fcntl` calls and the WAL read mark)
/// instead of one per statement, a visible cost of a many-name check under load
/// (docs/BENCHMARKS.md). A reader that keeps its snapshot open is in one already.
macro_rules! read_tx_with {
    ($self:ident, $f:path $(, $arg:expr)*) => {{
        let mut reader = $self.reader()?;
        if reader.snapshot.is_some() {
            let mut conn = reader.conn();
            $f(&mut conn $(, $arg)*)
                .await
                .map_err(TxError::into_store_error)
        } else {
            let mut conn = reader.conn();
            conn.run_execute("BEGIN", &[]).map_err(DbError::into_store_error)?;
            let result = $f(&mut conn $(, $arg)*)
                .await
                .map_err(TxError::into_store_error);
            // The transaction ends whatever the function returned; a connection that
            // cannot end it does not go back to the pool.
            if conn.run_execute("COMMIT", &[]).is_err() {
                reader.conn = None;
            }
            result
        }
    }};
}

impl Store for SqliteStore {
    async fn verify_login(
        &self,
        id: &ClientId,
        password: &Password,
    ) -> Result<LoginCheck, StoreError> {
        let registrar = read_with!(self, read::registrar, id)?;
        super::verify_off_thread(registrar, password).await
    }

    async fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        read_with!(self, read::registrar, id)
    }

    async fn registrars(&self) -> Result<Vec<Registrar>, StoreError> {
        read_with!(self, read::registrars)
    }

    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        read_with!(self, read::domain, name)
    }

    async fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        read_with!(self, read::contact, id)
    }

    async fn host(&self, name: &HostName) -> Result<Option<Host>, StoreError> {
        read_with!(self, read::host, name)
    }

    async fn domains_exist(&self, names: &[DomainName]) -> Result<Vec<bool>, StoreError> {
        if let (Some(cache), Some(shm)) = (&self.inner.names, &self.inner.shm)
            && let Some(header) = wal_header(shm)
            && let Some(answers) = cache.answer(&header, names.iter().map(DomainName::as_str))
        {
            return Ok(answers);
        }
        let keys = names.iter().map(DomainName::as_str);
        let sql = "SELECT 1 FROM domains WHERE name = $1";
        if names.len() > 1 {
            read_tx_with!(self, read::exist, sql, keys)
        } else {
            read_with!(self, read::exist, sql, keys)
        }
    }

    async fn contacts_exist(&self, ids: &[ContactId]) -> Result<Vec<bool>, StoreError> {
        let keys = ids.iter().map(ContactId::as_str);
        let sql = "SELECT 1 FROM contacts WHERE id = $1";
        if ids.len() > 1 {
            read_tx_with!(self, read::exist, sql, keys)
        } else {
            read_with!(self, read::exist, sql, keys)
        }
    }

    async fn hosts_exist(&self, names: &[HostName]) -> Result<Vec<bool>, StoreError> {
        let keys = names.iter().map(HostName::as_str);
        let sql = "SELECT 1 FROM hosts WHERE name = $1";
        if names.len() > 1 {
            read_tx_with!(self, read::exist, sql, keys)
        } else {
            read_with!(self, read::exist, sql, keys)
        }
    }

    async fn is_linked(&self, object: &ObjectKey) -> Result<bool, StoreError> {
        read_tx_with!(self, read::is_linked, object)
    }

    async fn domains(
        &self,
        query: &DomainQuery,
        after: Option<&DomainName>,
        limit: usize,
    ) -> Result<Vec<Domain>, StoreError> {
        read_with!(self, read::domains, query, after, limit)
    }

    async fn count_domains(&self, query: &DomainQuery) -> Result<u64, StoreError> {
        read_with!(self, read::count_domains, query)
    }

    async fn contacts(
        &self,
        query: &ContactQuery,
        after: Option<&ContactId>,
        limit: usize,
    ) -> Result<Vec<Contact>, StoreError> {
        read_with!(self, read::contacts, query, after, limit)
    }

    async fn hosts(
        &self,
        query: &HostQuery,
        after: Option<&HostName>,
        limit: usize,
    ) -> Result<Vec<Host>, StoreError> {
        read_with!(self, read::hosts, query, after, limit)
    }

    async fn poll_summary(&self, registrar: &ClientId) -> Result<Option<PollSummary>, StoreError> {
        self.inner
            .polls
            .summary(registrar, || async {
                read_with!(self, read::poll_summary, registrar)
            })
            .await
    }

    async fn poll_peek(&self, registrar: &ClientId) -> Result<Option<PolledMessage>, StoreError> {
        read_with!(self, read::poll_peek, registrar)
    }

    async fn history(&self, object: &ObjectKey) -> Result<Vec<HistoryEntry>, StoreError> {
        read_with!(self, read::history, object)
    }

    async fn transfer_token(
        &self,
        domain: &DomainName,
    ) -> Result<Option<TransferToken>, StoreError> {
        read_with!(self, read::transfer_token, domain)
    }

    async fn expired_transfer_tokens(
        &self,
        before: epp_xml::Timestamp,
        limit: usize,
    ) -> Result<Vec<TransferToken>, StoreError> {
        read_with!(self, read::expired_transfer_tokens, before, limit)
    }

    async fn replay(
        &self,
        registrar: &ClientId,
        cl_trid: &ClTrid,
    ) -> Result<Option<ReplayRecord>, StoreError> {
        read_with!(self, read::replay, registrar, cl_trid)
    }

    async fn pending_notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        read_with!(self, read::pending_notifications, limit)
    }

    async fn allocate_id(&self, sequence: Sequence) -> Result<u64, StoreError> {
        if let Some(range) = lock(&self.inner.blocks).get_mut(&sequence)
            && let Some(n) = range.next()
        {
            return Ok(n);
        }
        let start = self.send(|tx| Job::Reserve(sequence, tx)).await?;
        let mut blocks = lock(&self.inner.blocks);
        let range = blocks.entry(sequence).or_insert(0..0);
        // Another task may have refilled the range meanwhile; keep its numbers and let this
        // block's rest go unused (gaps are allowed).
        if range.is_empty() {
            *range = start + 1..start + SEQUENCE_BLOCK;
        }
        Ok(start)
    }

    async fn commit(&self, mut changes: ChangeSet) -> Result<CommitReceipt, StoreError> {
        if changes.has_clear_passwords() {
            changes = super::hash_off_thread(changes).await?;
        }
        let polls = PollCache::touched_by(&changes);
        let result = self.send(|tx| Job::Commit(Box::new(changes), tx)).await;
        self.inner.polls.invalidate(polls);
        result
    }
}
