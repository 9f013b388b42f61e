//! The layer against the reader: what a program records through `tracing` is what
//! `tracemark_reader` reads back, spans and events, every field typed; threads get their own
//! streams; a full ring drops and counts, never blocks; a callsite whose records differ gets a
//! class per signature; a `Debug` implementation that logs neither deadlocks nor panics; threads
//! still running at the end are sealed, not waited for; spans are slices in Chrome JSON.

use std::{fmt, path::Path};

use tracemark_reader::{Event, Item, Trace, Value};
use tracemark_tracing::TracemarkLayer;
use tracing::{dispatcher::Dispatch, field::Empty, info, info_span, warn};
use tracing_subscriber::prelude::*;

fn dispatch(layer: TracemarkLayer) -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(layer))
}

/// An event as read: its name, its stream instance (the thread's ring), its fields as text.
type Read = (String, u32, Vec<(String, String)>);

/// Every event of the trace at `path`.
fn read(path: &Path) -> Vec<Read> {
    let trace = Trace::open(path).unwrap();
    let mut events = Vec::new();
    for item in trace.events() {
        match item {
            Item::Event(event) => events.push(describe(&event)),
            Item::Diagnostic(diagnostic) => assert!(diagnostic.is_loss(), "{diagnostic}"),
        }
    }
    events
}

fn describe(event: &Event<'_>) -> (String, u32, Vec<(String, String)>) {
    let fields = event.values().map(|(name, value)| (name.to_owned(), shown(&value))).collect();
    (event.name().to_owned(), event.stream().instance, fields)
}

/// A value as text, its type told: `u:3`, `i:-1`, `f:0.5`, `b:true`, `s:text`, `blob:ff00`.
fn shown(value: &Value<'_>) -> String {
    match value {
        Value::Unsigned(value) => format!("u:{value}"),
        Value::Signed(value) => format!("i:{value}"),
        Value::F64(value) => format!("f:{value}"),
        Value::Bool(value) => format!("b:{value}"),
        Value::Str(bytes) => format!("s:{}", String::from_utf8_lossy(bytes)),
        Value::Blob(bytes) => {
            format!("blob:{}", bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
        }
        other => format!("{other:?}"),
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(field, _)| field == name).map_or("<missing>", |(_, value)| value)
}

#[test]
fn spans_and_events_read_back_with_their_types() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
    tracing::dispatcher::with_default(&dispatch(layer), || {
        let span = info_span!("request", id = 7, path = "/index", status = Empty);
        {
            let _entered = span.enter();
            info!(
                count = 3u64,
                ratio = 0.5,
                ok = true,
                delta = -2i64,
                big = 1u128 << 100,
                "served {}",
                "fast"
            );
            warn!(http.method = "GET", data = &b"\xff\x00\x01"[..], text = "cut\0here");
            span.record("status", 200u64);
        }
        drop(span);
    });
    let report = guard.finish().unwrap();
    assert_eq!(
        (report.events_written, report.events_discarded, report.refused, report.reentrant),
        (7, 0, 0, 0)
    );

    let events = read(&path);
    let names: Vec<&str> = events.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names[0], "layer:request:new");
    assert_eq!(names[1], "layer:request:enter");
    assert!(names[2].starts_with("layer:event ") && names[2].contains("tests/layer.rs:"), "{}", names[2]);
    assert!(names[3].starts_with("layer:event ") && names[3].contains("tests/layer.rs:"), "{}", names[3]);
    assert_eq!(&names[4..], ["layer:request:record", "layer:request:exit", "layer:request:close"]);

    let new = &events[0].2;
    let span_id = field(new, "span_id").to_owned();
    assert!(span_id.starts_with("u:") && span_id != "u:0", "{span_id}");
    assert_eq!(field(new, "parent_id"), "u:0");
    assert_eq!(field(new, "id"), "i:7");
    assert_eq!(field(new, "path"), "s:/index");
    // `status` was not recorded at creation: the class has no such field.
    assert_eq!(field(new, "status"), "<missing>");
    for (_, _, fields) in &events[4..] {
        assert_eq!(field(fields, "span_id"), span_id);
    }
    assert_eq!(field(&events[4].2, "status"), "u:200");

    let info = &events[2].2;
    assert_eq!(field(info, "message"), "s:served fast");
    assert_eq!(field(info, "count"), "u:3");
    assert_eq!(field(info, "ratio"), "f:0.5");
    assert_eq!(field(info, "ok"), "b:true");
    assert_eq!(field(info, "delta"), "i:-2");
    assert_eq!(field(info, "big"), format!("s:{}", 1u128 << 100));
    let warn = &events[3].2;
    assert_eq!(field(warn, "http_method"), "s:GET");
    assert_eq!(field(warn, "data"), "blob:ff0001");
    // A string ends at its first NUL (§6.5).
    assert_eq!(field(warn, "text"), "s:cut");

    let trace = Trace::open(&path).unwrap();
    let levels: Vec<u8> = trace.metadata().event_classes().map(|class| class.log_level).collect();
    assert!(levels.contains(&6) && levels.contains(&4), "{levels:?}");
}

#[test]
fn each_thread_writes_its_own_stream_and_finishing_waits_for_none() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
    let dispatch = dispatch(layer);
    let threads: Vec<_> = (0..4u64)
        .map(|thread| {
            let dispatch = dispatch.clone();
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for n in 0..1000u64 {
                        info!(thread, n);
                    }
                })
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let report = guard.finish().unwrap();
    assert_eq!(report.events_written + report.events_discarded, 4000);
    let events = read(&path);
    assert_eq!(events.len() as u64, report.events_written);
    // Per thread, its events in order, all on one stream.
    for thread in 0..4u64 {
        let mine: Vec<_> =
            events.iter().filter(|(_, _, fields)| field(fields, "thread") == format!("u:{thread}")).collect();
        let streams: std::collections::BTreeSet<u32> = mine.iter().map(|(_, stream, _)| *stream).collect();
        assert_eq!(streams.len(), 1, "thread {thread}: {streams:?}");
        let ns: Vec<String> = mine.iter().map(|(_, _, fields)| field(fields, "n").to_owned()).collect();
        let mut sorted = ns.clone();
        sorted.sort_by_key(|n| n[2..].parse::<u64>().unwrap());
        assert_eq!(ns, sorted);
    }
}

#[test]
fn a_full_ring_drops_and_counts_never_blocks() {
    use tracemark_writer::{ring::RingSession, Config, DirectorySink};
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let session = RingSession::builder(Config::default().packet_size(4096))
        .subbufs(2)
        .poll_interval(std::time::Duration::from_millis(50))
        .build_with_clock(tracemark_tracing::LayerClock::monotonic(), DirectorySink::create(&path).unwrap())
        .unwrap();
    let (layer, guard) = TracemarkLayer::new(session);
    let started = std::time::Instant::now();
    tracing::dispatcher::with_default(&dispatch(layer), || {
        for n in 0..200_000u64 {
            info!(n, padding = "0123456789abcdef0123456789abcdef");
        }
    });
    let elapsed = started.elapsed();
    let report = guard.finish().unwrap();
    assert_eq!(report.events_written + report.events_discarded, 200_000);
    assert!(report.events_discarded > 0, "{report:?}");
    let trace = Trace::open(&path).unwrap();
    assert_eq!(trace.summary().discarded, report.events_discarded);
    assert_eq!(trace.events().filter_map(Item::event).count() as u64, report.events_written);
    // 200,000 records into two 4 KiB packets polled every 50 ms: a blocking writer would wait
    // for the consumer thousands of times.
    assert!(elapsed < std::time::Duration::from_secs(30), "{elapsed:?}");
}

#[test]
fn a_callsite_gets_a_class_per_signature() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
    tracing::dispatcher::with_default(&dispatch(layer), || {
        for n in 0..4u64 {
            // `None` records nothing: those records have no `maybe` field.
            let maybe = (n % 2 == 0).then_some(n);
            info!(n, maybe);
        }
    });
    guard.finish().unwrap();
    let events = read(&path);
    assert_eq!(events.len(), 4);
    assert_eq!(field(&events[0].2, "maybe"), "u:0");
    assert_eq!(field(&events[1].2, "maybe"), "<missing>");
    assert_eq!(field(&events[2].2, "maybe"), "u:2");
    let trace = Trace::open(&path).unwrap();
    let ids: std::collections::BTreeSet<u32> =
        trace.events().filter_map(Item::event).map(|event| event.id()).collect();
    assert_eq!(ids.len(), 2, "one class per signature");
    let names: std::collections::BTreeSet<String> =
        trace.events().filter_map(Item::event).map(|event| event.name().to_owned()).collect();
    assert_eq!(names.len(), 1, "same name: {names:?}");
}

/// A value whose `Debug` logs: the layer is already recording on this thread.
struct Noisy;

impl fmt::Debug for Noisy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        info!("from inside Debug");
        write!(f, "noisy")
    }
}

/// `tracing` itself drops an event made while the subscriber is handling one on the same
/// thread; the layer's own guard (counted as `reentrant`) is there should it not.
#[test]
fn a_debug_implementation_that_logs_neither_deadlocks_nor_panics() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
    tracing::dispatcher::with_default(&dispatch(layer), || {
        info!(value = ?Noisy);
    });
    let report = guard.finish().unwrap();
    assert_eq!((report.events_written, report.refused), (1, 0));
    let events = read(&path);
    assert_eq!(field(&events[0].2, "value"), "s:noisy");
}

#[test]
fn records_after_the_guard_finished_are_counted() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
    let dispatch = dispatch(layer);
    tracing::dispatcher::with_default(&dispatch, || info!("before"));
    let report = guard.finish().unwrap();
    assert_eq!(report.events_written, 1);
    tracing::dispatcher::with_default(&dispatch, || info!("after"));
    assert_eq!(read(&path).len(), 1);
}

/// A pool the program did not shut down before dropping the guard (a tokio runtime's workers):
/// its threads are still recording when the trace is finished. Their rings are sealed: every
/// record made until then is in the trace, in order, which is marked finished; later records
/// are counted, not written.
#[test]
fn threads_still_running_when_the_guard_finishes_are_sealed() {
    use std::sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Barrier,
    };
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
    let dispatch = dispatch(layer);
    let (finished, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let after_finish = Arc::new(AtomicU64::new(0));
    let recorded: Arc<[AtomicU64; 3]> = Arc::new(Default::default());
    let running = Arc::new(Barrier::new(5));
    let workers: Vec<_> = (0..3u64)
        .map(|thread| {
            let (dispatch, finished, stop) = (dispatch.clone(), finished.clone(), stop.clone());
            let (after_finish, running, recorded) = (after_finish.clone(), running.clone(), recorded.clone());
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    running.wait();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Acquire) {
                        let late = finished.load(Ordering::Acquire);
                        info!(thread, n);
                        after_finish.fetch_add(u64::from(late), Ordering::Relaxed);
                        n += 1;
                        recorded[thread as usize].store(n, Ordering::Relaxed);
                        if n.is_multiple_of(64) {
                            std::thread::yield_now();
                        }
                    }
                })
            })
        })
        .collect();
    // A worker that recorded once and is now parked, its ring held.
    let idle = {
        let (dispatch, stop, running) = (dispatch.clone(), stop.clone(), running.clone());
        std::thread::spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || info!(thread = 9u64, n = 0u64));
            running.wait();
            while !stop.load(Ordering::Acquire) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
    };
    running.wait();
    // Every worker recording before the finish, however the threads are scheduled (a fixed
    // 50 ms was once not enough for one of them on two loaded cores).
    let started = std::time::Instant::now();
    while recorded.iter().any(|count| count.load(Ordering::Relaxed) < 100) {
        assert!(started.elapsed().as_secs() < 60, "the workers never got going");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let report = guard.finish().unwrap();
    finished.store(true, Ordering::Release);
    assert!(path.join("finished").exists(), "the trace is marked finished (§9.4)");
    // The workers go on recording, into sealed rings.
    std::thread::sleep(std::time::Duration::from_millis(20));
    stop.store(true, Ordering::Release);
    for worker in workers {
        worker.join().unwrap();
    }
    idle.join().unwrap();
    assert!(after_finish.load(Ordering::Relaxed) > 0, "the workers were still recording after the finish");
    assert!(report.events_written > 300, "{report:?}");

    let trace = Trace::open(&path).unwrap();
    assert_eq!(trace.summary().discarded, report.events_discarded);
    let events = read(&path);
    assert_eq!(events.len() as u64, report.events_written, "every record written before the seal");
    for thread in [0u64, 1, 2, 9] {
        let ns: Vec<u64> = events
            .iter()
            .filter(|(_, _, fields)| field(fields, "thread") == format!("u:{thread}"))
            .map(|(_, _, fields)| field(fields, "n")[2..].parse().unwrap())
            .collect();
        assert!(!ns.is_empty(), "thread {thread}");
        assert!(ns.windows(2).all(|pair| pair[0] < pair[1]), "thread {thread}: in order, once each");
        if report.events_discarded == 0 {
            assert_eq!(*ns.last().unwrap() + 1, ns.len() as u64, "thread {thread}: no gap");
        }
    }
    // The idle worker's ring at least; a busy worker may see the layer closed and give its ring
    // back before it is sealed.
    assert!((1..=4).contains(&report.threads_sealed), "{report:?}");
}

/// `convert --to chrome-json` shows each span entered and exited as a slice on its thread's
/// track, nested as the program nested them.
#[test]
fn spans_are_slices_in_chrome_json() {
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
    tracing::dispatcher::with_default(&dispatch(layer), || {
        let outer = info_span!("outer");
        let _outer = outer.enter();
        for n in 0..3u64 {
            let inner = info_span!("inner", n);
            let _inner = inner.enter();
            info!(n, "working");
        }
    });
    guard.finish().unwrap();
    let trace = Trace::open(&path).unwrap();
    let mut json = Vec::new();
    let summary = tracemark_export::write_chrome_json(&trace, &mut json, |_| {}).unwrap();
    assert_eq!(summary.spans, 4);
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let slices: Vec<&serde_json::Value> = json["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["ph"] == "X" && event["cat"] == "span")
        .collect();
    let named = |name: &str| slices.iter().filter(|slice| slice["name"] == name).count();
    assert_eq!((named("layer:outer"), named("layer:inner")), (1, 3));
    let micros = |value: &serde_json::Value| value.as_f64().unwrap();
    let outer = slices.iter().find(|slice| slice["name"] == "layer:outer").unwrap();
    let (outer_start, outer_end) = (micros(&outer["ts"]), micros(&outer["ts"]) + micros(&outer["dur"]));
    for inner in slices.iter().filter(|slice| slice["name"] == "layer:inner") {
        assert!(
            micros(&inner["ts"]) >= outer_start && micros(&inner["ts"]) + micros(&inner["dur"]) <= outer_end
        );
        assert_eq!(inner["tid"], outer["tid"]);
    }
}

/// A callsite built by hand, as a macro cannot (the macros stop at 32 fields): 200 fields.
struct WideCallsite(std::sync::OnceLock<&'static tracing_core::Metadata<'static>>);

impl tracing_core::Callsite for WideCallsite {
    fn set_interest(&self, _: tracing_core::Interest) {}

    fn metadata(&self) -> &tracing_core::Metadata<'_> {
        self.0.get().expect("the metadata is set before the callsite is used")
    }
}

static WIDE: WideCallsite = WideCallsite(std::sync::OnceLock::new());

#[test]
fn a_callsite_of_200_fields_is_a_class_of_200_fields() {
    use tracing_core::{callsite::Identifier, field::FieldSet, Kind, Level, Metadata};
    const WIDTH: usize = 200;
    let names: &'static [&'static str] =
        Vec::leak((0..WIDTH).map(|index| &*String::leak(format!("field.{index}"))).collect());
    let metadata: &'static Metadata<'static> = Box::leak(Box::new(Metadata::new(
        "wide",
        "layer",
        Level::INFO,
        None,
        None,
        None,
        FieldSet::new(names, Identifier(&WIDE)),
        Kind::EVENT,
    )));
    WIDE.0.set(metadata).unwrap();
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let (layer, guard) = TracemarkLayer::directory(&path).unwrap();
    tracing::dispatcher::with_default(&dispatch(layer), || {
        let numbers: Vec<u64> = (0..WIDTH as u64).map(|n| n * n).collect();
        let values: Vec<Option<&dyn tracing_core::field::Value>> =
            numbers.iter().map(|n| Some(n as &dyn tracing_core::field::Value)).collect();
        tracing_core::Event::dispatch(metadata, &metadata.fields().value_set_all(&values));
    });
    assert_eq!(guard.finish().unwrap().events_written, 1);
    let events = read(&path);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "layer:wide");
    let fields = &events[0].2;
    assert_eq!(fields.len(), WIDTH);
    assert_eq!(field(fields, "field_0"), "u:0");
    assert_eq!(field(fields, "field_199"), format!("u:{}", 199 * 199));
}

/// With the TSC where it is invariant: the records' times convert to wall-clock time (through
/// the CLOCK record's calibrated frequency and offset) within the recording's bounds, in order.
#[test]
fn the_tsc_clock_gives_wall_clock_times_in_order() {
    let Some(clock) = tracemark_tracing::LayerClock::tsc() else {
        eprintln!("no invariant TSC here: nothing to check");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("trace");
    let now_ns =
        || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i128;
    let (layer, guard) = TracemarkLayer::directory_with_clock(&path, clock).unwrap();
    let before = now_ns();
    tracing::dispatcher::with_default(&dispatch(layer), || {
        for n in 0..1000u64 {
            info!(n);
            if n % 100 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    });
    let after = now_ns();
    guard.finish().unwrap();
    let trace = Trace::open(&path).unwrap();
    assert_eq!(trace.metadata().clocks().next().unwrap().name, "tsc");
    let times: Vec<i128> =
        trace.events().filter_map(Item::event).map(|event| event.unix_ns().unwrap()).collect();
    assert_eq!(times.len(), 1000);
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "in time order");
    // The calibration is good to about 1e-4 and its offset to a few microseconds.
    let slack = 5_000_000;
    assert!(times[0] >= before - slack && times[999] <= after + slack, "{before} <= {times:?} <= {after}");
    assert!(times[999] - times[0] >= 9_000_000, "ten 1 ms sleeps lie between the first and the last");
}
