//! LTTng-UST traces imported into tracemark and read back by the tracemark reader: the same
//! events as babeltrace2 prints, field by field (hexadecimal written as decimal: tracemark
//! field layouts carry no display base), the same discarded-event count.

use std::path::{Path, PathBuf};

use tracemark_ctf::directory::find_traces;
use tracemark_ctf::import::{import, ImportReport, Loss, StreamFile};
use tracemark_ctf::CtfTrace;
use tracemark_reader::{Diagnostic, Item, Trace};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// Imports the trace in `dir` into one tracemark file, in memory.
fn imported(dir: &Path) -> (Vec<u8>, ImportReport) {
    let traces = find_traces(dir).unwrap();
    assert_eq!(traces.len(), 1);
    let trace = CtfTrace::from_metadata(&std::fs::read(traces[0].metadata()).unwrap()).unwrap();
    let files: Vec<(String, Vec<u8>)> = traces[0]
        .streams
        .iter()
        .map(|path| (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(path).unwrap()))
        .collect();
    assert_eq!(files.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["ch_0", "ch_1"]);
    let streams: Vec<StreamFile<'_>> = files.iter().map(|(name, bytes)| StreamFile { name, bytes }).collect();
    let mut out = Vec::new();
    let report = import(&trace, &streams, &mut out).unwrap();
    (out, report)
}

/// babeltrace2's lines with `0x...` numbers in decimal, sorted.
fn babeltrace2_lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| {
            line.split(' ')
                .map(|word| {
                    let (number, rest) = word.split_at(word.find([',', ' ']).unwrap_or(word.len()));
                    match number.strip_prefix("0x") {
                        Some(hex) => format!("{}{rest}", u64::from_str_radix(hex, 16).unwrap()),
                        None => word.to_owned(),
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    lines.sort();
    lines
}

/// The imported trace's events printed as babeltrace2 prints them (the CPU from the stream
/// instance), sorted.
fn tracemark_lines(bytes: Vec<u8>) -> (Vec<String>, u64, Vec<Diagnostic>) {
    let trace = Trace::from_bytes(bytes).unwrap();
    let summary = trace.summary();
    let host = summary.trace.hostname.clone();
    let discarded = summary.discarded;
    let mut lines = Vec::new();
    let mut diagnostics = Vec::new();
    for item in trace.events() {
        let event = match item {
            Item::Event(event) => event,
            Item::Diagnostic(diagnostic) => {
                diagnostics.push(diagnostic);
                continue;
            }
        };
        let ns = event.unix_ns().unwrap();
        let fields: Vec<String> =
            event.fields().iter().map(|(name, value)| format!("{name} = {value}")).collect();
        lines.push(format!(
            "[{}.{:09}] {host} {}: {{ cpu_id = {} }}, {{ {} }}",
            ns / 1_000_000_000,
            ns % 1_000_000_000,
            event.name(),
            event.stream().instance,
            fields.join(", ")
        ));
    }
    lines.sort();
    (lines, discarded, diagnostics)
}

#[test]
fn small_trace_imports_to_the_events_babeltrace2_reads() {
    let (bytes, report) = imported(&data("lttng-ust-small"));
    assert_eq!((report.streams, report.events, report.discarded), (2, 300, 0));
    assert!(report.unmapped.is_empty() && report.damage.is_empty(), "{report:?}");
    // `buf` is printed in hexadecimal by babeltrace2: the base is the one thing lost.
    assert_eq!(report.losses.keys().collect::<Vec<_>>(), [&Loss::DisplayBase]);
    assert_eq!(report.losses[&Loss::DisplayBase], ["tmk:syscall_entry_read"]);
    let (lines, discarded, diagnostics) = tracemark_lines(bytes);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(discarded, 0);
    assert_eq!(lines, babeltrace2_lines("lttng-ust-small.babeltrace2.txt"));
}

#[test]
fn discarded_events_import_as_tracemark_losses() {
    let (bytes, report) = imported(&data("lttng-ust-discarded"));
    assert_eq!((report.events, report.discarded), (2765, 17_235));
    let (lines, discarded, diagnostics) = tracemark_lines(bytes);
    assert_eq!(lines, babeltrace2_lines("lttng-ust-discarded.babeltrace2.txt"));
    // The tracemark reader reports the same losses, packet by packet (§10.1).
    assert_eq!(discarded, 17_235);
    assert!(
        diagnostics.iter().all(|diagnostic| diagnostic.to_string().contains("discard")),
        "{diagnostics:?}"
    );
}

#[test]
fn imported_classes_have_native_identities() {
    let (bytes, _) = imported(&data("lttng-ust-small"));
    let trace = Trace::from_bytes(bytes).unwrap();
    let summary = trace.summary();
    for class in &summary.event_classes {
        assert!(class.identity_matches(), "{}", class.name);
        let names: Vec<String> = class.fields().unwrap().iter().map(|field| field.name.clone()).collect();
        assert!(names.iter().all(|name| !name.starts_with('_')), "{names:?}");
    }
    let read = summary.event_classes.iter().find(|class| class.name == "tmk:syscall_entry_read").unwrap();
    use tracemark_format::{Field, IntType, Layout, TypeDesc};
    let native = Layout::Fields(vec![
        Field::new("fd", TypeDesc::Int(IntType::U32)),
        Field::new("buf", TypeDesc::Int(IntType::U64)),
        Field::new("count", TypeDesc::Int(IntType::U64)),
    ]);
    assert_eq!(read.identity, tracemark_format::identity_hash("tmk:syscall_entry_read", &native));
}

/// A kernel trace LTTng 2.13 recorded inside the Debian cloud kernel under qemu
/// (`tests/lttng-kernel/record.sh`): scheduler events and system calls with the tid and
/// procname contexts. Every event imports; the counts per class are babeltrace2's; the `tid`
/// context beside `sched_wakeup`'s own `tid` is `context_tid`.
#[test]
fn kernel_trace_imports_every_event() {
    const BABELTRACE2: [(&str, usize); 21] = [
        ("sched_process_exec", 9),
        ("sched_process_exit", 26),
        ("sched_process_fork", 26),
        ("sched_switch", 128),
        ("sched_wakeup", 67),
        ("sched_waking", 67),
        ("signal_generate", 26),
        ("syscall_entry_clone", 26),
        ("syscall_entry_close", 113),
        ("syscall_entry_execve", 9),
        ("syscall_entry_openat", 72),
        ("syscall_entry_read", 45),
        ("syscall_entry_wait4", 60),
        ("syscall_entry_write", 68),
        ("syscall_exit_clone", 52),
        ("syscall_exit_close", 113),
        ("syscall_exit_execve", 9),
        ("syscall_exit_openat", 72),
        ("syscall_exit_read", 45),
        ("syscall_exit_wait4", 60),
        ("syscall_exit_write", 68),
    ];
    let dir = data("lttng-kernel-2.13");
    let trace = CtfTrace::from_metadata(&std::fs::read(dir.join("metadata")).unwrap()).unwrap();
    assert_eq!(trace.class.env_text("domain"), Some("kernel"));
    let files: Vec<(String, Vec<u8>)> = ["ch_0", "ch_1"]
        .iter()
        .map(|name| (name.to_string(), std::fs::read(dir.join(name)).unwrap()))
        .collect();
    let streams: Vec<StreamFile<'_>> = files.iter().map(|(name, bytes)| StreamFile { name, bytes }).collect();
    let mut out = Vec::new();
    let report = import(&trace, &streams, &mut out).unwrap();
    assert!(report.damage.is_empty() && report.unmapped.is_empty(), "{report:?}");
    assert_eq!(report.events, 1161);
    let imported = Trace::from_bytes(out).unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for event in imported.events().filter_map(Item::event) {
        *counts.entry(event.name().to_owned()).or_insert(0usize) += 1;
        if event.name() == "sched_wakeup" {
            let names: Vec<&str> = event.fields().iter().map(|(name, _)| *name).collect();
            assert_eq!(&names[..3], ["context_tid", "procname", "comm"], "{names:?}");
            assert!(names.contains(&"tid"));
        }
    }
    let expected: std::collections::BTreeMap<String, usize> =
        BABELTRACE2.iter().map(|(name, count)| (name.to_string(), *count)).collect();
    assert_eq!(counts, expected);
}
