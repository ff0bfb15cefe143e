//! The seam between the connection driver (TLS, framing, timers) and the EPP session.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use epp_xml::{ClTrid, ClientId, SvTrid, Timestamp};

use crate::config::TlsVersion;
use crate::tls::CertFingerprint;

/// Creates one [`ConnectionHandler`] per accepted connection.
pub trait HandlerFactory: Send + Sync + 'static {
    /// The per-connection handler.
    type Handler: ConnectionHandler;

    /// A handler for a new connection whose TLS handshake has completed.
    fn connect(&self, connection: &ConnectionInfo) -> Self::Handler;
}

/// One connection's protocol logic: bytes of one frame in, bytes of one frame out.
///
/// The server owns sockets, TLS, frame boundaries, timeouts, connection limits and
/// shutdown; the handler owns everything inside a frame. One handler serves one
/// connection, created by a [`HandlerFactory`] once the TLS handshake is done. The
/// connection driver calls, in order:
///
/// 1. [`greeting`](Self::greeting) once, and writes the bytes as the first frame;
/// 2. [`handle`](Self::handle) for each complete frame; it writes the reply, logs and
///    counts the [`CommandOutcome`] (see [`crate::log_command`] and
///    [`crate::Metrics::record_command`]), and closes after [`Action::Close`];
/// 3. [`closing`](Self::closing) once if the server ends the connection itself (timeout,
///    shutdown, bad framing), so the handler can say a last word.
///
/// Timers: until [`logged_in`](Self::logged_in) turns true the client must log in within
/// `limits.prelogin_timeout` of the greeting (an absolute deadline: trickling bytes or
/// repeated `<hello/>` do not extend it); afterwards at most `limits.idle_timeout` may
/// pass between two complete frames. Commands per session, sessions per registrar
/// ([`crate::SessionRegistry`]) and rate limits ([`crate::RateLimiter`]) are the
/// handler's to enforce, since only it knows the registrar and the command.
///
/// Implementations never see the length header, the socket or the wall clock: `now` is
/// the registry clock (system time plus `testing.clock_offset`). A handler dropped
/// mid-command (shutdown grace over) must leave no partial state behind: the store's
/// transactions see to that.
pub trait ConnectionHandler: Send + 'static {
    /// The greeting sent when the connection opens.
    fn greeting(&mut self, now: Timestamp) -> Bytes;

    /// Handles one frame payload (one XML document, unvalidated peer input).
    ///
    /// The future runs to completion even during a graceful shutdown (within
    /// `limits.shutdown_grace`), so a command in flight is answered.
    fn handle(&mut self, frame: Bytes, now: Timestamp) -> impl Future<Output = Reply> + Send;

    /// Whether the client has logged in: selects the idle timeout instead of the
    /// pre-login deadline.
    fn logged_in(&self) -> bool;

    /// The server is about to close the connection for `reason`; bytes returned are sent
    /// as a last frame (best effort). Not called after [`Action::Close`] or when the
    /// client closed first.
    fn closing(&mut self, reason: CloseReason, now: Timestamp) -> Option<Bytes> {
        let _ = (reason, now);
        None
    }
}

/// What the driver does with one handled frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The response frame payload; nothing is written when empty.
    pub bytes: Bytes,
    /// Whether the connection stays open.
    pub action: Action,
    /// What to log and count for this command; `None` logs nothing.
    pub outcome: Option<CommandOutcome>,
}

impl Reply {
    /// A reply that keeps the connection open.
    pub fn continue_with(bytes: Bytes, outcome: Option<CommandOutcome>) -> Self {
        Self {
            bytes,
            action: Action::Continue,
            outcome,
        }
    }

    /// A reply after which the connection closes (logout, 2501, 2502, fatal errors).
    pub fn close_with(bytes: Bytes, outcome: Option<CommandOutcome>) -> Self {
        Self {
            bytes,
            action: Action::Close,
            outcome,
        }
    }
}

/// What the connection does after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Keep reading commands.
    Continue,
    /// Write the reply, then close the connection (TLS close_notify, then TCP FIN).
    Close,
}

/// The facts about one command that the server logs (one line per command) and counts
/// in metrics. Never put passwords or authInfo here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The command, from a fixed vocabulary because it labels metrics: `hello`, `login`,
    /// `logout`, `poll`, `<object>:<verb>` such as `domain:create`, or `invalid` for a
    /// document that is not a command.
    pub command: Cow<'static, str>,
    /// The EPP result code sent (1000, 2302, ...).
    pub result_code: u16,
    /// The logged-in registrar, or `None` before login.
    pub registrar: Option<ClientId>,
    /// The client transaction id, if the command had one.
    pub cl_trid: Option<ClTrid>,
    /// The server transaction id sent.
    pub sv_trid: Option<SvTrid>,
    /// Set when the command was refused by a limit or policy, for the refusal metric.
    pub refusal: Option<Refusal>,
    /// The response is the recorded answer to an earlier copy of the command (idempotent
    /// replay): nothing was executed. Logged, and counted apart from executed commands.
    pub replayed: bool,
    /// Why the store failed, when the command was answered 2400 because of it: logged at
    /// `ERROR` beside the command line, never sent to the client.
    pub failure: Option<String>,
}

impl CommandOutcome {
    /// An outcome with no transaction ids, registrar or refusal.
    pub fn new(command: impl Into<Cow<'static, str>>, result_code: u16) -> Self {
        Self {
            command: command.into(),
            result_code,
            registrar: None,
            cl_trid: None,
            sv_trid: None,
            refusal: None,
            replayed: false,
            failure: None,
        }
    }
}

/// Why something was refused, as counted by `epp_refusals_total{reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// A login presented no certificate, or one that does not match the registrar's pin.
    CertificatePin,
    /// `limits.commands_per_session` reached.
    CommandLimit,
    /// `limits.connections_per_ip` reached: the connection was closed before TLS.
    ConnectionsPerIp,
    /// A frame header announced more than `limits.max_frame_size`.
    FrameTooLarge,
    /// A login failed (bad client id or password).
    LoginFailed,
    /// `limits.max_connections` reached: the connection was closed before TLS.
    MaxConnections,
    /// A per-registrar rate limit was exceeded.
    RateLimit,
    /// The registrar already has its maximum number of sessions (2502).
    SessionLimit,
}

impl Refusal {
    /// Every reason, in label order.
    pub const ALL: [Refusal; 8] = [
        Refusal::CertificatePin,
        Refusal::CommandLimit,
        Refusal::ConnectionsPerIp,
        Refusal::FrameTooLarge,
        Refusal::LoginFailed,
        Refusal::MaxConnections,
        Refusal::RateLimit,
        Refusal::SessionLimit,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::CertificatePin => "certificate_pin",
            Self::CommandLimit => "command_limit",
            Self::ConnectionsPerIp => "connections_per_ip",
            Self::FrameTooLarge => "frame_too_large",
            Self::LoginFailed => "login_failed",
            Self::MaxConnections => "max_connections",
            Self::RateLimit => "rate_limit",
            Self::SessionLimit => "session_limit",
        }
    }
}

/// Why a connection ended, as logged and counted by `epp_connections_closed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the connection between frames.
    ClientClosed,
    /// The handler asked to close ([`Action::Close`]).
    Handler,
    /// No login within `limits.prelogin_timeout`.
    PreLoginTimeout,
    /// No complete command within `limits.idle_timeout`.
    IdleTimeout,
    /// A frame header announced more than `limits.max_frame_size`.
    FrameTooLarge,
    /// A frame header that is not RFC 5734, or the stream ended inside a frame.
    BadFrame,
    /// The client did not read a response within `limits.write_timeout`.
    WriteTimeout,
    /// A transport error (reset, TLS alert).
    Transport,
    /// The server is shutting down.
    Shutdown,
}

impl CloseReason {
    /// Every reason, in label order.
    pub const ALL: [CloseReason; 9] = [
        CloseReason::BadFrame,
        CloseReason::ClientClosed,
        CloseReason::FrameTooLarge,
        CloseReason::Handler,
        CloseReason::IdleTimeout,
        CloseReason::PreLoginTimeout,
        CloseReason::Shutdown,
        CloseReason::Transport,
        CloseReason::WriteTimeout,
    ];

    /// The log and metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::ClientClosed => "client_closed",
            Self::Handler => "handler",
            Self::PreLoginTimeout => "prelogin_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::FrameTooLarge => "frame_too_large",
            Self::BadFrame => "bad_frame",
            Self::WriteTimeout => "write_timeout",
            Self::Transport => "transport",
            Self::Shutdown => "shutdown",
        }
    }
}

/// What the server knows about a connection when it creates its handler.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// Process-unique connection number, also in every log line of the connection.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The local address the client connected to.
    pub local: SocketAddr,
    /// The negotiated TLS version.
    pub tls_version: TlsVersion,
    /// SHA-256 of the client's leaf certificate, if it presented one; the session
    /// compares it with the registrar's pin at login.
    pub client_cert: Option<CertFingerprint>,
}
