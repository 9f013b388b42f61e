//! The damage sweep over every valid vector: each single-byte change and each truncation point
//! is read with the checker; no panic, no hang, untouched packets delivered in full, damage
//! reported (see `tracemark_conformance::sweep`).

use std::{
    fs,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tracemark_conformance::{
    sweep::{self, Mutation},
    vectors::{self, Form},
};

/// A read slower than this is a hang: the process aborts, naming the mutation.
const HANG: Duration = Duration::from_secs(20);

/// Positions sampled per vector beyond the header bytes (vectors are a few KB: all of them).
const MAX_POSITIONS: usize = 4096;

/// A vector's bytes: the single file, or a directory's `metadata` and `*.tmk` files in the
/// order a reader takes them.
fn vector_bytes(path: &Path, form: Form) -> Vec<u8> {
    match form {
        Form::SingleFile => fs::read(path).unwrap(),
        Form::Directory => {
            let mut names: Vec<String> = fs::read_dir(path)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".tmk"))
                .collect();
            names.sort();
            let mut bytes = fs::read(path.join("metadata")).unwrap();
            for name in names {
                bytes.extend(fs::read(path.join(name)).unwrap());
            }
            bytes
        }
    }
}

#[test]
fn every_byte_change_and_truncation_of_every_valid_vector() {
    let current: Arc<Mutex<(String, Option<Mutation>, Instant)>> =
        Arc::new(Mutex::new((String::new(), None, Instant::now())));
    let watched = current.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let (name, mutation, since) = watched.lock().unwrap().clone();
        if since.elapsed() > HANG {
            eprintln!("hang: {name} {mutation:?} read for more than {HANG:?}");
            std::process::abort();
        }
    });
    let started = Instant::now();
    let root = vectors::default_dir();
    let (mut mutations, mut must_report, mut intact, mut vectors_swept) = (0u64, 0u64, 0u64, 0usize);
    let mut failures = Vec::new();
    for case in vectors::cases::all().into_iter().filter(|case| case.is_valid()) {
        let bytes = vector_bytes(&root.join(case.group()).join(case.trace_name()), case.form);
        let name = case.trace_name();
        let stats = sweep::sweep(&name, &bytes, MAX_POSITIONS, &mut |mutation| {
            *current.lock().unwrap() = (name.clone(), Some(*mutation), Instant::now());
        });
        vectors_swept += 1;
        mutations += stats.mutations;
        must_report += stats.must_report;
        intact += stats.intact_packets_checked;
        failures.extend(
            stats.failures.into_iter().map(|(mutation, what)| format!("{name} {mutation:?}: {what}")),
        );
    }
    println!(
        "damage sweep: {mutations} mutations of {vectors_swept} valid vectors in {:.1} s; {must_report} had to be \
         reported; {intact} untouched packets checked intact; {} failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(vectors_swept >= 15, "only {vectors_swept} valid vectors");
    assert!(
        failures.is_empty(),
        "{} failures, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}

/// A trace of four classes and 48 events on two CPUs, written by the reference writer (its
/// metadata records carry checks, §7.2), and the same trace with its metadata records written
/// without them, as a 1.0 writer does.
fn checked_and_unchecked_traces() -> (Vec<u8>, Vec<u8>) {
    let checked = tracemark_conformance::rust_writer::single_file(&four_class_scenario(true)).unwrap();
    (checked.clone(), without_record_checks(&checked))
}

/// Four classes, 48 events on two CPUs, 256-byte packets; CRCs as asked.
fn four_class_scenario(crc: bool) -> tracemark_conformance::Scenario {
    use tracemark_conformance::{ClassSpec, EventSpec, Scenario, Val};
    use tracemark_format::{Field, IntType, TypeDesc};
    let int = |name: &str| Field::new(name, TypeDesc::Int(IntType::U32));
    Scenario {
        packet_size: 256,
        classes: vec![
            ClassSpec::new("tick", vec![int("n")]),
            ClassSpec::new("pair", vec![int("a"), int("b")]),
            ClassSpec::new("text", vec![Field::new("s", TypeDesc::String)]),
            ClassSpec::new("wide", vec![int("x"), Field::new("y", TypeDesc::Int(IntType::I64))]),
        ],
        events: (0..48u64)
            .map(|n| {
                let class = (n % 4) as usize;
                let values = match class {
                    0 => vec![Val::U(n)],
                    1 => vec![Val::U(n), Val::U(n * 2)],
                    2 => vec![Val::Str(format!("event {n}").into_bytes())],
                    _ => vec![Val::U(n), Val::I(-(n as i64))],
                };
                EventSpec { class, cpu: (n % 2) as u32, timestamp: 100 + n, values }
            })
            .collect(),
        crc,
        ..Scenario::default()
    }
}

/// `trace` with each metadata packet's records re-encoded without their check, its sizes
/// and CRC resealed and its version set to 1.0.
fn without_record_checks(trace: &[u8]) -> Vec<u8> {
    use tracemark_format::{crc::packet_crc, packet::CRC_FIELD, RecordIter, PACKET_HEADER_LEN};
    let mut out = Vec::new();
    for packet in tracemark_conformance::walk::packets(trace) {
        let bytes = packet.bytes(trace);
        if !packet.header.is_metadata() {
            out.extend_from_slice(bytes);
            continue;
        }
        let mut content = Vec::new();
        for item in RecordIter::new(packet.content(trace), packet.order) {
            item.unwrap().1.encode(packet.order, &mut content).unwrap();
        }
        let content_size = PACKET_HEADER_LEN + content.len();
        let packet_size = content_size.next_multiple_of(8);
        let mut header = packet.header;
        header.version_minor = 0;
        header.content_size = content_size as u32;
        header.packet_size = packet_size as u32;
        header.crc32 = 0;
        let mut rebuilt = vec![0u8; packet_size];
        let mut fixed = [0u8; PACKET_HEADER_LEN];
        header.encode(packet.order, &mut fixed);
        rebuilt[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
        rebuilt[PACKET_HEADER_LEN..content_size].copy_from_slice(&content);
        let crc = packet_crc(&rebuilt, content_size).unwrap();
        rebuilt[CRC_FIELD].copy_from_slice(&packet.order.u32_bytes(crc));
        out.extend_from_slice(&rebuilt);
    }
    out
}

/// An event as the sweeps compare it across damaged copies: its class name, timestamp and
/// record bytes, not its offset, which damage to a size may move.
fn event_key(seen: &sweep::Seen) -> (String, u64, Vec<u8>) {
    (seen.3.clone(), seen.2, seen.1.clone())
}

/// The events the checker delivers from an undamaged trace, which must read.
fn undamaged_events(trace: &[u8]) -> Vec<sweep::Seen> {
    match sweep::read_with_checker("t.tmk", trace.to_vec()) {
        Ok((Ok(_), events)) => events,
        other => panic!("the undamaged trace does not read: {:?}", other.err()),
    }
}

/// The events the checker delivers from a damaged copy, `what` naming the damage should the
/// read panic.
fn damaged_events(damaged: Vec<u8>, what: &str) -> Vec<sweep::Seen> {
    match sweep::read_with_checker("t.tmk", damaged) {
        Ok((_, events)) => events,
        Err(panic) => panic!("{what}: {panic}"),
    }
}

/// What one bit flip of the metadata cost.
#[derive(Default, Debug)]
struct FlipTally {
    flips: usize,
    /// Flips after which no event at all was delivered.
    lost_everything: usize,
    /// Of those, by where the flip was: the packet header, or the record kind it hit.
    lost_everything_by_place: std::collections::BTreeMap<&'static str, usize>,
    /// Flips inside an event class or environment record after which an event of another
    /// class was missing (a failure).
    lost_more_than_hit: Vec<String>,
    /// Flips after which an event not in the undamaged trace was delivered (a failure).
    invented: Vec<String>,
}

/// Flips every bit of every metadata packet of `trace` and reads each result with the
/// checker. A flip inside an EVENT_CLASS record must cost at most that class's events and,
/// as records carry no length (§10.5), the events after the first of them in its packets; one
/// inside an ENV record costs none; no flip may make an event appear that the trace does not
/// hold.
fn flip_every_metadata_bit(trace: &[u8]) -> FlipTally {
    use std::collections::BTreeSet;
    use tracemark_format::{Record, RecordIter};
    let baseline = undamaged_events(trace);
    let all: BTreeSet<_> = baseline.iter().map(event_key).collect();
    // Each metadata record's byte range in the file, and the class it declares.
    let mut records: Vec<(usize, usize, &'static str, Option<Option<String>>)> = Vec::new();
    let packets = tracemark_conformance::walk::packets(trace);
    for packet in packets.iter().filter(|packet| packet.header.is_metadata()) {
        let base = packet.content_offset();
        let items: Vec<_> =
            RecordIter::new(packet.content(trace), packet.order).map(Result::unwrap).collect();
        for (index, (offset, record)) in items.iter().enumerate() {
            let end = items.get(index + 1).map_or(packet.content(trace).len(), |(next, _)| *next);
            let (place, declares) = match record {
                Record::EventClass(class) => ("EVENT_CLASS", Some(Some(class.name.clone()))),
                Record::Env(_) => ("ENV", Some(None)),
                Record::Trace(_) => ("TRACE", None),
                Record::Clock(_) => ("CLOCK", None),
                Record::StreamClass(_) => ("STREAM_CLASS", None),
                Record::Index(_) => ("INDEX", None),
                Record::Unknown { .. } => ("unknown kind", None),
            };
            records.push((base + offset, base + end, place, declares));
        }
    }
    let mut tally = FlipTally::default();
    for packet in packets.iter().filter(|packet| packet.header.is_metadata()) {
        for offset in packet.offset..packet.end() {
            for bit in 0..8 {
                let mut damaged = trace.to_vec();
                damaged[offset] ^= 1 << bit;
                tally.flips += 1;
                let what = format!("byte {offset:#x} bit {bit}");
                let events = damaged_events(damaged, &what);
                let delivered: BTreeSet<_> = events.iter().map(event_key).collect();
                let hit = records.iter().find(|(start, end, ..)| (*start..*end).contains(&offset));
                if delivered.is_empty() {
                    tally.lost_everything += 1;
                    let place = hit.map_or("packet header", |(_, _, place, _)| *place);
                    *tally.lost_everything_by_place.entry(place).or_default() += 1;
                }
                if let Some(extra) = delivered.difference(&all).next() {
                    tally.invented.push(format!("{what}: {} at {} was never written", extra.0, extra.1));
                }
                if let Some((_, _, _, Some(declared))) = hit {
                    // In each data packet, the events before the first of the hit class.
                    let spared =
                        packets.iter().filter(|packet| !packet.header.is_metadata()).flat_map(|packet| {
                            let range = packet.offset as u64..packet.end() as u64;
                            baseline
                                .iter()
                                .filter(move |seen| range.contains(&seen.0))
                                .take_while(|seen| Some(&seen.3) != declared.as_ref())
                        });
                    if let Some(missing) = spared.map(event_key).find(|event| !delivered.contains(event)) {
                        tally.lost_more_than_hit.push(format!(
                            "{what}: {} at {} lost by a flip in another record",
                            missing.0, missing.1
                        ));
                    }
                }
            }
        }
    }
    tally
}

#[test]
fn every_bit_of_the_metadata_costs_at_most_the_record_it_hits() {
    let (checked, unchecked) = checked_and_unchecked_traces();
    let with_checks = flip_every_metadata_bit(&checked);
    let without = flip_every_metadata_bit(&unchecked);
    println!(
        "metadata bit flips: records with checks (1.1) {} of {} lose every event ({:?}); without (1.0) {} of {}",
        with_checks.lost_everything,
        with_checks.flips,
        with_checks.lost_everything_by_place,
        without.lost_everything,
        without.flips
    );
    for tally in [&with_checks, &without] {
        assert!(tally.invented.is_empty(), "{:?}", &tally.invented[..tally.invented.len().min(10)]);
    }
    assert!(
        with_checks.lost_more_than_hit.is_empty(),
        "{} flips cost more than their record:\n{}",
        with_checks.lost_more_than_hit.len(),
        with_checks.lost_more_than_hit[..with_checks.lost_more_than_hit.len().min(20)].join("\n")
    );
    // Without checks a flip anywhere in the content fails the packet CRC and takes every
    // declaration with it: the sweep is able to see that loss.
    assert!(without.lost_everything > without.flips / 2, "{without:?}");
    // With checks (and TRACE's copy, §7.3), only the packet's own header (its magic, flags
    // and sizes) costs every event.
    let places: Vec<&str> = with_checks.lost_everything_by_place.keys().copied().collect();
    assert_eq!(places, ["packet header"], "{with_checks:?}");
}

/// The lies a packet header can tell about its sizes (offset of the field, value written):
/// `content_size` and `packet_size` a little or gigabytes too large, `header_len` past the
/// content or claiming 64 KiB.
fn size_lies(packet: &tracemark_conformance::walk::Placed) -> Vec<(&'static str, usize, u32)> {
    let (content, size) = (packet.header.content_size, packet.header.packet_size);
    vec![
        ("content_size + 8", 64, content + 8),
        ("content_size past packet_size", 64, size + 8),
        ("content_size 2 GiB", 64, 1 << 31),
        ("content_size 4 GiB", 64, 0xFFFF_FFF8),
        ("packet_size + 8", 68, size + 8),
        ("packet_size + 64", 68, size + 64),
        ("packet_size 2 GiB", 68, 1 << 31),
        ("packet_size 4 GiB", 68, 0xFFFF_FFF8),
        ("both 4 GiB", 64, 0xFFFF_FFF8),
        ("header_len + 8", 6, 88),
        ("header_len 65528", 6, 65_528),
    ]
}

#[test]
fn a_lying_size_costs_no_other_packet_and_invents_nothing() {
    use std::collections::BTreeSet;
    let mut failures = Vec::new();
    let mut lies = 0;
    for crc in [true, false] {
        let trace = tracemark_conformance::rust_writer::single_file(&four_class_scenario(crc)).unwrap();
        let baseline = undamaged_events(&trace);
        let all: BTreeSet<_> = baseline.iter().map(event_key).collect();
        let packets = tracemark_conformance::walk::packets(&trace);
        for packet in packets.iter().filter(|packet| !packet.header.is_metadata()) {
            let range = packet.offset as u64..packet.end() as u64;
            let elsewhere: Vec<_> =
                baseline.iter().filter(|seen| !range.contains(&seen.0)).map(event_key).collect();
            for (lie, field, value) in size_lies(packet) {
                lies += 1;
                let mut damaged = trace.clone();
                let order = packet.order;
                let at = packet.offset + field;
                if field == 6 {
                    damaged[at..at + 2].copy_from_slice(&order.u16_bytes(value as u16));
                } else {
                    damaged[at..at + 4].copy_from_slice(&order.u32_bytes(value));
                }
                if lie == "both 4 GiB" {
                    damaged[packet.offset + 68..packet.offset + 72].copy_from_slice(&order.u32_bytes(value));
                }
                let what = format!("crc {crc}, packet at {:#x}, {lie}", packet.offset);
                let events = damaged_events(damaged, &what);
                let delivered: BTreeSet<_> = events.iter().map(event_key).collect();
                if let Some(extra) = delivered.difference(&all).next() {
                    failures.push(format!("{what}: {} at {} was never written", extra.0, extra.1));
                }
                let lost = elsewhere.iter().filter(|event| !delivered.contains(*event)).count();
                if lost > 0 {
                    failures.push(format!("{what}: {lost} events of other packets lost"));
                }
            }
        }
    }
    println!("lying sizes: {lies} lies told, {} failures", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
