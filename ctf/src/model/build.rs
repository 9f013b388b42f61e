//! From the syntax tree to a [`TraceClass`]: names resolved in their scopes, attributes checked.
//!
//! Names are scoped: a `typealias`, `typedef` or named struct/variant/enum declared in a block
//! or a struct body is visible there and in what it encloses, after its declaration.
//!
//! Type names expand: a type used twice is copied twice. So that a few lines of hostile
//! metadata cannot expand into millions of fields (`typealias struct { T a; T b; } := U;`
//! doubles each time), the types of a trace may hold at most [`MAX_FIELDS_PER_BYTE`] fields per
//! byte of metadata text (plus [`MIN_FIELD_BUDGET`]), and nest at most [`MAX_NESTING`] deep.

use std::collections::HashMap;

use super::*;
use crate::tsdl::{
    Attribute, Block, BlockEntry, BlockKind, Declaration, Declarator, Dimension, Metadata, Offset, TypeKind,
    TypeSpec, Value, MAX_NESTING,
};

/// Fields (type nodes) the types of a trace may expand to, per byte of metadata text.
pub const MAX_FIELDS_PER_BYTE: usize = 4;
/// Fields any metadata may expand to, however short.
pub const MIN_FIELD_BUDGET: usize = 1 << 16;

pub(super) fn trace_class(text: &str, metadata: &Metadata) -> Result<TraceClass, TsdlError> {
    let mut builder = Builder {
        text,
        native: ByteOrder::Little,
        budget: MIN_FIELD_BUDGET.saturating_add(text.len().saturating_mul(MAX_FIELDS_PER_BYTE)),
        scopes: vec![Names::default()],
    };
    builder.native = native_byte_order(text, metadata)?;
    let mut trace = TraceClass {
        version: (1, 8),
        byte_order: builder.native,
        uuid: None,
        packet_header: None,
        env: Vec::new(),
        clocks: Vec::new(),
        streams: Vec::new(),
        events: Vec::new(),
    };
    let mut seen_trace = false;
    for item in &metadata.items {
        match item {
            Declaration::Block(block) => match block.kind {
                BlockKind::Trace => {
                    if seen_trace {
                        return Err(builder.error(block.at, "a second `trace` block"));
                    }
                    seen_trace = true;
                    builder.trace_block(block, &mut trace)?;
                }
                BlockKind::Env => builder.env_block(block, &mut trace)?,
                BlockKind::Clock => {
                    let clock = builder.clock_block(block)?;
                    if trace.clock(&clock.name).is_some() {
                        return Err(builder.error(block.at, format!("a second clock named `{}`", clock.name)));
                    }
                    trace.clocks.push(clock);
                }
                BlockKind::Stream => {
                    let stream = builder.stream_block(block)?;
                    if trace.stream(stream.id).is_some() {
                        return Err(
                            builder.error(block.at, format!("a second stream class with ID {}", stream.id))
                        );
                    }
                    trace.streams.push(stream);
                }
                BlockKind::Event => {
                    let event = builder.event_block(block)?;
                    trace.events.push(event);
                }
                // Source locations: informative, not needed to read events.
                BlockKind::Callsite => {}
            },
            declaration => builder.declaration(declaration, 0)?,
        }
    }
    if !seen_trace {
        return Err(builder.error(text.len(), "no `trace` block"));
    }
    builder.check_references(&trace)?;
    Ok(trace)
}

/// `byte_order` of the trace block, which `native` means everywhere, even in types declared
/// before the trace block (as LTTng declares its aliases).
fn native_byte_order(text: &str, metadata: &Metadata) -> Result<ByteOrder, TsdlError> {
    let trace = metadata.items.iter().find_map(|item| match item {
        Declaration::Block(block) if block.kind == BlockKind::Trace => Some(block),
        _ => None,
    });
    let Some(trace) = trace else { return Err(TsdlError::at(text, text.len(), "no `trace` block")) };
    let attribute = trace.entries.iter().find_map(|entry| match entry {
        BlockEntry::Attribute(attribute) if attribute.name == ["byte_order"] => Some(attribute),
        _ => None,
    });
    let Some(attribute) = attribute else {
        return Err(TsdlError::at(text, trace.at, "the `trace` block declares no `byte_order`"));
    };
    match word(&attribute.value) {
        Some("le" | "little") => Ok(ByteOrder::Little),
        Some("be" | "big" | "network") => Ok(ByteOrder::Big),
        _ => Err(TsdlError::at(
            text,
            attribute.at,
            format!("`byte_order` must be `le` or `be`, not `{}`", attribute.value),
        )),
    }
}

/// A type with the size of its expansion.
#[derive(Clone)]
struct Built {
    ty: FieldType,
    /// Type nodes in `ty`.
    nodes: usize,
    /// Nesting depth of `ty` (an integer is 0, a struct of integers 1).
    depth: u32,
}

#[derive(Default)]
struct Names {
    aliases: HashMap<String, Built>,
    structs: HashMap<String, Built>,
    variants: HashMap<String, Built>,
    enums: HashMap<String, Built>,
}

struct Builder<'t> {
    text: &'t str,
    native: ByteOrder,
    /// Type nodes still allowed.
    budget: usize,
    /// Innermost last.
    scopes: Vec<Names>,
}

impl Builder<'_> {
    fn error(&self, at: Offset, message: impl Into<String>) -> TsdlError {
        TsdlError::at(self.text, at, message)
    }

    /// Accounts for `nodes` new type nodes making a type `depth` deep.
    fn charge(&mut self, nodes: usize, depth: u32, at: Offset) -> Result<(), TsdlError> {
        if depth > MAX_NESTING {
            return Err(self.error(at, format!("types nested deeper than {MAX_NESTING} levels")));
        }
        self.budget = self.budget.checked_sub(nodes).ok_or_else(|| {
            self.error(
                at,
                format!("the types expand to more than {MAX_FIELDS_PER_BYTE} fields per byte of metadata"),
            )
        })?;
        Ok(())
    }

    fn lookup<'a>(
        &'a self,
        pick: impl Fn(&'a Names) -> &'a HashMap<String, Built>,
        name: &str,
    ) -> Option<&'a Built> {
        self.scopes.iter().rev().find_map(|names| pick(names).get(name))
    }

    fn names(&mut self) -> &mut Names {
        // `scopes` always holds the global scope.
        self.scopes.last_mut().expect("the global scope")
    }

    /// A typealias, typedef or named type definition, declared in the innermost scope.
    fn declaration(&mut self, declaration: &Declaration, depth: u32) -> Result<(), TsdlError> {
        match declaration {
            Declaration::TypeAlias { ty, name, .. } => {
                let built = self.ty(ty, depth)?;
                self.names().aliases.insert(name.clone(), built);
            }
            Declaration::Typedef { ty, names, .. } => {
                let base = self.ty(ty, depth)?;
                for (nth, declarator) in names.iter().enumerate() {
                    if nth > 0 {
                        self.charge(base.nodes, base.depth, declarator.at)?;
                    }
                    let built = self.with_dimensions(base.clone(), declarator)?;
                    self.names().aliases.insert(declarator.name.clone(), built);
                }
            }
            Declaration::TypeDefinition(ty) => {
                self.ty(ty, depth)?;
            }
            Declaration::Fields { names, .. } => {
                let at = names.first().map_or(0, |name| name.at);
                return Err(self.error(at, "a field outside a struct or variant"));
            }
            Declaration::Block(block) => return Err(self.error(block.at, "a block inside a type")),
        }
        Ok(())
    }

    /// Builds a type; a named struct, variant or enum with a body is declared in the innermost
    /// scope as a side effect.
    fn ty(&mut self, spec: &TypeSpec, depth: u32) -> Result<Built, TsdlError> {
        let (built, new_nodes) = self.ty_uncharged(spec, depth)?;
        self.charge(new_nodes, built.depth, spec.at)?;
        Ok(built)
    }

    /// A type and how many nodes building it made beyond those its parts were charged for:
    /// one for a new node, all of them for a copy of a named type.
    fn ty_uncharged(&mut self, spec: &TypeSpec, depth: u32) -> Result<(Built, usize), TsdlError> {
        let copy = |built: &Built| (built.clone(), built.nodes);
        Ok(match &spec.kind {
            TypeKind::Integer(attributes) => {
                (leaf(FieldType::Integer(self.integer(attributes, spec.at)?)), 1)
            }
            TypeKind::FloatingPoint(attributes) => {
                (leaf(FieldType::Float(self.float(attributes, spec.at)?)), 1)
            }
            TypeKind::String(attributes) => {
                let mut encoding = Encoding::Utf8;
                for attribute in attributes {
                    if attribute.name == ["encoding"] {
                        encoding = self.encoding(attribute)?;
                    }
                }
                (leaf(FieldType::String(encoding)), 1)
            }
            TypeKind::Named(name) => match self.lookup(|names| &names.aliases, name) {
                Some(built) => copy(built),
                None => return Err(self.error(spec.at, format!("unknown type `{name}`"))),
            },
            TypeKind::Struct { name, body: None, .. } => {
                let name = name.as_deref().unwrap_or_default();
                match self.lookup(|names| &names.structs, name) {
                    Some(built) => copy(built),
                    None => return Err(self.error(spec.at, format!("unknown struct `{name}`"))),
                }
            }
            TypeKind::Struct { name, body: Some(body), align } => {
                // In bits, like an integer's `align` (LTTng's `align(8)` headers are byte aligned).
                let min_align = match align {
                    None => 1,
                    Some(bits) => {
                        match u32::try_from(*bits).ok().filter(|b| b.is_power_of_two() && *b <= 1 << 24) {
                            Some(bits) => bits,
                            None => {
                                return Err(self
                                    .error(spec.at, format!("`align({bits})` is not a power of two bits")))
                            }
                        }
                    }
                };
                let (fields, nodes, inner) = self.members(body, depth)?;
                let built = Built {
                    ty: FieldType::Struct(StructType { fields, min_align }),
                    nodes: nodes + 1,
                    depth: inner + 1,
                };
                if let Some(name) = name {
                    self.names().structs.insert(name.clone(), built.clone());
                }
                (built, 1)
            }
            TypeKind::Variant { name, selector, body: None } => {
                let name = name.as_deref().unwrap_or_default();
                let Some(built) = self.lookup(|names| &names.variants, name) else {
                    return Err(self.error(spec.at, format!("unknown variant `{name}`")));
                };
                let (mut built, nodes) = copy(built);
                // A named variant's selector may be given where it is used.
                if let (Some(selector), FieldType::Variant(variant)) = (selector, &mut built.ty) {
                    variant.selector = selector.clone();
                }
                (built, nodes)
            }
            TypeKind::Variant { name, selector, body: Some(body) } => {
                let (options, nodes, inner) = self.members(body, depth)?;
                let selector = selector.clone().unwrap_or_default();
                let built = Built {
                    ty: FieldType::Variant(VariantType { selector, options }),
                    nodes: nodes + 1,
                    depth: inner + 1,
                };
                if let Some(name) = name {
                    self.names().variants.insert(name.clone(), built.clone());
                }
                (built, 1)
            }
            TypeKind::Enum { name, body: None, .. } => {
                let name = name.as_deref().unwrap_or_default();
                match self.lookup(|names| &names.enums, name) {
                    Some(built) => copy(built),
                    None => return Err(self.error(spec.at, format!("unknown enum `{name}`"))),
                }
            }
            TypeKind::Enum { name, container, body: Some(body) } => {
                let container = match container {
                    Some(container) => self.ty(container, depth + 1)?,
                    None => match self.lookup(|names| &names.aliases, "int") {
                        Some(built) => built.clone(),
                        None => {
                            return Err(self.error(spec.at, "an enum without a type needs `int` declared"))
                        }
                    },
                };
                let FieldType::Integer(container) = container.ty else {
                    return Err(self.error(spec.at, "an enum's type must be an integer"));
                };
                let mut mappings = Vec::with_capacity(body.len());
                let mut next = 0i128;
                for enumerator in body {
                    let (lo, hi) = enumerator.range.unwrap_or((next, next));
                    if lo > hi {
                        return Err(self.error(enumerator.at, format!("the range {lo} ... {hi} is empty")));
                    }
                    next = hi.saturating_add(1);
                    mappings.push(EnumMapping { label: enumerator.label.clone(), lo, hi });
                }
                let built = leaf(FieldType::Enum(EnumType { container, mappings }));
                if let Some(name) = name {
                    self.names().enums.insert(name.clone(), built.clone());
                }
                (built, 1)
            }
        })
    }

    /// The fields of a struct or the options of a variant, with their node count and depth.
    fn members(
        &mut self,
        body: &[Declaration],
        depth: u32,
    ) -> Result<(Vec<NamedField>, usize, u32), TsdlError> {
        self.scopes.push(Names::default());
        let result = self.members_in_scope(body, depth + 1);
        self.scopes.pop();
        result
    }

    fn members_in_scope(
        &mut self,
        body: &[Declaration],
        depth: u32,
    ) -> Result<(Vec<NamedField>, usize, u32), TsdlError> {
        let mut fields: Vec<NamedField> = Vec::new();
        let (mut nodes, mut inner) = (0usize, 0u32);
        for member in body {
            let Declaration::Fields { ty, names } = member else {
                self.declaration(member, depth)?;
                continue;
            };
            let base = self.ty(ty, depth)?;
            for (nth, declarator) in names.iter().enumerate() {
                if nth > 0 {
                    self.charge(base.nodes, base.depth, declarator.at)?;
                }
                if fields.iter().any(|field| field.name == declarator.name) {
                    return Err(
                        self.error(declarator.at, format!("a second field named `{}`", declarator.name))
                    );
                }
                let built = self.with_dimensions(base.clone(), declarator)?;
                nodes = nodes.saturating_add(built.nodes);
                inner = inner.max(built.depth);
                fields.push(NamedField { name: declarator.name.clone(), ty: built.ty });
            }
        }
        Ok((fields, nodes, inner))
    }

    /// `name[2][n]`: an array of 2 sequences of `n`.
    fn with_dimensions(&mut self, base: Built, declarator: &Declarator) -> Result<Built, TsdlError> {
        let mut built = base;
        for dimension in declarator.dimensions.iter().rev() {
            let element = Box::new(built.ty);
            let ty = match dimension {
                Dimension::Fixed(length) => FieldType::Array { element, length: *length },
                Dimension::Field(path) => FieldType::Sequence { element, length: path.clone() },
            };
            built = Built { ty, nodes: built.nodes + 1, depth: built.depth + 1 };
        }
        self.charge(declarator.dimensions.len(), built.depth, declarator.at)?;
        Ok(built)
    }

    fn integer(&self, attributes: &[Attribute], at: Offset) -> Result<IntegerType, TsdlError> {
        let mut size = None;
        let mut align = None;
        let mut int = IntegerType {
            size: 0,
            align: 0,
            signed: false,
            byte_order: self.native,
            base: Base::Decimal,
            encoding: Encoding::None,
            clock: None,
        };
        for attribute in attributes {
            match attribute.name.join(".").as_str() {
                "size" => size = Some(self.number(attribute, 1, 64)? as u32),
                "align" => align = Some(self.alignment(attribute)?),
                "signed" => int.signed = self.boolean(attribute)?,
                "byte_order" => int.byte_order = self.byte_order(attribute)?,
                "base" => int.base = self.base(attribute)?,
                "encoding" => int.encoding = self.encoding(attribute)?,
                "map" => int.clock = Some(self.clock_map(attribute)?),
                _ => {}
            }
        }
        let Some(size) = size else { return Err(self.error(at, "an integer without `size`")) };
        int.size = size;
        // CTF 1.8 §4.1.5: byte aligned when whole bytes, bit aligned otherwise.
        int.align = align.unwrap_or(if size % 8 == 0 { 8 } else { 1 });
        Ok(int)
    }

    fn float(&self, attributes: &[Attribute], at: Offset) -> Result<FloatType, TsdlError> {
        let (mut exponent, mut mantissa) = (None, None);
        let mut float =
            FloatType { exponent_digits: 0, mantissa_digits: 0, align: 8, byte_order: self.native };
        for attribute in attributes {
            match attribute.name.join(".").as_str() {
                "exp_dig" => exponent = Some(self.number(attribute, 1, 64)? as u32),
                "mant_dig" => mantissa = Some(self.number(attribute, 1, 64)? as u32),
                "align" => float.align = self.alignment(attribute)?,
                "byte_order" => float.byte_order = self.byte_order(attribute)?,
                _ => {}
            }
        }
        match (exponent, mantissa) {
            (Some(8), Some(24)) | (Some(11), Some(53)) => {
                (float.exponent_digits, float.mantissa_digits) = (exponent.unwrap_or(0), mantissa.unwrap_or(0));
                Ok(float)
            }
            (Some(exponent), Some(mantissa)) => Err(self.error(
                at,
                format!("a floating point type of {exponent} exponent and {mantissa} mantissa bits (only IEEE 754 binary32 and binary64 are read)"),
            )),
            _ => Err(self.error(at, "a floating point type without `exp_dig` and `mant_dig`")),
        }
    }

    fn number(&self, attribute: &Attribute, min: u64, max: u64) -> Result<u64, TsdlError> {
        match attribute.value {
            Value::Integer(value) if (i128::from(min)..=i128::from(max)).contains(&value) => Ok(value as u64),
            _ => Err(self.error(
                attribute.at,
                format!(
                    "`{}` must be an integer from {min} to {max}, not `{}`",
                    attribute.dotted_name(),
                    attribute.value
                ),
            )),
        }
    }

    fn alignment(&self, attribute: &Attribute) -> Result<u32, TsdlError> {
        match attribute.value {
            Value::Integer(value) if value > 0 && value <= 1 << 24 && (value as u64).is_power_of_two() => {
                Ok(value as u32)
            }
            _ => Err(self.error(
                attribute.at,
                format!("`align` must be a power of two bits, not `{}`", attribute.value),
            )),
        }
    }

    fn boolean(&self, attribute: &Attribute) -> Result<bool, TsdlError> {
        match (&attribute.value, word(&attribute.value)) {
            (Value::Integer(1), _) => Ok(true),
            (Value::Integer(0), _) => Ok(false),
            (_, Some(word)) if word.eq_ignore_ascii_case("true") => Ok(true),
            (_, Some(word)) if word.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.error(
                attribute.at,
                format!("`{}` must be true or false, not `{}`", attribute.dotted_name(), attribute.value),
            )),
        }
    }

    fn byte_order(&self, attribute: &Attribute) -> Result<ByteOrder, TsdlError> {
        match word(&attribute.value) {
            Some("native") => Ok(self.native),
            Some("le" | "little") => Ok(ByteOrder::Little),
            Some("be" | "big" | "network") => Ok(ByteOrder::Big),
            _ => Err(self.error(
                attribute.at,
                format!("`byte_order` must be `native`, `le` or `be`, not `{}`", attribute.value),
            )),
        }
    }

    fn base(&self, attribute: &Attribute) -> Result<Base, TsdlError> {
        let base = match (&attribute.value, word(&attribute.value)) {
            (Value::Integer(2), _) | (_, Some("b" | "binary")) => Base::Binary,
            (Value::Integer(8), _) | (_, Some("o" | "oct" | "octal")) => Base::Octal,
            (Value::Integer(10), _) | (_, Some("d" | "i" | "u" | "dec" | "decimal")) => Base::Decimal,
            (Value::Integer(16), _) | (_, Some("x" | "X" | "p" | "hex" | "hexadecimal")) => Base::Hexadecimal,
            _ => {
                return Err(self.error(
                    attribute.at,
                    format!("`base` must be 2, 8, 10 or 16, not `{}`", attribute.value),
                ))
            }
        };
        Ok(base)
    }

    fn encoding(&self, attribute: &Attribute) -> Result<Encoding, TsdlError> {
        match word(&attribute.value) {
            Some("none") => Ok(Encoding::None),
            Some("UTF8" | "utf8") => Ok(Encoding::Utf8),
            Some("ASCII" | "ascii") => Ok(Encoding::Ascii),
            _ => Err(self.error(
                attribute.at,
                format!("`encoding` must be `none`, `UTF8` or `ASCII`, not `{}`", attribute.value),
            )),
        }
    }

    /// `map = clock.NAME.value` → `NAME`.
    fn clock_map(&self, attribute: &Attribute) -> Result<String, TsdlError> {
        match &attribute.value {
            Value::Path(path) if path.len() == 3 && path[0] == "clock" && path[2] == "value" => {
                Ok(path[1].clone())
            }
            _ => Err(self
                .error(attribute.at, format!("`map` must be `clock.NAME.value`, not `{}`", attribute.value))),
        }
    }

    fn text_value(&self, attribute: &Attribute) -> Result<String, TsdlError> {
        match &attribute.value {
            Value::String(text) => Ok(text.clone()),
            Value::Path(path) => Ok(path.join(".")),
            Value::Integer(_) => Err(self.error(
                attribute.at,
                format!("`{}` must be a string, not `{}`", attribute.dotted_name(), attribute.value),
            )),
        }
    }

    fn uuid(&self, attribute: &Attribute) -> Result<[u8; 16], TsdlError> {
        let parsed = match &attribute.value {
            Value::String(text) => parse_uuid(text),
            _ => None,
        };
        parsed.ok_or_else(|| {
            self.error(attribute.at, format!("`uuid` must be a UUID string, not `{}`", attribute.value))
        })
    }

    /// The struct assigned to a scope (`packet.header := struct { ... };`).
    fn scope_struct(&mut self, ty: &TypeSpec, what: &str) -> Result<StructType, TsdlError> {
        match self.ty(ty, 0)?.ty {
            FieldType::Struct(structure) => Ok(structure),
            _ => Err(self.error(ty.at, format!("`{what}` must be a struct"))),
        }
    }

    /// Runs `each` on a block's entries in a scope of its own: attributes and type assignments
    /// go to `each`, local declarations to the scope.
    fn block_entries(
        &mut self,
        block: &Block,
        mut each: impl FnMut(&mut Self, &BlockEntry) -> Result<(), TsdlError>,
    ) -> Result<(), TsdlError> {
        self.scopes.push(Names::default());
        let result = block.entries.iter().try_for_each(|entry| match entry {
            BlockEntry::Declaration(declaration) => self.declaration(declaration, 0),
            entry => each(self, entry),
        });
        self.scopes.pop();
        result
    }

    fn trace_block(&mut self, block: &Block, trace: &mut TraceClass) -> Result<(), TsdlError> {
        let (mut major, mut minor) = (None, None);
        self.block_entries(block, |this, entry| {
            match entry {
                BlockEntry::Attribute(attribute) => match attribute.name.join(".").as_str() {
                    "major" => major = Some(this.number(attribute, 0, u64::MAX)?),
                    "minor" => minor = Some(this.number(attribute, 0, u64::MAX)?),
                    "uuid" => trace.uuid = Some(this.uuid(attribute)?),
                    _ => {}
                },
                BlockEntry::TypeAssignment { path, ty, .. } if path.join(".") == "packet.header" => {
                    trace.packet_header = Some(this.scope_struct(ty, "packet.header")?);
                }
                BlockEntry::TypeAssignment { path, at, .. } => {
                    return Err(
                        this.error(*at, format!("`{}` is not a scope of the trace block", path.join(".")))
                    );
                }
                BlockEntry::Declaration(_) => {}
            }
            Ok(())
        })?;
        match (major, minor) {
            (Some(1), Some(8)) => {
                trace.version = (1, 8);
                Ok(())
            }
            (Some(major), Some(minor)) => {
                Err(self.error(block.at, format!("CTF {major}.{minor}: only CTF 1.8 metadata is read")))
            }
            _ => Err(self.error(block.at, "the `trace` block declares no `major` and `minor`")),
        }
    }

    fn env_block(&mut self, block: &Block, trace: &mut TraceClass) -> Result<(), TsdlError> {
        self.block_entries(block, |_, entry| {
            if let BlockEntry::Attribute(attribute) = entry {
                let value = match &attribute.value {
                    Value::Integer(value) => EnvValue::Integer(*value),
                    Value::String(text) => EnvValue::Text(text.clone()),
                    Value::Path(path) => EnvValue::Text(path.join(".")),
                };
                trace.env.push((attribute.dotted_name(), value));
            }
            Ok(())
        })
    }

    fn clock_block(&mut self, block: &Block) -> Result<Clock, TsdlError> {
        let mut clock = Clock {
            name: String::new(),
            uuid: None,
            description: String::new(),
            frequency: 1_000_000_000,
            offset_seconds: 0,
            offset_cycles: 0,
            precision: 0,
            absolute: false,
        };
        let mut named = false;
        self.block_entries(block, |this, entry| {
            if let BlockEntry::Attribute(attribute) = entry {
                match attribute.name.join(".").as_str() {
                    "name" => {
                        clock.name = this.text_value(attribute)?;
                        named = true;
                    }
                    "uuid" => clock.uuid = Some(this.uuid(attribute)?),
                    "description" => clock.description = this.text_value(attribute)?,
                    "freq" => clock.frequency = this.number(attribute, 1, u64::MAX)?,
                    "offset_s" => match attribute.value {
                        Value::Integer(value) if i64::try_from(value).is_ok() => {
                            clock.offset_seconds = value as i64
                        }
                        _ => {
                            return Err(this.error(attribute.at, "`offset_s` must be a 64-bit signed integer"))
                        }
                    },
                    "offset" => clock.offset_cycles = this.number(attribute, 0, u64::MAX)?,
                    "precision" => clock.precision = this.number(attribute, 0, u64::MAX)?,
                    "absolute" => clock.absolute = this.boolean(attribute)?,
                    _ => {}
                }
            }
            Ok(())
        })?;
        if !named {
            return Err(self.error(block.at, "a clock without `name`"));
        }
        Ok(clock)
    }

    fn stream_block(&mut self, block: &Block) -> Result<StreamClass, TsdlError> {
        let mut stream = StreamClass { id: 0, packet_context: None, event_header: None, event_context: None };
        self.block_entries(block, |this, entry| {
            match entry {
                BlockEntry::Attribute(attribute) if attribute.name == ["id"] => {
                    stream.id = this.number(attribute, 0, u64::MAX)?;
                }
                BlockEntry::TypeAssignment { path, ty, at } => {
                    let path = path.join(".");
                    let slot = match path.as_str() {
                        "packet.context" => &mut stream.packet_context,
                        "event.header" => &mut stream.event_header,
                        "event.context" => &mut stream.event_context,
                        _ => {
                            return Err(this.error(*at, format!("`{path}` is not a scope of a stream block")))
                        }
                    };
                    *slot = Some(this.scope_struct(ty, &path)?);
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(stream)
    }

    fn event_block(&mut self, block: &Block) -> Result<EventClass, TsdlError> {
        let mut event = EventClass {
            id: 0,
            stream_id: 0,
            name: String::new(),
            log_level: None,
            emf_uri: None,
            context: None,
            fields: None,
        };
        let mut named = false;
        self.block_entries(block, |this, entry| {
            match entry {
                BlockEntry::Attribute(attribute) => match attribute.name.join(".").as_str() {
                    "name" => {
                        event.name = this.text_value(attribute)?;
                        named = true;
                    }
                    "id" => event.id = this.number(attribute, 0, u64::MAX)?,
                    "stream_id" => event.stream_id = this.number(attribute, 0, u64::MAX)?,
                    "loglevel" => match attribute.value {
                        Value::Integer(level) if i64::try_from(level).is_ok() => {
                            event.log_level = Some(level as i64)
                        }
                        _ => return Err(this.error(attribute.at, "`loglevel` must be an integer")),
                    },
                    "model.emf.uri" => event.emf_uri = Some(this.text_value(attribute)?),
                    _ => {}
                },
                BlockEntry::TypeAssignment { path, ty, at } => {
                    let path = path.join(".");
                    let slot = match path.as_str() {
                        "context" => &mut event.context,
                        "fields" => &mut event.fields,
                        _ => {
                            return Err(this.error(*at, format!("`{path}` is not a scope of an event block")))
                        }
                    };
                    *slot = Some(this.scope_struct(ty, &path)?);
                }
                BlockEntry::Declaration(_) => {}
            }
            Ok(())
        })?;
        if !named {
            return Err(self.error(block.at, "an event without `name`"));
        }
        Ok(event)
    }

    /// Clocks that integers map to exist; events name declared stream classes, each event ID
    /// once per stream class.
    fn check_references(&self, trace: &TraceClass) -> Result<(), TsdlError> {
        let mut scopes: Vec<&StructType> = trace.packet_header.iter().collect();
        for stream in &trace.streams {
            scopes.extend(
                stream.packet_context.iter().chain(&stream.event_header).chain(&stream.event_context),
            );
        }
        for event in &trace.events {
            scopes.extend(event.context.iter().chain(&event.fields));
        }
        for scope in scopes {
            if let Some(clock) = mapped_clocks(&scope.fields).find(|clock| trace.clock(clock).is_none()) {
                return Err(self.error(
                    self.text.len(),
                    format!("an integer maps to clock `{clock}`, which is not declared"),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for event in &trace.events {
            if trace.streams.is_empty() && event.stream_id == 0 {
                // A trace without stream blocks has one implicit stream class.
            } else if trace.stream(event.stream_id).is_none() {
                return Err(self.error(
                    self.text.len(),
                    format!(
                        "event `{}` names stream class {}, which is not declared",
                        event.name, event.stream_id
                    ),
                ));
            }
            if !seen.insert((event.stream_id, event.id)) {
                return Err(self.error(
                    self.text.len(),
                    format!(
                        "event `{}` reuses ID {} of stream class {}",
                        event.name, event.id, event.stream_id
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Every clock name integers in `fields` map to.
fn mapped_clocks(fields: &[NamedField]) -> impl Iterator<Item = &str> {
    let mut stack: Vec<&FieldType> = fields.iter().map(|field| &field.ty).collect();
    std::iter::from_fn(move || {
        while let Some(ty) = stack.pop() {
            match ty {
                FieldType::Integer(int) => {
                    if let Some(clock) = &int.clock {
                        return Some(clock.as_str());
                    }
                }
                FieldType::Enum(enumeration) => {
                    if let Some(clock) = &enumeration.container.clock {
                        return Some(clock.as_str());
                    }
                }
                FieldType::Struct(structure) => stack.extend(structure.fields.iter().map(|field| &field.ty)),
                FieldType::Variant(variant) => stack.extend(variant.options.iter().map(|field| &field.ty)),
                FieldType::Array { element, .. } | FieldType::Sequence { element, .. } => stack.push(element),
                FieldType::Float(_) | FieldType::String(_) => {}
            }
        }
        None
    })
}

fn leaf(ty: FieldType) -> Built {
    Built { ty, nodes: 1, depth: 0 }
}

/// A single word value (`le`, `true`, `UTF8`).
fn word(value: &Value) -> Option<&str> {
    match value {
        Value::Path(path) if path.len() == 1 => Some(path[0].as_str()),
        _ => None,
    }
}

/// `8-4-4-4-12` hexadecimal digits.
pub(crate) fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let groups: Vec<&str> = text.split('-').collect();
    if groups.iter().map(|group| group.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    let digits: String = groups.concat();
    let mut uuid = [0u8; 16];
    for (byte, pair) in uuid.iter_mut().zip(digits.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(uuid)
}
