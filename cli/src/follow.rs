//! Following a trace while its writer appends to it (§9.4): `tracemark dump --follow`.
//!
//! Each poll reads what the files gained since the last one, keeps the packets that arrived
//! whole, and decodes them with the reader as a small single-file trace in memory (§9.3):
//! every metadata packet so far, then, per stream, the packets delivered last that the reader
//! needs to judge the next one (the last trusted packet and any damaged ones after it, so that
//! sequence gaps and discard counts come out as in one pass), and the new packets. Items of
//! those context packets were delivered by an earlier poll and are skipped; diagnostics are
//! located back in the real files. Events come in time order within a poll; a stream whose
//! packets land late prints them with the poll that finds them.
//!
//! A directory is complete when its writer has created the `finished` marker (§9.4): the
//! follower then reads every file to its end and stops. A single file has no marker: it is
//! followed until the idle timeout, or until interrupted.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use tracemark_format::{PacketHeader, PACKET_HEADER_LEN};
use tracemark_reader::{directory_files, Diagnostic, DirectoryFiles, Item, OpenError, StreamId, Trace};
use tracemark_writer::FINISHED_MARKER;

/// At most this many new bytes are read from one file per poll, so a follower that starts
/// on a large trace catches up in bounded steps.
const READ_LIMIT: u64 = 16 << 20;

/// Headers are searched for at this alignment after damage (§10.6).
const PACKET_ALIGN: usize = 8;

/// How following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowEnd {
    /// The writer created the `finished` marker and every file was read to its end.
    Finished,
    /// Nothing new arrived for the idle timeout.
    IdleTimeout,
}

/// Why following failed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The metadata cannot be read and waiting will not help.
    #[error("{0}")]
    Open(#[from] OpenError),
    /// The writer finished, but its metadata never became a readable TRACE record.
    #[error("{}: the writer finished without a readable TRACE metadata record (§7.3)", .0.display())]
    NoMetadata(PathBuf),
    /// The consumer of the items failed (a closed pipe, a full disk).
    #[error("{0}")]
    Output(#[source] std::io::Error),
}

/// Receives what a follower delivers.
pub trait Deliver {
    /// An event or a diagnostic, in order.
    fn item(&mut self, item: Item<'_>) -> std::io::Result<()>;
    /// The end of a poll's items: a moment to flush output.
    fn end_of_poll(&mut self) -> std::io::Result<()>;
}

/// Options of a follower.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// Time between polls when nothing new arrived.
    pub poll: Duration,
    /// Stop after this long without new data; `None` waits for the marker.
    pub idle_timeout: Option<Duration>,
}

/// Bytes of the batch buffer that come from a place in a container file.
#[derive(Debug, Clone)]
struct Origin {
    start: u64,
    len: u64,
    file: Arc<str>,
    offset: u64,
}

/// Packets kept as a stream's context at most: the last good one and the damaged ones after
/// it (a longer run of damage loses only the accuracy of the next gap report).
const MAX_CONTEXT: usize = 64;

/// A whole packet read from a file.
#[derive(Debug, Clone)]
struct Packet {
    bytes: Vec<u8>,
    file: Arc<str>,
    offset: u64,
}

impl Packet {
    /// Whether the reader trusts the packet's header for the stream's history: it is whole
    /// and its CRC, if any, matches (§10.3).
    fn is_trusted(&self) -> bool {
        let Ok((header, _)) = PacketHeader::decode(&self.bytes) else { return false };
        if self.bytes.len() < header.packet_size as usize {
            return false;
        }
        !header.flags.has_crc()
            || tracemark_format::crc::packet_crc(&self.bytes, header.content_size as usize)
                == Some(header.crc32)
    }
}

/// New bytes of one file: whole packets and damaged stretches.
#[derive(Debug, Default)]
struct Arrivals {
    metadata: Vec<Packet>,
    data: Vec<(StreamId, Packet)>,
    damaged: Vec<Packet>,
}

/// Splits `bytes` (read from `file` at `offset`) into whole packets and damaged stretches;
/// returns how many bytes were consumed. Unless `at_end`, a packet not yet complete, a header
/// not yet readable, or damage not yet followed by a readable header stays for the next
/// poll; at the end of the trace they are handed to the reader as they are, to be reported
/// as truncated (§10.4) or skipped (§10.6).
///
/// `more` says that the file holds more bytes than `bytes`: damage that fills them is then
/// handed to the reader up to where a header could still begin, rather than kept for the
/// next read, so that a file of garbage (a sparse file's zeros) is followed in bounded steps.
fn split(
    bytes: &[u8],
    file: &Arc<str>,
    offset: u64,
    arrivals: &mut Arrivals,
    at_end: bool,
    more: bool,
) -> usize {
    let mut at = 0;
    let mut damaged_from = None;
    let packet = |from: usize, to: usize| Packet {
        bytes: bytes.get(from..to).unwrap_or_default().to_vec(),
        file: file.clone(),
        offset: offset + from as u64,
    };
    while let Some(rest) = bytes.get(at..).filter(|rest| rest.len() >= PACKET_HEADER_LEN) {
        let Ok((header, _)) = PacketHeader::decode(rest) else {
            // Damage: search on at aligned offsets (§10.6); the reader reports it.
            damaged_from.get_or_insert(at);
            at += PACKET_ALIGN;
            continue;
        };
        let size = (header.packet_size as usize).min(rest.len());
        if size < header.packet_size as usize && !at_end {
            break;
        }
        if let Some(from) = damaged_from.take() {
            arrivals.damaged.push(packet(from, at));
        }
        if header.is_metadata() {
            arrivals.metadata.push(packet(at, at + size));
        } else {
            let stream = StreamId { class: header.stream_class_id, instance: header.stream_instance_id };
            arrivals.data.push((stream, packet(at, at + size)));
        }
        at += size;
    }
    if at_end && at < bytes.len() {
        damaged_from.get_or_insert(at);
        at = bytes.len();
    }
    match damaged_from {
        Some(from) if at_end => {
            arrivals.damaged.push(packet(from, at));
            at
        }
        // Damage filling a full read: handed on up to where the scan stopped.
        Some(from) if more && at > from => {
            arrivals.damaged.push(packet(from, at));
            at
        }
        // Damage not yet followed by a readable header: scanned again with more bytes.
        Some(from) => from,
        None => at,
    }
}

/// A trace being followed.
pub struct Follower {
    path: PathBuf,
    /// Read position of each file.
    positions: BTreeMap<PathBuf, u64>,
    /// Every metadata packet so far, in arrival order.
    metadata: Vec<Packet>,
    /// Packets read but not yet decoded: the metadata was not readable yet.
    pending: Arrivals,
    /// Per stream, the packets the reader needs to judge the next one as it would in one
    /// pass: the last packet it trusts (§10.3), then those after it that it does not.
    context: BTreeMap<StreamId, Vec<Packet>>,
    /// Diagnostics about no stream (the metadata's) already reported: each batch repeats them.
    reported: BTreeSet<String>,
}

impl Follower {
    /// A follower of the directory or single file at `path` (which may not exist yet).
    pub fn new(path: &Path) -> Follower {
        Follower {
            path: path.to_path_buf(),
            positions: BTreeMap::new(),
            metadata: Vec::new(),
            pending: Arrivals::default(),
            context: BTreeMap::new(),
            reported: BTreeSet::new(),
        }
    }

    /// Whether the writer has marked the trace complete (§9.4).
    pub fn writer_finished(&self) -> bool {
        self.path.is_dir() && self.path.join(FINISHED_MARKER).is_file()
    }

    /// The container files, metadata first, as the reader would open them (§9.1, §9.2).
    fn files(&self) -> Result<Vec<PathBuf>, FollowError> {
        let io = |source| FollowError::Io { path: self.path.clone(), source };
        if !self.path.is_dir() {
            return Ok(if self.path.is_file() { vec![self.path.clone()] } else { Vec::new() });
        }
        // The reader's own listing: following finds exactly the files one-shot reading does.
        let DirectoryFiles { metadata, streams } = directory_files(&self.path).map_err(io)?;
        Ok(metadata.into_iter().chain(streams).collect())
    }

    /// Reads what every file gained; returns whether anything did.
    fn read(&mut self, at_end: bool) -> Result<bool, FollowError> {
        let mut grew = false;
        for path in self.files()? {
            let io = |source| FollowError::Io { path: path.clone(), source };
            let position = self.positions.get(&path).copied().unwrap_or(0);
            let mut file = File::open(&path).map_err(io)?;
            let len = file.metadata().map_err(io)?.len();
            if len <= position {
                continue;
            }
            let name: Arc<str> = Arc::from(path.display().to_string());
            let mut limit = READ_LIMIT;
            let consumed = loop {
                file.seek(SeekFrom::Start(position)).map_err(io)?;
                let wanted = (len - position).min(limit);
                // Sized up front: a file's length is real (a sparse file's too), a header's
                // claim is not, and growing by doubling would take twice what is read.
                let mut bytes = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0));
                (&mut file).take(wanted).read_to_end(&mut bytes).map_err(io)?;
                let consumed =
                    split(&bytes, &name, position, &mut self.pending, at_end, bytes.len() as u64 == limit);
                // A packet larger than the read limit is read whole on a second attempt: as
                // many bytes as its header claims and the file holds, never more.
                let claimed =
                    PacketHeader::decode(&bytes).map_or(0, |(header, _)| u64::from(header.packet_size));
                if consumed > 0 || (bytes.len() as u64) < limit || claimed <= limit {
                    break consumed;
                }
                limit = claimed;
            };
            if consumed > 0 {
                grew = true;
                self.positions.insert(path, position + consumed as u64);
            }
        }
        Ok(grew)
    }

    /// Reads and delivers what arrived since the last poll. Returns whether anything new
    /// was read.
    pub fn poll(&mut self, deliver: &mut dyn Deliver) -> Result<bool, FollowError> {
        self.poll_with(deliver, false)
    }

    /// Reads and delivers everything left, incomplete packets and damage included: the
    /// writer is done.
    pub fn drain(&mut self, deliver: &mut dyn Deliver) -> Result<(), FollowError> {
        while self.poll_with(deliver, false)? {}
        self.poll_with(deliver, true).map(drop)
    }

    fn poll_with(&mut self, deliver: &mut dyn Deliver, at_end: bool) -> Result<bool, FollowError> {
        let grew = self.read(at_end)?;
        if !grew && self.pending.data.is_empty() && self.pending.damaged.is_empty() {
            return Ok(false);
        }
        let mut metadata = std::mem::take(&mut self.pending.metadata);
        self.metadata.append(&mut metadata);
        if self.metadata.is_empty() {
            return Ok(grew);
        }

        // The batch: metadata, damaged stretches, then per stream its context and new packets.
        let mut buffer = Vec::new();
        let mut origins = Vec::new();
        let mut skip = Vec::new();
        let mut push = |packet: &Packet, buffer: &mut Vec<u8>| {
            let start = buffer.len() as u64;
            buffer.extend_from_slice(&packet.bytes);
            origins.push(Origin {
                start,
                len: packet.bytes.len() as u64,
                file: packet.file.clone(),
                offset: packet.offset,
            });
            start..buffer.len() as u64
        };
        for packet in &self.metadata {
            push(packet, &mut buffer);
        }
        for packet in &self.pending.damaged {
            push(packet, &mut buffer);
        }
        let mut by_stream: BTreeMap<StreamId, Vec<&Packet>> = BTreeMap::new();
        for (stream, packet) in &self.pending.data {
            by_stream.entry(*stream).or_default().push(packet);
        }
        for (stream, packets) in &by_stream {
            for context in self.context.get(stream).into_iter().flatten() {
                skip.push(push(context, &mut buffer));
            }
            for packet in packets {
                push(packet, &mut buffer);
            }
        }

        let trace = match Trace::from_bytes(buffer) {
            Ok(trace) => trace,
            // The metadata is still being written: keep the packets for the next poll.
            Err(OpenError::NoTraceRecord { .. } | OpenError::NotATrace { .. }) => return Ok(grew),
            Err(error) => return Err(error.into()),
        };
        let skipped = |offset: u64| skip.iter().any(|range| range.contains(&offset));
        let locate = |mut diagnostic: Diagnostic| {
            if let Some(origin) = origins
                .iter()
                .find(|origin| (origin.start..origin.start + origin.len).contains(&diagnostic.offset))
            {
                diagnostic.offset = diagnostic.offset - origin.start + origin.offset;
                diagnostic.file = origin.file.clone();
            }
            diagnostic
        };
        for item in trace.events() {
            match item {
                Item::Event(event) if skipped(event.offset()) => {}
                Item::Event(event) => deliver.item(Item::Event(event)).map_err(FollowError::Output)?,
                Item::Diagnostic(diagnostic) if skipped(diagnostic.offset) => {}
                Item::Diagnostic(diagnostic) => {
                    let diagnostic = locate(diagnostic);
                    if diagnostic.stream.is_none() && !self.reported.insert(diagnostic.to_string()) {
                        continue;
                    }
                    deliver.item(Item::Diagnostic(diagnostic)).map_err(FollowError::Output)?;
                }
            }
        }
        drop(trace);
        deliver.end_of_poll().map_err(FollowError::Output)?;
        let pending = std::mem::take(&mut self.pending);
        for (stream, packet) in pending.data {
            let context = self.context.entry(stream).or_default();
            if packet.is_trusted() {
                context.clear();
            } else if context.len() >= MAX_CONTEXT {
                context.remove(1);
            }
            context.push(packet);
        }
        Ok(true)
    }

    /// Polls until the writer finishes (then drains every file) or the idle timeout passes.
    pub fn run(
        &mut self,
        options: FollowOptions,
        deliver: &mut dyn Deliver,
    ) -> Result<FollowEnd, FollowError> {
        let mut last_data = Instant::now();
        loop {
            // Seen before reading: everything the writer wrote is then on disk.
            let finished = self.writer_finished();
            if self.poll(deliver)? {
                last_data = Instant::now();
                continue;
            }
            let idle = options.idle_timeout.is_some_and(|timeout| last_data.elapsed() >= timeout);
            if finished || idle {
                self.drain(deliver)?;
                if self.metadata.is_empty() || !self.pending.data.is_empty() {
                    return Err(FollowError::NoMetadata(self.path.clone()));
                }
                return Ok(if finished { FollowEnd::Finished } else { FollowEnd::IdleTimeout });
            }
            thread::sleep(options.poll);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracemark_format::{Field, IntType, TypeDesc};
    use tracemark_writer::{Config, ManualClock, MemorySink, Session};

    /// A single-file trace with discards on two CPUs, in 512-byte packets.
    fn lossy_single_file() -> Vec<u8> {
        let sink = MemorySink::new();
        let config = Config::with_uuid([5; 16]).packet_size(512);
        let session = Session::builder(config).build_with_clock(ManualClock::new(0), sink.clone()).unwrap();
        let fields = vec![Field::new("n", TypeDesc::Int(IntType::U64))];
        let handle = session.register_fields(session.stream_class_id(), "ev", 255, fields).unwrap();
        for cpu in 0..2u32 {
            let mut stream = session.stream(cpu).unwrap();
            let (writer, out) = stream.raw().unwrap();
            for n in 0..400u64 {
                let slot = writer.reserve(out, handle, n * 10 + u64::from(cpu), 8).unwrap();
                if n % 31 == 7 {
                    writer.abort(slot);
                    continue;
                }
                writer.payload(&slot).write_u64(n);
                writer.commit(slot);
            }
        }
        session.finish().unwrap();
        sink.bytes()
    }

    #[derive(Default)]
    struct Collect {
        events: Vec<String>,
        diagnostics: Vec<String>,
        polls: usize,
    }

    impl Deliver for Collect {
        fn item(&mut self, item: Item<'_>) -> std::io::Result<()> {
            match item {
                Item::Event(event) => self.events.push(format!("{} {}", event.stream(), event)),
                Item::Diagnostic(diagnostic) => self.diagnostics.push(diagnostic.to_string()),
            }
            Ok(())
        }

        fn end_of_poll(&mut self) -> std::io::Result<()> {
            self.polls += 1;
            Ok(())
        }
    }

    /// What the reader delivers from the whole file at once.
    fn one_shot(path: &Path) -> Collect {
        let trace = Trace::open(path).unwrap();
        let mut all = Collect::default();
        for item in trace.events() {
            all.item(item).unwrap();
        }
        all
    }

    #[test]
    fn a_file_growing_in_odd_steps_delivers_every_event_and_diagnostic_once() {
        let bytes = lossy_single_file();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing.tmk");
        // Damage in the middle of the file too: a packet-sized stretch of garbage.
        let cut = 512 * 9;
        let mut damaged = bytes[..cut].to_vec();
        damaged.extend(std::iter::repeat_n(0xEE, 512));
        damaged.extend_from_slice(&bytes[cut..]);
        std::fs::write(&path, &damaged).unwrap();
        let expected = one_shot(&path);
        assert!(expected.diagnostics.iter().any(|text| text.contains("events discarded")));
        assert!(expected.diagnostics.iter().any(|text| text.contains("bad packet header")));

        std::fs::write(&path, b"").unwrap();
        let mut follower = Follower::new(&path);
        let mut got = Collect::default();
        let mut written = 0;
        for step in [1, 79, 80, 200, 333, 64, 512, 7, 150].iter().cycle() {
            if written == damaged.len() {
                break;
            }
            let next = (written + step).min(damaged.len());
            let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
            std::io::Write::write_all(&mut file, &damaged[written..next]).unwrap();
            written = next;
            follower.poll(&mut got).unwrap();
        }
        follower.drain(&mut got).unwrap();
        assert!(got.polls > 5, "delivered over many polls: {}", got.polls);
        let sorted = |mut lines: Vec<String>| {
            lines.sort();
            lines
        };
        assert_eq!(sorted(got.events), sorted(expected.events));
        assert_eq!(sorted(got.diagnostics), sorted(expected.diagnostics));
    }

    #[test]
    fn split_keeps_incomplete_packets_and_reports_damage_up_to_a_readable_header() {
        let bytes = lossy_single_file();
        let name: Arc<str> = Arc::from("f");
        let mut arrivals = Arrivals::default();
        // A metadata packet and half of the next packet.
        let metadata_len = PacketHeader::decode(&bytes).unwrap().0.packet_size as usize;
        assert_eq!(split(&bytes[..metadata_len + 300], &name, 0, &mut arrivals, false, false), metadata_len);
        assert_eq!((arrivals.metadata.len(), arrivals.data.len()), (1, 0));
        // At the end, the partial packet goes to the reader, which reports the truncation.
        let mut arrivals = Arrivals::default();
        assert_eq!(
            split(&bytes[..metadata_len + 300], &name, 0, &mut arrivals, true, false),
            metadata_len + 300
        );
        assert_eq!((arrivals.metadata.len(), arrivals.data.len()), (1, 1));
        assert_eq!(arrivals.data[0].1.bytes.len(), 300);
        // Garbage then a header still arriving: nothing is consumed until a header is readable.
        let mut junk = vec![0x55u8; 64];
        junk.extend_from_slice(&bytes[metadata_len..metadata_len + 40]);
        let mut arrivals = Arrivals::default();
        assert_eq!(split(&junk, &name, 1000, &mut arrivals, false, false), 0);
        assert!(arrivals.damaged.is_empty());
        junk.extend_from_slice(&bytes[metadata_len + 40..metadata_len + 512]);
        assert_eq!(split(&junk, &name, 1000, &mut arrivals, false, false), 64 + 512);
        assert_eq!(arrivals.damaged.len(), 1);
        assert_eq!((arrivals.damaged[0].offset, arrivals.damaged[0].bytes.len()), (1000, 64));
        assert_eq!(arrivals.data.len(), 1);
    }
}
