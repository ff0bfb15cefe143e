//! Poll (service) messages: RFC 5730 section 2.9.2.3 with Norid's `<message type=...>`
//! payloads (`no-ext-result-1.0`).

use epp_xml::{ClTrid, ClientId, ContactId, DomainName, SvTrid, Timestamp};
use serde::{Deserialize, Serialize};

use super::ObjectKind;
use super::serde_as::{opt_text, text};

/// A message in a registrar's poll queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollMessage {
    /// The message id (`msgQ id`), assigned by the store; ids grow in queue order.
    pub id: u64,
    /// The registrar whose queue holds the message.
    pub registrar: ClientId,
    /// When the message was queued (`qDate`).
    pub q_date: Timestamp,
    /// The human-readable text (`msgQ/msg`, and Norid's `desc`).
    pub text: String,
    /// What the message is about.
    pub payload: PollPayload,
}

/// A message to queue ([`Change::EnqueuePoll`](crate::store::Change)); its `qDate` is the
/// change set's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPollMessage {
    /// The registrar to notify; must exist.
    pub registrar: ClientId,
    /// The human-readable text.
    pub text: String,
    /// What the message is about.
    pub payload: PollPayload,
}

/// The typed content of a poll message: Norid's message types (`no-ext-result`
/// `<message type="...">`), each with the entries the session renders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PollPayload {
    /// Plain text only, no Norid `<message>` block.
    Text,
    /// `domain-transferred`: a domain left this registrar by transfer.
    #[serde(rename_all = "camelCase")]
    DomainTransferred {
        /// The domain.
        #[serde(with = "text")]
        domain: DomainName,
        /// The registrar that now sponsors it.
        #[serde(with = "text")]
        gaining: ClientId,
    },
    /// `domain-quarantined`: an expired domain left the zone.
    DomainQuarantined {
        /// The domain.
        #[serde(with = "text")]
        domain: DomainName,
    },
    /// `domain-deleted`: the registry deleted a domain.
    DomainDeleted {
        /// The domain.
        #[serde(with = "text")]
        domain: DomainName,
    },
    /// `object-deleted`: the registry deleted a contact or host.
    #[serde(rename_all = "camelCase")]
    ObjectDeleted {
        /// The kind of object.
        object: ObjectKind,
        /// Its handle (contact id or host name).
        handle: String,
        /// Its name as shown to people (a contact's name), when it has one.
        #[serde(default)]
        name: Option<String>,
    },
    /// `invalid-registrant-started`: the holder no longer qualifies and the deletion
    /// process for the domain started.
    #[serde(rename_all = "camelCase")]
    InvalidRegistrantStarted {
        /// The domain.
        #[serde(with = "text")]
        domain: DomainName,
        /// The registrant concerned.
        #[serde(with = "text")]
        registrant: ContactId,
    },
    /// `epp-late-response`: the final answer to a command that was answered as pending.
    #[serde(rename_all = "camelCase")]
    LateResponse {
        /// The original command's clTRID.
        #[serde(default, with = "opt_text")]
        cl_trid: Option<ClTrid>,
        /// The original command's svTRID.
        #[serde(with = "text")]
        sv_trid: SvTrid,
        /// The complete delayed `<epp><response>` document.
        response: String,
    },
    /// `response-copy`: a copy of a response to a command executed on the registrar's
    /// behalf or affecting its object (e.g. another registrar's transfer execute).
    #[serde(rename_all = "camelCase")]
    ResponseCopy {
        /// Entry `objecttype`.
        object: ObjectKind,
        /// Entry `command`, e.g. `transfer-execute`.
        command: String,
        /// Entry `objectname`.
        object_name: String,
        /// The embedded `<epp><response>` document.
        response: String,
    },
}

impl PollPayload {
    /// Norid's `type` attribute for the payload; `None` for plain text.
    pub fn norid_type(&self) -> Option<&'static str> {
        Some(match self {
            Self::Text => return None,
            Self::DomainTransferred { .. } => "domain-transferred",
            Self::DomainQuarantined { .. } => "domain-quarantined",
            Self::DomainDeleted { .. } => "domain-deleted",
            Self::ObjectDeleted { .. } => "object-deleted",
            Self::InvalidRegistrantStarted { .. } => "invalid-registrant-started",
            Self::LateResponse { .. } => "epp-late-response",
            Self::ResponseCopy { .. } => "response-copy",
        })
    }

    /// The payload kind as the SQL stores index it (the serde tag).
    pub fn kind(&self) -> &'static str {
        self.norid_type().unwrap_or("text")
    }
}

/// The state of a registrar's queue that every response shows (`<msgQ count id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSummary {
    /// How many messages are queued.
    pub count: u64,
    /// The id of the oldest message, the one `<poll op="req"/>` returns.
    pub first_id: u64,
}

/// One registrar's poll queue at a glance ([`Store::poll_queues`](crate::store::Store)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollQueue {
    /// The registrar.
    pub registrar: ClientId,
    /// How many messages are queued.
    pub count: u64,
    /// When the oldest was queued; `None` for an empty queue.
    pub oldest: Option<Timestamp>,
}

/// The oldest message of a queue with the queue's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolledMessage {
    /// How many messages are queued, this one included.
    pub count: u64,
    /// The oldest message.
    pub message: PollMessage,
}
