//! Contact objects (RFC 5733, Norid `no-ext-contact-1.0`).

use std::collections::BTreeMap;

use epp_xml::{ClientId, ContactId, Roid, Timestamp};
use serde::{Deserialize, Serialize};

use super::serde_as::{opt_text, opt_time, text, time, vec_text};
use super::{AuthInfo, StatusNote, token_enum};

/// A contact object: RFC 5733 section 3.1.2 `<contact:infData>` plus Norid's
/// `no-ext-contact:infData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// The server-assigned identifier, ending in `P`, `O` or `R` by [`ContactType`] at
    /// Norid (e.g. `TR85R`); unique in the registry.
    #[serde(with = "text")]
    pub id: ContactId,
    /// The repository object identifier; unique among contacts.
    #[serde(with = "text")]
    pub roid: Roid,
    /// Norid's contact type (`no-ext-contact:type`).
    #[serde(rename = "type")]
    pub kind: ContactType,
    /// Status values set on the object (`linked` is derived, not stored).
    #[serde(default)]
    pub statuses: BTreeMap<ContactStatus, Option<StatusNote>>,
    /// `<contact:postalInfo type="loc">` (the only form Norid uses).
    #[serde(default)]
    pub postal_loc: Option<PostalInfo>,
    /// `<contact:postalInfo type="int">`.
    #[serde(default)]
    pub postal_int: Option<PostalInfo>,
    /// `<contact:voice>`.
    #[serde(default)]
    pub voice: Option<Phone>,
    /// `<contact:fax>`.
    #[serde(default)]
    pub fax: Option<Phone>,
    /// `<contact:email>`.
    pub email: String,
    /// `<contact:authInfo>` (Norid gives it no role; kept as sent).
    #[serde(default)]
    pub auth_info: Option<AuthInfo>,
    /// `<contact:disclose>`.
    #[serde(default)]
    pub disclose: Option<Disclose>,
    /// `no-ext-contact:identity`.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// `no-ext-contact:mobilePhone`.
    #[serde(default)]
    pub mobile: Option<Phone>,
    /// `no-ext-contact:email`: addresses beyond `<contact:email>`.
    #[serde(default)]
    pub extra_emails: Vec<String>,
    /// `no-ext-contact:organization`: organization contacts this person or role belongs
    /// to; each must exist.
    #[serde(default, with = "vec_text")]
    pub organizations: Vec<ContactId>,
    /// `no-ext-contact:roleContact`: person contacts behind a role; each must exist.
    #[serde(default, with = "vec_text")]
    pub role_contacts: Vec<ContactId>,
    /// `no-ext-contact:disclose flag` for `mobilePhone`, when given.
    #[serde(default)]
    pub disclose_mobile: Option<bool>,
    /// When the registry found that this contact no longer qualifies as a domain holder
    /// (the operator's `invalid-registrant-started`); it then cannot take new domains.
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub invalid_holder_since: Option<Timestamp>,
    /// The sponsoring registrar (`clID`); must exist.
    #[serde(with = "text")]
    pub cl_id: ClientId,
    /// The registrar that created the object (`crID`).
    #[serde(with = "text")]
    pub cr_id: ClientId,
    /// `crDate`.
    #[serde(with = "time")]
    pub cr_date: Timestamp,
    /// `upID`.
    #[serde(default, with = "opt_text")]
    pub up_id: Option<ClientId>,
    /// `upDate`.
    #[serde(default, with = "opt_time")]
    pub up_date: Option<Timestamp>,
    /// `trDate`.
    #[serde(default, with = "opt_time")]
    pub tr_date: Option<Timestamp>,
    /// The version this snapshot was read at (see [`Domain::version`](super::Domain)).
    #[serde(skip)]
    pub version: u64,
}

token_enum!(
    /// Norid's contact type (`no-ext-contact:typeType`).
    ContactType, "no-ext-contact:typeType" {
        /// An organization (registrant; identity `organizationNumber`).
        Organization = "organization",
        /// A private person (registrant; identity `anonymousPersonIdentifier`).
        Person = "person",
        /// A role such as "Hostmaster" (tech contact of domains and hosts).
        Role = "role",
    }
);

impl ContactType {
    /// The letter Norid's contact ids end with for this type.
    pub fn id_suffix(self) -> char {
        match self {
            Self::Organization => 'O',
            Self::Person => 'P',
            Self::Role => 'R',
        }
    }
}

token_enum!(
    /// A contact status value (RFC 5733 section 2.2, `contact:statusValueType`).
    ContactStatus, "contact:statusValueType" {
        /// Requests to delete the object are refused (client-set).
        ClientDeleteProhibited = "clientDeleteProhibited",
        /// Requests to transfer the object are refused (client-set).
        ClientTransferProhibited = "clientTransferProhibited",
        /// Requests to update the object are refused (client-set).
        ClientUpdateProhibited = "clientUpdateProhibited",
        /// The object is referenced by another object.
        Linked = "linked",
        /// The object has no other status.
        Ok = "ok",
        /// A create is pending.
        PendingCreate = "pendingCreate",
        /// A delete is pending.
        PendingDelete = "pendingDelete",
        /// A transfer is pending.
        PendingTransfer = "pendingTransfer",
        /// An update is pending.
        PendingUpdate = "pendingUpdate",
        /// Requests to delete the object are refused (server-set).
        ServerDeleteProhibited = "serverDeleteProhibited",
        /// Requests to transfer the object are refused (server-set).
        ServerTransferProhibited = "serverTransferProhibited",
        /// Requests to update the object are refused (server-set).
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
);

/// A postal address block (`<contact:postalInfo>`, RFC 5733 section 2.4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalInfo {
    /// `<contact:name>`.
    pub name: String,
    /// `<contact:org>`.
    #[serde(default)]
    pub org: Option<String>,
    /// `<contact:street>`, at most three lines.
    #[serde(default)]
    pub street: Vec<String>,
    /// `<contact:city>`.
    pub city: String,
    /// `<contact:sp>`: state or province.
    #[serde(default)]
    pub sp: Option<String>,
    /// `<contact:pc>`: postal code (Norid writes Norwegian ones as `NO-7005`).
    #[serde(default)]
    pub pc: Option<String>,
    /// `<contact:cc>`: ISO 3166 two-letter country code.
    pub cc: String,
}

/// A telephone number in EPP's e164 form (`+47.73557900`) with an optional extension
/// (`x` attribute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    /// The number, e.g. `+47.73557900`.
    pub number: String,
    /// The extension, e.g. `123`.
    #[serde(default)]
    pub ext: Option<String>,
}

/// `<contact:disclose>` (RFC 5733 section 2.9): which elements the `flag` applies to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disclose {
    /// The `flag` attribute: `true` to disclose the listed elements, `false` to hide them.
    pub flag: bool,
    /// `<contact:name type="int">`.
    #[serde(default)]
    pub name_int: bool,
    /// `<contact:name type="loc">`.
    #[serde(default)]
    pub name_loc: bool,
    /// `<contact:org type="int">`.
    #[serde(default)]
    pub org_int: bool,
    /// `<contact:org type="loc">`.
    #[serde(default)]
    pub org_loc: bool,
    /// `<contact:addr type="int">`.
    #[serde(default)]
    pub addr_int: bool,
    /// `<contact:addr type="loc">`.
    #[serde(default)]
    pub addr_loc: bool,
    /// `<contact:voice>`.
    #[serde(default)]
    pub voice: bool,
    /// `<contact:fax>`.
    #[serde(default)]
    pub fax: bool,
    /// `<contact:email>`.
    #[serde(default)]
    pub email: bool,
}

/// Norid's `no-ext-contact:identity`: an identifier of the organization or person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The identity's `type` attribute.
    #[serde(rename = "type")]
    pub kind: IdentityType,
    /// The identifier, e.g. `985821585` or `N.PRI.61879025`.
    pub value: String,
}

token_enum!(
    /// Norid's identity types (`no-ext-contact:identityTypeType`).
    IdentityType, "no-ext-contact:identityTypeType" {
        /// A pseudonymous private-person identifier from Norid's PID service.
        AnonymousPersonIdentifier = "anonymousPersonIdentifier",
        /// A local identity.
        LocalIdentity = "localIdentity",
        /// A Norwegian national identity number.
        NationalIdentityNumber = "nationalIdentityNumber",
        /// A number in the Brønnøysund register of legal entities (9 digits).
        OrganizationNumber = "organizationNumber",
    }
);

impl Contact {
    /// Every contact this contact refers to (organizations, then role contacts).
    pub fn referenced_contacts(&self) -> impl Iterator<Item = &ContactId> {
        self.organizations.iter().chain(&self.role_contacts)
    }
}

/// Which contacts a listing returns. Listings are ordered by id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContactQuery {
    /// Every contact.
    All,
    /// Contacts sponsored by a registrar.
    Sponsor(ClientId),
    /// Person and role contacts that name the organization contact.
    MemberOf(ContactId),
}
