//! `cargo fuzz run check`: see [`tracemark_fuzz::check`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::check(data));
