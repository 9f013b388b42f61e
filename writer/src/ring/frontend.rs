//! The writer side: reserve, commit, packet switch, flush.
//!
//! Positions are free-running `u64` byte offsets. With `S = 2^s` bytes per sub-buffer and
//! `N = 2^n` sub-buffers, position `p` lies in sub-buffer slot `(p >> s) & (N - 1)`, lap
//! `p >> (s + n)`, and packet `p >> s` — which is also the packet's sequence number (§1.6),
//! so no separate packet counter exists.
//!
//! Slot word (overwrite mode), lttng's `buf_wsb[idx].id`:
//! bits 0–15 the physical sub-buffer, bit 16 NOREF (no writer of the current lap has touched the
//! slot, so the consumer may swap it out), bits 17–63 the lap whose delivery set NOREF.

use core::marker::PhantomData;

use tracemark_format::{
    Abi, ByteOrder, HeaderWord, PacketFlags, PacketHeader, COMPACT_HEADER_LEN, EXTENDED_HEADER_LEN,
    PACKET_HEADER_LEN,
};

use super::cache_padded::CachePadded;
use super::config::{Concurrency, ConfigError, Local, Mode, RingConfig, Shared, TypedStream};
use super::reservation::Reservation;
use super::storage::{ControlInner, Storage, SubbufControl};
use super::sync::{compiler_fence, fence, local_add, local_cas, AtomicBool, AtomicU64, Ordering::*, Region};
use crate::Clock;

/// The narrow word's compact and extended header lengths (§5.1).
const NARROW_COMPACT_LEN: usize = HeaderWord::Narrow.compact_len();
const NARROW_EXTENDED_LEN: usize = HeaderWord::Narrow.extended_len();

const HDR: u64 = PACKET_HEADER_LEN as u64;

pub(crate) const OFF_CRC: usize = 12;
const OFF_SEQUENCE: usize = 40;
const OFF_TS_BEGIN: usize = 48;
const OFF_TS_END: usize = 56;
pub(crate) const OFF_CONTENT_SIZE: usize = 64;
const OFF_PACKET_SIZE: usize = 68;
pub(crate) const OFF_DISCARDED: usize = 72;

pub(crate) const SLOT_PHYS: u64 = 0xFFFF;
pub(crate) const SLOT_NOREF: u64 = 1 << 16;
pub(crate) const SLOT_TAG_SHIFT: u32 = 17;

/// The writer's hot line: written by every reservation.
struct WriteState {
    /// Next free byte (lttng's `buf->offset`).
    offset: AtomicU64,
    /// Timestamp of a recent record, never later than the record preceding any reservation that
    /// reads it (lttng's `last_tsc`); chooses compact vs extended event headers (§5.4).
    last_ts: AtomicU64,
    /// [`Local`] rings: writes of the owner thread in progress, nested ones included. Written
    /// with plain loads and stores: a nested signal handler restores it before returning.
    depth: AtomicU64,
    /// [`Local`] rings: `REMOTE_FLUSHING` while another thread runs [`Ring::flush_remote`];
    /// `REMOTE_SEALED` from [`Ring::seal_remote`] on. Owner writes that see it non-zero use
    /// locked read-modify-writes, or are refused once the ring is sealed.
    remote: AtomicU64,
}

/// `remote` bit: a remote flush is running.
const REMOTE_FLUSHING: u64 = 1;
/// `remote` bit: the ring is sealed; the owner's writes and flushes are refused.
const REMOTE_SEALED: u64 = 2;

/// The slow path's line: written at drops and flushes.
struct SwitchState {
    /// Events dropped since the ring started (§10.1): full ring (discard mode), previous lap still
    /// being written, record larger than a packet.
    discarded: AtomicU64,
    /// The latest timestamp a flush closed a packet at. Packets opened later begin no earlier,
    /// which keeps §4.5 when the flush ran on another CPU whose clock read the owner's
    /// unordered read may precede (see [`Ring::flush_remote`]).
    closed_ts: AtomicU64,
}

/// One ring buffer: one stream (§1.2) of `N` sub-buffers of `S` bytes, each sub-buffer one packet.
///
/// Any number of contexts may write concurrently through `&Ring` (threads, signal handlers
/// nested in a write, a flush from the consumer); one [`Consumer`](super::Consumer) reads.
/// `M` is [`Discard`](super::Discard) or [`Overwrite`](super::Overwrite); `C` the clock; `K`
/// [`Shared`] or [`Local`].
pub struct Ring<'a, M: Mode, C: Clock, K: Concurrency = Shared> {
    write: CachePadded<WriteState>,
    /// Start of the oldest packet not yet released by the consumer (lttng's `buf->consumed`).
    pub(crate) consumed: CachePadded<AtomicU64>,
    switch: CachePadded<SwitchState>,
    pub(crate) consumer_taken: AtomicBool,
    /// Overwrite mode: the physical sub-buffer the consumer owns (lttng's `buf_rsb`): its spare
    /// while idle, the packet it reads while it holds one. Only the holder of `consumer_taken`
    /// touches it; kept here so that consumers can come and go.
    pub(crate) consumer_spare: AtomicU64,
    pub(crate) data: Region<'a>,
    pub(crate) control: &'a [SubbufControl],
    pub(crate) sb_order: u32,
    pub(crate) buf_order: u32,
    pub(crate) sb_mask: u64,
    pub(crate) n_mask: u64,
    /// Byte order of everything written (§2); the ABI typed payloads use.
    pub(crate) order: ByteOrder,
    pub(crate) abi: Abi,
    pub(crate) crc: bool,
    /// The records' header word (§5.1).
    pub(crate) word: HeaderWord,
    pub(crate) stream_class_id: u32,
    pub(crate) stream_instance_id: u32,
    pub(crate) typed: Option<TypedStream>,
    /// Header bytes `[0, 56)` of every packet with sequence and timestamp_begin zeroed.
    template: [u8; OFF_TS_END],
    clock: C,
    _mode: PhantomData<(M, K)>,
}

/// The event header of a record being reserved: its class, its timestamp, and the timestamp
/// before it, which decides between the compact and the extended form (§5.4).
#[derive(Clone, Copy)]
struct RecordHeader {
    id: u32,
    ts: u64,
    prev: u64,
}

/// Why [`Ring::reserve_ordered`] made no reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The ring is full, or the record larger than a packet: counted as discarded (§10.1).
    Dropped,
    /// The ring is sealed ([`Ring::seal_remote`]): the trace has ended for its owner.
    Sealed,
}

/// A record reserved and its event header written, as plain values: what the reserve paths
/// return, and what the typed `emit` keeps while its encoder runs. Kept apart from
/// [`Reservation`] (which owns the commit and has a `Drop`) so that the hot path moves a few
/// registers, not a struct in memory: copying a `Reservation` between stack slots right after
/// storing its fields made the loads stall on store forwarding (a quarter of a string event's
/// cycles).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reserved {
    /// Position of the record in the ring's byte stream.
    pub(crate) pos: u64,
    /// Header and payload bytes.
    pub(crate) size: u64,
    /// Offsets in the ring's region of the event header and of the payload.
    pub(crate) header_at: usize,
    pub(crate) payload_at: usize,
    /// Whether the reservation was made with locked RMWs (see `Ring::enter`); the commit must be too.
    pub(crate) locked: bool,
}

impl Reserved {
    /// The region offset one past the record.
    #[inline(always)]
    pub(crate) fn end(&self) -> usize {
        self.header_at + self.size as usize
    }

    #[inline(always)]
    pub(crate) fn payload_len(&self) -> usize {
        self.end() - self.payload_at
    }
}

/// What `reserve_slow` decided inside its CAS loop.
struct SlowPlan {
    ts: u64,
    discarded: u64,
    prev: u64,
    begin: u64,
    size: u64,
    close_old: bool,
    open_new: bool,
    close_new: bool,
}

impl<'a, M: Mode, C: Clock> Ring<'a, M, C, Shared> {
    /// A ring over `storage` (reset here) with `config`'s geometry, reading time from `clock`.
    pub fn new(config: RingConfig, storage: Storage<'a>, clock: C) -> Result<Self, ConfigError> {
        Self::build(config, storage, clock)
    }
}

impl<'a, M: Mode, C: Clock> Ring<'a, M, C, Local> {
    /// A [`Local`] ring: cheaper reservation and commit, for a ring with one owner thread.
    ///
    /// # Safety
    /// At any time at most one thread calls `reserve`, `commit`, `write_event`, `emit` and
    /// `flush` on this ring (signal handlers interrupting it may too), and a change of that
    /// thread happens-after the previous one's last call. Other threads may use the consumer
    /// and [`Ring::flush_remote`].
    pub unsafe fn new_local(config: RingConfig, storage: Storage<'a>, clock: C) -> Result<Self, ConfigError> {
        Self::build(config, storage, clock)
    }
}

impl<'a, M: Mode, C: Clock, K: Concurrency> Ring<'a, M, C, K> {
    pub(crate) fn build(config: RingConfig, storage: Storage<'a>, clock: C) -> Result<Self, ConfigError> {
        config.validate()?;
        storage.check::<M>(&config)?;
        for (i, control) in storage.control.iter().enumerate() {
            control.0.commit_hot.store(0, Relaxed);
            control.0.commit_cold.store(0, Relaxed);
            control.0.slot.store(i as u64 | SLOT_NOREF, Relaxed);
        }
        let order = config.abi.byte_order;
        let word = config.header_word;
        let header = PacketHeader {
            version_minor: word.version_minor(),
            flags: PacketFlags(if config.crc { PacketFlags::HAS_CRC } else { 0 } | word.flag()),
            packet_size: config.subbuf_size as u32,
            ..PacketHeader::new_data(config.trace_uuid, config.stream_class_id, config.stream_instance_id)
        };
        let mut full = [0u8; PACKET_HEADER_LEN];
        header.encode(order, &mut full);
        let mut template = [0u8; OFF_TS_END];
        template.copy_from_slice(&full[..OFF_TS_END]);
        let sb_order = config.subbuf_size.trailing_zeros();
        let n_order = config.num_subbufs.trailing_zeros();
        Ok(Ring {
            write: CachePadded(WriteState {
                offset: AtomicU64::new(0),
                last_ts: AtomicU64::new(0),
                depth: AtomicU64::new(0),
                remote: AtomicU64::new(0),
            }),
            consumed: CachePadded(AtomicU64::new(0)),
            switch: CachePadded(SwitchState { discarded: AtomicU64::new(0), closed_ts: AtomicU64::new(0) }),
            consumer_taken: AtomicBool::new(false),
            // The extra physical sub-buffer (overwrite mode).
            consumer_spare: AtomicU64::new(config.num_subbufs as u64),
            data: Region::new(storage.data),
            control: storage.control,
            sb_order,
            buf_order: sb_order + n_order,
            sb_mask: (config.subbuf_size - 1) as u64,
            n_mask: (config.num_subbufs - 1) as u64,
            order,
            abi: config.abi,
            crc: config.crc,
            word,
            stream_class_id: config.stream_class_id,
            stream_instance_id: config.stream_instance_id,
            typed: config.typed,
            template,
            clock,
            _mode: PhantomData,
        })
    }

    /// Sub-buffer size `S`.
    #[inline(always)]
    pub fn subbuf_size(&self) -> u64 {
        // From the mask, one load and an add: this is on the reservation path.
        self.sb_mask + 1
    }

    /// Number of sub-buffers `N`.
    pub fn num_subbufs(&self) -> u64 {
        self.n_mask + 1
    }

    /// Stream class ID.
    pub fn stream_class_id(&self) -> u32 {
        self.stream_class_id
    }

    /// Stream instance ID.
    pub fn stream_instance_id(&self) -> u32 {
        self.stream_instance_id
    }

    /// The ABI and byte order of what is written.
    pub fn abi(&self) -> &Abi {
        &self.abi
    }

    /// Events dropped so far (§10.1).
    pub fn discarded(&self) -> u64 {
        self.switch.discarded.load(Relaxed)
    }

    /// Packets opened so far (the next packet's sequence number, counting a partly filled one).
    pub fn packets_opened(&self) -> u64 {
        let offset = self.write.offset.load(Acquire);
        (offset + self.sb_mask) >> self.sb_order
    }

    /// Whether a packet is open and holds at least one record not yet closed.
    pub fn has_open_packet(&self) -> bool {
        self.write.offset.load(Acquire) & self.sb_mask != 0
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    #[inline(always)]
    pub(crate) fn slot_index(&self, pos: u64) -> usize {
        ((pos >> self.sb_order) & self.n_mask) as usize
    }

    #[inline(always)]
    fn ctl(&self, pos: u64) -> &ControlInner {
        &self.control[self.slot_index(pos)].0 .0
    }

    /// [`Local`] rings: marks the owner as writing (one more level of nesting) and returns
    /// whether a remote flush is running, in which case this write uses locked RMWs. Shared
    /// rings always use them.
    ///
    /// The owner's half of a Dekker handshake with [`Ring::flush_remote`]: store `depth`, then
    /// load `remote`. Only the compiler is fenced here; the flusher's process-wide barrier
    /// supplies the CPU fence (as with liburcu's membarrier flavour), so the fast path stays
    /// free of `mfence` and `lock`.
    #[inline(always)]
    pub(crate) fn enter(&self) -> bool {
        if !K::LOCAL {
            return true;
        }
        let depth = &self.write.depth;
        depth.store(depth.load(Relaxed) + 1, Relaxed);
        compiler_fence(SeqCst);
        self.write.remote.load(Relaxed) != 0
    }

    /// Ends what [`Ring::enter`] began. The Release store orders this write's bytes and counters
    /// before a remote flusher that reads `depth == 0`.
    #[inline(always)]
    pub(crate) fn exit(&self) {
        if !K::LOCAL {
            return;
        }
        compiler_fence(SeqCst);
        let depth = &self.write.depth;
        depth.store(depth.load(Relaxed).wrapping_sub(1), Release);
    }

    /// The clock, read so that it cannot precede this context's earlier load of the write
    /// position when other CPUs write the ring (shared rings, a remote flush in progress);
    /// the owner of a local ring is ordered by program order and precise interrupts.
    #[inline(always)]
    fn read_clock(&self, locked: bool) -> u64 {
        if K::LOCAL && !locked {
            self.clock.now()
        } else {
            self.clock.now_ordered()
        }
    }

    /// Reserves a record of event class `id` with `payload_len` payload bytes, writes its event
    /// header, and returns the space for the payload; `None` when the event is dropped (counted),
    /// or refused because the ring is sealed ([`Ring::seal_remote`]; not counted).
    ///
    /// The caller writes exactly `payload_len` bytes and commits. Dropping the reservation
    /// commits it too, with the unwritten bytes zeroed (or, on a ring made by
    /// [`RingConfig::for_stream`], rewritten as a void record): a packet is never stalled.
    #[inline(always)]
    pub fn reserve(&self, id: u32, payload_len: usize) -> Option<Reservation<'_, 'a, M, C, K>> {
        let order = self.order;
        self.reserve_ordered(id, payload_len, order)
            .ok()
            .map(|reserved| Reservation::new(self, reserved, order))
    }

    /// [`Ring::reserve`] as plain values, given the ring's byte order: a caller that passes a
    /// constant (the native order, after checking it is the ring's) gets header stores without a
    /// byte-order test each. The caller commits ([`Ring::commit_record`]) or voids
    /// ([`Ring::commit_void`]) the record.
    #[inline(always)]
    pub(crate) fn reserve_ordered(
        &self,
        id: u32,
        payload_len: usize,
        order: ByteOrder,
    ) -> Result<Reserved, Refused> {
        debug_assert!(order == self.order);
        let locked = self.enter();
        // Off the fast path: a sealed ring has `remote` set, so its owner's writes are locked.
        if K::LOCAL && locked && self.is_sealed() {
            self.exit();
            return Err(Refused::Sealed);
        }
        match self.reserve_in(id, payload_len, locked, order) {
            Some(reserved) => Ok(reserved),
            None => {
                self.exit();
                Err(Refused::Dropped)
            }
        }
    }

    #[inline(always)]
    fn reserve_in(&self, id: u32, payload_len: usize, locked: bool, order: ByteOrder) -> Option<Reserved> {
        // One predictable branch, then the header code of a constant word (as cheap as before
        // the narrow word existed).
        match self.word {
            HeaderWord::Wide => self.reserve_in_word(HeaderWord::Wide, id, payload_len, locked, order),
            HeaderWord::Narrow => self.reserve_in_word(HeaderWord::Narrow, id, payload_len, locked, order),
        }
    }

    /// [`Ring::reserve_in`] for the ring's header `word`, which the caller passes as a constant.
    #[inline(always)]
    fn reserve_in_word(
        &self,
        word: HeaderWord,
        id: u32,
        payload_len: usize,
        locked: bool,
        order: ByteOrder,
    ) -> Option<Reserved> {
        let s = self.subbuf_size();
        let mut old = self.write.offset.load(Acquire);
        loop {
            // Time is read after the position it will be written at, and the CAS fails if anyone
            // reserved in between: buffer order is timestamp order, nesting included (§1.7).
            let prev = self.write.last_ts.load(Acquire);
            let now = self.read_clock(locked);
            // A clock that stepped back is clamped to the last record's time as far as it is
            // known here; the ring's ordering guarantee needs a monotonic clock (see `Clock`).
            let ts = if now < prev { prev } else { now };
            let in_sb = old & self.sb_mask;
            let size = (word.encoded_len(id, ts, prev) as u64).saturating_add(payload_len as u64);
            // Packet start, record not fitting, or record ending exactly at the packet end.
            if in_sb == 0 || size >= s - in_sb {
                // Rebuilt field by field, not passed on whole: a whole copy of the call's result
                // kept this path's result in memory too, and its loads stalled on store
                // forwarding (see `Reserved`).
                let slow = self.reserve_slow(id, payload_len, locked)?;
                let Reserved { pos, size, header_at, payload_at, locked } = slow;
                return Some(Reserved { pos, size, header_at, payload_at, locked });
            }
            match self.cas_offset(old, old + size, locked) {
                Ok(_) => {
                    self.write.last_ts.store(ts, Release);
                    let header = RecordHeader { id, ts, prev };
                    return Some(self.begin_record(word, old, size, header, locked, order));
                }
                Err(current) => old = current,
            }
        }
    }

    /// Makes a reserved record visible to the consumer (Release), delivering its packet when
    /// this was the last byte of it to be committed. The same as [`Reservation::commit`].
    #[inline(always)]
    pub fn commit(&self, reservation: Reservation<'_, 'a, M, C, K>) {
        reservation.commit();
    }

    /// Commits the record and ends the write (the body of [`Reservation::commit`]).
    #[inline(always)]
    pub(crate) fn commit_record(&self, reserved: Reserved) {
        self.commit_bytes(reserved.pos, reserved.size, reserved.locked);
        self.exit();
    }

    /// Reserves, lets `fill` write the payload, commits. `false` if the event was dropped.
    #[inline(always)]
    pub fn write_event(
        &self,
        id: u32,
        payload_len: usize,
        fill: impl FnOnce(&mut Reservation<'_, 'a, M, C, K>),
    ) -> bool {
        match self.reserve(id, payload_len) {
            Some(mut reservation) => {
                fill(&mut reservation);
                reservation.commit();
                true
            }
            None => false,
        }
    }

    /// Writes the event header of a record reserved at `[pos, pos + size)`.
    #[inline(always)]
    fn begin_record(
        &self,
        word: HeaderWord,
        pos: u64,
        size: u64,
        header: RecordHeader,
        locked: bool,
        order: ByteOrder,
    ) -> Reserved {
        let RecordHeader { id, ts, prev } = header;
        let phys = self.acquire_slot(pos);
        let at = (phys << self.sb_order) as usize + (pos & self.sb_mask) as usize;
        let mut header = [0u8; EXTENDED_HEADER_LEN];
        let len = word.encode(id, ts, prev, order, &mut header).unwrap_or(0);
        // SAFETY: `[pos, pos + size)` was reserved by our CAS, so these bytes of the slot's
        // physical sub-buffer are ours until we commit; `acquire_slot` made sure the consumer
        // cannot swap that sub-buffer away meanwhile. In bounds: `at + size <= (phys + 1) * S`.
        // Fixed-size copies rather than one of variable length (which would call memcpy).
        unsafe {
            match len {
                COMPACT_HEADER_LEN => self.data.write(at, &header[..COMPACT_HEADER_LEN]),
                NARROW_COMPACT_LEN => self.data.write(at, &header[..NARROW_COMPACT_LEN]),
                NARROW_EXTENDED_LEN => self.data.write(at, &header[..NARROW_EXTENDED_LEN]),
                _ => self.data.write(at, &header[..EXTENDED_HEADER_LEN]),
            }
        }
        Reserved { pos, size, header_at: at, payload_at: at + len, locked }
    }

    /// The physical sub-buffer backing the slot of `pos`, after marking the slot referenced by the
    /// current lap (lttng's `lib_ring_buffer_clear_noref`), which forbids the consumer to swap it.
    #[inline(always)]
    pub(crate) fn acquire_slot(&self, pos: u64) -> u64 {
        if !M::OVERWRITE {
            return (pos >> self.sb_order) & self.n_mask;
        }
        let slot = &self.ctl(pos).slot;
        let mut word = slot.load(Acquire);
        loop {
            if word & SLOT_NOREF == 0 {
                return word & SLOT_PHYS;
            }
            match slot.compare_exchange_weak(word, word & !SLOT_NOREF, AcqRel, Acquire) {
                Ok(_) => return word & SLOT_PHYS,
                Err(current) => word = current,
            }
        }
    }

    /// The CAS on the write position: CPU-local for the owner of a local ring, locked otherwise.
    #[inline(always)]
    fn cas_offset(&self, current: u64, new: u64, locked: bool) -> Result<u64, u64> {
        if K::LOCAL && !locked {
            // SAFETY: only the owner thread and its signal handlers write a local ring
            // (`new_local`), and no remote flusher runs (`remote` was 0 after `enter`, so
            // `flush_remote` waits for this write to `exit`).
            unsafe { local_cas(&self.write.offset, current, new) }
        } else {
            self.write.offset.compare_exchange(current, new, AcqRel, Acquire)
        }
    }

    #[inline(always)]
    fn commit_bytes(&self, pos: u64, len: u64, locked: bool) {
        let control = self.ctl(pos);
        let total = if K::LOCAL && !locked {
            // SAFETY: as in `cas_offset`.
            unsafe { local_add(&control.commit_hot, len) + len }
        } else {
            control.commit_hot.fetch_add(len, Release) + len
        };
        // Lap L's commits sum to a value in (L*S, (L+1)*S]; only the last one is a multiple of S.
        if total & self.sb_mask == 0 {
            self.deliver(control, total);
        }
    }

    /// The packet whose commit count just reached `total = (L + 1) * S` is complete: publish it.
    /// Only the committer of the last byte gets here, once per lap.
    #[cold]
    #[inline(never)]
    fn deliver(&self, control: &ControlInner, total: u64) {
        // Pair with every committer's Release add: their record bytes happen-before what follows.
        fence(Acquire);
        if M::OVERWRITE {
            let lap = (total >> self.sb_order) - 1;
            // Nobody can change the word now: the consumer swaps only NOREF words, and no writer of
            // lap L + 1 exists before `commit_cold` says lap L is delivered.
            let word = control.slot.load(Relaxed);
            control.slot.store((word & SLOT_PHYS) | SLOT_NOREF | (lap << SLOT_TAG_SHIFT), Release);
        }
        control.commit_cold.store(total, Release);
    }

    /// Counts one dropped event (§10.1).
    #[cold]
    #[inline(never)]
    pub(crate) fn count_discarded(&self) {
        self.switch.discarded.fetch_add(1, Relaxed);
    }

    #[cold]
    #[inline(never)]
    fn discard(&self) -> Option<Reserved> {
        self.count_discarded();
        None
    }

    /// Whether the packet starting at `start` may be opened: its slot's previous lap is delivered
    /// and, in discard mode, consumed.
    #[inline(always)]
    fn can_open(&self, start: u64) -> bool {
        let n_s = 1u64 << self.buf_order;
        if !M::OVERWRITE && start.wrapping_sub(self.consumed.load(Acquire)) >= n_s {
            return false;
        }
        let lap = start >> self.buf_order;
        self.ctl(start).commit_cold.load(Acquire) == lap << self.sb_order
    }

    /// Reservation at a packet boundary: lttng's `lib_ring_buffer_reserve_slow`.
    #[cold]
    #[inline(never)]
    fn reserve_slow(&self, id: u32, payload_len: usize, locked: bool) -> Option<Reserved> {
        let s = self.subbuf_size();
        let max_size = s - HDR;
        let mut old = self.write.offset.load(Acquire);
        let plan = loop {
            let last = self.write.last_ts.load(Acquire);
            let floor = self.switch.closed_ts.load(Acquire);
            let now = self.read_clock(locked);
            // Read with the time, before the CAS: packets closed later in buffer order then read
            // a later value, so events_discarded never decreases along the stream (§10.1).
            let discarded = self.switch.discarded.load(Relaxed);
            let mut ts = if now < last { last } else { now };
            let mut prev = last;
            let in_sb = old & self.sb_mask;
            let mut size = (self.word.encoded_len(id, ts, prev) as u64).saturating_add(payload_len as u64);
            let mut begin = old;
            let (mut close_old, mut open_new) = (false, false);
            if in_sb == 0 {
                open_new = true;
            } else if size > s - in_sb {
                close_old = true;
                open_new = true;
                begin = (old & !self.sb_mask) + s;
            }
            if open_new {
                // A new packet begins no earlier than the last flush closed one (§4.5).
                ts = ts.max(floor);
                // First record of a packet: its `prev` is the packet's timestamp_begin, `ts` (§5.4).
                prev = ts;
                size = (self.word.encoded_len(id, ts, ts) as u64).saturating_add(payload_len as u64);
                if size > max_size || !self.can_open(begin) {
                    return self.discard();
                }
                begin += HDR;
            }
            let end = begin + size;
            let close_new = end & self.sb_mask == 0;
            match self.cas_offset(old, end, locked) {
                Ok(_) => break SlowPlan { ts, discarded, prev, begin, size, close_old, open_new, close_new },
                Err(current) => old = current,
            }
        };
        self.write.last_ts.store(plan.ts, Release);
        if plan.close_old {
            self.close_packet(old, plan.ts, plan.discarded, locked);
        }
        if plan.open_new {
            let start = plan.begin - HDR;
            if M::OVERWRITE {
                self.push_consumer(start);
            }
            self.open_packet(start, plan.ts, locked);
        }
        let reserved = self.begin_record(
            self.word,
            plan.begin,
            plan.size,
            RecordHeader { id, ts: plan.ts, prev: plan.prev },
            locked,
            self.order,
        );
        if plan.close_new {
            // This record fills its packet exactly, so no later writer will close it: record the
            // end now, before our own commit can complete the packet.
            self.write_end_fields(plan.begin, plan.ts, s, plan.discarded);
        }
        Some(reserved)
    }

    /// Overwrite mode: the writer is taking the slot of the packet starting at `start`; move the
    /// consumer's position past what this overwrites (lttng's `lib_ring_buffer_reserve_push_reader`).
    fn push_consumer(&self, start: u64) {
        let n_s = 1u64 << self.buf_order;
        let mut consumed = self.consumed.load(Acquire);
        while start.wrapping_sub(consumed) >= n_s {
            // In a later lap than the consumer, so `start >= n_s`: the oldest packet kept is the
            // one after the slot's previous lap.
            let oldest = start - (n_s - self.subbuf_size());
            match self.consumed.compare_exchange_weak(consumed, oldest, AcqRel, Acquire) {
                Ok(_) => break,
                Err(current) => consumed = current,
            }
        }
    }

    /// Writes the begin fields of the packet at `start` and commits its header.
    fn open_packet(&self, start: u64, ts: u64, locked: bool) {
        let phys = self.acquire_slot(start);
        let at = (phys << self.sb_order) as usize;
        let mut begin = self.template;
        begin[OFF_SEQUENCE..OFF_SEQUENCE + 8].copy_from_slice(&self.order.u64_bytes(start >> self.sb_order));
        begin[OFF_TS_BEGIN..OFF_TS_BEGIN + 8].copy_from_slice(&self.order.u64_bytes(ts));
        // SAFETY: the header bytes `[start, start + 80)` belong to the reservation that opened the
        // packet, ours. Only the begin fields are written: a nested writer may already have filled
        // and closed the packet, writing the end fields (56..68, 72..80), which we must not clobber.
        unsafe {
            self.data.write(at, &begin);
            self.data.write(at + OFF_PACKET_SIZE, &self.order.u32_bytes(self.subbuf_size() as u32));
        }
        self.commit_bytes(start, HDR, locked);
    }

    /// Writes the end fields of the packet containing `pos` (content ends at `content_end`).
    fn write_end_fields(&self, pos: u64, ts: u64, content_end: u64, discarded: u64) {
        let phys = self.acquire_slot(pos);
        let at = (phys << self.sb_order) as usize;
        let mut end = [0u8; 12];
        end[..8].copy_from_slice(&self.order.u64_bytes(ts));
        end[8..].copy_from_slice(&self.order.u32_bytes(content_end as u32));
        // SAFETY: the end fields belong to whoever closes the packet, and exactly one context
        // does: the one whose CAS moved the write position out of it (or the exact filler). The
        // packet is not delivered before that context's commit, so the consumer is not reading.
        unsafe {
            self.data.write(at + OFF_TS_END, &end);
            self.data.write(at + OFF_DISCARDED, &self.order.u64_bytes(discarded));
        }
    }

    /// Closes the packet in which the write position was `old` (not at a boundary): end fields,
    /// then the padding commit (lttng's `lib_ring_buffer_switch_old_end`).
    fn close_packet(&self, old: u64, ts: u64, discarded: u64, locked: bool) {
        let content = old & self.sb_mask;
        self.write_end_fields(old, ts, content, discarded);
        self.commit_bytes(old, self.subbuf_size() - content, locked);
    }

    /// Closes the packet being filled, if any, so the consumer gets its events (lttng's
    /// `lib_ring_buffer_switch(SWITCH_FLUSH)`). Safe against concurrent writers: it is one more
    /// CAS on the write position. With `empty_packet`, when no packet is open it writes an empty
    /// one (if there is room), so a quiet stream still reports its discard count and end time.
    /// Returns whether a packet was closed.
    ///
    /// On a [`Local`] ring only the owner may call it; other threads use
    /// [`Ring::flush_remote`].
    pub fn flush(&self, empty_packet: bool) -> bool {
        let locked = self.enter();
        let flushed = !(K::LOCAL && locked && self.is_sealed()) && self.flush_in(empty_packet, locked);
        self.exit();
        flushed
    }

    /// Whether [`Ring::seal_remote`] sealed this ring (a [`Local`] ring's owner can no longer
    /// write it).
    pub fn is_sealed(&self) -> bool {
        self.write.remote.load(Relaxed) & REMOTE_SEALED != 0
    }

    /// Ends a [`Local`] ring's writing from another thread, while its owner thread lives on (a
    /// pool thread the program did not stop before finishing its trace): the owner's writes and
    /// flushes from then on are refused, not counted as discarded (`emit` returns
    /// [`Error::Finished`](crate::Error::Finished), `reserve` `None`, `flush` `false`), and once no write of the owner is in
    /// progress the open packet is closed, so every record written before is delivered.
    ///
    /// `Some(closed)` once sealed and closed (whether a packet was closed); from then on the
    /// caller is the ring's only writer and may close packets with
    /// [`flush_sealed`](Self::flush_sealed). `None` while the owner is inside a write (or the
    /// barrier could not run, or a [`flush_remote`](Self::flush_remote) is running): the ring
    /// is sealed all the same, so that write is its owner's last; call again. A [`Shared`] ring
    /// keeps no count of writes in progress, so it cannot be sealed: always `None`.
    ///
    /// # Safety
    /// As for [`Ring::flush_remote`].
    pub unsafe fn seal_remote(&self, barrier: impl FnOnce() -> bool) -> Option<bool> {
        if !K::LOCAL {
            return None;
        }
        // From here the owner's new writes see `remote` non-zero: locked, then refused.
        self.write.remote.fetch_or(REMOTE_SEALED, AcqRel);
        // After the handshake every later write sees the seal: this closes the last packet.
        self.exclude_owner(REMOTE_SEALED, barrier, || self.flush_in(false, true))
    }

    /// Closes the open packet of a ring [`seal_remote`](Self::seal_remote) sealed and closed
    /// (with `empty_packet`, writes an empty packet when none is open: the final discard count).
    /// `false` if the ring is not sealed.
    ///
    /// # Safety
    /// `seal_remote` returned `Some` for this ring, and no other thread flushes it meanwhile.
    pub unsafe fn flush_sealed(&self, empty_packet: bool) -> bool {
        self.is_sealed() && self.flush_in(empty_packet, true)
    }

    /// Closes the open packet from any thread.
    ///
    /// A [`Shared`] ring just [`flush`](Self::flush)es (`barrier` is not called). A [`Local`]
    /// ring's owner writes with CPU-local RMWs, so the flusher must exclude it: it raises the
    /// `remote` flag, runs `barrier`, and goes ahead only if the owner is not inside a write
    /// then (`depth == 0`); owner writes that begin afterwards see the flag and use locked RMWs
    /// until the flush ends. Otherwise (or when `barrier` returns `false`: it could not run) it
    /// returns `None` at once (busy: try again later); it never waits for the owner, and the
    /// owner never waits for it. `Some(closed)` says whether a packet was closed.
    ///
    /// # Safety
    /// For a [`Local`] ring, `barrier` must, when it returns `true`, have executed a full memory
    /// barrier on every CPU that is running the owner thread, or otherwise ordered the owner's
    /// earlier stores before its later loads as seen from this thread:
    /// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` in userspace (`ring::ProcessBarrier`), an
    /// IPI running `smp_mb()` in a kernel.
    pub unsafe fn flush_remote(&self, empty_packet: bool, barrier: impl FnOnce() -> bool) -> Option<bool> {
        if !K::LOCAL {
            return Some(self.flush_in(empty_packet, true));
        }
        // Locked RMWs and an ordered clock read: the owner may begin a write meanwhile (locked
        // too). A sealed ring is not flushed this way (`remote` is not 0).
        self.exclude_owner(0, barrier, || self.flush_in(empty_packet, true))
    }

    /// The remote half of the Dekker handshake with [`Ring::enter`]: raises `REMOTE_FLUSHING`
    /// if `remote` is `expected` (which also excludes a second remote flusher), runs `barrier`,
    /// and runs `flush` only if the owner is then outside any write (`depth == 0`); `None`
    /// otherwise.
    ///
    /// # Safety
    /// `barrier` as for [`Ring::flush_remote`].
    unsafe fn exclude_owner<T>(
        &self,
        expected: u64,
        barrier: impl FnOnce() -> bool,
        flush: impl FnOnce() -> T,
    ) -> Option<T> {
        let remote = &self.write.remote;
        if remote.compare_exchange(expected, expected | REMOTE_FLUSHING, AcqRel, Relaxed).is_err() {
            return None;
        }
        let result = if barrier() && self.write.depth.load(Acquire) == 0 { Some(flush()) } else { None };
        // Not a plain store: `seal_remote` may have set its bit meanwhile.
        remote.fetch_and(!REMOTE_FLUSHING, Release);
        result
    }

    fn flush_in(&self, empty_packet: bool, locked: bool) -> bool {
        let s = self.subbuf_size();
        let mut old = self.write.offset.load(Acquire);
        loop {
            let last = self.write.last_ts.load(Acquire);
            let floor = self.switch.closed_ts.load(Acquire);
            let ts = self.read_clock(locked).max(last).max(floor);
            let discarded = self.switch.discarded.load(Relaxed);
            let in_sb = old & self.sb_mask;
            if in_sb == 0 && !(empty_packet && self.can_open(old)) {
                return false;
            }
            // Published before the CAS: a writer that sees the new position sees the floor too.
            self.switch.closed_ts.fetch_max(ts, Release);
            let new = (old & !self.sb_mask) + s;
            match self.cas_offset(old, new, locked) {
                Ok(_) if in_sb == 0 => {
                    if M::OVERWRITE {
                        self.push_consumer(old);
                    }
                    self.write_end_fields(old, ts, HDR, discarded);
                    self.open_packet(old, ts, locked);
                    self.commit_bytes(old, s - HDR, locked);
                    return true;
                }
                Ok(_) => {
                    self.close_packet(old, ts, discarded, locked);
                    return true;
                }
                Err(current) => old = current,
            }
        }
    }
}
