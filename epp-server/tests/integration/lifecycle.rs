//! Metrics, command logs and graceful shutdown.

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
async fn the_metrics_endpoint_counts_connections_and_commands() {
    let (_dir, server, options) = start(&[]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    assert_eq!(client.call("login reg9094").await, "1000 logged in");
    assert_eq!(client.call("a").await, "a");
    assert_eq!(client.call("b").await, "b");

    let (status, body) = server.http_get("/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    for line in [
        "epp_commands_total{command=\"login\",result=\"1000\",registrar=\"reg9094\"} 1",
        "epp_commands_total{command=\"echo\",result=\"1000\",registrar=\"reg9094\"} 2",
        "epp_command_duration_seconds_count{command=\"echo\"} 2",
        "epp_sessions_active 1",
        "epp_registrar_sessions_active{registrar=\"reg9094\"} 1",
        "epp_connections_total 1",
        "epp_connections_active 1",
        "epp_tls_handshakes_total{version=\"1.3\"} 1",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "missing {line:?} in\n{body}"
        );
    }
    drop(client);
    let (status, body) = server.http_get("/healthz").await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 200 OK", "ok\n")
    );
    let (status, _) = server.http_get("/nothing").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

#[tokio::test]
async fn each_command_is_logged_on_one_line_with_its_fields() {
    let (_dir, server, options) = start(&[]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    client.call("login reg9094").await;
    let line = server.wait_for_log(&["epp::command", "command=login"], Duration::from_secs(5));
    for field in [
        "registrar=\"reg9094\"",
        "result=1000",
        "cl_trid=",
        "sv_trid=",
        "latency_us=",
    ] {
        assert!(line.contains(field), "{field} missing in {line}");
    }
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let (_dir, server, options) = start(&[("EPP_SERVER__LOG__FORMAT", "json")]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    client.call("login reg9094").await;
    let line = server.wait_for_log(&["\"command\":\"login\""], Duration::from_secs(5));
    assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    assert!(line.contains("\"target\":\"epp::command\""), "{line}");
    assert!(line.contains("\"registrar\":\"reg9094\""), "{line}");
    assert!(line.contains("\"result\":1000"), "{line}");
    // Every log line is JSON (the start banner goes to standard output, in text).
    let json_lines = server
        .log_lines()
        .into_iter()
        .filter(|l| l.starts_with('{'))
        .count();
    assert!(json_lines >= 4, "{}", server.log_text());
}

#[tokio::test]
async fn sigterm_lets_commands_in_flight_finish_then_closes_everything() {
    let (_dir, mut server, options) = start(&[]);
    let (mut idle, _) = Client::open(server.epp, &options).await;
    let (mut busy, _) = Client::open(server.epp, &options).await;
    busy.send("sleep 1500").await;
    // Let the command start before the signal.
    server.wait_for_log(&["connection opened", "conn=2"], Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    server.signal("TERM");

    // The idle connection closes at once, with the handler's last word.
    assert_eq!(idle.recv().await.as_deref(), Some("closing shutdown"));
    assert_eq!(idle.recv().await, None);
    assert!(signalled.elapsed() < Duration::from_millis(1000));
    // New connections are refused while the command in flight finishes.
    server.wait_for_log(&["shutting down"], Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(server.epp).await.is_err());
    // The command in flight is answered, then the connection closes.
    assert_eq!(busy.recv().await.as_deref(), Some("slept 1500"));
    assert_eq!(busy.recv().await.as_deref(), Some("closing shutdown"));
    assert_eq!(busy.recv().await, None);

    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(server.log_text().contains("shutdown complete"));
}

#[tokio::test]
async fn the_shutdown_grace_period_bounds_a_command_that_does_not_finish() {
    let (_dir, mut server, options) = start(&[("EPP_SERVER__LIMITS__SHUTDOWN_GRACE", "500ms")]);
    let (mut client, _) = Client::open(server.epp, &options).await;
    client.send("sleep 60000").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert!(
        server.log_text().contains("shutdown grace period over"),
        "{}",
        server.log_text()
    );
    assert_eq!(client.recv().await, None);
}
