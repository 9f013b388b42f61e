//! `tracemark dump --follow`: a writer and a follower run at once. The follower prints events
//! while the writer is still appending, prints every event exactly once, and exits by itself
//! when the writer finishes (the `finished` marker, §9.4).

mod support;

use std::{
    io::{BufRead, BufReader, Read},
    process::{Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use support::{demo, tracemark, tracemark_ok};
use tracemark_writer::{event, Config, DirectorySink, Session, FINISHED_MARKER};

const ROUNDS: u64 = 20;
const CPUS: u32 = 3;
const PER_ROUND: u64 = 40;

event! {
    /// One unit of work.
    pub struct Tick<'a>("tick") { pub round: u64, pub n: u64, pub note: &'a str }
}

/// Lines a child prints, each with the instant it arrived.
fn collect_lines(stdout: impl Read + Send + 'static) -> mpsc::Receiver<(Instant, String)> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    receiver
}

#[test]
fn follow_prints_events_while_the_writer_appends_and_exits_when_it_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("live");
    // The follower starts first: the directory does not exist yet.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracemark"))
        .args(["dump", "--follow", "--json", "--idle-timeout", "60", trace.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = collect_lines(child.stdout.take().unwrap());
    thread::sleep(Duration::from_millis(200));

    // The writer: small packets, flushed every round, so packets land while it runs.
    let config = Config::with_uuid(*b"tracemark-live!!").packet_size(4096);
    let session = Session::builder(config).build(DirectorySink::create(&trace).unwrap()).unwrap();
    let tick = session.register::<Tick>().unwrap();
    let mut streams: Vec<_> = (0..CPUS).map(|cpu| session.stream(cpu).unwrap()).collect();
    for round in 0..ROUNDS {
        for stream in &mut streams {
            for n in 0..PER_ROUND {
                stream.emit(tick, &Tick { round, n, note: "live" }).unwrap();
            }
            stream.flush().unwrap();
        }
        thread::sleep(Duration::from_millis(50));
    }
    drop(streams);
    assert!(!trace.join(FINISHED_MARKER).exists(), "the marker comes when the session finishes");
    let finished_at = Instant::now();
    let summary = session.finish().unwrap();
    assert!(trace.join(FINISHED_MARKER).exists());
    // The stream files' indexes come before it (§14.3).
    assert!(trace.join("index/stream-0-0.tmk.idx").is_file());
    drop(session);
    assert_eq!(summary.events_written, ROUNDS * u64::from(CPUS) * PER_ROUND);

    // The follower exits by itself, successfully.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the follower did not exit after the writer finished");
        thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "follower failed: {stderr}");
    assert!(stderr.is_empty(), "no diagnostics: {stderr}");

    let received: Vec<(Instant, String)> = lines.iter().collect();
    let early = received.iter().filter(|(at, _)| *at < finished_at).count();
    assert!(early > 0, "events were printed while the writer was still running");

    // Every event exactly once: the same lines as a dump of the finished trace.
    let mut followed: Vec<String> = received.into_iter().map(|(_, line)| line).collect();
    let (dumped, _) = tracemark_ok(&["dump", "--json", trace.to_str().unwrap()]);
    let mut dumped: Vec<String> = dumped.lines().map(str::to_string).collect();
    assert_eq!(dumped.len() as u64, summary.events_written);
    followed.sort();
    dumped.sort();
    assert_eq!(followed, dumped);
}

#[test]
fn follow_reads_a_finished_trace_at_once_and_a_single_file_until_idle() {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("done");
    demo(&directory, 2, 150, &[]);
    assert!(directory.join(FINISHED_MARKER).exists(), "the demo's writer marked the trace finished");
    let (followed, stderr) = tracemark_ok(&["dump", "--follow", directory.to_str().unwrap()]);
    assert!(stderr.is_empty(), "{stderr}");
    let (dumped, _) = tracemark_ok(&["dump", directory.to_str().unwrap()]);
    assert_eq!(sorted(&followed), sorted(&dumped));

    // A single file has no marker: following stops at the idle timeout.
    let file = dir.path().join("done.tmk");
    demo(&file, 2, 150, &["--single-file"]);
    let started = Instant::now();
    let (code, followed, stderr) =
        tracemark(&["dump", "--follow", "--idle-timeout", "0.5", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("no new data"), "{stderr}");
    assert!(started.elapsed() >= Duration::from_millis(500));
    let (dumped, _) = tracemark_ok(&["dump", file.to_str().unwrap()]);
    assert_eq!(sorted(&followed), sorted(&dumped));
}

#[test]
fn follow_reads_the_same_stream_files_as_one_shot_reading_whatever_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("odd");
    demo(&directory, 3, 100, &[]);
    // Hidden, spaced and non-ASCII names: all `*.tmk`, all streams of the trace (§9.1).
    for (from, to) in
        [("stream-0-0.tmk", ".tmk"), ("stream-0-1.tmk", ".cpu 1.tmk"), ("stream-0-2.tmk", "é\tß.tmk")]
    {
        std::fs::rename(directory.join(from), directory.join(to)).unwrap();
    }
    let (dumped, _) = tracemark_ok(&["dump", directory.to_str().unwrap()]);
    let (followed, stderr) = tracemark_ok(&["dump", "--follow", directory.to_str().unwrap()]);
    assert!(stderr.is_empty(), "{stderr}");
    let cpus: std::collections::BTreeSet<&str> =
        dumped.lines().filter_map(|line| line.split(" cpu ").nth(1)?.split(' ').next()).collect();
    assert_eq!(cpus.len(), 3, "one-shot reading finds the three streams");
    assert_eq!(sorted(&followed), sorted(&dumped));
}

#[test]
fn follow_steps_through_a_sparse_gigabyte_in_bounded_memory() {
    // A stream file of 1 GiB of zeros (a preallocated or sparse file): no header anywhere.
    // Following used to read it whole, doubling a buffer to 2 GiB; it now hands the damage to
    // the reader a bounded read at a time, under a 1 GiB address-space cap.
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("sparse");
    demo(&directory, 2, 100, &[]);
    let sparse = std::fs::File::create(directory.join("stream-9-9.tmk")).unwrap();
    sparse.set_len(1 << 30).unwrap();
    let (dumped, _) = tracemark_ok(&["dump", directory.to_str().unwrap()]);
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" dump --follow \"$1\"")
        .arg(env!("CARGO_BIN_EXE_tracemark"))
        .arg(&directory)
        .output()
        .expect("sh runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {}", output.status, stderr.lines().last().unwrap_or_default());
    assert!(stderr.contains("bad packet header"), "the zeros are reported as damage");
    let followed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(sorted(&followed), sorted(&dumped), "every event of the other streams is followed");
}

/// The lines of `text`, sorted: followed and one-shot output hold the same events, in an order
/// that depends on when packets land.
fn sorted(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}
