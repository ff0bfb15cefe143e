//! The store behaviour suite (from epp-session) against the SQLite and PostgreSQL stores,
//! plus what only the SQL backends have: persistence, migrations, group commit, reads
//! beside an open write transaction, several processes on one database.
//!
//! PostgreSQL tests need `EPP_TEST_PG_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it they print a notice and pass. Each test runs in a fresh schema that is
//! dropped afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::time::{Duration, Instant};

use epp_session::store::model::{NewPollMessage, PollPayload};
use epp_session::store::suite::{base, cid, commit1};
use epp_session::store::{Change, Store};

/// The summary poll queue (`<msgQ>`) cache with two stores on one database, as two server
/// processes: a store's own commits show at once, the other's within the TTL.
async fn poll_summaries_across_processes<S: Store>(a: &S, b: &S, ttl: Duration) {
    base(a).await;
    let reg = cid("reg1");
    let enqueue = || {
        Change::EnqueuePoll(NewPollMessage {
            registrar: cid("reg1"),
            text: "hello".into(),
            payload: PollPayload::Text,
        })
    };
    assert_eq!(a.poll_summary(&reg).await.unwrap(), None);
    let b_read = Instant::now();
    assert_eq!(b.poll_summary(&reg).await.unwrap(), None);
    commit1(a, "reg1", enqueue()).await.unwrap();
    // The committing store shows its own commit at once.
    let first = a.poll_summary(&reg).await.unwrap().unwrap();
    assert_eq!(first.count, 1);
    // The other shows what it read until the TTL runs out (checked only if this machine
    // got here within it), then the new queue.
    let seen = b.poll_summary(&reg).await.unwrap();
    if b_read.elapsed() < ttl {
        assert_eq!(seen, None, "read again within the TTL");
    }
    tokio::time::sleep(ttl.saturating_sub(b_read.elapsed()) + Duration::from_millis(20)).await;
    assert_eq!(b.poll_summary(&reg).await.unwrap(), Some(first));
    // An ack through the other store shows there at once.
    commit1(
        b,
        "reg1",
        Change::AckPoll {
            registrar: reg.clone(),
            id: first.first_id,
        },
    )
    .await
    .unwrap();
    assert_eq!(b.poll_summary(&reg).await.unwrap(), None);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Waits up to ten seconds for `f` to hold.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "waited ten seconds for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

mod sqlite {
    use epp_server::store::{
        Durability, MigrationReport, OpenError, SqliteConfig, SqliteStore, StoreConfig, migrate,
    };
    use epp_session::store::suite::{self, CaseFuture, base_domain, dn};
    use epp_session::store::{ChangeSet, Sequence};

    use super::*;

    /// docs/check-cache.md, "SQLite": checks are answered from memory while the file shows
    /// only this store's commits; another process's commit shows in the next check, and
    /// the names are read again after it.
    #[test]
    fn checks_are_answered_from_memory_until_another_process_commits() {
        with_dir(|path| async move {
            let a = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            base(&a).await;
            commit1(&a, "reg1", Change::CreateDomain(base_domain("own.no")))
                .await
                .unwrap();
            let names = [dn("own.no"), dn("other.no")];
            let before = a.stats();
            assert!(a.check_cache_in_use());
            assert_eq!(a.domains_exist(&names).await.unwrap(), [true, false]);
            let after = a.stats();
            assert_eq!(after.checks_from_memory - before.checks_from_memory, 2);
            assert_eq!(after.snapshots, before.snapshots);
            assert_eq!(after.name_loads, 1);

            // Another process (the admin command's kind of store) commits: the next check
            // reads SQLite and sees it.
            let mut config = SqliteConfig::new(&path);
            config.check_cache = false;
            let b = SqliteStore::open(config).unwrap();
            commit1(&b, "reg1", Change::CreateDomain(base_domain("other.no")))
                .await
                .unwrap();
            assert!(!a.check_cache_in_use());
            let before = a.stats();
            assert_eq!(a.domains_exist(&names).await.unwrap(), [true, true]);
            assert_eq!(a.stats().checks_from_memory, before.checks_from_memory);
            // The writer reads every name again (between batches, after a backoff).
            until("the names read again", || a.check_cache_in_use()).await;
            assert_eq!(a.stats().name_loads, 2);
            let before = a.stats();
            assert_eq!(a.domains_exist(&names).await.unwrap(), [true, true]);
            assert_eq!(a.stats().checks_from_memory - before.checks_from_memory, 2);

            // By hand, with the sqlite3 shell's kind of connection: the same.
            let raw = rusqlite::Connection::open(&path).unwrap();
            raw.execute_batch(
                "BEGIN IMMEDIATE; \
                 DELETE FROM domain_contacts WHERE domain = 'own.no'; \
                 DELETE FROM domain_hosts WHERE domain = 'own.no'; \
                 DELETE FROM domains WHERE name = 'own.no'; \
                 COMMIT;",
            )
            .unwrap();
            assert_eq!(a.domains_exist(&names).await.unwrap(), [false, true]);
            // This store's own delete and create show at once, from memory or not.
            let v = a.domain(&dn("other.no")).await.unwrap().unwrap().version;
            commit1(
                &a,
                "reg1",
                Change::DeleteDomain {
                    name: dn("other.no"),
                    version: v,
                },
            )
            .await
            .unwrap();
            commit1(&a, "reg1", Change::CreateDomain(base_domain("own.no")))
                .await
                .unwrap();
            assert_eq!(a.domains_exist(&names).await.unwrap(), [true, false]);
            until("the names read again", || a.check_cache_in_use()).await;
            assert_eq!(a.domains_exist(&names).await.unwrap(), [true, false]);
        });
    }

    #[test]
    fn the_check_cache_can_be_turned_off() {
        with_dir(|path| async move {
            let mut config = SqliteConfig::new(&path);
            config.check_cache = false;
            let a = SqliteStore::open(config).unwrap();
            base(&a).await;
            assert_eq!(a.domains_exist(&[dn("x.no")]).await.unwrap(), [false]);
            assert!(!a.check_cache_in_use());
            assert_eq!(a.stats().checks_from_memory, 0);
            assert_eq!(a.stats().name_loads, 0);
        });
    }

    #[test]
    fn poll_summaries_are_cached_per_process() {
        with_dir(|path| async move {
            let ttl = Duration::from_millis(1500);
            let mut config = SqliteConfig::new(&path);
            config.poll_summary_ttl = ttl;
            let a = SqliteStore::open(config.clone()).unwrap();
            let b = SqliteStore::open(config).unwrap();
            poll_summaries_across_processes(&a, &b, ttl).await;
        });
    }

    fn run(case: impl for<'a> FnOnce(&'a SqliteStore) -> CaseFuture<'a>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(SqliteConfig::new(dir.path().join("registry.db"))).unwrap();
        runtime().block_on(case(&store));
    }

    epp_session::store_behaviour_suite!(run);

    fn with_dir<F: Future<Output = ()>>(f: impl FnOnce(std::path::PathBuf) -> F) {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(f(dir.path().join("data").join("registry.db")));
    }

    #[test]
    fn commits_survive_reopening() {
        with_dir(|path| async move {
            {
                let store = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
                base(&store).await;
                commit1(&store, "reg1", Change::CreateDomain(base_domain("kept.no")))
                    .await
                    .unwrap();
            }
            let store = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            let d = store.domain(&dn("kept.no")).await.unwrap().unwrap();
            assert_eq!(d.version, 1);
            assert_eq!(
                store
                    .history(&epp_session::store::ObjectKey::Domain(dn("kept.no")))
                    .await
                    .unwrap()
                    .len(),
                1
            );
        });
    }

    #[test]
    fn the_database_is_in_wal_mode() {
        with_dir(|path| async move {
            let mut config = SqliteConfig::new(&path);
            config.durability = Durability::Normal;
            let _store = SqliteStore::open(config).unwrap();
            let conn = rusqlite::Connection::open(&path).unwrap();
            let mode: String = conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
        });
    }

    #[test]
    fn concurrent_commits_share_group_commits() {
        with_dir(|path| async move {
            let store = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            base(&store).await;
            let before = store.stats();
            let results = futures_util::future::join_all((0..64).map(|i| {
                let set = ChangeSet::new(suite::meta("reg1", "domain:create", i))
                    .with(Change::CreateDomain(base_domain(&format!("g{i}.no"))));
                store.commit(set)
            }))
            .await;
            assert!(results.iter().all(Result::is_ok));
            let after = store.stats();
            let batches = after.batches - before.batches;
            assert_eq!(after.change_sets - before.change_sets, 64);
            assert!(
                batches < 64,
                "64 concurrent commits took {batches} transactions"
            );
        });
    }

    #[test]
    fn reads_do_not_wait_for_an_open_write_transaction() {
        with_dir(|path| async move {
            let store = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            base(&store).await;
            // Another connection (another process, say) holds the write lock with an
            // uncommitted row.
            let other = rusqlite::Connection::open(&path).unwrap();
            other
                .execute_batch(
                    "BEGIN IMMEDIATE; UPDATE registrars SET name = 'uncommitted' WHERE id = 'reg1';",
                )
                .unwrap();
            // The store reads the committed state without waiting for that writer.
            let r = store.registrar(&suite::cid("reg1")).await.unwrap().unwrap();
            assert_eq!(r.name, "Registrar reg1");
            other.execute_batch("ROLLBACK").unwrap();
        });
    }

    #[test]
    fn reused_read_snapshots_see_every_commit_of_any_process() {
        with_dir(|path| async move {
            let a = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            let b = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            base(&a).await;
            let name = dn("seen.no");
            // Nothing committed between reads: one snapshot serves them all.
            assert!(a.domain(&name).await.unwrap().is_none());
            let before = a.stats();
            for _ in 0..50 {
                assert_eq!(
                    a.domains_exist(std::slice::from_ref(&name)).await.unwrap(),
                    [false]
                );
            }
            let after = a.stats();
            assert_eq!(after.snapshots, before.snapshots, "{before:?} {after:?}");
            // Another process's commit shows in the next read, with no delay.
            commit1(&b, "reg1", Change::CreateDomain(base_domain("seen.no")))
                .await
                .unwrap();
            assert_eq!(
                a.domains_exist(std::slice::from_ref(&name)).await.unwrap(),
                [true]
            );
            assert!(a.domain(&name).await.unwrap().is_some());
            // And this process's own.
            commit1(&a, "reg1", Change::CreateDomain(base_domain("own.no")))
                .await
                .unwrap();
            assert!(a.domain(&dn("own.no")).await.unwrap().is_some());
            // A writer in the middle of a transaction changes nothing a reader sees.
            let other = rusqlite::Connection::open(&path).unwrap();
            other
                .execute_batch("BEGIN IMMEDIATE; DELETE FROM domain_hosts; DELETE FROM history;")
                .unwrap();
            assert!(a.domain(&name).await.unwrap().is_some());
            other.execute_batch("ROLLBACK").unwrap();
        });
    }

    #[test]
    fn read_snapshots_can_be_turned_off() {
        with_dir(|path| async move {
            let mut config = SqliteConfig::new(&path);
            config.reuse_read_snapshots = false;
            let a = SqliteStore::open(config).unwrap();
            base(&a).await;
            let before = a.stats();
            for _ in 0..10 {
                assert!(a.domain(&dn("x.no")).await.unwrap().is_none());
            }
            let after = a.stats();
            assert_eq!(after.snapshots - before.snapshots, 10);
        });
    }

    /// Snapshots kept open by idle readers must not stop the WAL from restarting: reads and
    /// commits in turn, thousands of times, leave the WAL file about one checkpoint long
    /// (SQLite checkpoints at 1000 pages, 4 MiB) rather than growing with every commit.
    #[test]
    fn kept_snapshots_let_the_wal_restart() {
        with_dir(|path| async move {
            let mut config = SqliteConfig::new(&path);
            config.durability = Durability::Normal;
            let store = SqliteStore::open(config).unwrap();
            base(&store).await;
            for i in 0..3000 {
                let name = format!("w{i}.no");
                commit1(&store, "reg1", Change::CreateDomain(base_domain(&name)))
                    .await
                    .unwrap();
                assert!(store.domain(&dn(&name)).await.unwrap().is_some());
            }
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            let len = std::fs::metadata(&wal).unwrap().len();
            assert!(len < 12 << 20, "the WAL grew to {len} bytes");
        });
    }

    #[test]
    fn two_processes_share_one_file() {
        with_dir(|path| async move {
            let a = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            let b = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            base(&a).await;
            // Sequence numbers are reserved in blocks per store, never twice.
            let mut seen = std::collections::HashSet::new();
            for _ in 0..100 {
                assert!(seen.insert(a.allocate_id(Sequence::DomainRoid).await.unwrap()));
                assert!(seen.insert(b.allocate_id(Sequence::DomainRoid).await.unwrap()));
            }
            // Writes from both are serialised by SQLite's lock; one name, one winner.
            let ra = commit1(&a, "reg1", Change::CreateDomain(base_domain("both.no")));
            let rb = commit1(&b, "reg1", Change::CreateDomain(base_domain("both.no")));
            let (ra, rb) = futures_util::future::join(ra, rb).await;
            assert!(ra.is_ok() != rb.is_ok(), "{ra:?} {rb:?}");
            assert!(b.domain(&dn("both.no")).await.unwrap().is_some());
        });
    }

    #[test]
    fn migrations_apply_once_and_refuse_edited_or_newer_schemas() {
        with_dir(|path| async move {
            let config = StoreConfig::Sqlite(SqliteConfig::new(&path));
            let first = migrate(&config).await.unwrap();
            assert_eq!(
                first,
                MigrationReport {
                    applied: vec![1, 2, 3, 4],
                    version: 4
                }
            );
            let again = migrate(&config).await.unwrap();
            assert_eq!(
                again,
                MigrationReport {
                    applied: vec![],
                    version: 4
                }
            );
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute("UPDATE schema_migrations SET checksum = 'edited'", [])
                .unwrap();
            assert!(matches!(
                migrate(&config).await,
                Err(OpenError::MigrationChanged { version: 1, .. })
            ));
            assert!(matches!(
                SqliteStore::open(SqliteConfig::new(&path)),
                Err(OpenError::MigrationChanged { .. })
            ));
            conn.execute_batch(
                "DELETE FROM schema_migrations; \
                 INSERT INTO schema_migrations VALUES (7, 'future', 'x', 0);",
            )
            .unwrap();
            assert!(matches!(
                migrate(&config).await,
                Err(OpenError::DatabaseNewer { found: 7, known: 4 })
            ));
        });
    }

    #[test]
    fn the_schema_refuses_dangling_references_by_itself() {
        // The store checks references before writing; the foreign keys are the backstop
        // for anything that bypasses it.
        with_dir(|path| async move {
            let store = SqliteStore::open(SqliteConfig::new(&path)).unwrap();
            base(&store).await;
            drop(store);
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.pragma_update(None, "foreign_keys", true).unwrap();
            let err = conn
                .execute(
                    "INSERT INTO domain_contacts (domain, role, contact) VALUES ('x.no', 'tech', 'NONE')",
                    [],
                )
                .unwrap_err();
            assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
        });
    }
}

mod postgres {
    use epp_server::store::{PgStore, PostgresConfig, StoreConfig, migrate};
    use epp_session::store::suite::{CaseFuture, base_domain, dn};
    use epp_session::store::{ChangeSet, Sequence, StoreError};

    use super::*;

    /// A fresh schema, dropped when this goes out of scope (also when the test panics).
    struct Schema {
        url: String,
        name: String,
    }

    impl Schema {
        async fn create(url: &str) -> Self {
            let name = format!("epp_test_{:016x}", getrandom::u64().unwrap());
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .expect("EPP_TEST_PG_URL is set but PostgreSQL cannot be reached");
            tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE SCHEMA {name}"))
                .await
                .unwrap();
            Self {
                url: url.to_owned(),
                name,
            }
        }

        fn config(&self) -> PostgresConfig {
            let mut config = PostgresConfig::new(&self.url);
            config.schema = Some(self.name.clone());
            config.pool_size = 8;
            config
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let (url, name) = (self.url.clone(), self.name.clone());
            // Drop runs inside the test's runtime; clean up on a thread of its own.
            let cleanup = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async move {
                        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                            .await
                            .unwrap();
                        tokio::spawn(conn);
                        client
                            .batch_execute(&format!("DROP SCHEMA {name} CASCADE"))
                            .await
                            .unwrap();
                    });
            });
            let _ = cleanup.join();
        }
    }

    fn url() -> Option<String> {
        match std::env::var("EPP_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                eprintln!("skipping PostgreSQL store test: EPP_TEST_PG_URL is not set");
                None
            }
        }
    }

    fn with_schema<F: Future<Output = ()>>(f: impl FnOnce(Schema) -> F) {
        let Some(url) = url() else { return };
        runtime().block_on(async move {
            let schema = Schema::create(&url).await;
            f(schema).await;
        });
    }

    fn run(case: impl for<'a> FnOnce(&'a PgStore) -> CaseFuture<'a>) {
        with_schema(|schema| async move {
            let store = PgStore::connect(&schema.config()).await.unwrap();
            case(&store).await;
            drop(store);
            drop(schema);
        });
    }

    epp_session::store_behaviour_suite!(run);

    /// Creates all at once on fresh, small tables, where PostgreSQL's predicate locks make
    /// them abort each other: with two attempts each, every create still commits, because
    /// a change set's last attempt runs alone in the process (as do its attempts after it
    /// has failed several times).
    #[test]
    fn creates_that_keep_aborting_each_other_all_commit() {
        with_schema(|schema| async move {
            let mut config = schema.config();
            config.max_attempts = 2;
            let store = PgStore::connect(&config).await.unwrap();
            base(&store).await;
            let before = store.stats();
            let creates: Vec<_> = (0..200)
                .map(|i| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        let d = base_domain(&format!("race{i}.no"));
                        commit1(&store, "reg1", Change::CreateDomain(d)).await
                    })
                })
                .collect();
            for c in creates {
                assert!(c.await.unwrap().is_ok());
            }
            let after = store.stats();
            assert_eq!(after.commits - before.commits, 200);
            eprintln!("200 creates: {} retries", after.retries - before.retries);
        });
    }

    #[test]
    fn serialisation_failures_are_retried() {
        with_schema(|schema| async move {
            let store = PgStore::connect(&schema.config()).await.unwrap();
            base(&store).await;
            commit1(&store, "reg1", Change::CreateDomain(base_domain("hot.no")))
                .await
                .unwrap();
            let v1 = store.domain(&dn("hot.no")).await.unwrap().unwrap();
            // Another process updates the domain and holds its transaction open ...
            let mut other_config: tokio_postgres::Config = schema.url.parse().unwrap();
            other_config.options(format!("-c search_path={}", schema.name));
            let (mut other, conn) = other_config.connect(tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let tx = other.transaction().await.unwrap();
            tx.execute("UPDATE domains SET version = 2 WHERE name = 'hot.no'", &[])
                .await
                .unwrap();
            // ... while the store commits an update based on version 1: its version check
            // passes (the other change is not committed) and its write waits for the lock.
            let before = store.stats();
            let mut d = v1.clone();
            d.auth_info = Some(epp_session::store::model::AuthInfo::new("mine-1"));
            let mine = tokio::spawn({
                let store = store.clone();
                async move { commit1(&store, "reg1", Change::UpdateDomain(d)).await }
            });
            let (watcher, conn) = tokio_postgres::connect(&schema.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            loop {
                let waiting: i64 = watcher
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                         AND application_name = 'epp-server'",
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if waiting > 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            tx.commit().await.unwrap();
            // The store's transaction fails with 40001, runs again, and now sees version 2.
            let result = mine.await.unwrap();
            assert_eq!(
                result,
                Err(StoreError::Conflict(epp_session::store::ObjectKey::Domain(
                    dn("hot.no")
                )))
            );
            let after = store.stats();
            assert_eq!(after.retries - before.retries, 1);
            assert_eq!(after.commits, before.commits);
            assert_eq!(
                store.domain(&dn("hot.no")).await.unwrap().unwrap().version,
                2
            );
        });
    }

    /// Updates of neighbouring domains that add and remove the same name server, all at
    /// once: each writes only its own link rows, by key, so under SERIALIZABLE they do not
    /// abort each other: 2-3 of the 80 transactions ran again here. When an update deleted
    /// and rewrote all of its domain's link rows, 102-118 did, and under load some updates
    /// used up every attempt (answered 2400).
    #[test]
    fn concurrent_link_updates_of_neighbouring_domains_do_not_conflict() {
        with_schema(|schema| async move {
            let store = PgStore::connect(&schema.config()).await.unwrap();
            base(&store).await;
            commit1(
                &store,
                "reg1",
                Change::CreateHost(epp_session::store::suite::host("ns3.example.net", "reg1")),
            )
            .await
            .unwrap();
            for i in 0..8 {
                commit1(
                    &store,
                    "reg1",
                    Change::CreateDomain(base_domain(&format!("n{i}.no"))),
                )
                .await
                .unwrap();
            }
            let before = store.stats();
            let tasks = (0..8).map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let name = dn(&format!("n{i}.no"));
                    let extra = epp_session::store::suite::hn("ns3.example.net");
                    for _ in 0..10 {
                        let mut d = store.domain(&name).await.unwrap().unwrap();
                        match d.ns.iter().position(|h| *h == extra) {
                            Some(at) => drop(d.ns.remove(at)),
                            None => d.ns.push(extra.clone()),
                        }
                        commit1(&store, "reg1", Change::UpdateDomain(d))
                            .await
                            .unwrap();
                    }
                })
            });
            for t in futures_util::future::join_all(tasks).await {
                t.unwrap();
            }
            let after = store.stats();
            let retries = after.retries - before.retries;
            assert!(retries <= 20, "80 updates ran {retries} transactions again");
            // The link rows follow the domains.
            for i in 0..8 {
                let d = store
                    .domain(&dn(&format!("n{i}.no")))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(d.ns.len(), 2, "{d:?}");
            }
        });
    }

    #[test]
    fn poll_summaries_are_cached_per_process() {
        with_schema(|schema| async move {
            let ttl = Duration::from_millis(1500);
            let mut config = schema.config();
            config.poll_summary_ttl = ttl;
            let a = PgStore::connect(&config).await.unwrap();
            let b = PgStore::connect(&config).await.unwrap();
            poll_summaries_across_processes(&a, &b, ttl).await;
        });
    }

    /// Checks and reads by key arriving together are answered by shared queries, each
    /// with its own keys' answers (several keys, repeated keys, keys of other reads).
    #[test]
    fn concurrent_reads_by_key_share_queries_and_get_their_own_answers() {
        with_schema(|schema| async move {
            // Checks from memory would not query at all (tested below).
            let mut config = schema.config();
            config.check_cache = false;
            let store = PgStore::connect(&config).await.unwrap();
            base(&store).await;
            for (i, name) in ["a.no", "c.no", "e.no"].into_iter().enumerate() {
                let mut d = base_domain(name);
                d.roid = epp_xml::Roid::new(format!("D{i}CHECK-NORID")).unwrap();
                commit1(&store, "reg1", Change::CreateDomain(d))
                    .await
                    .unwrap();
            }
            let names = ["a.no", "b.no", "c.no", "d.no", "e.no", "f.no"];
            let before = store.stats();
            let checks = (0..200).map(|i| {
                let store = store.clone();
                let asked: Vec<_> = (0..1 + i % 4)
                    .map(|j| dn(names[(i * 5 + j * 3) % 6]))
                    .collect();
                async move {
                    let got = store.domains_exist(&asked).await.unwrap();
                    let want: Vec<bool> = asked
                        .iter()
                        .map(|n| ["a.no", "c.no", "e.no"].contains(&n.as_str()))
                        .collect();
                    assert_eq!(got, want, "{asked:?}");
                }
            });
            futures_util::future::join_all(checks).await;
            let after = store.stats();
            assert_eq!(after.lookups - before.lookups, 200);
            let queries = after.lookup_queries - before.lookup_queries;
            assert!(
                queries < 100,
                "{queries} queries for 200 checks sent together"
            );
            // Reads of whole objects are batched the same way, each getting its object.
            let before = store.stats();
            let gets = (0..120).map(|i| {
                let store = store.clone();
                let name = dn(names[i % 6]);
                async move {
                    let got = store.domain(&name).await.unwrap();
                    match ["a.no", "c.no", "e.no"].contains(&name.as_str()) {
                        true => assert_eq!(got.unwrap().name, name),
                        false => assert!(got.is_none(), "{name}"),
                    }
                }
            });
            futures_util::future::join_all(gets).await;
            let after = store.stats();
            assert_eq!(after.lookups - before.lookups, 120);
            let queries = after.lookup_queries - before.lookup_queries;
            assert!(
                queries < 60,
                "{queries} queries for 120 reads sent together"
            );
            // Hosts and contacts go the same way.
            let hosts = store
                .hosts_exist(&[epp_session::store::suite::hn("ns1.example.net")])
                .await
                .unwrap();
            assert_eq!(hosts.len(), 1);
            let contacts = store
                .contacts_exist(&[
                    epp_session::store::suite::ctid("NOPE1P"),
                    epp_session::store::suite::ctid("NOPE2P"),
                ])
                .await
                .unwrap();
            assert_eq!(contacts, vec![false, false]);
        });
    }

    /// A read set spanning tables is one query; read sets arriving together share
    /// queries, each with its own answers.
    #[test]
    fn read_sets_are_one_query_and_batched_together() {
        use epp_session::store::ReadSet;
        use epp_session::store::suite::{ctid, hn};
        with_schema(|schema| async move {
            let store = PgStore::connect(&schema.config()).await.unwrap();
            base(&store).await;
            commit1(&store, "reg1", Change::CreateDomain(base_domain("a.no")))
                .await
                .unwrap();
            let (org, role, none) = (ctid("ORG1O"), ctid("ROLE1R"), ctid("NONE1P"));
            let before = store.stats();
            let answer = store
                .read_set(ReadSet {
                    domains_exist: &[dn("a.no")],
                    contacts: &[&org, &none, &role],
                    hosts_exist: &[hn("ns1.example.net"), hn("ns9.example.net")],
                })
                .await;
            let after = store.stats();
            assert_eq!(after.lookup_queries - before.lookup_queries, 1);
            assert_eq!(answer.domains_exist.unwrap(), [true]);
            assert_eq!(answer.hosts_exist.unwrap(), [true, false]);
            let ids: Vec<Option<String>> = answer
                .contacts
                .into_iter()
                .map(|c| c.unwrap().map(|c| c.id.to_string()))
                .collect();
            assert_eq!(ids, [Some("ORG1O".into()), None, Some("ROLE1R".into())]);

            let names = ["a.no", "b.no"];
            let contacts = [&org, &none, &role];
            let hosts = ["ns1.example.net", "ns2.example.net", "ns7.example.net"];
            let before = store.stats();
            let sets = (0..150).map(|i| {
                let store = store.clone();
                let domains = [dn(names[i % 2])];
                let asked: Vec<_> = (0..1 + i % 3).map(|j| contacts[(i + j) % 3]).collect();
                let host = [hn(hosts[i % 3])];
                async move {
                    let answer = store
                        .read_set(ReadSet {
                            domains_exist: &domains,
                            contacts: &asked,
                            hosts_exist: if i % 2 == 0 { &host } else { &[] },
                        })
                        .await;
                    assert_eq!(answer.domains_exist.unwrap(), [i % 2 == 0]);
                    let want_host: &[bool] = match i % 2 {
                        0 => &[i % 3 != 2],
                        _ => &[],
                    };
                    assert_eq!(answer.hosts_exist.unwrap(), want_host);
                    assert_eq!(answer.contacts.len(), asked.len());
                    for (id, got) in asked.iter().zip(answer.contacts) {
                        let got = got.unwrap();
                        match id.as_str() {
                            "NONE1P" => assert!(got.is_none(), "{i}"),
                            _ => assert_eq!(&got.unwrap().id, *id, "{i}"),
                        }
                    }
                }
            });
            futures_util::future::join_all(sets).await;
            let after = store.stats();
            assert_eq!(after.lookups - before.lookups, 150);
            let queries = after.lookup_queries - before.lookup_queries;
            assert!(
                queries < 75,
                "{queries} queries for 150 read sets sent together"
            );
        });
    }

    #[test]
    fn two_processes_share_one_database() {
        with_schema(|schema| async move {
            let a = PgStore::connect(&schema.config()).await.unwrap();
            let b = PgStore::connect(&schema.config()).await.unwrap();
            base(&a).await;
            let mut seen = std::collections::HashSet::new();
            for _ in 0..50 {
                assert!(seen.insert(a.allocate_id(Sequence::ContactId).await.unwrap()));
                assert!(seen.insert(b.allocate_id(Sequence::ContactId).await.unwrap()));
            }
            let results = futures_util::future::join_all((0..16).map(|i| {
                let store = if i % 2 == 0 { &a } else { &b };
                let mut d = base_domain("shared.no");
                d.roid = epp_xml::Roid::new(format!("DSHARED{i}-NORID")).unwrap();
                let set = ChangeSet::new(epp_session::store::suite::meta("reg1", "create", i))
                    .with(Change::CreateDomain(d));
                store.commit(set)
            }))
            .await;
            assert_eq!(
                results.iter().filter(|r| r.is_ok()).count(),
                1,
                "{results:?}"
            );
            assert!(b.domain(&dn("shared.no")).await.unwrap().is_some());
        });
    }

    #[test]
    fn pooled_connections_closed_by_the_server_are_replaced() {
        with_schema(|schema| async move {
            let mut config = schema.config();
            config.application_name = schema.name.clone();
            let store = PgStore::connect(&config).await.unwrap();
            base(&store).await;
            // Fill the pool with a few idle connections.
            let none = dn("none.no");
            let reads = (0..4).map(|_| store.domain(&none));
            for r in futures_util::future::join_all(reads).await {
                assert_eq!(r.unwrap(), None);
            }
            let (admin, conn) = tokio_postgres::connect(&schema.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let killed: i64 = admin
                .query_one(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                     WHERE application_name = $1",
                    &[&schema.name],
                )
                .await
                .unwrap()
                .get(0);
            assert!(killed >= 1);
            // The next commits and reads run on fresh connections.
            for i in 0..3 {
                let name = format!("after{i}.no");
                commit1(&store, "reg1", Change::CreateDomain(base_domain(&name)))
                    .await
                    .unwrap();
                assert!(store.domain(&dn(&name)).await.unwrap().is_some());
            }
        });
    }

    #[test]
    fn concurrent_migrations_apply_once() {
        with_schema(|schema| async move {
            let config = StoreConfig::Postgres(schema.config());
            let runs = futures_util::future::join_all((0..4).map(|_| migrate(&config))).await;
            let mut applied: Vec<i64> = runs.into_iter().flat_map(|r| r.unwrap().applied).collect();
            applied.sort_unstable();
            assert_eq!(applied, [1, 2, 3, 4]);
            let again = migrate(&config).await.unwrap();
            assert!(again.applied.is_empty());
            assert_eq!(again.version, 4);
        });
    }

    /// A database at version 1 with hosts (migration 2 undone by hand) gets their
    /// superordinate names in place.
    #[test]
    fn hosts_get_their_superordinate_names_on_upgrade() {
        with_schema(|schema| async move {
            let config = StoreConfig::Postgres(schema.config());
            migrate(&config).await.unwrap();
            let (client, conn) = tokio_postgres::connect(&schema.url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .batch_execute(&format!(
                    "SET search_path TO {}; \
                     ALTER TABLE hosts DROP COLUMN superordinate; \
                     DELETE FROM schema_migrations WHERE version = 2; \
                     INSERT INTO hosts (roid, name, cl_id, pending, version, data) VALUES \
                     ('H1', 'ns1.example.no', 'reg0', FALSE, 1, '{{}}'), \
                     ('H2', 'ns1.sub.example.no', 'reg0', FALSE, 1, '{{}}'), \
                     ('H3', 'ns.ola.oslo.no', 'reg0', FALSE, 1, '{{}}'), \
                     ('H4', 'ns1.example.com', 'reg0', FALSE, 1, '{{}}')",
                    schema.name
                ))
                .await
                .unwrap();
            let report = migrate(&config).await.unwrap();
            assert_eq!(report.applied, [2]);
            let rows = client
                .query("SELECT roid, superordinate FROM hosts ORDER BY roid", &[])
                .await
                .unwrap();
            let got: Vec<(String, Option<String>)> =
                rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            let want = [
                ("H1", Some("example.no")),
                ("H2", Some("example.no")),
                ("H3", Some("ola.oslo.no")),
                ("H4", None),
            ]
            .map(|(r, s)| (r.to_owned(), s.map(str::to_owned)));
            assert_eq!(got, want);
        });
    }

    #[test]
    fn schema_names_are_checked() {
        let mut config = PostgresConfig::new("postgres://localhost/x");
        config.schema = Some("bad; DROP TABLE x".into());
        let rt = runtime();
        let err = rt.block_on(PgStore::connect(&config)).unwrap_err();
        assert!(err.to_string().contains("schema name"), "{err}");
    }

    /// A plain connection to the schema, as `psql` would have.
    async fn plain(schema: &Schema) -> tokio_postgres::Client {
        let mut config: tokio_postgres::Config = schema.url.parse().unwrap();
        config.options(format!("-c search_path={}", schema.name));
        let (client, conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    /// A store alone on its schema, with the suite's base objects, once it answers checks
    /// from memory.
    async fn alone(schema: &Schema) -> PgStore {
        let store = PgStore::connect(&schema.config()).await.unwrap();
        base(&store).await;
        until("the cache", || store.check_cache_in_use()).await;
        store
    }

    async fn delete(store: &PgStore, name: &str) {
        let version = store.domain(&dn(name)).await.unwrap().unwrap().version;
        commit1(
            store,
            "reg1",
            Change::DeleteDomain {
                name: dn(name),
                version,
            },
        )
        .await
        .unwrap();
    }

    /// docs/check-cache.md: alone on its schema, a process answers checks from memory,
    /// and its own commits show in the next check.
    #[test]
    fn checks_are_answered_from_memory_while_this_process_is_the_only_writer() {
        with_schema(|schema| async move {
            let store = PgStore::connect(&schema.config()).await.unwrap();
            base(&store).await;
            commit1(&store, "reg1", Change::CreateDomain(base_domain("old.no")))
                .await
                .unwrap();
            until("the cache", || store.check_cache_in_use()).await;
            let names = [dn("old.no"), dn("new.no")];
            let before = store.stats();
            assert_eq!(store.domains_exist(&names).await.unwrap(), [true, false]);
            commit1(&store, "reg1", Change::CreateDomain(base_domain("new.no")))
                .await
                .unwrap();
            assert_eq!(store.domains_exist(&names).await.unwrap(), [true, true]);
            let after = store.stats();
            assert_eq!(after.lookup_queries, before.lookup_queries);
            assert_eq!(after.checks_from_memory - before.checks_from_memory, 4);
            delete(&store, "old.no").await;
            let before = store.stats();
            assert_eq!(store.domains_exist(&names).await.unwrap(), [false, true]);
            let after = store.stats();
            assert_eq!(after.lookup_queries, before.lookup_queries);
            assert_eq!(after.name_loads, 1);
            // A refused commit leaves its name to the database until read once.
            let refused =
                commit1(&store, "reg1", Change::CreateDomain(base_domain("new.no"))).await;
            assert!(refused.is_err());
            let before = store.stats();
            for _ in 0..2 {
                assert_eq!(store.domains_exist(&names).await.unwrap(), [false, true]);
            }
            let after = store.stats();
            assert_eq!(after.lookup_queries - before.lookup_queries, 1);
            assert!(store.check_cache_in_use());
            // What the metrics endpoint reports.
            let cache = epp_server::store::AnyStore::Postgres(store.clone()).check_cache_stats();
            assert!(cache.enabled && cache.in_use);
            assert_eq!(cache.answered, after.checks_from_memory);
            assert_eq!(cache.loads, 1);
        });
    }

    /// Another writer of domains (the admin command's kind of store, `psql`) waits until
    /// the cache is off, so a check made after its commit sees the commit; the cache comes
    /// back with every name read again.
    #[test]
    fn another_writer_turns_the_cache_off_and_its_commit_shows_at_once() {
        with_schema(|schema| async move {
            let store = alone(&schema).await;
            let mut config = schema.config();
            config.check_cache = false;
            let admin = PgStore::connect(&config).await.unwrap();
            commit1(
                &admin,
                "reg1",
                Change::CreateDomain(base_domain("admin.no")),
            )
            .await
            .unwrap();
            assert!(!store.check_cache_in_use());
            let cache = epp_server::store::AnyStore::Postgres(store.clone()).check_cache_stats();
            assert!(cache.enabled && !cache.in_use);
            let cache = epp_server::store::AnyStore::Postgres(admin.clone()).check_cache_stats();
            assert!(!cache.enabled && !cache.in_use);
            assert_eq!((cache.answered, cache.loads), (0, 0));
            assert_eq!(
                store.domains_exist(&[dn("admin.no")]).await.unwrap(),
                [true]
            );
            until("the cache again", || store.check_cache_in_use()).await;
            assert_eq!(store.stats().name_loads, 2);
            let before = store.stats();
            assert_eq!(
                store.domains_exist(&[dn("admin.no")]).await.unwrap(),
                [true]
            );
            assert_eq!(store.stats().lookup_queries, before.lookup_queries);
            // By hand: the same.
            plain(&schema)
                .await
                .batch_execute(
                    "BEGIN; \
                     DELETE FROM domain_contacts WHERE domain = 'admin.no'; \
                     DELETE FROM domain_hosts WHERE domain = 'admin.no'; \
                     DELETE FROM domains WHERE name = 'admin.no'; \
                     COMMIT",
                )
                .await
                .unwrap();
            assert!(!store.check_cache_in_use());
            assert_eq!(
                store.domains_exist(&[dn("admin.no")]).await.unwrap(),
                [false]
            );
            // A statement that adds no name (an update of other columns) does not wait.
            plain(&schema)
                .await
                .batch_execute("UPDATE domains SET version = version WHERE name = 'none.no'")
                .await
                .unwrap();
        });
    }

    /// Two server processes on one schema both read the database, and neither takes the
    /// cache while the other runs; the one left takes it again.
    #[test]
    fn two_server_processes_read_the_database_until_one_is_left() {
        with_schema(|schema| async move {
            let a = alone(&schema).await;
            let b = PgStore::connect(&schema.config()).await.unwrap();
            commit1(&b, "reg1", Change::CreateDomain(base_domain("b.no")))
                .await
                .unwrap();
            assert!(!a.check_cache_in_use());
            assert_eq!(a.domains_exist(&[dn("b.no")]).await.unwrap(), [true]);
            // Past a's first retry.
            tokio::time::sleep(Duration::from_millis(2500)).await;
            assert!(!a.check_cache_in_use() && !b.check_cache_in_use());
            commit1(&a, "reg1", Change::CreateDomain(base_domain("a.no")))
                .await
                .unwrap();
            assert_eq!(b.domains_exist(&[dn("a.no")]).await.unwrap(), [true]);
            drop(b);
            until("the cache after b left", || a.check_cache_in_use()).await;
            let before = a.stats();
            assert_eq!(
                a.domains_exist(&[dn("a.no"), dn("b.no"), dn("c.no")])
                    .await
                    .unwrap(),
                [true, true, false]
            );
            assert_eq!(a.stats().checks_from_memory - before.checks_from_memory, 3);
        });
    }

    /// The guard's connection lost (here terminated): its locks are gone, so the cache is
    /// off until a new connection has them again.
    #[test]
    fn a_lost_guard_connection_turns_the_cache_off_until_it_is_back() {
        with_schema(|schema| async move {
            let store = alone(&schema).await;
            let killed: i64 = plain(&schema)
                .await
                .query_one(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks \
                     WHERE locktype = 'advisory' AND objsubid = 1 AND objid <> 0 \
                     AND classid = (hashtext($1)::bigint & 4294967295)::oid",
                    &[&schema.name],
                )
                .await
                .unwrap()
                .get(0);
            assert_eq!(killed, 1);
            until("the cache off", || !store.check_cache_in_use()).await;
            until("the cache back", || store.check_cache_in_use()).await;
            assert_eq!(store.stats().name_loads, 2);
            commit1(&store, "reg1", Change::CreateDomain(base_domain("x.no")))
                .await
                .unwrap();
            assert_eq!(store.domains_exist(&[dn("x.no")]).await.unwrap(), [true]);
        });
    }
}
