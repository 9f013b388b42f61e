//! Why an export fails.
//!
//! Damage in the input never fails an export: the reader reports it as a
//! [`Diagnostic`](tracemark_reader::Diagnostic), which becomes a row of the `diagnostics`
//! table, and the export goes on with the next good data. Only output problems are errors.

use std::{io, path::PathBuf};

/// An export that could not be completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ColumnarError {
    /// Creating or writing an output file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The output directory exists and holds files: an export never mixes its files with
    /// others.
    #[error("{}: the output directory is not empty; give a new or empty directory", path.display())]
    OutputNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// The partition is not `KEY=VALUE` with a safe key and value.
    #[error("partition {partition:?}: give KEY=VALUE, the key letters, digits and _, the value letters, digits, _, - and . (not first)")]
    BadPartition {
        /// The partition as given.
        partition: String,
    },
    /// The output already holds this partition: an export never adds to or replaces one.
    #[error("{}: this partition was exported before; remove its directories to export it again", path.display())]
    PartitionExists {
        /// The trace table's partition directory.
        path: PathBuf,
    },
    /// The Parquet writer failed (an I/O error underneath, most often).
    #[error("{}: writing Parquet: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The writer's error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Building a column failed: a bug, reported rather than a panic.
    #[error("{}: building a column: {source}", path.display())]
    Arrow {
        /// The file the column was for.
        path: PathBuf,
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
}
