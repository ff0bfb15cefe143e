//! [`MemoryStore`]: the whole registry in process memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, Password, Roid, Timestamp};

use super::Store;
use super::change::{Change, ChangeMeta, ChangeSet, CommitReceipt, hashed};
use super::error::StoreError;
use super::login::check_login;
use super::model::{
    Contact, ContactQuery, Domain, DomainQuery, HistoryEntry, Host, HostQuery, LoginCheck,
    NewPollMessage, Notification, ObjectKey, PasswordHash, PollMessage, PollSummary, PolledMessage,
    Registrar, ReplayRecord, Sequence, TransferToken, WITHDRAWN_REGISTRAR,
};

/// The registry held in process memory: a complete [`Store`] with the same rules as the SQL
/// stores, and no persistence.
///
/// For embedding without a database and for the session's tests. Commits apply under one
/// lock with an undo log, so a failing change set leaves nothing behind. Listings scan
/// every object of the kind (fine for tests and small embedded registries).
///
/// Password salts come from a counter-based generator seeded at construction: hashes are
/// salted uniquely within the store, but predictably across stores with the same seed.
pub struct MemoryStore {
    state: Mutex<State>,
    salt: AtomicU64,
}

impl MemoryStore {
    /// An empty registry holding only the pseudo-registrar `reg0`.
    pub fn new() -> Self {
        Self::with_salt_seed(0x5eed_f0e9_9a55_0001)
    }

    /// Like [`Self::new`], with the seed of the password-salt generator.
    pub fn with_salt_seed(seed: u64) -> Self {
        let mut state = State::default();
        // "reg0" satisfies clIDType (3-16 characters, no whitespace).
        if let Ok(id) = ClientId::new(WITHDRAWN_REGISTRAR) {
            state.registrars.insert(
                id.clone(),
                Registrar {
                    id,
                    name: "Withdrawn domains".into(),
                    password: PasswordHash::locked(),
                    pending_password: None,
                    cert_pins: Default::default(),
                    session_limit: 0,
                    enabled: false,
                    created: Timestamp::from_unix_micros(0),
                    version: 1,
                },
            );
        }
        Self {
            state: Mutex::new(state),
            salt: AtomicU64::new(seed),
        }
    }

    /// Makes the next poll message ids at least `next` (ids stay increasing): lets tests
    /// reproduce the message ids of recorded exchanges.
    pub fn set_poll_id_floor(&self, next: u64) {
        let mut s = self.lock();
        s.last_poll_id = s.last_poll_id.max(next.saturating_sub(1));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave a half-applied change set: commits
        // undo on error before releasing, and nothing else writes. So the state behind a
        // poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_salt(&self) -> [u8; 16] {
        let n = self.salt.fetch_add(1, Ordering::Relaxed);
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&splitmix64(n).to_le_bytes());
        out[8..].copy_from_slice(&splitmix64(n ^ 0xa5a5_a5a5_a5a5_a5a5).to_le_bytes());
        out
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("MemoryStore")
            .field("registrars", &s.registrars.len())
            .field("domains", &s.domains.len())
            .field("contacts", &s.contacts.len())
            .field("hosts", &s.hosts.len())
            .finish_non_exhaustive()
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[derive(Default)]
struct State {
    registrars: BTreeMap<ClientId, Registrar>,
    domains: BTreeMap<DomainName, Domain>,
    contacts: BTreeMap<ContactId, Contact>,
    hosts: BTreeMap<HostName, Host>,
    domain_roids: HashSet<Roid>,
    contact_roids: HashSet<Roid>,
    host_roids: HashSet<Roid>,
    /// Who refers to each contact, with how many references (a domain may name one
    /// contact as registrant and tech).
    contact_refs: HashMap<ContactId, BTreeMap<ObjectKey, u32>>,
    /// Which domains use each host.
    host_refs: HashMap<HostName, BTreeMap<DomainName, u32>>,
    poll: BTreeMap<ClientId, BTreeMap<u64, PollMessage>>,
    /// The message last queued under each key ([`Change::EnqueuePollOnce`]), by queue;
    /// the key is free again once that message has left the queue.
    poll_once: HashMap<(ClientId, String), u64>,
    last_poll_id: u64,
    history: Vec<HistoryEntry>,
    tokens: BTreeMap<DomainName, TransferToken>,
    notifications: BTreeMap<u64, Notification>,
    last_notification_id: u64,
    replays: HashMap<(ClientId, ClTrid), ReplayRecord>,
    sequences: HashMap<Sequence, u64>,
}

/// The inverse of one write, to roll a failed change set back.
enum Undo {
    Registrar(ClientId, Option<Box<Registrar>>),
    Domain(DomainName, Option<Box<Domain>>),
    Contact(ContactId, Option<Box<Contact>>),
    Host(HostName, Option<Box<Host>>),
    Poll(ClientId, u64, Option<PollMessage>),
    PollOnce((ClientId, String), Option<u64>),
    LastPollId(u64),
    HistoryLen(usize),
    Token(DomainName, Option<TransferToken>),
    Notification(u64, Option<Notification>),
    LastNotificationId(u64),
    Replay((ClientId, ClTrid), Option<ReplayRecord>),
}

impl State {
    // Setters keep the indexes in step with the maps and return the old value.

    fn set_domain(&mut self, name: &DomainName, new: Option<Domain>) -> Option<Domain> {
        let old = match new {
            Some(d) => self.domains.insert(name.clone(), d),
            None => self.domains.remove(name),
        };
        if let Some(old) = &old {
            self.domain_roids.remove(&old.roid);
            let key = ObjectKey::Domain(name.clone());
            for c in old.referenced_contacts() {
                unref(self.contact_refs.entry(c.clone()).or_default(), &key);
            }
            for h in &old.ns {
                unref(self.host_refs.entry(h.clone()).or_default(), name);
            }
        }
        if let Some(new) = self.domains.get(name) {
            self.domain_roids.insert(new.roid.clone());
            let key = ObjectKey::Domain(name.clone());
            for c in new.referenced_contacts() {
                *self
                    .contact_refs
                    .entry(c.clone())
                    .or_default()
                    .entry(key.clone())
                    .or_default() += 1;
            }
            for h in &new.ns {
                *self
                    .host_refs
                    .entry(h.clone())
                    .or_default()
                    .entry(name.clone())
                    .or_default() += 1;
            }
        }
        old
    }

    fn set_contact(&mut self, id: &ContactId, new: Option<Contact>) -> Option<Contact> {
        let old = match new {
            Some(c) => self.contacts.insert(id.clone(), c),
            None => self.contacts.remove(id),
        };
        let key = ObjectKey::Contact(id.clone());
        if let Some(old) = &old {
            self.contact_roids.remove(&old.roid);
            for c in old.referenced_contacts() {
                unref(self.contact_refs.entry(c.clone()).or_default(), &key);
            }
        }
        if let Some(new) = self.contacts.get(id) {
            self.contact_roids.insert(new.roid.clone());
            for c in new.referenced_contacts() {
                *self
                    .contact_refs
                    .entry(c.clone())
                    .or_default()
                    .entry(key.clone())
                    .or_default() += 1;
            }
        }
        old
    }

    fn set_host(&mut self, name: &HostName, new: Option<Host>) -> Option<Host> {
        let old = match new {
            Some(h) => self.hosts.insert(name.clone(), h),
            None => self.hosts.remove(name),
        };
        let key = ObjectKey::Host(name.clone());
        if let Some(old) = &old {
            self.host_roids.remove(&old.roid);
            for c in &old.contacts {
                unref(self.contact_refs.entry(c.clone()).or_default(), &key);
            }
        }
        if let Some(new) = self.hosts.get(name) {
            self.host_roids.insert(new.roid.clone());
            for c in &new.contacts {
                *self
                    .contact_refs
                    .entry(c.clone())
                    .or_default()
                    .entry(key.clone())
                    .or_default() += 1;
            }
        }
        old
    }

    fn undo(&mut self, undo: Vec<Undo>) {
        for u in undo.into_iter().rev() {
            match u {
                Undo::Registrar(id, old) => {
                    match old {
                        Some(r) => self.registrars.insert(id, *r),
                        None => self.registrars.remove(&id),
                    };
                }
                Undo::Domain(name, old) => {
                    self.set_domain(&name, old.map(|b| *b));
                }
                Undo::Contact(id, old) => {
                    self.set_contact(&id, old.map(|b| *b));
                }
                Undo::Host(name, old) => {
                    self.set_host(&name, old.map(|b| *b));
                }
                Undo::Poll(registrar, id, old) => {
                    let queue = self.poll.entry(registrar).or_default();
                    match old {
                        Some(m) => queue.insert(id, m),
                        None => queue.remove(&id),
                    };
                }
                Undo::PollOnce(key, old) => {
                    match old {
                        Some(id) => self.poll_once.insert(key, id),
                        None => self.poll_once.remove(&key),
                    };
                }
                Undo::LastPollId(id) => self.last_poll_id = id,
                Undo::HistoryLen(len) => self.history.truncate(len),
                Undo::Token(domain, old) => {
                    match old {
                        Some(t) => self.tokens.insert(domain, t),
                        None => self.tokens.remove(&domain),
                    };
                }
                Undo::Notification(id, old) => {
                    match old {
                        Some(n) => self.notifications.insert(id, n),
                        None => self.notifications.remove(&id),
                    };
                }
                Undo::LastNotificationId(id) => self.last_notification_id = id,
                Undo::Replay(key, old) => {
                    match old {
                        Some(r) => self.replays.insert(key, r),
                        None => self.replays.remove(&key),
                    };
                }
            }
        }
    }

    /// Who other than the object itself refers to a contact.
    fn contact_referrer(&self, id: &ContactId) -> Option<ObjectKey> {
        let me = ObjectKey::Contact(id.clone());
        self.contact_refs
            .get(id)?
            .keys()
            .find(|k| **k != me)
            .cloned()
    }

    fn host_referrer(&self, name: &HostName) -> Option<ObjectKey> {
        self.host_refs
            .get(name)?
            .keys()
            .next()
            .map(|d| ObjectKey::Domain(d.clone()))
    }
}

fn unref<K: Ord>(refs: &mut BTreeMap<K, u32>, key: &K) {
    if let Some(n) = refs.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            refs.remove(key);
        }
    }
}

/// Applies one change set to the state, recording undo entries.
struct Tx<'a> {
    state: &'a mut State,
    meta: &'a ChangeMeta,
    undo: Vec<Undo>,
    receipt: CommitReceipt,
}

impl Tx<'_> {
    fn history(
        &mut self,
        key: &ObjectKey,
        roid: Option<&Roid>,
        before: Option<String>,
        after: Option<String>,
    ) {
        self.undo.push(Undo::HistoryLen(self.state.history.len()));
        let id = self.state.history.len() as u64 + 1;
        self.state.history.push(HistoryEntry {
            id,
            kind: key.kind(),
            key: key.key(),
            roid: roid.cloned(),
            registrar: self.meta.registrar.clone(),
            time: self.meta.time,
            cl_trid: self.meta.cl_trid.clone(),
            sv_trid: self.meta.sv_trid.clone(),
            command: self.meta.command.clone(),
            before,
            after,
        });
    }

    fn put_domain(&mut self, name: &DomainName, new: Option<Domain>) {
        let old = self.state.set_domain(name, new);
        self.undo
            .push(Undo::Domain(name.clone(), old.map(Box::new)));
    }

    fn put_contact(&mut self, id: &ContactId, new: Option<Contact>) {
        let old = self.state.set_contact(id, new);
        self.undo.push(Undo::Contact(id.clone(), old.map(Box::new)));
    }

    fn put_host(&mut self, name: &HostName, new: Option<Host>) {
        let old = self.state.set_host(name, new);
        self.undo.push(Undo::Host(name.clone(), old.map(Box::new)));
    }

    fn put_registrar(&mut self, id: &ClientId, new: Registrar) {
        let old = self.state.registrars.insert(id.clone(), new);
        self.undo
            .push(Undo::Registrar(id.clone(), old.map(Box::new)));
    }

    /// Queues a message and returns its id.
    fn enqueue_poll(&mut self, m: NewPollMessage) -> Result<u64, StoreError> {
        if !self.state.registrars.contains_key(&m.registrar) {
            return Err(StoreError::NotFound(ObjectKey::Registrar(m.registrar)));
        }
        self.undo.push(Undo::LastPollId(self.state.last_poll_id));
        self.state.last_poll_id += 1;
        let id = self.state.last_poll_id;
        let message = PollMessage {
            id,
            registrar: m.registrar.clone(),
            q_date: self.meta.time,
            text: m.text,
            payload: m.payload,
        };
        self.state
            .poll
            .entry(m.registrar.clone())
            .or_default()
            .insert(id, message);
        self.undo.push(Undo::Poll(m.registrar, id, None));
        Ok(id)
    }

    fn need_registrar(&self, object: &ObjectKey, id: &ClientId) -> Result<(), StoreError> {
        if self.state.registrars.contains_key(id) {
            Ok(())
        } else {
            Err(StoreError::MissingReference {
                object: object.clone(),
                missing: ObjectKey::Registrar(id.clone()),
            })
        }
    }

    fn need_contacts<'c>(
        &self,
        object: &ObjectKey,
        ids: impl IntoIterator<Item = &'c ContactId>,
    ) -> Result<(), StoreError> {
        for id in ids {
            if !self.state.contacts.contains_key(id) {
                return Err(StoreError::MissingReference {
                    object: object.clone(),
                    missing: ObjectKey::Contact(id.clone()),
                });
            }
        }
        Ok(())
    }

    fn need_hosts(&self, object: &ObjectKey, names: &[HostName]) -> Result<(), StoreError> {
        for name in names {
            if !self.state.hosts.contains_key(name) {
                return Err(StoreError::MissingReference {
                    object: object.clone(),
                    missing: ObjectKey::Host(name.clone()),
                });
            }
        }
        Ok(())
    }

    fn apply(&mut self, change: Change) -> Result<(), StoreError> {
        match change {
            Change::CreateContact(mut c) => {
                let key = ObjectKey::Contact(c.id.clone());
                if self.state.contacts.contains_key(&c.id)
                    || self.state.contact_roids.contains(&c.roid)
                {
                    return Err(StoreError::AlreadyExists(key));
                }
                self.need_registrar(&key, &c.cl_id)?;
                self.need_contacts(&key, c.referenced_contacts())?;
                c.version = 1;
                let after = c.to_json()?;
                self.history(&key, Some(&c.roid), None, Some(after));
                let id = c.id.clone();
                self.put_contact(&id, Some(c));
            }
            Change::UpdateContact(mut c) => {
                let key = ObjectKey::Contact(c.id.clone());
                let old = self.state.contacts.get(&c.id);
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                if old.version != c.version {
                    return Err(StoreError::Conflict(key));
                }
                if old.roid != c.roid {
                    return Err(StoreError::InvalidChange(
                        "a contact's ROID cannot change".into(),
                    ));
                }
                let before = old.to_json()?;
                self.need_registrar(&key, &c.cl_id)?;
                // A contact may name itself, so check against the state with it present.
                self.need_contacts(&key, c.referenced_contacts())?;
                c.version += 1;
                let after = c.to_json()?;
                self.history(&key, Some(&c.roid), Some(before), Some(after));
                let id = c.id.clone();
                self.put_contact(&id, Some(c));
            }
            Change::DeleteContact { id, version } => {
                let key = ObjectKey::Contact(id.clone());
                let old = self.state.contacts.get(&id);
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                if old.version != version {
                    return Err(StoreError::Conflict(key));
                }
                if let Some(by) = self.state.contact_referrer(&id) {
                    return Err(StoreError::Linked { object: key, by });
                }
                let (before, roid) = (old.to_json()?, old.roid.clone());
                self.history(&key, Some(&roid), Some(before), None);
                self.put_contact(&id, None);
            }
            Change::CreateDomain(mut d) => {
                let key = ObjectKey::Domain(d.name.clone());
                if self.state.domains.contains_key(&d.name)
                    || self.state.domain_roids.contains(&d.roid)
                {
                    return Err(StoreError::AlreadyExists(key));
                }
                self.need_registrar(&key, &d.cl_id)?;
                self.need_contacts(&key, d.referenced_contacts())?;
                self.need_hosts(&key, &d.ns)?;
                d.version = 1;
                let after = d.to_json()?;
                self.history(&key, Some(&d.roid), None, Some(after));
                let name = d.name.clone();
                self.put_domain(&name, Some(d));
            }
            Change::UpdateDomain(mut d) => {
                let key = ObjectKey::Domain(d.name.clone());
                let old = self.state.domains.get(&d.name);
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                if old.version != d.version {
                    return Err(StoreError::Conflict(key));
                }
                if old.roid != d.roid {
                    return Err(StoreError::InvalidChange(
                        "a domain's ROID cannot change".into(),
                    ));
                }
                let before = old.to_json()?;
                self.need_registrar(&key, &d.cl_id)?;
                self.need_contacts(&key, d.referenced_contacts())?;
                self.need_hosts(&key, &d.ns)?;
                d.version += 1;
                let after = d.to_json()?;
                self.history(&key, Some(&d.roid), Some(before), Some(after));
                let name = d.name.clone();
                self.put_domain(&name, Some(d));
            }
            Change::DeleteDomain { name, version } => {
                let key = ObjectKey::Domain(name.clone());
                let old = self.state.domains.get(&name);
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                if old.version != version {
                    return Err(StoreError::Conflict(key));
                }
                let (before, roid) = (old.to_json()?, old.roid.clone());
                self.history(&key, Some(&roid), Some(before), None);
                self.put_domain(&name, None);
                if let Some(token) = self.state.tokens.remove(&name) {
                    self.undo.push(Undo::Token(name, Some(token)));
                }
            }
            Change::CheckHolderQuota {
                holder,
                kind,
                domain,
            } => {
                // The lock is held for the whole commit, so the count and the create after
                // it cannot be split by another commit. Lazy: not walked where no quota
                // applies.
                let stored = self
                    .state
                    .domains
                    .values()
                    .filter(|d| d.registrant == holder)
                    .map(|d| &d.name);
                super::change::holder_quota(&holder, kind, &domain, stored)?;
            }
            Change::CreateHost(mut h) => {
                let key = ObjectKey::Host(h.name.clone());
                if self.state.hosts.contains_key(&h.name) || self.state.host_roids.contains(&h.roid)
                {
                    return Err(StoreError::AlreadyExists(key));
                }
                self.need_registrar(&key, &h.cl_id)?;
                self.need_contacts(&key, &h.contacts)?;
                h.version = 1;
                let after = h.to_json()?;
                self.history(&key, Some(&h.roid), None, Some(after));
                let name = h.name.clone();
                self.put_host(&name, Some(h));
            }
            Change::UpdateHost { name, mut host } => self.update_host(name, &mut host)?,
            Change::DeleteHost { name, version } => {
                let key = ObjectKey::Host(name.clone());
                let old = self.state.hosts.get(&name);
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                if old.version != version {
                    return Err(StoreError::Conflict(key));
                }
                if let Some(by) = self.state.host_referrer(&name) {
                    return Err(StoreError::Linked { object: key, by });
                }
                let (before, roid) = (old.to_json()?, old.roid.clone());
                self.history(&key, Some(&roid), Some(before), None);
                self.put_host(&name, None);
            }
            Change::CreateRegistrar(new) => {
                let key = ObjectKey::Registrar(new.id.clone());
                if self.state.registrars.contains_key(&new.id) {
                    return Err(StoreError::AlreadyExists(key));
                }
                let r = Registrar {
                    id: new.id.clone(),
                    name: new.name,
                    password: hashed(&new.password)?.clone(),
                    pending_password: None,
                    cert_pins: new.cert_pins,
                    session_limit: new.session_limit,
                    enabled: new.enabled,
                    created: self.meta.time,
                    version: 1,
                };
                self.history(&key, None, None, Some(r.history_json()));
                self.put_registrar(&new.id, r);
            }
            Change::UpdateRegistrar { id, change } => {
                let key = ObjectKey::Registrar(id.clone());
                let old = self.state.registrars.get(&id);
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                let mut r = old.clone();
                change.apply_to(&mut r)?;
                if r != *old {
                    r.version += 1;
                    let before = old.history_json();
                    self.history(&key, None, Some(before), Some(r.history_json()));
                    self.put_registrar(&id, r);
                }
            }
            Change::EnqueuePoll(m) => {
                let id = self.enqueue_poll(m)?;
                self.receipt.poll_ids.push(id);
            }
            Change::EnqueuePollOnce { message, key } => {
                let key = (message.registrar.clone(), key);
                let old = self.state.poll_once.get(&key).copied();
                let queued = old.is_some_and(|id| {
                    self.state
                        .poll
                        .get(&key.0)
                        .is_some_and(|q| q.contains_key(&id))
                });
                if !queued {
                    let id = self.enqueue_poll(message)?;
                    self.state.poll_once.insert(key.clone(), id);
                    self.undo.push(Undo::PollOnce(key, old));
                }
            }
            Change::AckPoll { registrar, id } => {
                let removed = self
                    .state
                    .poll
                    .get_mut(&registrar)
                    .and_then(|q| q.remove(&id));
                match removed {
                    Some(m) => self.undo.push(Undo::Poll(registrar, id, Some(m))),
                    None => return Err(StoreError::NotFound(ObjectKey::PollMessage(id))),
                }
            }
            Change::PurgePoll { before } => {
                let mut removed = Vec::new();
                for (registrar, queue) in &mut self.state.poll {
                    let old: Vec<u64> = queue
                        .values()
                        .filter(|m| m.q_date < before)
                        .map(|m| m.id)
                        .collect();
                    for id in old {
                        if let Some(m) = queue.remove(&id) {
                            removed.push(Undo::Poll(registrar.clone(), id, Some(m)));
                        }
                    }
                }
                self.undo.extend(removed);
            }
            Change::PutTransferToken(t) => {
                let key = ObjectKey::TransferToken(t.domain.clone());
                if !self.state.domains.contains_key(&t.domain) {
                    return Err(StoreError::MissingReference {
                        object: key,
                        missing: ObjectKey::Domain(t.domain),
                    });
                }
                self.need_registrar(&key, &t.requested_by)?;
                let before = self.state.tokens.get(&t.domain).map(|t| t.history_json());
                self.history(&key, None, before, Some(t.history_json()));
                let domain = t.domain.clone();
                let old = self.state.tokens.insert(domain.clone(), t);
                self.undo.push(Undo::Token(domain, old));
            }
            Change::DeleteTransferToken { domain } => {
                let key = ObjectKey::TransferToken(domain.clone());
                let old = self.state.tokens.remove(&domain);
                let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
                let before = old.history_json();
                self.undo.push(Undo::Token(domain, Some(old)));
                self.history(&key, None, Some(before), None);
            }
            Change::QueueNotification(n) => {
                self.undo
                    .push(Undo::LastNotificationId(self.state.last_notification_id));
                self.state.last_notification_id += 1;
                let id = self.state.last_notification_id;
                self.state.notifications.insert(
                    id,
                    Notification {
                        id,
                        channel: n.channel,
                        recipient: n.recipient,
                        subject: n.subject,
                        body: n.body,
                        created: self.meta.time,
                        delivered: None,
                    },
                );
                self.undo.push(Undo::Notification(id, None));
                self.receipt.notification_ids.push(id);
            }
            Change::MarkDelivered { id } => {
                let time = self.meta.time;
                let n = self.state.notifications.get_mut(&id);
                let n = n.ok_or(StoreError::NotFound(ObjectKey::Notification(id)))?;
                let old = n.clone();
                n.delivered = Some(time);
                self.undo.push(Undo::Notification(id, Some(old)));
            }
            Change::RecordReplay {
                response,
                replaces_before,
            } => {
                let key = ChangeSet {
                    meta: self.meta.clone(),
                    changes: Vec::new(),
                }
                .replay_key()?;
                if let Some(old) = self.state.replays.get(&key)
                    && old.created >= replaces_before
                {
                    return Err(StoreError::AlreadyExists(ObjectKey::Replay(key.0, key.1)));
                }
                let record = ReplayRecord {
                    registrar: key.0.clone(),
                    cl_trid: key.1.clone(),
                    response,
                    created: self.meta.time,
                };
                let old = self.state.replays.insert(key.clone(), record);
                self.undo.push(Undo::Replay(key, old));
            }
            Change::PurgeReplays { before } => {
                let old: Vec<_> = self
                    .state
                    .replays
                    .iter()
                    .filter(|(_, r)| r.created < before)
                    .map(|(k, _)| k.clone())
                    .collect();
                for key in old {
                    let record = self.state.replays.remove(&key);
                    self.undo.push(Undo::Replay(key, record));
                }
            }
        }
        Ok(())
    }

    fn update_host(&mut self, name: HostName, host: &mut Host) -> Result<(), StoreError> {
        let key = ObjectKey::Host(name.clone());
        let old = self.state.hosts.get(&name);
        let old = old.ok_or_else(|| StoreError::NotFound(key.clone()))?;
        if old.version != host.version {
            return Err(StoreError::Conflict(key));
        }
        if old.roid != host.roid {
            return Err(StoreError::InvalidChange(
                "a host's ROID cannot change".into(),
            ));
        }
        let before = old.to_json()?;
        let renamed = host.name != name;
        if renamed && self.state.hosts.contains_key(&host.name) {
            return Err(StoreError::AlreadyExists(ObjectKey::Host(
                host.name.clone(),
            )));
        }
        let new_key = ObjectKey::Host(host.name.clone());
        self.need_registrar(&new_key, &host.cl_id)?;
        self.need_contacts(&new_key, &host.contacts)?;
        host.version += 1;
        let after = host.to_json()?;
        self.history(&new_key, Some(&host.roid), Some(before), Some(after));
        if renamed {
            let users: Vec<DomainName> = self
                .state
                .host_refs
                .get(&name)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            self.put_host(&name, None);
            self.put_host(&host.name.clone(), Some(host.clone()));
            for domain in users {
                let Some(old) = self.state.domains.get(&domain) else {
                    continue;
                };
                let mut d = old.clone();
                let before = old.to_json()?;
                for ns in &mut d.ns {
                    if *ns == name {
                        *ns = host.name.clone();
                    }
                }
                d.version += 1;
                let after = d.to_json()?;
                self.history(
                    &ObjectKey::Domain(domain.clone()),
                    Some(&d.roid),
                    Some(before),
                    Some(after),
                );
                self.put_domain(&domain, Some(d));
            }
        } else {
            self.put_host(&name, Some(host.clone()));
        }
        Ok(())
    }
}

fn page<'a, K: Ord + 'a, V: Clone + 'a>(
    map: &'a BTreeMap<K, V>,
    after: Option<&K>,
    limit: usize,
    mut keep: impl FnMut(&V) -> bool,
) -> Vec<V> {
    let lower = match after {
        Some(k) => Bound::Excluded(k),
        None => Bound::Unbounded,
    };
    map.range((lower, Bound::Unbounded))
        .map(|(_, v)| v)
        .filter(|v| keep(v))
        .take(limit)
        .cloned()
        .collect()
}

impl Store for MemoryStore {
    async fn verify_login(
        &self,
        id: &ClientId,
        password: &Password,
    ) -> Result<LoginCheck, StoreError> {
        let registrar = self.lock().registrars.get(id).cloned();
        Ok(check_login(registrar, password))
    }

    async fn registrar(&self, id: &ClientId) -> Result<Option<Registrar>, StoreError> {
        Ok(self.lock().registrars.get(id).cloned())
    }

    async fn registrars(&self) -> Result<Vec<Registrar>, StoreError> {
        Ok(self.lock().registrars.values().cloned().collect())
    }

    async fn domain(&self, name: &DomainName) -> Result<Option<Domain>, StoreError> {
        Ok(self.lock().domains.get(name).cloned())
    }

    async fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        Ok(self.lock().contacts.get(id).cloned())
    }

    async fn host(&self, name: &HostName) -> Result<Option<Host>, StoreError> {
        Ok(self.lock().hosts.get(name).cloned())
    }

    async fn domains_exist(&self, names: &[DomainName]) -> Result<Vec<bool>, StoreError> {
        let s = self.lock();
        Ok(names.iter().map(|n| s.domains.contains_key(n)).collect())
    }

    async fn contacts_exist(&self, ids: &[ContactId]) -> Result<Vec<bool>, StoreError> {
        let s = self.lock();
        Ok(ids.iter().map(|n| s.contacts.contains_key(n)).collect())
    }

    async fn hosts_exist(&self, names: &[HostName]) -> Result<Vec<bool>, StoreError> {
        let s = self.lock();
        Ok(names.iter().map(|n| s.hosts.contains_key(n)).collect())
    }

    async fn is_linked(&self, object: &ObjectKey) -> Result<bool, StoreError> {
        let s = self.lock();
        Ok(match object {
            ObjectKey::Contact(id) => s.contact_referrer(id).is_some(),
            ObjectKey::Host(name) => s.host_referrer(name).is_some(),
            _ => false,
        })
    }

    async fn domains(
        &self,
        query: &DomainQuery,
        after: Option<&DomainName>,
        limit: usize,
    ) -> Result<Vec<Domain>, StoreError> {
        Ok(page(&self.lock().domains, after, limit, |d| {
            query.matches(d)
        }))
    }

    async fn count_domains(&self, query: &DomainQuery) -> Result<u64, StoreError> {
        let s = self.lock();
        Ok(s.domains.values().filter(|d| query.matches(d)).count() as u64)
    }

    async fn contacts(
        &self,
        query: &ContactQuery,
        after: Option<&ContactId>,
        limit: usize,
    ) -> Result<Vec<Contact>, StoreError> {
        Ok(page(&self.lock().contacts, after, limit, |c| {
            query.matches(c)
        }))
    }

    async fn hosts(
        &self,
        query: &HostQuery,
        after: Option<&HostName>,
        limit: usize,
    ) -> Result<Vec<Host>, StoreError> {
        Ok(page(&self.lock().hosts, after, limit, |h| query.matches(h)))
    }

    async fn poll_summary(&self, registrar: &ClientId) -> Result<Option<PollSummary>, StoreError> {
        let s = self.lock();
        let Some(queue) = s.poll.get(registrar) else {
            return Ok(None);
        };
        Ok(queue.keys().next().map(|first| PollSummary {
            count: queue.len() as u64,
            first_id: *first,
        }))
    }

    async fn poll_peek(&self, registrar: &ClientId) -> Result<Option<PolledMessage>, StoreError> {
        let s = self.lock();
        let Some(queue) = s.poll.get(registrar) else {
            return Ok(None);
        };
        Ok(queue.values().next().map(|m| PolledMessage {
            count: queue.len() as u64,
            message: m.clone(),
        }))
    }

    async fn history(&self, object: &ObjectKey) -> Result<Vec<HistoryEntry>, StoreError> {
        let (kind, key) = (object.kind(), object.key());
        let s = self.lock();
        Ok(s.history
            .iter()
            .filter(|h| h.kind == kind && h.key == key)
            .cloned()
            .collect())
    }

    async fn transfer_token(
        &self,
        domain: &DomainName,
    ) -> Result<Option<TransferToken>, StoreError> {
        Ok(self.lock().tokens.get(domain).cloned())
    }

    async fn expired_transfer_tokens(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<TransferToken>, StoreError> {
        let mut out: Vec<TransferToken> = self
            .lock()
            .tokens
            .values()
            .filter(|t| t.expires < before)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.expires, &a.domain).cmp(&(b.expires, &b.domain)));
        out.truncate(limit);
        Ok(out)
    }

    async fn replay(
        &self,
        registrar: &ClientId,
        cl_trid: &ClTrid,
    ) -> Result<Option<ReplayRecord>, StoreError> {
        let key = (registrar.clone(), cl_trid.clone());
        Ok(self.lock().replays.get(&key).cloned())
    }

    async fn pending_notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        let s = self.lock();
        Ok(s.notifications
            .values()
            .filter(|n| n.delivered.is_none())
            .take(limit)
            .cloned()
            .collect())
    }

    async fn allocate_id(&self, sequence: Sequence) -> Result<u64, StoreError> {
        let mut s = self.lock();
        let n = s.sequences.entry(sequence).or_insert(0);
        *n += 1;
        Ok(*n)
    }

    async fn commit(&self, mut changes: ChangeSet) -> Result<CommitReceipt, StoreError> {
        // Hash before taking the lock: argon2 takes tens of milliseconds.
        if changes.has_clear_passwords() {
            changes.hash_passwords(|| self.next_salt());
        }
        let ChangeSet { meta, changes } = changes;
        let mut state = self.lock();
        let mut tx = Tx {
            state: &mut state,
            meta: &meta,
            undo: Vec::new(),
            receipt: CommitReceipt::default(),
        };
        for change in changes {
            if let Err(e) = tx.apply(change) {
                let undo = std::mem::take(&mut tx.undo);
                tx.state.undo(undo);
                return Err(e);
            }
        }
        Ok(tx.receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use crate::store::suite::{CaseFuture, block_on};

    fn run(case: impl for<'a> FnOnce(&'a MemoryStore) -> CaseFuture<'a>) {
        let store = MemoryStore::new();
        block_on(case(&store));
    }

    crate::store_behaviour_suite!(run);
}
