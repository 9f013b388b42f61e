//! A typed dispatcher's values decoded on the worker threads are the values decoded on the
//! calling thread: the same values in the same order and the same decoding failures, whatever
//! the number of workers. And workers do decode values ahead when they run ahead.

use std::{cell::Cell, cell::RefCell, time::Duration};

use tracemark_conformance::{rust_writer, ClassSpec, EventSpec as Emit, Scenario, Val};
use tracemark_format::{Field, IntType, TypeDesc};
use tracemark_reader::{Dispatcher, HandlerSummary, Trace, TraceEvent};

#[derive(TraceEvent, Debug, Clone, PartialEq)]
struct Request<'a> {
    id: u64,
    path: &'a str,
}

#[derive(TraceEvent, Debug, Clone, PartialEq)]
struct Tick {
    n: u32,
}

const EVENTS: u64 = 40_000;

/// Requests and ticks on four CPUs in 4 KiB packets: about 900 KB, so that the workers'
/// lookahead (512 KiB) holds many packets. One request in 13 has a path that is not UTF-8,
/// which fails to decode as `&str`.
fn trace() -> Trace {
    let events = (0..EVENTS)
        .map(|i| {
            let (class, values) = if i % 3 == 0 {
                (1, vec![Val::U(i)])
            } else {
                let path = if i % 13 == 1 { b"/srv/\xff".to_vec() } else { format!("/srv/{i}").into_bytes() };
                (0, vec![Val::U(i), Val::Str(path)])
            };
            Emit { class, cpu: (i % 4) as u32, timestamp: 1_000 + i * 10, values }
        })
        .collect();
    let scenario = Scenario {
        classes: vec![
            ClassSpec::new(
                "request",
                vec![Field::new("id", TypeDesc::Int(IntType::U64)), Field::new("path", TypeDesc::String)],
            ),
            ClassSpec::new("tick", vec![Field::new("n", TypeDesc::Int(IntType::U32))]),
        ],
        events,
        ..Scenario::default()
    };
    Trace::from_bytes(rust_writer::single_file(&scenario).expect("the scenario writes"))
        .expect("the trace opens")
}

/// What a run delivered: (timestamp, CPU, value) per handler, and the handlers' summaries.
#[derive(Debug, PartialEq)]
struct Seen<'t> {
    requests: Vec<(u64, u32, Request<'t>)>,
    ticks: Vec<(u64, u32, Tick)>,
    summaries: Vec<HandlerSummary>,
}

/// One typed run with `workers` workers, whose first handler call sleeps `pause` so that the
/// workers can run ahead.
fn run(trace: &Trace, workers: usize, pause: Duration) -> Seen<'_> {
    let requests = RefCell::new(Vec::new());
    let ticks = RefCell::new(Vec::new());
    let paused = Cell::new(false);
    let pause_once = || {
        if !paused.replace(true) {
            std::thread::sleep(pause);
        }
    };
    let mut dispatcher = Dispatcher::new(trace);
    dispatcher.workers(workers);
    dispatcher
        .on(|context, request: Request| {
            pause_once();
            requests.borrow_mut().push((context.timestamp(), context.stream().instance, request));
        })
        .expect("request binds");
    dispatcher
        .on(|context, tick: Tick| {
            pause_once();
            ticks.borrow_mut().push((context.timestamp(), context.stream().instance, tick));
        })
        .expect("tick binds");
    let summary = dispatcher.run();
    assert_eq!(summary.events, EVENTS);
    Seen { requests: requests.into_inner(), ticks: ticks.into_inner(), summaries: summary.handlers }
}

/// `seen` without the counts of values decoded ahead, which depend on the threads' timing.
fn timing_free(mut seen: Seen<'_>) -> Seen<'_> {
    for summary in &mut seen.summaries {
        assert!(summary.decoded_ahead <= summary.delivered, "{summary:?}");
        summary.decoded_ahead = 0;
    }
    seen
}

#[test]
fn values_decoded_ahead_are_the_values_decoded_on_the_calling_thread() {
    let trace = trace();
    let here = run(&trace, 0, Duration::ZERO);
    assert!(here.summaries.iter().all(|summary| summary.decoded_ahead == 0), "{:?}", here.summaries);
    let [requests, ticks] = &here.summaries[..] else { panic!("two handlers: {:?}", here.summaries) };
    let bad = (0..EVENTS).filter(|i| i % 3 != 0 && i % 13 == 1).count() as u64;
    assert_eq!((requests.delivered, requests.failed), (EVENTS - EVENTS.div_ceil(3), bad));
    assert!(requests.first_error.is_some());
    assert_eq!((ticks.delivered, ticks.failed), (EVENTS.div_ceil(3), 0));
    assert_eq!(here.requests.len() as u64, requests.delivered - bad);
    for workers in [1, 2, 3] {
        for pause in [Duration::ZERO, Duration::from_millis(20)] {
            assert_eq!(timing_free(run(&trace, workers, pause)), here, "{workers} workers, pause {pause:?}");
        }
    }
}

#[test]
fn workers_that_run_ahead_decode_values_ahead() {
    let trace = trace();
    let here = run(&trace, 0, Duration::ZERO);
    // The worker thread has to be scheduled while the calling thread sleeps: on a loaded
    // machine it may not be, so a few attempts.
    let mut attempts = Vec::new();
    for _ in 0..5 {
        let ahead = run(&trace, 1, Duration::from_millis(100));
        let counts: Vec<u64> = ahead.summaries.iter().map(|summary| summary.decoded_ahead).collect();
        assert_eq!(timing_free(ahead), here);
        if counts.iter().all(|&count| count > 0) {
            return;
        }
        attempts.push(counts);
    }
    panic!("no run decoded values of both handlers ahead: {attempts:?}");
}
