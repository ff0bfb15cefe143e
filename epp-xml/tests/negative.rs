//! Negative golden files: one document per refusal rule in `tests/data/negative/`, each
//! asserting the exact result code and reason listed in `expected.tsv`
//! (`file<TAB>code<TAB>reason`). `EPP_BLESS=1` rewrites the list from the decoder's output
//! (review the diff before committing it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use epp_xml::{NoExtensions, decode};

#[test]
fn every_negative_document_is_refused_with_its_code_and_reason() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/negative");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    let mut actual = String::new();
    for name in &names {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let err = decode::<NoExtensions>(&bytes).expect_err(name);
        actual.push_str(&format!(
            "{name}\t{}\t{}\n",
            err.code().code(),
            err.reason()
        ));
    }
    let expected_path = dir.join("expected.tsv");
    if std::env::var("EPP_BLESS").as_deref() == Ok("1") {
        std::fs::write(&expected_path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    for (a, e) in actual.lines().zip(expected.lines()) {
        assert_eq!(a, e);
    }
    assert_eq!(
        actual.lines().count(),
        expected.lines().count(),
        "file list changed"
    );
}

#[test]
fn errors_echo_the_cl_trid_when_it_can_be_read() {
    let doc = br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><renew><domain:renew xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>a.no</domain:name></domain:renew></renew><clTRID>ABC-42</clTRID></command></epp>"#;
    let err = decode::<NoExtensions>(doc).unwrap_err();
    assert_eq!(err.code(), epp_xml::ResultCode::RequiredParameterMissing);
    assert_eq!(err.cl_trid().unwrap().as_str(), "ABC-42");
    let broken = b"<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><logout/><clTRID>ABC-43</clTRID></command>";
    let err = decode::<NoExtensions>(broken).unwrap_err();
    assert_eq!(err.code(), epp_xml::ResultCode::CommandSyntaxError);
    assert_eq!(err.cl_trid().unwrap().as_str(), "ABC-43");
}
