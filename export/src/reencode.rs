//! Data packets written anew from the records a reader delivers (§4, §5): `cut`'s packets at a
//! window's edges, `convert --headers`' packets in the other header word, and the CTF export's
//! narrow records in the wide word its TSDL describes.

use tracemark_format::{
    crc::packet_crc, event_header::NARROW_HEADERS_VERSION_MINOR, ByteOrder, HeaderWord, PacketFlags,
    PacketHeader, EXTENDED_HEADER_LEN, PACKET_HEADER_LEN,
};

/// One record to write: event class ID, timestamp, payload.
pub(crate) type Record<'a> = (u32, u64, &'a [u8]);

/// Appends to `content` the records' bytes with headers of `word`, the first counting from
/// `begin` (§5.4). The records stream in: nothing is held per record beyond its bytes.
pub(crate) fn encode_records<'a>(
    content: &mut Vec<u8>,
    records: impl IntoIterator<Item = Record<'a>>,
    begin: u64,
    word: HeaderWord,
    order: ByteOrder,
) {
    let mut previous = begin;
    for record in records {
        push_record(content, record, previous, word, order);
        previous = record.1;
    }
}

/// Appends one record to `content`: its header in `word`, counting from `previous` (§5.4),
/// then its payload.
pub(crate) fn push_record(
    content: &mut Vec<u8>,
    (id, timestamp, payload): Record<'_>,
    previous: u64,
    word: HeaderWord,
    order: ByteOrder,
) {
    let mut header = [0u8; EXTENDED_HEADER_LEN];
    // The buffer holds the longest form: the encoding cannot fail.
    let len = word.encode(id, timestamp, previous, order, &mut header).unwrap_or(0);
    content.extend_from_slice(header.get(..len).unwrap_or(&[]));
    content.extend_from_slice(payload);
}

/// A sealed data packet of `content` (records in `word`) under `header`'s identity, times and
/// accounting: an 80-byte header (§4.1), sizes to fit, no compression, the CRC if `header` had
/// one, and version 1.3 when the records are narrow (§5.7). `None` when the packet would pass
/// the 4 GiB that sizes can state.
pub(crate) fn packet(
    header: &PacketHeader,
    content: &[u8],
    word: HeaderWord,
    order: ByteOrder,
) -> Option<Vec<u8>> {
    let content_size = PACKET_HEADER_LEN.checked_add(content.len())?;
    let packet_size = content_size.checked_next_multiple_of(8)?;
    let version_minor = match word {
        HeaderWord::Wide => header.version_minor,
        HeaderWord::Narrow => header.version_minor.max(NARROW_HEADERS_VERSION_MINOR),
    };
    let header = PacketHeader {
        version_minor,
        header_len: PACKET_HEADER_LEN as u16,
        flags: PacketFlags((header.flags.0 & PacketFlags::HAS_CRC) | word.flag()),
        content_size: u32::try_from(content_size).ok()?,
        packet_size: u32::try_from(packet_size).ok()?,
        ..*header
    };
    let mut bytes = vec![0u8; packet_size];
    bytes.get_mut(PACKET_HEADER_LEN..content_size)?.copy_from_slice(content);
    seal(&mut bytes, header, order);
    Some(bytes)
}

/// Stores `header` at the start of `packet` and, when it has one, its CRC (§4.4).
pub(crate) fn seal(packet: &mut [u8], mut header: PacketHeader, order: ByteOrder) {
    header.crc32 = 0;
    let mut fixed = [0u8; PACKET_HEADER_LEN];
    header.encode(order, &mut fixed);
    if let Some(start) = packet.get_mut(..PACKET_HEADER_LEN) {
        start.copy_from_slice(&fixed);
    }
    if header.flags.has_crc() {
        if let Some(crc) = packet_crc(packet, header.content_size as usize) {
            if let Some(field) = packet.get_mut(tracemark_format::packet::CRC_FIELD) {
                field.copy_from_slice(&order.u32_bytes(crc));
            }
        }
    }
}
