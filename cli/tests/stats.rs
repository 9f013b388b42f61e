//! `tracemark stats`: counts per class and per CPU, span, rates, losses and sizes, checked
//! against what `tracemark dump --json` prints for the same trace.

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{demo, lossy_trace, tracemark_ok};

fn dump(path: &str) -> (Vec<Value>, String) {
    let (stdout, stderr) = tracemark_ok(&["dump", "--json", path]);
    (stdout.lines().map(|line| serde_json::from_str(line).unwrap()).collect(), stderr)
}

#[test]
fn stats_agree_with_dump_on_a_lossy_trace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lossy");
    let (_, missing) = lossy_trace(&path);
    let path = path.to_str().unwrap();
    let (events, dump_stderr) = dump(path);
    let (json, stderr) = tracemark_ok(&["stats", "--json", path]);
    assert!(stderr.is_empty(), "no progress bar when stderr is not a terminal: {stderr:?}");
    let stats: Value = serde_json::from_str(&json).unwrap();

    assert_eq!(stats["events"], events.len());
    let mut per_class: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_cpu: BTreeMap<u64, u64> = BTreeMap::new();
    for event in &events {
        *per_class.entry(event["name"].as_str().unwrap().to_string()).or_default() += 1;
        *per_cpu.entry(event["stream_instance"].as_u64().unwrap()).or_default() += 1;
    }
    for class in stats["classes"].as_array().unwrap() {
        assert_eq!(class["events"].as_u64(), per_class.get(class["name"].as_str().unwrap()).copied());
    }
    assert_eq!(stats["classes"].as_array().unwrap().len(), per_class.len());
    for stream in stats["streams"].as_array().unwrap() {
        assert_eq!(stream["events"].as_u64(), per_cpu.get(&stream["cpu"].as_u64().unwrap()).copied());
    }

    let times: Vec<i64> = events.iter().map(|event| event["unix_ns"].as_i64().unwrap()).collect();
    let (first, last) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
    assert_eq!(stats["first_ns"], first);
    assert_eq!(stats["last_ns"], last);
    assert_eq!(stats["span_ns"], last - first);
    let rate = stats["events_per_second"].as_f64().unwrap();
    assert!((rate - events.len() as f64 * 1e9 / (last - first) as f64).abs() < 1e-6 * rate);

    // Losses: what dump reports as diagnostics.
    let reported: u64 = dump_stderr
        .lines()
        .filter_map(|line| line.split_once(" events discarded by the writer"))
        .map(|(head, _)| head.rsplit_once(": ").unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert!(reported > 0);
    assert_eq!(stats["discarded_events"], reported);
    assert_eq!(stats["missing_packets"], missing);
    assert_eq!(stats["gaps"], 1);
    assert_eq!(stats["diagnostics"]["PacketGap"], 1);

    // Sizes: 512-byte packets, records of an 8-byte header, a u64 and a short string.
    let data_bytes = stats["data_bytes"].as_u64().unwrap();
    assert_eq!(data_bytes, stats["data_packets"].as_u64().unwrap() * 512);
    let per_event = stats["bytes_per_event"].as_f64().unwrap();
    assert!((per_event - data_bytes as f64 / events.len() as f64).abs() < 1e-9);
    let record = stats["record_bytes_per_event"].as_f64().unwrap();
    assert!((8.0 + 8.0 + 6.0..=8.0 + 8.0 + 9.0).contains(&record), "{record}");

    let (text, _) = tracemark_ok(&["stats", path]);
    assert!(text.contains(&format!("events      {}", events.len())), "{text}");
    assert!(
        text.contains(&format!(
            "losses      {reported} events discarded, {missing} packets missing in 1 gaps"
        )),
        "{text}"
    );
    assert!(text.lines().any(|line| line.starts_with("tick ") && line.contains("100.0%")), "{text}");
}

#[test]
fn stats_count_every_class_of_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.tmk");
    demo(&path, 2, 400, &["--single-file"]);
    let (json, _) = tracemark_ok(&["stats", "--json", path.to_str().unwrap()]);
    let stats: Value = serde_json::from_str(&json).unwrap();
    let count = |name: &str| {
        stats["classes"].as_array().unwrap().iter().find(|class| class["name"] == name).unwrap()["events"]
            .as_u64()
            .unwrap()
    };
    // Per thread and iteration: a switch, a system call entry and exit; a receive every 4th,
    // a marker every 100th.
    assert_eq!(count("sched_switch"), 800);
    assert_eq!(count("sys_enter"), 800);
    assert_eq!(count("sys_exit"), 800);
    assert_eq!(count("net_receive"), 200);
    assert_eq!(count("work_done"), 8);
    assert_eq!(stats["events"], 2608);
    assert_eq!(stats["discarded_events"], 0);
    assert_eq!(stats["streams"].as_array().unwrap().len(), 2);
}

#[test]
fn stats_count_what_a_writer_that_never_finished_did_not_deliver() {
    use tracemark_writer::{event, ring::RingSession, Config, DirectorySink};
    event! {
        /// Numbered.
        pub struct Step("step") { pub n: u64 }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("abandoned");
    // 64 KiB of ring: the 1,000 events (16 KB) fit whatever the consumer does.
    let session = RingSession::builder(Config::with_uuid([23; 16]).packet_size(1024))
        .subbufs(64)
        .flush_interval(None)
        .progress_file(path.join("progress"))
        .build(DirectorySink::create(&path).unwrap())
        .unwrap();
    let step = session.register::<Step>().unwrap();
    let stream = session.stream().unwrap();
    for n in 0..1000 {
        assert!(stream.emit(step, &Step { n }).unwrap());
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    // Ended as a killed writer ends: the open packet is never delivered.
    std::mem::forget(stream);
    drop(session);

    let (json, _) = tracemark_ok(&["stats", "--json", path.to_str().unwrap()]);
    let stats: Value = serde_json::from_str(&json).unwrap();
    let delivered = stats["events"].as_u64().unwrap();
    assert!(delivered > 0 && delivered < 1000, "{delivered}");
    assert_eq!(stats["undelivered_events"], 1000 - delivered);
    assert_eq!(stats["diagnostics"]["EventsNotDelivered"], 1);
    let (text, _) = tracemark_ok(&["stats", path.to_str().unwrap()]);
    assert!(text.contains(&format!("{} events written but not delivered", 1000 - delivered)), "{text}");

    // The demo keeps a progress file too, and a finished trace lacks nothing.
    let demo_path = dir.path().join("demo");
    demo(&demo_path, 2, 100, &[]);
    assert!(demo_path.join("progress").exists());
    let (json, _) = tracemark_ok(&["stats", "--json", demo_path.to_str().unwrap()]);
    let stats: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(stats["undelivered_events"], 0);
}
