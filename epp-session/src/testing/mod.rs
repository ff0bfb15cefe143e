//! Test support (feature `test-util`): a [`Harness`] of sessions over one store with a fake
//! clock and scripted randomness, and the C:/S: [script] runner.
//!
//! The harness is the sans-IO counterpart of a server: it opens named sessions, feeds them
//! documents at the harness clock, and shares session slots and rate limits between them
//! as a server does. The script runner drives any [`ScriptTarget`]; the harness is one,
//! and `epp-server` can implement the trait over TLS to replay the same scripts against
//! its SQLite and PostgreSQL stores.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cheap;
pub mod intercept;
pub mod script;
pub mod xml;

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use epp_norid_ext::policy::RandomSource;
use epp_xml::Timestamp;

use crate::lifecycle::{self, LifecycleReport};
use crate::services::{
    InProcessRateLimiter, InProcessSessions, RateClass, RateLimits, RateSetting,
};
use crate::session::{Action, ConnectionInfo, Reply, Session};
use crate::store::model::CertFingerprint;
use crate::store::{MemoryStore, Store};
use crate::{RateLimitExceeded, Services, SessionConfig};

/// The registry fixtures the script tests share (`testdata/sessions/fixtures/registry.inc`):
/// registrars with their passwords and session quotas, contacts and hosts.
pub const REGISTRY_FIXTURES: &str = include_str!("../../testdata/sessions/fixtures/registry.inc");

/// A `<login>` of `cl_id` with `pw` that declares every object and extension service the
/// greeting announces.
pub fn login_document(cl_id: &str, pw: &str) -> String {
    let mut s = format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>{cl_id}</clID><pw>{pw}</pw><options><version>1.0</version><lang>en</lang></options><svcs>"#
    );
    for o in epp_norid_ext::OBJ_URIS {
        s.push_str("<objURI>");
        s.push_str(o);
        s.push_str("</objURI>");
    }
    s.push_str("<svcExtension>");
    for e in epp_norid_ext::EXT_URIS {
        s.push_str("<extURI>");
        s.push_str(e);
        s.push_str("</extURI>");
    }
    s.push_str("</svcExtension></svcs></login><clTRID>LOGIN-1</clTRID></command></epp>");
    s
}

/// Randomness for tests: queued chunks first (each `fill_bytes` call takes one chunk and
/// pads it), then a deterministic generator. Clones share the queue.
#[derive(Debug, Clone)]
pub struct ScriptedRandom {
    inner: Arc<Mutex<RandomState>>,
}

#[derive(Debug)]
struct RandomState {
    chunks: VecDeque<Vec<u8>>,
    counter: u64,
}

impl ScriptedRandom {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(RandomState {
                chunks: VecDeque::new(),
                counter: seed,
            })),
        }
    }

    /// Queues the bytes of one future `fill_bytes` call.
    pub fn push_chunk(&self, chunk: Vec<u8>) {
        self.inner.lock().unwrap().chunks.push_back(chunk);
    }

    /// Queues the bytes that make the next svTRID's random part (or transfer token) the
    /// given characters of `[0-9a-z]` (`mu5yhv`).
    pub fn push_base36(&self, text: &str) {
        let chunk = text
            .bytes()
            .map(|c| match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'z' => c - b'a' + 10,
                _ => 0,
            })
            .collect();
        self.push_chunk(chunk);
    }

    fn fill(&self, out: &mut [u8]) {
        let mut s = self.inner.lock().unwrap();
        let chunk = s.chunks.pop_front().unwrap_or_default();
        for (i, b) in out.iter_mut().enumerate() {
            *b = match chunk.get(i) {
                Some(x) => *x,
                None => {
                    s.counter = s.counter.wrapping_add(1);
                    (splitmix64(s.counter) >> 24) as u8
                }
            };
        }
    }
}

impl RandomSource for ScriptedRandom {
    fn fill_bytes(&mut self, out: &mut [u8]) {
        self.fill(out);
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Rate limits that tests can change while sessions are open.
#[derive(Debug)]
struct SwitchableRates(Mutex<InProcessRateLimiter>);

impl RateLimits for SwitchableRates {
    fn check(
        &self,
        registrar: &epp_xml::ClientId,
        class: RateClass,
        now: Timestamp,
    ) -> Result<(), RateLimitExceeded> {
        self.0.lock().unwrap().check(registrar, class, now)
    }
}

/// What a script runs against: a store for fixtures and checks, a clock, randomness and
/// named connections.
///
/// [`Harness`] implements it in process. A server test can implement it over TLS: `open`
/// connects and returns the greeting, `send` writes one frame and reads one; when the
/// server cannot follow the script's clock and randomness, [`exact`](Self::exact) returns
/// `false` and the runner treats svTRIDs and timestamps in expected documents as
/// wildcards.
pub trait ScriptTarget {
    /// The store the target's sessions use.
    type Store: Store;

    /// The store, for fixtures and state checks.
    fn store(&self) -> &Self::Store;

    /// Whether the clock and the svTRID randomness follow the script.
    fn exact(&self) -> bool;

    /// The registry clock.
    fn now(&self) -> Timestamp;

    /// Sets the registry clock.
    fn set_now(&mut self, now: Timestamp);

    /// Queues the bytes of one future random draw.
    fn push_random(&mut self, chunk: Vec<u8>);

    /// Makes the next poll message ids at least `next`; `false` when unsupported.
    fn poll_id_floor(&mut self, next: u64) -> bool;

    /// Changes a session option (`@option key=value`).
    ///
    /// # Errors
    ///
    /// When the key or value is not understood.
    fn set_option(&mut self, key: &str, value: &str) -> Result<(), String>;

    /// Opens the named connection; returns the greeting.
    fn open(
        &mut self,
        session: &str,
        client_cert: Option<CertFingerprint>,
    ) -> impl Future<Output = Result<Vec<u8>, String>>;

    /// Sends one document on the named connection; returns the reply and whether the
    /// connection closed after it.
    fn send(
        &mut self,
        session: &str,
        document: &[u8],
    ) -> impl Future<Output = Result<(Vec<u8>, bool), String>>;

    /// Whether the named connection is open.
    fn is_open(&self, session: &str) -> bool;

    /// Lets the server's timers run at the current clock: a session past its deadline is
    /// closed. Returns whether it was.
    fn fire_timers(&mut self, session: &str) -> bool;

    /// Runs the registry's scheduled jobs at the current clock.
    fn lifecycle(&mut self) -> impl Future<Output = Result<LifecycleReport, String>>;
}

/// Sessions over one store, with a fake clock and scripted randomness.
pub struct Harness<S: Store = MemoryStore> {
    store: Arc<S>,
    config: SessionConfig,
    sessions_registry: InProcessSessions,
    rates: Arc<SwitchableRates>,
    rate_settings: (RateSetting, RateSetting),
    random: ScriptedRandom,
    sessions: BTreeMap<String, Session<S>>,
    now: Timestamp,
    poll_floor: Option<Box<dyn Fn(u64) + Send + Sync>>,
}

impl Harness<MemoryStore> {
    /// A harness over a fresh [`MemoryStore`] at 2024-01-01T12:00:00Z.
    pub fn memory() -> Self {
        let store = Arc::new(MemoryStore::new());
        let floor = Arc::clone(&store);
        let mut h = Self::new(store);
        h.poll_floor = Some(Box::new(move |n| floor.set_poll_id_floor(n)));
        h
    }
}

impl<S: Store + 'static> Harness<S> {
    /// A harness over `store` with the default configuration.
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            config: SessionConfig::default(),
            sessions_registry: InProcessSessions::new(9),
            rates: Arc::new(SwitchableRates(Mutex::new(InProcessRateLimiter::off()))),
            rate_settings: (RateSetting::Off, RateSetting::Off),
            random: ScriptedRandom::new(1),
            sessions: BTreeMap::new(),
            now: Timestamp::parse("2024-01-01T12:00:00Z").unwrap(),
            poll_floor: None,
        }
    }

    /// Runs the shared registry fixtures ([`REGISTRY_FIXTURES`]) on this harness.
    ///
    /// # Panics
    ///
    /// When the fixtures do not parse or one of their exchanges fails.
    pub async fn load_registry_fixtures(&mut self) {
        let script = script::Script::parse("registry.inc", REGISTRY_FIXTURES).unwrap();
        script.run(self, None).await.unwrap();
    }

    /// The store.
    pub fn store_arc(&self) -> &Arc<S> {
        &self.store
    }

    /// The configuration new sessions get.
    pub fn config_mut(&mut self) -> &mut SessionConfig {
        &mut self.config
    }

    /// The shared randomness.
    pub fn random(&self) -> &ScriptedRandom {
        &self.random
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, d: Duration) {
        self.now = self
            .now
            .add_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    }

    /// The named session, if open.
    pub fn session(&self, name: &str) -> Option<&Session<S>> {
        self.sessions.get(name)
    }

    fn services(&self) -> Services {
        let random = self.random.clone();
        Services {
            sessions: Arc::new(self.sessions_registry.clone()),
            rates: self.rates.clone(),
            random: Arc::new(move || {
                Box::new(random.clone()) as Box<dyn RandomSource + Send + Sync>
            }),
        }
    }

    /// Opens a session (replacing one of the same name) and returns its greeting.
    pub fn connect(&mut self, name: &str, client_cert: Option<CertFingerprint>) -> Vec<u8> {
        let mut s = Session::new(
            Arc::clone(&self.store),
            Arc::new(self.config.clone()),
            self.services(),
            ConnectionInfo::new(client_cert),
        );
        let g = s.greeting(self.now);
        self.sessions.insert(name.to_owned(), s);
        g
    }

    /// Sends a document on a session (opened first when needed) at the harness clock.
    pub async fn exchange(&mut self, name: &str, document: &[u8]) -> Reply {
        if !self.sessions.contains_key(name) {
            self.connect(name, None);
        }
        let now = self.now;
        let s = self.sessions.get_mut(name).expect("opened above");
        let reply = s.handle_frame(document, now).await;
        if reply.action == Action::Close {
            self.sessions.remove(name);
        }
        reply
    }
}

impl<S: Store + 'static> ScriptTarget for Harness<S> {
    type Store = S;

    fn store(&self) -> &S {
        &self.store
    }

    fn exact(&self) -> bool {
        true
    }

    fn now(&self) -> Timestamp {
        self.now
    }

    fn set_now(&mut self, now: Timestamp) {
        self.now = now;
    }

    fn push_random(&mut self, chunk: Vec<u8>) {
        self.random.push_chunk(chunk);
    }

    fn poll_id_floor(&mut self, next: u64) -> bool {
        match &self.poll_floor {
            Some(f) => {
                f(next);
                true
            }
            None => false,
        }
    }

    fn set_option(&mut self, key: &str, value: &str) -> Result<(), String> {
        let secs = |v: &str| parse_duration(v).ok_or_else(|| format!("bad duration {v}"));
        let num = |v: &str| v.parse::<u32>().map_err(|_| format!("bad number {v}"));
        match key {
            "commands_per_session" => self.config.commands_per_session = num(value)?,
            "max_failed_logins" => self.config.max_failed_logins = num(value)?,
            "prelogin_timeout" => self.config.prelogin_timeout = secs(value)?,
            "idle_timeout" => self.config.idle_timeout = secs(value)?,
            "replay_window" => self.config.replay_window = secs(value)?,
            "max_check_names" => self.config.max_check_names = num(value)? as usize,
            "renew_data" => self.config.renew_data = value == "true",
            "server_id" => value.clone_into(&mut self.config.server_id),
            "sv_trid_suffix" => {
                self.config = self
                    .config
                    .clone()
                    .with_sv_trid_suffix(value)
                    .map_err(|e| e.to_string())?;
            }
            "sessions_max" => self.sessions_registry = InProcessSessions::new(num(value)?),
            "rate_check_info_poll" | "rate_create" => {
                let setting = parse_rate(value)?;
                if key == "rate_create" {
                    self.rate_settings.1 = setting;
                } else {
                    self.rate_settings.0 = setting;
                }
                let (cip, create) = self.rate_settings;
                *self.rates.0.lock().unwrap() = InProcessRateLimiter::new(cip, create);
            }
            _ => return Err(format!("unknown option {key}")),
        }
        Ok(())
    }

    async fn open(
        &mut self,
        session: &str,
        client_cert: Option<CertFingerprint>,
    ) -> Result<Vec<u8>, String> {
        Ok(self.connect(session, client_cert))
    }

    async fn send(&mut self, session: &str, document: &[u8]) -> Result<(Vec<u8>, bool), String> {
        let reply = self.exchange(session, document).await;
        Ok((reply.bytes, reply.action == Action::Close))
    }

    fn is_open(&self, session: &str) -> bool {
        self.sessions.contains_key(session)
    }

    fn fire_timers(&mut self, session: &str) -> bool {
        let now = self.now;
        let due = self
            .sessions
            .get(session)
            .and_then(Session::deadline)
            .is_some_and(|d| now >= d);
        if due && let Some(mut s) = self.sessions.remove(session) {
            let _ = s.closing(crate::CloseCause::IdleTimeout, now);
        }
        due
    }

    async fn lifecycle(&mut self) -> Result<LifecycleReport, String> {
        lifecycle::advance(&*self.store, self.now, &self.config)
            .await
            .map_err(|e| e.to_string())
    }
}

/// `30s`, `2m`, `3h`, `45d`, `1500ms`.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let (num, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    Some(match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        _ => return None,
    })
}

/// `off` or `<count>/<duration>` (`10/1m`).
fn parse_rate(v: &str) -> Result<RateSetting, String> {
    if v == "off" {
        return Ok(RateSetting::Off);
    }
    let (count, per) = v.split_once('/').ok_or_else(|| format!("bad rate {v}"))?;
    Ok(RateSetting::Limit {
        count: count.parse().map_err(|_| format!("bad rate {v}"))?,
        per: parse_duration(per).ok_or_else(|| format!("bad rate {v}"))?,
    })
}
