//! Benchmarks and the load generator for the EPP registry server.
//!
//! The criterion benches live in `benches/`; this library holds the corpus of typical EPP
//! documents they share, so every bench measures the same inputs.

/// Typical client commands as registrars send them, one XML document each.
pub mod corpus {
    /// A `<hello/>`.
    pub const HELLO: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#;

    /// A domain check of three names.
    pub const DOMAIN_CHECK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
 <command>
  <check>
   <domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
    <domain:name>example.no</domain:name>
    <domain:name>eksempel.no</domain:name>
    <domain:name>xn--bl-zia.no</domain:name>
   </domain:check>
  </check>
  <clTRID>ABC-12345</clTRID>
 </command>
</epp>"#;

    /// A domain info with `hosts="all"`.
    pub const DOMAIN_INFO: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
 <command>
  <info>
   <domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
    <domain:name hosts="all">example.no</domain:name>
   </domain:info>
  </info>
  <clTRID>ABC-12346</clTRID>
 </command>
</epp>"#;

    /// A domain create with Norid's applicant dataset extension.
    pub const DOMAIN_CREATE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
 <command>
  <create>
   <domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
    <domain:name>example.no</domain:name>
    <domain:period unit="y">1</domain:period>
    <domain:ns>
     <domain:hostObj>ns1.example.no</domain:hostObj>
     <domain:hostObj>ns2.example.no</domain:hostObj>
    </domain:ns>
    <domain:registrant>TH1251O</domain:registrant>
    <domain:contact type="tech">TR85R</domain:contact>
    <domain:authInfo><domain:pw>Secret#2024x</domain:pw></domain:authInfo>
   </domain:create>
  </create>
  <extension>
   <no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1">
    <no-ext-domain:applicantDataset>
     <no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber>
     <no-ext-domain:acceptName>Ola Nordmann</no-ext-domain:acceptName>
     <no-ext-domain:acceptDate>2024-09-09T08:19:31.00Z</no-ext-domain:acceptDate>
    </no-ext-domain:applicantDataset>
   </no-ext-domain:create>
  </extension>
  <clTRID>ABC-12347</clTRID>
 </command>
</epp>"#;

    /// A domain update adding a name server and changing the applicant dataset.
    pub const DOMAIN_UPDATE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">
 <command>
  <update>
   <domain:update xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
    <domain:name>example.no</domain:name>
    <domain:add>
     <domain:ns><domain:hostObj>ns3.example.no</domain:hostObj></domain:ns>
     <domain:status s="clientTransferProhibited"/>
    </domain:add>
    <domain:chg><domain:authInfo><domain:pw>Other#2024y</domain:pw></domain:authInfo></domain:chg>
   </domain:update>
  </update>
  <extension>
   <no-ext-domain:update xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1">
    <no-ext-domain:chg>
     <no-ext-domain:applicantDataset>
      <no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber>
      <no-ext-domain:acceptName>Kari Nordmann</no-ext-domain:acceptName>
      <no-ext-domain:acceptDate>2024-09-10T10:00:00.00Z</no-ext-domain:acceptDate>
     </no-ext-domain:applicantDataset>
    </no-ext-domain:chg>
   </no-ext-domain:update>
  </extension>
  <clTRID>ABC-12348</clTRID>
 </command>
</epp>"#;

    /// The typical commands of the XML bench: check, info, create with Norid's extension,
    /// update.
    pub const XML_COMMANDS: &[&str] = &[DOMAIN_CHECK, DOMAIN_INFO, DOMAIN_CREATE, DOMAIN_UPDATE];

    /// The commands above, in the order a realistic mix would send them.
    pub const COMMANDS: &[&str] = &[HELLO, DOMAIN_CHECK, DOMAIN_INFO, DOMAIN_CREATE];
}
