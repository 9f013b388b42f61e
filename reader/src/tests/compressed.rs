//! Compressed packets (§15): read as the packets they were compressed from; damaged or lying
//! ones reported, never decompressed past their bounds, their neighbours read.

use tracemark_format::{
    compress::{Codec, CompressionError, DESCRIPTOR_LEN},
    crc::packet_crc,
    packet::CRC_FIELD,
    Abi, ByteOrder, Field, IntType, PacketHeader, TypeDesc, PACKET_HEADER_LEN,
};
use tracemark_writer::compress_packet;

use super::{collect, Payload, Seen, TraceBuilder};
use crate::{DiagnosticKind, Trace};

fn builder() -> TraceBuilder {
    let fields = vec![Field::new("n", TypeDesc::Int(IntType::U32)), Field::new("comm", TypeDesc::String)];
    let mut builder = TraceBuilder::new(Abi::lp64(ByteOrder::Little)).class(1, "sched", fields);
    builder.crc = true;
    builder
}

/// The metadata packet, then 3 packets of 40 events on each of streams 0/0 and 0/1.
fn packets(builder: &TraceBuilder) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut data = Vec::new();
    for instance in 0..2u32 {
        for sequence in 0..3u64 {
            let begin = sequence * 1000 + u64::from(instance);
            let mut packet = builder.packet(0, instance, sequence, begin);
            for n in 0..40u64 {
                let payload = Payload::new(ByteOrder::Little).u32(n as u32).string(b"kworker/0:1").done();
                packet = packet.event(1, begin + n * 20, &payload);
            }
            data.push(packet.build(builder));
        }
    }
    (builder.metadata_packet(), data)
}

fn trace_of(metadata: &[u8], data: &[Vec<u8>]) -> Trace {
    let mut bytes = metadata.to_vec();
    data.iter().for_each(|packet| bytes.extend_from_slice(packet));
    Trace::from_bytes(bytes).unwrap()
}

/// Rewrites the CRC of `packet` after a change (§4.4).
fn reseal(packet: &mut [u8]) {
    let (header, order) = PacketHeader::decode(packet).unwrap();
    let crc = packet_crc(packet, header.content_size as usize).unwrap();
    packet[CRC_FIELD].copy_from_slice(&order.u32_bytes(crc));
}

#[test]
fn compressed_packets_read_as_the_packets_they_were_compressed_from() {
    let builder = builder();
    let (metadata, data) = packets(&builder);
    let plain = trace_of(&metadata, &data);
    let expected = collect(plain.events());
    assert_eq!(expected.len(), 240);
    for codec in [Codec::Zstd, Codec::Lz4] {
        let compressed: Vec<Vec<u8>> =
            data.iter().map(|packet| compress_packet(packet, codec).unwrap()).collect();
        let saved: usize = data.iter().zip(&compressed).map(|(a, b)| a.len() - b.len()).sum();
        assert!(saved > 0, "{codec:?} saves nothing");
        let trace = trace_of(&metadata, &compressed);
        assert_eq!(collect(trace.events()), expected, "{codec:?}");
        // Read again (from the kept records), per stream, through the pipeline, and by window.
        assert_eq!(collect(trace.events()), expected);
        assert_eq!(trace.with_events(1, |items| collect(items)), expected);
        let per_stream: usize = trace.streams().map(|stream| stream.count()).sum();
        assert_eq!(per_stream, 240);
        assert_eq!(trace.count_events(2).events, 240);
        let base = plain.time_span().unwrap().0;
        assert_eq!(
            collect(trace.events_between(base + 1000, base + 1500)),
            collect(plain.events_between(base + 1000, base + 1500))
        );
    }
}

/// `packet` compressed by zstd, then `edit`ed and resealed.
fn edited(packet: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut compressed = compress_packet(packet, Codec::Zstd).unwrap();
    edit(&mut compressed);
    reseal(&mut compressed);
    compressed
}

#[test]
fn a_compressed_packet_that_lies_is_reported_and_its_neighbours_read() {
    let builder = builder();
    let (metadata, data) = packets(&builder);
    let descriptor = PACKET_HEADER_LEN;
    let records_size = descriptor + 4;
    type Expected = fn(&CompressionError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Expected)> = vec![
        // A few bytes claiming 4 GiB: refused before anything is allocated.
        (
            "bomb",
            edited(&data[1], |p| p[records_size..records_size + 4].copy_from_slice(&u32::MAX.to_le_bytes())),
            |e| matches!(e, CompressionError::TooLarge { records_size: u32::MAX, .. }),
        ),
        // Fewer records than the frame holds: decompression stops at records_size.
        (
            "short",
            edited(&data[1], |p| {
                let size = u32::from_le_bytes(p[records_size..records_size + 4].try_into().unwrap());
                p[records_size..records_size + 4].copy_from_slice(&(size - 1).to_le_bytes());
            }),
            |e| matches!(e, CompressionError::Corrupt(_)),
        ),
        (
            "long",
            edited(&data[1], |p| {
                let size = u32::from_le_bytes(p[records_size..records_size + 4].try_into().unwrap());
                p[records_size..records_size + 4].copy_from_slice(&(size + 8).to_le_bytes());
            }),
            |e| matches!(e, CompressionError::SizeMismatch { .. } | CompressionError::Corrupt(_)),
        ),
        ("unknown codec", edited(&data[1], |p| p[descriptor] = 9), |e| {
            *e == CompressionError::UnknownCodec(9)
        }),
        (
            "damaged frame",
            edited(&data[1], |p| {
                let at = descriptor + DESCRIPTOR_LEN + 2;
                p[at] ^= 0xFF;
            }),
            |e| matches!(e, CompressionError::Corrupt(_)),
        ),
    ];
    let others: Vec<Seen> = {
        let mut without = data.clone();
        without.remove(1);
        let items = collect(trace_of(&metadata, &without).events());
        items.into_iter().filter(|item| matches!(item, Seen::Event { .. })).collect()
    };
    for (name, bad, expected) in cases {
        let mut packets = data.clone();
        packets[1] = bad;
        let trace = trace_of(&metadata, &packets);
        let items = collect(trace.events());
        let reported: Vec<&CompressionError> = items
            .iter()
            .filter_map(|item| match item {
                Seen::Diagnostic(DiagnosticKind::CompressedPacket(error)) => Some(error),
                _ => None,
            })
            .collect();
        assert_eq!(reported.len(), 1, "{name}: {items:?}");
        assert!(expected(reported[0]), "{name}: {:?}", reported[0]);
        let events: Vec<Seen> = items.into_iter().filter(|item| matches!(item, Seen::Event { .. })).collect();
        assert!(events == others, "{name}: the other packets are read");
        assert_eq!(trace.count_events(1).events, 200, "{name}");
    }
}

#[test]
fn a_compressed_metadata_packet_is_reported_and_not_read() {
    let builder = builder();
    let (metadata, data) = packets(&builder);
    // A second metadata packet, flagged compressed: its records are not applied.
    let mut second = builder.metadata_packet();
    let (mut header, order) = PacketHeader::decode(&second).unwrap();
    header.sequence = 1;
    header.flags.0 |= tracemark_format::PacketFlags::COMPRESSED;
    let mut fixed = [0u8; PACKET_HEADER_LEN];
    header.encode(order, &mut fixed);
    second[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
    reseal(&mut second);
    let mut bytes = metadata.clone();
    bytes.extend_from_slice(&second);
    data.iter().for_each(|packet| bytes.extend_from_slice(packet));
    let trace = Trace::from_bytes(bytes).unwrap();
    assert!(trace
        .diagnostics()
        .iter()
        .any(|d| d.kind == DiagnosticKind::CompressedPacket(CompressionError::Metadata)));
    assert_eq!(trace.count_events(1).events, 240);
}
