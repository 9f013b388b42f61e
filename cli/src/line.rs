//! One event as a line of text, as `tracemark dump` prints it:
//! `[HH:MM:SS.nnnnnnnnn] cpu N name: { field = value, ... }`.
//!
//! The line is built by hand in a reused buffer. Through `write!` and `core::fmt` a line cost
//! about 380 ns (1M realistic events: 0.38 s, where babeltrace2's text output takes 1.11 s).
//! Integers, plain ASCII strings and timestamps take the fast paths here; any other value is
//! written by its `Display`, so the text is the same either way (a test compares the two).
//!
//! Arrays, sequences and structs over 1 KiB are written as they are decoded
//! ([`FieldValue`](tracemark_reader::FieldValue)), and a line that grows past [`SPILL_AT`] goes
//! out in pieces: a record of millions of nested elements, whose text can be tens of times its
//! size, is printed in bounded memory.

use std::io::{self, Write};

use tracemark_format::marker::DisplayHint;
use tracemark_reader::{Event, Value};

use crate::time::time_of_day;

/// Formats events into lines; see the module documentation.
#[derive(Debug, Default)]
pub struct LineWriter {
    line: Vec<u8>,
    seconds: SecondCache,
}

impl LineWriter {
    pub fn new() -> LineWriter {
        LineWriter::default()
    }

    /// Writes `event` as one line to `out`: time as wall-clock time when the event's clock
    /// converts to it and `ticks` is false, else in clock ticks.
    pub fn write(&mut self, out: &mut impl Write, event: &Event<'_>, ticks: bool) -> io::Result<()> {
        self.line.clear();
        if event.may_stream_values() {
            return write_streamed_line(&mut self.line, &mut self.seconds, out, event, ticks);
        }
        format_line(&mut self.line, &mut self.seconds, event, ticks);
        out.write_all(&self.line)
    }
}

/// A line longer than this is written out as it is built.
const SPILL_AT: usize = 64 << 10;

/// The line being built, written to `out` whenever it reaches [`SPILL_AT`] bytes.
struct Spill<'a> {
    line: &'a mut Vec<u8>,
    out: &'a mut dyn Write,
    error: Option<io::Error>,
}

impl std::fmt::Write for Spill<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.line.extend_from_slice(text.as_bytes());
        if self.line.len() >= SPILL_AT {
            if let Err(error) = self.out.write_all(self.line) {
                self.error = Some(error);
                return Err(std::fmt::Error);
            }
            self.line.clear();
        }
        Ok(())
    }
}

/// The line of an event with an array, sequence or struct that may be large: such a value is
/// written as it is decoded, and the line goes out in pieces as it grows past [`SPILL_AT`].
/// Kept apart from [`format_line`], whose loop stays small enough to be inlined whole (the
/// common line took 8 % longer when both shared one function).
#[inline(never)]
fn write_streamed_line(
    line: &mut Vec<u8>,
    seconds: &mut SecondCache,
    out: &mut dyn Write,
    event: &Event<'_>,
    ticks: bool,
) -> io::Result<()> {
    push_head(line, seconds, event, ticks);
    let hints = event.display_hints();
    for (index, (name, value)) in event.streamed_values().enumerate() {
        push_name(line, index, name);
        match value.scalar() {
            Some(scalar) => push_value(line, scalar, hint(hints, index)),
            // A hint applies to integers only: an array, sequence or struct is written as is.
            None => {
                let mut spill = Spill { line: &mut *line, out: &mut *out, error: None };
                if std::fmt::Write::write_fmt(&mut spill, format_args!("{value}")).is_err() {
                    let error = spill.error.take();
                    return Err(error.unwrap_or_else(|| io::Error::other("a field's value does not decode")));
                }
            }
        }
    }
    line.extend_from_slice(b" }\n");
    out.write_all(line)
}

/// Builds lines whole, in a buffer of the caller's: for events whose values are not large
/// ([`Event::may_stream_values`] false), whose line [`LineWriter`] builds the same way.
#[derive(Debug, Clone, Default)]
pub struct LineBuilder {
    seconds: SecondCache,
}

impl LineBuilder {
    /// Appends `event`'s line to `line`.
    pub fn append(&mut self, line: &mut Vec<u8>, event: &Event<'_>, ticks: bool) {
        format_line(line, &mut self.seconds, event, ticks)
    }
}

/// The `HH:MM:SS.` of the last whole second written: consecutive events mostly fall in the
/// same second, and its digits cost as much as the nanoseconds' (-4 % instructions a line).
#[derive(Debug, Clone, Default)]
struct SecondCache {
    /// Whole seconds since the epoch, and their text.
    last: Option<(u64, [u8; 9])>,
}

impl SecondCache {
    /// Pushes [`WallClock`](crate::time::WallClock)'s `HH:MM:SS.nnnnnnnnn` of `ns`.
    #[inline(always)]
    fn push(&mut self, line: &mut Vec<u8>, ns: i128) {
        let Ok(ns) = u64::try_from(ns) else { return push_wall_clock(line, ns) };
        let second = ns / 1_000_000_000;
        let text = match self.last {
            Some((last, text)) if last == second => text,
            _ => {
                let [hours, minutes, seconds, _] = time_of_day(i128::from(ns));
                let text = clock_text(hours, minutes, seconds);
                self.last = Some((second, text));
                text
            }
        };
        line.extend_from_slice(&text);
        push_padded(line, ns % 1_000_000_000, 9);
    }
}

fn format_line(line: &mut Vec<u8>, seconds: &mut SecondCache, event: &Event<'_>, ticks: bool) {
    push_head(line, seconds, event, ticks);
    let hints = event.display_hints();
    for (index, (name, value)) in event.values().enumerate() {
        push_name(line, index, name);
        push_value(line, &value, hint(hints, index));
        // A scalar owns nothing: skipping its drop, a call into the recursive drop of
        // `Value`, saves 5 % of a line.
        if !matches!(value, Value::Array(_) | Value::Sequence(_) | Value::Struct(_)) {
            std::mem::forget(value);
        }
    }
    line.extend_from_slice(b" }\n");
}

/// `[time] cpu N name: { `
#[inline(always)]
fn push_head(line: &mut Vec<u8>, seconds: &mut SecondCache, event: &Event<'_>, ticks: bool) {
    line.push(b'[');
    match event.unix_ns() {
        Some(ns) if !ticks => seconds.push(line, ns),
        _ => push_integer(line, event.timestamp()),
    }
    line.extend_from_slice(b"] cpu ");
    push_integer(line, event.stream().instance);
    line.push(b' ');
    line.extend_from_slice(event.name().as_bytes());
    line.extend_from_slice(b": { ");
}

#[inline(always)]
fn push_name(line: &mut Vec<u8>, index: usize, name: &str) {
    if index > 0 {
        line.extend_from_slice(b", ");
    }
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(b" = ");
}

#[inline(always)]
fn hint(hints: Option<&[DisplayHint]>, index: usize) -> DisplayHint {
    hints.and_then(|hints| hints.get(index)).copied().unwrap_or(DisplayHint::Natural)
}

fn push_integer(line: &mut Vec<u8>, value: impl itoa::Integer) {
    line.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `value` as `Value::display(hint)` writes it.
#[inline(always)]
fn push_value(line: &mut Vec<u8>, value: &Value<'_>, hint: DisplayHint) {
    match (value, hint) {
        (Value::Unsigned(number), DisplayHint::Natural) => push_integer(line, *number),
        (Value::Signed(number), DisplayHint::Natural) => push_integer(line, *number),
        (Value::Unsigned(number), DisplayHint::Hex) => push_hex(line, *number),
        (Value::Signed(number), DisplayHint::Hex) => push_hex(line, *number as u64),
        // `Debug` of a string whose bytes are all printable ASCII other than `"` and `\`: the
        // bytes, quoted. A hint does not apply to strings.
        (Value::Str(bytes), _) if bytes.iter().all(|&byte| is_plain(byte)) => {
            line.push(b'"');
            line.extend_from_slice(bytes);
            line.push(b'"');
        }
        // Writing to a `Vec` cannot fail.
        _ => drop(write!(line, "{}", value.display(hint))),
    }
}

fn is_plain(byte: u8) -> bool {
    (b' '..=b'~').contains(&byte) && byte != b'"' && byte != b'\\'
}

/// `{:#x}`: `0x` and lowercase digits, no leading zero; built on the stack and appended at
/// once (a push per digit cost twice as much).
fn push_hex(line: &mut Vec<u8>, value: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = (64 - value.leading_zeros()).div_ceil(4).max(1) as usize;
    let mut text = [0u8; 16];
    for (at, slot) in text.iter_mut().enumerate() {
        *slot = DIGITS[(value >> ((15 - at) * 4)) as usize & 0xf];
    }
    line.extend_from_slice(b"0x");
    line.extend_from_slice(text.get(16 - digits..).unwrap_or_default());
}

/// [`WallClock`](crate::time::WallClock)'s `HH:MM:SS.nnnnnnnnn`: `1HHMMSS` and
/// `1nnnnnnnnn` through itoa, the leading 1s dropped (a conversion per part cost 40 % more).
fn push_wall_clock(line: &mut Vec<u8>, ns: i128) {
    let [hours, minutes, seconds, fraction] = time_of_day(ns);
    line.extend_from_slice(&clock_text(hours, minutes, seconds));
    push_padded(line, fraction, 9);
}

/// `HH:MM:SS.`
fn clock_text(hours: u64, minutes: u64, seconds: u64) -> [u8; 9] {
    let mut digits = itoa::Buffer::new();
    // A time of day: hours below 24, minutes and seconds below 60.
    let clock = digits.format(1_000_000 + hours % 100 * 10_000 + minutes % 100 * 100 + seconds % 100);
    match *clock.as_bytes() {
        [_, h0, h1, m0, m1, s0, s1] => [h0, h1, b':', m0, m1, b':', s0, s1, b'.'],
        _ => *b"00:00:00.",
    }
}

/// `value`, below `10^width`, in `width` decimal digits: the digits of `10^width + value`
/// but the leading 1 (a digit at a time, by division, cost 2.5 times as much).
fn push_padded(line: &mut Vec<u8>, value: u64, width: u32) {
    let mut digits = itoa::Buffer::new();
    let padded = digits.format(10u64.pow(width) + value % 10u64.pow(width)).as_bytes();
    line.extend_from_slice(padded.get(1..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::WallClock;

    /// What `Value::display` writes, through `core::fmt`.
    fn displayed(value: &Value<'_>, hint: DisplayHint) -> String {
        value.display(hint).to_string()
    }

    fn pushed(value: &Value<'_>, hint: DisplayHint) -> String {
        let mut line = Vec::new();
        push_value(&mut line, value, hint);
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn fast_paths_write_what_display_writes() {
        let hints = [DisplayHint::Natural, DisplayHint::Hex, DisplayHint::Octal, DisplayHint::Char];
        let mut values = Vec::new();
        for number in [0u64, 1, 9, 10, 65, 255, 4096, u32::MAX as u64, u64::MAX - 1, u64::MAX] {
            values.push(Value::Unsigned(number));
            values.push(Value::Signed(number as i64));
        }
        values.push(Value::Signed(i64::MIN));
        for text in
            [&b""[..], b"swapper/0", b"a \"quoted\" word", b"back\\slash", b"tab\there", b"\x7f\x00", b"\xff"]
        {
            values.push(Value::Str(text));
        }
        values.extend([Value::Bool(true), Value::F64(1.5), Value::Blob(&[0, 0xab])]);
        for value in &values {
            for hint in hints {
                assert_eq!(pushed(value, hint), displayed(value, hint), "{value:?} {hint:?}");
            }
        }
    }

    #[test]
    fn wall_clock_matches_its_display() {
        for ns in [0i128, 1, 999_999_999, 1_000_000_000, 86_399_999_999_999, 1_795_668_748_000_000_123, -1] {
            let mut line = Vec::new();
            push_wall_clock(&mut line, ns);
            assert_eq!(String::from_utf8(line).unwrap(), WallClock(ns).to_string(), "{ns}");
        }
        let mut line = Vec::new();
        push_wall_clock(&mut line, u64::MAX as i128);
        assert_eq!(String::from_utf8(line).unwrap(), WallClock(u64::MAX as i128).to_string());
    }

    #[test]
    fn the_second_cache_writes_what_wall_clock_displays() {
        let mut seconds = SecondCache::default();
        let base = 1_795_668_748_000_000_000i128;
        // Within a second, across one, back again, far away, before the epoch and at the end
        // of u64.
        for ns in
            [base, base + 1, base + 999_999_999, base + 1_000_000_000, base + 5, base + 86_400_000_000_000]
                .into_iter()
                .chain([
                    -1,
                    -1_000_000_001,
                    0,
                    u64::MAX as i128,
                    u64::MAX as i128 + 1,
                    59_999_999_999,
                    60_000_000_000,
                ])
        {
            let mut line = Vec::new();
            seconds.push(&mut line, ns);
            assert_eq!(String::from_utf8(line).unwrap(), WallClock(ns).to_string(), "{ns}");
        }
    }
}
