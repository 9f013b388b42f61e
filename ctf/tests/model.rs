//! The metadata model: names resolved, attributes checked, hostile expansions refused.

use tracemark_ctf::model::{
    Base, ByteOrder, EnumMapping, EnvValue, FieldType, IntegerType, MAX_FIELDS_PER_BYTE, MIN_FIELD_BUDGET,
};
use tracemark_ctf::tsdl::{Position, MAX_NESTING};
use tracemark_ctf::TraceClass;

const UST: &str = include_str!("data/lttng-ust-2.13.tsdl");
const KERNEL_STYLE: &str = include_str!("data/kernel-style.tsdl");

fn int(ty: &FieldType) -> &IntegerType {
    match ty {
        FieldType::Integer(int) => int,
        other => panic!("not an integer: {other:?}"),
    }
}

#[test]
fn lttng_ust_trace_class() {
    let trace = TraceClass::from_tsdl(UST).unwrap();
    assert_eq!(trace.byte_order, ByteOrder::Little);
    assert_eq!(trace.uuid.unwrap()[..4], [0xbe, 0x3f, 0x7c, 0x03]);
    assert_eq!(trace.env_text("tracer_name"), Some("lttng-ust"));
    assert!(trace.env.contains(&("tracer_major".into(), EnvValue::Integer(2))));
    let clock = &trace.clocks[0];
    assert_eq!((clock.name.as_str(), clock.frequency), ("monotonic", 1_000_000_000));
    assert_eq!(clock.offset_ns(), Some(1_796_581_187_306_809_061));

    let header = trace.packet_header.as_ref().unwrap();
    let uuid = &header.field("uuid").unwrap().ty;
    assert!(matches!(uuid, FieldType::Array { length: 16, element } if int(element).size == 8));

    let stream = trace.stream(0).unwrap();
    let context = stream.packet_context.as_ref().unwrap();
    let begin = int(&context.field("timestamp_begin").unwrap().ty);
    assert_eq!((begin.size, begin.clock.as_deref()), (64, Some("monotonic")));
    assert_eq!(int(&context.field("events_discarded").unwrap().ty).size, 64, "`unsigned long` resolved");
    let header = stream.event_header.as_ref().unwrap();
    assert_eq!(header.min_align, 8);
    let FieldType::Enum(id) = &header.fields[0].ty else { panic!() };
    assert_eq!(id.container.size, 16);
    assert_eq!(id.label_of(65_535), Some("extended"));
    assert_eq!(id.label_of(7), Some("compact"));
    let FieldType::Variant(v) = &header.fields[1].ty else { panic!() };
    assert_eq!(v.selector, ["id"]);
    assert_eq!(
        v.options.iter().map(|option| option.name.as_str()).collect::<Vec<_>>(),
        ["compact", "extended"]
    );

    assert_eq!(trace.events.len(), 4);
    let read = &trace.events[0];
    assert_eq!(
        (read.name.as_str(), read.id, read.stream_id, read.log_level),
        ("tmk:syscall_entry_read", 0, 0, Some(13))
    );
    let fields = read.fields.as_ref().unwrap();
    assert_eq!(
        fields.fields.iter().map(|field| field.display_name()).collect::<Vec<_>>(),
        ["fd", "buf", "count"]
    );
    assert_eq!(int(&fields.fields[1].ty).base, Base::Hexadecimal);
    let exit = trace.events[1].fields.as_ref().unwrap();
    assert!(int(&exit.fields[0].ty).signed);
}

#[test]
fn kernel_style_trace_class() {
    let trace = TraceClass::from_tsdl(KERNEL_STYLE).unwrap();
    assert_eq!(trace.byte_order, ByteOrder::Big);
    let context = trace.stream(0).unwrap().packet_context.as_ref().unwrap();
    assert_eq!(int(&context.fields[0].ty).byte_order, ByteOrder::Big, "native is the trace's order");
    let clock = &trace.clocks[0];
    assert_eq!((clock.offset_seconds, clock.precision, clock.absolute), (-2, 8, true));
    assert_eq!(clock.offset_ns(), Some(1_796_581_187_306_809_061 - 2_000_000_000));

    let switch = trace.events[0].fields.as_ref().unwrap();
    let comm = &switch.field("_prev_comm").unwrap().ty;
    assert!(
        matches!(comm, FieldType::Array { length: 16, element } if int(element).encoding == tracemark_ctf::model::Encoding::Utf8)
    );
    assert_eq!(int(&switch.field("_prev_tid").unwrap().ty).size, 32, "typedef pid_t");
    let FieldType::Enum(state) = &switch.field("_prev_state").unwrap().ty else { panic!() };
    assert!(state.container.signed);
    assert_eq!(state.mappings[2], EnumMapping { label: "TASK_UNINTERRUPTIBLE".into(), lo: 2, hi: 2 });
    assert_eq!(state.label_of(100), Some("TASK_DEAD"));
    let FieldType::Float(load) = &switch.field("_load").unwrap().ty else { panic!() };
    assert_eq!((load.size(), load.align, load.byte_order), (64, 64, ByteOrder::Big));
    assert!(matches!(
        switch.field("_reason").unwrap().ty,
        FieldType::String(tracemark_ctf::model::Encoding::Ascii)
    ));

    let poll = trace.events[1].fields.as_ref().unwrap();
    let FieldType::Sequence { element, length } = &poll.field("_fds").unwrap().ty else { panic!() };
    assert_eq!(length, &["__fds_length"]);
    let FieldType::Struct(pollfd) = element.as_ref() else { panic!() };
    assert_eq!(pollfd.fields.len(), 2);
    let FieldType::Array { length: 2, element } = &poll.field("_matrix").unwrap().ty else { panic!() };
    assert!(matches!(element.as_ref(), FieldType::Array { length: 3, .. }));
    let event_context = trace.stream(0).unwrap().event_context.as_ref().unwrap();
    assert_eq!(event_context.fields.len(), 2);
}

fn trace_with(declarations: &str, fields: &str) -> String {
    format!(
        "typealias integer {{ size = 8; }} := u8;\n{declarations}\ntrace {{ major = 1; minor = 8; byte_order = le; }};\n\
         event {{ name = e; fields := struct {{ {fields} }}; }};\n"
    )
}

/// (metadata, what the message says, the text at the error's position)
fn refused() -> Vec<(String, &'static str, &'static str)> {
    vec![
        (trace_with("", "nope_t x;"), "unknown type `nope_t`", "nope_t x;"),
        (trace_with("", "struct nope x;"), "unknown struct `nope`", "struct nope x;"),
        (trace_with("", "u8 x; u8 x;"), "a second field named `x`", "x; }"),
        (trace_with("", "integer { size = 65; } x;"), "from 1 to 64", "size = 65"),
        (trace_with("", "integer { align = 8; } x;"), "without `size`", "integer { align"),
        (trace_with("", "integer { size = 8; align = 3; } x;"), "power of two", "align = 3"),
        (trace_with("", "integer { size = 8; byte_order = middle; } x;"), "`byte_order`", "byte_order = middle"),
        (trace_with("", "integer { size = 8; map = clock.nope.value; } x;"), "clock `nope`", ""),
        (trace_with("", "floating_point { exp_dig = 5; mant_dig = 11; } x;"), "binary32 and binary64", "floating_point"),
        (trace_with("", "enum : floating_point { exp_dig = 8; mant_dig = 24; } { A } x;"), "must be an integer", "enum"),
        (trace_with("", "enum { A } x;"), "needs `int` declared", "enum"),
        (trace_with("", "enum : u8 { A = 5 ... 1 } x;"), "is empty", "A = 5"),
        (trace_with("", "struct { u8 a; } align(3) x;"), "power of two bits", "struct { u8 a; } align(3)"),
        ("trace { major = 2; minor = 0; byte_order = le; };".into(), "only CTF 1.8", "trace"),
        ("trace { major = 1; minor = 8; };".into(), "no `byte_order`", "trace"),
        ("trace { major = 1; minor = 8; byte_order = native; };".into(), "`le` or `be`", "byte_order = native"),
        ("env { a = 1; };".into(), "no `trace` block", ""),
        (
            "trace { major = 1; minor = 8; byte_order = le; }; stream { id = 1; }; stream { id = 1; };".into(),
            "a second stream class with ID 1",
            "stream { id = 1; };",
        ),
        (
            "trace { major = 1; minor = 8; byte_order = le; }; stream { id = 0; }; event { name = a; stream_id = 3; };"
                .into(),
            "names stream class 3",
            "",
        ),
        (
            "trace { major = 1; minor = 8; byte_order = le; }; event { name = a; }; event { name = b; };".into(),
            "reuses ID 0",
            "",
        ),
        (
            "trace { major = 1; minor = 8; byte_order = le; packet.header := string; };".into(),
            "must be a struct",
            "string",
        ),
        ("trace { major = 1; minor = 8; byte_order = le; }; clock { freq = 1; };".into(), "without `name`", "clock"),
        ("trace { major = 1; minor = 8; byte_order = le; }; event { id = 1; };".into(), "without `name`", "event"),
    ]
}

#[test]
fn bad_declarations_are_located() {
    for (text, words, there) in refused() {
        let error = TraceClass::from_tsdl(&text).expect_err(&text);
        assert!(error.message.contains(words), "{text}\n{error}");
        assert_eq!(Position::of(&text, error.offset), Position { line: error.line, column: error.column });
        assert!(text[error.offset..].starts_with(there), "{text}\n{error}: at {:?}", &text[error.offset..]);
    }
}

#[test]
fn doubling_aliases_are_refused_before_they_expand() {
    // Each alias holds the previous one twice: 40 lines would make 2^40 fields.
    let mut declarations = String::from("typealias struct { u8 a; u8 b; } := t0;\n");
    for level in 1..40 {
        declarations.push_str(&format!(
            "typealias struct {{ t{0} a; t{0} b; }} := t{1};\n",
            level - 1,
            level
        ));
    }
    let text = trace_with(&declarations, "t39 x;");
    let error = TraceClass::from_tsdl(&text).unwrap_err();
    assert!(error.message.contains("fields per byte"), "{error}");
    let budget = MIN_FIELD_BUDGET + text.len() * MAX_FIELDS_PER_BYTE;
    assert!(budget < 1 << 20, "the budget stays small for a small text: {budget}");

    // The same types used a few levels deep are fine.
    let text = trace_with(&declarations[..declarations.find("t5;").unwrap() + 4], "t5 x;");
    let trace = TraceClass::from_tsdl(&text).unwrap();
    assert_eq!(trace.events[0].fields.as_ref().unwrap().fields.len(), 1);
}

#[test]
fn aliases_cannot_nest_past_the_bound() {
    let mut declarations = String::from("typealias struct { u8 a; } := t0;\n");
    for level in 1..=MAX_NESTING {
        declarations.push_str(&format!("typealias struct {{ t{} a; }} := t{level};\n", level - 1));
    }
    let text = trace_with(&declarations, &format!("t{} x;", MAX_NESTING));
    let error = TraceClass::from_tsdl(&text).unwrap_err();
    assert!(error.message.contains("nested deeper than 32"), "{error}");
}

#[test]
fn scoped_names_stay_in_their_scope() {
    let text = trace_with(
        "",
        "struct { typealias integer { size = 16; } := inner_t; inner_t a; } s; \
         integer { size = 32; } n; u8 seq[n];",
    );
    let trace = TraceClass::from_tsdl(&text).unwrap();
    let fields = trace.events[0].fields.as_ref().unwrap();
    assert!(matches!(&fields.fields[2].ty, FieldType::Sequence { length, .. } if length == &["n"]));
    let outside =
        trace_with("", "struct { typealias integer { size = 16; } := inner_t; inner_t a; } s; inner_t b;");
    let error = TraceClass::from_tsdl(&outside).unwrap_err();
    assert!(error.message.contains("unknown type `inner_t`"), "{error}");
}

#[test]
fn lttng_packetized_metadata_files_read() {
    for dir in ["lttng-ust-small", "lttng-ust-discarded"] {
        let file =
            std::fs::read(format!("{}/tests/data/{dir}/metadata", env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert_eq!(u32::from_le_bytes(file[..4].try_into().unwrap()), tracemark_ctf::METADATA_PACKET_MAGIC);
        let text = tracemark_ctf::metadata_text(&file).unwrap();
        assert!(text.starts_with("/* CTF 1.8 */"));
        let trace = TraceClass::from_tsdl(&text).unwrap();
        assert_eq!(trace.events.len(), 4, "{dir}");
        assert_eq!(
            trace.uuid.map(|uuid| uuid.to_vec()),
            Some(file[4..20].to_vec()),
            "the packets carry the trace UUID"
        );
    }
}
