//! Reports of loss, damage and specification violations found while reading (§10).
//!
//! A [`Diagnostic`] never stops reading: it is delivered in the item stream at the place the
//! problem was found (see [`crate::Item`]), and reading goes on with the next good data.

use std::{fmt, sync::Arc};

use tracemark_format::{ByteOrder, HeaderError, MetadataError};

use crate::stream_id::StreamId;

/// One problem found in a trace, located (§10.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What is wrong.
    pub kind: DiagnosticKind,
    /// The specification section violated or applied, e.g. `"10.3"`.
    pub section: &'static str,
    /// The container file, as opened (a path, or `<memory>` for an in-memory trace).
    pub file: Arc<str>,
    /// Byte offset of the problem in `file`.
    pub offset: u64,
    /// The stream, when known.
    pub stream: Option<StreamId>,
    /// The packet sequence number, when known.
    pub sequence: Option<u64>,
}

impl Diagnostic {
    /// A diagnostic of `kind` at `offset` in `file`, with the section `kind` cites.
    pub fn new(kind: DiagnosticKind, file: Arc<str>, offset: u64) -> Diagnostic {
        Diagnostic { section: kind.section(), kind, file, offset, stream: None, sequence: None }
    }

    /// This diagnostic, attributed to packet `sequence` of `stream`.
    pub fn in_packet(mut self, stream: StreamId, sequence: u64) -> Diagnostic {
        self.stream = Some(stream);
        self.sequence = Some(sequence);
        self
    }

    /// Whether the problem lost or withheld data (events, packets), as opposed to a
    /// violation that did not stop any data from being delivered.
    pub fn is_loss(&self) -> bool {
        self.kind.is_loss()
    }
}

impl serde::Serialize for Diagnostic {
    /// `{"kind": "CrcMismatch", "section": "10.3", "file", "offset", "stream": {"class",
    /// "instance"} or null, "sequence" or null, "message": the kind's text}`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut map = serializer.serialize_struct("Diagnostic", 7)?;
        map.serialize_field("kind", self.kind.name())?;
        map.serialize_field("section", self.section)?;
        map.serialize_field("file", &*self.file)?;
        map.serialize_field("offset", &self.offset)?;
        map.serialize_field("stream", &self.stream)?;
        map.serialize_field("sequence", &self.sequence)?;
        map.serialize_field("message", &self.kind.to_string())?;
        map.end()
    }
}

impl fmt::Display for Diagnostic {
    /// One line: `file@offset [stream C/I seq N]: message [§S]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{:#x}", self.file, self.offset)?;
        match (self.stream, self.sequence) {
            (Some(stream), Some(sequence)) => write!(f, " stream {stream} seq {sequence}")?,
            (Some(stream), None) => write!(f, " stream {stream}")?,
            (None, Some(sequence)) => write!(f, " seq {sequence}")?,
            (None, None) => {}
        }
        write!(f, ": {} [§{}]", self.kind, self.section)
    }
}

/// Which kind of metadata declaration a conflict concerns (§7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Declaration {
    /// A second, different TRACE record.
    Trace,
    /// A CLOCK with an already declared ID.
    Clock,
    /// A STREAM_CLASS with an already declared ID.
    StreamClass,
    /// An EVENT_CLASS with an already declared ID.
    EventClass,
}

impl fmt::Display for Declaration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Declaration::Trace => "TRACE record",
            Declaration::Clock => "clock",
            Declaration::StreamClass => "stream class",
            Declaration::EventClass => "event class",
        })
    }
}

/// Why an event record cannot be decoded (§6, §10.5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedReason {
    /// Bytes left in the content that are too few for an event header.
    HeaderPastEnd {
        /// Bytes left.
        remaining: usize,
    },
    /// An extended header whose word has non-zero timestamp bits (§5.3).
    ExtendedHeaderBits,
    /// A fixed-size value runs past the end of the content.
    PastEnd {
        /// Bytes the value needs.
        needed: u64,
        /// Bytes left.
        remaining: usize,
    },
    /// A string with no NUL before the end of the content (§6.5).
    UnterminatedString,
    /// A blob longer than the rest of the content (§6.7).
    BlobPastEnd {
        /// The blob's length prefix.
        len: u32,
        /// Bytes left after the prefix.
        remaining: usize,
    },
    /// A sequence whose count × minimum element size exceeds the rest of the content (§6.7).
    SequencePastEnd {
        /// The count prefix.
        count: u32,
        /// Minimum encoded size of one element.
        min_element_size: usize,
        /// Bytes left after the prefix.
        remaining: usize,
    },
    /// An array whose length × minimum element size exceeds the rest of the content (§6.7).
    ArrayPastEnd {
        /// The declared length.
        len: u32,
        /// Minimum encoded size of one element.
        min_element_size: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A `bool` byte other than 0 or 1 (§6.2).
    BadBool(u8),
}

impl MalformedReason {
    /// The specification section the reason cites.
    pub fn section(&self) -> &'static str {
        match self {
            MalformedReason::HeaderPastEnd { .. } | MalformedReason::PastEnd { .. } => "10.5",
            MalformedReason::ExtendedHeaderBits => "5.3",
            MalformedReason::UnterminatedString => "6.5",
            MalformedReason::BlobPastEnd { .. }
            | MalformedReason::SequencePastEnd { .. }
            | MalformedReason::ArrayPastEnd { .. } => "6.7",
            MalformedReason::BadBool(_) => "6.2",
        }
    }

    /// Whether the record runs past the end of the content, which in a truncated packet
    /// means the truncation cut it rather than that it is corrupt.
    pub fn is_past_end(&self) -> bool {
        !matches!(self, MalformedReason::ExtendedHeaderBits | MalformedReason::BadBool(_))
    }
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MalformedReason::HeaderPastEnd { remaining } => {
                write!(f, "event header runs past the content end ({remaining} bytes left)")
            }
            MalformedReason::ExtendedHeaderBits => {
                f.write_str("extended event header with non-zero timestamp bits")
            }
            MalformedReason::PastEnd { needed, remaining } => {
                write!(f, "value of {needed} bytes runs past the content end ({remaining} bytes left)")
            }
            MalformedReason::UnterminatedString => f.write_str("string without NUL before the content end"),
            MalformedReason::BlobPastEnd { len, remaining } => {
                write!(f, "blob length {len} exceeds the {remaining} bytes left")
            }
            MalformedReason::SequencePastEnd { count, min_element_size, remaining } => write!(
                f,
                "sequence count {count} × {min_element_size} bytes exceeds the {remaining} bytes left"
            ),
            MalformedReason::ArrayPastEnd { len, min_element_size, remaining } => {
                write!(f, "array length {len} × {min_element_size} bytes exceeds the {remaining} bytes left")
            }
            MalformedReason::BadBool(byte) => write!(f, "bool byte {byte:#04x} is neither 0 nor 1"),
        }
    }
}

/// What a [`Diagnostic`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// The stream's discard counter increased (§10.1): `count` events were dropped by the
    /// writer between `from_ts` (the previous packet's end, `None` before the first packet)
    /// and `to_ts` (this packet's end).
    DiscardedEvents {
        /// Events discarded.
        count: u64,
        /// Start of the interval, in clock ticks.
        from_ts: Option<u64>,
        /// End of the interval, in clock ticks.
        to_ts: u64,
    },
    /// The cumulative discard counter went down (§10.1).
    DiscardCounterBackwards {
        /// The previous packet's counter.
        previous: u64,
        /// This packet's counter.
        found: u64,
    },
    /// Whole packets are missing before this one (§10.2).
    PacketGap {
        /// Packets missing.
        missing: u64,
    },
    /// A packet sequence number that does not increase (§1.6, §10.2).
    SequenceNotIncreasing {
        /// The previous packet's sequence number.
        previous: u64,
        /// This packet's.
        found: u64,
    },
    /// The packet CRC does not match; its events are not delivered (§10.3).
    CrcMismatch {
        /// The CRC stored in the header.
        expected: u32,
        /// The CRC computed over the packet.
        found: u32,
    },
    /// The packet has a CRC that could not be checked because it is truncated (§10.4).
    CrcUnchecked,
    /// The container ends before the packet does (§10.4).
    TruncatedPacket {
        /// Bytes of the packet present.
        available: u64,
        /// Bytes the packet header declares.
        needed: u64,
    },
    /// An invalid packet header (§10.6).
    BadHeader(HeaderError),
    /// Bytes skipped while searching for the next valid header after a bad one (§10.6).
    Resynchronized {
        /// Bytes skipped.
        skipped_bytes: u64,
        /// Whether a valid header was found (else the skip ran to the end of the file).
        found_header: bool,
    },
    /// A record whose event class ID is not declared; the rest of the packet is skipped
    /// (§7.6, §10.5).
    UndeclaredEvent {
        /// The event class ID.
        id: u32,
    },
    /// A record whose event class failed to parse; the rest of the packet is skipped (§7.7).
    UndecodableEvent {
        /// The event class ID.
        id: u32,
    },
    /// A record that cannot be decoded; the rest of the packet is skipped (§10.5).
    Malformed {
        /// The record's event class ID, when its header was read.
        event_id: Option<u32>,
        /// What is wrong.
        reason: MalformedReason,
    },
    /// A record timestamp below the previous one, or overflowing 64 bits (§1.7, §5.5). The
    /// record is still delivered with the timestamp decoded.
    TimestampBackwards {
        /// The previous timestamp (or the packet's `timestamp_begin`).
        previous: u64,
        /// The timestamp decoded.
        found: u64,
    },
    /// A packet whose `timestamp_begin` is after its `timestamp_end` (§4.5).
    PacketTimestampsReversed {
        /// `timestamp_begin`.
        begin: u64,
        /// `timestamp_end`.
        end: u64,
    },
    /// A packet beginning before the previous packet of its stream ended (§4.5).
    PacketOverlap {
        /// The previous packet's `timestamp_end`.
        previous_end: u64,
        /// This packet's `timestamp_begin`.
        begin: u64,
    },
    /// A record timestamp after the packet's `timestamp_end` (§4.5): neither it nor the rest of
    /// the packet is delivered (R-4.5-3).
    TimestampOutsidePacket {
        /// The record's timestamp.
        timestamp: u64,
        /// The packet's `timestamp_end`.
        end: u64,
    },
    /// A packet whose trace UUID is not the trace's; not decoded (§4.6).
    ForeignUuid {
        /// The UUID found.
        found: [u8; 16],
    },
    /// A packet whose byte order is not the trace's; not decoded (§2.3).
    ByteOrderMismatch {
        /// The packet's byte order.
        found: ByteOrder,
        /// The trace's.
        expected: ByteOrder,
    },
    /// The TRACE record states another byte order than its packet's magic; the trace is read
    /// in the packets' (§2.3).
    TraceByteOrder {
        /// The order the record states.
        stated: ByteOrder,
        /// Its packet's, which the trace is read in.
        packet: ByteOrder,
    },
    /// A malformed metadata record; the rest of the metadata is kept (§7).
    Metadata(MetadataError),
    /// An event class whose recorded identity hash is not the one computed (§7.8).
    IdentityMismatch {
        /// The event class ID.
        id: u32,
        /// The hash recorded.
        recorded: u64,
        /// The hash computed from its name and layout.
        computed: u64,
    },
    /// A second, different declaration of an ID; the first is kept (§7.6).
    ConflictingDeclaration {
        /// What was redeclared.
        what: Declaration,
        /// The ID.
        id: u32,
    },
    /// The TRACE record is not the first record of the first metadata packet (§7.3).
    TraceRecordNotFirst,
    /// A data packet of a stream class the metadata does not declare (§7.5).
    UndeclaredStreamClass {
        /// The stream class ID.
        id: u32,
    },
    /// A stream class naming a clock the metadata does not declare (§7.5).
    UndeclaredClock {
        /// The stream class ID.
        stream_class: u32,
        /// The clock ID it names.
        clock_id: u32,
    },
    /// A stream file holding packets of more than one stream (§9.1).
    MixedStreamFile {
        /// The stream of the file's first packet.
        first: StreamId,
    },
    /// A metadata packet found somewhere other than the metadata stream's container, or a
    /// data packet in the `metadata` file (§9.1). It is still used.
    MisplacedPacket,
    /// A packet found through the file's stored index is not the one its entry describes
    /// (§14.4): the index is not used from then on, and the trace's files are walked.
    IndexDisagrees {
        /// The first header field that differs (§4.1), or `"header"` when no valid header is
        /// there.
        field: &'static str,
    },
    /// A compressed packet whose records cannot be had (§15): none is delivered.
    CompressedPacket(tracemark_format::compress::CompressionError),
    /// The `progress` file beside a directory trace cannot be used (§9.5): it is ignored.
    ProgressIgnored(ProgressProblem),
    /// The writer counted more events written into the stream in its progress file (§9.5)
    /// than were delivered from it: the difference was written and never delivered (the
    /// writer ended before delivering its last packets, or packets reported damaged or
    /// missing held them).
    EventsNotDelivered {
        /// Events the writer counted.
        written: u64,
        /// Events delivered from the stream.
        delivered: u64,
    },
}

/// Why a progress file (§9.5) is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressProblem {
    /// Its header is invalid.
    Invalid(tracemark_format::progress::ProgressError),
    /// It is another trace's.
    ForeignUuid {
        /// The UUID it names.
        found: [u8; 16],
    },
    /// It could not be read.
    Unreadable(Arc<str>),
}

impl DiagnosticKind {
    /// What a packet numbered `found` after one numbered `last` (none before it: `None`) in the
    /// same stream breaks, if anything (§10.2): a number that does not increase, or a gap. The
    /// same for data streams and the metadata stream.
    pub(crate) fn of_sequence(last: Option<u64>, found: u64) -> Option<DiagnosticKind> {
        let expected = last.map_or(0, |last| last.saturating_add(1));
        match last {
            Some(previous) if found <= previous => {
                Some(DiagnosticKind::SequenceNotIncreasing { previous, found })
            }
            _ if found > expected => Some(DiagnosticKind::PacketGap { missing: found - expected }),
            _ => None,
        }
    }

    /// The specification section the kind cites.
    pub fn section(&self) -> &'static str {
        match self {
            DiagnosticKind::DiscardedEvents { .. } | DiagnosticKind::DiscardCounterBackwards { .. } => "10.1",
            DiagnosticKind::PacketGap { .. } | DiagnosticKind::SequenceNotIncreasing { .. } => "10.2",
            DiagnosticKind::CrcMismatch { .. } => "10.3",
            DiagnosticKind::CrcUnchecked | DiagnosticKind::TruncatedPacket { .. } => "10.4",
            DiagnosticKind::BadHeader(error) => error.section(),
            DiagnosticKind::Resynchronized { .. } => "10.6",
            DiagnosticKind::UndeclaredEvent { .. } => "10.5",
            DiagnosticKind::UndecodableEvent { .. } => "7.7",
            DiagnosticKind::Malformed { reason, .. } => reason.section(),
            DiagnosticKind::TimestampBackwards { .. } => "5.5",
            DiagnosticKind::PacketTimestampsReversed { .. }
            | DiagnosticKind::PacketOverlap { .. }
            | DiagnosticKind::TimestampOutsidePacket { .. } => "4.5",
            DiagnosticKind::ForeignUuid { .. } => "4.6",
            DiagnosticKind::ByteOrderMismatch { .. } | DiagnosticKind::TraceByteOrder { .. } => "2.3",
            DiagnosticKind::Metadata(error) => error.kind.section(),
            DiagnosticKind::IdentityMismatch { .. } => "7.8",
            DiagnosticKind::ConflictingDeclaration { .. } => "7.6",
            DiagnosticKind::TraceRecordNotFirst => "7.3",
            DiagnosticKind::UndeclaredStreamClass { .. } => "1.2",
            DiagnosticKind::UndeclaredClock { .. } => "7.5",
            DiagnosticKind::MixedStreamFile { .. } | DiagnosticKind::MisplacedPacket => "9.1",
            DiagnosticKind::IndexDisagrees { .. } => "14.4",
            DiagnosticKind::CompressedPacket(error) => error.section(),
            DiagnosticKind::ProgressIgnored(_) | DiagnosticKind::EventsNotDelivered { .. } => "9.5",
        }
    }

    /// The variant's name, e.g. `"CrcMismatch"`, for machine-readable output.
    pub fn name(&self) -> &'static str {
        match self {
            DiagnosticKind::DiscardedEvents { .. } => "DiscardedEvents",
            DiagnosticKind::DiscardCounterBackwards { .. } => "DiscardCounterBackwards",
            DiagnosticKind::PacketGap { .. } => "PacketGap",
            DiagnosticKind::SequenceNotIncreasing { .. } => "SequenceNotIncreasing",
            DiagnosticKind::CrcMismatch { .. } => "CrcMismatch",
            DiagnosticKind::CrcUnchecked => "CrcUnchecked",
            DiagnosticKind::TruncatedPacket { .. } => "TruncatedPacket",
            DiagnosticKind::BadHeader(_) => "BadHeader",
            DiagnosticKind::Resynchronized { .. } => "Resynchronized",
            DiagnosticKind::UndeclaredEvent { .. } => "UndeclaredEvent",
            DiagnosticKind::UndecodableEvent { .. } => "UndecodableEvent",
            DiagnosticKind::Malformed { .. } => "Malformed",
            DiagnosticKind::TimestampBackwards { .. } => "TimestampBackwards",
            DiagnosticKind::PacketTimestampsReversed { .. } => "PacketTimestampsReversed",
            DiagnosticKind::PacketOverlap { .. } => "PacketOverlap",
            DiagnosticKind::TimestampOutsidePacket { .. } => "TimestampOutsidePacket",
            DiagnosticKind::ForeignUuid { .. } => "ForeignUuid",
            DiagnosticKind::ByteOrderMismatch { .. } => "ByteOrderMismatch",
            DiagnosticKind::TraceByteOrder { .. } => "TraceByteOrder",
            DiagnosticKind::Metadata(_) => "Metadata",
            DiagnosticKind::IdentityMismatch { .. } => "IdentityMismatch",
            DiagnosticKind::ConflictingDeclaration { .. } => "ConflictingDeclaration",
            DiagnosticKind::TraceRecordNotFirst => "TraceRecordNotFirst",
            DiagnosticKind::UndeclaredStreamClass { .. } => "UndeclaredStreamClass",
            DiagnosticKind::UndeclaredClock { .. } => "UndeclaredClock",
            DiagnosticKind::MixedStreamFile { .. } => "MixedStreamFile",
            DiagnosticKind::MisplacedPacket => "MisplacedPacket",
            DiagnosticKind::IndexDisagrees { .. } => "IndexDisagrees",
            DiagnosticKind::CompressedPacket(_) => "CompressedPacket",
            DiagnosticKind::ProgressIgnored(_) => "ProgressIgnored",
            DiagnosticKind::EventsNotDelivered { .. } => "EventsNotDelivered",
        }
    }

    /// Whether the problem lost or withheld events or packets.
    pub fn is_loss(&self) -> bool {
        matches!(
            self,
            DiagnosticKind::DiscardedEvents { .. }
                | DiagnosticKind::PacketGap { .. }
                | DiagnosticKind::CrcMismatch { .. }
                | DiagnosticKind::TruncatedPacket { .. }
                | DiagnosticKind::BadHeader(_)
                | DiagnosticKind::Resynchronized { .. }
                | DiagnosticKind::UndeclaredEvent { .. }
                | DiagnosticKind::UndecodableEvent { .. }
                | DiagnosticKind::Malformed { .. }
                | DiagnosticKind::ForeignUuid { .. }
                | DiagnosticKind::ByteOrderMismatch { .. }
                | DiagnosticKind::TimestampOutsidePacket { .. }
                | DiagnosticKind::CompressedPacket(_)
                | DiagnosticKind::EventsNotDelivered { .. }
        )
    }
}

fn order_name(order: ByteOrder) -> &'static str {
    match order {
        ByteOrder::Little => "little-endian",
        ByteOrder::Big => "big-endian",
    }
}

impl fmt::Display for DiagnosticKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiagnosticKind::DiscardedEvents { count, from_ts: Some(from), to_ts } => {
                write!(f, "{count} events discarded by the writer between {from} and {to_ts}")
            }
            DiagnosticKind::DiscardedEvents { count, from_ts: None, to_ts } => {
                write!(f, "{count} events discarded by the writer before {to_ts}")
            }
            DiagnosticKind::DiscardCounterBackwards { previous, found } => {
                write!(f, "discard counter went down from {previous} to {found}")
            }
            DiagnosticKind::PacketGap { missing } => write!(f, "{missing} packets missing before this one"),
            DiagnosticKind::SequenceNotIncreasing { previous, found } => {
                write!(f, "packet sequence {found} does not follow {previous}")
            }
            DiagnosticKind::CrcMismatch { expected, found } => write!(
                f,
                "CRC mismatch: header says {expected:#010x}, packet has {found:#010x}; events not delivered"
            ),
            DiagnosticKind::CrcUnchecked => f.write_str("CRC not checked: the packet is truncated"),
            DiagnosticKind::TruncatedPacket { available, needed } => {
                write!(f, "packet truncated: {available} of {needed} bytes present")
            }
            DiagnosticKind::BadHeader(error) => write!(f, "bad packet header: {error}"),
            DiagnosticKind::Resynchronized { skipped_bytes, found_header: true } => {
                write!(f, "skipped {skipped_bytes} bytes to the next valid packet header")
            }
            DiagnosticKind::Resynchronized { skipped_bytes, found_header: false } => {
                write!(f, "skipped {skipped_bytes} bytes to the end of the file: no valid packet header")
            }
            DiagnosticKind::UndeclaredEvent { id } => {
                write!(f, "undeclared event class ID {id}; rest of the packet skipped")
            }
            DiagnosticKind::UndecodableEvent { id } => {
                write!(f, "event class ID {id} could not be parsed; rest of the packet skipped")
            }
            DiagnosticKind::Malformed { event_id: Some(id), reason } => {
                write!(f, "malformed record of event class {id}: {reason}; rest of the packet skipped")
            }
            DiagnosticKind::Malformed { event_id: None, reason } => {
                write!(f, "malformed record: {reason}; rest of the packet skipped")
            }
            DiagnosticKind::TimestampBackwards { previous, found } => {
                write!(f, "timestamp {found} goes back from {previous} or overflows")
            }
            DiagnosticKind::PacketTimestampsReversed { begin, end } => {
                write!(f, "packet begins at {begin} after it ends at {end}")
            }
            DiagnosticKind::PacketOverlap { previous_end, begin } => {
                write!(f, "packet begins at {begin}, before the previous one ended at {previous_end}")
            }
            DiagnosticKind::TimestampOutsidePacket { timestamp, end } => {
                write!(
                    f,
                    "record timestamp {timestamp} is after the packet end {end}; rest of the packet skipped"
                )
            }
            DiagnosticKind::ForeignUuid { found } => {
                f.write_str("packet of another trace (UUID ")?;
                for byte in found {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str("); not decoded")
            }
            DiagnosticKind::ByteOrderMismatch { found, expected } => {
                write!(f, "{} packet in a {} trace; not decoded", order_name(*found), order_name(*expected))
            }
            DiagnosticKind::TraceByteOrder { stated, packet } => write!(
                f,
                "the TRACE record states {}, its packet is {}: the trace is read as {}",
                order_name(*stated),
                order_name(*packet),
                order_name(*packet)
            ),
            DiagnosticKind::Metadata(error) => write!(f, "{error}"),
            DiagnosticKind::IdentityMismatch { id, recorded, computed } => write!(
                f,
                "event class {id}: identity hash {recorded:#018x} recorded, {computed:#018x} computed"
            ),
            DiagnosticKind::ConflictingDeclaration { what, id } => {
                write!(f, "conflicting redeclaration of {what} {id}; the first declaration is kept")
            }
            DiagnosticKind::TraceRecordNotFirst => {
                f.write_str("the TRACE record is not the first record of the first metadata packet")
            }
            DiagnosticKind::UndeclaredStreamClass { id } => write!(f, "undeclared stream class {id}"),
            DiagnosticKind::UndeclaredClock { stream_class, clock_id } => {
                write!(f, "stream class {stream_class} names undeclared clock {clock_id}")
            }
            DiagnosticKind::MixedStreamFile { first } => {
                write!(f, "stream file holds packets of another stream than {first}")
            }
            DiagnosticKind::MisplacedPacket => f.write_str("packet in the wrong container file"),
            DiagnosticKind::IndexDisagrees { field } => write!(
                f,
                "the packet's {field} is not what the file's index says; the index is set aside and the files are walked"
            ),
            DiagnosticKind::CompressedPacket(error) => write!(f, "packet not decoded: {error}"),
            DiagnosticKind::ProgressIgnored(ProgressProblem::Invalid(error)) => {
                write!(f, "progress file ignored: {error}")
            }
            DiagnosticKind::ProgressIgnored(ProgressProblem::ForeignUuid { found }) => {
                f.write_str("progress file ignored: it is another trace's (UUID ")?;
                for byte in found {
                    write!(f, "{byte:02x}")?;
                }
                f.write_str(")")
            }
            DiagnosticKind::ProgressIgnored(ProgressProblem::Unreadable(error)) => {
                write!(f, "progress file ignored: {error}")
            }
            DiagnosticKind::EventsNotDelivered { written, delivered } => write!(
                f,
                "{} events written but not delivered: the writer counted {written}, {delivered} delivered",
                written.saturating_sub(*delivered)
            ),
        }
    }
}
