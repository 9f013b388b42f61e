//! Plans (references resolved) and decoding of hand-made packets and of damaged LTTng streams.

use tracemark_ctf::decode::Datum;
use tracemark_ctf::plan::{Node, Role};
use tracemark_ctf::{CtfTrace, EventError, TraceClass};

const KERNEL_STYLE: &str = include_str!("data/kernel-style.tsdl");

fn trace(text: &str) -> CtfTrace {
    CtfTrace::new(TraceClass::from_tsdl(text).unwrap())
}

/// A little-endian trace with one stream class whose packets have sizes and an 8-bit event ID.
fn with_events(events: &str) -> String {
    format!(
        "typealias integer {{ size = 8; align = 8; signed = false; }} := u8;\n\
         typealias integer {{ size = 16; align = 8; signed = false; }} := u16;\n\
         typealias integer {{ size = 32; align = 8; signed = false; }} := u32;\n\
         trace {{ major = 1; minor = 8; byte_order = le; packet.header := struct {{ u32 magic; u32 stream_id; }}; }};\n\
         stream {{ id = 0; packet.context := struct {{ u32 content_size; u32 packet_size; }}; \
         event.header := struct {{ u8 id; }}; }};\n{events}"
    )
}

fn packet(events: &[u8], padding: usize) -> Vec<u8> {
    let content = (16 + events.len()) as u32;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0xC1FC_1FC1u32.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&(content * 8).to_le_bytes());
    bytes.extend_from_slice(&((content + padding as u32) * 8).to_le_bytes());
    bytes.extend_from_slice(events);
    bytes.resize(bytes.len() + padding, 0xEE);
    bytes
}

/// Every event's field values, or the error that ended its packet.
fn decode_all(trace: &CtfTrace, bytes: &[u8]) -> Vec<Result<Vec<String>, String>> {
    let mut out = Vec::new();
    for packet in trace.packets(bytes) {
        let packet = match packet {
            Ok(packet) => packet,
            Err(error) => {
                out.push(Err(error.to_string()));
                continue;
            }
        };
        let mut events = trace.events(bytes, &packet);
        while let Some(event) = events.next() {
            out.push(match event {
                Ok(event) => Ok(event
                    .fields
                    .iter()
                    .map(|value| match value {
                        Datum::Text(text) => String::from_utf8_lossy(text).into_owned(),
                        other => format!("{other:?}"),
                    })
                    .collect()),
                Err(error) => Err(error.to_string()),
            });
        }
    }
    out
}

#[test]
fn sequences_and_variants_read_the_fields_they_name() {
    let trace = trace(&with_events(
        "event { name = seq; id = 1; fields := struct { u8 n; struct { u8 k; u16 v[k]; } s; u8 tail[event.fields.n]; }; };\n\
         event { name = var; id = 2; fields := struct { enum : u8 { A = 1, B = 2 } tag; variant <tag> { u8 A; string B; } v; }; };",
    ));
    let events = [
        &[1u8, 2, 1, 3, 0, 9, 9][..], // seq: n = 2, s.k = 1, s.v = [3], tail = [9, 9]
        &[2, 1, 7][..],               // var: tag A, v.A = 7
        &[2, 2, b'h', b'i', 0][..],   // var: tag B, v.B = "hi"
        &[1, 0, 0][..],               // seq: all empty
    ]
    .concat();
    let decoded = decode_all(&trace, &packet(&events, 5));
    let expected: Vec<Result<Vec<String>, String>> = vec![
        Ok([
            "Unsigned(2)",
            "Unsigned(1)",
            "Length(1)",
            "Unsigned(3)",
            "Length(2)",
            "Unsigned(9)",
            "Unsigned(9)",
        ]
        .map(String::from)
        .to_vec()),
        Ok(["Unsigned(1)", "Option(0)", "Unsigned(7)"].map(String::from).to_vec()),
        Ok(["Unsigned(2)", "Option(1)", "hi"].map(String::from).to_vec()),
        Ok(["Unsigned(0)", "Unsigned(0)", "Length(0)", "Length(0)"].map(String::from).to_vec()),
    ];
    assert_eq!(decoded, expected);
}

#[test]
fn kernel_style_references_resolve() {
    let trace = trace(KERNEL_STYLE);
    let plan = trace.stream_plan(0).unwrap().as_ref().unwrap();
    // The compact header's variant reads `id`, an enumeration, through a register.
    let Some(Node::Struct { fields, .. }) = &plan.event_header else { panic!() };
    let Node::Enum { register: Some(register), role: Some(Role::EventId), .. } = fields[0].node else {
        panic!()
    };
    let Node::Variant { selector, choices, .. } = &fields[1].node else { panic!() };
    assert_eq!(*selector, register);
    assert_eq!(choices, &[(0, 30, 0), (31, 31, 1)]);
    let poll = trace.class.events.iter().position(|event| event.name == "syscall_entry_poll").unwrap();
    let poll = plan
        .events
        .values()
        .find_map(|event| event.as_ref().ok().filter(|event| event.class == poll))
        .unwrap();
    let Some(Node::Struct { fields, .. }) = &poll.fields else { panic!() };
    let Node::Integer { register: Some(length_register), .. } = fields[1].node else { panic!() };
    assert!(matches!(fields[2].node, Node::Sequence { length, .. } if length == length_register));
}

#[test]
fn unreadable_types_fail_their_class_only() {
    let trace = trace(&with_events(
        "event { name = good; id = 1; fields := struct { u8 a; }; };\n\
         event { name = nowhere; id = 2; fields := struct { u8 a[missing]; }; };\n\
         event { name = empty; id = 3; fields := struct { struct { } nothing[4]; }; };\n\
         event { name = not_enum; id = 4; fields := struct { u8 t; variant <t> { u8 x; } v; }; };\n\
         event { name = later; id = 5; fields := struct { u8 a[event.fields.b]; u8 b; }; };",
    ));
    let plan = trace.stream_plan(0).unwrap().as_ref().unwrap();
    assert!(plan.events[&1].is_ok());
    let reason = |id: u64| plan.events[&id].as_ref().unwrap_err().to_string();
    assert!(reason(2).contains("`missing` names no field"), "{}", reason(2));
    assert!(reason(3).contains("elements that may take no bits"), "{}", reason(3));
    assert!(reason(4).contains("selector is not an enumeration"), "{}", reason(4));
    assert!(reason(5).contains("`event.fields.b` names no field decoded before it"), "{}", reason(5));
    // Events of a good class before one of a bad class are delivered; the bad one ends the
    // packet with its reason; the next packet is read.
    let mut bytes = packet(&[1, 7, 2, 0, 1, 8], 0);
    bytes.extend(packet(&[1, 9], 0));
    let decoded = decode_all(&trace, &bytes);
    assert_eq!(decoded[0], Ok(vec!["Unsigned(7)".to_owned()]));
    assert!(
        matches!(&decoded[1], Err(reason) if reason.contains("event ID 2") && reason.contains("missing")),
        "{decoded:?}"
    );
    assert_eq!(decoded[2], Ok(vec!["Unsigned(9)".to_owned()]));
    assert_eq!(decoded.len(), 3);
}

#[test]
fn hostile_lengths_are_refused_before_reading() {
    let trace = trace(&with_events("event { name = big; id = 1; fields := struct { u32 n; u32 v[n]; }; };"));
    let mut events = vec![1u8];
    events.extend_from_slice(&u32::MAX.to_le_bytes());
    events.extend_from_slice(&[0; 8]);
    let bytes = packet(&events, 0);
    let packets: Vec<_> = trace.packets(&bytes).collect::<Result<_, _>>().unwrap();
    let mut reader = trace.events(&bytes, &packets[0]);
    let error = reader.next().unwrap().unwrap_err();
    assert!(
        matches!(&error, EventError::Decode { error, .. } if error.to_string().contains("4294967295 elements of at least 32 bits")),
        "{error}"
    );
    assert!(reader.next().is_none());
}

#[test]
fn damaged_packets_end_the_stream_with_their_offset() {
    let trace = trace(&with_events("event { name = e; id = 1; fields := struct { u8 a; }; };"));
    let good = packet(&[1, 5], 2);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            {
                let mut bad = good.clone();
                bad[0] = 0;
                bad
            },
            "magic",
        ),
        (
            {
                let mut bad = good.clone();
                bad[4] = 3;
                bad
            },
            "stream class 3 is not declared",
        ),
        (
            {
                let mut bad = good.clone();
                bad[8..12].copy_from_slice(&(8u32 * 200).to_le_bytes());
                bad
            },
            "content size",
        ),
        (
            {
                let mut bad = good.clone();
                bad[12..16].copy_from_slice(&0u32.to_le_bytes());
                bad
            },
            "packet size 0",
        ),
        (
            {
                let mut bad = good.clone();
                bad[12..16].copy_from_slice(&13u32.to_le_bytes());
                bad
            },
            "packet size 13",
        ),
        (good[..10].to_vec(), "packet context"),
    ];
    for (damaged, words) in cases {
        let bytes = [good.clone(), damaged].concat();
        let decoded = decode_all(&trace, &bytes);
        assert_eq!(decoded[0], Ok(vec!["Unsigned(5)".to_owned()]), "the packet before is read");
        let Err(reason) = &decoded[1] else { panic!("{decoded:?}") };
        assert!(
            reason.contains(words) && reason.starts_with(&format!("stream file byte {}", good.len())),
            "{reason}"
        );
        assert_eq!(decoded.len(), 2);
    }
}

#[test]
fn lttng_streams_cut_or_flipped_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lttng-ust-small");
    let trace = CtfTrace::from_metadata(&std::fs::read(dir.join("metadata")).unwrap()).unwrap();
    let bytes = std::fs::read(dir.join("ch_0")).unwrap();
    let whole = decode_all(&trace, &bytes).len();
    for end in (0..bytes.len()).step_by(37) {
        let decoded = decode_all(&trace, &bytes[..end]);
        assert!(decoded.len() <= whole + 1);
    }
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut damaged = bytes.clone();
        let at = (seed % damaged.len() as u64) as usize;
        damaged[at] ^= 1 << (seed >> 60 & 7);
        let _ = decode_all(&trace, &damaged);
    }
}

/// Writes bit fields as CTF lays them out: aligned, big-endian fields from the most
/// significant bit of each byte, little-endian from the least.
struct BitWriter {
    bytes: Vec<u8>,
    bits: u64,
}

impl BitWriter {
    fn new() -> BitWriter {
        BitWriter { bytes: Vec::new(), bits: 0 }
    }

    fn align(&mut self, align: u64) -> &mut Self {
        while !self.bits.is_multiple_of(align) {
            self.bit(0, true);
        }
        self
    }

    fn bit(&mut self, bit: u64, big: bool) {
        let (byte, within) = ((self.bits / 8) as usize, self.bits % 8);
        if byte == self.bytes.len() {
            self.bytes.push(0);
        }
        let shift = if big { 7 - within } else { within };
        self.bytes[byte] |= ((bit & 1) as u8) << shift;
        self.bits += 1;
    }

    /// A big-endian field of `size` bits, aligned to `align` bits.
    fn be(&mut self, value: u64, size: u64, align: u64) -> &mut Self {
        self.align(align);
        for i in (0..size).rev() {
            self.bit(value >> i, true);
        }
        self
    }

    fn text(&mut self, text: &[u8]) -> &mut Self {
        for &byte in text {
            self.be(u64::from(byte), 8, 8);
        }
        self
    }
}

/// The kernel-style metadata (big-endian, LTTng's compact event header of a 5-bit ID and a
/// 27-bit timestamp): a packet written bit by bit, timestamps wrapping their 27 bits, an
/// extended header, the stream event context, an enum, a double aligned to 64 bits.
#[test]
fn compact_headers_big_endian_and_wrapping_timestamps() {
    let trace = trace(KERNEL_STYLE);
    let uuid: [u8; 16] = trace.class.uuid.unwrap();
    let begin: u64 = (5 << 27) | 0x7FF_FFF0; // 16 ticks before a 27-bit wrap
    let mut w = BitWriter::new();
    w.be(0xC1FC_1FC1, 32, 8);
    for byte in uuid {
        w.be(u64::from(byte), 8, 8);
    }
    w.be(0, 32, 8).be(3, 64, 8); // stream_id 0, stream_instance_id 3
    let context_at = w.bits / 8;
    w.be(begin, 64, 8).be(0, 64, 8).be(0, 64, 8).be(0, 64, 8); // begin, end, sizes: patched below
    w.be(7, 64, 8).be(12, 64, 8).be(2, 32, 8); // seq 7, 12 discarded, cpu 2
                                               // (id, low 27 bits of the timestamp or a full one, prev_tid, state, load)
    let switch = |w: &mut BitWriter, header: &dyn Fn(&mut BitWriter), tid: u64, state: u64, load: f64| {
        w.align(8);
        header(w);
        w.text(b"procname-abcdef!").be(tid, 32, 8); // stream event context
                                                    // The payload struct is aligned as its most aligned field, the 64-bit double.
        w.align(64).text(b"prev\0\0\0\0\0\0\0\0\0\0\0\0").be(tid, 32, 8).be(state, 64, 8);
        w.be(load.to_bits(), 64, 64);
        w.text(b"next\0").text(b"\0");
    };
    let compact = |low: u64| {
        move |w: &mut BitWriter| {
            w.be(0, 5, 1).be(low, 27, 1);
        }
    };
    switch(&mut w, &compact(0x7FF_FFF8), 100, 0, 0.5); // before the wrap
    switch(&mut w, &compact(0x000_0004), 101, 1, -1.25); // after it: +2^27
                                                         // Extended: ID 31, then the variant's `extended` option, byte aligned: a 32-bit ID and a
                                                         // full 64-bit timestamp.
    switch(
        &mut w,
        &|w: &mut BitWriter| {
            w.be(31, 5, 1).be(0, 32, 8).be(1 << 40, 64, 8);
        },
        102,
        100,
        3.0,
    );
    switch(&mut w, &compact(0x000_0009), 103, 2, 0.0); // low bits of 2^40 + 9
    let content = w.bits;
    w.align(8);
    while !w.bytes.len().is_multiple_of(64) {
        w.be(0, 8, 8);
    }
    let mut bytes = w.bytes.clone();
    let patch = |bytes: &mut Vec<u8>, at: u64, value: u64| {
        bytes[at as usize..at as usize + 8].copy_from_slice(&value.to_be_bytes());
    };
    patch(&mut bytes, context_at + 8, (1 << 40) + 9); // timestamp_end
    patch(&mut bytes, context_at + 16, content);
    let size = bytes.len() as u64 * 8;
    patch(&mut bytes, context_at + 24, size);

    let packets: Vec<_> = trace.packets(&bytes).collect::<Result<_, _>>().unwrap();
    assert_eq!(packets.len(), 1);
    let packet = &packets[0];
    assert_eq!(
        (packet.stream_instance_id, packet.cpu, packet.sequence, packet.discarded),
        (Some(3), Some(2), Some(7), Some(12))
    );
    let mut events = trace.events(&bytes, packet);
    let mut seen = Vec::new();
    while let Some(event) = events.next() {
        let event = event.unwrap();
        let Datum::Unsigned(tid) = event.fields[1] else { panic!("{:?}", event.fields) };
        let Datum::Signed(state) = event.fields[2] else { panic!() };
        let Datum::Float(load) = event.fields[3] else { panic!() };
        assert_eq!(event.stream_context[0], Datum::Text(b"procname-abcdef!"));
        assert_eq!(event.fields[0], Datum::Text(b"prev"));
        assert_eq!(&event.fields[4..], &[Datum::Text(b"next"), Datum::Text(b"")]);
        seen.push((event.id, event.timestamp, tid, state, load));
    }
    let base = 5u64 << 27;
    assert_eq!(
        seen,
        [
            (0, base | 0x7FF_FFF8, 100, 0, 0.5),
            (0, base + (1 << 27) + 4, 101, 1, -1.25),
            (0, 1 << 40, 102, 100, 3.0),
            (0, (1 << 40) + 9, 103, 2, 0.0),
        ]
    );
}

/// A large packet header and many stream classes: the header is planned once, not copied per
/// stream class (16,384 fields × 3,000 stream classes would be 49 M planned fields, gigabytes).
#[test]
fn the_packet_header_is_planned_once_for_every_stream_class() {
    let mut text = String::from("typealias integer { size = 8; align = 8; signed = false; } := u8;\n");
    text.push_str("typealias struct { u8 a; u8 b; } := t0;\n");
    for level in 1..14 {
        text.push_str(&format!("typealias struct {{ t{0} a; t{0} b; }} := t{level};\n", level - 1));
    }
    text.push_str("trace { major = 1; minor = 8; byte_order = le; packet.header := struct { t13 big; u8 stream_id; }; };\n");
    for id in 0..3000 {
        text.push_str(&format!("stream {{ id = {id}; }};\n"));
    }
    let trace = trace(&text);
    assert_eq!(trace.plans.len(), 3000);
    assert!(trace.plans.iter().all(Result::is_ok));
    let Some(Node::Struct { fields, .. }) = &trace.packet_header else { panic!() };
    assert_eq!(fields.len(), 2);
}

/// A stream class whose scopes cannot be read: its packets are refused with the reason, the
/// other stream class's packets read.
#[test]
fn an_unreadable_stream_class_fails_alone() {
    let trace = trace(
        "typealias integer { size = 8; align = 8; signed = false; } := u8;\n\
         typealias integer { size = 32; align = 8; signed = false; } := u32;\n\
         trace { major = 1; minor = 8; byte_order = le; packet.header := struct { u32 magic; u32 stream_id; }; };\n\
         stream { id = 0; packet.context := struct { u32 content_size; u32 packet_size; }; event.header := struct { u8 id; }; };\n\
         stream { id = 1; packet.context := struct { u32 content_size; u32 packet_size; }; event.header := struct { u8 id; u8 x[nowhere]; }; };\n\
         event { name = e; id = 1; stream_id = 0; fields := struct { u8 a; }; };",
    );
    assert!(trace.stream_plan(0).unwrap().is_ok());
    assert!(trace.stream_plan(1).unwrap().is_err());
    assert!(trace.stream_plan(2).is_none());
    let good = packet(&[1, 5], 0);
    let mut other = good.clone();
    other[4] = 1;
    let decoded = decode_all(&trace, &[good, other].concat());
    assert_eq!(decoded[0], Ok(vec!["Unsigned(5)".to_owned()]));
    let Err(reason) = &decoded[1] else { panic!("{decoded:?}") };
    assert!(reason.contains("stream class 1 cannot be read") && reason.contains("nowhere"), "{reason}");
}
