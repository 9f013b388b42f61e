//! Compiles the C probe writer core (`probe/core/*.c`), the userspace shim and the flat FFI
//! glue (`csrc/tmk_ffi.c`) into a static library, with the harness's warning set as errors.

use std::{fs, path::PathBuf};

fn main() {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let probe = here.parent().expect("probe/rust lives in probe/").to_path_buf();

    let mut sources: Vec<PathBuf> = fs::read_dir(probe.join("core"))
        .expect("probe/core")
        .map(|entry| entry.expect("probe/core entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "c" || ext == "h"))
        .collect();
    sources.sort();
    for dir in ["shim"] {
        for entry in fs::read_dir(probe.join(dir)).expect("probe/shim") {
            let path = entry.expect("probe/shim entry").path();
            if path.extension().is_some_and(|ext| ext == "h") {
                sources.push(path);
            }
        }
    }
    sources.push(probe.join("shim/tmk_shim_user.c"));
    sources.push(here.join("csrc/tmk_ffi.c"));

    let mut build = cc::Build::new();
    build.std("gnu11").warnings(true).warnings_into_errors(true).extra_warnings(true);
    for flag in [
        "-Wshadow",
        "-Wstrict-prototypes",
        "-Wmissing-prototypes",
        "-Wpointer-arith",
        "-Wcast-align=strict",
        "-Wvla",
    ] {
        build.flag_if_supported(flag);
    }
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
        if source.extension().is_some_and(|ext| ext == "c") {
            build.file(source);
        }
    }
    build.compile("tracemark_probe");
    // 64-bit atomics on 32-bit targets without them (as the harness Makefile does).
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("powerpc-") || target.starts_with("arm") || target.starts_with("mips") {
        println!("cargo:rustc-link-lib=atomic");
    }
    // Directories too, so that a new file in them is noticed.
    for dir in ["core", "shim"] {
        println!("cargo:rerun-if-changed={}", probe.join(dir).display());
    }
    println!("cargo:rerun-if-changed={}", here.join("csrc").display());
    println!("cargo:rerun-if-changed=build.rs");
}
