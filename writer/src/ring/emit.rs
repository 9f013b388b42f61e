//! Typed writes: events declared with [`event!`](crate::event) and markers (§8), encoded in
//! place in a [`Reservation`](super::Reservation) through a [`PayloadWriter`], with no copy.
//!
//! The registry path is the one [`StreamWriter`](crate::StreamWriter) uses: a handle exists only
//! once its EVENT_CLASS record is queued, and whoever delivers the ring's packets delivers the
//! queued metadata first (§7.6), as [`RingSession`](super::RingSession)'s consumer does.

use tracemark_format::{ByteOrder, EXTENDED_HEADER_LEN, PACKET_HEADER_LEN};

use super::config::{check_handle, Concurrency, Mode};
use super::frontend::{Refused, Reserved, Ring};
#[cfg(feature = "std")]
use crate::marker::CompiledMarker;
#[cfg(feature = "std")]
use crate::MarkerArg;
use crate::{Clock, Error, EventHandle, EventType, PayloadWriter, RawHandle, Result};

impl<'a, M: Mode, C: Clock, K: Concurrency> Ring<'a, M, C, K> {
    /// Writes `event`, timestamped now.
    ///
    /// `Ok(true)`: written. `Ok(false)`: dropped because the ring is full (discard mode) or the
    /// sub-buffer it needs is still being written, and counted in `events_discarded` (§10.1).
    /// Errors: [`Error::ForeignHandle`] when `handle` was not registered for this ring's trace and
    /// stream class (nothing is written or counted; a ring not made by
    /// [`RingConfig::for_stream`](super::RingConfig::for_stream) accepts no handle);
    /// [`Error::Finished`] when the ring is sealed ([`Ring::seal_remote`]; not counted);
    /// [`Error::EventTooLarge`] (counted); [`Error::PayloadSize`] when the encoder wrote another
    /// size than it declared: the record is rewritten in place as a
    /// [`VOID_EVENT_NAME`](super::VOID_EVENT_NAME) record, which readers decode and skip, and the
    /// event is counted as discarded.
    #[inline]
    pub fn emit<E: EventType + ?Sized>(&self, handle: EventHandle<E>, event: &E) -> Result<bool> {
        let payload_len = event.encoded_size(&self.abi);
        self.emit_with(handle.raw(), payload_len, |writer| event.encode(writer))
    }

    /// Writes a record of class `handle` whose payload `encode` writes: exactly `payload_len`
    /// bytes laid out for the ring's ABI. Results as [`Ring::emit`].
    #[inline]
    pub fn emit_with(
        &self,
        handle: RawHandle,
        payload_len: usize,
        encode: impl FnOnce(&mut PayloadWriter<'_>),
    ) -> Result<bool> {
        // The usual ring writes the native order: with it a constant, the encoder's stores need
        // no byte-order test each (a tenth of the instructions of a 3-integer event).
        if self.order == ByteOrder::NATIVE {
            self.emit_ordered(handle, payload_len, encode, ByteOrder::NATIVE)
        } else {
            self.emit_foreign(handle, payload_len, encode)
        }
    }

    #[inline(never)]
    fn emit_foreign(
        &self,
        handle: RawHandle,
        payload_len: usize,
        encode: impl FnOnce(&mut PayloadWriter<'_>),
    ) -> Result<bool> {
        self.emit_ordered(handle, payload_len, encode, self.order)
    }

    #[inline(always)]
    fn emit_ordered(
        &self,
        handle: RawHandle,
        payload_len: usize,
        encode: impl FnOnce(&mut PayloadWriter<'_>),
        order: ByteOrder,
    ) -> Result<bool> {
        let void_id = check_handle(self.typed, self.stream_class_id, handle)?;
        let id = handle.id();
        if payload_len == 0 {
            // No payload bytes to rewrite if the encoder disagrees: ask it before reserving.
            let mut empty = PayloadWriter::new(&mut [], self.abi);
            encode(&mut empty);
            if !empty.is_complete() {
                self.count_discarded();
                return Err(Error::PayloadSize { declared: 0, written: 1 });
            }
            return match self.reserve_ordered(id, 0, order) {
                Ok(reserved) => {
                    self.commit_record(reserved);
                    Ok(true)
                }
                Err(refused) => refused_result(refused),
            };
        }
        let capacity = self.subbuf_size() as usize - PACKET_HEADER_LEN;
        // One test for what fits under either header, the exact one only near the limit.
        if payload_len > capacity - EXTENDED_HEADER_LEN {
            let word = self.word;
            let header = if id >= word.escape_id() { word.extended_len() } else { word.compact_len() };
            if payload_len > capacity - header {
                self.count_discarded();
                return Err(Error::EventTooLarge { size: payload_len.saturating_add(header), capacity });
            }
        }
        let reserved = match self.reserve_ordered(id, payload_len, order) {
            Ok(reserved) => reserved,
            Err(refused) => return refused_result(refused),
        };
        if reserved.payload_len() != payload_len {
            // Cannot happen (both reserve paths size the payload as asked); kept as a check so
            // that the writer below may cover exactly `payload_len` bytes.
            self.commit_void(reserved, void_id);
            return Err(Error::PayloadSize { declared: payload_len, written: 0 });
        }
        // The record is reserved as plain values (see `Reserved`); this guard delivers it,
        // voided, should the encoder unwind.
        let guard = VoidOnUnwind { ring: self, reserved, void_id };
        let abi = tracemark_format::Abi { byte_order: order, ..self.abi };
        // SAFETY: `[payload_at, payload_at + payload_len)` is the payload (checked above) of the
        // range our reserve CAS gave to this write alone; until the commit below no writer
        // touches it and the consumer does not read it (its packet cannot be complete), and in
        // overwrite mode the slot is referenced, so the consumer cannot swap the sub-buffer out.
        let payload = unsafe { self.data.slice_mut(reserved.payload_at, payload_len) };
        let mut writer = PayloadWriter::new(payload, abi);
        encode(&mut writer);
        core::mem::forget(guard);
        if writer.is_complete() {
            self.commit_record(reserved);
            return Ok(true);
        }
        let written = if writer.overflowed() { payload_len + 1 } else { writer.position() };
        self.commit_void(reserved, void_id);
        Err(Error::PayloadSize { declared: payload_len, written })
    }

    /// Writes marker `compiled` (§8) with `args`, checked against `format` before anything is
    /// reserved. Results as [`Ring::emit`]. (Used by [`RingStream::marker`](super::RingStream::marker),
    /// which keeps the per-stream cache of compiled markers.)
    #[cfg(feature = "std")]
    pub(crate) fn emit_marker(
        &self,
        compiled: &CompiledMarker,
        format: &str,
        args: &[MarkerArg<'_>],
    ) -> Result<bool> {
        let payload_len = compiled.payload_size(format, args)?;
        self.emit_with(compiled.handle(), payload_len, |writer| compiled.encode(args, writer))
    }
}

/// What a write whose reservation was refused returns (see [`Ring::emit`]).
#[cold]
fn refused_result(refused: Refused) -> Result<bool> {
    match refused {
        Refused::Dropped => Ok(false),
        Refused::Sealed => Err(Error::Finished),
    }
}

/// Voids and commits a reserved record when dropped: armed while an encoder runs, so that a
/// panicking encoder cannot stall its packet (the typed counterpart of `Reservation`'s `Drop`).
struct VoidOnUnwind<'r, 'a, M: Mode, C: Clock, K: Concurrency> {
    ring: &'r Ring<'a, M, C, K>,
    reserved: Reserved,
    void_id: u32,
}

impl<M: Mode, C: Clock, K: Concurrency> Drop for VoidOnUnwind<'_, '_, M, C, K> {
    fn drop(&mut self) {
        self.ring.commit_void(self.reserved, self.void_id);
    }
}
