//! `cargo fuzz run packet_header`: see [`tracemark_fuzz::packet_header`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::packet_header(data));
