//! Field values read as they are written or asked for, not decoded whole.
//!
//! A [`Value`] tree costs tens of bytes per element: a record of nested arrays of one-byte
//! elements decoded whole takes hundreds of times its size (a 4 MiB trace grew `tracemark dump`
//! to 1.9 GB). An [`EncodedValue`] is a value's type and position in the payload: its `Display`
//! and `Serialize` walk it element by element, decoding one scalar at a time, so writing it holds
//! no more than its nesting depth (§13.3), and its [`elements`](EncodedValue::elements) and
//! [`members`](EncodedValue::members) read one child at a time, for callers that navigate (the
//! C API). A [`FieldValue`] is a scalar decoded at once or a compound held encoded.

use std::{cell::Cell, ffi::c_void, fmt, ptr};

use serde::{
    ser::{Error as _, SerializeMap, SerializeSeq},
    Serialize, Serializer,
};
use tracemark_format::{marker::DisplayHint, ByteOrder};

use crate::{
    decode::{check_count, decode_node, skip_node, Cursor, Node, Plan},
    layout::fixed_size,
    value::Value,
};

/// An array, sequence or struct of at most this many bytes, when its length is known without
/// walking it, is decoded whole by [`Event::streamed_values`]: faster than walking it as it is
/// written, and at most a few hundred times 1 KiB.
pub(crate) const DECODE_WHOLE_UP_TO: usize = 1024;

/// Whether [`Event::streamed_values`](crate::Event::streamed_values) may walk a field of a class with this plan.
pub(crate) fn may_stream(plan: &Plan) -> bool {
    plan.fields.iter().any(|(_, node)| {
        FieldValue::is_compound(node) && fixed_size(node).is_none_or(|size| size > DECODE_WHOLE_UP_TO)
    })
}

/// One field's value, from [`Event::streamed_values`](crate::Event::streamed_values): a scalar
/// decoded at once, or an array, a sequence or a struct held as its node and bytes and walked
/// element by element by its `Display` and `Serialize`, which write exactly what [`Value`]'s
/// write; writing it holds no more than its nesting depth, however many elements it has.
#[derive(Debug, Clone)]
pub struct FieldValue<'t>(Inner<'t>);

#[derive(Debug, Clone)]
enum Inner<'t> {
    Decoded(Value<'t>),
    /// An array, sequence or struct.
    Encoded(EncodedValue<'t>),
}

impl<'t> FieldValue<'t> {
    pub(crate) fn decoded(value: Value<'t>) -> FieldValue<'t> {
        FieldValue(Inner::Decoded(value))
    }

    pub(crate) fn walked(value: EncodedValue<'t>) -> FieldValue<'t> {
        FieldValue(Inner::Encoded(value))
    }

    /// Whether the value's node is an array, a sequence or a struct, walked as it is written.
    pub(crate) fn is_compound(node: &Node) -> bool {
        matches!(node, Node::Array { .. } | Node::Sequence { .. } | Node::Struct(_))
    }

    /// The value, when it was decoded at once: a scalar (any type but an array, a sequence or
    /// a struct).
    pub fn scalar(&self) -> Option<&Value<'t>> {
        match &self.0 {
            Inner::Decoded(value) => Some(value),
            Inner::Encoded { .. } => None,
        }
    }

    /// The array, sequence or struct, when the value was not decoded at once.
    pub fn encoded(&self) -> Option<&EncodedValue<'t>> {
        match &self.0 {
            Inner::Decoded(_) => None,
            Inner::Encoded(encoded) => Some(encoded),
        }
    }

    /// The value decoded whole: for an array, sequence or struct, a tree of the memory that
    /// streaming it avoids.
    pub fn to_value(&self) -> Option<Value<'t>> {
        match &self.0 {
            Inner::Decoded(value) => Some(value.clone()),
            Inner::Encoded(encoded) => encoded.decode(),
        }
    }
}

impl fmt::Display for FieldValue<'_> {
    /// As [`Value`]'s `Display` writes the decoded value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Decoded(value) => write!(f, "{value}"),
            Inner::Encoded(encoded) => write!(f, "{encoded}"),
        }
    }
}

/// A value of an event's payload, not decoded: its type and where it starts. A scalar is
/// decoded when asked for ([`decode`](Self::decode)); an array, a sequence or a struct is read
/// one element or member at a time ([`elements`](Self::elements), [`members`](Self::members)),
/// and written one scalar at a time by its `Display` and `Serialize`, which write exactly what
/// [`Value`]'s write. Nothing it does allocates more than its nesting depth, except `decode`
/// of a compound.
///
/// The reader hands out values whose bytes the record walk checked (§10.5): they decode. One
/// rebuilt with [`new`](Self::new) at another position may not: its reads return `None` (or a
/// `fmt::Error`), never more.
#[derive(Debug, Clone, Copy)]
pub struct EncodedValue<'t> {
    node: &'t Node,
    payload: &'t [u8],
    at: usize,
    order: ByteOrder,
}

/// The type of an [`EncodedValue`], a handle into the trace's metadata; with its
/// [`position`](EncodedValue::position) it rebuilds the value ([`EncodedValue::new`]).
///
/// It is `#[repr(transparent)]` over a shared reference, a guarantee: a foreign-language
/// binding may keep it as a non-null pointer ([`as_ptr`](Self::as_ptr)) and transmute that back,
/// as long as the trace lives.
#[derive(Debug, Clone, Copy)]
#[repr(transparent)]
pub struct ValueType<'t>(&'t Node);

impl ValueType<'_> {
    /// The handle as an opaque pointer, valid as long as the trace.
    pub fn as_ptr(self) -> *const c_void {
        ptr::from_ref(self.0).cast()
    }
}

/// What an [`EncodedValue`] holds, read without decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodedKind {
    /// A `bool`, an integer, a float, a string, a blob or an enumeration.
    Scalar,
    /// A fixed-length array.
    Array,
    /// A sequence.
    Sequence,
    /// A struct.
    Struct,
}

impl<'t> EncodedValue<'t> {
    /// The value of type `value_type` starting at byte `position` of `payload` (an event's
    /// [`payload`](crate::Event::payload)) in byte order `order`.
    pub fn new(value_type: ValueType<'t>, payload: &'t [u8], position: usize, order: ByteOrder) -> Self {
        EncodedValue { node: value_type.0, payload, at: position, order }
    }

    /// The value's type, to rebuild it with [`new`](Self::new).
    pub fn value_type(&self) -> ValueType<'t> {
        ValueType(self.node)
    }

    /// Where the value starts in the payload.
    pub fn position(&self) -> usize {
        self.at
    }

    /// What it holds.
    pub fn kind(&self) -> EncodedKind {
        match self.node {
            Node::Array { .. } => EncodedKind::Array,
            Node::Sequence { .. } => EncodedKind::Sequence,
            Node::Struct(_) => EncodedKind::Struct,
            _ => EncodedKind::Scalar,
        }
    }

    /// The value decoded: a scalar at once; an array, a sequence or a struct as a whole tree,
    /// of the memory that reading it element by element avoids.
    pub fn decode(&self) -> Option<Value<'t>> {
        decode_node(self.node, &mut self.cursor()).ok()
    }

    /// The number of elements of an array or sequence, or of members of a struct; `None` for a
    /// scalar.
    pub fn len(&self) -> Option<usize> {
        match self.node {
            Node::Struct(fields) => Some(fields.len()),
            node => count(node, &mut self.cursor()).map(|count| count as usize),
        }
    }

    /// Whether [`len`](Self::len) is `Some(0)`.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The elements of an array or sequence, one at a time; `None` for another type.
    pub fn elements(&self) -> Option<Elements<'t>> {
        let (Node::Array { element, .. } | Node::Sequence { element, .. }) = self.node else { return None };
        let mut cursor = self.cursor();
        let left = count(self.node, &mut cursor)?;
        Some(Elements {
            element,
            stride: None,
            payload: self.payload,
            at: cursor.position(),
            order: self.order,
            left,
        })
    }

    /// The members of a struct with their names, one at a time; `None` for another type.
    pub fn members(&self) -> Option<Members<'t>> {
        let Node::Struct(fields) = self.node else { return None };
        Some(Members { fields: fields.iter(), payload: self.payload, at: self.at, order: self.order })
    }

    /// The names of a struct's members, in order, read from its type alone; `None` for another
    /// type.
    pub fn member_names(&self) -> Option<impl ExactSizeIterator<Item = &'t str> + 't> {
        let Node::Struct(fields) = self.node else { return None };
        Some(fields.iter().map(|(name, _)| name.as_str()))
    }

    /// The member of a struct named `name`.
    pub fn member(&self, name: &str) -> Option<EncodedValue<'t>> {
        self.members()?.find(|(member, _)| *member == name).map(|(_, value)| value)
    }

    /// Written as [`Value::display`] writes the decoded value with `hint`: hints apply to
    /// scalars only.
    pub fn display(&self, hint: DisplayHint) -> impl fmt::Display + 't {
        Hinted { value: *self, hint }
    }

    fn cursor(&self) -> Cursor<'t> {
        Cursor::new(self.payload, self.at, self.order)
    }

    /// The value of `node` at `at`, and where it ends; `None` when it does not decode.
    pub(crate) fn read(
        node: &'t Node,
        payload: &'t [u8],
        at: usize,
        order: ByteOrder,
    ) -> Option<(Self, usize)> {
        let mut cursor = Cursor::new(payload, at, order);
        skip_node(node, &mut cursor)?;
        Some((EncodedValue { node, payload, at, order }, cursor.position()))
    }
}

impl fmt::Display for EncodedValue<'_> {
    /// As [`Value`]'s `Display` writes the decoded value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(f, self.node, &mut self.cursor())
    }
}

struct Hinted<'t> {
    value: EncodedValue<'t>,
    hint: DisplayHint,
}

impl fmt::Display for Hinted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value.kind() {
            EncodedKind::Scalar => write!(f, "{}", self.value.decode().ok_or(fmt::Error)?.display(self.hint)),
            _ => write!(f, "{}", self.value),
        }
    }
}

impl Serialize for EncodedValue<'_> {
    /// As [`Value`]'s `Serialize` writes the decoded value.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let position = Cell::new(self.at);
        Walked { node: self.node, payload: self.payload, order: self.order, position: &position }
            .serialize(serializer)
    }
}

/// The elements of an array or sequence: see [`EncodedValue::elements`]. `nth` skips elements
/// without reading them when their size is fixed, and without decoding them otherwise.
#[derive(Debug, Clone)]
pub struct Elements<'t> {
    element: &'t Node,
    /// The size of every element, when fixed: `Some(None)` when it is not; computed at the
    /// first `nth` that skips, as only skipping needs it.
    stride: Option<Option<usize>>,
    payload: &'t [u8],
    /// Where the next element starts.
    at: usize,
    order: ByteOrder,
    left: u32,
}

impl<'t> Iterator for Elements<'t> {
    type Item = EncodedValue<'t>;

    fn next(&mut self) -> Option<EncodedValue<'t>> {
        self.left = self.left.checked_sub(1)?;
        let Some((value, end)) = EncodedValue::read(self.element, self.payload, self.at, self.order) else {
            self.left = 0;
            return None;
        };
        self.at = end;
        Some(value)
    }

    fn nth(&mut self, n: usize) -> Option<EncodedValue<'t>> {
        let skipped = match u32::try_from(n).ok().filter(|n| *n < self.left) {
            Some(skipped) => skipped,
            None => {
                self.left = 0;
                return None;
            }
        };
        if n == 0 {
            return self.next();
        }
        let moved = match *self.stride.get_or_insert_with(|| fixed_size(self.element)) {
            Some(stride) => stride.checked_mul(n).and_then(|len| self.at.checked_add(len)),
            None => {
                let mut cursor = Cursor::new(self.payload, self.at, self.order);
                (0..n).try_for_each(|_| skip_node(self.element, &mut cursor)).map(|()| cursor.position())
            }
        };
        let Some(at) = moved else {
            self.left = 0;
            return None;
        };
        self.at = at;
        self.left -= skipped;
        self.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize))
    }
}

impl std::iter::FusedIterator for Elements<'_> {}

/// The members of a struct: see [`EncodedValue::members`].
#[derive(Debug, Clone)]
pub struct Members<'t> {
    fields: std::slice::Iter<'t, (String, Node)>,
    payload: &'t [u8],
    /// Where the next member starts.
    at: usize,
    order: ByteOrder,
}

impl<'t> Iterator for Members<'t> {
    type Item = (&'t str, EncodedValue<'t>);

    fn next(&mut self) -> Option<(&'t str, EncodedValue<'t>)> {
        let (name, node) = self.fields.next()?;
        let Some((value, end)) = EncodedValue::read(node, self.payload, self.at, self.order) else {
            self.fields = [].iter();
            return None;
        };
        self.at = end;
        Some((name.as_str(), value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.fields.len()))
    }
}

impl std::iter::FusedIterator for Members<'_> {}

/// The element count of an array or sequence at the cursor, its count read, checked against
/// the bytes left (§6.7).
fn count(node: &Node, cursor: &mut Cursor<'_>) -> Option<u32> {
    let (count, min_element_size) = match node {
        Node::Array { len, min_element_size, .. } => (*len, *min_element_size),
        Node::Sequence { min_element_size, .. } => (cursor.u32().ok()?, *min_element_size),
        _ => return None,
    };
    check_count(count, min_element_size, cursor).then_some(count)
}

fn write_node<'t>(f: &mut fmt::Formatter<'_>, node: &'t Node, cursor: &mut Cursor<'t>) -> fmt::Result {
    // A scalar's step is counted by `decode_node`, a compound's here.
    match node {
        Node::Array { element, .. } | Node::Sequence { element, .. } => {
            crate::steps::step();
            let count = count(node, cursor).ok_or(fmt::Error)?;
            f.write_str("[")?;
            for index in 0..count {
                if index > 0 {
                    f.write_str(", ")?;
                }
                write_node(f, element, cursor)?;
            }
            f.write_str("]")
        }
        Node::Struct(fields) => {
            crate::steps::step();
            f.write_str("{ ")?;
            for (index, (name, field)) in fields.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{name} = ")?;
                write_node(f, field, cursor)?;
            }
            f.write_str(" }")
        }
        scalar => write!(f, "{}", decode_node(scalar, cursor).map_err(|_| fmt::Error)?),
    }
}

impl Serialize for FieldValue<'_> {
    /// As [`Value`]'s `Serialize` writes the decoded value.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Inner::Decoded(value) => value.serialize(serializer),
            Inner::Encoded(encoded) => encoded.serialize(serializer),
        }
    }
}

/// A node serialized from `position`, which it moves past what it serializes.
struct Walked<'a, 't> {
    node: &'t Node,
    payload: &'t [u8],
    order: ByteOrder,
    position: &'a Cell<usize>,
}

impl<'a, 't> Walked<'a, 't> {
    fn cursor(&self) -> Cursor<'t> {
        Cursor::new(self.payload, self.position.get(), self.order)
    }

    fn child(&self, node: &'t Node) -> Walked<'a, 't> {
        Walked { node, payload: self.payload, order: self.order, position: self.position }
    }
}

impl Serialize for Walked<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let undecodable = || S::Error::custom("a value that the record walk accepted does not decode");
        match self.node {
            Node::Array { element, .. } | Node::Sequence { element, .. } => {
                let mut cursor = self.cursor();
                let count = count(self.node, &mut cursor).ok_or_else(undecodable)?;
                self.position.set(cursor.position());
                let mut seq = serializer.serialize_seq(Some(count as usize))?;
                for _ in 0..count {
                    seq.serialize_element(&self.child(element))?;
                }
                seq.end()
            }
            Node::Struct(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (name, field) in fields {
                    map.serialize_entry(name, &self.child(field))?;
                }
                map.end()
            }
            scalar => {
                let mut cursor = self.cursor();
                let value = decode_node(scalar, &mut cursor).map_err(|_| undecodable())?;
                self.position.set(cursor.position());
                value.serialize(serializer)
            }
        }
    }
}
