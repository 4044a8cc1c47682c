//! Declared date input formats: `strftime` patterns, checked and compiled once.

use std::fmt::Write as _;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{Datelike as _, NaiveDate};

/// A list of `strftime` date formats, compiled.
///
/// Formats are tried in the declared order and the first that yields a complete, valid calendar
/// date wins. Declare unambiguous formats: with both `%d/%m/%Y` and `%m/%d/%Y`, `01/02/2000`
/// is read with whichever comes first. Dates outside the years 1000 to 9999 are refused: `%Y`
/// accepts any number of digits, and `03/11/87` must not become the year 87.
#[derive(Debug, Clone)]
pub struct DateFormats {
    formats: Vec<(String, Vec<Item<'static>>)>,
    joined: String,
}

impl DateFormats {
    /// Compiles the formats. Each must be a valid `strftime` pattern that determines year,
    /// month and day; the error names the first that does not.
    pub fn new(formats: &[String]) -> Result<DateFormats, String> {
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
        Ok(DateFormats {
            joined: formats.join(", "),
            formats: compiled,
        })
    }

    /// Parses `input` (surrounding whitespace ignored) with the first format that matches.
    pub fn parse(&self, input: &str) -> Option<NaiveDate> {
        let input = input.trim();
        self.formats
            .iter()
            .find_map(|(_, items)| parse_with(items, input))
    }

    /// The formats, comma separated (for messages).
    pub fn joined(&self) -> &str {
        &self.joined
    }
}

fn parse_with(items: &[Item<'static>], input: &str) -> Option<NaiveDate> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, input, items.iter()).ok()?;
    let date = parsed.to_naive_date().ok()?;
    (1000..=9999).contains(&date.year()).then_some(date)
}
