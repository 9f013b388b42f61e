//! Payload decoding (§6): an event class's fields compiled once into a [`Plan`], then run
//! over each record's bytes.
//!
//! Every read is bounds-checked; counts and lengths are checked against the bytes remaining
//! before anything proportional to them is allocated or looped over (§6.7); every loop
//! iteration consumes at least one byte; recursion is bounded by the type nesting depth.

use tracemark_format::{types::MAX_NESTING_DEPTH, Abi, ByteOrder, EnumMapping, Field, IntType, TypeDesc};

use crate::{
    diagnostic::MalformedReason,
    value::{Integer, Value},
};

/// Most elements reserved up front for one array or sequence; more grow the vector as they
/// decode, so a large count in a large packet does not reserve memory it might not need.
const MAX_RESERVE: usize = 4096;

/// An integer's wire shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntShape {
    pub(crate) size: u8,
    pub(crate) signed: bool,
}

impl IntShape {
    fn new(int: IntType, abi: &Abi) -> IntShape {
        IntShape { size: int.size(abi), signed: int.is_signed() }
    }

    /// Reads the integer at the start of `bytes`, sign- or zero-extended to 64 bits (the
    /// bits of an `i64` when signed). `None` when `bytes` is too short.
    ///
    /// With eight bytes available, one load and two shifts, whatever the size: the field's
    /// bytes are moved to the top of a `u64`, then shifted down, arithmetically when signed.
    #[inline(always)]
    pub(crate) fn read_bits(self, bytes: &[u8], order: ByteOrder) -> Option<u64> {
        let shift = 64 - 8 * u32::from(self.size);
        if let (Some(word), 1..=8) = (bytes.first_chunk::<8>(), self.size) {
            let top = match order {
                ByteOrder::Little => u64::from_le_bytes(*word) << shift,
                ByteOrder::Big => u64::from_be_bytes(*word),
            };
            return Some(if self.signed { ((top as i64) >> shift) as u64 } else { top >> shift });
        }
        self.read_bits_short(bytes, order)
    }

    /// [`IntShape::read_bits`] near the end of the content, with fewer than eight bytes.
    #[cold]
    fn read_bits_short(self, bytes: &[u8], order: ByteOrder) -> Option<u64> {
        let size = usize::from(self.size);
        let value = if self.signed {
            order.read_int(bytes.get(..size)?, size)? as u64
        } else {
            order.read_uint(bytes.get(..size)?, size)?
        };
        Some(value)
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

/// A type reduced to what reading the common kinds of field needs: matching on it is cheaper
/// than on a [`Node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int(IntShape),
    Enum(IntShape),
    Str,
    Other,
}

impl Kind {
    pub(crate) fn of(node: &Node) -> Kind {
        match node {
            Node::Int(shape) => Kind::Int(*shape),
            Node::Enum { int, .. } => Kind::Enum(*int),
            Node::Str => Kind::Str,
            _ => Kind::Other,
        }
    }
}

/// The compiled payload layout of one event class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) fields: Vec<(String, Node)>,
    /// The [`Kind`] of each field.
    pub(crate) kinds: Vec<Kind>,
    /// The encoded size when it does not depend on the data: checked once per record, before
    /// any field is read.
    fixed_size: Option<usize>,
    /// Field positions ordered by name, then position: a lookup by name is a binary search,
    /// not a scan (a C program looking up each of 65,535 fields by name took over 20 s).
    by_name: Vec<u32>,
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
        if element.has_empty_part(abi) {
            return Err(CompileError::ZeroSizedElement);
        }
        let min = element.min_size(abi);
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
        let fields = compile_fields(fields, abi, 0)?;
        let kinds = fields.iter().map(|(_, node)| Kind::of(node)).collect();
        // Positions fit u32: a class declares at most 65,535 fields (a u16 count, §7.6).
        let mut by_name: Vec<u32> = (0..fields.len()).map(|index| index as u32).collect();
        by_name.sort_by(|a, b| fields[*a as usize].0.cmp(&fields[*b as usize].0).then(a.cmp(b)));
        Ok(Plan { fields, kinds, fixed_size, by_name })
    }

    /// The position of the first field named `name`.
    pub(crate) fn field_index(&self, name: &str) -> Option<usize> {
        let name_at = |position: u32| self.fields.get(position as usize).map(|(field, _)| field.as_str());
        let first =
            *self.by_name.get(self.by_name.partition_point(|&position| name_at(position) < Some(name)))?;
        (name_at(first) == Some(name)).then_some(first as usize)
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

    pub(crate) fn rest(&self) -> &'t [u8] {
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

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
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
pub(crate) fn check_count(count: u32, min_element_size: usize, cursor: &Cursor<'_>) -> bool {
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

pub(crate) fn decode_node<'t>(node: &'t Node, cursor: &mut Cursor<'t>) -> Result<Value<'t>, DecodeError> {
    crate::steps::step();
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
            let Some(len) = find_nul(rest) else {
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

/// Decodes the value of `node` at `at` in `payload`, returning it and where it ends: the
/// scalars directly, compound types through [`decode_node`]. `None` when the bytes do not
/// decode, which a payload accepted by the layout walk never does.
#[inline(always)]
pub(crate) fn read_value<'t>(
    node: &'t Node,
    payload: &'t [u8],
    at: usize,
    order: ByteOrder,
) -> Option<(Value<'t>, usize)> {
    let rest = payload.get(at..)?;
    Some(match node {
        Node::Int(shape) => {
            let bits = shape.read_bits(rest, order)?;
            let value = if shape.signed { Value::Signed(bits as i64) } else { Value::Unsigned(bits) };
            (value, at + shape.size as usize)
        }
        Node::Str => {
            let len = find_nul(rest)?;
            (Value::Str(rest.get(..len)?), at + len + 1)
        }
        Node::Bool => match rest.first()? {
            0 => (Value::Bool(false), at + 1),
            1 => (Value::Bool(true), at + 1),
            _ => return None,
        },
        Node::F64 => {
            (Value::F64(f64::from_bits(IntShape { size: 8, signed: false }.read_bits(rest, order)?)), at + 8)
        }
        Node::F32 => {
            let bits = IntShape { size: 4, signed: false }.read_bits(rest, order)?;
            (Value::F32(f32::from_bits(bits as u32)), at + 4)
        }
        _ => {
            let mut cursor = Cursor::new(payload, at, order);
            let value = decode_node(node, &mut cursor).ok()?;
            (value, cursor.position())
        }
    })
}

/// Moves the cursor past one value of `node` without building it: `Some(())` exactly when
/// [`decode_node`] would succeed, leaving the cursor where it would. The fast path
/// ([`crate::layout`]) uses it for the types it does not flatten.
pub(crate) fn skip_node(node: &Node, cursor: &mut Cursor<'_>) -> Option<()> {
    crate::steps::step();
    match node {
        Node::Bool => match cursor.take(1).ok()?.first()? {
            0 | 1 => Some(()),
            _ => None,
        },
        Node::Int(IntShape { size, .. }) | Node::Enum { int: IntShape { size, .. }, .. } => {
            cursor.take(*size as usize).ok().map(drop)
        }
        Node::F32 => cursor.take(4).ok().map(drop),
        Node::F64 => cursor.take(8).ok().map(drop),
        Node::Str => {
            let len = find_nul(cursor.rest())?;
            cursor.take(len.checked_add(1)?).ok().map(drop)
        }
        Node::Blob => {
            let len = cursor.u32().ok()?;
            cursor.take(len as usize).ok().map(drop)
        }
        Node::Array { len, element, min_element_size } => {
            if !check_count(*len, *min_element_size, cursor) {
                return None;
            }
            (0..*len).try_for_each(|_| skip_node(element, cursor))
        }
        Node::Sequence { element, min_element_size } => {
            let count = cursor.u32().ok()?;
            if !check_count(count, *min_element_size, cursor) {
                return None;
            }
            (0..count).try_for_each(|_| skip_node(element, cursor))
        }
        Node::Struct(fields) => fields.iter().try_for_each(|(_, node)| skip_node(node, cursor)),
    }
}

/// Index of the first NUL byte: the end of a string (§6.5).
///
/// Eight bytes at a time: `(w - 0x01…01) & !w & 0x80…80` has its lowest set bit in the
/// lowest zero byte of `w` (bits above it may be spurious, below it there are none).
#[inline(always)]
pub(crate) fn find_nul(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut offset = 0usize;
    let mut rest = bytes;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let word = u64::from_le_bytes(*chunk);
        let zero = word.wrapping_sub(ONES) & !word & HIGHS;
        if zero != 0 {
            return Some(offset + (zero.trailing_zeros() / 8) as usize);
        }
        offset += 8;
        rest = tail;
    }
    rest.iter().position(|&byte| byte == 0).map(|index| offset + index)
}

#[cfg(test)]
mod tests {
    use super::find_nul;

    #[test]
    fn find_nul_finds_the_first_nul_anywhere() {
        for len in 0..40 {
            for nul in 0..=len {
                let mut bytes: Vec<u8> = (0..len).map(|i| (i % 255 + 1) as u8).collect();
                if nul < len {
                    bytes[nul] = 0;
                    if nul + 1 < len {
                        bytes[nul + 1] = 0;
                    }
                }
                let expected = bytes.iter().position(|&b| b == 0);
                assert_eq!(find_nul(&bytes), expected, "len {len} nul {nul}");
            }
        }
        // A 0x01 after a zero and a 0x80 before it: the shapes that give spurious high bits.
        assert_eq!(find_nul(&[0x01, 0x80, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00]), Some(2));
        assert_eq!(find_nul(&[0xFF; 8]), None);
    }
}

#[cfg(test)]
mod int_tests {
    use super::IntShape;
    use tracemark_format::ByteOrder;

    #[test]
    fn reads_every_size_and_sign_in_both_orders_with_and_without_slack() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for size in [1u8, 2, 4, 8] {
                for signed in [false, true] {
                    let shape = IntShape { size, signed };
                    for value in
                        [0u64, 1, 0x7F, 0x80, 0xFF, 0x1234, 0x8000_0001, u64::MAX, 0xDEAD_BEEF_0BAD_F00D]
                    {
                        let mut bytes = [0u8; 8];
                        order.write_uint(value, size as usize, &mut bytes).unwrap();
                        let expected = if signed {
                            order.read_int(&bytes, size as usize).unwrap() as u64
                        } else {
                            order.read_uint(&bytes, size as usize).unwrap()
                        };
                        let mut slack = bytes.to_vec();
                        slack.extend_from_slice(&[0xAA; 8]);
                        assert_eq!(
                            shape.read_bits(&slack, order),
                            Some(expected),
                            "{order:?} {size} {signed} {value:#x}"
                        );
                        assert_eq!(shape.read_bits(&bytes[..size as usize], order), Some(expected));
                    }
                    assert_eq!(shape.read_bits(&[0u8; 8][..size as usize - 1], order), None);
                }
            }
        }
    }
}
