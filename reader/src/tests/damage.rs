//! Damaged traces (§10): every hole is reported where it is and good data around it is kept.

use tracemark_format::{Abi, ByteOrder, Field, HeaderError, IntType, PacketHeader, TypeDesc};

use super::*;
use crate::{MalformedReason, NotATrace, OpenError};

fn builder(order: ByteOrder) -> TraceBuilder {
    TraceBuilder::new(Abi::lp64(order)).class(1, "tick", vec![Field::new("n", TypeDesc::Int(IntType::U32))])
}

/// A metadata packet and three data packets of stream 0/0: events at 10, 11 | 20, 21 | 30, 31.
fn three_packets(builder: &TraceBuilder) -> (Vec<u8>, [Vec<u8>; 3]) {
    let packet = |sequence: u64, base: u64| {
        let payload = |n: u64| Payload::new(builder.order).u32(n as u32).done();
        builder
            .packet(0, 0, sequence, base)
            .event(1, base, &payload(base))
            .event(1, base + 1, &payload(base + 1))
            .build(builder)
    };
    (builder.metadata_packet(), [packet(0, 10), packet(1, 20), packet(2, 30)])
}

fn kinds(trace: &Trace) -> Vec<String> {
    collect(trace.events())
        .into_iter()
        .map(|item| match item {
            Seen::Event { timestamp, .. } => format!("event {timestamp}"),
            Seen::Diagnostic(kind) => format!("{kind:?}"),
        })
        .collect()
}

#[test]
fn a_crc_failure_withholds_only_that_packets_events() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let builder = builder(order);
        let (metadata, [first, mut second, third]) = three_packets(&builder);
        let metadata_len = metadata.len();
        second[PACKET_HEADER_LEN + 9] ^= 0x10;
        let trace = Trace::from_bytes([metadata, first.clone(), second, third].concat()).unwrap();
        let seen = kinds(&trace);
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert_eq!(&seen[..2], ["event 10", "event 11"]);
        assert!(seen[2].starts_with("CrcMismatch"), "{seen:?}");
        assert_eq!(&seen[3..], ["event 30", "event 31"]);
        let diagnostic = diagnostics(&trace).remove(0);
        assert_eq!(diagnostic.offset, (metadata_len + first.len()) as u64);
        assert_eq!((diagnostic.sequence, diagnostic.section), (Some(1), "10.3"));
    }
}

#[test]
fn bad_magic_is_reported_and_reading_resynchronises() {
    let builder = builder(ByteOrder::Little);
    let (metadata, [first, mut second, third]) = three_packets(&builder);
    let second_len = second.len() as u64;
    second[0] = b'X';
    let trace = Trace::from_bytes([metadata, first, second, third].concat()).unwrap();
    let seen = kinds(&trace);
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert!(seen[2].starts_with("BadHeader(BadMagic"), "{seen:?}");
    assert_eq!(seen[3], format!("Resynchronized {{ skipped_bytes: {second_len}, found_header: true }}"));
    // The lost packet's sequence number is missing when the next packet arrives.
    assert_eq!(&seen[4..], ["PacketGap { missing: 1 }", "event 30", "event 31"]);
}

#[test]
fn bad_header_diagnostics_come_before_the_next_packets_events() {
    let builder = builder(ByteOrder::Little);
    let (metadata, [first, mut second, third]) = three_packets(&builder);
    second[0] = b'X';
    let trace = Trace::from_bytes([metadata, first, second, third].concat()).unwrap();
    assert_eq!(
        &kinds(&trace)[2..],
        [
            format!("{:?}", DiagnosticKind::BadHeader(HeaderError::BadMagic { found: *b"XRMK" })),
            "Resynchronized { skipped_bytes: 120, found_header: true }".into(),
            "PacketGap { missing: 1 }".into(),
            "event 30".into(),
            "event 31".into(),
        ]
    );
}

#[test]
fn content_size_beyond_packet_size_is_a_bad_header_and_resyncs() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let builder = builder(order);
        let (metadata, [first, mut second, third]) = three_packets(&builder);
        let skipped = second.len();
        let mut header = PacketHeader::decode(&second).unwrap().0;
        header.content_size = header.packet_size + 8;
        let mut fixed = [0u8; PACKET_HEADER_LEN];
        header.encode(order, &mut fixed);
        second[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
        let trace = Trace::from_bytes([metadata, first, second, third].concat()).unwrap();
        let seen = kinds(&trace);
        assert!(seen[2].starts_with("BadHeader(ContentSize"), "{seen:?}");
        assert_eq!(seen[3], format!("Resynchronized {{ skipped_bytes: {skipped}, found_header: true }}"));
        assert_eq!(&seen[4..], ["PacketGap { missing: 1 }", "event 30", "event 31"]);
        let diagnostic = diagnostics(&trace).remove(0);
        assert_eq!(diagnostic.section, "4.2");
    }
}

#[test]
fn a_truncated_last_packet_delivers_its_complete_records() {
    let builder = builder(ByteOrder::Big);
    let (metadata, [first, second, third]) = three_packets(&builder);
    let mut bytes = [metadata, first, second, third.clone()].concat();
    // Cut inside the second record of the third packet (first record: 8 + 4 bytes).
    let cut = bytes.len() - third.len() + PACKET_HEADER_LEN + 12 + 5;
    bytes.truncate(cut);
    let trace = Trace::from_bytes(bytes).unwrap();
    let seen = kinds(&trace);
    assert_eq!(
        seen[4..],
        [
            format!("TruncatedPacket {{ available: {}, needed: {} }}", PACKET_HEADER_LEN + 17, third.len()),
            "CrcUnchecked".into(),
            "event 30".into(),
        ]
    );
    assert_eq!(&seen[..4], ["event 10", "event 11", "event 20", "event 21"]);

    // A file cut inside a packet header.
    let (metadata, [first, ..]) = three_packets(&builder);
    let bytes = [metadata, first.clone(), first[..40].to_vec()].concat();
    let trace = Trace::from_bytes(bytes).unwrap();
    let seen = kinds(&trace);
    assert_eq!(seen.last().unwrap(), "TruncatedPacket { available: 40, needed: 80 }");
}

#[test]
fn undeclared_event_ids_skip_the_rest_of_the_packet_only() {
    let builder = builder(ByteOrder::Little);
    let mut bytes = builder.metadata_packet();
    let payload = Payload::new(ByteOrder::Little).u32(0).done();
    bytes.extend(
        builder
            .packet(0, 0, 0, 10)
            .event(1, 10, &payload)
            .event(77, 11, &payload)
            .event(1, 12, &payload)
            .build(&builder),
    );
    bytes.extend(builder.packet(0, 0, 1, 20).event(1, 20, &payload).build(&builder));
    let trace = Trace::from_bytes(bytes).unwrap();
    assert_eq!(kinds(&trace), ["event 10", "UndeclaredEvent { id: 77 }", "event 20"]);
    let diagnostic = diagnostics(&trace).remove(0);
    let metadata_len = builder.metadata_packet().len() as u64;
    assert_eq!(diagnostic.offset, metadata_len + PACKET_HEADER_LEN as u64 + 12);
}

#[test]
fn hostile_blob_length_is_rejected_without_allocating() {
    let builder = TraceBuilder::new(Abi::lp64(ByteOrder::Little)).class(
        2,
        "blobby",
        vec![Field::new("data", TypeDesc::Blob), Field::new("more", TypeDesc::sequence(TypeDesc::Blob))],
    );
    let mut bytes = builder.metadata_packet();
    let hostile = Payload::new(ByteOrder::Little).u32(0xFFFF_FFFF).done();
    let sane_then_hostile = Payload::new(ByteOrder::Little).u32(1).raw(&[5]).u32(0xFFFF_FFFF).done();
    bytes.extend(builder.packet(0, 0, 0, 1).event(2, 1, &hostile).build(&builder));
    bytes.extend(builder.packet(0, 0, 1, 2).event(2, 2, &sane_then_hostile).build(&builder));
    let trace = Trace::from_bytes(bytes).unwrap();
    let reasons: Vec<_> = diagnostics(&trace)
        .into_iter()
        .map(|diagnostic| match diagnostic.kind {
            DiagnosticKind::Malformed { reason, .. } => reason,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            MalformedReason::BlobPastEnd { len: 0xFFFF_FFFF, remaining: 0 },
            MalformedReason::SequencePastEnd { count: 0xFFFF_FFFF, min_element_size: 4, remaining: 0 },
        ]
    );
}

#[test]
fn foreign_and_wrong_order_packets_are_reported_and_not_decoded() {
    let builder = builder(ByteOrder::Little);
    let (metadata, [first, _, third]) = three_packets(&builder);
    let big = self::builder(ByteOrder::Big);
    let wrong_order = big.packet(0, 0, 1, 20).event(1, 20, &[0; 4]).build(&big);
    let mut foreign = builder.packet(0, 0, 1, 25).event(1, 25, &[0; 4]);
    foreign.header.trace_uuid = [9; 16];
    let foreign = foreign.build(&builder);
    let trace = Trace::from_bytes([metadata, first, wrong_order, foreign, third].concat()).unwrap();
    let seen = kinds(&trace);
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert!(seen[2].starts_with("ByteOrderMismatch"));
    assert!(seen[3].starts_with("ForeignUuid"));
    assert_eq!(&seen[4..], ["PacketGap { missing: 1 }", "event 30", "event 31"]);
}

#[test]
fn traces_that_cannot_be_opened_say_why() {
    let builder = builder(ByteOrder::Little);
    let (metadata, [first, ..]) = three_packets(&builder);

    let error = Trace::from_bytes(vec![0xAB; 200]).unwrap_err();
    assert!(matches!(
        error,
        OpenError::NotATrace {
            reason: NotATrace::NoPacket { first_error: HeaderError::BadMagic { .. } },
            ..
        }
    ));
    assert!(matches!(
        Trace::from_bytes(Vec::new()),
        Err(OpenError::NotATrace { reason: NotATrace::Empty, .. })
    ));
    assert!(matches!(
        Trace::from_bytes(first.clone()),
        Err(OpenError::NotATrace { reason: NotATrace::NoMetadataPacket, .. })
    ));

    let mut newer = metadata.clone();
    newer[4] = 2;
    let error = Trace::from_bytes([newer, first.clone()].concat()).unwrap_err();
    assert!(matches!(error, OpenError::UnsupportedVersion { found: 2, supported: [1], .. }));
    let message = error.to_string();
    assert!(message.contains("major version 2") && message.contains("[1]"), "{message}");

    // A metadata packet without TRACE.
    let no_trace = TraceBuilder { records: builder.records[1..].to_vec(), ..builder.clone() };
    let error = Trace::from_bytes([no_trace.metadata_packet(), first.clone()].concat()).unwrap_err();
    assert!(matches!(error, OpenError::NoTraceRecord { .. }), "{error}");
    assert!(error.to_string().contains("no usable TRACE"));
}

#[test]
fn a_data_packet_of_an_unknown_major_version_is_a_bad_header() {
    let builder = builder(ByteOrder::Little);
    let (metadata, [first, mut second, third]) = three_packets(&builder);
    second[4] = 9;
    let trace = Trace::from_bytes([metadata, first, second, third].concat()).unwrap();
    let seen = kinds(&trace);
    assert!(seen[2].contains("UnsupportedMajor { found: 9 }"), "{seen:?}");
    let diagnostic = diagnostics(&trace).remove(0);
    assert_eq!(diagnostic.section, "11.3");
}

/// Opening reads the headers that follow large packets with `pread`, the others through the
/// map: a file on disk, mapped or read into memory, reads exactly as the same bytes handed over
/// in memory, whole or damaged, with small packets and large ones.
#[test]
fn a_file_on_disk_reads_as_the_same_bytes_in_memory() {
    let builder = builder(ByteOrder::Big);
    let dir = temp_dir("pread");
    for padding in [16, 20 << 10] {
        let packet = |sequence: u64, base: u64| {
            let payload = |n: u64| Payload::new(builder.order).u32(n as u32).done();
            let mut packet = builder.packet(0, 0, sequence, base).event(1, base, &payload(base)).event(
                1,
                base + 1,
                &payload(base + 1),
            );
            builder.finish(&mut packet.header, packet.content, padding)
        };
        let (metadata, first, second, third) =
            (builder.metadata_packet(), packet(0, 10), packet(1, 20), packet(2, 30));
        let whole = [metadata.clone(), first.clone(), second, third.clone()].concat();
        let mut bad_magic = whole.clone();
        bad_magic[metadata.len() + first.len()] = b'X';
        let third_at = whole.len() - third.len();
        let cases = [
            ("whole", whole.clone()),
            ("bad magic", bad_magic),
            ("cut in a header", whole[..third_at + PACKET_HEADER_LEN / 2].to_vec()),
            ("cut in a packet", whole[..whole.len() - 4].to_vec()),
        ];
        for (name, bytes) in cases {
            let path = dir.join(format!("{}-{padding}.tmk", name.replace(' ', "-")));
            std::fs::write(&path, &bytes).unwrap();
            let expected = kinds(&Trace::from_bytes(bytes).unwrap());
            assert!(expected.iter().any(|kind| kind.starts_with("event")), "{name}: {expected:?}");
            for read_mode in [crate::ReadMode::Mmap, crate::ReadMode::Read] {
                let trace =
                    Trace::open_with(&path, crate::OpenOptions { read_mode, ..Default::default() }).unwrap();
                assert_eq!(kinds(&trace), expected, "{name}, padding {padding}, {read_mode:?}");
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
