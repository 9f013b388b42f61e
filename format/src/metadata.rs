//! Metadata records (§7): the ABI descriptor, clocks, stream and event classes, environment.
//!
//! Each record is an envelope (`kind`, `flags`, `body_len`) and a body. Bodies are parsed with
//! binrw from a cursor over exactly `body_len` bytes, so a malformed record cannot overrun into
//! the next one and unknown trailing fields (added by a later minor version) are ignored.

use alloc::{borrow::Cow, boxed::Box, collections::BTreeSet, string::String, vec, vec::Vec};

use binrw::{
    binrw,
    io::{Cursor, Read, Seek, SeekFrom, Write},
    BinRead, BinResult, BinWrite, Endian,
};

use crate::{
    marker::{self, MarkerArg, MarkerError},
    types::{code, is_identifier, EnumMapping, Field, IntType, TypeDesc, MAX_NESTING_DEPTH},
    Abi, ByteOrder,
};

/// Record kinds (§7.3–§7.9).
pub mod kind {
    /// TRACE: the ABI descriptor.
    pub const TRACE: u16 = 1;
    /// CLOCK.
    pub const CLOCK: u16 = 2;
    /// STREAM_CLASS.
    pub const STREAM_CLASS: u16 = 3;
    /// EVENT_CLASS.
    pub const EVENT_CLASS: u16 = 4;
    /// ENV.
    pub const ENV: u16 = 5;
    /// INDEX: the packet index (§14, since 1.2).
    pub const INDEX: u16 = 6;
}

/// Length of the record envelope (§7.2).
pub const ENVELOPE_LEN: usize = 8;

/// Where fields that findings name lie in a record's body (§10.7: a finding about a value
/// names its first byte).
pub mod field_at {
    /// TRACE `byte_order`, after `trace_uuid`.
    pub const TRACE_BYTE_ORDER: usize = 16;
    /// STREAM_CLASS `clock_id`, after `stream_class_id`.
    pub const STREAM_CLASS_CLOCK_ID: usize = 4;
    /// EVENT_CLASS `identity`, after `event_id`, `stream_class_id`, `log_level` and
    /// `layout_kind`.
    pub const EVENT_CLASS_IDENTITY: usize = 10;
}

/// Bit 0 of a record's envelope `flags` (§7.2, version 1.1): the last [`RECORD_CHECK_LEN`] bytes
/// of its body are its check, [`crate::crc::record_crc`].
pub const RECORD_CHECKED: u16 = 0x0001;

/// Length of a record's check (§7.2).
pub const RECORD_CHECK_LEN: usize = 4;

/// Bytes a [`RecordIter`] over untrusted content may hash while it searches for the next
/// record after a damaged one, besides [`RESYNC_WORK_PER_BYTE`] per content byte: the search
/// is bounded by the content's size (§13.4).
pub const RESYNC_WORK_BASE: usize = 1 << 16;

/// See [`RESYNC_WORK_BASE`].
pub const RESYNC_WORK_PER_BYTE: usize = 16;

/// The TRACE record (§7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceInfo {
    /// Trace UUID, equal to every packet's.
    pub uuid: [u8; 16],
    /// The writer's ABI.
    pub abi: Abi,
    /// OS (kernel) name, e.g. `Linux`.
    pub os_name: String,
    /// OS release, e.g. `6.1.0-27-cloud-amd64`.
    pub os_release: String,
    /// Architecture, e.g. `x86_64`.
    pub architecture: String,
    /// Host name.
    pub hostname: String,
    /// Tracer name.
    pub tracer_name: String,
    /// Tracer version.
    pub tracer_version: String,
}

/// The CLOCK record (§7.4).
#[binrw]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockClass {
    /// Clock ID, unique within the trace.
    pub id: u32,
    /// Ticks per second.
    #[br(parse_with = read_frequency)]
    pub frequency: u64,
    /// Nanoseconds since the Unix epoch at tick 0.
    pub offset_ns: i64,
    /// Uncertainty in ticks.
    pub precision: u64,
    /// Name, e.g. `monotonic`.
    #[br(parse_with = read_name)]
    #[bw(write_with = write_str)]
    pub name: String,
    /// Free text.
    #[br(parse_with = read_str)]
    #[bw(write_with = write_str)]
    pub description: String,
}

impl ClockClass {
    /// Nanoseconds since the Unix epoch of tick value `ticks` (§7.4), exact: `ticks × 10^9`
    /// needs at most 94 bits and the offset 64, so the sum always fits an `i128`; the division
    /// rounds down.
    pub fn to_unix_ns(&self, ticks: u64) -> i128 {
        // A nanosecond clock, the usual case, needs no 128-bit division (a library call).
        let ns = match self.frequency {
            1_000_000_000 => u128::from(ticks),
            frequency => u128::from(ticks) * 1_000_000_000 / u128::from(frequency.max(1)),
        };
        // At most 2^94: the cast keeps the value.
        i128::from(self.offset_ns) + ns as i128
    }

    /// The first tick whose time ([`to_unix_ns`](Self::to_unix_ns)) is at or after `ns`;
    /// `None` when no tick of 64 bits is.
    pub fn first_tick_at_or_after(&self, ns: i128) -> Option<u64> {
        // floor(t × 10^9 / f) >= d, for an integer d, holds exactly when t × 10^9 >= d × f.
        let Some(since_zero) = ns.checked_sub(i128::from(self.offset_ns)) else {
            return if ns < 0 { Some(0) } else { None };
        };
        if since_zero <= 0 {
            return Some(0);
        }
        u64::try_from(ceil_ticks(since_zero as u128, self.frequency.max(1))?).ok()
    }

    /// The last tick whose time ([`to_unix_ns`](Self::to_unix_ns)) is at or before `ns`;
    /// `None` when tick 0 is already after it.
    pub fn last_tick_at_or_before(&self, ns: i128) -> Option<u64> {
        // floor(t × 10^9 / f) <= e holds exactly when t × 10^9 < (e + 1) × f.
        let Some(since_zero) = ns.checked_sub(i128::from(self.offset_ns)) else {
            return if ns < 0 { None } else { Some(u64::MAX) };
        };
        if since_zero < 0 {
            return None;
        }
        let bound = ceil_ticks((since_zero as u128).saturating_add(1), self.frequency.max(1));
        Some(bound.and_then(|bound| u64::try_from(bound - 1).ok()).unwrap_or(u64::MAX))
    }

    /// Duration in nanoseconds of `ticks` ticks, saturating at `u64::MAX` (584 years): for
    /// display; [`to_unix_ns`](Self::to_unix_ns) is exact.
    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        if self.frequency == 1_000_000_000 {
            return ticks;
        }
        let ns = ticks as u128 * 1_000_000_000 / self.frequency.max(1) as u128;
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

/// ceil(ns × frequency / 10^9), the first tick count reaching `ns` nanoseconds; `None` past
/// `u128`, which is past every 64-bit tick anyway.
fn ceil_ticks(ns: u128, frequency: u64) -> Option<u128> {
    const NS_PER_S: u128 = 1_000_000_000;
    let (seconds, rest) = (ns / NS_PER_S, ns % NS_PER_S);
    // rest × frequency < 10^9 × 2^64: no overflow.
    let part = (rest * u128::from(frequency)).div_ceil(NS_PER_S);
    seconds.checked_mul(u128::from(frequency))?.checked_add(part)
}

/// The STREAM_CLASS record (§7.5).
#[binrw]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamClass {
    /// Stream class ID, unique within the trace.
    pub id: u32,
    /// The clock timestamping its events.
    pub clock_id: u32,
    /// Name.
    #[br(parse_with = read_name)]
    #[bw(write_with = write_str)]
    pub name: String,
}

/// How an event class declares its payload (§7.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Layout {
    /// An explicit field list.
    Fields(Vec<Field>),
    /// A marker format string (§8).
    Marker(String),
}

impl Layout {
    /// The `layout_kind` byte.
    pub fn kind(&self) -> u8 {
        match self {
            Layout::Fields(_) => 0,
            Layout::Marker(_) => 1,
        }
    }
}

/// The EVENT_CLASS record (§7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventClass {
    /// Event class ID, unique within the trace.
    pub id: u32,
    /// Stream class whose streams carry it.
    pub stream_class_id: u32,
    /// Syslog severity 0–7, or 255.
    pub log_level: u8,
    /// Identity hash as recorded (§7.8).
    pub identity: u64,
    /// Event name.
    pub name: String,
    /// Payload layout.
    pub layout: Layout,
}

/// Log level meaning "unspecified".
pub const LOG_LEVEL_UNSPECIFIED: u8 = 255;

impl EventClass {
    /// An event class with its identity hash computed.
    pub fn new(id: u32, stream_class_id: u32, name: impl Into<String>, layout: Layout) -> EventClass {
        let name = name.into();
        let identity = crate::identity_hash(&name, &layout);
        EventClass { id, stream_class_id, log_level: LOG_LEVEL_UNSPECIFIED, identity, name, layout }
    }

    /// The payload fields: the declared list, or those the marker format declares.
    pub fn fields(&self) -> Result<Cow<'_, [Field]>, MarkerError> {
        match &self.layout {
            Layout::Fields(fields) => Ok(Cow::Borrowed(fields)),
            Layout::Marker(format) => {
                Ok(Cow::Owned(marker::parse(format)?.into_iter().map(|arg| arg.field).collect()))
            }
        }
    }

    /// The marker's arguments with display hints; empty for a field-list class.
    pub fn marker_args(&self) -> Result<Vec<MarkerArg>, MarkerError> {
        match &self.layout {
            Layout::Fields(_) => Ok(Vec::new()),
            Layout::Marker(format) => marker::parse(format),
        }
    }

    /// Whether the recorded identity equals the one computed from name and layout (§7.8).
    pub fn identity_matches(&self) -> bool {
        self.identity == crate::identity_hash(&self.name, &self.layout)
    }
}

/// An ENV value (§7.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// Text.
    Str(String),
    /// Integer.
    Int(i64),
}

/// The ENV record (§7.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    /// Key.
    pub key: String,
    /// Value.
    pub value: EnvValue,
}

/// A metadata record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// TRACE.
    Trace(TraceInfo),
    /// CLOCK.
    Clock(ClockClass),
    /// STREAM_CLASS.
    StreamClass(StreamClass),
    /// EVENT_CLASS.
    EventClass(EventClass),
    /// ENV.
    Env(EnvEntry),
    /// INDEX (§14).
    Index(crate::index::PacketIndex),
    /// A kind this version does not know; skipped (§7.2).
    Unknown {
        /// The kind.
        kind: u16,
        /// Its body length.
        body_len: u32,
    },
}

/// What is wrong with a metadata record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataErrorKind {
    /// The record, or a field in it, runs past its body or the packet content.
    #[error("record truncated (§7.2)")]
    Truncated,
    /// A metadata string is not UTF-8.
    #[error("string is not valid UTF-8 (§7.2)")]
    InvalidUtf8,
    /// A name that must be an identifier, or non-empty, is not.
    #[error("invalid name {0:?} (§7.2)")]
    InvalidName(String),
    /// A field name repeated in one list.
    #[error("duplicate field name {0:?} (§7.7)")]
    DuplicateField(String),
    /// A type code this version does not define.
    #[error("unknown type code {0:#04x} (§7.7)")]
    UnknownTypeCode(u8),
    /// An enumeration over a non-integer type.
    #[error("enumeration over non-integer type code {0:#04x} (§6.6)")]
    EnumRepr(u8),
    /// An array or sequence element that can encode to zero bytes.
    #[error("array or sequence element type that is, or holds, a type of zero minimum size (§6.7)")]
    ZeroSizedElement,
    /// Types nested deeper than the reader limit.
    #[error("types nested deeper than {MAX_NESTING_DEPTH} levels (§6.7)")]
    TooDeep,
    /// A TRACE byte order code other than 0 or 1.
    #[error("byte order code {0} is neither 0 nor 1 (§7.3)")]
    ByteOrderCode(u8),
    /// A C type size other than 1, 2, 4 or 8.
    #[error("ABI type sizes {0:?} must each be 1, 2, 4 or 8 (§3.2)")]
    AbiSize([u8; 6]),
    /// A `layout_kind` other than 0 or 1.
    #[error("layout kind {0} is neither 0 nor 1 (§7.6)")]
    LayoutKind(u8),
    /// A marker format string outside the grammar.
    #[error("{0}")]
    Marker(MarkerError),
    /// A clock of frequency 0.
    #[error("clock frequency is 0 (§7.4)")]
    ZeroFrequency,
    /// INDEX entries shorter than version 1.2's.
    #[error("index entries of {0} bytes, fewer than 64 (§14.2)")]
    IndexEntryLen(u16),
    /// An ENV value kind other than 0 or 1.
    #[error("environment value kind {0} is neither 0 nor 1 (§7.9)")]
    EnvValueKind(u8),
    /// A string or list too long for its `u16` prefix (encoding only).
    #[error("{0} longer than 65535 (§6.7)")]
    TooLong(&'static str),
    /// A record whose check does not match its bytes: damaged, not used.
    #[error(
        "record check {found:#010x} does not match its bytes ({expected:#010x}): record not used (§7.2)"
    )]
    CheckMismatch {
        /// The check computed from the record's bytes.
        expected: u32,
        /// The check found in the record.
        found: u32,
    },
    /// Records without a check in a packet whose CRC does not match: not used.
    #[error("{records} records without a check in a packet whose CRC does not match: not used (§7.2)")]
    UncheckedNotUsed {
        /// How many.
        records: usize,
    },
    /// No record whose check matches was found in the rest of a damaged packet's content: the
    /// bytes from here to its end are not used.
    #[error("{skipped} bytes without a record whose check matches: not used (§7.2)")]
    NoCheckedRecord {
        /// The bytes skipped.
        skipped: usize,
    },
}

impl MetadataErrorKind {
    /// The specification section the error cites.
    pub fn section(&self) -> &'static str {
        match self {
            MetadataErrorKind::Truncated
            | MetadataErrorKind::InvalidUtf8
            | MetadataErrorKind::InvalidName(_)
            | MetadataErrorKind::CheckMismatch { .. }
            | MetadataErrorKind::UncheckedNotUsed { .. }
            | MetadataErrorKind::NoCheckedRecord { .. } => "7.2",
            MetadataErrorKind::DuplicateField(_) | MetadataErrorKind::UnknownTypeCode(_) => "7.7",
            MetadataErrorKind::EnumRepr(_) => "6.6",
            MetadataErrorKind::ZeroSizedElement
            | MetadataErrorKind::TooDeep
            | MetadataErrorKind::TooLong(_) => "6.7",
            MetadataErrorKind::ByteOrderCode(_) => "7.3",
            MetadataErrorKind::AbiSize(_) => "3.2",
            MetadataErrorKind::LayoutKind(_) => "7.6",
            MetadataErrorKind::Marker(_) => "8.2",
            MetadataErrorKind::ZeroFrequency => "7.4",
            MetadataErrorKind::EnvValueKind(_) => "7.9",
            MetadataErrorKind::IndexEntryLen(_) => "14.2",
        }
    }
}

/// A malformed metadata record, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metadata record (kind {record_kind}) at content offset {offset}: {kind}")]
pub struct MetadataError {
    /// Offset of the offending byte, relative to the start of the bytes iterated.
    pub offset: usize,
    /// The record's kind.
    pub record_kind: u16,
    /// For an EVENT_CLASS record, the event ID it declares, when readable: records of that
    /// class are then reported as undecodable rather than undeclared.
    pub event_id: Option<u32>,
    /// What is wrong.
    pub kind: MetadataErrorKind,
}

fn custom<T>(pos: u64, kind: MetadataErrorKind) -> BinResult<T> {
    Err(binrw::Error::Custom { pos, err: Box::new(kind) })
}

#[binrw::parser(reader, endian)]
fn read_str() -> BinResult<String> {
    let pos = reader.stream_position()?;
    let len = u16::read_options(reader, endian, ())? as usize;
    // At most 64 KiB, so allocating before the read is bounded.
    let mut bytes = vec![0u8; len];
    // A str is one value, length and bytes: one that runs past the body is reported at its
    // length (§10.7), not at the bytes that are missing.
    if reader.read_exact(&mut bytes).is_err() {
        return custom(pos, MetadataErrorKind::Truncated);
    }
    String::from_utf8(bytes).or_else(|_| custom(pos, MetadataErrorKind::InvalidUtf8))
}

/// A clock's frequency, which MUST NOT be 0 (§7.4), reported at its first byte (§10.7).
#[binrw::parser(reader, endian)]
fn read_frequency() -> BinResult<u64> {
    let pos = reader.stream_position()?;
    match u64::read_options(reader, endian, ())? {
        0 => custom(pos, MetadataErrorKind::ZeroFrequency),
        frequency => Ok(frequency),
    }
}

#[binrw::parser(reader, endian)]
fn read_name() -> BinResult<String> {
    let pos = reader.stream_position()?;
    let name = read_str(reader, endian, ())?;
    if name.is_empty() {
        return custom(pos, MetadataErrorKind::InvalidName(name));
    }
    Ok(name)
}

#[binrw::writer(writer, endian)]
#[allow(clippy::ptr_arg)] // binrw passes the field as `&String`.
fn write_str(value: &String) -> BinResult<()> {
    write_bytes_str(value, writer, endian)
}

fn write_bytes_str<W: Write + Seek>(value: &str, writer: &mut W, endian: Endian) -> BinResult<()> {
    let len = u16::try_from(value.len()).or_else(|_| custom(0, MetadataErrorKind::TooLong("string")))?;
    len.write_options(writer, endian, ())?;
    writer.write_all(value.as_bytes())?;
    Ok(())
}

fn read_type<R: Read + Seek>(reader: &mut R, endian: Endian, depth: usize) -> BinResult<TypeDesc> {
    let pos = reader.stream_position()?;
    let type_code = u8::read_options(reader, endian, ())?;
    if let Some(int) = IntType::from_code(type_code) {
        return Ok(TypeDesc::Int(int));
    }
    let compound = matches!(type_code, code::ARRAY | code::SEQUENCE | code::ENUM | code::STRUCT);
    if compound && depth >= MAX_NESTING_DEPTH {
        return custom(pos, MetadataErrorKind::TooDeep);
    }
    let element = |reader: &mut R| -> BinResult<Box<TypeDesc>> {
        let element = read_type(reader, endian, depth + 1)?;
        // ABI sizes are at least 1, so the smallest ABI decides whether an element can be empty.
        let smallest = Abi {
            byte_order: ByteOrder::Little,
            short: 1,
            int: 1,
            long: 1,
            long_long: 1,
            pointer: 1,
            size_t: 1,
        };
        if element.has_empty_part(&smallest) {
            return custom(pos, MetadataErrorKind::ZeroSizedElement);
        }
        Ok(Box::new(element))
    };
    Ok(match type_code {
        code::BOOL => TypeDesc::Bool,
        code::F32 => TypeDesc::F32,
        code::F64 => TypeDesc::F64,
        code::STRING => TypeDesc::String,
        code::BLOB => TypeDesc::Blob,
        code::ARRAY => {
            let len = u32::read_options(reader, endian, ())?;
            TypeDesc::Array { len, element: element(reader)? }
        }
        code::SEQUENCE => TypeDesc::Sequence { element: element(reader)? },
        code::ENUM => {
            let repr_code = u8::read_options(reader, endian, ())?;
            let Some(repr) = IntType::from_code(repr_code) else {
                return custom(pos, MetadataErrorKind::EnumRepr(repr_code));
            };
            let count = u16::read_options(reader, endian, ())?;
            // Grown as entries parse, never sized from the untrusted count.
            let mut mappings = Vec::new();
            for _ in 0..count {
                let label = read_str(reader, endian, ())?;
                let lo = u64::read_options(reader, endian, ())?;
                let hi = u64::read_options(reader, endian, ())?;
                mappings.push(EnumMapping { label, lo, hi });
            }
            TypeDesc::Enum { repr, mappings }
        }
        code::STRUCT => TypeDesc::Struct(read_fields(reader, endian, depth + 1)?),
        other => return custom(pos, MetadataErrorKind::UnknownTypeCode(other)),
    })
}

fn read_fields<R: Read + Seek>(reader: &mut R, endian: Endian, depth: usize) -> BinResult<Vec<Field>> {
    let count = u16::read_options(reader, endian, ())?;
    let mut fields = Vec::new();
    let mut names = BTreeSet::new();
    for _ in 0..count {
        let pos = reader.stream_position()?;
        let name = read_str(reader, endian, ())?;
        if !is_identifier(&name) {
            return custom(pos, MetadataErrorKind::InvalidName(name));
        }
        if !names.insert(name.clone()) {
            return custom(pos, MetadataErrorKind::DuplicateField(name));
        }
        let ty = read_type(reader, endian, depth)?;
        fields.push(Field { name, ty });
    }
    Ok(fields)
}

fn write_count<W: Write + Seek>(
    count: usize,
    what: &'static str,
    writer: &mut W,
    endian: Endian,
) -> BinResult<()> {
    let count = u16::try_from(count).or_else(|_| custom(0, MetadataErrorKind::TooLong(what)))?;
    count.write_options(writer, endian, ())
}

fn write_type<W: Write + Seek>(ty: &TypeDesc, writer: &mut W, endian: Endian) -> BinResult<()> {
    ty.code().write_options(writer, endian, ())?;
    match ty {
        TypeDesc::Array { len, element } => {
            len.write_options(writer, endian, ())?;
            write_type(element, writer, endian)
        }
        TypeDesc::Sequence { element } => write_type(element, writer, endian),
        TypeDesc::Enum { repr, mappings } => {
            repr.code().write_options(writer, endian, ())?;
            write_count(mappings.len(), "enumeration", writer, endian)?;
            for mapping in mappings {
                write_bytes_str(&mapping.label, writer, endian)?;
                mapping.lo.write_options(writer, endian, ())?;
                mapping.hi.write_options(writer, endian, ())?;
            }
            Ok(())
        }
        TypeDesc::Struct(fields) => write_fields(fields, writer, endian),
        _ => Ok(()),
    }
}

fn write_fields<W: Write + Seek>(fields: &[Field], writer: &mut W, endian: Endian) -> BinResult<()> {
    write_count(fields.len(), "field list", writer, endian)?;
    for field in fields {
        write_bytes_str(&field.name, writer, endian)?;
        write_type(&field.ty, writer, endian)?;
    }
    Ok(())
}

/// Writes the name, layout kind and layout: the part of EVENT_CLASS the identity hash covers.
pub(crate) fn write_identity_part<W: Write + Seek>(
    name: &str,
    layout: &Layout,
    writer: &mut W,
    endian: Endian,
) -> BinResult<()> {
    write_bytes_str(name, writer, endian)?;
    layout.kind().write_options(writer, endian, ())?;
    match layout {
        Layout::Fields(fields) => write_fields(fields, writer, endian),
        Layout::Marker(format) => write_bytes_str(format, writer, endian),
    }
}

impl BinRead for TraceInfo {
    type Args<'a> = ();

    fn read_options<R: Read + Seek>(reader: &mut R, endian: Endian, _: ()) -> BinResult<Self> {
        let uuid = <[u8; 16]>::read_options(reader, endian, ())?;
        let pos = reader.stream_position()?;
        let order_code = u8::read_options(reader, endian, ())?;
        let Some(byte_order) = ByteOrder::from_code(order_code) else {
            return custom(pos, MetadataErrorKind::ByteOrderCode(order_code));
        };
        let pos = reader.stream_position()?;
        let [short, int, long, long_long, pointer, size_t] = <[u8; 6]>::read_options(reader, endian, ())?;
        let abi = Abi { byte_order, short, int, long, long_long, pointer, size_t };
        if let Some(bad) = abi.sizes().iter().position(|size| !matches!(size, 1 | 2 | 4 | 8)) {
            // The size that is wrong (§10.7).
            return custom(pos + bad as u64, MetadataErrorKind::AbiSize(abi.sizes()));
        }
        let mut text = || read_str(reader, endian, ());
        Ok(TraceInfo {
            uuid,
            abi,
            os_name: text()?,
            os_release: text()?,
            architecture: text()?,
            hostname: text()?,
            tracer_name: text()?,
            tracer_version: text()?,
        })
    }
}

impl BinWrite for TraceInfo {
    type Args<'a> = ();

    fn write_options<W: Write + Seek>(&self, writer: &mut W, endian: Endian, _: ()) -> BinResult<()> {
        self.uuid.write_options(writer, endian, ())?;
        self.abi.byte_order.code().write_options(writer, endian, ())?;
        self.abi.sizes().write_options(writer, endian, ())?;
        for text in [
            &self.os_name,
            &self.os_release,
            &self.architecture,
            &self.hostname,
            &self.tracer_name,
            &self.tracer_version,
        ] {
            write_bytes_str(text, writer, endian)?;
        }
        Ok(())
    }
}

impl BinRead for EventClass {
    type Args<'a> = ();

    fn read_options<R: Read + Seek>(reader: &mut R, endian: Endian, _: ()) -> BinResult<Self> {
        let id = u32::read_options(reader, endian, ())?;
        let stream_class_id = u32::read_options(reader, endian, ())?;
        let log_level = u8::read_options(reader, endian, ())?;
        let pos = reader.stream_position()?;
        let layout_kind = u8::read_options(reader, endian, ())?;
        let identity = u64::read_options(reader, endian, ())?;
        let name = read_name(reader, endian, ())?;
        let layout = match layout_kind {
            0 => Layout::Fields(read_fields(reader, endian, 0)?),
            1 => {
                let pos = reader.stream_position()?;
                let format = read_str(reader, endian, ())?;
                if let Err(error) = marker::parse(&format) {
                    return custom(pos, MetadataErrorKind::Marker(error));
                }
                Layout::Marker(format)
            }
            other => return custom(pos, MetadataErrorKind::LayoutKind(other)),
        };
        Ok(EventClass { id, stream_class_id, log_level, identity, name, layout })
    }
}

impl BinWrite for EventClass {
    type Args<'a> = ();

    fn write_options<W: Write + Seek>(&self, writer: &mut W, endian: Endian, _: ()) -> BinResult<()> {
        self.id.write_options(writer, endian, ())?;
        self.stream_class_id.write_options(writer, endian, ())?;
        self.log_level.write_options(writer, endian, ())?;
        self.layout.kind().write_options(writer, endian, ())?;
        self.identity.write_options(writer, endian, ())?;
        write_bytes_str(&self.name, writer, endian)?;
        match &self.layout {
            Layout::Fields(fields) => write_fields(fields, writer, endian),
            Layout::Marker(format) => write_bytes_str(format, writer, endian),
        }
    }
}

impl BinRead for EnvEntry {
    type Args<'a> = ();

    fn read_options<R: Read + Seek>(reader: &mut R, endian: Endian, _: ()) -> BinResult<Self> {
        let key = read_name(reader, endian, ())?;
        let pos = reader.stream_position()?;
        let value = match u8::read_options(reader, endian, ())? {
            0 => EnvValue::Str(read_str(reader, endian, ())?),
            1 => EnvValue::Int(i64::read_options(reader, endian, ())?),
            other => return custom(pos, MetadataErrorKind::EnvValueKind(other)),
        };
        Ok(EnvEntry { key, value })
    }
}

impl BinWrite for EnvEntry {
    type Args<'a> = ();

    fn write_options<W: Write + Seek>(&self, writer: &mut W, endian: Endian, _: ()) -> BinResult<()> {
        write_bytes_str(&self.key, writer, endian)?;
        match &self.value {
            EnvValue::Str(text) => {
                0u8.write_options(writer, endian, ())?;
                write_bytes_str(text, writer, endian)
            }
            EnvValue::Int(value) => {
                1u8.write_options(writer, endian, ())?;
                value.write_options(writer, endian, ())
            }
        }
    }
}

impl Record {
    /// The record's kind code.
    pub fn kind(&self) -> u16 {
        match self {
            Record::Trace(_) => kind::TRACE,
            Record::Clock(_) => kind::CLOCK,
            Record::StreamClass(_) => kind::STREAM_CLASS,
            Record::EventClass(_) => kind::EVENT_CLASS,
            Record::Env(_) => kind::ENV,
            Record::Index(_) => kind::INDEX,
            Record::Unknown { kind, .. } => *kind,
        }
    }

    /// Appends the record with its check (§7.2, version 1.1): envelope flag [`RECORD_CHECKED`],
    /// and the body followed by [`crate::crc::record_crc`]. A reader uses such a record even in a
    /// packet whose CRC fails, when its own check matches.
    pub fn encode_checked(&self, order: ByteOrder, out: &mut Vec<u8>) -> Result<(), MetadataErrorKind> {
        let start = out.len();
        self.encode(order, out)?;
        append_record_check(out, start, order)
    }

    /// Appends the record, envelope included, to `out` in `order`, without a check (flags 0,
    /// as version 1.0 writes).
    /// `Unknown` records are written with a zero-filled body of their length.
    pub fn encode(&self, order: ByteOrder, out: &mut Vec<u8>) -> Result<(), MetadataErrorKind> {
        let start = out.len();
        let mut cursor = Cursor::new(&mut *out);
        cursor.set_position(start as u64);
        let endian = order.binrw();
        let header = (self.kind(), 0u16, 0u32);
        let written = header.write_options(&mut cursor, endian, ()).and_then(|()| match self {
            Record::Trace(trace) => trace.write_options(&mut cursor, endian, ()),
            Record::Clock(clock) => clock.write_options(&mut cursor, endian, ()),
            Record::StreamClass(stream) => stream.write_options(&mut cursor, endian, ()),
            Record::EventClass(event) => event.write_options(&mut cursor, endian, ()),
            Record::Env(env) => env.write_options(&mut cursor, endian, ()),
            Record::Index(index) => index.write_options(&mut cursor, endian, ()),
            Record::Unknown { body_len, .. } => {
                vec![0u8; *body_len as usize].write_options(&mut cursor, endian, ())
            }
        });
        if let Err(error) = written {
            out.truncate(start);
            return Err(match error.custom_err::<MetadataErrorKind>() {
                Some(kind) => kind.clone(),
                None => MetadataErrorKind::TooLong("record"),
            });
        }
        let body_len = out.len() - start - ENVELOPE_LEN;
        let Ok(body_len) = u32::try_from(body_len) else {
            out.truncate(start);
            return Err(MetadataErrorKind::TooLong("record"));
        };
        out[start + 4..start + 8].copy_from_slice(&order.u32_bytes(body_len));
        Ok(())
    }

    fn decode_body(kind: u16, cursor: &mut Tracked<'_>, order: ByteOrder) -> BinResult<Record> {
        let endian = order.binrw();
        Ok(match kind {
            kind::TRACE => Record::Trace(TraceInfo::read_options(cursor, endian, ())?),
            kind::CLOCK => Record::Clock(ClockClass::read_options(cursor, endian, ())?),
            kind::STREAM_CLASS => Record::StreamClass(StreamClass::read_options(cursor, endian, ())?),
            kind::EVENT_CLASS => Record::EventClass(EventClass::read_options(cursor, endian, ())?),
            kind::ENV => Record::Env(EnvEntry::read_options(cursor, endian, ())?),
            kind::INDEX => Record::Index(crate::index::PacketIndex::read_options(cursor, endian, ())?),
            other => Record::Unknown { kind: other, body_len: cursor.len() },
        })
    }
}

/// Gives the record that starts at `start` of `out` and runs to its end (envelope and body, as
/// encoded, whatever they hold) its check (§7.2): sets `CHECKED`, counts the check in
/// `body_len` and appends it. The record is removed when its body would pass `u32::MAX`.
pub fn append_record_check(
    out: &mut Vec<u8>,
    start: usize,
    order: ByteOrder,
) -> Result<(), MetadataErrorKind> {
    let body_len = out.len().saturating_sub(start + ENVELOPE_LEN) + RECORD_CHECK_LEN;
    let (Ok(body_len), true) = (u32::try_from(body_len), out.len() >= start + ENVELOPE_LEN) else {
        out.truncate(start);
        return Err(MetadataErrorKind::TooLong("record"));
    };
    out[start + 2..start + 4].copy_from_slice(&order.u16_bytes(RECORD_CHECKED));
    out[start + 4..start + 8].copy_from_slice(&order.u32_bytes(body_len));
    out.extend_from_slice(&[0; RECORD_CHECK_LEN]);
    let check = crate::crc::record_crc(&out[start..]).unwrap_or(0);
    let end = out.len();
    out[end - RECORD_CHECK_LEN..].copy_from_slice(&order.u32_bytes(check));
    Ok(())
}

/// Iterates the records in a metadata packet's content (the bytes after its header).
///
/// A record whose body is malformed yields an error and iteration goes on with the next record;
/// an envelope that runs past the content yields an error and ends iteration.
///
/// A record with a check (§7.2) whose check does not match yields
/// [`MetadataErrorKind::CheckMismatch`]. Over trusted content ([`new`](Self::new): the packet's
/// CRC matched or there is none) iteration goes on after its `body_len`; over untrusted content
/// ([`untrusted`](Self::untrusted): the packet's CRC failed) only records whose check matches are
/// yielded, records without one are counted ([`unchecked_skipped`](Self::unchecked_skipped)) and
/// skipped, and after a damaged record the next one is searched for byte by byte, hashing at
/// most [`RESYNC_WORK_PER_BYTE`] × the content's length plus [`RESYNC_WORK_BASE`] bytes.
#[derive(Debug, Clone)]
pub struct RecordIter<'a> {
    content: &'a [u8],
    position: usize,
    order: ByteOrder,
    trusted: bool,
    unchecked_skipped: usize,
    /// Bytes the search for the next record may still hash.
    resync_budget: usize,
}

/// How a record's check compares with its bytes.
enum Check {
    /// The record carries no check.
    Absent,
    Matches,
    Mismatch {
        expected: u32,
        found: u32,
    },
}

impl<'a> RecordIter<'a> {
    /// Records in `content`, written in `order`, from a packet whose CRC matched or that has
    /// none: records without a check are used.
    pub fn new(content: &'a [u8], order: ByteOrder) -> Self {
        RecordIter { content, position: 0, order, trusted: true, unchecked_skipped: 0, resync_budget: 0 }
    }

    /// Records in `content` from a packet whose CRC does not match: only records whose own
    /// check matches are used (§7.2).
    pub fn untrusted(content: &'a [u8], order: ByteOrder) -> Self {
        let resync_budget =
            content.len().saturating_mul(RESYNC_WORK_PER_BYTE).saturating_add(RESYNC_WORK_BASE);
        RecordIter { trusted: false, resync_budget, ..RecordIter::new(content, order) }
    }

    /// Records without a check that untrusted iteration skipped so far.
    pub fn unchecked_skipped(&self) -> usize {
        self.unchecked_skipped
    }

    /// The record at `start`: its kind, flags and whole bytes (envelope and body), when its
    /// envelope and body lie in the content.
    fn record_at(&self, start: usize) -> Option<(u16, u16, &'a [u8])> {
        let rest = self.content.get(start..)?;
        let envelope = rest.get(..ENVELOPE_LEN)?;
        let kind = self.order.read_u16(envelope)?;
        let flags = self.order.read_u16(&envelope[2..])?;
        let body_len = self.order.read_u32(&envelope[4..])? as usize;
        let bytes = rest.get(..ENVELOPE_LEN.checked_add(body_len)?)?;
        Some((kind, flags, bytes))
    }

    fn check(&self, flags: u16, record: &[u8]) -> Check {
        if flags & RECORD_CHECKED == 0 {
            return Check::Absent;
        }
        let found =
            record.len().checked_sub(RECORD_CHECK_LEN).and_then(|at| self.order.read_u32(&record[at..]));
        match (crate::crc::record_crc(record), found) {
            (Some(expected), Some(found)) if expected == found => Check::Matches,
            (expected, found) => {
                Check::Mismatch { expected: expected.unwrap_or(0), found: found.unwrap_or(0) }
            }
        }
    }

    /// The first offset after `from` where a record whose check matches starts, within the
    /// search budget.
    fn next_checked_record(&mut self, from: usize) -> Option<usize> {
        for start in from..self.content.len() {
            let Some((kind, flags, record)) = self.record_at(start) else { continue };
            if kind == 0 || flags & RECORD_CHECKED == 0 || record.len() < ENVELOPE_LEN + RECORD_CHECK_LEN {
                continue;
            }
            self.resync_budget = self.resync_budget.checked_sub(record.len())?;
            if matches!(self.check(flags, record), Check::Matches) {
                return Some(start);
            }
        }
        None
    }

    /// Whether the records from `from`, walked by their `body_len`, lead to the content's end
    /// or to a record whose check matches: the framing there is right, records without a check
    /// included. Each step costs the search budget its envelope, and a check the bytes hashed.
    fn framing_holds_from(&mut self, mut from: usize) -> bool {
        loop {
            if from == self.content.len() {
                return true;
            }
            let Some((_, flags, record)) = self.record_at(from) else { return false };
            let cost = if flags & RECORD_CHECKED == 0 { ENVELOPE_LEN } else { record.len() };
            let Some(budget) = self.resync_budget.checked_sub(cost) else { return false };
            self.resync_budget = budget;
            match self.check(flags, record) {
                Check::Matches => return true,
                Check::Mismatch { .. } => return false,
                Check::Absent => from += record.len(),
            }
        }
    }

    /// After a damaged record at `start` claiming to end at `claimed_end`: where to go on.
    /// Trusted content keeps its framing. Untrusted content goes on at the claimed end when the
    /// framing from there holds (a record whose check matches, or records without one leading
    /// to one or to the end), or else at the next record whose check matches after `start`.
    fn resume_after_damage(&mut self, start: usize, claimed_end: usize) -> usize {
        if self.trusted || self.framing_holds_from(claimed_end) {
            return claimed_end;
        }
        self.next_checked_record(start + 1).unwrap_or(self.content.len())
    }
}

impl Iterator for RecordIter<'_> {
    /// The record's offset in the content, and the record.
    type Item = Result<(usize, Record), MetadataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let start = self.position;
            if start >= self.content.len() {
                return None;
            }
            let Some((record_kind, flags, record)) = self.record_at(start) else {
                let record_kind = self.content.get(start..).and_then(|rest| self.order.read_u16(rest));
                // In untrusted content the envelope itself may be what is damaged: iteration
                // goes on at the next record whose check matches, if any.
                let next = if self.trusted { None } else { self.next_checked_record(start + 1) };
                self.position = next.unwrap_or(self.content.len());
                return Some(Err(MetadataError {
                    offset: start,
                    record_kind: record_kind.unwrap_or(0),
                    event_id: None,
                    kind: MetadataErrorKind::Truncated,
                }));
            };
            let claimed_end = start + record.len();
            let body = match self.check(flags, record) {
                Check::Matches => &record[ENVELOPE_LEN..record.len() - RECORD_CHECK_LEN],
                Check::Absent if self.trusted => &record[ENVELOPE_LEN..],
                Check::Absent => {
                    self.unchecked_skipped += 1;
                    self.position = claimed_end;
                    continue;
                }
                Check::Mismatch { expected, found } => {
                    self.position = self.resume_after_damage(start, claimed_end);
                    if self.position > claimed_end && self.position == self.content.len() {
                        // Nothing usable after it either: say how much was given up.
                        return Some(Err(MetadataError {
                            offset: start,
                            record_kind,
                            event_id: None,
                            kind: MetadataErrorKind::NoCheckedRecord { skipped: self.content.len() - start },
                        }));
                    }
                    return Some(Err(MetadataError {
                        offset: start,
                        record_kind,
                        event_id: None,
                        kind: MetadataErrorKind::CheckMismatch { expected, found },
                    }));
                }
            };
            self.position = claimed_end;
            let body_start = start + ENVELOPE_LEN;
            let mut cursor = Tracked::new(body);
            let decoded = Record::decode_body(record_kind, &mut cursor, self.order);
            return Some(decoded.map(|record| (start, record)).map_err(|error| {
                let event_id =
                    (record_kind == kind::EVENT_CLASS).then(|| self.order.read_u32(body)).flatten();
                // Each finding names the first byte of the value it is about (§10.7).
                let (at, kind) = match (error.root_cause(), error.custom_err::<MetadataErrorKind>()) {
                    (binrw::Error::Custom { pos, .. }, Some(kind)) => (*pos, kind.clone()),
                    // A value ran past `body_len`: the one whose read began last.
                    _ => (cursor.last_read, MetadataErrorKind::Truncated),
                };
                MetadataError { offset: body_start + at as usize, record_kind, event_id, kind }
            }));
        }
    }
}

impl core::iter::FusedIterator for RecordIter<'_> {}

/// A cursor over a record's body that remembers where its last read began: when a value runs
/// past the body, that is the value's first byte, which the report names (§10.7).
struct Tracked<'a> {
    cursor: Cursor<&'a [u8]>,
    last_read: u64,
}

impl<'a> Tracked<'a> {
    fn new(body: &'a [u8]) -> Self {
        Tracked { cursor: Cursor::new(body), last_read: 0 }
    }

    /// The body's length (at most `u32::MAX`: a `body_len`).
    fn len(&self) -> u32 {
        self.cursor.get_ref().len() as u32
    }
}

impl Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> binrw::io::Result<usize> {
        self.last_read = self.cursor.position();
        self.cursor.read(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> binrw::io::Result<()> {
        self.last_read = self.cursor.position();
        self.cursor.read_exact(buf)
    }
}

impl Seek for Tracked<'_> {
    fn seek(&mut self, pos: SeekFrom) -> binrw::io::Result<u64> {
        self.cursor.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::AbiInt;
    use alloc::string::ToString;

    fn sample_event() -> EventClass {
        EventClass::new(
            7,
            0,
            "sched_switch",
            Layout::Fields(vec![
                Field::new("prev_comm", TypeDesc::array(16, TypeDesc::Int(IntType::U8))),
                Field::new("prev_pid", TypeDesc::Int(IntType::I32)),
                Field::new(
                    "state",
                    TypeDesc::Enum {
                        repr: IntType::Abi(AbiInt::Long),
                        mappings: vec![EnumMapping { label: "R".to_string(), lo: 0, hi: 0 }],
                    },
                ),
                Field::new(
                    "cpus",
                    TypeDesc::sequence(TypeDesc::Struct(vec![Field::new("id", TypeDesc::Int(IntType::U16))])),
                ),
            ]),
        )
    }

    fn all_records() -> Vec<Record> {
        vec![
            Record::Trace(TraceInfo {
                uuid: [3; 16],
                abi: Abi::ilp32(ByteOrder::Big),
                os_name: "Linux".into(),
                os_release: "6.1".into(),
                architecture: "powerpc".into(),
                hostname: "box".into(),
                tracer_name: "tracemark".into(),
                tracer_version: "0.1".into(),
            }),
            Record::Clock(ClockClass {
                id: 1,
                frequency: 1_000_000_000,
                offset_ns: -5,
                precision: 1,
                name: "monotonic".into(),
                description: String::new(),
            }),
            Record::StreamClass(StreamClass { id: 0, clock_id: 1, name: "kernel".into() }),
            Record::EventClass(sample_event()),
            Record::EventClass(EventClass::new(
                0x1_0000,
                0,
                "marker",
                Layout::Marker("pid %d comm %s".into()),
            )),
            Record::Env(EnvEntry { key: "cpus".into(), value: EnvValue::Int(4) }),
            Record::Env(EnvEntry { key: "kernel".into(), value: EnvValue::Str("x".into()) }),
            Record::Unknown { kind: 0x8001, body_len: 3 },
        ]
    }

    #[test]
    fn every_record_round_trips_in_both_orders() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut content = Vec::new();
            for record in all_records() {
                record.encode(order, &mut content).unwrap();
            }
            let decoded: Vec<Record> = RecordIter::new(&content, order).map(|item| item.unwrap().1).collect();
            assert_eq!(decoded, all_records());
        }
    }

    #[test]
    fn a_malformed_body_is_reported_and_the_next_record_still_read() {
        let order = ByteOrder::Little;
        let mut content = Vec::new();
        Record::EventClass(sample_event()).encode(order, &mut content).unwrap();
        let bad_code_at = content.iter().rposition(|&byte| byte == code::U16).unwrap();
        content[bad_code_at] = 0x7E;
        Record::StreamClass(StreamClass { id: 0, clock_id: 1, name: "k".into() })
            .encode(order, &mut content)
            .unwrap();
        let items: Vec<_> = RecordIter::new(&content, order).collect();
        assert_eq!(items.len(), 2);
        let error = items[0].clone().unwrap_err();
        assert_eq!(error.kind, MetadataErrorKind::UnknownTypeCode(0x7E));
        assert_eq!((error.offset, error.event_id), (bad_code_at, Some(7)));
        assert!(matches!(items[1], Ok((_, Record::StreamClass(_)))));
    }

    #[test]
    fn hostile_records_fail_without_allocation_or_panic() {
        let order = ByteOrder::Big;
        // A body_len past the content ends iteration with a truncation.
        let mut content = vec![0, 4, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2];
        let items: Vec<_> = RecordIter::new(&content, order).collect();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].clone().unwrap_err().kind, MetadataErrorKind::Truncated);
        // 40 nested sequences exceed the depth limit; the writer side does not check it.
        content.clear();
        let deep = (0..40).fold(TypeDesc::Int(IntType::U8), |inner, _| TypeDesc::sequence(inner));
        let class = EventClass::new(1, 0, "e", Layout::Fields(vec![Field::new("f", deep)]));
        Record::EventClass(class).encode(order, &mut content).unwrap();
        let error = RecordIter::new(&content, order).next().unwrap().unwrap_err();
        assert_eq!(error.kind, MetadataErrorKind::TooDeep);
        // A sequence of empty structs would loop without consuming input.
        let mut zero = Vec::new();
        let empty = EventClass::new(
            1,
            0,
            "e",
            Layout::Fields(vec![Field::new("f", TypeDesc::sequence(TypeDesc::Struct(vec![])))]),
        );
        Record::EventClass(empty).encode(order, &mut zero).unwrap();
        assert_eq!(
            RecordIter::new(&zero, order).next().unwrap().unwrap_err().kind,
            MetadataErrorKind::ZeroSizedElement
        );
    }

    #[test]
    fn names_are_validated() {
        let order = ByteOrder::Little;
        for (name, expected) in [("1bad", "1bad"), ("dup", "dup")] {
            let fields = if name == "dup" {
                vec![Field::new("dup", TypeDesc::Bool), Field::new("dup", TypeDesc::Bool)]
            } else {
                vec![Field::new(name, TypeDesc::Bool)]
            };
            let mut content = Vec::new();
            Record::EventClass(EventClass::new(1, 0, "e", Layout::Fields(fields)))
                .encode(order, &mut content)
                .unwrap();
            let error = RecordIter::new(&content, order).next().unwrap().unwrap_err();
            assert!(error.kind.to_string().contains(expected), "{error}");
        }
    }

    fn test_clock(frequency: u64, offset_ns: i64) -> ClockClass {
        ClockClass { id: 0, frequency, offset_ns, precision: 1, name: "c".into(), description: String::new() }
    }

    #[test]
    fn conversion_to_unix_time_is_exact_at_every_frequency() {
        for (frequency, offset_ns) in
            [(1_000_000_000, 0), (1_000_000_000, i64::MIN), (3, 5), (32_768, 1 << 40)]
        {
            let clock = test_clock(frequency, offset_ns);
            for tick in [0u64, 1, 32_767, 1 << 40, u64::MAX] {
                let exact =
                    i128::from(offset_ns) + (i128::from(tick) * 1_000_000_000).div_euclid(frequency.into());
                assert_eq!(clock.to_unix_ns(tick), exact, "{frequency} {tick}");
            }
        }
    }

    #[test]
    fn tick_bounds_invert_the_conversion_exactly() {
        for (frequency, offset_ns) in
            [(1_000_000_000, 0), (3, -5), (3_000_000_000, 7), (1_000_000, 1 << 40), (7, i64::MIN)]
        {
            let clock = test_clock(frequency, offset_ns);
            for tick in [0u64, 1, 2, 3, 5, 999, 1_000_001, 1 << 40, u64::MAX - 1, u64::MAX] {
                let ns = clock.to_unix_ns(tick);
                for probe in [ns - 1, ns, ns + 1] {
                    let first = clock.first_tick_at_or_after(probe);
                    let last = clock.last_tick_at_or_before(probe);
                    // The bounds are what a search over ticks finds.
                    if let Some(first) = first {
                        assert!(clock.to_unix_ns(first) >= probe);
                        assert!(first == 0 || clock.to_unix_ns(first - 1) < probe, "{frequency} {probe}");
                    } else {
                        assert!(clock.to_unix_ns(u64::MAX) < probe);
                    }
                    if let Some(last) = last {
                        assert!(clock.to_unix_ns(last) <= probe);
                        assert!(
                            last == u64::MAX || clock.to_unix_ns(last + 1) > probe,
                            "{frequency} {probe}"
                        );
                    } else {
                        assert!(clock.to_unix_ns(0) > probe);
                    }
                }
            }
            assert_eq!(clock.first_tick_at_or_after(i128::MIN), Some(0));
            assert_eq!(clock.first_tick_at_or_after(i128::MAX), None);
            assert_eq!(clock.last_tick_at_or_before(i128::MIN), None);
            assert_eq!(clock.last_tick_at_or_before(i128::MAX), Some(u64::MAX));
        }
    }

    #[test]
    fn clock_conversion_uses_frequency_and_offset() {
        let clock = ClockClass {
            id: 0,
            frequency: 3_000_000_000,
            offset_ns: 1_000,
            precision: 0,
            name: "tsc".into(),
            description: String::new(),
        };
        assert_eq!(clock.ticks_to_ns(3_000), 1_000);
        assert_eq!(clock.to_unix_ns(u64::MAX), 1_000 + (u64::MAX as i128 / 3));
        // A slow clock far out: past u64 nanoseconds, exact, not saturated (§7.4).
        let slow = ClockClass { frequency: 3, offset_ns: -5, ..clock };
        assert_eq!(slow.to_unix_ns((1 << 63) + 7), 3_074_457_345_618_258_604_999_999_995);
        assert_eq!(slow.to_unix_ns(1), 333_333_328);
        assert_eq!(slow.ticks_to_ns(1 << 63), u64::MAX);
    }

    fn three_records(checked: [bool; 3], order: ByteOrder) -> (Vec<u8>, Vec<Record>) {
        let records = vec![
            Record::Clock(ClockClass {
                id: 3,
                frequency: 1_000_000_000,
                offset_ns: -5,
                precision: 2,
                name: "mono".to_string(),
                description: String::new(),
            }),
            Record::EventClass(sample_event()),
            Record::Env(EnvEntry { key: "host".to_string(), value: EnvValue::Int(7) }),
        ];
        let mut content = Vec::new();
        for (record, checked) in records.iter().zip(checked) {
            if checked {
                record.encode_checked(order, &mut content).unwrap();
            } else {
                record.encode(order, &mut content).unwrap();
            }
        }
        (content, records)
    }

    #[test]
    fn checked_records_read_back_in_trusted_and_untrusted_content() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let (content, records) = three_records([true; 3], order);
            for mut iter in [RecordIter::new(&content, order), RecordIter::untrusted(&content, order)] {
                let read: Vec<Record> = iter.by_ref().map(|item| item.unwrap().1).collect();
                assert_eq!(read, records);
                assert_eq!(iter.unchecked_skipped(), 0);
            }
        }
    }

    #[test]
    fn a_flipped_byte_costs_only_the_record_it_hits() {
        let order = ByteOrder::Little;
        let (pristine, records) = three_records([true; 3], order);
        let mut bounds = Vec::new();
        for item in RecordIter::new(&pristine, order) {
            let (offset, _) = item.unwrap();
            bounds.push(offset);
        }
        bounds.push(pristine.len());
        for at in 0..pristine.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut content = pristine.clone();
                content[at] ^= mask;
                let hit = bounds.windows(2).position(|pair| pair[0] <= at && at < pair[1]).unwrap();
                let read: Vec<Record> = RecordIter::untrusted(&content, order)
                    .filter_map(|item| item.ok().map(|(_, record)| record))
                    .collect();
                let expected: Vec<Record> = records
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| *index != hit)
                    .map(|(_, record)| record.clone())
                    .collect();
                assert_eq!(read, expected, "byte {at} ^ {mask:#04x} (record {hit})");
            }
        }
    }

    #[test]
    fn untrusted_content_skips_and_counts_records_without_a_check() {
        let order = ByteOrder::Big;
        let (content, records) = three_records([true, false, true], order);
        let mut iter = RecordIter::untrusted(&content, order);
        let read: Vec<Record> = iter.by_ref().map(|item| item.unwrap().1).collect();
        assert_eq!(read, vec![records[0].clone(), records[2].clone()]);
        assert_eq!(iter.unchecked_skipped(), 1);
        // Trusted, the record without a check is used.
        assert_eq!(RecordIter::new(&content, order).count(), 3);
    }

    #[test]
    fn the_search_after_damage_stays_within_its_budget() {
        // Envelopes that all claim a check and the rest of the content: a search hashing each
        // to the end would hash the content's size squared over two.
        let order = ByteOrder::Little;
        let mut content = Vec::new();
        let len = 1 << 16;
        while content.len() < len {
            // The first claims a byte past the end: damaged, so the search starts after it.
            let past = u32::from(content.is_empty());
            let remaining = (len - content.len()) as u32;
            content.extend_from_slice(&order.u16_bytes(kind::ENV));
            content.extend_from_slice(&order.u16_bytes(RECORD_CHECKED));
            content.extend_from_slice(&order.u32_bytes(remaining - 8 + past));
        }
        let mut iter = RecordIter::untrusted(&content, order);
        let items: Vec<_> = iter.by_ref().collect();
        assert!(items.iter().all(Result::is_err));
        assert!(items.len() <= 2, "{} items", items.len());
        // It gave up for want of budget, not for want of candidates.
        assert!(iter.resync_budget < len, "{} bytes of budget left", iter.resync_budget);
    }
}
