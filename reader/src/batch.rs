//! Decoding a whole packet at once: its CRC (§4.4), then every record's class, timestamp and
//! extent, into a compact [`Batch`].
//!
//! A batch is the unit of work that can move between threads: the pipelined readers
//! ([`crate::pipeline`]) decode the packets ahead of the thread that merges them, and the
//! parallel counters decode packets on every core. The cursors under the iterators decode
//! their batches themselves.

use crate::{
    packet::{CrcStatus, RawPacket},
    records::{walk_packet, Entry, Stop},
    source::PacketSource,
};

/// A decoded packet.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) crc: Option<CrcStatus>,
    /// The records, unless the CRC does not match (§10.3).
    pub(crate) entries: Vec<Entry>,
    /// The record that ended the packet early, and why (§10.5).
    pub(crate) stop: Option<(usize, Stop)>,
}

impl Batch {
    /// Decodes `raw`, a packet of `source`, reusing `entries`' memory.
    pub(crate) fn decode(source: PacketSource<'_>, raw: &RawPacket, mut entries: Vec<Entry>) -> Batch {
        entries.clear();
        let bytes = source.file_bytes(raw.file);
        let crc = raw.crc(bytes);
        if let CrcStatus::Mismatch { .. } = crc {
            return Batch { crc: Some(crc), entries, stop: None };
        }
        let content = match source.records_of(raw) {
            Ok(content) => content,
            Err(error) => return Batch { crc: Some(crc), entries, stop: Some((0, Stop::Compressed(error))) },
        };
        // The smallest record is an 8-byte header: reserving for 16-byte records wastes little.
        entries.reserve(content.len() / 16);
        let stop = walk_packet(source.metadata, raw, content, |entry| entries.push(entry));
        Batch { crc: Some(crc), entries, stop }
    }
}
