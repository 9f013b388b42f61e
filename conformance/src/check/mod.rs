//! `tracemark check`: every rule of the specification applied to one trace, each violation
//! located and named by its requirement ID (`spec/requirements.toml`).
//!
//! A check is two passes. The reader decodes the trace; each of its diagnostics is mapped to
//! the requirement it shows broken ([`map`]). Independently, the container files are walked
//! with the format crate alone for the rules the reader's API cannot see: zero padding, the CRC
//! field of a packet without CRC, reserved bits, reserved log levels, metadata order in the
//! single-file form, … ([`rules`]). Decoded events are checked against their packets on the
//! way (an event class carried by another stream class, strings that are not UTF-8).
//!
//! Every finding has a [`Severity`]: an **error** breaks a MUST (or a rule stated without a
//! keyword); a **warning** breaks a SHOULD; a **notice** reports loss the trace records as the
//! specification asks (discarded events, overwritten packets) or a consequence of an error
//! already reported. A trace is valid when it has no error.
//!
//! ```
//! use tracemark_conformance::{check, rust_writer, ClassSpec, EventSpec, Scenario, Val};
//! use tracemark_format::{Field, IntType, TypeDesc};
//!
//! let scenario = Scenario {
//!     classes: vec![ClassSpec::new("tick", vec![Field::new("n", TypeDesc::Int(IntType::U32))])],
//!     events: vec![EventSpec { class: 0, cpu: 0, timestamp: 10, values: vec![Val::U(7)] }],
//!     ..Scenario::default()
//! };
//! let mut bytes = rust_writer::single_file(&scenario).unwrap();
//! let report = check::check(&check::Source::bytes("tick.tmk", bytes.clone())).unwrap();
//! assert!(report.is_valid() && report.events == 1);
//!
//! let last = bytes.len() - 1;
//! bytes[last] ^= 1; // padding of the data packet: SHOULD be zero (§4.2)
//! let report = check::check(&check::Source::bytes("tick.tmk", bytes)).unwrap();
//! assert!(report.is_valid());
//! assert_eq!(report.findings[0].requirement, "R-4.2-4");
//! ```

mod index;
pub mod map;
pub mod rules;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt, fs, io,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::Serialize;
use tracemark_format::TypeDesc;
use tracemark_reader::{
    directory_files, ContainerKind, DirectoryFiles, EncodedKind, EncodedValue, Event, Item, MappedFile,
    NotATrace, OpenError, StreamId, StreamIter, Trace, Value, Version,
};

use self::rules::Facts;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Loss the trace records as it should, or a consequence of an error reported already.
    Notice,
    /// A SHOULD not followed.
    Warning,
    /// A MUST (or a keyword-less rule) broken: the trace is not valid.
    Error,
}

impl Severity {
    /// `error`, `warning` or `notice`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        }
    }
}

/// One violation (or notice), located (§10.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The requirement ID, e.g. `R-4.4-1`.
    pub requirement: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// The rule that found it: `reader/<DiagnosticKind>` or a rule of [`rules::RULES`].
    pub rule: &'static str,
    /// The container file, as opened.
    pub file: String,
    /// Byte offset in `file`.
    pub offset: u64,
    /// The stream, when known.
    #[serde(serialize_with = "serialize_stream")]
    pub stream: Option<StreamId>,
    /// The packet sequence number, when known.
    pub sequence: Option<u64>,
    /// One line of explanation.
    pub message: String,
}

fn serialize_stream<S: serde::Serializer>(
    stream: &Option<StreamId>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match stream {
        Some(stream) => {
            use serde::ser::SerializeStruct;
            let mut map = serializer.serialize_struct("Stream", 2)?;
            map.serialize_field("class", &stream.class)?;
            map.serialize_field("instance", &stream.instance)?;
            map.end()
        }
        None => serializer.serialize_none(),
    }
}

impl Finding {
    /// The section of the requirement, e.g. `4.4`.
    pub fn section(&self) -> &str {
        section_of(self.requirement)
    }
}

/// `4.4` for `R-4.4-1`.
pub fn section_of(requirement: &str) -> &str {
    requirement.get(2..).and_then(|rest| rest.rsplit_once('-')).map_or("", |(section, _)| section)
}

impl fmt::Display for Finding {
    /// `error R-4.4-1 FILE@0x1f0 stream 0/1 packet 3: message [§4.4]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}@{:#x}", self.severity.name(), self.requirement, self.file, self.offset)?;
        if let Some(stream) = self.stream {
            write!(f, " stream {stream}")?;
        }
        if let Some(sequence) = self.sequence {
            write!(f, " packet {sequence}")?;
        }
        write!(f, ": {} [§{}]", self.message, self.section())
    }
}

/// Most findings kept per requirement and file; the rest are counted (a writer that gets one
/// rule wrong gets it wrong in every packet).
pub const MAX_FINDINGS_PER_RULE_AND_FILE: usize = 20;

/// Findings beyond [`MAX_FINDINGS_PER_RULE_AND_FILE`] for one requirement in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    /// The requirement.
    pub requirement: &'static str,
    /// The file.
    pub file: String,
    /// How many more findings there were.
    pub count: u64,
    /// Their severity.
    pub severity: Severity,
}

/// The result of checking a trace the reader could open (or that broke the rules in a way
/// that keeps it from being decoded, such as a missing TRACE record).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The path checked, or the name given to bytes.
    pub path: String,
    /// Whether the reader decoded the trace; `false` when the metadata is unusable, and then
    /// only the findings explain why.
    pub readable: bool,
    /// Findings, ordered by file, offset and requirement.
    pub findings: Vec<Finding>,
    /// Findings not listed, by requirement and file.
    pub suppressed: Vec<Suppressed>,
    /// Events decoded.
    pub events: u64,
    /// Streams with data packets.
    pub streams: usize,
    /// Packets with a valid header, metadata included.
    pub packets: u64,
    /// The wire format version of the trace, when read.
    #[serde(serialize_with = "serialize_version")]
    pub version: Option<Version>,
}

fn serialize_version<S: serde::Serializer>(
    version: &Option<Version>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match version {
        Some(version) => serializer.collect_str(version),
        None => serializer.serialize_none(),
    }
}

impl Report {
    /// Findings of `severity`, counted (suppressed ones included).
    pub fn count(&self, severity: Severity) -> u64 {
        let listed = self.findings.iter().filter(|finding| finding.severity == severity).count() as u64;
        let suppressed: u64 =
            self.suppressed.iter().filter(|entry| entry.severity == severity).map(|entry| entry.count).sum();
        listed + suppressed
    }

    /// Whether no error was found.
    pub fn is_valid(&self) -> bool {
        self.count(Severity::Error) == 0
    }

    /// The summary line: `PATH: valid|INVALID: N errors, N warnings, N notices; N events …`.
    pub fn summary(&self) -> String {
        let plural = |count: u64, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
        let verdict = if !self.readable {
            "INVALID (not decodable)"
        } else if self.is_valid() {
            "valid"
        } else {
            "INVALID"
        };
        format!(
            "{}: {verdict}: {}, {}, {}; {} in {}, {}",
            self.path,
            plural(self.count(Severity::Error), "error"),
            plural(self.count(Severity::Warning), "warning"),
            plural(self.count(Severity::Notice), "notice"),
            plural(self.events, "event"),
            plural(self.streams as u64, "stream"),
            plural(self.packets, "packet"),
        )
    }
}

/// Why a trace could not be checked at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    /// The path, or the name given to bytes.
    pub path: String,
    /// The requirement the input breaks, when it is a trace this reader cannot read (an
    /// unsupported major version: `R-11.3-1`).
    pub requirement: Option<&'static str>,
    /// Where, when known.
    pub offset: Option<u64>,
    /// Why.
    pub message: String,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.requirement, self.offset) {
            (Some(requirement), Some(offset)) => {
                write!(f, "{}@{offset:#x}: cannot read: {} ({requirement})", self.path, self.message)
            }
            _ => write!(f, "{}: cannot read: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for Unreadable {}

/// What to check.
#[derive(Debug, Clone)]
pub enum Source {
    /// A trace directory (§9.1) or single file (§9.2).
    Path(PathBuf),
    /// A single-file trace in memory, with the name findings use.
    Bytes {
        /// The name used as the file of every finding.
        name: String,
        /// The bytes.
        bytes: Arc<[u8]>,
    },
}

impl Source {
    /// A path.
    pub fn path(path: impl Into<PathBuf>) -> Source {
        Source::Path(path.into())
    }

    /// Bytes in memory, named `name` in findings.
    pub fn bytes(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Source {
        Source::Bytes { name: name.into(), bytes: bytes.into() }
    }

    fn display(&self) -> String {
        match self {
            Source::Path(path) => path.display().to_string(),
            Source::Bytes { name, .. } => name.clone(),
        }
    }
}

/// The bytes of one container file: mapped, or owned when empty (an empty file cannot be
/// mapped) or when the reader's guarded maps are all taken.
pub(crate) enum FileBytes {
    Owned(Vec<u8>),
    Mapped(MappedFile),
}

/// The raw pass gives back a mapped file's pages in runs of at least this many bytes: each
/// `madvise` costs a system call and a TLB flush.
const RELEASE_BATCH: usize = 8 << 20;

impl FileBytes {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            FileBytes::Owned(bytes) => bytes,
            FileBytes::Mapped(map) => map.bytes(),
        }
    }

    /// Drops the pages lying wholly inside `[start, end)` from the resident set, if mapped.
    /// Without it, walking a file leaves all of it resident (and counted in the process's
    /// RSS) until the map is dropped.
    fn release(&self, start: usize, end: usize) {
        if let FileBytes::Mapped(map) = self {
            map.release(start, end);
        }
    }
}

/// Maps `path` read-only (an empty file is owned: it cannot be mapped).
///
/// Mapped rather than read: no copy, and the pages can be given back as the walk goes
/// ([`FileBytes::release`]). Reading a copy of a 146 MB file took 289 MB of memory and 1.6 s.
/// The map is the reader's [`MappedFile`]: a file that shrinks during the raw pass reads as
/// zeros past its new end instead of killing the process; the reader's pass, which follows,
/// reports the truncation.
fn load(path: &Path) -> io::Result<FileBytes> {
    let mut file = fs::File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(FileBytes::Owned(Vec::new()));
    }
    match MappedFile::open(file.try_clone()?)? {
        Some(map) => Ok(FileBytes::Mapped(map)),
        None => {
            let mut bytes = Vec::new();
            io::Read::read_to_end(&mut file, &mut bytes)?;
            Ok(FileBytes::Owned(bytes))
        }
    }
}

/// The files of a trace directory, as the reader finds them: `metadata` first, then the
/// `*.tmk` stream files by name (§9.1).
fn container_files(path: &Path) -> io::Result<Vec<PathBuf>> {
    let DirectoryFiles { metadata, streams } = directory_files(path)?;
    Ok(metadata.into_iter().chain(streams).collect())
}

/// Checks a trace. See [`check_with`] to see its events too.
///
/// Streams are checked in parallel, one thread per core.
pub fn check(source: &Source) -> Result<Report, Unreadable> {
    check_streams(source, None)
}

/// Checks a trace, handing every decoded event to `visit` (stream by stream, in record order).
///
/// `Err` when nothing can be checked: the path cannot be read, it is not a tracemark trace,
/// or its major version is not supported (`R-11.3-1`).
pub fn check_with(source: &Source, visit: &mut dyn FnMut(&Event<'_>)) -> Result<Report, Unreadable> {
    check_streams(source, Some(visit))
}

/// [`check`], or [`check_with`] when there is a visitor: then the streams are checked in turn.
fn check_streams(source: &Source, visit: Option<&mut dyn FnMut(&Event<'_>)>) -> Result<Report, Unreadable> {
    let path = source.display();
    let unreadable =
        |message: String| Unreadable { path: path.clone(), requirement: None, offset: None, message };
    // The raw pass runs whether or not the reader can decode the trace. It maps each file on
    // its own and gives the pages back behind it; the reader maps the files again and does
    // the same, so the resident set stays small whatever the trace's size. Bytes in memory
    // are read by both; the reader names them `<memory>`, renamed below.
    let (opened, facts, memory_name) = match source {
        Source::Path(trace_path) => {
            let meta = fs::metadata(trace_path).map_err(|error| unreadable(error.to_string()))?;
            let files = if meta.is_dir() {
                container_files(trace_path).map_err(|error| unreadable(error.to_string()))?
            } else if meta.is_file() {
                vec![trace_path.clone()]
            } else {
                return Err(unreadable("neither a regular file nor a directory".into()));
            };
            let mut facts = Facts::new(!meta.is_dir());
            for file in files {
                let bytes =
                    load(&file).map_err(|error| unreadable(format!("{}: {error}", file.display())))?;
                let mut released = 0;
                facts.file(&file.display().to_string(), bytes.bytes(), &mut |done| {
                    if done.saturating_sub(released) >= RELEASE_BATCH {
                        bytes.release(released, done);
                        released = done;
                    }
                });
            }
            (Trace::open(trace_path), facts, None)
        }
        Source::Bytes { name, bytes } => {
            let mut facts = Facts::new(true);
            facts.file(name, bytes, &mut |_| {});
            (Trace::from_buffer(bytes.clone()), facts, Some(name.clone()))
        }
    };
    let rename = |file: &str| match &memory_name {
        Some(name) if file == tracemark_reader::MEMORY_NAME => name.clone(),
        _ => file.to_string(),
    };
    let mut collector = Collector::default();
    let trace = match opened {
        Ok(trace) => trace,
        Err(OpenError::UnsupportedVersion { found, supported, .. }) => {
            return Err(Unreadable {
                path,
                requirement: Some("R-11.3-1"),
                offset: Some(0),
                message: format!(
                    "format major version {found} is not supported; this checker reads major version(s) \
                     {supported:?}"
                ),
            });
        }
        Err(OpenError::NoTraceRecord { first_problem, .. }) => {
            if let Some(diagnostic) = first_problem {
                collector.push(map::finding(&diagnostic, &facts, &rename));
            }
            let file = facts.first_file().unwrap_or_default();
            collector.push(rules::at_file_start(
                "R-7.3-1",
                "no-trace-record",
                rename(&file),
                "no usable TRACE metadata record: the ABI and byte order are unknown, nothing can be decoded",
            ));
            return Ok(collector.finish(path, false, facts, None, 0, 0));
        }
        Err(OpenError::NotATrace { reason: NotATrace::NoMetadataPacket, .. }) => {
            let file = facts.first_file().unwrap_or_default();
            collector.push(rules::at_file_start(
                "R-7.3-1",
                "no-trace-record",
                rename(&file),
                "packets, but no metadata packet: nothing can be decoded",
            ));
            return Ok(collector.finish(path, false, facts, None, 0, 0));
        }
        Err(OpenError::NotATrace { reason, .. }) => {
            return Err(unreadable(format!("not a tracemark trace: {reason}")));
        }
        Err(error) => return Err(unreadable(error.to_string())),
    };

    let single_file = trace.kind() != ContainerKind::Directory;
    for diagnostic in trace.diagnostics() {
        collector.push(map::finding(diagnostic, &facts, &rename));
    }
    let version = trace.version();
    if version.is_newer_than_reader() {
        let file = facts.first_file().unwrap_or_default();
        collector.push(Finding {
            severity: Severity::Notice,
            ..rules::at_file_start(
                "R-11.2-2",
                "newer-minor",
                rename(&file),
                &format!(
                    "trace format version {version} is newer than this checker's {}.{}: what it adds \
                     was ignored",
                    tracemark_format::VERSION_MAJOR,
                    tracemark_format::VERSION_MINOR_READ
                ),
            )
        });
    }
    let directory = match source {
        Source::Path(trace_path) if !single_file => Some(trace_path.as_path()),
        _ => None,
    };
    for finding in index::findings(&trace, &facts.stored_indexes, directory, &rename) {
        collector.push(finding);
    }
    let passes: Vec<StreamPass> = match visit {
        Some(visit) => trace
            .streams()
            .map(|stream| stream_pass(stream, single_file, &facts, &rename, &mut *visit))
            .collect(),
        None => parallel_passes(&trace, single_file, &facts, &rename),
    };
    let stream_count = passes.len();
    // The progress file (§9.5): what the writer counted against what the streams delivered.
    match trace.written_counts() {
        Some(Ok(counts)) => {
            let delivered: HashMap<StreamId, u64> =
                passes.iter().map(|pass| (pass.stream, pass.events)).collect();
            for diagnostic in counts.undelivered(|stream| delivered.get(&stream).copied().unwrap_or(0)) {
                collector.push(map::finding(&diagnostic, &facts, &rename));
            }
        }
        Some(Err(ignored)) => collector.push(map::finding(&ignored, &facts, &rename)),
        None => {}
    }
    let mut events = 0u64;
    let mut merged = MergedRules::default();
    for pass in passes {
        events += pass.events;
        merged.add(pass, &mut collector);
    }
    merged.finish(single_file, &facts, &mut collector);
    Ok(collector.finish(path, true, facts, Some(version), events, stream_count))
}

/// The streams checked side by side, one thread per core ([`Trace::map_streams`], which
/// returns the passes in stream order whatever the schedule).
fn parallel_passes(
    trace: &Trace,
    single_file: bool,
    facts: &Facts,
    rename: &(dyn Fn(&str) -> String + Sync),
) -> Vec<StreamPass> {
    trace
        .map_streams(trace.default_workers() + 1, |id| {
            trace.stream(id).map(|stream| stream_pass(stream, single_file, facts, rename, &mut |_| {}))
        })
        .into_iter()
        .flatten()
        .collect()
}

/// What checking one stream found, in record order.
struct StreamPass {
    stream: StreamId,
    events: u64,
    findings: Vec<StreamFinding>,
    /// Single-file form: the earliest record of each class in this stream.
    first_use: HashMap<u32, FirstUse>,
}

/// Where a class was first used: (file, offset, stream, sequence).
type FirstUse = (String, u64, StreamId, u64);

/// A finding of a stream pass. A string that is not UTF-8 is reported once per class for the
/// whole trace: the merge keeps the first stream's.
enum StreamFinding {
    Any(Finding),
    NonUtf8 { class: u32, finding: Finding },
}

/// Checks the events of one stream, handing each to `visit`.
fn stream_pass(
    stream: StreamIter<'_>,
    single_file: bool,
    facts: &Facts,
    rename: &dyn Fn(&str) -> String,
    visit: &mut dyn FnMut(&Event<'_>),
) -> StreamPass {
    let mut pass =
        StreamPass { stream: stream.id(), events: 0, findings: Vec::new(), first_use: HashMap::new() };
    let mut classes = ClassMemo::default();
    for item in stream {
        match item {
            Item::Event(event) => {
                pass.events += 1;
                let memo = classes.get(&event);
                if !memo.seen {
                    memo.seen = true;
                    first_in_stream(&event, single_file, rename, &mut pass);
                }
                if memo.has_strings && !memo.utf8_reported {
                    if let Some((field, offset)) = non_utf8_string(&event) {
                        memo.utf8_reported = true;
                        pass.findings.push(StreamFinding::NonUtf8 {
                            class: event.id(),
                            finding: non_utf8(&event, field, offset, rename),
                        });
                    }
                }
                visit(&event);
            }
            Item::Diagnostic(diagnostic) => {
                pass.findings.push(StreamFinding::Any(map::finding(&diagnostic, facts, rename)))
            }
        }
    }
    pass
}

/// What one stream pass knows of an event class.
#[derive(Clone, Copy, Default)]
struct ClassFacts {
    known: bool,
    seen: bool,
    has_strings: bool,
    utf8_reported: bool,
}

/// [`ClassFacts`] by class ID: a table for the IDs of compact headers (§5.2), a map above.
#[derive(Default)]
struct ClassMemo {
    dense: Vec<ClassFacts>,
    sparse: HashMap<u32, ClassFacts>,
}

impl ClassMemo {
    /// IDs below this live in the table; a compact header's ID is below 0xFFFF (§5.2).
    const DENSE: u32 = 1 << 16;

    fn get(&mut self, event: &Event<'_>) -> &mut ClassFacts {
        let id = event.id();
        let facts = if id < Self::DENSE {
            let index = id as usize;
            if self.dense.len() <= index {
                self.dense.resize(index + 1, ClassFacts::default());
            }
            &mut self.dense[index]
        } else {
            self.sparse.entry(id).or_default()
        };
        if !facts.known {
            facts.known = true;
            // A class whose fields cannot be listed was not decodable: none of its events come.
            facts.has_strings = event
                .class()
                .fields()
                .map_or(true, |fields| fields.iter().any(|field| contains_string(&field.ty)));
        }
        facts
    }
}

/// Whether values of `ty` can hold a string.
fn contains_string(ty: &TypeDesc) -> bool {
    match ty {
        TypeDesc::String => true,
        TypeDesc::Array { element, .. } | TypeDesc::Sequence { element, .. } => contains_string(element),
        TypeDesc::Struct(fields) => fields.iter().any(|field| contains_string(&field.ty)),
        _ => false,
    }
}

fn first_in_stream(
    event: &Event<'_>,
    single_file: bool,
    rename: &dyn Fn(&str) -> String,
    pass: &mut StreamPass,
) {
    let class = event.class();
    if class.stream_class_id != event.stream().class {
        let message = format!(
            "record of event class {} ({}), declared for stream class {}, in a stream of class {}",
            class.id,
            class.name,
            class.stream_class_id,
            event.stream().class
        );
        let finding = at_event(event, rename, ("R-7.6-1", Severity::Error, "event-stream-class"), message);
        pass.findings.push(StreamFinding::Any(finding));
    }
    if single_file {
        // A stream's records are in file order: its first record of a class is its earliest.
        pass.first_use.entry(event.id()).or_insert_with(|| {
            (rename(event.file()), event.offset(), event.stream(), event.packet_sequence())
        });
    }
}

/// R-6.5-1 for a string of `field` at `offset` (the string's first byte, §10.7).
fn non_utf8(event: &Event<'_>, field: &str, offset: u64, rename: &dyn Fn(&str) -> String) -> Finding {
    let message = format!(
        "a string in field `{field}` of event class {} ({}) is not UTF-8 (reported once per class)",
        event.id(),
        event.name()
    );
    Finding { offset, ..at_event(event, rename, ("R-6.5-1", Severity::Warning, "string-utf8"), message) }
}

/// A finding located at `event`'s record: (requirement, severity, rule) and the message.
fn at_event(
    event: &Event<'_>,
    rename: &dyn Fn(&str) -> String,
    (requirement, severity, rule): (&'static str, Severity, &'static str),
    message: String,
) -> Finding {
    Finding {
        requirement,
        severity,
        rule,
        file: rename(event.file()),
        offset: event.offset(),
        stream: Some(event.stream()),
        sequence: Some(event.packet_sequence()),
        message,
    }
}

/// The stream passes' results merged in stream order, as one pass over the streams in turn
/// would have found them.
#[derive(Default)]
struct MergedRules {
    /// Single-file form: the earliest record of each class in the file.
    first_use: HashMap<u32, FirstUse>,
    /// Classes already reported for a string that is not UTF-8.
    utf8_reported: HashSet<u32>,
}

impl MergedRules {
    fn add(&mut self, pass: StreamPass, out: &mut Collector) {
        for finding in pass.findings {
            match finding {
                StreamFinding::Any(finding) => out.push(finding),
                StreamFinding::NonUtf8 { class, finding } => {
                    if self.utf8_reported.insert(class) {
                        out.push(finding);
                    }
                }
            }
        }
        for (id, first) in pass.first_use {
            match self.first_use.entry(id) {
                std::collections::hash_map::Entry::Vacant(vacant) => {
                    vacant.insert(first);
                }
                std::collections::hash_map::Entry::Occupied(mut occupied) => {
                    if first.1 < occupied.get().1 {
                        occupied.insert(first);
                    }
                }
            }
        }
    }

    fn finish(self, single_file: bool, facts: &Facts, out: &mut Collector) {
        if !single_file {
            return;
        }
        let mut late: Vec<_> = self
            .first_use
            .into_iter()
            .filter_map(|(id, (file, offset, stream, sequence))| {
                let declared = facts.class_declared_at(id)?;
                (declared > offset).then_some((id, file, offset, stream, sequence, declared))
            })
            .collect();
        late.sort_by_key(|entry| entry.2);
        for (id, file, offset, stream, sequence, declared) in late {
            out.push(Finding {
                requirement: "R-7.6-6",
                severity: Severity::Error,
                rule: "declared-before-use",
                file,
                offset,
                stream: Some(stream),
                sequence: Some(sequence),
                message: format!(
                    "record of event class {id} before the metadata packet declaring it (at {declared:#x}) in \
                     the single-file form"
                ),
            });
        }
    }
}

/// The first string of `event` that is not UTF-8, however deep in its fields: the top-level
/// field holding it, and the string's offset in its file. Values are read where they lie, one
/// at a time, without decoding compounds whole.
fn non_utf8_string<'t>(event: &Event<'t>) -> Option<(&'t str, u64)> {
    /// Where the first string of `value` that is not UTF-8 starts in the payload.
    fn first_bad(value: &EncodedValue<'_>) -> Option<usize> {
        match value.kind() {
            EncodedKind::Scalar => match value.decode()? {
                Value::Str(bytes) if std::str::from_utf8(bytes).is_err() => Some(value.position()),
                _ => None,
            },
            EncodedKind::Struct => value.members()?.find_map(|(_, member)| first_bad(&member)),
            EncodedKind::Array | EncodedKind::Sequence => {
                let mut elements = value.elements()?;
                let first = elements.next()?;
                // Elements share a type: when the first is a scalar other than a string, none
                // is a string.
                if first.kind() == EncodedKind::Scalar && !matches!(first.decode()?, Value::Str(_)) {
                    return None;
                }
                std::iter::once(first).chain(elements).find_map(|element| first_bad(&element))
            }
        }
    }
    let header_len = event.record_bytes().len().saturating_sub(event.payload().len());
    let payload_at = event.offset().saturating_add(header_len as u64);
    // A decompressed record has no bytes in the file: its finding names the compressed content.
    let at = |bad: usize| {
        if event.is_compressed() {
            event.offset()
        } else {
            payload_at.saturating_add(bad as u64)
        }
    };
    event.lazy_values().find_map(|(name, value)| Some((name, at(first_bad(&value)?))))
}

/// Gathers findings, capping each (requirement, file) at [`MAX_FINDINGS_PER_RULE_AND_FILE`].
#[derive(Default)]
pub(crate) struct Collector {
    findings: Vec<Finding>,
    per_key: HashMap<(&'static str, String), (usize, u64, Severity)>,
}

impl Collector {
    pub(crate) fn push(&mut self, finding: Finding) {
        let entry = self.per_key.entry((finding.requirement, finding.file.clone())).or_insert((
            0,
            0,
            finding.severity,
        ));
        if entry.0 < MAX_FINDINGS_PER_RULE_AND_FILE {
            entry.0 += 1;
            self.findings.push(finding);
        } else {
            entry.1 += 1;
            entry.2 = entry.2.max(finding.severity);
        }
    }

    fn finish(
        mut self,
        path: String,
        readable: bool,
        facts: Facts,
        version: Option<Version>,
        events: u64,
        streams: usize,
    ) -> Report {
        let packets = facts.packets();
        for finding in facts.into_findings() {
            self.push(finding);
        }
        let mut findings = self.findings;
        findings.sort_by(|a, b| {
            (&a.file, a.offset, a.requirement, &a.message).cmp(&(
                &b.file,
                b.offset,
                b.requirement,
                &b.message,
            ))
        });
        let suppressed: BTreeMap<_, _> = self
            .per_key
            .into_iter()
            .filter(|(_, (_, count, _))| *count > 0)
            .map(|((requirement, file), (_, count, severity))| ((file, requirement), (count, severity)))
            .collect();
        Report {
            path,
            readable,
            findings,
            suppressed: suppressed
                .into_iter()
                .map(|((file, requirement), (count, severity))| Suppressed {
                    requirement,
                    file,
                    count,
                    severity,
                })
                .collect(),
            events,
            streams,
            packets,
            version,
        }
    }
}
