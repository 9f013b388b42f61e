//! Clocks that timestamp events, and the CLOCK record (§7.4) that describes them.

use alloc::{string::String, sync::Arc};
use core::sync::atomic::{AtomicU64, Ordering};

use tracemark_format::ClockClass;

/// A source of event timestamps.
///
/// `now` is on the per-event path: keep it cheap. The stream writer clamps a value lower than
/// the previous one (§1.7), so a clock that occasionally steps back does not corrupt a trace.
pub trait Clock {
    /// The current tick value.
    fn now(&self) -> u64;

    /// [`Clock::now`], read no earlier than every load that precedes it in program order.
    ///
    /// The lock-free ring ([`crate::ring`]) reads it when other CPUs write the same ring: it
    /// loads the write position, then reads the time, and a record reserved after another
    /// must not carry an earlier time. The default is `now`, right for clocks already ordered
    /// (`clock_gettime` through the vDSO fences its counter read); a clock reading a raw cycle
    /// counter overrides it with a fenced read ([`TscClock`]).
    #[inline]
    fn now_ordered(&self) -> u64 {
        self.now()
    }

    /// The CLOCK record describing this clock (§7.4). The registry assigns `id`; the value
    /// returned here is ignored.
    fn class(&self) -> ClockClass;
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
    }

    #[inline]
    fn now_ordered(&self) -> u64 {
        (**self).now_ordered()
    }

    fn class(&self) -> ClockClass {
        (**self).class()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
    }

    #[inline]
    fn now_ordered(&self) -> u64 {
        (**self).now_ordered()
    }

    fn class(&self) -> ClockClass {
        (**self).class()
    }
}

/// A clock that always reads 0: isolates a writer's own cost in benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullClock;

impl Clock for NullClock {
    #[inline(always)]
    fn now(&self) -> u64 {
        0
    }

    fn class(&self) -> ClockClass {
        nanosecond_class("null", "tracemark-writer NullClock (benchmarks): always 0", 0)
    }
}

/// The x86-64 time-stamp counter (`rdtsc`), in ticks of its own frequency, which the CLOCK
/// record carries (§7.4) so that readers convert to nanoseconds.
///
/// Assumes an invariant TSC synchronised across cores (`constant_tsc nonstop_tsc` in
/// `/proc/cpuinfo`), which is what lets the kernel use it for `CLOCK_MONOTONIC`. `now` is a
/// bare `rdtsc`, which the CPU may execute before earlier loads: right for a ring written by one
/// thread and its signal handlers (a [`Local`](crate::ring::Local) ring). `now_ordered`
/// puts an `lfence` before it, which shared rings use.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TscClock {
    frequency: u64,
    offset_ns: i64,
    precision: u64,
}

#[cfg(target_arch = "x86_64")]
impl TscClock {
    /// A TSC of `frequency` ticks per second whose tick 0 is `offset_ns` after the Unix epoch.
    pub const fn with_frequency(frequency: u64, offset_ns: i64) -> TscClock {
        TscClock { frequency, offset_ns, precision: 1 }
    }

    /// Measures the TSC frequency against `CLOCK_MONOTONIC` (Rust's `Instant`) over `duration`
    /// (20 ms gives about 1e-4), and the epoch offset against `CLOCK_REALTIME`; the CLOCK
    /// record's `precision` is the width of the offset measurement, in ticks.
    #[cfg(feature = "std")]
    pub fn calibrate(duration: core::time::Duration) -> TscClock {
        use std::time::{Instant, SystemTime, UNIX_EPOCH};
        let start = Instant::now();
        let first = Self::read_ordered();
        let mut elapsed = start.elapsed();
        while elapsed < duration {
            elapsed = start.elapsed();
        }
        let last = Self::read_ordered();
        let nanos = elapsed.as_nanos().max(1);
        let frequency = ((u128::from(last.wrapping_sub(first)) * 1_000_000_000 / nanos) as u64).max(1);
        // Epoch offset: a realtime read bracketed by two TSC reads.
        let before = Self::read_ordered();
        let realtime = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let after = Self::read_ordered();
        let middle = before / 2 + after / 2;
        let ticks_ns = u128::from(middle) * 1_000_000_000 / u128::from(frequency);
        let offset_ns = (realtime as i128 - ticks_ns as i128) as i64;
        TscClock { frequency, offset_ns, precision: after.wrapping_sub(before).max(1) }
    }

    /// Ticks per second.
    pub const fn frequency(&self) -> u64 {
        self.frequency
    }

    /// One `rdtsc`.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub fn read() -> u64 {
        // SAFETY: `rdtsc` exists on every x86-64 CPU and has no memory effects.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    /// `lfence; rdtsc`: the read waits for every earlier instruction to complete locally.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub fn read_ordered() -> u64 {
        // SAFETY: SSE2 (`lfence`) is part of x86-64; neither instruction touches memory.
        unsafe {
            core::arch::x86_64::_mm_lfence();
            core::arch::x86_64::_rdtsc()
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl Clock for TscClock {
    #[inline(always)]
    fn now(&self) -> u64 {
        Self::read()
    }

    #[inline(always)]
    fn now_ordered(&self) -> u64 {
        Self::read_ordered()
    }

    fn class(&self) -> ClockClass {
        ClockClass {
            id: 0,
            frequency: self.frequency,
            offset_ns: self.offset_ns,
            precision: self.precision,
            name: "tsc".into(),
            description: "x86-64 time-stamp counter (rdtsc), frequency calibrated against CLOCK_MONOTONIC"
                .into(),
        }
    }
}

fn nanosecond_class(name: &str, description: &str, offset_ns: i64) -> ClockClass {
    ClockClass {
        id: 0,
        frequency: 1_000_000_000,
        offset_ns,
        precision: 1,
        name: name.into(),
        description: description.into(),
    }
}

/// A clock set by hand, for deterministic tests: nanoseconds, offset 0.
#[derive(Debug, Default)]
pub struct ManualClock {
    ticks: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start`.
    pub const fn new(start: u64) -> ManualClock {
        ManualClock { ticks: AtomicU64::new(start) }
    }

    /// Sets the reading (it may go backwards; the writer clamps, §1.7).
    pub fn set(&self, ticks: u64) {
        self.ticks.store(ticks, Ordering::Relaxed);
    }

    /// Advances the reading by `delta`, wrapping.
    pub fn advance(&self, delta: u64) {
        self.ticks.fetch_add(delta, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    fn class(&self) -> ClockClass {
        nanosecond_class("manual", "tracemark-writer ManualClock (tests)", 0)
    }
}

/// A clock reading a function, described by a given CLOCK record.
pub struct FnClock<F> {
    read: F,
    class: ClockClass,
}

impl<F: Fn() -> u64> FnClock<F> {
    /// A nanosecond clock named `name` reading `read`.
    pub fn new(name: impl Into<String>, read: F) -> FnClock<F> {
        let mut class = nanosecond_class("", "", 0);
        class.name = name.into();
        FnClock { read, class }
    }

    /// A clock with an explicit description (frequency, offset, precision).
    pub fn with_class(class: ClockClass, read: F) -> FnClock<F> {
        FnClock { read, class }
    }
}

impl<F> core::fmt::Debug for FnClock<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FnClock").field("class", &self.class).finish_non_exhaustive()
    }
}

impl<F: Fn() -> u64> Clock for FnClock<F> {
    #[inline]
    fn now(&self) -> u64 {
        (self.read)()
    }

    fn class(&self) -> ClockClass {
        self.class.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_and_fn_clocks() {
        let clock = ManualClock::new(5);
        clock.advance(10);
        assert_eq!(clock.now(), 15);
        clock.set(3);
        assert_eq!(Clock::now(&&clock), 3);
        assert_eq!(clock.class().frequency, 1_000_000_000);
        let f = FnClock::new("tsc", || 42);
        assert_eq!((f.now(), f.class().name.as_str()), (42, "tsc"));
    }
}
