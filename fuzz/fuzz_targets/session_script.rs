//! Fuzzes the session with arbitrary command sequences on two connections: templates of
//! every command, mutated templates, raw frames, clock steps and lifecycle runs. Nothing
//! may panic and every reply must decode strictly.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| epp_session::fuzz_target::session_script(data));
