//! Stress: T threads × M events on one shared ring (worst-case contention: every reservation races
//! with the others), small sub-buffers forcing a packet switch every few records, a consumer thread
//! draining and flushing concurrently. Every packet is decoded and checked as a reader would (header,
//! CRC, event headers, timestamp order), then every (thread, seq) is accounted for exactly once:
//! delivered in the packet its writer reserved it in, dropped (counted in events_discarded), or
//! (overwrite mode) in a packet that is missing from what was read.
//!
//! A second set runs one [`Local`] ring per writer thread (the session's layout) while another
//! thread flushes them remotely through `membarrier` as fast as it can.
#![cfg(not(loom))]

mod ring_support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;

use ring_support::{check_stream, decode, Decoded};
use tracemark_format::ClockClass;
use tracemark_writer::ring::{
    Concurrency, Consumer, Discard, HeapRing, Local, Mode, Overwrite, ProcessBarrier, Reservation, Ring,
    RingConfig, Shared,
};
use tracemark_writer::{Clock, MonotonicClock};

/// A shared counter that jumps by 2^48 every 4096 reads, forcing extended headers by time (§5.4).
struct JumpClock(AtomicU64);
impl Clock for JumpClock {
    fn now(&self) -> u64 {
        let t = self.0.fetch_add(1, Ordering::Relaxed);
        if t.is_multiple_of(4096) {
            self.0.fetch_add(1 << 48, Ordering::Relaxed) + (1 << 48)
        } else {
            t
        }
    }
    fn class(&self) -> ClockClass {
        MonotonicClock::new().class()
    }
}

fn check_value(thread: u32, seq: u64) -> u32 {
    (seq as u32).wrapping_mul(0x9E37_79B1) ^ thread.rotate_left(7)
}

fn payload_len(_id: u32, rest: &[u8]) -> usize {
    let nul = rest[12..].iter().position(|&b| b == 0).expect("NUL-terminated string");
    12 + nul + 1 + 4
}

fn event_id(thread: u32, seq: u64) -> u32 {
    if seq.is_multiple_of(97) {
        0x10000 + thread
    } else {
        1 + thread
    }
}

/// Writes event `seq` of `thread`; returns the packet it went into, or `None` if dropped.
fn write<M: Mode, C: Clock, K: Concurrency>(ring: &Ring<'_, M, C, K>, thread: u32, seq: u64) -> Option<u64> {
    let name = &b"abcdefg"[..(seq % 7) as usize];
    let mut r: Reservation<'_, '_, M, C, K> = ring.reserve(event_id(thread, seq), 12 + name.len() + 1 + 4)?;
    let packet = r.packet_sequence();
    r.write_u32(thread);
    r.write_u64(seq);
    r.write_str(name);
    r.write_u32(check_value(thread, seq));
    r.commit();
    Some(packet)
}

/// Work between two events of one writer: `spins` busy iterations, and a yield every 128
/// events so that the consumer gets a core on this 2-core machine. Without it the writers outrun
/// the consumer and nearly every event is dropped, which tests the drop accounting only.
fn pace(seq: u64, spins: u32) {
    for _ in 0..spins {
        std::hint::spin_loop();
    }
    if seq % 128 == 127 {
        std::thread::yield_now();
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Consume {
    Drain,
    Snapshot,
}

fn drain<M: Mode, C: Clock, K: Concurrency>(
    consumer: &mut Consumer<'_, '_, M, C, K>,
    packets: &mut Vec<Vec<u8>>,
    consume: Consume,
) -> u64 {
    if consume == Consume::Snapshot {
        return consumer.snapshot(|p| packets.push(p.bytes().to_vec())).packets;
    }
    let mut got = 0;
    while let Some(p) = consumer.get_next_packet() {
        packets.push(p.bytes().to_vec());
        consumer.put_packet();
        got += 1;
    }
    got
}

/// Checks `packets` of one ring against what its writers placed (`placed[thread][seq]`), and
/// returns (delivered, dropped, lost in overwritten packets).
fn account(
    packets: &[Vec<u8>],
    placed: &[(u32, Vec<Option<u64>>)],
    discarded: u64,
    overwrite: bool,
) -> (u64, u64, u64) {
    let decoded: Vec<Decoded> = packets.iter().map(|p| decode(p, payload_len)).collect();
    check_stream(&decoded, overwrite);
    let dropped: u64 = placed.iter().map(|(_, w)| w.iter().filter(|p| p.is_none()).count() as u64).sum();
    assert_eq!(discarded, dropped, "ring discard counter");
    assert_eq!(
        decoded.last().unwrap().header.events_discarded,
        dropped,
        "last packet's events_discarded (§10.1)"
    );

    let mut seen: HashMap<(u32, u64), u64> = HashMap::new();
    let mut last_seq: HashMap<u32, u64> = HashMap::new();
    for packet in &decoded {
        for record in &packet.records {
            let p = &record.payload;
            let thread = u32::from_ne_bytes(p[0..4].try_into().unwrap());
            let seq = u64::from_ne_bytes(p[4..12].try_into().unwrap());
            let check = u32::from_ne_bytes(p[p.len() - 4..].try_into().unwrap());
            assert_eq!(check, check_value(thread, seq), "torn record ({thread}, {seq})");
            assert_eq!(&p[12..p.len() - 5], &b"abcdefg"[..(seq % 7) as usize]);
            assert_eq!(record.id, event_id(thread, seq));
            assert!(
                seen.insert((thread, seq), packet.header.sequence).is_none(),
                "duplicate ({thread}, {seq})"
            );
            if let Some(last) = last_seq.insert(thread, seq) {
                assert!(last < seq, "thread {thread} sequence not increasing");
            }
        }
    }
    let read: HashSet<u64> = decoded.iter().map(|d| d.header.sequence).collect();
    let (mut delivered, mut lost) = (0u64, 0u64);
    for (thread, placed) in placed {
        for (seq, place) in placed.iter().enumerate() {
            let Some(packet) = place else { continue };
            match seen.get(&(*thread, seq as u64)) {
                Some(found) => {
                    assert_eq!(found, packet, "({thread}, {seq}) in the wrong packet");
                    delivered += 1;
                }
                None => {
                    assert!(overwrite, "({thread}, {seq}) lost in discard mode");
                    assert!(
                        !read.contains(packet),
                        "({thread}, {seq}) missing from packet {packet}, which was read"
                    );
                    lost += 1;
                }
            }
        }
    }
    assert_eq!(delivered, seen.len() as u64, "a record that no writer placed");
    (delivered, dropped, lost)
}

/// [`shared_ring_once`] until a run delivers enough records to have checked something: a
/// loaded two-core machine (a build beside the tests) can keep the consumer off a core for a
/// whole run. Every run's accounting is checked.
#[allow(clippy::too_many_arguments)]
fn shared_ring<M: Mode, C: Clock + Sync>(
    clock: impl Fn() -> C,
    threads: u32,
    per_thread: u64,
    subbuf: usize,
    n: usize,
    consume: Consume,
    spins: u32,
    min_delivered: f64,
) {
    const ATTEMPTS: u32 = 5;
    let mut runs = Vec::new();
    for _ in 0..ATTEMPTS {
        let (delivered, share) =
            shared_ring_once::<M, C>(clock(), threads, per_thread, subbuf, n, consume, spins);
        // A few hundred records are needed to look for torn or duplicated ones.
        if delivered >= 300 && share >= min_delivered {
            return;
        }
        runs.push(format!("{delivered} delivered ({share:.3})"));
    }
    panic!("the test exercised little in {ATTEMPTS} runs: {}", runs.join(", "));
}

/// One run: writers and a consumer on one shared ring; checks that no record is lost, torn or
/// duplicated, and returns how many were delivered, and their share of those emitted.
fn shared_ring_once<M: Mode, C: Clock + Sync>(
    clock: C,
    threads: u32,
    per_thread: u64,
    subbuf: usize,
    n: usize,
    consume: Consume,
    spins: u32,
) -> (u64, f64) {
    let config = RingConfig::new(subbuf, n).uuid([9; 16]).instance(0);
    let owned = HeapRing::<M, C>::new(config, clock).unwrap();
    let ring = owned.ring();
    let done = AtomicBool::new(false);
    let start = Barrier::new(threads as usize + 1);

    let (writers, packets) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let start = &start;
                scope.spawn(move || {
                    let mut placed = Vec::with_capacity(per_thread as usize);
                    start.wait();
                    for seq in 0..per_thread {
                        placed.push(write(ring, thread, seq));
                        pace(seq, spins);
                    }
                    (thread, placed)
                })
            })
            .collect();
        let consumer = scope.spawn(|| {
            let mut consumer = ring.consumer().unwrap();
            let mut packets = Vec::new();
            start.wait();
            let mut idle = 0u32;
            while !done.load(Ordering::Acquire) {
                if consume == Consume::Snapshot {
                    ring.flush(false);
                }
                if drain(&mut consumer, &mut packets, consume) == 0 {
                    idle += 1;
                    if idle.is_multiple_of(64) {
                        ring.flush(false); // a remote flush racing the writers
                    }
                    std::thread::yield_now();
                }
            }
            ring.flush(false);
            drain(&mut consumer, &mut packets, consume);
            ring.flush(true);
            drain(&mut consumer, &mut packets, consume);
            packets
        });
        let writers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        done.store(true, Ordering::Release);
        (writers, consumer.join().unwrap())
    });
    let (delivered, dropped, lost) = account(&packets, &writers, ring.discarded(), M::OVERWRITE);
    assert_eq!(
        delivered + dropped + lost,
        threads as u64 * per_thread,
        "delivered + discarded + overwritten = emitted"
    );
    let share = delivered as f64 / (threads as u64 * per_thread) as f64;
    eprintln!(
        "{} {consume:?}: {threads}x{per_thread} events, S={subbuf} N={n}: {} packets, {delivered} delivered, \
         {dropped} discarded, {lost} in overwritten packets",
        if M::OVERWRITE { "overwrite" } else { "discard" },
        packets.len()
    );
    (delivered, share)
}

const M: u64 = if cfg!(debug_assertions) { 20_000 } else { 300_000 };

#[test]
fn discard_monotonic() {
    shared_ring::<Discard, _>(MonotonicClock::new, 3, M, 4096, 8, Consume::Drain, 200, 0.1);
}

#[test]
fn discard_jump_clock() {
    shared_ring::<Discard, _>(|| JumpClock(AtomicU64::new(1)), 3, M, 256, 2, Consume::Drain, 200, 0.0);
}

#[test]
fn overwrite_monotonic() {
    shared_ring::<Overwrite, _>(MonotonicClock::new, 3, M, 4096, 8, Consume::Drain, 200, 0.1);
}

#[test]
fn overwrite_jump_clock_snapshots() {
    shared_ring::<Overwrite, _>(|| JumpClock(AtomicU64::new(1)), 3, M, 256, 4, Consume::Snapshot, 200, 0.0);
}

#[test]
fn discard_two_threads_roomy() {
    // Two writers on two cores, a ring the consumer can keep up with: mostly delivered.
    shared_ring::<Discard, _>(MonotonicClock::new, 2, M, 16384, 16, Consume::Drain, 200, 0.25);
}

#[test]
fn overwrite_tiny_ring() {
    // Light pacing: unpaced writers on a loaded machine can finish before the consumer runs at
    // all, leaving too few delivered records to check (seen once with a build running beside).
    shared_ring::<Overwrite, _>(MonotonicClock::new, 2, M, 256, 2, Consume::Drain, 20, 0.0);
}

/// One local ring per writer (the session's layout), small sub-buffers; a flusher thread calls
/// `flush_remote` on every ring in a loop while the owners write, and a consumer drains. The
/// handshake must neither lose, tear nor duplicate a record, nor break §1.7/§4.5.
fn local_rings_remote_flush<M: Mode>(threads: u32, per_thread: u64, subbuf: usize, n: usize) {
    let barrier = ProcessBarrier::register().expect("membarrier(2)");
    let rings: Vec<HeapRing<M, MonotonicClock, Local>> = (0..threads)
        .map(|t| {
            let config = RingConfig::new(subbuf, n).uuid([4; 16]).instance(t);
            // SAFETY: ring `t` is written only by writer thread `t` below; the other threads use
            // the consumer and `flush_remote`, and the final flush runs after the writers joined.
            unsafe { HeapRing::new_local(config, MonotonicClock::new()) }.unwrap()
        })
        .collect();
    let done = AtomicBool::new(false);
    let (flushed, busy) = (AtomicU64::new(0), AtomicU64::new(0));
    let start = Barrier::new(threads as usize + 2);
    let (placed, packets) = std::thread::scope(|scope| {
        let writers: Vec<_> = rings
            .iter()
            .enumerate()
            .map(|(t, owned)| {
                let start = &start;
                scope.spawn(move || {
                    let ring = owned.ring();
                    start.wait();
                    (0..per_thread)
                        .map(|seq| {
                            let placed = write(ring, t as u32, seq);
                            pace(seq, 300);
                            placed
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let flusher = scope.spawn(|| {
            start.wait();
            while !done.load(Ordering::Acquire) {
                for owned in &rings {
                    // SAFETY: `barrier` is membarrier(PRIVATE_EXPEDITED), registered above.
                    match unsafe { owned.ring().flush_remote(false, || barrier.run()) } {
                        Some(_) => flushed.fetch_add(1, Ordering::Relaxed),
                        None => busy.fetch_add(1, Ordering::Relaxed),
                    };
                }
                std::thread::yield_now();
            }
        });
        let consumer = scope.spawn(|| {
            let mut out: Vec<Vec<Vec<u8>>> = vec![Vec::new(); rings.len()];
            start.wait();
            loop {
                let finished = done.load(Ordering::Acquire);
                for (owned, packets) in rings.iter().zip(out.iter_mut()) {
                    drain(&mut owned.ring().consumer().unwrap(), packets, Consume::Drain);
                }
                if finished {
                    return out;
                }
                std::thread::yield_now();
            }
        });
        let placed: Vec<Vec<Option<u64>>> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        done.store(true, Ordering::Release);
        flusher.join().unwrap();
        let mut packets = consumer.join().unwrap();
        for (owned, out) in rings.iter().zip(packets.iter_mut()) {
            // The writers have joined: this thread may flush as the owner now.
            owned.ring().flush(false);
            drain(&mut owned.ring().consumer().unwrap(), out, Consume::Drain);
            owned.ring().flush(true);
            drain(&mut owned.ring().consumer().unwrap(), out, Consume::Drain);
        }
        (placed, packets)
    });
    let mut totals = (0, 0, 0);
    for (t, (owned, packets)) in rings.iter().zip(&packets).enumerate() {
        let (d, x, l) =
            account(packets, &[(t as u32, placed[t].clone())], owned.ring().discarded(), M::OVERWRITE);
        assert_eq!(d + x + l, per_thread);
        totals = (totals.0 + d, totals.1 + x, totals.2 + l);
    }
    let (flushed, busy) = (flushed.load(Ordering::Relaxed), busy.load(Ordering::Relaxed));
    eprintln!(
        "local rings, {}: {threads}x{per_thread} events, S={subbuf} N={n}: {} delivered, {} discarded, {} in \
         overwritten packets; {flushed} remote flushes, {busy} busy",
        if M::OVERWRITE { "overwrite" } else { "discard" },
        totals.0,
        totals.1,
        totals.2
    );
    assert!(flushed >= 100, "only {flushed} remote flushes went through: the handshake was hardly exercised");
}

#[test]
fn local_rings_remote_flush_discard() {
    local_rings_remote_flush::<Discard>(2, M, 1024, 8);
}

#[test]
fn local_rings_remote_flush_overwrite() {
    local_rings_remote_flush::<Overwrite>(2, M, 512, 4);
}

/// `Shared` is the default concurrency, named here so a change of default is noticed.
#[test]
fn shared_is_the_default() {
    fn is_shared<K: Concurrency>(_: &HeapRing<Discard, MonotonicClock, K>) -> bool {
        !K::LOCAL
    }
    let ring = HeapRing::<Discard, _>::new(RingConfig::new(256, 2), MonotonicClock::new()).unwrap();
    assert!(is_shared::<Shared>(&ring));
}
