//! A command the store fails is answered 2400 with Norid's store-failure condition, and the
//! reply's outcome carries the store's own words for the server's log: the client's
//! response does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::Mutex;

use epp_session::store::model::ObjectKey;
use epp_session::store::suite::block_on;
use epp_session::store::{ChangeSet, MemoryStore, StoreError};
use epp_session::testing::intercept::{Hooks, Intercept};
use epp_session::testing::{Harness, login_document};
use epp_xml::DomainName;

/// Answers every commit with the error it holds (none: commits go through).
#[derive(Default)]
struct FailCommits(Mutex<Option<StoreError>>);

impl Hooks for FailCommits {
    fn commit_error(&self, _: &ChangeSet) -> Option<StoreError> {
        self.0.lock().unwrap().clone()
    }
}

const CREATE: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>failed.no</domain:name><domain:period unit="y">1</domain:period><domain:ns><domain:hostObj>ns1.example.com</domain:hostObj><domain:hostObj>ns2.example.com</domain:hostObj></domain:ns><domain:registrant>ACME1O</domain:registrant><domain:contact type="tech">ROLE1R</domain:contact><domain:authInfo><domain:pw>Code+9876</domain:pw></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>Kari Nordmann</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>FAIL-1</clTRID></command></epp>"#;

#[test]
fn a_store_failure_is_answered_2400_and_its_cause_is_kept_for_the_log() {
    let store = Arc::new(Intercept {
        inner: MemoryStore::new(),
        hooks: FailCommits::default(),
    });
    let mut h = Harness::new(Arc::clone(&store));
    block_on(async {
        h.load_registry_fixtures().await;
        let login = h
            .exchange("a", login_document("reg1", "secret-1").as_bytes())
            .await;
        assert_eq!(login.outcome.result_code, 1000);
        assert_eq!(login.outcome.failure, None);

        let cases = [
            (
                StoreError::Contention { attempts: 20 },
                "transaction not serialisable after 20 attempts",
            ),
            (
                StoreError::Unavailable("connection refused".into()),
                "store unavailable: connection refused",
            ),
            // The session retries a conflict, and gives up after the configured number.
            (
                StoreError::Conflict(ObjectKey::Domain(DomainName::new("failed.no").unwrap())),
                "what the command read changed before each of its 6 commits",
            ),
        ];
        for (i, (error, cause)) in cases.into_iter().enumerate() {
            *store.hooks.0.lock().unwrap() = Some(error);
            let create = CREATE.replace("FAIL-1", &format!("FAIL-{i}"));
            let r = h.exchange("a", create.as_bytes()).await;
            let text = String::from_utf8_lossy(&r.bytes);
            assert_eq!(r.outcome.result_code, 2400, "{text}");
            assert!(text.contains("EC001908"), "{text}");
            assert_eq!(r.outcome.failure.as_deref(), Some(cause), "{text}");
            assert!(!text.contains(cause), "the cause is not sent: {text}");
        }

        // Refusals that are not store failures carry no cause; nothing was created above.
        *store.hooks.0.lock().unwrap() = None;
        let created = h.exchange("a", CREATE.as_bytes()).await;
        assert_eq!(created.outcome.result_code, 1000);
        assert_eq!(created.outcome.failure, None);
        let again = CREATE.replace("FAIL-1", "FAIL-9");
        let exists = h.exchange("a", again.as_bytes()).await;
        assert_eq!(exists.outcome.result_code, 2302);
        assert_eq!(exists.outcome.failure, None);
    });
}
