//! Errors located in the metadata text.

use std::fmt;

/// A line and column in a metadata text, both from 1; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` of `text` (clamped to its length and to a character
    /// boundary).
    pub fn of(text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        Position { line: saturate(line), column: saturate(column) }
    }
}

fn saturate(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The metadata text is not TSDL, or declares something a reader cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CTF metadata, line {line}, column {column}: {message}")]
pub struct TsdlError {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
    /// Byte offset in the text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl TsdlError {
    /// An error at byte `offset` of `text`.
    pub fn at(text: &str, offset: usize, message: impl Into<String>) -> TsdlError {
        let Position { line, column } = Position::of(text, offset);
        TsdlError { line, column, offset, message: message.into() }
    }
}
