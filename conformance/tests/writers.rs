//! The writer harness with the Rust writer: every scripted scenario, in every ABI and both
//! container forms, decodes event by event to exactly what was written and passes every rule
//! of `tracemark check` without error or warning.

use tracemark_conformance::{
    check::{self, Severity, Source},
    compare, harness, ring_writer, rust_writer, Scenario,
};
use tracemark_format::{Abi, ByteOrder};
use tracemark_reader::Trace;

const ABIS: [Abi; 4] = [
    Abi::lp64(ByteOrder::Little),
    Abi::lp64(ByteOrder::Big),
    Abi::ilp32(ByteOrder::Little),
    Abi::ilp32(ByteOrder::Big),
];

/// No error and no warning, except the one the `strings` scenario asks for: a string that is
/// not UTF-8 (a SHOULD, §6.5), reported once.
fn assert_clean(report: &check::Report, what: &str) {
    let wanted: &[&str] = if what.starts_with("strings") { &["R-6.5-1"] } else { &[] };
    let found: Vec<&str> = report
        .findings
        .iter()
        .filter(|finding| finding.severity != Severity::Notice)
        .map(|finding| finding.requirement)
        .collect();
    let listing: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert!(found == wanted && report.readable, "{what}: {}\n{}", report.summary(), listing.join("\n"));
}

/// `bytes`, a single-file trace of `scenario`, reads back as exactly its events, and `check`
/// finds all of them and nothing wrong.
fn assert_single_file_reads_back_clean(scenario: &Scenario, bytes: Vec<u8>, what: &str) {
    let trace = Trace::from_bytes(bytes.clone()).unwrap();
    if let Err(problems) = compare::check(scenario, &trace) {
        panic!("{what}: {}", problems.join("\n"));
    }
    let report = check::check(&Source::bytes("single.tmk", bytes)).unwrap();
    assert_clean(&report, what);
    assert_eq!(report.events as usize, scenario.events.len(), "{what}");
}

#[test]
fn every_scenario_round_trips_and_passes_every_rule_in_every_abi_and_form() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = 0;
    for abi in ABIS {
        for named in harness::scenarios(abi) {
            let what = format!("{} {abi:?}", named.name);
            let bytes =
                rust_writer::single_file(&named.scenario).unwrap_or_else(|error| panic!("{what}: {error}"));
            assert_single_file_reads_back_clean(&named.scenario, bytes, &what);

            let path = dir.path().join(format!("{}-{runs}", named.name));
            rust_writer::directory(&named.scenario, &path).unwrap();
            let trace = Trace::open(&path).unwrap();
            if let Err(problems) = compare::check(&named.scenario, &trace) {
                panic!("{what} (directory): {}", problems.join("\n"));
            }
            let report = check::check(&Source::path(&path)).unwrap();
            assert_clean(&report, &format!("{what} (directory)"));
            assert_eq!(report.events as usize, named.scenario.events.len());
            runs += 1;
        }
    }
    println!("{runs} scenario runs, each in both forms");
}

#[test]
fn expected_jsonl_comparison_finds_equal_and_changed_events() {
    let named = harness::scenarios(Abi::ilp32(ByteOrder::Big))
        .into_iter()
        .find(|named| named.name == "every-type")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace");
    rust_writer::directory(&named.scenario, &path).unwrap();
    let expected = harness::expected_jsonl(&named.scenario).unwrap();
    let file = dir.path().join("expected.jsonl");
    std::fs::write(&file, &expected).unwrap();
    let trace = Trace::open(&path).unwrap();
    assert_eq!(harness::compare_expected_jsonl(&trace, &file), Ok(named.scenario.events.len()));

    // One changed value, one event fewer: both found.
    let changed = expected.replacen("\"u_8\":255", "\"u_8\":254", 1);
    assert_ne!(changed, expected);
    std::fs::write(&file, changed).unwrap();
    let problems = harness::compare_expected_jsonl(&trace, &file).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("fields"), "{problems:?}");
    let fewer: String = expected.lines().skip(1).map(|line| format!("{line}\n")).collect();
    std::fs::write(&file, fewer).unwrap();
    let problems = harness::compare_expected_jsonl(&trace, &file).unwrap_err();
    assert!(problems.iter().any(|problem| problem.contains("events decoded")), "{problems:?}");
}

/// §9.4: a writer reusing a directory removes a `finished` marker left there, so a follower
/// does not stop before the new trace is complete; it creates its own when done.
#[test]
fn a_reused_directory_loses_its_stale_finished_marker() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    std::fs::write(&marker, b"").unwrap();
    let sink = tracemark_writer::DirectorySink::create(dir.path()).unwrap();
    assert!(!marker.exists(), "the stale marker is still there while the new trace is written");
    drop(sink);
    assert!(marker.exists(), "no marker once the trace is complete");

    // A whole scenario into the same directory again: a valid trace, with its marker.
    let named = harness::scenarios(Abi::HOST).into_iter().find(|named| named.name == "interleaved").unwrap();
    rust_writer::directory(&named.scenario, dir.path()).unwrap();
    assert!(marker.exists());
    assert_clean(&check::check(&Source::path(dir.path())).unwrap(), "reused directory");
}

/// The same scenarios through the ring writer (`RingSession`: per-stream lock-free rings, the
/// typed emit path, a consumer thread), in every ABI: the same events, and every rule passes.
#[test]
fn every_scenario_round_trips_through_the_ring_writer_in_every_abi() {
    let mut runs = 0;
    for abi in ABIS {
        for named in harness::scenarios(abi) {
            let what = format!("{} {abi:?} (ring)", named.name);
            let bytes =
                ring_writer::single_file(&named.scenario).unwrap_or_else(|error| panic!("{what}: {error}"));
            assert_single_file_reads_back_clean(&named.scenario, bytes, &what);
            runs += 1;
        }
    }
    println!("{runs} scenario runs through the ring");
}
