//! Bodies of the `xml_parse` and `xml_roundtrip` fuzz targets, shared with the corpus
//! replay test and with `epp-norid-ext`'s `norid_roundtrip` and `response_roundtrip`.
//!
//! Panics are how a fuzz target reports a broken invariant, hence the allowance.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::writer::{escape_attr, escape_text};
use crate::{
    Extension, NoExtensions, Request, ServerDoc, decode, decode_response, encode_greeting,
    encode_request, encode_response,
};

/// Decodes arbitrary bytes: must return (never panic, loop or blow up), and a refusal must
/// carry a non-success code and a reason.
pub fn xml_parse(data: &[u8]) {
    check::<NoExtensions>(data);
}

/// Decodes `data`; when it decodes, (1) encodes the typed value with the command encoder
/// and decodes that: parse -> encode -> parse must give the same value; (2) rewrites the
/// document with other prefixes for every namespace (a namespace-preserving
/// re-serialisation) and decodes that: the same value again, since decoding is
/// prefix-agnostic.
pub fn xml_roundtrip(data: &[u8]) {
    roundtrip::<NoExtensions>(data);
}

/// [`xml_parse`] for any extension set.
pub fn check<X: Extension>(data: &[u8]) -> Option<Request<X>> {
    match decode::<X>(data) {
        Ok(r) => Some(r),
        Err(e) => {
            assert!(!e.code().is_success());
            assert!(!e.reason().is_empty());
            None
        }
    }
}

/// [`xml_roundtrip`] for any extension set.
pub fn roundtrip<X: Extension>(data: &[u8]) {
    let Some(first) = check::<X>(data) else {
        return;
    };
    let mut encoded = Vec::new();
    encode_request(&first, &mut encoded);
    match decode::<X>(&encoded) {
        Ok(second) => assert_eq!(first, second, "{}", String::from_utf8_lossy(&encoded)),
        Err(e) => panic!(
            "re-encoded document refused: {} {}\n{}",
            e.code(),
            e.reason(),
            String::from_utf8_lossy(&encoded)
        ),
    }
    // An `xs:any` element is kept as its source text, prefixes included, so the prefix
    // rewrite shows in it; every other value must be untouched by the rewrite.
    if format!("{first:?}").contains("AnyElement") {
        return;
    }
    let rewritten = rewrite_prefixes(data).expect("a decodable document rewrites");
    match decode::<X>(&rewritten) {
        Ok(second) => assert_eq!(first, second, "{}", String::from_utf8_lossy(&rewritten)),
        Err(e) => panic!(
            "rewritten document refused: {} {}\n{}",
            e.code(),
            e.reason(),
            String::from_utf8_lossy(&rewritten)
        ),
    }
}

/// Decodes `data` as a server document (greeting or response); when it decodes, encodes the
/// typed value and decodes that: parse -> encode -> parse must give the same value. A
/// refusal must carry a reason.
pub fn response_roundtrip<X: Extension>(data: &[u8]) {
    let first = match decode_response::<X>(data) {
        Ok(doc) => doc,
        Err(e) => {
            assert!(!e.reason().is_empty());
            return;
        }
    };
    let mut encoded = Vec::new();
    match &first {
        ServerDoc::Greeting(g) => encode_greeting(g, &mut encoded),
        ServerDoc::Response(r) => encode_response(r, &mut encoded),
    }
    match decode_response::<X>(&encoded) {
        Ok(second) => assert_eq!(first, second, "{}", String::from_utf8_lossy(&encoded)),
        Err(e) => panic!(
            "re-encoded document refused: {} {}\n{}",
            e.code(),
            e.reason(),
            String::from_utf8_lossy(&encoded)
        ),
    }
}

/// Re-serialises a well-formed document giving every element an explicit prefix of its own
/// (`n0`, `n1`, ...) declared on the element itself. Attributes, text and CDATA keep their
/// values; comments and processing instructions are dropped.
pub fn rewrite_prefixes(data: &[u8]) -> Option<Vec<u8>> {
    let mut r = NsReader::from_reader(data);
    let mut out = Vec::with_capacity(data.len() * 2);
    let mut stack: Vec<String> = Vec::new();
    let mut counter = 0usize;
    loop {
        let (res, ev) = r.read_resolved_event().ok()?;
        let ns = match res {
            ResolveResult::Bound(n) => Some(String::from_utf8(n.as_ref().to_vec()).ok()?),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(_) => return None,
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = std::str::from_utf8(e.local_name().as_ref())
                    .ok()?
                    .to_owned();
                let name = match &ns {
                    Some(uri) => {
                        let p = format!("n{counter}");
                        counter += 1;
                        out.extend_from_slice(format!("<{p}:{local} xmlns:{p}=\"").as_bytes());
                        escape_attr(&mut out, uri);
                        out.push(b'"');
                        format!("{p}:{local}")
                    }
                    None => {
                        out.extend_from_slice(format!("<{local} xmlns=\"\"").as_bytes());
                        local.clone()
                    }
                };
                for a in e.attributes() {
                    let a = a.ok()?;
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let (ares, alocal) = r.resolve_attribute(a.key);
                    let alocal = std::str::from_utf8(alocal.as_ref()).ok()?;
                    let value = a.unescape_value().ok()?;
                    match ares {
                        ResolveResult::Unbound => {
                            out.extend_from_slice(format!(" {alocal}=\"").as_bytes());
                        }
                        ResolveResult::Bound(n) => {
                            let p = format!("n{counter}");
                            counter += 1;
                            out.extend_from_slice(format!(" xmlns:{p}=\"").as_bytes());
                            escape_attr(&mut out, std::str::from_utf8(n.as_ref()).ok()?);
                            out.extend_from_slice(format!("\" {p}:{alocal}=\"").as_bytes());
                        }
                        ResolveResult::Unknown(_) => return None,
                    }
                    escape_attr(&mut out, &value);
                    out.push(b'"');
                }
                if matches!(ev, Event::Empty(_)) {
                    out.extend_from_slice(b"/>");
                } else {
                    out.push(b'>');
                    stack.push(name);
                }
            }
            Event::End(_) => {
                let name = stack.pop()?;
                out.extend_from_slice(format!("</{name}>").as_bytes());
            }
            Event::Text(t) => escape_text(&mut out, std::str::from_utf8(t.as_ref()).ok()?),
            Event::CData(t) => escape_text(&mut out, std::str::from_utf8(t.as_ref()).ok()?),
            Event::GeneralRef(g) => {
                out.push(b'&');
                out.extend_from_slice(g.as_ref());
                out.push(b';');
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fuzz_corpora_replay_cleanly() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        for (target, f) in [
            ("xml_parse", super::xml_parse as fn(&[u8])),
            ("xml_roundtrip", super::xml_roundtrip as fn(&[u8])),
        ] {
            let dir = root.join(target);
            let mut n = 0;
            for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory exists") {
                f(&std::fs::read(entry.unwrap().path()).unwrap());
                n += 1;
            }
            assert!(n >= 5, "corpus at {} has only {n} inputs", dir.display());
        }
    }
}
