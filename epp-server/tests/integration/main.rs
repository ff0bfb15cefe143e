//! Integration tests against the real binaries: `epp-server` (command line, `config
//! check`, the admin commands on SQLite and PostgreSQL, and its refusal to serve until
//! the EPP session is wired) and
//! `epp-server-testbed` (the same serve path with a line protocol), started on port 0 with
//! a temporary data directory and reached over real TLS with rcgen certificates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod cli;
mod db;
mod harness;
mod lifecycle;
mod limits;
mod outbox;
mod serve_db;
mod tls;
