//! One test vector per reader limit of spec §13, built from a description by the format
//! crate's encoders and checked in under `fuzz/vectors/limits/`.
//!
//! Each vector is a small single-file trace whose length or count fields claim far more than
//! the file holds, or whose declarations would make a decoder recurse or loop without end.
//! The test `fuzz/entry/tests/limits.rs` regenerates every vector and compares it with the
//! file byte for byte (`TRACEMARK_UPDATE_VECTORS=1` rewrites them), reads it with the reader
//! under [`crate::alloc_guard::measure`], checks the report expected here, and checks that
//! memory and time stayed small.

use tracemark_format::{
    metadata::{kind, ENVELOPE_LEN},
    Abi, ByteOrder, ClockClass, EventClass, Field, IntType, Layout, PacketHeader, Record, StreamClass,
    TraceInfo, TypeDesc, PACKET_HEADER_LEN,
};
use tracemark_reader::{DiagnosticKind, Item, MalformedReason, Trace, Value};

use crate::decoders::metadata_packet;

/// The byte order of every vector.
const ORDER: ByteOrder = ByteOrder::Little;
/// "Four gigabytes": the largest `u32` length or count.
const HUGE: u32 = u32::MAX;

/// A reader limit and the vector exercising it.
#[derive(Debug, Clone, Copy)]
pub struct LimitVector {
    /// File stem under `fuzz/vectors/limits/` (`.tmk`).
    pub name: &'static str,
    /// The section of the limit, e.g. `12.2`.
    pub section: &'static str,
    /// What the vector claims and what a reader must do.
    pub what: &'static str,
    /// Builds the vector's bytes.
    pub build: fn() -> Vec<u8>,
    /// Checks what the reader reports: the events and diagnostics of [`Trace::events`].
    pub expect: fn(&Trace, &[Item<'_>]) -> Result<(), String>,
}

/// Every limit vector.
pub const LIMIT_VECTORS: [LimitVector; 12] = [
    LimitVector {
        name: "blob-length-4gib",
        section: "13.2",
        what: "blob length 4 GiB, 4 bytes left: BlobPastEnd, nothing allocated",
        build: blob_length,
        expect: expect_blob_length,
    },
    LimitVector {
        name: "sequence-count-4g",
        section: "13.2",
        what: "sequence of u64, count 2^32 - 1: SequencePastEnd before any element",
        build: sequence_count,
        expect: expect_sequence_count,
    },
    LimitVector {
        name: "array-length-4g",
        section: "13.2",
        what: "array of 2^32 - 1 strings, 4 bytes left: ArrayPastEnd",
        build: array_length,
        expect: expect_array_length,
    },
    LimitVector {
        name: "metadata-body-4gib",
        section: "13.2",
        what: "metadata body_len 4 GiB: truncated, the records before it kept",
        build: metadata_body,
        expect: expect_metadata_body,
    },
    LimitVector {
        name: "metadata-string-64kib",
        section: "13.2",
        what: "ENV key of length 65535, 1 byte present: truncated",
        build: metadata_string,
        expect: expect_metadata_string,
    },
    LimitVector {
        name: "field-count-65535",
        section: "13.2",
        what: "field count 65535, 1 field present: undecodable, nothing reserved",
        build: field_count,
        expect: expect_field_count,
    },
    LimitVector {
        name: "nesting-depth-33",
        section: "13.3",
        what: "33 nested sequences: TooDeep (§6.7), its records undecodable",
        build: nesting_33,
        expect: expect_nesting_33,
    },
    LimitVector {
        name: "nesting-depth-32",
        section: "13.3",
        what: "32 nested sequences, the deepest allowed: decoded",
        build: nesting_32,
        expect: expect_nesting_32,
    },
    LimitVector {
        name: "zero-size-element",
        section: "13.4",
        what: "sequence of empty structs, count 2^32 - 1: ZeroSizedElement, no loop",
        build: zero_size_element,
        expect: expect_zero_size_element,
    },
    LimitVector {
        name: "zero-size-inside-element",
        section: "13.4",
        what: "array of 2^32 - 1 structs {empty bool array, u8}: ZeroSizedElement, no loop",
        build: zero_size_inside_element,
        expect: expect_zero_size_element,
    },
    LimitVector {
        name: "zero-size-two-levels-down",
        section: "13.4",
        what: "sequence of structs {struct {empty struct}, u8}, count 2^32 - 1: ZeroSizedElement",
        build: zero_size_two_levels_down,
        expect: expect_zero_size_element,
    },
    LimitVector {
        name: "resync-64kib-garbage",
        section: "13.4",
        what: "64 KiB of garbage between packets: resynchronized, next packet read",
        build: resync_garbage,
        expect: expect_resync_garbage,
    },
];

// ---- Building ---------------------------------------------------------------------------

fn header_records() -> Vec<Record> {
    vec![
        Record::Trace(TraceInfo {
            uuid: [0; 16],
            abi: Abi::lp64(ORDER),
            os_name: "limits".into(),
            os_release: "1".into(),
            architecture: "any".into(),
            hostname: "fuzz".into(),
            tracer_name: "tracemark-fuzz".into(),
            tracer_version: "1".into(),
        }),
        Record::Clock(ClockClass {
            id: 0,
            frequency: 1_000_000_000,
            offset_ns: 0,
            precision: 0,
            name: "ns".into(),
            description: String::new(),
        }),
        Record::StreamClass(StreamClass { id: 0, clock_id: 0, name: "s".into() }),
    ]
}

fn class(id: u32, name: &str, fields: Vec<Field>) -> Record {
    Record::EventClass(EventClass::new(id, 0, name, Layout::Fields(fields)))
}

/// The metadata packet: the TRACE, CLOCK and STREAM_CLASS records, `records`, then `raw`.
fn metadata(records: &[Record], raw: &[u8]) -> Vec<u8> {
    let mut content = Vec::new();
    for record in header_records().iter().chain(records) {
        record.encode(ORDER, &mut content).expect("vector records encode");
    }
    content.extend_from_slice(raw);
    metadata_packet(&content, ORDER)
}

/// A record envelope (§7.2) with `body` and a `body_len` of `claimed`.
fn raw_record(record_kind: u16, claimed: u32, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&ORDER.u16_bytes(record_kind));
    bytes.extend_from_slice(&[0, 0]);
    bytes.extend_from_slice(&ORDER.u32_bytes(claimed));
    bytes.extend_from_slice(body);
    bytes
}

/// A compact event record (§5.2) of class `id` at `timestamp` (below 2^48).
fn event(id: u16, timestamp: u64, payload: &[u8]) -> Vec<u8> {
    let mut bytes = ORDER.u64_bytes((u64::from(id) << 48) | timestamp).to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// A data packet of stream 0/0, sequence 0, from 0 to 1000, without CRC.
fn data_packet(records: &[u8]) -> Vec<u8> {
    let content_size = PACKET_HEADER_LEN + records.len();
    let packet_size = content_size.next_multiple_of(8);
    let header = PacketHeader {
        timestamp_begin: 0,
        timestamp_end: 1_000,
        content_size: content_size as u32,
        packet_size: packet_size as u32,
        ..PacketHeader::new_data([0; 16], 0, 0)
    };
    let mut packet = vec![0u8; packet_size];
    let mut fixed = [0u8; PACKET_HEADER_LEN];
    header.encode(ORDER, &mut fixed);
    packet[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
    packet[PACKET_HEADER_LEN..content_size].copy_from_slice(records);
    packet
}

/// A trace: the metadata packet, then one data packet holding `records`.
fn trace(records: &[Record], raw_metadata: &[u8], data_records: &[u8]) -> Vec<u8> {
    let mut bytes = metadata(records, raw_metadata);
    bytes.extend(data_packet(data_records));
    bytes
}

fn u32_then(value: u32, rest: &[u8]) -> Vec<u8> {
    let mut bytes = ORDER.u32_bytes(value).to_vec();
    bytes.extend_from_slice(rest);
    bytes
}

fn blob_length() -> Vec<u8> {
    let fields = vec![Field::new("data", TypeDesc::Blob)];
    trace(&[class(1, "blob", fields)], &[], &event(1, 10, &u32_then(HUGE, b"abcd")))
}

fn sequence_count() -> Vec<u8> {
    let fields = vec![Field::new("values", TypeDesc::sequence(TypeDesc::Int(IntType::U64)))];
    trace(&[class(1, "sequence", fields)], &[], &event(1, 10, &u32_then(HUGE, &[7; 8])))
}

fn array_length() -> Vec<u8> {
    let fields = vec![Field::new("names", TypeDesc::array(HUGE, TypeDesc::String))];
    trace(&[class(1, "array", fields)], &[], &event(1, 10, b"a\0b\0"))
}

fn metadata_body() -> Vec<u8> {
    let fields = vec![Field::new("n", TypeDesc::Int(IntType::U32))];
    let unknown = raw_record(0x7FFF, HUGE, &[0; 8]);
    trace(&[class(1, "tick", fields)], &unknown, &event(1, 10, &[1, 0, 0, 0]))
}

fn metadata_string() -> Vec<u8> {
    // ENV: key = str (u16 length 0xFFFF, then 1 byte), value kind, value: cut short.
    let mut body = ORDER.u16_bytes(u16::MAX).to_vec();
    body.push(b'k');
    let env = raw_record(kind::ENV, body.len() as u32, &body);
    trace(&[], &env, &[])
}

fn field_count() -> Vec<u8> {
    // EVENT_CLASS 1 "wide": a field count of 65535, then a single field.
    let declared = EventClass::new(1, 0, "wide", Layout::Fields(vec![Field::new("a", TypeDesc::Bool)]));
    let mut body = Vec::new();
    Record::EventClass(declared).encode(ORDER, &mut body).expect("encodes");
    let body = body.split_off(ENVELOPE_LEN);
    // The field count follows id, stream class, log level, layout kind, identity and name.
    let count_at = 4 + 4 + 1 + 1 + 8 + 2 + "wide".len();
    let mut body = body;
    body[count_at..count_at + 2].copy_from_slice(&ORDER.u16_bytes(u16::MAX));
    let record = raw_record(kind::EVENT_CLASS, body.len() as u32, &body);
    trace(&[], &record, &event(1, 10, &[1]))
}

fn nested(levels: usize) -> TypeDesc {
    (0..levels).fold(TypeDesc::Int(IntType::U8), |inner, _| TypeDesc::sequence(inner))
}

fn nesting_33() -> Vec<u8> {
    let fields = vec![Field::new("deep", nested(33))];
    trace(&[class(1, "deep", fields)], &[], &event(1, 10, &[0; 4]))
}

fn nesting_32() -> Vec<u8> {
    // Each level: a count of 1; the innermost element, a u8, is 0x2A.
    let mut payload = Vec::new();
    for _ in 0..32 {
        payload.extend_from_slice(&ORDER.u32_bytes(1));
    }
    payload.push(0x2A);
    trace(&[class(1, "deep", vec![Field::new("deep", nested(32))])], &[], &event(1, 10, &payload))
}

fn zero_size_element() -> Vec<u8> {
    let fields = vec![Field::new("empty", TypeDesc::sequence(TypeDesc::Struct(vec![])))];
    trace(&[class(1, "empty", fields)], &[], &event(1, 10, &u32_then(HUGE, &[])))
}

/// One level down: each element takes a byte, but holds a part that takes none, which a
/// decoder would visit once per element without consuming input.
fn zero_size_inside_element() -> Vec<u8> {
    let element = TypeDesc::Struct(vec![
        Field::new("empty", TypeDesc::array(0, TypeDesc::Bool)),
        Field::new("x", TypeDesc::Int(IntType::U8)),
    ]);
    let fields = vec![Field::new("items", TypeDesc::array(HUGE, element))];
    trace(&[class(1, "hollow", fields)], &[], &event(1, 10, &[1, 2, 3, 4]))
}

fn zero_size_two_levels_down() -> Vec<u8> {
    let hollow = TypeDesc::Struct(vec![Field::new("empty", TypeDesc::Struct(vec![]))]);
    let element =
        TypeDesc::Struct(vec![Field::new("hollow", hollow), Field::new("x", TypeDesc::Int(IntType::U8))]);
    let fields = vec![Field::new("items", TypeDesc::sequence(element))];
    trace(&[class(1, "hollow", fields)], &[], &event(1, 10, &u32_then(HUGE, &[1, 2, 3, 4])))
}

/// Length of the garbage in [`resync_garbage`].
const GARBAGE: usize = 64 * 1024;

fn resync_garbage() -> Vec<u8> {
    let mut bytes = metadata(&[class(1, "tick", vec![])], &[]);
    bytes.extend(std::iter::repeat_n(0xA5, GARBAGE));
    bytes.extend(data_packet(&event(1, 10, &[])));
    bytes
}

// ---- Expectations -----------------------------------------------------------------------

fn events<'a, 't>(items: &'a [Item<'t>]) -> impl Iterator<Item = &'a tracemark_reader::Event<'t>> {
    items.iter().filter_map(|item| match item {
        Item::Event(event) => Some(event),
        Item::Diagnostic(_) => None,
    })
}

/// The diagnostics of the data: those [`Trace::events`] delivers besides the ones found
/// when opening ([`Trace::diagnostics`]), which it delivers too.
fn diagnostics<'a>(trace: &Trace, items: &'a [Item<'_>]) -> Vec<&'a tracemark_reader::Diagnostic> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Diagnostic(diagnostic) if !trace.diagnostics().contains(diagnostic) => Some(diagnostic),
            _ => None,
        })
        .collect()
}

/// Exactly one data diagnostic, no event, and `check` accepts the diagnostic.
fn only(
    trace: &Trace,
    items: &[Item<'_>],
    check: impl Fn(&tracemark_reader::Diagnostic) -> bool,
) -> Result<&'static str, String> {
    let found = diagnostics(trace, items);
    if events(items).count() != 0 || found.len() != 1 || !check(found[0]) {
        return Err(format!("expected one diagnostic and no event, got {items:#?}"));
    }
    Ok(found[0].section)
}

/// File offset of the first data record's payload in a vector whose metadata packet holds
/// `records` and `raw`.
fn payload_offset(records: &[Record], raw: &[u8]) -> u64 {
    (metadata(records, raw).len() + PACKET_HEADER_LEN + 8) as u64
}

fn malformed(
    trace: &Trace,
    items: &[Item<'_>],
    offset: u64,
    reason: impl Fn(&MalformedReason) -> bool,
) -> Result<(), String> {
    let section = only(trace, items, |diagnostic| {
        diagnostic.offset == offset
            && matches!(
                &diagnostic.kind,
                DiagnosticKind::Malformed { event_id: Some(1), reason: found } if reason(found)
            )
    })?;
    if section != "6.7" {
        return Err(format!("section {section}, expected 6.7"));
    }
    Ok(())
}

fn expect_blob_length(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    let fields = vec![Field::new("data", TypeDesc::Blob)];
    let offset = payload_offset(&[class(1, "blob", fields)], &[]);
    malformed(trace, items, offset, |reason| {
        matches!(reason, MalformedReason::BlobPastEnd { len: HUGE, remaining: 4 })
    })
}

fn expect_sequence_count(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    let fields = vec![Field::new("values", TypeDesc::sequence(TypeDesc::Int(IntType::U64)))];
    let offset = payload_offset(&[class(1, "sequence", fields)], &[]);
    malformed(trace, items, offset, |reason| {
        matches!(reason, MalformedReason::SequencePastEnd { count: HUGE, min_element_size: 8, remaining: 8 })
    })
}

fn expect_array_length(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    let fields = vec![Field::new("names", TypeDesc::array(HUGE, TypeDesc::String))];
    let offset = payload_offset(&[class(1, "array", fields)], &[]);
    malformed(trace, items, offset, |reason| {
        matches!(reason, MalformedReason::ArrayPastEnd { len: HUGE, min_element_size: 1, remaining: 4 })
    })
}

/// A metadata diagnostic of kind `Truncated` at content offset `at` of the metadata packet.
fn metadata_truncated(trace: &Trace, at: usize) -> Result<(), String> {
    let found: Vec<_> = trace.diagnostics().iter().collect();
    let expected_offset = (PACKET_HEADER_LEN + at) as u64;
    let ok = found.len() == 1
        && found[0].offset == expected_offset
        && found[0].section == "7.2"
        && matches!(&found[0].kind, DiagnosticKind::Metadata(error)
            if error.kind == tracemark_format::MetadataErrorKind::Truncated);
    if ok {
        Ok(())
    } else {
        Err(format!("expected one truncated metadata record at {expected_offset}, got {found:#?}"))
    }
}

fn header_records_len(records: &[Record]) -> usize {
    let mut content = Vec::new();
    for record in header_records().iter().chain(records) {
        record.encode(ORDER, &mut content).expect("encodes");
    }
    content.len()
}

fn expect_metadata_body(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    let fields = vec![Field::new("n", TypeDesc::Int(IntType::U32))];
    metadata_truncated(trace, header_records_len(&[class(1, "tick", fields)]))?;
    // The class before the bad record is kept: its event decodes.
    match events(items).map(|event| event.field("n").and_then(Value::as_u64)).collect::<Vec<_>>()[..] {
        [Some(1)] => Ok(()),
        _ => Err(format!("expected the tick event, got {items:#?}")),
    }
}

fn expect_metadata_string(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    // The record is cut inside its key; the offset is the record's end (its body ran short).
    let at = header_records_len(&[]);
    let found = trace.diagnostics();
    let ok = found.len() == 1
        && matches!(&found[0].kind, DiagnosticKind::Metadata(error)
            if error.kind == tracemark_format::MetadataErrorKind::Truncated)
        && found[0].offset >= (PACKET_HEADER_LEN + at) as u64;
    if !ok || events(items).count() != 0 {
        return Err(format!("expected one truncated ENV record, got {found:#?}"));
    }
    Ok(())
}

fn expect_field_count(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    if trace.metadata().undecodable_event_ids().collect::<Vec<_>>() != [1] {
        return Err("event class 1 must be undecodable".into());
    }
    only(trace, items, |diagnostic| diagnostic.kind == DiagnosticKind::UndecodableEvent { id: 1 }).map(|_| ())
}

fn expect_nesting_33(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    let too_deep = trace.diagnostics().iter().any(|diagnostic| {
        diagnostic.section == "6.7"
            && matches!(&diagnostic.kind, DiagnosticKind::Metadata(error)
                if error.kind == tracemark_format::MetadataErrorKind::TooDeep)
    });
    if !too_deep {
        return Err(format!("expected TooDeep, got {:#?}", trace.diagnostics()));
    }
    only(trace, items, |diagnostic| diagnostic.kind == DiagnosticKind::UndecodableEvent { id: 1 }).map(|_| ())
}

fn expect_nesting_32(_: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    let Some(event) = events(items).next() else { return Err(format!("no event: {items:#?}")) };
    let mut value = event.field("deep").ok_or("no field `deep`")?;
    for level in 0..32 {
        match value.elements() {
            Some([inner]) => value = inner,
            _ => return Err(format!("level {level}: {value:?}")),
        }
    }
    if value.as_u64() != Some(0x2A) || !items.iter().all(|item| matches!(item, Item::Event(_))) {
        return Err(format!("innermost value {value:?}, items {items:#?}"));
    }
    Ok(())
}

fn expect_zero_size_element(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    let rejected = trace.diagnostics().iter().any(|diagnostic| {
        matches!(&diagnostic.kind, DiagnosticKind::Metadata(error)
            if error.kind == tracemark_format::MetadataErrorKind::ZeroSizedElement)
    });
    if !rejected {
        return Err(format!("expected ZeroSizedElement, got {:#?}", trace.diagnostics()));
    }
    only(trace, items, |diagnostic| diagnostic.kind == DiagnosticKind::UndecodableEvent { id: 1 }).map(|_| ())
}

fn expect_resync_garbage(trace: &Trace, items: &[Item<'_>]) -> Result<(), String> {
    let start = metadata(&[class(1, "tick", vec![])], &[]).len() as u64;
    let found = diagnostics(trace, items);
    let bad_header = found.iter().any(|diagnostic| {
        diagnostic.offset == start && matches!(diagnostic.kind, DiagnosticKind::BadHeader(_))
    });
    let resynchronized = found.iter().any(|diagnostic| {
        diagnostic.kind
            == DiagnosticKind::Resynchronized { skipped_bytes: GARBAGE as u64, found_header: true }
    });
    if !bad_header || !resynchronized || found.len() != 2 || events(items).count() != 1 {
        return Err(format!("expected a bad header, a resynchronization and the event, got {items:#?}"));
    }
    Ok(())
}
