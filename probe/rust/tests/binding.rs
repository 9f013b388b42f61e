//! A scripted trace written through the binding (every payload type, markers, a class declared
//! mid-trace, 48-bit timestamp wrap, a > 2^48 jump, an ID needing the extended header, a
//! stalled consumer causing discards), then decoded twice and checked value by value:
//! once with `tracemark_format` primitives only (packet headers, CRC, metadata records,
//! event headers, a payload decoder here) and once with `tracemark-reader`.

// `c_long` / `c_ulong` casts are no-ops on LP64 but not on ILP32.
#![allow(clippy::unnecessary_cast)]

use std::{
    collections::HashMap,
    ffi::{c_int, c_long, c_longlong, c_short, c_uint, c_ulong, c_ulonglong, c_ushort},
};

use tracemark_format::{
    crc::packet_crc,
    identity_hash,
    metadata::Record,
    types::{AbiInt, EnumMapping, Field, IntType, TypeDesc},
    Abi, ByteOrder, EnvValue, EventClass, HeaderWord, Layout, PacketFlags, PacketHeader, RecordIter,
};
use tracemark_probe::{Config, Error, MarkerArg, Outcome, Output, Value, Writer};

const NR_CPUS: u32 = 3;
const PACKET: u32 = 1024;

const EV_FIXED: u32 = 1;
const EV_ABI: u32 = 2;
const EV_VAR: u32 = 3;
const EV_NESTED: u32 = 4;
const EV_TICK: u32 = 5;
const EV_MARKER: u32 = 6;
const EV_LATE: u32 = 7;
const EV_BIG: u32 = 0x12345;

const MARKER_FORMAT: &str = "msg %s count %d big %llu neg %ld size %zu ptr %p ratio %f ch %c \
                             small %hhd tiny %hu wide %jd diff %td hex %lx";
const LATE_FORMAT: &str = "\t step %u  label %s\t";

fn int(t: IntType) -> TypeDesc {
    TypeDesc::Int(t)
}

fn abi(t: AbiInt) -> TypeDesc {
    TypeDesc::Int(IntType::Abi(t))
}

fn fields(list: &[(&str, TypeDesc)]) -> Vec<Field> {
    list.iter().map(|(name, ty)| Field::new(*name, ty.clone())).collect()
}

fn map(label: &str, lo: u64, hi: u64) -> EnumMapping {
    EnumMapping { label: label.into(), lo, hi }
}

fn task_type() -> TypeDesc {
    let policy = TypeDesc::Enum {
        repr: IntType::Abi(AbiInt::Long),
        mappings: vec![
            map("NEGATIVE", i64::MIN as u64, -1i64 as u64),
            map("NORMAL", 0, 0),
            map("FIFO", 1, 1),
            map("RR", 2, 2),
        ],
    };
    TypeDesc::Struct(fields(&[
        ("pid", int(IntType::I32)),
        ("comm", TypeDesc::String),
        ("prio", abi(AbiInt::Int)),
        ("sched", TypeDesc::Struct(fields(&[("policy", policy), ("vruntime", int(IntType::U64))]))),
    ]))
}

fn classes() -> Vec<EventClass> {
    let state = TypeDesc::Enum {
        repr: IntType::U8,
        mappings: vec![
            map("RUNNING", 0, 0),
            map("INTERRUPTIBLE", 1, 1),
            map("UNINTERRUPTIBLE", 2, 2),
            map("STOPPED", 4, 4),
            map("OTHER", 0, 255),
        ],
    };
    let mut list = vec![
        EventClass::new(
            EV_FIXED,
            0,
            "all_fixed",
            Layout::Fields(fields(&[
                ("b", TypeDesc::Bool),
                ("u8", int(IntType::U8)),
                ("u16", int(IntType::U16)),
                ("u32", int(IntType::U32)),
                ("u64", int(IntType::U64)),
                ("i8", int(IntType::I8)),
                ("i16", int(IntType::I16)),
                ("i32", int(IntType::I32)),
                ("i64", int(IntType::I64)),
                ("f32", TypeDesc::F32),
                ("f64", TypeDesc::F64),
            ])),
        ),
        EventClass::new(
            EV_ABI,
            0,
            "abi_sized",
            Layout::Fields(fields(&[
                ("s", abi(AbiInt::Short)),
                ("us", abi(AbiInt::UShort)),
                ("i", abi(AbiInt::Int)),
                ("ui", abi(AbiInt::UInt)),
                ("l", abi(AbiInt::Long)),
                ("ul", abi(AbiInt::ULong)),
                ("ll", abi(AbiInt::LongLong)),
                ("ull", abi(AbiInt::ULongLong)),
                ("sz", abi(AbiInt::SizeT)),
                ("ssz", abi(AbiInt::SSizeT)),
                ("ptr", abi(AbiInt::Pointer)),
            ])),
        ),
        EventClass::new(
            EV_VAR,
            0,
            "variable",
            Layout::Fields(fields(&[
                ("str", TypeDesc::String),
                ("blob", TypeDesc::Blob),
                ("arr", TypeDesc::array(4, int(IntType::U16))),
                ("seq", TypeDesc::sequence(int(IntType::I32))),
                ("names", TypeDesc::sequence(TypeDesc::String)),
            ])),
        ),
        EventClass::new(
            EV_NESTED,
            0,
            "sched_switch_like",
            Layout::Fields(fields(&[
                ("prev", task_type()),
                ("prev_state", state),
                ("next", task_type()),
                ("pair", TypeDesc::array(2, task_type())),
            ])),
        ),
        EventClass::new(EV_TICK, 0, "tick", Layout::Fields(Vec::new())),
        EventClass::new(EV_MARKER, 0, "debug_marker", Layout::Marker(MARKER_FORMAT.into())),
        EventClass::new(EV_BIG, 0, "big_id_event", Layout::Fields(fields(&[("x", int(IntType::U32))]))),
    ];
    for (class, level) in list.iter_mut().zip([6, 7, 255, 5, 7, 7, 3]) {
        class.log_level = level;
    }
    list
}

fn late_class() -> EventClass {
    let mut class = EventClass::new(EV_LATE, 0, "late_marker", Layout::Marker(LATE_FORMAT.into()));
    class.log_level = 7;
    class
}

fn task(pid: i32, comm: &str, prio: c_int, policy: c_long, vruntime: u64) -> Value {
    Value::Struct(vec![
        Value::I32(pid),
        Value::str(comm),
        Value::Int(prio),
        Value::Struct(vec![Value::Long(policy), Value::U64(vruntime)]),
    ])
}

/// One recorded event: where, when, and the values the decoders must find.
#[derive(Debug, Clone)]
struct Rec {
    cpu: u32,
    ts: u64,
    id: u32,
    values: Vec<Value>,
}

fn fixed(k: u64) -> Vec<Value> {
    vec![
        Value::Bool(k & 1 == 1),
        Value::U8(0xF0u8.wrapping_add(k as u8)),
        Value::U16(0xBEEFu16.wrapping_add(k as u16)),
        Value::U32(0xDEAD_BEEF - k as u32),
        Value::U64(0xFEDC_BA98_7654_3210 + k),
        Value::I8(-100 - (k % 28) as i8),
        Value::I16(-30000 + k as i16),
        Value::I32(i32::MIN + k as i32),
        Value::I64(i64::MIN + k as i64),
        Value::F32(-1.5 * (k + 1) as f32 + 0.1),
        Value::F64(std::f64::consts::PI * k as f64 + 1e-300),
    ]
}

fn abi_values(k: u64) -> Vec<Value> {
    vec![
        Value::Short(c_short::MIN + k as c_short),
        Value::UShort(c_ushort::MAX - k as c_ushort),
        Value::Int(c_int::MIN + k as c_int),
        Value::UInt(c_uint::MAX - k as c_uint),
        Value::Long(c_long::MIN + k as c_long),
        Value::ULong(c_ulong::MAX - k as c_ulong),
        Value::LongLong(c_longlong::MIN + k as c_longlong),
        Value::ULongLong(c_ulonglong::MAX - k as c_ulonglong),
        Value::SizeT(usize::MAX - k as usize),
        Value::SSizeT(-1 - k as isize),
        Value::Pointer(fake_ptr(k)),
    ]
}

fn fake_ptr(k: u64) -> usize {
    if usize::BITS == 64 {
        (0xffff_8880_1234_5670u64 + k) as usize
    } else {
        0xc0ff_ee00usize + k as usize
    }
}

fn variable(k: u64) -> Vec<Value> {
    let strs: [&[u8]; 5] = [
        b"",
        b"hello",
        "h\u{e9}llo w\u{f6}rld \u{2713}".as_bytes(),
        b"quote \" backslash \\ tab \t",
        b"\xff\xfe bad utf8",
    ];
    let names = ["init", "", "kworker/0:1"];
    let blob = [0x00, 0xff, 0x10, 0x80, 0x7f, 0x00, k as u8];
    let seq = [-1, 0, 1, i32::MAX, k as i32];
    vec![
        Value::Str(strs[(k % 5) as usize].to_vec()),
        Value::Blob(blob[..(k % 8).min(7) as usize].to_vec()),
        Value::Array(vec![Value::U16(0), Value::U16(1), Value::U16(k as u16), Value::U16(0xFFFF)]),
        Value::Sequence(seq[..(k % 6) as usize].iter().map(|&v| Value::I32(v)).collect()),
        Value::Sequence(names[..(k % 4).min(3) as usize].iter().map(|n| Value::str(n)).collect()),
    ]
}

fn nested(k: u64) -> Vec<Value> {
    vec![
        task(100 + k as i32, "bash", 120, 0, 1 << 40),
        Value::U8(((k * 3) % 7) as u8),
        task(0, "swapper/0", 120 - k as c_int, -3, 123_456_789 * k),
        Value::Array(vec![task(-1, "exactly16chars!!", 139, 2, 0), task(1, "systemd", 99, 1, u64::MAX)]),
    ]
}

/// Marker arguments and the values a decoder must find for them.
fn marker(k: u64) -> (Vec<MarkerArg>, Vec<Value>) {
    let msg: &str = if k & 1 == 1 { "marker says hi" } else { "" };
    let count = -(k as c_int);
    let big = c_ulonglong::MAX - k as c_ulonglong;
    let neg = c_long::MIN + k as c_long;
    let size = usize::MAX / 3 + k as usize;
    let ratio = 0.25 * k as f64 - 1.0 / 3.0;
    let ch = b'A' + (k % 26) as u8;
    let small = (-128 + k as i64) as i8;
    let tiny = 65535 - k as c_ushort;
    let wide = i64::MIN + k as i64;
    let diff = -(k as isize) - 7;
    let hex = c_ulong::MAX / 5 + k as c_ulong;
    let args = vec![
        MarkerArg::Str(msg.as_bytes().to_vec()),
        MarkerArg::Int(count.into()),
        MarkerArg::UInt(big),
        MarkerArg::Int(neg as i64),
        MarkerArg::UInt(size as u64),
        MarkerArg::Pointer(fake_ptr(k)),
        MarkerArg::F64(ratio),
        MarkerArg::UInt(ch.into()),
        MarkerArg::Int(small.into()),
        MarkerArg::UInt(tiny.into()),
        MarkerArg::Int(wide),
        MarkerArg::Int(diff as i64),
        MarkerArg::UInt(hex as u64),
    ];
    let values = vec![
        Value::str(msg),
        Value::Int(count),
        Value::ULongLong(big),
        Value::Long(neg),
        Value::SizeT(size),
        Value::Pointer(fake_ptr(k)),
        Value::F64(ratio),
        Value::U8(ch),
        Value::I8(small),
        Value::UShort(tiny),
        Value::I64(wide),
        Value::SSizeT(diff),
        Value::ULong(hex),
    ];
    (args, values)
}

struct Script {
    output: Output,
    recs: Vec<Rec>,
    discarded: Vec<u64>,
    classes: Vec<EventClass>,
}

fn config() -> Config {
    Config {
        packet_size: PACKET,
        nr_subbufs: 4,
        nr_cpus: NR_CPUS,
        auto_drain: false,
        metadata_packet_size: 1024,
        env: vec![
            ("domain".into(), EnvValue::Str("binding-test".into())),
            ("nr_cpus".into(), EnvValue::Int(3)),
        ],
        ..Config::default()
    }
}

fn run_script() -> Script {
    let mut w = Writer::new(config()).unwrap();
    let mut all = classes();
    for class in &all {
        w.register(class).unwrap();
    }
    let mut recs = Vec::new();
    let mut discarded = vec![0u64; NR_CPUS as usize];
    let mut ts = 1_000_000_000u64;
    let mut stalled = false;
    let mut late = false;

    let mut record =
        |w: &mut Writer, cpu: u32, ts: u64, id: u32, values: Vec<Value>, args: Option<Vec<MarkerArg>>| {
            let outcome = match args {
                Some(args) => w.marker(cpu, ts, id, &args).unwrap(),
                None => w.emit(cpu, ts, id, &values).unwrap(),
            };
            match outcome {
                Outcome::Recorded => recs.push(Rec { cpu, ts, id, values }),
                Outcome::Discarded | Outcome::TooBig => discarded[cpu as usize] += 1,
            }
        };

    for k in 0..300u64 {
        let cpu = ((k * 7 + k / 5) % NR_CPUS as u64) as u32;
        ts += 1 + (k * 37) % 1000;
        if k == 60 {
            ts = (5u64 << 48) - 3; // low 48 bits about to wrap (§5.5)
        }
        if k == 130 {
            ts += (1u64 << 48) + 12345; // a jump that forces the extended header (§5.4)
        }
        if k == 80 {
            stalled = true;
        }
        if k == 200 {
            stalled = false;
        }
        if k == 150 {
            let class = late_class();
            w.register(&class).unwrap(); // §7.10: declared while tracing
            all.push(class);
            late = true;
        }
        match k % 8 {
            0 => record(&mut w, cpu, ts, EV_FIXED, fixed(k), None),
            1 => record(&mut w, cpu, ts, EV_ABI, abi_values(k), None),
            2 => record(&mut w, cpu, ts, EV_VAR, variable(k), None),
            3 => record(&mut w, cpu, ts, EV_NESTED, nested(k), None),
            4 => record(&mut w, cpu, ts, EV_TICK, Vec::new(), None),
            5 => {
                let (args, values) = marker(k);
                record(&mut w, cpu, ts, EV_MARKER, values, Some(args));
            }
            6 => record(&mut w, cpu, ts, EV_BIG, vec![Value::U32(0xA000_0000 + k as u32)], None),
            _ if late => {
                let args = vec![MarkerArg::UInt(k), MarkerArg::Str(b"late".to_vec())];
                record(
                    &mut w,
                    cpu,
                    ts,
                    EV_LATE,
                    vec![Value::UInt(k as c_uint), Value::str("late")],
                    Some(args),
                );
            }
            _ => record(&mut w, cpu, ts, EV_FIXED, fixed(k), None),
        }
        if k % 50 == 17 {
            record(&mut w, cpu, ts, EV_TICK, Vec::new(), None); // equal timestamps are legal
        }
        if stalled && k % 2 == 1 {
            record(&mut w, 2, ts, EV_NESTED, nested(k), None); // a burst on the stalled CPU
        }
        if k % 4 == 3 {
            for c in 0..NR_CPUS {
                if !(stalled && c == 2) {
                    w.drain_cpu(c);
                }
            }
        }
    }
    // An event larger than a packet is dropped and counted.
    let mut huge = variable(0);
    huge[0] = Value::Str(vec![b'x'; PACKET as usize]);
    assert_eq!(w.emit(0, ts, EV_VAR, &huge).unwrap(), Outcome::TooBig);
    discarded[0] += 1;
    for (cpu, &n) in discarded.iter().enumerate() {
        assert_eq!(w.discarded(cpu as u32), n);
    }
    assert!(discarded[2] > 0, "the stall must cause discards");
    let output = w.finish(ts + 1000).unwrap();
    Script { output, recs, discarded, classes: all }
}

// ---- decoding with tracemark_format only ------------------------------------------------------

fn read_int(bytes: &mut &[u8], n: usize) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..n].copy_from_slice(&bytes[..n]);
    *bytes = &bytes[n..];
    out
}

macro_rules! ne {
    ($bytes:expr, $ty:ty) => {{
        let raw = read_int($bytes, std::mem::size_of::<$ty>());
        <$ty>::from_ne_bytes(raw[..std::mem::size_of::<$ty>()].try_into().unwrap())
    }};
}

fn decode_int(int: IntType, bytes: &mut &[u8]) -> Value {
    match int {
        IntType::U8 => Value::U8(ne!(bytes, u8)),
        IntType::U16 => Value::U16(ne!(bytes, u16)),
        IntType::U32 => Value::U32(ne!(bytes, u32)),
        IntType::U64 => Value::U64(ne!(bytes, u64)),
        IntType::I8 => Value::I8(ne!(bytes, i8)),
        IntType::I16 => Value::I16(ne!(bytes, i16)),
        IntType::I32 => Value::I32(ne!(bytes, i32)),
        IntType::I64 => Value::I64(ne!(bytes, i64)),
        IntType::Abi(a) => match a {
            AbiInt::Short => Value::Short(ne!(bytes, c_short)),
            AbiInt::UShort => Value::UShort(ne!(bytes, c_ushort)),
            AbiInt::Int => Value::Int(ne!(bytes, c_int)),
            AbiInt::UInt => Value::UInt(ne!(bytes, c_uint)),
            AbiInt::Long => Value::Long(ne!(bytes, c_long)),
            AbiInt::ULong => Value::ULong(ne!(bytes, c_ulong)),
            AbiInt::LongLong => Value::LongLong(ne!(bytes, c_longlong)),
            AbiInt::ULongLong => Value::ULongLong(ne!(bytes, c_ulonglong)),
            AbiInt::SizeT => Value::SizeT(ne!(bytes, usize)),
            AbiInt::SSizeT => Value::SSizeT(ne!(bytes, isize)),
            AbiInt::Pointer => Value::Pointer(ne!(bytes, usize)),
        },
    }
}

fn decode_value(ty: &TypeDesc, bytes: &mut &[u8]) -> Value {
    match ty {
        TypeDesc::Bool => {
            let b = ne!(bytes, u8);
            assert!(b <= 1, "bool byte {b}");
            Value::Bool(b == 1)
        }
        TypeDesc::Int(int) | TypeDesc::Enum { repr: int, .. } => decode_int(*int, bytes),
        TypeDesc::F32 => Value::F32(f32::from_bits(ne!(bytes, u32))),
        TypeDesc::F64 => Value::F64(f64::from_bits(ne!(bytes, u64))),
        TypeDesc::String => {
            let nul = bytes.iter().position(|&b| b == 0).expect("NUL-terminated");
            let s = bytes[..nul].to_vec();
            *bytes = &bytes[nul + 1..];
            Value::Str(s)
        }
        TypeDesc::Blob => {
            let len = ne!(bytes, u32) as usize;
            let b = bytes[..len].to_vec();
            *bytes = &bytes[len..];
            Value::Blob(b)
        }
        TypeDesc::Array { len, element } => {
            Value::Array((0..*len).map(|_| decode_value(element, bytes)).collect())
        }
        TypeDesc::Sequence { element } => {
            let n = ne!(bytes, u32);
            Value::Sequence((0..n).map(|_| decode_value(element, bytes)).collect())
        }
        TypeDesc::Struct(fields) => {
            Value::Struct(fields.iter().map(|f| decode_value(&f.ty, bytes)).collect())
        }
    }
}

fn layout_fields(class: &EventClass) -> Vec<Field> {
    class.fields().unwrap().into_owned()
}

/// Values equal, floats compared by bits.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y))
        | (Value::Sequence(x), Value::Sequence(y))
        | (Value::Struct(x), Value::Struct(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

fn check_header(h: &PacketHeader, order: ByteOrder, packet: &[u8], uuid: [u8; 16]) {
    assert_eq!(order, ByteOrder::NATIVE, "the C writer writes the host's byte order");
    assert_eq!((h.version_major, h.version_minor, h.header_len), (1, 1, 80));
    assert_eq!(h.trace_uuid, uuid);
    assert_eq!(h.packet_size as usize, packet.len());
    assert!(h.flags.0 & PacketFlags::HAS_CRC != 0);
    assert_eq!(Some(h.crc32), packet_crc(packet, h.content_size as usize), "§4.4 CRC");
    assert!(packet[h.content_size as usize..].iter().all(|&b| b == 0), "padding is zeroed");
    assert!(h.timestamp_begin <= h.timestamp_end);
}

#[test]
fn format_level_decode_finds_every_value() {
    let s = run_script();
    let cfg = config();

    // Metadata: every record, in order.
    let mut records = Vec::new();
    for (seq, packet) in s.output.metadata_packets().into_iter().enumerate() {
        let (h, order) = PacketHeader::decode(packet).unwrap();
        check_header(&h, order, packet, cfg.trace_uuid);
        assert!(h.is_metadata());
        assert_eq!((h.stream_class_id, h.stream_instance_id, h.sequence), (0, 0, seq as u64));
        for record in RecordIter::new(&packet[80..h.content_size as usize], order) {
            records.push(record.unwrap().1);
        }
    }
    let Record::Trace(trace) = &records[0] else { panic!("TRACE first (§7.3): {:?}", records[0]) };
    assert_eq!(trace.uuid, cfg.trace_uuid);
    assert_eq!(trace.abi, Abi::HOST);
    assert_eq!(
        [
            &trace.os_name,
            &trace.os_release,
            &trace.architecture,
            &trace.hostname,
            &trace.tracer_name,
            &trace.tracer_version
        ],
        [
            &cfg.trace.os_name,
            &cfg.trace.os_release,
            &cfg.trace.architecture,
            &cfg.trace.hostname,
            &cfg.trace.tracer_name,
            &cfg.trace.tracer_version
        ]
    );
    // §7.3: the copy of TRACE, directly after it.
    assert_eq!(records[1], records[0]);
    assert_eq!(records[2], Record::Clock(cfg.clock.clone()));
    assert!(
        matches!(&records[3], Record::StreamClass(sc) if sc.id == 0 && sc.clock_id == 0 && sc.name == "probe")
    );
    assert!(
        matches!(&records[4], Record::Env(e) if e.key == "domain" && e.value == EnvValue::Str("binding-test".into()))
    );
    assert!(matches!(&records[5], Record::Env(e) if e.key == "nr_cpus" && e.value == EnvValue::Int(3)));
    let declared: Vec<&EventClass> =
        records.iter().filter_map(|r| if let Record::EventClass(c) = r { Some(c) } else { None }).collect();
    assert_eq!(declared.len(), s.classes.len());
    for (got, want) in declared.iter().zip(&s.classes) {
        assert_eq!(
            (got.id, got.stream_class_id, got.log_level),
            (want.id, want.stream_class_id, want.log_level)
        );
        assert_eq!((&got.name, &got.layout), (&want.name, &want.layout));
        assert_eq!(got.identity, identity_hash(&want.name, &want.layout), "§7.8 identity of {}", want.name);
    }
    let by_id: HashMap<u32, &EventClass> = s.classes.iter().map(|c| (c.id, c)).collect();

    // Data: every packet and record of every stream.
    let mut decoded: Vec<Rec> = Vec::new();
    let mut extended = 0;
    for stream in &s.output.streams {
        let mut last_end = 0;
        let mut last_discarded = 0;
        for (seq, packet) in stream.packets.iter().enumerate() {
            let (h, order) = PacketHeader::decode(packet).unwrap();
            check_header(&h, order, packet, cfg.trace_uuid);
            assert!(!h.is_metadata());
            assert_eq!((h.stream_class_id, h.stream_instance_id), (0, stream.cpu));
            assert_eq!(h.sequence, seq as u64, "§1.6: no gap in discard mode");
            assert!(h.timestamp_begin >= last_end, "§4.5");
            assert!(h.events_discarded >= last_discarded);
            last_end = h.timestamp_end;
            last_discarded = h.events_discarded;
            let mut content = &packet[80..h.content_size as usize];
            let mut prev = h.timestamp_begin;
            while !content.is_empty() {
                let (eh, len) = HeaderWord::Wide.decode(content, order).unwrap();
                content = &content[len..];
                if len == 20 {
                    extended += 1;
                }
                let ts = eh.timestamp(prev).expect("§1.7");
                assert!(ts <= h.timestamp_end);
                prev = ts;
                let class = by_id[&eh.id()];
                let values = layout_fields(class).iter().map(|f| decode_value(&f.ty, &mut content)).collect();
                decoded.push(Rec { cpu: stream.cpu, ts, id: eh.id(), values });
            }
        }
        assert_eq!(last_discarded, s.discarded[stream.cpu as usize], "§10.1 counter of cpu {}", stream.cpu);
    }
    // Extended headers: every big-ID event plus the one after the 2^48 jump.
    let big = s.recs.iter().filter(|r| r.id == EV_BIG).count();
    assert!(extended > big, "{extended} extended headers, {big} big-ID events");

    assert_eq!(decoded.len(), s.recs.len());
    for cpu in 0..NR_CPUS {
        let got = decoded.iter().filter(|r| r.cpu == cpu);
        let want = s.recs.iter().filter(|r| r.cpu == cpu);
        for (i, (g, w)) in got.zip(want).enumerate() {
            assert_eq!((g.ts, g.id), (w.ts, w.id), "cpu {cpu} event {i}");
            assert_eq!(g.values.len(), w.values.len());
            for (a, b) in g.values.iter().zip(&w.values) {
                assert!(same(a, b), "cpu {cpu} event {i} (id {}): decoded {a:?}, written {b:?}", w.id);
            }
        }
    }
}

// ---- decoding with tracemark-reader -------------------------------------------------------------

use tracemark_reader::{DiagnosticKind, Integer, Item, Trace};

fn label_for(ty: &TypeDesc, v: &Value) -> Option<String> {
    let TypeDesc::Enum { repr, mappings } = ty else { return None };
    let wide: i128 = match *v {
        Value::U8(x) => x.into(),
        Value::Long(x) => x.into(),
        _ => unreachable!("enum reprs used here"),
    };
    mappings
        .iter()
        .find(|m| {
            if repr.is_signed() {
                (m.lo as i64 as i128..=m.hi as i64 as i128).contains(&wide)
            } else {
                (m.lo as i128..=m.hi as i128).contains(&wide)
            }
        })
        .map(|m| m.label.clone())
}

fn reader_matches(ty: &TypeDesc, got: &tracemark_reader::Value<'_>, want: &Value) -> bool {
    use tracemark_reader::Value as R;
    let unsigned = |x: u64| matches!(got, R::Unsigned(g) if *g == x);
    let signed = |x: i64| matches!(got, R::Signed(g) if *g == x);
    if let TypeDesc::Enum { .. } = ty {
        let R::Enum { value, label } = got else { return false };
        let value_ok = match (*value, want) {
            (Integer::Unsigned(g), Value::U8(x)) => g == u64::from(*x),
            (Integer::Signed(g), Value::Long(x)) => g == *x as i64,
            _ => false,
        };
        return value_ok && label.map(str::to_owned) == label_for(ty, want);
    }
    match want {
        Value::Bool(x) => matches!(got, R::Bool(g) if g == x),
        Value::U8(x) => unsigned((*x).into()),
        Value::U16(x) => unsigned((*x).into()),
        Value::U32(x) => unsigned((*x).into()),
        Value::U64(x) => unsigned(*x),
        Value::UShort(x) => unsigned((*x).into()),
        Value::UInt(x) => unsigned((*x).into()),
        Value::ULong(x) => unsigned(*x as u64),
        Value::ULongLong(x) => unsigned(*x),
        Value::SizeT(x) | Value::Pointer(x) => unsigned(*x as u64),
        Value::I8(x) => signed((*x).into()),
        Value::I16(x) => signed((*x).into()),
        Value::I32(x) => signed((*x).into()),
        Value::I64(x) => signed(*x),
        Value::Short(x) => signed((*x).into()),
        Value::Int(x) => signed((*x).into()),
        Value::Long(x) => signed(*x as i64),
        Value::LongLong(x) => signed(*x),
        Value::SSizeT(x) => signed(*x as i64),
        Value::F32(x) => matches!(got, R::F32(g) if g.to_bits() == x.to_bits()),
        Value::F64(x) => matches!(got, R::F64(g) if g.to_bits() == x.to_bits()),
        Value::Str(x) => matches!(got, R::Str(g) if g == x),
        Value::Blob(x) => matches!(got, R::Blob(g) if g == x),
        Value::Array(xs) | Value::Sequence(xs) => {
            let element = match ty {
                TypeDesc::Array { element, .. } | TypeDesc::Sequence { element } => element,
                _ => return false,
            };
            let gs = match (got, want) {
                (R::Array(gs), Value::Array(_)) | (R::Sequence(gs), Value::Sequence(_)) => gs,
                _ => return false,
            };
            gs.len() == xs.len() && gs.iter().zip(xs).all(|(g, x)| reader_matches(element, g, x))
        }
        Value::Struct(xs) => {
            let (TypeDesc::Struct(fields), R::Struct(gs)) = (ty, got) else { return false };
            gs.len() == xs.len()
                && fields
                    .iter()
                    .zip(gs)
                    .zip(xs)
                    .all(|((f, (name, g)), x)| f.name == *name && reader_matches(&f.ty, g, x))
        }
    }
}

#[test]
fn reader_decodes_the_same_events_and_reports_the_discards() {
    let s = run_script();
    let by_id: HashMap<u32, &EventClass> = s.classes.iter().map(|c| (c.id, c)).collect();
    {
        let trace = Trace::from_bytes(s.output.single_file()).expect("opens");
        assert!(trace.diagnostics().is_empty(), "{:?}", trace.diagnostics());
        assert_eq!(trace.metadata().trace_info().abi, Abi::HOST);
        for stream in trace.streams() {
            let cpu = stream.id().instance;
            let mut want = s.recs.iter().filter(|r| r.cpu == cpu);
            let mut discards = 0;
            for item in stream {
                match item {
                    Item::Event(e) => {
                        let w = want.next().expect("no more events written");
                        assert_eq!((e.timestamp(), e.id(), e.stream().class), (w.ts, w.id, 0));
                        let fields = layout_fields(by_id[&w.id]);
                        assert_eq!(e.fields().len(), fields.len());
                        for ((field, (name, got)), value) in fields.iter().zip(e.fields()).zip(&w.values) {
                            assert_eq!(field.name, *name);
                            assert!(
                                reader_matches(&field.ty, got, value),
                                "cpu {cpu} {} {name}: read {got:?}, written {value:?}",
                                e.name()
                            );
                        }
                    }
                    Item::Diagnostic(d) => match d.kind {
                        DiagnosticKind::DiscardedEvents { count, .. } => discards += count,
                        other => panic!("unexpected diagnostic {other:?}"),
                    },
                }
            }
            assert!(want.next().is_none(), "cpu {cpu}: events missing");
            assert_eq!(discards, s.discarded[cpu as usize]);
        }
    }
}

#[test]
fn same_script_gives_identical_bytes() {
    let a = run_script().output;
    let b = run_script().output;
    assert_eq!(a, b);
    let dir = std::env::temp_dir().join(format!("tracemark-probe-binding-{}", std::process::id()));
    a.write_dir(&dir).unwrap();
    let trace = Trace::open(&dir).unwrap();
    let n = trace.events().filter(|i| matches!(i, Item::Event(_))).count();
    assert_eq!(n, run_script().recs.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- misuse never reaches C -------------------------------------------------------------------------

#[test]
fn misuse_is_refused_in_rust_or_by_the_c_validators() {
    for bad in [
        Config { packet_size: 1000, ..Config::default() },
        Config { packet_size: 128, ..Config::default() },
        Config { nr_subbufs: 1, ..Config::default() },
        Config { nr_subbufs: 3, ..Config::default() },
        Config { nr_cpus: 0, ..Config::default() },
        Config { metadata_packet_size: 100, ..Config::default() },
        Config { metadata_max_packets: 0, ..Config::default() },
    ] {
        assert!(matches!(Writer::new(bad), Err(Error::Config(_))));
    }
    let mut nul = Config::default();
    nul.trace.hostname = "a\0b".into();
    assert_eq!(Writer::new(nul).unwrap_err(), Error::Nul);
    let mut zero_freq = Config::default();
    zero_freq.clock.frequency = 0;
    assert_eq!(Writer::new(zero_freq).unwrap_err(), Error::C(-22), "§7.4 checked by C");

    let mut w = Writer::new(Config { nr_cpus: 2, ..Config::default() }).unwrap();
    let u32_field = |name: &str| Field::new(name, int(IntType::U32));
    // The C metadata encoder's own checks (§7.2, §7.7, §8, §7.6).
    for bad in [
        EventClass::new(1, 0, "dup", Layout::Fields(vec![u32_field("a"), u32_field("a")])),
        EventClass::new(1, 0, "badname", Layout::Fields(vec![u32_field("1a")])),
        EventClass::new(1, 0, "", Layout::Fields(vec![])),
        EventClass::new(
            1,
            0,
            "zero",
            Layout::Fields(vec![Field::new("z", TypeDesc::array(3, TypeDesc::Struct(vec![])))]),
        ),
        EventClass::new(1, 0, "fmt", Layout::Marker("a %q".into())),
        EventClass { log_level: 9, ..EventClass::new(1, 0, "lvl", Layout::Fields(vec![])) },
    ] {
        assert_eq!(w.register(&bad), Err(Error::C(-22)), "{}", bad.name);
    }
    let mut deep = int(IntType::U8);
    for _ in 0..40 {
        deep = TypeDesc::array(1, deep);
    }
    assert_eq!(
        w.register(&EventClass::new(1, 0, "deep", Layout::Fields(vec![Field::new("d", deep)]))),
        Err(Error::C(-22))
    );
    let mut deeper = int(IntType::U8);
    for _ in 0..70 {
        deeper = TypeDesc::sequence(deeper);
    }
    let deeper_class = EventClass::new(1, 0, "deeper", Layout::Fields(vec![Field::new("d", deeper)]));
    assert!(matches!(w.register(&deeper_class), Err(Error::BadClass(_))), "refused before C recurses");
    assert_eq!(w.register(&EventClass::new(1, 0, "n\0ul", Layout::Fields(vec![]))), Err(Error::Nul));

    let class =
        EventClass::new(1, 0, "ok", Layout::Fields(vec![u32_field("a"), Field::new("s", TypeDesc::String)]));
    w.register(&class).unwrap();
    assert_eq!(w.register(&class), Err(Error::DuplicateClass(1)));
    w.register(&EventClass::new(2, 0, "m", Layout::Marker("a %hhd s %s".into()))).unwrap();
    w.register(&EventClass::new(3, 9, "foreign", Layout::Fields(vec![]))).unwrap();

    let good = [Value::U32(1), Value::str("x")];
    assert_eq!(w.emit(2, 10, 1, &good), Err(Error::NoSuchCpu(2)));
    assert_eq!(w.emit(0, 10, 99, &good), Err(Error::UnknownClass(99)));
    assert_eq!(w.emit(0, 10, 3, &[]), Err(Error::ForeignStreamClass(3)));
    assert_eq!(w.emit(0, 10, 2, &good), Err(Error::WrongLayout(2)));
    assert_eq!(w.marker(0, 10, 1, &[]), Err(Error::WrongLayout(1)));
    for bad in [
        vec![Value::U32(1)],
        vec![Value::U64(1), Value::str("x")],
        vec![Value::U32(1), Value::Str(b"a\0b".to_vec())],
        vec![Value::U32(1), Value::Blob(vec![])],
    ] {
        assert!(matches!(w.emit(0, 10, 1, &bad), Err(Error::Payload(_))), "{bad:?}");
    }
    for bad in [
        vec![MarkerArg::Int(1)],
        vec![MarkerArg::Int(200), MarkerArg::Str(vec![])],
        vec![MarkerArg::UInt(1), MarkerArg::Str(vec![])],
        vec![MarkerArg::Int(1), MarkerArg::Int(0)],
        vec![MarkerArg::Int(1), MarkerArg::Str(vec![b'a', 0])],
        vec![MarkerArg::Int(1), MarkerArg::Str(vec![b'a'; 65536])],
    ] {
        assert!(matches!(w.marker(0, 10, 2, &bad), Err(Error::Payload(_))), "{bad:?}");
    }
    assert_eq!(w.emit(0, 10, 1, &good), Ok(Outcome::Recorded));
    assert_eq!(w.emit(0, 9, 1, &good), Err(Error::TimestampBackwards { cpu: 0, last: 10, ts: 9 }));
    assert_eq!(w.flush_cpu(0, 5), Err(Error::TimestampBackwards { cpu: 0, last: 10, ts: 5 }));
    assert_eq!(
        w.marker(1, 3, 2, &[MarkerArg::Int(-128), MarkerArg::Str(b"s".to_vec())]),
        Ok(Outcome::Recorded)
    );
    // Misuse refused, the writer still works and the trace still reads cleanly.
    let out = w.finish(20).unwrap();
    let trace = Trace::from_bytes(out.single_file()).unwrap();
    let events: Vec<_> = trace.events().filter_map(Item::event).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!((events[0].name(), events[0].timestamp()), ("m", 3));
    assert_eq!((events[1].name(), events[1].timestamp()), ("ok", 10));
}

// ---- overwrite (flight-recorder) mode ------------------------------------------------------------

#[test]
fn overwrite_mode_keeps_the_newest_packets_and_the_reader_sees_the_gap() {
    let mut w = Writer::new(Config {
        packet_size: 256,
        nr_subbufs: 4,
        auto_drain: false,
        overwrite: true,
        ..config()
    })
    .unwrap();
    let class = EventClass::new(1, 0, "n", Layout::Fields(vec![Field::new("n", int(IntType::U64))]));
    w.register(&class).unwrap();
    // 256-byte packets hold (256 - 80) / 16 = 11 records: 200 events make 19 packets, 15 overwritten.
    for n in 0..200u64 {
        assert_eq!(w.emit(0, 1000 + n, 1, &[Value::U64(n)]).unwrap(), Outcome::Recorded);
    }
    w.flush(5000).unwrap();
    let snapshot = w.snapshot(0);
    assert_eq!(snapshot.len(), 4);
    assert_eq!(w.overwritten(0), 15);
    assert_eq!(w.discarded(0), 0);
    assert_eq!(w.snapshot(0), snapshot, "a snapshot does not consume");
    let seqs: Vec<u64> = snapshot.iter().map(|p| PacketHeader::decode(p).unwrap().0.sequence).collect();
    assert_eq!(seqs, [15, 16, 17, 18], "sequence numbers keep counting through overwrites");

    let mut output = w.output();
    output.streams[0].packets = snapshot;
    let trace = Trace::from_bytes(output.single_file()).unwrap();
    let mut events = Vec::new();
    let mut gap = None;
    for item in trace.events() {
        match item {
            Item::Event(e) => events.push(e.fields()[0].1.as_u64().unwrap()),
            Item::Diagnostic(d) => match d.kind {
                DiagnosticKind::PacketGap { missing } => gap = Some(missing),
                other => panic!("unexpected {other:?}"),
            },
        }
    }
    assert_eq!(gap, Some(15), "§10.2");
    assert_eq!(events, (165..200).collect::<Vec<_>>(), "the newest 35 events, each once");

    // A live consumer in overwrite mode: taking packets as they complete loses nothing.
    let mut w = Writer::new(Config {
        packet_size: 256,
        nr_subbufs: 2,
        overwrite: true,
        auto_drain: true,
        ..config()
    })
    .unwrap();
    w.register(&class).unwrap();
    for n in 0..100u64 {
        w.emit(1, n, 1, &[Value::U64(n)]).unwrap();
    }
    assert_eq!(w.overwritten(1), 0);
    let out = w.finish(100).unwrap();
    assert_eq!(out.streams[1].packets.len(), 10);
    let trace = Trace::from_bytes(out.single_file()).unwrap();
    assert_eq!(trace.events().filter_map(Item::event).count(), 100);
}
