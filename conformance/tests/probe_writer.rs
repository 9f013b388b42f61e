//! The writer harness with the C probe writer (`probe/core`, through `tracemark-probe`): every
//! scripted scenario, in the host's ABI (the C core writes no other), decodes event by event to
//! exactly what was written and passes every rule of `tracemark check`. The C core writes the
//! wide header word only (§5.1), so the narrow-word scenarios are the Rust writers'. Foreign ABIs and the
//! kernel module are checked on the trace directories `probe/ci.sh` leaves
//! (`conformance/check-probe.sh`).

use std::ffi::{c_int, c_long, c_longlong, c_short, c_uint, c_ulong, c_ulonglong, c_ushort};

use tracemark_conformance::{
    check::{self, Severity, Source},
    compare, harness, Scenario, Val,
};
use tracemark_format::{Abi, AbiInt, EventClass, HeaderWord, IntType, Layout, TypeDesc};
use tracemark_probe::{Config, Outcome, Value, Writer};
use tracemark_reader::Trace;

/// The value the C writer is given for `value` of type `ty`: the C cast of its bits.
fn c_value(ty: &TypeDesc, value: &Val) -> Value {
    let bits = match value {
        Val::U(bits) => *bits,
        Val::I(number) => *number as u64,
        _ => 0,
    };
    let int = |int: &IntType| match int {
        IntType::U8 => Value::U8(bits as u8),
        IntType::U16 => Value::U16(bits as u16),
        IntType::U32 => Value::U32(bits as u32),
        IntType::U64 => Value::U64(bits),
        IntType::I8 => Value::I8(bits as i8),
        IntType::I16 => Value::I16(bits as i16),
        IntType::I32 => Value::I32(bits as i32),
        IntType::I64 => Value::I64(bits as i64),
        IntType::Abi(AbiInt::Short) => Value::Short(bits as c_short),
        IntType::Abi(AbiInt::UShort) => Value::UShort(bits as c_ushort),
        IntType::Abi(AbiInt::Int) => Value::Int(bits as c_int),
        IntType::Abi(AbiInt::UInt) => Value::UInt(bits as c_uint),
        IntType::Abi(AbiInt::Long) => Value::Long(bits as c_long),
        IntType::Abi(AbiInt::ULong) => Value::ULong(bits as c_ulong),
        IntType::Abi(AbiInt::LongLong) => Value::LongLong(bits as c_longlong),
        IntType::Abi(AbiInt::ULongLong) => Value::ULongLong(bits as c_ulonglong),
        IntType::Abi(AbiInt::SizeT) => Value::SizeT(bits as usize),
        IntType::Abi(AbiInt::SSizeT) => Value::SSizeT(bits as isize),
        IntType::Abi(AbiInt::Pointer) => Value::Pointer(bits as usize),
    };
    match (ty, value) {
        (TypeDesc::Bool, Val::Bool(flag)) => Value::Bool(*flag),
        (TypeDesc::Int(repr) | TypeDesc::Enum { repr, .. }, _) => int(repr),
        (TypeDesc::F32, Val::F32(number)) => Value::F32(*number),
        (TypeDesc::F64, Val::F64(number)) => Value::F64(*number),
        (TypeDesc::String, Val::Str(bytes)) => Value::Str(bytes.clone()),
        (TypeDesc::Blob, Val::Blob(bytes)) => Value::Blob(bytes.clone()),
        (TypeDesc::Array { element, .. }, Val::List(values)) => {
            Value::Array(values.iter().map(|value| c_value(element, value)).collect())
        }
        (TypeDesc::Sequence { element }, Val::List(values)) => {
            Value::Sequence(values.iter().map(|value| c_value(element, value)).collect())
        }
        (TypeDesc::Struct(fields), Val::Struct(values)) => {
            Value::Struct(fields.iter().zip(values).map(|(field, value)| c_value(&field.ty, value)).collect())
        }
        (ty, value) => panic!("scenario value {value:?} does not fit {ty:?}"),
    }
}

/// Runs `scenario` through the C writer; the single-file trace.
fn c_writer(scenario: &Scenario) -> Vec<u8> {
    let nr_cpus = scenario.cpus().last().map_or(1, |cpu| cpu + 1);
    let config = Config {
        packet_size: scenario.packet_size,
        nr_cpus,
        crc: scenario.crc,
        trace_uuid: scenario.uuid,
        ..Config::default()
    };
    let mut writer = Writer::new(config).unwrap();
    for (index, class) in scenario.classes.iter().enumerate() {
        let id = scenario.first_event_id + index as u32;
        writer
            .register(&EventClass::new(id, 0, class.name.clone(), Layout::Fields(class.fields.clone())))
            .unwrap();
    }
    let mut last = 0;
    for event in &scenario.events {
        let class = &scenario.classes[event.class];
        let values: Vec<Value> =
            class.fields.iter().zip(&event.values).map(|(field, value)| c_value(&field.ty, value)).collect();
        let id = scenario.first_event_id + event.class as u32;
        assert_eq!(writer.emit(event.cpu, event.timestamp, id, &values).unwrap(), Outcome::Recorded);
        last = last.max(event.timestamp);
    }
    writer.finish(last).unwrap().single_file()
}

#[test]
fn the_c_writer_runs_every_scenario_exactly() {
    let mut events = 0;
    let scenarios: Vec<_> = harness::scenarios(Abi::HOST)
        .into_iter()
        .filter(|named| named.scenario.header_word == HeaderWord::Wide)
        .collect();
    for named in &scenarios {
        let bytes = c_writer(&named.scenario);
        let trace = Trace::from_bytes(bytes.clone()).unwrap();
        if let Err(problems) = compare::check(&named.scenario, &trace) {
            panic!(
                "{}: {} differences:\n{}",
                named.name,
                problems.len(),
                problems[..problems.len().min(20)].join("\n")
            );
        }
        let report = check::check(&Source::bytes(format!("{}.tmk", named.name), bytes)).unwrap();
        let problems: Vec<String> = report
            .findings
            .iter()
            .filter(|finding| {
                finding.severity == Severity::Error
                    || (finding.severity == Severity::Warning && finding.requirement != "R-6.5-1")
            })
            .map(ToString::to_string)
            .collect();
        assert!(
            report.is_valid() && problems.is_empty(),
            "{}: {}\n{}",
            named.name,
            report.summary(),
            problems.join("\n")
        );
        events += report.events;
    }
    println!("C probe writer: {events} events of {} scenarios decoded exactly and valid", scenarios.len());
}
