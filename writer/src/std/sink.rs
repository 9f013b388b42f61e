//! Sinks writing the two container forms (§9) and an in-memory one for tests.

use std::{
    collections::{btree_map::Entry, BTreeMap},
    format,
    fs::{self, File},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    vec::Vec,
};

use crate::{PacketInfo, PacketKind, PacketSink, Result};

/// Writes the directory form (§9.1): `metadata` holds the metadata packets, and each data
/// stream gets `stream-<class>-<instance>.tmk`, created at its first packet.
///
/// For live readers (§9.4) each packet is written to its file as it arrives, unbuffered (a
/// packet is already a large write), so a metadata packet reaches the disk before the data
/// packets that use its classes; and dropping the sink, after its last packet, creates the
/// empty file [`FINISHED_MARKER`] that tells a follower the trace is complete.
#[derive(Debug)]
pub struct DirectorySink {
    root: PathBuf,
    metadata: File,
    streams: BTreeMap<(u32, u32), File>,
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
        Ok(DirectorySink { root, metadata, streams: BTreeMap::new() })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl PacketSink for DirectorySink {
    fn write_packet(&mut self, packet: &[u8], info: &PacketInfo) -> Result<()> {
        let file = match info.kind {
            PacketKind::Metadata => &mut self.metadata,
            PacketKind::Data => {
                let key = (info.stream_class_id, info.stream_instance_id);
                match self.streams.entry(key) {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => {
                        let name = format!("stream-{}-{}.tmk", key.0, key.1);
                        entry.insert(File::create(self.root.join(name))?)
                    }
                }
            }
        };
        file.write_all(packet)?;
        Ok(())
    }
}

impl Drop for DirectorySink {
    fn drop(&mut self) {
        // Every packet is already written (unbuffered): the trace is complete. A drop cannot
        // report an error; a follower that sees no marker stops at its idle timeout instead.
        let _ = File::create(self.root.join(FINISHED_MARKER));
    }
}

/// Writes the single-file form (§9.2): packets of every stream, in delivery order. The session
/// delivers metadata packets before the data packets that use their classes, so the first
/// packet is the metadata packet that starts with TRACE.
#[derive(Debug)]
pub struct FileSink {
    file: BufWriter<File>,
}

impl FileSink {
    /// Creates (truncates) the file.
    pub fn create(path: impl AsRef<Path>) -> Result<FileSink> {
        Ok(FileSink { file: BufWriter::new(File::create(path)?) })
    }
}

impl PacketSink for FileSink {
    fn write_packet(&mut self, packet: &[u8], _: &PacketInfo) -> Result<()> {
        self.file.write_all(packet)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.file.flush()?;
        Ok(())
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
