//! The holder quota costs a read only where it can refuse: a domain create or registrant
//! change never lists the holder's portfolio before the commit, and asks the commit for
//! the count ([`Change::CheckHolderQuota`]) only where Norid's quota applies to the kind
//! of holder in the name's zone (not for an organization under a geographic domain).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use epp_session::store::model::DomainQuery;
use epp_session::store::suite::block_on;
use epp_session::store::{Change, ChangeSet, MemoryStore};
use epp_session::testing::intercept::{Hooks, Intercept};
use epp_session::testing::{Harness, login_document};

/// Records the holders whose domains were listed or counted, and the quota checks of each
/// committed change set (`None` for a set without one).
#[derive(Default)]
struct Watch {
    listed_holders: Mutex<Vec<String>>,
    quota_checks: Mutex<Vec<Option<String>>>,
}

impl Hooks for Watch {
    fn domain_listing(&self, query: &DomainQuery) {
        if let DomainQuery::Registrant(holder) = query {
            self.listed_holders.lock().unwrap().push(holder.to_string());
        }
    }
    fn committing(&self, set: &ChangeSet) {
        let check = set.changes.iter().find_map(|c| match c {
            Change::CheckHolderQuota { holder, domain, .. } => Some(format!("{holder} {domain}")),
            _ => None,
        });
        self.quota_checks.lock().unwrap().push(check);
    }
}

const DATASET: &str = "<no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2\
    </no-ext-domain:versionNumber><no-ext-domain:acceptName>Ola Nordmann</no-ext-domain:acceptName>\
    <no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate>\
    </no-ext-domain:applicantDataset>";

fn create(name: &str, holder: &str, trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name><domain:ns><domain:hostObj>ns1.example.com</domain:hostObj><domain:hostObj>ns2.example.com</domain:hostObj></domain:ns><domain:registrant>{holder}</domain:registrant><domain:contact type="tech">ROLE1R</domain:contact><domain:authInfo><domain:pw/></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1">{DATASET}</no-ext-domain:create></extension><clTRID>{trid}</clTRID></command></epp>"#
    )
}

fn change_holder(name: &str, holder: &str, trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><update><domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name><domain:chg><domain:registrant>{holder}</domain:registrant></domain:chg></domain:update></update><extension><no-ext-domain:update xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:chg>{DATASET}</no-ext-domain:chg></no-ext-domain:update></extension><clTRID>{trid}</clTRID></command></epp>"#
    )
}

#[test]
fn the_quota_is_counted_in_the_commit_and_only_where_it_applies() {
    let store = Arc::new(Intercept {
        inner: MemoryStore::new(),
        hooks: Watch::default(),
    });
    let mut h = Harness::new(Arc::clone(&store));
    block_on(async {
        h.load_registry_fixtures().await;
        let r = h
            .exchange("a", login_document("reg1", "secret-1").as_bytes())
            .await;
        assert_eq!(r.outcome.result_code, 1000);
        store.hooks.quota_checks.lock().unwrap().clear();
        let cases = [
            // An organization: no limit under a geographic domain, 100 directly under .no.
            (create("acme.oslo.no", "ACME1O", "Q-1"), None),
            (
                create("acme-to.no", "ACME1O", "Q-2"),
                Some("ACME1O acme-to.no"),
            ),
            // A person: 5 under priv.no and geographic domains together.
            (
                create("ola.bergen.no", "PER1P", "Q-3"),
                Some("PER1P ola.bergen.no"),
            ),
            // The new holder's quota on a registrant change.
            (change_holder("ola.bergen.no", "ACME1O", "Q-4"), None),
            (
                change_holder("acme-to.no", "PER1P", "Q-5"),
                Some("PER1P acme-to.no"),
            ),
        ];
        for (doc, check) in cases {
            let r = h.exchange("a", doc.as_bytes()).await;
            let text = String::from_utf8_lossy(&r.bytes);
            assert_eq!(r.outcome.result_code, 1000, "{text}");
            let committed: Vec<_> = store.hooks.quota_checks.lock().unwrap().drain(..).collect();
            assert_eq!(
                committed,
                vec![check.map(str::to_owned)],
                "{}",
                &doc[doc.find("<domain:name>").unwrap()..][..40]
            );
        }
        let listed = store.hooks.listed_holders.lock().unwrap();
        assert!(
            listed.is_empty(),
            "portfolios read before the commit: {listed:?}"
        );
    });
}
