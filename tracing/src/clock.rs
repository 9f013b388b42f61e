//! The clock a layer timestamps its records with: `CLOCK_MONOTONIC` (the default), or the TSC,
//! which reads in about half the time (`rdtsc` against the vDSO's `clock_gettime`, a fifth of a
//! record's cost with the monotonic clock).

use tracemark_format::ClockClass;
use tracemark_writer::{Clock, MonotonicClock};

/// A layer's clock; see [`TracemarkLayer::directory_with_clock`](crate::TracemarkLayer::directory_with_clock).
#[derive(Debug, Clone, Copy)]
pub enum LayerClock {
    /// `CLOCK_MONOTONIC`, in nanoseconds.
    Monotonic(MonotonicClock),
    /// The x86-64 time-stamp counter, its frequency calibrated when the clock was made.
    #[cfg(target_arch = "x86_64")]
    Tsc(tracemark_writer::TscClock),
}

impl LayerClock {
    /// `CLOCK_MONOTONIC`.
    pub fn monotonic() -> LayerClock {
        LayerClock::Monotonic(MonotonicClock::new())
    }

    /// The TSC, calibrated over 20 ms, when this machine's is invariant (it ticks at one rate
    /// in every power state and is what the kernel itself keeps time with: `constant_tsc` and
    /// `nonstop_tsc` in `/proc/cpuinfo`); `None` elsewhere.
    pub fn tsc() -> Option<LayerClock> {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
            let flags = cpuinfo.lines().find(|line| line.starts_with("flags"))?;
            let has = |flag: &str| flags.split_whitespace().any(|found| found == flag);
            if has("constant_tsc") && has("nonstop_tsc") {
                let clock = tracemark_writer::TscClock::calibrate(std::time::Duration::from_millis(20));
                return Some(LayerClock::Tsc(clock));
            }
        }
        None
    }
}

impl Default for LayerClock {
    fn default() -> LayerClock {
        LayerClock::monotonic()
    }
}

impl Clock for LayerClock {
    #[inline(always)]
    fn now(&self) -> u64 {
        match self {
            LayerClock::Monotonic(clock) => clock.now(),
            #[cfg(target_arch = "x86_64")]
            LayerClock::Tsc(clock) => clock.now(),
        }
    }

    #[inline(always)]
    fn now_ordered(&self) -> u64 {
        match self {
            LayerClock::Monotonic(clock) => clock.now_ordered(),
            #[cfg(target_arch = "x86_64")]
            LayerClock::Tsc(clock) => clock.now_ordered(),
        }
    }

    fn class(&self) -> ClockClass {
        match self {
            LayerClock::Monotonic(clock) => clock.class(),
            #[cfg(target_arch = "x86_64")]
            LayerClock::Tsc(clock) => clock.class(),
        }
    }
}
