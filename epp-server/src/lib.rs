//! The EPP registry server: TLS with rustls, one task per connection driving
//! `epp-session` over `epp-frame`, the SQLite and PostgreSQL stores, configuration, the
//! admin CLI, logs and metrics.
//!
//! This is the only crate that knows tokio, rustls, SQL, configuration files and process
//! signals. It holds no protocol or registry rules of its own.

pub mod store;
