//! Counting, percentiles and the report (text and JSON).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cpu::CpuTimes;
use crate::{Backend, Settings};

/// What one task saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    /// Responses per result code.
    pub(crate) codes: BTreeMap<u16, u64>,
    /// Failures below EPP (connect, TLS, closed connection), by message.
    pub(crate) failures: BTreeMap<String, u64>,
    /// Latency of every answered operation, in seconds.
    pub(crate) latencies: Vec<f64>,
    /// The first response seen with each error code (>= 2000).
    pub(crate) samples: BTreeMap<u16, String>,
}

impl Stats {
    pub(crate) fn record(&mut self, code: u16, seconds: f64) {
        *self.codes.entry(code).or_default() += 1;
        self.latencies.push(seconds);
    }

    /// Keeps the first response of each error code, to show what went wrong.
    pub(crate) fn sample(&mut self, code: u16, reply: &[u8]) {
        if code >= 2000 && !self.samples.contains_key(&code) {
            self.samples
                .insert(code, String::from_utf8_lossy(reply).into_owned());
        }
    }

    pub(crate) fn fail(&mut self, what: String) {
        *self.failures.entry(what).or_default() += 1;
    }

    pub(crate) fn merge(&mut self, other: Stats) {
        for (k, v) in other.codes {
            *self.codes.entry(k).or_default() += v;
        }
        for (k, v) in other.failures {
            *self.failures.entry(k).or_default() += v;
        }
        self.latencies.extend(other.latencies);
        for (k, v) in other.samples {
            self.samples.entry(k).or_insert(v);
        }
    }

    /// Answered operations per second over `elapsed`.
    pub(crate) fn rate(&self, elapsed: Duration) -> f64 {
        self.latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn summary(mut self, elapsed: Duration) -> Summary {
        self.latencies.sort_by(f64::total_cmp);
        let rate = self.rate(elapsed);
        Summary {
            ops: self.latencies.len() as u64,
            seconds: elapsed.as_secs_f64().max(1e-9),
            rate,
            p50_ms: percentile(&self.latencies, 0.50) * 1e3,
            p90_ms: percentile(&self.latencies, 0.90) * 1e3,
            p99_ms: percentile(&self.latencies, 0.99) * 1e3,
            max_ms: self.latencies.last().copied().unwrap_or(0.0) * 1e3,
            errors: self
                .codes
                .iter()
                .filter(|(c, _)| **c >= 2000 || **c == 0)
                .map(|(c, n)| (c.to_string(), *n))
                .chain(self.failures.iter().map(|(k, n)| (k.clone(), *n)))
                .collect(),
            codes: self.codes,
            samples: self.samples,
        }
    }
}

/// The value below which `q` of the sorted `values` lie (nearest rank).
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A scenario's figures.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub(crate) ops: u64,
    pub(crate) seconds: f64,
    pub(crate) rate: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) codes: BTreeMap<u16, u64>,
    /// Result codes >= 2000 (and 0: no result code) and transport failures.
    pub(crate) errors: BTreeMap<String, u64>,
    /// The first response of each error code.
    pub(crate) samples: BTreeMap<u16, String>,
}

impl Summary {
    fn to_json(&self) -> Value {
        json!({
            "ops": self.ops,
            "seconds": round(self.seconds, 3),
            "ops_per_sec": round(self.rate, 1),
            "latency_ms": {
                "p50": round(self.p50_ms, 3),
                "p90": round(self.p90_ms, 3),
                "p99": round(self.p99_ms, 3),
                "max": round(self.max_ms, 3),
            },
            "result_codes": self.codes.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "errors": self.errors,
            "error_samples": self.samples.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

pub(crate) fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// One scenario's outcome.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) name: String,
    pub(crate) summary: Summary,
    /// The server's resident set after the scenario, KiB (0 for baselines without it).
    pub(crate) server_rss_kib: u64,
    /// Scenario-specific figures.
    pub(crate) extra: Value,
    /// The CPU time each side used while the scenario ran (timed scenarios and their
    /// baselines).
    pub(crate) cpu: Option<CpuTimes>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub(crate) outcomes: Vec<Outcome>,
    pub(crate) server_rss_start_kib: u64,
    pub(crate) server_rss_peak_kib: u64,
    pub(crate) server_log_problems: Vec<String>,
    /// The server's check-cache lines (turned on or off, names read again and how long
    /// commits waited for it), for a slow commit in the report.
    pub(crate) server_log_cache: Vec<String>,
}

/// A ratio or limit against its target.
struct Check {
    name: &'static str,
    value: f64,
    target: &'static str,
    met: bool,
    /// A ratio's value in each round the scenario and its baseline alternated in.
    rounds: Vec<f64>,
}

/// The per-round ratios a baseline's outcome carries.
fn round_ratios(baseline: &Outcome) -> Vec<f64> {
    baseline.extra["round_ratios"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

impl Report {
    fn find(&self, name: &str) -> Option<&Outcome> {
        self.outcomes.iter().find(|o| o.name == name)
    }

    fn checks(&self) -> Vec<Check> {
        let mut out = Vec::new();
        if let (Some(c), Some(e)) = (self.find("check"), self.find("echo")) {
            let v = c.summary.rate / e.summary.rate.max(1e-9);
            out.push(Check {
                name: "check / bare TLS echo (ops/s)",
                value: v,
                target: ">= 0.5",
                met: v >= 0.5,
                rounds: round_ratios(e),
            });
        }
        if let (Some(c), Some(r)) = (self.find("create"), self.find("rawcreate")) {
            let v = c.summary.rate / r.summary.rate.max(1e-9);
            out.push(Check {
                name: "create / raw create transaction (ops/s)",
                value: v,
                target: ">= 0.7",
                met: v >= 0.7,
                rounds: round_ratios(r),
            });
        }
        if let Some(i) = self.find("idle") {
            let kib = i.extra["kib_per_session"].as_f64().unwrap_or(f64::NAN);
            out.push(Check {
                name: "idle session memory (KiB)",
                value: kib,
                target: "<= 32",
                met: kib <= 32.0,
                rounds: Vec::new(),
            });
            let secs = i.extra["accept_seconds"].as_f64().unwrap_or(f64::NAN);
            let opened = i.extra["opened"].as_u64().unwrap_or(0);
            let wanted = i.extra["wanted"].as_u64().unwrap_or(1);
            out.push(Check {
                name: "time to accept the idle sessions (s)",
                value: secs,
                target: "<= 10 (for 10k)",
                met: secs <= 10.0 && opened == wanted,
                rounds: Vec::new(),
            });
        }
        if let Some(d) = self.find("dropcatch") {
            let p99 = d.extra["losers"]["p99_ms"].as_f64().unwrap_or(f64::NAN);
            let one = d.extra["every_name_one_winner"].as_bool().unwrap_or(false);
            out.push(Check {
                name: "drop-catch losers' p99 (ms), one winner per name",
                value: p99,
                target: "<= 50, exactly one",
                met: p99 <= 50.0 && one,
                rounds: Vec::new(),
            });
        }
        out
    }

    pub(crate) fn to_json(&self, settings: &Settings, backend: Backend) -> Value {
        json!({
            "backend": backend.name(),
            "sessions": settings.sessions,
            "registrars": settings.registrars,
            "duration_seconds": settings.duration.as_secs_f64(),
            "machine": machine(),
            "server_rss_kib": { "start": self.server_rss_start_kib, "peak": self.server_rss_peak_kib },
            "scenarios": self.outcomes.iter().map(|o| {
                let mut v = o.summary.to_json();
                v["server_rss_kib"] = json!(o.server_rss_kib);
                if let Some(cpu) = &o.cpu {
                    v["cpu_us_per_op"] = cpu.per_op_json(o.summary.ops, o.summary.seconds);
                }
                v["extra"] = o.extra.clone();
                (o.name.clone(), v)
            }).collect::<serde_json::Map<_, _>>(),
            "targets": self.checks().iter().map(|c| json!({
                "name": c.name, "value": round(c.value, 3), "target": c.target, "met": c.met,
                "rounds": c.rounds,
            })).collect::<Vec<_>>(),
            "server_log_problems": self.server_log_problems,
            "server_log_cache": self.server_log_cache,
        })
    }

    pub(crate) fn to_text(&self, settings: &Settings, backend: Backend) -> String {
        let mut s = String::new();
        let m = machine();
        let _ = writeln!(
            s,
            "epp-load: backend {}, {} sessions, {} registrars, {:.1} s per scenario; {} CPUs ({}), load average {}",
            backend.name(),
            settings.sessions,
            settings.registrars,
            settings.duration.as_secs_f64(),
            m["cpus"],
            m["cpu_model"].as_str().unwrap_or("?"),
            m["load_average"].as_str().unwrap_or("?"),
        );
        let _ = writeln!(
            s,
            "{:<18} {:>9} {:>11} {:>8} {:>8} {:>8} {:>9} {:>10}  errors",
            "scenario", "ops", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "srv RSS MiB"
        );
        for o in &self.outcomes {
            let x = &o.summary;
            let errors = if x.errors.is_empty() {
                "-".to_owned()
            } else {
                x.errors
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let rss = if o.server_rss_kib > 0 {
                format!("{:.1}", o.server_rss_kib as f64 / 1024.0)
            } else {
                "-".into()
            };
            let _ = writeln!(
                s,
                "{:<18} {:>9} {:>11.1} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>10}  {errors}",
                o.name, x.ops, x.rate, x.p50_ms, x.p90_ms, x.p99_ms, x.max_ms, rss
            );
            if let Some(cpu) = &o.cpu {
                let per_op = cpu.per_op_json(o.summary.ops, o.summary.seconds);
                let sides = per_op
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let _ = writeln!(s, "{:<18} CPU µs per op: {sides}", "");
            }
            if !o.extra.is_null() {
                let _ = writeln!(s, "{:<18} {}", "", o.extra);
            }
            for (code, text) in &x.samples {
                let _ = writeln!(s, "{:<18} first {code}: {}", "", text.replace('\n', ""));
            }
        }
        let _ = writeln!(
            s,
            "server RSS: {:.1} MiB at start, {:.1} MiB peak",
            self.server_rss_start_kib as f64 / 1024.0,
            self.server_rss_peak_kib as f64 / 1024.0
        );
        let checks = self.checks();
        if !checks.is_empty() {
            let _ = writeln!(s, "targets:");
            for c in checks {
                let _ = write!(
                    s,
                    "  {:<50} {:>10.3}  target {:<18} {}",
                    c.name,
                    c.value,
                    c.target,
                    if c.met { "met" } else { "MISSED" }
                );
                if let (Some(lo), Some(hi)) = (
                    c.rounds.iter().copied().reduce(f64::min),
                    c.rounds.iter().copied().reduce(f64::max),
                ) {
                    let _ = write!(s, "  ({} rounds: {lo:.3}-{hi:.3})", c.rounds.len());
                }
                let _ = writeln!(s);
            }
        }
        for p in &self.server_log_problems {
            let _ = writeln!(s, "server log: {p}");
        }
        for p in &self.server_log_cache {
            let _ = writeln!(s, "server log: {p}");
        }
        s
    }
}

/// CPUs, CPU model, memory and load average of this machine.
pub(crate) fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "mem_gib": round(mem as f64 / 1024.0 / 1024.0, 1),
        "load_average": load,
    })
}
