//! Fails when the crate layering described in ARCHITECTURE.md breaks.
//!
//! Reads the normal and build dependency closure of each library crate with `cargo tree`
//! (so features are resolved as for that crate alone) and checks that no crate pulls in a
//! layer it must not know.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::Command;

/// Crates that parse or write XML.
fn is_xml(name: &str) -> bool {
    name.contains("xml") || name.contains("xsd")
}

/// Async runtimes and their I/O stacks.
fn is_tokio(name: &str) -> bool {
    name == "tokio" || name.starts_with("tokio-") || name == "mio" || name == "async-std"
}

/// TLS stacks.
fn is_tls(name: &str) -> bool {
    name.contains("rustls") || name.contains("openssl") || name == "native-tls" || name == "ring"
}

/// SQL drivers and ORMs.
fn is_sql(name: &str) -> bool {
    [
        "sqlx",
        "rusqlite",
        "libsqlite3-sys",
        "postgres",
        "tokio-postgres",
        "diesel",
        "sea-orm",
    ]
    .iter()
    .any(|p| name == *p || name.starts_with(&format!("{p}-")))
        || name.contains("mysql")
}

fn dependencies(krate: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "-p",
            krate,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deps: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != krate)
        .map(str::to_owned)
        .collect();
    deps
}

fn assert_none(krate: &str, what: &str, rule: fn(&str) -> bool) {
    let bad: Vec<_> = dependencies(krate)
        .into_iter()
        .filter(|d| rule(d))
        .collect();
    assert!(
        bad.is_empty(),
        "{krate} must not depend on {what} crates, but pulls in {bad:?}"
    );
}

fn epp_crates(krate: &str) -> BTreeSet<String> {
    dependencies(krate)
        .into_iter()
        .filter(|d| d.starts_with("epp-"))
        .collect()
}

#[test]
fn epp_frame_knows_no_xml() {
    assert_none("epp-frame", "XML", is_xml);
    assert!(epp_crates("epp-frame").is_empty());
}

#[test]
fn xml_layers_know_no_runtime_tls_or_sql() {
    for krate in ["epp-xml", "epp-norid-ext"] {
        assert_none(krate, "tokio", is_tokio);
        assert_none(krate, "TLS", is_tls);
        assert_none(krate, "SQL", is_sql);
    }
    assert!(epp_crates("epp-xml").is_empty());
    assert!(epp_crates("epp-norid-ext").iter().all(|c| c == "epp-xml"));
}

#[test]
fn session_knows_no_tokio_tls_or_sql() {
    assert_none("epp-session", "tokio", is_tokio);
    assert_none("epp-session", "TLS", is_tls);
    assert_none("epp-session", "SQL", is_sql);
    assert!(
        epp_crates("epp-session")
            .iter()
            .all(|c| c == "epp-xml" || c == "epp-norid-ext")
    );
}

#[test]
fn the_rules_catch_what_they_name() {
    // Guard against rules that can never fire.
    assert!(is_xml("quick-xml") && is_xml("xsd-parser") && !is_xml("bytes"));
    assert!(is_tokio("tokio") && is_tokio("tokio-util") && !is_tokio("bytes"));
    assert!(is_tls("rustls") && is_tls("tokio-rustls") && is_tls("ring") && !is_tls("argon2"));
    assert!(is_sql("rusqlite") && is_sql("tokio-postgres") && is_sql("sqlx-core"));
    assert!(is_sql("postgres-protocol") && !is_sql("argon2"));
    // epp-frame itself depends on tokio-util: the tree read must see it.
    assert!(dependencies("epp-frame").contains("tokio-util"));
}
