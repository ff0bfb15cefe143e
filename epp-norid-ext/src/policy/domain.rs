//! Domain create and update rules: periods, name servers, contacts, transfer codes, the
//! applicant dataset, statuses and deletion dates (digest §6.2-6.7).

use std::fmt;

use epp_xml::{ContactId, Date, DomainName, Timestamp};

use super::Refusal;
use super::contact::ContactKind;
use super::time::oslo_date;

/// A domain has at least this many name servers (digest §11).
pub const MIN_NAME_SERVERS: usize = 2;
/// A domain has at most this many name servers.
pub const MAX_NAME_SERVERS: usize = 8;
/// The applicant declaration version Norid accepts today (since 2021-09-28).
pub const CURRENT_DATASET_VERSION: &str = "3.2";
/// How far an acceptDate may lie in the future, for clock skew between registrar and
/// registry, in seconds.
pub const ACCEPT_DATE_SKEW_SECS: i64 = 600;
/// The statuses a registrar may add and remove (RFC 5731 client statuses).
pub const CLIENT_STATUSES: [&str; 5] = [
    "clientDeleteProhibited",
    "clientHold",
    "clientRenewProhibited",
    "clientTransferProhibited",
    "clientUpdateProhibited",
];
/// The special characters of the fourth transfer-code group.
pub const TRANSFER_CODE_SPECIALS: &str = "!#$%&*+,.\\/:;<=>?@_";

/// The unit of a `domain:period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodUnit {
    /// `y`.
    Year,
    /// `m`.
    Month,
}

/// A `domain:period` as sent (RFC 5731: 1-99 of a unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    /// The number.
    pub value: u16,
    /// The unit.
    pub unit: PeriodUnit,
}

impl Period {
    /// `n` years.
    pub const fn years(value: u16) -> Self {
        Period {
            value,
            unit: PeriodUnit::Year,
        }
    }

    /// `n` months.
    pub const fn months(value: u16) -> Self {
        Period {
            value,
            unit: PeriodUnit::Month,
        }
    }

    /// The period in months.
    pub const fn in_months(self) -> u32 {
        match self.unit {
            PeriodUnit::Year => self.value as u32 * 12,
            PeriodUnit::Month => self.value as u32,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            PeriodUnit::Year => "y",
            PeriodUnit::Month => "m",
        };
        write!(f, "{} {unit}", self.value)
    }
}

/// The registration period of a domain create, in months: always 12.
///
/// Norid registers for one year: `1 y` or `12 m`; an omitted period means one year.
///
/// # Errors
///
/// [`Refusal::CreatePeriod`] (2004) for any other period.
pub fn create_period_months(name: &DomainName, period: Option<Period>) -> Result<u8, Refusal> {
    match period {
        None => Ok(12),
        Some(p) if p.in_months() == 12 => Ok(12),
        Some(period) => Err(Refusal::CreatePeriod {
            name: name.to_string(),
            period,
        }),
    }
}

/// The period of a renew, or of the renewal in a transfer, in months: 1-12 months or 1 year;
/// an omitted period means one year.
///
/// # Errors
///
/// [`Refusal::RenewPeriod`] (2004).
pub fn renew_period_months(name: &DomainName, period: Option<Period>) -> Result<u8, Refusal> {
    let Some(period) = period else {
        return Ok(12);
    };
    match period.in_months() {
        m @ 1..=12 => Ok(m as u8),
        _ => Err(Refusal::RenewPeriod {
            name: name.to_string(),
            period,
        }),
    }
}

/// Checks the number of name servers a domain ends up with (create, or update after add and
/// rem): 2-8.
///
/// # Errors
///
/// [`Refusal::NameServerCount`] (2306).
pub fn check_name_server_count(name: &DomainName, count: usize) -> Result<(), Refusal> {
    if (MIN_NAME_SERVERS..=MAX_NAME_SERVERS).contains(&count) {
        Ok(())
    } else {
        Err(Refusal::NameServerCount {
            name: name.to_string(),
            count,
        })
    }
}

/// Checks the `type` of a `domain:contact`: only `tech` is used at Norid (no admin or billing
/// contacts since the 2018 data model).
///
/// # Errors
///
/// [`Refusal::ContactTypeUnused`] (2306).
pub fn check_contact_type(contact_type: &str) -> Result<(), Refusal> {
    if contact_type == "tech" {
        Ok(())
    } else {
        Err(Refusal::ContactTypeUnused {
            contact_type: contact_type.to_owned(),
        })
    }
}

/// Checks that a domain ends up with at least one tech contact (create, or update after add
/// and rem).
///
/// # Errors
///
/// [`Refusal::TechContactRequired`] (2306).
pub fn check_tech_contact_count(name: &DomainName, count: usize) -> Result<(), Refusal> {
    if count == 0 {
        Err(Refusal::TechContactRequired {
            name: name.to_string(),
        })
    } else {
        Ok(())
    }
}

/// Checks that a tech contact is a role contact.
///
/// # Errors
///
/// [`Refusal::TechContactNotRole`] (2306).
pub fn check_tech_contact(id: &ContactId, kind: ContactKind) -> Result<(), Refusal> {
    match kind {
        ContactKind::Role => Ok(()),
        kind => Err(Refusal::TechContactNotRole {
            contact: id.to_string(),
            kind,
        }),
    }
}

/// Checks a transfer code (`domain:authInfo`) on create or `chg`; returns the code to store,
/// or `None` for no code.
///
/// `code` is `None` for `<domain:null/>` and `Some(pw)` for `<domain:pw>`; an empty
/// `<domain:pw/>` also means "no code" (Norid's own client sends it). A code has 8-64
/// characters, each from one of four groups (a-z, A-Z, 0-9, [`TRANSFER_CODE_SPECIALS`]), and
/// uses at least two groups.
///
/// # Errors
///
/// [`Refusal::TransferCodeLength`] (2004), [`Refusal::TransferCodeCharacter`] (2005),
/// [`Refusal::TransferCodeGroups`] (2306). None of them echoes the code.
pub fn check_transfer_code(code: Option<&str>) -> Result<Option<&str>, Refusal> {
    let code = match code {
        None | Some("") => return Ok(None),
        Some(code) => code,
    };
    let len = code.chars().count();
    if !(8..=64).contains(&len) {
        return Err(Refusal::TransferCodeLength { len });
    }
    let mut groups = [false; 4];
    for (i, c) in code.chars().enumerate() {
        let group = match c {
            'a'..='z' => 0,
            'A'..='Z' => 1,
            '0'..='9' => 2,
            c if TRANSFER_CODE_SPECIALS.contains(c) => 3,
            _ => return Err(Refusal::TransferCodeCharacter { position: i + 1 }),
        };
        groups[group] = true;
    }
    let used = groups.iter().filter(|&&g| g).count();
    if used < 2 {
        return Err(Refusal::TransferCodeGroups { groups: used });
    }
    Ok(Some(code))
}

/// Compares a stored transfer code (or token) with the one a client sent, in time that does
/// not depend on where they differ.
pub fn transfer_code_matches(stored: &str, given: &str) -> bool {
    let (a, b) = (stored.as_bytes(), given.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// The applicant dataset (`no-ext-domain:applicantDataset`) of a create or update.
#[derive(Debug, Clone, Copy)]
pub struct ApplicantDatasetFacts<'a> {
    /// `versionNumber`, e.g. `3.2`.
    pub version: &'a str,
    /// `acceptName`: who accepted the declaration.
    pub accept_name: &'a str,
    /// `acceptDate`: when.
    pub accept_date: Timestamp,
}

/// Checks that a domain create carries an applicantDataset (digest §6.2).
///
/// # Errors
///
/// [`Refusal::DatasetRequired`] (2003).
pub fn require_applicant_dataset(name: &DomainName, present: bool) -> Result<(), Refusal> {
    if present {
        Ok(())
    } else {
        Err(Refusal::DatasetRequired {
            name: name.to_string(),
        })
    }
}

/// Checks an applicantDataset: the version equals `current_version` (normally
/// [`CURRENT_DATASET_VERSION`]; major and minor compare as integers, so `03.2` is `3.2` but
/// `3.20` is not), acceptName has 1-255 characters and is not blank, and acceptDate is not
/// later than `now` plus [`ACCEPT_DATE_SKEW_SECS`].
///
/// # Errors
///
/// [`Refusal::DatasetVersion`] (2306), [`Refusal::AcceptName`] (2004),
/// [`Refusal::AcceptDate`] (2306).
pub fn check_applicant_dataset(
    ds: &ApplicantDatasetFacts<'_>,
    current_version: &str,
    now: Timestamp,
) -> Result<(), Refusal> {
    if version_number(ds.version).is_none()
        || version_number(ds.version) != version_number(current_version)
    {
        return Err(Refusal::DatasetVersion {
            version: ds.version.to_owned(),
            current: current_version.to_owned(),
        });
    }
    let len = ds.accept_name.chars().count();
    if !(1..=255).contains(&len) || ds.accept_name.trim().is_empty() {
        return Err(Refusal::AcceptName { len });
    }
    if ds.accept_date > now.add_secs(ACCEPT_DATE_SKEW_SECS) {
        return Err(Refusal::AcceptDate {
            accept_date: ds.accept_date,
        });
    }
    Ok(())
}

/// Checks that an update changing the registrant brings a new applicantDataset: the new
/// holder must have accepted the declaration (digest §6.4).
///
/// # Errors
///
/// [`Refusal::HolderChangeDataset`] (2003).
pub fn check_registrant_change(name: &DomainName, has_new_dataset: bool) -> Result<(), Refusal> {
    if has_new_dataset {
        Ok(())
    } else {
        Err(Refusal::HolderChangeDataset {
            name: name.to_string(),
        })
    }
}

/// Checks a status in an update's `add` or `rem`: only the five client statuses.
///
/// # Errors
///
/// [`Refusal::StatusNotSettable`] (2306) for `ok`, `inactive`, `pending*` and `server*`.
pub fn check_client_status(status: &str) -> Result<(), Refusal> {
    if CLIENT_STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(Refusal::StatusNotSettable {
            status: status.to_owned(),
        })
    }
}

/// When a deleted domain leaves DNS and the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletePlan {
    /// The Norwegian local date the domain leaves DNS.
    pub from_dns: Date,
    /// The Norwegian local date the domain is removed from the registry and becomes
    /// available; `None` keeps it registered (out of DNS) until it expires.
    pub from_registry: Option<Date>,
}

impl DeletePlan {
    /// Whether the domain goes at once (both dates are today): the delete is carried out by
    /// the command itself.
    pub fn is_immediate(&self, today: Date) -> bool {
        self.from_dns <= today && self.from_registry.is_some_and(|d| d <= today)
    }
}

/// Works out a domain delete's dates from `no-ext-domain:delete` (digest §6.7).
///
/// * neither date: both today (immediate delete);
/// * deleteFromRegistry only: out of DNS and registry on that date;
/// * deleteFromDNS only: out of DNS on that date, registered until it expires;
/// * both: deleteFromRegistry not before deleteFromDNS.
///
/// Dates are Norwegian local dates and may not be before today's (taken from `now`).
///
/// # Errors
///
/// [`Refusal::DeleteDatePast`], [`Refusal::DeleteDateOrder`] (2306).
pub fn delete_plan(
    from_dns: Option<Date>,
    from_registry: Option<Date>,
    now: Timestamp,
) -> Result<DeletePlan, Refusal> {
    use super::refusal::DeleteDate;
    let today = oslo_date(now);
    for (which, date) in [
        (DeleteDate::Dns, from_dns),
        (DeleteDate::Registry, from_registry),
    ] {
        if let Some(date) = date
            && date < today
        {
            return Err(Refusal::DeleteDatePast { which, date, today });
        }
    }
    match (from_dns, from_registry) {
        (Some(dns), Some(registry)) if registry < dns => {
            Err(Refusal::DeleteDateOrder { dns, registry })
        }
        (dns, registry) => Ok(DeletePlan {
            from_dns: dns.or(registry).unwrap_or(today),
            from_registry: if dns.is_some() {
                registry
            } else {
                registry.or(Some(today))
            },
        }),
    }
}

/// `major.minor` as two integers.
fn version_number(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    Some((num(major)?, num(minor)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> DomainName {
        DomainName::new(s).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn date(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn create_period_is_one_year() {
        let n = dn("example.no");
        assert_eq!(create_period_months(&n, None), Ok(12));
        assert_eq!(create_period_months(&n, Some(Period::years(1))), Ok(12));
        assert_eq!(create_period_months(&n, Some(Period::months(12))), Ok(12));
        for p in [
            Period::years(2),
            Period::months(6),
            Period::months(24),
            Period::years(0),
        ] {
            let e = create_period_months(&n, Some(p)).unwrap_err();
            assert_eq!((e.code(), e.result_code().code()), ("EC002920", 2004));
        }
        let e = create_period_months(&n, Some(Period::years(2))).unwrap_err();
        assert_eq!(
            e.reason(),
            "Domain [example.no] can only be created for 1 year (period 1 y or 12 m), not [2 y]."
        );
    }

    #[test]
    fn renew_period_is_one_to_twelve_months() {
        let n = dn("example.no");
        assert_eq!(renew_period_months(&n, None), Ok(12));
        assert_eq!(renew_period_months(&n, Some(Period::years(1))), Ok(12));
        for m in 1..=12 {
            assert_eq!(
                renew_period_months(&n, Some(Period::months(m))),
                Ok(m as u8)
            );
        }
        for p in [
            Period::months(0),
            Period::months(13),
            Period::years(2),
            Period::years(0),
        ] {
            let e = renew_period_months(&n, Some(p)).unwrap_err();
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC002921", 2004),
                "{p}"
            );
        }
        let e = renew_period_months(&n, Some(Period::months(13))).unwrap_err();
        assert_eq!(
            e.reason(),
            "Domain [example.no] can only be renewed for 1-12 months or 1 year, not [13 m]."
        );
    }

    #[test]
    fn name_servers_and_contacts() {
        let n = dn("example.no");
        for ok in 2..=8 {
            assert!(check_name_server_count(&n, ok).is_ok());
        }
        for bad in [0, 1, 9, 13] {
            let e = check_name_server_count(&n, bad).unwrap_err();
            assert_eq!((e.code(), e.result_code().code()), ("EC002924", 2306));
        }
        assert_eq!(
            check_name_server_count(&n, 1).unwrap_err().reason(),
            "Domain [example.no] must have 2-8 name servers, not 1."
        );
        assert!(check_contact_type("tech").is_ok());
        let e = check_contact_type("admin").unwrap_err();
        assert_eq!(
            e.reason(),
            "Contact type [admin] is not used at .no; a domain has a registrant and tech contacts."
        );
        assert_eq!(e.result_code().code(), 2306);
        assert!(check_contact_type("billing").is_err());
        assert!(check_tech_contact_count(&n, 1).is_ok());
        assert_eq!(
            check_tech_contact_count(&n, 0).unwrap_err().code(),
            "EC002925"
        );
        let id = ContactId::new("TR85R").unwrap();
        assert!(check_tech_contact(&id, ContactKind::Role).is_ok());
        let e = check_tech_contact(&id, ContactKind::Person).unwrap_err();
        assert_eq!(
            e.reason(),
            "Contact [TR85R] is a person contact; tech contacts must be role contacts."
        );
    }

    #[test]
    fn transfer_codes() {
        assert_eq!(check_transfer_code(None), Ok(None));
        assert_eq!(check_transfer_code(Some("")), Ok(None));
        for ok in [
            "I7owhpPS",
            "abcd1234",
            "ABCD!#$%",
            "aaaaaaa_",
            &"aB".repeat(32),
        ] {
            assert_eq!(check_transfer_code(Some(ok)), Ok(Some(ok)), "{ok}");
        }
        for special in TRANSFER_CODE_SPECIALS.chars() {
            let code = format!("abcdefg{special}");
            assert!(check_transfer_code(Some(&code)).is_ok(), "{code}");
        }
        let e = check_transfer_code(Some("2fooBAR")).unwrap_err();
        assert_eq!(
            e.reason(),
            "The transfer code has 7 characters; it must have 8-64."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002931", 2004));
        assert!(check_transfer_code(Some(&"aB".repeat(33))).is_err());
        let e = check_transfer_code(Some("abcd-1234")).unwrap_err();
        assert_eq!(
            e.reason(),
            "The transfer code has a character at position 5 that is not a-z, A-Z, 0-9 or one of \
             ! # $ % & * + , . \\ / : ; < = > ? @ _."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002932", 2005));
        assert!(check_transfer_code(Some("abcd 1234")).is_err());
        assert!(check_transfer_code(Some("abcdæ1234")).is_err());
        for simple in ["abcdefgh", "ABCDEFGH", "12345678", "!#$%&*+,"] {
            let e = check_transfer_code(Some(simple)).unwrap_err();
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC002933", 2306),
                "{simple}"
            );
        }
        assert!(
            !check_transfer_code(Some("abcdefgh"))
                .unwrap_err()
                .reason()
                .contains("abcdefgh")
        );
    }

    #[test]
    fn constant_time_compare() {
        assert!(transfer_code_matches("I7owhpPS", "I7owhpPS"));
        assert!(!transfer_code_matches("I7owhpPS", "I7owhpPs"));
        assert!(!transfer_code_matches("I7owhpPS", "I7owhpP"));
        assert!(!transfer_code_matches("", "x"));
        assert!(transfer_code_matches("", ""));
    }

    #[test]
    fn applicant_dataset() {
        let now = ts("2025-01-01T12:00:00Z");
        let ds = ApplicantDatasetFacts {
            version: "3.2",
            accept_name: "Ola Nordmann",
            accept_date: ts("2024-12-31T08:19:31.00Z"),
        };
        assert!(check_applicant_dataset(&ds, CURRENT_DATASET_VERSION, now).is_ok());
        assert!(
            check_applicant_dataset(
                &ApplicantDatasetFacts {
                    version: "03.2",
                    ..ds
                },
                "3.2",
                now
            )
            .is_ok()
        );
        for v in ["2.0", "3.1", "3.20", "13.10", "3", "x.y"] {
            let e =
                check_applicant_dataset(&ApplicantDatasetFacts { version: v, ..ds }, "3.2", now)
                    .unwrap_err();
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC002935", 2306),
                "{v}"
            );
        }
        let e = check_applicant_dataset(
            &ApplicantDatasetFacts {
                version: "3.1",
                ..ds
            },
            "3.2",
            now,
        )
        .unwrap_err();
        assert_eq!(
            e.reason(),
            "Applicant dataset version [3.1] is not accepted; the current version is [3.2]."
        );
        // A newer current version is configuration, not code.
        assert!(
            check_applicant_dataset(
                &ApplicantDatasetFacts {
                    version: "3.3",
                    ..ds
                },
                "3.3",
                now
            )
            .is_ok()
        );
        for name in ["", "   ", &"x".repeat(256)] {
            let e = check_applicant_dataset(
                &ApplicantDatasetFacts {
                    accept_name: name,
                    ..ds
                },
                "3.2",
                now,
            )
            .unwrap_err();
            assert_eq!((e.code(), e.result_code().code()), ("EC002936", 2004));
        }
        assert!(
            check_applicant_dataset(
                &ApplicantDatasetFacts {
                    accept_name: &"x".repeat(255),
                    ..ds
                },
                "3.2",
                now
            )
            .is_ok()
        );
        let soon = ApplicantDatasetFacts {
            accept_date: ts("2025-01-01T12:10:00Z"),
            ..ds
        };
        assert!(check_applicant_dataset(&soon, "3.2", now).is_ok());
        let late = ApplicantDatasetFacts {
            accept_date: ts("2025-01-01T12:10:00.01Z"),
            ..ds
        };
        let e = check_applicant_dataset(&late, "3.2", now).unwrap_err();
        assert_eq!(
            e.reason(),
            "acceptDate [2025-01-01T12:10:00.01Z] is later than the current time."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002937", 2306));
        let n = dn("example.no");
        assert!(require_applicant_dataset(&n, true).is_ok());
        let e = require_applicant_dataset(&n, false).unwrap_err();
        assert_eq!(
            e.reason(),
            "Domain [example.no] needs an applicantDataset (no-ext-domain-1.1) on create."
        );
        assert_eq!(e.result_code().code(), 2003);
        assert!(check_registrant_change(&n, true).is_ok());
        assert_eq!(
            check_registrant_change(&n, false)
                .unwrap_err()
                .result_code()
                .code(),
            2003
        );
    }

    #[test]
    fn statuses() {
        for s in CLIENT_STATUSES {
            assert!(check_client_status(s).is_ok());
        }
        for s in [
            "ok",
            "serverHold",
            "pendingDelete",
            "inactive",
            "clienthold",
        ] {
            let e = check_client_status(s).unwrap_err();
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC002939", 2306),
                "{s}"
            );
        }
    }

    #[test]
    fn deletion_dates() {
        // 2025-06-30T22:30Z is already 1 July in Oslo.
        let now = ts("2025-06-30T22:30:00Z");
        let today = date("2025-07-01");
        let p = delete_plan(None, None, now).unwrap();
        assert_eq!(
            p,
            DeletePlan {
                from_dns: today,
                from_registry: Some(today)
            }
        );
        assert!(p.is_immediate(today));
        let p = delete_plan(Some(date("2025-07-10")), None, now).unwrap();
        assert_eq!(
            p,
            DeletePlan {
                from_dns: date("2025-07-10"),
                from_registry: None
            }
        );
        assert!(!p.is_immediate(today));
        let p = delete_plan(None, Some(date("2025-08-01")), now).unwrap();
        assert_eq!(
            p,
            DeletePlan {
                from_dns: date("2025-08-01"),
                from_registry: Some(date("2025-08-01"))
            }
        );
        let p = delete_plan(Some(today), Some(date("2025-08-01")), now).unwrap();
        assert_eq!(p.from_dns, today);
        let e = delete_plan(Some(date("2025-06-30")), None, now).unwrap_err();
        assert_eq!(
            e.reason(),
            "deleteFromDNS [2025-06-30] is before today [2025-07-01]."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002940", 2306));
        let e = delete_plan(None, Some(date("2025-06-30")), now).unwrap_err();
        assert!(e.reason().starts_with("deleteFromRegistry [2025-06-30]"));
        let e = delete_plan(Some(date("2025-08-02")), Some(date("2025-08-01")), now).unwrap_err();
        assert_eq!(
            e.reason(),
            "deleteFromRegistry [2025-08-01] is before deleteFromDNS [2025-08-02]."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002941", 2306));
    }
}
