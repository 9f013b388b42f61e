//! The metadata registry: assigns IDs, encodes TRACE, CLOCK, STREAM_CLASS, EVENT_CLASS and ENV
//! records (§7) into metadata packets, and hands out the handles data records are written with.
//!
//! §7.6 requires an event class to be in the metadata before any record with its ID is
//! committed to a data packet. The registry makes that structural: an [`EventHandle`] or
//! [`RawHandle`] exists only once its EVENT_CLASS record is queued in the registry, and every
//! [`StreamOutput`](crate::StreamOutput) delivers queued metadata packets to the sink before
//! the data packet it is given ([`LocalTrace`](crate::LocalTrace) and the `std` session do).

use alloc::{
    collections::{BTreeMap, VecDeque},
    string::String,
    vec::Vec,
};
use core::{
    marker::PhantomData,
    sync::atomic::{AtomicU32, Ordering},
};

use tracemark_format::{
    marker, metadata::LOG_LEVEL_UNSPECIFIED, Abi, ClockClass, EnvEntry, EnvValue, EventClass, Field,
    HeaderWord, Layout, PacketFlags, PacketHeader, Record, StreamClass, TraceInfo, PACKET_HEADER_LEN,
};

use crate::{
    packet::{align8, seal, PacketInfo, PacketKind, PacketSink},
    validate, Config, Error, EventType, Result,
};

/// Source of registry serial numbers, so a handle cannot be used with another trace's streams.
static NEXT_SERIAL: AtomicU32 = AtomicU32::new(1);

/// The text fields of the ABI descriptor (§3.1, §7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDescription {
    /// OS (kernel) name, e.g. `Linux`.
    pub os_name: String,
    /// OS release.
    pub os_release: String,
    /// Architecture, e.g. `x86_64`.
    pub architecture: String,
    /// Host name.
    pub hostname: String,
    /// Tracer name.
    pub tracer_name: String,
    /// Tracer version.
    pub tracer_version: String,
}

impl TraceDescription {
    /// This crate as the tracer, everything else `unknown` (the `no_std` default).
    pub fn unknown() -> TraceDescription {
        TraceDescription {
            os_name: "unknown".into(),
            os_release: "unknown".into(),
            architecture: "unknown".into(),
            hostname: "unknown".into(),
            tracer_name: env!("CARGO_PKG_NAME").into(),
            tracer_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// An event class registered in a trace, untyped: what raw [`reserve`](crate::StreamWriter::reserve)
/// takes. Only a registry creates one, after queueing the class's EVENT_CLASS record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawHandle {
    id: u32,
    stream_class_id: u32,
    serial: u32,
}

impl RawHandle {
    /// The event class ID.
    pub const fn id(&self) -> u32 {
        self.id
    }

    /// The stream class whose streams may carry it.
    pub const fn stream_class_id(&self) -> u32 {
        self.stream_class_id
    }

    pub(crate) const fn serial(&self) -> u32 {
        self.serial
    }
}

/// A registered statically typed event class: emit `E` values with it.
pub struct EventHandle<E: ?Sized> {
    raw: RawHandle,
    // Covariant in `E`, so a handle for `Ev<'static>` also emits an `Ev<'a>`; always Send+Sync.
    _event: PhantomData<fn() -> *const E>,
}

impl<E: ?Sized> EventHandle<E> {
    /// The untyped handle.
    pub const fn raw(&self) -> RawHandle {
        self.raw
    }

    /// The event class ID.
    pub const fn id(&self) -> u32 {
        self.raw.id
    }
}

impl<E: ?Sized> Clone for EventHandle<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: ?Sized> Copy for EventHandle<E> {}

impl<E: ?Sized> core::fmt::Debug for EventHandle<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("EventHandle").field(&self.raw).finish()
    }
}

/// Everything a stream writer needs to know about its trace and stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamParams {
    /// Trace UUID.
    pub uuid: [u8; 16],
    /// ABI (and byte order) of everything written.
    pub abi: Abi,
    /// Whether packets carry a CRC.
    pub crc: bool,
    /// Data packet size.
    pub packet_size: u32,
    /// Stream class ID.
    pub stream_class_id: u32,
    /// Stream instance ID (CPU or thread slot).
    pub stream_instance_id: u32,
    /// The records' header word (§5.1).
    pub header_word: HeaderWord,
    pub(crate) serial: u32,
}

/// Counters of the metadata stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetadataStats {
    /// Metadata packets delivered.
    pub packets: u64,
    /// Bytes of metadata packets delivered.
    pub bytes: u64,
    /// Records encoded.
    pub records: u64,
}

/// The metadata registry of one trace: assigns clock, stream class and event class IDs and
/// encodes TRACE (first), CLOCK, STREAM_CLASS, EVENT_CLASS and ENV records (§7) into metadata
/// packets (own sequence numbers from 0, `METADATA` flag, the trace UUID, CRC when enabled).
/// A metadata packet is sized to its content rounded up to 8 bytes, at most
/// [`Config::metadata_packet_size`] unless one record alone is larger.
///
/// §7.6 requires an event class to be in the metadata before any record with its ID is
/// committed to a data packet. This is structural: an [`EventHandle`] or [`RawHandle`] exists
/// only once its EVENT_CLASS record is queued here, and every [`StreamOutput`] delivers the
/// queued metadata packets ([`Registry::flush`]) before the data packet it is given
/// ([`LocalTrace`](crate::LocalTrace) and the `std` session do).
///
/// [`StreamOutput`]: crate::StreamOutput
#[derive(Debug)]
pub struct Registry {
    config: Config,
    serial: u32,
    next_event_id: u64,
    next_clock_id: u32,
    next_stream_class_id: u32,
    clocks: BTreeMap<u32, ClockClass>,
    stream_classes: BTreeMap<u32, StreamClass>,
    /// Event classes by identity hash, for deduplication (same class, stream class, name and
    /// layout → same ID).
    classes: BTreeMap<u64, Vec<EventClass>>,
    /// The metadata packet being filled: 80 header bytes, then records.
    open: Vec<u8>,
    open_records: usize,
    /// Finished metadata packets not yet given to a sink.
    pending: VecDeque<(Vec<u8>, PacketInfo)>,
    sequence: u64,
    scratch: Vec<u8>,
    stats: MetadataStats,
}

impl Registry {
    /// A registry for a trace configured by `config`, with TRACE as its first record (§7.3).
    pub fn new(config: &Config, description: TraceDescription) -> Result<Registry> {
        config.validate()?;
        let mut registry = Registry {
            config: *config,
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            next_event_id: 0,
            next_clock_id: 0,
            next_stream_class_id: 0,
            clocks: BTreeMap::new(),
            stream_classes: BTreeMap::new(),
            classes: BTreeMap::new(),
            open: Vec::new(),
            open_records: 0,
            pending: VecDeque::new(),
            sequence: 0,
            scratch: Vec::new(),
            stats: MetadataStats::default(),
        };
        let trace = Record::Trace(TraceInfo {
            uuid: config.uuid,
            abi: config.abi,
            os_name: description.os_name,
            os_release: description.os_release,
            architecture: description.architecture,
            hostname: description.hostname,
            tracer_name: description.tracer_name,
            tracer_version: description.tracer_version,
        });
        registry.append(&trace)?;
        // §7.3: a copy as the second record, when it fits in the first packet: a reader uses
        // it when a flipped bit fails the first's check (§7.2).
        registry.append_to_open_packet(&trace)?;
        Ok(registry)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Declares a clock (§7.4); returns its ID. `class.id` is ignored.
    pub fn add_clock(&mut self, mut class: ClockClass) -> Result<u32> {
        validate::check_name(&class.name).map_err(|reason| invalid(&class.name, reason))?;
        if class.frequency == 0 {
            return Err(invalid(&class.name, "clock frequency must not be 0 (§7.4)".into()));
        }
        class.id = self.next_clock_id;
        self.append(&Record::Clock(class.clone()))?;
        self.next_clock_id += 1;
        self.clocks.insert(class.id, class);
        Ok(self.next_clock_id - 1)
    }

    /// Declares a stream class timestamped by clock `clock_id` (§7.5); returns its ID.
    pub fn add_stream_class(&mut self, name: &str, clock_id: u32) -> Result<u32> {
        validate::check_name(name).map_err(|reason| invalid(name, reason))?;
        if !self.clocks.contains_key(&clock_id) {
            return Err(invalid(name, alloc::format!("clock {clock_id} is not declared (§7.5)")));
        }
        let class = StreamClass { id: self.next_stream_class_id, clock_id, name: name.into() };
        self.append(&Record::StreamClass(class.clone()))?;
        self.next_stream_class_id += 1;
        self.stream_classes.insert(class.id, class);
        Ok(self.next_stream_class_id - 1)
    }

    /// Adds an ENV record (§7.9).
    pub fn set_env(&mut self, key: &str, value: EnvValue) -> Result<()> {
        validate::check_name(key).map_err(|reason| invalid(key, reason))?;
        self.append(&Record::Env(EnvEntry { key: key.into(), value }))
    }

    /// Makes the next new event class get ID `id` (IDs only move forward, so they stay unique).
    /// Useful to test the extended event header (§5.4).
    pub fn set_next_event_id(&mut self, id: u32) -> Result<()> {
        if u64::from(id) < self.next_event_id {
            return Err(Error::InvalidConfig("event IDs only move forward"));
        }
        self.next_event_id = u64::from(id);
        Ok(())
    }

    /// Registers the statically typed event `E` in `stream_class_id` (idempotent).
    pub fn register<E: EventType + ?Sized>(&mut self, stream_class_id: u32) -> Result<EventHandle<E>> {
        let raw = self.register_fields(stream_class_id, E::NAME, E::LOG_LEVEL, E::fields())?;
        Ok(EventHandle { raw, _event: PhantomData })
    }

    /// Registers an event class with a field list built at run time (idempotent: the same
    /// stream class, name and layout give the same handle).
    pub fn register_fields(
        &mut self,
        stream_class_id: u32,
        name: &str,
        log_level: u8,
        fields: Vec<Field>,
    ) -> Result<RawHandle> {
        validate::check_name(name).map_err(|reason| invalid(name, reason))?;
        validate::check_fields(&fields).map_err(|reason| invalid(name, reason))?;
        self.register_class(stream_class_id, name, log_level, Layout::Fields(fields))
    }

    /// Registers the marker class (`name`, `format`) (§8) (idempotent).
    pub fn register_marker(&mut self, stream_class_id: u32, name: &str, format: &str) -> Result<RawHandle> {
        validate::check_name(name).map_err(|reason| invalid(name, reason))?;
        marker::parse(format)?;
        self.register_class(stream_class_id, name, LOG_LEVEL_UNSPECIFIED, Layout::Marker(format.into()))
    }

    fn register_class(
        &mut self,
        stream_class_id: u32,
        name: &str,
        log_level: u8,
        layout: Layout,
    ) -> Result<RawHandle> {
        if !self.stream_classes.contains_key(&stream_class_id) {
            return Err(Error::UnknownStreamClass(stream_class_id));
        }
        let id = u32::try_from(self.next_event_id).map_err(|_| Error::IdsExhausted)?;
        let mut class = EventClass::new(id, stream_class_id, name, layout);
        class.log_level = log_level;
        let same = |known: &&EventClass| {
            known.stream_class_id == stream_class_id
                && known.name == class.name
                && known.layout == class.layout
        };
        if let Some(known) = self.classes.get(&class.identity).and_then(|bucket| bucket.iter().find(same)) {
            return Ok(self.handle(known.id, stream_class_id));
        }
        self.append(&Record::EventClass(class.clone()))?;
        self.next_event_id += 1;
        self.classes.entry(class.identity).or_default().push(class);
        Ok(self.handle(id, stream_class_id))
    }

    fn handle(&self, id: u32, stream_class_id: u32) -> RawHandle {
        RawHandle { id, stream_class_id, serial: self.serial }
    }

    /// Parameters for a writer of stream (`stream_class_id`, `stream_instance_id`).
    pub fn stream_params(&self, stream_class_id: u32, stream_instance_id: u32) -> Result<StreamParams> {
        if !self.stream_classes.contains_key(&stream_class_id) {
            return Err(Error::UnknownStreamClass(stream_class_id));
        }
        Ok(StreamParams {
            uuid: self.config.uuid,
            abi: self.config.abi,
            crc: self.config.crc,
            packet_size: self.config.packet_size,
            stream_class_id,
            stream_instance_id,
            header_word: self.config.header_word,
            serial: self.serial,
        })
    }

    /// Whether records are waiting to be delivered.
    pub fn has_pending(&self) -> bool {
        self.open_records > 0 || !self.pending.is_empty()
    }

    /// Closes the open metadata packet and gives every queued metadata packet to `sink`, in
    /// sequence order. On a sink error the failed packet is dropped (its sequence number is
    /// consumed, §10.2) and the rest stay queued.
    pub fn flush<S: PacketSink + ?Sized>(&mut self, sink: &mut S) -> Result<()> {
        self.close_open();
        while let Some((packet, info)) = self.pending.pop_front() {
            sink.write_packet(&packet, &info)?;
            self.stats.packets += 1;
            self.stats.bytes += packet.len() as u64;
        }
        Ok(())
    }

    /// Counters of the metadata stream.
    pub fn stats(&self) -> MetadataStats {
        self.stats
    }

    /// Encodes `record` into the open metadata packet if it fits there, never into a new one;
    /// whether it did.
    fn append_to_open_packet(&mut self, record: &Record) -> Result<bool> {
        self.scratch.clear();
        record.encode_checked(self.config.abi.byte_order, &mut self.scratch)?;
        if self.open.len() + self.scratch.len() > self.config.metadata_packet_size as usize {
            return Ok(false);
        }
        self.append(record)?;
        Ok(true)
    }

    /// Encodes `record` into the open metadata packet, starting a new packet when it does not
    /// fit (records never span packets, §7.1).
    fn append(&mut self, record: &Record) -> Result<()> {
        self.scratch.clear();
        record.encode_checked(self.config.abi.byte_order, &mut self.scratch)?;
        let limit = self.config.metadata_packet_size as usize;
        if self.open_records > 0 && self.open.len() + self.scratch.len() > limit {
            self.close_open();
        }
        if self.open.is_empty() {
            self.open.resize(PACKET_HEADER_LEN, 0);
        }
        if u32::try_from(align8(self.open.len() + self.scratch.len())).is_err() {
            return Err(Error::Metadata(tracemark_format::MetadataErrorKind::TooLong("record")));
        }
        self.open.extend_from_slice(&self.scratch);
        self.open_records += 1;
        self.stats.records += 1;
        Ok(())
    }

    /// Seals the open packet, sized to its content rounded up to 8 (§4.2), and queues it.
    fn close_open(&mut self) {
        if self.open_records == 0 {
            return;
        }
        let mut packet = core::mem::take(&mut self.open);
        self.open_records = 0;
        let content_size = packet.len();
        packet.resize(align8(content_size), 0);
        let crc = if self.config.crc { PacketFlags::HAS_CRC } else { 0 };
        let header = PacketHeader {
            flags: PacketFlags(PacketFlags::METADATA | crc),
            sequence: self.sequence,
            content_size: content_size as u32,
            packet_size: packet.len() as u32,
            ..PacketHeader::new_metadata(self.config.uuid)
        };
        seal(&mut packet, &header, self.config.abi.byte_order);
        let info = PacketInfo {
            kind: PacketKind::Metadata,
            stream_class_id: 0,
            stream_instance_id: 0,
            sequence: self.sequence,
        };
        self.sequence += 1;
        self.pending.push_back((packet, info));
    }
}

fn invalid(event: &str, reason: String) -> Error {
    Error::InvalidLayout { event: event.into(), reason }
}
