//! CTF field types as tracemark field types (spec Appendix C.8), and what the mapping loses.

use tracemark_format::{EnumMapping, Field, IntType, TypeDesc};

use crate::model::{display_name, Base, IntegerType};
use crate::plan::{Node, PlannedField};

/// Something a mapping does not keep, said once per event class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Loss {
    /// An integer's display base (tracemark field layouts carry none).
    DisplayBase,
    /// An integer narrower than its tracemark type, or not byte aligned: widened, value kept.
    Widened,
    /// An integer mapped to a clock inside a payload: a plain integer now.
    ClockMapping,
    /// Bytes meant as text: a string now, the bytes after its first NUL dropped.
    TextArray,
    /// A field renamed so its struct's names stay unique once leading underscores are dropped.
    Renamed,
}

impl Loss {
    /// What it means, for a report.
    pub fn describe(&self) -> &'static str {
        match self {
            Loss::DisplayBase => "integer display base (hexadecimal, octal, binary) not kept",
            Loss::Widened => {
                "bit-field or odd-sized integer widened to the next tracemark integer (value kept)"
            }
            Loss::ClockMapping => "payload integer mapped to a clock imported as a plain integer",
            Loss::TextArray => {
                "byte array meant as text imported as a string (bytes after its first NUL dropped)"
            }
            Loss::Renamed => "field renamed to keep its struct's names unique",
        }
    }
}

/// The tracemark fields of an event: the top-level fields of its `contexts` (the stream's
/// event context, the event's context), then of its `payload`, each named without its one
/// leading underscore; a context field whose name another field of the event has is named
/// `context_NAME` (LTTng's `tid` context beside `sched_wakeup`'s own `tid`). With what the
/// mapping loses; or why the fields cannot be mapped at all.
pub fn map_scopes(
    contexts: &[&Node],
    payload: Option<&Node>,
    losses: &mut Vec<Loss>,
) -> Result<Vec<Field>, String> {
    let context_members: Vec<&PlannedField> = contexts.iter().copied().flat_map(top_level).collect();
    let payload_members: Vec<&PlannedField> = payload.into_iter().flat_map(top_level).collect();
    let mut fields = map_fields(&payload_members, losses)?;
    let mut taken: Vec<String> = fields.iter().map(|field| field.name.clone()).collect();
    let mut context_fields = Vec::with_capacity(context_members.len());
    for (index, member) in context_members.iter().enumerate() {
        let shown = display_name(&member.name);
        let clashes = |name: &str| {
            taken.iter().any(|taken| taken == name)
                || context_members
                    .iter()
                    .enumerate()
                    .any(|(other, field)| other != index && display_name(&field.name) == name)
        };
        let mut name = shown.to_owned();
        if clashes(&name) {
            name = format!("context_{shown}");
            if clashes(&name) {
                name = format!("context_{shown}_{index}");
            }
            losses.push(Loss::Renamed);
        }
        let ty =
            map_type(&member.node, losses).map_err(|reason| format!("field `{}`: {reason}", member.name))?;
        taken.push(name.clone());
        context_fields.push(Field::new(name, ty));
    }
    context_fields.append(&mut fields);
    Ok(context_fields)
}

/// Whether field `index` of `fields` is the length of the sequence right after it: an unsigned
/// integer the sequence names. The tracemark sequence carries its count itself, so the length
/// field is folded into it (its value is the count; nothing is lost), as a native sequence is
/// declared.
pub fn is_folded_length(fields: &[PlannedField], index: usize) -> bool {
    let Some(PlannedField { name, node: Node::Integer { ty, .. } }) = fields.get(index) else { return false };
    !ty.signed
        && matches!(fields.get(index + 1), Some(PlannedField { node: Node::Sequence { length_field, .. }, .. })
            if length_field.len() == 1 && &length_field[0] == name)
}

/// The top-level fields of a scope that become tracemark fields.
fn top_level(scope: &Node) -> Vec<&PlannedField> {
    match scope {
        Node::Struct { fields, .. } => kept(fields).collect(),
        _ => Vec::new(),
    }
}

/// The fields of a struct that become tracemark fields: all but folded lengths.
fn kept(fields: &[PlannedField]) -> impl Iterator<Item = &PlannedField> {
    fields.iter().enumerate().filter(|(index, _)| !is_folded_length(fields, *index)).map(|(_, field)| field)
}

fn map_fields(members: &[&PlannedField], losses: &mut Vec<Loss>) -> Result<Vec<Field>, String> {
    let mut fields = Vec::with_capacity(members.len());
    let stripped: Vec<&str> = members.iter().map(|field| display_name(&field.name)).collect();
    for (index, member) in members.iter().enumerate() {
        let mut name = stripped[index].to_owned();
        let clashes = stripped.iter().filter(|other| **other == name).count() > 1;
        if clashes {
            name = member.name.clone();
            if members.iter().filter(|other| other.name == name).count() > 1 {
                name = format!("{}_{index}", member.name);
            }
            losses.push(Loss::Renamed);
        }
        let ty =
            map_type(&member.node, losses).map_err(|reason| format!("field `{}`: {reason}", member.name))?;
        fields.push(Field::new(name, ty));
    }
    Ok(fields)
}

fn map_type(node: &Node, losses: &mut Vec<Loss>) -> Result<TypeDesc, String> {
    Ok(match node {
        Node::Integer { ty, .. } => TypeDesc::Int(map_integer(ty, losses)),
        Node::Enum { ty, .. } => {
            let repr = map_integer(&ty.container, losses);
            let mappings = ty
                .mappings
                .iter()
                .map(|mapping| EnumMapping {
                    label: mapping.label.clone(),
                    lo: bits(mapping.lo),
                    hi: bits(mapping.hi),
                })
                .collect();
            TypeDesc::Enum { repr, mappings }
        }
        Node::Float(float) if float.size() == 32 => TypeDesc::F32,
        Node::Float(_) => TypeDesc::F64,
        Node::String => TypeDesc::String,
        Node::Array { text: true, .. } | Node::Sequence { text: true, .. } => {
            losses.push(Loss::TextArray);
            TypeDesc::String
        }
        Node::Array { element, length, .. } => {
            let len = u32::try_from(*length)
                .map_err(|_| format!("an array of {length} elements (at most 2^32 - 1)"))?;
            TypeDesc::array(len, map_type(element, losses)?)
        }
        Node::Sequence { element, .. } => TypeDesc::sequence(map_type(element, losses)?),
        Node::Struct { fields, .. } => {
            let members: Vec<&PlannedField> = kept(fields).collect();
            TypeDesc::Struct(map_fields(&members, losses)?)
        }
        Node::Variant { .. } => return Err("a variant (tracemark has no variant type)".into()),
    })
}

/// The smallest tracemark integer holding every value of `int`.
fn map_integer(int: &IntegerType, losses: &mut Vec<Loss>) -> IntType {
    let bytes = int.size.div_ceil(8).next_power_of_two();
    if int.size != bytes * 8 || !int.align.is_multiple_of(8) {
        losses.push(Loss::Widened);
    }
    if int.base != Base::Decimal {
        losses.push(Loss::DisplayBase);
    }
    if int.clock.is_some() {
        losses.push(Loss::ClockMapping);
    }
    match (bytes, int.signed) {
        (1, false) => IntType::U8,
        (2, false) => IntType::U16,
        (4, false) => IntType::U32,
        (_, false) => IntType::U64,
        (1, true) => IntType::I8,
        (2, true) => IntType::I16,
        (4, true) => IntType::I32,
        (_, true) => IntType::I64,
    }
}

/// An enumeration bound as the bit pattern of the value (§6.6): negative bounds two's
/// complement, bounds past 64 bits saturated.
fn bits(value: i128) -> u64 {
    if value < 0 {
        i64::try_from(value).unwrap_or(i64::MIN) as u64
    } else {
        u64::try_from(value).unwrap_or(u64::MAX)
    }
}
