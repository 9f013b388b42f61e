//! Requirement IDs: every MUST of `spec/SPEC.md`, and each other rule a tool checks, carries a
//! tag `**[R-4.2-1]**` after its clause. This module extracts them, checks that no MUST is
//! left untagged, and renders `spec/requirements.toml`.
//!
//! ```
//! let requirements = tracemark_conformance::requirements::all();
//! let crc = requirements.iter().find(|requirement| requirement.id == "R-4.4-2").unwrap();
//! assert_eq!(crc.section, "4.4");
//! assert_eq!(crc.level, tracemark_conformance::requirements::Level::Must);
//! ```

use std::{collections::BTreeMap, fmt, sync::OnceLock};

/// The specification text this crate was built with.
pub const SPEC_TEXT: &str = include_str!("../../spec/SPEC.md");

const TAG_OPEN: &str = "**[R-";
const TAG_CLOSE: &str = "]**";

/// How binding a requirement is, from the keyword in its clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// A rule stated without an RFC 2119 keyword ("other values are malformed").
    Definition,
    /// SHOULD or SHOULD NOT: a violation is a warning.
    Should,
    /// MUST or MUST NOT.
    Must,
}

impl Level {
    /// `must`, `should` or `definition`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::Definition => "definition",
        }
    }
}

/// One tagged requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// `R-4.2-1`.
    pub id: String,
    /// `4.2`.
    pub section: String,
    /// The strongest keyword of its clause (of all its clauses, when tagged twice).
    pub level: Level,
    /// The sentence(s) carrying the tag, tags removed, whitespace collapsed.
    pub text: String,
}

/// Why the specification's tags are not well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    /// A MUST with no tag after it in its sentence.
    UntaggedMust {
        /// 1-based line of the MUST.
        line: usize,
        /// The sentence.
        sentence: String,
    },
    /// `**[R-` without a well-formed `section-number]**`.
    MalformedTag {
        /// 1-based line.
        line: usize,
    },
    /// A tag whose section is not the section of any paragraph carrying it.
    WrongSection {
        /// The ID.
        id: String,
    },
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::UntaggedMust { line, sentence } => {
                write!(f, "line {line}: MUST without a requirement tag: {sentence}")
            }
            SpecError::MalformedTag { line } => write!(f, "line {line}: malformed requirement tag"),
            SpecError::WrongSection { id } => {
                write!(f, "{id} is not tagged in any paragraph of its own section")
            }
        }
    }
}

impl std::error::Error for SpecError {}

/// Every requirement of [`SPEC_TEXT`], in order of first appearance.
///
/// # Panics
///
/// If the built-in specification's tags are malformed, which the crate's tests rule out.
pub fn all() -> &'static [Requirement] {
    static ALL: OnceLock<Vec<Requirement>> = OnceLock::new();
    ALL.get_or_init(|| match parse(SPEC_TEXT) {
        Ok(requirements) => requirements,
        Err(errors) => panic!("spec/SPEC.md requirement tags: {}", errors[0]),
    })
}

/// The requirement with this ID.
pub fn get(id: &str) -> Option<&'static Requirement> {
    all().iter().find(|requirement| requirement.id == id)
}

/// A sentence: a byte range of the body and the section of its paragraph.
struct Sentence<'a> {
    text: &'a str,
    start: usize,
    section: &'a str,
}

/// Where sentences end: after `.` followed by whitespace (and any tags right after it), at a
/// table cell border, at a list item, at a blank line.
fn sentences(body: &str) -> Vec<Sentence<'_>> {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut section = "";
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let line_start = at == 0 || bytes[at - 1] == b'\n';
        if line_start {
            if let Some(number) = paragraph_number(&body[at..]) {
                section = number;
            }
        }
        let end_here = match bytes[at] {
            b'|' => Some(at + 1),
            b'\n' if body[at + 1..].starts_with('\n') || body[at + 1..].starts_with("- ") => Some(at + 1),
            b'.' if bytes.get(at + 1).is_none_or(|next| next.is_ascii_whitespace())
                && !body[..at].ends_with("e.g")
                && !body[..at].ends_with("i.e") =>
            {
                Some(skip_tags(body, at + 1))
            }
            _ => None,
        };
        if let Some(end) = end_here {
            if body[start..end].trim().len() > 1 {
                out.push(Sentence { text: &body[start..end], start, section });
            }
            start = end;
            at = end.max(at + 1);
        } else {
            at += 1;
        }
    }
    if start < body.len() {
        out.push(Sentence { text: &body[start..], start, section });
    }
    out
}

/// `4.2` for a line starting `4.2. `.
fn paragraph_number(line: &str) -> Option<&str> {
    let end = line.find(". ")?;
    let number = &line[..end];
    let mut parts = number.split('.');
    let valid = parts.clone().count() == 2
        && parts.all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    valid.then_some(number)
}

/// The position after any tags (and the spaces before them) following `at`.
fn skip_tags(body: &str, mut at: usize) -> usize {
    loop {
        let rest = &body[at..];
        let trimmed = rest.trim_start_matches([' ', '\t']);
        if !trimmed.starts_with(TAG_OPEN) {
            return at;
        }
        let Some(close) = trimmed.find(TAG_CLOSE) else { return at };
        at += rest.len() - trimmed.len() + close + TAG_CLOSE.len();
    }
}

/// For a sentence that is a table cell, the row's first cell in backticks (the field it
/// describes), which the cell's own text does not repeat.
fn table_row_name<'a>(body: &'a str, start: usize, sentence: &str) -> Option<&'a str> {
    if !sentence.trim_end().ends_with('|') {
        return None;
    }
    let line_start = body[..start].rfind('\n').map_or(0, |at| at + 1);
    let line_end = body[start..].find('\n').map_or(body.len(), |at| start + at);
    let line = &body[line_start..line_end];
    line.split('|').map(str::trim).find(|cell| cell.starts_with('`') && cell.ends_with('`'))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn level_of(clause: &str) -> Level {
    if clause.contains("MUST") {
        Level::Must
    } else if clause.contains("SHOULD") {
        Level::Should
    } else {
        Level::Definition
    }
}

fn strip_tags(sentence: &str) -> String {
    let mut out = String::with_capacity(sentence.len());
    let mut rest = sentence;
    while let Some(open) = rest.find(TAG_OPEN) {
        out.push_str(&rest[..open]);
        match rest[open..].find(TAG_CLOSE) {
            Some(close) => rest = &rest[open + close + TAG_CLOSE.len()..],
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut text = collapsed.trim_matches(|c: char| c == '|' || c == ' ');
    text = text.strip_prefix("- ").unwrap_or(text);
    // A paragraph's bold title (`**Truncated packet.** `) is not part of the rule.
    if let Some(rest) = text.strip_prefix("**").and_then(|rest| rest.split_once(".** ")) {
        text = rest.1;
    }
    text.replace(" ,", ",").replace(" ;", ";").replace(" :", ":")
}

/// Extracts the requirements of a specification text. The text before the first `## `
/// heading (the conventions, which name the keywords) is not read.
pub fn parse(spec: &str) -> Result<Vec<Requirement>, Vec<SpecError>> {
    let body_start = spec.find("\n## ").map_or(0, |at| at + 1);
    let body = &spec[body_start..];
    let mut errors = Vec::new();
    let mut found: Vec<Requirement> = Vec::new();
    let mut own_section: BTreeMap<String, bool> = BTreeMap::new();
    for sentence in sentences(body) {
        let line = |offset: usize| line_of(spec, body_start + sentence.start + offset);
        let mut clause_start = 0;
        let mut search = 0;
        let mut tags = Vec::new();
        while let Some(open) = sentence.text[search..].find(TAG_OPEN) {
            let open = search + open;
            let id_start = open + TAG_OPEN.len() - 2;
            let Some(close) = sentence.text[open..].find(TAG_CLOSE) else {
                errors.push(SpecError::MalformedTag { line: line(open) });
                break;
            };
            let id = &sentence.text[id_start..open + close];
            let section = id.get(2..).and_then(|rest| rest.rsplit_once('-')).map(|(section, _)| section);
            let well_formed = section.is_some_and(|section| {
                section.split('.').all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
            }) && id
                .rsplit('-')
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            match section {
                Some(section) if well_formed => {
                    tags.push((open, id, section, &sentence.text[clause_start..open]))
                }
                _ => errors.push(SpecError::MalformedTag { line: line(open) }),
            }
            search = open + close + TAG_CLOSE.len();
            clause_start = search;
        }
        // Every MUST needs a tag after it in its sentence.
        let mut from = 0;
        while let Some(must) = sentence.text[from..].find("MUST") {
            let must = from + must;
            if !tags.iter().any(|(open, ..)| *open > must) {
                errors
                    .push(SpecError::UntaggedMust { line: line(must), sentence: strip_tags(sentence.text) });
                break;
            }
            from = must + 4;
        }
        let text = match table_row_name(body, sentence.start, sentence.text) {
            Some(name) => format!("{name}: {}", strip_tags(sentence.text)),
            None => strip_tags(sentence.text),
        };
        for (_, id, section, clause) in tags {
            let level = level_of(clause);
            let in_own = sentence.section == section;
            *own_section.entry(id.to_string()).or_default() |= in_own;
            match found.iter_mut().find(|known| known.id == id) {
                Some(known) => {
                    known.level = known.level.max(level);
                    if !known.text.contains(&text) {
                        known.text = format!("{} / {text}", known.text);
                    }
                }
                None => found.push(Requirement {
                    id: id.to_string(),
                    section: section.to_string(),
                    level,
                    text: text.clone(),
                }),
            }
        }
    }
    for (id, in_own) in own_section {
        if !in_own {
            errors.push(SpecError::WrongSection { id });
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

/// How a requirement is covered, for [`to_toml`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Names of the rules of [`crate::check`] that report violations of it.
    pub rules: Vec<String>,
    /// Names of the vectors that exercise it.
    pub vectors: Vec<String>,
    /// Tests of a writer's behaviour that no trace can show (see
    /// [`crate::harness::WRITER_TESTS`]).
    pub tests: Vec<String>,
}

fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| toml_string(item)).collect();
    format!("[{}]", quoted.join(", "))
}

/// `spec/requirements.toml`: one `[[requirement]]` table per ID, with how it is covered.
pub fn to_toml(requirements: &[Requirement], coverage: &BTreeMap<String, Coverage>) -> String {
    let mut out = String::from(
        "# Requirements of spec/SPEC.md, one per **[R-...]** tag. Generated: do not edit.\n\
         # Regenerate: TRACEMARK_UPDATE_VECTORS=1 cargo test -p tracemark-conformance --test requirements\n\
         # level: must (MUST/MUST NOT), should (SHOULD), definition (a rule stated without a keyword).\n\
         # rules: the `tracemark check` rules that report it; vectors: conformance/vectors cases exercising it;\n\
         # tests: conformance tests of a writer behaviour no trace can show.\n",
    );
    out.push_str(&format!("spec_version = {}\n", toml_string(tracemark_format::SPEC_VERSION)));
    for requirement in requirements {
        let covered = coverage.get(&requirement.id).cloned().unwrap_or_default();
        out.push_str("\n[[requirement]]\n");
        out.push_str(&format!("id = {}\n", toml_string(&requirement.id)));
        out.push_str(&format!("section = {}\n", toml_string(&requirement.section)));
        out.push_str(&format!("level = {}\n", toml_string(requirement.level.name())));
        out.push_str(&format!("text = {}\n", toml_string(&requirement.text)));
        out.push_str(&format!("rules = {}\n", toml_list(&covered.rules)));
        out.push_str(&format!("vectors = {}\n", toml_list(&covered.vectors)));
        out.push_str(&format!("tests = {}\n", toml_list(&covered.tests)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# Title\n\nThe key words MUST and SHOULD are RFC 2119's.\n\n## 1. Model\n\n\
        1.6. Numbers MUST start at 0 (§10.2). **[R-1.6-1]** Writers SHOULD be quick **[R-1.6-2]** and\n\
        MUST be right. **[R-1.6-3]**\n\n| a | b MUST be 1 **[R-2.1-1]** |\n\n2.1. Values are malformed. **[R-2.1-1]**\n";

    #[test]
    fn tags_are_extracted_with_their_clause_level() {
        let requirements = parse(SAMPLE).unwrap();
        let ids: Vec<&str> = requirements.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["R-1.6-1", "R-1.6-2", "R-1.6-3", "R-2.1-1"]);
        assert_eq!(requirements[0].text, "Numbers MUST start at 0 (§10.2).");
        assert_eq!(requirements[1].level, Level::Should);
        assert_eq!(requirements[2].level, Level::Must);
        assert_eq!(requirements[3].level, Level::Must, "the strongest of its two clauses");
        assert!(requirements[3].text.contains(" / "), "{}", requirements[3].text);
    }

    #[test]
    fn an_untagged_must_and_a_misplaced_tag_are_errors() {
        let untagged = SAMPLE.replace(" **[R-1.6-3]**", "");
        assert!(matches!(parse(&untagged).unwrap_err()[0], SpecError::UntaggedMust { line: 8, .. }));
        let misplaced = SAMPLE.replace("2.1. Values are malformed. **[R-2.1-1]**", "");
        assert_eq!(parse(&misplaced).unwrap_err(), [SpecError::WrongSection { id: "R-2.1-1".into() }]);
        let malformed = SAMPLE.replace("[R-1.6-1]", "[R-1.x-1]");
        assert!(matches!(parse(&malformed).unwrap_err()[0], SpecError::MalformedTag { .. }));
    }

    #[test]
    fn the_specification_tags_every_must() {
        let requirements = parse(SPEC_TEXT).unwrap_or_else(|errors| {
            panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
        });
        assert!(requirements.len() > 60, "{} requirements", requirements.len());
        let musts = SPEC_TEXT.split("\n## ").skip(1).map(|part| part.matches("MUST").count()).sum::<usize>();
        assert!(musts > 60);
    }
}
