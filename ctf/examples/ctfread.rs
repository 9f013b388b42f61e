//! Reads every event of a CTF trace with tracemark-ctf, for `ctf/bench/ctf-compare.sh`.
//!
//! usage: ctfread merged|streams TRACE_DIR
//!   merged   every event in time order across the stream files (as babeltrace2's muxer
//!            delivers them), every value decoded
//!   streams  every event of each stream file in file order, every value decoded, no merge
//!   parallel as merged, each stream file decoded on a thread of its own
//!
//! Prints the event count, the discarded-event count, and a checksum of the values (so the
//! decoding cannot be optimised away, and two modes can be compared).

use std::fs::File;

use tracemark_ctf::decode::Datum;
use tracemark_ctf::directory::find_traces;
use tracemark_ctf::merge::{Merged, StreamEvents};
use tracemark_ctf::CtfTrace;
use tracemark_reader::MappedFile;

fn checksum(values: &[Datum<'_>]) -> u64 {
    values.iter().fold(0u64, |sum, value| {
        sum.wrapping_add(match value {
            Datum::Unsigned(value) | Datum::Length(value) => *value,
            Datum::Signed(value) => *value as u64,
            Datum::Float(value) => value.to_bits(),
            Datum::Text(text) => text.len() as u64,
            Datum::Option(option) => u64::from(*option),
        })
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: ctfread merged|streams|parallel TRACE_DIR");
        std::process::exit(2);
    };
    let traces = find_traces(path.as_ref()).expect("the trace directory reads");
    let [dir] = traces.as_slice() else { panic!("{path}: expected one CTF trace, found {}", traces.len()) };
    let trace = CtfTrace::from_metadata(&std::fs::read(dir.metadata()).unwrap()).expect("the metadata reads");
    let maps: Vec<Option<MappedFile>> =
        dir.streams.iter().map(|path| MappedFile::open(File::open(path).unwrap()).unwrap()).collect();
    let files: Vec<&[u8]> = maps.iter().map(|map| map.as_ref().map_or(&[][..], MappedFile::bytes)).collect();
    let (mut events, mut sum, mut discarded) = (0u64, 0u64, 0u64);
    match mode.as_str() {
        "merged" => {
            let mut merged = Merged::new(&trace, &files);
            while merged.advance() {
                let Some((_, event)) = merged.current() else { continue };
                events += 1;
                sum = sum.wrapping_add(event.timestamp).wrapping_add(checksum(event.fields));
                sum = sum.wrapping_add(checksum(event.stream_context)).wrapping_add(checksum(event.context));
            }
            for error in &merged.errors {
                eprintln!("warning: {error}");
            }
        }
        "parallel" => {
            let errors = tracemark_ctf::parallel::for_each_event(&trace, &files, |_, event| {
                events += 1;
                sum = sum.wrapping_add(event.timestamp).wrapping_add(checksum(event.fields));
                sum = sum.wrapping_add(checksum(event.stream_context)).wrapping_add(checksum(event.context));
            });
            for error in &errors {
                eprintln!("warning: {error}");
            }
        }
        "streams" => {
            for (index, file) in files.iter().enumerate() {
                let mut stream = StreamEvents::new(&trace, file, index);
                let mut errors = Vec::new();
                while stream.advance(&mut errors) {
                    let Some(event) = stream.current() else { continue };
                    events += 1;
                    sum = sum.wrapping_add(event.timestamp).wrapping_add(checksum(event.fields));
                    sum = sum
                        .wrapping_add(checksum(event.stream_context))
                        .wrapping_add(checksum(event.context));
                }
                for error in &errors {
                    eprintln!("warning: {error}");
                }
            }
        }
        other => panic!("unknown mode {other}"),
    }
    for file in &files {
        discarded += trace
            .packets(file)
            .filter_map(Result::ok)
            .last()
            .and_then(|packet| packet.discarded)
            .unwrap_or(0);
    }
    println!("{events} events, {discarded} discarded, checksum {sum:016x}");
}
