//! Errors that prevent a trace from being opened at all.
//!
//! Everything short of these is a [`Diagnostic`](crate::Diagnostic) delivered while reading.

use std::{fmt, io, path::PathBuf};

use crate::Diagnostic;

/// Why a path or buffer is not a tracemark trace.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotATrace {
    /// The path is neither a regular file nor a directory.
    NotFileOrDirectory,
    /// A directory without a `metadata` file (§9.1).
    NoMetadataFile,
    /// The file (or the `metadata` file) is empty.
    Empty,
    /// No valid packet header anywhere in the container (§4).
    NoPacket {
        /// Why the first bytes are not a packet header.
        first_error: tracemark_format::HeaderError,
    },
    /// Packets, but none of them a metadata packet (§9.2).
    NoMetadataPacket,
}

impl fmt::Display for NotATrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotATrace::NotFileOrDirectory => f.write_str("neither a regular file nor a directory"),
            NotATrace::NoMetadataFile => f.write_str("directory has no `metadata` file (§9.1)"),
            NotATrace::Empty => f.write_str("empty file"),
            NotATrace::NoPacket { first_error } => {
                write!(f, "no valid packet found; at offset 0: {first_error}")
            }
            NotATrace::NoMetadataPacket => f.write_str("no metadata packet found (§9.2)"),
        }
    }
}

/// A trace that cannot be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Reading or mapping a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The input is not a tracemark trace.
    #[error("{path}: not a tracemark trace: {reason}")]
    NotATrace {
        /// The file, directory or `<memory>`.
        path: String,
        /// Why.
        reason: NotATrace,
    },
    /// The metadata holds no usable TRACE record, so the ABI and byte order are unknown (§7.3).
    #[error("{path}: no usable TRACE metadata record (§7.3){}", first_problem_suffix(.first_problem))]
    NoTraceRecord {
        /// The file, directory or `<memory>`.
        path: String,
        /// The first problem found in the metadata, which likely explains the absence.
        first_problem: Option<Box<Diagnostic>>,
    },
    /// The first metadata packet has a major version this reader does not implement (§11.3).
    #[error(
        "{path}: trace format major version {found} is not supported; this reader supports major \
         version(s) {supported:?} (§11.3): use a newer tracemark to read it"
    )]
    UnsupportedVersion {
        /// The file, directory or `<memory>`.
        path: String,
        /// The major version found.
        found: u8,
        /// The major versions this reader supports.
        supported: &'static [u8],
    },
}

fn first_problem_suffix(problem: &Option<Box<Diagnostic>>) -> String {
    match problem {
        Some(diagnostic) => format!("; first problem: {diagnostic}"),
        None => String::new(),
    }
}

/// Major versions this reader decodes.
pub const SUPPORTED_MAJOR_VERSIONS: &[u8] = &[tracemark_format::VERSION_MAJOR];
