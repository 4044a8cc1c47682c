//! The text steps: Unicode forms, case, diacritics, whitespace, punctuation, phonetic codes.

use rphonetic::{DoubleMetaphone, Encoder as _, Nysiis, Soundex};
use unicode_normalization::{IsNormalized, UnicodeNormalization, char::is_combining_mark};

use super::NormalizeStep;

/// Applies one text step to `value` in place. Steps that cannot work in place write into
/// `scratch` (empty on entry) and swap it with `value`. Clean ASCII input, the common case,
/// is mostly left untouched without a copy.
pub(super) fn apply(step: &NormalizeStep, value: &mut String, scratch: &mut String) {
    match step {
        NormalizeStep::Nfkc => {
            if !value.is_ascii()
                && unicode_normalization::is_nfkc_quick(value.chars()) != IsNormalized::Yes
            {
                scratch.extend(value.nfkc());
                std::mem::swap(value, scratch);
            }
        }
        NormalizeStep::Casefold => {
            if value.is_ascii() {
                value.make_ascii_lowercase();
            } else {
                scratch.extend(caseless::Caseless::default_case_fold(value.chars()));
                std::mem::swap(value, scratch);
            }
        }
        NormalizeStep::StripDiacritics => {
            if !value.is_ascii() {
                // Decompose, drop the marks, then recompose what is left (Hangul, etc.).
                scratch.extend(value.nfd().filter(|c| !is_combining_mark(*c)).nfc());
                std::mem::swap(value, scratch);
            }
        }
        NormalizeStep::Ascii => {
            if !value.is_ascii() {
                scratch.push_str(&deunicode::deunicode(value));
                std::mem::swap(value, scratch);
            }
        }
        NormalizeStep::CollapseWhitespace => {
            let clean = !value.starts_with(char::is_whitespace)
                && !value.ends_with(char::is_whitespace)
                && !value
                    .as_bytes()
                    .windows(2)
                    .any(|w| w[0].is_ascii_whitespace() && w[1].is_ascii_whitespace())
                && value.chars().all(|c| c == ' ' || !c.is_whitespace());
            if !clean {
                for (i, word) in value.split_whitespace().enumerate() {
                    if i > 0 {
                        scratch.push(' ');
                    }
                    scratch.push_str(word);
                }
                std::mem::swap(value, scratch);
            }
        }
        NormalizeStep::RemoveWhitespace => value.retain(|c| !c.is_whitespace()),
        NormalizeStep::StripPunctuation => {
            value.retain(|c| c.is_alphanumeric() || c.is_whitespace());
        }
        NormalizeStep::DigitsOnly => value.retain(|c| c.is_ascii_digit()),
        NormalizeStep::Truncate(n) => {
            if let Some((cut, _)) = value.char_indices().nth(*n as usize) {
                value.truncate(cut);
            }
        }
        // Compiled separately (they carry state); listed so the match stays exhaustive.
        NormalizeStep::Date { .. }
        | NormalizeStep::Soundex
        | NormalizeStep::DoubleMetaphone
        | NormalizeStep::Nysiis => {}
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
