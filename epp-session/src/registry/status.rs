//! Conversions between the store's status enums and the XML layer's, which have the same
//! values (RFC 5731-5733 `statusValueType`).

use std::collections::BTreeMap;

use epp_xml::{contact as xc, domain as xd, host as xh};

use crate::store::model::{ContactStatus, DomainStatus, HostStatus, StatusNote};

macro_rules! both_ways {
    ($to_xml:ident, $from_xml:ident, $model:ident, $xml:ty { $($v:ident),* $(,)? }) => {
        /// The XML value of a stored status.
        pub(crate) fn $to_xml(s: $model) -> $xml {
            match s { $($model::$v => <$xml>::$v,)* }
        }

        /// The stored status of an XML value.
        pub(crate) fn $from_xml(s: &$xml) -> $model {
            match s { $(<$xml>::$v => $model::$v,)* }
        }
    };
}

both_ways!(
    domain_to_xml,
    domain_from_xml,
    DomainStatus,
    xd::StatusValue {
        ClientDeleteProhibited,
        ClientHold,
        ClientRenewProhibited,
        ClientTransferProhibited,
        ClientUpdateProhibited,
        Inactive,
        Ok,
        PendingCreate,
        PendingDelete,
        PendingRenew,
        PendingTransfer,
        PendingUpdate,
        ServerDeleteProhibited,
        ServerHold,
        ServerRenewProhibited,
        ServerTransferProhibited,
        ServerUpdateProhibited,
    }
);

both_ways!(
    contact_to_xml,
    contact_from_xml,
    ContactStatus,
    xc::StatusValue {
        ClientDeleteProhibited,
        ClientTransferProhibited,
        ClientUpdateProhibited,
        Linked,
        Ok,
        PendingCreate,
        PendingDelete,
        PendingTransfer,
        PendingUpdate,
        ServerDeleteProhibited,
        ServerTransferProhibited,
        ServerUpdateProhibited,
    }
);

both_ways!(
    host_to_xml,
    host_from_xml,
    HostStatus,
    xh::StatusValue {
        ClientDeleteProhibited,
        ClientUpdateProhibited,
        Linked,
        Ok,
        PendingCreate,
        PendingDelete,
        PendingTransfer,
        PendingUpdate,
        ServerDeleteProhibited,
        ServerUpdateProhibited,
    }
);

/// The note of a status element as sent (`lang` and text), `None` when it has no text.
pub(crate) fn note(lang: &str, text: &str) -> Option<StatusNote> {
    if text.trim().is_empty() {
        return None;
    }
    Some(StatusNote {
        lang: (lang != "en").then(|| lang.to_owned()),
        text: text.to_owned(),
    })
}

/// The `lang` and text of a stored note.
pub(crate) fn note_parts(n: Option<&StatusNote>) -> (String, String) {
    match n {
        Some(n) => (
            n.lang.clone().unwrap_or_else(|| "en".to_owned()),
            n.text.clone(),
        ),
        None => ("en".to_owned(), String::new()),
    }
}

/// The statuses to show: the stored ones plus derived ones, or `ok` when there are none.
pub(crate) fn with_ok<K: Ord + Copy>(
    stored: &BTreeMap<K, Option<StatusNote>>,
    derived: &[K],
    ok: K,
) -> Vec<(K, Option<StatusNote>)> {
    let mut out: BTreeMap<K, Option<StatusNote>> = stored.clone();
    for d in derived {
        out.entry(*d).or_insert(None);
    }
    if out.is_empty() {
        out.insert(ok, None);
    }
    out.into_iter().collect()
}
