//! Limits enforced by the connection driver and the shared tables: per-IP caps,
//! pre-login and idle timeouts, oversized frames, sessions per registrar.

use std::time::{Duration, Instant};

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
    assert_eq!(a.call("close").await, "bye");
    assert_eq!(a.recv().await, None);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(mut c) = Client::connect(server.epp, &options).await
            && c.recv().await.is_some()
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
    let (mut client, _) = Client::open(server.epp, &options).await;
    assert_eq!(
        client.recv().await.as_deref(),
        Some("closing prelogin_timeout")
    );
    assert_eq!(client.recv().await, None);
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
async fn commands_before_login_do_not_extend_the_prelogin_deadline() {
    let (_dir, server, options) = start(&[("EPP_SERVER__LIMITS__PRELOGIN_TIMEOUT", "800ms")]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    let started = Instant::now();
    let closed = loop {
        client.send("hello").await;
        match client.recv().await {
            Some(reply) if reply == "hello" => {}
            other => break other,
        }
        assert!(started.elapsed() < Duration::from_secs(5), "never closed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(closed.as_deref(), Some("closing prelogin_timeout"));
}

#[tokio::test]
async fn an_idle_session_is_closed_and_activity_keeps_it_open() {
    let (_dir, server, options) = start(&[("EPP_SERVER__LIMITS__IDLE_TIMEOUT", "700ms")]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    assert_eq!(client.call("login reg-idle").await, "1000 logged in");
    // Commands every 300 ms for well over the idle timeout keep the session.
    for i in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(client.call(&format!("n{i}")).await, format!("n{i}"));
    }
    assert_eq!(client.recv().await.as_deref(), Some("closing idle_timeout"));
    assert_eq!(client.recv().await, None);
}

#[tokio::test]
async fn an_oversized_frame_header_closes_only_that_connection() {
    let (_dir, server, options) = start(&[]);
    let (mut canary, _) = Client::open(server.epp, &options).await;
    let (mut hostile, _) = Client::open(server.epp, &options).await;
    // A header announcing 4 GiB - 1: refused before any payload is read.
    hostile.send_raw(&u32::MAX.to_be_bytes()).await;
    assert_eq!(
        hostile.recv().await.as_deref(),
        Some("closing frame_too_large")
    );
    assert_eq!(hostile.recv().await, None);
    server.wait_for_log(
        &[
            "frame header announces more than limits.max_frame_size",
            "declared=4294967295",
        ],
        Duration::from_secs(5),
    );
    assert_eq!(canary.call("still fine").await, "still fine");
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
    let largest = "x".repeat(4096 - 4);
    assert_eq!(client.call(&largest).await, largest);
    client.send_raw(&4097u32.to_be_bytes()).await;
    assert_eq!(
        client.recv().await.as_deref(),
        Some("closing frame_too_large")
    );
}

#[tokio::test]
async fn a_malformed_frame_header_closes_the_connection() {
    let (_dir, server, options) = start(&[]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    // Total length 3: shorter than the header itself (RFC 5734 section 4).
    client.send_raw(&3u32.to_be_bytes()).await;
    assert_eq!(client.recv().await.as_deref(), Some("closing bad_frame"));
    assert_eq!(client.recv().await, None);
}

#[tokio::test]
async fn sessions_per_registrar_are_counted_across_connections() {
    let (_dir, server, options) = start(&[("EPP_SERVER__LIMITS__SESSIONS_PER_REGISTRAR", "1")]);
    let (mut first, _) = Client::open(server.epp, &options).await;
    assert_eq!(first.call("login reg9094").await, "1000 logged in");
    let (mut second, _) = Client::open(server.epp, &options).await;
    let refused = second.call("login reg9094").await;
    assert!(refused.starts_with("2502 "), "{refused}");
    assert_eq!(second.recv().await, None);
    // Another registrar is not affected.
    let (mut other, _) = Client::open(server.epp, &options).await;
    assert_eq!(other.call("login reg0001").await, "1000 logged in");
    assert_eq!(server.metric("epp_sessions_active").await, Some(2.0));
    assert_eq!(
        server
            .metric("epp_refusals_total{reason=\"session_limit\"}")
            .await,
        Some(1.0)
    );

    // Ending the first session frees its slot.
    assert_eq!(first.call("close").await, "bye");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (mut again, _) = Client::open(server.epp, &options).await;
        if again.call("login reg9094").await == "1000 logged in" {
            break;
        }
        assert!(Instant::now() < deadline, "slot not freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
