//! A client's side of the codec against the shared material (`../shared`): every response
//! there decodes with `decode_response`, and every command there survives
//! decode -> `encode_request` -> decode unchanged, with the encoded documents valid against
//! our schemas. Skips with a notice when `../shared` is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, shared};
use epp_norid_ext::{NoridServerDoc, decode, decode_response, encode_request};

#[test]
fn every_shared_response_decodes() {
    let Some(shared) = shared() else { return };
    let mut n = 0;
    for dir in ["spec/examples-netdri", "seeds/exchanges"] {
        for path in files(&shared.join(dir), ".rsp.xml") {
            let bytes = std::fs::read(&path).unwrap();
            match decode_response(&bytes) {
                Ok(NoridServerDoc::Response(_) | NoridServerDoc::Greeting(_)) => n += 1,
                Err(e) => panic!(
                    "{} does not decode: {} {}",
                    path.display(),
                    e.code(),
                    e.reason()
                ),
            }
        }
    }
    assert!(n >= 50, "only {n} response files found");
}

#[test]
fn every_shared_command_survives_encode_and_validates() {
    let Some(shared) = shared() else { return };
    let out_dir = std::env::temp_dir().join(format!("epp-client-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut written = Vec::new();
    for dir in ["spec/examples-netdri", "seeds/exchanges"] {
        for path in files(&shared.join(dir), ".cmd.xml") {
            let request = decode(&std::fs::read(&path).unwrap()).unwrap();
            let mut out = Vec::new();
            encode_request(&request, &mut out);
            let again = decode(&out).unwrap_or_else(|e| {
                panic!(
                    "re-encoded {} does not decode: {} {}\n{}",
                    path.display(),
                    e.code(),
                    e.reason(),
                    String::from_utf8_lossy(&out)
                )
            });
            assert_eq!(request, again, "{}", path.display());
            let p = out_dir.join(path.file_name().unwrap());
            std::fs::write(&p, &out).unwrap();
            written.push(p);
        }
    }
    assert!(written.len() >= 50, "only {} command files", written.len());
    common::xmllint_validate(&written);
    std::fs::remove_dir_all(&out_dir).unwrap();
}
