//! Column builders: decoded values ([`Value`]) appended row by row, finished into Arrow arrays.
//!
//! One builder per [`ColumnType`], nested as the type nests. A value that does not have the
//! column's type (which a reader's value of a declared type always has) or is missing becomes
//! a null and is counted in [`Quality`]; nothing is made up.

use std::sync::Arc;

use arrow_array::{
    builder::{
        BinaryBuilder, BooleanBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
        Int64Builder, Int8Builder, StringBuilder, UInt16Builder, UInt32Builder, UInt64Builder, UInt8Builder,
    },
    ArrayRef, FixedSizeListArray, ListArray, StructArray,
};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, FieldRef, Fields};
use tracemark_reader::{EncodedKind, EncodedValue, Integer, Value};

use crate::schema::{enum_fields, struct_fields, ColumnType, IntShape, Member};

/// What could not be converted exactly, counted over an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quality {
    /// Strings that were not UTF-8, stored with U+FFFD in place of the bad bytes.
    pub lossy_strings: u64,
    /// Values stored as null because they were missing or not of the column's type.
    pub nulled_values: u64,
}

/// An integer column of any shape.
#[derive(Debug)]
pub(crate) enum IntColumn {
    I8(Int8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U8(UInt8Builder),
    U16(UInt16Builder),
    U32(UInt32Builder),
    U64(UInt64Builder),
}

impl IntColumn {
    fn new(shape: IntShape) -> IntColumn {
        match (shape.bytes, shape.signed) {
            (1, true) => IntColumn::I8(Int8Builder::with_capacity(0)),
            (2, true) => IntColumn::I16(Int16Builder::with_capacity(0)),
            (4, true) => IntColumn::I32(Int32Builder::with_capacity(0)),
            (_, true) => IntColumn::I64(Int64Builder::with_capacity(0)),
            (1, false) => IntColumn::U8(UInt8Builder::with_capacity(0)),
            (2, false) => IntColumn::U16(UInt16Builder::with_capacity(0)),
            (4, false) => IntColumn::U32(UInt32Builder::with_capacity(0)),
            (_, false) => IntColumn::U64(UInt64Builder::with_capacity(0)),
        }
    }

    /// Appends `value` if it fits the column's type; false (and nothing appended) otherwise.
    fn append(&mut self, value: i128) -> bool {
        macro_rules! put {
            ($builder:expr) => {
                match value.try_into() {
                    Ok(value) => {
                        $builder.append_value(value);
                        true
                    }
                    Err(_) => false,
                }
            };
        }
        match self {
            IntColumn::I8(builder) => put!(builder),
            IntColumn::I16(builder) => put!(builder),
            IntColumn::I32(builder) => put!(builder),
            IntColumn::I64(builder) => put!(builder),
            IntColumn::U8(builder) => put!(builder),
            IntColumn::U16(builder) => put!(builder),
            IntColumn::U32(builder) => put!(builder),
            IntColumn::U64(builder) => put!(builder),
        }
    }

    fn append_null(&mut self) {
        match self {
            IntColumn::I8(builder) => builder.append_null(),
            IntColumn::I16(builder) => builder.append_null(),
            IntColumn::I32(builder) => builder.append_null(),
            IntColumn::I64(builder) => builder.append_null(),
            IntColumn::U8(builder) => builder.append_null(),
            IntColumn::U16(builder) => builder.append_null(),
            IntColumn::U32(builder) => builder.append_null(),
            IntColumn::U64(builder) => builder.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            IntColumn::I8(builder) => Arc::new(builder.finish()),
            IntColumn::I16(builder) => Arc::new(builder.finish()),
            IntColumn::I32(builder) => Arc::new(builder.finish()),
            IntColumn::I64(builder) => Arc::new(builder.finish()),
            IntColumn::U8(builder) => Arc::new(builder.finish()),
            IntColumn::U16(builder) => Arc::new(builder.finish()),
            IntColumn::U32(builder) => Arc::new(builder.finish()),
            IntColumn::U64(builder) => Arc::new(builder.finish()),
        }
    }
}

/// A column's builder. Builders start empty, not at Arrow's default 1,024 values: a class of
/// 65,535 fields would otherwise take 330 MB of builders before its first row.
#[derive(Debug)]
pub(crate) enum Column {
    /// `Boolean`.
    Bool(BooleanBuilder),
    /// Integers.
    Int(IntColumn),
    /// `Float32`.
    F32(Float32Builder),
    /// `Float64`.
    F64(Float64Builder),
    /// `Utf8`.
    Str(StringBuilder),
    /// `Binary`.
    Bin(BinaryBuilder),
    /// `FixedSizeList`.
    FixedList {
        /// Elements per value.
        len: usize,
        /// The element field.
        field: FieldRef,
        /// Elements of every value so far.
        elements: Box<Column>,
        /// Which values are present.
        nulls: NullBufferBuilder,
    },
    /// `List`.
    List {
        /// The element field.
        field: FieldRef,
        /// Where each value's elements end, after a leading 0.
        offsets: Vec<i32>,
        /// Elements of every value so far.
        elements: Box<Column>,
        /// Which values are present.
        nulls: NullBufferBuilder,
    },
    /// `Struct{value, label}`.
    Enum {
        /// The struct's fields.
        fields: Fields,
        /// The integers.
        value: IntColumn,
        /// The labels.
        label: StringBuilder,
        /// Which values are present.
        nulls: NullBufferBuilder,
    },
    /// `Struct`.
    Struct {
        /// The member fields.
        fields: Fields,
        /// Where each member's value is in the decoded struct.
        sources: Vec<usize>,
        /// The members' builders.
        members: Vec<Column>,
        /// Which values are present.
        nulls: NullBufferBuilder,
    },
}

impl Column {
    /// An empty builder for `ty`.
    pub(crate) fn new(ty: &ColumnType) -> Column {
        match ty {
            ColumnType::Bool => Column::Bool(BooleanBuilder::with_capacity(0)),
            ColumnType::Int(shape) => Column::Int(IntColumn::new(*shape)),
            ColumnType::F32 => Column::F32(Float32Builder::with_capacity(0)),
            ColumnType::F64 => Column::F64(Float64Builder::with_capacity(0)),
            ColumnType::Str => Column::Str(StringBuilder::with_capacity(0, 0)),
            ColumnType::Bin => Column::Bin(BinaryBuilder::with_capacity(0, 0)),
            ColumnType::FixedList { len, element } => Column::FixedList {
                len: *len as usize,
                field: element.element_field(),
                elements: Box::new(Column::new(element)),
                nulls: NullBufferBuilder::new(0),
            },
            ColumnType::List(element) => Column::List {
                field: element.element_field(),
                offsets: vec![0],
                elements: Box::new(Column::new(element)),
                nulls: NullBufferBuilder::new(0),
            },
            ColumnType::Enum(shape) => Column::Enum {
                fields: enum_fields(*shape),
                value: IntColumn::new(*shape),
                label: StringBuilder::with_capacity(0, 0),
                nulls: NullBufferBuilder::new(0),
            },
            ColumnType::Struct(members) => Column::Struct {
                fields: struct_fields(members),
                sources: members.iter().map(|member| member.source).collect(),
                members: members.iter().map(|member: &Member| Column::new(&member.ty)).collect(),
                nulls: NullBufferBuilder::new(0),
            },
        }
    }

    /// Appends `value`, or a null when it is `None` or not of the column's type (counted in
    /// `quality`).
    pub(crate) fn append(&mut self, value: Option<&Value<'_>>, quality: &mut Quality) {
        let Some(value) = value else {
            self.append_null();
            return;
        };
        if !self.append_value(value, quality) {
            quality.nulled_values += 1;
            self.append_null();
        }
    }

    /// Appends `value` if it has the column's type; false, with nothing appended, otherwise.
    fn append_value(&mut self, value: &Value<'_>, quality: &mut Quality) -> bool {
        match (self, value) {
            (Column::Bool(builder), Value::Bool(value)) => builder.append_value(*value),
            (Column::Int(column), Value::Unsigned(value)) => return column.append(i128::from(*value)),
            (Column::Int(column), Value::Signed(value)) => return column.append(i128::from(*value)),
            (Column::F32(builder), Value::F32(value)) => builder.append_value(*value),
            (Column::F64(builder), Value::F64(value)) => builder.append_value(*value),
            (Column::Str(builder), Value::Str(bytes)) => match std::str::from_utf8(bytes) {
                Ok(text) => builder.append_value(text),
                Err(_) => {
                    quality.lossy_strings += 1;
                    builder.append_value(String::from_utf8_lossy(bytes));
                }
            },
            (Column::Bin(builder), Value::Blob(bytes)) => builder.append_value(bytes),
            (Column::FixedList { len, elements, nulls, .. }, Value::Array(values)) => {
                if values.len() != *len {
                    return false;
                }
                for element in values {
                    elements.append(Some(element), quality);
                }
                nulls.append_non_null();
            }
            (Column::List { offsets, elements, nulls, .. }, Value::Sequence(values)) => {
                // Offsets are i32: the exporter cuts batches long before (a sequence element
                // takes at least a byte of payload, §13.4), but never wraps.
                let Some(end) = offsets
                    .last()
                    .and_then(|last| i32::try_from(values.len()).ok().and_then(|len| last.checked_add(len)))
                else {
                    return false;
                };
                for element in values {
                    elements.append(Some(element), quality);
                }
                offsets.push(end);
                nulls.append_non_null();
            }
            (Column::Enum { value: column, label, nulls, .. }, Value::Enum { value, label: text }) => {
                let integer = match value {
                    Integer::Unsigned(value) => i128::from(*value),
                    Integer::Signed(value) => i128::from(*value),
                };
                if !column.append(integer) {
                    return false;
                }
                label.append_option(*text);
                nulls.append_non_null();
            }
            (Column::Struct { sources, members, nulls, .. }, Value::Struct(values)) => {
                for (member, source) in members.iter_mut().zip(sources.iter()) {
                    let value = values.get(*source).map(|(_, value)| value);
                    if value.is_none() {
                        quality.nulled_values += 1;
                    }
                    member.append(value, quality);
                }
                nulls.append_non_null();
            }
            _ => return false,
        }
        true
    }

    /// Appends a list of `elements`, each appended as it comes: a list of many never exists
    /// whole as values (a trace's 300,000 environment entries).
    pub(crate) fn append_list<'v>(
        &mut self,
        elements: impl Iterator<Item = Value<'v>>,
        quality: &mut Quality,
    ) {
        let Column::List { offsets, elements: column, nulls, .. } = self else {
            quality.nulled_values += 1;
            self.append_null();
            return;
        };
        let last = offsets.last().copied().unwrap_or(0);
        let mut end = last;
        for element in elements {
            // Past i32::MAX elements (which no metadata list approaches), the rest is dropped.
            let Some(next) = end.checked_add(1) else { break };
            column.append(Some(&element), quality);
            end = next;
        }
        offsets.push(end);
        nulls.append_non_null();
    }

    /// Appends `value`, read element by element and member by member as it is encoded: a
    /// compound value never exists whole in memory, only in the builders (a record of nested
    /// arrays of one-byte elements decoded as a [`Value`] tree takes tens of bytes per byte).
    pub(crate) fn append_encoded(&mut self, value: &EncodedValue<'_>, quality: &mut Quality) {
        match (self, value.kind()) {
            (column, EncodedKind::Scalar) => {
                let decoded = value.decode();
                if decoded.is_none() {
                    quality.nulled_values += 1;
                }
                column.append(decoded.as_ref(), quality);
            }
            (Column::FixedList { len, elements, nulls, .. }, EncodedKind::Array) => {
                let mut appended = 0;
                for element in value.elements().into_iter().flatten().take(*len) {
                    elements.append_encoded(&element, quality);
                    appended += 1;
                }
                // Elements that did not decode are null: the list keeps its length.
                for _ in appended..*len {
                    quality.nulled_values += 1;
                    elements.append_null();
                }
                nulls.append_non_null();
            }
            (Column::List { offsets, elements, nulls, .. }, EncodedKind::Sequence) => {
                let last = offsets.last().copied().unwrap_or(0);
                let room = usize::try_from(i32::MAX - last).unwrap_or(0);
                if value.len().is_none_or(|len| len > room) {
                    quality.nulled_values += 1;
                    offsets.push(last);
                    nulls.append_null();
                    return;
                }
                let mut appended = 0i32;
                for element in value.elements().into_iter().flatten() {
                    elements.append_encoded(&element, quality);
                    appended += 1;
                }
                offsets.push(last + appended);
                nulls.append_non_null();
            }
            (Column::Struct { sources, members, nulls, .. }, EncodedKind::Struct) => {
                let mut next = 0;
                for (position, (_, member)) in value.members().into_iter().flatten().enumerate() {
                    let (Some(column), Some(source)) = (members.get_mut(next), sources.get(next)) else {
                        break;
                    };
                    if *source == position {
                        column.append_encoded(&member, quality);
                        next += 1;
                    }
                }
                for column in members.iter_mut().skip(next) {
                    quality.nulled_values += 1;
                    column.append_null();
                }
                nulls.append_non_null();
            }
            (column, _) => {
                quality.nulled_values += 1;
                column.append_null();
            }
        }
    }

    /// Appends a null (and, below a fixed-size list or a struct, the nulls that keep its
    /// children aligned).
    pub(crate) fn append_null(&mut self) {
        match self {
            Column::Bool(builder) => builder.append_null(),
            Column::Int(column) => column.append_null(),
            Column::F32(builder) => builder.append_null(),
            Column::F64(builder) => builder.append_null(),
            Column::Str(builder) => builder.append_null(),
            Column::Bin(builder) => builder.append_null(),
            Column::FixedList { len, elements, nulls, .. } => {
                for _ in 0..*len {
                    elements.append_null();
                }
                nulls.append_null();
            }
            Column::List { offsets, nulls, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                nulls.append_null();
            }
            Column::Enum { value, label, nulls, .. } => {
                value.append_null();
                label.append_null();
                nulls.append_null();
            }
            Column::Struct { members, nulls, .. } => {
                for member in members {
                    member.append_null();
                }
                nulls.append_null();
            }
        }
    }

    /// The values appended since the last call, as an array; the builder is empty again.
    pub(crate) fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Column::Bool(builder) => Arc::new(builder.finish()),
            Column::Int(column) => column.finish(),
            Column::F32(builder) => Arc::new(builder.finish()),
            Column::F64(builder) => Arc::new(builder.finish()),
            Column::Str(builder) => Arc::new(builder.finish()),
            Column::Bin(builder) => Arc::new(builder.finish()),
            Column::FixedList { len, field, elements, nulls } => {
                let size =
                    i32::try_from(*len).map_err(|_| ArrowError::ComputeError("array too long".into()))?;
                Arc::new(FixedSizeListArray::try_new(
                    field.clone(),
                    size,
                    elements.finish()?,
                    nulls.finish(),
                )?)
            }
            Column::List { field, offsets, elements, nulls } => {
                let ends = std::mem::replace(offsets, vec![0]);
                let offsets = OffsetBuffer::new(ScalarBuffer::from(ends));
                Arc::new(ListArray::try_new(field.clone(), offsets, elements.finish()?, nulls.finish())?)
            }
            Column::Enum { fields, value, label, nulls } => {
                let children = vec![value.finish(), Arc::new(label.finish()) as ArrayRef];
                Arc::new(StructArray::try_new(fields.clone(), children, nulls.finish())?)
            }
            Column::Struct { fields, members, nulls, .. } => {
                let children = members.iter_mut().map(Column::finish).collect::<Result<Vec<_>, _>>()?;
                Arc::new(StructArray::try_new(fields.clone(), children, nulls.finish())?)
            }
        })
    }
}
