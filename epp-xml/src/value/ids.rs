use std::borrow::Borrow;
use std::fmt;

/// Why a string is not a valid value of a schema type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value is shorter than the type's `minLength` facet, in characters.
    #[error("{type_name} must be at least {min} characters long, got {len}")]
    TooShort {
        /// The schema type, e.g. `eppcom:clIDType`.
        type_name: &'static str,
        /// The `minLength` facet.
        min: usize,
        /// The value's length in characters.
        len: usize,
    },
    /// The value is longer than the type's `maxLength` facet, in characters.
    #[error("{type_name} must be at most {max} characters long, got {len}")]
    TooLong {
        /// The schema type.
        type_name: &'static str,
        /// The `maxLength` facet.
        max: usize,
        /// The value's length in characters.
        len: usize,
    },
    /// The value is not in the type's lexical space (pattern, whitespace, date syntax).
    #[error("{type_name} value is malformed: {rule}")]
    Malformed {
        /// The schema type.
        type_name: &'static str,
        /// The rule broken, in words.
        rule: &'static str,
    },
}

/// Applies the `xs:token` whitespace rule: trims and collapses runs of XML whitespace
/// (space, tab, CR, LF) to one space. Borrows when nothing changes.
pub fn collapse_whitespace(s: &str) -> std::borrow::Cow<'_, str> {
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    // One pass over the bytes: a value needs work when it has a tab, CR or LF, two spaces
    // in a row, or a space at either end. Whitespace is ASCII, so bytes suffice.
    let bytes = s.as_bytes();
    let controls = bytes.iter().fold(false, |acc, &b| {
        acc | (b == b'\t') | (b == b'\r') | (b == b'\n')
    });
    let doubles = bytes
        .iter()
        .zip(bytes.iter().skip(1))
        .fold(false, |acc, (&a, &b)| acc | ((a == b' ') & (b == b' ')));
    let needs_work =
        controls || doubles || bytes.first() == Some(&b' ') || bytes.last() == Some(&b' ');
    if !needs_work {
        return std::borrow::Cow::Borrowed(s);
    }
    let trimmed = s.trim_matches(is_ws);
    let mut out = String::with_capacity(trimmed.len());
    let mut last_ws = false;
    for c in trimmed.chars() {
        if is_ws(c) {
            if !last_ws {
                out.push(' ');
            }
            last_ws = true;
        } else {
            out.push(c);
            last_ws = false;
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Checks a collapsed token against length facets counted in characters.
fn check_len(type_name: &'static str, s: &str, min: usize, max: usize) -> Result<(), ValueError> {
    let len = s.chars().count();
    if len < min {
        return Err(ValueError::TooShort {
            type_name,
            min,
            len,
        });
    }
    if len > max {
        return Err(ValueError::TooLong {
            type_name,
            max,
            len,
        });
    }
    Ok(())
}

/// Refuses values that `xs:token` collapsing would change: they were not collapsed first.
fn check_token(type_name: &'static str, s: &str) -> Result<(), ValueError> {
    if matches!(collapse_whitespace(s), std::borrow::Cow::Owned(_)) {
        return Err(ValueError::Malformed {
            type_name,
            rule: "leading, trailing, repeated or non-space whitespace in a token",
        });
    }
    Ok(())
}

macro_rules! token_type {
    (
        $(#[$doc:meta])*
        $name:ident, $type_name:literal, $min:expr, $max:expr $(, lowercase = $lower:tt)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The schema type this value belongs to.
            pub const TYPE_NAME: &'static str = $type_name;

            /// Builds the value from an already whitespace-collapsed token.
            ///
            /// # Errors
            ///
            /// [`ValueError`] naming the facet broken.
            pub fn new(value: impl Into<String>) -> Result<Self, ValueError> {
                #[allow(unused_mut)]
                let mut value = value.into();
                check_token($type_name, &value)?;
                check_len($type_name, &value, $min, $max)?;
                $( token_type!(@lower $lower, value); )?
                Ok(Self(value))
            }

            /// Builds the value from a token the decoder has already checked against the
            /// same facets (collapsed, within the lengths), skipping the second check.
            #[allow(dead_code, reason = "not every type is read from a document")]
            pub(crate) fn from_checked(value: String) -> Self {
                #[allow(unused_mut)]
                let mut value = value;
                debug_assert!(Self::new(value.clone()).is_ok(), "{value:?}");
                $( token_type!(@lower $lower, value); )?
                Self(value)
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValueError;
            fn try_from(s: &str) -> Result<Self, ValueError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(s: String) -> Result<Self, ValueError> {
                Self::new(s)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, ValueError> {
                Self::new(s)
            }
        }
    };
    (@lower true, $value:ident) => {
        $value.make_ascii_lowercase();
    };
}

token_type!(
    /// A registrar (client) identifier, e.g. `reg9094` (`eppcom:clIDType`: token, 3-16).
    ClientId, "eppcom:clIDType", 3, 16
);

token_type!(
    /// A contact identifier, e.g. `TR85R` (`eppcom:clIDType`: token, 3-16).
    ContactId, "eppcom:clIDType", 3, 16
);

token_type!(
    /// A fully qualified domain name in ACE form, e.g. `example.no`
    /// (`eppcom:labelType`: token, 1-255). ASCII letters are lower-cased on construction,
    /// since domain names compare case-insensitively.
    DomainName, "eppcom:labelType", 1, 255, lowercase = true
);

token_type!(
    /// A host (name server) name in ACE form, e.g. `ns1.example.no`
    /// (`eppcom:labelType`: token, 1-255). ASCII letters are lower-cased on construction.
    HostName, "eppcom:labelType", 1, 255, lowercase = true
);

token_type!(
    /// A client transaction identifier (`epp:trIDStringType`: token, 3-64).
    ClTrid, "epp:trIDStringType", 3, 64
);

token_type!(
    /// A server transaction identifier (`epp:trIDStringType`: token, 3-64).
    SvTrid, "epp:trIDStringType", 3, 64
);

token_type!(
    /// A login password or new password (`epp:pwType`: token, 6-16).
    ///
    /// Its `Debug` shows the value: never log it. Use it only where the clear text is needed.
    Password, "epp:pwType", 6, 16
);

/// A repository object identifier, e.g. `DOM659889D-NORID`
/// (`eppcom:roidType`: token matching `(\w|_){1,80}-\w{1,8}`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Roid(String);

impl Roid {
    /// The schema type this value belongs to.
    pub const TYPE_NAME: &'static str = "eppcom:roidType";

    /// Builds a ROID, checking the schema pattern.
    ///
    /// `\w` is read as the XML Schema word class restricted to what registries emit:
    /// Unicode letters and digits, and `_`.
    ///
    /// # Errors
    ///
    /// [`ValueError::Malformed`] when the pattern does not match.
    pub fn new(value: impl Into<String>) -> Result<Self, ValueError> {
        let value = value.into();
        let is_word = |c: char| c.is_alphanumeric() || c == '_';
        let malformed = || ValueError::Malformed {
            type_name: Self::TYPE_NAME,
            rule: "must match (\\w|_){1,80}-\\w{1,8}",
        };
        let (repo_obj, suffix) = value.rsplit_once('-').ok_or_else(malformed)?;
        let ok = (1..=80).contains(&repo_obj.chars().count())
            && repo_obj.chars().all(is_word)
            && (1..=8).contains(&suffix.chars().count())
            && suffix.chars().all(is_word);
        if !ok {
            return Err(malformed());
        }
        Ok(Self(value))
    }

    /// The value as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Roid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Roid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Roid({:?})", self.0)
    }
}

impl std::str::FromStr for Roid {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_lengths_follow_cl_id_type() {
        assert!(ClientId::new("reg9094").is_ok());
        assert_eq!(
            ClientId::new("ab"),
            Err(ValueError::TooShort {
                type_name: "eppcom:clIDType",
                min: 3,
                len: 2
            })
        );
        assert_eq!(
            ClientId::new("a".repeat(17)),
            Err(ValueError::TooLong {
                type_name: "eppcom:clIDType",
                max: 16,
                len: 17
            })
        );
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        assert!(ContactId::new("øøøøøøøøøøøøøøøø").is_ok());
    }

    #[test]
    fn tokens_must_be_collapsed() {
        assert!(matches!(
            ClientId::new(" reg1"),
            Err(ValueError::Malformed { .. })
        ));
        assert!(matches!(
            ClientId::new("reg  1"),
            Err(ValueError::Malformed { .. })
        ));
        assert!(matches!(
            ClientId::new("reg\t1"),
            Err(ValueError::Malformed { .. })
        ));
        assert!(ClTrid::new("ABC 123").is_ok());
    }

    #[test]
    fn collapse_whitespace_follows_xs_token() {
        assert_eq!(collapse_whitespace("  a \t\n b  "), "a b");
        assert!(matches!(
            collapse_whitespace("a b"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(collapse_whitespace(" \n "), "");
    }

    #[test]
    fn domain_and_host_names_are_lower_cased() {
        assert_eq!(
            DomainName::new("Example.NO").unwrap().as_str(),
            "example.no"
        );
        assert_eq!(
            HostName::new("NS1.Example.no").unwrap().as_str(),
            "ns1.example.no"
        );
        assert!(DomainName::new("").is_err());
    }

    #[test]
    fn password_facets() {
        assert!(Password::new("theOldPW").is_ok());
        assert!(Password::new("short").is_err());
        assert!(Password::new("seventeen-chars-x").is_err());
    }

    #[test]
    fn roid_pattern() {
        assert!(Roid::new("DOM659889D-NORID").is_ok());
        assert!(Roid::new("C_1-X").is_ok());
        assert!(Roid::new("DOM659889D").is_err());
        assert!(Roid::new("-NORID").is_err());
        assert!(Roid::new("DOM-123456789").is_err());
        assert!(Roid::new("DOM 1-NORID").is_err());
    }
}
