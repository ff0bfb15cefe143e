//! The `.no` domain name policy: label syntax (with IDNs), the zones names are registered
//! in, and per-holder quotas (digest §6.1).

use std::borrow::Cow;
use std::fmt;

use epp_xml::{ContactId, DomainName};
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::Refusal;
use super::contact::ContactKind;
use super::zones::ZONES;

/// The 23 Norwegian and Sami letters allowed in `.no` labels beside a-z, 0-9 and `-`
/// (digest §6.1).
pub const NORWEGIAN_LETTERS: [char; 23] = [
    'á', 'à', 'ä', 'č', 'ç', 'đ', 'é', 'è', 'ê', 'ŋ', 'ń', 'ñ', 'ó', 'ò', 'ô', 'ö', 'š', 'ŧ', 'ü',
    'ž', 'æ', 'ø', 'å',
];

/// Names a private person may hold directly under `.no`.
pub const PERSON_QUOTA: u32 = 5;
/// Names a private person may hold under `priv.no` and geographic domains together.
pub const PERSON_PRIVATE_QUOTA: u32 = 5;
/// Names an organization may hold directly under `.no` (those under category and geographic
/// domains are not limited).
pub const ORGANIZATION_QUOTA: u32 = 100;

/// What kind of zone a name is registered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZoneKind {
    /// Directly under `.no`.
    TopLevel,
    /// `priv.no`, for private persons.
    Private,
    /// A category domain Norid runs (`fhs.no`, `vgs.no`, `fylkesbibl.no`, `folkebibl.no`,
    /// `museum.no`, `idrett.no`, and `gs.<county>.no`), for organizations.
    Category,
    /// A geographic domain (county, city or municipality name, e.g. `oslo.no`,
    /// `bø.telemark.no`).
    Geographic,
    /// A category domain managed by another party (`mil.no`, `stat.no`, `dep.no`,
    /// `kommune.no`, `herad.no`); not registered through Norid.
    External,
}

/// A zone in which Norid registers names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Zone {
    ace: &'static str,
    unicode: &'static str,
    kind: ZoneKind,
}

impl Zone {
    /// `.no` itself.
    pub const NO: Zone = Zone {
        ace: "no",
        unicode: "no",
        kind: ZoneKind::TopLevel,
    };

    /// The zone's name in ACE form, e.g. `xn--b-5ga.telemark.no`.
    pub fn ace(&self) -> &'static str {
        self.ace
    }

    /// The zone's name in Unicode form, e.g. `bø.telemark.no`.
    pub fn unicode(&self) -> &'static str {
        self.unicode
    }

    /// The kind of zone.
    pub fn kind(&self) -> ZoneKind {
        self.kind
    }

    /// The zone with this ACE name (`no` or one of Norid's second- and third-level zones).
    pub fn lookup(ace: &str) -> Option<Zone> {
        if ace == "no" {
            return Some(Zone::NO);
        }
        ZONES
            .binary_search_by(|(a, _, _)| (*a).cmp(ace))
            .ok()
            .map(|i| {
                let (ace, unicode, kind) = ZONES[i];
                Zone { ace, unicode, kind }
            })
    }

    /// Every zone, `.no` first, then the others sorted by ACE name.
    pub fn all() -> impl Iterator<Item = Zone> {
        std::iter::once(Zone::NO).chain(ZONES.iter().map(|&(ace, unicode, kind)| Zone {
            ace,
            unicode,
            kind,
        }))
    }
}

/// A domain name that passed the `.no` name policy, in ACE and Unicode form, with its zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NoDomainName {
    ace: DomainName,
    unicode: String,
    zone: Zone,
}

impl NoDomainName {
    /// The name in ACE form, as it travels in EPP (lower case).
    pub fn ace(&self) -> &DomainName {
        &self.ace
    }

    /// The name with its IDN labels decoded, e.g. `blåbær.no`.
    pub fn unicode(&self) -> &str {
        &self.unicode
    }

    /// The zone the name is registered in.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The registered label (the name's first label) in ACE form.
    pub fn label(&self) -> &str {
        let s = self.ace.as_str();
        s.split_once('.').map_or(s, |(l, _)| l)
    }
}

/// Checks a domain name against the `.no` policy and finds its zone.
///
/// Rules, in the order they are checked:
/// 1. ASCII only: IDNs travel in ACE form ([`Refusal::AceRequired`], 2005; the details
///    suggest the ACE form);
/// 2. at most 253 characters ([`Refusal::NameTooLong`], 2004), no empty label
///    ([`Refusal::EmptyLabel`], 2005);
/// 3. not `.no` itself, a Norid zone, or a name above one such as `telemark.no`
///    ([`Refusal::ReservedZoneName`], 2306);
/// 4. the name minus its first label is `no` or a Norid zone ([`Refusal::NotInZone`], 2306),
///    and not one managed by another party ([`Refusal::ExternalZone`], 2306);
/// 5. the first label: an `xn--` label must decode and round-trip through IDNA (UTS 46, STD3
///    rules) unchanged ([`Refusal::InvalidAce`], 2005); its Unicode form may use only a-z,
///    0-9, `-` and [`NORWEGIAN_LETTERS`] ([`Refusal::InvalidCharacter`], 2005), has 2-63
///    characters ([`Refusal::LabelLength`], 2004), begins and ends with a letter or digit
///    ([`Refusal::HyphenAtEdge`], 2005), and has no `--` in positions 3-4 unless it is an
///    `xn--` label ([`Refusal::HyphensAt3And4`], 2005).
///
/// # Errors
///
/// The first [`Refusal`] that applies.
pub fn parse_domain_name(name: &DomainName) -> Result<NoDomainName, Refusal> {
    let (zone, unicode_label) = checked(name)?;
    Ok(NoDomainName {
        ace: name.clone(),
        unicode: format!("{unicode_label}.{}", zone.unicode),
        zone,
    })
}

/// [`parse_domain_name`]'s rules without building the parsed name (no allocation for a
/// name without IDN labels): the zone of a registrable name. What a `<domain:check>` asks
/// of every name.
///
/// # Errors
///
/// The first [`Refusal`] that applies, as [`parse_domain_name`].
pub fn check_domain_name(name: &DomainName) -> Result<Zone, Refusal> {
    checked(name).map(|(zone, _)| zone)
}

/// The rules of [`parse_domain_name`]: the zone and the first label's Unicode form.
fn checked(name: &DomainName) -> Result<(Zone, Cow<'_, str>), Refusal> {
    let s = name.as_str();
    if !s.is_ascii() {
        let ace = idna::domain_to_ascii_strict(s).ok();
        return Err(Refusal::AceRequired {
            name: s.to_owned(),
            ace,
        });
    }
    if s.len() > 253 {
        return Err(Refusal::NameTooLong {
            name: s.to_owned(),
            len: s.len(),
        });
    }
    if s.split('.').any(str::is_empty) {
        return Err(Refusal::EmptyLabel { name: s.to_owned() });
    }
    if Zone::lookup(s).is_some() || is_above_a_zone(s) {
        return Err(Refusal::ReservedZoneName { name: s.to_owned() });
    }
    let Some((label, parent)) = s.split_once('.') else {
        return Err(Refusal::NotInZone { name: s.to_owned() });
    };
    let zone = Zone::lookup(parent).ok_or_else(|| Refusal::NotInZone { name: s.to_owned() })?;
    if zone.kind == ZoneKind::External {
        return Err(Refusal::ExternalZone { zone: zone.ace });
    }
    let unicode_label = check_label(s, label)?;
    Ok((zone, unicode_label))
}

/// Which of a holder's names count towards a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaScope {
    /// Names directly under `.no`.
    DirectlyUnderNo,
    /// A person's names under `priv.no` and geographic domains, counted together.
    PrivateAndGeographic,
}

impl QuotaScope {
    /// Whether a stored name can count in this scope, judged by its labels alone: names
    /// directly under `.no` have two labels, names under `priv.no` and geographic domains
    /// three or more. A necessary condition only ([`HolderCounts::tally`] still parses the
    /// name); it lets a store read fewer of a holder's names, and the SQL stores ask the
    /// same of the database as a `LIKE` on the dots.
    pub fn might_count(self, name: &DomainName) -> bool {
        let dots = name.as_str().bytes().filter(|b| *b == b'.').count();
        match self {
            QuotaScope::DirectlyUnderNo => dots == 1,
            QuotaScope::PrivateAndGeographic => dots >= 2,
        }
    }
}

impl fmt::Display for QuotaScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuotaScope::DirectlyUnderNo => "directly under .no",
            QuotaScope::PrivateAndGeographic => "under priv.no and geographic domains",
        })
    }
}

/// How many names a holder has now (from the store), not counting the one asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HolderCounts {
    /// Names directly under `.no`.
    pub directly_under_no: u32,
    /// Names under `priv.no` plus names under geographic domains.
    pub private_and_geographic: u32,
}

impl HolderCounts {
    /// Counts stored names by quota scope. A name that no longer parses (a zone withdrawn
    /// since it was registered) counts nowhere.
    pub fn tally<'a>(names: impl IntoIterator<Item = &'a DomainName>) -> Self {
        let mut counts = HolderCounts::default();
        for name in names {
            match check_domain_name(name).map(|z| z.kind()) {
                Ok(ZoneKind::TopLevel) => counts.directly_under_no += 1,
                Ok(ZoneKind::Private | ZoneKind::Geographic) => {
                    counts.private_and_geographic += 1;
                }
                _ => {}
            }
        }
        counts
    }
}

/// Which of a holder's names [`check_holder_quota`] counts when the holder takes one more
/// name in `zone`, or `None` where its answer does not depend on the counts at all: an
/// organization under a category or geographic domain has no limit, and a role contact, a
/// person under a category domain, an organization under `priv.no` and a zone managed by
/// another party are refused whatever the counts. The registry logic and the stores read
/// a holder's names only when this is `Some`.
pub fn quota_scope(kind: ContactKind, zone: Zone) -> Option<QuotaScope> {
    match (kind, zone.kind) {
        (ContactKind::Role, _) | (_, ZoneKind::External) => None,
        (ContactKind::Organization | ContactKind::Person, ZoneKind::TopLevel) => {
            Some(QuotaScope::DirectlyUnderNo)
        }
        (ContactKind::Person, ZoneKind::Private | ZoneKind::Geographic) => {
            Some(QuotaScope::PrivateAndGeographic)
        }
        (ContactKind::Organization, _) | (ContactKind::Person, ZoneKind::Category) => None,
    }
}

/// Decides whether a holder may take one more name in `zone` (on create, and for the new
/// holder on a registrant change), from its type and its current counts.
///
/// * Organizations: up to [`ORGANIZATION_QUOTA`] directly under `.no`; category and
///   geographic domains without limit; not under `priv.no`.
/// * Persons: up to [`PERSON_QUOTA`] directly under `.no`, and up to
///   [`PERSON_PRIVATE_QUOTA`] under `priv.no` and geographic domains together; not under
///   category domains.
///
/// Whether an organization is entitled to a particular category domain (a school under
/// `vgs.no`, a museum under `museum.no`) is not decided here.
///
/// # Errors
///
/// [`Refusal::QuotaExceeded`] (2308), [`Refusal::ZoneNotForHolder`] (2306),
/// [`Refusal::RegistrantKind`] for a role contact, [`Refusal::ExternalZone`] for a zone
/// managed by another party.
pub fn check_holder_quota(
    holder: &ContactId,
    kind: ContactKind,
    zone: Zone,
    counts: HolderCounts,
) -> Result<(), Refusal> {
    let over = |scope, count, max| {
        (count >= max).then(|| Refusal::QuotaExceeded {
            holder: holder.to_string(),
            kind,
            scope,
            count,
            max,
        })
    };
    let not_for = || Refusal::ZoneNotForHolder {
        holder: kind,
        zone: zone.ace,
    };
    let refusal = match (kind, zone.kind) {
        (ContactKind::Role, _) => Some(Refusal::RegistrantKind {
            contact: holder.to_string(),
        }),
        (_, ZoneKind::External) => Some(Refusal::ExternalZone { zone: zone.ace }),
        (ContactKind::Organization, ZoneKind::TopLevel) => over(
            QuotaScope::DirectlyUnderNo,
            counts.directly_under_no,
            ORGANIZATION_QUOTA,
        ),
        (ContactKind::Organization, ZoneKind::Private) => Some(not_for()),
        (ContactKind::Organization, ZoneKind::Category | ZoneKind::Geographic) => None,
        (ContactKind::Person, ZoneKind::TopLevel) => over(
            QuotaScope::DirectlyUnderNo,
            counts.directly_under_no,
            PERSON_QUOTA,
        ),
        (ContactKind::Person, ZoneKind::Private | ZoneKind::Geographic) => over(
            QuotaScope::PrivateAndGeographic,
            counts.private_and_geographic,
            PERSON_PRIVATE_QUOTA,
        ),
        (ContactKind::Person, ZoneKind::Category) => Some(not_for()),
    };
    refusal.map_or(Ok(()), Err)
}

/// Whether some Norid zone lies below this name (`telemark.no` above `bo.telemark.no`):
/// whether the name is a proper suffix, at a label boundary, of some zone. Every name a
/// policy check parses asks this, so the suffixes are a set built once (a scan of the
/// zone list was 5 % of the server's CPU in a check storm, docs/BENCHMARKS.md).
fn is_above_a_zone(name: &str) -> bool {
    static ABOVE: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| {
            ZONES
                .iter()
                .flat_map(|(zone, _, _)| {
                    zone.char_indices()
                        .filter(|(_, c)| *c == '.')
                        .map(|(i, _)| &zone[i + 1..])
                })
                .collect()
        });
    ABOVE.contains(name)
}

/// Checks the registered label; returns its Unicode form.
fn check_label<'l>(name: &str, label: &'l str) -> Result<Cow<'l, str>, Refusal> {
    let unicode = if label.starts_with("xn--") {
        Cow::Owned(decode_ace_label(label).ok_or_else(|| Refusal::InvalidAce {
            name: name.to_owned(),
            label: label.to_owned(),
        })?)
    } else {
        Cow::Borrowed(label)
    };
    let allowed = |c: char| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || NORWEGIAN_LETTERS.contains(&c)
    };
    if let Some(ch) = unicode.chars().find(|&c| !allowed(c)) {
        return Err(Refusal::InvalidCharacter {
            name: name.to_owned(),
            label: unicode.into_owned(),
            ch,
        });
    }
    let len = unicode.chars().count();
    if !(2..=63).contains(&len) {
        return Err(Refusal::LabelLength {
            name: name.to_owned(),
            label: unicode.into_owned(),
            len,
        });
    }
    // A U-label of at most 63 characters can still need more than 63 octets in ACE form,
    // which DNS does not allow.
    if label.len() > 63 {
        return Err(Refusal::LabelLength {
            name: name.to_owned(),
            label: label.to_owned(),
            len: label.len(),
        });
    }
    if unicode.starts_with('-') || unicode.ends_with('-') {
        return Err(Refusal::HyphenAtEdge {
            name: name.to_owned(),
            label: unicode.into_owned(),
        });
    }
    // Positions 3 and 4 count characters of the U-label (RFC 5891 §4.2.3.1), not bytes.
    let mut chars = unicode.chars().skip(2);
    if chars.next() == Some('-') && chars.next() == Some('-') {
        return Err(Refusal::HyphensAt3And4 {
            name: name.to_owned(),
            label: unicode.into_owned(),
        });
    }
    Ok(unicode)
}

/// Decodes an `xn--` label and checks that encoding it again gives the same label.
fn decode_ace_label(label: &str) -> Option<String> {
    let uts46 = Uts46::new();
    let (unicode, result) = uts46.to_unicode(label.as_bytes(), AsciiDenyList::STD3, Hyphens::Allow);
    result.ok()?;
    let again = uts46
        .to_ascii(
            unicode.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::Allow,
            DnsLength::Ignore,
        )
        .ok()?;
    (again == label && !unicode.is_ascii()).then(|| unicode.into_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn dn(s: &str) -> DomainName {
        DomainName::new(s).unwrap()
    }

    fn refuse(s: &str) -> Refusal {
        parse_domain_name(&dn(s)).unwrap_err()
    }

    #[test]
    fn plain_names_under_no() {
        let n = parse_domain_name(&dn("2017-09-09-dom-test-ny-renew.no")).unwrap();
        assert_eq!(n.zone(), Zone::NO);
        assert_eq!(n.label(), "2017-09-09-dom-test-ny-renew");
        assert_eq!(n.unicode(), "2017-09-09-dom-test-ny-renew.no");
        let n = parse_domain_name(&dn("Example.NO")).unwrap();
        assert_eq!(n.ace().as_str(), "example.no");
        for ok in [
            "ab.no",
            "a1.no",
            "12.no",
            &format!("{}.no", "a".repeat(63)),
            "a-b.no",
            "a--b.no",
        ] {
            assert!(parse_domain_name(&dn(ok)).is_ok(), "{ok}");
        }
    }

    #[test]
    fn idn_names_in_ace_form() {
        let n = parse_domain_name(&dn("xn--blbr-roah.no")).unwrap();
        assert_eq!(n.unicode(), "blåbær.no");
        let n = parse_domain_name(&dn("xn--ws-kka.xn--b-5ga.telemark.no")).unwrap();
        assert_eq!(n.unicode(), "øws.bø.telemark.no");
        assert_eq!(n.zone().kind(), ZoneKind::Geographic);
        assert_eq!(n.zone().unicode(), "bø.telemark.no");
        // All 23 letters together in one label.
        let all: String = NORWEGIAN_LETTERS.iter().collect();
        let ace = idna::domain_to_ascii_strict(&format!("{all}.no")).unwrap();
        let n = parse_domain_name(&dn(&ace)).unwrap();
        assert_eq!(n.unicode(), format!("{all}.no"));
    }

    #[test]
    fn u_labels_are_refused_with_the_ace_form() {
        let e = refuse("blåbær.no");
        assert_eq!(
            e.reason(),
            "Domain name [blåbær.no] contains non-ASCII characters; send IDNs in ACE form, e.g. \
             [xn--blbr-roah.no]."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002901", 2005));
        let e = refuse("a\u{200d}b.no");
        assert!(matches!(e, Refusal::AceRequired { ace: None, .. }), "{e:?}");
    }

    #[test]
    fn label_syntax_refusals() {
        let e = refuse("a.no");
        assert_eq!(
            e.reason(),
            "Label [a] of domain name [a.no] has 1 characters; .no labels have 2-63."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002903", 2004));
        // 50 letters, but 64 octets in ACE form: too long for DNS.
        let ace = "xn--0caaaaaabbbbbb4accccdddddddeeeeejffff08cgagggg44fhahhh7miiii";
        let e = refuse(&format!("{ace}.no"));
        assert_eq!(
            e,
            Refusal::LabelLength {
                name: format!("{ace}.no"),
                label: ace.into(),
                len: 64
            }
        );
        let long = format!("{}.no", "a".repeat(64));
        assert!(matches!(
            refuse(&long),
            Refusal::LabelLength { len: 64, .. }
        ));
        let e = refuse("-ab.no");
        assert_eq!(
            e.reason(),
            "Label [-ab] of domain name [-ab.no] must begin and end with a letter or digit."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002904", 2005));
        assert_eq!(refuse("ab-.no").code(), "EC002904");
        let e = refuse("ab--cd.no");
        assert_eq!(
            e.reason(),
            "Label [ab--cd] of domain name [ab--cd.no] has hyphens in positions 3 and 4 but is \
             not a valid IDN (xn--) label."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002905", 2005));
        // In IDN labels the positions count characters of the U-label.
        for (ace, unicode) in [("xn----x-znaa", "øø--x"), ("xn--ab---jra", "ab--ø")] {
            let e = refuse(&format!("{ace}.no"));
            assert_eq!(
                e,
                Refusal::HyphensAt3And4 {
                    name: format!("{ace}.no"),
                    label: unicode.into()
                }
            );
        }
        let e = refuse("xn---x-lka.no");
        assert_eq!(
            e,
            Refusal::HyphenAtEdge {
                name: "xn---x-lka.no".into(),
                label: "-øx".into()
            }
        );
        let e = refuse("a_b.no");
        assert_eq!(
            e.reason(),
            "Label [a_b] of domain name [a_b.no] contains [_], which .no does not allow."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002902", 2005));
        // ß is a letter, but not one of the 23.
        let ace = idna::domain_to_ascii_strict("straße.no").unwrap();
        let e = refuse(&ace);
        assert!(
            matches!(e, Refusal::InvalidCharacter { ch: 'ß', .. }),
            "{e:?}"
        );
        assert_eq!(
            e.reason(),
            format!(
                "Label [straße] of domain name [{ace}] contains [ß], which .no does not allow."
            )
        );
    }

    #[test]
    fn broken_ace_labels_are_refused() {
        for bad in [
            "xn--.no",
            "xn--zz.no",
            "xn--abc-.no",
            "xn--a.no",
            "xn--ab-.no",
            "xn--xn-.no",
        ] {
            let e = refuse(bad);
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC002906", 2005),
                "{bad}: {e:?}"
            );
        }
        // DomainName lower-cases ASCII, so an upper-case ACE label is the same label.
        assert!(parse_domain_name(&dn("XN--BLBR-ROAH.NO")).is_ok());
        // Pure ASCII behind xn-- (encodes back without the prefix).
        let e = refuse("xn--ab-.no");
        assert_eq!(
            e.reason(),
            "Label [xn--ab-] of domain name [xn--ab-.no] is not a valid IDNA ACE label."
        );
    }

    #[test]
    fn malformed_names() {
        let e = refuse("a..no");
        assert_eq!(e.reason(), "Domain name [a..no] has an empty label.");
        assert_eq!((e.code(), e.result_code().code()), ("EC002907", 2005));
        assert_eq!(refuse("example.no.").code(), "EC002907");
        let long = format!("{}.no", ["abcdefghij"; 23].join("."));
        let e = refuse(&long);
        assert_eq!((e.code(), e.result_code().code()), ("EC002908", 2004));
    }

    #[test]
    fn zones() {
        for (name, zone, kind) in [
            ("ola.priv.no", "priv.no", ZoneKind::Private),
            ("se.vgs.no", "vgs.no", ZoneKind::Category),
            ("skole.gs.oslo.no", "gs.oslo.no", ZoneKind::Category),
            (
                "trondheim-kino.trondheim.no",
                "trondheim.no",
                ZoneKind::Geographic,
            ),
            ("xy.bo.telemark.no", "bo.telemark.no", ZoneKind::Geographic),
            ("xy.oslo.no", "oslo.no", ZoneKind::Geographic),
        ] {
            let n = parse_domain_name(&dn(name)).unwrap();
            assert_eq!((n.zone().ace(), n.zone().kind()), (zone, kind), "{name}");
        }
        let e = refuse("example.com");
        assert_eq!(
            e.reason(),
            "Domain name [example.com] is not directly under .no or under one of Norid's category \
             or geographic domains."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002909", 2306));
        assert_eq!(refuse("www.example.no").code(), "EC002909");
        assert_eq!(refuse("localhost").code(), "EC002909");
        for reserved in [
            "no",
            "priv.no",
            "oslo.no",
            "gs.oslo.no",
            "telemark.no",
            "xn--b-5ga.telemark.no",
            "kommune.no",
        ] {
            let e = refuse(reserved);
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC002910", 2306),
                "{reserved}"
            );
        }
        let e = refuse("oslo.kommune.no");
        assert_eq!(
            e.reason(),
            "Domain names under [kommune.no] are not registered through Norid."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002911", 2306));
    }

    #[test]
    fn above_a_zone_is_a_proper_label_suffix_of_a_zone() {
        // The set agrees with the definition, for every zone and every suffix of one.
        let slow = |name: &str| {
            ZONES.iter().any(|(zone, _, _)| {
                zone.len() > name.len()
                    && zone.ends_with(name)
                    && zone.as_bytes()[zone.len() - name.len() - 1] == b'.'
            })
        };
        for (zone, _, _) in ZONES {
            for i in 0..zone.len() {
                let name = &zone[i..];
                assert_eq!(is_above_a_zone(name), slow(name), "{name}");
            }
        }
        for name in [
            "no",
            "telemark.no",
            "elemark.no",
            "example.no",
            "bo.telemark.no",
            "",
        ] {
            assert_eq!(is_above_a_zone(name), slow(name), "{name}");
        }
        assert!(is_above_a_zone("telemark.no"));
        assert!(!is_above_a_zone("elemark.no"));
    }

    #[test]
    fn zones_are_sorted_unique_and_ace_round_trips() {
        let mut count = 0;
        for w in ZONES.windows(2) {
            assert!(w[0].0 < w[1].0, "{} !< {}", w[0].0, w[1].0);
        }
        for (ace, unicode, _) in ZONES {
            assert_eq!(idna::domain_to_ascii_strict(unicode).unwrap(), *ace);
            let (u, r) = idna::domain_to_unicode(ace);
            r.unwrap();
            assert_eq!(u, *unicode);
            assert!(ace.ends_with(".no"));
            count += 1;
        }
        assert_eq!(count, 753);
        assert_eq!(Zone::all().count(), 754);
        assert_eq!(Zone::lookup("priv.no").unwrap().kind(), ZoneKind::Private);
        assert!(Zone::lookup("telemark.no").is_none());
    }

    #[test]
    fn holder_counts_tally_names_by_scope() {
        let names: Vec<DomainName> = [
            "acme.no",
            "beta.no",
            "ola.priv.no",
            "kari.oslo.no",
            "skole.vgs.no",
            // Not a registrable name (one-letter label): counted nowhere.
            "f.no",
        ]
        .iter()
        .map(|n| DomainName::new(*n).unwrap())
        .collect();
        let counts = HolderCounts::tally(&names);
        assert_eq!(
            counts,
            HolderCounts {
                directly_under_no: 2,
                private_and_geographic: 2,
            }
        );
        assert_eq!(HolderCounts::tally([]), HolderCounts::default());
    }

    #[test]
    fn quotas() {
        let h = ContactId::new("VV290P").unwrap();
        let z = |s| Zone::lookup(s).unwrap();
        let counts = |d, p| HolderCounts {
            directly_under_no: d,
            private_and_geographic: p,
        };
        use ContactKind::*;
        assert!(check_holder_quota(&h, Person, Zone::NO, counts(4, 5)).is_ok());
        let e = check_holder_quota(&h, Person, Zone::NO, counts(5, 0)).unwrap_err();
        assert_eq!(
            e.reason(),
            "Holder [VV290P] already has 5 domain names directly under .no; the limit for persons is 5."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002913", 2308));
        assert!(check_holder_quota(&h, Person, z("priv.no"), counts(5, 4)).is_ok());
        assert!(check_holder_quota(&h, Person, z("oslo.no"), counts(5, 4)).is_ok());
        let e = check_holder_quota(&h, Person, z("oslo.no"), counts(0, 5)).unwrap_err();
        assert_eq!(
            e.reason(),
            "Holder [VV290P] already has 5 domain names under priv.no and geographic domains; the \
             limit for persons is 5."
        );
        let e = check_holder_quota(&h, Person, z("vgs.no"), counts(0, 0)).unwrap_err();
        assert_eq!(
            e.reason(),
            "A person cannot hold domain names under [vgs.no]."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002912", 2306));
        let o = ContactId::new("TH1251O").unwrap();
        assert!(check_holder_quota(&o, Organization, Zone::NO, counts(99, 0)).is_ok());
        let e = check_holder_quota(&o, Organization, Zone::NO, counts(100, 0)).unwrap_err();
        assert!(e.reason().ends_with("the limit for organizations is 100."));
        assert!(check_holder_quota(&o, Organization, z("vgs.no"), counts(100, 100)).is_ok());
        assert!(check_holder_quota(&o, Organization, z("oslo.no"), counts(100, 100)).is_ok());
        let e = check_holder_quota(&o, Organization, z("priv.no"), counts(0, 0)).unwrap_err();
        assert_eq!(
            e.reason(),
            "An organization cannot hold domain names under [priv.no]."
        );
        let r = ContactId::new("TR85R").unwrap();
        assert_eq!(
            check_holder_quota(&r, Role, Zone::NO, counts(0, 0))
                .unwrap_err()
                .code(),
            "EC002928"
        );
        assert_eq!(
            check_holder_quota(&o, Organization, z("mil.no"), counts(0, 0))
                .unwrap_err()
                .code(),
            "EC002911"
        );
    }

    #[test]
    fn quota_scope_says_when_the_counts_decide() {
        use ContactKind::*;
        let h = ContactId::new("VV290P").unwrap();
        let counts = |d, p| HolderCounts {
            directly_under_no: d,
            private_and_geographic: p,
        };
        let mut kinds_seen = std::collections::HashSet::new();
        for zone in Zone::all() {
            kinds_seen.insert(zone.kind());
            for kind in [Organization, Person, Role] {
                let at = |d, p| check_holder_quota(&h, kind, zone, counts(d, p));
                let what = format!("{kind:?} under {}", zone.ace());
                match quota_scope(kind, zone) {
                    // Whatever the holder has, the same answer: nothing to count.
                    None => {
                        for (d, p) in [(1, 0), (0, 1), (5, 5), (100, 100), (u32::MAX, u32::MAX)] {
                            assert_eq!(at(d, p), at(0, 0), "{what} with {d}/{p}");
                        }
                    }
                    // Free with nothing held, refused in that scope when full, and the
                    // other scope's names do not matter.
                    Some(scope) => {
                        assert_eq!(at(0, 0), Ok(()), "{what}");
                        let (full, other) = match scope {
                            QuotaScope::DirectlyUnderNo => (at(u32::MAX, 0), at(0, u32::MAX)),
                            QuotaScope::PrivateAndGeographic => (at(0, u32::MAX), at(u32::MAX, 0)),
                        };
                        assert!(
                            matches!(full, Err(Refusal::QuotaExceeded { scope: s, .. }) if s == scope),
                            "{what}: {full:?}"
                        );
                        assert_eq!(other, Ok(()), "{what}");
                    }
                }
            }
        }
        assert_eq!(kinds_seen.len(), 5, "every zone kind was tried");
        let z = |s| Zone::lookup(s).unwrap();
        assert_eq!(quota_scope(Organization, z("oslo.no")), None);
        assert_eq!(quota_scope(Organization, z("vgs.no")), None);
        assert_eq!(
            quota_scope(Organization, Zone::NO),
            Some(QuotaScope::DirectlyUnderNo)
        );
        assert_eq!(
            quota_scope(Person, z("priv.no")),
            Some(QuotaScope::PrivateAndGeographic)
        );
    }

    #[test]
    fn only_names_that_might_count_are_counted() {
        let names: Vec<DomainName> = [
            "acme.no",
            "ola.priv.no",
            "kari.oslo.no",
            "ola.xn--b-5ga.nordland.no",
            "kari.xn--b-5ga.telemark.no",
            "skole.vgs.no",
            "skole.gs.oslo.no",
            "f.no",
            "acme.example.com",
        ]
        .iter()
        .map(|n| DomainName::new(*n).unwrap())
        .collect();
        let all = HolderCounts::tally(&names);
        let direct = HolderCounts::tally(
            names
                .iter()
                .filter(|n| QuotaScope::DirectlyUnderNo.might_count(n)),
        );
        let private = HolderCounts::tally(
            names
                .iter()
                .filter(|n| QuotaScope::PrivateAndGeographic.might_count(n)),
        );
        assert_eq!(direct.directly_under_no, all.directly_under_no);
        assert_eq!(private.private_and_geographic, all.private_and_geographic);
        assert_eq!(all.private_and_geographic, 4);
        assert_eq!(direct.private_and_geographic, 0);
        assert_eq!(private.directly_under_no, 0);
    }

    proptest! {
        #[test]
        fn allowed_labels_pass_in_ace_form(label in "[a-z0-9áàäčçđéèêŋńñóòôöšŧüžæøå-]{2,24}") {
            prop_assume!(!label.starts_with('-') && !label.ends_with('-'));
            let mut from_third = label.chars().skip(2);
            prop_assume!(!(from_third.next() == Some('-') && from_third.next() == Some('-')));
            let full = format!("{label}.no");
            let ace = idna::domain_to_ascii_strict(&full).unwrap();
            prop_assume!(ace.len() <= 66);
            // Zone names such as aa.no (a county) and those above zones are reserved.
            prop_assume!(Zone::lookup(&ace).is_none() && !is_above_a_zone(&ace));
            let n = parse_domain_name(&dn(&ace)).unwrap();
            prop_assert_eq!(n.unicode(), full.as_str());
            prop_assert_eq!(n.zone(), Zone::NO);
            prop_assert_eq!(n.ace().as_str(), ace.as_str());
        }

        #[test]
        fn other_characters_are_refused(
            head in "[a-z]{1,5}",
            bad in any::<char>(),
            tail in "[a-z]{1,5}",
        ) {
            let allowed = bad.is_ascii_lowercase()
                || bad.is_ascii_digit()
                || bad == '-'
                || NORWEGIAN_LETTERS.contains(&bad);
            prop_assume!(!allowed && bad != '.' && !bad.is_ascii_uppercase());
            if let Ok(name) = DomainName::new(format!("{head}{bad}{tail}.no")) {
                prop_assert!(parse_domain_name(&name).is_err());
            }
        }

        #[test]
        fn check_domain_name_decides_as_parse_domain_name(
            name in "(xn--)?[a-z0-9æøå-]{0,8}(\\.[a-z0-9-]{0,10}){0,3}\\.(no|oslo\\.no|priv\\.no|com)",
        ) {
            let ace = idna::domain_to_ascii_strict(&name).unwrap_or(name);
            if let Ok(name) = DomainName::new(ace) {
                prop_assert_eq!(
                    check_domain_name(&name),
                    parse_domain_name(&name).map(|n| n.zone())
                );
            }
        }
    }
}
