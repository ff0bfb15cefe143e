//! `epp-load` against the real `epp-server` binary, every scenario and baseline for about a
//! second each, on SQLite (and on PostgreSQL with `EPP_TEST_PG_URL`): the tool runs to the
//! end and reports sane output. No timing is asserted: speed is for `benches/run-all.sh`
//! and docs/BENCHMARKS.md.
//!
//! The server binary is the one beside `epp-load` in the target directory (`cargo test
//! --workspace` builds it), or `EPP_SERVER_BIN`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const LOAD: &str = env!("CARGO_BIN_EXE_epp-load");

fn server_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("EPP_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let bin = PathBuf::from(LOAD).with_file_name("epp-server");
    assert!(
        bin.exists(),
        "no epp-server binary at {}: build it first (cargo build -p epp-server; \
         `cargo test --workspace` does) or set EPP_SERVER_BIN",
        bin.display()
    );
    bin
}

const SESSIONS: u64 = 4;
const NAMES: u64 = 3;
const IDLE: u64 = 40;

fn run(backend: &str) -> Value {
    let out = Command::new(LOAD)
        .args([
            "--backend",
            backend,
            "--duration",
            "1",
            "--sessions",
            &SESSIONS.to_string(),
            "--registrars",
            "2",
            "--idle-sessions",
            &IDLE.to_string(),
            "--dropcatch-names",
            &NAMES.to_string(),
            "--json",
        ])
        .arg("--server-bin")
        .arg(server_bin())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "epp-load failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

fn check_report(r: &Value, postgres: bool) {
    let sc = &r["scenarios"];
    for name in [
        "check",
        "info",
        "mix",
        "create",
        "dropcatch",
        "connstorm",
        "connstorm_cert",
        "idle",
        "echo",
        "rawcreate",
    ] {
        let s = &sc[name];
        assert!(s["ops"].as_u64().unwrap() > 0, "{name}: no operations: {s}");
        let lat = &s["latency_ms"];
        let (p50, p99, max) = (
            lat["p50"].as_f64().unwrap(),
            lat["p99"].as_f64().unwrap(),
            lat["max"].as_f64().unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p99 && p99 <= max, "{name}: {lat}");
        assert!(s["ops_per_sec"].as_f64().unwrap() > 0.0, "{name}: {s}");
        if name != "dropcatch" {
            assert_eq!(
                s["errors"],
                serde_json::json!({}),
                "{name}: errors reported: {s}; server log: {}",
                r["server_log_problems"]
            );
        }
    }
    // Every command of the timed scenarios succeeded (1000, or 1300 for an empty poll).
    for name in ["check", "info", "create"] {
        let codes = sc[name]["result_codes"].as_object().unwrap();
        assert_eq!(
            codes.keys().collect::<Vec<_>>(),
            ["1000"],
            "{name}: {codes:?}; server log: {}",
            r["server_log_problems"]
        );
    }
    let mix = sc["mix"]["result_codes"].as_object().unwrap();
    assert!(
        mix.keys()
            .all(|k| k == "1000" || k == "1300" || k == "1301"),
        "mix: {mix:?}; server log (a 2400's cause is there): {}",
        r["server_log_problems"]
    );

    // Each baseline alternated with its scenario in the default five rounds, and each
    // round's ratio is reported (the raw create's names and ROIDs are new every round: its
    // errors are empty above).
    for (baseline, target) in [("echo", 0), ("rawcreate", 1)] {
        let extra = &sc[baseline]["extra"];
        assert_eq!(extra["rounds"], 5, "{baseline}: {extra}");
        let ratios = extra["round_ratios"].as_array().unwrap();
        assert_eq!(ratios.len(), 5, "{baseline}: {extra}");
        assert!(
            ratios.iter().all(|r| r.as_f64().unwrap() > 0.0),
            "{baseline}: {extra}"
        );
        assert_eq!(r["targets"][target]["rounds"], extra["round_ratios"], "{r}");
    }

    // Drop-catch: one winner per name, every other racer refused with 2302.
    let d = &sc["dropcatch"]["extra"];
    assert_eq!(d["names"], NAMES, "{d}");
    assert_eq!(d["every_name_one_winner"], true, "{d}");
    assert_eq!(d["losers"]["count"], NAMES * (SESSIONS - 1), "{d}");
    assert_eq!(
        d["losers"]["codes"],
        serde_json::json!({"2302": NAMES * (SESSIONS - 1)}),
        "{d}"
    );
    let wins: u64 = d["by_registrar"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["wins"].as_u64().unwrap())
        .sum();
    assert_eq!(wins, NAMES, "{d}");

    // Idle: every session opened, memory read from the server's /proc status.
    let i = &sc["idle"]["extra"];
    assert_eq!(i["opened"], IDLE, "{i}");
    assert!(i["server_rss_after_kib"].as_u64().unwrap() > 0, "{i}");
    assert!(i["kib_per_session"].as_f64().is_some(), "{i}");
    assert!(r["server_rss_kib"]["start"].as_u64().unwrap() > 0, "{r}");
    assert!(sc["check"]["server_rss_kib"].as_u64().unwrap() > 0, "{r}");

    // Where the CPU went, per operation, for the timed scenarios and the baselines: the
    // server and the client in each scenario, the echo server in its baseline, the client
    // in the raw create (it commits from epp-load).
    let cpu = |name: &str, side: &str| sc[name]["cpu_us_per_op"][side].as_f64();
    for name in ["check", "info", "mix", "create"] {
        for side in ["server", "client", "total"] {
            assert!(cpu(name, side).unwrap_or(0.0) > 0.0, "{name} {side}: {r}");
        }
    }
    assert!(cpu("echo", "echo_server").unwrap_or(0.0) > 0.0, "{r}");
    assert!(cpu("rawcreate", "client").unwrap_or(0.0) > 0.0, "{r}");
    assert!(sc["dropcatch"]["cpu_us_per_op"].is_null(), "{r}");

    // The server's check-cache lines are reported: on SQLite the raw creates (another
    // writer of the file) drop the names, which are then read again; on PostgreSQL the
    // cache turns on once the guard has the schema to itself, and off for the raw creates.
    // PostgreSQL's guard takes the cache within its first poll; SQLite reads the names
    // only once its writer has been idle for a second, which a one-second run may not see.
    let cache = r["server_log_cache"].as_array().unwrap();
    assert!(
        cache
            .iter()
            .all(|l| l.as_str().unwrap().contains("check cache:")),
        "{cache:?}"
    );
    if postgres {
        assert!(
            cache
                .iter()
                .any(|l| l.as_str().unwrap().contains("answered from memory")),
            "{cache:?}"
        );
    }

    // The echo baseline answered with the server's own check response.
    assert!(sc["echo"]["extra"]["payload_bytes"].as_u64().unwrap() > 100);

    // Each target's figure is reported (whether it is met is for the real run).
    let targets = r["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 5, "{targets:?}");
    assert!(
        r["server_log_problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| !l.as_str().unwrap().contains("ERROR")),
        "{}",
        r["server_log_problems"]
    );
}

#[test]
fn every_scenario_reports_on_sqlite() {
    check_report(&run("sqlite"), false);
}

#[test]
fn every_scenario_reports_on_postgres() {
    if std::env::var("EPP_TEST_PG_URL").is_err() {
        eprintln!("skipping the PostgreSQL load smoke test: EPP_TEST_PG_URL is not set");
        return;
    }
    check_report(&run("postgres"), true);
}
