//! Typed binding (§12): an analysis declares the events and fields it reads, as Rust types,
//! and binds them against a trace's metadata when the trace is opened.
//!
//! Binding checks every declared field against the event class: present (unless optional),
//! and of a type whose every value the Rust type holds (§12.3). A missing event, a missing or
//! renamed field, or a changed type is a [`BindError`] naming the event, the field, the type
//! expected and the type found; it concerns that binding only, so other analyses of the same
//! run keep working. A binding then decodes records with no lookup by name: field positions
//! are resolved once, and fixed-size fields are read at fixed offsets.
//!
//! Types implement [`TraceEvent`], usually with `#[derive(TraceEvent)]` (feature `derive`,
//! on by default); [`EventSpec`] builds the same declaration at run time.
//!
//! ```
//! use tracemark_reader::{Item, Trace, TraceEvent};
//! # use tracemark_writer::{event, CLong, Config, LocalTrace, ManualClock, StreamWriter, TraceDescription};
//! # event! { pub struct Switch<'a>("sched_switch") { pub prev_comm: &'a str, pub prev_tid: i32, pub prev_state: CLong } }
//! # let clock = ManualClock::new(1);
//! # let config = Config::with_uuid([1; 16]).packet_size(4096);
//! # let mut writer = LocalTrace::new(&config, TraceDescription::unknown(), &clock, Vec::new())?;
//! # let handle = writer.register::<Switch>()?;
//! # let mut memory = vec![0u8; 4096];
//! # let mut stream = StreamWriter::new(writer.stream_params(0)?, &mut memory[..], &clock)?;
//! # stream.emit(&mut writer, handle, &Switch { prev_comm: "bash", prev_tid: 42, prev_state: CLong(1) })?;
//! # stream.flush(&mut writer)?;
//! # let bytes = writer.finish()?;
//!
//! #[derive(TraceEvent)]
//! struct SchedSwitch<'a> {
//!     prev_comm: &'a str,
//!     prev_tid: i32,
//!     prev_state: i64, // a C `long`: binds when the writer's `long` is at most 8 bytes
//! }
//!
//! let trace = Trace::from_bytes(bytes)?;
//! let switches = trace.bind::<SchedSwitch>()?;
//! for item in trace.events() {
//!     if let Item::Event(event) = item {
//!         if let Some(Ok(switch)) = switches.decode(&event) {
//!             assert_eq!((switch.prev_comm, switch.prev_tid, switch.prev_state), ("bash", 42, 1));
//!         }
//!     }
//! }
//!
//! // Asking for a field the event does not have names the event, the field and the types.
//! #[derive(TraceEvent, Debug)]
//! #[trace_event(name = "sched_switch")]
//! struct Old {
//!     prev_pid: i32,
//! }
//! let error = trace.bind::<Old>().unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "event `sched_switch`: field `prev_pid` (i32) is not declared; renamed to `prev_tid` (i32)? (§12.2)"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::{borrow::Cow, fmt, marker::PhantomData};

use tracemark_format::{Abi, ByteOrder, TypeDesc};

use crate::{
    compat::{describe_type, int_fits},
    decode::{decode_node, find_nul, skip_node, Cursor, IntShape, Kind, Node},
    event::Event,
    metadata::{ClassEntry, Metadata},
    raw_record::RawRecord,
    value::{Integer, Value},
};

/// Why a field of one record cannot be decoded as its bound type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldErrorKind {
    /// A string bound to `&str` that is not UTF-8 (§6.5 allows it): bind `&[u8]` or
    /// `Cow<str>` to read such strings.
    #[error(
        "string is not UTF-8 (valid up to byte {valid_up_to}); bind `&[u8]` or `Cow<str>` to read it (§6.5)"
    )]
    NotUtf8 {
        /// Length of the valid prefix (strings lie in a packet, below 4 GiB).
        valid_up_to: u32,
    },
    /// A value outside the Rust type's range. Binding rules out integers that do not fit, so
    /// this comes from a hand-written [`FieldType`].
    #[error("value out of the bound type's range")]
    OutOfRange,
    /// The bytes do not hold a value of the declared type. The reader checks records before
    /// delivering them, so this comes from a hand-written [`FieldType`] reading another type.
    #[error("the field's bytes do not decode as its declared type")]
    Malformed,
    /// The field is not declared by this event class and the bound type has no absent value.
    #[error("the field is not declared by this event class")]
    Missing,
}

/// A field that did not decode, by its index in [`TraceEvent::fields`]. Small, so that a
/// decoding result travels in registers; a binding turns it into a [`DecodeError`] naming the
/// event and the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("field #{field}: {kind}")]
pub struct FieldError {
    /// The field's index in the declaration.
    pub field: u32,
    /// What went wrong.
    pub kind: FieldErrorKind,
}

/// A record a binding could not decode: the event, the field, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event `{event}` at {file}@{offset:#x}: field `{field}`: {kind}")]
pub struct DecodeError {
    /// The event class name.
    pub event: String,
    /// The field.
    pub field: String,
    /// The container file holding the record.
    pub file: String,
    /// The record's offset in it.
    pub offset: u64,
    /// What went wrong.
    pub kind: FieldErrorKind,
}

/// Why a declaration does not bind to a trace (§12.2). Each names the event and, for a field,
/// the field, the Rust type expected and the type the trace declares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// No decodable event class has this name.
    #[error("event `{event}` is not declared in this trace{} (§12.2)", similar_suffix(similar))]
    MissingEvent {
        /// The event name asked for.
        event: String,
        /// Declared names that look alike (case, provider prefix).
        similar: Vec<String>,
    },
    /// The event class does not declare the field.
    #[error(
        "event `{event}`: field `{field}` ({expected}) is not declared{} (§12.2)",
        renamed_suffix(renamed, declared)
    )]
    MissingField {
        /// The event name.
        event: String,
        /// The class's identity hash (§7.8).
        identity: u64,
        /// The field asked for.
        field: String,
        /// The Rust type it was to bind to.
        expected: &'static str,
        /// The one field of the class that the declaration does not bind and whose type binds
        /// `expected`, when there is exactly one: likely the same field, renamed.
        renamed: Option<String>,
        /// Every field the class declares, as `name (type)`.
        declared: Vec<String>,
    },
    /// The field's declared type does not bind the Rust type (§12.3).
    #[error("event `{event}`: field `{field}` is declared {found}, which does not fit {expected} (§12.3)")]
    TypeMismatch {
        /// The event name.
        event: String,
        /// The class's identity hash (§7.8).
        identity: u64,
        /// The field.
        field: String,
        /// The Rust type it was to bind to.
        expected: &'static str,
        /// The type the trace declares, with its size when ABI-sized.
        found: String,
    },
    /// Two fields of the declaration bind the same field name.
    #[error("event `{event}`: the declaration binds field `{field}` twice")]
    DuplicateField {
        /// The event name.
        event: String,
        /// The field.
        field: String,
    },
}

fn similar_suffix(similar: &[String]) -> String {
    match similar {
        [] => String::new(),
        names => {
            format!("; similar: {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
        }
    }
}

fn renamed_suffix(renamed: &Option<String>, declared: &[String]) -> String {
    match renamed {
        Some(name) => {
            // `declared` holds `name (type)`: show the candidate's type too.
            let described = declared.iter().find(|field| field.split(' ').next() == Some(name.as_str()));
            format!(
                "; renamed to `{name}`{}?",
                described.map_or(String::new(), |field| {
                    field.split_once(' ').map_or(String::new(), |(_, ty)| format!(" {ty}"))
                })
            )
        }
        None if declared.is_empty() => "; the event declares no field".into(),
        None => format!("; declared: {}", declared.join(", ")),
    }
}

/// One field of one record, as a [`FieldType`] reads it.
#[derive(Clone, Copy)]
pub struct FieldSlot<'t> {
    /// From the field's first byte to the end of the packet content.
    bytes: &'t [u8],
    node: &'t Node,
    kind: Kind,
    order: ByteOrder,
    /// The encoded length, when known without reading (a string ending a segment).
    len: Option<usize>,
}

impl fmt::Debug for FieldSlot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldSlot").field("value", &self.value()).finish()
    }
}

impl<'t> FieldSlot<'t> {
    /// The integer of an integer or enumeration field, sign-extended or zero-extended as its
    /// type says; `None` for other types.
    #[inline(always)]
    pub fn integer(&self) -> Option<Integer> {
        let (Kind::Int(shape) | Kind::Enum(shape)) = self.kind else { return None };
        let bits = shape.read_bits(self.bytes, self.order)?;
        Some(if shape.signed { Integer::Signed(bits as i64) } else { Integer::Unsigned(bits) })
    }

    /// A `bool` field.
    #[inline(always)]
    pub fn boolean(&self) -> Option<bool> {
        match (self.node, self.bytes.first()) {
            (Node::Bool, Some(0)) => Some(false),
            (Node::Bool, Some(1)) => Some(true),
            _ => None,
        }
    }

    /// An `f32` or `f64` field, as an `f64`.
    #[inline(always)]
    pub fn float(&self) -> Option<f64> {
        match self.node {
            Node::F32 => {
                let bits = IntShape { size: 4, signed: false }.read_bits(self.bytes, self.order)?;
                Some(f64::from(f32::from_bits(bits as u32)))
            }
            Node::F64 => {
                Some(f64::from_bits(IntShape { size: 8, signed: false }.read_bits(self.bytes, self.order)?))
            }
            _ => None,
        }
    }

    /// An `f32` field.
    #[inline(always)]
    pub fn f32(&self) -> Option<f32> {
        match self.node {
            Node::F32 => Some(f32::from_bits(
                IntShape { size: 4, signed: false }.read_bits(self.bytes, self.order)? as u32,
            )),
            _ => None,
        }
    }

    /// A string's bytes without the NUL, or a blob's bytes.
    #[inline(always)]
    pub fn bytes(&self) -> Option<&'t [u8]> {
        if let Kind::Str = self.kind {
            let len = match self.len {
                Some(encoded) => encoded.checked_sub(1)?,
                None => find_nul(self.bytes)?,
            };
            return self.bytes.get(..len);
        }
        match self.node {
            Node::Str => {
                let len = match self.len {
                    Some(encoded) => encoded.checked_sub(1)?,
                    None => find_nul(self.bytes)?,
                };
                self.bytes.get(..len)
            }
            Node::Blob => {
                let len = IntShape { size: 4, signed: false }.read_bits(self.bytes, self.order)? as usize;
                self.bytes.get(4..)?.get(..len)
            }
            _ => None,
        }
    }

    /// The value, decoded dynamically.
    pub fn value(&self) -> Option<Value<'t>> {
        let mut cursor = Cursor::new(self.bytes, 0, self.order);
        decode_node(self.node, &mut cursor).ok()
    }

    /// The elements of an array or sequence field, each as a slot.
    pub fn elements(&self) -> Option<Elements<'t>> {
        let (count, element, at) = match self.node {
            Node::Array { len, element, .. } => (*len, &**element, 0),
            Node::Sequence { element, .. } => {
                (IntShape { size: 4, signed: false }.read_bits(self.bytes, self.order)? as u32, &**element, 4)
            }
            _ => return None,
        };
        Some(Elements { bytes: self.bytes, element, order: self.order, at, left: count })
    }

    /// The trace's byte order.
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }
}

/// The elements of an array or sequence; see [`FieldSlot::elements`].
#[derive(Clone)]
pub struct Elements<'t> {
    bytes: &'t [u8],
    element: &'t Node,
    order: ByteOrder,
    at: usize,
    left: u32,
}

impl fmt::Debug for Elements<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Elements").field("left", &self.left).finish()
    }
}

impl<'t> Iterator for Elements<'t> {
    type Item = FieldSlot<'t>;

    fn next(&mut self) -> Option<FieldSlot<'t>> {
        self.left = self.left.checked_sub(1)?;
        let bytes = self.bytes.get(self.at..)?;
        let mut cursor = Cursor::new(self.bytes, self.at, self.order);
        skip_node(self.element, &mut cursor)?;
        let len = cursor.position().saturating_sub(self.at);
        self.at = cursor.position();
        Some(FieldSlot {
            bytes,
            node: self.element,
            kind: Kind::of(self.element),
            order: self.order,
            len: Some(len),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

/// A Rust type that a field binds to (§12.3).
///
/// Implemented for `bool`, the integers (`i8` … `i64`, `u8` … `u64`, `isize`, `usize`),
/// `f32`, `f64`, `&str`, `&[u8]`, `Cow<str>`, [`Integer`], [`Value`] (any type),
/// `Option<T>` (a field the class may not declare), `Vec<T>` and `[T; N]` (arrays and
/// sequences).
pub trait FieldType<'t>: Sized {
    /// The type's name in messages.
    const NAME: &'static str;

    /// Whether a field declared `ty`, in a trace written with `abi`, binds to this type.
    fn binds(ty: &TypeDesc, abi: &Abi) -> bool;

    /// Decodes the field.
    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind>;

    /// The value when the event class does not declare the field; `None` (the default)
    /// makes the field required.
    fn absent() -> Option<Self> {
        None
    }

    /// The integer wire shape that this type holds bit for bit, if any: a field declared with
    /// that shape is read by [`FieldType::read_exact`], with no dispatch on its type.
    #[doc(hidden)]
    const EXACT_INT: Option<ExactInt> = None;

    /// Reads an integer of shape [`FieldType::EXACT_INT`] from the start of `bytes`; `None`
    /// when `bytes` is too short (the general path then explains it).
    #[doc(hidden)]
    #[inline(always)]
    fn read_exact(bytes: &'t [u8], order: ByteOrder) -> Option<Self> {
        let _ = (bytes, order);
        None
    }

    /// Whether this type reads a string field from its bytes alone, through
    /// [`FieldType::read_string`]: the field's end is then taken from the walk.
    #[doc(hidden)]
    const READS_STRING: bool = false;

    /// Decodes a string field from its bytes, without the NUL.
    #[doc(hidden)]
    #[inline(always)]
    fn read_string(bytes: &'t [u8]) -> Result<Self, FieldErrorKind> {
        let _ = bytes;
        Err(FieldErrorKind::Malformed)
    }
}

/// An integer's wire shape, for [`FieldType::EXACT_INT`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactInt {
    /// Bytes.
    pub size: u8,
    /// Whether two's complement.
    pub signed: bool,
}

impl ExactInt {
    /// The shape in one byte, 0 only for size 0 (never declared): one comparison per field read.
    pub const fn code(self) -> u8 {
        (self.size & 0x7f) | if self.signed { 0x80 } else { 0 }
    }
}

macro_rules! integer_field {
    ($($ty:ty => $bits:expr, $signed:expr;)*) => {$(
        impl<'t> FieldType<'t> for $ty {
            const NAME: &'static str = stringify!($ty);

            fn binds(ty: &TypeDesc, abi: &Abi) -> bool {
                match ty {
                    TypeDesc::Int(int) | TypeDesc::Enum { repr: int, .. } => int_fits(*int, abi, $bits, $signed),
                    _ => false,
                }
            }

            const EXACT_INT: Option<ExactInt> =
                Some(ExactInt { size: std::mem::size_of::<$ty>() as u8, signed: $signed });

            #[inline(always)]
            fn read_exact(bytes: &'t [u8], order: ByteOrder) -> Option<Self> {
                let chunk = *bytes.first_chunk::<{ std::mem::size_of::<$ty>() }>()?;
                Some(match order {
                    ByteOrder::Little => <$ty>::from_le_bytes(chunk),
                    ByteOrder::Big => <$ty>::from_be_bytes(chunk),
                })
            }

            #[inline(always)]
            fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
                match slot.integer() {
                    Some(Integer::Signed(value)) => <$ty>::try_from(value).map_err(|_| FieldErrorKind::OutOfRange),
                    Some(Integer::Unsigned(value)) => <$ty>::try_from(value).map_err(|_| FieldErrorKind::OutOfRange),
                    None => Err(FieldErrorKind::Malformed),
                }
            }
        }
    )*};
}

integer_field! {
    i8 => 8, true;
    i16 => 16, true;
    i32 => 32, true;
    i64 => 64, true;
    isize => usize::BITS, true;
    u8 => 8, false;
    u16 => 16, false;
    u32 => 32, false;
    u64 => 64, false;
    usize => usize::BITS, false;
}

impl<'t> FieldType<'t> for Integer {
    const NAME: &'static str = "Integer";

    fn binds(ty: &TypeDesc, _: &Abi) -> bool {
        matches!(ty, TypeDesc::Int(_) | TypeDesc::Enum { .. })
    }

    #[inline(always)]
    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        slot.integer().ok_or(FieldErrorKind::Malformed)
    }
}

impl<'t> FieldType<'t> for bool {
    const NAME: &'static str = "bool";

    fn binds(ty: &TypeDesc, _: &Abi) -> bool {
        *ty == TypeDesc::Bool
    }

    #[inline(always)]
    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        slot.boolean().ok_or(FieldErrorKind::Malformed)
    }
}

impl<'t> FieldType<'t> for f32 {
    const NAME: &'static str = "f32";

    fn binds(ty: &TypeDesc, _: &Abi) -> bool {
        *ty == TypeDesc::F32
    }

    #[inline(always)]
    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        slot.f32().ok_or(FieldErrorKind::Malformed)
    }
}

impl<'t> FieldType<'t> for f64 {
    const NAME: &'static str = "f64";

    fn binds(ty: &TypeDesc, _: &Abi) -> bool {
        matches!(ty, TypeDesc::F32 | TypeDesc::F64)
    }

    #[inline(always)]
    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        slot.float().ok_or(FieldErrorKind::Malformed)
    }
}

impl<'t> FieldType<'t> for &'t str {
    const NAME: &'static str = "&str";

    fn binds(ty: &TypeDesc, _: &Abi) -> bool {
        *ty == TypeDesc::String
    }

    #[inline(always)]
    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        Self::read_string(slot.bytes().ok_or(FieldErrorKind::Malformed)?)
    }

    const READS_STRING: bool = true;

    #[inline(always)]
    fn read_string(bytes: &'t [u8]) -> Result<Self, FieldErrorKind> {
        std::str::from_utf8(bytes).map_err(|error| FieldErrorKind::NotUtf8 {
            valid_up_to: u32::try_from(error.valid_up_to()).unwrap_or(u32::MAX),
        })
    }
}

impl<'t> FieldType<'t> for Cow<'t, str> {
    const NAME: &'static str = "Cow<str>";

    fn binds(ty: &TypeDesc, _: &Abi) -> bool {
        *ty == TypeDesc::String
    }

    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        slot.bytes().map(String::from_utf8_lossy).ok_or(FieldErrorKind::Malformed)
    }

    const READS_STRING: bool = true;

    fn read_string(bytes: &'t [u8]) -> Result<Self, FieldErrorKind> {
        Ok(String::from_utf8_lossy(bytes))
    }
}

impl<'t> FieldType<'t> for &'t [u8] {
    const NAME: &'static str = "&[u8]";

    fn binds(ty: &TypeDesc, _: &Abi) -> bool {
        matches!(ty, TypeDesc::String | TypeDesc::Blob)
    }

    #[inline(always)]
    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        slot.bytes().ok_or(FieldErrorKind::Malformed)
    }

    const READS_STRING: bool = true;

    #[inline(always)]
    fn read_string(bytes: &'t [u8]) -> Result<Self, FieldErrorKind> {
        Ok(bytes)
    }
}

impl<'t> FieldType<'t> for Value<'t> {
    const NAME: &'static str = "Value";

    fn binds(_: &TypeDesc, _: &Abi) -> bool {
        true
    }

    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        slot.value().ok_or(FieldErrorKind::Malformed)
    }
}

impl<'t, T: FieldType<'t>> FieldType<'t> for Option<T> {
    const NAME: &'static str = T::NAME;

    fn binds(ty: &TypeDesc, abi: &Abi) -> bool {
        T::binds(ty, abi)
    }

    #[inline(always)]
    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        T::read(slot).map(Some)
    }

    fn absent() -> Option<Self> {
        Some(None)
    }

    const EXACT_INT: Option<ExactInt> = T::EXACT_INT;

    #[inline(always)]
    fn read_exact(bytes: &'t [u8], order: ByteOrder) -> Option<Self> {
        T::read_exact(bytes, order).map(Some)
    }

    const READS_STRING: bool = T::READS_STRING;

    #[inline(always)]
    fn read_string(bytes: &'t [u8]) -> Result<Self, FieldErrorKind> {
        T::read_string(bytes).map(Some)
    }
}

impl<'t, T: FieldType<'t>> FieldType<'t> for Vec<T> {
    const NAME: &'static str = "Vec<_>";

    fn binds(ty: &TypeDesc, abi: &Abi) -> bool {
        match ty {
            TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => T::binds(element, abi),
            _ => false,
        }
    }

    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        slot.elements().ok_or(FieldErrorKind::Malformed)?.map(T::read).collect()
    }
}

impl<'t, T: FieldType<'t>, const N: usize> FieldType<'t> for [T; N] {
    const NAME: &'static str = "[_; N]";

    fn binds(ty: &TypeDesc, abi: &Abi) -> bool {
        match ty {
            TypeDesc::Array { len, element } => *len as usize == N && T::binds(element, abi),
            _ => false,
        }
    }

    fn read(slot: FieldSlot<'t>) -> Result<Self, FieldErrorKind> {
        let values: Vec<T> =
            slot.elements().ok_or(FieldErrorKind::Malformed)?.map(T::read).collect::<Result<_, _>>()?;
        values.try_into().map_err(|_| FieldErrorKind::Malformed)
    }
}

/// One field of a declaration: its name and the Rust type it binds to.
#[derive(Clone)]
pub struct FieldSpec {
    name: Cow<'static, str>,
    type_name: &'static str,
    binds: fn(&TypeDesc, &Abi) -> bool,
    optional: bool,
}

impl fmt::Debug for FieldSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldSpec")
            .field("name", &self.name)
            .field("type", &self.type_name)
            .field("optional", &self.optional)
            .finish()
    }
}

impl FieldSpec {
    /// Field `name`, bound to `T`.
    pub fn of<'t, T: FieldType<'t>>(name: impl Into<Cow<'static, str>>) -> FieldSpec {
        FieldSpec { name: name.into(), type_name: T::NAME, binds: T::binds, optional: T::absent().is_some() }
    }

    /// The field name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Rust type's name.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Whether the event class may lack the field.
    pub fn is_optional(&self) -> bool {
        self.optional
    }
}

/// A Rust type that an event binds to: usually `#[derive(TraceEvent)]`.
///
/// The derive names the event after the struct in snake case (`SchedSwitch` is
/// `sched_switch`) unless `#[trace_event(name = "...")]` says otherwise, and each field after
/// the Rust field, or `#[trace_event(name = "...")]` on it. Field types implement
/// [`FieldType`]; the struct may borrow from the trace through one lifetime parameter.
pub trait TraceEvent<'t>: Sized {
    /// The event class name.
    const NAME: &'static str;

    /// The fields, in the order [`TraceEvent::decode`] asks [`BoundFields::get`] for them.
    fn fields() -> Vec<FieldSpec>;

    /// Builds the value from a record's bound fields.
    fn decode(fields: &BoundFields<'t, '_>) -> Result<Self, FieldError>;
}

/// An event declaration built at run time: the equivalent of a [`TraceEvent`] type, for
/// tools that learn what to read from their input.
///
/// ```
/// use tracemark_reader::EventSpec;
///
/// let spec = EventSpec::new("sched_switch").field::<i32>("prev_tid").field::<&str>("prev_comm");
/// assert_eq!(spec.fields().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct EventSpec {
    name: String,
    fields: Vec<FieldSpec>,
}

impl EventSpec {
    /// A declaration of event `name`, with no field yet.
    pub fn new(name: impl Into<String>) -> EventSpec {
        EventSpec { name: name.into(), fields: Vec::new() }
    }

    /// The declaration of a [`TraceEvent`] type.
    pub fn of<'t, T: TraceEvent<'t>>() -> EventSpec {
        EventSpec { name: T::NAME.into(), fields: T::fields() }
    }

    /// Adds field `name`, bound to `T`.
    pub fn field<'t, T: FieldType<'t>>(mut self, name: impl Into<Cow<'static, str>>) -> EventSpec {
        self.fields.push(FieldSpec::of::<T>(name));
        self
    }

    /// Adds a field built beforehand (its type chosen at run time).
    pub fn field_spec(mut self, field: FieldSpec) -> EventSpec {
        self.fields.push(field);
        self
    }

    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fields, in declaration order.
    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }
}

/// Where a bound field is in each record of one class.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access<'t> {
    node: &'t Node,
    kind: Kind,
    field: usize,
    segment: usize,
    offset: usize,
    /// The segment starting right after the field, when the field ends one (a string).
    ends: Option<usize>,
    /// [`ExactInt::code`] of an integer or enumeration field's wire shape (0 for other
    /// types), compared with [`FieldType::EXACT_INT`]'s to take the direct read.
    int_code: u8,
    /// For a string field, the segment starting right after its NUL.
    string_end: Option<usize>,
}

/// One event class a declaration bound to.
#[derive(Debug, Clone)]
pub(crate) struct BoundClass<'t> {
    pub(crate) entry: &'t ClassEntry,
    /// Per declared field; `None` for an optional field the class does not declare.
    access: Vec<Option<Access<'t>>>,
}

/// A declaration bound to the classes of a trace that carry its event.
#[derive(Debug, Clone)]
pub(crate) struct Bound<'t> {
    pub(crate) event: String,
    names: Vec<Cow<'static, str>>,
    pub(crate) classes: Vec<BoundClass<'t>>,
    /// `by_slot[slot]`: one more than the index in `classes` of that class, or 0.
    by_slot: Vec<u32>,
    /// Classes of the same name that did not bind.
    skipped: Vec<BindError>,
}

impl<'t> Bound<'t> {
    pub(crate) fn new(
        metadata: &'t Metadata,
        event: &str,
        fields: &[FieldSpec],
    ) -> Result<Bound<'t>, BindError> {
        for (index, field) in fields.iter().enumerate() {
            if fields.iter().take(index).any(|earlier| earlier.name == field.name) {
                return Err(BindError::DuplicateField { event: event.into(), field: field.name.to_string() });
            }
        }
        let abi = metadata.abi();
        let mut classes = Vec::new();
        let mut skipped = Vec::new();
        for entry in metadata.entries().iter().filter(|entry| entry.class.name == event) {
            match bind_class(entry, fields, abi) {
                Ok(access) => classes.push(BoundClass { entry, access }),
                Err(error) => skipped.push(error),
            }
        }
        if classes.is_empty() {
            return Err(skipped.into_iter().next().unwrap_or_else(|| BindError::MissingEvent {
                event: event.into(),
                similar: similar_names(metadata, event),
            }));
        }
        let mut by_slot = vec![0u32; metadata.entries().len()];
        for (index, class) in classes.iter().enumerate() {
            if let Some(cell) = by_slot.get_mut(class.entry.slot) {
                *cell = u32::try_from(index).map_or(0, |index| index.saturating_add(1));
            }
        }
        Ok(Bound {
            event: event.into(),
            names: fields.iter().map(|field| field.name.clone()).collect(),
            classes,
            by_slot,
            skipped,
        })
    }

    /// The bound class of `slot`, if the declaration bound to it.
    #[inline(always)]
    pub(crate) fn class(&self, slot: usize) -> Option<&BoundClass<'t>> {
        let index = self.by_slot.get(slot)?.checked_sub(1)?;
        self.classes.get(index as usize)
    }

    #[cold]
    pub(crate) fn error(&self, record: &RawRecord<'_>, error: FieldError) -> DecodeError {
        let event = Event::new(*record);
        DecodeError {
            event: self.event.clone(),
            field: self.names.get(error.field as usize).map_or_else(String::new, |name| name.to_string()),
            file: event.file().into(),
            offset: event.offset(),
            kind: error.kind,
        }
    }
}

fn bind_class<'t>(
    entry: &'t ClassEntry,
    fields: &[FieldSpec],
    abi: &Abi,
) -> Result<Vec<Option<Access<'t>>>, BindError> {
    let class = &entry.class;
    // The class decodes, so its fields parse (a marker's format was checked at load).
    let declared = class.fields().map(Cow::into_owned).unwrap_or_default();
    let locations = entry.layout.locations();
    let mut access = Vec::with_capacity(fields.len());
    for spec in fields {
        let Some(index) = declared.iter().position(|field| *field.name == *spec.name) else {
            if spec.optional {
                access.push(None);
                continue;
            }
            let unclaimed: Vec<_> = declared
                .iter()
                .filter(|field| !fields.iter().any(|other| *other.name == *field.name))
                .filter(|field| (spec.binds)(&field.ty, abi))
                .collect();
            return Err(BindError::MissingField {
                event: class.name.clone(),
                identity: class.identity,
                field: spec.name.to_string(),
                expected: spec.type_name,
                renamed: match unclaimed.as_slice() {
                    [only] => Some(only.name.clone()),
                    _ => None,
                },
                declared: declared
                    .iter()
                    .map(|field| format!("{} ({})", field.name, describe_type(&field.ty, Some(abi))))
                    .collect(),
            });
        };
        let (Some(field), Some((_, node)), Some(location)) =
            (declared.get(index), entry.plan.fields.get(index), locations.get(index))
        else {
            continue;
        };
        if !(spec.binds)(&field.ty, abi) {
            return Err(BindError::TypeMismatch {
                event: class.name.clone(),
                identity: class.identity,
                field: spec.name.to_string(),
                expected: spec.type_name,
                found: describe_type(&field.ty, Some(abi)),
            });
        }
        let ends_segment = crate::layout::fixed_size(node).is_none();
        access.push(Some(Access {
            node,
            kind: Kind::of(node),
            field: index,
            segment: location.segment,
            offset: location.offset,
            ends: ends_segment.then_some(location.segment + 1),
            int_code: match Kind::of(node) {
                Kind::Int(shape) | Kind::Enum(shape) => {
                    ExactInt { size: shape.size, signed: shape.signed }.code()
                }
                Kind::Str | Kind::Other => 0,
            },
            string_end: matches!(node, Node::Str).then_some(location.segment + 1),
        }));
    }
    Ok(access)
}

/// Declared event names that look like `event`: equal ignoring case, or equal after a
/// `provider:` prefix.
fn similar_names(metadata: &Metadata, event: &str) -> Vec<String> {
    let base = |name: &str| name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase();
    let wanted = base(event);
    let mut similar: Vec<String> = metadata
        .event_classes()
        .map(|class| class.name.clone())
        .filter(|name| base(name) == wanted)
        .collect();
    similar.dedup();
    similar
}

/// The bound fields of one record: what [`TraceEvent::decode`] reads.
#[derive(Debug, Clone, Copy)]
pub struct BoundFields<'t, 'b> {
    record: &'b RawRecord<'t>,
    class: &'b BoundClass<'t>,
}

impl<'t, 'b> BoundFields<'t, 'b> {
    pub(crate) fn new(record: &'b RawRecord<'t>, class: &'b BoundClass<'t>) -> BoundFields<'t, 'b> {
        BoundFields { record, class }
    }

    /// Declared field `index`, as `T`. `T` should be the type the field was declared with;
    /// another type is read as well as the bytes allow.
    #[inline(always)]
    pub fn get<T: FieldType<'t>>(&self, index: usize) -> Result<T, FieldError> {
        // Declarations have fewer than 2^32 fields; a larger index finds no field anyway.
        let error = |kind| FieldError { field: index as u32, kind };
        let access = match self.class.access.get(index) {
            Some(Some(access)) => access,
            Some(None) => return T::absent().ok_or(error(FieldErrorKind::Missing)),
            None => return Err(error(FieldErrorKind::Missing)),
        };
        let record = self.record;
        let payload = record.payload();
        // An integer field whose wire shape the type holds exactly, at an offset known from
        // the walk: one bounds check and one load, no dispatch on the field's type.
        if let Some(exact) = T::EXACT_INT {
            // A hand-written type declaring size 0 would match fields that are not integers.
            if exact.size != 0 && access.int_code == exact.code() {
                if let Some(value) = self.read_exact::<T>(access, exact.size) {
                    return Ok(value);
                }
            }
        }
        // A string whose end the walk stored: its bytes are known without scanning.
        if T::READS_STRING {
            if let Some(bytes) = access.string_end.and_then(|next| self.string_bytes(access, next)) {
                return T::read_string(bytes).map_err(error);
            }
        }
        let start = match record.segments.start(access.segment) {
            Some(start) => start.saturating_add(access.offset),
            None => record.field_start(access.field).ok_or(error(FieldErrorKind::Malformed))?,
        };
        let len =
            access.ends.and_then(|next| record.segments.start(next)).map(|end| end.saturating_sub(start));
        let bytes = payload.get(start..).ok_or(error(FieldErrorKind::Malformed))?;
        T::read(FieldSlot { bytes, node: access.node, kind: access.kind, order: record.order(), len })
            .map_err(error)
    }

    /// The `size` bytes of an integer field of the shape `T` holds exactly; `None` when its
    /// segment is not stored or the bytes are short (the general path then explains it).
    #[inline(always)]
    fn read_exact<T: FieldType<'t>>(&self, access: &Access<'t>, size: u8) -> Option<T> {
        let start = self.record.segments.start(access.segment)?.checked_add(access.offset)?;
        let end = start.checked_add(usize::from(size))?;
        T::read_exact(self.record.payload().get(start..end)?, self.record.order())
    }

    /// The bytes of a string field, without its NUL, when the start of segment `next` (the
    /// one after it) is stored.
    #[inline(always)]
    fn string_bytes(&self, access: &Access<'t>, next: usize) -> Option<&'t [u8]> {
        let start = self.record.segments.start(access.segment)?.checked_add(access.offset)?;
        let end = self.record.segments.start(next)?.checked_sub(1)?;
        self.record.payload().get(start..end)
    }

    /// The record's timestamp (§5.5).
    pub fn timestamp(&self) -> u64 {
        self.record.timestamp
    }

    /// The record as an [`Event`], for anything else about it.
    pub fn event(&self) -> Event<'t> {
        Event::new(*self.record)
    }
}

/// A [`TraceEvent`] type bound to a trace; see [`Trace::bind`](crate::Trace::bind).
pub struct Binding<'t, T> {
    bound: Bound<'t>,
    _type: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Binding<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding")
            .field("event", &self.bound.event)
            .field("classes", &self.class_ids())
            .finish()
    }
}

impl<T> Clone for Binding<'_, T> {
    fn clone(&self) -> Self {
        Binding { bound: self.bound.clone(), _type: PhantomData }
    }
}

impl<'t, T: TraceEvent<'t>> Binding<'t, T> {
    pub(crate) fn new(metadata: &'t Metadata) -> Result<Binding<'t, T>, BindError> {
        Ok(Binding { bound: Bound::new(metadata, T::NAME, &T::fields())?, _type: PhantomData })
    }

    /// `Some` when `event` is of a bound class: the decoded value, or why it did not decode.
    #[inline]
    pub fn decode(&self, event: &Event<'t>) -> Option<Result<T, DecodeError>> {
        let record = event.raw();
        let class = self.bound.class(record.entry.slot)?;
        Some(T::decode(&BoundFields::new(record, class)).map_err(|error| self.bound.error(record, error)))
    }

    /// Whether `event` is of a bound class.
    pub fn matches(&self, event: &Event<'_>) -> bool {
        self.bound.class(event.raw().entry.slot).is_some()
    }

    pub(crate) fn into_bound(self) -> Bound<'t> {
        self.bound
    }
}

impl<T> Binding<'_, T> {
    /// The IDs of the event classes bound (one per stream class declaring the event).
    pub fn class_ids(&self) -> Vec<u32> {
        self.bound.classes.iter().map(|class| class.entry.class.id).collect()
    }

    /// Classes of the same name that did not bind, and why.
    pub fn skipped(&self) -> &[BindError] {
        &self.bound.skipped
    }
}

/// An [`EventSpec`] bound to a trace; see [`Trace::bind_spec`](crate::Trace::bind_spec).
#[derive(Debug, Clone)]
pub struct DynBinding<'t> {
    bound: Bound<'t>,
}

impl<'t> DynBinding<'t> {
    pub(crate) fn new(metadata: &'t Metadata, spec: &EventSpec) -> Result<DynBinding<'t>, BindError> {
        Ok(DynBinding { bound: Bound::new(metadata, &spec.name, &spec.fields)? })
    }

    /// The bound fields of `event`, when it is of a bound class; read them with
    /// [`BoundFields::get`] by their index in the [`EventSpec`].
    #[inline]
    pub fn fields<'b>(&'b self, event: &'b Event<'t>) -> Option<BoundFields<'t, 'b>> {
        let class = self.bound.class(event.raw().entry.slot)?;
        Some(BoundFields::new(event.raw(), class))
    }

    /// Explains a [`FieldError`] from [`BoundFields::get`] on `event`.
    pub fn error(&self, event: &Event<'t>, error: FieldError) -> DecodeError {
        self.bound.error(event.raw(), error)
    }

    /// The IDs of the event classes bound.
    pub fn class_ids(&self) -> Vec<u32> {
        self.bound.classes.iter().map(|class| class.entry.class.id).collect()
    }

    /// Classes of the same name that did not bind, and why.
    pub fn skipped(&self) -> &[BindError] {
        &self.bound.skipped
    }

    pub(crate) fn into_bound(self) -> Bound<'t> {
        self.bound
    }
}
