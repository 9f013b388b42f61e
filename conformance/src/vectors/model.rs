//! Traces described packet by packet, encoded with the format crate's encoders, for the vectors
//! the Rust writer cannot produce: damaged, hostile or from a newer minor version.
//!
//! A [`TraceDesc`] lists packets; a data packet lists events by class, timestamp and values
//! ([`Val`]); a metadata packet lists records. Damage is named, not spelled in bytes: a
//! [`MetaDamage`] or [`EventDamage`] changes one encoded record, [`HeaderEdit`]s change a
//! packet header before it is sealed (so its CRC still matches), and a [`FileDamage`] changes
//! the container after sealing (so a CRC no longer matches). Every place a finding is
//! expected is a [`Loc`], resolved to a file and offset when the trace is laid out.

use std::collections::BTreeMap;

use tracemark_format::{
    compress::Codec,
    crc::packet_crc,
    metadata::{append_record_check, ENVELOPE_LEN},
    packet::CRC_FIELD,
    Abi, ByteOrder, ClockClass, EnvEntry, EventClass, Field, HeaderWord, Layout, PacketFlags, PacketHeader,
    Record, StreamClass, TraceInfo, TypeDesc, PACKET_HEADER_LEN,
};
use tracemark_writer::PayloadWriter;

use crate::{encode, Val};

/// The UUID of every vector: a fixed version 4 UUID (§4.6).
pub const VECTOR_UUID: [u8; 16] =
    [0x5b, 0x1e, 0x7c, 0x3a, 0x92, 0x04, 0x4d, 0x61, 0xa8, 0x3f, 0x0e, 0x55, 0x91, 0xc2, 0x6b, 0x7d];

/// The clock of every described trace: 1 GHz, tick 0 at 2023-11-14T22:13:20Z.
pub fn vector_clock() -> ClockClass {
    ClockClass {
        id: 0,
        frequency: 1_000_000_000,
        offset_ns: 1_700_000_000_000_000_000,
        precision: 1,
        name: "monotonic".into(),
        description: "conformance vector clock".into(),
    }
}

/// The TRACE record of a described trace with `abi` and `uuid`.
pub fn trace_info(abi: Abi, uuid: [u8; 16]) -> TraceInfo {
    TraceInfo {
        uuid,
        abi,
        os_name: "Linux".into(),
        os_release: "6.1.0-vector".into(),
        architecture: "vector".into(),
        hostname: "conformance".into(),
        tracer_name: "tracemark-conformance".into(),
        tracer_version: "1".into(),
    }
}

/// An event class with a field list, log level unspecified, identity computed.
pub fn class(id: u32, name: &str, fields: Vec<Field>) -> EventClass {
    EventClass::new(id, 0, name, Layout::Fields(fields))
}

/// A metadata record.
#[derive(Debug, Clone, PartialEq)]
pub enum Meta {
    /// The trace's TRACE record ([`trace_info`] of its ABI).
    Trace,
    /// A TRACE record as given.
    TraceWith(Box<TraceInfo>),
    /// CLOCK.
    Clock(ClockClass),
    /// STREAM_CLASS.
    StreamClass(StreamClass),
    /// EVENT_CLASS.
    Class(EventClass),
    /// ENV.
    Env(EnvEntry),
    /// A record of a kind this version does not define, with a body of `body_len` bytes.
    Unknown {
        /// The kind.
        kind: u16,
        /// Its body length.
        body_len: u32,
    },
    /// A record, encoded, then damaged.
    Damaged(Box<Meta>, MetaDamage),
    /// A record with its check (§7.2, version 1.1); the others are written without, as a 1.0
    /// writer does.
    Checked(Box<Meta>),
}

/// A change to one encoded metadata record.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaDamage {
    /// Envelope `flags` set (reserved, §11.4).
    EnvelopeFlags(u16),
    /// Envelope `body_len` set, e.g. past the packet content (§7.1).
    BodyLen(u32),
    /// The last `n` bytes of the body cut, `body_len` shrunk with them: fields run past it.
    CutBody(usize),
    /// `n` bytes appended to the body, as a later minor version appends fields (§7.2).
    ExtraBody(usize),
    /// An EVENT_CLASS record's `identity` set.
    Identity(u64),
    /// An EVENT_CLASS record's `layout_kind` set.
    LayoutKind(u8),
    /// Byte `offset` of the type descriptor of top-level field `field` of an EVENT_CLASS set.
    TypeByte {
        /// The field.
        field: usize,
        /// The byte of its descriptor (0: the type code).
        offset: usize,
        /// The value written.
        value: u8,
    },
    /// An ENV record's value kind set.
    EnvValueKind(u8),
    /// The first byte of a CLOCK, STREAM_CLASS or EVENT_CLASS name set to 0xFF (not UTF-8).
    NameNotUtf8,
    /// A TRACE record's `byte_order` code set.
    ByteOrderCode(u8),
    /// Byte `n` of the encoded record, envelope included, inverted (after its check, if any, was
    /// computed: a flipped bit in transit).
    Invert(usize),
}

/// A change to one encoded event record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventDamage {
    /// The header's event class ID changed after encoding (to an undeclared one).
    Id(u32),
    /// The last field, a string, written without its NUL: it runs to the end of the content.
    /// Only for the last record of a packet.
    DropNul,
    /// The count prefix of top-level field `field`, a sequence, set.
    SequenceCount {
        /// The field.
        field: usize,
        /// The count written.
        count: u32,
    },
    /// Top-level field `field`, a bool, written as `byte`.
    BoolByte {
        /// The field.
        field: usize,
        /// The byte written.
        byte: u8,
    },
    /// An extended header whose word has timestamp bits set (§5.3).
    ExtendedLowBits,
    /// A compact header (§5.2) holding the timestamp's low 48 bits, where the writer rule asks
    /// for an extended one: a timestamp below the previous one, or past 2^64 − 1 from it.
    ForcedCompact,
}

/// One event record.
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    /// Event class ID (the class's first declaration gives the layout).
    pub class: u32,
    /// Timestamp.
    pub ts: u64,
    /// Field values.
    pub values: Vec<Val>,
    /// Force the extended header (§5.4 allows it at any time).
    pub extended: bool,
    /// Damage to the encoded record.
    pub damage: Option<EventDamage>,
}

/// An event of class `class` at `ts` with `values`.
pub fn ev(class: u32, ts: u64, values: Vec<Val>) -> Ev {
    Ev { class, ts, values, extended: false, damage: None }
}

/// Which events of a data packet the reader must deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// All of them.
    All,
    /// None (the packet is withheld: CRC, foreign, another byte order, bad header).
    None,
    /// The first `n` (the record after them is malformed, or the packet is cut).
    First(usize),
}

/// A data packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// Stream class.
    pub stream_class: u32,
    /// Stream instance (CPU).
    pub cpu: u32,
    /// Sequence number; `None`: the next in its stream.
    pub sequence: Option<u64>,
    /// The cumulative discard counter (§10.1).
    pub discarded: u64,
    /// `timestamp_begin`; `None`: the first event's (or the previous packet's end).
    pub begin: Option<u64>,
    /// `timestamp_end`; `None`: the last event's.
    pub end: Option<u64>,
    /// The records.
    pub events: Vec<Ev>,
    /// The records carry narrow header words (§5.1), and the packet version 1.3.
    pub narrow: bool,
    /// What the reader must deliver.
    pub delivered: Delivered,
}

/// A data packet of stream 0/`cpu` with `events`.
pub fn data(cpu: u32, events: Vec<Ev>) -> Data {
    Data {
        stream_class: 0,
        cpu,
        sequence: None,
        discarded: 0,
        begin: None,
        end: None,
        events,
        narrow: false,
        delivered: Delivered::All,
    }
}

/// A packet's records.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A metadata packet.
    Metadata(Vec<Meta>),
    /// A data packet.
    Data(Data),
}

/// A header change made before the packet is sealed: the CRC still matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderEdit {
    /// Written in this byte order (the trace's otherwise).
    Order(ByteOrder),
    /// Another trace's UUID.
    Uuid([u8; 16]),
    /// Version (major, minor).
    Version(u8, u8),
    /// Flag bits set.
    SetFlags(u32),
    /// Flag bits cleared (clearing `HAS_CRC` leaves the packet without CRC).
    ClearFlags(u32),
    /// `crc32` written as this value (after sealing a packet without CRC).
    CrcField(u32),
    /// `content_size`.
    ContentSize(u32),
    /// `header_len` as written (the layout stays 80 bytes).
    HeaderLen(u16),
    /// `packet_size` as written (the bytes stay as many).
    PacketSize(u32),
    /// `n` bytes of padding after the content, beyond rounding up to 8.
    Padding(u32),
    /// `sequence` as written (the stream's numbering goes on from the number it would have had).
    Sequence(u64),
    /// Padding bytes written as this value.
    PaddingFill(u8),
    /// `header_len` grown by `n` bytes (a newer minor version's fields), filled with 0xA5.
    HeaderExtension(u16),
}

/// A packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// Its records.
    pub body: Body,
    /// Header changes.
    pub edits: Vec<HeaderEdit>,
    /// Directory form: the file it goes to, instead of `metadata` or `stream-C-I.tmk`.
    pub file: Option<String>,
    /// Its records compressed (§15), and how the compression lies.
    pub compression: Option<(Codec, CompressionLie)>,
}

/// How a compressed packet (§15) lies, its CRC computed over the lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionLie {
    /// It does not.
    None,
    /// `records_size` is this.
    RecordsSize(u32),
    /// The compressed byte at this offset (from the descriptor's end) is inverted.
    Flip(usize),
}

impl From<Data> for Packet {
    fn from(data: Data) -> Packet {
        Packet { body: Body::Data(data), edits: Vec::new(), file: None, compression: None }
    }
}

/// A metadata packet of `records`.
pub fn meta(records: Vec<Meta>) -> Packet {
    Packet { body: Body::Metadata(records), edits: Vec::new(), file: None, compression: None }
}

impl Packet {
    /// This packet with its records compressed by `codec` (§15.1), lying as `lie` says.
    pub fn compressed(mut self, codec: Codec, lie: CompressionLie) -> Packet {
        self.compression = Some((codec, lie));
        self
    }

    /// This packet with a header edit.
    pub fn edit(mut self, edit: HeaderEdit) -> Packet {
        self.edits.push(edit);
        self
    }

    /// This packet in another file of the directory form.
    pub fn in_file(mut self, file: &str) -> Packet {
        self.file = Some(file.into());
        self
    }
}

/// A place in the laid-out trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loc {
    /// The start of packet `n` (index in [`TraceDesc::packets`]).
    Packet(usize),
    /// Byte `offset` of packet `n`.
    InPacket(usize, usize),
    /// Record `r` of packet `n` (an event, or a metadata record).
    Record(usize, usize),
    /// Byte `offset` of record `r` of packet `n`.
    InRecord(usize, usize, usize),
    /// The start of top-level field `f` of event `r` of packet `n`.
    Field(usize, usize, usize),
    /// The first padding byte of packet `n`.
    Padding(usize),
    /// Just past packet `n` (where the next one starts, unless bytes were inserted there).
    After(usize),
    /// The first INDEX record of [`FileDamage::Index`].
    IndexRecord,
    /// The packet holding it.
    IndexPacket,
    /// Data packet `sequence` of stream 0/`cpu` (for traces the writer produced).
    StreamPacket {
        /// The CPU.
        cpu: u32,
        /// The sequence number.
        sequence: u64,
    },
    /// Offset 0 of the first file.
    Start,
    /// Byte `offset` of file `name` of a directory ([`TraceDesc::extra_files`]).
    InFile(&'static str, usize),
}

/// Damage to the laid-out container, after sealing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDamage {
    /// The byte at a place inverted.
    Flip(Loc),
    /// The file holding a place cut there.
    Truncate(Loc),
    /// `n` bytes of 0xEE inserted at a place.
    Garbage(Loc, usize),
    /// These bytes inserted at a place.
    Insert(Loc, Vec<u8>),
    /// The packet index (§14) of the single file, or of each stream file (sidecars in
    /// `index/`), computed from the laid-out packets; the lie is told in the first one.
    Index(IndexLie),
}

/// What the first index of [`FileDamage::Index`] gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexLie {
    /// Nothing.
    None,
    /// Built before the file's last packet was written: stale (§14.4).
    Stale,
    /// Entry `n`'s `timestamp_end` is this, the record's check and the packet's CRC
    /// recomputed: a consistent lie (§14.4).
    TimestampEnd(usize, u64),
    /// The record without its check (§14.2).
    Unchecked,
    /// Byte `n` of the index packet inverted after sealing.
    Flip(usize),
}

/// A trace, packet by packet.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceDesc {
    /// ABI and byte order.
    pub abi: Abi,
    /// The trace UUID, in TRACE and every packet (unless a packet's header says otherwise).
    pub uuid: [u8; 16],
    /// Whether packets carry a CRC.
    pub crc: bool,
    /// The packets, in container order.
    pub packets: Vec<Packet>,
    /// Damage after sealing.
    pub damage: Vec<FileDamage>,
    /// Directory form: files besides the trace's (a reader ignores them, §9.1).
    pub extra_files: Vec<(String, Vec<u8>)>,
}

impl TraceDesc {
    /// A trace with `abi` and CRCs whose first metadata packet holds TRACE, the clock, the
    /// stream class 0 (`kernel`) and `classes`.
    pub fn new(abi: Abi, classes: Vec<EventClass>) -> TraceDesc {
        let mut records = vec![
            Meta::Trace,
            Meta::Clock(vector_clock()),
            Meta::StreamClass(StreamClass { id: 0, clock_id: 0, name: "kernel".into() }),
        ];
        records.extend(classes.into_iter().map(Meta::Class));
        TraceDesc {
            abi,
            uuid: VECTOR_UUID,
            crc: true,
            packets: vec![meta(records)],
            damage: Vec::new(),
            extra_files: Vec::new(),
        }
    }

    /// Appends a packet.
    pub fn packet(mut self, packet: impl Into<Packet>) -> TraceDesc {
        self.packets.push(packet.into());
        self
    }

    /// Adds damage after sealing.
    pub fn damage(mut self, damage: FileDamage) -> TraceDesc {
        self.damage.push(damage);
        self
    }
}

/// Where a packet landed and what is inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedPacket {
    /// The file.
    pub file: String,
    /// Its offset in the file.
    pub offset: usize,
    /// Its sealed header.
    pub header: PacketHeader,
    /// Offsets of its records, from the packet start.
    pub records: Vec<usize>,
    /// For data records: offsets of their top-level fields, from the packet start.
    pub fields: Vec<Vec<usize>>,
    /// Index in [`TraceDesc::packets`], when described.
    pub index: Option<usize>,
}

/// A laid-out container: files and their bytes, and where each packet is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaidOut {
    /// File names (the single file's name, or names inside the directory) and bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// Every packet.
    pub packets: Vec<PlacedPacket>,
    /// The file and offset of the first INDEX record ([`FileDamage::Index`]).
    pub index_record: Option<(String, usize)>,
}

/// Why a description cannot be laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, DescError> {
    Err(DescError(message.into()))
}

impl LaidOut {
    /// The file and offset of `loc`.
    pub fn resolve(&self, loc: &Loc) -> Result<(String, u64), DescError> {
        let described = |index: usize| {
            self.packets
                .iter()
                .find(|packet| packet.index == Some(index))
                .ok_or_else(|| DescError(format!("no packet {index}")))
        };
        let (packet, within) = match loc {
            Loc::Start => return Ok((self.files.first().map(|f| f.0.clone()).unwrap_or_default(), 0)),
            Loc::InFile(name, offset) => {
                return match self.files.iter().find(|(file, _)| file == name) {
                    Some((file, _)) => Ok((file.clone(), *offset as u64)),
                    None => fail(format!("no file {name}")),
                };
            }
            Loc::IndexRecord | Loc::IndexPacket => {
                let (file, offset) = self.index_record.clone().ok_or_else(|| DescError("no index".into()))?;
                let header = if *loc == Loc::IndexPacket { tracemark_format::PACKET_HEADER_LEN } else { 0 };
                return Ok((file, (offset - header) as u64));
            }
            Loc::Packet(n) => (described(*n)?, 0),
            Loc::InPacket(n, offset) => (described(*n)?, *offset),
            Loc::Record(n, r) | Loc::InRecord(n, r, _) => {
                let packet = described(*n)?;
                let record =
                    *packet.records.get(*r).ok_or_else(|| DescError(format!("no record {r} in {n}")))?;
                let extra = if let Loc::InRecord(_, _, extra) = loc { *extra } else { 0 };
                (packet, record + extra)
            }
            Loc::Field(n, r, f) => {
                let packet = described(*n)?;
                let field = packet
                    .fields
                    .get(*r)
                    .and_then(|fields| fields.get(*f))
                    .ok_or_else(|| DescError(format!("no field {f} of record {r} in {n}")))?;
                (packet, *field)
            }
            Loc::Padding(n) => {
                let packet = described(*n)?;
                (packet, packet.header.content_size as usize)
            }
            Loc::After(n) => {
                let packet = described(*n)?;
                (packet, packet.header.packet_size as usize)
            }
            Loc::StreamPacket { cpu, sequence } => {
                let packet = self
                    .packets
                    .iter()
                    .find(|packet| {
                        !packet.header.is_metadata()
                            && packet.header.stream_instance_id == *cpu
                            && packet.header.sequence == *sequence
                    })
                    .ok_or_else(|| DescError(format!("no packet {sequence} of cpu {cpu}")))?;
                (packet, 0)
            }
        };
        Ok((packet.file.clone(), (packet.offset + within) as u64))
    }

    /// Applies damage after sealing.
    pub fn apply(&mut self, damage: &FileDamage) -> Result<(), DescError> {
        let (loc, action) = match damage {
            FileDamage::Flip(loc) => (loc, 0),
            FileDamage::Truncate(loc) => (loc, 1),
            FileDamage::Garbage(loc, _) | FileDamage::Insert(loc, _) => (loc, 2),
            FileDamage::Index(lie) => return self.index(*lie),
        };
        let (file, offset) = self.resolve(loc)?;
        let offset = offset as usize;
        let Some((_, bytes)) = self.files.iter_mut().find(|(name, _)| *name == file) else {
            return fail(format!("no file {file}"));
        };
        match (action, damage) {
            (0, _) => match bytes.get_mut(offset) {
                Some(byte) => *byte = !*byte,
                None => return fail("flip past the end"),
            },
            (1, _) => bytes.truncate(offset),
            (_, FileDamage::Garbage(_, len)) => {
                insert(bytes, &mut self.packets, &file, offset, &vec![0xEE; *len])
            }
            (_, FileDamage::Insert(_, inserted)) => insert(bytes, &mut self.packets, &file, offset, inserted),
            _ => {}
        }
        Ok(())
    }
}

impl LaidOut {
    /// Writes the index of the single file at its end, or of each stream file in `index/`
    /// (§14.3), from the packets as laid out; `lie` in the first.
    fn index(&mut self, lie: IndexLie) -> Result<(), DescError> {
        use tracemark_format::index::{encode_packet, IndexEntry, PacketIndex};
        let directory = self.files.first().is_some_and(|(name, _)| name == "metadata");
        let (first, order) = self
            .files
            .first()
            .and_then(|(_, bytes)| PacketHeader::decode(bytes).ok())
            .ok_or_else(|| DescError("no first packet".into()))?;
        let targets: Vec<usize> = (0..self.files.len())
            .filter(|&n| if directory { self.files[n].0.ends_with(".tmk") } else { n == 0 })
            .collect();
        for (count, file) in targets.into_iter().enumerate() {
            let lie = if count == 0 { lie } else { IndexLie::None };
            let name = self.files[file].0.clone();
            let mut packets: Vec<&PlacedPacket> =
                self.packets.iter().filter(|packet| packet.file == name).collect();
            packets.sort_by_key(|packet| packet.offset);
            let mut entries: Vec<IndexEntry> = packets
                .iter()
                .map(|packet| {
                    IndexEntry::of(packet.offset as u64, &packet.header, packet.records.len() as u32)
                })
                .collect();
            let sequence = if directory {
                0
            } else {
                packets
                    .iter()
                    .filter(|packet| packet.header.is_metadata())
                    .map(|packet| packet.header.sequence + 1)
                    .max()
                    .unwrap_or(0)
            };
            match lie {
                IndexLie::Stale => {
                    entries.pop();
                }
                IndexLie::TimestampEnd(entry, value) => {
                    entries.get_mut(entry).ok_or_else(|| DescError("no such entry".into()))?.timestamp_end =
                        value;
                }
                _ => {}
            }
            let file_len = entries.last().map_or(0, IndexEntry::end);
            let at = self.files[file].1.len();
            let index =
                PacketIndex { file_len, entries, index_offset: if directory { 0 } else { at as u64 } };
            let mut packet = encode_packet(&index, first.trace_uuid, order, sequence);
            let record = tracemark_format::PACKET_HEADER_LEN;
            match lie {
                IndexLie::Unchecked => {
                    // Flags 0, and the packet's CRC over the change.
                    packet[record + 2..record + 4].fill(0);
                    let size = packet.len();
                    let crc = tracemark_format::crc::packet_crc(&packet, size).unwrap_or(0);
                    packet[12..16].copy_from_slice(&order.u32_bytes(crc));
                }
                IndexLie::Flip(byte) => {
                    let byte = packet.get_mut(byte).ok_or_else(|| DescError("flip past the index".into()))?;
                    *byte = !*byte;
                }
                _ => {}
            }
            let holder = if directory {
                let sidecar = format!("index/{name}.idx");
                self.files.push((sidecar.clone(), packet));
                (sidecar, record)
            } else {
                self.files[file].1.extend_from_slice(&packet);
                (name, at + record)
            };
            if count == 0 {
                self.index_record = Some(holder);
            }
        }
        Ok(())
    }
}

/// Inserts `inserted` at `offset` of `bytes`, a file holding `packets`, moving the packets after it.
fn insert(bytes: &mut Vec<u8>, packets: &mut [PlacedPacket], file: &str, offset: usize, inserted: &[u8]) {
    let tail = bytes.split_off(offset.min(bytes.len()));
    bytes.extend_from_slice(inserted);
    bytes.extend(tail);
    for packet in packets.iter_mut() {
        if packet.file == file && packet.offset >= offset {
            packet.offset += inserted.len();
        }
    }
}

/// The class declarations of a description, first declaration of each ID kept (§7.6).
pub fn declared_classes(desc: &TraceDesc) -> BTreeMap<u32, EventClass> {
    let mut classes = BTreeMap::new();
    for packet in &desc.packets {
        if let Body::Metadata(records) = &packet.body {
            for record in records {
                let mut inner = record;
                // A damaged declaration is still the one the encoder uses for payloads.
                while let Meta::Damaged(meta, _) | Meta::Checked(meta) = inner {
                    inner = meta;
                }
                if let Meta::Class(class) = inner {
                    classes.entry(class.id).or_insert_with(|| class.clone());
                }
            }
        }
    }
    classes
}

const fn align8(value: usize) -> usize {
    (value + 7) & !7
}

fn encode_record(meta: &Meta, abi: Abi, uuid: [u8; 16]) -> Result<Vec<u8>, DescError> {
    let order = abi.byte_order;
    let record = match meta {
        Meta::Trace => Record::Trace(trace_info(abi, uuid)),
        Meta::TraceWith(info) => Record::Trace((**info).clone()),
        Meta::Clock(clock) => Record::Clock(clock.clone()),
        Meta::StreamClass(class) => Record::StreamClass(class.clone()),
        Meta::Class(class) => Record::EventClass(class.clone()),
        Meta::Env(entry) => Record::Env(entry.clone()),
        Meta::Unknown { kind, body_len } => Record::Unknown { kind: *kind, body_len: *body_len },
        Meta::Damaged(inner, damage) => {
            let mut bytes = encode_record(inner, abi, uuid)?;
            damage_record(&mut bytes, inner, damage, abi)?;
            return Ok(bytes);
        }
        Meta::Checked(inner) => {
            // The record as encoded (damage and appended fields included), then its check.
            let mut bytes = encode_record(inner, abi, uuid)?;
            append_record_check(&mut bytes, 0, order).map_err(|error| DescError(error.to_string()))?;
            return Ok(bytes);
        }
    };
    let mut bytes = Vec::new();
    record.encode(order, &mut bytes).map_err(|error| DescError(format!("encoding {meta:?}: {error}")))?;
    if let Meta::Unknown { .. } = meta {
        // A body a reader cannot mistake for anything: 0xC3 repeated.
        bytes[ENVELOPE_LEN..].fill(0xC3);
    }
    Ok(bytes)
}

fn damage_record(bytes: &mut Vec<u8>, inner: &Meta, damage: &MetaDamage, abi: Abi) -> Result<(), DescError> {
    let order = abi.byte_order;
    let body_len = |bytes: &[u8]| order.read_u32(&bytes[4..]).unwrap_or(0);
    let set_body_len = |bytes: &mut Vec<u8>, len: u32| bytes[4..8].copy_from_slice(&order.u32_bytes(len));
    let set = |bytes: &mut Vec<u8>, at: usize, value: u8| match bytes.get_mut(ENVELOPE_LEN + at) {
        Some(byte) => {
            *byte = value;
            Ok(())
        }
        None => fail(format!("{damage:?} past the record")),
    };
    match damage {
        MetaDamage::EnvelopeFlags(flags) => bytes[2..4].copy_from_slice(&order.u16_bytes(*flags)),
        MetaDamage::BodyLen(len) => set_body_len(bytes, *len),
        MetaDamage::CutBody(cut) => {
            let len = body_len(bytes) as usize;
            let Some(kept) = len.checked_sub(*cut) else { return fail("cut longer than the body") };
            bytes.truncate(ENVELOPE_LEN + kept);
            set_body_len(bytes, kept as u32);
        }
        MetaDamage::ExtraBody(extra) => {
            bytes.extend(std::iter::repeat_n(0xEE, *extra));
            let len = body_len(bytes) + *extra as u32;
            set_body_len(bytes, len);
        }
        MetaDamage::Identity(identity) => {
            bytes[ENVELOPE_LEN + 10..ENVELOPE_LEN + 18].copy_from_slice(&order.u64_bytes(*identity))
        }
        MetaDamage::LayoutKind(kind) => set(bytes, 9, *kind)?,
        MetaDamage::TypeByte { field, offset, value } => {
            let Meta::Class(class) = inner else { return fail("TypeByte needs an event class") };
            let Layout::Fields(fields) = &class.layout else { return fail("TypeByte needs a field list") };
            let Some(target) = fields.get(*field) else { return fail("no such field") };
            let _ = target;
            let start = field_type_offset(class, *field, order)? - ENVELOPE_LEN;
            set(bytes, start + offset, *value)?;
        }
        MetaDamage::EnvValueKind(kind) => {
            let Meta::Env(entry) = inner else { return fail("EnvValueKind needs an ENV record") };
            set(bytes, 2 + entry.key.len(), *kind)?;
        }
        MetaDamage::NameNotUtf8 => {
            let at = match inner {
                Meta::Clock(_) => 30,
                Meta::StreamClass(_) => 10,
                Meta::Class(_) => 20,
                _ => return fail("NameNotUtf8 needs a clock, stream class or event class"),
            };
            set(bytes, at, 0xFF)?;
        }
        MetaDamage::ByteOrderCode(code) => set(bytes, 16, *code)?,
        MetaDamage::Invert(at) => match bytes.get_mut(*at) {
            Some(byte) => *byte = !*byte,
            None => return fail(format!("{damage:?} past the record")),
        },
    }
    Ok(())
}

/// Offset, in an encoded EVENT_CLASS record (envelope included), of the type descriptor of
/// top-level field `field`: where a one-byte descriptor in its place would be.
pub fn field_type_offset(class: &EventClass, field: usize, order: ByteOrder) -> Result<usize, DescError> {
    let Layout::Fields(fields) = &class.layout else { return fail("a field list is needed") };
    let Some(target) = fields.get(field) else { return fail("no such field") };
    let mut probe = fields[..field].to_vec();
    probe.push(Field::new(target.name.clone(), TypeDesc::Bool));
    let probe = EventClass { layout: Layout::Fields(probe), ..class.clone() };
    let mut bytes = Vec::new();
    Record::EventClass(probe).encode(order, &mut bytes).map_err(|error| DescError(error.to_string()))?;
    Ok(bytes.len() - 1)
}

/// An encoded event record, with the offsets of its top-level fields.
fn encode_event(
    event: &Ev,
    classes: &BTreeMap<u32, EventClass>,
    abi: Abi,
    order: ByteOrder,
    previous: u64,
    word: HeaderWord,
) -> Result<(Vec<u8>, Vec<usize>), DescError> {
    let Some(class) = classes.get(&event.class) else {
        return fail(format!("class {} not declared", event.class));
    };
    let fields = class.fields().map_err(|error| DescError(error.to_string()))?;
    if fields.len() != event.values.len() {
        return fail(format!("{} values for {} fields of {}", event.values.len(), fields.len(), class.name));
    }
    let (word_len, bits, mask) = (word.compact_len(), word.timestamp_bits(), word.timestamp_mask());
    let put_word = |out: &mut [u8], value: u64| match word {
        HeaderWord::Wide => out[..8].copy_from_slice(&order.u64_bytes(value)),
        HeaderWord::Narrow => out[..4].copy_from_slice(&order.u32_bytes(value as u32)),
    };
    let escape = u64::from(word.escape_id()) << bits;
    let mut out = vec![0u8; 20];
    let header_len = if event.extended || event.damage == Some(EventDamage::ExtendedLowBits) {
        // Extended on request: the writer rule allows it at any time (§5.4).
        let low_bits = u64::from(event.damage == Some(EventDamage::ExtendedLowBits));
        put_word(&mut out, escape | low_bits);
        out[word_len..word_len + 4].copy_from_slice(&order.u32_bytes(event.class));
        out[word_len + 4..word_len + 12].copy_from_slice(&order.u64_bytes(event.ts));
        word.extended_len()
    } else if event.damage == Some(EventDamage::ForcedCompact) {
        put_word(&mut out, (u64::from(event.class) << bits) | (event.ts & mask));
        word_len
    } else {
        word.encode(event.class, event.ts, previous, order, &mut out)
            .ok_or_else(|| DescError("event header".into()))?
    };
    out.truncate(header_len);
    let mut offsets = Vec::with_capacity(fields.len());
    for (index, (field, value)) in fields.iter().zip(&event.values).enumerate() {
        offsets.push(out.len());
        let size = encode::size(&field.ty, value, &abi).map_err(|mismatch| DescError(mismatch.0))?;
        let mut buffer = vec![0u8; size];
        let mut writer = PayloadWriter::new(&mut buffer, abi);
        encode::write(&field.ty, value, &mut writer);
        if !writer.is_complete() {
            return fail(format!("field {} of {} did not encode", field.name, class.name));
        }
        match event.damage {
            Some(EventDamage::DropNul) if index + 1 == fields.len() => drop_nul(&mut buffer)?,
            Some(EventDamage::SequenceCount { field: target, count }) if target == index => {
                buffer[..4].copy_from_slice(&order.u32_bytes(count));
            }
            Some(EventDamage::BoolByte { field: target, byte }) if target == index => buffer[0] = byte,
            _ => {}
        }
        out.extend_from_slice(&buffer);
    }
    if let Some(EventDamage::Id(id)) = event.damage {
        if header_len == word.extended_len() {
            out[word_len..word_len + 4].copy_from_slice(&order.u32_bytes(id));
        } else {
            let read = match word {
                HeaderWord::Wide => order.read_u64(&out),
                HeaderWord::Narrow => order.read_u32(&out).map(u64::from),
            };
            put_word(&mut out, (read.unwrap_or(0) & mask) | (u64::from(id) << bits));
        }
    }
    Ok((out, offsets))
}

/// Removes the NUL ending an encoded string field.
fn drop_nul(buffer: &mut Vec<u8>) -> Result<(), DescError> {
    match buffer.pop() {
        Some(0) => Ok(()),
        _ => fail("DropNul needs a string as the last field"),
    }
}

/// A sealed packet: its bytes, header, and the offsets of its records and their fields.
struct Encoded {
    bytes: Vec<u8>,
    header: PacketHeader,
    records: Vec<usize>,
    fields: Vec<Vec<usize>>,
}

/// One packet's bytes and record offsets, sealed.
fn encode_packet(
    desc: &TraceDesc,
    packet: &Packet,
    classes: &BTreeMap<u32, EventClass>,
    sequence: u64,
    previous_end: u64,
) -> Result<Encoded, DescError> {
    let mut order = desc.abi.byte_order;
    let mut extension = 0usize;
    let mut padding = 0usize;
    let mut fill = 0u8;
    for edit in &packet.edits {
        match edit {
            HeaderEdit::Order(edit_order) => order = *edit_order,
            HeaderEdit::HeaderExtension(extra) => extension = *extra as usize,
            HeaderEdit::Padding(extra) => padding = *extra as usize,
            HeaderEdit::PaddingFill(byte) => fill = *byte,
            _ => {}
        }
    }
    let header_len = PACKET_HEADER_LEN + extension;
    let mut bytes = vec![0xA5u8; header_len];
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut header: PacketHeader;
    match &packet.body {
        Body::Metadata(list) => {
            header = PacketHeader::new_metadata(desc.uuid);
            // The model writes version 1.0 traces (a `Version` edit makes newer ones).
            header.version_minor = 0;
            for record in list {
                records.push(bytes.len());
                bytes.extend(encode_record(record, Abi { byte_order: order, ..desc.abi }, desc.uuid)?);
            }
        }
        Body::Data(data) => {
            header = PacketHeader::new_data(desc.uuid, data.stream_class, data.cpu);
            header.version_minor = 0;
            let word = if data.narrow { HeaderWord::Narrow } else { HeaderWord::Wide };
            if data.narrow {
                header.flags.0 |= PacketFlags::NARROW_HEADERS;
                header.version_minor = tracemark_format::event_header::NARROW_HEADERS_VERSION_MINOR;
            }
            header.events_discarded = data.discarded;
            let first = data.events.first().map(|event| event.ts);
            let begin = data.begin.or(first).unwrap_or(previous_end);
            let end = data.end.or(data.events.last().map(|event| event.ts)).unwrap_or(begin);
            header.timestamp_begin = begin;
            header.timestamp_end = end;
            let mut previous = begin;
            for event in &data.events {
                let abi = Abi { byte_order: order, ..desc.abi };
                let (record, offsets) = encode_event(event, classes, abi, order, previous, word)?;
                records.push(bytes.len());
                fields.push(offsets.iter().map(|offset| bytes.len() + offset).collect());
                bytes.extend(record);
                previous = event.ts;
            }
        }
    }
    if let Some((codec, lie)) = packet.compression {
        // The model's own encoding of §15.1: descriptor, then one zstd frame or LZ4 block.
        let plain = bytes.split_off(header_len);
        let mut compressed = match codec {
            Codec::Zstd => zstd::bulk::compress(&plain, 3).map_err(|error| DescError(error.to_string()))?,
            Codec::Lz4 => lz4_flex::block::compress(&plain),
        };
        let records_size = match lie {
            CompressionLie::RecordsSize(size) => size,
            _ => plain.len() as u32,
        };
        if let CompressionLie::Flip(at) = lie {
            let byte = compressed.get_mut(at).ok_or_else(|| DescError("flip past the frame".into()))?;
            *byte = !*byte;
        }
        bytes.push(codec.code());
        bytes.extend([0, 0, 0]);
        bytes.extend(order.u32_bytes(records_size));
        bytes.extend(compressed);
        header.flags.0 |= PacketFlags::COMPRESSED;
        header.version_minor = header.version_minor.max(2);
        // Decompressed records have no bytes in the file: what is found in them is found at
        // the compressed content (§10.7).
        records.iter_mut().for_each(|record| *record = header_len);
        fields.iter_mut().flatten().for_each(|field: &mut usize| *field = header_len);
    }
    let content_size = bytes.len();
    let packet_size = align8(content_size) + padding;
    bytes.resize(packet_size, fill);
    header.header_len = header_len as u16;
    header.sequence = sequence;
    header.content_size = content_size as u32;
    header.packet_size = packet_size as u32;
    if desc.crc {
        header.flags.0 |= PacketFlags::HAS_CRC;
    }
    let mut crc_field = None;
    for edit in &packet.edits {
        match *edit {
            HeaderEdit::Uuid(uuid) => header.trace_uuid = uuid,
            HeaderEdit::Version(major, minor) => {
                (header.version_major, header.version_minor) = (major, minor)
            }
            HeaderEdit::SetFlags(flags) => header.flags.0 |= flags,
            HeaderEdit::ClearFlags(flags) => header.flags.0 &= !flags,
            HeaderEdit::CrcField(value) => crc_field = Some(value),
            HeaderEdit::ContentSize(size) => header.content_size = size,
            HeaderEdit::HeaderLen(len) => header.header_len = len,
            HeaderEdit::PacketSize(size) => header.packet_size = size,
            HeaderEdit::Sequence(sequence) => header.sequence = sequence,
            _ => {}
        }
    }
    let mut fixed = [0u8; PACKET_HEADER_LEN];
    header.crc32 = 0;
    header.encode(order, &mut fixed);
    bytes[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
    if header.flags.has_crc() {
        header.crc32 = packet_crc(&bytes, header.content_size as usize).unwrap_or(0);
    }
    if let Some(value) = crc_field {
        header.crc32 = value;
    }
    bytes[CRC_FIELD].copy_from_slice(&order.u32_bytes(header.crc32));
    Ok(Encoded { bytes, header, records, fields })
}

/// Encodes and places every packet: one file `name` (single-file form), or a directory's files
/// (`metadata`, `stream-C-I.tmk`, extra files); then applies the file damage.
pub fn lay_out(desc: &TraceDesc, name: &str, directory: bool) -> Result<LaidOut, DescError> {
    let classes = declared_classes(desc);
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut placed = Vec::new();
    let mut sequences: BTreeMap<(bool, u32, u32), u64> = BTreeMap::new();
    let mut ends: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    if directory {
        files.push(("metadata".into(), Vec::new()));
    } else {
        files.push((name.into(), Vec::new()));
    }
    for (index, packet) in desc.packets.iter().enumerate() {
        let (key, sequence_override) = match &packet.body {
            Body::Metadata(_) => ((true, 0, 0), None),
            Body::Data(data) => ((false, data.stream_class, data.cpu), data.sequence),
        };
        let next = sequences.entry(key).or_insert(0);
        let sequence = sequence_override.unwrap_or(*next);
        *next = sequence + 1;
        let previous_end = ends.get(&(key.1, key.2)).copied().unwrap_or(0);
        let Encoded { bytes, header, records, fields } =
            encode_packet(desc, packet, &classes, sequence, previous_end)?;
        if !key.0 {
            ends.insert((key.1, key.2), header.timestamp_end);
        }
        let file = match (&packet.file, directory, &packet.body) {
            (Some(file), true, _) => file.clone(),
            (_, false, _) => name.to_string(),
            (None, true, Body::Metadata(_)) => "metadata".into(),
            (None, true, Body::Data(data)) => format!("stream-{}-{}.tmk", data.stream_class, data.cpu),
        };
        let position = match files.iter().position(|(existing, _)| *existing == file) {
            Some(position) => position,
            None => {
                files.push((file.clone(), Vec::new()));
                files.len() - 1
            }
        };
        let target = &mut files[position].1;
        placed.push(PlacedPacket { file, offset: target.len(), header, records, fields, index: Some(index) });
        target.extend(bytes);
    }
    if directory {
        files.extend(desc.extra_files.iter().cloned());
    }
    let mut laid = LaidOut { files, packets: placed, index_record: None };
    for damage in &desc.damage {
        laid.apply(damage)?;
    }
    Ok(laid)
}

/// What the reader must deliver from a description: per stream (ordered by class, instance),
/// the events in record order, each with its class and stream.
pub fn delivered_events(desc: &TraceDesc) -> Vec<(u32, u32, EventClass, Ev)> {
    let classes = declared_classes(desc);
    let mut streams: BTreeMap<(u32, u32), Vec<(EventClass, Ev)>> = BTreeMap::new();
    for packet in &desc.packets {
        let Body::Data(data) = &packet.body else { continue };
        let count = match data.delivered {
            Delivered::All => data.events.len(),
            Delivered::None => 0,
            Delivered::First(n) => n.min(data.events.len()),
        };
        for event in &data.events[..count] {
            if let Some(class) = classes.get(&event.class) {
                streams
                    .entry((data.stream_class, data.cpu))
                    .or_default()
                    .push((class.clone(), event.clone()));
            }
        }
    }
    streams
        .into_iter()
        .flat_map(|((class_id, cpu), events)| {
            events.into_iter().map(move |(class, ev)| (class_id, cpu, class, ev))
        })
        .collect()
}
