//! [`CachePadded`]: keeps a value on cache lines of its own.

use core::ops::Deref;

/// Aligns and pads `T` to the cache-line pair x86-64 and aarch64 prefetch together (128 bytes;
/// 64 elsewhere), so positions written by different contexts never share a line.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), repr(align(64)))]
#[derive(Debug, Default)]
pub struct CachePadded<T>(pub T);

impl<T> Deref for CachePadded<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}
