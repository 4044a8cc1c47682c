//! The text steps: Unicode forms, case, diacritics, whitespace, punctuation, phonetic codes.

use rphonetic::{DoubleMetaphone, Encoder as _, Nysiis, Soundex};
use unicode_normalization::{IsNormalized, UnicodeNormalization, char::is_combining_mark};

use super::NormalizeStep;

/// Applies one text step, reading `input` and appending to `out` (empty on entry).
pub(super) fn apply(step: &NormalizeStep, input: &str, out: &mut String) {
    match step {
        NormalizeStep::Nfkc => {
            // ASCII and most already-clean text is NFKC: skip the work.
            if unicode_normalization::is_nfkc_quick(input.chars()) == IsNormalized::Yes {
                out.push_str(input);
            } else {
                out.extend(input.nfkc());
            }
        }
        NormalizeStep::Casefold => {
            if input.is_ascii() {
                out.push_str(input);
                out.make_ascii_lowercase();
            } else {
                out.extend(caseless::Caseless::default_case_fold(input.chars()));
            }
        }
        NormalizeStep::StripDiacritics => {
            if input.is_ascii() {
                out.push_str(input);
            } else {
                // Decompose, drop the marks, then recompose what is left (Hangul, etc.).
                out.extend(input.nfd().filter(|c| !is_combining_mark(*c)).nfc());
            }
        }
        NormalizeStep::Ascii => {
            if input.is_ascii() {
                out.push_str(input);
            } else {
                out.push_str(&deunicode::deunicode(input));
            }
        }
        NormalizeStep::CollapseWhitespace => {
            for (i, word) in input.split_whitespace().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(word);
            }
        }
        NormalizeStep::RemoveWhitespace => {
            out.extend(input.chars().filter(|c| !c.is_whitespace()));
        }
        NormalizeStep::StripPunctuation => {
            out.extend(
                input
                    .chars()
                    .filter(|c| c.is_alphanumeric() || c.is_whitespace()),
            );
        }
        NormalizeStep::DigitsOnly => {
            out.extend(input.chars().filter(char::is_ascii_digit));
        }
        NormalizeStep::Truncate(n) => {
            out.extend(input.chars().take(*n as usize));
        }
        // Compiled separately (they carry state); listed so the match stays exhaustive.
        NormalizeStep::Date { .. }
        | NormalizeStep::Soundex
        | NormalizeStep::DoubleMetaphone
        | NormalizeStep::Nysiis => out.push_str(input),
    }
}

/// A phonetic encoder. The codes are defined on English letters, so the value is first
/// transliterated to ASCII and reduced to its letters; a value with no letters gives an empty
/// code (and so counts as missing).
#[derive(Debug, Clone)]
pub(super) enum Phonetic {
    Soundex(Soundex),
    DoubleMetaphone(DoubleMetaphone),
    Nysiis(Nysiis),
}

impl Phonetic {
    pub(super) fn soundex() -> Self {
        Phonetic::Soundex(Soundex::default())
    }
    pub(super) fn double_metaphone() -> Self {
        Phonetic::DoubleMetaphone(DoubleMetaphone::default())
    }
    pub(super) fn nysiis() -> Self {
        Phonetic::Nysiis(Nysiis::default())
    }

    pub(super) fn encode_into(&self, input: &str, out: &mut String) {
        let ascii;
        let input = if input.is_ascii() {
            input
        } else {
            ascii = deunicode::deunicode(input);
            &ascii
        };
        let letters: String = input
            .chars()
            .filter(char::is_ascii_alphabetic)
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if letters.is_empty() {
            return;
        }
        let code = match self {
            Phonetic::Soundex(e) => e.encode(&letters),
            Phonetic::DoubleMetaphone(e) => e.encode(&letters),
            Phonetic::Nysiis(e) => e.encode(&letters),
        };
        out.push_str(&code);
    }
}
