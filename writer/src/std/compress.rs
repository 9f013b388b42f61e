//! Packet compression (§15): a sealed data packet's records compressed, and a sink that
//! compresses the data packets it passes on.

use std::vec::Vec;

use tracemark_format::{
    compress::{Codec, Descriptor, DESCRIPTOR_LEN},
    crc::packet_crc,
    index::INDEX_VERSION_MINOR,
    packet::CRC_FIELD,
    PacketFlags, PacketHeader, PACKET_HEADER_LEN,
};

use crate::{PacketInfo, PacketKind, PacketSink, Result};

/// zstd's level: its default, about as fast to write as LZ4 at level 1 is on trace records,
/// and a third smaller.
const ZSTD_LEVEL: i32 = 3;

/// `packet`, a whole sealed data packet, with its records compressed by `codec` (§15.1): the
/// header kept but for the `COMPRESSED` flag, the 1.2 version, the sizes and the CRC. `None`
/// when it is not a whole uncompressed data packet, or when compressing saves nothing or would
/// break §15.2's bounds: the packet is then stored as it is.
pub fn compress_packet(packet: &[u8], codec: Codec) -> Option<Vec<u8>> {
    let (header, order) = PacketHeader::decode(packet).ok()?;
    let whole = header.packet_size as usize == packet.len();
    if !whole || header.is_metadata() || header.flags.is_compressed() {
        return None;
    }
    let header_len = header.header_len as usize;
    let records = packet.get(header_len..header.content_size as usize)?;
    let compressed = match codec {
        Codec::Zstd => zstd::bulk::compress(records, ZSTD_LEVEL).ok()?,
        Codec::Lz4 => lz4_flex::block::compress(records),
    };
    let content_size = header_len + DESCRIPTOR_LEN + compressed.len();
    let packet_size = content_size.next_multiple_of(8);
    if packet_size >= packet.len() || !Descriptor::fits(records.len(), compressed.len(), header.header_len) {
        return None;
    }
    let mut descriptor = [0u8; DESCRIPTOR_LEN];
    Descriptor { codec, records_size: u32::try_from(records.len()).ok()? }.encode(order, &mut descriptor);
    let header = PacketHeader {
        version_minor: header.version_minor.max(INDEX_VERSION_MINOR),
        flags: PacketFlags(header.flags.0 | PacketFlags::COMPRESSED),
        ..header
    };
    rebuild(packet, header, order, &[&descriptor, &compressed])
}

/// `packet`, a whole compressed data packet, with `records` (its records, decompressed) in
/// place of its compressed content: the packet it was compressed from, but for the version.
/// `None` when it is not a whole compressed packet.
pub fn uncompressed_packet(packet: &[u8], records: &[u8]) -> Option<Vec<u8>> {
    let (header, order) = PacketHeader::decode(packet).ok()?;
    if header.packet_size as usize != packet.len() || !header.flags.is_compressed() {
        return None;
    }
    let header = PacketHeader { flags: PacketFlags(header.flags.0 & !PacketFlags::COMPRESSED), ..header };
    rebuild(packet, header, order, &[records])
}

/// A packet of `header` (its sizes and CRC recomputed), the header fields beyond the fixed ones
/// taken from `packet`, its content the concatenation of `content`.
fn rebuild(
    packet: &[u8],
    header: PacketHeader,
    order: tracemark_format::ByteOrder,
    content: &[&[u8]],
) -> Option<Vec<u8>> {
    let header_len = header.header_len as usize;
    let content_size = header_len + content.iter().map(|part| part.len()).sum::<usize>();
    let packet_size = content_size.next_multiple_of(8);
    let header = PacketHeader {
        crc32: 0,
        content_size: u32::try_from(content_size).ok()?,
        packet_size: u32::try_from(packet_size).ok()?,
        ..header
    };
    let mut out = Vec::with_capacity(packet_size);
    let mut fixed = [0u8; PACKET_HEADER_LEN];
    header.encode(order, &mut fixed);
    out.extend_from_slice(&fixed);
    // Header fields a later minor version appended, kept as they were.
    out.extend_from_slice(packet.get(PACKET_HEADER_LEN..header_len)?);
    content.iter().for_each(|part| out.extend_from_slice(part));
    out.resize(packet_size, 0);
    if header.flags.has_crc() {
        let crc = packet_crc(&out, content_size)?;
        out.get_mut(CRC_FIELD)?.copy_from_slice(&order.u32_bytes(crc));
    }
    Some(out)
}

/// Passes packets on to `S`, each data packet's records compressed by the codec when that
/// saves bytes (§15): a compressed trace from any session or writer.
#[derive(Debug)]
pub struct CompressingSink<S> {
    inner: S,
    codec: Codec,
}

impl<S: PacketSink> CompressingSink<S> {
    /// Compresses with `codec` into `inner`.
    pub fn new(inner: S, codec: Codec) -> CompressingSink<S> {
        CompressingSink { inner, codec }
    }

    /// The sink written to.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: PacketSink> PacketSink for CompressingSink<S> {
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        let compressed = match info.kind {
            PacketKind::Data => compress_packet(packet, self.codec),
            PacketKind::Metadata => None,
        };
        self.inner.write_packet(compressed.as_deref().unwrap_or(packet), info)
    }

    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
}
