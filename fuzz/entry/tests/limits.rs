//! The reader limits of spec §13, one vector each (`fuzz/vectors/limits/`): each vector is
//! reproduced byte for byte from its description, and reading it gives the report expected,
//! within a memory bound independent of what its length fields claim, and quickly.
//!
//! `TRACEMARK_UPDATE_VECTORS=1 cargo test -p tracemark-fuzz --test limits` rewrites the files.

use std::{
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use tracemark_fuzz::{alloc_guard, vectors::LIMIT_VECTORS};
use tracemark_reader::{Item, Trace};

/// The largest single allocation reading a limit vector may make, beyond a copy of the
/// vector itself: a metadata string of at most 64 KiB (§13.2) plus the reader's own tables.
const LARGEST_ALLOWED: usize = 128 * 1024;
/// The most memory live at once, beyond a copy of the vector.
const PEAK_ALLOWED: usize = 1024 * 1024;
/// Reading one vector, in a debug build: a loop over a 2^32 count would take minutes.
const TIME_ALLOWED: Duration = Duration::from_secs(5);

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/limits")
}

#[test]
fn every_limit_vector_is_reproduced_from_its_description() {
    let update = std::env::var_os("TRACEMARK_UPDATE_VECTORS").is_some();
    let mut stale = Vec::new();
    for vector in LIMIT_VECTORS {
        let path = dir().join(format!("{}.tmk", vector.name));
        let bytes = (vector.build)();
        if update {
            fs::create_dir_all(dir()).unwrap();
            fs::write(&path, &bytes).unwrap();
        } else if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(stale.is_empty(), "stale vectors (TRACEMARK_UPDATE_VECTORS=1 rewrites them): {stale:?}");
}

#[test]
fn every_limit_vector_is_read_as_expected_within_bounded_memory_and_time() {
    for vector in LIMIT_VECTORS {
        let bytes = (vector.build)();
        let len = bytes.len();
        let started = Instant::now();
        let (result, usage) = alloc_guard::measure(|| {
            let trace = Trace::from_bytes(bytes).map_err(|error| error.to_string())?;
            let items: Vec<Item<'_>> = trace.events().collect();
            (vector.expect)(&trace, &items)
        });
        let elapsed = started.elapsed();
        if let Err(problem) = result {
            panic!("{} (§{}: {}): {problem}", vector.name, vector.section, vector.what);
        }
        assert!(
            usage.largest <= len + LARGEST_ALLOWED && usage.peak <= 2 * len + PEAK_ALLOWED,
            "{}: {len}-byte vector, largest allocation {} bytes, peak {} bytes",
            vector.name,
            usage.largest,
            usage.peak
        );
        assert!(elapsed < TIME_ALLOWED, "{}: read in {elapsed:?}", vector.name);
        println!(
            "{}: {len} bytes, largest allocation {}, peak {}, {elapsed:?}",
            vector.name, usage.largest, usage.peak
        );
    }
}

/// Decoding recurses once per nesting level (§13.3): the deepest type allowed decodes on a
/// 256 KiB stack, an eighth of a default thread's (a debug build's frames are large).
#[test]
fn the_deepest_type_allowed_decodes_on_a_small_stack() {
    let vector = LIMIT_VECTORS.iter().find(|vector| vector.name == "nesting-depth-32").unwrap();
    let bytes = (vector.build)();
    let decoded = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let trace = Trace::from_bytes(bytes).map_err(|error| error.to_string())?;
            let items: Vec<Item<'_>> = trace.events().collect();
            // Displaying and serializing recurse as deep as decoding.
            for event in items.iter().filter_map(|item| item.clone().event()) {
                let _ =
                    (event.to_string(), serde_json::to_string(&event).map_err(|error| error.to_string())?);
            }
            (vector.expect)(&trace, &items)
        })
        .unwrap()
        .join()
        .expect("decoding overflowed a 256 KiB stack");
    decoded.unwrap();
}
