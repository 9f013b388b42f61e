//! `cargo fuzz run progress`: see [`tracemark_fuzz::progress`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::progress(data));
