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

use epp_session::store::model::{Domain, TransferToken};
use epp_session::store::suite::block_on;
use epp_session::store::{MemoryStore, Store};
use epp_session::testing::intercept::{Hooks, Intercept};
use epp_session::testing::{Harness, login_document};
use epp_xml::DomainName;

/// Once `stale` is set, the next read of the domain or its token returns the saved
/// earlier state.
#[derive(Default)]
struct StaleReads {
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

impl Hooks for StaleReads {
    fn domain(&self, _: &DomainName) -> Option<Option<Domain>> {
        self.stale().map(|(d, _)| d)
    }
    fn transfer_token(&self, _: &DomainName) -> Option<Option<TransferToken>> {
        self.stale().map(|(_, t)| t)
    }
}

fn execute(token: &str, trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><transfer op="execute"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:transfer></transfer><extension><no-ext-domain:transfer xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:token>{token}</no-ext-domain:token></no-ext-domain:transfer></extension><clTRID>{trid}</clTRID></command></extension></epp>"#
    )
}

const REQUEST: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><transfer op="request"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:transfer></transfer><clTRID>REQUEST-1</clTRID></command></epp>"#;

#[test]
fn an_execute_that_read_around_a_spent_token_is_refused_as_a_serial_order_would() {
    let store = Arc::new(Intercept {
        inner: MemoryStore::new(),
        hooks: StaleReads::default(),
    });
    let mut h = Harness::new(Arc::clone(&store));
    block_on(async {
        h.load_registry_fixtures().await;
        for s in ["a", "b"] {
            let r = h
                .exchange(s, login_document("reg2", "secret-2").as_bytes())
                .await;
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
        *store.hooks.before.lock().unwrap() = Some((
            store.inner.domain(&name).await.unwrap(),
            store.inner.transfer_token(&name).await.unwrap(),
        ));
        let first = h
            .exchange("a", execute(&token, "EXECUTE-1").as_bytes())
            .await;
        assert_eq!(first.outcome.result_code, 1000);
        // The second copy's first read happened before the first one committed.
        store.hooks.stale.store(true, Ordering::SeqCst);
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
