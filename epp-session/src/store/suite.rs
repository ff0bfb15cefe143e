//! The store behaviour suite: one set of tests that every [`Store`] implementation must
//! pass, written once and run against [`MemoryStore`](super::MemoryStore) here and the
//! SQLite and PostgreSQL stores in `epp-server`.
//!
//! Each case is an `async fn` taking a fresh, empty store. [`store_behaviour_suite!`](crate::store_behaviour_suite)
//! expands to one `#[test]` per case around a runner that makes the store, drives the
//! future on the backend's executor and cleans up:
//!
//! ```ignore
//! fn run(case: impl for<'a> FnOnce(&'a MyStore) -> epp_session::store::suite::CaseFuture<'a>) {
//!     let store = MyStore::open_temporary();
//!     my_executor::block_on(case(&store));
//! }
//! epp_session::store_behaviour_suite!(run);
//! ```
//!
//! Concurrency cases start many commits at once on one task (`join_all`), so the backend
//! sees them concurrently: the SQLite writer receives them as one queue, PostgreSQL as
//! overlapping transactions on several connections.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use epp_xml::Timestamp;
use epp_xml::{ClTrid, ClientId, ContactId, Date, DomainName, HostName, Password, Roid, SvTrid};
use futures_util::future::join_all;

use super::model::*;
use super::{Change, ChangeMeta, ChangeSet, ReadSet, Store, StoreError};

/// The future of one suite case.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Drives a future to completion on the current thread (for stores whose futures need no
/// runtime, such as [`MemoryStore`](super::MemoryStore)).
pub fn block_on<F: Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

/// Expands to one `#[test]` per suite case, each calling `$run` with the case.
///
/// `$run` is a function `fn(impl for<'a> FnOnce(&'a S) -> CaseFuture<'a>)` for the store
/// type `S`: it makes a fresh store (or prints why the backend is skipped and returns),
/// drives the case to completion, and removes the store.
#[macro_export]
macro_rules! store_behaviour_suite {
    ($run:path) => {
        $crate::store_behaviour_suite!(@cases $run;
            reg0_exists_and_cannot_log_in,
            registrars_are_created_once,
            login_checks_password_and_enabled,
            new_password_takes_effect_when_activated,
            registrar_changes_are_recorded_without_secrets,
            contact_round_trips_every_field,
            contact_ids_and_roids_are_unique,
            contact_references_must_exist,
            linked_contacts_cannot_be_deleted,
            host_round_trips_every_field,
            host_rename_follows_into_domains,
            subordinate_hosts_follow_renames,
            linked_hosts_cannot_be_deleted,
            domain_round_trips_every_field,
            domain_names_are_unique,
            domain_references_must_exist,
            stale_versions_conflict,
            missing_objects_are_not_found,
            failed_change_set_writes_nothing,
            history_records_meta_before_and_after,
            poll_queue_is_ordered_and_acked_per_registrar,
            poll_payloads_round_trip,
            poll_purge_removes_old_messages,
            poll_once_keys_queue_a_notice_once_while_unread,
            poll_queues_list_every_registrar,
            transfer_tokens_are_kept_per_domain,
            expired_transfer_tokens_are_listed_by_expiry,
            notification_outbox_tracks_delivery,
            replay_records_guard_duplicates,
            sequences_hand_out_fresh_numbers,
            domain_listings_filter_and_page,
            contact_and_host_listings_filter_and_page,
            existence_checks_answer_per_name,
            read_sets_answer_part_by_part,
            concurrent_creates_of_one_name_have_one_winner,
            concurrent_updates_have_one_winner,
            concurrent_independent_commits_are_isolated,
            holder_quota_is_checked_in_the_commit,
            concurrent_creates_for_one_holder_respect_the_quota,
        );
    };
    (@cases $run:path; $($case:ident,)*) => {
        $(
            #[test]
            fn $case() {
                $run(|store| ::std::boxed::Box::pin($crate::store::suite::$case(store)));
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------
// Fixtures

/// 2024-05-01T12:00:00.123456Z plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::parse("2024-05-01T12:00:00.123456Z")
        .unwrap()
        .add_secs(secs)
}

pub fn cid(s: &str) -> ClientId {
    ClientId::new(s).unwrap()
}

pub fn ctid(s: &str) -> ContactId {
    ContactId::new(s).unwrap()
}

pub fn dn(s: &str) -> DomainName {
    DomainName::new(s).unwrap()
}

pub fn hn(s: &str) -> HostName {
    HostName::new(s).unwrap()
}

fn pw(s: &str) -> Password {
    Password::new(s).unwrap()
}

fn roid(s: &str) -> Roid {
    Roid::new(s).unwrap()
}

/// Metadata of a command by `registrar` at `at(secs)`.
pub fn meta(registrar: &str, command: &str, secs: i64) -> ChangeMeta {
    ChangeMeta {
        registrar: Some(cid(registrar)),
        time: at(secs),
        cl_trid: Some(ClTrid::new(format!("CL-{command}-{secs}")).unwrap()),
        sv_trid: Some(SvTrid::new(format!("SV-{secs}-{registrar}")).unwrap()),
        command: command.into(),
    }
}

/// Commits one change by `registrar`.
pub async fn commit1<S: Store>(
    store: &S,
    registrar: &str,
    change: Change,
) -> Result<super::CommitReceipt, StoreError> {
    store
        .commit(ChangeSet::new(meta(registrar, "test", 0)).with(change))
        .await
}

/// Creates registrar `id` with password `pw-<id>`.
pub async fn add_registrar<S: Store>(store: &S, id: &str) {
    let new = NewRegistrar {
        id: cid(id),
        name: format!("Registrar {id}"),
        password: PasswordInput::Clear(pw(&format!("pw-{id}"))),
        cert_pins: Default::default(),
        session_limit: 1,
        enabled: true,
    };
    let mut set = ChangeSet::new(ChangeMeta {
        registrar: None,
        time: at(0),
        cl_trid: None,
        sv_trid: None,
        command: "admin:registrar-add".into(),
    });
    set.push(Change::CreateRegistrar(new));
    store.commit(set).await.unwrap();
}

/// A contact with every field set.
pub fn full_contact(id: &str, kind: ContactType, cl: &str) -> Contact {
    let mut statuses = BTreeMap::new();
    statuses.insert(ContactStatus::ClientDeleteProhibited, None);
    statuses.insert(
        ContactStatus::ClientUpdateProhibited,
        Some(StatusNote {
            lang: Some("no".into()),
            text: "Låst etter avtale".into(),
        }),
    );
    Contact {
        id: ctid(id),
        roid: roid(&format!("{id}-NORID")),
        kind,
        statuses,
        postal_loc: Some(PostalInfo {
            name: "Ola Nordmann".into(),
            org: Some("Eksempel AS".into()),
            street: vec!["Gate 1".into(), "Oppgang B".into(), "3. etasje".into()],
            city: "Trondheim".into(),
            sp: Some("Trøndelag".into()),
            pc: Some("NO-7005".into()),
            cc: "NO".into(),
        }),
        postal_int: Some(PostalInfo {
            name: "Ola Nordmann".into(),
            org: None,
            street: vec!["Gate 1".into()],
            city: "Trondheim".into(),
            sp: None,
            pc: None,
            cc: "NO".into(),
        }),
        voice: Some(Phone {
            number: "+47.73557900".into(),
            ext: Some("123".into()),
        }),
        fax: Some(Phone {
            number: "+47.73557901".into(),
            ext: None,
        }),
        email: "ola@example.no".into(),
        auth_info: Some(AuthInfo::new("contact-secret")),
        disclose: Some(Disclose {
            flag: false,
            name_loc: true,
            voice: true,
            email: true,
            ..Disclose::default()
        }),
        identity: Some(Identity {
            kind: IdentityType::OrganizationNumber,
            value: "985821585".into(),
        }),
        mobile: Some(Phone {
            number: "+47.99999999".into(),
            ext: None,
        }),
        extra_emails: vec!["a@example.no".into(), "b@example.no".into()],
        organizations: Vec::new(),
        role_contacts: Vec::new(),
        disclose_mobile: Some(false),
        invalid_holder_since: Some(at(30)),
        cl_id: cid(cl),
        cr_id: cid(cl),
        cr_date: at(1),
        up_id: Some(cid(cl)),
        up_date: Some(at(2)),
        tr_date: Some(at(3)),
        version: 0,
    }
}

/// A minimal contact.
pub fn contact(id: &str, kind: ContactType, cl: &str) -> Contact {
    Contact {
        id: ctid(id),
        roid: roid(&format!("{id}-NORID")),
        kind,
        statuses: BTreeMap::new(),
        postal_loc: None,
        postal_int: None,
        voice: None,
        fax: None,
        email: format!("{}@example.no", id.to_lowercase()),
        auth_info: None,
        disclose: None,
        identity: None,
        mobile: None,
        extra_emails: Vec::new(),
        organizations: Vec::new(),
        role_contacts: Vec::new(),
        disclose_mobile: None,
        invalid_holder_since: None,
        cl_id: cid(cl),
        cr_id: cid(cl),
        cr_date: at(0),
        up_id: None,
        up_date: None,
        tr_date: None,
        version: 0,
    }
}

fn roid_for(prefix: &str, name: &str) -> Roid {
    let word: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    roid(&format!("{prefix}{word}-NORID"))
}

/// A minimal host.
pub fn host(name: &str, cl: &str) -> Host {
    Host {
        name: hn(name),
        roid: roid_for("H", name),
        statuses: BTreeMap::new(),
        addrs: Vec::new(),
        contacts: Vec::new(),
        cl_id: cid(cl),
        cr_id: cid(cl),
        cr_date: at(0),
        up_id: None,
        up_date: None,
        tr_date: None,
        pending: None,
        version: 0,
    }
}

/// A minimal domain.
pub fn domain(name: &str, cl: &str, registrant: &str, tech: &[&str], ns: &[&str]) -> Domain {
    Domain {
        name: dn(name),
        roid: roid_for("D", name),
        statuses: BTreeMap::new(),
        registrant: ctid(registrant),
        contacts: tech
            .iter()
            .map(|t| DomainContact {
                role: ContactRole::Tech,
                id: ctid(t),
            })
            .collect(),
        ns: ns.iter().map(|n| hn(n)).collect(),
        auth_info: None,
        cl_id: cid(cl),
        cr_id: cid(cl),
        cr_date: at(0),
        up_id: None,
        up_date: None,
        ex_date: at(365 * 86_400),
        tr_date: None,
        applicant_dataset: None,
        delete_from_dns: None,
        delete_from_registry: None,
        sec_dns: SecDns::default(),
        transfer: None,
        lifecycle: Lifecycle::Active,
        version: 0,
    }
}

/// Registrar `reg1`, organization `ORG1O`, role `ROLE1R`, hosts `ns1.example.net` and
/// `ns2.example.net`, all sponsored by `reg1`.
pub async fn base<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    let set = ChangeSet::new(meta("reg1", "setup", 0))
        .with(Change::CreateContact(contact(
            "ORG1O",
            ContactType::Organization,
            "reg1",
        )))
        .with(Change::CreateContact(contact(
            "ROLE1R",
            ContactType::Role,
            "reg1",
        )))
        .with(Change::CreateHost(host("ns1.example.net", "reg1")))
        .with(Change::CreateHost(host("ns2.example.net", "reg1")));
    store.commit(set).await.unwrap();
}

/// A domain of `reg1` using the [`base`] objects.
pub fn base_domain(name: &str) -> Domain {
    domain(
        name,
        "reg1",
        "ORG1O",
        &["ROLE1R"],
        &["ns1.example.net", "ns2.example.net"],
    )
}

fn tweak<T>(mut object: T, set: impl FnOnce(&mut T)) -> T {
    set(&mut object);
    object
}

// ---------------------------------------------------------------------------------------
// Registrars and login

pub async fn reg0_exists_and_cannot_log_in<S: Store>(store: &S) {
    let reg0 = store.registrar(&cid("reg0")).await.unwrap().unwrap();
    assert!(!reg0.enabled);
    assert_eq!(
        store
            .verify_login(&cid("reg0"), &pw("anything"))
            .await
            .unwrap(),
        LoginCheck::WrongPassword
    );
    let all = store.registrars().await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["reg0"]
    );
}

pub async fn registrars_are_created_once<S: Store>(store: &S) {
    add_registrar(store, "reg2").await;
    add_registrar(store, "reg1").await;
    let ids: Vec<_> = store
        .registrars()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [cid("reg0"), cid("reg1"), cid("reg2")]);
    let r1 = store.registrar(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!(r1.name, "Registrar reg1");
    assert_eq!(r1.session_limit, 1);
    assert!(r1.enabled && r1.pending_password.is_none() && r1.cert_pins.is_empty());
    assert_eq!(r1.created, at(0));
    assert_eq!(r1.version, 1);
    let again = NewRegistrar {
        id: cid("reg1"),
        name: String::new(),
        password: PasswordInput::Clear(pw("another")),
        cert_pins: Default::default(),
        session_limit: 3,
        enabled: false,
    };
    assert_eq!(
        commit1(store, "reg1", Change::CreateRegistrar(again)).await,
        Err(StoreError::AlreadyExists(ObjectKey::Registrar(cid("reg1"))))
    );
    assert_eq!(store.registrar(&cid("reg1")).await.unwrap().unwrap(), r1);
}

pub async fn login_checks_password_and_enabled<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    match store
        .verify_login(&cid("reg1"), &pw("pw-reg1"))
        .await
        .unwrap()
    {
        LoginCheck::Accepted(r) => assert_eq!(r.id, cid("reg1")),
        other => panic!("expected Accepted, got {other:?}"),
    }
    assert_eq!(
        store
            .verify_login(&cid("reg1"), &pw("pw-reg2"))
            .await
            .unwrap(),
        LoginCheck::WrongPassword
    );
    assert_eq!(
        store
            .verify_login(&cid("nobody"), &pw("pw-reg1"))
            .await
            .unwrap(),
        LoginCheck::UnknownRegistrar
    );
    let disable = Change::UpdateRegistrar {
        id: cid("reg1"),
        change: RegistrarChange::SetEnabled(false),
    };
    commit1(store, "reg1", disable).await.unwrap();
    assert_eq!(
        store
            .verify_login(&cid("reg1"), &pw("pw-reg1"))
            .await
            .unwrap(),
        LoginCheck::Disabled
    );
    // A disabled account still refuses a wrong password as wrong.
    assert_eq!(
        store
            .verify_login(&cid("reg1"), &pw("wrong-pw"))
            .await
            .unwrap(),
        LoginCheck::WrongPassword
    );
}

pub async fn new_password_takes_effect_when_activated<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    let id = cid("reg1");
    let accepted = |c: &LoginCheck| matches!(c, LoginCheck::Accepted(r) if r.id == cid("reg1"));
    // Login with newPW stores the new password as pending ...
    let set_new = Change::UpdateRegistrar {
        id: id.clone(),
        change: RegistrarChange::SetPendingPassword(PasswordInput::Clear(pw("theNewPW"))),
    };
    commit1(store, "reg1", set_new).await.unwrap();
    let r = store.registrar(&id).await.unwrap().unwrap();
    assert!(r.pending_password.is_some());
    assert_eq!(r.version, 2);
    // ... and until logout the old one is the password.
    assert!(accepted(
        &store.verify_login(&id, &pw("pw-reg1")).await.unwrap()
    ));
    assert_eq!(
        store.verify_login(&id, &pw("theNewPW")).await.unwrap(),
        LoginCheck::WrongPassword
    );
    // Logout activates it.
    let activate = Change::UpdateRegistrar {
        id: id.clone(),
        change: RegistrarChange::ActivatePendingPassword,
    };
    commit1(store, "reg1", activate.clone()).await.unwrap();
    assert!(accepted(
        &store.verify_login(&id, &pw("theNewPW")).await.unwrap()
    ));
    assert_eq!(
        store.verify_login(&id, &pw("pw-reg1")).await.unwrap(),
        LoginCheck::WrongPassword
    );
    let r = store.registrar(&id).await.unwrap().unwrap();
    assert!(r.pending_password.is_none());
    assert_eq!(r.version, 3);
    // Activating with nothing pending changes nothing.
    commit1(store, "reg1", activate).await.unwrap();
    assert_eq!(store.registrar(&id).await.unwrap().unwrap().version, 3);
    // An operator's password reset is immediate and drops a pending password.
    for change in [
        RegistrarChange::SetPendingPassword(PasswordInput::Clear(pw("pending1"))),
        RegistrarChange::SetPassword(PasswordInput::Clear(pw("operator1"))),
    ] {
        let c = Change::UpdateRegistrar {
            id: id.clone(),
            change,
        };
        commit1(store, "reg1", c).await.unwrap();
    }
    let r = store.registrar(&id).await.unwrap().unwrap();
    assert!(r.pending_password.is_none());
    assert!(accepted(
        &store.verify_login(&id, &pw("operator1")).await.unwrap()
    ));
    assert_eq!(
        store.verify_login(&id, &pw("pending1")).await.unwrap(),
        LoginCheck::WrongPassword
    );
}

pub async fn registrar_changes_are_recorded_without_secrets<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    let id = cid("reg1");
    let fp1: CertFingerprint = "11".repeat(32).parse().unwrap();
    let fp2: CertFingerprint = "22".repeat(32).parse().unwrap();
    let set = ChangeSet::new(meta("reg1", "admin:registrar-update", 5))
        .with(Change::UpdateRegistrar {
            id: id.clone(),
            change: RegistrarChange::PinCertificate(fp1),
        })
        .with(Change::UpdateRegistrar {
            id: id.clone(),
            change: RegistrarChange::PinCertificate(fp2),
        })
        .with(Change::UpdateRegistrar {
            id: id.clone(),
            change: RegistrarChange::UnpinCertificate(fp1),
        })
        .with(Change::UpdateRegistrar {
            id: id.clone(),
            change: RegistrarChange::SetSessionLimit(9),
        })
        .with(Change::UpdateRegistrar {
            id: id.clone(),
            change: RegistrarChange::SetName("Renamed AS".into()),
        })
        .with(Change::UpdateRegistrar {
            id: id.clone(),
            change: RegistrarChange::SetPassword(PasswordInput::Clear(pw("secret-pw"))),
        });
    store.commit(set).await.unwrap();
    let r = store.registrar(&id).await.unwrap().unwrap();
    assert_eq!(r.cert_pins.iter().copied().collect::<Vec<_>>(), [fp2]);
    assert_eq!(r.session_limit, 9);
    assert_eq!(r.name, "Renamed AS");
    assert_eq!(r.version, 7);
    let history = store
        .history(&ObjectKey::Registrar(id.clone()))
        .await
        .unwrap();
    assert_eq!(history.len(), 7);
    assert_eq!(history[0].command, "admin:registrar-add");
    assert_eq!(history[0].registrar, None);
    assert!(history[0].before.is_none());
    for h in &history {
        for text in [&h.before, &h.after].into_iter().flatten() {
            assert!(!text.contains("argon2"), "history shows a hash: {text}");
            assert!(!text.contains("secret-pw"));
        }
    }
    assert!(history[2].after.as_deref().unwrap().contains(&fp2.to_hex()));
    let unknown = Change::UpdateRegistrar {
        id: cid("nobody"),
        change: RegistrarChange::SetEnabled(true),
    };
    assert_eq!(
        commit1(store, "reg1", unknown).await,
        Err(StoreError::NotFound(ObjectKey::Registrar(cid("nobody"))))
    );
}

// ---------------------------------------------------------------------------------------
// Contacts

pub async fn contact_round_trips_every_field<S: Store>(store: &S) {
    base(store).await;
    let mut person = full_contact("OLA1P", ContactType::Person, "reg1");
    person.organizations = vec![ctid("ORG1O")];
    commit1(store, "reg1", Change::CreateContact(person.clone()))
        .await
        .unwrap();
    let read = store.contact(&ctid("OLA1P")).await.unwrap().unwrap();
    assert_eq!(read, tweak(person.clone(), |c| c.version = 1));

    let mut role = full_contact("HOST1R", ContactType::Role, "reg1");
    role.organizations = vec![ctid("ORG1O")];
    role.role_contacts = vec![ctid("OLA1P")];
    role.statuses.clear();
    commit1(store, "reg1", Change::CreateContact(role.clone()))
        .await
        .unwrap();
    let read_role = store.contact(&ctid("HOST1R")).await.unwrap().unwrap();
    assert_eq!(read_role.role_contacts, [ctid("OLA1P")]);

    // Update: change fields, drop the mobile number (Norid: empty mobilePhone in chg).
    let mut updated = read.clone();
    updated.mobile = None;
    updated.extra_emails.push("c@example.no".into());
    updated.postal_loc.as_mut().unwrap().street.truncate(1);
    updated.up_date = Some(at(50));
    commit1(store, "reg1", Change::UpdateContact(updated.clone()))
        .await
        .unwrap();
    let read2 = store.contact(&ctid("OLA1P")).await.unwrap().unwrap();
    assert_eq!(read2, tweak(updated, |c| c.version = 2));

    // Delete the role (nothing refers to it), then the person it referred to.
    let del = Change::DeleteContact {
        id: ctid("HOST1R"),
        version: 1,
    };
    commit1(store, "reg1", del).await.unwrap();
    let del = Change::DeleteContact {
        id: ctid("OLA1P"),
        version: 2,
    };
    commit1(store, "reg1", del).await.unwrap();
    assert_eq!(store.contact(&ctid("OLA1P")).await.unwrap(), None);
    let history = store
        .history(&ObjectKey::Contact(ctid("OLA1P")))
        .await
        .unwrap();
    assert_eq!(history.len(), 3);
    assert!(history[2].after.is_none());
    let before = Contact::from_json(history[2].before.as_deref().unwrap(), 2).unwrap();
    assert_eq!(before, read2);
}

pub async fn contact_ids_and_roids_are_unique<S: Store>(store: &S) {
    base(store).await;
    let dup = contact("ORG1O", ContactType::Organization, "reg1");
    let err = commit1(store, "reg1", Change::CreateContact(dup)).await;
    assert_eq!(
        err,
        Err(StoreError::AlreadyExists(ObjectKey::Contact(ctid("ORG1O"))))
    );
    let mut same_roid = contact("ORG2O", ContactType::Organization, "reg1");
    same_roid.roid = roid("ORG1O-NORID");
    let err = commit1(store, "reg1", Change::CreateContact(same_roid)).await;
    assert_eq!(
        err,
        Err(StoreError::AlreadyExists(ObjectKey::Contact(ctid("ORG2O"))))
    );
    assert_eq!(store.contact(&ctid("ORG2O")).await.unwrap(), None);
}

pub async fn contact_references_must_exist<S: Store>(store: &S) {
    base(store).await;
    let missing = |object: &str, missing: ObjectKey| {
        Err(StoreError::MissingReference {
            object: ObjectKey::Contact(ctid(object)),
            missing,
        })
    };
    let mut p = contact("P1P", ContactType::Person, "reg1");
    p.organizations = vec![ctid("ORG1O"), ctid("NOORG9O")];
    assert_eq!(
        commit1(store, "reg1", Change::CreateContact(p)).await,
        missing("P1P", ObjectKey::Contact(ctid("NOORG9O")))
    );
    let mut r = contact("R1R", ContactType::Role, "reg1");
    r.role_contacts = vec![ctid("GONE1P")];
    assert_eq!(
        commit1(store, "reg1", Change::CreateContact(r)).await,
        missing("R1R", ObjectKey::Contact(ctid("GONE1P")))
    );
    let orphan = contact("P2P", ContactType::Person, "reg77");
    assert_eq!(
        commit1(store, "reg1", Change::CreateContact(orphan)).await,
        missing("P2P", ObjectKey::Registrar(cid("reg77")))
    );
    // Updates are checked too.
    let mut org = store.contact(&ctid("ORG1O")).await.unwrap().unwrap();
    org.role_contacts = vec![ctid("GONE1P")];
    assert_eq!(
        commit1(store, "reg1", Change::UpdateContact(org)).await,
        missing("ORG1O", ObjectKey::Contact(ctid("GONE1P")))
    );
    // A reference to an object created earlier in the same set is fine.
    let mut p3 = contact("P3P", ContactType::Person, "reg1");
    p3.organizations = vec![ctid("ORG3O")];
    let set = ChangeSet::new(meta("reg1", "test", 1))
        .with(Change::CreateContact(contact(
            "ORG3O",
            ContactType::Organization,
            "reg1",
        )))
        .with(Change::CreateContact(p3));
    store.commit(set).await.unwrap();
}

pub async fn linked_contacts_cannot_be_deleted<S: Store>(store: &S) {
    base(store).await;
    let key = |id: &str| ObjectKey::Contact(ctid(id));
    let delete = |id: &str, version| Change::DeleteContact {
        id: ctid(id),
        version,
    };
    // A person that names the organization, and then itself.
    let mut p = contact("P1P", ContactType::Person, "reg1");
    p.organizations = vec![ctid("ORG1O")];
    commit1(store, "reg1", Change::CreateContact(p))
        .await
        .unwrap();
    let mut p = store.contact(&ctid("P1P")).await.unwrap().unwrap();
    p.role_contacts = vec![ctid("P1P")];
    commit1(store, "reg1", Change::UpdateContact(p))
        .await
        .unwrap();
    assert!(store.is_linked(&key("ORG1O")).await.unwrap());
    assert!(
        !store.is_linked(&key("P1P")).await.unwrap(),
        "self-reference links"
    );
    assert_eq!(
        commit1(store, "reg1", delete("ORG1O", 1)).await,
        Err(StoreError::Linked {
            object: key("ORG1O"),
            by: key("P1P")
        })
    );
    // Registrant and tech contact of a domain, contact of a host.
    commit1(
        store,
        "reg1",
        Change::CreateDomain(base_domain("linked.no")),
    )
    .await
    .unwrap();
    let mut h = host("ns.other.net", "reg1");
    h.contacts = vec![ctid("P1P")];
    commit1(store, "reg1", Change::CreateHost(h)).await.unwrap();
    let domain_key = ObjectKey::Domain(dn("linked.no"));
    assert_eq!(
        commit1(store, "reg1", delete("ROLE1R", 1)).await,
        Err(StoreError::Linked {
            object: key("ROLE1R"),
            by: domain_key.clone()
        })
    );
    assert_eq!(
        commit1(store, "reg1", delete("P1P", 2)).await,
        Err(StoreError::Linked {
            object: key("P1P"),
            by: ObjectKey::Host(hn("ns.other.net"))
        })
    );
    let err = commit1(store, "reg1", delete("ORG1O", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Linked { by, .. } if *by == key("P1P") || *by == domain_key),
        "{err:?}"
    );
    assert_eq!(err.epp_result_code(), 2305);
    // Once nothing refers to them they can go.
    let set = ChangeSet::new(meta("reg1", "cleanup", 9))
        .with(Change::DeleteHost {
            name: hn("ns.other.net"),
            version: 1,
        })
        .with(Change::DeleteDomain {
            name: dn("linked.no"),
            version: 1,
        })
        .with(delete("P1P", 2))
        .with(delete("ORG1O", 1))
        .with(delete("ROLE1R", 1));
    store.commit(set).await.unwrap();
    assert!(!store.is_linked(&key("ORG1O")).await.unwrap());
    assert_eq!(
        store
            .contacts_exist(&[ctid("ORG1O"), ctid("ROLE1R"), ctid("P1P")])
            .await
            .unwrap(),
        [false, false, false]
    );
}

// ---------------------------------------------------------------------------------------
// Hosts

pub async fn host_round_trips_every_field<S: Store>(store: &S) {
    base(store).await;
    let mut h = host("ns1.example.no", "reg1");
    h.addrs = vec![
        "192.0.2.1".parse::<IpAddr>().unwrap(),
        "2001:db8::53".parse().unwrap(),
    ];
    h.contacts = vec![ctid("ROLE1R")];
    h.statuses.insert(HostStatus::ClientDeleteProhibited, None);
    h.up_id = Some(cid("reg1"));
    h.up_date = Some(at(7));
    h.tr_date = Some(at(8));
    commit1(store, "reg1", Change::CreateHost(h.clone()))
        .await
        .unwrap();
    let read = store.host(&hn("NS1.Example.NO")).await.unwrap().unwrap();
    assert_eq!(read, tweak(h, |h| h.version = 1));
    // An address change waiting for the DNS check.
    let mut pending = read.clone();
    pending.pending = Some(PendingHostUpdate {
        addrs: vec!["192.0.2.2".parse().unwrap()],
        requested_by: cid("reg1"),
        requested_at: at(60),
        cl_trid: Some(ClTrid::new("ABC-1").unwrap()),
        sv_trid: Some(SvTrid::new("SV-1").unwrap()),
    });
    let change = Change::UpdateHost {
        name: hn("ns1.example.no"),
        host: pending.clone(),
    };
    commit1(store, "reg1", change).await.unwrap();
    let read2 = store.host(&hn("ns1.example.no")).await.unwrap().unwrap();
    assert_eq!(read2, tweak(pending, |h| h.version = 2));
    let delete = Change::DeleteHost {
        name: hn("ns1.example.no"),
        version: 2,
    };
    commit1(store, "reg1", delete).await.unwrap();
    assert_eq!(store.host(&hn("ns1.example.no")).await.unwrap(), None);
    assert_eq!(
        store
            .history(&ObjectKey::Host(hn("ns1.example.no")))
            .await
            .unwrap()
            .len(),
        3
    );
}

pub async fn host_rename_follows_into_domains<S: Store>(store: &S) {
    base(store).await;
    commit1(store, "reg1", Change::CreateDomain(base_domain("a.no")))
        .await
        .unwrap();
    let b = domain("b.no", "reg1", "ORG1O", &[], &["ns1.example.net"]);
    commit1(store, "reg1", Change::CreateDomain(b))
        .await
        .unwrap();
    let old = store.host(&hn("ns1.example.net")).await.unwrap().unwrap();
    // Renaming onto an existing host is refused.
    let clash = tweak(old.clone(), |h| h.name = hn("ns2.example.net"));
    let change = Change::UpdateHost {
        name: hn("ns1.example.net"),
        host: clash,
    };
    assert_eq!(
        commit1(store, "reg1", change).await,
        Err(StoreError::AlreadyExists(ObjectKey::Host(hn(
            "ns2.example.net"
        ))))
    );
    let renamed = tweak(old.clone(), |h| h.name = hn("ns9.example.net"));
    let change = Change::UpdateHost {
        name: hn("ns1.example.net"),
        host: renamed.clone(),
    };
    store
        .commit(ChangeSet::new(meta("reg1", "host:update", 30)).with(change))
        .await
        .unwrap();
    assert_eq!(store.host(&hn("ns1.example.net")).await.unwrap(), None);
    let read = store.host(&hn("ns9.example.net")).await.unwrap().unwrap();
    assert_eq!(read, tweak(renamed, |h| h.version = 2));
    let a = store.domain(&dn("a.no")).await.unwrap().unwrap();
    assert_eq!(a.ns, [hn("ns9.example.net"), hn("ns2.example.net")]);
    assert_eq!(a.version, 2);
    let b = store.domain(&dn("b.no")).await.unwrap().unwrap();
    assert_eq!(b.ns, [hn("ns9.example.net")]);
    let history = store.history(&ObjectKey::Domain(dn("b.no"))).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].command, "host:update");
    assert!(
        history[1]
            .before
            .as_deref()
            .unwrap()
            .contains("ns1.example.net")
    );
    assert!(
        history[1]
            .after
            .as_deref()
            .unwrap()
            .contains("ns9.example.net")
    );
    // The renamed host is still linked, under its new name.
    assert!(
        store
            .is_linked(&ObjectKey::Host(hn("ns9.example.net")))
            .await
            .unwrap()
    );
    let listed = store
        .domains(&DomainQuery::NameServer(hn("ns9.example.net")), None, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    let delete = Change::DeleteHost {
        name: hn("ns9.example.net"),
        version: 2,
    };
    assert!(matches!(
        commit1(store, "reg1", delete).await,
        Err(StoreError::Linked { .. })
    ));
}

/// A domain's subordinate hosts are the hosts whose name lies under it, at any depth,
/// whether or not the domain (or the name queried) is registered; a rename moves a host in
/// or out of a domain, and a deleted host leaves the listing.
pub async fn subordinate_hosts_follow_renames<S: Store>(store: &S) {
    base(store).await;
    commit1(store, "reg1", Change::CreateDomain(base_domain("alpha.no")))
        .await
        .unwrap();
    let mut set = ChangeSet::new(meta("reg1", "setup", 1));
    for name in [
        "ns1.alpha.no",
        "ns2.deep.alpha.no",
        "ns1.notalpha.no",
        "ns1.beta.no",
        "ns1.ola.oslo.no",
    ] {
        set.push(Change::CreateHost(host(name, "reg1")));
    }
    store.commit(set).await.unwrap();
    let subs = async |d: &str| {
        store
            .hosts(&HostQuery::Subordinate(dn(d)), None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.name.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        subs("alpha.no").await,
        ["ns1.alpha.no", "ns2.deep.alpha.no"]
    );
    // beta.no is not registered; oslo.no and deep.alpha.no cannot be.
    assert_eq!(subs("beta.no").await, ["ns1.beta.no"]);
    assert_eq!(subs("ola.oslo.no").await, ["ns1.ola.oslo.no"]);
    assert_eq!(subs("oslo.no").await, ["ns1.ola.oslo.no"]);
    assert_eq!(subs("deep.alpha.no").await, ["ns2.deep.alpha.no"]);
    assert!(
        subs("example.net")
            .await
            .iter()
            .all(|h| h.ends_with(".example.net"))
    );

    // Into alpha.no, out of it to another domain, and out of .no altogether.
    let rename = async |from: &str, to: &str, secs: i64| {
        let old = store.host(&hn(from)).await.unwrap().unwrap();
        let change = Change::UpdateHost {
            name: hn(from),
            host: tweak(old, |h| h.name = hn(to)),
        };
        store
            .commit(ChangeSet::new(meta("reg1", "host:update", secs)).with(change))
            .await
            .unwrap();
    };
    rename("ns1.beta.no", "ns3.alpha.no", 2).await;
    rename("ns2.deep.alpha.no", "ns2.ola.oslo.no", 3).await;
    rename("ns1.notalpha.no", "ns9.example.net", 4).await;
    assert_eq!(subs("alpha.no").await, ["ns1.alpha.no", "ns3.alpha.no"]);
    assert!(subs("beta.no").await.is_empty());
    assert!(subs("deep.alpha.no").await.is_empty());
    assert!(subs("notalpha.no").await.is_empty());
    assert_eq!(
        subs("ola.oslo.no").await,
        ["ns1.ola.oslo.no", "ns2.ola.oslo.no"]
    );
    // Pages continue after the last name.
    let page = store
        .hosts(
            &HostQuery::Subordinate(dn("alpha.no")),
            Some(&hn("ns1.alpha.no")),
            1,
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].name, hn("ns3.alpha.no"));

    let delete = Change::DeleteHost {
        name: hn("ns1.alpha.no"),
        version: 1,
    };
    commit1(store, "reg1", delete).await.unwrap();
    assert_eq!(subs("alpha.no").await, ["ns3.alpha.no"]);
}

pub async fn linked_hosts_cannot_be_deleted<S: Store>(store: &S) {
    base(store).await;
    commit1(store, "reg1", Change::CreateDomain(base_domain("a.no")))
        .await
        .unwrap();
    let key = ObjectKey::Host(hn("ns2.example.net"));
    assert!(store.is_linked(&key).await.unwrap());
    let delete = Change::DeleteHost {
        name: hn("ns2.example.net"),
        version: 1,
    };
    assert_eq!(
        commit1(store, "reg1", delete.clone()).await,
        Err(StoreError::Linked {
            object: key.clone(),
            by: ObjectKey::Domain(dn("a.no"))
        })
    );
    // Drop the host from the domain, then it can go.
    let mut a = store.domain(&dn("a.no")).await.unwrap().unwrap();
    a.ns.retain(|n| n.as_str() != "ns2.example.net");
    commit1(store, "reg1", Change::UpdateDomain(a))
        .await
        .unwrap();
    assert!(!store.is_linked(&key).await.unwrap());
    commit1(store, "reg1", delete).await.unwrap();
    assert_eq!(store.host(&hn("ns2.example.net")).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------
// Domains

/// A domain with every field set, using the [`base`] objects.
pub fn full_domain(name: &str) -> Domain {
    let mut d = base_domain(name);
    d.statuses.insert(DomainStatus::ClientHold, None);
    d.statuses.insert(
        DomainStatus::ClientTransferProhibited,
        Some(StatusNote {
            lang: None,
            text: "Held by request".into(),
        }),
    );
    d.contacts.push(DomainContact {
        role: ContactRole::Admin,
        id: ctid("ORG1O"),
    });
    d.auth_info = Some(AuthInfo::new("Tr@nsfer-Code#2024"));
    d.up_id = Some(cid("reg1"));
    d.up_date = Some(at(100));
    d.tr_date = Some(at(50));
    d.applicant_dataset = Some(ApplicantDataset {
        version_number: "3.2".into(),
        accept_name: "Ola Nordmann".into(),
        accept_date: at(-3600),
        update_client_id: cid("reg1"),
        update_date: at(0),
    });
    d.delete_from_dns = Some(Date::new(2025, 1, 31).unwrap());
    d.delete_from_registry = Some(Date::new(2025, 2, 28).unwrap());
    d.sec_dns = SecDns {
        max_sig_life: Some(604_800),
        ds: vec![
            DsData {
                key_tag: 12345,
                alg: 8,
                digest_type: 2,
                digest: "49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC49FD46E6C4B45C55D4AC1234".into(),
                key_data: Some(KeyData {
                    flags: 257,
                    protocol: 3,
                    alg: 8,
                    pub_key: "AwEAAa3TdLk9Zw==".into(),
                }),
            },
            DsData {
                key_tag: 54321,
                alg: 13,
                digest_type: 2,
                digest: "AB".repeat(32),
                key_data: None,
            },
        ],
    };
    d.transfer = Some(TransferRecord {
        status: TransferStatus::ServerApproved,
        requested_by: cid("reg1"),
        requested_at: at(40),
        action_by: cid("reg0"),
        action_at: at(50),
        cl_trid: Some(ClTrid::new("CL-transfer-40").unwrap()),
        sv_trid: Some(SvTrid::new("SV-40-reg1").unwrap()),
    });
    d.lifecycle = Lifecycle::Quarantined { since: at(200) };
    d
}

pub async fn domain_round_trips_every_field<S: Store>(store: &S) {
    base(store).await;
    let d = full_domain("xn--bl-zia.no");
    commit1(store, "reg1", Change::CreateDomain(d.clone()))
        .await
        .unwrap();
    let read = store.domain(&dn("xn--bl-zia.no")).await.unwrap().unwrap();
    assert_eq!(read, tweak(d, |d| d.version = 1));
    // Update everything that can change, including dropping optional parts.
    let mut u = read.clone();
    u.statuses.clear();
    u.contacts.retain(|c| c.role == ContactRole::Tech);
    u.ns.reverse();
    u.auth_info = None;
    u.sec_dns = SecDns::default();
    u.transfer = None;
    u.lifecycle = Lifecycle::PendingDelete { since: at(300) };
    u.ex_date = at(2 * 365 * 86_400);
    u.cl_id = cid("reg0");
    commit1(store, "reg1", Change::UpdateDomain(u.clone()))
        .await
        .unwrap();
    let read2 = store.domain(&dn("xn--bl-zia.no")).await.unwrap().unwrap();
    assert_eq!(read2, tweak(u, |d| d.version = 2));
    let delete = Change::DeleteDomain {
        name: dn("xn--bl-zia.no"),
        version: 2,
    };
    commit1(store, "reg1", delete).await.unwrap();
    assert_eq!(store.domain(&dn("xn--bl-zia.no")).await.unwrap(), None);
}

pub async fn domain_names_are_unique<S: Store>(store: &S) {
    base(store).await;
    commit1(
        store,
        "reg1",
        Change::CreateDomain(base_domain("example.no")),
    )
    .await
    .unwrap();
    // Names compare without regard to ASCII case (the value type lower-cases them).
    let mut upper = base_domain("EXAMPLE.NO");
    upper.roid = roid("DOTHER-NORID");
    assert_eq!(
        commit1(store, "reg1", Change::CreateDomain(upper)).await,
        Err(StoreError::AlreadyExists(ObjectKey::Domain(dn(
            "example.no"
        ))))
    );
    let mut same_roid = base_domain("other.no");
    same_roid.roid = base_domain("example.no").roid;
    assert_eq!(
        commit1(store, "reg1", Change::CreateDomain(same_roid)).await,
        Err(StoreError::AlreadyExists(ObjectKey::Domain(dn("other.no"))))
    );
    assert_eq!(store.count_domains(&DomainQuery::All).await.unwrap(), 1);
    // Once deleted, the name can be registered again (with a new ROID).
    let delete = Change::DeleteDomain {
        name: dn("example.no"),
        version: 1,
    };
    commit1(store, "reg1", delete).await.unwrap();
    let mut again = base_domain("example.no");
    again.roid = roid("DAGAIN-NORID");
    commit1(store, "reg1", Change::CreateDomain(again))
        .await
        .unwrap();
}

pub async fn domain_references_must_exist<S: Store>(store: &S) {
    base(store).await;
    let missing = |m: ObjectKey| {
        Err(StoreError::MissingReference {
            object: ObjectKey::Domain(dn("x.no")),
            missing: m,
        })
    };
    let cases = [
        (
            domain("x.no", "reg1", "NONE1O", &["ROLE1R"], &["ns1.example.net"]),
            ObjectKey::Contact(ctid("NONE1O")),
        ),
        (
            domain("x.no", "reg1", "ORG1O", &["NONE2R"], &["ns1.example.net"]),
            ObjectKey::Contact(ctid("NONE2R")),
        ),
        (
            domain(
                "x.no",
                "reg1",
                "ORG1O",
                &["ROLE1R"],
                &["ns1.example.net", "ns.none.net"],
            ),
            ObjectKey::Host(hn("ns.none.net")),
        ),
        (
            domain("x.no", "reg5", "ORG1O", &["ROLE1R"], &["ns1.example.net"]),
            ObjectKey::Registrar(cid("reg5")),
        ),
    ];
    for (d, m) in cases {
        let err = commit1(store, "reg1", Change::CreateDomain(d.clone())).await;
        assert_eq!(err, missing(m.clone()));
        assert_eq!(err.unwrap_err().epp_result_code(), 2303);
        assert_eq!(store.domain(&dn("x.no")).await.unwrap(), None);
    }
    // The same rules hold for updates.
    commit1(store, "reg1", Change::CreateDomain(base_domain("x.no")))
        .await
        .unwrap();
    let mut u = store.domain(&dn("x.no")).await.unwrap().unwrap();
    u.registrant = ctid("NONE1O");
    assert_eq!(
        commit1(store, "reg1", Change::UpdateDomain(u)).await,
        missing(ObjectKey::Contact(ctid("NONE1O")))
    );
    let mut u = store.domain(&dn("x.no")).await.unwrap().unwrap();
    u.ns.push(hn("ns.none.net"));
    assert_eq!(
        commit1(store, "reg1", Change::UpdateDomain(u)).await,
        missing(ObjectKey::Host(hn("ns.none.net")))
    );
    let read = store.domain(&dn("x.no")).await.unwrap().unwrap();
    assert_eq!(read.version, 1);
}

pub async fn stale_versions_conflict<S: Store>(store: &S) {
    base(store).await;
    commit1(store, "reg1", Change::CreateDomain(base_domain("v.no")))
        .await
        .unwrap();
    let v1 = store.domain(&dn("v.no")).await.unwrap().unwrap();
    let first = tweak(v1.clone(), |d| {
        d.auth_info = Some(AuthInfo::new("first-code"))
    });
    commit1(store, "reg1", Change::UpdateDomain(first))
        .await
        .unwrap();
    let stale = tweak(v1, |d| d.auth_info = Some(AuthInfo::new("stale-code")));
    let key = ObjectKey::Domain(dn("v.no"));
    let err = commit1(store, "reg1", Change::UpdateDomain(stale))
        .await
        .unwrap_err();
    assert_eq!(err, StoreError::Conflict(key.clone()));
    assert!(err.is_retryable());
    let delete = Change::DeleteDomain {
        name: dn("v.no"),
        version: 1,
    };
    assert_eq!(
        commit1(store, "reg1", delete).await,
        Err(StoreError::Conflict(key))
    );
    let now = store.domain(&dn("v.no")).await.unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.auth_info, Some(AuthInfo::new("first-code")));
    // Contacts and hosts too.
    let c = store.contact(&ctid("ROLE1R")).await.unwrap().unwrap();
    let stale_c = tweak(c, |c| c.version = 7);
    assert_eq!(
        commit1(store, "reg1", Change::UpdateContact(stale_c)).await,
        Err(StoreError::Conflict(ObjectKey::Contact(ctid("ROLE1R"))))
    );
    let h = store.host(&hn("ns1.example.net")).await.unwrap().unwrap();
    let change = Change::UpdateHost {
        name: hn("ns1.example.net"),
        host: tweak(h, |h| h.version = 0),
    };
    assert_eq!(
        commit1(store, "reg1", change).await,
        Err(StoreError::Conflict(ObjectKey::Host(hn("ns1.example.net"))))
    );
    let delete = Change::DeleteHost {
        name: hn("ns1.example.net"),
        version: 3,
    };
    assert_eq!(
        commit1(store, "reg1", delete).await,
        Err(StoreError::Conflict(ObjectKey::Host(hn("ns1.example.net"))))
    );
}

pub async fn missing_objects_are_not_found<S: Store>(store: &S) {
    base(store).await;
    let nf = |k: ObjectKey| Err(StoreError::NotFound(k));
    let d = base_domain("none.no");
    assert_eq!(
        commit1(store, "reg1", Change::UpdateDomain(d)).await,
        nf(ObjectKey::Domain(dn("none.no")))
    );
    let del = Change::DeleteDomain {
        name: dn("none.no"),
        version: 1,
    };
    assert_eq!(
        commit1(store, "reg1", del).await,
        nf(ObjectKey::Domain(dn("none.no")))
    );
    let c = contact("NONE1P", ContactType::Person, "reg1");
    assert_eq!(
        commit1(store, "reg1", Change::UpdateContact(c)).await,
        nf(ObjectKey::Contact(ctid("NONE1P")))
    );
    let del = Change::DeleteContact {
        id: ctid("NONE1P"),
        version: 1,
    };
    assert_eq!(
        commit1(store, "reg1", del).await,
        nf(ObjectKey::Contact(ctid("NONE1P")))
    );
    let change = Change::UpdateHost {
        name: hn("ns.none.net"),
        host: host("ns.none.net", "reg1"),
    };
    assert_eq!(
        commit1(store, "reg1", change).await,
        nf(ObjectKey::Host(hn("ns.none.net")))
    );
    let del = Change::DeleteHost {
        name: hn("ns.none.net"),
        version: 1,
    };
    assert_eq!(
        commit1(store, "reg1", del).await,
        nf(ObjectKey::Host(hn("ns.none.net")))
    );
    assert_eq!(store.domain(&dn("none.no")).await.unwrap(), None);
    assert_eq!(store.contact(&ctid("NONE1P")).await.unwrap(), None);
    assert_eq!(store.host(&hn("ns.none.net")).await.unwrap(), None);
    assert_eq!(store.registrar(&cid("nobody")).await.unwrap(), None);
    assert!(
        !store
            .is_linked(&ObjectKey::Host(hn("ns.none.net")))
            .await
            .unwrap()
    );
}

pub async fn failed_change_set_writes_nothing<S: Store>(store: &S) {
    base(store).await;
    let before_ids = store.allocate_id(Sequence::DomainRoid).await.unwrap();
    let set = ChangeSet::new(meta("reg1", "domain:create", 10))
        .with(Change::CreateContact(contact(
            "NEW1O",
            ContactType::Organization,
            "reg1",
        )))
        .with(Change::CreateHost(host("ns.new.net", "reg1")))
        .with(Change::EnqueuePoll(NewPollMessage {
            registrar: cid("reg1"),
            text: "should not be queued".into(),
            payload: PollPayload::Text,
        }))
        .with(Change::QueueNotification(NewNotification {
            channel: NotifyChannel::Email,
            recipient: "x@example.no".into(),
            subject: None,
            body: "should not be queued".into(),
        }))
        .with(Change::CreateDomain(base_domain("ok.no")))
        .with(Change::RecordReplay {
            response: b"<epp/>".to_vec(),
            replaces_before: at(0),
        })
        .with(Change::CreateDomain(domain(
            "bad.no",
            "reg1",
            "NEW1O",
            &[],
            &["ns.new.net", "ns.missing.net"],
        )));
    let err = store.commit(set).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::MissingReference {
            object: ObjectKey::Domain(dn("bad.no")),
            missing: ObjectKey::Host(hn("ns.missing.net")),
        }
    );
    assert_eq!(store.contact(&ctid("NEW1O")).await.unwrap(), None);
    assert_eq!(store.host(&hn("ns.new.net")).await.unwrap(), None);
    assert_eq!(store.domain(&dn("ok.no")).await.unwrap(), None);
    assert_eq!(store.poll_summary(&cid("reg1")).await.unwrap(), None);
    assert!(store.pending_notifications(10).await.unwrap().is_empty());
    let m = meta("reg1", "domain:create", 10);
    let (r, t) = (m.registrar.unwrap(), m.cl_trid.unwrap());
    assert_eq!(store.replay(&r, &t).await.unwrap(), None);
    assert!(
        store
            .history(&ObjectKey::Contact(ctid("NEW1O")))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .history(&ObjectKey::Domain(dn("ok.no")))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .is_linked(&ObjectKey::Contact(ctid("ORG1O")))
            .await
            .unwrap()
    );
    // The store still works, and its sequences were not disturbed.
    assert!(store.allocate_id(Sequence::DomainRoid).await.unwrap() > before_ids);
    commit1(store, "reg1", Change::CreateDomain(base_domain("ok.no")))
        .await
        .unwrap();
}

pub async fn history_records_meta_before_and_after<S: Store>(store: &S) {
    base(store).await;
    let create = ChangeSet::new(meta("reg1", "domain:create", 10))
        .with(Change::CreateDomain(base_domain("h.no")));
    store.commit(create).await.unwrap();
    let v1 = store.domain(&dn("h.no")).await.unwrap().unwrap();
    let v2 = tweak(v1.clone(), |d| {
        d.auth_info = Some(AuthInfo::new("new-code-1"))
    });
    let update = ChangeSet::new(meta("reg1", "domain:update", 20)).with(Change::UpdateDomain(v2));
    store.commit(update).await.unwrap();
    let v2 = store.domain(&dn("h.no")).await.unwrap().unwrap();
    let delete = ChangeSet::new(ChangeMeta {
        registrar: None,
        time: at(30),
        cl_trid: None,
        sv_trid: None,
        command: "lifecycle:delete".into(),
    })
    .with(Change::DeleteDomain {
        name: dn("h.no"),
        version: 2,
    });
    store.commit(delete).await.unwrap();

    let history = store.history(&ObjectKey::Domain(dn("h.no"))).await.unwrap();
    assert_eq!(history.len(), 3);
    assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    let [c, u, d] = &history[..] else {
        unreachable!()
    };
    assert_eq!(c.kind, ObjectKind::Domain);
    assert_eq!(c.key, "h.no");
    assert_eq!(c.roid, Some(v1.roid.clone()));
    assert_eq!(c.registrar, Some(cid("reg1")));
    assert_eq!(c.time, at(10));
    assert_eq!(c.cl_trid, Some(ClTrid::new("CL-domain:create-10").unwrap()));
    assert_eq!(c.sv_trid, Some(SvTrid::new("SV-10-reg1").unwrap()));
    assert_eq!(c.command, "domain:create");
    assert_eq!(c.before, None);
    assert_eq!(
        Domain::from_json(c.after.as_deref().unwrap(), 1).unwrap(),
        v1
    );
    assert_eq!(u.command, "domain:update");
    assert_eq!(
        Domain::from_json(u.before.as_deref().unwrap(), 1).unwrap(),
        v1
    );
    assert_eq!(
        Domain::from_json(u.after.as_deref().unwrap(), 2).unwrap(),
        v2
    );
    assert_eq!(d.registrar, None);
    assert_eq!(d.cl_trid, None);
    assert_eq!(d.command, "lifecycle:delete");
    assert_eq!(d.time, at(30));
    assert_eq!(
        Domain::from_json(d.before.as_deref().unwrap(), 2).unwrap(),
        v2
    );
    assert_eq!(d.after, None);
    // Other objects' histories are separate.
    let hosts = store
        .history(&ObjectKey::Host(hn("ns1.example.net")))
        .await
        .unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].command, "setup");
}

// ---------------------------------------------------------------------------------------
// Poll queue

fn text_message(registrar: &str, text: &str) -> Change {
    Change::EnqueuePoll(NewPollMessage {
        registrar: cid(registrar),
        text: text.into(),
        payload: PollPayload::Text,
    })
}

pub async fn poll_queue_is_ordered_and_acked_per_registrar<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    add_registrar(store, "reg2").await;
    assert_eq!(store.poll_summary(&cid("reg1")).await.unwrap(), None);
    assert_eq!(store.poll_peek(&cid("reg1")).await.unwrap(), None);
    let mut ids = Vec::new();
    for (i, text) in ["first", "second", "third"].into_iter().enumerate() {
        let set = ChangeSet::new(meta("reg1", "test", i as i64))
            .with(text_message("reg1", text))
            .with(text_message("reg2", &format!("{text} for reg2")));
        let receipt = store.commit(set).await.unwrap();
        assert_eq!(receipt.poll_ids.len(), 2);
        ids.push(receipt.poll_ids[0]);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let summary = store.poll_summary(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!((summary.count, summary.first_id), (3, ids[0]));
    let head = store.poll_peek(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!(head.count, 3);
    assert_eq!(head.message.id, ids[0]);
    assert_eq!(head.message.text, "first");
    assert_eq!(head.message.q_date, at(0));
    assert_eq!(head.message.registrar, cid("reg1"));
    // reg2 cannot acknowledge reg1's message; unknown ids are not found.
    let ack = |registrar: &str, id| Change::AckPoll {
        registrar: cid(registrar),
        id,
    };
    assert_eq!(
        commit1(store, "reg2", ack("reg2", ids[0])).await,
        Err(StoreError::NotFound(ObjectKey::PollMessage(ids[0])))
    );
    assert_eq!(
        commit1(store, "reg1", ack("reg1", 999_999)).await,
        Err(StoreError::NotFound(ObjectKey::PollMessage(999_999)))
    );
    commit1(store, "reg1", ack("reg1", ids[0])).await.unwrap();
    let head = store.poll_peek(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!((head.count, head.message.id), (2, ids[1]));
    assert_eq!(head.message.text, "second");
    // Acknowledging a message out of order is allowed (RFC 5730 acks by id).
    commit1(store, "reg1", ack("reg1", ids[2])).await.unwrap();
    let summary = store.poll_summary(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!((summary.count, summary.first_id), (1, ids[1]));
    assert_eq!(
        commit1(store, "reg1", ack("reg1", ids[2])).await,
        Err(StoreError::NotFound(ObjectKey::PollMessage(ids[2])))
    );
    commit1(store, "reg1", ack("reg1", ids[1])).await.unwrap();
    assert_eq!(store.poll_summary(&cid("reg1")).await.unwrap(), None);
    // reg2's queue is untouched.
    let summary = store.poll_summary(&cid("reg2")).await.unwrap().unwrap();
    assert_eq!(summary.count, 3);
    // Messages to an unknown registrar are refused.
    assert_eq!(
        commit1(store, "reg1", text_message("reg9", "x")).await,
        Err(StoreError::NotFound(ObjectKey::Registrar(cid("reg9"))))
    );
    // Ids are never reused, even after the queue emptied.
    let receipt = commit1(store, "reg1", text_message("reg1", "later"))
        .await
        .unwrap();
    assert!(receipt.poll_ids[0] > ids[2]);
}

pub async fn poll_payloads_round_trip<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    let payloads = [
        PollPayload::Text,
        PollPayload::DomainTransferred {
            domain: dn("moved.no"),
            gaining: cid("reg2"),
        },
        PollPayload::DomainQuarantined {
            domain: dn("old.no"),
        },
        PollPayload::DomainDeleted {
            domain: dn("gone.no"),
        },
        PollPayload::ObjectDeleted {
            object: ObjectKind::Contact,
            handle: "TEST1P".into(),
            name: Some("Test Foo Bar".into()),
        },
        PollPayload::InvalidRegistrantStarted {
            domain: dn("bad.no"),
            registrant: ctid("ORG9O"),
        },
        PollPayload::LateResponse {
            cl_trid: Some(ClTrid::new("ABC-1").unwrap()),
            sv_trid: SvTrid::new("SV-1").unwrap(),
            response: "<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><response/></epp>".into(),
        },
        PollPayload::ResponseCopy {
            object: ObjectKind::Domain,
            command: "transfer-execute".into(),
            object_name: "copy.no".into(),
            response: "<epp><response>æøå &amp; \"quotes\"</response></epp>".into(),
        },
    ];
    for (i, payload) in payloads.iter().enumerate() {
        let change = Change::EnqueuePoll(NewPollMessage {
            registrar: cid("reg1"),
            text: format!("message {i}: Domain [x.no] ÆØÅ"),
            payload: payload.clone(),
        });
        let set = ChangeSet::new(meta("reg1", "test", i as i64)).with(change);
        store.commit(set).await.unwrap();
    }
    for (i, payload) in payloads.iter().enumerate() {
        let head = store.poll_peek(&cid("reg1")).await.unwrap().unwrap();
        assert_eq!(head.count, (payloads.len() - i) as u64);
        assert_eq!(&head.message.payload, payload);
        assert_eq!(head.message.text, format!("message {i}: Domain [x.no] ÆØÅ"));
        assert_eq!(head.message.q_date, at(i as i64));
        let ack = Change::AckPoll {
            registrar: cid("reg1"),
            id: head.message.id,
        };
        commit1(store, "reg1", ack).await.unwrap();
    }
}

pub async fn poll_purge_removes_old_messages<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    add_registrar(store, "reg2").await;
    for (secs, registrar) in [(0, "reg1"), (10, "reg2"), (20, "reg1"), (30, "reg1")] {
        let set = ChangeSet::new(meta(registrar, "test", secs)).with(text_message(registrar, "m"));
        store.commit(set).await.unwrap();
    }
    let purge = Change::PurgePoll { before: at(20) };
    commit1(store, "reg1", purge).await.unwrap();
    let head = store.poll_peek(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!((head.count, head.message.q_date), (2, at(20)));
    assert_eq!(store.poll_summary(&cid("reg2")).await.unwrap(), None);
}

pub async fn poll_queues_list_every_registrar<S: Store>(store: &S) {
    add_registrar(store, "reg2").await;
    add_registrar(store, "reg1").await;
    for (secs, text) in [(5, "first"), (9, "second")] {
        let set = ChangeSet::new(meta("reg2", "test", secs)).with(text_message("reg1", text));
        store.commit(set).await.unwrap();
    }
    // By registrar id, reg0 left out; an empty queue has no oldest message.
    assert_eq!(
        store.poll_queues().await.unwrap(),
        [
            PollQueue {
                registrar: cid("reg1"),
                count: 2,
                oldest: Some(at(5)),
            },
            PollQueue {
                registrar: cid("reg2"),
                count: 0,
                oldest: None,
            },
        ]
    );
}

pub async fn poll_once_keys_queue_a_notice_once_while_unread<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    add_registrar(store, "reg2").await;
    let once = |registrar: &str, text: &str, key: &str| Change::EnqueuePollOnce {
        message: NewPollMessage {
            registrar: cid(registrar),
            text: text.into(),
            payload: PollPayload::Text,
        },
        key: key.into(),
    };
    let count = |registrar: &'static str| async move {
        store
            .poll_summary(&cid(registrar))
            .await
            .unwrap()
            .map_or(0, |s| s.count)
    };
    // Queued the first time, not again while unread; the receipt lists only EnqueuePoll's
    // ids.
    let receipt = commit1(store, "reg2", once("reg1", "first", "k1"))
        .await
        .unwrap();
    assert!(receipt.poll_ids.is_empty());
    commit1(store, "reg2", once("reg1", "again", "k1"))
        .await
        .unwrap();
    assert_eq!(count("reg1").await, 1);
    // Another key, or the same key in another queue, is another notice; plain messages
    // are never held back.
    commit1(store, "reg2", once("reg1", "other", "k2"))
        .await
        .unwrap();
    commit1(store, "reg1", once("reg2", "for reg2", "k1"))
        .await
        .unwrap();
    commit1(store, "reg2", text_message("reg1", "plain"))
        .await
        .unwrap();
    assert_eq!((count("reg1").await, count("reg2").await), (3, 1));
    let ack = |id| Change::AckPoll {
        registrar: cid("reg1"),
        id,
    };
    let head = store.poll_peek(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!(head.message.text, "first");
    // Once read and acknowledged, the key is free again.
    commit1(store, "reg1", ack(head.message.id)).await.unwrap();
    commit1(store, "reg2", once("reg1", "after the ack", "k1"))
        .await
        .unwrap();
    assert_eq!(count("reg1").await, 3);
    let mut texts = Vec::new();
    while let Some(head) = store.poll_peek(&cid("reg1")).await.unwrap() {
        texts.push(head.message.text.clone());
        commit1(store, "reg1", ack(head.message.id)).await.unwrap();
    }
    assert_eq!(texts, ["other", "plain", "after the ack"]);
    // A purge frees the key too.
    commit1(store, "reg2", once("reg1", "before the purge", "k3"))
        .await
        .unwrap();
    commit1(store, "reg1", Change::PurgePoll { before: at(1) })
        .await
        .unwrap();
    assert_eq!(count("reg1").await, 0);
    commit1(store, "reg2", once("reg1", "after the purge", "k3"))
        .await
        .unwrap();
    assert_eq!(count("reg1").await, 1);
    // A change set that fails leaves the key free: the notice it would have queued is not
    // counted as queued.
    let failing = ChangeSet::new(meta("reg2", "test", 0))
        .with(once("reg1", "rolled back", "k4"))
        .with(text_message("reg9", "no such registrar"));
    assert_eq!(
        store.commit(failing).await,
        Err(StoreError::NotFound(ObjectKey::Registrar(cid("reg9"))))
    );
    commit1(store, "reg2", once("reg1", "kept", "k4"))
        .await
        .unwrap();
    assert_eq!(count("reg1").await, 2);
    // A queue that does not exist is refused as for EnqueuePoll.
    assert_eq!(
        commit1(store, "reg2", once("reg9", "x", "k1")).await,
        Err(StoreError::NotFound(ObjectKey::Registrar(cid("reg9"))))
    );
}

// ---------------------------------------------------------------------------------------
// Transfer tokens, outbox, replay records, sequences

fn token(domain: &str, secret: &str, secs: i64) -> TransferToken {
    TransferToken {
        domain: dn(domain),
        token_hash: TokenHash::of(secret),
        requested_by: cid("reg2"),
        channel: NotifyChannel::Sms,
        target: "+47.99999999".into(),
        created: at(secs),
        expires: at(secs + 30 * 86_400),
    }
}

pub async fn expired_transfer_tokens_are_listed_by_expiry<S: Store>(store: &S) {
    base(store).await;
    add_registrar(store, "reg2").await;
    for (name, created) in [("c.no", 20), ("a.no", 10), ("b.no", 10), ("late.no", 500)] {
        commit1(store, "reg1", Change::CreateDomain(base_domain(name)))
            .await
            .unwrap();
        commit1(
            store,
            "reg2",
            Change::PutTransferToken(token(name, "secret", created)),
        )
        .await
        .unwrap();
    }
    let list = |before: i64, limit: usize| async move {
        store
            .expired_transfer_tokens(at(before), limit)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.domain.to_string())
            .collect::<Vec<_>>()
    };
    let month = 30 * 86_400;
    // `before` is exclusive: a token expiring exactly then is still valid.
    assert!(list(month + 10, 10).await.is_empty());
    assert_eq!(list(month + 11, 10).await, ["a.no", "b.no"]);
    assert_eq!(list(month + 100, 10).await, ["a.no", "b.no", "c.no"]);
    assert_eq!(list(month + 100, 2).await, ["a.no", "b.no"]);
    assert_eq!(list(month + 1000, 10).await.len(), 4);
    let t = &store
        .expired_transfer_tokens(at(month + 11), 1)
        .await
        .unwrap()[0];
    assert_eq!(*t, token("a.no", "secret", 10));
}

pub async fn transfer_tokens_are_kept_per_domain<S: Store>(store: &S) {
    base(store).await;
    add_registrar(store, "reg2").await;
    commit1(store, "reg1", Change::CreateDomain(base_domain("t.no")))
        .await
        .unwrap();
    assert_eq!(store.transfer_token(&dn("t.no")).await.unwrap(), None);
    commit1(
        store,
        "reg2",
        Change::PutTransferToken(token("t.no", "secret-1", 0)),
    )
    .await
    .unwrap();
    let t = store.transfer_token(&dn("t.no")).await.unwrap().unwrap();
    assert_eq!(t, token("t.no", "secret-1", 0));
    assert!(t.token_hash.matches("secret-1") && !t.token_hash.matches("secret-2"));
    // A new request replaces the token.
    commit1(
        store,
        "reg2",
        Change::PutTransferToken(token("t.no", "secret-2", 5)),
    )
    .await
    .unwrap();
    let t = store.transfer_token(&dn("t.no")).await.unwrap().unwrap();
    assert!(t.token_hash.matches("secret-2"));
    assert_eq!(t.created, at(5));
    let history = store
        .history(&ObjectKey::TransferToken(dn("t.no")))
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[1].before.is_some());
    assert!(
        !history[1]
            .after
            .as_deref()
            .unwrap()
            .contains(t.token_hash.as_hex())
    );
    // Cancel.
    let cancel = Change::DeleteTransferToken { domain: dn("t.no") };
    commit1(store, "reg2", cancel.clone()).await.unwrap();
    assert_eq!(store.transfer_token(&dn("t.no")).await.unwrap(), None);
    assert_eq!(
        commit1(store, "reg2", cancel).await,
        Err(StoreError::NotFound(ObjectKey::TransferToken(dn("t.no"))))
    );
    // Tokens need their domain and requester, and go with the domain.
    assert_eq!(
        commit1(
            store,
            "reg2",
            Change::PutTransferToken(token("none.no", "s", 0))
        )
        .await,
        Err(StoreError::MissingReference {
            object: ObjectKey::TransferToken(dn("none.no")),
            missing: ObjectKey::Domain(dn("none.no")),
        })
    );
    let mut orphan = token("t.no", "s", 0);
    orphan.requested_by = cid("reg9");
    assert_eq!(
        commit1(store, "reg2", Change::PutTransferToken(orphan)).await,
        Err(StoreError::MissingReference {
            object: ObjectKey::TransferToken(dn("t.no")),
            missing: ObjectKey::Registrar(cid("reg9")),
        })
    );
    commit1(
        store,
        "reg2",
        Change::PutTransferToken(token("t.no", "secret-3", 9)),
    )
    .await
    .unwrap();
    let delete = Change::DeleteDomain {
        name: dn("t.no"),
        version: 1,
    };
    commit1(store, "reg1", delete).await.unwrap();
    assert_eq!(store.transfer_token(&dn("t.no")).await.unwrap(), None);
    commit1(store, "reg1", Change::CreateDomain(base_domain("t.no")))
        .await
        .unwrap();
    assert_eq!(store.transfer_token(&dn("t.no")).await.unwrap(), None);
}

pub async fn notification_outbox_tracks_delivery<S: Store>(store: &S) {
    add_registrar(store, "reg1").await;
    let n = |channel, recipient: &str, body: &str| {
        Change::QueueNotification(NewNotification {
            channel,
            recipient: recipient.into(),
            subject: (channel == NotifyChannel::Email).then(|| "Transfer token".into()),
            body: body.into(),
        })
    };
    let set = ChangeSet::new(meta("reg1", "domain:transfer", 3))
        .with(n(NotifyChannel::Email, "holder@example.no", "Token: abc"))
        .with(n(NotifyChannel::Sms, "+47.99999999", "Token: def"));
    let receipt = store.commit(set).await.unwrap();
    let ids = receipt.notification_ids;
    assert_eq!(ids.len(), 2);
    assert!(ids[0] < ids[1]);
    let pending = store.pending_notifications(10).await.unwrap();
    assert_eq!(pending.iter().map(|n| n.id).collect::<Vec<_>>(), ids);
    assert_eq!(pending[0].channel, NotifyChannel::Email);
    assert_eq!(pending[0].recipient, "holder@example.no");
    assert_eq!(pending[0].subject.as_deref(), Some("Transfer token"));
    assert_eq!(pending[0].body, "Token: abc");
    assert_eq!(pending[0].created, at(3));
    assert_eq!(pending[1].subject, None);
    assert_eq!(store.pending_notifications(1).await.unwrap().len(), 1);
    let set = ChangeSet::new(ChangeMeta {
        registrar: None,
        time: at(4),
        cl_trid: None,
        sv_trid: None,
        command: "notifier:deliver".into(),
    })
    .with(Change::MarkDelivered { id: ids[0] });
    store.commit(set).await.unwrap();
    let pending = store.pending_notifications(10).await.unwrap();
    assert_eq!(pending.iter().map(|n| n.id).collect::<Vec<_>>(), [ids[1]]);
    assert_eq!(
        commit1(store, "reg1", Change::MarkDelivered { id: 424_242 }).await,
        Err(StoreError::NotFound(ObjectKey::Notification(424_242)))
    );
}

pub async fn replay_records_guard_duplicates<S: Store>(store: &S) {
    base(store).await;
    let m = meta("reg1", "domain:create", 100);
    let (r, t) = (m.registrar.clone().unwrap(), m.cl_trid.clone().unwrap());
    let record = |response: &[u8], replaces_before| Change::RecordReplay {
        response: response.to_vec(),
        replaces_before,
    };
    let first = ChangeSet::new(m.clone())
        .with(Change::CreateDomain(base_domain("r.no")))
        .with(record(b"<epp>first \x00\xff</epp>", at(0)));
    store.commit(first).await.unwrap();
    let rec = store.replay(&r, &t).await.unwrap().unwrap();
    assert_eq!(rec.response, b"<epp>first \x00\xff</epp>");
    assert_eq!(
        (rec.registrar.clone(), rec.cl_trid.clone(), rec.created),
        (r.clone(), t.clone(), at(100))
    );
    // A concurrent or repeated copy within the window fails as a whole.
    let second = ChangeSet::new(tweak(m.clone(), |m| m.time = at(110)))
        .with(Change::CreateContact(contact(
            "DUP1O",
            ContactType::Organization,
            "reg1",
        )))
        .with(record(b"second", at(50)));
    assert_eq!(
        store.commit(second).await,
        Err(StoreError::AlreadyExists(ObjectKey::Replay(
            r.clone(),
            t.clone()
        )))
    );
    assert_eq!(store.contact(&ctid("DUP1O")).await.unwrap(), None);
    assert_eq!(
        store.replay(&r, &t).await.unwrap().unwrap().response,
        b"<epp>first \x00\xff</epp>"
    );
    // Outside the window the clTRID is reused and the record replaced.
    let third =
        ChangeSet::new(tweak(m.clone(), |m| m.time = at(500))).with(record(b"third", at(400)));
    store.commit(third).await.unwrap();
    let rec = store.replay(&r, &t).await.unwrap().unwrap();
    assert_eq!(
        (rec.response.as_slice(), rec.created),
        (&b"third"[..], at(500))
    );
    // Another registrar's clTRID is its own.
    assert_eq!(store.replay(&cid("reg0"), &t).await.unwrap(), None);
    // A record needs a registrar and a clTRID.
    let anonymous = ChangeSet::new(tweak(m, |m| m.cl_trid = None)).with(record(b"x", at(0)));
    assert!(matches!(
        store.commit(anonymous).await,
        Err(StoreError::InvalidChange(_))
    ));
    // Purge.
    commit1(store, "reg1", Change::PurgeReplays { before: at(501) })
        .await
        .unwrap();
    assert_eq!(store.replay(&r, &t).await.unwrap(), None);
}

pub async fn sequences_hand_out_fresh_numbers<S: Store>(store: &S) {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..150 {
        let n = store.allocate_id(Sequence::ContactId).await.unwrap();
        assert!(n > 0);
        assert!(seen.insert(n), "{n} handed out twice");
    }
    let concurrent = join_all((0..64).map(|_| store.allocate_id(Sequence::ContactId))).await;
    for n in concurrent {
        assert!(seen.insert(n.unwrap()));
    }
    // Each sequence counts on its own.
    for seq in Sequence::ALL {
        let a = store.allocate_id(*seq).await.unwrap();
        let b = store.allocate_id(*seq).await.unwrap();
        assert_ne!(a, b);
    }
}

// ---------------------------------------------------------------------------------------
// Listings and checks

pub async fn domain_listings_filter_and_page<S: Store>(store: &S) {
    base(store).await;
    add_registrar(store, "reg2").await;
    let reg2_org = contact("ORG2O", ContactType::Organization, "reg2");
    commit1(store, "reg2", Change::CreateContact(reg2_org))
        .await
        .unwrap();
    let mut set = ChangeSet::new(meta("reg1", "setup", 1));
    for i in 0..12 {
        let mut d = base_domain(&format!("d{i:02}.no"));
        d.ex_date = at(i * 1000);
        if i % 3 == 0 {
            d.cl_id = cid("reg2");
            d.registrant = ctid("ORG2O");
            d.ns.truncate(1);
        }
        if i == 4 {
            d.lifecycle = Lifecycle::Quarantined { since: at(50) };
        }
        if i == 5 {
            d.lifecycle = Lifecycle::Quarantined { since: at(150) };
        }
        if i == 7 {
            d.delete_from_dns = Some(Date::new(2024, 6, 1).unwrap());
            d.delete_from_registry = Some(Date::new(2024, 7, 1).unwrap());
            d.lifecycle = Lifecycle::PendingDelete { since: at(0) };
        }
        set.push(Change::CreateDomain(d));
    }
    store.commit(set).await.unwrap();
    let names = |v: Vec<Domain>| {
        v.into_iter()
            .map(|d| d.name.to_string())
            .collect::<Vec<_>>()
    };
    let list = |q: DomainQuery| async move { names(store.domains(&q, None, 100).await.unwrap()) };

    assert_eq!(
        list(DomainQuery::Sponsor(cid("reg2"))).await,
        ["d00.no", "d03.no", "d06.no", "d09.no"]
    );
    assert_eq!(
        list(DomainQuery::Registrant(ctid("ORG2O"))).await,
        ["d00.no", "d03.no", "d06.no", "d09.no"]
    );
    assert_eq!(
        list(DomainQuery::NameServer(hn("ns2.example.net")))
            .await
            .len(),
        8
    );
    // Active and expired before at(5000): d00-d04 minus the quarantined d04.
    assert_eq!(
        list(DomainQuery::ExpiredBefore(at(5000))).await,
        ["d00.no", "d01.no", "d02.no", "d03.no"]
    );
    assert_eq!(
        list(DomainQuery::QuarantinedBefore(at(100))).await,
        ["d04.no"]
    );
    assert_eq!(
        list(DomainQuery::QuarantinedBefore(at(151))).await,
        ["d04.no", "d05.no"]
    );
    assert_eq!(
        list(DomainQuery::DeleteFromDnsBy(Date::new(2024, 6, 1).unwrap())).await,
        ["d07.no"]
    );
    assert!(
        list(DomainQuery::DeleteFromDnsBy(
            Date::new(2024, 5, 31).unwrap()
        ))
        .await
        .is_empty()
    );
    assert_eq!(
        list(DomainQuery::DeleteFromRegistryBy(
            Date::new(2024, 12, 1).unwrap()
        ))
        .await,
        ["d07.no"]
    );
    assert_eq!(store.count_domains(&DomainQuery::All).await.unwrap(), 12);
    assert_eq!(
        store
            .count_domains(&DomainQuery::Registrant(ctid("ORG1O")))
            .await
            .unwrap(),
        8
    );
    assert_eq!(
        store
            .count_domains(&DomainQuery::Sponsor(cid("reg0")))
            .await
            .unwrap(),
        0
    );
    // Paging by key.
    let mut after: Option<DomainName> = None;
    let mut all = Vec::new();
    loop {
        let page = store
            .domains(&DomainQuery::All, after.as_ref(), 5)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        after = page.last().map(|d| d.name.clone());
        all.extend(names(page));
    }
    let expected: Vec<String> = (0..12).map(|i| format!("d{i:02}.no")).collect();
    assert_eq!(all, expected);
    let page = store
        .domains(&DomainQuery::Sponsor(cid("reg2")), Some(&dn("d03.no")), 2)
        .await
        .unwrap();
    assert_eq!(names(page), ["d06.no", "d09.no"]);
    // Listed snapshots carry their versions.
    let first = store.domains(&DomainQuery::All, None, 1).await.unwrap();
    assert_eq!(first[0].version, 1);
    assert_eq!(
        first[0],
        store.domain(&dn("d00.no")).await.unwrap().unwrap()
    );
}

pub async fn contact_and_host_listings_filter_and_page<S: Store>(store: &S) {
    base(store).await;
    add_registrar(store, "reg2").await;
    let mut p = contact("P1P", ContactType::Person, "reg2");
    p.organizations = vec![ctid("ORG1O")];
    let mut r = contact("R2R", ContactType::Role, "reg1");
    r.organizations = vec![ctid("ORG1O")];
    let mut sub = host("ns1.sub.example.no", "reg2");
    sub.contacts = vec![ctid("ROLE1R")];
    let mut pending = host("ns2.sub.example.no", "reg1");
    pending.pending = Some(PendingHostUpdate {
        addrs: vec!["192.0.2.9".parse().unwrap()],
        requested_by: cid("reg1"),
        requested_at: at(1),
        cl_trid: None,
        sv_trid: None,
    });
    let set = ChangeSet::new(meta("reg1", "setup", 1))
        .with(Change::CreateContact(p))
        .with(Change::CreateContact(r))
        .with(Change::CreateHost(sub))
        .with(Change::CreateHost(pending))
        .with(Change::CreateHost(host("ns1.notsub-example.no", "reg1")))
        .with(Change::CreateHost(host("sub.example.no", "reg1")));
    store.commit(set).await.unwrap();
    let cids = |v: Vec<Contact>| v.into_iter().map(|c| c.id.to_string()).collect::<Vec<_>>();
    let hnames = |v: Vec<Host>| {
        v.into_iter()
            .map(|h| h.name.to_string())
            .collect::<Vec<_>>()
    };

    let all = store.contacts(&ContactQuery::All, None, 100).await.unwrap();
    assert_eq!(cids(all), ["ORG1O", "P1P", "R2R", "ROLE1R"]);
    let page = store
        .contacts(&ContactQuery::All, Some(&ctid("P1P")), 1)
        .await
        .unwrap();
    assert_eq!(cids(page), ["R2R"]);
    let mine = store
        .contacts(&ContactQuery::Sponsor(cid("reg2")), None, 100)
        .await
        .unwrap();
    assert_eq!(cids(mine), ["P1P"]);
    let members = store
        .contacts(&ContactQuery::MemberOf(ctid("ORG1O")), None, 100)
        .await
        .unwrap();
    assert_eq!(cids(members), ["P1P", "R2R"]);

    let subs = store
        .hosts(&HostQuery::Subordinate(dn("example.no")), None, 100)
        .await
        .unwrap();
    assert_eq!(
        hnames(subs),
        ["ns1.sub.example.no", "ns2.sub.example.no", "sub.example.no"]
    );
    let subs = store
        .hosts(&HostQuery::Subordinate(dn("sub.example.no")), None, 100)
        .await
        .unwrap();
    assert_eq!(hnames(subs), ["ns1.sub.example.no", "ns2.sub.example.no"]);
    let pend = store.hosts(&HostQuery::Pending, None, 100).await.unwrap();
    assert_eq!(hnames(pend), ["ns2.sub.example.no"]);
    let by_contact = store
        .hosts(&HostQuery::Contact(ctid("ROLE1R")), None, 100)
        .await
        .unwrap();
    assert_eq!(hnames(by_contact), ["ns1.sub.example.no"]);
    let reg2 = store
        .hosts(&HostQuery::Sponsor(cid("reg2")), None, 100)
        .await
        .unwrap();
    assert_eq!(hnames(reg2), ["ns1.sub.example.no"]);
    let page = store
        .hosts(&HostQuery::All, Some(&hn("ns1.sub.example.no")), 2)
        .await
        .unwrap();
    assert_eq!(hnames(page), ["ns2.example.net", "ns2.sub.example.no"]);
}

pub async fn existence_checks_answer_per_name<S: Store>(store: &S) {
    base(store).await;
    commit1(store, "reg1", Change::CreateDomain(base_domain("a.no")))
        .await
        .unwrap();
    assert_eq!(
        store
            .domains_exist(&[dn("b.no"), dn("A.NO"), dn("a.no")])
            .await
            .unwrap(),
        [false, true, true]
    );
    assert_eq!(
        store
            .contacts_exist(&[ctid("ROLE1R"), ctid("role1r")])
            .await
            .unwrap(),
        [true, false],
        "contact ids are case-sensitive"
    );
    assert_eq!(
        store
            .hosts_exist(&[hn("ns3.example.net"), hn("NS1.example.net")])
            .await
            .unwrap(),
        [false, true]
    );
    assert!(store.domains_exist(&[]).await.unwrap().is_empty());
}

/// A read set answers each part as that part's own method does, in its keys' order.
pub async fn read_sets_answer_part_by_part<S: Store>(store: &S) {
    base(store).await;
    commit1(store, "reg1", Change::CreateDomain(base_domain("a.no")))
        .await
        .unwrap();
    let domains = [dn("b.no"), dn("a.no"), dn("A.NO")];
    let (org, role, missing, lower) = (
        ctid("ORG1O"),
        ctid("ROLE1R"),
        ctid("NONE1P"),
        ctid("role1r"),
    );
    let contacts = [&role, &missing, &org, &lower, &role];
    let hosts = [hn("ns3.example.net"), hn("ns2.example.net")];
    let answer = store
        .read_set(ReadSet {
            domains_exist: &domains,
            contacts: &contacts,
            hosts_exist: &hosts,
        })
        .await;
    assert_eq!(answer.domains_exist.unwrap(), [false, true, true]);
    assert_eq!(answer.hosts_exist.unwrap(), [false, true]);
    let got: Vec<Option<Contact>> = answer.contacts.into_iter().map(Result::unwrap).collect();
    assert_eq!(got.len(), 5);
    for (id, got) in contacts.iter().zip(&got) {
        assert_eq!(got, &store.contact(id).await.unwrap(), "{id}");
    }
    assert_eq!(got[0].as_ref().unwrap().id, role);
    assert_eq!(got[2].as_ref().unwrap().id, org);
    assert!(got[1].is_none() && got[3].is_none());

    // Any part may be empty; the others are answered alike.
    let answer = store
        .read_set(ReadSet {
            domains_exist: &domains[1..2],
            contacts: &contacts[..1],
            ..ReadSet::default()
        })
        .await;
    assert_eq!(answer.domains_exist.unwrap(), [true]);
    assert_eq!(answer.contacts.len(), 1);
    assert_eq!(
        answer.contacts[0].as_ref().unwrap().as_ref().unwrap().id,
        role
    );
    assert!(answer.hosts_exist.unwrap().is_empty());
    let answer = store
        .read_set(ReadSet {
            hosts_exist: &hosts,
            ..ReadSet::default()
        })
        .await;
    assert!(answer.domains_exist.unwrap().is_empty());
    assert!(answer.contacts.is_empty());
    assert_eq!(answer.hosts_exist.unwrap(), [false, true]);
    let answer = store.read_set(ReadSet::default()).await;
    assert!(answer.domains_exist.unwrap().is_empty());
    assert!(answer.contacts.is_empty());
    assert!(answer.hosts_exist.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------
// Concurrency

pub async fn concurrent_creates_of_one_name_have_one_winner<S: Store>(store: &S) {
    base(store).await;
    const N: usize = 24;
    let attempt = |i: usize, change: Change| {
        let set = ChangeSet::new(meta("reg1", "create", i as i64)).with(change);
        store.commit(set)
    };
    // Domains: every attempt has its own ROID, so only the name collides.
    let results = join_all((0..N).map(|i| {
        let mut d = base_domain("race.no");
        d.roid = roid(&format!("DRACE{i}-NORID"));
        d.auth_info = Some(AuthInfo::new(format!("winner-{i}")));
        attempt(i, Change::CreateDomain(d))
    }))
    .await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert_eq!(
                *e,
                StoreError::AlreadyExists(ObjectKey::Domain(dn("race.no")))
            );
        }
    }
    let stored = store.domain(&dn("race.no")).await.unwrap().unwrap();
    assert_eq!(
        stored.auth_info,
        Some(AuthInfo::new(format!("winner-{}", winners[0])))
    );
    assert_eq!(
        store
            .history(&ObjectKey::Domain(dn("race.no")))
            .await
            .unwrap()
            .len(),
        1
    );
    // Hosts and contacts likewise.
    let results = join_all((0..N).map(|i| {
        let mut h = host("ns.race.net", "reg1");
        h.roid = roid(&format!("HRACE{i}-NORID"));
        attempt(i, Change::CreateHost(h))
    }))
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let results = join_all((0..N).map(|i| {
        let mut c = contact("RACE1R", ContactType::Role, "reg1");
        c.roid = roid(&format!("CRACE{i}-NORID"));
        attempt(i, Change::CreateContact(c))
    }))
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results.iter().all(|r| match r {
        Ok(_) => true,
        Err(e) => *e == StoreError::AlreadyExists(ObjectKey::Contact(ctid("RACE1R"))),
    }));
}

pub async fn concurrent_updates_have_one_winner<S: Store>(store: &S) {
    base(store).await;
    commit1(store, "reg1", Change::CreateDomain(base_domain("hot.no")))
        .await
        .unwrap();
    let v1 = store.domain(&dn("hot.no")).await.unwrap().unwrap();
    const N: usize = 16;
    let results = join_all((0..N).map(|i| {
        let d = tweak(v1.clone(), |d| {
            d.auth_info = Some(AuthInfo::new(format!("code-{i}")))
        });
        let set = ChangeSet::new(meta("reg1", "domain:update", i as i64))
            .with(Change::UpdateDomain(d))
            .with(text_message("reg1", &format!("update {i}")));
        store.commit(set)
    }))
    .await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert_eq!(*e, StoreError::Conflict(ObjectKey::Domain(dn("hot.no"))));
        }
    }
    let stored = store.domain(&dn("hot.no")).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(
        stored.auth_info,
        Some(AuthInfo::new(format!("code-{}", winners[0])))
    );
    // The losers' other changes were not written either.
    let summary = store.poll_summary(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!(summary.count, 1);
    let head = store.poll_peek(&cid("reg1")).await.unwrap().unwrap();
    assert_eq!(head.message.text, format!("update {}", winners[0]));
    // Concurrent deletes of one version: one wins, the others find nothing.
    let results = join_all((0..N).map(|_| {
        commit1(
            store,
            "reg1",
            Change::DeleteDomain {
                name: dn("hot.no"),
                version: 2,
            },
        )
    }))
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results.iter().all(|r| match r {
        Ok(_) => true,
        Err(e) => *e == StoreError::NotFound(ObjectKey::Domain(dn("hot.no"))),
    }));
}

pub async fn concurrent_independent_commits_are_isolated<S: Store>(store: &S) {
    base(store).await;
    const N: usize = 40;
    let results = join_all((0..N).map(|i| {
        let mut h = host(&format!("ns{i}.many.net"), "reg1");
        // Every seventh host names a contact that does not exist.
        h.contacts = vec![ctid(if i % 7 == 3 { "NONE1R" } else { "ROLE1R" })];
        let d = domain(
            &format!("many{i}.no"),
            "reg1",
            "ORG1O",
            &[],
            &[&format!("ns{i}.many.net")],
        );
        let set = ChangeSet::new(meta("reg1", "create", i as i64))
            .with(Change::CreateHost(h))
            .with(Change::CreateDomain(d));
        store.commit(set)
    }))
    .await;
    for (i, r) in results.iter().enumerate() {
        let name = dn(&format!("many{i}.no"));
        if i % 7 == 3 {
            assert!(
                matches!(r, Err(StoreError::MissingReference { .. })),
                "{i}: {r:?}"
            );
            assert_eq!(store.domain(&name).await.unwrap(), None);
            assert_eq!(
                store.host(&hn(&format!("ns{i}.many.net"))).await.unwrap(),
                None
            );
        } else {
            assert!(r.is_ok(), "{i}: {r:?}");
            assert_eq!(store.domain(&name).await.unwrap().unwrap().version, 1);
        }
    }
    let expected = (0..N).filter(|i| i % 7 != 3).count() as u64;
    assert_eq!(
        store
            .count_domains(&DomainQuery::Registrant(ctid("ORG1O")))
            .await
            .unwrap(),
        expected
    );
}

// ---------------------------------------------------------------------------------------
// Holder quotas

/// [`base`] plus person `PERS1P` of `reg1` holding `held` names directly under `.no`
/// (`held0.no`, ...).
async fn person_with_domains<S: Store>(store: &S, held: usize) {
    base(store).await;
    let mut set = ChangeSet::new(meta("reg1", "setup", 0)).with(Change::CreateContact(contact(
        "PERS1P",
        ContactType::Person,
        "reg1",
    )));
    for i in 0..held {
        set.push(Change::CreateDomain(person_domain(&format!("held{i}.no"))));
    }
    store.commit(set).await.unwrap();
}

fn person_domain(name: &str) -> Domain {
    domain(
        name,
        "reg1",
        "PERS1P",
        &["ROLE1R"],
        &["ns1.example.net", "ns2.example.net"],
    )
}

fn quota_create(name: &str) -> Vec<Change> {
    vec![
        Change::CheckHolderQuota {
            holder: ctid("PERS1P"),
            kind: epp_norid_ext::policy::ContactKind::Person,
            domain: dn(name),
        },
        Change::CreateDomain(person_domain(name)),
    ]
}

fn is_quota(e: &StoreError) -> bool {
    matches!(e, StoreError::QuotaExceeded(r)
        if matches!(**r, epp_norid_ext::policy::Refusal::QuotaExceeded { .. }))
}

pub async fn holder_quota_is_checked_in_the_commit<S: Store>(store: &S) {
    let person = epp_norid_ext::policy::PERSON_QUOTA as usize;
    person_with_domains(store, person - 1).await;
    let commit = |secs: i64, changes: Vec<Change>| {
        store.commit(ChangeSet {
            meta: meta("reg1", "domain:create", secs),
            changes,
        })
    };
    // The last free place directly under .no.
    commit(1, quota_create("last.no")).await.unwrap();
    // Full: the create after the check is not written, nor anything else of the set.
    let mut over = quota_create("over.no");
    over.insert(0, text_message("reg1", "not queued"));
    let e = commit(2, over).await.unwrap_err();
    assert!(is_quota(&e), "{e:?}");
    assert_eq!(e.epp_result_code(), 2308);
    assert!(store.domain(&dn("over.no")).await.unwrap().is_none());
    assert!(store.poll_summary(&cid("reg1")).await.unwrap().is_none());
    // priv.no is counted apart from the names directly under .no.
    commit(3, quota_create("mine.priv.no")).await.unwrap();
    // A name the holder has is not counted twice (a repeated registrant change).
    let check = Change::CheckHolderQuota {
        holder: ctid("PERS1P"),
        kind: epp_norid_ext::policy::ContactKind::Person,
        domain: dn("last.no"),
    };
    commit(4, vec![check]).await.unwrap();
    // Another holder has its own quota.
    let other = Change::CheckHolderQuota {
        holder: ctid("ORG1O"),
        kind: epp_norid_ext::policy::ContactKind::Organization,
        domain: dn("org.no"),
    };
    commit(5, vec![other]).await.unwrap();
    let n = store
        .count_domains(&DomainQuery::Registrant(ctid("PERS1P")))
        .await
        .unwrap();
    assert_eq!(n, person as u64 + 1);
    // priv.no and geographic domains, at any depth, count together: four more fill them,
    // and the names directly under .no (full) do not count there.
    let private = epp_norid_ext::policy::PERSON_PRIVATE_QUOTA as usize;
    assert_eq!(private, 5);
    for (i, name) in [
        "ola.oslo.no",
        "ola.xn--b-5ga.telemark.no",
        "ola.priv.no",
        "ola.bergen.no",
    ]
    .into_iter()
    .enumerate()
    {
        commit(6 + i as i64, quota_create(name)).await.unwrap();
    }
    let e = commit(10, quota_create("kari.priv.no")).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::QuotaExceeded(r) if matches!(**r,
        epp_norid_ext::policy::Refusal::QuotaExceeded {
            scope: epp_norid_ext::policy::QuotaScope::PrivateAndGeographic,
            count: 5,
            ..
        })),
        "{e:?}"
    );
}

pub async fn concurrent_creates_for_one_holder_respect_the_quota<S: Store>(store: &S) {
    let person = epp_norid_ext::policy::PERSON_QUOTA as usize;
    person_with_domains(store, person - 1).await;
    const N: usize = 12;
    // Different names, one holder with one free place: only one create may pass.
    let results = join_all((0..N).map(|i| {
        store.commit(ChangeSet {
            meta: meta("reg1", "domain:create", i as i64),
            changes: quota_create(&format!("race{i}.no")),
        })
    }))
    .await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        // A loser may also run out of retries under contention; it never passes.
        assert!(
            is_quota(e) || matches!(e, StoreError::Contention { .. }),
            "{e:?}"
        );
    }
    let n = store
        .count_domains(&DomainQuery::Registrant(ctid("PERS1P")))
        .await
        .unwrap();
    assert_eq!(n, person as u64);
}
