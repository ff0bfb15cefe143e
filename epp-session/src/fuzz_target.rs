//! The body of the `session_script` fuzz target, shared with the corpus replay test.
//!
//! The input is a program: each step sends a template document (login, logout, hello, and
//! every object command, with a small parameter), a raw frame taken from the input, a
//! template with one byte changed, moves the clock, or runs the lifecycle, on one of two
//! connections. Checked: nothing panics; every reply decodes with the strict response
//! decoder; nothing but `<hello/>` and `<login>` succeeds before login; svTRIDs are unique.
//!
//! Panics are how a fuzz target reports a broken invariant, hence the allowance.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use epp_norid_ext::NoridServerDoc;
use epp_xml::ClientId;

use crate::Action;
use crate::store::MemoryStore;
use crate::store::suite::block_on;
use crate::testing::cheap::CheapLogins;
use crate::testing::script::Script;
use crate::testing::{Harness, ScriptTarget};

const FIXTURES: &str = r#"
@clock 2025-05-20T10:00:00Z
@contact {"id":"ACME1O","roid":"CON9001O-NORID","type":"organization","email":"post@acme.no",
  "postalLoc":{"name":"Kari Nordmann","street":["Storgata 1"],"city":"Oslo","pc":"NO-0150","cc":"NO"},
  "identity":{"type":"organizationNumber","value":"985821585"},"mobile":{"number":"+47.91234567"},
  "clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z"}
@contact {"id":"ROLE1R","roid":"CON9002R-NORID","type":"role","email":"hm@acme.no",
  "postalLoc":{"name":"Hostmaster","street":["Storgata 1"],"city":"Oslo","pc":"NO-0150","cc":"NO"},"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z"}
@host {"name":"ns1.example.com","roid":"HOST9001H-NORID","clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z"}
@host {"name":"ns2.example.com","roid":"HOST9002H-NORID","clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z"}
@domain {"name":"example.no","roid":"DOM9001D-NORID","registrant":"ACME1O","contacts":[{"type":"tech","id":"ROLE1R"}],
  "ns":["ns1.example.com","ns2.example.com"],"authInfo":"Transfer+Code1","clId":"reg1","crId":"reg1",
  "crDate":"2024-06-01T12:00:00Z","exDate":"2025-06-01T12:00:00Z"}
@poll reg1 count=2
"#;

/// Template documents; `{p}` is the step's parameter (0-3), `{c}` a clTRID.
const TEMPLATES: &[&str] = &[
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>reg{p}</clID><pw>secret-{p}</pw><options><version>1.0</version><lang>en</lang></options><svcs><objURI>urn:ietf:params:xml:ns:domain-1.0</objURI><objURI>urn:ietf:params:xml:ns:contact-1.0</objURI><objURI>urn:ietf:params:xml:ns:host-1.0</objURI><svcExtension><extURI>http://www.norid.no/xsd/no-ext-epp-1.0</extURI><extURI>http://www.norid.no/xsd/no-ext-domain-1.1</extURI><extURI>http://www.norid.no/xsd/no-ext-contact-1.0</extURI><extURI>http://www.norid.no/xsd/no-ext-host-1.0</extURI><extURI>http://www.norid.no/xsd/no-ext-result-1.0</extURI><extURI>urn:ietf:params:xml:ns:secDNS-1.1</extURI></svcExtension></svcs></login><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><logout/><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>f{p}.no</domain:name><domain:name>example.no</domain:name></domain:check></check><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><info><domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>f{p}.no</domain:name></domain:info></info><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>f{p}.no</domain:name><domain:ns><domain:hostObj>ns1.example.com</domain:hostObj><domain:hostObj>ns{p}.fuzz.example</domain:hostObj></domain:ns><domain:registrant>ACME1O</domain:registrant><domain:contact type="tech">ROLE1R</domain:contact><domain:authInfo><domain:pw>Code+{p}{p}{p}{p}{p}</domain:pw></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>A B</no-ext-domain:acceptName><no-ext-domain:acceptDate>2025-01-01T00:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><update><domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>f{p}.no</domain:name><domain:add><domain:status s="clientHold"/></domain:add></domain:update></update><extension><secDNS:update xmlns:secDNS="urn:ietf:params:xml:ns:secDNS-1.1"><secDNS:add><secDNS:dsData><secDNS:keyTag>{p}</secDNS:keyTag><secDNS:alg>13</secDNS:alg><secDNS:digestType>2</secDNS:digestType><secDNS:digest>ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB</secDNS:digest></secDNS:dsData></secDNS:add></secDNS:update></extension><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><renew><domain:renew xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name><domain:curExpDate>2025-06-01</domain:curExpDate><domain:period unit="m">{p}</domain:period></domain:renew></renew><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><delete><domain:delete xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>f{p}.no</domain:name></domain:delete></delete><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><transfer op="request"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:transfer></transfer><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><transfer op="execute"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name><domain:authInfo><domain:pw>Transfer+Code{p}</domain:pw></domain:authInfo></domain:transfer></transfer><clTRID>{c}</clTRID></command></extension></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><withdraw><domain:withdraw xmlns:domain="http://www.norid.no/xsd/no-ext-domain-1.1"><domain:name>f{p}.no</domain:name></domain:withdraw></withdraw><clTRID>{c}</clTRID></command></extension></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><contact:create xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"><contact:id>auto</contact:id><contact:postalInfo type="loc"><contact:name>Role {p}</contact:name><contact:addr><contact:street>Gate {p}</contact:street><contact:city>Oslo</contact:city><contact:pc>0150</contact:pc><contact:cc>NO</contact:cc></contact:addr></contact:postalInfo><contact:email>r{p}@example.no</contact:email><contact:authInfo><contact:pw/></contact:authInfo></contact:create></create><extension><no-ext-contact:create xmlns:no-ext-contact="http://www.norid.no/xsd/no-ext-contact-1.0"><no-ext-contact:type>role</no-ext-contact:type></no-ext-contact:create></extension><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><update><contact:update xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"><contact:id>ROLE1R</contact:id><contact:chg><contact:voice>+47.1234567{p}</contact:voice></contact:chg></contact:update></update><extension><no-ext-contact:update xmlns:no-ext-contact="http://www.norid.no/xsd/no-ext-contact-1.0"><no-ext-contact:chg><no-ext-contact:mobilePhone/></no-ext-contact:chg></no-ext-contact:update></extension><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><host:create xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns{p}.fuzz.example</host:name></host:create></create><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><host:create xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns{p}.f{p}.no</host:name><host:addr ip="v4">193.0.0.{p}</host:addr></host:create></create><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><delete><host:delete xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns{p}.fuzz.example</host:name></host:delete></delete><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><info><host:info xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>ns{p}.fuzz.example</host:name></host:info></info><extension><no-ext-host:info xmlns:no-ext-host="http://www.norid.no/xsd/no-ext-host-1.0"><no-ext-host:sponsoringClientID>reg{p}</no-ext-host:sponsoringClientID></no-ext-host:info></extension><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><poll op="req"/><clTRID>{c}</clTRID></command></epp>"#,
    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><poll op="ack" msgID="{p}"/><clTRID>{c}</clTRID></command></epp>"#,
];

/// A harness over a [`MemoryStore`] with cheap logins: `reg1`..`reg3`, passwords
/// `secret-1`..`secret-3`.
fn harness() -> Harness<CheapLogins<MemoryStore>> {
    let mut store = CheapLogins::new(MemoryStore::new());
    for i in 1..=3 {
        store.set_password(
            ClientId::new(format!("reg{i}")).unwrap(),
            &format!("secret-{i}"),
        );
    }
    let mut h = Harness::new(Arc::new(store));
    h.config_mut().commands_per_session = 64;
    block_on(async {
        use crate::store::model::{NewRegistrar, PasswordHash, PasswordInput};
        use crate::store::{Change, ChangeMeta, ChangeSet, Store};
        let mut set = ChangeSet::new(ChangeMeta {
            registrar: None,
            time: epp_xml::Timestamp::from_unix_micros(0),
            cl_trid: None,
            sv_trid: None,
            command: "fuzz:fixture".into(),
        });
        for i in 1..=3 {
            set.push(Change::CreateRegistrar(NewRegistrar {
                id: ClientId::new(format!("reg{i}")).unwrap(),
                name: String::new(),
                password: PasswordInput::Hashed(PasswordHash::locked()),
                cert_pins: Default::default(),
                session_limit: 2,
                enabled: true,
            }));
        }
        h.store().commit(set).await.unwrap();
        let fixtures = Script::parse("fixtures", FIXTURES).unwrap();
        fixtures.run(&mut h, None).await.unwrap();
    });
    h
}

/// Runs the program in `data`.
pub fn session_script(data: &[u8]) {
    run_program(data);
}

/// Runs the program and counts the replies by class: (successes, refusals, greetings).
fn run_program(data: &[u8]) -> (u32, u32, u32) {
    let mut counts = (0, 0, 0);
    let mut h = harness();
    let mut logged_in = [false, false];
    let mut sv_trids = HashSet::new();
    let mut rest = data;
    let mut step = 0u32;
    while let Some((&op, tail)) = rest.split_first() {
        rest = tail;
        step += 1;
        let conn = usize::from(op & 1);
        let name = ["a", "b"][conn];
        let doc: Vec<u8> = match op >> 1 {
            // A raw frame of the next n bytes.
            0..=9 => {
                let Some((&n, tail)) = rest.split_first() else {
                    break;
                };
                let n = usize::from(n).min(tail.len());
                let (frame, tail) = tail.split_at(n);
                rest = tail;
                frame.to_vec()
            }
            // The clock moves on.
            10..=13 => {
                let Some((&s, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                h.advance(Duration::from_secs(u64::from(s) * 3600));
                continue;
            }
            // The registry's jobs run.
            14 => {
                let _ = block_on(h.lifecycle());
                continue;
            }
            // A template with one byte changed.
            15..=30 => {
                let [t, p, pos, byte, tail @ ..] = rest else {
                    break;
                };
                rest = tail;
                let mut d = template(*t, *p, step);
                if !d.is_empty() {
                    let i = usize::from(*pos) * d.len() / 256;
                    d[i] = *byte;
                }
                d
            }
            // A template.
            _ => {
                let [t, p, tail @ ..] = rest else {
                    break;
                };
                rest = tail;
                template(*t, *p, step)
            }
        };
        let reply = block_on(h.exchange(name, &doc));
        if std::env::var_os("FUZZ_TRACE").is_some() {
            eprintln!(
                "{} {} {}",
                name, reply.outcome.command, reply.outcome.result_code
            );
        }
        assert!(!reply.bytes.is_empty(), "an empty reply to an open session");
        let decoded = epp_norid_ext::decode_response(&reply.bytes).unwrap_or_else(|e| {
            panic!(
                "reply does not decode ({e}):\n{}",
                String::from_utf8_lossy(&reply.bytes)
            )
        });
        if matches!(decoded, NoridServerDoc::Greeting(_)) {
            counts.2 += 1;
        }
        if let NoridServerDoc::Response(r) = decoded {
            let code = r.results[0].code.code();
            if code < 2000 {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
            assert!(
                sv_trids.insert(r.tr_id.sv_trid.to_string()),
                "svTRID {} twice",
                r.tr_id.sv_trid
            );
            if !logged_in[conn] {
                assert!(
                    code >= 2000 || reply.outcome.command == "login",
                    "{} succeeded before login",
                    reply.outcome.command
                );
            }
            if reply.outcome.command == "login" && code == 1000 {
                logged_in[conn] = true;
            }
        }
        if reply.action == Action::Close {
            logged_in[conn] = false;
        }
    }
    counts
}

fn template(t: u8, p: u8, step: u32) -> Vec<u8> {
    let tpl = TEMPLATES[usize::from(t) % TEMPLATES.len()];
    tpl.replace("{p}", &(p % 4).to_string())
        .replace("{c}", &format!("FUZZ-{step}"))
        .into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn corpus_replays_cleanly() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/session_script");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory exists") {
            super::session_script(&std::fs::read(entry.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n >= 5, "corpus at {} has only {n} inputs", dir.display());
    }

    #[test]
    fn a_login_then_every_template_holds_the_invariants() {
        // Login on both connections (template 0, parameters 1 and 2), then each template
        // but login and logout, then logout.
        let mut program = vec![62, 0, 1, 63, 0, 2];
        for t in 2..super::TEMPLATES.len() as u8 {
            program.extend([62, t, t, 63, t, t + 1]);
        }
        program.extend([62, 1, 0, 63, 1, 0]);
        let (ok, refused, greetings) = super::run_program(&program);
        assert!(
            ok >= 15 && refused >= 5 && greetings >= 1,
            "{ok} {refused} {greetings}"
        );
    }
}
