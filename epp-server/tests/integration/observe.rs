//! Logs and metrics of EPP sessions on the real binary: commands counted by type, result
//! and registrar; one log line per command with registrar, command, result, clTRID,
//! svTRID and latency; passwords and authInfo never in the log; JSON logs.

use std::time::Duration;

use crate::db::{Db, runtime};
use crate::epp::{TlsTarget, code, domain_info, host_check, login_new_pw, logout};
use crate::harness::Server;

const SECRET_PASSWORD: &str = "Pw-Secret-71";
const SECRET_NEW_PASSWORD: &str = "Nw-Secret-72";
/// example.no's transfer code in the fixtures.
const SECRET_AUTH_INFO: &str = "Transfer+Code1";
const SECRET_NEW_AUTH_INFO: &str = "Chg+Secret5150";

/// A session of reg7 that logs in with a new password, looks at things, takes example.no
/// over with its transfer code, sets a new one, and logs out.
async fn session(target: &mut TlsTarget<'_>) {
    let (mut c, _) = target.connect().await;
    let r = c
        .call(&login_new_pw(
            "reg7",
            SECRET_PASSWORD,
            SECRET_NEW_PASSWORD,
            "OBS-1",
        ))
        .await;
    assert_eq!(code(&r), Some(1000), "{r}");
    let r = c.call(&host_check("ns1.example.com", "OBS-2")).await;
    assert_eq!(code(&r), Some(1000), "{r}");
    let r = c.call(&domain_info("nothing-here.no", "OBS-3")).await;
    assert_eq!(code(&r), Some(2303), "{r}");
    let r = c
        .call(&format!(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><transfer op="execute"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name><domain:authInfo><domain:pw>{SECRET_AUTH_INFO}</domain:pw></domain:authInfo></domain:transfer></transfer><clTRID>OBS-4</clTRID></command></extension></epp>"#
        ))
        .await;
    assert_eq!(code(&r), Some(1000), "{r}");
    let r = c
        .call(&format!(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><update><domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name><domain:chg><domain:authInfo><domain:pw>{SECRET_NEW_AUTH_INFO}</domain:pw></domain:authInfo></domain:chg></domain:update></update><clTRID>OBS-5</clTRID></command></epp>"#
        ))
        .await;
    assert_eq!(code(&r), Some(1000), "{r}");
    let r = c.call(&logout("OBS-6")).await;
    assert_eq!(code(&r), Some(1500), "{r}");
    c.expect_clean_close().await;
}

async fn registry<'a>(db: &'a Db, env: &[(&str, &str)]) -> TlsTarget<'a> {
    let mut target = TlsTarget::registry(db).await.with_env(env);
    target
        .fixtures(&format!("@registrar reg7 password={SECRET_PASSWORD}\n"))
        .await;
    target
}

fn assert_no_secrets(server: &Server) {
    let log = server.log_text();
    for secret in [
        SECRET_PASSWORD,
        SECRET_NEW_PASSWORD,
        SECRET_AUTH_INFO,
        SECRET_NEW_AUTH_INFO,
    ] {
        assert!(!log.contains(secret), "{secret} appears in the log:\n{log}");
    }
}

#[test]
fn metrics_count_epp_commands_by_type_result_and_registrar() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = registry(&db, &[]).await;
        session(&mut target).await;
        let server = target.server();
        let (status, body) = server.http_get("/metrics").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        for line in [
            "epp_commands_total{command=\"login\",result=\"1000\",registrar=\"reg7\"} 1",
            "epp_commands_total{command=\"host:check\",result=\"1000\",registrar=\"reg7\"} 1",
            "epp_commands_total{command=\"domain:info\",result=\"2303\",registrar=\"reg7\"} 1",
            "epp_commands_total{command=\"domain:transfer-execute\",result=\"1000\",registrar=\"reg7\"} 1",
            "epp_commands_total{command=\"domain:update\",result=\"1000\",registrar=\"reg7\"} 1",
            "epp_commands_total{command=\"logout\",result=\"1500\",registrar=\"reg7\"} 1",
            "epp_command_duration_seconds_count{command=\"login\"} 1",
            "epp_connections_total 1",
            "epp_sessions_active 0",
        ] {
            assert!(
                body.lines().any(|l| l == line),
                "missing {line:?} in\n{body}"
            );
        }
        server
            .wait_metric("epp_connections_closed_total{reason=\"handler\"}", 1.0)
            .await;
        let (status, body) = server.http_get("/healthz").await;
        assert_eq!(
            (status.as_str(), body.as_str()),
            ("HTTP/1.1 200 OK", "ok\n")
        );
        let (status, body) = server.http_get("/readyz").await;
        assert_eq!(
            (status.as_str(), body.as_str()),
            ("HTTP/1.1 200 OK", "ready\n")
        );
        let (status, _) = server.http_get("/nothing").await;
        assert_eq!(status, "HTTP/1.1 404 Not Found");
    });
}

/// `/readyz` follows the database: ready while PostgreSQL answers, 503 with the reason
/// once the registry's schema is gone, while `/healthz` still says the process runs.
#[test]
fn readiness_follows_the_database() {
    let Some(db) = Db::postgres() else { return };
    let server = Server::start(&db.env());
    let (url, schema) = db.pg().unwrap();
    runtime().block_on(async {
        let (status, body) = server.http_get("/readyz").await;
        assert_eq!(
            (status.as_str(), body.as_str()),
            ("HTTP/1.1 200 OK", "ready\n")
        );
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .unwrap();
        let (status, body) = server.http_get("/readyz").await;
        assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "{body}");
        assert!(
            body.starts_with("not ready: the registry database failed: "),
            "{body}"
        );
        let (status, _) = server.http_get("/healthz").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
    });
}

#[test]
fn each_command_is_one_log_line_without_passwords_or_auth_info() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = registry(&db, &[]).await;
        session(&mut target).await;
        let server = target.server();
        let line = server.wait_for_log(
            &["epp::command", "command=domain:transfer-execute"],
            Duration::from_secs(5),
        );
        for field in [
            "registrar=\"reg7\"",
            "result=1000",
            "cl_trid=\"OBS-4\"",
            "sv_trid=\"2024120",
            "-reg7-NORID\"",
            "latency_us=",
        ] {
            assert!(line.contains(field), "{field} missing in {line}");
        }
        let login = server.wait_for_log(&["epp::command", "command=login"], Duration::from_secs(5));
        assert!(login.contains("cl_trid=\"OBS-1\""), "{login}");
        // The logout line is the last: the client has its answer before the server logs it.
        server.wait_for_log(&["epp::command", "command=logout"], Duration::from_secs(5));
        let commands = server
            .log_lines()
            .iter()
            .filter(|l| l.contains("epp::command"))
            .count();
        assert_eq!(commands, 6, "{}", server.log_text());
        assert_no_secrets(server);
    });
}

#[test]
fn json_logs_are_one_object_per_line() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = registry(&db, &[("EPP_SERVER__LOG__FORMAT", "json")]).await;
        session(&mut target).await;
        let server = target.server();
        let line = server.wait_for_log(&["\"command\":\"login\""], Duration::from_secs(5));
        assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
        for field in [
            "\"target\":\"epp::command\"",
            "\"registrar\":\"reg7\"",
            "\"result\":1000",
            "\"cl_trid\":\"OBS-1\"",
            "\"latency_us\":",
        ] {
            assert!(line.contains(field), "{field} missing in {line}");
        }
        // Every log line is JSON (the start banner goes to standard output, in text).
        let json_lines = server
            .log_lines()
            .into_iter()
            .filter(|l| l.starts_with('{'))
            .count();
        assert!(json_lines >= 10, "{}", server.log_text());
        assert_no_secrets(server);
    });
}
