//! Property: for any values and any ABI, `encoded_size` equals the bytes `encode` writes, and
//! a decoder driven by the declared fields consumes exactly those bytes.

mod common;

use common::kinds::{self, Named, Point};
use proptest::prelude::*;
use tracemark_writer::{Abi, ByteOrder, EventType, PayloadWriter};

fn abi() -> impl Strategy<Value = Abi> {
    (any::<bool>(), any::<bool>()).prop_map(|(big, ilp32)| {
        let order = if big { ByteOrder::Big } else { ByteOrder::Little };
        if ilp32 {
            Abi::ilp32(order)
        } else {
            Abi::lp64(order)
        }
    })
}

proptest! {
    #[test]
    fn encoded_size_is_what_encode_writes(
        abi in abi(),
        text in ".{0,40}",
        nul_at in proptest::option::of(0usize..40),
        seq in proptest::collection::vec(any::<i32>(), 0..20),
        names in proptest::collection::vec("[a-z\\x00]{0,8}", 0..5),
        x in any::<i32>(),
    ) {
        let mut text = text;
        if let Some(at) = nul_at {
            let at = (0..=at.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            text.insert(at, '\0');
        }
        let named: Vec<Named<'_>> =
            names.iter().map(|name| Named { name, at: Point { x, y: name.len() as u8 } }).collect();
        let event = kinds::sample(&text, &seq, &named);
        let size = event.encoded_size(&abi);
        let mut buffer = vec![0u8; size + 8];
        let mut writer = PayloadWriter::new(&mut buffer[..size], abi);
        event.encode(&mut writer);
        prop_assert!(writer.is_complete(), "wrote {} of {}", writer.position(), size);

        let mut position = 0;
        for field in kinds::AllKinds::fields() {
            common::decode_value(&field.ty, &abi, &buffer[..size], &mut position);
        }
        prop_assert_eq!(position, size);
    }
}
