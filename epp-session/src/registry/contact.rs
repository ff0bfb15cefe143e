//! Contact commands (RFC 5733 with Norid's `no-ext-contact`): check, info, create (the
//! server assigns the id), update, delete; transfer is refused by the dispatcher.

use epp_norid_ext::policy::{self, ContactKind, IdentityKind as PolicyIdentity, ObjectKind, Verb};
use epp_norid_ext::{
    ContactExtDisclose, ContactExtInfData, ContactType as XmlContactType, Identity as XmlIdentity,
    NoridResponseExt, ns as norid_ns,
};
use epp_xml::contact::{self as xc, AuthInfoContent, IntLoc, Phone as XmlPhone, PostalInfoKind};
use epp_xml::{ContactId, Empty, PwAuthInfo, Reason, ResData, ResponseExtension, ResultCode};

use super::domain::{holder_rules, identity_kind, kind_of, roid};
use super::status::{contact_from_xml, contact_to_xml, note, note_parts, with_ok};
use super::{Answer, Ctx, Exts, Outcome, Slot, load_contact, own, own_contact, reason};
use crate::problem::{Problem, Refused};
use crate::store::model::{
    AuthInfo, Contact, ContactStatus, ContactType, Disclose, DomainQuery, Identity, IdentityType,
    ObjectKey, Phone, PostalInfo,
};
use crate::store::{Change, Sequence, Store};

const C: ObjectKind = ObjectKind::Contact;

/// `<contact:check>`.
pub(crate) async fn check<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xc::Check,
    exts: Exts<'_>,
) -> Outcome {
    exts.none("contact:check")?;
    if c.id.len() > ctx.config.max_check_names {
        return Err(reason(
            ResultCode::ParameterValuePolicyError,
            format!(
                "A check may name at most {} contacts, not {}.",
                ctx.config.max_check_names,
                c.id.len()
            ),
        ));
    }
    let exists = ctx.store.contacts_exist(&c.id).await?;
    let cd =
        c.id.iter()
            .zip(exists)
            .map(|(id, exists)| xc::CheckResult {
                id: xc::CheckId {
                    avail: !exists,
                    content: id.clone(),
                },
                reason: exists.then(|| Reason {
                    lang: None,
                    content: "Contact exists".to_owned(),
                }),
            })
            .collect();
    Ok(Answer::default().with_data(ResData::ContactChk(xc::ChkData { cd })))
}

/// `<contact:info>`: only the sponsor sees a contact (contacts hold personal data).
pub(crate) async fn info<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xc::AuthId,
    exts: Exts<'_>,
) -> Outcome {
    exts.none("contact:info")?;
    let k = ctx.store.contact(&c.id).await?.ok_or_else(|| {
        reason(
            ResultCode::ObjectDoesNotExist,
            format!("Contact [{}] does not exist.", c.id),
        )
    })?;
    if k.cl_id != *ctx.me {
        return Err(reason(
            ResultCode::AuthorizationError,
            format!("Contact [{}] is sponsored by another registrar.", c.id),
        ));
    }
    let linked = ctx
        .store
        .is_linked(&ObjectKey::Contact(k.id.clone()))
        .await?;
    let mut answer = Answer::default().with_data(ResData::ContactInf(inf_data(&k, linked)));
    if ctx.declared.ext(norid_ns::NO_EXT_CONTACT) {
        answer
            .extensions
            .push(ResponseExtension::Other(NoridResponseExt::ContactInfData(
                ext_inf_data(&k),
            )));
    }
    Ok(answer)
}

fn inf_data(k: &Contact, linked: bool) -> xc::InfData {
    let derived: &[ContactStatus] = if linked {
        &[ContactStatus::Linked]
    } else {
        &[]
    };
    let mut shown = with_ok(&k.statuses, derived, ContactStatus::Ok);
    // `linked` may stand beside `ok` (RFC 5733 section 2.2).
    if linked && k.statuses.is_empty() {
        shown.push((ContactStatus::Ok, None));
    }
    let status = shown
        .into_iter()
        .map(|(s, n)| {
            let (lang, content) = note_parts(n.as_ref());
            xc::Status {
                s: contact_to_xml(s),
                lang,
                content,
            }
        })
        .collect();
    let postal = |p: &PostalInfo, kind: PostalInfoKind| xc::PostalInfo {
        type_: kind,
        name: p.name.clone(),
        org: p.org.clone(),
        addr: xc::Addr {
            street: p.street.clone(),
            city: p.city.clone(),
            sp: p.sp.clone(),
            pc: p.pc.clone(),
            cc: p.cc.clone(),
        },
    };
    let mut postal_info = Vec::new();
    if let Some(p) = &k.postal_loc {
        postal_info.push(postal(p, PostalInfoKind::Loc));
    }
    if let Some(p) = &k.postal_int {
        postal_info.push(postal(p, PostalInfoKind::Int));
    }
    xc::InfData {
        id: k.id.clone(),
        roid: k.roid.to_string(),
        status,
        postal_info,
        voice: k.voice.as_ref().map(phone_to_xml),
        fax: k.fax.as_ref().map(phone_to_xml),
        email: k.email.clone(),
        cl_id: k.cl_id.clone(),
        cr_id: k.cr_id.clone(),
        cr_date: k.cr_date,
        up_id: k.up_id.clone(),
        up_date: k.up_date,
        tr_date: k.tr_date,
        auth_info: k.auth_info.as_ref().map(|a| xc::AuthInfo {
            content: AuthInfoContent::Pw(PwAuthInfo {
                roid: None,
                content: a.as_str().to_owned(),
            }),
        }),
        disclose: k.disclose.as_ref().map(disclose_to_xml),
    }
}

fn ext_inf_data(k: &Contact) -> ContactExtInfData {
    ContactExtInfData {
        type_: XmlContactType::from(kind_of(k)),
        identity: k.identity.as_ref().map(|i| XmlIdentity {
            type_: identity_kind(i.kind).into(),
            content: i.value.clone(),
        }),
        mobile_phone: k.mobile.as_ref().map(phone_to_xml),
        email: k.extra_emails.clone(),
        organization: k.organizations.clone(),
        role_contact: k.role_contacts.clone(),
        disclose: k.disclose_mobile.map(|flag| ContactExtDisclose {
            flag,
            mobile_phone: Some(Empty),
        }),
    }
}

fn phone_to_xml(p: &Phone) -> XmlPhone {
    XmlPhone {
        x: p.ext.clone(),
        content: p.number.clone(),
    }
}

/// A checked phone number; an empty element means none.
fn phone(p: &XmlPhone) -> Result<Option<Phone>, Refused> {
    if p.content.is_empty() {
        return Ok(None);
    }
    policy::check_phone(&p.content, p.x.as_deref())?;
    Ok(Some(Phone {
        number: p.content.clone(),
        ext: p.x.clone(),
    }))
}

fn disclose_to_xml(d: &Disclose) -> xc::Disclose {
    let il = |int: bool, loc: bool| {
        let mut v = Vec::new();
        if int {
            v.push(IntLoc {
                type_: PostalInfoKind::Int,
            });
        }
        if loc {
            v.push(IntLoc {
                type_: PostalInfoKind::Loc,
            });
        }
        v
    };
    xc::Disclose {
        flag: d.flag,
        name: il(d.name_int, d.name_loc),
        org: il(d.org_int, d.org_loc),
        addr: il(d.addr_int, d.addr_loc),
        voice: d.voice.then_some(Empty),
        fax: d.fax.then_some(Empty),
        email: d.email.then_some(Empty),
    }
}

fn disclose_from_xml(d: &xc::Disclose) -> Disclose {
    let has = |v: &[IntLoc], k: PostalInfoKind| v.iter().any(|x| x.type_ == k);
    Disclose {
        flag: d.flag,
        name_int: has(&d.name, PostalInfoKind::Int),
        name_loc: has(&d.name, PostalInfoKind::Loc),
        org_int: has(&d.org, PostalInfoKind::Int),
        org_loc: has(&d.org, PostalInfoKind::Loc),
        addr_int: has(&d.addr, PostalInfoKind::Int),
        addr_loc: has(&d.addr, PostalInfoKind::Loc),
        voice: d.voice.is_some(),
        fax: d.fax.is_some(),
        email: d.email.is_some(),
    }
}

fn postal_type(k: &PostalInfoKind) -> &'static str {
    match k {
        PostalInfoKind::Loc => "loc",
        PostalInfoKind::Int => "int",
    }
}

/// A checked address: country code upper case, Norwegian postcodes as `NO-nnnn`.
fn address(name: &str, org: Option<&str>, a: &xc::Addr) -> Result<PostalInfo, Refused> {
    let cc = policy::normalize_country_code(&a.cc)?;
    let pc = policy::normalize_postcode(&cc, a.pc.as_deref())?;
    Ok(PostalInfo {
        name: name.to_owned(),
        org: org.map(str::to_owned),
        street: a.street.clone(),
        city: a.city.clone(),
        sp: a.sp.clone(),
        pc,
        cc,
    })
}

fn identity_type(k: PolicyIdentity) -> IdentityType {
    match k {
        PolicyIdentity::OrganizationNumber => IdentityType::OrganizationNumber,
        PolicyIdentity::AnonymousPersonIdentifier => IdentityType::AnonymousPersonIdentifier,
        PolicyIdentity::LocalIdentity => IdentityType::LocalIdentity,
        PolicyIdentity::NationalIdentityNumber => IdentityType::NationalIdentityNumber,
    }
}

fn contact_type(k: ContactKind) -> ContactType {
    match k {
        ContactKind::Organization => ContactType::Organization,
        ContactKind::Person => ContactType::Person,
        ContactKind::Role => ContactType::Role,
    }
}

/// Checks an organization membership: an organization contact of the registrar's.
async fn organization<S: Store>(ctx: &Ctx<'_, S>, id: &ContactId) -> Result<(), Refused> {
    let o = own_contact(ctx, id).await?;
    policy::check_organization_link(id, kind_of(&o))?;
    Ok(())
}

/// Checks a role contact entry: a person contact of the registrar's.
async fn role_contact<S: Store>(ctx: &Ctx<'_, S>, id: &ContactId) -> Result<(), Refused> {
    let p = own_contact(ctx, id).await?;
    policy::check_role_contact_link(id, kind_of(&p))?;
    Ok(())
}

/// An extra e-mail list without duplicates (ASCII case ignored), each address checked.
fn emails(list: &[String]) -> Result<Vec<String>, Refused> {
    let mut out: Vec<String> = Vec::new();
    for e in list {
        policy::check_email(e)?;
        if !out.iter().any(|x| x.eq_ignore_ascii_case(e)) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// `<contact:create>` with `no-ext-contact:create`: the server assigns the id (the client
/// sends `auto`), the type decides identity and memberships.
pub(crate) async fn create<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xc::Create,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::ContactCreate], "contact:create")?;
    let ext = exts.contact_create.ok_or(Problem::Missing {
        parameter: "no-ext-contact:create with no-ext-contact:type",
        context: " (person, organization or role)".into(),
    })?;
    let kind = ContactKind::from(ext.type_.clone());
    let (mut loc, mut int) = (None, None);
    for p in &c.postal_info {
        policy::check_postal_info_type(postal_type(&p.type_))?;
        let info = address(&p.name, p.org.as_deref(), &p.addr)?;
        match p.type_ {
            PostalInfoKind::Loc => loc = Some(info),
            PostalInfoKind::Int => int = Some(info),
        }
    }
    let name = loc
        .as_ref()
        .or(int.as_ref())
        .map(|p| p.name.clone())
        .unwrap_or_default();
    policy::check_email(&c.email)?;
    let voice = c.voice.as_ref().map(phone).transpose()?.flatten();
    let fax = c.fax.as_ref().map(phone).transpose()?.flatten();
    let identity = ext
        .identity
        .as_ref()
        .map(|i| (PolicyIdentity::from(i.type_.clone()), i.content.as_str()));
    policy::check_identity(kind, identity)?;
    let mobile = ext.mobile_phone.as_ref().map(phone).transpose()?.flatten();
    let extra_emails = emails(&ext.email)?;
    let mut organizations = ext.organization.clone();
    super::dedup(&mut organizations);
    let mut role_contacts = ext.role_contact.clone();
    super::dedup(&mut role_contacts);
    policy::check_memberships(kind, organizations.len(), role_contacts.len())?;
    for o in &organizations {
        organization(ctx, o).await?;
    }
    for r in &role_contacts {
        role_contact(ctx, r).await?;
    }
    let seq = ctx.store.allocate_id(Sequence::ContactId).await?;
    let id = policy::generate_contact_id(&name, kind, seq).ok_or(Problem::StoreFailure)?;
    let n = ctx.store.allocate_id(Sequence::ContactRoid).await?;
    let roid = roid("CON", n, 'C', &ctx.config.roid_suffix)?;
    let auth_info = match &c.auth_info.content {
        AuthInfoContent::Pw(pw) if !pw.content.is_empty() => Some(AuthInfo::new(&pw.content)),
        _ => None,
    };
    let contact = Contact {
        id: id.clone(),
        roid,
        kind: contact_type(kind),
        statuses: Default::default(),
        postal_loc: loc,
        postal_int: int,
        voice,
        fax,
        email: c.email.clone(),
        auth_info,
        disclose: c.disclose.as_ref().map(disclose_from_xml),
        identity: identity.map(|(k, v)| Identity {
            kind: identity_type(k),
            value: v.to_owned(),
        }),
        mobile,
        extra_emails,
        organizations,
        role_contacts,
        disclose_mobile: ext.disclose.as_ref().map(|d| d.flag),
        invalid_holder_since: None,
        cl_id: ctx.me.clone(),
        cr_id: ctx.me.clone(),
        cr_date: ctx.now,
        up_id: None,
        up_date: None,
        tr_date: None,
        version: 0,
    };
    Ok(Answer::completed(
        C,
        id.as_str(),
        Verb::Create,
        vec![Change::CreateContact(contact)],
    )
    .with_data(ResData::ContactCre(xc::CreData {
        id,
        cr_date: ctx.now,
    })))
}

/// Refuses a command on a contact whose statuses prohibit it.
fn prohibited(k: &Contact, statuses: &[ContactStatus]) -> Result<(), Refused> {
    match statuses.iter().find(|s| k.statuses.contains_key(s)) {
        Some(s) => Err(Problem::StatusProhibits {
            object: C,
            id: k.id.to_string(),
            status: s.as_str(),
        }
        .into()),
        None => Ok(()),
    }
}

/// `<contact:update>` with `no-ext-contact:update` (seed 004): `chg` replaces what it
/// names and keeps the rest; an empty `mobilePhone` in `chg` removes the number; extra
/// e-mails, organizations and role contacts are removed, then added.
pub(crate) async fn update<S: Store>(
    ctx: &mut Ctx<'_, S>,
    c: &xc::Update,
    exts: Exts<'_>,
) -> Outcome {
    exts.only(&[Slot::ContactUpdate], "contact:update")?;
    let mut k = load_contact(ctx.store, &c.id).await?;
    own(ctx.me, &k.cl_id, C, c.id.as_str())?;
    prohibited(&k, &[ContactStatus::ServerUpdateProhibited])?;
    let removes_lock = c.rem.as_ref().is_some_and(|r| {
        r.status
            .iter()
            .any(|s| contact_from_xml(&s.s) == ContactStatus::ClientUpdateProhibited)
    });
    if !removes_lock {
        prohibited(&k, &[ContactStatus::ClientUpdateProhibited])?;
    }
    let id = c.id.to_string();
    let kind = kind_of(&k);
    if let Some(rem) = &c.rem {
        for s in &rem.status {
            let st = contact_from_xml(&s.s);
            policy::check_client_status(st.as_str())?;
            if k.statuses.remove(&st).is_none() {
                return Err(not_there(&id, "status", st.as_str()));
            }
        }
    }
    if let Some(add) = &c.add {
        for s in &add.status {
            let st = contact_from_xml(&s.s);
            policy::check_client_status(st.as_str())?;
            if k.statuses.contains_key(&st) {
                return Err(there(&id, "status", st.as_str()));
            }
            k.statuses.insert(st, note(&s.lang, &s.content));
        }
    }
    if let Some(chg) = &c.chg {
        for p in &chg.postal_info {
            policy::check_postal_info_type(postal_type(&p.type_))?;
            let slot = match p.type_ {
                PostalInfoKind::Loc => &mut k.postal_loc,
                PostalInfoKind::Int => &mut k.postal_int,
            };
            let mut info = slot.clone().unwrap_or_default();
            if let Some(n) = &p.name {
                info.name.clone_from(n);
            }
            if let Some(o) = &p.org {
                info.org = (!o.is_empty()).then(|| o.clone());
            }
            if let Some(a) = &p.addr {
                let new = address(&info.name, info.org.as_deref(), a)?;
                info.street = new.street;
                info.city = new.city;
                info.sp = new.sp;
                info.pc = new.pc;
                info.cc = new.cc;
            }
            if info.city.is_empty() || info.cc.is_empty() {
                return Err(Problem::Missing {
                    parameter: "contact:addr",
                    context: " when a contact gets its first postal address".into(),
                }
                .into());
            }
            *slot = Some(info);
        }
        if let Some(v) = &chg.voice {
            k.voice = phone(v)?;
        }
        if let Some(f) = &chg.fax {
            k.fax = phone(f)?;
        }
        if let Some(e) = &chg.email {
            policy::check_email(e)?;
            k.email.clone_from(e);
        }
        if let Some(a) = &chg.auth_info {
            k.auth_info = match &a.content {
                AuthInfoContent::Pw(pw) if !pw.content.is_empty() => {
                    Some(AuthInfo::new(&pw.content))
                }
                _ => None,
            };
        }
        if let Some(d) = &chg.disclose {
            k.disclose = Some(disclose_from_xml(d));
        }
    }
    if let Some(ext) = exts.contact_update {
        if let Some(chg) = &ext.chg {
            if let Some(i) = &chg.identity {
                let ik = PolicyIdentity::from(i.type_.clone());
                policy::check_identity(kind, Some((ik, &i.content)))?;
                k.identity = Some(Identity {
                    kind: identity_type(ik),
                    value: i.content.clone(),
                });
            }
            if let Some(m) = &chg.mobile_phone {
                k.mobile = phone(m)?;
            }
            if let Some(d) = &chg.disclose {
                k.disclose_mobile = Some(d.flag);
            }
        }
        if let Some(rem) = &ext.rem {
            for e in &rem.email {
                let Some(i) = k
                    .extra_emails
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(e))
                else {
                    return Err(not_there(&id, "e-mail address", e));
                };
                k.extra_emails.remove(i);
            }
            for o in &rem.organization {
                let Some(i) = k.organizations.iter().position(|x| x == o) else {
                    return Err(not_there(&id, "organization", o.as_str()));
                };
                k.organizations.remove(i);
            }
            for r in &rem.role_contact {
                let Some(i) = k.role_contacts.iter().position(|x| x == r) else {
                    return Err(not_there(&id, "role contact", r.as_str()));
                };
                k.role_contacts.remove(i);
            }
        }
        if let Some(add) = &ext.add {
            for e in emails(&add.email)? {
                if k.extra_emails.iter().any(|x| x.eq_ignore_ascii_case(&e)) {
                    return Err(there(&id, "e-mail address", &e));
                }
                k.extra_emails.push(e);
            }
            for o in &add.organization {
                if k.organizations.contains(o) {
                    return Err(there(&id, "organization", o.as_str()));
                }
                organization(ctx, o).await?;
                k.organizations.push(o.clone());
            }
            for r in &add.role_contact {
                if k.role_contacts.contains(r) {
                    return Err(there(&id, "role contact", r.as_str()));
                }
                role_contact(ctx, r).await?;
                k.role_contacts.push(r.clone());
            }
        }
        policy::check_memberships(kind, k.organizations.len(), k.role_contacts.len())?;
    }
    // A holder must stay one: a registrant keeps its identity and Norwegian address.
    if kind != ContactKind::Role
        && ctx
            .store
            .count_domains(&DomainQuery::Registrant(k.id.clone()))
            .await?
            > 0
    {
        holder_rules(&k)?;
    }
    k.up_id = Some(ctx.me.clone());
    k.up_date = Some(ctx.now);
    Ok(Answer::completed(
        C,
        &id,
        Verb::Update,
        vec![Change::UpdateContact(k)],
    ))
}

fn there(id: &str, what: &'static str, value: &str) -> Refused {
    Problem::AlreadyAssociated {
        object: C,
        id: id.to_owned(),
        what,
        value: value.to_owned(),
    }
    .into()
}

fn not_there(id: &str, what: &'static str, value: &str) -> Refused {
    Problem::NotAssociated {
        object: C,
        id: id.to_owned(),
        what,
        value: value.to_owned(),
    }
    .into()
}

/// `<contact:delete>`; refused while a domain, host or contact refers to it (2305).
pub(crate) async fn delete<S: Store>(
    ctx: &mut Ctx<'_, S>,
    id: &ContactId,
    exts: Exts<'_>,
) -> Outcome {
    exts.none("contact:delete")?;
    let k = load_contact(ctx.store, id).await?;
    own(ctx.me, &k.cl_id, C, id.as_str())?;
    prohibited(
        &k,
        &[
            ContactStatus::ServerDeleteProhibited,
            ContactStatus::ClientDeleteProhibited,
        ],
    )?;
    Ok(Answer::completed(
        C,
        id.as_str(),
        Verb::Delete,
        vec![Change::DeleteContact {
            id: id.clone(),
            version: k.version,
        }],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_phone_means_none() {
        let p = XmlPhone {
            x: None,
            content: String::new(),
        };
        assert_eq!(phone(&p).unwrap(), None);
        let p = XmlPhone {
            x: Some("12".into()),
            content: "+47.73557900".into(),
        };
        assert_eq!(phone(&p).unwrap().unwrap().ext.as_deref(), Some("12"));
        let p = XmlPhone {
            x: None,
            content: "+4773557900".into(),
        };
        assert_eq!(
            phone(&p).unwrap_err().code,
            ResultCode::ParameterValueSyntaxError
        );
    }

    #[test]
    fn disclose_round_trips() {
        let d = Disclose {
            flag: false,
            name_loc: true,
            voice: true,
            ..Disclose::default()
        };
        assert_eq!(disclose_from_xml(&disclose_to_xml(&d)), d);
    }
}
