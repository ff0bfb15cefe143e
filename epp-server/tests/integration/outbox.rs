//! Outbox delivery on the real binary: a domain transfer request without the transfer
//! code sends a one-time token to the holder (Norid); the command queues it with its
//! change set, and the server's outbox delivers it through the configured notifier,
//! woken by the command (the poll interval alone would be too slow), retrying failures.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use epp_session::store::Store;

use crate::db::{Db, on_both_backends, runtime};
use crate::epp::{TlsTarget, code, login};
use crate::harness::Server;

on_both_backends!(the_exec_notifier_delivers_the_transfer_token);

/// reg2 asks for example.no (reg1's; holder ACME1O, post@acme.no, mobile +47.91234567)
/// without the transfer code; `notify` picks the channel (`None`: Norid's default, e-mail).
fn transfer_request(notify: Option<&str>) -> String {
    let ext = notify.map_or_else(String::new, |n| {
        format!(
            r#"<extension><no-ext-domain:transfer xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:notify>{n}</no-ext-domain:notify></no-ext-domain:transfer></extension>"#
        )
    });
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><transfer op="request"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:transfer></transfer>{ext}<clTRID>TR-1</clTRID></command></epp>"#
    )
}

/// Starts the registry fixtures with `env` and sends the transfer request as reg2.
fn request_transfer<'a>(
    db: &'a Db,
    env: &[(String, String)],
    notify: Option<&str>,
) -> TlsTarget<'a> {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    runtime().block_on(async {
        let mut target = TlsTarget::registry(db).await.with_env(&env);
        let (mut c, _) = target.connect().await;
        let r = c.call(&login("reg2", "secret-2", "TR-0")).await;
        assert_eq!(code(&r), Some(1000), "{r}");
        let r = c.call(&transfer_request(notify)).await;
        assert_eq!(code(&r), Some(1001), "{r}");
        target
    })
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Waits until `path` exists and contains `needle`; returns its text.
fn wait_for_file(path: &Path, needle: &str, server: &Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never contained {needle:?} (has {text:?}):\n{}",
            path.display(),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn metric(server: &Server, series: &str) -> Option<f64> {
    runtime().block_on(server.metric(series))
}

fn stop(server: &mut Server) -> String {
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(20)).success());
    server.log_text()
}

fn pending(db: &Db) -> usize {
    runtime().block_on(async {
        db.store()
            .await
            .pending_notifications(100)
            .await
            .unwrap()
            .len()
    })
}

struct Scripts {
    mail: String,
    sms: String,
    mail_out: PathBuf,
    sms_out: PathBuf,
}

fn scripts(dir: &Path) -> Scripts {
    let mail_out = dir.join("mail.out");
    let sms_out = dir.join("sms.out");
    Scripts {
        mail: script(
            dir,
            "mail",
            &format!(
                "{{ echo \"args=$* id=$EPP_NOTIFY_ID channel=$EPP_NOTIFY_CHANNEL\"; cat; }} >> {}",
                mail_out.display()
            ),
        ),
        // Fails the first time (the gateway is "down"), then delivers.
        sms: script(
            dir,
            "sms",
            &format!(
                "if [ ! -e {m} ]; then touch {m}; echo 'gateway down' >&2; exit 75; fi\n\
                 {{ echo \"to=$1\"; cat; echo; }} >> {o}",
                m = dir.join("sms.tried").display(),
                o = sms_out.display()
            ),
        ),
        mail_out,
        sms_out,
    }
}

/// Configuration for the exec notifier with the test's scripts.
fn exec_env(s: &Scripts, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("EPP_SERVER__NOTIFY__METHOD", "exec"),
        ("EPP_SERVER__NOTIFY__SMS_COMMAND", s.sms.as_str()),
        ("EPP_SERVER__NOTIFY__RETRY_INITIAL", "300ms"),
        ("EPP_SERVER__NOTIFY__RETRY_MAX", "1s"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.push((
        "EPP_SERVER__NOTIFY__EMAIL_COMMAND".into(),
        format!("{},--", s.mail),
    ));
    env
}

fn the_exec_notifier_delivers_the_transfer_token(db: &Db) {
    let dir = db.data.parent().unwrap().to_owned();
    let s = scripts(&dir);
    // A long poll interval: only the wake-up after the commit can deliver in time.
    let env = exec_env(&s, &[("EPP_SERVER__NOTIFY__POLL_INTERVAL", "1h")]);
    let mut target = request_transfer(db, &env, None);
    let mail = wait_for_file(&s.mail_out, "Subject:", target.server());
    assert!(
        mail.starts_with("args=-- post@acme.no id=") && mail.contains("channel=email"),
        "{mail}"
    );
    for header in [
        "\nTo: post@acme.no\n",
        "\nSubject: Transfer of domain example.no\n",
        "\nContent-Type: text/plain; charset=utf-8\n",
    ] {
        assert!(mail.contains(header), "{header:?} in {mail}");
    }
    let token = mail
        .lines()
        .find_map(|l| l.strip_prefix("    "))
        .unwrap_or_else(|| panic!("no token line in {mail}"))
        .trim()
        .to_owned();
    assert!(token.len() >= 8, "{token}");
    let server = target.server();
    server.wait_for_log(&["notification delivered", "email"], Duration::from_secs(5));
    assert_eq!(
        metric(
            server,
            "epp_notifications_delivered_total{channel=\"email\"}"
        ),
        Some(1.0)
    );
    assert_eq!(pending(db), 0, "marked delivered in the store");
    let log = stop(target.server_mut());
    assert!(!log.contains(&token), "the token is never logged:\n{log}");
}

#[test]
fn a_failed_sms_delivery_is_retried() {
    let db = Db::sqlite();
    let dir = db.data.parent().unwrap().to_owned();
    let s = scripts(&dir);
    let env = exec_env(&s, &[("EPP_SERVER__NOTIFY__POLL_INTERVAL", "100ms")]);
    let mut target = request_transfer(
        &db,
        &env,
        Some("<no-ext-domain:mobilePhone>+47.91234567</no-ext-domain:mobilePhone>"),
    );
    let server = target.server();
    let sms = wait_for_file(&s.sms_out, "example.no", server);
    assert!(sms.starts_with("to=+47.91234567\n"), "{sms}");
    let failed = server.wait_for_log(
        &["notification delivery failed", "attempt=1"],
        Duration::from_secs(5),
    );
    assert!(
        failed.contains("gateway down") && failed.contains("75"),
        "{failed}"
    );
    server.wait_for_log(&["notification delivered", "sms"], Duration::from_secs(5));
    assert_eq!(
        metric(server, "epp_notifications_failed_total{channel=\"sms\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(server, "epp_notifications_delivered_total{channel=\"sms\"}"),
        Some(1.0)
    );
    assert_eq!(pending(&db), 0);
    assert!(!s.mail_out.exists());
    stop(target.server_mut());
}

#[test]
fn the_log_notifier_writes_notifications_to_the_log_in_development() {
    let db = Db::sqlite();
    let env = vec![("EPP_SERVER__NOTIFY__METHOD".to_owned(), "log".to_owned())];
    let mut target = request_transfer(&db, &env, None);
    let server = target.server();
    server.wait_for_log(&["notify.method = \"log\""], Duration::from_secs(5));
    let line = server.wait_for_log(&["epp::notify", "post@acme.no"], Duration::from_secs(10));
    assert!(line.contains("email"), "{line}");
    server.wait_for_log(&["notification delivered"], Duration::from_secs(5));
    assert_eq!(pending(&db), 0);
    stop(target.server_mut());
}
