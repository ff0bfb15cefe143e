//! epp-session's C:/S: scripts replayed end to end over TLS against the real binary, on
//! SQLite and on PostgreSQL: Norid's four seed exchanges (login with newPW and the new
//! password after logout, host check, the domain renew sequence with its 2105 refusal, the
//! contact update), and the scripts whose clock the server can follow.

use crate::epp::run_script;

/// One test per script and backend: `scripts::sqlite::<name>`, `scripts::postgres::<name>`
/// (skipped with a notice without `EPP_TEST_PG_URL`).
macro_rules! over_tls {
    ($($name:ident => $file:literal),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::run_script($file, &crate::db::Db::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(db) = crate::db::Db::postgres() {
                        super::run_script($file, &db);
                    }
                }
            )*
        }
    };
}

// Scripts left out, and why: they need what a real server cannot do on a script's cue.
// domain-delete, lifecycle, host-pending, invalid-registrant, transfer-lapse (`@lifecycle`:
// the server runs it on its scheduler, tested in `lifecycle.rs`), domain-renew, domain-transfer, session-replay (the clock jumps days or
// hours mid-script), session-cert-pin (fingerprints without certificates; `tls.rs` tests
// pins with real ones), session-limits (options mid-script; `limits.rs`), session-msgq
// (poll ids the store cannot be told to use), session-newpw, session-timeouts (`@timers`
// on a scripted clock; `limits.rs` tests the real timers).
over_tls!(
    seed_001_login_newpw => "seed-001-login-newpw.txt",
    seed_002_host_check => "seed-002-host-check.txt",
    seed_003_domain_renew => "seed-003-domain-renew.txt",
    seed_004_contact_update => "seed-004-contact-update.txt",
    contact => "contact.txt",
    contact_memberships => "contact-memberships.txt",
    domain_create => "domain-create.txt",
    domain_info => "domain-info.txt",
    domain_quota => "domain-quota.txt",
    domain_update => "domain-update.txt",
    domain_withdraw => "domain-withdraw.txt",
    host => "host.txt",
    policy_refusals => "policy-refusals.txt",
    session_before_login => "session-before-login.txt",
    session_login => "session-login.txt",
    session_services => "session-services.txt",
    session_trids => "session-trids.txt",
    transfer_copy => "transfer-copy.txt",
);
