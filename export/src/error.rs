//! Why an export fails.
//!
//! Damage in the input never fails an export: the reader reports it as a
//! [`Diagnostic`](tracemark_reader::Diagnostic), which the exporters pass on, and the export
//! goes on with the next good data. Only output problems are errors.

use std::{io, path::PathBuf};

/// An export that could not be completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Creating or writing an output file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Writing to the output stream failed.
    #[error("writing the output: {0}")]
    Output(#[source] io::Error),
    /// The output directory exists and holds files: an export never mixes its files with
    /// others.
    #[error("{}: the output directory is not empty; give a new or empty directory", path.display())]
    OutputNotEmpty {
        /// The directory.
        path: PathBuf,
    },
}

impl From<serde_json::Error> for ExportError {
    fn from(error: serde_json::Error) -> ExportError {
        // The exporters serialize only values that always serialize; what can fail is the
        // writer underneath.
        ExportError::Output(io::Error::other(error))
    }
}
