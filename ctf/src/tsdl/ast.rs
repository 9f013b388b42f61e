//! The syntax tree of a TSDL metadata text (CTF 1.8 §7), as written: names not yet resolved,
//! attributes not yet checked. Every node that a later check can reject keeps the byte offset
//! where it starts, so that check can name a line and column.

use std::fmt;

/// A byte offset into the metadata text.
pub type Offset = usize;

/// A parsed metadata text: its top-level declarations in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// Declarations, in text order (later ones may use names the earlier ones declare).
    pub items: Vec<Declaration>,
}

/// A declaration at the top level, in a block, or in a struct or variant body.
#[derive(Debug, Clone, PartialEq)]
pub enum Declaration {
    /// `typealias TYPE := NAME;`: `NAME` (possibly several words) now means `TYPE`.
    TypeAlias {
        /// The type named.
        ty: TypeSpec,
        /// The new name, words joined by one space (`unsigned long`).
        name: String,
        /// Where the declaration starts.
        at: Offset,
    },
    /// `typedef TYPE NAME[...], ...;`
    Typedef {
        /// The base type.
        ty: TypeSpec,
        /// The names declared, each with its array dimensions.
        names: Vec<Declarator>,
        /// Where the declaration starts.
        at: Offset,
    },
    /// `struct NAME {...};`, `enum NAME : ... {...};`, `variant NAME {...};`: a named type
    /// defined without declaring a field.
    TypeDefinition(TypeSpec),
    /// `trace`, `env`, `clock`, `stream`, `event` or `callsite` `{ ... };`.
    Block(Block),
    /// `TYPE NAME[...], ...;`: fields of a struct or variant.
    Fields {
        /// The type of every declarator.
        ty: TypeSpec,
        /// The fields declared.
        names: Vec<Declarator>,
    },
}

/// The kinds of top-level block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// `trace { ... }`
    Trace,
    /// `env { ... }`
    Env,
    /// `clock { ... }`
    Clock,
    /// `stream { ... }`
    Stream,
    /// `event { ... }`
    Event,
    /// `callsite { ... }` (LTTng's source locations; informative)
    Callsite,
}

impl BlockKind {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            BlockKind::Trace => "trace",
            BlockKind::Env => "env",
            BlockKind::Clock => "clock",
            BlockKind::Stream => "stream",
            BlockKind::Event => "event",
            BlockKind::Callsite => "callsite",
        }
    }

    pub(crate) fn from_keyword(word: &str) -> Option<BlockKind> {
        Some(match word {
            "trace" => BlockKind::Trace,
            "env" => BlockKind::Env,
            "clock" => BlockKind::Clock,
            "stream" => BlockKind::Stream,
            "event" => BlockKind::Event,
            "callsite" => BlockKind::Callsite,
            _ => return None,
        })
    }
}

/// A top-level block: attributes, type assignments and local declarations.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Which block.
    pub kind: BlockKind,
    /// Its entries in order.
    pub entries: Vec<BlockEntry>,
    /// Where the keyword starts.
    pub at: Offset,
}

/// One entry of a block.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockEntry {
    /// `name = value;` (`name` may be dotted).
    Attribute(Attribute),
    /// `path := TYPE;`, e.g. `packet.header := struct { ... };`.
    TypeAssignment {
        /// The dotted path, e.g. `["packet", "header"]`.
        path: Vec<String>,
        /// The type assigned.
        ty: TypeSpec,
        /// Where the path starts.
        at: Offset,
    },
    /// A typealias, typedef or named type definition local to the block.
    Declaration(Declaration),
}

/// `name = value;`
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The dotted name, e.g. `["byte_order"]`.
    pub name: Vec<String>,
    /// The value.
    pub value: Value,
    /// Where the name starts.
    pub at: Offset,
}

impl Attribute {
    /// The name with its dots, for messages.
    pub fn dotted_name(&self) -> String {
        self.name.join(".")
    }
}

/// The right-hand side of an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer literal, sign applied (values up to `u64::MAX` and down to `-2^63` fit).
    Integer(i128),
    /// A string literal, escapes resolved.
    String(String),
    /// An identifier or dotted path: `le`, `true`, `clock.monotonic.value`.
    Path(Vec<String>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Integer(value) => write!(f, "{value}"),
            Value::String(text) => write!(f, "{text:?}"),
            Value::Path(path) => write!(f, "{}", path.join(".")),
        }
    }
}

/// A type as written.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSpec {
    /// What kind of type.
    pub kind: TypeKind,
    /// Where it starts.
    pub at: Offset,
}

/// The kinds of type specifier.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// `integer { ... }`
    Integer(Vec<Attribute>),
    /// `floating_point { ... }`
    FloatingPoint(Vec<Attribute>),
    /// `string` or `string { ... }`
    String(Vec<Attribute>),
    /// `struct [NAME] [{ ... }] [align(N)]`
    Struct {
        /// The tag name, if any.
        name: Option<String>,
        /// The body; `None` refers to a struct defined earlier by name.
        body: Option<Vec<Declaration>>,
        /// `align(N)`, in bytes.
        align: Option<u64>,
    },
    /// `variant [NAME] [<TAG>] [{ ... }]`
    Variant {
        /// The tag name, if any.
        name: Option<String>,
        /// The selector path, e.g. `["id"]`.
        selector: Option<Vec<String>>,
        /// The options; `None` refers to a variant defined earlier by name.
        body: Option<Vec<Declaration>>,
    },
    /// `enum [NAME] [: TYPE] [{ ... }]`
    Enum {
        /// The tag name, if any.
        name: Option<String>,
        /// The integer type under it (`int` when absent, CTF 1.8 §4.1.8).
        container: Option<Box<TypeSpec>>,
        /// The labels; `None` refers to an enum defined earlier by name.
        body: Option<Vec<Enumerator>>,
    },
    /// A name declared by `typealias` or `typedef`, words joined by one space.
    Named(String),
}

/// A declared name with its dimensions: `name`, `name[16]`, `name[len_field]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declarator {
    /// The name.
    pub name: String,
    /// Dimensions, outermost first.
    pub dimensions: Vec<Dimension>,
    /// Where the name starts.
    pub at: Offset,
}

/// One `[...]` of a declarator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dimension {
    /// A fixed length: a static array.
    Fixed(u64),
    /// A length read from another field: a sequence.
    Field(Vec<String>),
}

/// One label of an enumeration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumerator {
    /// The label.
    pub label: String,
    /// `= V` or `= LO ... HI`; `None` continues from the previous label.
    pub range: Option<(i128, i128)>,
    /// Where the label starts.
    pub at: Offset,
}
