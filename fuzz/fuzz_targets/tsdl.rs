//! `cargo fuzz run tsdl`: see [`tracemark_fuzz::tsdl`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::tsdl(data));
