//! Finished packets: sealing a packet (header, padding, CRC, §4) and the [`PacketSink`] that
//! takes finished packets.

use alloc::vec::Vec;

use tracemark_format::{crc::packet_crc, packet::CRC_FIELD, ByteOrder, PacketHeader, PACKET_HEADER_LEN};

use crate::Result;

/// Whether a packet belongs to the metadata stream or a data stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// A metadata packet (§7): its stream IDs are 0.
    Metadata,
    /// A data packet of stream (`stream_class_id`, `stream_instance_id`).
    Data,
}

/// What a sink needs to know about a finished packet to place it (§9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketInfo {
    /// Metadata or data.
    pub kind: PacketKind,
    /// Stream class ID (0 for metadata).
    pub stream_class_id: u32,
    /// Stream instance ID (0 for metadata).
    pub stream_instance_id: u32,
    /// Sequence number within its stream.
    pub sequence: u64,
}

/// Takes finished packets, in sequence order per stream.
///
/// Implementations write them to a container (§9) or keep them. A packet whose
/// `write_packet` fails is lost; its sequence number stays consumed, so a reader reports the
/// gap (§10.2).
pub trait PacketSink {
    /// Takes one finished packet: `packet.len()` is its `packet_size`.
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()>;

    /// Pushes buffered bytes to their destination.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    /// Closes the trace: writes what goes last (a file sink's packet index, §14.3), then
    /// flushes. Called once, when the session finishes; a sink that writes nothing more only
    /// flushes.
    fn finish(&mut self) -> Result<()> {
        self.flush()
    }
}

impl<S: PacketSink + ?Sized> PacketSink for &mut S {
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        (**self).write_packet(packet, info)
    }

    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }

    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
}

impl<S: PacketSink + ?Sized> PacketSink for alloc::boxed::Box<S> {
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        (**self).write_packet(packet, info)
    }

    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }

    fn finish(&mut self) -> Result<()> {
        (**self).finish()
    }
}

/// Concatenates packets in arrival order: the single-file form (§9.2), in memory.
impl PacketSink for Vec<u8> {
    fn write_packet(&mut self, packet: &[u8], _: &PacketInfo) -> Result<()> {
        self.extend_from_slice(packet);
        Ok(())
    }
}

/// Finishes a packet in place: writes `header` (with `crc32` ignored) into its first 80 bytes,
/// zeroes the padding after `content_size`, and stores the CRC when `HAS_CRC` is set (§4.4).
/// `packet` is exactly `header.packet_size` bytes.
pub fn seal(packet: &mut [u8], header: &PacketHeader, order: ByteOrder) {
    let content_size = header.content_size as usize;
    debug_assert_eq!(packet.len(), header.packet_size as usize);
    if let Some(padding) = packet.get_mut(content_size..) {
        padding.fill(0);
    }
    let mut bytes = [0u8; PACKET_HEADER_LEN];
    PacketHeader { crc32: 0, ..*header }.encode(order, &mut bytes);
    if let Some(dst) = packet.get_mut(..PACKET_HEADER_LEN) {
        dst.copy_from_slice(&bytes);
    }
    if header.flags.has_crc() {
        let crc = packet_crc(packet, content_size).unwrap_or(0);
        if let Some(dst) = packet.get_mut(CRC_FIELD) {
            dst.copy_from_slice(&order.u32_bytes(crc));
        }
    }
}

/// `value` rounded up to a multiple of 8 (§4.2).
pub(crate) const fn align8(value: usize) -> usize {
    (value + 7) & !7
}
