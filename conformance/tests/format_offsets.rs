//! Where the format crate locates a malformed metadata record. Findings cite these offsets
//! (§10.7: "the byte offset in its container file"), so they must point into the record.

use tracemark_format::{
    metadata::ENVELOPE_LEN, ByteOrder, MetadataErrorKind, Record, RecordIter, StreamClass,
};

/// A STREAM_CLASS record whose name runs 3 bytes past its `body_len`, then a valid record.
fn overrun_then_valid() -> (Vec<u8>, usize) {
    let order = ByteOrder::Little;
    let mut content = Vec::new();
    Record::StreamClass(StreamClass { id: 6, clock_id: 0, name: "short".into() })
        .encode(order, &mut content)
        .unwrap();
    let body_len = content.len() - ENVELOPE_LEN - 3;
    content.truncate(ENVELOPE_LEN + body_len);
    content[4..8].copy_from_slice(&order.u32_bytes(body_len as u32));
    let first_len = content.len();
    Record::StreamClass(StreamClass { id: 7, clock_id: 0, name: "next".into() })
        .encode(order, &mut content)
        .unwrap();
    (content, first_len)
}

#[test]
fn the_next_record_is_read_after_a_body_overrun() {
    let (content, _) = overrun_then_valid();
    let items: Vec<_> = RecordIter::new(&content, ByteOrder::Little).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap_err().kind, MetadataErrorKind::Truncated);
    assert!(matches!(items[1], Ok((_, Record::StreamClass(StreamClass { id: 7, .. })))));
}

#[test]
fn a_body_overrun_is_located_inside_its_record() {
    let (content, first_len) = overrun_then_valid();
    let error = RecordIter::new(&content, ByteOrder::Little).next().unwrap().unwrap_err();
    assert!(error.offset < first_len, "reported at {}, the record spans [0, {first_len})", error.offset);
}
