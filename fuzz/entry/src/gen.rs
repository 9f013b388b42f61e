//! Structured inputs from fuzzer bytes: ABIs, event classes, values, timestamp steps.
//!
//! Every generator reads from an [`Unstructured`] and stays small whatever the bytes say:
//! types are at most [`MAX_DEPTH`] deep and at most [`MAX_LEAVES`] scalar values wide, and
//! sequences stop growing when a per-event value budget runs out. When the bytes run out,
//! `arbitrary` answers with the first choice of every decision (a scalar, a count of zero),
//! so generation always ends.

use arbitrary::{Result, Unstructured};
use tracemark_conformance::Val;
use tracemark_format::{
    types::{AbiInt, MAX_NESTING_DEPTH},
    Abi, ByteOrder, EnumMapping, Field, IntType, TypeDesc,
};

/// Deepest type nesting generated: the reader limit itself (§6.7), so the limit is exercised.
pub const MAX_DEPTH: usize = MAX_NESTING_DEPTH;
/// Most scalar values one instance of a generated type holds (arrays multiply).
pub const MAX_LEAVES: usize = 64;
/// Most scalar values generated for one event (sequences included).
pub const VALUE_BUDGET: usize = 256;

/// The ABI with every C type of size 1: a type's minimum size under it is its minimum under
/// any ABI (§6.7).
pub const SMALLEST_ABI: Abi =
    Abi { byte_order: ByteOrder::Little, short: 1, int: 1, long: 1, long_long: 1, pointer: 1, size_t: 1 };

/// Any valid ABI: either byte order, each C type 1, 2, 4 or 8 bytes, weighted towards the
/// real ones (LP64, ILP32).
pub fn abi(u: &mut Unstructured<'_>) -> Result<Abi> {
    let byte_order = if u.arbitrary()? { ByteOrder::Big } else { ByteOrder::Little };
    Ok(match u.int_in_range(0..=3u8)? {
        0 => Abi::lp64(byte_order),
        1 => Abi::ilp32(byte_order),
        2 => Abi { byte_order, ..Abi::HOST },
        _ => {
            let mut size = || -> Result<u8> { Ok(*u.choose(&[1u8, 2, 4, 8])?) };
            Abi {
                byte_order,
                short: size()?,
                int: size()?,
                long: size()?,
                long_long: size()?,
                pointer: size()?,
                size_t: size()?,
            }
        }
    })
}

/// Any integer type (§6.2, §6.3).
pub fn int_type(u: &mut Unstructured<'_>) -> Result<IntType> {
    const FIXED: [IntType; 8] = [
        IntType::U8,
        IntType::U16,
        IntType::U32,
        IntType::U64,
        IntType::I8,
        IntType::I16,
        IntType::I32,
        IntType::I64,
    ];
    let index = u.int_in_range(0..=FIXED.len() + AbiInt::ALL.len() - 1)?;
    Ok(match FIXED.get(index) {
        Some(int) => *int,
        None => IntType::Abi(AbiInt::ALL[index - FIXED.len()]),
    })
}

/// A short identifier, `[A-Za-z_][A-Za-z0-9_]*` (§7.2), unique within `taken`.
pub fn identifier(u: &mut Unstructured<'_>, taken: &[String]) -> Result<String> {
    const FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    const REST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";
    let mut name = String::from(*u.choose(FIRST)? as char);
    for _ in 0..u.int_in_range(0..=6u8)? {
        name.push(*u.choose(REST)? as char);
    }
    // A random name may itself look like `x_2`, so a suffix is not unique by construction:
    // try suffixes until one is free (at most `taken.len() + 1` tries).
    if taken.contains(&name) {
        let stem = name;
        name = (taken.len()..)
            .map(|n| format!("{stem}_{n}"))
            .find(|candidate| !taken.contains(candidate))
            .unwrap_or(stem);
    }
    Ok(name)
}

/// A non-empty name of any UTF-8 (event, stream class, clock names, §7.2), at most 24 bytes.
pub fn any_name(u: &mut Unstructured<'_>) -> Result<String> {
    let text: String = u.arbitrary()?;
    let mut name: String = text.chars().take(12).collect();
    if name.is_empty() {
        name.push_str("event");
    }
    Ok(name)
}

/// Bytes for a string value: no NUL (a NUL ends a string on the wire, §6.4), at most `max`.
pub fn string_bytes(u: &mut Unstructured<'_>, max: usize) -> Result<Vec<u8>> {
    let len = u.int_in_range(0..=max)?;
    let mut bytes = Vec::with_capacity(len);
    for _ in 0..len {
        let byte: u8 = u.arbitrary()?;
        bytes.push(byte.max(1));
    }
    Ok(bytes)
}

/// How many scalar values one instance of `ty` holds at least (sequences count as one).
pub fn leaves(ty: &TypeDesc) -> usize {
    match ty {
        TypeDesc::Array { len, element } => (*len as usize).saturating_mul(leaves(element)),
        TypeDesc::Struct(fields) => fields.iter().map(|field| leaves(&field.ty)).sum::<usize>().max(1),
        _ => 1,
    }
}

/// A type at nesting `depth`, holding at most `max_leaves` scalars per instance.
pub fn type_desc(u: &mut Unstructured<'_>, depth: usize, max_leaves: usize) -> Result<TypeDesc> {
    // Compound types add a level (§6.7); at the limit only scalars remain.
    let choices = if depth >= MAX_DEPTH { 7 } else { 11 };
    Ok(match u.int_in_range(0..=choices - 1)? {
        0 => TypeDesc::Int(int_type(u)?),
        1 => TypeDesc::Bool,
        2 => TypeDesc::F32,
        3 => TypeDesc::F64,
        4 => TypeDesc::String,
        5 => TypeDesc::Blob,
        6 => TypeDesc::Int(int_type(u)?),
        7 => {
            let element = element_type(u, depth + 1, max_leaves)?;
            let most = (max_leaves / leaves(&element).max(1)).min(4) as u32;
            TypeDesc::array(u.int_in_range(0..=most)?, element)
        }
        8 => TypeDesc::sequence(element_type(u, depth + 1, max_leaves)?),
        9 => {
            let repr = int_type(u)?;
            let mut mappings = Vec::new();
            for index in 0..u.int_in_range(0..=3u8)? {
                let (a, b): (u64, u64) = (u.arbitrary()?, u.arbitrary()?);
                let label = if u.arbitrary()? { any_name(u)? } else { format!("L{index}") };
                mappings.push(EnumMapping { label, lo: a.min(b), hi: a.max(b) });
            }
            TypeDesc::Enum { repr, mappings }
        }
        _ => TypeDesc::Struct(fields(u, depth + 1, max_leaves, 3)?),
    })
}

/// An array or sequence element: never a type of minimum size 0 nor holding one (§6.7), which a
/// writer refuses.
fn element_type(u: &mut Unstructured<'_>, depth: usize, max_leaves: usize) -> Result<TypeDesc> {
    let element = type_desc(u, depth, max_leaves)?;
    Ok(if element.has_empty_part(&SMALLEST_ABI) { TypeDesc::Int(IntType::U8) } else { element })
}

/// A field list of at most `most` fields with unique identifier names.
pub fn fields(u: &mut Unstructured<'_>, depth: usize, max_leaves: usize, most: u8) -> Result<Vec<Field>> {
    let mut fields: Vec<Field> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut budget = max_leaves;
    for _ in 0..u.int_in_range(0..=most)? {
        if budget == 0 {
            break;
        }
        let ty = type_desc(u, depth, budget)?;
        budget = budget.saturating_sub(leaves(&ty));
        let name = identifier(u, &names)?;
        names.push(name.clone());
        fields.push(Field::new(name, ty));
    }
    Ok(fields)
}

/// A value of type `ty`; sequences grow only while `budget` (scalars left) allows.
pub fn value(u: &mut Unstructured<'_>, ty: &TypeDesc, budget: &mut usize) -> Result<Val> {
    *budget = budget.saturating_sub(1);
    Ok(match ty {
        TypeDesc::Bool => Val::Bool(u.arbitrary()?),
        TypeDesc::Int(int) => int_value(u, *int)?,
        TypeDesc::Enum { repr, mappings } => {
            // Often a value inside a mapping, so labels are exercised.
            match (u.arbitrary::<bool>()?, mappings.first()) {
                (true, Some(mapping)) if repr.is_signed() => Val::I(mapping.lo as i64),
                (true, Some(mapping)) => Val::U(mapping.hi),
                _ => int_value(u, *repr)?,
            }
        }
        TypeDesc::F32 => Val::F32(f32::from_bits(u.arbitrary()?)),
        TypeDesc::F64 => Val::F64(f64::from_bits(u.arbitrary()?)),
        TypeDesc::String => Val::Str(string_bytes(u, 24)?),
        TypeDesc::Blob => {
            // `bytes` fails when fewer remain: take what is left instead.
            let len = u.int_in_range(0..=32usize)?.min(u.len());
            Val::Blob(u.bytes(len)?.to_vec())
        }
        TypeDesc::Array { len, element } => {
            Val::List((0..*len).map(|_| value(u, element, budget)).collect::<Result<_>>()?)
        }
        TypeDesc::Sequence { element } => {
            let mut values = Vec::new();
            for _ in 0..u.int_in_range(0..=4u8)? {
                if *budget < leaves(element) {
                    break;
                }
                values.push(value(u, element, budget)?);
            }
            Val::List(values)
        }
        TypeDesc::Struct(fields) => {
            Val::Struct(fields.iter().map(|field| value(u, &field.ty, budget)).collect::<Result<_>>()?)
        }
    })
}

/// An integer of type `int`: any 64-bit pattern (the writer truncates it to the type's size
/// as a C cast does, §6.3), often an edge value.
pub fn int_value(u: &mut Unstructured<'_>, int: IntType) -> Result<Val> {
    let bits: u64 = match u.int_in_range(0..=3u8)? {
        0 => u.arbitrary()?,
        1 => 0,
        2 => u64::MAX,
        _ => 1u64 << u.int_in_range(0..=63u32)?,
    };
    Ok(if int.is_signed() { Val::I(bits as i64) } else { Val::U(bits) })
}

/// A step between two timestamps: usually small, sometimes at the edges of the compact
/// header's 48-bit window (§5.4) or of the 32-bit lower bound writers may compare with.
pub fn timestamp_step(u: &mut Unstructured<'_>) -> Result<u64> {
    // The compact forms' windows (§5.1): the wide word's 2^48, the narrow word's 2^24.
    const WINDOW: u64 = 1 << 48;
    const NARROW_WINDOW: u64 = 1 << 24;
    Ok(match u.int_in_range(0..=11u8)? {
        0..=4 => u.int_in_range(0..=1000u64)?,
        5 => WINDOW - 1,
        6 => WINDOW,
        7 => WINDOW - (1 << 32) + u.int_in_range(0..=(1u64 << 33))?,
        8 => u.int_in_range(0..=(1u64 << 40))?,
        9 => NARROW_WINDOW - 1,
        10 => NARROW_WINDOW,
        _ => u.arbitrary()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_types_respect_the_limits_and_never_have_empty_elements() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..500 {
            let bytes: Vec<u8> = (0..512)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let mut u = Unstructured::new(&bytes);
            let fields = fields(&mut u, 0, MAX_LEAVES, 4).unwrap();
            for field in &fields {
                assert!(field.ty.depth() <= MAX_DEPTH);
                assert!(leaves(&field.ty) <= MAX_LEAVES, "{field:?}");
                check_elements(&field.ty);
            }
        }
    }

    fn check_elements(ty: &TypeDesc) {
        match ty {
            TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => {
                assert!(!element.has_empty_part(&SMALLEST_ABI));
                check_elements(element);
            }
            TypeDesc::Struct(fields) => fields.iter().for_each(|field| check_elements(&field.ty)),
            _ => {}
        }
    }

    #[test]
    fn exhausted_input_still_ends_generation() {
        let mut u = Unstructured::new(&[]);
        assert!(fields(&mut u, 0, MAX_LEAVES, 4).unwrap().is_empty());
        let mut budget = VALUE_BUDGET;
        let ty = TypeDesc::sequence(TypeDesc::String);
        assert_eq!(value(&mut u, &ty, &mut budget).unwrap(), Val::List(vec![]));
    }
}
