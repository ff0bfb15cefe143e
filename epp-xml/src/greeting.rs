//! The server greeting (RFC 5730 section 2.4) with its data collection policy, and its
//! serialiser.

use crate::Timestamp;
use crate::generated::epp as g;
use crate::response::open_epp;
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
