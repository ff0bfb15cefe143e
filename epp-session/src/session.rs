//! [`Session`]: one registrar connection from greeting to logout, as a sans-IO state
//! machine.

use std::borrow::Cow;
use std::sync::Arc;

use blake2::{Blake2b, Digest, digest::consts::U16};
use epp_norid_ext::policy::{RandomSource, command_failed, to_conditions};
use epp_norid_ext::{
    EXT_URIS, NoridCommandDoc, NoridResponse, NoridResponseExt, NoridServerDoc, OBJ_URIS,
    ns as norid_ns,
};
use epp_xml::{
    ClTrid, ClientId, CommandKind, ErrValue, ExtValue, Login, MsgQ, Request, ResponseExtension,
    ResultCode, SvTrid, Timestamp,
};

use crate::config::SessionConfig;
use crate::problem::{Problem, Refused, ResponseCopyTo};
use crate::registry::{self, Answer, CommandInfo, Ctx, Declared};
use crate::services::{Services, SessionSlot};
use crate::store::model::{
    CertFingerprint, LoginCheck, NewPollMessage, ObjectKind, PasswordInput, PollPayload,
    RegistrarChange, WITHDRAWN_REGISTRAR,
};
use crate::store::{Change, ChangeMeta, ChangeSet, Store, StoreError};

/// What the session knows about its connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// SHA-256 fingerprint of the client's TLS certificate, if it presented one; compared
    /// with the registrar's pins at login.
    pub client_cert: Option<CertFingerprint>,
}

impl ConnectionInfo {
    /// A connection with the given client certificate fingerprint.
    pub fn new(client_cert: Option<CertFingerprint>) -> Self {
        Self { client_cert }
    }
}

/// What the connection does after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Keep reading frames.
    Continue,
    /// Send the reply, then close the connection.
    Close,
}

/// The answer to one frame: the response document, what to do next, and what to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The response (or greeting) document; empty when nothing is to be sent.
    pub bytes: Vec<u8>,
    /// Whether the connection stays open.
    pub action: Action,
    /// The facts to log and count.
    pub outcome: Outcome,
}

/// The facts about one handled frame that a server logs and counts. Never carries
/// passwords or authInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The command, from a fixed vocabulary: `hello`, `login`, `logout`, `poll`,
    /// `<object>:<verb>` (`domain:create`, `domain:transfer-execute`, `domain:withdraw`),
    /// or `invalid` for a document that did not decode.
    pub command: &'static str,
    /// The result code sent (0 for a greeting).
    pub result_code: u16,
    /// The logged-in registrar (for a successful login, the one that logged in).
    pub registrar: Option<ClientId>,
    /// The client transaction id, if the command had one.
    pub cl_trid: Option<ClTrid>,
    /// The server transaction id sent.
    pub sv_trid: Option<SvTrid>,
    /// Set when a limit or an authentication check refused the command.
    pub refusal: Option<LimitRefusal>,
    /// Whether the response is the recorded answer to an earlier copy of the command
    /// (idempotent replay): nothing was executed.
    pub replayed: bool,
    /// How many notifications (e-mail, SMS: Norid's transfer tokens) the command queued
    /// in the store's outbox; a server wakes its delivery when this is not zero.
    pub notifications: u32,
    /// Why the store failed, when the command was answered 2400 because of it (the
    /// database is unreachable, its transactions kept failing, a row would not decode):
    /// for the server's log, never sent to the client.
    pub failure: Option<String>,
}

/// Which limit or check refused a command, for a server's refusal metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitRefusal {
    /// A login without the pinned client certificate.
    CertificatePin,
    /// The commands-per-session limit was reached.
    CommandLimit,
    /// A login failed (unknown registrar, wrong password, disabled account).
    LoginFailed,
    /// A per-registrar rate limit.
    RateLimit,
    /// The registrar holds its maximum number of sessions.
    SessionLimit,
}

/// Why the connection is ending, when the server ends it ([`Session::closing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCause {
    /// No login before the pre-login deadline.
    PreLoginTimeout,
    /// No command within the idle timeout.
    IdleTimeout,
    /// The server is shutting down.
    Shutdown,
    /// Anything else (bad framing, transport error, the client went away).
    Other,
}

/// One EPP session: feed it frames and the time, send what it answers.
///
/// ```text
///            greeting()                handle_frame(<login> ok)
///  (new) ─────────────► Connected ───────────────────────────► LoggedIn
///                          │  ▲ <hello/>, failed login (< max)     │ <hello/>, commands
///                          │  └────────┘                           │
///                          │ max failed logins (2501),             │ <logout> (1500),
///                          │ session limit (2502), command cap     │ command cap (2502)
///                          ▼                                       ▼
///                        Closed ◄──────────────────────────────── Closed
/// ```
///
/// Every entry point takes `now`, the registry clock. Nothing here blocks or reads a
/// clock; storage is reached through `S`. Client input never makes a method panic or
/// return an error: every problem is an EPP response.
pub struct Session<S: Store> {
    store: Arc<S>,
    config: Arc<SessionConfig>,
    services: Services,
    rng: Box<dyn RandomSource + Send + Sync>,
    connection: ConnectionInfo,
    state: State,
    greeted_at: Option<Timestamp>,
    last_activity: Option<Timestamp>,
    commands: u32,
    failed_logins: u32,
}

enum State {
    Connected,
    LoggedIn(Box<LoggedIn>),
    Closed,
}

impl State {
    fn registrar(&self) -> Option<&ClientId> {
        match self {
            State::LoggedIn(l) => Some(&l.registrar),
            State::Connected | State::Closed => None,
        }
    }
}

struct LoggedIn {
    registrar: ClientId,
    /// Shared so that each command can hold it while it borrows the session mutably.
    declared: Arc<Declared>,
    /// Held for its `Drop`: frees the registrar's session slot.
    _slot: SessionSlot,
    /// Whether a pending password (login `newPW`) is activated at logout.
    activate_password: bool,
}

impl<S: Store> std::fmt::Debug for Session<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("registrar", &self.registrar())
            .field("closed", &self.is_closed())
            .field("commands", &self.commands)
            .finish_non_exhaustive()
    }
}

/// The first line of a recorded replay response: a digest of the command, so that a
/// clTRID reused for a different command is not mistaken for a resend.
const REPLAY_TAG: &[u8] = b"EPP-REPLAY ";

impl<S: Store> Session<S> {
    /// A session for a new connection. Send [`Session::greeting`] first.
    pub fn new(
        store: Arc<S>,
        config: Arc<SessionConfig>,
        services: Services,
        connection: ConnectionInfo,
    ) -> Self {
        let rng = (services.random)();
        Self {
            store,
            config,
            services,
            rng,
            connection,
            state: State::Connected,
            greeted_at: None,
            last_activity: None,
            commands: 0,
            failed_logins: 0,
        }
    }

    /// The greeting sent when the connection opens (also the answer to `<hello/>`).
    pub fn greeting(&mut self, now: Timestamp) -> Vec<u8> {
        self.greeted_at.get_or_insert(now);
        self.last_activity.get_or_insert(now);
        let g = epp_norid_ext::greeting(self.config.server_id.clone(), now);
        let mut out = Vec::with_capacity(1024);
        epp_norid_ext::encode_greeting(&g, &mut out);
        out
    }

    /// Whether a registrar is logged in (the server then applies the idle timeout instead
    /// of the pre-login deadline).
    pub fn logged_in(&self) -> bool {
        matches!(self.state, State::LoggedIn(_))
    }

    /// The logged-in registrar.
    pub fn registrar(&self) -> Option<&ClientId> {
        self.state.registrar()
    }

    /// Whether the session has ended (after logout or a closing refusal).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// When the server should close the connection if no frame arrives: the pre-login
    /// deadline (greeting + `prelogin_timeout`, not extended by `<hello/>` or failed
    /// logins) before login, the last frame + `idle_timeout` after. `None` before the
    /// greeting and after the end.
    pub fn deadline(&self) -> Option<Timestamp> {
        let add = |t: Timestamp, d: std::time::Duration| {
            t.add_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        };
        match &self.state {
            State::Connected => self
                .greeted_at
                .map(|t| add(t, self.config.prelogin_timeout)),
            State::LoggedIn(_) => self.last_activity.map(|t| add(t, self.config.idle_timeout)),
            State::Closed => None,
        }
    }

    /// The server ends the connection (timeout, shutdown, transport): the session ends
    /// and frees its session slot. Returns a last document to send, if any: none, since
    /// EPP has no unsolicited responses (a pending password stays pending until a logout).
    pub fn closing(&mut self, cause: CloseCause, now: Timestamp) -> Option<Vec<u8>> {
        let _ = (cause, now);
        self.state = State::Closed;
        None
    }

    /// Handles one frame payload (one XML document) received at `now`.
    pub async fn handle_frame(&mut self, frame: &[u8], now: Timestamp) -> Reply {
        if self.is_closed() {
            return Reply {
                bytes: Vec::new(),
                action: Action::Close,
                outcome: self.outcome("invalid", 0, None, None),
            };
        }
        self.greeted_at.get_or_insert(now);
        self.last_activity = Some(now);
        let request = epp_norid_ext::decode(frame);
        if !matches!(request, Ok(Request::Hello)) {
            self.commands = self.commands.saturating_add(1);
        }
        match request {
            Ok(Request::Hello) => {
                let bytes = self.greeting(now);
                Reply {
                    bytes,
                    action: Action::Continue,
                    outcome: self.outcome("hello", 0, None, None),
                }
            }
            Err(e) => {
                let sv = self.sv_trid(now);
                if let Some(r) = self.command_cap(e.cl_trid(), &sv, "invalid") {
                    return r;
                }
                // The clTRID of a refused document comes from a best-effort second read
                // and the reason may quote the input: neither may put a character XML
                // forbids into the response.
                let cl_trid = e.cl_trid().filter(|t| xml_safe(t.as_str())).cloned();
                let mut response = NoridResponse::from_error(&e, sv.clone());
                response.tr_id.cl_trid = cl_trid.clone();
                for r in &mut response.results {
                    for v in &mut r.ext_values {
                        if !xml_safe(&v.reason) {
                            v.reason = v
                                .reason
                                .chars()
                                .map(|c| if xml_char(c) { c } else { '\u{fffd}' })
                                .collect();
                        }
                    }
                }
                let mut bytes = Vec::new();
                epp_norid_ext::encode_response(&response, &mut bytes);
                Reply {
                    bytes,
                    action: Action::Continue,
                    outcome: self.outcome(
                        "invalid",
                        e.code().code(),
                        e.cl_trid().cloned(),
                        Some(sv),
                    ),
                }
            }
            Ok(Request::Command(cmd)) => self.command(cmd, now).await,
        }
    }

    async fn command(&mut self, cmd: NoridCommandDoc, now: Timestamp) -> Reply {
        let info = registry::describe(&cmd);
        let cl_trid = cmd.cl_trid.clone();
        let sv = self.sv_trid(now);
        if let Some(r) = self.command_cap(cl_trid.as_ref(), &sv, info.label) {
            return r;
        }
        match (&self.state, &cmd.kind) {
            (State::Connected, CommandKind::Login(login)) => {
                self.login(login, cl_trid, sv, now).await
            }
            (State::Connected, _) => self.plain(
                info.label,
                ResultCode::CommandUseError,
                "Log in first: only <hello/> and <login> are allowed before login.",
                cl_trid,
                sv,
                None,
            ),
            (State::LoggedIn(_), CommandKind::Login(_)) => self.plain(
                info.label,
                ResultCode::CommandUseError,
                "This session is already logged in; log out before logging in again.",
                cl_trid,
                sv,
                None,
            ),
            (State::LoggedIn(_), CommandKind::Logout) => self.logout(cl_trid, sv, now).await,
            (State::LoggedIn(_), _) => self.object_command(&cmd, &info, cl_trid, sv, now).await,
            (State::Closed, _) => Reply {
                bytes: Vec::new(),
                action: Action::Close,
                outcome: self.outcome(info.label, 0, cl_trid, None),
            },
        }
    }

    /// Refuses the command over the per-session cap with 2502 and ends the session.
    fn command_cap(
        &mut self,
        cl_trid: Option<&ClTrid>,
        sv: &SvTrid,
        label: &'static str,
    ) -> Option<Reply> {
        let cap = self.config.commands_per_session;
        if self.commands <= cap {
            return None;
        }
        let mut r = self.plain(
            label,
            ResultCode::SessionLimitExceededClosing,
            &format!(
                "Command limit reached: a session may send at most {cap} commands; log in \
                 again in a new session."
            ),
            cl_trid.cloned(),
            sv.clone(),
            Some(LimitRefusal::CommandLimit),
        );
        r.action = Action::Close;
        self.state = State::Closed;
        Some(r)
    }

    fn sv_trid(&mut self, now: Timestamp) -> SvTrid {
        // The state's own accessor: `self.registrar()` would borrow all of `self`
        // beside the random source.
        let client = self.state.registrar();
        let rng = &mut self.rng;
        self.config
            .sv_trid
            .generate(now, client, &mut |b: &mut [u8]| rng.fill_bytes(b))
    }

    fn outcome(
        &self,
        command: &'static str,
        code: u16,
        cl_trid: Option<ClTrid>,
        sv_trid: Option<SvTrid>,
    ) -> Outcome {
        Outcome {
            command,
            result_code: code,
            registrar: self.registrar().cloned(),
            cl_trid,
            sv_trid,
            refusal: None,
            replayed: false,
            notifications: 0,
            failure: None,
        }
    }

    /// A response with one result and its reason in `<extValue>`.
    fn plain(
        &self,
        label: &'static str,
        code: ResultCode,
        reason: &str,
        cl_trid: Option<ClTrid>,
        sv: SvTrid,
        refusal: Option<LimitRefusal>,
    ) -> Reply {
        let mut r = NoridResponse::new(code, cl_trid.clone(), sv.clone());
        if !code.is_success() {
            r.results[0].ext_values.push(ExtValue {
                value: ErrValue::undefined(),
                reason: reason.to_owned(),
            });
        }
        let mut bytes = Vec::new();
        epp_norid_ext::encode_response(&r, &mut bytes);
        let mut outcome = self.outcome(label, code.code(), cl_trid, Some(sv));
        outcome.refusal = refusal;
        Reply {
            bytes,
            action: if code.closes_session() {
                Action::Close
            } else {
                Action::Continue
            },
            outcome,
        }
    }

    async fn login(
        &mut self,
        login: &Login,
        cl_trid: Option<ClTrid>,
        sv: SvTrid,
        now: Timestamp,
    ) -> Reply {
        let refuse = |s: &mut Self, code, reason: &str, refusal| {
            let r = s.plain("login", code, reason, cl_trid.clone(), sv.clone(), refusal);
            if r.action == Action::Close {
                s.state = State::Closed;
            }
            r
        };
        if login.version != "1.0" {
            return refuse(
                self,
                ResultCode::UnimplementedProtocolVersion,
                &format!("EPP version {} is not supported; use 1.0.", login.version),
                None,
            );
        }
        if login.lang != "en" {
            return refuse(
                self,
                ResultCode::UnimplementedOption,
                &format!("Language {} is not supported; use en.", login.lang),
                None,
            );
        }
        if let Some(uri) = login
            .obj_uris
            .iter()
            .find(|u| !OBJ_URIS.contains(&u.as_str()))
        {
            return refuse(
                self,
                ResultCode::UnimplementedObjectService,
                &format!(
                    "Object service {uri} is not implemented; the greeting lists those that are."
                ),
                None,
            );
        }
        if let Some(uri) = login
            .ext_uris
            .iter()
            .find(|u| !EXT_URIS.contains(&u.as_str()) && u.as_str() != norid_ns::NO_EXT_DOMAIN_1_0)
        {
            return refuse(
                self,
                ResultCode::UnimplementedExtension,
                &format!("Extension {uri} is not implemented; the greeting lists those that are."),
                None,
            );
        }
        let id = &login.client_id;
        let check = if id.as_str() == WITHDRAWN_REGISTRAR {
            Ok(LoginCheck::WrongPassword)
        } else {
            self.store.verify_login(id, &login.password).await
        };
        let registrar = match check {
            Ok(LoginCheck::Accepted(r)) => r,
            Ok(other) => {
                let why = match other {
                    LoginCheck::Disabled => {
                        format!("Registrar account {id} is disabled; contact the registry.")
                    }
                    _ if id.as_str() == WITHDRAWN_REGISTRAR => {
                        format!("{id} holds withdrawn domains and cannot log in.")
                    }
                    _ => "Authentication failed: unknown client id or wrong password.".to_owned(),
                };
                return self.failed_login(&why, cl_trid, sv, LimitRefusal::LoginFailed);
            }
            Err(e) => {
                let mut reply = refuse(
                    self,
                    ResultCode::CommandFailed,
                    "The registry could not check the credentials; try again.",
                    None,
                );
                reply.outcome.failure = Some(e.to_string());
                return reply;
            }
        };
        if !registrar.cert_pins.is_empty() {
            let why = match &self.connection.client_cert {
                None => Some(format!(
                    "Registrar {id} must present a client certificate whose SHA-256 \
                     fingerprint is pinned; this connection presented none."
                )),
                Some(fp) if !registrar.cert_pins.contains(fp) => Some(format!(
                    "Registrar {id} must present a pinned client certificate; the SHA-256 \
                     fingerprint of this one, {fp}, is not pinned."
                )),
                Some(_) => None,
            };
            if let Some(why) = why {
                return self.failed_login(&why, cl_trid, sv, LimitRefusal::CertificatePin);
            }
        }
        let slot = match self
            .services
            .sessions
            .try_acquire(id, registrar.session_limit)
        {
            Ok(slot) => slot,
            Err(e) => {
                return refuse(
                    self,
                    ResultCode::SessionLimitExceededClosing,
                    &format!(
                        "Session limit reached: registrar {id} already has {} of {} allowed \
                         sessions.",
                        e.active, e.limit
                    ),
                    Some(LimitRefusal::SessionLimit),
                );
            }
        };
        let mut activate_password = registrar.pending_password.is_some();
        if let Some(new) = &login.new_password {
            let set = ChangeSet::new(ChangeMeta {
                registrar: Some(id.clone()),
                time: now,
                cl_trid: cl_trid.clone(),
                sv_trid: Some(sv.clone()),
                command: "login".into(),
            })
            .with(Change::UpdateRegistrar {
                id: id.clone(),
                change: RegistrarChange::SetPendingPassword(PasswordInput::Clear(new.clone())),
            });
            if self.store.commit(set).await.is_err() {
                return refuse(
                    self,
                    ResultCode::CommandFailed,
                    "The new password could not be stored; nothing was changed.",
                    None,
                );
            }
            activate_password = true;
        }
        self.state = State::LoggedIn(Box::new(LoggedIn {
            registrar: id.clone(),
            declared: Arc::new(Declared {
                obj_uris: login.obj_uris.iter().cloned().collect(),
                ext_uris: login.ext_uris.iter().cloned().collect(),
            }),
            _slot: slot,
            activate_password,
        }));
        self.plain("login", ResultCode::Success, "", cl_trid, sv, None)
    }

    fn failed_login(
        &mut self,
        why: &str,
        cl_trid: Option<ClTrid>,
        sv: SvTrid,
        refusal: LimitRefusal,
    ) -> Reply {
        self.failed_logins += 1;
        if self.failed_logins >= self.config.max_failed_logins {
            self.state = State::Closed;
            let why = format!(
                "{why} That was the {} failed login of this session; closing.",
                ordinal(self.failed_logins)
            );
            return self.plain(
                "login",
                ResultCode::AuthenticationErrorClosing,
                &why,
                cl_trid,
                sv,
                Some(refusal),
            );
        }
        self.plain(
            "login",
            ResultCode::AuthenticationError,
            why,
            cl_trid,
            sv,
            Some(refusal),
        )
    }

    async fn logout(&mut self, cl_trid: Option<ClTrid>, sv: SvTrid, now: Timestamp) -> Reply {
        let (registrar, activate) = match &self.state {
            State::LoggedIn(l) => (l.registrar.clone(), l.activate_password),
            _ => {
                return self.plain(
                    "logout",
                    ResultCode::CommandUseError,
                    "Not logged in.",
                    cl_trid,
                    sv,
                    None,
                );
            }
        };
        let mut code = ResultCode::SuccessEndingSession;
        let mut why = "";
        if activate {
            let set = ChangeSet::new(ChangeMeta {
                registrar: Some(registrar.clone()),
                time: now,
                cl_trid: cl_trid.clone(),
                sv_trid: Some(sv.clone()),
                command: "logout".into(),
            })
            .with(Change::UpdateRegistrar {
                id: registrar,
                change: RegistrarChange::ActivatePendingPassword,
            });
            if self.store.commit(set).await.is_err() {
                code = ResultCode::CommandFailedClosing;
                why = "The new password could not be activated; the old one stays valid.";
            }
        }
        let reply = self.plain("logout", code, why, cl_trid, sv, None);
        self.state = State::Closed;
        Reply {
            action: Action::Close,
            ..reply
        }
    }

    async fn object_command(
        &mut self,
        cmd: &NoridCommandDoc,
        info: &CommandInfo,
        cl_trid: Option<ClTrid>,
        sv: SvTrid,
        now: Timestamp,
    ) -> Reply {
        let State::LoggedIn(l) = &self.state else {
            return self.plain(
                info.label,
                ResultCode::CommandUseError,
                "Not logged in.",
                cl_trid,
                sv,
                None,
            );
        };
        let me = l.registrar.clone();
        let declared = Arc::clone(&l.declared);
        let mut refusal = None;
        let early = self.admit(cmd, info, &me, &declared, now, &mut refusal);
        let mut record = false;
        let result = match early {
            Err(refused) => Err(refused),
            Ok(()) => {
                // Whether this is a resend of a recorded transform is not looked up before
                // it runs (a read on every transform, for the rare resend): a resend finds
                // out at commit, where the replay record's key is taken, or when refused
                // because its first copy changed what it reads. Either way it gets the
                // first copy's answer and changes nothing (docs/session-replay.md).
                record = info.replayable && cl_trid.is_some();
                self.execute(
                    cmd,
                    info,
                    &me,
                    &declared,
                    record,
                    cl_trid.as_ref(),
                    &sv,
                    now,
                )
                .await
            }
        };
        match result {
            Ok(Executed::Replayed(bytes)) => self.replay_reply(bytes, info, cl_trid, sv),
            Ok(Executed::Ran {
                bytes,
                code,
                notifications,
            }) => {
                let mut outcome = self.outcome(info.label, code.code(), cl_trid, Some(sv));
                outcome.notifications = notifications;
                Reply {
                    bytes,
                    action: Action::Continue,
                    outcome,
                }
            }
            Err(refused) => {
                // A copy of this transform on another connection (a registrar resending
                // after a lost connection) may have committed after the lookup above and
                // made this one fail: the name it created now exists, the expiry it renewed
                // no longer matches. This copy then gets that copy's answer, as it would
                // have a moment later.
                if record && let Replayed::Answer(bytes) = self.replayed(cmd, info, &me, now).await
                {
                    return self.replay_reply(bytes, info, cl_trid, sv);
                }
                let msg_q = self.msg_q(&me).await;
                let bytes = self.refusal_bytes(
                    info,
                    &declared,
                    &refused,
                    msg_q,
                    cl_trid.clone(),
                    sv.clone(),
                );
                if let Some(to) = &refused.copy {
                    self.copy_refusal(info, &me, &refused, to, cl_trid.clone(), sv.clone(), now)
                        .await;
                }
                let mut outcome = self.outcome(info.label, refused.code.code(), cl_trid, Some(sv));
                outcome.refusal = refusal;
                outcome.failure = refused.failure;
                Reply {
                    bytes,
                    action: Action::Continue,
                    outcome,
                }
            }
        }
    }

    /// Checks the services declared at login and the rate limits.
    fn admit(
        &self,
        cmd: &NoridCommandDoc,
        info: &CommandInfo,
        me: &ClientId,
        declared: &Declared,
        now: Timestamp,
        refusal: &mut Option<LimitRefusal>,
    ) -> Result<(), Refused> {
        for ns in cmd.object_namespaces() {
            if OBJ_URIS.contains(&ns) {
                if !declared.obj_uris.contains(ns) {
                    return Err(Problem::ObjectNotDeclared { uri: ns.to_owned() }.into());
                }
            } else if !declared.ext_uris.contains(ns) {
                return Err(Problem::ExtensionNotDeclared { uri: ns.to_owned() }.into());
            }
        }
        for ns in cmd.extension_namespaces() {
            if !declared.ext_uris.contains(ns) {
                return Err(Problem::ExtensionNotDeclared { uri: ns.to_owned() }.into());
            }
        }
        if let Some(class) = info.rate_class
            && let Err(e) = self.services.rates.check(me, class, now)
        {
            *refusal = Some(LimitRefusal::RateLimit);
            return Err(Problem::RateLimited(e).into());
        }
        Ok(())
    }

    /// The recorded response to an earlier copy of this transform, if it is one.
    async fn replayed(
        &self,
        cmd: &NoridCommandDoc,
        info: &CommandInfo,
        me: &ClientId,
        now: Timestamp,
    ) -> Replayed {
        let Some(cl_trid) = cmd.cl_trid.as_ref() else {
            return Replayed::No;
        };
        if !info.replayable {
            return Replayed::No;
        }
        // A store that cannot be read now is read again by the command itself.
        let Ok(Some(record)) = self.store.replay(me, cl_trid).await else {
            return Replayed::No;
        };
        if record.created < self.replay_cutoff(now) {
            return Replayed::No;
        }
        match split_replay(&record.response, &command_digest(cmd)) {
            Some(bytes) => Replayed::Answer(bytes.to_vec()),
            None => Replayed::OtherCommand,
        }
    }

    fn replay_cutoff(&self, now: Timestamp) -> Timestamp {
        let w = i64::try_from(self.config.replay_window.as_micros()).unwrap_or(i64::MAX);
        now.add_micros(w.saturating_neg())
    }

    fn replay_reply(
        &self,
        bytes: Vec<u8>,
        info: &CommandInfo,
        cl_trid: Option<ClTrid>,
        sv: SvTrid,
    ) -> Reply {
        let (code, sv_trid) = match epp_norid_ext::decode_response(&bytes) {
            Ok(NoridServerDoc::Response(r)) => (
                r.results.first().map_or(0, |x| x.code.code()),
                r.tr_id.sv_trid,
            ),
            _ => (0, sv),
        };
        let mut outcome = self.outcome(info.label, code, cl_trid, Some(sv_trid));
        outcome.replayed = true;
        Reply {
            bytes,
            action: Action::Continue,
            outcome,
        }
    }

    /// The queue summary of the registrar as `<msgQ>`; `None` when empty (or unreadable:
    /// the summary is advisory).
    async fn msg_q(&self, me: &ClientId) -> Option<MsgQ> {
        let s = self.store.poll_summary(me).await.ok()??;
        Some(MsgQ {
            count: s.count,
            id: s.first_id.to_string(),
            q_date: None,
            msg: None,
        })
    }

    /// Runs the command, committing its changes, again on a concurrent change.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the values are distinct"
    )]
    async fn execute(
        &mut self,
        cmd: &NoridCommandDoc,
        info: &CommandInfo,
        me: &ClientId,
        declared: &Declared,
        mut record: bool,
        cl_trid: Option<&ClTrid>,
        sv: &SvTrid,
        now: Timestamp,
    ) -> Result<Executed, Refused> {
        let meta = ChangeMeta {
            registrar: Some(me.clone()),
            time: now,
            cl_trid: cl_trid.cloned(),
            sv_trid: Some(sv.clone()),
            command: info.label.into(),
        };
        for _ in 0..=self.config.conflict_retries {
            let pre = if record {
                self.store.poll_summary(me).await.ok().flatten()
            } else {
                None
            };
            let mut answer = {
                let mut ctx = Ctx {
                    store: &*self.store,
                    config: &self.config,
                    me,
                    now,
                    meta: &meta,
                    declared,
                    rng: &mut *self.rng,
                };
                match &cmd.kind {
                    CommandKind::Poll(p) => registry::poll::poll(&mut ctx, p).await?,
                    _ => registry::run(&mut ctx, cmd).await?,
                }
            };
            let code = answer.code.unwrap_or(ResultCode::Success);
            if answer.changes.is_empty() {
                let msg_q = match &answer.msg_q {
                    Some(exact) => exact.clone(),
                    None => self.msg_q(me).await,
                };
                let bytes =
                    self.answer_bytes(&mut answer, declared, msg_q, cl_trid.cloned(), sv.clone());
                return Ok(Executed::Ran {
                    bytes,
                    code,
                    notifications: 0,
                });
            }
            // The response is recorded in the same commit, so its <msgQ> is worked out
            // before: the queue as read, plus what this command queues for its registrar.
            let own_polls: Vec<usize> = answer
                .changes
                .iter()
                .filter_map(|c| match c {
                    Change::EnqueuePoll(m) => Some(m.registrar == *me),
                    _ => None,
                })
                .enumerate()
                .filter(|(_, mine)| *mine)
                .map(|(i, _)| i)
                .collect();
            let pre = if record {
                pre
            } else {
                self.store.poll_summary(me).await.ok().flatten()
            };
            let msg_q = pre.map(|s| MsgQ {
                count: s.count + own_polls.len() as u64,
                id: s.first_id.to_string(),
                q_date: None,
                msg: None,
            });
            let second_phase = msg_q.is_none() && !own_polls.is_empty();
            let bytes =
                self.answer_bytes(&mut answer, declared, msg_q, cl_trid.cloned(), sv.clone());
            let mut set = ChangeSet {
                meta: meta.clone(),
                changes: std::mem::take(&mut answer.changes),
            };
            let digest = command_digest(cmd);
            if record {
                set.push(Change::RecordReplay {
                    response: tag_replay(&digest, &bytes),
                    replaces_before: self.replay_cutoff(now),
                });
            }
            match self.store.commit(set).await {
                Ok(receipt) => {
                    let notifications =
                        u32::try_from(receipt.notification_ids.len()).unwrap_or(u32::MAX);
                    if !second_phase {
                        return Ok(Executed::Ran {
                            bytes,
                            code,
                            notifications,
                        });
                    }
                    // The queue was empty and this command queued messages for its own
                    // registrar: their ids are known only now. The response is recorded
                    // again with its <msgQ> (a replay between the two commits lacks it).
                    let first = own_polls
                        .iter()
                        .filter_map(|i| receipt.poll_ids.get(*i))
                        .min()
                        .copied();
                    let msg_q = first.map(|id| MsgQ {
                        count: own_polls.len() as u64,
                        id: id.to_string(),
                        q_date: None,
                        msg: None,
                    });
                    let bytes = self.answer_bytes(
                        &mut answer,
                        declared,
                        msg_q,
                        cl_trid.cloned(),
                        sv.clone(),
                    );
                    if record {
                        let set = ChangeSet::new(meta.clone()).with(Change::RecordReplay {
                            response: tag_replay(&digest, &bytes),
                            replaces_before: now.add_micros(1),
                        });
                        // The command is done; losing the better copy only costs the
                        // <msgQ> of a later replay.
                        let _ = self.store.commit(set).await;
                    }
                    return Ok(Executed::Ran {
                        bytes,
                        code,
                        notifications,
                    });
                }
                Err(e) if e.is_retryable() => continue,
                Err(StoreError::AlreadyExists(crate::store::ObjectKey::Replay(..))) => {
                    // A copy of this command on another connection won the race, or
                    // another command took the clTRID meanwhile.
                    if let Some(t) = &cl_trid
                        && let Ok(Some(r)) = self.store.replay(me, t).await
                    {
                        let Some(b) = split_replay(&r.response, &digest) else {
                            // Another command: this one runs unrecorded, as it would have
                            // had it looked a moment later (docs/session-replay.md).
                            record = false;
                            continue;
                        };
                        return Ok(Executed::Replayed(b.to_vec()));
                    }
                    return Err(Refused::store_failure(
                        "the clTRID's replay record exists but could not be read".into(),
                    ));
                }
                Err(e) => return Err(Refused::from(e)),
            }
        }
        Err(Refused::store_failure(format!(
            "what the command read changed before each of its {} commits",
            u64::from(self.config.conflict_retries) + 1
        )))
    }

    /// Serialises a successful answer.
    fn answer_bytes(
        &self,
        answer: &mut Answer,
        declared: &Declared,
        msg_q: Option<MsgQ>,
        cl_trid: Option<ClTrid>,
        sv: SvTrid,
    ) -> Vec<u8> {
        let code = answer.code.unwrap_or(ResultCode::Success);
        let mut r = NoridResponse::new(code, cl_trid, sv);
        r.msg_q = msg_q;
        // Lent to the response while it is written (not copied), and given back: the
        // answer may be written again (with its <msgQ> once known).
        r.res_data = answer.res_data.take();
        r.extensions = std::mem::take(&mut answer.extensions);
        let lent = r.extensions.len();
        if !answer.conditions.is_empty() && declared.ext(norid_ns::NO_EXT_RESULT) {
            r.extensions
                .push(ResponseExtension::Other(NoridResponseExt::Conditions(
                    to_conditions(answer.conditions.iter().cloned()),
                )));
        }
        let mut out = Vec::with_capacity(1024);
        epp_norid_ext::encode_response(&r, &mut out);
        r.extensions.truncate(lent);
        answer.res_data = r.res_data.take();
        answer.extensions = std::mem::take(&mut r.extensions);
        out
    }

    /// Queues Norid's `response-copy` of a refusal for the registrar the registry logic
    /// names (the sponsor of a domain another registrar tried to take): the refusal as a
    /// client that declared every extension would get it, without `<msgQ>`. Best effort:
    /// when the commit fails, the refusal still goes out and only the copy is missing.
    ///
    /// The same refusal (this registrar, command, domain, result code and conditions) is
    /// not copied again while the sponsor's queue still holds its earlier copy: repeating
    /// a refused command cannot flood another registrar's queue.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the values are distinct"
    )]
    async fn copy_refusal(
        &self,
        info: &CommandInfo,
        me: &ClientId,
        refused: &Refused,
        to: &ResponseCopyTo,
        cl_trid: Option<ClTrid>,
        sv: SvTrid,
        now: Timestamp,
    ) {
        let all = Declared {
            obj_uris: Default::default(),
            ext_uris: [norid_ns::NO_EXT_RESULT.to_owned()].into_iter().collect(),
        };
        let bytes = self.refusal_bytes(info, &all, refused, None, cl_trid.clone(), sv.clone());
        let meta = ChangeMeta {
            registrar: Some(me.clone()),
            time: now,
            cl_trid,
            sv_trid: Some(sv),
            command: info.label.into(),
        };
        let mut key = format!(
            "response-copy {me} {} {} {}",
            to.command,
            to.object_name,
            refused.code.digits()
        );
        for c in &refused.conditions {
            key.push(' ');
            key.push_str(c.code);
        }
        let message = NewPollMessage {
            registrar: to.registrar.clone(),
            text: format!(
                "EPP response to a transaction executed on your behalf: objecttype [domain] \
                 command [{}] objectname [{}]",
                to.command, to.object_name
            ),
            payload: PollPayload::ResponseCopy {
                object: ObjectKind::Domain,
                command: to.command.to_owned(),
                object_name: to.object_name.clone(),
                response: String::from_utf8_lossy(&bytes).into_owned(),
            },
        };
        let set = ChangeSet::new(meta).with(Change::EnqueuePollOnce { message, key });
        let _ = self.store.commit(set).await;
    }

    /// Serialises a refusal: conditions (`EC001025` first on mutating commands) when the
    /// client declared `no-ext-result`, otherwise the reason in `<extValue>`.
    fn refusal_bytes(
        &self,
        info: &CommandInfo,
        declared: &Declared,
        refused: &Refused,
        msg_q: Option<MsgQ>,
        cl_trid: Option<ClTrid>,
        sv: SvTrid,
    ) -> Vec<u8> {
        let mut r = NoridResponse::new(refused.code, cl_trid, sv);
        r.msg_q = msg_q;
        let conditions = match &info.mutation {
            Some((object, id, verb)) if declared.ext(norid_ns::NO_EXT_RESULT) => {
                let mut v = vec![command_failed(*verb, *object, id)];
                v.extend(refused.conditions.iter().cloned());
                v
            }
            _ => Vec::new(),
        };
        // A refusal without a condition of its own keeps its reason in <extValue>.
        if conditions.len() <= 1 {
            r.results[0].ext_values.push(ExtValue {
                value: ErrValue::undefined(),
                reason: refused.reason.clone(),
            });
        }
        if !conditions.is_empty() {
            r.extensions
                .push(ResponseExtension::Other(NoridResponseExt::Conditions(
                    to_conditions(conditions),
                )));
        }
        let mut out = Vec::with_capacity(512);
        epp_norid_ext::encode_response(&r, &mut out);
        out
    }
}

/// Whether a transform was answered before.
enum Replayed {
    /// Yes: the recorded response.
    Answer(Vec<u8>),
    /// Its clTRID was used for another command within the window.
    OtherCommand,
    /// No.
    No,
}

/// The bytes and result code of an executed command.
enum Executed {
    /// The command ran: its response.
    Ran {
        bytes: Vec<u8>,
        code: ResultCode,
        /// Notifications queued by the commit.
        notifications: u32,
    },
    /// The recorded answer of an earlier copy of this transform.
    Replayed(Vec<u8>),
}

/// A digest of the decoded command (prefix-agnostic: the typed value), hex: the BLAKE2b
/// of its `Debug` text, which is hashed as it is written rather than collected first.
fn command_digest(cmd: &NoridCommandDoc) -> String {
    struct Hashing(Blake2b<U16>);
    impl std::fmt::Write for Hashing {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.update(s.as_bytes());
            Ok(())
        }
    }
    let mut h = Hashing(Blake2b::<U16>::new());
    // Writing into a hasher cannot fail.
    let _ = std::fmt::write(&mut h, format_args!("{cmd:?}"));
    let d = h.0.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * d.len());
    for b in d {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

/// The stored form of a replay record: the tag line with the command digest, then the
/// response.
fn tag_replay(digest: &str, response: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(REPLAY_TAG.len() + digest.len() + 1 + response.len());
    out.extend_from_slice(REPLAY_TAG);
    out.extend_from_slice(digest.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(response);
    out
}

/// The response of a stored replay record, if it was recorded for this command.
fn split_replay<'a>(stored: &'a [u8], digest: &str) -> Option<&'a [u8]> {
    let rest = stored.strip_prefix(REPLAY_TAG)?;
    let (tag, response) = rest.split_at_checked(digest.len())?;
    let response = response.strip_prefix(b"\n")?;
    (tag == digest.as_bytes()).then_some(response)
}

/// Whether every character may appear in an XML 1.0 document.
fn xml_safe(s: &str) -> bool {
    s.chars().all(xml_char)
}

/// XML 1.0 `Char`: tab, line feed, carriage return, and U+0020 onwards without the
/// surrogates (impossible in `str`) and U+FFFE, U+FFFF.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

fn ordinal(n: u32) -> Cow<'static, str> {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        n => format!("{n}th").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_futures_are_send() {
        fn send<T: Send>(_: &T) {}
        let services = Services::in_process(|| {
            Box::new(|b: &mut [u8]| b.fill(7)) as Box<dyn RandomSource + Send + Sync>
        });
        let mut s = Session::new(
            Arc::new(crate::store::MemoryStore::new()),
            Arc::new(SessionConfig::default()),
            services,
            ConnectionInfo::default(),
        );
        send(&s);
        let f = s.handle_frame(b"<epp/>", Timestamp::from_unix_micros(0));
        send(&f);
    }

    #[test]
    fn the_outcome_counts_the_notifications_a_command_queued() {
        use crate::testing::Harness;

        let mut h = Harness::memory();
        let run = async {
            h.load_registry_fixtures().await;
            let login = br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>reg2</clID><pw>secret-2</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI></svcs></login><clTRID>L-1</clTRID></command></epp>"#;
            assert_eq!(h.exchange("a", login).await.outcome.result_code, 1000);
            let request = br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><transfer op="request"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:transfer></transfer><clTRID>T-1</clTRID></command></epp>"#;
            let reply = h.exchange("a", request).await;
            assert_eq!(reply.outcome.result_code, 1001);
            assert_eq!(reply.outcome.notifications, 1);
            // Resent: the recorded answer, nothing queued again.
            let again = h.exchange("a", request).await;
            assert!(again.outcome.replayed);
            assert_eq!(again.outcome.notifications, 0);
        };
        futures_util::FutureExt::now_or_never(run).expect("the memory store never waits");
    }

    #[test]
    fn xml_safety_of_echoed_text() {
        assert!(xml_safe("ABC-1\t\u{e5}"));
        assert!(!xml_safe("A\u{5}B"));
        assert!(!xml_safe("\u{ffff}"));
    }

    /// Stored replay records carry the digest, so it must not change between versions: the
    /// BLAKE2b-128 of the command's `Debug` text, as lower-case hex.
    #[test]
    fn the_command_digest_is_the_hash_of_the_debug_text() {
        let doc = br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:check></check><clTRID>T-1</clTRID></command></epp>"#;
        let epp_xml::Request::Command(cmd) = epp_norid_ext::decode(doc).unwrap() else {
            panic!("not a command");
        };
        let text = format!("{cmd:?}");
        let want: String = Blake2b::<U16>::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(command_digest(&cmd), want);
        assert_eq!(want.len(), 32);
    }

    #[test]
    fn replay_records_carry_the_command_digest() {
        let stored = tag_replay("abcd", b"<epp/>");
        assert_eq!(split_replay(&stored, "abcd"), Some(&b"<epp/>"[..]));
        assert_eq!(split_replay(&stored, "abce"), None);
        assert_eq!(split_replay(b"<epp/>", "abcd"), None);
    }
}
