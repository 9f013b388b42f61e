//! The metadata file of a CTF trace: TSDL text, plain or cut into packets (CTF 1.8 §7.1),
//! as LTTng writes it.

use std::borrow::Cow;

/// The first word of a metadata packet, in the writer's byte order.
pub const METADATA_PACKET_MAGIC: u32 = 0x75D1_1D57;

/// Bytes of a metadata packet header: magic, UUID, checksum, content and packet sizes (bits),
/// compression, encryption and checksum schemes, major and minor.
pub const METADATA_PACKET_HEADER_LEN: usize = 37;

/// The metadata file is neither TSDL text nor well-formed metadata packets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CTF metadata file, byte {offset}: {reason} (CTF 1.8 §7.1)")]
pub struct MetadataStreamError {
    /// Where in the file.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// The TSDL text of a metadata file: the file itself when it is text, the packets' contents
/// joined when it is packetized. Packets must agree on their UUID and carry neither
/// compression, encryption nor checksums (LTTng writes none).
pub fn metadata_text(file: &[u8]) -> Result<Cow<'_, str>, MetadataStreamError> {
    let Some(little) = packet_byte_order(file) else {
        return std::str::from_utf8(file).map(Cow::Borrowed).map_err(|error| MetadataStreamError {
            offset: error.valid_up_to() as u64,
            reason: "the metadata text is not UTF-8".into(),
        });
    };
    let mut text = Vec::with_capacity(file.len());
    let mut uuid = None;
    let mut at = 0usize;
    while at < file.len() {
        let fail = |reason: String| MetadataStreamError { offset: at as u64, reason };
        let Some(header) = file.get(at..at + METADATA_PACKET_HEADER_LEN) else {
            return Err(fail(format!(
                "{} bytes left, a packet header takes {METADATA_PACKET_HEADER_LEN}",
                file.len() - at
            )));
        };
        let word = |offset: usize| {
            let bytes = [header[offset], header[offset + 1], header[offset + 2], header[offset + 3]];
            if little {
                u32::from_le_bytes(bytes)
            } else {
                u32::from_be_bytes(bytes)
            }
        };
        if word(0) != METADATA_PACKET_MAGIC {
            return Err(fail(format!("magic {:#010x}, expected {METADATA_PACKET_MAGIC:#010x}", word(0))));
        }
        let packet_uuid: [u8; 16] = header[4..20].try_into().unwrap_or_default();
        if *uuid.get_or_insert(packet_uuid) != packet_uuid {
            return Err(fail("this packet's UUID differs from the first packet's".into()));
        }
        let (content_bits, packet_bits) = (u64::from(word(24)), u64::from(word(28)));
        let (compression, encryption, checksum) = (header[32], header[33], header[34]);
        if (compression, encryption, checksum) != (0, 0, 0) {
            return Err(fail(format!(
                "compression scheme {compression}, encryption scheme {encryption}, checksum scheme {checksum}: only 0 (none) is read"
            )));
        }
        if packet_bits % 8 != 0 || content_bits % 8 != 0 {
            return Err(fail(format!(
                "content size {content_bits} or packet size {packet_bits} bits is not whole bytes"
            )));
        }
        let (content, packet) = (content_bits / 8, packet_bits / 8);
        if content < METADATA_PACKET_HEADER_LEN as u64 || content > packet {
            return Err(fail(format!("content size {content} bytes outside the header's {METADATA_PACKET_HEADER_LEN} and the packet's {packet}")));
        }
        let end = at as u64 + packet;
        if end > file.len() as u64 {
            return Err(fail(format!(
                "the packet of {packet} bytes runs past the file's end at {}",
                file.len()
            )));
        }
        text.extend_from_slice(&file[at + METADATA_PACKET_HEADER_LEN..at + content as usize]);
        at = end as usize;
    }
    String::from_utf8(text).map(Cow::Owned).map_err(|error| MetadataStreamError {
        offset: error.utf8_error().valid_up_to() as u64,
        reason: "the metadata text (packet contents joined, this offset within them) is not UTF-8".into(),
    })
}

/// Whether `file` begins with a metadata packet, and whether it is little-endian.
fn packet_byte_order(file: &[u8]) -> Option<bool> {
    let magic: [u8; 4] = file.get(..4)?.try_into().ok()?;
    if u32::from_le_bytes(magic) == METADATA_PACKET_MAGIC {
        Some(true)
    } else if u32::from_be_bytes(magic) == METADATA_PACKET_MAGIC {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(text: &str, padding: usize, little: bool) -> Vec<u8> {
        let content = (METADATA_PACKET_HEADER_LEN + text.len()) as u32 * 8;
        let packet = content + padding as u32 * 8;
        let word = |value: u32| if little { value.to_le_bytes() } else { value.to_be_bytes() };
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&word(METADATA_PACKET_MAGIC));
        bytes.extend_from_slice(&[7; 16]);
        bytes.extend_from_slice(&word(0));
        bytes.extend_from_slice(&word(content));
        bytes.extend_from_slice(&word(packet));
        bytes.extend_from_slice(&[0, 0, 0, 1, 8]);
        bytes.extend_from_slice(text.as_bytes());
        bytes.resize(bytes.len() + padding, 0);
        bytes
    }

    #[test]
    fn packets_are_joined_in_either_byte_order() {
        for little in [true, false] {
            let mut file = packet("trace { major = 1; ", 100, little);
            file.extend(packet("minor = 8; };", 0, little));
            assert_eq!(metadata_text(&file).unwrap(), "trace { major = 1; minor = 8; };");
        }
        assert!(matches!(metadata_text(b"/* CTF 1.8 */"), Ok(Cow::Borrowed("/* CTF 1.8 */"))));
    }

    #[test]
    fn damaged_packets_are_refused_with_their_offset() {
        let good = packet("abc", 3, true);
        let second = good.len() as u64;
        let cases: Vec<(Vec<u8>, u64, &str)> = vec![
            ([good.clone(), good[..20].to_vec()].concat(), second, "packet header takes"),
            ([good.clone(), packet("x", 0, false)].concat(), second, "magic"),
            (
                {
                    let mut other = packet("x", 0, true);
                    other[4] = 8;
                    [good.clone(), other].concat()
                },
                second,
                "UUID",
            ),
            (
                {
                    let mut compressed = good.clone();
                    compressed[32] = 1;
                    compressed
                },
                0,
                "compression scheme 1",
            ),
            (good[..good.len() - 1].to_vec(), 0, "runs past"),
            (
                {
                    let mut short = good.clone();
                    short[24..28].copy_from_slice(&(8u32 * 36).to_le_bytes());
                    short
                },
                0,
                "content size 36",
            ),
            (packet("caf\u{e9}", 0, true)[..METADATA_PACKET_HEADER_LEN + 4].to_vec(), 0, "runs past"),
            (b"trace \xff".to_vec(), 6, "not UTF-8"),
        ];
        for (file, offset, words) in cases {
            let error = metadata_text(&file).unwrap_err();
            assert_eq!(error.offset, offset, "{error}");
            assert!(error.to_string().contains(words), "{error}");
        }
    }
}
