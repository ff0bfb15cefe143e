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
//! After another writer's commit the names are read again, once the writer holds the write
//! lock (so that nothing can commit meanwhile), no sooner than a backoff allows.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
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
/// Reading every name holds the write lock, so it waits for the writer to be idle (no
/// change set for a second), unless the names have been out of date this long.
const RELOAD_BUSY: Duration = Duration::from_secs(30);

/// The domain names of a SQLite store, for checks.
#[derive(Debug)]
pub(crate) struct SqliteNames {
    state: Mutex<State>,
    /// Names answered from memory.
    answered: AtomicU64,
    /// Times every name was read.
    loads: AtomicU64,
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
            }),
            answered: AtomicU64::new(0),
            loads: AtomicU64::new(0),
        }
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
        if s.valid.is_none() {
            return;
        }
        match (header, data_version) {
            (Some(h), Some(v)) if v == s.data_version => {
                for (name, exists) in writes {
                    if exists {
                        s.existing.insert(name);
                    } else {
                        s.existing.remove(&name);
                    }
                }
                s.valid = Some(h);
            }
            _ => s.foreign(),
        }
    }

    /// Writer thread: a COMMIT failed, so what the file holds is not known here.
    pub(crate) fn commit_failed(&self) {
        let mut s = self.state();
        s.valid = None;
        s.existing = HashSet::new();
        s.dropped = Instant::now();
    }

    /// Writer thread, between batches (`idle`: after a second without any): a header
    /// other than the recorded one is another writer's commit. Reads every name again
    /// when they are out of date and the backoff allows, and the writer is idle or the
    /// names have been out of date for [`RELOAD_BUSY`]: the reading holds the write lock,
    /// and commits would wait for it.
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
            let now = Instant::now();
            if now < s.next_load || (!idle && now.duration_since(s.dropped) < RELOAD_BUSY) {
                return Ok(());
            }
        }
        self.load(conn, header)
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
            let mut names = HashSet::new();
            let mut stmt = conn.prepare_cached("SELECT name FROM domains")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                names.insert(Box::from(row.get_ref(0)?.as_str()?));
            }
            Ok((version, names))
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
            Some(h) => {
                s.valid = Some(h);
                s.existing = names;
                s.data_version = version;
                self.loads.fetch_add(1, Ordering::Relaxed);
            }
            None => s.foreign(),
        }
        Ok(())
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
