//! The C probe writer's marker format parser (§8) against the Rust one.

use tracemark_conformance::Val;
use tracemark_format::{identity_hash, marker::MarkerArg, Abi, EventClass, Field, IntType, Layout, TypeDesc};
use tracemark_probe::{Config, Error, MarkerArg as CArg, Outcome, Writer};
use tracemark_reader::{StreamId, Trace};

use crate::expect::{self, Expected};

/// Longest format string compared: its EVENT_CLASS record must fit one metadata packet of the
/// C writer (which refuses larger records, where the Rust writer would write a larger packet).
const MAX_FORMAT_LEN: usize = 2048;
/// `TMK_MARKER_MAX_STRINGS` of `probe/core/tmk_meta.h`.
const C_MAX_MARKER_STRINGS: usize = 16;

/// The argument for `field` the C marker code takes, and the value a reader must decode: the
/// most negative value of signed types, the largest of unsigned ones (a C cast keeps it).
fn edge_argument(field: &Field, abi: &Abi) -> (CArg, Val) {
    match &field.ty {
        TypeDesc::Int(int) => {
            let bits = 8 * u32::from(int.size(abi));
            match (int, int.is_signed()) {
                (IntType::Abi(tracemark_format::AbiInt::Pointer), _) => {
                    (CArg::Pointer(usize::MAX), Val::U(usize::MAX as u64))
                }
                (_, true) => {
                    let min = i64::MIN >> (64 - bits);
                    (CArg::Int(min), Val::I(min))
                }
                (_, false) => {
                    let max = u64::MAX >> (64 - bits);
                    (CArg::UInt(max), Val::U(max))
                }
            }
        }
        TypeDesc::F64 => (CArg::F64(-1.5), Val::F64(-1.5)),
        _ => (CArg::Str(b"str".to_vec()), Val::Str(b"str".to_vec())),
    }
}

/// Registers `format` as a marker class with the C writer, which must accept it exactly when
/// the Rust parser did (`parsed`). When both accept it, one marker with edge values goes
/// through the C marker code and must decode, with the Rust reader, to those values: the C
/// parser gave every conversion the type the Rust one did. The class's identity hash,
/// computed by C, must be the Rust one.
pub fn format_string(format: &str, parsed: Option<Vec<MarkerArg>>) {
    if format.len() > MAX_FORMAT_LEN || format.contains('\0') {
        return;
    }
    let config = Config { packet_size: 16384, metadata_max_packets: 2, ..Config::default() };
    let mut writer = Writer::new(config).expect("the C writer starts");
    let layout = Layout::Marker(format.to_string());
    let class = EventClass::new(1, 0, "m", layout.clone());
    let registered = writer.register(&class);
    // The C writer sizes at most TMK_MARKER_MAX_STRINGS (16) `%s` arguments per marker, on the
    // probe's stack (tmk_marker.c), and refuses a class with more when it is registered
    // (EINVAL): a writer limit, not the spec's, so Rust accepts such a format.
    let strings = |args: &[MarkerArg]| args.iter().filter(|arg| arg.field.ty == TypeDesc::String).count();
    let args = match (parsed, registered) {
        (None, Err(_)) => return,
        (Some(args), Ok(())) if strings(&args) <= C_MAX_MARKER_STRINGS => args,
        (Some(args), Ok(())) => {
            panic!("the C writer registers {format:?}, with {} strings (at most 16)", strings(&args))
        }
        (Some(args), Err(Error::C(-22))) if strings(&args) > C_MAX_MARKER_STRINGS => return,
        (Some(_), Err(error)) => panic!("the C writer refuses {format:?}, which Rust accepts: {error}"),
        (None, Ok(())) => panic!("the C writer accepts {format:?}, which Rust refuses"),
    };
    let abi = writer.abi();
    let fields: Vec<Field> = args.into_iter().map(|arg| arg.field).collect();
    let (c_args, values): (Vec<CArg>, Vec<Val>) =
        fields.iter().map(|field| edge_argument(field, &abi)).unzip();
    let outcome = writer.marker(0, 10, 1, &c_args);
    assert_eq!(outcome, Ok(Outcome::Recorded), "the C marker code refuses the Rust parse of {format:?}");
    let output = writer.finish(20).expect("the C writer finishes");
    let trace = Trace::from_bytes(output.single_file()).expect("the reader opens the C writer's trace");
    let declared = trace.metadata().event_class(1).expect("the class is declared");
    assert_eq!(declared.identity, identity_hash("m", &layout), "C and Rust identity hashes of {format:?}");
    assert!(trace.diagnostics().is_empty(), "{:?}", trace.diagnostics());
    let expected = [Expected { name: "m".into(), timestamp: 10, fields, values }];
    if let Err(problem) = expect::check_stream(&trace, StreamId { class: 0, instance: 0 }, &expected, 0) {
        panic!("format {format:?}: {problem}");
    }
}
