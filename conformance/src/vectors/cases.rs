//! The cases: every vector, declared. Add one here, then regenerate with
//! `TRACEMARK_UPDATE_VECTORS=1 cargo test -p tracemark-conformance --test vectors`.
//!
//! Described traces start from [`base`]: a little-endian LP64 trace whose first metadata
//! packet (packet 0) holds, in order, TRACE (record 0), the clock (1), stream class 0 (2) and
//! the classes `tick` (3, ID 1), `msg` (4, ID 2), `items` (5, ID 3) and `flag` (6, ID 4).

use tracemark_format::{
    compress::Codec, Abi, ByteOrder, ClockClass, EnumMapping, EnvEntry, EnvValue, EventClass, Field, IntType,
    Layout, PacketFlags, StreamClass, TypeDesc,
};

use super::{
    error,
    model::{
        class, data, ev, field_type_offset, meta, trace_info, vector_clock, Body, CompressionLie, Data,
        Delivered, Ev, EventDamage, FileDamage, HeaderEdit, IndexLie, Loc, Meta, MetaDamage, Packet,
        TraceDesc,
    },
    notice, warning, Case, Form, Outcome, Step, TraceSource, WriterScript,
};
use crate::{harness, ClassSpec, Val};

const LE64: Abi = Abi::lp64(ByteOrder::Little);

fn u(int: IntType) -> TypeDesc {
    TypeDesc::Int(int)
}

/// `tick` (ID 1): `n: u32`.
pub fn tick() -> EventClass {
    class(1, "tick", vec![Field::new("n", u(IntType::U32))])
}

/// `msg` (ID 2): `len: u16, text: string`.
pub fn msg() -> EventClass {
    class(2, "msg", vec![Field::new("len", u(IntType::U16)), Field::new("text", TypeDesc::String)])
}

/// `items` (ID 3): `values: sequence<u32>`.
pub fn items() -> EventClass {
    class(3, "items", vec![Field::new("values", TypeDesc::sequence(u(IntType::U32)))])
}

/// `flag` (ID 4): `on: bool`.
pub fn flag() -> EventClass {
    class(4, "flag", vec![Field::new("on", TypeDesc::Bool)])
}

/// The base described trace.
pub fn base() -> TraceDesc {
    TraceDesc::new(LE64, vec![tick(), msg(), items(), flag()])
}

fn t(ts: u64, n: u64) -> Ev {
    ev(1, ts, vec![Val::U(n)])
}

fn m(ts: u64, text: &[u8]) -> Ev {
    ev(2, ts, vec![Val::U(text.len() as u64), Val::Str(text.to_vec())])
}

/// `last_compact` (ID 0xFE): `n: u32`, the last ID a narrow compact header holds (§5.1).
fn last_compact() -> EventClass {
    class(0xFE, "last_compact", vec![Field::new("n", u(IntType::U32))])
}

/// `escape_id` (ID 0xFF): `n: u32`, the narrow word's escape ID, always extended (§5.4).
fn escape_id() -> EventClass {
    class(0xFF, "escape_id", vec![Field::new("n", u(IntType::U32))])
}

/// `past_narrow` (ID 0x1FF): `n: u32`, beyond the narrow word's 8 bits of ID.
fn past_narrow() -> EventClass {
    class(0x1FF, "past_narrow", vec![Field::new("n", u(IntType::U32))])
}

/// `kept` (ID 8): `v: u8`, declared with a check (§7.2).
fn kept_class() -> EventClass {
    class(8, "kept", vec![Field::new("v", u(IntType::U8))])
}

/// `flipped` (ID 9): `v: u8`, whose checked declaration a vector damages.
fn flipped_class() -> EventClass {
    class(9, "flipped", vec![Field::new("v", u(IntType::U8))])
}

fn damaged(event: Ev, damage: EventDamage) -> Ev {
    Ev { damage: Some(damage), ..event }
}

fn delivered(data: Data, delivered: Delivered) -> Data {
    Data { delivered, ..data }
}

fn with_edits(data: Data, edits: &[HeaderEdit]) -> Packet {
    edits.iter().fold(Packet::from(data), |packet, edit| packet.edit(*edit))
}

/// Three ordinary data packets of CPU 0 (packets 1, 2, 3), two events each.
fn three_packets(desc: TraceDesc, middle: impl FnOnce(Data) -> Packet) -> TraceDesc {
    desc.packet(data(0, vec![t(100, 1), m(110, b"one")]))
        .packet(middle(data(0, vec![t(200, 2), m(210, b"two")])))
        .packet(data(0, vec![t(300, 3), m(310, b"three")]))
}

fn emits(events: Vec<crate::EventSpec>) -> Vec<Step> {
    events
        .into_iter()
        .map(|event| Step::Emit {
            class: event.class,
            cpu: event.cpu,
            ts: event.timestamp,
            values: event.values,
        })
        .collect()
}

fn every_type(name: &'static str, abi: Abi, form: Form) -> Case {
    Case {
        name,
        about: "every payload type (fixed, ABI-sized, string, blob, array, sequence, enum, nested struct)",
        exercises: &[],
        form,
        source: TraceSource::Writer(WriterScript {
            abi,
            packet_size: 1024,
            first_event_id: 0,
            classes: harness::every_type_classes(),
            steps: emits(harness::every_type_events(12, 2)),
        }),
        expect: vec![],
        outcome: Outcome::Decoded,
    }
}

fn case(
    name: &'static str,
    about: &'static str,
    exercises: &'static [&'static str],
    desc: TraceDesc,
) -> Case {
    Case {
        name,
        about,
        exercises,
        form: Form::SingleFile,
        source: TraceSource::Desc(desc),
        expect: vec![],
        outcome: Outcome::Decoded,
    }
}

impl Case {
    fn expect(mut self, expect: Vec<super::Expect>) -> Case {
        self.expect = expect;
        self
    }

    fn directory(mut self) -> Case {
        self.form = Form::Directory;
        self
    }

    fn outcome(mut self, outcome: Outcome) -> Case {
        self.outcome = outcome;
        self
    }
}

fn valid_cases() -> Vec<Case> {
    let tick_spec = ClassSpec::new("tick", vec![Field::new("n", u(IntType::U64))]);
    let wrap = (1u64 << 48) - 3;
    let stamps = [
        5,
        wrap,
        wrap + 7,
        wrap + 7 + (1 << 48) - 1,
        wrap + 7 + (1 << 48) - 1 + (1 << 48),
        u64::MAX - (1 << 40),
        u64::MAX,
    ];
    let interleaved = |form| Case {
        name: if form == Form::Directory { "forms-directory" } else { "forms-single-file" },
        about: "the same trace in both container forms decodes to the same events",
        exercises: &["R-9.3-1"],
        form,
        source: TraceSource::Writer(WriterScript {
            abi: Abi::ilp32(ByteOrder::Big),
            packet_size: 256,
            first_event_id: 0,
            classes: vec![tick_spec.clone()],
            steps: (0..30u64)
                .map(|n| Step::Emit {
                    class: 0,
                    cpu: (n % 3) as u32,
                    ts: 100 + n * 7,
                    values: vec![Val::U(n)],
                })
                .collect(),
        }),
        expect: vec![],
        outcome: Outcome::Decoded,
    };
    vec![
        every_type("every-type-le64", LE64, Form::SingleFile),
        every_type("every-type-be64", Abi::lp64(ByteOrder::Big), Form::SingleFile),
        every_type("every-type-le32", Abi::ilp32(ByteOrder::Little), Form::SingleFile),
        every_type("every-type-be32", Abi::ilp32(ByteOrder::Big), Form::Directory),
        Case {
            name: "extended-ids",
            about: "compact headers for ID 0xFFFE, extended headers for IDs 0xFFFF and 0x10000",
            exercises: &["R-5.4-1"],
            form: Form::SingleFile,
            source: TraceSource::Writer(WriterScript {
                abi: Abi::lp64(ByteOrder::Big),
                packet_size: 1024,
                first_event_id: 0xFFFE,
                classes: harness::every_type_classes(),
                steps: emits(harness::every_type_events(8, 1)),
            }),
            expect: vec![],
            outcome: Outcome::Decoded,
        },
        Case {
            name: "timestamp-wrap-and-gaps",
            about: "timestamps across a 2^48 boundary, gaps of 2^48 - 1 (compact) and 2^48 (extended), up to 2^64 - 1",
            exercises: &["R-5.4-1"],
            form: Form::SingleFile,
            source: TraceSource::Writer(WriterScript {
                abi: LE64,
                packet_size: 512,
                first_event_id: 0,
                classes: vec![tick_spec.clone()],
                steps: stamps
                    .iter()
                    .enumerate()
                    .map(|(n, &ts)| Step::Emit { class: 0, cpu: 0, ts, values: vec![Val::U(n as u64)] })
                    .collect(),
            }),
            expect: vec![],
            outcome: Outcome::Decoded,
        },
        Case {
            name: "markers",
            about: "marker events (§8) with every conversion, registered on first use",
            exercises: &[],
            form: Form::SingleFile,
            source: TraceSource::Writer(WriterScript {
                abi: Abi::ilp32(ByteOrder::Little),
                packet_size: 512,
                first_event_id: 0,
                classes: vec![tick_spec.clone()],
                steps: vec![
                    Step::Marker {
                        cpu: 0,
                        ts: 10,
                        name: "irq",
                        format: "irq %d name %s",
                        args: vec![Val::I(-9), Val::Str(b"eth0".to_vec())],
                    },
                    Step::Marker {
                        cpu: 0,
                        ts: 20,
                        name: "all",
                        format: "a %hhd b %hu c %x d %ld e %llu f %zd g %ju h %c p %p s %s x %f",
                        args: vec![
                            Val::I(-300),
                            Val::U(70_000),
                            Val::U(0xdead_beef_cafe),
                            Val::I(-5_000_000_000),
                            Val::U(u64::MAX),
                            Val::I(-1),
                            Val::U(1 << 60),
                            Val::U(b'z' as u64),
                            Val::U(0xffff_8000_1234_5678),
                            Val::Str("ünïcode".as_bytes().to_vec()),
                            Val::F64(-0.125),
                        ],
                    },
                    Step::Marker {
                        cpu: 1,
                        ts: 30,
                        name: "irq",
                        format: "irq %d name %s",
                        args: vec![Val::I(11), Val::Str(Vec::new())],
                    },
                ],
            }),
            expect: vec![],
            outcome: Outcome::Decoded,
        },
        Case {
            name: "metadata-appended",
            about: "an event class registered after data began: a metadata packet between data packets",
            exercises: &["R-7.10-1"],
            form: Form::SingleFile,
            source: TraceSource::Writer(WriterScript {
                abi: LE64,
                packet_size: 256,
                first_event_id: 0,
                classes: vec![tick_spec.clone(), ClassSpec::new("late", vec![Field::new("s", TypeDesc::String)])],
                steps: vec![
                    Step::Emit { class: 0, cpu: 0, ts: 10, values: vec![Val::U(1)] },
                    Step::Flush { cpu: 0 },
                    Step::Declare { class: 1 },
                    Step::Emit { class: 1, cpu: 0, ts: 20, values: vec![Val::Str(b"late".to_vec())] },
                    Step::Emit { class: 0, cpu: 0, ts: 30, values: vec![Val::U(2)] },
                ],
            }),
            expect: vec![],
            outcome: Outcome::Decoded,
        },
        Case {
            name: "discarded-events",
            about: "events the writer dropped, counted in events_discarded; an empty packet carries the count",
            exercises: &["R-10.1-1", "R-4.2-7"],
            form: Form::SingleFile,
            source: TraceSource::Writer(WriterScript {
                abi: LE64,
                packet_size: 256,
                first_event_id: 0,
                classes: vec![tick_spec.clone()],
                steps: vec![
                    Step::Emit { class: 0, cpu: 0, ts: 10, values: vec![Val::U(1)] },
                    Step::Discard { cpu: 0, ts: 11 },
                    Step::Emit { class: 0, cpu: 0, ts: 12, values: vec![Val::U(2)] },
                    Step::Flush { cpu: 0 },
                    Step::Discard { cpu: 0, ts: 20 },
                    Step::Discard { cpu: 0, ts: 21 },
                    Step::Flush { cpu: 0 },
                    Step::Emit { class: 0, cpu: 0, ts: 30, values: vec![Val::U(3)] },
                ],
            }),
            expect: vec![
                notice("R-10.1-2", Loc::StreamPacket { cpu: 0, sequence: 0 }),
                notice("R-10.1-2", Loc::StreamPacket { cpu: 0, sequence: 1 }),
            ],
            outcome: Outcome::Decoded,
        },
        interleaved(Form::SingleFile),
        interleaved(Form::Directory),
        case(
            "progress-undelivered",
            "a progress file counting 5 events written into stream 0/0, which delivers 3 (§9.5)",
            &[],
            TraceDesc {
                extra_files: vec![("progress".into(), progress_file(base().uuid, &[5, 1], 0))],
                ..base().packet(data(0, vec![t(10, 1), t(11, 2), t(12, 3)])).packet(data(1, vec![t(13, 4)]))
            },
        )
        .directory()
        .expect(vec![notice("R-9.5-2", Loc::InFile("progress", 64))]),
        case(
            "progress-partial-record",
            "a progress file whose counts match the streams, then a partial record claiming more: ignored",
            &["R-9.5-2"],
            TraceDesc {
                extra_files: vec![("progress".into(), progress_file(base().uuid, &[2, 9], 60))],
                ..base().packet(data(0, vec![t(10, 1), t(11, 2)]))
            },
        )
        .directory(),
        case(
            "progress-foreign",
            "a progress file of another trace, counting more than is delivered: ignored, with a warning",
            &[],
            TraceDesc {
                extra_files: vec![("progress".into(), progress_file([0xAB; 16], &[100], 0))],
                ..base().packet(data(0, vec![t(10, 1)]))
            },
        )
        .directory()
        .expect(vec![warning("R-9.5-2", Loc::InFile("progress", 16))]),
        case(
            "directory-extra-files",
            "a directory with an empty stream file and files that are not streams",
            &["R-9.1-1"],
            TraceDesc {
                extra_files: vec![
                    ("README.txt".into(), b"not a stream file\n".to_vec()),
                    ("expected.jsonl".into(), b"{}\n".to_vec()),
                    // A live writer's end marker (§9.4): not part of the trace.
                    ("finished".into(), Vec::new()),
                    ("stream-0-7.tmk".into(), Vec::new()),
                ],
                ..base().packet(data(0, vec![t(10, 1)])).packet(data(1, vec![m(11, b"x")]))
            },
        )
        .directory(),
        case(
            "unknown-metadata-kind",
            "metadata records of kinds this version does not define, skipped by body_len",
            &["R-7.2-1"],
            base()
                .packet(meta(vec![
                    Meta::Unknown { kind: 0x0100, body_len: 13 },
                    Meta::Unknown { kind: 0x8001, body_len: 0 },
                    Meta::Class(class(5, "after", vec![Field::new("v", u(IntType::I64))])),
                ]))
                .packet(data(0, vec![ev(5, 10, vec![Val::I(-7)]), t(11, 2)])),
        ),
        {
            let mut desc = base();
            if let Body::Metadata(records) = &mut desc.packets[0].body {
                for record in records.iter_mut() {
                    *record = Meta::Checked(Box::new(record.clone()));
                }
            }
            desc.packets[0] = desc.packets[0].clone().edit(HeaderEdit::Version(1, 1));
            case(
                "record-checks",
                "version 1.1: every metadata record carries its check, which a reader verifies",
                &["R-7.2-7", "R-7.2-8"],
                desc.packet(data(0, vec![t(10, 1), m(11, b"checked")])),
            )
        },
        case(
            "record-check-mismatch",
            "a record whose check does not match, in a packet whose CRC does: that record is not used",
            &["R-7.2-8"],
            base()
                .packet(
                    meta(vec![
                        Meta::Checked(Box::new(Meta::Class(kept_class()))),
                        Meta::Damaged(Box::new(Meta::Checked(Box::new(Meta::Class(flipped_class())))), MetaDamage::Invert(20)),
                    ])
                    .edit(HeaderEdit::Version(1, 1)),
                )
                .packet(data(0, vec![ev(8, 10, vec![Val::U(1)]), t(11, 1)]))
                .packet(delivered(data(1, vec![ev(9, 12, vec![Val::U(2)]), t(13, 2)]), Delivered::None)),
        )
        .expect(vec![error("R-7.2-8", Loc::Record(1, 1)), error("R-7.6-5", Loc::Record(3, 0))]),
        case(
            "damaged-metadata-packet",
            "a metadata packet whose CRC fails: its records whose check matches are used, the others not",
            &["R-7.2-9", "R-10.3-1"],
            base()
                .packet(
                    meta(vec![
                        Meta::Checked(Box::new(Meta::Class(kept_class()))),
                        Meta::Damaged(Box::new(Meta::Checked(Box::new(Meta::Class(flipped_class())))), MetaDamage::Invert(20)),
                        Meta::Class(class(10, "unchecked", vec![Field::new("v", u(IntType::U8))])),
                        Meta::Checked(Box::new(Meta::Class(class(11, "after", vec![Field::new("v", u(IntType::U8))])))),
                    ])
                    .edit(HeaderEdit::Version(1, 1))
                    .edit(HeaderEdit::CrcField(0xDEAD_BEEF)),
                )
                .packet(data(0, vec![ev(8, 10, vec![Val::U(1)]), ev(11, 11, vec![Val::U(4)]), t(12, 1)]))
                .packet(delivered(data(1, vec![ev(9, 13, vec![Val::U(2)]), t(14, 2)]), Delivered::None))
                .packet(delivered(data(2, vec![ev(10, 15, vec![Val::U(3)]), t(16, 3)]), Delivered::None)),
        )
        .expect(vec![
            error("R-4.4-1", Loc::Packet(1)),
            error("R-7.2-8", Loc::Record(1, 1)),
            error("R-7.2-9", Loc::InPacket(1, 80)),
            error("R-7.6-5", Loc::Record(3, 0)),
            error("R-7.6-5", Loc::Record(4, 0)),
        ]),
        {
            let newer = [HeaderEdit::Version(1, 4), HeaderEdit::HeaderExtension(16)];
            let mut desc = base();
            // A 1.4 writer checks its records (§7.2): appended fields lie before the check.
            let checked = |meta: Meta| Meta::Checked(Box::new(meta));
            desc.packets[0] = meta(vec![
                checked(Meta::Trace),
                checked(Meta::Damaged(Box::new(Meta::Clock(vector_clock())), MetaDamage::ExtraBody(6))),
                checked(Meta::StreamClass(StreamClass { id: 0, clock_id: 0, name: "kernel".into() })),
                checked(Meta::Unknown { kind: 0x0101, body_len: 9 }),
                checked(Meta::Damaged(Box::new(Meta::Class(tick())), MetaDamage::ExtraBody(4))),
                checked(Meta::Class(msg())),
            ])
            .edit(newer[0])
            .edit(newer[1]);
            let desc = desc
                .packet(with_edits(data(0, vec![t(10, 1), m(11, b"newer")]), &[newer[0], newer[1], HeaderEdit::SetFlags(1 << 16)]))
                .packet(with_edits(data(0, vec![t(20, 2)]), &[newer[0], newer[1], HeaderEdit::SetFlags(1 << 31)]));
            case(
                "newer-minor",
                "version 1.4: longer headers, compatible flags, longer record bodies, a new record kind",
                &["R-11.2-1", "R-4.2-6", "R-4.3-4", "R-7.2-1", "R-7.2-2", "R-11.4-2"],
                desc,
            )
            .expect(vec![notice("R-11.2-2", Loc::Start)])
        },
        {
            let newer = [HeaderEdit::Version(1, 4), HeaderEdit::HeaderExtension(8)];
            case(
                "newer-minor-data-packet",
                "a 1.0 trace holding one data packet of version 1.4 (header_len 88): read, and said to be newer",
                &["R-11.2-1", "R-11.2-2", "R-4.2-6"],
                base()
                    .packet(data(0, vec![t(10, 1)]))
                    .packet(with_edits(data(0, vec![t(20, 2), m(21, b"newer")]), &newer)),
            )
            .expect(vec![notice("R-11.2-2", Loc::Start)])
        },
        case(
            "overwrite-gaps",
            "flight-recorder mode: the oldest packets overwritten, the first sequence number above 0",
            &[],
            base()
                .packet(Data { sequence: Some(2), ..data(0, vec![t(100, 1)]) })
                .packet(data(0, vec![t(110, 2)]))
                .packet(Data { sequence: Some(5), ..data(0, vec![t(120, 3)]) })
                .packet(data(1, vec![t(105, 4)])),
        )
        .expect(vec![notice("R-10.2-1", Loc::Packet(1)), notice("R-10.2-1", Loc::Packet(3))]),
        case(
            "nonzero-padding",
            "padding bytes that are not zero: a warning, and ignored",
            &["R-4.2-5"],
            base().packet(with_edits(
                data(0, vec![t(10, 1), m(11, b"pad")]),
                &[HeaderEdit::Padding(24), HeaderEdit::PaddingFill(0x5A)],
            )),
        )
        .expect(vec![warning("R-4.2-4", Loc::Padding(1))]),
        case(
            "non-utf8-string",
            "a string that is not UTF-8: a warning at the string, and delivered",
            &["R-6.5-2", "R-10.7-1"],
            base().packet(data(0, vec![m(10, b"ok"), m(11, b"bad \xff\xfe end")])),
        )
        .expect(vec![warning("R-6.5-1", Loc::Field(1, 1, 1))]),
        {
            let mut desc = base().packet(data(0, vec![t(10, 1)]));
            if let Body::Metadata(records) = &mut desc.packets[0].body {
                records.push(Meta::Env(EnvEntry { key: "host".into(), value: EnvValue::Str("a".into()) }));
                records.push(Meta::Env(EnvEntry { key: "host".into(), value: EnvValue::Str("b".into()) }));
            }
            case("env-repeated-key", "an ENV key declared twice: a warning", &[], desc)
                .expect(vec![warning("R-7.9-2", Loc::Record(0, 8))])
        },
        {
            // Narrow header words (§5.1): IDs 0xFE (compact) and 0xFF, 0x1FF (escaped), gaps
            // of 2^24 - 1 (compact) and 2^24 (extended), a 24-bit wrap; beside a wide packet.
            let classes = vec![tick(), msg(), last_compact(), escape_id(), past_narrow()];
            let wrap = (3u64 << 24) - 2;
            let narrow = Data {
                narrow: true,
                begin: Some(wrap - 10),
                ..data(
                    0,
                    vec![
                        t(wrap, 1),
                        t(wrap + 5, 2),
                        ev(0xFE, wrap + 5 + (1 << 24) - 1, vec![Val::U(3)]),
                        m(wrap + 4 + (2 << 24), b"after 2^24"),
                        ev(0xFF, wrap + 4 + (2 << 24), vec![Val::U(4)]),
                        ev(0x1FF, wrap + 5 + (2 << 24), vec![Val::U(5)]),
                        Ev { extended: true, ..t(wrap + 6 + (2 << 24), 6) },
                        t(wrap + 7 + (2 << 24), 7),
                    ],
                )
            };
            case(
                "narrow-headers",
                "narrow header words: compact and extended forms, a 24-bit wrap, beside a wide packet",
                &["R-5.4-1"],
                TraceDesc::new(LE64, classes).packet(narrow).packet(data(1, vec![t(wrap + 1, 8)])),
            )
        },
        case(
            "uuid-not-version-4",
            "a trace UUID that is not a random (version 4) UUID: a warning",
            &[],
            TraceDesc { uuid: *b"not-a-v4-uuid!!!", ..base().packet(data(0, vec![t(10, 1)])) },
        )
        .expect(vec![warning("R-4.6-1", Loc::Record(0, 0))]),
    ]
}

fn deep(levels: usize) -> TypeDesc {
    (0..levels).fold(u(IntType::U8), |inner, _| TypeDesc::sequence(inner))
}

fn invalid_cases() -> Vec<Case> {
    let deep_class = class(5, "deep", vec![Field::new("f", deep(33))]);
    let deep_at = field_type_offset(&deep_class, 0, ByteOrder::Little).unwrap_or(0) + 32;
    // Each element takes a byte, but holds a struct without fields (§6.7).
    let hollow_element =
        TypeDesc::Struct(vec![Field::new("none", TypeDesc::Struct(vec![])), Field::new("x", u(IntType::U8))]);
    let hollow_class = class(7, "hollow", vec![Field::new("items", TypeDesc::sequence(hollow_element))]);
    let hollow_at = field_type_offset(&hollow_class, 0, ByteOrder::Little).unwrap_or(0);
    let odd = class(6, "odd", vec![Field::new("x", TypeDesc::Bool)]);
    let odd_at = field_type_offset(&odd, 0, ByteOrder::Little).unwrap_or(0);
    let other_uuid = *b"another-trace-id";
    let mut cases = vec![
        case(
            "crc-mismatch",
            "a content byte changed after the CRC was computed",
            &["R-4.4-2", "R-10.3-1", "R-10.3-2"],
            {
                three_packets(base(), |data| delivered(data, Delivered::None).into())
                    .damage(FileDamage::Flip(Loc::InRecord(2, 0, 9)))
            },
        )
        .expect(vec![error("R-4.4-1", Loc::Packet(2))]),
        case(
            "truncated-last-packet",
            "the file ends inside the third record of the last packet (a killed writer)",
            &["R-10.4-2"],
            base()
                .packet(data(0, vec![t(100, 1), t(101, 2)]))
                .packet(delivered(
                    data(0, vec![m(200, b"a"), m(201, b"bb"), m(202, b"ccc"), m(203, b"dddd")]),
                    Delivered::First(2),
                ))
                .damage(FileDamage::Truncate(Loc::InRecord(2, 2, 5))),
        )
        .expect(vec![error("R-10.4-1", Loc::Packet(2)), notice("R-10.4-2", Loc::Packet(2))]),
        case(
            "sizes-past-the-file",
            "content_size and packet_size claim 4 GiB in a valid header: the packet ends at the next \
             header of the trace, its records and the packets after it delivered",
            &["R-10.4-3"],
            three_packets(base(), |data| {
                with_edits(data, &[HeaderEdit::ContentSize(0xFFFF_FFF8), HeaderEdit::PacketSize(0xFFFF_FFF8)])
            }),
        )
        .expect(vec![error("R-10.4-1", Loc::Packet(2)), notice("R-10.4-2", Loc::Packet(2))]),
        case(
            "content-size-beyond-packet-size",
            "a header whose content_size exceeds packet_size: skipped, the next packet found",
            &["R-10.6-1"],
            three_packets(base(), |data| {
                with_edits(delivered(data, Delivered::None), &[HeaderEdit::ContentSize(4096)])
            }),
        )
        .expect(vec![
            error("R-4.2-3", Loc::Packet(2)),
            notice("R-10.6-2", Loc::Packet(2)),
            notice("R-10.2-1", Loc::Packet(3)),
        ]),
        {
            let mut desc = base().packet(data(0, vec![t(10, 1)]));
            for packet in &mut desc.packets {
                packet.edits.push(HeaderEdit::Version(2, 0));
            }
            case("unknown-major-version", "every packet of major version 2: the trace is rejected", &[], desc)
                .outcome(Outcome::Rejected("R-11.3-1", Loc::Start))
        },
        case(
            "bad-header-sizes",
            "a header_len of 84 (not a multiple of 8), and a packet_size that is not a multiple of 8",
            &["R-10.6-1"],
            three_packets(base(), |data| {
                with_edits(delivered(data, Delivered::None), &[HeaderEdit::HeaderLen(84)])
            })
            .packet(with_edits(
                delivered(data(0, vec![t(400, 4)]), Delivered::None),
                &[HeaderEdit::PacketSize(100)],
            )),
        )
        .expect(vec![
            error("R-4.2-1", Loc::Packet(2)),
            notice("R-10.6-2", Loc::Packet(2)),
            notice("R-10.2-1", Loc::Packet(3)),
            error("R-4.2-2", Loc::Packet(4)),
            notice("R-10.6-2", Loc::Packet(4)),
        ]),
        case(
            "duplicate-event-id",
            "event ID 1 declared again with another layout: reported, the first kept",
            &[],
            base()
                .packet(meta(vec![
                    Meta::Class(tick()),
                    Meta::Class(class(1, "tick", vec![Field::new("n", u(IntType::U64))])),
                ]))
                .packet(data(0, vec![t(10, 1), t(11, 2)])),
        )
        .expect(vec![error("R-7.6-7", Loc::Record(1, 1))]),
        case(
            "undeclared-event-id",
            "a record of an event ID never declared: the records before it delivered, the rest skipped",
            &["R-10.5-1"],
            base()
                .packet(delivered(
                    data(0, vec![t(10, 1), damaged(t(11, 2), EventDamage::Id(77)), t(12, 3)]),
                    Delivered::First(1),
                ))
                .packet(data(0, vec![t(20, 4)])),
        )
        .expect(vec![error("R-7.6-5", Loc::Record(1, 1))]),
        case(
            "unterminated-string",
            "a string without NUL before content_size",
            &["R-10.5-1"],
            base()
                .packet(delivered(
                    data(0, vec![m(10, b"fine"), damaged(m(11, b"no end"), EventDamage::DropNul)]),
                    Delivered::First(1),
                ))
                .packet(data(0, vec![t(20, 2)])),
        )
        .expect(vec![error("R-6.5-3", Loc::Field(1, 1, 1))]),
        case(
            "sequence-past-end",
            "a sequence count of 4294967280 in a packet of a few bytes: rejected before any allocation",
            &["R-10.5-1"],
            base()
                .packet(delivered(
                    data(
                        0,
                        vec![
                            ev(3, 10, vec![Val::List(vec![Val::U(1), Val::U(2)])]),
                            damaged(
                                ev(3, 11, vec![Val::List(vec![Val::U(3)])]),
                                EventDamage::SequenceCount { field: 0, count: 0xFFFF_FFF0 },
                            ),
                        ],
                    ),
                    Delivered::First(1),
                ))
                .packet(data(0, vec![t(20, 2)])),
        )
        .expect(vec![error("R-6.7-2", Loc::Field(1, 1, 0))]),
        case(
            "nesting-too-deep",
            "a field of 33 nested sequences: the class is undecodable, its records reported",
            &[],
            base().packet(meta(vec![Meta::Class(deep_class.clone())])).packet(delivered(
                data(0, vec![t(10, 1), ev(5, 11, vec![Val::List(vec![])]), t(12, 2)]),
                Delivered::First(1),
            )),
        )
        .expect(vec![error("R-6.7-1", Loc::InRecord(1, 0, deep_at)), error("R-7.7-2", Loc::Record(2, 1))]),
        case(
            "element-holding-empty-part",
            "a sequence whose element struct holds a struct without fields: the class is undecodable",
            &[],
            base().packet(meta(vec![Meta::Class(hollow_class.clone())])).packet(delivered(
                data(0, vec![t(10, 1), ev(7, 11, vec![Val::List(vec![])]), t(12, 2)]),
                Delivered::First(1),
            )),
        )
        .expect(vec![error("R-6.7-3", Loc::InRecord(1, 0, hollow_at)), error("R-7.7-2", Loc::Record(2, 1))]),
        case(
            "byte-order-mismatch",
            "a big-endian data packet in a little-endian trace: reported, not decoded",
            &["R-2.3-3"],
            three_packets(base(), |data| {
                with_edits(delivered(data, Delivered::None), &[HeaderEdit::Order(ByteOrder::Big)])
            }),
        )
        .expect(vec![error("R-2.3-1", Loc::Packet(2)), notice("R-10.2-1", Loc::Packet(3))]),
        {
            let mut desc = base().packet(data(0, vec![t(10, 1)]));
            desc.packets[0] = meta(vec![
                Meta::TraceWith(Box::new(trace_info(Abi { long: 3, ..LE64 }, desc.uuid))),
                Meta::Clock(vector_clock()),
                Meta::StreamClass(StreamClass { id: 0, clock_id: 0, name: "kernel".into() }),
                Meta::Class(tick()),
            ]);
            case(
                "abi-size-3",
                "an ABI descriptor with sizeof(long) = 3: the trace cannot be decoded",
                &["R-3.2-2"],
                desc,
            )
            .outcome(Outcome::NotDecodable)
            // At `sizeof_long`, the size that is wrong (§10.7): after the envelope, `trace_uuid`,
            // `byte_order`, `sizeof_short` and `sizeof_int`.
            .expect(vec![error("R-3.2-1", Loc::InRecord(0, 0, 8 + 16 + 1 + 2)), error("R-7.3-1", Loc::Start)])
        },
        case(
            "incompatible-flag",
            "a data packet with incompatible flag bit 5: not decoded",
            &["R-4.3-2"],
            three_packets(base(), |data| {
                with_edits(delivered(data, Delivered::None), &[HeaderEdit::SetFlags(1 << 5)])
            }),
        )
        .expect(vec![
            error("R-4.3-1", Loc::Packet(2)),
            notice("R-10.6-2", Loc::Packet(2)),
            notice("R-10.2-1", Loc::Packet(3)),
        ]),
        case(
            "foreign-uuid",
            "a packet of another trace: reported, not decoded",
            &[],
            three_packets(base(), |data| {
                with_edits(delivered(data, Delivered::None), &[HeaderEdit::Uuid(other_uuid)])
            }),
        )
        .expect(vec![error("R-4.6-2", Loc::Packet(2)), notice("R-10.2-1", Loc::Packet(3))]),
        case(
            "timestamp-backwards",
            "an extended record whose timestamp goes back: reported, and delivered with it",
            &["R-5.5-1"],
            base().packet(Data {
                end: Some(100),
                ..data(0, vec![t(100, 1), Ev { extended: true, ..t(50, 2) }])
            }),
        )
        .expect(vec![error("R-1.7-1", Loc::Record(1, 1))]),
        {
            let mut noisy = tick();
            noisy.log_level = 100;
            let mut desc = base().packet(data(0, vec![t(10, 1)]));
            if let Body::Metadata(records) = &mut desc.packets[0].body {
                records[3] = Meta::Class(noisy);
            }
            case("reserved-log-level", "an event class with reserved log level 100", &["R-7.6-3"], desc)
                .expect(vec![error("R-7.6-2", Loc::InRecord(0, 3, 16))])
        },
        case(
            "unknown-type-code",
            "a field of type code 0x7E: the class is undecodable, the rest of the metadata kept",
            &[],
            base()
                .packet(meta(vec![Meta::Damaged(
                    Box::new(Meta::Class(odd.clone())),
                    MetaDamage::TypeByte { field: 0, offset: 0, value: 0x7E },
                )]))
                .packet(delivered(
                    data(0, vec![t(10, 1), ev(6, 11, vec![Val::Bool(true)])]),
                    Delivered::First(1),
                )),
        )
        .expect(vec![error("R-7.7-2", Loc::InRecord(1, 0, odd_at)), error("R-7.7-2", Loc::Record(2, 1))]),
        case(
            "bad-marker-format",
            "a marker class whose format string is outside the grammar",
            &[],
            base()
                .packet(meta(vec![Meta::Class(EventClass::new(
                    7,
                    0,
                    "mark",
                    Layout::Marker("pid=%d".into()),
                ))]))
                .packet(data(0, vec![t(10, 1)])),
        )
        .expect(vec![error("R-8.2-1", Loc::InRecord(1, 0, 8 + 18 + 2 + 4))]),
        case(
            "identity-mismatch",
            "an event class whose identity hash is not the one computed from its name and layout",
            &[],
            base()
                .packet(meta(vec![Meta::Damaged(
                    Box::new(Meta::Class(class(8, "hashed", vec![Field::new("v", u(IntType::U8))]))),
                    MetaDamage::Identity(0x0123_4567_89ab_cdef),
                )]))
                .packet(data(0, vec![ev(8, 10, vec![Val::U(7)])])),
        )
        // At `identity`, after `event_id`, `stream_class_id`, `log_level`, `layout_kind` (§10.7).
        .expect(vec![error("R-7.8-1", Loc::InRecord(1, 0, 8 + 10))]),
        {
            let mut desc = base().packet(data(0, vec![t(10, 1), m(11, b"first")]));
            desc.packets.rotate_left(1);
            case(
                "single-file-data-first",
                "a single file beginning with a data packet; the metadata follows it",
                &["R-7.10-1"],
                desc,
            )
            .expect(vec![
                error("R-9.2-1", Loc::Start),
                error("R-7.6-6", Loc::Record(0, 0)),
                error("R-7.6-6", Loc::Record(0, 1)),
            ])
        },
        {
            let desc = TraceDesc::new(LE64, vec![tick()])
                .packet(data(0, vec![t(10, 1), m(11, b"early")]))
                .packet(meta(vec![Meta::Class(msg())]));
            case(
                "class-declared-after-use",
                "single file: a record of a class whose metadata packet comes later in the file",
                &["R-7.10-1"],
                desc,
            )
            .expect(vec![error("R-7.6-6", Loc::Record(1, 1))])
        },
        case(
            "sequence-not-increasing",
            "a repeated sequence number (CPU 0) and sequence numbers out of order (CPU 1)",
            &["R-10.2-2"],
            base()
                .packet(data(0, vec![t(10, 1)]))
                .packet(data(0, vec![t(20, 2)]))
                .packet(Data { sequence: Some(1), ..data(0, vec![t(30, 3)]) })
                .packet(data(1, vec![t(10, 4)]))
                .packet(Data { sequence: Some(2), ..data(1, vec![t(20, 5)]) })
                .packet(Data { sequence: Some(1), ..data(1, vec![t(30, 6)]) }),
        )
        .expect(vec![
            error("R-1.6-1", Loc::Packet(3)),
            notice("R-10.2-1", Loc::Packet(5)),
            error("R-1.7-2", Loc::Packet(6)),
        ]),
        case(
            "mixed-stream-file",
            "directory form: a stream file holding a packet of another stream and a metadata packet",
            &[],
            base()
                .packet(data(0, vec![t(10, 1)]))
                .packet(Packet::from(data(1, vec![t(11, 2)])).in_file("stream-0-0.tmk"))
                .packet(meta(vec![Meta::Clock(vector_clock())]).in_file("stream-0-0.tmk")),
        )
        .directory()
        .expect(vec![error("R-9.1-2", Loc::Packet(2)), error("R-9.1-2", Loc::Packet(3))]),
        case(
            "bad-bool",
            "a bool encoded as 2",
            &[],
            base().packet(delivered(
                data(
                    0,
                    vec![
                        ev(4, 10, vec![Val::Bool(true)]),
                        damaged(
                            ev(4, 11, vec![Val::Bool(false)]),
                            EventDamage::BoolByte { field: 0, byte: 2 },
                        ),
                    ],
                ),
                Delivered::First(1),
            )),
        )
        .expect(vec![error("R-6.2-1", Loc::Field(1, 1, 0))]),
        case(
            "extended-header-bits",
            "an extended event header whose word has timestamp bits set",
            &[],
            base().packet(delivered(
                data(0, vec![t(10, 1), damaged(t(11, 2), EventDamage::ExtendedLowBits)]),
                Delivered::First(1),
            )),
        )
        .expect(vec![error("R-5.3-1", Loc::Record(1, 1))]),
        case(
            "narrow-extended-header-bits",
            "a narrow extended header whose word has timestamp bits set",
            &[],
            base().packet(delivered(
                Data {
                    narrow: true,
                    ..data(0, vec![t(10, 1), damaged(t(11, 2), EventDamage::ExtendedLowBits), t(12, 3)])
                },
                Delivered::First(1),
            )),
        )
        .expect(vec![error("R-5.3-1", Loc::Record(1, 1))]),
        {
            let mut desc = base()
                .packet(with_edits(
                    data(0, vec![t(10, 1)]),
                    &[HeaderEdit::ClearFlags(1), HeaderEdit::CrcField(0xDEAD_BEEF)],
                ))
                .packet(with_edits(data(0, vec![t(20, 2)]), &[HeaderEdit::SetFlags(1 << 20)]));
            if let Body::Metadata(records) = &mut desc.packets[0].body {
                records[1] =
                    Meta::Damaged(Box::new(Meta::Clock(vector_clock())), MetaDamage::EnvelopeFlags(1 << 15));
            }
            case(
                "reserved-bits-set",
                "reserved fields and bits not zero; the packets still decode",
                &["R-11.4-2"],
                desc,
            )
            .expect(vec![
                error("R-4.4-3", Loc::InPacket(1, 12)),
                error("R-4.3-3", Loc::InPacket(2, 8)),
                error("R-11.4-1", Loc::InRecord(0, 1, 2)),
            ])
        },
        case(
            "packet-timestamps",
            "packet timestamps reversed, overlapping the previous packet, and records outside them",
            &[],
            base()
                .packet(Data { begin: Some(100), end: Some(50), ..data(0, vec![]) })
                .packet(Data { begin: Some(40), end: Some(60), ..data(0, vec![]) })
                .packet(delivered(
                    Data { end: Some(250), ..data(0, vec![t(200, 1), t(300, 2)]) },
                    Delivered::First(1),
                ))
                .packet(Data {
                    begin: Some(500),
                    end: Some(600),
                    ..data(0, vec![Ev { extended: true, ..t(400, 3) }])
                }),
        )
        .expect(vec![
            error("R-4.5-1", Loc::Packet(1)),
            error("R-4.5-2", Loc::Packet(2)),
            error("R-4.5-1", Loc::Record(3, 1)),
            error("R-4.5-1", Loc::Record(4, 0)),
        ]),
        {
            // Class 0 without fields: each 8 zero bytes of padding decode as one of its records.
            let mut desc = base();
            if let Body::Metadata(records) = &mut desc.packets[0].body {
                records.push(Meta::Class(class(0, "empty", vec![])));
            }
            // Two ticks end the content at 80 + 2 × 12 = 104; 16 bytes of zero padding follow,
            // which `content_size` claims.
            let packet = with_edits(
                data(0, vec![t(10, 1), t(11, 2)]),
                &[HeaderEdit::Padding(16), HeaderEdit::ContentSize(120)],
            );
            case(
                "content-into-padding",
                "content_size reaching into zero padding: the zeros decode as records past the packet's end, not delivered",
                &["R-4.5-3"],
                desc.packet(packet),
            )
            .expect(vec![error("R-4.5-1", Loc::InPacket(1, 104))])
        },
        case(
            "packet-size-past-next-header",
            "a packet_size 16 bytes too large: the walk lands inside the next packet, which is found after the content",
            &["R-10.4-3"],
            base()
                .packet(with_edits(data(0, vec![t(10, 1)]), &[HeaderEdit::PacketSize(112)]))
                .packet(data(0, vec![t(20, 2), t(21, 3)]))
                .packet(data(1, vec![t(22, 4)])),
        )
        .expect(vec![
            error("R-10.4-1", Loc::Packet(1)),
            notice("R-10.6-2", Loc::InPacket(1, 92)),
            // The checker's raw pass takes the next packet's header for this one's padding.
            warning("R-4.2-4", Loc::InPacket(1, 96)),
        ]),
        case(
            "metadata-sequence",
            "the metadata stream's sequence numbers repeated, then skipping two: both reported",
            &["R-10.2-1", "R-10.2-2"],
            base()
                .packet(meta(vec![Meta::Env(EnvEntry { key: "a".into(), value: EnvValue::Int(1) })]).edit(HeaderEdit::Sequence(0)))
                .packet(meta(vec![Meta::Env(EnvEntry { key: "b".into(), value: EnvValue::Int(2) })]).edit(HeaderEdit::Sequence(3)))
                .packet(data(0, vec![t(10, 1)])),
        )
        .expect(vec![error("R-1.6-1", Loc::Packet(1)), notice("R-10.2-1", Loc::Packet(2))]),
        case(
            "discard-counter-backwards",
            "a cumulative discard counter that goes down",
            &[],
            base()
                .packet(Data { discarded: 5, ..data(0, vec![t(10, 1)]) })
                .packet(Data { discarded: 3, ..data(0, vec![t(20, 2)]) }),
        )
        .expect(vec![notice("R-10.1-2", Loc::Packet(1)), error("R-10.1-1", Loc::Packet(2))]),
        {
            let desc = base()
                .packet(meta(vec![
                    Meta::StreamClass(StreamClass { id: 1, clock_id: 9, name: "clockless".into() }),
                    Meta::Class(EventClass::new(
                        9,
                        1,
                        "sc1",
                        Layout::Fields(vec![Field::new("v", u(IntType::U8))]),
                    )),
                ]))
                .packet(Data { stream_class: 1, ..data(0, vec![ev(9, 10, vec![Val::U(1)])]) })
                .packet(Data { stream_class: 2, ..data(0, vec![t(10, 2)]) });
            case("undeclared-stream-class-and-clock", "a stream class naming an undeclared clock; packets of an undeclared stream class carrying a class of another", &[], desc)
                .expect(vec![
                    // At `clock_id`, after `stream_class_id` (§10.7).
                    error("R-7.5-1", Loc::InRecord(1, 0, 8 + 4)),
                    error("R-1.2-1", Loc::Packet(3)),
                    error("R-7.6-1", Loc::Record(3, 0)),
                ])
        },
        {
            // §10.8: by time through each clock, ties by ticks. Raw ticks would put the 1 MHz
            // stream's ticks 1 and 2 first and the offset-0 clock's tick 5,000,000 last.
            let slow = ClockClass { id: 1, frequency: 1_000_000, name: "slow".into(), ..vector_clock() };
            let from_boot =
                ClockClass { id: 2, offset_ns: 0, name: "since-boot".into(), ..vector_clock() };
            let desc = base()
                .packet(meta(vec![
                    Meta::Clock(slow),
                    Meta::Clock(from_boot),
                    Meta::StreamClass(StreamClass { id: 1, clock_id: 1, name: "slow".into() }),
                    Meta::StreamClass(StreamClass { id: 2, clock_id: 2, name: "since-boot".into() }),
                    Meta::Class(EventClass::new(9, 1, "slow", Layout::Fields(vec![Field::new("v", u(IntType::U8))]))),
                    Meta::Class(EventClass::new(
                        10,
                        2,
                        "boot",
                        Layout::Fields(vec![Field::new("v", u(IntType::U8))]),
                    )),
                ]))
                .packet(data(0, vec![t(100, 1), t(1_000, 2), t(2_500, 3)]))
                .packet(Data {
                    stream_class: 1,
                    ..data(0, vec![ev(9, 1, vec![Val::U(10)]), ev(9, 2, vec![Val::U(11)])])
                })
                .packet(Data { stream_class: 2, ..data(0, vec![ev(10, 5_000_000, vec![Val::U(20)])]) });
            case(
                "merge-across-clocks",
                "streams on a 1 GHz clock, a 1 MHz clock and a clock with offset 0: merged by converted time, a tie by ticks",
                &["R-10.8-1", "R-7.4-2"],
                desc,
            )
        },
        {
            // Stream 0/1's second packet, its class rewritten to 128 and its CRC recomputed: its
            // sequence number would continue 0/1, its class 0's records fit 0/1, yet it is
            // stream 128/1 (§1.2), whose events have no time and go last (§10.8).
            let desc = base()
                .packet(data(0, vec![t(100, 1), t(300, 3)]))
                .packet(data(1, vec![t(150, 2)]))
                .packet(Data { stream_class: 128, sequence: Some(1), ..data(1, vec![t(200, 4), t(400, 5)]) });
            case(
                "rewritten-stream-class",
                "a packet whose stream class was rewritten, CRC recomputed: a stream of its own, its events untimed and last",
                &["R-1.2-2", "R-10.8-1"],
                desc,
            )
            .expect(vec![
                error("R-1.2-1", Loc::Packet(3)),
                notice("R-10.2-1", Loc::Packet(3)),
                error("R-7.6-1", Loc::Record(3, 0)),
            ])
        },
        case(
            "index-single-file",
            "a single file ending with its packet index (§14): read as without it",
            &["R-14.2-1", "R-14.2-2", "R-14.3-1"],
            three_packets(base(), Packet::from).damage(FileDamage::Index(IndexLie::None)),
        ),
        case(
            "index-directory",
            "a directory with an index per stream file in index/ (§14.3): read as without them",
            &["R-14.2-1", "R-14.2-2", "R-14.3-1"],
            base()
                .packet(data(0, vec![t(10, 1), t(20, 2)]))
                .packet(data(1, vec![t(15, 3)]))
                .packet(data(0, vec![t(30, 4)]))
                .damage(FileDamage::Index(IndexLie::None)),
        )
        .directory(),
        case(
            "index-stale",
            "a stream file's index built before its last packet was written: stale, the packets read as without it",
            &["R-14.4-1"],
            base()
                .packet(data(0, vec![t(10, 1)]))
                .packet(data(0, vec![t(20, 2)]))
                .damage(FileDamage::Index(IndexLie::Stale)),
        )
        .directory()
        .expect(vec![error("R-14.2-2", Loc::IndexRecord)]),
        case(
            "index-lies",
            "an index whose entry gives a packet another timestamp_end, its checks recomputed: reported, the packets read as they are",
            &["R-14.4-2"],
            three_packets(base(), Packet::from).damage(FileDamage::Index(IndexLie::TimestampEnd(2, 5))),
        )
        .expect(vec![error("R-14.2-2", Loc::IndexRecord)]),
        case(
            "index-unchecked",
            "a sidecar index whose INDEX record carries no check",
            &["R-14.4-1"],
            base().packet(data(0, vec![t(10, 1)])).damage(FileDamage::Index(IndexLie::Unchecked)),
        )
        .directory()
        .expect(vec![error("R-14.2-1", Loc::IndexRecord)]),
        case(
            "index-damaged",
            "a single file whose index packet has a flipped byte: its CRC and record check fail, the packets read as without it",
            &["R-14.4-1"],
            three_packets(base(), Packet::from).damage(FileDamage::Index(IndexLie::Flip(200))),
        )
        .expect(vec![error("R-4.4-1", Loc::IndexPacket), error("R-7.2-8", Loc::IndexRecord)]),
        case(
            "index-truncated",
            "a single file cut inside its index packet: no index is found, the cut packet is reported and the others read",
            &["R-14.4-1"],
            three_packets(base(), Packet::from)
                .damage(FileDamage::Index(IndexLie::None))
                .damage(FileDamage::Truncate(Loc::IndexRecord)),
        )
        .expect(vec![error("R-10.4-1", Loc::IndexPacket), notice("R-10.4-2", Loc::IndexPacket)]),
        case(
            "compressed-zstd",
            "data packets whose records are compressed with zstd, beside one that is not (§15): read as uncompressed",
            &["R-15.1-1", "R-15.3-1"],
            base()
                .packet(Packet::from(data(0, vec![t(10, 1), m(11, b"one one one one"), t(12, 2)])).compressed(Codec::Zstd, CompressionLie::None))
                .packet(data(1, vec![t(15, 3), m(16, b"two")]))
                .packet(Packet::from(data(0, vec![t(30, 4), m(31, b"three three three")])).compressed(Codec::Zstd, CompressionLie::None)),
        )
        .directory(),
        case(
            "compressed-lz4",
            "data packets whose records are compressed with LZ4 (§15): read as uncompressed",
            &["R-15.1-1", "R-15.3-1"],
            three_packets(base(), |data| Packet::from(data).compressed(Codec::Lz4, CompressionLie::None)),
        ),
        case(
            "compressed-bomb",
            "a compressed packet of a few bytes whose records_size claims 4 GiB: refused before anything is allocated, the others read",
            &["R-15.2-1", "R-15.2-2"],
            three_packets(base(), |data| {
                Packet::from(delivered(data, Delivered::None))
                    .compressed(Codec::Zstd, CompressionLie::RecordsSize(u32::MAX))
            }),
        )
        .expect(vec![error("R-15.2-1", Loc::InPacket(2, 80))]),
        case(
            "compressed-corrupt",
            "a compressed packet whose zstd frame has a flipped byte, its CRC computed over it: refused, the others read",
            &["R-15.1-1", "R-15.2-2"],
            three_packets(base(), |data| {
                Packet::from(delivered(data, Delivered::None)).compressed(Codec::Zstd, CompressionLie::Flip(6))
            }),
        )
        .expect(vec![error("R-15.1-1", Loc::InPacket(2, 80))]),
        case(
            "compressed-size-lie",
            "an LZ4 packet whose records_size is 8 bytes more than its records: refused, the others read",
            &["R-15.1-1", "R-15.2-2"],
            three_packets(base(), |data| {
                Packet::from(delivered(data, Delivered::None)).compressed(Codec::Lz4, CompressionLie::RecordsSize(50))
            }),
        )
        .expect(vec![error("R-15.1-1", Loc::InPacket(2, 80))]),
        case(
            "compressed-metadata",
            "a metadata packet flagged compressed: reported, its records not applied",
            &["R-15.1-2"],
            three_packets(base(), Packet::from).packet(
                meta(vec![Meta::Env(EnvEntry { key: "late".into(), value: EnvValue::Int(1) })])
                    .edit(HeaderEdit::SetFlags(PacketFlags::COMPRESSED)),
            ),
        )
        .expect(vec![error("R-15.1-2", Loc::Packet(4))]),
        case(
            "garbage-between-packets",
            "24 bytes of garbage between two packets: reported, skipped, the next packet found",
            &[],
            three_packets(base(), Packet::from).damage(FileDamage::Garbage(Loc::Packet(2), 24)),
        )
        .expect(vec![error("R-10.6-1", Loc::After(1)), notice("R-10.6-2", Loc::After(1))]),
        {
            // prev = 2^64 − 16; the next record's low bits are 5: the reconstruction's + 2^48
            // overflows, so its timestamp stays (prev & !(2^48 − 1)) | 5 (§5.5).
            let begin = u64::MAX - 15;
            let stays = (begin & !((1u64 << 48) - 1)) | 5;
            case(
                "timestamp-past-2-64",
                "a compact record whose low bits would carry the time past 2^64 - 1: reported, delivered with (prev & ~(2^48-1)) | low",
                &["R-5.5-1"],
                base().packet(Data {
                    begin: Some(begin),
                    end: Some(u64::MAX),
                    ..data(0, vec![t(begin, 1), damaged(t(stays, 2), EventDamage::ForcedCompact)])
                }),
            )
            .expect(vec![error("R-1.7-1", Loc::Record(1, 1))])
        },
        {
            // A 3 Hz clock 5 ns before the epoch: tick 2^63 + 7 is past 64 bits of nanoseconds.
            let mut desc = base();
            if let Body::Metadata(records) = &mut desc.packets[0].body {
                records[1] = Meta::Clock(ClockClass { frequency: 3, offset_ns: -5, ..vector_clock() });
            }
            case(
                "clock-beyond-64-bits",
                "a slow clock far from its epoch: nanoseconds since the Unix epoch exact past 2^64",
                &["R-7.4-2"],
                desc.packet(data(0, vec![t(1, 1), t((1 << 63) + 7, 2)])),
            )
        },
        case(
            "truncated-class-declaration",
            "an event class whose field list runs past its body: declared but undecodable, its records reported as such",
            &["R-7.7-2", "R-7.2-3"],
            base()
                .packet(meta(vec![Meta::Damaged(
                    Box::new(Meta::Class(class(
                        8,
                        "cut",
                        vec![Field::new("a", u(IntType::U8)), Field::new("b", u(IntType::U8)), Field::new("c", u(IntType::U8))],
                    ))),
                    MetaDamage::CutBody(2),
                )]))
                .packet(delivered(data(0, vec![ev(8, 10, vec![Val::U(1), Val::U(2), Val::U(3)]), t(11, 1)]), Delivered::None))
                .packet(data(1, vec![t(12, 2)])),
        )
        // At field `c`'s name, the value that runs past the body: after `event_id`,
        // `stream_class_id`, `log_level`, `layout_kind`, `identity`, the name "cut", the field
        // count and fields `a` and `b` (4 + 4 + 1 + 1 + 8 + 5 + 2 + 4 + 4 = 33, §10.7).
        .expect(vec![error("R-7.2-3", Loc::InRecord(1, 0, 8 + 33)), error("R-7.7-2", Loc::Record(2, 0))]),
        case(
            "tail-without-magic",
            "3 bytes after the last packet, too few for a magic: bytes skipped, not a packet",
            &["R-10.6-1"],
            three_packets(base(), Packet::from).damage(FileDamage::Insert(Loc::After(3), b"TRM".to_vec())),
        )
        .expect(vec![error("R-10.6-1", Loc::After(3)), notice("R-10.6-2", Loc::After(3))]),
        case(
            "tail-with-magic",
            "8 bytes after the last packet beginning with a magic: a packet cut inside its header",
            &["R-10.4-1"],
            three_packets(base(), Packet::from).damage(FileDamage::Insert(Loc::After(3), b"TRMK\x01\x01\x50\x00".to_vec())),
        )
        .expect(vec![error("R-10.4-1", Loc::After(3))]),
        case(
            "later-packet-major-2",
            "a data packet of major version 2 in a 1.0 trace: not decoded",
            &[],
            three_packets(base(), |data| {
                with_edits(delivered(data, Delivered::None), &[HeaderEdit::Version(2, 0)])
            }),
        )
        .expect(vec![
            error("R-11.3-1", Loc::Packet(2)),
            notice("R-10.6-2", Loc::Packet(2)),
            notice("R-10.2-1", Loc::Packet(3)),
        ]),
        {
            let mut desc = base().packet(data(0, vec![t(10, 1)]));
            desc.packets[0] = meta(vec![
                Meta::Clock(vector_clock()),
                Meta::Trace,
                Meta::StreamClass(StreamClass { id: 0, clock_id: 0, name: "kernel".into() }),
                Meta::Class(tick()),
            ]);
            let other =
                tracemark_format::TraceInfo { hostname: "elsewhere".into(), ..trace_info(LE64, desc.uuid) };
            let desc =
                desc.packet(meta(vec![Meta::Trace])).packet(meta(vec![Meta::TraceWith(Box::new(other))]));
            case(
                "trace-record-placement",
                "TRACE after another record; repeated; redeclared differently",
                &[],
                desc,
            )
            .expect(vec![
                error("R-7.3-1", Loc::Record(0, 1)),
                error("R-7.3-1", Loc::Record(2, 0)),
                error("R-7.3-1", Loc::Record(3, 0)),
            ])
        },
        {
            let mut desc = base().packet(data(0, vec![t(10, 1)]));
            if let Body::Metadata(records) = &mut desc.packets[0].body {
                records[0] = Meta::TraceWith(Box::new(trace_info(Abi::lp64(ByteOrder::Big), desc.uuid)));
            }
            case(
                "trace-record-byte-order",
                "a TRACE record stating big-endian in a little-endian trace",
                &[],
                desc,
            )
            // At the record's `byte_order`, after the envelope and `trace_uuid` (§10.7).
            .expect(vec![error("R-2.3-2", Loc::InRecord(0, 0, 8 + 16))])
        },
    ];
    cases.push(malformed_metadata());
    cases
}

/// One metadata packet of records each breaking one rule of §6, §7.
fn malformed_metadata() -> Case {
    let zero_clock = ClockClass { id: 3, frequency: 0, name: "zero".into(), ..vector_clock() };
    let nameless = ClockClass { id: 4, name: String::new(), ..vector_clock() };
    let bad_field = class(10, "badname", vec![Field::new("1bad", u(IntType::U8))]);
    let duplicate = class(11, "dup", vec![Field::new("a", u(IntType::U8)), Field::new("a", u(IntType::U8))]);
    let enum_class = class(
        12,
        "floatenum",
        vec![Field::new(
            "e",
            TypeDesc::Enum {
                repr: IntType::U8,
                mappings: vec![EnumMapping { label: "A".into(), lo: 0, hi: 0 }],
            },
        )],
    );
    let enum_at = field_type_offset(&enum_class, 0, ByteOrder::Little).unwrap_or(0) + 1;
    let empty_struct =
        class(13, "hollow", vec![Field::new("s", TypeDesc::sequence(TypeDesc::Struct(vec![])))]);
    let hollow_at = field_type_offset(&empty_struct, 0, ByteOrder::Little).unwrap_or(0);
    let layout = class(14, "layout", vec![]);
    let records = vec![
        Meta::Class(bad_field),
        Meta::Class(duplicate),
        Meta::Clock(zero_clock),
        Meta::Clock(nameless),
        Meta::Damaged(
            Box::new(Meta::StreamClass(StreamClass { id: 5, clock_id: 0, name: "x".into() })),
            MetaDamage::NameNotUtf8,
        ),
        Meta::Damaged(
            Box::new(Meta::Env(EnvEntry { key: "k".into(), value: EnvValue::Int(1) })),
            MetaDamage::EnvValueKind(7),
        ),
        Meta::Damaged(Box::new(Meta::Class(layout)), MetaDamage::LayoutKind(2)),
        Meta::Damaged(
            Box::new(Meta::Class(enum_class)),
            MetaDamage::TypeByte { field: 0, offset: 1, value: 0x0A },
        ),
        Meta::Class(empty_struct),
        // A body overrun is reported at the value that runs past: the name's `str` (§10.7).
        Meta::Damaged(
            Box::new(Meta::StreamClass(StreamClass { id: 6, clock_id: 0, name: "short".into() })),
            MetaDamage::CutBody(3),
        ),
    ];
    let spanning = vec![Meta::Damaged(
        Box::new(Meta::StreamClass(StreamClass { id: 7, clock_id: 0, name: "long".into() })),
        MetaDamage::BodyLen(10_000),
    )];
    case(
        "malformed-metadata-records",
        "metadata records each breaking one rule, each reported at the value that breaks it; the rest of the metadata is kept",
        &["R-10.7-1"],
        base().packet(meta(records)).packet(meta(spanning)).packet(data(0, vec![t(10, 1)])),
    )
    .expect(vec![
        error("R-7.2-5", Loc::InRecord(1, 0, 8 + 18 + 2 + 7 + 2)),
        error("R-7.7-1", Loc::InRecord(1, 1, 8 + 18 + 2 + 3 + 2 + 3 + 1)),
        // Each at the value it is about (§10.7): `frequency` after `clock_id`; the clock's
        // `name` after `clock_id`, `frequency`, `offset_ns`, `precision`; the stream class's
        // `name` after `stream_class_id`, `clock_id`.
        error("R-7.4-1", Loc::InRecord(1, 2, 8 + 4)),
        error("R-7.2-6", Loc::InRecord(1, 3, 8 + 28)),
        error("R-7.2-4", Loc::InRecord(1, 4, 8 + 8)),
        error("R-7.9-1", Loc::InRecord(1, 5, 8 + 3)),
        error("R-7.6-4", Loc::InRecord(1, 6, 8 + 9)),
        error("R-6.6-1", Loc::InRecord(1, 7, enum_at - 1)),
        error("R-6.7-3", Loc::InRecord(1, 8, hollow_at)),
        error("R-7.2-3", Loc::InRecord(1, 9, 8 + 8)),
        error("R-7.1-1", Loc::Record(2, 0)),
    ])
}

/// Every case.
pub fn all() -> Vec<Case> {
    let mut cases = valid_cases();
    cases.extend(invalid_cases());
    cases
}

/// A little-endian progress file (§9.5) of trace `uuid`, stream class 0: a record per count,
/// the last cut to `cut` bytes when `cut` is not 0.
fn progress_file(uuid: [u8; 16], counts: &[u64], cut: usize) -> Vec<u8> {
    use tracemark_format::progress::{ProgressHeader, RECORD_LEN};
    let mut file = ProgressHeader::new(uuid, 0).encode(ByteOrder::Little).to_vec();
    for count in counts {
        let mut record = [0u8; RECORD_LEN];
        record[..8].copy_from_slice(&count.to_le_bytes());
        file.extend_from_slice(&record);
    }
    if cut > 0 {
        file.truncate(file.len() - RECORD_LEN + cut);
    }
    file
}
