//! Every payload type, written by the Rust writer and read back field by field, in both byte
//! orders and with a 32-bit ABI; compact and extended event headers; packet rollover.

use tracemark_conformance::{compare, rust_writer, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{Abi, AbiInt, ByteOrder, EnumMapping, Field, IntType, TypeDesc};
use tracemark_reader::Trace;

const ABIS: [Abi; 4] = [
    Abi::lp64(ByteOrder::Little),
    Abi::lp64(ByteOrder::Big),
    Abi::ilp32(ByteOrder::Little),
    Abi::ilp32(ByteOrder::Big),
];

fn int(int: IntType) -> TypeDesc {
    TypeDesc::Int(int)
}

fn mapping(label: &str, lo: u64, hi: u64) -> EnumMapping {
    EnumMapping { label: label.into(), lo, hi }
}

/// One class per scalar kind with its extreme values, and compound types nested three deep.
fn classes() -> Vec<ClassSpec> {
    let mut scalars = vec![
        Field::new("flag", TypeDesc::Bool),
        Field::new("single", TypeDesc::F32),
        Field::new("double", TypeDesc::F64),
    ];
    for (name, ty) in [
        ("u_8", IntType::U8),
        ("u_16", IntType::U16),
        ("u_32", IntType::U32),
        ("u_64", IntType::U64),
        ("i_8", IntType::I8),
        ("i_16", IntType::I16),
        ("i_32", IntType::I32),
        ("i_64", IntType::I64),
    ] {
        scalars.push(Field::new(name, int(ty)));
    }
    for abi_int in AbiInt::ALL {
        scalars.push(Field::new(
            format!("abi_{}", abi_int.c_name().replace(' ', "_")),
            int(IntType::Abi(abi_int)),
        ));
    }
    let point = TypeDesc::Struct(vec![
        Field::new("x", int(IntType::Abi(AbiInt::Long))),
        Field::new("label", TypeDesc::String),
    ]);
    let compound = vec![
        Field::new("name", TypeDesc::String),
        Field::new("raw", TypeDesc::Blob),
        Field::new("fixed", TypeDesc::array(3, int(IntType::I16))),
        Field::new("seq", TypeDesc::sequence(int(IntType::Abi(AbiInt::Pointer)))),
        Field::new(
            "state",
            TypeDesc::Enum {
                repr: IntType::Abi(AbiInt::Long),
                mappings: vec![mapping("NEG", (-10i64) as u64, (-1i64) as u64), mapping("ZERO", 0, 0)],
            },
        ),
        Field::new(
            "code",
            TypeDesc::Enum {
                repr: IntType::U8,
                mappings: vec![mapping("LOW", 0, 127), mapping("HIGH", 128, 255)],
            },
        ),
        Field::new("points", TypeDesc::sequence(point.clone())),
        Field::new(
            "nested",
            TypeDesc::Struct(vec![
                Field::new("inner", point),
                Field::new("grid", TypeDesc::array(2, TypeDesc::array(2, TypeDesc::F64))),
            ]),
        ),
        Field::new("names", TypeDesc::array(2, TypeDesc::String)),
    ];
    vec![
        ClassSpec::new("scalars", scalars),
        ClassSpec::new("compound", compound),
        ClassSpec::new("empty", vec![]),
    ]
}

fn scalar_values(extreme: bool) -> Vec<Val> {
    let mut values = vec![
        Val::Bool(extreme),
        Val::F32(if extreme { f32::MIN_POSITIVE } else { -1.5 }),
        Val::F64(if extreme { f64::MAX } else { 2.25 }),
    ];
    let unsigned = |max: u64| Val::U(if extreme { max } else { 1 });
    let signed = |min: i64| Val::I(if extreme { min } else { -1 });
    values.extend([
        unsigned(u8::MAX.into()),
        unsigned(u16::MAX.into()),
        unsigned(u32::MAX.into()),
        unsigned(u64::MAX),
    ]);
    values.extend([
        signed(i8::MIN.into()),
        signed(i16::MIN.into()),
        signed(i32::MIN.into()),
        signed(i64::MIN),
    ]);
    // ABI-sized: values wider than a 32-bit ABI's types, so truncation shows.
    for abi_int in AbiInt::ALL {
        values.push(if abi_int.is_signed() { Val::I(-0x1_2345_6789) } else { Val::U(0xFEDC_BA98_7654_3210) });
    }
    values
}

fn compound_values(step: u64) -> Vec<Val> {
    let point = |x: i64, label: &[u8]| Val::Struct(vec![Val::I(x), Val::Str(label.to_vec())]);
    vec![
        Val::Str(if step.is_multiple_of(2) {
            b"bash".to_vec()
        } else {
            b"caf\xc3\xa9 \xff not utf-8".to_vec()
        }),
        Val::Blob((0..step as u8 % 9).collect()),
        Val::List(vec![Val::I(i16::MIN.into()), Val::I(0), Val::I(i16::MAX.into())]),
        Val::List((0..step % 4).map(|n| Val::U(0xffff_8880_0000_0000 + n)).collect()),
        Val::I([-5, 0, 7][step as usize % 3]),
        Val::U(step * 97 % 256),
        Val::List((0..step % 3).map(|n| point(n as i64 - 1, b"pt")).collect()),
        Val::Struct(vec![
            point(-(step as i64), b""),
            Val::List(vec![
                Val::List(vec![Val::F64(0.5), Val::F64(-0.0)]),
                Val::List(vec![Val::F64(1e300), Val::F64(f64::MIN_POSITIVE)]),
            ]),
        ]),
        Val::List(vec![Val::Str(b"a".to_vec()), Val::Str(Vec::new())]),
    ]
}

fn scenario(abi: Abi) -> Scenario {
    let mut events = Vec::new();
    let mut timestamp = 1_000u64;
    for step in 0..200u64 {
        let cpu = (step % 3) as u32;
        timestamp += 1 + step * 13;
        let (class, values) = match step % 4 {
            0 => (0, scalar_values(step.is_multiple_of(8))),
            1 | 2 => (1, compound_values(step)),
            _ => (2, vec![]),
        };
        events.push(EventSpec { class, cpu, timestamp, values });
    }
    // A quiet CPU: gaps of exactly 2^48 - 1 (compact) and 2^48 (extended) ticks.
    let quiet = timestamp + 10;
    events.push(EventSpec { class: 2, cpu: 7, timestamp: quiet, values: vec![] });
    events.push(EventSpec { class: 2, cpu: 7, timestamp: quiet + (1 << 48) - 1, values: vec![] });
    events.push(EventSpec { class: 2, cpu: 7, timestamp: quiet + (1 << 48) - 1 + (1 << 48), values: vec![] });
    // Small packets force many packet switches.
    Scenario { abi, packet_size: 1024, classes: classes(), events, ..Scenario::default() }
}

fn assert_round_trip(scenario: &Scenario) {
    let bytes = rust_writer::single_file(scenario).expect("writer accepts the scenario");
    let trace = Trace::from_bytes(bytes).expect("reader opens the trace");
    if let Err(problems) = compare::check(scenario, &trace) {
        panic!("{} problems, first ones:\n{}", problems.len(), problems[..problems.len().min(20)].join("\n"));
    }
}

#[test]
fn every_type_round_trips_in_both_byte_orders_and_both_abis() {
    for abi in ABIS {
        assert_round_trip(&scenario(abi));
    }
}

#[test]
fn extended_event_ids_round_trip() {
    for abi in ABIS {
        let mut extended = scenario(abi);
        extended.first_event_id = 0xFFFE; // "scalars" compact, the others extended (§5.4)
        assert_round_trip(&extended);
    }
}

#[test]
fn crc_off_and_large_packets_round_trip() {
    let mut plain = scenario(Abi::HOST);
    plain.crc = false;
    plain.packet_size = 1 << 20;
    assert_round_trip(&plain);
}

#[test]
fn abi_sized_fields_take_the_writers_sizes() {
    let record_len = |abi: Abi| {
        let scenario = Scenario {
            abi,
            classes: vec![ClassSpec::new(
                "l",
                vec![Field::new("v", TypeDesc::Int(IntType::Abi(AbiInt::Long)))],
            )],
            events: vec![EventSpec { class: 0, cpu: 0, timestamp: 5, values: vec![Val::I(-2)] }],
            ..Scenario::default()
        };
        let trace = Trace::from_bytes(rust_writer::single_file(&scenario).unwrap()).unwrap();
        let event = trace.events().find_map(|item| item.event()).unwrap();
        assert_eq!(event.field("v").and_then(|value| value.as_i64()), Some(-2));
        event.record_bytes().len()
    };
    assert_eq!(record_len(Abi::lp64(ByteOrder::Big)), 8 + 8);
    assert_eq!(record_len(Abi::ilp32(ByteOrder::Big)), 8 + 4);
}

#[test]
fn the_comparison_catches_a_changed_value_timestamp_or_count() {
    let written = scenario(Abi::ilp32(ByteOrder::Big));
    let trace = Trace::from_bytes(rust_writer::single_file(&written).unwrap()).unwrap();
    let mut value = written.clone();
    value.events[5].values[3] = Val::List(vec![]);
    let mut truncated = written.clone();
    // Truncation: the 32-bit long holds only the low half, so a different high half must match too.
    truncated.events[0].values[15] = Val::I(-0x1_2345_6789 + (7 << 32));
    let mut timestamp = written.clone();
    timestamp.events[9].timestamp += 1;
    let mut count = written.clone();
    count.events.pop();
    assert!(compare::check(&value, &trace).is_err());
    assert!(compare::check(&timestamp, &trace).is_err());
    assert!(compare::check(&count, &trace).is_err());
    assert!(compare::check(&truncated, &trace).is_ok());
}
