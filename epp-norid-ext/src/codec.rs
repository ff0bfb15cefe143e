//! Decoding and encoding of Norid's elements, and the [`Extension`] implementation that
//! plugs them into epp-xml.

use epp_xml::xml::{self, Element, NamespaceTable, Seq, XmlReader, XmlWriter};
use epp_xml::{Command, CommandKind, DecodeError, ErrorKind, Extension};

use crate::generated::{
    no_ext_contact as nc, no_ext_domain as nd, no_ext_epp as ne, no_ext_host as nh,
};
use crate::ns::{
    NO_EXT_CONTACT, NO_EXT_DOMAIN_1_0, NO_EXT_DOMAIN_1_1, NO_EXT_EPP, NO_EXT_HOST, NO_EXT_RESULT,
};
use crate::types::*;

/// Norid's extension set: `no-ext-epp`, `no-ext-domain` 1.0 and 1.1, `no-ext-contact`,
/// `no-ext-host` and `no-ext-result`, plugged into epp-xml.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Norid;

impl Extension for Norid {
    type CommandExt = NoridCommandExt;
    type ExtCommand = NoridCommand;
    type ResponseExt = NoridResponseExt;
    type ResData = NoridResData;

    const NAMESPACES: NamespaceTable = crate::ns::TABLE;

    fn decode_command_ext<'a>(
        r: &mut XmlReader<'a>,
        el: Element<'a>,
    ) -> Result<Option<NoridCommandExt>, DecodeError> {
        let ns = el.ns().to_owned();
        let out = match (ns.as_str(), el.name()) {
            (NO_EXT_CONTACT, "create") => NoridCommandExt::ContactCreate(contact_create(r, el)?),
            (NO_EXT_CONTACT, "update") => NoridCommandExt::ContactUpdate(contact_update(r, el)?),
            (NO_EXT_HOST, "create") => NoridCommandExt::HostCreate(host_create(r, el)?),
            (NO_EXT_HOST, "update") => NoridCommandExt::HostUpdate(host_update(r, el)?),
            (NO_EXT_HOST, "info") => NoridCommandExt::HostInfo(host_info(r, el)?),
            (NO_EXT_DOMAIN_1_1, "create") => NoridCommandExt::DomainCreate(domain_create(r, el)?),
            (NO_EXT_DOMAIN_1_1, "update") => NoridCommandExt::DomainUpdate(domain_update(r, el)?),
            (NO_EXT_DOMAIN_1_0 | NO_EXT_DOMAIN_1_1, "delete") => {
                NoridCommandExt::DomainDelete(version(&ns), domain_delete(r, el)?)
            }
            (NO_EXT_DOMAIN_1_0 | NO_EXT_DOMAIN_1_1, "transfer") => {
                NoridCommandExt::DomainTransfer(version(&ns), domain_transfer(r, el)?)
            }
            (NO_EXT_EPP, "extended") => NoridCommandExt::Facets(facets(r, el)?),
            (
                NO_EXT_CONTACT | NO_EXT_HOST | NO_EXT_DOMAIN_1_0 | NO_EXT_DOMAIN_1_1 | NO_EXT_EPP
                | NO_EXT_RESULT,
                _,
            ) => {
                return Err(DecodeError::new(
                    ErrorKind::Structure,
                    format!("{} is not a command extension element", el.display()),
                ));
            }
            _ => return Ok(None),
        };
        Ok(Some(out))
    }

    fn command_ext_namespace(ext: &NoridCommandExt) -> &'static str {
        ext.namespace()
    }

    fn decode_ext_command<'a>(
        r: &mut XmlReader<'a>,
        el: Element<'a>,
    ) -> Result<Option<Command<Norid>>, DecodeError> {
        if el.ns() != NO_EXT_EPP {
            return Ok(None);
        }
        if el.name() != "command" {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "{} is not an extension command; expected <no-ext-epp:command>",
                    el.display()
                ),
            ));
        }
        el.allow_attrs(&[])?;
        let mut s = Seq::new(r, el);
        let c = s.any("<no-ext-epp:transfer> or <no-ext-epp:withdraw>")?;
        let kind = match (c.ns() == NO_EXT_EPP, c.name()) {
            (true, "transfer") => {
                c.allow_attrs(&["op"])?;
                xml::enumeration(&c, "op", c.required_attr("op")?, &[("execute", ())])?;
                let mut t = Seq::new(s.reader(), c);
                let obj = t.any("one object element")?;
                if !obj.is(epp_xml::ns::DOMAIN, "transfer") {
                    return Err(DecodeError::new(
                        ErrorKind::UnimplementedObject,
                        format!(
                            "transfer execute is implemented for <domain:transfer> only, found {}",
                            obj.display()
                        ),
                    ));
                }
                let body = epp_xml::domain::transfer(t.reader(), obj)?;
                t.end()?;
                NoridCommand::TransferExecute(body)
            }
            (true, "withdraw") => {
                c.allow_attrs(&[])?;
                let mut w = Seq::new(s.reader(), c);
                let obj = w.any("<domain:withdraw>")?;
                let ns = obj.ns().to_owned();
                if !(ns == NO_EXT_DOMAIN_1_0 || ns == NO_EXT_DOMAIN_1_1) || obj.name() != "withdraw"
                {
                    return Err(DecodeError::new(
                        ErrorKind::UnimplementedObject,
                        format!(
                            "withdraw is implemented for no-ext-domain <withdraw> only, found {}",
                            obj.display()
                        ),
                    ));
                }
                obj.allow_attrs(&[])?;
                let mut n = Seq::new(w.reader(), obj);
                let e = n.req(&ns, "no-ext-domain", "name")?;
                let name = xml::domain_name(n.reader(), e)?;
                n.end()?;
                w.end()?;
                NoridCommand::Withdraw(version(&ns), Withdraw { name })
            }
            _ => {
                return Err(DecodeError::new(
                    ErrorKind::UnknownCommand,
                    format!("{} is not a Norid extension command", c.display()),
                ));
            }
        };
        let extensions = match s.opt(NO_EXT_EPP, "extension")? {
            Some(e) => xml::command_extensions::<Norid>(s.reader(), e)?,
            None => Vec::new(),
        };
        let cl_trid = match s.opt(NO_EXT_EPP, "clTRID")? {
            Some(e) => Some(xml::cl_trid(s.reader(), e)?),
            None => None,
        };
        s.end()?;
        Ok(Some(Command {
            kind: CommandKind::Extension(kind),
            extensions,
            cl_trid,
        }))
    }

    fn ext_command_namespaces(cmd: &NoridCommand) -> Vec<&'static str> {
        match cmd {
            NoridCommand::TransferExecute(_) => vec![NO_EXT_EPP, epp_xml::ns::DOMAIN],
            NoridCommand::Withdraw(v, _) => vec![NO_EXT_EPP, v.namespace()],
        }
    }

    fn encode_response_ext(ext: &NoridResponseExt, w: &mut XmlWriter<'_>) {
        match ext {
            NoridResponseExt::Conditions(c) => write_conditions(w, c),
            NoridResponseExt::DomainInfData(d) => {
                open_ext(w, "no-ext-domain", "infData", NO_EXT_DOMAIN_1_1);
                if let Some(a) = &d.applicant_dataset {
                    w.start("no-ext-domain:applicantDataset", &[]);
                    w.leaf("no-ext-domain:versionNumber", &[], &a.version_number);
                    w.leaf("no-ext-domain:acceptName", &[], &a.accept_name);
                    w.leaf_display("no-ext-domain:acceptDate", &[], a.accept_date);
                    w.leaf("no-ext-domain:updateClientID", &[], &a.update_client_id);
                    w.leaf_display("no-ext-domain:updateDate", &[], a.update_date);
                    w.end("no-ext-domain:applicantDataset");
                }
                w.end("no-ext-domain:infData");
            }
            NoridResponseExt::ContactInfData(d) => {
                open_ext(w, "no-ext-contact", "infData", NO_EXT_CONTACT);
                write_contact_data(w, d);
                w.end("no-ext-contact:infData");
            }
            NoridResponseExt::HostInfData(d) => {
                open_ext(w, "no-ext-host", "infData", NO_EXT_HOST);
                if let Some(c) = &d.contact {
                    w.leaf("no-ext-host:contact", &[], c);
                }
                w.end("no-ext-host:infData");
            }
        }
    }

    fn encode_res_data(data: &NoridResData, w: &mut XmlWriter<'_>) {
        match data {
            NoridResData::Message(m) => write_message(w, m),
        }
    }
}

fn version(ns: &str) -> DomainExtVersion {
    if ns == NO_EXT_DOMAIN_1_0 {
        DomainExtVersion::V1_0
    } else {
        DomainExtVersion::V1_1
    }
}

// ------------------------------------------------------------------ decoding

fn min_token<'a>(r: &mut XmlReader<'a>, e: Element<'a>) -> Result<String, DecodeError> {
    xml::text_token(r, &e, "eppcom:minTokenType", 1, usize::MAX)
}

const C: &str = "no-ext-contact";

fn contact_create<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<nc::CreateType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let e = s.req(NO_EXT_CONTACT, C, "type")?;
    e.allow_attrs(&[])?;
    let t = s.reader().text(&e)?;
    let type_ = xml::enumeration(
        &e,
        "contact type",
        &t,
        &[
            ("person", ContactType::Person),
            ("role", ContactType::Role),
            ("organization", ContactType::Organization),
        ],
    )?;
    let identity = opt_identity(&mut s)?;
    let mobile_phone = match s.opt(NO_EXT_CONTACT, "mobilePhone")? {
        Some(e) => Some(epp_xml::contact::phone(s.reader(), e)?),
        None => None,
    };
    let email = s.many(NO_EXT_CONTACT, C, "email", 0, usize::MAX, min_token)?;
    let organization = s.many(
        NO_EXT_CONTACT,
        C,
        "organization",
        0,
        usize::MAX,
        xml::contact_id,
    )?;
    let role_contact = s.many(
        NO_EXT_CONTACT,
        C,
        "roleContact",
        0,
        usize::MAX,
        xml::contact_id,
    )?;
    let disclose = opt_disclose(&mut s)?;
    s.end()?;
    Ok(nc::CreateType {
        type_,
        identity,
        mobile_phone,
        email,
        organization,
        role_contact,
        disclose,
    })
}

fn opt_identity(s: &mut Seq<'_, '_>) -> Result<Option<Identity>, DecodeError> {
    let Some(e) = s.opt(NO_EXT_CONTACT, "identity")? else {
        return Ok(None);
    };
    e.allow_attrs(&["type"])?;
    let type_ = xml::enumeration(
        &e,
        "identity type",
        e.required_attr("type")?,
        &[
            ("organizationNumber", IdentityKind::OrganizationNumber),
            (
                "anonymousPersonIdentifier",
                IdentityKind::AnonymousPersonIdentifier,
            ),
            ("localIdentity", IdentityKind::LocalIdentity),
            (
                "nationalIdentityNumber",
                IdentityKind::NationalIdentityNumber,
            ),
        ],
    )?;
    let t = s.reader().text(&e)?;
    let content = xml::token(&e, &t, "eppcom:minTokenType", 1, usize::MAX)?;
    Ok(Some(Identity { type_, content }))
}

fn opt_disclose(s: &mut Seq<'_, '_>) -> Result<Option<ContactExtDisclose>, DecodeError> {
    let Some(e) = s.opt(NO_EXT_CONTACT, "disclose")? else {
        return Ok(None);
    };
    e.allow_attrs(&["flag"])?;
    let flag = xml::boolean(&e, "flag", e.required_attr("flag")?)?;
    let mut d = Seq::new(s.reader(), e);
    let mobile_phone = match d.opt(NO_EXT_CONTACT, "mobilePhone")? {
        Some(m) => Some(xml::empty(d.reader(), &m)?),
        None => None,
    };
    d.end()?;
    Ok(Some(ContactExtDisclose { flag, mobile_phone }))
}

fn contact_update<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<nc::UpdateType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let chg = match s.opt(NO_EXT_CONTACT, "chg")? {
        Some(e) => {
            e.allow_attrs(&[])?;
            let mut c = Seq::new(s.reader(), e);
            let identity = opt_identity(&mut c)?;
            let mobile_phone = match c.opt(NO_EXT_CONTACT, "mobilePhone")? {
                Some(e) => Some(epp_xml::contact::phone(c.reader(), e)?),
                None => None,
            };
            let disclose = opt_disclose(&mut c)?;
            c.end()?;
            Some(nc::ChgType {
                identity,
                mobile_phone,
                disclose,
            })
        }
        None => None,
    };
    let add = opt_contact_add_rem(&mut s, "add")?;
    let rem = opt_contact_add_rem(&mut s, "rem")?;
    s.end()?;
    Ok(nc::UpdateType { chg, add, rem })
}

fn opt_contact_add_rem(
    s: &mut Seq<'_, '_>,
    name: &str,
) -> Result<Option<nc::AddRemType>, DecodeError> {
    let Some(e) = s.opt(NO_EXT_CONTACT, name)? else {
        return Ok(None);
    };
    e.allow_attrs(&[])?;
    let mut a = Seq::new(s.reader(), e);
    let email = a.many(NO_EXT_CONTACT, C, "email", 0, usize::MAX, min_token)?;
    let organization = a.many(
        NO_EXT_CONTACT,
        C,
        "organization",
        0,
        usize::MAX,
        xml::contact_id,
    )?;
    let role_contact = a.many(
        NO_EXT_CONTACT,
        C,
        "roleContact",
        0,
        usize::MAX,
        xml::contact_id,
    )?;
    a.end()?;
    Ok(Some(nc::AddRemType {
        email,
        organization,
        role_contact,
    }))
}

const H: &str = "no-ext-host";

fn host_create<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<nh::CreateType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let contact = match s.opt(NO_EXT_HOST, "contact")? {
        Some(e) => Some(xml::contact_id(s.reader(), e)?),
        None => None,
    };
    s.end()?;
    Ok(nh::CreateType { contact })
}

fn host_info<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<nh::InfoType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let sponsoring_client_id = match s.opt(NO_EXT_HOST, "sponsoringClientID")? {
        Some(e) => Some(xml::client_id(s.reader(), e)?),
        None => None,
    };
    s.end()?;
    Ok(nh::InfoType {
        sponsoring_client_id,
    })
}

fn host_update<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<nh::UpdateType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let add_rem =
        |s: &mut Seq<'_, '_>, name: &str| -> Result<Option<nh::AddRemType>, DecodeError> {
            let Some(e) = s.opt(NO_EXT_HOST, name)? else {
                return Ok(None);
            };
            e.allow_attrs(&[])?;
            let mut a = Seq::new(s.reader(), e);
            let c = a.req(NO_EXT_HOST, H, "contact")?;
            let contact = xml::contact_id(a.reader(), c)?;
            a.end()?;
            Ok(Some(nh::AddRemType { contact }))
        };
    let add = add_rem(&mut s, "add")?;
    let rem = add_rem(&mut s, "rem")?;
    s.end()?;
    Ok(nh::UpdateType { add, rem })
}

const D: &str = "no-ext-domain";

fn applicant_dataset(s: &mut Seq<'_, '_>) -> Result<ApplicantDataset, DecodeError> {
    let ns = NO_EXT_DOMAIN_1_1;
    let e = s.req(ns, D, "applicantDataset")?;
    e.allow_attrs(&[])?;
    let mut a = Seq::new(s.reader(), e);
    let v = a.req(ns, D, "versionNumber")?;
    let version_number =
        xml::text_token(a.reader(), &v, "no-ext-domain:versionType", 1, usize::MAX)?;
    let ok = version_number.split_once('.').is_some_and(|(x, y)| {
        !x.is_empty() && !y.is_empty() && x.bytes().chain(y.bytes()).all(|b| b.is_ascii_digit())
    });
    if !ok {
        return Err(DecodeError::new(
            ErrorKind::ValueSyntax,
            format!(
                "<no-ext-domain:versionNumber>: '{version_number}' does not match [0-9]+\\.[0-9]+"
            ),
        ));
    }
    let n = a.req(ns, D, "acceptName")?;
    n.allow_attrs(&[])?;
    let t = a.reader().text(&n)?;
    let accept_name = xml::normalized(&n, &t, "no-ext-domain:acceptNameType", 1, 255)?;
    let d = a.req(ns, D, "acceptDate")?;
    d.allow_attrs(&[])?;
    let t = a.reader().text(&d)?;
    let accept_date = xml::date_time(&d, &t)?;
    a.end()?;
    Ok(ApplicantDataset {
        version_number,
        accept_name,
        accept_date,
    })
}

fn domain_create<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<nd::CreateType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let applicant_dataset = applicant_dataset(&mut s)?;
    s.end()?;
    Ok(nd::CreateType { applicant_dataset })
}

fn domain_update<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<nd::UpdateType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let chg = match s.opt(NO_EXT_DOMAIN_1_1, "chg")? {
        Some(e) => {
            e.allow_attrs(&[])?;
            let mut c = Seq::new(s.reader(), e);
            let applicant_dataset = applicant_dataset(&mut c)?;
            c.end()?;
            Some(nd::ApplicantDatasetChgType { applicant_dataset })
        }
        None => None,
    };
    s.end()?;
    Ok(nd::UpdateType { chg })
}

fn domain_delete<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<nd::DeleteExtensionType, DecodeError> {
    el.allow_attrs(&[])?;
    let ns = el.ns().to_owned();
    let mut s = Seq::new(r, el);
    let date = |s: &mut Seq<'_, '_>, name: &str| -> Result<epp_xml::Date, DecodeError> {
        let e = s.req(&ns, D, name)?;
        e.allow_attrs(&[])?;
        let t = s.reader().text(&e)?;
        xml::date(&e, &t)
    };
    let delete_from_dns = date(&mut s, "deleteFromDNS")?;
    let delete_from_registry = date(&mut s, "deleteFromRegistry")?;
    s.end()?;
    Ok(nd::DeleteExtensionType {
        delete_from_dns,
        delete_from_registry,
    })
}

fn domain_transfer<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<nd::TransferExtensionType, DecodeError> {
    el.allow_attrs(&[])?;
    let ns = el.ns().to_owned();
    let mut s = Seq::new(r, el);
    let token = match s.opt(&ns, "token")? {
        Some(e) => Some(xml::text_token(
            s.reader(),
            &e,
            "no-ext-domain:transferTokenType",
            1,
            512,
        )?),
        None => None,
    };
    let notify = match s.opt(&ns, "notify")? {
        Some(e) => {
            e.allow_attrs(&[])?;
            let mut n = Seq::new(s.reader(), e);
            let c = n.any("<no-ext-domain:email> or <no-ext-domain:mobilePhone>")?;
            let content = match (c.ns() == ns, c.name()) {
                (true, "email") => TransferNotifyKind::Email(min_token(n.reader(), c)?),
                (true, "mobilePhone") => {
                    TransferNotifyKind::MobilePhone(epp_xml::contact::phone(n.reader(), c)?)
                }
                _ => {
                    return Err(DecodeError::new(
                        ErrorKind::Structure,
                        format!(
                            "unexpected element {} in <no-ext-domain:notify>",
                            c.display()
                        ),
                    ));
                }
            };
            n.end()?;
            Some(TransferNotify { content })
        }
        None => None,
    };
    s.end()?;
    Ok(nd::TransferExtensionType { token, notify })
}

fn facets<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<ne::FacetListType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let facet = s.many(NO_EXT_EPP, "no-ext-epp", "facet", 1, 100, |r, e| {
        e.allow_attrs(&["name"])?;
        let name = epp_xml::collapse_whitespace(e.required_attr("name")?).into_owned();
        let content = r.text(&e)?.into_owned();
        Ok(Facet { name, content })
    })?;
    s.end()?;
    Ok(ne::FacetListType { facet })
}

// ------------------------------------------------------------------ encoding

fn open_ext(w: &mut XmlWriter<'_>, prefix: &str, element: &str, ns: &str) {
    let name = format!("{prefix}:{element}");
    let decl = format!("xmlns:{prefix}");
    w.start(&name, &[("xmlns", ns), (&decl, ns)]);
}

fn write_contact_data(w: &mut XmlWriter<'_>, d: &nc::CreateType) {
    let t = match d.type_ {
        ContactType::Person => "person",
        ContactType::Role => "role",
        ContactType::Organization => "organization",
    };
    w.leaf("no-ext-contact:type", &[], t);
    if let Some(i) = &d.identity {
        let k = match i.type_ {
            IdentityKind::OrganizationNumber => "organizationNumber",
            IdentityKind::AnonymousPersonIdentifier => "anonymousPersonIdentifier",
            IdentityKind::LocalIdentity => "localIdentity",
            IdentityKind::NationalIdentityNumber => "nationalIdentityNumber",
        };
        w.leaf("no-ext-contact:identity", &[("type", k)], &i.content);
    }
    if let Some(m) = &d.mobile_phone {
        epp_xml::contact::write_phone(w, "no-ext-contact:mobilePhone", m);
    }
    for e in &d.email {
        w.leaf("no-ext-contact:email", &[], e);
    }
    for o in &d.organization {
        w.leaf("no-ext-contact:organization", &[], o);
    }
    for rc in &d.role_contact {
        w.leaf("no-ext-contact:roleContact", &[], rc);
    }
    if let Some(dc) = &d.disclose {
        let flag = if dc.flag { "1" } else { "0" };
        if dc.mobile_phone.is_some() {
            w.start("no-ext-contact:disclose", &[("flag", flag)]);
            w.empty("no-ext-contact:mobilePhone", &[]);
            w.end("no-ext-contact:disclose");
        } else {
            w.empty("no-ext-contact:disclose", &[("flag", flag)]);
        }
    }
}

const RESULT_LOCATION: &str = "http://www.norid.no/xsd/no-ext-result-1.0 no-ext-result-1.0.xsd";

fn write_conditions(w: &mut XmlWriter<'_>, c: &Conditions) {
    w.start(
        "conditions",
        &[
            ("xmlns", NO_EXT_RESULT),
            ("xsi:schemaLocation", RESULT_LOCATION),
        ],
    );
    for cond in &c.condition {
        let sev = match cond.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        };
        w.start("condition", &[("code", &cond.code), ("severity", sev)]);
        w.leaf("msg", &[], &cond.msg);
        w.leaf("details", &[], &cond.details);
        w.end("condition");
    }
    w.end("conditions");
}

fn write_message(w: &mut XmlWriter<'_>, m: &ServiceMessage) {
    w.start(
        "message",
        &[
            ("xmlns", NO_EXT_RESULT),
            ("type", &m.kind),
            ("xsi:schemaLocation", RESULT_LOCATION),
        ],
    );
    w.leaf("desc", &[], &m.desc);
    if let Some(d) = &m.data {
        if d.entries.is_empty() && d.response.is_none() {
            w.empty("data", &[]);
        } else {
            w.start("data", &[]);
            for e in &d.entries {
                w.leaf("entry", &[("name", &e.name)], &e.content);
            }
            if let Some(r) = &d.response {
                xml::write_response(w, r);
            }
            w.end("data");
        }
    }
    w.end("message");
}
