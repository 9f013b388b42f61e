//! Payload encoding of scenario values (§6), through the writer's [`PayloadWriter`].

use tracemark_format::{Abi, Field, TypeDesc};
use tracemark_writer::PayloadWriter;

use crate::Val;

/// Why a value does not fit its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

fn mismatch(ty: &TypeDesc, value: &Val) -> Mismatch {
    Mismatch(format!("value {value:?} does not fit type {ty:?}"))
}

/// Encoded size of a payload: `values` as `fields` under `abi`.
pub fn fields_size(fields: &[Field], values: &[Val], abi: &Abi) -> Result<usize, Mismatch> {
    fields.iter().zip(values).map(|(field, value)| size(&field.ty, value, abi)).sum()
}

/// Writes a payload: `values` as `fields`, in order.
pub fn write_fields(fields: &[Field], values: &[Val], out: &mut PayloadWriter<'_>) {
    for (field, value) in fields.iter().zip(values) {
        write(&field.ty, value, out);
    }
}

/// Encoded size of `value` as `ty` under `abi`.
pub fn size(ty: &TypeDesc, value: &Val, abi: &Abi) -> Result<usize, Mismatch> {
    Ok(match (ty, value) {
        (TypeDesc::Bool, Val::Bool(_)) => 1,
        (TypeDesc::Int(int) | TypeDesc::Enum { repr: int, .. }, Val::U(_) | Val::I(_)) => {
            int.size(abi) as usize
        }
        (TypeDesc::F32, Val::F32(_)) => 4,
        (TypeDesc::F64, Val::F64(_)) => 8,
        (TypeDesc::String, Val::Str(bytes)) => bytes.len() + 1,
        (TypeDesc::Blob, Val::Blob(bytes)) => 4 + bytes.len(),
        (TypeDesc::Array { len, element }, Val::List(values)) if values.len() == *len as usize => {
            sum(values.iter().map(|value| size(element, value, abi)))?
        }
        (TypeDesc::Sequence { element }, Val::List(values)) => {
            4 + sum(values.iter().map(|value| size(element, value, abi)))?
        }
        (TypeDesc::Struct(fields), Val::Struct(values)) if values.len() == fields.len() => {
            sum(fields.iter().zip(values).map(|(field, value)| size(&field.ty, value, abi)))?
        }
        _ => return Err(mismatch(ty, value)),
    })
}

fn sum(sizes: impl Iterator<Item = Result<usize, Mismatch>>) -> Result<usize, Mismatch> {
    sizes.sum()
}

/// Writes `value` as `ty`. Call [`size`] first: it validates the shapes this trusts.
pub fn write(ty: &TypeDesc, value: &Val, out: &mut PayloadWriter<'_>) {
    let abi = *out.abi();
    match (ty, value) {
        (TypeDesc::Bool, Val::Bool(flag)) => out.write_u8(u8::from(*flag)),
        (TypeDesc::Int(int) | TypeDesc::Enum { repr: int, .. }, Val::U(bits)) => {
            out.write_sized(*bits, int.size(&abi))
        }
        (TypeDesc::Int(int) | TypeDesc::Enum { repr: int, .. }, Val::I(number)) => {
            out.write_sized(*number as u64, int.size(&abi))
        }
        (TypeDesc::F32, Val::F32(number)) => out.write_u32(number.to_bits()),
        (TypeDesc::F64, Val::F64(number)) => out.write_u64(number.to_bits()),
        (TypeDesc::String, Val::Str(bytes)) => out.write_c_string(bytes),
        (TypeDesc::Blob, Val::Blob(bytes)) => out.write_blob(bytes),
        (TypeDesc::Array { element, .. }, Val::List(values)) => {
            values.iter().for_each(|value| write(element, value, out))
        }
        (TypeDesc::Sequence { element }, Val::List(values)) => {
            out.write_u32(values.len() as u32);
            values.iter().for_each(|value| write(element, value, out));
        }
        (TypeDesc::Struct(fields), Val::Struct(values)) => {
            fields.iter().zip(values).for_each(|(field, value)| write(&field.ty, value, out))
        }
        // Shapes were validated by `size`; a mismatch here writes nothing, so the writer
        // reports a payload size error rather than a corrupt record.
        _ => {}
    }
}
