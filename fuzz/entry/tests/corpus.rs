//! Replays every checked-in input of every fuzz target on stable Rust: the seeds
//! (`fuzz/seeds/<target>/`), the regressions, crashes found once and kept
//! (`fuzz/regressions/<target>/`), and, for the trace readers, the conformance vectors
//! (`conformance/vectors/`, when present). Then a short deterministic mutation run over the
//! seeds of every target, so that `cargo test` fuzzes a little too.

use std::{
    fs,
    panic::{catch_unwind, resume_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
};

use tracemark_fuzz::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every regular file under `dir`, recursively, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The inputs replayed for `target`.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut paths = files(&fuzz_dir().join("seeds").join(target));
    paths.extend(files(&fuzz_dir().join("regressions").join(target)));
    if matches!(target, "trace" | "check" | "parquet") {
        paths.extend(files(&fuzz_dir().join("../conformance/vectors")));
        paths.extend(files(&fuzz_dir().join("vectors")));
    }
    paths
}

/// Runs `target` on `bytes`, naming `what` if it panics.
fn run(name: &str, target: fn(&[u8]), bytes: &[u8], what: &dyn std::fmt::Display) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(bytes))) {
        eprintln!("target `{name}` failed on {what}");
        resume_unwind(panic);
    }
}

#[test]
fn every_seed_and_regression_replays_cleanly() {
    for (name, target) in TARGETS {
        let paths = inputs(name);
        let seeds = files(&fuzz_dir().join("seeds").join(name)).len();
        assert!(seeds > 0, "target `{name}` has no seed in fuzz/seeds/{name}/");
        for path in &paths {
            let bytes = fs::read(path).unwrap();
            run(name, target, &bytes, &path.display());
        }
        println!("{name}: {} inputs replayed", paths.len());
    }
}

/// Mutations per target: byte flips, interesting bytes, insertions, truncations and splices
/// of the target's own inputs (libFuzzer's basic mutators, without its coverage feedback).
const MUTATIONS: usize = 150;

#[test]
fn seeds_survive_a_deterministic_mutation_run() {
    let mut state = 0x853C_49E6_748F_EA9Bu64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, target) in TARGETS {
        let corpus: Vec<Vec<u8>> = inputs(name).iter().map(|path| fs::read(path).unwrap()).collect();
        for round in 0..MUTATIONS {
            let mut bytes = corpus[next() as usize % corpus.len()].clone();
            for _ in 0..1 + next() % 4 {
                let at = if bytes.is_empty() { 0 } else { next() as usize % bytes.len() };
                match next() % 6 {
                    0 if !bytes.is_empty() => bytes[at] ^= 1 << (next() % 8),
                    1 if !bytes.is_empty() => bytes[at] = [0, 0xFF, 0x7F, 0x80, 1][next() as usize % 5],
                    2 => bytes.insert(at, next() as u8),
                    3 => bytes.truncate(at),
                    4 => {
                        let other = &corpus[next() as usize % corpus.len()];
                        let from = next() as usize % other.len().max(1);
                        bytes.splice(at..at, other[from..].iter().take(64).copied());
                    }
                    _ if bytes.len() >= 4 => {
                        let value = [u32::MAX, 0, 80, 0xFFFF][next() as usize % 4];
                        let at = at.min(bytes.len() - 4);
                        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
                    }
                    _ => {}
                }
            }
            run(name, target, &bytes, &format_args!("mutation {round}: {bytes:02x?}"));
        }
    }
}

/// Rewrites `fuzz/seeds/` from [`tracemark_fuzz::seeds::all`].
#[test]
#[ignore = "rewrites fuzz/seeds/: run by hand after changing the seed generator"]
fn write_seeds() {
    for seed in tracemark_fuzz::seeds::all() {
        let dir = fuzz_dir().join("seeds").join(seed.target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(&seed.name), &seed.bytes).unwrap();
    }
}
