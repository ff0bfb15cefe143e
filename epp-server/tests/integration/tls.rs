//! TLS: versions, client-certificate policy, the development CA, certificate reloads.

use std::time::Duration;

use crate::harness::{
    Client, ClientOptions, Server, TestCa, base_env, client_identity, sha256_hex, temp,
    tls_file_env,
};

/// A server with certificates from files issued by a test CA.
fn with_files(extra: &[(&str, &str)]) -> (tempfile::TempDir, TestCa, Vec<u8>, Server) {
    let (dir, data) = temp();
    let ca = TestCa::new();
    let der = ca.write_server_cert(dir.path());
    let mut env = base_env(&data);
    env.extend(tls_file_env(dir.path()));
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let server = Server::start(&env);
    (dir, ca, der, server)
}

#[tokio::test]
async fn tls_1_2_and_1_3_handshakes_complete() {
    let (_dir, ca, _, server) = with_files(&[]);
    for (version, label) in [
        (&rustls::version::TLS12, "tls=1.2"),
        (&rustls::version::TLS13, "tls=1.3"),
    ] {
        let mut options = ClientOptions::trusting(ca.pem());
        options.versions = vec![version];
        let (mut client, greeting) = Client::open(server.epp, &options).await;
        assert!(greeting.contains(label), "{greeting}");
        assert_eq!(client.call("ping").await, "ping");
    }
    let (_, body) = server.http_get("/metrics").await;
    assert!(
        body.contains("epp_tls_handshakes_total{version=\"1.2\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("epp_tls_handshakes_total{version=\"1.3\"} 1\n"),
        "{body}"
    );
}

#[tokio::test]
async fn a_version_left_out_of_the_configuration_is_refused() {
    let (_dir, ca, _, server) = with_files(&[("EPP_SERVER__TLS__VERSIONS", "[\"1.3\"]")]);
    let mut options = ClientOptions::trusting(ca.pem());
    options.versions = vec![&rustls::version::TLS12];
    assert!(Client::connect(server.epp, &options).await.is_err());
    options.versions = vec![&rustls::version::TLS13];
    Client::open(server.epp, &options).await;
}

#[tokio::test]
async fn optional_client_certificates_are_recorded_by_fingerprint() {
    let (_dir, ca, _, server) = with_files(&[]);
    let (_, greeting) = Client::open(server.epp, &ClientOptions::trusting(ca.pem())).await;
    assert!(greeting.ends_with("client_cert=none"), "{greeting}");

    let (chain, key, der) = client_identity();
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let mut options = ClientOptions::trusting(ca.pem());
        options.identity = Some((chain.clone(), key.clone_key()));
        options.versions = vec![version];
        let (_, greeting) = Client::open(server.epp, &options).await;
        assert!(
            greeting.ends_with(&format!("client_cert={}", sha256_hex(&der))),
            "{greeting}"
        );
    }
    server.wait_for_log(
        &["connection opened", &sha256_hex(&der)],
        Duration::from_secs(5),
    );
}

#[tokio::test]
async fn required_client_certificates_refuse_clients_without_one() {
    let (_dir, ca, _, server) = with_files(&[("EPP_SERVER__TLS__CLIENT_CERTIFICATES", "required")]);
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let mut options = ClientOptions::trusting(ca.pem());
        options.versions = vec![version];
        // TLS 1.3 clients finish their side first and see the refusal on the first read.
        if let Ok(mut client) = Client::connect(server.epp, &options).await {
            assert_eq!(
                client.recv().await,
                None,
                "no greeting without a certificate"
            );
        }
    }
    let (chain, key, der) = client_identity();
    let mut options = ClientOptions::trusting(ca.pem());
    options.identity = Some((chain, key));
    let (mut client, greeting) = Client::open(server.epp, &options).await;
    assert!(greeting.contains(&sha256_hex(&der)), "{greeting}");
    assert_eq!(client.call("hello").await, "hello");
    assert_eq!(
        server
            .metric("epp_tls_handshake_failures_total{cause=\"error\"}")
            .await,
        Some(2.0)
    );
}

#[tokio::test]
async fn the_development_ca_is_created_on_first_start_and_reused_after() {
    let (_dir, data) = temp();
    let env = base_env(&data);
    let ca_path = data.join("dev-tls").join("ca.pem");

    let mut first = Server::start(&env);
    first.wait_for_log(
        &["created the development CA and server certificate"],
        Duration::from_secs(1),
    );
    let ca_pem = std::fs::read_to_string(&ca_path).unwrap();
    let (client, _) = Client::open(first.epp, &ClientOptions::trusting(ca_pem.clone())).await;
    let served = client.server_cert();
    drop(client);
    assert!(
        first
            .log_text()
            .contains(&format!("openssl s_client -connect {}", first.epp)),
        "the start banner shows how to connect"
    );
    first.signal("TERM");
    assert!(first.wait_exit(Duration::from_secs(10)).success());

    let second = Server::start(&env);
    second.wait_for_log(
        &["using the existing development CA"],
        Duration::from_secs(1),
    );
    assert_eq!(std::fs::read_to_string(&ca_path).unwrap(), ca_pem);
    let (client, _) = Client::open(second.epp, &ClientOptions::trusting_file(&ca_path)).await;
    assert_eq!(client.server_cert(), served);
}

#[tokio::test]
async fn sighup_reloads_the_certificate_for_new_connections() {
    let (dir, ca, old_der, server) = with_files(&[("EPP_SERVER__TLS__RELOAD_INTERVAL", "0s")]);
    let options = ClientOptions::trusting(ca.pem());
    let (mut old_client, _) = Client::open(server.epp, &options).await;
    assert_eq!(old_client.server_cert(), old_der);

    let new_der = ca.write_server_cert(dir.path());
    server.signal("HUP");
    server.wait_for_log(
        &[
            "server certificate reloaded",
            "SIGHUP",
            &sha256_hex(&new_der),
        ],
        Duration::from_secs(10),
    );
    let (client, _) = Client::open(server.epp, &options).await;
    assert_eq!(client.server_cert(), new_der);
    // The connection opened before the reload goes on.
    assert_eq!(old_client.call("still here").await, "still here");
}

#[tokio::test]
async fn a_changed_certificate_file_is_picked_up_without_a_signal() {
    let (dir, ca, _, server) = with_files(&[("EPP_SERVER__TLS__RELOAD_INTERVAL", "200ms")]);
    let new_der = ca.write_server_cert(dir.path());
    server.wait_for_log(
        &[
            "server certificate reloaded",
            "file change",
            &sha256_hex(&new_der),
        ],
        Duration::from_secs(10),
    );
    let (client, _) = Client::open(server.epp, &ClientOptions::trusting(ca.pem())).await;
    assert_eq!(client.server_cert(), new_der);
}

#[tokio::test]
async fn a_broken_new_certificate_keeps_the_old_one() {
    let (dir, ca, old_der, server) = with_files(&[("EPP_SERVER__TLS__RELOAD_INTERVAL", "0s")]);
    std::fs::write(dir.path().join("server.pem"), "not a certificate\n").unwrap();
    server.signal("HUP");
    server.wait_for_log(
        &["keeping the current certificate", &sha256_hex(&old_der)],
        Duration::from_secs(10),
    );
    let (client, _) = Client::open(server.epp, &ClientOptions::trusting(ca.pem())).await;
    assert_eq!(client.server_cert(), old_der);
    assert_eq!(
        server
            .metric("epp_tls_certificate_reloads_total{result=\"failed\"}")
            .await,
        Some(1.0)
    );
}
