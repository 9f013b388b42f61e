//! Run-time markers (§8): arguments, their check against the format string, and the
//! per-stream cache from format string to compiled marker.

use alloc::{collections::BTreeMap, string::String, vec::Vec};

use tracemark_format::{
    marker::{parse, DisplayHint},
    AbiInt, IntType, TypeDesc,
};

use crate::{payload::PayloadWriter, Abi, Error, RawHandle, Result};

/// One marker argument. Its kind must match the conversion (§8.2); integers are truncated to
/// the conversion's size like the C cast (`%hhd` of 300 writes 44).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarkerArg<'a> {
    /// For signed conversions: `%d %i` with any length modifier.
    Int(i64),
    /// For unsigned conversions: `%u %x %X %o` with any length modifier (and `%p`).
    UInt(u64),
    /// For `%c`.
    Char(u8),
    /// For `%p`.
    Pointer(u64),
    /// For `%f %e %g`.
    Float(f64),
    /// For `%s`; truncated at an interior NUL like every string (§6.4).
    Str(&'a str),
}

impl MarkerArg<'_> {
    fn kind_name(&self) -> &'static str {
        match self {
            MarkerArg::Int(_) => "a signed integer (MarkerArg::Int)",
            MarkerArg::UInt(_) => "an unsigned integer (MarkerArg::UInt)",
            MarkerArg::Char(_) => "a character (MarkerArg::Char)",
            MarkerArg::Pointer(_) => "a pointer (MarkerArg::Pointer)",
            MarkerArg::Float(_) => "a float (MarkerArg::Float)",
            MarkerArg::Str(_) => "a string (MarkerArg::Str)",
        }
    }
}

macro_rules! marker_from {
    ($($variant:ident($wide:ty) <= $($ty:ty),*;)*) => {$($(
        impl From<$ty> for MarkerArg<'_> {
            fn from(value: $ty) -> Self {
                MarkerArg::$variant(value as $wide)
            }
        }
    )*)*};
}

marker_from! {
    Int(i64) <= i8, i16, i32, i64, isize;
    UInt(u64) <= u16, u32, u64, usize;
    Float(f64) <= f32, f64;
}

impl From<u8> for MarkerArg<'_> {
    /// A `u8` is a `%c` argument.
    fn from(value: u8) -> Self {
        MarkerArg::Char(value)
    }
}

impl<'a> From<&'a str> for MarkerArg<'a> {
    fn from(value: &'a str) -> Self {
        MarkerArg::Str(value)
    }
}

/// How one argument is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Signed(u8),
    Unsigned(u8),
    Char,
    Pointer(u8),
    Float,
    Str,
}

impl Slot {
    fn expected(self) -> &'static str {
        match self {
            Slot::Signed(_) => "a signed integer (MarkerArg::Int)",
            Slot::Unsigned(_) => "an unsigned integer (MarkerArg::UInt)",
            Slot::Char => "a character (MarkerArg::Char)",
            Slot::Pointer(_) => "a pointer (MarkerArg::Pointer or UInt)",
            Slot::Float => "a float (MarkerArg::Float)",
            Slot::Str => "a string (MarkerArg::Str)",
        }
    }

    /// The encoded size of `arg` in this slot, or `None` when its kind does not match.
    #[inline]
    fn size(self, arg: &MarkerArg<'_>) -> Option<usize> {
        Some(match (self, arg) {
            (Slot::Signed(size), MarkerArg::Int(_))
            | (Slot::Unsigned(size), MarkerArg::UInt(_))
            | (Slot::Pointer(size), MarkerArg::Pointer(_) | MarkerArg::UInt(_)) => size as usize,
            (Slot::Char, MarkerArg::Char(_)) => 1,
            (Slot::Float, MarkerArg::Float(_)) => 8,
            (Slot::Str, MarkerArg::Str(text)) => crate::payload::c_string_size(text.as_bytes()),
            _ => return None,
        })
    }

    #[inline]
    fn encode(self, arg: &MarkerArg<'_>, out: &mut PayloadWriter<'_>) {
        match (self, *arg) {
            (Slot::Signed(size), MarkerArg::Int(value)) => out.write_sized(value as u64, size),
            (
                Slot::Unsigned(size) | Slot::Pointer(size),
                MarkerArg::UInt(value) | MarkerArg::Pointer(value),
            ) => out.write_sized(value, size),
            (Slot::Char, MarkerArg::Char(value)) => out.write_u8(value),
            (Slot::Float, MarkerArg::Float(value)) => out.write_u64(value.to_bits()),
            (Slot::Str, MarkerArg::Str(text)) => out.write_c_string(text.as_bytes()),
            // Checked by `size` before anything is reserved.
            _ => {}
        }
    }
}

/// A marker class as one stream writes it: its handle and argument slots under the trace ABI.
#[derive(Debug)]
pub(crate) struct CompiledMarker {
    handle: RawHandle,
    slots: Vec<(String, Slot)>,
}

impl CompiledMarker {
    fn compile(format: &str, handle: RawHandle, abi: &Abi) -> Result<CompiledMarker> {
        let mut slots = Vec::new();
        for arg in parse(format)? {
            let slot = match arg.field.ty {
                TypeDesc::Int(IntType::U8) if arg.hint == DisplayHint::Char => Slot::Char,
                TypeDesc::Int(IntType::Abi(AbiInt::Pointer)) => Slot::Pointer(AbiInt::Pointer.size(abi)),
                TypeDesc::Int(int) if int.is_signed() => Slot::Signed(int.size(abi)),
                TypeDesc::Int(int) => Slot::Unsigned(int.size(abi)),
                TypeDesc::F64 => Slot::Float,
                _ => Slot::Str,
            };
            slots.push((arg.field.name, slot));
        }
        Ok(CompiledMarker { handle, slots })
    }

    pub(crate) fn handle(&self) -> RawHandle {
        self.handle
    }

    /// Checks `args` against the format and returns the payload size.
    #[inline]
    pub(crate) fn payload_size(&self, format: &str, args: &[MarkerArg<'_>]) -> Result<usize> {
        if args.len() != self.slots.len() {
            return Err(Error::MarkerArity {
                format: format.into(),
                expected: self.slots.len(),
                found: args.len(),
            });
        }
        let mut total = 0usize;
        for (index, ((name, slot), arg)) in self.slots.iter().zip(args).enumerate() {
            match slot.size(arg) {
                Some(size) => total = total.saturating_add(size),
                None => {
                    return Err(Error::MarkerArgType {
                        index,
                        field: name.clone(),
                        expected: slot.expected(),
                        found: arg.kind_name(),
                    })
                }
            }
        }
        Ok(total)
    }

    /// Writes `args`, already checked by [`CompiledMarker::payload_size`].
    #[inline]
    pub(crate) fn encode(&self, args: &[MarkerArg<'_>], out: &mut PayloadWriter<'_>) {
        for ((_, slot), arg) in self.slots.iter().zip(args) {
            slot.encode(arg, out);
        }
    }
}

/// A stream's map from format string (then marker name) to compiled marker. A hit costs one
/// map lookup and no allocation; a miss registers the class through the output once.
#[derive(Debug, Default)]
pub(crate) struct MarkerCache {
    by_format: BTreeMap<String, Vec<(String, CompiledMarker)>>,
}

impl MarkerCache {
    #[inline]
    pub(crate) fn get(&self, name: &str, format: &str) -> Option<&CompiledMarker> {
        let entries = self.by_format.get(format)?;
        entries.iter().find(|(known, _)| known == name).map(|(_, marker)| marker)
    }

    pub(crate) fn insert(
        &mut self,
        name: &str,
        format: &str,
        handle: RawHandle,
        abi: &Abi,
    ) -> Result<&CompiledMarker> {
        let compiled = CompiledMarker::compile(format, handle, abi)?;
        let entries = self.by_format.entry(format.into()).or_default();
        entries.push((name.into(), compiled));
        Ok(&entries.last().expect("just pushed").1)
    }
}
