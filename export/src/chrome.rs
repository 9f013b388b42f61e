//! Chrome Trace Event Format (JSON), as the Perfetto UI and `chrome://tracing` open it.
//!
//! The output is one JSON object: `{"displayTimeUnit": "ns", "otherData": {...},
//! "traceEvents": [...]}`. Each stream is a track: `pid` is the stream class ID (a process
//! named after the host and stream class), `tid` the stream instance ID (a thread named
//! `CPU N`). `ts` and `dur` are microseconds with three decimals (nanosecond precision),
//! relative to the earliest packet of the trace, whose Unix time in nanoseconds is
//! `otherData.origin_unix_ns` (clock ticks when a stream has no clock).
//!
//! - Scheduler switches become slices: an event named `sched_switch` (or ending in
//!   `:sched_switch`) with a string `next_comm` field starts a complete event (`ph: "X"`)
//!   named after the incoming task on its CPU's track, ended by the next switch on that CPU
//!   or by the end of the trace. Its `args` are the incoming task's `pid` and `prio` (from
//!   `next_pid` and `next_prio`) and the state it left in (`prev_state` of the switch that
//!   ended it). Before a CPU's first switch, the outgoing task (`prev_comm`) gets a slice
//!   from the CPU's first event.
//! - Spans become slices: an event named `NAME:enter` with a `span_id` field (as
//!   `tracemark-tracing` writes a Rust program's spans) starts a complete event named `NAME`
//!   on its stream's track, ended by the `NAME:exit` with the same `span_id` on that stream;
//!   its `args` are the `span_id`. A span still entered at the end of the trace runs until its
//!   last event. Unmatched exits are instants.
//! - Every other event is a thread-scoped instant (`ph: "i"`, `s: "t"`) with its fields as
//!   `args`; fields with a display hint (pointers, marker `%x`, `%o`, `%c`) are strings as
//!   `tracemark dump` shows them, other values as in `tracemark dump --json`.
//! - Diagnostics become process-scoped instants (`s: "p"`) in category
//!   `tracemark.diagnostic`, at the time of the last event delivered before them.

use std::{
    collections::BTreeMap,
    fmt,
    io::{self, Write},
};

use serde::ser::{Serialize, SerializeMap, Serializer};
use tracemark_format::marker::DisplayHint;
use tracemark_reader::{uuid_string, Diagnostic, DiagnosticKind, Event, Item, StreamId, Trace, Value};

use crate::ExportError;

/// What [`write_chrome_json`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChromeSummary {
    /// Instant events (every event that is not a scheduler switch shown as a slice).
    pub instants: u64,
    /// Slices (complete events) made from scheduler switches.
    pub slices: u64,
    /// Scheduler switch events turned into slices.
    pub switches: u64,
    /// Slices made from spans entered and exited (`NAME:enter`, `NAME:exit`).
    pub spans: u64,
    /// Diagnostics, written as instants too.
    pub diagnostics: u64,
    /// Tracks (streams).
    pub tracks: usize,
}

/// Nanoseconds relative to the origin, written as microseconds with three decimals.
#[derive(Debug, Clone, Copy)]
struct Micros(i128);

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        // `u64` arithmetic where it fits (any trace shorter than 584 years): `u128` division
        // is a library call.
        match u64::try_from(magnitude) {
            Ok(magnitude) => write!(f, "{sign}{}.{:03}", magnitude / 1000, magnitude % 1000),
            Err(_) => write!(f, "{sign}{}.{:03}", magnitude / 1000, magnitude % 1000),
        }
    }
}

/// A task running on a CPU since `start`.
#[derive(Debug, Clone)]
struct Running {
    start: i128,
    name: String,
    pid: Option<i64>,
    prio: Option<i64>,
}

/// Per-track state.
#[derive(Debug, Default)]
struct Track {
    first_event: Option<i128>,
    running: Option<Running>,
    /// Spans entered and not exited yet, by `span_id`: their name and when they were entered.
    entered: BTreeMap<u64, (String, i128)>,
}

/// A span's enter or exit: the span's name (the event's without the suffix) and ID.
fn span_edge<'e>(event: &'e Event<'_>, suffix: &str) -> Option<(&'e str, u64)> {
    let name = event.name().strip_suffix(suffix)?;
    let id = event.value("span_id")?.as_u64()?;
    Some((name, id))
}

/// The event's fields as an `args` object, hinted fields as displayed text.
struct Args<'a, 't>(&'a Event<'t>);

impl Serialize for Args<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let hints = self.0.display_hints();
        let mut map = serializer.serialize_map(Some(self.0.field_count()))?;
        // Decoded one at a time, not collected: no allocation for an event of scalars, and
        // arrays, sequences and structs written as they are decoded, never held whole.
        for (index, (name, value)) in self.0.streamed_values().enumerate() {
            match (hints.and_then(|hints| hints.get(index)), value.scalar()) {
                (
                    Some(hint @ (DisplayHint::Hex | DisplayHint::Octal | DisplayHint::Char)),
                    Some(scalar @ (Value::Unsigned(_) | Value::Signed(_))),
                ) => {
                    map.serialize_entry(name, &scalar.display(*hint).to_string())?;
                }
                _ => map.serialize_entry(name, &value)?,
            }
        }
        map.end()
    }
}

/// Writes Trace Event Format JSON.
struct ChromeWriter<W: Write> {
    out: W,
    first: bool,
    origin: i128,
    summary: ChromeSummary,
}

impl<W: Write> ChromeWriter<W> {
    /// Starts a `traceEvents` entry.
    fn entry(&mut self) -> io::Result<()> {
        if self.first {
            self.first = false;
            self.out.write_all(b"\n")
        } else {
            self.out.write_all(b",\n")
        }
    }

    fn metadata_event(
        &mut self,
        name: &str,
        pid: u32,
        tid: u32,
        args: serde_json::Value,
    ) -> Result<(), ExportError> {
        self.entry().map_err(ExportError::Output)?;
        let event = serde_json::json!({"ph": "M", "name": name, "pid": pid, "tid": tid, "args": args});
        serde_json::to_writer(&mut self.out, &event)?;
        Ok(())
    }

    fn slice(
        &mut self,
        stream: StreamId,
        running: &Running,
        end: i128,
        end_state: Option<String>,
    ) -> Result<(), ExportError> {
        let duration = end - running.start;
        if duration <= 0 {
            return Ok(());
        }
        self.entry().map_err(ExportError::Output)?;
        let mut args = serde_json::Map::new();
        if let Some(pid) = running.pid {
            args.insert("pid".into(), pid.into());
        }
        if let Some(prio) = running.prio {
            args.insert("prio".into(), prio.into());
        }
        if let Some(state) = end_state {
            args.insert("end_state".into(), state.into());
        }
        write!(
            self.out,
            r#"{{"ph":"X","cat":"sched","name":{},"ts":{},"dur":{},"pid":{},"tid":{},"args":"#,
            serde_json::to_string(&running.name)?,
            Micros(running.start - self.origin),
            Micros(duration),
            stream.class,
            stream.instance
        )
        .map_err(ExportError::Output)?;
        serde_json::to_writer(&mut self.out, &args)?;
        self.out.write_all(b"}").map_err(ExportError::Output)?;
        self.summary.slices += 1;
        Ok(())
    }

    /// A span's slice: entered at `start`, exited at `end`.
    fn span(
        &mut self,
        stream: StreamId,
        name: &str,
        span_id: u64,
        start: i128,
        end: i128,
    ) -> Result<(), ExportError> {
        self.entry().map_err(ExportError::Output)?;
        self.out.write_all(br#"{"ph":"X","cat":"span","name":"#).map_err(ExportError::Output)?;
        serde_json::to_writer(&mut self.out, name)?;
        write!(
            self.out,
            r#","ts":{},"dur":{},"pid":{},"tid":{},"args":{{"span_id":{span_id}}}}}"#,
            Micros(start - self.origin),
            Micros((end - start).max(0)),
            stream.class,
            stream.instance
        )
        .map_err(ExportError::Output)?;
        self.summary.spans += 1;
        Ok(())
    }

    fn instant(&mut self, event: &Event<'_>, at: i128) -> Result<(), ExportError> {
        self.entry().map_err(ExportError::Output)?;
        self.out.write_all(br#"{"ph":"i","s":"t","cat":"tracemark","name":"#).map_err(ExportError::Output)?;
        serde_json::to_writer(&mut self.out, event.name())?;
        write!(
            self.out,
            r#","ts":{},"pid":{},"tid":{},"args":"#,
            Micros(at - self.origin),
            event.stream().class,
            event.stream().instance
        )
        .map_err(ExportError::Output)?;
        serde_json::to_writer(&mut self.out, &Args(event))?;
        self.out.write_all(b"}").map_err(ExportError::Output)?;
        self.summary.instants += 1;
        Ok(())
    }

    fn diagnostic(&mut self, diagnostic: &Diagnostic, at: i128) -> Result<(), ExportError> {
        self.entry().map_err(ExportError::Output)?;
        let stream = diagnostic.stream.unwrap_or(StreamId { class: 0, instance: 0 });
        let event = serde_json::json!({
            "ph": "i",
            "s": "p",
            "cat": "tracemark.diagnostic",
            "name": format!("{}: {}", diagnostic.kind.name(), diagnostic.kind),
            "pid": stream.class,
            "tid": stream.instance,
            "args": diagnostic,
        });
        // `ts` is written by hand to keep nanosecond precision.
        let mut text = serde_json::to_string(&event)?;
        text.pop();
        write!(self.out, r#"{text},"ts":{}}}"#, Micros(at - self.origin)).map_err(ExportError::Output)?;
        self.summary.diagnostics += 1;
        Ok(())
    }
}

fn is_sched_switch(event: &Event<'_>) -> bool {
    let name = event.name();
    name == "sched_switch" || name.ends_with(":sched_switch")
}

/// The task an event's `{prefix}comm`, `{prefix}pid` and `{prefix}prio` fields name.
fn task(event: &Event<'_>, prefix: &str, start: i128) -> Option<Running> {
    // Each field decoded alone: a switch needs five of its fields.
    let name = event.value(&format!("{prefix}comm"))?.as_str()?.into_owned();
    Some(Running {
        start,
        name,
        pid: event.value(&format!("{prefix}pid")).as_ref().and_then(Value::as_i64),
        prio: event.value(&format!("{prefix}prio")).as_ref().and_then(Value::as_i64),
    })
}

/// An event's time in nanoseconds: Unix time through its clock, else its ticks.
fn event_ns(event: &Event<'_>) -> i128 {
    event.unix_ns().unwrap_or(i128::from(event.timestamp()))
}

/// Writes `trace` as Trace Event Format JSON to `out`. Every diagnostic the reader delivers
/// is passed to `on_diagnostic` and written as an instant event.
pub fn write_chrome_json(
    trace: &Trace,
    out: impl Write,
    mut on_diagnostic: impl FnMut(&Diagnostic),
) -> Result<ChromeSummary, ExportError> {
    let metadata = trace.metadata();
    let summary = trace.summary();
    let origin = summary
        .streams
        .iter()
        .filter_map(|stream| {
            let begin = stream.begin?;
            Some(match metadata.stream_clock(stream.id.class) {
                Some(clock) => clock.to_unix_ns(begin),
                None => i128::from(begin),
            })
        })
        .min()
        .unwrap_or(0);
    let info = metadata.trace_info();
    let mut writer = ChromeWriter { out, first: true, origin, summary: ChromeSummary::default() };
    let other = serde_json::json!({
        "converter": "tracemark-export",
        "trace_uuid": uuid_string(&info.uuid),
        "hostname": info.hostname,
        "os": format!("{} {}", info.os_name, info.os_release),
        "architecture": info.architecture,
        "tracer": format!("{} {}", info.tracer_name, info.tracer_version),
        "origin_unix_ns": origin.to_string(),
    });
    write!(writer.out, r#"{{"displayTimeUnit":"ns","otherData":{other},"traceEvents":["#)
        .map_err(ExportError::Output)?;

    let mut tracks: BTreeMap<StreamId, Track> = BTreeMap::new();
    let mut classes_named = Vec::new();
    for id in trace.stream_ids() {
        if !classes_named.contains(&id.class) {
            classes_named.push(id.class);
            let class_name =
                metadata.stream_class(id.class).map_or("undeclared", |class| class.name.as_str());
            let name = format!("{} (stream class {} {class_name})", info.hostname, id.class);
            writer.metadata_event("process_name", id.class, 0, serde_json::json!({ "name": name }))?;
        }
        writer.metadata_event(
            "thread_name",
            id.class,
            id.instance,
            serde_json::json!({ "name": format!("CPU {}", id.instance) }),
        )?;
        writer.metadata_event(
            "thread_sort_index",
            id.class,
            id.instance,
            serde_json::json!({ "sort_index": id.instance }),
        )?;
        tracks.insert(id, Track::default());
    }
    writer.summary.tracks = tracks.len();

    let mut last = origin;
    // A worker thread checks and walks the packets ahead of this one.
    trace.with_events(trace.default_workers(), |items| {
        for item in items {
            match item {
                Item::Event(event) => {
                    let at = event_ns(&event);
                    last = last.max(at);
                    let stream = event.stream();
                    let track = tracks.entry(stream).or_default();
                    let first_event = *track.first_event.get_or_insert(at);
                    if let Some((name, span_id)) = span_edge(&event, ":enter") {
                        track.entered.insert(span_id, (name.to_owned(), at));
                        continue;
                    }
                    if let Some((_, span_id)) = span_edge(&event, ":exit") {
                        if let Some((name, start)) = track.entered.remove(&span_id) {
                            writer.span(stream, &name, span_id, start, at)?;
                            continue;
                        }
                    }
                    let incoming = if is_sched_switch(&event) { task(&event, "next_", at) } else { None };
                    let Some(incoming) = incoming else {
                        writer.instant(&event, at)?;
                        continue;
                    };
                    writer.summary.switches += 1;
                    let end_state = event.value("prev_state").map(|state| state.to_string());
                    let outgoing = match track.running.take() {
                        Some(running) => Some(running),
                        // Before the CPU's first switch, the outgoing task ran since its first event.
                        None => task(&event, "prev_", first_event),
                    };
                    track.running = Some(incoming);
                    if let Some(outgoing) = outgoing {
                        writer.slice(stream, &outgoing, at, end_state)?;
                    }
                }
                Item::Diagnostic(diagnostic) => {
                    on_diagnostic(&diagnostic);
                    let at = match diagnostic.kind {
                        DiagnosticKind::DiscardedEvents { to_ts, .. } => diagnostic
                            .stream
                            .and_then(|stream| metadata.stream_clock(stream.class))
                            .map_or(last, |clock| clock.to_unix_ns(to_ts)),
                        _ => last,
                    };
                    writer.diagnostic(&diagnostic, at)?;
                }
            }
        }
        Ok::<(), ExportError>(())
    })?;
    // Tasks still running and spans still entered at the end of the trace run until its last
    // event.
    for (stream, track) in &mut tracks {
        if let Some(running) = track.running.take() {
            writer.slice(*stream, &running, last, None)?;
        }
        for (span_id, (name, start)) in std::mem::take(&mut track.entered) {
            writer.span(*stream, &name, span_id, start, last)?;
        }
    }
    writer.out.write_all(b"\n]}\n").map_err(ExportError::Output)?;
    writer.out.flush().map_err(ExportError::Output)?;
    Ok(writer.summary)
}
