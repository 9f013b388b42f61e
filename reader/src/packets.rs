//! Packets as the container holds them, for tools that copy or rewrite whole packets (`cut`,
//! `split`) rather than read events.

use tracemark_format::PacketHeader;

use crate::{
    events::StreamIter,
    packet::CrcStatus,
    stream::StreamCursor,
    stream_id::StreamId,
    stream_index::{PacketEntry, StreamIndex},
    Trace,
};

/// A data packet of a stream: its header, its bytes and where they are.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'t> {
    trace: &'t Trace,
    stream: &'t StreamIndex,
    /// Its position in the stream's packets.
    position: usize,
    entry: &'t PacketEntry,
}

impl<'t> PacketView<'t> {
    /// The packet at `position` of `stream`'s, if there is one.
    pub(crate) fn at(trace: &'t Trace, stream: &'t StreamIndex, position: usize) -> Option<PacketView<'t>> {
        let entry = stream.packets.get(position)?;
        Some(PacketView { trace, stream, position, entry })
    }

    /// The stream.
    pub fn stream(&self) -> StreamId {
        self.stream.id
    }

    /// The header (§4).
    pub fn header(&self) -> &'t PacketHeader {
        &self.entry.raw.header
    }

    /// The container file holding it, as diagnostics name it.
    pub fn file(&self) -> &'t str {
        &self.entry.file_name
    }

    /// Its offset in that file.
    pub fn offset(&self) -> u64 {
        self.entry.raw.offset as u64
    }

    /// Its bytes present in the file: `packet_size` of them unless it is cut short (§10.4).
    pub fn bytes(&self) -> &'t [u8] {
        let raw = &self.entry.raw;
        self.trace.container.files.get(raw.file).map_or(&[], |file| raw.bytes(file.bytes()))
    }

    /// Whether all its `packet_size` bytes are present.
    pub fn is_whole(&self) -> bool {
        self.bytes().len() == self.header().packet_size as usize
    }

    /// Whether its events can be delivered as far as its CRC goes (§4.4): it matches, the
    /// packet has none, or it is cut short so that it cannot be checked (§10.4).
    pub fn crc_matches(&self) -> bool {
        let raw = &self.entry.raw;
        let Some(file) = self.trace.container.files.get(raw.file) else { return false };
        !matches!(raw.crc(file.bytes()), CrcStatus::Mismatch { .. })
    }

    /// Its records (§5): its content, or, compressed (§15), its records decompressed; the
    /// error says why a compressed packet's records cannot be had.
    pub fn records(&self) -> Result<&'t [u8], tracemark_format::compress::CompressionError> {
        self.trace.records_of(&self.entry.raw)
    }

    /// Its events and diagnostics, as a read of its stream delivers them there: the
    /// accounting of sequence numbers and discards (§10.1, §10.2) goes on from the packet
    /// before, as if it had been read.
    pub fn items(&self) -> StreamIter<'t> {
        let range = self.position..self.position.saturating_add(1);
        StreamIter::from_cursor(StreamCursor::new(self.trace.source(), self.stream).packet_range(range))
    }
}

impl Trace {
    /// The data packets of stream `id`, in container order: sequence order, in a valid trace.
    pub fn packets(&self, id: StreamId) -> impl Iterator<Item = PacketView<'_>> + '_ {
        let stream = self.stream_indexes().iter().find(|stream| stream.id == id);
        stream.into_iter().flat_map(move |stream| {
            stream.packets.iter().enumerate().map(move |(position, entry)| PacketView {
                trace: self,
                stream,
                position,
                entry,
            })
        })
    }
}
