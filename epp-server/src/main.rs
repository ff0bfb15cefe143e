//! `epp-server`: see the crate documentation of the `epp_server` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    // The EPP session (epp-session, issue 5) is wired in here once it exists; until then
    // `serve` refuses to start rather than accept connections it cannot answer.
    epp_server::main_with(epp_server::NotWired)
}
