//! `cargo fuzz run format_string`: see [`tracemark_fuzz::format_string`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::format_string(data));
