//! Outbox delivery and the scheduler on the real serve path (the testbed queues
//! notifications with `notify <channel> <recipient> <text>` and runs a scheduled job).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use epp_session::store::Store;
use epp_xml::Timestamp;

use crate::db::{Db, on_both_backends, runtime};
use crate::harness::{Client, ClientOptions, Server};

on_both_backends!(the_exec_notifier_delivers_queued_notifications);

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

fn call(server: &Server, db: &Db, commands: &[&str]) -> Vec<String> {
    let options = ClientOptions::trusting_file(&db.data.join("dev-tls").join("ca.pem"));
    runtime().block_on(async {
        let (mut client, _) = Client::open(server.epp, &options).await;
        let mut answers = Vec::new();
        for c in commands {
            answers.push(client.call(c).await);
        }
        answers
    })
}

fn metric(server: &Server, series: &str) -> Option<f64> {
    runtime().block_on(server.metric(series))
}

fn stop(mut server: Server) -> String {
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

fn exec_env(db: &Db, s: &Scripts, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = db.env_with(&[
        ("EPP_SERVER__NOTIFY__METHOD", "exec"),
        ("EPP_SERVER__NOTIFY__SMS_COMMAND", &s.sms),
        ("EPP_SERVER__NOTIFY__RETRY_INITIAL", "300ms"),
        ("EPP_SERVER__NOTIFY__RETRY_MAX", "1s"),
    ]);
    env.push((
        "EPP_SERVER__NOTIFY__EMAIL_COMMAND".into(),
        format!("{},--", s.mail),
    ));
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

fn the_exec_notifier_delivers_queued_notifications(db: &Db) {
    let dir = db.data.parent().unwrap().to_owned();
    let s = scripts(&dir);
    // A long poll interval: only the wake-up after the commit can deliver in time.
    let server = Server::start(&exec_env(
        db,
        &s,
        &[("EPP_SERVER__NOTIFY__POLL_INTERVAL", "1h")],
    ));
    let answers = call(
        &server,
        db,
        &["notify email holder@example.no Your transfer code is T0K3N-42"],
    );
    assert!(answers[0].starts_with("1000 queued"), "{answers:?}");
    let mail = wait_for_file(&s.mail_out, "T0K3N-42", &server);
    assert!(
        mail.starts_with("args=-- holder@example.no id=") && mail.contains("channel=email"),
        "{mail}"
    );
    for header in [
        "\nTo: holder@example.no\n",
        "\nSubject: Testbed notification\n",
        "\nContent-Type: text/plain; charset=utf-8\n",
    ] {
        assert!(mail.contains(header), "{header:?} in {mail}");
    }
    server.wait_for_log(&["notification delivered", "email"], Duration::from_secs(5));
    assert_eq!(
        metric(
            &server,
            "epp_notifications_delivered_total{channel=\"email\"}"
        ),
        Some(1.0)
    );
    assert_eq!(pending(db), 0, "marked delivered in the store");
    let log = stop(server);
    assert!(
        !log.contains("T0K3N-42"),
        "the text is never logged:\n{log}"
    );
}

#[test]
fn a_failed_delivery_is_retried_and_a_bad_recipient_is_left_alone() {
    let db = Db::sqlite();
    let dir = db.data.parent().unwrap().to_owned();
    let s = scripts(&dir);
    let server = Server::start(&exec_env(
        &db,
        &s,
        &[("EPP_SERVER__NOTIFY__POLL_INTERVAL", "100ms")],
    ));
    let answers = call(
        &server,
        &db,
        &[
            "notify sms +47.22334455 retry-me-7",
            "notify email -oQ/tmp/x@example.no never-sent",
        ],
    );
    assert!(
        answers.iter().all(|a| a.starts_with("1000 queued")),
        "{answers:?}"
    );
    let sms = wait_for_file(&s.sms_out, "retry-me-7", &server);
    assert_eq!(sms, "to=+47.22334455\nretry-me-7\n");
    let failed = server.wait_for_log(
        &["notification delivery failed", "attempt=1"],
        Duration::from_secs(5),
    );
    assert!(
        failed.contains("gateway down") && failed.contains("75"),
        "{failed}"
    );
    server.wait_for_log(&["notification delivered", "sms"], Duration::from_secs(5));
    let refused = server.wait_for_log(&["cannot be delivered"], Duration::from_secs(5));
    assert!(refused.contains("starts with '-'"), "{refused}");
    assert_eq!(
        metric(&server, "epp_notifications_failed_total{channel=\"sms\"}"),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &server,
            "epp_notifications_delivered_total{channel=\"sms\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&server, "epp_notifications_failed_total{channel=\"email\"}"),
        Some(1.0)
    );
    // The refused one stays in the outbox for an operator, and no program saw it.
    assert_eq!(pending(&db), 1);
    assert!(!s.mail_out.exists());
    stop(server);
}

#[test]
fn the_log_notifier_writes_notifications_to_the_log_in_development() {
    let db = Db::sqlite();
    let server = Server::start(&db.env());
    server.wait_for_log(&["notify.method = \"log\""], Duration::from_secs(5));
    call(&server, &db, &["notify sms +4799999999 code-in-log-77"]);
    let line = server.wait_for_log(&["epp::notify", "code-in-log-77"], Duration::from_secs(10));
    assert!(
        line.contains("+4799999999") && line.contains("sms"),
        "{line}"
    );
    server.wait_for_log(&["notification delivered"], Duration::from_secs(5));
    assert_eq!(pending(&db), 0);
    stop(server);
}

#[test]
fn scheduled_jobs_run_on_the_registry_clock_until_shutdown() {
    let db = Db::sqlite();
    let server = Server::start(&db.env_with(&[
        ("EPP_SERVER__SCHEDULER__INTERVAL", "200ms"),
        ("EPP_SERVER__TESTING__CLOCK_OFFSET", "+400d"),
    ]));
    let deadline = Instant::now() + Duration::from_secs(10);
    let runs = loop {
        let runs: Vec<String> = server
            .log_lines()
            .into_iter()
            .filter(|l| l.contains("testbed scheduled job"))
            .collect();
        if runs.len() >= 3 {
            break runs;
        }
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(20));
    };
    let now = runs[0]
        .split_whitespace()
        .find_map(|w| w.strip_prefix("now="))
        .unwrap();
    let now = Timestamp::parse(now).unwrap();
    let system = epp_server::RegistryClock::default().now();
    let ahead_days = (now.unix_micros() - system.unix_micros()) / 86_400_000_000;
    assert!(
        (399..=400).contains(&ahead_days),
        "{ahead_days} days: {}",
        runs[0]
    );
    let ok = metric(
        &server,
        "epp_scheduler_runs_total{task=\"testbed\",result=\"ok\"}",
    )
    .unwrap();
    assert!(ok >= 3.0, "{ok}");
    stop(server);

    let server = Server::start(&db.env_with(&[("EPP_SERVER__SCHEDULER__ENABLED", "false")]));
    server.wait_for_log(&["does not run the job"], Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    let log = stop(server);
    assert!(!log.contains("testbed scheduled job"), "{log}");
}
