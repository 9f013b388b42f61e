//! `cargo fuzz run roundtrip`: see [`tracemark_fuzz::roundtrip`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::roundtrip(data));
