//! Fuzzes the RFC 5734 frame decoder with arbitrary streams and chunkings.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| epp_frame::fuzz_target::frame_decode(data));
