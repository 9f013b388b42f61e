//! Sinks writing the two container forms (§9) and an in-memory one for tests.

use std::{
    collections::{btree_map::Entry, BTreeMap},
    format,
    fs::{self, File},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    string::String,
    sync::{Arc, Mutex, PoisonError},
    vec::Vec,
};

use crate::{Indexer, PacketInfo, PacketKind, PacketSink, Result};

/// Writes the directory form (§9.1): `metadata` holds the metadata packets, and each data
/// stream gets `stream-<class>-<instance>.tmk`, created at its first packet.
///
/// For live readers (§9.4) each packet is written to its file as it arrives, unbuffered (a
/// packet is already a large write), so a metadata packet reaches the disk before the data
/// packets that use its classes. Finishing the sink ([`PacketSink::finish`], which a session
/// does when it finishes; or dropping it) writes each stream file's packet index,
/// `index/NAME.idx` (§14.3), then creates the empty file [`FINISHED_MARKER`] that tells a
/// follower the trace is complete.
#[derive(Debug)]
pub struct DirectorySink {
    root: PathBuf,
    metadata: File,
    streams: BTreeMap<(u32, u32), StreamFile>,
    finished: bool,
}

/// A stream file of a [`DirectorySink`] and the index of what was written to it.
#[derive(Debug)]
struct StreamFile {
    name: String,
    file: File,
    index: Indexer,
}

/// The file a [`DirectorySink`] creates in its directory when it is done writing (§9.4).
pub const FINISHED_MARKER: &str = "finished";

impl DirectorySink {
    /// Creates the directory (and its parents) and the `metadata` file in it, and removes a
    /// [`FINISHED_MARKER`] left by an earlier trace in the same directory.
    pub fn create(root: impl AsRef<Path>) -> Result<DirectorySink> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root)?;
        match fs::remove_file(root.join(FINISHED_MARKER)) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error.into()),
            _ => {}
        }
        let metadata = File::create(root.join("metadata"))?;
        Ok(DirectorySink { root, metadata, streams: BTreeMap::new(), finished: false })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Writes the index of every stream file (each through a temporary file and a rename, so
    /// that a reader never sees half of one), then the finished marker. The first error is
    /// returned after everything else was tried.
    fn close(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        let mut first_error = None;
        let index_dir = self.root.join("index");
        for stream in std::mem::take(&mut self.streams).into_values() {
            let Some(packet) = stream.index.into_sidecar_packet() else { continue };
            let path = index_dir.join(format!("{}.idx", stream.name));
            let partial = index_dir.join(format!("{}.idx.partial", stream.name));
            let written = fs::create_dir_all(&index_dir)
                .and_then(|()| fs::write(&partial, &packet))
                .and_then(|()| fs::rename(&partial, &path));
            if let Err(error) = written {
                first_error.get_or_insert(error);
            }
        }
        if let Err(error) = File::create(self.root.join(FINISHED_MARKER)) {
            first_error.get_or_insert(error);
        }
        match first_error {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }
}

impl PacketSink for DirectorySink {
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        let stream = match info.kind {
            PacketKind::Metadata => {
                self.metadata.write_all(packet)?;
                return Ok(());
            }
            PacketKind::Data => {
                let key = (info.stream_class_id, info.stream_instance_id);
                match self.streams.entry(key) {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => {
                        let name = format!("stream-{}-{}.tmk", key.0, key.1);
                        let file = File::create(self.root.join(&name))?;
                        entry.insert(StreamFile { name, file, index: Indexer::new() })
                    }
                }
            }
        };
        match stream.file.write_all(packet) {
            Ok(()) => {
                stream.index.add(packet);
                Ok(())
            }
            Err(error) => {
                stream.index.write_failed();
                Err(error.into())
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        self.close()
    }
}

impl Drop for DirectorySink {
    fn drop(&mut self) {
        // Every packet is already written (unbuffered): the trace is complete. A drop cannot
        // report an error; a follower that sees no marker stops at its idle timeout instead.
        let _ = self.close();
    }
}

/// Writes the single-file form (§9.2): packets of every stream, in delivery order. The session
/// delivers metadata packets before the data packets that use their classes, so the first
/// packet is the metadata packet that starts with TRACE. Finishing it
/// ([`PacketSink::finish`]) appends the file's packet index as its last packet (§14.3).
#[derive(Debug)]
pub struct FileSink {
    file: BufWriter<File>,
    index: Option<Indexer>,
}

impl FileSink {
    /// Creates (truncates) the file.
    pub fn create(path: impl AsRef<Path>) -> Result<FileSink> {
        Ok(FileSink { file: BufWriter::new(File::create(path)?), index: Some(Indexer::new()) })
    }
}

impl PacketSink for FileSink {
    fn write_packet(&mut self, packet: &[u8], _: &PacketInfo) -> Result<()> {
        let written = self.file.write_all(packet);
        if let Some(index) = &mut self.index {
            match written {
                Ok(()) => index.add(packet),
                Err(_) => index.write_failed(),
            }
        }
        written?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file.flush()?;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(packet) = self.index.take().and_then(Indexer::into_trailing_packet) {
            self.file.write_all(&packet)?;
        }
        self.flush()
    }
}

/// A packet kept by [`MemorySink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedPacket {
    /// Where it belongs.
    pub info: PacketInfo,
    /// Its bytes (`packet_size` of them).
    pub bytes: Vec<u8>,
}

/// Keeps packets in memory, in delivery order. Clones share the same packets, so a test keeps
/// one clone and gives the other to the session.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    packets: Arc<Mutex<Vec<CapturedPacket>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// The packets received so far.
    pub fn packets(&self) -> Vec<CapturedPacket> {
        self.packets.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// All packets concatenated: the single-file form (§9.2).
    pub fn bytes(&self) -> Vec<u8> {
        let packets = self.packets.lock().unwrap_or_else(PoisonError::into_inner);
        packets.iter().flat_map(|packet| packet.bytes.iter().copied()).collect()
    }
}

impl PacketSink for MemorySink {
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        let captured = CapturedPacket { info: *info, bytes: packet.to_vec() };
        self.packets.lock().unwrap_or_else(PoisonError::into_inner).push(captured);
        Ok(())
    }
}
