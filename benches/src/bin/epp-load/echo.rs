//! The transport ceiling: a bare rustls server (ring, TLS 1.2 and 1.3, the server's own
//! certificate) on a tokio runtime like the server's, reading RFC 5734 frames and answering
//! each with a fixed payload (the server's own check response, recorded by the run), with
//! no XML, session or store. It runs as `epp-load echo-server` in a process of its own, as
//! the real server does, and prints `listening on <addr>`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use epp_frame::EppCodec;
use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;

use crate::anyhow_lite::{Context, Result};

/// `epp-load echo-server`.
pub(crate) fn serve(cert: &Path, key: &Path, payload: &Path) -> Result<()> {
    let chain = CertificateDer::pem_file_iter(cert)
        .context("certificate")?
        .collect::<Result<Vec<_>, _>>()
        .context("certificate")?;
    let key = PrivateKeyDer::from_pem_file(key).context("private key")?;
    let payload = Bytes::from(std::fs::read(payload).context("payload")?);
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .context("TLS versions")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .context("server certificate")?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("bind")?;
        println!(
            "listening on {} service=\"echo\"",
            listener.local_addr().context("addr")?
        );
        let _ = std::io::stdout().flush();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let payload = payload.clone();
            tokio::spawn(async move {
                let _ = tcp.set_nodelay(true);
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut framed = Framed::new(tls, EppCodec::new());
                if framed.send(payload.clone()).await.is_err() {
                    return;
                }
                while let Some(Ok(_frame)) = framed.next().await {
                    if framed.send(payload.clone()).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

/// A started echo server process, killed on drop.
pub(crate) struct EchoProcess {
    child: Child,
    pub(crate) addr: std::net::SocketAddr,
}

impl EchoProcess {
    pub(crate) fn start(cert: &Path, key: &Path, payload: &Path) -> Result<Self> {
        let exe = std::env::current_exe().context("locating epp-load")?;
        let mut child = Command::new(exe)
            .arg("echo-server")
            .arg("--cert")
            .arg(cert)
            .arg("--key")
            .arg(key)
            .arg("--payload")
            .arg(payload)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the echo server")?;
        let stdout = child.stdout.take().ok_or("no echo stdout")?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
            .context("reading the echo server's address")?;
        let addr = crate::server::listening(&line, "echo")
            .ok_or_else(|| format!("echo server said {line:?}"))?;
        Ok(EchoProcess { child, addr })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EchoProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
