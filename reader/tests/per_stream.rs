//! Reading streams side by side: a dispatcher restricted to one stream delivers exactly what
//! that stream's iterator does, in the same order, and `Trace::map_streams` returns one result
//! per stream in stream order whatever the number of threads.

#[path = "../bench/realistic.rs"]
mod realistic;

use tracemark_reader::{Dispatcher, Item, StreamId, Trace};

fn trace() -> Trace {
    // Three streams, small packets: many packets per stream.
    Trace::from_bytes(realistic::single_file(30_000, 3, 4096)).expect("the workload opens")
}

/// (timestamp, class ID, record bytes) of each event, and the diagnostics' messages.
type Seen = (Vec<(u64, u32, Vec<u8>)>, Vec<String>);

fn through_dispatcher(trace: &Trace, id: StreamId) -> Seen {
    let seen = std::cell::RefCell::new((Vec::new(), Vec::new()));
    let mut run = Dispatcher::new(trace);
    run.only_stream(id)
        .on_every_event(|event| {
            seen.borrow_mut().0.push((event.timestamp(), event.id(), event.record_bytes().to_vec()))
        })
        .on_diagnostic(|diagnostic| seen.borrow_mut().1.push(diagnostic.to_string()));
    let summary = run.run();
    let seen = seen.into_inner();
    assert_eq!(summary.events as usize, seen.0.len());
    seen
}

fn through_iterator(trace: &Trace, id: StreamId) -> Seen {
    let mut seen: Seen = (Vec::new(), Vec::new());
    for item in trace.stream(id).expect("the stream exists") {
        match item {
            Item::Event(event) => seen.0.push((event.timestamp(), event.id(), event.record_bytes().to_vec())),
            Item::Diagnostic(diagnostic) => seen.1.push(diagnostic.to_string()),
        }
    }
    seen
}

#[test]
fn a_dispatcher_restricted_to_a_stream_delivers_what_its_iterator_does() {
    let trace = trace();
    let ids: Vec<StreamId> = trace.stream_ids().collect();
    assert_eq!(ids.len(), 3);
    let mut total = 0;
    for &id in &ids {
        let dispatched = through_dispatcher(&trace, id);
        assert_eq!(dispatched, through_iterator(&trace, id), "stream {id:?}");
        assert!(dispatched.0.len() > 9_000);
        total += dispatched.0.len();
    }
    assert_eq!(total, 30_000);
    // No such stream: nothing at all.
    let absent = StreamId { class: 7, instance: 99 };
    assert_eq!(through_dispatcher(&trace, absent), (Vec::new(), Vec::new()));
}

#[test]
fn map_streams_returns_one_result_per_stream_in_stream_order() {
    let trace = trace();
    let ids: Vec<StreamId> = trace.stream_ids().collect();
    let expected: Vec<(StreamId, usize)> = ids
        .iter()
        .map(|&id| (id, trace.stream(id).expect("exists").filter_map(Item::event).count()))
        .collect();
    for threads in [0, 1, 2, 3, 8] {
        let results = trace.map_streams(threads, |id| {
            (id, trace.stream(id).expect("exists").filter_map(Item::event).count())
        });
        assert_eq!(results, expected, "{threads} threads");
    }
    // The typed analysis per stream sees every event, whatever the threads.
    let one = realistic::read::typed_per_stream(&trace, 1);
    assert_eq!(one.events, 30_000);
    for threads in [2, 3, 4] {
        assert_eq!(realistic::read::typed_per_stream(&trace, threads), one, "{threads} threads");
    }
}
