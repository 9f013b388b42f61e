//! The writer harness: one set of scripted scenarios every writer runs, and the checks its
//! output goes through.
//!
//! [`scenarios`] are [`Scenario`]s with exact expected values. The Rust writer runs them in
//! this crate's tests ([`crate::rust_writer`], then [`crate::compare::check`] event by event and
//! [`crate::check`] for every rule). The C probe writer (`probe/`) runs its own deterministic
//! harness and leaves, beside each trace directory, an `expected.jsonl` of the events it
//! recorded; [`compare_expected_jsonl`] compares a trace with such a file, event by event, and
//! `tracemark check --expected FILE PATH` does both the comparison and the rules.
//!
//! `expected.jsonl` holds one JSON object per event, `{"name", "cpu", "ts", "fields"}`, values
//! as `probe/SPEC-QUESTIONS.md` #11 states: integers as numbers, floats as numbers (f32
//! widened to f64), strings as text, blobs as lowercase hexadecimal, arrays and sequences as
//! lists, structs as objects, enumerations as `{"value", "label"}`.

use std::{collections::BTreeMap, fs, path::Path};

use serde_json::{Map, Value as Json};
use tracemark_format::{Abi, AbiInt, EnumMapping, Field, HeaderWord, IntType, TypeDesc};
use tracemark_reader::{Integer, Item, Trace, Value};

use crate::{ClassSpec, EventSpec, Scenario, Val};

/// Requirements that no single trace can show — on writers, or on a reader's bounds — and the
/// test checking each: this crate's (with the Rust writer), or the fuzz entry crate's limit
/// vectors (§13).
pub const WRITER_TESTS: &[(&str, &[&str])] = &[
    ("conformance/tests/writers.rs: a_reused_directory_loses_its_stale_finished_marker", &["R-9.4-1"]),
    ("writer/tests/ring_session.rs: the_progress_file_counts_each_streams_events_as_written", &["R-9.5-1"]),
    (
        "fuzz/entry/tests/limits.rs: every_limit_vector_is_read_as_expected_within_bounded_memory_and_time",
        &["R-13.1-1", "R-13.2-1", "R-13.4-1"],
    ),
];

/// A scenario and its name.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    /// Its name.
    pub name: &'static str,
    /// The scenario.
    pub scenario: Scenario,
}

fn int(int: IntType) -> TypeDesc {
    TypeDesc::Int(int)
}

fn mapping(label: &str, lo: u64, hi: u64) -> EnumMapping {
    EnumMapping { label: label.into(), lo, hi }
}

/// One field of every scalar type: `bool`, `f32`, `f64`, the eight fixed-width integers and
/// every ABI-sized integer (§6.2, §6.3), in that order.
pub fn every_scalar_field() -> Vec<Field> {
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
    scalars
}

/// Three classes covering every payload type: `scalars` (every fixed and ABI-sized scalar),
/// `compound` (string, blob, arrays, sequences, enumerations, structs nested three deep) and
/// `empty` (no field).
pub fn every_type_classes() -> Vec<ClassSpec> {
    let scalars = every_scalar_field();
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

/// Values of the `scalars` class: extremes (`extreme`) or small ones. ABI-sized values are
/// wider than a 32-bit ABI's types, so truncation shows.
pub fn scalar_values(extreme: bool) -> Vec<Val> {
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
    for abi_int in AbiInt::ALL {
        values.push(if abi_int.is_signed() { Val::I(-0x1_2345_6789) } else { Val::U(0xFEDC_BA98_7654_3210) });
    }
    values
}

/// Values of the `compound` class, varied by `step`.
pub fn compound_values(step: u64) -> Vec<Val> {
    let point = |x: i64, label: &[u8]| Val::Struct(vec![Val::I(x), Val::Str(label.to_vec())]);
    vec![
        Val::Str(if step.is_multiple_of(2) { b"bash".to_vec() } else { "café ✓".as_bytes().to_vec() }),
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

/// `count` events cycling through the every-type classes on `cpus` CPUs.
pub fn every_type_events(count: u64, cpus: u64) -> Vec<EventSpec> {
    let mut timestamp = 1_000u64;
    (0..count)
        .map(|step| {
            timestamp += 1 + step * 13;
            let (class, values) = match step % 4 {
                0 => (0, scalar_values(step.is_multiple_of(8))),
                1 | 2 => (1, compound_values(step)),
                _ => (2, vec![]),
            };
            EventSpec { class, cpu: (step % cpus) as u32, timestamp, values }
        })
        .collect()
}

/// The scripted scenarios every writer runs, for `abi`.
pub fn scenarios(abi: Abi) -> Vec<Named> {
    let base = Scenario { abi, uuid: crate::vectors::model::VECTOR_UUID, ..Scenario::default() };
    let tick = ClassSpec::new("tick", vec![Field::new("n", int(IntType::U64))]);
    let text =
        ClassSpec::new("text", vec![Field::new("s", TypeDesc::String), Field::new("b", TypeDesc::Blob)]);
    // Timestamps across a 2^48 boundary (compact, reconstructed with a carry), gaps of exactly
    // 2^48 - 1 ticks (compact) and 2^48 ticks (extended), and values near 2^64.
    let wrap = (1u64 << 48) - 3;
    let stamps = [
        5,
        wrap,
        wrap + 7,
        wrap + 7 + (1 << 48) - 1,
        wrap + 7 + (1 << 48) - 1 + (1 << 48),
        u64::MAX - (1 << 40),
        u64::MAX - 1,
        u64::MAX,
    ];
    let strings: [&[u8]; 5] = [b"", b"x", "héllo wörld ✓".as_bytes(), &[b'y'; 300], b"bad \xff\xfe utf-8"];
    // The narrow word (§5.1): a 2^24 boundary, gaps of 2^24 - 1 (compact) and 2^24 (extended).
    let wrap24 = (7u64 << 24) - 3;
    let narrow_stamps = [5, wrap24, wrap24 + 7, wrap24 + 6 + (1 << 24), wrap24 + 6 + (2 << 24), u64::MAX];
    let narrow = Scenario { header_word: HeaderWord::Narrow, ..base.clone() };
    let ticks_at = |stamps: &[u64]| -> Vec<EventSpec> {
        let at = |(n, &timestamp): (usize, &u64)| EventSpec {
            class: 0,
            cpu: 0,
            timestamp,
            values: vec![Val::U(n as u64)],
        };
        stamps.iter().enumerate().map(at).collect()
    };
    vec![
        Named {
            name: "narrow-every-type",
            scenario: Scenario {
                packet_size: 1024,
                // "scalars" gets ID 0xFE (compact), the others 0xFF and up (extended).
                first_event_id: 0xFE,
                classes: every_type_classes(),
                events: every_type_events(60, 3),
                ..narrow.clone()
            },
        },
        Named {
            name: "narrow-timestamps",
            scenario: Scenario {
                classes: vec![tick.clone()],
                events: ticks_at(&narrow_stamps),
                ..narrow.clone()
            },
        },
        Named {
            name: "narrow-interleaved",
            scenario: Scenario {
                packet_size: 256,
                classes: vec![tick.clone()],
                // Gaps around 2^24 between consecutive events, three CPUs, packet rollovers.
                events: (0..300u64)
                    .scan(100u64, |timestamp, n| {
                        // Each CPU's next event follows by the one gap of its round of three.
                        if n % 3 == 0 {
                            *timestamp += [1, (1 << 24) - 1, 1 << 24, 5, 3 << 24][(n / 3 % 5) as usize];
                        }
                        Some(EventSpec {
                            class: 0,
                            cpu: (n % 3) as u32,
                            timestamp: *timestamp,
                            values: vec![Val::U(n)],
                        })
                    })
                    .collect(),
                ..narrow
            },
        },
        Named {
            name: "every-type",
            scenario: Scenario {
                packet_size: 1024,
                classes: every_type_classes(),
                events: every_type_events(120, 3),
                ..base.clone()
            },
        },
        Named {
            name: "extended-ids",
            scenario: Scenario {
                // "scalars" gets ID 0xFFFE (compact header), the others 0xFFFF+ (extended, §5.4).
                first_event_id: 0xFFFE,
                classes: every_type_classes(),
                events: every_type_events(24, 2),
                ..base.clone()
            },
        },
        Named {
            name: "timestamps",
            scenario: Scenario { classes: vec![tick.clone()], events: ticks_at(&stamps), ..base.clone() },
        },
        Named {
            name: "interleaved",
            scenario: Scenario {
                packet_size: 256,
                classes: vec![tick, text.clone()],
                events: (0..400u64)
                    .map(|n| EventSpec {
                        class: (n % 2) as usize,
                        cpu: (n % 4) as u32,
                        timestamp: 100 + n * 7 - (n % 4),
                        values: if n % 2 == 0 {
                            vec![Val::U(n)]
                        } else {
                            vec![
                                Val::Str(format!("event {n}").into_bytes()),
                                Val::Blob(vec![n as u8; (n % 5) as usize]),
                            ]
                        },
                    })
                    .collect(),
                ..base.clone()
            },
        },
        Named {
            name: "strings",
            scenario: Scenario {
                packet_size: 1024,
                classes: vec![text],
                events: strings
                    .iter()
                    .enumerate()
                    .map(|(n, bytes)| EventSpec {
                        class: 0,
                        cpu: 1,
                        timestamp: 10 * n as u64,
                        values: vec![Val::Str(bytes.to_vec()), Val::Blob(bytes.to_vec())],
                    })
                    .collect(),
                ..base
            },
        },
    ]
}

/// The `expected.jsonl` a writer harness would leave for `scenario`, computed from the values
/// written (floats widened, ABI-sized integers truncated as the scenario's ABI does).
pub fn expected_jsonl(scenario: &Scenario) -> Result<String, String> {
    let mut out = String::new();
    for event in &scenario.events {
        let class = scenario.classes.get(event.class).ok_or("no such class")?;
        let mut fields = Map::new();
        for (field, value) in class.fields.iter().zip(&event.values) {
            let expected = crate::vectors::json::expected(&field.ty, value, &scenario.abi)
                .map_err(|mismatch| mismatch.0)?;
            fields.insert(field.name.clone(), expected_probe_json(&expected));
        }
        let mut object = Map::new();
        object.insert("name".into(), Json::String(class.name.clone()));
        object.insert("cpu".into(), Json::from(event.cpu));
        object.insert("ts".into(), Json::from(event.timestamp));
        object.insert("fields".into(), Json::Object(fields));
        out.push_str(&Json::Object(object).to_string());
        out.push('\n');
    }
    Ok(out)
}

fn expected_probe_json(value: &crate::vectors::json::Expected) -> Json {
    use crate::vectors::json::Expected;
    let integer = |integer: &Integer| match integer {
        Integer::Unsigned(value) => Json::from(*value),
        Integer::Signed(value) => Json::from(*value),
    };
    match value {
        Expected::Bool(flag) => Json::Bool(*flag),
        Expected::Int(value) => integer(value),
        Expected::F32(number) => {
            serde_json::Number::from_f64(f64::from(*number)).map_or(Json::Null, Json::Number)
        }
        Expected::F64(number) => serde_json::Number::from_f64(*number).map_or(Json::Null, Json::Number),
        Expected::Str(bytes) => Json::String(String::from_utf8_lossy(bytes).into_owned()),
        Expected::Blob(bytes) => Json::String(bytes.iter().map(|byte| format!("{byte:02x}")).collect()),
        Expected::List(values) => Json::Array(values.iter().map(expected_probe_json).collect()),
        Expected::Enum(value, label) => {
            let mut map = Map::new();
            map.insert("value".into(), integer(value));
            map.insert("label".into(), label.clone().map_or(Json::Null, Json::String));
            Json::Object(map)
        }
        Expected::Struct(fields) => Json::Object(
            fields.iter().map(|(name, value)| (name.clone(), expected_probe_json(value))).collect(),
        ),
    }
}

/// A decoded value in the `expected.jsonl` conventions.
pub fn probe_json(value: &Value<'_>) -> Json {
    let integer = |integer: &Integer| match integer {
        Integer::Unsigned(value) => Json::from(*value),
        Integer::Signed(value) => Json::from(*value),
    };
    match value {
        Value::Bool(flag) => Json::Bool(*flag),
        Value::Unsigned(number) => Json::from(*number),
        Value::Signed(number) => Json::from(*number),
        Value::F32(number) => {
            serde_json::Number::from_f64(f64::from(*number)).map_or(Json::Null, Json::Number)
        }
        Value::F64(number) => serde_json::Number::from_f64(*number).map_or(Json::Null, Json::Number),
        Value::Str(bytes) => Json::String(String::from_utf8_lossy(bytes).into_owned()),
        Value::Blob(bytes) => Json::String(bytes.iter().map(|byte| format!("{byte:02x}")).collect()),
        Value::Array(values) | Value::Sequence(values) => {
            Json::Array(values.iter().map(probe_json).collect())
        }
        Value::Enum { value, label } => {
            let mut map = Map::new();
            map.insert("value".into(), integer(value));
            map.insert("label".into(), label.map_or(Json::Null, |label| Json::String(label.into())));
            Json::Object(map)
        }
        Value::Struct(fields) => {
            Json::Object(fields.iter().map(|(name, value)| (name.to_string(), probe_json(value))).collect())
        }
    }
}

/// Equality in the conventions' sense: numbers compare by value when either is a float (NaN
/// equal to NaN), otherwise exactly; objects by key.
pub fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) if x.is_f64() || y.is_f64() => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y || (x.is_nan() && y.is_nan()),
            _ => false,
        },
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(key, value)| y.get(key).is_some_and(|other| same(value, other)))
        }
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        _ => a == b,
    }
}

/// Compares every event of `trace` with `expected.jsonl` at `path`, CPU by CPU in record
/// order: name, timestamp and fields. `Ok(events compared)`, or every difference.
pub fn compare_expected_jsonl(trace: &Trace, path: &Path) -> Result<usize, Vec<String>> {
    let text = fs::read_to_string(path).map_err(|error| vec![format!("{}: {error}", path.display())])?;
    let mut expected: BTreeMap<u64, Vec<Json>> = BTreeMap::new();
    let mut count = 0usize;
    for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        let event: Json = serde_json::from_str(line)
            .map_err(|error| vec![format!("{}:{}: {error}", path.display(), index + 1)])?;
        let Some(cpu) = event.get("cpu").and_then(Json::as_u64) else {
            return Err(vec![format!("{}:{}: no \"cpu\"", path.display(), index + 1)]);
        };
        expected.entry(cpu).or_default().push(event);
        count += 1;
    }
    let mut decoded: BTreeMap<u64, Vec<Json>> = BTreeMap::new();
    for stream in trace.streams() {
        for item in stream {
            if let Item::Event(event) = item {
                let fields: Map<String, Json> = event
                    .fields()
                    .iter()
                    .map(|(name, value)| (name.to_string(), probe_json(value)))
                    .collect();
                let mut object = Map::new();
                object.insert("name".into(), Json::String(event.name().into()));
                object.insert("ts".into(), Json::from(event.timestamp()));
                object.insert("fields".into(), Json::Object(fields));
                decoded.entry(u64::from(event.stream().instance)).or_default().push(Json::Object(object));
            }
        }
    }
    let mut problems = Vec::new();
    let cpus: std::collections::BTreeSet<u64> = expected.keys().chain(decoded.keys()).copied().collect();
    for cpu in cpus {
        let (wanted, got) =
            (expected.remove(&cpu).unwrap_or_default(), decoded.remove(&cpu).unwrap_or_default());
        if wanted.len() != got.len() {
            problems.push(format!("cpu {cpu}: {} events decoded, {} expected", got.len(), wanted.len()));
        }
        for (index, (want, have)) in wanted.iter().zip(&got).enumerate() {
            for key in ["name", "ts", "fields"] {
                let (want, have) =
                    (want.get(key).unwrap_or(&Json::Null), have.get(key).unwrap_or(&Json::Null));
                if !same(want, have) {
                    problems.push(format!("cpu {cpu} event {index}: {key}: decoded {have}, expected {want}"));
                    break;
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(count)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sameness_follows_the_probe_conventions() {
        let parse = |text: &str| serde_json::from_str::<Json>(text).unwrap();
        assert!(same(&parse("1.5"), &parse("1.5")));
        assert!(same(&parse("1.0"), &parse("1")), "a float equal to an integer");
        assert!(!same(&parse("18446744073709551615"), &parse("18446744073709551614")));
        assert!(same(&parse(r#"{"a":[1,{"b":null}]}"#), &parse(r#"{"a":[1,{"b":null}]}"#)));
        assert!(!same(&parse(r#"{"a":1}"#), &parse(r#"{"a":1,"b":2}"#)));
        assert!(!same(&parse("\"1\""), &parse("1")));
    }
}
