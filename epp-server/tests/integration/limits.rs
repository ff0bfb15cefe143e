//! Limits over EPP on the real binary: per-IP caps, pre-login and idle timeouts, frame
//! sizes, sessions per registrar (the registrar's own limit and the ceiling, 2502), and the
//! commands-per-session cap.

use std::time::{Duration, Instant};

use crate::db::{Db, runtime};
use crate::epp::{HELLO, TlsTarget, code, is_greeting, login, logout, poll_req};
use crate::harness::{Client, ClientOptions, Server, base_env, temp};

fn start(extra: &[(&str, &str)]) -> (tempfile::TempDir, Server, ClientOptions) {
    let (dir, data) = temp();
    let mut env = base_env(&data);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let server = Server::start(&env);
    let options = ClientOptions::trusting_file(&data.join("dev-tls").join("ca.pem"));
    (dir, server, options)
}

/// Registrars used by the session tests: reg9094 may hold one session, reg0001 three,
/// reg0002 five (more than the ceiling some tests set).
const REGISTRARS: &str = "@registrar reg9094 password=secret-pw sessions=1
@registrar reg0001 password=secret-pw sessions=3
@registrar reg0002 password=secret-pw sessions=5
";

#[tokio::test]
async fn connections_per_ip_are_capped_across_all_connections() {
    let (_dir, server, options) = start(&[("EPP_SERVER__LIMITS__CONNECTIONS_PER_IP", "2")]);
    let (mut a, _) = Client::open(server.epp, &options).await;
    let (_b, _) = Client::open(server.epp, &options).await;
    // The third is closed before TLS: the handshake fails.
    assert!(Client::connect(server.epp, &options).await.is_err());
    assert_eq!(
        server
            .metric("epp_refusals_total{reason=\"connections_per_ip\"}")
            .await,
        Some(1.0)
    );
    // A freed slot is usable again.
    assert!(is_greeting(&a.call(HELLO).await));
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(mut c) = Client::connect(server.epp, &options).await
            && c.recv().await.is_some_and(|g| is_greeting(&g))
        {
            break;
        }
        assert!(Instant::now() < deadline, "slot not freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_the_prelogin_deadline() {
    let (_dir, server, options) = start(&[("EPP_SERVER__LIMITS__PRELOGIN_TIMEOUT", "600ms")]);
    let started = Instant::now();
    let (mut client, greeting) = Client::open(server.epp, &options).await;
    assert!(is_greeting(&greeting));
    // EPP has no unsolicited message: the server just closes.
    client.expect_clean_close().await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(550),
        "closed after {waited:?}"
    );
    server.wait_for_log(
        &["connection closed", "reason=\"prelogin_timeout\""],
        Duration::from_secs(5),
    );
}

#[tokio::test]
async fn hellos_before_login_do_not_extend_the_prelogin_deadline() {
    let (_dir, server, options) = start(&[("EPP_SERVER__LIMITS__PRELOGIN_TIMEOUT", "800ms")]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    let started = Instant::now();
    let closed = loop {
        client.send(HELLO).await;
        match client.recv().await {
            Some(reply) if is_greeting(&reply) => {}
            other => break other,
        }
        assert!(started.elapsed() < Duration::from_secs(5), "never closed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(closed, None);
    assert!(started.elapsed() >= Duration::from_millis(700));
    server.wait_for_log(&["reason=\"prelogin_timeout\""], Duration::from_secs(5));
}

#[test]
fn an_idle_session_is_closed_and_activity_keeps_it_open() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::new(&db)
            .await
            .with_env(&[("EPP_SERVER__LIMITS__IDLE_TIMEOUT", "1500ms")]);
        target.fixtures(REGISTRARS).await;
        let (mut client, _) = target.connect().await;
        let reply = client.call(&login("reg9094", "secret-pw", "IDLE-1")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        // Commands every 300 ms for well over the idle timeout keep the session.
        for i in 0..8 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let reply = client.call(&poll_req(&format!("IDLE-P{i}"))).await;
            assert_eq!(code(&reply), Some(1300), "{reply}");
        }
        let quiet = Instant::now();
        client.expect_clean_close().await;
        assert!(quiet.elapsed() >= Duration::from_millis(1400));
        target
            .server()
            .wait_for_log(&["reason=\"idle_timeout\""], Duration::from_secs(5));
        // The session's slot is free again: reg9094 (one session) can log in.
        let (mut again, _) = target.connect().await;
        let reply = again.call(&login("reg9094", "secret-pw", "IDLE-2")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
    });
}

#[tokio::test]
async fn an_oversized_frame_header_closes_only_that_connection() {
    let (_dir, server, options) = start(&[]);
    let (mut canary, _) = Client::open(server.epp, &options).await;
    let (mut hostile, _) = Client::open(server.epp, &options).await;
    // A header announcing 4 GiB - 1: refused before any payload is read.
    hostile.send_raw(&u32::MAX.to_be_bytes()).await;
    assert_eq!(hostile.recv().await, None);
    server.wait_for_log(
        &[
            "frame header announces more than limits.max_frame_size",
            "declared=4294967295",
        ],
        Duration::from_secs(5),
    );
    assert!(is_greeting(&canary.call(HELLO).await));
    assert_eq!(
        server
            .metric("epp_refusals_total{reason=\"frame_too_large\"}")
            .await,
        Some(1.0)
    );
}

#[tokio::test]
async fn the_configured_frame_limit_applies_exactly() {
    let (_dir, server, options) = start(&[("EPP_SERVER__LIMITS__MAX_FRAME_SIZE", "4096")]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    // The largest frame allowed: a <hello/> padded with trailing whitespace.
    let largest = format!("{HELLO}{}", " ".repeat(4096 - 4 - HELLO.len()));
    assert!(is_greeting(&client.call(&largest).await));
    client.send_raw(&4097u32.to_be_bytes()).await;
    assert_eq!(client.recv().await, None);
    server.wait_for_log(&["reason=\"frame_too_large\""], Duration::from_secs(5));
}

#[tokio::test]
async fn a_malformed_frame_header_closes_the_connection() {
    let (_dir, server, options) = start(&[]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    // Total length 3: shorter than the header itself (RFC 5734 section 4).
    client.send_raw(&3u32.to_be_bytes()).await;
    assert_eq!(client.recv().await, None);
    server.wait_for_log(&["reason=\"bad_frame\""], Duration::from_secs(5));
}

/// The registrar's own session limit (from its record) is enforced across connections:
/// the login over it is answered 2502 and the connection closes; ending a session frees
/// its slot; `limits.sessions_per_registrar_max` caps every registrar's limit.
#[test]
fn sessions_per_registrar_are_counted_across_connections() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::new(&db)
            .await
            .with_env(&[("EPP_SERVER__LIMITS__SESSIONS_PER_REGISTRAR_MAX", "3")]);
        target.fixtures(REGISTRARS).await;
        let (mut first, _) = target.connect().await;
        let reply = first.call(&login("reg9094", "secret-pw", "S-1")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        let (mut second, _) = target.connect().await;
        let refused = second.call(&login("reg9094", "secret-pw", "S-2")).await;
        assert_eq!(code(&refused), Some(2502), "{refused}");
        assert!(refused.contains("1 of 1 allowed sessions"), "{refused}");
        second.expect_clean_close().await;

        // reg0002 may hold 5 by its record, but the ceiling is 3.
        let mut held = Vec::new();
        for i in 0..3 {
            let (mut c, _) = target.connect().await;
            let reply = c
                .call(&login("reg0002", "secret-pw", &format!("C-{i}")))
                .await;
            assert_eq!(code(&reply), Some(1000), "{reply}");
            held.push(c);
        }
        let (mut over, _) = target.connect().await;
        let refused = over.call(&login("reg0002", "secret-pw", "C-3")).await;
        assert_eq!(code(&refused), Some(2502), "{refused}");
        assert!(refused.contains("3 of 3 allowed sessions"), "{refused}");

        let server = target.server();
        assert_eq!(server.metric("epp_sessions_active").await, Some(4.0));
        assert_eq!(
            server
                .metric("epp_registrar_sessions_active{registrar=\"reg0002\"}")
                .await,
            Some(3.0)
        );
        assert_eq!(
            server
                .metric("epp_refusals_total{reason=\"session_limit\"}")
                .await,
            Some(2.0)
        );

        // Logging out frees the slot at once.
        let bye = first.call(&logout("S-3")).await;
        assert_eq!(code(&bye), Some(1500), "{bye}");
        assert_eq!(first.recv().await, None);
        let (mut again, _) = target.connect().await;
        let reply = again.call(&login("reg9094", "secret-pw", "S-4")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
    });
}

/// `limits.commands_per_session`: the command over the cap is answered 2502 and the
/// session ends (`<hello/>` is not a command).
#[test]
fn the_commands_per_session_cap_ends_the_session() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::new(&db)
            .await
            .with_env(&[("EPP_SERVER__LIMITS__COMMANDS_PER_SESSION", "3")]);
        target.fixtures(REGISTRARS).await;
        let (mut client, _) = target.connect().await;
        let reply = client.call(&login("reg0001", "secret-pw", "CAP-1")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        assert!(is_greeting(&client.call(HELLO).await));
        for i in 2..=3 {
            let reply = client.call(&poll_req(&format!("CAP-{i}"))).await;
            assert_eq!(code(&reply), Some(1300), "{reply}");
        }
        let refused = client.call(&poll_req("CAP-4")).await;
        assert_eq!(code(&refused), Some(2502), "{refused}");
        assert!(refused.contains("at most 3 commands"), "{refused}");
        assert!(refused.contains("<clTRID>CAP-4</clTRID>"), "{refused}");
        client.expect_clean_close().await;
        assert_eq!(
            target
                .server()
                .metric("epp_refusals_total{reason=\"command_limit\"}")
                .await,
            Some(1.0)
        );
    });
}

/// `[rate_limits]`: a registrar over its check/info/poll rate is refused (2308, with the
/// limit and when to retry) across all its sessions; other registrars are not affected.
#[test]
fn rate_limits_apply_per_registrar_across_sessions() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::new(&db)
            .await
            .with_env(&[("EPP_SERVER__RATE_LIMITS__CHECK_INFO_POLL", "3/1h")]);
        target.fixtures(REGISTRARS).await;
        let (mut a, _) = target.connect().await;
        let (mut b, _) = target.connect().await;
        let (mut other, _) = target.connect().await;
        for (c, id) in [
            (&mut a, "reg0001"),
            (&mut b, "reg0001"),
            (&mut other, "reg0002"),
        ] {
            let reply = c.call(&login(id, "secret-pw", "RL-0")).await;
            assert_eq!(code(&reply), Some(1000), "{reply}");
        }
        for (i, use_a) in [true, false, true].into_iter().enumerate() {
            let c = if use_a { &mut a } else { &mut b };
            let reply = c.call(&poll_req(&format!("RL-{i}"))).await;
            assert_eq!(code(&reply), Some(1300), "{reply}");
        }
        let refused = b.call(&poll_req("RL-3")).await;
        assert_eq!(code(&refused), Some(2308), "{refused}");
        assert!(
            refused.contains("limited to 3 per 1h; retry in"),
            "{refused}"
        );
        let reply = other.call(&poll_req("RL-4")).await;
        assert_eq!(code(&reply), Some(1300), "{reply}");
        assert_eq!(
            target
                .server()
                .metric("epp_refusals_total{reason=\"rate_limit\"}")
                .await,
            Some(1.0)
        );
    });
}
