//! Targets over CTF input (`tracemark-ctf`): the TSDL parser and model, and the packet and
//! event decoder.

use tracemark_ctf::decode::{datum_count, Datum};
use tracemark_ctf::import::{import, StreamFile};
use tracemark_ctf::tsdl::{self, Position};
use tracemark_ctf::{CtfTrace, TraceClass};

use crate::alloc_guard::{self, Budget};

/// Metadata the `ctf_stream` target decodes with, chosen by the input's first byte: LTTng-UST
/// 2.13's, the hand-written kernel-style one (big-endian, compact headers, a sequence of
/// structs, a variant), and a small one with sequences and variants in payloads.
pub const CTF_METADATA: [&str; 3] = [
    include_str!("../../../ctf/tests/data/lttng-ust-2.13.tsdl"),
    include_str!("../../../ctf/tests/data/kernel-style.tsdl"),
    PAYLOADS_METADATA,
];

/// Little-endian, one stream class, an 8-bit event ID; event 1 has nested sequences, event 2
/// a variant.
pub const PAYLOADS_METADATA: &str = "typealias integer { size = 8; align = 8; signed = false; } := u8;\n\
    typealias integer { size = 16; align = 8; signed = false; } := u16;\n\
    typealias integer { size = 32; align = 8; signed = false; } := u32;\n\
    trace { major = 1; minor = 8; byte_order = le; packet.header := struct { u32 magic; u32 stream_id; }; };\n\
    stream { id = 0; packet.context := struct { u32 content_size; u32 packet_size; }; event.header := struct { u8 id; }; };\n\
    event { name = seq; id = 1; fields := struct { u8 n; struct { u8 k; u16 v[k]; } s; u8 tail[event.fields.n]; }; };\n\
    event { name = var; id = 2; fields := struct { enum : u8 { A = 1, B = 2 } tag; variant <tag> { u8 A; string B; } v; }; };\n";

/// `tsdl`: any text through the TSDL parser, the model and the planner. An error's position
/// lies in the text and agrees with its offset; a parsed text builds or fails with a
/// positioned error; a model always plans (a class may fail alone).
pub fn tsdl(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    alloc_guard::bounded(Budget::for_input(data.len()), || {
        let check = |error: &tsdl::TsdlError| {
            assert!(error.offset <= text.len(), "error past the text: {error}");
            assert_eq!(
                Position::of(&text, error.offset),
                Position { line: error.line, column: error.column }
            );
            assert!(!error.message.is_empty());
        };
        match tsdl::parse(&text) {
            Err(error) => check(&error),
            Ok(_) => match TraceClass::from_tsdl(&text) {
                Err(error) => check(&error),
                Ok(class) => {
                    let trace = CtfTrace::new(class);
                    let _ = trace.plans.iter().filter(|plan| plan.is_err()).count();
                }
            },
        }
    });
}

/// `ctf_stream`: the first byte picks one of [`CTF_METADATA`], the rest is a stream file.
/// Packets come in file order inside the input; events come in order inside their packet's
/// content; every value borrowed from the input lies in it; the values of an event's fields
/// are exactly what its plan says they are. Then the stream is imported into tracemark
/// (`tracemark_ctf::import`): the import succeeds, and the tracemark reader opens its output
/// and reads back exactly the events the import says it wrote.
pub fn ctf_stream(data: &[u8]) {
    let Some((&choice, stream)) = data.split_first() else { return };
    let metadata = CTF_METADATA[usize::from(choice) % CTF_METADATA.len()];
    let Ok(class) = TraceClass::from_tsdl(metadata) else { panic!("a seed metadata text does not build") };
    let trace = CtfTrace::new(class);
    let input = stream.as_ptr_range();
    alloc_guard::bounded(Budget::for_input(data.len()), || {
        let mut end_of_previous = 0;
        for packet in trace.packets(stream) {
            let Ok(packet) = packet else { break };
            assert!(packet.offset >= end_of_previous && packet.size > 0, "{packet:?}");
            end_of_previous = packet.offset + packet.size;
            assert!(end_of_previous <= stream.len() as u64);
            assert!(packet.events_start <= packet.content_end && packet.content_end <= end_of_previous * 8);
            let mut events = trace.events(stream, &packet);
            let mut previous = None;
            while let Some(event) = events.next() {
                let Ok(event) = event else { break };
                assert!(previous < Some(event.position), "events went backwards");
                assert!(event.position >= packet.events_start && event.position < packet.content_end);
                previous = Some(event.position);
                for value in event.stream_context.iter().chain(event.context).chain(event.fields) {
                    if let Datum::Text(text) = value {
                        let range = text.as_ptr_range();
                        assert!(
                            input.start <= range.start && range.end <= input.end,
                            "text outside the input"
                        );
                    }
                }
                if let Some(fields) = &event.plan.fields {
                    assert_eq!(datum_count(fields, event.fields), event.fields.len());
                }
            }
        }
        let mut out = Vec::new();
        let streams = [StreamFile { name: "fuzz", bytes: stream }];
        let report = import(&trace, &streams, &mut out).expect("an import into memory cannot fail");
        let imported = tracemark_reader::Trace::from_bytes(out).expect("the import's output opens");
        let read = imported.events().filter_map(tracemark_reader::Item::event).count() as u64;
        assert_eq!(read, report.events, "the reader reads what the import wrote: {report:?}");
    });
}
