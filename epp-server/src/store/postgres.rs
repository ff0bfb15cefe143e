//! The PostgreSQL store: a small connection pool, every commit one SERIALIZABLE
//! transaction, retried when PostgreSQL reports a serialisation failure or deadlock.
//!
//! Nothing is assumed to be in-process: uniqueness comes from unique indexes, references
//! from foreign keys, ids from database sequences. Several server processes may share one
//! database.
//!
//! The pool is written here rather than taken from deadpool-postgres: it needs a fixed
//! maximum, lazy connects, a per-connection prepared-statement cache, and to drop a
//! connection that was left inside a transaction (a cancelled commit) instead of reusing
//! it. That is about a hundred lines; deadpool would add its runtime adapter and
//! configuration layer for features we do not use.

use std::collections::{HashMap, VecDeque};
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use bytes::BytesMut;
use epp_session::store::model::{
    Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery, LoginCheck,
    Notification, ObjectKey, PollSummary, PolledMessage, Registrar, ReplayRecord, Sequence,
    TransferToken,
};
use epp_session::store::{ChangeSet, CommitReceipt, ReadSet, ReadSetAnswer, Store, StoreError};
use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Password};
use tokio::sync::{Semaphore, SemaphorePermit, mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Statement};

use super::check_cache::{self, Cached, CheckCache, domain_writes};
use super::engine::Checks;
use super::error::OpenError;
use super::poll_cache::PollCache;
use super::sql::{Cell, Conn, DbError, Row, TxError, Value};
use super::{engine, migrate, read};

/// Settings of the PostgreSQL store.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// A libpq-style URL or key-value string, e.g. `postgres://epp@127.0.0.1:5432/registry`.
    /// TLS is not used: run the database on loopback or a private network.
    pub url: String,
    /// The most connections this process opens.
    pub pool_size: usize,
    /// The schema to keep the tables in (created if missing); `None` for the user's
    /// default search path. Lower-case letters, digits and `_` only.
    pub schema: Option<String>,
    /// How many times a commit runs before it gives up on serialisation failures.
    pub max_attempts: u32,
    /// How long to wait for a new connection.
    pub connect_timeout: Duration,
    /// The `application_name` the connections report (`pg_stat_activity`), so operators
    /// can tell server processes apart.
    pub application_name: String,
    /// How long a poll queue summary (`<msgQ>`) is shown without reading the queue again;
    /// zero reads it for every response. This process's own commits refresh it at once;
    /// other processes' commits show within this time.
    pub poll_summary_ttl: Duration,
    /// Answer `<domain:check>` from memory while this process is the only writer of the
    /// domains (docs/check-cache.md). Off for processes that only write now and then,
    /// such as the admin command: they would hold every name for nothing.
    pub check_cache: bool,
}

impl std::fmt::Debug for PostgresConfig {
    // The URL may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("pool_size", &self.pool_size)
            .field("schema", &self.schema)
            .field("max_attempts", &self.max_attempts)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("check_cache", &self.check_cache)
            .finish_non_exhaustive()
    }
}

impl PostgresConfig {
    /// The defaults for a URL: 16 connections, the default schema, 20 attempts, 5 s connect
    /// timeout, application name `epp-server`, poll summaries kept for 1 s, checks
    /// answered from memory when this process is the only writer.
    ///
    /// Twenty attempts: on small tables PostgreSQL scans whole relations, and its
    /// SERIALIZABLE predicate locks then make every concurrent create conflict with every
    /// other; 40 concurrent commits on a loaded 2-core machine once used up ten attempts.
    /// With the backoff's cap (51 ms from the eighth attempt) twenty attempts wait at most
    /// about 0.7 s in all.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 16,
            schema: None,
            max_attempts: 20,
            connect_timeout: Duration::from_secs(5),
            application_name: "epp-server".into(),
            poll_summary_ttl: super::poll_cache::DEFAULT_TTL,
            check_cache: true,
        }
    }

    fn driver_config(&self) -> Result<tokio_postgres::Config, OpenError> {
        let mut config: tokio_postgres::Config = self
            .url
            .parse()
            .map_err(|e| OpenError::InvalidConfig(format!("PostgreSQL URL: {e}")))?;
        if let Some(schema) = &self.schema {
            let valid = !schema.is_empty()
                && schema.len() <= 63
                && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && schema
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(OpenError::InvalidConfig(format!(
                    "schema name {schema:?}: use lower-case letters, digits and _"
                )));
            }
            add_setting(&mut config, &format!("search_path={schema}"));
        }
        config.connect_timeout(self.connect_timeout);
        config.application_name(&self.application_name);
        Ok(config)
    }
}

/// Counters of the PostgreSQL store's commits and batched reads by key, for metrics and
/// tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitStats {
    /// Transactions committed.
    pub commits: u64,
    /// Transactions run again after a serialisation failure or deadlock.
    pub retries: u64,
    /// Reads by key asked for (`domains_exist`, `domain`, `contact` and the like).
    pub lookups: u64,
    /// Queries that answered them (fewer when reads arrived together and were batched).
    pub lookup_queries: u64,
    /// Names of `<domain:check>` answered from memory (docs/check-cache.md).
    pub checks_from_memory: u64,
    /// Times every domain name was read into memory.
    pub name_loads: u64,
}

impl CommitStats {
    /// Names answered from memory, and full readings of the names (the check cache).
    pub(crate) fn check_cache_counts(&self) -> (u64, u64) {
        (self.checks_from_memory, self.name_loads)
    }
}

/// The PostgreSQL [`Store`]. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Pool>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool_size", &self.inner.size)
            .finish_non_exhaustive()
    }
}

struct Pool {
    config: tokio_postgres::Config,
    commits: AtomicU64,
    retries: AtomicU64,
    lookups: AtomicU64,
    lookup_queries: AtomicU64,
    /// Idle connections, by [`Plans`].
    idle: Mutex<[Vec<PgConn>; 2]>,
    /// Connections checked out, of either kind: at most `size`.
    permits: Semaphore,
    size: usize,
    max_attempts: u32,
    /// Commit attempts share it; a change set that has failed [`ALONE_AFTER`] attempts
    /// takes it alone (see [`PgStore::commit_attempts`]).
    gate: tokio::sync::RwLock<()>,
    polls: PollCache,
    /// Sequence numbers taken from the database and not handed out yet.
    blocks: Mutex<HashMap<Sequence, VecDeque<u64>>>,
    /// The read batchers (one per [`Lookup`]), started on first use.
    batchers: Mutex<[Option<mpsc::UnboundedSender<BatchRequest>>; CHANNELS]>,
    /// The query slots of each [`Lookup`] ([`BATCH_IN_FLIGHT`] each), shared by reads
    /// that find one free (they query at once) and the batchers.
    slots: [Arc<Semaphore>; CHANNELS],
    /// Domain names for checks, when configured; its guard task holds a weak reference.
    names: Option<Arc<CheckCache>>,
}

impl PgStore {
    /// Connects, creates the schema if configured and missing, applies pending
    /// migrations, and returns the store with its pool (connections open lazily).
    ///
    /// # Errors
    ///
    /// [`OpenError`] when the database cannot be reached or migrated.
    pub async fn connect(config: &PostgresConfig) -> Result<Self, OpenError> {
        migrate_postgres(config).await?;
        let size = config.pool_size.max(1);
        // This process's connections name it to the domains trigger (migration 0003).
        let token = check_cache::new_token();
        let mut driver = config.driver_config()?;
        add_setting(&mut driver, &format!("epp.writer={token}"));
        let names = config.check_cache.then(|| Arc::new(CheckCache::default()));
        if let Some(names) = &names {
            tokio::spawn(check_cache::guard(
                driver.clone(),
                Arc::downgrade(names),
                token,
            ));
        }
        Ok(Self {
            inner: Arc::new(Pool {
                config: driver,
                commits: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                gate: tokio::sync::RwLock::new(()),
                lookups: AtomicU64::new(0),
                lookup_queries: AtomicU64::new(0),
                idle: Mutex::new(Default::default()),
                permits: Semaphore::new(size),
                size,
                max_attempts: config.max_attempts.max(1),
                polls: PollCache::new(config.poll_summary_ttl),
                blocks: Mutex::new(HashMap::new()),
                batchers: Mutex::new(Default::default()),
                slots: std::array::from_fn(|_| Arc::new(Semaphore::new(BATCH_IN_FLIGHT))),
                names,
            }),
        })
    }

    /// What the store's commits have done so far.
    pub fn stats(&self) -> CommitStats {
        CommitStats {
            commits: self.inner.commits.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
            lookups: self.inner.lookups.load(Ordering::Relaxed),
            lookup_queries: self.inner.lookup_queries.load(Ordering::Relaxed),
            checks_from_memory: self.inner.names.as_ref().map_or(0, |n| n.answered()),
            name_loads: self.inner.names.as_ref().map_or(0, |n| n.loads()),
        }
    }

    /// Whether the check cache is configured (`[database] check_cache`).
    pub fn check_cache_enabled(&self) -> bool {
        self.inner.names.is_some()
    }

    /// Whether `<domain:check>` is answered from memory now: configured, and this process
    /// is the only writer of the domains (docs/check-cache.md).
    pub fn check_cache_in_use(&self) -> bool {
        self.inner.names.as_ref().is_some_and(|n| n.is_on())
    }

    /// A connection of the default kind ([`Plans::Auto`]).
    async fn conn(&self) -> Result<Pooled<'_>, StoreError> {
        self.conn_with(Plans::Auto).await
    }

    /// A connection whose statements are planned as `plans` says: an idle one of that
    /// kind, else an idle one of the other kind switched over (one `SET`), else a new one.
    async fn conn_with(&self, plans: Plans) -> Result<Pooled<'_>, StoreError> {
        let permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Unavailable("the connection pool is closed".into()))?;
        loop {
            let idle = {
                let mut idle = lock(&self.inner.idle);
                let other = plans.other() as usize;
                idle[plans as usize].pop().or_else(|| idle[other].pop())
            };
            match idle {
                Some(c) if c.client.is_closed() => continue,
                Some(mut c) => {
                    if c.plans != plans {
                        // A connection that cannot take the SET is gone: try the next.
                        if c.client.batch_execute(plans.switch_sql()).await.is_err() {
                            continue;
                        }
                        c.plans = plans;
                    }
                    return Ok(Pooled {
                        conn: Some(c),
                        pool: &self.inner,
                        _permit: permit,
                    });
                }
                None => break,
            }
        }
        let client = connect(&self.inner.config)
            .await
            .map_err(|e| StoreError::Unavailable(format!("PostgreSQL: {e}")))?;
        if plans != Plans::Auto {
            client
                .batch_execute(plans.switch_sql())
                .await
                .map_err(|e| StoreError::Unavailable(format!("PostgreSQL: {e}")))?;
        }
        Ok(Pooled {
            conn: Some(PgConn {
                client,
                statements: HashMap::new(),
                in_transaction: false,
                plans,
            }),
            pool: &self.inner,
            _permit: permit,
        })
    }

    /// Runs a change set once, letting the schema's constraints check references; when a
    /// foreign key refuses it, finds out which reference with a checking run.
    async fn attempt(&self, set: &ChangeSet) -> Result<CommitReceipt, TxError> {
        match self.transaction(set, Checks::Constraints, true).await {
            Err(TxError::Db(DbError::ForeignKey(_))) => {
                match self.transaction(set, Checks::Before, false).await {
                    // The references exist now (created meanwhile): run the set again.
                    Ok(_) => Err(TxError::Db(DbError::Serialization)),
                    Err(e) => Err(e),
                }
            }
            other => other,
        }
    }

    /// One SERIALIZABLE transaction applying the set, committed or rolled back.
    async fn transaction(
        &self,
        set: &ChangeSet,
        checks: Checks,
        commit: bool,
    ) -> Result<CommitReceipt, TxError> {
        let mut pooled = self.conn().await?;
        let conn = pooled.get()?;
        conn.batch("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .await
            .map_err(|e| match e {
                DbError::Connection(m) => DbError::Stale(m),
                other => other,
            })?;
        conn.in_transaction = true;
        let applied = engine::apply(conn, set, checks).await;
        let end = if commit && applied.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        let ended = conn.batch(end).await;
        // A COMMIT refused with 40001 has ended the transaction too.
        if ended.is_ok() || matches!(ended, Err(DbError::Serialization | DbError::Deadlock)) {
            conn.in_transaction = false;
        }
        let receipt = applied?;
        if commit {
            ended?;
        }
        Ok(receipt)
    }
}

/// Adds a `-c name=value` setting to the connection options (after the URL's own).
fn add_setting(config: &mut tokio_postgres::Config, setting: &str) {
    let options = match config.get_options() {
        Some(o) => format!("{o} -c {setting}"),
        None => format!("-c {setting}"),
    };
    config.options(options);
}

pub(super) async fn connect(
    config: &tokio_postgres::Config,
) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    // The connection task ends when the client is dropped or the server goes away; the
    // client then reports itself closed and the pool discards it.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Applies pending migrations (the admin command's entry point for PostgreSQL).
pub(crate) async fn migrate_postgres(
    config: &PostgresConfig,
) -> Result<migrate::MigrationReport, OpenError> {
    let driver = config.driver_config()?;
    let mut client = connect(&driver).await?;
    if let Some(schema) = &config.schema {
        // The name was checked to be a plain identifier.
        if let Err(e) = client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            && !migrate::is_concurrent_create(&e)
        {
            return Err(e.into());
        }
    }
    migrate::postgres(&mut client).await
}

/// Reads the schema status without creating or changing anything.
pub(crate) async fn status_postgres(
    config: &PostgresConfig,
) -> Result<migrate::SchemaStatus, OpenError> {
    let driver = config.driver_config()?;
    let client = connect(&driver).await?;
    if let Some(schema) = &config.schema {
        let found = client
            .query_opt(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = $1",
                &[schema],
            )
            .await?;
        if found.is_none() {
            return Ok(migrate::missing(true));
        }
    }
    migrate::postgres_status(&client).await
}

/// Runs one read on a pooled connection. Reads are idempotent, so one that finds its
/// connection gone (the server restarted, or ended the session) runs once more on a new
/// connection.
macro_rules! read_with {
    (@ $plans:expr; $self:ident, $f:path $(, $arg:expr)*) => {{
        let first = {
            let mut pooled = $self.conn_with($plans).await?;
            $f(pooled.get()? $(, $arg)*)
                .await
                .map_err(TxError::into_store_error)
        };
        match first {
            Err(StoreError::Unavailable(_)) => {
                let mut pooled = $self.conn_with($plans).await?;
                $f(pooled.get()? $(, $arg)*)
                    .await
                    .map_err(TxError::into_store_error)
            }
            other => other,
        }
    }};
    ($self:ident, $f:path $(, $arg:expr)*) => {
        read_with!(@ Plans::Auto; $self, $f $(, $arg)*)
    };
}

/// How many numbers one `allocate_id` round trip takes from a sequence.
const SEQUENCE_BLOCK: u64 = 32;

/// A block of sequence numbers, in the order the database handed them out.
async fn read_block<C: Conn>(conn: &mut C, sql: &'static str, n: i64) -> Result<Vec<u64>, TxError> {
    let rows = conn.query(sql, &[Value::Int(n)]).await?;
    rows.iter()
        .map(|r| r.u64(0).map_err(TxError::Rule))
        .collect()
}

/// The tables whose objects are read by key, alone or in batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Table {
    Domains,
    Contacts,
    Hosts,
}

impl Table {
    const ALL: [Self; 3] = [Self::Domains, Self::Contacts, Self::Hosts];

    /// The table and its key column.
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Self::Domains => ("domains", "name"),
            Self::Contacts => ("contacts", "id"),
            Self::Hosts => ("hosts", "name"),
        }
    }
}

/// What a batch asks of a table: which keys exist (`<check>`), or the objects themselves
/// (`<info>` and the reads of every transform).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Lookup {
    Exists(Table),
    Get(Table),
}

impl Lookup {
    const COUNT: usize = 6;

    fn index(self) -> usize {
        match self {
            Self::Exists(t) => t as usize,
            Self::Get(t) => 3 + t as usize,
        }
    }

    /// The lookup with index `i` (`< COUNT`).
    fn from_index(i: usize) -> Self {
        let t = Table::ALL[i % 3];
        if i < 3 { Self::Exists(t) } else { Self::Get(t) }
    }

    /// The query for a batch of keys: the key first, then version and data for `Get`.
    fn sql(self) -> &'static str {
        match self {
            Self::Exists(Table::Domains) => "SELECT name FROM domains WHERE name = ANY($1)",
            Self::Exists(Table::Contacts) => "SELECT id FROM contacts WHERE id = ANY($1)",
            Self::Exists(Table::Hosts) => "SELECT name FROM hosts WHERE name = ANY($1)",
            Self::Get(Table::Domains) => {
                "SELECT name, version, data FROM domains WHERE name = ANY($1)"
            }
            Self::Get(Table::Contacts) => {
                "SELECT id, version, data FROM contacts WHERE id = ANY($1)"
            }
            Self::Get(Table::Hosts) => "SELECT name, version, data FROM hosts WHERE name = ANY($1)",
        }
    }

    /// The same for one key (`= $1`: PostgreSQL plans it as the plain index lookup it is,
    /// where `= ANY($1)` costs a lone read about half as much again).
    fn single_sql(self) -> &'static str {
        match self {
            Self::Exists(Table::Domains) => "SELECT name FROM domains WHERE name = $1",
            Self::Exists(Table::Contacts) => "SELECT id FROM contacts WHERE id = $1",
            Self::Exists(Table::Hosts) => "SELECT name FROM hosts WHERE name = $1",
            Self::Get(Table::Domains) => "SELECT name, version, data FROM domains WHERE name = $1",
            Self::Get(Table::Contacts) => "SELECT id, version, data FROM contacts WHERE id = $1",
            Self::Get(Table::Hosts) => "SELECT name, version, data FROM hosts WHERE name = $1",
        }
    }

    /// The set of lookups in a mask (bit [`Lookup::index`]), in index order.
    fn in_mask(mask: usize) -> impl Iterator<Item = Self> {
        (0..Self::COUNT)
            .filter(move |i| mask & (1 << i) != 0)
            .map(Self::from_index)
    }

    /// The query for keys of several lookups at once (those in `mask`): one `= ANY($n)`
    /// per lookup, in index order, as a `UNION ALL` whose rows start with the lookup's
    /// index, then the key, version and data (0 and empty for `Exists`).
    fn mixed_sql(mask: usize) -> &'static str {
        static ALL: OnceLock<Vec<String>> = OnceLock::new();
        let all = ALL.get_or_init(|| {
            (0..1 << Self::COUNT)
                .map(|mask| {
                    Self::in_mask(mask)
                        .enumerate()
                        .map(|(n, lookup)| {
                            let (table, key) = match lookup {
                                Self::Exists(t) | Self::Get(t) => t.sql(),
                            };
                            let values = match lookup {
                                Self::Exists(_) => "0::int8, ''::text",
                                Self::Get(_) => "version, data",
                            };
                            format!(
                                "SELECT {}::int2, {key}, {values} FROM {table} WHERE {key} = ANY(${})",
                                lookup.index(),
                                n + 1
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" UNION ALL ")
                })
                .collect()
        });
        &all[mask & ((1 << Self::COUNT) - 1)]
    }
}

/// A stored object's version and JSON data (0 and empty for `Exists`).
type Stored = (u64, String);

/// One key of a read, with what is asked of it.
type Key = (Lookup, String);

/// The stored keys of a batch.
type Found = HashMap<(Lookup, String), Stored>;

/// For each key of a read, what is stored.
type Answer = Result<Vec<Option<Stored>>, StoreError>;

/// One read's keys, waiting for a batch.
struct BatchRequest {
    keys: Vec<Key>,
    reply: oneshot::Sender<Answer>,
}

/// How many batch queries of one kind run at once; reads arriving meanwhile wait and
/// form the next batch. Fewer queries in flight make bigger batches: in the check storm
/// (docs/BENCHMARKS.md) 4 gave 25 k checks/s, 2 gave 34 k and 1 gave 35 k; two keep one
/// slow query from holding up every read of its kind.
const BATCH_IN_FLIGHT: usize = 2;

/// The most keys one batch query asks for.
const BATCH_MAX_KEYS: usize = 1024;

/// The read channels: one per [`Lookup`] for reads of one kind, and one for read sets
/// of several kinds ([`MIXED`]).
const CHANNELS: usize = Lookup::COUNT + 1;

/// The channel of read sets that span several lookups.
const MIXED: usize = Lookup::COUNT;

/// The channel of a read's keys: its lookup's own when they share one, else [`MIXED`].
fn channel(keys: &[Key]) -> usize {
    match keys.split_first() {
        Some(((first, _), rest)) if rest.iter().all(|(l, _)| l == first) => first.index(),
        _ => MIXED,
    }
}

/// Reads by key (the existence checks of `<check>`, single objects by name or id, and a
/// transform's read set): the keys of every such read waiting at the moment go to
/// PostgreSQL in one query (`= ANY($1)`, or a `UNION ALL` of such for a read set that
/// spans tables), at most [`BATCH_IN_FLIGHT`] such queries at once per channel (each
/// [`Lookup`], and read sets). A read that finds a query slot free runs its query at once.
///
/// A check storm otherwise costs one round trip per name, and where the database shares
/// the CPUs with the server that bounds it at PostgreSQL's per-query cost plus the
/// driver's per-query work in the server (docs/BENCHMARKS.md). A lone read goes out at
/// once, as before; under load a batch grows with the queue, so the per-query cost is
/// shared. Each answer comes from a query that started after its read was asked for, so
/// it is as fresh as a query of its own; reads were never one snapshot across calls.
impl PgStore {
    async fn exist<'k>(
        &self,
        table: Table,
        keys: impl Iterator<Item = &'k str>,
    ) -> Result<Vec<bool>, StoreError> {
        let lookup = Lookup::Exists(table);
        let found = self
            .lookup(keys.map(|k| (lookup, k.to_owned())).collect())
            .await?;
        Ok(found.iter().map(Option::is_some).collect())
    }

    /// One object by key, parsed with `parse(data, version)`.
    async fn get<T>(
        &self,
        table: Table,
        key: &str,
        parse: impl FnOnce(&str, u64) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let found = self
            .lookup(vec![(Lookup::Get(table), key.to_owned())])
            .await?;
        match found.into_iter().next().flatten() {
            Some((version, data)) => parse(&data, version).map(Some),
            None => Ok(None),
        }
    }

    /// For each key, its version and data if stored.
    async fn lookup(&self, keys: Vec<Key>) -> Answer {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let channel = channel(&keys);
        self.inner.lookups.fetch_add(1, Ordering::Relaxed);
        // A free query slot (no read of this kind waits): query at once, without the
        // batcher's hops. Reads arriving meanwhile find the slots taken and are batched.
        if let Ok(_slot) = self.inner.slots[channel].clone().try_acquire_owned() {
            return self.lookup_now(&keys).await;
        }
        let (reply, answer) = oneshot::channel();
        let mut request = BatchRequest { keys, reply };
        if let Some(batcher) = self.batcher(channel) {
            match batcher.send(request) {
                Ok(()) => {
                    return answer
                        .await
                        .map_err(|_| StoreError::Unavailable("the read batcher stopped".into()))?;
                }
                // The batcher's runtime is gone: start another on next use, and answer
                // this one directly.
                Err(mpsc::error::SendError(r)) => {
                    lock(&self.inner.batchers)[channel] = None;
                    request = r;
                }
            }
        }
        self.lookup_now(&request.keys).await
    }

    /// The channel's batcher, started on this runtime if there is none running.
    fn batcher(&self, channel: usize) -> Option<mpsc::UnboundedSender<BatchRequest>> {
        let mut batchers = lock(&self.inner.batchers);
        let slot = &mut batchers[channel];
        if let Some(tx) = slot
            && !tx.is_closed()
        {
            return Some(tx.clone());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let slots = self.inner.slots[channel].clone();
        runtime.spawn(batch_loop(Arc::downgrade(&self.inner), slots, rx));
        *slot = Some(tx.clone());
        Some(tx)
    }

    /// The stored keys among `keys` with their version and data, in one query (run again
    /// once on a connection found closed, as every read).
    async fn batch_query(&self, keys: &[(Lookup, &str)]) -> Result<Found, StoreError> {
        self.inner.lookup_queries.fetch_add(1, Ordering::Relaxed);
        read_with!(@ Plans::Generic; self, query_keys, keys)
    }

    /// Answers a read at once, in a query of its own.
    async fn lookup_now(&self, keys: &[Key]) -> Answer {
        let refs: Vec<(Lookup, &str)> = keys.iter().map(|(l, k)| (*l, k.as_str())).collect();
        let found = self.batch_query(&refs).await?;
        Ok(answers(keys, &found))
    }
}

/// The stored keys among `keys`: `= $1` for one key, `= ANY($1)` for several keys of one
/// lookup, a `UNION ALL` of those for keys of several ([`Lookup::mixed_sql`]).
async fn query_keys(conn: &mut PgConn, keys: &[(Lookup, &str)]) -> Result<Found, TxError> {
    let Some(&(first, _)) = keys.first() else {
        return Ok(Found::new());
    };
    let mask = keys.iter().fold(0usize, |m, (l, _)| m | 1 << l.index());
    let mut found = Found::with_capacity(keys.len());
    if mask == 1 << first.index() {
        let rows = match keys {
            [(_, one)] => {
                let stmt = conn.statement(first.single_sql()).await?;
                conn.client.query(&stmt, &[one]).await
            }
            _ => {
                let stmt = conn.statement(first.sql()).await?;
                let all: Vec<&str> = keys.iter().map(|(_, k)| *k).collect();
                conn.client.query(&stmt, &[&all]).await
            }
        }
        .map_err(map_error)?;
        for row in &rows {
            let key: String = row.try_get(0).map_err(map_error)?;
            found.insert((first, key), stored(row, first, 1)?);
        }
        return Ok(found);
    }
    let arrays: Vec<Vec<&str>> = Lookup::in_mask(mask)
        .map(|lookup| {
            keys.iter()
                .filter(|(l, _)| *l == lookup)
                .map(|(_, k)| *k)
                .collect()
        })
        .collect();
    let params: Vec<&(dyn ToSql + Sync)> =
        arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
    let stmt = conn.statement(Lookup::mixed_sql(mask)).await?;
    let rows = conn.client.query(&stmt, &params).await.map_err(map_error)?;
    for row in &rows {
        let index: i16 = row.try_get(0).map_err(map_error)?;
        let lookup = usize::try_from(index)
            .ok()
            .filter(|&i| i < Lookup::COUNT)
            .map(Lookup::from_index)
            .ok_or_else(|| DbError::Other(format!("read set row of lookup {index}")))?;
        let key: String = row.try_get(1).map_err(map_error)?;
        found.insert((lookup, key), stored(row, lookup, 2)?);
    }
    Ok(found)
}

/// What a row stores for the lookup: for `Get`, the version and data in columns `at` and
/// `at + 1`; for `Exists`, 0 and nothing.
fn stored(row: &tokio_postgres::Row, lookup: Lookup, at: usize) -> Result<Stored, DbError> {
    if let Lookup::Exists(_) = lookup {
        return Ok((0, String::new()));
    }
    let version: i64 = row.try_get(at).map_err(map_error)?;
    let version = u64::try_from(version)
        .map_err(|_| DbError::Other(format!("negative version {version}")))?;
    Ok((version, row.try_get(at + 1).map_err(map_error)?))
}

/// For each key of a read (repeated keys too), what the batch found.
fn answers(keys: &[Key], found: &Found) -> Vec<Option<Stored>> {
    keys.iter().map(|k| found.get(k).cloned()).collect()
}

/// Takes the reads waiting in the queue as one batch whenever a query slot is free. Ends
/// when the store is dropped (the queue's senders go with it).
async fn batch_loop(
    pool: Weak<Pool>,
    slots: Arc<Semaphore>,
    mut queue: mpsc::UnboundedReceiver<BatchRequest>,
) {
    while let Some(first) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut keys = first.keys.len();
        let mut batch = vec![first];
        while keys < BATCH_MAX_KEYS {
            match queue.try_recv() {
                Ok(r) => {
                    keys += r.keys.len();
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        let Some(pool) = pool.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let _slot = slot;
            let store = PgStore { inner: pool };
            let mut all: Vec<(Lookup, &str)> = batch
                .iter()
                .flat_map(|r| r.keys.iter().map(|(l, k)| (*l, k.as_str())))
                .collect();
            all.sort_unstable_by(|a, b| (a.0.index(), a.1).cmp(&(b.0.index(), b.1)));
            all.dedup();
            let found = store.batch_query(&all).await;
            for r in batch {
                let answer = match &found {
                    Ok(found) => Ok(answers(&r.keys, found)),
                    Err(e) => Err(e.clone()),
                };
                // A reader that went away (its connection closed) needs no answer.
                let _ = r.reply.send(answer);
            }
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Idle connections stay valid whatever a panicking holder did.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connection with its prepared statements.
struct PgConn {
    client: Client,
    statements: HashMap<(usize, usize), Statement>,
    /// Set while a transaction is open: a connection dropped in that state (its commit
    /// future was cancelled) is closed, not returned to the pool.
    in_transaction: bool,
    /// How its statements are planned.
    plans: Plans,
}

/// How a connection's prepared statements are planned (PostgreSQL's `plan_cache_mode`).
///
/// Under the default, `auto`, PostgreSQL plans a prepared statement for its parameters'
/// values (a custom plan) for the first five executions, and from then on uses the
/// generic plan unless that is estimated to cost more. For the reads by key, `= ANY($1)`
/// on a populated table, it is: the generic plan assumes ten keys, a custom plan counts
/// them. So each execution was planned again: 18 % of PostgreSQL's samples in a check
/// storm. Those reads run on connections that always use the generic plan, planned once
/// per connection (PostgreSQL's CPU per check 12 % less, per create 9 % less:
/// docs/BENCHMARKS.md); every other statement keeps the default, where a range
/// (`ex_date < $1`, `created < $1`) gets the plan its value needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plans {
    /// `plan_cache_mode` as the URL, role or database sets it (`auto` unless set): what
    /// a connection has when opened, and again after `RESET`.
    Auto = 0,
    /// `force_generic_plan`: the reads by key ([`query_keys`]).
    Generic = 1,
}

impl Plans {
    fn other(self) -> Self {
        match self {
            Self::Auto => Self::Generic,
            Self::Generic => Self::Auto,
        }
    }

    /// Switches a connection of the other kind to this one.
    fn switch_sql(self) -> &'static str {
        match self {
            Self::Auto => "RESET plan_cache_mode",
            Self::Generic => "SET plan_cache_mode = force_generic_plan",
        }
    }
}

/// A connection checked out of the pool; returned on drop if it is reusable.
struct Pooled<'a> {
    conn: Option<PgConn>,
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>,
}

impl Pooled<'_> {
    fn get(&mut self) -> Result<&mut PgConn, StoreError> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("connection already returned".into()))
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && !c.in_transaction
            && !c.client.is_closed()
        {
            lock(&self.pool.idle)[c.plans as usize].push(c);
        }
    }
}

fn map_error(e: tokio_postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return if *code == SqlState::UNIQUE_VIOLATION {
            DbError::Unique(db.to_string())
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
            DbError::ForeignKey(db.to_string())
        } else if *code == SqlState::T_R_SERIALIZATION_FAILURE {
            DbError::Serialization
        } else if *code == SqlState::T_R_DEADLOCK_DETECTED {
            DbError::Deadlock
        } else if code.code().starts_with("08")
            || code.code().starts_with("57P")
            || db.severity() == "FATAL"
        {
            // Connection exceptions, and the server ending the session (shutdown,
            // pg_terminate_backend): the connection is gone.
            DbError::Connection(db.to_string())
        } else {
            DbError::Other(db.to_string())
        };
    }
    if e.is_closed() || e.code().is_none() {
        DbError::Connection(e.to_string())
    } else {
        DbError::Other(e.to_string())
    }
}

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) if *ty == Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
            Value::Int(n) if *ty == Type::INT2 => i16::try_from(n)?.to_sql(ty, out),
            Value::Int(n) => n.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
            Value::Bytes(b) => b.to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn cells(row: &tokio_postgres::Row) -> Result<Row, DbError> {
    let bad = |e: tokio_postgres::Error| DbError::Other(e.to_string());
    let mut out = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let cell = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)
                .map_err(bad)?
                .map(Cell::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)
                .map_err(bad)?
                .map(|n| Cell::Int(n.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)
                .map_err(bad)?
                .map(|n| Cell::Int(n.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)
                .map_err(bad)?
                .map(Cell::Bool)
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)
                .map_err(bad)?
                .map(Cell::Bytes)
        } else if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::NAME {
            row.try_get::<_, Option<String>>(i)
                .map_err(bad)?
                .map(Cell::Text)
        } else {
            return Err(DbError::Other(format!("unexpected column type {ty}")));
        };
        out.push(cell.unwrap_or(Cell::Null));
    }
    Ok(Row(out))
}

impl PgConn {
    async fn statement(&mut self, sql: &'static str) -> Result<Statement, DbError> {
        let key = (sql.as_ptr() as usize, sql.len());
        if let Some(s) = self.statements.get(&key) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await.map_err(map_error)?;
        self.statements.insert(key, s.clone());
        Ok(s)
    }

    async fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        self.client.batch_execute(sql).await.map_err(map_error)
    }
}

fn refs<'a>(params: &'a [Value<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Conn for PgConn {
    async fn query(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
    ) -> Result<Vec<Row>, DbError> {
        let stmt = self.statement(sql).await?;
        let rows = self
            .client
            .query(&stmt, &refs(params))
            .await
            .map_err(map_error)?;
        rows.iter().map(cells).collect()
    }

    async fn execute(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<u64, DbError> {
        let stmt = self.statement(sql).await?;
        self.client
            .execute(&stmt, &refs(params))
            .await
            .map_err(map_error)
    }
}

/// Failed attempts after which a change set's next attempts run alone in this process.
const ALONE_AFTER: u32 = 4;

/// Sleeps a random time that grows with the attempt, so retried transactions spread out.
async fn backoff(attempt: u32) {
    let cap_micros = 200u64 << attempt.min(8);
    let jitter = getrandom::u64().unwrap_or(u64::from(attempt) * 7919) % cap_micros;
    tokio::time::sleep(Duration::from_micros(jitter)).await;
}

impl Store for PgStore {
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
        self.get(Table::Domains, name.as_str(), Domain::from_json)
            .await
    }

    async fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        self.get(Table::Contacts, id.as_str(), Contact::from_json)
            .await
    }

    async fn host(&self, name: &HostName) -> Result<Option<Host>, StoreError> {
        self.get(Table::Hosts, name.as_str(), Host::from_json).await
    }

    async fn domains_exist(&self, names: &[DomainName]) -> Result<Vec<bool>, StoreError> {
        let cached = (self.inner.names.as_ref())
            .and_then(|c| Some((c, c.answer(names.iter().map(DomainName::as_str))?)));
        let Some((cache, cached)) = cached else {
            return self
                .exist(Table::Domains, names.iter().map(DomainName::as_str))
                .await;
        };
        // The names the cache cannot answer, from one read sent after it was asked.
        let misses: Vec<&str> = (names.iter().zip(&cached))
            .filter(|(_, c)| !matches!(c, Cached::Known(_)))
            .map(|(n, _)| n.as_str())
            .collect();
        let mut read = if misses.is_empty() {
            Vec::new()
        } else {
            self.exist(Table::Domains, misses.iter().copied()).await?
        }
        .into_iter();
        Ok(names
            .iter()
            .zip(cached)
            .map(|(name, c)| match c {
                Cached::Known(exists) => exists,
                Cached::Unknown(generation) => {
                    let exists = read.next().unwrap_or(false);
                    cache.fill(name.as_str(), generation, exists);
                    exists
                }
                Cached::InFlight => read.next().unwrap_or(false),
            })
            .collect())
    }

    async fn contacts_exist(&self, ids: &[ContactId]) -> Result<Vec<bool>, StoreError> {
        self.exist(Table::Contacts, ids.iter().map(ContactId::as_str))
            .await
    }

    async fn hosts_exist(&self, names: &[HostName]) -> Result<Vec<bool>, StoreError> {
        self.exist(Table::Hosts, names.iter().map(HostName::as_str))
            .await
    }

    /// One query for the whole set (and for the sets of other sessions waiting with it).
    async fn read_set(&self, reads: ReadSet<'_>) -> ReadSetAnswer {
        let keys: Vec<Key> = (reads.domains_exist.iter())
            .map(|n| (Lookup::Exists(Table::Domains), n.as_str().to_owned()))
            .chain(
                (reads.contacts.iter())
                    .map(|id| (Lookup::Get(Table::Contacts), id.as_str().to_owned())),
            )
            .chain(
                (reads.hosts_exist.iter())
                    .map(|n| (Lookup::Exists(Table::Hosts), n.as_str().to_owned())),
            )
            .collect();
        let (d, c) = (reads.domains_exist.len(), reads.contacts.len());
        match self.lookup(keys).await {
            Ok(found) => ReadSetAnswer {
                domains_exist: Ok(found[..d].iter().map(Option::is_some).collect()),
                contacts: (found[d..d + c].iter())
                    .map(|f| {
                        f.as_ref()
                            .map(|(version, data)| Contact::from_json(data, *version))
                            .transpose()
                    })
                    .collect(),
                hosts_exist: Ok(found[d + c..].iter().map(Option::is_some).collect()),
            },
            Err(e) => ReadSetAnswer {
                domains_exist: Err(e.clone()),
                contacts: vec![Err(e.clone()); c],
                hosts_exist: Err(e),
            },
        }
    }

    async fn is_linked(&self, object: &ObjectKey) -> Result<bool, StoreError> {
        read_with!(self, read::is_linked, object)
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

    /// Numbers come from the database sequence 32 at a time (`SEQUENCE_BLOCK`: one round
    /// trip per block instead of one per create), kept in order per process; several
    /// processes take disjoint numbers, interleaved.
    async fn allocate_id(&self, sequence: Sequence) -> Result<u64, StoreError> {
        if let Some(n) = lock(&self.inner.blocks)
            .get_mut(&sequence)
            .and_then(VecDeque::pop_front)
        {
            return Ok(n);
        }
        let sql = match sequence {
            Sequence::ContactId => {
                "SELECT nextval('seq_contact_id') FROM generate_series(1, $1::int8)"
            }
            Sequence::ContactRoid => {
                "SELECT nextval('seq_contact_roid') FROM generate_series(1, $1::int8)"
            }
            Sequence::DomainRoid => {
                "SELECT nextval('seq_domain_roid') FROM generate_series(1, $1::int8)"
            }
            Sequence::HostRoid => {
                "SELECT nextval('seq_host_roid') FROM generate_series(1, $1::int8)"
            }
        };
        let block = i64::try_from(SEQUENCE_BLOCK).unwrap_or(1);
        let rows = read_with!(self, read_block, sql, block)?;
        let mut numbers = rows.into_iter();
        let first = numbers
            .next()
            .ok_or_else(|| StoreError::Database("nextval returned no row".into()))?;
        lock(&self.inner.blocks)
            .entry(sequence)
            .or_default()
            .extend(numbers);
        Ok(first)
    }

    async fn commit(&self, mut changes: ChangeSet) -> Result<CommitReceipt, StoreError> {
        if changes.has_clear_passwords() {
            changes = super::hash_off_thread(changes).await?;
        }
        let polls = PollCache::touched_by(&changes);
        let in_flight = (self.inner.names.as_ref()).map(|c| c.begin(domain_writes(&changes)));
        let result = self.commit_attempts(&changes).await;
        self.inner.polls.invalidate(polls);
        if let Some(names) = in_flight {
            names.end(result.is_ok());
        }
        result
    }
}

impl PgStore {
    /// Commits `changes`, again after a serialisation failure or deadlock. On small tables
    /// PostgreSQL's predicate locks cover whole relations or index pages, so concurrent
    /// creates keep aborting each other, and one change set could lose every time (the
    /// smoke test once saw 20 attempts used up by four sessions). So after
    /// [`ALONE_AFTER`] failed attempts (and for its last attempt) a change set waits for
    /// this process's other attempts to end and runs alone (the gate is fair: attempts that
    /// come later wait for it); only other processes' transactions can still abort it.
    async fn commit_attempts(&self, changes: &ChangeSet) -> Result<CommitReceipt, StoreError> {
        let attempts = self.inner.max_attempts;
        let mut alone = None;
        for attempt in 1..=attempts {
            let shared = match alone {
                None => Some(self.inner.gate.read().await),
                Some(_) => None,
            };
            let result = self.attempt(changes).await;
            drop(shared);
            match result {
                Ok(receipt) => {
                    self.inner.commits.fetch_add(1, Ordering::Relaxed);
                    return Ok(receipt);
                }
                Err(TxError::Db(e)) if e.is_transient() => {
                    self.inner.retries.fetch_add(1, Ordering::Relaxed);
                    // Alone after ALONE_AFTER failures, and for the last attempt in any case.
                    if alone.is_none() && (attempt >= ALONE_AFTER || attempt + 1 == attempts) {
                        alone = Some(self.inner.gate.write().await);
                    } else {
                        backoff(attempt).await;
                    }
                }
                Err(e) => return Err(e.into_store_error()),
            }
        }
        Err(StoreError::Contention { attempts })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::future::Future;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Runs `f` on a store in a fresh schema (dropped after), with `options` in the URL's
    /// connection options; skipped (with a notice) without `EPP_TEST_PG_URL`.
    fn with_store<F: Future<Output = ()>>(
        pool_size: usize,
        options: Option<&str>,
        f: impl FnOnce(PgStore) -> F,
    ) {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let url = match std::env::var("EPP_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                eprintln!("skipping PostgreSQL store test: EPP_TEST_PG_URL is not set");
                return;
            }
        };
        let schema = format!(
            "plans_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut config = PostgresConfig::new(url.clone());
            if let Some(options) = options {
                // Carry the options in the store's own configuration.
                config.url = format!(
                    "{url}{}options={}",
                    if url.contains('?') { "&" } else { "?" },
                    options.replace(' ', "%20").replace('=', "%3D")
                );
            }
            config.schema = Some(schema.clone());
            config.pool_size = pool_size;
            let store = PgStore::connect(&config).await.unwrap();
            f(store).await;
            let client = connect(&url.parse().unwrap()).await.unwrap();
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
        });
    }

    async fn show_plan_cache_mode(store: &PgStore, plans: Plans) -> String {
        let mut pooled = store.conn_with(plans).await.unwrap();
        let conn = pooled.get().unwrap();
        let row = conn
            .client
            .query_one("SHOW plan_cache_mode", &[])
            .await
            .unwrap();
        row.get(0)
    }

    #[test]
    fn reads_by_key_are_planned_once_per_connection() {
        with_store(4, None, |store| async move {
            // One read at a time: each takes the free query slot and the same connection.
            for n in 2..14 {
                let keys: Vec<String> = (0..n).map(|i| format!("k{i}.no")).collect();
                let found = store
                    .exist(Table::Domains, keys.iter().map(String::as_str))
                    .await
                    .unwrap();
                assert_eq!(found, vec![false; n]);
            }
            let mut pooled = store.conn_with(Plans::Generic).await.unwrap();
            let conn = pooled.get().unwrap();
            let row = conn
                .client
                .query_one(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
                     WHERE statement = $1",
                    &[&Lookup::Exists(Table::Domains).sql()],
                )
                .await
                .unwrap();
            let (generic, custom): (i64, i64) = (row.get(0), row.get(1));
            // Under `auto` the first five are custom plans, and on a populated table all.
            assert_eq!((generic, custom), (12, 0));
            drop(pooled);
            assert_eq!(
                show_plan_cache_mode(&store, Plans::Generic).await,
                "force_generic_plan"
            );
            assert_eq!(show_plan_cache_mode(&store, Plans::Auto).await, "auto");
        });
    }

    #[test]
    fn one_connection_switches_kind_and_back_to_the_configured_mode() {
        // The URL's own setting is what the other statements keep.
        with_store(
            1,
            Some("-c plan_cache_mode=force_custom_plan"),
            |store| async move {
                for _ in 0..2 {
                    assert_eq!(
                        show_plan_cache_mode(&store, Plans::Auto).await,
                        "force_custom_plan"
                    );
                    assert_eq!(
                        show_plan_cache_mode(&store, Plans::Generic).await,
                        "force_generic_plan"
                    );
                    let found = store
                        .exist(
                            Table::Hosts,
                            ["ns1.example.no", "ns2.example.no"].into_iter(),
                        )
                        .await
                        .unwrap();
                    assert_eq!(found, [false, false]);
                }
                // One connection served both kinds.
                let idle = lock(&store.inner.idle);
                assert_eq!(idle.iter().map(Vec::len).sum::<usize>(), 1);
            },
        );
    }
}
