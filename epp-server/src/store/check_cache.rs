//! PostgreSQL: `<domain:check>` answered from memory while this process is the only writer
//! of the `domains` table (docs/check-cache.md).
//!
//! A check needs one fact per name: whether a row of `domains` has it. A process that
//! knows every name, and knows that nobody else can add or remove one, can answer that
//! exactly without a query. Two parts make that so:
//!
//! - [`CheckCache`] holds the names, and follows this process's own commits: a name with
//!   a commit in flight is read from the database until the commit has ended, and a name
//!   whose commits overlapped (or whose commit failed) is read from the database until a
//!   read made after it fills it in again.
//! - [`guard`] is a task with a connection of its own that holds the schema's advisory
//!   locks (migration 0003) while the cache is in use. Every other writer of `domains`
//!   (another server process, the admin command, `psql`) waits at its first such
//!   statement for the writer lock; the guard sees it waiting, turns the cache off and
//!   lets it go. It takes the locks again, and reads every name again, once it is the only
//!   server process on the schema and the writer lock is free.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use epp_session::store::{Change, ChangeSet};
use futures_util::StreamExt;
use tokio_postgres::{Client, Statement};

use super::postgres::connect;

/// How often the guard looks for a writer knocking while the cache is on: the longest
/// such a writer waits (plus the time to turn the cache off).
pub(crate) const POLL: Duration = Duration::from_millis(20);
/// How long after giving way the guard first tries to take the locks again; it doubles
/// while writers keep arriving, up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);
/// A holding at least this long resets the retry delay to [`RETRY_FIRST`].
const SETTLED: Duration = Duration::from_secs(60);

/// A name's answer from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cached {
    /// Known: whether a domain has the name.
    Known(bool),
    /// To be read from the database; the answer may be put back with [`CheckCache::fill`]
    /// with this generation.
    Unknown(u64),
    /// To be read from the database: a commit that writes it is in flight.
    InFlight,
}

/// The names of every domain, while this process is the only writer.
#[derive(Debug, Default)]
pub(crate) struct CheckCache {
    names: Mutex<Names>,
    /// Names answered from memory.
    answered: AtomicU64,
    /// Times the guard took the locks and read every name.
    loads: AtomicU64,
}

#[derive(Debug, Default)]
struct Names {
    state: State,
    existing: HashSet<Box<str>>,
    /// Names with commits in flight (kept in every state).
    flux: HashMap<Box<str>, Flux>,
    /// Names to read from the database, with the generation each was marked in.
    unknown: HashMap<Box<str>, u64>,
    /// Names that commits touched while the names were being read.
    touched: HashSet<Box<str>>,
    generation: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Every check reads the database.
    #[default]
    Off,
    /// The guard is taking the locks and reading the names; checks read the database.
    Loading,
    /// Checks are answered from memory.
    On,
}

#[derive(Debug, Default)]
struct Flux {
    commits: u32,
    /// Two commits of the name were in flight at once: which ended last in the database is
    /// not known here.
    overlapped: bool,
}

/// The domain names a change set adds (`true`) or removes (`false`), each once, with the
/// last change of the set for the name.
pub(crate) type Writes = Vec<(Box<str>, bool)>;

impl CheckCache {
    fn names(&self) -> MutexGuard<'_, Names> {
        self.names.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether checks are answered from memory now.
    pub(crate) fn is_on(&self) -> bool {
        self.names().state == State::On
    }

    /// Names answered from memory so far.
    pub(crate) fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }

    /// Times every name was read.
    pub(crate) fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// Each name's answer, or `None` when the cache is not in use.
    pub(crate) fn answer<'n>(&self, names: impl Iterator<Item = &'n str>) -> Option<Vec<Cached>> {
        let n = self.names();
        if n.state != State::On {
            return None;
        }
        let answers: Vec<Cached> = names
            .map(|name| {
                if n.flux.contains_key(name) {
                    Cached::InFlight
                } else if let Some(g) = n.unknown.get(name) {
                    Cached::Unknown(*g)
                } else {
                    Cached::Known(n.existing.contains(name))
                }
            })
            .collect();
        let known = answers
            .iter()
            .filter(|a| matches!(a, Cached::Known(_)))
            .count();
        self.answered.fetch_add(known as u64, Ordering::Relaxed);
        Some(answers)
    }

    /// Puts back a name read from the database by a query sent after [`answer`] gave
    /// `Cached::Unknown(generation)`: kept only if nothing wrote the name since.
    ///
    /// [`answer`]: Self::answer
    pub(crate) fn fill(&self, name: &str, generation: u64, exists: bool) {
        let mut n = self.names();
        if n.state != State::On
            || n.flux.contains_key(name)
            || n.unknown.get(name) != Some(&generation)
        {
            return;
        }
        if let Some((name, _)) = n.unknown.remove_entry(name) {
            if exists {
                n.existing.insert(name);
            } else {
                n.existing.remove(&name);
            }
        }
    }

    /// A commit writing these names is about to start; the names are read from the
    /// database until the returned value is ended (or dropped: a commit whose future was
    /// cancelled has an unknown outcome).
    pub(crate) fn begin(&self, writes: Writes) -> InFlight<'_> {
        if !writes.is_empty() {
            let mut n = self.names();
            for (name, _) in &writes {
                let f = n.flux.entry(name.clone()).or_default();
                f.commits += 1;
                if f.commits > 1 {
                    f.overlapped = true;
                }
                if n.state == State::Loading {
                    n.touched.insert(name.clone());
                }
            }
        }
        InFlight {
            cache: self,
            writes,
        }
    }

    fn end(&self, writes: Writes, committed: bool) {
        if writes.is_empty() {
            return;
        }
        let mut n = self.names();
        for (name, exists) in writes {
            if n.state == State::Loading {
                n.touched.insert(name.clone());
            }
            let Some(f) = n.flux.get_mut(&*name) else {
                continue;
            };
            f.commits -= 1;
            if f.commits > 0 {
                continue;
            }
            let overlapped = f.overlapped;
            n.flux.remove(&*name);
            if overlapped || !committed {
                n.mark_unknown(name);
            } else {
                n.unknown.remove(&*name);
                if exists {
                    n.existing.insert(name);
                } else {
                    n.existing.remove(&*name);
                }
            }
        }
    }

    /// The guard is about to take the locks: commits from now on are noted, as the names
    /// read may or may not show them.
    fn start_loading(&self) {
        let mut n = self.names();
        n.state = State::Loading;
        n.existing = HashSet::new();
        n.unknown = HashMap::new();
        n.touched = HashSet::new();
    }

    /// Every name, read after the locks were taken: the cache is in use. Names that
    /// commits touched meanwhile are read from the database until filled.
    fn loaded(&self, existing: HashSet<Box<str>>) {
        let mut n = self.names();
        if n.state != State::Loading {
            return;
        }
        n.existing = existing;
        for name in std::mem::take(&mut n.touched) {
            n.mark_unknown(name);
        }
        n.state = State::On;
        self.loads.fetch_add(1, Ordering::Relaxed);
    }

    /// Checks read the database again; the names are dropped.
    pub(crate) fn off(&self) {
        let mut n = self.names();
        n.state = State::Off;
        n.existing = HashSet::new();
        n.unknown = HashMap::new();
        n.touched = HashSet::new();
    }
}

/// A commit in flight ([`CheckCache::begin`]).
#[derive(Debug)]
pub(crate) struct InFlight<'c> {
    cache: &'c CheckCache,
    writes: Writes,
}

impl InFlight<'_> {
    /// The commit has ended: `committed` when the database confirmed it, `false` when it
    /// failed or its outcome is not known.
    pub(crate) fn end(mut self, committed: bool) {
        let writes = std::mem::take(&mut self.writes);
        self.cache.end(writes, committed);
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let writes = std::mem::take(&mut self.writes);
        self.cache.end(writes, false);
    }
}

impl Names {
    fn mark_unknown(&mut self, name: Box<str>) {
        self.generation += 1;
        let g = self.generation;
        self.existing.remove(&name);
        self.unknown.insert(name, g);
    }
}

/// The advisory lock keys of one schema (migration 0003).
#[derive(Debug, Clone, Copy)]
struct Keys {
    /// `hashtext` of the schema's name.
    schema: i32,
    token: i32,
}

impl Keys {
    /// The writer lock: every other writer of `domains` takes it shared.
    fn writer(self) -> i64 {
        i64::from(self.schema) << 32
    }

    /// This process's membership: held for the guard connection's life, so that server
    /// processes on the schema can count each other.
    fn member(self) -> i64 {
        self.writer() | i64::from(self.token)
    }

    /// `pg_locks.classid` of both bigint keys.
    fn class(self) -> u32 {
        self.schema as u32
    }
}

/// The guard of `cache`: runs until the store is dropped, reconnecting after errors.
/// `token` is the `epp.writer` setting of this process's connections.
pub(crate) async fn guard(config: tokio_postgres::Config, cache: Weak<CheckCache>, token: i32) {
    let mut retry = RETRY_FIRST;
    loop {
        let result = session(&config, &cache, token, &mut retry).await;
        let Some(c) = cache.upgrade() else {
            return;
        };
        c.off();
        drop(c);
        if let Err(e) = result {
            tracing::warn!(error = %e, "check cache: guard connection failed; checks read the database");
        }
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// One guard connection's life; `Ok` when the store was dropped.
async fn session(
    config: &tokio_postgres::Config,
    cache: &Weak<CheckCache>,
    token: i32,
    retry: &mut Duration,
) -> Result<(), tokio_postgres::Error> {
    let client = connect(config).await?;
    let schema: i32 = client
        .query_one(
            "SELECT hashtext(n.nspname) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = 'domains'::regclass",
            &[],
        )
        .await?
        .get(0);
    let keys = Keys { schema, token };
    // Prepared once: the knock is tried every POLL while the cache is on, and a statement
    // given as text is parsed and described again each time (two round trips, not one).
    let knock = client
        .prepare("SELECT pg_try_advisory_xact_lock($1, 0)")
        .await?;
    let member: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&keys.member()])
        .await?
        .get(0);
    if !member {
        // Another process drew the same token (one chance in a billion): this one keeps
        // reading the database.
        tracing::warn!("check cache: this process's token is in use; checks read the database");
        while cache.strong_count() > 0 {
            tokio::time::sleep(RETRY_MAX).await;
        }
        return Ok(());
    }
    let mut next_try = Instant::now();
    let mut held_since: Option<Instant> = None;
    loop {
        let Some(c) = cache.upgrade() else {
            return Ok(());
        };
        let waiting = match held_since {
            Some(_) => writer_waiting(&client, &knock, keys).await?,
            None => false,
        };
        match held_since {
            Some(since) if waiting => {
                c.off();
                release(&client, keys).await?;
                held_since = None;
                if since.elapsed() >= SETTLED {
                    *retry = RETRY_FIRST;
                }
                next_try = Instant::now() + *retry;
                tracing::info!(
                    retry_in = ?*retry,
                    "check cache: another writer of domains; checks read the database"
                );
                *retry = (*retry * 2).min(RETRY_MAX);
            }
            Some(_) => {}
            None if Instant::now() >= next_try => {
                next_try = Instant::now() + RETRY_FIRST;
                if members(&client, keys).await? == 1 {
                    if take(&client, &knock, config, &c, keys).await? {
                        held_since = Some(Instant::now());
                        tracing::info!(
                            names = c.names().existing.len(),
                            "check cache: this process is the only writer of domains; \
                             checks are answered from memory"
                        );
                    } else {
                        c.off();
                    }
                }
            }
            None => {}
        }
        drop(c);
        tokio::time::sleep(POLL).await;
    }
}

/// Takes the owner and writer locks and reads every name; `false` (with the locks given
/// back) when a lock is taken or a writer came while the names were read.
async fn take(
    client: &Client,
    knock: &Statement,
    config: &tokio_postgres::Config,
    cache: &CheckCache,
    keys: Keys,
) -> Result<bool, tokio_postgres::Error> {
    cache.start_loading();
    // The owner pair first: from then on this process's own statements pass, so they
    // cannot wait for the writer lock while the guard waits for them.
    let owner: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&keys.schema, &keys.token],
        )
        .await?
        .get(0);
    if !owner {
        return Ok(false);
    }
    let writer: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&keys.writer()])
        .await?
        .get(0);
    if !writer {
        client
            .execute(
                "SELECT pg_advisory_unlock($1, $2)",
                &[&keys.schema, &keys.token],
            )
            .await?;
        return Ok(false);
    }
    // Every name, read on a connection of its own while this one watches for writers.
    let load = read_names(config);
    tokio::pin!(load);
    loop {
        tokio::select! {
            names = &mut load => {
                match names {
                    Ok(names) => {
                        cache.loaded(names);
                        return Ok(true);
                    }
                    Err(e) => {
                        release(client, keys).await?;
                        return Err(e);
                    }
                }
            }
            () = tokio::time::sleep(POLL) => {
                if writer_waiting(client, knock, keys).await? {
                    release(client, keys).await?;
                    return Ok(false);
                }
            }
        }
    }
}

async fn read_names(
    config: &tokio_postgres::Config,
) -> Result<HashSet<Box<str>>, tokio_postgres::Error> {
    let client = connect(config).await?;
    let rows = client
        .query_raw("SELECT name FROM domains", std::iter::empty::<i32>())
        .await?;
    tokio::pin!(rows);
    let mut names = HashSet::new();
    while let Some(row) = rows.next().await {
        let row = row?;
        let name: &str = row.try_get(0)?;
        names.insert(Box::from(name));
    }
    Ok(names)
}

async fn release(client: &Client, keys: Keys) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "SELECT pg_advisory_unlock($1), pg_advisory_unlock($2, $3)",
            &[&keys.writer(), &keys.schema, &keys.token],
        )
        .await
        .map(drop)
}

/// Whether a writer holds the knock lock: one that went on to wait for the writer lock,
/// or (while the guard takes the locks) one in the middle of its transaction. A try of
/// the lock for the length of one statement: no `pg_locks` scan, which costs PostgreSQL
/// a view of every lock (the SERIALIZABLE transactions' predicate locks included).
async fn writer_waiting(
    client: &Client,
    knock: &Statement,
    keys: Keys,
) -> Result<bool, tokio_postgres::Error> {
    let free: bool = client.query_one(knock, &[&keys.schema]).await?.get(0);
    Ok(!free)
}

/// How many server processes' guards are connected to this schema (this one included).
async fn members(client: &Client, keys: Keys) -> Result<i64, tokio_postgres::Error> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND objsubid = 1 AND classid = $1 AND objid <> 0 AND granted",
            &[&keys.class()],
        )
        .await?
        .get(0))
}

/// The domain names `set` adds or removes, each with its last change in the set.
pub(crate) fn domain_writes(set: &ChangeSet) -> Writes {
    let mut out: Writes = Vec::new();
    for c in &set.changes {
        let (name, exists) = match c {
            Change::CreateDomain(d) => (d.name.as_str(), true),
            Change::DeleteDomain { name, .. } => (name.as_str(), false),
            _ => continue,
        };
        match out.iter_mut().find(|(n, _)| &**n == name) {
            Some(w) => w.1 = exists,
            None => out.push((Box::from(name), exists)),
        }
    }
    out
}

/// A new process token: 1 to 999 999 999 (what the trigger accepts as `epp.writer`).
pub(crate) fn new_token() -> i32 {
    let r = getrandom::u32().unwrap_or_else(|_| std::process::id());
    // 999_999_999 < i32::MAX.
    i32::try_from(r % 999_999_999).unwrap_or(0) + 1
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn on(names: &[&str]) -> CheckCache {
        let c = CheckCache::default();
        c.start_loading();
        c.loaded(names.iter().map(|n| Box::from(*n)).collect());
        c
    }

    fn writes(list: &[(&str, bool)]) -> Writes {
        list.iter().map(|(n, e)| (Box::from(*n), *e)).collect()
    }

    fn one(c: &CheckCache, name: &str) -> Cached {
        c.answer(std::iter::once(name)).unwrap()[0]
    }

    #[test]
    fn off_and_loading_answer_nothing() {
        let c = CheckCache::default();
        assert!(c.answer(std::iter::once("a.no")).is_none());
        c.start_loading();
        assert!(c.answer(std::iter::once("a.no")).is_none());
        c.loaded(HashSet::from([Box::from("a.no")]));
        assert_eq!(one(&c, "a.no"), Cached::Known(true));
        assert_eq!(one(&c, "b.no"), Cached::Known(false));
        assert_eq!(c.answered(), 2);
        c.off();
        assert!(c.answer(std::iter::once("a.no")).is_none());
    }

    #[test]
    fn a_commit_is_read_from_the_database_until_it_ends() {
        let c = on(&["old.no"]);
        let w = c.begin(writes(&[("new.no", true), ("old.no", false)]));
        assert_eq!(one(&c, "new.no"), Cached::InFlight);
        assert_eq!(one(&c, "old.no"), Cached::InFlight);
        w.end(true);
        assert_eq!(one(&c, "new.no"), Cached::Known(true));
        assert_eq!(one(&c, "old.no"), Cached::Known(false));
    }

    #[test]
    fn failed_and_overlapping_commits_leave_the_name_unknown_until_filled() {
        let c = on(&["x.no"]);
        // Dropped: a cancelled commit.
        drop(c.begin(writes(&[("y.no", true)])));
        let Cached::Unknown(g) = one(&c, "y.no") else {
            panic!("a failed commit's name is unknown");
        };
        c.fill("y.no", g, false);
        assert_eq!(one(&c, "y.no"), Cached::Known(false));

        // Delete and create of one name in flight at once.
        let del = c.begin(writes(&[("x.no", false)]));
        let add = c.begin(writes(&[("x.no", true)]));
        add.end(true);
        assert_eq!(one(&c, "x.no"), Cached::InFlight);
        del.end(true);
        let Cached::Unknown(g) = one(&c, "x.no") else {
            panic!("overlapping commits leave the name unknown");
        };
        // A read sent before a later write does not fill it.
        let again = c.begin(writes(&[("x.no", true)]));
        c.fill("x.no", g, false);
        assert_eq!(one(&c, "x.no"), Cached::InFlight);
        again.end(false);
        let Cached::Unknown(g2) = one(&c, "x.no") else {
            panic!("still unknown");
        };
        assert_ne!(g, g2);
        c.fill("x.no", g, true);
        assert_eq!(one(&c, "x.no"), Cached::Unknown(g2));
        c.fill("x.no", g2, true);
        assert_eq!(one(&c, "x.no"), Cached::Known(true));
    }

    #[test]
    fn commits_during_the_load_are_unknown_and_in_flight_ones_apply() {
        let c = CheckCache::default();
        let before = c.begin(writes(&[("early.no", true)]));
        c.start_loading();
        c.begin(writes(&[("during.no", true)])).end(true);
        // The read may or may not have seen either.
        c.loaded(HashSet::new());
        assert!(matches!(one(&c, "during.no"), Cached::Unknown(_)));
        assert_eq!(one(&c, "early.no"), Cached::InFlight);
        before.end(true);
        assert_eq!(one(&c, "early.no"), Cached::Known(true));
    }

    #[test]
    fn tokens_are_what_the_trigger_accepts() {
        for _ in 0..1000 {
            let t = new_token();
            assert!((1..=999_999_999).contains(&t), "{t}");
        }
    }
}
