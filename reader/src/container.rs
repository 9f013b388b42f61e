//! Containers (§9): a directory of stream files, a single file, or a buffer in memory.
//!
//! Files are memory-mapped by default ([`MappedFile`], which survives a file shrinking under
//! it), and events borrow from the mapped bytes.

use std::{
    fs::{self, File},
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
};

use crate::{
    error::{NotATrace, OpenError},
    mapping::MappedFile,
};

/// How files are brought into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// Memory-map each file (zero-copy, the default). On Linux, a file that shrinks while it
    /// is read is survived: the packets it no longer holds are reported truncated (§10.4),
    /// never delivered, and the process is not killed (see [`MappedFile`]). Elsewhere, a mapped
    /// file must not be truncated while the [`Trace`](crate::Trace) is alive: touching mapped
    /// pages past the new end kills the process with `SIGBUS`.
    #[default]
    Mmap,
    /// Read each file into an owned buffer, at the cost of a copy and of memory the size of
    /// the trace.
    Read,
}

/// Options for [`Trace::open_with`](crate::Trace::open_with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOptions {
    /// How files are brought into memory.
    pub read_mode: ReadMode,
    /// Walk every file even where a stored index (§14) could list its packets.
    pub ignore_index: bool,
}

/// Which form the container has (§9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    /// A directory of a `metadata` file and `*.tmk` stream files (§9.1).
    Directory,
    /// One file holding every packet (§9.2).
    SingleFile,
    /// A buffer in memory holding every packet, as in a single file (§9.2).
    Memory,
}

/// The role of one file of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileRole {
    /// The `metadata` file of a directory.
    Metadata,
    /// A `*.tmk` stream file of a directory.
    Stream,
    /// The single file (or buffer) holding every packet.
    Single,
}

/// Bytes of one container file, owned or mapped.
pub(crate) enum Backing {
    Empty,
    /// The map, and its file, kept open for [`Backing::read_at`] and [`Backing::len_now`].
    Mapped(MappedFile),
    Owned(Box<dyn AsRef<[u8]> + Send + Sync>),
}

impl Backing {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Backing::Empty => &[],
            Backing::Mapped(map) => map.bytes(),
            Backing::Owned(buffer) => (**buffer).as_ref(),
        }
    }

    /// Copies the bytes at `offset` into `buf`, as many as fit and exist; returns how many.
    ///
    /// A mapped file is read with `pread(2)`, which maps nothing: opening a trace reads the
    /// header of each large packet this way, where touching the map would fault in (around)
    /// the packet only to give its pages back (see `packet::READ_THROUGH_MAP`).
    pub(crate) fn read_at(&self, offset: usize, buf: &mut [u8]) -> usize {
        #[cfg(unix)]
        if let Backing::Mapped(map) = self {
            use std::os::unix::fs::FileExt;
            let (map, file) = (map.bytes(), map.file());
            let wanted = map.len().saturating_sub(offset).min(buf.len());
            let target = buf.get_mut(..wanted).unwrap_or_default();
            // The map and the file show the same bytes (the same page cache); should the read
            // fail or come up short, the map answers.
            if file.read_exact_at(target, offset as u64).is_ok() {
                return wanted;
            }
        }
        copy_at(self.bytes(), offset, buf)
    }

    /// Says that bytes `[offset, offset + len)` will be read soon, and nothing around them (see
    /// [`MappedFile::will_need`]); nothing to say of bytes already in memory.
    pub(crate) fn will_need(&self, offset: usize, len: usize) {
        if let Backing::Mapped(map) = self {
            map.will_need(offset, offset.saturating_add(len));
        }
    }

    /// How many of [`Backing::bytes`] the file still holds: fewer than were mapped when the
    /// file has shrunk since it was opened.
    pub(crate) fn len_now(&self) -> usize {
        match self {
            Backing::Mapped(map) => map.len_now(),
            _ => self.bytes().len(),
        }
    }
}

/// Copies the bytes of `bytes` at `offset` into `buf`, as many as fit and exist; returns how
/// many.
pub(crate) fn copy_at(bytes: &[u8], offset: usize, buf: &mut [u8]) -> usize {
    let source = bytes.get(offset..).unwrap_or(&[]);
    let len = source.len().min(buf.len());
    buf.get_mut(..len).unwrap_or_default().copy_from_slice(source.get(..len).unwrap_or(&[]));
    len
}

impl std::fmt::Debug for Backing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Backing::Empty => "empty",
            Backing::Mapped(..) => "mapped",
            Backing::Owned(_) => "owned",
        };
        write!(f, "{kind} ({} bytes)", self.bytes().len())
    }
}

/// One file of a container.
#[derive(Debug)]
pub(crate) struct ContainerFile {
    pub(crate) name: Arc<str>,
    pub(crate) role: FileRole,
    pub(crate) backing: Backing,
}

impl ContainerFile {
    pub(crate) fn bytes(&self) -> &[u8] {
        self.backing.bytes()
    }
}

/// The files of a trace, metadata-bearing file first.
#[derive(Debug)]
pub(crate) struct Container {
    pub(crate) kind: ContainerKind,
    pub(crate) path: String,
    pub(crate) files: Vec<ContainerFile>,
    /// The directory of a directory trace, as opened.
    pub(crate) directory: Option<PathBuf>,
}

/// The name used for an in-memory container in diagnostics.
pub const MEMORY_NAME: &str = "<memory>";

impl Container {
    pub(crate) fn open(path: &Path, options: OpenOptions) -> Result<Container, OpenError> {
        let io_error = |source| OpenError::Io { path: path.to_path_buf(), source };
        let meta = fs::metadata(path).map_err(io_error)?;
        let display = path.display().to_string();
        if meta.is_dir() {
            let DirectoryFiles { metadata, streams } = directory_files(path).map_err(io_error)?;
            let Some(metadata) = metadata else {
                return Err(OpenError::NotATrace { path: display, reason: NotATrace::NoMetadataFile });
            };
            let mut files = Vec::with_capacity(streams.len().saturating_add(1));
            files.push(load_file(&metadata, FileRole::Metadata, options)?);
            if files.first().is_some_and(|file| file.bytes().is_empty()) {
                return Err(OpenError::NotATrace { path: display, reason: NotATrace::Empty });
            }
            for stream_path in streams {
                files.push(load_file(&stream_path, FileRole::Stream, options)?);
            }
            Ok(Container {
                kind: ContainerKind::Directory,
                path: display,
                files,
                directory: Some(path.to_path_buf()),
            })
        } else if meta.is_file() {
            let file = load_file(path, FileRole::Single, options)?;
            if file.bytes().is_empty() {
                return Err(OpenError::NotATrace { path: display, reason: NotATrace::Empty });
            }
            Ok(Container {
                kind: ContainerKind::SingleFile,
                path: display,
                files: vec![file],
                directory: None,
            })
        } else {
            Err(OpenError::NotATrace { path: display, reason: NotATrace::NotFileOrDirectory })
        }
    }

    pub(crate) fn from_buffer(buffer: Box<dyn AsRef<[u8]> + Send + Sync>) -> Result<Container, OpenError> {
        if (*buffer).as_ref().is_empty() {
            return Err(OpenError::NotATrace { path: MEMORY_NAME.into(), reason: NotATrace::Empty });
        }
        Ok(Container {
            kind: ContainerKind::Memory,
            path: MEMORY_NAME.into(),
            files: vec![ContainerFile {
                name: Arc::from(MEMORY_NAME),
                role: FileRole::Single,
                backing: Backing::Owned(buffer),
            }],
            directory: None,
        })
    }
}

/// The files of a trace directory (§9.1), as every tool of this workspace reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryFiles {
    /// The `metadata` file, when there is one.
    pub metadata: Option<PathBuf>,
    /// The stream files: every regular file (or link to one) whose name ends in `.tmk`, a
    /// hidden one (`.tmk`, `.cpu0.tmk`) or one whose name is not UTF-8 included, sorted by name
    /// so that the order does not depend on the directory.
    pub streams: Vec<PathBuf>,
}

/// Lists the files of trace directory `dir`: what [`Trace::open`](crate::Trace::open) reads,
/// and what a follower or checker of the directory must read too.
pub fn directory_files(dir: &Path) -> std::io::Result<DirectoryFiles> {
    let mut metadata = None;
    let mut streams: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let entry_path = entry.path();
        // Follow symbolic links: a link to a regular file is a regular file here.
        if !fs::metadata(&entry_path).map(|meta| meta.is_file()).unwrap_or(false) {
            continue;
        }
        let name = entry.file_name();
        let bytes = name.as_encoded_bytes();
        if bytes == b"metadata" {
            metadata = Some(entry_path);
        } else if bytes.ends_with(b".tmk") {
            streams.push((bytes.to_vec(), entry_path));
        }
    }
    streams.sort();
    Ok(DirectoryFiles { metadata, streams: streams.into_iter().map(|(_, path)| path).collect() })
}

fn load_file(path: &Path, role: FileRole, options: OpenOptions) -> Result<ContainerFile, OpenError> {
    let io_error = |source| OpenError::Io { path: path.to_path_buf(), source };
    let file = File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    let read = |mut file: File| -> Result<Backing, OpenError> {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_error)?;
        Ok(Backing::Owned(Box::new(bytes)))
    };
    let backing = if len == 0 {
        // memmap2 refuses zero-length maps; an empty file is simply empty.
        Backing::Empty
    } else {
        match options.read_mode {
            ReadMode::Mmap => {
                match MappedFile::open(file.try_clone().map_err(io_error)?).map_err(io_error)? {
                    Some(map) => Backing::Mapped(map),
                    // Every guard slot is taken: a copy cannot be cut short under us.
                    None => read(file)?,
                }
            }
            ReadMode::Read => read(file)?,
        }
    };
    Ok(ContainerFile { name: Arc::from(path.display().to_string()), role, backing })
}

/// Consumed bytes are given back in batches of at least this many (when contiguous).
const RELEASE_BATCH: usize = 1 << 20;

impl Container {
    /// Gives back to the kernel the mapped pages lying wholly inside `[start, end)` of file
    /// `file`; see [`MappedFile::release`]. Does nothing for files that are not mapped.
    pub(crate) fn release(&self, file: usize, start: usize, end: usize) {
        if let Some(ContainerFile { backing: Backing::Mapped(map), .. }) = self.files.get(file) {
            map.release(start, end);
        }
    }
}

/// Batches the packets a reader has finished with, so that reading a trace of any size keeps
/// a bounded resident set: a mapped page, once read, stays resident (and counted in the
/// process's RSS) until the kernel needs memory, unless it is given back.
///
/// The most recent packet is held back one step: an iterator that has moved on to the next
/// packet may still be handing out the last event of the previous one, whose fields are read
/// after the move, and releasing those pages would only fault them in again for good.
#[derive(Debug)]
pub(crate) struct Releaser<'t> {
    container: &'t Container,
    /// The contiguous run of packets being gathered: file, start, end.
    run: (usize, usize, usize),
    /// The latest packet, not released yet.
    latest: Option<(usize, usize, usize)>,
}

impl<'t> Releaser<'t> {
    pub(crate) fn new(container: &'t Container) -> Releaser<'t> {
        Releaser { container, run: (usize::MAX, 0, 0), latest: None }
    }

    /// Bytes `[offset, offset + len)` of file `file` will not be read again by this reader,
    /// once it is past the next packet.
    pub(crate) fn consumed(&mut self, file: usize, offset: usize, len: usize) {
        if let Some(previous) = self.latest.replace((file, offset, offset.saturating_add(len))) {
            self.extend(previous);
        }
    }

    fn extend(&mut self, (file, start, end): (usize, usize, usize)) {
        let (run_file, _, run_end) = self.run;
        if file != run_file || start != run_end {
            self.flush();
            self.run = (file, start, start);
        }
        self.run.2 = end;
        if self.run.2.saturating_sub(self.run.1) >= RELEASE_BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let (file, start, end) = self.run;
        if start < end {
            self.container.release(file, start, end);
        }
        self.run.1 = end;
    }
}

impl Drop for Releaser<'_> {
    fn drop(&mut self) {
        if let Some(latest) = self.latest.take() {
            self.extend(latest);
        }
        self.flush();
    }
}
