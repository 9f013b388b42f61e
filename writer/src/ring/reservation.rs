//! [`Reservation`]: the payload space of one reserved record.

use core::mem::ManuallyDrop;

use tracemark_format::HeaderWord;

use super::config::{Concurrency, Mode};
use super::frontend::{Reserved, Ring};
use crate::Clock;

/// Space reserved for one record's payload, written front to back in the trace byte order, then
/// committed ([`Reservation::commit`] or [`Ring::commit`]).
///
/// Writes past the reserved length are ignored (the serializer sizes the payload before
/// reserving, so that is a caller bug; ignoring it keeps the packet decodable).
///
/// Dropping a reservation without committing it (an early return, a panic in an encoder)
/// commits it anyway so that its packet is still delivered: on a ring made by
/// [`RingConfig::for_stream`](super::RingConfig::for_stream) the record is rewritten as a
/// [`VOID_EVENT_NAME`](super::VOID_EVENT_NAME) record and counted as discarded, elsewhere its
/// unwritten bytes are zeroed.
/// A reservation that is leaked (`mem::forget`) stalls its packet for good.
#[must_use = "a reservation is committed when dropped; commit it explicitly once the payload is written"]
pub struct Reservation<'r, 'a, M: Mode, C: Clock, K: Concurrency> {
    ring: &'r Ring<'a, M, C, K>,
    reserved: Reserved,
    /// Offset in the ring's region of the `write_*` cursor.
    cursor: usize,
    /// The ring's byte order, kept here so that stores need not reload it from the ring (whose
    /// fields the compiler re-reads after every atomic operation).
    order: tracemark_format::ByteOrder,
}

impl<'r, 'a, M: Mode, C: Clock, K: Concurrency> Reservation<'r, 'a, M, C, K> {
    #[inline(always)]
    pub(crate) fn new(
        ring: &'r Ring<'a, M, C, K>,
        reserved: Reserved,
        order: tracemark_format::ByteOrder,
    ) -> Self {
        Reservation { ring, reserved, cursor: reserved.payload_at, order }
    }

    /// Sequence number of the packet this record is in (for loss accounting in tests and tools).
    #[inline(always)]
    pub fn packet_sequence(&self) -> u64 {
        self.reserved.pos >> self.ring.sb_order
    }

    /// Payload bytes reserved.
    #[inline(always)]
    pub fn payload_len(&self) -> usize {
        self.reserved.payload_len()
    }

    /// Payload bytes not yet written by the `write_*` methods.
    #[inline(always)]
    pub fn remaining(&self) -> usize {
        self.reserved.end() - self.cursor
    }

    /// The whole payload, in place in the ring, for an encoder that writes it directly (a
    /// [`PayloadWriter`](crate::PayloadWriter), see [`Reservation::payload_writer`]). Bytes
    /// written through it do not move the `write_*` cursor.
    #[cfg(not(loom))]
    #[inline(always)]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        // SAFETY: `[payload_at, end)` lies in the range our reserve CAS gave to this reservation
        // alone; until the commit (which consumes `self`, so this borrow has ended) no writer
        // touches it and the consumer does not read it (its packet cannot be complete), and in
        // overwrite mode the slot is referenced, so the consumer cannot swap the sub-buffer out.
        // The slice borrows `self` mutably, so no second reference to the bytes exists.
        unsafe { self.ring.data.slice_mut(self.reserved.payload_at, self.reserved.payload_len()) }
    }

    /// A [`PayloadWriter`](crate::PayloadWriter) over the payload, laid out for the ring's ABI:
    /// what [`EventType::encode`](crate::EventType::encode) writes into, without a copy.
    #[cfg(not(loom))]
    #[inline(always)]
    pub fn payload_writer(&mut self) -> crate::PayloadWriter<'_> {
        let abi = self.ring.abi;
        crate::PayloadWriter::new(self.payload_mut(), abi)
    }

    /// Appends raw bytes.
    #[inline(always)]
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        if bytes.len() <= self.remaining() {
            // SAFETY: `[cursor, end)` lies in this reservation, which the reserve CAS gave to us
            // alone until commit; the length check keeps the write inside it.
            unsafe { self.ring.data.write(self.cursor, bytes) };
            self.cursor += bytes.len();
        }
    }

    /// Appends a NUL-terminated string (§6.4 code 0x20); `s` must not contain NUL.
    #[inline(always)]
    pub fn write_str(&mut self, s: &[u8]) {
        if s.len() < self.remaining() {
            self.write_bytes(s);
            self.write_bytes(&[0]);
        }
    }

    /// Makes the record visible to the consumer (Release), delivering its packet when this was
    /// the last byte of it to be committed.
    #[inline(always)]
    pub fn commit(self) {
        let this = ManuallyDrop::new(self);
        this.ring.commit_record(this.reserved);
    }
}

impl<M: Mode, C: Clock, K: Concurrency> Ring<'_, M, C, K> {
    /// Rewrites the record `reserved` as one of the void class `void_id` (one string field
    /// holding `payload_len - 1` filler bytes), so a reader skips it whole, commits it, and
    /// counts its event as discarded: it is not delivered (§10.1). A record with no payload
    /// bytes cannot be rewritten and is committed as it is.
    #[cold]
    pub(crate) fn commit_void(&self, reserved: Reserved, void_id: u32) {
        let Reserved { header_at, payload_at, .. } = reserved;
        let end = reserved.end();
        if end > payload_at {
            let order = self.order;
            // SAFETY (both blocks): the header and payload bytes are this reservation's (see
            // `Reservation::payload_mut`); in bounds, as `begin_record` wrote them.
            unsafe {
                let form = self.word;
                let word_len = form.compact_len();
                if payload_at - header_at == word_len {
                    // Compact: the ID is the word's top bits (the void class's is below the
                    // escape, `RingConfig::for_stream`); keep the timestamp bits.
                    let id_bits = u64::from(void_id) << form.timestamp_bits();
                    if form == HeaderWord::Narrow {
                        let word = self.data.with_slice(header_at, 4, |b| order.read_u32(b)).unwrap_or(0);
                        let word = (u64::from(word) & form.timestamp_mask()) | id_bits;
                        // The narrow word's 32 bits hold the ID and the timestamp bits.
                        self.data.write(header_at, &order.u32_bytes(word as u32));
                    } else {
                        let word = self.data.with_slice(header_at, 8, |b| order.read_u64(b)).unwrap_or(0);
                        self.data
                            .write(header_at, &order.u64_bytes((word & form.timestamp_mask()) | id_bits));
                    }
                } else {
                    // Extended: the u32 ID follows the escape word (§5.3).
                    self.data.write(header_at + word_len, &order.u32_bytes(void_id));
                }
            }
            const FILL: [u8; 64] = [b'.'; 64];
            let mut at = payload_at;
            while at + 1 < end {
                let chunk = (end - 1 - at).min(FILL.len());
                // SAFETY: `[at, at + chunk)` lies in this reservation's payload (see above).
                unsafe { self.data.write(at, &FILL[..chunk]) };
                at += chunk;
            }
            // SAFETY: the payload's last byte, `end > payload_at`.
            unsafe { self.data.write(end - 1, &[0]) };
        }
        self.commit_record(reserved);
        self.count_discarded();
    }
}

impl<M: Mode, C: Clock, K: Concurrency> Drop for Reservation<'_, '_, M, C, K> {
    /// Not committed explicitly: deliver the packet anyway (see the type's documentation).
    fn drop(&mut self) {
        match self.ring.typed {
            Some(typed) => self.ring.commit_void(self.reserved, typed.void_id),
            None => {
                while self.remaining() > 0 {
                    let chunk = self.remaining().min(64);
                    self.write_bytes(&[0; 64][..chunk]);
                }
                self.ring.commit_record(self.reserved);
            }
        }
    }
}

macro_rules! put {
    ($($name:ident $ty:ty;)*) => {
        impl<M: Mode, C: Clock, K: Concurrency> Reservation<'_, '_, M, C, K> {
            $(
                #[doc = concat!("Appends a `", stringify!($ty), "` in the trace byte order.")]
                #[inline(always)]
                pub fn $name(&mut self, value: $ty) {
                    let bytes = match self.order {
                        tracemark_format::ByteOrder::Little => value.to_le_bytes(),
                        tracemark_format::ByteOrder::Big => value.to_be_bytes(),
                    };
                    self.write_bytes(&bytes);
                }
            )*
        }
    };
}

put! {
    write_u8 u8; write_u16 u16; write_u32 u32; write_u64 u64;
    write_i8 i8; write_i16 i16; write_i32 i32; write_i64 i64;
    write_f64 f64;
}
