//! Random damage never panics, never hangs, and never loses the good packets' bookkeeping.

use proptest::prelude::*;
use tracemark_format::{types::AbiInt, Abi, ByteOrder, EventClass, Field, IntType, Layout, Record, TypeDesc};

use super::*;

/// A valid trace exercising every decoder path: two streams, markers, compound types.
fn valid_trace(order: ByteOrder) -> Vec<u8> {
    let abi = Abi::ilp32(order);
    let builder = TraceBuilder::new(abi)
        .class(
            1,
            "compound",
            vec![
                Field::new("flag", TypeDesc::Bool),
                Field::new("name", TypeDesc::String),
                Field::new("data", TypeDesc::Blob),
                Field::new("pids", TypeDesc::sequence(TypeDesc::Int(IntType::Abi(AbiInt::Long)))),
                Field::new(
                    "pair",
                    TypeDesc::array(2, TypeDesc::Struct(vec![Field::new("x", TypeDesc::F32)])),
                ),
                Field::new(
                    "state",
                    TypeDesc::Enum {
                        repr: IntType::U8,
                        mappings: vec![tracemark_format::EnumMapping { label: "R".into(), lo: 0, hi: 0 }],
                    },
                ),
            ],
        )
        .record(Record::EventClass(EventClass::new(2, 0, "marker", Layout::Marker("pid %d s %s".into()))));
    let compound = Payload::new(order)
        .u8(1)
        .string(b"comm")
        .u32(2)
        .raw(&[7, 8])
        .u32(2)
        .u32(10)
        .u32(11)
        .u32(1.0f32.to_bits())
        .u32(2.0f32.to_bits())
        .u8(0)
        .done();
    let marker = Payload::new(order).u32(42).string(b"hi").done();
    let mut bytes = builder.metadata_packet();
    for sequence in 0..3u64 {
        for cpu in 0..2u32 {
            let base = (sequence << 50) + 10 * u64::from(cpu);
            bytes.extend(
                builder
                    .packet(0, cpu, sequence, base)
                    .event(1, base + 1, &compound)
                    .event(2, base + 2, &marker)
                    .event(1, base + (1 << 48), &compound)
                    .discarded(sequence)
                    .build(&builder),
            );
        }
    }
    bytes
}

fn drain(bytes: Vec<u8>) {
    if let Ok(trace) = Trace::from_bytes(bytes) {
        let _ = trace.summary();
        for item in trace.events() {
            match item {
                Item::Event(event) => {
                    let _ = serde_json::to_string(&event).unwrap();
                    let _ = event.to_string();
                }
                Item::Diagnostic(diagnostic) => {
                    let _ = diagnostic.to_string();
                }
            }
        }
        for stream in trace.streams() {
            stream.for_each(drop);
        }
        // Every other way of reading sees the same events and diagnostics, damage included.
        let key = |event: &crate::Event<'_>| (event.timestamp(), event.offset(), event.id());
        let expected: Vec<_> = trace.events().filter_map(Item::event).map(|event| key(&event)).collect();
        let diagnostics = trace.events().filter(|item| matches!(item, Item::Diagnostic(_))).count();
        let mut seen = Vec::new();
        let mut run = crate::Dispatcher::new(&trace);
        run.workers(1).on_every_event(|event| {
            seen.push(key(event));
            event.values().for_each(drop);
        });
        let summary = run.run();
        assert_eq!(seen, expected, "dispatcher");
        assert_eq!(summary.diagnostics as usize, diagnostics, "dispatcher diagnostics");
        let pipelined: Vec<_> =
            trace.with_events(1, |items| items.filter_map(Item::event).map(|event| key(&event)).collect());
        assert_eq!(pipelined, expected, "with_events");
        assert_eq!(trace.count_events(2).events as usize, expected.len(), "count_events");
    }
}

#[test]
fn the_fuzz_seed_is_clean() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let trace = Trace::from_bytes(valid_trace(order)).unwrap();
        let seen = collect(trace.events());
        let events = seen.iter().filter(|item| matches!(item, Seen::Event { .. })).count();
        assert_eq!(events, 18);
        // Discard counters 1 and 2 on each of the two streams.
        assert_eq!(seen.len(), 18 + 4, "{seen:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_byte_mutations_never_panic(
        big in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = valid_trace(if big { ByteOrder::Big } else { ByteOrder::Little });
        for (index, value) in edits {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        if let Some(cut) = cut {
            let len = cut.index(bytes.len());
            bytes.truncate(len);
        }
        drain(bytes);
    }

    #[test]
    fn mutations_after_the_metadata_keep_the_trace_openable(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
    ) {
        let mut bytes = valid_trace(ByteOrder::Little);
        let metadata_len = u32::from_le_bytes(bytes[68..72].try_into().unwrap()) as usize;
        for (index, value) in edits {
            let at = metadata_len + index.index(bytes.len() - metadata_len);
            bytes[at] = value;
        }
        let trace = Trace::from_bytes(bytes).unwrap();
        trace.events().for_each(drop);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_metadata_packet_never_panic(
        tail in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let builder = TraceBuilder::new(Abi::lp64(ByteOrder::Little)).class(1, "e", vec![Field::new("s", TypeDesc::String)]);
        let mut bytes = builder.metadata_packet();
        bytes.extend(tail);
        drain(bytes);
    }
}

/// A longer mutation run for local fuzzing: `TRACEMARK_FUZZ_ITERATIONS=1000000 cargo test
/// --release -p tracemark-reader long_mutation_run -- --ignored`.
#[test]
#[ignore]
fn long_mutation_run() {
    let iterations: u64 =
        std::env::var("TRACEMARK_FUZZ_ITERATIONS").ok().and_then(|text| text.parse().ok()).unwrap_or(100_000);
    let seeds = [valid_trace(ByteOrder::Little), valid_trace(ByteOrder::Big)];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..iterations {
        let mut bytes = seeds[(next() & 1) as usize].clone();
        for _ in 0..(next() % 8 + 1) {
            let at = (next() % bytes.len() as u64) as usize;
            match next() % 4 {
                0 => bytes[at] ^= 1 << (next() % 8),
                1 => bytes[at] = 0xFF,
                2 => bytes[at] = 0,
                _ => bytes[at] = next() as u8,
            }
        }
        if next() % 8 == 0 {
            let len = (next() % bytes.len() as u64) as usize;
            bytes.truncate(len);
        }
        drain(bytes);
    }
}
