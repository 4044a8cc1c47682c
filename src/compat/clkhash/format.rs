//! Field formats: clkhash's validation of a raw value and the form it is hashed in.
//!
//! For each hashed feature of a row, in this order (clkhash `field_formats.py`):
//!
//! 1. a value equal to the feature's missing-value sentinel skips validation and is replaced by
//!    `replaceWith` (the sentinel itself if none is given);
//! 2. otherwise the value must be encodable in the feature's encoding (`ascii` refuses other
//!    characters), then pass its format's checks: the full-match pattern, or length (in
//!    characters) and case for strings; Python's `int()` and the bounds for integers;
//!    `strptime` for dates; membership for enums;
//! 3. it is then normalised: integers as Python's `str(int(v))` (`" +007"` -> `"7"`), dates as
//!    `%Y%m%d`; strings and enums unchanged (no trimming: clkhash hashes spaces too).
//!
//! A value that fails becomes a [`Invalid`] with a stable code; the reason names the rule but
//! never repeats the value, so rejects reports can be shared.

use regex::Regex;

use super::pynum::PyInt;
use super::schema::{Case, Format, Hashing, MissingValue, TextEncoding, compile_pattern};
use super::strptime::DateFormat;

/// Why a value fails its feature's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Stable code.
    pub code: &'static str,
    /// For people; never contains the value.
    pub reason: String,
}

fn fail(code: &'static str, reason: impl Into<String>) -> Invalid {
    Invalid {
        code,
        reason: reason.into(),
    }
}

/// A feature's format, compiled.
#[derive(Debug, Clone)]
pub(crate) struct FieldFormat {
    kind: Kind,
    encoding: TextEncoding,
    missing: Option<MissingValue>,
}

#[derive(Debug, Clone)]
enum Kind {
    String {
        case: Case,
        min_length: Option<u64>,
        max_length: Option<u64>,
    },
    Pattern(Regex, String),
    Integer {
        minimum: Option<i64>,
        maximum: Option<i64>,
    },
    Date(DateFormat, String),
    Enum(Vec<String>),
}

impl FieldFormat {
    /// Compiles a feature's format. The schema was validated, so patterns and date formats
    /// compile.
    pub(crate) fn new(h: &Hashing) -> FieldFormat {
        let kind = match &h.format {
            Format::String {
                case,
                min_length,
                max_length,
            } => Kind::String {
                case: *case,
                min_length: *min_length,
                max_length: *max_length,
            },
            Format::Pattern { pattern } => Kind::Pattern(
                compile_pattern(pattern).expect("validated schema pattern compiles"),
                pattern.clone(),
            ),
            Format::Integer { minimum, maximum } => Kind::Integer {
                minimum: *minimum,
                maximum: *maximum,
            },
            Format::Date { format } => Kind::Date(
                DateFormat::new(format).expect("validated schema date format compiles"),
                format.clone(),
            ),
            Format::Enum { values } => Kind::Enum(values.clone()),
        };
        FieldFormat {
            kind,
            encoding: h.encoding,
            missing: h.missing_value.clone(),
        }
    }

    /// Validates `raw` and writes the value to tokenize into `out` (cleared first).
    pub(crate) fn prepare(
        &self,
        raw: &str,
        out: &mut String,
        int: &mut PyInt,
    ) -> Result<(), Invalid> {
        out.clear();
        if let Some(m) = &self.missing
            && m.sentinel == raw
        {
            out.push_str(&m.replace_with);
            return Ok(());
        }
        if self.encoding == TextEncoding::Ascii && !raw.is_ascii() {
            return Err(fail(
                "invalid-encoding",
                "expected text that can be encoded as ascii",
            ));
        }
        match &self.kind {
            Kind::String {
                case,
                min_length,
                max_length,
            } => {
                let len = raw.chars().count() as u64;
                if let Some(min) = min_length
                    && len < *min
                {
                    return Err(fail(
                        "too-short",
                        format!("expected a string of at least {min} characters, found {len}"),
                    ));
                }
                if let Some(max) = max_length
                    && len > *max
                {
                    return Err(fail(
                        "too-long",
                        format!("expected a string of at most {max} characters, found {len}"),
                    ));
                }
                if !case_ok(raw, *case) {
                    let which = if *case == Case::Upper {
                        "upper"
                    } else {
                        "lower"
                    };
                    return Err(fail("wrong-case", format!("expected {which} case")));
                }
                out.push_str(raw);
            }
            Kind::Pattern(re, pattern) => {
                if !re.is_match(raw) {
                    return Err(fail(
                        "pattern-mismatch",
                        format!("expected a value matching the regular expression `{pattern}`"),
                    ));
                }
                out.push_str(raw);
            }
            Kind::Integer { minimum, maximum } => {
                if !int.parse_into(raw) {
                    return Err(fail("invalid-integer", "expected a base-10 integer"));
                }
                if let Some(min) = minimum
                    && int.cmp_i64(*min).is_lt()
                {
                    return Err(fail(
                        "integer-out-of-range",
                        format!("expected an integer of at least {min}"),
                    ));
                }
                if let Some(max) = maximum
                    && int.cmp_i64(*max).is_gt()
                {
                    return Err(fail(
                        "integer-out-of-range",
                        format!("expected an integer of at most {max}"),
                    ));
                }
                int.write_into(out);
            }
            Kind::Date(parser, format) => match parser.parse(raw) {
                Ok(date) => date.write_ymd(out),
                Err(e) => {
                    return Err(fail(
                        "invalid-date",
                        format!("not a date in the format `{format}`: {e}"),
                    ));
                }
            },
            Kind::Enum(values) => {
                if !values.iter().any(|v| v == raw) {
                    return Err(fail(
                        "not-in-enum",
                        format!("expected one of the {} values of the enum", values.len()),
                    ));
                }
                out.push_str(raw);
            }
        }
        Ok(())
    }
}

/// Python's `s.upper() == s` / `s.lower() == s` (full Unicode case mappings, final sigma
/// included on both sides).
fn case_ok(s: &str, case: Case) -> bool {
    match case {
        Case::Mixed => true,
        Case::Upper if s.is_ascii() => !s.bytes().any(|b| b.is_ascii_lowercase()),
        Case::Lower if s.is_ascii() => !s.bytes().any(|b| b.is_ascii_uppercase()),
        Case::Upper => s.to_uppercase() == s,
        Case::Lower => s.to_lowercase() == s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::clkhash::schema::Schema;

    fn format(format: &str, missing: &str) -> FieldFormat {
        let text = format!(
            r#"{{"version": 3, "clkConfig": {{"l": 64, "kdf": {{"type": "HKDF"}}}},
              "features": [{{"identifier": "f", "format": {format},
                "hashing": {{"comparison": {{"type": "exact"}}, "strategy": {{"bitsPerToken": 1}}{missing}}}}}]}}"#
        );
        let schema = Schema::from_json_str(&text).unwrap();
        FieldFormat::new(schema.features[0].hashing.as_ref().unwrap())
    }

    fn prep(f: &FieldFormat, raw: &str) -> Result<String, &'static str> {
        let mut out = String::new();
        f.prepare(raw, &mut out, &mut PyInt::default())
            .map(|()| out)
            .map_err(|e| e.code)
    }

    #[test]
    fn strings() {
        let f = format(
            r#"{"type": "string", "case": "upper", "minLength": 2, "maxLength": 3}"#,
            "",
        );
        assert_eq!(prep(&f, "ÅB"), Ok("ÅB".into()));
        assert_eq!(prep(&f, "A"), Err("too-short"));
        assert_eq!(prep(&f, "ABCD"), Err("too-long"));
        assert_eq!(prep(&f, "Ab"), Err("wrong-case"));
        assert_eq!(prep(&f, "ßA"), Err("wrong-case"), "'ß'.upper() is 'SS'");
        let f = format(
            r#"{"type": "string", "encoding": "ascii", "case": "lower"}"#,
            "",
        );
        assert_eq!(prep(&f, " a b "), Ok(" a b ".into()));
        assert_eq!(prep(&f, "zoë"), Err("invalid-encoding"));
        let f = format(r#"{"type": "string", "pattern": "[A-Z]{2}[0-9]?"}"#, "");
        assert_eq!(prep(&f, "AB1"), Ok("AB1".into()));
        assert_eq!(prep(&f, "AB12"), Err("pattern-mismatch"));
        assert_eq!(prep(&f, "xAB1"), Err("pattern-mismatch"));
    }

    #[test]
    fn integers_dates_enums() {
        let f = format(r#"{"type": "integer", "minimum": 0, "maximum": 120}"#, "");
        assert_eq!(prep(&f, " +007"), Ok("7".into()));
        assert_eq!(prep(&f, "-0"), Ok("0".into()));
        assert_eq!(prep(&f, "1_2"), Ok("12".into()));
        assert_eq!(prep(&f, "121"), Err("integer-out-of-range"));
        assert_eq!(prep(&f, "-1"), Err("integer-out-of-range"));
        assert_eq!(prep(&f, "1.0"), Err("invalid-integer"));
        assert_eq!(prep(&f, ""), Err("invalid-integer"));
        let f = format(r#"{"type": "date", "format": "%d/%m/%Y"}"#, "");
        assert_eq!(prep(&f, "1/2/1990"), Ok("19900201".into()));
        assert_eq!(prep(&f, "30/2/1990"), Err("invalid-date"));
        let f = format(r#"{"type": "enum", "values": ["M", "F"]}"#, "");
        assert_eq!(prep(&f, "F"), Ok("F".into()));
        assert_eq!(prep(&f, "f"), Err("not-in-enum"));
    }

    #[test]
    fn sentinels_skip_validation() {
        let f = format(
            r#"{"type": "date", "format": "%Y"}"#,
            r#", "missingValue": {"sentinel": "N/A", "replaceWith": "x"}"#,
        );
        assert_eq!(prep(&f, "N/A"), Ok("x".into()));
        assert_eq!(prep(&f, "n/a"), Err("invalid-date"));
        let f = format(
            r#"{"type": "integer"}"#,
            r#", "missingValue": {"sentinel": "unknown"}"#,
        );
        assert_eq!(
            prep(&f, "unknown"),
            Ok("unknown".into()),
            "no replaceWith: the sentinel is hashed"
        );
    }
}
