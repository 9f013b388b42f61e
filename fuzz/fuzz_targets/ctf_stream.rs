//! `cargo fuzz run ctf_stream`: see [`tracemark_fuzz::ctf_stream`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::ctf_stream(data));
