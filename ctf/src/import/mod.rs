//! A CTF trace rewritten as a tracemark trace, as spec Appendix C describes: clocks, stream
//! classes and event classes declared in the metadata stream, then each CTF packet as one
//! tracemark packet (same sequence number, time range and discard counter), each event as a
//! tracemark record with the same timestamp ticks and its values re-encoded.
//!
//! Nothing is dropped silently: what a mapping loses, event classes that cannot be mapped
//! (their events counted), and damaged packets or events (with their file and offset) are in
//! the [`ImportReport`].

mod layout;
mod packets;
mod payload;

pub use self::layout::Loss;

use std::collections::{BTreeMap, HashSet};

use std::sync::mpsc::sync_channel;
use tracemark_format::{Abi, ByteOrder as TmByteOrder, ClockClass, EnvValue, HeaderWord};

use tracemark_writer::{Config, PacketInfo, PacketSink, Registry, TraceDescription};

use self::packets::{ClassMapping, Converter, FileReport};

use crate::model::{ByteOrder, EnvValue as CtfEnvValue, TraceClass};
use crate::plan::Node;
use crate::stream::CtfTrace;

/// One stream file of the trace: a name for reports and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct StreamFile<'a> {
    /// Its name (the file name in the trace directory).
    pub name: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
}

/// What an import did, and everything it could not carry over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Streams written (one per stream file).
    pub streams: usize,
    /// Data packets written.
    pub packets: u64,
    /// Events written.
    pub events: u64,
    /// Events the tracer discarded, by the packets' `events_discarded`.
    pub discarded: u64,
    /// For each loss, the event classes it concerns.
    pub losses: BTreeMap<Loss, Vec<String>>,
    /// Event classes not imported: name, why, and how many of their events were skipped.
    pub unmapped: Vec<UnmappedClass>,
    /// Damaged packets and events: where, and what was not read.
    pub damage: Vec<String>,
}

/// An event class that has no tracemark equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedClass {
    /// Its name.
    pub name: String,
    /// Why it cannot be imported.
    pub reason: String,
    /// Its events met in the streams, not imported.
    pub skipped: u64,
}

/// The import could not write its output.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The metadata or a packet could not be written.
    #[error("writing the tracemark trace: {0}")]
    Writer(#[from] tracemark_writer::Error),
    /// A CTF packet's records do not fit a tracemark packet (4 GiB).
    #[error("{file}: the packet at byte {offset} holds more than a tracemark packet can (4 GiB)")]
    PacketTooLarge {
        /// The stream file.
        file: String,
        /// The CTF packet's offset.
        offset: u64,
    },
}

/// Converted packets a file's thread may have ready before the writer takes them.
const PACKETS_IN_FLIGHT: usize = 2;

/// Imports `trace`, whose stream files are `streams`, into `sink` (a directory, a file, memory).
pub fn import(
    trace: &CtfTrace,
    streams: &[StreamFile<'_>],
    sink: &mut dyn PacketSink,
) -> Result<ImportReport, ImportError> {
    import_with(trace, streams, sink, HeaderWord::Wide)
}

/// [`import`], the records written with header word `word` (§5.1): [`HeaderWord::Narrow`]
/// takes 4 bytes less per event of the first 255 classes (the trace is then version 1.3).
pub fn import_with(
    trace: &CtfTrace,
    streams: &[StreamFile<'_>],
    sink: &mut dyn PacketSink,
    word: HeaderWord,
) -> Result<ImportReport, ImportError> {
    let class = &trace.class;
    let order = match class.byte_order {
        ByteOrder::Little => TmByteOrder::Little,
        ByteOrder::Big => TmByteOrder::Big,
    };
    let bits = match class.env.iter().find(|(key, _)| key == "architecture_bit_width") {
        Some((_, CtfEnvValue::Integer(32))) => 32,
        _ => 64,
    };
    let abi = if bits == 32 { Abi::ilp32(order) } else { Abi::lp64(order) };
    let mut config = Config::default().abi(abi);
    if let Some(uuid) = class.uuid {
        config.uuid = uuid;
    }
    let mut registry = Registry::new(&config, description(class))?;
    let mut report = ImportReport::default();

    // Clocks in declaration order; a trace without one gets a nanosecond clock of its own.
    let mut clock_ids = BTreeMap::new();
    for clock in &class.clocks {
        let offset_ns = clock.offset_ns().unwrap_or(0);
        let id = registry.add_clock(ClockClass {
            id: 0,
            frequency: clock.frequency,
            offset_ns,
            precision: clock.precision,
            name: clock.name.clone(),
            description: clock.description.clone(),
        })?;
        clock_ids.insert(clock.name.clone(), id);
    }
    let mut stream_classes = BTreeMap::new();
    for plan in trace.plans.iter().flatten() {
        let clock_id = match plan.timestamp_clock().and_then(|name| clock_ids.get(name)) {
            Some(id) => *id,
            None => match clock_ids.values().next() {
                Some(id) => *id,
                None => {
                    let id = registry.add_clock(ClockClass {
                        id: 0,
                        frequency: 1_000_000_000,
                        offset_ns: 0,
                        precision: 0,
                        name: "ctf-ticks".into(),
                        description: "the CTF trace declares no clock: ticks as nanoseconds from 0".into(),
                    })?;
                    clock_ids.insert("ctf-ticks".into(), id);
                    id
                }
            },
        };
        let id = registry.add_stream_class(&format!("ctf-stream-{}", plan.id), clock_id)?;
        stream_classes.insert(plan.id, id);
    }

    // Event classes, in declaration order.
    let mut mappings: BTreeMap<usize, ClassMapping<'_>> = BTreeMap::new();
    let mut unmapped: BTreeMap<usize, UnmappedClass> = BTreeMap::new();
    for (index, event) in class.events.iter().enumerate() {
        let planned = trace.stream_plan(event.stream_id).and_then(|plan| match plan {
            Ok(plan) => Some((plan, plan.events.get(event.id)?)),
            Err(_) => None,
        });
        let failure = |reason: String| UnmappedClass { name: event.name.clone(), reason, skipped: 0 };
        let (plan, event_plan) = match planned {
            Some((plan, Ok(event_plan))) => (plan, event_plan),
            Some((_, Err(error))) => {
                unmapped.insert(index, failure(error.to_string()));
                continue;
            }
            None => {
                unmapped.insert(index, failure(format!("stream class {} cannot be read", event.stream_id)));
                continue;
            }
        };
        let scopes = [plan.event_context.as_ref(), event_plan.context.as_ref(), event_plan.fields.as_ref()];
        let contexts: Vec<&Node> = scopes[..2].iter().flatten().copied().collect();
        let mut losses = Vec::new();
        let fields = match layout::map_scopes(&contexts, scopes[2], &mut losses) {
            Ok(fields) => fields,
            Err(reason) => {
                unmapped.insert(index, failure(reason));
                continue;
            }
        };
        let stream_class = stream_classes[&plan.id];
        let log_level = match event.log_level {
            Some(level @ 0..=6) => level as u8,
            Some(7..=14) => 7,
            _ => tracemark_format::metadata::LOG_LEVEL_UNSPECIFIED,
        };
        match registry.register_fields(stream_class, &event.name, log_level, fields) {
            Ok(handle) => {
                losses.sort();
                losses.dedup();
                for loss in losses {
                    report.losses.entry(loss).or_default().push(event.name.clone());
                }
                mappings.insert(index, ClassMapping { id: handle.id(), scopes });
            }
            Err(error) => {
                unmapped.insert(index, failure(error.to_string()));
            }
        }
    }
    for (key, value) in &class.env {
        let value = match value {
            CtfEnvValue::Text(text) => EnvValue::Str(text.clone()),
            CtfEnvValue::Integer(value) => match i64::try_from(*value) {
                Ok(value) => EnvValue::Int(value),
                Err(_) => EnvValue::Str(value.to_string()),
            },
        };
        registry.set_env(key, value)?;
    }
    registry.set_env(
        "ctf_import",
        EnvValue::Str(format!("CTF 1.8 by tracemark-ctf {}", env!("CARGO_PKG_VERSION"))),
    )?;
    registry.flush(sink)?;

    // Data: each stream file is one stream, its packets converted on a thread of its own
    // and written in turn (each stream's packets stay in order, §9.2).
    let mut taken = HashSet::new();
    let mut streams_of_files = Vec::with_capacity(streams.len());
    for (index, file) in streams.iter().enumerate() {
        let first = trace
            .packets(file.bytes)
            .map_while(Result::ok)
            .find(|packet| stream_classes.contains_key(&packet.stream_class));
        streams_of_files.push(first.map(|packet| {
            let class_id = stream_classes[&packet.stream_class];
            let wanted =
                packet.cpu.or(packet.stream_instance_id).and_then(|id| u32::try_from(id).ok()).unwrap_or(index as u32);
            let mut instance = wanted;
            while !taken.insert((class_id, instance)) {
                instance = instance.wrapping_add(1);
            }
            if instance != wanted {
                report.damage.push(format!(
                    "{}: stream ({class_id}, {wanted}) is another file's; written as stream instance {instance}",
                    file.name
                ));
            }
            (class_id, instance)
        }));
    }
    let converter = Converter {
        trace,
        mappings: &mappings,
        stream_classes: &stream_classes,
        order,
        uuid: config.uuid,
        word,
    };
    let files = std::thread::scope(|scope| -> Result<Vec<FileReport>, ImportError> {
        let mut receivers = Vec::new();
        let mut handles = Vec::new();
        for (file, stream) in streams.iter().zip(&streams_of_files) {
            let (send, receive) = sync_channel::<(Vec<u8>, PacketInfo)>(PACKETS_IN_FLIGHT);
            let converter = &converter;
            receivers.push(receive);
            handles.push(scope.spawn(move || match stream {
                Some(stream) => converter.file(file, *stream, |bytes, info| send.send((bytes, info)).is_ok()),
                // No readable packet: the file's walk says why.
                None => converter.file(file, (0, 0), |_, _| false),
            }));
        }
        let mut written: Result<(), ImportError> = Ok(());
        while !receivers.is_empty() && written.is_ok() {
            receivers.retain(|receiver| match receiver.recv() {
                Ok((bytes, info)) => {
                    if written.is_ok() {
                        written = sink.write_packet(&bytes, &info).map_err(ImportError::from);
                    }
                    true
                }
                Err(_) => false,
            });
        }
        // Hanging up stops the workers should the sink have failed.
        drop(receivers);
        let reports = handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect::<Result<Vec<_>, _>>()?;
        written.map(|()| reports)
    })?;
    for (file, stream) in files.into_iter().zip(&streams_of_files) {
        report.streams += usize::from(stream.is_some() && file.packets > 0);
        report.packets += file.packets;
        report.events += file.events;
        report.discarded += file.discarded;
        report.damage.extend(file.damage);
        for (class, skipped) in file.skipped {
            if let Some(unmapped) = unmapped.get_mut(&class) {
                unmapped.skipped += skipped;
            }
        }
    }
    sink.finish()?;
    report.unmapped = unmapped.into_values().collect();
    Ok(report)
}

/// The TRACE record's text fields from LTTng's `env` block.
fn description(class: &TraceClass) -> TraceDescription {
    let text =
        |key: &str| class.env_text(key).filter(|text| !text.is_empty()).unwrap_or("unknown").to_owned();
    let integer = |key: &str| {
        class.env.iter().find_map(|(name, value)| match value {
            CtfEnvValue::Integer(value) if name == key => Some(*value),
            _ => None,
        })
    };
    let mut version = match (integer("tracer_major"), integer("tracer_minor")) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => "unknown".to_owned(),
    };
    if let Some(patch) = integer("tracer_patchlevel") {
        version.push_str(&format!(".{patch}"));
    }
    // LTTng's user space traces name no OS: their `domain` (`ust`) stays in the ENV records.
    let os_name = text("sysname");
    TraceDescription {
        os_name,
        os_release: text("kernel_release"),
        architecture: text("architecture"),
        hostname: text("hostname"),
        tracer_name: text("tracer_name"),
        tracer_version: version,
    }
}
