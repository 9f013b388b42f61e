//! The packet backend: owns the memory of a stream's packet (provided by the caller) and does
//! the copying; knows nothing about positions or events.
//!
//! Today a stream has one packet buffer, handed to the consumer synchronously at each switch.
//! The per-CPU ring buffer will give it several sub-buffers (one packet each) and hand them
//! over asynchronously; the frontend's reserve/commit split already matches that.

use tracemark_format::{ByteOrder, PacketHeader, PACKET_HEADER_LEN};

use crate::{packet::seal, Error, Result};

/// Packet memory of one stream.
#[derive(Debug)]
pub struct PacketBuffer<B> {
    memory: B,
    packet_size: usize,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> PacketBuffer<B> {
    /// Uses the first `packet_size` bytes of `memory` as the packet.
    pub fn new(memory: B, packet_size: u32) -> Result<PacketBuffer<B>> {
        let packet_size = packet_size as usize;
        if memory.as_ref().len() < packet_size || packet_size < PACKET_HEADER_LEN {
            return Err(Error::InvalidConfig("packet memory is smaller than the packet size"));
        }
        Ok(PacketBuffer { memory, packet_size })
    }

    /// The packet size.
    #[inline(always)]
    pub fn packet_size(&self) -> usize {
        self.packet_size
    }

    /// Bytes `[start, end)` of the packet; empty when out of range (never panics).
    #[inline(always)]
    pub fn range_mut(&mut self, start: usize, end: usize) -> &mut [u8] {
        self.memory.as_mut().get_mut(start..end).unwrap_or_default()
    }

    /// Writes the final header, zeroes the padding, stores the CRC, and returns the packet.
    pub fn seal(&mut self, header: &PacketHeader, order: ByteOrder) -> &[u8] {
        let packet_size = self.packet_size;
        let packet = self.range_mut(0, packet_size);
        seal(packet, header, order);
        self.memory.as_ref().get(..packet_size).unwrap_or_default()
    }

    /// Gives the memory back.
    pub fn into_inner(self) -> B {
        self.memory
    }
}
