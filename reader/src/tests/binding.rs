//! Typed binding's direct reads (integers of the exact shape, strings ended by the walk) agree
//! with the general path, in both byte orders, and fail the same way.

use tracemark_format::{Abi, ByteOrder, Field, IntType, TypeDesc};

use super::*;
use crate::{Dispatcher, EventSpec, FieldErrorKind, TraceEvent};

fn fields() -> Vec<Field> {
    vec![
        Field::new("comm", TypeDesc::String),
        Field::new("tid", TypeDesc::Int(IntType::I32)),
        Field::new("count", TypeDesc::Int(IntType::U64)),
        Field::new("next_comm", TypeDesc::String),
        Field::new("prio", TypeDesc::Int(IntType::I16)),
    ]
}

/// Two records of class `task`: the second's `next_comm` is not UTF-8.
fn trace(order: ByteOrder) -> Trace {
    let abi = match order {
        ByteOrder::Little => Abi::lp64(ByteOrder::Little),
        ByteOrder::Big => Abi::ilp32(ByteOrder::Big),
    };
    let builder = TraceBuilder::new(abi).class(1, "task", fields());
    let payload = |next: &[u8]| {
        Payload::new(order)
            .string(b"bash")
            .u32(-7i32 as u32)
            .u64(0x0102_0304_0506_0708)
            .string(next)
            .u16(-300i16 as u16)
            .done()
    };
    let mut bytes = builder.metadata_packet();
    bytes.extend(
        builder
            .packet(0, 0, 0, 100)
            .event(1, 150, &payload(b"sshd"))
            .event(1, 160, &payload(b"a\xffb"))
            .build(&builder),
    );
    Trace::from_bytes(bytes).unwrap()
}

#[derive(TraceEvent, Debug, PartialEq)]
struct Task<'a> {
    comm: &'a str,
    tid: i32,
    count: u64,
    next_comm: &'a str,
    prio: i16,
}

/// Wider types than declared: the general path, converting.
#[derive(TraceEvent, Debug, PartialEq)]
#[trace_event(name = "task")]
struct Wide<'a> {
    comm: &'a [u8],
    tid: i64,
    next_comm: std::borrow::Cow<'a, str>,
    prio: Option<i64>,
    absent: Option<u32>,
}

#[test]
fn direct_reads_agree_with_the_general_path_in_both_byte_orders() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let trace = trace(order);
        let mut tasks = Vec::new();
        let mut wide = Vec::new();
        let mut run = Dispatcher::new(&trace);
        run.workers(0);
        run.on(|_, task: Task| tasks.push(task)).unwrap();
        run.on(|_, task: Wide| {
            wide.push((task.comm.to_vec(), task.tid, task.next_comm.into_owned(), task.prio, task.absent))
        })
        .unwrap();
        let summary = run.run();
        assert_eq!(
            tasks,
            [Task { comm: "bash", tid: -7, count: 0x0102_0304_0506_0708, next_comm: "sshd", prio: -300 }],
            "{order:?}"
        );
        assert_eq!(
            wide,
            [
                (b"bash".to_vec(), -7, "sshd".to_string(), Some(-300), None),
                (b"bash".to_vec(), -7, "a\u{fffd}b".to_string(), Some(-300), None),
            ],
            "{order:?}"
        );
        // The record whose string is not UTF-8 is counted as failed, with the valid prefix.
        let typed = &summary.handlers[0];
        assert_eq!((typed.delivered, typed.failed), (2, 1), "{order:?}");
        let error = typed.first_error.as_ref().unwrap();
        assert_eq!(
            (error.field.as_str(), error.kind),
            ("next_comm", FieldErrorKind::NotUtf8 { valid_up_to: 1 })
        );
    }
}

#[test]
fn a_type_other_than_the_bound_one_is_read_as_well_as_the_bytes_allow() {
    let trace = trace(ByteOrder::Big);
    let spec = EventSpec::new("task").field::<i32>("tid").field::<i16>("prio");
    let mut seen = Vec::new();
    let mut run = Dispatcher::new(&trace);
    run.workers(0)
        .on_spec(&spec, |_, fields| {
            // Not the declared shape: no direct read, and the range is checked.
            seen.push((
                fields.get::<u32>(0).map_err(|e| e.kind),
                fields.get::<i64>(1),
                fields.get::<u8>(1).map_err(|e| e.kind),
            ));
            Ok(())
        })
        .unwrap();
    run.run();
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|read| *read == (Err(FieldErrorKind::OutOfRange), Ok(-300), Err(FieldErrorKind::OutOfRange))));
}
