//! Two executes of one requested transfer with the same one-time token race; the second
//! reads the state at two moments, around the first one's commit. Whatever the moment, its
//! answer must be one a serial order gives: "already the sponsor" (2106), never "token not
//! valid" (2202) for the token that was valid until its own registrar spent it. The store
//! below serves the command's first read from the state before the first execute
//! committed. Regression test for the read order of the transfer execute (found by
//! `epp-server`'s `races` integration tests over TLS).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

/// A [`MemoryStore`] whose next read of the domain or its token, once `stale` is set,
/// returns the saved earlier state.
struct StaleReads {
    inner: MemoryStore,
    stale: AtomicBool,
    before: Mutex<Option<(Option<Domain>, Option<TransferToken>)>>,
}

impl StaleReads {
    fn stale(&self) -> Option<(Option<Domain>, Option<TransferToken>)> {
        if self.stale.swap(false, Ordering::SeqCst) {
            return self.before.lock().unwrap().clone();
        }
        None
    }
}

impl Store for StaleReads {
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
        if let Some((d, _)) = self.stale() {
            return Ok(d);
        }
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
        if let Some((_, t)) = self.stale() {
            return Ok(t);
        }
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

fn login() -> String {
    let mut s = String::from(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>reg2</clID><pw>secret-2</pw><options><version>1.0</version><lang>en</lang></options><svcs>"#,
    );
    for o in epp_norid_ext::OBJ_URIS {
        s.push_str(&format!("<objURI>{o}</objURI>"));
    }
    s.push_str("<svcExtension>");
    for e in epp_norid_ext::EXT_URIS {
        s.push_str(&format!("<extURI>{e}</extURI>"));
    }
    s.push_str("</svcExtension></svcs></login><clTRID>LOGIN-1</clTRID></command></epp>");
    s
}

fn execute(token: &str, trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><transfer op="execute"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:transfer></transfer><extension><no-ext-domain:transfer xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:token>{token}</no-ext-domain:token></no-ext-domain:transfer></extension><clTRID>{trid}</clTRID></command></extension></epp>"#
    )
}

const REQUEST: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><transfer op="request"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:transfer></transfer><clTRID>REQUEST-1</clTRID></command></epp>"#;

#[test]
fn an_execute_that_read_around_a_spent_token_is_refused_as_a_serial_order_would() {
    let store = Arc::new(StaleReads {
        inner: MemoryStore::new(),
        stale: AtomicBool::new(false),
        before: Mutex::new(None),
    });
    let mut h = Harness::new(Arc::clone(&store));
    block_on(async {
        let fixtures = include_str!("../testdata/sessions/fixtures/registry.inc");
        let script = Script::parse("registry.inc", fixtures).unwrap();
        script.run(&mut h, None).await.unwrap();
        for s in ["a", "b"] {
            let r = h.exchange(s, login().as_bytes()).await;
            assert_eq!(
                r.outcome.result_code,
                1000,
                "{}",
                String::from_utf8_lossy(&r.bytes)
            );
        }
        let r = h.exchange("a", REQUEST.as_bytes()).await;
        assert_eq!(
            r.outcome.result_code,
            1001,
            "{}",
            String::from_utf8_lossy(&r.bytes)
        );
        let pending = store.pending_notifications(10).await.unwrap();
        let token = pending
            .last()
            .unwrap()
            .body
            .lines()
            .find_map(|l| l.strip_prefix("    "))
            .unwrap()
            .trim()
            .to_owned();
        let name = DomainName::new("example.no").unwrap();
        *store.before.lock().unwrap() = Some((
            store.inner.domain(&name).await.unwrap(),
            store.inner.transfer_token(&name).await.unwrap(),
        ));
        let first = h
            .exchange("a", execute(&token, "EXECUTE-1").as_bytes())
            .await;
        assert_eq!(first.outcome.result_code, 1000);
        // The second copy's first read happened before the first one committed.
        store.stale.store(true, Ordering::SeqCst);
        let second = h
            .exchange("b", execute(&token, "EXECUTE-2").as_bytes())
            .await;
        assert_eq!(
            second.outcome.result_code,
            2106,
            "{}",
            String::from_utf8_lossy(&second.bytes)
        );
    });
}
