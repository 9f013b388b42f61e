//! Conformance harness: scripted scenarios with exact expected values, written by a writer and
//! checked, event by event and field by field, against what the reader decodes.
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

pub mod compare;
pub mod encode;
pub mod rust_writer;
mod scenario;

pub use scenario::{ClassSpec, EventSpec, Scenario, Val};
