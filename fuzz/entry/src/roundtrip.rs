//! `roundtrip`: arbitrary event classes and values, any ABI and byte order, through the Rust
//! stream writer and through the ring writer, and back through the reader, equal to the input
//! ([`compare::check`]).

use arbitrary::{Result, Unstructured};
use tracemark_conformance::{compare, encode, ring_writer, rust_writer, ClassSpec, EventSpec, Scenario};
use tracemark_format::{HeaderWord, EXTENDED_HEADER_LEN};
use tracemark_reader::Trace;

use crate::gen;

/// Data packet sizes: any multiple of 8 from the smallest a writer accepts (room for one
/// extended header, 104 bytes) to 64 KiB.
const PACKET_SIZES: [u32; 6] = [104, 128, 256, 1000, 4096, 65536];
const FIRST_IDS: [u32; 7] = [0, 0xFE, 0xFF, 0xFFFE, 0xFFFF, 0x1_0000, 0xFFFF_FFF0];

fn scenario(u: &mut Unstructured<'_>) -> Result<Scenario> {
    let abi = gen::abi(u)?;
    let packet_size = *u.choose(&PACKET_SIZES)?;
    let mut classes = Vec::new();
    for _ in 0..u.int_in_range(1..=4u8)? {
        classes.push(ClassSpec::new(gen::any_name(u)?, gen::fields(u, 0, gen::MAX_LEAVES, 5)?));
    }
    let cpus = u.int_in_range(1..=4u32)?;
    let mut last = vec![0u64; cpus as usize];
    let mut events = Vec::new();
    // An event must fit an empty packet, or the writer drops it (§10.1).
    let capacity = packet_size as usize - tracemark_format::PACKET_HEADER_LEN - EXTENDED_HEADER_LEN;
    u.arbitrary_loop(Some(0), Some(64), |u| {
        let class = u.choose_index(classes.len())?;
        let cpu = u.int_in_range(0..=cpus - 1)?;
        let timestamp = last[cpu as usize].saturating_add(gen::timestamp_step(u)?);
        let mut budget = gen::VALUE_BUDGET;
        let fields = &classes[class].fields;
        let values: Vec<_> =
            fields.iter().map(|field| gen::value(u, &field.ty, &mut budget)).collect::<Result<_>>()?;
        let size: usize = fields
            .iter()
            .zip(&values)
            .map(|(field, value)| encode::size(&field.ty, value, &abi).unwrap_or(usize::MAX))
            .fold(0, usize::saturating_add);
        if size <= capacity {
            last[cpu as usize] = timestamp;
            events.push(EventSpec { class, cpu, timestamp, values });
        }
        Ok(std::ops::ControlFlow::Continue(()))
    })?;
    Ok(Scenario {
        abi,
        packet_size,
        crc: u.arbitrary()?,
        uuid: u.arbitrary()?,
        first_event_id: *u.choose(&FIRST_IDS)?,
        header_word: if u.arbitrary()? { HeaderWord::Narrow } else { HeaderWord::Wide },
        classes,
        events,
    })
}

/// The `roundtrip` target (see the module documentation).
pub fn roundtrip(data: &[u8]) {
    let Ok(scenario) = scenario(&mut Unstructured::new(data)) else { return };
    let bytes = rust_writer::single_file(&scenario)
        .unwrap_or_else(|error| panic!("the writer refuses a valid scenario: {error}\n{scenario:#?}"));
    let trace =
        Trace::from_bytes(bytes).unwrap_or_else(|error| panic!("the reader refuses the trace: {error}"));
    if let Err(problems) = compare::check(&scenario, &trace) {
        panic!(
            "{} differences, first: {:#?}\n{scenario:#?}",
            problems.len(),
            &problems[..problems.len().min(8)]
        );
    }
    // The same scenario through the lock-free ring writer (typed emit path, consumer thread).
    let bytes = ring_writer::single_file(&scenario)
        .unwrap_or_else(|error| panic!("the ring writer refuses a valid scenario: {error}\n{scenario:#?}"));
    let trace = Trace::from_bytes(bytes)
        .unwrap_or_else(|error| panic!("the reader refuses the ring's trace: {error}"));
    if let Err(problems) = compare::check(&scenario, &trace) {
        panic!(
            "ring writer: {} differences, first: {:#?}\n{scenario:#?}",
            problems.len(),
            &problems[..problems.len().min(8)]
        );
    }
}
