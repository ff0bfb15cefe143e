//! [`Refusal`]: why Norid's policy refuses a command, with the EPP result code and the
//! condition that go on the wire.

use std::net::IpAddr;

use epp_xml::{Date, ResultCode, Timestamp};

use super::condition::{Accompanies, Condition, ConditionDef, defs};
use super::contact::{ContactKind, IdentityKind};
use super::dnssec::DsRecord;
use super::domain::Period;
use super::name::QuotaScope;

/// The longest client-supplied free-form value echoed in a details text, in characters.
const ECHO_MAX: usize = 128;

/// A refusal by Norid's registry policy.
///
/// Its `Display` is the `<details>` text of the `error` condition that explains it, in Norid's
/// style (identifiers in square brackets, one sentence, a full stop). Each variant maps to one
/// entry of the [catalogue](super::CATALOGUE) ([`Refusal::definition`]), which fixes the
/// condition code, message and EPP result code ([`Refusal::result_code`]).
///
/// Transfer codes are never echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A computed date (renewal, lifecycle) falls outside years 0001-9999.
    #[error("The resulting date is outside the years 0001-9999.")]
    DateOutOfRange,

    /// A domain name on the wire contains non-ASCII characters (U-labels).
    #[error(
        "Domain name [{}] contains non-ASCII characters; send IDNs in ACE form{}.",
        echo(name),
        ace.as_ref().map(|a| format!(", e.g. [{a}]")).unwrap_or_default()
    )]
    AceRequired {
        /// The name as received.
        name: String,
        /// Its ACE form, when it has one.
        ace: Option<String>,
    },
    /// A label has a character outside a-z, 0-9, `-` and the 23 Norwegian and Sami letters.
    #[error(
        "Label [{label}] of domain name [{name}] contains [{}], which .no does not allow.",
        display_char(*ch)
    )]
    InvalidCharacter {
        /// The domain name.
        name: String,
        /// The label, in Unicode form when it is an IDN label.
        label: String,
        /// The character.
        ch: char,
    },
    /// A label has fewer than 2 or more than 63 characters (Unicode characters of the U-label).
    #[error("Label [{label}] of domain name [{name}] has {len} characters; .no labels have 2-63.")]
    LabelLength {
        /// The domain name.
        name: String,
        /// The label.
        label: String,
        /// Its length in characters.
        len: usize,
    },
    /// A label begins or ends with a hyphen.
    #[error("Label [{label}] of domain name [{name}] must begin and end with a letter or digit.")]
    HyphenAtEdge {
        /// The domain name.
        name: String,
        /// The label.
        label: String,
    },
    /// A label has `--` in positions 3-4 but is not an `xn--` label.
    #[error(
        "Label [{label}] of domain name [{name}] has hyphens in positions 3 and 4 but is not a \
         valid IDN (xn--) label."
    )]
    HyphensAt3And4 {
        /// The domain name.
        name: String,
        /// The label.
        label: String,
    },
    /// An `xn--` label does not decode, or does not survive the IDNA round trip unchanged.
    #[error("Label [{label}] of domain name [{name}] is not a valid IDNA ACE label.")]
    InvalidAce {
        /// The domain name.
        name: String,
        /// The label as received.
        label: String,
    },
    /// The name has an empty label.
    #[error("Domain name [{}] has an empty label.", echo(name))]
    EmptyLabel {
        /// The domain name.
        name: String,
    },
    /// The name is longer than 253 characters.
    #[error("Domain name [{}] has {len} characters; the limit is 253.", echo(name))]
    NameTooLong {
        /// The domain name.
        name: String,
        /// Its length.
        len: usize,
    },
    /// The name is not directly under `.no` or a Norid zone.
    #[error(
        "Domain name [{name}] is not directly under .no or under one of Norid's category or \
         geographic domains."
    )]
    NotInZone {
        /// The domain name.
        name: String,
    },
    /// The name is a Norid zone itself, or lies above one (`telemark.no` above
    /// `bo.telemark.no`).
    #[error(
        "Domain name [{name}] is one of Norid's category or geographic domains, or lies above \
         one, and cannot be registered."
    )]
    ReservedZoneName {
        /// The domain name.
        name: String,
    },
    /// The name is under a category domain another party manages (Norid's appendix D).
    #[error("Domain names under [{zone}] are not registered through Norid.")]
    ExternalZone {
        /// The zone, e.g. `kommune.no`.
        zone: &'static str,
    },
    /// The holder's type may not register under this zone (persons under category domains,
    /// organizations under `priv.no`).
    #[error("{} cannot hold domain names under [{zone}].", a_kind(*holder))]
    ZoneNotForHolder {
        /// The holder's contact type.
        holder: ContactKind,
        /// The zone.
        zone: &'static str,
    },
    /// The holder already holds as many names as its type may.
    #[error(
        "Holder [{holder}] already has {count} domain names {scope}; the limit for {} is {max}.",
        kind.plural()
    )]
    QuotaExceeded {
        /// The holder's contact id.
        holder: String,
        /// The holder's contact type.
        kind: ContactKind,
        /// Which names count.
        scope: QuotaScope,
        /// How many the holder has.
        count: u32,
        /// The limit.
        max: u32,
    },

    /// A create period other than one year.
    #[error("Domain [{name}] can only be created for 1 year (period 1 y or 12 m), not [{period}].")]
    CreatePeriod {
        /// The domain name.
        name: String,
        /// The period asked for.
        period: Period,
    },
    /// A renew (or transfer renewal) period outside 1-12 months.
    #[error("Domain [{name}] can only be renewed for 1-12 months or 1 year, not [{period}].")]
    RenewPeriod {
        /// The domain name.
        name: String,
        /// The period asked for.
        period: Period,
    },
    /// The renew window has not opened yet (Norid's `EC002003`, seed 003).
    #[error("Domain [{name}] is not renewable before [{date}].")]
    NotRenewableBefore {
        /// The domain name.
        name: String,
        /// The first day (Norwegian local date) a renewal is accepted.
        date: Date,
    },
    /// `curExpDate` is not the domain's expiry date.
    #[error("Domain [{name}] expires on [{expires}], not on [{given}].")]
    ExpiryDateMismatch {
        /// The domain name.
        name: String,
        /// The expiry date (UTC date of exDate).
        expires: Date,
        /// The curExpDate sent.
        given: Date,
    },
    /// An expired domain is transferred without a renewal period (Norid's text).
    #[error(
        "Domain [{name}] expired {expired}. The transfer command must include a renewal period."
    )]
    RenewalPeriodRequired {
        /// The domain name.
        name: String,
        /// The expiry date (UTC date of exDate).
        expired: Date,
    },
    /// The domain would have fewer than 2 or more than 8 name servers.
    #[error("Domain [{name}] must have 2-8 name servers, not {count}.")]
    NameServerCount {
        /// The domain name.
        name: String,
        /// The resulting number of name servers.
        count: usize,
    },
    /// The domain would have no tech contact.
    #[error("Domain [{name}] must have at least one tech contact.")]
    TechContactRequired {
        /// The domain name.
        name: String,
    },
    /// A tech contact is not a role contact.
    #[error(
        "Contact [{contact}] is {} contact; tech contacts must be role contacts.",
        a_kind_lower(*kind)
    )]
    TechContactNotRole {
        /// The contact id.
        contact: String,
        /// Its type.
        kind: ContactKind,
    },
    /// An admin or billing contact was sent.
    #[error(
        "Contact type [{}] is not used at .no; a domain has a registrant and tech contacts.",
        echo(contact_type)
    )]
    ContactTypeUnused {
        /// The `type` attribute sent.
        contact_type: String,
    },
    /// The registrant is a role contact.
    #[error(
        "Contact [{contact}] is a role contact; the registrant must be an organization or a \
         person."
    )]
    RegistrantKind {
        /// The contact id.
        contact: String,
    },
    /// The registrant lacks the identity its type needs.
    #[error("Contact [{contact}] has no {}; a registrant must have one.", kind.required_identity_name())]
    RegistrantIdentity {
        /// The contact id.
        contact: String,
        /// Its type.
        kind: ContactKind,
    },
    /// The registrant has no Norwegian postal address.
    #[error(
        "Contact [{contact}] has no Norwegian postal address (country NO, postcode NO-nnnn); a \
         registrant must have one."
    )]
    RegistrantAddress {
        /// The contact id.
        contact: String,
    },
    /// A transfer code shorter than 8 or longer than 64 characters.
    #[error("The transfer code has {len} characters; it must have 8-64.")]
    TransferCodeLength {
        /// Its length in characters.
        len: usize,
    },
    /// A transfer code character outside the four groups.
    #[error(
        "The transfer code has a character at position {position} that is not a-z, A-Z, 0-9 or \
         one of ! # $ % & * + , . \\ / : ; < = > ? @ _."
    )]
    TransferCodeCharacter {
        /// The 1-based position of the first such character.
        position: usize,
    },
    /// A transfer code drawn from fewer than two groups.
    #[error(
        "The transfer code uses {groups} of the four character groups (lower case, upper case, \
         digits, special characters); it must use at least two."
    )]
    TransferCodeGroups {
        /// How many groups it uses.
        groups: usize,
    },
    /// A domain create without applicantDataset.
    #[error("Domain [{name}] needs an applicantDataset (no-ext-domain-1.1) on create.")]
    DatasetRequired {
        /// The domain name.
        name: String,
    },
    /// An applicantDataset version other than the current one.
    #[error(
        "Applicant dataset version [{}] is not accepted; the current version is [{current}].",
        echo(version)
    )]
    DatasetVersion {
        /// The version sent.
        version: String,
        /// The version accepted.
        current: String,
    },
    /// A blank or too long acceptName.
    #[error("acceptName has {len} characters; it must have 1-255 and not be blank.")]
    AcceptName {
        /// Its length in characters.
        len: usize,
    },
    /// An acceptDate later than now (beyond the clock-skew allowance).
    #[error("acceptDate [{accept_date}] is later than the current time.")]
    AcceptDate {
        /// The acceptDate sent.
        accept_date: Timestamp,
    },
    /// A registrant change without a new applicantDataset.
    #[error(
        "Changing the registrant of domain [{name}] needs a new applicantDataset in the same \
         update."
    )]
    HolderChangeDataset {
        /// The domain name.
        name: String,
    },
    /// A status a registrar may not add or remove.
    #[error(
        "Status [{}] cannot be set or removed by a registrar; only client statuses can.",
        echo(status)
    )]
    StatusNotSettable {
        /// The status value.
        status: String,
    },
    /// A deletion date before today.
    #[error("{which} [{date}] is before today [{today}].")]
    DeleteDatePast {
        /// Which date.
        which: DeleteDate,
        /// The date sent.
        date: Date,
        /// Today's Norwegian local date.
        today: Date,
    },
    /// deleteFromRegistry before deleteFromDNS.
    #[error("deleteFromRegistry [{registry}] is before deleteFromDNS [{dns}].")]
    DeleteDateOrder {
        /// deleteFromDNS.
        dns: Date,
        /// deleteFromRegistry.
        registry: Date,
    },

    /// secDNS keyData without dsData.
    #[error(
        "Domain [{name}]: secDNS keyData without dsData is not supported; send dsData (keyData \
         may accompany it)."
    )]
    KeyDataOnly {
        /// The domain name.
        name: String,
    },
    /// Too many DS records.
    #[error("Domain [{name}] would have {count} DS records; the limit is {max}.")]
    TooManyDs {
        /// The domain name.
        name: String,
        /// The resulting count.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A DNSSEC algorithm Norid does not accept.
    #[error("Algorithm [{alg}] is not supported; use one of 8, 10, 13, 14, 15, 16.")]
    DsAlgorithm {
        /// The algorithm number.
        alg: u8,
    },
    /// A digest type Norid does not accept.
    #[error("Digest type [{digest_type}] is not supported; use 2 (SHA-256) or 4 (SHA-384).")]
    DsDigestType {
        /// The digest type number.
        digest_type: u8,
    },
    /// A digest that is not hexadecimal of the length its type needs.
    #[error(
        "Digest [{}] is not {expected_len} hexadecimal characters as digest type {digest_type} \
         requires.",
        echo(digest)
    )]
    DsDigest {
        /// The digest sent.
        digest: String,
        /// Its digest type.
        digest_type: u8,
        /// The number of hex characters that type needs.
        expected_len: usize,
    },
    /// The same DS record twice in one command.
    #[error("DS record [{ds}] is given twice.")]
    DsDuplicate {
        /// The record.
        ds: DsRecord,
    },
    /// Removing a DS record the domain does not have.
    #[error("Domain [{name}] has no DS record [{ds}] to remove.")]
    DsNotFound {
        /// The domain name.
        name: String,
        /// The record.
        ds: DsRecord,
    },
    /// Adding a DS record the domain already has.
    #[error("Domain [{name}] already has DS record [{ds}].")]
    DsPresent {
        /// The domain name.
        name: String,
        /// The record.
        ds: DsRecord,
    },
    /// keyData with flags other than 256/257 or a protocol other than 3.
    #[error(
        "keyData flags must be 256 or 257 and protocol 3, not flags {flags} and protocol \
         {protocol}."
    )]
    KeyData {
        /// The flags sent.
        flags: u16,
        /// The protocol sent.
        protocol: u8,
    },
    /// keyData whose public key is not base64.
    #[error("keyData pubKey is not valid base64.")]
    KeyDataPubKey,
    /// `notify/email` is not one of the holder's addresses (or the holder has none).
    #[error(
        "{}",
        match email {
            Some(e) => format!(
                "E-mail address [{}] is not registered for the holder of domain [{name}].",
                echo(e)
            ),
            None => format!("The holder of domain [{name}] has no registered e-mail address."),
        }
    )]
    NotifyEmail {
        /// The domain name.
        name: String,
        /// The address asked for; `None` when the default (primary) address is missing.
        email: Option<String>,
    },
    /// `notify/mobilePhone` is not the holder's mobile number.
    #[error(
        "Mobile number [{}] is not registered for the holder of domain [{name}].",
        echo(mobile)
    )]
    NotifyMobile {
        /// The domain name.
        name: String,
        /// The number asked for.
        mobile: String,
    },

    /// An organization contact without organizationNumber.
    #[error("An organization contact needs an identity of type organizationNumber.")]
    IdentityRequired,
    /// An identity type the contact type may not have.
    #[error(
        "{} contact cannot have an identity of type [{identity}]; {}.",
        a_kind(*kind),
        identity_hint(*kind)
    )]
    IdentityNotAllowed {
        /// The contact's type.
        kind: ContactKind,
        /// The identity type sent.
        identity: IdentityKind,
    },
    /// An organization number that is not 9 digits.
    #[error("Organization number [{}] must be 9 digits.", echo(value))]
    OrgNumberSyntax {
        /// The value sent.
        value: String,
    },
    /// An organization number whose check digit is wrong.
    #[error("Organization number [{value}] has a wrong check digit (modulus 11).")]
    OrgNumberCheck {
        /// The value sent.
        value: String,
    },
    /// A person identifier that is not `N.PRI.` + 8 digits.
    #[error(
        "Person identifier [{}] must be N.PRI. followed by 8 digits.",
        echo(value)
    )]
    PidSyntax {
        /// The value sent.
        value: String,
    },
    /// Organization memberships on an organization contact.
    #[error(
        "An organization contact cannot belong to organizations; only person and role contacts \
         can."
    )]
    MembershipNotAllowed,
    /// More than 20 organizations.
    #[error("A contact can belong to at most 20 organizations, not {count}.")]
    TooManyMemberships {
        /// The resulting count.
        count: usize,
    },
    /// roleContact entries on a contact that is not a role.
    #[error("{} contact cannot list role contacts; only role contacts can.", a_kind(*kind))]
    RoleContactNotAllowed {
        /// The contact's type.
        kind: ContactKind,
    },
    /// An organization entry that is not an organization contact.
    #[error(
        "Contact [{contact}] is {} contact; organization entries must be organization contacts.",
        a_kind_lower(*kind)
    )]
    MembershipTarget {
        /// The id listed.
        contact: String,
        /// Its type.
        kind: ContactKind,
    },
    /// A roleContact entry that is not a person contact.
    #[error(
        "Contact [{contact}] is {} contact; roleContact entries must be person contacts.",
        a_kind_lower(*kind)
    )]
    RoleContactTarget {
        /// The id listed.
        contact: String,
        /// Its type.
        kind: ContactKind,
    },
    /// A phone number not in `+CC.NUMBER` form.
    #[error(
        "Phone number [{}] must be +CC.NUMBER: a 1-3 digit country code, a dot and 1-14 digits.",
        echo(value)
    )]
    PhoneSyntax {
        /// The value sent.
        value: String,
    },
    /// A phone extension that is not 1-10 digits.
    #[error("Phone extension [{}] must be 1-10 digits.", echo(value))]
    PhoneExtension {
        /// The value sent.
        value: String,
    },
    /// A Norwegian postcode not in `NO-nnnn` (or `nnnn`) form.
    #[error(
        "Norwegian postcode [{}] must be 4 digits, written NO-nnnn.",
        echo(value)
    )]
    Postcode {
        /// The value sent.
        value: String,
    },
    /// An e-mail address that is not an address.
    #[error("E-mail address [{}] is not valid: {reason}.", echo(value))]
    Email {
        /// The value sent.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A country code that is not two upper-case letters.
    #[error(
        "Country code [{}] must be two upper-case letters (ISO 3166-1 alpha-2).",
        echo(value)
    )]
    CountryCode {
        /// The value sent.
        value: String,
    },
    /// postalInfo `type="int"`.
    #[error("Only postalInfo type=\"loc\" is used at .no, not type=\"int\".")]
    PostalInfoType,

    /// More than 4 addresses on a host.
    #[error("Host [{name}] can have at most 4 IP addresses, not {count}.")]
    HostAddressCount {
        /// The host name.
        name: String,
        /// The resulting count.
        count: usize,
    },
    /// Addresses on a host outside `.no`.
    #[error("Host [{name}] is outside .no and must not have IP addresses.")]
    HostAddressesNotAllowed {
        /// The host name.
        name: String,
    },
    /// A `.no` host without IPv4 address.
    #[error("Host [{name}] is under .no and needs at least one IPv4 address.")]
    HostIpv4Required {
        /// The host name.
        name: String,
    },
    /// A private, loopback or otherwise non-public address.
    #[error("Address [{ip}] of host [{name}] is not a public unicast address.")]
    HostAddressNotPublic {
        /// The host name.
        name: String,
        /// The address.
        ip: IpAddr,
    },
    /// A host name that breaks the host name syntax of RFC 952 and RFC 1123.
    #[error("Host name [{}] is not valid: {reason}.", echo(name))]
    HostNameSyntax {
        /// The host name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// More than one contact on a host.
    #[error("Host [{name}] can have at most 1 contact, not {count}.")]
    HostContactCount {
        /// The host name.
        name: String,
        /// The resulting count.
        count: usize,
    },
    /// A host contact that is not a role contact.
    #[error(
        "Contact [{contact}] is {} contact; host contacts must be role contacts.",
        a_kind_lower(*kind)
    )]
    HostContactNotRole {
        /// The contact id.
        contact: String,
        /// Its type.
        kind: ContactKind,
    },
}

/// Which deletion date of `no-ext-domain:delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeleteDate {
    /// `deleteFromDNS`.
    Dns,
    /// `deleteFromRegistry`.
    Registry,
}

impl std::fmt::Display for DeleteDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeleteDate::Dns => "deleteFromDNS",
            DeleteDate::Registry => "deleteFromRegistry",
        })
    }
}

impl Refusal {
    /// The catalogue entry of this refusal: condition code, message, result code.
    pub fn definition(&self) -> &'static ConditionDef {
        use Refusal as R;
        match self {
            R::DateOutOfRange => &defs::DATE_OUT_OF_RANGE,
            R::AceRequired { .. } => &defs::ACE_REQUIRED,
            R::InvalidCharacter { .. } => &defs::INVALID_CHARACTER,
            R::LabelLength { .. } => &defs::LABEL_LENGTH,
            R::HyphenAtEdge { .. } => &defs::HYPHEN_AT_EDGE,
            R::HyphensAt3And4 { .. } => &defs::HYPHENS_3_4,
            R::InvalidAce { .. } => &defs::INVALID_ACE,
            R::EmptyLabel { .. } => &defs::EMPTY_LABEL,
            R::NameTooLong { .. } => &defs::NAME_TOO_LONG,
            R::NotInZone { .. } => &defs::NOT_IN_ZONE,
            R::ReservedZoneName { .. } => &defs::RESERVED_ZONE_NAME,
            R::ExternalZone { .. } => &defs::EXTERNAL_ZONE,
            R::ZoneNotForHolder { .. } => &defs::ZONE_NOT_FOR_HOLDER,
            R::QuotaExceeded { .. } => &defs::QUOTA_EXCEEDED,
            R::CreatePeriod { .. } => &defs::CREATE_PERIOD,
            R::RenewPeriod { .. } => &defs::RENEW_PERIOD,
            R::NotRenewableBefore { .. } => &defs::NOT_RENEWABLE,
            R::ExpiryDateMismatch { .. } => &defs::EXPIRY_DATE_MISMATCH,
            R::RenewalPeriodRequired { .. } => &defs::RENEWAL_PERIOD_REQUIRED,
            R::NameServerCount { .. } => &defs::NAME_SERVER_COUNT,
            R::TechContactRequired { .. } => &defs::TECH_CONTACT_REQUIRED,
            R::TechContactNotRole { .. } => &defs::TECH_NOT_ROLE,
            R::ContactTypeUnused { .. } => &defs::CONTACT_TYPE_UNUSED,
            R::RegistrantKind { .. } => &defs::REGISTRANT_KIND,
            R::RegistrantIdentity { .. } => &defs::REGISTRANT_IDENTITY,
            R::RegistrantAddress { .. } => &defs::REGISTRANT_ADDRESS,
            R::TransferCodeLength { .. } => &defs::TRANSFER_CODE_LENGTH,
            R::TransferCodeCharacter { .. } => &defs::TRANSFER_CODE_CHARACTER,
            R::TransferCodeGroups { .. } => &defs::TRANSFER_CODE_GROUPS,
            R::DatasetRequired { .. } => &defs::DATASET_REQUIRED,
            R::DatasetVersion { .. } => &defs::DATASET_VERSION,
            R::AcceptName { .. } => &defs::ACCEPT_NAME,
            R::AcceptDate { .. } => &defs::ACCEPT_DATE,
            R::HolderChangeDataset { .. } => &defs::HOLDER_CHANGE_DATASET,
            R::StatusNotSettable { .. } => &defs::STATUS_NOT_SETTABLE,
            R::DeleteDatePast { .. } => &defs::DELETE_DATE_PAST,
            R::DeleteDateOrder { .. } => &defs::DELETE_DATE_ORDER,
            R::KeyDataOnly { .. } => &defs::KEY_DATA_ONLY,
            R::TooManyDs { .. } => &defs::TOO_MANY_DS,
            R::DsAlgorithm { .. } => &defs::DS_ALGORITHM,
            R::DsDigestType { .. } => &defs::DS_DIGEST_TYPE,
            R::DsDigest { .. } => &defs::DS_DIGEST,
            R::DsDuplicate { .. } => &defs::DS_DUPLICATE,
            R::DsNotFound { .. } => &defs::DS_NOT_FOUND,
            R::DsPresent { .. } => &defs::DS_PRESENT,
            R::KeyData { .. } => &defs::KEY_DATA,
            R::KeyDataPubKey => &defs::KEY_DATA_PUBKEY,
            R::NotifyEmail { .. } => &defs::NOTIFY_EMAIL,
            R::NotifyMobile { .. } => &defs::NOTIFY_MOBILE,
            R::IdentityRequired => &defs::IDENTITY_REQUIRED,
            R::IdentityNotAllowed { .. } => &defs::IDENTITY_NOT_ALLOWED,
            R::OrgNumberSyntax { .. } => &defs::ORG_NUMBER_SYNTAX,
            R::OrgNumberCheck { .. } => &defs::ORG_NUMBER_CHECK,
            R::PidSyntax { .. } => &defs::PID_SYNTAX,
            R::MembershipNotAllowed => &defs::MEMBERSHIP_NOT_ALLOWED,
            R::TooManyMemberships { .. } => &defs::TOO_MANY_MEMBERSHIPS,
            R::RoleContactNotAllowed { .. } => &defs::ROLE_CONTACT_NOT_ALLOWED,
            R::MembershipTarget { .. } => &defs::MEMBERSHIP_TARGET,
            R::RoleContactTarget { .. } => &defs::ROLE_CONTACT_TARGET,
            R::PhoneSyntax { .. } => &defs::PHONE_SYNTAX,
            R::PhoneExtension { .. } => &defs::PHONE_EXTENSION,
            R::Postcode { .. } => &defs::POSTCODE,
            R::Email { .. } => &defs::EMAIL,
            R::CountryCode { .. } => &defs::COUNTRY_CODE,
            R::PostalInfoType => &defs::POSTAL_INFO_TYPE,
            R::HostAddressCount { .. } => &defs::HOST_ADDRESS_COUNT,
            R::HostAddressesNotAllowed { .. } => &defs::HOST_ADDRESSES_NOT_ALLOWED,
            R::HostIpv4Required { .. } => &defs::HOST_IPV4_REQUIRED,
            R::HostAddressNotPublic { .. } => &defs::HOST_ADDRESS_NOT_PUBLIC,
            R::HostNameSyntax { .. } => &defs::HOST_NAME_SYNTAX,
            R::HostContactCount { .. } => &defs::HOST_CONTACT_COUNT,
            R::HostContactNotRole { .. } => &defs::HOST_CONTACT_NOT_ROLE,
        }
    }

    /// The condition code, e.g. `EC002003`.
    pub fn code(&self) -> &'static str {
        self.definition().code
    }

    /// The RFC 5730 result code the response carries (2003, 2004, 2005, 2105, 2306 or 2308).
    pub fn result_code(&self) -> ResultCode {
        match self.definition().result {
            Accompanies::Code(code) => code,
            // Only EC001025 uses FailedCommand, and no refusal maps to it.
            Accompanies::FailedCommand => ResultCode::CommandFailed,
        }
    }

    /// The reason in words: the details text.
    pub fn reason(&self) -> String {
        self.to_string()
    }

    /// The `error` condition that explains this refusal; it follows `EC001025` in a failed
    /// mutating command's response, or stands alone otherwise.
    pub fn condition(&self) -> Condition {
        self.definition().with_details(self.to_string())
    }
}

/// Truncates a client-supplied value for echoing in a details text.
fn echo(s: &str) -> String {
    match s.char_indices().nth(ECHO_MAX) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Shows a character, or its code point when it would not be visible.
fn display_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", u32::from(c))
    } else {
        c.to_string()
    }
}

/// "An organization", "A person", "A role": a contact type with its article, starting a
/// sentence.
fn a_kind(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Organization => "An organization",
        ContactKind::Person => "A person",
        ContactKind::Role => "A role",
    }
}

/// "an organization", "a person", "a role": a contact type with its article.
fn a_kind_lower(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Organization => "an organization",
        ContactKind::Person => "a person",
        ContactKind::Role => "a role",
    }
}

fn identity_hint(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Organization => "organizations use organizationNumber",
        ContactKind::Person => "persons use anonymousPersonIdentifier (N.PRI.nnnnnnnn)",
        ContactKind::Role => "role contacts have no identity",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::policy::condition::{CATALOGUE, Origin, Severity};

    /// One refusal of every variant.
    fn samples() -> Vec<Refusal> {
        let s = |v: &str| v.to_owned();
        let d = |v: &str| Date::parse(v).unwrap();
        let ds = DsRecord::new(1, 13, 2, &"0".repeat(64)).unwrap();
        let name = s("x.no");
        vec![
            Refusal::DateOutOfRange,
            Refusal::AceRequired {
                name: s("ø.no"),
                ace: None,
            },
            Refusal::InvalidCharacter {
                name: name.clone(),
                label: s("x_"),
                ch: '_',
            },
            Refusal::LabelLength {
                name: name.clone(),
                label: s("x"),
                len: 1,
            },
            Refusal::HyphenAtEdge {
                name: name.clone(),
                label: s("-x"),
            },
            Refusal::HyphensAt3And4 {
                name: name.clone(),
                label: s("ab--c"),
            },
            Refusal::InvalidAce {
                name: name.clone(),
                label: s("xn--a"),
            },
            Refusal::EmptyLabel { name: name.clone() },
            Refusal::NameTooLong {
                name: name.clone(),
                len: 254,
            },
            Refusal::NotInZone { name: name.clone() },
            Refusal::ReservedZoneName { name: name.clone() },
            Refusal::ExternalZone { zone: "mil.no" },
            Refusal::ZoneNotForHolder {
                holder: ContactKind::Person,
                zone: "vgs.no",
            },
            Refusal::QuotaExceeded {
                holder: s("A1P"),
                kind: ContactKind::Person,
                scope: QuotaScope::DirectlyUnderNo,
                count: 5,
                max: 5,
            },
            Refusal::CreatePeriod {
                name: name.clone(),
                period: Period::years(2),
            },
            Refusal::RenewPeriod {
                name: name.clone(),
                period: Period::years(2),
            },
            Refusal::NotRenewableBefore {
                name: name.clone(),
                date: d("2018-01-14"),
            },
            Refusal::ExpiryDateMismatch {
                name: name.clone(),
                expires: d("2018-02-13"),
                given: d("2018-02-12"),
            },
            Refusal::RenewalPeriodRequired {
                name: name.clone(),
                expired: d("2024-01-01"),
            },
            Refusal::NameServerCount {
                name: name.clone(),
                count: 1,
            },
            Refusal::TechContactRequired { name: name.clone() },
            Refusal::TechContactNotRole {
                contact: s("A1P"),
                kind: ContactKind::Person,
            },
            Refusal::ContactTypeUnused {
                contact_type: s("admin"),
            },
            Refusal::RegistrantKind { contact: s("A1R") },
            Refusal::RegistrantIdentity {
                contact: s("A1P"),
                kind: ContactKind::Person,
            },
            Refusal::RegistrantAddress { contact: s("A1P") },
            Refusal::TransferCodeLength { len: 7 },
            Refusal::TransferCodeCharacter { position: 3 },
            Refusal::TransferCodeGroups { groups: 1 },
            Refusal::DatasetRequired { name: name.clone() },
            Refusal::DatasetVersion {
                version: s("3.1"),
                current: s("3.2"),
            },
            Refusal::AcceptName { len: 0 },
            Refusal::AcceptDate {
                accept_date: Timestamp::from_unix_micros(0),
            },
            Refusal::HolderChangeDataset { name: name.clone() },
            Refusal::StatusNotSettable { status: s("ok") },
            Refusal::DeleteDatePast {
                which: DeleteDate::Dns,
                date: d("2020-01-01"),
                today: d("2020-01-02"),
            },
            Refusal::DeleteDateOrder {
                dns: d("2020-01-02"),
                registry: d("2020-01-01"),
            },
            Refusal::KeyDataOnly { name: name.clone() },
            Refusal::TooManyDs {
                name: name.clone(),
                count: 9,
                max: 8,
            },
            Refusal::DsAlgorithm { alg: 5 },
            Refusal::DsDigestType { digest_type: 1 },
            Refusal::DsDigest {
                digest: s("00"),
                digest_type: 2,
                expected_len: 64,
            },
            Refusal::DsDuplicate { ds: ds.clone() },
            Refusal::DsNotFound {
                name: name.clone(),
                ds: ds.clone(),
            },
            Refusal::DsPresent {
                name: name.clone(),
                ds,
            },
            Refusal::KeyData {
                flags: 1,
                protocol: 3,
            },
            Refusal::KeyDataPubKey,
            Refusal::NotifyEmail {
                name: name.clone(),
                email: Some(s("a@b.no")),
            },
            Refusal::NotifyMobile {
                name: name.clone(),
                mobile: s("+47.1"),
            },
            Refusal::IdentityRequired,
            Refusal::IdentityNotAllowed {
                kind: ContactKind::Role,
                identity: IdentityKind::LocalIdentity,
            },
            Refusal::OrgNumberSyntax { value: s("1") },
            Refusal::OrgNumberCheck {
                value: s("987654321"),
            },
            Refusal::PidSyntax {
                value: s("N.PRI.1"),
            },
            Refusal::MembershipNotAllowed,
            Refusal::TooManyMemberships { count: 21 },
            Refusal::RoleContactNotAllowed {
                kind: ContactKind::Organization,
            },
            Refusal::MembershipTarget {
                contact: s("A1P"),
                kind: ContactKind::Person,
            },
            Refusal::RoleContactTarget {
                contact: s("A1R"),
                kind: ContactKind::Role,
            },
            Refusal::PhoneSyntax { value: s("1") },
            Refusal::PhoneExtension { value: s("x") },
            Refusal::Postcode { value: s("1") },
            Refusal::Email {
                value: s("x"),
                reason: "it has no @",
            },
            Refusal::CountryCode { value: s("N") },
            Refusal::PostalInfoType,
            Refusal::HostAddressCount {
                name: s("ns.x.no"),
                count: 5,
            },
            Refusal::HostAddressesNotAllowed {
                name: s("ns.x.com"),
            },
            Refusal::HostIpv4Required { name: s("ns.x.no") },
            Refusal::HostAddressNotPublic {
                name: s("ns.x.no"),
                ip: IpAddr::from([10, 0, 0, 1]),
            },
            Refusal::HostNameSyntax {
                name: s("ns'.x.no"),
                reason: "a label has a character other than a-z, 0-9 and -",
            },
            Refusal::HostContactCount {
                name: s("ns.x.no"),
                count: 2,
            },
            Refusal::HostContactNotRole {
                contact: s("A1O"),
                kind: ContactKind::Organization,
            },
        ]
    }

    #[test]
    fn every_refusal_is_an_error_condition_of_the_catalogue() {
        let catalogue: HashSet<&str> = CATALOGUE.iter().map(|d| d.code).collect();
        let mut used = HashSet::new();
        for r in samples() {
            let def = r.definition();
            assert!(catalogue.contains(def.code), "{r:?}");
            assert!(used.insert(def.code), "two variants share {}", def.code);
            assert_eq!(def.severity, Severity::Error, "{r:?}");
            assert!(
                [2003, 2004, 2005, 2105, 2306, 2308].contains(&r.result_code().code()),
                "{r:?}"
            );
            let c = r.condition();
            assert_eq!(
                (c.code, c.severity, c.msg.as_ref()),
                (def.code, def.severity, def.msg)
            );
            assert_eq!(c.details, r.reason());
            assert!(c.details.ends_with('.'), "{}", c.details);
            assert!(
                c.details
                    .starts_with(|ch: char| ch.is_uppercase() || ch.is_lowercase())
            );
        }
        // Everything else in the catalogue is informational and built by a function of its own.
        let session: HashSet<&str> = super::super::condition::SESSION
            .iter()
            .map(|d| d.code)
            .collect();
        let rest: Vec<&str> = CATALOGUE
            .iter()
            .filter(|d| !used.contains(d.code) && !session.contains(d.code))
            .map(|d| d.code)
            .collect();
        assert_eq!(
            rest,
            [
                "EC001024", "EC001025", "EC002960", "EC002970", "EC002973", "EC004960"
            ]
        );
        assert!(CATALOGUE.iter().any(|d| d.origin == Origin::Norid));
    }

    #[test]
    fn details_never_contain_articles_out_of_place() {
        for r in samples() {
            let text = r.reason();
            assert!(!text.contains("a organization"), "{text}");
            assert!(!text.contains("A organization"), "{text}");
        }
    }

    #[test]
    fn long_values_are_cut_when_echoed() {
        let r = Refusal::Email {
            value: "a".repeat(1000),
            reason: "it has no @",
        };
        let text = r.reason();
        assert!(text.len() < 250, "{}", text.len());
        assert!(text.contains(&format!("[{}...]", "a".repeat(ECHO_MAX))));
        let r = Refusal::InvalidCharacter {
            name: "x.no".into(),
            label: "a\tb".into(),
            ch: '\t',
        };
        assert_eq!(
            r.reason(),
            "Label [a\tb] of domain name [x.no] contains [U+0009], which .no does not allow."
        );
    }
}
