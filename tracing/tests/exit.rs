//! A program that exits without dropping its guard (`std::process::exit`): its trace is
//! finished at exit all the same, every record delivered. The test runs itself as the program.

use std::process::Command;

use tracemark_reader::{Item, Trace};
use tracemark_tracing::TracemarkLayer;
use tracing::info;
use tracing_subscriber::prelude::*;

/// Set in the child's environment: the trace directory it writes.
const CHILD: &str = "TRACEMARK_TRACING_EXIT_CHILD";
const RECORDS: u64 = 10_000;

#[test]
fn exiting_without_dropping_the_guard_loses_nothing() {
    if let Ok(path) = std::env::var(CHILD) {
        let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
        tracing_subscriber::registry().with(layer).init();
        // A worker that ended, and the main thread, both recording.
        std::thread::spawn(|| {
            for n in 0..RECORDS / 2 {
                info!(n, "worker");
            }
        })
        .join()
        .unwrap();
        for n in 0..RECORDS / 2 {
            info!(n, "main");
        }
        std::mem::forget(guard);
        std::process::exit(0);
    }
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "exiting_without_dropping_the_guard_loses_nothing", "--test-threads", "1"])
        .env(CHILD, &path)
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(path.join(tracemark_writer::FINISHED_MARKER).exists(), "the trace is marked finished");
    let trace = Trace::open(&path).unwrap();
    let delivered = trace.events().filter_map(Item::event).count() as u64;
    assert_eq!(delivered, RECORDS);
}

/// Set in the child's environment: the trace directory it writes before aborting.
const ABORTING_CHILD: &str = "TRACEMARK_TRACING_ABORT_CHILD";

/// A program that aborts (no exit hook runs): what it recorded more than a flush interval
/// (1 s) before is in the trace, which opens and is not marked finished; what came after may
/// be lost, and is counted exactly through the progress file (§9.5).
#[test]
fn aborting_loses_at_most_the_last_flush_interval() {
    if let Ok(path) = std::env::var(ABORTING_CHILD) {
        let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
        tracing_subscriber::registry().with(layer).init();
        for n in 0..RECORDS {
            info!(n, "early");
        }
        std::thread::sleep(std::time::Duration::from_millis(2500));
        for n in 0..RECORDS {
            info!(n, "late");
        }
        std::mem::forget(guard);
        std::process::abort();
    }
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "aborting_loses_at_most_the_last_flush_interval", "--test-threads", "1"])
        .env(ABORTING_CHILD, &path)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts");
    assert!(
        !path.join(tracemark_writer::FINISHED_MARKER).exists(),
        "an aborted trace is not marked finished"
    );
    let trace = Trace::open(&path).unwrap();
    let messages: Vec<String> = trace
        .events()
        .filter_map(Item::event)
        .map(|event| {
            event
                .value("message")
                .and_then(|message| message.as_str().map(|text| text.into_owned()))
                .unwrap_or_default()
        })
        .collect();
    let early = messages.iter().filter(|message| *message == "early").count() as u64;
    assert_eq!(early, RECORDS, "every record made more than a flush interval before the abort");
    assert!(messages.len() as u64 <= 2 * RECORDS);

    // What was lost is counted (§9.5): the progress file says every record was written, and
    // what it counts beyond the trace's events is exactly what the abort lost.
    let counts = trace.written_counts().expect("the layer keeps a progress file").unwrap();
    let written: u64 = counts.events_written().map(|(_, written)| written).sum();
    assert_eq!(written, 2 * RECORDS);
    let delivered = messages.len() as u64;
    let mut per_stream = std::collections::BTreeMap::new();
    for event in trace.events().filter_map(Item::event) {
        *per_stream.entry(event.stream()).or_insert(0u64) += 1;
    }
    let undelivered: u64 = counts
        .undelivered(|stream| per_stream.get(&stream).copied().unwrap_or(0))
        .map(|diagnostic| match diagnostic.kind {
            tracemark_reader::DiagnosticKind::EventsNotDelivered { written, delivered } => {
                written - delivered
            }
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(delivered + undelivered, written, "every record delivered or counted as lost");
    println!("abort: {written} records written, {delivered} delivered, {undelivered} counted as lost");
}
