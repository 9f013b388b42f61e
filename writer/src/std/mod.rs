//! The `std` layer: host clock and ABI descriptor, sinks writing the container forms (§9), and
//! the thread-safe [`Session`].

mod session;
mod sink;
mod sys;

pub use self::session::*;
pub use self::sink::*;
pub use self::sys::*;
