//! Fuzzes the strict EPP decoder with arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| epp_xml::fuzz_target::xml_parse(data));
