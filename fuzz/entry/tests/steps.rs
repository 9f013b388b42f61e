//! The decoding-step count the fuzz targets check against §13.4 counts each type visited:
//! an exact count on a record whose types are known, and the bound it is checked against.

use tracemark_conformance::{rust_writer, ClassSpec, EventSpec, Scenario, Val};
use tracemark_format::{Field, IntType, TypeDesc};
use tracemark_reader::{steps, Item, Trace};

#[test]
fn every_type_visited_is_counted_once() {
    // Ten empty structs (0 bytes, one visit each), and 4 arrays of 3 bytes in an array.
    let mut fields: Vec<Field> =
        (0..10).map(|index| Field::new(format!("e{index}"), TypeDesc::Struct(vec![]))).collect();
    let grid = TypeDesc::array(4, TypeDesc::array(3, TypeDesc::Int(IntType::U8)));
    fields.push(Field::new("grid", grid));
    let empty = || Val::Struct(vec![]);
    let mut values: Vec<Val> = (0..10).map(|_| empty()).collect();
    values.push(Val::List(
        (0..4).map(|row| Val::List((0..3).map(|col| Val::U(row * 3 + col)).collect())).collect(),
    ));
    let scenario = Scenario {
        classes: vec![ClassSpec::new("shapes", fields)],
        events: vec![EventSpec { class: 0, cpu: 0, timestamp: 10, values }],
        ..Scenario::default()
    };
    let trace = Trace::from_bytes(rust_writer::single_file(&scenario).unwrap()).unwrap();
    let mut checked = 0;
    for item in trace.events() {
        let Item::Event(event) = item else { continue };
        let _ = steps::take();
        assert_eq!(event.fields().len(), 11);
        // 10 structs + the outer array + 4 × (an inner array + 3 integers).
        assert_eq!(steps::take(), 10 + 1 + 4 * (1 + 3));
        // §13.4's bound for it: D = 13 types declared, B = 12 payload bytes.
        assert_eq!(event.payload().len(), 12);
        checked += 1;
    }
    assert_eq!(checked, 1);
}
