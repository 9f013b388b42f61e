//! The TSDL grammar (CTF 1.8 §7.3 and its appendix C), as LTTng 2.x, barectf and tracemark's
//! own exporter write it, with winnow.
//!
//! Every token parser skips the blanks and comments before it. Once a keyword or a punctuation
//! mark has committed the parser to a construct, what follows is wrapped in `cut_err`, so a
//! mistake is reported where it is instead of where the last alternative gave up. Nesting is
//! bounded by [`MAX_NESTING`]: metadata comes from the traced machine, and a recursive descent
//! parser must not be made to overflow its stack.

use winnow::ascii::{multispace0, till_line_ending};
use winnow::combinator::{alt, cut_err, opt, peek, preceded};
use winnow::error::{ContextError, ErrMode, StrContext, StrContextValue};
use winnow::stream::Location;
use winnow::token::{any, one_of, take_until, take_while};
use winnow::{LocatingSlice, ModalResult, Parser};

use super::ast::*;

pub(crate) type Input<'a> = LocatingSlice<&'a str>;

/// Deepest nesting of struct, variant and enum types accepted (CTF itself sets no bound).
pub const MAX_NESTING: u32 = 32;

/// The whole metadata text.
pub(crate) fn metadata(input: &mut Input<'_>) -> ModalResult<Metadata> {
    let mut items = Vec::new();
    loop {
        skip(input)?;
        if input.is_empty() {
            return Ok(Metadata { items });
        }
        items.push(cut_err(top_level).context(expected("a declaration or a block")).parse_next(input)?);
    }
}

fn top_level(input: &mut Input<'_>) -> ModalResult<Declaration> {
    skip(input)?;
    let at = input.current_token_start();
    let word = peek(identifier).parse_next(input)?;
    if let Some(kind) = BlockKind::from_keyword(word) {
        identifier(input)?;
        let entries = cut_err(block_body).parse_next(input)?;
        cut_err(symbol(";")).parse_next(input)?;
        return Ok(Declaration::Block(Block { kind, entries, at }));
    }
    declaration(input, 0)
}

/// `{ entry* }` of a top-level block.
fn block_body(input: &mut Input<'_>) -> ModalResult<Vec<BlockEntry>> {
    symbol("{").parse_next(input)?;
    let mut entries = Vec::new();
    loop {
        if opt(symbol("}")).parse_next(input)?.is_some() {
            return Ok(entries);
        }
        entries.push(block_entry(input)?);
    }
}

fn block_entry(input: &mut Input<'_>) -> ModalResult<BlockEntry> {
    skip(input)?;
    let at = input.current_token_start();
    let word = cut_err(peek(identifier)).context(expected("an attribute, `:=` or `}`")).parse_next(input)?;
    if matches!(word, "typealias" | "typedef" | "struct" | "variant" | "enum") {
        return Ok(BlockEntry::Declaration(declaration(input, 0)?));
    }
    let path = path(input)?;
    if opt(symbol(":=")).parse_next(input)?.is_some() {
        let ty = cut_err(|input: &mut Input<'_>| type_without_declarator(input, 0)).parse_next(input)?;
        cut_err(symbol(";")).parse_next(input)?;
        return Ok(BlockEntry::TypeAssignment { path, ty, at });
    }
    cut_err(preceded(skip, "=")).context(expected("`=` or `:=`")).parse_next(input)?;
    let value = cut_err(value).parse_next(input)?;
    cut_err(symbol(";")).parse_next(input)?;
    Ok(BlockEntry::Attribute(Attribute { name: path, value, at }))
}

/// A typealias, typedef, named type definition or field declaration.
fn declaration(input: &mut Input<'_>, depth: u32) -> ModalResult<Declaration> {
    skip(input)?;
    let at = input.current_token_start();
    if opt(keyword("typealias")).parse_next(input)?.is_some() {
        let ty = cut_err(|input: &mut Input<'_>| type_without_declarator(input, depth)).parse_next(input)?;
        cut_err(symbol(":=")).parse_next(input)?;
        let words = cut_err(words).context(expected("the alias's name")).parse_next(input)?;
        cut_err(symbol(";")).parse_next(input)?;
        return Ok(Declaration::TypeAlias { ty, name: join(&words), at });
    }
    if opt(keyword("typedef")).parse_next(input)?.is_some() {
        let (ty, names) =
            cut_err(|input: &mut Input<'_>| type_with_declarators(input, depth)).parse_next(input)?;
        if names.is_empty() {
            return Err(cut_here(expected("the typedef's name")));
        }
        cut_err(symbol(";")).parse_next(input)?;
        return Ok(Declaration::Typedef { ty, names, at });
    }
    let (ty, names) = type_with_declarators(input, depth)?;
    if !names.is_empty() {
        cut_err(symbol(";")).context(expected("`;` after the declaration")).parse_next(input)?;
        return Ok(Declaration::Fields { ty, names });
    }
    // No field: this must define a named type.
    let defines = match &ty.kind {
        TypeKind::Struct { name, body, .. } | TypeKind::Variant { name, body, .. } => {
            name.is_some() && body.is_some()
        }
        TypeKind::Enum { name, body, .. } => name.is_some() && body.is_some(),
        _ => false,
    };
    if !defines {
        skip(input)?;
        return Err(cut_here(expected("a field name")));
    }
    cut_err(symbol(";")).context(expected("`;` after the definition")).parse_next(input)?;
    Ok(Declaration::TypeDefinition(ty))
}

/// A type, then zero or more declarators separated by commas. A type written as words
/// (`unsigned long count`) gives its last word to the first declarator.
fn type_with_declarators(input: &mut Input<'_>, depth: u32) -> ModalResult<(TypeSpec, Vec<Declarator>)> {
    let (ty, mut first) = match type_spec(input, depth)? {
        Parsed::Type(ty) => (ty, None),
        Parsed::Words(mut words, at) => {
            if words.len() < 2 {
                return Err(cut_here(expected("a type and a field name")));
            }
            let (name, name_at) = words.pop().unwrap_or_default();
            let dimensions = dimensions(input)?;
            let ty = TypeSpec { kind: TypeKind::Named(join(&words)), at };
            (ty, Some(Declarator { name, dimensions, at: name_at }))
        }
    };
    let mut names = Vec::new();
    if let Some(first) = first.take() {
        names.push(first);
    } else if let Some(declarator) = opt(declarator).parse_next(input)? {
        names.push(declarator);
    } else {
        return Ok((ty, names));
    }
    while opt(symbol(",")).parse_next(input)?.is_some() {
        names.push(cut_err(declarator).parse_next(input)?);
    }
    Ok((ty, names))
}

/// A type standing alone: after `:=` or `typealias`, or an enum's container.
fn type_without_declarator(input: &mut Input<'_>, depth: u32) -> ModalResult<TypeSpec> {
    Ok(match type_spec(input, depth)? {
        Parsed::Type(ty) => ty,
        Parsed::Words(words, at) => TypeSpec { kind: TypeKind::Named(join(&words)), at },
    })
}

/// A type specifier; a name made of words is returned as its words, since whether the last one
/// is a field name depends on what follows the type.
enum Parsed {
    Type(TypeSpec),
    Words(Vec<(String, Offset)>, Offset),
}

fn type_spec(input: &mut Input<'_>, depth: u32) -> ModalResult<Parsed> {
    skip(input)?;
    let at = input.current_token_start();
    let word = peek(identifier).context(expected("a type")).parse_next(input)?;
    if depth >= MAX_NESTING && matches!(word, "struct" | "variant" | "enum") {
        return Err(cut_here(StrContext::Label("type: nested deeper than 32 levels")));
    }
    let kind = match word {
        "integer" => {
            identifier(input)?;
            TypeKind::Integer(cut_err(attribute_list).parse_next(input)?)
        }
        "floating_point" => {
            identifier(input)?;
            TypeKind::FloatingPoint(cut_err(attribute_list).parse_next(input)?)
        }
        "string" => {
            identifier(input)?;
            let attributes = if peek(opt(symbol("{"))).parse_next(input)?.is_some() {
                attribute_list(input)?
            } else {
                Vec::new()
            };
            TypeKind::String(attributes)
        }
        "struct" => {
            identifier(input)?;
            let name = type_name(input)?;
            let body = member_list(input, name.is_none(), depth)?;
            let align = if opt(keyword("align")).parse_next(input)?.is_some() {
                cut_err(symbol("(")).parse_next(input)?;
                let align = cut_err(unsigned).parse_next(input)?;
                cut_err(symbol(")")).parse_next(input)?;
                Some(align)
            } else {
                None
            };
            TypeKind::Struct { name, body, align }
        }
        "variant" => {
            identifier(input)?;
            let name = type_name(input)?;
            let selector = if opt(symbol("<")).parse_next(input)?.is_some() {
                let selector = cut_err(path).context(expected("the selector's field")).parse_next(input)?;
                cut_err(symbol(">")).parse_next(input)?;
                Some(selector)
            } else {
                None
            };
            let body = member_list(input, name.is_none() && selector.is_none(), depth)?;
            TypeKind::Variant { name, selector, body }
        }
        "enum" => {
            identifier(input)?;
            let name = type_name(input)?;
            let container = if opt(symbol(":")).parse_next(input)?.is_some() {
                let container = cut_err(|input: &mut Input<'_>| type_without_declarator(input, depth + 1))
                    .context(expected("the enum's integer type"))
                    .parse_next(input)?;
                Some(Box::new(container))
            } else {
                None
            };
            let body = if peek(opt(symbol("{"))).parse_next(input)?.is_some() {
                Some(enumerators(input)?)
            } else if name.is_none() {
                return Err(cut_here(expected("`{` opening the enum's labels")));
            } else {
                None
            };
            TypeKind::Enum { name, container, body }
        }
        _ => return Ok(Parsed::Words(words(input)?, at)),
    };
    Ok(Parsed::Type(TypeSpec { kind, at }))
}

/// The tag name after `struct`, `variant` or `enum`, when one follows.
fn type_name(input: &mut Input<'_>) -> ModalResult<Option<String>> {
    skip(input)?;
    let name = opt(identifier.verify(|word: &str| word != "align")).parse_next(input)?;
    Ok(name.map(str::to_owned))
}

/// `{ declaration* }`, required when the type has neither a name nor a selector to refer to.
fn member_list(input: &mut Input<'_>, required: bool, depth: u32) -> ModalResult<Option<Vec<Declaration>>> {
    if peek(opt(symbol("{"))).parse_next(input)?.is_none() {
        if required {
            return Err(cut_here(expected("`{`")));
        }
        return Ok(None);
    }
    symbol("{").parse_next(input)?;
    let mut members = Vec::new();
    loop {
        if opt(symbol("}")).parse_next(input)?.is_some() {
            return Ok(Some(members));
        }
        let member = cut_err(|input: &mut Input<'_>| declaration(input, depth + 1))
            .context(expected("a field or `}`"))
            .parse_next(input)?;
        members.push(member);
    }
}

/// `{ label [= value [... value]], ... }`, a trailing comma allowed.
fn enumerators(input: &mut Input<'_>) -> ModalResult<Vec<Enumerator>> {
    symbol("{").parse_next(input)?;
    let mut labels = Vec::new();
    loop {
        if opt(symbol("}")).parse_next(input)?.is_some() {
            return Ok(labels);
        }
        skip(input)?;
        let at = input.current_token_start();
        let label = cut_err(preceded(skip, alt((string_literal, identifier.map(str::to_owned)))))
            .context(expected("an enum label or `}`"))
            .parse_next(input)?;
        let range = if opt(symbol("=")).parse_next(input)?.is_some() {
            let lo = cut_err(integer).parse_next(input)?;
            let hi = if opt(symbol("...")).parse_next(input)?.is_some() {
                cut_err(integer).parse_next(input)?
            } else {
                lo
            };
            Some((lo, hi))
        } else {
            None
        };
        labels.push(Enumerator { label, range, at });
        if opt(symbol(",")).parse_next(input)?.is_none() {
            cut_err(preceded(skip, "}")).context(expected("`,` or `}`")).parse_next(input)?;
            return Ok(labels);
        }
    }
}

/// `{ name = value; ... }` of `integer`, `floating_point` and `string`.
fn attribute_list(input: &mut Input<'_>) -> ModalResult<Vec<Attribute>> {
    symbol("{").parse_next(input)?;
    let mut attributes = Vec::new();
    loop {
        if opt(symbol("}")).parse_next(input)?.is_some() {
            return Ok(attributes);
        }
        skip(input)?;
        let at = input.current_token_start();
        let name = cut_err(path).context(expected("an attribute or `}`")).parse_next(input)?;
        cut_err(symbol("=")).parse_next(input)?;
        let value = cut_err(value).parse_next(input)?;
        cut_err(symbol(";")).parse_next(input)?;
        attributes.push(Attribute { name, value, at });
    }
}

fn declarator(input: &mut Input<'_>) -> ModalResult<Declarator> {
    skip(input)?;
    let at = input.current_token_start();
    let name = identifier(input)?.to_owned();
    let dimensions = dimensions(input)?;
    Ok(Declarator { name, dimensions, at })
}

fn dimensions(input: &mut Input<'_>) -> ModalResult<Vec<Dimension>> {
    let mut dimensions = Vec::new();
    while opt(symbol("[")).parse_next(input)?.is_some() {
        skip(input)?;
        let dimension = if peek(opt(one_of(|c: char| c.is_ascii_digit()))).parse_next(input)?.is_some() {
            Dimension::Fixed(cut_err(unsigned).parse_next(input)?)
        } else {
            Dimension::Field(cut_err(path).context(expected("a length or a length field")).parse_next(input)?)
        };
        cut_err(symbol("]")).parse_next(input)?;
        dimensions.push(dimension);
    }
    Ok(dimensions)
}

fn value(input: &mut Input<'_>) -> ModalResult<Value> {
    skip(input)?;
    let first = peek(any).context(expected("a value")).parse_next(input)?;
    if first == '"' {
        Ok(Value::String(string_literal(input)?))
    } else if first.is_ascii_digit() || first == '-' || first == '+' {
        Ok(Value::Integer(integer(input)?))
    } else {
        Ok(Value::Path(path.context(expected("a value")).parse_next(input)?))
    }
}

/// `word(.word)*`
fn path(input: &mut Input<'_>) -> ModalResult<Vec<String>> {
    let mut parts = vec![preceded(skip, identifier).parse_next(input)?.to_owned()];
    // `.` then a word; `...` (a range) is not a path's dot.
    while opt((".", peek(one_of(|c: char| c.is_ascii_alphabetic() || c == '_')))).parse_next(input)?.is_some()
    {
        parts.push(identifier(input)?.to_owned());
    }
    Ok(parts)
}

/// One or more words, each with its offset: a type name such as `unsigned long`.
fn words(input: &mut Input<'_>) -> ModalResult<Vec<(String, Offset)>> {
    let mut words = Vec::new();
    loop {
        skip(input)?;
        let at = input.current_token_start();
        match opt(identifier).parse_next(input)? {
            Some(word) => words.push((word.to_owned(), at)),
            // The caller says what the name is for.
            None if words.is_empty() => return Err(ErrMode::Backtrack(ContextError::new())),
            None => return Ok(words),
        }
    }
}

fn join(words: &[(String, Offset)]) -> String {
    words.iter().map(|(word, _)| word.as_str()).collect::<Vec<_>>().join(" ")
}

/// An integer literal: decimal, `0x` hexadecimal or `0` octal, an optional sign, C suffixes
/// (`u`, `l`) ignored.
fn integer(input: &mut Input<'_>) -> ModalResult<i128> {
    skip(input)?;
    let negative = opt(one_of(['-', '+'])).parse_next(input)? == Some('-');
    skip(input)?;
    let magnitude = unsigned_literal(input)?;
    Ok(if negative { -i128::from(magnitude) } else { i128::from(magnitude) })
}

fn unsigned(input: &mut Input<'_>) -> ModalResult<u64> {
    skip(input)?;
    unsigned_literal(input)
}

fn unsigned_literal(input: &mut Input<'_>) -> ModalResult<u64> {
    let text = (one_of(|c: char| c.is_ascii_digit()), take_while(0.., |c: char| c.is_ascii_alphanumeric()))
        .take()
        .context(expected("an integer"))
        .parse_next(input)?;
    parse_unsigned(text).ok_or_else(|| cut_here(expected("an integer literal of at most 64 bits")))
}

fn parse_unsigned(text: &str) -> Option<u64> {
    let digits = text.trim_end_matches(['u', 'U', 'l', 'L']);
    if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()
    } else {
        digits.parse().ok()
    }
}

/// `"..."` with C escapes.
fn string_literal(input: &mut Input<'_>) -> ModalResult<String> {
    '"'.parse_next(input)?;
    let mut text = String::new();
    loop {
        let c = cut_err(any).context(expected("`\"` closing the string")).parse_next(input)?;
        match c {
            '"' => return Ok(text),
            '\\' => {
                let escaped = cut_err(any).context(expected("an escape")).parse_next(input)?;
                let c = match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'a' => '\x07',
                    'b' => '\x08',
                    'f' => '\x0c',
                    'v' => '\x0b',
                    'x' => {
                        let hex = cut_err(take_while(1..=2, |c: char| c.is_ascii_hexdigit()))
                            .context(expected("hexadecimal digits"))
                            .parse_next(input)?;
                        char::from(u8::from_str_radix(hex, 16).unwrap_or(0))
                    }
                    '0'..='7' => {
                        let rest = take_while(0..=2, |c: char| ('0'..='7').contains(&c)).parse_next(input)?;
                        let code = u32::from(escaped as u8 - b'0') * 8u32.pow(rest.len() as u32)
                            + u32::from_str_radix(rest, 8).unwrap_or(0);
                        char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                    }
                    other => other,
                };
                text.push(c);
            }
            c => text.push(c),
        }
    }
}

fn identifier<'a>(input: &mut Input<'a>) -> ModalResult<&'a str> {
    (
        one_of(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(0.., |c: char| c.is_ascii_alphanumeric() || c == '_'),
    )
        .take()
        .parse_next(input)
}

fn keyword<'a>(word: &'static str) -> impl Parser<Input<'a>, &'a str, ErrMode<ContextError>> {
    preceded(skip, identifier.verify(move |found: &str| found == word)).context(expected_literal(word))
}

fn symbol<'a>(text: &'static str) -> impl Parser<Input<'a>, &'a str, ErrMode<ContextError>> {
    preceded(skip, text).context(expected_literal(text))
}

/// Blanks and comments.
fn skip(input: &mut Input<'_>) -> ModalResult<()> {
    loop {
        multispace0.parse_next(input)?;
        if input.starts_with("/*") {
            "/*".parse_next(input)?;
            cut_err((take_until(0.., "*/"), "*/"))
                .context(expected("`*/` closing the comment"))
                .parse_next(input)?;
        } else if input.starts_with("//") {
            till_line_ending.parse_next(input)?;
        } else {
            return Ok(());
        }
    }
}

fn expected(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::Description(what))
}

fn expected_literal(what: &'static str) -> StrContext {
    StrContext::Expected(StrContextValue::StringLiteral(what))
}

fn with(context: StrContext) -> ContextError {
    let mut error = ContextError::new();
    error.push(context);
    error
}

fn cut_here(context: StrContext) -> ErrMode<ContextError> {
    ErrMode::Cut(with(context))
}
