//! The damage sweep: every single-byte change and every truncation of a valid trace, read
//! with [`crate::check`] (reader and rules), must
//! - not panic (and not hang: the caller times each read);
//! - still deliver, byte for byte, every data packet the damage did not touch, when the
//!   metadata is intact: packets that a walk by `packet_size` from offset 0 (§9.3) still finds
//!   where they were, with none of their bytes changed;
//! - report the damage: a change anywhere in a packet with a CRC, or in padding, and a cut
//!   inside a packet, give at least one finding (or make the input unreadable).
//!
//! Large traces are sampled: every byte of every packet header, and a stride through the rest.

use std::{
    collections::{BTreeMap, BTreeSet},
    panic::{self, AssertUnwindSafe},
    sync::Arc,
};

use crate::{
    check::{self, Source},
    walk::{self, Placed},
};

/// One decoded event, as compared: offset, record bytes, timestamp, class name.
pub type Seen = (u64, Vec<u8>, u64, String);

/// What one read gives: the checker's outcome and the events, or the panic's message.
pub type ReadOutcome = Result<(Result<check::Report, check::Unreadable>, Vec<Seen>), String>;

/// A damaged input and the kind of damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// The byte at `offset` XORed with `mask`.
    Xor {
        /// Where.
        offset: usize,
        /// The bits flipped.
        mask: u8,
    },
    /// The input cut to `len` bytes.
    Truncate {
        /// Bytes kept.
        len: usize,
    },
}

impl Mutation {
    /// The damaged bytes.
    pub fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        match *self {
            Mutation::Xor { offset, mask } => {
                let mut out = bytes.to_vec();
                if let Some(byte) = out.get_mut(offset) {
                    *byte ^= mask;
                }
                out
            }
            Mutation::Truncate { len } => bytes[..len.min(bytes.len())].to_vec(),
        }
    }
}

/// Counts of one sweep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepStats {
    /// Mutations read.
    pub mutations: u64,
    /// Of those, changes the checker had to report (in a packet with a CRC, or in padding).
    pub must_report: u64,
    /// Packets checked to be delivered intact after a mutation elsewhere.
    pub intact_packets_checked: u64,
    /// Every failure: the mutation and what went wrong.
    pub failures: Vec<(Mutation, String)>,
}

/// The mutations of a sweep of `bytes`: two changes per byte position (XOR 0x01, the lowest
/// bit, and 0xFF) and every truncation point; positions sampled to about `max_positions` when
/// the input is larger, every header byte kept.
pub fn mutations(bytes: &[u8], max_positions: usize) -> Vec<Mutation> {
    let packets = walk::packets(bytes);
    let header_bytes = |offset: usize| {
        packets.iter().any(|packet| offset >= packet.offset && offset < packet.content_offset())
    };
    let stride = bytes.len().div_ceil(max_positions.max(1)).max(1);
    let positions: Vec<usize> =
        (0..bytes.len()).filter(|&offset| offset % stride == 0 || header_bytes(offset)).collect();
    let mut out = Vec::with_capacity(positions.len() * 3);
    for &offset in &positions {
        out.push(Mutation::Xor { offset, mask: 0x01 });
        out.push(Mutation::Xor { offset, mask: 0xFF });
        out.push(Mutation::Truncate { len: offset });
    }
    out
}

/// Reads `bytes` with the checker, catching a panic.
pub fn read_with_checker(name: &str, bytes: Vec<u8>) -> ReadOutcome {
    let source = Source::bytes(name, Arc::<[u8]>::from(bytes));
    let mut seen = Vec::new();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        check::check_with(&source, &mut |event| {
            seen.push((
                event.offset(),
                event.record_bytes().to_vec(),
                event.timestamp(),
                event.name().to_string(),
            ))
        })
    }));
    match outcome {
        Ok(result) => Ok((result, seen)),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            Err(format!("panicked: {message}"))
        }
    }
}

fn events_in<'a>(events: &'a [Seen], packet: &Placed) -> impl Iterator<Item = &'a Seen> + 'a {
    let (start, end) = (packet.offset as u64, packet.end() as u64);
    events.iter().filter(move |(offset, ..)| *offset >= start && *offset < end)
}

/// Sweeps a valid single-file trace (a directory is swept as the concatenation of its files,
/// which §9.3 makes the same packets), calling `each` before every read (for a watchdog).
pub fn sweep(name: &str, bytes: &[u8], max_positions: usize, each: &mut dyn FnMut(&Mutation)) -> SweepStats {
    sweep_with(name, bytes, max_positions, each, &mut read_with_checker)
}

/// [`sweep`] with another reader, to test the sweep itself.
pub fn sweep_with(
    name: &str,
    bytes: &[u8],
    max_positions: usize,
    each: &mut dyn FnMut(&Mutation),
    read: &mut dyn FnMut(&str, Vec<u8>) -> ReadOutcome,
) -> SweepStats {
    let mut stats = SweepStats::default();
    let (baseline, known) = match read(name, bytes.to_vec()) {
        Ok((Ok(report), events)) if report.is_valid() && report.readable => {
            // A valid trace may carry warnings and notices: damage must add a finding.
            let known: BTreeSet<(&'static str, u64)> =
                report.findings.iter().map(|finding| (finding.requirement, finding.offset)).collect();
            (events, known)
        }
        other => {
            let what = match other {
                Ok((Ok(report), _)) => format!("the undamaged trace is not valid: {}", report.summary()),
                Ok((Err(unreadable), _)) => unreadable.to_string(),
                Err(panic) => panic,
            };
            stats.failures.push((Mutation::Truncate { len: bytes.len() }, what));
            return stats;
        }
    };
    let packets = walk::packets(bytes);
    let first_metadata_end = packets.iter().find(|packet| packet.header.is_metadata()).map_or(0, Placed::end);
    let in_metadata = |offset: usize| {
        packets
            .iter()
            .any(|packet| packet.header.is_metadata() && offset >= packet.offset && offset < packet.end())
    };
    let by_packet: BTreeMap<usize, Vec<&Seen>> = packets
        .iter()
        .filter(|packet| !packet.header.is_metadata())
        .map(|packet| (packet.offset, events_in(&baseline, packet).collect()))
        .collect();
    for mutation in mutations(bytes, max_positions) {
        each(&mutation);
        stats.mutations += 1;
        let damaged = mutation.apply(bytes);
        let (outcome, events) = match read(name, damaged.clone()) {
            Ok(read) => read,
            Err(panic) => {
                stats.failures.push((mutation, panic));
                continue;
            }
        };
        let reported = match &outcome {
            Ok(report) => {
                !report.suppressed.is_empty()
                    || report
                        .findings
                        .iter()
                        .any(|finding| !known.contains(&(finding.requirement, finding.offset)))
            }
            Err(_) => true,
        };
        let mut fail = |message: String| stats.failures.push((mutation, message));
        match mutation {
            Mutation::Xor { offset, .. } => {
                let holder = packets.iter().find(|packet| offset >= packet.offset && offset < packet.end());
                // The CRC covers a packet's header and content; the padding rule, padding that
                // was all zero.
                let must_report = holder.is_some_and(|packet| {
                    let content_end = packet.offset + packet.header.content_size as usize;
                    let zero_padding = bytes
                        .get(content_end..packet.end())
                        .is_some_and(|pad| pad.iter().all(|&byte| byte == 0));
                    if offset < content_end {
                        packet.header.flags.has_crc()
                    } else {
                        zero_padding
                    }
                });
                if must_report {
                    stats.must_report += 1;
                    if !reported {
                        fail("a change the CRC or the padding rule covers was not reported".into());
                    }
                }
                if in_metadata(offset) {
                    continue;
                }
                let Ok(report) = &outcome else {
                    fail("a change outside the metadata made the trace unreadable".into());
                    continue;
                };
                if !report.readable {
                    fail("a change outside the metadata made the trace undecodable".into());
                    continue;
                }
                let reached = walk::packets(&damaged);
                for packet in packets.iter().filter(|packet| !packet.header.is_metadata()) {
                    let touched = offset >= packet.offset && offset < packet.end();
                    let still_there = reached
                        .iter()
                        .any(|found| found.offset == packet.offset && found.header == packet.header);
                    if touched || !still_there {
                        continue;
                    }
                    stats.intact_packets_checked += 1;
                    let want = &by_packet[&packet.offset];
                    let have: Vec<&Seen> = events_in(&events, packet).collect();
                    if *want != have {
                        fail(format!(
                            "untouched packet at {:#x}: {} events delivered, {} before the damage",
                            packet.offset,
                            have.len(),
                            want.len()
                        ));
                    }
                }
            }
            Mutation::Truncate { len } => {
                let cuts_a_packet = packets.iter().any(|packet| packet.offset < len && len < packet.end());
                if cuts_a_packet && !reported {
                    fail("a cut inside a packet was not reported".into());
                }
                if len < first_metadata_end {
                    continue;
                }
                let Ok(report) = &outcome else {
                    fail("a cut after the first metadata packet made the trace unreadable".into());
                    continue;
                };
                if !report.readable {
                    fail("a cut after the first metadata packet made the trace undecodable".into());
                    continue;
                }
                for packet in
                    packets.iter().filter(|packet| !packet.header.is_metadata() && packet.end() <= len)
                {
                    stats.intact_packets_checked += 1;
                    let have: Vec<&Seen> = events_in(&events, packet).collect();
                    if by_packet[&packet.offset] != have {
                        fail(format!(
                            "complete packet at {:#x} before the cut not delivered in full",
                            packet.offset
                        ));
                    }
                }
            }
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{rust_writer, ClassSpec, EventSpec, Scenario, Val};
    use tracemark_format::{Field, IntType, TypeDesc};

    /// Three data packets of 6 events on 2 CPUs, CRCs on.
    fn trace() -> Vec<u8> {
        let scenario = Scenario {
            packet_size: 128,
            classes: vec![ClassSpec::new("tick", vec![Field::new("n", TypeDesc::Int(IntType::U64))])],
            events: (0..6u64)
                .map(|n| EventSpec {
                    class: 0,
                    cpu: (n % 2) as u32,
                    timestamp: 10 + n,
                    values: vec![Val::U(n)],
                })
                .collect(),
            ..Scenario::default()
        };
        rust_writer::single_file(&scenario).unwrap()
    }

    fn failures(read: &mut dyn FnMut(&str, Vec<u8>) -> ReadOutcome) -> Vec<(Mutation, String)> {
        sweep_with("t.tmk", &trace(), 64, &mut |_| {}, read).failures
    }

    #[test]
    fn the_checker_passes_a_sampled_sweep() {
        let stats = sweep("t.tmk", &trace(), 64, &mut |_| {});
        assert!(stats.failures.is_empty(), "{:?}", &stats.failures[..stats.failures.len().min(5)]);
        assert!(
            stats.mutations > 300 && stats.must_report > 100 && stats.intact_packets_checked > 100,
            "{stats:?}"
        );
    }

    #[test]
    fn the_sweep_catches_a_reader_that_loses_hides_or_panics() {
        let pristine = trace();
        // Loses the events of the first data packet whenever anything changed.
        let first = *walk::packets(&pristine).iter().find(|packet| !packet.header.is_metadata()).unwrap();
        let (start, end) = (first.offset as u64, first.end() as u64);
        let mut loses = |name: &str, bytes: Vec<u8>| {
            let changed = bytes != pristine;
            read_with_checker(name, bytes).map(|(outcome, mut events)| {
                if changed {
                    events.retain(|(offset, ..)| *offset < start || *offset >= end);
                }
                (outcome, events)
            })
        };
        let lost = failures(&mut loses);
        assert!(lost.iter().any(|(_, what)| what.contains("untouched packet")), "{:?}", &lost[..3]);
        assert!(lost.iter().any(|(_, what)| what.contains("before the cut")), "{:?}", &lost[..3]);
        // Reports nothing.
        let mut hides = |name: &str, bytes: Vec<u8>| {
            read_with_checker(name, bytes).map(|(outcome, events)| {
                let outcome = outcome.map(|mut report| {
                    report.findings.clear();
                    report
                });
                (outcome, events)
            })
        };
        let hidden = failures(&mut hides);
        assert!(hidden.iter().any(|(_, what)| what.contains("not reported")), "{hidden:?}");
        // Panics on one input.
        let mut panics = |name: &str, bytes: Vec<u8>| {
            if bytes.is_empty() {
                return Err("panicked: on empty input".into());
            }
            read_with_checker(name, bytes)
        };
        let panicked = failures(&mut panics);
        assert_eq!(panicked.len(), 1, "{panicked:?}");
        assert_eq!(panicked[0].0, Mutation::Truncate { len: 0 });
    }
}
