//! `cargo fuzz run metadata`: see [`tracemark_fuzz::metadata`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::metadata(data));
