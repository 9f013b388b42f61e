//! Event class compatibility (§12): telling the same event from a changed one across traces,
//! and saying what changed, field by field.
//!
//! Two classes with the same identity hash (§7.8) are the same event: same name, same fields
//! in the same order with the same types. Any other pair with the same name is a *changed*
//! event, and [`compare_classes`] lists the changes. Whether a change matters to a given
//! analysis is decided when the analysis binds its fields ([`crate::bind`]): an analysis that
//! does not read a changed field is not affected by the change.
//!
//! ```
//! use tracemark_reader::compat::{compare_classes, Comparison, FieldChange};
//! use tracemark_reader::format::{AbiInt, EventClass, Field, IntType, Layout, TypeDesc};
//!
//! let old = EventClass::new(1, 0, "sched_switch", Layout::Fields(vec![
//!     Field::new("prev_pid", TypeDesc::Int(IntType::I32)),
//!     Field::new("prev_state", TypeDesc::Int(IntType::Abi(AbiInt::Long))),
//! ]));
//! let new = EventClass::new(7, 0, "sched_switch", Layout::Fields(vec![
//!     Field::new("prev_tid", TypeDesc::Int(IntType::I32)),
//!     Field::new("prev_state", TypeDesc::Int(IntType::Abi(AbiInt::Long))),
//! ]));
//! let Comparison::Changed(changes) = compare_classes(&old, &new) else { panic!() };
//! assert!(changes.contains(&FieldChange::Removed { name: "prev_pid".into(), ty: "i32".into() }));
//! assert!(changes.contains(&FieldChange::Added { name: "prev_tid".into(), ty: "i32".into() }));
//! assert_eq!(compare_classes(&old, &old.clone()), Comparison::Same);
//! ```

use std::fmt;

use tracemark_format::{Abi, EventClass, Field, IntType, Layout, TypeDesc};

use crate::Metadata;

/// A type as text, for messages: `i32`, `long (8 bytes, signed)`, `string`,
/// `array[6] of unsigned long (8 bytes, unsigned)`. ABI-sized types show their size when
/// `abi` is given.
pub fn describe_type(ty: &TypeDesc, abi: Option<&Abi>) -> String {
    match ty {
        TypeDesc::Bool => "bool".into(),
        TypeDesc::Int(int) => describe_int(*int, abi),
        TypeDesc::F32 => "f32".into(),
        TypeDesc::F64 => "f64".into(),
        TypeDesc::String => "string".into(),
        TypeDesc::Blob => "blob".into(),
        TypeDesc::Array { len, element } => format!("array[{len}] of {}", describe_type(element, abi)),
        TypeDesc::Sequence { element } => format!("sequence of {}", describe_type(element, abi)),
        TypeDesc::Enum { repr, .. } => format!("enum over {}", describe_int(*repr, abi)),
        TypeDesc::Struct(fields) => {
            let members: Vec<String> = fields
                .iter()
                .map(|field| format!("{}: {}", field.name, describe_type(&field.ty, abi)))
                .collect();
            format!("struct {{ {} }}", members.join(", "))
        }
    }
}

fn describe_int(int: IntType, abi: Option<&Abi>) -> String {
    match (int, abi) {
        (IntType::Abi(_), Some(abi)) => {
            let sign = if int.is_signed() { "signed" } else { "unsigned" };
            format!("{} ({} bytes, {sign})", int.name(), int.size(abi))
        }
        _ => int.name().into(),
    }
}

/// Whether every value of an integer field of type `int`, in a trace with `abi`, fits a Rust
/// integer of `bits` bits and signedness `signed` (§12.3): same signedness and at least as
/// wide, or unsigned into a strictly wider signed type.
pub fn int_fits(int: IntType, abi: &Abi, bits: u32, signed: bool) -> bool {
    let field_bits = u32::from(int.size(abi)) * 8;
    match (int.is_signed(), signed) {
        (true, true) | (false, false) => field_bits <= bits,
        (false, true) => field_bits < bits,
        (true, false) => false,
    }
}

/// One difference between two declarations of an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldChange {
    /// A field the new declaration has and the old one does not.
    Added {
        /// Field name.
        name: String,
        /// Its type, as [`describe_type`] writes it.
        ty: String,
    },
    /// A field the old declaration has and the new one does not (possibly renamed).
    Removed {
        /// Field name.
        name: String,
        /// Its type.
        ty: String,
    },
    /// A field whose type changed.
    TypeChanged {
        /// Field name.
        name: String,
        /// The old type.
        old: String,
        /// The new type.
        new: String,
    },
    /// A field at another position (which changes the identity, not the bindings).
    Moved {
        /// Field name.
        name: String,
        /// Old position.
        from: usize,
        /// New position.
        to: usize,
    },
    /// The layout kind changed: a field list became a marker, or the reverse.
    LayoutKind {
        /// `true` when the new declaration is a marker.
        now_marker: bool,
    },
    /// A marker format string that does not parse (§8).
    Undecodable,
    /// A marker format whose fields are the same but whose conversions differ (display only).
    Format {
        /// The old format string.
        old: String,
        /// The new one.
        new: String,
    },
    /// Same name and fields, different recorded identity: one of them is not the hash of its
    /// declaration (§7.8).
    Identity {
        /// The old identity.
        old: u64,
        /// The new one.
        new: u64,
    },
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldChange::Added { name, ty } => write!(f, "field `{name}` ({ty}) added"),
            FieldChange::Removed { name, ty } => write!(f, "field `{name}` ({ty}) removed"),
            FieldChange::TypeChanged { name, old, new } => {
                write!(f, "field `{name}` changed from {old} to {new}")
            }
            FieldChange::Moved { name, from, to } => {
                write!(f, "field `{name}` moved from position {from} to {to}")
            }
            FieldChange::LayoutKind { now_marker: true } => {
                f.write_str("field list replaced by a marker format")
            }
            FieldChange::LayoutKind { now_marker: false } => {
                f.write_str("marker format replaced by a field list")
            }
            FieldChange::Undecodable => f.write_str("marker format string does not parse (§8)"),
            FieldChange::Format { old, new } => write!(f, "marker format changed from {old:?} to {new:?}"),
            FieldChange::Identity { old, new } => {
                write!(f, "identity {old:016x} became {new:016x} with the same fields (§7.8)")
            }
        }
    }
}

/// How two declarations of an event compare (§12.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// The same event: same identity and same name and layout.
    Same,
    /// A changed event, and how.
    Changed(Vec<FieldChange>),
}

impl Comparison {
    /// Whether the declarations are the same event.
    pub fn is_same(&self) -> bool {
        matches!(self, Comparison::Same)
    }
}

/// Compares two declarations of an event (§12.1). Names are not compared: call it on two
/// classes you already matched by name. The identity hash decides; when it is equal the
/// layouts are still compared, so that a hash collision cannot pass for the same event.
pub fn compare_classes(old: &EventClass, new: &EventClass) -> Comparison {
    if old.identity == new.identity && old.name == new.name && old.layout == new.layout {
        return Comparison::Same;
    }
    let mut changes = Vec::new();
    if old.layout.kind() != new.layout.kind() {
        changes.push(FieldChange::LayoutKind { now_marker: matches!(new.layout, Layout::Marker(_)) });
    }
    let (Ok(old_fields), Ok(new_fields)) = (old.fields(), new.fields()) else {
        changes.push(FieldChange::Undecodable);
        return Comparison::Changed(changes);
    };
    changes.extend(diff_fields(&old_fields, &new_fields));
    if changes.is_empty() {
        // The same fields: a marker whose conversions changed only how values display, or a
        // recorded identity that is not the computed one (§7.8).
        if let (Layout::Marker(old_format), Layout::Marker(new_format)) = (&old.layout, &new.layout) {
            if old_format != new_format {
                changes.push(FieldChange::Format { old: old_format.clone(), new: new_format.clone() });
            }
        }
        if changes.is_empty() {
            changes.push(FieldChange::Identity { old: old.identity, new: new.identity });
        }
    }
    Comparison::Changed(changes)
}

fn diff_fields(old: &[Field], new: &[Field]) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    for (from, field) in old.iter().enumerate() {
        match new.iter().position(|candidate| candidate.name == field.name) {
            None => changes
                .push(FieldChange::Removed { name: field.name.clone(), ty: describe_type(&field.ty, None) }),
            Some(to) => {
                let Some(now) = new.get(to) else { continue };
                if now.ty != field.ty {
                    changes.push(FieldChange::TypeChanged {
                        name: field.name.clone(),
                        old: describe_type(&field.ty, None),
                        new: describe_type(&now.ty, None),
                    });
                }
                if to != from {
                    changes.push(FieldChange::Moved { name: field.name.clone(), from, to });
                }
            }
        }
    }
    for field in new {
        if !old.iter().any(|candidate| candidate.name == field.name) {
            changes.push(FieldChange::Added { name: field.name.clone(), ty: describe_type(&field.ty, None) });
        }
    }
    changes
}

/// The event classes of two traces, matched by name (§12.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TraceComparison {
    /// Events declared the same way in both.
    pub same: Vec<String>,
    /// Events declared in both, differently, with the changes from the old to the new.
    pub changed: Vec<(String, Vec<FieldChange>)>,
    /// Events only the new trace declares.
    pub added: Vec<String>,
    /// Events only the old trace declares.
    pub removed: Vec<String>,
}

/// Compares the decodable event classes of two traces by name. When a trace declares a name
/// more than once (in several stream classes), its lowest ID stands for it.
pub fn compare_traces(old: &Metadata, new: &Metadata) -> TraceComparison {
    fn by_name(metadata: &Metadata) -> std::collections::BTreeMap<&str, &EventClass> {
        let mut by_name = std::collections::BTreeMap::new();
        for class in metadata.event_classes() {
            by_name.entry(class.name.as_str()).or_insert(class);
        }
        by_name
    }
    let (old_classes, new_classes) = (by_name(old), by_name(new));
    let mut comparison = TraceComparison::default();
    for (name, old_class) in &old_classes {
        match new_classes.get(name) {
            None => comparison.removed.push((*name).to_string()),
            Some(new_class) => match compare_classes(old_class, new_class) {
                Comparison::Same => comparison.same.push((*name).to_string()),
                Comparison::Changed(changes) => comparison.changed.push(((*name).to_string(), changes)),
            },
        }
    }
    comparison.added = new_classes
        .keys()
        .filter(|name| !old_classes.contains_key(*name))
        .map(|name| (*name).to_string())
        .collect();
    comparison
}

#[cfg(test)]
mod tests {
    use tracemark_format::{AbiInt, ByteOrder};

    use super::*;

    fn class(name: &str, fields: Vec<Field>) -> EventClass {
        EventClass::new(1, 0, name, Layout::Fields(fields))
    }

    #[test]
    fn identity_tells_same_from_changed() {
        let long = TypeDesc::Int(IntType::Abi(AbiInt::Long));
        let a = class("ev", vec![Field::new("x", long.clone()), Field::new("s", TypeDesc::String)]);
        let mut b = a.clone();
        b.id = 99;
        b.stream_class_id = 3;
        assert_eq!(compare_classes(&a, &b), Comparison::Same, "ID and stream class are not identity");
        let c = class(
            "ev",
            vec![Field::new("s", TypeDesc::String), Field::new("x", TypeDesc::Int(IntType::I64))],
        );
        let Comparison::Changed(changes) = compare_classes(&a, &c) else { panic!("changed") };
        assert_eq!(
            changes,
            [
                FieldChange::TypeChanged { name: "x".into(), old: "long".into(), new: "i64".into() },
                FieldChange::Moved { name: "x".into(), from: 0, to: 1 },
                FieldChange::Moved { name: "s".into(), from: 1, to: 0 },
            ]
        );
        let marker = EventClass::new(1, 0, "ev", Layout::Marker("x %ld s %s".into()));
        let Comparison::Changed(changes) = compare_classes(&a, &marker) else { panic!("changed") };
        assert_eq!(changes, [FieldChange::LayoutKind { now_marker: true }]);
    }

    #[test]
    fn integer_fit_follows_size_and_sign() {
        let lp64 = Abi::lp64(ByteOrder::Little);
        let ilp32 = Abi::ilp32(ByteOrder::Big);
        let long = IntType::Abi(AbiInt::Long);
        assert!(int_fits(long, &lp64, 64, true) && !int_fits(long, &lp64, 32, true));
        assert!(int_fits(long, &ilp32, 32, true) && int_fits(long, &ilp32, 64, true));
        assert!(int_fits(IntType::U32, &lp64, 64, true) && !int_fits(IntType::U32, &lp64, 32, true));
        assert!(!int_fits(IntType::I8, &lp64, 64, false));
        assert_eq!(describe_type(&TypeDesc::Int(long), Some(&ilp32)), "long (4 bytes, signed)");
    }
}
