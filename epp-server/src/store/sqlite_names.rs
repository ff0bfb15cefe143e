//! SQLite: `<domain:check>` answered from memory while the WAL-index header shows no commit
//! but this store's own (docs/check-cache.md, "SQLite").
//!
//! Every commit to the file, by any connection of any process, changes the WAL-index header
//! (its change counter, last frame, salts and checksum). The store's writer thread is the
//! only writer of this process, so after each of its commits it can tell whether the
//! header it then reads shows only its own commits: `PRAGMA data_version` on its connection
//! changes when another connection has committed, and not for its own commits. When it
//! shows only its own, the writer applies the batch's domain names and records the header;
//! a check whose `pread` of the header (which the readers do anyway) finds that header
//! answers from the names. Any other header, or none, and the check reads SQLite as before.
//! After another writer's commit the names are read again, no sooner than a backoff allows,
//! on a read-only connection of their own (off the writer thread, so commits go on): the
//! writer notes its `data_version` first and keeps the names its own commits write
//! meanwhile, and installs the names read, with those writes applied, only if
//! `data_version` has not moved. The first reading, at open, is made by the writer under
//! the write lock.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::check_cache::Writes;

/// The first copy of the WAL-index header (`WalIndexHdr`, 48 bytes): its change counter,
/// last frame, salts and checksum change with every commit and WAL restart.
pub(crate) type WalHeader = [u8; 48];

/// How long after another writer's commit the names are first read again; it doubles while
/// other writers keep committing, up to [`RELOAD_MAX`].
const RELOAD_FIRST: Duration = Duration::from_secs(1);
const RELOAD_MAX: Duration = Duration::from_secs(60);
/// Reading every name in the writer thread holds the write lock, so it waits for the writer
/// to be idle (no change set for a second), unless the names have been out of date this long
/// (without a reader connection: at open, and in unit tests).
const RELOAD_BUSY: Duration = Duration::from_secs(30);

/// Opens a connection to the store's file for reading every name off the writer thread.
pub(crate) type OpenReader = Arc<dyn Fn() -> rusqlite::Result<Connection> + Send + Sync>;

/// The domain names of a SQLite store, for checks.
pub(crate) struct SqliteNames {
    state: Mutex<State>,
    /// Where every name is read again after another writer's commits: on a connection of
    /// its own, off the writer thread, so that commits do not wait for it. `None`: in the
    /// writer thread under the write lock (at startup, and in unit tests).
    reader: Option<OpenReader>,
    /// Names answered from memory.
    answered: AtomicU64,
    /// Times every name was read.
    loads: AtomicU64,
}

impl std::fmt::Debug for SqliteNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteNames")
            .field("state", &self.state)
            .field("off_thread", &self.reader.is_some())
            .finish_non_exhaustive()
    }
}

/// Every name being read on another connection.
#[derive(Debug)]
struct Reading {
    /// The writer connection's `PRAGMA data_version` before the reading began: if it is
    /// the same when the names are installed, no other connection committed meanwhile.
    data_version: i64,
    /// The names this store's own commits wrote since, in order: the reading may have
    /// begun before or after each of them, and applying them again gives the same names.
    journal: Writes,
    result: mpsc::Receiver<rusqlite::Result<HashSet<Box<str>>>>,
}

#[derive(Debug)]
struct State {
    /// The header at which `existing` is exact; `None`: checks read SQLite.
    valid: Option<WalHeader>,
    existing: HashSet<Box<str>>,
    /// The writer connection's `PRAGMA data_version` when `valid` was set.
    data_version: i64,
    /// The earliest time to read every name again.
    next_load: Instant,
    backoff: Duration,
    /// When another writer's commit was last seen.
    last_foreign: Option<Instant>,
    /// When the names were last dropped.
    dropped: Instant,
    /// Every name being read off the writer thread.
    reading: Option<Reading>,
}

impl SqliteNames {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                valid: None,
                existing: HashSet::new(),
                data_version: 0,
                next_load: Instant::now(),
                backoff: RELOAD_FIRST,
                last_foreign: None,
                dropped: Instant::now(),
                reading: None,
            }),
            reader: None,
            answered: AtomicU64::new(0),
            loads: AtomicU64::new(0),
        }
    }

    /// Names read again on connections `open` makes, off the writer thread.
    pub(crate) fn with_reader(mut self, open: OpenReader) -> Self {
        self.reader = Some(open);
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    pub(crate) fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Whether checks are answered from memory at the current header.
    pub(crate) fn in_use(&self, header: Option<WalHeader>) -> bool {
        header.is_some() && self.state().valid == header
    }

    /// Each name's existence if `header`, read just before, is the one the names are exact
    /// at; `None` to read SQLite.
    pub(crate) fn answer<'n>(
        &self,
        header: &WalHeader,
        names: impl Iterator<Item = &'n str>,
    ) -> Option<Vec<bool>> {
        let s = self.state();
        if s.valid.as_ref() != Some(header) {
            return None;
        }
        let answers: Vec<bool> = names.map(|n| s.existing.contains(n)).collect();
        self.answered
            .fetch_add(answers.len() as u64, Ordering::Relaxed);
        Some(answers)
    }

    /// Writer thread, right after its COMMIT succeeded: `writes` are the names the batch's
    /// committed change sets added or removed, in order. `header` was read after the
    /// COMMIT, and `data_version` after the header: if no other connection committed before
    /// that, the header shows exactly the names with these writes applied.
    pub(crate) fn after_commit(
        &self,
        header: Option<WalHeader>,
        data_version: Option<i64>,
        writes: Writes,
    ) {
        let mut s = self.state();
        if let Some(r) = &mut s.reading {
            match data_version {
                Some(v) if v == r.data_version => r.journal.extend(writes),
                // Another connection committed: the reading may miss it.
                _ => {
                    s.reading = None;
                    s.foreign();
                }
            }
            return;
        }
        if s.valid.is_none() {
            return;
        }
        match (header, data_version) {
            (Some(h), Some(v)) if v == s.data_version => {
                apply(&mut s.existing, writes);
                s.valid = Some(h);
            }
            _ => s.foreign(),
        }
    }

    /// Writer thread: a COMMIT failed, so what the file holds is not known here.
    pub(crate) fn commit_failed(&self) {
        let mut s = self.state();
        // The journal cannot say what the failed COMMIT left.
        s.reading = None;
        s.valid = None;
        s.existing = HashSet::new();
        s.dropped = Instant::now();
    }

    /// Writer thread, between batches (`idle`: after a second without any): a header
    /// other than the recorded one is another writer's commit. Reads every name again
    /// when they are out of date and the backoff allows: off the writer thread when a
    /// reader is set (installing a finished reading here), otherwise here under the write
    /// lock once the writer is idle or the names have been out of date for
    /// [`RELOAD_BUSY`], since commits wait for it.
    pub(crate) fn refresh(
        &self,
        conn: &Connection,
        header: impl Fn() -> Option<WalHeader>,
        idle: bool,
    ) -> rusqlite::Result<()> {
        {
            let mut s = self.state();
            if s.valid.is_some() {
                if s.valid == header() {
                    return Ok(());
                }
                s.foreign();
            }
            if s.reading.is_some() {
                return self.install(&mut s, conn, header);
            }
            let now = Instant::now();
            if now < s.next_load {
                return Ok(());
            }
            if let Some(open) = &self.reader {
                return self.start_reading(&mut s, conn, open);
            }
            if !idle && now.duration_since(s.dropped) < RELOAD_BUSY {
                return Ok(());
            }
        }
        self.load(conn, header)
    }

    /// Starts reading every name on another connection, after noting `data_version`.
    fn start_reading(
        &self,
        s: &mut State,
        conn: &Connection,
        open: &OpenReader,
    ) -> rusqlite::Result<()> {
        let data_version = data_version(conn)?;
        let (done, result) = mpsc::channel();
        let open = Arc::clone(open);
        let spawned = std::thread::Builder::new()
            .name("epp-sqlite-names".into())
            .spawn(move || {
                let started = Instant::now();
                let names = open().and_then(|c| read_names(&c));
                if let Ok(names) = &names {
                    tracing::info!(
                        names = names.len(),
                        took_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                        "check cache: every domain name read again on a connection of its own"
                    );
                }
                let _ = done.send(names);
            });
        match spawned {
            Ok(_) => {
                s.reading = Some(Reading {
                    data_version,
                    journal: Vec::new(),
                    result,
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "check cache: cannot start reading the names");
                s.foreign();
            }
        }
        Ok(())
    }

    /// Installs a finished reading with this store's own writes since applied, if no other
    /// connection has committed since it began.
    fn install(
        &self,
        s: &mut State,
        conn: &Connection,
        header: impl Fn() -> Option<WalHeader>,
    ) -> rusqlite::Result<()> {
        let Some(reading) = s.reading.take() else {
            return Ok(());
        };
        let names = match reading.result.try_recv() {
            Err(TryRecvError::Empty) => {
                s.reading = Some(reading);
                return Ok(());
            }
            Ok(Ok(names)) => names,
            Ok(Err(e)) => {
                s.foreign();
                return Err(e);
            }
            Err(TryRecvError::Disconnected) => {
                s.foreign();
                return Ok(());
            }
        };
        // The header first, then `data_version`: unchanged since the reading began, the
        // header shows the reading's names with this store's writes since, and no other
        // connection's commit.
        let h = header();
        let version = data_version(conn)?;
        match h {
            Some(h) if version == reading.data_version => {
                let mut names = names;
                apply(&mut names, reading.journal);
                self.install_names(s, h, names, version);
            }
            _ => s.foreign(),
        }
        Ok(())
    }

    /// Checks answer from `names` while the header is `header`.
    fn install_names(
        &self,
        s: &mut State,
        header: WalHeader,
        names: HashSet<Box<str>>,
        data_version: i64,
    ) {
        s.valid = Some(header);
        s.existing = names;
        s.data_version = data_version;
        self.loads.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads every name while holding the write lock, so that nothing commits between the
    /// read, the header and `data_version`.
    fn load(
        &self,
        conn: &Connection,
        header: impl Fn() -> Option<WalHeader>,
    ) -> rusqlite::Result<()> {
        let started = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let read = (|| -> rusqlite::Result<(i64, HashSet<Box<str>>)> {
            let version = data_version(conn)?;
            Ok((version, read_names(conn)?))
        })();
        let h = header();
        let ended = conn.execute_batch(if read.is_ok() { "COMMIT" } else { "ROLLBACK" });
        let (version, names) = read?;
        ended?;
        // Commits waited meanwhile: the time says whether a slow commit was this.
        tracing::info!(
            names = names.len(),
            held_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "check cache: every domain name read again under the write lock"
        );
        let mut s = self.state();
        match h {
            Some(h) => self.install_names(&mut s, h, names, version),
            None => s.foreign(),
        }
        Ok(())
    }
}

/// Applies a batch's or a journal's writes, in order (each name's last write wins).
fn apply(names: &mut HashSet<Box<str>>, writes: Writes) {
    for (name, exists) in writes {
        if exists {
            names.insert(name);
        } else {
            names.remove(&name);
        }
    }
}

impl State {
    /// Another writer committed: the names are dropped, and read again after the backoff.
    fn foreign(&mut self) {
        let now = Instant::now();
        // A minute without other writers starts the backoff over.
        if self
            .last_foreign
            .is_none_or(|t| now.duration_since(t) >= RELOAD_MAX)
        {
            self.backoff = RELOAD_FIRST;
        }
        self.last_foreign = Some(now);
        self.valid = None;
        self.existing = HashSet::new();
        self.dropped = now;
        self.next_load = now + self.backoff;
        self.backoff = (self.backoff * 2).min(RELOAD_MAX);
    }
}

/// Every domain name, in one statement (one snapshot).
fn read_names(conn: &Connection) -> rusqlite::Result<HashSet<Box<str>>> {
    let mut names = HashSet::new();
    let mut stmt = conn.prepare_cached("SELECT name FROM domains")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        names.insert(Box::from(row.get_ref(0)?.as_str()?));
    }
    Ok(names)
}

/// The connection's `PRAGMA data_version`: changes when another connection commits.
pub(crate) fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn loaded(header: u8) -> (SqliteNames, Connection, i64) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE domains (name TEXT PRIMARY KEY); INSERT INTO domains VALUES ('a.no');",
        )
        .unwrap();
        let names = SqliteNames::new();
        names.refresh(&conn, || Some([header; 48]), true).unwrap();
        let version = data_version(&conn).unwrap();
        (names, conn, version)
    }

    fn ask(n: &SqliteNames, header: u8, name: &str) -> Option<bool> {
        n.answer(&[header; 48], std::iter::once(name)).map(|a| a[0])
    }

    #[test]
    fn answers_only_at_the_header_the_names_are_exact_at() {
        let (n, _conn, v) = loaded(1);
        assert_eq!(ask(&n, 1, "a.no"), Some(true));
        assert_eq!(ask(&n, 1, "b.no"), Some(false));
        // Another header (a commit not accounted for): read SQLite.
        assert_eq!(ask(&n, 2, "a.no"), None);
        // This store's own commit, with no other connection's before the header was read.
        n.after_commit(
            Some([2; 48]),
            Some(v),
            vec![(Box::from("b.no"), true), (Box::from("a.no"), false)],
        );
        assert_eq!(ask(&n, 1, "a.no"), None);
        assert_eq!(ask(&n, 2, "a.no"), Some(false));
        assert_eq!(ask(&n, 2, "b.no"), Some(true));
        assert_eq!(n.answered(), 4);
    }

    #[test]
    fn another_connections_commit_drops_the_names_until_the_backoff_has_passed() {
        let (n, conn, v) = loaded(1);
        // `data_version` moved: the header may show another writer's commit.
        n.after_commit(Some([2; 48]), Some(v + 1), Vec::new());
        assert_eq!(ask(&n, 2, "a.no"), None);
        // Too soon to read every name again.
        n.refresh(&conn, || Some([2; 48]), true).unwrap();
        assert_eq!(ask(&n, 2, "a.no"), None);
        assert_eq!(n.loads(), 1);
        // A header that could not be read, or a failed commit, drops them too.
        let (n, _conn, v) = loaded(1);
        n.after_commit(None, Some(v), Vec::new());
        assert_eq!(ask(&n, 1, "a.no"), None);
        let (n, _conn, _) = loaded(1);
        n.commit_failed();
        assert_eq!(ask(&n, 1, "a.no"), None);
    }

    #[test]
    fn a_busy_writer_reads_the_names_again_only_when_idle_or_after_a_while() {
        let (n, conn, v) = loaded(1);
        n.after_commit(Some([2; 48]), Some(v + 1), Vec::new());
        std::thread::sleep(RELOAD_FIRST + Duration::from_millis(100));
        // The backoff has passed, but the writer has change sets to commit.
        n.refresh(&conn, || Some([2; 48]), false).unwrap();
        assert_eq!((ask(&n, 2, "a.no"), n.loads()), (None, 1));
        // Idle: read now.
        n.refresh(&conn, || Some([2; 48]), true).unwrap();
        assert_eq!((ask(&n, 2, "a.no"), n.loads()), (Some(true), 2));
    }

    /// A store file with `a.no`, its writer connection, and names read off the writer
    /// thread on connections to the file.
    fn on_file() -> (tempfile::TempDir, Connection, SqliteNames) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("names.sqlite3");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE domains (name TEXT PRIMARY KEY); \
             INSERT INTO domains VALUES ('a.no');",
        )
        .unwrap();
        let open: OpenReader = Arc::new(move || Connection::open(&path));
        (dir, conn, SqliteNames::new().with_reader(open))
    }

    /// Refreshes between batches (at `header`) until the reading is over.
    fn until_read(n: &SqliteNames, conn: &Connection, header: u8) {
        for _ in 0..500 {
            n.refresh(conn, || Some([header; 48]), false).unwrap();
            if n.state().reading.is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the reading did not end");
    }

    #[test]
    fn off_the_writer_thread_the_names_come_with_the_stores_own_commits_made_meanwhile() {
        let (_dir, conn, n) = on_file();
        // The reading starts between batches; the writer goes on committing meanwhile.
        n.refresh(&conn, || Some([1; 48]), false).unwrap();
        assert!(n.state().reading.is_some());
        let v = data_version(&conn).unwrap();
        conn.execute_batch(
            "INSERT INTO domains VALUES ('b.no'); DELETE FROM domains WHERE name = 'a.no';",
        )
        .unwrap();
        n.after_commit(
            Some([2; 48]),
            Some(data_version(&conn).unwrap()),
            vec![(Box::from("b.no"), true), (Box::from("a.no"), false)],
        );
        assert_eq!(
            data_version(&conn).unwrap(),
            v,
            "own commits keep data_version"
        );
        until_read(&n, &conn, 3);
        assert_eq!(ask(&n, 3, "a.no"), Some(false));
        assert_eq!(ask(&n, 3, "b.no"), Some(true));
        assert_eq!(n.loads(), 1);
    }

    /// A reading started between batches, and another connection's commit of `c.no`
    /// while it runs.
    fn reading_with_a_foreign_commit() -> (tempfile::TempDir, Connection, SqliteNames) {
        let (dir, conn, n) = on_file();
        n.refresh(&conn, || Some([1; 48]), false).unwrap();
        let other = Connection::open(dir.path().join("names.sqlite3")).unwrap();
        other
            .execute_batch("INSERT INTO domains VALUES ('c.no');")
            .unwrap();
        (dir, conn, n)
    }

    #[test]
    fn off_the_writer_thread_another_connections_commit_meanwhile_discards_the_reading() {
        let (_dir, conn, n) = reading_with_a_foreign_commit();
        // Seen between batches, when the reading is installed: dropped, read again later.
        until_read(&n, &conn, 2);
        assert_eq!(ask(&n, 2, "c.no"), None);
        assert_eq!(n.loads(), 0);
        // Seen after a commit of this store's while the reading runs: dropped at once.
        let (_dir, conn, n) = reading_with_a_foreign_commit();
        n.after_commit(
            Some([2; 48]),
            Some(data_version(&conn).unwrap()),
            Vec::new(),
        );
        assert!(n.state().reading.is_none());
        n.refresh(&conn, || Some([2; 48]), false).unwrap();
        assert_eq!(ask(&n, 2, "c.no"), None);
        // A failed commit of this store's drops the reading too.
        let (_dir, conn, n) = on_file();
        n.refresh(&conn, || Some([1; 48]), false).unwrap();
        n.commit_failed();
        assert!(n.state().reading.is_none());
        assert_eq!(ask(&n, 1, "a.no"), None);
    }

    #[test]
    fn between_batches_a_moved_header_is_another_writer() {
        let (n, conn, _) = loaded(1);
        n.refresh(&conn, || Some([1; 48]), false).unwrap();
        assert_eq!(ask(&n, 1, "a.no"), Some(true));
        n.refresh(&conn, || Some([5; 48]), false).unwrap();
        assert_eq!(ask(&n, 5, "a.no"), None);
        assert_eq!(ask(&n, 1, "a.no"), None);
    }
}
