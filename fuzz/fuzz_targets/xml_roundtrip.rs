//! Decode, rewrite every namespace prefix, decode again: the typed values must match.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| epp_xml::fuzz_target::xml_roundtrip(data));
