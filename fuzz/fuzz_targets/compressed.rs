//! `cargo fuzz run compressed`: see [`tracemark_fuzz::compressed`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::compressed(data));
