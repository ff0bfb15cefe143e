//! Runs every C:/S: script in `testdata/sessions/` against a fresh harness (MemoryStore,
//! fake clock, scripted randomness). Seed scripts read Norid's files from `../shared`
//! (`EPP_SHARED_DIR`) and are skipped with a notice when it is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use epp_session::store::suite::block_on;
use epp_session::testing::Harness;
use epp_session::testing::script::run_dir;

#[test]
fn every_session_script_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sessions");
    let passed = run_dir(&dir, Harness::memory, |f| block_on(f));
    eprintln!("{passed} scripts passed");
}
