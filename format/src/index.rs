//! The packet index (§14): an INDEX metadata record listing the packets of one container file,
//! and the packet that carries it.
//!
//! ```
//! use tracemark_format::index::{self, IndexEntry, PacketIndex};
//! use tracemark_format::{ByteOrder, PacketHeader};
//!
//! let header = PacketHeader { sequence: 3, packet_size: 4096, content_size: 1000, ..PacketHeader::new_data([1; 16], 0, 2) };
//! let index = PacketIndex { file_len: 4096, entries: vec![IndexEntry::of(0, &header, 12)], index_offset: 4096 };
//! let packet = index::encode_packet(&index, [1; 16], ByteOrder::Little, 5);
//! let mut file = vec![0u8; 4096];
//! file.extend_from_slice(&packet);
//! assert_eq!(index::trailing_offset(&file, ByteOrder::Little), Some(4096));
//! let (_, decoded) = index::decode_packet(&packet).unwrap();
//! assert_eq!(decoded, index);
//! ```

use alloc::vec::Vec;

use binrw::{
    io::{Read, Seek, SeekFrom, Write},
    BinRead, BinResult, BinWrite, Endian,
};

use crate::{
    crc,
    metadata::{self, MetadataError, MetadataErrorKind, Record, RecordIter},
    ByteOrder, HeaderError, PacketFlags, PacketHeader, PACKET_HEADER_LEN,
};

/// Bytes of an entry in version 1.2 (§14.2).
pub const ENTRY_LEN: u16 = 72;

/// The `record_count` of an entry whose writer did not count the packet's records (§14.2): a
/// writer's consumer sees whole packets.
pub const RECORDS_NOT_COUNTED: u32 = u32::MAX;

/// The minor version of a packet that carries an index (§14.3).
pub const INDEX_VERSION_MINOR: u8 = 2;

/// Bytes of an INDEX body before its entries: `file_len`, `entry_len`, `flags`, `entry_count`.
const FIXED_LEN: u64 = 16;

/// Bytes of an INDEX body after everything else: `index_offset`.
const TRAILER_LEN: u64 = 8;

/// The bytes that end a single file holding an index: the INDEX record's `index_offset` and its
/// check (§14.3).
pub const TAIL_LEN: usize = TRAILER_LEN as usize + metadata::RECORD_CHECK_LEN;

/// One packet as the index describes it: every field of its header (§4.1) but the trace UUID,
/// which all share, and the number of its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    /// Offset of the packet in its file.
    pub offset: u64,
    /// `packet_size`.
    pub packet_size: u32,
    /// `content_size`.
    pub content_size: u32,
    /// `flags`.
    pub flags: u32,
    /// `stream_class_id`.
    pub stream_class_id: u32,
    /// `stream_instance_id`.
    pub stream_instance_id: u32,
    /// Records a reader decodes from the packet (§14.2), or [`RECORDS_NOT_COUNTED`]: for
    /// estimates, never in place of decoding.
    pub record_count: u32,
    /// `sequence`.
    pub sequence: u64,
    /// `timestamp_begin`.
    pub timestamp_begin: u64,
    /// `timestamp_end`.
    pub timestamp_end: u64,
    /// `events_discarded`.
    pub events_discarded: u64,
    /// `crc32`.
    pub crc32: u32,
    /// `header_len`.
    pub header_len: u16,
    /// `version_major`.
    pub version_major: u8,
    /// `version_minor`.
    pub version_minor: u8,
}

impl IndexEntry {
    /// The entry of the packet at `offset` whose header is `header`, holding `record_count`
    /// records.
    pub fn of(offset: u64, header: &PacketHeader, record_count: u32) -> IndexEntry {
        IndexEntry {
            offset,
            packet_size: header.packet_size,
            content_size: header.content_size,
            flags: header.flags.0,
            stream_class_id: header.stream_class_id,
            stream_instance_id: header.stream_instance_id,
            record_count,
            sequence: header.sequence,
            timestamp_begin: header.timestamp_begin,
            timestamp_end: header.timestamp_end,
            events_discarded: header.events_discarded,
            crc32: header.crc32,
            header_len: header.header_len,
            version_major: header.version_major,
            version_minor: header.version_minor,
        }
    }

    /// Whether `header`, found at `offset`, is the packet this entry describes: every header
    /// field the entry repeats is equal (§14.4).
    pub fn describes(&self, offset: u64, header: &PacketHeader) -> bool {
        *self == IndexEntry { record_count: self.record_count, ..IndexEntry::of(offset, header, 0) }
    }

    /// The header of the packet described, in a trace whose UUID is `trace_uuid`: what a reader
    /// that trusts the index takes for the packet's header without reading it (§14.4).
    pub fn header(&self, trace_uuid: [u8; 16]) -> PacketHeader {
        PacketHeader {
            version_major: self.version_major,
            version_minor: self.version_minor,
            header_len: self.header_len,
            flags: PacketFlags(self.flags),
            crc32: self.crc32,
            trace_uuid,
            stream_class_id: self.stream_class_id,
            stream_instance_id: self.stream_instance_id,
            sequence: self.sequence,
            timestamp_begin: self.timestamp_begin,
            timestamp_end: self.timestamp_end,
            content_size: self.content_size,
            packet_size: self.packet_size,
            events_discarded: self.events_discarded,
        }
    }

    /// Where the packet ends in its file.
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(u64::from(self.packet_size))
    }

    /// Whether the packet is a metadata packet.
    pub fn is_metadata(&self) -> bool {
        PacketFlags(self.flags).is_metadata()
    }
}

/// The INDEX record (§14.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketIndex {
    /// Length of the file described; in the single-file form, up to the index's packet.
    pub file_len: u64,
    /// One per packet, in file order.
    pub entries: Vec<IndexEntry>,
    /// Offset of the index's packet in its file (single-file form), or 0 (directory form).
    pub index_offset: u64,
}

impl PacketIndex {
    /// Whether the entries describe whole packets that follow each other from offset 0 to
    /// `file_len` (§14.2), the only files an index describes; a reader treats an index whose
    /// entries do not as absent (§14.4).
    pub fn tiles_its_file(&self) -> bool {
        let mut at = 0u64;
        for entry in &self.entries {
            if entry.offset != at || (entry.packet_size as usize) < PACKET_HEADER_LEN {
                return false;
            }
            at = entry.end();
        }
        at == self.file_len
    }
}

impl BinRead for PacketIndex {
    type Args<'a> = ();

    fn read_options<R: Read + Seek>(reader: &mut R, endian: Endian, _: ()) -> BinResult<Self> {
        let start = reader.stream_position()?;
        let body_end = reader.seek(SeekFrom::End(0))?;
        reader.seek(SeekFrom::Start(start))?;
        let file_len = u64::read_options(reader, endian, ())?;
        let entry_len_at = reader.stream_position()?;
        let entry_len = u16::read_options(reader, endian, ())?;
        if entry_len < ENTRY_LEN {
            return Err(binrw::Error::Custom {
                pos: entry_len_at,
                err: alloc::boxed::Box::new(MetadataErrorKind::IndexEntryLen(entry_len)),
            });
        }
        let _flags = u16::read_options(reader, endian, ())?;
        let count = u32::read_options(reader, endian, ())?;
        // The entries and the trailer must lie in the body: checked before reading any, so
        // that the count never sizes anything (§13.2).
        let needed = FIXED_LEN + u64::from(count) * u64::from(entry_len) + TRAILER_LEN;
        if needed > body_end.saturating_sub(start) {
            // Reported at the first entry that runs past the body (§10.7).
            let room = body_end.saturating_sub(start + FIXED_LEN + TRAILER_LEN);
            let first_past = start + FIXED_LEN + room / u64::from(entry_len) * u64::from(entry_len);
            return Err(binrw::Error::Custom {
                pos: first_past,
                err: alloc::boxed::Box::new(MetadataErrorKind::Truncated),
            });
        }
        let mut entries = Vec::new();
        for _ in 0..count {
            let entry_start = reader.stream_position()?;
            let offset = u64::read_options(reader, endian, ())?;
            let [packet_size, content_size, flags, stream_class_id, stream_instance_id, record_count] =
                <[u32; 6]>::read_options(reader, endian, ())?;
            let [sequence, timestamp_begin, timestamp_end, events_discarded] =
                <[u64; 4]>::read_options(reader, endian, ())?;
            let crc32 = u32::read_options(reader, endian, ())?;
            let header_len = u16::read_options(reader, endian, ())?;
            let [version_major, version_minor] = <[u8; 2]>::read_options(reader, endian, ())?;
            entries.push(IndexEntry {
                offset,
                packet_size,
                content_size,
                flags,
                stream_class_id,
                stream_instance_id,
                record_count,
                sequence,
                timestamp_begin,
                timestamp_end,
                events_discarded,
                crc32,
                header_len,
                version_major,
                version_minor,
            });
            // Fields a later minor version appends to entries are skipped.
            reader.seek(SeekFrom::Start(entry_start + u64::from(entry_len)))?;
        }
        reader.seek(SeekFrom::Start(body_end - TRAILER_LEN))?;
        let index_offset = u64::read_options(reader, endian, ())?;
        Ok(PacketIndex { file_len, entries, index_offset })
    }
}

impl BinWrite for PacketIndex {
    type Args<'a> = ();

    fn write_options<W: Write + Seek>(&self, writer: &mut W, endian: Endian, _: ()) -> BinResult<()> {
        let count = u32::try_from(self.entries.len()).map_err(|_| binrw::Error::Custom {
            pos: 0,
            err: alloc::boxed::Box::new(MetadataErrorKind::TooLong("index")),
        })?;
        (self.file_len, ENTRY_LEN, 0u16, count).write_options(writer, endian, ())?;
        for entry in &self.entries {
            entry.offset.write_options(writer, endian, ())?;
            [
                entry.packet_size,
                entry.content_size,
                entry.flags,
                entry.stream_class_id,
                entry.stream_instance_id,
                entry.record_count,
            ]
            .write_options(writer, endian, ())?;
            [entry.sequence, entry.timestamp_begin, entry.timestamp_end, entry.events_discarded]
                .write_options(writer, endian, ())?;
            (entry.crc32, entry.header_len, entry.version_major, entry.version_minor).write_options(
                writer,
                endian,
                (),
            )?;
        }
        self.index_offset.write_options(writer, endian, ())
    }
}

/// Why a packet is not a usable index (§14.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The header is not valid (§4).
    #[error("index packet header: {0}")]
    Header(HeaderError),
    /// The packet is not a metadata packet, or is shorter than its `packet_size`.
    #[error("not an index packet: not a whole metadata packet (§14.3)")]
    NotMetadata,
    /// The packet's CRC does not match (§4.4).
    #[error("index packet CRC {found:#010x} does not match {expected:#010x} (§4.4)")]
    Crc {
        /// The CRC computed.
        expected: u32,
        /// The CRC stored.
        found: u32,
    },
    /// The content is not one INDEX record and nothing else.
    #[error("index packet content is not one INDEX record (§14.3)")]
    NotOneIndexRecord,
    /// The INDEX record carries no check (§14.2).
    #[error("INDEX record without a check (§14.2)")]
    Unchecked,
    /// The INDEX record is malformed or its check fails.
    #[error("INDEX record: {0}")]
    Record(MetadataError),
    /// The packet has padding: in the single-file form its record would not end the file.
    #[error("index packet with padding: content_size {content_size}, packet_size {packet_size} (§14.3)")]
    Padding {
        /// `content_size`.
        content_size: u32,
        /// `packet_size`.
        packet_size: u32,
    },
}

/// The packet carrying `index` (§14.3): a metadata packet of version 1.2 with a CRC, sequence
/// number `sequence`, whose content is the checked INDEX record alone, padded inside the record
/// (before `index_offset`) so that the packet has no padding.
pub fn encode_packet(index: &PacketIndex, uuid: [u8; 16], order: ByteOrder, sequence: u64) -> Vec<u8> {
    let mut record = Vec::new();
    // An index whose entries do not fit a u32 count or a packet cannot be written; callers
    // index files of at most 4 GiB packets, far fewer than 2^32 entries.
    if Record::Index(index.clone()).encode(order, &mut record).is_err() {
        return Vec::new();
    }
    // Pad before `index_offset`: `index_offset` and the check stay the record's last bytes.
    let unpadded = PACKET_HEADER_LEN + record.len() + metadata::RECORD_CHECK_LEN;
    let filler = unpadded.next_multiple_of(crate::packet::PACKET_ALIGN) - unpadded;
    let trailer_at = record.len() - TRAILER_LEN as usize;
    record.splice(trailer_at..trailer_at, core::iter::repeat_n(0u8, filler));
    let body_len = (record.len() - metadata::ENVELOPE_LEN) as u32;
    record[4..8].copy_from_slice(&order.u32_bytes(body_len));
    if metadata::append_record_check(&mut record, 0, order).is_err() {
        return Vec::new();
    }
    let size = PACKET_HEADER_LEN + record.len();
    let mut header = PacketHeader::new_metadata(uuid);
    header.version_minor = INDEX_VERSION_MINOR;
    header.flags = PacketFlags(PacketFlags::METADATA | PacketFlags::HAS_CRC);
    header.sequence = sequence;
    header.content_size = size as u32;
    header.packet_size = size as u32;
    let mut packet = alloc::vec![0u8; PACKET_HEADER_LEN];
    let mut fixed = [0u8; PACKET_HEADER_LEN];
    header.encode(order, &mut fixed);
    packet.copy_from_slice(&fixed);
    packet.extend_from_slice(&record);
    if let Some(crc) = crc::packet_crc(&packet, size) {
        packet[crate::packet::CRC_FIELD].copy_from_slice(&order.u32_bytes(crc));
    }
    packet
}

/// Decodes the index packet at the start of `packet` (its bytes to the end of its file): header,
/// CRC, one checked INDEX record and nothing else (§14.3, §14.4).
pub fn decode_packet(packet: &[u8]) -> Result<(PacketHeader, PacketIndex), IndexError> {
    let (header, order) = PacketHeader::decode(packet).map_err(IndexError::Header)?;
    let size = header.packet_size as usize;
    if !header.is_metadata() || packet.len() < size {
        return Err(IndexError::NotMetadata);
    }
    if header.flags.has_crc() {
        let expected =
            crc::packet_crc(packet, header.content_size as usize).ok_or(IndexError::NotMetadata)?;
        if expected != header.crc32 {
            return Err(IndexError::Crc { expected, found: header.crc32 });
        }
    }
    if header.content_size != header.packet_size {
        return Err(IndexError::Padding {
            content_size: header.content_size,
            packet_size: header.packet_size,
        });
    }
    let content = packet.get(header.header_len as usize..size).ok_or(IndexError::NotMetadata)?;
    let flags = content.get(2..4).and_then(|bytes| order.read_u16(bytes));
    let mut records = RecordIter::new(content, order);
    let index = match records.next() {
        Some(Ok((_, Record::Index(index)))) => index,
        Some(Err(error)) => return Err(IndexError::Record(error)),
        _ => return Err(IndexError::NotOneIndexRecord),
    };
    if records.next().is_some() {
        return Err(IndexError::NotOneIndexRecord);
    }
    if flags.is_none_or(|flags| flags & metadata::RECORD_CHECKED == 0) {
        return Err(IndexError::Unchecked);
    }
    Ok((header, index))
}

/// The offset of a single file's index packet, as the file's last bytes state it (§14.3):
/// `None` when the file is too short to hold one. The packet found there is to be decoded
/// ([`decode_packet`]) and its `index_offset` compared before it is trusted.
pub fn trailing_offset(file: &[u8], order: ByteOrder) -> Option<u64> {
    let tail = file.get(file.len().checked_sub(TAIL_LEN)?..)?;
    offset_from_tail(tail, file.len() as u64, order)
}

/// [`trailing_offset`] from `tail`, the last [`TAIL_LEN`] bytes of a file of `file_len` bytes:
/// for a reader that reads the tail rather than holding the whole file in memory.
pub fn offset_from_tail(tail: &[u8], file_len: u64, order: ByteOrder) -> Option<u64> {
    let tail_at = file_len.checked_sub(TAIL_LEN as u64)?;
    let offset = order.read_u64(tail.get(..8).filter(|_| tail.len() == TAIL_LEN)?)?;
    (offset <= tail_at).then_some(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: u64, size: u32, sequence: u64) -> IndexEntry {
        let header = PacketHeader {
            sequence,
            packet_size: size,
            content_size: size - 8,
            timestamp_begin: sequence * 10,
            timestamp_end: sequence * 10 + 9,
            ..PacketHeader::new_data([4; 16], 1, 2)
        };
        IndexEntry::of(offset, &header, 7)
    }

    fn sample(entries: usize) -> PacketIndex {
        let entries: Vec<_> = (0..entries as u64).map(|n| entry(n * 256, 256, n)).collect();
        PacketIndex { file_len: entries.len() as u64 * 256, entries, index_offset: 0 }
    }

    #[test]
    fn an_index_packet_round_trips_in_both_byte_orders_without_padding() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for count in [0, 1, 2, 3, 100] {
                let index = sample(count);
                let packet = encode_packet(&index, [4; 16], order, 9);
                assert_eq!(packet.len() % 8, 0);
                let (header, decoded) = decode_packet(&packet).unwrap();
                assert_eq!((decoded, header.sequence, header.version_minor), (index.clone(), 9, 2));
                assert!(index.tiles_its_file());
            }
        }
    }

    #[test]
    fn an_entry_repeats_every_header_field_but_the_uuid() {
        let header = PacketHeader {
            crc32: 0xDEAD_BEEF,
            header_len: 88,
            version_minor: 1,
            events_discarded: 5,
            ..entry(0, 512, 3).header([4; 16])
        };
        let entry = IndexEntry::of(64, &header, 9);
        assert_eq!(entry.header([4; 16]), header);
        assert!(entry.describes(64, &header));
        assert!(!entry.describes(64, &PacketHeader { crc32: 1, ..header }));
        assert!(!entry.describes(64, &PacketHeader { header_len: 80, ..header }));
    }

    #[test]
    fn the_file_tail_locates_the_index() {
        let index = PacketIndex { index_offset: 512, file_len: 512, ..sample(2) };
        let mut file = alloc::vec![0u8; 512];
        file.extend_from_slice(&encode_packet(&index, [4; 16], ByteOrder::Big, 1));
        assert_eq!(trailing_offset(&file, ByteOrder::Big), Some(512));
        assert_eq!(trailing_offset(&file[..8], ByteOrder::Big), None);
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let index = sample(3);
        let packet = encode_packet(&index, [4; 16], ByteOrder::Little, 1);
        for at in 0..packet.len() {
            let mut damaged = packet.clone();
            damaged[at] ^= 0x40;
            // The CRC covers every byte but its own field, which then no longer matches; the
            // packet has no padding.
            assert!(decode_packet(&damaged).is_err(), "byte {at}");
        }
    }

    #[test]
    fn entries_that_do_not_tile_the_file_are_found() {
        let mut index = sample(3);
        assert!(index.tiles_its_file());
        index.entries[1].offset += 8;
        assert!(!index.tiles_its_file());
        let mut index = sample(3);
        index.file_len += 8;
        assert!(!index.tiles_its_file());
    }

    #[test]
    fn a_count_past_the_body_is_refused_without_reserving() {
        let index = sample(2);
        let mut packet = encode_packet(&index, [4; 16], ByteOrder::Little, 1);
        // entry_count at record body offset 12: header, envelope, file_len, entry_len, flags.
        let at = PACKET_HEADER_LEN + metadata::ENVELOPE_LEN + 12;
        packet[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        // Refused by the record's check first; with the check recomputed, by the count.
        assert!(decode_packet(&packet).is_err());
        let content = &mut packet[PACKET_HEADER_LEN..];
        let len = content.len();
        let check = crc::record_crc(content).unwrap();
        content[len - 4..].copy_from_slice(&check.to_le_bytes());
        let mut iter = RecordIter::new(content, ByteOrder::Little);
        let error = iter.next().unwrap().unwrap_err();
        assert_eq!(error.kind, MetadataErrorKind::Truncated);
    }
}
