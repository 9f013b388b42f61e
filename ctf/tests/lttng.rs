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
