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

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm), the
/// inverse of [`civil_from_days`].
fn days_from_civil(year: i128, month: u32, day: u32) -> i128 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i128::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i128::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Nanoseconds in `digits`, a decimal number with an optional fraction, of units of
/// `unit_ns` nanoseconds; exact, refusing what is finer than a nanosecond.
fn decimal_ns(digits: &str, unit_ns: i128) -> Result<i128, String> {
    let bad = || format!("{digits:?} is not a number");
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().chain(fraction.bytes()).all(|byte| byte.is_ascii_digit())
    {
        return Err(bad());
    }
    let mut ns = if whole.is_empty() { 0 } else { whole.parse::<i128>().map_err(|_| bad())? };
    ns = ns.checked_mul(unit_ns).ok_or_else(bad)?;
    let mut scale = unit_ns;
    for digit in fraction.bytes() {
        if scale % 10 != 0 {
            return Err(format!("{digits:?} is finer than a nanosecond"));
        }
        scale /= 10;
        ns += i128::from(digit - b'0') * scale;
    }
    Ok(ns)
}

/// A point in a trace, as `--from` and `--to` take it: nanoseconds since `start`, the trace's
/// first time (`1500000`, `1.5s`, `250ms`, `20us`, `100ns`), or UTC wall-clock time as `dump`
/// prints it (`22:13:20.000000100`, on the day of `start`), optionally after a date
/// (`2026-11-26 04:52:28.5`). Returns nanoseconds since the Unix epoch.
pub fn parse_point(text: &str, start: i128) -> Result<i128, String> {
    let text = text.trim();
    if !text.contains(':') {
        let units = [("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", NS_PER_SECOND)];
        let (digits, unit) = units
            .iter()
            .find_map(|&(suffix, unit)| text.strip_suffix(suffix).map(|digits| (digits, unit)))
            .unwrap_or((text, 1));
        return Ok(start + decimal_ns(digits, unit)?);
    }
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((date, time)) => (Some(date), time),
        None => (None, text),
    };
    let time = time.strip_suffix('Z').unwrap_or(time);
    let bad = || format!("{text:?} is not HH:MM:SS[.fraction], nor a duration like 1.5s");
    let fields: Vec<&str> = time.split(':').collect();
    let [hours, minutes, seconds] = fields.as_slice() else { return Err(bad()) };
    let number =
        |field: &str, below: u32| field.parse::<u32>().ok().filter(|&value| value < below).ok_or_else(bad);
    let (hours, minutes) = (number(hours, 24)?, number(minutes, 60)?);
    let seconds = decimal_ns(seconds, NS_PER_SECOND).map_err(|_| bad())?;
    if seconds >= 61 * NS_PER_SECOND {
        return Err(bad());
    }
    let day = match date {
        Some(date) => {
            let parts: Vec<&str> = date.split('-').collect();
            let [year, month, day] = parts.as_slice() else { return Err(bad()) };
            let year = year.parse::<i128>().map_err(|_| bad())?;
            days_from_civil(year, number(month, 13)?.max(1), number(day, 32)?.max(1))
        }
        None => split(start).0,
    };
    let second_of_day = i128::from(hours) * 3600 + i128::from(minutes) * 60;
    Ok((day * SECONDS_PER_DAY + second_of_day) * NS_PER_SECOND + seconds)
}

/// The window of `--from` and `--to` ([`parse_point`]'s forms) in nanoseconds since the epoch:
/// an absent bound leaves that side open.
pub fn parse_window(from: Option<&str>, to: Option<&str>, start: i128) -> Result<(i128, i128), String> {
    let from = from.map_or(Ok(i128::MIN), |text| parse_point(text, start))?;
    let to = to.map_or(Ok(i128::MAX), |text| parse_point(text, start))?;
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_as_offsets_or_wall_clock_times() {
        // 2026-11-26 04:52:28.000000123 UTC
        let start = 1_795_668_748 * NS_PER_SECOND + 123;
        assert_eq!(parse_point("0", start), Ok(start));
        assert_eq!(parse_point("1500", start), Ok(start + 1500));
        assert_eq!(parse_point("1.5s", start), Ok(start + 1_500_000_000));
        assert_eq!(parse_point("250ms", start), Ok(start + 250_000_000));
        assert_eq!(parse_point("20us", start), Ok(start + 20_000));
        assert_eq!(parse_point(".5ms", start), Ok(start + 500_000));
        assert!(parse_point("1.5ns", start).is_err());
        assert!(parse_point("s", start).is_err());
        assert!(parse_point("-3s", start).is_err());
        assert_eq!(parse_point("04:52:28.000000123", start), Ok(start));
        assert_eq!(parse_point("04:52:29", start), Ok(start - 123 + NS_PER_SECOND));
        assert_eq!(parse_point("2026-11-26 04:52:28.000000123", start), Ok(start));
        assert_eq!(parse_point("2026-11-26T04:52:28.000000123Z", start), Ok(start));
        assert_eq!(parse_point("1970-01-01 00:00:00", start), Ok(0));
        assert_eq!(parse_point("2000-02-29 00:00:00", start), Ok(951_782_400 * NS_PER_SECOND));
        assert!(parse_point("25:00:00", start).is_err());
        assert!(parse_point("04:52", start).is_err());
        for day in [-800_000i128, -1, 0, 1, 11_016, 20_000, 2_932_896] {
            let (year, month, date) = civil_from_days(day);
            assert_eq!(days_from_civil(year, month, date), day);
        }
    }

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
