//! Every client document in `../shared` (Norid's seed exchanges and the .NO client
//! examples) decodes. Skips with a notice when `../shared` is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, shared};

fn command_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    files(dir, ".cmd.xml")
}

#[test]
fn every_shared_command_decodes() {
    let Some(shared) = shared() else { return };
    let mut n = 0;
    for dir in ["spec/examples-netdri", "seeds/exchanges"] {
        for path in command_files(&shared.join(dir)) {
            let bytes = std::fs::read(&path).unwrap();
            if let Err(e) = epp_norid_ext::decode(&bytes) {
                panic!(
                    "{} does not decode: {} {}",
                    path.display(),
                    e.code(),
                    e.reason()
                );
            }
            n += 1;
        }
    }
    assert!(n >= 50, "only {n} command files found");
}

#[test]
fn every_shared_document_validates_against_our_schemas() {
    let Some(shared) = shared() else { return };
    let mut docs = files(&shared.join("spec/examples-netdri"), ".xml");
    docs.extend(files(&shared.join("seeds/exchanges"), ".xml"));
    assert!(docs.len() >= 100);
    common::xmllint_validate(&docs);
}
