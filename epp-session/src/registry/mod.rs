//! The registry logic: one function per EPP command, applying Norid's rules
//! (`epp_norid_ext::policy`) to snapshots read from the [`Store`] and answering with a
//! typed response and at most one change set.
//!
//! Each command function reads what it needs, decides, and returns an [`Answer`] (result
//! code, response data, conditions, the changes to commit) or a [`Refused`]. The session
//! commits the changes, runs the command again on a concurrent change, adds `<msgQ>`,
//! `EC001025` before refusals of mutating commands, and the transaction ids.

pub(crate) mod contact;
pub(crate) mod domain;
pub(crate) mod host;
pub mod lifecycle;
pub(crate) mod poll;
mod status;
pub mod zone;

use std::collections::BTreeSet;

use epp_norid_ext::policy::{
    Condition, ObjectKind, RandomSource, Verb, command_completed, to_conditions,
};
use epp_norid_ext::{
    ContactExtCreate, ContactExtUpdate, DomainExtCreate, DomainExtDelete, DomainExtTransfer,
    DomainExtUpdate, DomainExtVersion, HostExtCreate, HostExtInfo, HostExtUpdate, Norid,
    NoridCommand, NoridCommandDoc, NoridCommandExt, NoridResponse, NoridResponseExt,
};
use epp_xml::secdns::SecDnsExtension;
use epp_xml::{ClTrid, ClientId, CommandExtension, CommandKind, ResData, ResponseExtension};
use epp_xml::{ResultCode, SvTrid, Timestamp, TransferOp};

use crate::config::SessionConfig;
use crate::problem::{Problem, Refused};
use crate::store::model::{Contact, Domain, Host};
use crate::store::{Change, ChangeMeta, Store, StoreError};

/// What a command function works with.
pub(crate) struct Ctx<'a, S: Store> {
    pub(crate) store: &'a S,
    pub(crate) config: &'a SessionConfig,
    /// The logged-in registrar.
    pub(crate) me: &'a ClientId,
    pub(crate) now: Timestamp,
    /// Who, when and which command, for the change set and the poll messages it queues.
    pub(crate) meta: &'a ChangeMeta,
    /// The namespaces the client declared at login.
    pub(crate) declared: &'a Declared,
    pub(crate) rng: &'a mut (dyn RandomSource + Send + Sync),
}

/// The services the client declared at login (`svcs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Declared {
    pub(crate) obj_uris: BTreeSet<String>,
    pub(crate) ext_uris: BTreeSet<String>,
}

impl Declared {
    /// Whether the client may receive elements of this extension namespace.
    pub(crate) fn ext(&self, ns: &str) -> bool {
        self.ext_uris.contains(ns)
    }
}

/// A command's successful outcome.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    /// The result code; `None` means 1000.
    pub(crate) code: Option<ResultCode>,
    pub(crate) res_data: Option<ResData<Norid>>,
    /// Response extensions other than conditions.
    pub(crate) extensions: Vec<ResponseExtension<Norid>>,
    /// Norid conditions (EC001024 and any warnings).
    pub(crate) conditions: Vec<Condition>,
    /// The changes to commit, in order.
    pub(crate) changes: Vec<Change>,
    /// How many of the changes queue a poll message for the acting registrar.
    pub(crate) self_polls: usize,
    /// The exact `<msgQ>` to send (poll), instead of the queue summary.
    pub(crate) msg_q: Option<Option<epp_xml::MsgQ>>,
}

impl Answer {
    /// A 1000 answer of a mutating command: `EC001024`, and the changes.
    pub(crate) fn completed(
        object: ObjectKind,
        id: &str,
        verb: Verb,
        changes: Vec<Change>,
    ) -> Self {
        Answer {
            conditions: vec![command_completed(object, id, verb)],
            changes,
            ..Answer::default()
        }
    }

    /// An answer carrying `res_data`.
    pub(crate) fn with_data(mut self, data: ResData<Norid>) -> Self {
        self.res_data = Some(data);
        self
    }

    /// The complete `<epp><response>` of this answer as a poll message embeds it (Norid's
    /// `epp-late-response` and `response-copy`): the command's transaction ids, its
    /// conditions, no `<msgQ>` (the queue of the message's reader is another matter).
    pub(crate) fn document(&self, cl_trid: Option<ClTrid>, sv_trid: SvTrid) -> String {
        let code = self.code.unwrap_or(ResultCode::Success);
        let mut r = NoridResponse::new(code, cl_trid, sv_trid);
        r.res_data = self.res_data.clone();
        r.extensions = self.extensions.clone();
        if !self.conditions.is_empty() {
            r.extensions
                .push(ResponseExtension::Other(NoridResponseExt::Conditions(
                    to_conditions(self.conditions.iter().cloned()),
                )));
        }
        let mut out = Vec::with_capacity(1024);
        epp_norid_ext::encode_response(&r, &mut out);
        // The encoder writes UTF-8 (it escapes, never transcodes); a lossy conversion can
        // only matter if that changed, and then the message says so visibly.
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A command's outcome.
pub(crate) type Outcome = Result<Answer, Refused>;

/// What the session needs to know about a command before running it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandInfo {
    /// The log and metric label (`domain:create`).
    pub(crate) label: &'static str,
    /// For mutating commands: the object, its id as sent, and the verb of the conditions.
    pub(crate) mutation: Option<(ObjectKind, String, Verb)>,
    /// Whether a successful run is recorded for idempotent replay.
    pub(crate) replayable: bool,
    /// The rate-limit class.
    pub(crate) rate_class: Option<crate::services::RateClass>,
}

/// Describes an object command (login, logout and poll are the session's).
pub(crate) fn describe(cmd: &NoridCommandDoc) -> CommandInfo {
    use crate::services::RateClass::{CheckInfoPoll, Create};
    use CommandKind as K;
    use ObjectKind::{Contact as C, Domain as D, Host as H};
    let m = |o, id: String, v| Some((o, id, v));
    let (label, mutation, rate_class) = match &cmd.kind {
        K::Login(_) => ("login", None, None),
        K::Logout => ("logout", None, None),
        K::Poll(_) => ("poll", None, Some(CheckInfoPoll)),
        K::DomainCheck(_) => ("domain:check", None, Some(CheckInfoPoll)),
        K::DomainInfo(_) => ("domain:info", None, Some(CheckInfoPoll)),
        K::DomainCreate(c) => (
            "domain:create",
            m(D, c.name.to_string(), Verb::Create),
            Some(Create),
        ),
        K::DomainUpdate(c) => (
            "domain:update",
            m(D, c.name.to_string(), Verb::Update),
            None,
        ),
        K::DomainDelete(c) => (
            "domain:delete",
            m(D, c.name.to_string(), Verb::Delete),
            None,
        ),
        K::DomainRenew(c) => ("domain:renew", m(D, c.name.to_string(), Verb::Renew), None),
        K::DomainTransfer(TransferOp::Query, _) => ("domain:transfer", None, None),
        K::DomainTransfer(_, c) => (
            "domain:transfer",
            m(D, c.name.to_string(), Verb::Transfer),
            None,
        ),
        K::ContactCheck(_) => ("contact:check", None, Some(CheckInfoPoll)),
        K::ContactInfo(_) => ("contact:info", None, Some(CheckInfoPoll)),
        K::ContactCreate(c) => (
            "contact:create",
            m(C, c.id.to_string(), Verb::Create),
            Some(Create),
        ),
        K::ContactUpdate(c) => ("contact:update", m(C, c.id.to_string(), Verb::Update), None),
        K::ContactDelete(c) => ("contact:delete", m(C, c.id.to_string(), Verb::Delete), None),
        K::ContactTransfer(TransferOp::Query, _) => ("contact:transfer", None, None),
        K::ContactTransfer(_, c) => (
            "contact:transfer",
            m(C, c.id.to_string(), Verb::Transfer),
            None,
        ),
        K::HostCheck(_) => ("host:check", None, Some(CheckInfoPoll)),
        K::HostInfo(_) => ("host:info", None, Some(CheckInfoPoll)),
        K::HostCreate(c) => (
            "host:create",
            m(H, c.name.to_string(), Verb::Create),
            Some(Create),
        ),
        K::HostUpdate(c) => ("host:update", m(H, c.name.to_string(), Verb::Update), None),
        K::HostDelete(c) => ("host:delete", m(H, c.name.to_string(), Verb::Delete), None),
        K::Extension(NoridCommand::TransferExecute(t)) => (
            "domain:transfer-execute",
            m(D, t.name.to_string(), Verb::Transfer),
            None,
        ),
        K::Extension(NoridCommand::Withdraw(_, w)) => (
            "domain:withdraw",
            m(D, w.name.to_string(), Verb::Withdraw),
            None,
        ),
        // A future command kind of the XML layer: answered as unimplemented by `run`.
        _ => ("unknown", None, None),
    };
    // A contact transfer is refused whatever its op: nothing is recorded for it.
    let replayable = mutation.is_some() && !matches!(cmd.kind, K::ContactTransfer(..));
    CommandInfo {
        label,
        mutation,
        replayable,
        rate_class,
    }
}

/// Runs an object command (not login, logout or poll, which the session handles).
pub(crate) async fn run<S: Store>(ctx: &mut Ctx<'_, S>, cmd: &NoridCommandDoc) -> Outcome {
    use CommandKind as K;
    let exts = Exts::parse(&cmd.extensions)?;
    match &cmd.kind {
        K::DomainCheck(c) => domain::check(ctx, c, exts).await,
        K::DomainInfo(c) => domain::info(ctx, c, exts).await,
        K::DomainCreate(c) => domain::create(ctx, c, exts).await,
        K::DomainUpdate(c) => domain::update(ctx, c, exts).await,
        K::DomainDelete(c) => domain::delete(ctx, c, exts).await,
        K::DomainRenew(c) => domain::renew(ctx, c, exts).await,
        K::DomainTransfer(op, c) => domain::transfer(ctx, *op, c, exts).await,
        K::Extension(NoridCommand::TransferExecute(c)) => domain::execute(ctx, c, exts).await,
        K::Extension(NoridCommand::Withdraw(_, w)) => domain::withdraw(ctx, &w.name, exts).await,
        K::ContactCheck(c) => contact::check(ctx, c, exts).await,
        K::ContactInfo(c) => contact::info(ctx, c, exts).await,
        K::ContactCreate(c) => contact::create(ctx, c, exts).await,
        K::ContactUpdate(c) => contact::update(ctx, c, exts).await,
        K::ContactDelete(c) => contact::delete(ctx, &c.id, exts).await,
        K::ContactTransfer(op, _) => {
            exts.none("contact:transfer")?;
            Err(Problem::Unimplemented {
                command: format!("Contact transfer (op=\"{}\")", op.as_str()),
            }
            .into())
        }
        K::HostCheck(c) => host::check(ctx, c, exts).await,
        K::HostInfo(c) => host::info(ctx, &c.name, exts).await,
        K::HostCreate(c) => host::create(ctx, c, exts).await,
        K::HostUpdate(c) => host::update(ctx, c, exts).await,
        K::HostDelete(c) => host::delete(ctx, &c.name, exts).await,
        K::Login(_) | K::Logout | K::Poll(_) => Err(Refused::plain(
            ResultCode::CommandFailed,
            "session command reached the registry logic",
        )),
        _ => Err(Problem::Unimplemented {
            command: "This command".into(),
        }
        .into()),
    }
}

/// A command's `<extension>` elements sorted by kind, so that each command takes the ones
/// it understands and refuses the rest.
#[derive(Debug, Default)]
pub(crate) struct Exts<'a> {
    pub(crate) sec_dns: Option<&'a SecDnsExtension>,
    pub(crate) contact_create: Option<&'a ContactExtCreate>,
    pub(crate) contact_update: Option<&'a ContactExtUpdate>,
    pub(crate) domain_create: Option<&'a DomainExtCreate>,
    pub(crate) domain_update: Option<&'a DomainExtUpdate>,
    pub(crate) domain_delete: Option<(DomainExtVersion, &'a DomainExtDelete)>,
    pub(crate) domain_transfer: Option<(DomainExtVersion, &'a DomainExtTransfer)>,
    pub(crate) host_create: Option<&'a HostExtCreate>,
    pub(crate) host_update: Option<&'a HostExtUpdate>,
    pub(crate) host_info: Option<&'a HostExtInfo>,
}

/// Which extension a command accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    SecDns,
    ContactCreate,
    ContactUpdate,
    DomainCreate,
    DomainUpdate,
    DomainDelete,
    DomainTransfer,
    HostCreate,
    HostUpdate,
    HostInfo,
}

impl<'a> Exts<'a> {
    /// Sorts the extensions; facets and repeated elements are refused here.
    fn parse(list: &'a [CommandExtension<Norid>]) -> Result<Self, Refused> {
        let mut e = Exts::default();
        let twice = |what: &str| {
            Refused::plain(
                ResultCode::CommandSyntaxError,
                format!("the <extension> carries {what} more than once"),
            )
        };
        fn put<T>(
            slot: &mut Option<T>,
            v: T,
            err: impl FnOnce() -> Refused,
        ) -> Result<(), Refused> {
            if slot.is_some() {
                return Err(err());
            }
            *slot = Some(v);
            Ok(())
        }
        for x in list {
            match x {
                CommandExtension::SecDns(s) => put(&mut e.sec_dns, s, || twice("secDNS"))?,
                CommandExtension::Other(o) => match o {
                    NoridCommandExt::ContactCreate(c) => {
                        put(&mut e.contact_create, c, || twice("no-ext-contact:create"))?
                    }
                    NoridCommandExt::ContactUpdate(c) => {
                        put(&mut e.contact_update, c, || twice("no-ext-contact:update"))?
                    }
                    NoridCommandExt::DomainCreate(c) => {
                        put(&mut e.domain_create, c, || twice("no-ext-domain:create"))?
                    }
                    NoridCommandExt::DomainUpdate(c) => {
                        put(&mut e.domain_update, c, || twice("no-ext-domain:update"))?
                    }
                    NoridCommandExt::DomainDelete(v, c) => {
                        put(&mut e.domain_delete, (*v, c), || {
                            twice("no-ext-domain:delete")
                        })?
                    }
                    NoridCommandExt::DomainTransfer(v, c) => {
                        put(&mut e.domain_transfer, (*v, c), || {
                            twice("no-ext-domain:transfer")
                        })?
                    }
                    NoridCommandExt::HostCreate(c) => {
                        put(&mut e.host_create, c, || twice("no-ext-host:create"))?
                    }
                    NoridCommandExt::HostUpdate(c) => {
                        put(&mut e.host_update, c, || twice("no-ext-host:update"))?
                    }
                    NoridCommandExt::HostInfo(c) => {
                        put(&mut e.host_info, c, || twice("no-ext-host:info"))?
                    }
                    NoridCommandExt::Facets(_) => return Err(Problem::FacetsReserved.into()),
                    // A Norid extension this session does not know yet.
                    _ => {
                        return Err(Refused::plain(
                            ResultCode::UnimplementedExtension,
                            "this extension element is not supported",
                        ));
                    }
                },
            }
        }
        Ok(e)
    }

    /// Refuses every extension outside `allowed` (2103: it cannot accompany `command`).
    pub(crate) fn only(&self, allowed: &[Slot], command: &str) -> Result<(), Refused> {
        let present = [
            (Slot::SecDns, self.sec_dns.is_some(), "secDNS"),
            (
                Slot::ContactCreate,
                self.contact_create.is_some(),
                "no-ext-contact:create",
            ),
            (
                Slot::ContactUpdate,
                self.contact_update.is_some(),
                "no-ext-contact:update",
            ),
            (
                Slot::DomainCreate,
                self.domain_create.is_some(),
                "no-ext-domain:create",
            ),
            (
                Slot::DomainUpdate,
                self.domain_update.is_some(),
                "no-ext-domain:update",
            ),
            (
                Slot::DomainDelete,
                self.domain_delete.is_some(),
                "no-ext-domain:delete",
            ),
            (
                Slot::DomainTransfer,
                self.domain_transfer.is_some(),
                "no-ext-domain:transfer",
            ),
            (
                Slot::HostCreate,
                self.host_create.is_some(),
                "no-ext-host:create",
            ),
            (
                Slot::HostUpdate,
                self.host_update.is_some(),
                "no-ext-host:update",
            ),
            (Slot::HostInfo, self.host_info.is_some(), "no-ext-host:info"),
        ];
        for (slot, there, name) in present {
            if there && !allowed.contains(&slot) {
                return Err(Problem::ExtensionNotApplicable {
                    extension: name,
                    command: command.to_owned(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// Refuses any extension.
    pub(crate) fn none(&self, command: &str) -> Result<(), Refused> {
        self.only(&[], command)
    }
}

/// Refuses a command on an object another registrar sponsors (2201).
pub(crate) fn own(
    me: &ClientId,
    sponsor: &ClientId,
    object: ObjectKind,
    id: &str,
) -> Result<(), Refused> {
    if me == sponsor {
        Ok(())
    } else {
        Err(Problem::NotSponsor {
            object,
            id: id.to_owned(),
        }
        .into())
    }
}

/// Reads a domain or refuses with 2303.
pub(crate) async fn load_domain<S: Store>(
    store: &S,
    name: &epp_xml::DomainName,
) -> Result<Domain, Refused> {
    store.domain(name).await?.ok_or_else(|| {
        Problem::NotFound {
            object: ObjectKind::Domain,
            id: name.to_string(),
        }
        .into()
    })
}

/// Reads a contact or refuses with 2303.
pub(crate) async fn load_contact<S: Store>(
    store: &S,
    id: &epp_xml::ContactId,
) -> Result<Contact, Refused> {
    store.contact(id).await?.ok_or_else(|| {
        Problem::NotFound {
            object: ObjectKind::Contact,
            id: id.to_string(),
        }
        .into()
    })
}

/// Reads a host or refuses with 2303.
pub(crate) async fn load_host<S: Store>(
    store: &S,
    name: &epp_xml::HostName,
) -> Result<Host, Refused> {
    store.host(name).await?.ok_or_else(|| {
        Problem::NotFound {
            object: ObjectKind::Host,
            id: name.to_string(),
        }
        .into()
    })
}

/// A contact the registrar may refer to from its own objects: it exists and the registrar
/// sponsors it.
pub(crate) async fn own_contact<S: Store>(
    ctx: &Ctx<'_, S>,
    id: &epp_xml::ContactId,
) -> Result<Contact, Refused> {
    own_read_contact(ctx, id, ctx.store.contact(id).await)
}

/// [`own_contact`] on a read already made: the contact, or 2303 when it is not stored,
/// or the sponsor refusal when it is another registrar's.
pub(crate) fn own_read_contact<S: Store>(
    ctx: &Ctx<'_, S>,
    id: &epp_xml::ContactId,
    read: Result<Option<Contact>, StoreError>,
) -> Result<Contact, Refused> {
    let c = read?.ok_or_else(|| Problem::NotFound {
        object: ObjectKind::Contact,
        id: id.to_string(),
    })?;
    own(ctx.me, &c.cl_id, ObjectKind::Contact, id.as_str())?;
    Ok(c)
}

/// A refusal with the given code and a reason, no condition (read-only commands).
pub(crate) fn reason(code: ResultCode, text: impl Into<String>) -> Refused {
    Refused::plain(code, text)
}

/// Removes repeated values, keeping the first of each.
pub(crate) fn dedup<T: PartialEq>(v: &mut Vec<T>) {
    let mut out: Vec<T> = Vec::with_capacity(v.len());
    for x in v.drain(..) {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    *v = out;
}
