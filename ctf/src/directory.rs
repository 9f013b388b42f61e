//! Finding CTF traces on disk: a directory holding a `metadata` file is a trace, its other
//! regular files its streams (LTTng's `index/` subdirectory is not a stream). An LTTng session
//! directory holds several traces (`kernel/`, `ust/uid/1000/64-bit/`, ...).

use std::io;
use std::path::{Path, PathBuf};

/// Deepest directory a search descends to (LTTng's are 4 levels below the session).
pub const MAX_SEARCH_DEPTH: usize = 16;

/// A CTF trace directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDirectory {
    /// The directory.
    pub path: PathBuf,
    /// Its stream files, by name.
    pub streams: Vec<PathBuf>,
}

impl TraceDirectory {
    /// Its metadata file.
    pub fn metadata(&self) -> PathBuf {
        self.path.join("metadata")
    }
}

/// Whether `path` looks like a CTF trace or a directory of them: it or a directory below it
/// holds a `metadata` file that starts as CTF metadata does (packet magic, or TSDL text).
pub fn is_ctf(path: &Path) -> bool {
    matches!(find_traces(path), Ok(traces) if !traces.is_empty())
}

/// The CTF traces at or below `root`, in path order. Symbolic links to directories are not
/// followed (no loops); hidden entries are skipped.
pub fn find_traces(root: &Path) -> io::Result<Vec<TraceDirectory>> {
    let mut traces = Vec::new();
    search(root, 0, &mut traces)?;
    Ok(traces)
}

fn search(dir: &Path, depth: usize, traces: &mut Vec<TraceDirectory>) -> io::Result<()> {
    let metadata = dir.join("metadata");
    if metadata.is_file() && starts_like_metadata(&metadata) {
        let mut streams = Vec::new();
        for entry in sorted_entries(dir)? {
            let name = entry.file_name();
            if name == "metadata" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type()?.is_file() {
                streams.push(entry.path());
            }
        }
        traces.push(TraceDirectory { path: dir.to_path_buf(), streams });
        return Ok(());
    }
    if depth >= MAX_SEARCH_DEPTH {
        return Ok(());
    }
    for entry in sorted_entries(dir)? {
        if entry.file_type()?.is_dir() && !entry.file_name().to_string_lossy().starts_with('.') {
            search(&entry.path(), depth + 1, traces)?;
        }
    }
    Ok(())
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<std::fs::DirEntry>> {
    let mut entries = std::fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    Ok(entries)
}

/// The first bytes of a metadata file: a packet's magic in either byte order, or TSDL text
/// (LTTng's files start with `/* CTF 1.8`).
fn starts_like_metadata(path: &Path) -> bool {
    use std::io::Read;
    let mut start = [0u8; 16];
    let Ok(read) = std::fs::File::open(path).and_then(|mut file| file.read(&mut start)) else { return false };
    let start = &start[..read];
    let magic = crate::METADATA_PACKET_MAGIC;
    start.starts_with(&magic.to_le_bytes())
        || start.starts_with(&magic.to_be_bytes())
        || start.starts_with(b"/* CTF")
}
