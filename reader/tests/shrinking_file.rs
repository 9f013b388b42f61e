//! A trace file that shrinks while it is read (log rotation, a restarted writer, a cleaned-up
//! live trace) never kills the reader: the packets the file no longer holds are reported
//! truncated (§10.4), every record the file still holds whole is delivered, and none of the
//! zeros that read past the new end becomes an event.

#[path = "../bench/realistic.rs"]
mod realistic;

use std::{
    collections::BTreeMap,
    fs::{self, File, OpenOptions},
    io::{Read, Seek, SeekFrom, Write},
    path::PathBuf,
};

use tracemark_reader::{DiagnosticKind, Item, MappedFile, Trace};

const EVENTS: u64 = 200_000;

/// A trace file in the temporary directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn write(name: &str, bytes: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("tracemark-{name}-{}", std::process::id()));
        fs::write(&path, bytes).expect("the trace file writes");
        TempFile(path)
    }

    fn shrink_to(&self, len: u64) {
        OpenOptions::new().write(true).open(&self.0).and_then(|file| file.set_len(len)).expect("truncates");
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Every event of the intact trace: file offset → (timestamp, record bytes).
fn reference(bytes: &[u8]) -> BTreeMap<u64, (u64, Vec<u8>)> {
    let trace = Trace::from_bytes(bytes.to_vec()).expect("the reference opens");
    let mut events = BTreeMap::new();
    for item in trace.events() {
        if let Item::Event(event) = item {
            events.insert(event.offset(), (event.timestamp(), event.record_bytes().to_vec()));
        }
    }
    events
}

/// Where the file is cut: past its middle, off any page boundary, inside a packet.
fn cut_of(bytes: &[u8]) -> u64 {
    (bytes.len() / 2 + 1013) as u64
}

/// Checks what a read of the shrunk file delivered against the intact trace.
fn check_delivered(
    reference: &BTreeMap<u64, (u64, Vec<u8>)>,
    delivered: &BTreeMap<u64, (u64, Vec<u8>)>,
    cut: u64,
    truncations: usize,
) {
    for (offset, event) in delivered {
        assert_eq!(reference.get(offset), Some(event), "event at {offset} was never written there");
    }
    let whole_before_cut: Vec<u64> = reference
        .iter()
        .filter(|(offset, (_, record))| **offset + record.len() as u64 <= cut)
        .map(|(offset, _)| *offset)
        .collect();
    let missing: Vec<&u64> =
        whole_before_cut.iter().filter(|offset| !delivered.contains_key(offset)).collect();
    assert!(
        missing.is_empty(),
        "{} records before the cut not delivered, first {:?}",
        missing.len(),
        missing.first()
    );
    assert!(delivered.len() < reference.len(), "the records past the cut are gone");
    assert!(truncations > 0, "the truncation is reported");
}

/// Reads `path` event by event through `read`, shrinking the file to `cut` after 1,000 events.
fn read_shrinking(
    file: &TempFile,
    cut: u64,
    read: impl FnOnce(&Trace, &mut dyn FnMut(Item<'_>)),
) -> (BTreeMap<u64, (u64, Vec<u8>)>, usize) {
    let trace = Trace::open(&file.0).expect("the trace opens");
    let mut delivered = BTreeMap::new();
    let mut truncations = 0;
    let mut seen = 0u64;
    read(&trace, &mut |item| match item {
        Item::Event(event) => {
            seen += 1;
            if seen == 1_000 {
                file.shrink_to(cut);
            }
            delivered.insert(event.offset(), (event.timestamp(), event.record_bytes().to_vec()));
        }
        Item::Diagnostic(diagnostic) => {
            if matches!(diagnostic.kind, DiagnosticKind::TruncatedPacket { .. }) {
                truncations += 1;
            }
        }
    });
    (delivered, truncations)
}

#[test]
fn a_file_shrinking_under_a_single_threaded_read_loses_only_what_it_no_longer_holds() {
    let bytes = realistic::single_file(EVENTS, 2, 4096);
    let reference = reference(&bytes);
    let file = TempFile::write("shrink-events", &bytes);
    let cut = cut_of(&bytes);
    let (delivered, truncations) =
        read_shrinking(&file, cut, |trace, visit| trace.events().for_each(&mut *visit));
    check_delivered(&reference, &delivered, cut, truncations);
}

#[test]
fn a_file_shrinking_under_a_pipelined_read_loses_only_what_it_no_longer_holds() {
    // The workers decode ahead of the reader: they touch pages past the new end, which
    // without the guard would raise SIGBUS.
    let bytes = realistic::single_file(EVENTS, 2, 4096);
    let reference = reference(&bytes);
    let file = TempFile::write("shrink-pipelined", &bytes);
    let cut = cut_of(&bytes);
    let (delivered, truncations) = read_shrinking(&file, cut, |trace, visit| {
        trace.with_events(2, |events| events.for_each(&mut *visit))
    });
    check_delivered(&reference, &delivered, cut, truncations);
}

#[test]
fn counting_a_shrunk_file_counts_only_the_records_it_still_holds() {
    let bytes = realistic::single_file(EVENTS, 2, 4096);
    let reference = reference(&bytes);
    let file = TempFile::write("shrink-count", &bytes);
    let cut = cut_of(&bytes);
    let trace = Trace::open(&file.0).expect("the trace opens");
    assert_eq!(trace.count_events(2).events, reference.len() as u64);
    file.shrink_to(cut);
    let whole_before_cut =
        reference.iter().filter(|(offset, (_, record))| **offset + record.len() as u64 <= cut);
    for threads in [1, 2] {
        let counts = trace.count_events(threads);
        assert_eq!(counts.events, whole_before_cut.clone().count() as u64, "{threads} threads");
        assert!(counts.shrunk_packets > 0);
        assert_eq!(counts.stopped_packets, 0, "the cut is not a bad record");
    }
}

#[test]
fn a_mapped_page_past_the_end_reads_as_zeros_and_the_length_is_the_new_one() {
    let path = std::env::temp_dir().join(format!("tracemark-shrink-map-{}", std::process::id()));
    let mut file =
        OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).expect("creates");
    file.write_all(&[0xA5; 3 * 4096]).expect("writes");
    let map =
        MappedFile::open(File::open(&path).expect("opens")).expect("maps").expect("a guard slot is free");
    assert_eq!(map.bytes()[2 * 4096 + 5], 0xA5);
    file.set_len(4096 + 10).expect("truncates");
    // Past the end, on a page the file no longer has: SIGBUS without the guard.
    assert_eq!(map.bytes()[2 * 4096 + 5], 0);
    assert_eq!(map.bytes()[4096 + 9], 0xA5);
    assert_eq!(map.len_now(), 4096 + 10);
    // The file itself is untouched by the guard.
    let mut rest = Vec::new();
    file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_end(&mut rest)).expect("reads");
    assert_eq!(rest, vec![0xA5; 4096 + 10]);
    drop(map);
    let _ = fs::remove_file(&path);
}
