//! Memory a ring runs in, provided by its owner: the byte region holding the sub-buffers and one
//! [`SubbufControl`] per sub-buffer. Nothing is allocated by the ring itself.

use alloc::{boxed::Box, vec::Vec};

use super::cache_padded::CachePadded;
use super::config::{ConfigError, Mode, RingConfig};
use super::sync::{byte_cell, AtomicU64, ByteCell};

/// Per-sub-buffer counters, one cache-line pair each.
#[derive(Debug)]
pub struct SubbufControl(pub(crate) CachePadded<ControlInner>);

#[derive(Debug)]
pub(crate) struct ControlInner {
    /// Bytes committed into this sub-buffer since the ring started (all laps): every writer adds
    /// its record's length, the packet opener the header length, the closer the padding. Lap `L`
    /// is complete when it reaches `(L + 1) * S` (lttng's `commit_hot`).
    pub(crate) commit_hot: AtomicU64,
    /// `(L + 1) * S` once lap `L` is complete *and* delivered (the completing writer set the slot
    /// word first): what writers and the consumer test (lttng's `commit_cold.cc_sb`).
    pub(crate) commit_cold: AtomicU64,
    /// Overwrite mode: which physical sub-buffer backs this slot, the NOREF flag and the lap tag
    /// (lttng's `buf_wsb[idx].id`). See `frontend` for the encoding.
    pub(crate) slot: AtomicU64,
}

impl SubbufControl {
    /// A fresh control block (a `const fn` outside loom, so it can live in a `static`).
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        SubbufControl(CachePadded(ControlInner {
            commit_hot: AtomicU64::new(0),
            commit_cold: AtomicU64::new(0),
            slot: AtomicU64::new(0),
        }))
    }

    /// A fresh control block.
    #[cfg(loom)]
    pub fn new() -> Self {
        SubbufControl(CachePadded(ControlInner {
            commit_hot: AtomicU64::new(0),
            commit_cold: AtomicU64::new(0),
            slot: AtomicU64::new(0),
        }))
    }
}

impl Default for SubbufControl {
    fn default() -> Self {
        Self::new()
    }
}

/// The memory of one ring, borrowed exclusively for the ring's life.
///
/// `data` must be [`RingConfig::data_len`] bytes and `control` [`RingConfig::control_len`]
/// entries; `Ring::new` checks it.
pub struct Storage<'a> {
    pub(crate) data: &'a [ByteCell],
    pub(crate) control: &'a [SubbufControl],
}

impl<'a> Storage<'a> {
    /// Borrows the two arrays. Exclusive borrows: no one else may touch them while a ring uses them.
    pub fn new(data: &'a mut [ByteCell], control: &'a mut [SubbufControl]) -> Self {
        Storage { data, control }
    }

    /// Checks the lengths against `config` for a ring of mode `M`.
    pub(crate) fn check<M: Mode>(&self, config: &RingConfig) -> Result<(), ConfigError> {
        if self.data.len() != config.data_len::<M>() {
            return Err(ConfigError::StorageSize {
                expected: config.data_len::<M>(),
                found: self.data.len(),
            });
        }
        if self.control.len() != config.control_len() {
            return Err(ConfigError::StorageSize {
                expected: config.control_len(),
                found: self.control.len(),
            });
        }
        Ok(())
    }
}

/// Heap-allocated storage, for the `std` session, tests, benchmarks and users with an allocator.
pub struct HeapStorage {
    data: Box<[ByteCell]>,
    control: Box<[SubbufControl]>,
}

impl HeapStorage {
    /// Storage for a ring of mode `M` with `config`'s geometry, zeroed, every page touched: a
    /// zeroed allocation is mapped lazily by the kernel, and the ring's first lap would otherwise
    /// take a page fault every few hundred events on the hot path.
    pub fn new<M: Mode>(config: &RingConfig) -> Self {
        #[cfg(not(loom))]
        const PAGE: usize = 4096;
        #[cfg_attr(loom, allow(unused_mut))]
        let mut data: Vec<ByteCell> = (0..config.data_len::<M>()).map(|_| byte_cell()).collect();
        #[cfg(not(loom))]
        for page in data.iter_mut().step_by(PAGE) {
            // Volatile: the compiler knows the allocation is zeroed and would drop a plain store
            // of zero into it.
            // SAFETY: `page` is an exclusively borrowed, valid byte.
            unsafe { core::ptr::write_volatile(page.get(), 0) };
        }
        let control: Vec<SubbufControl> = (0..config.control_len()).map(|_| SubbufControl::new()).collect();
        HeapStorage { data: data.into_boxed_slice(), control: control.into_boxed_slice() }
    }

    /// The storage, borrowed for one ring.
    pub fn storage(&mut self) -> Storage<'_> {
        Storage::new(&mut self.data, &mut self.control)
    }

    /// The two allocations.
    pub(crate) fn into_parts(self) -> (Box<[ByteCell]>, Box<[SubbufControl]>) {
        (self.data, self.control)
    }
}
