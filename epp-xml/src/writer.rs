//! A byte writer for EPP responses in the wire style of Norid's captures: XML declaration,
//! one element a line, one space of indentation a level. No DOM: bytes go straight out.

use std::fmt::Write as _;

/// The XML declaration Norid's responses start with.
pub const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#;

/// Writes indented elements into a byte buffer.
pub struct XmlWriter<'o> {
    out: &'o mut Vec<u8>,
    depth: usize,
}

impl<'o> XmlWriter<'o> {
    /// A writer appending to `out` at nesting depth 0.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        Self { out, depth: 0 }
    }

    /// A writer appending to `out` whose elements start at nesting `depth`.
    pub fn at_depth(out: &'o mut Vec<u8>, depth: usize) -> Self {
        Self { out, depth }
    }

    /// The current nesting depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Writes the XML declaration and a newline.
    pub fn declaration(&mut self) {
        self.out.extend_from_slice(DECLARATION.as_bytes());
        self.out.push(b'\n');
    }

    /// Opens `<name attrs...>` on its own line; children follow one level deeper.
    pub fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open(name, attrs);
        self.out.extend_from_slice(b">\n");
        self.depth += 1;
    }

    /// [`Self::start`] for an element whose attribute values are the crate's own constants,
    /// which have nothing to escape: written as they are (the `<epp>` of every response).
    pub(crate) fn start_constant(
        &mut self,
        name: &'static str,
        attrs: &[(&'static str, &'static str)],
    ) {
        debug_assert!(
            attrs.iter().all(|(_, v)| !needs_escape(v)),
            "constant attribute values with markup characters on <{name}>"
        );
        self.open_with(name, attrs, append_raw);
        self.out.extend_from_slice(b">\n");
        self.depth += 1;
    }

    /// Opens `<prefix:element xmlns="ns" xmlns:prefix="ns" xsi:schemaLocation="ns xsd">`
    /// on its own line, as [`Self::start`] would with those composed names, without
    /// composing them first (every response's `<resData>` child opens this way).
    pub fn start_namespaced(&mut self, prefix: &str, element: &str, ns: &str, xsd: &str) {
        self.namespaced(prefix, element, ns, xsd, escape_attr);
    }

    /// [`Self::start_namespaced`] for the crate's own namespace and schema constants, which
    /// have nothing to escape: written as they are (escaping them was a visible part of
    /// encoding a response).
    pub(crate) fn start_namespaced_constant(
        &mut self,
        prefix: &'static str,
        element: &'static str,
        ns: &'static str,
        xsd: &'static str,
    ) {
        debug_assert!(
            [prefix, element, ns, xsd].iter().all(|v| !needs_escape(v)),
            "constants with markup characters: {prefix} {element} {ns} {xsd}"
        );
        self.namespaced(prefix, element, ns, xsd, append_raw);
    }

    /// The namespaced start tag, its attribute values written by `value`.
    fn namespaced(
        &mut self,
        prefix: &str,
        element: &str,
        ns: &str,
        xsd: &str,
        value: impl Fn(&mut Vec<u8>, &str),
    ) {
        self.indent();
        self.out.push(b'<');
        self.out.extend_from_slice(prefix.as_bytes());
        self.out.push(b':');
        self.out.extend_from_slice(element.as_bytes());
        self.out.extend_from_slice(b" xmlns=\"");
        value(self.out, ns);
        self.out.extend_from_slice(b"\" xmlns:");
        self.out.extend_from_slice(prefix.as_bytes());
        self.out.extend_from_slice(b"=\"");
        value(self.out, ns);
        self.out.extend_from_slice(b"\" xsi:schemaLocation=\"");
        value(self.out, ns);
        self.out.push(b' ');
        value(self.out, xsd);
        self.out.extend_from_slice(b"\">\n");
        self.depth += 1;
    }

    /// Closes `</name>` on its own line.
    pub fn end(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b">\n");
    }

    /// Writes `<name attrs...>text</name>` on one line, or `<name attrs.../>` when `text`
    /// is empty.
    pub fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: impl AsRef<str>) {
        let text = text.as_ref();
        self.open(name, attrs);
        if text.is_empty() {
            self.out.extend_from_slice(b"/>\n");
            return;
        }
        self.out.push(b'>');
        escape_text(self.out, text);
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b">\n");
    }

    /// Writes a leaf whose text is a `Display` value (numbers, timestamps) without escaping;
    /// such values never contain markup characters.
    pub fn leaf_display(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        value: impl std::fmt::Display,
    ) {
        self.open(name, attrs);
        self.out.push(b'>');
        let mut s = String::new();
        let _ = write!(s, "{value}");
        escape_text(self.out, &s);
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b">\n");
    }

    /// Writes `<name attrs.../>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open(name, attrs);
        self.out.extend_from_slice(b"/>\n");
    }

    /// Writes pre-serialised markup as it is, without indentation or a newline.
    pub fn raw(&mut self, markup: &[u8]) {
        self.out.extend_from_slice(markup);
    }

    /// The buffer written to.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.out
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.open_with(name, attrs, escape_attr);
    }

    /// `<name attrs...` (not closed), the attribute values written by `value`.
    fn open_with(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        value: impl Fn(&mut Vec<u8>, &str),
    ) {
        self.indent();
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        for (k, v) in attrs {
            self.out.push(b' ');
            self.out.extend_from_slice(k.as_bytes());
            self.out.extend_from_slice(b"=\"");
            value(self.out, v);
            self.out.push(b'"');
        }
    }

    fn indent(&mut self) {
        self.out.resize(self.out.len() + self.depth, b' ');
    }
}

/// Appends `s` as it is (the crate's own constants, which have nothing to escape).
fn append_raw(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// Whether escaping `s` for an attribute value would change it (for the debug assertions
/// on constants: the escaper itself decides).
fn needs_escape(s: &str) -> bool {
    let mut escaped = Vec::with_capacity(s.len());
    escape_attr(&mut escaped, s);
    escaped != s.as_bytes()
}

/// Appends `s` escaped for element content.
pub fn escape_text(out: &mut Vec<u8>, s: &str) {
    escape(out, s, false);
}

/// Appends `s` escaped for a double-quoted attribute value.
pub fn escape_attr(out: &mut Vec<u8>, s: &str) {
    escape(out, s, true);
}

fn escape(out: &mut Vec<u8>, s: &str, attr: bool) {
    let bytes = s.as_bytes();
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' if attr => b"&quot;",
            b'\r' => b"&#13;",
            b'\t' if attr => b"&#9;",
            b'\n' if attr => b"&#10;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[last..i]);
        out.extend_from_slice(rep);
        last = i + 1;
    }
    out.extend_from_slice(&bytes[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_forms_write_what_the_escaping_forms_write() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut wa = XmlWriter::at_depth(&mut a, 1);
        let mut wb = XmlWriter::at_depth(&mut b, 1);
        wa.start_namespaced_constant("domain", "chkData", crate::ns::DOMAIN, "domain-1.0.xsd");
        wb.start_namespaced("domain", "chkData", crate::ns::DOMAIN, "domain-1.0.xsd");
        let attrs = [
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
            ("xmlns", "urn:ietf:params:xml:ns:epp-1.0"),
        ];
        wa.start_constant("epp", &attrs);
        wb.start("epp", &attrs);
        assert_eq!(
            (wa.depth(), String::from_utf8_lossy(&a)),
            (wb.depth(), String::from_utf8_lossy(&b))
        );
    }

    #[test]
    fn start_namespaced_is_start_with_composed_names() {
        for (prefix, element, ns, xsd) in [
            (
                "domain",
                "chkData",
                "urn:ietf:params:xml:ns:domain-1.0",
                "domain-1.0.xsd",
            ),
            ("x", "y", "urn:a&b<\"c\">", "d\te\nf.xsd"),
        ] {
            let mut composed = Vec::new();
            let mut w = XmlWriter::at_depth(&mut composed, 2);
            w.start(
                &format!("{prefix}:{element}"),
                &[
                    ("xmlns", ns),
                    (&format!("xmlns:{prefix}"), ns),
                    ("xsi:schemaLocation", &format!("{ns} {xsd}")),
                ],
            );
            w.leaf("a", &[], "b");
            let mut direct = Vec::new();
            let mut w = XmlWriter::at_depth(&mut direct, 2);
            w.start_namespaced(prefix, element, ns, xsd);
            w.leaf("a", &[], "b");
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                String::from_utf8(composed).unwrap()
            );
        }
    }
}
