//! Domain commands (RFC 5731 with Norid's rules): check, info, create, update, delete,
//! renew, transfer (request, query, cancel; approve and reject refused), Norid's transfer
//! execute and withdraw.

use epp_norid_ext::policy::{
    self, ApplicantDatasetFacts, ContactKind, DsRecord, DsUpdate, HolderCounts, IdentityKind,
    ObjectKind, Period, RegistrantFacts, TokenChannel, TransferNotify, Verb,
};
use epp_norid_ext::{ApplicantDatasetInfo, DomainExtInfData, NoridResponseExt, ns as norid_ns};
use epp_xml::domain::{
    self as xd, AuthInfoChgContent, AuthInfoContent, ContactRole as XmlRole, Hosts, NsEntry,
};
use epp_xml::secdns::{DsOrKey, DsOrKeyEntry, RemEntry, SecDnsExtension};
use epp_xml::{
    ClientId, ContactId, DomainName, HostName, PwAuthInfo, Reason, ResData, ResponseExtension,
    ResultCode, Timestamp, TrStatus, TransferOp,
};

use super::status::{domain_from_xml, domain_to_xml, note, note_parts, with_ok};
use super::{
    Answer, Ctx, Exts, Outcome, Slot, load_domain, own, own_contact, own_read_contact, reason,
};
use crate::problem::{Problem, Refused};
use crate::store::model::{
    ApplicantDataset, AuthInfo, Contact, ContactRole, ContactType, Domain, DomainContact,
    DomainStatus, DsData, HostQuery, IdentityType, KeyData, Lifecycle, NewNotification,
    NewPollMessage, NotifyChannel, PollPayload, SecDns, TokenHash, TransferRecord, TransferStatus,
    TransferToken, WITHDRAWN_REGISTRAR,
};
use crate::store::{Change, ReadSet, ReadSetAnswer, Sequence, Store, StoreError};

const D: ObjectKind = ObjectKind::Domain;

/// `<domain:check>`: availability per name; names the `.no` policy refuses are reported as
/// unavailable with the refusal's text as reason.
pub(crate) async fn check<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xd::Check,
    exts: Exts<'_>,
) -> Outcome {
    exts.none("domain:check")?;
    if c.name.len() > ctx.config.max_check_names {
        return Err(reason(
            ResultCode::ParameterValuePolicyError,
            format!(
                "A check may name at most {} domains, not {}.",
                ctx.config.max_check_names,
                c.name.len()
            ),
        ));
    }
    let exists = ctx.store.domains_exist(&c.name).await?;
    let cd = c
        .name
        .iter()
        .zip(exists)
        .map(|(name, exists)| {
            let why = match policy::check_domain_name(name) {
                Err(r) => Some(check_reason(&r)),
                Ok(_) if exists => Some("Domain exists".to_owned()),
                Ok(_) => None,
            };
            xd::CheckResult {
                name: xd::CheckName {
                    avail: why.is_none(),
                    content: name.clone(),
                },
                reason: why.map(|content| Reason {
                    lang: None,
                    content,
                }),
            }
        })
        .collect();
    Ok(Answer::default().with_data(ResData::DomainChk(xd::ChkData { cd })))
}

/// The `<domain:reason>` of a name the policy refuses: the condition's short message
/// (`eppcom:reasonBaseType` allows 32 characters; the full text is in the condition).
fn check_reason(r: &policy::Refusal) -> String {
    let msg = r.definition().msg;
    if msg.chars().count() <= 32 {
        msg.to_owned()
    } else {
        "Not registrable at .no".to_owned()
    }
}

/// `<domain:info>`: everything for the sponsor (and for a registrar giving the transfer
/// code); the public data, without transfer code and applicant dataset, for others.
pub(crate) async fn info<S: Store>(ctx: &mut Ctx<'_, S>, c: &xd::Info, exts: Exts<'_>) -> Outcome {
    exts.none("domain:info")?;
    let name = &c.name.content;
    let d = ctx.store.domain(name).await?.ok_or_else(|| {
        reason(
            ResultCode::ObjectDoesNotExist,
            format!("Domain [{name}] does not exist."),
        )
    })?;
    let full = if d.cl_id == *ctx.me {
        true
    } else {
        match &c.auth_info {
            None => false,
            Some(a) => match (&a.content, &d.auth_info) {
                (AuthInfoContent::Pw(pw), Some(code)) if code.matches(&pw.content) => true,
                _ => {
                    return Err(reason(
                        ResultCode::InvalidAuthorizationInformation,
                        format!("The transfer code given for domain [{name}] is not valid."),
                    ));
                }
            },
        }
    };
    let subordinates = if matches!(c.name.hosts, Hosts::All | Hosts::Sub) {
        subordinate_hosts(ctx.store, name).await?
    } else {
        Vec::new()
    };
    let data = inf_data(&d, full, c.name.hosts.clone(), subordinates, ctx.now);
    let mut answer = Answer::default().with_data(ResData::DomainInf(data));
    if full
        && let Some(ds) = &d.applicant_dataset
        && ctx.declared.ext(norid_ns::NO_EXT_DOMAIN_1_1)
    {
        answer
            .extensions
            .push(ResponseExtension::Other(NoridResponseExt::DomainInfData(
                DomainExtInfData {
                    applicant_dataset: Some(ApplicantDatasetInfo {
                        version_number: ds.version_number.clone(),
                        accept_name: ds.accept_name.clone(),
                        accept_date: ds.accept_date,
                        update_client_id: ds.update_client_id.clone(),
                        update_date: ds.update_date,
                    }),
                },
            )));
    }
    if !d.sec_dns.ds.is_empty() && ctx.declared.ext(epp_xml::ns::SEC_DNS) {
        let content = d
            .sec_dns
            .ds
            .iter()
            .map(|ds| DsOrKeyEntry::DsData(ds_to_xml(ds)))
            .collect();
        answer
            .extensions
            .push(ResponseExtension::SecDnsInf(DsOrKey { content }));
    }
    Ok(answer)
}

/// The names of the hosts under a domain, in name order.
async fn subordinate_hosts<S: Store>(
    store: &S,
    name: &DomainName,
) -> Result<Vec<HostName>, Refused> {
    let mut out = Vec::new();
    let mut after: Option<HostName> = None;
    loop {
        let page = store
            .hosts(&HostQuery::Subordinate(name.clone()), after.as_ref(), 500)
            .await?;
        let full = page.len() == 500;
        after = page.last().map(|h| h.name.clone());
        out.extend(page.into_iter().map(|h| h.name));
        if !full {
            return Ok(out);
        }
    }
}

/// The statuses a domain shows: stored ones plus those the registry derives.
pub(crate) fn shown_statuses(d: &Domain, now: Timestamp) -> Vec<DomainStatus> {
    let mut derived = Vec::new();
    if pending_transfer(d, now).is_some() {
        derived.push(DomainStatus::PendingTransfer);
    }
    match d.lifecycle {
        Lifecycle::Quarantined { .. } => {
            derived.push(DomainStatus::PendingDelete);
            derived.push(DomainStatus::ServerHold);
        }
        Lifecycle::PendingDelete { .. } => derived.push(DomainStatus::PendingDelete),
        _ => {}
    }
    if d.delete_from_dns
        .is_some_and(|day| day <= policy::oslo_date(now))
    {
        derived.push(DomainStatus::ServerHold);
    }
    if d.ns.is_empty() {
        derived.push(DomainStatus::Inactive);
    }
    let mut all: Vec<DomainStatus> = d.statuses.keys().copied().chain(derived).collect();
    all.sort();
    all.dedup();
    all
}

/// The transfer request of a domain that is still pending at `now`.
fn pending_transfer(d: &Domain, now: Timestamp) -> Option<&TransferRecord> {
    d.transfer
        .as_ref()
        .filter(|t| t.status == TransferStatus::Pending && now < t.action_at)
}

fn inf_data(
    d: &Domain,
    full: bool,
    hosts: Hosts,
    subordinates: Vec<HostName>,
    now: Timestamp,
) -> xd::InfData {
    let derived = shown_statuses(d, now);
    let status = with_ok(&d.statuses, &derived, DomainStatus::Ok)
        .into_iter()
        .map(|(s, n)| {
            let (lang, content) = note_parts(n.as_ref());
            xd::Status {
                s: domain_to_xml(s),
                lang,
                content,
            }
        })
        .collect();
    let ns = if matches!(hosts, Hosts::All | Hosts::Del) && !d.ns.is_empty() {
        Some(xd::Ns {
            content: d.ns.iter().cloned().map(NsEntry::HostObj).collect(),
        })
    } else {
        None
    };
    xd::InfData {
        name: d.name.clone(),
        roid: d.roid.to_string(),
        status,
        registrant: Some(d.registrant.clone()),
        contact: d
            .contacts
            .iter()
            .map(|c| xd::Contact {
                type_: Some(role_to_xml(c.role)),
                content: c.id.clone(),
            })
            .collect(),
        ns,
        host: subordinates,
        cl_id: d.cl_id.clone(),
        cr_id: Some(d.cr_id.clone()),
        cr_date: Some(d.cr_date),
        // Norid's domain info shows no upID (seeds 030 and 032); the history keeps it.
        up_id: None,
        up_date: d.up_date,
        ex_date: Some(d.ex_date),
        tr_date: d.tr_date,
        auth_info: match (&d.auth_info, full) {
            (Some(code), true) => Some(xd::AuthInfo {
                content: AuthInfoContent::Pw(PwAuthInfo {
                    roid: None,
                    content: code.as_str().to_owned(),
                }),
            }),
            _ => None,
        },
    }
}

fn role_to_xml(r: ContactRole) -> XmlRole {
    match r {
        ContactRole::Admin => XmlRole::Admin,
        ContactRole::Billing => XmlRole::Billing,
        ContactRole::Tech => XmlRole::Tech,
    }
}

fn ds_to_xml(ds: &DsData) -> epp_xml::secdns::DsData {
    epp_xml::secdns::DsData {
        key_tag: ds.key_tag,
        alg: ds.alg,
        digest_type: ds.digest_type,
        digest: ds.digest.clone(),
        key_data: ds.key_data.as_ref().map(|k| epp_xml::secdns::KeyData {
            flags: k.flags,
            protocol: k.protocol,
            alg: k.alg,
            pub_key: k.pub_key.clone(),
        }),
    }
}

/// A checked DS record with the key data it carried.
fn ds_from_xml(ds: &epp_xml::secdns::DsData) -> Result<(DsRecord, DsData), Refused> {
    let record = DsRecord::from_ds_data(ds)?;
    let model = DsData {
        key_tag: record.key_tag(),
        alg: record.alg(),
        digest_type: record.digest_type(),
        digest: record.digest().to_owned(),
        key_data: ds.key_data.as_ref().map(|k| KeyData {
            flags: k.flags,
            protocol: k.protocol,
            alg: k.alg,
            pub_key: k.pub_key.clone(),
        }),
    };
    Ok((record, model))
}

/// The policy's contact type of a stored contact.
pub(crate) fn kind_of(c: &Contact) -> ContactKind {
    match c.kind {
        ContactType::Organization => ContactKind::Organization,
        ContactType::Person => ContactKind::Person,
        ContactType::Role => ContactKind::Role,
    }
}

/// The policy's identity type of a stored identity.
pub(crate) fn identity_kind(t: IdentityType) -> IdentityKind {
    match t {
        IdentityType::AnonymousPersonIdentifier => IdentityKind::AnonymousPersonIdentifier,
        IdentityType::LocalIdentity => IdentityKind::LocalIdentity,
        IdentityType::NationalIdentityNumber => IdentityKind::NationalIdentityNumber,
        IdentityType::OrganizationNumber => IdentityKind::OrganizationNumber,
    }
}

/// Checks that a contact may take a domain: not marked by the registry as no longer
/// qualifying, and the holder rules on its data.
pub(crate) fn check_holder(c: &Contact) -> Result<(), Refused> {
    if let Some(since) = c.invalid_holder_since {
        return Err(Problem::HolderInvalid {
            id: c.id.to_string(),
            since: policy::oslo_date(since).to_string(),
        }
        .into());
    }
    holder_rules(c)
}

/// The holder rules on a contact's data (type, identity, Norwegian address), without the
/// registry's mark: a contact update keeps a holder's data valid.
pub(crate) fn holder_rules(c: &Contact) -> Result<(), Refused> {
    let postal = c.postal_loc.as_ref().or(c.postal_int.as_ref());
    policy::check_registrant(&RegistrantFacts {
        id: &c.id,
        kind: kind_of(c),
        identity: c.identity.as_ref().map(|i| identity_kind(i.kind)),
        country_code: postal.map_or("", |p| p.cc.as_str()),
        postcode: postal.and_then(|p| p.pc.as_deref()),
    })?;
    Ok(())
}

/// Norid's holder rule for one more name in `zone`. What no count changes (a role contact,
/// a zone not for this kind of holder) is answered here. The count itself is left to the
/// commit: where a quota applies the returned [`Change::CheckHolderQuota`] counts the
/// holder's names in the same transaction as the write, so that of concurrent creates for
/// one holder at most one passes, and fails with the same refusal (2308) a count here
/// would have given; where none applies nothing is counted at all.
fn holder_quota(
    holder: &ContactId,
    kind: ContactKind,
    name: &DomainName,
    zone: policy::Zone,
) -> Result<Option<Change>, Refused> {
    // With nothing counted, only the refusals that hold whatever the counts can apply.
    policy::check_holder_quota(holder, kind, zone, HolderCounts::default())?;
    Ok(
        policy::quota_scope(kind, zone).map(|_| Change::CheckHolderQuota {
            holder: holder.clone(),
            kind,
            domain: name.clone(),
        }),
    )
}

/// Checks a tech contact: an existing role contact of the registrar's.
async fn tech_contact<S: Store>(ctx: &Ctx<'_, S>, id: &ContactId) -> Result<(), Refused> {
    let c = own_contact(ctx, id).await?;
    policy::check_tech_contact(id, kind_of(&c))?;
    Ok(())
}

/// The role of a `domain:contact` (Norid: only `tech`).
fn contact_role(c: &xd::Contact) -> Result<ContactRole, Refused> {
    let t = match c.type_ {
        Some(XmlRole::Tech) => return Ok(ContactRole::Tech),
        Some(XmlRole::Admin) => "admin",
        Some(XmlRole::Billing) => "billing",
        None => "",
    };
    policy::check_contact_type(t)?;
    Ok(ContactRole::Tech)
}

/// The host names of a `domain:ns` (Norid uses host objects only).
fn ns_names(ns: Option<&xd::Ns>) -> Result<Vec<HostName>, Refused> {
    let mut out = Vec::new();
    for e in ns.map(|n| n.content.as_slice()).unwrap_or_default() {
        match e {
            NsEntry::HostObj(h) => out.push(h.clone()),
            NsEntry::HostAttr(_) => {
                return Err(Problem::UnimplementedOption {
                    option: "domain:hostAttr",
                    hint: "name servers are host objects (create them with host:create and \
                           list them as domain:hostObj)",
                }
                .into());
            }
        }
    }
    Ok(out)
}

/// The transfer code of a create or `chg`: `Some(code)`, `None` for no code.
fn transfer_code(content: Option<&AuthInfoContent>) -> Result<Option<AuthInfo>, Refused> {
    let code = match content {
        None => None,
        Some(AuthInfoContent::Pw(pw)) => Some(pw.content.as_str()),
        Some(AuthInfoContent::Ext(_)) => return Err(ext_auth_info()),
    };
    Ok(policy::check_transfer_code(code)?.map(AuthInfo::new))
}

fn ext_auth_info() -> Refused {
    Problem::UnimplementedOption {
        option: "domain:ext authorization information",
        hint: "send the transfer code as domain:pw",
    }
    .into()
}

/// Checks an applicant dataset and makes the stored form.
fn dataset<S: Store>(
    ctx: &Ctx<'_, S>,
    ds: &epp_norid_ext::ApplicantDataset,
) -> Result<ApplicantDataset, Refused> {
    policy::check_applicant_dataset(
        &ApplicantDatasetFacts::from(ds),
        &ctx.config.applicant_dataset_version,
        ctx.now,
    )?;
    Ok(ApplicantDataset {
        version_number: ds.version_number.clone(),
        accept_name: ds.accept_name.clone(),
        accept_date: ds.accept_date,
        update_client_id: ctx.me.clone(),
        update_date: ctx.now,
    })
}

/// Whether a secDNS extension carries maxSigLife (accepted and ignored with a warning).
fn has_max_sig_life(s: &SecDnsExtension) -> bool {
    match s {
        SecDnsExtension::Create(c) => c
            .content
            .iter()
            .any(|e| matches!(e, DsOrKeyEntry::MaxSigLife(_))),
        SecDnsExtension::Update(u) => {
            u.chg.as_ref().is_some_and(|c| c.max_sig_life.is_some())
                || u.add.as_ref().is_some_and(|a| {
                    a.content
                        .iter()
                        .any(|e| matches!(e, DsOrKeyEntry::MaxSigLife(_)))
                })
        }
    }
}

/// The DS records of a `dsOrKeyType` list; keyData alone is refused.
fn ds_list(name: &DomainName, list: &DsOrKey) -> Result<Vec<(DsRecord, DsData)>, Refused> {
    let mut out = Vec::new();
    for e in &list.content {
        match e {
            DsOrKeyEntry::DsData(ds) => out.push(ds_from_xml(ds)?),
            DsOrKeyEntry::KeyData(_) => {
                policy::check_secdns_interface(name, policy::SecDnsInterface::KeyData)?;
            }
            DsOrKeyEntry::MaxSigLife(_) => {}
        }
    }
    Ok(out)
}

/// `<domain:create>` with Norid's rules, in this order: name policy, existence, period,
/// registrant (exists, own, holder rules, zone for this kind of holder), tech contacts,
/// name servers, transfer code, applicant dataset, DNSSEC; the holder's quota last, in the
/// commit.
pub(crate) async fn create<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xd::Create,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::DomainCreate, Slot::SecDns], "domain:create")?;
    if matches!(exts.sec_dns, Some(SecDnsExtension::Update(_))) {
        return Err(Problem::ExtensionNotApplicable {
            extension: "secDNS:update",
            command: "domain:create".into(),
        }
        .into());
    }
    let name = &c.name;
    let parsed = policy::parse_domain_name(name)?;
    // Every read the rules below need goes out at once (the name, the contacts, the name
    // servers), as one read set: on PostgreSQL in one query, shared with other sessions'
    // reads, instead of one round trip after another. The rules still apply one by one in
    // the order above, so a create wrong in several ways gets the same refusal as before.
    let mut contact_ids: Vec<&ContactId> = c
        .registrant
        .iter()
        .chain(c.contact.iter().map(|x| &x.content))
        .collect();
    super::dedup(&mut contact_ids);
    let listed_ns = ns_names(c.ns.as_ref()).map(|mut ns| {
        super::dedup(&mut ns);
        ns
    });
    let ReadSetAnswer {
        domains_exist: exists,
        contacts: contact_reads,
        hosts_exist: ns_exist,
    } = ctx
        .store
        .read_set(ReadSet {
            domains_exist: std::slice::from_ref(name),
            contacts: &contact_ids,
            hosts_exist: listed_ns.as_deref().unwrap_or_default(),
        })
        .await;
    let read_contact = |id: &ContactId| {
        let read = contact_ids
            .iter()
            .position(|x| *x == id)
            .and_then(|i| contact_reads.get(i));
        match read {
            Some(r) => r.clone(),
            None => Err(StoreError::Database(format!("contact {id} was not read"))),
        }
    };
    if exists?.first().copied().unwrap_or(false) {
        return Err(Problem::Exists {
            object: D,
            id: name.to_string(),
        }
        .into());
    }
    let months = policy::create_period_months(name, c.period.as_ref().map(Period::from))?;
    let registrant_id = c.registrant.as_ref().ok_or(Problem::Missing {
        parameter: "domain:registrant",
        context: " (an organization or person contact)".into(),
    })?;
    let registrant = own_read_contact(ctx, registrant_id, read_contact(registrant_id))?;
    check_holder(&registrant)?;
    let quota = holder_quota(registrant_id, kind_of(&registrant), name, parsed.zone())?;
    let mut contacts = Vec::new();
    for x in &c.contact {
        let role = contact_role(x)?;
        let tech = own_read_contact(ctx, &x.content, read_contact(&x.content))?;
        policy::check_tech_contact(&x.content, kind_of(&tech))?;
        let dc = DomainContact {
            role,
            id: x.content.clone(),
        };
        if !contacts.contains(&dc) {
            contacts.push(dc);
        }
    }
    policy::check_tech_contact_count(name, contacts.len())?;
    let ns = listed_ns?;
    policy::check_name_server_count(name, ns.len())?;
    // The name servers must exist; the first missing one is named.
    if let Some((h, _)) = ns.iter().zip(ns_exist?).find(|(_, e)| !e) {
        return Err(Problem::NotFound {
            object: ObjectKind::Host,
            id: h.to_string(),
        }
        .into());
    }
    let auth_info = transfer_code(Some(&c.auth_info.content))?;
    let applicant = exts.domain_create.map(|e| &e.applicant_dataset);
    policy::require_applicant_dataset(name, applicant.is_some())?;
    let applicant = applicant.map(|a| dataset(ctx, a)).transpose()?;
    let mut ds = Vec::new();
    if let Some(SecDnsExtension::Create(list)) = exts.sec_dns {
        let records = ds_list(name, list)?;
        let plain: Vec<DsRecord> = records.iter().map(|(r, _)| r.clone()).collect();
        policy::check_ds_set(name, &plain)?;
        ds = records.into_iter().map(|(_, m)| m).collect();
    }
    let ex_date = policy::add_months_oslo(ctx.now, i32::from(months))?;
    let n = ctx.store.allocate_id(Sequence::DomainRoid).await?;
    let roid = roid("DOM", n, 'D', &ctx.config.roid_suffix)?;
    let domain = Domain {
        name: name.clone(),
        roid,
        statuses: Default::default(),
        registrant: registrant_id.clone(),
        contacts,
        ns,
        auth_info,
        cl_id: ctx.me.clone(),
        cr_id: ctx.me.clone(),
        cr_date: ctx.now,
        up_id: None,
        up_date: None,
        ex_date,
        tr_date: None,
        applicant_dataset: applicant,
        delete_from_dns: None,
        delete_from_registry: None,
        sec_dns: SecDns {
            max_sig_life: None,
            ds,
        },
        transfer: None,
        lifecycle: Lifecycle::Active,
        version: 0,
    };
    let mut answer = Answer::completed(
        D,
        name.as_str(),
        Verb::Create,
        quota
            .into_iter()
            .chain([Change::CreateDomain(domain)])
            .collect(),
    )
    .with_data(ResData::DomainCre(xd::CreData {
        name: name.clone(),
        cr_date: ctx.now,
        ex_date: Some(ex_date),
    }));
    if exts.sec_dns.is_some_and(has_max_sig_life) {
        answer.conditions.push(policy::max_sig_life_ignored());
    }
    Ok(answer)
}

/// A ROID `<prefix><n><letter>-<suffix>` (`DOM659889D-NORID`).
pub(crate) fn roid(
    prefix: &str,
    n: u64,
    letter: char,
    suffix: &str,
) -> Result<epp_xml::Roid, Refused> {
    epp_xml::Roid::new(format!("{prefix}{n}{letter}-{suffix}"))
        .map_err(|_| Problem::StoreFailure.into())
}

/// Refuses a command on a domain whose statuses (stored or derived) prohibit it.
fn prohibited(d: &Domain, now: Timestamp, statuses: &[DomainStatus]) -> Result<(), Refused> {
    let shown = shown_statuses(d, now);
    match statuses.iter().find(|s| shown.contains(s)) {
        Some(s) => Err(Problem::StatusProhibits {
            object: D,
            id: d.name.to_string(),
            status: s.as_str(),
        }
        .into()),
        None => Ok(()),
    }
}

/// `<domain:update>`: name servers, tech contacts and client statuses (rem before add),
/// registrant (with a new applicant dataset) and transfer code, the applicant dataset, and
/// secDNS-1.1 DS data.
pub(crate) async fn update<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xd::Update,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::DomainUpdate, Slot::SecDns], "domain:update")?;
    if matches!(exts.sec_dns, Some(SecDnsExtension::Create(_))) {
        return Err(Problem::ExtensionNotApplicable {
            extension: "secDNS:create",
            command: "domain:update".into(),
        }
        .into());
    }
    let name = &c.name;
    let mut d = load_domain(ctx.store, name).await?;
    own(ctx.me, &d.cl_id, D, name.as_str())?;
    prohibited(
        &d,
        ctx.now,
        &[
            DomainStatus::ServerUpdateProhibited,
            DomainStatus::PendingDelete,
        ],
    )?;
    let removes_update_lock = c.rem.as_ref().is_some_and(|r| {
        r.status
            .iter()
            .any(|s| domain_from_xml(&s.s) == DomainStatus::ClientUpdateProhibited)
    });
    if !removes_update_lock {
        prohibited(&d, ctx.now, &[DomainStatus::ClientUpdateProhibited])?;
    }
    let id = name.to_string();
    let already = |what: &'static str, value: String| -> Refused {
        Problem::AlreadyAssociated {
            object: D,
            id: id.clone(),
            what,
            value,
        }
        .into()
    };
    let absent = |what: &'static str, value: String| -> Refused {
        Problem::NotAssociated {
            object: D,
            id: id.clone(),
            what,
            value,
        }
        .into()
    };
    let (mut ns_changed, mut tech_changed) = (false, false);
    if let Some(rem) = &c.rem {
        for h in ns_names(rem.ns.as_ref())? {
            let Some(i) = d.ns.iter().position(|x| *x == h) else {
                return Err(absent("name server", h.to_string()));
            };
            d.ns.remove(i);
            ns_changed = true;
        }
        for x in &rem.contact {
            let dc = DomainContact {
                role: contact_role(x)?,
                id: x.content.clone(),
            };
            let Some(i) = d.contacts.iter().position(|y| *y == dc) else {
                return Err(absent("tech contact", dc.id.to_string()));
            };
            d.contacts.remove(i);
            tech_changed = true;
        }
        for s in &rem.status {
            let st = domain_from_xml(&s.s);
            policy::check_client_status(st.as_str())?;
            if d.statuses.remove(&st).is_none() {
                return Err(absent("status", st.to_string()));
            }
        }
    }
    if let Some(add) = &c.add {
        for h in ns_names(add.ns.as_ref())? {
            if d.ns.contains(&h) {
                return Err(already("name server", h.to_string()));
            }
            super::load_host(ctx.store, &h).await?;
            d.ns.push(h);
            ns_changed = true;
        }
        for x in &add.contact {
            let dc = DomainContact {
                role: contact_role(x)?,
                id: x.content.clone(),
            };
            if d.contacts.contains(&dc) {
                return Err(already("tech contact", dc.id.to_string()));
            }
            tech_contact(ctx, &dc.id).await?;
            d.contacts.push(dc);
            tech_changed = true;
        }
        for s in &add.status {
            let st = domain_from_xml(&s.s);
            policy::check_client_status(st.as_str())?;
            if d.statuses.contains_key(&st) {
                return Err(already("status", st.to_string()));
            }
            d.statuses.insert(st, note(&s.lang, &s.content));
        }
    }
    if ns_changed {
        policy::check_name_server_count(name, d.ns.len())?;
    }
    if tech_changed {
        policy::check_tech_contact_count(name, d.tech_contacts().count())?;
    }
    let new_dataset = exts
        .domain_update
        .and_then(|u| u.chg.as_ref())
        .map(|chg| &chg.applicant_dataset);
    // The new holder's quota, counted inside the commit where one applies.
    let mut quota = None;
    if let Some(chg) = &c.chg {
        if let Some(r) = &chg.registrant {
            let r = r.trim();
            if r.is_empty() {
                return Err(Problem::Missing {
                    parameter: "domain:registrant",
                    context: " (a domain cannot be without its holder)".into(),
                }
                .into());
            }
            let new_id = ContactId::new(r).map_err(|e| {
                reason(
                    ResultCode::ParameterValueSyntaxError,
                    format!("domain:registrant: {e}"),
                )
            })?;
            if new_id != d.registrant {
                policy::check_registrant_change(name, new_dataset.is_some())?;
                let holder = own_contact(ctx, &new_id).await?;
                check_holder(&holder)?;
                let zone = policy::check_domain_name(name)?;
                quota = holder_quota(&new_id, kind_of(&holder), name, zone)?;
                d.registrant = new_id;
            }
        }
        if let Some(a) = &chg.auth_info {
            d.auth_info = match &a.content {
                AuthInfoChgContent::Pw(pw) => {
                    policy::check_transfer_code(Some(&pw.content))?.map(AuthInfo::new)
                }
                AuthInfoChgContent::Null(_) => None,
                AuthInfoChgContent::Ext(_) => return Err(ext_auth_info()),
            };
        }
    }
    if let Some(ds) = new_dataset {
        d.applicant_dataset = Some(dataset(ctx, ds)?);
    }
    let mut warnings = Vec::new();
    if let Some(SecDnsExtension::Update(u)) = exts.sec_dns {
        d.sec_dns.ds = ds_update(name, &d.sec_dns.ds, u)?;
        if exts.sec_dns.is_some_and(has_max_sig_life) {
            warnings.push(policy::max_sig_life_ignored());
        }
    }
    d.up_id = Some(ctx.me.clone());
    d.up_date = Some(ctx.now);
    let changes = quota.into_iter().chain([Change::UpdateDomain(d)]).collect();
    let mut answer = Answer::completed(D, name.as_str(), Verb::Update, changes);
    answer.conditions.extend(warnings);
    Ok(answer)
}

/// Applies a secDNS-1.1 update to the stored DS records.
fn ds_update(
    name: &DomainName,
    current: &[DsData],
    u: &epp_xml::secdns::Update,
) -> Result<Vec<DsData>, Refused> {
    let mut remove_all = false;
    let mut remove = Vec::new();
    if let Some(rem) = &u.rem {
        for e in &rem.content {
            match e {
                RemEntry::All(all) => remove_all |= *all,
                RemEntry::DsData(ds) => remove.push(ds_from_xml(ds)?.0),
                RemEntry::KeyData(_) => {
                    policy::check_secdns_interface(name, policy::SecDnsInterface::KeyData)?;
                }
            }
        }
    }
    let added = match &u.add {
        Some(list) => ds_list(name, list)?,
        None => Vec::new(),
    };
    let plain_added: Vec<DsRecord> = added.iter().map(|(r, _)| r.clone()).collect();
    // Stored records passed these checks when they were added; one that no longer does
    // (an algorithm withdrawn since) can still be removed by its exact values.
    let stored: Vec<(DsRecord, &DsData)> = current
        .iter()
        .filter_map(|m| {
            DsRecord::new(m.key_tag, m.alg, m.digest_type, &m.digest)
                .ok()
                .map(|r| (r, m))
        })
        .collect();
    let plain_current: Vec<DsRecord> = stored.iter().map(|(r, _)| r.clone()).collect();
    let result = policy::apply_ds_update(
        name,
        &plain_current,
        DsUpdate {
            remove_all,
            remove: &remove,
            add: &plain_added,
        },
    )?;
    Ok(result
        .iter()
        .filter_map(|r| {
            stored
                .iter()
                .find(|(s, _)| s == r)
                .map(|(_, m)| (*m).clone())
                .or_else(|| added.iter().find(|(a, _)| a == r).map(|(_, m)| m.clone()))
        })
        .collect())
}

/// `<domain:delete>`, with Norid's optional deleteFromDNS and deleteFromRegistry dates.
pub(crate) async fn delete<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xd::Delete,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::DomainDelete], "domain:delete")?;
    let name = &c.name;
    let mut d = load_domain(ctx.store, name).await?;
    own(ctx.me, &d.cl_id, D, name.as_str())?;
    prohibited(
        &d,
        ctx.now,
        &[
            DomainStatus::ServerDeleteProhibited,
            DomainStatus::ClientDeleteProhibited,
        ],
    )?;
    let (dns, registry) = match exts.domain_delete {
        Some((_, e)) => (Some(e.delete_from_dns), Some(e.delete_from_registry)),
        None => (None, None),
    };
    let plan = policy::delete_plan(dns, registry, ctx.now)?;
    let today = policy::oslo_date(ctx.now);
    let change = if plan.is_immediate(today) {
        if let Some(h) = subordinate_hosts(ctx.store, name).await?.into_iter().next() {
            return Err(Problem::SubordinateHosts {
                name: name.to_string(),
                host: h.to_string(),
            }
            .into());
        }
        Change::DeleteDomain {
            name: name.clone(),
            version: d.version,
        }
    } else {
        d.delete_from_dns = Some(plan.from_dns);
        d.delete_from_registry = plan.from_registry;
        if plan.from_registry.is_some() {
            d.lifecycle = Lifecycle::PendingDelete { since: ctx.now };
        }
        d.up_id = Some(ctx.me.clone());
        d.up_date = Some(ctx.now);
        Change::UpdateDomain(d)
    };
    Ok(Answer::completed(
        D,
        name.as_str(),
        Verb::Delete,
        vec![change],
    ))
}

/// `<domain:renew>`: period in months, curExpDate, the renew window; a quarantined domain
/// is restored.
pub(crate) async fn renew<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xd::Renew,
    exts: Exts<'_>,
) -> Outcome {
    exts.none("domain:renew")?;
    let name = &c.name;
    let mut d = load_domain(ctx.store, name).await?;
    own(ctx.me, &d.cl_id, D, name.as_str())?;
    prohibited(
        &d,
        ctx.now,
        &[
            DomainStatus::ServerRenewProhibited,
            DomainStatus::ClientRenewProhibited,
        ],
    )?;
    if matches!(d.lifecycle, Lifecycle::PendingDelete { .. }) {
        prohibited(&d, ctx.now, &[DomainStatus::PendingDelete])?;
    }
    let ex = policy::renew(
        name,
        d.ex_date,
        c.cur_exp_date,
        c.period.as_ref().map(Period::from),
        ctx.now,
    )?;
    d.ex_date = ex;
    d.lifecycle = Lifecycle::Active;
    d.up_id = Some(ctx.me.clone());
    d.up_date = Some(ctx.now);
    let mut answer =
        Answer::completed(D, name.as_str(), Verb::Renew, vec![Change::UpdateDomain(d)]);
    if ctx.config.renew_data {
        answer = answer.with_data(ResData::DomainRen(xd::RenData {
            name: name.clone(),
            ex_date: Some(ex),
        }));
    }
    Ok(answer)
}

fn tr_status(s: TransferStatus) -> TrStatus {
    match s {
        TransferStatus::ClientApproved => TrStatus::ClientApproved,
        TransferStatus::ClientCancelled => TrStatus::ClientCancelled,
        TransferStatus::ClientRejected => TrStatus::ClientRejected,
        TransferStatus::Pending => TrStatus::Pending,
        TransferStatus::ServerApproved => TrStatus::ServerApproved,
        TransferStatus::ServerCancelled => TrStatus::ServerCancelled,
    }
}

pub(crate) fn trn_data(
    name: &DomainName,
    t: &TransferRecord,
    ex: Option<Timestamp>,
) -> ResData<epp_norid_ext::Norid> {
    ResData::DomainTrn(xd::TrnData {
        name: name.clone(),
        tr_status: tr_status(t.status),
        re_id: t.requested_by.clone(),
        re_date: t.requested_at,
        ac_id: t.action_by.clone(),
        ac_date: t.action_at,
        ex_date: ex,
    })
}

/// The transfer record as it stands at `now`: a pending request past its token's lifetime
/// shows as cancelled by the server.
fn transfer_now(t: &TransferRecord, now: Timestamp) -> TransferRecord {
    let mut t = t.clone();
    if t.status == TransferStatus::Pending && now >= t.action_at {
        t.status = TransferStatus::ServerCancelled;
    }
    t
}

/// `<domain:transfer>`: `request` (with the transfer code it transfers at once; without
/// it a one-time token goes to the holder), `query`, `cancel`; `approve` and `reject` do
/// not exist at Norid.
pub(crate) async fn transfer<S: Store>(
    ctx: &mut Ctx<'_, S>,
    op: TransferOp,
    c: &xd::Transfer,
    exts: Exts<'_>,
) -> Outcome {
    match op {
        TransferOp::Approve | TransferOp::Reject => {
            exts.none("domain:transfer")?;
            Err(Problem::Unimplemented {
                command: format!("Domain transfer op=\"{}\"", op.as_str()),
            }
            .into())
        }
        TransferOp::Query => {
            exts.none("domain:transfer")?;
            let d = load_domain(ctx.store, &c.name).await?;
            let Some(t) = d.transfer.as_ref() else {
                return Err(Problem::NotPendingTransfer {
                    name: c.name.to_string(),
                }
                .into());
            };
            let involved = [&t.requested_by, &t.action_by, &d.cl_id];
            if !involved.contains(&ctx.me) {
                return Err(Problem::NotSponsor {
                    object: D,
                    id: c.name.to_string(),
                }
                .into());
            }
            let t = transfer_now(t, ctx.now);
            Ok(Answer::default().with_data(trn_data(&c.name, &t, Some(d.ex_date))))
        }
        TransferOp::Cancel => {
            exts.none("domain:transfer")?;
            cancel(ctx, &c.name).await
        }
        TransferOp::Request => {
            exts.only(&[Slot::DomainTransfer], "domain:transfer")?;
            if c.auth_info.is_some() {
                return execute(ctx, c, exts).await;
            }
            request_token(ctx, c, exts).await
        }
    }
}

/// Refuses a transfer of a domain the registrar sponsors, or that its statuses protect.
fn transferable<S: Store>(ctx: &Ctx<'_, S>, d: &Domain) -> Result<(), Refused> {
    if d.cl_id == *ctx.me {
        return Err(Problem::AlreadySponsor {
            name: d.name.to_string(),
            registrar: ctx.me.to_string(),
        }
        .into());
    }
    prohibited(
        d,
        ctx.now,
        &[
            DomainStatus::ServerTransferProhibited,
            DomainStatus::ClientTransferProhibited,
            DomainStatus::PendingDelete,
        ],
    )
}

/// A transfer request without transfer code: a one-time token to the holder.
async fn request_token<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xd::Transfer,
    exts: Exts<'_>,
) -> Outcome {
    let name = &c.name;
    let mut d = load_domain(ctx.store, name).await?;
    transferable(ctx, &d)?;
    if let Some(t) = pending_transfer(&d, ctx.now)
        && t.requested_by != *ctx.me
    {
        return Err(Problem::PendingTransfer {
            name: name.to_string(),
        }
        .into());
    }
    let ext = exts.domain_transfer.map(|(_, e)| e);
    if ext.is_some_and(|e| e.token.is_some()) {
        return Err(Problem::UnimplementedOption {
            option: "A token on a transfer request",
            hint: "send the token with the transfer execute command",
        }
        .into());
    }
    if let Some(p) = &c.period {
        policy::renew_period_months(name, Some(Period::from(p)))?;
    }
    let holder = super::load_contact(ctx.store, &d.registrant).await?;
    let emails: Vec<&str> = std::iter::once(holder.email.as_str())
        .filter(|e| !e.is_empty())
        .chain(holder.extra_emails.iter().map(String::as_str))
        .collect();
    let notify = match ext.and_then(|e| e.notify.as_ref()) {
        Some(n) => TransferNotify::from(&n.content),
        None => TransferNotify::Default,
    };
    let mobile = holder.mobile.as_ref().map(|m| m.number.as_str());
    let delivery = policy::token_delivery(name, notify, &emails, mobile)?;
    let token = {
        let rng = &mut *ctx.rng;
        policy::generate_transfer_token(&mut |b: &mut [u8]| rng.fill_bytes(b))
    };
    let expires = policy::transfer_token_expires(ctx.now);
    let channel = match delivery.channel {
        TokenChannel::Email => NotifyChannel::Email,
        TokenChannel::Sms => NotifyChannel::Sms,
    };
    let record = TransferRecord {
        status: TransferStatus::Pending,
        requested_by: ctx.me.clone(),
        requested_at: ctx.now,
        action_by: d.cl_id.clone(),
        action_at: expires,
        cl_trid: ctx.meta.cl_trid.clone(),
        sv_trid: ctx.meta.sv_trid.clone(),
    };
    let sponsor = d.cl_id.clone();
    let changes = vec![
        Change::PutTransferToken(TransferToken {
            domain: name.clone(),
            token_hash: TokenHash::of(&token),
            requested_by: ctx.me.clone(),
            channel,
            target: delivery.address.clone(),
            created: ctx.now,
            expires,
        }),
        Change::QueueNotification(NewNotification {
            channel,
            recipient: delivery.address,
            subject: Some(format!("Transfer of domain {name}")),
            body: token_message(name, ctx.me, &token, expires),
        }),
        Change::EnqueuePoll(NewPollMessage {
            registrar: sponsor.clone(),
            text: format!(
                "Transfer of domain [{name}] requested by registrar [{}]; a one-time token \
                 was sent to the holder.",
                ctx.me
            ),
            payload: PollPayload::Text,
        }),
    ];
    let ex = d.ex_date;
    d.transfer = Some(record.clone());
    let mut all = changes;
    all.push(Change::UpdateDomain(d));
    let self_polls = usize::from(sponsor == *ctx.me);
    Ok(Answer {
        code: Some(ResultCode::SuccessPending),
        res_data: Some(trn_data(name, &record, Some(ex))),
        conditions: vec![policy::transfer_token_sent(name.as_str(), delivery.channel)],
        changes: all,
        self_polls,
        ..Answer::default()
    })
}

/// The text of the token message to the holder.
fn token_message(
    name: &DomainName,
    requester: &ClientId,
    token: &str,
    expires: Timestamp,
) -> String {
    format!(
        "Registrar {requester} has asked to take over the domain name {name}.\n\
         If you want this registrar to manage your domain name, give it this one-time \
         token:\n\n    {token}\n\nThe token is valid until {expires}. If you did not ask \
         for this, ignore this message.\n"
    )
}

/// `transfer op="cancel"`: the requester withdraws its pending request; the token goes.
async fn cancel<S: Store>(ctx: &mut Ctx<'_, S>, name: &DomainName) -> Outcome {
    let mut d = load_domain(ctx.store, name).await?;
    let Some(t) = pending_transfer(&d, ctx.now).cloned() else {
        return Err(Problem::NotPendingTransfer {
            name: name.to_string(),
        }
        .into());
    };
    if t.requested_by != *ctx.me {
        return Err(Problem::NotSponsor {
            object: D,
            id: name.to_string(),
        }
        .into());
    }
    let record = TransferRecord {
        status: TransferStatus::ClientCancelled,
        action_at: ctx.now,
        ..t
    };
    let sponsor = d.cl_id.clone();
    let ex = d.ex_date;
    d.transfer = Some(record.clone());
    let mut changes = vec![Change::UpdateDomain(d)];
    if ctx.store.transfer_token(name).await?.is_some() {
        changes.push(Change::DeleteTransferToken {
            domain: name.clone(),
        });
    }
    changes.push(Change::EnqueuePoll(NewPollMessage {
        registrar: sponsor,
        text: format!(
            "The transfer request for domain [{name}] by registrar [{}] was cancelled.",
            ctx.me
        ),
        payload: PollPayload::Text,
    }));
    Ok(
        Answer::completed(D, name.as_str(), Verb::Transfer, changes).with_data(trn_data(
            name,
            &record,
            Some(ex),
        )),
    )
}

/// Norid's `transfer op="execute"` (also a `request` carrying the transfer code): with
/// the transfer code or the one-time token the domain moves at once, renewed when a period
/// is given (required once it has expired). The sponsor gets a `response-copy` of the
/// response, also of a refusal (Norid's capture of a copy shows a refused execute).
pub(crate) async fn execute<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xd::Transfer,
    exts: Exts<'_>,
) -> Outcome {
    let outcome = execute_transfer(ctx, c, exts).await;
    let Err(mut refused) = outcome else {
        return outcome;
    };
    if let Ok(Some(d)) = ctx.store.domain(&c.name).await
        && d.cl_id != *ctx.me
        && d.cl_id.as_str() != WITHDRAWN_REGISTRAR
    {
        refused.copy = Some(Box::new(crate::problem::ResponseCopyTo {
            registrar: d.cl_id,
            command: copy_command(ctx),
            object_name: c.name.to_string(),
        }));
    }
    Err(refused)
}

/// The `command` entry of a transfer's `response-copy`.
fn copy_command<S: Store>(ctx: &Ctx<'_, S>) -> &'static str {
    if ctx.meta.command.ends_with("transfer-execute") {
        "transfer-execute"
    } else {
        "transfer-request"
    }
}

async fn execute_transfer<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xd::Transfer,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::DomainTransfer], "transfer execute")?;
    let name = &c.name;
    // The token before the domain: a concurrent execute that spends the token changes the
    // domain in the same commit, so a token read before it pairs with a domain read after
    // it, and this command is refused as "already the sponsor" (2106) as in a serial
    // order. Read the other way round, the old domain and the spent token gave "token not
    // valid" (2202), which no serial order gives.
    let stored_token = ctx.store.transfer_token(name).await?;
    let mut d = load_domain(ctx.store, name).await?;
    transferable(ctx, &d)?;
    let token = exts.domain_transfer.and_then(|(_, e)| e.token.as_deref());
    if exts
        .domain_transfer
        .is_some_and(|(_, e)| e.notify.is_some())
    {
        return Err(Problem::UnimplementedOption {
            option: "notify on a transfer execute",
            hint: "notify chooses where a transfer request sends the token",
        }
        .into());
    }
    match (&c.auth_info, token) {
        (Some(a), _) => {
            let given = match &a.content {
                AuthInfoContent::Pw(pw) => pw.content.as_str(),
                AuthInfoContent::Ext(_) => return Err(ext_auth_info()),
            };
            let ok = d.auth_info.as_ref().is_some_and(|code| {
                !given.is_empty() && policy::transfer_code_matches(code.as_str(), given)
            });
            if !ok {
                return Err(Problem::InvalidAuthInfo {
                    name: name.to_string(),
                }
                .into());
            }
        }
        (None, Some(token)) => {
            let valid = stored_token.as_ref().filter(|t| t.requested_by == *ctx.me);
            let Some(t) = valid else {
                // The scheduler removed the registrar's expired token; say so rather than
                // "invalid" (the token itself can no longer be compared).
                if let Some(r) = d.transfer.as_ref().filter(|r| {
                    r.status == TransferStatus::ServerCancelled && r.requested_by == *ctx.me
                }) {
                    return Err(Problem::TokenExpired {
                        name: name.to_string(),
                        expired: r.action_at.to_string(),
                    }
                    .into());
                }
                return Err(Problem::InvalidAuthInfo {
                    name: name.to_string(),
                }
                .into());
            };
            if !t.token_hash.matches(token) {
                return Err(Problem::InvalidAuthInfo {
                    name: name.to_string(),
                }
                .into());
            }
            if ctx.now >= t.expires {
                return Err(Problem::TokenExpired {
                    name: name.to_string(),
                    expired: t.expires.to_string(),
                }
                .into());
            }
        }
        (None, None) => {
            return Err(Problem::Missing {
                parameter: "The transfer code (domain:authInfo) or a one-time token \
                            (no-ext-domain:transfer/token)",
                context: " to execute a transfer".into(),
            }
            .into());
        }
    }
    let renewed = policy::transfer_renewal(
        name,
        d.ex_date,
        c.period.as_ref().map(Period::from),
        ctx.now,
    )?;
    let loser = d.cl_id.clone();
    let requested_at = pending_transfer(&d, ctx.now)
        .filter(|t| t.requested_by == *ctx.me)
        .map_or(ctx.now, |t| t.requested_at);
    let record = TransferRecord {
        status: TransferStatus::ServerApproved,
        requested_by: ctx.me.clone(),
        requested_at,
        action_by: loser.clone(),
        action_at: ctx.now,
        cl_trid: ctx.meta.cl_trid.clone(),
        sv_trid: ctx.meta.sv_trid.clone(),
    };
    if let Some(ex) = renewed {
        d.ex_date = ex;
        d.lifecycle = Lifecycle::Active;
    }
    d.cl_id = ctx.me.clone();
    d.tr_date = Some(ctx.now);
    d.up_id = Some(ctx.me.clone());
    d.up_date = Some(ctx.now);
    // The code the holder gave out has served its purpose; the new registrar sets its own.
    d.auth_info = None;
    d.transfer = Some(record.clone());
    let ex = d.ex_date;
    let mut changes = vec![Change::UpdateDomain(d)];
    if stored_token.is_some() {
        changes.push(Change::DeleteTransferToken {
            domain: name.clone(),
        });
    }
    move_subordinates(ctx, name, &loser, ctx.me, &mut changes).await?;
    changes.push(Change::EnqueuePoll(NewPollMessage {
        registrar: loser.clone(),
        text: format!(
            "Domain [{name}] has been transferred to registrar [{}].",
            ctx.me
        ),
        payload: PollPayload::DomainTransferred {
            domain: name.clone(),
            gaining: ctx.me.clone(),
        },
    }));
    changes.push(Change::EnqueuePoll(NewPollMessage {
        registrar: ctx.me.clone(),
        text: format!("Domain [{name}] has been transferred to you from registrar [{loser}]."),
        payload: PollPayload::Text,
    }));
    let mut answer = Answer::completed(D, name.as_str(), Verb::Transfer, changes)
        .with_data(trn_data(name, &record, Some(ex)));
    answer.self_polls = 1;
    // Norid's `response-copy`: the losing registrar sees the response the gaining one got
    // (reg0, the holder of withdrawn domains, reads no queue).
    if let Some(sv) = &ctx.meta.sv_trid
        && loser.as_str() != WITHDRAWN_REGISTRAR
    {
        let command = copy_command(ctx);
        let response = answer.document(ctx.meta.cl_trid.clone(), sv.clone());
        answer.changes.push(Change::EnqueuePoll(NewPollMessage {
            registrar: loser,
            text: format!(
                "EPP response to a transaction executed on your behalf: objecttype [domain] \
                 command [{command}] objectname [{name}]"
            ),
            payload: PollPayload::ResponseCopy {
                object: crate::store::model::ObjectKind::Domain,
                command: command.to_owned(),
                object_name: name.to_string(),
                response,
            },
        }));
    }
    Ok(answer)
}

/// Moves the subordinate hosts `from` sponsors to `to` (they follow their domain).
async fn move_subordinates<S: Store>(
    ctx: &Ctx<'_, S>,
    name: &DomainName,
    from: &ClientId,
    to: &ClientId,
    changes: &mut Vec<Change>,
) -> Result<(), Refused> {
    for h in subordinate_hosts(ctx.store, name).await? {
        let Some(mut host) = ctx.store.host(&h).await? else {
            continue;
        };
        if host.cl_id != *from {
            continue;
        }
        host.cl_id = to.clone();
        host.tr_date = Some(ctx.now);
        changes.push(Change::UpdateHost { name: h, host });
    }
    Ok(())
}

/// Norid's `withdraw`: the registrar gives the domain up; `reg0` sponsors it, its transfer
/// code is removed, and a poll message records it.
pub(crate) async fn withdraw<S: Store>(
    ctx: &mut Ctx<'_, S>,
    name: &DomainName,
    exts: Exts<'_>,
) -> Outcome {
    exts.none("withdraw")?;
    let mut d = load_domain(ctx.store, name).await?;
    own(ctx.me, &d.cl_id, D, name.as_str())?;
    prohibited(
        &d,
        ctx.now,
        &[
            DomainStatus::ServerTransferProhibited,
            DomainStatus::ClientTransferProhibited,
            DomainStatus::PendingDelete,
        ],
    )?;
    let reg0 =
        ClientId::new(WITHDRAWN_REGISTRAR).map_err(|_| Refused::from(Problem::StoreFailure))?;
    d.cl_id = reg0.clone();
    d.auth_info = None;
    d.transfer = None;
    d.tr_date = Some(ctx.now);
    d.up_id = Some(ctx.me.clone());
    d.up_date = Some(ctx.now);
    let mut changes = vec![Change::UpdateDomain(d)];
    if ctx.store.transfer_token(name).await?.is_some() {
        changes.push(Change::DeleteTransferToken {
            domain: name.clone(),
        });
    }
    move_subordinates(ctx, name, ctx.me, &reg0, &mut changes).await?;
    changes.push(Change::EnqueuePoll(NewPollMessage {
        registrar: ctx.me.clone(),
        text: format!("Domain [{name}] has been withdrawn and transferred to [{reg0}]."),
        payload: PollPayload::DomainTransferred {
            domain: name.clone(),
            gaining: reg0,
        },
    }));
    let mut answer = Answer::completed(D, name.as_str(), Verb::Withdraw, changes);
    answer.self_polls = 1;
    Ok(answer)
}
