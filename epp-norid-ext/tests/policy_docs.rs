//! `docs/conditions.md` lists every condition code the server emits; this test keeps its
//! table identical to the catalogue in `epp_norid_ext::policy`.
//!
//! After changing the catalogue, regenerate the table with
//! `UPDATE_CONDITIONS_DOC=1 cargo test -p epp-norid-ext --test policy_docs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use epp_norid_ext::policy::catalogue_markdown;

const BEGIN: &str = "<!-- BEGIN CATALOGUE (generated from epp_norid_ext::policy::CATALOGUE) -->\n";
const END: &str = "<!-- END CATALOGUE -->";

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/conditions.md")
}

#[test]
fn conditions_doc_matches_the_catalogue() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/conditions.md exists");
    let start = doc.find(BEGIN).expect("BEGIN marker") + BEGIN.len();
    let end = doc.find(END).expect("END marker");
    let table = catalogue_markdown();
    if std::env::var_os("UPDATE_CONDITIONS_DOC").is_some() {
        let updated = format!("{}{table}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    let (have, want): (Vec<&str>, Vec<&str>) =
        (doc[start..end].lines().collect(), table.lines().collect());
    if let Some(i) = (0..have.len().max(want.len())).find(|&i| have.get(i) != want.get(i)) {
        panic!(
            "docs/conditions.md is out of date (run UPDATE_CONDITIONS_DOC=1 cargo test -p \
             epp-norid-ext --test policy_docs); first difference at table line {}:\n  doc:  \
             {:?}\n  code: {:?}",
            i + 1,
            have.get(i),
            want.get(i)
        );
    }
}
