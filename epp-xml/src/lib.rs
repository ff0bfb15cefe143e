//! Typed EPP documents: RFC 5730 (core), 5731 (domain), 5732 (host), 5733 (contact) and
//! 5910 (secDNS-1.1).
//!
//! This crate turns one frame payload (the bytes of one XML document) into a typed command
//! and a typed response into bytes. It owns the project's own copies of the IETF schemas
//! and the types generated from them.
//!
//! What this crate deliberately does **not** do: framing, sockets, TLS, session state,
//! Norid policy or storage. Norid's `no-ext-*` extensions plug in from `epp-norid-ext`.

mod value;

pub use value::{
    ClTrid, ClientId, ContactId, Date, DomainName, HostName, Password, Roid, SvTrid, Timestamp,
    ValueError, collapse_whitespace,
};
