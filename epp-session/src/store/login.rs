//! Login verification shared by every store.

use std::sync::OnceLock;

use epp_xml::Password;

use super::model::{LoginCheck, PasswordHash, Registrar};

/// A hash to verify against when the registrar is unknown, so that the answer takes as
/// long as for a wrong password.
fn decoy_hash() -> &'static PasswordHash {
    static DECOY: OnceLock<PasswordHash> = OnceLock::new();
    DECOY.get_or_init(|| {
        // "decoy-pw" satisfies pwType (6-16 characters).
        match Password::new("decoy-pw") {
            Ok(pw) => PasswordHash::generate(&pw, &[0x5a; 16]),
            Err(_) => PasswordHash::locked(),
        }
    })
}

/// Checks a password against an account as [`Store::verify_login`] must: an unknown
/// registrar costs one hash verification like a known one, a wrong password is reported
/// before a disabled account.
///
/// CPU-heavy (argon2): async callers run it off their workers.
///
/// [`Store::verify_login`]: super::Store::verify_login
pub fn check_login(registrar: Option<Registrar>, password: &Password) -> LoginCheck {
    match registrar {
        None => {
            let _ = decoy_hash().verify(password);
            LoginCheck::UnknownRegistrar
        }
        Some(r) if !r.password.verify(password) => LoginCheck::WrongPassword,
        Some(r) if !r.enabled => LoginCheck::Disabled,
        Some(r) => LoginCheck::Accepted(r),
    }
}
