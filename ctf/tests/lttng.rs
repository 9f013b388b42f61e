//! Decoding traces LTTng-UST 2.13 recorded, against babeltrace2's text output of the same
//! traces (`tests/data/*.babeltrace2.txt`).

use std::fmt::Write;
use std::path::{Path, PathBuf};

use tracemark_ctf::decode::{datum_count, Datum};
use tracemark_ctf::model::{display_name, Base};
use tracemark_ctf::plan::Node;
use tracemark_ctf::CtfTrace;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// A value as babeltrace2's text sink prints it.
fn value(node: &Node, values: &[Datum<'_>], out: &mut String) {
    match (node, values.first()) {
        (Node::Struct { fields, .. }, _) => {
            let mut at = 0;
            out.push_str("{ ");
            for (index, field) in fields.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{} = ", display_name(&field.name));
                value(&field.node, &values[at..], out);
                at += datum_count(&field.node, &values[at..]);
            }
            out.push_str(" }");
        }
        (Node::Integer { ty, .. }, Some(Datum::Unsigned(value))) if ty.base == Base::Hexadecimal => {
            let _ = write!(out, "0x{value:X}");
        }
        (Node::Integer { .. }, Some(Datum::Unsigned(value))) => {
            let _ = write!(out, "{value}");
        }
        (Node::Integer { .. }, Some(Datum::Signed(value))) => {
            let _ = write!(out, "{value}");
        }
        (_, Some(Datum::Text(text))) => {
            let _ = write!(out, "\"{}\"", String::from_utf8_lossy(text));
        }
        (node, values) => panic!("not printed by this test: {node:?} {values:?}"),
    }
}

/// Every event of the trace in `dir`, as babeltrace2 `--clock-seconds --no-delta` prints it,
/// with the discarded-event counts the packets report.
fn events_of(dir: &Path) -> (Vec<String>, u64) {
    let trace = CtfTrace::from_metadata(&std::fs::read(dir.join("metadata")).unwrap()).unwrap();
    let clock = &trace.class.clocks[0];
    let offset_ns = i128::from(clock.offset_ns().unwrap());
    let host = trace.class.env_text("hostname").unwrap().to_owned();
    let plan = trace.stream_plan(0).unwrap().as_ref().unwrap();
    let context = plan.packet_context.as_ref().unwrap();
    let mut lines = Vec::new();
    let mut discarded = 0;
    for stream in ["ch_0", "ch_1"] {
        let bytes = std::fs::read(dir.join(stream)).unwrap();
        let mut previous_discarded = 0;
        for packet in trace.packets(&bytes) {
            let packet = packet.unwrap();
            assert!(!packet.truncated);
            let cpu = packet.cpu.unwrap();
            assert!(
                matches!(context, Node::Struct { fields, .. } if fields.last().unwrap().name == "cpu_id")
            );
            discarded += packet.discarded.unwrap() - previous_discarded;
            previous_discarded = packet.discarded.unwrap();
            let mut events = trace.events(&bytes, &packet);
            let mut last = packet.begin.unwrap();
            while let Some(event) = events.next() {
                let event = event.unwrap();
                assert!(event.timestamp >= last, "timestamps go forward in a packet");
                last = event.timestamp;
                assert!(event.timestamp <= packet.end.unwrap());
                let class = &trace.class.events[event.plan.class];
                let ns =
                    offset_ns + i128::from(event.timestamp) * 1_000_000_000 / i128::from(clock.frequency);
                let mut line = format!(
                    "[{}.{:09}] {host} {}: {{ cpu_id = {cpu} }}, ",
                    ns / 1_000_000_000,
                    ns % 1_000_000_000,
                    class.name
                );
                assert!(event.stream_context.is_empty() && event.context.is_empty());
                value(event.plan.fields.as_ref().unwrap(), event.fields, &mut line);
                lines.push(line);
            }
        }
    }
    lines.sort();
    (lines, discarded)
}

/// The trace in `dir` and its two stream files' bytes.
fn load(dir: &Path) -> (CtfTrace, Vec<Vec<u8>>) {
    let trace = CtfTrace::from_metadata(&std::fs::read(dir.join("metadata")).unwrap()).unwrap();
    let files = ["ch_0", "ch_1"].iter().map(|name| std::fs::read(dir.join(name)).unwrap()).collect();
    (trace, files)
}

fn babeltrace2_lines(name: &str) -> Vec<String> {
    let mut lines: Vec<String> =
        std::fs::read_to_string(data(name)).unwrap().lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn small_trace_decodes_as_babeltrace2_reads_it() {
    let (lines, discarded) = events_of(&data("lttng-ust-small"));
    let expected = babeltrace2_lines("lttng-ust-small.babeltrace2.txt");
    assert_eq!(lines.len(), 300);
    assert_eq!(lines, expected);
    assert_eq!(discarded, 0);
}

#[test]
fn discarded_events_are_counted_as_babeltrace2_counts_them() {
    let (lines, discarded) = events_of(&data("lttng-ust-discarded"));
    let expected = babeltrace2_lines("lttng-ust-discarded.babeltrace2.txt");
    assert_eq!(lines.len(), 2765);
    assert_eq!(lines, expected);
    // babeltrace2's ten "Tracer discarded N events" warnings add up to 17,235; with the
    // 2,765 kept, the program's 20,000.
    assert_eq!(discarded, 17_235);
}

#[test]
fn merged_streams_come_in_time_order_like_babeltrace2() {
    for (dir, expected) in [("lttng-ust-small", 300), ("lttng-ust-discarded", 2765)] {
        let dir = data(dir);
        let (trace, files) = load(&dir);
        let slices: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let mut merged = tracemark_ctf::merge::Merged::new(&trace, &slices);
        let mut times = Vec::new();
        while merged.advance() {
            let (_, event) = merged.current().unwrap();
            times.push(trace.time_of(event.plan.class, event.timestamp));
        }
        assert!(merged.errors.is_empty(), "{:?}", merged.errors);
        assert_eq!(times.len(), expected);
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "not in time order");
        // babeltrace2's lines are in time order too: the same times, in the same order.
        let text = std::fs::read_to_string(data(&format!(
            "{}.babeltrace2.txt",
            dir.file_name().unwrap().to_str().unwrap()
        )))
        .unwrap();
        let bt2: Vec<i128> = text
            .lines()
            .map(|line| {
                let stamp = &line[1..line.find(']').unwrap()];
                let (seconds, nanos) = stamp.split_once('.').unwrap();
                seconds.parse::<i128>().unwrap() * 1_000_000_000 + nanos.parse::<i128>().unwrap()
            })
            .collect();
        assert_eq!(times, bt2);
    }
}

#[test]
fn parallel_decoding_delivers_what_the_merge_delivers() {
    use tracemark_ctf::parallel::for_each_event_in_batches;
    for dir in ["lttng-ust-small", "lttng-ust-discarded"] {
        let dir = data(dir);
        let (trace, files) = load(&dir);
        let slices: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let mut merged = tracemark_ctf::merge::Merged::new(&trace, &slices);
        let mut expected = Vec::new();
        while merged.advance() {
            let (file, event) = merged.current().unwrap();
            expected.push((file, event.position, event.timestamp, format!("{:?}", event.fields)));
        }
        for batch in [1, 7, 100, 4096] {
            let mut got = Vec::new();
            let errors = for_each_event_in_batches(&trace, &slices, batch, |file, event| {
                got.push((file, event.position, event.timestamp, format!("{:?}", event.fields)));
            });
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(got, expected, "batches of {batch}");
        }
    }
}
