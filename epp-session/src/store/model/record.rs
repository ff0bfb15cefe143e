//! The store's bookkeeping records: history, transfer tokens, notification outbox, replay
//! records, object keys and id sequences.

use std::fmt;

use blake2::{Blake2b, Digest, digest::consts::U32};
use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Roid, SvTrid, Timestamp};

use super::{constant_time_eq, token_enum};

token_enum!(
    /// The kinds of records the store keeps, as history rows and errors name them.
    ObjectKind, "object kind" {
        /// A contact object.
        Contact = "contact",
        /// A domain object.
        Domain = "domain",
        /// A host object.
        Host = "host",
        /// A notification outbox row.
        Notification = "notification",
        /// A poll message.
        PollMessage = "pollMessage",
        /// A registrar account.
        Registrar = "registrar",
        /// An idempotent-replay record.
        Replay = "replay",
        /// A pending transfer's one-time token.
        TransferToken = "transferToken",
    }
);

/// Names one record of the store, in errors and history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ObjectKey {
    /// A contact by id.
    Contact(ContactId),
    /// A domain by name.
    Domain(DomainName),
    /// A host by name.
    Host(HostName),
    /// A notification by id.
    Notification(u64),
    /// A poll message by id.
    PollMessage(u64),
    /// A registrar by id.
    Registrar(ClientId),
    /// A replay record by registrar and clTRID.
    Replay(ClientId, ClTrid),
    /// A domain's pending transfer token.
    TransferToken(DomainName),
}

impl ObjectKey {
    /// The kind of record.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Self::Contact(_) => ObjectKind::Contact,
            Self::Domain(_) => ObjectKind::Domain,
            Self::Host(_) => ObjectKind::Host,
            Self::Notification(_) => ObjectKind::Notification,
            Self::PollMessage(_) => ObjectKind::PollMessage,
            Self::Registrar(_) => ObjectKind::Registrar,
            Self::Replay(..) => ObjectKind::Replay,
            Self::TransferToken(_) => ObjectKind::TransferToken,
        }
    }

    /// The record's key as text (`reg1 ABC-1` for a replay record).
    pub fn key(&self) -> String {
        match self {
            Self::Contact(id) => id.to_string(),
            Self::Domain(name) | Self::TransferToken(name) => name.to_string(),
            Self::Host(name) => name.to_string(),
            Self::Notification(id) | Self::PollMessage(id) => id.to_string(),
            Self::Registrar(id) => id.to_string(),
            Self::Replay(registrar, cl_trid) => format!("{registrar} {cl_trid}"),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]", self.kind(), self.key())
    }
}

/// One row of the mutation history: what a change set did to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The row id; ids grow in commit order within a record's history.
    pub id: u64,
    /// The kind of record changed.
    pub kind: ObjectKind,
    /// The record's key at the time (see [`ObjectKey::key`]).
    pub key: String,
    /// The object's ROID, for domains, contacts and hosts.
    pub roid: Option<Roid>,
    /// The registrar that sent the command; `None` for the registry's own jobs.
    pub registrar: Option<ClientId>,
    /// When the change was committed (the change set's time).
    pub time: Timestamp,
    /// The command's clTRID.
    pub cl_trid: Option<ClTrid>,
    /// The command's svTRID.
    pub sv_trid: Option<SvTrid>,
    /// The command, e.g. `domain:create`.
    pub command: String,
    /// The record before, as JSON; `None` when it was created.
    pub before: Option<String>,
    /// The record after, as JSON; `None` when it was deleted.
    pub after: Option<String>,
}

/// A pending transfer's one-time token (Norid: transfer request without the transfer
/// code), stored as a hash; one per domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferToken {
    /// The domain; must exist. The token goes when the domain does.
    pub domain: DomainName,
    /// The token's hash ([`TokenHash::of`]).
    pub token_hash: TokenHash,
    /// The registrar that requested the transfer; must exist.
    pub requested_by: ClientId,
    /// How the token was sent to the holder.
    pub channel: NotifyChannel,
    /// Where it was sent (an e-mail address or a mobile number).
    pub target: String,
    /// When the token was issued.
    pub created: Timestamp,
    /// When the token stops being accepted.
    pub expires: Timestamp,
}

/// The BLAKE2b-256 hash of a one-time token, as hex.
///
/// Tokens are long random strings, so a fast hash suffices: nothing is gained by a slow
/// password hash against guessing, and the store never keeps a usable token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes a token.
    pub fn of(token: &str) -> Self {
        let digest = Blake2b::<U32>::digest(token.as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Wraps a stored hash.
    pub fn from_hex(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    /// The hash as hex.
    pub fn as_hex(&self) -> &str {
        &self.0
    }

    /// Whether the token hashes to this value (compared in constant time).
    pub fn matches(&self, token: &str) -> bool {
        constant_time_eq(Self::of(token).0.as_bytes(), self.0.as_bytes())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

token_enum!(
    /// How a notification reaches its recipient.
    NotifyChannel, "notification channel" {
        /// E-mail.
        Email = "email",
        /// SMS to a mobile number.
        Sms = "sms",
    }
);

/// A notification to send ([`Change::QueueNotification`](crate::store::Change)).
#[derive(Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// The channel.
    pub channel: NotifyChannel,
    /// The e-mail address or mobile number.
    pub recipient: String,
    /// The subject line, for e-mail.
    pub subject: Option<String>,
    /// The text.
    pub body: String,
}

impl fmt::Debug for NewNotification {
    // The body may carry a one-time token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewNotification")
            .field("channel", &self.channel)
            .field("recipient", &self.recipient)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A row of the notification outbox, which the server's notifier delivers.
#[derive(Clone, PartialEq, Eq)]
pub struct Notification {
    /// The row id, assigned by the store.
    pub id: u64,
    /// The channel.
    pub channel: NotifyChannel,
    /// The e-mail address or mobile number.
    pub recipient: String,
    /// The subject line, for e-mail.
    pub subject: Option<String>,
    /// The text.
    pub body: String,
    /// When it was queued.
    pub created: Timestamp,
    /// When it was delivered; `None` while pending.
    pub delivered: Option<Timestamp>,
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notification")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("recipient", &self.recipient)
            .field("created", &self.created)
            .field("delivered", &self.delivered)
            .finish_non_exhaustive()
    }
}

/// The response to a transform, kept so that the same command resent with the same
/// clTRID is answered with it instead of being executed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRecord {
    /// The registrar that sent the command.
    pub registrar: ClientId,
    /// The command's clTRID.
    pub cl_trid: ClTrid,
    /// The response document as sent.
    pub response: Vec<u8>,
    /// When it was recorded.
    pub created: Timestamp,
}

token_enum!(
    /// The id sequences the store hands out numbers from ([`Store::allocate_id`]).
    /// Numbers are unique per sequence, also across processes sharing a database, but not
    /// necessarily contiguous or increasing across processes.
    ///
    /// [`Store::allocate_id`]: crate::store::Store::allocate_id
    Sequence, "sequence" {
        /// Numbers for contact ids (`TR85R`).
        ContactId = "contact_id",
        /// Numbers for contact ROIDs.
        ContactRoid = "contact_roid",
        /// Numbers for domain ROIDs (`DOM659889D-NORID`).
        DomainRoid = "domain_roid",
        /// Numbers for host ROIDs.
        HostRoid = "host_roid",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_matches_only_its_token() {
        let h = TokenHash::of("one-time-token");
        assert_eq!(h.as_hex().len(), 64);
        assert!(h.matches("one-time-token"));
        assert!(!h.matches("one-time-tokem"));
        assert_eq!(TokenHash::from_hex(h.as_hex()), h);
    }

    #[test]
    fn object_keys_name_kind_and_key() {
        let key = ObjectKey::Replay(
            ClientId::new("reg1").unwrap(),
            ClTrid::new("ABC-1").unwrap(),
        );
        assert_eq!(key.kind(), ObjectKind::Replay);
        assert_eq!(key.to_string(), "replay [reg1 ABC-1]");
    }
}
