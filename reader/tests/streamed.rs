//! Field values written as they are decoded (`Event::streamed_values`) write exactly what the
//! decoded values write, as text and as JSON, for every type nested every way; and writing
//! them allocates nothing in proportion to the number of elements.

use tracemark_conformance::{rust_writer, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{Abi, ByteOrder, EnumMapping, Field, IntType, TypeDesc};
use tracemark_reader::{Item, Trace};

fn u(int: IntType) -> TypeDesc {
    TypeDesc::Int(int)
}

fn nested_trace(abi: Abi) -> Vec<u8> {
    let point = TypeDesc::Struct(vec![
        Field::new("x", u(IntType::I32)),
        Field::new("label", TypeDesc::String),
        Field::new("flags", TypeDesc::sequence(TypeDesc::Bool)),
    ]);
    let color = TypeDesc::Enum {
        repr: IntType::U8,
        mappings: vec![EnumMapping { label: "RED".into(), lo: 1, hi: 1 }],
    };
    let fields = vec![
        Field::new("n", u(IntType::U64)),
        Field::new("points", TypeDesc::sequence(point.clone())),
        Field::new("grid", TypeDesc::array(2, TypeDesc::array(3, u(IntType::I8)))),
        Field::new("empty", TypeDesc::Struct(vec![])),
        Field::new("nothing", TypeDesc::array(0, u(IntType::U8))),
        Field::new("colors", TypeDesc::sequence(color)),
        Field::new("blobs", TypeDesc::sequence(TypeDesc::Blob)),
        Field::new("real", TypeDesc::array(2, TypeDesc::F64)),
        Field::new("tail", TypeDesc::String),
    ];
    let point_value = |x: i64, label: &[u8], flags: Vec<bool>| {
        Val::Struct(vec![
            Val::I(x),
            Val::Str(label.to_vec()),
            Val::List(flags.into_iter().map(Val::Bool).collect()),
        ])
    };
    let values = |step: u64| {
        vec![
            Val::U(step),
            Val::List(
                (0..step)
                    .map(|i| point_value(i as i64 - 1, b"p\"q\xff", vec![i % 2 == 0; i as usize]))
                    .collect(),
            ),
            Val::List(vec![
                Val::List(vec![Val::I(-1), Val::I(2), Val::I(-128)]),
                Val::List(vec![Val::I(127), Val::I(0), Val::I(step as i64)]),
            ]),
            Val::Struct(vec![]),
            Val::List(vec![]),
            Val::List(vec![Val::U(1), Val::U(step)]),
            Val::List((0..step).map(|i| Val::Blob(vec![i as u8; i as usize])).collect()),
            Val::List(vec![Val::F64(0.5), Val::F64(-(step as f64) / 3.0)]),
            Val::Str(b"end".to_vec()),
        ]
    };
    let scenario = Scenario {
        abi,
        classes: vec![ClassSpec::new("nested", fields)],
        packet_size: 1 << 20,
        // Small values are decoded whole; from about 1 KiB they are walked as written.
        events: [0, 1, 2, 3, 4, 150, 400]
            .into_iter()
            .enumerate()
            .map(|(index, step)| EventSpec {
                class: 0,
                cpu: 0,
                timestamp: 10 + index as u64,
                values: values(step),
            })
            .collect(),
        ..Scenario::default()
    };
    rust_writer::single_file(&scenario).expect("the nested scenario writes")
}

#[test]
fn streamed_values_write_what_decoded_values_write() {
    for abi in [Abi::lp64(ByteOrder::Little), Abi::ilp32(ByteOrder::Big)] {
        let trace = Trace::from_bytes(nested_trace(abi)).expect("opens");
        let (mut events, mut walked) = (0, 0);
        for item in trace.events() {
            let Item::Event(event) = item else { continue };
            events += 1;
            let decoded: Vec<_> = event.values().collect();
            let streamed: Vec<_> = event.streamed_values().collect();
            assert_eq!(decoded.len(), streamed.len());
            for ((name, value), (streamed_name, field)) in decoded.iter().zip(&streamed) {
                assert_eq!(name, streamed_name);
                assert_eq!(value.to_string(), field.to_string(), "{name} as text");
                assert_eq!(
                    serde_json::to_string(value).unwrap(),
                    serde_json::to_string(field).unwrap(),
                    "{name} as JSON"
                );
                assert_eq!(field.to_value().as_ref(), Some(value));
                let compound = matches!(
                    value,
                    tracemark_reader::Value::Array(_)
                        | tracemark_reader::Value::Sequence(_)
                        | tracemark_reader::Value::Struct(_)
                );
                if field.scalar().is_none() {
                    assert!(compound, "{name}: only arrays, sequences and structs are walked");
                    walked += 1;
                }
            }
        }
        assert_eq!(events, 7);
        assert!(walked >= 4, "the large values are walked as they are written ({walked})");
    }
}
