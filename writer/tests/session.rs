//! The std layer: sessions, threads, the directory and single-file containers (§9).

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use common::{classes, split_packets};
use tracemark_format::{metadata::kind, Record};
use tracemark_writer::{event, Config, EnvValue, Error, ManualClock, MemorySink, Session, TraceDescription};

event! {
    pub struct Start<'a>("start") { pub name: &'a str }
    pub struct Step("step") { pub thread: u32, pub i: u64 }
    pub struct Late("late") { pub value: i64 }
}

fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("tracemark-writer-{}-{name}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&path);
    let _ = fs::remove_file(&path);
    path
}

/// Four threads, one stream each, small packets; a class registered mid-trace.
fn workload(session: &Session<ManualClock>) {
    let (start, step) = (session.register::<Start>().unwrap(), session.register::<Step>().unwrap());
    std::thread::scope(|scope| {
        for thread in 0..4u32 {
            scope.spawn(move || {
                let mut stream = session.stream(thread).unwrap();
                stream.emit(start, &Start { name: "worker" }).unwrap();
                for i in 0..200 {
                    stream.emit(step, &Step { thread, i }).unwrap();
                    if i == 150 {
                        // Registered while other threads' packets are flowing.
                        let late = session.register::<Late>().unwrap();
                        stream.emit(late, &Late { value: -(i as i64) }).unwrap();
                    }
                }
            });
        }
    });
}

fn config(uuid: u8) -> Config {
    Config::with_uuid([uuid; 16]).packet_size(512)
}

fn description() -> TraceDescription {
    TraceDescription { hostname: "test-host".into(), ..TraceDescription::unknown() }
}

#[test]
fn single_file_puts_trace_first_and_metadata_before_the_data_using_it() {
    let path = scratch("single.tmk");
    let sink = tracemark_writer::FileSink::create(&path).unwrap();
    let session = Session::builder(config(3))
        .description(description())
        .env("purpose", EnvValue::Str("test".into()))
        .build_with_clock(ManualClock::new(10), sink)
        .unwrap();
    workload(&session);
    let summary = session.finish().unwrap();
    let bytes = fs::read(&path).unwrap();
    let _ = fs::remove_file(&path);

    let mut packets = split_packets(&bytes);
    // The file's packet index ends it (§14.3), listing every packet before it.
    let index_at = summary.bytes as usize;
    let (index_header, index) = tracemark_format::index::decode_packet(&bytes[index_at..]).unwrap();
    assert_eq!(
        (index.file_len, index.index_offset, index.entries.len()),
        (summary.bytes, summary.bytes, packets.len() - 1)
    );
    assert!(index
        .entries
        .iter()
        .all(|entry| entry.record_count == tracemark_format::index::RECORDS_NOT_COUNTED));
    let index_packet = packets.pop().unwrap();
    assert_eq!(index_packet.header, index_header);
    assert_eq!(index_header.sequence, packets.iter().filter(|p| p.header.is_metadata()).count() as u64);
    assert!(packets[0].header.is_metadata());
    let first = common::records(&packets[..1]);
    assert!(
        matches!(&first[0], Record::Trace(trace) if trace.hostname == "test-host" && trace.uuid == [3; 16])
    );
    assert_eq!(summary.data_packets + summary.metadata_packets, packets.len() as u64);
    assert_eq!((summary.events_written, summary.events_discarded, summary.streams), (4 * 202, 0, 4));

    // Walk in file order: every event ID must be declared by an earlier metadata packet.
    let mut declared = BTreeMap::new();
    let mut next_sequence = BTreeMap::new();
    let mut abi = None;
    let mut events = 0;
    for packet in &packets {
        let stream = (packet.header.is_metadata(), packet.header.stream_instance_id);
        let expected = next_sequence.entry(stream).or_insert(0u64);
        assert_eq!(packet.header.sequence, *expected, "sequence order in {stream:?}");
        *expected += 1;
        if packet.header.is_metadata() {
            let records = common::records(std::slice::from_ref(packet));
            abi = abi.or_else(|| Some(common::abi(&records)));
            declared.extend(classes(&records));
        } else {
            events += common::events(packet, &declared, abi.as_ref().unwrap()).len();
        }
    }
    assert_eq!(events, 4 * 202);
    let all = common::records(&packets);
    // TRACE and its copy (§7.3).
    assert_eq!(all.iter().filter(|r| r.kind() == kind::TRACE).count(), 2);
    assert_eq!(all[1], all[0]);
    assert!(all.iter().any(|r| matches!(r, Record::Env(env) if env.key == "purpose")));
}

#[test]
fn directory_form_has_metadata_and_one_file_per_stream() {
    let root = scratch("dir");
    let sink = tracemark_writer::DirectorySink::create(&root).unwrap();
    let session = Session::builder(config(4)).build_with_clock(ManualClock::new(10), sink).unwrap();
    workload(&session);
    session.finish().unwrap();

    let mut names: Vec<String> =
        fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "finished",
            "index",
            "metadata",
            "stream-0-0.tmk",
            "stream-0-1.tmk",
            "stream-0-2.tmk",
            "stream-0-3.tmk"
        ]
    );
    let metadata = split_packets(&fs::read(root.join("metadata")).unwrap());
    assert!(metadata.iter().all(|p| p.header.is_metadata()));
    let records = common::records(&metadata);
    assert_eq!(records[0].kind(), kind::TRACE);
    let (abi, declared) = (common::abi(&records), classes(&records));
    for instance in 0..4u32 {
        let packets = split_packets(&fs::read(root.join(format!("stream-0-{instance}.tmk"))).unwrap());
        let mut events = 0;
        for (sequence, packet) in packets.iter().enumerate() {
            assert_eq!(
                (packet.header.stream_instance_id, packet.header.sequence),
                (instance, sequence as u64)
            );
            events += common::events(packet, &declared, &abi).len();
        }
        assert_eq!(events, 202);
        // Each stream file's index, beside it (§14.3).
        let sidecar = fs::read(root.join(format!("index/stream-0-{instance}.tmk.idx"))).unwrap();
        let (_, index) = tracemark_format::index::decode_packet(&sidecar).unwrap();
        assert_eq!(index.entries.len(), packets.len());
        for (entry, packet) in index.entries.iter().zip(&packets) {
            assert!(entry.describes(entry.offset, &packet.header));
        }
    }
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn finish_needs_every_handle_back_and_runs_once() {
    let sink = MemorySink::new();
    let session = Session::builder(config(5)).build_with_clock(ManualClock::new(0), sink.clone()).unwrap();
    let step = session.register::<Step>().unwrap();
    let mut stream = session.stream(7).unwrap();
    assert!(matches!(session.stream(7), Err(Error::StreamInUse { instance: 7, .. })));
    stream.emit(step, &Step { thread: 7, i: 0 }).unwrap();
    assert!(matches!(session.finish(), Err(Error::StreamsOpen(1))));
    drop(stream);
    // Taking a stream back continues its sequence numbers.
    let mut stream = session.stream(7).unwrap();
    stream.flush().unwrap();
    stream.emit(step, &Step { thread: 7, i: 1 }).unwrap();
    drop(stream);
    let summary = session.finish().unwrap();
    assert_eq!((summary.events_written, summary.data_packets), (2, 2));
    assert!(matches!(session.finish(), Err(Error::Finished)));
    assert!(matches!(session.stream(1), Err(Error::Finished)));
    let data: Vec<_> = split_packets(&sink.bytes()).into_iter().filter(|p| !p.header.is_metadata()).collect();
    assert_eq!(data.iter().map(|p| p.header.sequence).collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn next_stream_hands_out_free_slots_and_stream_classes_are_separate() {
    let sink = MemorySink::new();
    let session = Session::builder(config(6)).build_with_clock(ManualClock::new(0), sink.clone()).unwrap();
    let (a, b) = (session.next_stream().unwrap(), session.next_stream().unwrap());
    assert_eq!((a.instance(), b.instance()), (0, 1));
    drop(a);
    assert_eq!(session.next_stream().unwrap().instance(), 0);
    drop(b);
    let class = session.add_stream_class("user").unwrap();
    let late = session.register_in::<Late>(class).unwrap();
    let mut user = session.stream_in(class, 0).unwrap();
    user.emit(late, &Late { value: 1 }).unwrap();
    let mut default = session.stream(0).unwrap();
    assert!(matches!(default.emit(late, &Late { value: 1 }), Err(Error::ForeignHandle { .. })));
    drop((user, default));
    session.finish().unwrap();
    let instances: BTreeSet<_> = split_packets(&sink.bytes())
        .iter()
        .filter(|p| !p.header.is_metadata())
        .map(|p| (p.header.stream_class_id, p.header.stream_instance_id))
        .collect();
    assert_eq!(instances, BTreeSet::from([(class, 0)]));
}

#[test]
fn default_session_uses_the_host_clock_and_a_random_uuid() {
    let (one, two) = (Config::default(), Config::default());
    assert_ne!(one.uuid, two.uuid);
    assert_eq!(one.uuid[6] >> 4, 4, "version 4");
    let sink = MemorySink::new();
    let session = Session::new(one.packet_size(4096), sink.clone()).unwrap();
    let step = session.register::<Step>().unwrap();
    let mut stream = session.stream(0).unwrap();
    stream.emit(step, &Step { thread: 0, i: 0 }).unwrap();
    stream.emit(step, &Step { thread: 0, i: 1 }).unwrap();
    drop(stream);
    session.finish().unwrap();
    let (records, _, events) = common::decode_all(&sink.bytes());
    assert!(events[0].timestamp > 0 && events[1].timestamp >= events[0].timestamp);
    assert!(records
        .iter()
        .any(|r| matches!(r, Record::Clock(c) if c.name == "monotonic" && c.offset_ns > 0)));
}

#[test]
fn a_compressing_sink_writes_a_compressed_trace_the_reader_reads_whole() {
    use tracemark_writer::{Codec, CompressingSink};
    for codec in [Codec::Zstd, Codec::Lz4] {
        let path = scratch(&format!("compressed-{}.tmk", codec.name()));
        let sink = CompressingSink::new(tracemark_writer::FileSink::create(&path).unwrap(), codec);
        let session = Session::builder(config(5)).build_with_clock(ManualClock::new(10), sink).unwrap();
        workload(&session);
        let summary = session.finish().unwrap();
        let bytes = fs::read(&path).unwrap();
        let _ = fs::remove_file(&path);
        let mut packets = split_packets(&bytes);
        packets.pop(); // the index
        let compressed = packets.iter().filter(|packet| packet.header.flags.is_compressed()).count();
        assert!(
            compressed > 0
                && packets.iter().all(|p| !p.header.is_metadata() || !p.header.flags.is_compressed())
        );
        assert!((bytes.len() as u64) < summary.bytes, "{codec:?}: {} of {}", bytes.len(), summary.bytes);
        let trace = tracemark_reader::Trace::from_bytes(bytes).unwrap();
        assert!(trace.diagnostics().is_empty());
        assert_eq!(trace.count_events(2).events, 4 * 202);
        assert!(trace.events().all(|item| item.event().is_some()));
        assert!(matches!(trace.stored_indexes()[0].status, tracemark_reader::IndexStatus::Usable(_)));
    }
}
