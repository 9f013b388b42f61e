//! Every payload type, written by the Rust writer and read back field by field, in both byte
//! orders and with a 32-bit ABI; compact and extended event headers; packet rollover.

use tracemark_conformance::{
    compare,
    harness::{compound_values, every_type_classes, scalar_values},
    rust_writer, ClassSpec, EventSpec, Scenario, Val,
};
use tracemark_format::{Abi, AbiInt, ByteOrder, Field, IntType, TypeDesc};
use tracemark_reader::Trace;

const ABIS: [Abi; 4] = [
    Abi::lp64(ByteOrder::Little),
    Abi::lp64(ByteOrder::Big),
    Abi::ilp32(ByteOrder::Little),
    Abi::ilp32(ByteOrder::Big),
];

fn scenario(abi: Abi) -> Scenario {
    let mut events = Vec::new();
    let mut timestamp = 1_000u64;
    for step in 0..200u64 {
        let cpu = (step % 3) as u32;
        timestamp += 1 + step * 13;
        let (class, values) = match step % 4 {
            0 => (0, scalar_values(step.is_multiple_of(8))),
            1 | 2 => (1, compound_values(step)),
            _ => (2, vec![]),
        };
        events.push(EventSpec { class, cpu, timestamp, values });
    }
    // A quiet CPU: gaps of 2^48 - 1 and 2^48 ticks, around the compact form's limit (§5.4); the
    // writer compares against a lower bound of `prev`, so it may pick the extended form for both.
    let quiet = timestamp + 10;
    events.push(EventSpec { class: 2, cpu: 7, timestamp: quiet, values: vec![] });
    events.push(EventSpec { class: 2, cpu: 7, timestamp: quiet + (1 << 48) - 1, values: vec![] });
    events.push(EventSpec { class: 2, cpu: 7, timestamp: quiet + (1 << 48) - 1 + (1 << 48), values: vec![] });
    // Small packets force many packet switches.
    Scenario { abi, packet_size: 1024, classes: every_type_classes(), events, ..Scenario::default() }
}

fn assert_round_trip(scenario: &Scenario) {
    let bytes = rust_writer::single_file(scenario).expect("writer accepts the scenario");
    let trace = Trace::from_bytes(bytes).expect("reader opens the trace");
    if let Err(problems) = compare::check(scenario, &trace) {
        panic!("{} problems, first ones:\n{}", problems.len(), problems[..problems.len().min(20)].join("\n"));
    }
}

#[test]
fn every_type_round_trips_in_both_byte_orders_and_both_abis() {
    for abi in ABIS {
        assert_round_trip(&scenario(abi));
    }
}

#[test]
fn extended_event_ids_round_trip() {
    for abi in ABIS {
        let mut extended = scenario(abi);
        extended.first_event_id = 0xFFFE; // "scalars" compact, the others extended (§5.4)
        assert_round_trip(&extended);
    }
}

#[test]
fn crc_off_and_large_packets_round_trip() {
    let mut plain = scenario(Abi::HOST);
    plain.crc = false;
    plain.packet_size = 1 << 20;
    assert_round_trip(&plain);
}

#[test]
fn abi_sized_fields_take_the_writers_sizes() {
    let record_len = |abi: Abi| {
        let scenario = Scenario {
            abi,
            classes: vec![ClassSpec::new(
                "l",
                vec![Field::new("v", TypeDesc::Int(IntType::Abi(AbiInt::Long)))],
            )],
            events: vec![EventSpec { class: 0, cpu: 0, timestamp: 5, values: vec![Val::I(-2)] }],
            ..Scenario::default()
        };
        let trace = Trace::from_bytes(rust_writer::single_file(&scenario).unwrap()).unwrap();
        let event = trace.events().find_map(|item| item.event()).unwrap();
        assert_eq!(event.field("v").and_then(|value| value.as_i64()), Some(-2));
        event.record_bytes().len()
    };
    assert_eq!(record_len(Abi::lp64(ByteOrder::Big)), 8 + 8);
    assert_eq!(record_len(Abi::ilp32(ByteOrder::Big)), 8 + 4);
}

#[test]
fn the_comparison_catches_a_changed_value_timestamp_or_count() {
    let written = scenario(Abi::ilp32(ByteOrder::Big));
    let trace = Trace::from_bytes(rust_writer::single_file(&written).unwrap()).unwrap();
    let mut value = written.clone();
    value.events[5].values[3] = Val::List(vec![]);
    let mut truncated = written.clone();
    // Truncation: the 32-bit long holds only the low half, so a different high half must match too.
    truncated.events[0].values[15] = Val::I(-0x1_2345_6789 + (7 << 32));
    let mut timestamp = written.clone();
    timestamp.events[9].timestamp += 1;
    let mut count = written.clone();
    count.events.pop();
    assert!(compare::check(&value, &trace).is_err());
    assert!(compare::check(&timestamp, &trace).is_err());
    assert!(compare::check(&count, &trace).is_err());
    assert!(compare::check(&truncated, &trace).is_ok());
}
