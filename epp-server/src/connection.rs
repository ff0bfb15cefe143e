//! The connection driver: one tokio task per connection runs the TLS handshake, then
//! frames with `epp_frame::EppCodec` and feeds a [`ConnectionHandler`], enforcing the
//! timeouts, and closes cleanly.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use epp_frame::{EppCodec, FrameError};
use futures_util::{Sink, SinkExt, StreamExt};
use rustls::ProtocolVersion;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::{Decoder, Encoder, Framed};

use crate::clock::RegistryClock;
use crate::config::{LimitsConfig, TlsVersion};
use crate::limits::ConnectionPermit;
use crate::log::log_command;
use crate::metrics::Metrics;
use crate::protocol::{
    Action, CloseReason, ConnectionHandler, ConnectionInfo, HandlerFactory, Refusal,
};
use crate::tls::fingerprint_of_der;

/// The timeouts and sizes the driver enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DriverLimits {
    pub(crate) handshake_timeout: Duration,
    pub(crate) max_frame_size: u32,
    pub(crate) prelogin_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
}

impl DriverLimits {
    pub(crate) fn new(handshake_timeout: Duration, limits: &LimitsConfig) -> Self {
        Self {
            handshake_timeout,
            max_frame_size: limits.max_frame_size,
            prelogin_timeout: limits.prelogin_timeout.get(),
            idle_timeout: limits.idle_timeout.get(),
            write_timeout: limits.write_timeout.get(),
        }
    }
}

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) limits: DriverLimits,
    pub(crate) metrics: Metrics,
    pub(crate) clock: RegistryClock,
    pub(crate) shutdown: watch::Receiver<bool>,
    next_id: AtomicU64,
}

impl Shared {
    pub(crate) fn new(
        acceptor: TlsAcceptor,
        limits: DriverLimits,
        metrics: Metrics,
        clock: RegistryClock,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            acceptor,
            limits,
            metrics,
            clock,
            shutdown,
            next_id: AtomicU64::new(1),
        }
    }
}

/// Runs one accepted connection to its end. `permit` holds its connection-limit slot.
pub(crate) async fn run<F: HandlerFactory>(
    tcp: TcpStream,
    peer: SocketAddr,
    permit: ConnectionPermit,
    shared: Arc<Shared>,
    factory: Arc<F>,
) {
    let _permit = permit;
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    shared.metrics.connection_opened();
    let reason = run_inner(tcp, peer, id, &shared, &*factory).await;
    shared.metrics.connection_closed(reason);
}

async fn run_inner<F: HandlerFactory>(
    tcp: TcpStream,
    peer: SocketAddr,
    id: u64,
    shared: &Shared,
    factory: &F,
) -> Option<CloseReason> {
    let local = tcp.local_addr().unwrap_or(peer);
    let mut shutdown = shared.shutdown.clone();
    let handshake = tokio::select! {
        r = timeout(shared.limits.handshake_timeout, shared.acceptor.accept(tcp)) => r,
        _ = shutdown.wait_for(|stop| *stop) => return None,
    };
    let tls = match handshake {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            shared.metrics.handshake_failed(false);
            tracing::debug!(conn = id, %peer, error = %e, "TLS handshake failed");
            return None;
        }
        Err(_) => {
            shared.metrics.handshake_failed(true);
            tracing::debug!(conn = id, %peer, "TLS handshake timed out");
            return None;
        }
    };
    let (_, session) = tls.get_ref();
    let tls_version = match session.protocol_version() {
        Some(ProtocolVersion::TLSv1_2) => TlsVersion::Tls12,
        _ => TlsVersion::Tls13,
    };
    let client_cert = session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|leaf| fingerprint_of_der(leaf));
    shared.metrics.handshake_ok(tls_version);
    let info = ConnectionInfo {
        id,
        peer,
        local,
        tls_version,
        client_cert,
    };
    tracing::info!(
        conn = id,
        %peer,
        tls = %tls_version,
        client_cert = %client_cert.map_or_else(|| "-".to_owned(), |f| f.to_string()),
        "connection opened"
    );
    let handler = factory.connect(&info);
    let opened = Instant::now();
    let (reason, commands) = drive(tls, handler, shared, id).await;
    tracing::info!(
        conn = id,
        %peer,
        reason = reason.label(),
        commands,
        duration_ms = u64::try_from(opened.elapsed().as_millis()).unwrap_or(u64::MAX),
        "connection closed"
    );
    Some(reason)
}

/// The initial size of a connection's read and write buffers (tokio-util's default is
/// 8 KiB each).
const FRAME_BUFFER: usize = 2048;

/// The frame codec of a connection: commands up to `limits.max_frame_size`, responses of
/// any size.
struct DriverCodec {
    read: EppCodec,
    write: EppCodec,
}

impl Decoder for DriverCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        self.read.decode(src)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        self.read.decode_eof(src)
    }
}

impl Encoder<Bytes> for DriverCodec {
    type Error = FrameError;

    fn encode(&mut self, payload: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.write.encode(payload, dst)
    }
}

/// One `Framed` over the stream, as the echo baseline has it: splitting the stream into
/// halves costs a lock on every read and write. Its buffers start small (an idle session
/// is mostly its buffers) and grow for larger frames; most EPP commands and responses fit
/// in 2 KiB. (`Framed::from_parts` would give each buffer at least tokio-util's 8 KiB:
/// 35 KiB per idle session instead of 26 in the benchmarks.)
fn framed<S>(stream: S, max_frame_size: u32) -> Framed<S, DriverCodec> {
    let codec = DriverCodec {
        read: EppCodec::with_max_frame_size(max_frame_size),
        // Responses are not bound by the incoming limit: a check of many names or an info
        // with many hosts may answer with more than a client may send.
        write: EppCodec::with_max_frame_size(u32::MAX),
    };
    Framed::with_capacity(stream, codec, FRAME_BUFFER)
}

/// Greeting, then frames until the handler, the client, a timer or shutdown ends it.
/// Returns why it ended and how many frames were handled.
async fn drive<S, H>(stream: S, mut handler: H, shared: &Shared, id: u64) -> (CloseReason, u64)
where
    S: tokio::io::AsyncRead + AsyncWrite + Unpin,
    H: ConnectionHandler,
{
    let limits = shared.limits;
    let mut framed = framed(stream, limits.max_frame_size);
    let mut shutdown = shared.shutdown.clone();

    let greeting = handler.greeting(shared.clock.now());
    if let Err(reason) = write(&mut framed, greeting, limits.write_timeout, id).await {
        return (reason, 0);
    }
    let prelogin_deadline = Instant::now() + limits.prelogin_timeout;
    let mut last_frame = Instant::now();
    let mut commands = 0u64;
    // One timer and one shutdown wait for the whole connection, not one of each per frame
    // (each costs the runtime's timer lock, or the shutdown channel's waiter lock, to make
    // and to drop). The timer is lazy: it is set no later than the deadline and moved only
    // when the deadline comes earlier than it (at login) or when it fires before the
    // deadline, which has moved on meanwhile (every frame moves the idle deadline).
    let timer = sleep_until(prelogin_deadline);
    tokio::pin!(timer);
    let stop = shutdown.wait_for(|stop| *stop);
    tokio::pin!(stop);

    let reason = loop {
        let logged_in = handler.logged_in();
        let deadline = match logged_in {
            true => last_frame + limits.idle_timeout,
            false => prelogin_deadline,
        };
        let expired = match logged_in {
            true => CloseReason::IdleTimeout,
            false => CloseReason::PreLoginTimeout,
        };
        // Checked here too because the select below prefers frames: a client that keeps
        // frames coming must not outlive the pre-login deadline or a shutdown.
        if *shared.shutdown.borrow() {
            break CloseReason::Shutdown;
        }
        if Instant::now() >= deadline {
            break expired;
        }
        if timer.deadline() > deadline {
            timer.as_mut().reset(deadline);
        }
        // Biased: a frame that arrived together with a timer or the shutdown signal is
        // still answered.
        let frame = tokio::select! {
            biased;
            frame = framed.next() => frame,
            _ = &mut stop => break CloseReason::Shutdown,
            () = &mut timer => {
                if Instant::now() >= deadline {
                    break expired;
                }
                timer.as_mut().reset(deadline);
                continue;
            }
        };
        let payload = match frame {
            Some(Ok(payload)) => payload,
            None => return (CloseReason::ClientClosed, commands),
            Some(Err(FrameError::FrameTooLarge { declared, max })) => {
                tracing::warn!(
                    conn = id,
                    declared,
                    max,
                    "frame header announces more than limits.max_frame_size; closing"
                );
                shared.metrics.record_refusal(Refusal::FrameTooLarge);
                break CloseReason::FrameTooLarge;
            }
            Some(Err(FrameError::Io(e))) => {
                // rustls reports a TCP close without close_notify as UnexpectedEof; many
                // clients close that way.
                let reason = match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => CloseReason::ClientClosed,
                    _ => CloseReason::Transport,
                };
                tracing::debug!(conn = id, error = %e, "read failed");
                return (reason, commands);
            }
            Some(Err(e @ FrameError::UnexpectedEof { .. })) => {
                tracing::info!(conn = id, error = %e, "client closed inside a frame");
                return (CloseReason::BadFrame, commands);
            }
            Some(Err(e)) => {
                tracing::info!(conn = id, error = %e, "malformed frame header; closing");
                break CloseReason::BadFrame;
            }
        };
        commands += 1;
        let started = Instant::now();
        let reply = handler.handle(payload, shared.clock.now()).await;
        let latency = started.elapsed();
        if let Some(outcome) = &reply.outcome {
            log_command(id, outcome, latency);
            shared.metrics.record_command(outcome, latency);
        }
        if !reply.bytes.is_empty()
            && let Err(reason) = write(&mut framed, reply.bytes, limits.write_timeout, id).await
        {
            return (reason, commands);
        }
        last_frame = Instant::now();
        if reply.action == Action::Close {
            close(framed.get_mut(), limits.write_timeout).await;
            return (CloseReason::Handler, commands);
        }
    };

    if let Some(last_word) = handler.closing(reason, shared.clock.now()) {
        // Best effort: the connection is closing either way.
        let _ = write(&mut framed, last_word, limits.write_timeout, id).await;
    }
    close(framed.get_mut(), limits.write_timeout).await;
    (reason, commands)
}

async fn write<K: Sink<Bytes, Error = FrameError> + Unpin>(
    writer: &mut K,
    bytes: Bytes,
    limit: Duration,
    id: u64,
) -> Result<(), CloseReason> {
    // Most responses fit the socket's buffer and go out at the first try: the write
    // timer (the runtime's timer lock to make and to drop) is started only when not.
    let mut send = std::pin::pin!(writer.send(bytes));
    let first = std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await;
    let sent = match first {
        Poll::Ready(result) => Ok(result),
        Poll::Pending => timeout(limit, send).await,
    };
    match sent {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::debug!(conn = id, error = %e, "write failed");
            Err(CloseReason::Transport)
        }
        Err(_) => {
            tracing::info!(
                conn = id,
                "client did not read the response in time; closing"
            );
            Err(CloseReason::WriteTimeout)
        }
    }
}

/// Sends TLS close_notify and the TCP FIN, within `limit`.
async fn close<W: AsyncWrite + Unpin>(stream: &mut W, limit: Duration) {
    let _ = timeout(limit, stream.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio_util::codec::FramedWrite;

    use super::*;

    const LIMIT: Duration = Duration::from_secs(30);

    #[tokio::test(start_paused = true)]
    async fn a_response_the_socket_takes_at_once_is_written() {
        let (ours, mut theirs) = tokio::io::duplex(4096);
        let mut writer = FramedWrite::new(ours, EppCodec::new());
        let payload = Bytes::from(vec![b'x'; 1000]);
        assert_eq!(write(&mut writer, payload.clone(), LIMIT, 1).await, Ok(()));
        let mut got = vec![0u8; 1004];
        theirs.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..4], &1004u32.to_be_bytes());
        assert_eq!(&got[4..], &payload[..]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_read_slowly_is_written_within_the_limit() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut writer = FramedWrite::new(ours, EppCodec::new());
        let payload = Bytes::from(vec![b'y'; 10_000]);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 100];
            while got.len() < 10_004 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let n = theirs.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        let started = Instant::now();
        assert_eq!(write(&mut writer, payload.clone(), LIMIT, 1).await, Ok(()));
        assert!(started.elapsed() < LIMIT);
        assert_eq!(&reader.await.unwrap()[4..], &payload[..]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_starts_with_small_buffers_and_unbounded_responses() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 16);
        let mut framed = framed(ours, 100);
        assert!(framed.read_buffer().capacity() <= FRAME_BUFFER);
        assert!(framed.write_buffer().capacity() <= FRAME_BUFFER);
        // A response larger than the incoming limit and than the buffers goes out whole.
        let payload = Bytes::from(vec![b'r'; 5000]);
        assert_eq!(write(&mut framed, payload.clone(), LIMIT, 1).await, Ok(()));
        let mut got = vec![0u8; 5004];
        theirs.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[4..], &payload[..]);
        // A command over the limit is refused by its header.
        tokio::io::AsyncWriteExt::write_all(&mut theirs, &200u32.to_be_bytes())
            .await
            .unwrap();
        assert!(matches!(
            framed.next().await,
            Some(Err(FrameError::FrameTooLarge { .. }))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_nobody_reads_times_out() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut writer = FramedWrite::new(ours, EppCodec::new());
        let started = Instant::now();
        let result = write(&mut writer, Bytes::from(vec![b'z'; 1000]), LIMIT, 1).await;
        assert_eq!(result, Err(CloseReason::WriteTimeout));
        assert!(started.elapsed() >= LIMIT);
    }
}
