//! A consistency checker over the registry's tables, run from the test process with SQL on
//! the SQLite file or the PostgreSQL schema the server used (not through the store, so a
//! store bug cannot hide itself): no dangling reference, the link tables equal the
//! references inside each object's JSON, every object has its creating history row and
//! a history chain without gaps ending in its current data, each host's superordinate
//! name column matches its name, transfer poll messages match the transfer history rows,
//! every transform in the history has its replay record, and no id sequence is behind the
//! ids already issued.

use std::collections::{BTreeMap, BTreeSet};

use epp_norid_ext::policy::superordinate_name;
use epp_xml::HostName;
use serde_json::Value;

use crate::db::Db;

/// One database connection, every value read as text.
pub(crate) enum Sql {
    Sqlite(rusqlite::Connection),
    Pg(tokio_postgres::Client),
}

/// A row: each column as text, `None` for NULL.
pub(crate) type Row = Vec<Option<String>>;

impl Sql {
    /// Connects to the database of `db` (the server may be running or dead).
    pub(crate) async fn open(db: &Db) -> Sql {
        match db.pg() {
            Some((url, schema)) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("SET search_path TO {schema}"))
                    .await
                    .unwrap();
                Sql::Pg(client)
            }
            None => {
                let conn = rusqlite::Connection::open_with_flags(
                    db.sqlite_path(),
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .unwrap();
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .unwrap();
                Sql::Sqlite(conn)
            }
        }
    }

    /// A read-write connection to the SQLite file of `db`, for tests that damage it on
    /// purpose inside a transaction they roll back.
    pub(crate) fn sqlite_writable(db: &Db) -> Sql {
        let conn = rusqlite::Connection::open(db.sqlite_path()).unwrap();
        // The damage must get past the schema's own guards.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        Sql::Sqlite(conn)
    }

    /// Runs statements (SQLite only).
    pub(crate) fn execute(&self, sql: &str) {
        match self {
            Sql::Sqlite(conn) => conn
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Sql::Pg(_) => unreachable!("only the SQLite file is damaged on purpose"),
        }
    }

    /// The rows of `sql` (the same text on both backends).
    pub(crate) async fn rows(&self, sql: &str) -> Vec<Row> {
        match self {
            Sql::Sqlite(conn) => {
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                let mut rows = stmt.query([]).unwrap();
                let mut out = Vec::new();
                while let Some(row) = rows.next().unwrap() {
                    out.push(
                        (0..n)
                            .map(|i| match row.get_ref(i).unwrap() {
                                rusqlite::types::ValueRef::Null => None,
                                rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Text(t) => {
                                    Some(String::from_utf8_lossy(t).into_owned())
                                }
                                rusqlite::types::ValueRef::Blob(b) => Some(format!("{b:?}")),
                            })
                            .collect(),
                    );
                }
                out
            }
            Sql::Pg(client) => {
                let msgs = client
                    .simple_query(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                msgs.into_iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
                        }
                        _ => None,
                    })
                    .collect()
            }
        }
    }

    /// The one integer `sql` returns.
    pub(crate) async fn count(&self, sql: &str) -> u64 {
        let rows = self.rows(sql).await;
        rows[0][0].as_deref().unwrap().parse().unwrap()
    }
}

/// What the checker looked at.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Checked {
    pub(crate) domains: u64,
    pub(crate) contacts: u64,
    pub(crate) hosts: u64,
    pub(crate) history_rows: u64,
    pub(crate) poll_messages: u64,
}

impl Checked {
    pub(crate) fn objects(&self) -> u64 {
        self.domains + self.contacts + self.hosts
    }
}

/// Dangling references, each query returning the offending rows. The schema has foreign
/// keys for all of these; the checker does not rely on them being enforced.
const ORPHANS: &[(&str, &str)] = &[
    (
        "contact sponsored by a missing registrar",
        "SELECT id FROM contacts WHERE cl_id NOT IN (SELECT id FROM registrars)",
    ),
    (
        "contact link to a missing contact",
        "SELECT contact, target FROM contact_links WHERE contact NOT IN (SELECT id FROM contacts) \
         OR target NOT IN (SELECT id FROM contacts)",
    ),
    (
        "host sponsored by a missing registrar",
        "SELECT name FROM hosts WHERE cl_id NOT IN (SELECT id FROM registrars)",
    ),
    (
        "host contact link to a missing host or contact",
        "SELECT host, contact FROM host_contacts WHERE host NOT IN (SELECT roid FROM hosts) \
         OR contact NOT IN (SELECT id FROM contacts)",
    ),
    (
        "domain with a missing sponsor or registrant",
        "SELECT name FROM domains WHERE cl_id NOT IN (SELECT id FROM registrars) \
         OR registrant NOT IN (SELECT id FROM contacts)",
    ),
    (
        "domain contact link to a missing domain or contact",
        "SELECT domain, contact FROM domain_contacts WHERE domain NOT IN (SELECT name FROM domains) \
         OR contact NOT IN (SELECT id FROM contacts)",
    ),
    (
        "name server link to a missing domain or host",
        "SELECT domain, host FROM domain_hosts WHERE domain NOT IN (SELECT name FROM domains) \
         OR host NOT IN (SELECT name FROM hosts)",
    ),
    (
        "transfer token of a missing domain or registrar",
        "SELECT domain FROM transfer_tokens WHERE domain NOT IN (SELECT name FROM domains) \
         OR requested_by NOT IN (SELECT id FROM registrars)",
    ),
    (
        "poll message to a missing registrar",
        "SELECT id FROM poll_messages WHERE registrar NOT IN (SELECT id FROM registrars)",
    ),
    (
        "domain without a tech contact",
        "SELECT name FROM domains WHERE cl_id <> 'reg0' AND name NOT IN \
         (SELECT domain FROM domain_contacts WHERE role = 'tech')",
    ),
];

fn json(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: stored JSON does not parse: {e}"))
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The number in a server-issued id such as `DOM12D-NORID`, `HOST3H-NORID` or `KN7O`
/// (`None` for fixture ids, which are not from the sequences).
fn issued_number(id: &str, prefix: &str) -> Option<u64> {
    let rest = id.strip_prefix(prefix)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Runs every check; panics with the list of violations. `polls_unacked`: nobody acked a
/// poll message, so every transfer left exactly its two messages.
pub(crate) async fn check(db: &Db, polls_unacked: bool) -> Checked {
    let (checked, bad) = violations(&Sql::open(db).await, polls_unacked).await;
    assert!(
        bad.is_empty(),
        "the database is inconsistent:\n{}",
        bad.join("\n")
    );
    checked
}

/// Runs every check on `sql`: what was checked, and every violation found.
pub(crate) async fn violations(sql: &Sql, polls_unacked: bool) -> (Checked, Vec<String>) {
    let mut bad: Vec<String> = Vec::new();
    for (what, query) in ORPHANS {
        for row in sql.rows(query).await {
            bad.push(format!("{what}: {row:?}"));
        }
    }

    // History, by object.
    let mut history: BTreeMap<(String, String), Vec<Row>> = BTreeMap::new();
    let rows = sql
        .rows(
            "SELECT object_kind, object_key, CAST(id AS TEXT), command, registrar, cl_trid, \
             before_data, after_data, CAST(at AS TEXT) FROM history ORDER BY history.id",
        )
        .await;
    let history_rows = rows.len() as u64;
    for r in rows {
        let key = (r[0].clone().unwrap(), r[1].clone().unwrap());
        history.entry(key).or_default().push(r);
    }
    // The chain of each object: the first row creates it, each row starts from the state
    // the previous one left, and the last one left the stored data (or deleted it).
    let mut current: BTreeMap<(String, String), String> = BTreeMap::new();
    for (kind, table, key) in [
        ("domain", "domains", "name"),
        ("contact", "contacts", "id"),
        ("host", "hosts", "name"),
    ] {
        for r in sql.rows(&format!("SELECT {key}, data FROM {table}")).await {
            current.insert(
                (kind.to_owned(), r[0].clone().unwrap()),
                r[1].clone().unwrap(),
            );
        }
    }
    for (key, data) in &current {
        if !history.contains_key(key) {
            bad.push(format!("{key:?} has no history row"));
        }
        let _ = data;
    }
    for (key, rows) in &history {
        if !["domain", "contact", "host"].contains(&key.0.as_str()) {
            continue;
        }
        if rows[0][6].is_some() || rows[0][7].is_none() {
            let summary: Vec<_> = rows
                .iter()
                .map(|r| {
                    format!(
                        "#{} {} {} {} before={} after={}",
                        r[2].as_deref().unwrap_or(""),
                        r[3].as_deref().unwrap_or(""),
                        r[4].as_deref().unwrap_or(""),
                        r[5].as_deref().unwrap_or(""),
                        r[6].is_some(),
                        r[7].is_some()
                    )
                })
                .collect();
            bad.push(format!(
                "{key:?}: the first history row does not create it: {summary:?}"
            ));
        }
        for pair in rows.windows(2) {
            if pair[1][6] != pair[0][7] {
                bad.push(format!(
                    "{key:?}: history row {} does not start where row {} ended",
                    pair[1][2].as_deref().unwrap(),
                    pair[0][2].as_deref().unwrap()
                ));
            }
        }
        let last = rows.last().unwrap()[7].clone();
        if last.as_ref() != current.get(key) {
            bad.push(format!(
                "{key:?}: the last history row's after-image differs from the stored object \
                 (history {}, stored {})",
                if last.is_some() { "present" } else { "deleted" },
                if current.contains_key(key) {
                    "present"
                } else {
                    "absent"
                },
            ));
        }
    }

    // Each object's columns and link rows equal its JSON.
    let mut links: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in sql
        .rows("SELECT domain, role, contact FROM domain_contacts")
        .await
    {
        links
            .entry(r[0].clone().unwrap())
            .or_default()
            .insert((r[1].clone().unwrap(), r[2].clone().unwrap()));
    }
    let mut ns_links: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in sql.rows("SELECT domain, host FROM domain_hosts").await {
        ns_links
            .entry(r[0].clone().unwrap())
            .or_default()
            .insert(r[1].clone().unwrap());
    }
    let domains = sql
        .rows("SELECT name, roid, cl_id, registrant, data FROM domains")
        .await;
    let mut max_issued: BTreeMap<&str, u64> = BTreeMap::new();
    let mut issued = |seq: &'static str, n: Option<u64>| {
        if let Some(n) = n {
            let m = max_issued.entry(seq).or_default();
            *m = (*m).max(n);
        }
    };
    for r in &domains {
        let name = r[0].clone().unwrap();
        let d = json(r[4].as_deref().unwrap(), &name);
        let cols = [
            ("name", &r[0]),
            ("roid", &r[1]),
            ("clId", &r[2]),
            ("registrant", &r[3]),
        ];
        for (field, col) in cols {
            if text(&d, field).as_ref() != col.as_ref() {
                bad.push(format!(
                    "domain {name}: column {field} differs from its JSON"
                ));
            }
        }
        let contacts: BTreeSet<(String, String)> = d
            .get("contacts")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|c| (text(c, "type").unwrap(), text(c, "id").unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        if links.get(&name).cloned().unwrap_or_default() != contacts {
            bad.push(format!(
                "domain {name}: domain_contacts rows differ from its contacts"
            ));
        }
        if ns_links.get(&name).cloned().unwrap_or_default() != strings(&d["ns"]) {
            bad.push(format!(
                "domain {name}: domain_hosts rows differ from its name servers"
            ));
        }
    }
    let mut contact_links: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in sql
        .rows("SELECT contact, role, target FROM contact_links")
        .await
    {
        contact_links
            .entry(r[0].clone().unwrap())
            .or_default()
            .insert((r[1].clone().unwrap(), r[2].clone().unwrap()));
    }
    let contacts = sql.rows("SELECT id, roid, cl_id, data FROM contacts").await;
    for r in &contacts {
        let id = r[0].clone().unwrap();
        let c = json(r[3].as_deref().unwrap(), &id);
        if text(&c, "id").as_ref() != r[0].as_ref()
            || text(&c, "roid").as_ref() != r[1].as_ref()
            || text(&c, "clId").as_ref() != r[2].as_ref()
        {
            bad.push(format!("contact {id}: columns differ from its JSON"));
        }
        let mut want = BTreeSet::new();
        for (role, field) in [
            ("organization", "organizations"),
            ("roleContact", "roleContacts"),
        ] {
            for t in strings(c.get(field).unwrap_or(&Value::Null)) {
                want.insert((role.to_owned(), t));
            }
        }
        if contact_links.get(&id).cloned().unwrap_or_default() != want {
            bad.push(format!(
                "contact {id}: contact_links rows differ from its JSON"
            ));
        }
    }
    let hosts = sql
        .rows("SELECT name, roid, cl_id, data, superordinate FROM hosts")
        .await;
    for r in &hosts {
        let name = r[0].clone().unwrap();
        let h = json(r[3].as_deref().unwrap(), &name);
        if text(&h, "name").as_ref() != r[0].as_ref()
            || text(&h, "roid").as_ref() != r[1].as_ref()
            || text(&h, "clId").as_ref() != r[2].as_ref()
        {
            bad.push(format!("host {name}: columns differ from its JSON"));
        }
        // The column a domain's subordinate hosts are found by: the name's superordinate
        // name, also after a rename.
        let want = HostName::new(name.as_str())
            .ok()
            .and_then(|n| superordinate_name(&n).map(str::to_owned));
        if r[4] != want {
            bad.push(format!(
                "host {name}: superordinate column {:?}, its name says {want:?}",
                r[4]
            ));
        }
    }
    // ROIDs issued over EPP (deleted objects' too, from the creating history rows; fixture
    // objects carry no clTRID and ROIDs of their own) are below the sequence.
    for rows in history.values() {
        for r in rows {
            if r[5].is_none() || r[6].is_some() {
                continue;
            }
            if let Some(after) = r[7].as_deref() {
                let v = json(after, "history row");
                if let Some(roid) = text(&v, "roid") {
                    let seq = match r[0].as_deref() {
                        Some("domain") => "domain_roid",
                        Some("contact") => "contact_roid",
                        Some("host") => "host_roid",
                        _ => continue,
                    };
                    let prefix = &seq[..seq.find('_').unwrap()].to_ascii_uppercase();
                    let prefix = match prefix.as_str() {
                        "CONTACT" => "CON",
                        "DOMAIN" => "DOM",
                        other => other,
                    };
                    issued(seq, issued_number(&roid, prefix));
                }
            }
        }
    }
    for (seq, max) in &max_issued {
        let next = match sql {
            Sql::Sqlite(_) => {
                sql.count(&format!(
                    "SELECT next_value FROM sequences WHERE name = '{seq}'"
                ))
                .await
            }
            Sql::Pg(_) => {
                sql.count(&format!(
                    "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END \
                     FROM seq_{seq}"
                ))
                .await
            }
        };
        if next <= *max {
            bad.push(format!(
                "sequence {seq} would issue {next} again (issued up to {max})"
            ));
        }
    }

    // Transfers and their poll messages (written in the same change set).
    let polls = sql
        .rows("SELECT registrar, kind, payload, msg, CAST(q_date AS TEXT) FROM poll_messages")
        .await;
    if polls_unacked {
        let mut from_history = BTreeMap::<(String, String, String), u32>::new();
        for ((kind, key), rows) in &history {
            if kind != "domain" {
                continue;
            }
            for r in rows {
                if r[3].as_deref() == Some("domain:transfer-execute") {
                    let before = r[6].as_deref().map(|b| json(b, key));
                    let Some(loser) = before.as_ref().and_then(|b| text(b, "clId")) else {
                        bad.push(format!("{key:?}: a transfer row without the old sponsor"));
                        continue;
                    };
                    let at = r[8].clone().unwrap();
                    *from_history
                        .entry((loser, key.clone(), at.clone()))
                        .or_default() += 1;
                    *from_history
                        .entry((r[4].clone().unwrap(), key.clone(), at))
                        .or_default() += 1;
                }
            }
        }
        let mut from_polls = BTreeMap::<(String, String, String), u32>::new();
        for p in &polls {
            let msg = p[3].as_deref().unwrap();
            let Some(domain) = msg
                .strip_prefix("Domain [")
                .and_then(|m| m.split(']').next())
            else {
                continue;
            };
            if msg.contains("has been transferred") {
                *from_polls
                    .entry((
                        p[0].clone().unwrap(),
                        domain.to_owned(),
                        p[4].clone().unwrap(),
                    ))
                    .or_default() += 1;
            }
        }
        if from_history != from_polls {
            bad.push(format!(
                "transfer poll messages do not match the transfer history rows:\n  \
                 history {from_history:?}\n  polls {from_polls:?}"
            ));
        }
    }

    // Every transform in the history (EPP commands carry a clTRID) left its replay record
    // in the same transaction.
    let replays: BTreeSet<(String, String)> = sql
        .rows("SELECT registrar, cl_trid FROM replays")
        .await
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    for rows in history.values() {
        for r in rows {
            if let (Some(reg), Some(trid)) = (&r[4], &r[5])
                && !replays.contains(&(reg.clone(), trid.clone()))
            {
                bad.push(format!(
                    "history row {} ({reg} {trid}) has no replay record",
                    r[2].as_deref().unwrap()
                ));
            }
        }
    }

    let checked = Checked {
        domains: domains.len() as u64,
        contacts: contacts.len() as u64,
        hosts: hosts.len() as u64,
        history_rows,
        poll_messages: polls.len() as u64,
    };
    (checked, bad)
}
