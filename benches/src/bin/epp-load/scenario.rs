//! The scenarios and baselines.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use epp_server::store::AnyStore;
use epp_session::store::model::Domain;
use epp_session::store::{Change, ChangeMeta, ChangeSet, Store};
use epp_xml::{ClTrid, ClientId, SvTrid, Timestamp};
use serde_json::{Value, json};
use tokio::sync::{Barrier, Semaphore};

use crate::anyhow_lite::{Context, Result};
use crate::client::{Conn, Target, connector};
use crate::cpu::{CpuTimes, Meter};
use crate::echo::EchoProcess;
use crate::fixtures::{self, RENEW_POOL, registrar_of};
use crate::server::{Db, Server};
use crate::stats::{Outcome, Report, Stats, percentile, round};
use crate::{Scenario, Settings};

/// One logged-in client session and what the mix needs to remember about it.
struct Sess {
    conn: Conn,
    index: usize,
    reg: usize,
    trid: u64,
    rng: u64,
    renewed: usize,
    upd_has_ns3: bool,
}

impl Sess {
    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// What a timed session does each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Check,
    Info,
    Mix,
    Create,
}

/// Opens `n` sessions to `target`, logging each in as its registrar.
async fn open_sessions(target: &Target, settings: &Settings, n: usize) -> Result<Vec<Sess>> {
    let mut tasks = Vec::new();
    // Logins hash passwords (argon2): open a few at a time.
    let gate = Arc::new(Semaphore::new(8));
    for index in 0..n {
        let target = target.clone();
        let gate = Arc::clone(&gate);
        let reg = registrar_of(index, settings.registrars);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            let mut conn = Conn::open(&target).await?;
            let (code, reply, _) = conn
                .call(crate::docs::login(
                    &fixtures::registrar_id(reg),
                    &fixtures::password(reg),
                ))
                .await?;
            if code != 1000 {
                return Err(format!(
                    "login of session {index} answered {code}: {}",
                    String::from_utf8_lossy(&reply)
                ));
            }
            Ok(Sess {
                conn,
                index,
                reg,
                // clTRIDs are unique per registrar (a repeated one is a resend).
                trid: index as u64 * 1_000_000_000,
                rng: 0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1),
                renewed: 0,
                upd_has_ns3: false,
            })
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.context("session task")??);
    }
    Ok(out)
}

/// Prints `name: <seconds> s, <ops> ops, <rate>/s` on standard error once a second until
/// `done`.
fn progress(name: String, ops: Arc<AtomicU64>, done: Arc<AtomicBool>, show: bool) {
    if !show {
        return;
    }
    tokio::spawn(async move {
        let start = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if done.load(Ordering::Relaxed) {
                break;
            }
            let n = ops.load(Ordering::Relaxed);
            let t = start.elapsed().as_secs_f64();
            eprint!(
                "\r{name}: {t:5.1} s, {n:>9} ops, {:>9.0}/s   ",
                n as f64 / t
            );
        }
        eprintln!();
    });
}

fn document(op: Op, s: &mut Sess, settings: &Settings, renew_date: &str) -> Bytes {
    s.trid += 1;
    let trid = s.trid;
    let op = match op {
        Op::Mix => match s.next_rand() % 100 {
            0..40 => Op::Check,
            40..70 => Op::Info,
            70..80 => Op::Create,
            80..90 => {
                s.upd_has_ns3 = !s.upd_has_ns3;
                return crate::docs::update(
                    &format!("upd-{}.no", s.index),
                    s.reg,
                    s.upd_has_ns3,
                    trid,
                );
            }
            90..95 if s.renewed < RENEW_POOL => {
                s.renewed += 1;
                return crate::docs::renew(
                    &format!("rn-{}-{}.no", s.index, s.renewed - 1),
                    renew_date,
                    trid,
                );
            }
            90..95 => Op::Check,
            _ => return crate::docs::poll(trid),
        },
        op => op,
    };
    match op {
        Op::Check => crate::docs::check(&format!("storm-{}.no", trid % 1000), trid),
        Op::Info => crate::docs::info(&format!("info-{}.no", s.reg), trid),
        _ => crate::docs::create(
            &format!("c-{}-{}-{trid}.oslo.no", settings.run_id, s.index),
            s.reg,
            &fixtures::holder(s.reg, trid),
            &format!("CRE-{}-{}-{trid}", settings.run_id, s.index),
        ),
    }
}

/// Runs `op` on every session until the duration (or count) is up.
async fn timed(
    name: &str,
    sessions: Vec<Sess>,
    settings: &Settings,
    op: Op,
) -> (Vec<Sess>, Stats, Duration) {
    let ops = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    progress(
        name.to_owned(),
        Arc::clone(&ops),
        Arc::clone(&done),
        settings.progress,
    );
    let start = Instant::now();
    let deadline = start + settings.duration;
    let (renew_date, _) = fixtures::renew_expiry();
    let mut tasks = Vec::new();
    for mut s in sessions {
        let ops = Arc::clone(&ops);
        let settings = settings.clone();
        let renew_date = renew_date.clone();
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut n = 0u64;
            while Instant::now() < deadline && settings.count.is_none_or(|c| n < c) {
                let doc = document(op, &mut s, &settings, &renew_date);
                match s.conn.call(doc).await {
                    Ok((code, reply, t)) => {
                        stats.record(code, t);
                        stats.sample(code, &reply);
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        stats.fail(e);
                        return (None, stats);
                    }
                }
                n += 1;
            }
            (Some(s), stats)
        }));
    }
    let mut alive = Vec::new();
    let mut stats = Stats::default();
    for t in tasks {
        if let Ok((s, st)) = t.await {
            alive.extend(s);
            stats.merge(st);
        }
    }
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    (alive, stats, elapsed)
}

/// Drop-catch: for each name, every session waits at a barrier and then sends the create
/// of that same name.
async fn dropcatch(
    sessions: Vec<Sess>,
    settings: &Settings,
) -> (Vec<Sess>, Stats, Duration, Value) {
    let mut sessions = sessions;
    let mut all = Stats::default();
    let mut winner_lat = Vec::new();
    let mut loser_lat = Vec::new();
    let mut loser_codes = std::collections::BTreeMap::<String, u64>::new();
    let mut wins = std::collections::BTreeMap::<String, u64>::new();
    let mut lat_by_reg = std::collections::BTreeMap::<String, Vec<f64>>::new();
    let mut winners_per_name = Vec::new();
    let start = Instant::now();
    for round in 0..settings.dropcatch_names {
        let name = format!("drop-{}-{round}.oslo.no", settings.run_id);
        // The last task to reach the barrier sends first (it needs no wake-up): a new
        // random order each round keeps that from favouring one session or registrar.
        let mut seed =
            0x2545_F491_4F6C_DD1D ^ (round as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for i in (1..sessions.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            sessions.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let barrier = Arc::new(Barrier::new(sessions.len()));
        let mut tasks = Vec::new();
        for mut s in sessions.drain(..) {
            let barrier = Arc::clone(&barrier);
            let doc = crate::docs::create(
                &name,
                s.reg,
                &fixtures::holder(s.reg, round as u64),
                &format!("DROP-{}-{round}-{}", settings.run_id, s.index),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let r = s.conn.call(doc).await;
                (s, r)
            }));
        }
        let mut winners = 0;
        for t in tasks {
            let Ok((s, r)) = t.await else { continue };
            let reg = fixtures::registrar_id(s.reg);
            match r {
                Ok((code, reply, t)) => {
                    all.record(code, t);
                    if code != 2302 {
                        all.sample(code, &reply);
                    }
                    lat_by_reg.entry(reg.clone()).or_default().push(t);
                    if code == 1000 {
                        winners += 1;
                        winner_lat.push(t);
                        *wins.entry(reg).or_default() += 1;
                    } else {
                        loser_lat.push(t);
                        *loser_codes.entry(code.to_string()).or_default() += 1;
                    }
                    sessions.push(s);
                }
                Err(e) => all.fail(e),
            }
        }
        winners_per_name.push(winners);
        if sessions.is_empty() {
            break;
        }
    }
    let elapsed = start.elapsed();
    loser_lat.sort_by(f64::total_cmp);
    winner_lat.sort_by(f64::total_cmp);
    let ms = |v: &[f64], q: f64| (percentile(v, q) * 1e6).round() / 1e3;
    let by_reg: serde_json::Map<String, Value> = lat_by_reg
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
            (
                k.clone(),
                json!({
                    "wins": wins.get(&k).copied().unwrap_or(0),
                    "mean_ms": (mean * 1e6).round() / 1e3,
                    "p99_ms": ms(&v, 0.99),
                }),
            )
        })
        .collect();
    let extra = json!({
        "names": winners_per_name.len(),
        "racers_per_name": settings.sessions,
        "every_name_one_winner": winners_per_name.iter().all(|w| *w == 1),
        "winners_per_name": winners_per_name,
        "losers": {
            "count": loser_lat.len(),
            "codes": loser_codes,
            "p50_ms": ms(&loser_lat, 0.5),
            "p99_ms": ms(&loser_lat, 0.99),
            "max_ms": ms(&loser_lat, 1.0),
        },
        "winners": { "p50_ms": ms(&winner_lat, 0.5), "max_ms": ms(&winner_lat, 1.0) },
        "by_registrar": by_reg,
    });
    (sessions, all, elapsed, extra)
}

/// Connection storm: `tasks` loops of connect, TLS handshake, greeting, close_notify.
async fn connstorm(target: &Target, settings: &Settings, name: &str) -> (Stats, Duration) {
    let ops = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    progress(
        name.to_owned(),
        Arc::clone(&ops),
        Arc::clone(&done),
        settings.progress,
    );
    let start = Instant::now();
    let deadline = start + settings.duration;
    let mut tasks = Vec::new();
    for _ in 0..settings.sessions {
        let target = target.clone();
        let ops = Arc::clone(&ops);
        let count = settings.count;
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut n = 0;
            while Instant::now() < deadline && count.is_none_or(|c| n < c) {
                let t = Instant::now();
                match Conn::open(&target).await {
                    Ok(conn) => {
                        stats.record(1000, t.elapsed().as_secs_f64());
                        conn.close().await;
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        stats.fail(e);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                n += 1;
            }
            stats
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        if let Ok(s) = t.await {
            stats.merge(s);
        }
    }
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    (stats, elapsed)
}

/// The soft limit on open files of this process.
fn open_file_limit() -> Option<usize> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// Idle sessions: opens `settings.idle_sessions` connections (TLS + greeting, 256 at a
/// time), measures the server's resident memory before and after, closes them.
async fn idle(target: &Target, settings: &Settings, server: &Server) -> (Stats, Duration, Value) {
    let mut wanted = settings.idle_sessions;
    let mut note = Value::Null;
    if let Some(limit) = open_file_limit()
        && limit < wanted + 200
    {
        note = json!(format!(
            "open file limit {limit}: raise it (ulimit -n) for {wanted} sessions"
        ));
        wanted = limit.saturating_sub(200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib();
    let ops = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    progress(
        "idle".into(),
        Arc::clone(&ops),
        Arc::clone(&done),
        settings.progress,
    );
    let gate = Arc::new(Semaphore::new(256));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(wanted);
    for _ in 0..wanted {
        let target = target.clone();
        let gate = Arc::clone(&gate);
        let ops = Arc::clone(&ops);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            let t = Instant::now();
            let r = Conn::open(&target).await;
            ops.fetch_add(1, Ordering::Relaxed);
            (r, t.elapsed().as_secs_f64())
        }));
    }
    let mut conns = Vec::with_capacity(wanted);
    let mut stats = Stats::default();
    for t in tasks {
        if let Ok((r, secs)) = t.await {
            match r {
                Ok(c) => {
                    stats.record(1000, secs);
                    conns.push(c);
                }
                Err(e) => stats.fail(e),
            }
        }
    }
    let accept = start.elapsed();
    done.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_kib();
    let opened = conns.len();
    let per = (after.saturating_sub(before)) as f64 / opened.max(1) as f64;
    futures_util::future::join_all(conns.into_iter().map(Conn::close)).await;
    let extra = json!({
        "wanted": wanted,
        "opened": opened,
        "accept_seconds": (accept.as_secs_f64() * 1000.0).round() / 1000.0,
        "server_rss_before_kib": before,
        "server_rss_after_kib": after,
        "kib_per_session": (per * 100.0).round() / 100.0,
        "note": note,
        "what": "TLS handshake + greeting per session; sessions not logged in",
    });
    (stats, accept, extra)
}

/// The next raw create's ROID number.
static RAW_ROID: AtomicU64 = AtomicU64::new(100_000_000_000);

/// The create transaction straight on the store (the change set the server commits for
/// a domain create: the domain, its history row and the command's replay record),
/// `settings.sessions` in flight.
async fn raw_create(store: &AnyStore, settings: &Settings) -> (Stats, Duration) {
    let ops = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    progress(
        "rawcreate".into(),
        Arc::clone(&ops),
        Arc::clone(&done),
        settings.progress,
    );
    let start = Instant::now();
    let deadline = start + settings.duration;
    let year = Timestamp::from_unix_micros(fixtures::now().unix_micros() + 365 * 86_400_000_000);
    let mut tasks = Vec::new();
    for t in 0..settings.sessions {
        let store = store.clone();
        let ops = Arc::clone(&ops);
        let settings = settings.clone();
        tasks.push(tokio::spawn(async move {
            let reg = registrar_of(t, settings.registrars);
            let mut stats = Stats::default();
            let mut k = 0u64;
            while Instant::now() < deadline && settings.count.is_none_or(|c| k < c) {
                k += 1;
                let name = format!("raw-{}-{t}-{k}.oslo.no", settings.run_id);
                // Unique across the rounds of a run (each round's names are its own).
                let roid = RAW_ROID.fetch_add(1, Ordering::Relaxed);
                let json = fixtures::domain_json(&name, roid, reg, &fixtures::holder(reg, k), year);
                let cl_trid = format!("RAW-{}-{t}-{k}", settings.run_id);
                let sv_trid = format!("{}-RAWSV-{t}-{k}-NORID", fixtures::now().unix_micros());
                let replay = fixtures::create_replay(&name, roid, &cl_trid, &sv_trid, year);
                let set = Domain::from_json(&json, 0)
                    .map_err(|e| e.to_string())
                    .and_then(|d| {
                        Ok(ChangeSet::new(ChangeMeta {
                            registrar: Some(
                                ClientId::new(fixtures::registrar_id(reg))
                                    .map_err(|e| e.to_string())?,
                            ),
                            time: fixtures::now(),
                            cl_trid: Some(ClTrid::new(cl_trid).map_err(|e| e.to_string())?),
                            sv_trid: Some(SvTrid::new(sv_trid).map_err(|e| e.to_string())?),
                            command: "domain:create".into(),
                        })
                        .with(Change::CreateDomain(d))
                        .with(Change::RecordReplay {
                            response: replay,
                            replaces_before: fixtures::now(),
                        }))
                    });
                let set = match set {
                    Ok(s) => s,
                    Err(e) => {
                        stats.fail(e);
                        break;
                    }
                };
                let t0 = Instant::now();
                match store.commit(set).await {
                    Ok(_) => {
                        stats.record(1000, t0.elapsed().as_secs_f64());
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => stats.fail(format!("store: {e}")),
                }
            }
            stats
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        if let Ok(s) = t.await {
            stats.merge(s);
        }
    }
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    (stats, elapsed)
}

fn outcome(name: &str, stats: Stats, elapsed: Duration, rss: u64, extra: Value) -> Outcome {
    Outcome {
        name: name.to_owned(),
        summary: stats.summary(elapsed),
        server_rss_kib: rss,
        extra,
        cpu: None,
    }
}

/// Loads the fixtures, starts the server, runs `scenarios` in order, then the baselines.
pub(crate) async fn run_all(
    settings: &Settings,
    scenarios: &[Scenario],
    server_bin: &Path,
    data_dir: &Path,
    db: &Db,
    log_level: &str,
) -> Result<Report> {
    let store = epp_server::store::open(&db.store_config())
        .await
        .context("opening the store")?;
    fixtures::load(&store, settings)
        .await
        .context("loading the fixtures")?;
    let server = Server::start(server_bin, data_dir, db, log_level)?;
    let mut report = Report {
        server_rss_start_kib: server.rss_kib(),
        ..Report::default()
    };
    let target = Target {
        addr: server.addr,
        tls: connector(&server.ca, false)?,
    };
    let uses_sessions = scenarios.iter().any(|s| {
        matches!(
            s,
            Scenario::Check
                | Scenario::Info
                | Scenario::Mix
                | Scenario::Create
                | Scenario::Dropcatch
                | Scenario::Echo
        )
    });
    let mut sessions = if uses_sessions {
        open_sessions(&target, settings, settings.sessions).await?
    } else {
        Vec::new()
    };
    // The server's answer to a check, the echo baseline's payload.
    let mut check_reply = Bytes::new();
    if let Some(s) = sessions.first_mut() {
        let (code, reply, _) = s.conn.call(crate::docs::check("storm-0.no", 0)).await?;
        if code != 1000 {
            return Err(format!(
                "a check answered {code}: {}",
                String::from_utf8_lossy(&reply)
            ));
        }
        check_reply = reply;
    }

    // Each baseline alternates with the scenario it is the ceiling of (echo with check,
    // the raw create with create) in `settings.rounds` rounds, the other side idle
    // meanwhile, so that the two figures of a ratio are measured over the same stretch of
    // time: on a shared machine the rates drift by tens of percent within a minute.
    let baselines = Baselines {
        ca: server.ca.clone(),
        cert: server.cert_chain.clone(),
        key: server.private_key.clone(),
        data_dir: data_dir.to_owned(),
    };
    for scenario in scenarios {
        let op = match scenario {
            Scenario::Check => Some((Op::Check, "check")),
            Scenario::Info => Some((Op::Info, "info")),
            Scenario::Mix => Some((Op::Mix, "mix")),
            Scenario::Create => Some((Op::Create, "create")),
            _ => None,
        };
        if let Some((op, name)) = op {
            let mut baseline = match scenario {
                Scenario::Check if scenarios.contains(&Scenario::Echo) => Some(Baseline::Echo(
                    baselines.start_echo(settings, &check_reply).await?,
                )),
                Scenario::Create if scenarios.contains(&Scenario::Rawcreate) => {
                    Some(Baseline::RawCreate)
                }
                _ => None,
            };
            let rounds = if baseline.is_some() {
                settings.rounds
            } else {
                1
            };
            let meter = Meter {
                server: Some(server.pid()),
                echo: match &baseline {
                    Some(Baseline::Echo(echo)) => Some(echo.process.pid()),
                    _ => None,
                },
                postgres: matches!(db, Db::Postgres { .. }),
            };
            let mut stats = Stats::default();
            let mut elapsed = Duration::ZERO;
            let mut cpu = CpuTimes::default();
            let mut base_stats = Stats::default();
            let mut base_elapsed = Duration::ZERO;
            let mut base_cpu = CpuTimes::default();
            let mut ratios = Vec::new();
            for round in 0..rounds {
                let round_settings = settings.round(round, rounds);
                let before = meter.now();
                let (alive, st, el) =
                    timed(name, std::mem::take(&mut sessions), &round_settings, op).await;
                cpu += meter.now() - before;
                sessions = alive;
                let rate = st.rate(el);
                stats.merge(st);
                elapsed += el;
                let before = meter.now();
                let (bst, bel) = match &mut baseline {
                    Some(Baseline::Echo(echo)) => echo.round(&round_settings).await,
                    Some(Baseline::RawCreate) => raw_create(&store, &round_settings).await,
                    None => continue,
                };
                base_cpu += meter.now() - before;
                let base_rate = bst.rate(bel);
                ratios.push(rate / base_rate.max(1e-9));
                base_stats.merge(bst);
                base_elapsed += bel;
            }
            let mut measured = outcome(name, stats, elapsed, server.rss_kib(), Value::Null);
            measured.cpu = Some(cpu);
            report.outcomes.push(measured);
            let rounds_json = json!({"rounds": rounds, "round_ratios": ratios.iter().map(|r| round(*r, 3)).collect::<Vec<_>>()});
            let mut base = match baseline {
                Some(Baseline::Echo(echo)) => {
                    echo.finish(base_stats, base_elapsed, rounds_json).await
                }
                Some(Baseline::RawCreate) => {
                    raw_create_outcome(base_stats, base_elapsed, rounds_json)
                }
                None => continue,
            };
            base.cpu = Some(base_cpu);
            report.outcomes.push(base);
            continue;
        }
        match scenario {
            Scenario::Dropcatch => {
                let (alive, stats, elapsed, extra) =
                    dropcatch(std::mem::take(&mut sessions), settings).await;
                sessions = alive;
                report.outcomes.push(outcome(
                    "dropcatch",
                    stats,
                    elapsed,
                    server.rss_kib(),
                    extra,
                ));
            }
            Scenario::Connstorm => {
                for (name, cert) in [("connstorm", false), ("connstorm_cert", true)] {
                    let t = Target {
                        addr: server.addr,
                        tls: connector(&server.ca, cert)?,
                    };
                    let (stats, elapsed) = connstorm(&t, settings, name).await;
                    report.outcomes.push(outcome(
                        name,
                        stats,
                        elapsed,
                        server.rss_kib(),
                        json!({"op": "TCP connect + full TLS handshake (no resumption) + greeting + close_notify", "client_certificate": cert}),
                    ));
                }
            }
            Scenario::Idle => {
                let (stats, elapsed, extra) = idle(&target, settings, &server).await;
                report
                    .outcomes
                    .push(outcome("idle", stats, elapsed, server.rss_kib(), extra));
            }
            // Alone (without the scenario they are paired with), a baseline runs in its
            // place in the order.
            Scenario::Echo if !scenarios.contains(&Scenario::Check) => {
                let mut echo = baselines.start_echo(settings, &check_reply).await?;
                let (stats, elapsed) = echo.round(settings).await;
                report
                    .outcomes
                    .push(echo.finish(stats, elapsed, Value::Null).await);
            }
            Scenario::Rawcreate if !scenarios.contains(&Scenario::Create) => {
                let (stats, elapsed) = raw_create(&store, settings).await;
                report
                    .outcomes
                    .push(raw_create_outcome(stats, elapsed, Value::Null));
            }
            _ => {}
        }
    }

    for mut s in sessions {
        let _ = s.conn.call(crate::docs::logout()).await;
        s.conn.close().await;
    }
    report.server_rss_peak_kib = server.peak_rss_kib();
    report.server_log_problems = server.log_problems(20);
    report.server_log_cache = server.log_lines_with("check cache:", 50);
    server.stop();
    Ok(report)
}

/// What the echo baseline needs from the server: its certificate and key (the echo server
/// presents the same), the CA the client trusts, and where to put the payload.
struct Baselines {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    data_dir: PathBuf,
}

/// The baseline a scenario alternates with.
enum Baseline {
    Echo(EchoRun),
    RawCreate,
}

impl Baselines {
    /// Starts the bare TLS echo server answering the server's check response, and opens
    /// the check scenario's number of sessions to it.
    async fn start_echo(&self, settings: &Settings, check_reply: &Bytes) -> Result<EchoRun> {
        let payload = self.data_dir.join("echo-payload.xml");
        std::fs::write(&payload, check_reply).context("writing the echo payload")?;
        let process = EchoProcess::start(&self.cert, &self.key, &payload)?;
        let target = Target {
            addr: process.addr,
            tls: connector(&self.ca, false)?,
        };
        let sessions = open_sessions(&target, settings, settings.sessions).await?;
        Ok(EchoRun {
            process,
            sessions,
            payload_bytes: check_reply.len(),
        })
    }
}

/// The echo baseline's server and sessions, kept open between rounds.
struct EchoRun {
    process: EchoProcess,
    sessions: Vec<Sess>,
    payload_bytes: usize,
}

impl EchoRun {
    /// The check scenario against the echo server for `settings.duration`.
    async fn round(&mut self, settings: &Settings) -> (Stats, Duration) {
        let (alive, stats, elapsed) = timed(
            "echo",
            std::mem::take(&mut self.sessions),
            settings,
            Op::Check,
        )
        .await;
        self.sessions = alive;
        (stats, elapsed)
    }

    /// The outcome of every round; closes the sessions (the server stops on drop).
    async fn finish(self, stats: Stats, elapsed: Duration, rounds: Value) -> Outcome {
        let rss = crate::server::status_kib(self.process.pid(), "VmRSS:");
        for s in self.sessions {
            s.conn.close().await;
        }
        let mut extra = json!({"payload_bytes": self.payload_bytes, "what": "bare rustls echo server, same concurrency and payload sizes as check"});
        merge_json(&mut extra, rounds);
        outcome("echo", stats, elapsed, rss, extra)
    }
}

/// Adds `more`'s fields (when it is an object) to `into`.
fn merge_json(into: &mut Value, more: Value) {
    if let (Some(into), Value::Object(more)) = (into.as_object_mut(), more) {
        into.extend(more);
    }
}

/// The create change set committed straight on the server's store (same database).
fn raw_create_outcome(stats: Stats, elapsed: Duration, rounds: Value) -> Outcome {
    let mut extra = json!({"what": "the create change set committed on the server's store, same database, same concurrency"});
    merge_json(&mut extra, rounds);
    outcome("rawcreate", stats, elapsed, 0, extra)
}
