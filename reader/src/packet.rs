//! Packet walking (§9.3), resynchronisation after a bad header (§10.6), truncation (§10.4)
//! and the packet CRC (§4.4).

use std::sync::Arc;

use tracemark_format::{crc::packet_crc, ByteOrder, HeaderError, PacketHeader, PACKET_HEADER_LEN};

use crate::diagnostic::{Diagnostic, DiagnosticKind};

/// Packets and headers are sized and searched in multiples of this (§4.2, §10.6).
const ALIGN: usize = 8;

/// A packet found in a container file, its header decoded and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPacket {
    /// Index of the file in the container.
    pub(crate) file: usize,
    /// Offset of the packet in the file.
    pub(crate) offset: usize,
    pub(crate) header: PacketHeader,
    pub(crate) order: ByteOrder,
    /// Bytes of the packet present in the file (`packet_size` unless truncated).
    pub(crate) available: usize,
}

/// The outcome of checking a packet's CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrcStatus {
    /// `HAS_CRC` is clear.
    Absent,
    /// The CRC matches.
    Valid,
    /// The CRC does not match.
    Mismatch { expected: u32, found: u32 },
    /// The content is cut short by truncation, so the CRC cannot be computed.
    Unchecked,
}

impl RawPacket {
    /// The packet's bytes present in `file`.
    pub(crate) fn bytes<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        file.get(self.offset..).and_then(|rest| rest.get(..self.available)).unwrap_or(&[])
    }

    /// `content_size`, as a `usize`.
    fn content_size(&self) -> usize {
        self.header.content_size as usize
    }

    /// The packet as a file now `file_len` bytes long holds it, when that is less than it held
    /// when opened: the file shrank under the reader (§10.4). `None` when it still holds it.
    pub(crate) fn cut_to(&self, file_len: usize) -> Option<RawPacket> {
        (file_len < self.offset.saturating_add(self.available))
            .then(|| RawPacket { available: file_len.saturating_sub(self.offset), ..self.clone() })
    }

    /// Whether the file ends before the packet's content does.
    pub(crate) fn content_cut(&self) -> bool {
        self.available < self.content_size()
    }

    /// The records region `[header_len, content_size)`, cut to the bytes present.
    pub(crate) fn content<'a>(&self, file: &'a [u8]) -> &'a [u8] {
        let bytes = self.bytes(file);
        let end = self.content_size().min(bytes.len());
        bytes.get(self.header.header_len as usize..end).unwrap_or(&[])
    }

    /// Offset of the records region in the file.
    pub(crate) fn content_offset(&self) -> u64 {
        (self.offset as u64).saturating_add(u64::from(self.header.header_len))
    }

    /// Checks the CRC (§4.4).
    pub(crate) fn crc(&self, file: &[u8]) -> CrcStatus {
        if !self.header.flags.has_crc() {
            return CrcStatus::Absent;
        }
        match packet_crc(self.bytes(file), self.content_size()) {
            None => CrcStatus::Unchecked,
            Some(found) if found == self.header.crc32 => CrcStatus::Valid,
            Some(found) => CrcStatus::Mismatch { expected: self.header.crc32, found },
        }
    }
}

/// How the header of the packet `raw` stands for, read from `file` now, differs from
/// `raw.header`: the first differing field (§4.1), `"byte order"`, or `"header"` when no valid
/// header is there; `None` when it is the same. For a packet found through an index, whose
/// header was taken from its entry (R-14.4-2).
pub(crate) fn header_difference(
    file: &crate::container::ContainerFile,
    raw: &RawPacket,
) -> Option<&'static str> {
    let mut head = [0u8; PACKET_HEADER_LEN];
    let read = file.backing.read_at(raw.offset, &mut head);
    match PacketHeader::decode(head.get(..read).unwrap_or(&[])) {
        Err(_) => Some("header"),
        Ok((_, order)) if order != raw.order => Some("byte order"),
        Ok((header, _)) => raw.header.first_difference(&header),
    }
}

/// One thing found while walking a file: a packet, or a problem between packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Walked {
    Packet(RawPacket),
    Problem(Diagnostic),
}

/// The first offset at or after `from`, stepping by 8 bytes, where a valid header starts.
fn find_header(bytes: &[u8], from: usize) -> Option<usize> {
    find_header_where(bytes, from, |_| true)
}

/// The first valid header at or after `from`, at 8-byte steps, that `accept` takes.
fn find_header_where(bytes: &[u8], from: usize, accept: impl Fn(&PacketHeader) -> bool) -> Option<usize> {
    let mut at = from;
    loop {
        let rest = bytes.get(at..)?;
        if rest.len() < PACKET_HEADER_LEN {
            return None;
        }
        if PacketHeader::decode(rest).is_ok_and(|(header, _)| accept(&header)) {
            return Some(at);
        }
        at = at.checked_add(ALIGN)?;
    }
}

fn round_up(value: usize) -> usize {
    value.checked_next_multiple_of(ALIGN).unwrap_or(usize::MAX)
}

/// Headers that follow packets up to this size are read through the map, the others with
/// `read_at`. A fault through the map (about 5 µs in a virtual machine) maps the 16 pages
/// around it, with the headers of the packets in them; a read (`pread(2)`) copies one header
/// and maps nothing. Opening 271 MB of 64 KiB packets: 25-34 ms through the map, 8-13 ms this
/// way. For 4 KiB and 512-byte packets a read per header was 1.5 times slower than the map,
/// which this keeps.
const READ_THROUGH_MAP: usize = 8 << 10;

/// Walks the packets of one container file by `packet_size` (§9.3).
///
/// A bad header is reported and followed by a search for the next valid header at 8-byte
/// steps (§10.6). A packet running past the end of the file is reported as truncated (§10.4);
/// when its content is complete, the bytes after the content are searched for further
/// packets, so that a damaged `packet_size` does not hide the rest of the file.
pub(crate) fn walk(bytes: &[u8], file: usize, name: &Arc<str>) -> Vec<Walked> {
    let read_at = |offset: usize, buf: &mut [u8]| crate::container::copy_at(bytes, offset, buf);
    walk_with_progress(bytes, read_at, file, name, |_| {})
}

/// [`walk`], reading the headers through `read_at(offset, buffer)` (which copies the bytes
/// at `offset` that fit in `buffer` and returns how many; see
/// [`Backing::read_at`](crate::container::Backing::read_at)), and calling `passed(offset)`
/// every few megabytes with the offset reached, so that the caller can give back the pages
/// behind it (the search for a header after a bad one reads `bytes`).
pub(crate) fn walk_with_progress(
    bytes: &[u8],
    read_at: impl Fn(usize, &mut [u8]) -> usize,
    file: usize,
    name: &Arc<str>,
    mut passed: impl FnMut(usize),
) -> Vec<Walked> {
    /// How far the walk goes between two calls of `passed`.
    const PROGRESS_STEP: usize = 4 << 20;
    let mut found = Vec::new();
    let problem = |kind, offset: usize| Walked::Problem(Diagnostic::new(kind, name.clone(), offset as u64));
    let mut at = 0usize;
    let mut reported = 0usize;
    let mut head_buffer = [0u8; PACKET_HEADER_LEN];
    // Where the last header was read (the first is read through the map).
    let mut previous = 0usize;
    // The last packet walked past by its `packet_size`: its index in `found`, its offset, where
    // its content ends and its trace UUID.
    let mut last_fitting: Option<(usize, usize, usize, [u8; 16])> = None;
    while let Some(rest) = bytes.get(at..).filter(|rest| !rest.is_empty()) {
        if at.saturating_sub(reported) >= PROGRESS_STEP {
            passed(at);
            reported = at;
        }
        // The header's fixed part: all that decoding it reads.
        let head = if at.saturating_sub(previous) <= READ_THROUGH_MAP {
            rest.get(..PACKET_HEADER_LEN).unwrap_or(rest)
        } else {
            let read = read_at(at, &mut head_buffer);
            head_buffer.get(..read).unwrap_or(&[])
        };
        previous = at;
        let led_here = last_fitting.take();
        let (header, order) = match PacketHeader::decode(head) {
            Ok(decoded) => decoded,
            Err(HeaderError::Truncated { available }) if PacketHeader::detect_byte_order(head).is_ok() => {
                // A header cut by the end of the file: a truncated packet (§10.4).
                let kind = DiagnosticKind::TruncatedPacket {
                    available: available as u64,
                    needed: PACKET_HEADER_LEN as u64,
                };
                found.push(problem(kind, at));
                break;
            }
            Err(error) => {
                // Where the last packet's `packet_size` led, no header: when a header of its
                // trace starts between its content's end and here, that size lied (R-10.4-3).
                if let Some((index, start, content_end, uuid)) = led_here {
                    let before_here = bytes.get(..at.saturating_add(PACKET_HEADER_LEN - 1)).unwrap_or(bytes);
                    let from = start.saturating_add(round_up(content_end.saturating_sub(start)));
                    if let Some(next) = find_header_where(before_here, from, |found| found.trace_uuid == uuid)
                    {
                        if let Some(Walked::Packet(raw)) = found.get_mut(index) {
                            let needed = raw.available as u64;
                            raw.available = next - start;
                            let kind =
                                DiagnosticKind::TruncatedPacket { available: (next - start) as u64, needed };
                            found.insert(index, problem(kind, start));
                            let kind = DiagnosticKind::Resynchronized {
                                skipped_bytes: next.saturating_sub(content_end) as u64,
                                found_header: true,
                            };
                            found.push(problem(kind, content_end));
                            at = next;
                            continue;
                        }
                    }
                }
                found.push(problem(DiagnosticKind::BadHeader(error), at));
                let next = at.checked_add(ALIGN).and_then(|from| find_header(bytes, from));
                let resumed = next.unwrap_or(bytes.len());
                let kind = DiagnosticKind::Resynchronized {
                    skipped_bytes: resumed.saturating_sub(at) as u64,
                    found_header: next.is_some(),
                };
                found.push(problem(kind, at));
                at = resumed;
                continue;
            }
        };
        let packet_size = header.packet_size as usize;
        if packet_size <= rest.len() {
            let content_end = at.saturating_add(header.content_size as usize);
            last_fitting = Some((found.len(), at, content_end, header.trace_uuid));
            found.push(Walked::Packet(RawPacket { file, offset: at, header, order, available: packet_size }));
            // `packet_size >= header_len >= 80`, as validated, so this always advances.
            at = at.saturating_add(packet_size.max(ALIGN));
            continue;
        }
        // The packet runs past the end of the file: the file was cut (§10.4), or the header's
        // sizes lie. Either way a valid header of the same trace found after the packet's
        // content, or, when the content too runs past the end, after the packet's own header,
        // ends it there (§10.6): a size that lies costs no later packet. The search starts
        // right after the fixed header, since `header_len` may lie too.
        let content_end = (header.content_size as usize).min(rest.len());
        let content_fits = (header.content_size as usize) <= rest.len();
        let next = if content_fits {
            find_header(bytes, at.saturating_add(round_up(content_end)))
        } else {
            let after_header = at.saturating_add(PACKET_HEADER_LEN);
            find_header_where(bytes, after_header, |found| found.trace_uuid == header.trace_uuid)
        };
        let available = next.map_or(rest.len(), |next| next.saturating_sub(at));
        let kind =
            DiagnosticKind::TruncatedPacket { available: available as u64, needed: packet_size as u64 };
        found.push(problem(kind, at));
        found.push(Walked::Packet(RawPacket { file, offset: at, header, order, available }));
        match next {
            Some(next) => {
                // Bytes between the content's end and the next header are skipped; a header
                // found inside content that runs past the end skips nothing.
                let content_end = at.saturating_add(content_end);
                if content_fits {
                    let kind = DiagnosticKind::Resynchronized {
                        skipped_bytes: next.saturating_sub(content_end) as u64,
                        found_header: true,
                    };
                    found.push(problem(kind, content_end));
                }
                at = next;
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(order: ByteOrder, content: usize, size: usize) -> Vec<u8> {
        let header = PacketHeader {
            content_size: content as u32,
            packet_size: size as u32,
            ..PacketHeader::new_data([1; 16], 0, 0)
        };
        let mut bytes = vec![0u8; size];
        let mut fixed = [0u8; PACKET_HEADER_LEN];
        header.encode(order, &mut fixed);
        bytes[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
        bytes
    }

    /// Each packet walked: its offset and the bytes it spans.
    fn placed(walked: &[Walked]) -> Vec<(usize, usize)> {
        walked
            .iter()
            .filter_map(
                |item| if let Walked::Packet(p) = item { Some((p.offset, p.available)) } else { None },
            )
            .collect()
    }

    fn name() -> Arc<str> {
        Arc::from("f")
    }

    #[test]
    fn walks_by_packet_size_and_resyncs_after_garbage() {
        let mut file = packet(ByteOrder::Little, 80, 96);
        file.extend_from_slice(&[0xEE; 24]);
        file.extend(packet(ByteOrder::Big, 88, 88));
        let walked = walk(&file, 0, &name());
        assert_eq!(walked.len(), 4, "{walked:?}");
        assert!(
            matches!(&walked[1], Walked::Problem(d) if matches!(d.kind, DiagnosticKind::BadHeader(_)) && d.offset == 96)
        );
        assert!(
            matches!(&walked[2], Walked::Problem(d) if d.kind == DiagnosticKind::Resynchronized { skipped_bytes: 24, found_header: true })
        );
        assert!(matches!(&walked[3], Walked::Packet(p) if p.offset == 120 && p.order == ByteOrder::Big));
    }

    #[test]
    fn truncation_and_trailing_garbage_are_reported() {
        let mut file = packet(ByteOrder::Little, 80, 160);
        file.truncate(100);
        let walked = walk(&file, 0, &name());
        assert!(
            matches!(&walked[0], Walked::Problem(d) if d.kind == DiagnosticKind::TruncatedPacket { available: 100, needed: 160 })
        );
        assert!(matches!(&walked[1], Walked::Packet(p) if p.available == 100 && !p.content_cut()));
        assert_eq!(walked.len(), 2);

        let mut file = packet(ByteOrder::Little, 80, 80);
        file.extend_from_slice(&[0x55; 13]);
        let walked = walk(&file, 0, &name());
        assert!(
            matches!(&walked[2], Walked::Problem(d) if d.kind == DiagnosticKind::Resynchronized { skipped_bytes: 13, found_header: false })
        );

        assert!(walk(&[], 0, &name()).is_empty());
    }

    #[test]
    fn an_oversized_packet_size_does_not_hide_later_packets() {
        let mut first = packet(ByteOrder::Little, 80, 96);
        first[68..72].copy_from_slice(&4096u32.to_le_bytes());
        first.extend(packet(ByteOrder::Little, 80, 80));
        let walked = walk(&first, 0, &name());
        let packets = placed(&walked);
        assert_eq!(packets, [(0, 96), (96, 80)]);
    }

    #[test]
    fn a_packet_size_past_the_next_header_does_not_hide_it() {
        // The first packet's packet_size claims 16 bytes more than it has: the walk lands
        // inside the second packet, and the second is found after the first's content.
        let mut bytes = packet(ByteOrder::Little, 88, 96);
        bytes[68..72].copy_from_slice(&112u32.to_le_bytes());
        bytes.extend(packet(ByteOrder::Little, 96, 96));
        bytes.extend(packet(ByteOrder::Little, 80, 80));
        let walked = walk(&bytes, 0, &name());
        let packets = placed(&walked);
        assert_eq!(packets, [(0, 96), (96, 96), (192, 80)], "{walked:?}");
        assert!(matches!(&walked[0], Walked::Problem(d)
            if d.kind == DiagnosticKind::TruncatedPacket { available: 96, needed: 112 }));
        assert!(!walked.iter().any(
            |item| matches!(item, Walked::Problem(d) if matches!(d.kind, DiagnosticKind::BadHeader(_)))
        ));
        // A header of another trace there does not end it: the landing spot is reported.
        let mut foreign = bytes.clone();
        foreign[96 + 16..96 + 32].copy_from_slice(&[9; 16]);
        let walked = walk(&foreign, 0, &name());
        assert!(walked.iter().any(
            |item| matches!(item, Walked::Problem(d) if matches!(d.kind, DiagnosticKind::BadHeader(_)))
        ));
    }

    #[test]
    fn sizes_claiming_gigabytes_do_not_hide_later_packets_of_the_trace() {
        // content_size and packet_size both claim 4 GiB (a valid but lying header): the next
        // header of the same trace ends the packet, found from right after its fixed header.
        for header_len in [80u16, 65_528] {
            let mut first = packet(ByteOrder::Little, 120, 120);
            first[6..8].copy_from_slice(&header_len.to_le_bytes());
            first[64..68].copy_from_slice(&0xFFFF_FFF8u32.to_le_bytes());
            first[68..72].copy_from_slice(&0xFFFF_FFF8u32.to_le_bytes());
            first.extend(packet(ByteOrder::Little, 96, 96));
            first.extend(packet(ByteOrder::Big, 80, 80));
            // A header of another trace inside a packet does not end it.
            let mut foreign = packet(ByteOrder::Little, 80, 80);
            foreign[16..32].copy_from_slice(&[9; 16]);
            let mut lying = first[..120].to_vec();
            lying.extend(&foreign);
            lying.extend(&first[120..]);
            let walked = walk(&lying, 0, &name());
            let packets = placed(&walked);
            assert_eq!(packets, [(0, 200), (200, 96), (296, 80)], "header_len {header_len}: {walked:?}");
            assert!(matches!(&walked[0], Walked::Problem(d)
                if d.kind == DiagnosticKind::TruncatedPacket { available: 200, needed: 0xFFFF_FFF8 }));
        }
    }
}
