//! [`HeapRing`]: a ring that owns its memory, for users with an allocator.

use alloc::boxed::Box;
use core::mem::ManuallyDrop;

use super::config::{Concurrency, ConfigError, Local, Mode, RingConfig, Shared};
use super::frontend::Ring;
use super::storage::{HeapStorage, Storage, SubbufControl};
use super::sync::ByteCell;
use crate::Clock;

/// A [`Ring`] together with its heap storage.
///
/// [`HeapRing::ring`] lends the ring for as long as the `HeapRing` is borrowed, so nothing
/// reserved in it can outlive the memory.
pub struct HeapRing<M: Mode, C: Clock, K: Concurrency = Shared> {
    /// Borrows `data` and `control` for a lifetime this type never lets escape (see `ring`).
    ring: ManuallyDrop<Ring<'static, M, C, K>>,
    /// From `Box::into_raw`; freed in `Drop` after the ring.
    data: *mut [ByteCell],
    control: *mut [SubbufControl],
}

// SAFETY: the raw pointers are this value's own allocations, touched only through the ring
// (which is `Send`/`Sync` when its clock is: `Region` documents why) and freed in `Drop`.
unsafe impl<M: Mode, C: Clock + Send, K: Concurrency> Send for HeapRing<M, C, K> {}
// SAFETY: as above; `&HeapRing` only gives out `&Ring`.
unsafe impl<M: Mode, C: Clock + Sync, K: Concurrency> Sync for HeapRing<M, C, K> {}

impl<M: Mode, C: Clock> HeapRing<M, C, Shared> {
    /// A shared ring with `config`'s geometry, reading time from `clock`.
    pub fn new(config: RingConfig, clock: C) -> Result<Self, ConfigError> {
        // SAFETY: `Shared` rings have no ownership contract.
        unsafe { Self::build(config, clock, |storage, clock| Ring::new(config, storage, clock)) }
    }
}

impl<M: Mode, C: Clock> HeapRing<M, C, Local> {
    /// A [`Local`] ring with `config`'s geometry, reading time from `clock`.
    ///
    /// # Safety
    /// As [`Ring::new_local`].
    pub unsafe fn new_local(config: RingConfig, clock: C) -> Result<Self, ConfigError> {
        // SAFETY: the caller keeps `new_local`'s contract.
        unsafe { Self::build(config, clock, |storage, clock| Ring::new_local(config, storage, clock)) }
    }
}

impl<M: Mode, C: Clock, K: Concurrency> HeapRing<M, C, K> {
    /// A ring of either concurrency, for code generic over it.
    ///
    /// # Safety
    /// For a [`Local`] ring, as [`Ring::new_local`].
    #[cfg(all(feature = "std", not(loom)))]
    pub(crate) unsafe fn new_any(config: RingConfig, clock: C) -> Result<Self, ConfigError> {
        // SAFETY: the caller keeps `new_local`'s contract when `K` is `Local`.
        unsafe { Self::build(config, clock, |storage, clock| Ring::build(config, storage, clock)) }
    }

    /// # Safety
    /// `make` is `Ring::new`, or `Ring::new_local` under its contract.
    unsafe fn build(
        config: RingConfig,
        clock: C,
        make: impl FnOnce(Storage<'static>, C) -> Result<Ring<'static, M, C, K>, ConfigError>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let (data, control) = HeapStorage::new::<M>(&config).into_parts();
        let (data, control) = (Box::into_raw(data), Box::into_raw(control));
        // SAFETY: fresh, exclusively owned allocations; they live until `Drop`, which drops the
        // ring first, and `ring()` ties every borrow of the ring to a borrow of `self`.
        let storage = unsafe { Storage::new(&mut *data, &mut *control) };
        match make(storage, clock) {
            Ok(ring) => Ok(HeapRing { ring: ManuallyDrop::new(ring), data, control }),
            Err(error) => {
                // SAFETY: from `Box::into_raw` above; the failed ring no longer borrows them.
                unsafe { drop((Box::from_raw(data), Box::from_raw(control))) };
                Err(error)
            }
        }
    }

    /// The ring, for as long as `self` is borrowed.
    #[inline(always)]
    pub fn ring(&self) -> &Ring<'_, M, C, K> {
        // `Ring` is covariant in its lifetime: `'static` shortens to the borrow of `self`.
        &self.ring
    }
}

impl<M: Mode, C: Clock, K: Concurrency> Drop for HeapRing<M, C, K> {
    fn drop(&mut self) {
        // SAFETY: the ring is dropped once, here, before the memory it borrows; nothing borrowed
        // from it survives (`ring()` borrows `self`). The pointers come from `Box::into_raw`.
        unsafe {
            ManuallyDrop::drop(&mut self.ring);
            drop((Box::from_raw(self.data), Box::from_raw(self.control)));
        }
    }
}
