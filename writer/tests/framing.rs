//! Packet framing, event headers, sizes, byte order and ABI, rollover, discards: through the
//! core API (`LocalTrace` + `StreamWriter`), decoded with tracemark-format only.

mod common;

use common::{decode_all, kinds, Value};
use tracemark_format::{
    metadata::kind, HeaderWord, Layout, PacketFlags, Record, COMPACT_HEADER_LEN, EXTENDED_HEADER_LEN,
    PACKET_HEADER_LEN,
};
use tracemark_writer::{
    event, Abi, Blob, ByteOrder, CLong, Config, Error, EventType, FieldValue, LocalTrace, ManualClock,
    PayloadWriter, Pointer, SizeT, StreamWriter, TraceDescription, TypeDesc,
};

event! {
    pub struct Tick("tick") { pub n: u32 }
    pub struct Big<'a>("big") { pub blob: Blob<'a> }
    pub struct Pair<'a>("pair") { pub text: &'a str, pub after: u16 }
    pub struct AbiSized("abi_sized") { pub long: CLong, pub ptr: Pointer, pub size: SizeT }
}

const UUID: [u8; 16] = [0x42; 16];

type Stream<'m> = StreamWriter<&'m mut [u8], &'m ManualClock>;

fn setup(config: Config, clock: &ManualClock) -> LocalTrace<Vec<u8>> {
    LocalTrace::new(&config, TraceDescription::unknown(), clock, Vec::new()).unwrap()
}

fn stream<'m>(
    trace: &LocalTrace<Vec<u8>>,
    memory: &'m mut [u8],
    clock: &'m ManualClock,
    cpu: u32,
) -> Stream<'m> {
    StreamWriter::new(trace.stream_params(cpu).unwrap(), memory, clock).unwrap()
}

fn small() -> Config {
    Config::with_uuid(UUID).packet_size(256)
}

#[test]
fn packets_are_framed_with_valid_headers_and_crc() {
    let clock = ManualClock::new(1_000);
    let mut trace = setup(small(), &clock);
    let tick = trace.register::<Tick>().unwrap();
    let mut memory = vec![0xAA; 256];
    let mut cpu3 = stream(&trace, &mut memory, &clock, 3);
    for n in 0..5 {
        clock.advance(10);
        cpu3.emit(&mut trace, tick, &Tick { n }).unwrap();
    }
    cpu3.flush(&mut trace).unwrap();
    let bytes = trace.finish().unwrap();

    let (records, data, events) = decode_all(&bytes);
    assert_eq!(records[0].kind(), kind::TRACE);
    assert_eq!(records[1], records[0], "§7.3: the copy of TRACE, directly after it");
    assert!(matches!(&records[2], Record::Clock(clock) if clock.frequency == 1_000_000_000));
    assert!(matches!(&records[3], Record::StreamClass(class) if class.id == 0 && class.clock_id == 0));
    assert_eq!(data.len(), 1);
    let header = data[0].header;
    assert_eq!(header.trace_uuid, UUID);
    assert_eq!((header.version_major, header.version_minor, header.header_len), (1, 1, 80));
    assert_eq!(header.flags, PacketFlags(PacketFlags::HAS_CRC));
    assert_eq!((header.stream_class_id, header.stream_instance_id, header.sequence), (0, 3, 0));
    assert_eq!(header.packet_size, 256);
    assert_eq!(header.content_size as usize, PACKET_HEADER_LEN + 5 * (COMPACT_HEADER_LEN + 4));
    assert_eq!((header.timestamp_begin, header.timestamp_end), (1_010, 1_050));
    assert_eq!(header.events_discarded, 0);
    let values: Vec<_> = events.iter().map(|e| (e.timestamp, e.field("n").clone())).collect();
    assert_eq!(values, (0..5).map(|n| (1_010 + 10 * n, Value::UInt(n))).collect::<Vec<_>>());
}

#[test]
fn metadata_packets_carry_flags_sequence_and_uuid() {
    let clock = ManualClock::new(0);
    let mut config = small().crc(false);
    config.metadata_packet_size = 128;
    let mut trace = setup(config, &clock);
    trace.register::<Tick>().unwrap();
    trace.register::<Pair>().unwrap();
    trace.register::<AbiSized>().unwrap();
    let bytes = trace.finish().unwrap();
    let packets = common::split_packets(&bytes);
    assert!(packets.len() > 1, "small metadata packets split the records");
    for (sequence, packet) in packets.iter().enumerate() {
        assert_eq!(packet.header.flags, PacketFlags(PacketFlags::METADATA));
        assert_eq!((packet.header.sequence, packet.header.crc32), (sequence as u64, 0));
        assert_eq!(packet.header.trace_uuid, UUID);
        assert_eq!(packet.header.packet_size % 8, 0);
    }
    let records = common::records(&packets);
    assert_eq!(records.iter().filter(|r| r.kind() == kind::EVENT_CLASS).count(), 3);
}

#[test]
fn every_field_kind_round_trips_and_the_class_matches_the_type() {
    for abi in [Abi::lp64(ByteOrder::Little), Abi::ilp32(ByteOrder::Big)] {
        let clock = ManualClock::new(5);
        let mut trace = setup(Config::with_uuid(UUID).packet_size(1024).abi(abi), &clock);
        let handle = trace.register::<kinds::AllKinds>().unwrap();
        let mut memory = vec![0; 1024];
        let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
        let named = [kinds::Named { name: "n", at: kinds::Point { x: 7, y: 8 } }];
        let event = kinds::sample("hello\0ignored", &[-1, 2], &named);
        cpu0.emit(&mut trace, handle, &event).unwrap();
        cpu0.flush(&mut trace).unwrap();
        let (records, data, events) = decode_all(&trace.finish().unwrap());

        let class = common::classes(&records)[&handle.id()].clone();
        assert_eq!((class.name.as_str(), class.log_level), ("all_kinds", 7));
        assert_eq!(class.layout, Layout::Fields(kinds::AllKinds::fields()));
        assert!(class.identity_matches());
        let size = event.encoded_size(&abi);
        assert_eq!(data[0].header.content_size as usize, PACKET_HEADER_LEN + COMPACT_HEADER_LEN + size);

        let e = &events[0];
        let long_mask = if abi.long == 4 { 0xFFFF_FFFF } else { u64::MAX };
        assert_eq!(e.field("flag"), &Value::Bool(true));
        assert_eq!(e.field("h"), &Value::Int(-8));
        assert_eq!(e.field("fl"), &Value::F32(1.5));
        assert_eq!(e.field("db"), &Value::F64(-2.25));
        assert_eq!(e.field("short"), &Value::Int(-9));
        assert_eq!(e.field("long"), &Value::Int(-13));
        assert_eq!(e.field("ulong"), &Value::UInt(0x1_0000_0014 & long_mask));
        assert_eq!(e.field("ptr"), &Value::UInt(0xFFFF_FFFF_0000_1234 & long_mask));
        assert_eq!(e.field("ssize"), &Value::Int(-18));
        assert_eq!(e.field("text"), &Value::Str(b"hello".to_vec()), "truncated at the interior NUL");
        assert_eq!(e.field("bytes"), &Value::Str(b"\xFFraw".to_vec()));
        assert_eq!(e.field("blob"), &Value::Blob(vec![0, 1, 2]));
        assert_eq!(e.field("array"), &Value::List(vec![Value::UInt(1), Value::UInt(2), Value::UInt(3)]));
        assert_eq!(e.field("seq"), &Value::List(vec![Value::Int(-1), Value::Int(2)]));
        let strings = ["x", "", "yz"].map(|s| Value::Str(s.as_bytes().to_vec())).to_vec();
        assert_eq!(e.field("strings"), &Value::List(strings));
        assert_eq!(e.field("state"), &Value::Int(64));
        assert_eq!(e.field("prio"), &Value::Int(-3));
        assert_eq!(e.field("point"), &Value::List(vec![Value::Int(-1), Value::UInt(2)]));
        let named =
            Value::List(vec![Value::Str(b"n".to_vec()), Value::List(vec![Value::Int(7), Value::UInt(8)])]);
        assert_eq!(e.field("named"), &Value::List(vec![named]));
        assert_eq!(e.field("grid").clone(), {
            let row = |a, b| Value::List(vec![Value::UInt(a), Value::UInt(b)]);
            Value::List(vec![row(1, 2), row(3, 4)])
        });
    }
}

#[test]
fn enum_mappings_use_signed_bit_patterns() {
    let state = <kinds::TaskState as FieldValue>::type_desc();
    let TypeDesc::Enum { repr, mappings } = state else { panic!("not an enum") };
    assert_eq!(repr, tracemark_writer::IntType::Abi(tracemark_format::AbiInt::Long));
    assert_eq!(
        mappings.iter().map(|m| (m.label.as_str(), m.lo, m.hi)).collect::<Vec<_>>(),
        [("Running", 0, 0), ("Sleeping", 1, 1), ("Dead", 64, 64)]
    );
    let TypeDesc::Enum { mappings, .. } = <kinds::Prio as FieldValue>::type_desc() else { panic!() };
    assert_eq!((mappings[0].lo, mappings[0].hi), ((-100i64) as u64, u64::MAX));
}

#[test]
fn extended_header_for_large_ids_and_large_gaps() {
    let clock = ManualClock::new(0);
    let mut trace = setup(Config::with_uuid(UUID).packet_size(512), &clock);
    let tick = trace.register::<Tick>().unwrap();
    trace.registry().set_next_event_id(0xFFFF).unwrap();
    let big_id = trace.register::<Pair>().unwrap();
    assert_eq!(big_id.id(), 0xFFFF);
    let mut memory = vec![0; 512];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    let pair = Pair { text: "", after: 1 };
    let gap = 1u64 << 48;
    // The writer compares with `prev` with its low 32 bits cleared (a lower bound §5.4
    // allows, the one the C probe writer uses): from `base`, whose low 32 bits are zero, the
    // bound is exact.
    let base = 1u64 << 32;
    cpu0.emit_at(&mut trace, tick, &Tick { n: 0 }, base).unwrap(); // first in packet: compact
    cpu0.emit_at(&mut trace, big_id, &pair, base).unwrap(); // ID 0xFFFF: extended
    cpu0.emit_at(&mut trace, tick, &Tick { n: 1 }, base + gap - 1).unwrap(); // gap 2^48 - 1: compact
    cpu0.emit_at(&mut trace, tick, &Tick { n: 2 }, base + 2 * gap - 1).unwrap(); // gap 2^48: extended
    cpu0.emit_at(&mut trace, tick, &Tick { n: 3 }, base + 2 * gap + 5).unwrap(); // compact again

    // Gap 2^48 - 1 again, from a `prev` with low bits set: the bound makes it extended.
    cpu0.emit_at(&mut trace, tick, &Tick { n: 4 }, base + 3 * gap + 4).unwrap();
    cpu0.flush(&mut trace).unwrap();
    let (_, _, events) = decode_all(&trace.finish().unwrap());
    let forms: Vec<_> = events.iter().map(|e| (e.id, e.header_len, e.timestamp)).collect();
    assert_eq!(
        forms,
        [
            (0, COMPACT_HEADER_LEN, base),
            (0xFFFF, EXTENDED_HEADER_LEN, base),
            (0, COMPACT_HEADER_LEN, base + gap - 1),
            (0, EXTENDED_HEADER_LEN, base + 2 * gap - 1),
            (0, COMPACT_HEADER_LEN, base + 2 * gap + 5),
            (0, EXTENDED_HEADER_LEN, base + 3 * gap + 4),
        ]
    );
    assert!(HeaderWord::Wide.needs_extended(0xFFFF, 0, 0));
}

#[test]
fn narrow_header_words_for_small_ids_and_short_gaps() {
    let clock = ManualClock::new(0);
    let config = Config::with_uuid(UUID).packet_size(512).header_word(HeaderWord::Narrow);
    let mut trace = setup(config, &clock);
    let tick = trace.register::<Tick>().unwrap();
    trace.registry().set_next_event_id(0xFE).unwrap();
    let last_compact = trace.register::<Pair>().unwrap();
    let escape_id = trace.register::<AbiSized>().unwrap();
    assert_eq!((last_compact.id(), escape_id.id()), (0xFE, 0xFF));
    let mut memory = vec![0; 512];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    let gap = 1u64 << 24;
    // Low bits set: the narrow word compares with the exact `prev`, no lower bound.
    let base = (1u64 << 32) + 12_345;
    let abi_sized = AbiSized { long: CLong(1), ptr: Pointer(2), size: SizeT(3) };
    cpu0.emit_at(&mut trace, tick, &Tick { n: 0 }, base).unwrap();
    cpu0.emit_at(&mut trace, last_compact, &Pair { text: "", after: 1 }, base + 1).unwrap();
    cpu0.emit_at(&mut trace, escape_id, &abi_sized, base + 2).unwrap();
    cpu0.emit_at(&mut trace, tick, &Tick { n: 1 }, base + 1 + gap).unwrap(); // gap 2^24 - 1
    cpu0.emit_at(&mut trace, tick, &Tick { n: 2 }, base + 1 + 2 * gap).unwrap(); // gap 2^24
    cpu0.emit_at(&mut trace, tick, &Tick { n: 3 }, base + 2 + 2 * gap).unwrap();
    cpu0.flush(&mut trace).unwrap();
    let (_, data, events) = decode_all(&trace.finish().unwrap());
    let header = data[0].header;
    assert!(header.flags.has_narrow_headers());
    assert_eq!(header.version_minor, tracemark_format::event_header::NARROW_HEADERS_VERSION_MINOR);
    let forms: Vec<_> = events.iter().map(|e| (e.id, e.header_len, e.timestamp)).collect();
    assert_eq!(
        forms,
        [
            (0, 4, base),
            (0xFE, 4, base + 1),
            (0xFF, 16, base + 2),
            (0, 4, base + 1 + gap),
            (0, 16, base + 1 + 2 * gap),
            (0, 4, base + 2 + 2 * gap),
        ]
    );
}

#[test]
fn a_packet_its_last_record_fills_closes_as_of_that_record() {
    // 256-byte packets: 80 header bytes, then 14 ticks of 12 bytes = 168 = 176 - 8, so one
    // more 8-byte record (a `big` with an empty blob would be 12) needs exactly the rest.
    event! { pub struct Empty("empty") {} }
    let clock = ManualClock::new(0);
    let mut trace = setup(small(), &clock);
    let tick = trace.register::<Tick>().unwrap();
    let empty = trace.register::<Empty>().unwrap();
    let big = trace.register::<Big>().unwrap();
    let (mut memory0, mut memory1) = (vec![0; 256], vec![0; 256]);
    let mut cpu0 = stream(&trace, &mut memory0, &clock, 0);
    let mut cpu1 = stream(&trace, &mut memory1, &clock, 1);
    for cpu in [&mut cpu0, &mut cpu1] {
        for n in 0..14 {
            cpu.emit_at(&mut trace, tick, &Tick { n }, 100 + u64::from(n)).unwrap();
        }
        cpu.emit_at(&mut trace, empty, &Empty {}, 200).unwrap(); // fills the packet exactly
    }
    // Too large for any packet: discarded, and counted after the full packet was closed.
    let blob = [0u8; 256];
    assert!(matches!(
        cpu0.emit_at(&mut trace, big, &Big { blob: Blob(&blob) }, 300),
        Err(Error::EventTooLarge { .. })
    ));
    clock.set(1_000);
    cpu0.flush(&mut trace).unwrap();
    cpu1.flush(&mut trace).unwrap();
    let (_, data, _) = decode_all(&trace.finish().unwrap());
    let headers: Vec<_> = data
        .iter()
        .map(|packet| {
            let header = packet.header;
            let sizes = (header.content_size, header.events_discarded);
            (header.stream_instance_id, sizes, header.timestamp_begin, header.timestamp_end)
        })
        .collect();
    // A full packet ends at its last record, not at the next event or the flush; the discard
    // reaches the reader in an empty packet of its own (§10.1), as the C probe writer does.
    assert_eq!(headers, [(0, (256, 0), 100, 200), (0, (80, 1), 1_000, 1_000), (1, (256, 0), 100, 200)]);
}

#[test]
fn opposite_byte_order_everywhere() {
    let order = ByteOrder::NATIVE.opposite();
    let clock = ManualClock::new(0x0102_0304);
    let mut trace = setup(small().abi(Abi::lp64(order)), &clock);
    let pair = trace.register::<Pair>().unwrap();
    let mut memory = vec![0; 256];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    cpu0.emit(&mut trace, pair, &Pair { text: "hi", after: 0x1234 }).unwrap();
    cpu0.flush(&mut trace).unwrap();
    let bytes = trace.finish().unwrap();
    let packets = common::split_packets(&bytes);
    assert!(packets.iter().all(|p| p.order == order), "metadata and data packets");
    let magic = if order == ByteOrder::Big { b"KMRT" } else { b"TRMK" };
    assert!(packets.iter().all(|p| &p.bytes[..4] == magic));
    let (records, _, events) = decode_all(&bytes);
    assert_eq!(common::abi(&records).byte_order, order);
    assert_eq!(events[0].field("after"), &Value::UInt(0x1234));
    assert_eq!(events[0].timestamp, 0x0102_0304);
}

#[test]
fn ilp32_sizes_long_pointer_and_size_t_from_the_abi() {
    let value = AbiSized { long: CLong(-1), ptr: Pointer(0x1_0000_0001), size: SizeT(7) };
    assert_eq!(value.encoded_size(&Abi::ilp32(ByteOrder::Big)), 12);
    assert_eq!(value.encoded_size(&Abi::lp64(ByteOrder::Big)), 24);
    let clock = ManualClock::new(0);
    let mut trace = setup(small().abi(Abi::ilp32(ByteOrder::Big)), &clock);
    let handle = trace.register::<AbiSized>().unwrap();
    let mut memory = vec![0; 256];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    cpu0.emit(&mut trace, handle, &value).unwrap();
    cpu0.flush(&mut trace).unwrap();
    let (records, data, events) = decode_all(&trace.finish().unwrap());
    let abi = common::abi(&records);
    assert_eq!((abi.long, abi.pointer, abi.size_t, abi.byte_order), (4, 4, 4, ByteOrder::Big));
    assert_eq!(data[0].header.content_size as usize, PACKET_HEADER_LEN + 8 + 12);
    assert_eq!(events[0].field("long"), &Value::Int(-1));
    assert_eq!(events[0].field("ptr"), &Value::UInt(1), "truncated like the C cast");
}

#[test]
fn packets_roll_over_with_consecutive_sequence_numbers() {
    let clock = ManualClock::new(0);
    let mut trace = setup(small(), &clock);
    let tick = trace.register::<Tick>().unwrap();
    let mut memory = vec![0; 256];
    let mut cpu1 = stream(&trace, &mut memory, &clock, 1);
    // (256 - 80) / 12 = 14 records per packet.
    for n in 0..100 {
        clock.advance(3);
        cpu1.emit(&mut trace, tick, &Tick { n }).unwrap();
    }
    cpu1.flush(&mut trace).unwrap();
    let stats = cpu1.stats();
    let (_, data, events) = decode_all(&trace.finish().unwrap());
    assert_eq!(data.len(), 100usize.div_ceil(14));
    assert_eq!((stats.events, stats.packets, stats.bytes), (100, data.len() as u64, 256 * data.len() as u64));
    for (sequence, pair) in data.windows(2).enumerate() {
        assert_eq!(pair[0].header.sequence, sequence as u64);
        assert_eq!(pair[1].header.sequence, sequence as u64 + 1);
        assert!(pair[1].header.timestamp_begin >= pair[0].header.timestamp_end, "§4.5");
        assert_eq!(pair[0].header.content_size, 80 + 14 * 12);
    }
    let ns: Vec<_> = events.iter().map(|e| e.field("n").clone()).collect();
    assert_eq!(ns, (0..100).map(Value::UInt).collect::<Vec<_>>());
}

#[test]
fn an_event_larger_than_a_packet_is_discarded_and_counted() {
    let clock = ManualClock::new(0);
    let mut trace = setup(small(), &clock);
    let (tick, big) = (trace.register::<Tick>().unwrap(), trace.register::<Big>().unwrap());
    let mut memory = vec![0; 256];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    cpu0.emit(&mut trace, tick, &Tick { n: 1 }).unwrap();
    let huge = [0u8; 200];
    let error = cpu0.emit(&mut trace, big, &Big { blob: Blob(&huge) }).unwrap_err();
    assert!(matches!(error, Error::EventTooLarge { size: 212, capacity: 176 }), "{error}");
    // The largest event that fits an empty packet is still written.
    cpu0.emit(&mut trace, big, &Big { blob: Blob(&huge[..176 - 12]) }).unwrap();
    cpu0.flush(&mut trace).unwrap();
    // Discards after the last packet still reach the reader, in an empty packet.
    let _ = cpu0.emit(&mut trace, big, &Big { blob: Blob(&huge) });
    cpu0.flush(&mut trace).unwrap();
    cpu0.flush(&mut trace).unwrap(); // nothing new: no packet
    assert_eq!(cpu0.stats().discarded, 2);
    let (_, data, events) = decode_all(&trace.finish().unwrap());
    let discarded: Vec<_> = data.iter().map(|p| (p.header.events_discarded, p.header.content_size)).collect();
    assert_eq!(discarded, [(1, 80 + 12), (1, 256), (2, 80)]);
    assert_eq!(events.len(), 2);
    assert!(error.to_string().contains("discarded"));
}

#[test]
fn timestamps_going_backwards_are_clamped() {
    let clock = ManualClock::new(500);
    let mut trace = setup(small(), &clock);
    let tick = trace.register::<Tick>().unwrap();
    let mut memory = vec![0; 256];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    cpu0.emit(&mut trace, tick, &Tick { n: 0 }).unwrap();
    clock.set(400);
    cpu0.emit(&mut trace, tick, &Tick { n: 1 }).unwrap();
    cpu0.flush(&mut trace).unwrap();
    clock.set(300);
    cpu0.emit(&mut trace, tick, &Tick { n: 2 }).unwrap();
    cpu0.flush(&mut trace).unwrap();
    let (_, data, events) = decode_all(&trace.finish().unwrap());
    assert_eq!(events.iter().map(|e| e.timestamp).collect::<Vec<_>>(), [500, 500, 500]);
    assert_eq!(data[1].header.timestamp_begin, 500);
}

struct Liar;

impl EventType for Liar {
    const NAME: &'static str = "liar";
    fn fields() -> Vec<tracemark_format::Field> {
        vec![tracemark_format::Field::new("x", TypeDesc::Int(tracemark_format::IntType::U32))]
    }
    fn encoded_size(&self, _: &Abi) -> usize {
        4
    }
    fn encode(&self, out: &mut PayloadWriter<'_>) {
        out.write_u64(7);
    }
}

#[test]
fn a_lying_encoder_is_rolled_back_not_written() {
    let clock = ManualClock::new(0);
    let mut trace = setup(small(), &clock);
    let (tick, liar) = (trace.register::<Tick>().unwrap(), trace.register::<Liar>().unwrap());
    let mut memory = vec![0; 256];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    cpu0.emit(&mut trace, tick, &Tick { n: 1 }).unwrap();
    let error = cpu0.emit(&mut trace, liar, &Liar).unwrap_err();
    assert!(matches!(error, Error::PayloadSize { declared: 4, written: 5 }), "{error}");
    cpu0.emit(&mut trace, tick, &Tick { n: 2 }).unwrap();
    cpu0.flush(&mut trace).unwrap();
    let (_, data, events) = decode_all(&trace.finish().unwrap());
    assert_eq!(events.len(), 2);
    assert_eq!(data[0].header.events_discarded, 1);
}

#[test]
fn handles_of_another_trace_or_stream_class_are_refused() {
    let clock = ManualClock::new(0);
    let mut trace = setup(small(), &clock);
    let mut other = setup(small(), &clock);
    let foreign = other.register::<Tick>().unwrap();
    let class = trace.registry().add_stream_class("second", 0).unwrap();
    let in_second = trace.registry().register::<Tick>(class).unwrap();
    let mut memory = vec![0; 256];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    for handle in [foreign, in_second] {
        let error = cpu0.emit(&mut trace, handle, &Tick { n: 0 }).unwrap_err();
        assert!(matches!(error, Error::ForeignHandle { .. }), "{error}");
    }
    assert_eq!(cpu0.stats().events, 0);
}

#[test]
fn registration_is_idempotent_and_validated() {
    let clock = ManualClock::new(0);
    let mut trace = setup(small(), &clock);
    let first = trace.register::<Tick>().unwrap();
    let again = trace.register::<Tick>().unwrap();
    assert_eq!(first.id(), again.id());
    tracemark_writer::struct_type! { pub struct Empty {} }
    event! { pub struct Bad<'a>("bad") { pub items: &'a [Empty] } }
    let error = trace.register::<Bad>().unwrap_err();
    assert!(matches!(error, Error::InvalidLayout { .. }), "{error}");
    let records = common::records(&common::split_packets(&trace.finish().unwrap()));
    assert_eq!(records.iter().filter(|r| r.kind() == kind::EVENT_CLASS).count(), 1);
}

#[test]
fn configuration_is_checked() {
    assert!(Config::with_uuid(UUID).packet_size(100).validate().is_err());
    assert!(Config::with_uuid(UUID).packet_size(96).validate().is_err());
    assert!(Config::with_uuid(UUID).packet_size(104).validate().is_ok());
    let mut odd = Abi::HOST;
    odd.long = 3;
    assert!(Config::with_uuid(UUID).abi(odd).validate().is_err());
    let clock = ManualClock::new(0);
    let trace = setup(small(), &clock);
    let mut short = [0u8; 128];
    assert!(StreamWriter::new(trace.stream_params(0).unwrap(), &mut short[..], &clock).is_err());
}

#[test]
fn raw_reserve_payload_commit() {
    let clock = ManualClock::new(0);
    let mut trace = setup(small(), &clock);
    let tick = trace.register::<Tick>().unwrap();
    let mut memory = vec![0; 256];
    let mut cpu0 = stream(&trace, &mut memory, &clock, 0);
    let slot = cpu0.reserve(&mut trace, tick.raw(), 9, 4).unwrap();
    assert_eq!(slot.payload_len(), 4);
    let mut payload = cpu0.payload(&slot);
    payload.write_u32(77);
    assert!(payload.is_complete());
    cpu0.commit(slot);
    let slot = cpu0.reserve(&mut trace, tick.raw(), 10, 4).unwrap();
    cpu0.abort(slot);
    cpu0.flush(&mut trace).unwrap();
    let (_, data, events) = decode_all(&trace.finish().unwrap());
    assert_eq!((events.len(), events[0].field("n")), (1, &Value::UInt(77)));
    assert_eq!(data[0].header.events_discarded, 1);
}
