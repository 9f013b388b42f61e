//! Reading on several threads finds exactly what one thread finds, on a mapped trace directory
//! large enough that counting threads claim many runs of packets (and give their pages back as
//! they go), and that decoding workers run far enough ahead to sleep and be woken many times.

#[path = "../bench/realistic.rs"]
mod realistic;

use std::collections::BTreeMap;

use tracemark_reader::Trace;

const EVENTS: u64 = 400_000;

/// The workload in a temporary directory, removed on drop: 4 KiB packets, about 2,600 of them
/// in two files (11 MB: several counting claims per file, five times the decoding lookahead).
struct Workload(std::path::PathBuf);

impl Workload {
    fn write(name: &str) -> Workload {
        let dir = std::env::temp_dir().join(format!("tracemark-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        realistic::directory(&dir, EVENTS, 2, 4096).expect("the workload writes");
        Workload(dir)
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn pipelined_reads_agree_with_single_threaded_ones_whatever_the_workers() {
    let workload = Workload::write("pipelined-reads");
    let trace = Trace::open(&workload.0).expect("the trace opens");
    let typed = realistic::read::typed(&trace, 0);
    let dynamic = realistic::read::dynamic_iter(&trace);
    assert_eq!(typed.events, EVENTS);
    assert_eq!(typed, dynamic, "typed and dynamic reads see the same fields");
    for workers in [1, 2, 3, 6] {
        assert_eq!(realistic::read::typed(&trace, workers), typed, "typed, {workers} workers");
        assert_eq!(
            realistic::read::dynamic_iter_pipelined(&trace, workers),
            dynamic,
            "dynamic, {workers} workers"
        );
    }
}

#[test]
fn every_thread_count_agrees_with_the_generator() {
    let workload = Workload::write("count-parallel");
    let trace = Trace::open(&workload.0).expect("the trace opens");

    let mut expected: BTreeMap<&str, u64> = BTreeMap::new();
    for i in 0..EVENTS {
        let name = match realistic::generate(i) {
            realistic::Generated::Entry { .. } => "syscall_entry_read",
            realistic::Generated::Exit { .. } => "syscall_exit_read",
            realistic::Generated::Switch { .. } => "sched_switch",
            realistic::Generated::Marker { .. } => realistic::MARKER_NAME,
        };
        *expected.entry(name).or_default() += 1;
    }

    let single = trace.count_events(1);
    assert!(single.bytes > 4 * (2 << 20), "the trace spans several claim runs ({} bytes)", single.bytes);
    for threads in [1, 2, 3, 8] {
        let counts = trace.count_events(threads);
        assert_eq!(counts, single, "{threads} threads");
        let by_name: BTreeMap<&str, u64> = counts
            .by_class
            .iter()
            .map(|(id, n)| (trace.metadata().event_class(*id).expect("declared").name.as_str(), *n))
            .collect();
        assert_eq!(by_name, expected, "{threads} threads");
        assert_eq!(counts.events, EVENTS);
        assert_eq!((counts.crc_failures, counts.stopped_packets), (0, 0));
    }
}
