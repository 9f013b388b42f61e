//! Scenarios: event classes and the exact events a writer must produce.

use tracemark_format::{Abi, ByteOrder, Field, HeaderWord};

/// A value to encode, shaped like its [`tracemark_format::TypeDesc`].
///
/// Integers hold the bit pattern the writer is given; an ABI-sized integer is truncated to
/// the ABI's size on the wire, as the C cast would, and the reader extends it back by the
/// type's signedness (§6.3).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `bool`.
    Bool(bool),
    /// An unsigned integer, or the bits of an enumeration's value.
    U(u64),
    /// A signed integer.
    I(i64),
    /// `f32`.
    F32(f32),
    /// `f64`.
    F64(f64),
    /// A string's bytes, without the terminating NUL.
    Str(Vec<u8>),
    /// A blob.
    Blob(Vec<u8>),
    /// The elements of an array or sequence.
    List(Vec<Val>),
    /// A struct's field values in declared order.
    Struct(Vec<Val>),
}

/// An event class: a name and its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSpec {
    /// Event name.
    pub name: String,
    /// Payload fields.
    pub fields: Vec<Field>,
}

impl ClassSpec {
    /// A class.
    pub fn new(name: impl Into<String>, fields: Vec<Field>) -> ClassSpec {
        ClassSpec { name: name.into(), fields }
    }
}

/// One event: its class (index into [`Scenario::classes`]), CPU, timestamp and values.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    /// Index of the class in [`Scenario::classes`].
    pub class: usize,
    /// Stream instance (CPU).
    pub cpu: u32,
    /// Clock value; non-decreasing per CPU.
    pub timestamp: u64,
    /// Field values, one per field.
    pub values: Vec<Val>,
}

/// Classes, events and the writer configuration that matters to the bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// ABI and byte order the writer emulates.
    pub abi: Abi,
    /// Data packet size.
    pub packet_size: u32,
    /// Whether packets carry a CRC.
    pub crc: bool,
    /// Trace UUID.
    pub uuid: [u8; 16],
    /// ID of the first event class; the others follow. At `0xFFFF` and above every record
    /// needs the extended header (§5.4); `0xFF` with the narrow word.
    pub first_event_id: u32,
    /// The records' header word (§5.1).
    pub header_word: HeaderWord,
    /// Event classes.
    pub classes: Vec<ClassSpec>,
    /// Events, in emission order.
    pub events: Vec<EventSpec>,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario {
            abi: Abi::lp64(ByteOrder::Little),
            packet_size: 4096,
            crc: true,
            // A fixed version 4 UUID, as §4.6 asks of a trace (`tracemark check` warns otherwise).
            uuid: [
                0x74, 0x72, 0x61, 0x63, 0x65, 0x6d, 0x41, 0x72, 0x8b, 0x2d, 0x73, 0x63, 0x6e, 0x72, 0x69,
                0x6f,
            ],
            first_event_id: 0,
            header_word: HeaderWord::Wide,
            classes: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl Scenario {
    /// The CPUs the events use, ascending.
    pub fn cpus(&self) -> Vec<u32> {
        let mut cpus: Vec<u32> = self.events.iter().map(|event| event.cpu).collect();
        cpus.sort_unstable();
        cpus.dedup();
        cpus
    }
}
