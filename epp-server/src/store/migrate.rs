//! Versioned schema migrations, embedded in the binary and applied in order.
//!
//! Each backend has its own files under `migrations/<backend>/NNNN_name.sql`. The table
//! `schema_migrations` records what was applied, with a checksum of the file: a database
//! whose applied migrations differ from the built-in ones, or that is newer than this
//! server, is refused. Applying is safe when several processes start at once: SQLite
//! serialises them with an IMMEDIATE transaction; on PostgreSQL each migration runs in a
//! transaction that first inserts its version, so a second process waits, then finds the
//! version taken and skips it. A migration may also fill a new column from Rust (a
//! [`Backfill`], e.g. each host's superordinate name from Norid's zone list), after its
//! file and in the same transaction.

use std::time::{SystemTime, UNIX_EPOCH};

use epp_norid_ext::policy::superordinate_name;
use epp_xml::HostName;
use rusqlite::{Connection, TransactionBehavior};
use tokio_postgres::error::SqlState;

use super::error::OpenError;

/// One migration file.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
    /// Values the SQL cannot compute, filled in by the runner after the file, in the same
    /// transaction.
    backfill: Option<Backfill>,
}

/// A column filled from Rust when a migration adds it.
#[derive(Debug, Clone, Copy)]
enum Backfill {
    /// `hosts.superordinate` from each host's name ([`superordinate_name`]).
    HostSuperordinate,
}

const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/sqlite/0001_initial.sql"),
        backfill: None,
    },
    Migration {
        version: 2,
        name: "host_superordinate",
        sql: include_str!("../../migrations/sqlite/0002_host_superordinate.sql"),
        backfill: Some(Backfill::HostSuperordinate),
    },
    Migration {
        version: 3,
        name: "domains_writer_guard",
        sql: include_str!("../../migrations/sqlite/0003_domains_writer_guard.sql"),
        backfill: None,
    },
    Migration {
        version: 4,
        name: "poll_once_key",
        sql: include_str!("../../migrations/sqlite/0004_poll_once_key.sql"),
        backfill: None,
    },
];

const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/postgres/0001_initial.sql"),
        backfill: None,
    },
    Migration {
        version: 2,
        name: "host_superordinate",
        sql: include_str!("../../migrations/postgres/0002_host_superordinate.sql"),
        backfill: Some(Backfill::HostSuperordinate),
    },
    Migration {
        version: 3,
        name: "domains_writer_guard",
        sql: include_str!("../../migrations/postgres/0003_domains_writer_guard.sql"),
        backfill: None,
    },
    Migration {
        version: 4,
        name: "poll_once_key",
        sql: include_str!("../../migrations/postgres/0004_poll_once_key.sql"),
        backfill: None,
    },
];

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run, in order.
    pub applied: Vec<i64>,
    /// The database's schema version afterwards.
    pub version: i64,
}

/// The state of a database's schema, read without changing anything (`config check
/// --database`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Whether the database exists: `false` for a SQLite file not created yet or a
    /// configured PostgreSQL schema that does not exist (both are created on first start).
    pub exists: bool,
    /// The latest migration applied (0 for none).
    pub version: i64,
    /// Migrations this server would apply, in order.
    pub pending: Vec<i64>,
}

/// The status of a database whose applied migrations are `applied`.
fn status(known: &[Migration], applied: &[(i64, String)]) -> Result<SchemaStatus, OpenError> {
    Ok(SchemaStatus {
        exists: true,
        version: applied.iter().map(|(v, _)| *v).max().unwrap_or(0),
        pending: plan(known, applied)?.iter().map(|m| m.version).collect(),
    })
}

/// The status of a database with no schema yet.
pub(crate) fn missing(postgres: bool) -> SchemaStatus {
    let known = if postgres { POSTGRES } else { SQLITE };
    SchemaStatus {
        exists: false,
        version: 0,
        pending: known.iter().map(|m| m.version).collect(),
    }
}

/// Reads a SQLite database's schema status (read-only).
pub(crate) fn sqlite_status(conn: &Connection) -> Result<SchemaStatus, OpenError> {
    let table: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    let applied: Vec<(i64, String)> = match table {
        0 => Vec::new(),
        _ => {
            let mut stmt =
                conn.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        }
    };
    status(SQLITE, &applied)
}

/// Reads a PostgreSQL database's schema status (the schema first on the search path).
pub(crate) async fn postgres_status(
    client: &tokio_postgres::Client,
) -> Result<SchemaStatus, OpenError> {
    let table = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await?;
    let applied: Vec<(i64, String)> = match table.get::<_, bool>(0) {
        false => Vec::new(),
        true => client
            .query(
                "SELECT version, checksum FROM schema_migrations ORDER BY version",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect(),
    };
    status(POSTGRES, &applied)
}

/// FNV-1a over the file: enough to notice an edited migration.
fn checksum(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Checks applied migrations against the built-in ones; returns the versions still to do.
fn plan<'m>(
    known: &'m [Migration],
    applied: &[(i64, String)],
) -> Result<Vec<&'m Migration>, OpenError> {
    let latest = known.last().map_or(0, |m| m.version);
    for (version, sum) in applied {
        match known.iter().find(|m| m.version == *version) {
            Some(m) if checksum(m.sql) == *sum => {}
            Some(m) => {
                return Err(OpenError::MigrationChanged {
                    version: m.version,
                    name: m.name.into(),
                });
            }
            None => {
                return Err(OpenError::DatabaseNewer {
                    found: *version,
                    known: latest,
                });
            }
        }
    }
    Ok(known
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
        .collect())
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Applies pending migrations to a SQLite database.
pub(crate) fn sqlite(conn: &mut Connection) -> Result<MigrationReport, OpenError> {
    conn.execute_batch(CREATE_TABLE)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: Vec<(i64, String)> = {
        let mut stmt =
            tx.prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut report = MigrationReport {
        applied: Vec::new(),
        version: applied.last().map_or(0, |(v, _)| *v),
    };
    for m in plan(SQLITE, &applied)? {
        tx.execute_batch(m.sql)?;
        if let Some(b) = m.backfill {
            backfill_sqlite(&tx, b)?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
             VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.version, m.name, checksum(m.sql), now_micros()],
        )?;
        report.applied.push(m.version);
        report.version = report.version.max(m.version);
    }
    tx.commit()?;
    Ok(report)
}

/// Applies pending migrations to a PostgreSQL database (in the schema first on the
/// connection's search path).
pub(crate) async fn postgres(
    client: &mut tokio_postgres::Client,
) -> Result<MigrationReport, OpenError> {
    if let Err(e) = client.batch_execute(CREATE_TABLE).await {
        // Two processes creating the table at once: `IF NOT EXISTS` is not atomic, so one
        // fails on a catalog's unique index (the table's or its row type's name); the
        // table exists either way, which the query below checks.
        if !is_concurrent_create(&e) {
            return Err(e.into());
        }
    }
    let mut report = MigrationReport {
        applied: Vec::new(),
        version: 0,
    };
    loop {
        let applied: Vec<(i64, String)> = client
            .query(
                "SELECT version, checksum FROM schema_migrations ORDER BY version",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        report.version = applied.last().map_or(0, |(v, _)| *v);
        let pending = plan(POSTGRES, &applied)?;
        let Some(m) = pending.first() else {
            return Ok(report);
        };
        let tx = client.transaction().await?;
        let claimed = tx
            .execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
                 VALUES ($1, $2, $3, $4)",
                &[&m.version, &m.name, &checksum(m.sql), &now_micros()],
            )
            .await;
        match claimed {
            Ok(_) => {
                tx.batch_execute(m.sql).await?;
                if let Some(b) = m.backfill {
                    backfill_postgres(&tx, b).await?;
                }
                tx.commit().await?;
                report.applied.push(m.version);
            }
            // Another process applied it meanwhile; read the table again.
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => tx.rollback().await?,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The hosts under `.no` (`roid`, `name`) with the superordinate name of each that has one.
fn superordinates(hosts: Vec<(String, String)>) -> Vec<(String, String)> {
    hosts
        .into_iter()
        .filter_map(|(roid, name)| {
            // Every stored name was a HostName; one that is not any more stays NULL, as
            // the consistency checker expects.
            let host = HostName::new(name).ok()?;
            let sup = superordinate_name(&host)?.to_owned();
            Some((roid, sup))
        })
        .collect()
}

/// Runs a backfill on SQLite.
fn backfill_sqlite(tx: &rusqlite::Transaction<'_>, b: Backfill) -> Result<(), OpenError> {
    match b {
        Backfill::HostSuperordinate => {
            let hosts: Vec<(String, String)> = {
                let mut stmt = tx.prepare("SELECT roid, name FROM hosts WHERE name LIKE '%.no'")?;
                stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?
            };
            let mut update = tx.prepare("UPDATE hosts SET superordinate = ?1 WHERE roid = ?2")?;
            for (roid, sup) in superordinates(hosts) {
                update.execute(rusqlite::params![sup, roid])?;
            }
        }
    }
    Ok(())
}

/// Runs a backfill on PostgreSQL: one statement per few thousand rows, not a round trip
/// per row.
async fn backfill_postgres(
    tx: &tokio_postgres::Transaction<'_>,
    b: Backfill,
) -> Result<(), OpenError> {
    match b {
        Backfill::HostSuperordinate => {
            let hosts = tx
                .query("SELECT roid, name FROM hosts WHERE name LIKE '%.no'", &[])
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            for chunk in superordinates(hosts).chunks(5000) {
                let (roids, sups): (Vec<&str>, Vec<&str>) =
                    chunk.iter().map(|(r, s)| (r.as_str(), s.as_str())).unzip();
                tx.execute(
                    "UPDATE hosts SET superordinate = v.sup \
                     FROM unnest($1::text[], $2::text[]) AS v (roid, sup) \
                     WHERE hosts.roid = v.roid",
                    &[&roids, &sups],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Whether a `CREATE ... IF NOT EXISTS` failed only because another session created the
/// same object at the same moment (PostgreSQL checks existence before taking the catalog
/// locks, and reports the loser as a unique violation or a duplicate object).
pub(crate) fn is_concurrent_create(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        [
            SqlState::UNIQUE_VIOLATION,
            SqlState::DUPLICATE_OBJECT,
            SqlState::DUPLICATE_TABLE,
            SqlState::DUPLICATE_SCHEMA,
        ]
        .contains(c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_refuses_edited_and_unknown_migrations() {
        let applied = vec![(1, checksum(SQLITE[0].sql))];
        let pending: Vec<i64> = plan(SQLITE, &applied)
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(pending, [2, 3, 4]);
        let applied: Vec<(i64, String)> = (SQLITE.iter())
            .map(|m| (m.version, checksum(m.sql)))
            .collect();
        assert!(plan(SQLITE, &applied).unwrap().is_empty());
        assert_eq!(plan(SQLITE, &[]).unwrap().len(), SQLITE.len());
        let edited = vec![(1, "0".repeat(16))];
        assert!(matches!(
            plan(SQLITE, &edited),
            Err(OpenError::MigrationChanged { version: 1, .. })
        ));
        let newer = vec![(1, checksum(SQLITE[0].sql)), (99, "x".into())];
        assert!(matches!(
            plan(SQLITE, &newer),
            Err(OpenError::DatabaseNewer { found: 99, .. })
        ));
    }

    /// A database at version 1 with hosts gets their superordinate names in place.
    #[test]
    fn sqlite_hosts_get_their_superordinate_names_on_upgrade() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(CREATE_TABLE).unwrap();
        conn.execute_batch(SQLITE[0].sql).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (1, 'initial', ?1, 0)",
            [checksum(SQLITE[0].sql)],
        )
        .unwrap();
        let hosts = [
            ("H1", "ns1.example.no"),
            ("H2", "ns1.sub.example.no"),
            ("H3", "ns.ola.oslo.no"),
            ("H4", "ns1.example.com"),
            ("H5", "example.no"),
        ];
        for (roid, name) in hosts {
            conn.execute(
                "INSERT INTO hosts (roid, name, cl_id, pending, version, data) \
                 VALUES (?1, ?2, 'reg0', 0, 1, '{}')",
                [roid, name],
            )
            .unwrap();
        }
        let report = sqlite(&mut conn).unwrap();
        assert_eq!(report.applied, [2, 3, 4]);
        let mut stmt = conn
            .prepare("SELECT roid, superordinate FROM hosts ORDER BY roid")
            .unwrap();
        let got: Vec<(String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want = [
            ("H1", Some("example.no")),
            ("H2", Some("example.no")),
            ("H3", Some("ola.oslo.no")),
            ("H4", None),
            ("H5", None),
        ]
        .map(|(r, s)| (r.to_owned(), s.map(str::to_owned)));
        assert_eq!(got, want);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT name FROM hosts WHERE superordinate = 'example.no' \
                 AND name > '' ORDER BY name",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("hosts_superordinate"), "{plan}");
    }

    #[test]
    fn migrations_are_numbered_in_order() {
        for list in [SQLITE, POSTGRES] {
            for (i, m) in list.iter().enumerate() {
                assert_eq!(m.version, i as i64 + 1);
            }
        }
        assert_eq!(
            SQLITE.len(),
            POSTGRES.len(),
            "both backends have the same schema versions"
        );
    }
}
