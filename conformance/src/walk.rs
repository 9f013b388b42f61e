//! The packets of a container file, found as §9.3 and §10.6 say: by `packet_size` from offset
//! 0, and after a bad header by a search at 8-byte steps. Written with the format crate alone,
//! apart from the reader, so the rules of [`crate::check`] and the damage sweep do not depend
//! on the code they check.

use tracemark_format::{packet::PACKET_ALIGN, ByteOrder, HeaderError, PacketHeader, PACKET_HEADER_LEN};

/// A packet found in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Offset of the packet in the file.
    pub offset: usize,
    /// Its header.
    pub header: PacketHeader,
    /// Its byte order.
    pub order: ByteOrder,
    /// Bytes present: `packet_size`, or fewer when the file ends first.
    pub available: usize,
}

impl Placed {
    /// The packet's bytes present in `file`.
    pub fn bytes<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        file.get(self.offset..).and_then(|rest| rest.get(..self.available)).unwrap_or(&[])
    }

    /// The records region `[header_len, content_size)`, cut to the bytes present.
    pub fn content<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        let bytes = self.bytes(file);
        let end = (self.header.content_size as usize).min(bytes.len());
        bytes.get(self.header.header_len as usize..end).unwrap_or(&[])
    }

    /// Offset in the file of the first record.
    pub fn content_offset(&self) -> usize {
        self.offset.saturating_add(self.header.header_len as usize)
    }

    /// Offset just past the packet's bytes present.
    pub fn end(&self) -> usize {
        self.offset.saturating_add(self.available)
    }

    /// Whether the file holds all `packet_size` bytes.
    pub fn is_complete(&self) -> bool {
        self.available == self.header.packet_size as usize
    }
}

/// Something found walking a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A packet with a valid header.
    Packet(Placed),
    /// An invalid header at `offset`; the walk resumed at `resumed` (the file's length when
    /// no valid header follows).
    Bad {
        /// Where the bad header is.
        offset: usize,
        /// Why it is bad.
        error: HeaderError,
        /// Where the next valid header is.
        resumed: usize,
    },
}

fn find_header(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let rest = bytes.get(at..)?;
        if rest.len() < PACKET_HEADER_LEN {
            return None;
        }
        if PacketHeader::decode(rest).is_ok() {
            return Some(at);
        }
        at = at.checked_add(PACKET_ALIGN)?;
    }
}

/// Walks `bytes` packet by packet. A packet cut by the end of the file is the last one found
/// (§10.4); a header cut by the end of the file is not a packet.
pub fn walk(bytes: &[u8]) -> Vec<Found> {
    Walk::new(bytes).collect()
}

/// [`walk`] as an iterator: one packet header read per step, so a caller can finish with the
/// bytes behind it (and give them back) before the walk reaches the end of a large file.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
    done: bool,
}

impl<'a> Walk<'a> {
    /// A walk of `bytes` from offset 0.
    pub fn new(bytes: &'a [u8]) -> Walk<'a> {
        Walk { bytes, at: 0, done: false }
    }
}

impl Iterator for Walk<'_> {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        if self.done {
            return None;
        }
        let Some(rest) = self.bytes.get(self.at..).filter(|rest| !rest.is_empty()) else {
            self.done = true;
            return None;
        };
        match PacketHeader::decode(rest) {
            Ok((header, order)) => {
                let size = header.packet_size as usize;
                let available = size.min(rest.len());
                let found = Found::Packet(Placed { offset: self.at, header, order, available });
                // packet_size >= header_len >= 80, as validated: the walk always advances.
                self.at = self.at.saturating_add(size);
                self.done = available < size;
                Some(found)
            }
            Err(HeaderError::Truncated { .. }) if PacketHeader::detect_byte_order(rest).is_ok() => {
                self.done = true;
                None
            }
            Err(error) => {
                let resumed =
                    self.at.checked_add(PACKET_ALIGN).and_then(|from| find_header(self.bytes, from));
                let resumed = resumed.unwrap_or(self.bytes.len());
                let found = Found::Bad { offset: self.at, error, resumed };
                self.at = resumed;
                Some(found)
            }
        }
    }
}

/// The packets of `walk(bytes)`.
pub fn packets(bytes: &[u8]) -> Vec<Placed> {
    walk(bytes)
        .into_iter()
        .filter_map(|found| match found {
            Found::Packet(placed) => Some(placed),
            Found::Bad { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(content: u32, size: u32) -> Vec<u8> {
        let header = PacketHeader {
            content_size: content,
            packet_size: size,
            ..PacketHeader::new_data([9; 16], 0, 1)
        };
        let mut bytes = vec![0u8; size as usize];
        let mut fixed = [0u8; PACKET_HEADER_LEN];
        header.encode(ByteOrder::Big, &mut fixed);
        bytes[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
        bytes
    }

    #[test]
    fn walks_resyncs_and_stops_at_a_cut_packet() {
        let mut file = packet(88, 96);
        file.extend_from_slice(&[0x77; 16]);
        file.extend(packet(80, 128));
        file.truncate(file.len() - 8);
        let found = walk(&file);
        assert!(matches!(found[0], Found::Packet(Placed { offset: 0, available: 96, .. })));
        assert!(matches!(
            found[1],
            Found::Bad { offset: 96, resumed: 112, error: HeaderError::BadMagic { .. } }
        ));
        match found[2] {
            Found::Packet(placed) => {
                assert_eq!((placed.offset, placed.available, placed.is_complete()), (112, 120, false));
                assert_eq!(placed.content(&file).len(), 0);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(found.len(), 3);
        assert_eq!(packets(&file).len(), 2);
        assert!(walk(&file[..40]).is_empty(), "a cut header is not a packet");
    }
}
