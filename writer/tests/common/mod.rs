//! A minimal, independent decoder for the writer's tests (the real reader lives in reader/).
#![allow(dead_code)]

use std::collections::BTreeMap;

use tracemark_format::{
    crc::packet_crc, metadata::RecordIter, Abi, ByteOrder, EventClass, HeaderWord, IntType, PacketHeader,
    Record, TypeDesc, PACKET_HEADER_LEN,
};

#[derive(Debug, Clone)]
pub struct Packet {
    pub header: PacketHeader,
    pub order: ByteOrder,
    pub bytes: Vec<u8>,
}

impl Packet {
    pub fn content(&self) -> &[u8] {
        &self.bytes[PACKET_HEADER_LEN..self.header.content_size as usize]
    }
}

/// Walks packets by `packet_size`, decoding and validating each header and checking its CRC
/// and zeroed padding.
pub fn split_packets(mut bytes: &[u8]) -> Vec<Packet> {
    let mut packets = Vec::new();
    while !bytes.is_empty() {
        let (header, order) = PacketHeader::decode(bytes).expect("valid header");
        let size = header.packet_size as usize;
        let packet = &bytes[..size];
        if header.flags.has_crc() {
            assert_eq!(packet_crc(packet, header.content_size as usize), Some(header.crc32), "CRC");
        } else {
            assert_eq!(header.crc32, 0);
        }
        assert!(packet[header.content_size as usize..].iter().all(|&b| b == 0), "padding zeroed");
        packets.push(Packet { header, order, bytes: packet.to_vec() });
        bytes = &bytes[size..];
    }
    packets
}

pub fn records(packets: &[Packet]) -> Vec<Record> {
    packets
        .iter()
        .filter(|p| p.header.is_metadata())
        .flat_map(|p| {
            RecordIter::new(p.content(), p.order).map(|r| r.expect("valid record").1).collect::<Vec<_>>()
        })
        .collect()
}

pub fn abi(records: &[Record]) -> Abi {
    match &records[0] {
        Record::Trace(trace) => trace.abi,
        other => panic!("first record is not TRACE: {other:?}"),
    }
}

pub fn classes(records: &[Record]) -> BTreeMap<u32, EventClass> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::EventClass(class) => Some((class.id, class.clone())),
            _ => None,
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    UInt(u64),
    Int(i64),
    F32(f32),
    F64(f64),
    Str(Vec<u8>),
    Blob(Vec<u8>),
    List(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: u32,
    pub timestamp: u64,
    pub header_len: usize,
    pub fields: Vec<(String, Value)>,
}

impl Event {
    pub fn field(&self, name: &str) -> &Value {
        &self.fields.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no field {name}")).1
    }
}

fn int(abi: &Abi, int: IntType, bytes: &[u8], pos: &mut usize) -> Value {
    let size = int.size(abi) as usize;
    let order = abi.byte_order;
    let value = if int.is_signed() {
        Value::Int(order.read_int(&bytes[*pos..], size).expect("int"))
    } else {
        Value::UInt(order.read_uint(&bytes[*pos..], size).expect("uint"))
    };
    *pos += size;
    value
}

pub fn decode_value(ty: &TypeDesc, abi: &Abi, bytes: &[u8], pos: &mut usize) -> Value {
    let order = abi.byte_order;
    match ty {
        TypeDesc::Bool => {
            *pos += 1;
            Value::Bool(match bytes[*pos - 1] {
                0 => false,
                1 => true,
                other => panic!("bad bool {other}"),
            })
        }
        TypeDesc::Int(it) | TypeDesc::Enum { repr: it, .. } => int(abi, *it, bytes, pos),
        TypeDesc::F32 => {
            *pos += 4;
            Value::F32(f32::from_bits(order.read_u32(&bytes[*pos - 4..]).unwrap()))
        }
        TypeDesc::F64 => {
            *pos += 8;
            Value::F64(f64::from_bits(order.read_u64(&bytes[*pos - 8..]).unwrap()))
        }
        TypeDesc::String => {
            let len = bytes[*pos..].iter().position(|&b| b == 0).expect("NUL");
            let text = bytes[*pos..*pos + len].to_vec();
            *pos += len + 1;
            Value::Str(text)
        }
        TypeDesc::Blob => {
            let len = order.read_u32(&bytes[*pos..]).unwrap() as usize;
            *pos += 4;
            let blob = bytes[*pos..*pos + len].to_vec();
            *pos += len;
            Value::Blob(blob)
        }
        TypeDesc::Array { len, element } => {
            Value::List((0..*len).map(|_| decode_value(element, abi, bytes, pos)).collect())
        }
        TypeDesc::Sequence { element } => {
            let count = order.read_u32(&bytes[*pos..]).unwrap();
            *pos += 4;
            Value::List((0..count).map(|_| decode_value(element, abi, bytes, pos)).collect())
        }
        TypeDesc::Struct(fields) => {
            Value::List(fields.iter().map(|f| decode_value(&f.ty, abi, bytes, pos)).collect())
        }
    }
}

/// Decodes every record of a data packet.
pub fn events(packet: &Packet, classes: &BTreeMap<u32, EventClass>, abi: &Abi) -> Vec<Event> {
    assert!(!packet.header.is_metadata());
    let content = &packet.bytes[..packet.header.content_size as usize];
    let mut pos = PACKET_HEADER_LEN;
    let mut prev = packet.header.timestamp_begin;
    let mut out = Vec::new();
    while pos < content.len() {
        let word = HeaderWord::of(packet.header.flags);
        let (header, header_len) = word.decode(&content[pos..], packet.order).expect("event header");
        let timestamp = header.timestamp(prev).expect("non-decreasing");
        prev = timestamp;
        pos += header_len;
        let class = classes.get(&header.id()).unwrap_or_else(|| panic!("undeclared event {}", header.id()));
        let fields = class
            .fields()
            .unwrap()
            .iter()
            .map(|f| (f.name.clone(), decode_value(&f.ty, abi, content, &mut pos)))
            .collect();
        out.push(Event { id: header.id(), timestamp, header_len, fields });
    }
    assert_eq!(pos, content.len());
    assert!(prev <= packet.header.timestamp_end);
    out
}

/// Decodes a whole single-file trace: (records, data packets, events per data packet).
pub fn decode_all(bytes: &[u8]) -> (Vec<Record>, Vec<Packet>, Vec<Event>) {
    let packets = split_packets(bytes);
    let records = records(&packets);
    let abi = abi(&records);
    let classes = classes(&records);
    let data: Vec<Packet> = packets.into_iter().filter(|p| !p.header.is_metadata()).collect();
    let events = data.iter().flat_map(|p| events(p, &classes, &abi)).collect();
    (records, data, events)
}

pub mod kinds {
    //! An event with every field kind.
    use tracemark_writer::{
        enum_type, event, struct_type, Blob, ByteStr, CInt, CLong, CLongLong, CShort, CUInt, CULong,
        CULongLong, CUShort, Pointer, SSizeT, SizeT,
    };

    enum_type! {
        /// Task state.
        pub enum TaskState: CLong { Running = 0, Sleeping = 1, Dead = 64 }
    }

    enum_type! {
        /// Priority bands.
        pub struct Prio(i8) { "rt" = -100..=-1, "normal" = 0..=39 }
    }

    struct_type! {
        /// A nested struct.
        #[derive(Debug, Clone, Copy)]
        pub struct Point { pub x: i32, pub y: u8 }

        /// A struct with a variable-size field.
        #[derive(Debug, Clone, Copy)]
        pub struct Named<'a> { pub name: &'a str, pub at: Point }
    }

    event! {
        /// Every kind of field.
        pub struct AllKinds<'a>("all_kinds", log_level = 7) {
            pub flag: bool,
            pub a: u8, pub b: u16, pub c: u32, pub d: u64,
            pub e: i8, pub f: i16, pub g: i32, pub h: i64,
            pub fl: f32, pub db: f64,
            pub short: CShort, pub ushort: CUShort, pub int: CInt, pub uint: CUInt,
            pub long: CLong, pub ulong: CULong, pub llong: CLongLong, pub ullong: CULongLong,
            pub size: SizeT, pub ssize: SSizeT, pub ptr: Pointer,
            pub text: &'a str,
            pub bytes: ByteStr<'a>,
            pub blob: Blob<'a>,
            pub array: [u16; 3],
            pub seq: &'a [i32],
            pub strings: &'a [&'a str],
            pub state: TaskState,
            pub prio: Prio,
            pub point: Point,
            pub named: &'a [Named<'a>],
            pub grid: [[u8; 2]; 2],
        }
    }

    pub fn sample<'a>(text: &'a str, seq: &'a [i32], named: &'a [Named<'a>]) -> AllKinds<'a> {
        AllKinds {
            flag: true,
            a: 1,
            b: 2,
            c: 3,
            d: 4,
            e: -5,
            f: -6,
            g: -7,
            h: -8,
            fl: 1.5,
            db: -2.25,
            short: CShort(-9),
            ushort: CUShort(10),
            int: CInt(-11),
            uint: CUInt(12),
            long: CLong(-13),
            ulong: CULong(0x1_0000_0014),
            llong: CLongLong(-15),
            ullong: CULongLong(16),
            size: SizeT(17),
            ssize: SSizeT(-18),
            ptr: Pointer(0xFFFF_FFFF_0000_1234),
            text,
            bytes: ByteStr(b"\xFFraw"),
            blob: Blob(b"\x00\x01\x02"),
            array: [1, 2, 3],
            seq,
            strings: &["x", "", "yz"],
            state: TaskState::Dead,
            prio: Prio(-3),
            point: Point { x: -1, y: 2 },
            named,
            grid: [[1, 2], [3, 4]],
        }
    }
}
