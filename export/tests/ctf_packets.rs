//! The CTF export's data streams, checked byte by byte without babeltrace2: every record is the
//! tracemark record, each packet context carries the stream's sequence number and running
//! discard total, and sizes are in bits as CTF 1.8 wants.

use std::collections::BTreeMap;

use tracemark_export::{ctf::stream_file_name, write_ctf, ExportError};
use tracemark_format::ByteOrder;
use tracemark_reader::{DiagnosticKind, Item, StreamId, Trace};

mod support;

/// The shared lossy trace (`support::lossy_trace`), opened.
fn lossy_trace(order: ByteOrder) -> Trace {
    Trace::from_bytes(support::lossy_trace(order)).unwrap()
}

struct CtfPacket {
    stream: StreamId,
    sequence: u64,
    begin: u64,
    end: u64,
    discarded: u64,
    records: Vec<u8>,
}

fn parse_packets(bytes: &[u8], order: ByteOrder) -> Vec<CtfPacket> {
    let mut packets = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let packet = &bytes[at..];
        assert_eq!(order.read_u32(packet), Some(0xC1FC_1FC1), "CTF magic at {at}");
        assert_eq!(&packet[4..20], &[3; 16], "trace UUID");
        let class = order.read_u32(&packet[20..]).unwrap();
        let instance = order.read_u64(&packet[24..]).unwrap();
        let field = |index: usize| order.read_u64(&packet[32 + 8 * index..]).unwrap();
        let (content_bits, packet_bits) = (field(2), field(3));
        assert_eq!(content_bits, packet_bits, "no padding");
        assert_eq!(content_bits % 8, 0);
        let size = (content_bits / 8) as usize;
        let cpu_id = order.read_u32(&packet[80..]).unwrap();
        assert_eq!(u64::from(cpu_id), instance);
        packets.push(CtfPacket {
            stream: StreamId { class, instance: cpu_id },
            sequence: field(4),
            begin: field(0),
            end: field(1),
            discarded: field(5),
            records: packet[84..size].to_vec(),
        });
        at += size;
    }
    packets
}

#[test]
fn records_are_copied_and_packet_contexts_carry_sequences_and_discards() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let trace = lossy_trace(order);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ctf");
        let mut diagnostics = 0;
        let summary = write_ctf(&trace, &out, |_| diagnostics += 1).unwrap();
        assert!(std::fs::read_to_string(out.join("metadata")).unwrap().starts_with("/* CTF 1.8 */"));
        assert_eq!(summary.streams, 2);
        assert_eq!(summary.diagnostics, diagnostics);

        let mut events = 0;
        for stream in trace.streams() {
            let id = stream.id();
            // What the reader delivers, per packet: records and the running discard total.
            let mut expected: BTreeMap<u64, (Vec<u8>, u64)> = BTreeMap::new();
            let mut total = 0;
            for item in stream {
                match item {
                    Item::Event(event) => {
                        let entry = expected.entry(event.packet_sequence()).or_insert((Vec::new(), total));
                        entry.0.extend_from_slice(event.record_bytes());
                        events += 1;
                    }
                    Item::Diagnostic(diagnostic) => {
                        if let DiagnosticKind::DiscardedEvents { count, .. } = diagnostic.kind {
                            total += count;
                            expected.entry(diagnostic.sequence.unwrap()).or_insert((Vec::new(), total)).1 =
                                total;
                        }
                    }
                }
            }
            assert!(total > 0, "the writer discarded events");
            let bytes = std::fs::read(out.join(stream_file_name(id))).unwrap();
            let packets = parse_packets(&bytes, order);
            assert_eq!(packets.len(), expected.len(), "one CTF packet per tracemark packet");
            for (packet, (sequence, (records, discarded))) in packets.iter().zip(&expected) {
                assert_eq!(packet.stream, id);
                assert_eq!(packet.sequence, *sequence);
                assert_eq!(packet.discarded, *discarded, "stream {id} packet {sequence}");
                assert_eq!(&packet.records, records, "records copied byte for byte");
                assert!(packet.begin <= packet.end);
            }
            assert!(packets.windows(2).all(|pair| pair[0].end <= pair[1].begin), "packets do not overlap");
        }
        assert_eq!(summary.events, events);
    }
}

#[test]
fn the_output_directory_must_be_new_or_empty() {
    let trace = lossy_trace(ByteOrder::NATIVE);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep-me"), b"user data").unwrap();
    match write_ctf(&trace, dir.path(), |_| {}) {
        Err(ExportError::OutputNotEmpty { path }) => assert_eq!(path, dir.path()),
        other => panic!("expected OutputNotEmpty, got {other:?}"),
    }
    assert_eq!(std::fs::read(dir.path().join("keep-me")).unwrap(), b"user data");
    let empty = tempfile::tempdir().unwrap();
    write_ctf(&trace, empty.path(), |_| {}).unwrap();
}
