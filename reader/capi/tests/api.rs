//! The C API called from Rust: errors are typed statuses with a message, null pointers are
//! refused, a cursor outlives its trace handle, and values are reachable by name and index.

use std::{
    ffi::{CStr, CString},
    ptr,
};

use tracemark_capi::*;
use tracemark_conformance::{rust_writer, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{EnumMapping, Field, IntType, TypeDesc};

fn text(view: Str) -> String {
    if view.ptr.is_null() {
        return String::new();
    }
    // SAFETY: the view comes from the API and the cursor has not moved.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(view.ptr.cast::<u8>(), view.len) })
        .into_owned()
}

fn last_error() -> String {
    // SAFETY: `tmk_last_error` returns a NUL-terminated string.
    unsafe { CStr::from_ptr(tmk_last_error()) }.to_string_lossy().into_owned()
}

fn trace_dir() -> tempfile::TempDir {
    let point = TypeDesc::Struct(vec![
        Field::new("x", TypeDesc::Int(IntType::I32)),
        Field::new("label", TypeDesc::String),
    ]);
    let fields = vec![
        Field::new("count", TypeDesc::Int(IntType::U16)),
        Field::new("points", TypeDesc::sequence(point)),
        Field::new(
            "mode",
            TypeDesc::Enum {
                repr: IntType::I8,
                mappings: vec![EnumMapping { label: "NEG".into(), lo: (-5i64) as u64, hi: (-1i64) as u64 }],
            },
        ),
        Field::new("ratio", TypeDesc::F64),
    ];
    let point = |x: i64, label: &str| Val::Struct(vec![Val::I(x), Val::Str(label.as_bytes().to_vec())]);
    let scenario = Scenario {
        classes: vec![ClassSpec::new("sample", fields)],
        events: vec![EventSpec {
            class: 0,
            cpu: 3,
            timestamp: 1_000,
            values: vec![
                Val::U(2),
                Val::List(vec![point(-7, "a\"b"), point(9, "c")]),
                Val::I(-2),
                Val::F64(0.1),
            ],
        }],
        ..Scenario::default()
    };
    let dir = tempfile::tempdir().unwrap();
    rust_writer::directory(&scenario, &dir.path().join("t")).unwrap();
    dir
}

#[test]
fn open_errors_are_statuses_with_the_readers_message() {
    let mut trace = ptr::null_mut();
    let missing = CString::new("/nonexistent/trace").unwrap();
    // SAFETY: valid arguments.
    assert_eq!(unsafe { tmk_trace_open(missing.as_ptr(), &mut trace) }, Status::Open);
    assert!(trace.is_null());
    assert!(last_error().contains("/nonexistent/trace"), "{}", last_error());
    // SAFETY: null arguments are refused, not dereferenced.
    unsafe {
        assert_eq!(tmk_trace_open(ptr::null(), &mut trace), Status::NullArgument);
        assert_eq!(tmk_trace_open(missing.as_ptr(), ptr::null_mut()), Status::NullArgument);
        assert_eq!(tmk_cursor_next(ptr::null_mut()), ItemKind::End);
        assert!(tmk_cursor_new(ptr::null()).is_null());
        assert_eq!(tmk_event_field_count(ptr::null()), 0);
        tmk_trace_close(ptr::null_mut());
        tmk_cursor_free(ptr::null_mut());
    }
}

#[test]
fn fields_by_name_and_index_and_a_cursor_that_outlives_its_trace() {
    let dir = trace_dir();
    let path = CString::new(dir.path().join("t").to_str().unwrap()).unwrap();
    let mut trace = ptr::null_mut();
    // SAFETY: every pointer below comes from the API and is used while valid.
    unsafe {
        assert_eq!(tmk_trace_open(path.as_ptr(), &mut trace), Status::Ok);
        let cursor = tmk_cursor_new(trace);
        tmk_trace_close(trace);
        assert_eq!(tmk_cursor_next(cursor), ItemKind::Event);
        assert_eq!(text(tmk_event_name(cursor)), "sample");
        assert_eq!(tmk_event_timestamp(cursor), 1_000);
        let (mut class, mut cpu, mut ns) = (0, 0, 0);
        assert!(tmk_event_stream(cursor, &mut class, &mut cpu));
        assert_eq!(cpu, 3);
        assert!(tmk_event_unix_ns(cursor, &mut ns));
        assert_eq!(ns, 1_700_000_000_000_001_000);
        assert!(!tmk_diagnostic_stream(cursor, &mut class, &mut cpu), "not a diagnostic");

        let mut value = std::mem::zeroed::<Value>();
        let name = |text: &str| CString::new(text).unwrap();
        assert_eq!(tmk_event_field(cursor, name("count").as_ptr(), &mut value), Status::Ok);
        assert_eq!((value.kind, value.unsigned_value), (ValueKind::Unsigned, 2));
        assert_eq!(tmk_event_field(cursor, name("nope").as_ptr(), &mut value), Status::NotFound);
        assert!(last_error().contains("nope"));
        assert_eq!(tmk_event_field_at(cursor, 9, &mut value), Status::OutOfRange);

        let mut points = std::mem::zeroed::<Value>();
        assert_eq!(tmk_event_field(cursor, name("points").as_ptr(), &mut points), Status::Ok);
        assert_eq!((points.kind, points.count), (ValueKind::Sequence, 2));
        let mut point = std::mem::zeroed::<Value>();
        assert_eq!(tmk_value_element(&points, 0, &mut point), Status::Ok);
        assert_eq!(tmk_value_element(&points, 2, &mut value), Status::OutOfRange);
        assert_eq!(tmk_value_member(&points, name("x").as_ptr(), &mut value), Status::WrongKind);
        assert_eq!(tmk_value_member(&point, name("x").as_ptr(), &mut value), Status::Ok);
        assert_eq!((value.kind, value.signed_value), (ValueKind::Signed, -7));
        assert_eq!(tmk_value_member_at(&point, 1, &mut value), Status::Ok);
        assert_eq!((text(value.name), text(value.bytes)), ("label".into(), "a\"b".into()));
        // Formatting as tracemark prints: quoted and escaped; truncated like snprintf.
        let mut buffer = [0 as std::ffi::c_char; 4];
        assert_eq!(tmk_value_format(&value, ptr::null_mut(), 0), 6);
        assert_eq!(tmk_value_format(&value, buffer.as_mut_ptr(), buffer.len()), 6);
        assert_eq!(CStr::from_ptr(buffer.as_ptr()).to_str().unwrap(), "\"a\\");

        assert_eq!(tmk_event_field(cursor, name("mode").as_ptr(), &mut value), Status::Ok);
        assert_eq!((value.kind, value.enum_signed, value.signed_value), (ValueKind::Enum, true, -2));
        assert_eq!(text(value.label), "NEG");
        assert_eq!(tmk_event_field(cursor, name("ratio").as_ptr(), &mut value), Status::Ok);
        assert_eq!((value.kind, value.float_value), (ValueKind::F64, 0.1));

        assert_eq!(tmk_cursor_next(cursor), ItemKind::End);
        assert_eq!(tmk_event_field_at(cursor, 0, &mut value), Status::NoEvent);
        assert_eq!(tmk_cursor_next(cursor), ItemKind::End);
        tmk_cursor_free(cursor);
    }
}

/// Orders in which a C caller may read `count` children: forward (the common loop), backward,
/// the same index twice, and strided, each read checked against the decoded tree.
fn reading_orders(count: usize) -> Vec<Vec<usize>> {
    let forward: Vec<usize> = (0..count).collect();
    let backward: Vec<usize> = (0..count).rev().collect();
    let twice: Vec<usize> = (0..count).flat_map(|index| [index, index]).collect();
    let strided: Vec<usize> = (0..count).map(|index| index * 7 % count.max(1)).collect();
    vec![forward, backward, twice, strided]
}

/// Checks the C view of a value against the reader's decoded tree, reading its children in
/// every order of [`reading_orders`], and recursing into the first order's children (so that
/// walks nest, and more values are walked than the cursor remembers).
unsafe fn check_view(view: &Value, expected: &tracemark_reader::Value<'_>) {
    use tracemark_reader::Value as V;
    let mut buffer = vec![0 as std::ffi::c_char; 1 << 16];
    // SAFETY: the view comes from the API and its cursor has not moved.
    let len = unsafe { tmk_value_format(view, buffer.as_mut_ptr(), buffer.len()) };
    // SAFETY: NUL-terminated by `tmk_value_format`.
    let formatted = unsafe { CStr::from_ptr(buffer.as_ptr()) }.to_string_lossy().into_owned();
    assert_eq!((formatted.as_str(), len), (expected.to_string().as_str(), expected.to_string().len()));
    let children: Vec<(&str, &V<'_>)> = match expected {
        V::Array(elements) => {
            assert_eq!(view.kind, ValueKind::Array);
            elements.iter().map(|element| ("", element)).collect()
        }
        V::Sequence(elements) => {
            assert_eq!(view.kind, ValueKind::Sequence);
            elements.iter().map(|element| ("", element)).collect()
        }
        V::Struct(members) => {
            assert_eq!(view.kind, ValueKind::Struct);
            members.iter().map(|(name, member)| (*name, member)).collect()
        }
        V::Unsigned(number) => {
            return assert_eq!((view.kind, view.unsigned_value), (ValueKind::Unsigned, *number))
        }
        V::Signed(number) => return assert_eq!((view.kind, view.signed_value), (ValueKind::Signed, *number)),
        V::Str(bytes) => {
            return assert_eq!(
                (view.kind, text(view.bytes).into_bytes()),
                (ValueKind::String, bytes.to_vec())
            )
        }
        other => panic!("not in this trace: {other:?}"),
    };
    assert_eq!(view.count, children.len());
    let mut child = std::mem::zeroed::<Value>();
    for (round, order) in reading_orders(children.len()).into_iter().enumerate() {
        for index in order {
            let (name, expected_child) = children[index];
            // SAFETY: as above; `child` is writable.
            let status = unsafe {
                if view.kind == ValueKind::Struct {
                    tmk_value_member_at(view, index, &mut child)
                } else {
                    tmk_value_element(view, index, &mut child)
                }
            };
            assert_eq!(status, Status::Ok, "child {index}");
            assert_eq!(text(child.name), name);
            if view.kind == ValueKind::Struct {
                let mut by_name = std::mem::zeroed::<Value>();
                let wanted = CString::new(name).unwrap();
                // SAFETY: as above.
                assert_eq!(unsafe { tmk_value_member(view, wanted.as_ptr(), &mut by_name) }, Status::Ok);
                assert_eq!((by_name.node, by_name.position), (child.node, child.position));
            }
            if round == 0 {
                // SAFETY: as above.
                unsafe { check_view(&child, expected_child) };
            } else {
                // SAFETY: as above.
                let len = unsafe { tmk_value_format(&child, ptr::null_mut(), 0) };
                assert_eq!(len, expected_child.to_string().len());
            }
        }
    }
    // SAFETY: as above.
    assert_eq!(
        unsafe { tmk_value_element(view, children.len(), &mut child) },
        match view.kind {
            ValueKind::Struct => Status::WrongKind,
            _ => Status::OutOfRange,
        }
    );
}

#[test]
fn nested_values_read_in_any_order_match_the_decoded_tree() {
    let row = TypeDesc::Struct(vec![
        Field::new("id", TypeDesc::Int(IntType::U32)),
        Field::new("name", TypeDesc::String),
        Field::new("cells", TypeDesc::sequence(TypeDesc::Int(IntType::U16))),
    ]);
    let fields = vec![
        Field::new("rows", TypeDesc::sequence(row)),
        Field::new("grid", TypeDesc::array(5, TypeDesc::array(3, TypeDesc::Int(IntType::I8)))),
        Field::new("tail", TypeDesc::Int(IntType::U8)),
    ];
    let events = (0..3u64)
        .map(|event| {
            // 40 rows: more values walked at once than the cursor remembers (16).
            let rows = (0..40u64)
                .map(|row| {
                    let cells = (0..(row * 3 + event) % 11).map(|cell| Val::U(row * 100 + cell)).collect();
                    Val::Struct(vec![Val::U(row), Val::Str(format!("r{row}").into_bytes()), Val::List(cells)])
                })
                .collect();
            let grid =
                (0..5i64).map(|x| Val::List((0..3).map(|y| Val::I(x * 3 - y - 7)).collect())).collect();
            EventSpec {
                class: 0,
                cpu: 0,
                timestamp: 1_000 + event,
                values: vec![Val::List(rows), Val::List(grid), Val::U(event)],
            }
        })
        .collect();
    let scenario = Scenario { classes: vec![ClassSpec::new("table", fields)], events, ..Scenario::default() };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t");
    rust_writer::directory(&scenario, &path).unwrap();

    let reader = tracemark_reader::Trace::open(&path).unwrap();
    let decoded: Vec<_> = reader
        .events()
        .map(|item| match item {
            tracemark_reader::Item::Event(event) => event.into_fields(),
            tracemark_reader::Item::Diagnostic(diagnostic) => panic!("{diagnostic}"),
        })
        .collect();
    assert_eq!(decoded.len(), 3);
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    let mut trace = ptr::null_mut();
    // SAFETY: every pointer below comes from the API and is used while valid.
    unsafe {
        assert_eq!(tmk_trace_open(c_path.as_ptr(), &mut trace), Status::Ok);
        let cursor = tmk_cursor_new(trace);
        for fields in &decoded {
            assert_eq!(tmk_cursor_next(cursor), ItemKind::Event);
            assert_eq!(tmk_event_field_count(cursor), fields.len());
            let mut view = std::mem::zeroed::<Value>();
            for order in reading_orders(fields.len()) {
                for index in order {
                    assert_eq!(tmk_event_field_at(cursor, index, &mut view), Status::Ok);
                    check_view(&view, &fields[index].1);
                }
            }
        }
        assert_eq!(tmk_cursor_next(cursor), ItemKind::End);
        tmk_cursor_free(cursor);
        tmk_trace_close(trace);
    }
}

#[test]
fn views_not_filled_by_the_api_are_refused() {
    // SAFETY: a zeroed view has null opaque pointers, which the API refuses.
    unsafe {
        let zeroed = std::mem::zeroed::<Value>();
        let mut out = std::mem::zeroed::<Value>();
        assert_eq!(tmk_value_element(&zeroed, 0, &mut out), Status::NullArgument);
        assert_eq!(tmk_value_member_at(&zeroed, 0, &mut out), Status::NullArgument);
        assert_eq!(tmk_value_element(ptr::null(), 0, &mut out), Status::NullArgument);
        assert_eq!(tmk_value_format(&zeroed, ptr::null_mut(), 0), 0);
    }
}

#[test]
fn a_cursor_over_a_window_delivers_the_events_in_it() {
    let dir = trace_dir();
    let path = CString::new(dir.path().join("t").to_str().unwrap()).unwrap();
    let mut trace = ptr::null_mut();
    let at = 1_700_000_000_000_001_000i64;
    // SAFETY: every pointer below comes from the API and is used while valid.
    unsafe {
        assert_eq!(tmk_trace_open(path.as_ptr(), &mut trace), Status::Ok);
        assert!(tmk_cursor_new_between(ptr::null(), 0, 1).is_null());
        for (from, to, events) in
            [(at, at, 1), (at - 5, at + 5, 1), (at + 1, i64::MAX, 0), (i64::MIN, at - 1, 0)]
        {
            let cursor = tmk_cursor_new_between(trace, from, to);
            let mut found = 0;
            loop {
                match tmk_cursor_next(cursor) {
                    ItemKind::Event => {
                        found += 1;
                        assert_eq!(tmk_event_timestamp(cursor), 1_000);
                    }
                    ItemKind::End => break,
                    _ => {}
                }
            }
            assert_eq!(found, events, "{from}..={to}");
            tmk_cursor_free(cursor);
        }
        tmk_trace_close(trace);
    }
}
