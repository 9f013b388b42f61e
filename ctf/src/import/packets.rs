//! One stream file's CTF packets as tracemark packets (spec Appendix C.6), each handed over
//! whole, so that files can be converted side by side.

use std::collections::BTreeMap;

use tracemark_format::{
    ByteOrder, HeaderWord, PacketFlags, PacketHeader, EXTENDED_HEADER_LEN, PACKET_HEADER_LEN,
};
use tracemark_writer::{seal, PacketInfo, PacketKind};

use super::{payload, ImportError, StreamFile};
use crate::decode::Datum;
use crate::plan::Node;
use crate::stream::CtfTrace;

/// How one CTF event class is written: its tracemark ID and the scopes its fields come from
/// (stream event context, event context, payload).
pub(super) struct ClassMapping<'p> {
    pub id: u32,
    pub scopes: [Option<&'p Node>; 3],
}

/// What every file's conversion shares.
pub(super) struct Converter<'r, 'p> {
    pub trace: &'p CtfTrace,
    pub mappings: &'r BTreeMap<usize, ClassMapping<'p>>,
    /// CTF stream class ID → tracemark stream class ID.
    pub stream_classes: &'r BTreeMap<u64, u32>,
    pub order: ByteOrder,
    pub uuid: [u8; 16],
    /// The records' header word (§5.1).
    pub word: HeaderWord,
}

/// What converting one file did.
#[derive(Debug, Default)]
pub(super) struct FileReport {
    pub packets: u64,
    pub events: u64,
    pub discarded: u64,
    pub damage: Vec<String>,
    /// Events of unmapped classes skipped, by class index.
    pub skipped: BTreeMap<usize, u64>,
}

impl Converter<'_, '_> {
    /// Converts `file`'s packets as stream (`class`, `instance`), handing each finished packet
    /// to `emit`; stops when `emit` returns `false` (the output is gone).
    pub fn file(
        &self,
        file: &StreamFile<'_>,
        (class_id, instance): (u32, u32),
        mut emit: impl FnMut(Vec<u8>, PacketInfo) -> bool,
    ) -> Result<FileReport, ImportError> {
        let mut report = FileReport::default();
        let mut records = Vec::new();
        let (mut next_sequence, mut previous_discarded, mut last_end) = (0u64, 0u64, 0u64);
        for packet in self.trace.packets(file.bytes) {
            let packet = match packet {
                Ok(packet) => packet,
                Err(error) => {
                    report.damage.push(format!("{}: {error}; the rest of the file is not read", file.name));
                    break;
                }
            };
            if !self.stream_classes.contains_key(&packet.stream_class) {
                report.damage.push(format!(
                    "{}: byte {}: stream class {} cannot be read",
                    file.name, packet.offset, packet.stream_class
                ));
                continue;
            }
            if packet.truncated {
                report.damage.push(format!(
                    "{}: byte {}: the packet is cut short by the end of the file; its events up to there are imported",
                    file.name, packet.offset
                ));
            }
            records.clear();
            let begin = packet.begin.unwrap_or(last_end);
            let mut previous = begin;
            let (mut first, mut last) = (None, begin);
            let mut events = self.trace.events(file.bytes, &packet);
            while let Some(event) = events.next() {
                let event = match event {
                    Ok(event) => event,
                    Err(error) => {
                        report.damage.push(format!(
                            "{}: packet at byte {}: {error}; the rest of the packet is not read",
                            file.name, packet.offset
                        ));
                        break;
                    }
                };
                let Some(mapping) = self.mappings.get(&event.plan.class) else {
                    *report.skipped.entry(event.plan.class).or_default() += 1;
                    continue;
                };
                let mut header = [0u8; EXTENDED_HEADER_LEN];
                // The buffer holds the longer form: the encoding cannot fail.
                let len = self
                    .word
                    .encode(mapping.id, event.timestamp, previous, self.order, &mut header)
                    .unwrap_or(0);
                let start = records.len();
                records.extend_from_slice(&header[..len]);
                let values = [event.stream_context, event.context, event.fields];
                let scopes: Vec<(&Node, &[Datum<'_>])> = mapping
                    .scopes
                    .iter()
                    .zip(values)
                    .filter_map(|(scope, values)| Some(((*scope)?, values)))
                    .collect();
                if payload::encode(&scopes, self.order, &mut records).is_none() {
                    records.truncate(start);
                    report.damage.push(format!(
                        "{}: event at bit {}: its values do not re-encode (a sequence longer than 2^32 - 1?)",
                        file.name, event.position
                    ));
                    continue;
                }
                previous = event.timestamp;
                first.get_or_insert(event.timestamp);
                last = event.timestamp;
                report.events += 1;
            }
            // The range widened to the events, should a damaged packet's not hold them.
            let begin = first.map_or(begin, |first| begin.min(first));
            let end = packet.end.unwrap_or(last).max(last);
            last_end = end;
            let discarded = packet.discarded.unwrap_or(previous_discarded);
            report.discarded += discarded.saturating_sub(previous_discarded);
            previous_discarded = discarded;
            let sequence = packet.sequence.unwrap_or(next_sequence);
            next_sequence = sequence + 1;

            let content = PACKET_HEADER_LEN + records.len();
            let size = (content + 7) & !7;
            let (Ok(content_size), Ok(packet_size)) = (u32::try_from(content), u32::try_from(size)) else {
                return Err(ImportError::PacketTooLarge {
                    file: file.name.to_owned(),
                    offset: packet.offset,
                });
            };
            let header = PacketHeader {
                version_minor: self.word.version_minor(),
                flags: PacketFlags(PacketFlags::HAS_CRC | self.word.flag()),
                sequence,
                timestamp_begin: begin,
                timestamp_end: end,
                content_size,
                packet_size,
                events_discarded: discarded,
                ..PacketHeader::new_data(self.uuid, class_id, instance)
            };
            let mut bytes = vec![0u8; size];
            bytes[PACKET_HEADER_LEN..content].copy_from_slice(&records);
            seal(&mut bytes, &header, self.order);
            let info = PacketInfo {
                kind: PacketKind::Data,
                stream_class_id: class_id,
                stream_instance_id: instance,
                sequence,
            };
            report.packets += 1;
            if !emit(bytes, info) {
                break;
            }
        }
        Ok(report)
    }
}
