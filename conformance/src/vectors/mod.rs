//! Conformance vectors: traces with the result a reader and `tracemark check` must give.
//!
//! Each vector is generated from a declarative [`Case`] ([`cases::all`]): a trace the Rust
//! writer records from a script ([`WriterScript`]), or one described packet by packet with
//! named damage ([`model::TraceDesc`]); the findings expected, each a requirement ID, a
//! severity and a place ([`model::Loc`]); and the requirements it exercises. The generator
//! writes, under `conformance/vectors/{valid,invalid}/`:
//!
//! - `NAME.tmk` (single-file form) or `NAME/` (directory form): the trace;
//! - `NAME.expected.json`: what checking it must report (requirement, severity, file, offset of
//!   every finding), whether it decodes, and how many events;
//! - `NAME.events.jsonl`: the events it must decode to, in the order a reader merging the
//!   streams delivers them (§10.8, [`merge_order`]), as the reader serializes them, computed
//!   from the values written ([`json`]).
//!
//! Nothing expected is computed by reading the trace. [`check_all`] proves the checked-in
//! files are what the generator produces, byte for byte; [`run_suite`] reads every vector and
//! compares (`tracemark check --suite`). `TRACEMARK_UPDATE_VECTORS=1` rewrites them
//! ([`write_all`]).

pub mod cases;
pub mod json;
pub mod model;

use std::{
    collections::{BTreeMap, BTreeSet, VecDeque},
    fs,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use tracemark_format::{Abi, PacketHeader};
use tracemark_writer::{Config, LocalTrace, MarkerArg, StreamWriter, TraceDescription};

use self::model::{DescError, LaidOut, Loc, PlacedPacket, TraceDesc};
use crate::{
    check::{self, Severity},
    rust_writer::scenario_clock,
    ClassSpec, Val,
};

/// One step of a script the Rust writer runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An event of class `class` (index into [`WriterScript::classes`]).
    Emit {
        /// The class.
        class: usize,
        /// The CPU.
        cpu: u32,
        /// The timestamp.
        ts: u64,
        /// Field values.
        values: Vec<Val>,
    },
    /// An event too large for any packet: the writer drops it and counts it (§10.1).
    Discard {
        /// The CPU.
        cpu: u32,
        /// The timestamp.
        ts: u64,
    },
    /// The CPU's open packet closed and delivered (an empty one when only discards are
    /// pending, §4.2).
    Flush {
        /// The CPU.
        cpu: u32,
    },
    /// Class `class` registered now, after data began, instead of up front (§7.10).
    Declare {
        /// The class.
        class: usize,
    },
    /// A marker (§8): the class (`name`, `format`) registered on first use.
    Marker {
        /// The CPU.
        cpu: u32,
        /// The timestamp.
        ts: u64,
        /// Marker class name.
        name: &'static str,
        /// Format string.
        format: &'static str,
        /// Arguments, one per conversion.
        args: Vec<Val>,
    },
}

/// A trace the Rust writer records: classes, then steps.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterScript {
    /// ABI and byte order.
    pub abi: Abi,
    /// Data packet size.
    pub packet_size: u32,
    /// ID of the first class registered.
    pub first_event_id: u32,
    /// Classes; those with a [`Step::Declare`] are registered at that step, the others first.
    pub classes: Vec<ClassSpec>,
    /// What the writer does.
    pub steps: Vec<Step>,
}

/// Where a vector's trace comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceSource {
    /// Recorded by the Rust writer.
    Writer(WriterScript),
    /// Described packet by packet.
    Desc(TraceDesc),
}

/// The container form a vector is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// One file, `NAME.tmk`.
    SingleFile,
    /// A directory, `NAME/`.
    Directory,
}

/// Whether the reader can decode the vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It decodes.
    Decoded,
    /// The checker reports why nothing decodes (no usable TRACE record).
    NotDecodable,
    /// It cannot be read at all: the requirement it breaks, and where.
    Rejected(&'static str, Loc),
}

/// A finding the vector must produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The requirement ID.
    pub requirement: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// Where.
    pub at: Loc,
}

/// An error finding.
pub fn error(requirement: &'static str, at: Loc) -> Expect {
    Expect { requirement, severity: Severity::Error, at }
}

/// A warning finding.
pub fn warning(requirement: &'static str, at: Loc) -> Expect {
    Expect { requirement, severity: Severity::Warning, at }
}

/// A notice finding.
pub fn notice(requirement: &'static str, at: Loc) -> Expect {
    Expect { requirement, severity: Severity::Notice, at }
}

/// A vector, declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// File name stem.
    pub name: &'static str,
    /// One line on what it is.
    pub about: &'static str,
    /// Requirements whose reader (or writer) behaviour it exercises, beyond those its findings
    /// name.
    pub exercises: &'static [&'static str],
    /// Container form.
    pub form: Form,
    /// The trace.
    pub source: TraceSource,
    /// Findings expected, every one.
    pub expect: Vec<Expect>,
    /// Whether it decodes.
    pub outcome: Outcome,
}

impl Case {
    /// Valid: it decodes and no error is expected.
    pub fn is_valid(&self) -> bool {
        self.outcome == Outcome::Decoded
            && self.expect.iter().all(|expect| expect.severity != Severity::Error)
    }

    /// `valid` or `invalid`.
    pub fn group(&self) -> &'static str {
        if self.is_valid() {
            "valid"
        } else {
            "invalid"
        }
    }

    /// The trace's path relative to its group directory: `NAME.tmk` or `NAME`.
    pub fn trace_name(&self) -> String {
        match self.form {
            Form::SingleFile => format!("{}.tmk", self.name),
            Form::Directory => self.name.to_string(),
        }
    }

    /// Every requirement the vector covers: those it exercises and those its findings name.
    pub fn covers(&self) -> BTreeSet<&'static str> {
        let mut ids: BTreeSet<&'static str> = self.exercises.iter().copied().collect();
        ids.extend(self.expect.iter().map(|expect| expect.requirement));
        if let Outcome::Rejected(requirement, _) = &self.outcome {
            ids.insert(requirement);
        }
        ids
    }
}

/// A finding in `NAME.expected.json`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExpectedFinding {
    /// The file, relative to the group directory (`NAME.tmk`, `NAME/metadata`).
    pub file: String,
    /// Byte offset.
    pub offset: u64,
    /// Requirement ID.
    pub requirement: String,
    /// `error`, `warning` or `notice`.
    pub severity: String,
}

/// `NAME.expected.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedFile {
    /// The vector's name.
    pub vector: String,
    /// What it is.
    pub about: String,
    /// The trace, relative to the group directory.
    pub trace: String,
    /// Whether `tracemark check` must call it valid.
    pub valid: bool,
    /// `decoded`, `not-decodable` or `rejected`.
    pub outcome: String,
    /// For a rejected vector: the requirement and offset of the rejection.
    pub rejected: Option<ExpectedFinding>,
    /// Requirements exercised (the findings' included).
    pub exercises: Vec<String>,
    /// Every finding, sorted.
    pub findings: Vec<ExpectedFinding>,
    /// Events it decodes to (the lines of `NAME.events.jsonl`).
    pub events: usize,
}

/// The files of one vector, relative to the vectors root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Paths (`valid/NAME.tmk`, `valid/NAME/metadata`, …) and contents.
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

fn packet_at(laid: &mut LaidOut, file: &str, bytes: &[u8]) {
    for placed in crate::walk::packets(bytes) {
        laid.packets.push(PlacedPacket {
            file: file.to_string(),
            offset: placed.offset,
            header: placed.header,
            records: Vec::new(),
            fields: Vec::new(),
            index: None,
        });
    }
}

/// The writer's argument for `value` of a marker's `%conv` (§8.2).
fn marker_arg<'a>(
    arg: &tracemark_format::marker::MarkerArg,
    value: &'a Val,
) -> Result<MarkerArg<'a>, DescError> {
    use tracemark_format::{marker::DisplayHint, AbiInt, IntType, TypeDesc};
    Ok(match (&arg.field.ty, value) {
        (_, Val::I(number)) => MarkerArg::Int(*number),
        (TypeDesc::Int(IntType::Abi(AbiInt::Pointer)), Val::U(bits)) => MarkerArg::Pointer(*bits),
        (_, Val::U(bits)) if arg.hint == DisplayHint::Char => MarkerArg::Char(*bits as u8),
        (_, Val::U(bits)) => MarkerArg::UInt(*bits),
        (_, Val::F64(number)) => MarkerArg::Float(*number),
        (_, Val::Str(bytes)) => MarkerArg::Str(
            std::str::from_utf8(bytes).map_err(|_| DescError("marker strings are UTF-8".into()))?,
        ),
        (ty, value) => return Err(DescError(format!("marker argument {value:?} for {ty:?}"))),
    })
}

/// Runs a script through the Rust writer; the single-file bytes and the expected event lines.
pub fn record(script: &WriterScript) -> Result<(Vec<u8>, Vec<String>), DescError> {
    let writer_error = |error: tracemark_writer::Error| DescError(format!("writer: {error}"));
    let config =
        Config::with_uuid(model::VECTOR_UUID).abi(script.abi).crc(true).packet_size(script.packet_size);
    // Fixed strings: the vectors must not change with the writer crate's version.
    let description = TraceDescription {
        os_name: "Linux".into(),
        os_release: "6.1.0-vector".into(),
        architecture: "vector".into(),
        hostname: "conformance".into(),
        tracer_name: "tracemark-writer".into(),
        tracer_version: "vector".into(),
    };
    let mut trace = LocalTrace::with_clock_class(&config, description, scenario_clock(), Vec::new())
        .map_err(writer_error)?;
    let stream_class = trace.stream_class_id();
    trace.registry().set_next_event_id(script.first_event_id).map_err(writer_error)?;
    let late: BTreeSet<usize> = script
        .steps
        .iter()
        .filter_map(|step| if let Step::Declare { class } = step { Some(*class) } else { None })
        .collect();
    let mut handles = BTreeMap::new();
    let register = |trace: &mut LocalTrace<Vec<u8>>, class: &ClassSpec| {
        trace
            .registry()
            .register_fields(stream_class, &class.name, 255, class.fields.clone())
            .map_err(writer_error)
    };
    for (index, class) in script.classes.iter().enumerate() {
        if !late.contains(&index) {
            handles.insert(index, register(&mut trace, class)?);
        }
    }
    let clock = tracemark_writer::ManualClock::new(0);
    let mut streams: BTreeMap<u32, StreamWriter<Vec<u8>, &tracemark_writer::ManualClock>> = BTreeMap::new();
    let mut events: Vec<MergedLine> = Vec::new();
    let clock_class = scenario_clock();
    for step in &script.steps {
        let cpu = match step {
            Step::Emit { cpu, .. }
            | Step::Discard { cpu, .. }
            | Step::Flush { cpu }
            | Step::Marker { cpu, .. } => *cpu,
            Step::Declare { class } => {
                let class_spec =
                    script.classes.get(*class).ok_or_else(|| DescError("no such class".into()))?;
                handles.insert(*class, register(&mut trace, class_spec)?);
                continue;
            }
        };
        if let std::collections::btree_map::Entry::Vacant(slot) = streams.entry(cpu) {
            let params = trace.stream_params(cpu).map_err(writer_error)?;
            let memory = vec![0u8; script.packet_size as usize];
            slot.insert(StreamWriter::new(params, memory, &clock).map_err(writer_error)?);
        }
        let Some(stream) = streams.get_mut(&cpu) else { continue };
        match step {
            Step::Emit { class, ts, values, .. } => {
                let spec = script.classes.get(*class).ok_or_else(|| DescError("no such class".into()))?;
                let handle = *handles
                    .get(class)
                    .ok_or_else(|| DescError(format!("class {class} used before Declare")))?;
                let len = crate::encode::fields_size(&spec.fields, values, &script.abi)
                    .map_err(|mismatch| DescError(mismatch.0))?;
                let slot = stream.reserve(&mut trace, handle, *ts, len).map_err(writer_error)?;
                crate::encode::write_fields(&spec.fields, values, &mut stream.payload(&slot));
                stream.commit(slot);
                let line = json::event_line(
                    &spec.name,
                    handle.id(),
                    *ts,
                    Some(&clock_class),
                    (stream_class, cpu),
                    &spec.fields,
                    values,
                    &script.abi,
                )
                .map_err(|mismatch| DescError(mismatch.0))?;
                events.push(MergedLine::new((stream_class, cpu), *ts, Some(&clock_class), line));
            }
            Step::Discard { ts, .. } => {
                let Some(handle) = handles.values().next().copied() else {
                    return Err(DescError("no class".into()));
                };
                match stream.reserve(&mut trace, handle, *ts, script.packet_size as usize) {
                    Err(tracemark_writer::Error::EventTooLarge { .. }) => {}
                    other => {
                        return Err(DescError(format!("an oversized event was not discarded: {other:?}")))
                    }
                }
            }
            Step::Flush { .. } => trace.flush_stream(stream).map_err(writer_error)?,
            Step::Marker { ts, name, format, args, .. } => {
                let handle =
                    trace.registry().register_marker(stream_class, name, format).map_err(writer_error)?;
                let parsed =
                    tracemark_format::marker::parse(format).map_err(|error| DescError(error.to_string()))?;
                let marker_args = parsed
                    .iter()
                    .zip(args)
                    .map(|(arg, value)| marker_arg(arg, value))
                    .collect::<Result<Vec<_>, _>>()?;
                stream.marker_at(&mut trace, name, format, &marker_args, *ts).map_err(writer_error)?;
                let fields: Vec<_> = parsed.into_iter().map(|arg| arg.field).collect();
                let line = json::event_line(
                    name,
                    handle.id(),
                    *ts,
                    Some(&clock_class),
                    (stream_class, cpu),
                    &fields,
                    args,
                    &script.abi,
                )
                .map_err(|mismatch| DescError(mismatch.0))?;
                events.push(MergedLine::new((stream_class, cpu), *ts, Some(&clock_class), line));
            }
            Step::Declare { .. } => {}
        }
    }
    for stream in streams.values_mut() {
        trace.flush_stream(stream).map_err(writer_error)?;
    }
    let bytes = trace.finish().map_err(writer_error)?;
    Ok((bytes, merge_order(events)))
}

/// An expected event line, with what places it among the other streams' (§10.8).
#[derive(Debug)]
pub struct MergedLine {
    stream: (u32, u32),
    /// (no clock, time in nanoseconds since the epoch, ticks): records with a time first.
    key: (bool, i128, u64),
    line: String,
}

impl MergedLine {
    /// The line of a record of `stream` at `ticks`, on `clock` when its stream has one.
    pub fn new(
        stream: (u32, u32),
        ticks: u64,
        clock: Option<&tracemark_format::ClockClass>,
        line: String,
    ) -> Self {
        let key = match clock {
            Some(clock) => (false, clock.to_unix_ns(ticks), ticks),
            None => (true, 0, ticks),
        };
        MergedLine { stream, key, line }
    }
}

/// The lines of every stream, each stream's in record order, merged as §10.8 says: of the
/// streams' next records, the one with the smallest (time, ticks, stream class, instance)
/// first, records without a time after all that have one. Written from the spec, apart from
/// the reader's merge, so that the vectors test it.
pub fn merge_order(lines: Vec<MergedLine>) -> Vec<String> {
    let mut streams: BTreeMap<(u32, u32), VecDeque<MergedLine>> = BTreeMap::new();
    for line in lines {
        streams.entry(line.stream).or_default().push_back(line);
    }
    let mut merged = Vec::new();
    loop {
        let next = streams.iter().filter_map(|(stream, lines)| Some((lines.front()?.key, *stream))).min();
        let Some((_, stream)) = next else { break };
        if let Some(line) = streams.get_mut(&stream).and_then(VecDeque::pop_front) {
            merged.push(line.line);
        }
    }
    merged
}

/// Splits a single-file trace into the directory form's files (§9.3: the same packets).
fn split(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = vec![("metadata".into(), Vec::new())];
    for placed in crate::walk::packets(bytes) {
        let header: &PacketHeader = &placed.header;
        let name = if header.is_metadata() {
            "metadata".to_string()
        } else {
            format!("stream-{}-{}.tmk", header.stream_class_id, header.stream_instance_id)
        };
        let position = match files.iter().position(|(existing, _)| *existing == name) {
            Some(position) => position,
            None => {
                files.push((name, Vec::new()));
                files.len() - 1
            }
        };
        files[position].1.extend_from_slice(placed.bytes(bytes));
    }
    files
}

/// The trace, laid out, and its expected event lines.
pub fn lay_out(case: &Case) -> Result<(LaidOut, Vec<String>), DescError> {
    let single_name = format!("{}.tmk", case.name);
    match &case.source {
        TraceSource::Writer(script) => {
            let (bytes, events) = record(script)?;
            let files = match case.form {
                Form::SingleFile => vec![(single_name, bytes)],
                Form::Directory => split(&bytes),
            };
            let mut laid = LaidOut { files: files.clone(), packets: Vec::new(), index_record: None };
            for (name, bytes) in &files {
                packet_at(&mut laid, name, bytes);
            }
            Ok((laid, events))
        }
        TraceSource::Desc(desc) => {
            let laid = model::lay_out(desc, &single_name, case.form == Form::Directory)?;
            let mut events = Vec::new();
            let clocks = declared_clocks(desc);
            for (stream_class, cpu, class, event) in model::delivered_events(desc) {
                let fields = class.fields().map_err(|error| DescError(error.to_string()))?;
                let clock = clocks.get(&stream_class);
                let line = json::event_line(
                    &class.name,
                    class.id,
                    event.ts,
                    clock,
                    (stream_class, cpu),
                    &fields,
                    &event.values,
                    &desc.abi,
                )
                .map_err(|mismatch| DescError(mismatch.0))?;
                events.push(MergedLine::new((stream_class, cpu), event.ts, clock, line));
            }
            Ok((laid, merge_order(events)))
        }
    }
}

/// For each declared stream class, its clock when declared (first declarations, §7.6).
fn declared_clocks(desc: &TraceDesc) -> BTreeMap<u32, tracemark_format::ClockClass> {
    let mut clocks = BTreeMap::new();
    let mut streams = BTreeMap::new();
    for packet in &desc.packets {
        if let model::Body::Metadata(records) = &packet.body {
            for record in records {
                let mut inner = record;
                while let model::Meta::Damaged(meta, _) | model::Meta::Checked(meta) = inner {
                    inner = meta;
                }
                match inner {
                    model::Meta::Clock(clock) => {
                        clocks.entry(clock.id).or_insert_with(|| clock.clone());
                    }
                    model::Meta::StreamClass(class) => {
                        streams.entry(class.id).or_insert(class.clock_id);
                    }
                    _ => {}
                }
            }
        }
    }
    streams.into_iter().filter_map(|(id, clock)| Some((id, clocks.get(&clock)?.clone()))).collect()
}

fn expected_finding(
    laid: &LaidOut,
    case: &Case,
    requirement: &str,
    severity: Severity,
    at: &Loc,
) -> Result<ExpectedFinding, DescError> {
    let (file, offset) = laid.resolve(at)?;
    let file = match case.form {
        Form::SingleFile => file,
        Form::Directory => format!("{}/{file}", case.name),
    };
    Ok(ExpectedFinding { file, offset, requirement: requirement.into(), severity: severity.name().into() })
}

/// Generates the files of a vector.
pub fn generate(case: &Case) -> Result<Generated, DescError> {
    for expect in &case.expect {
        if crate::requirements::get(expect.requirement).is_none() {
            return Err(DescError(format!(
                "{}: {} is not a requirement of the spec",
                case.name, expect.requirement
            )));
        }
    }
    let (laid, events) = lay_out(case)?;
    let mut findings = case
        .expect
        .iter()
        .map(|expect| expected_finding(&laid, case, expect.requirement, expect.severity, &expect.at))
        .collect::<Result<Vec<_>, _>>()?;
    findings.sort();
    let (outcome, rejected) = match &case.outcome {
        Outcome::Decoded => ("decoded", None),
        Outcome::NotDecodable => ("not-decodable", None),
        Outcome::Rejected(requirement, at) => {
            ("rejected", Some(expected_finding(&laid, case, requirement, Severity::Error, at)?))
        }
    };
    let events = if case.outcome == Outcome::Decoded { events } else { Vec::new() };
    let expected = ExpectedFile {
        vector: case.name.into(),
        about: case.about.into(),
        trace: case.trace_name(),
        valid: case.is_valid(),
        outcome: outcome.into(),
        rejected,
        exercises: case.covers().into_iter().map(String::from).collect(),
        findings,
        events: events.len(),
    };
    let group = PathBuf::from(case.group());
    let mut files = Vec::new();
    match case.form {
        Form::SingleFile => {
            for (name, bytes) in laid.files {
                files.push((group.join(name), bytes));
            }
        }
        Form::Directory => {
            for (name, bytes) in laid.files {
                files.push((group.join(case.name).join(name), bytes));
            }
        }
    }
    let mut json = serde_json::to_string_pretty(&expected).map_err(|error| DescError(error.to_string()))?;
    json.push('\n');
    files.push((group.join(format!("{}.expected.json", case.name)), json.into_bytes()));
    let mut lines = events.join("\n");
    if !lines.is_empty() {
        lines.push('\n');
    }
    files.push((group.join(format!("{}.events.jsonl", case.name)), lines.into_bytes()));
    Ok(Generated { files })
}

/// The vectors directory of this source tree.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// Every file every case generates, by path relative to the root.
pub fn generate_all() -> Result<BTreeMap<PathBuf, Vec<u8>>, DescError> {
    let mut all = BTreeMap::new();
    let mut names = BTreeSet::new();
    for case in cases::all() {
        if !names.insert(case.name) {
            return Err(DescError(format!("two cases named {}", case.name)));
        }
        for (path, bytes) in generate(&case)?.files {
            all.insert(path, bytes);
        }
    }
    Ok(all)
}

fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                found.insert(relative.to_path_buf());
            }
        }
    }
    found
}

/// Differences between the files under `root` and what the generator produces: one line per
/// file missing, extra or different.
pub fn check_all(root: &Path) -> Result<Vec<String>, DescError> {
    let generated = generate_all()?;
    let mut differences = Vec::new();
    for (path, bytes) in &generated {
        match fs::read(root.join(path)) {
            Ok(found) if found == *bytes => {}
            Ok(found) => differences.push(format!(
                "{}: differs ({} bytes checked in, {} generated)",
                path.display(),
                found.len(),
                bytes.len()
            )),
            Err(error) => differences.push(format!("{}: {error}", path.display())),
        }
    }
    for path in files_under(root) {
        if !generated.contains_key(&path) {
            differences.push(format!("{}: not generated by any case", path.display()));
        }
    }
    Ok(differences)
}

/// Rewrites the vectors under `root`: every generated file, and no other.
pub fn write_all(root: &Path) -> Result<usize, String> {
    let generated = generate_all().map_err(|error| error.0)?;
    for group in ["valid", "invalid"] {
        let dir = root.join(group);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
        }
    }
    for (path, bytes) in &generated {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|error| format!("{}: {error}", parent.display()))?;
        }
        fs::write(&path, bytes).map_err(|error| format!("{}: {error}", path.display()))?;
    }
    Ok(generated.len())
}

/// How one vector fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorResult {
    /// `valid/NAME` or `invalid/NAME`.
    pub name: String,
    /// Every difference from what is expected; empty when it passes.
    pub problems: Vec<String>,
    /// Findings compared.
    pub findings: usize,
    /// Events compared.
    pub events: usize,
}

/// Reads one vector with the checker and compares with its expected files.
pub fn run_vector(group_dir: &Path, expected: &ExpectedFile) -> VectorResult {
    let group = group_dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let mut result = VectorResult {
        name: format!("{group}/{}", expected.vector),
        problems: Vec::new(),
        findings: 0,
        events: 0,
    };
    let trace_path = group_dir.join(&expected.trace);
    let prefix = format!("{}/", group_dir.display());
    let relative = |file: &str| file.strip_prefix(&prefix).unwrap_or(file).to_string();
    let mut lines = Vec::new();
    let outcome = check::check_with(&check::Source::path(&trace_path), &mut |event| {
        lines.push(serde_json::to_string(event).unwrap_or_else(|error| format!("<unserializable: {error}>")));
    });
    let problems = &mut result.problems;
    match (outcome, expected.outcome.as_str()) {
        (Err(unreadable), "rejected") => {
            let found = (unreadable.requirement.map(String::from), unreadable.offset);
            let wanted = expected
                .rejected
                .as_ref()
                .map(|rejected| (Some(rejected.requirement.clone()), Some(rejected.offset)));
            if Some(found.clone()) != wanted {
                problems.push(format!("rejected as {found:?}, expected {wanted:?}: {unreadable}"));
            }
        }
        (Err(unreadable), _) => problems.push(format!("unexpectedly unreadable: {unreadable}")),
        (Ok(_), "rejected") => problems.push("read, but it must be rejected".into()),
        (Ok(report), outcome) => {
            let decoded = if report.readable { "decoded" } else { "not-decodable" };
            if decoded != outcome {
                problems.push(format!("outcome {decoded}, expected {outcome}"));
            }
            if report.is_valid() != expected.valid {
                problems.push(format!("judged valid: {}, expected {}", report.is_valid(), expected.valid));
            }
            let mut found: Vec<ExpectedFinding> = report
                .findings
                .iter()
                .map(|finding| ExpectedFinding {
                    file: relative(&finding.file),
                    offset: finding.offset,
                    requirement: finding.requirement.into(),
                    severity: finding.severity.name().into(),
                })
                .collect();
            found.sort();
            // Compared as multisets: two findings may share a place and a requirement.
            let mut unmatched = found.clone();
            let mut missing = Vec::new();
            for want in &expected.findings {
                match unmatched.iter().position(|have| have == want) {
                    Some(position) => {
                        unmatched.remove(position);
                    }
                    None => missing.push(want),
                }
            }
            for missing in missing {
                problems.push(format!("missing finding {missing:?}"));
            }
            for extra in &unmatched {
                let message = report
                    .findings
                    .iter()
                    .find(|finding| {
                        finding.offset == extra.offset && finding.requirement == extra.requirement
                    })
                    .map(|finding| finding.message.clone())
                    .unwrap_or_default();
                problems.push(format!("unexpected finding {extra:?}: {message}"));
            }
            result.findings = found.len();
            // The checker reads stream by stream; the merged order is the reader's (§10.8).
            let merged = merged_lines(&trace_path);
            let mut by_stream = lines.clone();
            by_stream.sort();
            let mut sorted = merged.clone();
            sorted.sort();
            if by_stream != sorted {
                problems.push("the checker and the merging reader decode different events".into());
            }
            let lines = merged;
            let wanted_path = group_dir.join(format!("{}.events.jsonl", expected.vector));
            match fs::read_to_string(&wanted_path) {
                Ok(text) => {
                    let wanted: Vec<&str> = text.lines().collect();
                    if wanted.len() != lines.len() {
                        problems.push(format!("{} events decoded, {} expected", lines.len(), wanted.len()));
                    }
                    for (index, (want, have)) in wanted.iter().zip(&lines).enumerate() {
                        if want != have {
                            problems.push(format!("event {index}: decoded {have}\n    expected {want}"));
                            break;
                        }
                    }
                    result.events = lines.len();
                }
                Err(error) => problems.push(format!("{}: {error}", wanted_path.display())),
            }
            problems.extend(window_through_index(&trace_path));
        }
    }
    result
}

/// What differs between a read of the whole time span of the trace at `path` through its
/// stored indexes and one that walks its files (§14.4): nothing, but for the report that the
/// indexes were set aside, when a packet read through them was not what they say.
fn window_through_index(path: &Path) -> Option<String> {
    use tracemark_reader::{Item, OpenOptions, Trace};
    let open = |ignore_index| Trace::open_with(path, OpenOptions { ignore_index, ..OpenOptions::default() });
    let (Ok(indexed), Ok(walked)) = (open(false), open(true)) else { return None };
    let (start, end) = walked.time_span()?;
    let items = |trace: &Trace| -> Vec<String> {
        let item = |item: Item<'_>| match item {
            Item::Event(event) => serde_json::to_string(&event).unwrap_or_default(),
            Item::Diagnostic(diagnostic) => format!("{} at {}", diagnostic.kind.name(), diagnostic.offset),
        };
        trace.events_between(start, end).map(item).collect()
    };
    let mut through_index = items(&indexed);
    if !indexed.reads_through_index()
        && through_index.first().is_some_and(|first| first.starts_with("IndexDisagrees"))
    {
        through_index.remove(0);
    }
    let by_walking = items(&walked);
    let first_difference = through_index.iter().zip(&by_walking).position(|(a, b)| a != b);
    match first_difference {
        Some(at) => Some(format!(
            "a window read through the index gives item {at} {:?}, a walk {:?}",
            through_index.get(at),
            by_walking.get(at)
        )),
        None if through_index.len() != by_walking.len() => Some(format!(
            "a window read through the index gives {} items, a walk {}",
            through_index.len(),
            by_walking.len()
        )),
        None => None,
    }
}

/// The events of the trace at `path` as [`Trace::events`](tracemark_reader::Trace::events)
/// merges them, serialized; none when it does not open.
fn merged_lines(path: &Path) -> Vec<String> {
    let Ok(trace) = tracemark_reader::Trace::open(path) else { return Vec::new() };
    trace
        .events()
        .filter_map(tracemark_reader::Item::event)
        .map(|event| {
            serde_json::to_string(&event).unwrap_or_else(|error| format!("<unserializable: {error}>"))
        })
        .collect()
}

/// Runs every vector under `root` (`valid/` and `invalid/`), in name order.
pub fn run_suite(root: &Path) -> Result<Vec<VectorResult>, String> {
    let mut results = Vec::new();
    for group in ["valid", "invalid"] {
        let dir = root.join(group);
        let mut expected_files: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|error| format!("{}: {error}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.to_string_lossy().ends_with(".expected.json"))
            .collect();
        expected_files.sort();
        for path in expected_files {
            let text = fs::read_to_string(&path).map_err(|error| format!("{}: {error}", path.display()))?;
            let expected: ExpectedFile =
                serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))?;
            results.push(run_vector(&dir, &expected));
        }
    }
    if results.is_empty() {
        return Err(format!("{}: no vectors", root.display()));
    }
    Ok(results)
}

/// For each requirement, the rules and vectors that cover it.
pub fn coverage() -> BTreeMap<String, crate::requirements::Coverage> {
    let mut coverage: BTreeMap<String, crate::requirements::Coverage> = BTreeMap::new();
    for rule in check::rules::RULES {
        for requirement in rule.requirements {
            coverage.entry((*requirement).into()).or_default().rules.push(rule.name.into());
        }
    }
    for (test, requirements) in crate::harness::WRITER_TESTS {
        for requirement in *requirements {
            coverage.entry((*requirement).into()).or_default().tests.push((*test).into());
        }
    }
    for case in cases::all() {
        for requirement in case.covers() {
            coverage.entry(requirement.into()).or_default().vectors.push(format!(
                "{}/{}",
                case.group(),
                case.name
            ));
        }
    }
    coverage
}
