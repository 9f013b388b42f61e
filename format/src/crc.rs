//! The packet CRC (§4.4) and the metadata record check (§7.2).

use crate::{metadata::ENVELOPE_LEN, packet::CRC_FIELD};

/// CRC-32 (zlib) of packet bytes `[0, 12)` and `[16, content_size)`: everything but the CRC
/// field and the padding. `None` when `packet` is shorter than `content_size` or the header.
pub fn packet_crc(packet: &[u8], content_size: usize) -> Option<u32> {
    let before = packet.get(..CRC_FIELD.start)?;
    let after = packet.get(CRC_FIELD.end..content_size)?;
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(before);
    hasher.update(after);
    Some(hasher.finalize())
}

/// The check of a metadata record (§7.2): the CRC-32 (zlib) of its 8-byte envelope, as written
/// (`flags` and `body_len` included), and of its body without the check's own last 4 bytes.
/// `None` when `record` is shorter than an envelope and a check.
pub fn record_crc(record: &[u8]) -> Option<u32> {
    let covered = record.len().checked_sub(crate::metadata::RECORD_CHECK_LEN)?;
    if covered < ENVELOPE_LEN {
        return None;
    }
    Some(crc32fast::hash(&record[..covered]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_ignores_its_own_field_and_the_padding() {
        let mut packet = [0u8; 64];
        for (i, byte) in packet.iter_mut().enumerate() {
            *byte = i as u8;
        }
        let crc = packet_crc(&packet, 48).unwrap();
        packet[13] ^= 0xFF;
        packet[50] ^= 0xFF;
        assert_eq!(packet_crc(&packet, 48), Some(crc));
        packet[47] ^= 1;
        assert_ne!(packet_crc(&packet, 48), Some(crc));
        assert_eq!(packet_crc(&packet, 65), None);
        // zlib's check value: crc32("123456789") = 0xCBF43926, split around a 4-byte hole.
        let mut check = *b"123456789012XXXX3456789";
        check[12..16].copy_from_slice(b"XXXX");
        let mut plain = crc32fast::Hasher::new();
        plain.update(b"123456789012");
        plain.update(b"3456789");
        assert_eq!(packet_crc(&check, check.len()), Some(plain.finalize()));
    }
}
