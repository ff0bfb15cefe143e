//! Host (name server) commands (RFC 5732 with Norid's `no-ext-host`): check, info (another
//! registrar's host only with its sponsoringClientID), create, update, delete; addresses
//! and glue rules.

use std::net::IpAddr;

use epp_norid_ext::policy::{self, ObjectKind, Verb};
use epp_norid_ext::{HostExtInfData, NoridResponseExt, ns as norid_ns};
use epp_xml::host::{self as xh, IpVersion};
use epp_xml::{DomainName, HostName, Reason, ResData, ResponseExtension, ResultCode};

use super::domain::{kind_of, roid};
use super::status::{host_from_xml, host_to_xml, note, note_parts, with_ok};
use super::{Answer, Ctx, Exts, Outcome, Slot, load_host, own, own_contact, reason};
use crate::problem::{Problem, Refused};
use crate::store::model::{Host, HostStatus, ObjectKey, PendingHostUpdate};
use crate::store::{Change, Sequence, Store};

const H: ObjectKind = ObjectKind::Host;

/// `<host:check>`: "Host exists" for taken names (seed 002).
pub(crate) async fn check<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xh::Check,
    exts: Exts<'_>,
) -> Outcome {
    exts.none("host:check")?;
    if c.name.len() > ctx.config.max_check_names {
        return Err(reason(
            ResultCode::ParameterValuePolicyError,
            format!(
                "A check may name at most {} hosts, not {}.",
                ctx.config.max_check_names,
                c.name.len()
            ),
        ));
    }
    let exists = ctx.store.hosts_exist(&c.name).await?;
    let cd = c
        .name
        .iter()
        .zip(exists)
        .map(|(name, exists)| xh::CheckResult {
            name: xh::CheckName {
                avail: !exists,
                content: name.clone(),
            },
            reason: exists.then(|| Reason {
                lang: None,
                content: "Host exists".to_owned(),
            }),
        })
        .collect();
    Ok(Answer::default().with_data(ResData::HostChk(xh::ChkData { cd })))
}

/// `<host:info>`: the sponsor's own hosts; another registrar's host only when the command
/// names that registrar in `no-ext-host:info/sponsoringClientID` (Norid).
pub(crate) async fn info<S: Store>(
    ctx: &mut Ctx<'_, S>,
    name: &HostName,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::HostInfo], "host:info")?;
    let missing = || {
        reason(
            ResultCode::ObjectDoesNotExist,
            format!("Host [{name}] does not exist."),
        )
    };
    let h = ctx.store.host(name).await?.ok_or_else(missing)?;
    if h.cl_id != *ctx.me {
        match exts.host_info.and_then(|i| i.sponsoring_client_id.as_ref()) {
            None => {
                return Err(reason(
                    ResultCode::AuthorizationError,
                    format!(
                        "Host [{name}] is sponsored by another registrar; name that registrar \
                         in no-ext-host:info/sponsoringClientID to see it."
                    ),
                ));
            }
            Some(sponsor) if *sponsor != h.cl_id => {
                return Err(reason(
                    ResultCode::ObjectDoesNotExist,
                    format!("Host [{name}] of registrar [{sponsor}] does not exist."),
                ));
            }
            Some(_) => {}
        }
    }
    let linked = ctx
        .store
        .is_linked(&ObjectKey::Host(h.name.clone()))
        .await?;
    let mut derived = Vec::new();
    if linked {
        derived.push(HostStatus::Linked);
    }
    if h.pending.is_some() {
        derived.push(HostStatus::PendingUpdate);
    }
    let mut shown = with_ok(&h.statuses, &derived, HostStatus::Ok);
    if h.statuses.is_empty() && derived == [HostStatus::Linked] {
        shown.push((HostStatus::Ok, None));
    }
    let status = shown
        .into_iter()
        .map(|(s, n)| {
            let (lang, content) = note_parts(n.as_ref());
            xh::Status {
                s: host_to_xml(s),
                lang,
                content,
            }
        })
        .collect();
    let data = xh::InfData {
        name: h.name.clone(),
        roid: h.roid.to_string(),
        status,
        addr: h.addrs.iter().map(addr_to_xml).collect(),
        cl_id: h.cl_id.clone(),
        cr_id: h.cr_id.clone(),
        cr_date: h.cr_date,
        up_id: h.up_id.clone(),
        up_date: h.up_date,
        tr_date: h.tr_date,
    };
    let mut answer = Answer::default().with_data(ResData::HostInf(data));
    if let Some(c) = h.contacts.first()
        && ctx.declared.ext(norid_ns::NO_EXT_HOST)
    {
        answer
            .extensions
            .push(ResponseExtension::Other(NoridResponseExt::HostInfData(
                HostExtInfData {
                    contact: Some(c.clone()),
                },
            )));
    }
    Ok(answer)
}

fn addr_to_xml(ip: &IpAddr) -> xh::Addr {
    xh::Addr {
        ip: if ip.is_ipv4() {
            IpVersion::V4
        } else {
            IpVersion::V6
        },
        content: ip.to_string(),
    }
}

/// An address as sent: it must parse, as the version its `ip` attribute says.
fn addr(a: &xh::Addr) -> Result<IpAddr, Refused> {
    let parsed: Option<IpAddr> = a.content.trim().parse().ok();
    match (parsed, &a.ip) {
        (Some(ip @ IpAddr::V4(_)), IpVersion::V4) | (Some(ip @ IpAddr::V6(_)), IpVersion::V6) => {
            Ok(ip)
        }
        _ => Err(reason(
            ResultCode::ParameterValueSyntaxError,
            format!(
                "host:addr [{}] is not an IPv{} address.",
                a.content,
                if a.ip == IpVersion::V4 { 4 } else { 6 }
            ),
        )),
    }
}

/// Glue rule for in-zone hosts: a host under `.no` whose name lies under a registrable
/// `.no` domain (or is one) needs that domain to exist and to be the registrar's own
/// (RFC 5732 section 3.2.1 and our reading of Norid; see docs/norid-behaviour.md).
/// Hosts outside `.no`, or under names Norid does not register, have no superordinate
/// domain here.
async fn superordinate<S: Store>(ctx: &Ctx<'_, S>, host: &HostName) -> Result<(), Refused> {
    if !policy::is_under_no(host) {
        return Ok(());
    }
    let mut candidate = host.as_str();
    loop {
        if let Ok(dn) = DomainName::new(candidate)
            && let Ok(parsed) = policy::parse_domain_name(&dn)
        {
            return match ctx.store.domain(parsed.ace()).await? {
                None => Err(Problem::SuperordinateMissing {
                    host: host.to_string(),
                    domain: dn.to_string(),
                }
                .into()),
                Some(d) if d.cl_id != *ctx.me => Err(Problem::SuperordinateNotSponsor {
                    host: host.to_string(),
                    domain: dn.to_string(),
                }
                .into()),
                Some(_) => Ok(()),
            };
        }
        match candidate.split_once('.') {
            Some((_, rest)) => candidate = rest,
            None => return Ok(()),
        }
    }
}

/// Checks a host contact: an existing role contact of the registrar's.
async fn host_contact<S: Store>(ctx: &Ctx<'_, S>, id: &epp_xml::ContactId) -> Result<(), Refused> {
    let c = own_contact(ctx, id).await?;
    policy::check_host_contact(id, kind_of(&c))?;
    Ok(())
}

/// `<host:create>` with `no-ext-host:create/contact`.
pub(crate) async fn create<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xh::Create,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::HostCreate], "host:create")?;
    let name = &c.name;
    policy::check_host_name(name)?;
    if ctx.store.host(name).await?.is_some() {
        return Err(Problem::Exists {
            object: H,
            id: name.to_string(),
        }
        .into());
    }
    superordinate(ctx, name).await?;
    let mut addrs = Vec::new();
    for a in &c.addr {
        let ip = addr(a)?;
        if !addrs.contains(&ip) {
            addrs.push(ip);
        }
    }
    policy::check_host_addresses(name, &addrs)?;
    let contacts: Vec<_> = exts
        .host_create
        .and_then(|e| e.contact.clone())
        .into_iter()
        .collect();
    for k in &contacts {
        host_contact(ctx, k).await?;
    }
    let n = ctx.store.allocate_id(Sequence::HostRoid).await?;
    let host = Host {
        name: name.clone(),
        roid: roid("HOST", n, 'H', &ctx.config.roid_suffix)?,
        statuses: Default::default(),
        addrs,
        contacts,
        cl_id: ctx.me.clone(),
        cr_id: ctx.me.clone(),
        cr_date: ctx.now,
        up_id: None,
        up_date: None,
        tr_date: None,
        pending: None,
        version: 0,
    };
    Ok(Answer::completed(
        H,
        name.as_str(),
        Verb::Create,
        vec![Change::CreateHost(host)],
    )
    .with_data(ResData::HostCre(xh::CreData {
        name: name.clone(),
        cr_date: ctx.now,
    })))
}

fn prohibited(h: &Host, statuses: &[HostStatus]) -> Result<(), Refused> {
    match statuses.iter().find(|s| h.statuses.contains_key(s)) {
        Some(s) => Err(Problem::StatusProhibits {
            object: H,
            id: h.name.to_string(),
            status: s.as_str(),
        }
        .into()),
        None => Ok(()),
    }
}

/// `<host:update>`: addresses and statuses (rem before add), a new name, the Norid
/// contact. Statuses, name and contact change at once; an address change waits for the
/// registry's DNS check (Norid): the update is answered 1001, the host shows
/// `pendingUpdate` and its old addresses, and [`lifecycle::advance`] decides the change
/// and queues the final answer as an `epp-late-response` poll message.
///
/// [`lifecycle::advance`]: super::lifecycle::advance
pub(crate) async fn update<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xh::Update,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::HostUpdate], "host:update")?;
    let name = &c.name;
    let mut h = load_host(ctx.store, name).await?;
    own(ctx.me, &h.cl_id, H, name.as_str())?;
    prohibited(&h, &[HostStatus::ServerUpdateProhibited])?;
    if h.pending.is_some() {
        return Err(pending_update(&h));
    }
    let removes_lock = c.rem.as_ref().is_some_and(|r| {
        r.status
            .iter()
            .any(|s| host_from_xml(&s.s) == HostStatus::ClientUpdateProhibited)
    });
    if !removes_lock {
        prohibited(&h, &[HostStatus::ClientUpdateProhibited])?;
    }
    let id = name.to_string();
    let there = |what: &'static str, value: String| -> Refused {
        Problem::AlreadyAssociated {
            object: H,
            id: id.clone(),
            what,
            value,
        }
        .into()
    };
    let not_there = |what: &'static str, value: String| -> Refused {
        Problem::NotAssociated {
            object: H,
            id: id.clone(),
            what,
            value,
        }
        .into()
    };
    let old_addrs = h.addrs.clone();
    let mut addrs_changed = false;
    if let Some(rem) = &c.rem {
        for a in &rem.addr {
            let ip = addr(a)?;
            let Some(i) = h.addrs.iter().position(|x| *x == ip) else {
                return Err(not_there("address", ip.to_string()));
            };
            h.addrs.remove(i);
            addrs_changed = true;
        }
        for s in &rem.status {
            let st = host_from_xml(&s.s);
            policy::check_client_status(st.as_str())?;
            if h.statuses.remove(&st).is_none() {
                return Err(not_there("status", st.to_string()));
            }
        }
    }
    if let Some(add) = &c.add {
        for a in &add.addr {
            let ip = addr(a)?;
            if h.addrs.contains(&ip) {
                return Err(there("address", ip.to_string()));
            }
            h.addrs.push(ip);
            addrs_changed = true;
        }
        for s in &add.status {
            let st = host_from_xml(&s.s);
            policy::check_client_status(st.as_str())?;
            if h.statuses.contains_key(&st) {
                return Err(there("status", st.to_string()));
            }
            h.statuses.insert(st, note(&s.lang, &s.content));
        }
    }
    let mut renamed = false;
    if let Some(chg) = &c.chg
        && chg.name != *name
    {
        policy::check_host_name(&chg.name)?;
        if ctx.store.host(&chg.name).await?.is_some() {
            return Err(Problem::Exists {
                object: H,
                id: chg.name.to_string(),
            }
            .into());
        }
        superordinate(ctx, &chg.name).await?;
        h.name = chg.name.clone();
        renamed = true;
    }
    if let Some(ext) = exts.host_update {
        if let Some(rem) = &ext.rem {
            let Some(i) = h.contacts.iter().position(|x| *x == rem.contact) else {
                return Err(not_there("contact", rem.contact.to_string()));
            };
            h.contacts.remove(i);
        }
        if let Some(add) = &ext.add {
            if h.contacts.contains(&add.contact) {
                return Err(there("contact", add.contact.to_string()));
            }
            host_contact(ctx, &add.contact).await?;
            h.contacts.push(add.contact.clone());
            policy::check_host_contact_count(&h.name, h.contacts.len())?;
        }
    }
    if addrs_changed || renamed {
        policy::check_host_addresses(&h.name, &h.addrs)?;
    }
    h.up_id = Some(ctx.me.clone());
    h.up_date = Some(ctx.now);
    if addrs_changed {
        // The new name takes effect now, the new addresses only after the check: the name
        // must suit the addresses the host keeps meanwhile too.
        if renamed {
            policy::check_host_addresses(&h.name, &old_addrs)?;
        }
        let new_addrs = std::mem::replace(&mut h.addrs, old_addrs);
        let host_name = h.name.to_string();
        h.pending = Some(PendingHostUpdate {
            addrs: new_addrs,
            requested_by: ctx.me.clone(),
            requested_at: ctx.now,
            cl_trid: ctx.meta.cl_trid.clone(),
            sv_trid: ctx.meta.sv_trid.clone(),
        });
        return Ok(Answer {
            code: Some(ResultCode::SuccessPending),
            conditions: vec![policy::host_update_pending(&host_name)],
            changes: vec![Change::UpdateHost {
                name: name.clone(),
                host: h,
            }],
            ..Answer::default()
        });
    }
    Ok(Answer::completed(
        H,
        name.as_str(),
        Verb::Update,
        vec![Change::UpdateHost {
            name: name.clone(),
            host: h,
        }],
    ))
}

/// The refusal of a transform on a host whose address change waits for the DNS check.
fn pending_update(h: &Host) -> Refused {
    Problem::StatusProhibits {
        object: H,
        id: h.name.to_string(),
        status: HostStatus::PendingUpdate.as_str(),
    }
    .into()
}

/// `<host:delete>`; refused while a domain uses the host (2305).
pub(crate) async fn delete<S: Store>(
    ctx: &mut Ctx<'_, S>,
    name: &HostName,
    exts: Exts<'_>,
) -> Outcome {
    exts.none("host:delete")?;
    let h = load_host(ctx.store, name).await?;
    own(ctx.me, &h.cl_id, H, name.as_str())?;
    prohibited(
        &h,
        &[
            HostStatus::ServerDeleteProhibited,
            HostStatus::ClientDeleteProhibited,
        ],
    )?;
    // The late response of the pending change must not come for a host that is gone.
    if h.pending.is_some() {
        return Err(pending_update(&h));
    }
    Ok(Answer::completed(
        H,
        name.as_str(),
        Verb::Delete,
        vec![Change::DeleteHost {
            name: name.clone(),
            version: h.version,
        }],
    ))
}
