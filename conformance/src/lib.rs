//! Conformance: the rules a valid trace obeys, checkable on any trace, and the harness that
//! checks every writer against the reader by those rules.
//!
//! - [`requirements`]: every MUST of `spec/SPEC.md` (and each other rule a tool checks) has a
//!   stable ID, `R-4.2-1`, tagged in the text and listed in `spec/requirements.toml`.
//! - [`check`]: `tracemark check`: the reader's diagnostics mapped to requirements, plus the
//!   rules the reader's API cannot see, checked on the container's bytes ([`walk`]).
//! - [`vectors`]: traces generated from declarative cases, with the events and findings they
//!   must give, checked in under `conformance/vectors/`.
//! - [`harness`]: the scripted scenarios every writer runs (the Rust writer, the C probe
//!   writer) and the comparison with a harness's `expected.jsonl`.
//! - [`sweep`]: every byte change and truncation of the valid vectors, read without panic,
//!   with untouched packets delivered and the damage reported.
//!
//! A [`Scenario`] declares event classes (any field layout) and a sequence of events with
//! their values, CPUs and timestamps. [`rust_writer`] writes it with `tracemark-writer`;
//! [`compare`] reads a trace back with `tracemark-reader` and reports every difference.
//!
//! ```
//! use tracemark_conformance::{compare, rust_writer, ClassSpec, EventSpec, Scenario, Val};
//! use tracemark_format::{Abi, ByteOrder, Field, IntType, TypeDesc};
//!
//! let scenario = Scenario {
//!     abi: Abi::ilp32(ByteOrder::Big),
//!     classes: vec![ClassSpec::new("tick", vec![Field::new("n", TypeDesc::Int(IntType::U32))])],
//!     events: vec![EventSpec { class: 0, cpu: 0, timestamp: 10, values: vec![Val::U(7)] }],
//!     ..Scenario::default()
//! };
//! let bytes = rust_writer::single_file(&scenario).unwrap();
//! let trace = tracemark_reader::Trace::from_bytes(bytes).unwrap();
//! compare::check(&scenario, &trace).unwrap();
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod check;
pub mod compare;
pub mod encode;
pub mod harness;
pub mod requirements;
pub mod ring_writer;
pub mod rust_writer;
mod scenario;
pub mod sweep;
pub mod vectors;
pub mod walk;

pub use scenario::{ClassSpec, EventSpec, Scenario, Val};
