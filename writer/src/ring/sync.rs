//! The synchronisation primitives the ring uses, swapped for loom's under `cfg(loom)`
//! (as `crossbeam-epoch`'s `primitive` module does), and [`Region`], the byte memory the
//! sub-buffers live in.
//!
//! Everything the ring shares between contexts goes through this module, so a loom model
//! checks both the atomics and, through loom's `UnsafeCell`, every byte the writers and the
//! consumer touch: a missing happens-before edge on a record byte is a loom failure.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicBool, AtomicU64};

pub(crate) use core::sync::atomic::{compiler_fence, Ordering};

/// One byte of ring memory. `core::cell::UnsafeCell<u8>` normally; loom's tracked cell in models.
#[cfg(not(loom))]
pub type ByteCell = core::cell::UnsafeCell<u8>;
/// One byte of ring memory. `core::cell::UnsafeCell<u8>` normally; loom's tracked cell in models.
#[cfg(loom)]
pub type ByteCell = loom::cell::UnsafeCell<u8>;

/// A new zeroed byte cell (a `const fn` outside loom, so storage can be a `static`).
#[cfg(not(loom))]
pub const fn byte_cell() -> ByteCell {
    core::cell::UnsafeCell::new(0)
}
/// A new zeroed byte cell.
#[cfg(loom)]
pub fn byte_cell() -> ByteCell {
    loom::cell::UnsafeCell::new(0)
}

/// The ring's byte memory: a borrowed run of byte cells, addressed by offset.
///
/// `Region` does no synchronisation. Its `unsafe` methods state the exclusivity the ring's
/// protocol (reserve, slot ownership, commit counts) must provide.
#[derive(Clone, Copy)]
pub struct Region<'a> {
    cells: &'a [ByteCell],
}

// SAFETY: `Region` is a view of `UnsafeCell`s; every access is an `unsafe` method whose caller
// guarantees, through the ring's atomics, that no two contexts touch the same byte unordered.
unsafe impl Send for Region<'_> {}
// SAFETY: as above.
unsafe impl Sync for Region<'_> {}

impl<'a> Region<'a> {
    /// Wraps `cells`.
    pub const fn new(cells: &'a [ByteCell]) -> Self {
        Region { cells }
    }

    /// Length in bytes.
    pub const fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the region is empty.
    pub const fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Copies `src` to `offset`.
    ///
    /// # Safety
    /// `offset + src.len() <= self.len()`, and the caller owns these bytes: no other context
    /// reads or writes them until the caller publishes them with a release operation.
    #[inline(always)]
    pub unsafe fn write(&self, offset: usize, src: &[u8]) {
        debug_assert!(offset + src.len() <= self.cells.len());
        #[cfg(not(loom))]
        {
            // SAFETY: in bounds (caller), exclusive (caller); `UnsafeCell<u8>` has the layout of
            // `u8`, so the cells are contiguous bytes we may write through the cell pointer.
            unsafe {
                let dst = core::cell::UnsafeCell::raw_get(self.cells.as_ptr().add(offset));
                core::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len());
            }
        }
        #[cfg(loom)]
        for (i, byte) in src.iter().enumerate() {
            // SAFETY: exclusive (caller); loom checks it.
            self.cells[offset + i].with_mut(|p| unsafe { *p = *byte });
        }
    }

    /// Runs `f` on the bytes `[offset, offset + len)`.
    ///
    /// Outside loom `f` sees the memory in place. Under loom the bytes are copied (each one a
    /// checked read) into a stack buffer of at most 1024 bytes, enough for model-sized rings.
    ///
    /// # Safety
    /// In bounds, and no context writes these bytes while `f` runs.
    #[inline(always)]
    pub unsafe fn with_slice<R>(&self, offset: usize, len: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        debug_assert!(offset + len <= self.cells.len());
        #[cfg(not(loom))]
        {
            // SAFETY: in bounds and not written concurrently (caller); `UnsafeCell<u8>` is `u8`.
            let bytes = unsafe {
                core::slice::from_raw_parts(
                    core::cell::UnsafeCell::raw_get(self.cells.as_ptr().add(offset)),
                    len,
                )
            };
            f(bytes)
        }
        #[cfg(loom)]
        {
            let mut copy = [0u8; 1024];
            let copy = &mut copy[..len];
            for (i, byte) in copy.iter_mut().enumerate() {
                // SAFETY: not written concurrently (caller); loom checks it.
                *byte = self.cells[offset + i].with(|p| unsafe { *p });
            }
            f(copy)
        }
    }

    /// The bytes `[offset, offset + len)` in place, writable, for the life of the region.
    ///
    /// # Safety
    /// In bounds, and the caller owns these bytes (as for [`Region::write`]) for as long as the
    /// slice is used, and creates no other reference to them meanwhile.
    #[cfg(not(loom))]
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut(&self, offset: usize, len: usize) -> &'a mut [u8] {
        debug_assert!(offset + len <= self.cells.len());
        // SAFETY: in bounds and exclusively ours while the slice lives (caller); `UnsafeCell<u8>`
        // has the layout of `u8`, and writing through a pointer from `raw_get` is allowed.
        unsafe {
            core::slice::from_raw_parts_mut(
                core::cell::UnsafeCell::raw_get(self.cells.as_ptr().add(offset)),
                len,
            )
        }
    }

    /// The bytes `[offset, offset + len)` in place, for the life of the region.
    ///
    /// # Safety
    /// In bounds, and no context writes these bytes for as long as the slice is used.
    #[cfg(not(loom))]
    #[inline(always)]
    pub unsafe fn slice(&self, offset: usize, len: usize) -> &'a [u8] {
        debug_assert!(offset + len <= self.cells.len());
        // SAFETY: in bounds and not written while the slice lives (caller).
        unsafe {
            core::slice::from_raw_parts(core::cell::UnsafeCell::raw_get(self.cells.as_ptr().add(offset)), len)
        }
    }
}

/// Compare-and-swap that is atomic only against contexts interrupting the current thread on its
/// own CPU (signal handlers), not against other CPUs: x86's `cmpxchg` without `lock`, lttng's
/// `local_cmpxchg`. Elsewhere (and under loom) an ordinary atomic CAS.
///
/// # Safety
/// No other thread writes `atomic` concurrently (other threads may read it).
#[inline(always)]
pub(crate) unsafe fn local_cas(atomic: &AtomicU64, current: u64, new: u64) -> Result<u64, u64> {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        let previous: u64;
        // SAFETY: `as_ptr` is valid and aligned for 8 bytes; one instruction, so a signal either
        // sees it all or none of it; an aligned 8-byte store is single-copy atomic for readers on
        // other CPUs. No other thread writes (caller). The asm is a compiler barrier (no `nomem`).
        unsafe {
            core::arch::asm!(
                "cmpxchg qword ptr [{ptr}], {new}",
                ptr = in(reg) atomic.as_ptr(),
                new = in(reg) new,
                inout("rax") current => previous,
                options(nostack),
            );
        }
        if previous == current {
            Ok(previous)
        } else {
            Err(previous)
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    atomic.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
}

/// Fetch-add atomic only against the current CPU's interrupting contexts (x86 `xadd` without
/// `lock`, lttng's `local_add`); an ordinary atomic add elsewhere.
///
/// # Safety
/// As [`local_cas`].
#[inline(always)]
pub(crate) unsafe fn local_add(atomic: &AtomicU64, value: u64) -> u64 {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    {
        let previous: u64;
        // SAFETY: as in `local_cas`.
        unsafe {
            core::arch::asm!(
                "xadd qword ptr [{ptr}], {value}",
                ptr = in(reg) atomic.as_ptr(),
                value = inout(reg) value => previous,
                options(nostack),
            );
        }
        previous
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    atomic.fetch_add(value, Ordering::Release)
}
