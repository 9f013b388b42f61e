//! The consumer side: take complete packets, finalize their CRC, release them; snapshot.

use tracemark_format::crc::packet_crc;
use tracemark_format::PACKET_HEADER_LEN;

use super::config::{Concurrency, Mode, Shared};
use super::frontend::{
    Ring, OFF_CONTENT_SIZE, OFF_CRC, OFF_DISCARDED, SLOT_NOREF, SLOT_PHYS, SLOT_TAG_SHIFT,
};
use super::sync::{Ordering::*, Region};
use crate::Clock;

/// The one reader of a ring. Obtained with [`Ring::consumer`]; dropping it lets another be taken
/// (consumers are cheap: the state that must outlive one lives in the ring).
pub struct Consumer<'r, 'a, M: Mode, C: Clock, K: Concurrency = Shared> {
    ring: &'r Ring<'a, M, C, K>,
    /// The packet held between `get_next_packet` and `put_packet`.
    held: Option<Held>,
}

#[derive(Clone, Copy)]
struct Held {
    pos: u64,
    phys: u64,
    content_size: usize,
}

/// A complete, finalized packet (CRC stored, padding zeroed) the consumer holds until
/// [`Consumer::put_packet`].
pub struct Packet<'c, 'a> {
    region: Region<'a>,
    at: usize,
    len: usize,
    content_size: usize,
    sequence: u64,
    order: tracemark_format::ByteOrder,
    _consumer: core::marker::PhantomData<&'c ()>,
}

impl<'a> Packet<'_, 'a> {
    /// The packet's bytes: header, records, zeroed padding (`packet_size` bytes).
    #[cfg(not(loom))]
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the consumer owns this sub-buffer until `put_packet` (which needs `&mut` of the
        // consumer, so this borrow has ended): writers neither reserve in it (discard mode: the
        // consumed position holds them off; overwrite: it was swapped out of the ring).
        unsafe { self.region.slice(self.at, self.len) }
    }

    /// Runs `f` on the packet's bytes (copies them under loom).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: as in `bytes`.
        unsafe { self.region.with_slice(self.at, self.len, f) }
    }

    /// Header plus records, in bytes.
    pub fn content_size(&self) -> usize {
        self.content_size
    }

    /// The packet sequence number.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The stream's discard counter as of this packet (§10.1).
    pub fn events_discarded(&self) -> u64 {
        // SAFETY: as in `bytes`.
        unsafe { self.region.with_slice(self.at + OFF_DISCARDED, 8, |b| self.order.read_u64(b)) }.unwrap_or(0)
    }
}

/// What [`Consumer::snapshot`] extracted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Packets handed to the callback.
    pub packets: u64,
    /// Packets of the snapshot range lost to concurrent writers while it ran.
    pub lost: u64,
}

impl<'a, M: Mode, C: Clock, K: Concurrency> Ring<'a, M, C, K> {
    /// The ring's consumer, or `None` if one already exists.
    pub fn consumer(&self) -> Option<Consumer<'_, 'a, M, C, K>> {
        if self.consumer_taken.swap(true, Acquire) {
            return None;
        }
        Some(Consumer { ring: self, held: None })
    }
}

impl<M: Mode, C: Clock, K: Concurrency> Drop for Consumer<'_, '_, M, C, K> {
    fn drop(&mut self) {
        self.put_packet();
        self.ring.consumer_taken.store(false, Release);
    }
}

impl<'r, 'a, M: Mode, C: Clock, K: Concurrency> Consumer<'r, 'a, M, C, K> {
    /// The ring this consumer reads.
    pub fn ring(&self) -> &'r Ring<'a, M, C, K> {
        self.ring
    }

    /// The oldest complete packet not yet released, with its CRC computed and stored (§4.4) and
    /// its padding zeroed; `None` if that packet is not complete yet. Calling it again before
    /// [`put_packet`](Self::put_packet) returns the same packet.
    pub fn get_next_packet(&mut self) -> Option<Packet<'_, 'a>> {
        if self.held.is_none() {
            self.held = Some(self.take()?);
        }
        let held = self.held?;
        let ring = self.ring;
        Some(Packet {
            region: ring.data,
            at: (held.phys << ring.sb_order) as usize,
            len: ring.subbuf_size() as usize,
            content_size: held.content_size,
            sequence: held.pos >> ring.sb_order,
            order: ring.order,
            _consumer: core::marker::PhantomData,
        })
    }

    /// Releases the packet from [`get_next_packet`](Self::get_next_packet): its sub-buffer goes
    /// back to the writers. No-op when none is held.
    pub fn put_packet(&mut self) {
        let Some(held) = self.held.take() else { return };
        let ring = self.ring;
        // Overwrite mode: writers may have pushed the position past us already; then it stays.
        let _ = ring.consumed.compare_exchange(held.pos, held.pos + ring.subbuf_size(), AcqRel, Relaxed);
        if M::OVERWRITE {
            ring.consumer_spare.store(held.phys, Relaxed);
        }
    }

    fn take(&mut self) -> Option<Held> {
        let ring = self.ring;
        loop {
            let pos = ring.consumed.load(Acquire);
            let lap = pos >> ring.buf_order;
            let control = &ring.control[ring.slot_index(pos)].0 .0;
            let want = (lap + 1) << ring.sb_order;
            let delivered = control.commit_cold.load(Acquire);
            if delivered < want {
                return None;
            }
            let phys = if M::OVERWRITE {
                let word = control.slot.load(Acquire);
                let expected = SLOT_NOREF | (lap << SLOT_TAG_SHIFT);
                if delivered == want && word & !SLOT_PHYS == expected {
                    // Swap our spare in, the delivered packet out (lttng's update_read_sb_index):
                    // it succeeds only if no writer of the next lap has referenced the slot.
                    let mine = ring.consumer_spare.load(Relaxed) | expected;
                    match control.slot.compare_exchange(word, mine, AcqRel, Acquire) {
                        Ok(_) => word & SLOT_PHYS,
                        Err(_) => continue,
                    }
                } else {
                    // A writer of a later lap owns the slot: this packet is overwritten (lost).
                    let _ = ring.consumed.compare_exchange(pos, pos + ring.subbuf_size(), AcqRel, Relaxed);
                    continue;
                }
            } else {
                (pos >> ring.sb_order) & ring.n_mask
            };
            return Some(self.finalize(pos, phys));
        }
    }

    /// Computes and stores the CRC (when the ring has one), zeroes the padding.
    fn finalize(&mut self, pos: u64, phys: u64) -> Held {
        let ring = self.ring;
        let s = ring.subbuf_size() as usize;
        let at = (phys << ring.sb_order) as usize;
        // SAFETY (all blocks): the consumer owns the sub-buffer `[at, at + S)` now (see
        // `Packet::bytes`), and the Acquire loads in `take` ordered every writer's bytes before us.
        let content = unsafe { ring.data.with_slice(at + OFF_CONTENT_SIZE, 4, |b| ring.order.read_u32(b)) };
        let content_size = (content.unwrap_or(0) as usize).clamp(PACKET_HEADER_LEN, s);
        if ring.crc {
            let crc = unsafe { ring.data.with_slice(at, s, |bytes| packet_crc(bytes, content_size)) };
            unsafe { ring.data.write(at + OFF_CRC, &ring.order.u32_bytes(crc.unwrap_or(0))) };
        }
        unsafe { zero(ring.data, at + content_size, s - content_size) };
        Held { pos, phys, content_size }
    }

    /// Flight-recorder extraction: hands `f` every complete packet from the oldest retained one
    /// up to the packets opened when it starts, oldest first, releasing each. Flush the ring
    /// first ([`Ring::flush`], [`Ring::flush_remote`]) to include the packet being filled.
    ///
    /// Consistency: each packet given to `f` is whole and internally consistent (taken exclusively,
    /// CRC computed on what `f` sees), and sequence numbers strictly increase. Writers are not
    /// stopped: packets they overwrite while the snapshot runs are skipped (a sequence gap, counted
    /// in `lost`), and packets begun after it started are left for the next read. A packet whose
    /// last writer has not committed yet ends the snapshot early.
    pub fn snapshot(&mut self, mut f: impl FnMut(&Packet<'_, 'a>)) -> SnapshotStats {
        let ring = self.ring;
        let end = ring.packets_opened() << ring.sb_order;
        let mut stats = SnapshotStats::default();
        let mut next_seq = None;
        loop {
            if let Some(held) = self.held {
                if held.pos >= end {
                    break;
                }
            } else if ring.consumed.load(Acquire) >= end {
                break;
            }
            let Some(packet) = self.get_next_packet() else { break };
            if packet.sequence() << ring.sb_order >= end {
                break;
            }
            if let Some(expected) = next_seq {
                stats.lost += packet.sequence() - expected;
            }
            next_seq = Some(packet.sequence() + 1);
            f(&packet);
            stats.packets += 1;
            self.put_packet();
        }
        stats
    }
}

/// Zeroes `[at, at + len)`.
///
/// # Safety
/// As `Region::write`.
unsafe fn zero(region: Region<'_>, at: usize, len: usize) {
    const ZEROS: [u8; 256] = [0; 256];
    let mut done = 0;
    while done < len {
        let chunk = (len - done).min(ZEROS.len());
        // SAFETY: caller.
        unsafe { region.write(at + done, &ZEROS[..chunk]) };
        done += chunk;
    }
}
