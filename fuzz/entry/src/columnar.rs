//! `parquet`: the Parquet export of any single-file trace the reader opens.

use tracemark_columnar::{write_parquet, ParquetOptions};
use tracemark_reader::{Item, Trace};

use crate::alloc_guard::{self, Budget};

/// `parquet`: a trace the reader opens exports to Parquet (`convert --to parquet`) without
/// error, within the allocation limits, every event delivered becoming a row: the event
/// tables' files hold as many rows as the reader delivers events. Small limits (4-row batches,
/// 2 open files) make the rotation of files and row groups happen on small inputs.
pub fn parquet(data: &[u8]) {
    let Ok(trace) = Trace::from_bytes(data.to_vec()) else { return };
    let events = trace.events().filter(|item| matches!(item, Item::Event(_))).count() as u64;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("out");
    let options = ParquetOptions {
        batch_rows: 4,
        batch_bytes: 4096,
        row_group_rows: 16,
        row_group_bytes: 1 << 16,
        open_files: 2,
        memory_budget: 1 << 20,
        workers: Some(0),
        zstd_level: 1,
        partition: None,
    };
    let summary = alloc_guard::bounded(Budget::for_input(data.len()), || {
        write_parquet(&trace, &out, &options, |_| {}).expect("every trace the reader opens exports")
    });
    assert_eq!(summary.events, events, "an event row per event delivered");
    let mut rows = 0u64;
    // No event, no event table (not even the `events` directory).
    let tables = std::fs::read_dir(out.join("events")).into_iter().flatten();
    for table in tables {
        let parts = std::fs::read_dir(table.expect("a table").path()).expect("a table directory");
        for part in parts {
            let file = std::fs::File::open(part.expect("a part").path()).expect("a part file");
            let reader = parquet::file::reader::SerializedFileReader::new(file).expect("a Parquet file");
            rows += parquet::file::reader::FileReader::metadata(&reader).file_metadata().num_rows() as u64;
        }
    }
    assert_eq!(rows, events, "the files hold a row per event");
}
