//! Targets over raw bytes: the packet header, metadata records, marker format strings and a
//! whole single-file trace. Each must never panic, must stay within the reader limits of §12
//! ([`crate::alloc_guard`]), and must keep the invariants checked here.

use std::borrow::Cow;

use tracemark_format::{
    crc::packet_crc,
    index,
    marker::{self, MarkerArg},
    metadata::{ENVELOPE_LEN, RECORD_CHECKED, RECORD_CHECK_LEN},
    ByteOrder, PacketHeader, Record, RecordIter, PACKET_HEADER_LEN,
};
use tracemark_reader::{steps, Item, Trace, Value};

use crate::alloc_guard::{self, Budget};

/// `packet_header`: [`PacketHeader::decode`] on any bytes. A header it accepts encodes back
/// to exactly the 80 bytes it was read from, and passes validation; a rejection cites a
/// section. The CRC routine takes any `content_size`.
pub fn packet_header(data: &[u8]) {
    alloc_guard::bounded(Budget::for_input(data.len()), || {
        match PacketHeader::decode(data) {
            Ok((header, order)) => {
                assert_eq!(PacketHeader::detect_byte_order(data), Ok(order));
                assert_eq!(header.validate(), Ok(()));
                let mut encoded = [0u8; PACKET_HEADER_LEN];
                header.encode(order, &mut encoded);
                assert_eq!(&encoded[..], &data[..PACKET_HEADER_LEN], "decode then encode changed the header");
                let crc = packet_crc(data, header.content_size as usize);
                assert_eq!(crc.is_some(), header.content_size as usize <= data.len());
            }
            Err(error) => {
                assert!(!error.section().is_empty());
                let _ = error.to_string();
            }
        }
        // Any claimed content size, in or out of range.
        if let Some(claimed) = data.get(..4) {
            let claimed = u32::from_le_bytes([claimed[0], claimed[1], claimed[2], claimed[3]]);
            let _ = packet_crc(data, claimed as usize);
        }
    });
}

/// `metadata`: the first byte picks the byte order, the rest is a metadata packet's content
/// for [`RecordIter`]. Every record decoded re-encodes to the bytes it was decoded from (a
/// body may carry trailing bytes a later minor version defines, §11.2, which are skipped) and
/// decodes again to itself; offsets only move forward. The same content, framed as the
/// metadata packet of a trace, then goes through the reader.
pub fn metadata(data: &[u8]) {
    let Some((&order_byte, content)) = data.split_first() else { return };
    let order = if order_byte & 1 == 0 { ByteOrder::Little } else { ByteOrder::Big };
    alloc_guard::bounded(Budget::for_input(data.len()), || {
        let mut end_of_previous = 0;
        for item in RecordIter::new(content, order) {
            match item {
                Ok((offset, record)) => {
                    assert!(offset >= end_of_previous, "record offsets went backwards");
                    let body_len =
                        order.read_u32(&content[offset + 4..]).expect("envelope was read") as usize;
                    end_of_previous = offset + ENVELOPE_LEN + body_len;
                    let original = &content[offset..end_of_previous];
                    check_record(&record, original, order);
                }
                Err(error) => {
                    assert!(error.offset <= content.len(), "error offset past the content");
                    assert!(!error.kind.section().is_empty());
                    let _ = error.to_string();
                }
            }
        }
        // As content whose packet CRC failed (§7.2): only records whose check matches, each
        // after the last, the search for them bounded.
        let mut after = 0;
        for (offset, _) in RecordIter::untrusted(content, order).filter_map(Result::ok) {
            assert!(offset >= after, "untrusted record offsets went backwards");
            after = offset + ENVELOPE_LEN;
        }
        drain_trace(&metadata_packet(content, order));
    });
}

/// A metadata packet of the fuzz trace UUID holding `content`, without CRC.
pub fn metadata_packet(content: &[u8], order: ByteOrder) -> Vec<u8> {
    let content_size = PACKET_HEADER_LEN.saturating_add(content.len());
    let packet_size = content_size.next_multiple_of(8);
    let (Ok(content_size), Ok(packet_size)) = (u32::try_from(content_size), u32::try_from(packet_size))
    else {
        return Vec::new();
    };
    let header = PacketHeader { content_size, packet_size, ..PacketHeader::new_metadata([0; 16]) };
    let mut packet = vec![0u8; packet_size as usize];
    let mut fixed = [0u8; PACKET_HEADER_LEN];
    header.encode(order, &mut fixed);
    packet[..PACKET_HEADER_LEN].copy_from_slice(&fixed);
    packet[PACKET_HEADER_LEN..content_size as usize].copy_from_slice(content);
    packet
}

fn check_record(record: &Record, original: &[u8], order: ByteOrder) {
    let mut encoded = Vec::new();
    if let Record::Unknown { body_len, .. } = record {
        // A record's check (§7.2) is not part of the body it yields.
        let flags = order.read_u16(&original[2..]).expect("envelope was read");
        let check = if flags & RECORD_CHECKED != 0 { RECORD_CHECK_LEN } else { 0 };
        assert_eq!(*body_len as usize, original.len() - ENVELOPE_LEN - check);
        return;
    }
    record.encode(order, &mut encoded).expect("a decoded record encodes");
    assert_eq!(encoded[..2], original[..2], "the kind changed");
    if let Record::Index(_) = record {
        // An index may hold bytes a later minor version defines, inside entries and before
        // `index_offset` (§14.2): it re-encodes to itself, not to its source.
        let again: Vec<_> = RecordIter::new(&encoded, order).collect();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].as_ref().map(|(_, decoded)| decoded), Ok(record));
        return;
    }
    let body = &encoded[ENVELOPE_LEN..];
    let original_body = &original[ENVELOPE_LEN..];
    assert!(body.len() <= original_body.len(), "re-encoded record is longer than its source");
    assert_eq!(body, &original_body[..body.len()], "decode then encode changed the record");
    let again: Vec<_> = RecordIter::new(&encoded, order).collect();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].as_ref().map(|(_, decoded)| decoded), Ok(record));
    if let Record::EventClass(class) = record {
        let _ = class.identity_matches();
        if let Ok(fields) = class.fields() {
            for field in fields.iter() {
                let _ = (field.ty.depth(), field.ty.min_size(&crate::gen::SMALLEST_ABI));
                let _ = field.ty.fixed_size(&tracemark_format::Abi::HOST);
            }
        }
        let _ = class.marker_args();
    }
}

/// `index`: [`index::decode_packet`] and [`index::trailing_offset`] on any bytes. An index
/// packet it accepts re-encodes to a packet that decodes to the same index, and re-encoding
/// that one gives the same bytes again (what a reader ignores, the header's timestamps or the
/// filler before `index_offset`, is written one way); a rejection says why.
pub fn index(data: &[u8]) {
    alloc_guard::bounded(Budget::for_input(data.len()), || {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            if let Some(offset) = index::trailing_offset(data, order) {
                assert!(offset as usize + index::TAIL_LEN <= data.len());
            }
        }
        match index::decode_packet(data) {
            Ok((header, decoded)) => {
                let order = PacketHeader::detect_byte_order(data).expect("a decoded header has a magic");
                let packet = index::encode_packet(&decoded, header.trace_uuid, order, header.sequence);
                let (_, again) = index::decode_packet(&packet).expect("a re-encoded index decodes");
                assert_eq!(again, decoded, "encode then decode changed the index");
                let again_packet = index::encode_packet(&again, header.trace_uuid, order, header.sequence);
                assert_eq!(again_packet, packet, "re-encoding a re-encoded index changed it");
                let _ = decoded.tiles_its_file();
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    });
}

/// `compressed`: the records of a compressed packet (§15) from any content, the first byte
/// choosing the byte order. Nothing is allocated beyond 64 times the input (§15.2); records
/// that decompress are exactly `records_size` bytes, and compress back, with either codec, to
/// a content that decompresses to them.
pub fn compressed(data: &[u8]) {
    use tracemark_format::compress::{Codec, Descriptor, DESCRIPTOR_LEN, MAX_RATIO};
    let Some((&first, content)) = data.split_first() else { return };
    let order = if first & 1 == 0 { ByteOrder::Little } else { ByteOrder::Big };
    alloc_guard::bounded(Budget::for_input(data.len()), || {
        let records = match tracemark_reader::decompress_records(content, order, 80) {
            Ok(records) => records,
            Err(error) => {
                let _ = (error.to_string(), error.section());
                return;
            }
        };
        let (descriptor, compressed) =
            Descriptor::decode(content, order, 80).expect("decompressed, so it decodes");
        assert_eq!(records.len(), descriptor.records_size as usize);
        assert!(records.len() as u64 <= compressed.len() as u64 * MAX_RATIO);
        for codec in [Codec::Zstd, Codec::Lz4] {
            let again = match codec {
                Codec::Zstd => zstd::bulk::compress(&records, 1).expect("zstd compresses"),
                Codec::Lz4 => lz4_flex::block::compress(&records),
            };
            if !Descriptor::fits(records.len(), again.len(), 80) {
                continue;
            }
            let mut content = vec![0u8; DESCRIPTOR_LEN];
            Descriptor { codec, records_size: records.len() as u32 }.encode(order, &mut content);
            content.extend_from_slice(&again);
            let back =
                tracemark_reader::decompress_records(&content, order, 80).expect("its own compression");
            assert!(back == records, "{codec:?} round trip changed the records");
        }
    });
}

/// `format_string`: [`marker::parse`] on any text. A string it accepts re-renders, with one
/// canonical conversion per argument, to a string that parses to the same arguments. The C
/// probe writer's parser must accept exactly the same strings (`cdiff.rs`).
pub fn format_string(data: &[u8]) {
    // Invalid UTF-8 becomes U+FFFD: at most 3 bytes of text per input byte.
    let text = String::from_utf8_lossy(data);
    alloc_guard::bounded(Budget::for_input(data.len() * 3), || {
        let parsed = marker::parse(&text);
        if let Ok(args) = &parsed {
            let canonical = canonical_format(args);
            assert_eq!(marker::parse(&canonical).as_ref(), Ok(args), "canonical form {canonical:?}");
        }
        if let Err(error) = &parsed {
            let _ = error.to_string();
        }
        if let Cow::Borrowed(text) = text {
            crate::cdiff::format_string(text, parsed.ok());
        }
    });
}

/// Every conversion of §8.2, in the order the canonical form prefers them.
fn all_conversions() -> impl Iterator<Item = String> {
    let lengths = ["", "hh", "h", "l", "ll", "z", "j", "t"];
    let specs = ["d", "u", "x", "o", "c", "s", "p", "f", "i", "X", "e", "g"];
    lengths.into_iter().flat_map(move |length| specs.into_iter().map(move |spec| format!("{length}{spec}")))
}

/// The first conversion giving `arg`'s type and display hint.
pub fn canonical_conversion(arg: &MarkerArg) -> String {
    all_conversions()
        .find(|conv| marker::conversion(conv) == Some((arg.field.ty.clone(), arg.hint)))
        .unwrap_or_else(|| panic!("no conversion gives {arg:?}"))
}

/// `name %conv` pairs separated by one space.
pub fn canonical_format(args: &[MarkerArg]) -> String {
    let pairs: Vec<String> =
        args.iter().map(|arg| format!("{} %{}", arg.field.name, canonical_conversion(arg))).collect();
    pairs.join(" ")
}

/// `trace`: a whole single-file trace through [`Trace::from_bytes`], every event's fields
/// displayed and serialized, the summary, the per-stream iterators. Events and diagnostics
/// lie within the input; the merged iteration delivers exactly the events of the streams.
pub fn trace(data: &[u8]) {
    alloc_guard::bounded(Budget::for_input(data.len()), || drain_trace(data));
}

/// Reads `data` as a single-file trace and checks it as [`trace`] does.
pub fn drain_trace(data: &[u8]) {
    let Ok(trace) = Trace::from_bytes(data.to_vec()) else { return };
    let len = data.len() as u64;
    let _ = serde_json::to_string(&trace.summary()).expect("the summary serializes");
    for class in trace.metadata().event_classes() {
        let _ = (class.fields(), trace.metadata().display_hints(class.id));
    }
    let mut merged_events = 0usize;
    for item in trace.events() {
        match item {
            Item::Event(event) => {
                merged_events += 1;
                // A record of a compressed packet (§15) has no bytes of its own in the input:
                // its offset is the packet's compressed content, its bytes decompressed ones.
                let end = if event.is_compressed() {
                    event.offset() + 1
                } else {
                    event.offset() + event.record_bytes().len() as u64
                };
                assert!(end <= len, "event past the input");
                let declared = event.class().fields().ok();
                // §13.4: decoding a record of B payload bytes visits at most D + 33 × B types.
                let _ = steps::take();
                let decoded = event.fields().len();
                let visited = steps::take();
                let types = declared
                    .as_deref()
                    .map_or(0, |fields| fields.iter().map(|field| types_in(&field.ty)).sum());
                let bound = types + 33 * event.payload().len() as u64;
                assert!(visited <= bound, "decoding visited {visited} types, over D + 33 × B = {bound}");
                assert_eq!(
                    Some(decoded),
                    declared.map(|fields| fields.len()),
                    "fields decoded != fields declared"
                );
                let _ = event.to_string();
                let _ = serde_json::to_string(&event).expect("an event serializes");
                let hints = event.display_hints().unwrap_or(&[]);
                for (index, (_, value)) in event.fields().iter().enumerate() {
                    if let Some(hint) = hints.get(index) {
                        let _ = value.display(*hint).to_string();
                    }
                    visit(value);
                }
            }
            Item::Diagnostic(diagnostic) => {
                assert!(diagnostic.offset <= len, "diagnostic past the input: {diagnostic}");
                assert!(diagnostic.section.starts_with(|c: char| c.is_ascii_digit()), "{diagnostic}");
                let _ = diagnostic.to_string();
                let _ = serde_json::to_string(&diagnostic).expect("a diagnostic serializes");
            }
        }
    }
    let stream_events: usize = trace.streams().map(|stream| stream.filter_map(Item::event).count()).sum();
    assert_eq!(merged_events, stream_events, "merging lost or duplicated events");
    cut_whole_span(&trace, len);
}

/// A window over the trace's whole span, and its cut (`tracemark cut`): the window, when it
/// walks, delivers no more than a whole read does; the cut is bounded by the input (a record's header grows by at
/// most 12 bytes when rewritten, a record takes at least 8) and reads back.
fn cut_whole_span(trace: &Trace, len: u64) {
    let Some((start, end)) = trace.time_span() else { return };
    let window = trace.events_between(start, end).filter_map(Item::event).count();
    let timed = trace
        .events()
        .filter_map(Item::event)
        .filter(|event| event.unix_ns().is_some_and(|ns| (start..=end).contains(&ns)))
        .count();
    // Through an index, the window reads packets a walk may not reach (an entry about a packet it
    // does not read is not checked, §14.4); walking, it reads only what a whole read does.
    if !trace.reads_through_index() {
        assert!(window <= timed, "a window delivered {window} events, a whole read {timed} in it");
    }
    let mut out = Vec::new();
    let summary =
        tracemark_export::write_cut(trace, start, end, &mut out).expect("a cut into memory is written");
    assert_eq!(summary.bytes, out.len() as u64);
    assert!(out.len() as u64 <= 3 * len + 1024, "a cut of {} bytes from {len}", out.len());
    if let Ok(cut) = Trace::from_bytes(out) {
        for item in cut.events() {
            let _ = item.event().map(|event| event.fields().len());
        }
    }
}

/// The types in a declaration: the type itself and every type inside it (D in §13.4).
fn types_in(ty: &tracemark_format::TypeDesc) -> u64 {
    use tracemark_format::TypeDesc;
    1 + match ty {
        TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => types_in(element),
        TypeDesc::Struct(fields) => fields.iter().map(|field| types_in(&field.ty)).sum(),
        _ => 0,
    }
}

/// Walks a value with the accessors tools use.
fn visit(value: &Value<'_>) {
    let _ = (value.as_u64(), value.as_i64(), value.as_str());
    if let Some(elements) = value.elements() {
        elements.iter().for_each(visit);
    }
    if let Value::Struct(fields) = value {
        for (name, member) in fields {
            assert!(value.field(name).is_some());
            visit(member);
        }
    }
}

/// `progress`: [`Progress::parse`](tracemark_format::progress::Progress::parse) on any bytes,
/// as a progress file beside a directory trace (§9.5) that a reader meets. An accepted file's
/// header encodes back to its bytes (flags and reserved bytes aside, which readers ignore),
/// its records lie whole within the input, one per `record_len` bytes after the header; a
/// rejection names an offset inside the header and cites §9.5.
pub fn progress(data: &[u8]) {
    use tracemark_format::progress::{Progress, HEADER_LEN};
    alloc_guard::bounded(Budget::for_input(data.len()), || match Progress::parse(data) {
        Ok(progress) => {
            let header = progress.header;
            let mut encoded = header.encode(progress.order);
            encoded[6..8].copy_from_slice(&data[6..8]);
            assert_eq!(&encoded[..12], &data[..12], "decode then encode changed the header");
            assert_eq!(&encoded[16..32], &data[16..32], "decode then encode changed the UUID");
            let record_len = usize::from(header.record_len);
            assert_eq!(progress.streams(), (data.len() - HEADER_LEN) / record_len);
            let mut records = 0;
            for (instance, written) in progress.events_written() {
                let at = progress.record_offset(instance) as usize;
                assert!(at + record_len <= data.len(), "record {instance} past the input");
                assert_eq!(progress.order.read_u64(&data[at..]), Some(written));
                records += 1;
            }
            assert_eq!(records, progress.streams());
        }
        Err(error) => {
            assert!(error.offset() < HEADER_LEN as u64, "{error:?}");
            assert!(error.to_string().contains("§9.5"), "{error}");
        }
    });
}
