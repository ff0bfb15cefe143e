//! Norid's `no-ext-result` conditions as plain data: the catalogue of every condition code this
//! server emits, and builders for the informational ones.
//!
//! A condition is what Norid adds to a response beside the EPP result code
//! (`<conditions><condition code=".." severity=".."><msg/><details/></condition></conditions>`,
//! digest §4). Refusals ([`Refusal`](super::Refusal)) turn into an `error` condition through
//! [`Refusal::condition`](super::Refusal::condition); the session maps [`Condition`] onto the
//! extension type of the XML layer.

use std::borrow::Cow;
use std::fmt;

use epp_xml::ResultCode;

/// The severity of a condition (`no-ext-result:conditionSeverityType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `info`: an outcome or a note.
    Info,
    /// `warning`: the command went through, but something was not done as asked.
    Warning,
    /// `error`: the reason a command failed.
    Error,
    /// `fatal`: a failure the client cannot fix by changing the command.
    Fatal,
}

impl Severity {
    /// The attribute value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition, ready to be written into a response's `<conditions>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The condition code, e.g. `EC001024` (`[A-Z\d]+`, at most 24 characters).
    pub code: &'static str,
    /// The severity attribute.
    pub severity: Severity,
    /// The short message, e.g. `Command completed`.
    pub msg: Cow<'static, str>,
    /// The details text, e.g. `Domain [x.no] has been renewed.`.
    pub details: String,
}

/// Where a catalogue entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Code, message and details text as Norid's own responses show them.
    Norid,
    /// Details text as Norid shows it, under a code of ours (Norid's code is not known).
    NoridText,
    /// Defined by this server, in Norid's style (codes `EC00x9xx`).
    Ours,
}

/// Which EPP result code accompanies a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Accompanies {
    /// Always this result code.
    Code(ResultCode),
    /// The result code of the failed command, set by the refusal that follows the condition.
    FailedCommand,
}

/// One row of the condition catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditionDef {
    /// The condition code.
    pub code: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// Its `<msg>` text.
    pub msg: &'static str,
    /// The pattern of its `<details>` text; `<...>` marks a variable part.
    pub details: &'static str,
    /// The EPP result code that goes with it.
    pub result: Accompanies,
    /// Whether the code is Norid's or ours.
    pub origin: Origin,
}

impl ConditionDef {
    /// A condition of this kind with the given details text.
    pub fn with_details(&'static self, details: String) -> Condition {
        Condition {
            code: self.code,
            severity: self.severity,
            msg: Cow::Borrowed(self.msg),
            details,
        }
    }
}

macro_rules! catalogue {
    ($(
        $(#[$doc:meta])*
        $name:ident = $code:literal, $sev:ident, $result:expr, $origin:ident,
            $msg:literal, $details:literal;
    )*) => {
        /// The catalogue entries, one constant per condition code.
        pub mod defs {
            use super::Accompanies::FailedCommand;
            use super::{Accompanies, ConditionDef, Origin, ResultCode, Severity};

            /// A result code by number; a number RFC 5730 does not define fails to compile.
            const fn code(code: u16) -> Accompanies {
                match ResultCode::from_code(code) {
                    Some(c) => Accompanies::Code(c),
                    None => panic!("not an RFC 5730 result code"),
                }
            }
            $(
                $(#[$doc])*
                pub static $name: ConditionDef = ConditionDef {
                    code: $code,
                    severity: Severity::$sev,
                    msg: $msg,
                    details: $details,
                    result: $result,
                    origin: Origin::$origin,
                };
            )*
        }

        /// Every condition this server emits, in code order.
        pub static CATALOGUE: &[&ConditionDef] = &[$(&defs::$name),*];

        /// The conditions the session's registry logic raises itself (missing objects,
        /// authorisation, statuses, associations, limits), as opposed to
        /// [`Refusal`](super::Refusal)s of the policy rules.
        pub static SESSION: &[&ConditionDef] = &[
            &defs::OBJECT_NOT_FOUND,
            &defs::OBJECT_EXISTS,
            &defs::NOT_SPONSOR,
            &defs::STATUS_PROHIBITS,
            &defs::OBJECT_IN_USE,
            &defs::INVALID_AUTH_INFO,
            &defs::STORE_FAILURE,
            &defs::RATE_LIMITED,
            &defs::UNIMPLEMENTED_COMMAND,
            &defs::PARAMETER_MISSING,
            &defs::NOT_PENDING_TRANSFER,
            &defs::PENDING_TRANSFER,
            &defs::ALREADY_ASSOCIATED,
            &defs::NOT_ASSOCIATED,
            &defs::FACETS_RESERVED,
            &defs::UNIMPLEMENTED_OPTION,
            &defs::OBJECT_NOT_DECLARED,
            &defs::EXTENSION_NOT_DECLARED,
            &defs::EXTENSION_NOT_APPLICABLE,
            &defs::ALREADY_SPONSOR,
            &defs::SUBORDINATE_HOSTS,
            &defs::TOKEN_EXPIRED,
            &defs::SUPERORDINATE_MISSING,
            &defs::SUPERORDINATE_NOT_SPONSOR,
            &defs::HOLDER_INVALID,
        ];
    };
}

catalogue! {
    /// A mutating command succeeded (seeds 003, 004).
    COMMAND_COMPLETED = "EC001024", Info, code(1000), Norid,
        "Command completed", "<Object> [<id>] has been <verb>.";
    /// A mutating command failed; one or more `error` conditions follow (seed 003).
    COMMAND_FAILED = "EC001025", Info, FailedCommand, Norid,
        "Command failed", "Failed to <verb> <object> [<id>].";
    /// A computed date falls outside years 0001-9999.
    DATE_OUT_OF_RANGE = "EC001901", Error, code(2004), Ours,
        "Date out of range", "The resulting date is outside the years 0001-9999.";
    /// The object a command names does not exist (session).
    OBJECT_NOT_FOUND = "EC001902", Error, code(2303), Ours,
        "Object does not exist", "<Object> [<id>] does not exist.";
    /// The object to create exists already (session).
    OBJECT_EXISTS = "EC001903", Error, code(2302), Ours,
        "Object exists", "<Object> [<id>] already exists.";
    /// The object is sponsored by another registrar (session).
    NOT_SPONSOR = "EC001904", Error, code(2201), Ours,
        "Object sponsored by another registrar",
        "<Object> [<id>] is sponsored by another registrar.";
    /// A status of the object prohibits the command (session).
    STATUS_PROHIBITS = "EC001905", Error, code(2304), Ours,
        "Object status prohibits operation",
        "<Object> [<id>] has status [<status>], which prohibits this command.";
    /// The object is referred to and cannot be deleted (session).
    OBJECT_IN_USE = "EC001906", Error, code(2305), Ours,
        "Object is in use",
        "<Object> [<id>] is in use by <object> [<id>] and cannot be deleted.";
    /// Wrong transfer code or token (session).
    INVALID_AUTH_INFO = "EC001907", Error, code(2202), Ours,
        "Invalid authorization information",
        "The transfer code or token given for domain [<name>] is not valid.";
    /// The store failed; nothing was written (session).
    STORE_FAILURE = "EC001908", Error, code(2400), Ours,
        "Command failed",
        "The registry could not complete the command; nothing was changed. Try again.";
    /// A per-registrar rate limit (session).
    RATE_LIMITED = "EC001909", Error, code(2308), Ours,
        "Rate limit exceeded",
        "<class> commands are limited to <n> per <window>; retry in <n> s.";
    /// A command Norid does not offer (session).
    UNIMPLEMENTED_COMMAND = "EC001910", Error, code(2101), Ours,
        "Command not supported", "<command> is not supported at .no.";
    /// A parameter Norid requires is absent (session).
    PARAMETER_MISSING = "EC001911", Error, code(2003), Ours,
        "Required parameter missing", "<parameter> is required<context>.";
    /// Transfer query or cancel without a pending request (session).
    NOT_PENDING_TRANSFER = "EC001912", Error, code(2301), Ours,
        "No pending transfer", "Domain [<name>] has no pending transfer request.";
    /// A transfer request while another is pending (session).
    PENDING_TRANSFER = "EC001913", Error, code(2300), Ours,
        "Transfer pending",
        "Domain [<name>] already has a pending transfer request by another registrar.";
    /// An update adds what the object has (session).
    ALREADY_ASSOCIATED = "EC001914", Error, code(2306), Ours,
        "Value already present", "<Object> [<id>] already has <what> [<value>].";
    /// An update removes what the object does not have (session).
    NOT_ASSOCIATED = "EC001915", Error, code(2306), Ours,
        "Value not present", "<Object> [<id>] has no <what> [<value>] to remove.";
    /// no-ext-epp facets from a registrar (session).
    FACETS_RESERVED = "EC001916", Error, code(2201), Ours,
        "Facets not allowed",
        "Facets (no-ext-epp:extended) are reserved for Norid's own accounts.";
    /// A command option Norid does not implement (session).
    UNIMPLEMENTED_OPTION = "EC001917", Error, code(2102), Ours,
        "Option not supported", "<option> is not supported at .no; <hint>.";
    /// An object service the client did not declare at login (session).
    OBJECT_NOT_DECLARED = "EC001918", Error, code(2307), Ours,
        "Object service not declared",
        "Object service [<uri>] was not declared at login (svcs/objURI).";
    /// An extension the client did not declare at login (session).
    EXTENSION_NOT_DECLARED = "EC001919", Error, code(2103), Ours,
        "Extension not declared",
        "Extension [<uri>] was not declared at login (svcs/svcExtension/extURI).";
    /// An extension element that does not go with the command (session).
    EXTENSION_NOT_APPLICABLE = "EC001920", Error, code(2103), Ours,
        "Extension not used with this command", "<extension> cannot accompany <command>.";

    /// The renew window has not opened yet (seed 003).
    NOT_RENEWABLE = "EC002003", Error, code(2105), Norid,
        "Domain is not renewable", "Domain [<name>] is not renewable before [<YYYY-MM-DD>].";
    /// A domain name with non-ASCII characters on the wire.
    ACE_REQUIRED = "EC002901", Error, code(2005), Ours,
        "Domain name must be in ACE form",
        "Domain name [<name>] contains non-ASCII characters; send IDNs in ACE form[, e.g. [<ace>]].";
    /// A character outside a-z, 0-9, hyphen and the 23 Norwegian and Sami letters.
    INVALID_CHARACTER = "EC002902", Error, code(2005), Ours,
        "Invalid character in domain name",
        "Label [<label>] of domain name [<name>] contains [<char>], which .no does not allow.";
    /// A label shorter than 2 or longer than 63 characters.
    LABEL_LENGTH = "EC002903", Error, code(2004), Ours,
        "Invalid label length",
        "Label [<label>] of domain name [<name>] has <n> characters; .no labels have 2-63.";
    /// A label starting or ending with a hyphen.
    HYPHEN_AT_EDGE = "EC002904", Error, code(2005), Ours,
        "Hyphen at start or end of label",
        "Label [<label>] of domain name [<name>] must begin and end with a letter or digit.";
    /// `--` in positions 3-4 of a label that is not an IDN label.
    HYPHENS_3_4 = "EC002905", Error, code(2005), Ours,
        "Hyphens in positions 3 and 4",
        "Label [<label>] of domain name [<name>] has hyphens in positions 3 and 4 but is not a valid IDN (xn--) label.";
    /// An `xn--` label that does not decode, or does not round-trip through IDNA.
    INVALID_ACE = "EC002906", Error, code(2005), Ours,
        "Invalid IDN label",
        "Label [<label>] of domain name [<name>] is not a valid IDNA ACE label.";
    /// An empty label (leading, trailing or doubled dot).
    EMPTY_LABEL = "EC002907", Error, code(2005), Ours,
        "Malformed domain name", "Domain name [<name>] has an empty label.";
    /// A name longer than 253 characters in ACE form.
    NAME_TOO_LONG = "EC002908", Error, code(2004), Ours,
        "Domain name too long",
        "Domain name [<name>] has <n> characters; the limit is 253.";
    /// A name outside every zone Norid registers names in.
    NOT_IN_ZONE = "EC002909", Error, code(2306), Ours,
        "Domain name not under a Norid zone",
        "Domain name [<name>] is not directly under .no or under one of Norid's category or geographic domains.";
    /// A zone itself, or a name above a zone.
    RESERVED_ZONE_NAME = "EC002910", Error, code(2306), Ours,
        "Domain name is reserved",
        "Domain name [<name>] is one of Norid's category or geographic domains, or lies above one, and cannot be registered.";
    /// A name under a category domain that another party manages.
    EXTERNAL_ZONE = "EC002911", Error, code(2306), Ours,
        "Domain managed by another party",
        "Domain names under [<zone>] are not registered through Norid.";
    /// A holder type that may not register under that zone.
    ZONE_NOT_FOR_HOLDER = "EC002912", Error, code(2306), Ours,
        "Zone not open to the holder type",
        "<A person|An organization> cannot hold domain names under [<zone>].";
    /// The holder already holds as many names as allowed.
    QUOTA_EXCEEDED = "EC002913", Error, code(2308), Ours,
        "Domain quota exceeded",
        "Holder [<id>] already has <n> domain names <scope>; the limit for <persons|organizations> is <max>.";
    /// A create period other than 1 year.
    CREATE_PERIOD = "EC002920", Error, code(2004), Ours,
        "Invalid period",
        "Domain [<name>] can only be created for 1 year (period 1 y or 12 m), not [<period>].";
    /// A renew or transfer period outside 1-12 months.
    RENEW_PERIOD = "EC002921", Error, code(2004), Ours,
        "Invalid period",
        "Domain [<name>] can only be renewed for 1-12 months or 1 year, not [<period>].";
    /// `curExpDate` does not match the expiry date.
    EXPIRY_DATE_MISMATCH = "EC002922", Error, code(2306), Ours,
        "Expiry date mismatch",
        "Domain [<name>] expires on [<YYYY-MM-DD>], not on [<YYYY-MM-DD>].";
    /// An expired domain transferred without a renewal period.
    RENEWAL_PERIOD_REQUIRED = "EC002923", Error, code(2306), NoridText,
        "Renewal period required",
        "Domain [<name>] expired <YYYY-MM-DD>. The transfer command must include a renewal period.";
    /// Fewer than 2 or more than 8 name servers.
    NAME_SERVER_COUNT = "EC002924", Error, code(2306), Ours,
        "Invalid number of name servers",
        "Domain [<name>] must have 2-8 name servers, not <n>.";
    /// No tech contact left.
    TECH_CONTACT_REQUIRED = "EC002925", Error, code(2306), Ours,
        "Tech contact required", "Domain [<name>] must have at least one tech contact.";
    /// A tech contact that is not a role contact.
    TECH_NOT_ROLE = "EC002926", Error, code(2306), Ours,
        "Tech contact must be a role",
        "Contact [<id>] is <a|an> <type> contact; tech contacts must be role contacts.";
    /// An admin or billing contact.
    CONTACT_TYPE_UNUSED = "EC002927", Error, code(2306), Ours,
        "Contact type not used",
        "Contact type [<admin|billing>] is not used at .no; a domain has a registrant and tech contacts.";
    /// A role contact as registrant.
    REGISTRANT_KIND = "EC002928", Error, code(2306), Ours,
        "Invalid registrant",
        "Contact [<id>] is a role contact; the registrant must be an organization or a person.";
    /// A registrant without its identity.
    REGISTRANT_IDENTITY = "EC002929", Error, code(2306), Ours,
        "Registrant without identity",
        "Contact [<id>] has no <organizationNumber|anonymousPersonIdentifier>; a registrant must have one.";
    /// A registrant without a Norwegian postcode.
    REGISTRANT_ADDRESS = "EC002930", Error, code(2306), Ours,
        "Registrant without Norwegian address",
        "Contact [<id>] has no Norwegian postal address (country NO, postcode NO-nnnn); a registrant must have one.";
    /// A transfer code shorter than 8 or longer than 64 characters.
    TRANSFER_CODE_LENGTH = "EC002931", Error, code(2004), Ours,
        "Invalid transfer code length",
        "The transfer code has <n> characters; it must have 8-64.";
    /// A transfer code with a character outside the four groups.
    TRANSFER_CODE_CHARACTER = "EC002932", Error, code(2005), Ours,
        "Invalid character in transfer code",
        "The transfer code has a character at position <n> that is not a-z, A-Z, 0-9 or one of ! # $ % & * + , . \\ / : ; < = > ? @ _.";
    /// A transfer code from fewer than two character groups.
    TRANSFER_CODE_GROUPS = "EC002933", Error, code(2306), Ours,
        "Transfer code too simple",
        "The transfer code uses <n> of the four character groups (lower case, upper case, digits, special characters); it must use at least two.";
    /// A domain create without applicantDataset.
    DATASET_REQUIRED = "EC002934", Error, code(2003), Ours,
        "Applicant dataset required",
        "Domain [<name>] needs an applicantDataset (no-ext-domain-1.1) on create.";
    /// An applicantDataset of another version than the current one.
    DATASET_VERSION = "EC002935", Error, code(2306), Ours,
        "Applicant dataset version not accepted",
        "Applicant dataset version [<version>] is not accepted; the current version is [<current>].";
    /// A blank or too long acceptName.
    ACCEPT_NAME = "EC002936", Error, code(2004), Ours,
        "Invalid acceptName",
        "acceptName has <n> characters; it must have 1-255 and not be blank.";
    /// An acceptDate in the future.
    ACCEPT_DATE = "EC002937", Error, code(2306), Ours,
        "acceptDate in the future",
        "acceptDate [<timestamp>] is later than the current time.";
    /// A registrant change without a new applicantDataset.
    HOLDER_CHANGE_DATASET = "EC002938", Error, code(2003), Ours,
        "Applicant dataset required",
        "Changing the registrant of domain [<name>] needs a new applicantDataset in the same update.";
    /// A status a registrar may not add or remove.
    STATUS_NOT_SETTABLE = "EC002939", Error, code(2306), Ours,
        "Status not settable",
        "Status [<status>] cannot be set or removed by a registrar; only client statuses can.";
    /// A deletion date in the past.
    DELETE_DATE_PAST = "EC002940", Error, code(2306), Ours,
        "Deletion date in the past",
        "<deleteFromDNS|deleteFromRegistry> [<YYYY-MM-DD>] is before today [<YYYY-MM-DD>].";
    /// deleteFromRegistry before deleteFromDNS.
    DELETE_DATE_ORDER = "EC002941", Error, code(2306), Ours,
        "Deletion dates out of order",
        "deleteFromRegistry [<YYYY-MM-DD>] is before deleteFromDNS [<YYYY-MM-DD>].";
    /// secDNS keyData without dsData.
    KEY_DATA_ONLY = "EC002950", Error, code(2306), Ours,
        "keyData interface not supported",
        "Domain [<name>]: secDNS keyData without dsData is not supported; send dsData (keyData may accompany it).";
    /// More than 8 DS records.
    TOO_MANY_DS = "EC002951", Error, code(2306), Ours,
        "Too many DS records", "Domain [<name>] would have <n> DS records; the limit is <max>.";
    /// A DNSSEC algorithm Norid does not accept.
    DS_ALGORITHM = "EC002952", Error, code(2306), Ours,
        "DNSSEC algorithm not supported",
        "Algorithm [<n>] is not supported; use one of 8, 10, 13, 14, 15, 16.";
    /// A DS digest type Norid does not accept.
    DS_DIGEST_TYPE = "EC002953", Error, code(2306), Ours,
        "Digest type not supported",
        "Digest type [<n>] is not supported; use 2 (SHA-256) or 4 (SHA-384).";
    /// A digest that is not hex of the right length.
    DS_DIGEST = "EC002954", Error, code(2005), Ours,
        "Invalid digest",
        "Digest [<digest>] is not <n> hexadecimal characters as digest type <type> requires.";
    /// The same DS record twice in one command.
    DS_DUPLICATE = "EC002955", Error, code(2306), Ours,
        "Duplicate DS record", "DS record [<keytag> <alg> <digesttype> <digest>] is given twice.";
    /// Removing a DS record the domain does not have.
    DS_NOT_FOUND = "EC002956", Error, code(2306), Ours,
        "DS record not found",
        "Domain [<name>] has no DS record [<keytag> <alg> <digesttype> <digest>] to remove.";
    /// Adding a DS record the domain already has.
    DS_PRESENT = "EC002957", Error, code(2306), Ours,
        "DS record already present",
        "Domain [<name>] already has DS record [<keytag> <alg> <digesttype> <digest>].";
    /// keyData with bad flags, protocol or algorithm.
    KEY_DATA = "EC002958", Error, code(2306), Ours,
        "Invalid keyData",
        "keyData flags must be 256 or 257 and protocol 3, not flags <flags> and protocol <protocol>.";
    /// keyData whose public key is not base64.
    KEY_DATA_PUBKEY = "EC002959", Error, code(2005), Ours,
        "Invalid public key", "keyData pubKey is not valid base64.";
    /// maxSigLife was sent and ignored.
    MAX_SIG_LIFE_IGNORED = "EC002960", Warning, code(1000), Ours,
        "maxSigLife ignored", "maxSigLife is not supported at .no and was ignored.";
    /// A transfer request without code: a token went to the holder.
    TRANSFER_TOKEN_SENT = "EC002970", Info, code(1001), Ours,
        "Transfer token sent",
        "A one-time transfer token for domain [<name>] has been sent to the holder by <e-mail|SMS>.";
    /// `notify/email` not among the holder's addresses.
    NOTIFY_EMAIL = "EC002971", Error, code(2306), Ours,
        "E-mail address not registered",
        "E-mail address [<email>] is not registered for the holder of domain [<name>]. | The holder of domain [<name>] has no registered e-mail address.";
    /// `notify/mobilePhone` not the holder's mobile number.
    NOTIFY_MOBILE = "EC002972", Error, code(2306), Ours,
        "Mobile number not registered",
        "Mobile number [<number>] is not registered for the holder of domain [<name>].";
    /// A transfer request whose one-time token expired unused (late response).
    TRANSFER_LAPSED = "EC002973", Info, code(1000), Ours,
        "Transfer request expired",
        "The transfer request for domain [<name>] was cancelled: the one-time token expired at <dateTime> unused.";
    /// A transfer to the registrar that sponsors the domain (session).
    ALREADY_SPONSOR = "EC002980", Error, code(2106), Ours,
        "Domain already sponsored by the registrar",
        "Domain [<name>] is already sponsored by registrar [<id>].";
    /// A delete while hosts under the domain exist (session).
    SUBORDINATE_HOSTS = "EC002981", Error, code(2305), Ours,
        "Subordinate hosts exist",
        "Domain [<name>] has subordinate host [<host>]; delete it or rename it first.";
    /// A one-time transfer token past its lifetime (session).
    TOKEN_EXPIRED = "EC002982", Error, code(2202), Ours,
        "Transfer token expired",
        "The transfer token for domain [<name>] expired at <timestamp>; request a new one.";

    /// An organization without organizationNumber.
    IDENTITY_REQUIRED = "EC003901", Error, code(2003), Ours,
        "Identity required",
        "An organization contact needs an identity of type organizationNumber.";
    /// An identity type the contact type may not have.
    IDENTITY_NOT_ALLOWED = "EC003902", Error, code(2306), Ours,
        "Identity type not allowed",
        "<A|An> <type> contact cannot have an identity of type [<identity type>]; <hint>.";
    /// An organization number that is not 9 digits.
    ORG_NUMBER_SYNTAX = "EC003903", Error, code(2005), Ours,
        "Invalid organization number",
        "Organization number [<value>] must be 9 digits.";
    /// An organization number with a wrong check digit.
    ORG_NUMBER_CHECK = "EC003904", Error, code(2005), Ours,
        "Invalid organization number",
        "Organization number [<value>] has a wrong check digit (modulus 11).";
    /// A person identifier that is not `N.PRI.` and 8 digits.
    PID_SYNTAX = "EC003905", Error, code(2005), Ours,
        "Invalid person identifier",
        "Person identifier [<value>] must be N.PRI. followed by 8 digits.";
    /// Organization memberships on an organization contact.
    MEMBERSHIP_NOT_ALLOWED = "EC003906", Error, code(2306), Ours,
        "Organization membership not allowed",
        "An organization contact cannot belong to organizations; only person and role contacts can.";
    /// More than 20 organizations.
    TOO_MANY_MEMBERSHIPS = "EC003907", Error, code(2306), Ours,
        "Too many organizations",
        "A contact can belong to at most 20 organizations, not <n>.";
    /// roleContact on a non-role contact.
    ROLE_CONTACT_NOT_ALLOWED = "EC003908", Error, code(2306), Ours,
        "Role contacts not allowed",
        "<A|An> <type> contact cannot list role contacts; only role contacts can.";
    /// An organization entry that is not an organization contact.
    MEMBERSHIP_TARGET = "EC003909", Error, code(2306), Ours,
        "Invalid organization",
        "Contact [<id>] is <a|an> <type> contact; organization entries must be organization contacts.";
    /// A roleContact entry that is not a person contact.
    ROLE_CONTACT_TARGET = "EC003910", Error, code(2306), Ours,
        "Invalid role contact",
        "Contact [<id>] is <a|an> <type> contact; roleContact entries must be person contacts.";
    /// A phone number not in `+CC.NUMBER` form.
    PHONE_SYNTAX = "EC003911", Error, code(2005), Ours,
        "Invalid phone number",
        "Phone number [<value>] must be +CC.NUMBER: a 1-3 digit country code, a dot and 1-14 digits.";
    /// A phone extension that is not 1-10 digits.
    PHONE_EXTENSION = "EC003912", Error, code(2005), Ours,
        "Invalid phone extension", "Phone extension [<value>] must be 1-10 digits.";
    /// A Norwegian postcode not in `NO-nnnn` form.
    POSTCODE = "EC003913", Error, code(2005), Ours,
        "Invalid postcode",
        "Norwegian postcode [<value>] must be 4 digits, written NO-nnnn.";
    /// An e-mail address that is not an address.
    EMAIL = "EC003914", Error, code(2005), Ours,
        "Invalid e-mail address", "E-mail address [<value>] is not valid: <reason>.";
    /// A country code that is not two upper-case letters.
    COUNTRY_CODE = "EC003915", Error, code(2005), Ours,
        "Invalid country code",
        "Country code [<value>] must be two upper-case letters (ISO 3166-1 alpha-2).";
    /// postalInfo type `int`.
    POSTAL_INFO_TYPE = "EC003916", Error, code(2306), Ours,
        "Postal info type not used",
        "Only postalInfo type=\"loc\" is used at .no, not type=\"int\".";
    /// A holder the registry found no longer qualifies (session).
    HOLDER_INVALID = "EC003917", Error, code(2306), Ours,
        "Holder no longer qualifies",
        "Contact [<id>] no longer qualifies as a domain holder (since <date>); the deletion process for its domains has started.";

    /// More than 4 addresses on a host.
    HOST_ADDRESS_COUNT = "EC004901", Error, code(2306), Ours,
        "Too many addresses", "Host [<name>] can have at most 4 IP addresses, not <n>.";
    /// Addresses on a host outside .no.
    HOST_ADDRESSES_NOT_ALLOWED = "EC004902", Error, code(2306), Ours,
        "Addresses not allowed",
        "Host [<name>] is outside .no and must not have IP addresses.";
    /// A .no host without IPv4 address.
    HOST_IPV4_REQUIRED = "EC004903", Error, code(2306), Ours,
        "IPv4 address required",
        "Host [<name>] is under .no and needs at least one IPv4 address.";
    /// A private, loopback or otherwise non-public address.
    HOST_ADDRESS_NOT_PUBLIC = "EC004904", Error, code(2306), Ours,
        "Address not allowed",
        "Address [<ip>] of host [<name>] is not a public unicast address.";
    /// More than one contact on a host.
    HOST_CONTACT_COUNT = "EC004905", Error, code(2306), Ours,
        "Too many host contacts", "Host [<name>] can have at most 1 contact, not <n>.";
    /// A host contact that is not a role contact.
    HOST_CONTACT_NOT_ROLE = "EC004906", Error, code(2306), Ours,
        "Host contact must be a role",
        "Contact [<id>] is <a|an> <type> contact; host contacts must be role contacts.";
    /// An in-zone host whose superordinate domain does not exist (session).
    SUPERORDINATE_MISSING = "EC004907", Error, code(2303), Ours,
        "Superordinate domain does not exist",
        "Host [<name>] lies under domain [<domain>], which does not exist.";
    /// An in-zone host under another registrar's domain (session).
    SUPERORDINATE_NOT_SPONSOR = "EC004908", Error, code(2201), Ours,
        "Superordinate domain sponsored by another registrar",
        "Host [<name>] lies under domain [<domain>], which is sponsored by another registrar.";
    /// A host name that is not a host name (RFC 952, RFC 1123).
    HOST_NAME_SYNTAX = "EC004909", Error, code(2005), Ours,
        "Invalid host name", "Host name [<name>] is not valid: <reason>.";
    /// An address change waits for the registry's DNS check (answered 1001).
    HOST_UPDATE_PENDING = "EC004960", Info, code(1001), Ours,
        "Host update pending",
        "The address change of host [<name>] waits for the registry's DNS check; the result comes as a late response in the poll queue.";
}

/// The kind of object a condition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A contact.
    Contact,
    /// A domain.
    Domain,
    /// A host (name server).
    Host,
}

impl ObjectKind {
    /// The capitalised name that starts a sentence (`Domain`).
    pub const fn title(self) -> &'static str {
        match self {
            ObjectKind::Contact => "Contact",
            ObjectKind::Domain => "Domain",
            ObjectKind::Host => "Host",
        }
    }

    /// The lower-case name used inside a sentence (`domain`).
    pub const fn noun(self) -> &'static str {
        match self {
            ObjectKind::Contact => "contact",
            ObjectKind::Domain => "domain",
            ObjectKind::Host => "host",
        }
    }
}

/// The operation a condition reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `create`.
    Create,
    /// `delete`.
    Delete,
    /// `renew`.
    Renew,
    /// `transfer` (request, execute, cancel).
    Transfer,
    /// `update`.
    Update,
    /// `withdraw` (Norid's extension command).
    Withdraw,
}

impl Verb {
    /// The infinitive (`renew`), as in "Failed to renew domain \[x\]."
    pub const fn infinitive(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Delete => "delete",
            Verb::Renew => "renew",
            Verb::Transfer => "transfer",
            Verb::Update => "update",
            Verb::Withdraw => "withdraw",
        }
    }

    /// The past participle (`renewed`), as in "Domain \[x\] has been renewed."
    pub const fn participle(self) -> &'static str {
        match self {
            Verb::Create => "created",
            Verb::Delete => "deleted",
            Verb::Renew => "renewed",
            Verb::Transfer => "transferred",
            Verb::Update => "updated",
            Verb::Withdraw => "withdrawn",
        }
    }
}

/// `EC001024`: "`<Object> [<id>] has been <verb>.`", sent with 1000 on every successful mutating
/// command (seeds 003 and 004).
pub fn command_completed(object: ObjectKind, id: &str, verb: Verb) -> Condition {
    defs::COMMAND_COMPLETED.with_details(format!(
        "{} [{id}] has been {}.",
        object.title(),
        verb.participle()
    ))
}

/// `EC001025`: "`Failed to <verb> <object> [<id>].`", sent first on every failed mutating
/// command, before the `error` conditions that say why (seed 003).
pub fn command_failed(verb: Verb, object: ObjectKind, id: &str) -> Condition {
    defs::COMMAND_FAILED.with_details(format!(
        "Failed to {} {} [{id}].",
        verb.infinitive(),
        object.noun()
    ))
}

/// `EC002960` (warning): maxSigLife was sent and ignored; goes with 1000 beside `EC001024`.
pub fn max_sig_life_ignored() -> Condition {
    defs::MAX_SIG_LIFE_IGNORED.with_details(defs::MAX_SIG_LIFE_IGNORED.details.to_owned())
}

/// How a one-time transfer token reaches the holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenChannel {
    /// By e-mail (the default, or `notify/email`).
    Email,
    /// By SMS to the registered mobile phone (`notify/mobilePhone`).
    Sms,
}

/// `EC002970` (info): a transfer request without transfer code made the registry send a
/// one-time token to the holder; goes with 1001.
pub fn transfer_token_sent(domain: &str, channel: TokenChannel) -> Condition {
    let by = match channel {
        TokenChannel::Email => "e-mail",
        TokenChannel::Sms => "SMS",
    };
    defs::TRANSFER_TOKEN_SENT.with_details(format!(
        "A one-time transfer token for domain [{domain}] has been sent to the holder by {by}."
    ))
}

/// `EC004960` (info): a host update changed addresses; the change waits for the registry's
/// DNS check and its result comes as an `epp-late-response` poll message; goes with 1001.
pub fn host_update_pending(host: &str) -> Condition {
    defs::HOST_UPDATE_PENDING.with_details(format!(
        "The address change of host [{host}] waits for the registry's DNS check; the result \
         comes as a late response in the poll queue."
    ))
}

/// `EC002973` (info): a pending transfer request lapsed because its one-time token expired
/// unused; goes with 1000 in the `epp-late-response` to the request.
pub fn transfer_lapsed(domain: &str, expired: epp_xml::Timestamp) -> Condition {
    defs::TRANSFER_LAPSED.with_details(format!(
        "The transfer request for domain [{domain}] was cancelled: the one-time token expired \
         at {expired} unused."
    ))
}

/// Renders the catalogue as the Markdown table kept in `docs/conditions.md`.
pub fn catalogue_markdown() -> String {
    let mut out = String::from(
        "| code | severity | msg | details pattern | EPP result | origin |\n\
         |---|---|---|---|---|---|\n",
    );
    for def in CATALOGUE {
        let result = match def.result {
            Accompanies::Code(c) => c.code().to_string(),
            Accompanies::FailedCommand => "the failed command's code".to_owned(),
        };
        let origin = match def.origin {
            Origin::Norid => "Norid",
            Origin::NoridText => "Norid's text, our code",
            Origin::Ours => "ours",
        };
        // GitHub tables split cells at `|`, even inside code spans, unless it is escaped.
        let cell = |s: &str| s.replace('|', "\\|");
        out.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} |\n",
            def.code,
            def.severity,
            cell(def.msg),
            cell(def.details),
            result,
            origin
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn seed_texts_are_reproduced_byte_for_byte() {
        let c = command_completed(
            ObjectKind::Domain,
            "2017-09-09-dom-test-ny-renew.no",
            Verb::Renew,
        );
        assert_eq!(c.code, "EC001024");
        assert_eq!(c.severity.as_str(), "info");
        assert_eq!(c.msg, "Command completed");
        assert_eq!(
            c.details,
            "Domain [2017-09-09-dom-test-ny-renew.no] has been renewed."
        );
        let c = command_completed(ObjectKind::Contact, "TR85R", Verb::Update);
        assert_eq!(c.details, "Contact [TR85R] has been updated.");
        let c = command_failed(
            Verb::Renew,
            ObjectKind::Domain,
            "2017-09-09-dom-test-ny-renew.no",
        );
        assert_eq!(c.code, "EC001025");
        assert_eq!(c.severity, Severity::Info);
        assert_eq!(c.msg, "Command failed");
        assert_eq!(
            c.details,
            "Failed to renew domain [2017-09-09-dom-test-ny-renew.no]."
        );
        let c = command_failed(Verb::Transfer, ObjectKind::Domain, "x.no");
        assert_eq!(c.details, "Failed to transfer domain [x.no].");
    }

    #[test]
    fn codes_are_unique_well_formed_and_sorted() {
        let mut seen = HashSet::new();
        let mut last = "";
        for def in CATALOGUE {
            assert!(seen.insert(def.code), "duplicate {}", def.code);
            assert!(def.code.len() <= 24);
            assert!(
                def.code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                "{}",
                def.code
            );
            assert!(def.code > last, "{} out of order", def.code);
            last = def.code;
            if def.origin == Origin::Ours || def.origin == Origin::NoridText {
                assert_eq!(&def.code[5..6], "9", "our codes use x9xx: {}", def.code);
            }
            assert!(!def.msg.is_empty() && !def.details.is_empty());
        }
    }

    #[test]
    fn informational_builders() {
        let c = max_sig_life_ignored();
        assert_eq!((c.code, c.severity), ("EC002960", Severity::Warning));
        let c = transfer_token_sent("a.no", TokenChannel::Sms);
        assert_eq!(
            c.details,
            "A one-time transfer token for domain [a.no] has been sent to the holder by SMS."
        );
        assert_eq!(c.severity, Severity::Info);
    }

    #[test]
    fn verbs_read_naturally() {
        for (v, inf, part) in [
            (Verb::Create, "create", "created"),
            (Verb::Delete, "delete", "deleted"),
            (Verb::Transfer, "transfer", "transferred"),
            (Verb::Withdraw, "withdraw", "withdrawn"),
        ] {
            assert_eq!((v.infinitive(), v.participle()), (inf, part));
        }
        let c = command_completed(ObjectKind::Host, "ns1.example.no", Verb::Delete);
        assert_eq!(c.details, "Host [ns1.example.no] has been deleted.");
    }
}
