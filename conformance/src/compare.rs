//! Compares what the reader decodes with what a scenario wrote, field by field.

use tracemark_format::{Abi, IntType, TypeDesc};
use tracemark_reader::{Integer, Item, StreamId, Trace, Value};

use crate::{Scenario, Val};

/// Every difference between the scenario and the trace, one line each; `Ok` when none.
pub fn check(scenario: &Scenario, trace: &Trace) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let abi = *trace.metadata().abi();
    if abi != scenario.abi {
        problems.push(format!("ABI: wrote {:?}, read {abi:?}", scenario.abi));
    }
    for diagnostic in trace.diagnostics() {
        problems.push(format!("diagnostic at open: {diagnostic}"));
    }
    for cpu in scenario.cpus() {
        let expected: Vec<_> = scenario.events.iter().filter(|event| event.cpu == cpu).collect();
        let Some(stream) = trace.streams().find(|stream| stream.id().instance == cpu) else {
            problems.push(format!("cpu {cpu}: no stream"));
            continue;
        };
        let mut decoded = Vec::new();
        for item in stream {
            match item {
                Item::Event(event) => decoded.push(event),
                Item::Diagnostic(diagnostic) => problems.push(format!("cpu {cpu}: {diagnostic}")),
            }
        }
        if decoded.len() != expected.len() {
            problems.push(format!("cpu {cpu}: wrote {} events, read {}", expected.len(), decoded.len()));
        }
        for (index, (event, spec)) in decoded.iter().zip(&expected).enumerate() {
            let class = &scenario.classes[spec.class];
            let at = format!("cpu {cpu} event {index} ({})", class.name);
            if event.name() != class.name {
                problems.push(format!("{at}: read class {:?}", event.name()));
                continue;
            }
            if event.timestamp() != spec.timestamp {
                problems.push(format!("{at}: timestamp {} != {}", event.timestamp(), spec.timestamp));
            }
            if event.stream() != (StreamId { class: 0, instance: cpu }) {
                problems.push(format!("{at}: stream {}", event.stream()));
            }
            if event.header_word() != scenario.header_word {
                problems.push(format!(
                    "{at}: header word {:?}, not {:?}",
                    event.header_word(),
                    scenario.header_word
                ));
            }
            let fields = event.fields();
            if fields.len() != class.fields.len() {
                problems.push(format!("{at}: {} fields read, {} declared", fields.len(), class.fields.len()));
            }
            for ((field, wrote), (name, read)) in class.fields.iter().zip(&spec.values).zip(fields) {
                if *name != field.name {
                    problems.push(format!("{at}: field {name} where {} was declared", field.name));
                }
                compare_value(&field.ty, wrote, read, &abi, &format!("{at}.{}", field.name), &mut problems);
            }
        }
    }
    let mut previous = None;
    let mut merged = 0usize;
    for item in trace.events() {
        if let Item::Event(event) = item {
            merged += 1;
            if previous.is_some_and(|previous| event.timestamp() < previous) {
                problems.push(format!("merge: timestamp {} after {previous:?}", event.timestamp()));
            }
            previous = Some(event.timestamp());
        }
    }
    if merged != scenario.events.len() {
        problems.push(format!("merge: {merged} events, wrote {}", scenario.events.len()));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The value the reader must produce for an integer written as `bits` with type `int`.
pub fn expected_integer(int: IntType, bits: u64, abi: &Abi) -> Integer {
    let size = u32::from(int.size(abi));
    let shift = 64 - 8 * size;
    if int.is_signed() {
        Integer::Signed(((bits << shift) as i64) >> shift)
    } else {
        Integer::Unsigned((bits << shift) >> shift)
    }
}

fn bits(value: &Val) -> Option<u64> {
    match value {
        Val::U(bits) => Some(*bits),
        Val::I(number) => Some(*number as u64),
        _ => None,
    }
}

fn compare_value(
    ty: &TypeDesc,
    wrote: &Val,
    read: &Value<'_>,
    abi: &Abi,
    at: &str,
    problems: &mut Vec<String>,
) {
    let mut differ = || problems.push(format!("{at}: wrote {wrote:?} as {ty:?}, read {read:?}"));
    match (ty, read) {
        (TypeDesc::Bool, Value::Bool(flag)) if *wrote == Val::Bool(*flag) => {}
        (TypeDesc::Int(int), Value::Unsigned(number)) => {
            if bits(wrote).map(|bits| expected_integer(*int, bits, abi)) != Some(Integer::Unsigned(*number)) {
                differ();
            }
        }
        (TypeDesc::Int(int), Value::Signed(number)) => {
            if bits(wrote).map(|bits| expected_integer(*int, bits, abi)) != Some(Integer::Signed(*number)) {
                differ();
            }
        }
        (TypeDesc::Enum { repr, mappings }, Value::Enum { value, label }) => {
            let Some(expected) = bits(wrote).map(|bits| expected_integer(*repr, bits, abi)) else {
                return differ();
            };
            let expected_label = mappings
                .iter()
                .find(|mapping| match expected {
                    Integer::Signed(number) => (mapping.lo as i64..=mapping.hi as i64).contains(&number),
                    Integer::Unsigned(number) => (mapping.lo..=mapping.hi).contains(&number),
                })
                .map(|mapping| mapping.label.as_str());
            if *value != expected || *label != expected_label {
                differ();
            }
        }
        (TypeDesc::F32, Value::F32(number)) if matches!(wrote, Val::F32(w) if w.to_bits() == number.to_bits()) =>
            {}
        (TypeDesc::F64, Value::F64(number)) if matches!(wrote, Val::F64(w) if w.to_bits() == number.to_bits()) =>
            {}
        (TypeDesc::String, Value::Str(bytes)) if *wrote == Val::Str(bytes.to_vec()) => {}
        (TypeDesc::Blob, Value::Blob(bytes)) if *wrote == Val::Blob(bytes.to_vec()) => {}
        (TypeDesc::Array { element, .. }, Value::Array(values))
        | (TypeDesc::Sequence { element }, Value::Sequence(values)) => match wrote {
            Val::List(written) if written.len() == values.len() => {
                for (index, (wrote, read)) in written.iter().zip(values).enumerate() {
                    compare_value(element, wrote, read, abi, &format!("{at}[{index}]"), problems);
                }
            }
            _ => differ(),
        },
        (TypeDesc::Struct(fields), Value::Struct(values)) => match wrote {
            Val::Struct(written) if written.len() == values.len() && fields.len() == values.len() => {
                for ((field, wrote), (name, read)) in fields.iter().zip(written).zip(values) {
                    if *name != field.name {
                        problems.push(format!("{at}: member {name} where {} was declared", field.name));
                    }
                    compare_value(&field.ty, wrote, read, abi, &format!("{at}.{}", field.name), problems);
                }
            }
            _ => differ(),
        },
        _ => differ(),
    }
}
