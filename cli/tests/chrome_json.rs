//! `tracemark convert --to chrome-json`: the Trace Event Format structure the Perfetto UI and
//! chrome://tracing expect, and the content checked against `tracemark dump --json`.

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use support::{all_types_traces, demo, tracemark_ok};

/// `ts` or `dur` (microseconds) in nanoseconds.
fn nanoseconds(value: &Value) -> i128 {
    (value.as_f64().unwrap_or_else(|| panic!("{value} is not a number")) * 1000.0).round() as i128
}

/// Every `ts` and `dur` in the text is written with exactly three decimals: nanoseconds.
fn assert_nanosecond_text(text: &str) {
    for key in ["\"ts\":", "\"dur\":"] {
        for (at, _) in text.match_indices(key) {
            let number: String =
                text[at + key.len()..].chars().take_while(|c| *c != ',' && *c != '}').collect();
            let (whole, fraction) = number.split_once('.').unwrap_or_else(|| panic!("{key}{number}"));
            assert!(whole.trim_start_matches('-').chars().all(|c| c.is_ascii_digit()), "{key}{number}");
            assert!(fraction.len() == 3 && fraction.chars().all(|c| c.is_ascii_digit()), "{key}{number}");
        }
    }
}

/// Checks what every event needs, by phase; returns the events by phase.
fn validate_structure(document: &Value) -> BTreeMap<String, Vec<Value>> {
    let object = document.as_object().expect("a JSON object");
    assert_eq!(object["displayTimeUnit"], "ns");
    let origin = object["otherData"]["origin_unix_ns"].as_str().expect("origin as a string");
    origin.parse::<i128>().expect("origin is an integer");
    let mut by_phase: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for event in object["traceEvents"].as_array().expect("traceEvents array") {
        let phase = event["ph"].as_str().expect("ph").to_string();
        assert!(event["name"].is_string(), "{event}");
        assert!(event["pid"].is_u64() && event["tid"].is_u64(), "{event}");
        assert!(event["args"].is_object(), "{event}");
        match phase.as_str() {
            "M" => assert!(
                ["process_name", "thread_name", "thread_sort_index"]
                    .contains(&event["name"].as_str().unwrap()),
                "{event}"
            ),
            "X" => {
                assert_eq!(event["cat"], "sched");
                assert!(nanoseconds(&event["ts"]) >= 0, "{event}");
                assert!(nanoseconds(&event["dur"]) > 0, "{event}");
            }
            "i" => {
                assert!(["t", "p"].contains(&event["s"].as_str().unwrap()), "{event}");
                nanoseconds(&event["ts"]);
                assert!(["tracemark", "tracemark.diagnostic"].contains(&event["cat"].as_str().unwrap()));
            }
            other => panic!("unexpected phase {other}: {event}"),
        }
        by_phase.entry(phase).or_default().push(event.clone());
    }
    by_phase
}

fn convert(path: &std::path::Path, out: &std::path::Path) -> Value {
    tracemark_ok(&["convert", "--to", "chrome-json", path.to_str().unwrap(), out.to_str().unwrap()]);
    let text = std::fs::read_to_string(out).unwrap();
    assert_nanosecond_text(&text);
    serde_json::from_str(&text).expect("the output parses as JSON")
}

#[test]
fn the_demo_becomes_cpu_tracks_with_scheduler_slices_and_instants() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("demo");
    demo(&trace, 3, 300, &[]);
    let document = convert(&trace, &dir.path().join("demo.json"));
    let phases = validate_structure(&document);
    let origin: i128 = document["otherData"]["origin_unix_ns"].as_str().unwrap().parse().unwrap();

    let (dump, _) = tracemark_ok(&["dump", "--json", trace.to_str().unwrap()]);
    let events: Vec<Value> = dump.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let switches: Vec<&Value> = events.iter().filter(|event| event["name"] == "sched_switch").collect();
    let others: Vec<&Value> = events.iter().filter(|event| event["name"] != "sched_switch").collect();

    // One named thread per CPU.
    let names: Vec<&Value> = phases["M"].iter().filter(|event| event["name"] == "thread_name").collect();
    assert_eq!(names.len(), 3);
    for cpu in 0..3 {
        assert!(names
            .iter()
            .any(|event| event["tid"] == cpu && event["args"]["name"] == format!("CPU {cpu}")));
    }

    // Every other event is an instant at its time, with its fields (pointers in hexadecimal).
    let instants: Vec<&Value> = phases["i"].iter().filter(|event| event["cat"] == "tracemark").collect();
    assert_eq!(instants.len(), others.len());
    let mut expected: Vec<(i128, u64, String, String)> = others
        .iter()
        .map(|event| {
            let mut fields = event["fields"].clone();
            if let Some(pointer) = fields.get_mut("skbaddr") {
                *pointer = Value::String(format!("{:#x}", pointer.as_u64().unwrap()));
            }
            let ns = i128::from(event["unix_ns"].as_i64().unwrap()) - origin;
            (ns, event["stream_instance"].as_u64().unwrap(), event["name"].to_string(), fields.to_string())
        })
        .collect();
    let mut actual: Vec<(i128, u64, String, String)> = instants
        .iter()
        .map(|event| {
            (
                nanoseconds(&event["ts"]),
                event["tid"].as_u64().unwrap(),
                event["name"].to_string(),
                event["args"].to_string(),
            )
        })
        .collect();
    expected.sort();
    actual.sort();
    assert_eq!(actual, expected);

    // Scheduler switches become slices: per CPU, back to back, each named after the task
    // switched in at its start.
    let slices = &phases["X"];
    for cpu in 0..3u64 {
        let mut on_cpu: Vec<&Value> = slices.iter().filter(|slice| slice["tid"] == cpu).collect();
        on_cpu.sort_by_key(|slice| nanoseconds(&slice["ts"]));
        let cpu_switches: Vec<&&Value> =
            switches.iter().filter(|event| event["stream_instance"] == cpu).collect();
        assert!(on_cpu.len() + 1 >= cpu_switches.len() && on_cpu.len() <= cpu_switches.len() + 1);
        for pair in on_cpu.windows(2) {
            let end = nanoseconds(&pair[0]["ts"]) + nanoseconds(&pair[0]["dur"]);
            assert_eq!(end, nanoseconds(&pair[1]["ts"]), "slices on CPU {cpu} are back to back");
        }
        for slice in &on_cpu {
            let start = nanoseconds(&slice["ts"]) + origin;
            let switch = cpu_switches
                .iter()
                .find(|event| i128::from(event["unix_ns"].as_i64().unwrap()) == start)
                .unwrap_or_else(|| panic!("no switch starts {slice}"));
            assert_eq!(slice["name"], switch["fields"]["next_comm"]);
            assert_eq!(slice["args"]["pid"], switch["fields"]["next_pid"]);
        }
    }
    assert!(
        slices.len() as f64 >= switches.len() as f64 * 0.9,
        "{} slices, {} switches",
        slices.len(),
        switches.len()
    );
}

#[test]
fn every_type_exports_as_valid_json_and_stdout_works() {
    let dir = tempfile::tempdir().unwrap();
    for (name, path) in all_types_traces(dir.path()) {
        let document = convert(&path, &dir.path().join(format!("{name}.json")));
        let phases = validate_structure(&document);
        let (dump, _) = tracemark_ok(&["dump", "--json", path.to_str().unwrap()]);
        assert_eq!(phases["i"].len(), dump.lines().count(), "{name}: every event is an instant");
        assert!(!phases.contains_key("X"), "{name}: no scheduler events, no slices");
    }
    let path = dir.path().join("all-types-le64");
    let (stdout, _) = tracemark_ok(&["convert", "--to", "chrome-json", path.to_str().unwrap(), "-"]);
    let from_stdout: Value = serde_json::from_str(&stdout).unwrap();
    let from_file: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("all-types-le64.json")).unwrap()).unwrap();
    assert_eq!(from_stdout, from_file);
}
