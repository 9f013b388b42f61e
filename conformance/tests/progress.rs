//! The progress file (§9.5) through `tracemark check` and the reader: a writer that ends
//! without delivering its last packets leaves counts from which the loss is told exactly
//! (R-9.5-2); a file that is invalid or another trace's is ignored, with a warning.

use std::{fs, path::Path, time::Duration};

use tracemark_conformance::check::{self, Severity, Source};
use tracemark_format::progress;
use tracemark_reader::{DiagnosticKind, Item, ProgressProblem, StreamId, Trace};
use tracemark_writer::{event, ring::RingSession, Config, DirectorySink};

event! {
    /// One per call, numbered.
    pub struct Step("step") { pub n: u64 }
}

/// Writes `per_stream` events from each of two threads into a session that keeps a progress
/// file, lets the consumer deliver the complete packets, then drops the session without
/// finishing it (as a killed process would end): the open packets are never delivered.
fn write_and_abandon(dir: &Path, per_stream: u64) {
    let session = RingSession::builder(Config::with_uuid([21; 16]).packet_size(1024))
        .subbufs(64)
        .flush_interval(None)
        .progress_file(dir.join(progress::FILE_NAME))
        .build(DirectorySink::create(dir).unwrap())
        .unwrap();
    let step = session.register::<Step>().unwrap();
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let stream = session.stream().unwrap();
                for n in 0..per_stream {
                    assert!(stream.emit(step, &Step { n }).unwrap());
                }
                // Both streams held at once (two slots); the consumer delivers the full packets.
                barrier.wait();
                std::thread::sleep(Duration::from_millis(100));
                // Dropping the stream would close its packet: keep it open, as a killed thread would.
                std::mem::forget(stream);
            });
        }
    });
    drop(session);
}

fn delivered_per_stream(trace: &Trace) -> std::collections::BTreeMap<StreamId, u64> {
    let mut delivered = std::collections::BTreeMap::new();
    for item in trace.events() {
        if let Item::Event(event) = item {
            *delivered.entry(event.stream()).or_insert(0) += 1;
        }
    }
    delivered
}

#[test]
fn an_abandoned_sessions_undelivered_events_are_counted_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace");
    write_and_abandon(&path, 1000);
    let trace = Trace::open(&path).unwrap();
    let delivered = delivered_per_stream(&trace);
    let counts = trace.written_counts().expect("a progress file").unwrap();
    assert_eq!(counts.events_written().map(|(_, written)| written).collect::<Vec<_>>(), [1000, 1000]);
    let undelivered: Vec<_> =
        counts.undelivered(|stream| delivered.get(&stream).copied().unwrap_or(0)).collect();
    assert_eq!(undelivered.len(), 2, "the last packet of each stream was never delivered");
    for diagnostic in &undelivered {
        let stream = diagnostic.stream.unwrap();
        let DiagnosticKind::EventsNotDelivered { written, delivered: got } = diagnostic.kind else {
            panic!("{diagnostic:?}")
        };
        assert_eq!((written, got), (1000, delivered.get(&stream).copied().unwrap_or(0)));
        assert!(got > 0 && got < 1000, "complete packets delivered, the open one not: {got}");
        assert_eq!((diagnostic.section, diagnostic.offset), ("9.5", 64 + 64 * u64::from(stream.instance)));
    }

    let report = check::check(&Source::path(&path)).unwrap();
    let found: Vec<_> = report.findings.iter().filter(|finding| finding.requirement == "R-9.5-2").collect();
    assert_eq!(found.len(), 2, "{:#?}", report.findings);
    for finding in &found {
        assert_eq!((finding.severity, finding.rule), (Severity::Notice, "reader/EventsNotDelivered"));
        assert!(finding.file.ends_with("progress"), "{}", finding.file);
    }
    let lost: u64 = delivered.values().map(|got| 1000 - got).sum();
    assert!(found.iter().any(|finding| finding.message.contains("written but not delivered")));
    assert!(lost > 0);
}

#[test]
fn a_finished_trace_with_a_progress_file_has_nothing_undelivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace");
    let session = RingSession::builder(Config::with_uuid([22; 16]))
        .progress_file(path.join(progress::FILE_NAME))
        .build(DirectorySink::create(&path).unwrap())
        .unwrap();
    let step = session.register::<Step>().unwrap();
    let stream = session.stream().unwrap();
    for n in 0..500 {
        stream.emit(step, &Step { n }).unwrap();
    }
    drop(stream);
    session.finish().unwrap();
    let report = check::check(&Source::path(&path)).unwrap();
    assert!(
        report.findings.iter().all(|finding| !finding.requirement.starts_with("R-9.5")),
        "{:#?}",
        report.findings
    );
    let trace = Trace::open(&path).unwrap();
    let delivered = delivered_per_stream(&trace);
    let counts = trace.written_counts().unwrap().unwrap();
    assert_eq!(counts.undelivered(|stream| delivered[&stream]).count(), 0);
}

#[test]
fn an_invalid_or_foreign_progress_file_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace");
    write_and_abandon(&path, 10);
    let file = path.join(progress::FILE_NAME);
    let good = fs::read(&file).unwrap();
    let mut foreign = good.clone();
    foreign[16] ^= 1;
    let cases: [(&str, Vec<u8>, u64); 4] = [
        ("garbage", b"not a progress file at all, but long enough to hold a header of 64 bytes".to_vec(), 0),
        ("truncated", good[..40].to_vec(), 0),
        ("version 9", [&good[..4], &9u16.to_le_bytes(), &good[6..]].concat(), 4),
        ("another trace's", foreign, 16),
    ];
    for (what, bytes, offset) in cases {
        fs::write(&file, &bytes).unwrap();
        let trace = Trace::open(&path).unwrap();
        let ignored = trace.written_counts().unwrap().unwrap_err();
        assert!(matches!(ignored.kind, DiagnosticKind::ProgressIgnored(_)), "{what}: {ignored:?}");
        assert_eq!(ignored.offset, offset, "{what}");
        if what == "another trace's" {
            assert!(matches!(
                ignored.kind,
                DiagnosticKind::ProgressIgnored(ProgressProblem::ForeignUuid { .. })
            ));
        }
        let report = check::check(&Source::path(&path)).unwrap();
        let found: Vec<_> =
            report.findings.iter().filter(|finding| finding.requirement == "R-9.5-2").collect();
        assert_eq!(found.len(), 1, "{what}: {:#?}", report.findings);
        assert_eq!(
            (found[0].severity, found[0].rule),
            (Severity::Warning, "reader/ProgressIgnored"),
            "{what}"
        );
    }
    // A file of only a header: counts nothing, so nothing is reported.
    fs::write(&file, &good[..64]).unwrap();
    let trace = Trace::open(&path).unwrap();
    assert_eq!(trace.written_counts().unwrap().unwrap().events_written().count(), 0);
}
