//! A trace rewritten as one tracemark file, its data packets compressed (§15) or not, their
//! records' header word (§5.1) kept or changed:
//! `tracemark convert --to tracemark [--compress zstd|lz4|none] [--headers wide|narrow]`.
//!
//! The metadata packets come first, as they are; then every stream's data packets, the streams'
//! packets interleaved by their beginning in time, each compressed with the codec asked for
//! (when that saves bytes) or decompressed; then the file's packet index (§14). Packets are
//! otherwise copied byte for byte: sequence numbers, discard counts and a CRC that fails stay
//! what they were, so a reader of the copy reports what a reader of the original does. A packet
//! cut short (§10.4) is left out: in a single file, it would hide the packets after it.
//!
//! A packet in another header word than the one asked for is written anew from its records,
//! with the same header fields but for sizes, flags and version (an extended header is not
//! kept: §5.4 picks the form again). One whose records a reader does not all deliver (a CRC
//! that fails, a malformed record, a timestamp going backwards) is copied as it is instead: the
//! records after the damage cannot be found, and the copy keeps the damage reported.

use std::io::Write;

use tracemark_format::{compress::Codec, HeaderWord};
use tracemark_reader::{DiagnosticKind, Item, PacketView, Trace};
use tracemark_writer::{compress_packet, uncompressed_packet, Indexer};

use crate::{reencode, ExportError};

/// What a repack wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepackSummary {
    /// Metadata packets copied (an index packet is not: the copy gets its own).
    pub metadata_packets: usize,
    /// Data packets written.
    pub packets: usize,
    /// Of those, stored compressed.
    pub compressed: usize,
    /// Of those, written anew in the header word asked for.
    pub reencoded: usize,
    /// Packets in another header word copied as they are: not every record is delivered.
    pub kept_damaged: usize,
    /// Data packets left out because they are cut short (§10.4).
    pub cut_short: usize,
    /// Bytes of the data packets read.
    pub data_bytes_in: u64,
    /// Bytes of the data packets written.
    pub data_bytes_out: u64,
    /// Bytes written, the index included.
    pub bytes: u64,
}

/// Writes `trace` to `out` as one tracemark file whose data packets are compressed with `codec`,
/// or uncompressed when it is `None`, and whose records use the header word `headers` (or keep
/// theirs when it is `None`), as the module describes.
pub fn write_repacked(
    trace: &Trace,
    codec: Option<Codec>,
    headers: Option<HeaderWord>,
    out: &mut impl Write,
) -> Result<RepackSummary, ExportError> {
    let order = trace.metadata().byte_order();
    let mut summary = RepackSummary::default();
    let mut index = Indexer::new();
    let mut emit = |bytes: &[u8], summary: &mut RepackSummary| -> Result<(), ExportError> {
        out.write_all(bytes).map_err(ExportError::Output)?;
        index.add(bytes);
        summary.bytes += bytes.len() as u64;
        Ok(())
    };
    for packet in trace.metadata_packets() {
        if tracemark_format::index::decode_packet(packet).is_ok() {
            continue;
        }
        emit(packet, &mut summary)?;
        summary.metadata_packets += 1;
    }
    let mut streams: Vec<(Vec<PacketView<'_>>, usize)> =
        trace.stream_ids().map(|id| (trace.packets(id).collect(), 0)).collect();
    loop {
        let heads = streams.iter().map(|(packets, next)| packets.get(*next).copied());
        let Some(position) = crate::cut::earliest(trace, heads) else { break };
        let Some((packets, next)) = streams.get_mut(position) else { break };
        let Some(packet) = packets.get(*next).copied() else { break };
        *next += 1;
        if !packet.is_whole() {
            summary.cut_short += 1;
            continue;
        }
        let bytes = packet.bytes();
        summary.data_bytes_in += bytes.len() as u64;
        // A compressed packet's records, when they can be had; else it is copied as it is and
        // its reader reports it.
        let plain = match packet.records() {
            Ok(records) if packet.header().flags.is_compressed() => uncompressed_packet(bytes, records),
            _ => None,
        };
        let plain = plain.as_deref().unwrap_or(bytes);
        let reencoded = match headers {
            Some(word) if word != HeaderWord::of(packet.header().flags) => {
                let reencoded = in_word(packet, word, order);
                match reencoded {
                    Some(_) => summary.reencoded += 1,
                    None => summary.kept_damaged += 1,
                }
                reencoded
            }
            _ => None,
        };
        let plain = reencoded.as_deref().unwrap_or(plain);
        let compressed = codec.and_then(|codec| compress_packet(plain, codec));
        let written = compressed.as_deref().unwrap_or(plain);
        let header = tracemark_format::PacketHeader::decode(written);
        if header.is_ok_and(|(header, _)| header.flags.is_compressed()) {
            summary.compressed += 1;
        }
        summary.data_bytes_out += written.len() as u64;
        summary.packets += 1;
        emit(written, &mut summary)?;
    }
    if let Some(packet) = index.into_trailing_packet() {
        out.write_all(&packet).map_err(ExportError::Output)?;
        summary.bytes += packet.len() as u64;
    }
    Ok(summary)
}

/// `packet` written anew with records of `word`, or `None` when a reader does not deliver all
/// of its records.
fn in_word(packet: PacketView<'_>, word: HeaderWord, order: tracemark_format::ByteOrder) -> Option<Vec<u8>> {
    let header = packet.header();
    // Written as read, not held per record: a packet may hold millions.
    let (mut content, mut previous) = (Vec::new(), header.timestamp_begin);
    for item in packet.items() {
        match item {
            Item::Event(event) => {
                let timestamp = event.timestamp();
                reencode::push_record(
                    &mut content,
                    (event.id(), timestamp, event.payload()),
                    previous,
                    word,
                    order,
                );
                previous = timestamp;
            }
            // The stream's accounting lives in the header, which keeps it.
            Item::Diagnostic(diagnostic) if is_accounting(&diagnostic.kind) => {}
            Item::Diagnostic(_) => return None,
        }
    }
    reencode::packet(header, &content, word, order)
}

/// Diagnostics of a stream's sequence and discard accounting (§10.1, §10.2, §4.5), which say
/// nothing about a packet's records.
fn is_accounting(kind: &DiagnosticKind) -> bool {
    matches!(
        kind,
        DiagnosticKind::DiscardedEvents { .. }
            | DiagnosticKind::DiscardCounterBackwards { .. }
            | DiagnosticKind::PacketGap { .. }
            | DiagnosticKind::SequenceNotIncreasing { .. }
            | DiagnosticKind::PacketOverlap { .. }
    )
}
