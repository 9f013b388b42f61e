//! The directory form and the single-file form of one trace decode to the same events (§9.3).

use tracemark_conformance::{compare, rust_writer, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{Abi, ByteOrder, Field, IntType, TypeDesc};
use tracemark_reader::{Item, Trace};

fn scenario() -> Scenario {
    let fields = vec![Field::new("n", TypeDesc::Int(IntType::U32)), Field::new("s", TypeDesc::String)];
    let events = (0..500u64)
        .map(|n| EventSpec {
            class: (n % 2) as usize,
            cpu: (n % 4) as u32,
            timestamp: 100 + n * 7 - (n % 4),
            values: vec![Val::U(n), Val::Str(format!("event {n}").into_bytes())],
        })
        .collect();
    Scenario {
        abi: Abi::ilp32(ByteOrder::Big),
        packet_size: 512,
        classes: vec![ClassSpec::new("a", fields.clone()), ClassSpec::new("b", fields)],
        events,
        ..Scenario::default()
    }
}

fn event_lines(trace: &Trace) -> Vec<String> {
    trace
        .events()
        .map(|item| match item {
            Item::Event(event) => event_line(&event),
            Item::Diagnostic(diagnostic) => panic!("unexpected diagnostic: {diagnostic}"),
        })
        .collect()
}

fn event_line(event: &tracemark_reader::Event<'_>) -> String {
    format!("{} {} {} {event}", event.timestamp(), event.stream(), event.name())
}

#[test]
fn directory_and_single_file_give_the_same_events() {
    let scenario = scenario();
    let dir = tempfile::tempdir().unwrap();
    let trace_dir = dir.path().join("trace");
    rust_writer::directory(&scenario, &trace_dir).unwrap();
    let single = dir.path().join("trace.tmk");
    std::fs::write(&single, rust_writer::single_file(&scenario).unwrap()).unwrap();

    let from_dir = Trace::open(&trace_dir).unwrap();
    let from_file = Trace::open(&single).unwrap();
    compare::check(&scenario, &from_dir).unwrap();
    compare::check(&scenario, &from_file).unwrap();
    let (dir_events, file_events) = (event_lines(&from_dir), event_lines(&from_file));
    assert_eq!(dir_events.len(), 500);
    assert_eq!(dir_events, file_events);

    // Concatenating the directory's files gives a valid single file with the same events.
    let mut concatenated = std::fs::read(trace_dir.join("metadata")).unwrap();
    let mut stream_files: Vec<_> = std::fs::read_dir(&trace_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tmk"))
        .collect();
    stream_files.sort();
    assert_eq!(stream_files.len(), 4);
    for path in stream_files {
        concatenated.extend(std::fs::read(path).unwrap());
    }
    assert_eq!(event_lines(&Trace::from_bytes(concatenated).unwrap()), dir_events);
}

#[test]
fn the_writers_indexes_pass_check_and_serve_window_reads() {
    use tracemark_conformance::check;
    let scenario = scenario();
    let dir = tempfile::tempdir().unwrap();
    let trace_dir = dir.path().join("trace");
    rust_writer::directory(&scenario, &trace_dir).unwrap();
    let single = dir.path().join("trace.tmk");
    rust_writer::file(&scenario, &single).unwrap();
    for path in [&trace_dir, &single] {
        let report = check::check(&check::Source::path(path)).unwrap();
        assert!(report.findings.is_empty(), "{}: {:?}", path.display(), report.findings);
        let trace = Trace::open(path).unwrap();
        let stored = trace.stored_indexes();
        assert_eq!(stored.len(), if path == &single { 1 } else { 4 });
        assert!(stored
            .iter()
            .all(|stored| matches!(stored.status, tracemark_reader::IndexStatus::Usable(_))));
        // A window read goes through them and reads what a walk reads.
        let (start, end) = trace.time_span().unwrap();
        let (from, to) = (start + (end - start) / 3, start + (end - start) / 2);
        let window: Vec<String> =
            trace.events_between(from, to).filter_map(Item::event).map(|e| event_line(&e)).collect();
        assert!(trace.reads_through_index(), "{}", path.display());
        let expected: Vec<String> = event_lines(&trace)
            .into_iter()
            .zip(trace.events().filter_map(Item::event).map(|event| event.unix_ns().unwrap()))
            .filter(|(_, ns)| (from..=to).contains(ns))
            .map(|(line, _)| line)
            .collect();
        assert!(!window.is_empty());
        assert_eq!(window, expected);
    }
}
