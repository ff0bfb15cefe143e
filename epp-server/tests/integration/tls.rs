//! TLS: versions, client-certificate policy and per-registrar pins checked at login, the
//! development CA, certificate reloads.

use std::time::Duration;

use crate::db::{Db, runtime};
use crate::epp::{HELLO, TlsTarget, code, is_greeting, login};
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
        assert!(is_greeting(&greeting), "{greeting}");
        assert!(is_greeting(&client.call(HELLO).await));
        server.wait_for_log(&["connection opened", label], Duration::from_secs(5));
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
    assert!(is_greeting(&greeting), "{greeting}");
    server.wait_for_log(
        &["connection opened", "conn=1", "client_cert=-"],
        Duration::from_secs(5),
    );

    let (chain, key, der) = client_identity();
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let mut options = ClientOptions::trusting(ca.pem());
        options.identity = Some((chain.clone(), key.clone_key()));
        options.versions = vec![version];
        let (_, greeting) = Client::open(server.epp, &options).await;
        assert!(is_greeting(&greeting), "{greeting}");
    }
    for conn in ["conn=2", "conn=3"] {
        server.wait_for_log(
            &[
                "connection opened",
                conn,
                &format!("client_cert={}", sha256_hex(&der)),
            ],
            Duration::from_secs(5),
        );
    }
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
    assert!(is_greeting(&greeting), "{greeting}");
    assert!(is_greeting(&client.call(HELLO).await));
    server.wait_for_log(
        &["connection opened", &sha256_hex(&der)],
        Duration::from_secs(5),
    );
    assert_eq!(
        server
            .metric("epp_tls_handshake_failures_total{cause=\"error\"}")
            .await,
        Some(2.0)
    );
}

/// A registrar with a pinned certificate: refused at login without a certificate and with
/// another one, accepted with the pinned one; a registrar without a pin logs in either
/// way (the policy is optional at the TLS layer).
#[test]
fn pinned_certificates_are_checked_at_login() {
    let db = Db::sqlite();
    let dir = db.data.parent().unwrap().to_owned();
    let ca = TestCa::new();
    ca.write_server_cert(&dir);
    let (chain, key, der) = client_identity();
    let (other_chain, other_key, _) = client_identity();
    runtime().block_on(async {
        let mut target = TlsTarget::new(&db).await;
        target
            .fixtures(&format!(
                "@registrar reg9094 password=secret-pw pin={}\n@registrar reg0001 password=secret-pw\n",
                sha256_hex(&der)
            ))
            .await;
        let tls_env = tls_file_env(&dir);
        let env: Vec<(&str, &str)> = tls_env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut target = target.with_env(&env);
        let addr = target.start().epp;

        let plain = ClientOptions::trusting(ca.pem());
        let (mut client, _) = Client::open(addr, &plain).await;
        let reply = client.call(&login("reg9094", "secret-pw", "PIN-1")).await;
        assert_eq!(code(&reply), Some(2200), "{reply}");
        assert!(reply.contains("presented none"), "{reply}");

        let mut wrong = ClientOptions::trusting(ca.pem());
        wrong.identity = Some((other_chain, other_key));
        let (mut client, _) = Client::open(addr, &wrong).await;
        let reply = client.call(&login("reg9094", "secret-pw", "PIN-2")).await;
        assert_eq!(code(&reply), Some(2200), "{reply}");
        assert!(reply.contains("is not pinned"), "{reply}");

        let mut right = ClientOptions::trusting(ca.pem());
        right.identity = Some((chain, key));
        let (mut client, _) = Client::open(addr, &right).await;
        let reply = client.call(&login("reg9094", "secret-pw", "PIN-3")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");

        for options in [&plain, &right] {
            let (mut client, _) = Client::open(addr, options).await;
            let reply = client.call(&login("reg0001", "secret-pw", "PIN-4")).await;
            assert_eq!(code(&reply), Some(1000), "{reply}");
        }
        assert_eq!(
            target
                .server()
                .metric("epp_refusals_total{reason=\"certificate_pin\"}")
                .await,
            Some(2.0)
        );
    });
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
    assert!(is_greeting(&old_client.call(HELLO).await));
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
