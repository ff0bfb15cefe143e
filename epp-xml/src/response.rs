//! Responses: their serialiser (the server's side) and their decoder (a client's side).
//!
//! Output follows Norid's wire style (seeds 030-033): the XML declaration with
//! `standalone="no"`, `<epp>` declaring `xsi` first, one element a line indented by one
//! space a level, `resData` children declaring both the default namespace and their prefix
//! plus `xsi:schemaLocation`, and UTC timestamps with two fractional digits.

use crate::contact;
use crate::domain;
use crate::error::{DecodeError, ErrorKind};
use crate::ext::Extension;
use crate::generated::epp as g;
use crate::greeting::{self, Greeting};
use crate::host;
use crate::ns::{CONTACT, DOMAIN, EPP, HOST, SEC_DNS, XSI};
use crate::reader::{Element, XmlReader};
use crate::secdns;
use crate::seq::{self, Seq};
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
    /// an `<extValue>` whose reason is the error's reason (tabs and line breaks, which a
    /// reason quoting the document may hold, made spaces as `epp:msgType` reads them), and
    /// its clTRID when known.
    pub fn from_error(err: &crate::DecodeError, sv_trid: SvTrid) -> Self {
        let mut r = EppResult::new(err.code());
        r.ext_values.push(ExtValue {
            value: ErrValue::undefined(),
            reason: err.reason().replace(['\t', '\r', '\n'], " "),
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
        w.start("result", &[("code", r.code.digits())]);
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
    w.start_constant(
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

// ------------------------------------------------------------------ decoding

/// A document a server sends: its greeting or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per document; boxing would cost an allocation on every response"
)]
pub enum ServerDoc<X: Extension> {
    /// `<greeting>` (RFC 5730 section 2.4).
    Greeting(Greeting),
    /// `<response>` (RFC 5730 section 2.6).
    Response(Response<X>),
}

/// Decodes one server document (one frame payload): a greeting or a response, with the
/// extension set's response extensions and `resData` payloads.
///
/// As strict as [`decode`](crate::decode) is for commands: element order, cardinality,
/// attributes, lengths, patterns and enumerations are checked, and hostile input is
/// refused the same way. What the typed [`Response`] cannot hold is refused rather than
/// dropped: a bare `<value>` in `<result>` (only `<extValue>` is read), element content
/// inside `<msgQ><msg>` or inside the element of an `<extValue><value>`, text beside that
/// element, more than one `resData` child. The `lang` of an `<extValue><reason>` and of a
/// `<msgQ><msg>` is checked and dropped (the types have no place for it).
///
/// # Errors
///
/// [`DecodeError`] naming the element and the rule broken; its code is the one a server
/// would use for the same fault in a command.
pub fn decode_response<X: Extension>(input: &[u8]) -> Result<ServerDoc<X>, DecodeError> {
    let mut r = XmlReader::new(input, X::NAMESPACES)?;
    let root = r.root()?;
    if !root.is(EPP, "epp") {
        return Err(DecodeError::new(
            ErrorKind::Structure,
            format!(
                "the root element must be <epp> in {EPP}, found {} in '{}'",
                root.display(),
                root.ns()
            ),
        ));
    }
    root.allow_attrs(&[])?;
    let mut s = Seq::new(&mut r, root);
    let child = s.any("<greeting> or <response>")?;
    let doc = match (child.ns() == EPP, child.name()) {
        (true, "greeting") => ServerDoc::Greeting(greeting::read_greeting(s.reader(), child)?),
        (true, "response") => ServerDoc::Response(read_response_body(s.reader(), child)?),
        _ => {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "expected <greeting> or <response> in <epp>, found {}",
                    child.display()
                ),
            ));
        }
    };
    s.end()?;
    r.finish()?;
    Ok(doc)
}

/// Reads `el` (just started), an `<epp>` element holding a `<response>`: a response
/// embedded in another document, such as a Norid service message.
///
/// # Errors
///
/// As [`decode_response`].
pub fn read_response<'a, X: Extension>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<Response<X>, DecodeError> {
    if !el.is(EPP, "epp") {
        return Err(DecodeError::new(
            ErrorKind::Structure,
            format!(
                "expected an embedded <epp> response, found {}",
                el.display()
            ),
        ));
    }
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let response = s.req_with(EPP, "", "response", read_response_body::<X>)?;
    s.end()?;
    Ok(response)
}

fn read_response_body<'a, X: Extension>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<Response<X>, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let results = s.many(EPP, "", "result", 1, usize::MAX, read_result)?;
    let msg_q = s.opt_with(EPP, "msgQ", read_msg_q)?;
    let res_data = s.opt_with(EPP, "resData", read_res_data::<X>)?;
    let extensions = s
        .opt_with(EPP, "extension", read_response_extensions::<X>)?
        .unwrap_or_default();
    let tr_id = s.req_with(EPP, "", "trID", read_tr_id)?;
    s.end()?;
    Ok(Response {
        results,
        msg_q,
        res_data,
        extensions,
        tr_id,
    })
}

fn read_result<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<EppResult, DecodeError> {
    el.allow_attrs(&["code"])?;
    let n = seq::unsigned(
        &el,
        "epp:resultCodeType",
        el.required_attr("code")?,
        0,
        u64::from(u16::MAX),
    )?;
    let code = u16::try_from(n)
        .ok()
        .and_then(ResultCode::from_code)
        .ok_or_else(|| {
            DecodeError::new(
                ErrorKind::ValueRange,
                format!(
                    "{}: code {n} is not one of the result codes of RFC 5730",
                    el.display()
                ),
            )
        })?;
    let mut s = Seq::new(r, el);
    let m = s.req(EPP, "", "msg")?;
    m.allow_attrs(&["lang"])?;
    let lang = match m.attr("lang") {
        Some(v) => Some(seq::language(&m, v)?),
        None => None,
    };
    let t = s.reader().text(&m)?;
    let msg = seq::normalized(&m, &t, "epp:msgType", 0, usize::MAX)?;
    let ext_values = s.many(EPP, "", "extValue", 0, usize::MAX, read_ext_value)?;
    if let Some(v) = s.peek()?
        && v.is(EPP, "value")
    {
        return Err(DecodeError::new(
            ErrorKind::Structure,
            "a bare <value> in <result> is not supported: this decoder reads <extValue>",
        ));
    }
    s.end()?;
    Ok(EppResult {
        code,
        msg,
        lang,
        ext_values,
    })
}

fn read_ext_value<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<ExtValue, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let value = s.req_with(EPP, "", "value", |r, v| {
        // errValueType: any attributes (skipped), exactly one element of any namespace.
        let mut c = Seq::new(r, v);
        let inner = c.any("one element")?;
        let text = c.reader().text(&inner)?.into_owned();
        let value = ErrValue {
            namespace: inner.ns().to_owned(),
            prefix: inner.written_prefix().to_owned(),
            name: inner.name().to_owned(),
            text,
        };
        c.end()?;
        Ok(value)
    })?;
    let reason = s.req_with(EPP, "", "reason", |r, e| {
        e.allow_attrs(&["lang"])?;
        if let Some(l) = e.attr("lang") {
            seq::language(&e, l)?;
        }
        let t = r.text(&e)?;
        seq::normalized(&e, &t, "epp:msgType", 0, usize::MAX)
    })?;
    s.end()?;
    Ok(ExtValue { value, reason })
}

fn read_msg_q<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<MsgQ, DecodeError> {
    el.allow_attrs(&["count", "id"])?;
    let count = seq::unsigned(
        &el,
        "xs:unsignedLong",
        el.required_attr("count")?,
        0,
        u64::MAX,
    )?;
    let id = seq::token(
        &el,
        el.required_attr("id")?,
        "eppcom:minTokenType",
        1,
        usize::MAX,
    )?;
    let mut s = Seq::new(r, el);
    let q_date = s.opt_with(EPP, "qDate", seq::timestamp)?;
    let msg = s.opt_with(EPP, "msg", |r, e| {
        e.allow_attrs(&["lang"])?;
        if let Some(l) = e.attr("lang") {
            seq::language(&e, l)?;
        }
        Ok(r.text(&e)?.into_owned())
    })?;
    s.end()?;
    Ok(MsgQ {
        count,
        id,
        q_date,
        msg,
    })
}

fn read_res_data<'a, X: Extension>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<ResData<X>, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let c = s.any("one element of an object or extension namespace")?;
    let r = s.reader();
    let data = match (c.ns(), c.name()) {
        (DOMAIN, "chkData") => ResData::DomainChk(domain::read_chk_data(r, c)?),
        (DOMAIN, "creData") => ResData::DomainCre(domain::read_cre_data(r, c)?),
        (DOMAIN, "infData") => ResData::DomainInf(domain::read_inf_data(r, c)?),
        (DOMAIN, "panData") => ResData::DomainPan(domain::read_pan_data(r, c)?),
        (DOMAIN, "renData") => ResData::DomainRen(domain::read_ren_data(r, c)?),
        (DOMAIN, "trnData") => ResData::DomainTrn(domain::read_trn_data(r, c)?),
        (CONTACT, "chkData") => ResData::ContactChk(contact::read_chk_data(r, c)?),
        (CONTACT, "creData") => ResData::ContactCre(contact::read_cre_data(r, c)?),
        (CONTACT, "infData") => ResData::ContactInf(contact::read_inf_data(r, c)?),
        (CONTACT, "panData") => ResData::ContactPan(contact::read_pan_data(r, c)?),
        (CONTACT, "trnData") => ResData::ContactTrn(contact::read_trn_data(r, c)?),
        (HOST, "chkData") => ResData::HostChk(host::read_chk_data(r, c)?),
        (HOST, "creData") => ResData::HostCre(host::read_cre_data(r, c)?),
        (HOST, "infData") => ResData::HostInf(host::read_inf_data(r, c)?),
        (HOST, "panData") => ResData::HostPan(host::read_pan_data(r, c)?),
        (DOMAIN | CONTACT | HOST | EPP | "", _) => {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!("{} is not a response data element", c.display()),
            ));
        }
        (ns, _) => {
            let ns = ns.to_owned();
            let display = c.display();
            match X::decode_res_data(r, c)? {
                Some(d) => ResData::Extension(d),
                None => {
                    return Err(DecodeError::new(
                        ErrorKind::UnimplementedObject,
                        format!("response data {display} in namespace '{ns}' is not implemented"),
                    ));
                }
            }
        }
    };
    s.end()?;
    Ok(data)
}

fn read_response_extensions<'a, X: Extension>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<Vec<ResponseExtension<X>>, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let mut out = Vec::new();
    while s.peek()?.is_some() {
        let e = s.any("")?;
        match e.ns() {
            SEC_DNS if e.name() == "infData" => {
                out.push(ResponseExtension::SecDnsInf(secdns::read_inf_data(
                    s.reader(),
                    e,
                )?));
            }
            SEC_DNS | EPP | "" => {
                return Err(DecodeError::new(
                    ErrorKind::Structure,
                    format!("{} is not a response extension element", e.display()),
                ));
            }
            ns => {
                let ns = ns.to_owned();
                let display = e.display();
                match X::decode_response_ext(s.reader(), e)? {
                    Some(x) => out.push(ResponseExtension::Other(x)),
                    None => {
                        return Err(DecodeError::new(
                            ErrorKind::UnimplementedExtension,
                            format!("extension {display} in namespace '{ns}' is not implemented"),
                        ));
                    }
                }
            }
        }
    }
    if out.is_empty() {
        return Err(DecodeError::new(
            ErrorKind::MissingParameter,
            "<extension> must contain at least one element",
        ));
    }
    s.end()?;
    Ok(out)
}

fn read_tr_id<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<TrId, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let cl_trid = s.opt_with(EPP, "clTRID", crate::command::cl_trid)?;
    let sv_trid = s.req_with(EPP, "", "svTRID", |r, e| {
        let v = seq::text_token(r, &e, "epp:trIDStringType", 3, 64)?;
        seq::typed(&e, v, SvTrid::new)
    })?;
    s.end()?;
    Ok(TrId { cl_trid, sv_trid })
}
