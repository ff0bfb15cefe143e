//! Change sets: everything one EPP transform writes, committed atomically.

use epp_norid_ext::policy::{self, ContactKind, HolderCounts};
use epp_xml::{ClTrid, ClientId, ContactId, DomainName, HostName, SvTrid, Timestamp};

use super::error::StoreError;
use super::model::{
    Contact, Domain, Host, NewNotification, NewPollMessage, NewRegistrar, PasswordHash,
    PasswordInput, RegistrarChange, TransferToken,
};

/// Everything one command writes, applied by [`Store::commit`] atomically: all changes or
/// none, and none visible to readers before all are.
///
/// The store checks each change against the stored state (uniqueness, references, links,
/// versions) in order, so a change may depend on an earlier one in the same set (a domain
/// created after the host it uses). It writes one history row per changed object itself.
///
/// [`Store::commit`]: super::Store::commit
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    /// Who, when and which command.
    pub meta: ChangeMeta,
    /// The changes, applied in order.
    pub changes: Vec<Change>,
}

/// Who made a change set, when, and by which command: copied into every history row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMeta {
    /// The registrar that sent the command; `None` for the registry's own jobs (scheduler,
    /// operator commands).
    pub registrar: Option<ClientId>,
    /// The command's time: `crDate`/`upDate` of what it writes, `qDate` of its messages.
    pub time: Timestamp,
    /// The command's clTRID.
    pub cl_trid: Option<ClTrid>,
    /// The command's svTRID.
    pub sv_trid: Option<SvTrid>,
    /// The command, e.g. `domain:create`, `admin:registrar-add`, `lifecycle:quarantine`.
    pub command: String,
}

/// One change in a [`ChangeSet`].
///
/// Updates carry the whole new snapshot with `version` left at the value it was read with:
/// the store refuses the change with [`StoreError::Conflict`] when the stored version
/// differs, and otherwise stores it with the version incremented. Creates ignore
/// `version` (a new object starts at 1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Creates a contact. Fails with `AlreadyExists` (id or ROID taken) or
    /// `MissingReference` (sponsor, organizations, role contacts).
    CreateContact(Contact),
    /// Replaces a contact (key: its id).
    UpdateContact(Contact),
    /// Deletes a contact; `Linked` while any domain, host or contact refers to it.
    DeleteContact {
        /// The contact.
        id: ContactId,
        /// The version it was read at.
        version: u64,
    },
    /// Creates a domain. Fails with `AlreadyExists` or `MissingReference` (sponsor,
    /// registrant, contacts, name servers).
    CreateDomain(Domain),
    /// Replaces a domain (key: its name, which cannot change).
    UpdateDomain(Domain),
    /// Deletes a domain, with its transfer token.
    DeleteDomain {
        /// The domain.
        name: DomainName,
        /// The version it was read at.
        version: u64,
    },
    /// Asserts, inside the commit, that a holder may take one more domain name: the
    /// holder's stored domains (leaving out `domain`) are counted by quota scope and
    /// Norid's quota rule applied ([`policy::check_holder_quota`]). Fails with
    /// `QuotaExceeded`. Put it before the create or registrant change it guards, so that of
    /// two concurrent creates for one holder at most one passes the quota. The registry
    /// logic adds it only where a quota applies ([`policy::quota_scope`]); elsewhere it
    /// costs no read.
    CheckHolderQuota {
        /// The holder (registrant).
        holder: ContactId,
        /// The holder's contact type.
        kind: ContactKind,
        /// The name the holder takes (not counted if already stored for the holder).
        domain: DomainName,
    },
    /// Creates a host. Fails with `AlreadyExists` or `MissingReference` (sponsor,
    /// contacts).
    CreateHost(Host),
    /// Replaces the host now named `name`; `host.name` may differ (a rename), and then
    /// every domain that uses the host is rewritten with the new name (each with its own
    /// version increment and history row).
    UpdateHost {
        /// The host's current name.
        name: HostName,
        /// The new snapshot.
        host: Host,
    },
    /// Deletes a host; `Linked` while a domain uses it.
    DeleteHost {
        /// The host.
        name: HostName,
        /// The version it was read at.
        version: u64,
    },
    /// Creates a registrar account; `AlreadyExists` when the id is taken.
    CreateRegistrar(NewRegistrar),
    /// Changes a registrar account; `NotFound` when there is none.
    UpdateRegistrar {
        /// The registrar.
        id: ClientId,
        /// The change.
        change: RegistrarChange,
    },
    /// Queues a poll message (`qDate` = the change set's time); the registrar must exist.
    EnqueuePoll(NewPollMessage),
    /// Queues a poll message as [`Change::EnqueuePoll`] does, unless the registrar's queue
    /// still holds a message queued under the same `key` (not yet acknowledged or purged):
    /// then it does nothing. Its id, when it is queued, is not in the
    /// [`CommitReceipt`]'s `poll_ids`. For notices another registrar could multiply by
    /// repeating a command, such as the copy of a refused transfer to the domain's
    /// sponsor.
    EnqueuePollOnce {
        /// The message.
        message: NewPollMessage,
        /// What makes two messages the same notice, within the recipient's queue.
        key: String,
    },
    /// Removes a message from a registrar's queue; `NotFound` unless the message is in
    /// that registrar's queue.
    AckPoll {
        /// The queue's registrar.
        registrar: ClientId,
        /// The message id.
        id: u64,
    },
    /// Removes every message queued before the instant, in all queues (Norid acknowledges
    /// messages automatically after 21 days).
    PurgePoll {
        /// The cut-off.
        before: Timestamp,
    },
    /// Stores a domain's transfer token, replacing any earlier one.
    PutTransferToken(TransferToken),
    /// Removes a domain's transfer token; `NotFound` when there is none.
    DeleteTransferToken {
        /// The domain.
        domain: DomainName,
    },
    /// Adds a notification to the outbox (`created` = the change set's time).
    QueueNotification(NewNotification),
    /// Marks a notification delivered at the change set's time; `NotFound` when missing.
    MarkDelivered {
        /// The notification id.
        id: u64,
    },
    /// Records the command's response for idempotent replay, keyed by the change set's
    /// registrar and clTRID (both required). A record with that key made before
    /// `replaces_before` (outside the replay window) is replaced; a younger one makes the
    /// commit fail with `AlreadyExists`, so of two concurrent copies of one command only
    /// one executes.
    RecordReplay {
        /// The response document.
        response: Vec<u8>,
        /// Older records with the same key are replaced.
        replaces_before: Timestamp,
    },
    /// Removes replay records made before the instant.
    PurgeReplays {
        /// The cut-off.
        before: Timestamp,
    },
}

/// What a successful commit assigned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitReceipt {
    /// Ids of the poll messages queued by [`Change::EnqueuePoll`], in change order.
    pub poll_ids: Vec<u64>,
    /// Ids of the notifications queued, in change order.
    pub notification_ids: Vec<u64>,
}

impl ChangeSet {
    /// An empty change set.
    pub fn new(meta: ChangeMeta) -> Self {
        Self {
            meta,
            changes: Vec::new(),
        }
    }

    /// Appends a change.
    pub fn push(&mut self, change: Change) -> &mut Self {
        self.changes.push(change);
        self
    }

    /// Appends a change, builder style.
    #[must_use]
    pub fn with(mut self, change: Change) -> Self {
        self.changes.push(change);
        self
    }

    /// Whether some password in the set is still in clear.
    pub fn has_clear_passwords(&self) -> bool {
        self.changes.iter().any(|c| {
            matches!(
                c,
                Change::CreateRegistrar(NewRegistrar {
                    password: PasswordInput::Clear(_),
                    ..
                }) | Change::UpdateRegistrar {
                    change: RegistrarChange::SetPassword(PasswordInput::Clear(_))
                        | RegistrarChange::SetPendingPassword(PasswordInput::Clear(_)),
                    ..
                }
            )
        })
    }

    /// Replaces every clear password by its argon2 hash, taking a fresh salt for each.
    ///
    /// Stores call this before writing; it is CPU-heavy (see [`PasswordHash::generate`]).
    pub fn hash_passwords(&mut self, mut salt: impl FnMut() -> [u8; 16]) {
        for change in &mut self.changes {
            let input = match change {
                Change::CreateRegistrar(new) => &mut new.password,
                Change::UpdateRegistrar {
                    change:
                        RegistrarChange::SetPassword(input) | RegistrarChange::SetPendingPassword(input),
                    ..
                } => input,
                _ => continue,
            };
            if let PasswordInput::Clear(pw) = input {
                *input = PasswordInput::Hashed(PasswordHash::generate(pw, &salt()));
            }
        }
    }

    /// The replay key of the set: its registrar and clTRID.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidChange`] when either is missing.
    pub fn replay_key(&self) -> Result<(ClientId, ClTrid), StoreError> {
        match (&self.meta.registrar, &self.meta.cl_trid) {
            (Some(r), Some(t)) => Ok((r.clone(), t.clone())),
            _ => Err(StoreError::InvalidChange(
                "a replay record needs the change set's registrar and clTRID".into(),
            )),
        }
    }
}

/// The hash of a password input that [`ChangeSet::hash_passwords`] has processed.
///
/// # Errors
///
/// [`StoreError::InvalidChange`] when the password is still in clear: stores call
/// `hash_passwords` first.
pub fn hashed(input: &PasswordInput) -> Result<&PasswordHash, StoreError> {
    match input {
        PasswordInput::Hashed(h) => Ok(h),
        PasswordInput::Clear(_) => Err(StoreError::InvalidChange(
            "password not hashed before commit".into(),
        )),
    }
}

/// Which of the holder's stored names a [`Change::CheckHolderQuota`] for `domain` needs
/// ([`policy::quota_scope`]): `None` when it needs none (no quota applies to this kind of
/// holder in the name's zone, or the name is not registrable), so that a store reads
/// nothing. Names outside the scope may be left out of what the store passes to
/// [`holder_quota`]; the SQL stores select them with [`QuotaScope::might_count`]'s test.
///
/// [`QuotaScope::might_count`]: policy::QuotaScope::might_count
pub fn holder_quota_scope(kind: ContactKind, domain: &DomainName) -> Option<policy::QuotaScope> {
    let parsed = policy::parse_domain_name(domain).ok()?;
    policy::quota_scope(kind, parsed.zone())
}

/// Decides a [`Change::CheckHolderQuota`] from the names the holder has in the store (read
/// by the store inside the commit's transaction). `stored` is not consumed when no quota
/// applies ([`holder_quota_scope`] is `None`); it needs to hold only the names in the
/// quota's scope, and only those are parsed.
///
/// # Errors
///
/// [`StoreError::QuotaExceeded`] with the policy's refusal.
pub fn holder_quota<'a>(
    holder: &ContactId,
    kind: ContactKind,
    domain: &DomainName,
    stored: impl IntoIterator<Item = &'a DomainName>,
) -> Result<(), StoreError> {
    let Ok(parsed) = policy::parse_domain_name(domain) else {
        return Err(StoreError::InvalidChange(format!(
            "quota check for [{domain}], which is not a registrable name"
        )));
    };
    let counts = match policy::quota_scope(kind, parsed.zone()) {
        // The rule answers the same for any count: nothing to read or parse.
        None => HolderCounts::default(),
        Some(scope) => HolderCounts::tally(
            stored
                .into_iter()
                .filter(|n| *n != domain && scope.might_count(n)),
        ),
    };
    policy::check_holder_quota(holder, kind, parsed.zone(), counts)
        .map_err(|r| StoreError::QuotaExceeded(Box::new(r)))
}
