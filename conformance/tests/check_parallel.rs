//! `check` reads streams in parallel; `check_with` reads them in turn. Both must give the same
//! report, finding for finding, whatever the schedule: on every vector, and on multi-stream
//! traces whose findings cross streams (a string that is not UTF-8 is reported once per class).

use std::path::PathBuf;

use tracemark_conformance::{check, rust_writer, vectors, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{Field, IntType, TypeDesc};

fn both(source: &check::Source) -> check::Report {
    let parallel = check::check(source).expect("checkable");
    let mut visited = 0u64;
    let serial = check::check_with(source, &mut |_| visited += 1).expect("checkable");
    assert_eq!(parallel, serial, "parallel and serial reports differ");
    assert_eq!(visited, serial.events);
    parallel
}

#[test]
fn parallel_and_serial_checks_agree_on_every_vector() {
    let root = vectors::default_dir();
    let mut checked = 0;
    for kind in ["valid", "invalid"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(kind))
            .expect("the vectors directory")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "tmk"))
            .collect();
        paths.sort();
        for path in paths {
            // Some invalid vectors cannot be read at all: both paths must say so alike.
            let parallel = check::check(&check::Source::path(&path)).map_err(|error| error.to_string());
            let serial = check::check_with(&check::Source::path(&path), &mut |_| {})
                .map_err(|error| error.to_string());
            assert_eq!(parallel, serial, "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} vectors found");
}

/// Three streams of one class with a string field; the string is not UTF-8 in streams 1 and 2
/// only, from event `bad_from` on.
fn non_utf8_scenario(bad_from: usize) -> Scenario {
    let class = ClassSpec::new(
        "msg",
        vec![Field::new("n", TypeDesc::Int(IntType::U32)), Field::new("text", TypeDesc::String)],
    );
    let events = (0..600)
        .map(|i| {
            let cpu = (i % 3) as u32;
            let text = if cpu > 0 && i >= bad_from { vec![b'x', 0xFF, b'y'] } else { b"fine".to_vec() };
            EventSpec {
                class: 0,
                cpu,
                timestamp: 100 + i as u64,
                values: vec![Val::U(i as u64), Val::Str(text)],
            }
        })
        .collect();
    Scenario { packet_size: 512, classes: vec![class], events, ..Scenario::default() }
}

#[test]
fn a_non_utf8_class_is_reported_once_from_the_first_stream_that_has_one() {
    for bad_from in [0, 301, 599] {
        let scenario = non_utf8_scenario(bad_from);
        let bytes = rust_writer::single_file(&scenario).expect("the scenario writes");
        let report = both(&check::Source::bytes("three-streams.tmk", bytes));
        assert_eq!(report.streams, 3);
        assert_eq!(report.events, 600);
        let utf8: Vec<_> = report.findings.iter().filter(|finding| finding.rule == "string-utf8").collect();
        assert_eq!(utf8.len(), 1, "bad from {bad_from}: {utf8:?}");
        // Streams are checked in container order: the first with a bad string reports it.
        let first_bad_stream =
            (bad_from..600).map(|i| (i % 3) as u32).find(|cpu| *cpu > 0).expect("a bad event");
        assert_eq!(
            utf8[0].stream.map(|stream| stream.instance),
            Some(first_bad_stream),
            "bad from {bad_from}"
        );

        let dir =
            std::env::temp_dir().join(format!("tracemark-check-parallel-{}-{bad_from}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        rust_writer::directory(&scenario, &dir).expect("the scenario writes a directory");
        let report = both(&check::Source::path(&dir));
        assert_eq!(report.findings.iter().filter(|finding| finding.rule == "string-utf8").count(), 1);
        std::fs::remove_dir_all(&dir).expect("the temporary trace is removed");
    }
}
