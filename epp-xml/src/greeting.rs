//! The server greeting (RFC 5730 section 2.4) with its data collection policy: its
//! serialiser (the server's side) and its decoder (a client's side).

use crate::Timestamp;
use crate::command::{lang, uri, version};
use crate::error::{DecodeError, ErrorKind};
use crate::generated::epp as g;
use crate::ns::EPP;
use crate::reader::{Element, XmlReader};
use crate::response::open_epp;
use crate::seq::{self, Seq};
use crate::writer::XmlWriter;

pub use g::{
    DcpAccessType as DcpAccess, DcpAccessTypeContent as DcpAccessKind, DcpExpiryType as DcpExpiry,
    DcpExpiryTypeContent as DcpExpiryKind, DcpOursType as DcpOurs, DcpPurposeType as DcpPurpose,
    DcpRecipientType as DcpRecipient, DcpRetentionType as DcpRetention,
    DcpRetentionTypeContent as DcpRetentionKind, DcpStatementType as DcpStatement, DcpType as Dcp,
};

/// The server greeting (RFC 5730 section 2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// `<svID>`.
    pub sv_id: String,
    /// `<svDate>`.
    pub sv_date: Timestamp,
    /// `<version>` values (`1.0`).
    pub versions: Vec<String>,
    /// `<lang>` values.
    pub langs: Vec<String>,
    /// `<objURI>` values.
    pub obj_uris: Vec<String>,
    /// `<svcExtension><extURI>` values.
    pub ext_uris: Vec<String>,
    /// The data collection policy.
    pub dcp: Dcp,
}

/// Serialises `greeting` as a complete document into `out`.
pub fn encode_greeting(greeting: &Greeting, out: &mut Vec<u8>) {
    let mut w = XmlWriter::new(out);
    w.declaration();
    open_epp(&mut w);
    w.start("greeting", &[]);
    w.leaf("svID", &[], &greeting.sv_id);
    w.leaf_display("svDate", &[], greeting.sv_date);
    w.start("svcMenu", &[]);
    for v in &greeting.versions {
        w.leaf("version", &[], v);
    }
    for l in &greeting.langs {
        w.leaf("lang", &[], l);
    }
    for u in &greeting.obj_uris {
        w.leaf("objURI", &[], u);
    }
    if !greeting.ext_uris.is_empty() {
        w.start("svcExtension", &[]);
        for u in &greeting.ext_uris {
            w.leaf("extURI", &[], u);
        }
        w.end("svcExtension");
    }
    w.end("svcMenu");
    write_dcp(&mut w, &greeting.dcp);
    w.end("greeting");
    w.end("epp");
}

fn write_dcp(w: &mut XmlWriter<'_>, d: &Dcp) {
    w.start("dcp", &[]);
    w.start("access", &[]);
    w.empty(
        match d.access.content {
            DcpAccessKind::All(_) => "all",
            DcpAccessKind::None(_) => "none",
            DcpAccessKind::Null(_) => "null",
            DcpAccessKind::Other(_) => "other",
            DcpAccessKind::Personal(_) => "personal",
            DcpAccessKind::PersonalAndOther(_) => "personalAndOther",
        },
        &[],
    );
    w.end("access");
    for s in &d.statement {
        w.start("statement", &[]);
        w.start("purpose", &[]);
        let p = &s.purpose;
        for (name, on) in [
            ("admin", p.admin),
            ("contact", p.contact),
            ("other", p.other),
            ("prov", p.prov),
        ] {
            if on.is_some() {
                w.empty(name, &[]);
            }
        }
        w.end("purpose");
        w.start("recipient", &[]);
        let r = &s.recipient;
        if r.other.is_some() {
            w.empty("other", &[]);
        }
        for o in &r.ours {
            match &o.rec_desc {
                Some(d) => {
                    w.start("ours", &[]);
                    w.leaf("recDesc", &[], d);
                    w.end("ours");
                }
                None => w.empty("ours", &[]),
            }
        }
        for (name, on) in [
            ("public", r.public),
            ("same", r.same),
            ("unrelated", r.unrelated),
        ] {
            if on.is_some() {
                w.empty(name, &[]);
            }
        }
        w.end("recipient");
        w.start("retention", &[]);
        w.empty(
            match s.retention.content {
                DcpRetentionKind::Business(_) => "business",
                DcpRetentionKind::Indefinite(_) => "indefinite",
                DcpRetentionKind::Legal(_) => "legal",
                DcpRetentionKind::None(_) => "none",
                DcpRetentionKind::Stated(_) => "stated",
            },
            &[],
        );
        w.end("retention");
        w.end("statement");
    }
    if let Some(e) = &d.expiry {
        w.start("expiry", &[]);
        match &e.content {
            DcpExpiryKind::Absolute(t) => w.leaf_display("absolute", &[], t),
            DcpExpiryKind::Relative(d) => w.leaf("relative", &[], d),
        }
        w.end("expiry");
    }
    w.end("dcp");
}

// ------------------------------------------------------------------ decoding

/// Reads `<greeting>` (just started).
pub(crate) fn read_greeting<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<Greeting, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let sv_id = s.req_with(EPP, "", "svID", |r, e| {
        e.allow_attrs(&[])?;
        let t = r.text(&e)?;
        seq::normalized(&e, &t, "epp:sIDType", 3, 64)
    })?;
    let sv_date = s.req_with(EPP, "", "svDate", seq::timestamp)?;
    let m = s.req(EPP, "", "svcMenu")?;
    m.allow_attrs(&[])?;
    let mut menu = Seq::new(s.reader(), m);
    let versions = menu.many(EPP, "", "version", 1, usize::MAX, version)?;
    let langs = menu.many(EPP, "", "lang", 1, usize::MAX, lang)?;
    let obj_uris = menu.many(EPP, "", "objURI", 1, usize::MAX, uri)?;
    let ext_uris = menu
        .opt_with(EPP, "svcExtension", |r, e| {
            e.allow_attrs(&[])?;
            let mut x = Seq::new(r, e);
            let list = x.many(EPP, "", "extURI", 1, usize::MAX, uri)?;
            x.end()?;
            Ok(list)
        })?
        .unwrap_or_default();
    menu.end()?;
    let dcp = s.req_with(EPP, "", "dcp", read_dcp)?;
    s.end()?;
    Ok(Greeting {
        sv_id,
        sv_date,
        versions,
        langs,
        obj_uris,
        ext_uris,
        dcp,
    })
}

fn read_dcp<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Dcp, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let access = s.req_with(EPP, "", "access", |r, e| {
        let content = choice(
            r,
            e,
            &[
                ("all", DcpAccessKind::All),
                ("none", DcpAccessKind::None),
                ("null", DcpAccessKind::Null),
                ("other", DcpAccessKind::Other),
                ("personal", DcpAccessKind::Personal),
                ("personalAndOther", DcpAccessKind::PersonalAndOther),
            ],
        )?;
        Ok(DcpAccess { content })
    })?;
    let statement = s.many(EPP, "", "statement", 1, usize::MAX, read_statement)?;
    let expiry = s.opt_with(EPP, "expiry", |r, e| {
        e.allow_attrs(&[])?;
        let mut x = Seq::new(r, e);
        let c = x.any("<absolute> or <relative>")?;
        let content = match (c.ns() == EPP, c.name()) {
            (true, "absolute") => DcpExpiryKind::Absolute(seq::timestamp(x.reader(), c)?),
            (true, "relative") => {
                c.allow_attrs(&[])?;
                let t = x.reader().text(&c)?;
                DcpExpiryKind::Relative(seq::duration(&c, &t)?)
            }
            _ => return Err(unexpected(&c, "<expiry>")),
        };
        x.end()?;
        Ok(DcpExpiry { content })
    })?;
    s.end()?;
    Ok(Dcp {
        access,
        statement,
        expiry,
    })
}

fn read_statement<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<DcpStatement, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let purpose = s.req_with(EPP, "", "purpose", |r, e| {
        e.allow_attrs(&[])?;
        let mut p = Seq::new(r, e);
        let out = DcpPurpose {
            admin: flag(&mut p, "admin")?,
            contact: flag(&mut p, "contact")?,
            other: flag(&mut p, "other")?,
            prov: flag(&mut p, "prov")?,
        };
        p.end()?;
        Ok(out)
    })?;
    let recipient = s.req_with(EPP, "", "recipient", |r, e| {
        e.allow_attrs(&[])?;
        let mut p = Seq::new(r, e);
        let other = flag(&mut p, "other")?;
        let ours = p.many(EPP, "", "ours", 0, usize::MAX, |r, e| {
            e.allow_attrs(&[])?;
            let mut o = Seq::new(r, e);
            let rec_desc = o.opt_with(EPP, "recDesc", |r, e| {
                seq::text_token(r, &e, "epp:dcpRecDescType", 1, 255)
            })?;
            o.end()?;
            Ok(DcpOurs { rec_desc })
        })?;
        let out = DcpRecipient {
            other,
            ours,
            public: flag(&mut p, "public")?,
            same: flag(&mut p, "same")?,
            unrelated: flag(&mut p, "unrelated")?,
        };
        p.end()?;
        Ok(out)
    })?;
    let retention = s.req_with(EPP, "", "retention", |r, e| {
        let content = choice(
            r,
            e,
            &[
                ("business", DcpRetentionKind::Business),
                ("indefinite", DcpRetentionKind::Indefinite),
                ("legal", DcpRetentionKind::Legal),
                ("none", DcpRetentionKind::None),
                ("stated", DcpRetentionKind::Stated),
            ],
        )?;
        Ok(DcpRetention { content })
    })?;
    s.end()?;
    Ok(DcpStatement {
        purpose,
        recipient,
        retention,
    })
}

/// An optional flag element (`xs:anyType`, its content skipped).
fn flag(s: &mut Seq<'_, '_>, name: &str) -> Result<Option<crate::Empty>, DecodeError> {
    s.opt_with(EPP, name, |r, e| seq::empty(r, &e))
}

/// A flag element's name and the variant it stands for.
type Choice<T> = (&'static str, fn(crate::Empty) -> T);

/// Exactly one of the flag elements `choices` inside `el`.
fn choice<'a, T>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
    choices: &[Choice<T>],
) -> Result<T, DecodeError> {
    el.allow_attrs(&[])?;
    let parent = el.display();
    let mut s = Seq::new(r, el);
    let c = s.any("one element")?;
    let make = choices
        .iter()
        .find(|(n, _)| c.ns() == EPP && c.name() == *n)
        .map(|(_, f)| *f)
        .ok_or_else(|| unexpected(&c, &parent))?;
    let v = make(seq::empty(s.reader(), &c)?);
    s.end()?;
    Ok(v)
}

fn unexpected(child: &Element<'_>, parent: &str) -> DecodeError {
    DecodeError::new(
        ErrorKind::Structure,
        format!("unexpected element {} in {parent}", child.display()),
    )
}
