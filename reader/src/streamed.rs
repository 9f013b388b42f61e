//! Field values written as they are decoded.
//!
//! A [`Value`] tree costs tens of bytes per element: a record of nested arrays of one-byte
//! elements decoded whole takes hundreds of times its size (a 4 MiB trace grew `tracemark dump`
//! to 1.9 GB). A [`FieldValue`] holds an array, a sequence or a struct as its node and bytes,
//! and its `Display` and `Serialize` walk it element by element, decoding one scalar at a time,
//! so writing it holds no more than its nesting depth (§13.3). Scalars are decoded at once, as
//! [`Values`](crate::Values) decodes them.

use std::{cell::Cell, fmt};

use serde::{
    ser::{Error as _, SerializeMap, SerializeSeq},
    Serialize, Serializer,
};
use tracemark_format::ByteOrder;

use crate::{
    decode::{check_count, decode_node, Cursor, Node},
    event::Value,
};

/// One field's value, from [`Event::streamed_values`](crate::Event::streamed_values): a scalar
/// decoded at once, or an array, a sequence or a struct held as its node and bytes and walked
/// element by element by its `Display` and `Serialize`, which write exactly what [`Value`]'s
/// write; writing it holds no more than its nesting depth, however many elements it has.
#[derive(Debug, Clone)]
pub struct FieldValue<'t>(Inner<'t>);

#[derive(Debug, Clone)]
enum Inner<'t> {
    Decoded(Value<'t>),
    /// An array, sequence or struct starting at `at` in `payload`, which the record walk
    /// checked (§10.5): it decodes.
    Encoded {
        node: &'t Node,
        payload: &'t [u8],
        at: usize,
        order: ByteOrder,
    },
}

impl<'t> FieldValue<'t> {
    pub(crate) fn decoded(value: Value<'t>) -> FieldValue<'t> {
        FieldValue(Inner::Decoded(value))
    }

    pub(crate) fn encoded(node: &'t Node, payload: &'t [u8], at: usize, order: ByteOrder) -> FieldValue<'t> {
        FieldValue(Inner::Encoded { node, payload, at, order })
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

    /// The value decoded whole: for an array, sequence or struct, a tree of the memory that
    /// streaming it avoids.
    pub fn to_value(&self) -> Option<Value<'t>> {
        match &self.0 {
            Inner::Decoded(value) => Some(value.clone()),
            Inner::Encoded { node, payload, at, order } => {
                decode_node(node, &mut Cursor::new(payload, *at, *order)).ok()
            }
        }
    }
}

impl fmt::Display for FieldValue<'_> {
    /// As [`Value`]'s `Display` writes the decoded value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Decoded(value) => write!(f, "{value}"),
            Inner::Encoded { node, payload, at, order } => {
                write_node(f, node, &mut Cursor::new(payload, *at, *order))
            }
        }
    }
}

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
    match node {
        Node::Array { element, .. } | Node::Sequence { element, .. } => {
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
            Inner::Encoded { node, payload, at, order } => {
                let position = Cell::new(*at);
                Walked { node, payload, order: *order, position: &position }.serialize(serializer)
            }
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
