//! Rust binding of the C probe writer core (`probe/core`, built by `build.rs` with the
//! userspace shim), for tests and for differential fuzzing against the Rust writer.
//!
//! A [`Writer`] is one C channel (a ring buffer per simulated CPU, discard or overwrite mode)
//! plus one C metadata stream. The Rust side chooses every timestamp (the C clock is a
//! thread-local value set before each call), registers event classes with the format crate's
//! own descriptors ([`tracemark_format::EventClass`]), emits events with typed [`Value`]s
//! through the C payload put functions or markers with [`MarkerArg`]s through the C marker
//! code, and collects whole packets as `Vec<u8>`.
//!
//! The trace is written in the host's byte order with the host's C ABI ([`Writer::abi`]): the
//! C core has no other mode (§2.1). Everything else is fixed by [`Config`] (UUID, TRACE
//! strings, clock), so the same script gives byte-identical output on one host.
//!
//! ```
//! use tracemark_format::{EventClass, Field, IntType, Layout, TypeDesc};
//! use tracemark_probe::{Config, Outcome, Value, Writer};
//!
//! let mut writer = Writer::new(Config::default())?;
//! let class = EventClass::new(1, 0, "tick", Layout::Fields(vec![Field::new("n", TypeDesc::Int(IntType::U32))]));
//! writer.register(&class)?;
//! assert_eq!(writer.emit(0, 100, 1, &[Value::U32(7)])?, Outcome::Recorded);
//! let out = writer.finish(200)?;
//! assert_eq!(out.streams[0].packets.len(), 1);
//! # Ok::<(), tracemark_probe::Error>(())
//! ```
//!
//! Misuse is refused in Rust before anything reaches C ([`Error`]); the `unsafe` code is all
//! in one private module whose wrappers are safe for any input.
#![deny(missing_docs)]
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod ffi;
mod value;

use std::{collections::HashMap, ffi::CString, fmt, io, path::Path};

use tracemark_format::{
    types::code, Abi, ByteOrder, ClockClass, EnvValue, EventClass, Layout, PACKET_HEADER_LEN,
};

pub use value::{MarkerArg, Value};

/// Largest sub-buffer (packet) size accepted.
pub const MAX_PACKET_SIZE: u32 = 1 << 24;
/// Largest ring (sub-buffers × size) per CPU accepted.
pub const MAX_RING_BYTES: u64 = 1 << 28;
/// Most simulated CPUs accepted.
pub const MAX_CPUS: u32 = 1024;

/// The strings of the TRACE record (§7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceStrings {
    /// OS name.
    pub os_name: String,
    /// OS release.
    pub os_release: String,
    /// Architecture.
    pub architecture: String,
    /// Host name.
    pub hostname: String,
    /// Tracer name.
    pub tracer_name: String,
    /// Tracer version.
    pub tracer_version: String,
}

impl Default for TraceStrings {
    /// Fixed values, so that output does not depend on the machine beyond its ABI.
    fn default() -> Self {
        TraceStrings {
            os_name: "Linux".into(),
            os_release: "tracemark-probe".into(),
            architecture: std::env::consts::ARCH.into(),
            hostname: "tracemark-probe".into(),
            tracer_name: "tracemark-probe-c".into(),
            tracer_version: "0.1.0".into(),
        }
    }
}

/// Writer configuration. Byte order and ABI are not configurable: they are the host's.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Sub-buffer = packet size: a power of two, 256 ..= [`MAX_PACKET_SIZE`].
    pub packet_size: u32,
    /// Sub-buffers per CPU: a power of two, at least 2.
    pub nr_subbufs: u32,
    /// Simulated CPUs (streams `stream-<class>-<cpu>`), 1 ..= [`MAX_CPUS`].
    pub nr_cpus: u32,
    /// Set `HAS_CRC` and fill the CRC of every packet, metadata included (§4.4).
    pub crc: bool,
    /// Flight-recorder mode: writers overwrite the oldest unconsumed packet.
    pub overwrite: bool,
    /// After every emit and flush, take every complete packet (a consumer that keeps up).
    /// Turn off to let buffers fill (discards, or overwrites in overwrite mode).
    pub auto_drain: bool,
    /// Trace UUID of every packet.
    pub trace_uuid: [u8; 16],
    /// TRACE record strings.
    pub trace: TraceStrings,
    /// The clock (CLOCK record, §7.4).
    pub clock: ClockClass,
    /// Stream class ID of the channel (STREAM_CLASS record, §7.5).
    pub stream_class_id: u32,
    /// Its name.
    pub stream_class_name: String,
    /// ENV records written at creation.
    pub env: Vec<(String, EnvValue)>,
    /// Metadata packet size: a multiple of 8, 160 ..= [`MAX_PACKET_SIZE`].
    pub metadata_packet_size: u32,
    /// Metadata packets the writer can hold.
    pub metadata_max_packets: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            packet_size: 4096,
            nr_subbufs: 4,
            nr_cpus: 1,
            crc: true,
            overwrite: false,
            auto_drain: true,
            trace_uuid: [
                0x3f, 0x2a, 0x91, 0x0c, 0x5d, 0x7e, 0x4b, 0x18, 0x9c, 0x01, 0x6a, 0xd2, 0x44, 0xe5, 0x13,
                0x77,
            ],
            trace: TraceStrings::default(),
            clock: ClockClass {
                id: 0,
                frequency: 1_000_000_000,
                offset_ns: 0,
                precision: 1,
                name: "manual".into(),
                description: "set by the Rust caller per event".into(),
            },
            stream_class_id: 0,
            stream_class_name: "probe".into(),
            env: Vec::new(),
            metadata_packet_size: 4096,
            metadata_max_packets: 64,
        }
    }
}

/// What happened to an event the ring buffer was asked to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written.
    Recorded,
    /// Dropped because the buffer was full, and counted (§10.1).
    Discarded,
    /// Dropped because it cannot fit in a packet, and counted.
    TooBig,
}

/// Why a call was refused. Nothing reaches C when Rust refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The configuration is out of range.
    Config(&'static str),
    /// The C core refused, with this negative errno (`-22` EINVAL: invalid metadata, …).
    C(i32),
    /// The mirrored C struct layouts differ from Rust's (a build problem).
    Layout,
    /// A string for C holds a NUL byte.
    Nul,
    /// No such CPU.
    NoSuchCpu(u32),
    /// No registered class with this ID.
    UnknownClass(u32),
    /// A class with this ID is already registered.
    DuplicateClass(u32),
    /// The class belongs to another stream class than the channel's.
    ForeignStreamClass(u32),
    /// A field-list class given marker arguments, or the reverse.
    WrongLayout(u32),
    /// The class cannot be handed to C (too many entries, too deep, bad format string).
    BadClass(&'static str),
    /// A timestamp lower than an earlier one on the same CPU (§1.7).
    TimestampBackwards {
        /// The CPU.
        cpu: u32,
        /// The last timestamp used on it.
        last: u64,
        /// The one given.
        ts: u64,
    },
    /// Values that do not match the class's layout; the text says where.
    Payload(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(what) => write!(f, "invalid configuration: {what}"),
            Error::C(errno) => write!(f, "the C writer refused: errno {}", -errno),
            Error::Layout => write!(f, "C struct layouts differ from the Rust mirrors"),
            Error::Nul => write!(f, "string holds a NUL byte"),
            Error::NoSuchCpu(cpu) => write!(f, "no CPU {cpu}"),
            Error::UnknownClass(id) => write!(f, "no event class {id}"),
            Error::DuplicateClass(id) => write!(f, "event class {id} already registered"),
            Error::ForeignStreamClass(id) => {
                write!(f, "event class {id} is not of the channel's stream class")
            }
            Error::WrongLayout(id) => write!(f, "event class {id} has the other layout kind"),
            Error::BadClass(why) => write!(f, "event class cannot be passed to C: {why}"),
            Error::TimestampBackwards { cpu, last, ts } => {
                write!(f, "cpu {cpu}: timestamp {ts} before {last} (§1.7)")
            }
            Error::Payload(why) => write!(f, "payload does not match the layout: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// The packets of one data stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPackets {
    /// Stream class ID.
    pub stream_class_id: u32,
    /// Stream instance ID, the CPU.
    pub cpu: u32,
    /// Whole packets, in sequence order.
    pub packets: Vec<Vec<u8>>,
}

impl StreamPackets {
    /// The stream file's bytes (§9.1).
    pub fn bytes(&self) -> Vec<u8> {
        self.packets.concat()
    }
}

/// A collected trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The metadata stream: whole packets, concatenated.
    pub metadata: Vec<u8>,
    /// One entry per CPU, even with no packet.
    pub streams: Vec<StreamPackets>,
}

impl Output {
    /// The metadata packets one by one.
    pub fn metadata_packets(&self) -> Vec<&[u8]> {
        split_packets(&self.metadata)
    }

    /// Single-file form (§9.2): metadata packets first, then each stream's.
    pub fn single_file(&self) -> Vec<u8> {
        let mut out = self.metadata.clone();
        for stream in &self.streams {
            for packet in &stream.packets {
                out.extend_from_slice(packet);
            }
        }
        out
    }

    /// Directory form (§9.1): `metadata` and `stream-<class>-<cpu>.tmk` in `dir`.
    pub fn write_dir(&self, dir: impl AsRef<Path>) -> io::Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("metadata"), &self.metadata)?;
        for stream in &self.streams {
            let name = format!("stream-{}-{}.tmk", stream.stream_class_id, stream.cpu);
            std::fs::write(dir.join(name), stream.bytes())?;
        }
        Ok(())
    }
}

/// Splits concatenated packets by their `packet_size` (host byte order; stops at anything odd).
fn split_packets(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while bytes.len() >= PACKET_HEADER_LEN {
        let size = ByteOrder::NATIVE.read_u32(&bytes[68..]).unwrap_or(0) as usize;
        if size < PACKET_HEADER_LEN || size > bytes.len() {
            break;
        }
        let (packet, rest) = bytes.split_at(size);
        out.push(packet);
        bytes = rest;
    }
    out
}

struct Class {
    c: ffi::CClass,
    fields: Option<Vec<tracemark_format::Field>>,
    stream_class_id: u32,
}

/// The class `id`, if `cpu` exists, `ts` keeps its order and the class is the channel's.
fn lookup<'a>(
    classes: &'a HashMap<u32, Class>,
    last_ts: &[u64],
    stream_class_id: u32,
    (cpu, ts, id): (u32, u64, u32),
) -> Result<&'a Class, Error> {
    let last = *last_ts.get(cpu as usize).ok_or(Error::NoSuchCpu(cpu))?;
    if ts < last {
        return Err(Error::TimestampBackwards { cpu, last, ts });
    }
    let class = classes.get(&id).ok_or(Error::UnknownClass(id))?;
    if class.stream_class_id != stream_class_id {
        return Err(Error::ForeignStreamClass(id));
    }
    Ok(class)
}

/// The C writer, driven from Rust.
pub struct Writer {
    raw: ffi::RawWriter,
    config: Config,
    classes: HashMap<u32, Class>,
    last_ts: Vec<u64>,
    packets: Vec<Vec<Vec<u8>>>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").field("config", &self.config).field("classes", &self.classes.len()).finish()
    }
}

fn cstring(text: &str) -> Result<CString, Error> {
    CString::new(text).map_err(|_| Error::Nul)
}

fn check(ret: i32) -> Result<(), Error> {
    if ret == 0 {
        Ok(())
    } else {
        Err(Error::C(ret))
    }
}

fn validate(config: &Config) -> Result<(), Error> {
    let size = config.packet_size;
    if !size.is_power_of_two() || !(256..=MAX_PACKET_SIZE).contains(&size) {
        return Err(Error::Config("packet_size: a power of two in 256..=2^24"));
    }
    if !config.nr_subbufs.is_power_of_two() || config.nr_subbufs < 2 {
        return Err(Error::Config("nr_subbufs: a power of two, at least 2"));
    }
    if u64::from(size) * u64::from(config.nr_subbufs) > MAX_RING_BYTES {
        return Err(Error::Config("ring larger than MAX_RING_BYTES"));
    }
    if config.nr_cpus == 0 || config.nr_cpus > MAX_CPUS {
        return Err(Error::Config("nr_cpus: 1..=1024"));
    }
    let meta = config.metadata_packet_size;
    if !meta.is_multiple_of(8) || !(160..=MAX_PACKET_SIZE).contains(&meta) {
        return Err(Error::Config("metadata_packet_size: a multiple of 8 in 160..=2^24"));
    }
    if config.metadata_max_packets == 0
        || u64::from(meta) * u64::from(config.metadata_max_packets) > MAX_RING_BYTES
    {
        return Err(Error::Config("metadata_max_packets: at least 1, at most MAX_RING_BYTES in all"));
    }
    Ok(())
}

impl Writer {
    /// Creates the C writer and writes TRACE, CLOCK, STREAM_CLASS and the ENV records.
    pub fn new(config: Config) -> Result<Writer, Error> {
        validate(&config)?;
        if !ffi::check_layout() {
            return Err(Error::Layout);
        }
        let t = &config.trace;
        let raw_config = ffi::RawConfig {
            subbuf_size: config.packet_size,
            nr_subbufs: config.nr_subbufs,
            nr_cpus: config.nr_cpus,
            stream_class_id: config.stream_class_id,
            meta_pkt_size: config.metadata_packet_size,
            meta_max_pkts: config.metadata_max_packets,
            crc: config.crc,
            overwrite: config.overwrite,
            uuid: config.trace_uuid,
            strings: [
                cstring(&t.os_name)?,
                cstring(&t.os_release)?,
                cstring(&t.architecture)?,
                cstring(&t.hostname)?,
                cstring(&t.tracer_name)?,
                cstring(&t.tracer_version)?,
            ],
        };
        let mut raw = ffi::RawWriter::new(&raw_config).map_err(Error::C)?;
        let clock = &config.clock;
        check(raw.meta_clock(
            clock.id,
            clock.frequency,
            clock.offset_ns,
            clock.precision,
            &cstring(&clock.name)?,
            &cstring(&clock.description)?,
        ))?;
        check(raw.meta_stream_class(config.stream_class_id, clock.id, &cstring(&config.stream_class_name)?))?;
        let nr_cpus = config.nr_cpus as usize;
        let mut writer = Writer {
            raw,
            classes: HashMap::new(),
            last_ts: vec![0; nr_cpus],
            packets: vec![Vec::new(); nr_cpus],
            config,
        };
        for (key, value) in writer.config.env.clone() {
            writer.set_env(&key, &value)?;
        }
        Ok(writer)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The ABI the C core writes with: the host's, byte order included.
    pub fn abi(&self) -> Abi {
        Abi::HOST
    }

    /// Appends an ENV record (§7.9).
    pub fn set_env(&mut self, key: &str, value: &EnvValue) -> Result<(), Error> {
        let key = cstring(key)?;
        check(match value {
            EnvValue::Str(text) => self.raw.meta_env_str(&key, &cstring(text)?),
            EnvValue::Int(value) => self.raw.meta_env_i64(&key, *value),
        })
    }

    /// Declares an event class in the metadata through the C encoder (which computes the
    /// identity hash itself; `class.identity` is ignored). The C core validates names, field
    /// lists, format strings and log levels, and refuses with [`Error::C`]`(-22)`.
    pub fn register(&mut self, class: &EventClass) -> Result<(), Error> {
        if self.classes.contains_key(&class.id) {
            return Err(Error::DuplicateClass(class.id));
        }
        let (fields, format) = match &class.layout {
            Layout::Fields(fields) => (Some(fields.as_slice()), None),
            Layout::Marker(format) => (None, Some(format.as_str())),
        };
        let c =
            ffi::CClass::new(class.id, class.stream_class_id, class.log_level, &class.name, fields, format)
                .map_err(|error| match error {
                ffi::ClassError::Nul => Error::Nul,
                ffi::ClassError::TooMany => Error::BadClass("more than 65535 fields or mappings"),
                ffi::ClassError::TooDeep => Error::BadClass("nested deeper than 64"),
                ffi::ClassError::BadFormat => Error::C(-22),
            })?;
        check(self.raw.meta_event_class(&c))?;
        self.classes.insert(
            class.id,
            Class { c, fields: fields.map(<[_]>::to_vec), stream_class_id: class.stream_class_id },
        );
        Ok(())
    }

    fn outcome(&mut self, cpu: u32, ts: u64, ret: i32) -> Result<Outcome, Error> {
        self.last_ts[cpu as usize] = ts;
        let outcome = match ret {
            0 => Outcome::Recorded,
            -105 => Outcome::Discarded,
            -7 => Outcome::TooBig,
            other => return Err(Error::C(other)),
        };
        if self.config.auto_drain {
            self.drain_cpu(cpu);
        }
        Ok(outcome)
    }

    /// Records an event of field-list class `id` on `cpu` at `ts`, one value per field, through
    /// `tmk_rb_reserve`, the C payload puts and `tmk_rb_commit`.
    pub fn emit(&mut self, cpu: u32, ts: u64, id: u32, values: &[Value]) -> Result<Outcome, Error> {
        let class = lookup(&self.classes, &self.last_ts, self.config.stream_class_id, (cpu, ts, id))?;
        let fields = class.fields.as_deref().ok_or(Error::WrongLayout(id))?;
        let size = value::payload_size(fields, values)?;
        let size = u32::try_from(size).map_err(|_| Error::Payload("payload larger than 4 GiB".into()))?;
        ffi::set_now(ts);
        let ret = self.raw.reserve(cpu, id, size);
        if ret == 0 {
            for (field, v) in fields.iter().zip(values) {
                value::put(&mut self.raw, &field.ty, v);
            }
            // Sizes were validated, so the C side must find the payload exactly filled.
            let committed = self.raw.commit();
            assert_eq!(committed, 0, "payload size mismatch between Rust and C");
        }
        self.outcome(cpu, ts, ret)
    }

    /// Records a marker of class `id` (layout [`Layout::Marker`]) through the C marker code
    /// (`tmk_marker_write_argv`), one argument per pair of the format.
    pub fn marker(&mut self, cpu: u32, ts: u64, id: u32, args: &[MarkerArg]) -> Result<Outcome, Error> {
        let class = lookup(&self.classes, &self.last_ts, self.config.stream_class_id, (cpu, ts, id))?;
        if !class.c.is_marker() {
            return Err(Error::WrongLayout(id));
        }
        let strings = value::marker_check(&class.c.marker_codes, args)?;
        let mut strings = strings.iter();
        let raw: Vec<ffi::RawArg<'_>> = class
            .c
            .marker_codes
            .iter()
            .zip(args)
            .map(|(&code, arg)| match (code, arg) {
                (code::STRING, _) => ffi::RawArg::Str(strings.next().expect("one CString per %s")),
                (_, arg) => ffi::RawArg::Bits(arg.bits()),
            })
            .collect();
        ffi::set_now(ts);
        let ret = self.raw.marker(cpu, &class.c, &raw);
        self.outcome(cpu, ts, ret)
    }

    /// Closes the open packet of every CPU at `ts` (or writes an empty packet carrying
    /// pending discards, §10.1), so that a consumer can take it.
    pub fn flush(&mut self, ts: u64) -> Result<(), Error> {
        for cpu in 0..self.config.nr_cpus {
            self.flush_cpu(cpu, ts)?;
        }
        Ok(())
    }

    /// [`flush`](Writer::flush) for one CPU.
    pub fn flush_cpu(&mut self, cpu: u32, ts: u64) -> Result<(), Error> {
        let last = *self.last_ts.get(cpu as usize).ok_or(Error::NoSuchCpu(cpu))?;
        if ts < last {
            return Err(Error::TimestampBackwards { cpu, last, ts });
        }
        ffi::set_now(ts);
        self.raw.flush(cpu);
        self.last_ts[cpu as usize] = ts;
        if self.config.auto_drain {
            self.drain_cpu(cpu);
        }
        Ok(())
    }

    /// Consumes every complete packet of every CPU; returns how many.
    pub fn drain(&mut self) -> usize {
        (0..self.config.nr_cpus).map(|cpu| self.drain_cpu(cpu)).sum()
    }

    /// Consumes every complete packet of `cpu` into [`packets`](Writer::packets).
    pub fn drain_cpu(&mut self, cpu: u32) -> usize {
        let mut n = 0;
        if cpu < self.config.nr_cpus {
            while let Some(packet) = self.raw.take_packet(cpu) {
                self.packets[cpu as usize].push(packet);
                n += 1;
            }
        }
        n
    }

    /// Packets of `cpu` consumed so far.
    pub fn packets(&self, cpu: u32) -> &[Vec<u8>] {
        self.packets.get(cpu as usize).map_or(&[], Vec::as_slice)
    }

    /// Copies of the complete packets `cpu`'s buffer holds now, oldest first, without
    /// consuming them (`tmk_rb_snapshot`); call [`flush_cpu`](Writer::flush_cpu) first to
    /// include the open packet.
    pub fn snapshot(&mut self, cpu: u32) -> Vec<Vec<u8>> {
        if cpu >= self.config.nr_cpus {
            return Vec::new();
        }
        self.raw.snapshot(cpu, self.config.nr_subbufs, self.config.packet_size)
    }

    /// `cpu`'s discard counter (§10.1).
    pub fn discarded(&mut self, cpu: u32) -> u64 {
        self.raw.discarded(cpu)
    }

    /// Packets of `cpu` overwritten in overwrite mode.
    pub fn overwritten(&mut self, cpu: u32) -> u64 {
        self.raw.overwritten(cpu)
    }

    /// The metadata stream so far: whole sealed packets.
    pub fn metadata(&mut self) -> Vec<u8> {
        self.raw.metadata()
    }

    /// Metadata and the packets consumed so far.
    pub fn output(&mut self) -> Output {
        let stream_class_id = self.config.stream_class_id;
        Output {
            metadata: self.metadata(),
            streams: (0..self.config.nr_cpus)
                .map(|cpu| StreamPackets {
                    stream_class_id,
                    cpu,
                    packets: self.packets[cpu as usize].clone(),
                })
                .collect(),
        }
    }

    /// Flushes every CPU at `ts`, consumes everything and returns the trace.
    pub fn finish(mut self, ts: u64) -> Result<Output, Error> {
        self.flush(ts)?;
        self.drain();
        Ok(self.output())
    }
}
