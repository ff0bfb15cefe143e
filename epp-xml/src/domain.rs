//! The domain name mapping (RFC 5731) over the generated types: command decoding and
//! response encoding (the server's side), command encoding and response decoding (a
//! client's side).

use crate::common;
use crate::error::{DecodeError, ErrorKind};
use crate::generated::domain as g;
use crate::ns::DOMAIN as NS;
use crate::reader::{Element, XmlReader};
use crate::seq::{self, Seq};
use crate::writer::XmlWriter;
use crate::{ClientId, DomainName};

pub use g::{
    AddRemType as AddRem, AuthInfoChgType as AuthInfoChg,
    AuthInfoChgTypeContent as AuthInfoChgContent, AuthInfoType as AuthInfo,
    AuthInfoTypeContent as AuthInfoContent, CheckNameType as CheckName, CheckType as CheckResult,
    ChgType as Chg, ChkDataType as ChkData, ContactAttrType as ContactRole, ContactType as Contact,
    CreDataType as CreData, CreateType as Create, HostAttrType as HostAttr, HostsType as Hosts,
    InfDataType as InfData, InfoNameType as InfoName, InfoType as Info, MNameType as Check,
    NsType as Ns, NsTypeContent as NsEntry, PUnitType as PeriodUnit, PaNameType as PaName,
    PanDataType as PanData, PeriodType as Period, RenDataType as RenData, RenewType as Renew,
    SNameType as Delete, StatusType as Status, StatusValueType as StatusValue,
    TransferType as Transfer, TrnDataType as TrnData, UpdateType as Update,
};

const P: &str = "domain";

/// Decodes the `<domain:*>` child of a command element.
pub(crate) fn decode_command<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<DomainCommand, DecodeError> {
    el.allow_attrs(&[])?;
    Ok(match el.name() {
        "check" => {
            let mut s = Seq::new(r, el);
            let name = s.many(NS, P, "name", 1, usize::MAX, seq::domain_name)?;
            s.end()?;
            DomainCommand::Check(Check { name })
        }
        "create" => DomainCommand::Create(create(r, el)?),
        "delete" => {
            let mut s = Seq::new(r, el);
            let e = s.req(NS, P, "name")?;
            let name = seq::domain_name(s.reader(), e)?;
            s.end()?;
            DomainCommand::Delete(Delete { name })
        }
        "info" => {
            let mut s = Seq::new(r, el);
            let e = s.req(NS, P, "name")?;
            e.allow_attrs(&["hosts"])?;
            let hosts = match e.attr("hosts") {
                Some(v) => seq::enumeration(
                    &e,
                    "hosts",
                    v,
                    &[
                        ("all", Hosts::All),
                        ("del", Hosts::Del),
                        ("none", Hosts::None),
                        ("sub", Hosts::Sub),
                    ],
                )?,
                None => Hosts::All,
            };
            let t = s.reader().text(&e)?;
            let content = seq::token(&e, &t, "eppcom:labelType", 1, 255)?;
            let content = seq::typed(&e, content, crate::DomainName::new)?;
            let auth_info = opt_auth_info(&mut s)?;
            s.end()?;
            DomainCommand::Info(Info {
                name: InfoName { hosts, content },
                auth_info,
            })
        }
        "renew" => {
            let mut s = Seq::new(r, el);
            let e = s.req(NS, P, "name")?;
            let name = seq::domain_name(s.reader(), e)?;
            let e = s.req(NS, P, "curExpDate")?;
            e.allow_attrs(&[])?;
            let t = s.reader().text(&e)?;
            let cur_exp_date = seq::date(&e, &t)?;
            let period = opt_period(&mut s)?;
            s.end()?;
            DomainCommand::Renew(Renew {
                name,
                cur_exp_date,
                period,
            })
        }
        "transfer" => DomainCommand::Transfer(transfer(r, el)?),
        "update" => DomainCommand::Update(update(r, el)?),
        other => {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!("<domain:{other}> is not a domain command element"),
            ));
        }
    })
}

/// A decoded domain command element.
pub(crate) enum DomainCommand {
    Check(Check),
    Create(Create),
    Delete(Delete),
    Info(Info),
    Renew(Renew),
    Transfer(Transfer),
    Update(Update),
}

fn create<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Create, DecodeError> {
    let mut s = Seq::new(r, el);
    let e = s.req(NS, P, "name")?;
    let name = seq::domain_name(s.reader(), e)?;
    let period = opt_period(&mut s)?;
    let ns = match s.opt(NS, "ns")? {
        Some(e) => Some(ns(s.reader(), e)?),
        None => None,
    };
    let registrant = match s.opt(NS, "registrant")? {
        Some(e) => Some(seq::contact_id(s.reader(), e)?),
        None => None,
    };
    let contact = s.many(NS, P, "contact", 0, usize::MAX, contact)?;
    let e = s.req(NS, P, "authInfo")?;
    let auth_info = auth_info(s.reader(), e)?;
    s.end()?;
    Ok(Create {
        name,
        period,
        ns,
        registrant,
        contact,
        auth_info,
    })
}

/// Decodes the body of `<domain:transfer>`; also used by Norid's `transfer op="execute"`.
pub fn transfer<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Transfer, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let e = s.req(NS, P, "name")?;
    let name = seq::domain_name(s.reader(), e)?;
    let period = opt_period(&mut s)?;
    let auth_info = opt_auth_info(&mut s)?;
    s.end()?;
    Ok(Transfer {
        name,
        period,
        auth_info,
    })
}

fn update<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Update, DecodeError> {
    let mut s = Seq::new(r, el);
    let e = s.req(NS, P, "name")?;
    let name = seq::domain_name(s.reader(), e)?;
    let add = match s.opt(NS, "add")? {
        Some(e) => Some(add_rem(s.reader(), e)?),
        None => None,
    };
    let rem = match s.opt(NS, "rem")? {
        Some(e) => Some(add_rem(s.reader(), e)?),
        None => None,
    };
    let chg = match s.opt(NS, "chg")? {
        Some(e) => {
            e.allow_attrs(&[])?;
            let mut c = Seq::new(s.reader(), e);
            let registrant = match c.opt(NS, "registrant")? {
                Some(e) => Some(seq::text_token(
                    c.reader(),
                    &e,
                    "domain:clIDChgType",
                    0,
                    16,
                )?),
                None => None,
            };
            let auth_info = match c.opt(NS, "authInfo")? {
                Some(e) => {
                    e.allow_attrs(&[])?;
                    let mut a = Seq::new(c.reader(), e);
                    let child = a.any("<domain:pw>, <domain:ext> or <domain:null>")?;
                    let content = match (child.ns() == NS, child.name()) {
                        (true, "pw") => {
                            AuthInfoChgContent::Pw(common::pw_auth_info(a.reader(), child)?)
                        }
                        (true, "ext") => {
                            AuthInfoChgContent::Ext(common::ext_auth_info(a.reader(), child, NS)?)
                        }
                        (true, "null") => AuthInfoChgContent::Null(seq::empty(a.reader(), &child)?),
                        _ => return Err(unexpected(&child, "<domain:authInfo>")),
                    };
                    a.end()?;
                    Some(AuthInfoChg { content })
                }
                None => None,
            };
            c.end()?;
            Some(Chg {
                registrant,
                auth_info,
            })
        }
        None => None,
    };
    s.end()?;
    Ok(Update {
        name,
        add,
        rem,
        chg,
    })
}

fn add_rem<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<AddRem, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let ns = match s.opt(NS, "ns")? {
        Some(e) => Some(ns(s.reader(), e)?),
        None => None,
    };
    let contact = s.many(NS, P, "contact", 0, usize::MAX, contact)?;
    let status = s.many(NS, P, "status", 0, 11, status)?;
    s.end()?;
    Ok(AddRem {
        ns,
        contact,
        status,
    })
}

fn opt_period(s: &mut Seq<'_, '_>) -> Result<Option<Period>, DecodeError> {
    let Some(e) = s.opt(NS, "period")? else {
        return Ok(None);
    };
    e.allow_attrs(&["unit"])?;
    let unit = seq::enumeration(
        &e,
        "unit",
        e.required_attr("unit")?,
        &[("y", PeriodUnit::Y), ("m", PeriodUnit::M)],
    )?;
    let t = s.reader().text(&e)?;
    let content = seq::unsigned(&e, "domain:pLimitType", &t, 1, 99)? as u16;
    Ok(Some(Period { unit, content }))
}

fn opt_auth_info(s: &mut Seq<'_, '_>) -> Result<Option<AuthInfo>, DecodeError> {
    match s.opt(NS, "authInfo")? {
        Some(e) => Ok(Some(auth_info(s.reader(), e)?)),
        None => Ok(None),
    }
}

fn auth_info<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<AuthInfo, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let child = s.any("<domain:pw> or <domain:ext>")?;
    let content = match (child.ns() == NS, child.name()) {
        (true, "pw") => AuthInfoContent::Pw(common::pw_auth_info(s.reader(), child)?),
        (true, "ext") => AuthInfoContent::Ext(common::ext_auth_info(s.reader(), child, NS)?),
        _ => return Err(unexpected(&child, "<domain:authInfo>")),
    };
    s.end()?;
    Ok(AuthInfo { content })
}

fn ns<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Ns, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let first = s.any("<domain:hostObj> or <domain:hostAttr> elements")?;
    let mut content = Vec::new();
    let kind = first.name();
    if first.ns() != NS || (kind != "hostObj" && kind != "hostAttr") {
        return Err(unexpected(&first, "<domain:ns>"));
    }
    let mut next = Some(first);
    while let Some(e) = next {
        if !e.is(NS, kind) {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "<domain:ns> holds either <domain:hostObj> or <domain:hostAttr> elements, not both ({})",
                    e.display()
                ),
            ));
        }
        content.push(if kind == "hostObj" {
            NsEntry::HostObj(seq::host_name(s.reader(), e)?)
        } else {
            NsEntry::HostAttr(host_attr(s.reader(), e)?)
        });
        next = if s.peek()?.is_some() {
            Some(s.any("")?)
        } else {
            None
        };
    }
    s.end()?;
    Ok(Ns { content })
}

fn host_attr<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<HostAttr, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let e = s.req(NS, P, "hostName")?;
    let host_name = seq::host_name(s.reader(), e)?;
    let host_addr = s.many(NS, P, "hostAddr", 0, usize::MAX, crate::host::addr)?;
    s.end()?;
    Ok(HostAttr {
        host_name,
        host_addr,
    })
}

fn contact<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Contact, DecodeError> {
    el.allow_attrs(&["type"])?;
    let type_ = match el.attr("type") {
        Some(v) => Some(seq::enumeration(
            &el,
            "type",
            v,
            &[
                ("admin", ContactRole::Admin),
                ("billing", ContactRole::Billing),
                ("tech", ContactRole::Tech),
            ],
        )?),
        None => None,
    };
    let t = r.text(&el)?;
    let content = seq::token(&el, &t, "eppcom:clIDType", 3, 16)?;
    let content = seq::typed(&el, content, crate::ContactId::new)?;
    Ok(Contact { type_, content })
}

fn status<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Status, DecodeError> {
    el.allow_attrs(&["s", "lang"])?;
    let s = seq::enumeration(&el, "status", el.required_attr("s")?, STATUS)?;
    let (lang, content) = common::status_text(r, &el, "domain:statusType")?;
    Ok(Status { s, lang, content })
}

fn unexpected(child: &Element<'_>, parent: &str) -> DecodeError {
    DecodeError::new(
        ErrorKind::Structure,
        format!("unexpected element {} in {parent}", child.display()),
    )
}

const STATUS: &[(&str, StatusValue)] = &[
    (
        "clientDeleteProhibited",
        StatusValue::ClientDeleteProhibited,
    ),
    ("clientHold", StatusValue::ClientHold),
    ("clientRenewProhibited", StatusValue::ClientRenewProhibited),
    (
        "clientTransferProhibited",
        StatusValue::ClientTransferProhibited,
    ),
    (
        "clientUpdateProhibited",
        StatusValue::ClientUpdateProhibited,
    ),
    ("inactive", StatusValue::Inactive),
    ("ok", StatusValue::Ok),
    ("pendingCreate", StatusValue::PendingCreate),
    ("pendingDelete", StatusValue::PendingDelete),
    ("pendingRenew", StatusValue::PendingRenew),
    ("pendingTransfer", StatusValue::PendingTransfer),
    ("pendingUpdate", StatusValue::PendingUpdate),
    (
        "serverDeleteProhibited",
        StatusValue::ServerDeleteProhibited,
    ),
    ("serverHold", StatusValue::ServerHold),
    ("serverRenewProhibited", StatusValue::ServerRenewProhibited),
    (
        "serverTransferProhibited",
        StatusValue::ServerTransferProhibited,
    ),
    (
        "serverUpdateProhibited",
        StatusValue::ServerUpdateProhibited,
    ),
];

/// The wire text of a domain status value.
pub fn status_str(s: &StatusValue) -> &'static str {
    STATUS
        .iter()
        .find(|(_, v)| v == s)
        .map(|(t, _)| *t)
        .unwrap_or("ok")
}

fn hosts_str(h: &Hosts) -> &'static str {
    match h {
        Hosts::All => "all",
        Hosts::Del => "del",
        Hosts::None => "none",
        Hosts::Sub => "sub",
    }
}

fn role_str(r: &ContactRole) -> &'static str {
    match r {
        ContactRole::Admin => "admin",
        ContactRole::Billing => "billing",
        ContactRole::Tech => "tech",
    }
}

// ------------------------------------------------------------------ encoding

fn open(w: &mut XmlWriter<'_>, element: &'static str) {
    common::open_res_data(w, P, element, NS, "domain-1.0.xsd");
}

pub(crate) fn write_chk_data(w: &mut XmlWriter<'_>, d: &ChkData) {
    open(w, "chkData");
    for cd in &d.cd {
        w.start("domain:cd", &[]);
        w.leaf(
            "domain:name",
            &[("avail", common::bool_str(cd.name.avail))],
            &cd.name.content,
        );
        if let Some(r) = &cd.reason {
            common::write_reason(w, "domain:reason", r);
        }
        w.end("domain:cd");
    }
    w.end("domain:chkData");
}

pub(crate) fn write_cre_data(w: &mut XmlWriter<'_>, d: &CreData) {
    open(w, "creData");
    w.leaf("domain:name", &[], &d.name);
    w.leaf_display("domain:crDate", &[], d.cr_date);
    if let Some(t) = d.ex_date {
        w.leaf_display("domain:exDate", &[], t);
    }
    w.end("domain:creData");
}

pub(crate) fn write_inf_data(w: &mut XmlWriter<'_>, d: &InfData) {
    open(w, "infData");
    w.leaf("domain:name", &[], &d.name);
    w.leaf("domain:roid", &[], &d.roid);
    for s in &d.status {
        write_status(w, s);
    }
    if let Some(r) = &d.registrant {
        w.leaf("domain:registrant", &[], r);
    }
    for c in &d.contact {
        write_contact(w, c);
    }
    if let Some(ns) = &d.ns {
        write_ns(w, ns);
    }
    for h in &d.host {
        w.leaf("domain:host", &[], h);
    }
    w.leaf("domain:clID", &[], &d.cl_id);
    if let Some(v) = &d.cr_id {
        w.leaf("domain:crID", &[], v);
    }
    if let Some(t) = d.cr_date {
        w.leaf_display("domain:crDate", &[], t);
    }
    if let Some(v) = &d.up_id {
        w.leaf("domain:upID", &[], v);
    }
    if let Some(t) = d.up_date {
        w.leaf_display("domain:upDate", &[], t);
    }
    if let Some(t) = d.ex_date {
        w.leaf_display("domain:exDate", &[], t);
    }
    if let Some(t) = d.tr_date {
        w.leaf_display("domain:trDate", &[], t);
    }
    if let Some(a) = &d.auth_info {
        write_auth_info(w, a);
    }
    w.end("domain:infData");
}

pub(crate) fn write_pan_data(w: &mut XmlWriter<'_>, d: &PanData) {
    open(w, "panData");
    w.leaf(
        "domain:name",
        &[("paResult", common::bool_str(d.name.pa_result))],
        &d.name.content,
    );
    crate::response::write_pa_trid(w, "domain:paTRID", &d.pa_trid);
    w.leaf_display("domain:paDate", &[], d.pa_date);
    w.end("domain:panData");
}

pub(crate) fn write_ren_data(w: &mut XmlWriter<'_>, d: &RenData) {
    open(w, "renData");
    w.leaf("domain:name", &[], &d.name);
    if let Some(t) = d.ex_date {
        w.leaf_display("domain:exDate", &[], t);
    }
    w.end("domain:renData");
}

pub(crate) fn write_trn_data(w: &mut XmlWriter<'_>, d: &TrnData) {
    open(w, "trnData");
    w.leaf("domain:name", &[], &d.name);
    w.leaf("domain:trStatus", &[], common::tr_status_str(&d.tr_status));
    w.leaf("domain:reID", &[], &d.re_id);
    w.leaf_display("domain:reDate", &[], d.re_date);
    w.leaf("domain:acID", &[], &d.ac_id);
    w.leaf_display("domain:acDate", &[], d.ac_date);
    if let Some(t) = d.ex_date {
        w.leaf_display("domain:exDate", &[], t);
    }
    w.end("domain:trnData");
}

fn write_status(w: &mut XmlWriter<'_>, s: &Status) {
    common::write_status(w, "domain:status", status_str(&s.s), &s.lang, &s.content);
}

fn write_auth_info(w: &mut XmlWriter<'_>, a: &AuthInfo) {
    w.start("domain:authInfo", &[]);
    match &a.content {
        AuthInfoContent::Pw(pw) => common::write_pw(w, "domain:pw", pw),
        AuthInfoContent::Ext(ext) => common::write_ext_auth(w, "domain:ext", ext),
    }
    w.end("domain:authInfo");
}

fn write_period(w: &mut XmlWriter<'_>, p: &Period) {
    let unit = match p.unit {
        PeriodUnit::Y => "y",
        PeriodUnit::M => "m",
    };
    w.leaf_display("domain:period", &[("unit", unit)], p.content);
}

fn write_contact(w: &mut XmlWriter<'_>, c: &Contact) {
    match &c.type_ {
        Some(t) => w.leaf("domain:contact", &[("type", role_str(t))], &c.content),
        None => w.leaf("domain:contact", &[], &c.content),
    }
}

fn write_ns(w: &mut XmlWriter<'_>, ns: &Ns) {
    w.start("domain:ns", &[]);
    for e in &ns.content {
        match e {
            NsEntry::HostObj(h) => w.leaf("domain:hostObj", &[], h),
            NsEntry::HostAttr(a) => {
                w.start("domain:hostAttr", &[]);
                w.leaf("domain:hostName", &[], &a.host_name);
                for addr in &a.host_addr {
                    crate::host::write_addr(w, "domain:hostAddr", addr);
                }
                w.end("domain:hostAttr");
            }
        }
    }
    w.end("domain:ns");
}

// ------------------------------------------------------------------ command encoding

fn open_command(w: &mut XmlWriter<'_>, element: &str) {
    common::open_command(w, P, element, NS);
}

pub(crate) fn write_check(w: &mut XmlWriter<'_>, c: &Check) {
    open_command(w, "check");
    for n in &c.name {
        w.leaf("domain:name", &[], n);
    }
    w.end("domain:check");
}

pub(crate) fn write_create(w: &mut XmlWriter<'_>, c: &Create) {
    open_command(w, "create");
    w.leaf("domain:name", &[], &c.name);
    if let Some(p) = &c.period {
        write_period(w, p);
    }
    if let Some(ns) = &c.ns {
        write_ns(w, ns);
    }
    if let Some(r) = &c.registrant {
        w.leaf("domain:registrant", &[], r);
    }
    for ct in &c.contact {
        write_contact(w, ct);
    }
    write_auth_info(w, &c.auth_info);
    w.end("domain:create");
}

pub(crate) fn write_delete(w: &mut XmlWriter<'_>, d: &Delete) {
    open_command(w, "delete");
    w.leaf("domain:name", &[], &d.name);
    w.end("domain:delete");
}

pub(crate) fn write_info(w: &mut XmlWriter<'_>, i: &Info) {
    open_command(w, "info");
    w.leaf(
        "domain:name",
        &[("hosts", hosts_str(&i.name.hosts))],
        &i.name.content,
    );
    if let Some(a) = &i.auth_info {
        write_auth_info(w, a);
    }
    w.end("domain:info");
}

pub(crate) fn write_renew(w: &mut XmlWriter<'_>, r: &Renew) {
    open_command(w, "renew");
    w.leaf("domain:name", &[], &r.name);
    w.leaf_display("domain:curExpDate", &[], r.cur_exp_date);
    if let Some(p) = &r.period {
        write_period(w, p);
    }
    w.end("domain:renew");
}

/// Writes `<domain:transfer>` with its body; also used for Norid's `transfer op="execute"`.
pub fn write_transfer(w: &mut XmlWriter<'_>, t: &Transfer) {
    open_command(w, "transfer");
    w.leaf("domain:name", &[], &t.name);
    if let Some(p) = &t.period {
        write_period(w, p);
    }
    if let Some(a) = &t.auth_info {
        write_auth_info(w, a);
    }
    w.end("domain:transfer");
}

pub(crate) fn write_update(w: &mut XmlWriter<'_>, u: &Update) {
    open_command(w, "update");
    w.leaf("domain:name", &[], &u.name);
    for (name, a) in [("domain:add", &u.add), ("domain:rem", &u.rem)] {
        if let Some(a) = a {
            w.start(name, &[]);
            if let Some(ns) = &a.ns {
                write_ns(w, ns);
            }
            for c in &a.contact {
                write_contact(w, c);
            }
            for s in &a.status {
                write_status(w, s);
            }
            w.end(name);
        }
    }
    if let Some(c) = &u.chg {
        w.start("domain:chg", &[]);
        if let Some(r) = &c.registrant {
            w.leaf("domain:registrant", &[], r);
        }
        if let Some(a) = &c.auth_info {
            w.start("domain:authInfo", &[]);
            match &a.content {
                AuthInfoChgContent::Pw(pw) => common::write_pw(w, "domain:pw", pw),
                AuthInfoChgContent::Ext(ext) => common::write_ext_auth(w, "domain:ext", ext),
                AuthInfoChgContent::Null(_) => w.empty("domain:null", &[]),
            }
            w.end("domain:authInfo");
        }
        w.end("domain:chg");
    }
    w.end("domain:update");
}

// ------------------------------------------------------------------ response decoding

const LABEL: (&str, usize, usize) = ("eppcom:labelType", 1, 255);

pub(crate) fn read_chk_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<ChkData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let cd = s.many(NS, P, "cd", 1, usize::MAX, |r, e| {
        e.allow_attrs(&[])?;
        let mut c = Seq::new(r, e);
        let n = c.req(NS, P, "name")?;
        let (avail, content) = common::flagged(c.reader(), &n, "avail", LABEL, DomainName::new)?;
        let reason = c.opt_with(NS, "reason", common::reason)?;
        c.end()?;
        Ok(CheckResult {
            name: CheckName { avail, content },
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
    let name = s.req_with(NS, P, "name", seq::domain_name)?;
    let cr_date = s.req_with(NS, P, "crDate", seq::timestamp)?;
    let ex_date = s.opt_with(NS, "exDate", seq::timestamp)?;
    s.end()?;
    Ok(CreData {
        name,
        cr_date,
        ex_date,
    })
}

pub(crate) fn read_inf_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<InfData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let name = s.req_with(NS, P, "name", seq::domain_name)?;
    let roid = s.req_with(NS, P, "roid", common::roid_text)?;
    let status = s.many(NS, P, "status", 0, 11, status)?;
    let registrant = s.opt_with(NS, "registrant", seq::contact_id)?;
    let contact = s.many(NS, P, "contact", 0, usize::MAX, contact)?;
    let ns = s.opt_with(NS, "ns", ns)?;
    let host = s.many(NS, P, "host", 0, usize::MAX, seq::host_name)?;
    let cl_id = s.req_with(NS, P, "clID", seq::client_id)?;
    let cr_id = s.opt_with(NS, "crID", seq::client_id)?;
    let cr_date = s.opt_with(NS, "crDate", seq::timestamp)?;
    let up_id = s.opt_with(NS, "upID", seq::client_id)?;
    let up_date = s.opt_with(NS, "upDate", seq::timestamp)?;
    let ex_date = s.opt_with(NS, "exDate", seq::timestamp)?;
    let tr_date = s.opt_with(NS, "trDate", seq::timestamp)?;
    let auth_info = opt_auth_info(&mut s)?;
    s.end()?;
    Ok(InfData {
        name,
        roid,
        status,
        registrant,
        contact,
        ns,
        host,
        cl_id,
        cr_id,
        cr_date,
        up_id,
        up_date,
        ex_date,
        tr_date,
        auth_info,
    })
}

pub(crate) fn read_pan_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<PanData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let n = s.req(NS, P, "name")?;
    let (pa_result, content) = common::flagged(s.reader(), &n, "paResult", LABEL, DomainName::new)?;
    let pa_trid = s.req_with(NS, P, "paTRID", common::pa_trid)?;
    let pa_date = s.req_with(NS, P, "paDate", seq::timestamp)?;
    s.end()?;
    Ok(PanData {
        name: PaName { pa_result, content },
        pa_trid,
        pa_date,
    })
}

pub(crate) fn read_ren_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<RenData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let name = s.req_with(NS, P, "name", seq::domain_name)?;
    let ex_date = s.opt_with(NS, "exDate", seq::timestamp)?;
    s.end()?;
    Ok(RenData { name, ex_date })
}

pub(crate) fn read_trn_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<TrnData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let name = s.req_with(NS, P, "name", seq::domain_name)?;
    let tr_status = s.req_with(NS, P, "trStatus", common::tr_status)?;
    let re_id: ClientId = s.req_with(NS, P, "reID", seq::client_id)?;
    let re_date = s.req_with(NS, P, "reDate", seq::timestamp)?;
    let ac_id = s.req_with(NS, P, "acID", seq::client_id)?;
    let ac_date = s.req_with(NS, P, "acDate", seq::timestamp)?;
    let ex_date = s.opt_with(NS, "exDate", seq::timestamp)?;
    s.end()?;
    Ok(TrnData {
        name,
        tr_status,
        re_id,
        re_date,
        ac_id,
        ac_date,
        ex_date,
    })
}
