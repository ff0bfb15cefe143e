//! epp-xml's own types for schema content that xsd-parser would otherwise type with its
//! runtime crate: untyped (`xs:anyType`) elements, `xs:any` wildcards, mixed text.

/// An element whose type the schema leaves open (`xs:anyType`) and that EPP uses as a flag,
/// such as `<logout/>`, `<domain:null/>` or `<contact:voice/>` inside `<contact:disclose>`.
///
/// Any content such an element carries is accepted (as the schema does) and dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Empty;

/// An element matched by an `xs:any` wildcard that this crate does not interpret, kept as
/// its expanded name and the exact source text of the element.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AnyElement {
    /// The element's namespace URI (empty when it has none).
    pub namespace: String,
    /// The element's local name.
    pub name: String,
    /// The element as it appeared in the document, from `<` to its closing `>`. Prefixes
    /// declared on ancestors are not repeated here.
    pub xml: String,
}

/// Mixed text content (`errValueType`); not used by the decoder or the serialiser.
pub(crate) type Text = String;

/// Wildcard attributes (`errValueType`); not used by the decoder or the serialiser.
pub(crate) type AnyAttributes = Vec<(String, String)>;

/// `epp:versionType`: the only EPP version is `1.0`.
pub(crate) type EppVersion = String;
