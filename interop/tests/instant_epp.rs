//! instant-epp (a widely used Rust EPP client) against the real `epp-server` binary in
//! development mode: it parses our greeting, logs in with the demo registrar, checks
//! domains and hosts, reads a refusal, and logs out.
//!
//! Build the server first (`cargo build -p epp-server` in the main workspace), or point
//! `EPP_SERVER_BIN` at a binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use instant_epp::EppClient;
use instant_epp::connection::Connector;
use instant_epp::domain::{DomainCheck, DomainInfo};
use instant_epp::host::HostCheck;
use instant_epp::login::Login;
use instant_epp::logout::Logout;
use instant_epp::response::ResultCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The server binary: `EPP_SERVER_BIN`, else the main workspace's release or debug build.
fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("EPP_SERVER_BIN") {
        return PathBuf::from(p);
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join("epp-server"))
        .find(|p| p.is_file())
        .expect("build the server first (cargo build -p epp-server) or set EPP_SERVER_BIN")
}

/// The server process, killed on drop, with its data directory.
struct Server {
    child: Child,
    data: PathBuf,
    epp: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let data = std::env::temp_dir().join(format!("epp-interop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let mut child = Command::new(server_binary())
            .env("EPP_SERVER__DATA_DIR", &data)
            .env("EPP_SERVER__SERVER__LISTEN", "127.0.0.1:0")
            .env("EPP_SERVER__METRICS__ENABLED", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let epp = loop {
            let found = lines.lock().unwrap().iter().find_map(|l| {
                let rest = &l[l.find("listening on ")? + "listening on ".len()..];
                let addr: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || ".:".contains(*c))
                    .collect();
                addr.parse().ok()
            });
            if let Some(addr) = found {
                break addr;
            }
            assert!(
                Instant::now() < deadline,
                "no listening line:\n{}",
                lines.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Server { child, data, epp }
    }

    fn demo_password(&self) -> String {
        std::fs::read_to_string(self.data.join("dev/demo-password"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// TLS with rustls (ring), trusting the server's development CA.
struct DevCaConnector {
    addr: SocketAddr,
    tls: TlsConnector,
}

impl DevCaConnector {
    fn new(server: &Server) -> DevCaConnector {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(server.data.join("dev-tls/ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        DevCaConnector {
            addr: server.epp,
            tls: TlsConnector::from(Arc::new(config)),
        }
    }
}

#[async_trait::async_trait]
impl Connector for DevCaConnector {
    type Connection = TlsStream<TcpStream>;

    async fn connect(&self, _timeout: Duration) -> Result<Self::Connection, instant_epp::Error> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(instant_epp::Error::Io)?;
        let name = ServerName::try_from("localhost").unwrap();
        self.tls
            .connect(name, tcp)
            .await
            .map_err(instant_epp::Error::Io)
    }
}

#[tokio::test]
async fn instant_epp_logs_in_checks_and_logs_out() {
    let server = Server::start();
    let password = server.demo_password();
    let mut client = EppClient::new(
        DevCaConnector::new(&server),
        "epp-server".into(),
        Duration::from_secs(10),
    )
    .await
    .expect("the client parses the greeting");
    let greeting = client.greeting().unwrap();
    assert_eq!(greeting.service_id, "EPP registry server");
    client.hello().await.expect("<hello/> answers a greeting");

    let login = Login::new("reg-demo", &password, None, None);
    let rsp = client.transact(&login, "INTEROP-1").await.expect("login");
    assert_eq!(rsp.result.code, ResultCode::CommandCompletedSuccessfully);
    assert_eq!(rsp.tr_ids.client_tr_id.as_deref(), Some("INTEROP-1"));

    let check = DomainCheck {
        domains: &["ledig-domene.no", "example.no"],
    };
    let rsp = client
        .transact(&check, "INTEROP-2")
        .await
        .expect("domain check");
    let list = &rsp.res_data().unwrap().list;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].name.value, "ledig-domene.no");
    assert!(list[0].name.available);

    let check = HostCheck {
        hosts: &["ns1.example.no"],
    };
    let rsp = client
        .transact(&check, "INTEROP-3")
        .await
        .expect("host check");
    assert_eq!(rsp.res_data().unwrap().list.len(), 1);

    let info = DomainInfo::new("ledig-domene.no", None);
    match client.transact(&info, "INTEROP-4").await {
        Err(instant_epp::Error::Command(status)) => {
            assert_eq!(status.result.code, ResultCode::ObjectDoesNotExist);
            assert_eq!(status.tr_ids.client_tr_id.as_deref(), Some("INTEROP-4"));
        }
        other => panic!("expected 2303, got {other:?}"),
    }

    let rsp = client.transact(&Logout, "INTEROP-5").await.expect("logout");
    assert_eq!(
        rsp.result.code,
        ResultCode::CommandCompletedSuccessfullyEndingSession
    );
}
