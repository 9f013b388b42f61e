//! Column types: a payload type (§6) resolved under the trace's ABI, and its Arrow type.
//!
//! | tracemark | Arrow (Parquet) |
//! |---|---|
//! | `bool` | `Boolean` |
//! | fixed and ABI-sized integers | `Int8`…`Int64`, `UInt8`…`UInt64` by the size the ABI gives (a 32-bit kernel's `long` is `Int32`) |
//! | `f32`, `f64` | `Float32`, `Float64` |
//! | `string` | `Utf8` (bytes that are not UTF-8 replaced by U+FFFD, and counted) |
//! | `blob` | `Binary` |
//! | array of N | `FixedSizeList(N)` |
//! | sequence | `List` |
//! | enumeration | `Struct{value, label}`: the integer and its label (null when no mapping matches) |
//! | struct | `Struct` |
//!
//! A struct without fields carries nothing, and Parquet cannot store one: such a field, and an
//! array or struct made only of such fields, has no column. Every column is nullable: a value
//! that cannot be had is null, never made up.

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, Fields};
use tracemark_format::{Abi, IntType, TypeDesc};

/// Metadata key on each Arrow field of a payload column: the tracemark type it came from
/// (`long`, `pointer`, `u32`, `string`, …), so the ABI resolution can be told from the schema.
pub const TYPE_KEY: &str = "tracemark.type";

/// An integer column's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntShape {
    /// 1, 2, 4 or 8.
    pub bytes: u8,
    /// Whether it is signed.
    pub signed: bool,
}

impl IntShape {
    /// The shape of `int` under `abi`; a size that is not 1, 2, 4 or 8 (which the reader
    /// refuses) widens to 8.
    pub fn of(int: IntType, abi: &Abi) -> IntShape {
        let bytes = match int.size(abi) {
            size @ (1 | 2 | 4) => size,
            _ => 8,
        };
        IntShape { bytes, signed: int.is_signed() }
    }

    /// The Arrow type.
    pub fn data_type(self) -> DataType {
        match (self.bytes, self.signed) {
            (1, true) => DataType::Int8,
            (2, true) => DataType::Int16,
            (4, true) => DataType::Int32,
            (_, true) => DataType::Int64,
            (1, false) => DataType::UInt8,
            (2, false) => DataType::UInt16,
            (4, false) => DataType::UInt32,
            (_, false) => DataType::UInt64,
        }
    }
}

/// A column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnType {
    /// `Boolean`.
    Bool,
    /// An integer.
    Int(IntShape),
    /// `Float32`.
    F32,
    /// `Float64`.
    F64,
    /// `Utf8`.
    Str,
    /// `Binary`.
    Bin,
    /// `FixedSizeList`.
    FixedList {
        /// Elements per value.
        len: u32,
        /// Element type.
        element: Box<ColumnType>,
    },
    /// `List`.
    List(Box<ColumnType>),
    /// `Struct{value, label}`.
    Enum(IntShape),
    /// `Struct`.
    Struct(Vec<Member>),
}

/// A column of a struct or a table: a field of a payload type, renamed if its name was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The column's name, unique among its siblings.
    pub name: String,
    /// Where its value is among the decoded fields of the struct or payload.
    pub source: usize,
    /// The field's tracemark type name (`long`, `string`, `struct`, …); empty for a column
    /// that is not a payload field's.
    pub type_name: &'static str,
    /// Its column type.
    pub ty: ColumnType,
}

/// The columns of `fields` under `abi`, named apart from `names` (taken names get `_2`, …);
/// fields that carry nothing have none.
pub fn members(fields: &[tracemark_format::Field], abi: &Abi, names: &mut UniqueNames) -> Vec<Member> {
    fields
        .iter()
        .enumerate()
        .filter_map(|(source, field)| {
            let ty = ColumnType::of(&field.ty, abi)?;
            Some(Member { name: names.take(&field.name), source, type_name: type_name(&field.ty), ty })
        })
        .collect()
}

/// The tracemark name of a payload type, for [`TYPE_KEY`].
pub fn type_name(ty: &TypeDesc) -> &'static str {
    match ty {
        TypeDesc::Bool => "bool",
        TypeDesc::Int(int) => int.name(),
        TypeDesc::F32 => "f32",
        TypeDesc::F64 => "f64",
        TypeDesc::String => "string",
        TypeDesc::Blob => "blob",
        TypeDesc::Array { .. } => "array",
        TypeDesc::Sequence { .. } => "sequence",
        TypeDesc::Enum { .. } => "enum",
        TypeDesc::Struct(_) => "struct",
    }
}

/// Element field name of list types, as arrow-rs and Parquet's LIST convention spell it.
const ELEMENT: &str = "item";

impl ColumnType {
    /// The column type of payload type `ty` under `abi`; `None` for a type that carries nothing
    /// (a struct without fields, or arrays and structs of only such).
    pub fn of(ty: &TypeDesc, abi: &Abi) -> Option<ColumnType> {
        Some(match ty {
            TypeDesc::Bool => ColumnType::Bool,
            TypeDesc::Int(int) => ColumnType::Int(IntShape::of(*int, abi)),
            TypeDesc::F32 => ColumnType::F32,
            TypeDesc::F64 => ColumnType::F64,
            TypeDesc::String => ColumnType::Str,
            TypeDesc::Blob => ColumnType::Bin,
            TypeDesc::Array { len, element } => {
                ColumnType::FixedList { len: *len, element: Box::new(ColumnType::of(element, abi)?) }
            }
            TypeDesc::Sequence { element } => ColumnType::List(Box::new(ColumnType::of(element, abi)?)),
            TypeDesc::Enum { repr, .. } => ColumnType::Enum(IntShape::of(*repr, abi)),
            TypeDesc::Struct(fields) => {
                let members = members(fields, abi, &mut UniqueNames::default());
                if members.is_empty() {
                    return None;
                }
                ColumnType::Struct(members)
            }
        })
    }

    /// The Arrow type.
    pub fn data_type(&self) -> DataType {
        match self {
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Int(shape) => shape.data_type(),
            ColumnType::F32 => DataType::Float32,
            ColumnType::F64 => DataType::Float64,
            ColumnType::Str => DataType::Utf8,
            ColumnType::Bin => DataType::Binary,
            ColumnType::FixedList { len, element } => {
                // An array longer than i32::MAX elements is refused by the reader long before
                // (each element takes at least a byte of a packet): saturate, never wrap.
                DataType::FixedSizeList(element.element_field(), i32::try_from(*len).unwrap_or(i32::MAX))
            }
            ColumnType::List(element) => DataType::List(element.element_field()),
            ColumnType::Enum(shape) => DataType::Struct(enum_fields(*shape)),
            ColumnType::Struct(members) => DataType::Struct(struct_fields(members)),
        }
    }

    /// The leaf columns Parquet stores for it: what a writer's memory grows with.
    pub fn leaf_columns(&self) -> usize {
        match self {
            ColumnType::FixedList { element, .. } | ColumnType::List(element) => element.leaf_columns(),
            ColumnType::Enum(_) => 2,
            ColumnType::Struct(members) => {
                members.iter().fold(0usize, |sum, member| sum.saturating_add(member.ty.leaf_columns()))
            }
            _ => 1,
        }
    }

    /// The Arrow field of a list's elements.
    pub fn element_field(&self) -> FieldRef {
        Arc::new(Field::new(ELEMENT, self.data_type(), true))
    }
}

/// The fields of an enumeration's struct.
pub fn enum_fields(shape: IntShape) -> Fields {
    Fields::from(vec![
        Field::new("value", shape.data_type(), true),
        Field::new("label", DataType::Utf8, true),
    ])
}

/// The fields of a struct's members, each with its [`TYPE_KEY`].
pub fn struct_fields(members: &[Member]) -> Fields {
    members.iter().map(Member::field).collect()
}

impl Member {
    /// A column that is not a payload field's (no `tracemark.type`), `source`-th of its row.
    pub(crate) fn column(name: &str, source: usize, ty: ColumnType) -> Member {
        Member { name: name.to_owned(), source, type_name: "", ty }
    }

    /// The Arrow field.
    pub fn field(&self) -> Field {
        let field = Field::new(&self.name, self.ty.data_type(), true);
        if self.type_name.is_empty() {
            return field;
        }
        field.with_metadata([(TYPE_KEY, self.type_name)])
    }
}

/// Names made unique within one struct or table: a repeated name gets `_2`, `_3`, … (one that is
/// still taken gets the next number).
#[derive(Debug, Default)]
pub struct UniqueNames {
    taken: std::collections::HashSet<String>,
}

impl UniqueNames {
    /// Names already reserved (a table's own columns).
    pub fn reserving<'a>(names: impl IntoIterator<Item = &'a str>) -> UniqueNames {
        UniqueNames { taken: names.into_iter().map(str::to_owned).collect() }
    }

    /// `name`, or the first of `name_2`, `name_3`, … not taken yet; reserved from now on.
    pub fn take(&mut self, name: &str) -> String {
        let mut candidate = name.to_owned();
        let mut suffix = 2u64;
        while self.taken.contains(&candidate) {
            candidate = format!("{name}_{suffix}");
            suffix += 1;
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

#[cfg(test)]
mod tests {
    use tracemark_format::{AbiInt, ByteOrder, EnumMapping};

    use super::*;

    const ILP32: Abi =
        Abi { byte_order: ByteOrder::Big, short: 2, int: 4, long: 4, long_long: 8, pointer: 4, size_t: 4 };

    #[test]
    fn abi_sized_integers_take_the_writers_sizes() {
        let lp64 = Abi::lp64(ByteOrder::Little);
        let long = TypeDesc::Int(IntType::Abi(AbiInt::Long));
        let pointer = TypeDesc::Int(IntType::Abi(AbiInt::Pointer));
        assert_eq!(ColumnType::of(&long, &lp64).unwrap().data_type(), DataType::Int64);
        assert_eq!(ColumnType::of(&long, &ILP32).unwrap().data_type(), DataType::Int32);
        assert_eq!(ColumnType::of(&pointer, &ILP32).unwrap().data_type(), DataType::UInt32);
        assert_eq!(
            ColumnType::of(&TypeDesc::Int(IntType::I16), &ILP32).unwrap().data_type(),
            DataType::Int16
        );
    }

    #[test]
    fn compound_types_nest() {
        let abi = Abi::lp64(ByteOrder::Little);
        let ty = TypeDesc::Struct(vec![
            tracemark_format::Field::new("comm", TypeDesc::array(16, TypeDesc::Int(IntType::U8))),
            tracemark_format::Field::new("args", TypeDesc::sequence(TypeDesc::String)),
            tracemark_format::Field::new(
                "state",
                TypeDesc::Enum {
                    repr: IntType::U8,
                    mappings: vec![EnumMapping { label: "R".into(), lo: 0, hi: 0 }],
                },
            ),
        ]);
        let DataType::Struct(fields) = ColumnType::of(&ty, &abi).unwrap().data_type() else { panic!() };
        assert!(
            matches!(fields[0].data_type(), DataType::FixedSizeList(element, 16) if element.data_type() == &DataType::UInt8)
        );
        assert!(
            matches!(fields[1].data_type(), DataType::List(element) if element.data_type() == &DataType::Utf8)
        );
        assert_eq!(
            fields[2].data_type(),
            &DataType::Struct(enum_fields(IntShape { bytes: 1, signed: false }))
        );
    }

    #[test]
    fn structs_without_fields_have_no_column() {
        let abi = Abi::lp64(ByteOrder::Little);
        let empty = TypeDesc::Struct(vec![]);
        assert_eq!(ColumnType::of(&empty, &abi), None);
        assert_eq!(ColumnType::of(&TypeDesc::array(3, empty.clone()), &abi), None);
        let outer = TypeDesc::Struct(vec![
            tracemark_format::Field::new("nothing", empty),
            tracemark_format::Field::new("x", TypeDesc::Bool),
        ]);
        let expected = Member { name: "x".into(), source: 1, type_name: "bool", ty: ColumnType::Bool };
        assert_eq!(ColumnType::of(&outer, &abi), Some(ColumnType::Struct(vec![expected])));
    }

    #[test]
    fn repeated_names_are_numbered() {
        let mut names = UniqueNames::reserving(["cpu", "ts_ns"]);
        assert_eq!(names.take("cpu"), "cpu_2");
        assert_eq!(names.take("pid"), "pid");
        assert_eq!(names.take("pid"), "pid_2");
        assert_eq!(names.take("cpu_2"), "cpu_2_2");
    }
}
