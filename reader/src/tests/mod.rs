//! Crate tests: traces built by hand with the format crate's encoders.

mod binding;
mod compressed;
mod damage;
mod decoding;
mod fuzz;
mod ordering;

use tracemark_format::{
    crc::packet_crc, Abi, ByteOrder, ClockClass, EventClass, Field, HeaderWord, Layout, PacketFlags,
    PacketHeader, Record, StreamClass, TraceInfo, PACKET_HEADER_LEN,
};

use crate::{Diagnostic, DiagnosticKind, Event, Item, Trace};

pub(crate) const UUID: [u8; 16] = [0x42; 16];

/// Payload bytes in a byte order.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    pub(crate) order: ByteOrder,
    pub(crate) bytes: Vec<u8>,
}

impl Payload {
    pub(crate) fn new(order: ByteOrder) -> Payload {
        Payload { order, bytes: Vec::new() }
    }

    pub(crate) fn uint(mut self, value: u64, size: usize) -> Payload {
        let mut buf = [0u8; 8];
        self.order.write_uint(value, size, &mut buf).unwrap();
        self.bytes.extend_from_slice(&buf[..size]);
        self
    }

    pub(crate) fn u8(self, value: u8) -> Payload {
        self.uint(value.into(), 1)
    }

    pub(crate) fn u16(self, value: u16) -> Payload {
        self.uint(value.into(), 2)
    }

    pub(crate) fn u32(self, value: u32) -> Payload {
        self.uint(value.into(), 4)
    }

    pub(crate) fn u64(self, value: u64) -> Payload {
        self.uint(value, 8)
    }

    pub(crate) fn raw(mut self, bytes: &[u8]) -> Payload {
        self.bytes.extend_from_slice(bytes);
        self
    }

    pub(crate) fn string(self, text: &[u8]) -> Payload {
        self.raw(text).u8(0)
    }

    pub(crate) fn done(self) -> Vec<u8> {
        self.bytes
    }
}

/// A metadata description and the packets of a trace.
#[derive(Debug, Clone)]
pub(crate) struct TraceBuilder {
    pub(crate) order: ByteOrder,
    pub(crate) records: Vec<Record>,
    pub(crate) crc: bool,
}

pub(crate) fn trace_info(abi: Abi) -> TraceInfo {
    TraceInfo {
        uuid: UUID,
        abi,
        os_name: "Linux".into(),
        os_release: "6.1.0".into(),
        architecture: "x86_64".into(),
        hostname: "testhost".into(),
        tracer_name: "hand".into(),
        tracer_version: "0".into(),
    }
}

impl TraceBuilder {
    /// TRACE, one 1 GHz clock 0 at 1 s after the epoch, stream class 0 "kernel" on clock 0.
    pub(crate) fn new(abi: Abi) -> TraceBuilder {
        TraceBuilder {
            order: abi.byte_order,
            records: vec![
                Record::Trace(trace_info(abi)),
                Record::Clock(ClockClass {
                    id: 0,
                    frequency: 1_000_000_000,
                    offset_ns: 1_000_000_000,
                    precision: 0,
                    name: "monotonic".into(),
                    description: String::new(),
                }),
                Record::StreamClass(StreamClass { id: 0, clock_id: 0, name: "kernel".into() }),
            ],
            crc: true,
        }
    }

    pub(crate) fn class(mut self, id: u32, name: &str, fields: Vec<Field>) -> TraceBuilder {
        self.records.push(Record::EventClass(EventClass::new(id, 0, name, Layout::Fields(fields))));
        self
    }

    pub(crate) fn record(mut self, record: Record) -> TraceBuilder {
        self.records.push(record);
        self
    }

    /// One metadata packet holding every record.
    pub(crate) fn metadata_packet(&self) -> Vec<u8> {
        let mut content = Vec::new();
        for record in &self.records {
            record.encode(self.order, &mut content).unwrap();
        }
        let mut header = PacketHeader::new_metadata(UUID);
        self.finish(&mut header, content, 0)
    }

    pub(crate) fn packet(&self, class: u32, instance: u32, sequence: u64, begin: u64) -> PacketBuilder {
        PacketBuilder {
            header: PacketHeader {
                sequence,
                timestamp_begin: begin,
                timestamp_end: begin,
                ..PacketHeader::new_data(UUID, class, instance)
            },
            content: Vec::new(),
            previous: begin,
            order: self.order,
        }
    }

    /// Sets sizes (content plus `padding` bytes, rounded up to 8) and the CRC.
    pub(crate) fn finish(&self, header: &mut PacketHeader, content: Vec<u8>, padding: usize) -> Vec<u8> {
        let content_size = PACKET_HEADER_LEN + content.len();
        let packet_size = (content_size + padding).next_multiple_of(8);
        header.content_size = content_size as u32;
        header.packet_size = packet_size as u32;
        if self.crc {
            header.flags = PacketFlags(header.flags.0 | PacketFlags::HAS_CRC);
        }
        let mut bytes = vec![0u8; packet_size];
        bytes[PACKET_HEADER_LEN..content_size].copy_from_slice(&content);
        let mut fixed = [0u8; PACKET_HEADER_LEN];
        header.encode(self.order, &mut fixed);
        bytes[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
        if self.crc {
            header.crc32 = packet_crc(&bytes, content_size).unwrap();
            header.encode(self.order, &mut fixed);
            bytes[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
        }
        bytes
    }
}

/// A data packet under construction.
#[derive(Debug, Clone)]
pub(crate) struct PacketBuilder {
    pub(crate) header: PacketHeader,
    pub(crate) content: Vec<u8>,
    pub(crate) previous: u64,
    pub(crate) order: ByteOrder,
}

impl PacketBuilder {
    pub(crate) fn event(mut self, id: u32, timestamp: u64, payload: &[u8]) -> PacketBuilder {
        let mut header = [0u8; 20];
        let word = HeaderWord::of(self.header.flags);
        let len = word.encode(id, timestamp, self.previous, self.order, &mut header).unwrap();
        self.content.extend_from_slice(&header[..len]);
        self.content.extend_from_slice(payload);
        self.previous = timestamp;
        self.header.timestamp_end = self.header.timestamp_end.max(timestamp);
        self
    }

    /// Records from here on carry narrow header words (§5.1); call it before the first one.
    pub(crate) fn narrow(mut self) -> PacketBuilder {
        self.header.flags = PacketFlags(self.header.flags.0 | PacketFlags::NARROW_HEADERS);
        self.header.version_minor = tracemark_format::event_header::NARROW_HEADERS_VERSION_MINOR;
        self
    }

    pub(crate) fn raw(mut self, bytes: &[u8]) -> PacketBuilder {
        self.content.extend_from_slice(bytes);
        self
    }

    pub(crate) fn discarded(mut self, count: u64) -> PacketBuilder {
        self.header.events_discarded = count;
        self
    }

    pub(crate) fn end(mut self, end: u64) -> PacketBuilder {
        self.header.timestamp_end = end;
        self
    }

    pub(crate) fn build(mut self, trace: &TraceBuilder) -> Vec<u8> {
        trace.finish(&mut self.header, self.content, 16)
    }
}

/// Every item of the merged iteration, events as `(name, timestamp, stream instance, fields
/// as JSON)` and diagnostics as their kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen {
    Event { name: String, timestamp: u64, instance: u32, fields: String },
    Diagnostic(DiagnosticKind),
}

pub(crate) fn seen(event: &Event<'_>) -> Seen {
    Seen::Event {
        name: event.name().into(),
        timestamp: event.timestamp(),
        instance: event.stream().instance,
        fields: serde_json::to_string(&crate::value::FieldsJson(event.fields())).unwrap(),
    }
}

pub(crate) fn collect<'t>(items: impl Iterator<Item = Item<'t>>) -> Vec<Seen> {
    items
        .map(|item| match item {
            Item::Event(event) => seen(&event),
            Item::Diagnostic(diagnostic) => Seen::Diagnostic(diagnostic.kind),
        })
        .collect()
}

pub(crate) fn events(trace: &Trace) -> Vec<Event<'_>> {
    trace.events().filter_map(Item::event).collect()
}

pub(crate) fn diagnostics(trace: &Trace) -> Vec<Diagnostic> {
    trace.events().filter_map(Item::diagnostic).collect()
}

pub(crate) fn timestamps(trace: &Trace) -> Vec<u64> {
    events(trace).iter().map(Event::timestamp).collect()
}

/// A unique empty directory under the system temporary directory.
pub(crate) fn temp_dir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tracemark-reader-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What tools move between threads can be: a trace shared by reference, its events, bindings
/// and errors sent. Decoding must stay cheap to move: an event is a few words.
#[test]
fn the_public_types_are_send_and_sync_where_they_should_be() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Trace>();
    send_sync::<Event<'_>>();
    send_sync::<Item<'_>>();
    send_sync::<crate::Binding<'_, crate::format::EventClass>>();
    send_sync::<crate::DynBinding<'_>>();
    send_sync::<crate::BindError>();
    send_sync::<crate::DecodeError>();
    send_sync::<crate::OpenError>();
    send_sync::<crate::EventCounts>();
    send_sync::<crate::StreamIter<'_>>();
    send_sync::<crate::Events<'_>>();
    assert!(std::mem::size_of::<Event<'_>>() <= 128, "{}", std::mem::size_of::<Event<'_>>());
}
