//! CTF 1.8 metadata: TSDL text that describes tracemark event records exactly as they are on
//! the wire, so that the data streams can carry the records byte for byte.
//!
//! How tracemark maps onto CTF 1.8:
//! - Byte order: the trace's (§2); every integer is byte-aligned (`align = 8` bits), so
//!   nothing is padded, as tracemark payloads are packed (§6.1).
//! - Event header (§5): the 64-bit header word read as CTF bit fields. Little-endian bit
//!   fields fill a word from its least significant bit, so the word is `timestamp` (48 bits)
//!   then `id` (16 bits); big-endian ones fill it from the most significant bit, so it is `id`
//!   then `timestamp`. `id` is an enumeration whose value 0xFFFF selects the extended variant
//!   (§5.3): a 32-bit `id` and a 64-bit `timestamp`. A 48-bit timestamp field mapped to a
//!   clock is updated by CTF readers exactly as §5.5 reconstructs it (the low bits replace
//!   those of the previous value, adding 2^48 when they went down); a 64-bit one replaces it.
//!   In little-endian extended records, the zero low bits briefly move the clock forward to
//!   the next 2^48 boundary before the full timestamp replaces it; only the final value is
//!   an event's timestamp.
//! - Field names: CTF readers drop one leading underscore from a member name (the CTF 1.8
//!   escape for keywords), so a field whose name starts with `_` or is a TSDL keyword is
//!   declared with one more underscore; the others as they are (see `Members`).
//! - `bool` is an 8-bit unsigned integer (CTF 1.8 has no boolean); pointers and marker `%x`
//!   arguments display in hexadecimal, `%o` in octal.
//! - `blob` and `sequence` (§6.4) are CTF sequences whose `u32` length is declared as a
//!   member just before them, named `_NAME_length` (more underscores if a field has that
//!   name). An element that is itself a blob or sequence is wrapped in a structure
//!   `{ _elements_length, elements }`, because a CTF sequence length must be a member
//!   declared before the sequence.
//! - Enumerations (§6.6) map a value to its first matching label; CTF 1.8 maps it to every
//!   matching label, so overlapping ranges are cut into disjoint ones that keep the first
//!   match. Ranges are clipped to the underlying type. An enumeration left without a range
//!   is declared as its plain integer.
//! - Clocks (§7.4): `offset_ns` becomes `offset_s` plus `offset` cycles (exact at 1 GHz,
//!   rounded down to a tick otherwise) and `absolute = true` (the origin is the Unix epoch).

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt::Write as _,
};

use tracemark_format::{
    marker::DisplayHint, AbiInt, ByteOrder, ClockClass, EnumMapping, EnvValue, Field, IntType, TypeDesc,
};
use tracemark_reader::{uuid_string, Metadata};

/// The CTF 1.8 packet magic number.
pub(crate) const CTF_MAGIC: u32 = 0xC1FC_1FC1;

/// Bytes of the CTF packet header written before every packet's context.
pub(crate) const CTF_PACKET_HEADER_LEN: usize = 4 + 16 + 4 + 8;
/// Bytes of the CTF packet context.
pub(crate) const CTF_PACKET_CONTEXT_LEN: usize = 8 * 6 + 4;

/// More disjoint enumeration ranges than this (a pathological overlap of thousands of
/// mappings) and the mappings are declared as they are, overlaps included.
const MAX_ENUM_RANGES: usize = 1 << 16;

const UINT8: &str = "integer { size = 8; align = 8; signed = false; }";
const UINT32: &str = "integer { size = 32; align = 8; signed = false; }";
const UINT64: &str = "integer { size = 64; align = 8; signed = false; }";

/// The text of a TSDL string literal's content: quotes, backslashes and control characters
/// escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push_str("\\t"),
            '\r' => escaped.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(escaped, "\\x{:02x}", c as u32);
            }
            c => escaped.push(c),
        }
    }
    escaped
}

/// A TSDL identifier made from any text: characters outside `[A-Za-z0-9_]` become `_`, and
/// a leading digit (or nothing at all) gets a `_` prefix.
pub(crate) fn identifier(text: &str) -> String {
    let mut name: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if name.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// Identifiers the TSDL grammar reserves: a member with one of these names must be escaped.
const KEYWORDS: [&str; 28] = [
    "align",
    "callsite",
    "const",
    "char",
    "clock",
    "double",
    "enum",
    "env",
    "event",
    "floating_point",
    "float",
    "integer",
    "int",
    "long",
    "short",
    "signed",
    "stream",
    "string",
    "struct",
    "trace",
    "typealias",
    "typedef",
    "unsigned",
    "variant",
    "void",
    "_Bool",
    "_Complex",
    "_Imaginary",
];

/// The name CTF readers show for a member declared as `raw`: one leading underscore dropped.
fn shown(raw: &str) -> &str {
    raw.strip_prefix('_').unwrap_or(raw)
}

/// Member names of one CTF structure.
///
/// A member is declared under a *raw* name and shown under that name less one leading
/// underscore, so a field `x` is declared `x` and a field `_x` or `event` (a keyword) is
/// declared `__x` or `_event`. babeltrace2 2.0 also rejects a member whose raw name equals
/// the shown name of an earlier one (`__x` then `_x`), so such a member (a field `_x`
/// followed by a field `x` that is a keyword) gets trailing underscores: the one case where
/// a field's CTF name differs from its tracemark name.
///
/// Names are kept in sets: a structure may have 65,535 members, and a check against a list
/// per member made exporting one such class take minutes.
#[derive(Debug)]
struct Members {
    /// The tracemark fields' names and their escaped raw names, all reserved from the start.
    fields: HashSet<String>,
    /// Raw names of the members declared so far.
    declared_raw: HashSet<String>,
    /// Shown names of the members declared so far.
    declared_shown: HashSet<String>,
}

impl Members {
    fn new(fields: &[Field]) -> Members {
        let names = fields.iter().flat_map(|field| [field.name.clone(), Members::escaped(&field.name)]);
        Members { fields: names.collect(), declared_raw: HashSet::new(), declared_shown: HashSet::new() }
    }

    fn clashes(&self, raw: &str) -> bool {
        self.declared_shown.contains(raw)
            || self.declared_shown.contains(shown(raw))
            || self.declared_raw.contains(raw)
    }

    fn declare(&mut self, raw: String) -> String {
        self.declared_shown.insert(shown(&raw).to_string());
        self.declared_raw.insert(raw.clone());
        raw
    }

    /// The raw name a field `name` takes when nothing clashes with it.
    fn escaped(name: &str) -> String {
        if name.starts_with('_') || KEYWORDS.contains(&name) {
            format!("_{name}")
        } else {
            name.to_string()
        }
    }

    /// The raw name of tracemark field `name`.
    fn field(&mut self, name: &str) -> String {
        let mut raw = Members::escaped(name);
        while self.clashes(&raw) {
            raw.push('_');
        }
        self.declare(raw)
    }

    /// The raw name of the length member of field `name`, shown as `_NAME_length` or with more
    /// leading underscores, clashing with no field and no member.
    fn length(&mut self, name: &str) -> String {
        let mut raw = format!("__{name}_length");
        let taken = |raw: &str| self.fields.contains(raw) || self.fields.contains(shown(raw));
        while taken(&raw) || self.clashes(&raw) {
            raw.insert(0, '_');
        }
        self.declare(raw)
    }
}

/// TSDL type text for payload types under one ABI.
struct Types<'a> {
    metadata: &'a Metadata,
}

impl Types<'_> {
    fn integer(&self, int: IntType, hint: DisplayHint) -> String {
        let size = u32::from(int.size(self.metadata.abi())) * 8;
        let base = match (int, hint) {
            (IntType::Abi(AbiInt::Pointer), _) | (_, DisplayHint::Hex) => 16,
            (_, DisplayHint::Octal) => 8,
            _ => 10,
        };
        format!("integer {{ size = {size}; align = 8; signed = {}; base = {base}; }}", int.is_signed())
    }

    fn enumeration(&self, repr: IntType, mappings: &[EnumMapping], hint: DisplayHint) -> String {
        let ranges = disjoint_ranges(repr, mappings, self.metadata);
        if ranges.is_empty() {
            return self.integer(repr, hint);
        }
        let mut text = format!("enum : {} {{ ", self.integer(repr, hint));
        for (index, (label, lo, hi)) in ranges.iter().enumerate() {
            if index > 0 {
                text.push_str(", ");
            }
            let _ = write!(text, "\"{}\" = {lo} ... {hi}", escape(label));
        }
        text.push_str(" }");
        text
    }

    /// The type text of a field whose type is not a blob, sequence or array (those are
    /// declarators, see [`Types::member`]).
    fn plain(&self, ty: &TypeDesc, hint: DisplayHint, depth: usize) -> String {
        match ty {
            TypeDesc::Bool => UINT8.to_string(),
            TypeDesc::Int(int) => self.integer(*int, hint),
            TypeDesc::F32 => "floating_point { exp_dig = 8; mant_dig = 24; align = 8; }".to_string(),
            TypeDesc::F64 => "floating_point { exp_dig = 11; mant_dig = 53; align = 8; }".to_string(),
            TypeDesc::String => "string".to_string(),
            TypeDesc::Enum { repr, mappings } => self.enumeration(*repr, mappings, hint),
            TypeDesc::Struct(fields) => self.structure(fields, None, depth),
            // Declarators, which `member` and `element` handle; as a bare type, a wrapper.
            TypeDesc::Blob | TypeDesc::Sequence { .. } | TypeDesc::Array { .. } => self.wrapper(ty, depth),
        }
    }

    /// A structure `{ [_elements_length,] elements }` holding one declarator-typed value.
    fn wrapper(&self, ty: &TypeDesc, depth: usize) -> String {
        let mut body = String::new();
        let mut members = Members::new(&[Field::new("elements", TypeDesc::Bool)]);
        self.member(&mut body, ty, "elements", DisplayHint::Natural, &mut members, depth + 1);
        format!("struct {{\n{body}{}}} align(8)", indent(depth + 1))
    }

    /// The type text and array dimensions of an array or sequence element.
    fn element(&self, ty: &TypeDesc, depth: usize) -> (String, String) {
        match ty {
            TypeDesc::Array { len, element } => {
                let (text, dims) = self.element(element, depth);
                (text, format!("[{len}]{dims}"))
            }
            // A CTF sequence's length is a member declared before it: wrap the element.
            TypeDesc::Blob | TypeDesc::Sequence { .. } => (self.wrapper(ty, depth), String::new()),
            other => (self.plain(other, DisplayHint::Natural, depth), String::new()),
        }
    }

    /// Appends the member(s) declaring field `name`: its length member first for a blob or
    /// sequence.
    fn member(
        &self,
        out: &mut dyn std::fmt::Write,
        ty: &TypeDesc,
        name: &str,
        hint: DisplayHint,
        members: &mut Members,
        depth: usize,
    ) {
        let pad = indent(depth + 1);
        let (text, dims) = match ty {
            TypeDesc::Blob => {
                let length = members.length(name);
                let _ = writeln!(out, "{pad}{UINT32} {length};");
                (UINT8.to_string(), format!("[{length}]"))
            }
            TypeDesc::Sequence { element } => {
                let length = members.length(name);
                let _ = writeln!(out, "{pad}{UINT32} {length};");
                let (text, dims) = self.element(element, depth + 1);
                (text, format!("[{length}]{dims}"))
            }
            TypeDesc::Array { .. } => self.element(ty, depth + 1),
            other => (self.plain(other, hint, depth + 1), String::new()),
        };
        let _ = writeln!(out, "{pad}{text} {}{dims};", members.field(name));
    }

    fn structure(&self, fields: &[Field], hints: Option<&[DisplayHint]>, depth: usize) -> String {
        let mut text = String::new();
        self.write_structure(&mut text, fields, hints, depth);
        text
    }

    /// Writes a structure member by member: a class may have 65,535 fields, whose text is
    /// then never held whole.
    fn write_structure(
        &self,
        out: &mut dyn std::fmt::Write,
        fields: &[Field],
        hints: Option<&[DisplayHint]>,
        depth: usize,
    ) {
        let mut members = Members::new(fields);
        let _ = out.write_str("struct {\n");
        for (index, field) in fields.iter().enumerate() {
            let hint = hints.and_then(|hints| hints.get(index)).copied().unwrap_or(DisplayHint::Natural);
            self.member(out, &field.ty, &field.name, hint, &mut members, depth);
        }
        let _ = write!(out, "{}}} align(8)", indent(depth));
    }
}

fn indent(depth: usize) -> String {
    "\t".repeat(depth)
}

/// The inclusive value range of an integer type under the trace's ABI.
fn int_range(repr: IntType, metadata: &Metadata) -> (i128, i128) {
    let bits = u32::from(repr.size(metadata.abi())) * 8;
    if repr.is_signed() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// Labelled, disjoint, in-range value ranges that give every value the label of its first
/// matching mapping (§6.6).
fn disjoint_ranges(
    repr: IntType,
    mappings: &[EnumMapping],
    metadata: &Metadata,
) -> Vec<(String, i128, i128)> {
    let (min, max) = int_range(repr, metadata);
    let bound = |bits: u64| if repr.is_signed() { i128::from(bits as i64) } else { i128::from(bits) };
    let clipped: Vec<(&str, i128, i128)> = mappings
        .iter()
        .map(|mapping| (mapping.label.as_str(), bound(mapping.lo).max(min), bound(mapping.hi).min(max)))
        .filter(|(_, lo, hi)| lo <= hi)
        .collect();
    // Ranges already claimed by earlier mappings, `lo → hi`: disjoint, not adjacent. A mapping
    // visits only the claimed ranges meeting or touching it, and merges them into one, so each
    // range is visited once after it is claimed: 65,535 mappings take O(n log n), not O(n²).
    let mut covered: BTreeMap<i128, i128> = BTreeMap::new();
    let mut ranges = Vec::new();
    for &(label, lo, hi) in &clipped {
        let first = covered
            .range(..=lo)
            .next_back()
            .filter(|(_, &covered_hi)| covered_hi.saturating_add(1) >= lo)
            .map_or(lo, |(&covered_lo, _)| covered_lo);
        let touching: Vec<(i128, i128)> =
            covered.range(first..=hi.saturating_add(1)).map(|(&lo, &hi)| (lo, hi)).collect();
        let mut start = lo;
        for &(covered_lo, covered_hi) in &touching {
            if covered_hi < start || covered_lo > hi {
                continue;
            }
            if covered_lo > start {
                ranges.push((label.to_string(), start, covered_lo - 1));
            }
            start = covered_hi + 1;
        }
        if start <= hi {
            ranges.push((label.to_string(), start, hi));
        }
        if ranges.len() > MAX_ENUM_RANGES {
            return clipped.iter().map(|&(label, lo, hi)| (label.to_string(), lo, hi)).collect();
        }
        let (mut merged_lo, mut merged_hi) = (lo, hi);
        for (covered_lo, covered_hi) in touching {
            covered.remove(&covered_lo);
            merged_lo = merged_lo.min(covered_lo);
            merged_hi = merged_hi.max(covered_hi);
        }
        covered.insert(merged_lo, merged_hi);
    }
    ranges
}

/// The TSDL name of each clock, by ascending clock ID: the clock's name made an identifier, with
/// its ID appended when two clocks would share it.
pub(crate) fn clock_names(metadata: &Metadata) -> Vec<(u32, String)> {
    let mut names: Vec<(u32, String)> = Vec::new();
    let mut taken = HashSet::new();
    for clock in metadata.clocks() {
        let mut name = identifier(&clock.name);
        if taken.contains(&name) {
            name = format!("{name}_{}", clock.id);
        }
        taken.insert(name.clone());
        names.push((clock.id, name));
    }
    names
}

fn clock_block(out: &mut dyn std::fmt::Write, clock: &ClockClass, name: &str) {
    let offset_s = clock.offset_ns.div_euclid(1_000_000_000);
    let remainder_ns = clock.offset_ns.rem_euclid(1_000_000_000) as u128;
    let offset_cycles = remainder_ns * u128::from(clock.frequency) / 1_000_000_000;
    let _ = writeln!(
        out,
        "clock {{\n\tname = {name};\n\tdescription = \"{}\";\n\tfreq = {};\n\tprecision = {};\n\t\
         offset_s = {offset_s};\n\toffset = {offset_cycles};\n\tabsolute = true;\n}};\n",
        escape(&format!("{} (tracemark clock {}): {}", clock.name, clock.id, clock.description)),
        clock.frequency,
        clock.precision,
    );
}

/// The complete TSDL metadata text for `metadata`, declaring stream classes
/// `data_stream_classes` (those with data packets) in addition to the declared ones.
#[cfg(test)]
pub(crate) fn metadata_text(metadata: &Metadata, data_stream_classes: &[u32]) -> String {
    let mut text = String::new();
    write_metadata_text(metadata, data_stream_classes, &mut text);
    text
}

/// Writes [`metadata_text`] block by block into `out`: a trace may declare hundreds of
/// thousands of environment entries, clocks or stream classes, each growing into more text
/// than its record, which a file writer then never holds whole.
pub(crate) fn write_metadata_text(
    metadata: &Metadata,
    data_stream_classes: &[u32],
    out: &mut dyn std::fmt::Write,
) {
    let order = match metadata.byte_order() {
        ByteOrder::Little => "le",
        ByteOrder::Big => "be",
    };
    let info = metadata.trace_info();
    let _ = out.write_str("/* CTF 1.8 */\n\n");
    let _ = writeln!(
        out,
        "/* Converted from a tracemark trace (wire format {}) by tracemark-export. */\n",
        metadata.version()
    );
    let _ = writeln!(
        out,
        "trace {{\n\tmajor = 1;\n\tminor = 8;\n\tuuid = \"{}\";\n\tbyte_order = {order};\n\
         \tpacket.header := struct {{\n\t\t{UINT32} magic;\n\t\t{UINT8} uuid[16];\n\
         \t\t{UINT32} stream_id;\n\t\t{UINT64} stream_instance_id;\n\t}} align(8);\n}};\n",
        uuid_string(&metadata.uuid()),
    );

    // Environment: the TRACE record under the names LTTng uses, then the ENV records (§7.9),
    // each name once, in first-set order, with the value last set for it (two keys may make
    // the same identifier). Names are looked up in a map borrowing them, since a trace may
    // declare hundreds of thousands of entries.
    let quoted = |text: &str| format!("\"{}\"", escape(text));
    let version = metadata.version().to_string();
    let fixed: [(&str, &str); 7] = [
        ("hostname", &info.hostname),
        ("sysname", &info.os_name),
        ("kernel_release", &info.os_release),
        ("architecture", &info.architecture),
        ("tracer_name", &info.tracer_name),
        ("tracer_version", &info.tracer_version),
        ("tracemark_version", &version),
    ];
    let env = metadata.env();
    let env_names: Vec<String> = env.iter().map(|entry| identifier(&entry.key)).collect();
    let names = || fixed.iter().map(|(name, _)| *name).chain(env_names.iter().map(String::as_str));
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (at, name) in names().enumerate() {
        last.insert(name, at);
    }
    let _ = out.write_str("env {\n");
    for name in names() {
        // The first time a name comes, with its last value; later times find it gone.
        let Some(at) = last.remove(name) else { continue };
        let value = match at.checked_sub(fixed.len()).and_then(|at| env.get(at)) {
            Some(entry) => match &entry.value {
                EnvValue::Str(text) => quoted(text),
                EnvValue::Int(number) => number.to_string(),
            },
            None => quoted(fixed.get(at).map_or("", |(_, value)| value)),
        };
        let _ = writeln!(out, "\t{name} = {value};");
    }
    let _ = out.write_str("};\n\n");

    let clocks = clock_names(metadata);
    for (id, name) in &clocks {
        if let Some(clock) = metadata.clock(*id) {
            clock_block(out, clock, name);
        }
    }

    let mut stream_ids: Vec<u32> = metadata.stream_classes().map(|class| class.id).collect();
    stream_ids.extend(metadata.event_classes().map(|class| class.stream_class_id));
    stream_ids.extend_from_slice(data_stream_classes);
    stream_ids.sort_unstable();
    stream_ids.dedup();
    for stream_id in stream_ids {
        let clock = metadata
            .stream_clock(stream_id)
            .and_then(|clock| clocks.binary_search_by_key(&clock.id, |(id, _)| *id).ok())
            .and_then(|at| clocks.get(at))
            .map(|(_, name)| name.as_str());
        let timestamp = |bits: u32| match clock {
            Some(name) => {
                format!("integer {{ size = {bits}; align = 8; signed = false; map = clock.{name}.value; }}")
            }
            None => format!("integer {{ size = {bits}; align = 8; signed = false; }}"),
        };
        let (ts48, ts64) = (timestamp(48), timestamp(64));
        let id16 = "enum : integer { size = 16; align = 8; signed = false; } \
                    { compact = 0 ... 65534, extended = 65535 } id;";
        let variant = format!(
            "variant <id> {{\n\t\t\tstruct {{ }} compact;\n\t\t\tstruct {{\n\t\t\t\t{UINT32} id;\n\
             \t\t\t\t{ts64} timestamp;\n\t\t\t}} extended;\n\t\t}} v;"
        );
        let header = match metadata.byte_order() {
            ByteOrder::Little => format!("\t\t{ts48} timestamp;\n\t\t{id16}\n\t\t{variant}"),
            ByteOrder::Big => format!("\t\t{id16}\n\t\t{ts48} timestamp;\n\t\t{variant}"),
        };
        let _ = writeln!(
            out,
            "stream {{\n\tid = {stream_id};\n\tpacket.context := struct {{\n\t\t{ts64} timestamp_begin;\n\
             \t\t{ts64} timestamp_end;\n\t\t{UINT64} content_size;\n\t\t{UINT64} packet_size;\n\
             \t\t{UINT64} packet_seq_num;\n\t\t{UINT64} events_discarded;\n\t\t{UINT32} cpu_id;\n\
             \t}} align(8);\n\tevent.header := struct {{\n{header}\n\t}} align(8);\n}};\n"
        );
    }

    let types = Types { metadata };
    for class in metadata.event_classes() {
        // A class whose fields do not parse is not in `event_classes` (the reader reports
        // it); this only guards the API.
        let Ok(fields) = class.fields() else { continue };
        let hints = metadata.display_hints(class.id);
        let _ = write!(
            out,
            "event {{\n\tname = \"{}\";\n\tid = {};\n\tstream_id = {};\n",
            escape(&class.name),
            class.id,
            class.stream_class_id
        );
        if class.log_level <= 7 {
            let _ = writeln!(out, "\tloglevel = {};", class.log_level);
        }
        let _ = out.write_str("\tfields := ");
        types.write_structure(out, &fields, hints, 1);
        let _ = out.write_str(";\n};\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracemark_format::{Abi, ByteOrder};

    fn metadata_of(abi: Abi, fields: Vec<Field>) -> tracemark_reader::Trace {
        use tracemark_conformance::{rust_writer, ClassSpec, Scenario};
        let scenario = Scenario { abi, classes: vec![ClassSpec::new("c", fields)], ..Scenario::default() };
        tracemark_reader::Trace::from_bytes(rust_writer::single_file(&scenario).unwrap()).unwrap()
    }

    #[test]
    fn escapes_and_identifiers() {
        assert_eq!(escape("a\"b\\c\nd\u{1}é"), "a\\\"b\\\\c\\nd\\x01é");
        assert_eq!(identifier("sched:switch"), "sched_switch");
        assert_eq!(identifier("3d"), "_3d");
        assert_eq!(identifier(""), "_");
    }

    #[test]
    fn member_names_survive_underscore_stripping_without_clashes() {
        let fields: Vec<Field> = ["x", "_x_length", "event", "_y", "y"]
            .iter()
            .map(|name| Field::new(*name, TypeDesc::Bool))
            .collect();
        let mut members = Members::new(&fields);
        // `x`'s length would show as `_x_length`, a field, or as `__x_length`, that field's raw
        // name, which babeltrace2 2.0 rejects as a duplicate.
        assert_eq!(members.length("x"), "____x_length");
        assert_eq!(members.field("x"), "x");
        assert_eq!(members.field("_x_length"), "__x_length");
        assert_eq!(members.field("event"), "_event");
        assert_eq!(members.field("_y"), "__y");
        assert_eq!(members.field("y"), "y");
        // A keyword after the field that shows as its escaped form keeps a distinct raw name.
        let fields = [Field::new("_int", TypeDesc::Bool), Field::new("int", TypeDesc::Bool)];
        let mut members = Members::new(&fields);
        assert_eq!(members.field("_int"), "__int");
        assert_eq!(members.field("int"), "_int_");
    }

    #[test]
    fn enumerations_keep_the_first_match_with_disjoint_clipped_ranges() {
        let trace = metadata_of(Abi::lp64(ByteOrder::Little), vec![]);
        let mapping =
            |label: &str, lo: i64, hi: i64| EnumMapping { label: label.into(), lo: lo as u64, hi: hi as u64 };
        let ranges = disjoint_ranges(
            IntType::I8,
            &[mapping("A", 0, 10), mapping("B", 5, 20), mapping("C", -300, 300), mapping("D", 3, 1)],
            trace.metadata(),
        );
        let expected = [("A", 0, 10), ("B", 11, 20), ("C", -128, -1), ("C", 21, 127)];
        let ranges: Vec<(&str, i128, i128)> =
            ranges.iter().map(|(label, lo, hi)| (label.as_str(), *lo, *hi)).collect();
        assert_eq!(ranges, expected);
        // An unsigned 64-bit bound stays unsigned.
        let ranges = disjoint_ranges(IntType::U64, &[mapping("MAX", -1, -1)], trace.metadata());
        assert_eq!(ranges, [("MAX".to_string(), i128::from(u64::MAX), i128::from(u64::MAX))]);
    }

    #[test]
    fn disjoint_ranges_label_every_value_as_its_first_matching_mapping() {
        let trace = metadata_of(Abi::lp64(ByteOrder::Little), vec![]);
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = |bound: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % bound
        };
        for _ in 0..2_000 {
            let mappings: Vec<EnumMapping> = (0..next(12))
                .map(|index| {
                    let (a, b) = (next(300), next(300));
                    EnumMapping { label: format!("L{index}"), lo: a.min(b), hi: a.max(b) }
                })
                .collect();
            let ranges = disjoint_ranges(IntType::U8, &mappings, trace.metadata());
            for value in 0..=255i128 {
                let expected = mappings
                    .iter()
                    .find(|mapping| i128::from(mapping.lo) <= value && value <= i128::from(mapping.hi))
                    .map(|mapping| mapping.label.as_str());
                let found: Vec<&str> = ranges
                    .iter()
                    .filter(|(_, lo, hi)| *lo <= value && value <= *hi)
                    .map(|(label, _, _)| label.as_str())
                    .collect();
                assert_eq!(found, expected.into_iter().collect::<Vec<_>>(), "{value} under {mappings:?}");
            }
        }
    }

    #[test]
    fn sixty_five_thousand_fields_and_mappings_are_named_and_ranged_in_one_pass() {
        // Quadratic naming or range merging took minutes here; a linear pass takes milliseconds
        // even unoptimised.
        let fields: Vec<Field> =
            (0..65_535).map(|index| Field::new(format!("f{index}"), TypeDesc::Bool)).collect();
        let mut members = Members::new(&fields);
        for field in &fields {
            assert_eq!(members.field(&field.name), field.name);
        }
        let trace = metadata_of(Abi::lp64(ByteOrder::Little), vec![]);
        let mappings: Vec<EnumMapping> = (0..65_535u64)
            .map(|index| EnumMapping { label: format!("L{index}"), lo: index * 2, hi: index * 2 })
            .collect();
        assert_eq!(disjoint_ranges(IntType::U32, &mappings, trace.metadata()).len(), 65_535);
        // Each mapping around all the earlier ones: two new ranges each, under the range limit.
        let nested: Vec<EnumMapping> = (0..32_000u64)
            .map(|index| EnumMapping { label: format!("L{index}"), lo: 40_000 - index, hi: 40_000 + index })
            .collect();
        assert_eq!(disjoint_ranges(IntType::U32, &nested, trace.metadata()).len(), 1 + 2 * 31_999);
    }

    #[test]
    fn the_header_word_order_follows_the_byte_order_and_sizes_follow_the_abi() {
        let fields = vec![
            Field::new("n", TypeDesc::Int(IntType::Abi(AbiInt::Long))),
            Field::new("raw", TypeDesc::Blob),
            Field::new("nested", TypeDesc::sequence(TypeDesc::array(2, TypeDesc::sequence(TypeDesc::Bool)))),
        ];
        for (abi, first, long_bits) in
            [(Abi::lp64(ByteOrder::Little), "timestamp;", 64), (Abi::ilp32(ByteOrder::Big), "} id;", 32)]
        {
            let trace = metadata_of(abi, fields.clone());
            let text = metadata_text(trace.metadata(), &[]);
            let header = text.split("event.header := struct {").nth(1).unwrap();
            let first_line = header.lines().nth(1).unwrap();
            assert!(first_line.ends_with(first), "{first_line}");
            assert!(text.contains(&format!("size = {long_bits}; align = 8; signed = true; base = 10; }} n;")));
            assert!(text.contains("__raw_length;") && text.contains(" raw[__raw_length];"), "{text}");
            // The inner sequence is wrapped in a structure, its length declared inside it.
            assert!(text.contains("__nested_length;"), "{text}");
            assert!(text.contains("__elements_length;") && text.contains(" elements[__elements_length];"));
            assert!(text.contains("} align(8) nested[__nested_length][2];"), "{text}");
        }
    }
}
