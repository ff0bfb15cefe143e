//! Schema-shaped helpers over [`XmlReader`]: a cursor over a sequence of child elements, and
//! the lexical checks of the XML Schema types EPP uses, each refusal naming the element and
//! the facet with the RFC 5730 code for it.

use std::borrow::Cow;

use crate::error::{DecodeError, ErrorKind};
use crate::reader::{Element, XmlReader};
use crate::value::collapse_whitespace;
use crate::{ClientId, ContactId, Date, DomainName, HostName, Timestamp, ValueError};

/// A cursor over the children of one element, read in schema order.
pub struct Seq<'r, 'a> {
    reader: &'r mut XmlReader<'a>,
    parent: Element<'a>,
    next: Option<Element<'a>>,
    ended: bool,
}

impl<'r, 'a> Seq<'r, 'a> {
    /// A cursor over the children of `parent`, which was just started.
    pub fn new(reader: &'r mut XmlReader<'a>, parent: Element<'a>) -> Self {
        Self {
            reader,
            parent,
            next: None,
            ended: false,
        }
    }

    /// The parent element.
    pub fn parent(&self) -> &Element<'a> {
        &self.parent
    }

    /// The reader, to parse the content of an element this cursor handed out.
    pub fn reader(&mut self) -> &mut XmlReader<'a> {
        self.reader
    }

    /// The next child without consuming it, or `None` at the parent's end.
    ///
    /// # Errors
    ///
    /// Any error of the underlying document.
    pub fn peek(&mut self) -> Result<Option<&Element<'a>>, DecodeError> {
        if self.next.is_none() && !self.ended {
            self.next = self.reader.next_child(&self.parent)?;
            self.ended = self.next.is_none();
        }
        Ok(self.next.as_ref())
    }

    /// Takes the next child if it is `{ns}name`.
    ///
    /// # Errors
    ///
    /// Any error of the underlying document.
    pub fn opt(&mut self, ns: &str, name: &str) -> Result<Option<Element<'a>>, DecodeError> {
        match self.peek()? {
            Some(e) if e.is(ns, name) => Ok(self.next.take()),
            _ => Ok(None),
        }
    }

    /// Takes the next child, which must be `{ns}name`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MissingParameter`] when the parent ends first, [`ErrorKind::Structure`]
    /// when another element stands in its place.
    pub fn req(&mut self, ns: &str, prefix: &str, name: &str) -> Result<Element<'a>, DecodeError> {
        if let Some(e) = self.opt(ns, name)? {
            return Ok(e);
        }
        let wanted = qualified(prefix, name);
        Err(match &self.next {
            None => DecodeError::new(
                ErrorKind::MissingParameter,
                format!(
                    "required element {wanted} is missing in {}",
                    self.parent.display()
                ),
            ),
            Some(other) => DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "expected {wanted} in {}, found {}",
                    self.parent.display(),
                    other.display()
                ),
            ),
        })
    }

    /// Takes the next child if it is `{ns}name` and parses it with `f`.
    ///
    /// # Errors
    ///
    /// Any error of the underlying document or of `f`.
    pub fn opt_with<T>(
        &mut self,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut XmlReader<'a>, Element<'a>) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.opt(ns, name)? {
            Some(e) => Ok(Some(f(self.reader, e)?)),
            None => Ok(None),
        }
    }

    /// Takes the next child, which must be `{ns}name`, and parses it with `f`.
    ///
    /// # Errors
    ///
    /// As [`Seq::req`], and any error of `f`.
    pub fn req_with<T>(
        &mut self,
        ns: &str,
        prefix: &str,
        name: &str,
        f: impl FnOnce(&mut XmlReader<'a>, Element<'a>) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        let e = self.req(ns, prefix, name)?;
        f(self.reader, e)
    }

    /// Takes the next child, whatever it is.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MissingParameter`] naming `what` when the parent ends first.
    pub fn any(&mut self, what: &str) -> Result<Element<'a>, DecodeError> {
        self.peek()?;
        self.next.take().ok_or_else(|| {
            DecodeError::new(
                ErrorKind::MissingParameter,
                format!("{} must contain {what}", self.parent.display()),
            )
        })
    }

    /// Takes `{ns}name` children while they come, between `min` and `max` of them, each
    /// parsed by `f`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::MissingParameter`] for fewer than `min` (when `min` is 1),
    /// [`ErrorKind::Structure`] for more than `max` or fewer than `min` otherwise, and any
    /// error of `f`.
    pub fn many<T>(
        &mut self,
        ns: &str,
        prefix: &str,
        name: &str,
        min: usize,
        max: usize,
        mut f: impl FnMut(&mut XmlReader<'a>, Element<'a>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let mut out = Vec::new();
        while let Some(e) = self.opt(ns, name)? {
            if out.len() == max {
                return Err(DecodeError::new(
                    ErrorKind::Structure,
                    format!(
                        "{} allows at most {max} {} element(s)",
                        self.parent.display(),
                        qualified(prefix, name)
                    ),
                ));
            }
            out.push(f(self.reader, e)?);
        }
        if out.len() < min {
            if out.is_empty() {
                self.req(ns, prefix, name)?;
            }
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "{} needs at least {min} {} element(s)",
                    self.parent.display(),
                    qualified(prefix, name)
                ),
            ));
        }
        Ok(out)
    }

    /// Checks that no child is left.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Structure`] naming the first unexpected child.
    pub fn end(mut self) -> Result<(), DecodeError> {
        match self.peek()? {
            None => Ok(()),
            Some(e) => Err(DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "unexpected element {} in {} (not allowed here, misplaced or repeated)",
                    e.display(),
                    self.parent.display()
                ),
            )),
        }
    }
}

fn qualified(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        format!("<{name}>")
    } else {
        format!("<{prefix}:{name}>")
    }
}

fn range(el: &Element<'_>, what: String) -> DecodeError {
    DecodeError::new(ErrorKind::ValueRange, format!("{}: {what}", el.display()))
}

fn syntax(el: &Element<'_>, what: String) -> DecodeError {
    DecodeError::new(ErrorKind::ValueSyntax, format!("{}: {what}", el.display()))
}

/// Applies `xs:token` whitespace collapsing and the length facets of `type_name`, counted
/// in characters.
///
/// # Errors
///
/// [`ErrorKind::ValueRange`] naming the facet.
pub fn token(
    el: &Element<'_>,
    raw: &str,
    type_name: &str,
    min: usize,
    max: usize,
) -> Result<String, DecodeError> {
    let v = collapse_whitespace(raw);
    check_len(el, &v, type_name, min, max)?;
    Ok(v.into_owned())
}

/// Applies `xs:normalizedString` whitespace replacement and the length facets.
///
/// # Errors
///
/// [`ErrorKind::ValueRange`] naming the facet.
pub fn normalized(
    el: &Element<'_>,
    raw: &str,
    type_name: &str,
    min: usize,
    max: usize,
) -> Result<String, DecodeError> {
    let v: Cow<'_, str> = if raw.contains(['\t', '\r', '\n']) {
        Cow::Owned(raw.replace(['\t', '\r', '\n'], " "))
    } else {
        Cow::Borrowed(raw)
    };
    check_len(el, &v, type_name, min, max)?;
    Ok(v.into_owned())
}

fn check_len(
    el: &Element<'_>,
    v: &str,
    type_name: &str,
    min: usize,
    max: usize,
) -> Result<(), DecodeError> {
    let len = v.chars().count();
    if len < min {
        return Err(range(
            el,
            format!("length {len} is below minLength {min} of {type_name}"),
        ));
    }
    if len > max {
        return Err(range(
            el,
            format!("length {len} exceeds maxLength {max} of {type_name}"),
        ));
    }
    Ok(())
}

/// Reads the text of `el` as a token of `type_name` with the given length facets.
///
/// # Errors
///
/// As [`XmlReader::text`] and [`token`].
pub fn text_token(
    r: &mut XmlReader<'_>,
    el: &Element<'_>,
    type_name: &str,
    min: usize,
    max: usize,
) -> Result<String, DecodeError> {
    el.allow_attrs(&[])?;
    let t = r.text(el)?;
    token(el, &t, type_name, min, max)
}

/// Builds a newtype (`DomainName`, `ContactId`, ...) from a value whose facets were already
/// checked, naming `el` if its constructor still refuses it.
///
/// # Errors
///
/// [`ErrorKind::ValueRange`] with the constructor's reason.
pub fn typed<T>(
    el: &Element<'_>,
    value: String,
    new: impl FnOnce(String) -> Result<T, ValueError>,
) -> Result<T, DecodeError> {
    new(value).map_err(|e| range(el, e.to_string()))
}

/// Reads the text of `el` as a domain name (`eppcom:labelType`: token, 1-255).
///
/// # Errors
///
/// As [`text_token`].
pub fn domain_name<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<DomainName, DecodeError> {
    let v = text_token(r, &el, "eppcom:labelType", 1, 255)?;
    typed(&el, v, DomainName::new)
}

/// Reads the text of `el` as a host name (`eppcom:labelType`: token, 1-255).
///
/// # Errors
///
/// As [`text_token`].
pub fn host_name<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<HostName, DecodeError> {
    let v = text_token(r, &el, "eppcom:labelType", 1, 255)?;
    typed(&el, v, HostName::new)
}

/// Reads the text of `el` as a contact id (`eppcom:clIDType`: token, 3-16).
///
/// # Errors
///
/// As [`text_token`].
pub fn contact_id<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<ContactId, DecodeError> {
    let v = text_token(r, &el, "eppcom:clIDType", 3, 16)?;
    typed(&el, v, ContactId::new)
}

/// Reads the text of `el` as a client (registrar) id (`eppcom:clIDType`: token, 3-16).
///
/// # Errors
///
/// As [`text_token`].
pub fn client_id<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<ClientId, DecodeError> {
    let v = text_token(r, &el, "eppcom:clIDType", 3, 16)?;
    typed(&el, v, ClientId::new)
}

/// Maps a collapsed token onto one of `values`.
///
/// # Errors
///
/// [`ErrorKind::ValueRange`] listing the allowed values.
pub fn enumeration<T: Clone>(
    el: &Element<'_>,
    what: &str,
    raw: &str,
    values: &[(&str, T)],
) -> Result<T, DecodeError> {
    let v = collapse_whitespace(raw);
    values
        .iter()
        .find(|(s, _)| *s == v)
        .map(|(_, t)| t.clone())
        .ok_or_else(|| {
            let allowed: Vec<&str> = values.iter().map(|(s, _)| *s).collect();
            range(
                el,
                format!("{what} '{v}' is not one of {}", allowed.join(", ")),
            )
        })
}

/// Parses `xs:boolean` (`true`, `false`, `1`, `0`).
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`].
pub fn boolean(el: &Element<'_>, what: &str, raw: &str) -> Result<bool, DecodeError> {
    match collapse_whitespace(raw).as_ref() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        v => Err(syntax(
            el,
            format!("{what} '{v}' is not an xs:boolean (true, false, 1, 0)"),
        )),
    }
}

/// Parses an unsigned decimal integer in `min..=max` (`xs:unsignedShort`,
/// `xs:unsignedByte`, `xs:unsignedLong` and restrictions of them).
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`] for anything but digits (an optional leading `+` allowed),
/// [`ErrorKind::ValueRange`] outside the range.
pub fn unsigned(
    el: &Element<'_>,
    type_name: &str,
    raw: &str,
    min: u64,
    max: u64,
) -> Result<u64, DecodeError> {
    let v = collapse_whitespace(raw);
    let digits = v.strip_prefix('+').unwrap_or(&v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax(el, format!("'{v}' is not a valid {type_name}")));
    }
    let trimmed = digits.trim_start_matches('0');
    let n = if trimmed.is_empty() {
        0
    } else if trimmed.len() > 20 {
        u64::MAX
    } else {
        trimmed.parse::<u64>().unwrap_or(u64::MAX)
    };
    if n < min || n > max {
        return Err(range(
            el,
            format!("{v} is outside {min}..={max} of {type_name}"),
        ));
    }
    Ok(n)
}

/// Parses a signed decimal integer in `min..=max` (`xs:int` restrictions).
///
/// # Errors
///
/// As [`unsigned`].
pub fn signed(
    el: &Element<'_>,
    type_name: &str,
    raw: &str,
    min: i64,
    max: i64,
) -> Result<i64, DecodeError> {
    let v = collapse_whitespace(raw);
    let (neg, digits) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, &v[..]),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax(el, format!("'{v}' is not a valid {type_name}")));
    }
    let trimmed = digits.trim_start_matches('0');
    let mag: i128 = if trimmed.len() > 20 {
        i128::MAX
    } else {
        trimmed.parse::<i128>().unwrap_or(0)
    };
    let n = if neg { -mag } else { mag };
    if n < i128::from(min) || n > i128::from(max) {
        return Err(range(
            el,
            format!("{v} is outside {min}..={max} of {type_name}"),
        ));
    }
    Ok(n as i64)
}

/// Parses `xs:dateTime` at the precision EPP documents show: whole centiseconds, finer
/// digits truncated (so that a decoded value always re-encodes to itself).
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`].
pub fn date_time(el: &Element<'_>, raw: &str) -> Result<Timestamp, DecodeError> {
    let v = collapse_whitespace(raw);
    Timestamp::parse(&v)
        .map(Timestamp::truncate_to_centis)
        .map_err(|e| syntax(el, format!("'{v}' is not a valid xs:dateTime ({e})")))
}

/// Reads the text of `el` (which takes no attributes) as `xs:dateTime`.
///
/// # Errors
///
/// As [`XmlReader::text`] and [`date_time`].
pub fn timestamp<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Timestamp, DecodeError> {
    el.allow_attrs(&[])?;
    let t = r.text(&el)?;
    date_time(&el, &t)
}

/// Reads the text of `el` (which takes no attributes) as `xs:string`: kept as written.
///
/// # Errors
///
/// As [`XmlReader::text`].
pub fn string<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    el.allow_attrs(&[])?;
    Ok(r.text(&el)?.into_owned())
}

/// Checks `xs:duration` (`-?PnYnMnDTnHnMnS`, each part optional but at least one, `T`
/// only before time parts, seconds with an optional fraction) and returns the collapsed
/// text.
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`].
pub fn duration(el: &Element<'_>, raw: &str) -> Result<String, DecodeError> {
    let v = collapse_whitespace(raw);
    if !is_duration(&v) {
        return Err(syntax(el, format!("'{v}' is not a valid xs:duration")));
    }
    Ok(v.into_owned())
}

fn is_duration(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let Some(v) = v.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match v.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return false,
        None => (v, None),
    };
    // Each part is digits followed by its designator, in this order, each at most once.
    let parts = |s: &str, designators: &[u8], fraction_on_last: bool| -> Option<usize> {
        let mut rest = s.as_bytes();
        let mut next = 0;
        let mut count = 0;
        while !rest.is_empty() {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let mut len = digits;
            if fraction_on_last && rest.get(len) == Some(&b'.') {
                let frac = rest[len + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if frac == 0 {
                    return None;
                }
                len += 1 + frac;
                if rest.get(len) != designators.last() {
                    return None;
                }
            }
            if digits == 0 {
                return None;
            }
            let d = *rest.get(len)?;
            let pos = designators[next..].iter().position(|x| *x == d)?;
            next += pos + 1;
            count += 1;
            rest = &rest[len + 1..];
        }
        Some(count)
    };
    let Some(n_date) = parts(date, b"YMD", false) else {
        return false;
    };
    let n_time = match time {
        Some(t) => match parts(t, b"HMS", true) {
            Some(0) | None => return false,
            Some(n) => n,
        },
        None => 0,
    };
    n_date + n_time > 0
}

/// Parses `xs:date`.
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`].
pub fn date(el: &Element<'_>, raw: &str) -> Result<Date, DecodeError> {
    let v = collapse_whitespace(raw);
    Date::parse(&v).map_err(|e| syntax(el, format!("'{v}' is not a valid xs:date ({e})")))
}

/// Checks `xs:language` (`[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`).
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`].
pub fn language(el: &Element<'_>, raw: &str) -> Result<String, DecodeError> {
    let v = collapse_whitespace(raw);
    let ok = v.split('-').enumerate().all(|(i, part)| {
        (1..=8).contains(&part.len())
            && part.bytes().all(|b| {
                if i == 0 {
                    b.is_ascii_alphabetic()
                } else {
                    b.is_ascii_alphanumeric()
                }
            })
    });
    if !ok {
        return Err(syntax(el, format!("'{v}' is not a valid xs:language")));
    }
    Ok(v.into_owned())
}

/// Checks `xs:hexBinary` (an even number of hex digits) and returns the collapsed text.
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`].
pub fn hex_binary(el: &Element<'_>, raw: &str) -> Result<String, DecodeError> {
    let v = collapse_whitespace(raw);
    if !v.len().is_multiple_of(2) || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(syntax(el, "value is not valid xs:hexBinary".into()));
    }
    Ok(v.into_owned())
}

/// Checks `xs:base64Binary` (RFC 4648 alphabet, padding, whitespace allowed between
/// characters) with a minimum decoded length, and returns the collapsed text.
///
/// # Errors
///
/// [`ErrorKind::ValueSyntax`] or, below `min_len` octets, [`ErrorKind::ValueRange`].
pub fn base64_binary(el: &Element<'_>, raw: &str, min_len: usize) -> Result<String, DecodeError> {
    let v = collapse_whitespace(raw);
    let chars: Vec<u8> = v.bytes().filter(|b| *b != b' ').collect();
    let pad = chars.iter().rev().take_while(|b| **b == b'=').count();
    let body = &chars[..chars.len() - pad];
    let ok = chars.len().is_multiple_of(4)
        && pad <= 2
        && body
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/');
    if !ok {
        return Err(syntax(el, "value is not valid xs:base64Binary".into()));
    }
    let octets = chars.len() / 4 * 3 - pad;
    if octets < min_len {
        return Err(range(
            el,
            format!("{octets} octets is below minLength {min_len}"),
        ));
    }
    Ok(v.into_owned())
}

/// Reads an element that carries neither text nor children nor attributes beyond those
/// allowed (`<domain:null/>`, `<logout/>`): `xs:anyType` content is skipped.
///
/// # Errors
///
/// Any error of the underlying document.
pub fn empty(r: &mut XmlReader<'_>, el: &Element<'_>) -> Result<crate::Empty, DecodeError> {
    r.skip(el)?;
    Ok(crate::Empty)
}
