//! CTF field types (CTF 1.8 §4), attributes resolved.

/// A byte order, `native` already replaced by the trace's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first; bit fields fill each byte from its least significant bit.
    Little,
    /// Most significant byte first; bit fields fill each byte from its most significant bit.
    Big,
}

/// How an integer is meant to be displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    /// Base 2.
    Binary,
    /// Base 8.
    Octal,
    /// Base 10.
    Decimal,
    /// Base 16.
    Hexadecimal,
}

/// Text encoding of a string, or of an integer array meant as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Not text.
    None,
    /// UTF-8.
    Utf8,
    /// ASCII.
    Ascii,
}

/// `integer { ... }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntegerType {
    /// Size in bits, 1 to 64.
    pub size: u32,
    /// Alignment in bits, a power of two.
    pub align: u32,
    /// Whether the value is two's complement.
    pub signed: bool,
    /// Byte order.
    pub byte_order: ByteOrder,
    /// Display base.
    pub base: Base,
    /// Text encoding, for integer arrays meant as text (`char comm[16]`).
    pub encoding: Encoding,
    /// The clock whose value this integer gives (`map = clock.NAME.value`).
    pub clock: Option<String>,
}

/// `floating_point { ... }`: IEEE 754 binary32 or binary64 (the only ones LTTng writes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FloatType {
    /// Exponent bits.
    pub exponent_digits: u32,
    /// Mantissa bits, the implicit one included.
    pub mantissa_digits: u32,
    /// Alignment in bits.
    pub align: u32,
    /// Byte order.
    pub byte_order: ByteOrder,
}

impl FloatType {
    /// Size in bits.
    pub fn size(&self) -> u32 {
        self.exponent_digits + self.mantissa_digits
    }
}

/// `enum : INTEGER { ... }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumType {
    /// The integer carrying the value.
    pub container: IntegerType,
    /// Labels with their inclusive ranges, in declaration order; ranges may overlap.
    pub mappings: Vec<EnumMapping>,
}

impl EnumType {
    /// The first label whose range holds `value`.
    pub fn label_of(&self, value: i128) -> Option<&str> {
        self.mappings
            .iter()
            .find(|mapping| mapping.lo <= value && value <= mapping.hi)
            .map(|m| m.label.as_str())
    }
}

/// One label of an enumeration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnumMapping {
    /// The label.
    pub label: String,
    /// Lowest value, inclusive.
    pub lo: i128,
    /// Highest value, inclusive.
    pub hi: i128,
}

/// `struct { ... }`
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct StructType {
    /// Fields in order.
    pub fields: Vec<NamedField>,
    /// `align(N)`, in bits like every alignment (1 when absent); the struct's alignment is the largest of this and
    /// its fields' alignments.
    pub min_align: u32,
}

impl StructType {
    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&NamedField> {
        self.fields.iter().find(|field| field.name == name)
    }
}

/// A field of a struct, or an option of a variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedField {
    /// The name as written (LTTng prefixes its fields with `_`; see [`display_name`]).
    ///
    /// [`display_name`]: NamedField::display_name
    pub name: String,
    /// The type.
    pub ty: FieldType,
}

impl NamedField {
    /// The name without the one leading underscore TSDL writers add to avoid keywords
    /// (`_fd` is `fd`), as babeltrace2 shows it.
    pub fn display_name(&self) -> &str {
        display_name(&self.name)
    }
}

/// A TSDL name without its one leading underscore.
pub fn display_name(name: &str) -> &str {
    name.strip_prefix('_').filter(|rest| !rest.is_empty()).unwrap_or(name)
}

/// `variant <SELECTOR> { ... }`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariantType {
    /// The enumeration field whose label chooses the option, as written.
    pub selector: Vec<String>,
    /// Options, named like the selector's labels.
    pub options: Vec<NamedField>,
}

/// A field type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// An integer.
    Integer(IntegerType),
    /// A floating point number.
    Float(FloatType),
    /// An enumeration.
    Enum(EnumType),
    /// A NUL-terminated string, byte aligned.
    String(Encoding),
    /// A struct.
    Struct(StructType),
    /// A variant.
    Variant(VariantType),
    /// A fixed-length array.
    Array {
        /// The element type.
        element: Box<FieldType>,
        /// The element count.
        length: u64,
    },
    /// An array whose length another field gives.
    Sequence {
        /// The element type.
        element: Box<FieldType>,
        /// The length field, as written.
        length: Vec<String>,
    },
}

impl FieldType {
    /// Alignment in bits (CTF 1.8 §4): a struct's is the largest of its own and its fields',
    /// an array's its element's, a string's 8, a variant's that of its chosen option (1 here).
    pub fn align(&self) -> u32 {
        match self {
            FieldType::Integer(int) => int.align,
            FieldType::Float(float) => float.align,
            FieldType::Enum(enumeration) => enumeration.container.align,
            FieldType::String(_) => 8,
            FieldType::Struct(structure) => {
                structure.fields.iter().map(|field| field.ty.align()).fold(structure.min_align, u32::max)
            }
            FieldType::Variant(_) => 1,
            FieldType::Array { element, .. } | FieldType::Sequence { element, .. } => element.align(),
        }
    }
}
