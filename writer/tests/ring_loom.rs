//! loom models of the ring: two writer threads and a consumer on a ring of two 256-byte
//! sub-buffers holding two 72-byte records each, so every model switches packets and (in overwrite
//! mode) wraps. Not part of `cargo test`; run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p tracemark-writer --release --test ring_loom`.
//!
//! loom explores the interleavings and checks, through loom's `UnsafeCell` on every ring byte, that
//! each byte access is ordered against every conflicting one (commit Release / deliver Acquire,
//! slot swap). The models assert: every packet decodes with a valid CRC; no torn record (each payload
//! is 64 copies of one byte naming (writer, event)); no duplicate; every event delivered, dropped
//! (and counted in the last packet's events_discarded), or — overwrite mode — in a packet that the
//! consumer never read.
//!
//! The models use `Shared` rings: under loom the CPU-local RMWs of `Local` rings are ordinary
//! atomics, and the `membarrier` handshake of `Ring::flush_remote` cannot be modelled (loom has
//! no asymmetric fence); `tests/ring_stress.rs` and `tests/ring_signal.rs` exercise those.
#![cfg(loom)]

mod ring_support;

use std::sync::Arc;

use loom::sync::atomic::{AtomicU64, Ordering};
use loom::thread;

use tracemark_format::ClockClass;
use tracemark_writer::ring::{Consumer, Discard, HeapRing, Mode, Overwrite, RingConfig};
use tracemark_writer::{Clock, ManualClock};

const S: usize = 256;
const PAYLOAD: usize = 64;

/// A shared counter: monotonic under loom's happens-before, as the ring requires.
struct CounterClock(AtomicU64);
impl Clock for CounterClock {
    fn now(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
    fn class(&self) -> ClockClass {
        ManualClock::new(0).class()
    }
}

fn copy_out<M: Mode, C: Clock>(consumer: &mut Consumer<'_, '_, M, C>, out: &mut Vec<Vec<u8>>) -> bool {
    match consumer.get_next_packet() {
        Some(packet) => {
            out.push(packet.with_bytes(|b| b.to_vec()));
            consumer.put_packet();
            true
        }
        None => false,
    }
}

fn model<M: Mode>(events_per_writer: u8, consumer_polls: usize) {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    // Executions explored, and packets the consumer took while the writers were still running:
    // the latter must be non-zero, or the model would check nothing concurrent.
    let stats = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let counters = stats.clone();
    loom::model(move || {
        let config = RingConfig::new(S, 2).uuid([1; 16]);
        let owned = Arc::new(HeapRing::<M, _>::new(config, CounterClock(AtomicU64::new(0))).unwrap());
        // Placements go back through `join`, not a shared lock: a lock would add happens-before
        // edges between the writers that the ring itself must provide.
        let writers: Vec<_> = (0..2u8)
            .map(|w| {
                let owned = owned.clone();
                thread::spawn(move || {
                    let ring = owned.ring();
                    let mut placed = Vec::new();
                    for e in 0..events_per_writer {
                        let tag = w << 4 | e;
                        let place = ring.reserve(1, PAYLOAD).map(|mut r| {
                            let packet = r.packet_sequence();
                            r.write_bytes(&[tag; PAYLOAD]);
                            r.commit();
                            packet
                        });
                        placed.push((tag, place));
                    }
                    placed
                })
            })
            .collect();
        let ring = owned.ring();
        let mut consumer = ring.consumer().unwrap();
        let mut packets = Vec::new();
        for _ in 0..consumer_polls {
            // Without a yield, loom's preemption bound keeps the writers from running before the
            // polls and no packet is ever taken concurrently.
            thread::yield_now();
            copy_out(&mut consumer, &mut packets);
        }
        counters.0.fetch_add(1, Relaxed);
        counters.1.fetch_add(packets.len(), Relaxed);
        let placed: Vec<(u8, Option<u64>)> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        while copy_out(&mut consumer, &mut packets) {}
        ring.flush(true);
        while copy_out(&mut consumer, &mut packets) {}

        let decoded: Vec<_> = packets.iter().map(|p| ring_support::decode(p, |_, _| PAYLOAD)).collect();
        ring_support::check_stream(&decoded, M::OVERWRITE);
        let mut seen = std::collections::HashMap::new();
        for packet in &decoded {
            for record in &packet.records {
                let tag = record.payload[0];
                assert!(record.payload.iter().all(|&b| b == tag), "torn record {:?}", record.payload);
                assert!(seen.insert(tag, packet.header.sequence).is_none(), "duplicate {tag:#x}");
            }
        }
        let dropped = placed.iter().filter(|(_, p)| p.is_none()).count() as u64;
        assert_eq!(ring.discarded(), dropped);
        assert_eq!(decoded.last().map(|d| d.header.events_discarded), Some(dropped));
        let read: std::collections::HashSet<u64> = decoded.iter().map(|d| d.header.sequence).collect();
        let mut overwritten = 0;
        for &(tag, place) in placed.iter() {
            if let Some(packet) = place {
                match seen.get(&tag) {
                    Some(&found) => assert_eq!(found, packet),
                    None => {
                        assert!(M::OVERWRITE && !read.contains(&packet), "event {tag:#x} lost");
                        overwritten += 1;
                    }
                }
            }
        }
        assert_eq!(seen.len() as u64 + dropped + overwritten, placed.len() as u64);
        drop(consumer);
    });
    let (executions, early) = (stats.0.load(Relaxed), stats.1.load(Relaxed));
    eprintln!(
        "{}: {executions} executions, {early} packets taken concurrently with writers",
        std::any::type_name::<M>()
    );
    assert!(early > 0);
}

#[test]
fn discard_two_writers_consumer() {
    model::<Discard>(2, 1);
}

#[test]
fn overwrite_two_writers_consumer() {
    model::<Overwrite>(2, 1);
}

/// Thorough: ~1.4 M / 2.5 M executions, several minutes each at LOOM_MAX_PREEMPTIONS=2.
/// Run with `-- --ignored`. (The overwrite one is what catches a missing NOREF clear.)
#[test]
#[ignore]
fn discard_three_events_each() {
    model::<Discard>(3, 2);
}

/// See `discard_three_events_each`.
#[test]
#[ignore]
fn overwrite_three_events_each() {
    model::<Overwrite>(3, 2);
}
