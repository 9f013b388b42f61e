//! The checked-in vectors are exactly what the generator produces, and every vector reads as
//! its expected files say.

use tracemark_conformance::vectors;

#[test]
fn the_generator_reproduces_the_vectors_byte_for_byte() {
    let root = vectors::default_dir();
    if std::env::var_os("TRACEMARK_UPDATE_VECTORS").is_some() {
        let written = vectors::write_all(&root).unwrap();
        println!("wrote {written} files under {}", root.display());
    }
    let differences = vectors::check_all(&root).unwrap();
    assert!(
        differences.is_empty(),
        "{} files differ from the generator (TRACEMARK_UPDATE_VECTORS=1 rewrites them):\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn every_vector_reads_as_expected() {
    let results = vectors::run_suite(&vectors::default_dir()).unwrap();
    let failed: Vec<_> = results.iter().filter(|result| !result.problems.is_empty()).collect();
    for result in &failed {
        eprintln!("FAIL {}:\n  {}", result.name, result.problems.join("\n  "));
    }
    println!(
        "{} vectors, {} findings and {} events compared",
        results.len(),
        results.iter().map(|result| result.findings).sum::<usize>(),
        results.iter().map(|result| result.events).sum::<usize>()
    );
    assert!(failed.is_empty(), "{} of {} vectors failed", failed.len(), results.len());
}
