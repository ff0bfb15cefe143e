//! The shipped `epp-server` binary's command line: the README's first command (serve with
//! no configuration) and `config check`.

use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::{EPP_SERVER, Server, TestCa, temp, tls_file_env};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/epp-server.example.toml");
const PRODUCTION_EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/epp-server.production.example.toml"
);

fn run(args: &[&str], env: &[(String, String)]) -> (Output, String, String) {
    let mut cmd = Command::new(EPP_SERVER);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.to_ascii_uppercase().starts_with("EPP_SERVER") {
            cmd.env_remove(k);
        }
    }
    let out = cmd.envs(env.iter().cloned()).output().unwrap();
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    (out, stdout, stderr)
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn config_check_prints_the_effective_configuration_of_the_example() {
    let (out, stdout, stderr) = run(&["--config", EXAMPLE, "config", "check"], &[]);
    assert!(out.status.success(), "{stderr}");
    let effective: toml::Table = toml::from_str(&stdout).unwrap();
    assert_eq!(effective["mode"].as_str(), Some("development"));
    assert_eq!(
        effective["limits"]["idle_timeout"].as_str(),
        Some("2m"),
        "{stdout}"
    );
    assert!(
        stderr.contains("configuration OK (development mode)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("development certificates under"),
        "{stderr}"
    );
}

#[test]
fn config_check_without_a_file_uses_the_defaults() {
    let (out, stdout, stderr) = run(&["config", "check"], &[]);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("listen = [\"127.0.0.1:7000\"]"), "{stdout}");
}

#[test]
fn config_check_refuses_an_unknown_key_naming_it_and_the_file() {
    let (dir, _) = temp();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[limits]\nidle_timout = \"60s\"\n").unwrap();
    let (out, stdout, stderr) = run(&["-c", path.to_str().unwrap(), "config", "check"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.is_empty());
    assert!(stderr.contains("idle_timout"), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");
}

#[test]
fn config_check_reports_a_missing_file() {
    let (out, _, stderr) = run(
        &["--config", "/nonexistent/epp.toml", "config", "check"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("cannot read configuration file /nonexistent/epp.toml"),
        "{stderr}"
    );
}

#[test]
fn the_config_file_can_come_from_the_environment() {
    let (dir, _) = temp();
    let path = dir.path().join("epp.toml");
    std::fs::write(&path, "[limits]\ncommands_per_session = 77\n").unwrap();
    let (out, stdout, stderr) = run(
        &["config", "check"],
        &env(&[("EPP_SERVER_CONFIG", path.to_str().unwrap())]),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("commands_per_session = 77"), "{stdout}");
}

#[test]
fn environment_overrides_show_in_the_effective_configuration() {
    let (out, stdout, stderr) = run(
        &["--config", EXAMPLE, "config", "check"],
        &env(&[
            ("EPP_SERVER__LIMITS__IDLE_TIMEOUT", "45s"),
            ("EPP_SERVER__RATE_LIMITS__CREATE", "100/1h"),
        ]),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("idle_timeout = \"45s\""), "{stdout}");
    assert!(stdout.contains("create = \"100/1h\""), "{stdout}");

    let (out, _, stderr) = run(
        &["--config", EXAMPLE, "config", "check"],
        &env(&[("EPP_SERVER__LIMITS__IDLE_TIMEOUT", "forever")]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("EPP_SERVER__LIMITS__IDLE_TIMEOUT"),
        "{stderr}"
    );
}

#[test]
fn production_refuses_generated_certificates_and_the_clock_offset() {
    let (out, _, stderr) = run(
        &["config", "check"],
        &env(&[("EPP_SERVER__MODE", "production")]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("required in production mode"), "{stderr}");

    let (out, _, stderr) = run(
        &["--config", PRODUCTION_EXAMPLE, "config", "check"],
        &env(&[("EPP_SERVER__TESTING__CLOCK_OFFSET", "+30d")]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("testing.clock_offset"), "{stderr}");
}

#[test]
fn production_example_checks_its_tls_files_and_redacts_the_database_password() {
    let (dir, _) = temp();
    let ca = TestCa::new();
    let der = ca.write_server_cert(dir.path());
    let mut vars = tls_file_env(dir.path());
    vars.extend(env(&[
        (
            "EPP_SERVER__DATABASE__POSTGRES_URL",
            "postgres://epp:s3cret-pw@db.internal/registry",
        ),
        // The example's programs are not installed here; `true` stands in for them.
        ("EPP_SERVER__NOTIFY__EMAIL_COMMAND", "true"),
        ("EPP_SERVER__NOTIFY__SMS_COMMAND", "true"),
    ]));
    let (out, stdout, stderr) = run(&["--config", PRODUCTION_EXAMPLE, "config", "check"], &vars);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("configuration OK (production mode)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&crate::harness::sha256_hex(&der)),
        "the certificate fingerprint is shown: {stderr}"
    );
    assert!(
        stdout.contains("postgres://epp:***@db.internal/registry"),
        "{stdout}"
    );
    assert!(!stdout.contains("s3cret") && !stderr.contains("s3cret"));

    // A notify program that is not installed is caught too.
    let missing: Vec<(String, String)> = vars
        .iter()
        .filter(|(k, _)| k != "EPP_SERVER__NOTIFY__SMS_COMMAND")
        .cloned()
        .collect();
    let (out, _, stderr) = run(
        &["--config", PRODUCTION_EXAMPLE, "config", "check"],
        &missing,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("notify.sms_command: /usr/local/bin/epp-send-sms is not an executable"),
        "{stderr}"
    );

    // A key that does not belong to the certificate is caught before any restart.
    let (_, other_key, _) = ca.server_cert();
    std::fs::write(dir.path().join("server-key.pem"), other_key).unwrap();
    let (out, _, stderr) = run(&["--config", PRODUCTION_EXAMPLE, "config", "check"], &vars);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("does not fit certificate"), "{stderr}");
}

/// The README's first command, `cargo run --release -p epp-server`, runs this binary with no
/// configuration: a development server on loopback with the embedded SQLite database
/// under the data directory, a development CA, and a demo registrar whose credentials the
/// start banner prints, with an `openssl s_client` line; EPP works with them. (Only the
/// ports are overridden: port 0, so that tests do not collide.)
#[test]
fn with_no_configuration_the_server_runs_and_says_how_to_connect() {
    let (_dir, data) = temp();
    let env = env(&[
        ("EPP_SERVER__DATA_DIR", data.to_str().unwrap()),
        ("EPP_SERVER__SERVER__LISTEN", "127.0.0.1:0"),
        ("EPP_SERVER__METRICS__LISTEN", "127.0.0.1:0"),
    ]);
    let mut server = Server::start(&env);
    let banner = server.wait_for_log(&["demo registrar:"], Duration::from_secs(10));
    let log = server.log_text();
    let ca = data.join("dev-tls").join("ca.pem");
    for needle in [
        "epp-server is running in DEVELOPMENT mode".to_owned(),
        format!("EPP over TLS:    {}", server.epp),
        format!("host 127.0.0.1, port {}", server.epp.port()),
        format!(
            "openssl s_client -connect {} -CAfile {}",
            server.epp,
            ca.display()
        ),
    ] {
        assert!(log.contains(&needle), "{needle:?} missing in\n{log}");
    }
    assert!(server.epp.ip().is_loopback());
    assert!(data.join("registry.sqlite3").is_file(), "embedded SQLite");
    let password = banner.rsplit_once("password ").unwrap().1.trim().to_owned();
    assert!(banner.contains("reg-demo / password"), "{banner}");

    crate::db::runtime().block_on(async {
        let options = crate::harness::ClientOptions::trusting_file(&ca);
        let (mut client, greeting) = crate::harness::Client::open(server.epp, &options).await;
        assert!(crate::epp::is_greeting(&greeting), "{greeting}");
        let r = client
            .call(&crate::epp::login("reg-demo", &password, "README-1"))
            .await;
        assert_eq!(crate::epp::code(&r), Some(1000), "{r}");
        let r = client.call(&crate::epp::logout("README-2")).await;
        assert_eq!(crate::epp::code(&r), Some(1500), "{r}");
    });
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(10)).success());
}

#[test]
fn help_lists_the_subcommands() {
    let (out, stdout, _) = run(&["--help"], &[]);
    assert!(out.status.success());
    assert!(
        stdout.contains("serve") && stdout.contains("config"),
        "{stdout}"
    );
    let (out, stdout, _) = run(&["config", "--help"], &[]);
    assert!(out.status.success());
    assert!(stdout.contains("check"), "{stdout}");
}
