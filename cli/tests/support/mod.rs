//! Helpers shared by the interoperability tests: running the `tracemark` binary and writing
//! traces that exercise every payload type.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use tracemark_conformance::{rust_writer, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{Abi, AbiInt, ByteOrder, EnumMapping, Field, IntType, TypeDesc};

/// Runs `tracemark ARGS`: (exit code, stdout, stderr).
pub fn tracemark(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tracemark")).args(args).output().expect("tracemark runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `tracemark ARGS` and insists on success.
pub fn tracemark_ok(args: &[&str]) -> (String, String) {
    let (code, stdout, stderr) = tracemark(args);
    assert_eq!(code, 0, "tracemark {args:?} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Records the demo trace (a directory) with `threads` CPUs.
pub fn demo(path: &Path, threads: u32, iterations: u32, extra: &[&str]) {
    let threads = threads.to_string();
    let iterations = iterations.to_string();
    let mut args = vec![
        "demo",
        path.to_str().unwrap(),
        "--threads",
        &threads,
        "--iterations",
        &iterations,
        "--show",
        "0",
    ];
    args.extend_from_slice(extra);
    tracemark_ok(&args);
}

fn int(int: IntType) -> TypeDesc {
    TypeDesc::Int(int)
}

fn mapping(label: &str, lo: i64, hi: i64) -> EnumMapping {
    EnumMapping { label: label.into(), lo: lo as u64, hi: hi as u64 }
}

/// Event classes covering every type code (§6), nested compound types, names that collide
/// with generated CTF names, overlapping enumeration ranges, and event names that are not
/// identifiers.
pub fn all_type_classes() -> Vec<ClassSpec> {
    let scalars = tracemark_conformance::harness::every_scalar_field();
    let point = TypeDesc::Struct(vec![
        Field::new("x", int(IntType::Abi(AbiInt::Long))),
        Field::new("label", TypeDesc::String),
    ]);
    let compound = vec![
        Field::new("name", TypeDesc::String),
        Field::new("raw", TypeDesc::Blob),
        // A user field with the name the CTF export would give `raw`'s length.
        Field::new("_raw_length", int(IntType::U8)),
        Field::new("fixed", TypeDesc::array(3, int(IntType::I16))),
        Field::new("seq", TypeDesc::sequence(int(IntType::Abi(AbiInt::Pointer)))),
        Field::new(
            "state",
            TypeDesc::Enum {
                repr: IntType::Abi(AbiInt::Long),
                mappings: vec![mapping("NEG", -10, -1), mapping("ZERO", 0, 0), mapping("SMALL", -3, 3)],
            },
        ),
        Field::new(
            "code",
            TypeDesc::Enum {
                repr: IntType::U8,
                mappings: vec![mapping("LOW", 0, 127), mapping("HIGH", 128, 255)],
            },
        ),
        Field::new("points", TypeDesc::sequence(point.clone())),
        Field::new(
            "nested",
            TypeDesc::Struct(vec![
                Field::new("inner", point),
                Field::new("grid", TypeDesc::array(2, TypeDesc::array(2, TypeDesc::F64))),
            ]),
        ),
        Field::new("names", TypeDesc::array(2, TypeDesc::String)),
        Field::new("matrix", TypeDesc::sequence(TypeDesc::sequence(int(IntType::I8)))),
        Field::new("blobs", TypeDesc::array(2, TypeDesc::Blob)),
        Field::new("unlabelled", TypeDesc::Enum { repr: IntType::I16, mappings: vec![] }),
    ];
    vec![
        ClassSpec::new("scalars", scalars),
        ClassSpec::new("net:compound \"quoted\" café", compound),
        ClassSpec::new("empty", vec![]),
    ]
}

fn scalar_values(extreme: bool) -> Vec<Val> {
    let mut values = vec![
        Val::Bool(extreme),
        Val::F32(if extreme { f32::MIN_POSITIVE } else { -1.5 }),
        Val::F64(if extreme { f64::MAX } else { 2.25 }),
    ];
    let unsigned = |max: u64| Val::U(if extreme { max } else { 1 });
    let signed = |min: i64| Val::I(if extreme { min } else { -1 });
    values.extend([
        unsigned(u8::MAX.into()),
        unsigned(u16::MAX.into()),
        unsigned(u32::MAX.into()),
        unsigned(u64::MAX),
    ]);
    values.extend([
        signed(i8::MIN.into()),
        signed(i16::MIN.into()),
        signed(i32::MIN.into()),
        signed(i64::MIN),
    ]);
    for abi_int in AbiInt::ALL {
        values.push(if abi_int.is_signed() { Val::I(-0x1_2345_6789) } else { Val::U(0xFEDC_BA98_7654_3210) });
    }
    values
}

fn compound_values(step: u64) -> Vec<Val> {
    let point = |x: i64, label: &[u8]| Val::Struct(vec![Val::I(x), Val::Str(label.to_vec())]);
    vec![
        Val::Str(match step % 3 {
            0 => b"bash".to_vec(),
            1 => b"caf\xc3\xa9 \xff not utf-8".to_vec(),
            _ => b"tab\there \"quote\" back\\slash\nnewline \x01".to_vec(),
        }),
        Val::Blob((0..step as u8 % 9).collect()),
        Val::U(step % 256),
        Val::List(vec![Val::I(i16::MIN.into()), Val::I(0), Val::I(i16::MAX.into())]),
        Val::List((0..step % 4).map(|n| Val::U(0xffff_8880_0000_0000 + n)).collect()),
        Val::I([-5, 0, 2, 7, -11][step as usize % 5]),
        Val::U(step * 97 % 256),
        Val::List((0..step % 3).map(|n| point(n as i64 - 1, b"pt")).collect()),
        Val::Struct(vec![
            point(-(step as i64), b""),
            Val::List(vec![
                Val::List(vec![Val::F64(0.5), Val::F64(-0.0)]),
                Val::List(vec![Val::F64(1e300), Val::F64(f64::MIN_POSITIVE)]),
            ]),
        ]),
        Val::List(vec![Val::Str(b"a".to_vec()), Val::Str(Vec::new())]),
        Val::List(
            (0..step % 3)
                .map(|row| Val::List((0..row + 1).map(|n| Val::I(n as i64 - 2)).collect()))
                .collect(),
        ),
        Val::List(vec![Val::Blob(vec![step as u8]), Val::Blob(Vec::new())]),
        Val::I(step as i64 - 50),
    ]
}

/// A scenario with every type: 3 CPUs, packet rollovers (small packets), compact and extended
/// headers (a 2^48-tick gap, and event IDs from `first_event_id`).
pub fn all_types_scenario(abi: Abi, first_event_id: u32) -> Scenario {
    let mut events = Vec::new();
    let mut timestamp = 1_000u64;
    for step in 0..120u64 {
        let cpu = (step % 3) as u32;
        timestamp += 1 + step * 13;
        let (class, values) = match step % 4 {
            0 => (0, scalar_values(step % 8 == 0)),
            1 | 2 => (1, compound_values(step)),
            _ => (2, vec![]),
        };
        events.push(EventSpec { class, cpu, timestamp, values });
    }
    // A quiet CPU: gaps of 2^48 - 1 ticks (compact) and 2^48 ticks (extended).
    let quiet = timestamp + 10;
    events.push(EventSpec { class: 2, cpu: 5, timestamp: quiet, values: vec![] });
    events.push(EventSpec { class: 2, cpu: 5, timestamp: quiet + (1 << 48) - 1, values: vec![] });
    events.push(EventSpec { class: 2, cpu: 5, timestamp: quiet + (1 << 48) - 1 + (1 << 48), values: vec![] });
    Scenario {
        abi,
        packet_size: 1024,
        first_event_id,
        classes: all_type_classes(),
        events,
        ..Scenario::default()
    }
}

/// The every-type traces, as trace directories under `dir`: (name, path).
pub fn all_types_traces(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let variants = [
        ("all-types-le64", Abi::lp64(ByteOrder::Little), 0),
        ("all-types-be32", Abi::ilp32(ByteOrder::Big), 0),
        ("all-types-be64-extended-ids", Abi::lp64(ByteOrder::Big), 0xFFFE),
        ("all-types-le32-extended-ids", Abi::ilp32(ByteOrder::Little), 0x1_0000),
    ];
    variants
        .into_iter()
        .map(|(name, abi, first_id)| {
            let path = dir.join(name);
            rust_writer::directory(&all_types_scenario(abi, first_id), &path).expect("scenario writes");
            (name.to_string(), path)
        })
        .collect()
}

/// The valid conformance vectors present in the checkout (`conformance/vectors/valid/*`).
pub fn valid_vectors() -> Vec<(String, std::path::PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/vectors/valid");
    let Ok(entries) = std::fs::read_dir(&root) else { return Vec::new() };
    let mut vectors: Vec<(String, std::path::PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir() || path.extension().is_some_and(|ext| ext == "tmk"))
        .map(|path| (format!("vector {}", path.file_name().unwrap().to_string_lossy()), path))
        .collect();
    vectors.sort();
    vectors
}

/// A trace directory with losses, on a 32768 Hz clock with an epoch offset: events the writer
/// discarded (counted in `events_discarded`, §10.1) on two CPUs, and one packet cut out of CPU
/// 1's file (a sequence gap, §10.2). Returns (discarded events, missing packets).
pub fn lossy_trace(path: &Path) -> (u64, u64) {
    use tracemark_format::ClockClass;
    use tracemark_writer::{Config, DirectorySink, FnClock, Session};

    const PACKET_SIZE: u32 = 512;
    let clock = FnClock::with_class(
        ClockClass {
            id: 0,
            frequency: 32_768,
            offset_ns: 1_795_000_000_123_456_789,
            precision: 2,
            name: "rtc".into(),
            description: "a 32 kHz real-time clock".into(),
        },
        || 0,
    );
    let config = Config::with_uuid(*b"tracemark-lossy!").packet_size(PACKET_SIZE);
    let session =
        Session::builder(config).build_with_clock(clock, DirectorySink::create(path).unwrap()).unwrap();
    let fields = vec![Field::new("n", int(IntType::U64)), Field::new("who", TypeDesc::String)];
    let tick = session.register_fields(session.stream_class_id(), "tick", 6, fields).unwrap();
    let mut discarded = 0;
    for cpu in 0..2u32 {
        let mut stream = session.stream(cpu).unwrap();
        let (writer, out) = stream.raw().unwrap();
        for n in 0..300u64 {
            let who = format!("cpu{cpu}-{n}");
            let slot = writer.reserve(out, tick, 1_000 + n * 40 + u64::from(cpu), 8 + who.len() + 1).unwrap();
            if n % 23 == 5 {
                writer.abort(slot);
                discarded += 1;
                continue;
            }
            let mut payload = writer.payload(&slot);
            payload.write_u64(n);
            payload.write_c_string(who.as_bytes());
            writer.commit(slot);
        }
    }
    session.finish().unwrap();
    drop(session);
    // Cut CPU 1's fourth packet out: packets 0-2, then 4 onwards.
    let file = path.join("stream-0-1.tmk");
    let mut bytes = std::fs::read(&file).unwrap();
    let packet = PACKET_SIZE as usize;
    assert!(bytes.len() > 6 * packet);
    bytes.drain(3 * packet..4 * packet);
    std::fs::write(&file, bytes).unwrap();
    (discarded, 1)
}

fn capi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reader/capi")
}

/// `libtracemark_capi.a`, built beside this test as a dev-dependency.
fn static_library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let mut candidates: Vec<PathBuf> = [deps, deps.parent().unwrap()]
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).into_iter().flatten().filter_map(Result::ok))
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("libtracemark_capi") && name.ends_with(".a")
        })
        .collect();
    // The most recent build.
    candidates.sort_by_key(|path| std::fs::metadata(path).and_then(|meta| meta.modified()).ok());
    candidates.pop().unwrap_or_else(|| panic!("libtracemark_capi.a not found near {}", deps.display()))
}

/// Compiles `reader/capi/tests/c/tmk_dump.c` (the C API's `tracemark dump`) into `out`.
pub fn compile_tmk_dump(out: &Path) -> PathBuf {
    let program = out.join("tmk_dump");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-I"])
        .arg(capi_dir().join("include"))
        .arg(capi_dir().join("tests/c/tmk_dump.c"))
        .arg(static_library())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&program)
        .status()
        .unwrap_or_else(|error| panic!("{cc} runs: {error}"));
    assert!(status.success(), "the C program compiles and links");
    program
}
