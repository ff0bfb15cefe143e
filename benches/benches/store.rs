//! The store's create transaction and point read on each backend, each beside the raw rate
//! of the same SQL statements run directly on the driver (no store, no JSON encoding or
//! decoding, no writer thread, no pool).
//!
//! - `create`: one domain create per transaction, one at a time.
//! - `create_x32`: 32 domain creates in flight at once: through the store they share group
//!   commits (SQLite) or run on several connections (PostgreSQL); raw, they are 32
//!   transactions one after another on one connection.
//! - `read`: one domain by name.
//! - `empty_commit` (SQLite): a change set with no changes, i.e. the round trip to the
//!   writer thread and back.
//!
//! PostgreSQL runs only when `EPP_TEST_PG_URL` is set, in a fresh schema that is dropped
//! afterwards. SQLite files live under the target directory (a real disk, not tmpfs), with
//! `synchronous=FULL` unless the bench name says `normal`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use epp_server::store::{Durability, PgStore, PostgresConfig, SqliteConfig, SqliteStore};
use epp_session::store::suite::{base, base_domain, dn, meta};
use epp_session::store::{Change, ChangeSet, MemoryStore, Store};
use futures_util::future::join_all;
use tokio::runtime::Runtime;

static NEXT: AtomicU64 = AtomicU64::new(0);

fn fresh_name() -> String {
    format!("bench{}.no", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn create_set(name: &str) -> ChangeSet {
    ChangeSet::new(meta("reg1", "domain:create", 0)).with(Change::CreateDomain(base_domain(name)))
}

/// The JSON a create writes, computed once for the raw runs.
fn domain_json(name: &str) -> String {
    base_domain(name).to_json().unwrap()
}

fn configure(c: &mut Criterion) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group("store");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    g
}

/// Times `iters` runs of `op`, each creating `per_iter` domains, through the store.
fn bench_store<S: Store>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    store: &S,
    backend: &str,
) {
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        BenchmarkId::new(format!("{backend}/create"), "store"),
        |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        store.commit(create_set(&fresh_name())).await.unwrap();
                    }
                    start.elapsed()
                })
            })
        },
    );
    g.throughput(Throughput::Elements(32));
    g.bench_function(
        BenchmarkId::new(format!("{backend}/create_x32"), "store"),
        |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let sets: Vec<_> = (0..32).map(|_| create_set(&fresh_name())).collect();
                        for r in join_all(sets.into_iter().map(|s| store.commit(s))).await {
                            r.unwrap();
                        }
                    }
                    start.elapsed()
                })
            })
        },
    );
    let name = dn(&fresh_name());
    rt.block_on(store.commit(create_set(name.as_str())))
        .unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new(format!("{backend}/read"), "store"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    store.domain(&name).await.unwrap().unwrap();
                }
                start.elapsed()
            })
        })
    });
}

// --- SQLite ---------------------------------------------------------------------------------

/// The statements the SQLite store runs for a domain create (its checks, then its writes),
/// in one transaction.
fn sqlite_raw_create(conn: &mut rusqlite::Connection, name: &str, json: &str) {
    let roid = format!("D{}-NORID", name.replace('.', "_"));
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let exists = |sql: &str, p: &[&dyn rusqlite::ToSql]| {
        let mut stmt = tx.prepare_cached(sql).unwrap();
        stmt.exists(p).unwrap()
    };
    assert!(!exists(
        "SELECT 1 FROM domains WHERE name = ?1 OR roid = ?2",
        &[&name, &roid]
    ));
    assert!(exists("SELECT 1 FROM registrars WHERE id = ?1", &[&"reg1"]));
    assert!(exists("SELECT 1 FROM contacts WHERE id = ?1", &[&"ORG1O"]));
    assert!(exists("SELECT 1 FROM contacts WHERE id = ?1", &[&"ROLE1R"]));
    assert!(exists(
        "SELECT 1 FROM hosts WHERE name = ?1",
        &[&"ns1.example.net"]
    ));
    assert!(exists(
        "SELECT 1 FROM hosts WHERE name = ?1",
        &[&"ns2.example.net"]
    ));
    tx.prepare_cached(
        "INSERT INTO domains (name, roid, cl_id, registrant, ex_date, lifecycle, \
         lifecycle_since, delete_from_dns, delete_from_registry, version, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10) ON CONFLICT DO NOTHING",
    )
    .unwrap()
    .execute(rusqlite::params![
        name,
        roid,
        "reg1",
        "ORG1O",
        1_000_000i64,
        "active",
        None::<i64>,
        None::<String>,
        None::<String>,
        json
    ])
    .unwrap();
    tx.prepare_cached(
        "INSERT INTO domain_contacts (domain, role, contact) VALUES (?1, ?2, ?3) \
         ON CONFLICT DO NOTHING",
    )
    .unwrap()
    .execute(rusqlite::params![name, "tech", "ROLE1R"])
    .unwrap();
    for host in ["ns1.example.net", "ns2.example.net"] {
        tx.prepare_cached(
            "INSERT INTO domain_hosts (domain, host) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )
        .unwrap()
        .execute(rusqlite::params![name, host])
        .unwrap();
    }
    tx.prepare_cached(
        "INSERT INTO history (object_kind, object_key, roid, registrar, at, cl_trid, \
         sv_trid, command, before_data, after_data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .unwrap()
    .execute(rusqlite::params![
        "domain",
        name,
        roid,
        "reg1",
        0i64,
        "CL-1",
        "SV-1",
        "domain:create",
        None::<String>,
        json
    ])
    .unwrap();
    tx.commit().unwrap();
}

fn bench_sqlite_raw(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    path: &std::path::Path,
    backend: &str,
    durability: Durability,
) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    let sync = if durability == Durability::Full {
        "FULL"
    } else {
        "NORMAL"
    };
    conn.pragma_update(None, "synchronous", sync).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new(format!("{backend}/create"), "raw"), |b| {
        b.iter_custom(|iters| {
            let work: Vec<_> = (0..iters)
                .map(|_| {
                    let n = fresh_name();
                    let j = domain_json(&n);
                    (n, j)
                })
                .collect();
            let start = Instant::now();
            for (name, json) in &work {
                sqlite_raw_create(&mut conn, name, json);
            }
            start.elapsed()
        })
    });
    if durability == Durability::Full {
        g.throughput(Throughput::Elements(32));
        g.bench_function(
            BenchmarkId::new(format!("{backend}/create_x32"), "raw"),
            |b| {
                b.iter_custom(|iters| {
                    let work: Vec<_> = (0..iters * 32)
                        .map(|_| {
                            let n = fresh_name();
                            let j = domain_json(&n);
                            (n, j)
                        })
                        .collect();
                    let start = Instant::now();
                    for (name, json) in &work {
                        sqlite_raw_create(&mut conn, name, json);
                    }
                    start.elapsed()
                })
            },
        );
        let name = fresh_name();
        sqlite_raw_create(&mut conn, &name, &domain_json(&name));
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new(format!("{backend}/read"), "raw"), |b| {
            let mut stmt = conn
                .prepare_cached("SELECT version, data FROM domains WHERE name = ?1")
                .unwrap();
            b.iter(|| {
                stmt.query_row([&name], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .unwrap()
            })
        });
    }
}

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for (backend, durability) in [
        ("sqlite", Durability::Full),
        ("sqlite_normal", Durability::Normal),
    ] {
        let path = dir.path().join(format!("{backend}.db"));
        let mut config = SqliteConfig::new(&path);
        config.durability = durability;
        let store = SqliteStore::open(config).unwrap();
        rt.block_on(base(&store));
        let mut g = configure(c);
        if durability == Durability::Full {
            bench_store(&mut g, &rt, &store, backend);
            // An empty change set: the writer round trip alone (no page is written, so
            // the COMMIT does not sync).
            g.throughput(Throughput::Elements(1));
            g.bench_function(
                BenchmarkId::new(format!("{backend}/empty_commit"), "store"),
                |b| {
                    b.iter_custom(|iters| {
                        rt.block_on(async {
                            let start = Instant::now();
                            for _ in 0..iters {
                                let set = ChangeSet::new(meta("reg1", "noop", 0));
                                store.commit(set).await.unwrap();
                            }
                            start.elapsed()
                        })
                    })
                },
            );
        } else {
            g.throughput(Throughput::Elements(1));
            g.bench_function(
                BenchmarkId::new(format!("{backend}/create"), "store"),
                |b| {
                    b.iter_custom(|iters| {
                        rt.block_on(async {
                            let start = Instant::now();
                            for _ in 0..iters {
                                store.commit(create_set(&fresh_name())).await.unwrap();
                            }
                            start.elapsed()
                        })
                    })
                },
            );
        }
        bench_sqlite_raw(&mut g, &path, backend, durability);
        g.finish();
    }
}

// --- memory ---------------------------------------------------------------------------------

fn memory(c: &mut Criterion) {
    let rt = runtime();
    let store = MemoryStore::new();
    rt.block_on(base(&store));
    let mut g = configure(c);
    bench_store(&mut g, &rt, &store, "memory");
    g.finish();
}

// --- PostgreSQL -----------------------------------------------------------------------------

/// The statements the PostgreSQL store runs for a domain create (constraints check the
/// references), prepared once on one connection.
struct PgRaw {
    client: tokio_postgres::Client,
    domain: tokio_postgres::Statement,
    contact: tokio_postgres::Statement,
    host: tokio_postgres::Statement,
    history: tokio_postgres::Statement,
}

impl PgRaw {
    async fn new(client: tokio_postgres::Client) -> Self {
        let domain = client
            .prepare(
                "INSERT INTO domains (name, roid, cl_id, registrant, ex_date, lifecycle, \
                 lifecycle_since, delete_from_dns, delete_from_registry, version, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10) ON CONFLICT DO NOTHING",
            )
            .await
            .unwrap();
        let contact = client
            .prepare(
                "INSERT INTO domain_contacts (domain, role, contact) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .await
            .unwrap();
        let host = client
            .prepare(
                "INSERT INTO domain_hosts (domain, host) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .await
            .unwrap();
        let history = client
            .prepare(
                "INSERT INTO history (object_kind, object_key, roid, registrar, at, cl_trid, \
                 sv_trid, command, before_data, after_data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await
            .unwrap();
        Self {
            client,
            domain,
            contact,
            host,
            history,
        }
    }

    /// One domain create in one SERIALIZABLE transaction.
    async fn create(&self, name: &str, json: &str) {
        let roid = format!("D{}-NORID", name.replace('.', "_"));
        let c = &self.client;
        c.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .await
            .unwrap();
        let n = c
            .execute(
                &self.domain,
                &[
                    &name,
                    &roid,
                    &"reg1",
                    &"ORG1O",
                    &1_000_000i64,
                    &"active",
                    &None::<i64>,
                    &None::<String>,
                    &None::<String>,
                    &json,
                ],
            )
            .await
            .unwrap();
        assert_eq!(n, 1);
        c.execute(&self.contact, &[&name, &"tech", &"ROLE1R"])
            .await
            .unwrap();
        for host in ["ns1.example.net", "ns2.example.net"] {
            c.execute(&self.host, &[&name, &host]).await.unwrap();
        }
        c.execute(
            &self.history,
            &[
                &"domain",
                &name,
                &roid,
                &"reg1",
                &0i64,
                &"CL-1",
                &"SV-1",
                &"domain:create",
                &None::<String>,
                &json,
            ],
        )
        .await
        .unwrap();
        c.batch_execute("COMMIT").await.unwrap();
    }
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("EPP_TEST_PG_URL") else {
        eprintln!("skipping PostgreSQL store benches: EPP_TEST_PG_URL is not set");
        return;
    };
    let rt = runtime();
    let schema = format!("epp_bench_{}", std::process::id());
    let mut config = PostgresConfig::new(&url);
    config.schema = Some(schema.clone());
    let store = rt.block_on(PgStore::connect(&config)).unwrap();
    rt.block_on(base(&store));
    let mut g = configure(c);
    bench_store(&mut g, &rt, &store, "postgres");

    let mut pg_config: tokio_postgres::Config = url.parse().unwrap();
    pg_config.options(format!("-c search_path={schema}"));
    let raw = rt.block_on(async {
        let (client, conn) = pg_config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        PgRaw::new(client).await
    });
    for (id, per_iter) in [("create", 1u64), ("create_x32", 32)] {
        g.throughput(Throughput::Elements(per_iter));
        g.bench_function(BenchmarkId::new(format!("postgres/{id}"), "raw"), |b| {
            b.iter_custom(|iters| {
                let work: Vec<_> = (0..iters * per_iter)
                    .map(|_| {
                        let n = fresh_name();
                        let j = domain_json(&n);
                        (n, j)
                    })
                    .collect();
                rt.block_on(async {
                    let start = Instant::now();
                    for (name, json) in &work {
                        raw.create(name, json).await;
                    }
                    start.elapsed()
                })
            })
        });
    }
    let name = fresh_name();
    rt.block_on(raw.create(&name, &domain_json(&name)));
    let client = &raw.client;
    let read = rt
        .block_on(client.prepare("SELECT version, data FROM domains WHERE name = $1"))
        .unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("postgres/read", "raw"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let row = client.query_one(&read, &[&name]).await.unwrap();
                    let _: (i64, String) = (row.get(0), row.get(1));
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    drop(store);
    rt.block_on(client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")))
        .unwrap();
}

criterion_group!(benches, memory, sqlite, postgres);
criterion_main!(benches);
