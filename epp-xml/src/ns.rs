//! Namespace URIs of the documents this crate reads and writes.

/// `urn:ietf:params:xml:ns:epp-1.0` (RFC 5730).
pub const EPP: &str = "urn:ietf:params:xml:ns:epp-1.0";
/// `urn:ietf:params:xml:ns:eppcom-1.0` (RFC 5730).
pub const EPPCOM: &str = "urn:ietf:params:xml:ns:eppcom-1.0";
/// `urn:ietf:params:xml:ns:domain-1.0` (RFC 5731).
pub const DOMAIN: &str = "urn:ietf:params:xml:ns:domain-1.0";
/// `urn:ietf:params:xml:ns:host-1.0` (RFC 5732).
pub const HOST: &str = "urn:ietf:params:xml:ns:host-1.0";
/// `urn:ietf:params:xml:ns:contact-1.0` (RFC 5733).
pub const CONTACT: &str = "urn:ietf:params:xml:ns:contact-1.0";
/// `urn:ietf:params:xml:ns:secDNS-1.1` (RFC 5910).
pub const SEC_DNS: &str = "urn:ietf:params:xml:ns:secDNS-1.1";
/// `http://www.w3.org/2001/XMLSchema-instance`.
pub const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The namespaces above with their customary prefixes.
pub(crate) const TABLE: &[(&str, &str)] = &[
    (EPP, ""),
    (EPPCOM, "eppcom"),
    (DOMAIN, "domain"),
    (HOST, "host"),
    (CONTACT, "contact"),
    (SEC_DNS, "secDNS"),
];
