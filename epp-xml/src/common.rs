//! Pieces shared by the object mappings: eppcom types, status and period helpers, the
//! `resData` child opening in Norid's wire style and the command object opening.

use crate::ValueError;
use crate::error::DecodeError;
use crate::generated::eppcom::{ExtAuthInfoType, PwAuthInfoType, ReasonType, TrStatusType};
use crate::ns::EPP;
use crate::reader::{Element, XmlReader};
use crate::response::PaTrId;
use crate::seq::{self, Seq};
use crate::writer::XmlWriter;

/// `eppcom:pwAuthInfoType`: a normalizedString with an optional `roid` attribute.
pub(crate) fn pw_auth_info<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<PwAuthInfoType, DecodeError> {
    el.allow_attrs(&["roid"])?;
    let roid = match el.attr("roid") {
        Some(v) => Some(roid(&el, v)?),
        None => None,
    };
    let t = r.text(&el)?;
    let content = seq::normalized(&el, &t, "eppcom:pwAuthInfoType", 0, usize::MAX)?;
    Ok(PwAuthInfoType { roid, content })
}

/// `eppcom:extAuthInfoType`: exactly one element of another namespace, kept as it is.
pub(crate) fn ext_auth_info<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
    own_ns: &str,
) -> Result<ExtAuthInfoType, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let child = s.any("one element of another namespace")?;
    if child.ns() == own_ns {
        return Err(DecodeError::new(
            crate::ErrorKind::Structure,
            format!(
                "{} must hold an element of another namespace",
                s.parent().display()
            ),
        ));
    }
    let any = s.reader().capture(&child)?;
    s.end()?;
    Ok(ExtAuthInfoType { any })
}

/// `eppcom:roidType`: `(\w|_){1,80}-\w{1,8}`.
pub(crate) fn roid(el: &Element<'_>, raw: &str) -> Result<String, DecodeError> {
    let v = crate::collapse_whitespace(raw);
    crate::Roid::new(v.as_ref()).map_err(|_| {
        DecodeError::new(
            crate::ErrorKind::ValueSyntax,
            format!(
                "{}: '{v}' does not match eppcom:roidType (\\w|_){{1,80}}-\\w{{1,8}}",
                el.display()
            ),
        )
    })?;
    Ok(v.into_owned())
}

/// Reads the text of `el` as `eppcom:clIDType` (token, 3-16).
pub(crate) fn cl_id<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    seq::text_token(r, &el, "eppcom:clIDType", 3, 16)
}

/// Reads the text of `el` as `eppcom:minTokenType` (token, 1 or more).
pub(crate) fn min_token<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    seq::text_token(r, &el, "eppcom:minTokenType", 1, usize::MAX)
}

/// Reads the optional `lang` attribute (`xs:language`, default `en`).
pub(crate) fn lang_default_en(el: &Element<'_>) -> Result<String, DecodeError> {
    match el.attr("lang") {
        Some(v) => seq::language(el, v),
        None => Ok("en".to_owned()),
    }
}

const TR_STATUS: &[(&str, TrStatusType)] = &[
    ("clientApproved", TrStatusType::ClientApproved),
    ("clientCancelled", TrStatusType::ClientCancelled),
    ("clientRejected", TrStatusType::ClientRejected),
    ("pending", TrStatusType::Pending),
    ("serverApproved", TrStatusType::ServerApproved),
    ("serverCancelled", TrStatusType::ServerCancelled),
];

/// The wire text of a transfer status.
pub(crate) fn tr_status_str(s: &TrStatusType) -> &'static str {
    TR_STATUS
        .iter()
        .find(|(_, v)| v == s)
        .map_or("pending", |(t, _)| *t)
}

/// Reads `eppcom:trStatusType`.
pub(crate) fn tr_status<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<TrStatusType, DecodeError> {
    el.allow_attrs(&[])?;
    let t = r.text(&el)?;
    seq::enumeration(&el, "transfer status", &t, TR_STATUS)
}

/// Reads an element holding `eppcom:roidType`.
pub(crate) fn roid_text<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    el.allow_attrs(&[])?;
    let t = r.text(&el)?;
    roid(&el, &t)
}

/// Reads `eppcom:reasonType`: a token of 1-32 characters with an optional `lang`.
pub(crate) fn reason<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<ReasonType, DecodeError> {
    el.allow_attrs(&["lang"])?;
    let lang = match el.attr("lang") {
        Some(v) => Some(seq::language(&el, v)?),
        None => None,
    };
    let t = r.text(&el)?;
    let content = seq::token(&el, &t, "eppcom:reasonBaseType", 1, 32)?;
    Ok(ReasonType { lang, content })
}

/// Reads `epp:trIDType` (a `paTRID`): its children are in the EPP namespace.
pub(crate) fn pa_trid<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<PaTrId, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let tr_id =
        |r: &mut XmlReader<'a>, e: Element<'a>| seq::text_token(r, &e, "epp:trIDStringType", 3, 64);
    let cl_trid = s.opt_with(EPP, "clTRID", tr_id)?;
    let sv_trid = s.req_with(EPP, "", "svTRID", tr_id)?;
    s.end()?;
    Ok(PaTrId { cl_trid, sv_trid })
}

/// Reads a name or id element with a required boolean attribute (`avail`, `paResult`) and
/// typed token content.
pub(crate) fn flagged<T>(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
    attr: &str,
    (type_name, min, max): (&str, usize, usize),
    new: impl FnOnce(String) -> Result<T, ValueError>,
) -> Result<(bool, T), DecodeError> {
    el.allow_attrs(&[attr])?;
    let flag = seq::boolean(el, attr, el.required_attr(attr)?)?;
    let t = r.text(el)?;
    let v = seq::token(el, &t, type_name, min, max)?;
    Ok((flag, seq::typed(el, v, new)?))
}

/// Reads a `status` element's `lang` attribute and normalizedString text.
pub(crate) fn status_text(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
    type_name: &str,
) -> Result<(String, String), DecodeError> {
    let lang = lang_default_en(el)?;
    let t = r.text(el)?;
    let content = seq::normalized(el, &t, type_name, 0, usize::MAX)?;
    Ok((lang, content))
}

/// The `(name, lang)` attributes of a status element: `lang` only when not the default.
pub(crate) fn write_status(w: &mut XmlWriter<'_>, name: &str, s: &str, lang: &str, text: &str) {
    if lang == "en" {
        w.leaf(name, &[("s", s)], text);
    } else {
        w.leaf(name, &[("s", s), ("lang", lang)], text);
    }
}

/// Opens the object element of a command, declaring its prefix:
/// `<domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">`.
pub(crate) fn open_command(w: &mut XmlWriter<'_>, prefix: &str, element: &str, ns: &str) {
    let name = format!("{prefix}:{element}");
    let decl = format!("xmlns:{prefix}");
    w.start(&name, &[(&decl, ns)]);
}

/// Opens a `resData` (or response `extension`) child in Norid's style: the default
/// namespace and the prefix both bound to `ns`, plus `xsi:schemaLocation`.
pub(crate) fn open_res_data(
    w: &mut XmlWriter<'_>,
    prefix: &'static str,
    element: &'static str,
    ns: &'static str,
    xsd: &'static str,
) {
    w.start_namespaced_constant(prefix, element, ns, xsd);
}

/// Writes `<prefix:reason [lang]>`.
pub(crate) fn write_reason(w: &mut XmlWriter<'_>, name: &str, reason: &ReasonType) {
    match &reason.lang {
        Some(l) => w.leaf(name, &[("lang", l)], &reason.content),
        None => w.leaf(name, &[], &reason.content),
    }
}

/// Writes `<prefix:pw [roid]>` inside an authInfo.
pub(crate) fn write_pw(w: &mut XmlWriter<'_>, name: &str, pw: &PwAuthInfoType) {
    match &pw.roid {
        Some(r) => w.leaf(name, &[("roid", r)], &pw.content),
        None => w.leaf(name, &[], &pw.content),
    }
}

/// Writes `<prefix:ext>` with its captured element.
pub(crate) fn write_ext_auth(w: &mut XmlWriter<'_>, name: &str, ext: &ExtAuthInfoType) {
    w.start(name, &[]);
    let depth = w.depth();
    let buf = w.buffer();
    buf.resize(buf.len() + depth, b' ');
    w.raw(ext.any.xml.as_bytes());
    w.raw(b"\n");
    w.end(name);
}

/// `"1"`/`"0"` for an `xs:boolean` attribute, as EPP servers write it.
pub(crate) fn bool_str(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}
