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
#[derive(Debug)]
pub struct DirectorySink {
    root: PathBuf,
    metadata: BufWriter<File>,
    streams: BTreeMap<(u32, u32), BufWriter<File>>,
}

impl DirectorySink {
    /// Creates the directory (and its parents) and the `metadata` file in it.
    pub fn create(root: impl AsRef<Path>) -> Result<DirectorySink> {
        let root = root.as_ref().to_path_buf();
        fs::create_dir_all(&root)?;
        let metadata = BufWriter::new(File::create(root.join("metadata"))?);
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
                        entry.insert(BufWriter::new(File::create(self.root.join(name))?))
                    }
                }
            }
        };
        file.write_all(packet)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        // Metadata first, so a crash between the two never leaves data whose classes are missing.
        self.metadata.flush()?;
        for file in self.streams.values_mut() {
            file.flush()?;
        }
        Ok(())
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
