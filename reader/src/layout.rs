//! The fast path of payload decoding: each event class's fields flattened, at load, into a
//! short program that finds where a record ends and where each field starts, without building
//! any value.
//!
//! A payload is cut into *segments*: segment 0 starts at the payload, and every field whose
//! size depends on the data (a string, a blob, a sequence, …) ends one, the next starting just
//! after it. Every field then lies at a fixed offset from the start of its segment, known at
//! load. Walking a record ([`PayloadLayout::walk`]) checks it — bounds, `bool` bytes, string
//! terminators, counts against the bytes left (§6.7) — and notes where the first
//! [`STORED_SEGMENTS`] segments start, so that a field is then read with one addition: the
//! `sched_switch` record `prev_comm` (string), `prev_tid` … `next_comm` (string), `next_tid`,
//! `next_prio` has three segments, and `next_prio` is at offset 4 of the third.
//!
//! The walk accepts exactly the records the value decoder ([`crate::decode`]) accepts and ends
//! where it ends (a property test checks it), so the value decoder only runs for fields that
//! are asked for, and to explain a record that the walk rejects.

use tracemark_format::ByteOrder;

use crate::{
    decode::{find_nul, skip_node, Cursor, Node, Plan},
    endian::{order_of, with_endian, Endian},
};

/// How many segment starts (after the first, which is always 0) a record carries; fields in
/// later segments are found by walking again.
pub(crate) const STORED_SEGMENTS: usize = 4;

/// At most this many `bool` bytes are checked from a flat list per run of fixed-size fields;
/// a fixed-size field holding more is walked by the value decoder instead.
const MAX_FLAT_BOOLS: usize = 256;

/// Where the segments after the first start, relative to the payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Segments([u32; STORED_SEGMENTS]);

impl Segments {
    /// The start of segment `segment`, when stored.
    #[inline(always)]
    pub(crate) fn start(&self, segment: usize) -> Option<usize> {
        match segment.checked_sub(1) {
            None => Some(0),
            Some(index) => self.0.get(index).map(|&start| start as usize),
        }
    }

    #[inline(always)]
    fn set(&mut self, segment: usize, start: usize) {
        if let Some(slot) = segment.checked_sub(1).and_then(|index| self.0.get_mut(index)) {
            // Payloads lie inside a packet, whose size is a `u32` (§4.1).
            *slot = u32::try_from(start).unwrap_or(u32::MAX);
        }
    }
}

/// One instruction of a layout program.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A run of fixed-size fields, `len` bytes, with `bool` bytes at these offsets of the run.
    Fixed { len: usize, bools: Box<[usize]> },
    /// A string: up to and including its NUL.
    Str,
    /// A `u32` length, then that many bytes.
    Blob,
    /// A `u32` count, then that many elements of `element_size` bytes that any bytes encode
    /// (no `bool` inside).
    FixedSequence { element_size: usize },
    /// Field `field` of the plan, walked by the value decoder; it ends a segment unless it has
    /// a fixed size.
    Walk { field: usize, ends_segment: bool },
}

/// Where a top-level field starts: an offset in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location {
    /// The segment.
    pub(crate) segment: usize,
    /// Bytes from the segment's start.
    pub(crate) offset: usize,
}

/// An event class's payload, compiled for the fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PayloadLayout {
    steps: Vec<Step>,
    locations: Vec<Location>,
    /// The payload size when it is fixed and needs no `bool` check: walking is one comparison.
    plain_fixed: Option<usize>,
}

/// The encoded size of `node` when it does not depend on the data.
pub(crate) fn fixed_size(node: &Node) -> Option<usize> {
    match node {
        Node::Bool => Some(1),
        Node::Int(shape) | Node::Enum { int: shape, .. } => Some(shape.size as usize),
        Node::F32 => Some(4),
        Node::F64 => Some(8),
        Node::Str | Node::Blob | Node::Sequence { .. } => None,
        Node::Array { len, element, .. } => fixed_size(element)?.checked_mul(*len as usize),
        Node::Struct(fields) => {
            fields.iter().try_fold(0usize, |sum, (_, node)| sum.checked_add(fixed_size(node)?))
        }
    }
}

/// Appends the offsets of the `bool` bytes of a fixed-size `node` placed at `base`; `None`
/// when there are more than [`MAX_FLAT_BOOLS`] in all.
fn flat_bools(node: &Node, base: usize, out: &mut Vec<usize>) -> Option<()> {
    match node {
        Node::Bool => {
            if out.len() >= MAX_FLAT_BOOLS {
                return None;
            }
            out.push(base);
        }
        Node::Array { len, element, .. } => {
            let size = fixed_size(element)?;
            if has_bool(element) {
                for index in 0..*len as usize {
                    flat_bools(element, base.checked_add(index.checked_mul(size)?)?, out)?;
                }
            }
        }
        Node::Struct(fields) => {
            let mut at = base;
            for (_, field) in fields {
                flat_bools(field, at, out)?;
                at = at.checked_add(fixed_size(field)?)?;
            }
        }
        _ => {}
    }
    Some(())
}

fn has_bool(node: &Node) -> bool {
    match node {
        Node::Bool => true,
        Node::Array { element, .. } | Node::Sequence { element, .. } => has_bool(element),
        Node::Struct(fields) => fields.iter().any(|(_, node)| has_bool(node)),
        _ => false,
    }
}

impl PayloadLayout {
    /// Compiles a plan's fields.
    pub(crate) fn compile(plan: &Plan) -> PayloadLayout {
        let mut steps = Vec::new();
        let mut locations = Vec::with_capacity(plan.fields.len());
        let mut segment = 0usize;
        let mut offset = 0usize;
        // The run of fixed-size fields being gathered.
        let mut run_len = 0usize;
        let mut run_bools = Vec::new();
        let flush = |steps: &mut Vec<Step>, run_len: &mut usize, run_bools: &mut Vec<usize>| {
            if *run_len > 0 {
                steps
                    .push(Step::Fixed { len: *run_len, bools: std::mem::take(run_bools).into_boxed_slice() });
                *run_len = 0;
            }
        };
        for (index, (_, node)) in plan.fields.iter().enumerate() {
            locations.push(Location { segment, offset });
            let size = fixed_size(node);
            if let Some(size) = size {
                let mut bools = Vec::new();
                let flat = run_len.checked_add(size).is_some()
                    && flat_bools(node, run_len, &mut bools).is_some()
                    && run_bools.len().saturating_add(bools.len()) <= MAX_FLAT_BOOLS;
                if flat {
                    run_bools.extend(bools);
                    run_len += size;
                    offset = offset.saturating_add(size);
                    continue;
                }
            }
            flush(&mut steps, &mut run_len, &mut run_bools);
            let step = match (node, size) {
                (_, Some(size)) => {
                    offset = offset.saturating_add(size);
                    Step::Walk { field: index, ends_segment: false }
                }
                (Node::Str, None) => Step::Str,
                (Node::Blob, None) => Step::Blob,
                (Node::Sequence { element, .. }, None)
                    if !has_bool(element) && fixed_size(element).is_some() =>
                {
                    Step::FixedSequence { element_size: fixed_size(element).unwrap_or(1) }
                }
                (_, None) => Step::Walk { field: index, ends_segment: true },
            };
            if size.is_none() {
                segment += 1;
                offset = 0;
            }
            steps.push(step);
        }
        flush(&mut steps, &mut run_len, &mut run_bools);
        let plain_fixed = match steps.as_slice() {
            [] => Some(0),
            [Step::Fixed { len, bools }] if bools.is_empty() => Some(*len),
            _ => None,
        };
        PayloadLayout { steps, locations, plain_fixed }
    }

    /// Where top-level field `index` starts, given the record's stored segments; `None` when
    /// its segment is not stored (see [`PayloadLayout::field_start`]).
    #[inline(always)]
    pub(crate) fn stored_field_start(&self, index: usize, segments: &Segments) -> Option<usize> {
        let location = self.locations.get(index)?;
        segments.start(location.segment)?.checked_add(location.offset)
    }

    /// Where top-level field `index` starts in a payload that [`PayloadLayout::walk`] accepted.
    pub(crate) fn field_start(
        &self,
        index: usize,
        segments: &Segments,
        plan: &Plan,
        payload: &[u8],
        order: ByteOrder,
    ) -> Option<usize> {
        if let Some(start) = self.stored_field_start(index, segments) {
            return Some(start);
        }
        let location = self.locations.get(index)?;
        let mut found = None;
        let record = |segment, start| {
            if segment == location.segment {
                found = Some(start);
            }
        };
        with_endian!(order, |E| self.walk_with::<E>(plan, payload, record))?;
        found?.checked_add(location.offset)
    }

    /// The payload size, when every payload of the class has it and needs no check.
    pub(crate) fn plain_fixed(&self) -> Option<usize> {
        self.plain_fixed
    }

    /// The location of each top-level field.
    pub(crate) fn locations(&self) -> &[Location] {
        &self.locations
    }

    /// Walks the payload at the start of `payload` (the rest of the packet content): its
    /// length and its stored segment starts, or `None` when the value decoder would reject it.
    #[inline(always)]
    pub(crate) fn walk<E: Endian>(&self, plan: &Plan, payload: &[u8]) -> Option<(usize, Segments)> {
        if let Some(len) = self.plain_fixed {
            return (len <= payload.len()).then_some((len, Segments::default()));
        }
        let mut segments = Segments::default();
        let end = self.walk_with::<E>(plan, payload, |segment, start| segments.set(segment, start))?;
        Some((end, segments))
    }

    /// [`PayloadLayout::walk`] with the byte order chosen at run time.
    #[cfg(test)]
    pub(crate) fn walk_in(&self, plan: &Plan, payload: &[u8], order: ByteOrder) -> Option<(usize, Segments)> {
        with_endian!(order, |E| self.walk::<E>(plan, payload))
    }

    /// Runs the program, calling `segment_starts(k, start)` as each segment `k >= 1` begins.
    #[inline(always)]
    fn walk_with<E: Endian>(
        &self,
        plan: &Plan,
        payload: &[u8],
        mut segment_starts: impl FnMut(usize, usize),
    ) -> Option<usize> {
        let mut at = 0usize;
        let mut segment = 0usize;
        for step in &self.steps {
            let ends_segment = match step {
                Step::Fixed { len, bools } => {
                    let end = at.checked_add(*len)?;
                    let run = payload.get(at..end)?;
                    for &offset in bools.iter() {
                        if *run.get(offset)? > 1 {
                            return None;
                        }
                    }
                    at = end;
                    false
                }
                Step::Str => {
                    let len = find_nul(payload.get(at..)?)?;
                    at = at.checked_add(len)?.checked_add(1)?;
                    true
                }
                Step::Blob => {
                    let len = E::u32(*payload.get(at..)?.first_chunk::<4>()?);
                    at = at.checked_add(4)?.checked_add(len as usize)?;
                    if at > payload.len() {
                        return None;
                    }
                    true
                }
                Step::FixedSequence { element_size } => {
                    let count = E::u32(*payload.get(at..)?.first_chunk::<4>()?);
                    let len = (count as usize).checked_mul(*element_size)?;
                    at = at.checked_add(4)?.checked_add(len)?;
                    if at > payload.len() {
                        return None;
                    }
                    true
                }
                Step::Walk { field, ends_segment } => {
                    let (_, node) = plan.fields.get(*field)?;
                    let mut cursor = Cursor::new(payload, at, order_of::<E>());
                    skip_node(node, &mut cursor)?;
                    at = cursor.position();
                    *ends_segment
                }
            };
            if ends_segment {
                segment += 1;
                segment_starts(segment, at);
            }
        }
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tracemark_format::{Abi, AbiInt, Field, IntType, TypeDesc};

    use super::*;

    fn plan(fields: Vec<Field>, abi: &Abi) -> Plan {
        Plan::compile(&fields, abi).unwrap()
    }

    #[test]
    fn sched_switch_fields_sit_at_fixed_offsets_of_three_segments() {
        let abi = Abi::lp64(ByteOrder::Little);
        let int = |int| TypeDesc::Int(int);
        let plan = plan(
            vec![
                Field::new("prev_comm", TypeDesc::String),
                Field::new("prev_tid", int(IntType::I32)),
                Field::new("prev_state", int(IntType::Abi(AbiInt::Long))),
                Field::new("next_comm", TypeDesc::String),
                Field::new("next_tid", int(IntType::I32)),
            ],
            &abi,
        );
        let layout = PayloadLayout::compile(&plan);
        let segments: Vec<_> = layout.locations().iter().map(|l| (l.segment, l.offset)).collect();
        assert_eq!(segments, [(0, 0), (1, 0), (1, 4), (1, 12), (2, 0)]);
        let mut payload = b"bash\0".to_vec();
        payload.extend_from_slice(&7i32.to_le_bytes());
        payload.extend_from_slice(&1i64.to_le_bytes());
        payload.extend_from_slice(b"sshd\0");
        payload.extend_from_slice(&9i32.to_le_bytes());
        payload.extend_from_slice(b"next record");
        let (end, stored) = layout.walk_in(&plan, &payload, abi.byte_order).unwrap();
        assert_eq!(end, payload.len() - b"next record".len());
        assert_eq!(layout.stored_field_start(4, &stored), Some(5 + 4 + 8 + 5));
        assert_eq!(layout.walk_in(&plan, &payload[..10], abi.byte_order), None);
    }

    #[test]
    fn fixed_payloads_walk_with_one_comparison_and_bools_are_checked() {
        let abi = Abi::ilp32(ByteOrder::Big);
        let plain = plan(vec![Field::new("a", TypeDesc::Int(IntType::Abi(AbiInt::Long)))], &abi);
        let layout = PayloadLayout::compile(&plain);
        assert_eq!(layout.plain_fixed, Some(4));
        assert_eq!(layout.walk_in(&plain, &[0; 3], abi.byte_order), None);
        let flags = plan(vec![Field::new("f", TypeDesc::array(3, TypeDesc::Bool))], &abi);
        let layout = PayloadLayout::compile(&flags);
        assert_eq!(layout.plain_fixed, None);
        assert!(layout.walk_in(&flags, &[1, 0, 1], abi.byte_order).is_some());
        assert_eq!(layout.walk_in(&flags, &[1, 2, 1], abi.byte_order), None);
    }

    #[test]
    fn segments_beyond_the_stored_ones_are_found_by_walking_again() {
        let abi = Abi::lp64(ByteOrder::Little);
        let fields = (0..7).map(|index| Field::new(format!("s{index}"), TypeDesc::String)).collect();
        let plan = plan(fields, &abi);
        let layout = PayloadLayout::compile(&plan);
        let payload = b"a\0bb\0ccc\0d\0ee\0f\0g\0".to_vec();
        let (end, stored) = layout.walk_in(&plan, &payload, abi.byte_order).unwrap();
        assert_eq!(end, payload.len());
        assert_eq!(layout.stored_field_start(6, &stored), None);
        assert_eq!(layout.field_start(6, &stored, &plan, &payload, abi.byte_order), Some(16));
        assert_eq!(layout.field_start(3, &stored, &plan, &payload, abi.byte_order), Some(9));
    }

    fn int_type() -> impl Strategy<Value = IntType> {
        (0usize..19).prop_map(|index| match index {
            0 => IntType::U8,
            1 => IntType::U16,
            2 => IntType::U32,
            3 => IntType::U64,
            4 => IntType::I8,
            5 => IntType::I16,
            6 => IntType::I32,
            7 => IntType::I64,
            other => IntType::Abi(AbiInt::ALL[other - 8]),
        })
    }

    fn any_type() -> impl Strategy<Value = TypeDesc> {
        let leaf = prop_oneof![
            Just(TypeDesc::Bool),
            int_type().prop_map(TypeDesc::Int),
            Just(TypeDesc::F32),
            Just(TypeDesc::F64),
            Just(TypeDesc::String),
            Just(TypeDesc::Blob),
            int_type().prop_map(|repr| TypeDesc::Enum { repr, mappings: Vec::new() }),
        ];
        leaf.prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                (1u32..3, inner.clone()).prop_map(|(len, element)| TypeDesc::array(len, element)),
                inner.clone().prop_map(TypeDesc::sequence),
                prop::collection::vec(inner, 1..3).prop_map(|types| TypeDesc::Struct(
                    types.into_iter().enumerate().map(|(i, ty)| Field::new(format!("m{i}"), ty)).collect()
                )),
            ]
        })
    }

    proptest! {
        /// The walk accepts exactly what the value decoder accepts, and ends where it ends.
        #[test]
        fn walk_agrees_with_the_value_decoder(
            types in prop::collection::vec(any_type(), 0..6),
            bytes in prop::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(2u8), any::<u8>()], 0..80),
            big in any::<bool>(),
            ilp32 in any::<bool>(),
        ) {
            let order = if big { ByteOrder::Big } else { ByteOrder::Little };
            let abi = if ilp32 { Abi::ilp32(order) } else { Abi::lp64(order) };
            let fields: Vec<Field> =
                types.into_iter().enumerate().map(|(i, ty)| Field::new(format!("f{i}"), ty)).collect();
            let Ok(plan) = Plan::compile(&fields, &abi) else { return Ok(()) };
            let layout = PayloadLayout::compile(&plan);
            let mut cursor = Cursor::new(&bytes, 0, order);
            let decoded = plan.decode(&mut cursor).map(|values| (values, cursor.position()));
            let walked = layout.walk_in(&plan, &bytes, order);
            prop_assert_eq!(decoded.is_ok(), walked.is_some(), "decoded {:?}, walked {:?}", decoded, walked);
            if let (Ok((_, end)), Some((walked_end, segments))) = (&decoded, walked) {
                prop_assert_eq!(*end, walked_end);
                // Every field starts where the value decoder reached it.
                let mut cursor = Cursor::new(&bytes, 0, order);
                for (index, (_, node)) in plan.fields.iter().enumerate() {
                    let start = layout.field_start(index, &segments, &plan, &bytes, order);
                    prop_assert_eq!(start, Some(cursor.position()));
                    crate::decode::decode_node(node, &mut cursor).unwrap();
                }
            }
        }
    }
}
