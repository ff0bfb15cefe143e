//! DNSSEC (secDNS-1.1, RFC 5910) rules: the dsData interface only, accepted algorithms and
//! digest types, at most [`MAX_DS_RECORDS`] DS records, and update arithmetic (digest §7).

use std::fmt;

use epp_xml::DomainName;

use super::Refusal;

/// A domain has at most this many DS records.
pub const MAX_DS_RECORDS: usize = 8;
/// DNSSEC algorithms accepted in DS and DNSKEY data: RSASHA256, RSASHA512, ECDSAP256SHA256,
/// ECDSAP384SHA384, ED25519, ED448 (the signing algorithms RFC 8624 does not deprecate;
/// RSAMD5, DSA, RSASHA1 and its NSEC3 variants, and GOST are refused).
pub const ALGORITHMS: [u8; 6] = [8, 10, 13, 14, 15, 16];
/// DS digest types accepted: SHA-256 (2) and SHA-384 (4); SHA-1 (1) and GOST (3) are refused.
pub const DIGEST_TYPES: [u8; 2] = [2, 4];

/// Which secDNS-1.1 interface a command uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecDnsInterface {
    /// `dsData` (optionally carrying `keyData`): the one Norid supports.
    DsData,
    /// `keyData` alone.
    KeyData,
}

/// A DS record, checked: accepted algorithm and digest type, digest in upper-case hex of the
/// type's length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DsRecord {
    key_tag: u16,
    alg: u8,
    digest_type: u8,
    digest: String,
}

impl DsRecord {
    /// Checks and builds a DS record from `secDNS:dsData`; the digest (`xs:hexBinary`, so
    /// without inner whitespace) is normalised to upper case.
    ///
    /// # Errors
    ///
    /// [`Refusal::DsAlgorithm`], [`Refusal::DsDigestType`] (2306), [`Refusal::DsDigest`]
    /// (2005).
    pub fn new(key_tag: u16, alg: u8, digest_type: u8, digest: &str) -> Result<Self, Refusal> {
        if !ALGORITHMS.contains(&alg) {
            return Err(Refusal::DsAlgorithm { alg });
        }
        let expected_len = match digest_type {
            2 => 64,
            4 => 96,
            _ => return Err(Refusal::DsDigestType { digest_type }),
        };
        if digest.len() != expected_len || !digest.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Refusal::DsDigest {
                digest: digest.to_owned(),
                digest_type,
                expected_len,
            });
        }
        Ok(DsRecord {
            key_tag,
            alg,
            digest_type,
            digest: digest.to_ascii_uppercase(),
        })
    }

    /// The key tag.
    pub fn key_tag(&self) -> u16 {
        self.key_tag
    }

    /// The algorithm.
    pub fn alg(&self) -> u8 {
        self.alg
    }

    /// The digest type.
    pub fn digest_type(&self) -> u8 {
        self.digest_type
    }

    /// The digest, upper-case hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

impl fmt::Display for DsRecord {
    /// Presentation order of a DS RR: key tag, algorithm, digest type, digest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.key_tag, self.alg, self.digest_type, self.digest
        )
    }
}

/// Checks the interface of a `secDNS:create` or of an update's `add` or `rem`.
///
/// # Errors
///
/// [`Refusal::KeyDataOnly`] (2306) for the keyData interface.
pub fn check_secdns_interface(
    name: &DomainName,
    interface: SecDnsInterface,
) -> Result<(), Refusal> {
    match interface {
        SecDnsInterface::DsData => Ok(()),
        SecDnsInterface::KeyData => Err(Refusal::KeyDataOnly {
            name: name.to_string(),
        }),
    }
}

/// Checks a `secDNS:keyData` that accompanies a DS record: flags 256 (ZSK) or 257 (KSK),
/// protocol 3, an accepted algorithm, a base64 public key.
///
/// # Errors
///
/// [`Refusal::KeyData`], [`Refusal::DsAlgorithm`] (2306), [`Refusal::KeyDataPubKey`] (2005).
pub fn check_key_data(flags: u16, protocol: u8, alg: u8, pub_key: &str) -> Result<(), Refusal> {
    if !matches!(flags, 256 | 257) || protocol != 3 {
        return Err(Refusal::KeyData { flags, protocol });
    }
    if !ALGORITHMS.contains(&alg) {
        return Err(Refusal::DsAlgorithm { alg });
    }
    if !is_base64(pub_key) {
        return Err(Refusal::KeyDataPubKey);
    }
    Ok(())
}

/// Checks the DS records of a create: no duplicates, at most [`MAX_DS_RECORDS`].
///
/// # Errors
///
/// [`Refusal::DsDuplicate`], [`Refusal::TooManyDs`] (2306).
pub fn check_ds_set(name: &DomainName, records: &[DsRecord]) -> Result<(), Refusal> {
    if let Some(ds) = first_duplicate(records) {
        return Err(Refusal::DsDuplicate { ds: ds.clone() });
    }
    if records.len() > MAX_DS_RECORDS {
        return Err(Refusal::TooManyDs {
            name: name.to_string(),
            count: records.len(),
            max: MAX_DS_RECORDS,
        });
    }
    Ok(())
}

/// A secDNS-1.1 update of the DS records: `rem` (all, or a list) applies before `add`
/// (RFC 5910 §5.2.5).
#[derive(Debug, Clone, Copy, Default)]
pub struct DsUpdate<'a> {
    /// `<secDNS:rem><secDNS:all>true</secDNS:all></secDNS:rem>`.
    pub remove_all: bool,
    /// DS records to remove.
    pub remove: &'a [DsRecord],
    /// DS records to add.
    pub add: &'a [DsRecord],
}

/// Applies a DS update to the current records; returns the new set (current order, then
/// additions).
///
/// `urgent` needs no handling here (changes apply at once), and `maxSigLife` is ignored with
/// a warning ([`max_sig_life_ignored`](super::max_sig_life_ignored)).
///
/// # Errors
///
/// [`Refusal::DsDuplicate`] for a record twice in `add` or in `remove`,
/// [`Refusal::DsNotFound`] for removing a record the domain does not have,
/// [`Refusal::DsPresent`] for adding one it keeps, [`Refusal::TooManyDs`] (all 2306).
pub fn apply_ds_update(
    name: &DomainName,
    current: &[DsRecord],
    update: DsUpdate<'_>,
) -> Result<Vec<DsRecord>, Refusal> {
    for list in [update.remove, update.add] {
        if let Some(ds) = first_duplicate(list) {
            return Err(Refusal::DsDuplicate { ds: ds.clone() });
        }
    }
    let mut records: Vec<DsRecord> = if update.remove_all {
        Vec::new()
    } else {
        current.to_vec()
    };
    for ds in update.remove {
        match records.iter().position(|r| r == ds) {
            Some(i) => {
                records.remove(i);
            }
            None if update.remove_all => {}
            None => {
                return Err(Refusal::DsNotFound {
                    name: name.to_string(),
                    ds: ds.clone(),
                });
            }
        }
    }
    for ds in update.add {
        if records.contains(ds) {
            return Err(Refusal::DsPresent {
                name: name.to_string(),
                ds: ds.clone(),
            });
        }
        records.push(ds.clone());
    }
    if records.len() > MAX_DS_RECORDS {
        return Err(Refusal::TooManyDs {
            name: name.to_string(),
            count: records.len(),
            max: MAX_DS_RECORDS,
        });
    }
    Ok(records)
}

fn first_duplicate(records: &[DsRecord]) -> Option<&DsRecord> {
    records
        .iter()
        .enumerate()
        .find(|(i, r)| records[..*i].contains(r))
        .map(|(_, r)| r)
}

/// Whether `s` is base64 (RFC 4648 alphabet, `=` padding), ignoring XML whitespace as
/// `xs:base64Binary` does.
fn is_base64(s: &str) -> bool {
    let chars: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if chars.is_empty() || !chars.len().is_multiple_of(4) {
        return false;
    }
    let body = chars.len() - chars.iter().rev().take_while(|&&c| c == b'=').count();
    chars.len() - body <= 2
        && chars[..body]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn() -> DomainName {
        DomainName::new("example.no").unwrap()
    }

    fn ds(tag: u16) -> DsRecord {
        DsRecord::new(tag, 13, 2, &"ab".repeat(32)).unwrap()
    }

    #[test]
    fn ds_records() {
        let d = ds(12345);
        assert_eq!(d.digest(), "AB".repeat(32));
        assert_eq!(d.to_string(), format!("12345 13 2 {}", "AB".repeat(32)));
        assert!(DsRecord::new(1, 8, 4, &"0".repeat(96)).is_ok());
        for alg in ALGORITHMS {
            assert!(DsRecord::new(1, alg, 2, &"0".repeat(64)).is_ok());
        }
        for alg in [1, 3, 5, 6, 7, 12, 253] {
            let e = DsRecord::new(1, alg, 2, &"0".repeat(64)).unwrap_err();
            assert_eq!((e.code(), e.result_code().code()), ("EC002952", 2306));
        }
        let e = DsRecord::new(1, 3, 1, "38EC35D5B3A34B44C39B").unwrap_err();
        assert_eq!(
            e.reason(),
            "Algorithm [3] is not supported; use one of 8, 10, 13, 14, 15, 16."
        );
        for t in [0, 1, 3, 5] {
            let e = DsRecord::new(1, 13, t, &"0".repeat(64)).unwrap_err();
            assert_eq!((e.code(), e.result_code().code()), ("EC002953", 2306));
        }
        let e = DsRecord::new(1, 13, 1, "38EC35D5B3A34B44C39B").unwrap_err();
        assert_eq!(
            e.reason(),
            "Digest type [1] is not supported; use 2 (SHA-256) or 4 (SHA-384)."
        );
        let e = DsRecord::new(1, 13, 2, "38EC35D5B3A34B44C39B").unwrap_err();
        assert_eq!(
            e.reason(),
            "Digest [38EC35D5B3A34B44C39B] is not 64 hexadecimal characters as digest type 2 requires."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002954", 2005));
        assert!(DsRecord::new(1, 13, 2, &"g".repeat(64)).is_err());
        assert!(DsRecord::new(1, 13, 4, &"0".repeat(64)).is_err());
    }

    #[test]
    fn interfaces_and_key_data() {
        assert!(check_secdns_interface(&dn(), SecDnsInterface::DsData).is_ok());
        let e = check_secdns_interface(&dn(), SecDnsInterface::KeyData).unwrap_err();
        assert_eq!(
            e.reason(),
            "Domain [example.no]: secDNS keyData without dsData is not supported; send dsData \
             (keyData may accompany it)."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002950", 2306));
        assert!(check_key_data(257, 3, 13, "AQPJ////4Q==").is_ok());
        assert!(check_key_data(256, 3, 8, "AQPJ\n////4Q==").is_ok());
        let e = check_key_data(1, 3, 13, "AQPJ////4Q==").unwrap_err();
        assert_eq!(
            e.reason(),
            "keyData flags must be 256 or 257 and protocol 3, not flags 1 and protocol 3."
        );
        assert_eq!(
            check_key_data(257, 4, 13, "AQPJ////4Q==")
                .unwrap_err()
                .code(),
            "EC002958"
        );
        assert_eq!(
            check_key_data(257, 3, 1, "AQPJ////4Q==")
                .unwrap_err()
                .code(),
            "EC002952"
        );
        for bad in ["", "AQPJ////4Q=", "AQ*J////4Q==", "A===", "AQPJ=///"] {
            let e = check_key_data(257, 3, 13, bad).unwrap_err();
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC002959", 2005),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ds_sets_on_create() {
        let records: Vec<DsRecord> = (1..=8).map(ds).collect();
        assert!(check_ds_set(&dn(), &records).is_ok());
        let nine: Vec<DsRecord> = (1..=9).map(ds).collect();
        let e = check_ds_set(&dn(), &nine).unwrap_err();
        assert_eq!(
            e.reason(),
            "Domain [example.no] would have 9 DS records; the limit is 8."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002951", 2306));
        let e = check_ds_set(&dn(), &[ds(1), ds(2), ds(1)]).unwrap_err();
        assert_eq!(e, Refusal::DsDuplicate { ds: ds(1) });
        assert_eq!(e.code(), "EC002955");
    }

    fn u<'a>(remove_all: bool, remove: &'a [DsRecord], add: &'a [DsRecord]) -> DsUpdate<'a> {
        DsUpdate {
            remove_all,
            remove,
            add,
        }
    }

    #[test]
    fn ds_updates() {
        let current = vec![ds(1), ds(2)];
        assert_eq!(
            apply_ds_update(&dn(), &current, u(false, &[ds(1)], &[ds(3)])),
            Ok(vec![ds(2), ds(3)])
        );
        assert_eq!(
            apply_ds_update(&dn(), &current, u(true, &[], &[])),
            Ok(vec![])
        );
        assert_eq!(
            apply_ds_update(&dn(), &current, u(true, &[], &[ds(1)])),
            Ok(vec![ds(1)])
        );
        // Removing and re-adding the same record in one command is allowed.
        assert_eq!(
            apply_ds_update(&dn(), &current, u(false, &[ds(2)], &[ds(2)])),
            Ok(vec![ds(1), ds(2)])
        );
        let e = apply_ds_update(&dn(), &current, u(false, &[ds(9)], &[])).unwrap_err();
        assert_eq!(
            e.reason(),
            format!(
                "Domain [example.no] has no DS record [9 13 2 {}] to remove.",
                "AB".repeat(32)
            )
        );
        assert_eq!(e.code(), "EC002956");
        let e = apply_ds_update(&dn(), &current, u(false, &[], &[ds(1)])).unwrap_err();
        assert_eq!(e.code(), "EC002957");
        let e = apply_ds_update(&dn(), &current, u(false, &[], &[ds(3), ds(3)])).unwrap_err();
        assert_eq!(e.code(), "EC002955");
        let many: Vec<DsRecord> = (3..=9).map(ds).collect();
        let e = apply_ds_update(&dn(), &current, u(false, &[], &many)).unwrap_err();
        assert!(matches!(e, Refusal::TooManyDs { count: 9, .. }));
        assert!(apply_ds_update(&dn(), &current, u(false, &[ds(1)], &many)).is_ok());
        // Digests compare case-insensitively.
        let lower = DsRecord::new(1, 13, 2, &"ab".repeat(32)).unwrap();
        let upper = DsRecord::new(1, 13, 2, &"AB".repeat(32)).unwrap();
        assert_eq!(lower, upper);
    }
}
