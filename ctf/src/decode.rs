//! Decoding one scope's fields into a flat list of values, following a [`Node`].
//!
//! Values come in the order the fields are laid out: a struct contributes its fields' values,
//! an array its elements', a sequence a [`Datum::Length`] then its elements', a variant a
//! [`Datum::Option`] then the option's values; an array or sequence of bytes meant as text is
//! one [`Datum::Text`]. Walking the plan beside the list gives each value its field
//! ([`datum_count`]). Strings borrow from the stream's bytes.
//!
//! Work and memory are bounded by the bytes decoded: an array or sequence must fit in the bits
//! left before its elements are read (each element takes at least one bit, which
//! [`crate::plan`] makes sure of), so a scope yields at most one value per bit of input.

use crate::bits::{BitCursor, PastEnd};
use crate::plan::{FlatVariant, Leaf, LeafKind, Node, Role};

/// One decoded value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Datum<'a> {
    /// An unsigned integer or enumeration.
    Unsigned(u64),
    /// A signed integer or enumeration.
    Signed(i64),
    /// A floating point number.
    Float(f64),
    /// A string, or an array of bytes meant as text up to its first NUL.
    Text(&'a [u8]),
    /// The length of the sequence whose elements follow.
    Length(u64),
    /// The option of the variant whose value follows.
    Option(u32),
}

/// Why a scope could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A field runs past the end of the packet's content (or the file).
    #[error("bit {at}: a field of {needs} bits runs past the end of the packet content")]
    PastEnd {
        /// Bit position in the stream file.
        at: u64,
        /// Bits it needs.
        needs: u64,
    },
    /// A sequence longer than the bits left could hold.
    #[error("bit {at}: a sequence of {length} elements of at least {element_bits} bits each cannot fit in the {left} bits left")]
    TooLong {
        /// Bit position in the stream file.
        at: u64,
        /// The length read.
        length: i128,
        /// Fewest bits per element.
        element_bits: u64,
        /// Bits left.
        left: u64,
    },
    /// The selector's value names no option.
    #[error("bit {at}: the variant selector's value {value} chooses no option")]
    NoOption {
        /// Bit position in the stream file.
        at: u64,
        /// The selector's value.
        value: i128,
    },
}

impl From<PastEnd> for DecodeError {
    fn from(past: PastEnd) -> DecodeError {
        DecodeError::PastEnd { at: past.at, needs: past.needs }
    }
}

/// Values of the fields with a [`Role`], as last decoded: (value, size in bits).
#[derive(Debug, Clone, Default)]
pub struct Specials {
    values: [Option<(u64, u32)>; 12],
}

impl Specials {
    /// The value of the field with this role, and its size in bits.
    pub fn get(&self, role: Role) -> Option<(u64, u32)> {
        self.values[role as usize]
    }

    /// Forgets the value of the field with this role.
    pub fn clear(&mut self, role: Role) {
        self.values[role as usize] = None;
    }

    fn set(&mut self, role: Role, value: u64, size: u32) {
        self.values[role as usize] = Some((value, size));
    }
}

/// Decodes scopes from a cursor, keeping registers and special fields across them.
pub struct Decoder<'a> {
    /// The read position.
    pub cursor: BitCursor<'a>,
    /// Values of the fields sequences and variants read, by register.
    pub registers: Vec<i128>,
    /// Values of the fields the decoder needs.
    pub specials: Specials,
}

std::thread_local! {
    /// Register files of dropped decoders, for the next: a trace's register count grows with
    /// its metadata, and a decoder is made per packet, so clearing a fresh one per packet would
    /// cost the metadata's size for every packet, however small.
    static SPARE_REGISTERS: std::cell::RefCell<Vec<Vec<i128>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `data`, with `registers` registers. Their values are left
    /// from an earlier decoder: a plan only reads a register after the field it names was
    /// decoded (an unchosen option's or an empty array's field aside, whose value CTF leaves
    /// undefined).
    pub fn new(data: &'a [u8], registers: u32) -> Decoder<'a> {
        let mut file = SPARE_REGISTERS.with(|spare| spare.borrow_mut().pop()).unwrap_or_default();
        if file.len() < registers as usize {
            file.resize(registers as usize, 0);
        }
        Decoder { cursor: BitCursor::new(data), registers: file, specials: Specials::default() }
    }

    /// Decodes the values of `node` onto `out`.
    pub fn decode(&mut self, node: &Node, out: &mut Vec<Datum<'a>>) -> Result<(), DecodeError> {
        match node {
            Node::Integer { ty, register, role } => {
                self.cursor.align(ty.align)?;
                self.integer(ty.size, ty.signed, ty.byte_order, *register, *role, out)?;
            }
            Node::Enum { ty, register, role } => {
                let int = &ty.container;
                self.cursor.align(int.align)?;
                self.integer(int.size, int.signed, int.byte_order, *register, *role, out)?;
            }
            Node::Float(float) => {
                self.cursor.align(float.align)?;
                let bits = self.cursor.read_unsigned(float.size(), float.byte_order)?;
                let value = if float.size() == 32 {
                    f64::from(f32::from_bits(bits as u32))
                } else {
                    f64::from_bits(bits)
                };
                out.push(Datum::Float(value));
            }
            Node::String => out.push(Datum::Text(self.cursor.read_string()?)),
            Node::Struct { leaves: Some(leaves), align, .. } => {
                self.cursor.align(*align)?;
                for leaf in leaves.list.iter() {
                    if let LeafKind::Variant(index) = leaf.kind {
                        self.flat_variant(&leaves.variants[index as usize], out)?;
                    } else {
                        self.leaf(leaf, out)?;
                    }
                }
            }
            Node::Struct { fields, align, leaves: None } => {
                self.cursor.align(*align)?;
                for field in fields {
                    self.decode(&field.node, out)?;
                }
            }
            Node::Array { element, length, text } => {
                self.elements(element, i128::from(*length), *text, out)?;
            }
            Node::Sequence { element, length, text, .. } => {
                let count = self.registers.get(*length as usize).copied().unwrap_or(0);
                self.cursor.align(element.align())?;
                self.fits(element, count)?;
                out.push(Datum::Length(count as u64));
                self.elements(element, count, *text, out)?;
            }
            Node::Variant { options, selector, choices, .. } => {
                let value = self.registers.get(*selector as usize).copied().unwrap_or(0);
                let chosen =
                    choices.iter().find(|(lo, hi, _)| *lo <= value && value <= *hi).map(|choice| choice.2);
                let Some(option) =
                    chosen.and_then(|option| options.get(option as usize).map(|field| (option, field)))
                else {
                    return Err(DecodeError::NoOption { at: self.cursor.position(), value });
                };
                out.push(Datum::Option(option.0));
                self.decode(&option.1.node, out)?;
            }
        }
        Ok(())
    }

    /// A variant read as leaves.
    fn flat_variant(&mut self, variant: &FlatVariant, out: &mut Vec<Datum<'a>>) -> Result<(), DecodeError> {
        let value = self.registers.get(variant.selector as usize).copied().unwrap_or(0);
        let chosen =
            variant.choices.iter().find(|(lo, hi, _)| *lo <= value && value <= *hi).map(|choice| choice.2);
        let Some((option, (align, leaves))) =
            chosen.and_then(|option| variant.options.get(option as usize).map(|leaves| (option, leaves)))
        else {
            return Err(DecodeError::NoOption { at: self.cursor.position(), value });
        };
        out.push(Datum::Option(option));
        self.cursor.align(*align)?;
        for leaf in leaves.iter() {
            self.leaf(leaf, out)?;
        }
        Ok(())
    }

    /// A struct's field that is a [`Leaf`]: the fast path of [`decode`](Self::decode).
    #[inline]
    fn leaf(&mut self, leaf: &Leaf, out: &mut Vec<Datum<'a>>) -> Result<(), DecodeError> {
        self.cursor.align(leaf.align)?;
        match leaf.kind {
            LeafKind::Integer => {
                let register = (leaf.register != u32::MAX).then_some(leaf.register);
                self.integer(leaf.size, leaf.signed, leaf.order, register, leaf.role, out)
            }
            LeafKind::Float => {
                let bits = self.cursor.read_unsigned(leaf.size, leaf.order)?;
                let value = if leaf.size == 32 {
                    f64::from(f32::from_bits(bits as u32))
                } else {
                    f64::from_bits(bits)
                };
                out.push(Datum::Float(value));
                Ok(())
            }
            LeafKind::String => {
                out.push(Datum::Text(self.cursor.read_string()?));
                Ok(())
            }
            LeafKind::Text(length) => {
                let bytes = self.cursor.read_bytes(length)?;
                let end = bytes.iter().position(|&byte| byte == 0).unwrap_or(bytes.len());
                out.push(Datum::Text(&bytes[..end]));
                Ok(())
            }
            // Only in a struct's leaves, where the struct reads it (`flat_variant`).
            LeafKind::Variant(_) => Ok(()),
        }
    }

    #[inline(always)]
    fn integer(
        &mut self,
        size: u32,
        signed: bool,
        order: crate::model::ByteOrder,
        register: Option<u32>,
        role: Option<Role>,
        out: &mut Vec<Datum<'a>>,
    ) -> Result<(), DecodeError> {
        let raw = self.cursor.read_unsigned(size, order)?;
        let value = if signed {
            let unused = 64 - size;
            let value = ((raw << unused) as i64) >> unused;
            out.push(Datum::Signed(value));
            i128::from(value)
        } else {
            out.push(Datum::Unsigned(raw));
            i128::from(raw)
        };
        if let Some(register) = register.and_then(|register| self.registers.get_mut(register as usize)) {
            *register = value;
        }
        if let Some(role) = role {
            self.specials.set(role, raw, size);
        }
        Ok(())
    }

    /// Whether `count` elements can fit in the bits left.
    fn fits(&self, element: &Node, count: i128) -> Result<(), DecodeError> {
        let element_bits = element.min_bits().max(1);
        let left = self.cursor.remaining();
        if count < 0 || count > i128::from(left / element_bits) {
            return Err(DecodeError::TooLong {
                at: self.cursor.position(),
                length: count,
                element_bits,
                left,
            });
        }
        Ok(())
    }

    fn elements(
        &mut self,
        element: &Node,
        count: i128,
        text: bool,
        out: &mut Vec<Datum<'a>>,
    ) -> Result<(), DecodeError> {
        self.cursor.align(element.align())?;
        self.fits(element, count)?;
        if text {
            let bytes = self.cursor.read_bytes(count as u64)?;
            let end = bytes.iter().position(|&byte| byte == 0).unwrap_or(bytes.len());
            out.push(Datum::Text(&bytes[..end]));
            return Ok(());
        }
        for _ in 0..count {
            self.decode(element, out)?;
        }
        Ok(())
    }
}

impl Drop for Decoder<'_> {
    fn drop(&mut self) {
        let file = std::mem::take(&mut self.registers);
        if file.capacity() > 0 {
            SPARE_REGISTERS.with(|spare| {
                let mut spare = spare.borrow_mut();
                // A few are enough: decoders live one packet (two with the replay).
                if spare.len() < 4 {
                    spare.push(file);
                }
            });
        }
    }
}

/// How many values `node` took at the start of `values` (0 when they end too soon).
pub fn datum_count(node: &Node, values: &[Datum<'_>]) -> usize {
    let mut at = 0;
    skip(node, values, &mut at);
    at.min(values.len())
}

fn skip(node: &Node, values: &[Datum<'_>], at: &mut usize) {
    match node {
        Node::Integer { .. } | Node::Enum { .. } | Node::Float(_) | Node::String => *at += 1,
        Node::Struct { fields, .. } => fields.iter().for_each(|field| skip(&field.node, values, at)),
        Node::Array { text: true, .. } => *at += 1,
        Node::Sequence { text, element, .. } => {
            let count = match values.get(*at) {
                Some(Datum::Length(count)) => *count,
                _ => return,
            };
            *at += 1;
            if *text {
                *at += 1;
            } else {
                for _ in 0..count {
                    if *at >= values.len() {
                        return;
                    }
                    skip(element, values, at);
                }
            }
        }
        Node::Array { element, length, .. } => {
            for _ in 0..*length {
                if *at >= values.len() {
                    return;
                }
                skip(element, values, at);
            }
        }
        Node::Variant { options, .. } => {
            let Some(Datum::Option(option)) = values.get(*at) else { return };
            *at += 1;
            if let Some(option) = options.get(*option as usize) {
                skip(&option.node, values, at);
            }
        }
    }
}
