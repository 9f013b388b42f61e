//! Hostile input: every command on traces built to exhaust a reader, each run under a time
//! limit and a 2 GiB address-space cap, must finish quickly, without a signal, within a
//! resident-set bound, and deliver the intact events of the trace, none invented.
//!
//! The bound on memory is 64 MiB + 4 × the input (issue #21; spec §13.2); the bound on time
//! is generous, for an unoptimised build on a loaded two-core machine, and far below what the
//! quadratic metadata ingest and exporter took on these traces (tens of seconds to minutes).
//!
//! Classes covered here: zero-size parts inside array elements (§6.7), floods of
//! environment entries, clocks and stream classes, classes of 65,535 fields or mappings
//! (§13.4), and values nested deep enough to amplify (§13.2). The C API runs through its
//! `tracemark dump`, `reader/capi/tests/c/tmk_dump.c`. Files that shrink while read are
//! `tests/shrinking.rs`.

mod support;

use std::{
    io::Read,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tracemark_conformance::{
    vectors::model::{class, data, ev, lay_out, meta, Meta, TraceDesc},
    Val,
};
use tracemark_format::{
    Abi, ByteOrder, ClockClass, EnumMapping, EnvEntry, EnvValue, Field, IntType, StreamClass, TypeDesc,
};

/// Wall time allowed to one command on one trace.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// The address-space cap each command runs under, in KiB (`ulimit -v`).
const ADDRESS_SPACE_KIB: u64 = 2 << 20;

/// Set in the environment of this test binary when it runs as the measuring runner: the path
/// where the runner writes what it measured.
const REPORT_ENV: &str = "TRACEMARK_HOSTILE_REPORT";

/// How one command ended.
struct Run {
    /// Exit code, or `None` when a signal ended it.
    code: Option<i32>,
    signal: Option<i32>,
    elapsed: Duration,
    max_rss_kib: u64,
    timed_out: bool,
    stdout: String,
    stderr: String,
}

/// The runner: starts `PROGRAM ARGS` under the address-space cap, with this process's
/// standard streams, waits for it with `wait4` and writes `code signal max_rss_kib` to the
/// report file.
///
/// The peak resident set a parent learns from `wait4` is at least the parent's own at the
/// time it forked (Linux carries `maxrss` across `exec`), so the test suite, which holds
/// the hostile traces in memory, does not fork the command itself: it starts this small
/// runner, a fresh copy of the test binary.
#[allow(unsafe_code)]
fn runner(report: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (program, args) = args.split_first().expect("the runner is given a program");
    let mut command = Command::new(program);
    command.args(args).env_remove(REPORT_ENV);
    // SAFETY: `setrlimit` is async-signal-safe and touches nothing of the parent's.
    unsafe {
        command.pre_exec(|| {
            let limit =
                libc::rlimit { rlim_cur: ADDRESS_SPACE_KIB * 1024, rlim_max: ADDRESS_SPACE_KIB * 1024 };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // Reaped below with `wait4`, which `Child::wait` cannot do: it gives no resource usage.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("the program starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data; all zeros is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child; `status` and `usage` are valid for writes.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(reaped, pid, "wait4");
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    let signal = if libc::WIFSIGNALED(status) { libc::WTERMSIG(status) } else { 0 };
    std::fs::write(report, format!("{code} {signal} {}", usage.ru_maxrss)).expect("the report writes");
}

/// Runs `PROGRAM ARGS` through the runner, in a process group of its own that a watchdog
/// kills at [`TIME_LIMIT`].
fn run(args: &[String], report: &Path) -> Run {
    let _ = std::fs::remove_file(report);
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .args(args)
        .env(REPORT_ENV, report)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the runner starts");
    let group = child.id() as libc::pid_t;
    let done = Arc::new(AtomicBool::new(false));
    let timed_out = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (done, timed_out) = (done.clone(), timed_out.clone());
        std::thread::spawn(move || {
            while started.elapsed() < TIME_LIMIT {
                if done.load(Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if !done.load(Ordering::Acquire) {
                timed_out.store(true, Ordering::Release);
                kill_group(group);
            }
        })
    };
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let _ = child.wait();
    done.store(true, Ordering::Release);
    let elapsed = started.elapsed();
    let _ = watchdog.join();
    let report = std::fs::read_to_string(report).unwrap_or_default();
    let fields: Vec<i64> = report.split_whitespace().filter_map(|field| field.parse().ok()).collect();
    let (code, signal, max_rss_kib) = match fields[..] {
        [code, signal, rss] => (code, signal, rss),
        _ => (-1, 0, 0),
    };
    Run {
        code: (code >= 0).then_some(code as i32),
        signal: (signal > 0).then_some(signal as i32),
        elapsed,
        max_rss_kib: u64::try_from(max_rss_kib).unwrap_or(0),
        timed_out: timed_out.load(Ordering::Acquire),
        stdout: stdout.join().expect("stdout"),
        stderr: stderr.join().expect("stderr"),
    }
}

#[allow(unsafe_code)]
fn kill_group(group: libc::pid_t) {
    // SAFETY: `kill` with a negative process-group ID signals that group, ours by construction.
    unsafe { libc::kill(-group, libc::SIGKILL) };
}

/// Stands for the C API's `tracemark dump`, `reader/capi/tests/c/tmk_dump.c`, in [`commands`].
const C_API: &str = "c-api";

/// Every command a user runs on a trace, as argument lists; `OUT` is replaced by an output path,
/// and [`C_API`] runs the C API's dump program instead of `tracemark`.
fn commands() -> Vec<Vec<&'static str>> {
    vec![
        vec![C_API],
        vec!["info"],
        vec!["info", "--json"],
        vec!["dump"],
        vec!["dump", "--json"],
        vec!["check"],
        vec!["check", "--json"],
        vec!["stats"],
        vec!["convert", "--to", "ctf", "OUT"],
        vec!["convert", "--to", "chrome-json", "OUT"],
        vec!["convert", "--to", "parquet", "OUT"],
        // Every packet written anew from its records (in the other header word).
        vec!["convert", "--to", "tracemark", "--headers", "wide", "OUT"],
        // A window starting inside the first packet: the packets at its edges rewritten.
        vec!["cut", "--from", "1ns", "OUT"],
    ]
}

/// A hostile trace: its file, and how many `tick` events it holds intact (`None`: no check).
struct Hostile {
    name: &'static str,
    path: PathBuf,
    ticks: Option<usize>,
}

fn tick_class() -> tracemark_format::EventClass {
    class(1, "tick", vec![Field::new("n", TypeDesc::Int(IntType::U64))])
}

/// Three `tick` events, 1, 2, 3, after the metadata `records`.
fn with_ticks(records: Vec<Meta>) -> TraceDesc {
    TraceDesc::new(Abi::lp64(ByteOrder::Little), vec![tick_class()])
        .packet(meta(records))
        .packet(data(0, (1..=3).map(|n| ev(1, 10 * n, vec![Val::U(n)])).collect()))
}

fn write(dir: &Path, name: &str, desc: &TraceDesc) -> PathBuf {
    let laid = lay_out(desc, name, false).expect("the hostile trace lays out");
    let (file, bytes) = laid.files.into_iter().next().expect("one file");
    let path = dir.join(file);
    std::fs::write(&path, bytes).expect("writes");
    path
}

fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes");
    path
}

/// Arrays of length 1 around each element of [`NestedArrays`].
const NESTING: usize = 8;

/// One event of one-byte elements, each nested in [`NESTING`] arrays of length 1: decoded
/// whole, every input byte would become `NESTING + 1` values (issue #21: 450 times the input).
struct NestedArrays(Vec<u8>);

impl tracemark_writer::EventType for NestedArrays {
    const NAME: &'static str = "nested";

    fn fields() -> Vec<Field> {
        let element = (0..NESTING).fold(TypeDesc::Int(IntType::U8), |inner, _| TypeDesc::array(1, inner));
        vec![Field::new("items", TypeDesc::sequence(element))]
    }

    fn encoded_size(&self, _: &Abi) -> usize {
        4 + self.0.len()
    }

    fn encode(&self, out: &mut tracemark_writer::PayloadWriter<'_>) {
        // A sequence count, then the one-byte elements: a blob's encoding (§6.4).
        out.write_blob(&self.0);
    }
}

fn nested_arrays(count: usize) -> Vec<u8> {
    use tracemark_writer::{Config, LocalTrace, ManualClock, StreamWriter, TraceDescription};
    let packet_size = (count + 4096).next_multiple_of(8) as u32;
    let clock = ManualClock::new(0);
    let config = Config::with_uuid(*b"hostile-nesting!").packet_size(packet_size);
    let mut trace =
        LocalTrace::new(&config, TraceDescription::unknown(), &clock, Vec::new()).expect("a trace");
    let handle = trace.register::<NestedArrays>().expect("the class registers");
    let memory = vec![0u8; packet_size as usize];
    let mut stream =
        StreamWriter::new(trace.stream_params(0).expect("stream 0"), memory, &clock).expect("a stream");
    stream.emit_at(&mut trace, handle, &NestedArrays(vec![7; count]), 10).expect("the event fits its packet");
    trace.flush_stream(&mut stream).expect("flushes");
    trace.finish().expect("finishes")
}

tracemark_writer::event! {
    /// An event of no field: a record is its 4-byte narrow header alone.
    pub struct Empty("empty") {}
}

/// One packet of `packet_size` bytes filled with the smallest records there are (§5.1): a
/// reader holding a whole packet's decoded records at once would need ten times its size.
fn smallest_records(packet_size: u32) -> Vec<u8> {
    use tracemark_writer::{Config, HeaderWord, LocalTrace, ManualClock, StreamWriter, TraceDescription};
    let clock = ManualClock::new(0);
    let config =
        Config::with_uuid(*b"hostile-smallest").packet_size(packet_size).header_word(HeaderWord::Narrow);
    let mut trace =
        LocalTrace::new(&config, TraceDescription::unknown(), &clock, Vec::new()).expect("a trace");
    let handle = trace.register::<Empty>().expect("the class registers");
    let memory = vec![0u8; packet_size as usize];
    let mut stream =
        StreamWriter::new(trace.stream_params(0).expect("stream 0"), memory, &clock).expect("a stream");
    let records = (packet_size as usize - tracemark_format::PACKET_HEADER_LEN) / 4;
    for index in 0..records as u64 {
        stream.emit_at(&mut trace, handle, &Empty {}, 10 + index).expect("the event fits");
    }
    trace.flush_stream(&mut stream).expect("flushes");
    trace.finish().expect("finishes")
}

fn hostile_traces(dir: &Path) -> Vec<Hostile> {
    let mut traces = Vec::new();
    let limits = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/vectors/limits");
    for name in ["zero-size-element", "zero-size-inside-element", "zero-size-two-levels-down"] {
        traces.push(Hostile { name, path: limits.join(format!("{name}.tmk")), ticks: None });
    }

    let env: Vec<Meta> = (0..300_000)
        .map(|index| Meta::Env(EnvEntry { key: format!("key_{index}"), value: EnvValue::Int(index) }))
        .collect();
    traces.push(Hostile {
        name: "env-300000",
        path: write(dir, "env.tmk", &with_ticks(env)),
        ticks: Some(3),
    });

    let mut clocks = Vec::new();
    for id in 1..=50_000u32 {
        let clock = ClockClass {
            id,
            frequency: 1_000_000_000,
            offset_ns: 0,
            precision: 0,
            name: format!("c{id}"),
            description: String::new(),
        };
        clocks.push(Meta::Clock(clock));
        clocks.push(Meta::StreamClass(StreamClass { id, clock_id: id, name: format!("s{id}") }));
    }
    traces.push(Hostile {
        name: "clocks-50000",
        path: write(dir, "clocks.tmk", &with_ticks(clocks)),
        ticks: Some(3),
    });

    let wide = |ty: TypeDesc| -> Vec<Meta> {
        let fields = (0..65_535).map(|index| Field::new(format!("f{index}"), ty.clone())).collect();
        vec![Meta::Class(class(2, "wide", fields))]
    };
    for (name, file, ty) in [
        ("fields-65535-integers", "wide-int.tmk", TypeDesc::Int(IntType::U32)),
        ("fields-65535-strings", "wide-str.tmk", TypeDesc::String),
        ("fields-65535-sequences", "wide-seq.tmk", TypeDesc::sequence(TypeDesc::Int(IntType::U8))),
    ] {
        traces.push(Hostile { name, path: write(dir, file, &with_ticks(wide(ty))), ticks: Some(3) });
    }

    // An event of such a class: 65,535 columns for the Parquet export.
    let mut wide_event = with_ticks(wide(TypeDesc::Int(IntType::U32)));
    wide_event = wide_event.packet(data(0, vec![ev(2, 40, (0..65_535).map(Val::U).collect())]));
    traces.push(Hostile {
        name: "event-of-65535-fields",
        path: write(dir, "wide-event.tmk", &wide_event),
        ticks: Some(3),
    });

    let mappings = (0..65_535u64)
        .map(|index| EnumMapping { label: format!("m{index}"), lo: 2 * index, hi: 2 * index })
        .collect();
    let enumeration = TypeDesc::Enum { repr: IntType::U32, mappings };
    let records = vec![Meta::Class(class(2, "mapped", vec![Field::new("e", enumeration)]))];
    traces.push(Hostile {
        name: "nested-arrays-1mib",
        path: write_bytes(dir, "nested.tmk", &nested_arrays(1 << 20)),
        ticks: None,
    });
    traces.push(Hostile {
        name: "smallest-records-8mib-packet",
        path: write_bytes(dir, "smallest.tmk", &smallest_records(8 << 20)),
        ticks: None,
    });
    traces.push(Hostile {
        name: "enum-65535-mappings",
        path: write(dir, "enum.tmk", &with_ticks(records)),
        ticks: Some(3),
    });

    // A directory whose progress file (§9.5) claims 2^64 - 1 events written into each of
    // 262,144 streams: a diagnostic per stream, not an allocation per event claimed.
    let mut claims = with_ticks(Vec::new());
    let mut progress =
        tracemark_format::progress::ProgressHeader::new(claims.uuid, 0).encode(ByteOrder::Little).to_vec();
    for _ in 0..1 << 18 {
        progress.extend_from_slice(&u64::MAX.to_le_bytes());
        progress.extend_from_slice(&[0; 56]);
    }
    claims.extra_files.push(("progress".into(), progress));
    let laid = lay_out(&claims, "progress-claims", true).expect("the hostile trace lays out");
    let trace_dir = dir.join("progress-claims");
    std::fs::create_dir_all(&trace_dir).expect("creates");
    for (name, bytes) in laid.files {
        std::fs::write(trace_dir.join(name), bytes).expect("writes");
    }
    traces.push(Hostile { name: "progress-262144-streams", path: trace_dir, ticks: Some(3) });
    traces
}

/// Bytes of a trace: its file's, or its directory's files'.
fn input_len(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .expect("the trace directory lists")
            .map(|entry| entry.expect("an entry").metadata().expect("metadata").len())
            .sum()
    } else {
        std::fs::metadata(path).expect("the trace exists").len()
    }
}

fn main() {
    if let Ok(report) = std::env::var(REPORT_ENV) {
        return runner(&report);
    }
    every_command_stays_within_its_bounds_on_every_hostile_trace();
    println!("hostile input: every command within its bounds on every trace");
}

/// Where the hostile traces are written: `TRACEMARK_HOSTILE_DIR`, kept for trying other tools
/// on them, or a temporary directory.
fn work_dir() -> (PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("TRACEMARK_HOSTILE_DIR") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).expect("TRACEMARK_HOSTILE_DIR is created");
            (PathBuf::from(dir), None)
        }
        None => {
            let temp = tempfile::tempdir().expect("a temporary directory");
            (temp.path().to_path_buf(), Some(temp))
        }
    }
}

fn every_command_stays_within_its_bounds_on_every_hostile_trace() {
    let (dir, _temp) = work_dir();
    let report = dir.join("report");
    let c_api_dump = support::compile_tmk_dump(&dir);
    let mut failures = Vec::new();
    for hostile in hostile_traces(&dir) {
        let input = input_len(&hostile.path);
        let rss_bound_kib = 64 * 1024 + 4 * input / 1024;
        for command in commands() {
            let out = dir.join("out");
            // PROGRAM, TRACE, then OUT for `convert`.
            let mut args: Vec<String> = match command.as_slice() {
                [C_API] => vec![c_api_dump.display().to_string()],
                _ => std::iter::once(env!("CARGO_BIN_EXE_tracemark"))
                    .chain(command.iter().copied().filter(|arg| *arg != "OUT"))
                    .map(str::to_string)
                    .collect(),
            };
            args.push(hostile.path.display().to_string());
            if command.contains(&"OUT") {
                args.push(out.display().to_string());
            }
            let run = run(&args, &report);
            let _ = std::fs::remove_dir_all(&out);
            let _ = std::fs::remove_file(&out);
            let shown = format!("{} on {}", command.join(" "), hostile.name);
            println!(
                "{shown}: {:?} exit {:?} signal {:?}, {} KiB peak RSS ({} KiB input)",
                run.elapsed,
                run.code,
                run.signal,
                run.max_rss_kib,
                input / 1024
            );
            if run.timed_out {
                failures.push(format!("{shown}: still running after {TIME_LIMIT:?}"));
                continue;
            }
            if let Some(signal) = run.signal {
                failures.push(format!("{shown}: killed by signal {signal}; stderr: {}", tail(&run.stderr)));
                continue;
            }
            if !matches!(run.code, Some(0..=2)) {
                failures.push(format!("{shown}: exit code {:?}; stderr: {}", run.code, tail(&run.stderr)));
            }
            if run.max_rss_kib > rss_bound_kib {
                failures.push(format!(
                    "{shown}: peak RSS {} KiB over the bound {rss_bound_kib} KiB",
                    run.max_rss_kib
                ));
            }
            if let (Some(ticks), ["dump"] | [C_API]) = (hostile.ticks, command.as_slice()) {
                let delivered = run.stdout.lines().filter(|line| line.contains(" tick: ")).count();
                if delivered != ticks {
                    failures.push(format!("{shown}: {delivered} tick events delivered, {ticks} intact"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "hostile-input failures:\n{}", failures.join("\n"));
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}
