//! Decoding a packet: its CRC (§4.4), then every record's class, timestamp and extent, into a
//! compact [`Batch`], a bounded slice of records at a time.
//!
//! A batch is the unit of work that can move between threads: the pipelined readers
//! ([`crate::pipeline`]) decode the packets ahead of the thread that merges them, and the
//! parallel counters decode packets on every core. The cursors under the iterators decode
//! their batches themselves, and every slice after a packet's first.

use crate::{
    metadata::Metadata,
    packet::{CrcStatus, RawPacket},
    records::{walk_packet, walk_slice, Entry, Resume, Stop, WalkEnd},
    source::PacketSource,
};

/// The most records one batch holds. A record takes at least 4 bytes (§5.1) and an [`Entry`]
/// about 40, so a whole packet of the smallest records would take ten times its size; sliced,
/// a batch takes at most about 640 KiB whatever the packet (§13.2), and a packet of 64 KiB
/// holds far fewer records than this, so ordinary packets are one batch.
pub(crate) const MAX_BATCH_RECORDS: usize = 16 * 1024;

/// A decoded packet, or a slice of one.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) crc: Option<CrcStatus>,
    /// The records, unless the CRC does not match (§10.3).
    pub(crate) entries: Vec<Entry>,
    /// The record that ended the packet early, and why (§10.5).
    pub(crate) stop: Option<(usize, Stop)>,
    /// Where the packet's next slice starts, when this one is not its last.
    pub(crate) resume: Option<Resume>,
    /// The timestamp before the first entry (§5.5): the packet's `timestamp_begin`, or the last
    /// record of the slice before.
    pub(crate) before: u64,
}

impl Batch {
    /// Decodes `raw`, a packet of `source`, up to [`MAX_BATCH_RECORDS`] records, reusing
    /// `entries`' memory.
    pub(crate) fn decode(source: PacketSource<'_>, raw: &RawPacket, mut entries: Vec<Entry>) -> Batch {
        entries.clear();
        let before = raw.header.timestamp_begin;
        let bytes = source.file_bytes(raw.file);
        let crc = raw.crc(bytes);
        if let CrcStatus::Mismatch { .. } = crc {
            return Batch { crc: Some(crc), entries, stop: None, resume: None, before };
        }
        let content = match source.records_of(raw) {
            Ok(content) => content,
            Err(error) => {
                let stop = Some((0, Stop::Compressed(error)));
                return Batch { crc: Some(crc), entries, stop, resume: None, before };
            }
        };
        // The smallest record is a 4-byte header: reserving for 16-byte records wastes little.
        entries.reserve((content.len() / 16).min(MAX_BATCH_RECORDS));
        Batch { crc: Some(crc), ..Batch::slice(source.metadata, raw, content, None, entries) }
    }

    /// The slice of `raw`'s records (`content`) from `from` (its start when `None`), reusing
    /// `entries`' memory; its CRC is the caller's to have checked.
    pub(crate) fn slice(
        metadata: &Metadata,
        raw: &RawPacket,
        content: &[u8],
        from: Option<Resume>,
        mut entries: Vec<Entry>,
    ) -> Batch {
        entries.clear();
        let before = from.map_or(raw.header.timestamp_begin, |from| from.previous);
        let end = walk_slice(metadata, raw, content, from, MAX_BATCH_RECORDS, |entry| entries.push(entry));
        let (stop, resume) = match end {
            WalkEnd::Done => (None, None),
            WalkEnd::Stopped(at, stop) => (Some((at, stop)), None),
            WalkEnd::Paused(resume) => (None, Some(resume)),
        };
        Batch { crc: None, entries, stop, resume, before }
    }

    /// The records of `raw` a reader delivers, counted without holding them: none when its CRC
    /// does not match (§10.3).
    pub(crate) fn count(source: PacketSource<'_>, raw: &RawPacket) -> usize {
        if let CrcStatus::Mismatch { .. } = raw.crc(source.file_bytes(raw.file)) {
            return 0;
        }
        let Ok(content) = source.records_of(raw) else { return 0 };
        let mut count = 0usize;
        walk_packet(source.metadata, raw, content, |_| count += 1);
        count
    }
}
