//! The lock-free ring buffer: one per CPU (kernel) or per thread slot (userspace), each a
//! stream of packets (§1.2–§1.3) built in place by concurrent writers and taken whole by one
//! consumer. [`RingSession`] (with `std`) is the tracer built on it.
//!
//! ```
//! use tracemark_writer::ring::{Discard, HeapRing, RingConfig};
//! use tracemark_writer::NullClock;
//!
//! let ring = HeapRing::<Discard, _>::new(RingConfig::new(4096, 4), NullClock).unwrap();
//! let ring = ring.ring();
//! let mut event = ring.reserve(12, 8).unwrap(); // event class 12, 8 payload bytes
//! event.write_u64(42);
//! event.commit();
//! ring.flush(false);
//! let mut consumer = ring.consumer().unwrap();
//! let packet = consumer.get_next_packet().unwrap();
//! assert_eq!(packet.content_size(), 80 + 8 + 8);
//! let crc = u32::from_ne_bytes(packet.bytes()[12..16].try_into().unwrap());
//! assert_eq!(tracemark_format::crc::packet_crc(packet.bytes(), 96), Some(crc));
//! consumer.put_packet();
//! ```
//!
//! Typed events go through [`Ring::emit`] on a ring made with [`RingConfig::for_stream`]:
//! [`EventType::encode`](crate::EventType::encode) writes straight into the reserved bytes.
//!
//! # Design (after lttng-modules' `lib/ringbuffer`; our own code)
//!
//! **Reserve** ([`Ring::reserve`]) is arithmetic plus one compare-and-swap on a free-running
//! 64-bit write position; `position / S % N` is the sub-buffer and `position / S` the packet
//! sequence number. The clock is read *inside* the CAS loop, after loading the position: a CAS
//! that succeeds proves nobody reserved since, so record order in the buffer is timestamp order
//! even with writers nested in signal handlers (§1.7). The record's size depends on the time
//! read (§5.4), so the CAS cannot execute before the clock read completes.
//!
//! **Event header size** (§5.4) depends on the previous record's timestamp, which a lock-free
//! writer does not know exactly. The ring keeps `last_ts` (lttng's `last_tsc`), stored after each
//! successful reservation and loaded before the CAS. A loaded value comes from a reservation
//! earlier in buffer order, so it is *at most* the true previous timestamp (a nested writer can make
//! it lag, never lead): `ts - last_ts >= ts - prev`, and a compact header chosen against it is
//! always valid; when in doubt the header is extended. The first record of a packet uses the
//! packet's `timestamp_begin`, which is its own timestamp.
//!
//! **Commit** ([`Reservation::commit`]) adds the record length to the sub-buffer's free-running
//! commit counter (Release). Lap `L` is complete when the counter reaches `(L + 1) * S` — header,
//! records and end padding all counted — and only the committer of the last byte sees a multiple
//! of `S`, so it alone *delivers* (out of line): publishes `commit_cold = (L + 1) * S`, which is
//! what the consumer and the writers of lap `L + 1` test (lttng's `commit_hot` / `commit_cold`).
//! A reservation dropped without a commit is committed by its `Drop`, so no packet stalls.
//!
//! **Packet switch** (`reserve_slow`, `#[cold]`): a reservation that starts a sub-buffer, does not
//! fit, or ends exactly at its end takes the slow path. The writer whose CAS moves the position
//! out of a sub-buffer closes it: writes `timestamp_end`, `content_size` and the cumulative
//! `events_discarded`, then commits the padding. The writer whose reservation starts a sub-buffer
//! opens it: writes the begin fields (sequence, `timestamp_begin`, sizes, identity) and commits
//! the 80 header bytes. Begin and end fields are disjoint and written by different contexts, so a
//! nested writer that fills and closes a packet before its opener has written the header cannot be
//! clobbered. The CRC is the consumer's job, keeping the hot path free of it.
//!
//! **Modes** are a type parameter ([`Discard`], [`Overwrite`]), so the fast path has no mode branch.
//! Discard: a writer may open a sub-buffer only once the consumer released its previous lap;
//! otherwise the event is dropped and counted (§10.1). Overwrite (flight recorder): the writer
//! pushes the consumed position forward instead, and loss appears as a sequence gap (§10.2). To
//! let the consumer read a packet that writers may overwrite at any moment, the ring has `N + 1`
//! physical sub-buffers and a slot table (lttng's `buf_wsb`/`buf_rsb`): the consumer owns one spare
//! and atomically swaps it for the delivered packet's sub-buffer, which succeeds only while the slot
//! is flagged NOREF with the packet's lap. Each writer of a new lap clears NOREF before touching the
//! slot (one load on the fast path, a CAS once per lap), so a swap and a write never meet. In both
//! modes an event is also dropped when its slot's previous lap is still being written (a writer
//! stalled mid-record while nested writers wrapped the ring) or it is larger than a packet.
//!
//! **Concurrency** is a type parameter too. [`Shared`]: any thread writes, with `lock`-prefixed
//! RMWs. [`Local`]: one owner thread (and its signal handlers) writes with CPU-local RMWs
//! (`cmpxchg`/`xadd` without `lock`, lttng's per-CPU `local_t`), about 3x cheaper on the write
//! position. A local ring can still be flushed by another thread ([`Ring::flush_remote`]): the
//! owner keeps a nesting depth and checks a `remote` flag around each write (plain loads and
//! stores), the flusher raises the flag and runs a process-wide barrier (`membarrier(2)`, an IPI
//! in a kernel), and goes ahead only if the depth is 0 — a Dekker handshake whose CPU fence is
//! paid by the rare flusher, not the writer (liburcu's membarrier flavour). Owner writes that
//! begin during a remote flush use locked RMWs. The flusher never waits: if the owner is inside a
//! write it reports "busy" and the consumer retries at its next tick. The same handshake seals a
//! ring whose owner outlives its trace ([`Ring::seal_remote`]): the flag stays raised, so every
//! later owner write takes the locked path and is refused there, at no cost to the fast path.
//!
//! **Clocks** ([`Clock`](crate::Clock)): a shared ring reads [`Clock::now_ordered`](crate::Clock::now_ordered),
//! which may not execute before the preceding load of the write position (the vDSO's
//! `clock_gettime` is ordered; [`TscClock`](crate::TscClock) adds `lfence`), so a record
//! reserved after another carries a time no earlier. The owner of a local ring reads `now`
//! (a bare `rdtsc` for the TSC): program order and precise interrupts order it against its own
//! and its signal handlers' reads. A remote flusher reads the ordered clock and publishes the
//! time it closed a packet at (`closed_ts`); the next packet opened begins no earlier (§4.5),
//! which covers an owner whose unordered read executed early. A clock that steps back is clamped
//! to the last timestamp the ring knows; exact order needs a monotonic clock.
//!
//! **Per thread slot, not per CPU, in userspace.** The choice is how writers map to rings. The
//! kernel maps by CPU with preemption disabled, so the only concurrency is nesting. A userspace
//! thread can migrate between reading `sched_getcpu()` and its CAS, so per-CPU rings there
//! (LTTng-UST) must use locked RMWs and pay for cross-CPU cache-line transfers whenever threads
//! share a CPU's ring in turn. A ring per thread slot has one owner, so it can be [`Local`]
//! (CPU-local RMWs, like the kernel's per-CPU buffers), keeps its lines in one core's cache, and
//! gives one stream per thread, at the price of memory per live thread and a slot pool that
//! reuses the ring of an exited thread. The ring itself does not depend on this choice.
//!
//! **Memory** is the caller's ([`Storage`]: the byte region and one [`SubbufControl`] per
//! sub-buffer); nothing is allocated. [`HeapRing`] owns heap storage. Positions are
//! [`CachePadded`].
//!
//! **Consistency of a snapshot**: see [`Consumer::snapshot`].
//!
//! Requirements: 64-bit atomics; a clock monotonic across the contexts writing one ring.
#![allow(unsafe_code)]

mod cache_padded;
mod config;
mod consumer;
#[cfg(not(loom))]
mod emit;
mod frontend;
mod heap;
#[cfg(all(feature = "std", not(loom)))]
mod progress;
mod reservation;
#[cfg(all(feature = "std", not(loom)))]
mod session;
mod storage;
pub(crate) mod sync;

pub use self::cache_padded::CachePadded;
pub use self::config::{
    Concurrency, ConfigError, Discard, Local, Mode, Overwrite, RingConfig, Shared, VOID_EVENT_NAME,
};
pub use self::consumer::{Consumer, Packet, SnapshotStats};
pub use self::frontend::Ring;
pub use self::heap::HeapRing;
pub use self::reservation::Reservation;
#[cfg(all(feature = "std", not(loom)))]
pub use self::session::*;
pub use self::storage::{HeapStorage, Storage, SubbufControl};
pub use self::sync::{byte_cell, ByteCell, Region};
