//! An allocator that holds decoders to the reader limits of §12: no single allocation, and no
//! peak of live memory, larger than a budget proportional to the input's size.
//!
//! [`GuardedAllocator`] is the global allocator of every binary that links this crate (the
//! fuzz targets and this crate's tests). Outside a [`bounded`] scope it is the system
//! allocator plus a few thread-local counters. Inside one, an allocation that would exceed
//! the scope's budget is refused: the allocator prints what was asked and the budget, and
//! returns null, so Rust's allocation-failure handler aborts the process. libFuzzer records
//! the abort as a crash with its reproducer, and `cargo test` fails.
//!
//! The accounting is per thread (decoding is single-threaded): memory freed by another thread
//! than the one that allocated it is not subtracted, which can only overstate usage.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    io::Write,
    sync::Once,
};

/// What a [`bounded`] scope may allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The largest single allocation or reallocation, in bytes.
    pub largest: usize,
    /// The most bytes live at once that the scope allocated.
    pub peak: usize,
}

impl Budget {
    /// The budget for decoding `input_len` bytes of untrusted input (§12.1): a decoder may
    /// hold a copy of its input, an index and decoded values proportional to it (a decoded
    /// value is at most a few dozen bytes per input byte), plus a fixed allowance covering
    /// one metadata string of the largest size a `u16` prefix allows (64 KiB) and the
    /// standard library's buffers.
    pub fn for_input(input_len: usize) -> Budget {
        Budget {
            largest: input_len.saturating_mul(64).saturating_add(1 << 20),
            peak: input_len.saturating_mul(512).saturating_add(16 << 20),
        }
    }
}

/// What a scope allocated, as measured by [`measure`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// The largest single allocation or reallocation.
    pub largest: usize,
    /// The most bytes live at once, counted from the start of the scope.
    pub peak: usize,
}

thread_local! {
    // Constant-initialised cells without destructors: usable from inside the allocator,
    // which must not allocate or register a destructor itself.
    static LIMIT_LARGEST: Cell<usize> = const { Cell::new(usize::MAX) };
    static LIMIT_PEAK: Cell<usize> = const { Cell::new(usize::MAX) };
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, with the per-thread accounting and limits of this module.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedAllocator;

/// Whether an allocation of `size` more bytes may proceed; records it when it may.
fn admit(size: usize) -> bool {
    let largest_limit = LIMIT_LARGEST.try_with(Cell::get).unwrap_or(usize::MAX);
    let peak_limit = LIMIT_PEAK.try_with(Cell::get).unwrap_or(usize::MAX);
    let live = LIVE.try_with(Cell::get).unwrap_or(0);
    let after = live.saturating_add(size);
    if size > largest_limit || after > peak_limit {
        refuse(size, live, largest_limit, peak_limit);
        return false;
    }
    let _ = LIVE.try_with(|cell| cell.set(after));
    let _ = PEAK.try_with(|cell| cell.set(cell.get().max(after)));
    let _ = LARGEST.try_with(|cell| cell.set(cell.get().max(size)));
    true
}

fn release(size: usize) {
    let _ = LIVE.try_with(|cell| cell.set(cell.get().saturating_sub(size)));
}

/// Writes `value` in decimal into `buffer`, returning the digits.
fn decimal(mut value: usize, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        buffer[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buffer[start..];
        }
    }
}

/// Says why an allocation is refused, without allocating.
fn refuse(size: usize, live: usize, largest_limit: usize, peak_limit: usize) {
    let mut stderr = std::io::stderr().lock();
    let mut buffer = [0u8; 20];
    let mut line = |parts: &[&[u8]]| {
        for part in parts {
            let _ = stderr.write_all(part);
        }
    };
    line(&[b"\ntracemark-fuzz: allocation of ", decimal(size, &mut buffer), b" bytes"]);
    line(&[b" with ", decimal(live, &mut buffer), b" bytes live"]);
    line(&[b" exceeds the reader limit (largest ", decimal(largest_limit, &mut buffer)]);
    line(&[b", peak ", decimal(peak_limit, &mut buffer), b"): see spec section 12\n"]);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, or
// returns null, which `GlobalAlloc` allows for any allocation that cannot be satisfied. The
// bookkeeping touches only constant-initialised thread-locals and never allocates.
unsafe impl GlobalAlloc for GuardedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as received; `layout` satisfies `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        release(layout.size());
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation here is).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the new block allocated, then the old one released, as the
        // reallocation may need both at once.
        if !admit(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as received; `ptr` and `layout` come from this allocator.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if moved.is_null() {
            release(new_size);
        } else {
            release(layout.size());
        }
        moved
    }
}

/// Restores the limits and counters of the enclosing scope, even when the scope panics.
struct Scope {
    largest: usize,
    peak_limit: usize,
    live: usize,
    peak: usize,
    largest_seen: usize,
}

/// Makes a panic lift the panicking thread's limits before the panic is reported: formatting
/// the message and symbolizing the backtrace allocate, and refusing those would turn a
/// readable assertion failure into an allocation abort.
fn lift_limits_on_panic() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = LIMIT_LARGEST.try_with(|cell| cell.set(usize::MAX));
            let _ = LIMIT_PEAK.try_with(|cell| cell.set(usize::MAX));
            report(info);
        }));
    });
}

impl Scope {
    fn enter(budget: Budget) -> Scope {
        lift_limits_on_panic();
        Scope {
            largest: LIMIT_LARGEST.with(|cell| cell.replace(budget.largest)),
            peak_limit: LIMIT_PEAK.with(|cell| cell.replace(budget.peak)),
            live: LIVE.with(|cell| cell.replace(0)),
            peak: PEAK.with(|cell| cell.replace(0)),
            largest_seen: LARGEST.with(|cell| cell.replace(0)),
        }
    }

    fn usage(&self) -> Usage {
        Usage { largest: LARGEST.with(Cell::get), peak: PEAK.with(Cell::get) }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        LIMIT_LARGEST.with(|cell| cell.set(self.largest));
        LIMIT_PEAK.with(|cell| cell.set(self.peak_limit));
        let inner_live = LIVE.with(Cell::get);
        LIVE.with(|cell| cell.set(self.live.saturating_add(inner_live)));
        PEAK.with(|cell| cell.set(self.peak.max(self.live.saturating_add(inner_live))));
        LARGEST.with(|cell| cell.set(self.largest_seen.max(cell.get())));
    }
}

/// Runs `f` with allocations limited to `budget`: exceeding it aborts the process with a
/// message (see the module documentation).
pub fn bounded<R>(budget: Budget, f: impl FnOnce() -> R) -> R {
    let _scope = Scope::enter(budget);
    f()
}

/// Runs `f` and reports what it allocated (without limits).
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let scope = Scope::enter(Budget { largest: usize::MAX, peak: usize::MAX });
    let result = f();
    let usage = scope.usage();
    (result, usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_the_largest_allocation_and_the_peak() {
        let ((), usage) = measure(|| {
            let first = vec![0u8; 1000];
            let second = vec![0u8; 3000];
            drop(first);
            drop(second);
            let third = vec![0u8; 2000];
            drop(third);
        });
        assert_eq!(usage.largest, 3000);
        assert_eq!(usage.peak, 4000);
    }

    #[test]
    fn an_allocation_within_budget_proceeds() {
        let len = bounded(Budget { largest: 4096, peak: 8192 }, || vec![1u8; 4096].len());
        assert_eq!(len, 4096);
    }

    #[test]
    fn a_panic_in_a_scope_is_reported_despite_the_budget() {
        // The message is formatted before any hook runs, within the budget; reporting it
        // (libtest's capture buffer, a backtrace when asked) needs more.
        let panicked = std::panic::catch_unwind(|| {
            bounded(Budget { largest: 256, peak: 256 }, || {
                panic!("{}", "a message reported with more memory than the budget")
            })
        });
        assert!(panicked.is_err());
        // The limits are lifted again once the scope unwinds.
        assert_eq!(vec![0u8; 1 << 16].len(), 1 << 16);
    }

    #[test]
    fn try_reserve_beyond_the_budget_fails_without_allocating() {
        let refused = bounded(Budget { largest: 4096, peak: 8192 }, || {
            let mut bytes: Vec<u8> = Vec::new();
            bytes.try_reserve_exact(1 << 30).is_err()
        });
        assert!(refused);
        // The limits are lifted again outside the scope.
        let mut bytes: Vec<u8> = Vec::new();
        assert!(bytes.try_reserve_exact(1 << 20).is_ok());
    }
}
