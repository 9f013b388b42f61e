//! Ring geometry, identity, and the compile-time mode and concurrency.

use alloc::vec;

use tracemark_format::{
    metadata::LOG_LEVEL_UNSPECIFIED, Abi, Field, HeaderWord, TypeDesc, EXTENDED_HEADER_LEN, PACKET_HEADER_LEN,
};

use crate::{Error, Registry, Result};

/// Why a [`RingConfig`] or its storage was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The sub-buffer size is not a power of two in `[256, 2^31]`.
    SubbufSize(usize),
    /// The sub-buffer count is not a power of two in `[2, 2^15]`.
    SubbufCount(usize),
    /// The byte region or control array does not have the length [`RingConfig::data_len`] /
    /// [`RingConfig::control_len`] give.
    StorageSize {
        /// Length needed.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// The ABI has a size other than 1, 2, 4 or 8 (§3.2).
    Abi,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ConfigError::SubbufSize(size) => {
                write!(f, "ring sub-buffer size {size} is not a power of two in [256, 2^31]")
            }
            ConfigError::SubbufCount(count) => {
                write!(f, "ring sub-buffer count {count} is not a power of two in [2, 2^15]")
            }
            ConfigError::StorageSize { expected, found } => {
                write!(f, "ring storage has {found} elements, the geometry needs {expected}")
            }
            ConfigError::Abi => f.write_str("every ABI size must be 1, 2, 4 or 8 (§3.2)"),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Error {
        Error::InvalidConfig(match error {
            ConfigError::SubbufSize(_) => {
                "ring sub-buffer (packet) size must be a power of two in [256, 2^31]"
            }
            ConfigError::SubbufCount(_) => "ring sub-buffer count must be a power of two in [2, 2^15]",
            ConfigError::StorageSize { .. } => "ring storage does not match the ring geometry",
            ConfigError::Abi => "every ABI size must be 1, 2, 4 or 8 (§3.2)",
        })
    }
}

/// What a writer does when the sub-buffer it needs has not been consumed yet.
///
/// A sealed type parameter rather than a field, so the check folds away on the fast path
/// (lttng's `static const` client config does the same).
pub trait Mode: private::Sealed + Send + Sync + 'static {
    /// Overwrite (flight recorder) rather than discard.
    const OVERWRITE: bool;
}

/// Discard mode: a full ring drops new events and counts them (§10.1).
#[derive(Debug, Clone, Copy)]
pub enum Discard {}
/// Overwrite (flight-recorder) mode: a full ring reuses its oldest sub-buffer; what is lost shows
/// as a packet sequence gap (§10.2).
#[derive(Debug, Clone, Copy)]
pub enum Overwrite {}

impl Mode for Discard {
    const OVERWRITE: bool = false;
}
impl Mode for Overwrite {
    const OVERWRITE: bool = true;
}

/// Who may write a ring (lttng's `RING_BUFFER_SYNC_GLOBAL` / `RING_BUFFER_SYNC_PER_CPU`).
pub trait Concurrency: private::Sealed + Send + Sync + 'static {
    /// Single-owner ring using CPU-local read-modify-writes.
    const LOCAL: bool;
}

/// Any thread may write, flush and nest: the write position and commit counters use ordinary
/// (`lock`-prefixed on x86) atomics, and the clock is read with
/// [`Clock::now_ordered`](crate::Clock::now_ordered). The default.
#[derive(Debug, Clone, Copy)]
pub enum Shared {}

/// One owner thread at a time (plus signal handlers nested in it) writes; the consumer may run
/// on any thread. The write position and commit counters then use read-modify-writes that are
/// atomic only against the owner's own CPU (x86 `cmpxchg`/`xadd` without `lock`, as
/// lttng-modules' per-CPU `local_t`), about 3x cheaper here.
///
/// Another thread may still close the open packet with
/// [`Ring::flush_remote`](super::Ring::flush_remote), which needs a process-wide memory barrier
/// (`membarrier(2)`; an IPI in a kernel) to exclude the owner. Built with the `unsafe`
/// [`Ring::new_local`](super::Ring::new_local).
#[derive(Debug, Clone, Copy)]
pub enum Local {}

impl Concurrency for Shared {
    const LOCAL: bool = false;
}
impl Concurrency for Local {
    const LOCAL: bool = true;
}

mod private {
    pub trait Sealed {}
    impl Sealed for super::Discard {}
    impl Sealed for super::Overwrite {}
    impl Sealed for super::Shared {}
    impl Sealed for super::Local {}
}

/// The name of the event class a ring rewrites a record into when a payload encoder wrote a
/// different number of bytes than it declared (one string field, `skipped`).
pub const VOID_EVENT_NAME: &str = "tracemark_void";

/// What typed writes ([`Ring::emit`](super::Ring::emit)) need from the registry: which handles
/// belong to this stream, and the class a broken record is rewritten as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TypedStream {
    pub(crate) serial: u32,
    pub(crate) void_id: u32,
}

/// Geometry and identity of one ring (one stream, §1.2).
///
/// ```
/// use tracemark_writer::ring::RingConfig;
///
/// let config = RingConfig::new(4096, 8).instance(3);
/// assert_eq!(config.data_len::<tracemark_writer::ring::Discard>(), 8 * 4096);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Sub-buffer (= packet) size `S` in bytes: a power of two, at least 256.
    pub subbuf_size: usize,
    /// Number of sub-buffers `N`: a power of two, at least 2.
    pub num_subbufs: usize,
    /// Trace UUID written in every packet header.
    pub trace_uuid: [u8; 16],
    /// Stream class ID (§7.5).
    pub stream_class_id: u32,
    /// Stream instance ID: the CPU or thread slot number.
    pub stream_instance_id: u32,
    /// Byte order of everything written, and the C sizes typed payloads use (§2, §3).
    pub abi: Abi,
    /// Whether packets carry a CRC (§4.4), computed by the consumer.
    pub crc: bool,
    /// The records' header word (§5.1).
    pub header_word: HeaderWord,
    pub(crate) typed: Option<TypedStream>,
}

impl RingConfig {
    /// `num_subbufs` sub-buffers of `subbuf_size` bytes; host ABI, CRC on, UUID zero, stream
    /// (0, 0). Typed writes need [`RingConfig::for_stream`] instead.
    pub const fn new(subbuf_size: usize, num_subbufs: usize) -> RingConfig {
        RingConfig {
            subbuf_size,
            num_subbufs,
            trace_uuid: [0; 16],
            stream_class_id: 0,
            stream_instance_id: 0,
            abi: Abi::HOST,
            crc: true,
            header_word: HeaderWord::Wide,
            typed: None,
        }
    }

    /// The ring of stream (`stream_class_id`, `stream_instance_id`) of `registry`'s trace, with
    /// packets of the trace's packet size: typed events registered in `registry` can be written
    /// into it. Registers the [`VOID_EVENT_NAME`] class in the stream class (idempotent).
    pub fn for_stream(
        registry: &mut Registry,
        stream_class_id: u32,
        stream_instance_id: u32,
        num_subbufs: usize,
    ) -> Result<RingConfig> {
        let params = registry.stream_params(stream_class_id, stream_instance_id)?;
        let void = registry.register_fields(
            stream_class_id,
            VOID_EVENT_NAME,
            LOG_LEVEL_UNSPECIFIED,
            vec![Field::new("skipped", TypeDesc::String)],
        )?;
        if void.id() >= params.header_word.escape_id() {
            // A compact header could not be rewritten to name it.
            return Err(Error::InvalidConfig(
                "register the ring's void class before event IDs reach 0xFFFF (0xFF with narrow headers)",
            ));
        }
        let config = RingConfig {
            subbuf_size: params.packet_size as usize,
            num_subbufs,
            trace_uuid: params.uuid,
            stream_class_id,
            stream_instance_id,
            abi: params.abi,
            crc: params.crc,
            header_word: params.header_word,
            typed: Some(TypedStream { serial: params.serial, void_id: void.id() }),
        };
        config.validate()?;
        Ok(config)
    }

    /// Sets the stream instance ID.
    pub const fn instance(mut self, stream_instance_id: u32) -> RingConfig {
        self.stream_instance_id = stream_instance_id;
        self
    }

    /// Sets the trace UUID.
    pub const fn uuid(mut self, trace_uuid: [u8; 16]) -> RingConfig {
        self.trace_uuid = trace_uuid;
        self
    }

    /// Sets the ABI (and so the byte order).
    pub const fn abi(mut self, abi: Abi) -> RingConfig {
        self.abi = abi;
        self
    }

    /// Turns the packet CRC on or off.
    pub const fn crc(mut self, crc: bool) -> RingConfig {
        self.crc = crc;
        self
    }

    /// Sets the records' header word (§5.1).
    pub const fn header_word(mut self, header_word: HeaderWord) -> RingConfig {
        self.header_word = header_word;
        self
    }

    /// Checks the geometry and the ABI.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = self.subbuf_size;
        if !s.is_power_of_two() || !(256..=1 << 31).contains(&s) {
            return Err(ConfigError::SubbufSize(s));
        }
        let n = self.num_subbufs;
        if !n.is_power_of_two() || !(2..=1 << 15).contains(&n) {
            return Err(ConfigError::SubbufCount(n));
        }
        if !self.abi.is_valid() {
            return Err(ConfigError::Abi);
        }
        Ok(())
    }

    /// Physical sub-buffers: `N` in discard mode; `N + 1` in overwrite mode, where the consumer
    /// owns one spare it swaps with the sub-buffer it reads (lttng's `buf_rsb`).
    pub const fn physical_subbufs<M: Mode>(&self) -> usize {
        self.num_subbufs + M::OVERWRITE as usize
    }

    /// Length in bytes of the data region a ring of mode `M` needs.
    pub const fn data_len<M: Mode>(&self) -> usize {
        self.physical_subbufs::<M>() * self.subbuf_size
    }

    /// Length of the control array (one [`SubbufControl`](super::SubbufControl) per sub-buffer).
    pub const fn control_len(&self) -> usize {
        self.num_subbufs
    }

    /// The largest payload one record can carry (with an extended header).
    pub const fn max_payload(&self) -> usize {
        self.subbuf_size - PACKET_HEADER_LEN - EXTENDED_HEADER_LEN
    }
}

/// Whether `handle` may be written into a ring configured with `typed`.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn check_handle(
    typed: Option<TypedStream>,
    stream_class_id: u32,
    handle: crate::RawHandle,
) -> Result<u32> {
    match typed {
        Some(typed) if handle.serial() == typed.serial && handle.stream_class_id() == stream_class_id => {
            Ok(typed.void_id)
        }
        _ => Err(Error::ForeignHandle {
            event_id: handle.id(),
            handle_stream_class: handle.stream_class_id(),
            stream_class: stream_class_id,
        }),
    }
}
