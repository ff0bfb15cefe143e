//! The round trip of `xml_roundtrip` with Norid's extensions, plus response encoding.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| epp_norid_ext::fuzz_target::norid_roundtrip(data));
