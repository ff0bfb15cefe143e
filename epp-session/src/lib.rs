//! The sans-IO EPP session state machine and the registry logic behind it.
//!
//! One registrar connection from greeting to logout: input is one frame payload plus the
//! current time, output is response bytes and what the connection must do next. Storage is
//! reached through a `Store` trait stated in EPP terms.
//!
//! What this crate deliberately does **not** do: sockets, TLS, tokio, SQL or reading the
//! wall clock. Time, identifiers and randomness are passed in.

pub mod store;
