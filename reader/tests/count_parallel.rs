//! Counting on several threads (`Trace::count_events`) finds exactly the events one thread
//! finds, on a mapped trace directory large enough that the threads claim many runs of
//! packets and give their pages back as they go.

#[path = "../bench/realistic.rs"]
mod realistic;

use std::collections::BTreeMap;

use tracemark_reader::Trace;

#[test]
fn every_thread_count_agrees_with_the_generator() {
    const EVENTS: u64 = 400_000;
    let dir = std::env::temp_dir().join(format!("tracemark-count-parallel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // 4 KiB packets: about 2,600 of them in two files, several claim runs per file.
    realistic::directory(&dir, EVENTS, 2, 4096).expect("the workload writes");
    let trace = Trace::open(&dir).expect("the trace opens");

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
    drop(trace);
    std::fs::remove_dir_all(&dir).expect("the temporary trace is removed");
}
