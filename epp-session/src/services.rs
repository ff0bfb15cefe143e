//! The cross-connection services a session consults: session slots per registrar, rate
//! limits per registrar, and randomness.
//!
//! A session sees one connection; limits that span connections (how many sessions a
//! registrar holds, how fast it sends commands) are counted by the embedding server and
//! reached through two small traits whose shapes follow `epp-server`'s `SessionRegistry`
//! and `RateLimiter`. [`InProcessSessions`] and [`InProcessRateLimiter`] implement them for
//! a single process (embedding, tests).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use epp_norid_ext::policy::RandomSource;
use epp_xml::{ClientId, Timestamp};

/// Counts logged-in sessions per registrar across all connections.
///
/// The session asks for a slot at login with the registrar's own limit (the store's
/// `Registrar::session_limit`) and keeps the returned [`SessionSlot`] until it ends; dropping
/// the slot frees it. A refusal is answered with 2502 and the connection closes.
pub trait SessionSlots: Send + Sync {
    /// Takes a session slot for `registrar`, whose limit is `limit` (0: no sessions).
    ///
    /// # Errors
    ///
    /// [`SessionLimitReached`] when the registrar already holds as many sessions as it may
    /// (the implementation may cap `limit` further).
    fn try_acquire(
        &self,
        registrar: &ClientId,
        limit: u32,
    ) -> Result<SessionSlot, SessionLimitReached>;
}

/// A logged-in session's slot; dropping it frees the slot.
///
/// Wraps whatever guard the implementation uses (`epp-server`: its `SessionGuard`).
pub struct SessionSlot(#[allow(dead_code, reason = "held for its Drop")] Box<dyn Send + Sync>);

impl SessionSlot {
    /// Wraps an implementation's guard, which frees the slot when dropped.
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        Self(Box::new(guard))
    }
}

impl fmt::Debug for SessionSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSlot")
    }
}

/// A registrar already holds its maximum number of sessions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registrar already has {active} of {limit} allowed sessions")]
pub struct SessionLimitReached {
    /// The registrar's sessions now.
    pub active: u32,
    /// The limit applied.
    pub limit: u32,
}

/// A class of commands with its own per-registrar rate limit (Norid's acceptable use
/// policy names CHECK, INFO and POLL together, and CREATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateClass {
    /// `<check>`, `<info>` and `<poll>`.
    CheckInfoPoll,
    /// `<create>`.
    Create,
}

impl fmt::Display for RateClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CheckInfoPoll => "check/info/poll",
            Self::Create => "create",
        })
    }
}

/// Per-registrar rate limits by [`RateClass`], shared by all of a registrar's sessions.
pub trait RateLimits: Send + Sync {
    /// Counts one command of `class` for `registrar` at `now`.
    ///
    /// # Errors
    ///
    /// [`RateLimitExceeded`] when the registrar is over the class limit: the command is
    /// refused (and not counted).
    fn check(
        &self,
        registrar: &ClientId,
        class: RateClass,
        now: Timestamp,
    ) -> Result<(), RateLimitExceeded>;
}

/// A registrar exceeded a rate limit: which one, its value, and when to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class} commands are limited to {count} per {}; retry after {retry_after:?}", per_text(*per))]
pub struct RateLimitExceeded {
    /// The command class.
    pub class: RateClass,
    /// Commands allowed per `per`.
    pub count: u32,
    /// The window.
    pub per: Duration,
    /// When one more command of the class would be allowed.
    pub retry_after: Duration,
}

/// A window as people write it: `1s`, `90s`, `1m`, `2h`, `1d`.
pub(crate) fn per_text(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        return format!("{}ms", d.as_millis());
    }
    if s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// The services one session uses, shared with every other session of the process.
#[derive(Clone)]
pub struct Services {
    /// Session slots per registrar.
    pub sessions: Arc<dyn SessionSlots>,
    /// Rate limits per registrar.
    pub rates: Arc<dyn RateLimits>,
    /// Makes the random source of each new session: svTRID random parts and one-time
    /// transfer tokens (which must not be guessable: the server passes a CSPRNG).
    pub random: Arc<dyn Fn() -> Box<dyn RandomSource + Send + Sync> + Send + Sync>,
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Services { .. }")
    }
}

impl Services {
    /// Services with the given random-source factory, unlimited sessions (capped only by
    /// each registrar's own limit, counted in this process) and no rate limits.
    pub fn in_process(
        random: impl Fn() -> Box<dyn RandomSource + Send + Sync> + Send + Sync + 'static,
    ) -> Self {
        Self {
            sessions: Arc::new(InProcessSessions::new(u32::MAX)),
            rates: Arc::new(InProcessRateLimiter::off()),
            random: Arc::new(random),
        }
    }
}

/// [`SessionSlots`] counted in this process.
#[derive(Debug, Clone, Default)]
pub struct InProcessSessions {
    counts: Arc<Mutex<HashMap<ClientId, u32>>>,
    max: u32,
}

impl InProcessSessions {
    /// A registry capping every registrar's limit at `max` (Norid: 9).
    pub fn new(max: u32) -> Self {
        Self {
            counts: Arc::default(),
            max,
        }
    }

    /// The sessions `registrar` holds now.
    pub fn active(&self, registrar: &ClientId) -> u32 {
        lock(&self.counts).get(registrar).copied().unwrap_or(0)
    }
}

struct InProcessGuard {
    counts: Arc<Mutex<HashMap<ClientId, u32>>>,
    registrar: ClientId,
}

impl Drop for InProcessGuard {
    fn drop(&mut self) {
        let mut map = lock(&self.counts);
        if let Some(n) = map.get_mut(&self.registrar) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.registrar);
            }
        }
    }
}

impl SessionSlots for InProcessSessions {
    fn try_acquire(
        &self,
        registrar: &ClientId,
        limit: u32,
    ) -> Result<SessionSlot, SessionLimitReached> {
        let limit = limit.min(self.max);
        let mut map = lock(&self.counts);
        let active = map.get(registrar).copied().unwrap_or(0);
        if active >= limit {
            return Err(SessionLimitReached { active, limit });
        }
        map.insert(registrar.clone(), active + 1);
        Ok(SessionSlot::new(InProcessGuard {
            counts: Arc::clone(&self.counts),
            registrar: registrar.clone(),
        }))
    }
}

/// A rate limit setting: `count` commands per `per`, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSetting {
    /// No limit.
    Off,
    /// At most `count` commands per `per`, refilled continuously (token bucket).
    Limit {
        /// Commands per window.
        count: u32,
        /// The window.
        per: Duration,
    },
}

/// Token level (scaled by the window in microseconds) and last refill, per registrar and
/// class.
type Buckets = HashMap<(ClientId, RateClass), (u128, i64)>;

/// [`RateLimits`] counted in this process: a token bucket per registrar and class, as
/// `epp-server`'s `RateLimiter`. Time comes from the caller.
#[derive(Debug, Clone)]
pub struct InProcessRateLimiter {
    check_info_poll: RateSetting,
    create: RateSetting,
    buckets: Arc<Mutex<Buckets>>,
}

impl InProcessRateLimiter {
    /// A limiter with the two class settings.
    pub fn new(check_info_poll: RateSetting, create: RateSetting) -> Self {
        Self {
            check_info_poll,
            create,
            buckets: Arc::default(),
        }
    }

    /// A limiter that limits nothing (Norid's numbers are not published; default off).
    pub fn off() -> Self {
        Self::new(RateSetting::Off, RateSetting::Off)
    }
}

impl RateLimits for InProcessRateLimiter {
    fn check(
        &self,
        registrar: &ClientId,
        class: RateClass,
        now: Timestamp,
    ) -> Result<(), RateLimitExceeded> {
        let setting = match class {
            RateClass::CheckInfoPoll => self.check_info_poll,
            RateClass::Create => self.create,
        };
        let RateSetting::Limit { count, per } = setting else {
            return Ok(());
        };
        if count == 0 {
            return Err(RateLimitExceeded {
                class,
                count,
                per,
                retry_after: per,
            });
        }
        // Tokens are kept multiplied by the window in microseconds: a command costs
        // `per_micros` and each microsecond adds `count`, so the arithmetic is exact.
        let per_micros = per.as_micros().max(1);
        let capacity = u128::from(count) * per_micros;
        let now = now.unix_micros();
        let mut buckets = lock(&self.buckets);
        let (level, at) = buckets
            .entry((registrar.clone(), class))
            .or_insert((capacity, now));
        let elapsed = u128::try_from(now.saturating_sub(*at)).unwrap_or(0);
        *level = capacity.min(*level + elapsed * u128::from(count));
        *at = (*at).max(now);
        if *level >= per_micros {
            *level -= per_micros;
            return Ok(());
        }
        let wait = (per_micros - *level).div_ceil(u128::from(count));
        Err(RateLimitExceeded {
            class,
            count,
            per,
            retry_after: Duration::from_micros(u64::try_from(wait).unwrap_or(u64::MAX)),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update of these tables is a single step, so a panic in another holder cannot
    // leave them inconsistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(s: &str) -> ClientId {
        ClientId::new(s).unwrap()
    }

    #[test]
    fn session_slots_count_and_free_on_drop() {
        let s = InProcessSessions::new(9);
        let a = s.try_acquire(&reg("reg1"), 2).unwrap();
        let _b = s.try_acquire(&reg("reg1"), 2).unwrap();
        assert_eq!(
            s.try_acquire(&reg("reg1"), 2).unwrap_err(),
            SessionLimitReached {
                active: 2,
                limit: 2
            }
        );
        assert!(s.try_acquire(&reg("reg2"), 1).is_ok());
        drop(a);
        assert_eq!(s.active(&reg("reg1")), 1);
        assert!(s.try_acquire(&reg("reg1"), 2).is_ok());
    }

    #[test]
    fn the_ceiling_caps_every_limit() {
        let s = InProcessSessions::new(1);
        let _a = s.try_acquire(&reg("reg1"), 5).unwrap();
        assert_eq!(s.try_acquire(&reg("reg1"), 5).unwrap_err().limit, 1);
    }

    #[test]
    fn rate_limiter_refills_over_time() {
        let t0 = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
        let r = InProcessRateLimiter::new(
            RateSetting::Limit {
                count: 2,
                per: Duration::from_secs(60),
            },
            RateSetting::Off,
        );
        let id = reg("reg1");
        assert!(r.check(&id, RateClass::CheckInfoPoll, t0).is_ok());
        assert!(r.check(&id, RateClass::CheckInfoPoll, t0).is_ok());
        let e = r.check(&id, RateClass::CheckInfoPoll, t0).unwrap_err();
        assert_eq!((e.count, e.per), (2, Duration::from_secs(60)));
        assert_eq!(e.retry_after, Duration::from_secs(30));
        assert_eq!(
            e.to_string(),
            "check/info/poll commands are limited to 2 per 1m; retry after 30s"
        );
        assert!(
            r.check(&id, RateClass::CheckInfoPoll, t0.add_secs(30))
                .is_ok()
        );
        for _ in 0..100 {
            assert!(r.check(&id, RateClass::Create, t0).is_ok());
        }
    }
}
