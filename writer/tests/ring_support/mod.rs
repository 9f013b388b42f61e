//! Packet checks shared by the ring's loom, stress and signal tests: what a reader would verify,
//! done independently of the reader (header, CRC, padding, event headers, §1.7, §4.5, §10.1).
#![allow(dead_code)]

use tracemark_format::crc::packet_crc;
use tracemark_format::{ByteOrder, HeaderWord, PacketFlags, PacketHeader};

/// One decoded record: event class, reconstructed timestamp, payload.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: u32,
    pub ts: u64,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Decoded {
    pub header: PacketHeader,
    pub records: Vec<Record>,
}

/// Decodes one packet whose payloads are split by `payload_len(id, rest) -> len`; panics with a
/// message on any violation of the spec (header, CRC, event headers, timestamps).
pub fn decode(bytes: &[u8], payload_len: impl Fn(u32, &[u8]) -> usize) -> Decoded {
    let (header, order) = PacketHeader::decode(bytes).expect("valid packet header");
    assert_eq!(order, ByteOrder::NATIVE);
    assert!(header.flags.0 & PacketFlags::HAS_CRC != 0);
    assert_eq!(header.packet_size as usize, bytes.len());
    let content = header.content_size as usize;
    assert_eq!(packet_crc(bytes, content), Some(header.crc32), "CRC of packet {}", header.sequence);
    assert!(bytes[content..].iter().all(|&b| b == 0), "padding not zero");
    assert!(header.timestamp_begin <= header.timestamp_end, "packet {} begin > end", header.sequence);
    let mut at = header.header_len as usize;
    let mut prev = header.timestamp_begin;
    let mut records = Vec::new();
    while at < content {
        let (event, len) = HeaderWord::Wide
            .decode(&bytes[at..content], ByteOrder::NATIVE)
            .unwrap_or_else(|e| panic!("bad event header at {at} in packet {}: {e:?}", header.sequence));
        let ts = event.timestamp(prev).unwrap_or_else(|ts| panic!("timestamp {ts} < {prev} (§1.7)"));
        at += len;
        let plen = payload_len(event.id(), &bytes[at..content]);
        assert!(at + plen <= content, "record overruns content_size in packet {}", header.sequence);
        records.push(Record { id: event.id(), ts, payload: bytes[at..at + plen].to_vec() });
        at += plen;
        prev = ts;
    }
    assert_eq!(at, content);
    assert!(prev <= header.timestamp_end, "record after timestamp_end in packet {}", header.sequence);
    Decoded { header, records }
}

/// Checks the stream-level rules (§1.6 order, §4.5 timestamps, §10.1 counter) of packets in
/// the order read.
pub fn check_stream(packets: &[Decoded], allow_gaps: bool) {
    for pair in packets.windows(2) {
        let (a, b) = (&pair[0].header, &pair[1].header);
        assert!(b.sequence > a.sequence, "sequence not increasing: {} then {}", a.sequence, b.sequence);
        if !allow_gaps {
            assert_eq!(b.sequence, a.sequence + 1, "sequence gap in discard mode");
        }
        assert!(
            b.timestamp_begin >= a.timestamp_end,
            "packet {} begins before {} ends",
            b.sequence,
            a.sequence
        );
        assert!(b.events_discarded >= a.events_discarded);
    }
}
