//! Compressed packets (§15): their records decompressed once, into an arena of temporary files
//! that the reader maps, so that events borrow from them as from any packet while the kernel keeps
//! the memory reclaimable (file pages, written back to disk under pressure, not heap).

use std::{
    collections::HashMap,
    fs::File,
    io::{Seek, SeekFrom, Write},
    sync::{Mutex, OnceLock, PoisonError},
};

use tracemark_format::{
    compress::{Codec, CompressionError, Descriptor},
    ByteOrder,
};

use crate::packet::RawPacket;

/// Bytes of a chunk of the arena (a sparse temporary file, mapped whole), unless a packet's
/// records need more.
const CHUNK_LEN: usize = 256 << 20;

/// Chunks an arena may have: 256 GiB of decompressed records at the least.
const MAX_CHUNKS: usize = 1024;

/// The decompressed records of a trace's compressed packets, each decompressed once, when first
/// read.
#[derive(Debug, Default)]
pub(crate) struct Decompressed {
    arena: Arena,
    /// By packet: where its records are, or why it has none.
    regions: Mutex<HashMap<PacketKey, Result<Region, CompressionError>>>,
}

/// A packet: its file, its offset, and the bytes of it present (fewer once the file shrank).
type PacketKey = (usize, usize, usize);

impl Decompressed {
    /// The records of `raw`, a compressed packet whose content is `content`.
    pub(crate) fn records(&self, raw: &RawPacket, content: &[u8]) -> Result<&[u8], CompressionError> {
        let key = (raw.file, raw.offset, raw.available);
        let known = self.regions.lock().unwrap_or_else(PoisonError::into_inner).get(&key).cloned();
        let region = match known {
            Some(region) => region,
            None => {
                // Decompressed outside the lock: threads decoding different packets do not wait
                // for each other. Two decoding the same one both store it; the first is kept.
                let region = self.arena.decompress(raw, content);
                let mut regions = self.regions.lock().unwrap_or_else(PoisonError::into_inner);
                regions.entry(key).or_insert(region).clone()
            }
        };
        region.map(|region| self.arena.bytes(region))
    }
}

/// Where a packet's decompressed records are in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Region {
    chunk: usize,
    offset: usize,
    len: usize,
}

/// One temporary file of the arena and its map.
struct Chunk {
    file: Mutex<File>,
    map: memmap2::Mmap,
}

impl std::fmt::Debug for Chunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Chunk ({} bytes)", self.map.len())
    }
}

/// Append-only storage for decompressed records: each region is written once, before anything
/// borrows it, and never changes or goes away while the arena lives.
#[derive(Debug)]
struct Arena {
    chunks: Vec<OnceLock<Chunk>>,
    /// The chunk being filled and the bytes of it used.
    next: Mutex<(usize, usize)>,
}

impl Default for Arena {
    fn default() -> Arena {
        Arena { chunks: (0..MAX_CHUNKS).map(|_| OnceLock::new()).collect(), next: Mutex::new((0, 0)) }
    }
}

impl Arena {
    /// Decompresses the records of `raw`, a compressed packet whose content is `content`, into
    /// a new region.
    fn decompress(&self, raw: &RawPacket, content: &[u8]) -> Result<Region, CompressionError> {
        let records = decompress(raw, content)?;
        self.store(&records)
    }

    fn store(&self, records: &[u8]) -> Result<Region, CompressionError> {
        let region = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let (mut chunk, used) = *next;
            let mut offset = used.next_multiple_of(8);
            let capacity = self.chunk(chunk).map(|chunk| chunk.map.len());
            if capacity.is_some_and(|capacity| offset.saturating_add(records.len()) > capacity) {
                chunk = chunk.saturating_add(1);
                offset = 0;
            }
            if self.chunk(chunk).is_none() {
                self.create_chunk(chunk, records.len())?;
            }
            *next = (chunk, offset.saturating_add(records.len()));
            Region { chunk, offset, len: records.len() }
        };
        let chunk = self.chunk(region.chunk).ok_or_else(|| arena_error("a chunk is missing"))?;
        let mut file = chunk.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.seek(SeekFrom::Start(region.offset as u64))
            .and_then(|_| file.write_all(records))
            .map_err(|error| arena_error(&format!("writing decompressed records: {error}")))?;
        Ok(region)
    }

    fn chunk(&self, index: usize) -> Option<&Chunk> {
        self.chunks.get(index).and_then(OnceLock::get)
    }

    /// Creates chunk `index`, of at least `min_len` bytes. Called with `next` locked.
    fn create_chunk(&self, index: usize, min_len: usize) -> Result<(), CompressionError> {
        let slot = self.chunks.get(index).ok_or_else(|| arena_error("more records than it keeps"))?;
        let len = min_len.max(CHUNK_LEN).next_multiple_of(4096);
        let failed = |error: std::io::Error| arena_error(&format!("a temporary file: {error}"));
        let file = tempfile::tempfile().map_err(failed)?;
        file.set_len(len as u64).map_err(failed)?;
        let map = crate::mapping::map_file(&file).map_err(failed)?;
        let _ = slot.set(Chunk { file: Mutex::new(file), map });
        Ok(())
    }

    /// The bytes of `region`, which [`Arena::decompress`] returned.
    fn bytes(&self, region: Region) -> &[u8] {
        let chunk = self.chunks.get(region.chunk).and_then(OnceLock::get);
        let end = region.offset.saturating_add(region.len);
        chunk.and_then(|chunk| chunk.map.get(region.offset..end)).unwrap_or(&[])
    }
}

fn arena_error(what: &str) -> CompressionError {
    CompressionError::Corrupt(format!("the reader's store of decompressed records: {what}"))
}

/// Decompresses the records of `raw`, a compressed packet whose content is `content`, checking
/// §15's bounds before allocating and producing exactly `records_size` bytes (§15.2).
pub(crate) fn decompress(raw: &RawPacket, content: &[u8]) -> Result<Vec<u8>, CompressionError> {
    if raw.header.is_metadata() {
        return Err(CompressionError::Metadata);
    }
    decompress_records(content, raw.order, raw.header.header_len)
}

/// The records of a compressed data packet (§15) whose content (`[header_len, content_size)`,
/// in byte order `order`) is `content`: its descriptor read and its bounds checked before
/// anything is allocated, then exactly `records_size` bytes decompressed, never more (§15.2).
pub fn decompress_records(
    content: &[u8],
    order: ByteOrder,
    header_len: u16,
) -> Result<Vec<u8>, CompressionError> {
    let (descriptor, compressed) = Descriptor::decode(content, order, header_len)?;
    let expected = descriptor.records_size;
    let mut records = vec![0u8; expected as usize];
    let written = match descriptor.codec {
        Codec::Zstd => zstd::bulk::decompress_to_buffer(compressed, records.as_mut_slice())
            .map_err(|error| CompressionError::Corrupt(error.to_string()))?,
        Codec::Lz4 => lz4_flex::block::decompress_into(compressed, &mut records)
            .map_err(|error| CompressionError::Corrupt(error.to_string()))?,
    };
    if written != records.len() {
        return Err(CompressionError::SizeMismatch { expected, found: written });
    }
    Ok(records)
}
