//! Responses and their serialiser.
//!
//! Output follows Norid's wire style (seeds 030-033): the XML declaration with
//! `standalone="no"`, `<epp>` declaring `xsi` first, one element a line indented by one
//! space a level, `resData` children declaring both the default namespace and their prefix
//! plus `xsi:schemaLocation`, and UTC timestamps with two fractional digits.

use crate::contact;
use crate::domain;
use crate::ext::Extension;
use crate::generated::epp as g;
use crate::host;
use crate::ns::{EPP, XSI};
use crate::secdns;
use crate::writer::XmlWriter;
use crate::{ClTrid, ResultCode, SvTrid, Timestamp};

pub use g::TrIdType as PaTrId;

const EPP_LOCATION: &str = "urn:ietf:params:xml:ns:epp-1.0 epp-1.0.xsd";

/// A response (RFC 5730 section 2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<X: Extension> {
    /// One or more results; the first gives the outcome.
    pub results: Vec<EppResult>,
    /// The message queue state, when the client has messages waiting.
    pub msg_q: Option<MsgQ>,
    /// The object data of the response.
    pub res_data: Option<ResData<X>>,
    /// Response extension elements, in order.
    pub extensions: Vec<ResponseExtension<X>>,
    /// Transaction ids.
    pub tr_id: TrId,
}

impl<X: Extension> Response<X> {
    /// A response with one result of `code` and its standard message, and nothing else.
    pub fn new(code: ResultCode, cl_trid: Option<ClTrid>, sv_trid: SvTrid) -> Self {
        Self {
            results: vec![EppResult::new(code)],
            msg_q: None,
            res_data: None,
            extensions: Vec::new(),
            tr_id: TrId { cl_trid, sv_trid },
        }
    }

    /// The response to a document that failed to decode: the error's code and message,
    /// an `<extValue>` whose reason is the error's reason, and its clTRID when known.
    pub fn from_error(err: &crate::DecodeError, sv_trid: SvTrid) -> Self {
        let mut r = EppResult::new(err.code());
        r.ext_values.push(ExtValue {
            value: ErrValue::undefined(),
            reason: err.reason().to_owned(),
        });
        Self {
            results: vec![r],
            msg_q: None,
            res_data: None,
            extensions: Vec::new(),
            tr_id: TrId {
                cl_trid: err.cl_trid().cloned(),
                sv_trid,
            },
        }
    }
}

/// One `<result>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EppResult {
    /// The result code.
    pub code: ResultCode,
    /// The human-readable message (by default the code's standard text).
    pub msg: String,
    /// The message language when not English.
    pub lang: Option<String>,
    /// `<extValue>` elements explaining an error.
    pub ext_values: Vec<ExtValue>,
}

impl EppResult {
    /// A result with the standard message of `code`.
    pub fn new(code: ResultCode) -> Self {
        Self {
            code,
            msg: code.message().to_owned(),
            lang: None,
            ext_values: Vec::new(),
        }
    }
}

/// `<extValue>`: the offending value and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtValue {
    /// The value, as one element.
    pub value: ErrValue,
    /// The reason.
    pub reason: String,
}

/// The element inside `<value>`: `<prefix:name xmlns:prefix="namespace">text</prefix:name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrValue {
    /// The element's namespace URI.
    pub namespace: String,
    /// The prefix to write it with (empty: the EPP namespace, unprefixed).
    pub prefix: String,
    /// The element's local name.
    pub name: String,
    /// The element's text.
    pub text: String,
}

impl ErrValue {
    /// `<undef/>` in the EPP namespace, for errors not tied to one element's value.
    pub fn undefined() -> Self {
        Self {
            namespace: EPP.to_owned(),
            prefix: String::new(),
            name: "undef".to_owned(),
            text: String::new(),
        }
    }
}

/// `<msgQ>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgQ {
    /// Messages in the queue.
    pub count: u64,
    /// Id of the first message.
    pub id: String,
    /// When the first message was queued (poll responses only).
    pub q_date: Option<Timestamp>,
    /// The first message's text (poll responses only).
    pub msg: Option<String>,
}

/// `<trID>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrId {
    /// The client's transaction id, echoed.
    pub cl_trid: Option<ClTrid>,
    /// The server's transaction id.
    pub sv_trid: SvTrid,
}

/// The one child of `<resData>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResData<X: Extension> {
    /// `<domain:chkData>`.
    DomainChk(domain::ChkData),
    /// `<domain:creData>`.
    DomainCre(domain::CreData),
    /// `<domain:infData>`.
    DomainInf(domain::InfData),
    /// `<domain:panData>`.
    DomainPan(domain::PanData),
    /// `<domain:renData>`.
    DomainRen(domain::RenData),
    /// `<domain:trnData>`.
    DomainTrn(domain::TrnData),
    /// `<contact:chkData>`.
    ContactChk(contact::ChkData),
    /// `<contact:creData>`.
    ContactCre(contact::CreData),
    /// `<contact:infData>`.
    ContactInf(contact::InfData),
    /// `<contact:panData>`.
    ContactPan(contact::PanData),
    /// `<contact:trnData>`.
    ContactTrn(contact::TrnData),
    /// `<host:chkData>`.
    HostChk(host::ChkData),
    /// `<host:creData>`.
    HostCre(host::CreData),
    /// `<host:infData>`.
    HostInf(host::InfData),
    /// `<host:panData>`.
    HostPan(host::PanData),
    /// A payload of the extension set (e.g. Norid's poll `<message>`).
    Extension(X::ResData),
}

/// One element of a response's `<extension>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseExtension<X: Extension> {
    /// `<secDNS:infData>` beside `<domain:infData>`.
    SecDnsInf(secdns::DsOrKey),
    /// An element of the extension set.
    Other(X::ResponseExt),
}

/// Serialises `response` as a complete document into `out`.
pub fn encode_response<X: Extension>(response: &Response<X>, out: &mut Vec<u8>) {
    let mut w = XmlWriter::new(out);
    w.declaration();
    write_response(&mut w, response);
}

/// Writes `response` as an `<epp>` element (no XML declaration) at the writer's depth;
/// used to embed a response in a Norid poll message.
pub fn write_response<X: Extension>(w: &mut XmlWriter<'_>, response: &Response<X>) {
    open_epp(w);
    w.start("response", &[]);
    for r in &response.results {
        let code = r.code.code().to_string();
        w.start("result", &[("code", &code)]);
        match &r.lang {
            Some(l) => w.leaf("msg", &[("lang", l)], &r.msg),
            None => w.leaf("msg", &[], &r.msg),
        }
        for v in &r.ext_values {
            w.start("extValue", &[]);
            write_value(w, &v.value);
            w.leaf("reason", &[], &v.reason);
            w.end("extValue");
        }
        w.end("result");
    }
    if let Some(q) = &response.msg_q {
        let count = q.count.to_string();
        let attrs = [("count", count.as_str()), ("id", q.id.as_str())];
        if q.q_date.is_none() && q.msg.is_none() {
            w.empty("msgQ", &attrs);
        } else {
            w.start("msgQ", &attrs);
            if let Some(t) = q.q_date {
                w.leaf_display("qDate", &[], t);
            }
            if let Some(m) = &q.msg {
                w.leaf("msg", &[], m);
            }
            w.end("msgQ");
        }
    }
    if let Some(d) = &response.res_data {
        w.start("resData", &[]);
        match d {
            ResData::DomainChk(d) => domain::write_chk_data(w, d),
            ResData::DomainCre(d) => domain::write_cre_data(w, d),
            ResData::DomainInf(d) => domain::write_inf_data(w, d),
            ResData::DomainPan(d) => domain::write_pan_data(w, d),
            ResData::DomainRen(d) => domain::write_ren_data(w, d),
            ResData::DomainTrn(d) => domain::write_trn_data(w, d),
            ResData::ContactChk(d) => contact::write_chk_data(w, d),
            ResData::ContactCre(d) => contact::write_cre_data(w, d),
            ResData::ContactInf(d) => contact::write_inf_data(w, d),
            ResData::ContactPan(d) => contact::write_pan_data(w, d),
            ResData::ContactTrn(d) => contact::write_trn_data(w, d),
            ResData::HostChk(d) => host::write_chk_data(w, d),
            ResData::HostCre(d) => host::write_cre_data(w, d),
            ResData::HostInf(d) => host::write_inf_data(w, d),
            ResData::HostPan(d) => host::write_pan_data(w, d),
            ResData::Extension(d) => X::encode_res_data(d, w),
        }
        w.end("resData");
    }
    if !response.extensions.is_empty() {
        w.start("extension", &[]);
        for e in &response.extensions {
            match e {
                ResponseExtension::SecDnsInf(d) => secdns::write_inf_data(w, d),
                ResponseExtension::Other(x) => X::encode_response_ext(x, w),
            }
        }
        w.end("extension");
    }
    w.start("trID", &[]);
    if let Some(c) = &response.tr_id.cl_trid {
        w.leaf("clTRID", &[], c.as_str());
    }
    w.leaf("svTRID", &[], response.tr_id.sv_trid.as_str());
    w.end("trID");
    w.end("response");
    w.end("epp");
}

pub(crate) fn open_epp(w: &mut XmlWriter<'_>) {
    w.start(
        "epp",
        &[
            ("xmlns:xsi", XSI),
            ("xmlns", EPP),
            ("xsi:schemaLocation", EPP_LOCATION),
        ],
    );
}

fn write_value(w: &mut XmlWriter<'_>, v: &ErrValue) {
    w.start("value", &[]);
    if v.prefix.is_empty() {
        if v.namespace == EPP {
            w.leaf(&v.name, &[], &v.text);
        } else {
            w.leaf(&v.name, &[("xmlns", &v.namespace)], &v.text);
        }
    } else {
        let name = format!("{}:{}", v.prefix, v.name);
        let decl = format!("xmlns:{}", v.prefix);
        w.leaf(&name, &[(&decl, &v.namespace)], &v.text);
    }
    w.end("value");
}

/// Writes a `paTRID` element.
///
/// Its children are in the EPP namespace while the enclosing `resData` child made its own
/// namespace the default, so the element rebinds the default namespace.
pub(crate) fn write_pa_trid(w: &mut XmlWriter<'_>, name: &str, t: &PaTrId) {
    w.start(name, &[("xmlns", EPP)]);
    if let Some(c) = &t.cl_trid {
        w.leaf("clTRID", &[], c);
    }
    w.leaf("svTRID", &[], &t.sv_trid);
    w.end(name);
}
