//! Seed inputs for every target, checked in under `fuzz/seeds/<target>/`:
//! traces from both writers (every payload type, both byte orders, a 32-bit ABI, with and
//! without CRC, extended headers, markers, discards), the limit vectors, the metadata and
//! packet headers inside them, marker format strings, and random bytes for the structured
//! targets. The conformance vectors (`conformance/vectors/`) are read as seeds where they
//! are, not copied.
//!
//! `cargo test -p tracemark-fuzz --test corpus -- --ignored write_seeds` rewrites them.

use tracemark_conformance::{rust_writer, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{
    Abi, AbiInt, ByteOrder, EnumMapping, EventClass, Field, HeaderWord, IntType, Layout, PacketHeader,
    TypeDesc, PACKET_HEADER_LEN,
};
use tracemark_writer::{Config, LocalTrace, ManualClock, MarkerArg, StreamWriter, TraceDescription};

use crate::vectors::LIMIT_VECTORS;

/// One seed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// The target's name.
    pub target: &'static str,
    /// The file name.
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

fn int(int: IntType) -> TypeDesc {
    TypeDesc::Int(int)
}

/// A class of every scalar type, one of compound types, one without fields.
fn classes() -> Vec<ClassSpec> {
    let mut scalars = vec![Field::new("flag", TypeDesc::Bool), Field::new("single", TypeDesc::F32)];
    for (index, ty) in [IntType::U8, IntType::U16, IntType::U32, IntType::U64, IntType::I8, IntType::I64]
        .into_iter()
        .chain(AbiInt::ALL.map(IntType::Abi))
        .enumerate()
    {
        scalars.push(Field::new(format!("i{index}"), int(ty)));
    }
    scalars.push(Field::new("double", TypeDesc::F64));
    let compound = vec![
        Field::new("name", TypeDesc::String),
        Field::new("raw", TypeDesc::Blob),
        Field::new("fixed", TypeDesc::array(2, int(IntType::I16))),
        Field::new(
            "seq",
            TypeDesc::sequence(TypeDesc::Struct(vec![
                Field::new("x", int(IntType::Abi(AbiInt::Long))),
                Field::new("s", TypeDesc::String),
            ])),
        ),
        Field::new(
            "state",
            TypeDesc::Enum {
                repr: IntType::I8,
                mappings: vec![
                    EnumMapping { label: "NEG".into(), lo: i64::MIN as u64, hi: -1i64 as u64 },
                    EnumMapping { label: "ZERO".into(), lo: 0, hi: 0 },
                ],
            },
        ),
    ];
    vec![
        ClassSpec::new("scalars", scalars),
        ClassSpec::new("sched:compound", compound),
        ClassSpec::new("tick", vec![]),
    ]
}

fn values(class: usize, step: u64) -> Vec<Val> {
    match class {
        0 => {
            let mut values = vec![Val::Bool(step.is_multiple_of(2)), Val::F32(step as f32 / 3.0)];
            for index in 0..6 + AbiInt::ALL.len() {
                values.push(if index % 3 == 0 { Val::I(-(step as i64)) } else { Val::U(step << index) });
            }
            values.push(Val::F64(-(step as f64)));
            values
        }
        1 => vec![
            Val::Str(format!("task{step}").into_bytes()),
            Val::Blob(vec![step as u8; (step % 4) as usize]),
            Val::List(vec![Val::I(-1), Val::I(step as i64)]),
            Val::List(
                (0..step % 3)
                    .map(|index| Val::Struct(vec![Val::I(index as i64), Val::Str(b"s".to_vec())]))
                    .collect(),
            ),
            Val::I(if step.is_multiple_of(2) { 0 } else { -5 }),
        ],
        _ => vec![],
    }
}

fn scenario(abi: Abi, crc: bool, first_event_id: u32, gap: u64, header_word: HeaderWord) -> Scenario {
    let events = (0..9u64)
        .map(|step| EventSpec {
            class: (step % 3) as usize,
            cpu: (step % 2) as u32,
            timestamp: 1_000 + step * 10 + (step / 4) * gap,
            values: values((step % 3) as usize, step),
        })
        .collect();
    Scenario {
        abi,
        packet_size: 512,
        crc,
        uuid: [0x5E; 16],
        first_event_id,
        header_word,
        classes: classes(),
        events,
    }
}

/// Markers, a discard and an ENV record, from the Rust writer's own API.
fn rust_markers(order: ByteOrder) -> Vec<u8> {
    let clock = ManualClock::new(100);
    let config = Config::with_uuid([0x4D; 16]).abi(Abi::ilp32(order)).crc(false).packet_size(256);
    let mut trace = LocalTrace::new(&config, TraceDescription::unknown(), &clock, Vec::new()).expect("trace");
    trace.set_env("hostname", tracemark_format::EnvValue::Str("seed".into())).expect("env");
    let mut memory = vec![0u8; 256];
    let mut stream =
        StreamWriter::new(trace.stream_params(2).expect("params"), &mut memory[..], &clock).expect("stream");
    let text = "x".repeat(300);
    for step in 0..6u64 {
        clock.advance(7);
        stream
            .marker(
                &mut trace,
                "irq",
                "irq %d name %s addr %p ratio %f c %c small %hhx",
                &[
                    MarkerArg::Int(step as i64 - 3),
                    MarkerArg::Str("eth0"),
                    MarkerArg::Pointer(0xdead_0000 + step),
                    MarkerArg::Float(step as f64 / 7.0),
                    MarkerArg::Char(b'a' + step as u8),
                    MarkerArg::UInt(step * 50),
                ],
            )
            .expect("marker");
    }
    // Too large for a 256-byte packet: dropped and counted (§10.1).
    let _ = stream.marker(&mut trace, "big", "text %s", &[MarkerArg::Str(&text)]);
    stream.marker(&mut trace, "late", "\tn %lu  ", &[MarkerArg::UInt(1)]).expect("marker");
    stream.flush(&mut trace).expect("flush");
    trace.finish().expect("finish")
}

/// Field-list events and markers from the C probe writer (fixed-size metadata packets).
fn c_probe() -> Vec<u8> {
    use tracemark_probe::{Config as CConfig, MarkerArg as CArg, Value, Writer};
    let config = CConfig { crc: false, packet_size: 512, nr_cpus: 2, ..CConfig::default() };
    let mut writer = Writer::new(config).expect("C writer");
    let fields = vec![
        Field::new("pid", int(IntType::I32)),
        Field::new("comm", TypeDesc::String),
        Field::new("prio", int(IntType::Abi(AbiInt::Int))),
    ];
    writer.register(&EventClass::new(1, 0, "sched_switch", Layout::Fields(fields))).expect("class");
    writer
        .register(&EventClass::new(2, 0, "printk", Layout::Marker("level %u msg %s".into())))
        .expect("class");
    for step in 0..6u32 {
        let ts = 1_000 + u64::from(step) * 100;
        let cpu = step % 2;
        writer
            .emit(cpu, ts, 1, &[Value::I32(step as i32), Value::str("bash"), Value::Int(step as i32 - 2)])
            .expect("emit");
        writer
            .marker(cpu, ts + 1, 2, &[CArg::UInt(u64::from(step)), CArg::Str(b"hello".to_vec())])
            .expect("marker");
    }
    writer.finish(5_000).expect("finish").single_file()
}

/// The packets of a single-file trace, by `packet_size`.
fn packets(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    while let Ok((header, _)) = PacketHeader::decode(bytes) {
        let Some((packet, rest)) = bytes.split_at_checked(header.packet_size as usize) else { break };
        found.push(packet);
        bytes = rest;
    }
    found
}

/// `len` pseudo-random bytes from `seed` (xorshift64).
fn random_bytes(mut seed: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

const FORMAT_STRINGS: [&str; 10] = [
    "prev_pid %d next_comm %s",
    "  prev_pid %d\tnext_comm %s  addr %p len %zu big %llx c %c t %hhu ",
    concat!(
        "msg %s count %d big %llu neg %ld size %zu ptr %p ratio %f ch %c small %hhd tiny %hu ",
        "wide %jd diff %td hex %lx"
    ),
    "\t step %u  label %s\t",
    "",
    "a %ls",
    "pid=%d",
    "a %d a %u",
    "x %hhX y %lo z %e w %g",
    "_ %i __ %ti",
];

/// Every seed.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    let mut add =
        |target: &'static str, name: String, bytes: Vec<u8>| seeds.push(Seed { target, name, bytes });
    let (gap, narrow_gap) = (1 << 48, 1 << 24);
    let (wide, narrow) = (HeaderWord::Wide, HeaderWord::Narrow);
    let traces = [
        (
            "rust-le64-crc",
            rust_writer::single_file(&scenario(Abi::lp64(ByteOrder::Little), true, 0, 0, wide)),
        ),
        (
            "rust-be32-nocrc",
            rust_writer::single_file(&scenario(Abi::ilp32(ByteOrder::Big), false, 0, gap, wide)),
        ),
        (
            "rust-le32-extended-ids",
            rust_writer::single_file(&scenario(Abi::ilp32(ByteOrder::Little), false, 0xFFFE, gap, wide)),
        ),
        (
            "rust-le64-narrow",
            rust_writer::single_file(&scenario(Abi::lp64(ByteOrder::Little), true, 0xFE, narrow_gap, narrow)),
        ),
    ];
    let mut trace_seeds: Vec<(String, Vec<u8>)> = traces
        .into_iter()
        .map(|(name, bytes)| (format!("{name}.tmk"), bytes.expect("the seed scenarios are valid")))
        .collect();
    trace_seeds.push(("rust-markers-be.tmk".into(), rust_markers(ByteOrder::Big)));
    trace_seeds.push(("rust-markers-le.tmk".into(), rust_markers(ByteOrder::Little)));
    trace_seeds.push(("c-probe.tmk".into(), c_probe()));
    for vector in LIMIT_VECTORS {
        // The garbage vector is large; its smaller kin are the damaged traces themselves.
        if vector.name != "resync-64kib-garbage" {
            trace_seeds.push((format!("limit-{}.tmk", vector.name), (vector.build)()));
        }
    }
    for (name, bytes) in &trace_seeds {
        add("trace", name.clone(), bytes.clone());
        add("check", name.clone(), bytes.clone());
        add("parquet", name.clone(), bytes.clone());
        for (index, packet) in packets(bytes).into_iter().enumerate() {
            let Ok((header, order)) = PacketHeader::decode(packet) else { continue };
            if header.is_metadata() {
                let content = &packet[PACKET_HEADER_LEN..header.content_size as usize];
                let mut seed = vec![u8::from(order == ByteOrder::Big)];
                seed.extend_from_slice(content);
                add("metadata", format!("{name}-{index}.bin"), seed);
            }
            if index < 2 && !name.starts_with("limit-") {
                add("packet_header", format!("{name}-{index}.bin"), packet[..PACKET_HEADER_LEN].to_vec());
            }
        }
    }
    // The packet index (§14) of two seed traces: alone, and at the end of its file.
    for (name, bytes) in trace_seeds.iter().take(2) {
        let Ok(trace) = tracemark_reader::Trace::from_bytes(bytes.clone()) else { continue };
        let (uuid, order) = (trace.metadata().uuid(), trace.metadata().byte_order());
        for built in trace.build_indexes() {
            let (Ok(index), tracemark_reader::IndexPlace::Trailing { sequence, .. }) =
                (built.index, built.place)
            else {
                continue;
            };
            let packet = tracemark_format::index::encode_packet(&index, uuid, order, sequence);
            let mut indexed = bytes.clone();
            indexed.extend_from_slice(&packet);
            add("index", format!("{name}.idx"), packet);
            add("trace", format!("{name}-indexed.tmk"), indexed.clone());
            add("check", format!("{name}-indexed.tmk"), indexed);
        }
    }
    // Compressed packets (§15): two seed traces with their data packets compressed by each
    // codec, and the compressed contents alone (byte order first).
    for (name, bytes) in trace_seeds.iter().take(2) {
        for codec in [tracemark_format::compress::Codec::Zstd, tracemark_format::compress::Codec::Lz4] {
            let mut compressed_trace = Vec::new();
            for (index, packet) in packets(bytes).into_iter().enumerate() {
                let Some(compressed) = tracemark_writer::compress_packet(packet, codec) else {
                    compressed_trace.extend_from_slice(packet);
                    continue;
                };
                if let Ok((header, order)) = PacketHeader::decode(&compressed) {
                    let mut seed = vec![u8::from(order == ByteOrder::Big)];
                    seed.extend_from_slice(
                        &compressed[header.header_len as usize..header.content_size as usize],
                    );
                    add("compressed", format!("{name}-{index}.{}", codec.name()), seed);
                }
                compressed_trace.extend_from_slice(&compressed);
            }
            add("trace", format!("{name}-{}.tmk", codec.name()), compressed_trace.clone());
            add("check", format!("{name}-{}.tmk", codec.name()), compressed_trace);
        }
    }
    for (index, format) in FORMAT_STRINGS.iter().enumerate() {
        add("format_string", format!("format-{index}.txt"), format.as_bytes().to_vec());
    }
    for (index, len) in [64usize, 256, 512, 1024, 2048, 4096].into_iter().enumerate() {
        add("roundtrip", format!("random-{len}.bin"), random_bytes(0x9E37_79B9 + index as u64, len));
        add("writer_diff", format!("random-{len}.bin"), random_bytes(0xC0FF_EE00 + index as u64, len));
    }
    progress_seeds(&mut add);
    ctf_seeds(&mut add);
    seeds
}

/// Progress files (§9.5) for `progress`: both byte orders, a few streams, a partial record.
fn progress_seeds(add: &mut impl FnMut(&'static str, String, Vec<u8>)) {
    use tracemark_format::progress::{ProgressHeader, RECORD_LEN};
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let mut file = ProgressHeader::new([5; 16], 0).encode(order).to_vec();
        add("progress", format!("header-{order:?}.bin"), file.clone());
        for written in [3u64, 0, 70_000] {
            let mut record = vec![0u8; RECORD_LEN];
            record[..8].copy_from_slice(&order.u64_bytes(written));
            file.extend_from_slice(&record);
        }
        add("progress", format!("three-streams-{order:?}.bin"), file.clone());
        file.truncate(file.len() - 20);
        add("progress", format!("partial-record-{order:?}.bin"), file);
    }
}

/// CTF metadata texts (good and cut) for `tsdl`; LTTng-UST stream packets and hand-made
/// payload packets for `ctf_stream`.
fn ctf_seeds(add: &mut impl FnMut(&'static str, String, Vec<u8>)) {
    for (index, text) in crate::CTF_METADATA.iter().enumerate() {
        add("tsdl", format!("metadata-{index}.tsdl"), text.as_bytes().to_vec());
        add("tsdl", format!("metadata-{index}-cut.tsdl"), text.as_bytes()[..text.len() / 3].to_vec());
    }
    let small = include_bytes!("../../../ctf/tests/data/lttng-ust-small/ch_0");
    let discarded = include_bytes!("../../../ctf/tests/data/lttng-ust-discarded/ch_0");
    add("ctf_stream", "lttng-ust-small-ch_0.bin".into(), [&[0u8][..], &small[..]].concat());
    add("ctf_stream", "lttng-ust-discarded-2-packets.bin".into(), [&[0u8][..], &discarded[..8192]].concat());
    // Metadata 2: event 1 (nested sequences), event 2 with each variant option.
    let events = [&[1u8, 2, 1, 3, 0, 9, 9][..], &[2, 1, 7], &[2, 2, b'h', b'i', 0], &[1, 0, 0]].concat();
    let content = (16 + events.len()) as u32;
    let mut packet = vec![2u8];
    for word in [0xC1FC_1FC1, 0, content * 8, content * 8] {
        packet.extend_from_slice(&u32::to_le_bytes(word));
    }
    packet.extend_from_slice(&events);
    add("ctf_stream", "payloads.bin".into(), packet);
}
