//! Writes a [`Scenario`] with the Rust reference writer.

use std::path::Path;

use tracemark_format::ClockClass;
use tracemark_writer::{
    Config, DirectorySink, Error, LocalTrace, PacketSink, RawHandle, StreamWriter, TraceDescription,
};

use crate::{encode, Scenario};

/// The clock scenarios are written with: 1 GHz, epoch offset 1.7e18 ns.
pub fn scenario_clock() -> ClockClass {
    ClockClass {
        id: 0,
        frequency: 1_000_000_000,
        offset_ns: 1_700_000_000_000_000_000,
        precision: 1,
        name: "scenario".into(),
        description: "conformance scenario clock".into(),
    }
}

/// What can go wrong writing a scenario.
#[derive(Debug)]
pub enum WriteError {
    /// The writer refused something.
    Writer(Error),
    /// A value does not fit its field's type.
    Value(encode::Mismatch),
}

impl From<Error> for WriteError {
    fn from(error: Error) -> WriteError {
        WriteError::Writer(error)
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Writer(error) => write!(f, "writer: {error}"),
            WriteError::Value(mismatch) => write!(f, "scenario: {}", mismatch.0),
        }
    }
}

impl std::error::Error for WriteError {}

/// Writes the scenario into `sink`, returning the sink.
pub fn write_into<S: PacketSink>(scenario: &Scenario, sink: S) -> Result<S, WriteError> {
    let config = Config::with_uuid(scenario.uuid)
        .abi(scenario.abi)
        .crc(scenario.crc)
        .packet_size(scenario.packet_size)
        .header_word(scenario.header_word);
    let description = TraceDescription::unknown();
    let mut trace = LocalTrace::with_clock_class(&config, description, scenario_clock(), sink)?;
    let stream_class = trace.stream_class_id();
    trace.registry().set_next_event_id(scenario.first_event_id)?;
    let handles: Vec<RawHandle> = scenario
        .classes
        .iter()
        .map(|class| trace.registry().register_fields(stream_class, &class.name, 255, class.fields.clone()))
        .collect::<Result<_, _>>()?;
    let clock = tracemark_writer::ManualClock::new(0);
    let mut streams = Vec::new();
    for cpu in scenario.cpus() {
        let memory = vec![0u8; scenario.packet_size as usize];
        streams.push((cpu, StreamWriter::new(trace.stream_params(cpu)?, memory, &clock)?));
    }
    for event in &scenario.events {
        let class = &scenario.classes[event.class];
        let len =
            encode::fields_size(&class.fields, &event.values, &scenario.abi).map_err(WriteError::Value)?;
        let stream =
            &mut streams.iter_mut().find(|(cpu, _)| *cpu == event.cpu).expect("cpus() lists every cpu").1;
        let slot = stream.reserve(&mut trace, handles[event.class], event.timestamp, len)?;
        encode::write_fields(&class.fields, &event.values, &mut stream.payload(&slot));
        stream.commit(slot);
    }
    for (_, stream) in &mut streams {
        trace.flush_stream(stream)?;
    }
    Ok(trace.finish()?)
}

/// Writes the scenario in the single-file form (§9.2), in memory.
pub fn single_file(scenario: &Scenario) -> Result<Vec<u8>, WriteError> {
    write_into(scenario, Vec::new())
}

/// Writes the scenario as a single file (§9.2) at `path`, its packet index last (§14.3).
pub fn file(scenario: &Scenario, path: &Path) -> Result<(), WriteError> {
    write_into(scenario, tracemark_writer::FileSink::create(path)?)?;
    Ok(())
}

/// Writes the scenario as a trace directory (§9.1) at `path`, with the stream files' packet
/// indexes (§14.3).
pub fn directory(scenario: &Scenario, path: &Path) -> Result<(), WriteError> {
    let sink = DirectorySink::create(path)?;
    let mut sink = write_into(scenario, sink)?;
    sink.flush().map_err(WriteError::Writer)
}
