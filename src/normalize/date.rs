//! Dates: declared input formats in, `YYYY-MM-DD` out.

use std::fmt::Write as _;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{Datelike as _, NaiveDate};

use super::NormalizeError;

/// Parses dates with a list of `strftime` formats, compiled once.
///
/// Formats are tried in the declared order and the first that yields a complete, valid calendar
/// date wins. Declare unambiguous formats: with both `%d/%m/%Y` and `%m/%d/%Y`, `01/02/2000`
/// is read with whichever comes first. Dates outside the years 1000 to 9999 are refused: `%Y`
/// accepts any number of digits, and `03/11/87` must not become the year 87.
#[derive(Debug, Clone)]
pub struct DateParser {
    formats: Vec<(String, Vec<Item<'static>>)>,
    joined: String,
}

impl DateParser {
    /// Compiles the formats. Each must be a valid `strftime` pattern that determines year,
    /// month and day; the error names the first that does not.
    pub fn new(formats: &[String]) -> Result<DateParser, String> {
        if formats.is_empty() {
            return Err(
                "`date` needs at least one input format, e.g. `formats = [\"%Y-%m-%d\"]`".into(),
            );
        }
        let mut compiled = Vec::with_capacity(formats.len());
        for f in formats {
            let items: Vec<Item<'static>> = StrftimeItems::new(f)
                .parse_to_owned()
                .map_err(|_| format!("`{f}` is not a valid strftime date format"))?;
            // A format is complete if a known date survives formatting and parsing back.
            let probe = NaiveDate::from_ymd_opt(1987, 11, 23).expect("valid date");
            let mut text = String::new();
            let round_trip = write!(text, "{}", probe.format_with_items(items.iter()))
                .ok()
                .and_then(|_| parse_with(&items, &text));
            if round_trip != Some(probe) {
                return Err(format!(
                    "`{f}` does not determine a full date (it needs a year, a month and a day)"
                ));
            }
            compiled.push((f.clone(), items));
        }
        Ok(DateParser {
            joined: formats.join(", "),
            formats: compiled,
        })
    }

    /// Parses `input` (surrounding whitespace ignored) into a date.
    pub fn parse(&self, input: &str) -> Result<NaiveDate, NormalizeError> {
        let input = input.trim();
        self.formats
            .iter()
            .find_map(|(_, items)| parse_with(items, input))
            .ok_or_else(|| NormalizeError::InvalidDate {
                formats: self.joined.clone(),
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

fn parse_with(items: &[Item<'static>], input: &str) -> Option<NaiveDate> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, input, items.iter()).ok()?;
    let date = parsed.to_naive_date().ok()?;
    (1000..=9999).contains(&date.year()).then_some(date)
}
