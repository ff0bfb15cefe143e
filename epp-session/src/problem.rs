//! Refusals decided by the session and the registry logic (as opposed to Norid's policy
//! rules in `epp_norid_ext::policy::Refusal`): missing objects, authorisation, statuses,
//! associations, limits. Each maps to one entry of the condition catalogue.

use epp_norid_ext::policy::{Condition, ConditionDef, ObjectKind, Refusal, defs};
use epp_xml::{ClientId, ResultCode};

use crate::services::{RateLimitExceeded, per_text};
use crate::store::StoreError;
use crate::store::model::ObjectKey;

/// Why the registry logic refuses a command, beside Norid's policy refusals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// 2303: the object does not exist.
    NotFound { object: ObjectKind, id: String },
    /// 2302: the object exists.
    Exists { object: ObjectKind, id: String },
    /// 2201: another registrar sponsors the object.
    NotSponsor { object: ObjectKind, id: String },
    /// 2304: a status prohibits the command.
    StatusProhibits {
        object: ObjectKind,
        id: String,
        status: &'static str,
    },
    /// 2305: the object is referred to.
    InUse {
        object: ObjectKind,
        id: String,
        by_object: &'static str,
        by: String,
    },
    /// 2202: wrong transfer code or token.
    InvalidAuthInfo { name: String },
    /// 2400: the store failed.
    StoreFailure,
    /// 2308: a rate limit.
    RateLimited(RateLimitExceeded),
    /// 2101: a command Norid does not offer.
    Unimplemented { command: String },
    /// 2003: a parameter Norid requires is absent.
    Missing {
        parameter: &'static str,
        context: String,
    },
    /// 2301: no pending transfer.
    NotPendingTransfer { name: String },
    /// 2300: a transfer is pending.
    PendingTransfer { name: String },
    /// 2306: an update adds what is there.
    AlreadyAssociated {
        object: ObjectKind,
        id: String,
        what: &'static str,
        value: String,
    },
    /// 2306: an update removes what is not there.
    NotAssociated {
        object: ObjectKind,
        id: String,
        what: &'static str,
        value: String,
    },
    /// 2201: facets from a registrar.
    FacetsReserved,
    /// 2102: an option Norid does not implement.
    UnimplementedOption {
        option: &'static str,
        hint: &'static str,
    },
    /// 2307: an object service not declared at login.
    ObjectNotDeclared { uri: String },
    /// 2103: an extension not declared at login.
    ExtensionNotDeclared { uri: String },
    /// 2103: an extension element that does not go with the command.
    ExtensionNotApplicable {
        extension: &'static str,
        command: String,
    },
    /// 2106: a transfer to the sponsor itself.
    AlreadySponsor { name: String, registrar: String },
    /// 2305: a delete while subordinate hosts exist.
    SubordinateHosts { name: String, host: String },
    /// 2202: the one-time token expired.
    TokenExpired { name: String, expired: String },
    /// 2303: an in-zone host's superordinate domain does not exist.
    SuperordinateMissing { host: String, domain: String },
    /// 2201: an in-zone host's superordinate domain is another registrar's.
    SuperordinateNotSponsor { host: String, domain: String },
    /// 2306: the registry found the holder no longer qualifies.
    HolderInvalid { id: String, since: String },
}

impl Problem {
    fn def(&self) -> &'static ConditionDef {
        use Problem as P;
        match self {
            P::NotFound { .. } => &defs::OBJECT_NOT_FOUND,
            P::Exists { .. } => &defs::OBJECT_EXISTS,
            P::NotSponsor { .. } => &defs::NOT_SPONSOR,
            P::StatusProhibits { .. } => &defs::STATUS_PROHIBITS,
            P::InUse { .. } => &defs::OBJECT_IN_USE,
            P::InvalidAuthInfo { .. } => &defs::INVALID_AUTH_INFO,
            P::StoreFailure => &defs::STORE_FAILURE,
            P::RateLimited(_) => &defs::RATE_LIMITED,
            P::Unimplemented { .. } => &defs::UNIMPLEMENTED_COMMAND,
            P::Missing { .. } => &defs::PARAMETER_MISSING,
            P::NotPendingTransfer { .. } => &defs::NOT_PENDING_TRANSFER,
            P::PendingTransfer { .. } => &defs::PENDING_TRANSFER,
            P::AlreadyAssociated { .. } => &defs::ALREADY_ASSOCIATED,
            P::NotAssociated { .. } => &defs::NOT_ASSOCIATED,
            P::FacetsReserved => &defs::FACETS_RESERVED,
            P::UnimplementedOption { .. } => &defs::UNIMPLEMENTED_OPTION,
            P::ObjectNotDeclared { .. } => &defs::OBJECT_NOT_DECLARED,
            P::ExtensionNotDeclared { .. } => &defs::EXTENSION_NOT_DECLARED,
            P::ExtensionNotApplicable { .. } => &defs::EXTENSION_NOT_APPLICABLE,
            P::AlreadySponsor { .. } => &defs::ALREADY_SPONSOR,
            P::SubordinateHosts { .. } => &defs::SUBORDINATE_HOSTS,
            P::TokenExpired { .. } => &defs::TOKEN_EXPIRED,
            P::SuperordinateMissing { .. } => &defs::SUPERORDINATE_MISSING,
            P::SuperordinateNotSponsor { .. } => &defs::SUPERORDINATE_NOT_SPONSOR,
            P::HolderInvalid { .. } => &defs::HOLDER_INVALID,
        }
    }

    /// The EPP result code.
    pub(crate) fn result_code(&self) -> ResultCode {
        match self.def().result {
            epp_norid_ext::policy::Accompanies::Code(c) => c,
            epp_norid_ext::policy::Accompanies::FailedCommand => ResultCode::CommandFailed,
        }
    }

    /// The details text, also the `<reason>` when no conditions are sent.
    pub(crate) fn details(&self) -> String {
        use Problem as P;
        match self {
            P::NotFound { object, id } => format!("{} [{id}] does not exist.", object.title()),
            P::Exists { object, id } => format!("{} [{id}] already exists.", object.title()),
            P::NotSponsor { object, id } => {
                format!(
                    "{} [{id}] is sponsored by another registrar.",
                    object.title()
                )
            }
            P::StatusProhibits { object, id, status } => format!(
                "{} [{id}] has status [{status}], which prohibits this command.",
                object.title()
            ),
            P::InUse {
                object,
                id,
                by_object,
                by,
            } => format!(
                "{} [{id}] is in use by {by_object} [{by}] and cannot be deleted.",
                object.title()
            ),
            P::InvalidAuthInfo { name } => {
                format!("The transfer code or token given for domain [{name}] is not valid.")
            }
            P::StoreFailure => defs::STORE_FAILURE.details.to_owned(),
            P::RateLimited(r) => format!(
                "{} commands are limited to {} per {}; retry in {} s.",
                capitalise(&r.class.to_string()),
                r.count,
                per_text(r.per),
                r.retry_after.as_secs_f64().ceil() as u64
            ),
            P::Unimplemented { command } => format!("{command} is not supported at .no."),
            P::Missing { parameter, context } => format!("{parameter} is required{context}."),
            P::NotPendingTransfer { name } => {
                format!("Domain [{name}] has no pending transfer request.")
            }
            P::PendingTransfer { name } => format!(
                "Domain [{name}] already has a pending transfer request by another registrar."
            ),
            P::AlreadyAssociated {
                object,
                id,
                what,
                value,
            } => format!("{} [{id}] already has {what} [{value}].", object.title()),
            P::NotAssociated {
                object,
                id,
                what,
                value,
            } => format!(
                "{} [{id}] has no {what} [{value}] to remove.",
                object.title()
            ),
            P::FacetsReserved => defs::FACETS_RESERVED.details.to_owned(),
            P::UnimplementedOption { option, hint } => {
                format!("{option} is not supported at .no; {hint}.")
            }
            P::ObjectNotDeclared { uri } => {
                format!("Object service [{uri}] was not declared at login (svcs/objURI).")
            }
            P::ExtensionNotDeclared { uri } => {
                format!("Extension [{uri}] was not declared at login (svcs/svcExtension/extURI).")
            }
            P::ExtensionNotApplicable { extension, command } => {
                format!("{extension} cannot accompany {command}.")
            }
            P::AlreadySponsor { name, registrar } => {
                format!("Domain [{name}] is already sponsored by registrar [{registrar}].")
            }
            P::SubordinateHosts { name, host } => format!(
                "Domain [{name}] has subordinate host [{host}]; delete it or rename it first."
            ),
            P::TokenExpired { name, expired } => format!(
                "The transfer token for domain [{name}] expired at {expired}; request a new one."
            ),
            P::SuperordinateMissing { host, domain } => {
                format!("Host [{host}] lies under domain [{domain}], which does not exist.")
            }
            P::SuperordinateNotSponsor { host, domain } => format!(
                "Host [{host}] lies under domain [{domain}], which is sponsored by another \
                 registrar."
            ),
            P::HolderInvalid { id, since } => format!(
                "Contact [{id}] no longer qualifies as a domain holder (since {since}); the \
                 deletion process for its domains has started."
            ),
        }
    }

    /// The `error` condition.
    pub(crate) fn condition(&self) -> Condition {
        self.def().with_details(self.details())
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A refused command: the result code, the reason in words, and the `error` conditions
/// that explain it (the session puts `EC001025` before them on mutating commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) code: ResultCode,
    pub(crate) reason: String,
    pub(crate) conditions: Vec<Condition>,
    /// Who gets Norid's `response-copy` of this refusal: the sponsor of the object another
    /// registrar tried to take (a refused transfer execute).
    pub(crate) copy: Option<Box<ResponseCopyTo>>,
    /// Why the store failed, for a refusal that stands for a store failure (2400): for the
    /// server's log, never sent to the client.
    pub(crate) failure: Option<String>,
}

/// The recipient and entries of a `response-copy` of a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResponseCopyTo {
    /// The registrar to tell.
    pub(crate) registrar: ClientId,
    /// Entry `command`, e.g. `transfer-execute`.
    pub(crate) command: &'static str,
    /// Entry `objectname`.
    pub(crate) object_name: String,
}

impl Refused {
    /// A store failure (2400), with its cause for the server's log.
    pub(crate) fn store_failure(why: String) -> Self {
        let mut refused = Refused::from(Problem::StoreFailure);
        refused.failure = Some(why);
        refused
    }

    /// A refusal with a reason and no condition (session-level refusals such as 2002).
    pub(crate) fn plain(code: ResultCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            conditions: Vec::new(),
            copy: None,
            failure: None,
        }
    }
}

impl From<Problem> for Refused {
    fn from(p: Problem) -> Self {
        Self {
            code: p.result_code(),
            reason: p.details(),
            conditions: vec![p.condition()],
            copy: None,
            failure: None,
        }
    }
}

impl From<Refusal> for Refused {
    fn from(r: Refusal) -> Self {
        Self {
            code: r.result_code(),
            reason: r.reason(),
            conditions: vec![r.condition()],
            copy: None,
            failure: None,
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::QuotaExceeded(r) => (*r).into(),
            e => match Problem::from_store(&e) {
                Problem::StoreFailure => Refused::store_failure(e.to_string()),
                problem => problem.into(),
            },
        }
    }
}

impl Problem {
    /// The problem a store error stands for (the rule outcomes name their objects; backend
    /// failures become [`Problem::StoreFailure`]).
    pub(crate) fn from_store(e: &StoreError) -> Problem {
        match e {
            StoreError::AlreadyExists(key) => match object_of(key) {
                Some((object, id)) => Problem::Exists { object, id },
                None => Problem::StoreFailure,
            },
            StoreError::NotFound(key) | StoreError::MissingReference { missing: key, .. } => {
                match object_of(key) {
                    Some((object, id)) => Problem::NotFound { object, id },
                    None => Problem::StoreFailure,
                }
            }
            StoreError::Linked { object, by } => match (object_of(object), object_of(by)) {
                (Some((object, id)), Some((by_kind, by))) => Problem::InUse {
                    object,
                    id,
                    by_object: by_kind.noun(),
                    by,
                },
                _ => Problem::StoreFailure,
            },
            _ => Problem::StoreFailure,
        }
    }
}

/// The condition vocabulary's object kind and id of a store key.
fn object_of(key: &ObjectKey) -> Option<(ObjectKind, String)> {
    match key {
        ObjectKey::Contact(id) => Some((ObjectKind::Contact, id.to_string())),
        ObjectKey::Domain(name) => Some((ObjectKind::Domain, name.to_string())),
        ObjectKey::Host(name) => Some((ObjectKind::Host, name.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::services::RateClass;

    #[test]
    fn every_problem_has_its_catalogue_code_and_result() {
        let p = Problem::NotFound {
            object: ObjectKind::Domain,
            id: "x.no".into(),
        };
        assert_eq!(p.result_code(), ResultCode::ObjectDoesNotExist);
        assert_eq!(p.condition().code, "EC001902");
        assert_eq!(p.details(), "Domain [x.no] does not exist.");
        let r = Problem::RateLimited(RateLimitExceeded {
            class: RateClass::Create,
            count: 10,
            per: Duration::from_secs(60),
            retry_after: Duration::from_millis(5500),
        });
        assert_eq!(r.result_code(), ResultCode::DataManagementPolicyViolation);
        assert_eq!(
            r.details(),
            "Create commands are limited to 10 per 1m; retry in 6 s."
        );
    }

    #[test]
    fn store_errors_name_their_objects() {
        let e = StoreError::Linked {
            object: ObjectKey::Contact("TR85R".parse().unwrap()),
            by: ObjectKey::Domain("a.no".parse().unwrap()),
        };
        let r = Refused::from(e);
        assert_eq!(r.code, ResultCode::ObjectAssociationProhibitsOperation);
        assert_eq!(
            r.reason,
            "Contact [TR85R] is in use by domain [a.no] and cannot be deleted."
        );
        assert_eq!(r.failure, None);
        let r = Refused::from(StoreError::Unavailable("down".into()));
        assert_eq!(r.code, ResultCode::CommandFailed);
        assert_eq!(r.conditions[0].code, "EC001908");
        // The store's own words are for the server's log, not for the client.
        let failure = r.failure.unwrap();
        assert!(failure.contains("down"), "{failure}");
        assert!(!r.reason.contains("down"), "{}", r.reason);
    }
}
