//! Payload decoding (§6): an event class's fields compiled once into a [`Plan`], then run
//! over each record's bytes.
//!
//! Every read is bounds-checked; counts and lengths are checked against the bytes remaining
//! before anything proportional to them is allocated or looped over (§6.7); every loop
//! iteration consumes at least one byte; recursion is bounded by the type nesting depth.

use tracemark_format::{types::MAX_NESTING_DEPTH, Abi, ByteOrder, EnumMapping, Field, IntType, TypeDesc};

use crate::{
    diagnostic::MalformedReason,
    event::{Integer, Value},
};

/// Most elements reserved up front for one array or sequence; more grow the vector as they
/// decode, so a large count in a large packet does not reserve memory it might not need.
const MAX_RESERVE: usize = 4096;

/// An integer's wire shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntShape {
    size: u8,
    signed: bool,
}

impl IntShape {
    fn new(int: IntType, abi: &Abi) -> IntShape {
        IntShape { size: int.size(abi), signed: int.is_signed() }
    }
}

/// A type, compiled for one ABI.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Bool,
    Int(IntShape),
    F32,
    F64,
    Str,
    Blob,
    Array { len: u32, element: Box<Node>, min_element_size: usize },
    Sequence { element: Box<Node>, min_element_size: usize },
    Enum { int: IntShape, mappings: Vec<EnumMapping> },
    Struct(Vec<(String, Node)>),
}

/// Why a type cannot be compiled. The format crate's parser already rejects these; the
/// checks are repeated so that the decoder's guarantees do not depend on it.
pub(crate) type CompileError = tracemark_format::metadata::MetadataErrorKind;

/// The compiled payload layout of one event class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    fields: Vec<(String, Node)>,
    /// The encoded size when it does not depend on the data: checked once per record, before
    /// any field is read.
    fixed_size: Option<usize>,
}

fn compile_node(ty: &TypeDesc, abi: &Abi, depth: usize) -> Result<Node, CompileError> {
    if depth > MAX_NESTING_DEPTH {
        return Err(CompileError::TooDeep);
    }
    let int = |int: IntType| {
        let shape = IntShape::new(int, abi);
        match shape.size {
            1 | 2 | 4 | 8 => Ok(shape),
            _ => Err(CompileError::AbiSize(abi.sizes())),
        }
    };
    let element = |element: &TypeDesc| -> Result<(Box<Node>, usize), CompileError> {
        let min = element.min_size(abi);
        if min == 0 {
            return Err(CompileError::ZeroSizedElement);
        }
        Ok((Box::new(compile_node(element, abi, depth + 1)?), min))
    };
    Ok(match ty {
        TypeDesc::Bool => Node::Bool,
        TypeDesc::Int(repr) => Node::Int(int(*repr)?),
        TypeDesc::F32 => Node::F32,
        TypeDesc::F64 => Node::F64,
        TypeDesc::String => Node::Str,
        TypeDesc::Blob => Node::Blob,
        TypeDesc::Array { len, element: ty } => {
            let (element, min_element_size) = element(ty)?;
            Node::Array { len: *len, element, min_element_size }
        }
        TypeDesc::Sequence { element: ty } => {
            let (element, min_element_size) = element(ty)?;
            Node::Sequence { element, min_element_size }
        }
        TypeDesc::Enum { repr, mappings } => Node::Enum { int: int(*repr)?, mappings: mappings.clone() },
        TypeDesc::Struct(fields) => Node::Struct(compile_fields(fields, abi, depth + 1)?),
    })
}

fn compile_fields(fields: &[Field], abi: &Abi, depth: usize) -> Result<Vec<(String, Node)>, CompileError> {
    fields.iter().map(|field| Ok((field.name.clone(), compile_node(&field.ty, abi, depth)?))).collect()
}

impl Plan {
    /// Compiles a field list for `abi`.
    pub(crate) fn compile(fields: &[Field], abi: &Abi) -> Result<Plan, CompileError> {
        let fixed_size =
            fields.iter().try_fold(0usize, |sum, field| sum.checked_add(field.ty.fixed_size(abi)?));
        Ok(Plan { fields: compile_fields(fields, abi, 0)?, fixed_size })
    }

    /// Decodes one payload at the cursor's position.
    pub(crate) fn decode<'t>(
        &'t self,
        cursor: &mut Cursor<'t>,
    ) -> Result<Vec<(&'t str, Value<'t>)>, DecodeError> {
        if let Some(size) = self.fixed_size {
            if size > cursor.remaining() {
                return Err(cursor
                    .error(MalformedReason::PastEnd { needed: size as u64, remaining: cursor.remaining() }));
            }
        }
        decode_fields(&self.fields, cursor)
    }
}

/// A decoding failure at a content offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    /// Offset in the content where the failing value starts.
    pub(crate) at: usize,
    pub(crate) reason: MalformedReason,
}

/// A read position in a packet's content.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'t> {
    bytes: &'t [u8],
    position: usize,
    order: ByteOrder,
}

impl<'t> Cursor<'t> {
    pub(crate) fn new(bytes: &'t [u8], position: usize, order: ByteOrder) -> Cursor<'t> {
        Cursor { bytes, position, order }
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    fn rest(&self) -> &'t [u8] {
        self.bytes.get(self.position..).unwrap_or(&[])
    }

    fn error(&self, reason: MalformedReason) -> DecodeError {
        DecodeError { at: self.position, reason }
    }

    /// Takes `len` bytes, or fails without moving.
    fn take(&mut self, len: usize) -> Result<&'t [u8], DecodeError> {
        let taken = self.rest().get(..len).ok_or_else(|| {
            self.error(MalformedReason::PastEnd { needed: len as u64, remaining: self.remaining() })
        })?;
        self.position = self.position.saturating_add(len);
        Ok(taken)
    }

    fn uint(&mut self, size: u8) -> Result<u64, DecodeError> {
        let at = self.position;
        let bytes = self.take(size as usize)?;
        // `take` returned exactly `size` bytes; only a size outside 1, 2, 4, 8 can fail here,
        // and `Plan::compile` rejects those.
        self.order
            .read_uint(bytes, size as usize)
            .ok_or(DecodeError { at, reason: MalformedReason::PastEnd { needed: size as u64, remaining: 0 } })
    }

    fn int(&mut self, shape: IntShape) -> Result<Integer, DecodeError> {
        if !shape.signed {
            return self.uint(shape.size).map(Integer::Unsigned);
        }
        let at = self.position;
        let bytes = self.take(shape.size as usize)?;
        self.order.read_int(bytes, shape.size as usize).map(Integer::Signed).ok_or(DecodeError {
            at,
            reason: MalformedReason::PastEnd { needed: shape.size as u64, remaining: 0 },
        })
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        // `uint(4)` yields at most `u32::MAX`.
        Ok(self.uint(4)? as u32)
    }
}

fn decode_fields<'t>(
    fields: &'t [(String, Node)],
    cursor: &mut Cursor<'t>,
) -> Result<Vec<(&'t str, Value<'t>)>, DecodeError> {
    let mut values = Vec::with_capacity(fields.len());
    for (name, node) in fields {
        values.push((name.as_str(), decode_node(node, cursor)?));
    }
    Ok(values)
}

/// Checks `count × min_element_size` against the bytes remaining (§6.7).
fn check_count(count: u32, min_element_size: usize, cursor: &Cursor<'_>) -> bool {
    (count as usize).checked_mul(min_element_size).is_some_and(|needed| needed <= cursor.remaining())
}

fn decode_elements<'t>(
    count: u32,
    element: &'t Node,
    cursor: &mut Cursor<'t>,
) -> Result<Vec<Value<'t>>, DecodeError> {
    let mut values = Vec::with_capacity((count as usize).min(MAX_RESERVE));
    for _ in 0..count {
        // Each element consumes at least one byte: `min_element_size >= 1` was checked.
        values.push(decode_node(element, cursor)?);
    }
    Ok(values)
}

fn label(mappings: &[EnumMapping], value: Integer) -> Option<&str> {
    mappings
        .iter()
        .find(|mapping| match value {
            Integer::Signed(value) => (mapping.lo as i64) <= value && value <= (mapping.hi as i64),
            Integer::Unsigned(value) => mapping.lo <= value && value <= mapping.hi,
        })
        .map(|mapping| mapping.label.as_str())
}

fn decode_node<'t>(node: &'t Node, cursor: &mut Cursor<'t>) -> Result<Value<'t>, DecodeError> {
    Ok(match node {
        Node::Bool => {
            let start = cursor.clone();
            match cursor.uint(1)? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => return Err(start.error(MalformedReason::BadBool(other as u8))),
            }
        }
        Node::Int(shape) => match cursor.int(*shape)? {
            Integer::Signed(value) => Value::Signed(value),
            Integer::Unsigned(value) => Value::Unsigned(value),
        },
        Node::F32 => Value::F32(f32::from_bits(cursor.u32()?)),
        Node::F64 => Value::F64(f64::from_bits(cursor.uint(8)?)),
        Node::Str => {
            let rest = cursor.rest();
            let Some(len) = rest.iter().position(|&byte| byte == 0) else {
                return Err(cursor.error(MalformedReason::UnterminatedString));
            };
            let text = rest.get(..len).unwrap_or(&[]);
            cursor.take(len.saturating_add(1))?;
            Value::Str(text)
        }
        Node::Blob => {
            let start = cursor.clone();
            let len = cursor.u32()?;
            if len as usize > cursor.remaining() {
                return Err(start.error(MalformedReason::BlobPastEnd { len, remaining: cursor.remaining() }));
            }
            Value::Blob(cursor.take(len as usize)?)
        }
        Node::Array { len, element, min_element_size } => {
            if !check_count(*len, *min_element_size, cursor) {
                return Err(cursor.error(MalformedReason::ArrayPastEnd {
                    len: *len,
                    min_element_size: *min_element_size,
                    remaining: cursor.remaining(),
                }));
            }
            Value::Array(decode_elements(*len, element, cursor)?)
        }
        Node::Sequence { element, min_element_size } => {
            let start = cursor.clone();
            let count = cursor.u32()?;
            if !check_count(count, *min_element_size, cursor) {
                return Err(start.error(MalformedReason::SequencePastEnd {
                    count,
                    min_element_size: *min_element_size,
                    remaining: cursor.remaining(),
                }));
            }
            Value::Sequence(decode_elements(count, element, cursor)?)
        }
        Node::Enum { int, mappings } => {
            let value = cursor.int(*int)?;
            Value::Enum { value, label: label(mappings, value) }
        }
        Node::Struct(fields) => Value::Struct(decode_fields(fields, cursor)?),
    })
}
