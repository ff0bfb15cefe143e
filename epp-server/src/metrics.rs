//! Prometheus metrics: a small in-process registry and its text exposition (format
//! 0.0.4), served over plain HTTP on a separate port by [`http`].
//!
//! Hand-written instead of a metrics crate: the set is fixed and small, and this keeps the
//! dependency tree (and the build) lean.

pub(crate) mod http;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use epp_session::store::PollQueue;

use crate::config::TlsVersion;
use crate::protocol::{CloseReason, CommandOutcome, Refusal};
use crate::store::AnyStore;

/// Upper bounds of the command latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The server's metrics; cheap to clone, shared by all connections.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    started: SystemTime,
    /// Command, result code, registrar: nested so that counting looks up with borrowed
    /// keys and allocates only for a new label set (this runs for every command).
    commands: Mutex<BTreeMap<String, BTreeMap<u16, ByRegistrar>>>,
    /// Command, registrar.
    replays: Mutex<BTreeMap<String, ByRegistrar>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    sessions: Mutex<BTreeMap<String, u64>>,
    refusals: [AtomicU64; Refusal::ALL.len()],
    closes: [AtomicU64; CloseReason::ALL.len()],
    connections_total: AtomicU64,
    connections_active: AtomicU64,
    handshakes: [AtomicU64; 2],
    handshake_failures: AtomicU64,
    handshake_timeouts: AtomicU64,
    cert_reloads_ok: AtomicU64,
    cert_reloads_failed: AtomicU64,
    /// Outbox deliveries by channel (index in [`NOTIFY_CHANNELS`]): (delivered, failed).
    notifications: [(AtomicU64, AtomicU64); NOTIFY_CHANNELS.len()],
    scheduler_runs: Mutex<BTreeMap<(String, bool), u64>>,
    /// The store whose check cache is reported ([`Metrics::watch_store`]).
    store: OnceLock<AnyStore>,
}

/// Counts by registrar id (empty before login).
type ByRegistrar = BTreeMap<String, u64>;

/// The notification channels, as metric labels.
const NOTIFY_CHANNELS: [&str; 2] = ["email", "sms"];

#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self(Arc::new(Inner {
            started: SystemTime::now(),
            commands: Mutex::default(),
            replays: Mutex::default(),
            latency: Mutex::default(),
            sessions: Mutex::default(),
            refusals: Default::default(),
            closes: Default::default(),
            connections_total: AtomicU64::new(0),
            connections_active: AtomicU64::new(0),
            handshakes: Default::default(),
            handshake_failures: AtomicU64::new(0),
            handshake_timeouts: AtomicU64::new(0),
            cert_reloads_ok: AtomicU64::new(0),
            cert_reloads_failed: AtomicU64::new(0),
            notifications: Default::default(),
            scheduler_runs: Mutex::default(),
            store: OnceLock::new(),
        }))
    }

    /// Counts one command (`epp_commands_total`) and its latency
    /// (`epp_command_duration_seconds`), and its refusal if any. The connection driver
    /// calls this for every [`CommandOutcome`] a handler returns.
    ///
    /// A replayed answer ([`CommandOutcome::replayed`]) executed nothing: it is counted in
    /// `epp_commands_replayed_total{command,registrar}` instead, without latency.
    pub fn record_command(&self, outcome: &CommandOutcome, latency: Duration) {
        let registrar = outcome.registrar.as_ref().map_or("", |r| r.as_str());
        if outcome.replayed {
            bump(
                &mut lock(&self.0.replays),
                &outcome.command,
                |by_registrar| {
                    bump(by_registrar, registrar, |n| *n += 1);
                },
            );
            return;
        }
        bump(&mut lock(&self.0.commands), &outcome.command, |by_code| {
            bump(
                by_code.entry(outcome.result_code).or_default(),
                registrar,
                |n| *n += 1,
            );
        });
        let secs = latency.as_secs_f64();
        bump(&mut lock(&self.0.latency), &outcome.command, |h| {
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.buckets[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        });
        if let Some(reason) = outcome.refusal {
            self.record_refusal(reason);
        }
    }

    /// Counts one refusal (`epp_refusals_total{reason}`).
    pub fn record_refusal(&self, reason: Refusal) {
        let i = Refusal::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.0.refusals[i].fetch_add(1, Ordering::Relaxed);
    }

    /// A TCP connection was accepted (before the connection limits).
    pub(crate) fn connection_accepted(&self) {
        self.0.connections_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection passed the limits and is open.
    pub(crate) fn connection_opened(&self) {
        self.0.connections_active.fetch_add(1, Ordering::Relaxed);
    }

    /// An open connection ended; `reason` is `None` when the TLS handshake failed.
    pub(crate) fn connection_closed(&self, reason: Option<CloseReason>) {
        self.0.connections_active.fetch_sub(1, Ordering::Relaxed);
        if let Some(reason) = reason {
            let i = CloseReason::ALL
                .iter()
                .position(|r| *r == reason)
                .unwrap_or(0);
            self.0.closes[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn handshake_ok(&self, version: TlsVersion) {
        let i = match version {
            TlsVersion::Tls12 => 0,
            TlsVersion::Tls13 => 1,
        };
        self.0.handshakes[i].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn handshake_failed(&self, timed_out: bool) {
        let counter = match timed_out {
            true => &self.0.handshake_timeouts,
            false => &self.0.handshake_failures,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn cert_reload(&self, ok: bool) {
        let counter = match ok {
            true => &self.0.cert_reloads_ok,
            false => &self.0.cert_reloads_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one delivery attempt of an outbox notification on `channel` (`email`,
    /// `sms`).
    pub(crate) fn notification(&self, channel: &str, delivered: bool) {
        let Some(i) = NOTIFY_CHANNELS.iter().position(|c| *c == channel) else {
            return;
        };
        let (ok, failed) = &self.0.notifications[i];
        match delivered {
            true => ok.fetch_add(1, Ordering::Relaxed),
            false => failed.fetch_add(1, Ordering::Relaxed),
        };
    }

    /// Counts one run of a scheduled job.
    pub(crate) fn scheduler_run(&self, task: &str, ok: bool) {
        *lock(&self.0.scheduler_runs)
            .entry((task.to_owned(), ok))
            .or_insert(0) += 1;
    }

    pub(crate) fn session_opened(&self, registrar: &str) {
        *lock(&self.0.sessions)
            .entry(registrar.to_owned())
            .or_insert(0) += 1;
    }

    pub(crate) fn session_closed(&self, registrar: &str) {
        let mut sessions = lock(&self.0.sessions);
        if let Some(n) = sessions.get_mut(registrar) {
            *n = n.saturating_sub(1);
        }
    }

    /// Reports `store`'s check cache (docs/check-cache.md) from now on: whether it is
    /// configured and in use, the names it answered, and how often it read every name.
    /// The first store given stays.
    pub fn watch_store(&self, store: AnyStore) {
        let _ = self.0.store.set(store);
    }

    /// The store registered with [`Metrics::watch_store`], for the readiness probe.
    pub(crate) fn store(&self) -> Option<&AnyStore> {
        self.0.store.get()
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let i = &self.0;
        let mut out = String::with_capacity(4096);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);

        header(
            &mut out,
            "epp_commands_total",
            "counter",
            "EPP commands by command, result code and registrar.",
        );
        for (command, by_code) in lock(&i.commands).iter() {
            for (code, by_registrar) in by_code {
                for (registrar, n) in by_registrar {
                    let _ = writeln!(
                        out,
                        "epp_commands_total{{command=\"{}\",result=\"{code}\",registrar=\"{}\"}} {n}",
                        escape(command),
                        escape(registrar)
                    );
                }
            }
        }

        header(
            &mut out,
            "epp_commands_replayed_total",
            "counter",
            "Resent transforms answered with their recorded response, not executed again.",
        );
        for (command, by_registrar) in lock(&i.replays).iter() {
            for (registrar, n) in by_registrar {
                let _ = writeln!(
                    out,
                    "epp_commands_replayed_total{{command=\"{}\",registrar=\"{}\"}} {n}",
                    escape(command),
                    escape(registrar)
                );
            }
        }

        header(
            &mut out,
            "epp_command_duration_seconds",
            "histogram",
            "Time from a complete command frame to its response, by command.",
        );
        for (command, h) in lock(&i.latency).iter() {
            let command = escape(command);
            for (bound, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "epp_command_duration_seconds_bucket{{command=\"{command}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "epp_command_duration_seconds_bucket{{command=\"{command}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "epp_command_duration_seconds_sum{{command=\"{command}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "epp_command_duration_seconds_count{{command=\"{command}\"}} {}",
                h.count
            );
        }

        let sessions = lock(&i.sessions);
        header(
            &mut out,
            "epp_sessions_active",
            "gauge",
            "Logged-in EPP sessions.",
        );
        let _ = writeln!(
            out,
            "epp_sessions_active {}",
            sessions.values().sum::<u64>()
        );
        header(
            &mut out,
            "epp_registrar_sessions_active",
            "gauge",
            "Logged-in EPP sessions by registrar.",
        );
        for (registrar, n) in sessions.iter() {
            let _ = writeln!(
                out,
                "epp_registrar_sessions_active{{registrar=\"{}\"}} {n}",
                escape(registrar)
            );
        }
        drop(sessions);

        header(
            &mut out,
            "epp_refusals_total",
            "counter",
            "Connections, logins and commands refused by a limit or policy, by reason.",
        );
        for (reason, n) in Refusal::ALL.iter().zip(&i.refusals) {
            let _ = writeln!(
                out,
                "epp_refusals_total{{reason=\"{}\"}} {}",
                reason.label(),
                load(n)
            );
        }

        header(
            &mut out,
            "epp_connections_total",
            "counter",
            "TCP connections accepted (including refused ones).",
        );
        let _ = writeln!(out, "epp_connections_total {}", load(&i.connections_total));
        header(
            &mut out,
            "epp_connections_active",
            "gauge",
            "Open connections past the connection limits.",
        );
        let _ = writeln!(
            out,
            "epp_connections_active {}",
            load(&i.connections_active)
        );
        header(
            &mut out,
            "epp_connections_closed_total",
            "counter",
            "Connections closed after the TLS handshake, by reason.",
        );
        for (reason, n) in CloseReason::ALL.iter().zip(&i.closes) {
            let _ = writeln!(
                out,
                "epp_connections_closed_total{{reason=\"{}\"}} {}",
                reason.label(),
                load(n)
            );
        }

        header(
            &mut out,
            "epp_tls_handshakes_total",
            "counter",
            "Completed TLS handshakes by protocol version.",
        );
        for (version, n) in ["1.2", "1.3"].iter().zip(&i.handshakes) {
            let _ = writeln!(
                out,
                "epp_tls_handshakes_total{{version=\"{version}\"}} {}",
                load(n)
            );
        }
        header(
            &mut out,
            "epp_tls_handshake_failures_total",
            "counter",
            "Failed TLS handshakes by cause.",
        );
        let _ = writeln!(
            out,
            "epp_tls_handshake_failures_total{{cause=\"error\"}} {}",
            load(&i.handshake_failures)
        );
        let _ = writeln!(
            out,
            "epp_tls_handshake_failures_total{{cause=\"timeout\"}} {}",
            load(&i.handshake_timeouts)
        );
        header(
            &mut out,
            "epp_tls_certificate_reloads_total",
            "counter",
            "Server certificate reloads by result.",
        );
        let _ = writeln!(
            out,
            "epp_tls_certificate_reloads_total{{result=\"ok\"}} {}",
            load(&i.cert_reloads_ok)
        );
        let _ = writeln!(
            out,
            "epp_tls_certificate_reloads_total{{result=\"failed\"}} {}",
            load(&i.cert_reloads_failed)
        );

        header(
            &mut out,
            "epp_notifications_delivered_total",
            "counter",
            "Outbox notifications delivered, by channel.",
        );
        for (channel, (ok, _)) in NOTIFY_CHANNELS.iter().zip(&i.notifications) {
            let _ = writeln!(
                out,
                "epp_notifications_delivered_total{{channel=\"{channel}\"}} {}",
                load(ok)
            );
        }
        header(
            &mut out,
            "epp_notifications_failed_total",
            "counter",
            "Failed delivery attempts of outbox notifications, by channel.",
        );
        for (channel, (_, failed)) in NOTIFY_CHANNELS.iter().zip(&i.notifications) {
            let _ = writeln!(
                out,
                "epp_notifications_failed_total{{channel=\"{channel}\"}} {}",
                load(failed)
            );
        }
        header(
            &mut out,
            "epp_scheduler_runs_total",
            "counter",
            "Runs of the registry's scheduled jobs, by job and result.",
        );
        for ((task, ok), n) in lock(&i.scheduler_runs).iter() {
            let result = if *ok { "ok" } else { "failed" };
            let _ = writeln!(
                out,
                "epp_scheduler_runs_total{{task=\"{}\",result=\"{result}\"}} {n}",
                escape(task)
            );
        }

        if let Some(store) = i.store.get() {
            let cache = store.check_cache_stats();
            for (name, kind, help, value) in [
                (
                    "epp_check_cache_enabled",
                    "gauge",
                    "1 when the check cache is configured ([database] check_cache).",
                    u64::from(cache.enabled),
                ),
                (
                    "epp_check_cache_in_use",
                    "gauge",
                    "1 while domain checks are answered from memory (this process the only writer of domains).",
                    u64::from(cache.in_use),
                ),
                (
                    "epp_check_cache_answered_total",
                    "counter",
                    "Domain names whose check was answered from memory.",
                    cache.answered,
                ),
                (
                    "epp_check_cache_loads_total",
                    "counter",
                    "Times every domain name was read into the check cache.",
                    cache.loads,
                ),
            ] {
                header(&mut out, name, kind, help);
                let _ = writeln!(out, "{name} {value}");
            }
        }

        header(
            &mut out,
            "epp_process_start_time_seconds",
            "gauge",
            "Start time of the server since the Unix epoch.",
        );
        let started = i.started.duration_since(UNIX_EPOCH).unwrap_or_default();
        let _ = writeln!(out, "epp_process_start_time_seconds {}", started.as_secs());
        header(
            &mut out,
            "epp_build_info",
            "gauge",
            "Always 1; labelled with the server version.",
        );
        let _ = writeln!(
            out,
            "epp_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

/// Appends each registrar's poll queue ([`Store::poll_queues`], read at the scrape):
/// its length, and when its oldest message was queued (`time() - ...` is its age).
///
/// [`Store::poll_queues`]: epp_session::store::Store::poll_queues
pub(crate) fn render_poll_queues(out: &mut String, queues: &[PollQueue]) {
    header(
        out,
        "epp_poll_queue_messages",
        "gauge",
        "Messages waiting in each registrar's poll queue.",
    );
    for q in queues {
        let _ = writeln!(
            out,
            "epp_poll_queue_messages{{registrar=\"{}\"}} {}",
            escape(q.registrar.as_str()),
            q.count
        );
    }
    header(
        out,
        "epp_poll_queue_oldest_timestamp_seconds",
        "gauge",
        "When the oldest message of each non-empty poll queue was queued (registry clock, Unix seconds).",
    );
    for q in queues {
        if let Some(oldest) = q.oldest {
            let _ = writeln!(
                out,
                "epp_poll_queue_oldest_timestamp_seconds{{registrar=\"{}\"}} {}",
                escape(q.registrar.as_str()),
                oldest.unix_micros().div_euclid(1_000_000)
            );
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Applies `f` to the value under `key`, inserted (default) first if missing: the key is
/// copied only then.
fn bump<V: Default>(map: &mut BTreeMap<String, V>, key: &str, f: impl FnOnce(&mut V)) {
    match map.get_mut(key) {
        Some(v) => f(v),
        None => f(map.entry(key.to_owned()).or_default()),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters stay meaningful after a panic elsewhere: every update is one step.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use epp_xml::ClientId;

    use super::*;

    #[test]
    fn commands_are_counted_by_command_result_and_registrar() {
        let m = Metrics::new();
        let mut ok = CommandOutcome::new("domain:create", 1000);
        ok.registrar = Some(ClientId::new("reg9094").unwrap());
        m.record_command(&ok, Duration::from_millis(3));
        m.record_command(&ok, Duration::from_millis(30));
        let mut refused = CommandOutcome::new("login", 2502);
        refused.refusal = Some(Refusal::SessionLimit);
        m.record_command(&refused, Duration::from_micros(100));
        let text = m.render();
        assert!(text.contains(
            "epp_commands_total{command=\"domain:create\",result=\"1000\",registrar=\"reg9094\"} 2\n"
        ));
        assert!(
            text.contains(
                "epp_commands_total{command=\"login\",result=\"2502\",registrar=\"\"} 1\n"
            )
        );
        assert!(text.contains("epp_refusals_total{reason=\"session_limit\"} 1\n"));
        assert!(text.contains(
            "epp_command_duration_seconds_bucket{command=\"domain:create\",le=\"0.005\"} 1\n"
        ));
        assert!(text.contains(
            "epp_command_duration_seconds_bucket{command=\"domain:create\",le=\"0.05\"} 2\n"
        ));
        assert!(text.contains("epp_command_duration_seconds_count{command=\"domain:create\"} 2\n"));
    }

    /// The check cache of a real SQLite file: configured, in use once the names are read,
    /// and counting the names it answers; off, it says so and counts nothing.
    #[tokio::test]
    async fn the_check_cache_is_reported_from_the_store() {
        use epp_session::store::Store as _;
        use epp_xml::DomainName;

        use crate::store::{self, SqliteConfig, StoreConfig};

        let m = Metrics::new();
        assert!(
            !m.render().contains("epp_check_cache"),
            "no store watched yet"
        );
        let dir = tempfile::tempdir().unwrap();
        let on = store::open(&StoreConfig::Sqlite(SqliteConfig::new(
            dir.path().join("on.sqlite"),
        )))
        .await
        .unwrap();
        m.watch_store(on.clone());
        let names = [
            DomainName::new("a.no").unwrap(),
            DomainName::new("b.no").unwrap(),
        ];
        assert_eq!(on.domains_exist(&names).await.unwrap(), vec![false, false]);
        let text = m.render();
        assert!(text.contains("epp_check_cache_enabled 1\n"), "{text}");
        assert!(text.contains("epp_check_cache_in_use 1\n"), "{text}");
        assert!(
            text.contains("epp_check_cache_answered_total 2\n"),
            "{text}"
        );
        assert!(text.contains("epp_check_cache_loads_total 1\n"), "{text}");
        assert!(text.contains("# TYPE epp_check_cache_answered_total counter\n"));

        let m = Metrics::new();
        let mut config = SqliteConfig::new(dir.path().join("off.sqlite"));
        config.check_cache = false;
        let off = store::open(&StoreConfig::Sqlite(config)).await.unwrap();
        m.watch_store(off.clone());
        off.domains_exist(&names).await.unwrap();
        let text = m.render();
        assert!(text.contains("epp_check_cache_enabled 0\n"), "{text}");
        assert!(text.contains("epp_check_cache_in_use 0\n"), "{text}");
        assert!(
            text.contains("epp_check_cache_answered_total 0\n"),
            "{text}"
        );
    }

    #[test]
    fn label_sets_are_counted_apart_and_listed_in_order() {
        let m = Metrics::new();
        let record = |command: &'static str, code: u16, registrar: Option<&str>, n: usize| {
            let mut o = CommandOutcome::new(command, code);
            o.registrar = registrar.map(|r| ClientId::new(r).unwrap());
            for _ in 0..n {
                m.record_command(&o, Duration::from_millis(1));
            }
        };
        record("domain:check", 1000, Some("regB"), 3);
        record("domain:check", 1000, Some("regA"), 1);
        record("domain:check", 2306, Some("regA"), 2);
        record("contact:info", 1000, Some("regB"), 1);
        record("login", 2200, None, 4);
        let text = m.render();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("epp_commands_total{"))
            .collect::<Vec<_>>();
        assert_eq!(
            lines,
            [
                "epp_commands_total{command=\"contact:info\",result=\"1000\",registrar=\"regB\"} 1",
                "epp_commands_total{command=\"domain:check\",result=\"1000\",registrar=\"regA\"} 1",
                "epp_commands_total{command=\"domain:check\",result=\"1000\",registrar=\"regB\"} 3",
                "epp_commands_total{command=\"domain:check\",result=\"2306\",registrar=\"regA\"} 2",
                "epp_commands_total{command=\"login\",result=\"2200\",registrar=\"\"} 4",
            ]
        );
    }

    #[test]
    fn replayed_answers_are_counted_apart_from_executed_commands() {
        let m = Metrics::new();
        let mut replay = CommandOutcome::new("domain:renew", 1000);
        replay.registrar = Some(ClientId::new("reg9094").unwrap());
        replay.replayed = true;
        m.record_command(&replay, Duration::from_millis(1));
        let text = m.render();
        assert!(text.contains(
            "epp_commands_replayed_total{command=\"domain:renew\",registrar=\"reg9094\"} 1\n"
        ));
        assert!(!text.contains("epp_commands_total{command=\"domain:renew\""));
        assert!(!text.contains("epp_command_duration_seconds_count{command=\"domain:renew\"}"));
    }

    #[test]
    fn every_sample_line_is_well_formed() {
        let m = Metrics::new();
        m.record_command(&CommandOutcome::new("we\"ird\\\n", 2001), Duration::ZERO);
        m.connection_opened();
        m.connection_closed(Some(CloseReason::IdleTimeout));
        for line in m.render().lines() {
            if line.starts_with('#') {
                assert!(
                    line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                    "{line}"
                );
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(!series.is_empty() && !series.contains('\n'));
        }
        assert!(m.render().contains("command=\"we\\\"ird\\\\\\n\""));
        assert!(
            m.render()
                .contains("epp_connections_closed_total{reason=\"idle_timeout\"} 1\n")
        );
    }
}
