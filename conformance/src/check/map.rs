//! Maps each reader [`Diagnostic`] to the requirement it shows broken, and to a severity.

use tracemark_format::{HeaderError, MetadataErrorKind};
use tracemark_reader::{Diagnostic, DiagnosticKind, MalformedReason};

use super::{rules::Facts, Finding, Severity};

/// The requirement, severity and rule name of a diagnostic. `facts` tells apart what the
/// diagnostic alone cannot: a byte order mismatch of a packet from one of the TRACE record, a
/// first record's timestamp before its packet's from a later one going back, a metadata
/// record spanning packets from one whose fields overrun it.
pub fn classify(
    kind: &DiagnosticKind,
    file: &str,
    offset: u64,
    facts_view: &dyn FactsView,
) -> (&'static str, Severity, &'static str) {
    use DiagnosticKind as K;
    use Severity::{Error, Notice};
    let (requirement, severity) = match kind {
        K::DiscardedEvents { .. } => ("R-10.1-2", Notice),
        K::DiscardCounterBackwards { .. } => ("R-10.1-1", Error),
        K::PacketGap { .. } => ("R-10.2-1", Notice),
        K::SequenceNotIncreasing { previous, found } if found == previous => ("R-1.6-1", Error),
        K::SequenceNotIncreasing { .. } => ("R-1.7-2", Error),
        K::CrcMismatch { .. } => ("R-4.4-1", Error),
        K::CrcUnchecked => ("R-10.4-2", Notice),
        K::TruncatedPacket { .. } => ("R-10.4-1", Error),
        K::BadHeader(error) => (header_requirement(error), Error),
        K::Resynchronized { .. } => ("R-10.6-2", Notice),
        K::UndeclaredEvent { .. } => ("R-7.6-5", Error),
        K::UndecodableEvent { .. } => ("R-7.7-2", Error),
        K::Malformed { reason, .. } => (malformed_requirement(reason), Error),
        K::TimestampBackwards { .. } if facts_view.is_first_record(file, offset) => ("R-4.5-1", Error),
        K::TimestampBackwards { .. } => ("R-1.7-1", Error),
        K::PacketTimestampsReversed { .. } | K::TimestampOutsidePacket { .. } => ("R-4.5-1", Error),
        K::PacketOverlap { .. } => ("R-4.5-2", Error),
        K::ForeignUuid { .. } => ("R-4.6-2", Error),
        K::ByteOrderMismatch { .. } if facts_view.is_packet_start(file, offset) => ("R-2.3-1", Error),
        K::ByteOrderMismatch { .. } => ("R-2.3-2", Error),
        K::TraceByteOrder { .. } => ("R-2.3-2", Error),
        K::Metadata(error) => {
            let spanning = facts_view.is_spanning_record(file, offset);
            (metadata_requirement(&error.kind, spanning), Error)
        }
        K::IdentityMismatch { .. } => ("R-7.8-1", Error),
        K::ConflictingDeclaration { what: tracemark_reader::Declaration::Trace, .. } => ("R-7.3-1", Error),
        K::ConflictingDeclaration { .. } => ("R-7.6-7", Error),
        K::TraceRecordNotFirst => ("R-7.3-1", Error),
        K::UndeclaredStreamClass { .. } => ("R-1.2-1", Error),
        K::UndeclaredClock { .. } => ("R-7.5-1", Error),
        K::MixedStreamFile { .. } | K::MisplacedPacket => ("R-9.1-2", Error),
        K::IndexDisagrees { .. } => ("R-14.4-2", Error),
        K::CompressedPacket(error) => (compression_requirement(error), Error),
        K::ProgressIgnored(_) => ("R-9.5-2", Severity::Warning),
        K::EventsNotDelivered { .. } => ("R-9.5-2", Notice),
        _ => ("R-10.6-1", Error),
    };
    let rule = rule_name(kind).unwrap_or("reader/other");
    (requirement, severity, rule)
}

/// What [`classify`] asks of the raw pass.
pub trait FactsView {
    /// Whether a valid packet header starts at `offset` of `file`.
    fn is_packet_start(&self, file: &str, offset: u64) -> bool;
    /// Whether a packet's first record starts at `offset` of `file`.
    fn is_first_record(&self, file: &str, offset: u64) -> bool;
    /// Whether a metadata record whose envelope runs past its packet's content starts there.
    fn is_spanning_record(&self, file: &str, offset: u64) -> bool;
}

impl FactsView for Facts {
    fn is_packet_start(&self, file: &str, offset: u64) -> bool {
        Facts::is_packet_start(self, file, offset)
    }

    fn is_first_record(&self, file: &str, offset: u64) -> bool {
        Facts::is_first_record(self, file, offset)
    }

    fn is_spanning_record(&self, file: &str, offset: u64) -> bool {
        Facts::is_spanning_record(self, file, offset)
    }
}

/// The rule a compressed packet that cannot be read breaks (§15).
fn compression_requirement(error: &tracemark_format::compress::CompressionError) -> &'static str {
    use tracemark_format::compress::CompressionError as E;
    match error {
        E::Metadata => "R-15.1-2",
        E::TooLarge { .. } => "R-15.2-1",
        _ => "R-15.1-1",
    }
}

fn rule_name(kind: &DiagnosticKind) -> Option<&'static str> {
    let name = kind.name();
    super::rules::RULES
        .iter()
        .find(|rule| rule.name.strip_prefix("reader/") == Some(name))
        .map(|rule| rule.name)
}

pub(crate) fn header_requirement(error: &HeaderError) -> &'static str {
    match error {
        // Fewer than 4 bytes cannot hold a magic: not a packet, bytes skipped (§10.6).
        HeaderError::Truncated { available } if *available < 4 => "R-10.6-1",
        HeaderError::Truncated { .. } => "R-10.4-1",
        HeaderError::UnsupportedMajor { .. } => "R-11.3-1",
        HeaderError::HeaderLength { .. } => "R-4.2-1",
        HeaderError::PacketSize { .. } => "R-4.2-2",
        HeaderError::ContentSize { .. } => "R-4.2-3",
        HeaderError::IncompatibleFlags { .. } => "R-4.3-1",
        // Bad magic, and kinds of a later format crate: an invalid header, reported (§10.6).
        _ => "R-10.6-1",
    }
}

fn malformed_requirement(reason: &MalformedReason) -> &'static str {
    match reason {
        MalformedReason::ExtendedHeaderBits => "R-5.3-1",
        MalformedReason::UnterminatedString => "R-6.5-3",
        MalformedReason::BlobPastEnd { .. }
        | MalformedReason::SequencePastEnd { .. }
        | MalformedReason::ArrayPastEnd { .. } => "R-6.7-2",
        MalformedReason::BadBool(_) => "R-6.2-1",
        // A record running past the content: reported with its offset and reason (§10.5).
        _ => "R-10.5-1",
    }
}

pub(crate) fn metadata_requirement(kind: &MetadataErrorKind, spanning: bool) -> &'static str {
    match kind {
        MetadataErrorKind::Truncated if spanning => "R-7.1-1",
        MetadataErrorKind::Truncated | MetadataErrorKind::TooLong(_) => "R-7.2-3",
        MetadataErrorKind::InvalidUtf8 => "R-7.2-4",
        MetadataErrorKind::InvalidName(name) if name.is_empty() => "R-7.2-6",
        MetadataErrorKind::InvalidName(_) => "R-7.2-5",
        MetadataErrorKind::DuplicateField(_) => "R-7.7-1",
        MetadataErrorKind::UnknownTypeCode(_) => "R-7.7-2",
        MetadataErrorKind::EnumRepr(_) => "R-6.6-1",
        MetadataErrorKind::ZeroSizedElement => "R-6.7-3",
        MetadataErrorKind::TooDeep => "R-6.7-1",
        MetadataErrorKind::ByteOrderCode(_) => "R-2.3-2",
        MetadataErrorKind::AbiSize(_) => "R-3.2-1",
        MetadataErrorKind::LayoutKind(_) => "R-7.6-4",
        MetadataErrorKind::Marker(_) => "R-8.2-1",
        MetadataErrorKind::ZeroFrequency => "R-7.4-1",
        MetadataErrorKind::EnvValueKind(_) => "R-7.9-1",
        MetadataErrorKind::IndexEntryLen(_) => "R-14.2-2",
        MetadataErrorKind::CheckMismatch { .. } => "R-7.2-8",
        MetadataErrorKind::UncheckedNotUsed { .. } | MetadataErrorKind::NoCheckedRecord { .. } => "R-7.2-9",
        _ => "R-7.2-3",
    }
}

/// The finding for a diagnostic, its file renamed by `rename`.
pub(crate) fn finding(diagnostic: &Diagnostic, facts: &Facts, rename: &dyn Fn(&str) -> String) -> Finding {
    // Facts know files by their display name.
    let file = rename(&diagnostic.file);
    let (requirement, severity, rule) = classify(&diagnostic.kind, &file, diagnostic.offset, facts);
    Finding {
        requirement,
        severity,
        rule,
        file,
        offset: diagnostic.offset,
        stream: diagnostic.stream,
        sequence: diagnostic.sequence,
        message: diagnostic.kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use tracemark_format::{metadata::kind, ByteOrder, MetadataError};
    use tracemark_reader::{Declaration, StreamId};

    use super::*;

    struct NoFacts;

    impl FactsView for NoFacts {
        fn is_packet_start(&self, _: &str, offset: u64) -> bool {
            offset == 0
        }
        fn is_first_record(&self, _: &str, offset: u64) -> bool {
            offset == 80
        }
        fn is_spanning_record(&self, _: &str, offset: u64) -> bool {
            offset == 200
        }
    }

    /// One diagnostic of every kind the reader has, and the requirement each must map to.
    fn every_kind() -> Vec<(DiagnosticKind, u64, &'static str)> {
        use DiagnosticKind as K;
        let metadata = |kind: MetadataErrorKind| MetadataError {
            offset: 0,
            record_kind: kind::EVENT_CLASS,
            event_id: None,
            kind,
        };
        let malformed = |reason| K::Malformed { event_id: Some(1), reason };
        vec![
            (K::DiscardedEvents { count: 1, from_ts: None, to_ts: 2 }, 0, "R-10.1-2"),
            (K::DiscardCounterBackwards { previous: 2, found: 1 }, 0, "R-10.1-1"),
            (K::PacketGap { missing: 1 }, 0, "R-10.2-1"),
            (K::SequenceNotIncreasing { previous: 1, found: 1 }, 0, "R-1.6-1"),
            (K::SequenceNotIncreasing { previous: 2, found: 1 }, 0, "R-1.7-2"),
            (K::CrcMismatch { expected: 1, found: 2 }, 0, "R-4.4-1"),
            (K::CrcUnchecked, 0, "R-10.4-2"),
            (K::TruncatedPacket { available: 1, needed: 2 }, 0, "R-10.4-1"),
            (K::BadHeader(HeaderError::Truncated { available: 3 }), 0, "R-10.6-1"),
            (K::BadHeader(HeaderError::Truncated { available: 40 }), 0, "R-10.4-1"),
            (K::BadHeader(HeaderError::BadMagic { found: [0; 4] }), 0, "R-10.6-1"),
            (K::BadHeader(HeaderError::UnsupportedMajor { found: 2 }), 0, "R-11.3-1"),
            (K::BadHeader(HeaderError::HeaderLength { header_len: 3 }), 0, "R-4.2-1"),
            (K::BadHeader(HeaderError::PacketSize { packet_size: 3, header_len: 80 }), 0, "R-4.2-2"),
            (
                K::BadHeader(HeaderError::ContentSize { content_size: 9, header_len: 80, packet_size: 8 }),
                0,
                "R-4.2-3",
            ),
            (K::BadHeader(HeaderError::IncompatibleFlags { flags: 4 }), 0, "R-4.3-1"),
            (K::Resynchronized { skipped_bytes: 8, found_header: true }, 0, "R-10.6-2"),
            (K::UndeclaredEvent { id: 1 }, 0, "R-7.6-5"),
            (K::UndecodableEvent { id: 1 }, 0, "R-7.7-2"),
            (malformed(MalformedReason::HeaderPastEnd { remaining: 1 }), 0, "R-10.5-1"),
            (malformed(MalformedReason::ExtendedHeaderBits), 0, "R-5.3-1"),
            (malformed(MalformedReason::PastEnd { needed: 4, remaining: 1 }), 0, "R-10.5-1"),
            (malformed(MalformedReason::UnterminatedString), 0, "R-6.5-3"),
            (malformed(MalformedReason::BlobPastEnd { len: 9, remaining: 1 }), 0, "R-6.7-2"),
            (
                malformed(MalformedReason::SequencePastEnd { count: 9, min_element_size: 1, remaining: 1 }),
                0,
                "R-6.7-2",
            ),
            (
                malformed(MalformedReason::ArrayPastEnd { len: 9, min_element_size: 1, remaining: 1 }),
                0,
                "R-6.7-2",
            ),
            (malformed(MalformedReason::BadBool(2)), 0, "R-6.2-1"),
            (K::TimestampBackwards { previous: 2, found: 1 }, 80, "R-4.5-1"),
            (K::TimestampBackwards { previous: 2, found: 1 }, 96, "R-1.7-1"),
            (K::PacketTimestampsReversed { begin: 2, end: 1 }, 0, "R-4.5-1"),
            (K::PacketOverlap { previous_end: 2, begin: 1 }, 0, "R-4.5-2"),
            (K::TimestampOutsidePacket { timestamp: 2, end: 1 }, 0, "R-4.5-1"),
            (K::ForeignUuid { found: [0; 16] }, 0, "R-4.6-2"),
            (K::ByteOrderMismatch { found: ByteOrder::Big, expected: ByteOrder::Little }, 0, "R-2.3-1"),
            (K::ByteOrderMismatch { found: ByteOrder::Big, expected: ByteOrder::Little }, 88, "R-2.3-2"),
            (K::TraceByteOrder { stated: ByteOrder::Big, packet: ByteOrder::Little }, 104, "R-2.3-2"),
            (K::Metadata(metadata(MetadataErrorKind::Truncated)), 200, "R-7.1-1"),
            (K::Metadata(metadata(MetadataErrorKind::Truncated)), 208, "R-7.2-3"),
            (K::Metadata(metadata(MetadataErrorKind::InvalidUtf8)), 0, "R-7.2-4"),
            (K::Metadata(metadata(MetadataErrorKind::InvalidName("1x".into()))), 0, "R-7.2-5"),
            (K::Metadata(metadata(MetadataErrorKind::InvalidName(String::new()))), 0, "R-7.2-6"),
            (K::Metadata(metadata(MetadataErrorKind::DuplicateField("x".into()))), 0, "R-7.7-1"),
            (K::Metadata(metadata(MetadataErrorKind::UnknownTypeCode(0x7e))), 0, "R-7.7-2"),
            (K::Metadata(metadata(MetadataErrorKind::EnumRepr(0x0a))), 0, "R-6.6-1"),
            (K::Metadata(metadata(MetadataErrorKind::ZeroSizedElement)), 0, "R-6.7-3"),
            (K::Metadata(metadata(MetadataErrorKind::TooDeep)), 0, "R-6.7-1"),
            (K::Metadata(metadata(MetadataErrorKind::ByteOrderCode(2))), 0, "R-2.3-2"),
            (K::Metadata(metadata(MetadataErrorKind::AbiSize([3; 6]))), 0, "R-3.2-1"),
            (K::Metadata(metadata(MetadataErrorKind::LayoutKind(2))), 0, "R-7.6-4"),
            (
                K::Metadata(metadata(MetadataErrorKind::Marker(
                    tracemark_format::marker::MarkerError::Syntax { at: 0 },
                ))),
                0,
                "R-8.2-1",
            ),
            (K::Metadata(metadata(MetadataErrorKind::ZeroFrequency)), 0, "R-7.4-1"),
            (K::Metadata(metadata(MetadataErrorKind::EnvValueKind(2))), 0, "R-7.9-1"),
            (K::Metadata(metadata(MetadataErrorKind::TooLong("x"))), 0, "R-7.2-3"),
            (K::IdentityMismatch { id: 1, recorded: 1, computed: 2 }, 0, "R-7.8-1"),
            (K::ConflictingDeclaration { what: Declaration::Trace, id: 0 }, 0, "R-7.3-1"),
            (K::ConflictingDeclaration { what: Declaration::EventClass, id: 1 }, 0, "R-7.6-7"),
            (K::ConflictingDeclaration { what: Declaration::Clock, id: 1 }, 0, "R-7.6-7"),
            (K::TraceRecordNotFirst, 0, "R-7.3-1"),
            (K::UndeclaredStreamClass { id: 1 }, 0, "R-1.2-1"),
            (K::UndeclaredClock { stream_class: 1, clock_id: 2 }, 0, "R-7.5-1"),
            (K::MixedStreamFile { first: StreamId { class: 0, instance: 1 } }, 0, "R-9.1-2"),
            (K::MisplacedPacket, 0, "R-9.1-2"),
            (K::IndexDisagrees { field: "timestamp_end" }, 0, "R-14.4-2"),
            (K::CompressedPacket(tracemark_format::compress::CompressionError::Metadata), 0, "R-15.1-2"),
            (
                K::CompressedPacket(tracemark_format::compress::CompressionError::TooLarge {
                    records_size: 9,
                    compressed: 0,
                }),
                0,
                "R-15.2-1",
            ),
            (
                K::CompressedPacket(tracemark_format::compress::CompressionError::UnknownCodec(7)),
                0,
                "R-15.1-1",
            ),
        ]
    }

    #[test]
    fn every_diagnostic_kind_maps_to_a_listed_requirement_of_its_rule() {
        for (kind, offset, expected) in every_kind() {
            let (requirement, _, rule) = classify(&kind, "f", offset, &NoFacts);
            assert_eq!(requirement, expected, "{kind:?}");
            assert_ne!(rule, "reader/other", "{kind:?} has no rule of its own");
            let info = super::super::rules::rule_info(rule).unwrap();
            assert!(info.requirements.contains(&requirement), "{rule} does not list {requirement}");
            assert!(crate::requirements::get(requirement).is_some(), "{requirement} is not in the spec");
        }
    }

    #[test]
    fn loss_the_trace_records_is_a_notice_and_damage_an_error() {
        let severity = |kind| classify(&kind, "f", 0, &NoFacts).1;
        assert_eq!(severity(DiagnosticKind::PacketGap { missing: 3 }), Severity::Notice);
        assert_eq!(
            severity(DiagnosticKind::DiscardedEvents { count: 1, from_ts: None, to_ts: 0 }),
            Severity::Notice
        );
        assert_eq!(severity(DiagnosticKind::CrcMismatch { expected: 0, found: 1 }), Severity::Error);
        assert_eq!(severity(DiagnosticKind::TruncatedPacket { available: 0, needed: 8 }), Severity::Error);
    }
}
