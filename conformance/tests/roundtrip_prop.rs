//! Property test: arbitrary event classes and values, any ABI, round trip exactly through the
//! Rust writer and the reader.

use proptest::prelude::*;
use tracemark_conformance::{compare, ring_writer, rust_writer, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{Abi, AbiInt, ByteOrder, EnumMapping, Field, IntType, TypeDesc};
use tracemark_reader::Trace;

fn int_type() -> impl Strategy<Value = IntType> {
    prop_oneof![
        Just(IntType::U8),
        Just(IntType::U16),
        Just(IntType::U32),
        Just(IntType::U64),
        Just(IntType::I8),
        Just(IntType::I16),
        Just(IntType::I32),
        Just(IntType::I64),
        (0..AbiInt::ALL.len()).prop_map(|index| IntType::Abi(AbiInt::ALL[index])),
    ]
}

fn leaf_type() -> impl Strategy<Value = TypeDesc> {
    prop_oneof![
        Just(TypeDesc::Bool),
        int_type().prop_map(TypeDesc::Int),
        Just(TypeDesc::F32),
        Just(TypeDesc::F64),
        Just(TypeDesc::String),
        Just(TypeDesc::Blob),
        (int_type(), prop::collection::vec((any::<u64>(), any::<u64>()), 0..4)).prop_map(|(repr, ranges)| {
            let mappings = ranges
                .into_iter()
                .enumerate()
                .map(|(index, (a, b))| EnumMapping { label: format!("L{index}"), lo: a.min(b), hi: a.max(b) })
                .collect();
            TypeDesc::Enum { repr, mappings }
        }),
    ]
}

fn fields_of(types: Vec<TypeDesc>) -> Vec<Field> {
    types.into_iter().enumerate().map(|(index, ty)| Field::new(format!("f{index}"), ty)).collect()
}

fn any_type() -> impl Strategy<Value = TypeDesc> {
    leaf_type().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (1u32..4, inner.clone()).prop_map(|(len, element)| TypeDesc::array(len, element)),
            inner.clone().prop_map(TypeDesc::sequence),
            prop::collection::vec(inner, 1..4).prop_map(|types| TypeDesc::Struct(fields_of(types))),
        ]
    })
}

fn value_of(ty: &TypeDesc) -> BoxedStrategy<Val> {
    match ty {
        TypeDesc::Bool => any::<bool>().prop_map(Val::Bool).boxed(),
        TypeDesc::Int(int) | TypeDesc::Enum { repr: int, .. } if int.is_signed() => {
            any::<i64>().prop_map(Val::I).boxed()
        }
        TypeDesc::Int(_) | TypeDesc::Enum { .. } => any::<u64>().prop_map(Val::U).boxed(),
        TypeDesc::F32 => any::<u32>().prop_map(|bits| Val::F32(f32::from_bits(bits))).boxed(),
        TypeDesc::F64 => any::<u64>().prop_map(|bits| Val::F64(f64::from_bits(bits))).boxed(),
        TypeDesc::String => prop::collection::vec(1u8.., 0..24).prop_map(Val::Str).boxed(),
        TypeDesc::Blob => prop::collection::vec(any::<u8>(), 0..24).prop_map(Val::Blob).boxed(),
        TypeDesc::Array { len, element } => {
            prop::collection::vec(value_of(element), *len as usize).prop_map(Val::List).boxed()
        }
        TypeDesc::Sequence { element } => {
            prop::collection::vec(value_of(element), 0..4).prop_map(Val::List).boxed()
        }
        TypeDesc::Struct(fields) => {
            let members: Vec<_> = fields.iter().map(|field| value_of(&field.ty)).collect();
            members.prop_map(Val::Struct).boxed()
        }
    }
}

fn abi() -> impl Strategy<Value = Abi> {
    (any::<bool>(), any::<bool>()).prop_map(|(big, wide)| {
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        if wide {
            Abi::lp64(order)
        } else {
            Abi::ilp32(order)
        }
    })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let classes = prop::collection::vec(prop::collection::vec(any_type(), 0..5), 1..4);
    (abi(), classes, any::<bool>(), prop_oneof![Just(0u32), Just(0xFFF0u32)], 1u32..6).prop_flat_map(
        |(abi, class_types, crc, first_event_id, packet_kib)| {
            let classes: Vec<ClassSpec> = class_types
                .into_iter()
                .enumerate()
                .map(|(index, types)| ClassSpec::new(format!("class_{index}"), fields_of(types)))
                .collect();
            let event = {
                let classes = classes.clone();
                (0..classes.len(), 0u32..3, 0u64..(1 << 20), any::<bool>()).prop_flat_map(
                    move |(class, cpu, delta, jump)| {
                        let values: Vec<_> =
                            classes[class].fields.iter().map(|field| value_of(&field.ty)).collect();
                        // An occasional jump of 2^48 or more forces the extended header (§5.4).
                        let delta = if jump && delta.is_multiple_of(16) { delta + (1 << 48) } else { delta };
                        values.prop_map(move |values| EventSpec { class, cpu, timestamp: delta, values })
                    },
                )
            };
            prop::collection::vec(event, 0..40).prop_map(move |mut events| {
                // Deltas become non-decreasing timestamps per CPU.
                let mut clocks = [0u64; 3];
                for event in &mut events {
                    let clock = &mut clocks[event.cpu as usize];
                    *clock += event.timestamp;
                    event.timestamp = *clock;
                }
                Scenario {
                    abi,
                    crc,
                    first_event_id,
                    packet_size: packet_kib * 1024,
                    classes: classes.clone(),
                    events,
                    ..Scenario::default()
                }
            })
        },
    )
}

/// What `writer` wrote of `scenario` reads back as exactly its events.
fn reads_back(
    scenario: &Scenario,
    written: Result<Vec<u8>, rust_writer::WriteError>,
    writer: &str,
) -> Result<(), TestCaseError> {
    let bytes = match written {
        Ok(bytes) => bytes,
        // An event bigger than a packet is dropped and counted, not written (§10.1).
        Err(rust_writer::WriteError::Writer(tracemark_writer::Error::EventTooLarge { .. })) => return Ok(()),
        Err(error) => panic!("{writer} refused the scenario: {error}"),
    };
    let trace = Trace::from_bytes(bytes)
        .unwrap_or_else(|error| panic!("reader cannot open what the {writer} wrote: {error}"));
    if let Err(problems) = compare::check(scenario, &trace) {
        prop_assert!(false, "{}", problems.join("\n"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_classes_and_values_round_trip(scenario in scenario()) {
        reads_back(&scenario, rust_writer::single_file(&scenario), "writer")?;
    }
}

proptest! {
    // Each case starts a ring session (a consumer thread): fewer cases than the stream writer's.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The same arbitrary scenarios through the ring writer (lock-free rings, typed emit path).
    #[test]
    fn arbitrary_classes_and_values_round_trip_through_the_ring(scenario in scenario()) {
        reads_back(&scenario, ring_writer::single_file(&scenario), "ring writer")?;
    }
}
