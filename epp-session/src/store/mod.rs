//! The registry's storage, stated in EPP terms: the [`Store`] trait, the object model it
//! stores, change sets, and [`MemoryStore`], the in-memory implementation.
//!
//! # Concurrency model
//!
//! Optimistic. Reads return snapshots that carry their object's `version`. A transform
//! reads what it needs, applies the registry's rules, and ends in **one**
//! [`Store::commit`] of a [`ChangeSet`], which the store applies atomically while it
//! enforces what must hold whatever the interleaving:
//!
//! - names and ids are unique, also under concurrent creates ([`StoreError::AlreadyExists`]);
//! - references point at existing objects ([`StoreError::MissingReference`]);
//! - referenced objects cannot be deleted ([`StoreError::Linked`]);
//! - a holder stays within Norid's domain quota where the set asks for the check
//!   ([`Change::CheckHolderQuota`], [`StoreError::QuotaExceeded`]), also under concurrent
//!   creates for one holder;
//! - an update or delete applies only to the version it was based on
//!   ([`StoreError::Conflict`]): the session then re-reads and runs the command again.
//!
//! The store writes the history rows (before and after of each changed object) itself.
//!
//! # Implementations
//!
//! [`MemoryStore`] here (no persistence: embedded use and tests); the SQLite and
//! PostgreSQL stores in `epp-server`. All pass one behaviour suite (feature `test-util`).

mod change;
mod error;
mod login;
mod memory;
pub mod model;
#[cfg(any(test, feature = "test-util"))]
pub mod suite;

use std::future::Future;

use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Password, Timestamp};

pub use change::{
    Change, ChangeMeta, ChangeSet, CommitReceipt, hashed, holder_quota, holder_quota_scope,
};
pub use error::StoreError;
pub use login::check_login;
pub use memory::MemoryStore;
pub use model::{
    Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery, LoginCheck,
    Notification, ObjectKey, PollQueue, PollSummary, PolledMessage, Registrar, ReplayRecord,
    Sequence, TransferToken, WITHDRAWN_REGISTRAR,
};

/// Reads by key that a command makes together: see [`Store::read_set`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadSet<'a> {
    /// Names to test for a domain ([`Store::domains_exist`]).
    pub domains_exist: &'a [DomainName],
    /// Contacts to read ([`Store::contact`]).
    pub contacts: &'a [&'a ContactId],
    /// Names to test for a host ([`Store::hosts_exist`]).
    pub hosts_exist: &'a [HostName],
}

/// The answers to a [`ReadSet`], part by part, each in the order of its keys.
#[derive(Debug, Clone)]
pub struct ReadSetAnswer {
    /// For each name, whether a domain has it.
    pub domains_exist: Result<Vec<bool>, StoreError>,
    /// For each id, the contact if there is one.
    pub contacts: Vec<Result<Option<Contact>, StoreError>>,
    /// For each name, whether a host has it.
    pub hosts_exist: Result<Vec<bool>, StoreError>,
}

/// What the registry logic needs from persistence, in EPP terms.
///
/// Every method returns a `Send` future so a server can drive sessions on a multi-threaded
/// runtime; implementations may use `async fn`. Reads never wait for writes in progress;
/// each read returns committed data.
///
/// Listing methods page by key: pass the last key of the previous page as `after`.
pub trait Store: Send + Sync {
    /// Checks a login's credentials against the stored argon2 hash (CPU-heavy: SQL stores
    /// run it on a blocking thread). An unknown id costs as much time as a wrong password.
    fn verify_login(
        &self,
        id: &ClientId,
        password: &Password,
    ) -> impl Future<Output = Result<LoginCheck, StoreError>> + Send;

    /// A registrar account.
    fn registrar(
        &self,
        id: &ClientId,
    ) -> impl Future<Output = Result<Option<Registrar>, StoreError>> + Send;

    /// Every registrar account, ordered by id.
    fn registrars(&self) -> impl Future<Output = Result<Vec<Registrar>, StoreError>> + Send;

    /// A domain by name.
    fn domain(
        &self,
        name: &DomainName,
    ) -> impl Future<Output = Result<Option<Domain>, StoreError>> + Send;

    /// A contact by id.
    fn contact(
        &self,
        id: &ContactId,
    ) -> impl Future<Output = Result<Option<Contact>, StoreError>> + Send;

    /// A host by name.
    fn host(
        &self,
        name: &HostName,
    ) -> impl Future<Output = Result<Option<Host>, StoreError>> + Send;

    /// For each name, whether a domain has it (`<domain:check>`).
    fn domains_exist(
        &self,
        names: &[DomainName],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// For each id, whether a contact has it (`<contact:check>`).
    fn contacts_exist(
        &self,
        ids: &[ContactId],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// For each name, whether a host has it (`<host:check>`).
    fn hosts_exist(
        &self,
        names: &[HostName],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// Several reads by key that a command needs together (a create's existence checks
    /// and the contacts its rules look at), made at once. The default runs them side by
    /// side; a database store may answer them in one round trip. Each part's answer is the
    /// one its own method would give; empty parts are not read.
    fn read_set(&self, reads: ReadSet<'_>) -> impl Future<Output = ReadSetAnswer> + Send {
        async move {
            let (domains_exist, contacts, hosts_exist) = futures_util::future::join3(
                async {
                    if reads.domains_exist.is_empty() {
                        return Ok(Vec::new());
                    }
                    self.domains_exist(reads.domains_exist).await
                },
                futures_util::future::join_all(reads.contacts.iter().map(|id| self.contact(id))),
                async {
                    if reads.hosts_exist.is_empty() {
                        return Ok(Vec::new());
                    }
                    self.hosts_exist(reads.hosts_exist).await
                },
            )
            .await;
            ReadSetAnswer {
                domains_exist,
                contacts,
                hosts_exist,
            }
        }
    }

    /// Whether another object refers to the contact or host (the derived `linked`
    /// status); `false` for other keys and missing objects.
    fn is_linked(
        &self,
        object: &ObjectKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Domains matching the query, ordered by name, after `after`, at most `limit`.
    fn domains(
        &self,
        query: &DomainQuery,
        after: Option<&DomainName>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Domain>, StoreError>> + Send;

    /// How many domains match the query.
    fn count_domains(
        &self,
        query: &DomainQuery,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Contacts matching the query, ordered by id, after `after`, at most `limit`.
    fn contacts(
        &self,
        query: &ContactQuery,
        after: Option<&ContactId>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Contact>, StoreError>> + Send;

    /// Hosts matching the query, ordered by name, after `after`, at most `limit`.
    fn hosts(
        &self,
        query: &HostQuery,
        after: Option<&HostName>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Host>, StoreError>> + Send;

    /// The length of a registrar's poll queue and its oldest message id (`<msgQ>` of every
    /// response); `None` when the queue is empty.
    fn poll_summary(
        &self,
        registrar: &ClientId,
    ) -> impl Future<Output = Result<Option<PollSummary>, StoreError>> + Send;

    /// Every registrar's poll queue (the registry's own `reg0` left out), by registrar id:
    /// for monitoring registrars that stop reading their messages. The default asks
    /// [`Store::poll_peek`] once per registrar.
    fn poll_queues(&self) -> impl Future<Output = Result<Vec<PollQueue>, StoreError>> + Send {
        async move {
            let mut out = Vec::new();
            for r in self.registrars().await? {
                if r.id.as_str() == WITHDRAWN_REGISTRAR {
                    continue;
                }
                let head = self.poll_peek(&r.id).await?;
                out.push(PollQueue {
                    registrar: r.id,
                    count: head.as_ref().map_or(0, |h| h.count),
                    oldest: head.map(|h| h.message.q_date),
                });
            }
            out.sort_by(|a, b| a.registrar.cmp(&b.registrar));
            Ok(out)
        }
    }

    /// The oldest message of a registrar's queue (`<poll op="req"/>`).
    fn poll_peek(
        &self,
        registrar: &ClientId,
    ) -> impl Future<Output = Result<Option<PolledMessage>, StoreError>> + Send;

    /// The history of a record, oldest first.
    fn history(
        &self,
        object: &ObjectKey,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>, StoreError>> + Send;

    /// A domain's pending transfer token.
    fn transfer_token(
        &self,
        domain: &DomainName,
    ) -> impl Future<Output = Result<Option<TransferToken>, StoreError>> + Send;

    /// Transfer tokens whose lifetime ended before `before` (the scheduler lapses their
    /// requests), ordered by expiry then domain, at most `limit`.
    fn expired_transfer_tokens(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TransferToken>, StoreError>> + Send;

    /// The replay record of a registrar's clTRID.
    fn replay(
        &self,
        registrar: &ClientId,
        cl_trid: &ClTrid,
    ) -> impl Future<Output = Result<Option<ReplayRecord>, StoreError>> + Send;

    /// Undelivered notifications, oldest first, at most `limit`.
    fn pending_notifications(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Notification>, StoreError>> + Send;

    /// A fresh number from a sequence, for ids and ROIDs of new objects. Numbers are never
    /// handed out twice, even across processes sharing a database; gaps are normal.
    fn allocate_id(
        &self,
        sequence: Sequence,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Applies a change set atomically, writing history rows for every changed object.
    ///
    /// # Errors
    ///
    /// The first change that cannot be applied decides the error, and nothing of the set
    /// is written. See [`StoreError`] for the variants and their EPP result codes.
    fn commit(
        &self,
        changes: ChangeSet,
    ) -> impl Future<Output = Result<CommitReceipt, StoreError>> + Send;
}
