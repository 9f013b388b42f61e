//! Where a trace's data packets are: found by walking every file (§9.3), or listed by the files'
//! stored indexes (§14), grouped by stream either way.

use crate::{
    container::Container,
    metadata::Metadata,
    packet::{self, Walked},
    stream_index::{self, StreamIndex},
    Diagnostic,
};

/// The data packets of a trace by stream, with the diagnostics found around them.
#[derive(Debug)]
pub(crate) struct PacketMap {
    pub(crate) streams: Vec<StreamIndex>,
    /// Metadata diagnostics, then container diagnostics attached to no data packet.
    diagnostics: Vec<Diagnostic>,
    /// How many of `diagnostics` are the metadata's.
    metadata_diagnostics: usize,
}

impl PacketMap {
    /// The map of the packets in `lists` (one list per container file), the metadata having
    /// reported `metadata_diagnostics`.
    pub(crate) fn new(
        container: &Container,
        lists: &[Vec<Walked>],
        metadata: &Metadata,
        metadata_diagnostics: &[Diagnostic],
    ) -> PacketMap {
        let index = stream_index::index(container, lists, metadata);
        let mut diagnostics = metadata_diagnostics.to_vec();
        diagnostics.extend(index.metadata_file);
        let metadata_diagnostics = diagnostics.len();
        diagnostics.extend(index.unattached);
        PacketMap { streams: index.streams, diagnostics, metadata_diagnostics }
    }

    /// Every diagnostic found while opening: the metadata's, then the container's.
    pub(crate) fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The diagnostics found at open: those delivered before the events, and after.
    pub(crate) fn opening_diagnostics(&self) -> (&[Diagnostic], &[Diagnostic]) {
        self.diagnostics.split_at(self.metadata_diagnostics.min(self.diagnostics.len()))
    }
}

/// Walks every file of `container` (§9.3).
pub(crate) fn walk(container: &Container) -> Vec<Vec<Walked>> {
    (0..container.files.len()).map(|number| walk_file(container, number)).collect()
}

/// Walks file `number` of `container`.
pub(crate) fn walk_file(container: &Container, number: usize) -> Vec<Walked> {
    let Some(file) = container.files.get(number) else { return Vec::new() };
    // Headers are read through `pread` where the file is mapped; pages touched through the map
    // (a search for a header after a bad one) need not stay resident.
    let mut released = 0;
    let read_at = |offset: usize, buf: &mut [u8]| file.backing.read_at(offset, buf);
    let walked = packet::walk_with_progress(file.bytes(), read_at, number, &file.name, |reached| {
        container.release(number, released, reached);
        released = reached;
    });
    // Reading the metadata and searching for headers faulted in some pages; reading faults
    // them in again when it gets there. Until then they need not be resident.
    container.release(number, 0, file.bytes().len());
    walked
}
