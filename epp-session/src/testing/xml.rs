//! Canonical XML for comparing responses: namespace-resolved names, attributes sorted
//! (namespace declarations and `xsi:schemaLocation` dropped), whitespace-only text dropped,
//! other text trimmed; two documents with the same canonical form are the same EPP
//! document whatever their prefixes and indentation.
//!
//! Expected documents may hold placeholders in text and attribute values: `{{*}}` matches
//! anything, `{{=name}}` matches anything and binds it to `name`.

use std::collections::BTreeMap;
use std::fmt;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// One item of the canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A start tag: `{namespace}name` and its attributes `({namespace}name, value)`, sorted.
    Open(String, Vec<(String, String)>),
    /// Non-blank text, trimmed.
    Text(String),
    /// An end tag.
    Close,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Open(n, attrs) => {
                write!(f, "<{n}")?;
                for (k, v) in attrs {
                    write!(f, " {k}=\"{v}\"")?;
                }
                f.write_str(">")
            }
            Token::Text(t) => f.write_str(t),
            Token::Close => f.write_str("</>"),
        }
    }
}

/// The canonical form of a document.
///
/// # Errors
///
/// The parser's message when the document is not well-formed.
pub fn canonical(xml: &[u8]) -> Result<Vec<Token>, String> {
    let mut r = NsReader::from_reader(xml);
    let mut out = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, out: &mut Vec<Token>| {
        let t = text.trim();
        if !t.is_empty() {
            out.push(Token::Text(t.to_owned()));
        }
        text.clear();
    };
    loop {
        let (res, ev) = r.read_resolved_event().map_err(|e| e.to_string())?;
        let ns = match res {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                flush(&mut text, &mut out);
                let name = format!(
                    "{{{ns}}}{}",
                    String::from_utf8_lossy(e.local_name().as_ref())
                );
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    if a.key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let (res, local) = r.resolve_attribute(a.key);
                    let ans = match res {
                        ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
                        _ => String::new(),
                    };
                    let local = String::from_utf8_lossy(local.as_ref()).into_owned();
                    if ans == XSI && local == "schemaLocation" {
                        continue;
                    }
                    // decode_and_unescape_value works with and without quick-xml's `encoding`
                    // feature (which the benches' `reference` feature turns on).
                    let value = a
                        .decode_and_unescape_value(r.decoder())
                        .map_err(|e| e.to_string())?
                        .into_owned();
                    attrs.push((format!("{{{ans}}}{local}"), value));
                }
                attrs.sort();
                out.push(Token::Open(name, attrs));
                if matches!(ev, Event::Empty(_)) {
                    out.push(Token::Close);
                }
            }
            Event::End(_) => {
                flush(&mut text, &mut out);
                out.push(Token::Close);
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(g) => match g.resolve_char_ref().map_err(|e| e.to_string())? {
                Some(c) => text.push(c),
                None => {
                    let name = g.decode().map_err(|e| e.to_string())?;
                    text.push(match name.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => return Err(format!("unknown entity &{other};")),
                    });
                }
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Compares an actual document with an expected one holding placeholders, binding
/// captures into `vars`.
///
/// # Errors
///
/// A description of the first difference, with the path to it.
pub fn matches(
    expected: &[Token],
    actual: &[Token],
    vars: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let mut path: Vec<String> = Vec::new();
    let mut i = 0;
    let mut j = 0;
    while i < expected.len() || j < actual.len() {
        let (e, a) = match (expected.get(i), actual.get(j)) {
            (Some(e), Some(a)) => (e, a),
            (Some(e), None) => {
                return Err(format!(
                    "at /{}: expected {e}, found the end",
                    path.join("/")
                ));
            }
            (None, Some(a)) => return Err(format!("at /{}: unexpected {a}", path.join("/"))),
            (None, None) => break,
        };
        let fail = || format!("at /{}: expected {e}, found {a}", path.join("/"));
        match (e, a) {
            (Token::Open(en, ea), Token::Open(an, aa)) => {
                if en != an || ea.len() != aa.len() {
                    return Err(fail());
                }
                for ((ek, ev), (ak, av)) in ea.iter().zip(aa) {
                    if ek != ak || !value_matches(ev, av, vars) {
                        return Err(fail());
                    }
                }
                path.push(short(en));
            }
            (Token::Text(et), Token::Text(at)) => {
                if !value_matches(et, at, vars) {
                    return Err(fail());
                }
            }
            (Token::Close, Token::Close) => {
                path.pop();
            }
            _ => return Err(fail()),
        }
        i += 1;
        j += 1;
    }
    Ok(())
}

/// Whether an expected value (possibly a placeholder) matches, binding captures.
pub fn value_matches(expected: &str, actual: &str, vars: &mut BTreeMap<String, String>) -> bool {
    if expected == "{{*}}" {
        return true;
    }
    if let Some(name) = expected
        .strip_prefix("{{=")
        .and_then(|r| r.strip_suffix("}}"))
    {
        vars.insert(name.to_owned(), actual.to_owned());
        return true;
    }
    expected == actual
}

fn short(name: &str) -> String {
    name.rsplit_once('}').map_or(name, |(_, l)| l).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_indentation_and_schema_locations_do_not_matter() {
        let a = br#"<epp xmlns="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
            xsi:schemaLocation="urn:x x.xsd"> <a b="1" c="2">t</a></epp>"#;
        let b = br#"<p:epp xmlns:p="urn:x"><p:a c="2" b="1"> t </p:a></p:epp>"#;
        assert_eq!(canonical(a).unwrap(), canonical(b).unwrap());
    }

    #[test]
    fn placeholders_match_and_capture() {
        let e = canonical(br#"<a id="{{=id}}"><b>{{*}}</b></a>"#).unwrap();
        let x = canonical(br#"<a id="7"><b>anything</b></a>"#).unwrap();
        let mut vars = BTreeMap::new();
        matches(&e, &x, &mut vars).unwrap();
        assert_eq!(vars["id"], "7");
        let y = canonical(br#"<a id="7"><c>x</c></a>"#).unwrap();
        let err = matches(&e, &y, &mut vars).unwrap_err();
        assert!(err.contains("/a"), "{err}");
    }
}
