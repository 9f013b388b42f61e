//! Decoding: every type in both byte orders and two ABIs, event headers, markers, metadata.

use tracemark_format::{
    marker::DisplayHint, types::AbiInt, Abi, ByteOrder, EnumMapping, EnvEntry, EnvValue, EventClass, Field,
    IntType, Layout, Record, TypeDesc,
};

use super::*;
use crate::{Declaration, Integer, MalformedReason, Value};

fn enum_mapping(label: &str, lo: u64, hi: u64) -> EnumMapping {
    EnumMapping { label: label.into(), lo, hi }
}

fn all_fields() -> Vec<Field> {
    let mut fields = vec![
        Field::new("flag", TypeDesc::Bool),
        Field::new("u_8", TypeDesc::Int(IntType::U8)),
        Field::new("u_16", TypeDesc::Int(IntType::U16)),
        Field::new("u_32", TypeDesc::Int(IntType::U32)),
        Field::new("u_64", TypeDesc::Int(IntType::U64)),
        Field::new("i_8", TypeDesc::Int(IntType::I8)),
        Field::new("i_16", TypeDesc::Int(IntType::I16)),
        Field::new("i_32", TypeDesc::Int(IntType::I32)),
        Field::new("i_64", TypeDesc::Int(IntType::I64)),
        Field::new("f_32", TypeDesc::F32),
        Field::new("f_64", TypeDesc::F64),
    ];
    for (index, abi_int) in AbiInt::ALL.iter().enumerate() {
        fields.push(Field::new(format!("abi_{index}"), TypeDesc::Int(IntType::Abi(*abi_int))));
    }
    fields.extend([
        Field::new("text", TypeDesc::String),
        Field::new("bad_text", TypeDesc::String),
        Field::new("data", TypeDesc::Blob),
        Field::new("arr", TypeDesc::array(3, TypeDesc::Int(IntType::U16))),
        Field::new(
            "seq",
            TypeDesc::sequence(TypeDesc::Struct(vec![
                Field::new("x", TypeDesc::Int(IntType::I8)),
                Field::new("name", TypeDesc::String),
            ])),
        ),
        Field::new(
            "color",
            TypeDesc::Enum {
                repr: IntType::I32,
                mappings: vec![enum_mapping("RED", 0, 0), enum_mapping("NEG", -5i64 as u64, -1i64 as u64)],
            },
        ),
        Field::new(
            "mode",
            TypeDesc::Enum {
                repr: IntType::Abi(AbiInt::ULong),
                mappings: vec![enum_mapping("LOW", 0, 9), enum_mapping("HIGH", 10, u64::MAX)],
            },
        ),
        Field::new("unmapped", TypeDesc::Enum { repr: IntType::U8, mappings: vec![enum_mapping("A", 1, 1)] }),
        Field::new(
            "nested",
            TypeDesc::Struct(vec![
                Field::new("inner", TypeDesc::Struct(vec![Field::new("z", TypeDesc::Int(IntType::U8))])),
                Field::new("ok", TypeDesc::Bool),
            ]),
        ),
    ]);
    fields
}

fn mask(size: u8) -> u64 {
    if size == 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

/// The payload of `all_fields` under `abi`, and the values expected back.
fn all_values(abi: &Abi) -> (Vec<u8>, Vec<(String, Value<'static>)>) {
    let order = abi.byte_order;
    let mut payload = Payload::new(order)
        .u8(1)
        .u8(0xFE)
        .u16(0xBEEF)
        .u32(0xDEAD_BEEF)
        .u64(u64::MAX - 1)
        .u8(0x80)
        .u16(0xFFFE)
        .u32(0x8000_0000)
        .u64(i64::MIN as u64)
        .u32(1.5f32.to_bits())
        .u64((-2.25f64).to_bits());
    let mut expected: Vec<(String, Value<'static>)> = vec![
        ("flag".into(), Value::Bool(true)),
        ("u_8".into(), Value::Unsigned(0xFE)),
        ("u_16".into(), Value::Unsigned(0xBEEF)),
        ("u_32".into(), Value::Unsigned(0xDEAD_BEEF)),
        ("u_64".into(), Value::Unsigned(u64::MAX - 1)),
        ("i_8".into(), Value::Signed(-128)),
        ("i_16".into(), Value::Signed(-2)),
        ("i_32".into(), Value::Signed(i32::MIN.into())),
        ("i_64".into(), Value::Signed(i64::MIN)),
        ("f_32".into(), Value::F32(1.5)),
        ("f_64".into(), Value::F64(-2.25)),
    ];
    for (index, abi_int) in AbiInt::ALL.iter().enumerate() {
        let size = abi_int.size(abi);
        let raw = 0xFFFF_FFFF_FFFF_FFF0u64 | index as u64;
        payload = payload.uint(raw, size as usize);
        let truncated = raw & mask(size);
        let value =
            if abi_int.is_signed() { Value::Signed(-16 + index as i64) } else { Value::Unsigned(truncated) };
        expected.push((format!("abi_{index}"), value));
    }
    let payload = payload
        .string("héllo".as_bytes())
        .string(b"\xff\xfe")
        .u32(3)
        .raw(&[0, 1, 2])
        .u16(1)
        .u16(2)
        .u16(0xFFFF)
        .u32(2)
        .u8(0xFF)
        .string(b"a")
        .u8(7)
        .string(b"")
        .u32(-3i32 as u32)
        .uint(12, abi.long as usize)
        .u8(9)
        .u8(5)
        .u8(0);
    expected.extend([
        ("text".into(), Value::Str("héllo".as_bytes())),
        ("bad_text".into(), Value::Str(b"\xff\xfe")),
        ("data".into(), Value::Blob(&[0, 1, 2])),
        ("arr".into(), Value::Array(vec![Value::Unsigned(1), Value::Unsigned(2), Value::Unsigned(0xFFFF)])),
        (
            "seq".into(),
            Value::Sequence(vec![
                Value::Struct(vec![("x", Value::Signed(-1)), ("name", Value::Str(b"a"))]),
                Value::Struct(vec![("x", Value::Signed(7)), ("name", Value::Str(b""))]),
            ]),
        ),
        ("color".into(), Value::Enum { value: Integer::Signed(-3), label: Some("NEG") }),
        ("mode".into(), Value::Enum { value: Integer::Unsigned(12), label: Some("HIGH") }),
        ("unmapped".into(), Value::Enum { value: Integer::Unsigned(9), label: None }),
        (
            "nested".into(),
            Value::Struct(vec![
                ("inner", Value::Struct(vec![("z", Value::Unsigned(5))])),
                ("ok", Value::Bool(false)),
            ]),
        ),
    ]);
    (payload.done(), expected)
}

#[test]
fn every_type_decodes_in_both_byte_orders_and_abis() {
    for abi in [
        Abi::lp64(ByteOrder::Little),
        Abi::lp64(ByteOrder::Big),
        Abi::ilp32(ByteOrder::Little),
        Abi::ilp32(ByteOrder::Big),
    ] {
        let builder = TraceBuilder::new(abi).class(5, "everything", all_fields());
        let (payload, expected) = all_values(&abi);
        let mut bytes = builder.metadata_packet();
        bytes.extend(
            builder.packet(0, 0, 0, 100).event(5, 150, &payload).event(5, 160, &payload).build(&builder),
        );
        let trace = Trace::from_bytes(bytes).unwrap();
        assert!(trace.diagnostics().is_empty(), "{:?}", trace.diagnostics());
        let items: Vec<_> = trace.events().collect();
        assert_eq!(items.len(), 2, "{abi:?}: {items:?}");
        let event = items[0].clone().event().unwrap();
        assert_eq!((event.name(), event.id(), event.timestamp()), ("everything", 5, 150));
        assert_eq!(event.unix_ns(), Some(1_000_000_150));
        assert_eq!(event.fields().len(), expected.len());
        for ((name, value), (expected_name, expected_value)) in event.fields().iter().zip(&expected) {
            assert_eq!((name, value), (&expected_name.as_str(), expected_value), "{abi:?}");
        }
        assert_eq!(event.field("bad_text").unwrap().as_str().unwrap(), "\u{fffd}\u{fffd}");
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["fields"]["data"], "000102");
        assert_eq!(json["fields"]["bad_text"], "\u{fffd}\u{fffd}");
        assert_eq!(json["fields"]["color"]["label"], "NEG");
        assert_eq!(json["unix_ns"], 1_000_000_150i64);
        assert_eq!(event.record_bytes().len(), 8 + payload.len());
    }
}

#[test]
fn compact_and_extended_headers_reconstruct_timestamps_across_a_48_bit_wrap() {
    for abi in [Abi::lp64(ByteOrder::Little), Abi::lp64(ByteOrder::Big)] {
        let builder = TraceBuilder::new(abi)
            .class(1, "small", vec![Field::new("v", TypeDesc::Int(IntType::U8))])
            .class(0x12345, "big_id", vec![]);
        let near_wrap = (1u64 << 48) - 3;
        let timestamps = [
            near_wrap,       // compact, first
            (1 << 48) + 2,   // compact across the low-bits wrap
            (2 << 48) + 2,   // a jump of exactly 2^48: extended
            (2 << 48) + 100, // compact again
        ];
        let mut packet = builder.packet(0, 0, 0, near_wrap - 10);
        for &timestamp in &timestamps {
            packet = packet.event(1, timestamp, &[7]);
        }
        packet = packet.event(0x12345, (2 << 48) + 100, &[]);
        let sizes: Vec<usize> = {
            let mut previous = near_wrap - 10;
            timestamps
                .iter()
                .map(|&timestamp| {
                    let len = HeaderWord::Wide.encoded_len(1, timestamp, previous);
                    previous = timestamp;
                    len
                })
                .collect()
        };
        assert_eq!(sizes, [8, 8, 20, 8]);
        let mut bytes = builder.metadata_packet();
        bytes.extend(packet.build(&builder));
        let trace = Trace::from_bytes(bytes).unwrap();
        let events = events(&trace);
        let decoded: Vec<_> = events.iter().map(|event| (event.id(), event.timestamp())).collect();
        let mut expected: Vec<_> = timestamps.iter().map(|&timestamp| (1, timestamp)).collect();
        expected.push((0x12345, (2 << 48) + 100));
        assert_eq!(decoded, expected);
        assert!(diagnostics(&trace).is_empty());
    }
}

#[test]
fn narrow_headers_reconstruct_timestamps_across_a_24_bit_wrap_and_escape_large_ids() {
    for abi in [Abi::lp64(ByteOrder::Little), Abi::lp64(ByteOrder::Big)] {
        let builder = TraceBuilder::new(abi)
            .class(1, "small", vec![Field::new("v", TypeDesc::Int(IntType::U8))])
            .class(0xFE, "last_compact", vec![])
            .class(0xFF, "escape_id", vec![])
            .class(0x1234, "big_id", vec![]);
        let near_wrap = (5u64 << 24) - 3;
        // (id, timestamp, header bytes): 4 compact, 16 extended (§5.1).
        let records = [
            (1, near_wrap, 4),
            (1, (5 << 24) + 2, 4),    // across the low-bits wrap
            (0xFE, (6 << 24) + 1, 4), // a gap of 2^24 - 1
            (1, (7 << 24) + 1, 16),   // a gap of exactly 2^24
            (0xFF, (7 << 24) + 1, 16),
            (0x1234, (7 << 24) + 2, 16),
            (1, (7 << 24) + 3, 4),
        ];
        let mut packet = builder.packet(0, 0, 0, near_wrap - 10).narrow();
        for &(id, timestamp, _) in &records {
            packet = packet.event(id, timestamp, if id == 1 { &[7] } else { &[] });
        }
        let mut bytes = builder.metadata_packet();
        bytes.extend(packet.build(&builder));
        let trace = Trace::from_bytes(bytes).unwrap();
        let decoded: Vec<_> = events(&trace)
            .iter()
            .map(|event| (event.id(), event.timestamp(), event.record_bytes().len() - event.payload().len()))
            .collect();
        assert_eq!(decoded, records);
        assert!(diagnostics(&trace).is_empty());
    }
}

#[test]
fn a_damaged_narrow_header_ends_its_packet_and_the_next_one_is_read() {
    let builder = TraceBuilder::new(Abi::lp64(ByteOrder::Little)).class(1, "e", vec![]);
    // An escape word with timestamp bits set (§5.3); three bytes, too few for a word.
    let cases = [
        (vec![1, 0, 0, 0xFF], MalformedReason::ExtendedHeaderBits),
        (vec![1, 2, 3], MalformedReason::HeaderPastEnd { remaining: 3 }),
    ];
    for (damage, reason) in cases {
        let mut bytes = builder.metadata_packet();
        bytes.extend(builder.packet(0, 0, 0, 10).narrow().event(1, 11, &[]).raw(&damage).build(&builder));
        bytes.extend(builder.packet(0, 0, 1, 20).narrow().event(1, 21, &[]).build(&builder));
        let trace = Trace::from_bytes(bytes).unwrap();
        assert_eq!(timestamps(&trace), [11, 21], "{reason:?}");
        let kinds: Vec<_> = diagnostics(&trace).into_iter().map(|diagnostic| diagnostic.kind).collect();
        assert_eq!(kinds, [DiagnosticKind::Malformed { event_id: None, reason: reason.clone() }]);
    }
}

#[test]
fn markers_decode_with_their_format_and_expose_display_hints() {
    let abi = Abi::ilp32(ByteOrder::Big);
    let builder = TraceBuilder::new(abi).record(Record::EventClass(EventClass::new(
        3,
        0,
        "my_marker",
        Layout::Marker("pid %d addr %p name %s c %c ratio %f mode %o".into()),
    )));
    let payload = Payload::new(abi.byte_order)
        .u32(-7i32 as u32)
        .u32(0xC0DE_0000)
        .string(b"init")
        .u8(b'x')
        .u64(0.5f64.to_bits())
        .u32(8)
        .done();
    let mut bytes = builder.metadata_packet();
    bytes.extend(builder.packet(0, 2, 0, 10).event(3, 11, &payload).build(&builder));
    let trace = Trace::from_bytes(bytes).unwrap();
    let events = events(&trace);
    let event = &events[0];
    use DisplayHint::*;
    assert_eq!(event.display_hints(), Some(&[Natural, Hex, Natural, Char, Natural, Octal][..]));
    assert_eq!(
        event.to_string(),
        "[11] 0/2 my_marker: pid = -7, addr = 0xc0de0000, name = \"init\", c = 'x', ratio = 0.5, mode = 010"
    );
    assert_eq!(trace.metadata().display_hints(3).map(<[_]>::len), Some(6));
}

#[test]
fn bad_bool_and_payload_overruns_are_malformed_and_skip_the_rest_of_the_packet() {
    let abi = Abi::lp64(ByteOrder::Little);
    let cases: Vec<(Vec<Field>, Vec<u8>, MalformedReason)> = vec![
        (vec![Field::new("b", TypeDesc::Bool)], vec![2], MalformedReason::BadBool(2)),
        (
            vec![Field::new("s", TypeDesc::String)],
            b"no terminator".to_vec(),
            MalformedReason::UnterminatedString,
        ),
        (
            vec![Field::new("q", TypeDesc::sequence(TypeDesc::Int(IntType::U32)))],
            Payload::new(ByteOrder::Little).u32(3).u32(1).u32(2).done(),
            MalformedReason::SequencePastEnd { count: 3, min_element_size: 4, remaining: 8 },
        ),
        (
            vec![Field::new("blob", TypeDesc::Blob)],
            Payload::new(ByteOrder::Little).u32(0xFFFF_FFFF).raw(&[1, 2, 3]).done(),
            MalformedReason::BlobPastEnd { len: 0xFFFF_FFFF, remaining: 3 },
        ),
        (
            vec![Field::new("a", TypeDesc::array(u32::MAX, TypeDesc::Int(IntType::U64)))],
            vec![0; 16],
            // Fixed-size classes are checked as a whole before any field is read.
            MalformedReason::PastEnd { needed: u64::from(u32::MAX) * 8, remaining: 16 },
        ),
        (
            vec![
                Field::new("s", TypeDesc::String),
                Field::new("a", TypeDesc::array(u32::MAX, TypeDesc::Int(IntType::U64))),
            ],
            Payload::new(ByteOrder::Little).string(b"x").u64(1).done(),
            MalformedReason::ArrayPastEnd { len: u32::MAX, min_element_size: 8, remaining: 8 },
        ),
        (
            vec![Field::new("q", TypeDesc::sequence(TypeDesc::String))],
            Payload::new(ByteOrder::Little).u32(u32::MAX).done(),
            MalformedReason::SequencePastEnd { count: u32::MAX, min_element_size: 1, remaining: 0 },
        ),
        (
            vec![Field::new("x", TypeDesc::Int(IntType::U64))],
            vec![1, 2, 3],
            MalformedReason::PastEnd { needed: 8, remaining: 3 },
        ),
    ];
    for (fields, bad_payload, reason) in cases {
        let builder = TraceBuilder::new(abi)
            .class(1, "good", vec![Field::new("v", TypeDesc::Int(IntType::U8))])
            .class(2, "bad", fields);
        let mut bytes = builder.metadata_packet();
        // The bad record is last in the content, so its overrun is past `content_size`.
        bytes.extend(
            builder
                .packet(0, 0, 0, 10)
                .event(1, 11, &[1])
                .event(1, 12, &[2])
                .event(2, 13, &bad_payload)
                .build(&builder),
        );
        bytes.extend(builder.packet(0, 0, 1, 20).event(1, 21, &[3]).build(&builder));
        let trace = Trace::from_bytes(bytes).unwrap();
        let seen = collect(trace.events());
        let kinds: Vec<_> = seen
            .iter()
            .map(|item| match item {
                Seen::Event { timestamp, .. } => format!("event {timestamp}"),
                Seen::Diagnostic(kind) => format!("{kind:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "event 11".to_string(),
                "event 12".into(),
                format!("{:?}", DiagnosticKind::Malformed { event_id: Some(2), reason: reason.clone() }),
                "event 21".into(),
            ],
            "{reason:?}"
        );
    }
}

#[test]
fn metadata_problems_are_diagnostics_and_the_rest_is_kept() {
    let abi = Abi::lp64(ByteOrder::Little);
    let mut bad_identity = EventClass::new(4, 0, "tampered", Layout::Fields(vec![]));
    bad_identity.identity ^= 1;
    let builder = TraceBuilder::new(abi)
        .class(1, "first", vec![Field::new("v", TypeDesc::Int(IntType::U8))])
        .class(1, "first", vec![Field::new("v", TypeDesc::Int(IntType::U8))])
        .class(1, "second", vec![Field::new("v", TypeDesc::Int(IntType::U16))])
        .class(2, "broken", vec![Field::new("v", TypeDesc::Int(IntType::U8))])
        .record(Record::EventClass(bad_identity))
        .record(Record::Env(EnvEntry { key: "cpus".into(), value: EnvValue::Int(2) }))
        .record(Record::Env(EnvEntry { key: "cpus".into(), value: EnvValue::Int(4) }))
        .record(Record::Unknown { kind: 0x8001, body_len: 5 });
    // Break class 2's type code (U8 = 0x02, the last byte of its record): 0x7E is unknown.
    let mut content = Vec::new();
    for record in &builder.records[..7] {
        record.encode(abi.byte_order, &mut content).unwrap();
    }
    assert_eq!(content.last(), Some(&0x02));
    *content.last_mut().unwrap() = 0x7E;
    for record in &builder.records[7..] {
        record.encode(abi.byte_order, &mut content).unwrap();
    }
    let mut bytes = builder.finish(&mut PacketHeader::new_metadata(UUID), content, 0);
    bytes.extend(builder.packet(0, 0, 0, 10).event(1, 11, &[9]).event(2, 12, &[1]).build(&builder));
    let trace = Trace::from_bytes(bytes).unwrap();
    let open: Vec<_> = trace.diagnostics().iter().map(|diagnostic| &diagnostic.kind).collect();
    assert!(
        matches!(
            open.as_slice(),
            [
                DiagnosticKind::ConflictingDeclaration { what: Declaration::EventClass, id: 1 },
                DiagnosticKind::Metadata(error),
                DiagnosticKind::IdentityMismatch { id: 4, .. },
            ] if error.event_id == Some(2)
        ),
        "{open:?}"
    );
    let metadata = trace.metadata();
    assert_eq!(metadata.event_class(1).unwrap().name, "first");
    assert_eq!(metadata.undecodable_event_ids().collect::<Vec<_>>(), [2]);
    assert_eq!(metadata.env_value("cpus"), Some(&EnvValue::Int(4)));
    assert_eq!(metadata.env().len(), 1);
    let seen = collect(trace.events());
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(matches!(&seen[3], Seen::Event { name, .. } if name == "first"));
    assert_eq!(seen[4], Seen::Diagnostic(DiagnosticKind::UndecodableEvent { id: 2 }));
}

#[test]
fn summary_describes_the_trace() {
    let abi = Abi::ilp32(ByteOrder::Big);
    let builder = TraceBuilder::new(abi).class(1, "e", vec![]);
    let mut bytes = builder.metadata_packet();
    bytes.extend(builder.packet(0, 1, 0, 10).event(1, 11, &[]).discarded(2).build(&builder));
    bytes.extend(builder.packet(0, 1, 1, 20).event(1, 21, &[]).discarded(5).build(&builder));
    bytes.extend(builder.packet(0, 0, 0, 10).event(1, 12, &[]).build(&builder));
    let trace = Trace::from_bytes(bytes).unwrap();
    let summary = trace.summary();
    assert_eq!(summary.version.to_string(), "1.1");
    assert!(!summary.newer_minor);
    assert_eq!((summary.data_packets, summary.metadata_packets, summary.discarded), (3, 1, 5));
    assert_eq!(summary.streams.len(), 2);
    assert_eq!(summary.streams[1].packets, 2);
    assert_eq!(summary.streams[1].name, Some("kernel"));
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["trace"]["abi"]["long"], 4);
    assert_eq!(json["trace"]["abi"]["byte_order"], "big");
    assert_eq!(json["trace"]["uuid"], "42424242-4242-4242-4242-424242424242");
    assert_eq!(json["event_classes"][0]["name"], "e");
    assert_eq!(json["streams"][1]["discarded"], 5);
    assert_eq!(json["version"], "1.1");
}

#[test]
fn a_newer_minor_version_is_read_and_noted() {
    let builder = TraceBuilder::new(Abi::lp64(ByteOrder::Little)).class(1, "e", vec![]);
    let mut content = Vec::new();
    for record in &builder.records {
        record.encode(builder.order, &mut content).unwrap();
    }
    let mut header = PacketHeader { version_minor: 4, ..PacketHeader::new_metadata(UUID) };
    let mut bytes = builder.finish(&mut header, content, 0);
    bytes.extend(builder.packet(0, 0, 0, 1).event(1, 2, &[]).build(&builder));
    let trace = Trace::from_bytes(bytes).unwrap();
    assert_eq!(trace.version().to_string(), "1.4");
    assert!(trace.version().is_newer_than_reader());
    assert_eq!(timestamps(&trace), [2]);
}

/// A packet of more records than a batch holds is read a slice at a time
/// (`batch::MAX_BATCH_RECORDS`): every record delivered in order by every way of reading, a
/// timestamp going back at the first record of a slice reported against the last of the slice
/// before, a malformed record in the last slice ending the packet, and the index counting all.
#[test]
fn a_packet_of_more_records_than_a_batch_is_read_in_slices() {
    use crate::batch::MAX_BATCH_RECORDS;
    for narrow in [false, true] {
        let builder = TraceBuilder::new(Abi::lp64(ByteOrder::Little)).class(
            1,
            "tick",
            vec![Field::new("v", TypeDesc::Int(IntType::U8))],
        );
        let total = 2 * MAX_BATCH_RECORDS + 5;
        let mut packet = builder.packet(0, 0, 0, 100);
        if narrow {
            packet = packet.narrow();
        }
        let mut expected = Vec::new();
        for index in 0..total {
            // The first record of the second slice goes back by one tick.
            let timestamp =
                if index == MAX_BATCH_RECORDS { 100 + index as u64 - 2 } else { 100 + index as u64 };
            packet = packet.event(1, timestamp, &[index as u8]);
            expected.push(timestamp);
        }
        // A record of an undeclared class ends the packet in its last slice.
        let mut bytes = builder.metadata_packet();
        bytes.extend(packet.event(9, 100 + total as u64, &[]).build(&builder));
        let trace = Trace::from_bytes(bytes).unwrap();
        assert_eq!(timestamps(&trace), expected, "narrow {narrow}");
        let kinds: Vec<_> = diagnostics(&trace).into_iter().map(|diagnostic| diagnostic.kind).collect();
        let back = DiagnosticKind::TimestampBackwards {
            previous: 100 + MAX_BATCH_RECORDS as u64 - 1,
            found: 100 + MAX_BATCH_RECORDS as u64 - 2,
        };
        assert_eq!(kinds, [back, DiagnosticKind::UndeclaredEvent { id: 9 }], "narrow {narrow}");
        let pipelined: Vec<u64> = trace
            .with_events(2, |items| items.filter_map(Item::event).map(|event| event.timestamp()).collect());
        assert_eq!(pipelined, expected, "narrow {narrow}: pipelined");
        let values: Vec<u64> =
            events(&trace).iter().map(|event| event.value("v").and_then(|v| v.as_u64()).unwrap()).collect();
        assert!(values.iter().enumerate().all(|(index, &v)| v == index as u64 % 256));
        assert_eq!(trace.count_events(2).events, total as u64);
        let index = trace.build_indexes().remove(0).index.unwrap();
        let records: Vec<u32> =
            index.entries.iter().filter(|entry| !entry.is_metadata()).map(|e| e.record_count).collect();
        assert_eq!(records, [total as u32], "narrow {narrow}");
    }
}
