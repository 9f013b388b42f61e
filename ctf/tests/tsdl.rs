//! The TSDL parser on LTTng's metadata and on malformed texts.

use tracemark_ctf::tsdl::{
    self, Attribute, Block, BlockEntry, BlockKind, Declaration, Dimension, TypeKind, TypeSpec, Value,
};

const UST: &str = include_str!("data/lttng-ust-2.13.tsdl");
const KERNEL_STYLE: &str = include_str!("data/kernel-style.tsdl");

fn blocks(metadata: &tsdl::Metadata, kind: BlockKind) -> Vec<&Block> {
    metadata
        .items
        .iter()
        .filter_map(|item| match item {
            Declaration::Block(block) if block.kind == kind => Some(block),
            _ => None,
        })
        .collect()
}

fn attribute<'a>(block: &'a Block, name: &str) -> Option<&'a Value> {
    block.entries.iter().find_map(|entry| match entry {
        BlockEntry::Attribute(Attribute { name: path, value, .. }) if path.join(".") == name => Some(value),
        _ => None,
    })
}

fn assigned<'a>(block: &'a Block, path: &str) -> Option<&'a TypeSpec> {
    block.entries.iter().find_map(|entry| match entry {
        BlockEntry::TypeAssignment { path: at, ty, .. } if at.join(".") == path => Some(ty),
        _ => None,
    })
}

fn struct_fields(ty: &TypeSpec) -> Vec<(String, &TypeSpec, Vec<Dimension>)> {
    let TypeKind::Struct { body: Some(body), .. } = &ty.kind else {
        panic!("not a struct with a body: {ty:?}")
    };
    body.iter()
        .flat_map(|member| match member {
            Declaration::Fields { ty, names } => {
                names.iter().map(|name| (name.name.clone(), ty, name.dimensions.clone())).collect::<Vec<_>>()
            }
            other => panic!("not a field: {other:?}"),
        })
        .collect()
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

#[test]
fn lttng_ust_metadata_parses() {
    let metadata = tsdl::parse(UST).unwrap();
    let trace = blocks(&metadata, BlockKind::Trace);
    assert_eq!(trace.len(), 1);
    assert_eq!(attribute(trace[0], "major"), Some(&Value::Integer(1)));
    assert_eq!(attribute(trace[0], "byte_order"), Some(&Value::Path(vec!["le".into()])));
    let header = struct_fields(assigned(trace[0], "packet.header").unwrap());
    let names: Vec<_> = header.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(names, ["magic", "uuid", "stream_id", "stream_instance_id"]);
    assert_eq!(header[1].2, [Dimension::Fixed(16)]);

    let env = blocks(&metadata, BlockKind::Env);
    assert_eq!(text(attribute(env[0], "tracer_name")), "lttng-ust");
    let clock = blocks(&metadata, BlockKind::Clock);
    assert_eq!(attribute(clock[0], "offset"), Some(&Value::Integer(1_796_581_187_306_809_061)));

    let events = blocks(&metadata, BlockKind::Event);
    let names: Vec<_> = events.iter().map(|event| text(attribute(event, "name"))).collect();
    assert_eq!(names, ["tmk:syscall_entry_read", "tmk:syscall_exit_read", "tmk:sched_switch", "tmk:app_log"]);
    let switch = struct_fields(assigned(events[2], "fields").unwrap());
    assert_eq!(switch.len(), 7);
    assert!(matches!(switch[0].1.kind, TypeKind::String(_)));
    let TypeKind::Integer(attributes) = &switch[1].1.kind else { panic!() };
    assert_eq!(
        attributes.iter().map(Attribute::dotted_name).collect::<Vec<_>>(),
        ["size", "align", "signed", "encoding", "base"]
    );

    let stream = blocks(&metadata, BlockKind::Stream);
    let header = assigned(stream[0], "event.header").unwrap();
    assert_eq!(
        header.kind,
        TypeKind::Struct { name: Some("event_header_large".into()), body: None, align: None }
    );
    // The named structs and the aliases are top-level declarations.
    let aliases = metadata.items.iter().filter(|item| matches!(item, Declaration::TypeAlias { .. })).count();
    assert_eq!(aliases, 10);
    let defined = metadata.items.iter().filter(|item| matches!(item, Declaration::TypeDefinition(_))).count();
    assert_eq!(defined, 3);
}

#[test]
fn kernel_style_constructs_parse() {
    let metadata = tsdl::parse(KERNEL_STYLE).unwrap();
    let env = blocks(&metadata, BlockKind::Env)[0];
    assert_eq!(text(attribute(env, "escapes")), "tab\there \"quoted\" back\\slash A");
    assert_eq!(attribute(env, "tracer_patchlevel"), Some(&Value::Integer(0)));
    let clock = blocks(&metadata, BlockKind::Clock)[0];
    assert_eq!(attribute(clock, "offset_s"), Some(&Value::Integer(-2)));
    assert_eq!(attribute(clock, "precision"), Some(&Value::Integer(8)), "010 is octal");

    // `unsigned long` is one name of two words; the field is the last word.
    let Some(Declaration::TypeDefinition(context)) = metadata.items.iter().find(|item| {
        matches!(item, Declaration::TypeDefinition(TypeSpec { kind: TypeKind::Struct { name: Some(name), .. }, .. }) if name == "packet_context")
    }) else {
        panic!("packet_context is not defined")
    };
    let fields = struct_fields(context);
    assert_eq!(fields[5].0, "events_discarded");
    assert_eq!(fields[5].1.kind, TypeKind::Named("unsigned long".into()));

    let Some(Declaration::TypeDefinition(TypeSpec { kind: TypeKind::Enum { body: Some(labels), container, .. }, .. })) =
        metadata.items.iter().find(|item| {
            matches!(item, Declaration::TypeDefinition(TypeSpec { kind: TypeKind::Enum { name: Some(name), .. }, .. }) if name == "task_state")
        })
    else {
        panic!("task_state is not defined")
    };
    assert!(matches!(container.as_deref(), Some(TypeSpec { kind: TypeKind::Integer(_), .. })));
    let ranges: Vec<_> = labels.iter().map(|label| (label.label.as_str(), label.range)).collect();
    assert_eq!(
        ranges,
        [
            ("TASK_RUNNING", Some((0, 0))),
            ("TASK_INTERRUPTIBLE", Some((1, 1))),
            ("TASK_UNINTERRUPTIBLE", None),
            ("TASK_DEAD", Some((64, 127)))
        ]
    );

    let events = blocks(&metadata, BlockKind::Event);
    let switch = struct_fields(assigned(events[0], "fields").unwrap());
    let names: Vec<_> = switch.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(names, ["_prev_comm", "_prev_tid", "_prev_state", "_load", "_next_comm", "_reason"]);
    assert_eq!(switch[0].2, [Dimension::Fixed(16)]);
    assert_eq!(switch[1].1.kind, TypeKind::Named("pid_t".into()));
    assert!(
        matches!(&switch[2].1.kind, TypeKind::Enum { name: Some(name), body: None, .. } if name == "task_state")
    );
    assert!(matches!(switch[3].1.kind, TypeKind::FloatingPoint(_)));
    assert!(std::ptr::eq(switch[4].1, switch[5].1), "two declarators share one type");

    let poll = struct_fields(assigned(events[1], "fields").unwrap());
    assert_eq!(poll[2].0, "_fds");
    assert_eq!(poll[2].2, [Dimension::Field(vec!["__fds_length".into()])]);
    assert_eq!(poll[3].2, [Dimension::Fixed(2), Dimension::Fixed(3)]);

    let stream = blocks(&metadata, BlockKind::Stream)[0];
    assert!(assigned(stream, "event.context").is_some());
    let callsite = blocks(&metadata, BlockKind::Callsite)[0];
    assert_eq!(attribute(callsite, "ip"), Some(&Value::Integer(0xffff_ffff_81a0_c123)));

    // The compact header's variant and its selector.
    let header = metadata
        .items
        .iter()
        .find_map(|item| match item {
            Declaration::TypeDefinition(
                ty @ TypeSpec { kind: TypeKind::Struct { name: Some(name), .. }, .. },
            ) if name == "event_header_compact" => Some(ty),
            _ => None,
        })
        .unwrap();
    let TypeKind::Struct { align, .. } = &header.kind else { unreachable!() };
    assert_eq!(*align, Some(8));
    let fields = struct_fields(header);
    assert!(
        matches!(&fields[1].1.kind, TypeKind::Variant { selector: Some(selector), body: Some(options), .. }
        if selector == &["id"] && options.len() == 2)
    );
}

/// (text, line, column, words the message must contain)
const MALFORMED: &[(&str, u32, u32, &str)] = &[
    ("trace {\n  major = ;\n};", 2, 11, "value"),
    ("trace {\n  major = 1\n};", 3, 1, "`;`"),
    ("trace { major = 1; }", 1, 21, "`;`"),
    ("/* never closed", 1, 3, "`*/`"),
    ("env { name = \"never closed; };", 1, 31, "`\"`"),
    ("event {\n\tfields := struct {\n\t\tinteger { size = 8 } x;\n\t};\n};", 3, 22, "`;`"),
    ("event { fields := struct { uint8_t; }; };", 1, 35, "type and a field name"),
    ("typealias integer { size = 8; } := ;", 1, 36, "alias"),
    ("trace { major = 99999999999999999999; };", 1, 37, "64 bits"),
    ("stream { id = 0 ; ", 1, 19, "`}`"),
    ("event { fields := struct { int x[; }; };", 1, 34, "length"),
    ("enum e : uint8_t { A = 1 B };", 1, 26, "`,` or `}`"),
    ("\u{e9}t\u{e9} { };", 1, 1, "declaration"),
    ("trace { } ; 42", 1, 13, "declaration"),
    ("struct { int x; };", 1, 18, "field name"),
];

#[test]
fn malformed_metadata_is_located() {
    for &(text, line, column, words) in MALFORMED {
        let error = tsdl::parse(text).expect_err(text);
        assert_eq!((error.line, error.column), (line, column), "{text:?}: {error}");
        assert!(error.message.contains(words), "{text:?}: {error}");
        assert!(error.to_string().starts_with(&format!("CTF metadata, line {line}, column {column}: ")));
    }
}

#[test]
fn nesting_is_bounded() {
    let nested = |depth: usize| {
        let mut text = String::from("event { fields := ");
        text.push_str(&"struct { ".repeat(depth));
        text.push_str("uint8_t x;");
        text.push_str(&" } y;".repeat(depth - 1));
        text.push_str(" }; };");
        text
    };
    tsdl::parse(&nested(tsdl::MAX_NESTING as usize)).unwrap();
    let error = tsdl::parse(&nested(tsdl::MAX_NESTING as usize + 1)).unwrap_err();
    assert!(error.message.contains("nested deeper than 32"), "{error}");
    // Far deeper than any stack would take without the bound.
    let error = tsdl::parse(&"struct a { ".repeat(100_000)).unwrap_err();
    assert!(error.message.contains("nested deeper"), "{error}");
    let error = tsdl::parse(&nested(100_000)).unwrap_err();
    assert!(error.message.contains("nested deeper"), "{error}");
}

#[test]
fn every_prefix_of_the_samples_parses_or_fails_cleanly() {
    for sample in [UST, KERNEL_STYLE] {
        for end in (0..sample.len()).filter(|&end| sample.is_char_boundary(end)).step_by(7) {
            if let Err(error) = tsdl::parse(&sample[..end]) {
                assert!(error.offset <= end, "{error}");
            }
        }
    }
}
