//! Limits enforced across all connections: connections per IP address and in total,
//! sessions per registrar, and per-registrar command rates.
//!
//! Each is a small shared table behind a mutex; entries are released by RAII guards, so a
//! connection task that ends for any reason (including a panic or an abort at shutdown)
//! gives its slot back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use epp_xml::{ClientId, Timestamp};
use tokio::sync::Notify;

use crate::config::RateLimitSetting;
use crate::metrics::Metrics;
use crate::protocol::Refusal;

/// Counts open connections per IP address and in total.
#[derive(Debug)]
pub(crate) struct ConnectionLimiter {
    per_ip: u32,
    max_total: u32,
    state: Mutex<ConnectionCounts>,
    idle: Notify,
}

#[derive(Debug, Default)]
struct ConnectionCounts {
    per_ip: HashMap<IpAddr, u32>,
    total: u32,
}

impl ConnectionLimiter {
    pub(crate) fn new(per_ip: u32, max_total: u32) -> Arc<Self> {
        Arc::new(Self {
            per_ip,
            max_total,
            state: Mutex::new(ConnectionCounts::default()),
            idle: Notify::new(),
        })
    }

    /// Takes a slot for a connection from `ip`, or says which limit is reached.
    pub(crate) fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionPermit, Refusal> {
        // An IPv4 client on a dual-stack socket counts as its IPv4 address.
        let ip = ip.to_canonical();
        let mut state = lock(&self.state);
        if state.total >= self.max_total {
            return Err(Refusal::MaxConnections);
        }
        let count = state.per_ip.entry(ip).or_insert(0);
        if *count >= self.per_ip {
            return Err(Refusal::ConnectionsPerIp);
        }
        *count += 1;
        state.total += 1;
        Ok(ConnectionPermit {
            limiter: Arc::clone(self),
            ip,
        })
    }

    /// Open connections.
    pub(crate) fn total(&self) -> u32 {
        lock(&self.state).total
    }

    /// Waits until no connection is open.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.total() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One open connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct ConnectionPermit {
    limiter: Arc<ConnectionLimiter>,
    ip: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut state = lock(&self.limiter.state);
        if let Some(count) = state.per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                state.per_ip.remove(&self.ip);
            }
        }
        state.total -= 1;
        if state.total == 0 {
            self.limiter.idle.notify_waiters();
        }
    }
}

/// Counts logged-in sessions per registrar across all connections.
///
/// The session asks for a slot at login with the registrar's own limit (from the store,
/// or `limits.sessions_per_registrar`); the registry caps it at
/// `limits.sessions_per_registrar_max`. The session answers a refusal with 2502 and keeps
/// the [`SessionGuard`] until the session ends.
#[derive(Debug, Clone)]
pub struct SessionRegistry {
    inner: Arc<Mutex<HashMap<ClientId, u32>>>,
    max: u32,
    metrics: Metrics,
}

impl SessionRegistry {
    /// A registry whose per-registrar limits are capped at `max`.
    pub fn new(max: u32, metrics: Metrics) -> Self {
        Self {
            inner: Arc::default(),
            max,
            metrics,
        }
    }

    /// Takes a session slot for `registrar`, whose limit is `limit` (0: no sessions).
    ///
    /// # Errors
    ///
    /// [`SessionLimitReached`] when the registrar already has `min(limit, max)` sessions.
    pub fn try_acquire(
        &self,
        registrar: &ClientId,
        limit: u32,
    ) -> Result<SessionGuard, SessionLimitReached> {
        let limit = limit.min(self.max);
        let mut map = lock(&self.inner);
        let active = map.get(registrar).copied().unwrap_or(0);
        if active >= limit {
            return Err(SessionLimitReached {
                registrar: registrar.clone(),
                active,
                limit,
            });
        }
        map.insert(registrar.clone(), active + 1);
        self.metrics.session_opened(registrar.as_str());
        Ok(SessionGuard {
            registry: self.clone(),
            registrar: registrar.clone(),
        })
    }

    /// Logged-in sessions of `registrar`.
    pub fn active(&self, registrar: &ClientId) -> u32 {
        lock(&self.inner).get(registrar).copied().unwrap_or(0)
    }

    /// Logged-in sessions of all registrars.
    pub fn total(&self) -> u32 {
        lock(&self.inner).values().sum()
    }

    /// The ceiling applied to every registrar's limit.
    pub fn max(&self) -> u32 {
        self.max
    }
}

/// A logged-in session's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct SessionGuard {
    registry: SessionRegistry,
    registrar: ClientId,
}

impl SessionGuard {
    /// The registrar holding the slot.
    pub fn registrar(&self) -> &ClientId {
        &self.registrar
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let mut map = lock(&self.registry.inner);
        if let Some(count) = map.get_mut(&self.registrar) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.registrar);
            }
        }
        self.registry
            .metrics
            .session_closed(self.registrar.as_str());
    }
}

/// A registrar already has its maximum number of sessions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registrar {registrar} already has {active} of {limit} allowed sessions")]
pub struct SessionLimitReached {
    /// The registrar.
    pub registrar: ClientId,
    /// Its sessions now.
    pub active: u32,
    /// The limit applied (after the ceiling).
    pub limit: u32,
}

/// A class of commands with its own per-registrar rate limit: epp-session's type, which
/// names the class of each command.
pub use epp_session::RateClass;

/// Per-registrar rate limits by [`RateClass`], shared by all of a registrar's sessions.
///
/// A token bucket per registrar and class: `count` commands per `per`, refilled
/// continuously, with bursts up to `count`. Time comes from the caller (the registry
/// clock), so tests can drive it.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    check_info_poll: RateLimitSetting,
    create: RateLimitSetting,
    buckets: Arc<Mutex<HashMap<(ClientId, RateClass), Bucket>>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens times the window in microseconds: a command costs `per_micros`, and each
    /// microsecond adds `count`, so the arithmetic stays exact in integers.
    level: u128,
    at_micros: i64,
}

impl RateLimiter {
    /// A limiter with the two class settings (`RateLimitSetting::Off` disables a class).
    pub fn new(check_info_poll: RateLimitSetting, create: RateLimitSetting) -> Self {
        Self {
            check_info_poll,
            create,
            buckets: Arc::default(),
        }
    }

    /// Counts one command of `class` for `registrar` at `now`.
    ///
    /// # Errors
    ///
    /// [`RateLimited`] when the registrar is over the class limit; the command must then
    /// be refused and is not counted.
    pub fn check(
        &self,
        registrar: &ClientId,
        class: RateClass,
        now: Timestamp,
    ) -> Result<(), RateLimited> {
        let setting = match class {
            RateClass::CheckInfoPoll => self.check_info_poll,
            RateClass::Create => self.create,
            // A class a newer session names but this configuration has no key for.
            _ => RateLimitSetting::Off,
        };
        let RateLimitSetting::Limit { count, per } = setting else {
            return Ok(());
        };
        let per_micros = per.get().as_micros().max(1);
        let capacity = u128::from(count) * per_micros;
        let now = now.unix_micros();
        let mut buckets = lock(&self.buckets);
        let bucket = buckets.entry((registrar.clone(), class)).or_insert(Bucket {
            level: capacity,
            at_micros: now,
        });
        // A clock that steps back refills nothing rather than underflowing.
        let elapsed = u128::try_from(now.saturating_sub(bucket.at_micros)).unwrap_or(0);
        bucket.level = capacity.min(bucket.level + elapsed * u128::from(count));
        bucket.at_micros = bucket.at_micros.max(now);
        if bucket.level >= per_micros {
            bucket.level -= per_micros;
            return Ok(());
        }
        let missing = per_micros - bucket.level;
        let wait_micros = missing.div_ceil(u128::from(count));
        Err(RateLimited {
            class,
            limit: setting,
            retry_after: Duration::from_micros(u64::try_from(wait_micros).unwrap_or(u64::MAX)),
        })
    }
}

/// A registrar exceeded a rate limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limit for {class} commands exceeded ({limit}); retry after {retry_after:?}")]
pub struct RateLimited {
    /// The command class.
    pub class: RateClass,
    /// The configured limit.
    pub limit: RateLimitSetting,
    /// When one more command of the class would be allowed.
    pub retry_after: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The tables stay consistent under a panic in another holder: every update is a
    // single step.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(s: &str) -> ClientId {
        ClientId::new(s).unwrap()
    }

    #[test]
    fn per_ip_cap_counts_each_address_and_frees_on_drop() {
        let limiter = ConnectionLimiter::new(2, 100);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = limiter.try_acquire(a).unwrap();
        let _p2 = limiter.try_acquire(a).unwrap();
        assert_eq!(
            limiter.try_acquire(a).unwrap_err(),
            Refusal::ConnectionsPerIp
        );
        let _p3 = limiter.try_acquire(b).unwrap();
        drop(p1);
        let _p4 = limiter.try_acquire(a).unwrap();
        assert_eq!(limiter.total(), 3);
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let limiter = ConnectionLimiter::new(1, 100);
        let _p = limiter.try_acquire("192.0.2.1".parse().unwrap()).unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(
            limiter.try_acquire(mapped).unwrap_err(),
            Refusal::ConnectionsPerIp
        );
    }

    #[test]
    fn total_cap_applies_across_addresses() {
        let limiter = ConnectionLimiter::new(10, 2);
        let _a = limiter.try_acquire("192.0.2.1".parse().unwrap()).unwrap();
        let _b = limiter.try_acquire("192.0.2.2".parse().unwrap()).unwrap();
        assert_eq!(
            limiter
                .try_acquire("192.0.2.3".parse().unwrap())
                .unwrap_err(),
            Refusal::MaxConnections
        );
    }

    #[tokio::test]
    async fn wait_idle_returns_when_the_last_permit_drops() {
        let limiter = ConnectionLimiter::new(10, 10);
        let p = limiter.try_acquire("192.0.2.1".parse().unwrap()).unwrap();
        let waiter = {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move { limiter.wait_idle().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(p);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn session_registry_enforces_the_registrar_limit_and_the_ceiling() {
        let metrics = Metrics::new();
        let registry = SessionRegistry::new(3, metrics.clone());
        let r = reg("reg9094");
        let g1 = registry.try_acquire(&r, 2).unwrap();
        let _g2 = registry.try_acquire(&r, 2).unwrap();
        let err = registry.try_acquire(&r, 2).unwrap_err();
        assert_eq!((err.active, err.limit), (2, 2));
        // Another registrar is counted apart.
        let _o = registry.try_acquire(&reg("reg0001"), 1).unwrap();
        assert_eq!(registry.total(), 3);
        drop(g1);
        assert_eq!(registry.active(&r), 1);
        // A limit of 50 is capped at the ceiling of 3.
        let _g3 = registry.try_acquire(&r, 50).unwrap();
        let _g4 = registry.try_acquire(&r, 50).unwrap();
        assert_eq!(registry.try_acquire(&r, 50).unwrap_err().limit, 3);
        // Limit 0: no sessions at all.
        assert!(registry.try_acquire(&reg("reg0002"), 0).is_err());
        assert!(metrics.render().contains("epp_sessions_active 4\n"));
    }

    #[test]
    fn rate_limiter_allows_bursts_then_refills_over_time() {
        let limiter = RateLimiter::new("3/1s".parse().unwrap(), RateLimitSetting::Off);
        let r = reg("reg9094");
        let t0 = Timestamp::from_unix_micros(1_700_000_000_000_000);
        for _ in 0..3 {
            limiter.check(&r, RateClass::CheckInfoPoll, t0).unwrap();
        }
        let err = limiter.check(&r, RateClass::CheckInfoPoll, t0).unwrap_err();
        assert_eq!(err.class, RateClass::CheckInfoPoll);
        assert_eq!(err.retry_after, Duration::from_micros(333_334));
        // One token back after a third of a second.
        let later = t0.add_micros(333_334);
        limiter.check(&r, RateClass::CheckInfoPoll, later).unwrap();
        assert!(limiter.check(&r, RateClass::CheckInfoPoll, later).is_err());
        // Other registrars and classes are independent; "off" never limits.
        limiter
            .check(&reg("reg0001"), RateClass::CheckInfoPoll, t0)
            .unwrap();
        for _ in 0..100 {
            limiter.check(&r, RateClass::Create, t0).unwrap();
        }
    }

    #[test]
    fn rate_limiter_survives_a_clock_step_back() {
        let limiter = RateLimiter::new(RateLimitSetting::Off, "1/1m".parse().unwrap());
        let r = reg("reg9094");
        let t0 = Timestamp::from_unix_micros(1_700_000_000_000_000);
        limiter.check(&r, RateClass::Create, t0).unwrap();
        assert!(
            limiter
                .check(&r, RateClass::Create, t0.add_secs(-3600))
                .is_err()
        );
        limiter
            .check(&r, RateClass::Create, t0.add_secs(60))
            .unwrap();
    }
}
