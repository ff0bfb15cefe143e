//! The registry's objects in EPP terms, as the store keeps them.
//!
//! Field names follow RFC 5731-5733 and Norid's `no-ext-*` schemas. Each object snapshot
//! carries the `version` it was read at; an update submits the changed snapshot with that
//! version unchanged, and the store refuses it with [`StoreError::Conflict`] when the
//! stored object has moved on (optimistic concurrency).
//!
//! The objects serialise to JSON (serde) in the layout the SQL stores keep in their `data`
//! columns and in history rows. Optional fields may be absent, so fields can be added later
//! without rewriting stored rows.
//!
//! [`StoreError::Conflict`]: super::StoreError::Conflict

mod contact;
mod domain;
mod host;
mod message;
mod record;
mod registrar;

use std::fmt;
use std::str::FromStr;

use epp_xml::ValueError;
use serde::{Deserialize, Serialize};

pub use contact::{Contact, ContactStatus, ContactType, Disclose, Identity, IdentityType, Phone};
pub use contact::{ContactQuery, PostalInfo};
pub use domain::{
    ApplicantDataset, ContactRole, Domain, DomainContact, DomainQuery, DomainStatus, DsData,
    KeyData, Lifecycle, SecDns, TransferRecord, TransferStatus,
};
pub use host::{Host, HostQuery, HostStatus, PendingHostUpdate};
pub use message::{
    NewPollMessage, PollMessage, PollPayload, PollQueue, PollSummary, PolledMessage,
};
pub use record::{
    HistoryEntry, NewNotification, Notification, NotifyChannel, ObjectKey, ObjectKind,
    ReplayRecord, Sequence, TokenHash, TransferToken,
};
pub use registrar::{
    CertFingerprint, LoginCheck, NewRegistrar, PasswordHash, PasswordInput, Registrar,
    RegistrarChange, WITHDRAWN_REGISTRAR,
};

/// The optional reason text a client may attach to a status value (RFC 5731 section 2.3:
/// `<domain:status s="clientHold" lang="en">Payment overdue.</domain:status>`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusNote {
    /// The `lang` attribute, when the client gave one (EPP's default is `en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The reason text.
    pub text: String,
}

/// An authorisation secret (`<domain:pw>`, `<contact:pw>`): Norid's transfer code on
/// domains. Stored in clear because EPP returns it to the sponsor in `info`.
///
/// `Debug` does not show the value, so it never reaches a log line by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuthInfo(String);

impl AuthInfo {
    /// Wraps a secret as the client sent it.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret in clear.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares with a candidate in time independent of where they differ.
    pub fn matches(&self, candidate: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate.as_bytes())
    }
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthInfo(<redacted>)")
    }
}

/// Compares two byte strings without an early exit on the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The error for a token that names no value of a closed EPP enumeration.
fn unknown(type_name: &'static str) -> ValueError {
    ValueError::Malformed {
        type_name,
        rule: "not one of the enumerated values",
    }
}

/// Defines a closed enumeration of EPP tokens with `as_str`, `FromStr`, `Display` and serde
/// as the token itself.
macro_rules! token_enum {
    (
        $(#[$doc:meta])*
        $name:ident, $type_name:literal {
            $( $(#[$vdoc:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The token as EPP writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::epp_xml::ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)*
                    _ => Err($crate::store::model::unknown($type_name)),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use token_enum;

/// Serde adapters for the value types of `epp-xml`, which do not implement serde
/// themselves: identifiers as their string, timestamps as `xs:dateTime` with microseconds.
pub(crate) mod serde_as {
    use super::*;

    /// A value written with `Display` and read with `FromStr`.
    pub(crate) mod text {
        use super::*;

        pub(crate) fn serialize<T: fmt::Display, S: serde::Serializer>(
            v: &T,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_str(v)
        }

        pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
        where
            T: FromStr,
            T::Err: fmt::Display,
            D: serde::Deserializer<'de>,
        {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        }
    }

    /// An optional [`text`] value.
    pub(crate) mod opt_text {
        use super::*;

        pub(crate) fn serialize<T: fmt::Display, S: serde::Serializer>(
            v: &Option<T>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.collect_str(v),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
        where
            T: FromStr,
            T::Err: fmt::Display,
            D: serde::Deserializer<'de>,
        {
            let s = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            s.map(|s| s.parse().map_err(serde::de::Error::custom))
                .transpose()
        }
    }

    /// A list of [`text`] values.
    pub(crate) mod vec_text {
        use super::*;

        pub(crate) fn serialize<T: fmt::Display, S: serde::Serializer>(
            v: &[T],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| x.to_string()))
        }

        pub(crate) fn deserialize<'de, T, D>(d: D) -> Result<Vec<T>, D::Error>
        where
            T: FromStr,
            T::Err: fmt::Display,
            D: serde::Deserializer<'de>,
        {
            let v = <Vec<String>>::deserialize(d)?;
            v.iter()
                .map(|s| s.parse().map_err(serde::de::Error::custom))
                .collect()
        }
    }

    /// A [`Timestamp`](epp_xml::Timestamp) as `YYYY-MM-DDThh:mm:ss.ffffffZ`.
    pub(crate) mod time {
        use epp_xml::Timestamp;

        use super::*;

        pub(crate) fn format(t: Timestamp) -> String {
            let (h, m, s, us) = t.time_of_day();
            format!("{}T{h:02}:{m:02}:{s:02}.{us:06}Z", t.date())
        }

        pub(crate) fn serialize<S: serde::Serializer>(
            t: &Timestamp,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.serialize_str(&format(*t))
        }

        pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Timestamp, D::Error> {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            Timestamp::parse(&s).map_err(serde::de::Error::custom)
        }
    }

    /// An optional [`time`] value.
    pub(crate) mod opt_time {
        use epp_xml::Timestamp;

        use super::*;

        pub(crate) fn serialize<S: serde::Serializer>(
            t: &Option<Timestamp>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&time::format(*t)),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Timestamp>, D::Error> {
            let s = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            s.map(|s| Timestamp::parse(&s).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

/// The JSON form of domains, contacts and hosts: the `data` column of the SQL stores and
/// the before/after of history rows.
macro_rules! json_form {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The object as JSON, without its version.
            ///
            /// # Errors
            ///
            /// [`StoreError::InvalidChange`](crate::store::StoreError) if serde refuses the
            /// value (not expected: every map key is a string).
            pub fn to_json(&self) -> Result<String, crate::store::StoreError> {
                serde_json::to_string(self).map_err(|e| {
                    crate::store::StoreError::InvalidChange(format!(
                        "cannot encode {}: {e}",
                        stringify!($ty)
                    ))
                })
            }

            /// Reads the JSON form, setting the version kept beside it.
            ///
            /// # Errors
            ///
            /// [`StoreError::Corrupt`](crate::store::StoreError) when the text is not a
            /// valid object of this type.
            pub fn from_json(json: &str, version: u64) -> Result<Self, crate::store::StoreError> {
                let mut object: Self = serde_json::from_str(json).map_err(|e| {
                    crate::store::StoreError::Corrupt(format!(
                        "{} JSON does not decode: {e}",
                        stringify!($ty)
                    ))
                })?;
                object.version = version;
                Ok(object)
            }
        }
    )*};
}
json_form!(Domain, Contact, Host);

impl Registrar {
    /// The account as history rows show it: no password hashes, only whether a new
    /// password is pending.
    pub fn history_json(&self) -> String {
        serde_json::json!({
            "id": self.id.as_str(),
            "name": self.name,
            "enabled": self.enabled,
            "sessionLimit": self.session_limit,
            "certPins": self.cert_pins.iter().map(CertFingerprint::to_hex).collect::<Vec<_>>(),
            "pendingPassword": self.pending_password.is_some(),
            "created": serde_as::time::format(self.created),
        })
        .to_string()
    }
}

impl TransferToken {
    /// The token as history rows show it: without the hash.
    pub fn history_json(&self) -> String {
        serde_json::json!({
            "domain": self.domain.as_str(),
            "requestedBy": self.requested_by.as_str(),
            "channel": self.channel.as_str(),
            "target": self.target,
            "created": serde_as::time::format(self.created),
            "expires": serde_as::time::format(self.expires),
        })
        .to_string()
    }
}

impl DomainQuery {
    /// Whether a domain matches (the in-memory form of the SQL stores' filters).
    pub fn matches(&self, d: &Domain) -> bool {
        match self {
            Self::All => true,
            Self::Sponsor(cl) => d.cl_id == *cl,
            Self::Registrant(c) => d.registrant == *c,
            Self::NameServer(h) => d.ns.contains(h),
            Self::ExpiredBefore(t) => d.lifecycle == Lifecycle::Active && d.ex_date < *t,
            Self::QuarantinedBefore(t) => {
                matches!(d.lifecycle, Lifecycle::Quarantined { since } if since < *t)
            }
            Self::DeleteFromDnsBy(day) => d.delete_from_dns.is_some_and(|x| x <= *day),
            Self::DeleteFromRegistryBy(day) => d.delete_from_registry.is_some_and(|x| x <= *day),
        }
    }
}

impl ContactQuery {
    /// Whether a contact matches.
    pub fn matches(&self, c: &Contact) -> bool {
        match self {
            Self::All => true,
            Self::Sponsor(cl) => c.cl_id == *cl,
            Self::MemberOf(org) => c.organizations.contains(org),
        }
    }
}

impl HostQuery {
    /// Whether a host matches.
    pub fn matches(&self, h: &Host) -> bool {
        match self {
            Self::All => true,
            Self::Sponsor(cl) => h.cl_id == *cl,
            Self::Subordinate(d) => h
                .name
                .as_str()
                .strip_suffix(d.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
            Self::Pending => h.pending.is_some(),
            Self::Contact(c) => h.contacts.contains(c),
        }
    }
}
