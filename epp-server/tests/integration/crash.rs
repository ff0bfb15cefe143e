//! Crash safety: several TLS sessions create contacts, hosts and domains that reference
//! them (and change the transfer code of some of those domains and transfer them, which
//! queues poll messages, or delete them) while the test
//! kills the server with SIGKILL; the server is started again on the same database. Every
//! create answered 1000 must then exist complete, through EPP `info` and in the tables,
//! and the consistency checker (`consistency.rs`) must find nothing half-written. A few
//! rounds, each killed at a different point of the load, on SQLite and on PostgreSQL.
//!
//! `EPP_RELIABILITY_ROUNDS` sets the number of kills (default 3).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use epp_xml::Timestamp;

use crate::consistency;
use crate::db::{Db, on_both_backends, runtime};
use crate::epp::{TlsTarget, code, domain_info, login, scripts_dir};
use crate::harness::{Client, ClientOptions, Server};

on_both_backends!(kill_9_during_create_load_loses_nothing_answered);

/// The registry clock the tests run at (the time of epp-session's registry fixtures, so
/// the documents' dates are valid).
pub(crate) const CLOCK: &str = "2024-12-01T10:00:00Z";

/// `EPP_RELIABILITY_ROUNDS`, or `default`.
pub(crate) fn rounds(default: u32) -> u32 {
    std::env::var("EPP_RELIABILITY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// epp-session's registry fixtures (reg1 and reg2 with contacts and hosts), loaded into
/// a database, with the settings to start any number of servers on it at [`CLOCK`].
pub(crate) struct Registry<'a> {
    pub(crate) db: &'a Db,
    offset: String,
}

impl<'a> Registry<'a> {
    /// Loads the fixtures, every registrar allowed 9 sessions (the server's ceiling).
    pub(crate) async fn new(db: &'a Db) -> Registry<'a> {
        Self::at(db, CLOCK).await
    }

    /// [`Registry::new`] with the servers' registry clock starting at `clock` (the fixtures
    /// keep their own dates).
    pub(crate) async fn at(db: &'a Db, clock: &str) -> Registry<'a> {
        let clock = Timestamp::parse(clock).unwrap();
        let text = std::fs::read_to_string(scripts_dir().join("fixtures/registry.inc"))
            .unwrap()
            .replace("sessions=3", "sessions=9");
        let mut target = TlsTarget::new(db).await.with_server_clock(clock);
        target.fixtures(&text).await;
        drop(target);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let ms = clock.unix_micros() / 1000 - i64::try_from(now).unwrap();
        let sign = if ms < 0 { "-" } else { "+" };
        Registry {
            db,
            offset: format!("{sign}{}ms", ms.unsigned_abs()),
        }
    }

    /// Loads more fixture lines (`@domain {...}`) from the test process.
    pub(crate) async fn fixtures(&self, text: &str) {
        let clock = Timestamp::parse(CLOCK).unwrap();
        let mut target = TlsTarget::new(self.db).await.with_server_clock(clock);
        target.fixtures(text).await;
    }

    /// Starts a server on the database; its registry clock continues from [`CLOCK`] at the
    /// time the fixtures were loaded, across restarts.
    pub(crate) fn start(&self) -> Server {
        self.start_with(&[])
    }

    /// [`Registry::start`] with more configuration overrides.
    pub(crate) fn start_with(&self, extra: &[(&str, &str)]) -> Server {
        Server::start(&self.env(extra))
    }

    /// The server's environment: the database, no notifier, the registry clock, `extra`.
    pub(crate) fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.db.env_with(&[
            ("EPP_SERVER__NOTIFY__METHOD", "off"),
            ("EPP_SERVER__TESTING__CLOCK_OFFSET", &self.offset),
        ]);
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    /// Client options trusting the development CA the first server created.
    pub(crate) fn options(&self) -> ClientOptions {
        ClientOptions::trusting_file(&self.db.data.join("dev-tls").join("ca.pem"))
    }

    /// A logged-in session of `registrar` (password `secret-<n>` of the fixtures).
    pub(crate) async fn session(&self, server: &Server, registrar: &str) -> Client {
        let (mut c, _) = Client::open(server.epp, &self.options()).await;
        let pw = format!("secret-{}", &registrar[3..]);
        let r = c.call(&login(registrar, &pw, "LOGIN")).await;
        assert_eq!(code(&r), Some(1000), "{r}\n{}", server.log_text());
        c
    }
}

const EPP: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">"#;
const DOMAIN_NS: &str = r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0""#;

/// An organization contact (a valid registrant), its id chosen by the server.
pub(crate) fn contact_create_org(trid: &str) -> String {
    format!(
        r#"{EPP}<command><create><contact:create xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"><contact:id>auto</contact:id><contact:postalInfo type="loc"><contact:name>Kari Nordmann</contact:name><contact:org>Ny Bedrift AS</contact:org><contact:addr><contact:street>Storgata 5</contact:street><contact:city>Oslo</contact:city><contact:pc>0150</contact:pc><contact:cc>NO</contact:cc></contact:addr></contact:postalInfo><contact:email>post@nybedrift.no</contact:email><contact:authInfo><contact:pw/></contact:authInfo></contact:create></create><extension><no-ext-contact:create xmlns:no-ext-contact="http://www.norid.no/xsd/no-ext-contact-1.0"><no-ext-contact:type>organization</no-ext-contact:type><no-ext-contact:identity type="organizationNumber">985821585</no-ext-contact:identity></no-ext-contact:create></extension><clTRID>{trid}</clTRID></command></epp>"#
    )
}

/// A role contact (a valid tech contact) of organization `org`.
pub(crate) fn contact_create_role(org: &str, trid: &str) -> String {
    format!(
        r#"{EPP}<command><create><contact:create xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"><contact:id>auto</contact:id><contact:postalInfo type="loc"><contact:name>Hostmaster</contact:name><contact:addr><contact:street>Storgata 5</contact:street><contact:city>Oslo</contact:city><contact:pc>0150</contact:pc><contact:cc>NO</contact:cc></contact:addr></contact:postalInfo><contact:email>hostmaster@nybedrift.no</contact:email><contact:authInfo><contact:pw/></contact:authInfo></contact:create></create><extension><no-ext-contact:create xmlns:no-ext-contact="http://www.norid.no/xsd/no-ext-contact-1.0"><no-ext-contact:type>role</no-ext-contact:type><no-ext-contact:organization>{org}</no-ext-contact:organization></no-ext-contact:create></extension><clTRID>{trid}</clTRID></command></epp>"#
    )
}

/// A domain create for one year with two name servers and a transfer code.
pub(crate) fn domain_create(
    name: &str,
    registrant: &str,
    tech: &str,
    ns: [&str; 2],
    code: &str,
    trid: &str,
) -> String {
    format!(
        r#"{EPP}<command><create><domain:create {DOMAIN_NS}><domain:name>{name}</domain:name><domain:period unit="y">1</domain:period><domain:ns><domain:hostObj>{}</domain:hostObj><domain:hostObj>{}</domain:hostObj></domain:ns><domain:registrant>{registrant}</domain:registrant><domain:contact type="tech">{tech}</domain:contact><domain:authInfo><domain:pw>{code}</domain:pw></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>Kari Nordmann</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>{trid}</clTRID></command></epp>"#,
        ns[0], ns[1]
    )
}

/// Norid's transfer execute with the transfer code.
pub(crate) fn domain_transfer(name: &str, code: &str, trid: &str) -> String {
    format!(
        r#"{EPP}<extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><transfer op="execute"><domain:transfer {DOMAIN_NS}><domain:name>{name}</domain:name><domain:authInfo><domain:pw>{code}</domain:pw></domain:authInfo></domain:transfer></transfer><clTRID>{trid}</clTRID></command></extension></epp>"#
    )
}

/// A domain update that sets a new transfer code.
pub(crate) fn domain_update_code(name: &str, code: &str, trid: &str) -> String {
    format!(
        r#"{EPP}<command><update><domain:update {DOMAIN_NS}><domain:name>{name}</domain:name><domain:chg><domain:authInfo><domain:pw>{code}</domain:pw></domain:authInfo></domain:chg></domain:update></update><clTRID>{trid}</clTRID></command></epp>"#
    )
}

/// A domain delete at once.
pub(crate) fn domain_delete(name: &str, trid: &str) -> String {
    format!(
        r#"{EPP}<command><delete><domain:delete {DOMAIN_NS}><domain:name>{name}</domain:name></domain:delete></delete><clTRID>{trid}</clTRID></command></epp>"#
    )
}

pub(crate) fn contact_info(id: &str, trid: &str) -> String {
    format!(
        r#"{EPP}<command><info><contact:info xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"><contact:id>{id}</contact:id></contact:info></info><clTRID>{trid}</clTRID></command></epp>"#
    )
}

pub(crate) fn host_info(name: &str, trid: &str) -> String {
    format!(
        r#"{EPP}<command><info><host:info xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>{name}</host:name></host:info></info><clTRID>{trid}</clTRID></command></epp>"#
    )
}

/// The text between `<tag>` and `</tag>` in a reply.
pub(crate) fn element<'r>(reply: &'r str, tag: &str) -> Option<&'r str> {
    let start = reply.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + reply[start..].find(&format!("</{tag}>"))?;
    Some(&reply[start..end])
}

/// A create (or transfer) the load sent, and what became of it.
#[derive(Debug, Clone)]
enum Sent {
    Contact { id: String },
    Host { name: String },
    Domain(DomainSent),
    Update { name: String, code: String },
    Transfer { name: String },
    Delete { name: String },
}

#[derive(Debug, Clone)]
struct DomainSent {
    name: String,
    registrant: String,
    tech: String,
    ns: [String; 2],
}

/// Everything the load did: answered commands (with their codes) and commands whose
/// answer was lost to the kill.
#[derive(Default, Clone)]
struct Journal {
    answered: Vec<(Sent, u16)>,
    lost: Vec<Lost>,
    /// Lost commands sent again after the restart with their clTRID.
    resent: usize,
}

/// A command whose answer the kill took: what it was, to send it again.
#[derive(Debug, Clone)]
struct Lost {
    sent: Sent,
    registrar: &'static str,
    document: String,
}

/// One load session pair (reg1 creates, reg2 transfers some of reg1's domains) until the
/// connection breaks or `stop` is set.
async fn load_worker(
    reg1: &mut Client,
    reg2: &mut Client,
    round: u32,
    worker: u32,
    journal: &Mutex<Journal>,
    acked: &AtomicU64,
    stop: &AtomicBool,
) {
    for i in 0..400u32 {
        // The kill ends the load: the command in flight then, or the next one, is lost.
        if stop.load(Ordering::Relaxed) && i > 0 {
            return;
        }
        let tag = format!("c{round}w{worker}n{i}");
        let trid = |s: &str| format!("{tag}-{s}");
        // The answer, or None (recorded as lost) when the connection broke.
        macro_rules! call {
            ($client:ident, $doc:expr, $what:expr) => {{
                let document = $doc;
                match $client.try_call(&document).await {
                    Some(r) => r,
                    None => {
                        journal.lock().unwrap().lost.push(Lost {
                            sent: $what,
                            registrar: stringify!($client),
                            document,
                        });
                        return;
                    }
                }
            }};
        }
        let r = call!(
            reg1,
            contact_create_org(&trid("o")),
            Sent::Contact { id: String::new() }
        );
        let org = element(&r, "contact:id").map(str::to_owned);
        let rc = code(&r).unwrap();
        let Some(org) = org.filter(|_| rc == 1000) else {
            panic!("org contact create answered {r}");
        };
        journal
            .lock()
            .unwrap()
            .answered
            .push((Sent::Contact { id: org.clone() }, rc));
        acked.fetch_add(1, Ordering::Relaxed);

        let r = call!(
            reg1,
            contact_create_role(&org, &trid("r")),
            Sent::Contact { id: String::new() }
        );
        let rc = code(&r).unwrap();
        let Some(tech) = element(&r, "contact:id")
            .map(str::to_owned)
            .filter(|_| rc == 1000)
        else {
            panic!("role contact create answered {r}");
        };
        journal
            .lock()
            .unwrap()
            .answered
            .push((Sent::Contact { id: tech.clone() }, rc));
        acked.fetch_add(1, Ordering::Relaxed);

        let ns = [
            format!("ns1.{tag}.example.com"),
            format!("ns2.{tag}.example.com"),
        ];
        for (k, host) in ns.iter().enumerate() {
            let r = call!(
                reg1,
                crate::epp::host_create(host, &trid(&format!("h{k}"))),
                Sent::Host { name: host.clone() }
            );
            let rc = code(&r).unwrap();
            assert_eq!(rc, 1000, "{r}");
            journal
                .lock()
                .unwrap()
                .answered
                .push((Sent::Host { name: host.clone() }, rc));
            acked.fetch_add(1, Ordering::Relaxed);
        }

        let name = format!("{tag}.no");
        let transfer_code = format!("Code+{round}{worker}{i:04}");
        let doc = domain_create(
            &name,
            &org,
            &tech,
            [&ns[0], &ns[1]],
            &transfer_code,
            &trid("d"),
        );
        let sent = DomainSent {
            name: name.clone(),
            registrant: org,
            tech,
            ns,
        };
        let r = call!(reg1, doc, Sent::Domain(sent.clone()));
        let rc = code(&r).unwrap();
        assert_eq!(rc, 1000, "{r}");
        journal
            .lock()
            .unwrap()
            .answered
            .push((Sent::Domain(sent), rc));
        acked.fetch_add(1, Ordering::Relaxed);

        // Every third domain gets a new transfer code and moves to reg2 with it (two poll
        // messages in the same commit); every third one after it is deleted.
        if i % 3 == 1 {
            let new_code = format!("Moved+{round}{worker}{i:04}");
            let r = call!(
                reg1,
                domain_update_code(&name, &new_code, &trid("u")),
                Sent::Update {
                    name: name.clone(),
                    code: new_code.clone()
                }
            );
            let rc = code(&r).unwrap();
            assert_eq!(rc, 1000, "{r}");
            journal.lock().unwrap().answered.push((
                Sent::Update {
                    name: name.clone(),
                    code: new_code.clone(),
                },
                rc,
            ));
            acked.fetch_add(1, Ordering::Relaxed);
            let r = call!(
                reg2,
                domain_transfer(&name, &new_code, &trid("t")),
                Sent::Transfer { name: name.clone() }
            );
            let rc = code(&r).unwrap();
            assert_eq!(rc, 1000, "{r}");
            journal
                .lock()
                .unwrap()
                .answered
                .push((Sent::Transfer { name }, rc));
            acked.fetch_add(1, Ordering::Relaxed);
        } else if i % 3 == 2 {
            let r = call!(
                reg1,
                domain_delete(&name, &trid("x")),
                Sent::Delete { name: name.clone() }
            );
            let rc = code(&r).unwrap();
            assert_eq!(rc, 1000, "{r}");
            journal
                .lock()
                .unwrap()
                .answered
                .push((Sent::Delete { name }, rc));
            acked.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Figures of one backend's run.
#[derive(Debug, Default)]
struct Figures {
    kills: u32,
    answered: usize,
    lost: usize,
    lost_committed: usize,
    resent: usize,
    infos: usize,
    checked: consistency::Checked,
}

/// Checks every answered create over EPP on a fresh server: it exists, complete. Returns
/// the number of objects checked and how many of the lost commands had committed.
async fn verify_answered(reg: &Registry<'_>, server: &Server, journal: &Journal) -> (usize, usize) {
    // None: a transfer whose answer was lost, which may or may not have committed.
    let mut sponsor: BTreeMap<String, Option<&str>> = BTreeMap::new();
    let mut deleted = BTreeSet::new();
    for (sent, _) in &journal.answered {
        match sent {
            Sent::Transfer { name } => {
                sponsor.insert(name.clone(), Some("reg2"));
            }
            Sent::Delete { name } => {
                deleted.insert(name.clone());
            }
            _ => {}
        }
    }
    // Lost deletes may have committed.
    let mut maybe_deleted = BTreeSet::new();
    for lost in &journal.lost {
        match &lost.sent {
            Sent::Transfer { name } => {
                sponsor.insert(name.clone(), None);
            }
            Sent::Delete { name } => {
                maybe_deleted.insert(name.clone());
            }
            _ => {}
        }
    }
    let mut reg1 = reg.session(server, "reg1").await;
    let mut reg2 = reg.session(server, "reg2").await;
    let mut infos = 0;
    for (n, (sent, rc)) in journal.answered.iter().enumerate() {
        // New sessions before the commands-per-session limit (1200) ends them.
        if n > 0 && n % 500 == 0 {
            reg1 = reg.session(server, "reg1").await;
            reg2 = reg.session(server, "reg2").await;
        }
        assert_eq!(*rc, 1000);
        let trid = format!("V-{n}");
        match sent {
            Sent::Contact { id } => {
                let r = reg1.call(&contact_info(id, &trid)).await;
                assert_eq!(
                    code(&r),
                    Some(1000),
                    "contact {id} answered 1000 is gone: {r}"
                );
                assert_eq!(element(&r, "contact:id"), Some(id.as_str()), "{r}");
            }
            Sent::Host { name } => {
                let r = reg1.call(&host_info(name, &trid)).await;
                assert_eq!(
                    code(&r),
                    Some(1000),
                    "host {name} answered 1000 is gone: {r}"
                );
            }
            Sent::Domain(d) if deleted.contains(&d.name) => {
                let r = reg1.call(&domain_info(&d.name, &trid)).await;
                assert_eq!(
                    code(&r),
                    Some(2303),
                    "domain {} deleted with 1000: {r}",
                    d.name
                );
            }
            Sent::Domain(d)
                if maybe_deleted.contains(&d.name)
                    && code(&reg1.call(&domain_info(&d.name, &trid)).await) == Some(2303) => {}
            Sent::Domain(d) => {
                let owner = match sponsor.get(&d.name) {
                    None => "reg1",
                    Some(Some(owner)) => owner,
                    Some(None) => {
                        let r = reg1.call(&domain_info(&d.name, &trid)).await;
                        let owner = element(&r, "domain:clID").unwrap_or_default();
                        assert!(["reg1", "reg2"].contains(&owner), "{r}");
                        if owner == "reg1" { "reg1" } else { "reg2" }
                    }
                };
                let client = if owner == "reg1" {
                    &mut reg1
                } else {
                    &mut reg2
                };
                let r = client.call(&domain_info(&d.name, &trid)).await;
                assert_eq!(
                    code(&r),
                    Some(1000),
                    "domain {} answered 1000 is gone: {r}",
                    d.name
                );
                for want in [
                    format!("<domain:registrant>{}</domain:registrant>", d.registrant),
                    format!(r#"<domain:contact type="tech">{}</domain:contact>"#, d.tech),
                    format!("<domain:hostObj>{}</domain:hostObj>", d.ns[0]),
                    format!("<domain:hostObj>{}</domain:hostObj>", d.ns[1]),
                    format!("<domain:clID>{owner}</domain:clID>"),
                ] {
                    assert!(r.contains(&want), "domain {}: no {want} in {r}", d.name);
                }
            }
            // The new transfer code, unless the domain moved on (transfer, delete) since.
            Sent::Update { name, code } => {
                if deleted.contains(name) || sponsor.contains_key(name) {
                    continue;
                }
                let r = reg1.call(&domain_info(name, &trid)).await;
                let want = format!("<domain:pw>{code}</domain:pw>");
                assert!(r.contains(&want), "domain {name}: no {want} in {r}");
            }
            Sent::Transfer { .. } | Sent::Delete { .. } => continue,
        }
        infos += 1;
    }
    // A command lost to the kill either committed (complete: the consistency check) or
    // left nothing.
    let mut committed = 0;
    for (n, Lost { sent, .. }) in journal.lost.iter().enumerate() {
        let trid = format!("L-{n}");
        let r = match sent {
            Sent::Host { name } => reg1.call(&host_info(name, &trid)).await,
            Sent::Domain(d) => reg1.call(&domain_info(&d.name, &trid)).await,
            Sent::Delete { name } => {
                let r = reg1.call(&domain_info(name, &trid)).await;
                if code(&r) == Some(2303) {
                    committed += 1;
                }
                continue;
            }
            // An update leaves no trace that tells from outside whether it committed; the
            // resend below answers that.
            Sent::Update { .. } => continue,
            Sent::Transfer { name } => {
                let r = reg1.call(&domain_info(name, &trid)).await;
                if r.contains("<domain:clID>reg2</domain:clID>") {
                    committed += 1;
                }
                continue;
            }
            // The server chooses contact ids: a lost one cannot be looked up by id.
            Sent::Contact { .. } => continue,
        };
        match code(&r) {
            Some(1000) => committed += 1,
            Some(2303) => {}
            _ => panic!("{sent:?}: {r}"),
        }
    }
    (infos, committed)
}

/// After a restart: the answered commands are all there, the lost ones are sent again.
async fn after_restart(
    reg: &Registry<'_>,
    server: &Server,
    journal: &mut Journal,
    figures: &mut Figures,
) {
    let (infos, lost_committed) = verify_answered(reg, server, journal).await;
    figures.infos += infos;
    figures.lost_committed += lost_committed;
    figures.lost += journal.lost.len();
    resend_lost(reg, server, journal).await;
}

/// Sends every lost command again with its clTRID, as a registrar does after a lost
/// connection: each is answered 1000 (from the replay record if it had committed, else it
/// runs now) and executed exactly once. The resent commands join the answered ones.
async fn resend_lost(reg: &Registry<'_>, server: &Server, journal: &mut Journal) {
    let sql = consistency::Sql::open(reg.db).await;
    let mut reg1 = reg.session(server, "reg1").await;
    let mut reg2 = reg.session(server, "reg2").await;
    for lost in std::mem::take(&mut journal.lost) {
        let client = if lost.registrar == "reg1" {
            &mut reg1
        } else {
            &mut reg2
        };
        let r = client.call(&lost.document).await;
        assert_eq!(code(&r), Some(1000), "{:?} sent again: {r}", lost.sent);
        let trid = element(&lost.document, "clTRID").unwrap();
        let executed = sql
            .count(&format!(
                "SELECT count(*) FROM history WHERE registrar = '{}' AND cl_trid = '{trid}'",
                lost.registrar
            ))
            .await;
        assert_eq!(executed, 1, "{:?} executed once", lost.sent);
        let sent = match lost.sent {
            Sent::Contact { .. } => Sent::Contact {
                id: element(&r, "contact:id").unwrap().to_owned(),
            },
            other => other,
        };
        journal.answered.push((sent, 1000));
        journal.resent += 1;
    }
}

fn kill_9_during_create_load_loses_nothing_answered(db: &Db) {
    kill_during_load(db, 1);
}

/// Two server processes on one PostgreSQL database, the load spread over both; one is
/// killed while the other keeps serving (and committing), then started again.
#[test]
fn postgres_kill_9_of_one_of_two_processes_loses_nothing_answered() {
    if let Some(db) = Db::postgres() {
        kill_during_load(&db, 2);
    }
}

fn kill_during_load(db: &Db, processes: usize) {
    let kills = rounds(3);
    let figures = runtime().block_on(async {
        let reg = Registry::new(db).await;
        let journal = Mutex::new(Journal::default());
        let mut figures = Figures::default();
        // The processes that survive every kill.
        let mut others = Vec::new();
        for round in 0..kills {
            let mut server = reg.start();
            if others.len() + 1 < processes {
                others.push(reg.start());
            }
            if round > 0 {
                let mut j = std::mem::take(&mut *journal.lock().unwrap());
                after_restart(&reg, &server, &mut j, &mut figures).await;
                *journal.lock().unwrap() = j;
            }
            let workers = 4u32;
            let mut pairs = Vec::new();
            for w in 0..workers as usize {
                let target = match w % processes {
                    0 => &server,
                    k => &others[k - 1],
                };
                pairs.push((
                    reg.session(target, "reg1").await,
                    reg.session(target, "reg2").await,
                ));
            }
            let acked = AtomicU64::new(0);
            let stop = AtomicBool::new(false);
            // Kill points move through the load's cycle of commands from round to round.
            let kill_after = 15 + 23 * u64::from(round);
            let load =
                futures_util::future::join_all(pairs.iter_mut().enumerate().map(|(w, (a, b))| {
                    load_worker(a, b, round, w as u32, &journal, &acked, &stop)
                }));
            let killer = async {
                while acked.load(Ordering::Relaxed) < kill_after {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                server.signal("KILL");
                stop.store(true, Ordering::Relaxed);
            };
            tokio::join!(load, killer);
            let status = server.wait_exit(Duration::from_secs(10));
            assert!(!status.success(), "the server was killed: {status}");
            figures.kills += 1;
            let checked = consistency::check(db, true).await;
            figures.checked = checked;
        }
        // The last kill's survivors, over EPP and in the tables.
        let server = reg.start();
        let mut journal = journal.into_inner().unwrap();
        after_restart(&reg, &server, &mut journal, &mut figures).await;
        let (infos, _) = verify_answered(&reg, &server, &journal).await;
        figures.infos += infos;
        figures.checked = consistency::check(db, true).await;
        figures.answered = journal.answered.len() - journal.resent;
        figures.resent = journal.resent;
        assert!(
            figures.lost > 0,
            "no command was in flight at a kill: the test did not test anything"
        );
        figures
    });
    let c = figures.checked;
    eprintln!(
        "crash figures ({}): kills {}, commands answered 1000: {}, in flight at \
         a kill: {} (found committed after restart: {}; all sent again with their clTRID: \
         {}, each answered 1000 and executed once), EPP infos of answered objects: {}, \
         final consistency check: {} domains, {} contacts, {} hosts, {} history rows, {} poll \
         messages",
        match (db.pg().is_some(), processes) {
            (false, _) => "sqlite",
            (true, 1) => "postgres",
            (true, _) => "postgres, one of two processes killed",
        },
        figures.kills,
        figures.answered,
        figures.lost,
        figures.lost_committed,
        figures.resent,
        figures.infos,
        c.domains,
        c.contacts,
        c.hosts,
        c.history_rows,
        c.poll_messages,
    );
}

/// The checker finds each kind of damage it claims to find: a test of the test, on a small
/// database made over EPP and damaged on purpose inside transactions that roll back.
#[test]
fn consistency_checker_finds_half_written_objects() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let reg = Registry::new(&db).await;
        let server = reg.start();
        let mut reg1 = reg.session(&server, "reg1").await;
        let mut reg2 = reg.session(&server, "reg2").await;
        let r = reg1.call(&contact_create_org("D-1")).await;
        let org = element(&r, "contact:id").unwrap().to_owned();
        let r = reg1.call(&contact_create_role(&org, "D-2")).await;
        let tech = element(&r, "contact:id").unwrap().to_owned();
        for (i, h) in ["ns1.damage.example.com", "ns2.damage.example.com"]
            .iter()
            .enumerate()
        {
            let r = reg1
                .call(&crate::epp::host_create(h, &format!("D-3{i}")))
                .await;
            assert_eq!(code(&r), Some(1000), "{r}");
        }
        let doc = domain_create(
            "damage.no",
            &org,
            &tech,
            ["ns1.damage.example.com", "ns2.damage.example.com"],
            "Code+4242",
            "D-4",
        );
        let r = reg1.call(&doc).await;
        assert_eq!(code(&r), Some(1000), "{r}");
        let r = reg2
            .call(&domain_transfer("damage.no", "Code+4242", "D-5"))
            .await;
        assert_eq!(code(&r), Some(1000), "{r}");
        drop(server);

        let sql = consistency::Sql::sqlite_writable(&db);
        let (checked, bad) = consistency::violations(&sql, true).await;
        assert!(bad.is_empty(), "{bad:?}");
        assert!(checked.objects() > 0);
        let last_domain_row = "(SELECT max(id) FROM history WHERE object_kind = 'domain' \
                               AND object_key = 'damage.no')";
        let damages = [
            (
                "DELETE FROM history WHERE object_kind = 'domain' AND object_key = 'damage.no'"
                    .to_owned(),
                "has no history row",
            ),
            (
                "DELETE FROM domain_hosts WHERE domain = 'damage.no'".to_owned(),
                "domain_hosts rows differ",
            ),
            (
                "DELETE FROM domain_contacts WHERE domain = 'damage.no'".to_owned(),
                "domain without a tech contact",
            ),
            (
                "UPDATE domains SET registrant = 'GONE1O' WHERE name = 'damage.no'".to_owned(),
                "missing sponsor or registrant",
            ),
            (
                format!("DELETE FROM contacts WHERE id = '{tech}'"),
                "domain contact link to a missing domain or contact",
            ),
            (
                format!("DELETE FROM history WHERE id = {last_domain_row}"),
                "differs from the stored object",
            ),
            (
                format!("UPDATE history SET before_data = '{{}}' WHERE id = {last_domain_row}"),
                "does not start where",
            ),
            (
                "DELETE FROM poll_messages".to_owned(),
                "transfer poll messages do not match",
            ),
            ("DELETE FROM replays".to_owned(), "has no replay record"),
            (
                "UPDATE hosts SET superordinate = 'damage.no' \
                 WHERE name = 'ns1.damage.example.com'"
                    .to_owned(),
                "superordinate column",
            ),
            (
                "UPDATE sequences SET next_value = 1 WHERE name = 'domain_roid'".to_owned(),
                "would issue",
            ),
        ];
        for (damage, found) in damages {
            sql.execute(&format!("BEGIN; {damage};"));
            let (_, bad) = consistency::violations(&sql, true).await;
            sql.execute("ROLLBACK");
            assert!(
                bad.iter().any(|b| b.contains(found)),
                "{damage}: expected a violation with {found:?}, got {bad:?}"
            );
        }
    });
}

/// Whether `strace` can trace a process here (it is installed and ptrace is allowed).
fn strace_works() -> bool {
    std::process::Command::new("strace")
        .args(["-qq", "-e", "trace=none", "-o", "/dev/null", "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether every thread of `pid` is traced.
fn all_threads_traced(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("status")).is_ok_and(|s| {
            s.lines()
                .any(|l| l.starts_with("TracerPid:") && l.trim_end() != "TracerPid:\t0")
        })
    })
}

/// The README's durability claim, measured on the real binary: with the default
/// `sqlite_durability = "full"` the server syncs the SQLite WAL for every commit before it
/// answers 1000 (one create at a time, so one group commit each), while "normal" does not
/// (which shows the measurement tells them apart). `strace` attaches to the running server
/// and counts `fsync`/`fdatasync` calls on the `-wal` file; without strace (or ptrace) the
/// test prints a notice and passes.
#[test]
fn sqlite_full_durability_syncs_the_wal_before_each_answer() {
    if !strace_works() {
        eprintln!("skipping: strace is not installed or ptrace is not allowed");
        return;
    }
    const CREATES: usize = 10;
    for (durability, per_commit) in [("full", true), ("normal", false)] {
        let db = Db::sqlite();
        let syncs = runtime().block_on(async {
            let reg = Registry::new(&db).await;
            let server = reg.start_with(&[("EPP_SERVER__DATABASE__SQLITE_DURABILITY", durability)]);
            let mut c = reg.session(&server, "reg1").await;
            let trace = db.data.with_file_name("syscalls.txt");
            let mut strace = std::process::Command::new("strace")
                .args([
                    "-f",
                    "-qq",
                    "-y",
                    "-e",
                    "trace=fsync,fdatasync",
                    "-e",
                    "signal=none",
                ])
                .arg("-o")
                .arg(&trace)
                .args(["-p", &server.pid().to_string()])
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !all_threads_traced(server.pid()) {
                // Attaching to a process that is not strace's child needs ptrace rights
                // (Yama's ptrace_scope, CAP_SYS_PTRACE) that a CI container may lack.
                if let Some(status) = strace.try_wait().unwrap() {
                    eprintln!("skipping: strace could not attach to the server ({status})");
                    return None;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "strace did not attach"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for i in 0..CREATES {
                let name = format!("ns{i}.durable.example.com");
                let r = c
                    .call(&crate::epp::host_create(&name, &format!("S-{i}")))
                    .await;
                assert_eq!(code(&r), Some(1000), "{r}");
            }
            // SIGTERM makes strace detach; the server runs on until dropped.
            let status = std::process::Command::new("kill")
                .args(["-s", "TERM", &strace.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            strace.wait().unwrap();
            let syncs = std::fs::read_to_string(&trace)
                .unwrap()
                .lines()
                .filter(|l| l.contains("sync(") && l.contains("registry.sqlite3-wal>"))
                .count();
            Some(syncs)
        });
        let Some(syncs) = syncs else { return };
        eprintln!("durability {durability}: {syncs} WAL syncs for {CREATES} creates");
        if per_commit {
            assert!(
                syncs >= CREATES,
                "{durability}: {syncs} WAL syncs for {CREATES} creates"
            );
        } else {
            assert!(
                syncs < CREATES,
                "{durability}: {syncs} WAL syncs for {CREATES} creates"
            );
        }
    }
}
