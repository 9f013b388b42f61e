//! `cargo fuzz run parquet`: see [`tracemark_fuzz::parquet`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tracemark_fuzz::parquet(data));
