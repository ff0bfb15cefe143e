//! Registrar accounts and their credentials.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use argon2::password_hash::{Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use epp_xml::{ClientId, Password, Timestamp, ValueError};

use crate::store::{StoreError, hashed};

/// The pseudo-registrar that holds withdrawn domains (Norid `reg0`). It always exists, can
/// never log in, and sponsors what registrars give up with the `withdraw` command.
pub const WITHDRAWN_REGISTRAR: &str = "reg0";

/// A registrar account (the EPP client), as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registrar {
    /// The login id (`clID`), e.g. `reg9094`.
    pub id: ClientId,
    /// A display name for operators; may be empty.
    pub name: String,
    /// The argon2 hash of the current password.
    pub password: PasswordHash,
    /// A new password set by login `newPW`, which becomes the password at that session's
    /// logout ([`RegistrarChange::ActivatePendingPassword`]).
    pub pending_password: Option<PasswordHash>,
    /// SHA-256 fingerprints of client certificates the registrar must present, if any.
    pub cert_pins: BTreeSet<CertFingerprint>,
    /// The most concurrent sessions the registrar may hold (Norid: 0-9, default 1).
    pub session_limit: u32,
    /// Whether the registrar may log in.
    pub enabled: bool,
    /// When the account was created.
    pub created: Timestamp,
    /// The version this snapshot was read at; every registrar change increments it.
    pub version: u64,
}

/// A registrar account to create ([`Change::CreateRegistrar`](crate::store::Change)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegistrar {
    /// The login id.
    pub id: ClientId,
    /// A display name for operators.
    pub name: String,
    /// The initial password.
    pub password: PasswordInput,
    /// Pinned client-certificate fingerprints.
    pub cert_pins: BTreeSet<CertFingerprint>,
    /// The most concurrent sessions.
    pub session_limit: u32,
    /// Whether the registrar may log in.
    pub enabled: bool,
}

/// One change to a registrar account ([`Change::UpdateRegistrar`](crate::store::Change)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrarChange {
    /// Replaces the display name.
    SetName(String),
    /// Enables or disables login.
    SetEnabled(bool),
    /// Sets the session limit.
    SetSessionLimit(u32),
    /// Adds a pinned certificate fingerprint (no change when already pinned).
    PinCertificate(CertFingerprint),
    /// Removes a pinned certificate fingerprint (no change when not pinned).
    UnpinCertificate(CertFingerprint),
    /// Replaces the password at once and drops any pending one (operator action).
    SetPassword(PasswordInput),
    /// Stores a password to take effect at [`Self::ActivatePendingPassword`] (login
    /// `newPW`; RFC 5730 section 2.9.1.1, Norid: "after the first logout").
    SetPendingPassword(PasswordInput),
    /// Makes the pending password the password; no change when none is pending.
    ActivatePendingPassword,
}

impl RegistrarChange {
    /// Applies the change to an account (without touching its version).
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidChange`] for a password still in clear (see
    /// [`ChangeSet::hash_passwords`](crate::store::ChangeSet::hash_passwords)).
    pub fn apply_to(&self, r: &mut Registrar) -> Result<(), StoreError> {
        match self {
            Self::SetName(name) => r.name.clone_from(name),
            Self::SetEnabled(on) => r.enabled = *on,
            Self::SetSessionLimit(n) => r.session_limit = *n,
            Self::PinCertificate(fp) => {
                r.cert_pins.insert(*fp);
            }
            Self::UnpinCertificate(fp) => {
                r.cert_pins.remove(fp);
            }
            Self::SetPassword(input) => {
                r.password = hashed(input)?.clone();
                r.pending_password = None;
            }
            Self::SetPendingPassword(input) => {
                r.pending_password = Some(hashed(input)?.clone());
            }
            Self::ActivatePendingPassword => {
                if let Some(pw) = r.pending_password.take() {
                    r.password = pw;
                }
            }
        }
        Ok(())
    }
}

/// A password on its way into the store: in clear from the session or the admin command,
/// hashed by the store (SQL stores do it off the async workers) before it is written.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordInput {
    /// The password in clear.
    Clear(Password),
    /// An argon2 hash already computed.
    Hashed(PasswordHash),
}

impl fmt::Debug for PasswordInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Clear(_) => f.write_str("Clear(<redacted>)"),
            Self::Hashed(h) => write!(f, "Hashed({h:?})"),
        }
    }
}

/// The outcome of checking a login's credentials ([`Store::verify_login`]).
///
/// [`Store::verify_login`]: crate::store::Store::verify_login
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginCheck {
    /// The password is right and the account enabled; the registrar as stored.
    Accepted(Registrar),
    /// The password is right but the account is disabled.
    Disabled,
    /// No registrar has this id.
    UnknownRegistrar,
    /// The password is wrong (always so for [`WITHDRAWN_REGISTRAR`]).
    WrongPassword,
}

/// An argon2id password hash as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
///
/// `Debug` shows only the algorithm part: hashes are not secrets, but they need not be in
/// logs either.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

/// The PHC string of an account that cannot log in.
const LOCKED: &str = "!";

impl PasswordHash {
    /// Hashes a password with argon2id at the crate's default cost (19 MiB, 2 passes,
    /// 1 lane: the OWASP recommendation) and the given salt.
    ///
    /// This is CPU-heavy (tens of milliseconds): async callers run it off their workers.
    /// The salt must be random and fresh for every hash.
    pub fn generate(password: &Password, salt: &[u8; 16]) -> Self {
        // A 16-byte salt is within the PHC salt length limits (4-64 bytes), and argon2 with
        // default parameters accepts any password of the schema's 6-16 characters, so
        // no step can fail; fall back to a locked hash rather than panic if one did.
        let argon2 = Argon2::default();
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let hashed =
            argon2_into(&argon2, password.as_str().as_bytes(), salt, &mut out).and_then(|()| {
                let salt = SaltString::encode_b64(salt).ok()?;
                let phc = argon2::password_hash::PasswordHash {
                    algorithm: Algorithm::Argon2id.ident(),
                    version: Some(Version::V0x13.into()),
                    params: ParamsString::try_from(argon2.params()).ok()?,
                    salt: Some(salt.as_salt()),
                    hash: Some(Output::new(&out).ok()?),
                };
                Some(phc.to_string())
            });
        Self(hashed.unwrap_or_else(|| LOCKED.to_owned()))
    }

    /// Wraps a stored PHC string.
    pub fn from_phc(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The hash of an account that can never log in (`reg0`).
    pub fn locked() -> Self {
        Self(LOCKED.to_owned())
    }

    /// The PHC string.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Whether the password matches. A locked or malformed hash matches nothing.
    ///
    /// CPU-heavy like [`Self::generate`].
    pub fn verify(&self, password: &Password) -> bool {
        self.verify_bytes(password.as_str().as_bytes())
            .unwrap_or(false)
    }

    /// What argon2's `PasswordVerifier` does, with [`argon2_into`]'s kept memory: the
    /// hash's algorithm, version, parameters and salt applied to `password`, the output
    /// compared in constant time. `None` for a hash that is not a valid argon2 PHC string.
    fn verify_bytes(&self, password: &[u8]) -> Option<bool> {
        let parsed = argon2::password_hash::PasswordHash::new(&self.0).ok()?;
        let (salt, expected) = (parsed.salt?, parsed.hash?);
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let mut salt_bytes = [0u8; 64];
        let salt = salt.decode_b64(&mut salt_bytes).ok()?;
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out.get_mut(..expected.len())?;
        argon2_into(
            &Argon2::new(algorithm, version, params),
            password,
            salt,
            out,
        )?;
        // `Output`'s equality is constant-time.
        Some(Output::new(out).ok()? == expected)
    }
}

/// argon2's working memory (19 MiB at the default cost), kept between hashes: at most
/// one buffer per CPU (the server runs no more argon2 jobs at once), each cleared after
/// use. Allocated afresh for every hash, it was not given back to the operating system:
/// the C allocator raises its threshold for serving large blocks from fresh mappings once
/// one is freed, and then keeps them in per-thread arenas, so 32 logins at once left the
/// server at about 500 MiB (docs/BENCHMARKS.md).
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Buffers larger than this (64 MiB, a hash with a memory cost over three times the
/// default) are used once and freed rather than kept.
const KEEP_AT_MOST_BLOCKS: usize = 65_536;

/// Hashes `password` with `salt` into `out` with `argon2`, in memory from [`MEMORY`].
/// `None` if argon2 refuses the inputs.
fn argon2_into(argon2: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> Option<()> {
    let blocks = argon2.params().block_count();
    let kept = MEMORY.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut memory = kept.unwrap_or_default();
    if memory.len() < blocks {
        memory = vec![Block::new(); blocks];
    }
    let result = argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..]);
    // The blocks are derived from the password: a copy of them would make guessing it
    // cheap, so none is left behind.
    memory.fill(Block::new());
    if memory.len() <= KEEP_AT_MOST_BLOCKS {
        let mut kept = MEMORY.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < std::thread::available_parallelism().map_or(2, |n| n.get()) {
            kept.push(memory);
        }
    }
    result.ok()
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let alg = self.0.split('$').nth(1).unwrap_or("locked");
        write!(f, "PasswordHash({alg}, ..)")
    }
}

/// The SHA-256 fingerprint of a DER-encoded client certificate.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CertFingerprint(pub [u8; 32]);

impl CertFingerprint {
    /// The fingerprint as lower-case hex without separators (64 characters).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({})", self.to_hex())
    }
}

impl FromStr for CertFingerprint {
    type Err = ValueError;

    /// Reads 64 hex digits, in either case, optionally separated by `:` as `openssl x509
    /// -fingerprint -sha256` prints them.
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let bad = ValueError::Malformed {
            type_name: "SHA-256 fingerprint",
            rule: "expected 64 hexadecimal digits, optionally separated by ':'",
        };
        let digits: Vec<u8> = s.bytes().filter(|b| *b != b':').collect();
        // from_str_radix alone would accept a '+' sign in each pair.
        if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad);
        }
        let mut out = [0u8; 32];
        for (i, pair) in digits.chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| bad.clone())?;
            out[i] = u8::from_str_radix(hex, 16).map_err(|_| bad.clone())?;
        }
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_round_trip() {
        let pw = Password::new("theOldPW").unwrap();
        let hash = PasswordHash::generate(&pw, &[7; 16]);
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hash.verify(&pw));
        assert!(!hash.verify(&Password::new("theNewPW").unwrap()));
        assert_eq!(format!("{hash:?}"), "PasswordHash(argon2id, ..)");
    }

    #[test]
    fn hashes_agree_with_argon2s_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let pw = Password::new("theOldPW").unwrap();
        let salt = [9u8; 16];
        let ours = PasswordHash::generate(&pw, &salt);
        let theirs = Argon2::default()
            .hash_password(b"theOldPW", &SaltString::encode_b64(&salt).unwrap())
            .unwrap()
            .to_string();
        assert_eq!(ours.as_phc(), theirs);
        let parsed = argon2::password_hash::PasswordHash::new(ours.as_phc()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"theOldPW", &parsed)
                .is_ok()
        );
        // Hashes made elsewhere with other costs, versions and variants verify too.
        for (alg, version, m, t, p) in [
            (Algorithm::Argon2id, Version::V0x13, 8, 1, 1),
            (Algorithm::Argon2i, Version::V0x13, 64, 3, 2),
            (Algorithm::Argon2d, Version::V0x10, 32, 2, 4),
        ] {
            let params = Params::new(m, t, p, Some(24)).unwrap();
            let phc = Argon2::new(alg, version, params)
                .hash_password(
                    b"s3cret-pw",
                    &SaltString::encode_b64(b"0123456789").unwrap(),
                )
                .unwrap()
                .to_string();
            let stored = PasswordHash::from_phc(phc.clone());
            assert!(stored.verify(&Password::new("s3cret-pw").unwrap()), "{phc}");
            assert!(
                !stored.verify(&Password::new("s3cret-pX").unwrap()),
                "{phc}"
            );
        }
    }

    #[test]
    fn argon2_memory_is_kept_and_cleared() {
        let pw = Password::new("theOldPW").unwrap();
        let hash = PasswordHash::generate(&pw, &[3; 16]);
        for _ in 0..3 {
            assert!(hash.verify(&pw));
        }
        let kept = MEMORY.lock().unwrap();
        // Other tests hash at the same time: at most one buffer per CPU is kept.
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert!((1..=cpus).contains(&kept.len()), "{} kept", kept.len());
        for memory in kept.iter() {
            assert!(memory.len() >= Params::default().block_count());
            assert!(memory.iter().all(|b| b.as_ref().iter().all(|&x| x == 0)));
        }
    }

    #[test]
    fn salts_make_hashes_differ() {
        let pw = Password::new("theOldPW").unwrap();
        assert_ne!(
            PasswordHash::generate(&pw, &[1; 16]),
            PasswordHash::generate(&pw, &[2; 16])
        );
    }

    #[test]
    fn locked_and_malformed_hashes_match_nothing() {
        let pw = Password::new("theOldPW").unwrap();
        assert!(!PasswordHash::locked().verify(&pw));
        assert!(!PasswordHash::from_phc("$argon2id$garbage").verify(&pw));
        assert!(!PasswordHash::from_phc("").verify(&pw));
    }

    #[test]
    fn fingerprints_parse_with_and_without_colons() {
        let hex = "AB".repeat(32);
        let colons = vec!["ab"; 32].join(":");
        let a: CertFingerprint = hex.parse().unwrap();
        let b: CertFingerprint = colons.parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_hex(), "ab".repeat(32));
        assert!("ab".repeat(31).parse::<CertFingerprint>().is_err());
        assert!("zz".repeat(32).parse::<CertFingerprint>().is_err());
        assert!("+1".repeat(32).parse::<CertFingerprint>().is_err());
    }

    #[test]
    fn password_input_debug_hides_clear_text() {
        let input = PasswordInput::Clear(Password::new("secret99").unwrap());
        assert!(!format!("{input:?}").contains("secret99"));
    }
}
