//! proptest strategies generating schema-valid values of every command and response type,
//! for the typed -> XML -> typed round-trip properties of this crate and of extension
//! crates (feature `test-util`; never part of a normal build).
//!
//! Every value generated is one the decoder produces from some valid document: tokens are
//! already collapsed, normalizedStrings hold no tab or line break, lengths, patterns,
//! enumerations and ranges are respected, orders the schema fixes are kept (secDNS
//! `maxSigLife` first, then DS or key data, never both), and timestamps are whole
//! centiseconds, since the wire shows two fractional digits (`Timestamp`'s `Display`
//! truncates finer precision). Text draws on letters outside ASCII and on the markup
//! characters `<>&'"` so that escaping is exercised.
#![allow(
    missing_docs,
    reason = "one strategy per schema type; each is named after it"
)]

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::string::string_regex;

use crate::ns::{CONTACT, DOMAIN, HOST};
use crate::{
    AnyElement, ClTrid, ClientId, Command, CommandExtension, CommandKind, ContactId, Date, Dcp,
    DcpAccess, DcpAccessKind, DcpExpiry, DcpExpiryKind, DcpOurs, DcpPurpose, DcpRecipient,
    DcpRetention, DcpRetentionKind, DcpStatement, DomainName, Empty, EppResult, ErrValue,
    ExtAuthInfo, ExtValue, Extension, Greeting, HostName, Login, MsgQ, PaTrId, Password, Poll,
    PollOp, PwAuthInfo, Reason, Request, ResData, Response, ResponseExtension, ResultCode, SvTrid,
    Timestamp, TrId, TrStatus, TransferOp, contact, domain, host, secdns,
};

/// The strategies of an extension set's own parts; `None` leaves that part out.
pub struct ExtStrategies<X: Extension> {
    /// Elements of a command's `<extension>`.
    pub command_ext: Option<BoxedStrategy<X::CommandExt>>,
    /// Extension commands (`<epp><extension>`).
    pub ext_command: Option<BoxedStrategy<X::ExtCommand>>,
    /// Elements of a response's `<extension>`.
    pub response_ext: Option<BoxedStrategy<X::ResponseExt>>,
    /// `resData` payloads.
    pub res_data: Option<BoxedStrategy<X::ResData>>,
}

impl<X: Extension> ExtStrategies<X> {
    /// No extension parts at all.
    pub fn none() -> Self {
        Self {
            command_ext: None,
            ext_command: None,
            response_ext: None,
            res_data: None,
        }
    }
}

impl<X: Extension> Clone for ExtStrategies<X> {
    fn clone(&self) -> Self {
        Self {
            command_ext: self.command_ext.clone(),
            ext_command: self.ext_command.clone(),
            response_ext: self.response_ext.clone(),
            res_data: self.res_data.clone(),
        }
    }
}

// ------------------------------------------------------------------ lexical values

/// Characters of words in text: ASCII letters and digits, letters outside ASCII,
/// punctuation and the markup characters.
const WORD: &str = "[a-zA-Z0-9æøåÆØÅéü€.,:;!?@#%/()+*=_'\"<>&-]";

/// Shortens `s` to `max` characters and pads it to `min`; `trim` keeps it a collapsed
/// token (no trailing space after shortening).
fn fit(s: String, min: usize, max: usize, trim: bool) -> String {
    let mut s: String = s.chars().take(max).collect();
    if trim {
        s.truncate(s.trim_end().len());
    }
    while s.chars().count() < min {
        s.push('x');
    }
    s
}

/// `xs:token` with length facets: words separated by single spaces.
pub fn token(min: usize, max: usize) -> BoxedStrategy<String> {
    let re = format!("{WORD}{{1,12}}( {WORD}{{1,12}}){{0,4}}");
    let words = string_regex(&re)
        .unwrap_or_else(|_| unreachable!("the pattern is a constant"))
        .prop_map(move |s| fit(s, min, max, true));
    if min == 0 {
        prop_oneof![1 => Just(String::new()), 9 => words].boxed()
    } else {
        words.boxed()
    }
}

/// `xs:normalizedString` with length facets: spaces anywhere, no tab or line break.
pub fn normalized(min: usize, max: usize) -> BoxedStrategy<String> {
    let re = format!(" {{0,2}}{WORD}{{0,12}}( {{1,2}}{WORD}{{1,12}}){{0,4}} {{0,2}}");
    string_regex(&re)
        .unwrap_or_else(|_| unreachable!("the pattern is a constant"))
        .prop_map(move |s| fit(s, min, max, false))
        .boxed()
}

/// `xs:string`: any XML characters, tabs and line breaks included.
pub fn string() -> BoxedStrategy<String> {
    string_regex("[a-zA-Z0-9æøåÆØÅ€😀 \t\n\r.,:;!?@#%/()+*=_'\"<>&\\]-]{0,40}")
        .unwrap_or_else(|_| unreachable!("the pattern is a constant"))
        .boxed()
}

/// `xs:language`.
pub fn language() -> BoxedStrategy<String> {
    prop_oneof![
        Just("en".to_owned()),
        Just("nb".to_owned()),
        string_regex("[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8}){0,2}")
            .unwrap_or_else(|_| unreachable!("the pattern is a constant")),
    ]
    .boxed()
}

/// `xs:anyURI`, as URNs and URLs.
pub fn uri() -> BoxedStrategy<String> {
    prop_oneof![
        Just(DOMAIN.to_owned()),
        Just(HOST.to_owned()),
        Just(CONTACT.to_owned()),
        string_regex("urn:[a-z]{1,8}:[a-z0-9.-]{1,20}")
            .unwrap_or_else(|_| unreachable!("the pattern is a constant")),
        string_regex("http://www\\.[a-z]{1,8}\\.no/xsd/[a-z-]{1,12}-1\\.[0-9]")
            .unwrap_or_else(|_| unreachable!("the pattern is a constant")),
    ]
    .boxed()
}

/// A domain name: DNS-like, or any `eppcom:labelType` token (lower-cased by `DomainName`).
pub fn domain_name() -> BoxedStrategy<DomainName> {
    prop_oneof![
        string_regex("[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,3}")
            .unwrap_or_else(|_| unreachable!("the pattern is a constant")),
        token(1, 255),
    ]
    .prop_filter_map("a labelType token", |s| DomainName::new(s).ok())
    .boxed()
}

/// A host name, as [`domain_name`].
pub fn host_name() -> BoxedStrategy<HostName> {
    prop_oneof![
        string_regex("ns[0-9]{1,2}\\.[a-z0-9-]{1,20}\\.no")
            .unwrap_or_else(|_| unreachable!("the pattern is a constant")),
        token(1, 255),
    ]
    .prop_filter_map("a labelType token", |s| HostName::new(s).ok())
    .boxed()
}

/// A contact id (`eppcom:clIDType`).
pub fn contact_id() -> BoxedStrategy<ContactId> {
    token(3, 16)
        .prop_filter_map("a clIDType token", |s| ContactId::new(s).ok())
        .boxed()
}

/// A client id (`eppcom:clIDType`).
pub fn client_id() -> BoxedStrategy<ClientId> {
    token(3, 16)
        .prop_filter_map("a clIDType token", |s| ClientId::new(s).ok())
        .boxed()
}

/// A client transaction id (`epp:trIDStringType`).
pub fn cl_trid() -> BoxedStrategy<ClTrid> {
    token(3, 64)
        .prop_filter_map("a trIDStringType token", |s| ClTrid::new(s).ok())
        .boxed()
}

/// A server transaction id (`epp:trIDStringType`).
pub fn sv_trid() -> BoxedStrategy<SvTrid> {
    token(3, 64)
        .prop_filter_map("a trIDStringType token", |s| SvTrid::new(s).ok())
        .boxed()
}

/// A password (`epp:pwType`).
pub fn password() -> BoxedStrategy<Password> {
    token(6, 16)
        .prop_filter_map("a pwType token", |s| Password::new(s).ok())
        .boxed()
}

/// `eppcom:roidType`: `(\w|_){1,80}-\w{1,8}`.
pub fn roid() -> BoxedStrategy<String> {
    string_regex("[A-Za-z0-9_]{1,80}-[A-Za-z0-9]{1,8}")
        .unwrap_or_else(|_| unreachable!("the pattern is a constant"))
        .boxed()
}

/// An instant in years 0001-9999 at centisecond precision.
pub fn timestamp() -> BoxedStrategy<Timestamp> {
    (-6_213_559_680_000i64..=25_340_230_079_999)
        .prop_map(|centis| Timestamp::from_unix_micros(centis * 10_000))
        .boxed()
}

/// A calendar date in years 0001-9999.
pub fn date() -> BoxedStrategy<Date> {
    (-719_162i64..=2_932_896)
        .prop_filter_map("a date in 0001-9999", |d| {
            Date::from_days_since_epoch(d).ok()
        })
        .boxed()
}

/// `contact:e164Type`: `(\+[0-9]{1,3}\.[0-9]{1,14})?`, at most 17 characters, with an
/// optional `x` extension.
pub fn phone() -> BoxedStrategy<contact::Phone> {
    let number = (1usize..=3).prop_flat_map(|cc| {
        (
            string_regex(&format!("[0-9]{{{cc}}}"))
                .unwrap_or_else(|_| unreachable!("the pattern is a constant")),
            string_regex(&format!("[0-9]{{1,{}}}", 14usize.min(15 - cc)))
                .unwrap_or_else(|_| unreachable!("the pattern is a constant")),
        )
            .prop_map(|(cc, n)| format!("+{cc}.{n}"))
    });
    (
        of(token(0, 10)),
        prop_oneof![1 => Just(String::new()), 9 => number],
    )
        .prop_map(|(x, content)| contact::Phone { x, content })
        .boxed()
}

/// `eppcom:pwAuthInfoType`.
pub fn pw_auth_info() -> BoxedStrategy<PwAuthInfo> {
    (of(roid()), normalized(0, 40))
        .prop_map(|(roid, content)| PwAuthInfo { roid, content })
        .boxed()
}

/// `eppcom:extAuthInfoType`: one element of another namespace that our schemas declare
/// (the wildcard is strict), written with its own namespace declaration.
pub fn ext_auth_info() -> BoxedStrategy<ExtAuthInfo> {
    string_regex("[a-z0-9]{1,10}\\.no")
        .unwrap_or_else(|_| unreachable!("the pattern is a constant"))
        .prop_map(|name| ExtAuthInfo {
            any: AnyElement {
                namespace: HOST.to_owned(),
                name: "info".to_owned(),
                xml: format!("<h:info xmlns:h=\"{HOST}\"><h:name>ns1.{name}</h:name></h:info>"),
            },
        })
        .boxed()
}

fn status_lang() -> BoxedStrategy<String> {
    prop_oneof![3 => Just("en".to_owned()), 1 => language()].boxed()
}

fn reason() -> BoxedStrategy<Reason> {
    (of(language()), token(1, 32))
        .prop_map(|(lang, content)| Reason { lang, content })
        .boxed()
}

fn pa_trid() -> BoxedStrategy<PaTrId> {
    (of(token(3, 64)), token(3, 64))
        .prop_map(|(cl_trid, sv_trid)| PaTrId { cl_trid, sv_trid })
        .boxed()
}

fn tr_status() -> BoxedStrategy<TrStatus> {
    prop_oneof![
        Just(TrStatus::ClientApproved),
        Just(TrStatus::ClientCancelled),
        Just(TrStatus::ClientRejected),
        Just(TrStatus::Pending),
        Just(TrStatus::ServerApproved),
        Just(TrStatus::ServerCancelled),
    ]
    .boxed()
}

fn empty_flag() -> BoxedStrategy<Option<Empty>> {
    of(Just(Empty)).boxed()
}

// ------------------------------------------------------------------ domain

fn domain_status() -> BoxedStrategy<domain::Status> {
    use domain::StatusValue as S;
    let s = prop_oneof![
        Just(S::ClientDeleteProhibited),
        Just(S::ClientHold),
        Just(S::ClientRenewProhibited),
        Just(S::ClientTransferProhibited),
        Just(S::ClientUpdateProhibited),
        Just(S::Inactive),
        Just(S::Ok),
        Just(S::PendingCreate),
        Just(S::PendingDelete),
        Just(S::PendingRenew),
        Just(S::PendingTransfer),
        Just(S::PendingUpdate),
        Just(S::ServerDeleteProhibited),
        Just(S::ServerHold),
        Just(S::ServerRenewProhibited),
        Just(S::ServerTransferProhibited),
        Just(S::ServerUpdateProhibited),
    ];
    (s, status_lang(), normalized(0, 20))
        .prop_map(|(s, lang, content)| domain::Status { s, lang, content })
        .boxed()
}

fn period() -> BoxedStrategy<domain::Period> {
    (
        prop_oneof![Just(domain::PeriodUnit::Y), Just(domain::PeriodUnit::M)],
        1u16..=99,
    )
        .prop_map(|(unit, content)| domain::Period { unit, content })
        .boxed()
}

fn host_addr() -> BoxedStrategy<host::Addr> {
    (
        prop_oneof![Just(host::IpVersion::V4), Just(host::IpVersion::V6)],
        token(3, 45),
    )
        .prop_map(|(ip, content)| host::Addr { ip, content })
        .boxed()
}

fn domain_ns() -> BoxedStrategy<domain::Ns> {
    prop_oneof![
        vec(host_name().prop_map(domain::NsEntry::HostObj), 1..4),
        vec(
            (host_name(), vec(host_addr(), 0..3)).prop_map(|(host_name, host_addr)| {
                domain::NsEntry::HostAttr(domain::HostAttr {
                    host_name,
                    host_addr,
                })
            }),
            1..3,
        ),
    ]
    .prop_map(|content| domain::Ns { content })
    .boxed()
}

fn domain_contact() -> BoxedStrategy<domain::Contact> {
    let role = prop_oneof![
        Just(domain::ContactRole::Admin),
        Just(domain::ContactRole::Billing),
        Just(domain::ContactRole::Tech),
    ];
    (of(role), contact_id())
        .prop_map(|(type_, content)| domain::Contact { type_, content })
        .boxed()
}

fn domain_auth_info() -> BoxedStrategy<domain::AuthInfo> {
    prop_oneof![
        4 => pw_auth_info().prop_map(domain::AuthInfoContent::Pw),
        1 => ext_auth_info().prop_map(domain::AuthInfoContent::Ext),
    ]
    .prop_map(|content| domain::AuthInfo { content })
    .boxed()
}

fn domain_add_rem() -> BoxedStrategy<domain::AddRem> {
    (
        of(domain_ns()),
        vec(domain_contact(), 0..3),
        vec(domain_status(), 0..4),
    )
        .prop_map(|(ns, contact, status)| domain::AddRem {
            ns,
            contact,
            status,
        })
        .boxed()
}

pub fn domain_check() -> BoxedStrategy<domain::Check> {
    vec(domain_name(), 1..5)
        .prop_map(|name| domain::Check { name })
        .boxed()
}

pub fn domain_create() -> BoxedStrategy<domain::Create> {
    (
        domain_name(),
        of(period()),
        of(domain_ns()),
        of(contact_id()),
        vec(domain_contact(), 0..4),
        domain_auth_info(),
    )
        .prop_map(
            |(name, period, ns, registrant, contact, auth_info)| domain::Create {
                name,
                period,
                ns,
                registrant,
                contact,
                auth_info,
            },
        )
        .boxed()
}

pub fn domain_info() -> BoxedStrategy<domain::Info> {
    let hosts = prop_oneof![
        Just(domain::Hosts::All),
        Just(domain::Hosts::Del),
        Just(domain::Hosts::None),
        Just(domain::Hosts::Sub),
    ];
    (hosts, domain_name(), of(domain_auth_info()))
        .prop_map(|(hosts, content, auth_info)| domain::Info {
            name: domain::InfoName { hosts, content },
            auth_info,
        })
        .boxed()
}

pub fn domain_renew() -> BoxedStrategy<domain::Renew> {
    (domain_name(), date(), of(period()))
        .prop_map(|(name, cur_exp_date, period)| domain::Renew {
            name,
            cur_exp_date,
            period,
        })
        .boxed()
}

pub fn domain_transfer() -> BoxedStrategy<domain::Transfer> {
    (domain_name(), of(period()), of(domain_auth_info()))
        .prop_map(|(name, period, auth_info)| domain::Transfer {
            name,
            period,
            auth_info,
        })
        .boxed()
}

pub fn domain_update() -> BoxedStrategy<domain::Update> {
    let auth_chg = prop_oneof![
        pw_auth_info().prop_map(domain::AuthInfoChgContent::Pw),
        ext_auth_info().prop_map(domain::AuthInfoChgContent::Ext),
        Just(domain::AuthInfoChgContent::Null(Empty)),
    ]
    .prop_map(|content| domain::AuthInfoChg { content });
    let chg = (of(token(0, 16)), of(auth_chg)).prop_map(|(registrant, auth_info)| domain::Chg {
        registrant,
        auth_info,
    });
    (
        domain_name(),
        of(domain_add_rem()),
        of(domain_add_rem()),
        of(chg),
    )
        .prop_map(|(name, add, rem, chg)| domain::Update {
            name,
            add,
            rem,
            chg,
        })
        .boxed()
}

fn transfer_op() -> BoxedStrategy<TransferOp> {
    prop_oneof![
        Just(TransferOp::Approve),
        Just(TransferOp::Cancel),
        Just(TransferOp::Query),
        Just(TransferOp::Reject),
        Just(TransferOp::Request),
    ]
    .boxed()
}

// ------------------------------------------------------------------ contact

fn contact_status() -> BoxedStrategy<contact::Status> {
    use contact::StatusValue as S;
    let s = prop_oneof![
        Just(S::ClientDeleteProhibited),
        Just(S::ClientTransferProhibited),
        Just(S::ClientUpdateProhibited),
        Just(S::Linked),
        Just(S::Ok),
        Just(S::PendingCreate),
        Just(S::PendingDelete),
        Just(S::PendingTransfer),
        Just(S::PendingUpdate),
        Just(S::ServerDeleteProhibited),
        Just(S::ServerTransferProhibited),
        Just(S::ServerUpdateProhibited),
    ];
    (s, status_lang(), normalized(0, 20))
        .prop_map(|(s, lang, content)| contact::Status { s, lang, content })
        .boxed()
}

fn postal_kind() -> BoxedStrategy<contact::PostalInfoKind> {
    prop_oneof![
        Just(contact::PostalInfoKind::Loc),
        Just(contact::PostalInfoKind::Int)
    ]
    .boxed()
}

fn contact_addr() -> BoxedStrategy<contact::Addr> {
    (
        vec(normalized(0, 255), 0..4),
        normalized(1, 255),
        of(normalized(0, 255)),
        of(token(0, 16)),
        string_regex("[A-Z]{2}").unwrap_or_else(|_| unreachable!("the pattern is a constant")),
    )
        .prop_map(|(street, city, sp, pc, cc)| contact::Addr {
            street,
            city,
            sp,
            pc,
            cc,
        })
        .boxed()
}

fn postal_info() -> BoxedStrategy<contact::PostalInfo> {
    (
        postal_kind(),
        normalized(1, 255),
        of(normalized(0, 255)),
        contact_addr(),
    )
        .prop_map(|(type_, name, org, addr)| contact::PostalInfo {
            type_,
            name,
            org,
            addr,
        })
        .boxed()
}

fn contact_auth_info() -> BoxedStrategy<contact::AuthInfo> {
    prop_oneof![
        4 => pw_auth_info().prop_map(contact::AuthInfoContent::Pw),
        1 => ext_auth_info().prop_map(contact::AuthInfoContent::Ext),
    ]
    .prop_map(|content| contact::AuthInfo { content })
    .boxed()
}

fn disclose() -> BoxedStrategy<contact::Disclose> {
    let int_loc = || {
        vec(
            postal_kind().prop_map(|type_| contact::IntLoc { type_ }),
            0..3,
        )
    };
    (
        any::<bool>(),
        int_loc(),
        int_loc(),
        int_loc(),
        empty_flag(),
        empty_flag(),
        empty_flag(),
    )
        .prop_map(
            |(flag, name, org, addr, voice, fax, email)| contact::Disclose {
                flag,
                name,
                org,
                addr,
                voice,
                fax,
                email,
            },
        )
        .boxed()
}

pub fn contact_check() -> BoxedStrategy<contact::Check> {
    vec(contact_id(), 1..5)
        .prop_map(|id| contact::Check { id })
        .boxed()
}

pub fn contact_create() -> BoxedStrategy<contact::Create> {
    (
        contact_id(),
        vec(postal_info(), 1..3),
        of(phone()),
        of(phone()),
        token(1, 40),
        contact_auth_info(),
        of(disclose()),
    )
        .prop_map(
            |(id, postal_info, voice, fax, email, auth_info, disclose)| contact::Create {
                id,
                postal_info,
                voice,
                fax,
                email,
                auth_info,
                disclose,
            },
        )
        .boxed()
}

pub fn contact_auth_id() -> BoxedStrategy<contact::AuthId> {
    (contact_id(), of(contact_auth_info()))
        .prop_map(|(id, auth_info)| contact::AuthId { id, auth_info })
        .boxed()
}

pub fn contact_update() -> BoxedStrategy<contact::Update> {
    let add_rem = || vec(contact_status(), 1..4).prop_map(|status| contact::AddRem { status });
    let chg_postal = (
        postal_kind(),
        of(normalized(1, 255)),
        of(normalized(0, 255)),
        of(contact_addr()),
    )
        .prop_map(|(type_, name, org, addr)| contact::ChgPostalInfo {
            type_,
            name,
            org,
            addr,
        });
    let chg = (
        vec(chg_postal, 0..3),
        of(phone()),
        of(phone()),
        of(token(1, 40)),
        of(contact_auth_info()),
        of(disclose()),
    )
        .prop_map(
            |(postal_info, voice, fax, email, auth_info, disclose)| contact::Chg {
                postal_info,
                voice,
                fax,
                email,
                auth_info,
                disclose,
            },
        );
    (contact_id(), of(add_rem()), of(add_rem()), of(chg))
        .prop_map(|(id, add, rem, chg)| contact::Update { id, add, rem, chg })
        .boxed()
}

// ------------------------------------------------------------------ host

fn host_status() -> BoxedStrategy<host::Status> {
    use host::StatusValue as S;
    let s = prop_oneof![
        Just(S::ClientDeleteProhibited),
        Just(S::ClientUpdateProhibited),
        Just(S::Linked),
        Just(S::Ok),
        Just(S::PendingCreate),
        Just(S::PendingDelete),
        Just(S::PendingTransfer),
        Just(S::PendingUpdate),
        Just(S::ServerDeleteProhibited),
        Just(S::ServerUpdateProhibited),
    ];
    (s, status_lang(), normalized(0, 20))
        .prop_map(|(s, lang, content)| host::Status { s, lang, content })
        .boxed()
}

pub fn host_check() -> BoxedStrategy<host::Check> {
    vec(host_name(), 1..5)
        .prop_map(|name| host::Check { name })
        .boxed()
}

pub fn host_create() -> BoxedStrategy<host::Create> {
    (host_name(), vec(host_addr(), 0..4))
        .prop_map(|(name, addr)| host::Create { name, addr })
        .boxed()
}

pub fn host_update() -> BoxedStrategy<host::Update> {
    let add_rem = || {
        (vec(host_addr(), 0..3), vec(host_status(), 0..3))
            .prop_map(|(addr, status)| host::AddRem { addr, status })
    };
    (
        host_name(),
        of(add_rem()),
        of(add_rem()),
        of(host_name().prop_map(|name| host::Chg { name })),
    )
        .prop_map(|(name, add, rem, chg)| host::Update {
            name,
            add,
            rem,
            chg,
        })
        .boxed()
}

// ------------------------------------------------------------------ secDNS

fn hex() -> BoxedStrategy<String> {
    string_regex("([0-9a-fA-F]{2}){0,40}")
        .unwrap_or_else(|_| unreachable!("the pattern is a constant"))
        .boxed()
}

/// `secDNS:keyType`: base64 of 1-64 octets.
fn base64() -> BoxedStrategy<String> {
    vec(any::<u8>(), 1..64)
        .prop_map(|b| encode_base64(&b))
        .boxed()
}

fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn key_data() -> BoxedStrategy<secdns::KeyData> {
    (any::<u16>(), any::<u8>(), any::<u8>(), base64())
        .prop_map(|(flags, protocol, alg, pub_key)| secdns::KeyData {
            flags,
            protocol,
            alg,
            pub_key,
        })
        .boxed()
}

fn ds_data() -> BoxedStrategy<secdns::DsData> {
    (
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        hex(),
        of(key_data()),
    )
        .prop_map(
            |(key_tag, alg, digest_type, digest, key_data)| secdns::DsData {
                key_tag,
                alg,
                digest_type,
                digest,
                key_data,
            },
        )
        .boxed()
}

fn max_sig_life() -> BoxedStrategy<i32> {
    (1..=i32::MAX).boxed()
}

/// `secDNS:dsOrKeyType`: an optional maxSigLife, then DS data or key data.
pub fn ds_or_key() -> BoxedStrategy<secdns::DsOrKey> {
    let data = prop_oneof![
        vec(ds_data().prop_map(secdns::DsOrKeyEntry::DsData), 1..3),
        vec(key_data().prop_map(secdns::DsOrKeyEntry::KeyData), 1..3),
    ];
    (of(max_sig_life()), data)
        .prop_map(|(m, data)| {
            let mut content: Vec<_> = m
                .map(secdns::DsOrKeyEntry::MaxSigLife)
                .into_iter()
                .collect();
            content.extend(data);
            secdns::DsOrKey { content }
        })
        .boxed()
}

pub fn sec_dns_extension() -> BoxedStrategy<secdns::SecDnsExtension> {
    let rem = prop_oneof![
        any::<bool>().prop_map(|b| vec![secdns::RemEntry::All(b)]),
        vec(ds_data().prop_map(secdns::RemEntry::DsData), 1..3),
        vec(key_data().prop_map(secdns::RemEntry::KeyData), 1..3),
    ]
    .prop_map(|content| secdns::Rem { content });
    let update = (
        any::<bool>(),
        of(rem),
        of(ds_or_key()),
        of(of(max_sig_life()).prop_map(|max_sig_life| secdns::Chg { max_sig_life })),
    )
        .prop_map(|(urgent, rem, add, chg)| secdns::Update {
            urgent,
            rem,
            add,
            chg,
        });
    prop_oneof![
        ds_or_key().prop_map(secdns::SecDnsExtension::Create),
        update.prop_map(secdns::SecDnsExtension::Update),
    ]
    .boxed()
}

// ------------------------------------------------------------------ commands

pub fn login() -> BoxedStrategy<Login> {
    (
        client_id(),
        password(),
        of(password()),
        language(),
        vec(uri(), 1..4),
        vec(uri(), 0..4),
    )
        .prop_map(
            |(client_id, password, new_password, lang, obj_uris, ext_uris)| Login {
                client_id,
                password,
                new_password,
                version: "1.0".to_owned(),
                lang,
                obj_uris,
                ext_uris,
            },
        )
        .boxed()
}

pub fn poll() -> BoxedStrategy<Poll> {
    (
        prop_oneof![Just(PollOp::Ack), Just(PollOp::Req)],
        of(token(0, 20)),
    )
        .prop_map(|(op, msg_id)| Poll { op, msg_id })
        .boxed()
}

/// Every RFC command kind with its name, one strategy each, so that a property can run
/// the same number of cases for each.
pub fn command_kinds<X: Extension>() -> Vec<(&'static str, BoxedStrategy<CommandKind<X>>)> {
    use CommandKind as K;
    vec![
        ("login", login().prop_map(K::Login).boxed()),
        ("logout", Just(K::Logout).boxed()),
        ("poll", poll().prop_map(K::Poll).boxed()),
        (
            "domain check",
            domain_check().prop_map(K::DomainCheck).boxed(),
        ),
        (
            "domain create",
            domain_create().prop_map(K::DomainCreate).boxed(),
        ),
        (
            "domain delete",
            domain_name()
                .prop_map(|name| K::DomainDelete(domain::Delete { name }))
                .boxed(),
        ),
        ("domain info", domain_info().prop_map(K::DomainInfo).boxed()),
        (
            "domain renew",
            domain_renew().prop_map(K::DomainRenew).boxed(),
        ),
        (
            "domain transfer",
            (transfer_op(), domain_transfer())
                .prop_map(|(op, t)| K::DomainTransfer(op, t))
                .boxed(),
        ),
        (
            "domain update",
            domain_update().prop_map(K::DomainUpdate).boxed(),
        ),
        (
            "contact check",
            contact_check().prop_map(K::ContactCheck).boxed(),
        ),
        (
            "contact create",
            contact_create().prop_map(K::ContactCreate).boxed(),
        ),
        (
            "contact delete",
            contact_id()
                .prop_map(|id| K::ContactDelete(contact::Id { id }))
                .boxed(),
        ),
        (
            "contact info",
            contact_auth_id().prop_map(K::ContactInfo).boxed(),
        ),
        (
            "contact transfer",
            (transfer_op(), contact_auth_id())
                .prop_map(|(op, a)| K::ContactTransfer(op, a))
                .boxed(),
        ),
        (
            "contact update",
            contact_update().prop_map(K::ContactUpdate).boxed(),
        ),
        ("host check", host_check().prop_map(K::HostCheck).boxed()),
        ("host create", host_create().prop_map(K::HostCreate).boxed()),
        (
            "host delete",
            host_name()
                .prop_map(|name| K::HostDelete(host::Name { name }))
                .boxed(),
        ),
        (
            "host info",
            host_name()
                .prop_map(|name| K::HostInfo(host::Name { name }))
                .boxed(),
        ),
        ("host update", host_update().prop_map(K::HostUpdate).boxed()),
    ]
}

/// A command of `kind` with arbitrary extension elements (secDNS and the set's) and
/// client transaction id.
pub fn command_with<X: Extension>(
    kind: BoxedStrategy<CommandKind<X>>,
    ext: &ExtStrategies<X>,
) -> BoxedStrategy<Command<X>> {
    let element = match &ext.command_ext {
        Some(s) => prop_oneof![
            sec_dns_extension().prop_map(CommandExtension::SecDns),
            s.clone().prop_map(CommandExtension::Other),
        ]
        .boxed(),
        None => sec_dns_extension()
            .prop_map(CommandExtension::SecDns)
            .boxed(),
    };
    (kind, vec(element, 0..3), of(cl_trid()))
        .prop_map(|(kind, extensions, cl_trid)| Command {
            kind,
            extensions,
            cl_trid,
        })
        .boxed()
}

/// Any client document: `<hello/>`, or a command of any kind (the set's extension commands
/// included when given).
pub fn request<X: Extension>(ext: &ExtStrategies<X>) -> BoxedStrategy<Request<X>> {
    let mut kinds: Vec<BoxedStrategy<CommandKind<X>>> =
        command_kinds::<X>().into_iter().map(|(_, s)| s).collect();
    if let Some(s) = &ext.ext_command {
        kinds.push(s.clone().prop_map(CommandKind::Extension).boxed());
    }
    let kind = proptest::strategy::Union::new(kinds).boxed();
    prop_oneof![
        1 => Just(Request::Hello),
        20 => command_with(kind, ext).prop_map(Request::Command),
    ]
    .boxed()
}

// ------------------------------------------------------------------ responses

/// Every RFC `resData` kind with its name, one strategy each.
pub fn res_data_kinds<X: Extension>() -> Vec<(&'static str, BoxedStrategy<ResData<X>>)> {
    vec![
        (
            "domain chkData",
            domain_chk_data().prop_map(ResData::DomainChk).boxed(),
        ),
        (
            "domain creData",
            domain_cre_data().prop_map(ResData::DomainCre).boxed(),
        ),
        (
            "domain infData",
            domain_inf_data().prop_map(ResData::DomainInf).boxed(),
        ),
        (
            "domain panData",
            domain_pan_data().prop_map(ResData::DomainPan).boxed(),
        ),
        (
            "domain renData",
            domain_ren_data().prop_map(ResData::DomainRen).boxed(),
        ),
        (
            "domain trnData",
            domain_trn_data().prop_map(ResData::DomainTrn).boxed(),
        ),
        (
            "contact chkData",
            contact_chk_data().prop_map(ResData::ContactChk).boxed(),
        ),
        (
            "contact creData",
            contact_cre_data().prop_map(ResData::ContactCre).boxed(),
        ),
        (
            "contact infData",
            contact_inf_data().prop_map(ResData::ContactInf).boxed(),
        ),
        (
            "contact panData",
            contact_pan_data().prop_map(ResData::ContactPan).boxed(),
        ),
        (
            "contact trnData",
            contact_trn_data().prop_map(ResData::ContactTrn).boxed(),
        ),
        (
            "host chkData",
            host_chk_data().prop_map(ResData::HostChk).boxed(),
        ),
        (
            "host creData",
            host_cre_data().prop_map(ResData::HostCre).boxed(),
        ),
        (
            "host infData",
            host_inf_data().prop_map(ResData::HostInf).boxed(),
        ),
        (
            "host panData",
            host_pan_data().prop_map(ResData::HostPan).boxed(),
        ),
    ]
}

pub fn domain_chk_data() -> BoxedStrategy<domain::ChkData> {
    let cd = (any::<bool>(), domain_name(), of(reason())).prop_map(|(avail, content, reason)| {
        domain::CheckResult {
            name: domain::CheckName { avail, content },
            reason,
        }
    });
    vec(cd, 1..4).prop_map(|cd| domain::ChkData { cd }).boxed()
}

pub fn domain_cre_data() -> BoxedStrategy<domain::CreData> {
    (domain_name(), timestamp(), of(timestamp()))
        .prop_map(|(name, cr_date, ex_date)| domain::CreData {
            name,
            cr_date,
            ex_date,
        })
        .boxed()
}

pub fn domain_inf_data() -> BoxedStrategy<domain::InfData> {
    (
        (
            domain_name(),
            roid(),
            vec(domain_status(), 0..4),
            of(contact_id()),
            vec(domain_contact(), 0..3),
            of(domain_ns()),
            vec(host_name(), 0..3),
            client_id(),
        ),
        (
            of(client_id()),
            of(timestamp()),
            of(client_id()),
            of(timestamp()),
            of(timestamp()),
            of(timestamp()),
            of(domain_auth_info()),
        ),
    )
        .prop_map(
            |(
                (name, roid, status, registrant, contact, ns, host, cl_id),
                (cr_id, cr_date, up_id, up_date, ex_date, tr_date, auth_info),
            )| domain::InfData {
                name,
                roid,
                status,
                registrant,
                contact,
                ns,
                host,
                cl_id,
                cr_id,
                cr_date,
                up_id,
                up_date,
                ex_date,
                tr_date,
                auth_info,
            },
        )
        .boxed()
}

pub fn domain_pan_data() -> BoxedStrategy<domain::PanData> {
    (any::<bool>(), domain_name(), pa_trid(), timestamp())
        .prop_map(|(pa_result, content, pa_trid, pa_date)| domain::PanData {
            name: domain::PaName { pa_result, content },
            pa_trid,
            pa_date,
        })
        .boxed()
}

pub fn domain_ren_data() -> BoxedStrategy<domain::RenData> {
    (domain_name(), of(timestamp()))
        .prop_map(|(name, ex_date)| domain::RenData { name, ex_date })
        .boxed()
}

pub fn domain_trn_data() -> BoxedStrategy<domain::TrnData> {
    (
        domain_name(),
        tr_status(),
        client_id(),
        timestamp(),
        client_id(),
        timestamp(),
        of(timestamp()),
    )
        .prop_map(
            |(name, tr_status, re_id, re_date, ac_id, ac_date, ex_date)| domain::TrnData {
                name,
                tr_status,
                re_id,
                re_date,
                ac_id,
                ac_date,
                ex_date,
            },
        )
        .boxed()
}

pub fn contact_chk_data() -> BoxedStrategy<contact::ChkData> {
    let cd = (any::<bool>(), contact_id(), of(reason())).prop_map(|(avail, content, reason)| {
        contact::CheckResult {
            id: contact::CheckId { avail, content },
            reason,
        }
    });
    vec(cd, 1..4).prop_map(|cd| contact::ChkData { cd }).boxed()
}

pub fn contact_cre_data() -> BoxedStrategy<contact::CreData> {
    (contact_id(), timestamp())
        .prop_map(|(id, cr_date)| contact::CreData { id, cr_date })
        .boxed()
}

pub fn contact_inf_data() -> BoxedStrategy<contact::InfData> {
    (
        (
            contact_id(),
            roid(),
            vec(contact_status(), 1..4),
            vec(postal_info(), 1..3),
            of(phone()),
            of(phone()),
            token(1, 40),
            client_id(),
        ),
        (
            client_id(),
            timestamp(),
            of(client_id()),
            of(timestamp()),
            of(timestamp()),
            of(contact_auth_info()),
            of(disclose()),
        ),
    )
        .prop_map(
            |(
                (id, roid, status, postal_info, voice, fax, email, cl_id),
                (cr_id, cr_date, up_id, up_date, tr_date, auth_info, disclose),
            )| contact::InfData {
                id,
                roid,
                status,
                postal_info,
                voice,
                fax,
                email,
                cl_id,
                cr_id,
                cr_date,
                up_id,
                up_date,
                tr_date,
                auth_info,
                disclose,
            },
        )
        .boxed()
}

pub fn contact_pan_data() -> BoxedStrategy<contact::PanData> {
    (any::<bool>(), contact_id(), pa_trid(), timestamp())
        .prop_map(|(pa_result, content, pa_trid, pa_date)| contact::PanData {
            id: contact::PaId { pa_result, content },
            pa_trid,
            pa_date,
        })
        .boxed()
}

pub fn contact_trn_data() -> BoxedStrategy<contact::TrnData> {
    (
        contact_id(),
        tr_status(),
        client_id(),
        timestamp(),
        client_id(),
        timestamp(),
    )
        .prop_map(
            |(id, tr_status, re_id, re_date, ac_id, ac_date)| contact::TrnData {
                id,
                tr_status,
                re_id,
                re_date,
                ac_id,
                ac_date,
            },
        )
        .boxed()
}

pub fn host_chk_data() -> BoxedStrategy<host::ChkData> {
    let cd = (any::<bool>(), host_name(), of(reason())).prop_map(|(avail, content, reason)| {
        host::CheckResult {
            name: host::CheckName { avail, content },
            reason,
        }
    });
    vec(cd, 1..4).prop_map(|cd| host::ChkData { cd }).boxed()
}

pub fn host_cre_data() -> BoxedStrategy<host::CreData> {
    (host_name(), timestamp())
        .prop_map(|(name, cr_date)| host::CreData { name, cr_date })
        .boxed()
}

pub fn host_inf_data() -> BoxedStrategy<host::InfData> {
    (
        (
            host_name(),
            roid(),
            vec(host_status(), 1..4),
            vec(host_addr(), 0..3),
            client_id(),
        ),
        (
            client_id(),
            timestamp(),
            of(client_id()),
            of(timestamp()),
            of(timestamp()),
        ),
    )
        .prop_map(
            |((name, roid, status, addr, cl_id), (cr_id, cr_date, up_id, up_date, tr_date))| {
                host::InfData {
                    name,
                    roid,
                    status,
                    addr,
                    cl_id,
                    cr_id,
                    cr_date,
                    up_id,
                    up_date,
                    tr_date,
                }
            },
        )
        .boxed()
}

pub fn host_pan_data() -> BoxedStrategy<host::PanData> {
    (any::<bool>(), host_name(), pa_trid(), timestamp())
        .prop_map(|(pa_result, content, pa_trid, pa_date)| host::PanData {
            name: host::PaName { pa_result, content },
            pa_trid,
            pa_date,
        })
        .boxed()
}

/// The element of an `<extValue><value>`: EPP's `<undef/>`, or an element of another
/// namespace with or without a prefix.
fn err_value() -> BoxedStrategy<ErrValue> {
    prop_oneof![
        Just(ErrValue::undefined()),
        (
            prop_oneof![
                Just(String::new()),
                Just("domain".to_owned()),
                Just("p1".to_owned())
            ],
            prop_oneof![
                Just(DOMAIN.to_owned()),
                Just("urn:example:value".to_owned())
            ],
            string_regex("[a-z][a-zA-Z0-9]{0,8}")
                .unwrap_or_else(|_| unreachable!("the pattern is a constant")),
            string(),
        )
            .prop_map(|(prefix, namespace, name, text)| ErrValue {
                namespace,
                prefix,
                name,
                text,
            }),
    ]
    .boxed()
}

fn epp_result() -> BoxedStrategy<EppResult> {
    let ext_value =
        (err_value(), normalized(0, 60)).prop_map(|(value, reason)| ExtValue { value, reason });
    (
        proptest::sample::select(ResultCode::ALL),
        normalized(0, 60),
        of(language()),
        vec(ext_value, 0..3),
    )
        .prop_map(|(code, msg, lang, ext_values)| EppResult {
            code,
            msg,
            lang,
            ext_values,
        })
        .boxed()
}

fn msg_q() -> BoxedStrategy<MsgQ> {
    (any::<u64>(), token(1, 20), of(timestamp()), of(string()))
        .prop_map(|(count, id, q_date, msg)| MsgQ {
            count,
            id,
            q_date,
            msg,
        })
        .boxed()
}

/// A response with the `resData` of `res_data` and arbitrary results, message queue,
/// response extensions and transaction ids.
pub fn response_with<X: Extension>(
    res_data: BoxedStrategy<Option<ResData<X>>>,
    ext: &ExtStrategies<X>,
) -> BoxedStrategy<Response<X>> {
    let element = match &ext.response_ext {
        Some(s) => prop_oneof![
            ds_or_key().prop_map(ResponseExtension::SecDnsInf),
            s.clone().prop_map(ResponseExtension::Other),
        ]
        .boxed(),
        None => ds_or_key().prop_map(ResponseExtension::SecDnsInf).boxed(),
    };
    (
        vec(epp_result(), 1..3),
        of(msg_q()),
        res_data,
        vec(element, 0..3),
        of(cl_trid()),
        sv_trid(),
    )
        .prop_map(
            |(results, msg_q, res_data, extensions, cl_trid, sv_trid)| Response {
                results,
                msg_q,
                res_data,
                extensions,
                tr_id: TrId { cl_trid, sv_trid },
            },
        )
        .boxed()
}

/// Any response: `resData` of any RFC kind or of the set's.
pub fn response<X: Extension>(ext: &ExtStrategies<X>) -> BoxedStrategy<Response<X>> {
    let mut kinds: Vec<BoxedStrategy<ResData<X>>> =
        res_data_kinds::<X>().into_iter().map(|(_, s)| s).collect();
    if let Some(s) = &ext.res_data {
        kinds.push(s.clone().prop_map(ResData::Extension).boxed());
    }
    response_with(of(proptest::strategy::Union::new(kinds)).boxed(), ext)
}

fn duration() -> BoxedStrategy<String> {
    (
        any::<bool>(),
        of(0u32..100),
        of(0u32..13),
        of(0u32..40),
        of(0u32..25),
        of(0u32..61),
        of((0u32..61, of(1u32..100))),
    )
        .prop_map(|(neg, y, mo, d, h, mi, s)| {
            let mut out = String::from(if neg { "-P" } else { "P" });
            for (v, c) in [(y, 'Y'), (mo, 'M'), (d, 'D')] {
                if let Some(v) = v {
                    out.push_str(&format!("{v}{c}"));
                }
            }
            if h.is_some() || mi.is_some() || s.is_some() {
                out.push('T');
                for (v, c) in [(h, 'H'), (mi, 'M')] {
                    if let Some(v) = v {
                        out.push_str(&format!("{v}{c}"));
                    }
                }
                if let Some((sec, frac)) = s {
                    match frac {
                        Some(f) => out.push_str(&format!("{sec}.{f}S")),
                        None => out.push_str(&format!("{sec}S")),
                    }
                }
            }
            if out.ends_with('P') {
                out.push_str("0D");
            }
            out
        })
        .boxed()
}

fn dcp() -> BoxedStrategy<Dcp> {
    use DcpAccessKind as A;
    use DcpRetentionKind as R;
    let access = prop_oneof![
        Just(A::All(Empty)),
        Just(A::None(Empty)),
        Just(A::Null(Empty)),
        Just(A::Other(Empty)),
        Just(A::Personal(Empty)),
        Just(A::PersonalAndOther(Empty)),
    ]
    .prop_map(|content| DcpAccess { content });
    let purpose = (empty_flag(), empty_flag(), empty_flag(), empty_flag()).prop_map(
        |(admin, contact, other, prov)| DcpPurpose {
            admin,
            contact,
            other,
            prov,
        },
    );
    let ours = of(token(1, 40)).prop_map(|rec_desc| DcpOurs { rec_desc });
    let recipient = (
        empty_flag(),
        vec(ours, 0..3),
        empty_flag(),
        empty_flag(),
        empty_flag(),
    )
        .prop_map(|(other, ours, public, same, unrelated)| DcpRecipient {
            other,
            ours,
            public,
            same,
            unrelated,
        });
    let retention = prop_oneof![
        Just(R::Business(Empty)),
        Just(R::Indefinite(Empty)),
        Just(R::Legal(Empty)),
        Just(R::None(Empty)),
        Just(R::Stated(Empty)),
    ]
    .prop_map(|content| DcpRetention { content });
    let statement =
        (purpose, recipient, retention).prop_map(|(purpose, recipient, retention)| DcpStatement {
            purpose,
            recipient,
            retention,
        });
    let expiry = prop_oneof![
        timestamp().prop_map(DcpExpiryKind::Absolute),
        duration().prop_map(DcpExpiryKind::Relative),
    ]
    .prop_map(|content| DcpExpiry { content });
    (access, vec(statement, 1..3), of(expiry))
        .prop_map(|(access, statement, expiry)| Dcp {
            access,
            statement,
            expiry,
        })
        .boxed()
}

/// A greeting.
pub fn greeting() -> BoxedStrategy<Greeting> {
    (
        normalized(3, 64),
        timestamp(),
        1usize..3,
        vec(language(), 1..3),
        vec(uri(), 1..4),
        vec(uri(), 0..4),
        dcp(),
    )
        .prop_map(
            |(sv_id, sv_date, n, langs, obj_uris, ext_uris, dcp)| Greeting {
                sv_id,
                sv_date,
                versions: vec!["1.0".to_owned(); n],
                langs,
                obj_uris,
                ext_uris,
                dcp,
            },
        )
        .boxed()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (raw, b64) in [
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode_base64(raw.as_bytes()), b64);
        }
    }
}
