//! `writer_diff`: one arbitrary script of event classes, markers, events and flushes, with
//! the same clock values and configuration, through the Rust writer and the C probe writer.
//!
//! - Both must take or drop the same events (an event too large for a packet is dropped and
//!   counted, §10.1).
//! - Their data packets must be byte-identical, stream by stream.
//! - Their metadata must hold the same records, byte for byte, in packets holding the same
//!   records. Metadata packets differ in their padding only: the C writer reseals one
//!   fixed-size packet in place as records are appended (so a consumer may copy the stream at
//!   any time), the Rust writer delivers each packet sized to its content (both allowed by
//!   §4.2); `packet_size` and the CRC, which covers it, are left out of that comparison.
//! - Both traces must decode to the script's events, with no diagnostic but the discards.
//!
//! Both writers write the host's ABI (the C core has no other, §2.1).

use std::collections::BTreeMap;

use arbitrary::{Result, Unstructured};
use tracemark_conformance::{encode, Val};
use tracemark_format::{
    crc::packet_crc, marker, Abi, ClockClass, EnvValue, EventClass, Field, IntType, Layout, PacketHeader,
    Record, TypeDesc, PACKET_HEADER_LEN,
};
use tracemark_probe::{self as probe, Outcome};
use tracemark_reader::{StreamId, Trace};
use tracemark_writer::{
    Config, Error, LocalTrace, ManualClock, MarkerArg, PacketInfo, PacketKind, PacketSink, RawHandle,
    StreamWriter, TraceDescription,
};

use crate::{
    decoders::canonical_conversion,
    expect::{self, Expected},
    gen,
};

/// Data packet sizes: powers of two (sub-buffers of the C ring), small ones to switch often.
const PACKET_SIZES: [u32; 4] = [256, 512, 1024, 4096];
/// Metadata packet sizes, grown when a record needs more.
const METADATA_PACKET_SIZES: [u32; 3] = [256, 512, 4096];
/// First event class IDs: from 0, around the compact header's limit (§5.4), near `u32::MAX`.
const FIRST_IDS: [u32; 7] = [0, 1, 0xFFFD, 0xFFFE, 0xFFFF, 0x1_0000, 0xFFFF_FFF0];

/// One marker argument, as the script holds it.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Int(i64),
    UInt(u64),
    Char(u8),
    Pointer(u64),
    Float(f64),
    Str(String),
}

impl Arg {
    fn rust(&self) -> MarkerArg<'_> {
        match self {
            Arg::Int(value) => MarkerArg::Int(*value),
            Arg::UInt(value) => MarkerArg::UInt(*value),
            Arg::Char(value) => MarkerArg::Char(*value),
            Arg::Pointer(value) => MarkerArg::Pointer(*value),
            Arg::Float(value) => MarkerArg::Float(*value),
            Arg::Str(text) => MarkerArg::Str(text),
        }
    }

    fn c(&self) -> probe::MarkerArg {
        match self {
            Arg::Int(value) => probe::MarkerArg::Int(*value),
            Arg::UInt(value) => probe::MarkerArg::UInt(*value),
            Arg::Char(value) => probe::MarkerArg::UInt(u64::from(*value)),
            Arg::Pointer(value) => probe::MarkerArg::Pointer(*value as usize),
            Arg::Float(value) => probe::MarkerArg::F64(*value),
            Arg::Str(text) => probe::MarkerArg::Str(text.as_bytes().to_vec()),
        }
    }

    /// What a reader decodes.
    fn val(&self) -> Val {
        match self {
            Arg::Int(value) => Val::I(*value),
            Arg::UInt(value) | Arg::Pointer(value) => Val::U(*value),
            Arg::Char(value) => Val::U(u64::from(*value)),
            Arg::Float(value) => Val::F64(*value),
            Arg::Str(text) => Val::Str(text.as_bytes().to_vec()),
        }
    }
}

#[derive(Debug, Clone)]
enum ClassKind {
    Fields,
    Marker(String),
}

#[derive(Debug, Clone)]
struct Class {
    name: String,
    log_level: u8,
    kind: ClassKind,
    /// The declared fields, or those the marker's format declares.
    fields: Vec<Field>,
}

impl Class {
    fn layout(&self) -> Layout {
        match &self.kind {
            ClassKind::Fields => Layout::Fields(self.fields.clone()),
            ClassKind::Marker(format) => Layout::Marker(format.clone()),
        }
    }
}

#[derive(Debug, Clone)]
enum Payload {
    Values(Vec<Val>),
    Args(Vec<Arg>),
}

#[derive(Debug, Clone)]
enum Op {
    Emit { cpu: u32, timestamp: u64, class: usize, payload: Payload },
    Flush { cpu: Option<u32>, timestamp: u64 },
}

/// Everything both writers are given.
#[derive(Debug, Clone)]
struct Script {
    packet_size: u32,
    metadata_packet_size: u32,
    crc: bool,
    uuid: [u8; 16],
    cpus: u32,
    first_event_id: u32,
    env: Vec<(String, EnvValue)>,
    classes: Vec<Class>,
    ops: Vec<Op>,
    /// Timestamp of the final flush.
    end: u64,
}

fn trace_strings() -> probe::TraceStrings {
    probe::TraceStrings::default()
}

fn clock_class() -> ClockClass {
    probe::Config::default().clock
}

fn host_order_encoded_len(record: &Record) -> usize {
    let mut bytes = Vec::new();
    record.encode_checked(Abi::HOST.byte_order, &mut bytes).map_or(usize::MAX, |()| bytes.len())
}

/// Makes the enumeration labels in `ty` C strings: the C writer takes every name as a
/// NUL-terminated string, so a NUL, valid UTF-8 that §7.2 allows, cannot reach it.
fn c_strings(ty: &mut TypeDesc) {
    match ty {
        TypeDesc::Enum { mappings, .. } => {
            mappings.iter_mut().for_each(|mapping| mapping.label = mapping.label.replace('\0', "_"))
        }
        TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => c_strings(element),
        TypeDesc::Struct(fields) => fields.iter_mut().for_each(|field| c_strings(&mut field.ty)),
        _ => {}
    }
}

/// A marker class: `0..=4` pairs with any conversion, separated by spaces and tabs.
fn marker_class(u: &mut Unstructured<'_>) -> Result<(String, Vec<Field>)> {
    let conversions: Vec<String> = ["", "hh", "h", "l", "ll", "z", "j", "t"]
        .iter()
        .flat_map(|length| {
            ["d", "i", "u", "x", "X", "o", "c", "s", "p", "f", "e", "g"].map(|s| format!("{length}{s}"))
        })
        .filter(|conv| marker::conversion(conv).is_some())
        .collect();
    let mut format = String::new();
    let mut names: Vec<String> = Vec::new();
    let space =
        |u: &mut Unstructured<'_>| -> Result<&'static str> { Ok(*u.choose(&[" ", "\t", "  ", " \t"])?) };
    if u.arbitrary()? {
        format.push_str(space(u)?);
    }
    for index in 0..u.int_in_range(0..=4u8)? {
        if index > 0 {
            format.push_str(space(u)?);
        }
        let name = gen::identifier(u, &names)?;
        format.push_str(&format!("{name}{}%{}", space(u)?, u.choose(&conversions)?));
        names.push(name);
    }
    if u.arbitrary()? {
        format.push_str(space(u)?);
    }
    let fields = marker::parse(&format)
        .unwrap_or_else(|error| panic!("generated format {format:?} is invalid: {error}"))
        .into_iter()
        .map(|arg| arg.field)
        .collect();
    Ok((format, fields))
}

/// An argument for a marker field, within the range of its C type (§8.2).
fn marker_arg(u: &mut Unstructured<'_>, format: &str, index: usize) -> Result<Arg> {
    let args = marker::parse(format).unwrap_or_default();
    let Some(arg) = args.get(index) else { return Ok(Arg::Int(0)) };
    let conversion = canonical_conversion(arg);
    Ok(match &arg.field.ty {
        TypeDesc::String => Arg::Str(String::from_utf8_lossy(&gen::string_bytes(u, 16)?).replace('\0', "")),
        TypeDesc::F64 => Arg::Float(f64::from_bits(u.arbitrary()?)),
        TypeDesc::Int(IntType::Abi(tracemark_format::AbiInt::Pointer)) => Arg::Pointer(u.arbitrary()?),
        TypeDesc::Int(IntType::U8) if conversion == "c" => Arg::Char(u.arbitrary()?),
        TypeDesc::Int(int) => {
            let bits = 8 * u32::from(int.size(&Abi::HOST));
            let raw = match gen::int_value(u, *int)? {
                Val::I(value) => value as u64,
                Val::U(value) => value,
                _ => 0,
            };
            if int.is_signed() {
                // Sign-extend the low `bits` bits: a value of the C type.
                Arg::Int(((raw << (64 - bits)) as i64) >> (64 - bits))
            } else {
                Arg::UInt((raw << (64 - bits)) >> (64 - bits))
            }
        }
        _ => Arg::Int(0),
    })
}

impl Script {
    fn generate(u: &mut Unstructured<'_>) -> Result<Script> {
        let packet_size = *u.choose(&PACKET_SIZES)?;
        let mut metadata_packet_size = *u.choose(&METADATA_PACKET_SIZES)?;
        let crc = u.arbitrary()?;
        let uuid = u.arbitrary()?;
        let cpus = u.int_in_range(1..=3u32)?;
        let first_event_id = *u.choose(&FIRST_IDS)?;
        let mut env = Vec::new();
        for _ in 0..u.int_in_range(0..=2u8)? {
            let key = gen::any_name(u)?.replace('\0', "_");
            let value = if u.arbitrary()? {
                EnvValue::Int(u.arbitrary()?)
            } else {
                EnvValue::Str(String::from_utf8_lossy(&gen::string_bytes(u, 12)?).into_owned())
            };
            env.push((key, value));
        }
        let mut classes: Vec<Class> = Vec::new();
        for index in 0..u.int_in_range(1..=5u8)? {
            // Unique names: the Rust registry gives an identical declaration the same ID.
            let name = format!("{}#{index}", gen::any_name(u)?.replace('\0', "_"));
            let (kind, fields, log_level) = if u.ratio(1, 3)? {
                let (format, fields) = marker_class(u)?;
                (ClassKind::Marker(format), fields, 255)
            } else {
                let log_level = *u.choose(&[0, 1, 2, 3, 4, 5, 6, 7, 255])?;
                let mut fields = gen::fields(u, 0, gen::MAX_LEAVES, 4)?;
                fields.iter_mut().for_each(|field| c_strings(&mut field.ty));
                (ClassKind::Fields, fields, log_level)
            };
            let class = Class { name, log_level, kind, fields };
            let record = Record::EventClass(EventClass::new(0, 0, &class.name, class.layout()));
            let needed = host_order_encoded_len(&record).saturating_add(PACKET_HEADER_LEN);
            // The C writer refuses a record larger than a metadata packet; leave it out.
            if needed > *METADATA_PACKET_SIZES.last().unwrap_or(&4096) as usize {
                continue;
            }
            while (metadata_packet_size as usize) < needed {
                metadata_packet_size *= 2;
            }
            classes.push(class);
        }
        for (key, value) in &env {
            let record = Record::Env(tracemark_format::EnvEntry { key: key.clone(), value: value.clone() });
            while (metadata_packet_size as usize) < host_order_encoded_len(&record) + PACKET_HEADER_LEN {
                metadata_packet_size *= 2;
            }
        }
        let mut last = vec![0u64; cpus as usize];
        let mut ops = Vec::new();
        u.arbitrary_loop(Some(0), Some(48), |u| {
            if u.ratio(1, 8)? {
                let cpu = if u.arbitrary()? { Some(u.int_in_range(0..=cpus - 1)?) } else { None };
                let from = match cpu {
                    Some(cpu) => last[cpu as usize],
                    None => last.iter().copied().max().unwrap_or(0),
                };
                let timestamp = from.saturating_add(gen::timestamp_step(u)?);
                for (index, slot) in last.iter_mut().enumerate() {
                    if cpu.is_none_or(|cpu| cpu as usize == index) {
                        *slot = timestamp;
                    }
                }
                ops.push(Op::Flush { cpu, timestamp });
            } else if !classes.is_empty() {
                let cpu = u.int_in_range(0..=cpus - 1)?;
                let timestamp = last[cpu as usize].saturating_add(gen::timestamp_step(u)?);
                last[cpu as usize] = timestamp;
                let class_index = u.choose_index(classes.len())?;
                let class = &classes[class_index];
                let payload = match &class.kind {
                    ClassKind::Fields => {
                        let mut budget = gen::VALUE_BUDGET;
                        let values: Result<Vec<Val>> =
                            class.fields.iter().map(|field| gen::value(u, &field.ty, &mut budget)).collect();
                        Payload::Values(values?)
                    }
                    ClassKind::Marker(format) => {
                        let args: Result<Vec<Arg>> =
                            (0..class.fields.len()).map(|index| marker_arg(u, format, index)).collect();
                        Payload::Args(args?)
                    }
                };
                ops.push(Op::Emit { cpu, timestamp, class: class_index, payload });
            }
            Ok(std::ops::ControlFlow::Continue(()))
        })?;
        let end = last.iter().copied().max().unwrap_or(0).saturating_add(gen::timestamp_step(u)?);
        Ok(Script {
            packet_size,
            metadata_packet_size,
            crc,
            uuid,
            cpus,
            first_event_id,
            env,
            classes,
            ops,
            end,
        })
    }

    fn id(&self, class: usize) -> u32 {
        self.first_event_id + class as u32
    }
}

/// What one writer produced.
#[derive(Debug, Default, PartialEq)]
struct Output {
    outcomes: Vec<Outcome>,
    metadata: Vec<Vec<u8>>,
    data: BTreeMap<u32, Vec<Vec<u8>>>,
    single_file: Vec<u8>,
}

/// Keeps the Rust writer's packets as they are delivered.
#[derive(Debug, Default)]
struct Capture {
    metadata: Vec<Vec<u8>>,
    data: BTreeMap<u32, Vec<Vec<u8>>>,
    single_file: Vec<u8>,
}

impl PacketSink for Capture {
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> tracemark_writer::Result<()> {
        match info.kind {
            PacketKind::Metadata => self.metadata.push(packet.to_vec()),
            PacketKind::Data => self.data.entry(info.stream_instance_id).or_default().push(packet.to_vec()),
        }
        self.single_file.extend_from_slice(packet);
        Ok(())
    }
}

fn run_rust(script: &Script) -> Output {
    let config = Config {
        metadata_packet_size: script.metadata_packet_size,
        ..Config::with_uuid(script.uuid).abi(Abi::HOST).crc(script.crc).packet_size(script.packet_size)
    };
    let strings = trace_strings();
    let description = TraceDescription {
        os_name: strings.os_name,
        os_release: strings.os_release,
        architecture: strings.architecture,
        hostname: strings.hostname,
        tracer_name: strings.tracer_name,
        tracer_version: strings.tracer_version,
    };
    let mut trace = LocalTrace::with_clock_class(&config, description, clock_class(), Capture::default())
        .expect("the Rust writer starts");
    let stream_class = trace.stream_class_id();
    for (key, value) in &script.env {
        trace.registry().set_env(key, value.clone()).expect("the Rust writer takes the ENV record");
    }
    trace.registry().set_next_event_id(script.first_event_id).expect("IDs start there");
    let handles: Vec<RawHandle> = script
        .classes
        .iter()
        .map(|class| match &class.kind {
            ClassKind::Fields => trace.registry().register_fields(
                stream_class,
                &class.name,
                class.log_level,
                class.fields.clone(),
            ),
            ClassKind::Marker(format) => trace.registry().register_marker(stream_class, &class.name, format),
        })
        .collect::<tracemark_writer::Result<_>>()
        .expect("the Rust writer registers every class");
    for (index, handle) in handles.iter().enumerate() {
        assert_eq!(handle.id(), script.id(index), "the Rust registry assigns IDs in order");
    }
    let clock = ManualClock::new(0);
    let mut streams: Vec<StreamWriter<Vec<u8>, &ManualClock>> = (0..script.cpus)
        .map(|cpu| {
            let params = trace.stream_params(cpu).expect("stream parameters");
            StreamWriter::new(params, vec![0u8; script.packet_size as usize], &clock)
                .expect("a stream writer")
        })
        .collect();
    let mut outcomes = Vec::new();
    for op in &script.ops {
        match op {
            Op::Emit { cpu, timestamp, class, payload } => {
                let stream = &mut streams[*cpu as usize];
                let spec = &script.classes[*class];
                let result = match payload {
                    Payload::Values(values) => {
                        let len = encode::fields_size(&spec.fields, values, &Abi::HOST)
                            .expect("generated values fit their types");
                        stream.reserve(&mut trace, handles[*class], *timestamp, len).map(|slot| {
                            let mut payload = stream.payload(&slot);
                            encode::write_fields(&spec.fields, values, &mut payload);
                            assert!(payload.is_complete(), "payload size and payload disagree");
                            stream.commit(slot);
                        })
                    }
                    Payload::Args(args) => {
                        let ClassKind::Marker(format) = &spec.kind else { unreachable!("marker payload") };
                        let args: Vec<MarkerArg<'_>> = args.iter().map(Arg::rust).collect();
                        stream.marker_at(&mut trace, &spec.name, format, &args, *timestamp)
                    }
                };
                outcomes.push(match result {
                    Ok(()) => Outcome::Recorded,
                    Err(Error::EventTooLarge { .. }) => Outcome::TooBig,
                    Err(error) => panic!("the Rust writer failed: {error}"),
                });
            }
            Op::Flush { cpu, timestamp } => {
                clock.set(*timestamp);
                for (index, stream) in streams.iter_mut().enumerate() {
                    if cpu.is_none_or(|cpu| cpu as usize == index) {
                        stream.flush(&mut trace).expect("the Rust writer flushes");
                    }
                }
            }
        }
    }
    clock.set(script.end);
    for stream in &mut streams {
        stream.flush(&mut trace).expect("the Rust writer flushes");
    }
    let capture = trace.finish().expect("the Rust writer finishes");
    Output { outcomes, metadata: capture.metadata, data: capture.data, single_file: capture.single_file }
}

/// The probe writer's value for `value` of type `ty`: the C type holding it on this host.
fn c_value(ty: &TypeDesc, value: &Val) -> probe::Value {
    use probe::Value as C;
    let bits = match value {
        Val::U(bits) => *bits,
        Val::I(number) => *number as u64,
        _ => 0,
    };
    let int = |int: &IntType| {
        use tracemark_format::AbiInt as A;
        match int {
            IntType::U8 => C::U8(bits as u8),
            IntType::U16 => C::U16(bits as u16),
            IntType::U32 => C::U32(bits as u32),
            IntType::U64 => C::U64(bits),
            IntType::I8 => C::I8(bits as i8),
            IntType::I16 => C::I16(bits as i16),
            IntType::I32 => C::I32(bits as i32),
            IntType::I64 => C::I64(bits as i64),
            IntType::Abi(A::Short) => C::Short(bits as std::ffi::c_short),
            IntType::Abi(A::UShort) => C::UShort(bits as std::ffi::c_ushort),
            IntType::Abi(A::Int) => C::Int(bits as std::ffi::c_int),
            IntType::Abi(A::UInt) => C::UInt(bits as std::ffi::c_uint),
            IntType::Abi(A::Long) => C::Long(bits as std::ffi::c_long),
            IntType::Abi(A::ULong) => C::ULong(bits as std::ffi::c_ulong),
            IntType::Abi(A::LongLong) => C::LongLong(bits as std::ffi::c_longlong),
            IntType::Abi(A::ULongLong) => C::ULongLong(bits as std::ffi::c_ulonglong),
            IntType::Abi(A::SizeT) => C::SizeT(bits as usize),
            IntType::Abi(A::SSizeT) => C::SSizeT(bits as isize),
            IntType::Abi(A::Pointer) => C::Pointer(bits as usize),
        }
    };
    match (ty, value) {
        (TypeDesc::Bool, Val::Bool(flag)) => C::Bool(*flag),
        (TypeDesc::Int(repr) | TypeDesc::Enum { repr, .. }, _) => int(repr),
        (TypeDesc::F32, Val::F32(number)) => C::F32(*number),
        (TypeDesc::F64, Val::F64(number)) => C::F64(*number),
        (TypeDesc::String, Val::Str(bytes)) => C::Str(bytes.clone()),
        (TypeDesc::Blob, Val::Blob(bytes)) => C::Blob(bytes.clone()),
        (TypeDesc::Array { element, .. }, Val::List(values)) => {
            C::Array(values.iter().map(|value| c_value(element, value)).collect())
        }
        (TypeDesc::Sequence { element }, Val::List(values)) => {
            C::Sequence(values.iter().map(|value| c_value(element, value)).collect())
        }
        (TypeDesc::Struct(fields), Val::Struct(values)) => {
            C::Struct(fields.iter().zip(values).map(|(field, value)| c_value(&field.ty, value)).collect())
        }
        (ty, value) => panic!("generated value {value:?} does not fit {ty:?}"),
    }
}

fn run_c(script: &Script) -> Output {
    let config = probe::Config {
        packet_size: script.packet_size,
        nr_subbufs: 2,
        nr_cpus: script.cpus,
        crc: script.crc,
        overwrite: false,
        auto_drain: true,
        trace_uuid: script.uuid,
        trace: trace_strings(),
        clock: clock_class(),
        stream_class_id: 0,
        stream_class_name: "default".into(),
        env: script.env.clone(),
        metadata_packet_size: script.metadata_packet_size,
        metadata_max_packets: 16,
    };
    let mut writer = probe::Writer::new(config).expect("the C writer starts");
    for (index, class) in script.classes.iter().enumerate() {
        let mut declared = EventClass::new(script.id(index), 0, &class.name, class.layout());
        declared.log_level = class.log_level;
        writer.register(&declared).unwrap_or_else(|error| panic!("the C writer refuses {class:?}: {error}"));
    }
    let mut outcomes = Vec::new();
    for op in &script.ops {
        match op {
            Op::Emit { cpu, timestamp, class, payload } => {
                let id = script.id(*class);
                let result = match payload {
                    Payload::Values(values) => {
                        let fields = &script.classes[*class].fields;
                        let values: Vec<_> = fields
                            .iter()
                            .zip(values)
                            .map(|(field, value)| c_value(&field.ty, value))
                            .collect();
                        writer.emit(*cpu, *timestamp, id, &values)
                    }
                    Payload::Args(args) => {
                        writer.marker(*cpu, *timestamp, id, &args.iter().map(Arg::c).collect::<Vec<_>>())
                    }
                };
                outcomes.push(result.unwrap_or_else(|error| panic!("the C writer failed: {error}")));
            }
            Op::Flush { cpu: Some(cpu), timestamp } => writer.flush_cpu(*cpu, *timestamp).expect("C flush"),
            Op::Flush { cpu: None, timestamp } => writer.flush(*timestamp).expect("C flush"),
        }
    }
    let output = writer.finish(script.end).expect("the C writer finishes");
    Output {
        outcomes,
        metadata: output.metadata_packets().into_iter().map(<[u8]>::to_vec).collect(),
        data: output
            .streams
            .iter()
            .filter(|stream| !stream.packets.is_empty())
            .map(|stream| (stream.cpu, stream.packets.clone()))
            .collect(),
        single_file: output.single_file(),
    }
}

/// The name of the packet header field holding byte `offset` (§4.1).
fn header_field(offset: usize) -> &'static str {
    const FIELDS: [(usize, &str); 15] = [
        (0, "magic"),
        (4, "version_major"),
        (5, "version_minor"),
        (6, "header_len"),
        (8, "flags"),
        (12, "crc32"),
        (16, "trace_uuid"),
        (32, "stream_class_id"),
        (36, "stream_instance_id"),
        (40, "sequence"),
        (48, "timestamp_begin"),
        (56, "timestamp_end"),
        (64, "content_size"),
        (68, "packet_size"),
        (72, "events_discarded"),
    ];
    if offset >= PACKET_HEADER_LEN {
        return "content or padding";
    }
    FIELDS.iter().rev().find(|(start, _)| *start <= offset).map_or("?", |(_, name)| name)
}

/// Where two packet lists first differ, or `None`.
fn first_difference(rust: &[Vec<u8>], c: &[Vec<u8>]) -> Option<String> {
    if rust.len() != c.len() {
        return Some(format!("{} packets from Rust, {} from C", rust.len(), c.len()));
    }
    for (index, (rust, c)) in rust.iter().zip(c).enumerate() {
        if rust == c {
            continue;
        }
        let at = rust.iter().zip(c).position(|(a, b)| a != b).unwrap_or(rust.len().min(c.len()));
        return Some(format!(
            "packet {index}: first difference at byte {at} ({}), Rust {:02x?} vs C {:02x?}; sizes {} and {}",
            header_field(at),
            &rust[at..rust.len().min(at + 8)],
            &c[at..c.len().min(at + 8)],
            rust.len(),
            c.len()
        ));
    }
    None
}

/// A metadata packet without what depends on its padding: the header with `packet_size` and
/// `crc32` zeroed, then the content. Checks the CRC on the way.
fn normalized_metadata(packet: &[u8]) -> Vec<u8> {
    let (header, order) = PacketHeader::decode(packet).expect("a valid metadata packet header");
    assert!(header.is_metadata());
    if header.flags.has_crc() {
        assert_eq!(packet_crc(packet, header.content_size as usize), Some(header.crc32), "metadata CRC");
    }
    assert!(packet[header.content_size as usize..].iter().all(|&byte| byte == 0), "padding is zero");
    let mut fixed = [0u8; PACKET_HEADER_LEN];
    PacketHeader { packet_size: 0, crc32: 0, ..header }.encode(order, &mut fixed);
    let mut normalized = fixed.to_vec();
    normalized.extend_from_slice(&packet[PACKET_HEADER_LEN..header.content_size as usize]);
    normalized
}

/// The events a writer must have recorded on each CPU, and the events it dropped there.
fn expected(script: &Script, outcomes: &[Outcome]) -> BTreeMap<u32, (Vec<Expected>, u64)> {
    let mut streams: BTreeMap<u32, (Vec<Expected>, u64)> = BTreeMap::new();
    let emits = script.ops.iter().filter_map(|op| match op {
        Op::Emit { cpu, timestamp, class, payload } => Some((*cpu, *timestamp, *class, payload)),
        Op::Flush { .. } => None,
    });
    for ((cpu, timestamp, class, payload), outcome) in emits.zip(outcomes) {
        let entry = streams.entry(cpu).or_default();
        if *outcome != Outcome::Recorded {
            entry.1 += 1;
            continue;
        }
        let class = &script.classes[class];
        let values = match payload {
            Payload::Values(values) => values.clone(),
            Payload::Args(args) => args.iter().map(Arg::val).collect(),
        };
        entry.0.push(Expected { name: class.name.clone(), timestamp, fields: class.fields.clone(), values });
    }
    streams
}

fn check_decodes(script: &Script, output: &Output, writer: &str) {
    let trace = Trace::from_bytes(output.single_file.clone())
        .unwrap_or_else(|error| panic!("the {writer} writer's trace does not open: {error}"));
    assert!(trace.diagnostics().is_empty(), "{writer}: {:?}", trace.diagnostics());
    for (cpu, (events, discarded)) in expected(script, &output.outcomes) {
        if let Err(problem) =
            expect::check_stream(&trace, StreamId { class: 0, instance: cpu }, &events, discarded)
        {
            panic!("{writer} writer: {problem}");
        }
    }
}

/// The `writer_diff` target (see the module documentation).
pub fn writer_diff(data: &[u8]) {
    let Ok(script) = Script::generate(&mut Unstructured::new(data)) else { return };
    let rust = run_rust(&script);
    let c = run_c(&script);
    assert_eq!(rust.outcomes, c.outcomes, "the writers took different events: {script:#?}");
    for cpu in 0..script.cpus {
        let (rust_packets, c_packets) = (rust.data.get(&cpu), c.data.get(&cpu));
        let (rust_packets, c_packets) =
            (rust_packets.map_or(&[][..], Vec::as_slice), c_packets.map_or(&[][..], Vec::as_slice));
        if let Some(difference) = first_difference(rust_packets, c_packets) {
            panic!("cpu {cpu}: data packets differ: {difference}\n{script:#?}");
        }
    }
    let rust_metadata: Vec<_> = rust.metadata.iter().map(|packet| normalized_metadata(packet)).collect();
    let c_metadata: Vec<_> = c.metadata.iter().map(|packet| normalized_metadata(packet)).collect();
    if let Some(difference) = first_difference(&rust_metadata, &c_metadata) {
        panic!("metadata differs (packet_size and crc32 zeroed, padding removed): {difference}\n{script:#?}");
    }
    check_decodes(&script, &rust, "Rust");
    check_decodes(&script, &c, "C");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the bytes, a script comes out: generation never gives up on an input.
    #[test]
    fn every_input_makes_a_script() {
        let mut seed = 0x1234_5678_9ABC_DEF1u64;
        for len in [0usize, 1, 7, 64, 300, 2000] {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            assert!(Script::generate(&mut Unstructured::new(&bytes)).is_ok(), "{len} bytes");
        }
    }
}
