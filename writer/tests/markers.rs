//! Markers (§8): registration once per format, argument checks, encoding.

mod common;

use common::{decode_all, Value};
use tracemark_format::{Layout, Record};
use tracemark_writer::{
    Abi, ByteOrder, Config, Error, LocalTrace, ManualClock, MarkerArg, MemorySink, Session, StreamWriter,
    TraceDescription,
};

fn marker_classes(records: &[Record]) -> Vec<(u32, String, String)> {
    records
        .iter()
        .filter_map(|record| match record {
            Record::EventClass(class) => match &class.layout {
                Layout::Marker(format) => Some((class.id, class.name.clone(), format.clone())),
                Layout::Fields(_) => None,
            },
            _ => None,
        })
        .collect()
}

#[test]
fn a_marker_class_is_registered_once_per_format_and_name() {
    let clock = ManualClock::new(0);
    let config = Config::with_uuid([1; 16]).packet_size(512);
    let mut trace = LocalTrace::new(&config, TraceDescription::unknown(), &clock, Vec::new()).unwrap();
    let mut memory = vec![0; 512];
    let mut cpu0 = StreamWriter::new(trace.stream_params(0).unwrap(), &mut memory[..], &clock).unwrap();
    let format = "prev_pid %d next_comm %s";
    for pid in 0..3 {
        cpu0.marker(&mut trace, "switch", format, &[MarkerArg::Int(pid), MarkerArg::Str("x")]).unwrap();
    }
    cpu0.marker(&mut trace, "switch", "pid %u", &[MarkerArg::UInt(1)]).unwrap();
    cpu0.marker(&mut trace, "other", format, &[MarkerArg::Int(1), "y".into()]).unwrap();
    cpu0.flush(&mut trace).unwrap();
    let (records, _, events) = decode_all(&trace.finish().unwrap());
    let classes = marker_classes(&records);
    assert_eq!(
        classes,
        [
            (0, "switch".into(), format.into()),
            (1, "switch".into(), "pid %u".into()),
            (2, "other".into(), format.into()),
        ]
    );
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [0, 0, 0, 1, 2]);
    assert_eq!(events[2].field("prev_pid"), &Value::Int(2));
    assert_eq!(events[2].field("next_comm"), &Value::Str(b"x".to_vec()));
}

#[test]
fn streams_of_a_session_share_marker_classes() {
    let sink = MemorySink::new();
    let session = Session::builder(Config::with_uuid([2; 16]))
        .build_with_clock(ManualClock::new(1), sink.clone())
        .unwrap();
    std::thread::scope(|scope| {
        for cpu in 0..4 {
            let session = &session;
            scope.spawn(move || {
                let mut stream = session.stream(cpu).unwrap();
                for i in 0..10 {
                    stream
                        .marker("m", "cpu %u i %d", &[MarkerArg::UInt(cpu.into()), MarkerArg::Int(i)])
                        .unwrap();
                }
            });
        }
    });
    let summary = session.finish().unwrap();
    assert_eq!(summary.events_written, 40);
    let (records, data, events) = decode_all(&sink.bytes());
    assert_eq!(marker_classes(&records).len(), 1);
    assert_eq!((data.len(), events.len()), (4, 40));
}

#[test]
fn arguments_are_checked_against_the_format() {
    let clock = ManualClock::new(0);
    let config = Config::with_uuid([1; 16]).packet_size(512);
    let mut trace = LocalTrace::new(&config, TraceDescription::unknown(), &clock, Vec::new()).unwrap();
    let mut memory = vec![0; 512];
    let mut cpu0 = StreamWriter::new(trace.stream_params(0).unwrap(), &mut memory[..], &clock).unwrap();
    let error =
        cpu0.marker(&mut trace, "m", "a %d b %s", &[MarkerArg::Str("x"), MarkerArg::Str("y")]).unwrap_err();
    assert!(matches!(&error, Error::MarkerArgType { index: 0, field, .. } if field == "a"), "{error}");
    let error = cpu0.marker(&mut trace, "m", "a %d b %s", &[MarkerArg::Int(1)]).unwrap_err();
    assert!(matches!(error, Error::MarkerArity { expected: 2, found: 1, .. }), "{error}");
    let error = cpu0.marker(&mut trace, "m", "a %u", &[MarkerArg::Int(1)]).unwrap_err();
    assert!(matches!(error, Error::MarkerArgType { .. }), "{error}");
    let error = cpu0.marker(&mut trace, "m", "a=%d", &[MarkerArg::Int(1)]).unwrap_err();
    assert!(matches!(error, Error::Marker(_)), "{error}");
    let error = cpu0.marker(&mut trace, "", "a %d", &[MarkerArg::Int(1)]).unwrap_err();
    assert!(matches!(error, Error::InvalidLayout { .. }), "{error}");
    assert_eq!(cpu0.stats().events, 0);
    cpu0.flush(&mut trace).unwrap();
    let (_, data, _) = decode_all(&trace.finish().unwrap());
    assert!(data.is_empty(), "nothing was written");
}

#[test]
fn conversions_encode_with_their_abi_sizes() {
    let clock = ManualClock::new(0);
    let config = Config::with_uuid([1; 16]).packet_size(512).abi(Abi::ilp32(ByteOrder::Big));
    let mut trace = LocalTrace::new(&config, TraceDescription::unknown(), &clock, Vec::new()).unwrap();
    let mut memory = vec![0; 512];
    let mut cpu0 = StreamWriter::new(trace.stream_params(0).unwrap(), &mut memory[..], &clock).unwrap();
    let format = "small %hhd c %c p %p l %ld big %llx f %g s %s z %zu";
    let args = [
        MarkerArg::Int(300),
        MarkerArg::Char(b'A'),
        MarkerArg::Pointer(0x1_0000_0010),
        MarkerArg::Int(-2),
        MarkerArg::UInt(u64::MAX),
        MarkerArg::Float(0.5),
        MarkerArg::Str("a\0b"),
        MarkerArg::UInt(9),
    ];
    cpu0.marker(&mut trace, "conv", format, &args).unwrap();
    cpu0.flush(&mut trace).unwrap();
    let (_, data, events) = decode_all(&trace.finish().unwrap());
    let payload = 1 + 1 + 4 + 4 + 8 + 8 + 2 + 4;
    assert_eq!(data[0].header.content_size as usize, 80 + 8 + payload);
    let e = &events[0];
    assert_eq!(e.field("small"), &Value::Int(44), "300 as i8");
    assert_eq!(e.field("c"), &Value::UInt(u64::from(b'A')));
    assert_eq!(e.field("p"), &Value::UInt(0x10));
    assert_eq!(e.field("l"), &Value::Int(-2));
    assert_eq!(e.field("big"), &Value::UInt(u64::MAX));
    assert_eq!(e.field("f"), &Value::F64(0.5));
    assert_eq!(e.field("s"), &Value::Str(b"a".to_vec()));
    assert_eq!(e.field("z"), &Value::UInt(9));
}
