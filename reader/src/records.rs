//! Walking the event records of one packet's content (§5, §6): the hot loop that every way of
//! reading shares, through [`Batch`](crate::batch::Batch).
//!
//! A step decodes an event header, finds the class, walks the payload with the class's
//! [`PayloadLayout`](crate::layout::PayloadLayout) and moves to the next record. Nothing is
//! allocated and no value is built. The first record that cannot be decoded ends the walk
//! (§10.5): records carry no length, so nothing after it can be found.

use tracemark_format::{event_header::EventHeaderError, ByteOrder, HeaderWord};

use crate::{
    decode::Cursor,
    diagnostic::MalformedReason,
    endian::{order_of, with_endian, Endian},
    layout::Segments,
    metadata::{ClassEntry, Lookup, Metadata},
    packet::RawPacket,
};

/// A record of a walked packet: what the walk finds without decoding a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The reconstructed timestamp (§5.5), or the decoded one when it goes backwards.
    pub(crate) timestamp: u64,
    /// The record's extent in the packet content.
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// The class's slot in the metadata ([`crate::metadata::ClassEntry::slot`]).
    pub(crate) slot: u32,
    pub(crate) header_len: u8,
    /// The timestamp is below the previous record's (§1.7): a violation to report.
    pub(crate) backwards: bool,
    pub(crate) segments: Segments,
}

/// Why a walk stopped before the end of the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The event header cannot be read.
    Header(MalformedReason),
    /// An event ID the metadata does not declare.
    Undeclared(u32),
    /// An event ID whose declaration failed to parse.
    Undecodable(u32),
    /// The payload does not decode; `at` is where the failing value starts.
    Payload { event_id: u32, reason: MalformedReason, at: usize },
    /// A record timestamp after the packet's `timestamp_end` (§4.5): padding a lying
    /// `content_size` reaches into, or records the header does not vouch for.
    AfterPacketEnd { timestamp: u64, end: u64 },
    /// A compressed packet whose records cannot be had (§15.2): none are decoded.
    Compressed(tracemark_format::compress::CompressionError),
}

/// Where a walk paused, to go on from: the next record's offset in the content and the
/// timestamp before it (§5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resume {
    pub(crate) at: usize,
    pub(crate) previous: u64,
}

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WalkEnd {
    /// Every record was walked.
    Done,
    /// The record at this offset of the content stopped the walk, for this reason.
    Stopped(usize, Stop),
    /// The walk handed over as many records as it was allowed; the rest starts here.
    Paused(Resume),
}

/// Walks the records of `raw`, which are `content` (its content, or its decompressed records,
/// §15), handing each to `sink`;
/// returns the offset in its content of the record that stopped the walk and why, if one did.
/// Timestamps start from the header's `timestamp_begin` (§5.5); a record after its
/// `timestamp_end` stops the walk (R-4.5-3) unless the header's range is itself reversed,
/// which is reported on its own and bounds nothing.
#[inline]
pub(crate) fn walk_packet(
    metadata: &Metadata,
    raw: &RawPacket,
    content: &[u8],
    sink: impl FnMut(Entry),
) -> Option<(usize, Stop)> {
    match walk_slice(metadata, raw, content, None, usize::MAX, sink) {
        WalkEnd::Stopped(at, stop) => Some((at, stop)),
        WalkEnd::Done | WalkEnd::Paused(_) => None,
    }
}

/// [`walk_packet`] from `from` (the start when `None`), pausing after `limit` records: a
/// packet of many small records is held a slice at a time, so a reader's memory stays a
/// bounded multiple of the packet whatever its records' size (§13.2).
#[inline]
pub(crate) fn walk_slice(
    metadata: &Metadata,
    raw: &RawPacket,
    content: &[u8],
    from: Option<Resume>,
    limit: usize,
    sink: impl FnMut(Entry),
) -> WalkEnd {
    let (begin, end) = (raw.header.timestamp_begin, raw.header.timestamp_end);
    let end = if begin <= end { end } else { u64::MAX };
    let from = from.unwrap_or(Resume { at: 0, previous: begin });
    if raw.header.flags.has_narrow_headers() {
        with_endian!(raw.order, |E| walk::<E, true>(metadata, content, from, end, limit, sink))
    } else {
        with_endian!(raw.order, |E| walk::<E, false>(metadata, content, from, end, limit, sink))
    }
}

/// The walk for one byte order and one header word (§5.1), `NARROW` or wide.
#[inline(always)]
fn walk<E: Endian, const NARROW: bool>(
    metadata: &Metadata,
    content: &[u8],
    from: Resume,
    end: u64,
    limit: usize,
    mut sink: impl FnMut(Entry),
) -> WalkEnd {
    let form = if NARROW { HeaderWord::Narrow } else { HeaderWord::Wide };
    let (bits, mask, escape) = (form.timestamp_bits(), form.timestamp_mask(), u64::from(form.escape_id()));
    let Resume { mut at, mut previous } = from;
    let mut left = limit;
    loop {
        let rest = content.get(at..).unwrap_or(&[]);
        if rest.is_empty() {
            return WalkEnd::Done;
        }
        if left == 0 {
            return WalkEnd::Paused(Resume { at, previous });
        }
        left -= 1;
        let word = if NARROW {
            rest.first_chunk::<4>().map(|bytes| u64::from(E::u32(*bytes)))
        } else {
            rest.first_chunk::<8>().map(|bytes| E::u64(*bytes))
        };
        // The compact form (§5.2) is the common case; the extended one takes the slow path.
        let (id, timestamp, header_len) = match word {
            Some(word) => {
                if word >> bits != escape {
                    let candidate = (previous & !mask) | (word & mask);
                    let timestamp = if candidate >= previous {
                        Ok(candidate)
                    } else {
                        candidate.checked_add(1 << bits).ok_or(candidate)
                    };
                    ((word >> bits) as u32, timestamp, form.compact_len())
                } else {
                    match extended::<E>(form, rest, previous) {
                        Ok(header) => header,
                        Err(stop) => return WalkEnd::Stopped(at, stop),
                    }
                }
            }
            None => {
                let reason = MalformedReason::HeaderPastEnd { remaining: rest.len() };
                return WalkEnd::Stopped(at, Stop::Header(reason));
            }
        };
        if let Ok(timestamp) = timestamp {
            if timestamp > end {
                return WalkEnd::Stopped(at, Stop::AfterPacketEnd { timestamp, end });
            }
        }
        let payload_start = at.saturating_add(header_len);
        // Fixed-size payloads (most records) are walked from the ID table alone; a record that
        // does not fit takes the general path, which explains it.
        let fixed = metadata.dense(id).and_then(|dense| {
            let len = dense.plain_fixed()?;
            let slot = dense.slot()?;
            (payload_start.saturating_add(len) <= content.len()).then_some((slot, len))
        });
        let (slot, len, segments) = match fixed {
            Some((slot, len)) => (slot, len, Segments::default()),
            None => {
                let Some(class) = metadata.entry(id) else {
                    return WalkEnd::Stopped(at, unknown(metadata, id));
                };
                let payload = content.get(payload_start..).unwrap_or(&[]);
                let Some((len, segments)) = class.layout.walk::<E>(&class.plan, payload) else {
                    return WalkEnd::Stopped(
                        at,
                        malformed(class, content, payload_start, order_of::<E>(), id),
                    );
                };
                // Slots are below the class count, itself far below `u32::MAX`.
                (class.slot as u32, len, segments)
            }
        };
        let (timestamp, backwards) = match timestamp {
            Ok(timestamp) => (timestamp, false),
            Err(timestamp) => (timestamp, true),
        };
        let record_end = payload_start.saturating_add(len);
        sink(Entry {
            timestamp,
            // Offsets inside a packet fit in the `u32` of `packet_size` (§4.1).
            start: at as u32,
            end: record_end as u32,
            slot,
            header_len: header_len as u8,
            backwards,
            segments,
        });
        // Each record consumes at least its 4- or 8-byte header, so the walk always advances.
        at = record_end;
        previous = timestamp;
    }
}

/// An extended header (§5.3): its ID, timestamp and length.
#[cold]
fn extended<E: Endian>(
    form: HeaderWord,
    rest: &[u8],
    previous: u64,
) -> Result<(u32, Result<u64, u64>, usize), Stop> {
    match form.decode(rest, order_of::<E>()) {
        Ok((header, len)) => Ok((header.id(), header.timestamp(previous), len)),
        Err(error) => Err(Stop::Header(match error {
            EventHeaderError::Truncated => MalformedReason::HeaderPastEnd { remaining: rest.len() },
            EventHeaderError::NonZeroEscapeBits => MalformedReason::ExtendedHeaderBits,
        })),
    }
}

#[cold]
fn unknown(metadata: &Metadata, id: u32) -> Stop {
    match metadata.lookup(id) {
        Lookup::Undecodable => Stop::Undecodable(id),
        _ => Stop::Undeclared(id),
    }
}

/// What the value decoder says is wrong with a payload the walk rejected, and where.
#[cold]
fn malformed(class: &ClassEntry, content: &[u8], payload_start: usize, order: ByteOrder, id: u32) -> Stop {
    let mut cursor = Cursor::new(content, payload_start, order);
    match class.plan.decode(&mut cursor) {
        Err(error) => Stop::Payload { event_id: id, reason: error.reason, at: error.at },
        // The walk and the decoder agree on every payload (a property test checks it); should
        // they ever not, the record is still not delivered.
        Ok(_) => Stop::Payload {
            event_id: id,
            reason: MalformedReason::PastEnd {
                needed: 0,
                remaining: content.len().saturating_sub(payload_start),
            },
            at: payload_start,
        },
    }
}
