//! The registry's own jobs, run by a scheduler with the registry clock: the expiry
//! lifecycle (quarantine, deletion), registrars' deletion dates, the decision on hosts'
//! pending address changes and the lapse of transfer requests whose token expired (both
//! with Norid's `epp-late-response`), and the purge of old replay records and poll
//! messages.
//!
//! [`advance`] is idempotent: running it twice at the same `now` does nothing the second
//! time, and a run that was skipped is caught up by the next (each domain moves as far as
//! `now` says). Every change is one change set per domain, made by no registrar
//! (`ChangeMeta::registrar` is `None`, the command `lifecycle:<step>`), and every
//! registry-initiated event queues a poll message for the sponsor (Norid's
//! `domain-quarantined`, `domain-deleted`, `object-deleted`).

use std::collections::BTreeMap;

use epp_norid_ext::policy::{
    self, ExpiryLifecycle, LifecycleStage, ObjectKind as Cond, POLL_AUTO_ACK_DAYS,
    QUARANTINE_AFTER_MONTHS, Verb,
};
use epp_xml::{ContactId, Date, DomainName, HostName, SvTrid, Timestamp};

use super::Answer;
use crate::config::SessionConfig;
use crate::store::model::{
    Domain, DomainQuery, DomainStatus, Host, HostQuery, Lifecycle, NewPollMessage, ObjectKey,
    ObjectKind, PollPayload, TransferRecord, TransferStatus, TransferToken, WITHDRAWN_REGISTRAR,
};
use crate::store::{Change, ChangeMeta, ChangeSet, Store, StoreError};

/// What one run of [`advance`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LifecycleReport {
    /// Expired domains moved out of the zone into quarantine.
    pub quarantined: Vec<DomainName>,
    /// Domains deleted: end of quarantine, or the registrar's deleteFromRegistry date.
    pub deleted: Vec<DomainName>,
    /// Domains whose deleteFromDNS date came (now held out of the zone).
    pub removed_from_dns: Vec<DomainName>,
    /// Hosts deleted with their superordinate domain.
    pub hosts_deleted: Vec<HostName>,
    /// Domains whose step failed (a concurrent change, a store failure): the next run
    /// tries again.
    pub failed: Vec<(DomainName, StoreError)>,
    /// Hosts whose pending address change was decided (applied or refused), each with an
    /// `epp-late-response` queued for the registrar that sent the update.
    pub hosts_checked: Vec<HostName>,
    /// Hosts whose decision could not be stored: the next run tries again.
    pub hosts_failed: Vec<(HostName, StoreError)>,
    /// Domains whose pending transfer request lapsed (its one-time token expired unused):
    /// the token is gone, the request shows `serverCancelled`, the requester got the late
    /// response and the sponsor a message.
    pub transfers_lapsed: Vec<DomainName>,
}

/// Days from the start of an invalid-registrant process until the holder's domains leave
/// the DNS (see [`invalidate_registrant`]).
pub const INVALID_REGISTRANT_DNS_DAYS: i64 = 30;
/// Days from the start of an invalid-registrant process until the holder's domains are
/// deleted.
pub const INVALID_REGISTRANT_DELETE_DAYS: i64 = 60;

/// What [`invalidate_registrant`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistrantInvalidation {
    /// The holder's domains whose deletion this run started, each now with deletion dates
    /// and an `invalid-registrant-started` message queued for its sponsor (domains already
    /// in the process are left as they are).
    pub domains: Vec<DomainName>,
    /// The day the domains leave the DNS (an earlier date already set is kept).
    pub delete_from_dns: Date,
    /// The day they are deleted (an earlier date already set is kept).
    pub delete_from_registry: Date,
}

/// Starts the deletion process for every domain of a holder that no longer qualifies (an
/// operator's decision, e.g. an organization struck from Enhetsregisteret): the contact is
/// marked (`Contact::invalid_holder_since`, so it can take no new domain), each domain
/// gets a deleteFromDNS date [`INVALID_REGISTRANT_DNS_DAYS`] and a deleteFromRegistry date
/// [`INVALID_REGISTRANT_DELETE_DAYS`] days from today (Norwegian date; earlier dates
/// already set are kept), which [`advance`] then carries out, and its sponsor gets Norid's
/// `invalid-registrant-started` poll message (not `reg0`, which reads no queue). One
/// change set for the contact and all its domains, command `admin:registrant-invalidate`,
/// so the history of each records it.
///
/// # Errors
///
/// [`StoreError::NotFound`] when the contact does not exist; [`StoreError::Conflict`] when
/// the domains kept changing under the command (it reads and tries again a few times);
/// other store failures.
pub async fn invalidate_registrant<S: Store>(
    store: &S,
    now: Timestamp,
    registrant: &ContactId,
) -> Result<RegistrantInvalidation, StoreError> {
    const ATTEMPTS: usize = 5;
    let dns = policy::oslo_date(now.add_secs(INVALID_REGISTRANT_DNS_DAYS * 86_400));
    let registry = policy::oslo_date(now.add_secs(INVALID_REGISTRANT_DELETE_DAYS * 86_400));
    let mut last = StoreError::Conflict(ObjectKey::Contact(registrant.clone()));
    for _ in 0..ATTEMPTS {
        let Some(mut holder) = store.contact(registrant).await? else {
            return Err(StoreError::NotFound(ObjectKey::Contact(registrant.clone())));
        };
        let domains = all(store, &DomainQuery::Registrant(registrant.clone())).await?;
        let mut set = ChangeSet::new(meta(now, "admin:registrant-invalidate"));
        // The mark keeps the holder from taking new domains (and records the decision in
        // the contact's history); a repeated command keeps the first date.
        if holder.invalid_holder_since.is_none() {
            holder.invalid_holder_since = Some(now);
            set.push(Change::UpdateContact(holder));
        }
        let mut names = Vec::new();
        for mut d in domains {
            let name = d.name.clone();
            let on_registry = d.delete_from_registry.map_or(registry, |r| r.min(registry));
            let on_dns = d
                .delete_from_dns
                .map_or(dns, |x| x.min(dns))
                .min(on_registry);
            let unchanged = d.delete_from_dns == Some(on_dns)
                && d.delete_from_registry == Some(on_registry)
                && d.lifecycle != Lifecycle::Active;
            if unchanged {
                // Already in the process (a repeated command): nothing new to tell.
                continue;
            }
            d.delete_from_dns = Some(on_dns);
            d.delete_from_registry = Some(on_registry);
            // As a registrar's delete with dates: pendingDelete, no renewal meanwhile (a
            // quarantined domain shows pendingDelete already).
            if d.lifecycle == Lifecycle::Active {
                d.lifecycle = Lifecycle::PendingDelete { since: now };
            }
            d.up_date = Some(now);
            let sponsor = d.cl_id.clone();
            set.push(Change::UpdateDomain(d));
            if sponsor.as_str() != WITHDRAWN_REGISTRAR {
                set.push(Change::EnqueuePoll(NewPollMessage {
                    registrar: sponsor,
                    text: format!(
                        "The holder [{registrant}] of domain [{name}] no longer qualifies as a \
                         domain holder; the deletion process has started: the domain leaves \
                         the DNS on {on_dns} and is deleted on {on_registry}."
                    ),
                    payload: PollPayload::InvalidRegistrantStarted {
                        domain: name.clone(),
                        registrant: registrant.clone(),
                    },
                }));
            }
            names.push(name);
        }
        if names.is_empty() && set.changes.is_empty() {
            return Ok(RegistrantInvalidation {
                domains: names,
                delete_from_dns: dns,
                delete_from_registry: registry,
            });
        }
        match store.commit(set).await {
            Ok(_) => {
                return Ok(RegistrantInvalidation {
                    domains: names,
                    delete_from_dns: dns,
                    delete_from_registry: registry,
                });
            }
            Err(e) if e.is_retryable() => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Domains or hosts read per listing call.
pub(super) const PAGE: usize = 500;
/// Extra days before the quarantine cut-off, for months of different lengths.
const MONTH_MARGIN_SECS: i64 = 4 * 86_400;

/// Advances the registry to `now`: quarantines domains 2 months past expiry, deletes them
/// at 3 months (Norwegian wall clock), applies registrars' deleteFromDNS and
/// deleteFromRegistry dates, lapses transfer requests whose token expired, decides hosts'
/// address changes older than `config.host_check_delay` (both with an `epp-late-response`
/// to the registrar that sent the command), purges replay records older than the replay
/// window and acknowledges poll messages older than 21 days.
///
/// # Errors
///
/// A [`StoreError`] when a listing or the purge fails; failures of single domains are in
/// [`LifecycleReport::failed`] instead.
pub async fn advance<S: Store>(
    store: &S,
    now: Timestamp,
    config: &SessionConfig,
) -> Result<LifecycleReport, StoreError> {
    let mut report = LifecycleReport::default();
    let today = policy::oslo_date(now);

    let cutoff = policy::add_months_oslo(now, -QUARANTINE_AFTER_MONTHS)
        .unwrap_or(now)
        .add_secs(MONTH_MARGIN_SECS);
    for d in all(store, &DomainQuery::ExpiredBefore(cutoff)).await? {
        match ExpiryLifecycle::new(d.ex_date).stage(now) {
            LifecycleStage::Quarantined => quarantine(store, d, now, &mut report).await,
            LifecycleStage::Deletable => {
                delete(store, d, now, "lifecycle:delete", &mut report).await;
            }
            _ => {}
        }
    }
    for d in all(store, &DomainQuery::QuarantinedBefore(now)).await? {
        if ExpiryLifecycle::new(d.ex_date).stage(now) == LifecycleStage::Deletable {
            delete(store, d, now, "lifecycle:delete", &mut report).await;
        }
    }
    for d in all(store, &DomainQuery::DeleteFromRegistryBy(today)).await? {
        delete(store, d, now, "lifecycle:delete-from-registry", &mut report).await;
    }
    for mut d in all(store, &DomainQuery::DeleteFromDnsBy(today)).await? {
        if d.has_status(DomainStatus::ServerHold) {
            continue;
        }
        let name = d.name.clone();
        d.statuses.insert(DomainStatus::ServerHold, None);
        d.up_date = Some(now);
        let set =
            ChangeSet::new(meta(now, "lifecycle:remove-from-dns")).with(Change::UpdateDomain(d));
        match store.commit(set).await {
            Ok(_) => report.removed_from_dns.push(name),
            Err(e) => report.failed.push((name, e)),
        }
    }

    // One page per run; a longer backlog is caught up by the next runs.
    for t in store.expired_transfer_tokens(now, PAGE).await? {
        let name = t.domain.clone();
        match lapse_transfer(store, t, now).await {
            Ok(()) => report.transfers_lapsed.push(name),
            Err(e) => report.failed.push((name, e)),
        }
    }

    let delay = i64::try_from(config.host_check_delay.as_micros()).unwrap_or(i64::MAX);
    let due = now.add_micros(delay.saturating_neg());
    for h in all_hosts(store, &HostQuery::Pending).await? {
        if h.pending.as_ref().is_some_and(|p| p.requested_at <= due) {
            let name = h.name.clone();
            match store.commit(host_check(h, now)).await {
                Ok(_) => report.hosts_checked.push(name),
                Err(e) => report.hosts_failed.push((name, e)),
            }
        }
    }

    let window = i64::try_from(config.replay_window.as_micros()).unwrap_or(i64::MAX);
    let set = ChangeSet::new(meta(now, "lifecycle:purge"))
        .with(Change::PurgeReplays {
            before: now.add_micros(window.saturating_neg()),
        })
        .with(Change::PurgePoll {
            before: now.add_secs(-POLL_AUTO_ACK_DAYS * 86_400),
        });
    store.commit(set).await?;
    Ok(report)
}

fn meta(now: Timestamp, command: &str) -> ChangeMeta {
    ChangeMeta {
        registrar: None,
        time: now,
        cl_trid: None,
        sv_trid: None,
        command: command.to_owned(),
    }
}

/// Every domain of a listing (read first, changed after, so that changes cannot move the
/// paging).
async fn all<S: Store>(store: &S, query: &DomainQuery) -> Result<Vec<Domain>, StoreError> {
    let mut out: Vec<Domain> = Vec::new();
    loop {
        let page = store
            .domains(query, out.last().map(|d| &d.name), PAGE)
            .await?;
        let full = page.len() == PAGE;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// Ends a transfer request whose one-time token expired unused: the token goes, the
/// domain's record shows `serverCancelled` (acDate = the expiry), the requesting registrar
/// gets the final answer to its request (trnData, `EC002973`) as an `epp-late-response`
/// under the request's trID, and the sponsor a plain message.
async fn lapse_transfer<S: Store>(
    store: &S,
    t: TransferToken,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut set = ChangeSet::new(meta(now, "lifecycle:transfer-lapse"));
    set.push(Change::DeleteTransferToken {
        domain: t.domain.clone(),
    });
    let Some(mut d) = store.domain(&t.domain).await? else {
        // The token went with its domain; nothing to tell.
        return store.commit(set).await.map(|_| ());
    };
    let name = d.name.clone();
    let pending = d
        .transfer
        .clone()
        .filter(|r| r.status == TransferStatus::Pending && r.requested_by == t.requested_by);
    if let Some(rec) = pending {
        let lapsed = TransferRecord {
            status: TransferStatus::ServerCancelled,
            action_at: t.expires,
            ..rec.clone()
        };
        d.transfer = Some(lapsed.clone());
        let sponsor = d.cl_id.clone();
        let ex = d.ex_date;
        set.push(Change::UpdateDomain(d));
        let answer = Answer {
            res_data: Some(super::domain::trn_data(&name, &lapsed, Some(ex))),
            conditions: vec![policy::transfer_lapsed(name.as_str(), t.expires)],
            ..Answer::default()
        };
        let message = match rec.sv_trid {
            Some(sv) => NewPollMessage {
                registrar: t.requested_by.clone(),
                text: format!(
                    "EPP response to command with clTRID [{}] and svTRID [{sv}]",
                    rec.cl_trid.as_ref().map_or("", |c| c.as_str())
                ),
                payload: PollPayload::LateResponse {
                    response: answer.document(rec.cl_trid.clone(), sv.clone()),
                    cl_trid: rec.cl_trid,
                    sv_trid: sv,
                },
            },
            // A request stored without its trID (before they were kept) gets plain text.
            None => NewPollMessage {
                registrar: t.requested_by.clone(),
                text: policy::transfer_lapsed(name.as_str(), t.expires).details,
                payload: PollPayload::Text,
            },
        };
        set.push(Change::EnqueuePoll(message));
        if sponsor != t.requested_by && sponsor.as_str() != WITHDRAWN_REGISTRAR {
            set.push(Change::EnqueuePoll(NewPollMessage {
                registrar: sponsor,
                text: format!(
                    "The transfer request for domain [{name}] by registrar [{}] lapsed: the \
                     one-time token was not used.",
                    t.requested_by
                ),
                payload: PollPayload::Text,
            }));
        }
    }
    store.commit(set).await.map(|_| ())
}

/// Every host of a listing.
pub(super) async fn all_hosts<S: Store>(
    store: &S,
    query: &HostQuery,
) -> Result<Vec<Host>, StoreError> {
    let mut out: Vec<Host> = Vec::new();
    loop {
        let page = store
            .hosts(query, out.last().map(|h| &h.name), PAGE)
            .await?;
        let full = page.len() == PAGE;
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

/// Decides a host's pending address change: the registry's check (the address rules of
/// `policy::check_host_addresses`, applied again now; this registry makes no DNS queries)
/// either applies the addresses or drops them, and the registrar that sent the update gets
/// the final answer to that command (its original trID, code and conditions) as Norid's
/// `epp-late-response`.
fn host_check(mut h: Host, now: Timestamp) -> ChangeSet {
    let mut set = ChangeSet::new(meta(now, "lifecycle:host-check"));
    let Some(p) = h.pending.take() else {
        return set;
    };
    let id = h.name.to_string();
    let answer = match policy::check_host_addresses(&h.name, &p.addrs) {
        Ok(()) => {
            h.addrs = p.addrs;
            h.up_date = Some(now);
            Answer::completed(Cond::Host, &id, Verb::Update, Vec::new())
        }
        Err(refusal) => Answer {
            code: Some(refusal.result_code()),
            conditions: vec![
                policy::command_failed(Verb::Update, Cond::Host, &id),
                refusal.condition(),
            ],
            ..Answer::default()
        },
    };
    // The svTRID is stored with every pending change the session makes; a change written
    // by other means gets one derived from the host's ROID.
    let sv = p
        .sv_trid
        .clone()
        .or_else(|| SvTrid::new(format!("{}-{}", h.roid, now.unix_micros())).ok());
    if let Some(sv) = sv {
        let text = format!(
            "EPP response to command with clTRID [{}] and svTRID [{sv}]",
            p.cl_trid.as_ref().map_or("", |t| t.as_str())
        );
        set.push(Change::EnqueuePoll(NewPollMessage {
            registrar: p.requested_by.clone(),
            text,
            payload: PollPayload::LateResponse {
                response: answer.document(p.cl_trid.clone(), sv.clone()),
                cl_trid: p.cl_trid,
                sv_trid: sv,
            },
        }));
    }
    let name = h.name.clone();
    set.changes.insert(0, Change::UpdateHost { name, host: h });
    set
}

async fn quarantine<S: Store>(
    store: &S,
    mut d: Domain,
    now: Timestamp,
    report: &mut LifecycleReport,
) {
    let name = d.name.clone();
    let deletion = ExpiryLifecycle::new(d.ex_date).deletion;
    let text = format!(
        "Domain [{name}] expired on {} and has been removed from the zone; it will be \
         deleted on {} unless it is renewed.",
        policy::oslo_date(d.ex_date),
        policy::oslo_date(deletion)
    );
    let sponsor = d.cl_id.clone();
    d.lifecycle = Lifecycle::Quarantined { since: now };
    d.up_date = Some(now);
    let set = ChangeSet::new(meta(now, "lifecycle:quarantine"))
        .with(Change::UpdateDomain(d))
        .with(Change::EnqueuePoll(NewPollMessage {
            registrar: sponsor,
            text,
            payload: PollPayload::DomainQuarantined {
                domain: name.clone(),
            },
        }));
    match store.commit(set).await {
        Ok(_) => report.quarantined.push(name),
        Err(e) => report.failed.push((name, e)),
    }
}

/// Deletes a domain with its subordinate hosts (taken out of other domains first), telling
/// each sponsor.
async fn delete<S: Store>(
    store: &S,
    d: Domain,
    now: Timestamp,
    command: &str,
    report: &mut LifecycleReport,
) {
    let name = d.name.clone();
    match delete_set(store, &d, now, command).await {
        Ok((set, hosts)) => match store.commit(set).await {
            Ok(_) => {
                report.deleted.push(name);
                report.hosts_deleted.extend(hosts);
            }
            Err(e) => report.failed.push((name, e)),
        },
        Err(e) => report.failed.push((name, e)),
    }
}

async fn delete_set<S: Store>(
    store: &S,
    d: &Domain,
    now: Timestamp,
    command: &str,
) -> Result<(ChangeSet, Vec<HostName>), StoreError> {
    let mut hosts = Vec::new();
    let mut after: Option<HostName> = None;
    loop {
        let page = store
            .hosts(
                &HostQuery::Subordinate(d.name.clone()),
                after.as_ref(),
                PAGE,
            )
            .await?;
        let full = page.len() == PAGE;
        after = page.last().map(|h| h.name.clone());
        hosts.extend(page);
        if !full {
            break;
        }
    }
    // Other domains that use the hosts lose them first (one update per domain), then the
    // domain goes, then its hosts, which nothing refers to any more.
    let mut users: BTreeMap<DomainName, Domain> = BTreeMap::new();
    for h in &hosts {
        for user in all(store, &DomainQuery::NameServer(h.name.clone())).await? {
            if user.name != d.name {
                users.entry(user.name.clone()).or_insert(user);
            }
        }
    }
    let mut set = ChangeSet::new(meta(now, command));
    for mut user in users.into_values() {
        user.ns.retain(|n| !hosts.iter().any(|h| h.name == *n));
        user.up_date = Some(now);
        set.push(Change::UpdateDomain(user));
    }
    set.push(Change::DeleteDomain {
        name: d.name.clone(),
        version: d.version,
    });
    set.push(Change::EnqueuePoll(NewPollMessage {
        registrar: d.cl_id.clone(),
        text: format!("Domain [{}] has been deleted.", d.name),
        payload: PollPayload::DomainDeleted {
            domain: d.name.clone(),
        },
    }));
    for h in &hosts {
        set.push(Change::DeleteHost {
            name: h.name.clone(),
            version: h.version,
        });
        set.push(Change::EnqueuePoll(NewPollMessage {
            registrar: h.cl_id.clone(),
            text: format!(
                "Host [{}] has been deleted with its domain [{}].",
                h.name, d.name
            ),
            payload: PollPayload::ObjectDeleted {
                object: ObjectKind::Host,
                handle: h.name.to_string(),
                name: None,
            },
        }));
    }
    Ok((set, hosts.into_iter().map(|h| h.name).collect()))
}
