//! The reader's C API: `reader/capi/tests/c/tmk_dump.c`, compiled against `include/tracemark.h`
//! and linked with the static library, prints every trace exactly as `tracemark dump` does,
//! diagnostics included.

mod support;

use std::{path::PathBuf, process::Command};

use support::{all_types_traces, compile_tmk_dump as compile, demo, lossy_trace, tracemark};

#[test]
fn a_c_program_prints_traces_exactly_as_tracemark_dump() {
    let dir = tempfile::tempdir().unwrap();
    let program = compile(dir.path());
    let mut traces: Vec<(String, PathBuf)> = Vec::new();
    for (name, extra) in
        [("demo", &[][..]), ("demo-foreign", &["--foreign-abi"][..]), ("demo.tmk", &["--single-file"][..])]
    {
        let path = dir.path().join(name);
        demo(&path, 2, 300, extra);
        traces.push((name.into(), path));
    }
    traces.extend(all_types_traces(dir.path()));
    let lossy = dir.path().join("lossy");
    lossy_trace(&lossy);
    traces.push(("lossy".into(), lossy.clone()));
    // Damage: garbage after the last packet of a stream file, and a file that holds no packet.
    let damaged = dir.path().join("damaged");
    demo(&damaged, 2, 100, &[]);
    let mut bytes = std::fs::read(damaged.join("stream-0-1.tmk")).unwrap();
    bytes.extend(std::iter::repeat_n(0xA5, 200));
    std::fs::write(damaged.join("stream-0-1.tmk"), bytes).unwrap();
    std::fs::write(damaged.join("stream-0-7.tmk"), vec![b'x'; 100]).unwrap();
    traces.push(("damaged".into(), damaged));

    for (name, path) in &traces {
        let (code, expected_out, expected_err) = tracemark(&["dump", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {expected_err}");
        let output = Command::new(&program).arg(path).output().unwrap();
        let (out, err) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "{name}: {err}");
        assert!(!expected_out.is_empty());
        if out != expected_out {
            let first = out.lines().zip(expected_out.lines()).position(|(a, b)| a != b);
            panic!(
                "{name}: stdout differs at line {first:?}:\nC:    {:?}\ndump: {:?}",
                first.map(|n| out.lines().nth(n)),
                first.map(|n| expected_out.lines().nth(n))
            );
        }
        assert_eq!(err, expected_err, "{name}: diagnostics");
        if name == "lossy" || name == "damaged" {
            assert!(err.contains("warning: "), "{name}: diagnostics are compared too");
        }
    }

    // Open errors are reported as `tracemark` reports them.
    let missing = dir.path().join("missing");
    let (code, _, expected_err) = tracemark(&["dump", missing.to_str().unwrap()]);
    let output = Command::new(&program).arg(&missing).output().unwrap();
    assert_eq!((output.status.code(), code), (Some(2), 2));
    assert_eq!(String::from_utf8_lossy(&output.stderr), expected_err);
}
