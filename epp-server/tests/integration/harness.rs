//! Starts a server binary, learns its ports from the "listening on" log lines, and talks
//! to it over TLS.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use epp_frame::EppCodec;
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::codec::Framed;

/// The shipped binary.
pub(crate) const EPP_SERVER: &str = env!("CARGO_BIN_EXE_epp-server");

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Test-friendly settings: port 0 everywhere, short timeouts, a quick shutdown.
pub(crate) fn base_env(data_dir: &Path) -> Vec<(String, String)> {
    [
        ("EPP_SERVER__DATA_DIR", data_dir.to_str().unwrap()),
        ("EPP_SERVER__SERVER__LISTEN", "127.0.0.1:0"),
        ("EPP_SERVER__METRICS__LISTEN", "127.0.0.1:0"),
        ("EPP_SERVER__LIMITS__SHUTDOWN_GRACE", "5s"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// A running server process, killed on drop.
pub(crate) struct Server {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    pub(crate) epp: SocketAddr,
    pub(crate) metrics: Option<SocketAddr>,
}

impl Server {
    /// Starts `epp-server` with `env` (on top of a clean environment for EPP_SERVER__*)
    /// and waits for its "listening on" lines.
    pub(crate) fn start(env: &[(String, String)]) -> Server {
        Self::start_binary(EPP_SERVER, env, &[])
    }

    pub(crate) fn start_binary(binary: &str, env: &[(String, String)], args: &[&str]) -> Server {
        let mut server = Self::spawn(binary, env, args);
        let deadline = Instant::now() + START_TIMEOUT;
        let metrics_enabled = !env
            .iter()
            .any(|(k, v)| k == "EPP_SERVER__METRICS__ENABLED" && v == "false");
        loop {
            let epp = server.listening("epp");
            let metrics = server.listening("metrics");
            if let Some(epp) = epp
                && (metrics.is_some() || !metrics_enabled)
            {
                server.epp = epp;
                server.metrics = metrics;
                return server;
            }
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "server exited with {status} before listening:\n{}",
                    server.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "server did not listen in time:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Spawns without waiting for the listeners.
    pub(crate) fn spawn(binary: &str, env: &[(String, String)], args: &[&str]) -> Server {
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.to_ascii_uppercase().starts_with("EPP_SERVER") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().expect("server binary starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        for reader in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push(line);
                }
            });
        }
        Server {
            child,
            log,
            epp: "0.0.0.0:0".parse().unwrap(),
            metrics: None,
        }
    }

    /// Waits until a server from [`Server::spawn`] listens for EPP and metrics, and takes
    /// both addresses.
    pub(crate) fn wait_listening(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let (Some(epp), Some(metrics)) = (self.listening("epp"), self.listening("metrics")) {
                self.epp = epp;
                self.metrics = Some(metrics);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not listen in time:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address from the `listening on <addr> ... service="<service>"` line.
    fn listening(&self, service: &str) -> Option<SocketAddr> {
        self.log.lock().unwrap().iter().find_map(|line| {
            let rest = &line[line.find("listening on ")? + "listening on ".len()..];
            let addr: String = rest
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || ".:[]".contains(*c))
                .collect();
            let tagged = line.contains(&format!("service=\"{service}\""))
                || line.contains(&format!("\"service\":\"{service}\""));
            tagged.then(|| addr.parse().ok()).flatten()
        })
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub(crate) fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until a log line contains every one of `needles`.
    pub(crate) fn wait_for_log(&self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self
                .log
                .lock()
                .unwrap()
                .iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needles:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal (`"TERM"`, `"HUP"`, ...).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit in time:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running (it has not exited or crashed).
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Scrapes `path` from the metrics endpoint: (status line, body).
    pub(crate) async fn http_get(&self, path: &str) -> (String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = TcpStream::connect(self.metrics.unwrap()).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).await.unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_owned(), body.to_owned())
    }

    /// Waits until one sample of the metrics exposition has `value` (a connection's end
    /// is counted just after the client sees it).
    pub(crate) async fn wait_metric(&self, series: &str, value: f64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.metric(series).await;
            if got == Some(value) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{series} is {got:?}, not {value}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The value of one sample line of the metrics exposition.
    pub(crate) async fn metric(&self, series: &str) -> Option<f64> {
        let (_, body) = self.http_get("/metrics").await;
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA made at test time, issuing server and client certificates.
pub(crate) struct TestCa {
    pub(crate) cert: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub(crate) fn new() -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "integration test CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        TestCa {
            cert,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A certificate for `localhost` signed by this CA: (certificate PEM, key PEM, DER).
    pub(crate) fn server_cert(&self) -> (String, String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }

    /// Writes a fresh server certificate to `dir/server.pem` and `dir/server-key.pem`;
    /// returns the certificate's DER.
    pub(crate) fn write_server_cert(&self, dir: &Path) -> Vec<u8> {
        let (cert, key, der) = self.server_cert();
        write_atomically(&dir.join("server-key.pem"), &key);
        write_atomically(&dir.join("server.pem"), &cert);
        der
    }

    pub(crate) fn pem(&self) -> String {
        self.cert.pem()
    }
}

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Env overrides that point the server at `dir/server.pem` and `dir/server-key.pem`.
pub(crate) fn tls_file_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        (
            "EPP_SERVER__TLS__CERT_CHAIN".into(),
            dir.join("server.pem").to_str().unwrap().into(),
        ),
        (
            "EPP_SERVER__TLS__PRIVATE_KEY".into(),
            dir.join("server-key.pem").to_str().unwrap().into(),
        ),
    ]
}

/// A client certificate: (chain, key, DER of the leaf).
pub(crate) fn client_identity() -> (
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
    Vec<u8>,
) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["registrar.test".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = cert.der().to_vec();
    (
        vec![cert.der().clone()],
        PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        der,
    )
}

/// Client options.
pub(crate) struct ClientOptions {
    pub(crate) ca_pem: String,
    pub(crate) versions: Vec<&'static rustls::SupportedProtocolVersion>,
    pub(crate) identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl ClientOptions {
    pub(crate) fn trusting(ca_pem: String) -> ClientOptions {
        ClientOptions {
            ca_pem,
            versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
            identity: None,
        }
    }

    pub(crate) fn trusting_file(path: &Path) -> ClientOptions {
        Self::trusting(std::fs::read_to_string(path).unwrap())
    }

    fn connector(&self) -> TlsConnector {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&self.versions)
        .unwrap()
        .with_root_certificates(roots);
        let config = match &self.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        TlsConnector::from(Arc::new(config))
    }
}

/// One client connection, framed with the EPP codec.
pub(crate) struct Client {
    framed: Framed<TlsStream<TcpStream>, EppCodec>,
}

impl Client {
    pub(crate) async fn connect(
        addr: SocketAddr,
        options: &ClientOptions,
    ) -> std::io::Result<Client> {
        let tcp = TcpStream::connect(addr).await?;
        let tls = options
            .connector()
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await?;
        Ok(Client {
            framed: Framed::new(tls, EppCodec::new()),
        })
    }

    /// Connects from the local address `source` (another loopback address, so that a test
    /// can act as a second client IP).
    pub(crate) async fn connect_from(
        addr: SocketAddr,
        source: std::net::IpAddr,
        options: &ClientOptions,
    ) -> std::io::Result<Client> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let tcp = socket.connect(addr).await?;
        let tls = options
            .connector()
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await?;
        Ok(Client {
            framed: Framed::new(tls, EppCodec::new()),
        })
    }

    /// Connects and reads the greeting.
    pub(crate) async fn open(addr: SocketAddr, options: &ClientOptions) -> (Client, String) {
        let mut client = Client::connect(addr, options).await.unwrap();
        let greeting = client.recv().await.expect("greeting");
        (client, greeting)
    }

    /// The next frame as text, or `None` when the server closed (cleanly or not).
    pub(crate) async fn recv(&mut self) -> Option<String> {
        self.recv_within(Duration::from_secs(10)).await
    }

    pub(crate) async fn recv_within(&mut self, limit: Duration) -> Option<String> {
        match tokio::time::timeout(limit, self.framed.next())
            .await
            .expect("server answered or closed in time")
        {
            Some(Ok(b)) => Some(String::from_utf8(b.to_vec()).unwrap()),
            Some(Err(_)) | None => None,
        }
    }

    /// The next frame within `limit`: `Err(())` when nothing came in time, `Ok(None)` when
    /// the server closed (cleanly or not).
    pub(crate) async fn next_within(&mut self, limit: Duration) -> Result<Option<String>, ()> {
        match tokio::time::timeout(limit, self.framed.next()).await {
            Err(_) => Err(()),
            Ok(Some(Ok(b))) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
            Ok(Some(Err(_)) | None) => Ok(None),
        }
    }

    /// The next frame's bytes, or `None` when the server closed (cleanly or not).
    pub(crate) async fn recv_bytes(&mut self) -> Option<Vec<u8>> {
        match tokio::time::timeout(Duration::from_secs(10), self.framed.next())
            .await
            .expect("server answered or closed in time")
        {
            Some(Ok(b)) => Some(b.to_vec()),
            Some(Err(_)) | None => None,
        }
    }

    /// Asserts that the server closes the connection cleanly next: TLS close_notify, then
    /// end of stream (a cut connection reads as an error instead).
    pub(crate) async fn expect_clean_close(&mut self) {
        match tokio::time::timeout(Duration::from_secs(10), self.framed.next())
            .await
            .expect("the server closed in time")
        {
            None => {}
            Some(Ok(frame)) => panic!(
                "expected the end, got a frame: {}",
                String::from_utf8_lossy(&frame)
            ),
            Some(Err(e)) => panic!("the connection ended without close_notify: {e}"),
        }
    }

    /// Sends one frame with exactly these bytes.
    pub(crate) async fn send_bytes(&mut self, bytes: &[u8]) {
        self.framed
            .send(Bytes::copy_from_slice(bytes))
            .await
            .unwrap();
    }

    pub(crate) async fn send(&mut self, text: &str) {
        self.framed
            .send(Bytes::from(text.to_owned()))
            .await
            .unwrap();
    }

    /// Sends `text` and reads the reply; `None` when the connection broke on either side
    /// (the server was killed).
    pub(crate) async fn try_call(&mut self, text: &str) -> Option<String> {
        self.framed.send(Bytes::from(text.to_owned())).await.ok()?;
        match tokio::time::timeout(Duration::from_secs(30), self.framed.next()).await {
            Ok(Some(Ok(b))) => String::from_utf8(b.to_vec()).ok(),
            _ => None,
        }
    }

    pub(crate) async fn call(&mut self, text: &str) -> String {
        self.send(text).await;
        self.recv().await.expect("a reply")
    }

    /// Writes raw bytes below the framing (for hostile headers).
    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let stream = self.framed.get_mut();
        stream.write_all(bytes).await.unwrap();
        stream.flush().await.unwrap();
    }

    /// Writes raw bytes below the framing; an error once the server has closed.
    pub(crate) async fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        let stream = self.framed.get_mut();
        stream.write_all(bytes).await?;
        stream.flush().await
    }

    /// The server certificate's DER as the client saw it.
    pub(crate) fn server_cert(&self) -> Vec<u8> {
        let (_, conn) = self.framed.get_ref().get_ref();
        conn.peer_certificates().unwrap()[0].to_vec()
    }
}

pub(crate) fn sha256_hex(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A temporary directory with a `data` subdirectory path (not created: the server must).
pub(crate) fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    (dir, data)
}
