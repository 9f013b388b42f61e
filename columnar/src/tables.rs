//! The tables beside the event tables: `packets`, `diagnostics` and `trace`.

use std::collections::{HashMap, HashSet};

use parquet::file::properties::WriterProperties;
use tracemark_format::{metadata::EnvValue, ByteOrder};
use tracemark_reader::{uuid_string, Diagnostic, StreamId, Trace, Value};

use crate::{
    column::Quality,
    layout::Layout,
    schema::{ColumnType, IntShape, Member},
    table::{Cell, Table},
    ColumnarError, ParquetSummary,
};

const U8: ColumnType = ColumnType::Int(IntShape { bytes: 1, signed: false });
const U32: ColumnType = ColumnType::Int(IntShape { bytes: 4, signed: false });
const U64: ColumnType = ColumnType::Int(IntShape { bytes: 8, signed: false });
const I64: ColumnType = ColumnType::Int(IntShape { bytes: 8, signed: true });

/// Nanoseconds since the Unix epoch as an `INT64` cell: null past 2262 (or before 1677).
pub(crate) fn ns_value(ns: i128) -> Option<Value<'static>> {
    i64::try_from(ns).ok().map(Value::Signed)
}

/// Members named `names` with types `types`, sources in order.
fn columns(spec: &[(&str, ColumnType)]) -> Vec<Member> {
    spec.iter().enumerate().map(|(source, (name, ty))| Member::column(name, source, ty.clone())).collect()
}

/// The columns every event table starts with ([`EVENT_COLUMNS`](crate::EVENT_COLUMNS)).
pub(crate) fn event_columns() -> Vec<Member> {
    columns(&[("ts_ns", I64), ("ticks", U64), ("stream", U32), ("cpu", U32), ("packet", U64)])
}

/// The `diagnostics` table.
pub(crate) fn diagnostics_table(layout: &Layout, properties: WriterProperties) -> Table {
    let spec = [
        ("kind", ColumnType::Str),
        ("section", ColumnType::Str),
        ("loss", ColumnType::Bool),
        ("file", ColumnType::Str),
        ("offset", U64),
        ("stream", U32),
        ("cpu", U32),
        ("packet", U64),
        ("message", ColumnType::Str),
    ];
    Table::new(&columns(&spec), Vec::new(), layout.table("diagnostics"), properties)
}

/// A row of the `diagnostics` table.
pub(crate) fn append_diagnostic(table: &mut Table, diagnostic: &Diagnostic, quality: &mut Quality) {
    let message = diagnostic.to_string();
    let row = [
        Some(Value::Str(diagnostic.kind.name().as_bytes())),
        Some(Value::Str(diagnostic.section.as_bytes())),
        Some(Value::Bool(diagnostic.is_loss())),
        Some(Value::Str(diagnostic.file.as_bytes())),
        Some(Value::Unsigned(diagnostic.offset)),
        diagnostic.stream.map(|stream| Value::Unsigned(u64::from(stream.class))),
        diagnostic.stream.map(|stream| Value::Unsigned(u64::from(stream.instance))),
        diagnostic.sequence.map(Value::Unsigned),
        Some(Value::Str(message.as_bytes())),
    ];
    table.append_row(&row, quality);
}

/// What the event pass learns of each packet, by stream and sequence number.
#[derive(Debug, Default)]
pub(crate) struct PacketTally {
    /// Events delivered from each packet left behind.
    events: HashMap<(StreamId, u64), u64>,
    /// Each stream's current packet and its events so far, by stream: events come in runs
    /// per packet, so most events touch this, not the map.
    current: Vec<(StreamId, u64, u64)>,
    /// Packets whose CRC did not match (§10.3): the reader said so, so the packets table need
    /// not read every packet's bytes again to say it.
    pub(crate) crc_mismatch: HashSet<(StreamId, u64)>,
}

impl PacketTally {
    /// Counts an event of packet `sequence` of `stream`.
    pub(crate) fn event(&mut self, stream: StreamId, sequence: u64) {
        match self.current.binary_search_by_key(&stream, |entry| entry.0) {
            Ok(index) => {
                let entry = &mut self.current[index];
                if entry.1 == sequence {
                    entry.2 += 1;
                } else {
                    *self.events.entry((stream, entry.1)).or_default() += entry.2;
                    *entry = (stream, sequence, 1);
                }
            }
            Err(index) => self.current.insert(index, (stream, sequence, 1)),
        }
    }

    /// Events delivered from packet `sequence` of `stream`.
    fn events(&self, stream: StreamId, sequence: u64) -> u64 {
        let current = match self.current.binary_search_by_key(&stream, |entry| entry.0) {
            Ok(index) if self.current[index].1 == sequence => self.current[index].2,
            _ => 0,
        };
        current + self.events.get(&(stream, sequence)).copied().unwrap_or(0)
    }
}

/// What the `packets` table holds in sum.
pub(crate) struct PacketTotals {
    pub(crate) rows: u64,
    pub(crate) discarded: u64,
}

/// Writes the `packets` table: one row per data packet, stream by stream, in sequence order.
pub(crate) fn write_packets(
    trace: &Trace,
    layout: &Layout,
    properties: WriterProperties,
    tally: &PacketTally,
) -> Result<PacketTotals, ColumnarError> {
    let spec = [
        ("stream", U32),
        ("cpu", U32),
        ("sequence", U64),
        ("begin_ns", I64),
        ("end_ns", I64),
        ("ticks_begin", U64),
        ("ticks_end", U64),
        ("events", U64),
        ("discarded", U64),
        ("events_discarded", U64),
        ("missing_before", U64),
        ("content_size", U32),
        ("packet_size", U32),
        ("compressed", ColumnType::Bool),
        ("whole", ColumnType::Bool),
        ("crc_ok", ColumnType::Bool),
        ("file", ColumnType::Str),
        ("offset", U64),
    ];
    let mut table = Table::new(&columns(&spec), Vec::new(), layout.table("packets"), properties);
    let mut totals = PacketTotals { rows: 0, discarded: 0 };
    let mut quality = Quality::default();
    for stream in trace.stream_ids() {
        let clock = trace.metadata().stream_clock(stream.class);
        let ns = |ticks| clock.and_then(|clock| ns_value(clock.to_unix_ns(ticks)));
        let mut previous: Option<(u64, u64)> = None;
        for packet in trace.packets(stream) {
            let header = packet.header();
            // Discards and missing packets since the packet before, as §10.1 and §10.2 count
            // them; null where the counter or the sequence went backwards.
            let (discarded, missing) = match previous {
                None => (Some(header.events_discarded), Some(0)),
                Some((sequence, counter)) => (
                    header.events_discarded.checked_sub(counter),
                    header.sequence.checked_sub(sequence).and_then(|step| step.checked_sub(1)),
                ),
            };
            totals.discarded = totals.discarded.saturating_add(discarded.unwrap_or(0));
            previous = Some((header.sequence, header.events_discarded));
            let row = [
                Some(Value::Unsigned(u64::from(stream.class))),
                Some(Value::Unsigned(u64::from(stream.instance))),
                Some(Value::Unsigned(header.sequence)),
                ns(header.timestamp_begin),
                ns(header.timestamp_end),
                Some(Value::Unsigned(header.timestamp_begin)),
                Some(Value::Unsigned(header.timestamp_end)),
                Some(Value::Unsigned(tally.events(stream, header.sequence))),
                discarded.map(Value::Unsigned),
                Some(Value::Unsigned(header.events_discarded)),
                missing.map(Value::Unsigned),
                Some(Value::Unsigned(u64::from(header.content_size))),
                Some(Value::Unsigned(u64::from(header.packet_size))),
                Some(Value::Bool(header.flags.is_compressed())),
                Some(Value::Bool(packet.is_whole())),
                Some(Value::Bool(!tally.crc_mismatch.contains(&(stream, header.sequence)))),
                Some(Value::Str(packet.file().as_bytes())),
                Some(Value::Unsigned(packet.offset())),
            ];
            table.append_row(&row, &mut quality);
            totals.rows += 1;
            if table.buffered().0 >= 8192 {
                table.write_batch()?;
            }
        }
    }
    table.close()?;
    Ok(totals)
}

/// Writes the `trace` table: one row describing the trace.
pub(crate) fn write_trace(
    trace: &Trace,
    layout: &Layout,
    properties: WriterProperties,
    summary: &ParquetSummary,
) -> Result<(), ColumnarError> {
    let metadata = trace.metadata();
    let info = metadata.trace_info();
    let abi = info.abi;
    let text = ColumnType::Str;
    let abi_type = ColumnType::Struct(columns(&[
        ("short", U8),
        ("int", U8),
        ("long", U8),
        ("long_long", U8),
        ("pointer", U8),
        ("size_t", U8),
    ]));
    let clock_type = ColumnType::Struct(columns(&[
        ("id", U32),
        ("name", text.clone()),
        ("frequency", U64),
        ("offset_ns", I64),
        ("precision", U64),
        ("description", text.clone()),
    ]));
    let stream_type = ColumnType::Struct(columns(&[("id", U32), ("name", text.clone()), ("clock_id", U32)]));
    let env_type = ColumnType::Struct(columns(&[("key", text.clone()), ("value", text.clone())]));
    let spec = [
        ("uuid", text.clone()),
        ("hostname", text.clone()),
        ("os_name", text.clone()),
        ("os_release", text.clone()),
        ("architecture", text.clone()),
        ("tracer_name", text.clone()),
        ("tracer_version", text.clone()),
        ("format_version", text.clone()),
        ("byte_order", text.clone()),
        ("abi", abi_type),
        ("clocks", ColumnType::List(Box::new(clock_type))),
        ("stream_classes", ColumnType::List(Box::new(stream_type))),
        ("env", ColumnType::List(Box::new(env_type))),
        ("begin_ns", I64),
        ("end_ns", I64),
        ("events", U64),
        ("discarded", U64),
        ("source", text),
    ];
    let mut table = Table::new(&columns(&spec), Vec::new(), layout.table("trace"), properties);
    let uuid = uuid_string(&metadata.uuid());
    let version = trace.version().to_string();
    let byte_order = match metadata.byte_order() {
        ByteOrder::Little => "little",
        ByteOrder::Big => "big",
    };
    let size = |size: u8| Value::Unsigned(u64::from(size));
    let clocks = metadata.clocks().map(|clock| {
        Value::Struct(vec![
            ("id", Value::Unsigned(u64::from(clock.id))),
            ("name", Value::Str(clock.name.as_bytes())),
            ("frequency", Value::Unsigned(clock.frequency)),
            ("offset_ns", Value::Signed(clock.offset_ns)),
            ("precision", Value::Unsigned(clock.precision)),
            ("description", Value::Str(clock.description.as_bytes())),
        ])
    });
    let streams = metadata.stream_classes().map(|stream| {
        Value::Struct(vec![
            ("id", Value::Unsigned(u64::from(stream.id))),
            ("name", Value::Str(stream.name.as_bytes())),
            ("clock_id", Value::Unsigned(u64::from(stream.clock_id))),
        ])
    });
    // An integer's text lives only while its element is appended.
    let numbers: Vec<String> = metadata
        .env()
        .iter()
        .filter_map(|entry| match &entry.value {
            EnvValue::Int(number) => Some(number.to_string()),
            EnvValue::Str(_) => None,
        })
        .collect();
    let mut number = numbers.iter();
    let env = metadata.env().iter().map(move |entry| {
        let value = match &entry.value {
            EnvValue::Str(text) => text.as_bytes(),
            EnvValue::Int(_) => number.next().map_or(&b""[..], |text| text.as_bytes()),
        };
        Value::Struct(vec![("key", Value::Str(entry.key.as_bytes())), ("value", Value::Str(value))])
    });
    let span = trace.time_span();
    let one = |value| Cell::One(Some(value));
    let row = vec![
        one(Value::Str(uuid.as_bytes())),
        one(Value::Str(info.hostname.as_bytes())),
        one(Value::Str(info.os_name.as_bytes())),
        one(Value::Str(info.os_release.as_bytes())),
        one(Value::Str(info.architecture.as_bytes())),
        one(Value::Str(info.tracer_name.as_bytes())),
        one(Value::Str(info.tracer_version.as_bytes())),
        one(Value::Str(version.as_bytes())),
        one(Value::Str(byte_order.as_bytes())),
        one(Value::Struct(vec![
            ("short", size(abi.short)),
            ("int", size(abi.int)),
            ("long", size(abi.long)),
            ("long_long", size(abi.long_long)),
            ("pointer", size(abi.pointer)),
            ("size_t", size(abi.size_t)),
        ])),
        Cell::Many(Box::new(clocks)),
        Cell::Many(Box::new(streams)),
        Cell::Many(Box::new(env)),
        Cell::One(span.and_then(|(begin, _)| ns_value(begin))),
        Cell::One(span.and_then(|(_, end)| ns_value(end))),
        one(Value::Unsigned(summary.events)),
        one(Value::Unsigned(summary.discarded)),
        one(Value::Str(trace.path().as_bytes())),
    ];
    table.append_cells(row, &mut Quality::default());
    table.close()
}
