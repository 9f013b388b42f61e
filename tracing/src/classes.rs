//! Event classes for `tracing` callsites: one per callsite, role and signature (which fields
//! were recorded, with which types), declared in the trace's metadata the first time a thread
//! records it.

use tracemark_format::{Field, IntType, TypeDesc};
use tracing_core::{Level, Metadata};

use crate::record::Recorder;

/// What a record of a callsite says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// An event.
    Event,
    /// A span was created: its ID, its parent's, its fields.
    SpanNew,
    /// Fields recorded into a span after it was created.
    SpanRecord,
    /// A thread entered the span.
    Enter,
    /// A thread exited the span.
    Exit,
    /// The span closed (its last handle dropped).
    Close,
}

impl Role {
    fn suffix(self) -> &'static str {
        match self {
            Role::Event => "",
            Role::SpanNew => ":new",
            Role::SpanRecord => ":record",
            Role::Enter => ":enter",
            Role::Exit => ":exit",
            Role::Close => ":close",
        }
    }

    /// The fields every record of the role starts with.
    pub(crate) fn leading_fields(self) -> &'static [&'static str] {
        match self {
            Role::Event => &[],
            Role::SpanNew => &["span_id", "parent_id"],
            Role::SpanRecord | Role::Enter | Role::Exit | Role::Close => &["span_id"],
        }
    }
}

/// The class name of `role` records of callsite `metadata`: `TARGET:NAME`, and for a span
/// `TARGET:NAME:new`, `:record`, `:enter`, `:exit`, `:close`.
pub(crate) fn class_name(metadata: &Metadata<'_>, role: Role) -> String {
    format!("{}:{}{}", metadata.target(), metadata.name(), role.suffix())
}

/// The syslog severity of a `tracing` level (§7.6): ERROR 3, WARN 4, INFO 6, DEBUG and TRACE 7.
pub(crate) fn log_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// The fields of the class of `role` records of callsite `metadata` with the values in
/// `recorder`: the role's leading `u64` fields, then one per recorded value, named after the
/// callsite's field (made an identifier: other characters become `_`; a repeated name gets
/// `_2`, `_3`, …).
pub(crate) fn class_fields(metadata: &Metadata<'_>, role: Role, recorder: &Recorder) -> Vec<Field> {
    let mut taken = std::collections::HashSet::new();
    let mut unique = |name: String| {
        let mut candidate = name.clone();
        let mut suffix = 2u32;
        while !taken.insert(candidate.clone()) {
            candidate = format!("{name}_{suffix}");
            suffix += 1;
        }
        candidate
    };
    let mut fields: Vec<Field> = role
        .leading_fields()
        .iter()
        .map(|name| Field::new(unique((*name).to_owned()), TypeDesc::Int(IntType::U64)))
        .collect();
    let names = metadata.fields();
    for (index, value) in &recorder.values {
        let name = names
            .iter()
            .nth(*index)
            .map_or_else(|| format!("field{index}"), |field| identifier(field.name()));
        fields.push(Field::new(unique(name), value.kind().type_desc()));
    }
    fields
}

/// `name` as an identifier (§7.7): characters other than ASCII letters, digits and `_` become
/// `_` (`http.method` is `http_method`), and a leading digit gets a `_` before it; `r#type`
/// is `type`.
pub(crate) fn identifier(name: &str) -> String {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::identifier;

    #[test]
    fn field_names_become_identifiers() {
        assert_eq!(identifier("message"), "message");
        assert_eq!(identifier("http.method"), "http_method");
        assert_eq!(identifier("r#type"), "type");
        assert_eq!(identifier("1st"), "_1st");
        assert_eq!(identifier(""), "_");
        assert_eq!(identifier("naïve"), "na_ve");
    }
}
