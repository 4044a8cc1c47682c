//! Dates: declared input formats in, `YYYY-MM-DD` out.

use std::fmt::Write as _;

use chrono::{Datelike as _, NaiveDate};

use super::NormalizeError;
use crate::schema::DateFormats;

/// Parses dates with a list of `strftime` formats, compiled once (see [`DateFormats`] for the
/// rules: declared order, complete dates, years 1000 to 9999).
#[derive(Debug, Clone)]
pub struct DateParser {
    formats: DateFormats,
}

impl DateParser {
    /// Compiles the formats. Each must be a valid `strftime` pattern that determines year,
    /// month and day; the error names the first that does not.
    pub fn new(formats: &[String]) -> Result<DateParser, String> {
        Ok(DateParser {
            formats: DateFormats::new(formats)?,
        })
    }

    /// Parses `input` (surrounding whitespace ignored) into a date.
    pub fn parse(&self, input: &str) -> Result<NaiveDate, NormalizeError> {
        self.formats
            .parse(input)
            .ok_or_else(|| NormalizeError::InvalidDate {
                formats: self.formats.joined().to_string(),
            })
    }

    /// Parses `input` and appends the canonical `YYYY-MM-DD` form to `out`.
    pub(super) fn normalize_into(
        &self,
        input: &str,
        out: &mut String,
    ) -> Result<(), NormalizeError> {
        let d = self.parse(input)?;
        // Writing to a String cannot fail.
        let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
        Ok(())
    }
}
