//! The metadata registry (§7): every metadata packet read before any data (§7.10).
//!
//! Per-record problems become diagnostics and the rest of the metadata is kept; only a
//! trace without a usable TRACE record cannot be read at all.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    fmt,
    sync::Arc,
};

use tracemark_format::{
    marker::DisplayHint,
    metadata::{field_at, kind, MetadataErrorKind, ENVELOPE_LEN},
    Abi, AbiInt, ByteOrder, ClockClass, EnvEntry, EnvValue, EventClass, Field, HeaderError, IntType, Layout,
    MetadataError, Record, RecordIter, StreamClass, TraceInfo, TypeDesc, VERSION_MINOR_READ,
};

use crate::{
    container::Container,
    decode::Plan,
    diagnostic::{Declaration, Diagnostic, DiagnosticKind},
    error::{NotATrace, OpenError, SUPPORTED_MAJOR_VERSIONS},
    layout::PayloadLayout,
    packet::{CrcStatus, RawPacket, Walked},
};

/// A wire format version (§11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version: this reader supports 1.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl Version {
    /// Whether the trace is of a newer minor version than this reader knows (§11.2): it is
    /// still read, ignoring what this reader does not know.
    pub fn is_newer_than_reader(&self) -> bool {
        self.minor > VERSION_MINOR_READ
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// An event class with its compiled payload plan and layout.
#[derive(Debug)]
pub(crate) struct ClassEntry {
    pub(crate) class: EventClass,
    pub(crate) hints: Option<Vec<DisplayHint>>,
    pub(crate) plan: Plan,
    pub(crate) layout: PayloadLayout,
    /// Whether `Event::streamed_values` may walk a field of this class: set once, asked per
    /// event.
    pub(crate) may_stream: bool,
    /// Index of the entry in [`Metadata`]'s class list: dense, for per-class tables.
    pub(crate) slot: usize,
}

/// Event class IDs below this are looked up in a table indexed by ID; the rest by binary
/// search. IDs are small in practice (the compact header holds 16 bits, §5.2).
const DENSE_ID_LIMIT: u32 = 1 << 16;

/// A class as the record walk first needs it: one small table cell per ID, so that a record
/// of a fixed-size class is walked without reaching its [`ClassEntry`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DenseClass {
    /// One more than the class's slot, or 0 when the ID names no decodable class.
    slot_plus_one: u32,
    /// The payload size when it is fixed and needs no check
    /// ([`PayloadLayout::plain_fixed`](crate::layout::PayloadLayout::plain_fixed)), else
    /// [`DenseClass::NOT_PLAIN`].
    plain_fixed: u32,
}

impl DenseClass {
    const NOT_PLAIN: u32 = u32::MAX;

    /// The class's slot.
    #[inline(always)]
    pub(crate) fn slot(self) -> Option<u32> {
        self.slot_plus_one.checked_sub(1)
    }

    /// The payload size, when the class's payloads all have it and need no check.
    #[inline(always)]
    pub(crate) fn plain_fixed(self) -> Option<usize> {
        (self.plain_fixed != Self::NOT_PLAIN).then_some(self.plain_fixed as usize)
    }
}

/// What the metadata says about an event class ID.
pub(crate) enum Lookup {
    Found,
    Undecodable,
    Undeclared,
}

/// Everything the metadata stream declares.
#[derive(Debug)]
pub struct Metadata {
    trace: TraceInfo,
    order: ByteOrder,
    version: Version,
    clocks: BTreeMap<u32, ClockClass>,
    stream_classes: BTreeMap<u32, StreamClass>,
    /// Decodable event classes, by ascending ID.
    classes: Vec<ClassEntry>,
    /// `dense[id]`: class `id`'s slot and fixed payload size (§5.2 IDs are small).
    dense: Vec<DenseClass>,
    undecodable: BTreeSet<u32>,
    env: Vec<EnvEntry>,
    /// Positions in `env`, sorted by key: a lookup is a binary search, at 4 bytes an entry
    /// however many entries a hostile trace declares.
    env_by_key: Vec<u32>,
    packets: usize,
}

impl Metadata {
    /// The TRACE record: UUID, ABI and the writer's description (§7.3).
    pub fn trace_info(&self) -> &TraceInfo {
        &self.trace
    }

    /// The writer's ABI descriptor (§3).
    pub fn abi(&self) -> &Abi {
        &self.trace.abi
    }

    /// The trace byte order (§2).
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }

    /// The trace UUID (§4.6).
    pub fn uuid(&self) -> [u8; 16] {
        self.trace.uuid
    }

    /// The wire format version of the packet holding the TRACE record (§11).
    pub fn version(&self) -> Version {
        self.version
    }

    /// Clocks, by ID.
    pub fn clocks(&self) -> impl Iterator<Item = &ClockClass> + '_ {
        self.clocks.values()
    }

    /// A clock by ID.
    pub fn clock(&self, id: u32) -> Option<&ClockClass> {
        self.clocks.get(&id)
    }

    /// Stream classes, by ID.
    pub fn stream_classes(&self) -> impl Iterator<Item = &StreamClass> + '_ {
        self.stream_classes.values()
    }

    /// A stream class by ID.
    pub fn stream_class(&self, id: u32) -> Option<&StreamClass> {
        self.stream_classes.get(&id)
    }

    /// The clock of a stream class, when both are declared.
    pub fn stream_clock(&self, stream_class: u32) -> Option<&ClockClass> {
        self.stream_class(stream_class).and_then(|class| self.clock(class.clock_id))
    }

    /// Event classes that decode, by ID.
    pub fn event_classes(&self) -> impl Iterator<Item = &EventClass> + '_ {
        self.classes.iter().map(|entry| &entry.class)
    }

    /// An event class by ID.
    pub fn event_class(&self, id: u32) -> Option<&EventClass> {
        self.entry(id).map(|entry| &entry.class)
    }

    /// Display hints of an event class's top-level fields: a marker's conversions (§8.2), or
    /// hexadecimal for the pointer fields of a field list; `None` when every field is natural.
    pub fn display_hints(&self, id: u32) -> Option<&[DisplayHint]> {
        self.entry(id).and_then(|entry| entry.hints.as_deref())
    }

    /// IDs of event classes whose declaration failed to parse (§7.7): their records are
    /// reported, not decoded.
    pub fn undecodable_event_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.undecodable.iter().copied()
    }

    /// The environment, in first-declaration order, a repeated key holding its last value
    /// (§7.9).
    pub fn env(&self) -> &[EnvEntry] {
        &self.env
    }

    /// An environment value by key.
    pub fn env_value(&self, key: &str) -> Option<&EnvValue> {
        let at = self
            .env_by_key
            .binary_search_by(|&at| self.env.get(at as usize).map_or("", |entry| entry.key.as_str()).cmp(key))
            .ok()?;
        let position = *self.env_by_key.get(at)?;
        self.env.get(position as usize).map(|entry| &entry.value)
    }

    /// Metadata packets read.
    pub fn packet_count(&self) -> usize {
        self.packets
    }

    /// The decodable class `id`.
    #[inline(always)]
    pub(crate) fn entry(&self, id: u32) -> Option<&ClassEntry> {
        match self.dense.get(id as usize) {
            Some(dense) => self.classes.get(dense.slot()? as usize),
            None if id < DENSE_ID_LIMIT => None,
            None => {
                let slot = self.classes.binary_search_by_key(&id, |entry| entry.class.id).ok()?;
                self.classes.get(slot)
            }
        }
    }

    /// The walk's view of class `id`, when its ID is in the dense table (the rest go through
    /// [`Metadata::entry`]).
    #[inline(always)]
    pub(crate) fn dense(&self, id: u32) -> Option<DenseClass> {
        self.dense.get(id as usize).copied()
    }

    /// Decodable classes, indexed by [`ClassEntry::slot`].
    pub(crate) fn entries(&self) -> &[ClassEntry] {
        &self.classes
    }

    /// Sorts the environment's positions by key, for [`Metadata::env_value`].
    fn index_env(&mut self) {
        let env = &self.env;
        // Metadata records lie in packets of at most 4 GiB, each at least 8 bytes.
        let mut by_key: Vec<u32> = (0..env.len()).filter_map(|at| u32::try_from(at).ok()).collect();
        by_key.sort_unstable_by(|&a, &b| {
            let key = |at: u32| env.get(at as usize).map_or("", |entry| entry.key.as_str());
            key(a).cmp(key(b))
        });
        self.env_by_key = by_key;
    }

    /// Installs the decodable classes and their lookup table.
    fn set_classes(&mut self, classes: BTreeMap<u32, ClassEntry>) {
        self.classes = classes.into_values().collect();
        let dense_len = self
            .classes
            .iter()
            .map(|entry| entry.class.id)
            .filter(|&id| id < DENSE_ID_LIMIT)
            .max()
            .map_or(0, |id| id as usize + 1);
        self.dense = vec![DenseClass::default(); dense_len];
        for (slot, entry) in self.classes.iter_mut().enumerate() {
            entry.slot = slot;
            if let Some(cell) = self.dense.get_mut(entry.class.id as usize) {
                // Slots are below the class count, itself far below `u32::MAX`.
                cell.slot_plus_one = u32::try_from(slot).map_or(0, |slot| slot.saturating_add(1));
                cell.plain_fixed = entry
                    .layout
                    .plain_fixed()
                    .and_then(|len| u32::try_from(len).ok())
                    .filter(|&len| len != DenseClass::NOT_PLAIN)
                    .unwrap_or(DenseClass::NOT_PLAIN);
            }
        }
    }

    #[inline(always)]
    pub(crate) fn lookup(&self, id: u32) -> Lookup {
        match self.entry(id) {
            Some(_) => Lookup::Found,
            None if self.undecodable.contains(&id) => Lookup::Undecodable,
            None => Lookup::Undeclared,
        }
    }
}

/// A metadata packet and the file it is in.
struct Located<'a> {
    raw: &'a RawPacket,
    name: &'a Arc<str>,
    bytes: &'a [u8],
    /// Whether its CRC matched or it has none: when it failed, only records whose own check
    /// matches are used (§7.2).
    trusted: bool,
}

impl Located<'_> {
    fn diagnostic(&self, kind: DiagnosticKind, content_offset: Option<usize>) -> Diagnostic {
        let offset = match content_offset {
            Some(relative) => self.raw.content_offset().saturating_add(relative as u64),
            None => self.raw.offset as u64,
        };
        let mut diagnostic = Diagnostic::new(kind, self.name.clone(), offset);
        diagnostic.sequence = Some(self.raw.header.sequence);
        diagnostic
    }

    fn records(&self) -> RecordIter<'_> {
        let content = self.raw.content(self.bytes);
        if self.trusted {
            RecordIter::new(content, self.raw.order)
        } else {
            RecordIter::untrusted(content, self.raw.order)
        }
    }
}

/// The first header problem of a file, as a header error.
fn first_header_error(walked: &[Walked]) -> HeaderError {
    walked
        .iter()
        .find_map(|item| match item {
            Walked::Problem(diagnostic) => match diagnostic.kind {
                DiagnosticKind::BadHeader(error) => Some(error),
                DiagnosticKind::TruncatedPacket { available, .. } => {
                    Some(HeaderError::Truncated { available: available as usize })
                }
                _ => None,
            },
            Walked::Packet(_) => None,
        })
        .unwrap_or(HeaderError::Truncated { available: 0 })
}

/// Builds the registry from every metadata packet of `container` (§7.10), returning it with
/// the diagnostics found.
pub(crate) fn build(
    container: &Container,
    walked: &[Vec<Walked>],
) -> Result<(Metadata, Vec<Diagnostic>), OpenError> {
    let path = || container.path.clone();
    let first_file = walked.first().map(Vec::as_slice).unwrap_or(&[]);
    // §11.3: the first metadata packet's major version decides whether the trace is readable.
    if let Some(Walked::Problem(diagnostic)) = first_file.first() {
        if let (0, DiagnosticKind::BadHeader(HeaderError::UnsupportedMajor { found })) =
            (diagnostic.offset, &diagnostic.kind)
        {
            return Err(OpenError::UnsupportedVersion {
                path: path(),
                found: *found,
                supported: SUPPORTED_MAJOR_VERSIONS,
            });
        }
    }
    let all_packets = || {
        walked.iter().zip(&container.files).flat_map(|(items, file)| {
            items.iter().filter_map(move |item| match item {
                Walked::Packet(raw) => {
                    Some(Located { raw, name: &file.name, bytes: file.bytes(), trusted: true })
                }
                Walked::Problem(_) => None,
            })
        })
    };
    if all_packets().next().is_none() {
        return Err(OpenError::NotATrace {
            path: path(),
            reason: NotATrace::NoPacket { first_error: first_header_error(first_file) },
        });
    }
    let mut packets: Vec<Located<'_>> =
        all_packets().filter(|packet| packet.raw.header.is_metadata()).collect();
    if packets.is_empty() {
        return Err(OpenError::NotATrace { path: path(), reason: NotATrace::NoMetadataPacket });
    }

    let mut diagnostics = Vec::new();
    // The metadata stream is numbered as every stream is (§1.6, §10.2): a packet missing or
    // repeated changes no declaration by itself, and would otherwise go unreported.
    let mut last_sequence: Option<u64> = None;
    for packet in &packets {
        let sequence = packet.raw.header.sequence;
        if let Some(kind) = DiagnosticKind::of_sequence(last_sequence, sequence) {
            diagnostics.push(packet.diagnostic(kind, None));
        }
        last_sequence = Some(sequence);
    }
    // A compressed metadata packet is reported and not read (R-15.1-2).
    packets.retain(|packet| {
        let compressed = packet.raw.header.flags.is_compressed();
        if compressed {
            let kind =
                DiagnosticKind::CompressedPacket(tracemark_format::compress::CompressionError::Metadata);
            diagnostics.push(packet.diagnostic(kind, None));
        }
        !compressed
    });
    // A packet whose CRC fails is reported, and only its records whose own check matches are
    // used (§7.2, §10.3).
    for packet in &mut packets {
        match packet.raw.crc(packet.bytes) {
            CrcStatus::Mismatch { expected, found } => {
                diagnostics.push(packet.diagnostic(DiagnosticKind::CrcMismatch { expected, found }, None));
                packet.trusted = false;
            }
            CrcStatus::Unchecked => diagnostics.push(packet.diagnostic(DiagnosticKind::CrcUnchecked, None)),
            CrcStatus::Valid | CrcStatus::Absent => {}
        }
    }

    // The TRACE record gives the ABI and the byte order everything else is checked against.
    let mut found = None;
    let mut first_error = None;
    'search: for (index, packet) in packets.iter().enumerate() {
        for item in packet.records() {
            match item {
                Ok((offset, Record::Trace(trace))) => {
                    found = Some((index, offset, trace));
                    break 'search;
                }
                Ok(_) => {}
                Err(error) => {
                    if first_error.is_none() {
                        let offset = error.offset;
                        first_error = Some(packet.diagnostic(DiagnosticKind::Metadata(error), Some(offset)));
                    }
                }
            }
        }
    }
    let Some((trace_packet, trace_offset, trace)) = found else {
        return Err(OpenError::NoTraceRecord {
            path: path(),
            first_problem: diagnostics.first().cloned().or(first_error).map(Box::new),
        });
    };
    let Some(trace_located) = packets.get(trace_packet) else {
        return Err(OpenError::NoTraceRecord { path: path(), first_problem: None });
    };
    if trace_packet != 0 || trace_offset != 0 {
        diagnostics.push(trace_located.diagnostic(DiagnosticKind::TraceRecordNotFirst, Some(trace_offset)));
    }
    let order = trace_located.raw.order;
    if trace.abi.byte_order != order {
        let kind = DiagnosticKind::TraceByteOrder { stated: trace.abi.byte_order, packet: order };
        let field = trace_offset + ENVELOPE_LEN + field_at::TRACE_BYTE_ORDER;
        diagnostics.push(trace_located.diagnostic(kind, Some(field)));
    }
    let header = &trace_located.raw.header;
    // The trace is as new as its newest packet of the same major version (§11.2).
    let newest_minor = walked
        .iter()
        .flatten()
        .filter_map(|item| match item {
            Walked::Packet(raw) if raw.header.version_major == header.version_major => {
                Some(raw.header.version_minor)
            }
            _ => None,
        })
        .fold(header.version_minor, u8::max);
    let version = Version { major: header.version_major, minor: newest_minor };

    let mut builder = Builder {
        metadata: Metadata {
            trace,
            order,
            version,
            clocks: BTreeMap::new(),
            stream_classes: BTreeMap::new(),
            classes: Vec::new(),
            dense: Vec::new(),
            undecodable: BTreeSet::new(),
            env: Vec::new(),
            env_by_key: Vec::new(),
            packets: packets.len(),
        },
        stream_class_at: BTreeMap::new(),
        classes: BTreeMap::new(),
        env_index: HashMap::new(),
        diagnostics,
    };
    for (index, packet) in packets.iter().enumerate() {
        builder.packet(packet, index == trace_packet, trace_offset);
    }
    builder.check_clocks();
    drop(builder.env_index);
    let mut metadata = builder.metadata;
    metadata.index_env();
    metadata.set_classes(builder.classes);
    Ok((metadata, builder.diagnostics))
}

struct Builder {
    metadata: Metadata,
    /// Where each stream class was declared, to report an undeclared clock.
    stream_class_at: BTreeMap<u32, Diagnostic>,
    /// Decodable event classes, by ID.
    classes: BTreeMap<u32, ClassEntry>,
    /// Where each key of the environment is, while records are applied: a repeated key is
    /// found in O(1), however many entries a hostile trace declares.
    env_index: HashMap<String, usize>,
    diagnostics: Vec<Diagnostic>,
}

impl Builder {
    fn packet(&mut self, packet: &Located<'_>, holds_trace: bool, trace_offset: usize) {
        let expected_order = self.metadata.order;
        if packet.raw.order != expected_order {
            // The TRACE packet's own mismatch with its record was reported already.
            if !holds_trace {
                let kind =
                    DiagnosticKind::ByteOrderMismatch { found: packet.raw.order, expected: expected_order };
                self.diagnostics.push(packet.diagnostic(kind, None));
                return;
            }
        }
        if packet.raw.header.trace_uuid != self.metadata.trace.uuid {
            let kind = DiagnosticKind::ForeignUuid { found: packet.raw.header.trace_uuid };
            self.diagnostics.push(packet.diagnostic(kind, None));
            // The packet holding TRACE defines the UUID; its header is wrong, not its records.
            if !holds_trace {
                return;
            }
        }
        let content_cut = packet.raw.content_cut();
        let mut records = packet.records();
        for item in records.by_ref() {
            match item {
                Ok((offset, record)) => {
                    if holds_trace && offset == trace_offset {
                        continue;
                    }
                    self.record(packet, offset, record);
                }
                // The end of a truncated packet's content is reported as truncation (§10.4).
                Err(error) if content_cut && error.kind == MetadataErrorKind::Truncated => {}
                Err(error) => {
                    if let Some(id) = error.event_id {
                        if !self.classes.contains_key(&id) {
                            self.metadata.undecodable.insert(id);
                        }
                    }
                    let offset = error.offset;
                    self.diagnostics.push(packet.diagnostic(DiagnosticKind::Metadata(error), Some(offset)));
                }
            }
        }
        let unchecked = records.unchecked_skipped();
        if unchecked > 0 {
            let error = MetadataError {
                offset: 0,
                record_kind: 0,
                event_id: None,
                kind: MetadataErrorKind::UncheckedNotUsed { records: unchecked },
            };
            self.diagnostics.push(packet.diagnostic(DiagnosticKind::Metadata(error), Some(0)));
        }
    }

    fn conflict(&mut self, packet: &Located<'_>, offset: usize, what: Declaration, id: u32) {
        let kind = DiagnosticKind::ConflictingDeclaration { what, id };
        self.diagnostics.push(packet.diagnostic(kind, Some(offset)));
    }

    fn record(&mut self, packet: &Located<'_>, offset: usize, record: Record) {
        match record {
            Record::Trace(trace) => {
                if trace != self.metadata.trace {
                    self.conflict(packet, offset, Declaration::Trace, 0);
                }
            }
            Record::Clock(clock) => match self.metadata.clocks.get(&clock.id) {
                Some(existing) if *existing == clock => {}
                Some(_) => self.conflict(packet, offset, Declaration::Clock, clock.id),
                None => {
                    self.metadata.clocks.insert(clock.id, clock);
                }
            },
            Record::StreamClass(class) => match self.metadata.stream_classes.get(&class.id) {
                Some(existing) if *existing == class => {}
                Some(_) => self.conflict(packet, offset, Declaration::StreamClass, class.id),
                None => {
                    let kind =
                        DiagnosticKind::UndeclaredClock { stream_class: class.id, clock_id: class.clock_id };
                    let field = offset + ENVELOPE_LEN + field_at::STREAM_CLASS_CLOCK_ID;
                    self.stream_class_at.insert(class.id, packet.diagnostic(kind, Some(field)));
                    self.metadata.stream_classes.insert(class.id, class);
                }
            },
            Record::EventClass(class) => self.event_class(packet, offset, class),
            Record::Env(entry) => {
                let env = &mut self.metadata.env;
                match self.env_index.get(&entry.key).and_then(|&at| env.get_mut(at)) {
                    Some(existing) => existing.value = entry.value,
                    None => {
                        self.env_index.insert(entry.key.clone(), env.len());
                        env.push(entry);
                    }
                }
            }
            // An index describes packets (§14); it declares nothing.
            Record::Index(_) | Record::Unknown { .. } => {}
        }
    }

    fn event_class(&mut self, packet: &Located<'_>, offset: usize, class: EventClass) {
        let id = class.id;
        if let Some(existing) = self.classes.get(&id) {
            if existing.class != class {
                self.conflict(packet, offset, Declaration::EventClass, id);
            }
            return;
        }
        if self.metadata.undecodable.contains(&id) {
            self.conflict(packet, offset, Declaration::EventClass, id);
            return;
        }
        if !class.identity_matches() {
            let computed = tracemark_format::identity_hash(&class.name, &class.layout);
            let kind = DiagnosticKind::IdentityMismatch { id, recorded: class.identity, computed };
            let field = offset + ENVELOPE_LEN + field_at::EVENT_CLASS_IDENTITY;
            self.diagnostics.push(packet.diagnostic(kind, Some(field)));
        }
        let abi = self.metadata.trace.abi;
        let compiled = match &class.layout {
            Layout::Fields(fields) => Plan::compile(fields, &abi).map(|plan| (plan, pointer_hints(fields))),
            Layout::Marker(_) => match class.marker_args() {
                Ok(args) => {
                    let hints = args.iter().map(|arg| arg.hint).collect();
                    let fields: Vec<_> = args.into_iter().map(|arg| arg.field).collect();
                    Plan::compile(&fields, &abi).map(|plan| (plan, Some(hints)))
                }
                // The format crate validates format strings while parsing; kept for safety.
                Err(error) => Err(MetadataErrorKind::Marker(error)),
            },
        };
        match compiled {
            Ok((plan, hints)) => {
                let layout = PayloadLayout::compile(&plan);
                let may_stream = crate::streamed::may_stream(&plan);
                self.classes.insert(id, ClassEntry { class, hints, plan, layout, may_stream, slot: 0 });
            }
            Err(kind) => {
                let error =
                    MetadataError { offset, record_kind: kind::EVENT_CLASS, event_id: Some(id), kind };
                self.diagnostics.push(packet.diagnostic(DiagnosticKind::Metadata(error), Some(offset)));
                self.metadata.undecodable.insert(id);
            }
        }
    }

    /// Stream classes naming a clock that no CLOCK record declares (§7.5).
    fn check_clocks(&mut self) {
        for (id, class) in &self.metadata.stream_classes {
            if !self.metadata.clocks.contains_key(&class.clock_id) {
                if let Some(diagnostic) = self.stream_class_at.remove(id) {
                    self.diagnostics.push(diagnostic);
                }
            }
        }
    }
}

/// Hexadecimal for pointer fields, as C programmers print them; `None` when there are none.
fn pointer_hints(fields: &[Field]) -> Option<Vec<DisplayHint>> {
    let is_pointer = |field: &Field| field.ty == TypeDesc::Int(IntType::Abi(AbiInt::Pointer));
    fields.iter().any(is_pointer).then(|| {
        fields
            .iter()
            .map(|field| if is_pointer(field) { DisplayHint::Hex } else { DisplayHint::Natural })
            .collect()
    })
}
