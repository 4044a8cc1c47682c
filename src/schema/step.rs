//! The normalisation steps a schema field declares: their names, parameters and checks.
//!
//! The schema owns this vocabulary (it is parsed, validated and fingerprinted with the schema);
//! [`crate::normalize`] carries the steps out.

use serde::{Deserialize, Serialize};

use super::date_format::DateFormats;

/// One normalisation step, as written in a schema's `normalize = [...]` list.
///
/// Simple steps are strings (`"nfkc"`); steps with parameters are one-key tables
/// (`{ date = { formats = ["%d/%m/%Y"] } }`, `{ truncate = 3 }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NormalizeStep {
    /// Unicode compatibility composition (NFKC): full-width letters, ligatures and composed
    /// accents become their ordinary forms (`"ﬁ"` -> `"fi"`).
    Nfkc,
    /// Unicode full case folding (`"Straße"` -> `"strasse"`), locale independent.
    Casefold,
    /// Removes combining marks after canonical decomposition (`"Zoë Ångström"` ->
    /// `"Zoe Angstrom"`); letters without a decomposition (`ø`, `ł`) are kept.
    StripDiacritics,
    /// Transliterates to ASCII (`"Łódź"` -> `"Lodz"`, `"Ørsted"` -> `"Orsted"`), for exports
    /// whose spellings drop or mangle non-ASCII letters.
    Ascii,
    /// Trims and turns every run of whitespace into one space.
    CollapseWhitespace,
    /// Removes all whitespace (postcodes: `"SW1A 1AA"` -> `"SW1A1AA"`).
    RemoveWhitespace,
    /// Removes every character that is neither a letter, a digit nor whitespace
    /// (`"O'Brien-Smith"` -> `"OBrienSmith"`).
    StripPunctuation,
    /// Keeps only the digits (phone numbers, numeric ids).
    DigitsOnly,
    /// Parses a date with the first of the declared formats that matches and writes it as
    /// `YYYY-MM-DD`. The formats are `strftime` patterns (`%d/%m/%Y`); they describe a
    /// department's export, so they are not part of the schema fingerprint.
    Date {
        /// Input formats, tried in order.
        #[serde(skip_serializing)]
        formats: Vec<String>,
    },
    /// Keeps the first `n` characters (for example a postcode's outward part).
    Truncate(u32),
    /// American Soundex of the letters (`"Robert"` -> `"R163"`).
    Soundex,
    /// Primary Double Metaphone code of the letters (`"Schmidt"` -> `"XMT"`).
    DoubleMetaphone,
    /// NYSIIS code of the letters.
    Nysiis,
}

impl NormalizeStep {
    /// The step's name as written in schemas.
    pub fn name(&self) -> &'static str {
        match self {
            NormalizeStep::Nfkc => "nfkc",
            NormalizeStep::Casefold => "casefold",
            NormalizeStep::StripDiacritics => "strip-diacritics",
            NormalizeStep::Ascii => "ascii",
            NormalizeStep::CollapseWhitespace => "collapse-whitespace",
            NormalizeStep::RemoveWhitespace => "remove-whitespace",
            NormalizeStep::StripPunctuation => "strip-punctuation",
            NormalizeStep::DigitsOnly => "digits-only",
            NormalizeStep::Date { .. } => "date",
            NormalizeStep::Truncate(_) => "truncate",
            NormalizeStep::Soundex => "soundex",
            NormalizeStep::DoubleMetaphone => "double-metaphone",
            NormalizeStep::Nysiis => "nysiis",
        }
    }

    /// Checks the step's parameters; the error says what was expected.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            NormalizeStep::Date { formats } => DateFormats::new(formats).map(|_| ()),
            NormalizeStep::Truncate(0) => Err("`truncate` needs at least 1 character".into()),
            _ => Ok(()),
        }
    }
}
