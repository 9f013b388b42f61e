//! A ring session's event counters, one per thread slot: in the slot, or in a progress file
//! beside the trace (§9.5), mapped shared so that the counts outlive a process that is killed
//! or aborts, and a reader can count what such a writer wrote but never delivered.

use std::{
    boxed::Box,
    fs::{File, OpenOptions},
    path::Path,
    ptr::NonNull,
    sync::{atomic::AtomicU64, Arc},
    vec::Vec,
};

use memmap2::{MmapMut, MmapOptions};
use tracemark_format::{
    progress::{ProgressHeader, HEADER_LEN, RECORD_LEN},
    ByteOrder,
};

use crate::Result;

/// Slots whose counters one mapping holds: a page of records.
const SLOTS_PER_CHUNK: usize = 64;

/// One slot's event counter.
pub(crate) struct EventCount {
    /// Points into `_backing`, which keeps it alive and never moves it.
    count: NonNull<AtomicU64>,
    _backing: Backing,
}

enum Backing {
    Heap(#[allow(dead_code)] Box<AtomicU64>),
    File(#[allow(dead_code)] Arc<MmapMut>),
}

// SAFETY: `count` points to an `AtomicU64` owned by `_backing` (a box, or a shared mapping that
// is never unmapped while an `EventCount` holds it); an atomic may be used from any thread.
unsafe impl Send for EventCount {}
// SAFETY: as above.
unsafe impl Sync for EventCount {}

impl EventCount {
    /// A counter in memory only.
    pub(crate) fn in_memory() -> EventCount {
        let boxed = Box::new(AtomicU64::new(0));
        let count = NonNull::from(&*boxed);
        EventCount { count, _backing: Backing::Heap(boxed) }
    }

    #[inline(always)]
    pub(crate) fn get(&self) -> &AtomicU64 {
        // SAFETY: see the type: the pointee lives as long as `self`.
        unsafe { self.count.as_ref() }
    }
}

/// The progress file being written: its header is written at creation, its records grow a page
/// at a time as slots appear.
pub(crate) struct ProgressFile {
    file: File,
    /// Each mapping, with its first byte's address (taken through `&mut`, so writable).
    chunks: Vec<(Arc<MmapMut>, NonNull<u8>)>,
}

// SAFETY: the addresses point into the mappings held beside them; `ProgressFile` is used under
// the session's slot lock.
unsafe impl Send for ProgressFile {}

impl ProgressFile {
    /// Creates (or truncates) the file at `path` with its header, in this machine's byte order
    /// (the counters are updated natively).
    pub(crate) fn create(path: &Path, trace_uuid: [u8; 16], stream_class_id: u32) -> Result<ProgressFile> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        let header = ProgressHeader::new(trace_uuid, stream_class_id).encode(ByteOrder::NATIVE);
        std::io::Write::write_all(&mut &file, &header)?;
        Ok(ProgressFile { file, chunks: Vec::new() })
    }

    /// The counter of slot `index` (slots are made in order: 0, 1, 2, ...), zero, in the file.
    pub(crate) fn counter(&mut self, index: usize) -> Result<EventCount> {
        let chunk = index / SLOTS_PER_CHUNK;
        while self.chunks.len() <= chunk {
            let offset = HEADER_LEN + self.chunks.len() * SLOTS_PER_CHUNK * RECORD_LEN;
            let len = SLOTS_PER_CHUNK * RECORD_LEN;
            self.file.set_len((offset + len) as u64)?;
            // SAFETY: the file was created by this session and is only written through this
            // mapping (and its neighbours', at other offsets); another process truncating it
            // would fault the writers, as with any mapped file, which is the file's owner's to
            // avoid. memmap2 aligns the unaligned offset to a page itself.
            let mut map = unsafe { MmapOptions::new().offset(offset as u64).len(len).map_mut(&self.file) }?;
            let base = NonNull::new(map.as_mut_ptr())
                .ok_or_else(|| crate::Error::Sink("progress file mapped at address 0".into()))?;
            self.chunks.push((Arc::new(map), base));
        }
        let (map, base) = &self.chunks[chunk];
        // In bounds: `at + 8 <= len`; 8-aligned: the mapping starts 64 bytes into a page.
        let at = (index % SLOTS_PER_CHUNK) * RECORD_LEN;
        // SAFETY: `at` is within the mapping (above).
        let count = unsafe { base.add(at) }.cast::<AtomicU64>();
        debug_assert!(count.as_ptr().is_aligned());
        Ok(EventCount { count, _backing: Backing::File(Arc::clone(map)) })
    }
}
