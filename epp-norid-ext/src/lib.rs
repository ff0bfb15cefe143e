//! Norid's (.no) EPP extensions (`no-ext-epp`, `no-ext-domain` 1.0 and 1.1,
//! `no-ext-contact`, `no-ext-host`, `no-ext-result`) and Norid's registry policy rules.
//!
//! What this crate deliberately does **not** do: framing, sockets, TLS, session state or
//! storage. It plugs into the extension points of `epp-xml`.

pub mod policy;
