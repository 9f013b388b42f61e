//! The typed path agrees with the dynamic one: on every valid conformance vector
//! (`conformance/vectors/valid`) and on random event classes written with any ABI, every
//! field bound to the Rust type that fits it decodes to the value [`Event::fields`] gives;
//! and every way of reading (iterator, pipelined iterator, dispatcher, counts) delivers the
//! same events.

use std::{borrow::Cow, path::PathBuf};

use proptest::prelude::*;
use tracemark_conformance::{rust_writer, ClassSpec, EventSpec as Emit, Scenario, Val};
use tracemark_format::{Abi, AbiInt, ByteOrder, EventClass, Field, IntType, TypeDesc};
use tracemark_reader::{BoundFields, Dispatcher, Event, EventSpec, FieldSpec, Integer, Item, Trace, Value};

/// The narrowest Rust integer of the field's sign that holds its size under `abi`.
fn narrowest(int: IntType, abi: &Abi) -> (u8, bool) {
    (int.size(abi), int.is_signed())
}

/// The Rust type a field binds to in these tests, as a spec.
fn spec_field(field: &Field, abi: &Abi) -> FieldSpec {
    let name = field.name.clone();
    match &field.ty {
        TypeDesc::Bool => FieldSpec::of::<bool>(name),
        TypeDesc::Int(int) => match narrowest(*int, abi) {
            (1, true) => FieldSpec::of::<i8>(name),
            (2, true) => FieldSpec::of::<i16>(name),
            (4, true) => FieldSpec::of::<i32>(name),
            (_, true) => FieldSpec::of::<i64>(name),
            (1, false) => FieldSpec::of::<u8>(name),
            (2, false) => FieldSpec::of::<u16>(name),
            (4, false) => FieldSpec::of::<u32>(name),
            (_, false) => FieldSpec::of::<u64>(name),
        },
        TypeDesc::F32 => FieldSpec::of::<f32>(name),
        TypeDesc::F64 => FieldSpec::of::<f64>(name),
        TypeDesc::String | TypeDesc::Blob => FieldSpec::of::<&[u8]>(name),
        TypeDesc::Enum { .. } => FieldSpec::of::<Integer>(name),
        TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } if matches!(**element, TypeDesc::Int(int) if int.is_signed()) => {
            FieldSpec::of::<Vec<i64>>(name)
        }
        TypeDesc::Array { element, .. } | TypeDesc::Sequence { element }
            if matches!(**element, TypeDesc::Int(_)) =>
        {
            FieldSpec::of::<Vec<u64>>(name)
        }
        _ => FieldSpec::of::<Value<'_>>(name),
    }
}

fn integer_of(value: &Value<'_>) -> Option<i128> {
    match value {
        Value::Signed(number) => Some(i128::from(*number)),
        Value::Unsigned(number) => Some(i128::from(*number)),
        _ => None,
    }
}

/// Reads field `index` as [`spec_field`] bound it and compares it with the dynamic value.
fn check_field(
    fields: &BoundFields<'_, '_>,
    index: usize,
    field: &Field,
    abi: &Abi,
    dynamic: &Value<'_>,
) -> Result<(), String> {
    let differ = |typed: String| Err(format!("field {}: typed {typed}, dynamic {dynamic:?}", field.name));
    let same = match (&field.ty, dynamic) {
        (TypeDesc::Bool, Value::Bool(value)) => fields.get::<bool>(index) == Ok(*value),
        (TypeDesc::Int(int), _) => {
            let typed = match narrowest(*int, abi) {
                (1, true) => fields.get::<i8>(index).map(i128::from),
                (2, true) => fields.get::<i16>(index).map(i128::from),
                (4, true) => fields.get::<i32>(index).map(i128::from),
                (_, true) => fields.get::<i64>(index).map(i128::from),
                (1, false) => fields.get::<u8>(index).map(i128::from),
                (2, false) => fields.get::<u16>(index).map(i128::from),
                (4, false) => fields.get::<u32>(index).map(i128::from),
                (_, false) => fields.get::<u64>(index).map(i128::from),
            };
            if typed.ok() != integer_of(dynamic) {
                return differ(format!("{typed:?}"));
            }
            true
        }
        (TypeDesc::F32, Value::F32(value)) => {
            fields.get::<f32>(index).map(f32::to_bits) == Ok(value.to_bits())
                && fields.get::<f64>(index).map(f64::to_bits) == Ok(f64::from(*value).to_bits())
        }
        (TypeDesc::F64, Value::F64(value)) => {
            fields.get::<f64>(index).map(f64::to_bits) == Ok(value.to_bits())
        }
        (TypeDesc::String, Value::Str(bytes)) => {
            let as_str = fields.get::<&str>(index);
            fields.get::<&[u8]>(index) == Ok(*bytes)
                && fields.get::<Cow<'_, str>>(index).ok() == Some(String::from_utf8_lossy(bytes))
                && as_str.is_ok() == std::str::from_utf8(bytes).is_ok()
        }
        (TypeDesc::Blob, Value::Blob(bytes)) => fields.get::<&[u8]>(index) == Ok(*bytes),
        (TypeDesc::Enum { .. }, Value::Enum { value, .. }) => fields.get::<Integer>(index) == Ok(*value),
        (
            TypeDesc::Array { element, .. } | TypeDesc::Sequence { element },
            Value::Array(values) | Value::Sequence(values),
        ) if matches!(**element, TypeDesc::Int(_)) => {
            let expected: Vec<i128> = values.iter().filter_map(integer_of).collect();
            let typed: Result<Vec<i128>, _> = if matches!(**element, TypeDesc::Int(int) if int.is_signed()) {
                fields.get::<Vec<i64>>(index).map(|v| v.into_iter().map(i128::from).collect())
            } else {
                fields.get::<Vec<u64>>(index).map(|v| v.into_iter().map(i128::from).collect())
            };
            typed.as_ref() == Ok(&expected) && expected.len() == values.len()
        }
        _ => fields.get::<Value<'_>>(index).as_ref() == Ok(dynamic),
    };
    if same {
        Ok(())
    } else {
        differ("(see the types above)".into())
    }
}

fn class_fields(class: &EventClass) -> Vec<Field> {
    class.fields().map(Cow::into_owned).unwrap_or_default()
}

/// Binds every event class of `trace` and compares every field of every event; returns the
/// events compared.
fn typed_matches_dynamic(trace: &Trace) -> Result<usize, String> {
    let abi = *trace.metadata().abi();
    let mut compared = 0;
    for class in trace.metadata().event_classes() {
        let fields = class_fields(class);
        let spec = fields
            .iter()
            .fold(EventSpec::new(class.name.clone()), |spec, field| spec.field_spec(spec_field(field, &abi)));
        let binding = trace.bind_spec(&spec).map_err(|error| format!("{}: {error}", class.name))?;
        for event in trace.events().filter_map(Item::event).filter(|event| event.id() == class.id) {
            let bound = binding.fields(&event).ok_or("a bound class's event has no bound fields")?;
            for (index, (field, (name, dynamic))) in fields.iter().zip(event.fields()).enumerate() {
                assert_eq!(&field.name, name);
                check_field(&bound, index, field, &abi, dynamic)
                    .map_err(|e| format!("{}: {e}", class.name))?;
            }
            // The lazy accessors agree with the kept fields too.
            let lazy: Vec<_> = event.values().collect();
            if lazy.as_slice() != event.fields() {
                return Err(format!("{}: values() {lazy:?} != fields()", class.name));
            }
            for (index, (name, value)) in event.fields().iter().enumerate() {
                if event.value_at(index).as_ref() != Some(value) || event.value(name).as_ref() != Some(value)
                {
                    return Err(format!("{}: value_at/value({name}) differ", class.name));
                }
            }
            compared += 1;
        }
    }
    Ok(compared)
}

fn summary(event: &Event<'_>) -> (u64, u32, u32, u64) {
    (event.timestamp(), event.id(), event.stream().instance, event.offset())
}

/// Every way of reading delivers the same events, in the same order, with the same counts.
fn all_paths_agree(trace: &Trace) -> Result<(), String> {
    let expected: Vec<_> = trace.events().filter_map(Item::event).map(|event| summary(&event)).collect();
    let diagnostics = trace.events().filter(|item| matches!(item, Item::Diagnostic(_))).count();
    let pipelined: Vec<_> =
        trace.with_events(2, |items| items.filter_map(Item::event).map(|event| summary(&event)).collect());
    if pipelined != expected {
        return Err("with_events(2) differs from events()".into());
    }
    for workers in [0, 1] {
        let mut dispatched = Vec::new();
        let mut run = Dispatcher::new(trace);
        run.workers(workers).on_every_event(|event| dispatched.push(summary(event)));
        let result = run.run();
        if dispatched != expected || result.events as usize != expected.len() {
            return Err(format!("dispatcher with {workers} workers differs from events()"));
        }
        if result.diagnostics as usize != diagnostics {
            return Err(format!("dispatcher saw {} diagnostics, events() {diagnostics}", result.diagnostics));
        }
    }
    let counts = trace.count_events(2);
    if counts.events as usize != expected.len() {
        return Err(format!("count_events: {} events, events(): {}", counts.events, expected.len()));
    }
    Ok(())
}

fn valid_vectors() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/vectors/valid");
    let mut vectors: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|error| panic!("{}: {error}", root.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tmk") || path.join("metadata").is_file())
        .collect();
    vectors.sort();
    vectors
}

#[test]
fn typed_and_dynamic_agree_on_every_valid_conformance_vector() {
    let vectors = valid_vectors();
    assert!(vectors.len() >= 10, "expected the conformance vectors, found {vectors:?}");
    let mut events = 0;
    for path in &vectors {
        let trace = Trace::open(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        events += typed_matches_dynamic(&trace).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        all_paths_agree(&trace).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    }
    assert!(events > 100, "only {events} events compared");
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

fn field_type() -> impl Strategy<Value = TypeDesc> {
    let leaf = prop_oneof![
        Just(TypeDesc::Bool),
        int_type().prop_map(TypeDesc::Int),
        Just(TypeDesc::F32),
        Just(TypeDesc::F64),
        Just(TypeDesc::String),
        Just(TypeDesc::Blob),
        int_type().prop_map(|repr| TypeDesc::Enum { repr, mappings: Vec::new() }),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            (1u32..4, inner.clone()).prop_map(|(len, element)| TypeDesc::array(len, element)),
            inner.clone().prop_map(TypeDesc::sequence),
            prop::collection::vec(inner, 1..3).prop_map(|types| TypeDesc::Struct(
                types.into_iter().enumerate().map(|(i, ty)| Field::new(format!("m{i}"), ty)).collect()
            )),
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
        TypeDesc::F32 => any::<f32>().prop_map(Val::F32).boxed(),
        TypeDesc::F64 => any::<f64>().prop_map(Val::F64).boxed(),
        TypeDesc::String => prop::collection::vec(1u8..=255, 0..12).prop_map(Val::Str).boxed(),
        TypeDesc::Blob => prop::collection::vec(any::<u8>(), 0..12).prop_map(Val::Blob).boxed(),
        TypeDesc::Array { len, element } => {
            prop::collection::vec(value_of(element), *len as usize).prop_map(Val::List).boxed()
        }
        TypeDesc::Sequence { element } => {
            prop::collection::vec(value_of(element), 0..4).prop_map(Val::List).boxed()
        }
        TypeDesc::Struct(fields) => {
            fields.iter().map(|field| value_of(&field.ty)).collect::<Vec<_>>().prop_map(Val::Struct).boxed()
        }
    }
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let abi = (any::<bool>(), any::<bool>()).prop_map(|(big, wide)| {
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        if wide {
            Abi::lp64(order)
        } else {
            Abi::ilp32(order)
        }
    });
    let classes = prop::collection::vec(prop::collection::vec(field_type(), 0..5), 1..4);
    (abi, classes).prop_flat_map(|(abi, classes)| {
        let specs: Vec<ClassSpec> = classes
            .iter()
            .enumerate()
            .map(|(c, types)| {
                ClassSpec::new(
                    format!("class{c}"),
                    types.iter().enumerate().map(|(f, ty)| Field::new(format!("f{f}"), ty.clone())).collect(),
                )
            })
            .collect();
        let event = {
            let specs = specs.clone();
            (0..specs.len(), 0u32..3).prop_flat_map(move |(class, cpu)| {
                let values: Vec<_> = specs[class].fields.iter().map(|field| value_of(&field.ty)).collect();
                (Just(class), Just(cpu), values)
            })
        };
        (Just(abi), Just(specs), prop::collection::vec(event, 1..24)).prop_map(|(abi, classes, events)| {
            let events = events
                .into_iter()
                .enumerate()
                .map(|(i, (class, cpu, values))| Emit { class, cpu, timestamp: 100 + 7 * i as u64, values })
                .collect();
            Scenario { abi, classes, events, packet_size: 1 << 16, ..Scenario::default() }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn typed_and_dynamic_agree_on_random_classes_and_abis(scenario in scenario()) {
        let bytes = rust_writer::single_file(&scenario).map_err(|error| TestCaseError::fail(error.to_string()))?;
        let trace = Trace::from_bytes(bytes).unwrap();
        let compared = typed_matches_dynamic(&trace).map_err(TestCaseError::fail)?;
        prop_assert_eq!(compared, scenario.events.len());
        all_paths_agree(&trace).map_err(TestCaseError::fail)?;
    }
}
