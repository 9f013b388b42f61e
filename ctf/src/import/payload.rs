//! Decoded CTF values re-encoded as a tracemark payload (§6), following the same plan nodes
//! the values came from and the types [`super::layout`] mapped them to.

use tracemark_format::ByteOrder;

use super::layout::is_folded_length;
use crate::decode::Datum;
use crate::plan::{Node, PlannedField};

/// Appends the payload of the top-level fields of each scope, from that scope's values, to
/// `out`. `None` when the values do not follow the nodes (which the decoder rules out) or a
/// sequence is longer than a `u32` count holds.
pub fn encode(scopes: &[(&Node, &[Datum<'_>])], order: ByteOrder, out: &mut Vec<u8>) -> Option<()> {
    for (scope, values) in scopes {
        let Node::Struct { fields, .. } = scope else { continue };
        let mut at = 0;
        fields_of(fields, values, &mut at, order, out)?;
        if at != values.len() {
            return None;
        }
    }
    Some(())
}

fn value(
    node: &Node,
    values: &[Datum<'_>],
    at: &mut usize,
    order: ByteOrder,
    out: &mut Vec<u8>,
) -> Option<()> {
    match node {
        Node::Integer { ty, .. } => integer(ty.size, next(values, at)?, order, out)?,
        Node::Enum { ty, .. } => integer(ty.container.size, next(values, at)?, order, out)?,
        Node::Float(float) => match next(values, at)? {
            Datum::Float(value) if float.size() == 32 => {
                out.extend_from_slice(&order.u32_bytes((value as f32).to_bits()))
            }
            Datum::Float(value) => out.extend_from_slice(&order.u64_bytes(value.to_bits())),
            _ => return None,
        },
        Node::String | Node::Array { text: true, .. } => text(next(values, at)?, out)?,
        Node::Sequence { text: true, .. } => {
            let Datum::Length(_) = next(values, at)? else { return None };
            text(next(values, at)?, out)?;
        }
        Node::Array { element, length, .. } => {
            for _ in 0..*length {
                value(element, values, at, order, out)?;
            }
        }
        Node::Sequence { element, .. } => {
            let Datum::Length(count) = next(values, at)? else { return None };
            out.extend_from_slice(&order.u32_bytes(u32::try_from(count).ok()?));
            for _ in 0..count {
                value(element, values, at, order, out)?;
            }
        }
        Node::Struct { fields, .. } => fields_of(fields, values, at, order, out)?,
        Node::Variant { .. } => return None,
    }
    Some(())
}

/// A struct's fields; a length folded into its sequence (`layout::is_folded_length`) is
/// skipped: the sequence writes its count.
fn fields_of(
    fields: &[PlannedField],
    values: &[Datum<'_>],
    at: &mut usize,
    order: ByteOrder,
    out: &mut Vec<u8>,
) -> Option<()> {
    for (index, field) in fields.iter().enumerate() {
        if is_folded_length(fields, index) {
            next(values, at)?;
            continue;
        }
        value(&field.node, values, at, order, out)?;
    }
    Some(())
}

fn next<'a>(values: &[Datum<'a>], at: &mut usize) -> Option<Datum<'a>> {
    let value = values.get(*at).copied();
    *at += 1;
    value
}

/// An integer of `size` bits in the tracemark integer [`super::layout`] chose: 1, 2, 4 or 8
/// bytes.
fn integer(size: u32, value: Datum<'_>, order: ByteOrder, out: &mut Vec<u8>) -> Option<()> {
    let raw = match value {
        Datum::Unsigned(value) => value,
        Datum::Signed(value) => value as u64,
        _ => return None,
    };
    match size.div_ceil(8).next_power_of_two() {
        1 => out.push(raw as u8),
        2 => out.extend_from_slice(&order.u16_bytes(raw as u16)),
        4 => out.extend_from_slice(&order.u32_bytes(raw as u32)),
        _ => out.extend_from_slice(&order.u64_bytes(raw)),
    }
    Some(())
}

/// A string's bytes and its NUL (a text array's bytes stop at their first NUL already).
fn text(value: Datum<'_>, out: &mut Vec<u8>) -> Option<()> {
    let Datum::Text(bytes) = value else { return None };
    let end = bytes.iter().position(|&byte| byte == 0).unwrap_or(bytes.len());
    out.extend_from_slice(&bytes[..end]);
    out.push(0);
    Some(())
}
