//! CPU time of the processes taking part in a measurement (the server, this client, the
//! echo server, PostgreSQL), read from `/proc`, so that a report says per operation where
//! the machine's CPU went: on a machine whose CPUs client, server and database share, that
//! is what bounds a rate (docs/BENCHMARKS.md).

use std::ops::{AddAssign, Sub};

use serde_json::{Value, json};

use crate::stats::round;

/// Clock ticks per second of `/proc/<pid>/stat`'s `utime` and `stime`: `USER_HZ`, 100 on
/// every Linux architecture the kernel's user ABI fixes it for.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds (user and system, all threads) of each side of a measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CpuTimes {
    /// The EPP server.
    pub(crate) server: f64,
    /// This process: the load generator's sessions and, in the raw create baseline, the
    /// store it commits on.
    pub(crate) client: f64,
    /// The bare TLS echo server.
    pub(crate) echo: f64,
    /// Every process named `postgres` (backends, writers, checkpointer).
    pub(crate) postgres: f64,
}

impl AddAssign for CpuTimes {
    fn add_assign(&mut self, o: Self) {
        self.server += o.server;
        self.client += o.client;
        self.echo += o.echo;
        self.postgres += o.postgres;
    }
}

impl Sub for CpuTimes {
    type Output = Self;

    fn sub(self, o: Self) -> Self {
        Self {
            server: self.server - o.server,
            client: self.client - o.client,
            echo: self.echo - o.echo,
            postgres: self.postgres - o.postgres,
        }
    }
}

impl CpuTimes {
    /// Microseconds per operation of each side that took part over `seconds`, and their
    /// total. A side that used less than 1 % of one CPU (the server while a baseline runs,
    /// say) was idle and is left out.
    pub(crate) fn per_op_json(&self, ops: u64, seconds: f64) -> Value {
        let per = |s: f64| round(s * 1e6 / ops.max(1) as f64, 1);
        let mut out = serde_json::Map::new();
        let mut total = 0.0;
        for (name, s) in [
            ("server", self.server),
            ("client", self.client),
            ("echo_server", self.echo),
            ("postgres", self.postgres),
        ] {
            if s > 0.0 && s >= 0.01 * seconds {
                out.insert(name.into(), json!(per(s)));
                total += s;
            }
        }
        out.insert("total".into(), json!(per(total)));
        Value::Object(out)
    }
}

/// The processes to count.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Meter {
    pub(crate) server: Option<u32>,
    pub(crate) echo: Option<u32>,
    /// Whether PostgreSQL's processes take part (the PostgreSQL backend).
    pub(crate) postgres: bool,
}

impl Meter {
    /// The CPU time each side has used so far. A process that cannot be read counts 0.
    pub(crate) fn now(&self) -> CpuTimes {
        // `process` is a pid or `self`.
        let of = |process: &dyn std::fmt::Display| {
            std::fs::read_to_string(format!("/proc/{process}/stat"))
                .ok()
                .and_then(|s| stat_seconds(&s))
                .unwrap_or(0.0)
        };
        CpuTimes {
            server: self.server.map_or(0.0, |p| of(&p)),
            client: of(&"self"),
            echo: self.echo.map_or(0.0, |p| of(&p)),
            postgres: if self.postgres {
                named_seconds("postgres")
            } else {
                0.0
            },
        }
    }
}

/// `utime + stime` of a `/proc/<pid>/stat` line, in seconds. The command name (field 2)
/// is in parentheses and may itself hold spaces and parentheses, so fields are counted
/// from the last `)`.
pub(crate) fn stat_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state (3), ppid, pgrp, session, tty_nr, tpgid, flags, minflt,
    // cminflt, majflt, cmajflt, then utime (14) and stime (15).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// The CPU seconds of every process whose command name is `name`.
fn named_seconds(name: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|s| {
            let comm = s.find('(').zip(s.rfind(')'));
            comm.is_some_and(|(a, b)| a < b && &s[a + 1..b] == name)
        })
        .filter_map(|s| stat_seconds(&s))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 \
                    123 456 789";
        assert_eq!(stat_seconds(line), Some(3.25));
        assert_eq!(stat_seconds("4242 (x) S 1 2"), None);
        assert_eq!(stat_seconds("no name"), None);
    }

    #[test]
    fn this_process_is_counted() {
        let meter = Meter::default();
        let before = meter.now();
        // Burn a little CPU so the counter moves by at least one tick.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_millis() < 60 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let used = meter.now() - before;
        assert!(used.client > 0.0, "{used:?}");
        assert_eq!((used.server, used.echo, used.postgres), (0.0, 0.0, 0.0));
    }

    #[test]
    fn per_op_leaves_out_idle_sides() {
        let t = CpuTimes {
            server: 2.0,
            client: 1.0,
            echo: 0.01,
            postgres: 0.5,
        };
        let v = t.per_op_json(100_000, 2.0);
        assert_eq!(
            v,
            json!({"server": 20.0, "client": 10.0, "postgres": 5.0, "total": 35.0})
        );
    }
}
