//! Helpers shared by the integration tests: where `../shared` is, a canonical form of XML
//! documents for comparisons, and xmllint validation against our schemas.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// `../shared` beside the repository (or `$EPP_SHARED_DIR`), when present.
pub fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("EPP_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "NOTICE: {} is absent; skipping tests that need ../shared",
            p.display()
        );
        None
    }
}

/// Files in `dir` whose names end with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    v
}

/// A canonical text form of an XML document: namespace-resolved names, attributes sorted
/// (namespace declarations dropped), whitespace-only text dropped, other text trimmed.
/// Two documents with the same canonical form are the same EPP document.
pub fn canonical(xml: &[u8]) -> String {
    let mut r = NsReader::from_reader(xml);
    let mut out = String::new();
    loop {
        let (res, ev) = r.read_resolved_event().unwrap();
        let ns = match res {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let mut attrs: Vec<String> = e
                    .attributes()
                    .map(|a| a.unwrap())
                    .filter(|a| a.key.as_namespace_binding().is_none())
                    .map(|a| {
                        let (res, local) = r.resolve_attribute(a.key);
                        let ans = match res {
                            ResolveResult::Bound(n) => {
                                String::from_utf8_lossy(n.as_ref()).into_owned()
                            }
                            _ => String::new(),
                        };
                        format!(
                            "{{{ans}}}{}={}",
                            String::from_utf8_lossy(local.as_ref()),
                            a.decode_and_unescape_value(r.decoder()).unwrap()
                        )
                    })
                    .collect();
                attrs.sort();
                out.push_str(&format!("<{{{ns}}}{name} {}>", attrs.join(" ")));
                if empty {
                    out.push_str("</>");
                }
            }
            Event::End(_) => out.push_str("</>"),
            Event::Text(t) => {
                let s = t.decode().unwrap();
                let s = s.trim();
                if !s.is_empty() {
                    out.push_str(s);
                }
            }
            Event::GeneralRef(g) => {
                let c = g.resolve_char_ref().unwrap();
                match c {
                    Some(c) => out.push(c),
                    None => out.push_str(&format!("&{};", g.decode().unwrap())),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// Validates every file in `docs` with xmllint against all of our schemas. Returns false
/// (after a notice) when xmllint is missing, unless `EPP_REQUIRE_XMLLINT=1`, in which
/// case it panics.
pub fn xmllint_validate(docs: &[PathBuf]) -> bool {
    if Command::new("xmllint").arg("--version").output().is_err() {
        if std::env::var("EPP_REQUIRE_XMLLINT").as_deref() == Ok("1") {
            panic!("xmllint is required (EPP_REQUIRE_XMLLINT=1) but not installed");
        }
        eprintln!("NOTICE: xmllint is not installed; skipping schema validation");
        return false;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let x = root.join("epp-xml/schemas");
    let n = root.join("epp-norid-ext/schemas");
    let imports = [
        (
            "urn:ietf:params:xml:ns:eppcom-1.0",
            x.join("eppcom-1.0.xsd"),
        ),
        ("urn:ietf:params:xml:ns:epp-1.0", x.join("epp-1.0.xsd")),
        ("urn:ietf:params:xml:ns:host-1.0", x.join("host-1.0.xsd")),
        (
            "urn:ietf:params:xml:ns:domain-1.0",
            x.join("domain-1.0.xsd"),
        ),
        (
            "urn:ietf:params:xml:ns:contact-1.0",
            x.join("contact-1.0.xsd"),
        ),
        (
            "urn:ietf:params:xml:ns:secDNS-1.1",
            x.join("secDNS-1.1.xsd"),
        ),
        (
            "http://www.norid.no/xsd/no-ext-epp-1.0",
            n.join("no-ext-epp-1.0.xsd"),
        ),
        (
            "http://www.norid.no/xsd/no-ext-domain-1.0",
            n.join("no-ext-domain-1.0.xsd"),
        ),
        (
            "http://www.norid.no/xsd/no-ext-domain-1.1",
            n.join("no-ext-domain-1.1.xsd"),
        ),
        (
            "http://www.norid.no/xsd/no-ext-contact-1.0",
            n.join("no-ext-contact-1.0.xsd"),
        ),
        (
            "http://www.norid.no/xsd/no-ext-host-1.0",
            n.join("no-ext-host-1.0.xsd"),
        ),
        (
            "http://www.norid.no/xsd/no-ext-result-1.0",
            n.join("no-ext-result-1.0.xsd"),
        ),
    ];
    let mut wrapper = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"urn:x-epp-registry:all\">\n",
    );
    for (ns, path) in imports {
        wrapper.push_str(&format!(
            "<xs:import namespace=\"{ns}\" schemaLocation=\"{}\"/>\n",
            path.display()
        ));
    }
    wrapper.push_str("</xs:schema>\n");
    let dir = std::env::temp_dir().join(format!("epp-xsd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrapper_path = dir.join("all.xsd");
    std::fs::write(&wrapper_path, wrapper).unwrap();
    for chunk in docs.chunks(200) {
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--nonet")
            .arg("--schema")
            .arg(&wrapper_path)
            .args(chunk)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "schema validation failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    true
}
