//! The rules checked on the container's bytes with the format crate, apart from the reader,
//! and the table of every rule `tracemark check` applies.

use std::collections::{HashMap, HashSet};

use tracemark_format::{
    crc::packet_crc,
    metadata::{ENVELOPE_LEN, RECORD_CHECKED},
    Record, RecordIter, TraceInfo,
};
use tracemark_reader::StreamId;

use super::{Finding, Severity};
use crate::walk::{self, Found, Placed};

/// A rule of `tracemark check` and the requirements it can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    /// Its name, as findings give it.
    pub name: &'static str,
    /// The requirement IDs its findings carry.
    pub requirements: &'static [&'static str],
    /// What it checks.
    pub about: &'static str,
}

const fn rule(name: &'static str, requirements: &'static [&'static str], about: &'static str) -> RuleInfo {
    RuleInfo { name, requirements, about }
}

/// Every rule: the reader's diagnostics (`reader/<kind>`, mapped by [`super::map`]), the rules
/// on raw bytes of this module, and the rules on decoded events.
pub const RULES: &[RuleInfo] = &[
    rule("reader/DiscardedEvents", &["R-10.1-2"], "events the writer discarded (notice)"),
    rule("reader/DiscardCounterBackwards", &["R-10.1-1"], "the cumulative discard counter went down"),
    rule("reader/PacketGap", &["R-10.2-1"], "packets lost or overwritten (notice)"),
    rule(
        "reader/SequenceNotIncreasing",
        &["R-1.6-1", "R-1.7-2"],
        "a repeated or out-of-order sequence number",
    ),
    rule("reader/CrcMismatch", &["R-4.4-1"], "packet CRC does not match; events withheld"),
    rule("reader/CrcUnchecked", &["R-10.4-2"], "CRC of a truncated packet not checked (notice)"),
    rule("reader/TruncatedPacket", &["R-10.4-1"], "the container ends inside a packet"),
    rule(
        "reader/BadHeader",
        &["R-4.2-1", "R-4.2-2", "R-4.2-3", "R-4.3-1", "R-10.4-1", "R-10.6-1", "R-11.3-1"],
        "invalid packet header",
    ),
    rule("reader/Resynchronized", &["R-10.6-2"], "bytes skipped to the next valid header (notice)"),
    rule("reader/UndeclaredEvent", &["R-7.6-5"], "record of an event class never declared"),
    rule("reader/UndecodableEvent", &["R-7.7-2"], "record of an event class whose declaration failed"),
    rule(
        "reader/Malformed",
        &["R-5.3-1", "R-6.2-1", "R-6.5-3", "R-6.7-2", "R-10.5-1"],
        "a record that cannot be decoded",
    ),
    rule("reader/TimestampBackwards", &["R-1.7-1", "R-4.5-1"], "a timestamp going back"),
    rule("reader/PacketTimestampsReversed", &["R-4.5-1"], "timestamp_begin after timestamp_end"),
    rule("reader/PacketOverlap", &["R-4.5-2"], "a packet beginning before the previous one ended"),
    rule("reader/TimestampOutsidePacket", &["R-4.5-1"], "a record after its packet's timestamp_end"),
    rule("reader/ForeignUuid", &["R-4.6-2"], "a packet of another trace"),
    rule(
        "reader/ByteOrderMismatch",
        &["R-2.3-1", "R-2.3-2"],
        "a packet or TRACE record in another byte order",
    ),
    rule("reader/TraceByteOrder", &["R-2.3-2"], "a TRACE record stating another byte order than its packet"),
    rule(
        "reader/Metadata",
        &[
            "R-2.3-2", "R-3.2-1", "R-6.6-1", "R-6.7-1", "R-6.7-3", "R-7.1-1", "R-7.2-3", "R-7.2-4",
            "R-7.2-5", "R-7.2-6", "R-7.4-1", "R-7.6-4", "R-7.7-1", "R-7.7-2", "R-7.9-1", "R-8.2-1",
        ],
        "a malformed metadata record",
    ),
    rule("reader/IdentityMismatch", &["R-7.8-1"], "an identity hash that is not the one computed"),
    rule(
        "reader/ConflictingDeclaration",
        &["R-7.3-1", "R-7.6-7"],
        "a second, different declaration of an ID",
    ),
    rule(
        "reader/TraceRecordNotFirst",
        &["R-7.3-1"],
        "TRACE is not the first record of the first metadata packet",
    ),
    rule("reader/UndeclaredStreamClass", &["R-1.2-1"], "data packets of an undeclared stream class"),
    rule("reader/UndeclaredClock", &["R-7.5-1"], "a stream class naming an undeclared clock"),
    rule("reader/MixedStreamFile", &["R-9.1-2"], "a stream file holding packets of several streams"),
    rule("reader/MisplacedPacket", &["R-9.1-2"], "a packet in the wrong file of a directory"),
    rule("reader/IndexDisagrees", &["R-14.4-2"], "a packet read through the index is not its entry"),
    rule(
        "reader/CompressedPacket",
        &["R-15.1-1", "R-15.1-2", "R-15.2-1"],
        "a compressed packet whose records cannot be had: corrupt, too large, or metadata",
    ),
    rule(
        "reader/ProgressIgnored",
        &["R-9.5-2"],
        "a progress file that is invalid or another trace's (warning)",
    ),
    rule(
        "reader/EventsNotDelivered",
        &["R-9.5-2"],
        "the progress file counts events the trace does not deliver (notice)",
    ),
    rule("reader/other", &["R-10.6-1"], "a diagnostic this checker does not know yet"),
    rule("no-trace-record", &["R-7.3-1"], "the reader cannot use any TRACE record"),
    rule("crc-field-zero", &["R-4.4-3"], "crc32 is 0 when HAS_CRC is clear"),
    rule("padding-zero", &["R-4.2-4"], "padding after the content is zero (warning)"),
    rule("compatible-flags-zero", &["R-4.3-3"], "a 1.0 writer leaves compatible flags 16-31 zero"),
    rule("record-flags-zero", &["R-11.4-1"], "metadata record envelope flags other than CHECKED are zero"),
    rule("record-checked", &["R-7.2-7"], "a 1.1 writer sets CHECKED on every metadata record (warning)"),
    rule("uuid-version-4", &["R-4.6-1"], "the trace UUID is a version 4 UUID (warning)"),
    rule("log-level-reserved", &["R-7.6-2"], "no event class uses a reserved log level 8-254"),
    rule("single-trace-record", &["R-7.3-1"], "exactly one TRACE record"),
    rule("env-key-unique", &["R-7.9-2"], "ENV keys are unique (warning)"),
    rule("single-file-metadata-first", &["R-9.2-1"], "a single file begins with a metadata packet"),
    rule("declared-before-use", &["R-7.6-6"], "single file: a class's metadata packet precedes its records"),
    rule("event-stream-class", &["R-7.6-1"], "records of a class only in streams of its stream class"),
    rule("string-utf8", &["R-6.5-1"], "strings are UTF-8 (warning)"),
    rule("index-checked", &["R-14.2-1"], "an INDEX record carries its check"),
    rule("index-placement", &["R-14.3-1"], "an index is the single file's last packet, or index/NAME.idx"),
    rule("index-entries", &["R-14.2-2"], "an index describes its file's packets as they are"),
    rule(
        "index-sidecar",
        &["R-4.4-1", "R-4.6-2", "R-7.2-3", "R-7.2-8", "R-10.6-1", "R-14.2-1", "R-14.2-2", "R-14.3-1"],
        "a sidecar index that is not a whole, checked index packet of the trace",
    ),
    rule("newer-minor", &["R-11.2-2"], "a trace newer than the checker is said to be (notice)"),
];

/// The rule named `name`.
pub fn rule_info(name: &str) -> Option<&'static RuleInfo> {
    RULES.iter().find(|rule| rule.name == name)
}

/// An error finding at offset 0 of `file`, attached to no stream.
pub(crate) fn at_file_start(
    requirement: &'static str,
    rule: &'static str,
    file: String,
    message: &str,
) -> Finding {
    Finding {
        requirement,
        severity: Severity::Error,
        rule,
        file,
        offset: 0,
        stream: None,
        sequence: None,
        message: message.to_string(),
    }
}

/// What the reader-mapping needs to know about one file.
#[derive(Debug, Default)]
pub(crate) struct FileFacts {
    packet_starts: HashSet<u64>,
    first_records: HashSet<u64>,
    /// Metadata records whose envelope runs past their packet's content (§7.1).
    spanning_records: HashSet<u64>,
}

/// What the raw pass learns, and the findings of its rules.
#[derive(Debug)]
pub(crate) struct Facts {
    single_file: bool,
    files: HashMap<String, FileFacts>,
    file_order: Vec<String>,
    findings: Vec<Finding>,
    packets: u64,
    /// Offset of the metadata packet first declaring each event class (single-file form).
    class_declared_at: HashMap<u32, u64>,
    first_trace: Option<TraceInfo>,
    env_keys: HashSet<String>,
    uuid_checked: bool,
    /// INDEX records found in metadata packets (§14.3: only the single file's last packet may
    /// hold one).
    pub(crate) stored_indexes: Vec<StoredIndex>,
}

/// An INDEX record found in a container file.
#[derive(Debug)]
pub(crate) struct StoredIndex {
    /// The file holding it.
    pub(crate) file: String,
    /// Where its record starts.
    pub(crate) record_offset: u64,
    /// The stream of the packet holding it, for findings.
    pub(crate) sequence: u64,
    pub(crate) index: tracemark_format::index::PacketIndex,
}

impl Facts {
    pub(crate) fn new(single_file: bool) -> Facts {
        Facts {
            single_file,
            files: HashMap::new(),
            file_order: Vec::new(),
            findings: Vec::new(),
            packets: 0,
            class_declared_at: HashMap::new(),
            first_trace: None,
            env_keys: HashSet::new(),
            uuid_checked: false,
            stored_indexes: Vec::new(),
        }
    }

    pub(crate) fn first_file(&self) -> Option<String> {
        self.file_order.first().cloned()
    }

    pub(crate) fn packets(&self) -> u64 {
        self.packets
    }

    pub(crate) fn into_findings(self) -> Vec<Finding> {
        self.findings
    }

    pub(crate) fn class_declared_at(&self, id: u32) -> Option<u64> {
        self.class_declared_at.get(&id).copied()
    }

    pub(crate) fn is_packet_start(&self, file: &str, offset: u64) -> bool {
        self.files.get(file).is_some_and(|facts| facts.packet_starts.contains(&offset))
    }

    pub(crate) fn is_first_record(&self, file: &str, offset: u64) -> bool {
        self.files.get(file).is_some_and(|facts| facts.first_records.contains(&offset))
    }

    pub(crate) fn is_spanning_record(&self, file: &str, offset: u64) -> bool {
        self.files.get(file).is_some_and(|facts| facts.spanning_records.contains(&offset))
    }

    fn error(&mut self, requirement: &'static str, rule: &'static str, at: Location<'_>, message: String) {
        self.push(Severity::Error, requirement, rule, at, message);
    }

    fn push(
        &mut self,
        severity: Severity,
        requirement: &'static str,
        rule: &'static str,
        at: Location<'_>,
        message: String,
    ) {
        let header = &at.packet.header;
        let stream = (!header.is_metadata())
            .then_some(StreamId { class: header.stream_class_id, instance: header.stream_instance_id });
        self.findings.push(Finding {
            requirement,
            severity,
            rule,
            file: at.file.to_string(),
            offset: at.offset as u64,
            stream,
            sequence: Some(header.sequence),
            message,
        });
    }

    /// Walks one container file (files come in container order: metadata-bearing first).
    /// After each packet, `done(offset)` says that the bytes before `offset` will not be read
    /// again, so the caller can give a mapped file's pages back as the walk goes.
    pub(crate) fn file(&mut self, name: &str, bytes: &[u8], done: &mut dyn FnMut(usize)) {
        let mut facts = FileFacts::default();
        let mut found = walk::Walk::new(bytes).peekable();
        if self.single_file {
            if let Some(Found::Packet(first)) = found.peek() {
                if first.offset == 0 && !first.header.is_metadata() {
                    let at = Location { file: name, offset: 0, packet: first };
                    self.error(
                        "R-9.2-1",
                        "single-file-metadata-first",
                        at,
                        "the single file begins with a data packet, not a metadata packet".into(),
                    );
                }
            }
        }
        for item in found {
            let Found::Packet(packet) = item else { continue };
            self.packets += 1;
            facts.packet_starts.insert(packet.offset as u64);
            facts.first_records.insert(packet.content_offset() as u64);
            self.packet_rules(name, bytes, &packet);
            if packet.header.is_metadata() {
                self.metadata_packet(name, bytes, &packet, &mut facts);
            }
            done(packet.end());
        }
        self.files.insert(name.to_string(), facts);
        self.file_order.push(name.to_string());
    }

    fn packet_rules(&mut self, name: &str, bytes: &[u8], packet: &Placed) {
        let header = &packet.header;
        let at = |offset: usize| Location { file: name, offset, packet };
        if !header.flags.has_crc() && header.crc32 != 0 {
            self.error(
                "R-4.4-3",
                "crc-field-zero",
                at(packet.offset + 12),
                format!("crc32 is {:#010x} but HAS_CRC is clear", header.crc32),
            );
        }
        // Version 1.0 assigns no compatible flag: a 1.0 writer leaves them all zero. A later
        // minor version may assign some, which this checker cannot judge.
        let compatible = header.flags.0 & 0xFFFF_0000;
        if compatible != 0 && header.version_minor == 0 {
            self.error(
                "R-4.3-3",
                "compatible-flags-zero",
                at(packet.offset + 8),
                format!(
                    "compatible flags {compatible:#010x} set by a version {}.{} writer",
                    header.version_major, header.version_minor
                ),
            );
        }
        let packet_bytes = packet.bytes(bytes);
        let content_end = (header.content_size as usize).min(packet_bytes.len());
        if let Some(nonzero) =
            packet_bytes.get(content_end..).and_then(|pad| pad.iter().position(|&b| b != 0))
        {
            let offset = packet.offset + content_end + nonzero;
            self.push(
                Severity::Warning,
                "R-4.2-4",
                "padding-zero",
                at(offset),
                format!("padding byte {:#04x} is not zero", packet_bytes[content_end + nonzero]),
            );
        }
    }

    fn metadata_packet(&mut self, name: &str, bytes: &[u8], packet: &Placed, facts: &mut FileFacts) {
        let header = &packet.header;
        let content = packet.content(bytes);
        // A packet the reader does not use (CRC mismatch) or that is cut is not judged record
        // by record: its damage is reported as such.
        let content_complete = content.len() == (header.content_size as usize - header.header_len as usize);
        let crc_ok = !header.flags.has_crc()
            || packet_crc(packet.bytes(bytes), header.content_size as usize) == Some(header.crc32);
        if !crc_ok || !content_complete {
            return;
        }
        let base = packet.content_offset();
        let at = |offset: usize| Location { file: name, offset: base + offset, packet };
        // Envelopes first: flags and records that run past the content (§7.1).
        let mut start = 0usize;
        while let Some(envelope) = content.get(start..start + ENVELOPE_LEN) {
            let order = packet.order;
            let flags = order.read_u16(&envelope[2..]).unwrap_or(0);
            let body_len = order.read_u32(&envelope[4..]).unwrap_or(0) as usize;
            let record_kind = order.read_u16(envelope).unwrap_or(0);
            if flags & !RECORD_CHECKED != 0 {
                self.error(
                    "R-11.4-1",
                    "record-flags-zero",
                    at(start + 2),
                    format!("metadata record (kind {record_kind}) has envelope flags {flags:#06x}"),
                );
            }
            // Version 1.1 defines the check (§7.2): a 1.0 writer cannot be expected to set it.
            if flags & RECORD_CHECKED == 0 && (header.version_major, header.version_minor) >= (1, 1) {
                self.push(
                    Severity::Warning,
                    "R-7.2-7",
                    "record-checked",
                    at(start),
                    format!("metadata record (kind {record_kind}) carries no check"),
                );
            }
            let end = start.saturating_add(ENVELOPE_LEN).saturating_add(body_len);
            if end > content.len() {
                facts.spanning_records.insert((base + start) as u64);
                break;
            }
            start = end;
        }
        if start < content.len() && content.len() - start < ENVELOPE_LEN {
            facts.spanning_records.insert((base + start) as u64);
        }
        // §7.3: one copy of TRACE may follow it directly.
        let mut copy_may_follow = false;
        for item in RecordIter::new(content, packet.order) {
            let follows_trace = std::mem::take(&mut copy_may_follow);
            let Ok((offset, record)) = item else { continue };
            match record {
                Record::Trace(trace) => match &self.first_trace {
                    None => {
                        self.check_uuid(&trace, at(offset));
                        self.first_trace = Some(trace);
                        copy_may_follow = offset == 0;
                    }
                    Some(first) if *first == trace && follows_trace => {}
                    // A different one is the reader's ConflictingDeclaration.
                    Some(first) if *first == trace => self.error(
                        "R-7.3-1",
                        "single-trace-record",
                        at(offset),
                        "another TRACE record (identical to the first) that is not its copy directly after it"
                            .into(),
                    ),
                    Some(_) => {}
                },
                Record::EventClass(class) => {
                    if (8..=254).contains(&class.log_level) {
                        self.error(
                            "R-7.6-2",
                            "log-level-reserved",
                            at(offset + ENVELOPE_LEN + 8),
                            format!(
                                "event class {} ({}) uses reserved log level {}",
                                class.id, class.name, class.log_level
                            ),
                        );
                    }
                    self.class_declared_at.entry(class.id).or_insert(packet.offset as u64);
                }
                Record::Env(entry) => self.env_entry(&entry.key, at(offset)),
                Record::Index(index) => self.index_record(name, bytes, packet, offset, index),
                _ => {}
            }
        }
    }

    /// An INDEX record at `offset` of `packet`'s content: checked (§14.2), and alone in the
    /// single file's last packet, which has no padding (§14.3).
    fn index_record(
        &mut self,
        name: &str,
        bytes: &[u8],
        packet: &Placed,
        offset: usize,
        index: tracemark_format::index::PacketIndex,
    ) {
        let content = packet.content(bytes);
        let at = Location { file: name, offset: packet.content_offset() + offset, packet };
        let flags = content.get(offset + 2..offset + 4).and_then(|flags| packet.order.read_u16(flags));
        if flags.is_none_or(|flags| flags & RECORD_CHECKED == 0) {
            self.error("R-14.2-1", "index-checked", at, "INDEX record without a check".into());
        }
        let header = &packet.header;
        let placed = self.single_file
            && packet.end() == bytes.len()
            && header.content_size == header.packet_size
            && offset == 0
            && index.index_offset == packet.offset as u64;
        if !placed {
            let at = Location { file: name, offset: packet.content_offset() + offset, packet };
            let message = if self.single_file {
                "INDEX record that is not alone in the file's last packet, without padding, at its \
                 index_offset: not the trace's index"
            } else {
                "INDEX record in a container file of a directory: an index goes in index/NAME.idx"
            };
            self.error("R-14.3-1", "index-placement", at, message.into());
            return;
        }
        self.stored_indexes.push(StoredIndex {
            file: name.to_string(),
            record_offset: (packet.content_offset() + offset) as u64,
            sequence: header.sequence,
            index,
        });
    }

    fn env_entry(&mut self, key: &str, at: Location<'_>) {
        if !self.env_keys.insert(key.to_string()) {
            let message = format!("ENV key {key:?} repeated; the later value wins");
            self.push(Severity::Warning, "R-7.9-2", "env-key-unique", at, message);
        }
    }

    fn check_uuid(&mut self, trace: &TraceInfo, at: Location<'_>) {
        if self.uuid_checked {
            return;
        }
        self.uuid_checked = true;
        let uuid = trace.uuid;
        let version = uuid[6] >> 4;
        let variant = uuid[8] >> 6;
        if version != 4 || variant != 0b10 {
            self.push(
                Severity::Warning,
                "R-4.6-1",
                "uuid-version-4",
                at,
                format!("trace UUID {} is not a version 4 UUID", tracemark_reader::uuid_string(&uuid)),
            );
        }
    }
}

#[derive(Clone, Copy)]
struct Location<'a> {
    file: &'a str,
    offset: usize,
    packet: &'a Placed,
}
