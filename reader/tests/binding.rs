//! Binding errors for each kind of schema change (§12), and what keeps working around them.

use tracemark_conformance::{rust_writer, ClassSpec, EventSpec as Emit, Scenario, Val};
use tracemark_format::{Abi, AbiInt, ByteOrder, Field, IntType, TypeDesc};
use tracemark_reader::{
    compat::{compare_traces, FieldChange},
    BindError, Dispatcher, EventSpec, Trace, TraceEvent,
};

fn int(int: IntType) -> TypeDesc {
    TypeDesc::Int(int)
}

fn long() -> TypeDesc {
    int(IntType::Abi(AbiInt::Long))
}

/// The `sched_switch` the analyses below were written against.
fn v1_fields() -> Vec<Field> {
    vec![
        Field::new("prev_comm", TypeDesc::String),
        Field::new("prev_pid", int(IntType::I32)),
        Field::new("prev_state", long()),
        Field::new("next_pid", int(IntType::I32)),
    ]
}

fn value(ty: &TypeDesc, n: u64) -> Val {
    match ty {
        TypeDesc::String => Val::Str(format!("task{n}").into_bytes()),
        TypeDesc::Blob => Val::Blob(vec![n as u8; 3]),
        TypeDesc::F64 => Val::F64(n as f64),
        TypeDesc::Int(int) if int.is_signed() => Val::I(n as i64),
        _ => Val::U(n),
    }
}

/// A trace of `abi` declaring `sched_switch` with `fields` (two events) and `tick`.
fn trace_with(abi: Abi, fields: Vec<Field>) -> Trace {
    let values = |n: u64| fields.iter().map(|field| value(&field.ty, n)).collect::<Vec<_>>();
    let scenario = Scenario {
        abi,
        classes: vec![
            ClassSpec::new("sched_switch", fields.clone()),
            ClassSpec::new("tick", vec![Field::new("n", int(IntType::U32))]),
        ],
        events: vec![
            Emit { class: 0, cpu: 0, timestamp: 10, values: values(1) },
            Emit { class: 1, cpu: 1, timestamp: 15, values: vec![Val::U(7)] },
            Emit { class: 0, cpu: 1, timestamp: 20, values: values(2) },
        ],
        ..Scenario::default()
    };
    Trace::from_bytes(rust_writer::single_file(&scenario).unwrap()).unwrap()
}

fn lp64() -> Abi {
    Abi::lp64(ByteOrder::Little)
}

#[derive(TraceEvent, Debug, PartialEq)]
struct SchedSwitch<'a> {
    prev_comm: &'a str,
    prev_pid: i32,
    prev_state: i64,
    next_pid: i32,
}

#[derive(TraceEvent, Debug, PartialEq)]
struct Tick {
    n: u32,
}

fn switches(trace: &Trace) -> Vec<SchedSwitch<'_>> {
    let binding = trace.bind::<SchedSwitch>().unwrap();
    trace
        .events()
        .filter_map(|item| item.event())
        .filter_map(|event| binding.decode(&event))
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_declared_schema_binds_and_decodes() {
    let trace = trace_with(lp64(), v1_fields());
    assert_eq!(
        switches(&trace),
        [
            SchedSwitch { prev_comm: "task1", prev_pid: 1, prev_state: 1, next_pid: 1 },
            SchedSwitch { prev_comm: "task2", prev_pid: 2, prev_state: 2, next_pid: 2 },
        ]
    );
}

#[test]
fn a_missing_event_names_it_and_similar_names() {
    let trace = trace_with(lp64(), v1_fields());
    #[derive(TraceEvent, Debug)]
    #[trace_event(name = "Tick")]
    struct WrongCase {
        #[allow(dead_code)]
        n: u32,
    }
    let error = trace.bind::<WrongCase>().unwrap_err();
    assert_eq!(error, BindError::MissingEvent { event: "Tick".into(), similar: vec!["tick".into()] });
    assert_eq!(error.to_string(), "event `Tick` is not declared in this trace; similar: `tick` (§12.2)");
}

#[test]
fn a_renamed_field_is_named_with_its_likely_new_name() {
    let mut fields = v1_fields();
    fields[1].name = "prev_tid".into();
    let trace = trace_with(lp64(), fields);
    let error = trace.bind::<SchedSwitch>().unwrap_err();
    let BindError::MissingField { event, field, expected, renamed, .. } = &error else { panic!("{error}") };
    assert_eq!((event.as_str(), field.as_str(), *expected), ("sched_switch", "prev_pid", "i32"));
    assert_eq!(renamed.as_deref(), Some("prev_tid"));
}

#[test]
fn a_removed_field_lists_what_the_event_declares() {
    let mut fields = v1_fields();
    fields.remove(3);
    let trace = trace_with(lp64(), fields);
    let error = trace.bind::<SchedSwitch>().unwrap_err();
    assert_eq!(
        error.to_string(),
        "event `sched_switch`: field `next_pid` (i32) is not declared; declared: prev_comm (string), \
         prev_pid (i32), prev_state (long (8 bytes, signed)) (§12.2)"
    );
}

#[test]
fn a_wider_or_other_signed_type_does_not_bind_a_narrower_one() {
    for (ty, found) in [(int(IntType::I64), "i64"), (int(IntType::U32), "u32"), (TypeDesc::F64, "f64")] {
        let mut fields = v1_fields();
        fields[1].ty = ty;
        let error = trace_with(lp64(), fields).bind::<SchedSwitch>().unwrap_err();
        assert_eq!(
            error,
            BindError::TypeMismatch {
                event: "sched_switch".into(),
                identity: match &error {
                    BindError::TypeMismatch { identity, .. } => *identity,
                    _ => 0,
                },
                field: "prev_pid".into(),
                expected: "i32",
                found: found.into(),
            }
        );
        assert!(error.to_string().contains(&format!("declared {found}, which does not fit i32")), "{error}");
    }
}

#[test]
fn a_narrower_type_of_the_same_sign_still_binds_and_reads_the_same_values() {
    let mut fields = v1_fields();
    fields[1].ty = int(IntType::I16);
    fields[3].ty = int(IntType::U16); // unsigned 16 bits fits i32
    let trace = trace_with(lp64(), fields);
    let got = switches(&trace);
    assert_eq!(got.iter().map(|s| (s.prev_pid, s.next_pid)).collect::<Vec<_>>(), [(1, 1), (2, 2)]);
}

#[test]
fn abi_sized_fields_bind_to_the_rust_type_that_holds_the_writers_size() {
    #[derive(TraceEvent, Debug)]
    #[trace_event(name = "sched_switch")]
    struct StateAsI32 {
        prev_state: i32,
    }
    // 32-bit writer: `long` is 4 bytes and fits an i32.
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let trace = trace_with(Abi::ilp32(order), v1_fields());
        let binding = trace.bind::<StateAsI32>().unwrap();
        let states: Vec<i32> = trace
            .events()
            .filter_map(|item| item.event())
            .filter_map(|event| binding.decode(&event))
            .map(|state| state.unwrap().prev_state)
            .collect();
        assert_eq!(states, [1, 2]);
        assert_eq!(switches(&trace).len(), 2, "an i64 holds a 4-byte long too");
    }
    // 64-bit writer: `long` is 8 bytes; the error says so.
    let error = trace_with(lp64(), v1_fields()).bind::<StateAsI32>().unwrap_err();
    assert!(
        error.to_string().ends_with(
            "field `prev_state` is declared long (8 bytes, signed), which does not fit i32 (§12.3)"
        ),
        "{error}"
    );
}

#[test]
fn a_string_that_became_a_blob_does_not_bind_str_but_binds_bytes() {
    let mut fields = v1_fields();
    fields[0].ty = TypeDesc::Blob;
    let trace = trace_with(lp64(), fields);
    let error = trace.bind::<SchedSwitch>().unwrap_err();
    assert!(
        matches!(&error, BindError::TypeMismatch { field, expected: "&str", found, .. } if field == "prev_comm" && found == "blob")
    );
    #[derive(TraceEvent)]
    #[trace_event(name = "sched_switch")]
    struct Raw<'a> {
        prev_comm: &'a [u8],
    }
    let raw = trace.bind::<Raw>().unwrap();
    let first =
        trace.events().filter_map(|item| item.event()).find_map(|event| raw.decode(&event)).unwrap().unwrap();
    assert_eq!(first.prev_comm, [1, 1, 1]);
}

#[test]
fn added_and_moved_fields_do_not_disturb_a_binding() {
    let mut fields = v1_fields();
    fields.insert(0, Field::new("cpu_id", int(IntType::U8)));
    fields.swap(2, 4); // prev_pid and next_pid trade places
    fields.push(Field::new("extra", TypeDesc::String));
    let trace = trace_with(lp64(), fields);
    let got = switches(&trace);
    assert_eq!(got[1], SchedSwitch { prev_comm: "task2", prev_pid: 2, prev_state: 2, next_pid: 2 });
}

#[test]
fn optional_fields_are_none_where_the_event_lacks_them() {
    #[derive(TraceEvent, Debug, PartialEq)]
    #[trace_event(name = "sched_switch")]
    struct WithOptional {
        prev_pid: i32,
        prev_prio: Option<i32>,
    }
    let trace = trace_with(lp64(), v1_fields());
    let binding = trace.bind::<WithOptional>().unwrap();
    let got: Vec<_> = trace
        .events()
        .filter_map(|item| item.event())
        .filter_map(|event| binding.decode(&event))
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        [WithOptional { prev_pid: 1, prev_prio: None }, WithOptional { prev_pid: 2, prev_prio: None }]
    );
    // Present but of another type is still an error: optional is about absence only.
    let spec = EventSpec::new("sched_switch").field::<Option<u8>>("prev_pid");
    assert!(matches!(trace.bind_spec(&spec), Err(BindError::TypeMismatch { .. })));
}

#[test]
fn a_declaration_binding_one_field_twice_is_refused() {
    let trace = trace_with(lp64(), v1_fields());
    let spec = EventSpec::new("sched_switch").field::<i32>("prev_pid").field::<i64>("prev_pid");
    assert_eq!(
        trace.bind_spec(&spec).unwrap_err(),
        BindError::DuplicateField { event: "sched_switch".into(), field: "prev_pid".into() }
    );
}

#[test]
fn an_analysis_whose_event_changed_is_the_only_one_disabled() {
    let mut fields = v1_fields();
    fields[1].name = "prev_tid".into();
    let trace = trace_with(lp64(), fields);
    let mut ticks = Vec::new();
    let mut switched = 0;
    let mut run = Dispatcher::new(&trace);
    let refused = run.on(|_, _: SchedSwitch| switched += 1).map(|_| ()).unwrap_err();
    assert!(matches!(refused, BindError::MissingField { .. }));
    run.on(|context, tick: Tick| ticks.push((context.timestamp(), tick.n))).unwrap();
    let summary = run.run();
    assert_eq!(summary.events, 3);
    assert_eq!(summary.handlers.len(), 1);
    assert_eq!(ticks, [(15, 7)]);
    assert_eq!(switched, 0);
}

#[test]
fn identity_tells_same_from_changed_events_across_traces() {
    let old = trace_with(lp64(), v1_fields());
    // The same declaration on a big-endian 32-bit writer is the same event (§7.8).
    let same = trace_with(Abi::ilp32(ByteOrder::Big), v1_fields());
    let comparison = compare_traces(old.metadata(), same.metadata());
    assert_eq!(comparison.same, ["sched_switch", "tick"]);
    assert!(comparison.changed.is_empty());
    let mut fields = v1_fields();
    fields[1].name = "prev_tid".into();
    fields[2].ty = int(IntType::I64);
    let changed = trace_with(lp64(), fields);
    let comparison = compare_traces(old.metadata(), changed.metadata());
    assert_eq!(comparison.same, ["tick"]);
    let (name, changes) = &comparison.changed[0];
    assert_eq!(name, "sched_switch");
    assert_eq!(
        changes,
        &[
            FieldChange::Removed { name: "prev_pid".into(), ty: "i32".into() },
            FieldChange::TypeChanged { name: "prev_state".into(), old: "long".into(), new: "i64".into() },
            FieldChange::Added { name: "prev_tid".into(), ty: "i32".into() },
        ]
    );
}
