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

    /// The CLOCK record describing this clock (§7.4). The registry assigns `id`; the value
    /// returned here is ignored.
    fn class(&self) -> ClockClass;
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now(&self) -> u64 {
        (**self).now()
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

    fn class(&self) -> ClockClass {
        (**self).class()
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
