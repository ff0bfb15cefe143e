//! `epp-server`: see the crate documentation of the `epp_server` library.

use std::process::ExitCode;

fn main() -> ExitCode {
    epp_server::main_with(epp_server::Epp)
}
