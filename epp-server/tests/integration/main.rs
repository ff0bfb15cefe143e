//! Integration tests against the real `epp-server` binary, started on port 0 with a
//! temporary data directory (SQLite, or a fresh PostgreSQL schema from `EPP_TEST_PG_URL`)
//! and reached over real TLS with rcgen certificates: EPP sessions end to end, epp-session's
//! scripts and Norid's seed exchanges over TLS, certificate policy, limits and timeouts,
//! graceful shutdown, hostile input, logs and metrics, the outbox and the lifecycle scheduler, the admin
//! commands and `config check`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod cli;
mod consistency;
mod crash;
mod db;
mod epp;
mod harness;
mod hostile;
mod interop;
mod lifecycle;
mod limits;
mod observe;
mod outbox;
mod quota;
mod races;
mod scripts;
mod serve_db;
mod shutdown;
mod tls;
