//! Timestamps as text: `HH:MM:SS.nnnnnnnnn` of UTC wall-clock time, like babeltrace2's default.

use std::fmt;

/// Nanoseconds since the Unix epoch, displayed as UTC `HH:MM:SS.nnnnnnnnn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WallClock(pub i128);

/// Nanoseconds since the Unix epoch, displayed as UTC `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub i128);

const NS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i128 = 86_400;

fn split(ns: i128) -> (i128, i128, i128) {
    let seconds = ns.div_euclid(NS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    (days, seconds.rem_euclid(SECONDS_PER_DAY), ns.rem_euclid(NS_PER_SECOND))
}

/// Hours, minutes, seconds and nanoseconds of the UTC time of day of `ns` (since the epoch).
pub fn time_of_day(ns: i128) -> [u64; 4] {
    // `u64` arithmetic for instants after the epoch: `i128` division is a library call, and
    // `tracemark dump` formats a time on every line.
    let (second_of_day, fraction) = match u64::try_from(ns) {
        Ok(ns) => (ns / NS_PER_SECOND as u64 % SECONDS_PER_DAY as u64, ns % NS_PER_SECOND as u64),
        Err(_) => {
            let (_, second_of_day, fraction) = split(ns);
            (second_of_day as u64, fraction as u64)
        }
    };
    [second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60, fraction]
}

impl fmt::Display for WallClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [hours, minutes, seconds, fraction] = time_of_day(self.0);
        write!(f, "{hours:02}:{minutes:02}:{seconds:02}.{fraction:09}")
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, _, _) = split(self.0);
        let (year, month, day) = civil_from_days(days);
        write!(f, "{year:04}-{month:02}-{day:02} {}", WallClock(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2026-11-26 04:52:28.000000123 UTC
        let ns = 1_795_668_748 * NS_PER_SECOND + 123;
        assert_eq!(WallClock(ns).to_string(), "04:52:28.000000123");
        assert_eq!(DateTime(ns).to_string(), "2026-11-26 04:52:28.000000123");
        assert_eq!(DateTime(0).to_string(), "1970-01-01 00:00:00.000000000");
        assert_eq!(DateTime(-1).to_string(), "1969-12-31 23:59:59.999999999");
        assert_eq!(DateTime(951_782_400 * NS_PER_SECOND).to_string(), "2000-02-29 00:00:00.000000000");
    }
}
