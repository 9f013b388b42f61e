//! The entry functions of tracemark's fuzz targets, in a normal crate so that `cargo test`
//! replays every corpus file on stable Rust, and a crash once found stays a regression test.
//!
//! Each target is one function taking the fuzzer's bytes; `fuzz/fuzz_targets/<name>.rs` only
//! calls it. The functions panic (or abort, for an allocation over the reader limits) when
//! an invariant breaks, and return normally otherwise.
//!
//! | target | drives | must hold |
//! |---|---|---|
//! | [`packet_header`] | `PacketHeader::decode`, the CRC | headers re-encode to their bytes |
//! | [`metadata`] | `RecordIter`, then the reader | records re-encode to their bytes |
//! | [`format_string`] | `marker::parse`, the C parser | re-rendering parses the same; C agrees |
//! | [`trace`] | `Trace::from_bytes`, every field | events and diagnostics lie in the input |
//! | [`check`] | the conformance checker | findings lie in the input, sorted |
//! | [`roundtrip`] | classes, values → Rust writer → reader | decoded = written |
//! | [`writer_diff`] | a script → Rust and C writers | same packets; both decode to the script |
//! | [`tsdl`] | CTF metadata text → parser, model, planner | errors located in the text |
//! | [`ctf_stream`] | a CTF stream file under one of three metadata | packets, events and values lie in the input |
//! | [`parquet()`] | `Trace::from_bytes`, then the Parquet export | exports without error, a row per event |
//! | [`progress`] | `Progress::parse` (the progress file, §9.5) | headers re-encode, records in the input |
//!
//! Every target also runs under the allocation limits of spec §12 ([`alloc_guard`]): this
//! crate installs [`alloc_guard::GuardedAllocator`] as the global allocator of whatever links
//! it.
//!
//! ```
//! // A truncated header is rejected with a reason, not a panic.
//! tracemark_fuzz::packet_header(b"TRMK\x01\x00\x50\x00");
//! ```
#![deny(missing_docs)]

pub mod alloc_guard;
mod cdiff;
mod columnar;
mod ctf;
mod decoders;
mod expect;
pub mod gen;
mod roundtrip;
pub mod seeds;
pub mod vectors;
mod writer_diff;

pub use columnar::parquet;
pub use ctf::{ctf_stream, tsdl, CTF_METADATA, PAYLOADS_METADATA};
pub use decoders::{
    compressed, format_string, index, metadata, metadata_packet, packet_header, progress, trace,
};
pub use roundtrip::roundtrip;
pub use writer_diff::writer_diff;

use alloc_guard::{Budget, GuardedAllocator};

#[global_allocator]
static ALLOCATOR: GuardedAllocator = GuardedAllocator;

/// A target's entry function.
pub type Target = fn(&[u8]);

/// Every target, by name: what `fuzz/ci.sh` runs and the corpus replay test iterates.
pub const TARGETS: [(&str, Target); 13] = [
    ("packet_header", packet_header),
    ("metadata", metadata),
    ("index", index),
    ("compressed", compressed),
    ("format_string", format_string),
    ("trace", trace),
    ("check", check),
    ("roundtrip", roundtrip),
    ("writer_diff", writer_diff),
    ("tsdl", tsdl),
    ("ctf_stream", ctf_stream),
    ("parquet", parquet),
    ("progress", progress),
];

/// `check`: the conformance checker (`tracemark check`) on any bytes as a single-file trace.
/// Its findings lie within the input and come ordered by offset; a readable trace's event
/// count is the reader's; the report serializes.
pub fn check(data: &[u8]) {
    use tracemark_conformance::check::{check, Source};
    alloc_guard::bounded(Budget::for_input(data.len()), || {
        let Ok(report) = check(&Source::bytes("fuzz.tmk", data.to_vec())) else { return };
        for finding in &report.findings {
            assert!(finding.offset <= data.len() as u64, "finding past the input: {finding:?}");
            assert!(finding.requirement.starts_with("R-"), "{finding:?}");
        }
        let offsets: Vec<u64> = report.findings.iter().map(|finding| finding.offset).collect();
        assert!(offsets.windows(2).all(|pair| pair[0] <= pair[1]), "findings out of order: {offsets:?}");
        let _ = (report.summary(), report.is_valid());
        let _ = serde_json::to_string(&report).expect("a report serializes");
        if report.readable {
            if let Ok(trace) = tracemark_reader::Trace::from_bytes(data.to_vec()) {
                let events = trace.events().filter_map(tracemark_reader::Item::event).count() as u64;
                assert_eq!(report.events, events, "the checker and the reader decode different events");
            }
        }
    });
}
