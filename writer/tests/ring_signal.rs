//! Reentrancy with a real signal handler: SIGALRM every 20 µs (setitimer) on the main thread, whose
//! handler writes events into the same ring the main thread is writing, often between the main
//! thread's reserve and commit, sometimes inside its packet switch. A consumer thread (SIGALRM
//! blocked) drains concurrently and closes packets remotely (`flush` on the shared ring,
//! `flush_remote` through membarrier on the local one). Every event of both sources must be
//! delivered exactly once or have been refused by `reserve` (and counted in events_discarded).
//!
//! `harness = false`: the libtest harness would run this on a non-main thread while process-directed
//! SIGALRM could land on any thread, so this file has its own `main`.

#[cfg(loom)]
fn main() {}

#[cfg(not(loom))]
mod ring_support;

#[cfg(not(loom))]
fn main() {
    imp::run();
}

#[cfg(not(loom))]
mod imp {
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicU8, Ordering::*};

    use tracemark_writer::ring::{
        Concurrency, Discard, HeapRing, Local, ProcessBarrier, Ring, RingConfig, Shared,
    };
    use tracemark_writer::MonotonicClock;

    const MAIN_EVENTS: u64 = if cfg!(debug_assertions) { 300_000 } else { 2_000_000 };
    const HANDLER_BURST: u64 = 3;
    const HANDLER_MAX: usize = 1 << 21;
    const MAIN_ID: u32 = 1;
    const HANDLER_ID: u32 = 2;

    type R<K> = Ring<'static, Discard, MonotonicClock, K>;
    /// The ring under test, a `&'static R<K>` for the handler's `K`.
    static RING: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());
    /// Set by the main thread between reserve and commit.
    static IN_WRITE: AtomicBool = AtomicBool::new(false);
    static HANDLER_SEQ: AtomicU64 = AtomicU64::new(0);
    static NESTED: AtomicU64 = AtomicU64::new(0);
    /// Per handler event: 1 written, 2 refused.
    static HANDLER_FATE: [AtomicU8; HANDLER_MAX] = [const { AtomicU8::new(0) }; HANDLER_MAX];

    extern "C" fn on_alarm<K: Concurrency>(_: libc::c_int) {
        // Only async-signal-safe work: atomics and the ring (no allocation, no lock).
        let ring = RING.load(Acquire) as *const R<K>;
        if ring.is_null() {
            return;
        }
        // SAFETY: set from a leaked `&'static R<K>` by `run_with::<K>`, which installed this handler.
        let ring = unsafe { &*ring };
        let nested = IN_WRITE.load(Relaxed);
        for _ in 0..HANDLER_BURST {
            let seq = HANDLER_SEQ.fetch_add(1, Relaxed);
            if seq as usize >= HANDLER_MAX {
                return;
            }
            let fate = match ring.reserve(HANDLER_ID, 8) {
                Some(mut r) => {
                    r.write_u64(seq);
                    r.commit();
                    NESTED.fetch_add(nested as u64, Relaxed);
                    1
                }
                None => 2,
            };
            HANDLER_FATE[seq as usize].store(fate, Relaxed);
        }
    }

    fn config() -> RingConfig {
        RingConfig::new(1024, 8).uuid([3; 16])
    }

    pub fn run() {
        let barrier = ProcessBarrier::register().expect("membarrier(2)");
        let ring: &'static HeapRing<Discard, MonotonicClock> =
            Box::leak(Box::new(HeapRing::new(config(), MonotonicClock::new()).unwrap()));
        run_with::<Shared>(ring.ring(), barrier, false);
        reset();
        // SAFETY: only the main thread and the SIGALRM handler interrupting it write this ring; the
        // consumer thread flushes it with `flush_remote` while they run and as owner only after the
        // main thread stopped writing (ordered by `done`).
        let ring: &'static HeapRing<Discard, MonotonicClock, Local> =
            Box::leak(Box::new(unsafe { HeapRing::new_local(config(), MonotonicClock::new()) }.unwrap()));
        run_with::<Local>(ring.ring(), barrier, false);
        reset();
        // The same, the consumer sealing the ring halfway (`seal_remote`, as a session finishing
        // with a live thread's stream does): every record reserved before, nested ones included,
        // is delivered once; none after.
        // SAFETY: as above; after the seal the consumer flushes with `flush_sealed` only.
        let ring: &'static HeapRing<Discard, MonotonicClock, Local> =
            Box::leak(Box::new(unsafe { HeapRing::new_local(config(), MonotonicClock::new()) }.unwrap()));
        run_with::<Local>(ring.ring(), barrier, true);
        reset();
        typed::run();
    }

    /// The same with typed events through a [`RingSession`]: the handler emits into the
    /// `RingStream` the main thread is emitting into (`emit` takes `&self` and is
    /// async-signal-safe), the consumer thread drains and flushes meanwhile, and the trace is read
    /// back with the reader.
    mod typed {
        use std::sync::{
            atomic::{AtomicPtr, Ordering::*},
            OnceLock,
        };

        use tracemark_reader::{DiagnosticKind, Item, Trace};
        use tracemark_writer::{
            event,
            ring::{Discard, Local, RingSession, RingStream},
            Config, EventHandle, MemorySink, MonotonicClock,
        };

        use super::{HANDLER_FATE, HANDLER_MAX, HANDLER_SEQ, IN_WRITE, NESTED};

        event! {
            /// Written by the main thread.
            pub struct Main("main") { pub seq: u64, pub check: u32 }
            /// Written by the signal handler.
            pub struct Handler("handler") { pub seq: u64 }
        }

        type Stream = RingStream<Discard, MonotonicClock, Local>;
        static STREAM: AtomicPtr<Stream> = AtomicPtr::new(std::ptr::null_mut());
        static HANDLES: OnceLock<(EventHandle<Main>, EventHandle<Handler>)> = OnceLock::new();
        const MAIN_EVENTS: u64 = super::MAIN_EVENTS / 2;

        extern "C" fn on_alarm(_: libc::c_int) {
            let stream = STREAM.load(Acquire);
            let Some(&(_, handler)) = HANDLES.get() else { return };
            if stream.is_null() {
                return;
            }
            // SAFETY: points to the main thread's stream, which outlives the timer (`run`).
            let stream = unsafe { &*stream };
            let nested = IN_WRITE.load(Relaxed);
            for _ in 0..super::HANDLER_BURST {
                let seq = HANDLER_SEQ.fetch_add(1, Relaxed);
                if seq as usize >= HANDLER_MAX {
                    return;
                }
                let fate = match stream.emit(handler, &Handler { seq }) {
                    Ok(true) => {
                        NESTED.fetch_add(nested as u64, Relaxed);
                        1
                    }
                    Ok(false) => 2,
                    Err(_) => 3,
                };
                HANDLER_FATE[seq as usize].store(fate, Relaxed);
            }
        }

        pub fn run() {
            let sink = MemorySink::new();
            let session = RingSession::builder(Config::with_uuid([4; 16]).packet_size(1024))
                .subbufs(8)
                .poll_interval(std::time::Duration::from_micros(200))
                .flush_interval(Some(std::time::Duration::from_millis(1)))
                .build(sink.clone())
                .unwrap();
            let handles = (session.register::<Main>().unwrap(), session.register::<Handler>().unwrap());
            HANDLES.set(handles).ok().unwrap();
            let stream = session.stream().unwrap();
            STREAM.store(&stream as *const Stream as *mut Stream, Release);
            // SIGALRM is still blocked on this thread (the previous phases leave it so), so the
            // session's consumer thread, spawned above, inherited the block; unblocking it here
            // makes this thread the one the timer's signal interrupts.
            // SAFETY (libc calls): plain POSIX signal and timer setup with valid structs.
            let mut alarm: libc::sigset_t = unsafe { std::mem::zeroed() };
            let mut fate = vec![0u8; MAIN_EVENTS as usize];
            unsafe {
                libc::sigemptyset(&mut alarm);
                libc::sigaddset(&mut alarm, libc::SIGALRM);
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                assert_eq!(libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()), 0);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &alarm, std::ptr::null_mut());
                let timer = libc::itimerval {
                    it_interval: libc::timeval { tv_sec: 0, tv_usec: 20 },
                    it_value: libc::timeval { tv_sec: 0, tv_usec: 20 },
                };
                assert_eq!(libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()), 0);
            }
            for seq in 0..MAIN_EVENTS {
                IN_WRITE.store(true, Relaxed);
                let check = (seq as u32).wrapping_mul(0x9E37_79B1);
                fate[seq as usize] = match stream.emit(handles.0, &Main { seq, check }) {
                    Ok(true) => 1,
                    Ok(false) => 2,
                    Err(_) => 3,
                };
                IN_WRITE.store(false, Relaxed);
                if seq % 32 == 31 {
                    for _ in 0..3000 {
                        std::hint::spin_loop();
                    }
                }
            }
            unsafe {
                let off = libc::itimerval {
                    it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 },
                    it_value: libc::timeval { tv_sec: 0, tv_usec: 0 },
                };
                libc::setitimer(libc::ITIMER_REAL, &off, std::ptr::null_mut());
                libc::pthread_sigmask(libc::SIG_BLOCK, &alarm, std::ptr::null_mut());
            }
            STREAM.store(std::ptr::null_mut(), Release);
            let written = stream.events_written();
            drop(stream);
            let summary = session.finish().unwrap();
            assert_eq!(summary.events_written, written);

            let handler_events = HANDLER_SEQ.load(Relaxed).min(HANDLER_MAX as u64) as usize;
            let (mut main_seen, mut handler_seen) = (vec![0u8; fate.len()], vec![0u8; handler_events]);
            let mut reported = 0;
            let trace = Trace::from_bytes(sink.bytes()).unwrap();
            for item in trace.events() {
                match item {
                    Item::Event(event) => {
                        let seq = event.value("seq").and_then(|v| v.as_u64()).unwrap() as usize;
                        match event.name() {
                            "main" => {
                                let check = event.value("check").and_then(|v| v.as_u64()).unwrap();
                                assert_eq!(check, u64::from((seq as u32).wrapping_mul(0x9E37_79B1)), "torn");
                                main_seen[seq] += 1;
                            }
                            "handler" => handler_seen[seq] += 1,
                            other => panic!("unexpected event {other}"),
                        }
                    }
                    Item::Diagnostic(d) => match d.kind {
                        DiagnosticKind::DiscardedEvents { count, .. } => reported += count,
                        other => panic!("unexpected diagnostic {other:?}"),
                    },
                }
            }
            let mut refused = 0u64;
            for (seq, (&fate, &seen)) in fate.iter().zip(&main_seen).enumerate() {
                assert_ne!(fate, 3, "main event {seq}: emit failed");
                assert_eq!(seen, (fate == 1) as u8, "main event {seq}: fate {fate}, seen {seen} times");
                refused += (fate == 2) as u64;
            }
            for (seq, &seen) in handler_seen.iter().enumerate() {
                let fate = HANDLER_FATE[seq].load(Relaxed);
                assert_ne!(fate, 3, "handler event {seq}: emit failed");
                assert_eq!(seen, (fate == 1) as u8, "handler event {seq}: fate {fate}, seen {seen} times");
                refused += (fate == 2) as u64;
            }
            assert_eq!(summary.events_discarded, refused);
            assert_eq!(reported, refused, "the reader reports every refused event (§10.1)");
            let nested = NESTED.load(Relaxed);
            println!(
                "signal (typed, RingSession): {MAIN_EVENTS} main + {handler_events} handler events, {refused} \
                 refused, {nested} handler events written while the main thread was inside emit"
            );
            assert!(handler_events > 0 && nested > 0, "the test did not nest");
            println!("test signal_handler_nesting_typed ... ok");
        }
    }

    fn reset() {
        RING.store(std::ptr::null_mut(), Release);
        HANDLER_SEQ.store(0, Relaxed);
        NESTED.store(0, Relaxed);
        for fate in HANDLER_FATE.iter() {
            fate.store(0, Relaxed);
        }
    }

    fn run_with<K: Concurrency>(ring: &'static R<K>, barrier: ProcessBarrier, seal: bool) {
        RING.store(ring as *const R<K> as *mut (), Release);

        // SAFETY (libc calls): plain POSIX signal and timer setup with valid, initialised structs.
        let mut alarm: libc::sigset_t = unsafe { std::mem::zeroed() };
        unsafe {
            libc::sigemptyset(&mut alarm);
            libc::sigaddset(&mut alarm, libc::SIGALRM);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_alarm::<K> as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()), 0);
            // The consumer inherits a mask blocking SIGALRM; the main thread then unblocks it.
            libc::pthread_sigmask(libc::SIG_BLOCK, &alarm, std::ptr::null_mut());
        }
        let done = AtomicBool::new(false);
        let (seal_now, sealed) = (AtomicBool::new(false), AtomicBool::new(false));
        let remote_flushes = AtomicU64::new(0);
        let (main_fate, packets) = std::thread::scope(|scope| {
            let consumer = scope.spawn(|| {
                let mut consumer = ring.consumer().unwrap();
                let mut packets = Vec::new();
                let mut drain = |consumer: &mut tracemark_writer::ring::Consumer<'_, '_, _, _, K>| {
                    while let Some(p) = consumer.get_next_packet() {
                        packets.push(p.bytes().to_vec());
                        consumer.put_packet();
                    }
                };
                let mut round = 0u64;
                while !done.load(Acquire) {
                    drain(&mut consumer);
                    round += 1;
                    if seal_now.load(Acquire) && !sealed.load(Relaxed) {
                        // SAFETY: as below.
                        if unsafe { ring.seal_remote(|| barrier.run()) }.is_some() {
                            sealed.store(true, Release);
                        }
                        continue;
                    }
                    if round.is_multiple_of(16) {
                        // SAFETY: `barrier` is membarrier(PRIVATE_EXPEDITED), registered in `run`.
                        if unsafe { ring.flush_remote(false, || barrier.run()) }.is_some() {
                            remote_flushes.fetch_add(1, Relaxed);
                        }
                    }
                    std::thread::yield_now();
                }
                drain(&mut consumer);
                if sealed.load(Relaxed) {
                    // SAFETY: sealed and closed by this thread, the only flusher.
                    unsafe { ring.flush_sealed(true) };
                } else {
                    // The main thread stopped writing (`done`): this thread may flush as owner.
                    ring.flush(true);
                }
                drain(&mut consumer);
                packets
            });
            let timer = libc::itimerval {
                it_interval: libc::timeval { tv_sec: 0, tv_usec: 20 },
                it_value: libc::timeval { tv_sec: 0, tv_usec: 20 },
            };
            unsafe {
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &alarm, std::ptr::null_mut());
                assert_eq!(libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()), 0);
            }
            let mut fate = vec![0u8; MAIN_EVENTS as usize];
            for seq in 0..MAIN_EVENTS {
                if seal && seq == MAIN_EVENTS / 2 {
                    seal_now.store(true, Release);
                }
                IN_WRITE.store(true, Relaxed);
                if let Some(mut r) = ring.reserve(MAIN_ID, 8) {
                    // Byte by byte, to widen the window a signal can nest in.
                    for b in seq.to_ne_bytes() {
                        r.write_u8(b);
                    }
                    r.commit();
                    fate[seq as usize] = 1;
                } else {
                    fate[seq as usize] = 2;
                }
                IN_WRITE.store(false, Relaxed);
                if seq % 32 == 31 {
                    // Out of any write for a moment, so that remote flushes can go through and the
                    // consumer keeps up with part of the stream.
                    for _ in 0..3000 {
                        std::hint::spin_loop();
                    }
                }
            }
            let off = libc::itimerval {
                it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 },
                it_value: libc::timeval { tv_sec: 0, tv_usec: 0 },
            };
            unsafe {
                libc::setitimer(libc::ITIMER_REAL, &off, std::ptr::null_mut());
                libc::pthread_sigmask(libc::SIG_BLOCK, &alarm, std::ptr::null_mut());
            }
            done.store(true, Release);
            (fate, consumer.join().unwrap())
        });

        let decoded: Vec<_> = packets.iter().map(|p| super::ring_support::decode(p, |_, _| 8)).collect();
        super::ring_support::check_stream(&decoded, false);
        let handler_events = HANDLER_SEQ.load(Relaxed).min(HANDLER_MAX as u64) as usize;
        let mut main_seen = vec![0u8; MAIN_EVENTS as usize];
        let mut handler_seen = vec![0u8; handler_events];
        for record in decoded.iter().flat_map(|d| &d.records) {
            let seq = u64::from_ne_bytes(record.payload[..8].try_into().unwrap()) as usize;
            match record.id {
                MAIN_ID => main_seen[seq] += 1,
                HANDLER_ID => handler_seen[seq] += 1,
                other => panic!("unknown event id {other}"),
            }
        }
        let mut refused = 0u64;
        for (seq, (&fate, &seen)) in main_fate.iter().zip(&main_seen).enumerate() {
            assert_eq!(seen, (fate == 1) as u8, "main event {seq}: fate {fate}, seen {seen} times");
            refused += (fate == 2) as u64;
        }
        for (seq, seen) in handler_seen.iter().enumerate() {
            let fate = HANDLER_FATE[seq].load(Relaxed);
            assert_eq!(*seen, (fate == 1) as u8, "handler event {seq}: fate {fate}, seen {seen} times");
            refused += (fate == 2) as u64;
        }
        if seal {
            assert!(sealed.load(Relaxed), "the ring was not sealed");
            let last_written = main_fate.iter().rposition(|&fate| fate == 1).unwrap() as u64;
            assert!(
                last_written < MAIN_EVENTS - 1000,
                "main events written after the seal: up to {last_written}"
            );
            assert!(main_fate[last_written as usize + 1..].iter().all(|&fate| fate == 2));
            assert!(ring.discarded() <= refused, "refusals after the seal are not counted as discarded");
            assert!(!ring.flush(true), "the owner cannot flush a sealed ring");
        } else {
            assert_eq!(ring.discarded(), refused);
        }
        assert_eq!(decoded.last().unwrap().header.events_discarded, ring.discarded());
        let nested = NESTED.load(Relaxed);
        let remote = remote_flushes.load(Relaxed);
        println!(
            "signal ({}): {MAIN_EVENTS} main + {handler_events} handler events, {} packets, {refused} refused, \
             {nested} handler events written while the main thread held a reservation, {remote} remote flushes",
            match (K::LOCAL, seal) {
                (true, false) => "local ring",
                (true, true) => "local ring, sealed halfway",
                (false, _) => "shared ring",
            },
            decoded.len()
        );
        assert!(handler_events > 0 && nested > 0, "the test did not nest");
        assert!(seal || remote >= 10, "only {remote} remote flushes went through");
        println!("test signal_handler_nesting ... ok");
    }
}
