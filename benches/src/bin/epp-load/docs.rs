//! The client documents, as registrars send them.

use bytes::Bytes;
use epp_norid_ext::{EXT_URIS, OBJ_URIS};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command>"#;

/// A login declaring every service the greeting announces.
pub(crate) fn login(id: &str, pw: &str) -> Bytes {
    let mut s = format!(
        "{HEAD}<login><clID>{id}</clID><pw>{pw}</pw><options><version>1.0</version><lang>en</lang></options><svcs>"
    );
    for o in OBJ_URIS {
        s.push_str(&format!("<objURI>{o}</objURI>"));
    }
    s.push_str("<svcExtension>");
    for e in EXT_URIS {
        s.push_str(&format!("<extURI>{e}</extURI>"));
    }
    s.push_str("</svcExtension></svcs></login><clTRID>LOGIN-1</clTRID></command></epp>");
    Bytes::from(s)
}

pub(crate) fn logout() -> Bytes {
    Bytes::from(format!(
        "{HEAD}<logout/><clTRID>LOGOUT-1</clTRID></command></epp>"
    ))
}

/// A check of one name.
pub(crate) fn check(name: &str, trid: u64) -> Bytes {
    Bytes::from(format!(
        r#"{HEAD}<check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name></domain:check></check><clTRID>CHK-{trid}</clTRID></command></epp>"#
    ))
}

pub(crate) fn info(name: &str, trid: u64) -> Bytes {
    Bytes::from(format!(
        r#"{HEAD}<info><domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name hosts="all">{name}</domain:name></domain:info></info><clTRID>INF-{trid}</clTRID></command></epp>"#
    ))
}

/// A create with one of the registrar's own registrants, its role contact and two name
/// servers, and the applicant dataset.
pub(crate) fn create(name: &str, reg: usize, holder: &str, trid: &str) -> Bytes {
    Bytes::from(format!(
        r#"{HEAD}<create><domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name><domain:period unit="y">1</domain:period><domain:ns><domain:hostObj>ns1.load{reg}.example.com</domain:hostObj><domain:hostObj>ns2.load{reg}.example.com</domain:hostObj></domain:ns><domain:registrant>{holder}</domain:registrant><domain:contact type="tech">LOAD{reg}R</domain:contact><domain:authInfo><domain:pw>Code+9876</domain:pw></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>Kari Nordmann</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>{trid}</clTRID></command></epp>"#
    ))
}

/// Adds (`add`) or removes the registrar's third name server.
pub(crate) fn update(name: &str, reg: usize, add: bool, trid: u64) -> Bytes {
    let op = if add { "add" } else { "rem" };
    Bytes::from(format!(
        r#"{HEAD}<update><domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name><domain:{op}><domain:ns><domain:hostObj>ns3.load{reg}.example.com</domain:hostObj></domain:ns></domain:{op}></domain:update></update><clTRID>UPD-{trid}</clTRID></command></epp>"#
    ))
}

pub(crate) fn renew(name: &str, cur_exp_date: &str, trid: u64) -> Bytes {
    Bytes::from(format!(
        r#"{HEAD}<renew><domain:renew xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name><domain:curExpDate>{cur_exp_date}</domain:curExpDate><domain:period unit="y">1</domain:period></domain:renew></renew><clTRID>REN-{trid}</clTRID></command></epp>"#
    ))
}

pub(crate) fn poll(trid: u64) -> Bytes {
    Bytes::from(format!(
        r#"{HEAD}<poll op="req"/><clTRID>POLL-{trid}</clTRID></command></epp>"#
    ))
}
