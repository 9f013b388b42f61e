//! `cargo fuzz run index`: see [`tracemark_fuzz::index`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::index(data));
