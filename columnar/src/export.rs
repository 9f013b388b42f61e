//! [`write_parquet`]: a trace as a directory of Parquet tables.

use std::{collections::HashMap, path::Path};

use parquet::{
    basic::{Compression, Encoding, ZstdLevel},
    file::{
        metadata::KeyValue,
        properties::{EnabledStatistics, WriterProperties},
    },
    schema::types::ColumnPath,
};
use tracemark_reader::{uuid_string, Diagnostic, DiagnosticKind, Event, Item, Trace, Value};

use crate::{
    column::Quality,
    layout::Layout,
    schema::{members, ColumnType, Member, UniqueNames},
    table::Table,
    tables::{self, PacketTally},
    ColumnarError,
};

/// Limits and sizes of an export. The defaults suit a laptop and a 2-core CI machine alike.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    /// Rows per batch handed from the column builders to the Parquet writer.
    pub batch_rows: usize,
    /// Builder memory per batch (payload bytes plus 48 a row): a batch of large events is cut
    /// sooner, which keeps a batch's strings and sequences far below Arrow's 32-bit offsets.
    pub batch_bytes: usize,
    /// Rows per row group at most: the unit a query engine scans in parallel and skips by
    /// its statistics.
    pub row_group_rows: usize,
    /// Encoded bytes per row group at most.
    pub row_group_bytes: usize,
    /// Event tables with a file open at once at most; a table closed to make room continues
    /// in its next part file.
    pub open_files: usize,
    /// Memory for column builders and row groups in progress, across tables: past it, the
    /// largest are written out early (smaller row groups, same rows).
    pub memory_budget: usize,
    /// Worker threads decoding packets ahead of the merge ([`Trace::with_events`]);
    /// `None`: [`Trace::default_workers`].
    pub workers: Option<usize>,
    /// zstd level of the Parquet pages.
    pub zstd_level: i32,
    /// `KEY=VALUE` (`host=web1`): write this trace as one partition of a fleet's tables
    /// (see [`write_parquet`]).
    pub partition: Option<String>,
}

impl Default for ParquetOptions {
    fn default() -> ParquetOptions {
        ParquetOptions {
            batch_rows: 8192,
            batch_bytes: 32 << 20,
            row_group_rows: 128 << 10,
            row_group_bytes: 64 << 20,
            open_files: 64,
            memory_budget: 256 << 20,
            workers: None,
            zstd_level: 1,
            partition: None,
        }
    }
}

/// What [`write_parquet`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ParquetSummary {
    /// Event rows, over all event tables.
    pub events: u64,
    /// Event tables (directories under `events/`).
    pub event_tables: usize,
    /// Parquet files written, all tables.
    pub files: u64,
    /// Rows of the `packets` table.
    pub packets: u64,
    /// Rows of the `diagnostics` table.
    pub diagnostics: u64,
    /// Strings that were not UTF-8, stored with U+FFFD in place of the bad bytes.
    pub lossy_strings: u64,
    /// Field values stored as null: missing from a record or not of their declared type.
    pub nulled_values: u64,
    /// Events the writer discarded (§10.1), as the packets count them.
    pub discarded: u64,
    /// Event tables of classes too wide for columns, whose values are a JSON array
    /// ([`JSON_COLUMN`]).
    pub json_tables: usize,
}

/// Progress of an export, reported every few thousand events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Events written so far.
    pub events: u64,
    /// How far through the trace's time span the export is, 0 to 1, when the trace has one.
    pub fraction: Option<f64>,
}

/// Builder memory a batch may reach whatever [`ParquetOptions::batch_bytes`] says: half of
/// what Arrow's 32-bit offsets can address.
const MAX_BATCH_BYTES: usize = 1 << 30;

/// Leaf columns a class's payload may have as columns: a Parquet writer holds buffers per
/// leaf column (about 10 KB), so a class of 65,535 fields would take most of a gigabyte. A
/// wider class has one column, [`JSON_COLUMN`], instead.
pub const MAX_TABLE_COLUMNS: usize = 1024;

/// The column of a class too wide for columns ([`MAX_TABLE_COLUMNS`]): each event's field
/// values as a JSON array, in field order (the names are the table schema's `tracemark.fields`
/// metadata, a JSON array).
pub const JSON_COLUMN: &str = "fields_json";

/// Leaf columns of all open files together at most: files are closed, least recently used
/// first, to stay under it.
const MAX_OPEN_COLUMNS: usize = 8192;

/// Events between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 14;

/// The columns every event table starts with.
pub const EVENT_COLUMNS: [&str; 5] = ["ts_ns", "ticks", "stream", "cpu", "packet"];

/// Writes `trace` as Parquet tables into `out` (new or empty; created if missing):
///
/// - `events/NAME/part-NNNNN.parquet`: one table per event class, in time order, with the
///   columns `ts_ns` (nanoseconds since the Unix epoch through the stream's clock; null
///   without a clock or past 2262), `ticks`, `stream` (stream class ID), `cpu` (stream
///   instance), `packet` (the packet's sequence number), then one per payload field (see
///   [`schema`](crate::schema) for the types; a field named like a column before it gets
///   `_2`). Classes of the same name and identity hash share a table; another class of that
///   name gets `NAME-ID`. `NAME` is [`table_dir_name`] of the event name. A class of more
///   than [`MAX_TABLE_COLUMNS`] leaf columns has one [`JSON_COLUMN`] after the first five.
/// - `packets.parquet`: one row per data packet (ranges, sizes, events, losses).
/// - `diagnostics.parquet`: one row per diagnostic the reader reported (§10).
/// - `trace.parquet`: one row: identity, host, ABI, clocks, stream classes, environment.
///
/// With [`ParquetOptions::partition`] `KEY=VALUE`, the trace is one partition of a fleet's
/// tables, laid out as Hive, Spark, DataFusion and DuckDB read partitioned tables:
/// `events/NAME/KEY=VALUE/part-NNNNN.parquet` and `{packets,diagnostics,trace}/KEY=VALUE/
/// part-00000.parquet`; `out` may hold other partitions, and one exported before is refused.
///
/// Memory stays within [`ParquetOptions::memory_budget`] plus the reader's, whatever the size
/// of the trace. `progress` is called every 16,384 events.
pub fn write_parquet(
    trace: &Trace,
    out: &Path,
    options: &ParquetOptions,
    mut progress: impl FnMut(Progress),
) -> Result<ParquetSummary, ColumnarError> {
    let layout = Layout::new(out, options.partition.as_deref())?;
    layout.prepare()?;
    let properties = writer_properties(trace, options);
    let mut exporter = Exporter {
        trace,
        options,
        properties: properties.clone(),
        diagnostics: tables::diagnostics_table(&layout, properties.clone()),
        layout,
        tables: Vec::new(),
        by_class: HashMap::new(),
        by_name: HashMap::new(),
        packets: PacketTally::default(),
        quality: Quality::default(),
        summary: ParquetSummary::default(),
        clock: 0,
        open: 0,
        open_columns: 0,
        held: 0,
    };
    let span = trace.time_span();
    let workers = options.workers.unwrap_or_else(|| trace.default_workers());
    trace.with_events(workers, |items| -> Result<(), ColumnarError> {
        for item in items {
            match item {
                Item::Event(event) => {
                    exporter.event(&event)?;
                    if exporter.summary.events.is_multiple_of(PROGRESS_EVERY) {
                        let fraction = span.zip(event.unix_ns()).map(|((begin, end), now)| {
                            ((now - begin) as f64 / (end - begin).max(1) as f64).clamp(0.0, 1.0)
                        });
                        progress(Progress { events: exporter.summary.events, fraction });
                    }
                }
                Item::Diagnostic(diagnostic) => exporter.diagnostic(&diagnostic)?,
            }
        }
        Ok(())
    })?;
    exporter.finish()
}

/// The Parquet writer's settings for every table.
fn writer_properties(trace: &Trace, options: &ParquetOptions) -> WriterProperties {
    let level = ZstdLevel::try_new(options.zstd_level).unwrap_or_default();
    let mut builder = WriterProperties::builder();
    // Timestamps rise and are nearly all distinct: a dictionary only costs time before the
    // writer gives it up, and deltas are what compresses them.
    for column in ["ts_ns", "ticks"] {
        let path = ColumnPath::from(column);
        builder = builder
            .set_column_dictionary_enabled(path.clone(), false)
            .set_column_encoding(path, Encoding::DELTA_BINARY_PACKED);
    }
    builder
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
        .set_max_row_group_bytes(Some(options.row_group_bytes.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("tracemark {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("tracemark.trace_uuid".to_owned(), uuid_string(&trace.metadata().uuid())),
            KeyValue::new("tracemark.hostname".to_owned(), trace.metadata().trace_info().hostname.clone()),
        ]))
        .build()
}

/// An event table and where its fields' values are among an event's.
struct EventTable {
    table: Table,
    /// For each payload column, the index of its field among the event's fields.
    sources: Vec<usize>,
    /// For a class too wide for columns: the buffer its events' JSON arrays are written in.
    json: Option<Vec<u8>>,
}

/// The state of one export.
struct Exporter<'t, 'o> {
    trace: &'t Trace,
    options: &'o ParquetOptions,
    properties: WriterProperties,
    layout: Layout,
    tables: Vec<EventTable>,
    /// Event class ID to table.
    by_class: HashMap<u32, usize>,
    /// Table directory name to (identity hash, table) of the tables already named so.
    by_name: HashMap<String, Vec<(u64, usize)>>,
    diagnostics: Table,
    /// Events and CRC mismatches per packet.
    packets: PacketTally,
    quality: Quality,
    summary: ParquetSummary,
    /// Counts writes, for closing the least recently used file.
    clock: u64,
    /// Event tables with a file open.
    open: usize,
    /// Leaf columns of the open files.
    open_columns: usize,
    /// Memory the event tables' builders and writers hold, as [`Table::held`] estimates it.
    held: usize,
}

impl Exporter<'_, '_> {
    fn event(&mut self, event: &Event<'_>) -> Result<(), ColumnarError> {
        let index = match self.by_class.get(&event.id()) {
            Some(index) => *index,
            None => self.table_for(event)?,
        };
        let payload_bytes = event.payload().len();
        // Arrow's offsets are 32-bit: a batch never holds 2 GiB of one column's bytes.
        if self.tables[index].table.buffered().1.saturating_add(payload_bytes) > MAX_BATCH_BYTES {
            self.write_batch(index)?;
        }
        let EventTable { table, sources, json } = &mut self.tables[index];
        let quality = &mut self.quality;
        let stream = event.stream();
        let ts_ns = event.unix_ns().and_then(tables::ns_value);
        let columns = table.columns();
        let (fixed, fields) = columns.split_at_mut(EVENT_COLUMNS.len());
        let fixed_values = [
            ts_ns,
            Some(Value::Unsigned(event.timestamp())),
            Some(Value::Unsigned(u64::from(stream.class))),
            Some(Value::Unsigned(u64::from(stream.instance))),
            Some(Value::Unsigned(event.packet_sequence())),
        ];
        for (column, value) in fixed.iter_mut().zip(&fixed_values) {
            column.append(value.as_ref(), quality);
        }
        let mut next = 0;
        let mut held_bytes = payload_bytes;
        if let Some(json) = json {
            // Too wide for columns: the values as one JSON array, in field order.
            json.clear();
            json.push(b'[');
            for (position, (_, value)) in event.streamed_values().enumerate() {
                if position > 0 {
                    json.push(b',');
                }
                // Writing to a Vec fails only on a value that cannot be serialized: none can't.
                let _ = serde_json::to_writer(&mut *json, &value);
            }
            json.push(b']');
            // Every value the reader wrote is JSON text, which is UTF-8.
            let text = String::from_utf8_lossy(json);
            if let Some(column) = fields.first_mut() {
                column.append(Some(&Value::Str(text.as_bytes())), quality);
                next = 1;
            }
            held_bytes = json.len();
        // A record larger than a batch may hold keeps its row, its fields null (counted).
        } else if payload_bytes <= MAX_BATCH_BYTES {
            for (position, (_, value)) in event.streamed_values().enumerate() {
                let (Some(column), Some(source)) = (fields.get_mut(next), sources.get(next)) else { break };
                if *source == position {
                    match (value.scalar(), value.encoded()) {
                        (Some(value), _) => column.append(Some(value), quality),
                        (None, Some(encoded)) => column.append_encoded(encoded, quality),
                        (None, None) => column.append(None, quality),
                    }
                    next += 1;
                }
            }
        }
        // A record that ends early leaves the rest of its fields null.
        for column in fields.iter_mut().skip(next) {
            quality.nulled_values += 1;
            column.append(None, quality);
        }
        self.held = self.held.saturating_add(table.row_done(held_bytes));
        self.packets.event(stream, event.packet_sequence());
        self.summary.events += 1;
        let (rows, bytes) = table.buffered();
        if rows >= self.options.batch_rows || bytes >= self.options.batch_bytes.min(MAX_BATCH_BYTES) {
            self.write_batch(index)?;
        } else if self.held > self.options.memory_budget {
            self.keep_in_budget()?;
        }
        Ok(())
    }

    /// The table for `event`'s class, made at its first event.
    fn table_for(&mut self, event: &Event<'_>) -> Result<usize, ColumnarError> {
        let class = event.class();
        let abi = self.trace.metadata().abi();
        let mut names = UniqueNames::reserving(EVENT_COLUMNS);
        // The reader delivers events of a class only when its fields can be had.
        let fields = class.fields().map(|fields| fields.into_owned()).unwrap_or_default();
        let payload = members(&fields, abi, &mut names);
        let base = table_dir_name(&class.name);
        let same_name = self.by_name.entry(base.clone()).or_default();
        if let Some((_, index)) = same_name.iter().find(|(identity, _)| *identity == class.identity) {
            let index = *index;
            self.by_class.insert(class.id, index);
            return Ok(index);
        }
        let dir_name = if same_name.is_empty() { base } else { format!("{base}-{}", class.id) };
        let index = self.tables.len();
        same_name.push((class.identity, index));
        let mut columns = tables::event_columns();
        let leaves = payload.iter().fold(0usize, |sum, member| sum.saturating_add(member.ty.leaf_columns()));
        let json = leaves > MAX_TABLE_COLUMNS;
        if json {
            self.summary.json_tables += 1;
            columns.push(Member::column(JSON_COLUMN, columns.len(), ColumnType::Str));
        } else {
            columns.extend(payload.iter().cloned());
        }
        let mut metadata = vec![
            ("tracemark.event".to_owned(), class.name.clone()),
            ("tracemark.identity".to_owned(), format!("{:016x}", class.identity)),
        ];
        if json {
            let names: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
            metadata.push(("tracemark.fields".to_owned(), serde_json::to_string(&names).unwrap_or_default()));
        }
        let table =
            Table::new(&columns, metadata, self.layout.event_table(&dir_name), self.properties.clone());
        let sources = if json { vec![0] } else { payload.iter().map(|member| member.source).collect() };
        self.tables.push(EventTable { table, sources, json: json.then(Vec::new) });
        self.by_class.insert(class.id, index);
        Ok(index)
    }

    /// Hands table `index`'s rows to its writer, then keeps memory in budget.
    fn write_batch(&mut self, index: usize) -> Result<(), ColumnarError> {
        self.hand_over(index)?;
        self.keep_in_budget()
    }

    /// Hands table `index`'s rows to its writer, opening its file (and closing the least
    /// recently used one beyond [`ParquetOptions::open_files`]).
    fn hand_over(&mut self, index: usize) -> Result<(), ColumnarError> {
        if !self.tables[index].table.is_open() {
            let needed = self.tables[index].table.leaf_columns();
            while self.open > 0
                && (self.open >= self.options.open_files.max(1)
                    || self.open_columns.saturating_add(needed) > MAX_OPEN_COLUMNS)
            {
                let oldest = self
                    .tables
                    .iter()
                    .enumerate()
                    .filter(|(_, table)| table.table.is_open())
                    .min_by_key(|(_, table)| table.table.last_use)
                    .map(|(oldest, _)| oldest);
                let Some(oldest) = oldest else { break };
                let table = &mut self.tables[oldest].table;
                self.held = self.held.saturating_sub(table.held());
                table.close()?;
                self.open -= 1;
                self.open_columns = self.open_columns.saturating_sub(table.leaf_columns());
            }
            self.open += 1;
            self.open_columns = self.open_columns.saturating_add(needed);
        }
        self.clock += 1;
        let table = &mut self.tables[index].table;
        table.last_use = self.clock;
        let before = table.held();
        table.write_batch()?;
        self.held = self.held.saturating_sub(before).saturating_add(table.held());
        Ok(())
    }

    /// Writes out the largest tables' rows and row groups in progress while the builders and
    /// writers together hold more than the budget.
    fn keep_in_budget(&mut self) -> Result<(), ColumnarError> {
        while self.held > self.options.memory_budget {
            let Some(largest) = (0..self.tables.len()).max_by_key(|&index| self.tables[index].table.held())
            else {
                break;
            };
            if self.tables[largest].table.held() == 0 {
                break;
            }
            self.hand_over(largest)?;
            let table = &mut self.tables[largest].table;
            let before = table.held();
            table.flush_row_group()?;
            self.held = self.held.saturating_sub(before).saturating_add(table.held());
        }
        Ok(())
    }

    fn diagnostic(&mut self, diagnostic: &Diagnostic) -> Result<(), ColumnarError> {
        tables::append_diagnostic(&mut self.diagnostics, diagnostic, &mut self.quality);
        if let (DiagnosticKind::CrcMismatch { .. }, Some(stream), Some(sequence)) =
            (&diagnostic.kind, diagnostic.stream, diagnostic.sequence)
        {
            self.packets.crc_mismatch.insert((stream, sequence));
        }
        self.summary.diagnostics += 1;
        if self.diagnostics.buffered().0 >= self.options.batch_rows {
            self.diagnostics.write_batch()?;
        }
        Ok(())
    }

    /// Closes every event table, then writes the packets, diagnostics and trace tables.
    fn finish(mut self) -> Result<ParquetSummary, ColumnarError> {
        for table in &mut self.tables {
            table.table.close()?;
            self.summary.files += u64::from(table.table.files);
        }
        self.summary.event_tables = self.tables.len();
        self.diagnostics.close()?;
        let packets =
            tables::write_packets(self.trace, &self.layout, self.properties.clone(), &self.packets)?;
        self.summary.packets = packets.rows;
        self.summary.discarded = packets.discarded;
        // One row: a dictionary would only add a table of every environment entry.
        let one_row = self.properties.clone().into_builder().set_dictionary_enabled(false).build();
        tables::write_trace(self.trace, &self.layout, one_row, &self.summary)?;
        self.summary.files += 3;
        self.summary.lossy_strings = self.quality.lossy_strings;
        self.summary.nulled_values = self.quality.nulled_values;
        Ok(self.summary)
    }
}

/// An event name as a directory name: letters, digits, `_`, `-` and `.` kept, anything else
/// `_`; never empty, never starting with `.`, at most 200 bytes.
pub fn table_dir_name(name: &str) -> String {
    let mut dir: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .take(200)
        .collect();
    if dir.is_empty() || dir.starts_with('.') {
        dir.insert(0, '_');
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::table_dir_name;

    #[test]
    fn event_names_become_safe_directory_names() {
        assert_eq!(table_dir_name("sched_switch"), "sched_switch");
        assert_eq!(table_dir_name("tmk:syscall_entry_read"), "tmk_syscall_entry_read");
        assert_eq!(table_dir_name("../../etc/passwd"), "_.._.._etc_passwd");
        assert_eq!(table_dir_name(""), "_");
        assert_eq!(table_dir_name(".hidden"), "_.hidden");
        assert_eq!(table_dir_name("dé/jà"), "d__j_");
        assert_eq!(table_dir_name(&"x".repeat(1000)).len(), 200);
    }
}
