//! Where the format crate locates a malformed metadata record. Findings cite these offsets
//! (§10.7: the first byte of the value a finding is about), so they must point at the value.

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
fn a_body_overrun_is_located_at_the_value_that_runs_past() {
    let (content, first_len) = overrun_then_valid();
    let error = RecordIter::new(&content, ByteOrder::Little).next().unwrap().unwrap_err();
    assert!(error.offset < first_len, "reported at {}, the record spans [0, {first_len})", error.offset);
    // The name's `str`, after `stream_class_id` and `clock_id`: its length prefix, not the
    // missing bytes.
    assert_eq!(error.offset, ENVELOPE_LEN + 8);
}

#[test]
fn a_value_that_breaks_a_rule_is_located_at_its_first_byte() {
    let order = ByteOrder::Little;
    let clock = tracemark_format::ClockClass {
        id: 1,
        frequency: 1_000,
        offset_ns: 0,
        precision: 1,
        name: "c".into(),
        description: String::new(),
    };
    let mut zero = Vec::new();
    Record::Clock(clock.clone()).encode(order, &mut zero).unwrap();
    zero[ENVELOPE_LEN + 4..ENVELOPE_LEN + 12].fill(0);
    let error = RecordIter::new(&zero, order).next().unwrap().unwrap_err();
    assert_eq!((error.kind, error.offset), (MetadataErrorKind::ZeroFrequency, ENVELOPE_LEN + 4));

    let mut unnamed = Vec::new();
    Record::Clock(tracemark_format::ClockClass { name: String::new(), ..clock })
        .encode(order, &mut unnamed)
        .unwrap();
    let error = RecordIter::new(&unnamed, order).next().unwrap().unwrap_err();
    assert_eq!(
        (error.kind, error.offset),
        (MetadataErrorKind::InvalidName(String::new()), ENVELOPE_LEN + 28)
    );
}
