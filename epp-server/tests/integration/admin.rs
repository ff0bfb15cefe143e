//! The admin subcommands of the shipped binary, on SQLite and on PostgreSQL: each test
//! runs the real `epp-server` and checks the result through the store itself.

use epp_server::store::{AnyStore, SqliteConfig, StoreConfig};
use epp_session::store::model::{
    CertFingerprint, Lifecycle, LoginCheck, ObjectKey, ObjectKind, PollPayload,
};
use epp_session::store::suite::{base, base_domain, cid, commit1, ctid, dn};
use epp_session::store::{Change, Store};
use epp_xml::{Password, Timestamp};

use crate::db::{Db, on_both_backends};
use crate::harness::{TestCa, sha256_hex, tls_file_env};

on_both_backends!(
    registrars_are_added_and_listed_without_secrets,
    disable_and_enable_control_login,
    set_password_replaces_the_password,
    certificates_are_pinned_and_unpinned,
    session_limits_are_bounded,
    migrate_is_idempotent,
    set_expiry_changes_the_domain_and_records_history,
    registrant_invalidate_starts_deletion_and_tells_sponsors,
    config_check_reports_the_database,
    backup_copies_the_sqlite_database_while_it_is_written,
    zone_export_writes_the_delegations,
    history_shows_every_change_without_transfer_codes,
);

const PW: &str = "s3cret-Pw1";

async fn login(store: &AnyStore, id: &str, pw: &str) -> LoginCheck {
    store
        .verify_login(&cid(id), &Password::new(pw).unwrap())
        .await
        .unwrap()
}

fn registrars_are_added_and_listed_without_secrets(db: &Db) {
    let out = db
        .admin(
            &[
                "registrar",
                "add",
                "reg9094",
                "--name",
                "Example Registrar AS",
                "--session-limit",
                "3",
                "--password-stdin",
            ],
            &format!("{PW}\n"),
        )
        .ok();
    assert!(
        out.stdout.contains("registrar reg9094 added"),
        "{}",
        out.stdout
    );
    assert!(!out.all().contains(PW));

    // From a file, created disabled.
    let file = db.data.parent().unwrap().join("pw");
    std::fs::write(&file, "other-Pw2\n").unwrap();
    db.admin(
        &[
            "registrar",
            "add",
            "reg2",
            "--disabled",
            "--password-file",
            file.to_str().unwrap(),
        ],
        "",
    )
    .ok();

    let list = db.admin(&["registrar", "list"], "").ok();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert!(lines[0].starts_with("ID"), "{}", list.stdout);
    let row = lines.iter().find(|l| l.starts_with("reg9094 ")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[1..3], ["yes", "3"], "{row}");
    assert!(row.ends_with("Example Registrar AS"), "{row}");
    let row2 = lines.iter().find(|l| l.starts_with("reg2 ")).unwrap();
    assert_eq!(row2.split_whitespace().nth(1), Some("no"));
    assert!(lines.iter().any(|l| l.starts_with("reg0 ")));
    assert!(!list.all().contains(PW) && !list.all().contains("argon2"));

    db.with_store(async |store| {
        let check = login(store, "reg9094", PW).await;
        let LoginCheck::Accepted(r) = check else {
            panic!("{check:?}");
        };
        assert_eq!(
            (r.session_limit, r.name.as_str()),
            (3, "Example Registrar AS")
        );
        assert_eq!(
            login(store, "reg2", "other-Pw2").await,
            LoginCheck::Disabled
        );
        let history = store
            .history(&ObjectKey::Registrar(cid("reg9094")))
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].command, "admin:registrar-add");
        assert_eq!(history[0].registrar, None);
        assert!(!history[0].after.as_deref().unwrap_or("").contains(PW));
    });

    // Refusals: the id exists (3); bad input (2), and nothing is created.
    db.admin(
        &["registrar", "add", "reg9094", "--password-stdin"],
        "another-pw\n",
    )
    .code(3);
    let out = db
        .admin(&["registrar", "add", "reg3", "--password-stdin"], "short\n")
        .code(2);
    assert!(out.stderr.contains("password"), "{}", out.stderr);
    assert!(!out.all().contains("short"), "{}", out.all());
    db.admin(&["registrar", "add", "reg3", "--password-stdin"], "")
        .code(2);
    db.admin(&["registrar", "add", "reg3"], "").code(2);
    db.admin(
        &["registrar", "add", "x", "--password-stdin"],
        "long-enough\n",
    )
    .code(2);
    // The password is never taken from the command line.
    db.admin(&["registrar", "add", "reg3", "--password", PW], "")
        .code(2);
    db.with_store(async |store| {
        assert!(store.registrar(&cid("reg3")).await.unwrap().is_none());
    });
}

fn disable_and_enable_control_login(db: &Db) {
    db.admin(&["registrar", "add", "reg1", "--password-stdin"], PW)
        .ok();
    let out = db.admin(&["registrar", "disable", "reg1"], "").ok();
    assert_eq!(out.stdout.trim(), "registrar reg1 disabled");
    db.with_store(async |store| {
        assert_eq!(login(store, "reg1", PW).await, LoginCheck::Disabled);
    });
    let out = db.admin(&["registrar", "disable", "reg1"], "").ok();
    assert!(out.stdout.contains("already disabled"), "{}", out.stdout);
    db.admin(&["registrar", "enable", "reg1"], "").ok();
    db.with_store(async |store| {
        assert!(matches!(
            login(store, "reg1", PW).await,
            LoginCheck::Accepted(_)
        ));
        let commands: Vec<String> = store
            .history(&ObjectKey::Registrar(cid("reg1")))
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.command)
            .collect();
        assert_eq!(
            commands,
            [
                "admin:registrar-add",
                "admin:registrar-disable",
                "admin:registrar-enable"
            ]
        );
    });
    let out = db.admin(&["registrar", "disable", "nosuch"], "").code(3);
    assert!(out.stderr.contains("no registrar nosuch"), "{}", out.stderr);
    let out = db.admin(&["registrar", "enable", "reg0"], "").code(3);
    assert!(out.stderr.contains("withdrawn"), "{}", out.stderr);
}

fn set_password_replaces_the_password(db: &Db) {
    db.admin(&["registrar", "add", "reg1", "--password-stdin"], PW)
        .ok();
    let file = db.data.parent().unwrap().join("new-pw");
    std::fs::write(&file, "brand-New-9\r\n").unwrap();
    let out = db
        .admin(
            &[
                "registrar",
                "set-password",
                "reg1",
                "--password-file",
                file.to_str().unwrap(),
            ],
            "",
        )
        .ok();
    assert!(!out.all().contains("brand-New-9"));
    db.with_store(async |store| {
        assert!(matches!(
            login(store, "reg1", "brand-New-9").await,
            LoginCheck::Accepted(_)
        ));
        assert_eq!(login(store, "reg1", PW).await, LoginCheck::WrongPassword);
    });
    db.admin(
        &["registrar", "set-password", "reg1", "--password-stdin"],
        "via-Stdin-7\n",
    )
    .ok();
    db.with_store(async |store| {
        assert!(matches!(
            login(store, "reg1", "via-Stdin-7").await,
            LoginCheck::Accepted(_)
        ));
    });
    db.admin(
        &["registrar", "set-password", "nosuch", "--password-stdin"],
        "via-Stdin-7\n",
    )
    .code(3);
    let missing = db.data.parent().unwrap().join("missing");
    db.admin(
        &[
            "registrar",
            "set-password",
            "reg1",
            "--password-file",
            missing.to_str().unwrap(),
        ],
        "",
    )
    .code(1);
}

fn certificates_are_pinned_and_unpinned(db: &Db) {
    db.admin(&["registrar", "add", "reg1", "--password-stdin"], PW)
        .ok();
    let plain = "ab".repeat(32);
    let colons = vec!["CD"; 32].join(":");
    db.admin(&["registrar", "pin-certificate", "reg1", &plain], "")
        .ok();
    db.admin(&["registrar", "pin-certificate", "reg1", &colons], "")
        .ok();
    let out = db
        .admin(&["registrar", "pin-certificate", "reg1", &plain], "")
        .ok();
    assert!(out.stdout.contains("already pinned"), "{}", out.stdout);

    // The fingerprint of a PEM file, as the TLS layer computes it from the DER.
    let (cert_pem, _, der) = TestCa::new().server_cert();
    let pem = db.data.parent().unwrap().join("client.pem");
    std::fs::write(&pem, cert_pem).unwrap();
    db.admin(
        &[
            "registrar",
            "pin-certificate",
            "reg1",
            "--cert-file",
            pem.to_str().unwrap(),
        ],
        "",
    )
    .ok();
    let from_file = sha256_hex(&der);
    let list = db.admin(&["registrar", "list"], "").ok();
    assert!(list.stdout.contains(&from_file), "{}", list.stdout);
    assert!(list.stdout.contains(&"cd".repeat(32)), "{}", list.stdout);

    db.admin(&["registrar", "unpin", "reg1", &colons.to_lowercase()], "")
        .ok();
    let out = db
        .admin(&["registrar", "unpin", "reg1", &"ef".repeat(32)], "")
        .code(3);
    assert!(out.stderr.contains("not pinned"), "{}", out.stderr);
    db.with_store(async |store| {
        let r = store.registrar(&cid("reg1")).await.unwrap().unwrap();
        let pins: Vec<CertFingerprint> = r.cert_pins.into_iter().collect();
        let mut want: Vec<CertFingerprint> =
            vec![plain.parse().unwrap(), from_file.parse().unwrap()];
        want.sort();
        assert_eq!(pins, want);
    });

    for bad in ["abc", &"zz".repeat(32)] {
        db.admin(&["registrar", "pin-certificate", "reg1", bad], "")
            .code(2);
    }
    // Both or neither of the fingerprint and the file: a usage error.
    db.admin(&["registrar", "pin-certificate", "reg1"], "")
        .code(2);
    db.admin(
        &[
            "registrar",
            "pin-certificate",
            "reg1",
            &plain,
            "--cert-file",
            pem.to_str().unwrap(),
        ],
        "",
    )
    .code(2);
    std::fs::write(&pem, "not a certificate").unwrap();
    db.admin(
        &[
            "registrar",
            "pin-certificate",
            "reg1",
            "--cert-file",
            pem.to_str().unwrap(),
        ],
        "",
    )
    .code(1);
}

fn session_limits_are_bounded(db: &Db) {
    db.admin(&["registrar", "add", "reg1", "--password-stdin"], PW)
        .ok();
    for n in ["0", "9"] {
        let out = db
            .admin(&["registrar", "session-limit", "reg1", n], "")
            .ok();
        assert!(out.stdout.contains(&format!("is {n}")), "{}", out.stdout);
    }
    let out = db
        .admin(&["registrar", "session-limit", "reg1", "10"], "")
        .code(2);
    assert!(
        out.stderr.contains("sessions_per_registrar_max"),
        "{}",
        out.stderr
    );
    db.admin(&["registrar", "session-limit", "reg1", "-1"], "")
        .code(2);
    // The configured ceiling applies.
    let env = db.env_with(&[("EPP_SERVER__LIMITS__SESSIONS_PER_REGISTRAR_MAX", "3")]);
    db.admin_env(&["registrar", "session-limit", "reg1", "4"], "", &env)
        .code(2);
    db.admin_env(&["registrar", "session-limit", "reg1", "3"], "", &env)
        .ok();
    db.admin_env(
        &[
            "registrar",
            "add",
            "reg2",
            "--session-limit",
            "5",
            "--password-stdin",
        ],
        PW,
        &env,
    )
    .code(2);
    db.admin(&["registrar", "session-limit", "nosuch", "1"], "")
        .code(3);
    db.with_store(async |store| {
        let r = store.registrar(&cid("reg1")).await.unwrap().unwrap();
        assert_eq!(r.session_limit, 3);
        assert!(store.registrar(&cid("reg2")).await.unwrap().is_none());
    });
}

fn migrate_is_idempotent(db: &Db) {
    let out = db.admin(&["migrate"], "").ok();
    assert!(
        out.stdout
            .contains("applied migrations 1, 2, 3, 4; schema version 4"),
        "{}",
        out.stdout
    );
    let out = db.admin(&["migrate"], "").ok();
    assert!(
        out.stdout.contains("schema up to date (version 4)"),
        "{}",
        out.stdout
    );
    let status = crate::db::runtime()
        .block_on(epp_server::store::check(&db.store_config()))
        .unwrap();
    assert!(status.exists);
    assert_eq!((status.version, status.pending.len()), (4, 0));
}

fn set_expiry_changes_the_domain_and_records_history(db: &Db) {
    db.with_store(async |store| {
        base(store).await;
        commit1(
            store,
            "reg1",
            Change::CreateDomain(base_domain("example.no")),
        )
        .await
        .unwrap();
    });
    let out = db
        .admin(&["domain", "set-expiry", "example.no", "2030-06-15"], "")
        .ok();
    assert!(out.stdout.contains("recorded in history"), "{}", out.stdout);
    db.with_store(async |store| {
        // The date form keeps the time of day of the old expiry.
        let d = store.domain(&dn("example.no")).await.unwrap().unwrap();
        assert_eq!(
            d.ex_date,
            Timestamp::parse("2030-06-15T12:00:00.123456Z").unwrap()
        );
    });
    db.admin(
        &["domain", "set-expiry", "EXAMPLE.no", "2031-01-02T03:04:05Z"],
        "",
    )
    .ok();
    db.with_store(async |store| {
        let d = store.domain(&dn("example.no")).await.unwrap().unwrap();
        assert_eq!(d.ex_date, Timestamp::parse("2031-01-02T03:04:05Z").unwrap());
        assert_eq!(d.version, 3);
        let history = store
            .history(&ObjectKey::Domain(dn("example.no")))
            .await
            .unwrap();
        assert_eq!(history.len(), 3);
        let h = &history[1];
        assert_eq!(h.kind, ObjectKind::Domain);
        assert_eq!(h.command, "admin:domain-set-expiry");
        assert_eq!(h.registrar, None);
        assert!(h.before.is_some() && h.after.is_some());
    });
    db.admin(&["domain", "set-expiry", "nosuch.no", "2030-06-15"], "")
        .code(3);
    db.admin(&["domain", "set-expiry", "example.no", "next year"], "")
        .code(2);

    // Refused in production mode, before anything is touched.
    let dir = db.data.parent().unwrap();
    TestCa::new().write_server_cert(dir);
    let mut env = db.env_with(&[
        ("EPP_SERVER__MODE", "production"),
        ("EPP_SERVER__NOTIFY__METHOD", "off"),
    ]);
    env.extend(tls_file_env(dir));
    let out = db
        .admin_env(
            &["domain", "set-expiry", "example.no", "2040-01-01"],
            "",
            &env,
        )
        .code(3);
    assert!(
        out.stderr.contains("refused in production"),
        "{}",
        out.stderr
    );
    db.with_store(async |store| {
        let d = store.domain(&dn("example.no")).await.unwrap().unwrap();
        assert_eq!(d.version, 3);
    });
}

fn registrant_invalidate_starts_deletion_and_tells_sponsors(db: &Db) {
    db.with_store(async |store| {
        base(store).await;
        for name in ["example.no", "other.no"] {
            commit1(store, "reg1", Change::CreateDomain(base_domain(name)))
                .await
                .unwrap();
        }
    });
    let out = db.admin(&["registrant", "invalidate", "ORG1O"], "").ok();
    assert!(
        out.stdout
            .contains("deletion started for 2 domains of holder ORG1O")
            && out.stdout.contains("example.no, other.no")
            && out.stdout.contains("recorded in history"),
        "{}",
        out.stdout
    );
    db.with_store(async |store| {
        for name in ["example.no", "other.no"] {
            let d = store.domain(&dn(name)).await.unwrap().unwrap();
            let (dns, registry) = (d.delete_from_dns.unwrap(), d.delete_from_registry.unwrap());
            assert!(dns < registry, "{dns} {registry}");
            assert!(matches!(d.lifecycle, Lifecycle::PendingDelete { .. }));
            let history = store.history(&ObjectKey::Domain(dn(name))).await.unwrap();
            let last = history.last().unwrap();
            assert_eq!(last.command, "admin:registrant-invalidate");
            assert_eq!(last.registrar, None);
        }
        let holder = store.contact(&ctid("ORG1O")).await.unwrap().unwrap();
        assert!(holder.invalid_holder_since.is_some());
        let history = store
            .history(&ObjectKey::Contact(ctid("ORG1O")))
            .await
            .unwrap();
        assert_eq!(
            history.last().unwrap().command,
            "admin:registrant-invalidate"
        );
        let summary = store.poll_summary(&cid("reg1")).await.unwrap().unwrap();
        assert_eq!(summary.count, 2);
        let polled = store.poll_peek(&cid("reg1")).await.unwrap().unwrap();
        assert_eq!(
            polled.message.payload,
            PollPayload::InvalidRegistrantStarted {
                domain: dn("example.no"),
                registrant: ctid("ORG1O"),
            }
        );
        assert_eq!(
            polled.message.payload.norid_type(),
            Some("invalid-registrant-started")
        );
    });
    // Again: the domains are in the process already, nobody is told twice.
    let out = db.admin(&["registrant", "invalidate", "ORG1O"], "").ok();
    assert!(out.stdout.contains("no deletion started"), "{}", out.stdout);
    db.with_store(async |store| {
        let summary = store.poll_summary(&cid("reg1")).await.unwrap().unwrap();
        assert_eq!(summary.count, 2);
    });
    // A contact without domains is only marked; unknown and malformed ids are refused.
    let out = db.admin(&["registrant", "invalidate", "ROLE1R"], "").ok();
    assert!(out.stdout.contains("holds no domains"), "{}", out.stdout);
    let out = db
        .admin(&["registrant", "invalidate", "NOSUCH1O"], "")
        .code(3);
    assert!(out.stderr.contains("no contact NOSUCH1O"), "{}", out.stderr);
    db.admin(&["registrant", "invalidate", "x"], "").code(2);
}

fn config_check_reports_the_database(db: &Db) {
    let out = db.admin(&["config", "check", "--database"], "").ok();
    assert!(out.stderr.contains("not created yet"), "{}", out.stderr);
    db.admin(&["migrate"], "").ok();
    let out = db.admin(&["config", "check", "--database"], "").ok();
    assert!(
        out.stderr.contains("schema version 4, up to date"),
        "{}",
        out.stderr
    );
    // Without --database the database is not contacted.
    let out = db.admin(&["config", "check"], "").ok();
    assert!(!out.stderr.contains("database:"), "{}", out.stderr);
}

/// `backup` on SQLite: a consistent, checked, private copy made while another process
/// commits, which a store opens as it would the original; never over an existing file. On
/// PostgreSQL it is refused with a pointer to PostgreSQL's own tools.
fn backup_copies_the_sqlite_database_while_it_is_written(db: &Db) {
    let to = db.data.parent().unwrap().join("backup.sqlite3");
    let arg = to.to_str().unwrap();
    if db.pg().is_some() {
        let out = db.admin(&["backup", arg], "").code(3);
        assert!(out.stderr.contains("pg_dump"), "{}", out.stderr);
        assert!(!to.exists());
        return;
    }
    let missing = db.admin(&["backup", arg], "").code(3);
    assert!(
        missing.stderr.contains("no database at"),
        "{}",
        missing.stderr
    );
    assert!(!to.exists());
    db.with_store(async |store| {
        base(store).await;
        for i in 0..20 {
            commit1(
                store,
                "reg1",
                Change::CreateDomain(base_domain(&format!("d{i}.no"))),
            )
            .await
            .unwrap();
        }
    });
    // Another process keeps committing domains while the copy is made (the copy starts
    // once it has committed a few).
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let stop = AtomicBool::new(false);
    let committed = AtomicU64::new(0);
    let (out, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            db.with_store(async |store| {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("w{n}.no");
                    commit1(store, "reg1", Change::CreateDomain(base_domain(&name)))
                        .await
                        .unwrap();
                    n += 1;
                    committed.store(n, Ordering::Relaxed);
                }
                n
            })
        });
        // (A writer that fails ends the wait too; joining it below reports why.)
        while committed.load(Ordering::Relaxed) < 5 && !writer.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let out = db.admin(&["backup", arg], "").ok();
        let after = committed.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        let written = writer.join().unwrap();
        eprintln!("writer: {written} domains, {after} of them when the backup ended");
        (out, written)
    });
    // The copy is one file, checked, and says what it holds: the 20 domains and the writer's
    // domains up to one commit.
    let conn = rusqlite::Connection::open(&to).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    let domains = count("SELECT COUNT(*) FROM domains");
    assert!(
        (25..=20 + i64::try_from(written).unwrap()).contains(&domains),
        "{domains} domains, {written} written meanwhile"
    );
    let writer_domains = count("SELECT COUNT(*) FROM domains WHERE name LIKE 'w%'");
    let names: Vec<String> = conn
        .prepare("SELECT name FROM domains WHERE name LIKE 'w%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // One commit's state: the writer's first `writer_domains` creates, none missing.
    for n in 0..writer_domains {
        assert!(
            names.contains(&format!("w{n}.no")),
            "w{n}.no missing: {names:?}"
        );
    }
    assert_eq!(
        conn.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "delete"
    );
    drop(conn);
    assert!(
        out.stdout.contains(&format!(
            "schema version 4; 2 registrars, {domains} domains, 2 contacts, 2 hosts; integrity ok"
        )),
        "{}",
        out.stdout
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&to).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    for side in ["-wal", "-shm", "-journal"] {
        assert!(
            !db.data
                .parent()
                .unwrap()
                .join(format!("backup.sqlite3{side}"))
                .exists()
        );
    }

    // Never over an existing file: refused, the file unchanged.
    let before = std::fs::read(&to).unwrap();
    let again = db.admin(&["backup", arg], "").code(3);
    assert!(
        again.stderr.contains("never overwrites"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read(&to).unwrap(), before);

    // Restored (the copy as a server's database file), the store works on it: objects,
    // history and password hashes came along.
    let restored = db.data.parent().unwrap().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(&to, restored.join("registry.sqlite3")).unwrap();
    let config = StoreConfig::Sqlite(SqliteConfig::new(restored.join("registry.sqlite3")));
    crate::db::runtime().block_on(async {
        let store = epp_server::store::open(&config).await.unwrap();
        assert!(store.domain(&dn("d19.no")).await.unwrap().is_some());
        let history = store
            .history(&ObjectKey::Domain(dn("d0.no")))
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert!(matches!(
            login(&store, "reg1", "pw-reg1").await,
            LoginCheck::Accepted(_)
        ));
    });
}

/// `zone export`: the delegated domains of the zone with their NS, DS and glue, to
/// standard output or to a file replaced in one step; a domain on hold is left out.
fn zone_export_writes_the_delegations(db: &Db) {
    db.with_store(async |store| {
        base(store).await;
        let mut h = epp_session::store::suite::host("ns1.a.no", "reg1");
        h.addrs = vec!["192.0.2.1".parse().unwrap()];
        commit1(store, "reg1", Change::CreateHost(h)).await.unwrap();
        let mut a = base_domain("a.no");
        a.ns.insert(0, epp_session::store::suite::hn("ns1.a.no"));
        a.sec_dns.ds.push(epp_session::store::model::DsData {
            key_tag: 4242,
            alg: 8,
            digest_type: 2,
            digest: "49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de5e6d2a9a2f1f0e5d4c3b2a19".into(),
            key_data: None,
        });
        commit1(store, "reg1", Change::CreateDomain(a))
            .await
            .unwrap();
        let mut b = base_domain("b.no");
        b.statuses
            .insert(epp_session::store::model::DomainStatus::ClientHold, None);
        commit1(store, "reg1", Change::CreateDomain(b))
            .await
            .unwrap();
        commit1(
            store,
            "reg1",
            Change::CreateDomain(base_domain("c.oslo.no")),
        )
        .await
        .unwrap();
    });
    let want = "a.no.\tIN\tNS\tns1.a.no.\n\
                a.no.\tIN\tNS\tns1.example.net.\n\
                a.no.\tIN\tNS\tns2.example.net.\n\
                a.no.\tIN\tDS\t4242 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5E6D2A9A2F1F0E5D4C3B2A19\n\
                ns1.a.no.\tIN\tA\t192.0.2.1\n";
    let body = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with(';'))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let out = db.admin(&["zone", "export"], "").ok();
    assert_eq!(body(&out.stdout), want, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("zone no: 1 delegations (1 domains not delegated), 3 NS, 1 DS, 1 glue"),
        "{}",
        out.stderr
    );

    let file = db.data.parent().unwrap().join("no.zone");
    std::fs::write(&file, "old content\n").unwrap();
    let out = db
        .admin(
            &["zone", "export", "no.", "--output", file.to_str().unwrap()],
            "",
        )
        .ok();
    assert!(out.stdout.contains("written to"), "{}", out.stdout);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(body(&text), want, "{text}");
    assert!(text.starts_with("; delegations in no. from the registry at "));
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    checkzone("no", &text);

    let out = db.admin(&["zone", "export", "oslo.no"], "").ok();
    assert_eq!(
        body(&out.stdout),
        "c.oslo.no.\tIN\tNS\tns1.example.net.\nc.oslo.no.\tIN\tNS\tns2.example.net.\n"
    );
    let out = db.admin(&["zone", "export", "--all"], "").ok();
    assert_eq!(
        body(&out.stdout),
        format!(
            "{want}c.oslo.no.\tIN\tNS\tns1.example.net.\nc.oslo.no.\tIN\tNS\tns2.example.net.\n"
        )
    );
    assert!(
        out.stderr.contains("every zone: 2 delegations"),
        "{}",
        out.stderr
    );
    db.admin(&["zone", "export", "no", "--all"], "").code(2);
    for zone in ["kommune.no", "example.com"] {
        let out = db.admin(&["zone", "export", zone], "").code(2);
        assert!(out.stderr.contains("is not a zone"), "{}", out.stderr);
    }
}

/// `history`: the changes of a record, oldest first, with who, which command, its trIDs
/// and the fields changed; as JSON with the records (transfer codes hidden); refused for a
/// record without history.
fn history_shows_every_change_without_transfer_codes(db: &Db) {
    db.with_store(async |store| {
        base(store).await;
        let mut d = base_domain("h.no");
        d.auth_info = Some(epp_session::store::model::AuthInfo::new("Secret+Code1"));
        commit1(store, "reg1", Change::CreateDomain(d))
            .await
            .unwrap();
        let mut d = store.domain(&dn("h.no")).await.unwrap().unwrap();
        d.ns.pop();
        commit1(store, "reg1", Change::UpdateDomain(d))
            .await
            .unwrap();
    });
    db.admin(&["domain", "set-expiry", "h.no", "2030-01-01"], "")
        .ok();
    let out = db.admin(&["history", "domain", "H.no"], "").ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(
        lines[0].ends_with(" test by reg1 (clTRID CL-test-0, svTRID SV-0-reg1): created"),
        "{}",
        out.stdout
    );
    assert!(lines[1].ends_with(": changed ns"), "{}", out.stdout);
    assert!(
        lines[2].contains(" admin:domain-set-expiry by the registry: changed exDate"),
        "{}",
        out.stdout
    );
    assert!(!out.all().contains("Secret+Code1"));

    let out = db.admin(&["history", "domain", "h.no", "--json"], "").ok();
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["before"], serde_json::Value::Null);
    assert_eq!(rows[0]["after"]["authInfo"], "(hidden)");
    assert_eq!(rows[1]["registrar"], "reg1");
    assert_eq!(rows[2]["registrar"], serde_json::Value::Null);
    assert!(!out.all().contains("Secret+Code1"));

    let out = db.admin(&["history", "registrar", "reg1"], "").ok();
    assert!(out.stdout.contains(": created"), "{}", out.stdout);
    let out = db
        .admin(&["history", "host", "nosuch.example.net"], "")
        .code(3);
    assert!(out.stderr.contains("no history for"), "{}", out.stderr);
    db.admin(&["history", "planet", "mars"], "").code(2);
}

/// The fragment, under an `SOA` and apex `NS` of our own, loads in BIND's
/// `named-checkzone` with its strictest checks (bad names, NS without glue, glue out of
/// place). Skipped with a notice without `named-checkzone`, unless
/// `EPP_REQUIRE_DNS_TOOLS=1` (`.ci/run` installs it).
fn checkzone(origin: &str, fragment: &str) {
    let found = std::process::Command::new("named-checkzone")
        .arg("-v")
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var("EPP_REQUIRE_DNS_TOOLS").as_deref() != Ok("1"),
            "named-checkzone is required (EPP_REQUIRE_DNS_TOOLS=1) but not installed"
        );
        eprintln!("skipping the named-checkzone check: named-checkzone is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zone");
    std::fs::write(
        &file,
        format!(
            "$ORIGIN {origin}.\n$TTL 3600\n\
             @ IN SOA a.nic.example. hostmaster.example. 1 7200 1800 1209600 3600\n\
             @ IN NS a.nic.example.\n{fragment}"
        ),
    )
    .unwrap();
    let out = std::process::Command::new("named-checkzone")
        .args(["-k", "fail", "-n", "fail", "-i", "local", origin])
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("OK"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn config_check_database_names_an_unreachable_database_without_its_password() {
    let db = Db::sqlite();
    let env = db.env_with(&[
        ("EPP_SERVER__DATABASE__BACKEND", "postgres"),
        (
            "EPP_SERVER__DATABASE__POSTGRES_URL",
            "postgres://epp:hunter2-pw@127.0.0.1:1/registry",
        ),
        ("EPP_SERVER__DATABASE__CONNECT_TIMEOUT", "2s"),
    ]);
    let out = db
        .admin_env(&["config", "check", "--database"], "", &env)
        .code(1);
    assert!(
        out.stderr.contains(
            "cannot open the registry database (PostgreSQL postgres://epp:***@127.0.0.1:1/registry)"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.all().contains("hunter2"));
    // Admin commands fail the same way.
    let out = db.admin_env(&["registrar", "list"], "", &env).code(1);
    assert!(
        out.stderr.contains("cannot open the registry database"),
        "{}",
        out.stderr
    );
}

#[test]
fn help_lists_the_admin_commands() {
    let db = Db::sqlite();
    let out = db.admin(&["--help"], "").ok();
    for word in [
        "migrate",
        "backup",
        "registrar",
        "registrant",
        "domain",
        "zone",
        "history",
        "Exit status",
    ] {
        assert!(out.stdout.contains(word), "{word}: {}", out.stdout);
    }
    let out = db.admin(&["registrar", "--help"], "").ok();
    for word in [
        "add",
        "list",
        "disable",
        "enable",
        "set-password",
        "pin-certificate",
        "unpin",
        "session-limit",
    ] {
        assert!(out.stdout.contains(word), "{word}: {}", out.stdout);
    }
}
