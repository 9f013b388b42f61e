//! Building the packet index of a trace's files (§14) from their packets: what `tracemark
//! index` writes for a trace that has none.

use std::sync::Arc;

use tracemark_format::{
    index::{self as wire, IndexEntry, PacketIndex},
    RecordIter,
};

use crate::{
    batch::Batch,
    container::{ContainerFile, FileRole},
    packet::{self, Walked},
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
        let mut spare = Vec::new();
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
                let batch = Batch::decode(self.metadata(), &raw, bytes, std::mem::take(&mut spare));
                let count = batch.entries.len();
                spare = batch.entries;
                count
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
