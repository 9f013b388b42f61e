//! TSDL, the Trace Stream Description Language of CTF 1.8 metadata: its syntax tree and parser.
//!
//! ```
//! let text = "trace { major = 1; minor = 8; byte_order = le; };";
//! let metadata = tracemark_ctf::tsdl::parse(text).unwrap();
//! assert_eq!(metadata.items.len(), 1);
//!
//! let error = tracemark_ctf::tsdl::parse("trace {\n  major = ;\n};").unwrap_err();
//! assert_eq!((error.line, error.column), (2, 11));
//! ```

mod ast;
mod error;
mod grammar;

pub use self::ast::*;
pub use self::error::{Position, TsdlError};
pub use self::grammar::MAX_NESTING;

use winnow::{LocatingSlice, Parser};

/// Parses a metadata text. The error names the line and column where the text stops making
/// sense and what was expected there.
pub fn parse(text: &str) -> Result<Metadata, TsdlError> {
    grammar::metadata.parse(LocatingSlice::new(text)).map_err(|error| {
        let message =
            error.inner().context().next().map_or_else(|| "syntax error".to_owned(), ToString::to_string);
        TsdlError::at(text, error.offset(), message)
    })
}
