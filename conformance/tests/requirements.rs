//! Every requirement of the specification is covered by a rule of `tracemark check` or by a
//! vector, and `spec/requirements.toml` is the list generated from `spec/SPEC.md`.

use std::{collections::BTreeSet, fs, path::Path};

use tracemark_conformance::{check::rules::RULES, requirements, vectors};

fn toml_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/requirements.toml")
}

#[test]
fn the_specification_on_disk_tags_every_must() {
    let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/SPEC.md")).unwrap();
    let parsed = requirements::parse(&text).unwrap_or_else(|errors| {
        panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    });
    assert_eq!(parsed, requirements::all(), "the crate was built with another SPEC.md: rebuild");
}

#[test]
fn every_requirement_has_a_vector_or_a_rule() {
    let coverage = vectors::coverage();
    let uncovered: Vec<&str> = requirements::all()
        .iter()
        .filter(|requirement| {
            coverage.get(&requirement.id).is_none_or(|covered| {
                covered.rules.is_empty() && covered.vectors.is_empty() && covered.tests.is_empty()
            })
        })
        .map(|requirement| requirement.id.as_str())
        .collect();
    assert!(uncovered.is_empty(), "requirements with no vector and no rule: {uncovered:?}");
    let with_vector = requirements::all()
        .iter()
        .filter(|requirement| !coverage[&requirement.id].vectors.is_empty())
        .count();
    println!("{} requirements, {with_vector} exercised by a vector, all covered", requirements::all().len());
}

#[test]
fn rules_and_vectors_name_only_requirements_of_the_specification() {
    let known: BTreeSet<&str> =
        requirements::all().iter().map(|requirement| requirement.id.as_str()).collect();
    for rule in RULES {
        for id in rule.requirements {
            assert!(known.contains(id), "rule {} names {id}, which the spec does not tag", rule.name);
        }
    }
    for case in vectors::cases::all() {
        for id in case.covers() {
            assert!(known.contains(id), "vector {} names {id}, which the spec does not tag", case.name);
        }
    }
    for (test, ids) in tracemark_conformance::harness::WRITER_TESTS {
        for id in *ids {
            assert!(known.contains(id), "{test} names {id}, which the spec does not tag");
        }
    }
}

#[test]
fn the_tests_named_as_covering_requirements_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for (test, _) in tracemark_conformance::harness::WRITER_TESTS {
        let (file, name) = test.split_once(": ").unwrap_or_else(|| panic!("{test}: not `FILE: NAME`"));
        let text = fs::read_to_string(root.join(file)).unwrap_or_else(|error| panic!("{file}: {error}"));
        assert!(text.contains(&format!("fn {name}(")), "{file} has no test `{name}`");
    }
}

#[test]
fn requirements_toml_is_generated_from_the_specification() {
    let generated = requirements::to_toml(requirements::all(), &vectors::coverage());
    if std::env::var_os("TRACEMARK_UPDATE_VECTORS").is_some() {
        fs::write(toml_path(), &generated).unwrap();
    }
    let on_disk = fs::read_to_string(toml_path()).unwrap_or_default();
    assert!(
        on_disk == generated,
        "spec/requirements.toml is not what spec/SPEC.md and the cases give (TRACEMARK_UPDATE_VECTORS=1 rewrites it)"
    );
}
