//! Writer for the tracemark trace format, version 1.3 (`spec/SPEC.md`).
//!
//! - [`event!`], [`struct_type!`] and [`enum_type!`] declare statically typed events; field
//!   values implement [`FieldValue`] (integers, floats, ABI-sized wrappers such as [`CLong`] and
//!   [`Pointer`], strings, [`Blob`], arrays, sequences, enumerations, nested structs).
//! - [`Registry`] is the metadata registry: TRACE, CLOCK, STREAM_CLASS, EVENT_CLASS and ENV
//!   records in metadata packets (§7). Registering returns a handle only once the record is
//!   queued; every [`StreamOutput`] delivers queued metadata before the data packet that could
//!   use it (§7.6).
//! - [`StreamWriter`] is one stream's packet writer: `reserve` → write → `commit` on the hot
//!   path, with no allocation and no lock; the packet switch is out of line. Packet memory is
//!   the caller's ([`backend::PacketBuffer`]); finished packets go to a [`PacketSink`].
//! - Markers (§8): [`StreamWriter::marker`] with a format string and [`MarkerArg`]s.
//! - [`ring`]: the lock-free per-CPU / per-thread-slot ring buffer (reserve by CAS, commit
//!   counters, discard and overwrite modes, nesting-safe, `no_std` in the caller's memory), and
//!   with `std` [`ring::RingSession`], the tracer built on it: a consumer thread draining packets
//!   to a sink, a periodic flush, snapshots, a stop that loses nothing. Clocks: [`Clock`] with
//!   [`MonotonicClock`], the cycle counter ([`TscClock`], x86-64) and [`NullClock`].
//! - With `std` (default): [`Session`] (several threads, one stream each), the sinks
//!   [`DirectorySink`] (§9.1), [`FileSink`] (§9.2) and [`MemorySink`], [`MonotonicClock`], and
//!   the host's `uname` in the TRACE record. Without it: [`LocalTrace`], single-threaded.
//!
//! Everything written follows [`Config::abi`]: byte order and C type sizes can differ from
//! the host's, to test readers against big-endian or 32-bit traces. [`Config::header_word`]
//! picks the records' header word (§5.1): [`HeaderWord::Narrow`] writes 4 bytes instead of 8
//! for events of class IDs below 255 that follow the previous one within 2^24 ticks (16 bytes
//! for the others), and makes data packets version 1.3, which readers before it refuse.
//!
//! ```
//! use tracemark_writer::{
//!     enum_type, event, struct_type, Blob, ByteOrder, CLong, Config, HeaderWord, ManualClock,
//!     MarkerArg, MemorySink, Pointer, Session, Abi,
//! };
//!
//! enum_type! {
//!     /// Task state.
//!     pub enum TaskState: CLong { Running = 0, Sleeping = 1 }
//! }
//! struct_type! {
//!     /// A CPU and its load.
//!     pub struct CpuLoad { pub cpu: u16, pub load: f32 }
//! }
//! event! {
//!     /// A context switch.
//!     pub struct SchedSwitch<'a>("sched_switch") {
//!         pub prev_comm: &'a str,
//!         pub prev_pid: i32,
//!         pub prev_state: TaskState,
//!         pub next_pid: i32,
//!         pub stack: Pointer,
//!         pub cpus: &'a [CpuLoad],
//!         pub raw: Blob<'a>,
//!     }
//! }
//!
//! let sink = MemorySink::new();
//! let config = Config::with_uuid([7; 16]).abi(Abi::ilp32(ByteOrder::Big)).packet_size(4096);
//! let config = config.header_word(HeaderWord::Narrow); // 4-byte record headers (§5.1)
//! let session = Session::builder(config).build_with_clock(ManualClock::new(1_000), sink.clone())?;
//! let switch = session.register::<SchedSwitch>()?;
//! let mut cpu0 = session.stream(0)?;
//! cpu0.emit(switch, &SchedSwitch {
//!     prev_comm: "bash",
//!     prev_pid: 42,
//!     prev_state: TaskState::Sleeping,
//!     next_pid: 0,
//!     stack: Pointer(0xdead_beef),
//!     cpus: &[CpuLoad { cpu: 0, load: 0.5 }],
//!     raw: Blob(b"\x01\x02"),
//! })?;
//! cpu0.marker("irq", "irq %d name %s", &[MarkerArg::Int(9), MarkerArg::Str("eth0")])?;
//! drop(cpu0);
//! let summary = session.finish()?;
//! assert_eq!(summary.events_written, 2);
//! // The first packet is metadata (TRACE first), then the data packet: the single-file form.
//! let packets = sink.packets();
//! assert_eq!(packets.len(), 2);
//! assert_eq!(&packets[1].bytes[..4], b"KMRT"); // big-endian magic (§2.2)
//! assert_eq!(packets[1].bytes[5], 3); // version 1.3: narrow record headers
//! # Ok::<(), tracemark_writer::Error>(())
//! ```
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod backend;
mod clock;
mod config;
mod error;
mod event;
mod index;
mod local;
mod marker;
mod metadata;
mod packet;
mod payload;
pub mod ring;
mod stream;
mod validate;
mod value;

/// The `std` layer (`src/std/`; the module cannot be named `std`).
#[cfg(feature = "std")]
#[path = "std/mod.rs"]
mod hosted;

#[cfg(target_arch = "x86_64")]
pub use clock::TscClock;
pub use clock::{Clock, FnClock, ManualClock, NullClock};
pub use config::{Config, DEFAULT_METADATA_PACKET_SIZE, DEFAULT_PACKET_SIZE};
pub use error::{Error, Result};
pub use event::{enum_type_desc, Enum, EnumValue, EventType};
pub use index::Indexer;
pub use local::LocalTrace;
pub use marker::MarkerArg;
pub use metadata::{EventHandle, MetadataStats, RawHandle, Registry, StreamParams, TraceDescription};
pub use packet::{seal, PacketInfo, PacketKind, PacketSink};
pub use payload::PayloadWriter;
pub use stream::{Slot, StreamOutput, StreamStats, StreamWriter};
pub use value::{
    Blob, ByteStr, CInt, CLong, CLongLong, CShort, CUInt, CULong, CULongLong, CUShort, FieldValue, IntValue,
    Pointer, SSizeT, SizeT,
};

#[cfg(feature = "std")]
pub use hosted::*;

pub use tracemark_format::{
    compress::Codec, Abi, ByteOrder, EnumMapping, EnvValue, Field, HeaderWord, IntType, TypeDesc,
};

#[doc(hidden)]
pub mod __private {
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}
