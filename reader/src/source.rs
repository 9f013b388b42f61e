//! What reading packets needs from an open trace, for the layers below it.

use tracemark_format::compress::CompressionError;

use crate::{container::Container, decompress::Decompressed, metadata::Metadata, packet::RawPacket};

/// An open trace's files, its metadata, and the records of its compressed packets,
/// decompressed once (§15): what batches, stream cursors and the pipeline read packets with,
/// rather than the whole [`Trace`](crate::Trace) above them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacketSource<'t> {
    pub(crate) container: &'t Container,
    pub(crate) metadata: &'t Metadata,
    decompressed: &'t Decompressed,
}

impl<'t> PacketSource<'t> {
    pub(crate) fn new(
        container: &'t Container,
        metadata: &'t Metadata,
        decompressed: &'t Decompressed,
    ) -> PacketSource<'t> {
        PacketSource { container, metadata, decompressed }
    }

    /// The bytes of the container's file `file`; none when there is no such file.
    pub(crate) fn file_bytes(&self, file: usize) -> &'t [u8] {
        self.container.files.get(file).map_or(&[][..], |file| file.bytes())
    }

    /// The records of packet `raw` (§5): its content, or, when it is compressed (§15), its
    /// records, decompressed the first time they are asked for and kept while the trace is open.
    pub(crate) fn records_of(&self, raw: &RawPacket) -> Result<&'t [u8], CompressionError> {
        let content = raw.content(self.file_bytes(raw.file));
        if raw.header.flags.is_compressed() {
            self.decompressed.records(raw, content)
        } else {
            Ok(content)
        }
    }
}
