//! Decodes arbitrary bytes as a server document with Norid's extensions (a client's side);
//! what decodes must survive parse -> encode -> parse unchanged.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| epp_norid_ext::fuzz_target::response_roundtrip(data));
