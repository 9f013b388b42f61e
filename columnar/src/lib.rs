//! Columnar export of tracemark traces: Apache Parquet tables that DataFusion, DuckDB, Spark
//! and pandas query directly.
//!
//! [`write_parquet`] writes one table per event class (a column per payload field, typed by
//! the trace's ABI, with `ts_ns`, `ticks`, `stream`, `cpu` and `packet` columns first), a
//! `packets` table (time ranges, sizes, events, losses), a `diagnostics` table (every problem
//! the reader reported) and a `trace` table (identity, host, ABI, clocks, environment). It
//! reads the trace once in time order and writes as it goes: memory is bounded by
//! [`ParquetOptions::memory_budget`], not by the trace. Type mapping: [`schema`].
//!
//! ```no_run
//! use tracemark_columnar::{write_parquet, ParquetOptions};
//! use tracemark_reader::Trace;
//!
//! let trace = Trace::open("trace-dir")?;
//! let summary = write_parquet(&trace, "trace-parquet".as_ref(), &ParquetOptions::default(), |_| {})?;
//! println!("{} events in {} tables", summary.events, summary.event_tables);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod column;
mod error;
mod export;
mod layout;
pub mod schema;
mod table;
mod tables;

pub use column::Quality;
pub use error::ColumnarError;
pub use export::{
    table_dir_name, write_parquet, ParquetOptions, ParquetSummary, Progress, EVENT_COLUMNS, JSON_COLUMN,
    MAX_TABLE_COLUMNS,
};
