//! Decoding and encoding of Norid's elements, and the [`Extension`] implementation that
//! plugs them into epp-xml: commands are decoded and responses encoded on the server's
//! side, commands encoded and responses decoded on a client's side.

use epp_xml::xml::{self, Element, NamespaceTable, Seq, XmlReader, XmlWriter};
use epp_xml::{ClTrid, Command, CommandExtension, CommandKind, DecodeError, ErrorKind, Extension};

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

    fn encode_command_ext(ext: &NoridCommandExt, w: &mut XmlWriter<'_>) {
        write_command_ext(w, ext);
    }

    fn encode_ext_command(
        cmd: &NoridCommand,
        extensions: &[CommandExtension<Norid>],
        cl_trid: Option<&ClTrid>,
        w: &mut XmlWriter<'_>,
    ) {
        w.start("no-ext-epp:command", &[("xmlns:no-ext-epp", NO_EXT_EPP)]);
        match cmd {
            NoridCommand::TransferExecute(t) => {
                w.start("no-ext-epp:transfer", &[("op", "execute")]);
                epp_xml::domain::write_transfer(w, t);
                w.end("no-ext-epp:transfer");
            }
            NoridCommand::Withdraw(v, wd) => {
                w.start("no-ext-epp:withdraw", &[]);
                open_cmd(w, D, "withdraw", v.namespace());
                w.leaf("no-ext-domain:name", &[], &wd.name);
                w.end("no-ext-domain:withdraw");
                w.end("no-ext-epp:withdraw");
            }
        }
        xml::write_command_extensions(w, "no-ext-epp:extension", extensions);
        if let Some(id) = cl_trid {
            w.leaf("no-ext-epp:clTRID", &[], id);
        }
        w.end("no-ext-epp:command");
    }

    fn decode_response_ext<'a>(
        r: &mut XmlReader<'a>,
        el: Element<'a>,
    ) -> Result<Option<NoridResponseExt>, DecodeError> {
        let out = match (el.ns(), el.name()) {
            (NO_EXT_RESULT, "conditions") => NoridResponseExt::Conditions(conditions(r, el)?),
            (NO_EXT_DOMAIN_1_1, "infData") => {
                el.allow_attrs(&[])?;
                let mut s = Seq::new(r, el);
                let applicant_dataset = s.opt_with(
                    NO_EXT_DOMAIN_1_1,
                    "applicantDataset",
                    applicant_dataset_info,
                )?;
                s.end()?;
                NoridResponseExt::DomainInfData(DomainExtInfData { applicant_dataset })
            }
            (NO_EXT_CONTACT, "infData") => NoridResponseExt::ContactInfData(contact_create(r, el)?),
            (NO_EXT_HOST, "infData") => NoridResponseExt::HostInfData(host_create(r, el)?),
            (
                NO_EXT_CONTACT | NO_EXT_HOST | NO_EXT_DOMAIN_1_0 | NO_EXT_DOMAIN_1_1 | NO_EXT_EPP
                | NO_EXT_RESULT,
                _,
            ) => {
                return Err(DecodeError::new(
                    ErrorKind::Structure,
                    format!("{} is not a response extension element", el.display()),
                ));
            }
            _ => return Ok(None),
        };
        Ok(Some(out))
    }

    fn decode_res_data<'a>(
        r: &mut XmlReader<'a>,
        el: Element<'a>,
    ) -> Result<Option<NoridResData>, DecodeError> {
        match (el.ns(), el.name()) {
            (NO_EXT_RESULT, "message") => Ok(Some(NoridResData::Message(message(r, el)?))),
            (
                NO_EXT_CONTACT | NO_EXT_HOST | NO_EXT_DOMAIN_1_0 | NO_EXT_DOMAIN_1_1 | NO_EXT_EPP
                | NO_EXT_RESULT,
                _,
            ) => Err(DecodeError::new(
                ErrorKind::Structure,
                format!("{} is not a response data element", el.display()),
            )),
            _ => Ok(None),
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
    let e = s.req(NO_EXT_DOMAIN_1_1, D, "applicantDataset")?;
    e.allow_attrs(&[])?;
    let mut a = Seq::new(s.reader(), e);
    let (version_number, accept_name, accept_date) = applicant_dataset_fields(&mut a)?;
    a.end()?;
    Ok(ApplicantDataset {
        version_number,
        accept_name,
        accept_date,
    })
}

/// The fields create/update and infData datasets share: versionNumber, acceptName and
/// acceptDate.
fn applicant_dataset_fields(
    a: &mut Seq<'_, '_>,
) -> Result<(String, String, epp_xml::Timestamp), DecodeError> {
    let ns = NO_EXT_DOMAIN_1_1;
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
    Ok((version_number, accept_name, accept_date))
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
        write_identity(w, i);
    }
    if let Some(m) = &d.mobile_phone {
        epp_xml::contact::write_phone(w, "no-ext-contact:mobilePhone", m);
    }
    write_contact_lists(w, &d.email, &d.organization, &d.role_contact);
    if let Some(dc) = &d.disclose {
        write_contact_disclose(w, dc);
    }
}

fn write_identity(w: &mut XmlWriter<'_>, i: &Identity) {
    let k = match i.type_ {
        IdentityKind::OrganizationNumber => "organizationNumber",
        IdentityKind::AnonymousPersonIdentifier => "anonymousPersonIdentifier",
        IdentityKind::LocalIdentity => "localIdentity",
        IdentityKind::NationalIdentityNumber => "nationalIdentityNumber",
    };
    w.leaf("no-ext-contact:identity", &[("type", k)], &i.content);
}

fn write_contact_lists(
    w: &mut XmlWriter<'_>,
    email: &[String],
    organization: &[epp_xml::ContactId],
    role_contact: &[epp_xml::ContactId],
) {
    for e in email {
        w.leaf("no-ext-contact:email", &[], e);
    }
    for o in organization {
        w.leaf("no-ext-contact:organization", &[], o);
    }
    for rc in role_contact {
        w.leaf("no-ext-contact:roleContact", &[], rc);
    }
}

fn write_contact_disclose(w: &mut XmlWriter<'_>, dc: &ContactExtDisclose) {
    let flag = if dc.flag { "1" } else { "0" };
    if dc.mobile_phone.is_some() {
        w.start("no-ext-contact:disclose", &[("flag", flag)]);
        w.empty("no-ext-contact:mobilePhone", &[]);
        w.end("no-ext-contact:disclose");
    } else {
        w.empty("no-ext-contact:disclose", &[("flag", flag)]);
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

// ------------------------------------------------------------------ command encoding

/// Opens a command extension element declaring its prefix:
/// `<no-ext-domain:create xmlns:no-ext-domain="...">`.
fn open_cmd(w: &mut XmlWriter<'_>, prefix: &str, element: &str, ns: &str) {
    let name = format!("{prefix}:{element}");
    let decl = format!("xmlns:{prefix}");
    w.start(&name, &[(&decl, ns)]);
}

fn write_command_ext(w: &mut XmlWriter<'_>, ext: &NoridCommandExt) {
    match ext {
        NoridCommandExt::ContactCreate(c) => {
            open_cmd(w, C, "create", NO_EXT_CONTACT);
            write_contact_data(w, c);
            w.end("no-ext-contact:create");
        }
        NoridCommandExt::ContactUpdate(u) => {
            open_cmd(w, C, "update", NO_EXT_CONTACT);
            if let Some(c) = &u.chg {
                w.start("no-ext-contact:chg", &[]);
                if let Some(i) = &c.identity {
                    write_identity(w, i);
                }
                if let Some(m) = &c.mobile_phone {
                    epp_xml::contact::write_phone(w, "no-ext-contact:mobilePhone", m);
                }
                if let Some(d) = &c.disclose {
                    write_contact_disclose(w, d);
                }
                w.end("no-ext-contact:chg");
            }
            for (name, a) in [
                ("no-ext-contact:add", &u.add),
                ("no-ext-contact:rem", &u.rem),
            ] {
                if let Some(a) = a {
                    w.start(name, &[]);
                    write_contact_lists(w, &a.email, &a.organization, &a.role_contact);
                    w.end(name);
                }
            }
            w.end("no-ext-contact:update");
        }
        NoridCommandExt::DomainCreate(c) => {
            open_cmd(w, D, "create", NO_EXT_DOMAIN_1_1);
            write_applicant_dataset(w, &c.applicant_dataset);
            w.end("no-ext-domain:create");
        }
        NoridCommandExt::DomainUpdate(u) => {
            open_cmd(w, D, "update", NO_EXT_DOMAIN_1_1);
            if let Some(c) = &u.chg {
                w.start("no-ext-domain:chg", &[]);
                write_applicant_dataset(w, &c.applicant_dataset);
                w.end("no-ext-domain:chg");
            }
            w.end("no-ext-domain:update");
        }
        NoridCommandExt::DomainDelete(v, d) => {
            open_cmd(w, D, "delete", v.namespace());
            w.leaf_display("no-ext-domain:deleteFromDNS", &[], d.delete_from_dns);
            w.leaf_display(
                "no-ext-domain:deleteFromRegistry",
                &[],
                d.delete_from_registry,
            );
            w.end("no-ext-domain:delete");
        }
        NoridCommandExt::DomainTransfer(v, t) => {
            open_cmd(w, D, "transfer", v.namespace());
            if let Some(token) = &t.token {
                w.leaf("no-ext-domain:token", &[], token);
            }
            if let Some(n) = &t.notify {
                w.start("no-ext-domain:notify", &[]);
                match &n.content {
                    TransferNotifyKind::Email(e) => w.leaf("no-ext-domain:email", &[], e),
                    TransferNotifyKind::MobilePhone(p) => {
                        epp_xml::contact::write_phone(w, "no-ext-domain:mobilePhone", p);
                    }
                }
                w.end("no-ext-domain:notify");
            }
            w.end("no-ext-domain:transfer");
        }
        NoridCommandExt::HostCreate(c) => {
            open_cmd(w, H, "create", NO_EXT_HOST);
            if let Some(c) = &c.contact {
                w.leaf("no-ext-host:contact", &[], c);
            }
            w.end("no-ext-host:create");
        }
        NoridCommandExt::HostUpdate(u) => {
            open_cmd(w, H, "update", NO_EXT_HOST);
            for (name, a) in [("no-ext-host:add", &u.add), ("no-ext-host:rem", &u.rem)] {
                if let Some(a) = a {
                    w.start(name, &[]);
                    w.leaf("no-ext-host:contact", &[], &a.contact);
                    w.end(name);
                }
            }
            w.end("no-ext-host:update");
        }
        NoridCommandExt::HostInfo(i) => {
            open_cmd(w, H, "info", NO_EXT_HOST);
            if let Some(id) = &i.sponsoring_client_id {
                w.leaf("no-ext-host:sponsoringClientID", &[], id);
            }
            w.end("no-ext-host:info");
        }
        NoridCommandExt::Facets(f) => {
            open_cmd(w, "no-ext-epp", "extended", NO_EXT_EPP);
            for facet in &f.facet {
                w.leaf("no-ext-epp:facet", &[("name", &facet.name)], &facet.content);
            }
            w.end("no-ext-epp:extended");
        }
    }
}

fn write_applicant_dataset(w: &mut XmlWriter<'_>, a: &ApplicantDataset) {
    w.start("no-ext-domain:applicantDataset", &[]);
    w.leaf("no-ext-domain:versionNumber", &[], &a.version_number);
    w.leaf("no-ext-domain:acceptName", &[], &a.accept_name);
    w.leaf_display("no-ext-domain:acceptDate", &[], a.accept_date);
    w.end("no-ext-domain:applicantDataset");
}

// ------------------------------------------------------------------ response decoding

fn applicant_dataset_info<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<ApplicantDatasetInfo, DecodeError> {
    el.allow_attrs(&[])?;
    let ns = NO_EXT_DOMAIN_1_1;
    let mut a = Seq::new(r, el);
    let (version_number, accept_name, accept_date) = applicant_dataset_fields(&mut a)?;
    let update_client_id = a.req_with(ns, D, "updateClientID", xml::client_id)?;
    let update_date = a.req_with(ns, D, "updateDate", xml::timestamp)?;
    a.end()?;
    Ok(ApplicantDatasetInfo {
        version_number,
        accept_name,
        accept_date,
        update_client_id,
        update_date,
    })
}

fn conditions<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Conditions, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let condition = s.many(NO_EXT_RESULT, "", "condition", 1, usize::MAX, |r, e| {
        e.allow_attrs(&["code", "severity"])?;
        let code = xml::token(
            &e,
            e.required_attr("code")?,
            "no-ext-result:conditionCodeType",
            0,
            24,
        )?;
        // `[A-Z\d]+`; `\d` is read as the ASCII digits Norid uses.
        if code.is_empty()
            || !code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(DecodeError::new(
                ErrorKind::ValueSyntax,
                format!(
                    "{}: code '{code}' does not match no-ext-result:conditionCodeType [A-Z\\d]+",
                    e.display()
                ),
            ));
        }
        let severity = xml::enumeration(
            &e,
            "severity",
            e.required_attr("severity")?,
            &[
                ("info", Severity::Info),
                ("warning", Severity::Warning),
                ("error", Severity::Error),
                ("fatal", Severity::Fatal),
            ],
        )?;
        let mut c = Seq::new(r, e);
        let msg = c.req_with(NO_EXT_RESULT, "", "msg", xml::string)?;
        let details = c.req_with(NO_EXT_RESULT, "", "details", xml::string)?;
        c.end()?;
        Ok(Condition {
            code,
            severity,
            msg,
            details,
        })
    })?;
    s.end()?;
    Ok(Conditions { condition })
}

fn message<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<ServiceMessage, DecodeError> {
    el.allow_attrs(&["type"])?;
    let kind = xml::token(
        &el,
        el.required_attr("type")?,
        "no-ext-result:messageTypeType",
        0,
        100,
    )?;
    let mut s = Seq::new(r, el);
    let desc = s.req_with(NO_EXT_RESULT, "", "desc", xml::string)?;
    let data = s.opt_with(NO_EXT_RESULT, "data", |r, e| {
        e.allow_attrs(&[])?;
        let mut d = Seq::new(r, e);
        let entries = d.many(NO_EXT_RESULT, "", "entry", 0, usize::MAX, |r, e| {
            e.allow_attrs(&["name"])?;
            let name = xml::token(&e, e.required_attr("name")?, "xs:token", 0, usize::MAX)?;
            let content = r.text(&e)?.into_owned();
            Ok(MessageEntry { name, content })
        })?;
        let response = match d.peek()? {
            Some(_) => {
                let e = d.any("")?;
                if e.ns() != epp_xml::ns::EPP {
                    return Err(DecodeError::new(
                        ErrorKind::Structure,
                        format!(
                            "unexpected element {} in <data>: only an EPP element may follow the entries",
                            e.display()
                        ),
                    ));
                }
                Some(Box::new(xml::read_response::<Norid>(d.reader(), e)?))
            }
            None => None,
        };
        d.end()?;
        Ok(MessageData { entries, response })
    })?;
    s.end()?;
    Ok(ServiceMessage { kind, desc, data })
}
