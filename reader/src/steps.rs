//! A count of the types the decoder visits, so that fuzz targets can check §13.4's bound (a
//! record of B payload bytes visits at most D + 33 × B types, D the types of its declaration).
//! Counting needs the `step-count` feature; without it the count compiles to nothing.

#[cfg(feature = "step-count")]
thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one type visited.
#[inline(always)]
pub(crate) fn step() {
    #[cfg(feature = "step-count")]
    STEPS.with(|steps| steps.set(steps.get() + 1));
}

/// The types visited on this thread since the last call, the count starting again from 0.
#[cfg(feature = "step-count")]
pub fn take() -> u64 {
    STEPS.with(|steps| steps.replace(0))
}
