//! The event class identity hash (§7.8).

use alloc::vec::Vec;
use binrw::io::Cursor;

use crate::metadata::{write_identity_part, Layout};

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, &byte| (hash ^ byte as u64).wrapping_mul(FNV_PRIME))
}

/// The identity of an event class: FNV-1a 64 of its name, layout kind and layout, encoded
/// little-endian whatever the trace's byte order (§7.8). Names or layouts too long to encode
/// hash their truncated encoding; such classes cannot be written anyway.
pub fn identity_hash(name: &str, layout: &Layout) -> u64 {
    let mut canonical = Cursor::new(Vec::new());
    let _ = write_identity_part(name, layout, &mut canonical, binrw::Endian::Little);
    fnv1a64(canonical.get_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{AbiInt, Field, IntType, TypeDesc};
    use alloc::vec;

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn identity_changes_with_any_layout_change_but_not_with_abi() {
        let fields = |ty: TypeDesc, name: &str| Layout::Fields(vec![Field::new(name, ty)]);
        let long = TypeDesc::Int(IntType::Abi(AbiInt::Long));
        let base = identity_hash("ev", &fields(long.clone(), "x"));
        assert_eq!(base, identity_hash("ev", &fields(long, "x")));
        assert_ne!(base, identity_hash("ev", &fields(TypeDesc::Int(IntType::I64), "x")));
        assert_ne!(base, identity_hash("ev", &fields(TypeDesc::Int(IntType::Abi(AbiInt::Long)), "y")));
        assert_ne!(base, identity_hash("ev2", &fields(TypeDesc::Int(IntType::Abi(AbiInt::Long)), "x")));
        assert_ne!(
            identity_hash("m", &Layout::Marker("a %d".into())),
            identity_hash("m", &Layout::Marker("a %u".into()))
        );
    }
}
