//! `tracemark check`: exit status 0 valid, 1 invalid, 2 unreadable; one line per violation with
//! its requirement, stream, packet and offset; `--json`; `--suite`; `--expected`.

use std::{path::Path, process::Command};

use tracemark_conformance::{harness, rust_writer, vectors};
use tracemark_format::{Abi, ByteOrder};

fn tracemark(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tracemark")).args(args).output().expect("tracemark runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn vector(path: &str) -> String {
    vectors::default_dir().join(path).display().to_string()
}

#[test]
fn exit_status_is_0_valid_1_invalid_2_unreadable() {
    let (code, out, _) = tracemark(&["check", &vector("valid/every-type-be32")]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.trim_end().ends_with("valid: 0 errors, 0 warnings, 0 notices; 12 events in 2 streams, 3 packets"),
        "{out}"
    );

    let (code, out, _) = tracemark(&["check", &vector("invalid/crc-mismatch.tmk")]);
    assert_eq!(code, 1, "{out}");
    let line = out.lines().next().unwrap();
    assert!(
        line.starts_with("error R-4.4-1 ")
            && line.contains("crc-mismatch.tmk@0x230 stream 0/0 packet 1: CRC mismatch"),
        "{line}"
    );
    assert!(line.ends_with("[§4.4]"), "{line}");
    assert!(
        out.contains(": INVALID: 1 error, 0 warnings, 0 notices; 4 events in 1 stream, 4 packets"),
        "{out}"
    );

    let (code, out, _) = tracemark(&["check", &vector("invalid/unknown-major-version.tmk")]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("major version 2 is not supported") && out.contains("UNREADABLE (R-11.3-1)"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.tmk");
    std::fs::write(&junk, [0x5Au8; 4096]).unwrap();
    assert_eq!(tracemark(&["check", junk.to_str().unwrap()]).0, 2);
    assert_eq!(tracemark(&["check", dir.path().join("absent").to_str().unwrap()]).0, 2);
    // Several paths: the worst status.
    let (code, out, _) =
        tracemark(&["check", "--quiet", &vector("valid/markers.tmk"), &vector("invalid/bad-bool.tmk")]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(out.lines().count(), 2, "--quiet prints the summary lines only: {out}");
}

#[test]
fn json_output_carries_every_finding() {
    let (code, out, _) = tracemark(&["check", "--json", &vector("invalid/malformed-metadata-records.tmk")]);
    assert_eq!(code, 1);
    let value: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(value["status"], "invalid");
    let findings = value["report"]["findings"].as_array().unwrap();
    let ids: Vec<&str> = findings.iter().map(|finding| finding["requirement"].as_str().unwrap()).collect();
    for id in ["R-7.2-5", "R-7.7-1", "R-7.4-1", "R-7.1-1"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(findings.iter().all(|finding| finding["offset"].is_u64() && finding["message"].is_string()));

    let (code, out, _) = tracemark(&["check", "--json", &vector("invalid/unknown-major-version.tmk")]);
    assert_eq!(code, 2);
    let value: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (value["status"].as_str(), value["unreadable"]["requirement"].as_str()),
        (Some("unreadable"), Some("R-11.3-1"))
    );
}

#[test]
fn suite_runs_every_vector() {
    let (code, out, _) = tracemark(&["check", "--suite", "--quiet"]);
    assert_eq!(code, 0, "{out}");
    let cases = vectors::cases::all().len();
    assert!(out.contains(&format!("{cases} vectors, {cases} passed, 0 failed")), "{out}");

    let dir = tempfile::tempdir().unwrap();
    assert_eq!(tracemark(&["check", "--suite", "--vectors", dir.path().to_str().unwrap()]).0, 2);
}

fn write_expected(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn expected_jsonl_is_compared_event_by_event() {
    let named = harness::scenarios(Abi::lp64(ByteOrder::Big))
        .into_iter()
        .find(|named| named.name == "interleaved")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    rust_writer::directory(&named.scenario, &trace).unwrap();
    let expected = dir.path().join("expected.jsonl");
    let text = harness::expected_jsonl(&named.scenario).unwrap();
    write_expected(&expected, &text);
    let (code, out, _) =
        tracemark(&["check", trace.to_str().unwrap(), "--expected", expected.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("expected events: 400 compared, all equal"), "{out}");

    write_expected(&expected, &text.replacen("\"ts\":100", "\"ts\":101", 1));
    let (code, out, _) =
        tracemark(&["check", trace.to_str().unwrap(), "--expected", expected.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("mismatch: cpu 0 event 0: ts: decoded 100, expected 101"), "{out}");
}
