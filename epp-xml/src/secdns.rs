//! DNSSEC delegation data (RFC 5910, secDNS-1.1): the create and update command
//! extensions and the info response extension, on both sides of the wire.

use crate::common;
use crate::error::{DecodeError, ErrorKind};
use crate::generated::sec_dns as g;
use crate::ns::SEC_DNS as NS;
use crate::reader::{Element, XmlReader};
use crate::seq::{self, Seq};
use crate::writer::XmlWriter;

pub use g::{
    ChgType as Chg, DsDataType as DsData, DsOrKeyType as DsOrKey,
    DsOrKeyTypeContent as DsOrKeyEntry, KeyDataType as KeyData, RemType as Rem,
    RemTypeContent as RemEntry, UpdateType as Update,
};

const P: &str = "secDNS";

/// A decoded secDNS command extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecDnsExtension {
    /// `<secDNS:create>` beside `<domain:create>`.
    Create(DsOrKey),
    /// `<secDNS:update>` beside `<domain:update>`.
    Update(Update),
}

/// Decodes a `<secDNS:*>` command extension element.
pub(crate) fn decode<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<SecDnsExtension, DecodeError> {
    match el.name() {
        "create" => {
            el.allow_attrs(&[])?;
            Ok(SecDnsExtension::Create(ds_or_key(r, el)?))
        }
        "update" => {
            el.allow_attrs(&["urgent"])?;
            let urgent = match el.attr("urgent") {
                Some(v) => seq::boolean(&el, "urgent", v)?,
                None => false,
            };
            let mut s = Seq::new(r, el);
            let rem = match s.opt(NS, "rem")? {
                Some(e) => {
                    e.allow_attrs(&[])?;
                    let mut c = Seq::new(s.reader(), e);
                    let content = if let Some(a) = c.opt(NS, "all")? {
                        a.allow_attrs(&[])?;
                        let t = c.reader().text(&a)?;
                        vec![RemEntry::All(seq::boolean(&a, "all", &t)?)]
                    } else if matches!(c.peek()?, Some(x) if x.is(NS, "dsData")) {
                        c.many(NS, P, "dsData", 1, usize::MAX, ds_data)?
                            .into_iter()
                            .map(RemEntry::DsData)
                            .collect()
                    } else {
                        c.many(NS, P, "keyData", 1, usize::MAX, key_data)?
                            .into_iter()
                            .map(RemEntry::KeyData)
                            .collect()
                    };
                    c.end()?;
                    Some(Rem { content })
                }
                None => None,
            };
            let add = match s.opt(NS, "add")? {
                Some(e) => {
                    e.allow_attrs(&[])?;
                    Some(ds_or_key(s.reader(), e)?)
                }
                None => None,
            };
            let chg = match s.opt(NS, "chg")? {
                Some(e) => {
                    e.allow_attrs(&[])?;
                    let mut c = Seq::new(s.reader(), e);
                    let max_sig_life = max_sig_life(&mut c)?;
                    c.end()?;
                    Some(Chg { max_sig_life })
                }
                None => None,
            };
            s.end()?;
            Ok(SecDnsExtension::Update(Update {
                urgent,
                rem,
                add,
                chg,
            }))
        }
        other => Err(DecodeError::new(
            ErrorKind::Structure,
            format!("<secDNS:{other}> is not a secDNS command extension"),
        )),
    }
}

fn max_sig_life(s: &mut Seq<'_, '_>) -> Result<Option<i32>, DecodeError> {
    match s.opt(NS, "maxSigLife")? {
        Some(e) => {
            e.allow_attrs(&[])?;
            let t = s.reader().text(&e)?;
            Ok(Some(
                seq::signed(&e, "secDNS:maxSigLifeType", &t, 1, i64::from(i32::MAX))? as i32,
            ))
        }
        None => Ok(None),
    }
}

fn ds_or_key<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<DsOrKey, DecodeError> {
    let mut s = Seq::new(r, el);
    let mut content = Vec::new();
    if let Some(m) = max_sig_life(&mut s)? {
        content.push(DsOrKeyEntry::MaxSigLife(m));
    }
    if matches!(s.peek()?, Some(x) if x.is(NS, "keyData")) {
        content.extend(
            s.many(NS, P, "keyData", 1, usize::MAX, key_data)?
                .into_iter()
                .map(DsOrKeyEntry::KeyData),
        );
    } else {
        content.extend(
            s.many(NS, P, "dsData", 1, usize::MAX, ds_data)?
                .into_iter()
                .map(DsOrKeyEntry::DsData),
        );
    }
    s.end()?;
    Ok(DsOrKey { content })
}

fn uint(s: &mut Seq<'_, '_>, name: &str, type_name: &str, max: u64) -> Result<u64, DecodeError> {
    let e = s.req(NS, P, name)?;
    e.allow_attrs(&[])?;
    let t = s.reader().text(&e)?;
    seq::unsigned(&e, type_name, &t, 0, max)
}

fn ds_data<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<DsData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let key_tag = uint(&mut s, "keyTag", "xs:unsignedShort", 65535)? as u16;
    let alg = uint(&mut s, "alg", "xs:unsignedByte", 255)? as u8;
    let digest_type = uint(&mut s, "digestType", "xs:unsignedByte", 255)? as u8;
    let e = s.req(NS, P, "digest")?;
    e.allow_attrs(&[])?;
    let t = s.reader().text(&e)?;
    let digest = seq::hex_binary(&e, &t)?;
    let key_data = match s.opt(NS, "keyData")? {
        Some(e) => Some(key_data(s.reader(), e)?),
        None => None,
    };
    s.end()?;
    Ok(DsData {
        key_tag,
        alg,
        digest_type,
        digest,
        key_data,
    })
}

fn key_data<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<KeyData, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let flags = uint(&mut s, "flags", "xs:unsignedShort", 65535)? as u16;
    let protocol = uint(&mut s, "protocol", "xs:unsignedByte", 255)? as u8;
    let alg = uint(&mut s, "alg", "xs:unsignedByte", 255)? as u8;
    let e = s.req(NS, P, "pubKey")?;
    e.allow_attrs(&[])?;
    let t = s.reader().text(&e)?;
    let pub_key = seq::base64_binary(&e, &t, 1)?;
    s.end()?;
    Ok(KeyData {
        flags,
        protocol,
        alg,
        pub_key,
    })
}

// ------------------------------------------------------------------ encoding

/// Writes a secDNS command extension element, declaring its prefix.
pub(crate) fn write_command_ext(w: &mut XmlWriter<'_>, ext: &SecDnsExtension) {
    match ext {
        SecDnsExtension::Create(d) => {
            common::open_command(w, P, "create", NS);
            write_ds_or_key(w, d);
            w.end("secDNS:create");
        }
        SecDnsExtension::Update(u) => {
            let decl = [("xmlns:secDNS", NS), ("urgent", "1")];
            w.start("secDNS:update", if u.urgent { &decl } else { &decl[..1] });
            if let Some(rem) = &u.rem {
                w.start("secDNS:rem", &[]);
                for e in &rem.content {
                    match e {
                        RemEntry::All(b) => w.leaf("secDNS:all", &[], common::bool_str(*b)),
                        RemEntry::DsData(ds) => write_ds_data(w, ds),
                        RemEntry::KeyData(k) => write_key_data(w, k),
                    }
                }
                w.end("secDNS:rem");
            }
            if let Some(add) = &u.add {
                w.start("secDNS:add", &[]);
                write_ds_or_key(w, add);
                w.end("secDNS:add");
            }
            if let Some(chg) = &u.chg {
                w.start("secDNS:chg", &[]);
                if let Some(m) = chg.max_sig_life {
                    w.leaf_display("secDNS:maxSigLife", &[], m);
                }
                w.end("secDNS:chg");
            }
            w.end("secDNS:update");
        }
    }
}

/// Decodes `<secDNS:infData>` (a response extension).
pub(crate) fn read_inf_data<'a>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<DsOrKey, DecodeError> {
    el.allow_attrs(&[])?;
    ds_or_key(r, el)
}

/// Writes `<secDNS:infData>` (a response extension).
pub(crate) fn write_inf_data(w: &mut XmlWriter<'_>, d: &DsOrKey) {
    common::open_res_data(w, P, "infData", NS, "secDNS-1.1.xsd");
    write_ds_or_key(w, d);
    w.end("secDNS:infData");
}

pub(crate) fn write_ds_or_key(w: &mut XmlWriter<'_>, d: &DsOrKey) {
    for e in &d.content {
        match e {
            DsOrKeyEntry::MaxSigLife(m) => w.leaf_display("secDNS:maxSigLife", &[], m),
            DsOrKeyEntry::DsData(ds) => write_ds_data(w, ds),
            DsOrKeyEntry::KeyData(k) => write_key_data(w, k),
        }
    }
}

pub(crate) fn write_ds_data(w: &mut XmlWriter<'_>, ds: &DsData) {
    w.start("secDNS:dsData", &[]);
    w.leaf_display("secDNS:keyTag", &[], ds.key_tag);
    w.leaf_display("secDNS:alg", &[], ds.alg);
    w.leaf_display("secDNS:digestType", &[], ds.digest_type);
    w.leaf("secDNS:digest", &[], &ds.digest);
    if let Some(k) = &ds.key_data {
        write_key_data(w, k);
    }
    w.end("secDNS:dsData");
}

pub(crate) fn write_key_data(w: &mut XmlWriter<'_>, k: &KeyData) {
    w.start("secDNS:keyData", &[]);
    w.leaf_display("secDNS:flags", &[], k.flags);
    w.leaf_display("secDNS:protocol", &[], k.protocol);
    w.leaf_display("secDNS:alg", &[], k.alg);
    w.leaf("secDNS:pubKey", &[], &k.pub_key);
    w.end("secDNS:keyData");
}
