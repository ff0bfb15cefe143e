//! Norid's namespace URIs.

/// `http://www.norid.no/xsd/no-ext-epp-1.0`: extension commands and facets.
pub const NO_EXT_EPP: &str = "http://www.norid.no/xsd/no-ext-epp-1.0";
/// `http://www.norid.no/xsd/no-ext-domain-1.0`: the legacy domain extension.
pub const NO_EXT_DOMAIN_1_0: &str = "http://www.norid.no/xsd/no-ext-domain-1.0";
/// `http://www.norid.no/xsd/no-ext-domain-1.1`: the current domain extension.
pub const NO_EXT_DOMAIN_1_1: &str = "http://www.norid.no/xsd/no-ext-domain-1.1";
/// `http://www.norid.no/xsd/no-ext-contact-1.0`.
pub const NO_EXT_CONTACT: &str = "http://www.norid.no/xsd/no-ext-contact-1.0";
/// `http://www.norid.no/xsd/no-ext-host-1.0`.
pub const NO_EXT_HOST: &str = "http://www.norid.no/xsd/no-ext-host-1.0";
/// `http://www.norid.no/xsd/no-ext-result-1.0`: conditions and service messages.
pub const NO_EXT_RESULT: &str = "http://www.norid.no/xsd/no-ext-result-1.0";

pub(crate) const TABLE: &[(&str, &str)] = &[
    (NO_EXT_EPP, "no-ext-epp"),
    (NO_EXT_DOMAIN_1_0, "no-ext-domain"),
    (NO_EXT_DOMAIN_1_1, "no-ext-domain"),
    (NO_EXT_CONTACT, "no-ext-contact"),
    (NO_EXT_HOST, "no-ext-host"),
    (NO_EXT_RESULT, "no-ext-result"),
];
