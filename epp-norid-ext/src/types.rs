//! Norid's extension values: what commands carry and what responses hold.

use epp_xml::{DomainTransfer, Response};

use crate::Norid;
use crate::generated::{no_ext_contact, no_ext_domain, no_ext_epp, no_ext_host, no_ext_result};

pub use no_ext_contact::{
    ChgType as ContactExtChg, ContactTypeType as ContactType, CreateType as ContactExtCreate,
    DiscloseType as ContactExtDisclose, IdentityType as Identity, IdentityTypeType as IdentityKind,
    UpdateType as ContactExtUpdate,
};
/// `no-ext-contact:add` / `rem`: extra e-mails, organizations and role contacts.
pub type ContactExtAddRem = no_ext_contact::AddRemType;
/// `no-ext-contact:infData`: the same data as create.
pub type ContactExtInfData = no_ext_contact::CreateType;
pub use no_ext_domain::{
    ApplicantDatasetCreUpdType as ApplicantDataset,
    ApplicantDatasetInfoType as ApplicantDatasetInfo, CreateType as DomainExtCreate,
    DeleteExtensionType as DomainExtDelete, InfDataType as DomainExtInfData,
    TransferExtensionType as DomainExtTransfer, TransferNotifyType as TransferNotify,
    TransferNotifyTypeContent as TransferNotifyKind, UpdateType as DomainExtUpdate,
    WithdrawType as Withdraw,
};
/// `no-ext-domain:update/chg`.
pub type DomainExtChg = no_ext_domain::ApplicantDatasetChgType;
pub use no_ext_epp::{FacetListType as Facets, FacetType as Facet};
pub use no_ext_host::{
    AddRemType as HostExtAddRem, CreateType as HostExtCreate, InfoType as HostExtInfo,
    UpdateType as HostExtUpdate,
};
/// `no-ext-host:infData`: the host's contact.
pub type HostExtInfData = no_ext_host::CreateType;
pub use no_ext_result::{
    AttributeType as MessageEntry, ConditionListType as Conditions,
    ConditionSeverityType as Severity, ConditionType as Condition,
};

/// Which version of Norid's domain extension an element came in (or goes out in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainExtVersion {
    /// `no-ext-domain-1.0` (legacy; transfer, withdraw and delete only).
    V1_0,
    /// `no-ext-domain-1.1`.
    V1_1,
}

impl DomainExtVersion {
    /// The namespace URI.
    pub fn namespace(self) -> &'static str {
        match self {
            DomainExtVersion::V1_0 => crate::ns::NO_EXT_DOMAIN_1_0,
            DomainExtVersion::V1_1 => crate::ns::NO_EXT_DOMAIN_1_1,
        }
    }
}

/// An element of Norid's in a command's `<extension>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoridCommandExt {
    /// `no-ext-contact:create`: type, identity, mobile, e-mails, links, disclosure.
    ContactCreate(ContactExtCreate),
    /// `no-ext-contact:update`.
    ContactUpdate(ContactExtUpdate),
    /// `no-ext-domain:create` (1.1): the applicant dataset.
    DomainCreate(DomainExtCreate),
    /// `no-ext-domain:update` (1.1): a new applicant dataset.
    DomainUpdate(DomainExtUpdate),
    /// `no-ext-domain:delete`: deleteFromDNS and deleteFromRegistry dates.
    DomainDelete(DomainExtVersion, DomainExtDelete),
    /// `no-ext-domain:transfer`: one-time token (execute) or where to send it (request).
    DomainTransfer(DomainExtVersion, DomainExtTransfer),
    /// `no-ext-host:create`: the host's contact.
    HostCreate(HostExtCreate),
    /// `no-ext-host:update`: contact add/rem.
    HostUpdate(HostExtUpdate),
    /// `no-ext-host:info`: the sponsoring registrar of another registrar's host.
    HostInfo(HostExtInfo),
    /// `no-ext-epp:extended`: facets, reserved for Norid's own accounts.
    Facets(Facets),
}

impl NoridCommandExt {
    /// The namespace URI of the element.
    pub fn namespace(&self) -> &'static str {
        use crate::ns::*;
        match self {
            NoridCommandExt::ContactCreate(_) | NoridCommandExt::ContactUpdate(_) => NO_EXT_CONTACT,
            NoridCommandExt::DomainCreate(_) | NoridCommandExt::DomainUpdate(_) => {
                NO_EXT_DOMAIN_1_1
            }
            NoridCommandExt::DomainDelete(v, _) | NoridCommandExt::DomainTransfer(v, _) => {
                v.namespace()
            }
            NoridCommandExt::HostCreate(_)
            | NoridCommandExt::HostUpdate(_)
            | NoridCommandExt::HostInfo(_) => NO_EXT_HOST,
            NoridCommandExt::Facets(_) => NO_EXT_EPP,
        }
    }
}

/// A Norid extension command, carried as `<epp><extension><no-ext-epp:command>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoridCommand {
    /// `transfer op="execute"` of a domain, with the transfer code, or with a token in the
    /// inner extension (`no-ext-domain:transfer/token`).
    TransferExecute(DomainTransfer),
    /// `withdraw`: the registrar gives the domain up to `reg0`.
    Withdraw(DomainExtVersion, Withdraw),
}

/// An element of Norid's in a response's `<extension>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoridResponseExt {
    /// `<conditions>` (no-ext-result): details of the outcome.
    Conditions(Conditions),
    /// `no-ext-domain:infData` (1.1): the applicant dataset.
    DomainInfData(DomainExtInfData),
    /// `no-ext-contact:infData`.
    ContactInfData(ContactExtInfData),
    /// `no-ext-host:infData`: the host's contact.
    HostInfData(HostExtInfData),
}

/// A `resData` payload of Norid's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoridResData {
    /// A service message (`<message type=...>`, no-ext-result) in a poll response.
    Message(ServiceMessage),
}

/// A Norid service message (no-ext-result `messageType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMessage {
    /// `type`, e.g. `epp-late-response`, `response-copy`, `domain-transferred` (token, at
    /// most 100 characters).
    pub kind: String,
    /// `<desc>`.
    pub desc: String,
    /// `<data>`, when present.
    pub data: Option<MessageData>,
}

/// The `<data>` of a service message: named entries and an optional embedded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageData {
    /// `<entry name="...">value</entry>` elements.
    pub entries: Vec<MessageEntry>,
    /// The embedded `<epp>` response (late responses, response copies).
    pub response: Option<Box<Response<Norid>>>,
}
