//! `cargo fuzz run trace`: see [`tracemark_fuzz::trace`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::trace(data));
