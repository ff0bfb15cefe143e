//! Prefixed and default-namespace forms decode identically; declarations and
//! `xsi:schemaLocation` are optional; Norid's extension commands decode in both
//! no-ext-domain versions; Norid-specific refusals carry the right codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use epp_norid_ext::{DomainExtVersion, NoridCommand, NoridCommandExt, decode};
use epp_xml::{CommandKind, Request, ResultCode};

const PREFIXED: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns="urn:ietf:params:xml:ns:epp-1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:ietf:params:xml:ns:epp-1.0 epp-1.0.xsd">
 <command>
  <create>
   <domain:create xmlns:domain="urn:ietf:params:xml:ns:domain-1.0">
    <domain:name>Example.NO</domain:name>
    <domain:period unit="y">1</domain:period>
    <domain:ns><domain:hostObj>ns1.example.no</domain:hostObj><domain:hostObj>ns2.example.no</domain:hostObj></domain:ns>
    <domain:registrant>TH1251O</domain:registrant>
    <domain:contact type="tech">TR85R</domain:contact>
    <domain:authInfo><domain:pw>Secret#2024x</domain:pw></domain:authInfo>
   </domain:create>
  </create>
  <extension>
   <no-ext-domain:create xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1">
    <no-ext-domain:applicantDataset>
     <no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber>
     <no-ext-domain:acceptName>Ola  Nordmann</no-ext-domain:acceptName>
     <no-ext-domain:acceptDate>2024-09-09T08:19:31.00Z</no-ext-domain:acceptDate>
    </no-ext-domain:applicantDataset>
   </no-ext-domain:create>
  </extension>
  <clTRID>ABC-12347</clTRID>
 </command>
</epp>"#;

const DEFAULT_NS: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><create xmlns="urn:ietf:params:xml:ns:domain-1.0"><name>Example.NO</name><period unit="y">1</period><ns><hostObj>ns1.example.no</hostObj><hostObj>ns2.example.no</hostObj></ns><registrant>TH1251O</registrant><contact type="tech">TR85R</contact><authInfo><pw>Secret#2024x</pw></authInfo></create></create><extension><create xmlns="http://www.norid.no/xsd/no-ext-domain-1.1"><applicantDataset><versionNumber>3.2</versionNumber><acceptName>Ola  Nordmann</acceptName><acceptDate>2024-09-09T08:19:31.00Z</acceptDate></applicantDataset></create></extension><clTRID>ABC-12347</clTRID></command></epp>"#;

#[test]
fn prefixed_and_default_namespace_forms_decode_identically() {
    let a = decode(PREFIXED.as_bytes()).unwrap();
    let b = decode(DEFAULT_NS.as_bytes()).unwrap();
    assert_eq!(a, b);
    let Request::Command(c) = a else { panic!() };
    let CommandKind::DomainCreate(d) = &c.kind else {
        panic!()
    };
    // Domain and host names decode as `DomainName`/`HostName`, which lower-case ASCII.
    assert_eq!(d.name.as_str(), "example.no");
    let [epp_xml::CommandExtension::Other(NoridCommandExt::DomainCreate(x))] = &c.extensions[..]
    else {
        panic!()
    };
    // acceptName is a normalizedString: inner spaces are kept.
    assert_eq!(x.applicant_dataset.accept_name, "Ola  Nordmann");
    assert_eq!(
        c.extension_namespaces(),
        vec![epp_norid_ext::ns::NO_EXT_DOMAIN_1_1]
    );
}

fn withdraw(ns: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><withdraw><domain:withdraw xmlns:domain="{ns}"><domain:name>example.no</domain:name></domain:withdraw></withdraw><clTRID>ABC-1</clTRID></command></extension></epp>"#
    )
}

#[test]
fn withdraw_decodes_in_both_domain_extension_versions() {
    for (ns, v) in [
        (epp_norid_ext::ns::NO_EXT_DOMAIN_1_0, DomainExtVersion::V1_0),
        (epp_norid_ext::ns::NO_EXT_DOMAIN_1_1, DomainExtVersion::V1_1),
    ] {
        let Request::Command(c) = decode(withdraw(ns).as_bytes()).unwrap() else {
            panic!()
        };
        let CommandKind::Extension(NoridCommand::Withdraw(got, w)) = &c.kind else {
            panic!()
        };
        assert_eq!((*got, w.name.as_str()), (v, "example.no"));
        assert_eq!(c.cl_trid.as_ref().unwrap().as_str(), "ABC-1");
        assert_eq!(
            c.object_namespaces(),
            vec![epp_norid_ext::ns::NO_EXT_EPP, ns]
        );
    }
}

#[test]
fn transfer_execute_with_token_in_the_inner_extension() {
    let doc = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><command xmlns="http://www.norid.no/xsd/no-ext-epp-1.0"><transfer op="execute"><domain:transfer xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name><domain:period unit="m">12</domain:period></domain:transfer></transfer><extension><no-ext-domain:transfer xmlns:no-ext-domain="http://www.norid.no/xsd/no-ext-domain-1.1"><no-ext-domain:token>tok-123</no-ext-domain:token></no-ext-domain:transfer></extension><clTRID>ABC-2</clTRID></command></extension></epp>"#;
    let Request::Command(c) = decode(doc.as_bytes()).unwrap() else {
        panic!()
    };
    let CommandKind::Extension(NoridCommand::TransferExecute(t)) = &c.kind else {
        panic!()
    };
    assert_eq!(t.name.as_str(), "example.no");
    let [
        epp_xml::CommandExtension::Other(NoridCommandExt::DomainTransfer(
            DomainExtVersion::V1_1,
            x,
        )),
    ] = &c.extensions[..]
    else {
        panic!()
    };
    assert_eq!(x.token.as_deref(), Some("tok-123"));
}

fn refused(doc: &str) -> (ResultCode, String) {
    let e = decode(doc.as_bytes()).unwrap_err();
    (e.code(), e.reason().to_owned())
}

#[test]
fn norid_refusals_carry_code_and_reason() {
    let ext = |inner: &str| {
        format!(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><info><domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>a.no</domain:name></domain:info></info><extension>{inner}</extension><clTRID>ABC-3</clTRID></command></epp>"#
        )
    };
    let facets: String = (0..101)
        .map(|i| format!(r#"<f:facet name="n{i}">v</f:facet>"#))
        .collect();
    assert_eq!(
        refused(&ext(&format!(
            r#"<f:extended xmlns:f="http://www.norid.no/xsd/no-ext-epp-1.0">{facets}</f:extended>"#
        ))),
        (
            ResultCode::CommandSyntaxError,
            "<no-ext-epp:extended> allows at most 100 <no-ext-epp:facet> element(s)".into()
        )
    );
    let long_token = "t".repeat(513);
    assert_eq!(
        refused(&ext(&format!(r#"<d:transfer xmlns:d="http://www.norid.no/xsd/no-ext-domain-1.1"><d:token>{long_token}</d:token></d:transfer>"#))),
        (
            ResultCode::ParameterValueRangeError,
            "<no-ext-domain:token>: length 513 exceeds maxLength 512 of no-ext-domain:transferTokenType".into()
        )
    );
    assert_eq!(
        refused(&ext(
            r#"<d:create xmlns:d="http://www.norid.no/xsd/no-ext-domain-1.1"><d:applicantDataset><d:versionNumber>3</d:versionNumber><d:acceptName>A</d:acceptName><d:acceptDate>2024-01-01T00:00:00Z</d:acceptDate></d:applicantDataset></d:create>"#
        )),
        (
            ResultCode::ParameterValueSyntaxError,
            "<no-ext-domain:versionNumber>: '3' does not match [0-9]+\\.[0-9]+".into()
        )
    );
    assert_eq!(
        refused(&ext(
            r#"<d:create xmlns:d="http://www.norid.no/xsd/no-ext-domain-1.0"><d:applicantDataset/></d:create>"#
        )),
        (
            ResultCode::CommandSyntaxError,
            "<no-ext-domain:create> is not a command extension element".into()
        )
    );
    assert_eq!(
        refused(
            &withdraw(epp_norid_ext::ns::NO_EXT_DOMAIN_1_1)
                .replace("<domain:name>example.no</domain:name>", "")
        ),
        (
            ResultCode::RequiredParameterMissing,
            "required element <no-ext-domain:name> is missing in <no-ext-domain:withdraw>".into()
        )
    );
    let e = decode(
        withdraw(epp_norid_ext::ns::NO_EXT_DOMAIN_1_1)
            .replace("<domain:name>example.no</domain:name>", "")
            .as_bytes(),
    )
    .unwrap_err();
    assert_eq!(e.cl_trid().unwrap().as_str(), "ABC-1");
    assert_eq!(
        refused(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><extension><x xmlns="urn:example:other"/></extension></epp>"#
        ),
        (
            ResultCode::UnimplementedExtension,
            "extension command <x> in namespace 'urn:example:other' is not implemented".into()
        )
    );
}
