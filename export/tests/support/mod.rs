//! What the export tests share: a small lossy trace.

use tracemark_format::{ByteOrder, Field, IntType, TypeDesc};
use tracemark_writer::{Config, ManualClock, MemorySink, Session};

/// The single-file bytes of a two-CPU trace in `order` with 256-byte packets, where every 7th
/// event is discarded: event `n` of CPU `c` at tick `1000 n + c`.
pub fn lossy_trace(order: ByteOrder) -> Vec<u8> {
    let sink = MemorySink::new();
    let config = Config::with_uuid([3; 16]).packet_size(256).abi(tracemark_format::Abi::lp64(order));
    let session = Session::builder(config).build_with_clock(ManualClock::new(0), sink.clone()).unwrap();
    let fields = vec![Field::new("n", TypeDesc::Int(IntType::U32)), Field::new("s", TypeDesc::String)];
    let handle = session.register_fields(session.stream_class_id(), "ev", 255, fields).unwrap();
    for cpu in 0..2u32 {
        let mut stream = session.stream(cpu).unwrap();
        let (writer, out) = stream.raw().unwrap();
        for n in 0..120u32 {
            let slot = writer.reserve(out, handle, u64::from(n) * 1000 + u64::from(cpu), 4 + 4).unwrap();
            if n % 7 == 3 {
                writer.abort(slot);
                continue;
            }
            let mut payload = writer.payload(&slot);
            payload.write_u32(n);
            payload.write_c_string(b"abc");
            writer.commit(slot);
        }
    }
    session.finish().unwrap();
    drop(session);
    sink.bytes()
}
