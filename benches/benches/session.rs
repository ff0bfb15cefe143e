//! The session loop over the SQLite store: one logged-in `epp_session::Session` handling a
//! client document and returning its serialised response, for a domain check, info,
//! create and update. No sockets or TLS: decode, session state, registry rule, store,
//! response serialisation.
//!
//! The fixtures are epp-session's shared script fixtures (`fixtures/registry.inc`: two
//! registrars with contacts, hosts and a domain each), loaded into a SQLite file under the
//! target directory (`synchronous=FULL`, a real disk) by the script runner. Creates use a
//! fresh name each under `oslo.no` (no quota for an organization there), spread over 256
//! registrants (every create counts its holder's domains); updates add and remove one
//! name server in turn; every transform has its own clTRID (a repeated one would be
//! answered from the replay record).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use epp_server::store::{SqliteConfig, SqliteStore};
use epp_session::testing::Harness;
use epp_session::testing::script::Script;
use tokio::runtime::Runtime;

const FIXTURES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../epp-session/testdata/sessions/fixtures/registry.inc"
));

const CHECK: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check>
<domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name><domain:name>ledig-navn.no</domain:name><domain:name>xn--bl-zia.no</domain:name></domain:check>
</check><clTRID>CHK-1</clTRID></command></epp>"#;

const INFO: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><info>
<domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name hosts="all">example.no</domain:name></domain:info>
</info><clTRID>INF-1</clTRID></command></epp>"#;

/// Organization registrants of `reg1` that creates rotate over.
const HOLDERS: u64 = 256;

fn create_doc(n: u64) -> Vec<u8> {
    let holder = n % HOLDERS;
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create>
<domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>bench-{n}.oslo.no</domain:name><domain:period unit="y">1</domain:period>
<domain:ns><domain:hostObj>ns1.example.com</domain:hostObj><domain:hostObj>ns2.example.com</domain:hostObj></domain:ns><domain:registrant>BNCH{holder}O</domain:registrant><domain:contact type="tech">ROLE1R</domain:contact><domain:authInfo><domain:pw>Code+9876</domain:pw></domain:authInfo></domain:create>
</create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>Kari Nordmann</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>CRE-{n}</clTRID></command></epp>"#
    )
    .into_bytes()
}

fn update_doc(n: u64) -> Vec<u8> {
    let op = if n.is_multiple_of(2) { "add" } else { "rem" };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><update>
<domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name><domain:{op}><domain:ns><domain:hostObj>h1.example.com</domain:hostObj></domain:ns></domain:{op}></domain:update>
</update><clTRID>UPD-{n}</clTRID></command></epp>"#
    )
    .into_bytes()
}

fn result_code(reply: &[u8]) -> &str {
    let text = std::str::from_utf8(reply).unwrap();
    let at = text.find("<result code=\"").unwrap() + "<result code=\"".len();
    &text[at..at + 4]
}

/// A harness over a fresh SQLite file with the shared fixtures, session `a` logged in as
/// `reg1`.
fn setup(rt: &Runtime, dir: &std::path::Path) -> Harness<SqliteStore> {
    let store = SqliteStore::open(SqliteConfig::new(dir.join("session-bench.sqlite3"))).unwrap();
    let mut harness = Harness::new(Arc::new(store));
    harness.config_mut().commands_per_session = u32::MAX;
    let mut text = format!("{FIXTURES}\n");
    for k in 0..HOLDERS {
        text.push_str(&format!(
            r#"@contact {{"id":"BNCH{k}O","roid":"CON8{k:04}O-NORID","type":"organization","email":"post@holder{k}.no","postalLoc":{{"name":"Kari Nordmann","org":"Holder {k} AS","street":["Storgata 1"],"city":"Oslo","pc":"NO-0150","cc":"NO"}},"identity":{{"type":"organizationNumber","value":"985821585"}},"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z"}}"#
        ));
        text.push_str("\n\n");
    }
    text.push_str("C: @login reg1 secret-1\nS: 1000\n");
    let script = Script::parse("session-bench", &text).unwrap();
    rt.block_on(script.run(&mut harness, None)).unwrap();
    harness
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut h = setup(&rt, dir.path());

    // Each document does what it should before it is timed.
    for (doc, code) in [
        (CHECK.to_vec(), "1000"),
        (INFO.to_vec(), "1000"),
        (create_doc(u64::MAX), "1000"),
        (update_doc(0), "1000"),
        (update_doc(1), "1000"),
    ] {
        let reply = rt.block_on(h.exchange("a", &doc));
        assert_eq!(
            result_code(&reply.bytes),
            code,
            "{}",
            String::from_utf8_lossy(&reply.bytes)
        );
    }

    let mut g = c.benchmark_group("session_sqlite");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    g.bench_function("domain_check_3", |b| {
        b.iter(|| rt.block_on(h.exchange("a", CHECK)))
    });
    g.bench_function("domain_info", |b| {
        b.iter(|| rt.block_on(h.exchange("a", INFO)))
    });
    let mut n = 0u64;
    g.bench_function("domain_create", |b| {
        b.iter_custom(|iters| {
            let docs: Vec<_> = (0..iters)
                .map(|_| {
                    n += 1;
                    create_doc(n)
                })
                .collect();
            let start = Instant::now();
            for doc in &docs {
                rt.block_on(h.exchange("a", doc));
            }
            start.elapsed()
        })
    });
    // The setup's two updates added and removed the name server: the next update adds it
    // (an even number), so that every timed update and the final one succeed, with the
    // update bench run or filtered out.
    let mut u = 1u64;
    g.bench_function("domain_update", |b| {
        b.iter_custom(|iters| {
            let docs: Vec<_> = (0..iters)
                .map(|_| {
                    u += 1;
                    update_doc(u)
                })
                .collect();
            let start = Instant::now();
            for doc in &docs {
                rt.block_on(h.exchange("a", doc));
            }
            start.elapsed()
        })
    });
    g.finish();

    // Everything timed succeeded (a refusal would be a much cheaper path).
    let reply = rt.block_on(h.exchange("a", &create_doc(n + 1)));
    assert_eq!(result_code(&reply.bytes), "1000");
    let reply = rt.block_on(h.exchange("a", &update_doc(u + 1)));
    assert_eq!(result_code(&reply.bytes), "1000");
}

criterion_group!(benches, bench);
criterion_main!(benches);
