//! The vocabulary every module's errors share: a *kind* with a stable code, and a position.
//!
//! Each module has its own error type (`ClkError`, `MatchError`, ...), a `thiserror` enum whose
//! variants carry the facts (the file, the row, the values that disagree). Beside it sits a
//! fieldless *kind* enum, declared with [`error_kinds!`](crate::error_kinds), whose codes are
//! stable strings like the reject codes (`clk-checksum`, `match-key-mismatch`): front ends
//! match on kinds and map them to exit codes, HTTP statuses or hints; tests match on kinds, never
//! on message text. Messages say what is wrong and where, in the library's own words: they name
//! no command-line flag (the CLI adds its hints by kind) and quote no input value.
//!
//! A leaf module: it imports nothing from the crate.

use serde::Serialize;

/// An error with a stable, machine-readable code (kebab-case, never reused or changed).
pub trait Coded {
    /// The error's stable code.
    fn code(&self) -> &'static str;
}

/// Where in an input a problem was found. Each part is optional; rows count data rows from 1
/// (the header is not a row), lines count physical lines from 1, bytes count from 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Position {
    /// The file (as given), if the input is a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The data row, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// The physical line, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The byte offset, from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte: Option<u64>,
    /// The field or column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Position {
    /// A position in the file `path`, nothing more precise.
    pub fn file(path: impl Into<String>) -> Position {
        Position {
            path: Some(path.into()),
            ..Position::default()
        }
    }

    /// This position at data row `row` and physical line `line`.
    pub fn at_row(mut self, row: u64, line: u64) -> Position {
        self.row = Some(row);
        self.line = Some(line);
        self
    }

    /// This position at byte offset `byte`.
    pub fn at_byte(mut self, byte: u64) -> Position {
        self.byte = Some(byte);
        self
    }

    /// This position in field `field`.
    pub fn in_field(mut self, field: impl Into<String>) -> Position {
        self.field = Some(field.into());
        self
    }
}

impl std::fmt::Display for Position {
    /// `FILE, row R (line L), byte B, field `F``: the parts that are known.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(p) = &self.path {
            parts.push(p.clone());
        }
        match (self.row, self.line) {
            (Some(r), Some(l)) => parts.push(format!("row {r} (line {l})")),
            (Some(r), None) => parts.push(format!("row {r}")),
            (None, Some(l)) => parts.push(format!("line {l}")),
            (None, None) => {}
        }
        if let Some(b) = self.byte {
            parts.push(format!("byte {b}"));
        }
        if let Some(field) = &self.field {
            parts.push(format!("field `{field}`"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Declares an error-kind enum: fieldless variants, each with its stable code.
///
/// ```
/// pprl::error_kinds! {
///     /// What can go wrong reading a widget.
///     pub enum WidgetErrorKind {
///         /// The file could not be read.
///         Io => "widget-io",
///         /// The file is not a widget.
///         NotWidget => "widget-not-widget",
///     }
/// }
/// use pprl::error::Coded as _;
/// assert_eq!(WidgetErrorKind::NotWidget.code(), "widget-not-widget");
/// assert_eq!(WidgetErrorKind::ALL.len(), 2);
/// ```
///
/// The enum is `Copy`, compares by variant, serialises as its code and displays as its code;
/// `ALL` lists every kind (for documentation and for tests that codes are unique).
#[macro_export]
macro_rules! error_kinds {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every kind, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The kind's stable code.
            pub const fn code(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }
        }

        impl $crate::error::Coded for $name {
            fn code(&self) -> &'static str {
                (*self).code()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str((*self).code())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str((*self).code())
            }
        }
    };
}

/// `s` with every control character (and U+2028/U+2029) shown as `\u{..}`, for names
/// (files, columns) that a message echoes: a name cannot move the terminal's cursor, change
/// its colours or start a new line that looks like the tool's own.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// A parser's message (TOML, JSON, CSV) without the input it may quote: every double-quoted
/// string becomes `"…"`, anything after the first line (a quoted source line with a caret) is
/// dropped, back-quoted names longer than 64 characters become `` `…` ``, and control
/// characters are escaped. What is left is the parser's kind of error and the names (keys,
/// variants) it expected or found, never a value or a line of the file.
pub fn scrub_parser_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or("").trim_end();
    let mut out = String::with_capacity(first.len());
    let mut chars = first.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut escaped = false;
                for d in chars.by_ref() {
                    match d {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                out.push_str("\"…\"");
            }
            '`' => {
                let name: String = chars.by_ref().take_while(|&d| d != '`').collect();
                if name.chars().count() > 64 {
                    out.push_str("`…`");
                } else {
                    out.push('`');
                    out.push_str(&name);
                    out.push('`');
                }
            }
            _ => out.push(c),
        }
    }
    escape_controls(&out)
}

/// Line and column (both from 1) of byte offset `at` in `text`.
pub fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..at.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::error_kinds! {
        /// Test kinds.
        pub enum TestKind {
            /// A.
            A => "test-a",
            /// B.
            B => "test-b",
        }
    }

    #[test]
    fn parser_messages_lose_what_they_quote() {
        let m = "invalid type: string \"CANARY-\\\"x\", expected struct S at line 1 column 9";
        assert_eq!(
            scrub_parser_message(m),
            "invalid type: string \"…\", expected struct S at line 1 column 9"
        );
        let m = "TOML parse error at line 1\n  |\n1 | CANARY\n  | ^\nkey with no value";
        assert_eq!(scrub_parser_message(m), "TOML parse error at line 1");
        assert_eq!(
            scrub_parser_message("unknown field `kindd`, expected `kind`"),
            "unknown field `kindd`, expected `kind`"
        );
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(escape_controls("a\u{1b}[1mb\nc"), "a\\u{1b}[1mb\\u{a}c");
        assert_eq!(escape_controls("plain é"), "plain é");
    }

    #[test]
    fn kinds_have_codes_and_serialise_as_them() {
        assert_eq!(TestKind::A.code(), "test-a");
        assert_eq!(TestKind::B.to_string(), "test-b");
        assert_eq!(serde_json::to_string(&TestKind::B).unwrap(), "\"test-b\"");
        assert_eq!(Coded::code(&TestKind::A), "test-a");
        assert_eq!(TestKind::ALL, &[TestKind::A, TestKind::B]);
    }

    #[test]
    fn positions_show_what_is_known() {
        let p = Position::file("a.csv").at_row(3, 4).in_field("dob");
        assert_eq!(p.to_string(), "a.csv, row 3 (line 4), field `dob`");
        assert_eq!(
            Position::file("x.clk").at_byte(12).to_string(),
            "x.clk, byte 12"
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"path": "a.csv", "row": 3, "line": 4, "field": "dob"})
        );
    }
}
