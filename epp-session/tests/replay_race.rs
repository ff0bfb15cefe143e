//! A transform resent on a second connection while the first copy is still running (a
//! registrar that lost its connection resends with the same clTRID) gets the first copy's
//! answer, not a refusal caused by that copy. No transform looks for a recorded answer
//! before it runs (that read would cost every transform for the rare resend): a copy finds
//! the first copy's record when refused, or when the store refuses its own record at
//! commit. So a copy running after the first committed is the race that once answered
//! 2302 (found by `epp-server`'s `races` integration tests over TLS, when the lookup before
//! execution could miss a record committed just after it); the store here counts the
//! lookups.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use epp_session::store::model::{ObjectKey, ReplayRecord};
use epp_session::store::suite::block_on;
use epp_session::store::{MemoryStore, Store};
use epp_session::testing::intercept::{Hooks, Intercept};
use epp_session::testing::{Harness, login_document};
use epp_xml::{ClTrid, ClientId, DomainName};

/// Counts replay lookups (and lets them through).
#[derive(Default)]
struct CountReplays {
    lookups: AtomicUsize,
}

impl Hooks for CountReplays {
    fn replay(&self, _: &ClientId, _: &ClTrid) -> Option<Option<ReplayRecord>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        None
    }
}

impl CountReplays {
    fn take(&self) -> usize {
        self.lookups.swap(0, Ordering::SeqCst)
    }
}

fn store() -> Arc<Intercept<MemoryStore, CountReplays>> {
    Arc::new(Intercept {
        inner: MemoryStore::new(),
        hooks: CountReplays::default(),
    })
}

const CREATE: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>resent.no</domain:name><domain:period unit="y">1</domain:period><domain:ns><domain:hostObj>ns1.example.com</domain:hostObj><domain:hostObj>ns2.example.com</domain:hostObj></domain:ns><domain:registrant>ACME1O</domain:registrant><domain:contact type="tech">ROLE1R</domain:contact><domain:authInfo><domain:pw>Code+9876</domain:pw></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>Kari Nordmann</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>RESENT-1</clTRID></command></epp>"#;

#[test]
fn a_copy_refused_because_the_first_copy_committed_gets_its_answer() {
    let store = store();
    let mut h = Harness::new(Arc::clone(&store));
    block_on(async {
        h.load_registry_fixtures().await;
        for s in ["a", "b"] {
            let r = h
                .exchange(s, login_document("reg1", "secret-1").as_bytes())
                .await;
            assert_eq!(
                r.outcome.result_code,
                1000,
                "{}",
                String::from_utf8_lossy(&r.bytes)
            );
        }
        store.hooks.take();
        let first = h.exchange("a", CREATE.as_bytes()).await;
        assert_eq!(first.outcome.result_code, 1000);
        assert_eq!(
            store.hooks.take(),
            0,
            "a transform that succeeds reads no record"
        );
        // The second copy runs, is refused (the name exists), and finds the record.
        let second = h.exchange("b", CREATE.as_bytes()).await;
        assert_eq!(store.hooks.take(), 1);
        assert_eq!(
            String::from_utf8_lossy(&second.bytes),
            String::from_utf8_lossy(&first.bytes),
            "the copy gets the first copy's answer, byte for byte"
        );
        assert!(second.outcome.replayed);
        let history = store
            .history(&ObjectKey::Domain(DomainName::new("resent.no").unwrap()))
            .await
            .unwrap();
        assert_eq!(history.len(), 1, "executed once");
        // A refusal that no copy explains stays a refusal: another clTRID, same name.
        let other = CREATE.replace("RESENT-1", "RESENT-2");
        let third = h.exchange("b", other.as_bytes()).await;
        assert_eq!(third.outcome.result_code, 2302);
        assert!(!third.outcome.replayed);
    });
}

/// A clTRID reused for another command runs that command unrecorded
/// (docs/session-replay.md): the store refuses the second record at commit, and the
/// command runs again without one instead of failing with 2400.
#[test]
fn another_command_racing_for_a_cl_trid_runs_unrecorded() {
    let store = store();
    let mut h = Harness::new(Arc::clone(&store));
    block_on(async {
        h.load_registry_fixtures().await;
        for s in ["a", "b"] {
            let r = h
                .exchange(s, login_document("reg1", "secret-1").as_bytes())
                .await;
            assert_eq!(r.outcome.result_code, 1000);
        }
        let first = h.exchange("a", CREATE.as_bytes()).await;
        assert_eq!(first.outcome.result_code, 1000);
        // Another domain under the same clTRID.
        let other = CREATE.replace("resent.no", "resent-other.no");
        let second = h.exchange("b", other.as_bytes()).await;
        assert_eq!(
            second.outcome.result_code,
            1000,
            "{}",
            String::from_utf8_lossy(&second.bytes)
        );
        assert!(!second.outcome.replayed);
        assert_ne!(second.bytes, first.bytes);
        for name in ["resent.no", "resent-other.no"] {
            let history = store
                .history(&ObjectKey::Domain(DomainName::new(name).unwrap()))
                .await
                .unwrap();
            assert_eq!(history.len(), 1, "{name} created once");
        }
        // The clTRID still answers the first command with its record.
        let again = h.exchange("b", CREATE.as_bytes()).await;
        assert_eq!(again.bytes, first.bytes);
        assert!(again.outcome.replayed);
    });
}
