//! What an `info` command shows about a trace.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use tracemark_format::{
    Abi, ByteOrder, ClockClass, EnvEntry, EnvValue, EventClass, Layout, StreamClass, TraceInfo,
};

use crate::{container::ContainerKind, metadata::Version, stream_id::StreamId, Trace};

/// One stream, from its packet headers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StreamSummary<'t> {
    /// The stream.
    pub id: StreamId,
    /// Its stream class's name, when declared.
    pub name: Option<&'t str>,
    /// Data packets found (damaged ones included, foreign ones not).
    pub packets: usize,
    /// Bytes of those packets present in the container.
    pub bytes: u64,
    /// The largest discard counter seen (§10.1): events the writer dropped.
    pub discarded: u64,
    /// Of the data packets, those whose records have narrow header words (§5.1).
    pub narrow_headers: usize,
    /// Of the data packets, those compressed (§15).
    pub compressed: usize,
    /// The lowest packet sequence number.
    pub first_sequence: Option<u64>,
    /// The highest packet sequence number.
    pub last_sequence: Option<u64>,
    /// The earliest `timestamp_begin`, in ticks.
    pub begin: Option<u64>,
    /// The latest `timestamp_end`, in ticks.
    pub end: Option<u64>,
}

/// A trace's description: metadata and per-stream packet statistics. Serializes to a JSON
/// object with the same field names.
#[derive(Debug, Clone)]
pub struct Summary<'t> {
    /// The path opened, or `<memory>`.
    pub path: &'t str,
    /// The container's form.
    pub container: ContainerKind,
    /// The wire format version.
    pub version: Version,
    /// Whether the version is a newer minor than this reader's (§11.2).
    pub newer_minor: bool,
    /// The TRACE record: UUID, ABI, OS, host and tracer strings.
    pub trace: &'t TraceInfo,
    /// Clocks.
    pub clocks: Vec<&'t ClockClass>,
    /// Stream classes.
    pub stream_classes: Vec<&'t StreamClass>,
    /// Event classes that decode.
    pub event_classes: Vec<&'t EventClass>,
    /// IDs of event classes whose declaration failed to parse.
    pub undecodable_event_ids: Vec<u32>,
    /// The environment.
    pub env: &'t [EnvEntry],
    /// Streams with data packets.
    pub streams: Vec<StreamSummary<'t>>,
    /// Metadata packets.
    pub metadata_packets: usize,
    /// Data packets.
    pub data_packets: usize,
    /// Of those, the ones whose records have narrow header words (§5.1).
    pub narrow_header_packets: usize,
    /// Of those, the compressed ones (§15).
    pub compressed_packets: usize,
    /// Events discarded by the writer, over all streams.
    pub discarded: u64,
    /// Diagnostics found while opening.
    pub open_diagnostics: usize,
}

impl<'t> Summary<'t> {
    pub(crate) fn new(trace: &'t Trace, streams: Vec<StreamSummary<'t>>) -> Summary<'t> {
        let metadata = trace.metadata();
        Summary {
            path: trace.path(),
            container: trace.kind(),
            version: metadata.version(),
            newer_minor: metadata.version().is_newer_than_reader(),
            trace: metadata.trace_info(),
            clocks: metadata.clocks().collect(),
            stream_classes: metadata.stream_classes().collect(),
            event_classes: metadata.event_classes().collect(),
            undecodable_event_ids: metadata.undecodable_event_ids().collect(),
            env: metadata.env(),
            metadata_packets: metadata.packet_count(),
            data_packets: streams.iter().map(|stream| stream.packets).sum(),
            narrow_header_packets: streams.iter().map(|stream| stream.narrow_headers).sum(),
            compressed_packets: streams.iter().map(|stream| stream.compressed).sum(),
            discarded: streams.iter().fold(0u64, |sum, stream| sum.saturating_add(stream.discarded)),
            streams,
            open_diagnostics: trace.diagnostics().len(),
        }
    }
}

struct AbiJson<'a>(&'a Abi);

impl Serialize for AbiJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let abi = self.0;
        let mut map = serializer.serialize_struct("Abi", 7)?;
        map.serialize_field(
            "byte_order",
            match abi.byte_order {
                ByteOrder::Little => "little",
                ByteOrder::Big => "big",
            },
        )?;
        map.serialize_field("short", &abi.short)?;
        map.serialize_field("int", &abi.int)?;
        map.serialize_field("long", &abi.long)?;
        map.serialize_field("long_long", &abi.long_long)?;
        map.serialize_field("pointer", &abi.pointer)?;
        map.serialize_field("size_t", &abi.size_t)?;
        map.end()
    }
}

/// The UUID in its usual 8-4-4-4-12 text form.
pub fn uuid_string(uuid: &[u8; 16]) -> String {
    let mut text = String::with_capacity(36);
    for (index, byte) in uuid.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

struct TraceJson<'a>(&'a TraceInfo);

impl Serialize for TraceJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let trace = self.0;
        let mut map = serializer.serialize_struct("Trace", 8)?;
        map.serialize_field("uuid", &uuid_string(&trace.uuid))?;
        map.serialize_field("abi", &AbiJson(&trace.abi))?;
        map.serialize_field("os_name", &trace.os_name)?;
        map.serialize_field("os_release", &trace.os_release)?;
        map.serialize_field("architecture", &trace.architecture)?;
        map.serialize_field("hostname", &trace.hostname)?;
        map.serialize_field("tracer_name", &trace.tracer_name)?;
        map.serialize_field("tracer_version", &trace.tracer_version)?;
        map.end()
    }
}

struct ClockJson<'a>(&'a ClockClass);

impl Serialize for ClockJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let clock = self.0;
        let mut map = serializer.serialize_struct("Clock", 6)?;
        map.serialize_field("id", &clock.id)?;
        map.serialize_field("name", &clock.name)?;
        map.serialize_field("frequency", &clock.frequency)?;
        map.serialize_field("offset_ns", &clock.offset_ns)?;
        map.serialize_field("precision", &clock.precision)?;
        map.serialize_field("description", &clock.description)?;
        map.end()
    }
}

struct StreamClassJson<'a>(&'a StreamClass);

impl Serialize for StreamClassJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let class = self.0;
        let mut map = serializer.serialize_struct("StreamClass", 3)?;
        map.serialize_field("id", &class.id)?;
        map.serialize_field("clock_id", &class.clock_id)?;
        map.serialize_field("name", &class.name)?;
        map.end()
    }
}

struct EventClassJson<'a>(&'a EventClass);

impl Serialize for EventClassJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let class = self.0;
        let mut map = serializer.serialize_struct("EventClass", 7)?;
        map.serialize_field("id", &class.id)?;
        map.serialize_field("name", &class.name)?;
        map.serialize_field("stream_class_id", &class.stream_class_id)?;
        map.serialize_field("log_level", &class.log_level)?;
        map.serialize_field("identity", &format!("{:016x}", class.identity))?;
        match &class.layout {
            Layout::Fields(fields) => {
                map.serialize_field("marker", &None::<&str>)?;
                map.serialize_field(
                    "fields",
                    &fields.iter().map(|field| field.name.as_str()).collect::<Vec<_>>(),
                )?;
            }
            Layout::Marker(format) => {
                map.serialize_field("marker", &Some(format))?;
                map.serialize_field("fields", &None::<Vec<&str>>)?;
            }
        }
        map.end()
    }
}

struct EnvJson<'a>(&'a [EnvEntry]);

impl Serialize for EnvJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for entry in self.0 {
            match &entry.value {
                EnvValue::Str(text) => map.serialize_entry(&entry.key, text)?,
                EnvValue::Int(value) => map.serialize_entry(&entry.key, value)?,
            }
        }
        map.end()
    }
}

struct List<'a, T, W>(&'a [T], fn(&'a T) -> W);

impl<'a, T, W: Serialize> Serialize for List<'a, T, W> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

impl Serialize for Summary<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_struct("Summary", 17)?;
        map.serialize_field("path", self.path)?;
        map.serialize_field(
            "container",
            match self.container {
                ContainerKind::Directory => "directory",
                ContainerKind::SingleFile => "file",
                ContainerKind::Memory => "memory",
            },
        )?;
        map.serialize_field("version", &self.version.to_string())?;
        map.serialize_field("newer_minor", &self.newer_minor)?;
        map.serialize_field("trace", &TraceJson(self.trace))?;
        map.serialize_field("clocks", &List(&self.clocks, |clock| ClockJson(clock)))?;
        map.serialize_field("stream_classes", &List(&self.stream_classes, |class| StreamClassJson(class)))?;
        map.serialize_field("event_classes", &List(&self.event_classes, |class| EventClassJson(class)))?;
        map.serialize_field("undecodable_event_ids", &self.undecodable_event_ids)?;
        map.serialize_field("env", &EnvJson(self.env))?;
        map.serialize_field("streams", &self.streams)?;
        map.serialize_field("metadata_packets", &self.metadata_packets)?;
        map.serialize_field("data_packets", &self.data_packets)?;
        map.serialize_field("narrow_header_packets", &self.narrow_header_packets)?;
        map.serialize_field("compressed_packets", &self.compressed_packets)?;
        map.serialize_field("discarded", &self.discarded)?;
        map.serialize_field("open_diagnostics", &self.open_diagnostics)?;
        map.end()
    }
}
