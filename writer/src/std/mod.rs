//! The `std` layer: host clock and ABI descriptor, sinks writing the container forms (§9), packet
//! compression (§15), and the thread-safe [`Session`].

mod compress;
mod session;
mod sink;
mod sys;

pub use self::compress::*;
pub use self::session::*;
pub use self::sink::*;
pub use self::sys::*;
