//! The store's rules on SQL, written once for both drivers: applies one change set inside a
//! transaction the caller opened, checking uniqueness, references, links and versions in
//! the same order as [`MemoryStore`](epp_session::store::MemoryStore), and writing the
//! history rows.
//!
//! Two ways to check, chosen by the caller:
//!
//! - [`Checks::Before`]: every rule is a read before the write it guards. SQLite uses this:
//!   its single writer makes reads and writes serial, and the reads cost microseconds.
//! - [`Checks::Constraints`]: creates and reference changes write straight away and let the
//!   schema's unique indexes and foreign keys refuse what breaks a rule. PostgreSQL uses
//!   this, because under SERIALIZABLE every read takes a predicate lock, and concurrent
//!   creates that read the same index page before inserting into it abort each other. A
//!   foreign-key refusal does not say which reference was missing, so the PostgreSQL store
//!   then runs the change set again with `Before` in a transaction it rolls back, to name
//!   the missing object exactly as the other stores do.
//!
//! Updates and deletes read the stored row in either mode (for the version check and the
//! history row's before image). On PostgreSQL the transaction is SERIALIZABLE, so a check
//! and the write that relies on it cannot be split by a concurrent transaction: one of the
//! two fails with SQLSTATE 40001 and is run again.

use epp_norid_ext::policy::{QuotaScope, superordinate_name};
use epp_session::store::model::{
    Contact, Domain, Host, NewPollMessage, ObjectKey, PasswordHash, Registrar, TransferToken,
};
use epp_session::store::{Change, ChangeMeta, ChangeSet, CommitReceipt, StoreError, hashed};
use epp_xml::{ClientId, ContactId, DomainName, HostName, Roid};

use super::read;
use super::sql::{Conn, DbError, TxError, Value};

type TxResult<T> = Result<T, TxError>;

/// How the rules are checked (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checks {
    /// Read before writing: exact errors, no reliance on constraint errors.
    Before,
    /// Let unique indexes and foreign keys refuse; `AlreadyExists` is still exact, a
    /// missing reference surfaces as [`DbError::ForeignKey`].
    Constraints,
}

/// Applies a change set; the caller owns the transaction (or savepoint) around it.
pub(crate) async fn apply<C: Conn>(
    conn: &mut C,
    set: &ChangeSet,
    checks: Checks,
) -> TxResult<CommitReceipt> {
    let mut tx = Tx {
        conn,
        meta: &set.meta,
        checks,
        receipt: CommitReceipt::default(),
    };
    for change in &set.changes {
        tx.apply(change).await?;
    }
    Ok(tx.receipt)
}

struct Tx<'a, C> {
    conn: &'a mut C,
    meta: &'a ChangeMeta,
    checks: Checks,
    receipt: CommitReceipt,
}

/// Maps a unique-constraint failure of the write for `key` to `AlreadyExists(key)`: it can
/// only come from a concurrent create (PostgreSQL), since the check before found nothing.
fn unique_is_exists(key: &ObjectKey) -> impl FnOnce(DbError) -> TxError + '_ {
    move |e| match e {
        DbError::Unique(_) => TxError::Rule(StoreError::AlreadyExists(key.clone())),
        other => TxError::Db(other),
    }
}

fn micros(t: epp_xml::Timestamp) -> i64 {
    t.unix_micros()
}

impl<C: Conn> Tx<'_, C> {
    async fn exists(&mut self, sql: &'static str, key: &str) -> TxResult<bool> {
        Ok(self.conn.query_opt(sql, &[key.into()]).await?.is_some())
    }

    async fn history(
        &mut self,
        key: &ObjectKey,
        roid: Option<&Roid>,
        before: Option<&str>,
        after: Option<&str>,
    ) -> TxResult<()> {
        let m = self.meta;
        let kind = key.kind().as_str();
        let object_key = key.key();
        self.conn
            .execute(
                "INSERT INTO history (object_kind, object_key, roid, registrar, at, cl_trid, \
                 sv_trid, command, before_data, after_data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    kind.into(),
                    object_key.as_str().into(),
                    roid.map(Roid::as_str).into(),
                    m.registrar.as_ref().map(ClientId::as_str).into(),
                    micros(m.time).into(),
                    m.cl_trid.as_ref().map(|t| t.as_str()).into(),
                    m.sv_trid.as_ref().map(|t| t.as_str()).into(),
                    m.command.as_str().into(),
                    before.into(),
                    after.into(),
                ],
            )
            .await?;
        Ok(())
    }

    async fn need_registrar(&mut self, object: &ObjectKey, id: &ClientId) -> TxResult<()> {
        if self.checks == Checks::Constraints
            || self
                .exists("SELECT 1 FROM registrars WHERE id = $1", id.as_str())
                .await?
        {
            Ok(())
        } else {
            Err(StoreError::MissingReference {
                object: object.clone(),
                missing: ObjectKey::Registrar(id.clone()),
            }
            .into())
        }
    }

    async fn need_contacts<'c>(
        &mut self,
        object: &ObjectKey,
        ids: impl IntoIterator<Item = &'c ContactId>,
    ) -> TxResult<()> {
        if self.checks == Checks::Constraints {
            return Ok(());
        }
        for id in ids {
            if !self
                .exists("SELECT 1 FROM contacts WHERE id = $1", id.as_str())
                .await?
            {
                return Err(StoreError::MissingReference {
                    object: object.clone(),
                    missing: ObjectKey::Contact(id.clone()),
                }
                .into());
            }
        }
        Ok(())
    }

    async fn need_hosts(&mut self, object: &ObjectKey, names: &[HostName]) -> TxResult<()> {
        if self.checks == Checks::Constraints {
            return Ok(());
        }
        for name in names {
            if !self
                .exists("SELECT 1 FROM hosts WHERE name = $1", name.as_str())
                .await?
            {
                return Err(StoreError::MissingReference {
                    object: object.clone(),
                    missing: ObjectKey::Host(name.clone()),
                }
                .into());
            }
        }
        Ok(())
    }

    /// Whether a create may go ahead: in `Before` mode, nothing has the key or ROID.
    async fn free(&mut self, sql: &'static str, key: &str, roid: &str) -> TxResult<bool> {
        if self.checks == Checks::Constraints {
            return Ok(true);
        }
        Ok(self
            .conn
            .query_opt(sql, &[key.into(), roid.into()])
            .await?
            .is_none())
    }

    async fn apply(&mut self, change: &Change) -> TxResult<()> {
        match change {
            Change::CreateContact(c) => self.create_contact(c).await,
            Change::UpdateContact(c) => self.update_contact(c).await,
            Change::DeleteContact { id, version } => self.delete_contact(id, *version).await,
            Change::CreateDomain(d) => self.create_domain(d).await,
            Change::UpdateDomain(d) => self.update_domain(d).await,
            Change::DeleteDomain { name, version } => self.delete_domain(name, *version).await,
            Change::CheckHolderQuota {
                holder,
                kind,
                domain,
            } => {
                // Under SERIALIZABLE (PostgreSQL) this read takes a predicate lock on the
                // holder's index range, so a concurrent create for the same holder makes
                // one of the two transactions fail and run again, then see the other's
                // domain; SQLite's single writer serialises them anyway. Only the names
                // the quota's scope can count are read (QuotaScope::might_count: one dot
                // directly under .no, two or more under priv.no and geographic domains),
                // so an organization's names under geographic domains are not read for a
                // name directly under .no; none at all where no quota applies.
                let sql = match epp_session::store::holder_quota_scope(*kind, domain) {
                    None => None,
                    Some(QuotaScope::DirectlyUnderNo) => Some(
                        "SELECT name FROM domains WHERE registrant = $1 \
                         AND name NOT LIKE '%.%.%'",
                    ),
                    Some(QuotaScope::PrivateAndGeographic) => {
                        Some("SELECT name FROM domains WHERE registrant = $1 AND name LIKE '%.%.%'")
                    }
                };
                let rows = match sql {
                    Some(sql) => self.conn.query(sql, &[holder.as_str().into()]).await?,
                    None => Vec::new(),
                };
                let mut names = Vec::with_capacity(rows.len());
                for row in &rows {
                    names.push(row.parse::<DomainName>(0)?);
                }
                epp_session::store::holder_quota(holder, *kind, domain, &names)?;
                Ok(())
            }
            Change::CreateHost(h) => self.create_host(h).await,
            Change::UpdateHost { name, host } => self.update_host(name, host).await,
            Change::DeleteHost { name, version } => self.delete_host(name, *version).await,
            Change::CreateRegistrar(new) => {
                let key = ObjectKey::Registrar(new.id.clone());
                if self
                    .exists("SELECT 1 FROM registrars WHERE id = $1", new.id.as_str())
                    .await?
                {
                    return Err(StoreError::AlreadyExists(key).into());
                }
                let r = Registrar {
                    id: new.id.clone(),
                    name: new.name.clone(),
                    password: hashed(&new.password)?.clone(),
                    pending_password: None,
                    cert_pins: new.cert_pins.clone(),
                    session_limit: new.session_limit,
                    enabled: new.enabled,
                    created: self.meta.time,
                    version: 1,
                };
                let pins = pins_text(&r);
                self.conn
                    .execute(
                        "INSERT INTO registrars (id, name, password_hash, pending_password_hash, \
                         cert_pins, session_limit, enabled, created, version) \
                         VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, 1)",
                        &[
                            r.id.as_str().into(),
                            r.name.as_str().into(),
                            r.password.as_phc().into(),
                            pins.as_str().into(),
                            i64::from(r.session_limit).into(),
                            r.enabled.into(),
                            micros(r.created).into(),
                        ],
                    )
                    .await
                    .map_err(unique_is_exists(&key))?;
                self.history(&key, None, None, Some(&r.history_json()))
                    .await
            }
            Change::UpdateRegistrar { id, change } => {
                let key = ObjectKey::Registrar(id.clone());
                let old = read::registrar(self.conn, id).await?;
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                let mut r = old.clone();
                change.apply_to(&mut r)?;
                if r == old {
                    return Ok(());
                }
                r.version += 1;
                let pins = pins_text(&r);
                let changed = self
                    .conn
                    .execute(
                        "UPDATE registrars SET name = $2, password_hash = $3, \
                         pending_password_hash = $4, cert_pins = $5, session_limit = $6, \
                         enabled = $7, version = $8 WHERE id = $1 AND version = $9",
                        &[
                            id.as_str().into(),
                            r.name.as_str().into(),
                            r.password.as_phc().into(),
                            r.pending_password.as_ref().map(PasswordHash::as_phc).into(),
                            pins.as_str().into(),
                            i64::from(r.session_limit).into(),
                            r.enabled.into(),
                            version_value(r.version)?,
                            version_value(old.version)?,
                        ],
                    )
                    .await?;
                if changed != 1 {
                    return Err(StoreError::Conflict(key).into());
                }
                self.history(
                    &key,
                    None,
                    Some(&old.history_json()),
                    Some(&r.history_json()),
                )
                .await
            }
            Change::EnqueuePoll(m) => {
                let id = self.enqueue_poll(m, None).await?;
                self.receipt.poll_ids.extend(id);
                Ok(())
            }
            Change::EnqueuePollOnce { message, key } => {
                self.enqueue_poll(message, Some(key)).await.map(drop)
            }
            Change::AckPoll { registrar, id } => {
                let n = self
                    .conn
                    .execute(
                        "DELETE FROM poll_messages WHERE id = $1 AND registrar = $2",
                        &[id_value(*id)?, registrar.as_str().into()],
                    )
                    .await?;
                if n == 0 {
                    return Err(StoreError::NotFound(ObjectKey::PollMessage(*id)).into());
                }
                Ok(())
            }
            Change::PurgePoll { before } => {
                self.conn
                    .execute(
                        "DELETE FROM poll_messages WHERE q_date < $1",
                        &[micros(*before).into()],
                    )
                    .await?;
                Ok(())
            }
            Change::PutTransferToken(t) => self.put_token(t).await,
            Change::DeleteTransferToken { domain } => {
                let key = ObjectKey::TransferToken(domain.clone());
                let old = read::transfer_token(self.conn, domain).await?;
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                self.conn
                    .execute(
                        "DELETE FROM transfer_tokens WHERE domain = $1",
                        &[domain.as_str().into()],
                    )
                    .await?;
                self.history(&key, None, Some(&old.history_json()), None)
                    .await
            }
            Change::QueueNotification(n) => {
                let row = self
                    .conn
                    .query_opt(
                        "INSERT INTO notifications (channel, recipient, subject, body, created) \
                         VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        &[
                            n.channel.as_str().into(),
                            n.recipient.as_str().into(),
                            n.subject.as_deref().into(),
                            n.body.as_str().into(),
                            micros(self.meta.time).into(),
                        ],
                    )
                    .await?;
                let row =
                    row.ok_or_else(|| StoreError::Database("INSERT returned no id".into()))?;
                self.receipt.notification_ids.push(row.u64(0)?);
                Ok(())
            }
            Change::MarkDelivered { id } => {
                let n = self
                    .conn
                    .execute(
                        "UPDATE notifications SET delivered = $2 WHERE id = $1",
                        &[id_value(*id)?, micros(self.meta.time).into()],
                    )
                    .await?;
                if n == 0 {
                    return Err(StoreError::NotFound(ObjectKey::Notification(*id)).into());
                }
                Ok(())
            }
            Change::RecordReplay {
                response,
                replaces_before,
            } => {
                let set = ChangeSet::new(self.meta.clone());
                let (registrar, cl_trid) = set.replay_key()?;
                let key = ObjectKey::Replay(registrar.clone(), cl_trid.clone());
                // Without a read first: the upsert only replaces a record older than the
                // window, and changes nothing (0 rows) when a younger one exists.
                let n = self
                    .conn
                    .execute(
                        "INSERT INTO replays (registrar, cl_trid, created, response) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (registrar, cl_trid) \
                         DO UPDATE SET created = excluded.created, response = excluded.response \
                         WHERE replays.created < $5",
                        &[
                            registrar.as_str().into(),
                            cl_trid.as_str().into(),
                            micros(self.meta.time).into(),
                            Value::Bytes(response),
                            micros(*replaces_before).into(),
                        ],
                    )
                    .await
                    .map_err(unique_is_exists(&key))?;
                if n == 0 {
                    return Err(StoreError::AlreadyExists(key).into());
                }
                Ok(())
            }
            Change::PurgeReplays { before } => {
                self.conn
                    .execute(
                        "DELETE FROM replays WHERE created < $1",
                        &[micros(*before).into()],
                    )
                    .await?;
                Ok(())
            }
            // `Change` is non-exhaustive for callers, not for this crate's match... but it is
            // defined in another crate, so a new variant must be handled here explicitly.
            other => Err(StoreError::InvalidChange(format!(
                "change not supported by the SQL stores: {other:?}"
            ))
            .into()),
        }
    }

    // --- contacts -------------------------------------------------------------------------

    async fn write_contact_links(&mut self, c: &Contact) -> TxResult<()> {
        for (role, targets) in [
            ("organization", &c.organizations),
            ("roleContact", &c.role_contacts),
        ] {
            for target in targets {
                self.insert_contact_link(c.id.as_str(), role, target.as_str())
                    .await?;
            }
        }
        Ok(())
    }

    async fn insert_contact_link(
        &mut self,
        contact: &str,
        role: &str,
        target: &str,
    ) -> TxResult<()> {
        self.conn
            .execute(
                "INSERT INTO contact_links (contact, role, target) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[contact.into(), role.into(), target.into()],
            )
            .await?;
        Ok(())
    }

    async fn create_contact(&mut self, c: &Contact) -> TxResult<()> {
        let key = ObjectKey::Contact(c.id.clone());
        let sql = "SELECT 1 FROM contacts WHERE id = $1 OR roid = $2";
        if !self.free(sql, c.id.as_str(), c.roid.as_str()).await? {
            return Err(StoreError::AlreadyExists(key).into());
        }
        self.need_registrar(&key, &c.cl_id).await?;
        self.need_contacts(&key, c.referenced_contacts()).await?;
        let data = c.to_json()?;
        let n = self
            .conn
            .execute(
                "INSERT INTO contacts (id, roid, cl_id, version, data) VALUES ($1, $2, $3, 1, $4) \
                 ON CONFLICT DO NOTHING",
                &[
                    c.id.as_str().into(),
                    c.roid.as_str().into(),
                    c.cl_id.as_str().into(),
                    data.as_str().into(),
                ],
            )
            .await
            .map_err(unique_is_exists(&key))?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(key).into());
        }
        self.write_contact_links(c).await?;
        self.history(&key, Some(&c.roid), None, Some(&data)).await
    }

    /// The stored version and JSON of an object, or `NotFound`/`Conflict` against the
    /// version the change was based on.
    async fn current(
        &mut self,
        sql: &'static str,
        key: &ObjectKey,
        lookup: &str,
        version: u64,
    ) -> TxResult<String> {
        let row = self.conn.query_opt(sql, &[lookup.into()]).await?;
        let row = row.ok_or_else(|| StoreError::NotFound(key.clone()))?;
        if row.u64(0)? != version {
            return Err(StoreError::Conflict(key.clone()).into());
        }
        Ok(row.text(1)?.to_owned())
    }

    async fn update_contact(&mut self, c: &Contact) -> TxResult<()> {
        let key = ObjectKey::Contact(c.id.clone());
        let before = self
            .current(
                "SELECT version, data FROM contacts WHERE id = $1",
                &key,
                c.id.as_str(),
                c.version,
            )
            .await?;
        let old = Contact::from_json(&before, c.version)?;
        if old.roid != c.roid {
            return Err(StoreError::InvalidChange("a contact's ROID cannot change".into()).into());
        }
        self.need_registrar(&key, &c.cl_id).await?;
        self.need_contacts(&key, c.referenced_contacts()).await?;
        let data = c.to_json()?;
        let n = self
            .conn
            .execute(
                "UPDATE contacts SET cl_id = $2, version = $3, data = $4 \
                 WHERE id = $1 AND version = $5",
                &[
                    c.id.as_str().into(),
                    c.cl_id.as_str().into(),
                    version_value(c.version + 1)?,
                    data.as_str().into(),
                    version_value(c.version)?,
                ],
            )
            .await?;
        if n != 1 {
            return Err(StoreError::Conflict(key).into());
        }
        // Only the links that changed, each by its key (see `update_domain_links`).
        for (role, was, now) in [
            ("organization", &old.organizations, &c.organizations),
            ("roleContact", &old.role_contacts, &c.role_contacts),
        ] {
            for target in was.iter().filter(|t| !now.contains(t)) {
                self.conn
                    .execute(
                        "DELETE FROM contact_links WHERE contact = $1 AND role = $2 AND target = $3",
                        &[c.id.as_str().into(), role.into(), target.as_str().into()],
                    )
                    .await?;
            }
            for target in now.iter().filter(|t| !was.contains(t)) {
                self.insert_contact_link(c.id.as_str(), role, target.as_str())
                    .await?;
            }
        }
        self.history(&key, Some(&c.roid), Some(&before), Some(&data))
            .await
    }

    /// One object other than the contact itself that refers to it, preferring the
    /// smallest key as [`MemoryStore`](epp_session::store::MemoryStore) does.
    async fn contact_referrer(&mut self, id: &ContactId) -> TxResult<Option<ObjectKey>> {
        read::contact_referrer(self.conn, id).await
    }

    async fn delete_contact(&mut self, id: &ContactId, version: u64) -> TxResult<()> {
        let key = ObjectKey::Contact(id.clone());
        let before = self
            .current(
                "SELECT version, data FROM contacts WHERE id = $1",
                &key,
                id.as_str(),
                version,
            )
            .await?;
        if let Some(by) = self.contact_referrer(id).await? {
            return Err(StoreError::Linked { object: key, by }.into());
        }
        let old = Contact::from_json(&before, version)?;
        self.conn
            .execute(
                "DELETE FROM contact_links WHERE contact = $1",
                &[id.as_str().into()],
            )
            .await?;
        self.conn
            .execute("DELETE FROM contacts WHERE id = $1", &[id.as_str().into()])
            .await?;
        self.history(&key, Some(&old.roid), Some(&before), None)
            .await
    }

    // --- domains --------------------------------------------------------------------------

    async fn write_domain_links(&mut self, d: &Domain) -> TxResult<()> {
        for c in &d.contacts {
            self.insert_domain_contact(d.name.as_str(), c.role.as_str(), c.id.as_str())
                .await?;
        }
        for host in &d.ns {
            self.insert_domain_host(d.name.as_str(), host.as_str())
                .await?;
        }
        Ok(())
    }

    async fn create_domain(&mut self, d: &Domain) -> TxResult<()> {
        let key = ObjectKey::Domain(d.name.clone());
        let sql = "SELECT 1 FROM domains WHERE name = $1 OR roid = $2";
        if !self.free(sql, d.name.as_str(), d.roid.as_str()).await? {
            return Err(StoreError::AlreadyExists(key).into());
        }
        self.need_registrar(&key, &d.cl_id).await?;
        self.need_contacts(&key, d.referenced_contacts()).await?;
        self.need_hosts(&key, &d.ns).await?;
        let data = d.to_json()?;
        let (dns, registry) = delete_dates(d);
        let n = self
            .conn
            .execute(
                "INSERT INTO domains (name, roid, cl_id, registrant, ex_date, lifecycle, \
                 lifecycle_since, delete_from_dns, delete_from_registry, version, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10) ON CONFLICT DO NOTHING",
                &[
                    d.name.as_str().into(),
                    d.roid.as_str().into(),
                    d.cl_id.as_str().into(),
                    d.registrant.as_str().into(),
                    micros(d.ex_date).into(),
                    d.lifecycle.name().into(),
                    d.lifecycle.since().map(micros).into(),
                    dns.as_ref().into(),
                    registry.as_ref().into(),
                    data.as_str().into(),
                ],
            )
            .await
            .map_err(unique_is_exists(&key))?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(key).into());
        }
        self.write_domain_links(d).await?;
        self.history(&key, Some(&d.roid), None, Some(&data)).await
    }

    /// Writes a new snapshot of a stored domain (version already checked by the caller)
    /// and its history row.
    async fn store_domain_update(
        &mut self,
        old: &Domain,
        before: &str,
        d: &Domain,
    ) -> TxResult<()> {
        let key = ObjectKey::Domain(d.name.clone());
        self.need_registrar(&key, &d.cl_id).await?;
        self.need_contacts(&key, d.referenced_contacts()).await?;
        self.need_hosts(&key, &d.ns).await?;
        let data = d.to_json()?;
        let (dns, registry) = delete_dates(d);
        let n = self
            .conn
            .execute(
                "UPDATE domains SET cl_id = $2, registrant = $3, ex_date = $4, lifecycle = $5, \
                 lifecycle_since = $6, delete_from_dns = $7, delete_from_registry = $8, \
                 version = $9, data = $10 WHERE name = $1 AND version = $11",
                &[
                    d.name.as_str().into(),
                    d.cl_id.as_str().into(),
                    d.registrant.as_str().into(),
                    micros(d.ex_date).into(),
                    d.lifecycle.name().into(),
                    d.lifecycle.since().map(micros).into(),
                    dns.as_ref().into(),
                    registry.as_ref().into(),
                    version_value(old.version + 1)?,
                    data.as_str().into(),
                    version_value(old.version)?,
                ],
            )
            .await?;
        if n != 1 {
            return Err(StoreError::Conflict(key).into());
        }
        self.update_domain_links(old, d).await?;
        self.history(&key, Some(&d.roid), Some(before), Some(&data))
            .await
    }

    /// Removes the link rows of the contacts and name servers `d` no longer has and adds
    /// those of the new ones, each by its full key. Deleting all of a domain's rows and
    /// writing them again read the link index by domain; under SERIALIZABLE that range
    /// read conflicts with every concurrent update writing links near it, and updates of
    /// neighbouring domains aborted each other.
    async fn update_domain_links(&mut self, old: &Domain, d: &Domain) -> TxResult<()> {
        let name = d.name.as_str();
        for c in old.contacts.iter().filter(|c| !d.contacts.contains(c)) {
            self.conn
                .execute(
                    "DELETE FROM domain_contacts WHERE domain = $1 AND role = $2 AND contact = $3",
                    &[name.into(), c.role.as_str().into(), c.id.as_str().into()],
                )
                .await?;
        }
        for host in old.ns.iter().filter(|h| !d.ns.contains(h)) {
            self.conn
                .execute(
                    "DELETE FROM domain_hosts WHERE domain = $1 AND host = $2",
                    &[name.into(), host.as_str().into()],
                )
                .await?;
        }
        for c in d.contacts.iter().filter(|c| !old.contacts.contains(c)) {
            self.insert_domain_contact(name, c.role.as_str(), c.id.as_str())
                .await?;
        }
        for host in d.ns.iter().filter(|h| !old.ns.contains(h)) {
            self.insert_domain_host(name, host.as_str()).await?;
        }
        Ok(())
    }

    async fn insert_domain_contact(&mut self, domain: &str, role: &str, id: &str) -> TxResult<()> {
        self.conn
            .execute(
                "INSERT INTO domain_contacts (domain, role, contact) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[domain.into(), role.into(), id.into()],
            )
            .await?;
        Ok(())
    }

    async fn insert_domain_host(&mut self, domain: &str, host: &str) -> TxResult<()> {
        self.conn
            .execute(
                "INSERT INTO domain_hosts (domain, host) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[domain.into(), host.into()],
            )
            .await?;
        Ok(())
    }

    async fn update_domain(&mut self, d: &Domain) -> TxResult<()> {
        let key = ObjectKey::Domain(d.name.clone());
        let before = self
            .current(
                "SELECT version, data FROM domains WHERE name = $1",
                &key,
                d.name.as_str(),
                d.version,
            )
            .await?;
        let old = Domain::from_json(&before, d.version)?;
        if old.roid != d.roid {
            return Err(StoreError::InvalidChange("a domain's ROID cannot change".into()).into());
        }
        let mut new = d.clone();
        new.version = d.version + 1;
        self.store_domain_update(&old, &before, &new).await
    }

    async fn delete_domain(&mut self, name: &DomainName, version: u64) -> TxResult<()> {
        let key = ObjectKey::Domain(name.clone());
        let before = self
            .current(
                "SELECT version, data FROM domains WHERE name = $1",
                &key,
                name.as_str(),
                version,
            )
            .await?;
        let old = Domain::from_json(&before, version)?;
        let n: Value<'_> = name.as_str().into();
        for sql in [
            "DELETE FROM transfer_tokens WHERE domain = $1",
            "DELETE FROM domain_contacts WHERE domain = $1",
            "DELETE FROM domain_hosts WHERE domain = $1",
            "DELETE FROM domains WHERE name = $1",
        ] {
            self.conn.execute(sql, &[n]).await?;
        }
        self.history(&key, Some(&old.roid), Some(&before), None)
            .await
    }

    // --- hosts ----------------------------------------------------------------------------

    async fn write_host_contacts(&mut self, h: &Host) -> TxResult<()> {
        for c in &h.contacts {
            self.insert_host_contact(h.roid.as_str(), c.as_str())
                .await?;
        }
        Ok(())
    }

    async fn insert_host_contact(&mut self, host: &str, contact: &str) -> TxResult<()> {
        self.conn
            .execute(
                "INSERT INTO host_contacts (host, contact) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                &[host.into(), contact.into()],
            )
            .await?;
        Ok(())
    }

    async fn create_host(&mut self, h: &Host) -> TxResult<()> {
        let key = ObjectKey::Host(h.name.clone());
        let sql = "SELECT 1 FROM hosts WHERE name = $1 OR roid = $2";
        if !self.free(sql, h.name.as_str(), h.roid.as_str()).await? {
            return Err(StoreError::AlreadyExists(key).into());
        }
        self.need_registrar(&key, &h.cl_id).await?;
        self.need_contacts(&key, &h.contacts).await?;
        let data = h.to_json()?;
        let n = self
            .conn
            .execute(
                "INSERT INTO hosts (roid, name, superordinate, cl_id, pending, version, data) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT DO NOTHING",
                &[
                    h.roid.as_str().into(),
                    h.name.as_str().into(),
                    superordinate_name(&h.name).into(),
                    h.cl_id.as_str().into(),
                    h.pending.is_some().into(),
                    data.as_str().into(),
                ],
            )
            .await
            .map_err(unique_is_exists(&key))?;
        if n == 0 {
            return Err(StoreError::AlreadyExists(key).into());
        }
        self.write_host_contacts(h).await?;
        self.history(&key, Some(&h.roid), None, Some(&data)).await
    }

    async fn update_host(&mut self, name: &HostName, h: &Host) -> TxResult<()> {
        let key = ObjectKey::Host(name.clone());
        let before = self
            .current(
                "SELECT version, data FROM hosts WHERE name = $1",
                &key,
                name.as_str(),
                h.version,
            )
            .await?;
        let old = Host::from_json(&before, h.version)?;
        if old.roid != h.roid {
            return Err(StoreError::InvalidChange("a host's ROID cannot change".into()).into());
        }
        let renamed = h.name != *name;
        let new_key = ObjectKey::Host(h.name.clone());
        if renamed
            && self.checks == Checks::Before
            && self
                .exists("SELECT 1 FROM hosts WHERE name = $1", h.name.as_str())
                .await?
        {
            return Err(StoreError::AlreadyExists(new_key).into());
        }
        self.need_registrar(&new_key, &h.cl_id).await?;
        self.need_contacts(&new_key, &h.contacts).await?;
        let data = h.to_json()?;
        let n = self
            .conn
            .execute(
                "UPDATE hosts SET name = $2, superordinate = $3, cl_id = $4, pending = $5, \
                 version = $6, data = $7 WHERE roid = $1 AND version = $8",
                &[
                    h.roid.as_str().into(),
                    h.name.as_str().into(),
                    superordinate_name(&h.name).into(),
                    h.cl_id.as_str().into(),
                    h.pending.is_some().into(),
                    version_value(h.version + 1)?,
                    data.as_str().into(),
                    version_value(h.version)?,
                ],
            )
            .await
            .map_err(unique_is_exists(&new_key))?;
        if n != 1 {
            return Err(StoreError::Conflict(key).into());
        }
        // Only the links that changed, each by its key (see `update_domain_links`).
        for contact in old.contacts.iter().filter(|c| !h.contacts.contains(c)) {
            self.conn
                .execute(
                    "DELETE FROM host_contacts WHERE host = $1 AND contact = $2",
                    &[h.roid.as_str().into(), contact.as_str().into()],
                )
                .await?;
        }
        for contact in h.contacts.iter().filter(|c| !old.contacts.contains(c)) {
            self.insert_host_contact(h.roid.as_str(), contact.as_str())
                .await?;
        }
        self.history(&new_key, Some(&h.roid), Some(&before), Some(&data))
            .await?;
        if renamed {
            // The link rows followed the rename (ON UPDATE CASCADE); the domains' JSON
            // names its name servers, so rewrite each user.
            let users = self
                .conn
                .query(
                    "SELECT d.version, d.data FROM domain_hosts dh \
                     JOIN domains d ON d.name = dh.domain WHERE dh.host = $1 ORDER BY d.name",
                    &[h.name.as_str().into()],
                )
                .await?;
            for row in users {
                let before = row.text(1)?.to_owned();
                let old_domain = Domain::from_json(&before, row.u64(0)?)?;
                let mut d = old_domain.clone();
                for ns in &mut d.ns {
                    if ns == name {
                        *ns = h.name.clone();
                    }
                }
                d.version += 1;
                self.store_domain_update(&old_domain, &before, &d).await?;
            }
        }
        Ok(())
    }

    async fn delete_host(&mut self, name: &HostName, version: u64) -> TxResult<()> {
        let key = ObjectKey::Host(name.clone());
        let before = self
            .current(
                "SELECT version, data FROM hosts WHERE name = $1",
                &key,
                name.as_str(),
                version,
            )
            .await?;
        let old = Host::from_json(&before, version)?;
        let user = self
            .conn
            .query_opt(
                "SELECT domain FROM domain_hosts WHERE host = $1 ORDER BY domain LIMIT 1",
                &[name.as_str().into()],
            )
            .await?;
        if let Some(row) = user {
            let by = ObjectKey::Domain(row.parse(0)?);
            return Err(StoreError::Linked { object: key, by }.into());
        }
        let roid: Value<'_> = old.roid.as_str().into();
        self.conn
            .execute("DELETE FROM host_contacts WHERE host = $1", &[roid])
            .await?;
        self.conn
            .execute("DELETE FROM hosts WHERE roid = $1", &[roid])
            .await?;
        self.history(&key, Some(&old.roid), Some(&before), None)
            .await
    }

    // --- poll, tokens -----------------------------------------------------------------------

    /// Queues a message and returns its id; with a `once_key`, nothing is queued (`None`)
    /// while the registrar's queue holds a message with that key.
    async fn enqueue_poll(
        &mut self,
        m: &NewPollMessage,
        once_key: Option<&str>,
    ) -> TxResult<Option<u64>> {
        if self.checks == Checks::Before
            && !self
                .exists(
                    "SELECT 1 FROM registrars WHERE id = $1",
                    m.registrar.as_str(),
                )
                .await?
        {
            return Err(StoreError::NotFound(ObjectKey::Registrar(m.registrar.clone())).into());
        }
        let payload = serde_json::to_string(&m.payload)
            .map_err(|e| StoreError::InvalidChange(format!("cannot encode poll payload: {e}")))?;
        // The key's unique index covers only the rows that have one.
        let row = self
            .conn
            .query_opt(
                "INSERT INTO poll_messages (registrar, q_date, msg, kind, payload, once_key) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (registrar, once_key) WHERE once_key IS NOT NULL DO NOTHING \
                 RETURNING id",
                &[
                    m.registrar.as_str().into(),
                    micros(self.meta.time).into(),
                    m.text.as_str().into(),
                    m.payload.kind().into(),
                    payload.as_str().into(),
                    once_key.into(),
                ],
            )
            .await?;
        match (row, once_key) {
            (Some(row), _) => Ok(Some(row.u64(0)?)),
            (None, Some(_)) => Ok(None),
            (None, None) => Err(StoreError::Database("INSERT returned no id".into()).into()),
        }
    }

    async fn put_token(&mut self, t: &TransferToken) -> TxResult<()> {
        let key = ObjectKey::TransferToken(t.domain.clone());
        if self.checks == Checks::Before
            && !self
                .exists("SELECT 1 FROM domains WHERE name = $1", t.domain.as_str())
                .await?
        {
            return Err(StoreError::MissingReference {
                object: key,
                missing: ObjectKey::Domain(t.domain.clone()),
            }
            .into());
        }
        self.need_registrar(&key, &t.requested_by).await?;
        let old = read::transfer_token(self.conn, &t.domain).await?;
        self.conn
            .execute(
                "INSERT INTO transfer_tokens (domain, token_hash, requested_by, channel, target, \
                 created, expires) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (domain) DO UPDATE SET token_hash = excluded.token_hash, \
                 requested_by = excluded.requested_by, channel = excluded.channel, \
                 target = excluded.target, created = excluded.created, \
                 expires = excluded.expires",
                &[
                    t.domain.as_str().into(),
                    t.token_hash.as_hex().into(),
                    t.requested_by.as_str().into(),
                    t.channel.as_str().into(),
                    t.target.as_str().into(),
                    micros(t.created).into(),
                    micros(t.expires).into(),
                ],
            )
            .await?;
        let before = old.map(|o| o.history_json());
        self.history(&key, None, before.as_deref(), Some(&t.history_json()))
            .await
    }
}

/// The text form of a registrar's pinned fingerprints: hex, space-separated.
fn pins_text(r: &Registrar) -> String {
    r.cert_pins
        .iter()
        .map(|p| p.to_hex())
        .collect::<Vec<_>>()
        .join(" ")
}

fn delete_dates(d: &Domain) -> (Option<String>, Option<String>) {
    (
        d.delete_from_dns.map(|x| x.to_string()),
        d.delete_from_registry.map(|x| x.to_string()),
    )
}

/// A version or id as an SQL integer.
fn version_value(v: u64) -> Result<Value<'static>, TxError> {
    id_value(v)
}

fn id_value(v: u64) -> Result<Value<'static>, TxError> {
    i64::try_from(v)
        .map(Value::Int)
        .map_err(|_| TxError::Rule(StoreError::InvalidChange(format!("{v} is out of range"))))
}

#[cfg(test)]
mod tests {
    use epp_session::store::model::Contact;
    use epp_session::store::suite::meta;
    use futures_util::FutureExt;

    use super::*;
    use crate::store::sql::{Cell, Row};

    /// A connection holding one contact whose referrer lookup PostgreSQL aborts with
    /// SQLSTATE 40001, as it may under SERIALIZABLE when a concurrent transaction links
    /// the contact.
    struct AbortedReferrerRead {
        contact: String,
    }

    impl Conn for AbortedReferrerRead {
        async fn query(
            &mut self,
            sql: &'static str,
            _params: &[Value<'_>],
        ) -> Result<Vec<Row>, DbError> {
            if sql.starts_with("SELECT version, data FROM contacts") {
                return Ok(vec![Row(vec![
                    Cell::Int(1),
                    Cell::Text(self.contact.clone()),
                ])]);
            }
            if sql.contains("FROM contact_links WHERE target") {
                return Err(DbError::Serialization);
            }
            Ok(Vec::new())
        }

        async fn execute(
            &mut self,
            _sql: &'static str,
            _params: &[Value<'_>],
        ) -> Result<u64, DbError> {
            Ok(1)
        }
    }

    /// Found by epp-server's `races` integration test on two PostgreSQL processes: a
    /// contact delete racing domain creates was answered 2400, because a serialisation
    /// failure of a read inside the transaction became a rule error, which the store does
    /// not run again.
    #[test]
    fn a_serialisation_failure_of_a_read_inside_a_transaction_stays_retryable() {
        let contact = Contact::from_json(
            r#"{"id":"ROLE1R","roid":"CON9003R-NORID","type":"role","email":"noc@acme.no",
            "postalLoc":{"name":"NOC","street":["Storgata 1"],"city":"Oslo","pc":"NO-0150",
            "cc":"NO"},"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z"}"#,
            1,
        )
        .unwrap();
        let mut conn = AbortedReferrerRead {
            contact: contact.to_json().unwrap(),
        };
        let set = ChangeSet::new(meta("reg1", "contact:delete", 10)).with(Change::DeleteContact {
            id: contact.id.clone(),
            version: 1,
        });
        for checks in [Checks::Before, Checks::Constraints] {
            let result = apply(&mut conn, &set, checks).now_or_never().unwrap();
            assert!(
                matches!(&result, Err(TxError::Db(e)) if e.is_transient()),
                "{result:?}"
            );
        }
    }
}
