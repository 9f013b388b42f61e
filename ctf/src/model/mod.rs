//! What a CTF 1.8 metadata text declares, names resolved and attributes checked: the trace's
//! clocks, stream classes and event classes, and the field types of their scopes.
//!
//! Field references (a sequence's length, a variant's selector) stay paths here: which field
//! a relative path names depends on where the type is used, so the decoder resolves them
//! (`crate::plan`).
//!
//! ```
//! let text = include_str!("../../tests/data/lttng-ust-2.13.tsdl");
//! let trace = tracemark_ctf::TraceClass::from_tsdl(text).unwrap();
//! assert_eq!(trace.events.len(), 4);
//! assert_eq!(trace.clocks[0].name, "monotonic");
//! ```

mod build;
pub use self::build::{MAX_FIELDS_PER_BYTE, MIN_FIELD_BUDGET};
mod types;

pub use self::types::*;

use crate::tsdl::{self, TsdlError};

/// A trace as its metadata describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceClass {
    /// `major` and `minor` of the trace block (1.8).
    pub version: (u64, u64),
    /// The trace's byte order, which `native` means.
    pub byte_order: ByteOrder,
    /// The trace UUID, when declared.
    pub uuid: Option<[u8; 16]>,
    /// `packet.header`.
    pub packet_header: Option<StructType>,
    /// The `env` block, in order.
    pub env: Vec<(String, EnvValue)>,
    /// Clocks, in declaration order.
    pub clocks: Vec<Clock>,
    /// Stream classes, in declaration order.
    pub streams: Vec<StreamClass>,
    /// Event classes, in declaration order.
    pub events: Vec<EventClass>,
}

impl TraceClass {
    /// Parses and checks a metadata text.
    pub fn from_tsdl(text: &str) -> Result<TraceClass, TsdlError> {
        let metadata = tsdl::parse(text)?;
        build::trace_class(text, &metadata)
    }

    /// The stream class with this ID.
    pub fn stream(&self, id: u64) -> Option<&StreamClass> {
        self.streams.iter().find(|stream| stream.id == id)
    }

    /// The clock with this name.
    pub fn clock(&self, name: &str) -> Option<&Clock> {
        self.clocks.iter().find(|clock| clock.name == name)
    }

    /// A text `env` entry.
    pub fn env_text(&self, key: &str) -> Option<&str> {
        self.env.iter().find_map(|(name, value)| match value {
            EnvValue::Text(text) if name == key => Some(text.as_str()),
            _ => None,
        })
    }
}

/// An `env` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// A string literal.
    Text(String),
    /// An integer literal.
    Integer(i128),
}

/// A `clock` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// Its name, which integer types' `map = clock.NAME.value` refer to.
    pub name: String,
    /// Its UUID, when declared.
    pub uuid: Option<[u8; 16]>,
    /// Free text.
    pub description: String,
    /// Ticks per second (1 GHz when not declared, CTF 1.8 §8).
    pub frequency: u64,
    /// Seconds from the Epoch (or the clock's origin) to tick 0, before `offset`.
    pub offset_seconds: i64,
    /// Further ticks from there to tick 0.
    pub offset_cycles: u64,
    /// Uncertainty, in ticks.
    pub precision: u64,
    /// Whether the clock is a global reference across traces.
    pub absolute: bool,
}

impl Clock {
    /// Nanoseconds from the clock's origin to tick 0, when they fit in an `i64`.
    pub fn offset_ns(&self) -> Option<i64> {
        i64::try_from(self.offset_ns_wide()).ok()
    }

    /// Nanoseconds from the clock's origin to tick 0, in any range.
    pub fn offset_ns_wide(&self) -> i128 {
        let cycles_ns = i128::from(self.offset_cycles) * 1_000_000_000 / i128::from(self.frequency.max(1));
        i128::from(self.offset_seconds) * 1_000_000_000 + cycles_ns
    }
}

/// A `stream` block.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamClass {
    /// Its ID (0 when the trace declares a single stream class without one).
    pub id: u64,
    /// `packet.context`.
    pub packet_context: Option<StructType>,
    /// `event.header`.
    pub event_header: Option<StructType>,
    /// `event.context`: fields every event of the stream carries before its own.
    pub event_context: Option<StructType>,
}

/// An `event` block.
#[derive(Debug, Clone, PartialEq)]
pub struct EventClass {
    /// Its ID within its stream class.
    pub id: u64,
    /// Its stream class.
    pub stream_id: u64,
    /// Its name.
    pub name: String,
    /// `loglevel`, when declared (LTTng's levels: 0 emergency to 14 debug).
    pub log_level: Option<i64>,
    /// `model.emf.uri`, when declared.
    pub emf_uri: Option<String>,
    /// `context`: the event's own context fields.
    pub context: Option<StructType>,
    /// `fields`: the payload.
    pub fields: Option<StructType>,
}
