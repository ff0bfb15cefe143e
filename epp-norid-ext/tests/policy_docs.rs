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

/// The table is complete only if no code emits a condition code of its own: outside the
/// catalogue (`policy/condition.rs`) and test modules, no source file of the crates that
/// build responses may spell one (`"EC002003"`). Conditions are made from the catalogue's
/// definitions, and epp-session's script runner also checks every condition code of every
/// reply against the catalogue.
#[test]
fn condition_codes_are_spelled_only_in_the_catalogue() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut offenders = Vec::new();
    let mut files = 0;
    for krate in ["epp-norid-ext", "epp-session", "epp-server"] {
        let mut stack = vec![root.join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs")
                    || path.ends_with("policy/condition.rs")
                {
                    continue;
                }
                files += 1;
                let text = std::fs::read_to_string(&path).unwrap();
                // Test modules come last in a file (STYLE.md); what they spell is expected
                // output, not emitted.
                let body = text.split("#[cfg(test)]").next().unwrap_or("");
                for (i, _) in body.match_indices('"') {
                    let lit = &body[i + 1..];
                    let code: String = lit.chars().take(9).collect();
                    let b = code.as_bytes();
                    if b.len() == 9
                        && (code.starts_with("EC") || code.starts_with("NC"))
                        && b[2..8].iter().all(u8::is_ascii_digit)
                        && b[8] == b'"'
                    {
                        offenders.push(format!("{}: {}", path.display(), &code[..8]));
                    }
                }
            }
        }
    }
    assert!(files > 50, "only {files} source files found");
    assert!(
        offenders.is_empty(),
        "condition codes spelled outside the catalogue: {offenders:?}"
    );
}
