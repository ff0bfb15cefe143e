//! [`CheapLogins`]: a store wrapper whose login check compares against known clear-text
//! passwords instead of running argon2, for the fuzz target (argon2 would make every
//! login tens of milliseconds). Everything else is the wrapped store's.

use std::collections::HashMap;

use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Password, Timestamp};

use crate::store::model::{
    Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery, LoginCheck,
    Notification, ObjectKey, PollSummary, PolledMessage, Registrar, ReplayRecord, Sequence,
    TransferToken,
};
use crate::store::{ChangeSet, CommitReceipt, Store, StoreError};

/// A store whose `verify_login` accepts the registered clear-text passwords (tests only).
#[derive(Debug)]
pub struct CheapLogins<S> {
    inner: S,
    passwords: HashMap<ClientId, String>,
}

impl<S: Store> CheapLogins<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            passwords: HashMap::new(),
        }
    }

    /// The password `verify_login` accepts for `id`.
    pub fn set_password(&mut self, id: ClientId, password: &str) {
        self.passwords.insert(id, password.to_owned());
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Store> Store for CheapLogins<S> {
    async fn verify_login(&self, id: &ClientId, pw: &Password) -> Result<LoginCheck, StoreError> {
        let registrar = self.inner.registrar(id).await?;
        Ok(match (registrar, self.passwords.get(id)) {
            (None, _) => LoginCheck::UnknownRegistrar,
            (Some(r), Some(p)) if p == pw.as_str() && r.enabled => LoginCheck::Accepted(r),
            (Some(r), Some(p)) if p == pw.as_str() && !r.enabled => LoginCheck::Disabled,
            _ => LoginCheck::WrongPassword,
        })
    }
    async fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        self.inner.registrar(id).await
    }
    async fn registrars(&self) -> Result<Vec<Registrar>, StoreError> {
        self.inner.registrars().await
    }
    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        self.inner.domain(name).await
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
    async fn is_linked(&self, object: &ObjectKey) -> Result<bool, StoreError> {
        self.inner.is_linked(object).await
    }
    async fn domains(
        &self,
        q: &DomainQuery,
        after: Option<&DomainName>,
        limit: usize,
    ) -> Result<Vec<Domain>, StoreError> {
        self.inner.domains(q, after, limit).await
    }
    async fn count_domains(&self, q: &DomainQuery) -> Result<u64, StoreError> {
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
        self.inner.transfer_token(d).await
    }
    async fn expired_transfer_tokens(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<TransferToken>, StoreError> {
        self.inner.expired_transfer_tokens(before, limit).await
    }
    async fn replay(&self, r: &ClientId, t: &ClTrid) -> Result<Option<ReplayRecord>, StoreError> {
        self.inner.replay(r, t).await
    }
    async fn pending_notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        self.inner.pending_notifications(limit).await
    }
    async fn allocate_id(&self, s: Sequence) -> Result<u64, StoreError> {
        self.inner.allocate_id(s).await
    }
    async fn commit(&self, changes: ChangeSet) -> Result<CommitReceipt, StoreError> {
        self.inner.commit(changes).await
    }
}
