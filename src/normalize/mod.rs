//! Normalisation: pure functions from a raw value to a clean one.
//!
//! Two departments rarely write a name the same way: `"ZOË  Ångström"`, `"Zoe Angstrom"`,
//! `"zoë ångström "`. Normalising before tokenizing makes such spellings give the same bits, so
//! the similarity of two encodings reflects real differences, not formatting.
//!
//! A field declares its steps as a list in the schema; [`Normalizer`] compiles them once
//! (date formats are parsed when the encoder is built, not per row) and applies them in order.
//! Every step is deterministic and independent of locale and platform.
//!
//! What this module refuses to do: guess. A date that matches none of the declared formats is a
//! [`NormalizeError`], which the encoder reports with the row and field (as a rejected row, or,
//! under the field's default `on_invalid = "missing"`, as a value encoded as missing); it is
//! never repaired or dropped silently.

mod date;
mod text;

/// The steps are declared in the schema; this module carries them out.
pub use crate::schema::NormalizeStep;
pub use date::DateParser;

/// A value that could not be normalised; the encoder reports it as a reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The value is not a date in any of the declared formats. The value itself is not kept,
    /// so that the error can be logged without leaking an identifier.
    #[error("not a valid date in any declared format ({formats})")]
    InvalidDate {
        /// The declared formats, comma separated.
        formats: String,
    },
}

crate::error_kinds! {
    /// What kind of problem a [`NormalizeError`] is. The codes are reject codes (they appear in
    /// rejects reports), so they carry no module prefix and never change.
    pub enum NormalizeErrorKind {
        /// The value is not a date in any declared format.
        InvalidDate => "invalid-date",
    }
}

impl NormalizeError {
    /// The error's kind.
    pub fn kind(&self) -> NormalizeErrorKind {
        match self {
            NormalizeError::InvalidDate { .. } => NormalizeErrorKind::InvalidDate,
        }
    }

    /// Stable reject code (the kind's code).
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl crate::error::Coded for NormalizeError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

/// A compiled list of steps for one field: built once, shared by all threads.
#[derive(Debug, Clone)]
pub struct Normalizer {
    steps: Vec<Compiled>,
}

#[derive(Debug, Clone)]
enum Compiled {
    Text(NormalizeStep),
    Date(DateParser),
    Phonetic(text::Phonetic),
}

impl Normalizer {
    /// Compiles the steps; fails with a message if a step's parameters are invalid.
    pub fn new(steps: &[NormalizeStep]) -> Result<Normalizer, String> {
        let steps = steps
            .iter()
            .map(|step| {
                Ok(match step {
                    NormalizeStep::Date { formats } => Compiled::Date(DateParser::new(formats)?),
                    NormalizeStep::Soundex => Compiled::Phonetic(text::Phonetic::soundex()),
                    NormalizeStep::DoubleMetaphone => {
                        Compiled::Phonetic(text::Phonetic::double_metaphone())
                    }
                    NormalizeStep::Nysiis => Compiled::Phonetic(text::Phonetic::nysiis()),
                    other => {
                        other.validate()?;
                        Compiled::Text(other.clone())
                    }
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Normalizer { steps })
    }

    /// Normalises `value` into `out` (cleared first). `scratch` is a second buffer reused
    /// between calls so that a hot loop does not allocate.
    pub fn apply_into(
        &self,
        value: &str,
        out: &mut String,
        scratch: &mut String,
    ) -> Result<(), NormalizeError> {
        out.clear();
        out.push_str(value);
        for step in &self.steps {
            scratch.clear();
            match step {
                Compiled::Text(step) => text::apply(step, out, scratch),
                Compiled::Date(parser) => {
                    parser.normalize_into(out, scratch)?;
                    std::mem::swap(out, scratch);
                }
                Compiled::Phonetic(p) => {
                    p.encode_into(out, scratch);
                    std::mem::swap(out, scratch);
                }
            }
        }
        Ok(())
    }

    /// Convenience form of [`Normalizer::apply_into`] that allocates.
    pub fn apply(&self, value: &str) -> Result<String, NormalizeError> {
        let (mut out, mut scratch) = (String::new(), String::new());
        self.apply_into(value, &mut out, &mut scratch)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
