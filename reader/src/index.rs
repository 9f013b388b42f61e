//! The packet index of a trace's files (§14): built from their packets (what `tracemark index`
//! writes for a trace that has none), and the stored ones judged by what §14.4 asks before a
//! reader may use one.

use std::sync::Arc;

use tracemark_format::{
    index::{self as wire, IndexEntry, PacketIndex},
    ByteOrder, PacketHeader, RecordIter,
};

use crate::{
    batch::Batch,
    container::{ContainerFile, FileRole},
    packet::{self, RawPacket, Walked},
    Trace,
};

/// Where an index goes (§14.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexPlace {
    /// At the end of the single file, from `offset` (replacing the index packet found there, if
    /// any), as the metadata stream's packet `sequence`.
    Trailing {
        /// Where the index packet starts: the end of the last packet it describes.
        offset: u64,
        /// Its sequence number, the next of the metadata stream.
        sequence: u64,
    },
    /// In the sidecar `index/NAME.idx` of a directory's stream file `NAME`.
    Sidecar,
}

/// The sidecar index of the directory's stream file `stream_file`: `index/NAME.idx` beside it
/// (§14.3); `None` for a path without a file name.
pub fn sidecar_path(stream_file: &std::path::Path) -> Option<std::path::PathBuf> {
    let mut name = stream_file.file_name()?.to_os_string();
    name.push(".idx");
    Some(stream_file.parent()?.join("index").join(name))
}

/// The index of one container file, or why it cannot have one.
#[derive(Debug)]
pub struct FileIndex {
    /// The file, as diagnostics name it (its path, for a trace on disk).
    pub file: Arc<str>,
    /// Where the index goes.
    pub place: IndexPlace,
    /// The index, or what in the file is not a whole packet (§14.2).
    pub index: Result<PacketIndex, NotIndexable>,
}

/// Why a file has no index: only a file that is a sequence of whole packets has one (§14.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}@{offset:#x}: {problem}; only a file of whole packets has an index (§14.2)")]
pub struct NotIndexable {
    /// The file.
    pub file: Arc<str>,
    /// Where the first problem is.
    pub offset: u64,
    /// What it is.
    pub problem: String,
}

impl Trace {
    /// The index (§14) of the single file, or of each stream file of a directory (whose
    /// `metadata` file a reader reads whole anyway), built from a walk of its packets and a
    /// decoding of each to count its records. In the single-file form an index packet already
    /// at the end of the file is left out: the new index replaces it.
    pub fn build_indexes(&self) -> Vec<FileIndex> {
        self.container
            .files
            .iter()
            .enumerate()
            .filter(|(_, file)| file.role != FileRole::Metadata)
            .map(|(number, file)| self.build_index(number, file))
            .collect()
    }

    fn build_index(&self, number: usize, file: &ContainerFile) -> FileIndex {
        let bytes = file.bytes();
        let not_indexable =
            |offset: u64, problem: String| NotIndexable { file: file.name.clone(), offset, problem };
        let mut entries = Vec::new();
        let mut metadata_sequence = None;
        let mut end = 0u64;
        let mut failure = None;
        for item in packet::walk(bytes, number, &file.name) {
            let raw = match item {
                Walked::Packet(raw) => raw,
                Walked::Problem(diagnostic) => {
                    failure
                        .get_or_insert_with(|| not_indexable(diagnostic.offset, diagnostic.kind.to_string()));
                    continue;
                }
            };
            let header = &raw.header;
            if raw.available < header.packet_size as usize || raw.offset as u64 != end {
                let problem =
                    format!("packet of {} bytes with {} present", header.packet_size, raw.available);
                failure.get_or_insert_with(|| not_indexable(raw.offset as u64, problem));
                continue;
            }
            end = raw.offset as u64 + u64::from(header.packet_size);
            let record_count = if header.is_metadata() {
                metadata_sequence = Some(header.sequence);
                RecordIter::new(raw.content(bytes), raw.order).filter(Result::is_ok).count()
            } else {
                Batch::count(self.source(), &raw)
            };
            entries.push(IndexEntry::of(
                raw.offset as u64,
                header,
                u32::try_from(record_count).unwrap_or(u32::MAX),
            ));
        }
        let place = if file.role == FileRole::Single {
            // An index already at the end is replaced, not indexed.
            let replaced = wire::trailing_offset(bytes, self.metadata().byte_order())
                .filter(|&offset| entries.last().is_some_and(|last| last.offset == offset))
                .filter(|&offset| {
                    wire::decode_packet(&bytes[offset as usize..])
                        .is_ok_and(|(_, index)| index.index_offset == offset)
                });
            if replaced.is_some() {
                entries.pop();
                metadata_sequence =
                    entries.iter().rev().find(|entry| entry.is_metadata()).map(|entry| entry.sequence);
            }
            let offset = replaced.unwrap_or(end);
            IndexPlace::Trailing {
                offset,
                sequence: metadata_sequence.map_or(0, |last| last.saturating_add(1)),
            }
        } else {
            IndexPlace::Sidecar
        };
        let index = match failure {
            Some(failure) => Err(failure),
            None => {
                let file_len = entries.last().map_or(0, IndexEntry::end);
                let index_offset = match place {
                    IndexPlace::Trailing { offset, .. } => offset,
                    IndexPlace::Sidecar => 0,
                };
                Ok(PacketIndex { file_len, entries, index_offset })
            }
        };
        FileIndex { file: file.name.clone(), place, index }
    }
}

/// What a container file's stored index is worth to a reader (§14.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// No index is stored for the file.
    Absent,
    /// An index that passes §14.4's checks: a reader may use it instead of walking the file.
    Usable(PacketIndex),
    /// An index a reader must treat as absent (§14.4), and why.
    Unusable(String),
}

/// The index stored for one container file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIndex {
    /// The file described, as diagnostics name it.
    pub file: Arc<str>,
    /// What its index is worth.
    pub status: IndexStatus,
}

impl Trace {
    /// The index stored for the single file, or for each stream file of a directory (§14.3),
    /// judged as §14.4 asks before a reader uses one: its packet's CRC and its record's check,
    /// its `trace_uuid`, `file_len` against the file's length, entries that follow each other
    /// from 0 to `file_len`. The packets it lists are not read.
    pub fn stored_indexes(&self) -> Vec<StoredIndex> {
        self.container
            .files
            .iter()
            .filter(|file| file.role != FileRole::Metadata)
            .map(|file| {
                let status = match find_stored(file) {
                    Ok(None) => IndexStatus::Absent,
                    Err(why) => IndexStatus::Unusable(why),
                    Ok(Some(found)) if found.header.trace_uuid != self.metadata().uuid() => {
                        IndexStatus::Unusable("the index of another trace (trace_uuid)".into())
                    }
                    Ok(Some(found)) => IndexStatus::Usable(found.index),
                };
                StoredIndex { file: file.name.clone(), status }
            })
            .collect()
    }
}

/// A stored index that passes §14.4's checks but the one of its `trace_uuid`, which needs the
/// trace's metadata.
#[derive(Debug)]
pub(crate) struct Found {
    /// Its packet's header.
    pub(crate) header: PacketHeader,
    pub(crate) order: ByteOrder,
    pub(crate) index: PacketIndex,
    /// Where its packet is, when it ends the single file.
    pub(crate) trailing_at: Option<u64>,
}

/// The index stored for container file `file` (a stream file or the single file), checked as
/// §14.4 asks but for its `trace_uuid`: `Ok(None)` when there is none, `Err` saying why one is
/// not usable. Reads the index's packet, not the packets it lists.
pub(crate) fn find_stored(file: &ContainerFile) -> Result<Option<Found>, String> {
    let bytes = file.bytes();
    if file.role != FileRole::Single {
        let Some(sidecar) = sidecar_path(std::path::Path::new(&*file.name)) else { return Ok(None) };
        return match std::fs::read(sidecar) {
            Ok(packet) => judge(&packet, None, bytes.len() as u64).map(Some),
            Err(_) => Ok(None),
        };
    }
    // Read, or asked for before they are touched through the map: a fault would read megabytes
    // around the file's end (see `MappedFile::will_need`). The trace's byte order is its first
    // packet's (§2.3).
    let mut head = [0u8; tracemark_format::PACKET_HEADER_LEN];
    let read = file.backing.read_at(0, &mut head);
    let Ok(order) = PacketHeader::detect_byte_order(head.get(..read).unwrap_or(&[])) else { return Ok(None) };
    let mut tail = [0u8; wire::TAIL_LEN];
    let Some(tail_at) = bytes.len().checked_sub(wire::TAIL_LEN) else { return Ok(None) };
    let tail_len = file.backing.read_at(tail_at, &mut tail);
    let tail = tail.get(..tail_len).unwrap_or(&[]);
    let Some(at) = wire::offset_from_tail(tail, bytes.len() as u64, order) else { return Ok(None) };
    file.backing.will_need(at as usize, bytes.len().saturating_sub(at as usize));
    let packet = bytes.get(at as usize..).unwrap_or(&[]);
    // The file's last bytes point at an index only when a metadata packet that ends the file
    // starts there and its first record is an INDEX: any other tail is no index.
    let first_kind = PacketHeader::decode(packet).ok().and_then(|(header, _)| {
        let ends_the_file = header.is_metadata() && header.packet_size as usize == packet.len();
        let content = packet.get(header.header_len as usize..).filter(|_| ends_the_file)?;
        order.read_u16(content)
    });
    if first_kind != Some(tracemark_format::metadata::kind::INDEX) {
        return Ok(None);
    }
    judge(packet, Some(at), at).map(Some)
}

/// Judges `packet`, an index packet found at `trailing_at` of the single file or in a sidecar
/// (`None`), describing `file_len` bytes.
fn judge(packet: &[u8], trailing_at: Option<u64>, file_len: u64) -> Result<Found, String> {
    let (header, index) = wire::decode_packet(packet).map_err(|error| error.to_string())?;
    if let Some(at) = trailing_at {
        if packet.len() != header.packet_size as usize || index.index_offset != at {
            return Err(format!("index_offset {} is not where its packet is ({at})", index.index_offset));
        }
    }
    if index.file_len != file_len {
        return Err(format!("stale: it describes {} bytes of a file of {file_len}", index.file_len));
    }
    if !index.tiles_its_file() {
        return Err("its entries do not follow each other from 0 to file_len".into());
    }
    let order = PacketHeader::detect_byte_order(packet).map_err(|error| error.to_string())?;
    Ok(Found { header, order, index, trailing_at })
}

/// The packets of container file `number` as its stored index lists them, each header taken
/// from its entry, in file order, the index's own packet last when it ends the single file:
/// what a walk of the file finds when the index is true (§14.2). The metadata packets' headers
/// are read and compared with their entries (R-14.4-2), since opening uses them; `None` when
/// one differs.
pub(crate) fn listed(number: usize, file: &ContainerFile, found: &Found) -> Option<Vec<Walked>> {
    let uuid = found.header.trace_uuid;
    // Opening reads the metadata packets, and only those: see `MappedFile::will_need`.
    for entry in found.index.entries.iter().filter(|entry| entry.is_metadata()) {
        file.backing.will_need(entry.offset as usize, entry.packet_size as usize);
    }
    let mut packets = Vec::with_capacity(found.index.entries.len().saturating_add(1));
    for entry in &found.index.entries {
        let raw = RawPacket {
            file: number,
            offset: usize::try_from(entry.offset).ok()?,
            header: entry.header(uuid),
            order: found.order,
            available: entry.packet_size as usize,
        };
        if raw.header.is_metadata() && packet::header_difference(file, &raw).is_some() {
            return None;
        }
        packets.push(Walked::Packet(raw));
    }
    if let Some(at) = found.trailing_at {
        let offset = usize::try_from(at).ok()?;
        let available = found.header.packet_size as usize;
        packets.push(Walked::Packet(RawPacket {
            file: number,
            offset,
            header: found.header,
            order: found.order,
            available,
        }));
    }
    Some(packets)
}
