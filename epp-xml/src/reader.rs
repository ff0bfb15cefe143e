//! A strict, namespace-aware pull reader over quick-xml, shaped for schema-driven decoding.
//!
//! The reader refuses what a registry must never process: DTDs (and with them entity
//! declarations and external entities), references to undeclared entities, encodings other
//! than UTF-8, NUL and other characters XML forbids, nesting deeper than [`MAX_DEPTH`],
//! text longer than [`MAX_TEXT`] and attribute values longer than [`MAX_ATTR_VALUE`]. Every
//! step consumes input, so no document can make it loop, and it allocates only for values
//! it returns, so memory stays proportional to the input.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::PrefixDeclaration;

use crate::error::{DecodeError, ErrorKind};

/// Deepest element nesting accepted, counting `<epp>` as 1. EPP commands need 7.
pub const MAX_DEPTH: usize = 16;
/// Longest text content of one element, in bytes.
pub const MAX_TEXT: usize = 8 * 1024;
/// Longest attribute value, in bytes, after entity and character references are resolved
/// (so that a value read back from its escaped form never exceeds it).
pub const MAX_ATTR_VALUE: usize = 1024;
/// Most attributes on one element (namespace declarations included).
pub const MAX_ATTRS: usize = 32;

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The namespace the `xml` prefix is bound to by definition.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of namespace declarations, which no prefix may be bound to.
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Namespace URIs and the prefixes used for them in error messages.
pub type NamespaceTable = &'static [(&'static str, &'static str)];

/// One element start: its namespace, local name and attributes.
#[derive(Debug, Clone)]
pub struct Element<'a> {
    ns: Cow<'static, str>,
    name: &'a str,
    prefix: &'static str,
    /// The prefix as written in the document (empty for the default namespace).
    written_prefix: &'a str,
    attrs: Vec<(&'a str, Cow<'a, str>)>,
    /// Byte offset of the element's `<` in the input.
    start: usize,
}

impl<'a> Element<'a> {
    /// The element's namespace URI (empty when it has none).
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The element's local name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The namespace prefix as written in the document (empty when the element is in the
    /// default namespace or in none).
    pub fn written_prefix(&self) -> &'a str {
        self.written_prefix
    }

    /// Whether the element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        // Namespaces are interned from the tables the callers' constants come from, so the
        // same pointer usually means the same string; compare the bytes otherwise.
        self.name == name
            && (std::ptr::eq(self.ns.as_ptr(), ns.as_ptr()) && self.ns.len() == ns.len()
                || *self.ns == *ns)
    }

    /// The element's name for messages, with the customary prefix of its namespace:
    /// `<domain:name>`.
    pub fn display(&self) -> String {
        if self.prefix.is_empty() {
            format!("<{}>", self.name)
        } else {
            format!("<{}:{}>", self.prefix, self.name)
        }
    }

    /// The value of the unqualified attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Refuses any attribute not in `allowed` (namespace declarations and
    /// `xsi:schemaLocation` never count).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Structure`] naming the attribute.
    pub fn allow_attrs(&self, allowed: &[&str]) -> Result<(), DecodeError> {
        match self.attrs.iter().find(|(n, _)| !allowed.contains(n)) {
            None => Ok(()),
            Some((n, _)) => Err(DecodeError::new(
                ErrorKind::Structure,
                format!("attribute '{n}' is not allowed on {}", self.display()),
            )),
        }
    }

    /// The required unqualified attribute `name`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MissingParameter`] when it is absent.
    pub fn required_attr(&self, name: &str) -> Result<&str, DecodeError> {
        self.attr(name).ok_or_else(|| {
            DecodeError::new(
                ErrorKind::MissingParameter,
                format!(
                    "required attribute '{name}' is missing on {}",
                    self.display()
                ),
            )
        })
    }
}

enum Token<'a> {
    Start(Element<'a>),
    End,
    Text(Cow<'a, str>),
    Eof,
}

/// A namespace declaration in scope.
#[derive(Debug, Clone)]
struct Binding<'a> {
    /// The prefix as written; empty for the default namespace.
    prefix: &'a str,
    /// The namespace URI; empty when `xmlns=""` undeclares the default namespace.
    ns: Cow<'static, str>,
    /// The customary prefix of `ns`, for messages.
    hint: &'static str,
    /// Depth of the element that declares it (0: predefined).
    depth: usize,
}

/// The strict pull reader. See the module documentation for what it refuses.
///
/// Namespaces are resolved here rather than by quick-xml's `NsReader`, in the one pass over
/// each element's attributes the reader makes anyway, with the well-formedness rules of
/// Namespaces in XML 1.0 (no undeclared prefix, `xml` and `xmlns` reserved, no empty
/// prefixed declaration).
pub struct XmlReader<'a> {
    inner: Reader<&'a [u8]>,
    input: &'a str,
    namespaces: [NamespaceTable; 2],
    /// The declarations in scope, innermost last.
    bindings: Vec<Binding<'a>>,
    /// Scratch space for the attributes of the element being started (prefix, local name,
    /// value), kept between elements to save an allocation each.
    scratch: Vec<(&'a str, &'a str, Cow<'a, str>)>,
    depth: usize,
    /// The last start was an empty-element tag: the next token is its end.
    pending_end: bool,
    root_seen: bool,
}

impl<'a> XmlReader<'a> {
    /// A reader over `input`, which must be UTF-8. `extra` names the extension namespaces
    /// the caller understands (with their customary prefixes, for messages).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Malformed`] for invalid UTF-8 and [`ErrorKind::Refused`] for NUL bytes.
    pub fn new(input: &'a [u8], extra: NamespaceTable) -> Result<Self, DecodeError> {
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let text = std::str::from_utf8(input).map_err(|e| {
            DecodeError::new(
                ErrorKind::Malformed,
                format!("document is not valid UTF-8 (at byte {})", e.valid_up_to()),
            )
        })?;
        check_document_chars(text)?;
        let mut inner = Reader::from_reader(input);
        let config = inner.config_mut();
        config.check_comments = true;
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        Ok(Self {
            inner,
            input: text,
            namespaces: [crate::ns::TABLE, extra],
            bindings: {
                let mut b = Vec::with_capacity(8);
                b.push(Binding {
                    prefix: "xml",
                    ns: Cow::Borrowed(XML_NS),
                    hint: "xml",
                    depth: 0,
                });
                b
            },
            scratch: Vec::new(),
            depth: 0,
            pending_end: false,
            root_seen: false,
        })
    }

    /// The whole input.
    pub fn input(&self) -> &'a str {
        self.input
    }

    /// Reads the prolog and returns the root element.
    ///
    /// # Errors
    ///
    /// When the document is malformed or refused before its root.
    pub fn root(&mut self) -> Result<Element<'a>, DecodeError> {
        loop {
            match self.next_token()? {
                Token::Start(e) => return Ok(e),
                Token::Text(t) if is_ws(&t) => continue,
                Token::Text(_) => return Err(malformed("text before the root element")),
                Token::End => return Err(malformed("end tag before the root element")),
                Token::Eof => return Err(malformed("document has no root element")),
            }
        }
    }

    /// Checks that nothing but whitespace, comments and processing instructions follow
    /// the root element.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Malformed`] otherwise.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        loop {
            match self.next_token()? {
                Token::Eof => return Ok(()),
                Token::Text(t) if is_ws(&t) => continue,
                _ => return Err(malformed("content after the root element")),
            }
        }
    }

    /// The next child element of `parent`, or `None` at the end of `parent`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Structure`] for non-whitespace text among the children, and any error of
    /// the underlying document.
    pub fn next_child(&mut self, parent: &Element<'_>) -> Result<Option<Element<'a>>, DecodeError> {
        loop {
            match self.next_token()? {
                Token::Start(e) => return Ok(Some(e)),
                Token::End => return Ok(None),
                Token::Text(t) if is_ws(&t) => continue,
                Token::Text(_) => {
                    return Err(DecodeError::new(
                        ErrorKind::Structure,
                        format!("text is not allowed directly inside {}", parent.display()),
                    ));
                }
                Token::Eof => return Err(eof(parent)),
            }
        }
    }

    /// The text content of `el` (just started); entity and character references resolved,
    /// whitespace kept as written.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Structure`] when `el` has a child element.
    pub fn text(&mut self, el: &Element<'_>) -> Result<Cow<'a, str>, DecodeError> {
        let mut out: Cow<'a, str> = Cow::Borrowed("");
        loop {
            match self.next_token()? {
                Token::Text(t) => {
                    if out.is_empty() {
                        out = t;
                    } else {
                        out.to_mut().push_str(&t);
                    }
                    if out.len() > MAX_TEXT {
                        return Err(DecodeError::new(
                            ErrorKind::Refused,
                            format!("text of {} is longer than {MAX_TEXT} bytes", el.display()),
                        ));
                    }
                }
                Token::End => return Ok(out),
                Token::Start(child) => {
                    return Err(DecodeError::new(
                        ErrorKind::Structure,
                        format!(
                            "element {} is not allowed inside {}, which holds text only",
                            child.display(),
                            el.display()
                        ),
                    ));
                }
                Token::Eof => return Err(eof(el)),
            }
        }
    }

    /// Skips the content of `el` (just started) up to and including its end tag.
    ///
    /// # Errors
    ///
    /// Any error of the underlying document.
    pub fn skip(&mut self, el: &Element<'_>) -> Result<(), DecodeError> {
        let mut open = 1usize;
        while open > 0 {
            match self.next_token()? {
                Token::Start(_) => open += 1,
                Token::End => open -= 1,
                Token::Text(_) => {}
                Token::Eof => return Err(eof(el)),
            }
        }
        Ok(())
    }

    /// Reads `el` (just started) to its end and returns it as an [`crate::AnyElement`]: its
    /// source text, made self-contained by declaring on it the namespaces it uses but
    /// inherits from its ancestors, so that it means the same wherever it is written.
    ///
    /// # Errors
    ///
    /// Any error of the underlying document, and [`ErrorKind::Refused`] when the added
    /// declarations would give the element more than [`MAX_ATTRS`] attributes.
    pub fn capture(&mut self, el: &Element<'_>) -> Result<crate::AnyElement, DecodeError> {
        // The bindings in scope at the element (its own included): the subtree can use only
        // these or ones it declares itself, as the reader checks every name while skipping.
        let scope: Vec<(Option<Vec<u8>>, Vec<u8>)> = self
            .bindings
            .iter()
            .map(|b| {
                let p = (!b.prefix.is_empty()).then(|| b.prefix.as_bytes().to_vec());
                (p, b.ns.as_bytes().to_vec())
            })
            .collect();
        self.skip(el)?;
        let end = usize::try_from(self.inner.buffer_position()).unwrap_or(usize::MAX);
        let raw = self.input.get(el.start..end).unwrap_or_default();
        let xml = self_contained(raw, &scope).map_err(|what| {
            DecodeError::new(ErrorKind::Refused, format!("{}: {what}", el.display()))
        })?;
        Ok(crate::AnyElement {
            namespace: el.ns.to_string(),
            name: el.name.to_owned(),
            xml,
        })
    }

    fn next_token(&mut self) -> Result<Token<'a>, DecodeError> {
        if self.pending_end {
            self.pending_end = false;
            self.end_scope();
            return Ok(Token::End);
        }
        loop {
            let event = match self.inner.read_event() {
                Ok(e) => e,
                Err(e) => return Err(malformed(&format!("XML is not well-formed: {e}"))),
            };
            match event {
                Event::Start(e) => return self.start(e, false).map(Token::Start),
                Event::Empty(e) => {
                    let el = self.start(e, true)?;
                    self.pending_end = true;
                    return Ok(Token::Start(el));
                }
                Event::End(_) => {
                    self.end_scope();
                    return Ok(Token::End);
                }
                // Characters were checked for the whole document in `new`.
                Event::Text(t) => {
                    return Ok(Token::Text(Cow::Borrowed(self.borrow_str(t.as_ref()))));
                }
                Event::CData(t) => {
                    return Ok(Token::Text(Cow::Borrowed(self.borrow_str(t.as_ref()))));
                }
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => {
                            let name = self.borrow_str(r.as_ref());
                            match name {
                                "lt" => '<',
                                "gt" => '>',
                                "amp" => '&',
                                "apos" => '\'',
                                "quot" => '"',
                                _ => {
                                    return Err(DecodeError::new(
                                        ErrorKind::Refused,
                                        format!("reference to undeclared entity &{name};"),
                                    ));
                                }
                            }
                        }
                        Err(_) => return Err(malformed("invalid character reference")),
                    };
                    if !is_xml_char(c) {
                        return Err(malformed(&format!(
                            "character reference to U+{:04X}, which XML forbids",
                            c as u32
                        )));
                    }
                    return Ok(Token::Text(Cow::Owned(c.to_string())));
                }
                Event::Decl(d) => {
                    if let Some(Ok(enc)) = d.encoding()
                        && !enc.eq_ignore_ascii_case(b"utf-8")
                    {
                        return Err(DecodeError::new(
                            ErrorKind::Refused,
                            "only the UTF-8 encoding is accepted",
                        ));
                    }
                }
                Event::DocType(_) => {
                    return Err(DecodeError::new(
                        ErrorKind::Refused,
                        "DOCTYPE declarations (DTDs, entity declarations) are not accepted",
                    ));
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    if self.depth > 0 {
                        return Err(malformed("document ends inside an element"));
                    }
                    return Ok(Token::Eof);
                }
            }
        }
    }

    /// Leaves the element at the current depth: its declarations go out of scope.
    fn end_scope(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        while self.bindings.last().is_some_and(|b| b.depth > self.depth) {
            self.bindings.pop();
        }
    }

    /// The binding of `prefix` (empty: the default namespace) in scope.
    fn lookup(&self, prefix: &str) -> Option<&Binding<'a>> {
        self.bindings
            .iter()
            .rev()
            .find(|b| same_from_end(b.prefix.as_bytes(), prefix.as_bytes()))
    }

    fn start(&mut self, e: BytesStart<'a>, _empty: bool) -> Result<Element<'a>, DecodeError> {
        if self.depth == 0 {
            if self.root_seen {
                return Err(malformed("content after the root element"));
            }
            self.root_seen = true;
        }
        self.depth += 1;
        // One scan of the name for ':' gives both parts.
        let (local, name_prefix) = e.name().decompose();
        let local = self.borrow_str(local.into_inner());
        let written_prefix = name_prefix.map_or("", |p| self.borrow_str(p.into_inner()));
        // quick-xml takes anything up to whitespace, '/' or '>' for a name.
        if !is_ncname(local) || (name_prefix.is_some() && !is_ncname(written_prefix)) {
            return Err(malformed(&format!(
                "'{}' is not a valid element name",
                self.borrow_str(e.name().into_inner())
            )));
        }
        if self.depth > MAX_DEPTH {
            return Err(DecodeError::new(
                ErrorKind::Refused,
                format!("elements are nested deeper than {MAX_DEPTH} levels (at <{local}>)"),
            ));
        }
        // One pass over the attributes: check each value, take the namespace declarations
        // into scope, keep the others (with their prefixes) for resolving below.
        let mut others = std::mem::take(&mut self.scratch);
        others.clear();
        // The attribute names seen so far, for the duplicate check: quick-xml's own keeps
        // a vector of them, allocated for every element with attributes; at most
        // `MAX_ATTRS` names fit here, on the stack.
        let mut keys: [&str; MAX_ATTRS] = [""; MAX_ATTRS];
        let mut attributes = e.attributes();
        attributes.with_checks(false);
        for (count, a) in attributes.enumerate() {
            let a = a.map_err(|err| malformed(&format!("bad attribute on <{local}>: {err}")))?;
            if count == MAX_ATTRS {
                return Err(DecodeError::new(
                    ErrorKind::Refused,
                    format!("<{local}> has more than {MAX_ATTRS} attributes"),
                ));
            }
            let key = self.borrow_str(a.key.into_inner());
            if keys[..count].contains(&key) {
                return Err(malformed(&format!(
                    "attribute '{key}' appears twice on <{local}>"
                )));
            }
            keys[count] = key;
            // Every value must be well-formed, whatever the attribute (namespace declarations
            // and xsi:schemaLocation included): references resolve, characters are XML's.
            let raw = self.borrow_str(&a.value);
            let value = if raw.contains('&') {
                let v = a
                    .decode_and_unescape_value(self.inner.decoder())
                    .map_err(|err| malformed(&format!("bad attribute value on <{local}>: {err}")))?
                    .into_owned();
                check_chars(&v)?;
                Cow::Owned(v)
            } else {
                Cow::Borrowed(raw)
            };
            if value.len() > MAX_ATTR_VALUE {
                return Err(DecodeError::new(
                    ErrorKind::Refused,
                    format!(
                        "an attribute value on <{local}> is longer than {MAX_ATTR_VALUE} bytes"
                    ),
                ));
            }
            let (key_local, key_prefix) = a.key.decompose();
            let key_local = self.borrow_str(key_local.into_inner());
            let key_prefix = key_prefix.map(|p| self.borrow_str(p.into_inner()));
            if !is_ncname(key_local) || key_prefix.is_some_and(|p| !is_ncname(p)) {
                return Err(malformed(&format!(
                    "'{}' is not a valid attribute name (on <{local}>)",
                    self.borrow_str(a.key.into_inner())
                )));
            }
            match a.key.as_namespace_binding() {
                Some(declaration) => {
                    let prefix = match declaration {
                        PrefixDeclaration::Default => "",
                        PrefixDeclaration::Named(p) => self.borrow_str(p),
                    };
                    self.declare(prefix, &value, local)?;
                }
                None => others.push((key_prefix.unwrap_or(""), key_local, value)),
            }
        }
        let (ns, prefix) = match self.lookup(written_prefix) {
            Some(b) => (b.ns.clone(), b.hint),
            None if written_prefix.is_empty() => (Cow::Borrowed(""), ""),
            None => {
                return Err(malformed(&format!(
                    "undeclared namespace prefix '{written_prefix}' on <{local}>"
                )));
            }
        };
        let mut attrs = Vec::with_capacity(others.len());
        for (key_prefix, key_local, value) in others.drain(..) {
            if key_prefix.is_empty() {
                attrs.push((key_local, value));
                continue;
            }
            match self.lookup(key_prefix) {
                Some(b) if b.ns == XSI => {
                    if key_local == "schemaLocation" || key_local == "noNamespaceSchemaLocation" {
                        continue;
                    }
                    return Err(DecodeError::new(
                        ErrorKind::Structure,
                        format!("attribute xsi:{key_local} is not allowed on <{local}>"),
                    ));
                }
                Some(_) => {
                    return Err(DecodeError::new(
                        ErrorKind::Structure,
                        format!("qualified attribute '{key_local}' is not allowed on <{local}>"),
                    ));
                }
                None => {
                    return Err(malformed(&format!(
                        "undeclared namespace prefix '{key_prefix}' on an attribute of <{local}>"
                    )));
                }
            }
        }
        self.scratch = others;
        let start = self.offset_of(e.as_ref()).saturating_sub(1);
        Ok(Element {
            ns,
            name: local,
            prefix,
            written_prefix,
            attrs,
            start,
        })
    }

    /// Takes `xmlns:prefix="uri"` (or `xmlns="uri"` when `prefix` is empty) into the scope
    /// of the element being started, with the rules of Namespaces in XML 1.0.
    fn declare(&mut self, prefix: &'a str, uri: &str, local: &str) -> Result<(), DecodeError> {
        let refuse = |what: String| Err(malformed(&format!("{what} on <{local}>")));
        if prefix == "xmlns" {
            return refuse("the prefix 'xmlns' may not be declared".to_owned());
        }
        if (prefix == "xml") != (uri == XML_NS) {
            return refuse(format!(
                "the prefix 'xml' and only it is bound to {XML_NS} (found xmlns:{prefix}=\"{uri}\")"
            ));
        }
        if uri == XMLNS_NS {
            return refuse(format!("no prefix may be bound to {XMLNS_NS}"));
        }
        if !prefix.is_empty() && uri.is_empty() {
            return refuse(format!(
                "the prefix '{prefix}' may not be undeclared (xmlns:{prefix}=\"\")"
            ));
        }
        let (ns, hint) = self.intern(uri.as_bytes());
        self.bindings.push(Binding {
            prefix,
            ns,
            hint,
            depth: self.depth,
        });
        Ok(())
    }

    fn intern(&self, uri: &[u8]) -> (Cow<'static, str>, &'static str) {
        if uri.is_empty() {
            return (Cow::Borrowed(""), "");
        }
        for table in self.namespaces {
            for (u, p) in table.iter() {
                if same_from_end(u.as_bytes(), uri) {
                    return (Cow::Borrowed(u), p);
                }
            }
        }
        (Cow::Owned(String::from_utf8_lossy(uri).into_owned()), "")
    }

    /// Byte offset of `bytes` in the input; they are always a sub-slice of it because the
    /// reader reads from a borrowed slice.
    fn offset_of(&self, bytes: &[u8]) -> usize {
        (bytes.as_ptr() as usize).wrapping_sub(self.input.as_ptr() as usize)
    }

    /// `bytes` (a sub-slice of the input) as a `&str` of the input's lifetime.
    fn borrow_str(&self, bytes: &[u8]) -> &'a str {
        let start = self.offset_of(bytes);
        start
            .checked_add(bytes.len())
            .and_then(|end| self.input.get(start..end))
            .unwrap_or("")
    }
}

/// `raw` (one well-formed element, already checked by the reader) with declarations added to
/// its start tag for the prefixes (and the default namespace) its subtree uses without
/// declaring them, taken from `scope`.
fn self_contained(raw: &str, scope: &[(Option<Vec<u8>>, Vec<u8>)]) -> Result<String, String> {
    let mut r = Reader::from_str(raw);
    // Prefixes declared by each open element (`None`: the default namespace).
    let mut open: Vec<Vec<Option<Vec<u8>>>> = Vec::new();
    let mut needed: Vec<Option<Vec<u8>>> = Vec::new();
    let mut root_attrs = 0usize;
    loop {
        let event = r.read_event().map_err(|e| e.to_string())?;
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                open.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let mut declared = Vec::new();
        let mut used = vec![e.name().prefix().map(|p| p.into_inner().to_vec())];
        let mut count = 0usize;
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            count += 1;
            match a.key.as_namespace_binding() {
                Some(PrefixDeclaration::Default) => declared.push(None),
                Some(PrefixDeclaration::Named(p)) => declared.push(Some(p.to_vec())),
                None => {
                    if let Some(p) = a.key.prefix() {
                        used.push(Some(p.into_inner().to_vec()));
                    }
                }
            }
        }
        if open.is_empty() {
            root_attrs = count;
        }
        open.push(declared);
        for u in used {
            let predefined = u.as_deref() == Some(b"xml".as_slice());
            if !predefined && !open.iter().any(|d| d.contains(&u)) && !needed.contains(&u) {
                needed.push(u);
            }
        }
        if empty {
            open.pop();
        }
    }
    if needed.is_empty() {
        return Ok(raw.to_owned());
    }
    if root_attrs + needed.len() > MAX_ATTRS {
        return Err(format!(
            "declaring the namespaces it inherits would give it more than {MAX_ATTRS} attributes"
        ));
    }
    let name_end = raw
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, ' ' | '\t' | '\r' | '\n' | '/' | '>'))
        .map_or(raw.len(), |(i, _)| i);
    let mut out = Vec::with_capacity(raw.len() + 64);
    out.extend_from_slice(&raw.as_bytes()[..name_end]);
    for prefix in &needed {
        // A default namespace reset by `xmlns=""` is absent from the scope: bind it to "".
        let uri = scope
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, ns)| ns.as_slice());
        match (prefix, uri) {
            (None, uri) => {
                out.extend_from_slice(b" xmlns=\"");
                crate::writer::escape_attr(&mut out, &String::from_utf8_lossy(uri.unwrap_or(b"")));
            }
            (Some(p), Some(uri)) => {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(p);
                out.extend_from_slice(b"=\"");
                crate::writer::escape_attr(&mut out, &String::from_utf8_lossy(uri));
            }
            (Some(p), None) => {
                return Err(format!(
                    "namespace prefix '{}' is not declared",
                    String::from_utf8_lossy(p)
                ));
            }
        }
        out.push(b'"');
    }
    out.extend_from_slice(&raw.as_bytes()[name_end..]);
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// Whether `s` is an XML `NCName` (a name without a colon). ASCII characters are checked
/// exactly; characters outside ASCII are accepted (the `NameChar` ranges exclude only a
/// few of them, such as U+00D7 and U+00F7).
fn is_ncname(s: &str) -> bool {
    // Bytes of UTF-8 sequences (>= 0x80) stand for characters outside ASCII, accepted.
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    let class = |c: u8| {
        NAME_CLASS
            .get(usize::from(c))
            .copied()
            .unwrap_or(NAME_START)
    };
    class(first) == NAME_START && b[1..].iter().all(|&c| class(c) != 0)
}

/// `NAME_START` for ASCII letters and `_`, `NAME_OTHER` for digits, `-` and `.`, 0 for
/// the other ASCII characters.
const NAME_START: u8 = 1;
const NAME_OTHER: u8 = 2;
const NAME_CLASS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphabetic() || b == b'_' {
            NAME_START
        } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
            NAME_OTHER
        } else {
            0
        };
        c += 1;
    }
    t
};

fn is_ws(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn is_xml_char(c: char) -> bool {
    matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// Refuses characters XML forbids anywhere in a document. In valid UTF-8 these are the C0
/// controls other than tab, LF and CR (single bytes below 0x20) and U+FFFE/U+FFFF (encoded
/// EF BF BE/BF): one branch-free pass flags either, and only a flagged document is looked
/// at character by character. NUL gets its own reason.
fn check_document_chars(s: &str) -> Result<(), DecodeError> {
    let flagged = s.as_bytes().chunks(64).any(|chunk| {
        chunk.iter().fold(false, |bad, &b| {
            bad | ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')) | (b == 0xEF)
        })
    });
    if !flagged {
        return Ok(());
    }
    match s.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        None => Ok(()),
        Some((at, '\0')) => Err(DecodeError::new(
            ErrorKind::Refused,
            format!("document contains a NUL byte (at byte {at})"),
        )),
        Some((_, c)) => Err(malformed(&format!(
            "character U+{:04X} is not allowed in XML",
            c as u32
        ))),
    }
}

/// Checks a value produced by resolving references (the document's own characters were
/// checked by [`check_document_chars`]).
fn check_chars(s: &str) -> Result<(), DecodeError> {
    match s.chars().find(|&c| !is_xml_char(c)) {
        None => Ok(()),
        Some(c) => Err(malformed(&format!(
            "character U+{:04X} is not allowed in XML",
            c as u32
        ))),
    }
}

fn malformed(what: &str) -> DecodeError {
    DecodeError::new(ErrorKind::Malformed, what.to_owned())
}

fn eof(el: &Element<'_>) -> DecodeError {
    malformed(&format!("document ends inside {}", el.display()))
}

/// Byte equality compared from the last byte: the namespace URIs and prefixes looked up
/// for every element share long beginnings (`urn:ietf:params:xml:ns:`) and differ at
/// the end, and are short enough that a call to `memcmp` costs more than the loop.
#[inline]
fn same_from_end(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().rev().zip(b.iter().rev()).all(|(x, y)| x == y)
}

#[cfg(test)]
mod tests {
    use crate::{CommandKind, NoExtensions, Request, decode, domain, encode_request};

    fn ext_xml(doc: &str) -> String {
        let Ok(Request::Command(c)) = decode::<NoExtensions>(doc.as_bytes()) else {
            panic!("does not decode: {doc}")
        };
        let CommandKind::DomainInfo(i) = &c.kind else {
            panic!("not a domain info")
        };
        let Some(domain::AuthInfoContent::Ext(ext)) = i.auth_info.as_ref().map(|a| &a.content)
        else {
            panic!("no ext authInfo")
        };
        let mut out = Vec::new();
        encode_request(&Request::Command(c.clone()), &mut out);
        assert_eq!(
            decode::<NoExtensions>(&out).unwrap(),
            Request::Command(c.clone()),
            "{}",
            String::from_utf8_lossy(&out)
        );
        ext.any.xml.clone()
    }

    fn info(root_decls: &str, ext: &str) -> String {
        format!(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0" {root_decls}><command><info><domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>a.no</domain:name><domain:authInfo><domain:ext>{ext}</domain:ext></domain:authInfo></domain:info></info></command></epp>"#
        )
    }

    /// `doc` does not decode, as malformed, for a reason containing `reason`.
    fn refused_as_malformed(doc: &str, reason: &str) {
        let err = decode::<NoExtensions>(doc.as_bytes()).unwrap_err();
        assert_eq!(
            err.kind(),
            crate::ErrorKind::Malformed,
            "{doc}: {}",
            err.reason()
        );
        assert!(err.reason().contains(reason), "{doc}: {}", err.reason());
    }

    #[test]
    fn namespace_declarations_follow_namespaces_in_xml() {
        let epp = "urn:ietf:params:xml:ns:epp-1.0";
        for (attrs, body, reason) in [
            (
                r#"xmlns:xmlns="urn:x""#,
                "<hello/>",
                "the prefix 'xmlns' may not be declared",
            ),
            (
                r#"xmlns:xml="urn:x""#,
                "<hello/>",
                "the prefix 'xml' and only it",
            ),
            (
                r#"xmlns:x="http://www.w3.org/XML/1998/namespace""#,
                "<hello/>",
                "the prefix 'xml' and only it",
            ),
            (
                r#"xmlns:x="http://www.w3.org/2000/xmlns/""#,
                "<hello/>",
                "no prefix may be bound to",
            ),
            (
                r#"xmlns:x="""#,
                "<hello/>",
                "the prefix 'x' may not be undeclared",
            ),
            // A prefix declared on a sibling is out of scope.
            (
                "",
                r#"<command><logout xmlns:d="urn:ietf:params:xml:ns:domain-1.0"/><d:x/></command>"#,
                "undeclared namespace prefix 'd' on <x>",
            ),
        ] {
            let doc = format!(r#"<epp xmlns="{epp}" {attrs}>{body}</epp>"#);
            refused_as_malformed(&doc, reason);
        }
        // The default namespace may be undeclared, and a redeclared prefix shadows the outer.
        let doc = r#"<e:epp xmlns:e="urn:other"><e:hello xmlns:e="urn:ietf:params:xml:ns:epp-1.0"/></e:epp>"#;
        let err = decode::<NoExtensions>(doc.as_bytes()).unwrap_err();
        assert!(
            err.reason().contains("the root element must be <epp>"),
            "{}",
            err.reason()
        );
        let doc = format!(r#"<e:epp xmlns:e="{epp}" xmlns:x="urn:x"><e:hello xmlns=""/></e:epp>"#);
        assert_eq!(
            decode::<NoExtensions>(doc.as_bytes()).unwrap(),
            Request::Hello
        );
        // References in a declaration are resolved before the namespace is compared.
        let doc = r#"<epp xmlns="urn:ietf:params:xml:ns:epp&#45;1.0"><hello/></epp>"#;
        assert_eq!(
            decode::<NoExtensions>(doc.as_bytes()).unwrap(),
            Request::Hello
        );
    }

    #[test]
    fn an_attribute_may_appear_once() {
        let d = "urn:ietf:params:xml:ns:domain-1.0";
        for (doc, reason) in [
            (
                format!(
                    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><info><domain:info xmlns:domain="{d}"><domain:name hosts="all" hosts="none">a.no</domain:name></domain:info></info></command></epp>"#
                ),
                "attribute 'hosts' appears twice on <name>",
            ),
            (
                r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0" xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#
                    .to_owned(),
                "attribute 'xmlns' appears twice on <epp>",
            ),
            (
                format!(
                    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><info><domain:info xmlns:domain="{d}" xmlns:domain="{d}"><domain:name>a.no</domain:name></domain:info></info></command></epp>"#
                ),
                "attribute 'xmlns:domain' appears twice on <info>",
            ),
        ] {
            refused_as_malformed(&doc, reason);
        }
        // The same local name under two prefixes is two attributes (both refused here as
        // qualified attributes EPP does not define, but not as duplicates).
        let doc = format!(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0" xmlns:a="urn:a" xmlns:b="urn:b"><command><info><domain:info xmlns:domain="{d}"><domain:name a:x="1" b:x="2">a.no</domain:name></domain:info></info></command></epp>"#
        );
        let err = decode::<NoExtensions>(doc.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Structure, "{}", err.reason());
    }

    #[test]
    fn names_must_be_ncnames() {
        for doc in [
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><:hello/></epp>"#,
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello:/></epp>"#,
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><1hello/></epp>"#,
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><he"llo/></epp>"#,
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0" :a="x"><hello/></epp>"#,
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0" a!="x"><hello/></epp>"#,
        ] {
            refused_as_malformed(doc, "");
        }
    }

    #[test]
    fn captured_elements_declare_the_namespaces_they_inherit() {
        let xsi = "http://www.w3.org/2001/XMLSchema-instance";
        let doc = info(
            &format!(r#"xmlns:h="urn:ietf:params:xml:ns:host-1.0" xmlns:xsi="{xsi}""#),
            r#"<h:info xsi:schemaLocation="x y"><h:name>ns1.a.no</h:name></h:info>"#,
        );
        assert_eq!(
            ext_xml(&doc),
            format!(
                r#"<h:info xmlns:h="urn:ietf:params:xml:ns:host-1.0" xmlns:xsi="{xsi}" xsi:schemaLocation="x y"><h:name>ns1.a.no</h:name></h:info>"#
            )
        );
    }

    #[test]
    fn captured_elements_keep_their_own_declarations_and_the_default_namespace() {
        let own = r#"<h:info xmlns:h="urn:ietf:params:xml:ns:host-1.0"><h:name>ns1.a.no</h:name></h:info>"#;
        assert_eq!(ext_xml(&info("", own)), own);
        // An unprefixed element inherits the default namespace, here EPP's.
        let doc = info("", "<x:info xmlns:x=\"urn:x\"><plain/></x:info>");
        assert_eq!(
            ext_xml(&doc),
            "<x:info xmlns=\"urn:ietf:params:xml:ns:epp-1.0\" xmlns:x=\"urn:x\"><plain/></x:info>"
        );
    }
}
