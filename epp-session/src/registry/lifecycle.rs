//! The registry's own jobs, run by a scheduler with the registry clock: the expiry
//! lifecycle (quarantine, deletion), registrars' deletion dates, and the purge of old
//! replay records and poll messages.
//!
//! [`advance`] is idempotent: running it twice at the same `now` does nothing the second
//! time, and a run that was skipped is caught up by the next (each domain moves as far as
//! `now` says). Every change is one change set per domain, made by no registrar
//! (`ChangeMeta::registrar` is `None`, the command `lifecycle:<step>`), and every
//! registry-initiated event queues a poll message for the sponsor (Norid's
//! `domain-quarantined`, `domain-deleted`, `object-deleted`).

use std::collections::BTreeMap;

use epp_norid_ext::policy::{
    self, ExpiryLifecycle, LifecycleStage, POLL_AUTO_ACK_DAYS, QUARANTINE_AFTER_MONTHS,
};
use epp_xml::{DomainName, HostName, Timestamp};

use crate::config::SessionConfig;
use crate::store::model::{
    Domain, DomainQuery, DomainStatus, HostQuery, Lifecycle, NewPollMessage, ObjectKind,
    PollPayload,
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
}

/// Domains read per listing call.
const PAGE: usize = 500;
/// Extra days before the quarantine cut-off, for months of different lengths.
const MONTH_MARGIN_SECS: i64 = 4 * 86_400;

/// Advances the registry to `now`: quarantines domains 2 months past expiry, deletes them
/// at 3 months (Norwegian wall clock), applies registrars' deleteFromDNS and
/// deleteFromRegistry dates, purges replay records older than the replay window and
/// acknowledges poll messages older than 21 days.
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
