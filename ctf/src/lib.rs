//! Reading CTF 1.8 traces, as LTTng 2.x writes them, to import them into tracemark.
//!
//! Layers, bottom up: [`tsdl`] parses the metadata text into a syntax tree.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod tsdl;
