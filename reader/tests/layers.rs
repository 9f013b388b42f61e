//! The reader's modules form layers, and dependencies point down: bytes to values at the
//! bottom, knowing nothing of packets or streams; packets, then streams and their merge above;
//! the trace, events, binding and the analyses on top; diagnostics and identities are leaves.
//! This test reads `src/*.rs` and fails on an import that points up, or that closes a cycle
//! among modules of one layer, unless it is one of [`KNOWN_UPWARD`] (none).
//! The top layer is `Trace`'s API, its methods beside the types they return: its modules may
//! import each other.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// The layers, lowest first. A module may import modules of lower layers, and of its own
/// layer as long as no cycle forms.
const LAYERS: &[(&str, &[&str])] = &[
    ("leaves", &["endian", "steps", "stream_id", "diagnostic", "error", "mapping"]),
    ("bytes to values", &["value", "decode", "layout", "streamed"]),
    ("packets", &["container", "decompress", "packet", "metadata", "source", "records", "batch"]),
    ("streams", &["stream_index", "stream", "raw_record", "merge", "pipeline", "packet_map", "progress"]),
    (
        "the trace, events and analyses",
        &[
            "trace", "events", "event", "packets", "index", "count", "summary", "bind", "ahead", "dispatch",
            "compat",
        ],
    ),
];

/// Imports allowed to point up, each with its reason: none. Adding one fails the test unless
/// it is listed here.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

fn source_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

/// The code of a module: no tests, no comments (doc links name modules without using them).
fn code_of(module: &str) -> String {
    let text = std::fs::read_to_string(source_dir().join(format!("{module}.rs"))).unwrap();
    let before_tests = text.split("#[cfg(test)]").next().unwrap_or_default();
    before_tests.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The first path segment of each item of a `use crate::{...}` list, or of the one item.
fn heads(list: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut depth = 0;
    for ch in list.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(item) = items.last_mut() {
            item.push(ch);
        }
    }
    items
        .iter()
        .filter_map(|item| item.trim().split(|c: char| !(c.is_alphanumeric() || c == '_')).next())
        .filter(|head| !head.is_empty())
        .map(str::to_string)
        .collect()
}

/// Names `lib.rs` re-exports at the crate root, and their modules.
fn reexports(modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(source_dir().join("lib.rs")).unwrap();
    let mut names = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else { continue };
        let Some((module, rest)) = path.split_once("::") else { continue };
        if !modules.contains(module) {
            continue;
        }
        for name in rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|name| !name.is_empty()) {
            names.insert(name.to_string(), module.to_string());
        }
    }
    names
}

/// Every module's imports of other modules of the crate.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = std::fs::read_dir(source_dir())
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_string))
        .filter(|name| name != "lib")
        .collect();
    let reexported = reexports(&modules);
    let resolve = |head: &str| {
        if modules.contains(head) {
            Some(head.to_string())
        } else {
            reexported.get(head).cloned()
        }
    };
    let mut graph = BTreeMap::new();
    for module in &modules {
        let code = code_of(module);
        let mut uses = BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let after = &code[at + "crate::".len()..];
            let named = match after.strip_prefix('{') {
                Some(list) => heads(&list[..list.find("};").unwrap_or(list.len())]),
                None => heads(after.split([';', ',', ')', '>', ' ', '\n']).next().unwrap_or_default()),
            };
            uses.extend(named.iter().filter_map(|head| resolve(head)));
        }
        uses.remove(module);
        graph.insert(module.clone(), uses);
    }
    graph
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = imports().into_keys().filter(|module| layer_of(module).is_none()).collect();
    assert!(unplaced.is_empty(), "modules in no layer: {unplaced:?}");
}

#[test]
fn imports_point_down_but_for_the_known_ones() {
    let mut upward = BTreeSet::new();
    for (module, uses) in imports() {
        for used in uses {
            if layer_of(&used) > layer_of(&module) {
                upward.insert((module.clone(), used));
            }
        }
    }
    let known: BTreeSet<(String, String)> =
        KNOWN_UPWARD.iter().map(|&(from, to)| (from.to_string(), to.to_string())).collect();
    let new: Vec<_> = upward.difference(&known).collect();
    let gone: Vec<_> = known.difference(&upward).collect();
    assert!(new.is_empty(), "imports pointing up a layer: {new:?}");
    assert!(gone.is_empty(), "no longer pointing up, remove from KNOWN_UPWARD: {gone:?}");
}

#[test]
fn modules_of_one_layer_form_no_cycle() {
    let graph = imports();
    let known: BTreeSet<(&str, &str)> = KNOWN_UPWARD.iter().copied().collect();
    // Reachability through downward and same-layer imports only: the known upward ones are
    // reported by the test above.
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(module) = stack.pop() {
            if module == to {
                return true;
            }
            if seen.insert(module.clone()) {
                for next in graph.get(&module).into_iter().flatten() {
                    if !known.contains(&(module.as_str(), next.as_str())) {
                        stack.push(next.clone());
                    }
                }
            }
        }
        false
    };
    let top = LAYERS.len() - 1;
    for (module, uses) in &graph {
        for used in uses {
            let layer = layer_of(module);
            if layer != Some(top)
                && layer_of(used) == layer
                && !known.contains(&(module.as_str(), used.as_str()))
            {
                assert!(!reaches(used, module), "{module} and {used} import each other");
            }
        }
    }
}

/// The parser finds what it must: a test of the test.
#[test]
fn the_import_parser_sees_lists_paths_and_reexports() {
    let graph = imports();
    let uses = |module: &str| graph.get(module).cloned().unwrap_or_default();
    // `use crate::{diagnostic::MalformedReason, value::{Integer, Value}};`
    assert!(
        uses("decode").contains("value") && uses("decode").contains("diagnostic"),
        "{:?}",
        uses("decode")
    );
    // `use crate::stream_id::StreamId;`
    assert_eq!(uses("diagnostic"), BTreeSet::from(["stream_id".to_string()]));
    // `Trace` through the crate root's re-export.
    assert!(uses("events").contains("trace"), "{:?}", uses("events"));
}
