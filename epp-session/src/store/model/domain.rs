//! Domain objects (RFC 5731, secDNS-1.1 RFC 5910, Norid `no-ext-domain-1.1`).

use std::collections::BTreeMap;

use epp_xml::{ClTrid, ClientId, ContactId, Date, DomainName, HostName, Roid, SvTrid, Timestamp};
use serde::{Deserialize, Serialize};

use super::serde_as::{opt_text, opt_time, text, time, vec_text};
use super::{AuthInfo, StatusNote, token_enum};

/// A domain name object: RFC 5731 section 3.1.2 `<domain:infData>` plus Norid's applicant
/// dataset, delete dates and lifecycle, and the secDNS-1.1 delegation signer data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// The fully qualified name in ACE form, lower case; unique in the registry.
    #[serde(with = "text")]
    pub name: DomainName,
    /// The repository object identifier, e.g. `DOM659889D-NORID`; unique among domains.
    #[serde(with = "text")]
    pub roid: Roid,
    /// Status values set on the object, with the client's optional reason text. Values a
    /// server derives when it answers (`ok`, `inactive`) need not be stored.
    #[serde(default)]
    pub statuses: BTreeMap<DomainStatus, Option<StatusNote>>,
    /// The registrant (Norid: an organization or person contact); must exist.
    #[serde(with = "text")]
    pub registrant: ContactId,
    /// Other contacts by role (Norid uses `tech` role contacts only); each must exist.
    #[serde(default)]
    pub contacts: Vec<DomainContact>,
    /// Name servers as host objects, in the client's order; each must exist.
    #[serde(default, with = "vec_text")]
    pub ns: Vec<HostName>,
    /// The transfer code (`<domain:authInfo><domain:pw>`); `None` when not set.
    #[serde(default)]
    pub auth_info: Option<AuthInfo>,
    /// The sponsoring registrar (`clID`); must exist.
    #[serde(with = "text")]
    pub cl_id: ClientId,
    /// The registrar that created the object (`crID`).
    #[serde(with = "text")]
    pub cr_id: ClientId,
    /// When the object was created (`crDate`).
    #[serde(with = "time")]
    pub cr_date: Timestamp,
    /// The registrar that last updated the object (`upID`).
    #[serde(default, with = "opt_text")]
    pub up_id: Option<ClientId>,
    /// When the object was last updated (`upDate`).
    #[serde(default, with = "opt_time")]
    pub up_date: Option<Timestamp>,
    /// When the registration expires (`exDate`).
    #[serde(with = "time")]
    pub ex_date: Timestamp,
    /// When the object was last transferred (`trDate`).
    #[serde(default, with = "opt_time")]
    pub tr_date: Option<Timestamp>,
    /// Norid's applicant declaration (`no-ext-domain:applicantDataset`).
    #[serde(default)]
    pub applicant_dataset: Option<ApplicantDataset>,
    /// Norid `no-ext-domain:delete/deleteFromDNS`: the day the domain leaves the DNS.
    #[serde(default, with = "opt_text")]
    pub delete_from_dns: Option<Date>,
    /// Norid `no-ext-domain:delete/deleteFromRegistry`: the day the domain is removed.
    #[serde(default, with = "opt_text")]
    pub delete_from_registry: Option<Date>,
    /// DNSSEC delegation signer data (RFC 5910); empty when the delegation is unsigned.
    #[serde(default)]
    pub sec_dns: SecDns,
    /// The most recent transfer request, for `<transfer op="query">` (RFC 5731 3.1.3).
    #[serde(default)]
    pub transfer: Option<TransferRecord>,
    /// Where the domain is in the registry's expiry and deletion lifecycle.
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// The version this snapshot was read at (1 after create). Not part of the JSON form:
    /// the SQL stores keep it in its own column.
    #[serde(skip)]
    pub version: u64,
}

/// A contact of a domain with its role (`<domain:contact type="tech">`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DomainContact {
    /// The role (`type` attribute).
    #[serde(rename = "type")]
    pub role: ContactRole,
    /// The contact; must exist.
    #[serde(with = "text")]
    pub id: ContactId,
}

token_enum!(
    /// The role of a domain contact (RFC 5731 `contactAttrType`).
    ContactRole, "domain:contactAttrType" {
        /// Administrative contact (not used by Norid since 2018).
        Admin = "admin",
        /// Billing contact (not used by Norid).
        Billing = "billing",
        /// Technical contact (Norid: a role contact).
        Tech = "tech",
    }
);

token_enum!(
    /// A domain status value (RFC 5731 section 2.3, `domain:statusValueType`).
    DomainStatus, "domain:statusValueType" {
        /// Requests to delete the object are refused (client-set).
        ClientDeleteProhibited = "clientDeleteProhibited",
        /// The domain is not published in the DNS (client-set).
        ClientHold = "clientHold",
        /// Requests to renew the object are refused (client-set).
        ClientRenewProhibited = "clientRenewProhibited",
        /// Requests to transfer the object are refused (client-set).
        ClientTransferProhibited = "clientTransferProhibited",
        /// Requests to update the object (other than to remove this status) are refused.
        ClientUpdateProhibited = "clientUpdateProhibited",
        /// The domain has no name servers.
        Inactive = "inactive",
        /// The object has no other status.
        Ok = "ok",
        /// A create is pending.
        PendingCreate = "pendingCreate",
        /// A delete is pending.
        PendingDelete = "pendingDelete",
        /// A renew is pending.
        PendingRenew = "pendingRenew",
        /// A transfer is pending.
        PendingTransfer = "pendingTransfer",
        /// An update is pending.
        PendingUpdate = "pendingUpdate",
        /// Requests to delete the object are refused (server-set).
        ServerDeleteProhibited = "serverDeleteProhibited",
        /// The domain is not published in the DNS (server-set).
        ServerHold = "serverHold",
        /// Requests to renew the object are refused (server-set).
        ServerRenewProhibited = "serverRenewProhibited",
        /// Requests to transfer the object are refused (server-set).
        ServerTransferProhibited = "serverTransferProhibited",
        /// Requests to update the object are refused (server-set).
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
);

/// Norid's applicant declaration dataset (`no-ext-domain-1.1` `applicantDatasetType`), with
/// the two fields the registry adds when it shows the dataset in `info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicantDataset {
    /// The declaration version the applicant accepted, e.g. `3.2`.
    pub version_number: String,
    /// The name of the person who accepted (1-255 characters).
    pub accept_name: String,
    /// When the declaration was accepted.
    #[serde(with = "time")]
    pub accept_date: Timestamp,
    /// The registrar that sent the dataset (`updateClientID` in `infData`).
    #[serde(with = "text")]
    pub update_client_id: ClientId,
    /// When the registry received the dataset (`updateDate` in `infData`).
    #[serde(with = "time")]
    pub update_date: Timestamp,
}

/// DNSSEC data of a domain in the secDNS-1.1 DS-data interface (RFC 5910 section 4).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecDns {
    /// `<secDNS:maxSigLife>` in seconds, when the client set one.
    #[serde(default)]
    pub max_sig_life: Option<u32>,
    /// The DS records, in the client's order.
    #[serde(default)]
    pub ds: Vec<DsData>,
}

/// One delegation signer record (`<secDNS:dsData>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DsData {
    /// `<secDNS:keyTag>`.
    pub key_tag: u16,
    /// `<secDNS:alg>`: the DNSSEC algorithm number.
    pub alg: u8,
    /// `<secDNS:digestType>`.
    pub digest_type: u8,
    /// `<secDNS:digest>` as hexadecimal text.
    pub digest: String,
    /// The optional `<secDNS:keyData>` accompanying the DS record.
    #[serde(default)]
    pub key_data: Option<KeyData>,
}

/// A DNSKEY (`<secDNS:keyData>`, RFC 5910 section 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyData {
    /// `<secDNS:flags>`.
    pub flags: u16,
    /// `<secDNS:protocol>` (always 3 in DNSSEC).
    pub protocol: u8,
    /// `<secDNS:alg>`.
    pub alg: u8,
    /// `<secDNS:pubKey>` as base64 text.
    pub pub_key: String,
}

/// The most recent transfer request of a domain (RFC 5731 `<domain:trnData>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRecord {
    /// `trStatus`.
    pub status: TransferStatus,
    /// `reID`: the requesting registrar.
    #[serde(with = "text")]
    pub requested_by: ClientId,
    /// `reDate`: when the request was made.
    #[serde(with = "time")]
    pub requested_at: Timestamp,
    /// `acID`: the registrar that should act (the sponsor at request time).
    #[serde(with = "text")]
    pub action_by: ClientId,
    /// `acDate`: when it was acted on, or by when it must be.
    #[serde(with = "time")]
    pub action_at: Timestamp,
    /// The request's clTRID, for the late response when a pending request lapses.
    #[serde(default, with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub cl_trid: Option<ClTrid>,
    /// The request's svTRID, for the late response when a pending request lapses.
    #[serde(default, with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub sv_trid: Option<SvTrid>,
}

token_enum!(
    /// A transfer status (RFC 5730 `trStatusType`).
    TransferStatus, "epp:trStatusType" {
        /// Approved by the sponsor.
        ClientApproved = "clientApproved",
        /// Cancelled by the requesting registrar.
        ClientCancelled = "clientCancelled",
        /// Rejected by the sponsor.
        ClientRejected = "clientRejected",
        /// Waiting for an action.
        Pending = "pending",
        /// Approved by the registry (Norid: executed with a code or token).
        ServerApproved = "serverApproved",
        /// Cancelled by the registry (Norid: the token expired).
        ServerCancelled = "serverCancelled",
    }
);

/// Where a domain is in the registry's own lifecycle, beyond what EPP statuses say.
///
/// Norid: a domain not renewed by its expiry leaves the zone and is quarantined at +2
/// months and deleted at +3 months; a delete with a later `deleteFromRegistry` date keeps
/// the object until then. The registry's scheduler moves domains between these states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Lifecycle {
    /// Registered and, unless held, published.
    #[default]
    Active,
    /// Removed from the zone after expiry; a renew restores it.
    Quarantined {
        /// When the quarantine started.
        #[serde(with = "time")]
        since: Timestamp,
    },
    /// Deleted by its registrar with future dates; removed when they are reached.
    PendingDelete {
        /// When the delete was requested.
        #[serde(with = "time")]
        since: Timestamp,
    },
}

impl Lifecycle {
    /// The state's name as the SQL stores index it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Quarantined { .. } => "quarantined",
            Self::PendingDelete { .. } => "pendingDelete",
        }
    }

    /// When the current state was entered, for states that record it.
    pub fn since(self) -> Option<Timestamp> {
        match self {
            Self::Active => None,
            Self::Quarantined { since } | Self::PendingDelete { since } => Some(since),
        }
    }
}

impl Domain {
    /// Whether a status value is set.
    pub fn has_status(&self, status: DomainStatus) -> bool {
        self.statuses.contains_key(&status)
    }

    /// The technical contacts, in order.
    pub fn tech_contacts(&self) -> impl Iterator<Item = &ContactId> {
        self.contacts
            .iter()
            .filter(|c| c.role == ContactRole::Tech)
            .map(|c| &c.id)
    }

    /// Every contact the domain refers to: the registrant first, then the role contacts.
    pub fn referenced_contacts(&self) -> impl Iterator<Item = &ContactId> {
        std::iter::once(&self.registrant).chain(self.contacts.iter().map(|c| &c.id))
    }
}

/// Which domains a listing returns. Listings are ordered by name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DomainQuery {
    /// Every domain.
    All,
    /// Domains sponsored by a registrar.
    Sponsor(ClientId),
    /// Domains whose registrant is the contact (per-holder quotas).
    Registrant(ContactId),
    /// Domains that use the host as a name server.
    NameServer(HostName),
    /// [`Lifecycle::Active`] domains whose `exDate` is before the instant.
    ExpiredBefore(Timestamp),
    /// [`Lifecycle::Quarantined`] domains whose quarantine started before the instant.
    QuarantinedBefore(Timestamp),
    /// Domains with a `deleteFromDNS` date on or before the day.
    DeleteFromDnsBy(Date),
    /// Domains with a `deleteFromRegistry` date on or before the day.
    DeleteFromRegistryBy(Date),
}
