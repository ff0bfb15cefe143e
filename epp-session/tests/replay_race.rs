//! A transform resent on a second connection while the first copy is still running (a
//! registrar that lost its connection resends with the same clTRID) gets the first copy's
//! answer, not a refusal caused by that copy: the race is made deterministic with a store
//! whose replay lookup is stale once, as if it had read just before the first copy
//! committed. Regression test for concurrent domain creates with one clTRID answered 2302
//! (found by `epp-server`'s `races` integration tests over TLS).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use epp_session::store::model::{
    Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery, LoginCheck,
    Notification, ObjectKey, PollSummary, PolledMessage, Registrar, ReplayRecord, Sequence,
    TransferToken,
};
use epp_session::store::suite::block_on;
use epp_session::store::{ChangeSet, CommitReceipt, MemoryStore, Store, StoreError};
use epp_session::testing::Harness;
use epp_session::testing::script::Script;
use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Password, Timestamp};

/// A [`MemoryStore`] whose next replay lookup finds nothing once `stale` is set.
struct StaleReplay {
    inner: MemoryStore,
    stale: AtomicBool,
}

impl Store for StaleReplay {
    async fn verify_login(&self, id: &ClientId, pw: &Password) -> Result<LoginCheck, StoreError> {
        self.inner.verify_login(id, pw).await
    }
    async fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        self.inner.registrar(id).await
    }
    async fn registrars(&self) -> Result<Vec<Registrar>, StoreError> {
        self.inner.registrars().await
    }
    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        self.inner.domain(name).await
    }
    async fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        self.inner.contact(id).await
    }
    async fn host(&self, name: &HostName) -> Result<Option<Host>, StoreError> {
        self.inner.host(name).await
    }
    async fn domains_exist(&self, names: &[DomainName]) -> Result<Vec<bool>, StoreError> {
        self.inner.domains_exist(names).await
    }
    async fn contacts_exist(&self, ids: &[ContactId]) -> Result<Vec<bool>, StoreError> {
        self.inner.contacts_exist(ids).await
    }
    async fn hosts_exist(&self, names: &[HostName]) -> Result<Vec<bool>, StoreError> {
        self.inner.hosts_exist(names).await
    }
    async fn is_linked(&self, object: &ObjectKey) -> Result<bool, StoreError> {
        self.inner.is_linked(object).await
    }
    async fn domains(
        &self,
        q: &DomainQuery,
        after: Option<&DomainName>,
        limit: usize,
    ) -> Result<Vec<Domain>, StoreError> {
        self.inner.domains(q, after, limit).await
    }
    async fn count_domains(&self, q: &DomainQuery) -> Result<u64, StoreError> {
        self.inner.count_domains(q).await
    }
    async fn contacts(
        &self,
        q: &ContactQuery,
        after: Option<&ContactId>,
        limit: usize,
    ) -> Result<Vec<Contact>, StoreError> {
        self.inner.contacts(q, after, limit).await
    }
    async fn hosts(
        &self,
        q: &HostQuery,
        after: Option<&HostName>,
        limit: usize,
    ) -> Result<Vec<Host>, StoreError> {
        self.inner.hosts(q, after, limit).await
    }
    async fn poll_summary(&self, r: &ClientId) -> Result<Option<PollSummary>, StoreError> {
        self.inner.poll_summary(r).await
    }
    async fn poll_peek(&self, r: &ClientId) -> Result<Option<PolledMessage>, StoreError> {
        self.inner.poll_peek(r).await
    }
    async fn history(&self, o: &ObjectKey) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.history(o).await
    }
    async fn transfer_token(&self, d: &DomainName) -> Result<Option<TransferToken>, StoreError> {
        self.inner.transfer_token(d).await
    }
    async fn expired_transfer_tokens(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<TransferToken>, StoreError> {
        self.inner.expired_transfer_tokens(before, limit).await
    }
    async fn replay(&self, r: &ClientId, t: &ClTrid) -> Result<Option<ReplayRecord>, StoreError> {
        if self.stale.swap(false, Ordering::SeqCst) {
            return Ok(None);
        }
        self.inner.replay(r, t).await
    }
    async fn pending_notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        self.inner.pending_notifications(limit).await
    }
    async fn allocate_id(&self, s: Sequence) -> Result<u64, StoreError> {
        self.inner.allocate_id(s).await
    }
    async fn commit(&self, changes: ChangeSet) -> Result<CommitReceipt, StoreError> {
        self.inner.commit(changes).await
    }
}

const LOGIN: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>reg1</clID><pw>secret-1</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI><objURI>urn:ietf:params:xml:ns:contact-1.0</objURI><objURI>urn:ietf:params:xml:ns:host-1.0</objURI><svcExtension><extURI>http://www.norid.no/xsd/no-ext-result-1.0</extURI><extURI>http://www.norid.no/xsd/no-ext-domain-1.1</extURI></svcExtension></svcs></login><clTRID>LOGIN-1</clTRID></command></epp>"#;

const CREATE: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>resent.no</domain:name><domain:period unit="y">1</domain:period><domain:ns><domain:hostObj>ns1.example.com</domain:hostObj><domain:hostObj>ns2.example.com</domain:hostObj></domain:ns><domain:registrant>ACME1O</domain:registrant><domain:contact type="tech">ROLE1R</domain:contact><domain:authInfo><domain:pw>Code+9876</domain:pw></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>Kari Nordmann</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>RESENT-1</clTRID></command></epp>"#;

#[test]
fn a_copy_refused_because_the_first_copy_committed_gets_its_answer() {
    let store = Arc::new(StaleReplay {
        inner: MemoryStore::new(),
        stale: AtomicBool::new(false),
    });
    let mut h = Harness::new(Arc::clone(&store));
    block_on(async {
        let fixtures = include_str!("../testdata/sessions/fixtures/registry.inc");
        let script = Script::parse("registry.inc", fixtures).unwrap();
        script.run(&mut h, None).await.unwrap();
        for s in ["a", "b"] {
            let r = h.exchange(s, LOGIN.as_bytes()).await;
            assert_eq!(
                r.outcome.result_code,
                1000,
                "{}",
                String::from_utf8_lossy(&r.bytes)
            );
        }
        let first = h.exchange("a", CREATE.as_bytes()).await;
        assert_eq!(first.outcome.result_code, 1000);
        // The second copy looked for a recorded answer before the first one committed.
        store.stale.store(true, Ordering::SeqCst);
        let second = h.exchange("b", CREATE.as_bytes()).await;
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
/// (docs/session-replay.md), also when the first command's record is committed between
/// this one's lookup and its commit: the store refuses the second record, and the command
/// runs again without one instead of failing with 2400.
#[test]
fn another_command_racing_for_a_cl_trid_runs_unrecorded() {
    let store = Arc::new(StaleReplay {
        inner: MemoryStore::new(),
        stale: AtomicBool::new(false),
    });
    let mut h = Harness::new(Arc::clone(&store));
    block_on(async {
        let fixtures = include_str!("../testdata/sessions/fixtures/registry.inc");
        let script = Script::parse("registry.inc", fixtures).unwrap();
        script.run(&mut h, None).await.unwrap();
        for s in ["a", "b"] {
            let r = h.exchange(s, LOGIN.as_bytes()).await;
            assert_eq!(r.outcome.result_code, 1000);
        }
        let first = h.exchange("a", CREATE.as_bytes()).await;
        assert_eq!(first.outcome.result_code, 1000);
        // Another domain under the same clTRID, whose lookup missed the first record.
        store.stale.store(true, Ordering::SeqCst);
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
