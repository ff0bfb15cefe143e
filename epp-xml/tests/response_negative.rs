//! The response decoder (a client's side) refuses what the schemas refuse, and what the
//! typed `Response` cannot hold, each with the kind of rule broken and a reason naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use epp_xml::{ErrorKind, NoExtensions, decode_response};

const HEAD: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><response>"#;
const OK: &str = r#"<result code="1000"><msg>Command completed successfully</msg></result>"#;
const TAIL: &str = r#"<trID><svTRID>SV-1</svTRID></trID></response></epp>"#;

fn response(body: &str) -> String {
    format!("{HEAD}{body}{TAIL}")
}

fn res_data(inner: &str) -> String {
    response(&format!("{OK}<resData>{inner}</resData>"))
}

#[test]
fn refusals_carry_their_kind_and_reason() {
    let dom = r#"xmlns:domain="urn:ietf:params:xml:ns:domain-1.0""#;
    let cases: Vec<(&str, String, ErrorKind, &str)> = vec![
        (
            "bare value",
            response(
                r#"<result code="2005"><msg>x</msg><value><undef/></value></result>"#,
            ),
            ErrorKind::Structure,
            "a bare <value> in <result> is not supported",
        ),
        (
            "unknown result code",
            response(r#"<result code="1234"><msg>x</msg></result>"#),
            ErrorKind::ValueRange,
            "code 1234 is not one of the result codes",
        ),
        (
            "missing trID",
            format!("{HEAD}{OK}</response></epp>"),
            ErrorKind::MissingParameter,
            "required element <trID> is missing in <response>",
        ),
        (
            "element in msgQ msg",
            response(&format!(
                r#"{OK}<msgQ count="1" id="7"><msg>a <b>c</b></msg></msgQ>"#
            )),
            ErrorKind::Structure,
            "element <b> is not allowed inside <msg>",
        ),
        (
            "msgQ id empty",
            response(&format!(r#"{OK}<msgQ count="1" id=" "/>"#)),
            ErrorKind::ValueRange,
            "below minLength 1",
        ),
        (
            "two resData children",
            res_data(&format!(
                r#"<domain:renData {dom}><domain:name>a.no</domain:name></domain:renData><domain:renData {dom}><domain:name>b.no</domain:name></domain:renData>"#
            )),
            ErrorKind::Structure,
            "unexpected element <domain:renData> in <resData>",
        ),
        (
            "resData of an unknown namespace",
            res_data(r#"<x:data xmlns:x="urn:example:x"/>"#),
            ErrorKind::UnimplementedObject,
            "response data <data> in namespace 'urn:example:x' is not implemented",
        ),
        (
            "resData of a known namespace, unknown element",
            res_data(&format!(r#"<domain:fooData {dom}/>"#)),
            ErrorKind::Structure,
            "<domain:fooData> is not a response data element",
        ),
        (
            "extension of an unknown namespace",
            response(&format!(
                r#"{OK}<extension><x:data xmlns:x="urn:example:x"/></extension>"#
            )),
            ErrorKind::UnimplementedExtension,
            "extension <data> in namespace 'urn:example:x' is not implemented",
        ),
        (
            "empty extension",
            response(&format!("{OK}<extension/>")),
            ErrorKind::MissingParameter,
            "<extension> must contain at least one element",
        ),
        (
            "infData without clID",
            res_data(&format!(
                r#"<domain:infData {dom}><domain:name>a.no</domain:name><domain:roid>D1-NO</domain:roid></domain:infData>"#
            )),
            ErrorKind::MissingParameter,
            "required element <domain:clID> is missing in <domain:infData>",
        ),
        (
            "chkData name without avail",
            res_data(&format!(
                r#"<domain:chkData {dom}><domain:cd><domain:name>a.no</domain:name></domain:cd></domain:chkData>"#
            )),
            ErrorKind::MissingParameter,
            "required attribute 'avail' is missing on <domain:name>",
        ),
        (
            "paTRID without svTRID",
            res_data(&format!(
                r#"<domain:panData {dom}><domain:name paResult="1">a.no</domain:name><domain:paTRID><clTRID>ABC</clTRID></domain:paTRID><domain:paDate>2024-01-01T00:00:00Z</domain:paDate></domain:panData>"#
            )),
            ErrorKind::MissingParameter,
            "required element <svTRID> is missing in <domain:paTRID>",
        ),
        (
            "bad timestamp",
            res_data(&format!(
                r#"<domain:renData {dom}><domain:name>a.no</domain:name><domain:exDate>yesterday</domain:exDate></domain:renData>"#
            )),
            ErrorKind::ValueSyntax,
            "'yesterday' is not a valid xs:dateTime",
        ),
        (
            "a command sent as a response",
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><logout/></command></epp>"#
                .to_owned(),
            ErrorKind::Structure,
            "expected <greeting> or <response> in <epp>, found <command>",
        ),
        (
            "DOCTYPE",
            format!("<!DOCTYPE epp [<!ENTITY x \"y\">]>{}", response(OK)),
            ErrorKind::Refused,
            "DOCTYPE declarations",
        ),
        (
            "greeting with version 2.0",
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><greeting><svID>Server</svID><svDate>2024-01-01T00:00:00Z</svDate><svcMenu><version>2.0</version><lang>en</lang><objURI>urn:x</objURI></svcMenu><dcp><access><all/></access><statement><purpose><prov/></purpose><recipient><ours/></recipient><retention><stated/></retention></statement></dcp></greeting></epp>"#
                .to_owned(),
            ErrorKind::ValueRange,
            "'2.0' is not one of 1.0",
        ),
        (
            "greeting with a malformed relative expiry",
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><greeting><svID>Server</svID><svDate>2024-01-01T00:00:00Z</svDate><svcMenu><version>1.0</version><lang>en</lang><objURI>urn:x</objURI></svcMenu><dcp><access><all/></access><statement><purpose><prov/></purpose><recipient><ours/></recipient><retention><stated/></retention></statement><expiry><relative>P1H</relative></expiry></dcp></greeting></epp>"#
                .to_owned(),
            ErrorKind::ValueSyntax,
            "'P1H' is not a valid xs:duration",
        ),
    ];
    for (what, doc, kind, reason) in cases {
        let err = decode_response::<NoExtensions>(doc.as_bytes()).expect_err(what);
        assert_eq!(err.kind(), kind, "{what}: {}", err.reason());
        assert!(
            err.reason().contains(reason),
            "{what}: reason {:?} does not contain {reason:?}",
            err.reason()
        );
    }
}

#[test]
fn relative_expiry_accepts_xs_duration_forms() {
    for d in ["P1Y", "-P1Y2M3DT4H5M6.5S", "PT0S", "P0D", "PT1M"] {
        let doc = format!(
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><greeting><svID>Server</svID><svDate>2024-01-01T00:00:00Z</svDate><svcMenu><version>1.0</version><lang>en</lang><objURI>urn:x</objURI></svcMenu><dcp><access><all/></access><statement><purpose><prov/></purpose><recipient><ours/></recipient><retention><stated/></retention></statement><expiry><relative>{d}</relative></expiry></dcp></greeting></epp>"#
        );
        decode_response::<NoExtensions>(doc.as_bytes()).unwrap_or_else(|e| panic!("{d}: {e}"));
    }
}
