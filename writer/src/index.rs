//! The packet index a sink writes when it closes a file (§14.3), gathered as the packets pass.

use alloc::vec::Vec;

use tracemark_format::{
    index::{encode_packet, IndexEntry, PacketIndex, RECORDS_NOT_COUNTED},
    ByteOrder, PacketHeader,
};

/// The entries of the packets written to one file so far: one per packet, 72 bytes each
/// (§14.3), the records not counted (a sink sees whole packets, not records).
#[derive(Debug, Clone, Default)]
pub struct Indexer {
    entries: Vec<IndexEntry>,
    /// Bytes written so far: where the next packet starts.
    end: u64,
    /// UUID and byte order, from the first packet.
    trace: Option<([u8; 16], ByteOrder)>,
    /// The sequence number of the last metadata packet, which the trailing index continues.
    last_metadata_sequence: Option<u64>,
    /// A packet that is not one (or a failed write): the file is not a sequence of whole
    /// packets, and has no index (§14.2).
    broken: bool,
}

impl Indexer {
    /// An indexer of an empty file.
    pub fn new() -> Indexer {
        Indexer::default()
    }

    /// Notes `packet`, just written at the file's end.
    pub fn add(&mut self, packet: &[u8]) {
        match PacketHeader::decode(packet) {
            Ok((header, order)) if header.packet_size as usize == packet.len() => {
                self.trace.get_or_insert((header.trace_uuid, order));
                if header.is_metadata() {
                    self.last_metadata_sequence = Some(header.sequence);
                }
                self.entries.push(IndexEntry::of(self.end, &header, RECORDS_NOT_COUNTED));
            }
            _ => self.broken = true,
        }
        self.end = self.end.saturating_add(packet.len() as u64);
    }

    /// Notes that a write to the file failed: what it holds is not known, so it gets no index.
    pub fn write_failed(&mut self) {
        self.broken = true;
    }

    /// The index packet of a stream file of a directory (`index/NAME.idx`, §14.3); `None` for
    /// a file without packets or not of whole packets.
    pub fn into_sidecar_packet(self) -> Option<Vec<u8>> {
        self.into_packet(0, 0)
    }

    /// The index packet to append to a single file (§14.3), the last metadata packet's sequence
    /// continued; `None` as for [`Indexer::into_sidecar_packet`].
    pub fn into_trailing_packet(self) -> Option<Vec<u8>> {
        let sequence = self.last_metadata_sequence.map_or(0, |last| last.saturating_add(1));
        let end = self.end;
        self.into_packet(end, sequence)
    }

    fn into_packet(self, index_offset: u64, sequence: u64) -> Option<Vec<u8>> {
        let (uuid, order) = self.trace.filter(|_| !self.broken)?;
        let index = PacketIndex { file_len: self.end, entries: self.entries, index_offset };
        let packet = encode_packet(&index, uuid, order, sequence);
        (!packet.is_empty()).then_some(packet)
    }
}
