//! The contact mapping (RFC 5733) over the generated types: command decoding and response
//! encoding (the server's side), command encoding and response decoding (a client's side).

use crate::ContactId;
use crate::common::{self, min_token};
use crate::error::{DecodeError, ErrorKind};
use crate::generated::contact as g;
use crate::ns::CONTACT as NS;
use crate::reader::{Element, XmlReader};
use crate::seq::{self, Seq};
use crate::writer::XmlWriter;

pub use g::{
    AddRemType as AddRem, AddrType as Addr, AuthIdType as AuthId, AuthInfoType as AuthInfo,
    AuthInfoTypeContent as AuthInfoContent, CheckIdType as CheckId, CheckType as CheckResult,
    ChgPostalInfoType as ChgPostalInfo, ChgType as Chg, ChkDataType as ChkData,
    CreDataType as CreData, CreateType as Create, DiscloseType as Disclose, E164Type as Phone,
    InfDataType as InfData, IntLocType as IntLoc, MIdType as Check, PaClidType as PaId,
    PanDataType as PanData, PostalInfoEnumType as PostalInfoKind, PostalInfoType as PostalInfo,
    SIdType as Id, StatusType as Status, StatusValueType as StatusValue, TrnDataType as TrnData,
    UpdateType as Update,
};

const P: &str = "contact";

/// A decoded contact command element.
pub(crate) enum ContactCommand {
    Check(Check),
    Create(Create),
    Delete(Id),
    Info(AuthId),
    Transfer(AuthId),
    Update(Update),
}

/// Decodes the `<contact:*>` child of a command element.
pub(crate) fn decode_command<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<ContactCommand, DecodeError> {
    el.allow_attrs(&[])?;
    let kind = el.name();
    let mut s = Seq::new(r, el);
    let out = match kind {
        "check" => ContactCommand::Check(Check {
            id: s.many(NS, P, "id", 1, usize::MAX, seq::contact_id)?,
        }),
        "delete" => {
            let e = s.req(NS, P, "id")?;
            ContactCommand::Delete(Id {
                id: seq::contact_id(s.reader(), e)?,
            })
        }
        "info" | "transfer" => {
            let e = s.req(NS, P, "id")?;
            let id = seq::contact_id(s.reader(), e)?;
            let auth_info = match s.opt(NS, "authInfo")? {
                Some(e) => Some(auth_info(s.reader(), e)?),
                None => None,
            };
            let a = AuthId { id, auth_info };
            if kind == "info" {
                ContactCommand::Info(a)
            } else {
                ContactCommand::Transfer(a)
            }
        }
        "create" => {
            let e = s.req(NS, P, "id")?;
            let id = seq::contact_id(s.reader(), e)?;
            let postal_info = s.many(NS, P, "postalInfo", 1, 2, postal_info)?;
            let voice = opt_phone(&mut s, "voice")?;
            let fax = opt_phone(&mut s, "fax")?;
            let e = s.req(NS, P, "email")?;
            let email = min_token(s.reader(), e)?;
            let e = s.req(NS, P, "authInfo")?;
            let auth_info = auth_info(s.reader(), e)?;
            let disclose = opt_disclose(&mut s)?;
            ContactCommand::Create(Create {
                id,
                postal_info,
                voice,
                fax,
                email,
                auth_info,
                disclose,
            })
        }
        "update" => {
            let e = s.req(NS, P, "id")?;
            let id = seq::contact_id(s.reader(), e)?;
            let add = match s.opt(NS, "add")? {
                Some(e) => Some(add_rem(s.reader(), e)?),
                None => None,
            };
            let rem = match s.opt(NS, "rem")? {
                Some(e) => Some(add_rem(s.reader(), e)?),
                None => None,
            };
            let chg = match s.opt(NS, "chg")? {
                Some(e) => Some(chg(s.reader(), e)?),
                None => None,
            };
            ContactCommand::Update(Update { id, add, rem, chg })
        }
        other => {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!("<contact:{other}> is not a contact command element"),
            ));
        }
    };
    s.end()?;
    Ok(out)
}

fn chg<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Chg, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let postal_info = s.many(NS, P, "postalInfo", 0, 2, |r, e| {
        let type_ = postal_kind(&e)?;
        let mut c = Seq::new(r, e);
        let name = match c.opt(NS, "name")? {
            Some(e) => Some(postal_line(c.reader(), e)?),
            None => None,
        };
        let org = match c.opt(NS, "org")? {
            Some(e) => Some(opt_postal_line(c.reader(), e)?),
            None => None,
        };
        let addr = match c.opt(NS, "addr")? {
            Some(e) => Some(addr(c.reader(), e)?),
            None => None,
        };
        c.end()?;
        Ok(ChgPostalInfo {
            type_,
            name,
            org,
            addr,
        })
    })?;
    let voice = opt_phone(&mut s, "voice")?;
    let fax = opt_phone(&mut s, "fax")?;
    let email = match s.opt(NS, "email")? {
        Some(e) => Some(min_token(s.reader(), e)?),
        None => None,
    };
    let auth_info = match s.opt(NS, "authInfo")? {
        Some(e) => Some(auth_info(s.reader(), e)?),
        None => None,
    };
    let disclose = opt_disclose(&mut s)?;
    s.end()?;
    Ok(Chg {
        postal_info,
        voice,
        fax,
        email,
        auth_info,
        disclose,
    })
}

fn add_rem<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<AddRem, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let status = s.many(NS, P, "status", 1, 7, status)?;
    s.end()?;
    Ok(AddRem { status })
}

fn postal_kind(el: &Element<'_>) -> Result<PostalInfoKind, DecodeError> {
    el.allow_attrs(&["type"])?;
    seq::enumeration(
        el,
        "type",
        el.required_attr("type")?,
        &[("loc", PostalInfoKind::Loc), ("int", PostalInfoKind::Int)],
    )
}

fn postal_info<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<PostalInfo, DecodeError> {
    let type_ = postal_kind(&el)?;
    let mut s = Seq::new(r, el);
    let e = s.req(NS, P, "name")?;
    let name = postal_line(s.reader(), e)?;
    let org = match s.opt(NS, "org")? {
        Some(e) => Some(opt_postal_line(s.reader(), e)?),
        None => None,
    };
    let e = s.req(NS, P, "addr")?;
    let addr = addr(s.reader(), e)?;
    s.end()?;
    Ok(PostalInfo {
        type_,
        name,
        org,
        addr,
    })
}

fn addr<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Addr, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let street = s.many(NS, P, "street", 0, 3, opt_postal_line)?;
    let e = s.req(NS, P, "city")?;
    let city = postal_line(s.reader(), e)?;
    let sp = match s.opt(NS, "sp")? {
        Some(e) => Some(opt_postal_line(s.reader(), e)?),
        None => None,
    };
    let pc = match s.opt(NS, "pc")? {
        Some(e) => Some(seq::text_token(s.reader(), &e, "contact:pcType", 0, 16)?),
        None => None,
    };
    let e = s.req(NS, P, "cc")?;
    let cc = seq::text_token(s.reader(), &e, "contact:ccType", 2, 2)?;
    s.end()?;
    Ok(Addr {
        street,
        city,
        sp,
        pc,
        cc,
    })
}

fn postal_line<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    el.allow_attrs(&[])?;
    let t = r.text(&el)?;
    seq::normalized(&el, &t, "contact:postalLineType", 1, 255)
}

fn opt_postal_line<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    el.allow_attrs(&[])?;
    let t = r.text(&el)?;
    seq::normalized(&el, &t, "contact:optPostalLineType", 0, 255)
}

fn opt_phone(s: &mut Seq<'_, '_>, name: &str) -> Result<Option<Phone>, DecodeError> {
    match s.opt(NS, name)? {
        Some(e) => Ok(Some(phone(s.reader(), e)?)),
        None => Ok(None),
    }
}

/// `contact:e164Type`: `(\+[0-9]{1,3}\.[0-9]{1,14})?`, at most 17 characters, with an
/// optional extension attribute `x`. Public for extensions that reuse the type.
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`] when the pattern does not match.
pub fn phone<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Phone, DecodeError> {
    el.allow_attrs(&["x"])?;
    let x = el
        .attr("x")
        .map(|v| crate::collapse_whitespace(v).into_owned());
    let t = r.text(&el)?;
    let content = seq::token(&el, &t, "contact:e164StringType", 0, 17)?;
    if !content.is_empty() && !is_e164(&content) {
        return Err(DecodeError::new(
            ErrorKind::ValueSyntax,
            format!(
                "{}: '{content}' does not match contact:e164StringType (\\+[0-9]{{1,3}}\\.[0-9]{{1,14}})?",
                el.display()
            ),
        ));
    }
    Ok(Phone { x, content })
}

fn is_e164(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let Some((cc, num)) = rest.split_once('.') else {
        return false;
    };
    (1..=3).contains(&cc.len())
        && cc.bytes().all(|b| b.is_ascii_digit())
        && (1..=14).contains(&num.len())
        && num.bytes().all(|b| b.is_ascii_digit())
}

fn auth_info<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<AuthInfo, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let child = s.any("<contact:pw> or <contact:ext>")?;
    let content = match (child.ns() == NS, child.name()) {
        (true, "pw") => AuthInfoContent::Pw(common::pw_auth_info(s.reader(), child)?),
        (true, "ext") => AuthInfoContent::Ext(common::ext_auth_info(s.reader(), child, NS)?),
        _ => {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "unexpected element {} in <contact:authInfo>",
                    child.display()
                ),
            ));
        }
    };
    s.end()?;
    Ok(AuthInfo { content })
}

fn opt_disclose(s: &mut Seq<'_, '_>) -> Result<Option<Disclose>, DecodeError> {
    let Some(el) = s.opt(NS, "disclose")? else {
        return Ok(None);
    };
    el.allow_attrs(&["flag"])?;
    let flag = seq::boolean(&el, "flag", el.required_attr("flag")?)?;
    let mut d = Seq::new(s.reader(), el);
    let name = d.many(NS, P, "name", 0, 2, int_loc)?;
    let org = d.many(NS, P, "org", 0, 2, int_loc)?;
    let addr = d.many(NS, P, "addr", 0, 2, int_loc)?;
    let flagged = |d: &mut Seq<'_, '_>, n: &str| -> Result<Option<crate::Empty>, DecodeError> {
        match d.opt(NS, n)? {
            Some(e) => Ok(Some(seq::empty(d.reader(), &e)?)),
            None => Ok(None),
        }
    };
    let voice = flagged(&mut d, "voice")?;
    let fax = flagged(&mut d, "fax")?;
    let email = flagged(&mut d, "email")?;
    d.end()?;
    Ok(Some(Disclose {
        flag,
        name,
        org,
        addr,
        voice,
        fax,
        email,
    }))
}

fn int_loc<'a>(r: &mut XmlReader<'a>, e: Element<'a>) -> Result<IntLoc, DecodeError> {
    let type_ = postal_kind(&e)?;
    r.skip(&e)?;
    Ok(IntLoc { type_ })
}

fn status<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Status, DecodeError> {
    el.allow_attrs(&["s", "lang"])?;
    let s = seq::enumeration(&el, "status", el.required_attr("s")?, STATUS)?;
    let (lang, content) = common::status_text(r, &el, "contact:statusType")?;
    Ok(Status { s, lang, content })
}

const STATUS: &[(&str, StatusValue)] = &[
    (
        "clientDeleteProhibited",
        StatusValue::ClientDeleteProhibited,
    ),
    (
        "clientTransferProhibited",
        StatusValue::ClientTransferProhibited,
    ),
    (
        "clientUpdateProhibited",
        StatusValue::ClientUpdateProhibited,
    ),
    ("linked", StatusValue::Linked),
    ("ok", StatusValue::Ok),
    ("pendingCreate", StatusValue::PendingCreate),
    ("pendingDelete", StatusValue::PendingDelete),
    ("pendingTransfer", StatusValue::PendingTransfer),
    ("pendingUpdate", StatusValue::PendingUpdate),
    (
        "serverDeleteProhibited",
        StatusValue::ServerDeleteProhibited,
    ),
    (
        "serverTransferProhibited",
        StatusValue::ServerTransferProhibited,
    ),
    (
        "serverUpdateProhibited",
        StatusValue::ServerUpdateProhibited,
    ),
];

/// The wire text of a contact status value.
pub fn status_str(s: &StatusValue) -> &'static str {
    STATUS
        .iter()
        .find(|(_, v)| v == s)
        .map(|(t, _)| *t)
        .unwrap_or("ok")
}

fn kind_str(k: &PostalInfoKind) -> &'static str {
    match k {
        PostalInfoKind::Loc => "loc",
        PostalInfoKind::Int => "int",
    }
}

// ------------------------------------------------------------------ encoding

fn open(w: &mut XmlWriter<'_>, element: &'static str) {
    common::open_res_data(w, P, element, NS, "contact-1.0.xsd");
}

/// Writes a phone element `name` (`contact:voice`, `no-ext-contact:mobilePhone`, ...).
pub fn write_phone(w: &mut XmlWriter<'_>, name: &str, p: &Phone) {
    match &p.x {
        Some(x) => w.leaf(name, &[("x", x)], &p.content),
        None => w.leaf(name, &[], &p.content),
    }
}

pub(crate) fn write_chk_data(w: &mut XmlWriter<'_>, d: &ChkData) {
    open(w, "chkData");
    for cd in &d.cd {
        w.start("contact:cd", &[]);
        w.leaf(
            "contact:id",
            &[("avail", common::bool_str(cd.id.avail))],
            &cd.id.content,
        );
        if let Some(r) = &cd.reason {
            common::write_reason(w, "contact:reason", r);
        }
        w.end("contact:cd");
    }
    w.end("contact:chkData");
}

pub(crate) fn write_cre_data(w: &mut XmlWriter<'_>, d: &CreData) {
    open(w, "creData");
    w.leaf("contact:id", &[], &d.id);
    w.leaf_display("contact:crDate", &[], d.cr_date);
    w.end("contact:creData");
}

pub(crate) fn write_inf_data(w: &mut XmlWriter<'_>, d: &InfData) {
    open(w, "infData");
    w.leaf("contact:id", &[], &d.id);
    w.leaf("contact:roid", &[], &d.roid);
    for s in &d.status {
        write_status(w, s);
    }
    for p in &d.postal_info {
        write_postal_info(w, p);
    }
    if let Some(v) = &d.voice {
        write_phone(w, "contact:voice", v);
    }
    if let Some(v) = &d.fax {
        write_phone(w, "contact:fax", v);
    }
    w.leaf("contact:email", &[], &d.email);
    w.leaf("contact:clID", &[], &d.cl_id);
    w.leaf("contact:crID", &[], &d.cr_id);
    w.leaf_display("contact:crDate", &[], d.cr_date);
    if let Some(v) = &d.up_id {
        w.leaf("contact:upID", &[], v);
    }
    if let Some(t) = d.up_date {
        w.leaf_display("contact:upDate", &[], t);
    }
    if let Some(t) = d.tr_date {
        w.leaf_display("contact:trDate", &[], t);
    }
    if let Some(a) = &d.auth_info {
        write_auth_info(w, a);
    }
    if let Some(dc) = &d.disclose {
        write_disclose(w, dc);
    }
    w.end("contact:infData");
}

fn write_status(w: &mut XmlWriter<'_>, s: &Status) {
    common::write_status(w, "contact:status", status_str(&s.s), &s.lang, &s.content);
}

fn write_postal_info(w: &mut XmlWriter<'_>, p: &PostalInfo) {
    w.start("contact:postalInfo", &[("type", kind_str(&p.type_))]);
    w.leaf("contact:name", &[], &p.name);
    if let Some(o) = &p.org {
        w.leaf("contact:org", &[], o);
    }
    write_addr(w, &p.addr);
    w.end("contact:postalInfo");
}

fn write_auth_info(w: &mut XmlWriter<'_>, a: &AuthInfo) {
    w.start("contact:authInfo", &[]);
    match &a.content {
        AuthInfoContent::Pw(pw) => common::write_pw(w, "contact:pw", pw),
        AuthInfoContent::Ext(ext) => common::write_ext_auth(w, "contact:ext", ext),
    }
    w.end("contact:authInfo");
}

fn write_addr(w: &mut XmlWriter<'_>, a: &Addr) {
    w.start("contact:addr", &[]);
    for s in &a.street {
        w.leaf("contact:street", &[], s);
    }
    w.leaf("contact:city", &[], &a.city);
    if let Some(v) = &a.sp {
        w.leaf("contact:sp", &[], v);
    }
    if let Some(v) = &a.pc {
        w.leaf("contact:pc", &[], v);
    }
    w.leaf("contact:cc", &[], &a.cc);
    w.end("contact:addr");
}

fn write_disclose(w: &mut XmlWriter<'_>, d: &Disclose) {
    w.start("contact:disclose", &[("flag", common::bool_str(d.flag))]);
    for (name, list) in [
        ("contact:name", &d.name),
        ("contact:org", &d.org),
        ("contact:addr", &d.addr),
    ] {
        for il in list {
            w.empty(name, &[("type", kind_str(&il.type_))]);
        }
    }
    for (name, v) in [
        ("contact:voice", d.voice),
        ("contact:fax", d.fax),
        ("contact:email", d.email),
    ] {
        if v.is_some() {
            w.empty(name, &[]);
        }
    }
    w.end("contact:disclose");
}

pub(crate) fn write_pan_data(w: &mut XmlWriter<'_>, d: &PanData) {
    open(w, "panData");
    w.leaf(
        "contact:id",
        &[("paResult", common::bool_str(d.id.pa_result))],
        &d.id.content,
    );
    crate::response::write_pa_trid(w, "contact:paTRID", &d.pa_trid);
    w.leaf_display("contact:paDate", &[], d.pa_date);
    w.end("contact:panData");
}

pub(crate) fn write_trn_data(w: &mut XmlWriter<'_>, d: &TrnData) {
    open(w, "trnData");
    w.leaf("contact:id", &[], &d.id);
    w.leaf("contact:trStatus", &[], common::tr_status_str(&d.tr_status));
    w.leaf("contact:reID", &[], &d.re_id);
    w.leaf_display("contact:reDate", &[], d.re_date);
    w.leaf("contact:acID", &[], &d.ac_id);
    w.leaf_display("contact:acDate", &[], d.ac_date);
    w.end("contact:trnData");
}

// ------------------------------------------------------------------ command encoding

fn open_command(w: &mut XmlWriter<'_>, element: &str) {
    common::open_command(w, P, element, NS);
}

pub(crate) fn write_check(w: &mut XmlWriter<'_>, c: &Check) {
    open_command(w, "check");
    for id in &c.id {
        w.leaf("contact:id", &[], id);
    }
    w.end("contact:check");
}

pub(crate) fn write_create(w: &mut XmlWriter<'_>, c: &Create) {
    open_command(w, "create");
    w.leaf("contact:id", &[], &c.id);
    for p in &c.postal_info {
        write_postal_info(w, p);
    }
    if let Some(v) = &c.voice {
        write_phone(w, "contact:voice", v);
    }
    if let Some(v) = &c.fax {
        write_phone(w, "contact:fax", v);
    }
    w.leaf("contact:email", &[], &c.email);
    write_auth_info(w, &c.auth_info);
    if let Some(d) = &c.disclose {
        write_disclose(w, d);
    }
    w.end("contact:create");
}

pub(crate) fn write_delete(w: &mut XmlWriter<'_>, d: &Id) {
    open_command(w, "delete");
    w.leaf("contact:id", &[], &d.id);
    w.end("contact:delete");
}

/// Writes `<contact:info>` or `<contact:transfer>` (`element`): an id and optional
/// authorisation information.
pub(crate) fn write_auth_id(w: &mut XmlWriter<'_>, element: &str, a: &AuthId) {
    open_command(w, element);
    w.leaf("contact:id", &[], &a.id);
    if let Some(ai) = &a.auth_info {
        write_auth_info(w, ai);
    }
    w.end(&format!("contact:{element}"));
}

pub(crate) fn write_update(w: &mut XmlWriter<'_>, u: &Update) {
    open_command(w, "update");
    w.leaf("contact:id", &[], &u.id);
    for (name, a) in [("contact:add", &u.add), ("contact:rem", &u.rem)] {
        if let Some(a) = a {
            w.start(name, &[]);
            for s in &a.status {
                write_status(w, s);
            }
            w.end(name);
        }
    }
    if let Some(c) = &u.chg {
        w.start("contact:chg", &[]);
        for p in &c.postal_info {
            w.start("contact:postalInfo", &[("type", kind_str(&p.type_))]);
            if let Some(n) = &p.name {
                w.leaf("contact:name", &[], n);
            }
            if let Some(o) = &p.org {
                w.leaf("contact:org", &[], o);
            }
            if let Some(a) = &p.addr {
                write_addr(w, a);
            }
            w.end("contact:postalInfo");
        }
        if let Some(v) = &c.voice {
            write_phone(w, "contact:voice", v);
        }
        if let Some(v) = &c.fax {
            write_phone(w, "contact:fax", v);
        }
        if let Some(e) = &c.email {
            w.leaf("contact:email", &[], e);
        }
        if let Some(a) = &c.auth_info {
            write_auth_info(w, a);
        }
        if let Some(d) = &c.disclose {
            write_disclose(w, d);
        }
        w.end("contact:chg");
    }
    w.end("contact:update");
}

// ------------------------------------------------------------------ response decoding

const CL_ID: (&str, usize, usize) = ("eppcom:clIDType", 3, 16);

pub(crate) fn read_chk_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<ChkData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let cd = s.many(NS, P, "cd", 1, usize::MAX, |r, e| {
        e.allow_attrs(&[])?;
        let mut c = Seq::new(r, e);
        let n = c.req(NS, P, "id")?;
        let (avail, content) = common::flagged(c.reader(), &n, "avail", CL_ID, ContactId::new)?;
        let reason = c.opt_with(NS, "reason", common::reason)?;
        c.end()?;
        Ok(CheckResult {
            id: CheckId { avail, content },
            reason,
        })
    })?;
    s.end()?;
    Ok(ChkData { cd })
}

pub(crate) fn read_cre_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<CreData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let id = s.req_with(NS, P, "id", seq::contact_id)?;
    let cr_date = s.req_with(NS, P, "crDate", seq::timestamp)?;
    s.end()?;
    Ok(CreData { id, cr_date })
}

pub(crate) fn read_inf_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<InfData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let id = s.req_with(NS, P, "id", seq::contact_id)?;
    let roid = s.req_with(NS, P, "roid", common::roid_text)?;
    let status = s.many(NS, P, "status", 1, 7, status)?;
    let postal_info = s.many(NS, P, "postalInfo", 1, 2, postal_info)?;
    let voice = opt_phone(&mut s, "voice")?;
    let fax = opt_phone(&mut s, "fax")?;
    let email = s.req_with(NS, P, "email", min_token)?;
    let cl_id = s.req_with(NS, P, "clID", seq::client_id)?;
    let cr_id = s.req_with(NS, P, "crID", seq::client_id)?;
    let cr_date = s.req_with(NS, P, "crDate", seq::timestamp)?;
    let up_id = s.opt_with(NS, "upID", seq::client_id)?;
    let up_date = s.opt_with(NS, "upDate", seq::timestamp)?;
    let tr_date = s.opt_with(NS, "trDate", seq::timestamp)?;
    let auth_info = s.opt_with(NS, "authInfo", auth_info)?;
    let disclose = opt_disclose(&mut s)?;
    s.end()?;
    Ok(InfData {
        id,
        roid,
        status,
        postal_info,
        voice,
        fax,
        email,
        cl_id,
        cr_id,
        cr_date,
        up_id,
        up_date,
        tr_date,
        auth_info,
        disclose,
    })
}

pub(crate) fn read_pan_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<PanData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let n = s.req(NS, P, "id")?;
    let (pa_result, content) = common::flagged(s.reader(), &n, "paResult", CL_ID, ContactId::new)?;
    let pa_trid = s.req_with(NS, P, "paTRID", common::pa_trid)?;
    let pa_date = s.req_with(NS, P, "paDate", seq::timestamp)?;
    s.end()?;
    Ok(PanData {
        id: PaId { pa_result, content },
        pa_trid,
        pa_date,
    })
}

pub(crate) fn read_trn_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<TrnData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let id = s.req_with(NS, P, "id", seq::contact_id)?;
    let tr_status = s.req_with(NS, P, "trStatus", common::tr_status)?;
    let re_id = s.req_with(NS, P, "reID", seq::client_id)?;
    let re_date = s.req_with(NS, P, "reDate", seq::timestamp)?;
    let ac_id = s.req_with(NS, P, "acID", seq::client_id)?;
    let ac_date = s.req_with(NS, P, "acDate", seq::timestamp)?;
    s.end()?;
    Ok(TrnData {
        id,
        tr_status,
        re_id,
        re_date,
        ac_id,
        ac_date,
    })
}
