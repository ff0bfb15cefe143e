//! The registry's scheduled domain lifecycle on the real binary: with the registry clock
//! offset (`testing.clock_offset`) to two months and a bit after a domain's expiry, the
//! scheduler quarantines it at start and the sponsor finds a poll message; a host's address
//! change answered 1001 is decided by the scheduler after `session.host_check_delay` and
//! answered by an `epp-late-response`; with `scheduler.enabled = false` nothing happens.

use std::time::Duration;

use epp_session::store::Store;
use epp_session::testing::ScriptTarget;
use epp_xml::Timestamp;

use crate::db::{Db, on_both_backends, runtime};
use crate::epp::{TlsTarget, code, domain_info, login, poll_req};

on_both_backends!(
    a_domain_past_expiry_is_quarantined_by_the_scheduler,
    a_pending_host_change_is_decided_by_the_scheduler,
);

/// A domain of reg1 that expired on 2025-01-10 (quarantine from 2025-03-10, deletion from
/// 2025-04-10, Norwegian time).
const EXPIRED: &str = r#"@domain {"name":"old1.no","roid":"DOM9841D-NORID","registrant":"ACME1O","contacts":[{"type":"tech","id":"ROLE1R"}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-10T12:00:00Z","exDate":"2025-01-10T12:00:00Z"}
"#;

/// The registry clock: between quarantine and deletion of old1.no; example.no (expiring
/// 2025-06-01) is not due.
const LATER: &str = "2025-03-20T12:00:00Z";

fn a_domain_past_expiry_is_quarantined_by_the_scheduler(db: &Db) {
    runtime().block_on(async {
        let mut target = TlsTarget::registry(db).await;
        target.fixtures(EXPIRED).await;
        let mut target = target.with_server_clock(Timestamp::parse(LATER).unwrap());
        target.start();
        let line = target
            .server()
            .wait_for_log(&["domain lifecycle advanced"], Duration::from_secs(10));
        assert!(line.contains("quarantined=old1.no "), "{line}");
        assert!(line.contains("now=2025-03-20T12:00:0"), "{line}");

        let (mut c, _) = target.connect().await;
        let r = c.call(&login("reg1", "secret-1", "LC-1")).await;
        assert_eq!(code(&r), Some(1000), "{r}");
        let r = c.call(&poll_req("LC-2")).await;
        assert_eq!(code(&r), Some(1301), "{r}");
        assert!(
            r.contains(
                "Domain [old1.no] expired on 2025-01-10 and has been removed from the zone; \
                 it will be deleted on 2025-04-10 unless it is renewed."
            ),
            "{r}"
        );
        let r = c.call(&domain_info("old1.no", "LC-3")).await;
        assert_eq!(code(&r), Some(1000), "{r}");
        let domain = target
            .store()
            .domain(&"old1.no".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let json = domain.to_json().unwrap();
        assert!(json.contains("\"state\":\"quarantined\""), "{json}");
        // Not yet due: still registered and in the zone.
        let example = target
            .store()
            .domain(&"example.no".parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .to_json()
            .unwrap();
        assert!(!example.contains("quarantined"), "{example}");
        assert_eq!(
            target
                .server()
                .metric("epp_scheduler_runs_total{task=\"lifecycle\",result=\"ok\"}")
                .await,
            Some(1.0)
        );
    });
}

const IN_ZONE_HOST: &str = r#"@host {"name":"ns1.example.no","roid":"HOST9851H-NORID","addrs":["193.0.0.1"],"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z"}
"#;

fn a_pending_host_change_is_decided_by_the_scheduler(db: &Db) {
    runtime().block_on(async {
        let mut target = TlsTarget::registry(db).await;
        target.fixtures(IN_ZONE_HOST).await;
        let mut target = target.with_env(&[
            ("EPP_SERVER__SCHEDULER__INTERVAL", "1s"),
            ("EPP_SERVER__SESSION__HOST_CHECK_DELAY", "1s"),
        ]);
        target.start();
        let (mut c, _) = target.connect().await;
        let r = c.call(&login("reg1", "secret-1", "HP-1")).await;
        assert_eq!(code(&r), Some(1000), "{r}");
        let update = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><update><host:update xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns1.example.no</host:name><host:add><host:addr ip="v4">193.0.0.2</host:addr></host:add></host:update></update><clTRID>HP-2</clTRID></command></epp>"#;
        let r = c.call(update).await;
        assert_eq!(code(&r), Some(1001), "{r}");
        assert!(r.contains("EC004960"), "{r}");
        let line = target
            .server()
            .wait_for_log(&["host address changes decided"], Duration::from_secs(15));
        assert!(line.contains("ns1.example.no"), "{line}");
        let r = c.call(&poll_req("HP-3")).await;
        assert_eq!(code(&r), Some(1301), "{r}");
        assert!(r.contains(r#"type="epp-late-response""#), "{r}");
        assert!(r.contains("<clTRID>HP-2</clTRID>"), "{r}");
        assert!(r.contains("Host [ns1.example.no] has been updated."), "{r}");
        let host = target
            .store()
            .host(&"ns1.example.no".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(host.addrs.len(), 2, "{host:?}");
        assert!(host.pending.is_none());
    });
}

#[test]
fn with_the_scheduler_disabled_nothing_is_quarantined() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::registry(&db).await;
        target.fixtures(EXPIRED).await;
        let mut target = target
            .with_server_clock(Timestamp::parse(LATER).unwrap())
            .with_env(&[("EPP_SERVER__SCHEDULER__ENABLED", "false")]);
        target.start();
        target
            .server()
            .wait_for_log(&["does not run the job"], Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (mut c, _) = target.connect().await;
        let r = c.call(&login("reg1", "secret-1", "LD-1")).await;
        assert_eq!(code(&r), Some(1000), "{r}");
        let r = c.call(&poll_req("LD-2")).await;
        assert_eq!(code(&r), Some(1300), "{r}");
        assert!(!target.log_text().contains("domain lifecycle advanced"));
    });
}
