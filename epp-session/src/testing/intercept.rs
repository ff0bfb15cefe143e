//! [`Intercept`]: a store wrapper that answers from the wrapped store except where its
//! [`Hooks`] answer instead, for tests that need one read to see another moment (a stale
//! replay lookup, a domain read from before a concurrent commit) or a cheap login check,
//! or that watch what the registry logic reads and commits.

use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Password, Timestamp};

use crate::store::model::{
    Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery, LoginCheck,
    Notification, ObjectKey, PollSummary, PolledMessage, Registrar, ReplayRecord, Sequence,
    TransferToken,
};
use crate::store::{ChangeSet, CommitReceipt, ReadSet, ReadSetAnswer, Store, StoreError};

/// Answers that replace the wrapped store's; each `None` leaves the call to it.
pub trait Hooks: Send + Sync {
    /// Whether [`Hooks::verify_login`] decides logins (the wrapper then reads the
    /// registrar and does not call the wrapped store's check).
    const CHECKS_LOGINS: bool = false;

    /// The login check, given the registrar the wrapped store holds.
    fn verify_login(&self, registrar: Option<Registrar>, _pw: &Password) -> LoginCheck {
        match registrar {
            None => LoginCheck::UnknownRegistrar,
            Some(_) => LoginCheck::WrongPassword,
        }
    }

    /// A domain read's answer.
    fn domain(&self, _name: &DomainName) -> Option<Option<Domain>> {
        None
    }

    /// A transfer token read's answer.
    fn transfer_token(&self, _domain: &DomainName) -> Option<Option<TransferToken>> {
        None
    }

    /// A replay lookup's answer.
    fn replay(&self, _registrar: &ClientId, _cl_trid: &ClTrid) -> Option<Option<ReplayRecord>> {
        None
    }

    /// Sees a domain listing or count before the wrapped store answers it.
    fn domain_listing(&self, _query: &DomainQuery) {}

    /// Sees a change set before the wrapped store commits it.
    fn committing(&self, _set: &ChangeSet) {}

    /// An error to answer a commit with instead of committing it (a database that went
    /// away, transactions that keep failing).
    fn commit_error(&self, _set: &ChangeSet) -> Option<StoreError> {
        None
    }
}

/// A store that answers from `inner` except where `hooks` answer (tests only).
#[derive(Debug)]
pub struct Intercept<S, H> {
    /// The wrapped store.
    pub inner: S,
    /// The answers that replace its own.
    pub hooks: H,
}

impl<S: Store, H: Hooks> Store for Intercept<S, H> {
    async fn verify_login(&self, id: &ClientId, pw: &Password) -> Result<LoginCheck, StoreError> {
        if H::CHECKS_LOGINS {
            let registrar = self.inner.registrar(id).await?;
            return Ok(self.hooks.verify_login(registrar, pw));
        }
        self.inner.verify_login(id, pw).await
    }
    async fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        self.inner.registrar(id).await
    }
    async fn registrars(&self) -> Result<Vec<Registrar>, StoreError> {
        self.inner.registrars().await
    }
    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        match self.hooks.domain(name) {
            Some(answer) => Ok(answer),
            None => self.inner.domain(name).await,
        }
    }
    async fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        self.inner.contact(id).await
    }
    async fn host(&self, name: &HostName) -> Result<Option<Host>, StoreError> {
        self.inner.host(name).await
    }
    async fn domains_exist(&self, names: &[DomainName]) -> Result<Vec<bool>, StoreError> {
        self.inner.domains_exist(names).await
    }
    async fn contacts_exist(&self, ids: &[ContactId]) -> Result<Vec<bool>, StoreError> {
        self.inner.contacts_exist(ids).await
    }
    async fn hosts_exist(&self, names: &[HostName]) -> Result<Vec<bool>, StoreError> {
        self.inner.hosts_exist(names).await
    }
    async fn read_set(&self, reads: ReadSet<'_>) -> ReadSetAnswer {
        self.inner.read_set(reads).await
    }
    async fn is_linked(&self, object: &ObjectKey) -> Result<bool, StoreError> {
        self.inner.is_linked(object).await
    }
    async fn domains(
        &self,
        q: &DomainQuery,
        after: Option<&DomainName>,
        limit: usize,
    ) -> Result<Vec<Domain>, StoreError> {
        self.hooks.domain_listing(q);
        self.inner.domains(q, after, limit).await
    }
    async fn count_domains(&self, q: &DomainQuery) -> Result<u64, StoreError> {
        self.hooks.domain_listing(q);
        self.inner.count_domains(q).await
    }
    async fn contacts(
        &self,
        q: &ContactQuery,
        after: Option<&ContactId>,
        limit: usize,
    ) -> Result<Vec<Contact>, StoreError> {
        self.inner.contacts(q, after, limit).await
    }
    async fn hosts(
        &self,
        q: &HostQuery,
        after: Option<&HostName>,
        limit: usize,
    ) -> Result<Vec<Host>, StoreError> {
        self.inner.hosts(q, after, limit).await
    }
    async fn poll_summary(&self, r: &ClientId) -> Result<Option<PollSummary>, StoreError> {
        self.inner.poll_summary(r).await
    }
    async fn poll_peek(&self, r: &ClientId) -> Result<Option<PolledMessage>, StoreError> {
        self.inner.poll_peek(r).await
    }
    async fn history(&self, o: &ObjectKey) -> Result<Vec<HistoryEntry>, StoreError> {
        self.inner.history(o).await
    }
    async fn transfer_token(&self, d: &DomainName) -> Result<Option<TransferToken>, StoreError> {
        match self.hooks.transfer_token(d) {
            Some(answer) => Ok(answer),
            None => self.inner.transfer_token(d).await,
        }
    }
    async fn expired_transfer_tokens(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<TransferToken>, StoreError> {
        self.inner.expired_transfer_tokens(before, limit).await
    }
    async fn replay(&self, r: &ClientId, t: &ClTrid) -> Result<Option<ReplayRecord>, StoreError> {
        match self.hooks.replay(r, t) {
            Some(answer) => Ok(answer),
            None => self.inner.replay(r, t).await,
        }
    }
    async fn pending_notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        self.inner.pending_notifications(limit).await
    }
    async fn allocate_id(&self, s: Sequence) -> Result<u64, StoreError> {
        self.inner.allocate_id(s).await
    }
    async fn commit(&self, changes: ChangeSet) -> Result<CommitReceipt, StoreError> {
        self.hooks.committing(&changes);
        if let Some(e) = self.hooks.commit_error(&changes) {
            return Err(e);
        }
        self.inner.commit(changes).await
    }
}
