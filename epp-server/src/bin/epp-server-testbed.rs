//! `epp-server-testbed`: the real `epp-server` command line and serve path with a tiny
//! line protocol instead of EPP, for the integration tests of the server itself (TLS,
//! framing limits, timeouts, connection caps, reloads, metrics, shutdown).
//!
//! Test-only: built only with the `testbed` feature, which `cargo test` turns on and
//! `cargo build`/`cargo install` do not. It does not speak EPP and must never be deployed.
//!
//! Each frame payload is one command:
//! - `login <clid>`: takes a session slot in the [`SessionRegistry`] (limit
//!   `limits.sessions_per_registrar`); answers `1000 ...`, or `2502 ...` and closes;
//! - `sleep <ms>`: answers `slept <ms>` after that long (a command in flight);
//! - `close`: answers `bye` and closes;
//! - `auth <clid> <password>`: checks the credentials against the store
//!   ([`Store::verify_login`]); answers `1000 accepted`, or `2200 <reason>`;
//! - `notify <email|sms> <recipient> <text>`: queues a notification in the store's outbox
//!   and wakes the outbox delivery; answers `1000 queued <id>`;
//! - anything else is echoed back.
//!
//! It also runs a scheduled job through [`ServeContext::spawn_scheduled`] that logs
//! `testbed scheduled job` with the registry time it was given.
//!
//! The greeting names the connection, TLS version and client certificate fingerprint;
//! when the server closes a connection itself, the last frame is `closing <reason>`.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use epp_server::store::AnyStore;
use epp_server::{
    CloseReason, CommandOutcome, ConnectionHandler, ConnectionInfo, Error, HandlerFactory,
    OutboxWaker, Refusal, Reply, ServeContext, SessionGuard, SessionRegistry, Wiring,
};
use epp_session::store::model::{LoginCheck, NewNotification, NotifyChannel};
use epp_session::store::{Change, ChangeMeta, ChangeSet, Store};
use epp_xml::{ClientId, Password, Timestamp};

fn main() -> ExitCode {
    epp_server::main_with(Testbed)
}

struct Testbed;

impl Wiring for Testbed {
    type Factory = Factory;

    async fn build(self, ctx: &mut ServeContext) -> Result<Factory, Error> {
        ctx.spawn_scheduled("testbed", |now: Timestamp| async move {
            tracing::info!(%now, "testbed scheduled job");
            Ok::<(), String>(())
        });
        Ok(Factory {
            sessions: ctx.sessions().clone(),
            limit: ctx.config().limits.sessions_per_registrar,
            store: ctx.store().clone(),
            outbox: ctx.outbox_waker(),
        })
    }
}

struct Factory {
    sessions: SessionRegistry,
    limit: u32,
    store: AnyStore,
    outbox: OutboxWaker,
}

impl HandlerFactory for Factory {
    type Handler = Handler;

    fn connect(&self, connection: &ConnectionInfo) -> Handler {
        Handler {
            info: connection.clone(),
            sessions: self.sessions.clone(),
            limit: self.limit,
            session: None,
            store: self.store.clone(),
            outbox: self.outbox.clone(),
        }
    }
}

struct Handler {
    info: ConnectionInfo,
    sessions: SessionRegistry,
    limit: u32,
    session: Option<SessionGuard>,
    store: AnyStore,
    outbox: OutboxWaker,
}

impl ConnectionHandler for Handler {
    fn greeting(&mut self, _now: Timestamp) -> Bytes {
        let cert = self
            .info
            .client_cert
            .map_or_else(|| "none".to_owned(), |f| f.to_string());
        Bytes::from(format!(
            "testbed greeting conn={} tls={} client_cert={cert}",
            self.info.id, self.info.tls_version
        ))
    }

    async fn handle(&mut self, frame: Bytes, now: Timestamp) -> Reply {
        let text = String::from_utf8_lossy(&frame).into_owned();
        let (verb, arg) = text.split_once(' ').unwrap_or((&text, ""));
        let registrar = self.session.as_ref().map(|s| s.registrar().clone());
        let outcome = |command: &'static str, code: u16| {
            let mut o = CommandOutcome::new(command, code);
            o.registrar = registrar.clone();
            o
        };
        match verb {
            "login" => {
                let Ok(id) = ClientId::new(arg) else {
                    return Reply::continue_with(Bytes::from("2005 bad client id"), None);
                };
                match self.sessions.try_acquire(&id, self.limit) {
                    Ok(guard) => {
                        self.session = Some(guard);
                        let mut o = outcome("login", 1000);
                        o.registrar = Some(id);
                        Reply::continue_with(Bytes::from("1000 logged in"), Some(o))
                    }
                    Err(e) => {
                        let mut o = outcome("login", 2502);
                        o.refusal = Some(Refusal::SessionLimit);
                        Reply::close_with(Bytes::from(format!("2502 {e}")), Some(o))
                    }
                }
            }
            "sleep" => {
                let ms = arg.parse().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Reply::continue_with(
                    Bytes::from(format!("slept {ms}")),
                    Some(outcome("sleep", 1000)),
                )
            }
            "close" => Reply::close_with(Bytes::from("bye"), Some(outcome("close", 1500))),
            "auth" => {
                let answer = self.auth(arg).await;
                Reply::continue_with(Bytes::from(answer), Some(outcome("auth", 1000)))
            }
            "notify" => {
                let answer = self.notify(arg, now).await;
                Reply::continue_with(Bytes::from(answer), Some(outcome("notify", 1000)))
            }
            _ => Reply::continue_with(frame, Some(outcome("echo", 1000))),
        }
    }

    fn logged_in(&self) -> bool {
        self.session.is_some()
    }

    fn closing(&mut self, reason: CloseReason, _now: Timestamp) -> Option<Bytes> {
        Some(Bytes::from(format!("closing {}", reason.label())))
    }
}

impl Handler {
    async fn auth(&self, arg: &str) -> String {
        let (id, password) = arg.split_once(' ').unwrap_or((arg, ""));
        let (Ok(id), Ok(password)) = (ClientId::new(id), Password::new(password)) else {
            return "2005 bad client id or password syntax".into();
        };
        match self.store.verify_login(&id, &password).await {
            Ok(LoginCheck::Accepted(_)) => "1000 accepted".into(),
            Ok(LoginCheck::Disabled) => "2200 disabled".into(),
            Ok(LoginCheck::WrongPassword) => "2200 wrong password".into(),
            Ok(LoginCheck::UnknownRegistrar) => "2200 unknown registrar".into(),
            Ok(_) => "2200 refused".into(),
            Err(e) => format!("2400 {e}"),
        }
    }

    async fn notify(&self, arg: &str, now: Timestamp) -> String {
        let mut parts = arg.splitn(3, ' ');
        let (Some(channel), Some(recipient), Some(text)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return "2003 usage: notify <email|sms> <recipient> <text>".into();
        };
        let channel = match channel {
            "email" => NotifyChannel::Email,
            "sms" => NotifyChannel::Sms,
            _ => return "2005 channel must be email or sms".into(),
        };
        let set = ChangeSet::new(ChangeMeta {
            registrar: None,
            time: now,
            cl_trid: None,
            sv_trid: None,
            command: "testbed:notify".into(),
        })
        .with(Change::QueueNotification(NewNotification {
            channel,
            recipient: recipient.into(),
            subject: Some("Testbed notification".into()),
            body: text.into(),
        }));
        match self.store.commit(set).await {
            Ok(receipt) => {
                self.outbox.wake();
                format!("1000 queued {:?}", receipt.notification_ids)
            }
            Err(e) => format!("2400 {e}"),
        }
    }
}
