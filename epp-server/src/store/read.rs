//! The store's reads on SQL, written once for both drivers. Each read is one statement, so
//! it sees one committed state without a transaction around it.

use epp_norid_ext::policy;
use epp_session::store::StoreError;
use epp_session::store::model::{
    CertFingerprint, Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery,
    Notification, ObjectKey, PasswordHash, PollMessage, PollPayload, PollSummary, PolledMessage,
    Registrar, ReplayRecord, TokenHash, TransferToken,
};
use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Timestamp};

use super::sql::{Conn, DbError, Row, TxError, Value};

/// A read's result. Database errors keep their class, so that a read inside a transaction
/// that PostgreSQL aborts (SQLSTATE 40001 can come from a read too) is run again like any
/// other statement of it; the stores' plain reads turn them into a [`StoreError`].
type ReadResult<T> = Result<T, TxError>;

fn db(e: DbError) -> TxError {
    TxError::Db(e)
}

fn ts(n: i64) -> Timestamp {
    Timestamp::from_unix_micros(n)
}

fn clamp_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn registrar_row(row: &Row) -> ReadResult<Registrar> {
    let pins = row
        .text(4)?
        .split_whitespace()
        .map(|p| p.parse::<CertFingerprint>())
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Corrupt(format!("registrar certificate pin: {e}")))?;
    Ok(Registrar {
        id: row.parse(0)?,
        name: row.text(1)?.to_owned(),
        password: PasswordHash::from_phc(row.text(2)?),
        pending_password: row.opt_text(3)?.map(PasswordHash::from_phc),
        cert_pins: pins,
        session_limit: u32::try_from(row.int(5)?)
            .map_err(|_| StoreError::Corrupt("session_limit out of range".into()))?,
        enabled: row.bool(6)?,
        created: ts(row.int(7)?),
        version: row.u64(8)?,
    })
}

pub(crate) async fn registrar<C: Conn>(c: &mut C, id: &ClientId) -> ReadResult<Option<Registrar>> {
    const SQL: &str = "SELECT id, name, password_hash, pending_password_hash, cert_pins, \
                       session_limit, enabled, created, version FROM registrars WHERE id = $1";
    let row = c.query_opt(SQL, &[id.as_str().into()]).await.map_err(db)?;
    row.as_ref().map(registrar_row).transpose()
}

pub(crate) async fn registrars<C: Conn>(c: &mut C) -> ReadResult<Vec<Registrar>> {
    const SQL: &str = "SELECT id, name, password_hash, pending_password_hash, cert_pins, \
                       session_limit, enabled, created, version FROM registrars ORDER BY id";
    let rows = c.query(SQL, &[]).await.map_err(db)?;
    rows.iter().map(registrar_row).collect()
}

pub(crate) async fn domain<C: Conn>(c: &mut C, name: &DomainName) -> ReadResult<Option<Domain>> {
    let row = c
        .query_opt(
            "SELECT version, data FROM domains WHERE name = $1",
            &[name.as_str().into()],
        )
        .await
        .map_err(db)?;
    row.map(|r| Domain::from_json(r.text(1)?, r.u64(0)?))
        .transpose()
        .map_err(TxError::Rule)
}

pub(crate) async fn contact<C: Conn>(c: &mut C, id: &ContactId) -> ReadResult<Option<Contact>> {
    let row = c
        .query_opt(
            "SELECT version, data FROM contacts WHERE id = $1",
            &[id.as_str().into()],
        )
        .await
        .map_err(db)?;
    row.map(|r| Contact::from_json(r.text(1)?, r.u64(0)?))
        .transpose()
        .map_err(TxError::Rule)
}

pub(crate) async fn host<C: Conn>(c: &mut C, name: &HostName) -> ReadResult<Option<Host>> {
    let row = c
        .query_opt(
            "SELECT version, data FROM hosts WHERE name = $1",
            &[name.as_str().into()],
        )
        .await
        .map_err(db)?;
    row.map(|r| Host::from_json(r.text(1)?, r.u64(0)?))
        .transpose()
        .map_err(TxError::Rule)
}

pub(crate) async fn exist<C: Conn>(
    c: &mut C,
    sql: &'static str,
    keys: impl Iterator<Item = &str>,
) -> ReadResult<Vec<bool>> {
    let mut out = Vec::new();
    for key in keys {
        out.push(c.query_opt(sql, &[key.into()]).await.map_err(db)?.is_some());
    }
    Ok(out)
}

/// One object other than the contact itself that refers to it, the smallest by
/// [`ObjectKey`] order (contacts, then domains, then hosts), as the memory store picks.
pub(crate) async fn contact_referrer<C: Conn>(
    c: &mut C,
    id: &ContactId,
) -> ReadResult<Option<ObjectKey>> {
    let key: Value<'_> = id.as_str().into();
    let row = c
        .query_opt(
            "SELECT contact FROM contact_links WHERE target = $1 AND contact <> $1 \
             ORDER BY contact LIMIT 1",
            &[key],
        )
        .await
        .map_err(db)?;
    if let Some(row) = row {
        return Ok(Some(ObjectKey::Contact(row.parse(0)?)));
    }
    let by_registrant = c
        .query_opt(
            "SELECT name FROM domains WHERE registrant = $1 ORDER BY name LIMIT 1",
            &[key],
        )
        .await
        .map_err(db)?;
    let by_contact = c
        .query_opt(
            "SELECT domain FROM domain_contacts WHERE contact = $1 ORDER BY domain LIMIT 1",
            &[key],
        )
        .await
        .map_err(db)?;
    let mut domains = Vec::new();
    for row in [by_registrant, by_contact].into_iter().flatten() {
        domains.push(row.parse::<DomainName>(0)?);
    }
    if let Some(first) = domains.into_iter().min() {
        return Ok(Some(ObjectKey::Domain(first)));
    }
    let row = c
        .query_opt(
            "SELECT h.name FROM host_contacts hc JOIN hosts h ON h.roid = hc.host \
             WHERE hc.contact = $1 ORDER BY h.name LIMIT 1",
            &[key],
        )
        .await
        .map_err(db)?;
    row.map(|r| Ok(ObjectKey::Host(r.parse(0)?))).transpose()
}

pub(crate) async fn is_linked<C: Conn>(c: &mut C, object: &ObjectKey) -> ReadResult<bool> {
    match object {
        ObjectKey::Contact(id) => Ok(contact_referrer(c, id).await?.is_some()),
        ObjectKey::Host(name) => {
            let row = c
                .query_opt(
                    "SELECT 1 FROM domain_hosts WHERE host = $1 LIMIT 1",
                    &[name.as_str().into()],
                )
                .await
                .map_err(db)?;
            Ok(row.is_some())
        }
        _ => Ok(false),
    }
}

/// A listing's filter as a statement with the filter value as `$1`, the `after` key as
/// `$2` and the limit as `$3`.
macro_rules! listing {
    ($table:literal, $key:literal, $filter:literal) => {
        concat!(
            "SELECT version, data FROM ",
            $table,
            " WHERE ",
            $filter,
            " AND ",
            $key,
            " > $2 ORDER BY ",
            $key,
            " LIMIT $3"
        )
    };
}

/// The same filter as a count with the filter value as `$1`.
macro_rules! count {
    ($table:literal, $filter:literal) => {
        concat!("SELECT COUNT(*) FROM ", $table, " WHERE ", $filter)
    };
}

/// Expands to the list or count statement of a domain query and its `$1`; `$day` is the
/// text of the day for the date filters.
macro_rules! domain_filters {
    ($query:expr, $day:expr, $make:ident) => {
        match $query {
            // `CAST($1 AS BIGINT)` gives PostgreSQL the type of a parameter nothing else uses.
            DomainQuery::All => ($make!("CAST($1 AS BIGINT) = 0"), Value::Int(0)),
            DomainQuery::Sponsor(cl) => ($make!("cl_id = $1"), cl.as_str().into()),
            DomainQuery::Registrant(r) => ($make!("registrant = $1"), r.as_str().into()),
            DomainQuery::NameServer(h) => (
                $make!("name IN (SELECT domain FROM domain_hosts WHERE host = $1)"),
                h.as_str().into(),
            ),
            DomainQuery::ExpiredBefore(t) => (
                $make!("lifecycle = 'active' AND ex_date < $1"),
                Value::Int(t.unix_micros()),
            ),
            DomainQuery::QuarantinedBefore(t) => (
                $make!("lifecycle = 'quarantined' AND lifecycle_since < $1"),
                Value::Int(t.unix_micros()),
            ),
            DomainQuery::DeleteFromDnsBy(_) => ($make!("delete_from_dns <= $1"), $day.into()),
            DomainQuery::DeleteFromRegistryBy(_) => {
                ($make!("delete_from_registry <= $1"), $day.into())
            }
            other => {
                return Err(StoreError::InvalidChange(format!(
                    "domain query not supported by the SQL stores: {other:?}"
                ))
                .into());
            }
        }
    };
}

fn day_text(query: &DomainQuery) -> String {
    match query {
        DomainQuery::DeleteFromDnsBy(day) | DomainQuery::DeleteFromRegistryBy(day) => {
            day.to_string()
        }
        _ => String::new(),
    }
}

pub(crate) async fn domains<C: Conn>(
    c: &mut C,
    query: &DomainQuery,
    after: Option<&DomainName>,
    limit: usize,
) -> ReadResult<Vec<Domain>> {
    macro_rules! list {
        ($f:literal) => {
            listing!("domains", "name", $f)
        };
    }
    let day = day_text(query);
    let (sql, filter): (&'static str, Value<'_>) = domain_filters!(query, day.as_str(), list);
    let after = after.map_or("", DomainName::as_str);
    let rows = c
        .query(sql, &[filter, after.into(), Value::Int(clamp_limit(limit))])
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| Domain::from_json(r.text(1)?, r.u64(0)?))
        .collect::<Result<_, StoreError>>()
        .map_err(TxError::Rule)
}

pub(crate) async fn count_domains<C: Conn>(c: &mut C, query: &DomainQuery) -> ReadResult<u64> {
    macro_rules! cnt {
        ($f:literal) => {
            count!("domains", $f)
        };
    }
    let day = day_text(query);
    let (sql, filter): (&'static str, Value<'_>) = domain_filters!(query, day.as_str(), cnt);
    let row = c.query_opt(sql, &[filter]).await.map_err(db)?;
    Ok(row.map_or(Ok(0), |r| r.u64(0))?)
}

pub(crate) async fn contacts<C: Conn>(
    c: &mut C,
    query: &ContactQuery,
    after: Option<&ContactId>,
    limit: usize,
) -> ReadResult<Vec<Contact>> {
    macro_rules! list {
        ($f:literal) => {
            listing!("contacts", "id", $f)
        };
    }
    let (sql, filter): (&'static str, Value<'_>) = match query {
        ContactQuery::All => (list!("CAST($1 AS BIGINT) = 0"), Value::Int(0)),
        ContactQuery::Sponsor(cl) => (list!("cl_id = $1"), cl.as_str().into()),
        ContactQuery::MemberOf(org) => (
            list!(
                "id IN (SELECT contact FROM contact_links \
                 WHERE target = $1 AND role = 'organization')"
            ),
            org.as_str().into(),
        ),
        other => {
            return Err(StoreError::InvalidChange(format!(
                "contact query not supported by the SQL stores: {other:?}"
            ))
            .into());
        }
    };
    let after = after.map_or("", ContactId::as_str);
    let rows = c
        .query(sql, &[filter, after.into(), Value::Int(clamp_limit(limit))])
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| Contact::from_json(r.text(1)?, r.u64(0)?))
        .collect::<Result<_, StoreError>>()
        .map_err(TxError::Rule)
}

pub(crate) async fn hosts<C: Conn>(
    c: &mut C,
    query: &HostQuery,
    after: Option<&HostName>,
    limit: usize,
) -> ReadResult<Vec<Host>> {
    macro_rules! list {
        ($f:literal) => {
            listing!("hosts", "name", $f)
        };
    }
    let pattern;
    let (sql, filter): (&'static str, Value<'_>) = match query {
        HostQuery::All => (list!("CAST($1 AS BIGINT) = 0"), Value::Int(0)),
        HostQuery::Sponsor(cl) => (list!("cl_id = $1"), cl.as_str().into()),
        // A registrable name's subordinate hosts are exactly those whose superordinate
        // name (a column kept by the engine, indexed) is that name: an index lookup
        // instead of a scan of every host name (docs/BENCHMARKS.md).
        HostQuery::Subordinate(d) if policy::parse_domain_name(d).is_ok() => {
            (list!("superordinate = $1"), d.as_str().into())
        }
        // Any other name (not one this registry registers): names that end with
        // `.<domain>`, a scan. Not `name LIKE '%.<domain>'`: SQLite prepares a statement
        // again whenever the pattern bound to a LIKE changes (the pattern may allow an
        // index). Names are stored lower-case, so the comparison matches what SQLite's
        // case-insensitive LIKE matched; PostgreSQL's LIKE was exact.
        HostQuery::Subordinate(d) => {
            pattern = format!(".{}", d.as_str());
            (
                list!(
                    "length(name) > length(CAST($1 AS TEXT)) AND \
                     substr(name, length(name) - length(CAST($1 AS TEXT)) + 1) = $1"
                ),
                pattern.as_str().into(),
            )
        }
        HostQuery::Pending => (list!("pending AND CAST($1 AS BIGINT) = 0"), Value::Int(0)),
        HostQuery::Contact(id) => (
            list!("roid IN (SELECT host FROM host_contacts WHERE contact = $1)"),
            id.as_str().into(),
        ),
        other => {
            return Err(StoreError::InvalidChange(format!(
                "host query not supported by the SQL stores: {other:?}"
            ))
            .into());
        }
    };
    let after = after.map_or("", HostName::as_str);
    let rows = c
        .query(sql, &[filter, after.into(), Value::Int(clamp_limit(limit))])
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| Host::from_json(r.text(1)?, r.u64(0)?))
        .collect::<Result<_, StoreError>>()
        .map_err(TxError::Rule)
}

pub(crate) async fn poll_summary<C: Conn>(
    c: &mut C,
    registrar: &ClientId,
) -> ReadResult<Option<PollSummary>> {
    let row = c
        .query_opt(
            "SELECT COUNT(*), MIN(id) FROM poll_messages WHERE registrar = $1",
            &[registrar.as_str().into()],
        )
        .await
        .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let count = row.u64(0)?;
    match row.opt_int(1)? {
        Some(first) if count > 0 => Ok(Some(PollSummary {
            count,
            first_id: u64::try_from(first)
                .map_err(|_| StoreError::Corrupt("negative poll id".into()))?,
        })),
        _ => Ok(None),
    }
}

pub(crate) async fn poll_peek<C: Conn>(
    c: &mut C,
    registrar: &ClientId,
) -> ReadResult<Option<PolledMessage>> {
    let row = c
        .query_opt(
            "SELECT id, q_date, msg, payload, \
             (SELECT COUNT(*) FROM poll_messages WHERE registrar = $1) \
             FROM poll_messages WHERE registrar = $1 ORDER BY id LIMIT 1",
            &[registrar.as_str().into()],
        )
        .await
        .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let payload: PollPayload = serde_json::from_str(row.text(3)?)
        .map_err(|e| StoreError::Corrupt(format!("poll payload does not decode: {e}")))?;
    Ok(Some(PolledMessage {
        count: row.u64(4)?,
        message: PollMessage {
            id: row.u64(0)?,
            registrar: registrar.clone(),
            q_date: ts(row.int(1)?),
            text: row.text(2)?.to_owned(),
            payload,
        },
    }))
}

pub(crate) async fn history<C: Conn>(
    c: &mut C,
    object: &ObjectKey,
) -> ReadResult<Vec<HistoryEntry>> {
    let kind = object.kind();
    let key = object.key();
    let rows = c
        .query(
            "SELECT id, object_key, roid, registrar, at, cl_trid, sv_trid, command, \
             before_data, after_data FROM history \
             WHERE object_kind = $1 AND object_key = $2 ORDER BY id",
            &[kind.as_str().into(), key.as_str().into()],
        )
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(HistoryEntry {
                id: r.u64(0)?,
                kind,
                key: r.text(1)?.to_owned(),
                roid: r.opt_parse(2)?,
                registrar: r.opt_parse(3)?,
                time: ts(r.int(4)?),
                cl_trid: r.opt_parse(5)?,
                sv_trid: r.opt_parse(6)?,
                command: r.text(7)?.to_owned(),
                before: r.opt_text(8)?.map(str::to_owned),
                after: r.opt_text(9)?.map(str::to_owned),
            })
        })
        .collect()
}

/// Transfer tokens that expired before the instant, by expiry then domain.
pub(crate) async fn expired_transfer_tokens<C: Conn>(
    c: &mut C,
    before: Timestamp,
    limit: usize,
) -> ReadResult<Vec<TransferToken>> {
    let rows = c
        .query(
            "SELECT domain, token_hash, requested_by, channel, target, created, expires \
             FROM transfer_tokens WHERE expires < $1 ORDER BY expires, domain LIMIT $2",
            &[
                before.unix_micros().into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        )
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(TransferToken {
                domain: r.parse(0)?,
                token_hash: TokenHash::from_hex(r.text(1)?),
                requested_by: r.parse(2)?,
                channel: r.parse(3)?,
                target: r.text(4)?.to_owned(),
                created: ts(r.int(5)?),
                expires: ts(r.int(6)?),
            })
        })
        .collect()
}

pub(crate) async fn transfer_token<C: Conn>(
    c: &mut C,
    domain: &DomainName,
) -> ReadResult<Option<TransferToken>> {
    let row = c
        .query_opt(
            "SELECT token_hash, requested_by, channel, target, created, expires \
             FROM transfer_tokens WHERE domain = $1",
            &[domain.as_str().into()],
        )
        .await
        .map_err(db)?;
    row.map(|r| {
        Ok(TransferToken {
            domain: domain.clone(),
            token_hash: TokenHash::from_hex(r.text(0)?),
            requested_by: r.parse(1)?,
            channel: r.parse(2)?,
            target: r.text(3)?.to_owned(),
            created: ts(r.int(4)?),
            expires: ts(r.int(5)?),
        })
    })
    .transpose()
}

pub(crate) async fn replay<C: Conn>(
    c: &mut C,
    registrar: &ClientId,
    cl_trid: &ClTrid,
) -> ReadResult<Option<ReplayRecord>> {
    let row = c
        .query_opt(
            "SELECT created, response FROM replays WHERE registrar = $1 AND cl_trid = $2",
            &[registrar.as_str().into(), cl_trid.as_str().into()],
        )
        .await
        .map_err(db)?;
    row.map(|r| {
        Ok(ReplayRecord {
            registrar: registrar.clone(),
            cl_trid: cl_trid.clone(),
            response: r.bytes(1)?.to_vec(),
            created: ts(r.int(0)?),
        })
    })
    .transpose()
}

pub(crate) async fn pending_notifications<C: Conn>(
    c: &mut C,
    limit: usize,
) -> ReadResult<Vec<Notification>> {
    let rows = c
        .query(
            "SELECT id, channel, recipient, subject, body, created FROM notifications \
             WHERE delivered IS NULL ORDER BY id LIMIT $1",
            &[Value::Int(clamp_limit(limit))],
        )
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.u64(0)?,
                channel: r.parse(1)?,
                recipient: r.text(2)?.to_owned(),
                subject: r.opt_text(3)?.map(str::to_owned),
                body: r.text(4)?.to_owned(),
                created: ts(r.int(5)?),
                delivered: None,
            })
        })
        .collect()
}
