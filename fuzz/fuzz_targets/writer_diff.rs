//! `cargo fuzz run writer_diff`: see [`tracemark_fuzz::writer_diff`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::writer_diff(data));
