//! The `tracemark` command end to end: demo, then info and dump on what it wrote.

use std::{path::Path, process::Command};

use tracemark_reader::format::HeaderWord;

fn tracemark(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tracemark")).args(args).output().expect("tracemark runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn events_written(demo_stdout: &str) -> u64 {
    let line = demo_stdout.lines().find(|line| line.contains(" events from ")).expect("summary line");
    line.split_whitespace().next().unwrap().parse().unwrap()
}

fn demo(path: &Path, extra: &[&str]) -> u64 {
    let mut args = vec!["demo", path.to_str().unwrap(), "--threads", "3", "--iterations", "700"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = tracemark(&args);
    assert_eq!(code, 0, "demo failed: {stdout}{stderr}");
    assert!(stdout.contains("read back"), "{stdout}");
    events_written(&stdout)
}

#[test]
fn dump_prints_every_event_the_demo_wrote() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in
        [("dir", &[][..]), ("file.tmk", &["--single-file"][..]), ("foreign", &["--foreign-abi"][..])]
    {
        let path = dir.path().join(name);
        let written = demo(&path, extra);
        // 3 threads x 700 iterations: switch + enter + exit, a receive every 4th, a marker every 100th.
        assert_eq!(written, 3 * (700 * 3 + 175 + 7));

        let (code, text, stderr) = tracemark(&["dump", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.is_empty(), "no diagnostics expected: {stderr}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len() as u64, written);
        assert!(lines
            .iter()
            .all(|line| line.starts_with('[') && line.contains(" cpu ") && line.ends_with(" }")));
        for class in ["sched_switch", "sys_enter", "sys_exit", "net_receive", "work_done"] {
            assert!(lines.iter().any(|line| line.contains(&format!(" {class}: {{"))), "no {class}");
        }
        assert!(text.contains("prev_state = Interruptible (1)"), "enum labels are printed");
        assert!(text.contains("source = { addr = [10, 0, 0, "), "nested structs are printed");
        assert!(text.contains("worker = \""), "marker strings are printed");
        assert!(text.contains("skbaddr = 0x"), "pointers are printed in hexadecimal");

        let (code, json, _) = tracemark(&["dump", "--json", path.to_str().unwrap()]);
        assert_eq!(code, 0);
        let mut previous = 0u64;
        let mut count = 0u64;
        for line in json.lines() {
            let event: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
            let timestamp = event["timestamp"].as_u64().unwrap();
            assert!(timestamp >= previous, "events are in time order");
            previous = timestamp;
            count += 1;
        }
        assert_eq!(count, written);
    }
}

#[test]
fn info_describes_the_abi_streams_and_classes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign");
    demo(&path, &["--foreign-abi"]);
    let (code, info, stderr) = tracemark(&["info", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let order = if cfg!(target_endian = "little") { "big-endian" } else { "little-endian" };
    assert!(
        info.contains(&format!("abi        {order}; short 2 int 4 long 4 long long 8 pointer 4 size_t 4")),
        "{info}"
    );
    assert!(info.contains("streams    3"), "{info}");
    assert!(info.contains("marker \"item %u took_ns %llu worker %s\""), "{info}");
    let (code, json, _) = tracemark(&["info", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let summary: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(summary["streams"].as_array().map(Vec::len), Some(3));
}

#[test]
fn unreadable_input_exits_with_status_2_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"this is not a trace at all, just text").unwrap();
    let (code, _, stderr) = tracemark(&["dump", junk.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("tracemark:"), "{stderr}");
    let (code, _, stderr) = tracemark(&["info", dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(!stderr.is_empty());
}

/// `(unix_ns, line)` of every event `dump --json` prints with `extra` arguments.
fn dump_json(path: &Path, extra: &[&str]) -> Vec<(i128, String)> {
    let mut args = vec!["dump", "--json", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, json, stderr) = tracemark(&args);
    assert_eq!(code, 0, "{stderr}");
    json.lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            (event["unix_ns"].as_i64().unwrap().into(), line.to_string())
        })
        .collect()
}

/// The time `--from` and `--to` offsets count from: the earliest timestamp_begin, at or before
/// the first event, in nanoseconds since the epoch.
fn trace_begin(path: &Path) -> i128 {
    let (code, info, _) = tracemark(&["info", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let clock = &info["clocks"][0];
    assert_eq!(clock["frequency"], 1_000_000_000, "the demo's clock counts nanoseconds");
    let offset = i128::from(clock["offset_ns"].as_i64().unwrap());
    let streams = info["streams"].as_array().unwrap();
    offset + i128::from(streams.iter().map(|stream| stream["begin"].as_u64().unwrap()).min().unwrap())
}

#[test]
fn dump_from_to_prints_the_events_of_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.tmk");
    demo(&path, &["--single-file"]);
    let all = dump_json(&path, &[]);
    let start = all.iter().map(|(ns, _)| *ns).min().unwrap();
    let end = all.iter().map(|(ns, _)| *ns).max().unwrap();
    let begin = trace_begin(&path);
    assert!(begin <= start);
    let third = (end - begin) / 3;
    let window = dump_json(&path, &["--from", &format!("{third}ns"), "--to", &format!("{}", 2 * third)]);
    let expected: Vec<_> =
        all.iter().filter(|(ns, _)| (begin + third..=begin + 2 * third).contains(ns)).cloned().collect();
    assert!(!expected.is_empty() && expected.len() < all.len());
    assert_eq!(window, expected);
    // An empty window prints nothing; --to alone runs from the start.
    assert!(dump_json(&path, &["--from", "2s", "--to", "1s"]).is_empty());
    assert_eq!(dump_json(&path, &["--to", &format!("{}ns", end - begin)]), all);
}

#[test]
fn index_writes_an_index_that_check_accepts_and_reading_ignores() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [("dir", &[][..]), ("file.tmk", &["--single-file"][..])] {
        let path = dir.path().join(name);
        demo(&path, extra);
        let before = dump_json(&path, &[]);
        let (code, out, stderr) = tracemark(&["index", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{stderr}");
        assert!(out.starts_with("indexed "), "{out}");
        let (code, out, _) = tracemark(&["index", path.to_str().unwrap()]);
        assert_eq!(code, 0);
        assert!(out.lines().all(|line| line.starts_with("up to date:")), "{out}");
        let (code, out, stderr) = tracemark(&["check", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{stderr}");
        assert_eq!(dump_json(&path, &[]), before, "{name}: the index changes no event");
        let (code, info, _) = tracemark(&["info", path.to_str().unwrap()]);
        assert_eq!(code, 0);
        assert!(
            info.lines().any(|line| line.starts_with("index ") && line.ends_with("packets (spec §14)")),
            "{info}"
        );
    }
}

#[test]
fn cut_and_split_write_windows_that_check_clean_and_hold_their_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dir");
    demo(&path, &[]);
    // A window from the events' second fifth to their fourth: the demo's timing varies with
    // the machine's load, so fixed offsets may hold no event.
    let all = dump_json(&path, &[]);
    let begin = trace_begin(&path);
    let at = |fifth: usize| format!("{}ns", all[all.len() * fifth / 5].0 - begin);
    let (from, to) = (at(1), at(4));
    let window = dump_json(&path, &["--from", &from, "--to", &to]);
    assert!(!window.is_empty());
    // The same trace with narrow record headers (spec §5.1): its edge packets keep them.
    let narrow = dir.path().join("narrow.tmk");
    let (code, _, stderr) = tracemark(&[
        "convert",
        "--to",
        "tracemark",
        "--headers",
        "narrow",
        path.to_str().unwrap(),
        narrow.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    for (input, name, word) in
        [(&path, "cut.tmk", HeaderWord::Wide), (&narrow, "cut-narrow.tmk", HeaderWord::Narrow)]
    {
        let cut = dir.path().join(name);
        let (code, out, stderr) =
            tracemark(&["cut", input.to_str().unwrap(), cut.to_str().unwrap(), "--from", &from, "--to", &to]);
        assert_eq!(code, 0, "{out}{stderr}");
        assert!(out.contains("rewritten at the window's edges"), "{out}");
        let (code, report, _) = tracemark(&["check", cut.to_str().unwrap()]);
        assert_eq!(code, 0, "{report}");
        assert_eq!(dump_json(&cut, &[]), window, "{name}");
        let trace = tracemark_reader::Trace::open(&cut).unwrap();
        assert!(trace
            .events()
            .filter_map(tracemark_reader::Item::event)
            .all(|event| event.header_word() == word));
    }
    let cut = dir.path().join("cut.tmk");
    // The output must be new: the input is never overwritten.
    let (code, _, stderr) = tracemark(&["cut", path.to_str().unwrap(), cut.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("must be a new file"), "{stderr}");

    let parts = dir.path().join("parts");
    let (code, out, stderr) =
        tracemark(&["split", path.to_str().unwrap(), parts.to_str().unwrap(), "--every", "300us"]);
    assert_eq!(code, 0, "{out}{stderr}");
    let mut names: Vec<_> = std::fs::read_dir(&parts).unwrap().map(|entry| entry.unwrap().path()).collect();
    names.sort();
    assert!(names.len() > 1);
    let mut joined = Vec::new();
    for part in &names {
        let (code, report, _) = tracemark(&["check", part.to_str().unwrap()]);
        assert_eq!(code, 0, "{report}");
        joined.extend(dump_json(part, &[]));
    }
    assert_eq!(joined, dump_json(&path, &[]), "the parts hold every event once, in order");
    let (code, _, stderr) = tracemark(&[
        "split",
        path.to_str().unwrap(),
        dir.path().join("p2").to_str().unwrap(),
        "--every",
        "0s",
    ]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn convert_to_tracemark_compresses_and_decompresses_without_changing_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    demo(&trace, &[]);
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let (_, original, _) = tracemark(&["dump", trace.to_str().unwrap()]);
    for codec in ["zstd", "lz4"] {
        let compressed = path(&format!("{codec}.tmk"));
        let (code, _, stderr) = tracemark(&[
            "convert",
            "--to",
            "tracemark",
            "--compress",
            codec,
            trace.to_str().unwrap(),
            &compressed,
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains(" compressed)") && !stderr.contains("(0 compressed)"), "{stderr}");
        let plain = path(&format!("{codec}-plain.tmk"));
        let (code, _, stderr) = tracemark(&["convert", "--to", "tracemark", &compressed, &plain]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("(0 compressed)"), "{stderr}");
        // Smaller, and the same events, compressed or decompressed again.
        let size = |path: &str| std::fs::metadata(path).unwrap().len();
        assert!(
            size(&compressed) * 4 < size(&plain) * 3,
            "{codec}: {} vs {}",
            size(&compressed),
            size(&plain)
        );
        for copy in [&compressed, &plain] {
            let (code, text, stderr) = tracemark(&["dump", copy]);
            assert_eq!(code, 0, "{stderr}");
            assert!(text == original, "{copy}: the events differ");
            let (code, report, _) = tracemark(&["check", copy]);
            assert_eq!(code, 0, "{copy}: {report}");
            let (_, info, _) = tracemark(&["info", copy]);
            assert!(info.contains(": usable,"), "{copy} has its index: {info}");
        }
    }
    let (code, _, stderr) =
        tracemark(&["convert", "--to", "ctf", "--compress", "zstd", trace.to_str().unwrap(), &path("ctf")]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--to tracemark only"), "{stderr}");
}

/// `convert --headers` rewrites each packet's records in the header word asked for (spec §5.1)
/// and changes no event; a packet whose records are not all delivered is copied as it is.
#[test]
fn convert_to_tracemark_rewrites_record_headers_without_changing_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let events = demo(&trace, &[]);
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let convert = |extra: &[&str], from: &str, to: &str| {
        let mut args = vec!["convert", "--to", "tracemark"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[from, to]);
        let (code, _, stderr) = tracemark(&args);
        assert_eq!(code, 0, "{stderr}");
        stderr
    };
    let original = trace.to_str().unwrap();
    let (narrow, wide, narrow_zstd, plain) =
        (path("narrow.tmk"), path("wide.tmk"), path("nz.tmk"), path("plain.tmk"));
    let stderr = convert(&["--headers", "narrow"], original, &narrow);
    assert!(stderr.contains("record headers rewritten, 0 damaged"), "{stderr}");
    assert!(!stderr.contains("; 0 packets' record headers"), "{stderr}");
    convert(&["--headers", "wide"], &narrow, &wide);
    convert(&["--headers", "narrow", "--compress", "zstd"], original, &narrow_zstd);
    convert(&[], original, &plain);
    let (_, expected, _) = tracemark(&["dump", original]);
    for copy in [&narrow, &wide, &narrow_zstd] {
        let (code, text, stderr) = tracemark(&["dump", copy]);
        assert_eq!(code, 0, "{stderr}");
        assert!(text == expected, "{copy}: the events differ");
        let (code, report, _) = tracemark(&["check", copy]);
        assert_eq!(code, 0, "{copy}: {report}");
    }
    // `info` says which packets are narrow and which compressed.
    let info = |path: &str| tracemark(&["info", path]).1;
    let packets =
        |path: &str| info(path).lines().find(|line| line.starts_with("packets")).unwrap().to_owned();
    assert!(
        packets(&narrow).contains(" data (") && packets(&narrow).contains(" with narrow record headers)")
    );
    assert!(
        packets(&narrow_zstd).contains("with narrow record headers, ")
            && packets(&narrow_zstd).contains(" compressed)")
    );
    assert!(
        !packets(&wide).contains("narrow") && !packets(&wide).contains("compressed"),
        "{}",
        packets(&wide)
    );
    // Four bytes less per record, at least three per event (extended headers shrink too).
    let size = |path: &str| std::fs::metadata(path).unwrap().len();
    assert!(size(&narrow) + 3 * events <= size(&plain), "{} vs {}", size(&narrow), size(&plain));
    assert!(size(&wide) <= size(&plain), "{} vs {}", size(&wide), size(&plain));

    // A damaged packet is copied as it is: the copy delivers what the original does.
    let damaged = dir.path().join("damaged.tmk");
    let mut bytes = std::fs::read(&plain).unwrap();
    // The middle of the first data packet's records (its padding is not covered by the CRC).
    let middle = {
        let trace = tracemark_reader::Trace::open(&plain).unwrap();
        let id = trace.stream_ids().next().unwrap();
        let packet = trace.packets(id).next().unwrap();
        let content = u64::from(packet.header().content_size);
        assert!(content > 200, "{content}");
        (packet.offset() + content / 2) as usize
    };
    for byte in &mut bytes[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    std::fs::write(&damaged, bytes).unwrap();
    let damaged_narrow = path("damaged-narrow.tmk");
    let stderr = convert(&["--headers", "narrow"], damaged.to_str().unwrap(), &damaged_narrow);
    assert!(stderr.contains("damaged ones copied") && !stderr.contains(", 0 damaged"), "{stderr}");
    assert_eq!(dump_json(Path::new(&damaged_narrow), &[]), dump_json(&damaged, &[]));
    let (code, _, stderr) =
        tracemark(&["convert", "--to", "ctf", "--headers", "narrow", original, &path("ctf")]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--headers applies to --to tracemark only"), "{stderr}");
}

/// `tracemark dump` formats lines on several threads (`ordered.rs`); each warning must still
/// come out between the lines of the events around it, as the reader delivers them.
#[test]
fn dump_keeps_each_warning_between_the_lines_around_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged");
    let mut args = vec!["demo", path.to_str().unwrap(), "--threads", "3", "--iterations", "6000"];
    args.extend_from_slice(&["--show", "0"]);
    let (code, stdout, stderr) = tracemark(&args);
    assert_eq!(code, 0, "demo failed: {stdout}{stderr}");
    // Damage the middle of CPU 1's file: a CRC mismatch or a malformed record there.
    let file = path.join("stream-0-1.tmk");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 64] {
        *byte ^= 0x5a;
    }
    std::fs::write(&file, bytes).unwrap();

    let trace = tracemark_reader::Trace::open(&path).unwrap();
    let expected: Vec<String> = trace
        .events()
        .map(|item| match item {
            tracemark_reader::Item::Event(_) => "event".to_string(),
            tracemark_reader::Item::Diagnostic(diagnostic) => format!("warning: {diagnostic}"),
        })
        .collect();
    let warnings = expected.iter().filter(|line| line.starts_with("warning: ")).count();
    assert!(warnings > 0, "the damage is reported");
    assert!(expected.len() > 30_000, "lines enough for many chunks: {}", expected.len());

    for json in [false, true] {
        let command = format!("exec \"$0\" dump {} \"$1\" 2>&1", if json { "--json" } else { "" });
        let output = Command::new("sh")
            .args(["-c", &command, env!("CARGO_BIN_EXE_tracemark"), path.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(output.status.success());
        let text = String::from_utf8(output.stdout).unwrap();
        let mut lines: Vec<String> = text
            .lines()
            .map(|line| if line.starts_with("warning: ") { line.to_string() } else { "event".to_string() })
            .collect();
        assert_eq!(lines.pop(), Some("event".to_string()), "the count of diagnostics comes last");
        assert!(text.ends_with(&format!("tracemark: {warnings} diagnostics\n")), "{json}");
        assert_eq!(lines, expected, "json {json}");
    }
}
