//! Background work of the serve path: the [`Shutdown`] signal tasks watch, and the
//! periodic runner ([`run_periodic`]) that drives the registry's scheduled jobs.
//!
//! The serve path starts background tasks through [`ServeContext::spawn_task`] and
//! [`ServeContext::spawn_scheduled`]; at shutdown it tells them to stop, lets a run in
//! progress finish within `limits.shutdown_grace`, and only then returns.
//!
//! [`ServeContext::spawn_task`]: crate::ServeContext::spawn_task
//! [`ServeContext::spawn_scheduled`]: crate::ServeContext::spawn_scheduled

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use epp_xml::Timestamp;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::clock::RegistryClock;
use crate::metrics::Metrics;

/// Tells background tasks that the server is shutting down (SIGTERM or SIGINT).
///
/// Cheap to clone. A task selects on [`Shutdown::triggered`] between units of work and
/// finishes the unit in progress; the server waits for it within
/// `limits.shutdown_grace`.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A pair: the sender that triggers, and the signal.
    pub(crate) fn channel() -> (watch::Sender<bool>, Self) {
        let (tx, rx) = watch::channel(false);
        (tx, Self(rx))
    }

    /// The underlying receiver, for the connection driver.
    pub(crate) fn receiver(&self) -> watch::Receiver<bool> {
        self.0.clone()
    }

    /// Whether shutdown has begun.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until shutdown begins (at once if it has). Also returns when the server is
    /// gone altogether.
    pub async fn triggered(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Runs `job` every `interval` until shutdown, passing it the registry time (system
/// time plus `testing.clock_offset`) at the start of each run.
///
/// The first run starts at once. Runs never overlap: a run that takes longer than
/// `interval` is followed by the next one right away, and later runs keep the interval
/// from there. A failed run is logged at warn and counted; the job runs again at the next
/// interval. Shutdown stops the runner between runs; a run in progress is not cancelled
/// (the server waits for it within `limits.shutdown_grace`). Each run is counted in
/// `epp_scheduler_runs_total{task, result}` and timed in the log at debug.
///
/// [`ServeContext::spawn_scheduled`](crate::ServeContext::spawn_scheduled) starts this
/// with the `[scheduler]` interval; embedders may call it directly.
pub async fn run_periodic<F, Fut, E>(
    name: &'static str,
    interval: Duration,
    clock: RegistryClock,
    mut shutdown: Shutdown,
    metrics: Metrics,
    mut job: F,
) where
    F: FnMut(Timestamp) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    // tokio panics on a zero period; the configuration refuses one anyway.
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = shutdown.triggered() => break,
            _ = ticker.tick() => {}
        }
        let now = clock.now();
        let started = Instant::now();
        match job(now).await {
            Ok(()) => {
                metrics.scheduler_run(name, true);
                tracing::debug!(task = name, %now, elapsed = ?started.elapsed(), "scheduled job ran");
            }
            Err(e) => {
                metrics.scheduler_run(name, false);
                tracing::warn!(
                    task = name,
                    %now,
                    error = %e,
                    "scheduled job failed; it runs again at the next interval"
                );
            }
        }
    }
    tracing::debug!(task = name, "scheduled job stopped");
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn offset_clock() -> RegistryClock {
        RegistryClock::new("+30d".parse().unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn runs_at_start_and_every_interval_on_the_registry_clock() {
        let (tx, shutdown) = Shutdown::channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let metrics = Metrics::new();
        let log = Arc::clone(&seen);
        let runner = tokio::spawn(run_periodic(
            "test",
            Duration::from_secs(60),
            offset_clock(),
            shutdown,
            metrics.clone(),
            move |now: Timestamp| {
                log.lock().unwrap().push(now);
                async { Ok::<(), String>(()) }
            },
        ));
        tokio::time::sleep(Duration::from_secs(150)).await;
        assert_eq!(seen.lock().unwrap().len(), 3, "at 0 s, 60 s and 120 s");
        // The job sees the registry clock, 30 days ahead of the system clock.
        let first = seen.lock().unwrap()[0];
        let system = RegistryClock::default().now();
        let ahead = first.unix_micros() - system.unix_micros();
        assert!(ahead > 29 * 86_400 * 1_000_000, "{ahead}");
        tx.send(true).unwrap();
        runner.await.unwrap();
        assert!(
            metrics
                .render()
                .contains("epp_scheduler_runs_total{task=\"test\",result=\"ok\"} 3\n")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_run_is_counted_and_the_job_runs_again() {
        let (tx, shutdown) = Shutdown::channel();
        let metrics = Metrics::new();
        let mut n = 0;
        let runner = tokio::spawn(run_periodic(
            "flaky",
            Duration::from_secs(10),
            RegistryClock::default(),
            shutdown,
            metrics.clone(),
            move |_| {
                n += 1;
                let result = if n == 1 { Err("database away") } else { Ok(()) };
                async move { result }
            },
        ));
        tokio::time::sleep(Duration::from_secs(25)).await;
        tx.send(true).unwrap();
        runner.await.unwrap();
        let text = metrics.render();
        assert!(
            text.contains("epp_scheduler_runs_total{task=\"flaky\",result=\"failed\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("epp_scheduler_runs_total{task=\"flaky\",result=\"ok\"} 2\n"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_lets_the_run_in_progress_finish_and_starts_no_other() {
        let (tx, shutdown) = Shutdown::channel();
        let finished = Arc::new(Mutex::new(0));
        let done = Arc::clone(&finished);
        let runner = tokio::spawn(run_periodic(
            "slow",
            Duration::from_secs(1),
            RegistryClock::default(),
            shutdown,
            Metrics::new(),
            move |_| {
                let done = Arc::clone(&done);
                async move {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    *done.lock().unwrap() += 1;
                    Ok::<(), String>(())
                }
            },
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
        tx.send(true).unwrap();
        runner.await.unwrap();
        assert_eq!(*finished.lock().unwrap(), 1);
    }
}
