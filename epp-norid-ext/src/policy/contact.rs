//! Contact rules: server-assigned ids, contact types, identities, organization memberships,
//! phone numbers, postcodes, country codes and e-mail addresses (digest §5).

use std::fmt;
use std::str::FromStr;

use epp_xml::ContactId;

use super::Refusal;

/// A person or role may belong to at most this many organizations (digest §5.4).
pub const MAX_ORGANIZATIONS: usize = 20;

/// The three Norid contact types (`no-ext-contact:type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactKind {
    /// `organization`: a company or body registered in Enhetsregisteret; may hold domains.
    Organization,
    /// `person`: a private person; may hold domains.
    Person,
    /// `role`: a function such as "Hostmaster"; tech contact of domains and hosts.
    Role,
}

impl ContactKind {
    /// The value of `no-ext-contact:type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContactKind::Organization => "organization",
            ContactKind::Person => "person",
            ContactKind::Role => "role",
        }
    }

    /// The one-letter suffix of server-assigned ids: `O`, `P` or `R` (digest §5.2).
    pub const fn id_suffix(self) -> char {
        match self {
            ContactKind::Organization => 'O',
            ContactKind::Person => 'P',
            ContactKind::Role => 'R',
        }
    }

    /// The identity type a contact of this type carries, if any.
    pub const fn identity_kind(self) -> Option<IdentityKind> {
        match self {
            ContactKind::Organization => Some(IdentityKind::OrganizationNumber),
            ContactKind::Person => Some(IdentityKind::AnonymousPersonIdentifier),
            ContactKind::Role => None,
        }
    }

    pub(super) const fn plural(self) -> &'static str {
        match self {
            ContactKind::Organization => "organizations",
            ContactKind::Person => "persons",
            ContactKind::Role => "role contacts",
        }
    }

    pub(super) const fn required_identity_name(self) -> &'static str {
        match self.identity_kind() {
            Some(kind) => kind.as_str(),
            None => "identity",
        }
    }
}

impl fmt::Display for ContactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContactKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "organization" => Ok(ContactKind::Organization),
            "person" => Ok(ContactKind::Person),
            "role" => Ok(ContactKind::Role),
            _ => Err(()),
        }
    }
}

/// The identity types of `no-ext-contact:identity/@type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityKind {
    /// `organizationNumber`: 9 digits from Enhetsregisteret, mod-11 check digit.
    OrganizationNumber,
    /// `anonymousPersonIdentifier`: Norid's PID, `N.PRI.` and 8 digits.
    AnonymousPersonIdentifier,
    /// `localIdentity`: in the schema; refused by this server (see docs/norid-behaviour.md).
    LocalIdentity,
    /// `nationalIdentityNumber`: in the schema; refused by this server.
    NationalIdentityNumber,
}

impl IdentityKind {
    /// The attribute value.
    pub const fn as_str(self) -> &'static str {
        match self {
            IdentityKind::OrganizationNumber => "organizationNumber",
            IdentityKind::AnonymousPersonIdentifier => "anonymousPersonIdentifier",
            IdentityKind::LocalIdentity => "localIdentity",
            IdentityKind::NationalIdentityNumber => "nationalIdentityNumber",
        }
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentityKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "organizationNumber" => Ok(IdentityKind::OrganizationNumber),
            "anonymousPersonIdentifier" => Ok(IdentityKind::AnonymousPersonIdentifier),
            "localIdentity" => Ok(IdentityKind::LocalIdentity),
            "nationalIdentityNumber" => Ok(IdentityKind::NationalIdentityNumber),
            _ => Err(()),
        }
    }
}

/// Builds the server-assigned id of a new contact (the client sends `auto`, digest §5.2).
///
/// The id is up to three initials of `name` (upper case; Norwegian and Sami letters folded to
/// their base letter, `Ø` to `O`; a one-word name gives its first two letters; `X` when the
/// name has no usable letter), the decimal `sequence` number, and the type suffix `O`, `P` or
/// `R`: "Thomas Olsen Holm", 169, organization gives `TOH169O`; "Hostmaster", 85, role gives
/// `HO85R`. Ids are unique when sequence numbers are: the letters, digits and suffix parse
/// back unambiguously. Initials are dropped from the right when a long sequence number would
/// exceed the 16 characters of `eppcom:clIDType`.
///
/// Returns `None` only for `sequence` of 10^15 or more, which leaves no room in 16 characters.
pub fn generate_contact_id(name: &str, kind: ContactKind, sequence: u64) -> Option<ContactId> {
    let digits = sequence.to_string();
    if digits.len() > 15 {
        return None;
    }
    let room = 15 - digits.len();
    let mut prefix = initials(name);
    prefix.truncate(room);
    let id = format!("{prefix}{digits}{}", kind.id_suffix());
    // At least one digit and the suffix, at most 16 characters, ASCII alphanumerics only: a
    // valid clIDType token.
    ContactId::new(id).ok()
}

/// Checks a contact's identity against its type (digest §5.4).
///
/// `identity` is the `no-ext-contact:identity` of a create, or of an update's `chg` (call only
/// when the update sends one; an update without identity keeps the stored one).
///
/// * organization: `organizationNumber` is required ([`Refusal::IdentityRequired`], 2003)
///   and must pass [`check_organization_number`];
/// * person: optional; when present, `anonymousPersonIdentifier` passing
///   [`check_person_identifier`] (a person needs it only to hold domains,
///   [`check_registrant`]);
/// * role: none.
///
/// `localIdentity` and `nationalIdentityNumber` are refused for every type
/// ([`Refusal::IdentityNotAllowed`], 2306).
///
/// # Errors
///
/// The [`Refusal`] naming the broken rule.
pub fn check_identity(
    kind: ContactKind,
    identity: Option<(IdentityKind, &str)>,
) -> Result<(), Refusal> {
    match (kind, identity) {
        (ContactKind::Organization, None) => Err(Refusal::IdentityRequired),
        (_, None) => Ok(()),
        (ContactKind::Organization, Some((IdentityKind::OrganizationNumber, v))) => {
            check_organization_number(v)
        }
        (ContactKind::Person, Some((IdentityKind::AnonymousPersonIdentifier, v))) => {
            check_person_identifier(v)
        }
        (kind, Some((identity, _))) => Err(Refusal::IdentityNotAllowed { kind, identity }),
    }
}

/// Checks a Norwegian organization number: 9 digits whose last is the modulus-11 check digit
/// of the first 8 with weights 3, 2, 7, 6, 5, 4, 3, 2 (Brønnøysundregistrene).
///
/// # Errors
///
/// [`Refusal::OrgNumberSyntax`] unless exactly 9 ASCII digits; [`Refusal::OrgNumberCheck`]
/// for a wrong check digit, including numbers whose remainder makes the check digit 10.
pub fn check_organization_number(value: &str) -> Result<(), Refusal> {
    let b = value.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return Err(Refusal::OrgNumberSyntax {
            value: value.to_owned(),
        });
    }
    let mut first = [0u8; 8];
    for (d, c) in first.iter_mut().zip(b) {
        *d = c - b'0';
    }
    match organization_number_check_digit(first) {
        Some(check) if check == b[8] - b'0' => Ok(()),
        _ => Err(Refusal::OrgNumberCheck {
            value: value.to_owned(),
        }),
    }
}

/// The modulus-11 check digit for the first 8 digits of an organization number, or `None`
/// when the remainder is 1 (no valid number starts with these digits).
pub fn organization_number_check_digit(first: [u8; 8]) -> Option<u8> {
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    let sum: u32 = first
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    match sum % 11 {
        0 => Some(0),
        1 => None,
        r => Some((11 - r) as u8),
    }
}

/// Checks an anonymous person identifier (PID): `N.PRI.` followed by exactly 8 digits, e.g.
/// `N.PRI.61879025`.
///
/// # Errors
///
/// [`Refusal::PidSyntax`].
pub fn check_person_identifier(value: &str) -> Result<(), Refusal> {
    match value.strip_prefix("N.PRI.") {
        Some(d) if d.len() == 8 && d.bytes().all(|c| c.is_ascii_digit()) => Ok(()),
        _ => Err(Refusal::PidSyntax {
            value: value.to_owned(),
        }),
    }
}

/// Checks the number of organization and role-contact links a contact ends up with (after
/// an update's add and rem): organizations only on persons and roles, at most
/// [`MAX_ORGANIZATIONS`]; role contacts only on roles.
///
/// # Errors
///
/// [`Refusal::MembershipNotAllowed`], [`Refusal::TooManyMemberships`],
/// [`Refusal::RoleContactNotAllowed`].
pub fn check_memberships(
    kind: ContactKind,
    organizations: usize,
    role_contacts: usize,
) -> Result<(), Refusal> {
    if organizations > 0 && kind == ContactKind::Organization {
        return Err(Refusal::MembershipNotAllowed);
    }
    if organizations > MAX_ORGANIZATIONS {
        return Err(Refusal::TooManyMemberships {
            count: organizations,
        });
    }
    if role_contacts > 0 && kind != ContactKind::Role {
        return Err(Refusal::RoleContactNotAllowed { kind });
    }
    Ok(())
}

/// Checks that a contact listed under `no-ext-contact:organization` is an organization.
///
/// # Errors
///
/// [`Refusal::MembershipTarget`].
pub fn check_organization_link(id: &ContactId, kind: ContactKind) -> Result<(), Refusal> {
    match kind {
        ContactKind::Organization => Ok(()),
        kind => Err(Refusal::MembershipTarget {
            contact: id.to_string(),
            kind,
        }),
    }
}

/// Checks that a contact listed under `no-ext-contact:roleContact` is a person.
///
/// # Errors
///
/// [`Refusal::RoleContactTarget`].
pub fn check_role_contact_link(id: &ContactId, kind: ContactKind) -> Result<(), Refusal> {
    match kind {
        ContactKind::Person => Ok(()),
        kind => Err(Refusal::RoleContactTarget {
            contact: id.to_string(),
            kind,
        }),
    }
}

/// What the registry logic knows about a contact it is about to make a domain's registrant.
#[derive(Debug, Clone, Copy)]
pub struct RegistrantFacts<'a> {
    /// The contact id.
    pub id: &'a ContactId,
    /// Its type.
    pub kind: ContactKind,
    /// The type of its stored identity, if it has one.
    pub identity: Option<IdentityKind>,
    /// Its country code (`contact:cc`).
    pub country_code: &'a str,
    /// Its postcode (`contact:pc`), as stored.
    pub postcode: Option<&'a str>,
}

/// Checks that a contact may be a domain's registrant (holder): an organization with its
/// organization number, or a person with a PID, with a Norwegian postal address (digest §5.1,
/// §5.3, §6.2).
///
/// # Errors
///
/// [`Refusal::RegistrantKind`], [`Refusal::RegistrantIdentity`],
/// [`Refusal::RegistrantAddress`] (all 2306).
pub fn check_registrant(r: &RegistrantFacts<'_>) -> Result<(), Refusal> {
    let contact = || r.id.to_string();
    let Some(needed) = r.kind.identity_kind() else {
        return Err(Refusal::RegistrantKind { contact: contact() });
    };
    if r.identity != Some(needed) {
        return Err(Refusal::RegistrantIdentity {
            contact: contact(),
            kind: r.kind,
        });
    }
    let norwegian = r.country_code.eq_ignore_ascii_case("NO")
        && r.postcode
            .is_some_and(|pc| norwegian_postcode(pc).is_some());
    if !norwegian {
        return Err(Refusal::RegistrantAddress { contact: contact() });
    }
    Ok(())
}

/// Checks a phone number in RFC 5733 `e164Type` form, `+CC.NUMBER` (1-3 digit country code,
/// 1-14 digits, at most 17 characters), and its optional `x` extension attribute (1-10
/// digits). Used for `voice`, `fax` and `no-ext-contact:mobilePhone`; an empty element (which
/// removes a mobile number in an update, seed 004) is the caller's case and is not passed here.
///
/// # Errors
///
/// [`Refusal::PhoneSyntax`], [`Refusal::PhoneExtension`].
pub fn check_phone(number: &str, extension: Option<&str>) -> Result<(), Refusal> {
    let ok = number.len() <= 17
        && number
            .strip_prefix('+')
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(cc, n)| {
                (1..=3).contains(&cc.len())
                    && (1..=14).contains(&n.len())
                    && cc.bytes().chain(n.bytes()).all(|c| c.is_ascii_digit())
            });
    if !ok {
        return Err(Refusal::PhoneSyntax {
            value: number.to_owned(),
        });
    }
    if let Some(x) = extension
        && !((1..=10).contains(&x.len()) && x.bytes().all(|c| c.is_ascii_digit()))
    {
        return Err(Refusal::PhoneExtension {
            value: x.to_owned(),
        });
    }
    Ok(())
}

/// Normalises a country code to upper case and checks it is two ASCII letters.
///
/// Whether the code is assigned in ISO 3166-1 is not checked.
///
/// # Errors
///
/// [`Refusal::CountryCode`].
pub fn normalize_country_code(cc: &str) -> Result<String, Refusal> {
    if cc.len() == 2 && cc.bytes().all(|c| c.is_ascii_alphabetic()) {
        Ok(cc.to_ascii_uppercase())
    } else {
        Err(Refusal::CountryCode {
            value: cc.to_owned(),
        })
    }
}

/// Normalises a postcode for the address's country: for `NO`, `NO-nnnn` and `nnnn` are both
/// accepted and stored as `NO-nnnn` (Norid's written form, digest §5.3); other countries'
/// postcodes are kept as sent. An absent postcode stays absent (only registrants need one,
/// [`check_registrant`]).
///
/// Whether a Norwegian postcode exists in Posten's register is not checked.
///
/// # Errors
///
/// [`Refusal::Postcode`] for a Norwegian postcode of another form.
pub fn normalize_postcode(
    country_code: &str,
    postcode: Option<&str>,
) -> Result<Option<String>, Refusal> {
    let Some(pc) = postcode else {
        return Ok(None);
    };
    if !country_code.eq_ignore_ascii_case("NO") {
        return Ok(Some(pc.to_owned()));
    }
    match norwegian_postcode(pc) {
        Some(digits) => Ok(Some(format!("NO-{digits}"))),
        None => Err(Refusal::Postcode {
            value: pc.to_owned(),
        }),
    }
}

/// Checks `postalInfo/@type`: Norid uses `loc` only (digest §5.3).
///
/// # Errors
///
/// [`Refusal::PostalInfoType`] for `int`.
pub fn check_postal_info_type(postal_type: &str) -> Result<(), Refusal> {
    if postal_type == "loc" {
        Ok(())
    } else {
        Err(Refusal::PostalInfoType)
    }
}

/// Sanity-checks an e-mail address (the `contact:email` and each extra
/// `no-ext-contact:email`): one `@`; a local part of 1-64 characters without spaces, control
/// characters or `"(),:;<>@[\]`, and without leading, trailing or doubled dots; a domain of
/// at least two labels that converts to ASCII (IDNA) with LDH labels of 1-63 characters and a
/// non-numeric top label; at most 254 characters in all. Quoted local parts and address
/// literals are refused. Deliverability is not checked.
///
/// # Errors
///
/// [`Refusal::Email`] with the reason.
pub fn check_email(address: &str) -> Result<(), Refusal> {
    let fail = |reason| {
        Err(Refusal::Email {
            value: address.to_owned(),
            reason,
        })
    };
    if address.chars().count() > 254 {
        return fail("it is longer than 254 characters");
    }
    let Some((local, domain)) = address.split_once('@') else {
        return fail("it has no @");
    };
    if domain.contains('@') {
        return fail("it has more than one @");
    }
    if local.is_empty() || local.chars().count() > 64 {
        return fail("the part before @ must have 1-64 characters");
    }
    if local
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || "\"(),:;<>[\\]".contains(c))
    {
        return fail("the part before @ has a space, control character or one of \"(),:;<>[\\]");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return fail("the part before @ has a leading, trailing or doubled dot");
    }
    let ascii = if domain.is_ascii() {
        std::borrow::Cow::Borrowed(domain)
    } else {
        match idna::domain_to_ascii_strict(domain) {
            Ok(a) => std::borrow::Cow::Owned(a),
            Err(_) => return fail("the part after @ is not a valid domain name"),
        }
    };
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return fail("the part after @ must have at least two labels");
    }
    let ldh = |l: &str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    };
    if !labels.iter().all(|l| ldh(l)) {
        return fail("the part after @ is not a valid domain name");
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|c| c.is_ascii_digit()))
    {
        return fail("the part after @ ends in a numeric label");
    }
    Ok(())
}

/// The four digits of a Norwegian postcode written `NO-nnnn` or `nnnn`.
fn norwegian_postcode(pc: &str) -> Option<&str> {
    let digits = pc.strip_prefix("NO-").unwrap_or(pc);
    (digits.len() == 4 && digits.bytes().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// Up to three upper-case ASCII initials of a name, for contact ids.
fn initials(name: &str) -> String {
    let words: Vec<Vec<char>> = name
        .split(|c: char| c.is_whitespace() || c == '-' || c == '.' || c == ',')
        .map(|w| w.chars().filter_map(fold_letter).collect::<Vec<char>>())
        .filter(|w| !w.is_empty())
        .collect();
    let out: String = match words.as_slice() {
        [] => "X".to_owned(),
        [one] => one.iter().take(2).collect(),
        many => many.iter().take(3).map(|w| w[0]).collect(),
    };
    out
}

/// An upper-case ASCII letter for a Latin letter, folding the Norwegian and Sami letters.
fn fold_letter(c: char) -> Option<char> {
    if c.is_ascii_alphabetic() {
        return Some(c.to_ascii_uppercase());
    }
    let base = match c.to_lowercase().next()? {
        'á' | 'à' | 'ä' | 'å' | 'æ' | 'â' | 'ã' => 'A',
        'č' | 'ç' => 'C',
        'đ' | 'ð' => 'D',
        'é' | 'è' | 'ê' | 'ë' => 'E',
        'í' | 'ì' | 'î' | 'ï' => 'I',
        'ŋ' | 'ń' | 'ñ' => 'N',
        'ó' | 'ò' | 'ô' | 'ö' | 'ø' | 'õ' => 'O',
        'š' => 'S',
        'ŧ' | 'þ' => 'T',
        'ú' | 'ù' | 'û' | 'ü' => 'U',
        'ý' | 'ÿ' => 'Y',
        'ž' => 'Z',
        _ => return None,
    };
    Some(base)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id(s: &str) -> ContactId {
        ContactId::new(s).unwrap()
    }

    #[test]
    fn contact_ids_follow_norids_pattern() {
        let g = |n, k, s| generate_contact_id(n, k, s).unwrap().into_string();
        assert_eq!(
            g("Thomas Olsen Holm", ContactKind::Organization, 169),
            "TOH169O"
        );
        assert_eq!(g("Tor Hansen", ContactKind::Organization, 1251), "TH1251O");
        assert_eq!(g("Hostmaster", ContactKind::Role, 85), "HO85R");
        assert_eq!(g("Vår Vaktmester", ContactKind::Person, 290), "VV290P");
        assert_eq!(g("Øystein Åsen-Ærø", ContactKind::Person, 7), "OAA7P");
        assert_eq!(g("  ", ContactKind::Role, 1), "X1R");
        assert_eq!(g("株式会社", ContactKind::Organization, 1), "X1O");
        assert_eq!(g("A B C D E", ContactKind::Person, 0), "ABC0P");
        // Long sequence numbers push initials out, never past 16 characters.
        assert_eq!(
            g("Ola Nordmann", ContactKind::Person, 123_456_789_012_345),
            "123456789012345P"
        );
        assert_eq!(
            g("Ola Nordmann", ContactKind::Person, 1_234_567_890_123),
            "ON1234567890123P"
        );
        assert_eq!(
            g("Ola Nordmann", ContactKind::Person, 12_345_678_901_234),
            "O12345678901234P"
        );
        assert!(generate_contact_id("Ola", ContactKind::Person, 1_000_000_000_000_000).is_none());
    }

    #[test]
    fn identity_rules_per_type() {
        use ContactKind::*;
        use IdentityKind::*;
        assert_eq!(
            check_identity(Organization, None),
            Err(Refusal::IdentityRequired)
        );
        assert_eq!(Refusal::IdentityRequired.result_code().code(), 2003);
        assert!(check_identity(Organization, Some((OrganizationNumber, "985821585"))).is_ok());
        assert!(check_identity(Person, None).is_ok());
        assert!(
            check_identity(Person, Some((AnonymousPersonIdentifier, "N.PRI.61879025"))).is_ok()
        );
        assert!(check_identity(Role, None).is_ok());
        let e = check_identity(Role, Some((OrganizationNumber, "985821585"))).unwrap_err();
        assert_eq!(
            e.reason(),
            "A role contact cannot have an identity of type [organizationNumber]; role contacts \
             have no identity."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC003902", 2306));
        let e = check_identity(Person, Some((NationalIdentityNumber, "01010112345"))).unwrap_err();
        assert_eq!(
            e.reason(),
            "A person contact cannot have an identity of type [nationalIdentityNumber]; persons \
             use anonymousPersonIdentifier (N.PRI.nnnnnnnn)."
        );
        let e = check_identity(Organization, Some((LocalIdentity, "x"))).unwrap_err();
        assert!(matches!(e, Refusal::IdentityNotAllowed { .. }));
        let e = check_identity(
            Organization,
            Some((AnonymousPersonIdentifier, "N.PRI.61879025")),
        );
        assert!(e.is_err());
        let e =
            check_identity(Person, Some((AnonymousPersonIdentifier, "N.PRI.6187902"))).unwrap_err();
        assert_eq!(
            e.reason(),
            "Person identifier [N.PRI.6187902] must be N.PRI. followed by 8 digits."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC003905", 2005));
    }

    #[test]
    fn organization_numbers() {
        for ok in ["985821585", "974760673", "923609016"] {
            assert_eq!(check_organization_number(ok), Ok(()), "{ok}");
        }
        // Net::DRI's test data: wrong check digits.
        for bad in ["932080506", "987654321"] {
            let e = check_organization_number(bad).unwrap_err();
            assert_eq!(
                e.reason(),
                format!("Organization number [{bad}] has a wrong check digit (modulus 11).")
            );
            assert_eq!((e.code(), e.result_code().code()), ("EC003904", 2005));
        }
        for bad in [
            "98582158",
            "9858215850",
            "985 821 585",
            "98582158x",
            "",
            "９85821585",
        ] {
            let e = check_organization_number(bad).unwrap_err();
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC003903", 2005),
                "{bad}"
            );
        }
        // Remainder 1: no check digit exists.
        assert_eq!(
            organization_number_check_digit([0, 0, 0, 0, 0, 0, 0, 6]),
            None
        );
        assert_eq!(
            organization_number_check_digit([0, 0, 0, 0, 0, 0, 0, 0]),
            Some(0)
        );
    }

    #[test]
    fn person_identifiers() {
        assert!(check_person_identifier("N.PRI.89235614").is_ok());
        for bad in [
            "n.pri.89235614",
            "N.PRI.8923561a",
            "N.PRI.892356140",
            "NPRI89235614",
            "",
        ] {
            assert!(check_person_identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memberships() {
        use ContactKind::*;
        assert!(check_memberships(Person, 20, 0).is_ok());
        assert!(check_memberships(Role, 20, 3).is_ok());
        assert!(check_memberships(Organization, 0, 0).is_ok());
        let e = check_memberships(Person, 21, 0).unwrap_err();
        assert_eq!(
            e.reason(),
            "A contact can belong to at most 20 organizations, not 21."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC003907", 2306));
        assert_eq!(
            check_memberships(Organization, 1, 0),
            Err(Refusal::MembershipNotAllowed)
        );
        let e = check_memberships(Person, 0, 1).unwrap_err();
        assert_eq!(
            e.reason(),
            "A person contact cannot list role contacts; only role contacts can."
        );
        assert!(check_organization_link(&id("TH1251O"), Organization).is_ok());
        let e = check_organization_link(&id("VV290P"), Person).unwrap_err();
        assert_eq!(
            e.reason(),
            "Contact [VV290P] is a person contact; organization entries must be organization \
             contacts."
        );
        assert!(check_role_contact_link(&id("VV290P"), Person).is_ok());
        let e = check_role_contact_link(&id("TR85R"), Role).unwrap_err();
        assert_eq!((e.code(), e.result_code().code()), ("EC003910", 2306));
    }

    #[test]
    fn registrants() {
        let cid = id("TH1251O");
        let base = RegistrantFacts {
            id: &cid,
            kind: ContactKind::Organization,
            identity: Some(IdentityKind::OrganizationNumber),
            country_code: "NO",
            postcode: Some("NO-7005"),
        };
        assert!(check_registrant(&base).is_ok());
        assert!(
            check_registrant(&RegistrantFacts {
                postcode: Some("7005"),
                ..base
            })
            .is_ok()
        );
        let e = check_registrant(&RegistrantFacts {
            kind: ContactKind::Role,
            ..base
        })
        .unwrap_err();
        assert_eq!(
            e.reason(),
            "Contact [TH1251O] is a role contact; the registrant must be an organization or a \
             person."
        );
        let e = check_registrant(&RegistrantFacts {
            identity: None,
            ..base
        })
        .unwrap_err();
        assert_eq!(
            e.reason(),
            "Contact [TH1251O] has no organizationNumber; a registrant must have one."
        );
        let e = check_registrant(&RegistrantFacts {
            kind: ContactKind::Person,
            ..base
        })
        .unwrap_err();
        assert_eq!(
            e.reason(),
            "Contact [TH1251O] has no anonymousPersonIdentifier; a registrant must have one."
        );
        for (cc, pc) in [("SE", Some("NO-7005")), ("NO", None), ("NO", Some("70055"))] {
            let e = check_registrant(&RegistrantFacts {
                country_code: cc,
                postcode: pc,
                ..base
            });
            let e = e.unwrap_err();
            assert_eq!((e.code(), e.result_code().code()), ("EC002930", 2306));
        }
    }

    #[test]
    fn phones() {
        assert!(check_phone("+47.73557900", None).is_ok());
        assert!(check_phone("+47.07355", None).is_ok());
        assert!(check_phone("+47.73557900", Some("123")).is_ok());
        assert!(check_phone("+1.12345678901234", None).is_ok());
        for bad in [
            "47.73557900",
            "+47 73557900",
            "+4773557900",
            "+.73557900",
            "+4711.123",
            "+47.",
            "+47.123456789012345",
            "+123.12345678901234",
            "+47.7355790a",
            "",
        ] {
            let e = check_phone(bad, None).unwrap_err();
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC003911", 2005),
                "{bad}"
            );
        }
        let e = check_phone("+47.73557900", Some("12a")).unwrap_err();
        assert_eq!(e.reason(), "Phone extension [12a] must be 1-10 digits.");
        assert!(check_phone("+47.73557900", Some("")).is_err());
    }

    #[test]
    fn postcodes_and_countries() {
        assert_eq!(
            normalize_postcode("NO", Some("NO-7005")),
            Ok(Some("NO-7005".into()))
        );
        assert_eq!(
            normalize_postcode("NO", Some("7005")),
            Ok(Some("NO-7005".into()))
        );
        assert_eq!(
            normalize_postcode("no", Some("0150")),
            Ok(Some("NO-0150".into()))
        );
        assert_eq!(normalize_postcode("NO", None), Ok(None));
        assert_eq!(
            normalize_postcode("US", Some("20166-6503")),
            Ok(Some("20166-6503".into()))
        );
        for bad in [
            "NO-700", "N-7005", "NO7005", "NO-70055", "SE-7005", "no-7005",
        ] {
            let e = normalize_postcode("NO", Some(bad)).unwrap_err();
            assert_eq!(
                e.reason(),
                format!("Norwegian postcode [{bad}] must be 4 digits, written NO-nnnn.")
            );
            assert_eq!(e.result_code().code(), 2005);
        }
        assert_eq!(normalize_country_code("no"), Ok("NO".into()));
        assert_eq!(normalize_country_code("NO"), Ok("NO".into()));
        for bad in ["N", "NOR", "N0", "Ø1", ""] {
            assert_eq!(normalize_country_code(bad).unwrap_err().code(), "EC003915");
        }
        assert!(check_postal_info_type("loc").is_ok());
        let e = check_postal_info_type("int").unwrap_err();
        assert_eq!((e.code(), e.result_code().code()), ("EC003916", 2306));
    }

    #[test]
    fn emails() {
        for ok in [
            "jdoe@example.no",
            "xml-sec2@example.no",
            "first.last+tag@sub.example.com",
            "post@bø.no",
            "ola@xn--b-5ga.no",
        ] {
            assert_eq!(check_email(ok), Ok(()), "{ok}");
        }
        for (bad, reason) in [
            ("jdoe.example.no", "it has no @"),
            ("a@b@example.no", "it has more than one @"),
            ("@example.no", "the part before @ must have 1-64 characters"),
            (
                "a b@example.no",
                "the part before @ has a space, control character or one of \"(),:;<>[\\]",
            ),
            (
                ".a@example.no",
                "the part before @ has a leading, trailing or doubled dot",
            ),
            (
                "a..b@example.no",
                "the part before @ has a leading, trailing or doubled dot",
            ),
            (
                "a@localhost",
                "the part after @ must have at least two labels",
            ),
            ("a@-x.no", "the part after @ is not a valid domain name"),
            ("a@x..no", "the part after @ is not a valid domain name"),
            ("a@x_y.no", "the part after @ is not a valid domain name"),
            ("a@1.2.3.4", "the part after @ ends in a numeric label"),
            ("a@[1.2.3.4]", "the part after @ is not a valid domain name"),
        ] {
            let e = check_email(bad).unwrap_err();
            assert_eq!(
                e,
                Refusal::Email {
                    value: bad.into(),
                    reason
                },
                "{bad}"
            );
            assert_eq!(e.result_code().code(), 2005);
        }
        let long_local = format!("{}@example.no", "a".repeat(65));
        assert!(check_email(&long_local).is_err());
        let long = format!("a@{}.no", "b".repeat(60).repeat(5));
        assert!(check_email(&long).is_err());
    }

    #[test]
    fn kinds_parse_and_print() {
        for k in [
            ContactKind::Organization,
            ContactKind::Person,
            ContactKind::Role,
        ] {
            assert_eq!(k.as_str().parse::<ContactKind>(), Ok(k));
        }
        assert!("admin".parse::<ContactKind>().is_err());
        for k in [
            IdentityKind::OrganizationNumber,
            IdentityKind::AnonymousPersonIdentifier,
            IdentityKind::LocalIdentity,
            IdentityKind::NationalIdentityNumber,
        ] {
            assert_eq!(k.to_string().parse::<IdentityKind>(), Ok(k));
        }
    }

    proptest! {
        #[test]
        fn valid_organization_numbers_are_accepted(first in prop::array::uniform8(0u8..10)) {
            if let Some(check) = organization_number_check_digit(first) {
                let s: String = first.iter().chain([check].iter())
                    .map(|d| char::from(b'0' + d)).collect();
                prop_assert!(check_organization_number(&s).is_ok(), "{}", s);
            }
        }

        #[test]
        fn one_digit_changes_are_refused(
            first in prop::array::uniform8(0u8..10),
            pos in 0usize..9,
            delta in 1u8..10,
        ) {
            if let Some(check) = organization_number_check_digit(first) {
                let mut digits: Vec<u8> = first.to_vec();
                digits.push(check);
                digits[pos] = (digits[pos] + delta) % 10;
                let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
                // Modulus 11 with weights coprime to 11 detects every single-digit error.
                prop_assert!(check_organization_number(&s).is_err(), "{}", s);
            }
        }

        #[test]
        fn generated_ids_are_valid_and_typed(name in "\\PC{0,40}", seq in 0u64..1_000_000_000_000_000) {
            for kind in [ContactKind::Organization, ContactKind::Person, ContactKind::Role] {
                let id = generate_contact_id(&name, kind, seq).unwrap();
                let s = id.as_str();
                prop_assert!((3..=16).contains(&s.len()));
                prop_assert!(s.ends_with(kind.id_suffix()));
                let body = &s[..s.len() - 1];
                let digits_at = body.find(|c: char| c.is_ascii_digit()).unwrap();
                prop_assert!(body[..digits_at].bytes().all(|c| c.is_ascii_uppercase()));
                prop_assert_eq!(body[digits_at..].parse::<u64>().unwrap(), seq);
            }
        }
    }
}
