//! Packet indexes (§14): each stored index compared with the one the reference builds from the
//! packets it describes.

use std::{fs, path::Path};

use tracemark_format::index::{decode_packet, IndexEntry, IndexError, PacketIndex, RECORDS_NOT_COUNTED};
use tracemark_reader::{sidecar_path, FileIndex, Trace};

use super::{map, rules::StoredIndex, Finding, Severity};

/// The findings about the trace's indexes: the single file's (found by the raw pass, `stored`),
/// or those in `directory/index/`.
pub(crate) fn findings(
    trace: &Trace,
    stored: &[StoredIndex],
    directory: Option<&Path>,
    rename: &dyn Fn(&str) -> String,
) -> Vec<Finding> {
    // The reference index decodes every packet once more: built only when there is an index
    // to compare it with.
    let stored_any = match directory {
        None => !stored.is_empty(),
        Some(directory) => directory.join("index").is_dir(),
    };
    if !stored_any {
        return Vec::new();
    }
    let built = trace.build_indexes();
    let mut findings = Vec::new();
    match directory {
        None => {
            for index in stored {
                let Some(expected) = built.iter().find(|built| rename(&built.file) == index.file) else {
                    continue;
                };
                let at = Finding {
                    requirement: "R-14.2-2",
                    severity: Severity::Error,
                    rule: "index-entries",
                    file: index.file.clone(),
                    offset: index.record_offset,
                    stream: None,
                    sequence: Some(index.sequence),
                    message: String::new(),
                };
                if let Some(message) = difference(&index.index, expected) {
                    findings.push(Finding { message, ..at });
                }
            }
        }
        Some(directory) => {
            let index_dir = directory.join("index");
            let mut described = Vec::new();
            for expected in &built {
                let Some(path) = sidecar_path(Path::new(&*expected.file)) else { continue };
                described.extend(path.file_name().map(ToOwned::to_owned));
                if let Ok(bytes) = fs::read(&path) {
                    findings.extend(sidecar_findings(trace, &path, &bytes, expected));
                }
            }
            // Sidecars of no stream file describe nothing.
            let orphans = fs::read_dir(&index_dir).into_iter().flatten().flatten().filter(|entry| {
                entry.file_name().to_string_lossy().ends_with(".idx")
                    && !described.contains(&entry.file_name())
            });
            for orphan in orphans {
                findings.push(Finding {
                    requirement: "R-14.3-1",
                    severity: Severity::Warning,
                    rule: "index-placement",
                    file: orphan.path().display().to_string(),
                    offset: 0,
                    stream: None,
                    sequence: None,
                    message: "an index of no stream file of the trace".into(),
                });
            }
        }
    }
    findings
}

/// The findings about `bytes`, the sidecar at `path` of the stream file `expected` describes.
fn sidecar_findings(trace: &Trace, path: &Path, bytes: &[u8], expected: &FileIndex) -> Option<Finding> {
    let at = |requirement, rule, offset, message: String| Finding {
        requirement,
        severity: Severity::Error,
        rule,
        file: path.display().to_string(),
        offset,
        stream: None,
        sequence: None,
        message,
    };
    let record_offset = tracemark_format::PACKET_HEADER_LEN as u64;
    let (header, index) = match decode_packet(bytes) {
        Ok(decoded) => decoded,
        Err(error) => {
            let (requirement, offset) = match &error {
                IndexError::Header(header) => (map::header_requirement(header), 0),
                IndexError::Crc { .. } => ("R-4.4-1", 0),
                IndexError::Record(record) => {
                    (map::metadata_requirement(&record.kind, false), record_offset + record.offset as u64)
                }
                IndexError::Unchecked => ("R-14.2-1", record_offset),
                _ => ("R-14.3-1", 0),
            };
            let message = format!("{error}: a reader walks the stream file instead");
            return Some(at(requirement, "index-sidecar", offset, message));
        }
    };
    if header.trace_uuid != trace.metadata().uuid() {
        let message =
            "the index of another trace (trace_uuid): a reader walks the stream file instead".into();
        return Some(at("R-4.6-2", "index-sidecar", 16, message));
    }
    if index.index_offset != 0 {
        let message = format!("index_offset {} in a sidecar, where it is 0", index.index_offset);
        return Some(at("R-14.3-1", "index-placement", record_offset, message));
    }
    difference(&index, expected).map(|message| at("R-14.2-2", "index-entries", record_offset, message))
}

/// How `stored` differs from the index of the file `expected` was built from, if it does.
fn difference(stored: &PacketIndex, expected: &FileIndex) -> Option<String> {
    let expected = match &expected.index {
        Ok(index) => index,
        Err(reason) => return Some(format!("an index of a file that can have none: {reason}")),
    };
    if stored.file_len != expected.file_len {
        return Some(format!(
            "index of {} bytes of a file of {} (stale: the file changed since it was indexed)",
            stored.file_len, expected.file_len
        ));
    }
    // A writer that did not count a packet's records says so (§14.2).
    let uncounted = |have: &IndexEntry, want: &IndexEntry| IndexEntry {
        record_count: if have.record_count == RECORDS_NOT_COUNTED {
            have.record_count
        } else {
            want.record_count
        },
        ..*want
    };
    let pairs = stored.entries.iter().zip(&expected.entries);
    if let Some((number, (have, want))) =
        pairs.enumerate().find(|(_, (have, want))| **have != uncounted(have, want))
    {
        let fields = [
            ("offset", have.offset, want.offset),
            ("packet_size", have.packet_size.into(), want.packet_size.into()),
            ("content_size", have.content_size.into(), want.content_size.into()),
            ("flags", have.flags.into(), want.flags.into()),
            ("stream_class_id", have.stream_class_id.into(), want.stream_class_id.into()),
            ("stream_instance_id", have.stream_instance_id.into(), want.stream_instance_id.into()),
            ("record_count", have.record_count.into(), want.record_count.into()),
            ("sequence", have.sequence, want.sequence),
            ("timestamp_begin", have.timestamp_begin, want.timestamp_begin),
            ("timestamp_end", have.timestamp_end, want.timestamp_end),
            ("events_discarded", have.events_discarded, want.events_discarded),
            ("crc32", have.crc32.into(), want.crc32.into()),
            ("header_len", have.header_len.into(), want.header_len.into()),
            ("version_major", have.version_major.into(), want.version_major.into()),
            ("version_minor", have.version_minor.into(), want.version_minor.into()),
        ];
        let differing: Vec<String> = fields
            .iter()
            .filter(|(_, have, want)| have != want)
            .map(|(name, have, want)| format!("{name} {have} where the packet has {want}"))
            .collect();
        return Some(format!("entry {number} (packet at {}): {}", want.offset, differing.join(", ")));
    }
    (stored.entries.len() != expected.entries.len()).then(|| {
        format!("{} entries for the file's {} packets", stored.entries.len(), expected.entries.len())
    })
}
