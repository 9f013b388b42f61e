//! The damage sweep over every valid vector: each single-byte change and each truncation point
//! is read with the checker; no panic, no hang, untouched packets delivered in full, damage
//! reported (see `tracemark_conformance::sweep`).

use std::{
    fs,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tracemark_conformance::{
    sweep::{self, Mutation},
    vectors::{self, Form},
};

/// A read slower than this is a hang: the process aborts, naming the mutation.
const HANG: Duration = Duration::from_secs(20);

/// Positions sampled per vector beyond the header bytes (vectors are a few KB: all of them).
const MAX_POSITIONS: usize = 4096;

/// A vector's bytes: the single file, or a directory's `metadata` and `*.tmk` files in the
/// order a reader takes them.
fn vector_bytes(path: &Path, form: Form) -> Vec<u8> {
    match form {
        Form::SingleFile => fs::read(path).unwrap(),
        Form::Directory => {
            let mut names: Vec<String> = fs::read_dir(path)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".tmk"))
                .collect();
            names.sort();
            let mut bytes = fs::read(path.join("metadata")).unwrap();
            for name in names {
                bytes.extend(fs::read(path.join(name)).unwrap());
            }
            bytes
        }
    }
}

#[test]
fn every_byte_change_and_truncation_of_every_valid_vector() {
    let current: Arc<Mutex<(String, Option<Mutation>, Instant)>> =
        Arc::new(Mutex::new((String::new(), None, Instant::now())));
    let watched = current.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let (name, mutation, since) = watched.lock().unwrap().clone();
        if since.elapsed() > HANG {
            eprintln!("hang: {name} {mutation:?} read for more than {HANG:?}");
            std::process::abort();
        }
    });
    let started = Instant::now();
    let root = vectors::default_dir();
    let (mut mutations, mut must_report, mut intact, mut vectors_swept) = (0u64, 0u64, 0u64, 0usize);
    let mut failures = Vec::new();
    for case in vectors::cases::all().into_iter().filter(|case| case.is_valid()) {
        let bytes = vector_bytes(&root.join(case.group()).join(case.trace_name()), case.form);
        let name = case.trace_name();
        let stats = sweep::sweep(&name, &bytes, MAX_POSITIONS, &mut |mutation| {
            *current.lock().unwrap() = (name.clone(), Some(*mutation), Instant::now());
        });
        vectors_swept += 1;
        mutations += stats.mutations;
        must_report += stats.must_report;
        intact += stats.intact_packets_checked;
        failures.extend(
            stats.failures.into_iter().map(|(mutation, what)| format!("{name} {mutation:?}: {what}")),
        );
    }
    println!(
        "damage sweep: {mutations} mutations of {vectors_swept} valid vectors in {:.1} s; {must_report} had to be \
         reported; {intact} untouched packets checked intact; {} failures",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(vectors_swept >= 15, "only {vectors_swept} valid vectors");
    assert!(
        failures.is_empty(),
        "{} failures, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}
