//! Host (name server) objects (RFC 5732, Norid `no-ext-host-1.0`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Roid, SvTrid, Timestamp};
use serde::{Deserialize, Serialize};

use super::serde_as::{opt_text, opt_time, text, time, vec_text};
use super::{StatusNote, token_enum};

/// A host object: RFC 5732 section 3.1.2 `<host:infData>` plus Norid's host contact and the
/// address change waiting for the registry's DNS check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Host {
    /// The host name in ACE form, lower case; unique in the registry. An update may change
    /// it (RFC 5732 `<host:chg><host:name>`); domains that use the host follow.
    #[serde(with = "text")]
    pub name: HostName,
    /// The repository object identifier: the host's identity across renames.
    #[serde(with = "text")]
    pub roid: Roid,
    /// Status values set on the object (`linked` is derived, not stored).
    #[serde(default)]
    pub statuses: BTreeMap<HostStatus, Option<StatusNote>>,
    /// IPv4 and IPv6 addresses, in the client's order.
    #[serde(default)]
    pub addrs: Vec<IpAddr>,
    /// Norid's `no-ext-host:contact` (a role contact; Norid allows one); each must exist.
    #[serde(default, with = "vec_text")]
    pub contacts: Vec<ContactId>,
    /// The sponsoring registrar (`clID`); must exist.
    #[serde(with = "text")]
    pub cl_id: ClientId,
    /// `crID`.
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
    /// An address change waiting for the registry's DNS check (Norid answers such an
    /// update as pending and reports the outcome by a late-response poll message).
    #[serde(default)]
    pub pending: Option<PendingHostUpdate>,
    /// The version this snapshot was read at (see [`Domain::version`](super::Domain)).
    #[serde(skip)]
    pub version: u64,
}

/// An address change of a host waiting for the registry's DNS check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingHostUpdate {
    /// The addresses the host will have once the check passes.
    #[serde(default)]
    pub addrs: Vec<IpAddr>,
    /// The registrar that sent the update.
    #[serde(with = "text")]
    pub requested_by: ClientId,
    /// When the update was received.
    #[serde(with = "time")]
    pub requested_at: Timestamp,
    /// The update's clTRID, for the late response.
    #[serde(default, with = "opt_text")]
    pub cl_trid: Option<ClTrid>,
    /// The update's svTRID, for the late response.
    #[serde(default, with = "opt_text")]
    pub sv_trid: Option<SvTrid>,
}

token_enum!(
    /// A host status value (RFC 5732 section 2.3, `host:statusValueType`).
    HostStatus, "host:statusValueType" {
        /// Requests to delete the object are refused (client-set).
        ClientDeleteProhibited = "clientDeleteProhibited",
        /// Requests to update the object are refused (client-set).
        ClientUpdateProhibited = "clientUpdateProhibited",
        /// The object is referenced by a domain.
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
        /// Requests to update the object are refused (server-set).
        ServerUpdateProhibited = "serverUpdateProhibited",
    }
);

/// Which hosts a listing returns. Listings are ordered by name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostQuery {
    /// Every host.
    All,
    /// Hosts sponsored by a registrar.
    Sponsor(ClientId),
    /// Hosts whose name lies under the domain (`ns1.example.no` under `example.no`): the
    /// domain's subordinate hosts (RFC 5731 `<domain:host>`).
    Subordinate(DomainName),
    /// Hosts with an address change waiting for the DNS check.
    Pending,
    /// Hosts that name the contact.
    Contact(ContactId),
}
