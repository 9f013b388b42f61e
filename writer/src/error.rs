//! The writer's error type.

use alloc::string::String;

use tracemark_format::{marker::MarkerError, MetadataErrorKind};

/// Everything that can go wrong while writing a trace.
///
/// Errors on the per-event path ([`Error::EventTooLarge`], [`Error::PayloadSize`],
/// [`Error::ForeignHandle`], the marker argument errors) never leave a corrupt record behind:
/// the event is not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An event whose header and payload exceed an empty packet's content capacity. It was
    /// dropped and counted in the stream's `events_discarded` (§10.1).
    #[error(
        "event record of {size} bytes does not fit in an empty packet ({capacity} bytes of content): \
         dropped and counted as discarded (§10.1)"
    )]
    EventTooLarge {
        /// Header plus payload, in bytes.
        size: usize,
        /// Content capacity of an empty packet.
        capacity: usize,
    },
    /// A payload encoder wrote a different number of bytes than it declared. The record was
    /// rolled back and counted as discarded.
    #[error("payload encoder declared {declared} bytes but wrote {written}; record dropped")]
    PayloadSize {
        /// What `encoded_size` returned.
        declared: usize,
        /// What `encode` wrote (saturating at the declared size plus one on overflow).
        written: usize,
    },
    /// An event handle used with a stream of another trace or another stream class (§7.6).
    #[error(
        "event {event_id} was registered for stream class {handle_stream_class} of another trace or \
         class, not for this stream (class {stream_class}) (§7.6)"
    )]
    ForeignHandle {
        /// The handle's event ID.
        event_id: u32,
        /// The stream class the handle was registered for.
        handle_stream_class: u32,
        /// The stream's class.
        stream_class: u32,
    },
    /// A configuration value outside what the format allows.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// An event class or type layout the format (or a reader) would reject.
    #[error("invalid layout for event `{event}`: {reason}")]
    InvalidLayout {
        /// Event name.
        event: String,
        /// What is wrong, with the section it breaks.
        reason: String,
    },
    /// A metadata record that cannot be encoded.
    #[error("metadata record cannot be encoded: {0}")]
    Metadata(MetadataErrorKind),
    /// A marker format string outside the grammar (§8).
    #[error("invalid marker: {0}")]
    Marker(#[from] MarkerError),
    /// A marker called with a different number of arguments than its format declares.
    #[error("marker format {format:?} declares {expected} arguments, {found} given")]
    MarkerArity {
        /// The format string.
        format: String,
        /// Fields in the format.
        expected: usize,
        /// Arguments given.
        found: usize,
    },
    /// A marker argument whose kind does not match its conversion.
    #[error("marker argument {index} (`{field}`) must be {expected}, found {found}")]
    MarkerArgType {
        /// Argument position.
        index: usize,
        /// Field name from the format.
        field: String,
        /// What the conversion needs.
        expected: &'static str,
        /// What was given.
        found: &'static str,
    },
    /// No event class ID is left (IDs are `u32`).
    #[error("event class IDs exhausted")]
    IdsExhausted,
    /// A stream class ID that was not declared.
    #[error("stream class {0} is not declared (§7.5)")]
    UnknownStreamClass(u32),
    /// A stream already handed out and not yet returned.
    #[error("stream {stream_class}/{instance} is already in use")]
    StreamInUse {
        /// Stream class ID.
        stream_class: u32,
        /// Stream instance ID.
        instance: u32,
    },
    /// `finish` was called while stream handles were still alive.
    #[error("{0} stream handle(s) still alive; drop them before finishing the session")]
    StreamsOpen(usize),
    /// The session was already finished (or, from a ring stream's write, it sealed the ring
    /// when it finished: `RingSession::finish_sealing`).
    #[error("the session is finished")]
    Finished,
    /// The sink could not take a packet. That packet is lost (its sequence number is consumed,
    /// so a reader reports the gap, §10.2).
    #[error("sink failed: {0}")]
    Sink(String),
    /// An I/O error from a file or directory sink.
    #[cfg(feature = "std")]
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<MetadataErrorKind> for Error {
    fn from(kind: MetadataErrorKind) -> Self {
        Error::Metadata(kind)
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
