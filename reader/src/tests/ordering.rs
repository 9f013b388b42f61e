//! Merge order, per-stream iteration, containers, and where diagnostics appear.

use tracemark_format::{Abi, ByteOrder, Field, IntType, TypeDesc};

use super::*;
use crate::{ContainerKind, OpenOptions, ReadMode, StreamId};

fn builder() -> TraceBuilder {
    TraceBuilder::new(Abi::lp64(ByteOrder::Little)).class(
        1,
        "tick",
        vec![Field::new("n", TypeDesc::Int(IntType::U32))],
    )
}

fn payload(n: u32) -> Vec<u8> {
    Payload::new(ByteOrder::Little).u32(n).done()
}

/// Stream 0/0 and 0/1, two packets each, timestamps interleaved with ties.
fn two_streams(builder: &TraceBuilder) -> (Vec<u8>, Vec<Vec<u8>>) {
    let cpu0 = [
        builder.packet(0, 0, 0, 100).event(1, 100, &payload(0)).event(1, 120, &payload(1)).build(builder),
        builder.packet(0, 0, 1, 130).event(1, 140, &payload(2)).event(1, 160, &payload(3)).build(builder),
    ];
    let cpu1 = [
        builder.packet(0, 1, 0, 90).event(1, 110, &payload(10)).event(1, 120, &payload(11)).build(builder),
        builder.packet(0, 1, 1, 125).event(1, 150, &payload(12)).build(builder),
    ];
    (builder.metadata_packet(), vec![cpu0.concat(), cpu1.concat()])
}

#[test]
fn streams_merge_in_timestamp_order_with_ties_by_stream() {
    let builder = builder();
    let (metadata, streams) = two_streams(&builder);
    // Interleave the streams' packets in the single file.
    let packets_cpu1 = &streams[1];
    let mut bytes = metadata;
    bytes.extend_from_slice(packets_cpu1);
    bytes.extend_from_slice(&streams[0]);
    let trace = Trace::from_bytes(bytes).unwrap();
    let order: Vec<_> = events(&trace)
        .iter()
        .map(|event| {
            (event.timestamp(), event.stream().instance, event.field("n").unwrap().as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        order,
        [(100, 0, 0), (110, 1, 10), (120, 0, 1), (120, 1, 11), (140, 0, 2), (150, 1, 12), (160, 0, 3)]
    );
    assert_eq!(
        trace.stream_ids().collect::<Vec<_>>(),
        [StreamId { class: 0, instance: 0 }, StreamId { class: 0, instance: 1 }]
    );
    let cpu1: Vec<_> = trace
        .stream(StreamId { class: 0, instance: 1 })
        .unwrap()
        .filter_map(Item::event)
        .map(|event| event.timestamp())
        .collect();
    assert_eq!(cpu1, [110, 120, 150]);
    assert!(trace.stream(StreamId { class: 9, instance: 0 }).is_none());
    assert_eq!(trace.streams().count(), 2);
}

#[test]
fn directory_and_single_file_give_the_same_events() {
    let builder = builder();
    let (metadata, streams) = two_streams(&builder);
    let dir = temp_dir("dir");
    std::fs::write(dir.join("metadata"), &metadata).unwrap();
    std::fs::write(dir.join("stream-0-0.tmk"), &streams[0]).unwrap();
    std::fs::write(dir.join("stream-0-1.tmk"), &streams[1]).unwrap();
    std::fs::write(dir.join("README"), b"ignored").unwrap();
    std::fs::write(dir.join("empty.tmk"), b"").unwrap();
    std::fs::create_dir(dir.join("sub.tmk")).unwrap();
    let single = dir.join("single.trace");
    std::fs::write(&single, [metadata.clone(), streams[0].clone(), streams[1].clone()].concat()).unwrap();

    let from_dir = Trace::open(&dir).unwrap();
    let from_file = Trace::open(&single).unwrap();
    let read_file =
        Trace::open_with(&single, OpenOptions { read_mode: ReadMode::Read, ..Default::default() }).unwrap();
    let from_memory = Trace::from_bytes([metadata, streams[0].clone(), streams[1].clone()].concat()).unwrap();
    assert_eq!(from_dir.kind(), ContainerKind::Directory);
    assert_eq!(from_file.kind(), ContainerKind::SingleFile);
    assert_eq!(from_memory.kind(), ContainerKind::Memory);
    let expected = collect(from_dir.events());
    assert_eq!(expected.len(), 7);
    assert!(expected.iter().all(|item| matches!(item, Seen::Event { .. })), "{expected:?}");
    assert_eq!(collect(from_file.events()), expected);
    assert_eq!(collect(read_file.events()), expected);
    assert_eq!(collect(from_memory.events()), expected);
    let event = events(&from_dir).remove(0);
    assert!(event.file().ends_with("stream-0-0.tmk"), "{}", event.file());
    assert_eq!(event.offset(), 80);

    // An empty trace file and a directory without metadata are not traces.
    std::fs::write(dir.join("empty.trace"), b"").unwrap();
    assert!(matches!(
        Trace::open(dir.join("empty.trace")),
        Err(crate::OpenError::NotATrace { reason: crate::NotATrace::Empty, .. })
    ));
    std::fs::remove_file(dir.join("metadata")).unwrap();
    assert!(matches!(
        Trace::open(&dir),
        Err(crate::OpenError::NotATrace { reason: crate::NotATrace::NoMetadataFile, .. })
    ));
    assert!(matches!(Trace::open(dir.join("missing")), Err(crate::OpenError::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn discarded_events_and_gaps_are_reported_just_before_the_packet_events() {
    let builder = builder();
    let mut bytes = builder.metadata_packet();
    // Stream 0/0: first packet seq 1 (one missing), then seq 4 (two missing) with 5 discards.
    bytes.extend(builder.packet(0, 0, 1, 100).event(1, 100, &payload(0)).end(105).build(&builder));
    bytes.extend(builder.packet(0, 0, 4, 200).event(1, 210, &payload(1)).discarded(5).build(&builder));
    // Stream 0/1: an event between them, and a non-increasing sequence number.
    bytes.extend(builder.packet(0, 1, 0, 150).event(1, 150, &payload(2)).build(&builder));
    bytes.extend(builder.packet(0, 1, 0, 300).event(1, 300, &payload(3)).build(&builder));
    let trace = Trace::from_bytes(bytes).unwrap();
    let seen: Vec<String> = collect(trace.events())
        .into_iter()
        .map(|item| match item {
            Seen::Event { timestamp, .. } => format!("event {timestamp}"),
            Seen::Diagnostic(kind) => format!("{kind:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [
            "PacketGap { missing: 1 }",
            "event 100",
            "event 150",
            "PacketGap { missing: 2 }",
            "DiscardedEvents { count: 5, from_ts: Some(105), to_ts: 210 }",
            "event 210",
            "SequenceNotIncreasing { previous: 0, found: 0 }",
            "event 300",
        ]
    );
    let diagnostic = diagnostics(&trace).remove(2);
    assert_eq!(diagnostic.stream, Some(StreamId { class: 0, instance: 0 }));
    assert_eq!(diagnostic.sequence, Some(4));
    assert_eq!(diagnostic.section, "10.1");
    assert_eq!(diagnostic.file.as_ref(), crate::MEMORY_NAME);
    let line = diagnostic.to_string();
    assert!(
        line.starts_with("<memory>@0x")
            && line.contains("stream 0/0 seq 4: 5 events discarded")
            && line.ends_with("[§10.1]")
            && !line.contains('\n'),
        "{line}"
    );
}

#[test]
fn timestamp_violations_are_reported_and_records_past_the_packet_end_withheld() {
    let builder = builder();
    let mut bytes = builder.metadata_packet();
    let mut packet = builder.packet(0, 0, 0, 100).event(1, 150, &payload(0));
    // An extended record going back in time (§5.5): reported, and delivered.
    packet = packet.raw(&{
        let mut header = [0u8; 20];
        header[..8].copy_from_slice(&(0xFFFFu64 << 48).to_le_bytes());
        header[8..12].copy_from_slice(&1u32.to_le_bytes());
        header[12..20].copy_from_slice(&120u64.to_le_bytes());
        header
    });
    packet = packet.raw(&payload(1));
    bytes.extend(packet.end(160).build(&builder));
    // A record after the packet's end (R-4.5-3): neither it nor the one after it delivered.
    let packet = builder.packet(0, 0, 1, 170).event(1, 180, &payload(2)).event(1, 300, &payload(3));
    bytes.extend(packet.event(1, 310, &payload(4)).end(200).build(&builder));
    // A packet starting before the previous ended (§4.5).
    bytes.extend(builder.packet(0, 0, 2, 195).event(1, 210, &payload(5)).build(&builder));
    let trace = Trace::from_bytes(bytes).unwrap();
    let kinds: Vec<_> = collect(trace.events())
        .into_iter()
        .map(|item| match item {
            Seen::Event { timestamp, .. } => format!("event {timestamp}"),
            Seen::Diagnostic(kind) => format!("{kind:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "event 150",
            "TimestampBackwards { previous: 150, found: 120 }",
            "event 120",
            "event 180",
            "TimestampOutsidePacket { timestamp: 300, end: 200 }",
            "PacketOverlap { previous_end: 200, begin: 195 }",
            "event 210",
        ]
    );
    // Counting agrees: the records past the end are not counted either.
    assert_eq!(trace.count_events(1).events, 4);
}

#[test]
fn directory_damage_stays_with_its_file_and_stream() {
    let builder = builder();
    let (metadata, streams) = two_streams(&builder);
    let dir = temp_dir("damage");
    // Garbage after the metadata packet, and after the last packet of stream 0/1.
    std::fs::write(dir.join("metadata"), [metadata, vec![0xEE; 16]].concat()).unwrap();
    std::fs::write(dir.join("stream-0-0.tmk"), &streams[0]).unwrap();
    std::fs::write(dir.join("stream-0-1.tmk"), [streams[1].clone(), vec![0xEE; 24]].concat()).unwrap();
    let trace = Trace::open(&dir).unwrap();
    let open: Vec<_> = trace.diagnostics().iter().map(|diagnostic| diagnostic.kind.name()).collect();
    assert_eq!(open, ["BadHeader", "Resynchronized"]);
    assert!(trace.diagnostics()[0].file.ends_with("metadata"));
    // The merged iteration starts with the metadata file's problems.
    let merged = collect(trace.events());
    assert!(matches!(merged[0], Seen::Diagnostic(DiagnosticKind::BadHeader(_))));
    // Stream 0/1's trailing garbage is reported by its own iterator, after its events.
    let cpu1 = collect(trace.stream(StreamId { class: 0, instance: 1 }).unwrap());
    let names: Vec<_> = cpu1
        .iter()
        .map(|item| match item {
            Seen::Event { .. } => "event",
            Seen::Diagnostic(kind) => kind.name(),
        })
        .collect();
    assert_eq!(names, ["event", "event", "event", "BadHeader", "Resynchronized"]);
    let last =
        trace.stream(StreamId { class: 0, instance: 1 }).unwrap().last().unwrap().diagnostic().unwrap();
    assert!(last.file.ends_with("stream-0-1.tmk"));
    let json = serde_json::to_value(&last).unwrap();
    assert_eq!(json["kind"], "Resynchronized");
    assert_eq!(json["section"], "10.6");
    assert_eq!(json["offset"], streams[1].len());
    assert_eq!(json["message"], "skipped 24 bytes to the end of the file: no valid packet header");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn traces_and_items_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Trace>();
    assert_send_sync::<crate::Diagnostic>();
    assert_send_sync::<Item<'static>>();
}

/// Rough throughput: `cargo test --release -p tracemark-reader throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let builder = TraceBuilder::new(Abi::lp64(ByteOrder::Little)).class(
        1,
        "sched_switch",
        vec![
            Field::new("prev_comm", TypeDesc::String),
            Field::new("prev_pid", TypeDesc::Int(IntType::I32)),
            Field::new("prev_state", TypeDesc::Int(IntType::Abi(tracemark_format::types::AbiInt::Long))),
            Field::new("next_pid", TypeDesc::Int(IntType::I32)),
        ],
    );
    let payload = Payload::new(ByteOrder::Little).string(b"kworker/0:1").u32(42).u64(1).u32(7).done();
    let mut bytes = builder.metadata_packet();
    let mut timestamp = 1000u64;
    for sequence in 0..2000u64 {
        for cpu in 0..4u32 {
            let mut packet = builder.packet(0, cpu, sequence, timestamp);
            for _ in 0..128 {
                timestamp += 3;
                packet = packet.event(1, timestamp, &payload);
            }
            bytes.extend(packet.build(&builder));
        }
    }
    let size = bytes.len();
    let start = std::time::Instant::now();
    let trace = Trace::from_bytes(bytes).unwrap();
    let opened = start.elapsed();
    let mut count = 0usize;
    for item in trace.events() {
        if let Item::Event(event) = item {
            count += event.fields().len();
        }
    }
    let elapsed = start.elapsed();
    let events = count / 4;
    println!(
        "{events} events, {} MB: open {opened:?}, total {elapsed:?}: {:.1} M events/s, {:.0} MB/s",
        size / 1_000_000,
        events as f64 / elapsed.as_secs_f64() / 1e6,
        size as f64 / elapsed.as_secs_f64() / 1e6
    );
}

/// Streams 0/0 and 0/1, 6 packets each of 3 events 10 ticks apart, the second stream 5
/// ticks later; the builder's clock puts tick t at 10^9 + t ns. Packet `damaged` of 0/0 has
/// its CRC broken.
fn windowed_trace(damaged: Option<usize>) -> Trace {
    let builder = builder();
    let mut bytes = builder.metadata_packet();
    for instance in 0..2u32 {
        for sequence in 0..6u64 {
            let begin = sequence * 30 + u64::from(instance) * 5;
            let mut packet = builder.packet(0, instance, sequence, begin);
            for n in 0..3 {
                let n = (sequence * 3 + n) as u32;
                packet = packet.event(1, u64::from(n) * 10 + u64::from(instance) * 5, &payload(n));
            }
            let mut built = packet.build(&builder);
            if instance == 0 && damaged == Some(sequence as usize) {
                built[100] ^= 0xFF;
            }
            bytes.extend_from_slice(&built);
        }
    }
    Trace::from_bytes(bytes).unwrap()
}

fn window_of(items: impl Iterator<Item = Item<'static>>) -> Vec<(u64, u32)> {
    items.filter_map(Item::event).map(|event| (event.timestamp(), event.stream().instance)).collect()
}

#[test]
fn a_window_delivers_what_a_whole_read_delivers_in_it() {
    let trace = Box::leak(Box::new(windowed_trace(None)));
    let whole: Vec<(i128, u64, u32)> = trace
        .events()
        .filter_map(Item::event)
        .map(|event| (event.unix_ns().unwrap(), event.timestamp(), event.stream().instance))
        .collect();
    let base = 1_000_000_000i128;
    for from in (-3..190).step_by(7) {
        for to in [from - 1, from, from + 4, from + 25, from + 61, 400] {
            let expected: Vec<(u64, u32)> = whole
                .iter()
                .filter(|(ns, _, _)| (base + from..=base + to).contains(ns))
                .map(|&(_, ticks, instance)| (ticks, instance))
                .collect();
            let found = window_of(trace.events_between(base + from, base + to));
            assert_eq!(found, expected, "window {from}..={to}");
        }
    }
    // Before the clock's tick 0, and past every tick.
    assert!(window_of(trace.events_between(0, base - 1)).is_empty());
    assert!(window_of(trace.events_between(i128::MAX - 1, i128::MAX)).is_empty());
}

#[test]
fn a_window_reads_only_the_packets_that_meet_it() {
    // Packet 5 of 0/0 (ticks 150-170) fails its CRC: a whole read reports it, a window
    // ending before it does not read it; its sequence and discard accounting stays quiet.
    let trace = windowed_trace(Some(5));
    let report = |items: &mut dyn Iterator<Item = Item<'_>>| {
        items
            .filter_map(|item| item.diagnostic().map(|diagnostic| diagnostic.kind.name()))
            .collect::<Vec<_>>()
    };
    assert_eq!(report(&mut trace.events()), ["CrcMismatch"]);
    let base = 1_000_000_000i128;
    assert!(report(&mut trace.events_between(base + 60, base + 100)).is_empty());
    assert_eq!(report(&mut trace.events_between(base + 140, base + 160)), ["CrcMismatch"]);
}

#[test]
fn a_dispatcher_between_two_times_delivers_what_events_between_does() {
    let trace = windowed_trace(None);
    let base = 1_000_000_000i128;
    for (from, to) in
        [(base + 12, base + 97), (base, base + 400), (base + 171, base + 171), (base + 50, base + 40)]
    {
        let expected: Vec<(u64, u32)> = trace
            .events_between(from, to)
            .filter_map(Item::event)
            .map(|event| (event.timestamp(), event.stream().instance))
            .collect();
        let mut found = Vec::new();
        let mut dispatcher = crate::Dispatcher::new(&trace);
        dispatcher
            .between(from, to)
            .on_every_event(|event| found.push((event.timestamp(), event.stream().instance)));
        let summary = dispatcher.run();
        assert_eq!(summary.events, expected.len() as u64);
        assert_eq!(found, expected, "{from}..={to}");
        // One stream's part of the window.
        let mut only = Vec::new();
        let mut dispatcher = crate::Dispatcher::new(&trace);
        dispatcher
            .between(from, to)
            .only_stream(StreamId { class: 0, instance: 1 })
            .on_every_event(|event| only.push((event.timestamp(), event.stream().instance)));
        dispatcher.run();
        let expected_one: Vec<_> = expected.iter().copied().filter(|&(_, instance)| instance == 1).collect();
        assert_eq!(only, expected_one);
    }
}

#[test]
fn a_stored_index_is_judged_without_reading_its_packets() {
    use crate::IndexStatus;
    let plain = {
        let trace = windowed_trace(None);
        let bytes = trace.container.files[0].bytes().to_vec();
        (bytes, trace.metadata().uuid())
    };
    let (bytes, uuid) = plain;
    let trace = Trace::from_bytes(bytes.clone()).unwrap();
    assert!(trace.stored_indexes().iter().all(|stored| stored.status == IndexStatus::Absent));
    let built = trace.build_indexes().pop().unwrap();
    let (Ok(index), crate::IndexPlace::Trailing { sequence, .. }) = (built.index, built.place) else {
        panic!("the single file is indexable")
    };
    let packet = tracemark_format::index::encode_packet(&index, uuid, ByteOrder::Little, sequence);
    let mut indexed = bytes.clone();
    indexed.extend_from_slice(&packet);
    let trace = Trace::from_bytes(indexed.clone()).unwrap();
    assert_eq!(trace.stored_indexes()[0].status, IndexStatus::Usable(index.clone()));
    // A flipped byte fails the index packet's CRC; another trace's index is not this one's.
    let mut damaged = indexed.clone();
    let last = damaged.len() - 20;
    damaged[last] ^= 1;
    let trace = Trace::from_bytes(damaged).unwrap();
    assert!(
        matches!(trace.stored_indexes()[0].status, IndexStatus::Unusable(ref why) if why.contains("CRC"))
    );
    let mut foreign = bytes;
    foreign.extend_from_slice(&tracemark_format::index::encode_packet(
        &index,
        [9; 16],
        ByteOrder::Little,
        sequence,
    ));
    let trace = Trace::from_bytes(foreign).unwrap();
    assert!(
        matches!(trace.stored_indexes()[0].status, IndexStatus::Unusable(ref why) if why.contains("another trace"))
    );
}

/// `bytes` with the index of its packets at its end (§14.3), built by the reader, `change`d
/// before it is encoded.
fn with_index(bytes: &[u8], change: impl FnOnce(&mut tracemark_format::index::PacketIndex)) -> Vec<u8> {
    let trace = Trace::from_bytes(bytes.to_vec()).unwrap();
    let built = trace.build_indexes().pop().unwrap();
    let (Ok(mut index), crate::IndexPlace::Trailing { sequence, .. }) = (built.index, built.place) else {
        panic!("the single file is indexable")
    };
    change(&mut index);
    let packet =
        tracemark_format::index::encode_packet(&index, trace.metadata().uuid(), ByteOrder::Little, sequence);
    let mut indexed = bytes.to_vec();
    indexed.extend_from_slice(&packet);
    indexed
}

fn items_of<'t>(items: impl Iterator<Item = Item<'t>>) -> Vec<String> {
    items
        .map(|item| match item {
            Item::Event(event) => format!("{}@{}", event.stream(), event.timestamp()),
            Item::Diagnostic(diagnostic) => format!("{}@{}", diagnostic.kind.name(), diagnostic.offset),
        })
        .collect()
}

#[test]
fn a_window_read_through_an_index_reads_what_a_walk_reads_without_walking() {
    let plain = windowed_trace(None);
    let bytes = plain.container.files[0].bytes().to_vec();
    let trace = Trace::from_bytes(with_index(&bytes, |_| {})).unwrap();
    assert!(trace.reads_through_index());
    let base = 1_000_000_000i128;
    for from in (-3..190).step_by(11) {
        for to in [from, from + 25, from + 61, 400] {
            let found = items_of(trace.events_between(base + from, base + to));
            assert_eq!(found, items_of(plain.events_between(base + from, base + to)), "{from}..={to}");
        }
    }
    assert_eq!(trace.time_span(), plain.time_span());
    let windows = trace.packet_windows(base + 40, base + 70);
    assert_eq!(windows.windows.iter().map(|window| window.packets.len()).collect::<Vec<_>>(), [2, 2]);
    // None of this walked the file: only whole reads do.
    assert!(trace.walked.get().is_none());
    assert!(trace.reads_through_index());
    assert_eq!(items_of(trace.events()), items_of(plain.events()));
    assert!(trace.walked.get().is_some());
    // The index packet is a metadata packet like the others; a cut leaves it out.
    assert_eq!(trace.metadata_packets().len(), plain.metadata_packets().len() + 1);
}

#[test]
fn an_entry_unlike_its_packet_sets_the_index_aside_when_the_packet_is_read() {
    let plain = windowed_trace(None);
    let bytes = plain.container.files[0].bytes().to_vec();
    // Packet 2 of stream 0/0 (ticks 60-80): the index says it ends a tick later.
    let position = |index: &tracemark_format::index::PacketIndex| {
        index
            .entries
            .iter()
            .position(|entry| !entry.is_metadata() && entry.stream_instance_id == 0 && entry.sequence == 2)
            .unwrap()
    };
    let lying = with_index(&bytes, |index| {
        let at = position(index);
        index.entries[at].timestamp_end += 1;
    });
    let trace = Trace::from_bytes(lying).unwrap();
    let base = 1_000_000_000i128;
    // A window that does not read it does not notice.
    let early = items_of(trace.events_between(base, base + 20));
    assert_eq!(early, items_of(plain.events_between(base, base + 20)));
    assert!(trace.reads_through_index());
    // One that reads it reports the difference first, then reads by walking.
    let offset = trace.stored_indexes().pop().map(|stored| match stored.status {
        crate::IndexStatus::Usable(index) => index.entries[position(&index)].offset,
        other => panic!("{other:?}"),
    });
    let window = items_of(trace.events_between(base + 65, base + 90));
    let mut expected = vec![format!("IndexDisagrees@{}", offset.unwrap())];
    expected.extend(items_of(plain.events_between(base + 65, base + 90)));
    assert_eq!(window, expected);
    assert!(!trace.reads_through_index());
    // From then on every window read walks, and says why.
    let again = items_of(trace.events_between(base, base + 20));
    assert_eq!(again.first(), expected.first());
    assert_eq!(again[1..], early[..]);
    let mut seen = Vec::new();
    let mut dispatcher = crate::Dispatcher::new(&trace);
    dispatcher.between(base, base + 20).on_diagnostic(|diagnostic| seen.push(diagnostic.kind.clone()));
    dispatcher.run();
    assert_eq!(seen, [DiagnosticKind::IndexDisagrees { field: "timestamp_end" }]);
}

#[test]
fn an_index_whose_metadata_entries_lie_is_not_used_at_all() {
    let plain = windowed_trace(None);
    let bytes = plain.container.files[0].bytes().to_vec();
    let lying = with_index(&bytes, |index| index.entries[0].crc32 ^= 1);
    let trace = Trace::from_bytes(lying).unwrap();
    assert!(!trace.reads_through_index());
    let base = 1_000_000_000i128;
    assert_eq!(
        items_of(trace.events_between(base, base + 400)),
        items_of(plain.events_between(base, base + 400))
    );
    // Nor is one that any option says to ignore, nor one of another trace.
    let path = std::env::temp_dir().join(format!("tracemark-ignored-index-{}.tmk", std::process::id()));
    std::fs::write(&path, with_index(&bytes, |_| {})).unwrap();
    let options = crate::OpenOptions { ignore_index: true, ..Default::default() };
    assert!(!Trace::open_with(&path, options).unwrap().reads_through_index());
    assert!(Trace::open(&path).unwrap().reads_through_index());
    std::fs::remove_file(&path).unwrap();
}
