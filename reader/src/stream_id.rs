//! A stream's identity (§1.2): a leaf, so that diagnostics and the layers below streams can
//! name a stream without depending on them.

use std::fmt;

/// A stream's identity: stream class ID and stream instance ID (§1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct StreamId {
    /// The stream class ID.
    pub class: u32,
    /// The stream instance ID: the CPU, by convention.
    pub instance: u32,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.class, self.instance)
    }
}
