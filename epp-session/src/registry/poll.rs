//! `<poll>`: the registrar's message queue, with Norid's `<message type=...>` payloads
//! (`no-ext-result-1.0`, digest §9).

use epp_norid_ext::{
    MessageData, MessageEntry, Norid, NoridResData, NoridServerDoc, ServiceMessage, ns as norid_ns,
};
use epp_xml::{MsgQ, Poll, PollOp, ResData, ResultCode};

use super::{Answer, Ctx, Outcome, reason};
use crate::problem::Refused;
use crate::store::model::{ObjectKind, PollMessage, PollPayload};
use crate::store::{Change, ChangeSet, Store, StoreError};

/// `<poll op="req">` or `<poll op="ack" msgID="...">`.
pub(crate) async fn poll<S: Store>(ctx: &mut Ctx<'_, S>, p: &Poll) -> Outcome {
    match p.op {
        PollOp::Req => request(ctx).await,
        PollOp::Ack => ack(ctx, p.msg_id.as_deref()).await,
    }
}

async fn request<S: Store>(ctx: &mut Ctx<'_, S>) -> Outcome {
    let Some(polled) = ctx.store.poll_peek(ctx.me).await? else {
        return Ok(Answer {
            code: Some(ResultCode::SuccessNoMessages),
            msg_q: Some(None),
            ..Answer::default()
        });
    };
    let m = &polled.message;
    let res_data = if ctx.declared.ext(norid_ns::NO_EXT_RESULT) {
        message(m).map(|s| ResData::Extension(NoridResData::Message(s)))
    } else {
        None
    };
    Ok(Answer {
        code: Some(ResultCode::SuccessAckToDequeue),
        res_data,
        msg_q: Some(Some(MsgQ {
            count: polled.count,
            id: m.id.to_string(),
            q_date: Some(m.q_date),
            msg: Some(m.text.clone()),
        })),
        ..Answer::default()
    })
}

async fn ack<S: Store>(ctx: &mut Ctx<'_, S>, msg_id: Option<&str>) -> Outcome {
    let Some(raw) = msg_id else {
        return Err(reason(
            ResultCode::RequiredParameterMissing,
            "<poll op=\"ack\"> needs the msgID of the message to acknowledge.",
        ));
    };
    let missing = || {
        reason(
            ResultCode::ObjectDoesNotExist,
            format!("Message [{raw}] is not in your queue."),
        )
    };
    let id: u64 = raw.trim().parse().map_err(|_| missing())?;
    let set = ChangeSet {
        meta: ctx.meta.clone(),
        changes: vec![Change::AckPoll {
            registrar: ctx.me.clone(),
            id,
        }],
    };
    match ctx.store.commit(set).await {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(Refused::from(e)),
    }
    let count = ctx.store.poll_summary(ctx.me).await?.map_or(0, |s| s.count);
    Ok(Answer {
        msg_q: Some(Some(MsgQ {
            count,
            id: id.to_string(),
            q_date: None,
            msg: None,
        })),
        ..Answer::default()
    })
}

/// Norid's `<message type=...>` for a stored message; `None` for plain text.
pub(crate) fn message(m: &PollMessage) -> Option<ServiceMessage> {
    let kind = m.payload.norid_type()?.to_owned();
    let entry = |name: &str, value: &str| MessageEntry {
        name: name.to_owned(),
        content: value.to_owned(),
    };
    let (entries, response) = match &m.payload {
        PollPayload::DomainTransferred { domain, .. }
        | PollPayload::DomainQuarantined { domain }
        | PollPayload::DomainDeleted { domain } => (vec![entry("domain", domain.as_str())], None),
        PollPayload::ObjectDeleted {
            object,
            handle,
            name,
        } => {
            let mut v = vec![
                entry("objtype", object_title(*object)),
                entry("handle", handle),
            ];
            if let Some(n) = name {
                v.push(entry("name", n));
            }
            (v, None)
        }
        PollPayload::InvalidRegistrantStarted { domain, registrant } => (
            vec![
                entry("domain", domain.as_str()),
                entry("handle", registrant.as_str()),
            ],
            None,
        ),
        PollPayload::LateResponse { response, .. } => (Vec::new(), embedded(response)),
        PollPayload::ResponseCopy {
            object,
            command,
            object_name,
            response,
        } => (
            vec![
                entry("objecttype", object.as_str()),
                entry("command", command),
                entry("objectname", object_name),
            ],
            embedded(response),
        ),
        _ => (Vec::new(), None),
    };
    let data = (!entries.is_empty() || response.is_some()).then(|| MessageData {
        entries,
        response: response.map(Box::new),
    });
    Some(ServiceMessage {
        kind,
        desc: m.text.clone(),
        data,
    })
}

fn object_title(k: ObjectKind) -> &'static str {
    match k {
        ObjectKind::Contact => "Contact",
        ObjectKind::Domain => "Domain",
        ObjectKind::Host => "Host",
        _ => "Object",
    }
}

/// A stored response document, to embed in a message; dropped if it does not decode.
fn embedded(doc: &str) -> Option<epp_xml::Response<Norid>> {
    match epp_norid_ext::decode_response(doc.as_bytes()) {
        Ok(NoridServerDoc::Response(r)) => Some(r),
        _ => None,
    }
}
