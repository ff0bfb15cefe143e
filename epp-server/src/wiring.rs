//! The EPP wiring of the shipped binary: [`Epp`] plugs epp-session's [`Session`] into the
//! serve path, one session per connection, over the store opened at start.
//!
//! Everything here is translation: the server's shared tables become the session's
//! services ([`SessionSlots`], [`RateLimits`], randomness from the operating system), the
//! configuration becomes its [`epp_session::SessionConfig`], the session's
//! [`Outcome`](epp_session::Outcome) becomes the driver's [`CommandOutcome`] (one log
//! line, metrics), and the registry's scheduled work (`lifecycle::advance`) runs on the
//! scheduler. No protocol or registry rule lives here.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use epp_norid_ext::policy::RandomSource;
use epp_session::lifecycle::{self, LifecycleReport};
use epp_session::{
    CloseCause, LimitRefusal, RateClass, RateLimitExceeded, RateLimits, Services, Session,
    SessionSlot, SessionSlots,
};
use epp_xml::{ClientId, Timestamp};

use crate::config::RateLimitSetting;
use crate::error::Error;
use crate::limits::{RateLimiter, SessionRegistry};
use crate::notify::OutboxWaker;
use crate::protocol::{
    Action, CloseReason, CommandOutcome, ConnectionHandler, ConnectionInfo, HandlerFactory,
    Refusal, Reply,
};
use crate::serve::{ServeContext, Wiring};
use crate::store::AnyStore;

/// The EPP registry protocol: epp-session's [`Session`] on every connection, and the
/// domain lifecycle on the scheduler. `epp_server::main_with(Epp)` is the binary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Epp;

impl Wiring for Epp {
    type Factory = EppFactory;

    async fn build(self, ctx: &mut ServeContext) -> Result<EppFactory, Error> {
        let config = Arc::new(ctx.config().session_config()?);
        // Fail at start, not at the first svTRID, when the system has no randomness.
        let mut probe = [0u8; 8];
        getrandom::fill(&mut probe).map_err(|e| Error::Randomness(e.to_string()))?;
        let store = Arc::new(ctx.store().clone());

        let (job_store, job_config) = (Arc::clone(&store), Arc::clone(&config));
        ctx.spawn_scheduled("lifecycle", move |now| {
            let (store, config) = (Arc::clone(&job_store), Arc::clone(&job_config));
            async move {
                let report = lifecycle::advance(&*store, now, &config).await?;
                log_lifecycle(&report, now);
                Ok::<(), epp_session::store::StoreError>(())
            }
        });

        let services = Services {
            sessions: Arc::new(ctx.sessions().clone()),
            rates: Arc::new(ctx.rate_limiter().clone()),
            random: Arc::new(os_random),
        };
        Ok(EppFactory {
            store,
            config,
            services,
            outbox: ctx.outbox_waker(),
        })
    }
}

/// Makes one [`EppHandler`] (one [`Session`]) per connection; shared by all connections.
#[derive(Debug)]
pub struct EppFactory {
    store: Arc<AnyStore>,
    config: Arc<epp_session::SessionConfig>,
    services: Services,
    outbox: OutboxWaker,
}

impl HandlerFactory for EppFactory {
    type Handler = EppHandler;

    fn connect(&self, connection: &ConnectionInfo) -> EppHandler {
        EppHandler {
            session: Session::new(
                Arc::clone(&self.store),
                Arc::clone(&self.config),
                self.services.clone(),
                epp_session::ConnectionInfo::new(connection.client_cert),
            ),
            outbox: self.outbox.clone(),
        }
    }
}

/// One connection's [`Session`] behind the driver's [`ConnectionHandler`] seam.
#[derive(Debug)]
pub struct EppHandler {
    session: Session<AnyStore>,
    outbox: OutboxWaker,
}

impl ConnectionHandler for EppHandler {
    fn greeting(&mut self, now: Timestamp) -> Bytes {
        Bytes::from(self.session.greeting(now))
    }

    async fn handle(&mut self, frame: Bytes, now: Timestamp) -> Reply {
        let reply = self.session.handle_frame(&frame, now).await;
        if reply.outcome.notifications > 0 {
            self.outbox.wake();
        }
        Reply {
            bytes: Bytes::from(reply.bytes),
            action: match reply.action {
                epp_session::Action::Continue => Action::Continue,
                epp_session::Action::Close => Action::Close,
            },
            outcome: Some(command_outcome(reply.outcome)),
        }
    }

    fn logged_in(&self) -> bool {
        self.session.logged_in()
    }

    fn closing(&mut self, reason: CloseReason, now: Timestamp) -> Option<Bytes> {
        let cause = match reason {
            CloseReason::PreLoginTimeout => CloseCause::PreLoginTimeout,
            CloseReason::IdleTimeout => CloseCause::IdleTimeout,
            CloseReason::Shutdown => CloseCause::Shutdown,
            _ => CloseCause::Other,
        };
        self.session.closing(cause, now).map(Bytes::from)
    }
}

/// The driver's record of a command (log line, metrics) from the session's.
fn command_outcome(o: epp_session::Outcome) -> CommandOutcome {
    CommandOutcome {
        command: Cow::Borrowed(o.command),
        result_code: o.result_code,
        registrar: o.registrar,
        cl_trid: o.cl_trid,
        sv_trid: o.sv_trid,
        refusal: o.refusal.and_then(refusal),
        replayed: o.replayed,
        failure: o.failure,
    }
}

fn refusal(r: LimitRefusal) -> Option<Refusal> {
    Some(match r {
        LimitRefusal::CertificatePin => Refusal::CertificatePin,
        LimitRefusal::CommandLimit => Refusal::CommandLimit,
        LimitRefusal::LoginFailed => Refusal::LoginFailed,
        LimitRefusal::RateLimit => Refusal::RateLimit,
        LimitRefusal::SessionLimit => Refusal::SessionLimit,
        // A refusal a newer session names that has no metric label here yet.
        _ => return None,
    })
}

/// Session slots are the server's [`SessionRegistry`], capped at
/// `limits.sessions_per_registrar_max`.
impl SessionSlots for SessionRegistry {
    fn try_acquire(
        &self,
        registrar: &ClientId,
        limit: u32,
    ) -> Result<SessionSlot, epp_session::SessionLimitReached> {
        SessionRegistry::try_acquire(self, registrar, limit)
            .map(SessionSlot::new)
            .map_err(|e| epp_session::SessionLimitReached {
                active: e.active,
                limit: e.limit,
            })
    }
}

/// Rate limits are the server's [`RateLimiter`] (`[rate_limits]`).
impl RateLimits for RateLimiter {
    fn check(
        &self,
        registrar: &ClientId,
        class: RateClass,
        now: Timestamp,
    ) -> Result<(), RateLimitExceeded> {
        RateLimiter::check(self, registrar, class, now).map_err(|e| {
            let (count, per) = match e.limit {
                RateLimitSetting::Limit { count, per } => (count, per.get()),
                // Only a limited class is ever exceeded.
                RateLimitSetting::Off => (0, e.retry_after),
            };
            RateLimitExceeded {
                class: e.class,
                count,
                per,
                retry_after: e.retry_after,
            }
        })
    }
}

/// A session's random source: the operating system's CSPRNG (svTRIDs and the one-time
/// transfer tokens, which must not be guessable).
fn os_random() -> Box<dyn RandomSource + Send + Sync> {
    Box::new(OsRandom {
        buf: [0; OS_RANDOM_BUFFER],
        used: OS_RANDOM_BUFFER,
    })
}

/// How many bytes a session reads from the operating system at a time.
const OS_RANDOM_BUFFER: usize = 256;

/// The operating system's random bytes, read [`OS_RANDOM_BUFFER`] at a time: every
/// response's svTRID draws 32 bytes, and a `getrandom` call per response was a visible
/// cost in the check benchmark. Each byte is handed out once and comes from the OS
/// generator as it is; nothing is stretched or reused.
struct OsRandom {
    buf: [u8; OS_RANDOM_BUFFER],
    /// How many bytes of `buf` were handed out.
    used: usize,
}

impl RandomSource for OsRandom {
    fn fill_bytes(&mut self, out: &mut [u8]) {
        let mut filled = 0;
        while filled < out.len() {
            if self.used == self.buf.len() {
                // `Epp::build` checked that the generator works; should it fail later, no
                // token may be handed out from weaker bytes. The panic ends this
                // connection's task only.
                if let Err(e) = getrandom::fill(&mut self.buf) {
                    panic!("the operating system's random number generator failed: {e}");
                }
                self.used = 0;
            }
            let n = (out.len() - filled).min(self.buf.len() - self.used);
            out[filled..filled + n].copy_from_slice(&self.buf[self.used..self.used + n]);
            // Handed out: not kept in memory longer than needed.
            self.buf[self.used..self.used + n].fill(0);
            self.used += n;
            filled += n;
        }
    }
}

fn log_lifecycle(report: &LifecycleReport, now: Timestamp) {
    let names = |v: &[epp_xml::DomainName]| {
        v.iter()
            .map(|d| d.as_str().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    };
    if !(report.quarantined.is_empty()
        && report.deleted.is_empty()
        && report.removed_from_dns.is_empty()
        && report.hosts_deleted.is_empty())
    {
        tracing::info!(
            %now,
            quarantined = %names(&report.quarantined),
            deleted = %names(&report.deleted),
            removed_from_dns = %names(&report.removed_from_dns),
            hosts_deleted = report.hosts_deleted.len(),
            "domain lifecycle advanced"
        );
    }
    if !report.transfers_lapsed.is_empty() {
        tracing::info!(
            %now,
            domains = %names(&report.transfers_lapsed),
            "transfer requests lapsed (token expired)"
        );
    }
    if !report.hosts_checked.is_empty() {
        let hosts: Vec<&str> = report.hosts_checked.iter().map(|h| h.as_str()).collect();
        tracing::info!(%now, hosts = %hosts.join(","), "host address changes decided");
    }
    for (host, error) in &report.hosts_failed {
        tracing::warn!(%host, %error, "host address check failed; retried at the next run");
    }
    for (domain, error) in &report.failed {
        tracing::warn!(%domain, %error, "domain lifecycle step failed; retried at the next run");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests of every size, across buffer refills, get fresh bytes: no run of the
    /// stream repeats, and nothing is handed out twice.
    #[test]
    fn os_random_hands_out_fresh_bytes_across_refills() {
        let mut rng = os_random();
        let mut seen = std::collections::HashSet::new();
        for len in [1usize, 7, 32, 255, 256, 257, 600, 32, 32] {
            let mut out = vec![0u8; len];
            rng.fill_bytes(&mut out);
            // 16-byte windows of OS randomness do not repeat by chance.
            for w in out.chunks_exact(16) {
                assert!(seen.insert(w.to_vec()), "a 16-byte run came twice");
            }
            if len >= 32 {
                assert!(out.iter().any(|&b| b != 0), "{len} zero bytes");
            }
        }
    }
}
