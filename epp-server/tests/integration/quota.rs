//! Per-holder quotas under concurrency, end to end: several sessions of the real binary
//! create domains for one holder at once when only one place is left; the quota is counted
//! inside the store's commit, so exactly one create succeeds and the others are answered
//! 2308 with Norid's quota condition, whatever the interleaving.

use epp_session::store::Store;
use epp_session::store::model::DomainQuery;
use epp_session::testing::ScriptTarget;

use crate::db::{Db, on_both_backends, runtime};
use crate::epp::{TlsTarget, code, login};

on_both_backends!(concurrent_creates_for_one_holder_respect_the_quota);

/// PER1P (a person) holds four names directly under .no: one place is left.
const FOUR: &str = r#"@domain {"name":"ola0.no","roid":"DOM9900D-NORID","registrant":"PER1P","contacts":[{"type":"tech","id":"ROLE1R"}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"2025-09-01T12:00:00Z"}
@domain {"name":"ola1.no","roid":"DOM9901D-NORID","registrant":"PER1P","contacts":[{"type":"tech","id":"ROLE1R"}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"2025-09-01T12:00:00Z"}
@domain {"name":"ola2.no","roid":"DOM9902D-NORID","registrant":"PER1P","contacts":[{"type":"tech","id":"ROLE1R"}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"2025-09-01T12:00:00Z"}
@domain {"name":"ola3.no","roid":"DOM9903D-NORID","registrant":"PER1P","contacts":[{"type":"tech","id":"ROLE1R"}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"2025-09-01T12:00:00Z"}
"#;

fn create(name: &str, cl_trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name><domain:ns><domain:hostObj>ns1.example.com</domain:hostObj><domain:hostObj>ns2.example.com</domain:hostObj></domain:ns><domain:registrant>PER1P</domain:registrant><domain:contact type="tech">ROLE1R</domain:contact><domain:authInfo><domain:pw/></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>Ola Nordmann</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>{cl_trid}</clTRID></command></epp>"#
    )
}

fn concurrent_creates_for_one_holder_respect_the_quota(db: &Db) {
    runtime().block_on(async {
        let mut target = TlsTarget::registry(db).await;
        target.fixtures(FOUR).await;
        target.start();
        // reg1 may hold three sessions (fixtures/registry.inc).
        let mut clients = Vec::new();
        for i in 0..3 {
            let (mut c, _) = target.connect().await;
            let r = c.call(&login("reg1", "secret-1", &format!("QL-{i}"))).await;
            assert_eq!(code(&r), Some(1000), "{r}");
            clients.push(c);
        }
        let [mut a, mut b, mut c] = <[_; 3]>::try_from(clients).ok().unwrap();
        let (ca, cb, cc) = (
            create("race-a.no", "QC-A"),
            create("race-b.no", "QC-B"),
            create("race-c.no", "QC-C"),
        );
        let (ra, rb, rc) = tokio::join!(a.call(&ca), b.call(&cb), c.call(&cc));
        let replies = [ra, rb, rc];
        let won: Vec<&String> = replies.iter().filter(|r| code(r) == Some(1000)).collect();
        assert_eq!(won.len(), 1, "{replies:#?}");
        for r in replies.iter().filter(|r| code(r) != Some(1000)) {
            assert_eq!(code(r), Some(2308), "{r}");
            assert!(r.contains("EC002913"), "{r}");
        }
        let held = target
            .store()
            .count_domains(&DomainQuery::Registrant("PER1P".parse().unwrap()))
            .await
            .unwrap();
        assert_eq!(held, 5);
    });
}
