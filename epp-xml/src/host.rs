//! The host mapping (RFC 5732) over the generated types: command decoding and response
//! encoding (the server's side), command encoding and response decoding (a client's side).

use crate::HostName;
use crate::common;
use crate::error::{DecodeError, ErrorKind};
use crate::generated::host as g;
use crate::ns::HOST as NS;
use crate::reader::{Element, XmlReader};
use crate::seq::{self, Seq};
use crate::writer::XmlWriter;

pub use g::{
    AddRemType as AddRem, AddrType as Addr, CheckNameType as CheckName, CheckType as CheckResult,
    ChgType as Chg, ChkDataType as ChkData, CreDataType as CreData, CreateType as Create,
    InfDataType as InfData, IpType as IpVersion, MNameType as Check, PaNameType as PaName,
    PanDataType as PanData, SNameType as Name, StatusType as Status,
    StatusValueType as StatusValue, UpdateType as Update,
};

const P: &str = "host";

/// A decoded host command element.
pub(crate) enum HostCommand {
    Check(Check),
    Create(Create),
    Delete(Name),
    Info(Name),
    Update(Update),
}

/// Decodes the `<host:*>` child of a command element.
pub(crate) fn decode_command<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<HostCommand, DecodeError> {
    el.allow_attrs(&[])?;
    let kind = el.name();
    let mut s = Seq::new(r, el);
    let out = match kind {
        "check" => HostCommand::Check(Check {
            name: s.many(NS, P, "name", 1, usize::MAX, seq::host_name)?,
        }),
        "create" => {
            let e = s.req(NS, P, "name")?;
            let name = seq::host_name(s.reader(), e)?;
            let addr = s.many(NS, P, "addr", 0, usize::MAX, addr)?;
            HostCommand::Create(Create { name, addr })
        }
        "delete" | "info" => {
            let e = s.req(NS, P, "name")?;
            let n = Name {
                name: seq::host_name(s.reader(), e)?,
            };
            if kind == "info" {
                HostCommand::Info(n)
            } else {
                HostCommand::Delete(n)
            }
        }
        "update" => {
            let e = s.req(NS, P, "name")?;
            let name = seq::host_name(s.reader(), e)?;
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
                    let n = c.req(NS, P, "name")?;
                    let name = seq::host_name(c.reader(), n)?;
                    c.end()?;
                    Some(Chg { name })
                }
                None => None,
            };
            HostCommand::Update(Update {
                name,
                add,
                rem,
                chg,
            })
        }
        other => {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!("<host:{other}> is not a host command element"),
            ));
        }
    };
    s.end()?;
    Ok(out)
}

fn add_rem<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<AddRem, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let addr = s.many(NS, P, "addr", 0, usize::MAX, addr)?;
    let status = s.many(NS, P, "status", 0, 7, status)?;
    s.end()?;
    Ok(AddRem { addr, status })
}

/// `host:addrType`: an address token (3-45) with `ip="v4|v6"` (default `v4`).
pub(crate) fn addr<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Addr, DecodeError> {
    el.allow_attrs(&["ip"])?;
    let ip = match el.attr("ip") {
        Some(v) => seq::enumeration(
            &el,
            "ip",
            v,
            &[("v4", IpVersion::V4), ("v6", IpVersion::V6)],
        )?,
        None => IpVersion::V4,
    };
    let t = r.text(&el)?;
    let content = seq::token(&el, &t, "host:addrStringType", 3, 45)?;
    Ok(Addr { ip, content })
}

fn status<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Status, DecodeError> {
    el.allow_attrs(&["s", "lang"])?;
    let s = seq::enumeration(&el, "status", el.required_attr("s")?, STATUS)?;
    let (lang, content) = common::status_text(r, &el, "host:statusType")?;
    Ok(Status { s, lang, content })
}

fn write_status(w: &mut XmlWriter<'_>, s: &Status) {
    common::write_status(w, "host:status", status_str(&s.s), &s.lang, &s.content);
}

const STATUS: &[(&str, StatusValue)] = &[
    (
        "clientDeleteProhibited",
        StatusValue::ClientDeleteProhibited,
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
        "serverUpdateProhibited",
        StatusValue::ServerUpdateProhibited,
    ),
];

/// The wire text of a host status value.
pub fn status_str(s: &StatusValue) -> &'static str {
    STATUS
        .iter()
        .find(|(_, v)| v == s)
        .map(|(t, _)| *t)
        .unwrap_or("ok")
}

// ------------------------------------------------------------------ encoding

fn open(w: &mut XmlWriter<'_>, element: &'static str) {
    common::open_res_data(w, P, element, NS, "host-1.0.xsd");
}

/// Writes an address element `name` (`host:addr` or `domain:hostAddr`).
pub(crate) fn write_addr(w: &mut XmlWriter<'_>, name: &str, a: &Addr) {
    let ip = match a.ip {
        IpVersion::V4 => "v4",
        IpVersion::V6 => "v6",
    };
    w.leaf(name, &[("ip", ip)], &a.content);
}

pub(crate) fn write_chk_data(w: &mut XmlWriter<'_>, d: &ChkData) {
    open(w, "chkData");
    for cd in &d.cd {
        w.start("host:cd", &[]);
        w.leaf(
            "host:name",
            &[("avail", common::bool_str(cd.name.avail))],
            &cd.name.content,
        );
        if let Some(r) = &cd.reason {
            common::write_reason(w, "host:reason", r);
        }
        w.end("host:cd");
    }
    w.end("host:chkData");
}

pub(crate) fn write_cre_data(w: &mut XmlWriter<'_>, d: &CreData) {
    open(w, "creData");
    w.leaf("host:name", &[], &d.name);
    w.leaf_display("host:crDate", &[], d.cr_date);
    w.end("host:creData");
}

pub(crate) fn write_inf_data(w: &mut XmlWriter<'_>, d: &InfData) {
    open(w, "infData");
    w.leaf("host:name", &[], &d.name);
    w.leaf("host:roid", &[], &d.roid);
    for s in &d.status {
        write_status(w, s);
    }
    for a in &d.addr {
        write_addr(w, "host:addr", a);
    }
    w.leaf("host:clID", &[], &d.cl_id);
    w.leaf("host:crID", &[], &d.cr_id);
    w.leaf_display("host:crDate", &[], d.cr_date);
    if let Some(v) = &d.up_id {
        w.leaf("host:upID", &[], v);
    }
    if let Some(t) = d.up_date {
        w.leaf_display("host:upDate", &[], t);
    }
    if let Some(t) = d.tr_date {
        w.leaf_display("host:trDate", &[], t);
    }
    w.end("host:infData");
}

pub(crate) fn write_pan_data(w: &mut XmlWriter<'_>, d: &PanData) {
    open(w, "panData");
    w.leaf(
        "host:name",
        &[("paResult", common::bool_str(d.name.pa_result))],
        &d.name.content,
    );
    crate::response::write_pa_trid(w, "host:paTRID", &d.pa_trid);
    w.leaf_display("host:paDate", &[], d.pa_date);
    w.end("host:panData");
}

// ------------------------------------------------------------------ command encoding

fn open_command(w: &mut XmlWriter<'_>, element: &str) {
    common::open_command(w, P, element, NS);
}

pub(crate) fn write_check(w: &mut XmlWriter<'_>, c: &Check) {
    open_command(w, "check");
    for n in &c.name {
        w.leaf("host:name", &[], n);
    }
    w.end("host:check");
}

pub(crate) fn write_create(w: &mut XmlWriter<'_>, c: &Create) {
    open_command(w, "create");
    w.leaf("host:name", &[], &c.name);
    for a in &c.addr {
        write_addr(w, "host:addr", a);
    }
    w.end("host:create");
}

/// Writes `<host:delete>` or `<host:info>` (`element`): a name.
pub(crate) fn write_name(w: &mut XmlWriter<'_>, element: &str, n: &Name) {
    open_command(w, element);
    w.leaf("host:name", &[], &n.name);
    w.end(&format!("host:{element}"));
}

pub(crate) fn write_update(w: &mut XmlWriter<'_>, u: &Update) {
    open_command(w, "update");
    w.leaf("host:name", &[], &u.name);
    for (name, a) in [("host:add", &u.add), ("host:rem", &u.rem)] {
        if let Some(a) = a {
            w.start(name, &[]);
            for addr in &a.addr {
                write_addr(w, "host:addr", addr);
            }
            for s in &a.status {
                write_status(w, s);
            }
            w.end(name);
        }
    }
    if let Some(c) = &u.chg {
        w.start("host:chg", &[]);
        w.leaf("host:name", &[], &c.name);
        w.end("host:chg");
    }
    w.end("host:update");
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
        let (avail, content) = common::flagged(c.reader(), &n, "avail", LABEL, HostName::new)?;
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
    let name = s.req_with(NS, P, "name", seq::host_name)?;
    let cr_date = s.req_with(NS, P, "crDate", seq::timestamp)?;
    s.end()?;
    Ok(CreData { name, cr_date })
}

pub(crate) fn read_inf_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<InfData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let name = s.req_with(NS, P, "name", seq::host_name)?;
    let roid = s.req_with(NS, P, "roid", common::roid_text)?;
    let status = s.many(NS, P, "status", 1, 7, status)?;
    let addr = s.many(NS, P, "addr", 0, usize::MAX, addr)?;
    let cl_id = s.req_with(NS, P, "clID", seq::client_id)?;
    let cr_id = s.req_with(NS, P, "crID", seq::client_id)?;
    let cr_date = s.req_with(NS, P, "crDate", seq::timestamp)?;
    let up_id = s.opt_with(NS, "upID", seq::client_id)?;
    let up_date = s.opt_with(NS, "upDate", seq::timestamp)?;
    let tr_date = s.opt_with(NS, "trDate", seq::timestamp)?;
    s.end()?;
    Ok(InfData {
        name,
        roid,
        status,
        addr,
        cl_id,
        cr_id,
        cr_date,
        up_id,
        up_date,
        tr_date,
    })
}

pub(crate) fn read_pan_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<PanData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let n = s.req(NS, P, "name")?;
    let (pa_result, content) = common::flagged(s.reader(), &n, "paResult", LABEL, HostName::new)?;
    let pa_trid = s.req_with(NS, P, "paTRID", common::pa_trid)?;
    let pa_date = s.req_with(NS, P, "paDate", seq::timestamp)?;
    s.end()?;
    Ok(PanData {
        name: PaName { pa_result, content },
        pa_trid,
        pa_date,
    })
}
