//! `tracemark convert --from ctf`: a tracemark trace exported to CTF (`convert --to ctf`) and
//! imported back holds the same events: names, timestamp ticks, streams and payload bytes, for
//! the every-type traces (both byte orders, both ABIs, extended IDs), the demo, a trace with
//! losses (discard counts kept) and every valid conformance vector. And `info`, `dump` and
//! `stats` read a CTF trace directly.

mod support;

use std::path::Path;

use support::{all_types_traces, demo, lossy_trace, tracemark, tracemark_ok, valid_vectors};
use tracemark_reader::{format::HeaderWord, Item, Trace};

/// An event as compared: name, timestamp ticks, CPU, payload bytes.
type Compared = (String, u64, u32, Vec<u8>);

/// Every event in stream then record order, and the discarded-event count.
fn events(path: &Path) -> (Vec<Compared>, u64) {
    let trace = Trace::open(path).unwrap();
    let mut events: Vec<_> = trace
        .events()
        .filter_map(Item::event)
        .map(|event| {
            (event.name().to_owned(), event.timestamp(), event.stream().instance, event.payload().to_vec())
        })
        .collect();
    events.sort_by_key(|event| (event.2, event.1));
    (events, trace.summary().discarded)
}

fn round_trip(name: &str, original: &Path, work: &Path) {
    let ctf = work.join(format!("{name}.ctf"));
    let back = work.join(format!("{name}.tmk"));
    tracemark_ok(&["convert", "--to", "ctf", original.to_str().unwrap(), ctf.to_str().unwrap()]);
    let (code, _, stderr) =
        tracemark(&["convert", "--from", "ctf", ctf.to_str().unwrap(), back.to_str().unwrap()]);
    assert_eq!(code, 0, "{name}: {stderr}");
    let (before, discarded_before) = events(original);
    assert!(!before.is_empty(), "{name}: no events");
    // The import again with narrow record headers (spec §5.1): the same events. (Not always
    // fewer bytes: a gap of 2^24 ticks or more takes 16 bytes narrow, 8 wide.)
    let narrow = work.join(format!("{name}-narrow.tmk"));
    let (code, _, stderr) = tracemark(&[
        "convert",
        "--from",
        "ctf",
        "--headers",
        "narrow",
        ctf.to_str().unwrap(),
        narrow.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{name}: {stderr}");
    let narrow_trace = Trace::open(&narrow).unwrap();
    let words = narrow_trace.events().filter_map(Item::event).map(|event| event.header_word());
    assert!(words.into_iter().all(|word| word == HeaderWord::Narrow), "{name}: not narrow");
    for copy in [&back, &narrow] {
        let (after, discarded_after) = events(copy);
        assert_eq!(before.len(), after.len(), "{name}: event count");
        for (index, (a, b)) in before.iter().zip(&after).enumerate() {
            assert_eq!(a, b, "{name}: event {index} differs");
        }
        assert_eq!(discarded_before, discarded_after, "{name}: discarded events");
    }
}

#[test]
fn every_type_survives_ctf_and_back_byte_for_byte() {
    let work = tempfile::tempdir().unwrap();
    for (name, path) in all_types_traces(work.path()) {
        round_trip(&name, &path, work.path());
    }
}

#[test]
fn demo_and_losses_survive_ctf_and_back() {
    let work = tempfile::tempdir().unwrap();
    let demo_path = work.path().join("demo");
    demo(&demo_path, 2, 300, &[]);
    round_trip("demo", &demo_path, work.path());
    let lossy = work.path().join("lossy");
    let (discarded, _) = lossy_trace(&lossy);
    assert!(discarded > 0);
    round_trip("lossy", &lossy, work.path());
}

#[test]
fn valid_vectors_survive_ctf_and_back() {
    let work = tempfile::tempdir().unwrap();
    let vectors = valid_vectors();
    assert!(vectors.len() >= 10, "{} valid vectors", vectors.len());
    let mut compared = 0;
    for (index, (name, path)) in vectors.iter().enumerate() {
        // A vector the CTF export refuses (or warns about) is the export's business, tested
        // elsewhere; here only what it exports must come back.
        let ctf = work.path().join(format!("v{index}.ctf"));
        let (code, _, _) =
            tracemark(&["convert", "--to", "ctf", path.to_str().unwrap(), ctf.to_str().unwrap()]);
        if code != 0 {
            continue;
        }
        std::fs::remove_dir_all(&ctf).unwrap();
        if Trace::open(path).unwrap().events().filter_map(Item::event).next().is_none() {
            continue;
        }
        round_trip(&format!("v{index} ({name})"), path, work.path());
        compared += 1;
    }
    assert!(compared * 2 >= vectors.len(), "{compared} of {} vectors compared", vectors.len());
    eprintln!("{compared} of {} vectors compared", vectors.len());
}

#[test]
fn info_dump_and_stats_read_ctf_directly() {
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ctf/tests/data/lttng-ust-small");
    let small = small.to_str().unwrap();
    let (info, stderr) = tracemark_ok(&["info", small]);
    assert!(info.contains("tracer     lttng-ust 2.13") && info.contains("tmk:sched_switch"), "{info}");
    assert!(stderr.contains("read as CTF 1.8 through an import: 300 events"), "{stderr}");
    assert!(stderr.contains("display base"), "{stderr}");
    let (dump, _) = tracemark_ok(&["dump", small]);
    assert_eq!(dump.lines().filter(|line| line.contains("tmk:")).count(), 300);
    let (stats, _) = tracemark_ok(&["stats", small]);
    assert!(stats.contains("300"), "{stats}");
    // Converting a session directory finds the trace below it; a damaged trace exits 1 with
    // its damage said.
    let work = tempfile::tempdir().unwrap();
    let session = work.path().join("session/ust/uid/0/64-bit");
    std::fs::create_dir_all(&session).unwrap();
    for file in ["metadata", "ch_0", "ch_1"] {
        std::fs::copy(Path::new(small).join(file), session.join(file)).unwrap();
    }
    let bytes = std::fs::read(session.join("ch_1")).unwrap();
    std::fs::write(session.join("ch_1"), &bytes[..bytes.len() / 2]).unwrap();
    let out = work.path().join("out.tmk");
    let (code, _, stderr) = tracemark(&[
        "convert",
        "--from",
        "ctf",
        work.path().join("session").to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("ch_1: byte 0: the packet is cut short"), "{stderr}");
    let (events, _) = events(&out);
    assert!(events.len() > 150 && events.len() < 300, "{}", events.len());
}
