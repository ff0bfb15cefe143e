//! The store's error type.

use epp_norid_ext::policy::Refusal;

use super::model::ObjectKey;

/// Why a store operation failed.
///
/// The first six variants are outcomes of the registry's rules that the session turns
/// into EPP results; the rest are failures of the backend, which the session answers with
/// `2400 Command failed` (nothing was written). See [`StoreError::epp_result_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A create named a record that exists (`2302 Object exists`); also the loser of
    /// concurrent creates of one name.
    #[error("{0} already exists")]
    AlreadyExists(ObjectKey),
    /// The record to update, delete or acknowledge does not exist
    /// (`2303 Object does not exist`).
    #[error("{0} does not exist")]
    NotFound(ObjectKey),
    /// An object refers to one that does not exist: a domain's registrant, contact or name
    /// server, a host's contact, a contact's organization or role contact, an object's
    /// sponsor (`2303 Object does not exist`, naming the missing object).
    #[error("{object} refers to {missing}, which does not exist")]
    MissingReference {
        /// The object being written.
        object: ObjectKey,
        /// The object it refers to.
        missing: ObjectKey,
    },
    /// The object cannot be deleted while another refers to it
    /// (`2305 Object association prohibits operation`).
    #[error("{object} is referred to by {by}")]
    Linked {
        /// The object to delete.
        object: ObjectKey,
        /// One object that refers to it.
        by: ObjectKey,
    },
    /// A [`Change::CheckHolderQuota`](super::Change) failed: the holder has as many
    /// domain names as Norid's quota allows (`2308`, with the policy's condition). The
    /// loser of concurrent creates for one holder at its limit gets this.
    #[error("{0}")]
    QuotaExceeded(Box<Refusal>),
    /// The object changed since the snapshot the change was based on. Nothing was
    /// written: re-read and run the command again (the session retries a few times, then
    /// answers `2400`).
    #[error("{0} was changed concurrently")]
    Conflict(ObjectKey),
    /// The change set is malformed, e.g. a replay record without a clTRID: a bug in the
    /// caller, not a client error (`2400`).
    #[error("invalid change set: {0}")]
    InvalidChange(String),
    /// The database kept refusing the transaction as not serialisable (PostgreSQL
    /// SQLSTATE 40001/40P01) after this many attempts (`2400`).
    #[error("transaction not serialisable after {attempts} attempts")]
    Contention {
        /// How many times the transaction was run.
        attempts: u32,
    },
    /// The database cannot be reached, or the store is shutting down (`2400`; the server
    /// may also stop accepting sessions).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored row could not be decoded into the model (`2400`; needs an operator).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database refused a statement for a reason the store does not expect, e.g. a full
    /// disk (`2400`). The text is the driver's message.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    /// The EPP result code the session answers with, for the errors it does not retry.
    ///
    /// [`StoreError::Conflict`] maps to 2400 only once the session gives up retrying.
    pub fn epp_result_code(&self) -> u16 {
        match self {
            Self::AlreadyExists(_) => 2302,
            Self::NotFound(_) | Self::MissingReference { .. } => 2303,
            Self::Linked { .. } => 2305,
            Self::QuotaExceeded(r) => r.result_code().code(),
            Self::Conflict(_)
            | Self::InvalidChange(_)
            | Self::Contention { .. }
            | Self::Unavailable(_)
            | Self::Corrupt(_)
            | Self::Database(_) => 2400,
        }
    }

    /// Whether running the command again on fresh data may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Conflict(_))
    }
}
