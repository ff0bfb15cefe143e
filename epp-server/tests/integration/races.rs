//! Races on the real binary: one server process on SQLite, two server processes on one
//! PostgreSQL schema, many TLS sessions (of two registrars) sending at once.
//!
//! - Many concurrent creates of one domain name and one host name: exactly one 1000, the
//!   rest 2302, one creating history row, the winner's data stored.
//! - Copies of one transform with one clTRID on every session (a registrar resending after
//!   a lost connection): executed once, every copy answered with the one response.
//! - Acks of one poll message on every session of its registrar: one 1000, the rest 2303.
//! - Transfer requests for one domain from seven registrars: one pending transfer, one
//!   token, one notification, one poll message.
//! - Executes of one requested transfer with the holder's token on every session of the
//!   gaining registrar: one 1000, the rest 2106.
//! - Deletes of a contact and a host racing domain creates that reference them: deletes
//!   first or creates first, nothing in between.
//! - The lifecycle schedulers of three processes over the same due domains (PostgreSQL):
//!   each domain quarantined once.
//! - Concurrent update (name servers, transfer code), delete, renew and transfer of one
//!   domain, from the sponsor and from another registrar holding the transfer code: every
//!   answer and the final state must equal some serial order of the operations. The
//!   check enumerates the orders of the operations that succeeded, replays each on a
//!   model, keeps those that give the final state and explain every refusal (its exact
//!   code at some point of the order) within real time (an operation answered before
//!   another was sent comes first), and requires the order of the domain's history rows
//!   to be one of them.
//!
//! `EPP_RELIABILITY_ROUNDS` sets the number of rounds (default 3 and 4).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::Value;

use crate::consistency::{self, Sql};
use crate::crash::{Registry, contact_create_org, domain_create, domain_transfer, rounds};
use crate::db::{Db, on_both_backends, runtime};
use crate::epp::{code, host_create};
use crate::harness::{Client, Server};

on_both_backends!(
    concurrent_acks_of_one_message_remove_it_once,
    concurrent_creates_of_one_name_have_one_winner,
    deletes_racing_creates_that_reference_the_objects,
    concurrent_copies_of_one_transform_execute_once,
    concurrent_transfer_requests_leave_one_pending_transfer,
    concurrent_executes_with_one_token_transfer_once,
    concurrent_update_delete_renew_transfer_equal_a_serial_order,
);

/// One server on SQLite; two processes on one PostgreSQL schema.
fn servers(reg: &Registry<'_>, db: &Db) -> Vec<Server> {
    let n = if db.pg().is_some() { 2 } else { 1 };
    (0..n).map(|_| reg.start()).collect()
}

fn backend(db: &Db) -> &'static str {
    if db.pg().is_some() {
        "postgres, two server processes"
    } else {
        "sqlite"
    }
}

/// The history rows of one object: (command, registrar, clTRID), oldest first.
async fn history(sql: &Sql, kind: &str, key: &str) -> Vec<(String, String, String)> {
    sql.rows(&format!(
        "SELECT command, registrar, cl_trid FROM history WHERE object_kind = '{kind}' \
         AND object_key = '{key}' ORDER BY id"
    ))
    .await
    .into_iter()
    .map(|r| {
        let f = |i: usize| r[i].clone().unwrap_or_default();
        (f(0), f(1), f(2))
    })
    .collect()
}

fn concurrent_creates_of_one_name_have_one_winner(db: &Db) {
    let rounds = rounds(3);
    let mut sent = 0;
    runtime().block_on(async {
        let reg = Registry::new(db).await;
        let servers = servers(&reg, db);
        // 12 sessions on one process, 16 over two: reg1 and reg2 alternately.
        let per_server = if servers.len() == 1 { 12 } else { 8 };
        let mut clients: Vec<(&str, Client)> = Vec::new();
        for server in &servers {
            for i in 0..per_server {
                let registrar = if i % 2 == 0 { "reg1" } else { "reg2" };
                clients.push((registrar, reg.session(server, registrar).await));
            }
        }
        let sql = Sql::open(db).await;
        for round in 0..rounds {
            let domain = format!("race{round}.no");
            let host = format!("ns.race{round}.example.com");
            // Holders of their own each round (Norid allows 100 domains per organization):
            // clients[0] is reg1's, clients[1] reg2's.
            let mut holders = Vec::new();
            for c in &mut clients[..2] {
                let r = c.1.call(&contact_create_org(&format!("RC{round}-o"))).await;
                holders.push(crate::crash::element(&r, "contact:id").unwrap().to_owned());
            }
            let holders = &holders;
            for (what, key) in [("domain", &domain), ("host", &host)] {
                let calls = clients.iter_mut().enumerate().map(|(i, (registrar, c))| {
                    let trid = format!("RC{round}-{what}-{i}");
                    let doc = if what == "host" {
                        host_create(key, &trid)
                    } else if *registrar == "reg1" {
                        let ns = ["ns1.example.com", "ns2.example.com"];
                        domain_create(key, &holders[0], "ROLE1R", ns, "Code+1234", &trid)
                    } else {
                        let ns = ["ns1.other.net", "ns1.example.com"];
                        domain_create(key, &holders[1], "ROLE2R", ns, "Code+5678", &trid)
                    };
                    let registrar = *registrar;
                    async move {
                        let r = c.try_call(&doc).await.expect("an answer");
                        (registrar, trid, code(&r).unwrap(), r)
                    }
                });
                let answers = futures_util::future::join_all(calls).await;
                sent += answers.len();
                let winners: Vec<_> = answers.iter().filter(|a| a.2 == 1000).collect();
                assert_eq!(winners.len(), 1, "{what} {key}: {answers:#?}");
                for a in &answers {
                    assert!(
                        [1000, 2302].contains(&a.2),
                        "{what} {key}: {} answered {}",
                        a.1,
                        a.3
                    );
                }
                let (registrar, trid, _, _) = winners[0];
                let rows = history(&sql, what, key).await;
                assert_eq!(
                    rows,
                    vec![(
                        format!("{what}:create"),
                        (*registrar).to_string(),
                        trid.clone()
                    )],
                    "{what} {key}: one create, the winner's"
                );
                let table = if what == "host" { "hosts" } else { "domains" };
                let stored = sql
                    .rows(&format!("SELECT cl_id FROM {table} WHERE name = '{key}'"))
                    .await;
                assert_eq!(stored, vec![vec![Some((*registrar).to_string())]]);
            }
        }
        let checked = consistency::check(db, true).await;
        assert!(checked.objects() > 0);
    });
    eprintln!(
        "race figures ({}): create races {}, creates sent {sent}",
        backend(db),
        2 * rounds
    );
}

/// A registrar that lost a connection resends its transform with the same clTRID
/// (docs/session-replay.md), here on every session at once: the copies execute once, and
/// every copy is answered with the one recorded response, byte for byte.
fn concurrent_copies_of_one_transform_execute_once(db: &Db) {
    let rounds = rounds(3);
    let mut sent = 0;
    runtime().block_on(async {
        let reg = Registry::new(db).await;
        let servers = servers(&reg, db);
        let per_server = if servers.len() == 1 { 8 } else { 6 };
        let mut clients = Vec::new();
        for server in &servers {
            for _ in 0..per_server {
                clients.push(reg.session(server, "reg1").await);
            }
        }
        let sql = Sql::open(db).await;
        for round in 0..rounds {
            let name = format!("resend{round}.no");
            let renewal = format!("renewal{round}.no");
            reg.fixtures(&format!(
                r#"@domain {{"name":"{renewal}","roid":"DOM93{round:02}D-NORID","registrant":"ACME1O","contacts":[{{"type":"tech","id":"ROLE1R"}}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"{EXPIRY}T12:00:00Z"}}"#
            ))
            .await;
            // A holder of its own each round: Norid allows 100 domains per organization.
            let r = clients[0]
                .call(&contact_create_org(&format!("RS{round}-o")))
                .await;
            let holder = crate::crash::element(&r, "contact:id").unwrap().to_owned();
            let copies = [
                ("domain", format!("RS{round}-d"), {
                    let ns = ["ns1.example.com", "ns2.example.com"];
                    domain_create(
                        &name,
                        &holder,
                        "ROLE1R",
                        ns,
                        "Code+1234",
                        &format!("RS{round}-d"),
                    )
                }),
                (
                    "contact",
                    format!("RS{round}-c"),
                    contact_create_org(&format!("RS{round}-c")),
                ),
                // A copy that runs after the first one committed finds the expiry moved:
                // 2306 unless it gets the first copy's answer.
                (
                    "renew",
                    format!("RS{round}-r"),
                    Op::Renew { by: "reg1" }.document(&renewal, &format!("RS{round}-r")),
                ),
            ];
            for (what, trid, doc) in copies {
                let calls = clients.iter_mut().map(|c| {
                    let doc = doc.clone();
                    async move { c.try_call(&doc).await.expect("an answer") }
                });
                let answers = futures_util::future::join_all(calls).await;
                sent += answers.len();
                for a in &answers {
                    assert_eq!(&answers[0], a, "{what}: every copy gets the one response");
                }
                assert_eq!(code(&answers[0]), Some(1000), "{}", answers[0]);
                let rows = sql
                    .rows(&format!(
                        "SELECT object_kind, object_key FROM history WHERE registrar = 'reg1' \
                         AND cl_trid = '{trid}'"
                    ))
                    .await;
                assert_eq!(rows.len(), 1, "{what} executed once: {rows:?}");
            }
        }
        consistency::check(db, true).await;
    });
    eprintln!(
        "race figures ({}): resend races {}, copies sent {sent}",
        backend(db),
        3 * rounds
    );
}

/// A contact and a host are deleted by their sponsor while domains that reference them
/// (registrant and name server) are created on every other session. Some serial order
/// must explain the answers, which leaves two outcomes: the deletes come first (both
/// 1000, every create refused because an object is missing) or some create comes first
/// (every create 1000, both deletes refused as linked); and nothing may reference a
/// deleted object (the consistency check).
fn deletes_racing_creates_that_reference_the_objects(db: &Db) {
    let rounds = rounds(4);
    let mut outcomes = BTreeMap::<&str, usize>::new();
    runtime().block_on(async {
        let reg = Registry::new(db).await;
        let servers = servers(&reg, db);
        let per_server = if servers.len() == 1 { 8 } else { 5 };
        let mut clients = Vec::new();
        for server in &servers {
            for _ in 0..per_server {
                clients.push(reg.session(server, "reg1").await);
            }
        }
        for round in 0..rounds {
            let r = clients[0]
                .call(&contact_create_org(&format!("DR{round}-c")))
                .await;
            assert_eq!(code(&r), Some(1000), "{r}");
            let contact = crate::crash::element(&r, "contact:id").unwrap().to_owned();
            let host = format!("ns.doomed{round}.example.com");
            let r = clients[0]
                .call(&host_create(&host, &format!("DR{round}-h")))
                .await;
            assert_eq!(code(&r), Some(1000), "{r}");
            let epp = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>"#;
            let n = clients.len();
            let mut docs: Vec<Option<String>> = (0..n)
                .map(|k| {
                    let ns = [host.as_str(), "ns1.example.com"];
                    Some(domain_create(
                        &format!("linked{round}x{k}.no"),
                        &contact,
                        "ROLE1R",
                        ns,
                        "Code+1234",
                        &format!("DR{round}-{k}"),
                    ))
                })
                .collect();
            // The deletes go to different processes when there are two, early or late in
            // the batch.
            let first = if round % 2 == 0 { 0 } else { per_server - 1 };
            let deletes = if n > per_server {
                [first, per_server + first]
            } else {
                [first, (first + 1) % n]
            };
            let delete_docs = [
                format!(
                    r#"{epp}<delete><contact:delete xmlns:contact="urn:ietf:params:xml:ns:contact-1.0"><contact:id>{contact}</contact:id></contact:delete></delete><clTRID>DR{round}-dc</clTRID></command></epp>"#
                ),
                format!(
                    r#"{epp}<delete><host:delete xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>{host}</host:name></host:delete></delete><clTRID>DR{round}-dh</clTRID></command></epp>"#
                ),
            ];
            for (slot, doc) in deletes.iter().zip(delete_docs) {
                docs[*slot] = Some(doc);
            }
            let calls = clients.iter_mut().zip(docs).map(|(c, doc)| async move {
                let doc = doc.unwrap();
                let r = c.try_call(&doc).await.expect("an answer");
                (doc.contains(":delete"), code(&r).unwrap(), r)
            });
            let answers = futures_util::future::join_all(calls).await;
            let unexpected: Vec<_> = answers
                .iter()
                .filter(|a| ![1000, 2303, 2305].contains(&a.1))
                .collect();
            assert!(
                unexpected.is_empty(),
                "{unexpected:#?}\nserver warnings:\n{}",
                servers
                    .iter()
                    .flat_map(|s| s.log_lines())
                    .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("2400"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            let (dels, creates): (Vec<_>, Vec<_>) = answers.iter().partition(|a| a.0);
            let deleted = dels.iter().all(|d| d.1 == 1000);
            if deleted {
                for c in &creates {
                    assert_eq!(c.1, 2303, "deleted first, so every create is refused: {}", c.2);
                }
                *outcomes.entry("deletes first").or_default() += 1;
            } else {
                for d in &dels {
                    assert_eq!(d.1, 2305, "a create came first, so deletes are refused: {}", d.2);
                }
                for c in &creates {
                    assert_eq!(c.1, 1000, "a create came first, so every create: {}", c.2);
                }
                *outcomes.entry("creates first").or_default() += 1;
            }
        }
        consistency::check(db, true).await;
    });
    eprintln!(
        "race figures ({}): delete/create races {outcomes:?}",
        backend(db)
    );
}

/// Every session of a registrar acks the same poll message at once: one 1000, the rest
/// 2303, and the queue is one message shorter.
fn concurrent_acks_of_one_message_remove_it_once(db: &Db) {
    let rounds = rounds(3);
    let mut acks = 0;
    runtime().block_on(async {
        let reg = Registry::new(db).await;
        let servers = servers(&reg, db);
        let per_server = if servers.len() == 1 { 8 } else { 4 };
        let mut clients = Vec::new();
        for server in &servers {
            for _ in 0..per_server {
                clients.push(reg.session(server, "reg1").await);
            }
        }
        let mut reg2 = reg.session(&servers[0], "reg2").await;
        let sql = Sql::open(db).await;
        for round in 0..rounds {
            // A transfer away leaves reg1 a message.
            let name = format!("ack{round}.no");
            let transfer_code = format!("Transfer+Ack{round}");
            reg.fixtures(&format!(
                r#"@domain {{"name":"{name}","roid":"DOM96{round:02}D-NORID","registrant":"ACME1O","contacts":[{{"type":"tech","id":"ROLE1R"}}],"ns":["ns1.example.com","ns2.example.com"],"authInfo":"{transfer_code}","clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"2025-06-01T12:00:00Z"}}"#
            ))
            .await;
            let r = reg2
                .call(&domain_transfer(&name, &transfer_code, &format!("AK{round}-t")))
                .await;
            assert_eq!(code(&r), Some(1000), "{r}");
            let before = sql
                .count("SELECT count(*) FROM poll_messages WHERE registrar = 'reg1'")
                .await;
            let r = clients[0].call(&crate::epp::poll_req(&format!("AK{round}-r"))).await;
            assert_eq!(code(&r), Some(1301), "{r}");
            let start = r.find("<msgQ").unwrap();
            let id = r[start..]
                .split("id=\"")
                .nth(1)
                .and_then(|x| x.split('"').next())
                .unwrap()
                .to_owned();
            let calls = clients.iter_mut().enumerate().map(|(k, c)| {
                let doc = format!(
                    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><poll op="ack" msgID="{id}"/><clTRID>AK{round}-{k}</clTRID></command></epp>"#
                );
                async move {
                    let r = c.try_call(&doc).await.expect("an answer");
                    (code(&r).unwrap(), r)
                }
            });
            let answers = futures_util::future::join_all(calls).await;
            acks += answers.len();
            let won = answers.iter().filter(|a| a.0 == 1000).count();
            assert_eq!(won, 1, "{answers:#?}");
            assert!(answers.iter().all(|a| [1000, 2303].contains(&a.0)), "{answers:#?}");
            let after = sql
                .count("SELECT count(*) FROM poll_messages WHERE registrar = 'reg1'")
                .await;
            assert_eq!(after, before - 1);
            let left = sql
                .count(&format!("SELECT count(*) FROM poll_messages WHERE id = {id}"))
                .await;
            assert_eq!(left, 0);
        }
        consistency::check(db, false).await;
    });
    eprintln!(
        "race figures ({}): ack races {rounds}, acks sent {acks}",
        backend(db)
    );
}

/// Seven registrars request the transfer of one domain at once (without the code, so the
/// holder is sent a one-time token): one 1001, the rest 2300 (a transfer is pending), and
/// exactly one token, one notification to the holder and one poll message to the sponsor,
/// all for the winner's request.
fn concurrent_transfer_requests_leave_one_pending_transfer(db: &Db) {
    let rounds = rounds(3);
    let mut sent = 0;
    runtime().block_on(async {
        let reg = Registry::new(db).await;
        let requesters: Vec<String> = (2..=8).map(|n| format!("reg{n}")).collect();
        let mut more = String::new();
        for r in &requesters[1..] {
            more.push_str(&format!("@registrar {r} password=secret-{}\n", &r[3..]));
        }
        reg.fixtures(&more).await;
        let servers = servers(&reg, db);
        let mut clients = Vec::new();
        for (k, r) in requesters.iter().enumerate() {
            clients.push((r.clone(), reg.session(&servers[k % servers.len()], r).await));
        }
        let sql = Sql::open(db).await;
        for round in 0..rounds {
            let name = format!("wanted{round}.no");
            reg.fixtures(&format!(
                r#"@domain {{"name":"{name}","roid":"DOM95{round:02}D-NORID","registrant":"ACME1O","contacts":[{{"type":"tech","id":"ROLE1R"}}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"2025-06-01T12:00:00Z"}}"#
            ))
            .await;
            let notifications = sql.count("SELECT count(*) FROM notifications").await;
            let calls = clients.iter_mut().map(|(r, c)| {
                let doc = format!(
                    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><transfer op="request"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name></domain:transfer></transfer><clTRID>TR{round}-{r}</clTRID></command></epp>"#
                );
                let r = r.clone();
                async move { (r, code(&c.try_call(&doc).await.expect("an answer")).unwrap()) }
            });
            let answers = futures_util::future::join_all(calls).await;
            sent += answers.len();
            let winners: Vec<_> = answers.iter().filter(|a| a.1 == 1001).collect();
            assert_eq!(winners.len(), 1, "{answers:?}");
            assert!(answers.iter().all(|a| [1001, 2300].contains(&a.1)), "{answers:?}");
            let winner = &winners[0].0;
            let tokens = sql
                .rows(&format!(
                    "SELECT requested_by FROM transfer_tokens WHERE domain = '{name}'"
                ))
                .await;
            assert_eq!(tokens, vec![vec![Some(winner.clone())]]);
            let after = sql.count("SELECT count(*) FROM notifications").await;
            assert_eq!(after, notifications + 1, "one token sent to the holder");
            let polls = sql
                .count(&format!(
                    "SELECT count(*) FROM poll_messages WHERE registrar = 'reg1' \
                     AND msg LIKE '%[{name}]%'"
                ))
                .await;
            assert_eq!(polls, 1, "one message to the sponsor");
            let rows = history(&sql, "domain", &name).await;
            assert_eq!(rows.len(), 2, "the fixture's row and the winner's: {rows:?}");
            assert_eq!(&rows[1].1, winner);
        }
        consistency::check(db, true).await;
    });
    eprintln!(
        "race figures ({}): transfer request races {rounds}, requests sent {sent}",
        backend(db)
    );
}

/// Three server processes start at once on one PostgreSQL database where a dozen domains
/// are past their quarantine date, so each process's lifecycle scheduler runs over the
/// same domains at start: each domain is quarantined once (one history row, one poll
/// message to its sponsor), whichever process did it.
#[test]
fn schedulers_of_three_processes_quarantine_each_domain_once() {
    let Some(db) = Db::postgres() else { return };
    const DOMAINS: usize = 12;
    runtime().block_on(async {
        // Between quarantine (2025-03-10) and deletion (2025-04-10) of domains that expired
        // on 2025-01-10.
        let reg = Registry::at(&db, "2025-03-20T12:00:00Z").await;
        let mut fixtures = String::new();
        for k in 0..DOMAINS {
            fixtures.push_str(&format!(
                r#"@domain {{"name":"expired{k}.no","roid":"DOM94{k:02}D-NORID","registrant":"ACME1O","contacts":[{{"type":"tech","id":"ROLE1R"}}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-10T12:00:00Z","exDate":"2025-01-10T12:00:00Z"}}
"#
            ));
        }
        reg.fixtures(&fixtures).await;
        // The first start makes the development CA; the other two start together.
        let first = reg.start();
        let env = reg.env(&[]);
        let mut others: Vec<Server> = (0..2)
            .map(|_| Server::spawn(crate::harness::EPP_SERVER, &env, &[]))
            .collect();
        // Each process's first run is over when its scheduler counted it (a process that
        // lost every domain to the others logs warnings only).
        for s in &mut others {
            s.wait_listening();
        }
        let mut lost = 0;
        for s in std::iter::once(&first).chain(&others) {
            let deadline = Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let (_, body) = s.http_get("/metrics").await;
                if body
                    .lines()
                    .any(|l| l.starts_with("epp_scheduler_runs_total{task=\"lifecycle\""))
                {
                    break;
                }
                assert!(Instant::now() < deadline, "no lifecycle run:\n{}", s.log_text());
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            lost += s
                .log_lines()
                .iter()
                .filter(|l| l.contains("lifecycle step failed") && l.contains("concurrently"))
                .count();
        }
        let sql = Sql::open(&db).await;
        for k in 0..DOMAINS {
            let name = format!("expired{k}.no");
            let rows = history(&sql, "domain", &name).await;
            let q: Vec<_> = rows
                .iter()
                .filter(|r| r.0 == "lifecycle:quarantine")
                .collect();
            assert_eq!(q.len(), 1, "{name}: {rows:?}");
            let polls = sql
                .count(&format!(
                    "SELECT count(*) FROM poll_messages WHERE registrar = 'reg1' \
                     AND msg LIKE 'Domain [{name}] expired%'"
                ))
                .await;
            assert_eq!(polls, 1, "{name}");
        }
        consistency::check(&db, true).await;
        eprintln!(
            "race figures (postgres, three processes): lifecycle race over {DOMAINS} domains \
             ({lost} steps lost to another process, logged as warnings)"
        );
    });
}

/// The gaining registrar executes a requested transfer with the holder's one-time token on
/// every one of its sessions at once: one 1000, the rest 2106 (already the sponsor); one
/// transfer row, the token spent.
fn concurrent_executes_with_one_token_transfer_once(db: &Db) {
    let rounds = rounds(3);
    let mut sent = 0;
    runtime().block_on(async {
        let reg = Registry::new(db).await;
        let servers = servers(&reg, db);
        let per_server = if servers.len() == 1 { 8 } else { 4 };
        let mut clients = Vec::new();
        for server in &servers {
            for _ in 0..per_server {
                clients.push(reg.session(server, "reg2").await);
            }
        }
        let sql = Sql::open(db).await;
        for round in 0..rounds {
            let name = format!("token{round}.no");
            reg.fixtures(&format!(
                r#"@domain {{"name":"{name}","roid":"DOM92{round:02}D-NORID","registrant":"ACME1O","contacts":[{{"type":"tech","id":"ROLE1R"}}],"ns":["ns1.example.com","ns2.example.com"],"clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"2025-06-01T12:00:00Z"}}"#
            ))
            .await;
            let r = clients[0]
                .call(&format!(
                    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><transfer op="request"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name></domain:transfer></transfer><clTRID>TK{round}-q</clTRID></command></epp>"#
                ))
                .await;
            assert_eq!(code(&r), Some(1001), "{r}");
            // The token as the holder received it (nothing delivers the outbox here).
            let body = sql
                .rows("SELECT body FROM notifications ORDER BY id DESC LIMIT 1")
                .await;
            let body = body[0][0].clone().unwrap();
            let token = body
                .lines()
                .find_map(|l| l.strip_prefix("    "))
                .unwrap()
                .trim()
                .to_owned();
            let calls = clients.iter_mut().enumerate().map(|(k, c)| {
                let doc = format!(
                    r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><transfer op="execute"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name></domain:transfer></transfer><extension><no-ext-domain:transfer xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:token>{token}</no-ext-domain:token></no-ext-domain:transfer></extension><clTRID>TK{round}-{k}</clTRID></command></extension></epp>"#
                );
                async move {
                    let r = c.try_call(&doc).await.expect("an answer");
                    (code(&r).unwrap(), r)
                }
            });
            let answers = futures_util::future::join_all(calls).await;
            sent += answers.len();
            assert_eq!(answers.iter().filter(|a| a.0 == 1000).count(), 1, "{answers:#?}");
            assert!(answers.iter().all(|a| [1000, 2106].contains(&a.0)), "{answers:#?}");
            let rows = history(&sql, "domain", &name).await;
            let executes = rows
                .iter()
                .filter(|r| r.0 == "domain:transfer-execute")
                .count();
            assert_eq!(executes, 1, "{rows:?}");
            let tokens = sql
                .count(&format!(
                    "SELECT count(*) FROM transfer_tokens WHERE domain = '{name}'"
                ))
                .await;
            assert_eq!(tokens, 0, "the token is spent");
        }
        consistency::check(db, true).await;
    });
    eprintln!(
        "race figures ({}): token execute races {rounds}, executes sent {sent}",
        backend(db)
    );
}

/// The model of the contested domain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    exists: bool,
    sponsor: String,
    renewed: bool,
    ns: BTreeSet<String>,
    auth: Option<String>,
}

impl State {
    /// A deleted domain: nothing of it is left to compare.
    fn absent() -> State {
        State {
            exists: false,
            sponsor: String::new(),
            renewed: false,
            ns: BTreeSet::new(),
            auth: None,
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    AddNs { by: &'static str, host: String },
    ChangeCode { by: &'static str, code: String },
    Renew { by: &'static str },
    Transfer { by: &'static str, code: String },
    Delete { by: &'static str },
}

/// The expiry of the contested domain, and its transfer code, before each round.
const EXPIRY: &str = "2024-12-20";

impl Op {
    fn by(&self) -> &'static str {
        match self {
            Op::AddNs { by, .. }
            | Op::ChangeCode { by, .. }
            | Op::Renew { by }
            | Op::Transfer { by, .. }
            | Op::Delete { by } => by,
        }
    }

    /// The history row's command.
    fn command(&self) -> &'static str {
        match self {
            Op::AddNs { .. } | Op::ChangeCode { .. } => "domain:update",
            Op::Renew { .. } => "domain:renew",
            Op::Transfer { .. } => "domain:transfer-execute",
            Op::Delete { .. } => "domain:delete",
        }
    }

    fn document(&self, name: &str, trid: &str) -> String {
        let head = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>"#;
        let ns = r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0""#;
        let tail = format!("<clTRID>{trid}</clTRID></command></epp>");
        match self {
            Op::AddNs { host, .. } => format!(
                "{head}<update><domain:update {ns}><domain:name>{name}</domain:name><domain:add>\
                 <domain:ns><domain:hostObj>{host}</domain:hostObj></domain:ns></domain:add>\
                 </domain:update></update>{tail}"
            ),
            Op::ChangeCode { code, .. } => format!(
                "{head}<update><domain:update {ns}><domain:name>{name}</domain:name><domain:chg>\
                 <domain:authInfo><domain:pw>{code}</domain:pw></domain:authInfo></domain:chg>\
                 </domain:update></update>{tail}"
            ),
            Op::Renew { .. } => format!(
                "{head}<renew><domain:renew {ns}><domain:name>{name}</domain:name>\
                 <domain:curExpDate>{EXPIRY}</domain:curExpDate><domain:period unit=\"y\">1\
                 </domain:period></domain:renew></renew>{tail}"
            ),
            Op::Transfer { code, .. } => domain_transfer(name, code, trid),
            Op::Delete { .. } => format!(
                "{head}<delete><domain:delete {ns}><domain:name>{name}</domain:name>\
                 </domain:delete></delete>{tail}"
            ),
        }
    }

    /// The operation on the model: the next state, or the result code of the refusal (the
    /// registry's order of checks: existence, then sponsorship, then the operation's own).
    fn apply(&self, s: &State) -> Result<State, u16> {
        if !s.exists {
            return Err(2303);
        }
        let mut next = s.clone();
        match self {
            Op::Transfer { by, code } => {
                if s.sponsor == *by {
                    return Err(2106);
                }
                if s.auth.as_deref() != Some(code.as_str()) {
                    return Err(2202);
                }
                next.sponsor = (*by).to_owned();
                next.auth = None;
                return Ok(next);
            }
            _ if s.sponsor != self.by() => return Err(2201),
            Op::AddNs { host, .. } => {
                next.ns.insert(host.clone());
            }
            Op::ChangeCode { code, .. } => next.auth = Some(code.clone()),
            Op::Renew { .. } if s.renewed => return Err(2306),
            Op::Renew { .. } => next.renewed = true,
            Op::Delete { .. } => next = State::absent(),
        }
        Ok(next)
    }
}

/// One operation as it happened.
#[derive(Debug)]
struct Done {
    op: Op,
    trid: String,
    code: u16,
    sent: Instant,
    answered: Instant,
}

/// The serial orders of the successful operations (indexes into `done`) that explain
/// everything observed: each succeeds in turn, the final state is `observed`, each
/// refused operation gets its exact code at some point, and real time is respected.
fn explaining_orders(initial: &State, done: &[Done], observed: &State) -> Vec<Vec<usize>> {
    let ok: Vec<usize> = (0..done.len()).filter(|&i| done[i].code == 1000).collect();
    let failed: Vec<usize> = (0..done.len()).filter(|&i| done[i].code != 1000).collect();
    let mut found = Vec::new();
    let mut order = Vec::new();
    let mut states = vec![initial.clone()];
    search(
        done,
        &ok,
        &failed,
        observed,
        &mut order,
        &mut states,
        &mut found,
    );
    found
}

fn search(
    done: &[Done],
    ok: &[usize],
    failed: &[usize],
    observed: &State,
    order: &mut Vec<usize>,
    states: &mut Vec<State>,
    found: &mut Vec<Vec<usize>>,
) {
    if order.len() == ok.len() {
        if states.last() != Some(observed) {
            return;
        }
        // Each refusal fits between the successes at a point its real time allows: after
        // every success answered before it was sent, before every success sent after its
        // answer, where the model refuses it with the code it got.
        let explained = failed.iter().all(|&f| {
            let d = &done[f];
            (0..=order.len()).any(|p| {
                let before_ok = order[p..].iter().all(|&o| done[o].answered >= d.sent);
                let after_ok = order[..p].iter().all(|&o| done[o].sent <= d.answered);
                before_ok && after_ok && d.op.apply(&states[p]) == Err(d.code)
            })
        });
        if explained {
            found.push(order.clone());
        }
        return;
    }
    for &i in ok {
        if order.contains(&i) {
            continue;
        }
        // Real time: an unplaced success answered before `i` was sent must come first.
        if ok
            .iter()
            .any(|&j| j != i && !order.contains(&j) && done[j].answered < done[i].sent)
        {
            continue;
        }
        let Ok(next) = done[i].op.apply(states.last().unwrap()) else {
            continue;
        };
        order.push(i);
        states.push(next);
        search(done, ok, failed, observed, order, states, found);
        states.pop();
        order.pop();
    }
}

/// The contested domain's state as stored.
async fn stored_state(sql: &Sql, name: &str) -> State {
    let rows = sql
        .rows(&format!("SELECT data FROM domains WHERE name = '{name}'"))
        .await;
    let Some(row) = rows.first() else {
        return State::absent();
    };
    let d: Value = serde_json::from_str(row[0].as_deref().unwrap()).unwrap();
    State {
        exists: true,
        sponsor: d["clId"].as_str().unwrap().to_owned(),
        renewed: !d["exDate"].as_str().unwrap().starts_with(EXPIRY),
        ns: d["ns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect(),
        auth: d["authInfo"].as_str().map(str::to_owned),
    }
}

fn concurrent_update_delete_renew_transfer_equal_a_serial_order(db: &Db) {
    let rounds = rounds(4);
    let mut figures = BTreeMap::<&str, usize>::new();
    runtime().block_on(async {
        let reg = Registry::new(db).await;
        let servers = servers(&reg, db);
        // One session per operation, spread over the server processes.
        let by = ["reg1", "reg1", "reg1", "reg1", "reg2", "reg2", "reg2", "reg2", "reg1"];
        let mut clients = Vec::new();
        for (k, registrar) in by.iter().enumerate() {
            clients.push(reg.session(&servers[k % servers.len()], registrar).await);
        }
        let sql = Sql::open(db).await;
        for round in 0..rounds {
            let name = format!("mix{round}.no");
            let transfer_code = format!("Transfer+Mix{round}");
            reg.fixtures(&format!(
                r#"@domain {{"name":"{name}","roid":"DOM97{round:02}D-NORID","registrant":"ACME1O","contacts":[{{"type":"tech","id":"ROLE1R"}}],"ns":["ns1.example.com","ns2.example.com"],"authInfo":"{transfer_code}","clId":"reg1","crId":"reg1","crDate":"2024-01-01T00:00:00Z","exDate":"{EXPIRY}T12:00:00Z"}}"#
            ))
            .await;
            let host = |k: u32| format!("h{}.example.com", (3 * round + k) % 9);
            let mut ops = vec![
                Op::AddNs { by: "reg1", host: host(0) },
                Op::AddNs { by: "reg1", host: host(1) },
                Op::ChangeCode { by: "reg1", code: format!("Changed+{round}x") },
                Op::Renew { by: "reg1" },
                Op::Transfer { by: "reg2", code: transfer_code.clone() },
                Op::Transfer { by: "reg2", code: transfer_code.clone() },
                Op::AddNs { by: "reg2", host: host(2) },
                Op::Renew { by: "reg2" },
            ];
            // Every other round the sponsor also deletes the domain.
            if round % 2 == 1 {
                ops.push(Op::Delete { by: "reg1" });
            }
            let initial = stored_state(&sql, &name).await;
            assert!(initial.exists && initial.auth.as_deref() == Some(transfer_code.as_str()));
            let calls = ops.iter().zip(clients.iter_mut()).enumerate().map(|(k, (op, c))| {
                let trid = format!("MX{round}-{k}");
                let doc = op.document(&name, &trid);
                async move {
                    let sent = Instant::now();
                    let r = c.try_call(&doc).await.expect("an answer");
                    let answered = Instant::now();
                    let code = code(&r).unwrap_or_else(|| panic!("{r}"));
                    Done {
                        op: op.clone(),
                        trid,
                        code,
                        sent,
                        answered,
                    }
                }
            });
            let done = futures_util::future::join_all(calls).await;
            let observed = stored_state(&sql, &name).await;

            // The history rows after the fixture's: the commit order of the successes.
            let rows = history(&sql, "domain", &name).await;
            let committed: Vec<usize> = rows[1..]
                .iter()
                .map(|(command, registrar, trid)| {
                    let k = done
                        .iter()
                        .position(|d| &d.trid == trid)
                        .unwrap_or_else(|| panic!("history row of no operation: {trid}"));
                    assert_eq!(command, done[k].op.command(), "{done:#?}");
                    assert_eq!(registrar, done[k].op.by());
                    k
                })
                .collect();
            let successes: BTreeSet<usize> =
                (0..done.len()).filter(|&k| done[k].code == 1000).collect();
            assert_eq!(
                committed.iter().copied().collect::<BTreeSet<_>>(),
                successes,
                "the history rows are the successes, once each: {done:#?}"
            );
            let orders = explaining_orders(&initial, &done, &observed);
            assert!(
                orders.contains(&committed),
                "no serial order explains round {round} the way the history ordered it \
                 ({} orders explain it): history {committed:?}\nobserved {observed:#?}\n{done:#?}",
                orders.len()
            );
            *figures.entry("rounds").or_default() += 1;
            *figures.entry("operations").or_default() += done.len();
            *figures.entry("successes").or_default() += successes.len();
            *figures.entry("explaining orders").or_default() += orders.len();
        }
        consistency::check(db, true).await;
    });
    eprintln!(
        "race figures ({}): mixed operations {figures:?}",
        backend(db)
    );
}

/// The serial-order check refuses outcomes no serial order gives: a test of the test,
/// without a server.
#[test]
fn serial_order_check_refuses_impossible_outcomes() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + std::time::Duration::from_millis(ms);
    // Overlapping in time unless the test says otherwise.
    let done = |op: Op, code: u16, sent: u64, answered: u64| Done {
        trid: String::new(),
        op,
        code,
        sent: at(sent),
        answered: at(answered),
    };
    let initial = State {
        exists: true,
        sponsor: "reg1".into(),
        renewed: false,
        ns: ["ns1".to_owned()].into(),
        auth: Some("Code+1".into()),
    };
    let transfer = || Op::Transfer {
        by: "reg2",
        code: "Code+1".into(),
    };
    let add = |h: &str| Op::AddNs {
        by: "reg1",
        host: h.into(),
    };
    let after = |f: &dyn Fn(&mut State)| {
        let mut s = initial.clone();
        f(&mut s);
        s
    };
    let transferred = after(&|s| {
        s.sponsor = "reg2".into();
        s.auth = None;
    });

    // One transfer wins, the other is refused as the sponsor's own: explained.
    let ok = [done(transfer(), 1000, 0, 10), done(transfer(), 2106, 0, 10)];
    assert_eq!(
        explaining_orders(&initial, &ok, &transferred),
        vec![vec![0]]
    );
    // Both transfers won: no order.
    let both = [done(transfer(), 1000, 0, 10), done(transfer(), 1000, 0, 10)];
    assert!(explaining_orders(&initial, &both, &transferred).is_empty());
    // Two name servers added, one of them lost (a lost update): no order.
    let lost = [done(add("a"), 1000, 0, 10), done(add("b"), 1000, 0, 10)];
    let only_b = after(&|s| {
        s.ns.insert("b".into());
    });
    assert!(explaining_orders(&initial, &lost, &only_b).is_empty());
    let both_ns = after(&|s| {
        s.ns.extend(["a".to_owned(), "b".to_owned()]);
    });
    assert_eq!(explaining_orders(&initial, &lost, &both_ns).len(), 2);
    // The sponsor changed the code and was answered before the transfer with the old code
    // was sent; the transfer still won: real time forbids the only order that fits.
    let change = Op::ChangeCode {
        by: "reg1",
        code: "Code+2".into(),
    };
    let stale = [
        done(change.clone(), 1000, 0, 5),
        done(transfer(), 1000, 6, 10),
    ];
    assert!(explaining_orders(&initial, &stale, &transferred).is_empty());
    let overlapping = [done(change, 1000, 0, 10), done(transfer(), 1000, 0, 10)];
    let changed_then_transferred = transferred.clone();
    assert!(explaining_orders(&initial, &overlapping, &changed_then_transferred).is_empty());
    // A refusal with the wrong code for every point (2201 to the sponsor): no order.
    let wrong = [done(add("a"), 2201, 0, 10)];
    assert!(explaining_orders(&initial, &wrong, &initial).is_empty());
    // A delete, then a renew refused with 2303: explained; refused with 2306: not.
    let deleted = [
        done(Op::Delete { by: "reg1" }, 1000, 0, 5),
        done(Op::Renew { by: "reg1" }, 2303, 6, 10),
    ];
    assert_eq!(
        explaining_orders(&initial, &deleted, &State::absent()).len(),
        1
    );
    let mut misfit = deleted;
    misfit[1].code = 2306;
    assert!(explaining_orders(&initial, &misfit, &State::absent()).is_empty());
}
