//! A per-process cache of the poll queue summaries that every response shows as
//! `<msgQ count id>`.
//!
//! Norid puts `<msgQ>` in every response, so without a cache every command costs one more
//! read: a second round trip on PostgreSQL, a second WAL read lock on SQLite
//! (docs/BENCHMARKS.md). Queues change rarely next to how often they are shown.
//!
//! Freshness:
//! - a commit of this store that queues or removes messages drops the registrars' entries
//!   as soon as it returns (whatever its result: a failed commit may have committed), so
//!   a session sees its own acks and the messages its own commands queue at once;
//! - a change made by another process on the same database (a second server on one
//!   PostgreSQL database, the admin command on a SQLite file) shows within the
//!   time-to-live ([`DEFAULT_TTL`]); `<poll op="req"/>` itself always reads the queue.
//!
//! A read that raced an invalidation is not stored: each invalidation bumps a generation,
//! and a summary read under an older generation is returned but not kept, so a summary
//! read before a commit never outlives it in the cache.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use epp_session::store::model::PollSummary;
use epp_session::store::{Change, ChangeSet, StoreError};
use epp_xml::ClientId;

/// How long a summary may be shown without reading the queue again.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(1);

/// The cache; one per store.
#[derive(Debug)]
pub(crate) struct PollCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    generation: u64,
    entries: HashMap<ClientId, (Instant, Option<PollSummary>)>,
}

/// Which queues a change set touches ([`PollCache::touched_by`]).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Touched {
    None,
    Some(Vec<ClientId>),
    All,
}

impl PollCache {
    /// A cache keeping summaries for `ttl`; zero turns it off (every summary is read).
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a map of plain values: still consistent after a panic elsewhere.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The registrar's summary from the cache, or from `read` (then kept).
    pub(crate) async fn summary<F, Fut>(
        &self,
        registrar: &ClientId,
        read: F,
    ) -> Result<Option<PollSummary>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<PollSummary>, StoreError>>,
    {
        if self.ttl.is_zero() {
            return read().await;
        }
        let started = Instant::now();
        let generation = {
            let state = self.lock();
            if let Some((at, summary)) = state.entries.get(registrar)
                && started.saturating_duration_since(*at) < self.ttl
            {
                return Ok(*summary);
            }
            state.generation
        };
        let summary = read().await?;
        let mut state = self.lock();
        if state.generation == generation {
            state.entries.insert(registrar.clone(), (started, summary));
        }
        Ok(summary)
    }

    /// The queues a change set touches, taken before the store consumes it.
    pub(crate) fn touched_by(set: &ChangeSet) -> Touched {
        let mut out = Vec::new();
        for c in &set.changes {
            match c {
                Change::EnqueuePoll(m) => out.push(m.registrar.clone()),
                Change::EnqueuePollOnce { message, .. } => out.push(message.registrar.clone()),
                Change::AckPoll { registrar, .. } => out.push(registrar.clone()),
                Change::PurgePoll { .. } => return Touched::All,
                _ => {}
            }
        }
        match out.is_empty() {
            true => Touched::None,
            false => Touched::Some(out),
        }
    }

    /// Drops what a change set (committed or maybe committed) made stale.
    pub(crate) fn invalidate(&self, touched: Touched) {
        if touched == Touched::None || self.ttl.is_zero() {
            return;
        }
        let mut state = self.lock();
        state.generation = state.generation.wrapping_add(1);
        match touched {
            Touched::None => {}
            Touched::All => state.entries.clear(),
            Touched::Some(registrars) => {
                for r in &registrars {
                    state.entries.remove(r);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use epp_session::store::ChangeMeta;
    use epp_session::store::model::{NewPollMessage, PollPayload};
    use epp_xml::Timestamp;

    use super::*;

    fn cid(s: &str) -> ClientId {
        s.parse().unwrap()
    }

    fn meta() -> ChangeMeta {
        ChangeMeta {
            registrar: None,
            time: Timestamp::from_unix_micros(0),
            cl_trid: None,
            sv_trid: None,
            command: "test".into(),
        }
    }

    fn summary(count: u64) -> Option<PollSummary> {
        Some(PollSummary { count, first_id: 7 })
    }

    /// A queue whose reads are counted.
    struct Queue {
        count: AtomicU64,
        reads: AtomicU64,
    }

    impl Queue {
        async fn read(&self) -> Result<Option<PollSummary>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(summary(self.count.load(Ordering::SeqCst)))
        }
    }

    fn enqueue(r: &str) -> ChangeSet {
        ChangeSet::new(meta()).with(Change::EnqueuePoll(NewPollMessage {
            registrar: cid(r),
            text: "m".into(),
            payload: PollPayload::Text,
        }))
    }

    #[tokio::test]
    async fn summaries_are_kept_until_a_commit_touches_the_queue() {
        let cache = PollCache::new(Duration::from_secs(3600));
        let q = Queue {
            count: AtomicU64::new(1),
            reads: AtomicU64::new(0),
        };
        let r = cid("reg1");
        for _ in 0..5 {
            assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(1));
        }
        assert_eq!(q.reads.load(Ordering::SeqCst), 1);
        // A commit for another registrar's queue leaves this one cached.
        cache.invalidate(PollCache::touched_by(&enqueue("reg2")));
        q.count.store(2, Ordering::SeqCst);
        assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(1));
        // One for this registrar's queue drops it.
        cache.invalidate(PollCache::touched_by(&enqueue("reg1")));
        assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(2));
        // A purge drops every queue; a change set without queue changes drops nothing.
        q.count.store(3, Ordering::SeqCst);
        cache.invalidate(PollCache::touched_by(&ChangeSet::new(meta())));
        assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(2));
        cache.invalidate(PollCache::touched_by(&ChangeSet::new(meta()).with(
            Change::PurgePoll {
                before: Timestamp::from_unix_micros(0),
            },
        )));
        assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(3));
        cache.invalidate(PollCache::touched_by(&ChangeSet::new(meta()).with(
            Change::AckPoll {
                registrar: r.clone(),
                id: 7,
            },
        )));
        q.count.store(2, Ordering::SeqCst);
        assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(2));
        assert_eq!(q.reads.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn summaries_expire_after_the_ttl_and_zero_turns_the_cache_off() {
        let q = Queue {
            count: AtomicU64::new(1),
            reads: AtomicU64::new(0),
        };
        let r = cid("reg1");
        let cache = PollCache::new(Duration::from_millis(30));
        cache.summary(&r, || q.read()).await.unwrap();
        q.count.store(4, Ordering::SeqCst);
        assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(1));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(4));

        let off = PollCache::new(Duration::ZERO);
        let before = q.reads.load(Ordering::SeqCst);
        for n in 5..8 {
            q.count.store(n, Ordering::SeqCst);
            assert_eq!(off.summary(&r, || q.read()).await.unwrap(), summary(n));
        }
        assert_eq!(q.reads.load(Ordering::SeqCst), before + 3);
    }

    /// A read that started before a commit and ended after its invalidation is answered
    /// but not kept: the next read sees the commit.
    #[tokio::test]
    async fn a_read_racing_an_invalidation_is_not_kept() {
        let cache = PollCache::new(Duration::from_secs(3600));
        let q = Queue {
            count: AtomicU64::new(1),
            reads: AtomicU64::new(0),
        };
        let r = cid("reg1");
        let stale = cache
            .summary(&r, || async {
                let old = q.read().await;
                // The commit lands and invalidates while this read is in flight.
                q.count.store(2, Ordering::SeqCst);
                cache.invalidate(PollCache::touched_by(&enqueue("reg1")));
                old
            })
            .await
            .unwrap();
        assert_eq!(stale, summary(1));
        assert_eq!(cache.summary(&r, || q.read()).await.unwrap(), summary(2));
    }

    #[tokio::test]
    async fn read_errors_pass_through_and_are_not_kept() {
        let cache = PollCache::new(Duration::from_secs(3600));
        let r = cid("reg1");
        let e = cache
            .summary(&r, || async { Err(StoreError::Unavailable("down".into())) })
            .await;
        assert!(e.is_err());
        let ok = cache.summary(&r, || async { Ok(summary(9)) }).await;
        assert_eq!(ok.unwrap(), summary(9));
    }
}
