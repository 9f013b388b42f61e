//! Cutting a time window out of a trace (`tracemark cut`, `tracemark split`).
//!
//! The cut is a single-file trace: the metadata packets, copied byte for byte; in each stream,
//! the packets wholly inside the window, copied byte for byte but for the accounting in their
//! header; and the packets at the window's edges, rewritten with the records inside it. Only
//! packets whose time range meets the window are read (as [`Trace::events_between`] reads
//! them), so cutting a second out of a long trace reads that second.
//!
//! The cut's accounting is its own: `sequence` counts from its first packet and
//! `events_discarded` from what the stream had discarded before it (§10.1, §10.2), so a reader
//! of the cut reports the losses inside the window and nothing for the events outside it. A
//! packet inside the window whose CRC fails is left out, and its sequence number shows it
//! lost; one cut short (§10.4) is rewritten with the complete records a reader delivers.

use std::io::Write;

use tracemark_format::{index, ByteOrder, HeaderWord, PacketHeader, VERSION_MINOR};
use tracemark_reader::{Item, PacketView, PacketWindow, Trace};

use crate::{
    reencode::{self, Record},
    ExportError,
};

/// What a cut wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CutSummary {
    /// Metadata packets copied (an index packet is not: it describes the file cut from).
    pub metadata_packets: usize,
    /// Data packets copied whole.
    pub packets_copied: usize,
    /// Data packets rewritten at the window's edges.
    pub packets_rewritten: usize,
    /// Events in the rewritten packets (those of copied packets are not decoded).
    pub events_rewritten: u64,
    /// Packets meeting the window left out because their CRC fails.
    pub packets_damaged: usize,
    /// Streams left out because their stream class or clock is not declared: without a time,
    /// their events are in no window.
    pub streams_without_time: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Why the trace's stored index was set aside and its files walked (§14.4), if it was.
    pub index_set_aside: Option<String>,
}

/// The packets of one stream that meet the window, and how to rebase its accounting.
struct StreamCut<'t> {
    packets: Vec<PacketView<'t>>,
    next: usize,
    /// The window in the stream's ticks.
    first_tick: u64,
    last_tick: u64,
    base_sequence: u64,
    base_discarded: u64,
}

/// Writes to `out` the single-file trace of `trace`'s events from `from` to `to`
/// (nanoseconds since the epoch, both included, §10.8), as the module describes.
pub fn write_cut(
    trace: &Trace,
    from: i128,
    to: i128,
    out: &mut impl Write,
) -> Result<CutSummary, ExportError> {
    let order = trace.metadata().byte_order();
    let mut summary = CutSummary::default();
    let mut emit = |bytes: &[u8], summary: &mut CutSummary| -> Result<(), ExportError> {
        out.write_all(bytes).map_err(ExportError::Output)?;
        summary.bytes += bytes.len() as u64;
        Ok(())
    };
    for packet in trace.metadata_packets() {
        if index::decode_packet(packet).is_ok() {
            continue;
        }
        emit(packet, &mut summary)?;
        summary.metadata_packets += 1;
    }
    let windows = trace.packet_windows(from, to);
    summary.streams_without_time = windows.without_time.len();
    summary.index_set_aside = windows.set_aside.map(ToString::to_string);
    let mut streams = Vec::new();
    for window in windows.windows {
        let Some(first_packet) = window.packets.first() else { continue };
        let base_sequence = first_packet.header().sequence;
        let base_discarded = window.before.map_or(0, |before| before.header().events_discarded);
        let PacketWindow { first_tick, last_tick, packets, .. } = window;
        streams.push(StreamCut { packets, next: 0, first_tick, last_tick, base_sequence, base_discarded });
    }
    // Packets in the order of their beginning in time, each stream's in its own order.
    loop {
        let heads = streams.iter().map(|stream| stream.packets.get(stream.next).copied());
        let Some(position) = earliest(trace, heads) else { break };
        let Some(stream) = streams.get_mut(position) else { break };
        let Some(packet) = stream.packets.get(stream.next).copied() else { break };
        stream.next += 1;
        if !packet.crc_matches() {
            summary.packets_damaged += 1;
            continue;
        }
        let header = packet.header();
        // A packet cut short keeps the complete records a reader delivers from it (§10.4).
        let inside = packet.is_whole()
            && header.timestamp_begin >= stream.first_tick
            && header.timestamp_end <= stream.last_tick;
        let bytes = if inside {
            summary.packets_copied += 1;
            copied(packet, stream, order)
        } else {
            summary.packets_rewritten += 1;
            rewritten(packet, stream, order, &mut summary.events_rewritten)
        };
        emit(&bytes, &mut summary)?;
    }
    Ok(summary)
}

/// The position in `heads` (each stream's next packet, if any) of the packet that begins first
/// in time through its stream's clock (§10.8), streams without a clock last: the order in which
/// a single file interleaves the streams' packets.
pub(crate) fn earliest<'t>(
    trace: &Trace,
    heads: impl Iterator<Item = Option<PacketView<'t>>>,
) -> Option<usize> {
    let begins = |packet: PacketView<'t>| {
        let clock = trace.metadata().stream_clock(packet.stream().class);
        (clock.is_none(), clock.map_or(0, |clock| clock.to_unix_ns(packet.header().timestamp_begin)))
    };
    let keyed = heads.enumerate().filter_map(|(position, head)| Some((begins(head?), position)));
    keyed.min().map(|(_, position)| position)
}

/// `header` with the stream's accounting rebased to the cut (§10.1, §10.2).
fn rebased(header: &PacketHeader, stream: &StreamCut<'_>) -> PacketHeader {
    PacketHeader {
        sequence: header.sequence.saturating_sub(stream.base_sequence),
        events_discarded: header.events_discarded.saturating_sub(stream.base_discarded),
        ..*header
    }
}

/// A packet inside the window: its bytes, its header's accounting rebased.
fn copied(packet: PacketView<'_>, stream: &StreamCut<'_>, order: ByteOrder) -> Vec<u8> {
    let mut bytes = packet.bytes().to_vec();
    reencode::seal(&mut bytes, rebased(packet.header(), stream), order);
    bytes
}

/// A packet at the window's edge: the records inside it, their headers encoded anew in the
/// packet's header word (the first one's compact timestamp counts from the packet's new
/// beginning, §5.5).
fn rewritten(packet: PacketView<'_>, stream: &StreamCut<'_>, order: ByteOrder, events: &mut u64) -> Vec<u8> {
    let window = stream.first_tick..=stream.last_tick;
    // Read twice rather than held: the first record's timestamp sets the packet's beginning,
    // from which every record's header counts, and a packet may hold millions of records.
    let kept = || {
        let events = packet.items().filter_map(Item::event);
        events
            .filter(|event| window.contains(&event.timestamp()))
            .map(|event| -> Record<'_> { (event.id(), event.timestamp(), event.payload()) })
    };
    let (mut first, mut last, mut count) = (None, 0, 0u64);
    for (_, timestamp, _) in kept() {
        first.get_or_insert(timestamp);
        (last, count) = (timestamp, count + 1);
    }
    let original = packet.header();
    let begin = original.timestamp_begin.max(stream.first_tick).min(first.unwrap_or(u64::MAX));
    let end = original.timestamp_end.min(stream.last_tick).max(last).max(begin);
    let word = HeaderWord::of(original.flags);
    let mut content = Vec::new();
    reencode::encode_records(&mut content, kept(), begin, word, order);
    *events += count;
    let header = PacketHeader {
        version_minor: VERSION_MINOR,
        timestamp_begin: begin,
        timestamp_end: end,
        ..rebased(original, stream)
    };
    // The records are a part of one packet's, so they fit as it did.
    reencode::packet(&header, &content, word, order).unwrap_or_default()
}
