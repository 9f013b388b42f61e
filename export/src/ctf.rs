//! CTF 1.8 export: a trace directory that babeltrace2 and Trace Compass read.
//!
//! The output holds a `metadata` file (TSDL text, see the `tsdl` module) and one data stream file
//! per tracemark stream, `stream_<class>_<instance>`. Event records are copied byte for byte:
//! the TSDL describes tracemark's event header and packed payloads as they are, with the wide
//! header word (§5.1), in which a narrow-word record's header is encoded anew. Packet headers
//! cannot be copied (CTF states packet sizes in bits, and its magic and field set differ), so
//! each tracemark packet becomes one CTF packet with a rewritten header and context:
//! - `timestamp_begin` is the first delivered record's timestamp, the value from which §5.5
//!   reconstructs it, and `timestamp_end` the last record's (or the end of the interval in
//!   which events were discarded, if later);
//! - `packet_seq_num` is the tracemark sequence number, so CTF readers see the same gaps
//!   (§10.2);
//! - `events_discarded` is the stream's running total of discarded events (§10.1); a
//!   tracemark packet that carried only a discard count becomes an empty CTF packet;
//! - `cpu_id` is the stream instance ID.
//!
//! Only what the reader delivers is exported: records of damaged packets that the reader
//! withholds (CRC mismatch, malformed record and the rest of its packet, §10) are not, and
//! every diagnostic is passed to the caller.

use std::{
    fs::{self, File},
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use tracemark_format::{ByteOrder, HeaderWord};
use tracemark_reader::{Diagnostic, DiagnosticKind, Item, StreamId, Trace};

use crate::{
    reencode,
    tsdl::{self, CTF_MAGIC, CTF_PACKET_CONTEXT_LEN, CTF_PACKET_HEADER_LEN},
    ExportError,
};

/// What [`write_ctf`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CtfSummary {
    /// Data stream files.
    pub streams: usize,
    /// CTF packets written.
    pub packets: u64,
    /// Event records copied.
    pub events: u64,
    /// Events the writer discarded, carried in the packet contexts.
    pub discarded: u64,
    /// Bytes of data stream files.
    pub data_bytes: u64,
    /// Bytes of the metadata file.
    pub metadata_bytes: u64,
    /// Diagnostics the reader delivered while exporting.
    pub diagnostics: u64,
    /// Events whose time, in nanoseconds since the Unix epoch, does not fit an `i64` (after
    /// 2262-04-11): valid CTF, but babeltrace2 2.0 cannot index packets holding them.
    pub beyond_i64_ns: u64,
}

/// The data stream file name of a stream.
pub fn stream_file_name(stream: StreamId) -> String {
    format!("stream_{}_{}", stream.class, stream.instance)
}

/// One CTF packet being assembled.
#[derive(Debug)]
struct OpenPacket {
    sequence: u64,
    begin: Option<u64>,
    end: u64,
    /// The timestamp of the last record, from which the next one's header counts (§5.4).
    last: Option<u64>,
    records: Vec<u8>,
    events: u64,
    /// Write it even without records: it carries a discard count.
    carries_discards: bool,
}

/// Writes one stream's CTF packets.
struct StreamOut {
    id: StreamId,
    order: ByteOrder,
    uuid: [u8; 16],
    file: BufWriter<File>,
    path: PathBuf,
    open: Option<OpenPacket>,
    /// The running discard total (§10.1).
    discarded: u64,
    /// `timestamp_end` of the last packet written.
    last_end: u64,
    packets: u64,
    events: u64,
    bytes: u64,
}

impl StreamOut {
    fn packet(&mut self, sequence: u64) -> Result<&mut OpenPacket, ExportError> {
        if self.open.as_ref().is_some_and(|open| open.sequence != sequence) {
            self.close()?;
        }
        let last_end = self.last_end;
        Ok(self.open.get_or_insert_with(|| OpenPacket {
            sequence,
            begin: None,
            end: last_end,
            last: None,
            records: Vec::new(),
            events: 0,
            carries_discards: false,
        }))
    }

    fn close(&mut self) -> Result<(), ExportError> {
        let Some(packet) = self.open.take() else { return Ok(()) };
        if packet.events == 0 && !packet.carries_discards {
            return Ok(());
        }
        let begin = packet.begin.unwrap_or(self.last_end.min(packet.end));
        let size = CTF_PACKET_HEADER_LEN + CTF_PACKET_CONTEXT_LEN + packet.records.len();
        // At most one tracemark packet's records (< 4 GiB) plus the header: no overflow.
        let bits = size as u64 * 8;
        let order = self.order;
        let mut header = Vec::with_capacity(CTF_PACKET_HEADER_LEN + CTF_PACKET_CONTEXT_LEN);
        header.extend_from_slice(&order.u32_bytes(CTF_MAGIC));
        header.extend_from_slice(&self.uuid);
        header.extend_from_slice(&order.u32_bytes(self.id.class));
        header.extend_from_slice(&order.u64_bytes(u64::from(self.id.instance)));
        for value in [begin, packet.end, bits, bits, packet.sequence, self.discarded] {
            header.extend_from_slice(&order.u64_bytes(value));
        }
        header.extend_from_slice(&order.u32_bytes(self.id.instance));
        let io = |source| ExportError::Io { path: self.path.clone(), source };
        self.file.write_all(&header).map_err(io)?;
        self.file.write_all(&packet.records).map_err(io)?;
        self.last_end = packet.end;
        self.packets += 1;
        self.events += packet.events;
        self.bytes += size as u64;
        Ok(())
    }
}

/// Creates `dir` for output: it must not exist, or be an empty directory.
pub(crate) fn prepare_output_dir(dir: &Path) -> Result<(), ExportError> {
    let io = |source| ExportError::Io { path: dir.to_path_buf(), source };
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(ExportError::OutputNotEmpty { path: dir.to_path_buf() });
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => fs::create_dir_all(dir).map_err(io),
        Err(error) => Err(io(error)),
    }
}

/// Converts `trace` into a CTF 1.8 trace directory `out_dir`, which must not exist or be
/// empty. Every diagnostic the reader delivers is passed to `on_diagnostic`; the export
/// goes on past damage as the reader does.
pub fn write_ctf(
    trace: &Trace,
    out_dir: &Path,
    mut on_diagnostic: impl FnMut(&Diagnostic),
) -> Result<CtfSummary, ExportError> {
    prepare_output_dir(out_dir)?;
    let metadata = trace.metadata();
    let mut summary = CtfSummary::default();
    for diagnostic in trace.diagnostics() {
        summary.diagnostics += 1;
        on_diagnostic(diagnostic);
    }

    let data_classes: Vec<u32> = trace.stream_ids().map(|id| id.class).collect();
    let metadata_path = out_dir.join("metadata");
    let io_error = |source| ExportError::Io { path: metadata_path.clone(), source };
    let file = File::create(&metadata_path).map_err(io_error)?;
    let mut text = TextFile { out: BufWriter::new(file), written: 0, error: None };
    tsdl::write_metadata_text(metadata, &data_classes, &mut text);
    if let Some(error) = text.error.take() {
        return Err(io_error(error));
    }
    text.out.flush().map_err(io_error)?;
    summary.metadata_bytes = text.written;

    for stream in trace.streams() {
        let id = stream.id();
        let path = out_dir.join(stream_file_name(id));
        let file = File::create(&path).map_err(|source| ExportError::Io { path: path.clone(), source })?;
        let mut out = StreamOut {
            id,
            order: metadata.byte_order(),
            uuid: metadata.uuid(),
            file: BufWriter::with_capacity(1 << 16, file),
            path,
            open: None,
            discarded: 0,
            last_end: 0,
            packets: 0,
            events: 0,
            bytes: 0,
        };
        for item in stream {
            match item {
                Item::Event(event) => {
                    if event.unix_ns().is_some_and(|ns| i64::try_from(ns).is_err()) {
                        summary.beyond_i64_ns += 1;
                    }
                    let timestamp = event.timestamp();
                    let packet = out.packet(event.packet_sequence())?;
                    packet.begin.get_or_insert(timestamp);
                    packet.end = packet.end.max(timestamp);
                    match event.header_word() {
                        HeaderWord::Wide => packet.records.extend_from_slice(event.record_bytes()),
                        HeaderWord::Narrow => {
                            let record = (event.id(), timestamp, event.payload());
                            let previous = packet.last.unwrap_or(timestamp);
                            let order = metadata.byte_order();
                            reencode::push_record(
                                &mut packet.records,
                                record,
                                previous,
                                HeaderWord::Wide,
                                order,
                            );
                        }
                    }
                    packet.last = Some(timestamp);
                    packet.events += 1;
                }
                Item::Diagnostic(diagnostic) => {
                    summary.diagnostics += 1;
                    on_diagnostic(&diagnostic);
                    if let (DiagnosticKind::DiscardedEvents { count, to_ts, .. }, Some(sequence)) =
                        (&diagnostic.kind, diagnostic.sequence)
                    {
                        // Open the packet first: closing the previous one writes the total
                        // as it was before this packet.
                        let packet = out.packet(sequence)?;
                        packet.end = packet.end.max(*to_ts);
                        packet.carries_discards = true;
                        out.discarded = out.discarded.saturating_add(*count);
                    }
                }
            }
        }
        out.close()?;
        out.file.flush().map_err(|source| ExportError::Io { path: out.path.clone(), source })?;
        summary.streams += 1;
        summary.packets += out.packets;
        summary.events += out.events;
        summary.discarded += out.discarded;
        summary.data_bytes += out.bytes;
    }
    Ok(summary)
}

/// A text file written through [`std::fmt::Write`]: the first I/O error is kept, and ends
/// the writing.
struct TextFile {
    out: BufWriter<File>,
    written: u64,
    error: Option<std::io::Error>,
}

impl std::fmt::Write for TextFile {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        if self.error.is_some() {
            return Err(std::fmt::Error);
        }
        match self.out.write_all(text.as_bytes()) {
            Ok(()) => {
                self.written += text.len() as u64;
                Ok(())
            }
            Err(error) => {
                self.error = Some(error);
                Err(std::fmt::Error)
            }
        }
    }
}
