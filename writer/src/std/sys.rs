//! The host: `CLOCK_MONOTONIC` and `uname(2)`. The only `unsafe` of the crate is the two FFI
//! calls here.
#![allow(unsafe_code)]

use std::string::String;

use tracemark_format::ClockClass;

use crate::{Clock, TraceDescription};

/// `CLOCK_MONOTONIC` in nanoseconds (frequency 1 GHz). Its CLOCK record's `offset_ns` is
/// `CLOCK_REALTIME - CLOCK_MONOTONIC`, measured when the clock is created, so timestamps
/// convert to wall-clock time (§7.4) and compare with kernel traces using the same clock.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    offset_ns: i64,
}

impl MonotonicClock {
    /// Measures the offset to the Unix epoch now.
    pub fn new() -> MonotonicClock {
        // Bracket the realtime read with two monotonic reads and use their midpoint.
        let before = clock_ns(libc::CLOCK_MONOTONIC);
        let realtime = clock_ns(libc::CLOCK_REALTIME);
        let after = clock_ns(libc::CLOCK_MONOTONIC);
        let monotonic = before / 2 + after / 2 + (before % 2 + after % 2) / 2;
        MonotonicClock { offset_ns: (realtime as i128 - monotonic as i128) as i64 }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now(&self) -> u64 {
        clock_ns(libc::CLOCK_MONOTONIC)
    }

    fn class(&self) -> ClockClass {
        ClockClass {
            id: 0,
            frequency: 1_000_000_000,
            offset_ns: self.offset_ns,
            precision: 1,
            name: "monotonic".into(),
            description: "CLOCK_MONOTONIC".into(),
        }
    }
}

#[inline]
fn clock_ns(clock: libc::clockid_t) -> u64 {
    // SAFETY: `timespec` is plain integers, for which all-zero bytes are a valid value.
    let mut now: libc::timespec = unsafe { core::mem::zeroed() };
    // SAFETY: `now` is a valid, writable `timespec`; `clock_gettime` writes only it.
    if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
        return 0;
    }
    (now.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(now.tv_nsec as u64)
}

impl TraceDescription {
    /// The host's `uname(2)` (OS name, release, machine, node name) and this crate as the
    /// tracer; `unknown` for what cannot be read.
    pub fn from_host() -> TraceDescription {
        let mut description = TraceDescription::unknown();
        // SAFETY: `utsname` is arrays of `c_char`, for which all-zero bytes are a valid value.
        let mut names: libc::utsname = unsafe { core::mem::zeroed() };
        // SAFETY: `names` is a valid, writable `utsname`; `uname` writes only it.
        if unsafe { libc::uname(&mut names) } == 0 {
            description.os_name = text(&names.sysname);
            description.os_release = text(&names.release);
            description.architecture = text(&names.machine);
            description.hostname = text(&names.nodename);
        }
        description
    }
}

/// A NUL-terminated `c_char` array as text (lossy).
fn text(chars: &[libc::c_char]) -> String {
    let bytes: std::vec::Vec<u8> = chars.iter().map(|&c| c as u8).take_while(|&b| b != 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_clock_and_uname() {
        let clock = MonotonicClock::new();
        let (a, b) = (clock.now(), clock.now());
        assert!(a > 0 && b >= a);
        let class = clock.class();
        assert!(class.offset_ns > 1_600_000_000_000_000_000, "{}", class.offset_ns);
        let host = TraceDescription::from_host();
        assert!(!host.os_name.is_empty() && host.tracer_name == "tracemark-writer");
    }
}
