//! The ring-based session end to end: typed events and markers written into per-thread rings,
//! drained by the consumer thread, read back with the real reader (`tracemark-reader`).
#![cfg(not(loom))]

use std::{
    collections::BTreeMap,
    fs,
    path::PathBuf,
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tracemark_format::{ByteOrder, HeaderWord, TypeDesc};
use tracemark_reader::{DiagnosticKind, Item, Trace};
use tracemark_writer::{
    enum_type, event,
    ring::{HeapRing, Local, RingConfig, RingSession, VOID_EVENT_NAME},
    Abi, CLong, Config, DirectorySink, Error, EventType, FileSink, ManualClock, MarkerArg, MemorySink,
    MonotonicClock, PayloadWriter, Pointer, Registry, TraceDescription, FINISHED_MARKER,
};

enum_type! {
    /// A state.
    pub enum State: CLong { Idle = 0, Busy = 1 }
}

event! {
    /// Every field kind the demo uses, with a per-thread sequence number.
    pub struct Tick<'a>("tick") {
        pub thread: u32,
        pub seq: u64,
        pub name: &'a str,
        pub state: State,
        pub ptr: Pointer,
        pub samples: &'a [i16],
        pub pair: [CLong; 2],
    }
    /// The 3-integer event of the benchmarks.
    pub struct Ints("ints") { pub a: i32, pub b: i64, pub c: u64 }
}

fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("tracemark-ring-{}-{name}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&path);
    let _ = fs::remove_file(&path);
    path
}

fn description() -> TraceDescription {
    TraceDescription { hostname: "ring-test".into(), ..TraceDescription::unknown() }
}

/// One event read back: stream instance, name, fields as text.
type ReadEvent = (u32, String, BTreeMap<String, String>);

/// Every event of a trace, and its diagnostics.
fn read(trace: &Trace) -> (Vec<ReadEvent>, Vec<DiagnosticKind>) {
    let (mut events, mut diagnostics) = (Vec::new(), Vec::new());
    for item in trace.events() {
        match item {
            Item::Event(event) => {
                let fields = event
                    .fields()
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect();
                events.push((event.stream().instance, event.name().to_string(), fields));
            }
            Item::Diagnostic(diagnostic) => diagnostics.push(diagnostic.kind),
        }
    }
    (events, diagnostics)
}

/// Writes `per_thread` ticks (and a marker every 50) from each of `threads` threads.
fn workload<M, C, K>(session: &RingSession<M, C, K>, threads: u32, per_thread: u64)
where
    M: tracemark_writer::ring::Mode,
    C: tracemark_writer::Clock + Clone + Send + Sync + 'static,
    K: tracemark_writer::ring::Concurrency,
{
    let tick = session.register::<Tick>().unwrap();
    // Every thread holds its stream for the whole run, so each gets its own slot (a slot given
    // back is reused by the next thread that asks, and its stream goes on).
    let (taken, written) =
        (std::sync::Barrier::new(threads as usize), std::sync::Barrier::new(threads as usize));
    std::thread::scope(|scope| {
        for thread in 0..threads {
            let (taken, written) = (&taken, &written);
            scope.spawn(move || {
                let mut stream = session.stream().unwrap();
                taken.wait();
                let samples = [1i16, -2, 3];
                for seq in 0..per_thread {
                    let event = Tick {
                        thread,
                        seq,
                        name: ["a", "bb", "ccc"][(seq % 3) as usize],
                        state: if seq.is_multiple_of(2) { State::Idle } else { State::Busy },
                        ptr: Pointer(0xdead_0000 + seq),
                        samples: &samples[..(seq % 4) as usize],
                        pair: [CLong(-(seq as i64)), CLong(seq as i64)],
                    };
                    assert!(stream.emit(tick, &event).unwrap(), "roomy rings drop nothing");
                    if seq.is_multiple_of(50) {
                        let args = [MarkerArg::UInt(seq), MarkerArg::Str("note")];
                        assert!(stream.marker("checkpoint", "seq %llu says %s", &args).unwrap());
                    }
                }
                written.wait();
            });
        }
    });
}

/// Checks that `events` holds every tick of `threads` × `per_thread`, each once, in order per
/// thread, with its fields, plus the markers.
fn check_workload(events: &[ReadEvent], threads: u32, per_thread: u64) {
    let mut next = vec![0u64; threads as usize];
    let mut markers = 0;
    for (_, name, fields) in events {
        match name.as_str() {
            "tick" => {
                let thread: usize = fields["thread"].parse().unwrap();
                let seq: u64 = fields["seq"].parse().unwrap();
                assert_eq!(seq, next[thread], "thread {thread}: events in order, none missing or doubled");
                next[thread] += 1;
                assert_eq!(fields["name"], format!("{:?}", ["a", "bb", "ccc"][(seq % 3) as usize]));
                assert!(
                    fields["state"].starts_with(if seq.is_multiple_of(2) { "Idle" } else { "Busy" }),
                    "{fields:?}"
                );
                assert_eq!(fields["pair"], format!("[{}, {seq}]", -(seq as i64)));
            }
            "checkpoint" => {
                assert!(fields.values().any(|v| v.contains("note")), "{fields:?}");
                markers += 1;
            }
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(next, vec![per_thread; threads as usize]);
    assert_eq!(markers, threads as u64 * per_thread.div_ceil(50));
}

#[test]
fn threads_write_typed_events_and_markers_read_back_exactly() {
    let sink = MemorySink::new();
    let session = RingSession::builder(Config::with_uuid([1; 16]).packet_size(4096))
        .description(description())
        .subbufs(64)
        .build_with_clock(MonotonicClock::new(), sink.clone())
        .unwrap();
    workload(&session, 4, 3000);
    let summary = session.finish().unwrap();
    let written = 4 * 3000 + 4 * 60;
    assert_eq!((summary.events_written, summary.events_discarded, summary.streams), (written, 0, 4));

    let trace = Trace::from_bytes(sink.bytes()).unwrap();
    let (events, diagnostics) = read(&trace);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(events.len() as u64, written);
    check_workload(&events, 4, 3000);
    // The void class is declared (so a broken encoder's record stays readable) but unused.
    assert!(trace.summary().event_classes.iter().any(|class| class.name == VOID_EVENT_NAME));
    assert_eq!(trace.summary().streams.len(), 4);
}

#[test]
fn shared_rings_and_the_file_and_directory_forms() {
    let dir = scratch("dir");
    let file = scratch("file.tmk");
    let config = Config::with_uuid([2; 16]).packet_size(1024);
    let session = RingSession::builder(config)
        .shared()
        .subbufs(256)
        .build(DirectorySink::create(&dir).unwrap())
        .unwrap();
    workload(&session, 3, 1000);
    assert!(!dir.join(FINISHED_MARKER).exists(), "not finished yet");
    session.finish().unwrap();
    assert!(dir.join(FINISHED_MARKER).exists(), "the directory sink marks the trace finished (§9.4)");
    let session = RingSession::builder(config).subbufs(256).build(FileSink::create(&file).unwrap()).unwrap();
    workload(&session, 3, 1000);
    session.finish().unwrap();
    for path in [&dir, &file] {
        let trace = Trace::open(path).unwrap();
        let (events, diagnostics) = read(&trace);
        assert!(diagnostics.is_empty(), "{}: {diagnostics:?}", path.display());
        check_workload(&events, 3, 1000);
    }
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_file(&file);
}

#[test]
fn the_flush_timer_delivers_a_quiet_threads_events() {
    let dir = scratch("quiet");
    let session = RingSession::builder(Config::with_uuid([3; 16]))
        .flush_interval(Some(Duration::from_millis(20)))
        .build(DirectorySink::create(&dir).unwrap())
        .unwrap();
    let ints = session.register::<Ints>().unwrap();
    let stream = session.stream().unwrap();
    for i in 0..5 {
        stream.emit(ints, &Ints { a: i, b: -(i as i64), c: 7 }).unwrap();
    }
    // The stream stays open and quiet; its 5 events fill a fraction of a 64 KiB packet.
    let deadline = Instant::now() + Duration::from_secs(10);
    let seen = loop {
        let seen = Trace::open(&dir).map(|trace| read(&trace).0.len()).unwrap_or(0);
        if seen == 5 || Instant::now() > deadline {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(seen, 5, "the periodic flush closed the quiet ring's packet and the consumer wrote it");
    drop(stream);
    session.finish().unwrap();
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_full_ring_counts_what_it_drops_and_the_stop_loses_nothing_else() {
    // Tiny rings and a slow consumer: many events are dropped. Every event is delivered exactly
    // once or counted, in the packets the reader sees (§10.1).
    let sink = MemorySink::new();
    let session = RingSession::builder(Config::with_uuid([4; 16]).packet_size(512))
        .subbufs(2)
        .poll_interval(Duration::from_millis(5))
        .build_with_clock(Arc::new(ManualClock::new(1)), sink.clone())
        .unwrap();
    let ints = session.register::<Ints>().unwrap();
    let (threads, per_thread) = (3u32, 20_000u64);
    let dropped: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let session = &session;
                scope.spawn(move || {
                    let stream = session.stream().unwrap();
                    (0..per_thread)
                        .filter(|&seq| {
                            !stream.emit(ints, &Ints { a: t as i32, b: seq as i64, c: 0 }).unwrap()
                        })
                        .count() as u64
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let summary = session.finish().unwrap();
    assert_eq!(summary.events_discarded, dropped);
    assert_eq!(summary.events_written + dropped, threads as u64 * per_thread);
    assert!(dropped > 0, "the rings were meant to overflow");

    let trace = Trace::from_bytes(sink.bytes()).unwrap();
    let (events, diagnostics) = read(&trace);
    let mut reported = 0;
    for diagnostic in &diagnostics {
        match diagnostic {
            DiagnosticKind::DiscardedEvents { count, .. } => reported += count,
            other => panic!("unexpected diagnostic {other:?}"),
        }
    }
    assert_eq!(reported, dropped, "the reader reports every dropped event (§10.1)");
    assert_eq!(events.len() as u64, summary.events_written, "every event not dropped is delivered");
    // Per writer thread (field `a`; a thread that finished early gave its slot to another, so a
    // stream may hold two threads' events), each event at most once and in order.
    let mut last = BTreeMap::new();
    for (_, _, fields) in &events {
        let (thread, seq): (u32, i64) = (fields["a"].parse().unwrap(), fields["b"].parse().unwrap());
        if let Some(previous) = last.insert(thread, seq) {
            assert!(seq > previous, "thread {thread}: {seq} after {previous}");
        }
    }
}

#[test]
fn overwrite_mode_snapshots_hold_the_latest_events() {
    let sink = MemorySink::new();
    let session = RingSession::builder(Config::with_uuid([5; 16]).packet_size(1024))
        .subbufs(4)
        .overwrite()
        .build(sink.clone())
        .unwrap();
    let ints = session.register::<Ints>().unwrap();
    let stream = session.stream().unwrap();
    let snapshot_seqs = |from: u64, to: u64| {
        for seq in from..to {
            assert!(
                stream.emit(ints, &Ints { a: 0, b: seq as i64, c: 1 }).unwrap(),
                "overwrite mode never drops here"
            );
        }
        let mut snapshot = MemorySink::new();
        let summary = session.snapshot(&mut snapshot).unwrap();
        assert_eq!(summary.busy_rings, 0);
        let trace = Trace::from_bytes(snapshot.bytes()).unwrap();
        let (events, diagnostics) = read(&trace);
        let seqs: Vec<u64> = events.iter().map(|(_, _, f)| f["b"].parse().unwrap()).collect();
        (seqs, diagnostics, summary)
    };
    // 5000 events of 28 bytes: ~140 KB through 4 KB of ring. The snapshot holds a contiguous run
    // ending with the last event; older packets show as a sequence gap (§10.2).
    let (seqs, diagnostics, summary) = snapshot_seqs(0, 5000);
    assert!(!seqs.is_empty() && seqs.len() < 5000);
    assert_eq!(*seqs.last().unwrap(), 4999);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "contiguous");
    assert!(summary.data_packets >= 3 && summary.data_packets <= 5, "{summary:?}");
    assert!(
        diagnostics.iter().any(|d| matches!(d, DiagnosticKind::PacketGap { .. })),
        "the overwritten packets are reported: {diagnostics:?}"
    );
    // A snapshot releases what it extracted: the next holds only what came after.
    let (seqs, _, _) = snapshot_seqs(5000, 5010);
    assert_eq!(seqs, (5000..5010).collect::<Vec<_>>());
    for seq in 5010..5020 {
        stream.emit(ints, &Ints { a: 0, b: seq, c: 1 }).unwrap();
    }
    drop(stream);
    // The stop writes what the rings still hold to the session sink.
    let summary = session.finish().unwrap();
    assert_eq!(summary.events_written, 5020);
    let (events, _) = read(&Trace::from_bytes(sink.bytes()).unwrap());
    let seqs: Vec<i64> = events.iter().map(|(_, _, f)| f["b"].parse().unwrap()).collect();
    assert_eq!(seqs, (5010..5020).collect::<Vec<_>>());
}

/// An event whose encoder writes fewer bytes than it declares.
struct Liar(usize);
impl EventType for Liar {
    const NAME: &'static str = "liar";
    fn fields() -> Vec<tracemark_format::Field> {
        vec![tracemark_format::Field::new("word", TypeDesc::Int(tracemark_format::IntType::U64))]
    }
    fn encoded_size(&self, _: &Abi) -> usize {
        self.0
    }
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_u32(0xFFFF_FFFF);
    }
}

#[test]
fn a_lying_encoder_becomes_a_void_record_and_the_packet_stays_readable() {
    // Either header word (§5.1); the liar's records compact, or extended (ID 0x1000 is past
    // the narrow word's 8 bits), so the void ID is rewritten in each of the four forms.
    for (word, liar_id) in
        [(HeaderWord::Wide, None), (HeaderWord::Narrow, None), (HeaderWord::Narrow, Some(0x1000))]
    {
        let sink = MemorySink::new();
        let config = Config::with_uuid([6; 16]).header_word(word);
        let session = RingSession::builder(config).build(sink.clone()).unwrap();
        let ints = session.register::<Ints>().unwrap();
        if let Some(id) = liar_id {
            session.set_next_event_id(id).unwrap();
        }
        let liar = session.register::<Liar>().unwrap();
        let stream = session.stream().unwrap();
        stream.emit(ints, &Ints { a: 1, b: 2, c: 3 }).unwrap();
        match stream.emit(liar, &Liar(8)) {
            Err(Error::PayloadSize { declared: 8, written: 4 }) => {}
            other => panic!("{other:?}"),
        }
        match stream.emit(liar, &Liar(0)) {
            Err(Error::PayloadSize { declared: 0, written: 1 }) => {}
            other => panic!("{other:?}"),
        }
        stream.emit(ints, &Ints { a: 4, b: 5, c: 6 }).unwrap();
        drop(stream);
        let summary = session.finish().unwrap();
        assert_eq!((summary.events_written, summary.events_discarded), (2, 2));
        let trace = Trace::from_bytes(sink.bytes()).unwrap();
        let words: Vec<_> = trace.events().filter_map(Item::event).map(|event| event.header_word()).collect();
        assert_eq!(words, [word; 3]);
        let (events, diagnostics) = read(&trace);
        let names: Vec<&str> = events.iter().map(|(_, name, _)| name.as_str()).collect();
        assert_eq!(names, ["ints", VOID_EVENT_NAME, "ints"], "the record after the void one decodes");
        assert_eq!(events[2].2["c"], "6");
        assert!(
            diagnostics.iter().all(|d| matches!(d, DiagnosticKind::DiscardedEvents { count: 2, .. })),
            "{diagnostics:?}"
        );
    }
}

#[test]
fn foreign_handles_oversized_events_and_the_session_lifecycle() {
    let other = RingSession::builder(Config::with_uuid([7; 16])).build(MemorySink::new()).unwrap();
    let foreign = other.register::<Ints>().unwrap();
    let session =
        RingSession::builder(Config::with_uuid([8; 16]).packet_size(256)).build(MemorySink::new()).unwrap();
    let tick = session.register::<Tick>().unwrap();
    let stream = session.stream().unwrap();
    assert!(matches!(stream.emit(foreign, &Ints { a: 0, b: 0, c: 0 }), Err(Error::ForeignHandle { .. })));
    let big = [0i16; 100];
    let event = Tick {
        thread: 0,
        seq: 0,
        name: "x",
        state: State::Idle,
        ptr: Pointer(0),
        samples: &big,
        pair: [CLong(0); 2],
    };
    assert!(matches!(stream.emit(tick, &event), Err(Error::EventTooLarge { capacity: 176, .. })));
    assert_eq!(stream.discarded(), 1, "an oversized event is counted (§10.1)");
    assert!(matches!(session.finish(), Err(Error::StreamsOpen(1))));
    drop(stream);
    let summary = session.finish().unwrap();
    assert_eq!(summary.events_discarded, 1);
    assert!(matches!(session.finish(), Err(Error::Finished)));
    assert!(matches!(session.stream(), Err(Error::Finished)));
    drop(other);
}

#[test]
fn big_endian_ilp32_and_extended_ids_read_back() {
    let sink = MemorySink::new();
    let abi = Abi::ilp32(ByteOrder::NATIVE.opposite());
    let session = RingSession::builder(Config::with_uuid([9; 16]).abi(abi).packet_size(2048))
        .build_with_clock(Arc::new(ManualClock::new(1 << 50)), sink.clone())
        .unwrap();
    session.set_next_event_id(0x1_0000).unwrap();
    let tick = session.register::<Tick>().unwrap();
    assert_eq!(tick.id(), 0x1_0000, "an extended header (§5.3) for every tick");
    workload(&session, 2, 500);
    session.finish().unwrap();
    let bytes = sink.bytes();
    let magic = if cfg!(target_endian = "little") { b"KMRT" } else { b"TRMK" };
    assert_eq!(&bytes[..4], magic);
    let trace = Trace::from_bytes(bytes).unwrap();
    assert_eq!(trace.metadata().trace_info().abi, abi);
    let (events, diagnostics) = read(&trace);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    check_workload(&events, 2, 500);
}

#[test]
fn a_dropped_reservation_is_committed_not_stalled() {
    // The raw API on a ring made for a registry's stream: a reservation dropped half written (an
    // early return, a panic in an encoder) becomes a void record, counted as discarded; the
    // packet is still delivered.
    let config = Config::with_uuid([10; 16]).packet_size(512);
    let mut registry = Registry::new(&config, description()).unwrap();
    let clock = registry.add_clock(tracemark_writer::Clock::class(&MonotonicClock::new())).unwrap();
    let class = registry.add_stream_class("default", clock).unwrap();
    let ints = registry.register::<Ints>(class).unwrap();
    let ring_config = RingConfig::for_stream(&mut registry, class, 0, 4).unwrap();
    // SAFETY: this thread alone writes the ring.
    let owned = unsafe {
        HeapRing::<tracemark_writer::ring::Discard, _, Local>::new_local(ring_config, MonotonicClock::new())
    }
    .unwrap();
    let ring = owned.ring();
    {
        let mut half = ring.reserve(ints.id(), 20).unwrap();
        half.write_i32(1);
    }
    assert!(ring.emit(ints, &Ints { a: 2, b: 3, c: 4 }).unwrap());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ring.emit_with(ints.raw(), 20, |writer| {
            writer.write_u32(9);
            panic!("encoder panics midway");
        })
    }));
    assert!(result.is_err());
    assert!(ring.emit(ints, &Ints { a: 5, b: 6, c: 7 }).unwrap());
    // Both voided events are counted as discarded (§10.1).
    assert_eq!(ring.discarded(), 2);
    ring.flush(false);
    let mut bytes = Vec::new();
    registry.flush(&mut bytes).unwrap();
    let mut consumer = ring.consumer().unwrap();
    while let Some(packet) = consumer.get_next_packet() {
        bytes.extend_from_slice(packet.bytes());
        consumer.put_packet();
    }
    let (events, diagnostics) = read(&Trace::from_bytes(bytes).unwrap());
    // The reader reports the two as lost (§10.1), and nothing else.
    assert!(matches!(diagnostics[..], [DiagnosticKind::DiscardedEvents { count: 2, .. }]), "{diagnostics:?}");
    let names: Vec<&str> = events.iter().map(|(_, name, _)| name.as_str()).collect();
    assert_eq!(names, [VOID_EVENT_NAME, "ints", VOID_EVENT_NAME, "ints"]);
    assert_eq!(events[3].2["c"], "7");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn tsc_timestamps_convert_to_wall_clock_time_in_the_reader() {
    use tracemark_writer::TscClock;
    let clock = TscClock::calibrate(Duration::from_millis(20));
    let sink = MemorySink::new();
    let session =
        RingSession::builder(Config::with_uuid([11; 16])).build_with_clock(clock, sink.clone()).unwrap();
    let ints = session.register::<Ints>().unwrap();
    let stream = session.stream().unwrap();
    let unix_ns =
        || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i128;
    let before = unix_ns();
    stream.emit(ints, &Ints { a: 0, b: 0, c: 0 }).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    stream.emit(ints, &Ints { a: 1, b: 0, c: 0 }).unwrap();
    let after = unix_ns();
    drop(stream);
    session.finish().unwrap();

    let trace = Trace::from_bytes(sink.bytes()).unwrap();
    let clock_record = trace.summary().clocks[0].clone();
    assert_eq!((clock_record.name.as_str(), clock_record.frequency), ("tsc", clock.frequency()));
    let times: Vec<(u64, i128)> = trace
        .events()
        .map(|item| match item {
            Item::Event(event) => (event.timestamp(), event.unix_ns().unwrap()),
            Item::Diagnostic(d) => panic!("{d}"),
        })
        .collect();
    assert_eq!(times.len(), 2);
    // Ticks, not nanoseconds, on the wire; the reader converts with the CLOCK record (§7.4).
    let ticks = times[1].0 - times[0].0;
    let apart = times[1].1 - times[0].1;
    assert!((ticks as f64 / clock.frequency() as f64 - apart as f64 / 1e9).abs() < 1e-6);
    assert!((49_000_000..200_000_000).contains(&apart), "the events are {apart} ns apart");
    // The epoch offset places them within the wall-clock window that brackets them (a few µs of
    // calibration error allowed).
    assert!(times[0].1 > before - 1_000_000 && times[1].1 < after + 1_000_000, "{before} {times:?} {after}");
}

#[test]
fn finish_sealing_ends_live_threads_streams_and_delivers_all_they_wrote() {
    // Threads that keep their streams (a pool nobody shut down): three write as fast as they
    // can, one holds an idle stream, one gave its stream back before. `finish_sealing` must
    // deliver every record written before each seal, refuse every later one, and finish the
    // trace (marker written); nothing invented, nothing lost, nothing duplicated.
    let dir = scratch("sealing");
    let session = RingSession::builder(Config::with_uuid([12; 16]).packet_size(1024))
        .subbufs(64)
        .poll_interval(Duration::from_millis(1))
        .build(DirectorySink::create(&dir).unwrap())
        .unwrap();
    let ints = session.register::<Ints>().unwrap();
    let writers = 3u32;
    let running = std::sync::Barrier::new(writers as usize + 2);
    let finished = std::sync::Barrier::new(writers as usize + 2);
    let (summary, written, dropped) = std::thread::scope(|scope| {
        {
            let stream = session.stream().unwrap();
            stream.emit(ints, &Ints { a: 99, b: 0, c: 0 }).unwrap();
        }
        let workers: Vec<_> = (0..writers)
            .map(|t| {
                let (session, running, finished) = (&session, &running, &finished);
                scope.spawn(move || {
                    let stream = session.stream().unwrap();
                    let (mut written, mut dropped, mut seq) = (0u64, 0u64, 0i64);
                    running.wait();
                    loop {
                        match stream.emit(ints, &Ints { a: t as i32, b: seq, c: 0 }) {
                            Ok(true) => written += 1,
                            Ok(false) => dropped += 1,
                            Err(Error::Finished) => break,
                            Err(other) => panic!("{other}"),
                        }
                        seq += 1;
                    }
                    assert!(matches!(
                        stream.emit(ints, &Ints { a: t as i32, b: -1, c: 0 }),
                        Err(Error::Finished)
                    ));
                    assert!(!stream.flush(), "a sealed ring's owner cannot flush it");
                    // Still held while the trace is read back; dropped afterwards, harmlessly.
                    finished.wait();
                    drop(stream);
                    (written, dropped)
                })
            })
            .collect();
        let idle = scope.spawn(|| {
            let stream = session.stream().unwrap();
            running.wait();
            finished.wait();
            drop(stream);
        });
        running.wait();
        std::thread::sleep(Duration::from_millis(30));
        let summary = session.finish_sealing(Duration::from_secs(5)).unwrap();
        assert!(dir.join(FINISHED_MARKER).exists(), "the trace is marked finished (§9.4)");
        assert!(matches!(session.stream(), Err(Error::Finished)));
        finished.wait();
        let counts: Vec<(u64, u64)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        idle.join().unwrap();
        (summary, counts.iter().map(|c| c.0).sum::<u64>(), counts.iter().map(|c| c.1).sum::<u64>())
    });
    assert_eq!(summary.sealed_streams, writers as usize + 1, "the writers' and the idle thread's");
    assert_eq!(summary.events_written, written + 1);
    assert_eq!(summary.events_discarded, dropped);
    assert!(written > writers as u64 * 100, "the writers were running when sealed: {written}");

    let trace = Trace::open(&dir).unwrap();
    let (events, diagnostics) = read(&trace);
    let reported: u64 = diagnostics
        .iter()
        .map(|diagnostic| match diagnostic {
            DiagnosticKind::DiscardedEvents { count, .. } => *count,
            other => panic!("unexpected diagnostic {other:?}"),
        })
        .sum();
    assert_eq!(reported, dropped, "what full rings dropped is reported (§10.1)");
    assert_eq!(events.len() as u64, written + 1, "every record written before the seal is delivered");
    let mut last = BTreeMap::new();
    for (_, _, fields) in &events {
        let (thread, seq): (u32, i64) = (fields["a"].parse().unwrap(), fields["b"].parse().unwrap());
        assert!(seq >= 0, "a record refused after the seal was delivered");
        if let Some(previous) = last.insert(thread, seq) {
            assert!(seq > previous, "thread {thread}: {seq} after {previous}");
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn finish_sealing_with_no_stream_held_is_finish() {
    let sink = MemorySink::new();
    let session = RingSession::builder(Config::with_uuid([13; 16])).build(sink.clone()).unwrap();
    let ints = session.register::<Ints>().unwrap();
    session.stream().unwrap().emit(ints, &Ints { a: 1, b: 2, c: 3 }).unwrap();
    let summary = session.finish_sealing(Duration::ZERO).unwrap();
    assert_eq!((summary.events_written, summary.sealed_streams), (1, 0));
    assert!(matches!(session.finish_sealing(Duration::ZERO), Err(Error::Finished)));
    let (events, diagnostics) = read(&Trace::from_bytes(sink.bytes()).unwrap());
    assert_eq!((events.len(), diagnostics.len()), (1, 0));
}

#[test]
fn shared_rings_cannot_be_sealed() {
    let session =
        RingSession::builder(Config::with_uuid([14; 16])).shared().build(MemorySink::new()).unwrap();
    let stream = session.stream().unwrap();
    assert!(matches!(session.finish_sealing(Duration::from_millis(10)), Err(Error::StreamsOpen(1))));
    drop(stream);
    session.finish_sealing(Duration::ZERO).unwrap();
}

#[test]
fn the_progress_file_counts_each_streams_events_as_written() {
    use tracemark_format::progress::{self, Progress};
    let dir = scratch("progress");
    let config = Config::with_uuid([15; 16]).packet_size(1024);
    let session = RingSession::builder(config)
        .progress_file(dir.join(progress::FILE_NAME))
        .build(DirectorySink::create(&dir).unwrap())
        .unwrap();
    let ints = session.register::<Ints>().unwrap();
    let read_progress = || {
        let bytes = fs::read(dir.join(progress::FILE_NAME)).unwrap();
        let progress = Progress::parse(&bytes).unwrap();
        assert_eq!((progress.header.trace_uuid, progress.header.stream_class_id), ([15; 16], 0));
        progress.events_written().filter(|(_, written)| *written > 0).collect::<BTreeMap<u32, u64>>()
    };
    // Counted as written, before anything is delivered: the file is the writer's memory.
    let stream = session.stream().unwrap();
    for n in 0..10 {
        assert!(stream.emit(ints, &Ints { a: 0, b: n, c: 0 }).unwrap());
    }
    assert_eq!(read_progress(), BTreeMap::from([(0, 10)]));
    std::thread::scope(|scope| {
        for t in 1..=70u32 {
            let session = &session;
            // 70 threads at once hold 71 slots: the file grows past its first 64 records.
            scope.spawn(move || {
                let stream = session.stream().unwrap();
                for n in 0..u64::from(t) {
                    stream.emit(ints, &Ints { a: t as i32, b: n as i64, c: 0 }).unwrap();
                }
                std::thread::sleep(Duration::from_millis(50));
            });
        }
    });
    drop(stream);
    let summary = session.finish().unwrap();
    let counted = read_progress();
    assert_eq!(counted.values().sum::<u64>(), summary.events_written);
    assert_eq!(counted.len(), 71, "{counted:?}");
    let trace = Trace::open(&dir).unwrap();
    let (events, diagnostics) = read(&trace);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let mut per_stream = BTreeMap::new();
    for (stream, _, _) in &events {
        *per_stream.entry(*stream).or_insert(0u64) += 1;
    }
    assert_eq!(per_stream, counted, "each stream's count is its events (R-9.5-1)");
    fs::remove_dir_all(&dir).unwrap();
}
