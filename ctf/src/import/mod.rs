//! A CTF trace rewritten as a tracemark trace, as spec Appendix C describes: clocks, stream
//! classes and event classes declared in the metadata stream, then each CTF packet as one
//! tracemark packet (same sequence number, time range and discard counter), each event as a
//! tracemark record with the same timestamp ticks and its values re-encoded.
//!
//! Nothing is dropped silently: what a mapping loses, event classes that cannot be mapped
//! (their events counted), and damaged packets or events (with their file and offset) are in
//! the [`ImportReport`].

mod layout;
mod payload;

pub use self::layout::Loss;

use std::collections::{BTreeMap, HashSet};

use tracemark_format::{
    crc::packet_crc, packet::CRC_FIELD, Abi, ByteOrder as TmByteOrder, ClockClass, EnvValue, EventHeader,
    PacketFlags, PacketHeader, EXTENDED_HEADER_LEN, PACKET_HEADER_LEN,
};
use tracemark_writer::{Config, PacketInfo, PacketKind, PacketSink, Registry, TraceDescription};

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

/// How one CTF event class is written.
struct ClassMapping<'p> {
    id: u32,
    scopes: [Option<&'p Node>; 3],
}

/// Imports `trace`, whose stream files are `streams`, into `sink` (a directory, a file, memory).
pub fn import(
    trace: &CtfTrace,
    streams: &[StreamFile<'_>],
    sink: &mut dyn PacketSink,
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
        let present: Vec<&Node> = scopes.iter().flatten().copied().collect();
        let mut losses = Vec::new();
        let fields = match layout::map_scopes(&present, &mut losses) {
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

    // Data: each stream file is one stream; each CTF packet one tracemark packet.
    let mut taken = HashSet::new();
    let mut records = Vec::new();
    let mut packet_bytes = Vec::new();
    for (file_index, file) in streams.iter().enumerate() {
        let mut stream: Option<(u32, u32)> = None;
        let mut next_sequence = 0u64;
        let mut previous_discarded = 0u64;
        let mut last_end = 0u64;
        for packet in trace.packets(file.bytes) {
            let packet = match packet {
                Ok(packet) => packet,
                Err(error) => {
                    report.damage.push(format!("{}: {error}; the rest of the file is not read", file.name));
                    break;
                }
            };
            let Some(&class_id) = stream_classes.get(&packet.stream_class) else {
                report.damage.push(format!(
                    "{}: byte {}: stream class {} cannot be read",
                    file.name, packet.offset, packet.stream_class
                ));
                continue;
            };
            let (class_id, instance) = *stream.get_or_insert_with(|| {
                let wanted = packet
                    .cpu
                    .or(packet.stream_instance_id)
                    .and_then(|id| u32::try_from(id).ok())
                    .unwrap_or(file_index as u32);
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
            });
            if packet.truncated {
                report.damage.push(format!(
                    "{}: byte {}: the packet is cut short by the end of the file; its events up to there are imported",
                    file.name, packet.offset
                ));
            }

            records.clear();
            let begin = packet.begin.unwrap_or(last_end);
            let mut previous = begin;
            let (mut first, mut last) = (None, begin);
            let mut events = trace.events(file.bytes, &packet);
            while let Some(event) = events.next() {
                let event = match event {
                    Ok(event) => event,
                    Err(error) => {
                        report.damage.push(format!(
                            "{}: packet at byte {}: {error}; the rest of the packet is not read",
                            file.name, packet.offset
                        ));
                        break;
                    }
                };
                let Some(mapping) = mappings.get(&event.plan.class) else {
                    if let Some(unmapped) = unmapped.get_mut(&event.plan.class) {
                        unmapped.skipped += 1;
                    }
                    continue;
                };
                let mut header = [0u8; EXTENDED_HEADER_LEN];
                // The buffer holds the longer form: the encoding cannot fail.
                let len = EventHeader::encode(mapping.id, event.timestamp, previous, order, &mut header)
                    .unwrap_or(0);
                let start = records.len();
                records.extend_from_slice(&header[..len]);
                let values = [event.stream_context, event.context, event.fields];
                let scopes: Vec<(&Node, &[crate::decode::Datum<'_>])> = mapping
                    .scopes
                    .iter()
                    .zip(values)
                    .filter_map(|(scope, values)| Some(((*scope)?, values)))
                    .collect();
                if payload::encode(&scopes, order, &mut records).is_none() {
                    records.truncate(start);
                    report.damage.push(format!(
                        "{}: event at bit {}: its values do not re-encode (a sequence longer than 2^32 - 1?)",
                        file.name, event.position
                    ));
                    continue;
                }
                previous = event.timestamp;
                first.get_or_insert(event.timestamp);
                last = event.timestamp;
                report.events += 1;
            }
            let begin = first.map_or(begin, |first| begin.min(first));
            let end = packet.end.unwrap_or(last).max(last);
            last_end = end;
            let discarded = packet.discarded.unwrap_or(previous_discarded);
            report.discarded += discarded.saturating_sub(previous_discarded);
            previous_discarded = discarded;
            let sequence = packet.sequence.unwrap_or(next_sequence);
            next_sequence = sequence + 1;

            let content = PACKET_HEADER_LEN + records.len();
            let size = (content + 7) & !7;
            let (Ok(content_size), Ok(packet_size)) = (u32::try_from(content), u32::try_from(size)) else {
                return Err(ImportError::PacketTooLarge {
                    file: file.name.to_owned(),
                    offset: packet.offset,
                });
            };
            let header = PacketHeader {
                flags: PacketFlags(PacketFlags::HAS_CRC),
                sequence,
                timestamp_begin: begin,
                timestamp_end: end,
                content_size,
                packet_size,
                events_discarded: discarded,
                ..PacketHeader::new_data(config.uuid, class_id, instance)
            };
            packet_bytes.clear();
            packet_bytes.resize(size, 0);
            let mut header_bytes = [0u8; PACKET_HEADER_LEN];
            header.encode(order, &mut header_bytes);
            packet_bytes[..PACKET_HEADER_LEN].copy_from_slice(&header_bytes);
            packet_bytes[PACKET_HEADER_LEN..content].copy_from_slice(&records);
            let crc = packet_crc(&packet_bytes, content).unwrap_or(0);
            packet_bytes[CRC_FIELD].copy_from_slice(&order.u32_bytes(crc));
            let info = PacketInfo {
                kind: PacketKind::Data,
                stream_class_id: class_id,
                stream_instance_id: instance,
                sequence,
            };
            sink.write_packet(&packet_bytes, &info)?;
            report.packets += 1;
        }
        if stream.is_some() {
            report.streams += 1;
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
