//! The Parquet export read back with the `parquet` crate's own reader: every event of the
//! conformance scenarios (every payload type, both byte orders, LP64 and ILP32, timestamps
//! past 2262, strings that are not UTF-8) is a row of its class's table, in time order, with
//! every value equal to what the reader decodes; the packets, diagnostics and trace tables
//! agree with the trace; tiny limits (one open file, tiny batches and memory) change the
//! files, never the rows.

use std::{
    collections::BTreeMap,
    fs::File,
    path::{Path, PathBuf},
};

use arrow_array::{
    cast::AsArray,
    types::{
        Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
        UInt64Type, UInt8Type,
    },
    Array, ArrayRef, RecordBatch,
};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tracemark_columnar::{write_parquet, ParquetOptions, ParquetSummary};
use tracemark_conformance::{harness::scenarios, rust_writer};
use tracemark_format::{Abi, ByteOrder};
use tracemark_reader::{Item, Trace, Value};

const ILP32_BIG: Abi =
    Abi { byte_order: ByteOrder::Big, short: 2, int: 4, long: 4, long_long: 8, pointer: 4, size_t: 4 };

/// Every conformance scenario as a trace, for two ABIs.
fn traces() -> Vec<(String, Trace)> {
    let mut traces = Vec::new();
    for abi in [Abi::lp64(ByteOrder::Little), ILP32_BIG] {
        for named in scenarios(abi) {
            let bytes = rust_writer::single_file(&named.scenario).unwrap();
            traces.push((format!("{}/{:?}", named.name, abi.byte_order), Trace::from_bytes(bytes).unwrap()));
        }
    }
    traces
}

/// All rows of the Parquet files `paths`, concatenated in order.
fn read_rows(paths: &[PathBuf]) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    for path in paths {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap().build().unwrap();
        batches.extend(reader.map(Result::unwrap));
    }
    batches
}

/// A table's files: one, or a directory's parts in order.
fn table_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let entries = std::fs::read_dir(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut parts: Vec<_> = entries.map(|entry| entry.unwrap().path()).collect();
    parts.sort();
    parts
}

/// A table's rows, one column per name, each a list of (array, row) cells.
struct Rows {
    batches: Vec<RecordBatch>,
    /// Batch and row of the next row to take.
    at: (usize, usize),
}

impl Rows {
    fn open(path: &Path) -> Rows {
        Rows { batches: read_rows(&table_files(path)), at: (0, 0) }
    }

    fn len(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The next row's batch and index.
    fn next(&mut self) -> Option<(&RecordBatch, usize)> {
        while self.batches.get(self.at.0)?.num_rows() <= self.at.1 {
            self.at = (self.at.0 + 1, 0);
        }
        let row = self.at.1;
        self.at.1 += 1;
        Some((&self.batches[self.at.0], row))
    }

    /// Every value of integer column `name`, nulls as `None`.
    fn integers(&self, name: &str) -> Vec<Option<i128>> {
        let mut values = Vec::new();
        for batch in &self.batches {
            let column = batch.column_by_name(name).unwrap();
            values.extend((0..column.len()).map(|row| integer(column, row)));
        }
        values
    }
}

/// An integer cell of any integer type.
fn integer(array: &ArrayRef, row: usize) -> Option<i128> {
    if array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        other => panic!("not an integer column: {other}"),
    })
}

/// Checks cell `row` of `array` against the reader's `value`.
fn check_cell(array: &ArrayRef, row: usize, value: &Value<'_>, at: &str) {
    assert!(!array.is_null(row), "{at}: null for {value:?}");
    match value {
        Value::Bool(value) => assert_eq!(array.as_boolean().value(row), *value, "{at}"),
        Value::Unsigned(value) => assert_eq!(integer(array, row), Some(i128::from(*value)), "{at}"),
        Value::Signed(value) => assert_eq!(integer(array, row), Some(i128::from(*value)), "{at}"),
        Value::F32(value) => {
            assert_eq!(array.as_primitive::<Float32Type>().value(row).to_bits(), value.to_bits(), "{at}")
        }
        Value::F64(value) => {
            assert_eq!(array.as_primitive::<Float64Type>().value(row).to_bits(), value.to_bits(), "{at}")
        }
        Value::Str(bytes) => {
            assert_eq!(array.as_string::<i32>().value(row), String::from_utf8_lossy(bytes), "{at}")
        }
        Value::Blob(bytes) => assert_eq!(array.as_binary::<i32>().value(row), *bytes, "{at}"),
        Value::Array(elements) => {
            let list = array.as_fixed_size_list();
            let cell = list.value(row);
            assert_eq!(cell.len(), elements.len(), "{at}: array length");
            for (index, element) in elements.iter().enumerate() {
                check_cell(&cell, index, element, &format!("{at}[{index}]"));
            }
        }
        Value::Sequence(elements) => {
            let cell = array.as_list::<i32>().value(row);
            assert_eq!(cell.len(), elements.len(), "{at}: sequence length");
            for (index, element) in elements.iter().enumerate() {
                check_cell(&cell, index, element, &format!("{at}[{index}]"));
            }
        }
        Value::Enum { value, label } => {
            let parts = array.as_struct();
            assert_eq!(integer(parts.column_by_name("value").unwrap(), row), Some(value.as_i128()), "{at}");
            let labels = parts.column_by_name("label").unwrap();
            let found = (!labels.is_null(row)).then(|| labels.as_string::<i32>().value(row));
            assert_eq!(found, *label, "{at}: label");
        }
        Value::Struct(members) => {
            let parts = array.as_struct();
            for (name, member) in members {
                // A member that carries nothing (an empty struct) has no column.
                if let Value::Struct(inner) = member {
                    if inner.is_empty() {
                        assert!(parts.column_by_name(name).is_none(), "{at}.{name}");
                        continue;
                    }
                }
                check_cell(parts.column_by_name(name).unwrap(), row, member, &format!("{at}.{name}"));
            }
        }
    }
}

/// Exports `trace` with `options` and checks every table against the trace.
fn export_and_check(name: &str, trace: &Trace, out: &Path, options: &ParquetOptions) -> ParquetSummary {
    let summary =
        write_parquet(trace, out, options, |_| {}).unwrap_or_else(|error| panic!("{name}: {error}"));
    let mut tables: BTreeMap<String, Rows> = BTreeMap::new();
    let mut events = 0u64;
    let mut per_packet: BTreeMap<(u32, u32, u64), u64> = BTreeMap::new();
    for item in trace.events() {
        let Item::Event(event) = item else { continue };
        events += 1;
        let stream = event.stream();
        *per_packet.entry((stream.class, stream.instance, event.packet_sequence())).or_default() += 1;
        let dir = tracemark_columnar::table_dir_name(event.name());
        let rows = tables.entry(dir.clone()).or_insert_with(|| Rows::open(&out.join("events").join(&dir)));
        let at = format!("{name}: event {events} ({})", event.name());
        let (batch, row) = rows.next().unwrap_or_else(|| panic!("{at}: no row left"));
        let cell = |column: &str| integer(batch.column_by_name(column).unwrap(), row);
        let ns = event.unix_ns().and_then(|ns| i64::try_from(ns).ok()).map(i128::from);
        assert_eq!(cell("ts_ns"), ns, "{at}: ts_ns");
        assert_eq!(cell("ticks"), Some(i128::from(event.timestamp())), "{at}: ticks");
        assert_eq!(cell("stream"), Some(i128::from(stream.class)), "{at}: stream");
        assert_eq!(cell("cpu"), Some(i128::from(stream.instance)), "{at}: cpu");
        assert_eq!(cell("packet"), Some(i128::from(event.packet_sequence())), "{at}: packet");
        for (field, value) in event.values() {
            if matches!(&value, Value::Struct(inner) if inner.is_empty()) {
                continue;
            }
            let column = batch.column_by_name(field).unwrap_or_else(|| panic!("{at}: no column {field}"));
            check_cell(column, row, &value, &format!("{at}: {field}"));
        }
    }
    for (dir, rows) in &tables {
        let left = rows.len()
            - rows.batches[..rows.at.0].iter().map(RecordBatch::num_rows).sum::<usize>()
            - rows.at.1;
        assert_eq!(left, 0, "{name}: {dir} has rows no event matches");
    }
    assert_eq!(summary.events, events, "{name}");
    assert_eq!(std::fs::read_dir(out.join("events")).unwrap().count(), tables.len(), "{name}: event tables");

    // packets: one row per data packet, its events counted, its discards the stream's.
    let packets = Rows::open(&out.join("packets.parquet"));
    let headers: Vec<_> =
        trace.stream_ids().flat_map(|id| trace.packets(id).map(move |p| (id, *p.header()))).collect();
    assert_eq!(packets.len(), headers.len(), "{name}: packets");
    let sequences = packets.integers("sequence");
    let counted = packets.integers("events");
    let cpus = packets.integers("cpu");
    for (index, (id, header)) in headers.iter().enumerate() {
        assert_eq!(sequences[index], Some(i128::from(header.sequence)), "{name}: packet {index}");
        assert_eq!(cpus[index], Some(i128::from(id.instance)), "{name}: packet {index}");
        let expected = per_packet.get(&(id.class, id.instance, header.sequence)).copied().unwrap_or(0);
        assert_eq!(counted[index], Some(i128::from(expected)), "{name}: packet {index} events");
    }
    let discarded: i128 = packets.integers("discarded").iter().flatten().sum();
    assert_eq!(discarded, i128::from(trace.summary().discarded), "{name}: discarded");

    let diagnostics = Rows::open(&out.join("diagnostics.parquet"));
    assert_eq!(diagnostics.len() as u64, summary.diagnostics, "{name}: diagnostics");
    assert_eq!(
        summary.diagnostics,
        trace.events().filter(|item| matches!(item, Item::Diagnostic(_))).count() as u64
    );

    let mut trace_rows = Rows::open(&out.join("trace.parquet"));
    assert_eq!(trace_rows.len(), 1);
    let (batch, row) = trace_rows.next().unwrap();
    let uuid = batch.column_by_name("uuid").unwrap().as_string::<i32>().value(row).to_owned();
    assert_eq!(uuid, tracemark_reader::uuid_string(&trace.metadata().uuid()), "{name}: uuid");
    let abi = batch.column_by_name("abi").unwrap().as_struct();
    let long = integer(abi.column_by_name("long").unwrap(), row);
    assert_eq!(long, Some(i128::from(trace.metadata().abi().long)), "{name}: abi.long");
    let clocks = batch.column_by_name("clocks").unwrap().as_list::<i32>().value(row);
    assert_eq!(clocks.len(), trace.metadata().clocks().count(), "{name}: clocks");
    summary
}

#[test]
fn every_scenario_reads_back_value_for_value() {
    let work = tempfile::tempdir().unwrap();
    let mut lossy = 0;
    let mut beyond_2262 = 0;
    for (index, (name, trace)) in traces().iter().enumerate() {
        let out = work.path().join(format!("t{index}"));
        let summary = export_and_check(name, trace, &out, &ParquetOptions::default());
        assert_eq!(summary.nulled_values, 0, "{name}");
        lossy += summary.lossy_strings;
        if name.starts_with("timestamps") {
            let rows = Rows::open(&out.join("events").join("tick"));
            beyond_2262 += rows.integers("ts_ns").iter().filter(|ns| ns.is_none()).count();
        }
    }
    // The text scenario's "bad \xff\xfe utf-8", once per ABI.
    assert!(lossy >= 2, "{lossy} lossy strings");
    // Ticks near 2^64 at 1 GHz are past 2262: no i64 nanoseconds, so null, ticks kept.
    assert!(beyond_2262 > 0);
}

#[test]
fn ilp32_columns_take_the_writers_sizes() {
    let work = tempfile::tempdir().unwrap();
    let named = scenarios(ILP32_BIG).into_iter().find(|named| named.name == "every-type").unwrap();
    let trace = Trace::from_bytes(rust_writer::single_file(&named.scenario).unwrap()).unwrap();
    let out = work.path().join("ilp32");
    write_parquet(&trace, &out, &ParquetOptions::default(), |_| {}).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(
        File::open(table_files(&out.join("events/scalars"))[0].clone()).unwrap(),
    )
    .unwrap();
    let schema = reader.schema();
    let type_of = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    let tracemark_type =
        |name: &str| schema.field_with_name(name).unwrap().metadata().get("tracemark.type").cloned();
    // Fields named after their types in the every-type classes.
    let long = schema.fields().iter().find(|f| tracemark_type(f.name()).as_deref() == Some("long")).unwrap();
    assert_eq!(long.data_type(), &DataType::Int32);
    let pointer =
        schema.fields().iter().find(|f| tracemark_type(f.name()).as_deref() == Some("pointer")).unwrap();
    assert_eq!(pointer.data_type(), &DataType::UInt32);
    assert_eq!(type_of("ts_ns"), DataType::Int64);
    assert_eq!(type_of("cpu"), DataType::UInt32);
}

#[test]
fn tiny_limits_change_the_files_not_the_rows() {
    let work = tempfile::tempdir().unwrap();
    let tight = ParquetOptions {
        batch_rows: 3,
        batch_bytes: 64,
        row_group_rows: 5,
        row_group_bytes: 1,
        open_files: 1,
        memory_budget: 1,
        workers: Some(1),
        zstd_level: 3,
        partition: None,
    };
    for (index, (name, trace)) in traces().iter().enumerate() {
        let out = work.path().join(format!("t{index}"));
        let summary = export_and_check(name, trace, &out, &tight);
        if name.starts_with("every-type") {
            // Three classes interleaved with one file open: each table continues in new parts.
            assert!(summary.files > summary.event_tables as u64 + 3, "{name}: {summary:?}");
        }
    }
}

#[test]
fn the_output_must_be_new_or_empty() {
    let work = tempfile::tempdir().unwrap();
    let (_, trace) = traces().into_iter().next().unwrap();
    std::fs::write(work.path().join("keep.txt"), "mine").unwrap();
    let error = write_parquet(&trace, work.path(), &ParquetOptions::default(), |_| {}).unwrap_err();
    assert!(error.to_string().contains("not empty"), "{error}");
    assert_eq!(std::fs::read_to_string(work.path().join("keep.txt")).unwrap(), "mine");
}

/// Every conformance vector, valid and invalid: what the reader delivers is exported, row for
/// row, damage becomes rows of `diagnostics`, and nothing fails or panics.
#[test]
fn every_conformance_vector_exports_what_the_reader_delivers() {
    let work = tempfile::tempdir().unwrap();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/vectors");
    let mut exported = 0;
    for kind in ["valid", "invalid"] {
        let mut paths: Vec<_> = std::fs::read_dir(vectors.join(kind))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "tmk"))
            .collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Ok(trace) = Trace::open(&path) else { continue };
            let out = work.path().join(&name);
            export_and_check(&name, &trace, &out, &ParquetOptions::default());
            exported += 1;
            if name == "crc-mismatch.tmk" {
                let packets = Rows::open(&out.join("packets.parquet"));
                let crc_ok: Vec<bool> = packets
                    .batches
                    .iter()
                    .flat_map(|b| b.column_by_name("crc_ok").unwrap().as_boolean().iter())
                    .map(Option::unwrap)
                    .collect();
                assert_eq!(crc_ok.iter().filter(|ok| !**ok).count(), 1, "{crc_ok:?}");
                let kinds = Rows::open(&out.join("diagnostics.parquet"));
                let kinds: Vec<String> = kinds
                    .batches
                    .iter()
                    .flat_map(|b| {
                        b.column_by_name("kind")
                            .unwrap()
                            .as_string::<i32>()
                            .iter()
                            .map(|k| k.unwrap().to_owned())
                            .collect::<Vec<_>>()
                    })
                    .collect();
                assert_eq!(kinds, ["CrcMismatch"]);
            }
        }
    }
    assert!(exported > 60, "{exported} vectors exported");
}

/// A fleet: traces exported as partitions `host=…` of one directory, laid out as Hive, Spark,
/// DataFusion and DuckDB read a partitioned table; a partition is never written twice.
#[test]
fn partitions_lay_out_a_fleet() {
    let work = tempfile::tempdir().unwrap();
    let fleet = work.path().join("fleet");
    let traces = traces();
    let hosts = [("host=web1", &traces[0].1), ("host=db-2.example", &traces[1].1)];
    for (partition, trace) in hosts {
        let options = ParquetOptions { partition: Some(partition.to_owned()), ..ParquetOptions::default() };
        let summary = write_parquet(trace, &fleet, &options, |_| {}).unwrap();
        let mut rows = 0;
        for table in std::fs::read_dir(fleet.join("events")).unwrap() {
            let dir = table.unwrap().path().join(partition);
            if dir.exists() {
                rows += Rows::open(&dir).len() as u64;
            }
        }
        assert_eq!(rows, summary.events, "{partition}");
        for table in ["packets", "diagnostics", "trace"] {
            assert!(
                fleet.join(table).join(partition).join("part-00000.parquet").is_file(),
                "{table}/{partition}"
            );
        }
        assert_eq!(Rows::open(&fleet.join("trace").join(partition)).len(), 1);
    }
    let again = ParquetOptions { partition: Some("host=web1".into()), ..ParquetOptions::default() };
    let error = write_parquet(&traces[0].1, &fleet, &again, |_| {}).unwrap_err();
    assert!(error.to_string().contains("exported before"), "{error}");
    let bad = ParquetOptions { partition: Some("host=../../etc".into()), ..ParquetOptions::default() };
    let error = write_parquet(&traces[0].1, &fleet, &bad, |_| {}).unwrap_err();
    assert!(error.to_string().contains("KEY=VALUE"), "{error}");
}

/// A class too wide for columns (more than [`MAX_TABLE_COLUMNS`] leaves) has one JSON column
/// of its values in field order, the names in the column's metadata; a Parquet writer with
/// 65,535 columns would take most of a gigabyte.
#[test]
fn a_class_too_wide_for_columns_is_one_json_column() {
    use tracemark_columnar::{JSON_COLUMN, MAX_TABLE_COLUMNS};
    use tracemark_conformance::{
        vectors::model::{class, data, ev, lay_out, meta, Meta, TraceDesc},
        Val,
    };
    use tracemark_format::{Field, IntType, TypeDesc};

    let width = MAX_TABLE_COLUMNS as u64 + 1;
    let fields =
        (0..width).map(|index| Field::new(format!("f{index}"), TypeDesc::Int(IntType::U16))).collect();
    let narrow = class(1, "narrow", vec![Field::new("n", TypeDesc::Int(IntType::U16))]);
    let desc = TraceDesc::new(Abi::lp64(ByteOrder::Little), vec![narrow])
        .packet(meta(vec![Meta::Class(class(2, "wide", fields))]))
        .packet(data(
            0,
            vec![
                ev(2, 10, (0..width).map(|value| Val::U(value * 3)).collect()),
                ev(1, 20, vec![Val::U(7)]),
                ev(2, 30, (0..width).map(|value| Val::U(width - value)).collect()),
            ],
        ));
    let laid = lay_out(&desc, "wide.tmk", false).unwrap();
    let trace = Trace::from_bytes(laid.files.into_iter().next().unwrap().1).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let summary = write_parquet(&trace, &out, &ParquetOptions::default(), |_| {}).unwrap();
    assert_eq!(summary.json_tables, 1);
    let rows = Rows::open(&out.join("events/wide"));
    let file = File::open(table_files(&out.join("events/wide"))[0].clone()).unwrap();
    let schema = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().schema().clone();
    assert_eq!(schema.fields().len(), 6, "{schema:?}");
    let names: Vec<String> = serde_json::from_str(&schema.metadata()["tracemark.fields"]).unwrap();
    assert_eq!(names.len() as u64, width);
    assert_eq!(names[1], "f1");
    let json: Vec<Vec<u64>> = rows.batches[0]
        .column_by_name(JSON_COLUMN)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|text| serde_json::from_str(text.unwrap()).unwrap())
        .collect();
    assert_eq!(json[0], (0..width).map(|value| value * 3).collect::<Vec<_>>());
    assert_eq!(json[1], (0..width).map(|value| width - value).collect::<Vec<_>>());
    // The narrow class keeps its columns.
    let narrow = Rows::open(&out.join("events/narrow"));
    assert_eq!(narrow.integers("n"), vec![Some(7)]);
}
