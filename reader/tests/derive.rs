//! `#[derive(TraceEvent)]`: names, attributes, lifetimes and field types.

use std::borrow::Cow;

use tracemark_conformance::{rust_writer, ClassSpec, EventSpec as Emit, Scenario, Val};
use tracemark_format::{Abi, AbiInt, ByteOrder, EnumMapping, Field, IntType, TypeDesc};
use tracemark_reader::{Integer, Trace, TraceEvent, Value};

fn trace() -> Trace {
    let fields = vec![
        Field::new("type", TypeDesc::Int(IntType::U8)),
        Field::new("name", TypeDesc::String),
        Field::new("args", TypeDesc::array(3, TypeDesc::Int(IntType::Abi(AbiInt::ULong)))),
        Field::new("samples", TypeDesc::sequence(TypeDesc::Int(IntType::I16))),
        Field::new(
            "state",
            TypeDesc::Enum {
                repr: IntType::I8,
                mappings: vec![EnumMapping { label: "NEG".into(), lo: (-1i64) as u64, hi: (-1i64) as u64 }],
            },
        ),
        Field::new("point", TypeDesc::Struct(vec![Field::new("x", TypeDesc::F32)])),
        Field::new("ok", TypeDesc::Bool),
    ];
    let values = vec![
        Val::U(3),
        Val::Str(b"irq/9-eth0".to_vec()),
        Val::List(vec![Val::U(1), Val::U(2), Val::U(u32::MAX.into())]),
        Val::List(vec![Val::I(-5), Val::I(7)]),
        Val::I(-1),
        Val::Struct(vec![Val::F32(0.5)]),
        Val::Bool(true),
    ];
    let scenario = Scenario {
        abi: Abi::ilp32(ByteOrder::Big),
        classes: vec![ClassSpec::new("irq_handler_entry", fields)],
        events: vec![Emit { class: 0, cpu: 0, timestamp: 1, values }],
        ..Scenario::default()
    };
    Trace::from_bytes(rust_writer::single_file(&scenario).unwrap()).unwrap()
}

/// Snake case of the struct name, a raw identifier, borrowed and owned field types.
#[derive(TraceEvent, Debug, PartialEq)]
struct IrqHandlerEntry<'a> {
    r#type: u8,
    name: &'a str,
    args: [u32; 3],
    samples: Vec<i64>,
    state: Integer,
    point: Value<'a>,
    ok: bool,
}

/// An explicit event name, a renamed field, a lossy string, optional fields.
#[derive(TraceEvent, Debug, PartialEq)]
#[trace_event(name = "irq_handler_entry")]
struct Renamed<'t> {
    #[trace_event(name = "name")]
    label: Cow<'t, str>,
    missing: Option<u64>,
    args: Option<Vec<u64>>,
}

/// No lifetime at all.
#[derive(TraceEvent, Debug, PartialEq)]
#[trace_event(name = "irq_handler_entry")]
struct Owned {
    state: i8,
}

fn first<'t, T: TraceEvent<'t>>(trace: &'t Trace) -> T {
    let binding = trace.bind::<T>().unwrap();
    trace.events().filter_map(|item| item.event()).find_map(|event| binding.decode(&event)).unwrap().unwrap()
}

#[test]
fn derived_types_bind_and_decode_every_kind_of_field() {
    assert_eq!(IrqHandlerEntry::NAME, "irq_handler_entry");
    let names: Vec<_> = IrqHandlerEntry::fields().iter().map(|field| field.name().to_string()).collect();
    assert_eq!(names, ["type", "name", "args", "samples", "state", "point", "ok"]);
    let trace = trace();
    let entry: IrqHandlerEntry<'_> = first(&trace);
    assert_eq!(entry.r#type, 3);
    assert_eq!(entry.name, "irq/9-eth0");
    assert_eq!(entry.args, [1, 2, u32::MAX], "a 4-byte unsigned long fits a u32");
    assert_eq!(entry.samples, [-5, 7]);
    assert_eq!(entry.state, Integer::Signed(-1));
    assert_eq!(entry.point, Value::Struct(vec![("x", Value::F32(0.5))]));
    assert!(entry.ok);
    let renamed: Renamed<'_> = first(&trace);
    assert_eq!(
        renamed,
        Renamed {
            label: Cow::Borrowed("irq/9-eth0"),
            missing: None,
            args: Some(vec![1, 2, u32::MAX.into()])
        }
    );
    assert_eq!(first::<Owned>(&trace), Owned { state: -1 });
}

#[test]
fn fields_declare_their_rust_types_and_optionality() {
    let fields = Renamed::fields();
    let described: Vec<_> = fields
        .iter()
        .map(|field| (field.name().to_string(), field.type_name(), field.is_optional()))
        .collect();
    assert_eq!(
        described,
        [
            ("name".to_string(), "Cow<str>", false),
            ("missing".to_string(), "u64", true),
            ("args".to_string(), "Vec<_>", true)
        ]
    );
}
