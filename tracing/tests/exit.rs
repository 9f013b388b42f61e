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
