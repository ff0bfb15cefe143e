//! One EPP client connection: TCP, TLS (rustls on ring), RFC 5734 frames, and the result
//! code of each response (read from its bytes: the load generator must stay cheap beside
//! the server it measures).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use epp_frame::EppCodec;
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::codec::Framed;

use crate::anyhow_lite::{Context, Result};

/// Where to connect and how.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) tls: TlsConnector,
}

/// A client TLS configuration trusting `ca`, with a self-signed client certificate when
/// `client_cert`, and without session resumption (every handshake is a full one).
pub(crate) fn connector(ca: &Path, client_cert: bool) -> Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).context(format!("reading {}", ca.display()))? {
        roots
            .add(cert.context("CA certificate")?)
            .context("CA certificate")?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("TLS versions")?
    .with_root_certificates(roots);
    let mut config = if client_cert {
        let key = rcgen::KeyPair::generate().context("client key")?;
        let cert = rcgen::CertificateParams::new(vec!["epp-load.invalid".into()])
            .context("client certificate")?
            .self_signed(&key)
            .context("client certificate")?;
        let key =
            PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).context("client key")?;
        builder
            .with_client_auth_cert(vec![cert.der().clone()], key)
            .context("client certificate")?
    } else {
        builder.with_no_client_auth()
    };
    config.resumption = rustls::client::Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// An open connection that has read its greeting.
pub(crate) struct Conn {
    framed: Framed<TlsStream<TcpStream>, EppCodec>,
}

impl Conn {
    /// Connects, completes the TLS handshake and reads the greeting.
    pub(crate) async fn open(target: &Target) -> Result<Conn> {
        let tcp = TcpStream::connect(target.addr).await.context("connect")?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        let name = ServerName::try_from("localhost").expect("a valid DNS name");
        let tls = target
            .tls
            .connect(name, tcp)
            .await
            .context("TLS handshake")?;
        let mut framed = Framed::new(tls, EppCodec::new());
        match framed.next().await {
            Some(Ok(_greeting)) => Ok(Conn { framed }),
            Some(Err(e)) => Err(format!("reading the greeting: {e}")),
            None => Err("closed before the greeting".into()),
        }
    }

    /// Sends one document and waits for its response: (result code, response, seconds).
    pub(crate) async fn call(&mut self, doc: Bytes) -> Result<(u16, Bytes, f64)> {
        let start = Instant::now();
        self.framed.send(doc).await.context("sending")?;
        let reply = match self.framed.next().await {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Err(format!("reading a response: {e}")),
            None => return Err("connection closed by the server".into()),
        };
        let took = start.elapsed().as_secs_f64();
        Ok((result_code(&reply).unwrap_or(0), reply, took))
    }

    /// Sends close_notify and closes.
    pub(crate) async fn close(mut self) {
        use tokio::io::AsyncWriteExt;
        let _ = self.framed.get_mut().shutdown().await;
    }
}

/// The first `<result code="NNNN">` of a response.
pub(crate) fn result_code(reply: &[u8]) -> Option<u16> {
    const NEEDLE: &[u8] = b"<result code=\"";
    let at = reply.windows(NEEDLE.len()).position(|w| w == NEEDLE)? + NEEDLE.len();
    std::str::from_utf8(reply.get(at..at + 4)?)
        .ok()?
        .parse()
        .ok()
}
