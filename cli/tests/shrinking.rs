//! A stream file truncated while a command reads it (log rotation, a restarted writer, a
//! cleaned-up live trace) never kills the command, nor a C program reading through the C API:
//! it finishes, reports the truncation, and exits normally.
//!
//! Each command is stopped (`SIGSTOP`) as soon as it has mapped the stream file, the file is
//! cut to a few kilobytes, and the command is let go on: every page it touches past the cut
//! would raise `SIGBUS` without the reader's guard.

mod support;

use std::{
    fs::OpenOptions,
    io::Read,
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use support::{compile_tmk_dump, demo};

/// Signals `pid` with `kill -SIGNAL`.
fn signal(pid: u32, name: &str) {
    let status =
        Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("kill runs");
    assert!(status.success(), "kill -{name} {pid}");
}

/// Whether process `pid` maps `file`.
fn maps(pid: u32, file: &Path) -> bool {
    let name = file.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|maps| maps.contains(name))
}

/// Runs `PROGRAM ARGS`, cutting `victim` to 4,099 bytes once the command maps it; returns
/// the exit status, stdout and stderr, and whether the cut happened while it ran.
fn run_cutting(
    program: &Path,
    args: &[&str],
    victim: &Path,
) -> (std::process::ExitStatus, String, String, bool) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tracemark starts");
    let pid = child.id();
    let started = Instant::now();
    let mut cut = false;
    while started.elapsed() < Duration::from_secs(20) {
        if maps(pid, victim) {
            signal(pid, "STOP");
            OpenOptions::new()
                .write(true)
                .open(victim)
                .and_then(|file| file.set_len(4099))
                .expect("truncates");
            signal(pid, "CONT");
            cut = true;
            break;
        }
        if child.try_wait().expect("waits").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    // Drain both pipes on threads, so that a command writing much is never blocked.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = child.wait().expect("waits");
    (status, out.join().expect("stdout"), err.join().expect("stderr"), cut)
}

#[test]
fn every_command_survives_a_stream_file_cut_while_it_reads() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("out");
    std::fs::create_dir(&scratch).unwrap();
    // The C API's `tracemark dump`, linked with the reader's static library.
    let c_dump = compile_tmk_dump(dir.path());
    let tracemark = Path::new(env!("CARGO_BIN_EXE_tracemark"));
    let commands: [(&str, Vec<String>); 7] = [
        ("C API tmk_dump", vec![]),
        ("dump", vec!["dump".into()]),
        ("dump --json", vec!["dump".into(), "--json".into()]),
        ("check", vec!["check".into()]),
        ("stats", vec!["stats".into()]),
        ("convert --to ctf", vec!["convert".into(), "--to".into(), "ctf".into()]),
        ("convert --to chrome-json", vec!["convert".into(), "--to".into(), "chrome-json".into()]),
    ];
    for (index, (name, args)) in commands.iter().enumerate() {
        // A fresh trace each time: 2 streams of about 29 MB.
        let trace = dir.path().join(format!("trace-{index}"));
        demo(&trace, 2, 200_000, &[]);
        let victim = trace.join("stream-0-1.tmk");
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.push(trace.to_str().unwrap());
        let output = scratch.join(format!("out-{index}"));
        if name.starts_with("convert") {
            args.push(output.to_str().unwrap());
        }
        let program = if name.starts_with("C API") { c_dump.as_path() } else { tracemark };
        let (status, stdout, stderr, cut) = run_cutting(program, &args, &victim);
        assert!(cut, "{name}: the file was cut while the command ran");
        assert_eq!(status.signal(), None, "{name} was killed by a signal; stderr:\n{stderr}");
        let code = status.code().unwrap_or(-1);
        assert!(code == 0 || code == 1, "{name} exited with {code}; stderr:\n{stderr}");
        let said = format!("{stdout}\n{stderr}");
        assert!(
            said.contains("truncated") || said.contains("TruncatedPacket") || said.contains("R-10.4"),
            "{name} does not report the truncation; stderr:\n{}",
            stderr.lines().take(20).collect::<Vec<_>>().join("\n")
        );
        let _ = std::fs::remove_dir_all(&trace);
        let _ = std::fs::remove_dir_all(&output);
        let _ = std::fs::remove_file(&output);
    }
}
