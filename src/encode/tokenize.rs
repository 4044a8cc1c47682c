//! Tokenizers: a normalised value in, a list of byte-string tokens out.
//!
//! Tokens go into a flat, reusable [`Tokens`] buffer so that the per-row hot loop does not
//! allocate. Tokens of different kinds never collide within a field (positional grams carry a
//! `pos:` prefix, date parts a `y`/`m`/`d` prefix, numbers an `n` prefix), and fields never share
//! keys, so tokens of different fields never collide either.

use std::fmt::Write as _;

use crate::schema::TokenizerSpec;

/// The character used to pad q-grams.
pub const PAD: char = '_';

/// A reusable list of tokens: byte ranges of one text buffer.
///
/// Ranges may overlap, so the q-grams of a value are windows of one padded copy of it rather
/// than one copy per gram.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    bytes: String,
    spans: Vec<(u32, u32)>,
}

impl Tokens {
    /// Removes all tokens, keeping the allocations.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True if there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The tokens, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.spans
            .iter()
            .map(|&(start, end)| &self.bytes[start as usize..end as usize])
    }

    /// Appends one token.
    pub fn push(&mut self, token: &str) {
        let start = self.bytes.len();
        self.bytes.push_str(token);
        self.finish(start);
    }

    /// Records the text written since `start` as one token.
    fn finish(&mut self, start: usize) {
        self.spans.push((start as u32, self.bytes.len() as u32));
    }
}

/// Why a value could not be tokenized; the encoder turns it into a reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizeError {
    /// A `numeric` field holds something that is not a finite number.
    #[error("not a finite number")]
    InvalidNumber,
    /// A `numeric` field holds a number too large for its `distance`.
    #[error("number too large for the declared distance")]
    NumberOutOfRange,
    /// A `date` field holds something that is not a `YYYY-MM-DD` calendar date.
    #[error(
        "not a YYYY-MM-DD calendar date (add a `date` normalisation step with the input formats)"
    )]
    InvalidDate,
}

impl TokenizeError {
    /// Stable reject code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenizeError::InvalidNumber => "invalid-number",
            TokenizeError::NumberOutOfRange => "number-out-of-range",
            TokenizeError::InvalidDate => "invalid-date",
        }
    }
}

impl crate::error::Coded for TokenizeError {
    fn code(&self) -> &'static str {
        TokenizeError::code(self)
    }
}

/// Something that cuts a value into tokens. Implement it to add a tokenizer.
pub trait Tokenize: Send + Sync + std::fmt::Debug {
    /// Appends the tokens of `value` (non-empty, normalised) to `out`.
    fn tokenize(&self, value: &str, out: &mut Tokens) -> Result<(), TokenizeError>;
}

/// Builds the tokenizer a schema declares.
pub fn from_spec(spec: &TokenizerSpec) -> Box<dyn Tokenize> {
    match *spec {
        TokenizerSpec::Qgram {
            q,
            padding,
            positional,
        } => Box::new(Qgrams {
            q: q as usize,
            padding,
            positional,
        }),
        TokenizerSpec::Exact => Box::new(Exact),
        TokenizerSpec::Numeric {
            distance,
            resolution,
        } => Box::new(Numeric {
            step: distance / (2.0 * f64::from(resolution)),
            resolution: i64::from(resolution),
        }),
        TokenizerSpec::Date => Box::new(DateParts),
    }
}

/// Overlapping q-grams of Unicode scalar values.
///
/// With padding, `q-1` [`PAD`] characters are added on each side (`"ann"`, q=2 ->
/// `_a an nn n_`). Without padding a value shorter than `q` gives itself as its only token, so
/// short values still count.
#[derive(Debug, Clone)]
pub struct Qgrams {
    q: usize,
    padding: bool,
    positional: bool,
}

impl Tokenize for Qgrams {
    fn tokenize(&self, value: &str, out: &mut Tokens) -> Result<(), TokenizeError> {
        let q = self.q;
        let pad = if self.padding { q - 1 } else { 0 };
        // One padded copy of the value; each gram is a window of q characters of it.
        let base = out.bytes.len();
        out.bytes.extend(std::iter::repeat_n(PAD, pad));
        out.bytes.push_str(value);
        out.bytes.extend(std::iter::repeat_n(PAD, pad));
        let end = out.bytes.len();
        if self.positional {
            return self.positional_grams(base, out);
        }
        // Byte offsets of the last q+1 character starts, in a ring (q <= 8).
        let mut ring = [0usize; 9];
        let mut chars = 0usize;
        for (offset, _) in out.bytes[base..end].char_indices() {
            ring[chars % (q + 1)] = base + offset;
            chars += 1;
            if chars > q {
                let start = ring[(chars - 1 - q) % (q + 1)];
                out.spans.push((start as u32, (base + offset) as u32));
            }
        }
        if chars >= q {
            let start = ring[(chars - q) % (q + 1)];
            out.spans.push((start as u32, end as u32));
        } else {
            // Shorter than q (only without padding): the value is its own token.
            out.spans.push((base as u32, end as u32));
        }
        Ok(())
    }
}

impl Qgrams {
    /// Positional grams need a `pos:` prefix each, so they are written out one by one after
    /// the padded value (which is left in the buffer, unused).
    fn positional_grams(&self, base: usize, out: &mut Tokens) -> Result<(), TokenizeError> {
        let padded: Vec<char> = out.bytes[base..].chars().collect();
        if padded.len() < self.q {
            let text: String = padded.iter().collect();
            let start = out.bytes.len();
            let _ = write!(out.bytes, "0:{text}");
            out.finish(start);
            return Ok(());
        }
        for (pos, gram) in padded.windows(self.q).enumerate() {
            let start = out.bytes.len();
            let _ = write!(out.bytes, "{pos}:");
            out.bytes.extend(gram);
            out.finish(start);
        }
        Ok(())
    }
}

/// The whole value as a single token.
#[derive(Debug, Clone)]
pub struct Exact;

impl Tokenize for Exact {
    fn tokenize(&self, value: &str, out: &mut Tokens) -> Result<(), TokenizeError> {
        out.push(value);
        Ok(())
    }
}

/// Numeric neighbourhood: `2 * resolution + 1` tokens, the grid points around the value.
///
/// The grid step is `distance / (2 * resolution)`. Two values `d` apart share about
/// `2 * resolution + 1 - d / step` tokens, so their similarity falls linearly with the
/// difference and reaches zero at `distance`.
#[derive(Debug, Clone)]
pub struct Numeric {
    step: f64,
    resolution: i64,
}

impl Tokenize for Numeric {
    fn tokenize(&self, value: &str, out: &mut Tokens) -> Result<(), TokenizeError> {
        let v: f64 = value
            .trim()
            .parse()
            .map_err(|_| TokenizeError::InvalidNumber)?;
        if !v.is_finite() {
            return Err(TokenizeError::InvalidNumber);
        }
        let index = (v / self.step).round();
        // Keep grid indices exactly representable and far from i64 overflow.
        if index.abs() > 9.0e15 {
            return Err(TokenizeError::NumberOutOfRange);
        }
        let index = index as i64;
        for i in -self.resolution..=self.resolution {
            let start = out.bytes.len();
            let _ = write!(out.bytes, "n{}", index + i);
            out.finish(start);
        }
        Ok(())
    }
}

/// A `YYYY-MM-DD` date as three tokens: `y1987`, `m11`, `d23`.
#[derive(Debug, Clone)]
pub struct DateParts;

impl Tokenize for DateParts {
    fn tokenize(&self, value: &str, out: &mut Tokens) -> Result<(), TokenizeError> {
        let v = value.trim().as_bytes();
        let ok = v.len() == 10
            && v[4] == b'-'
            && v[7] == b'-'
            && v.iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !ok {
            return Err(TokenizeError::InvalidDate);
        }
        let num = |r: std::ops::Range<usize>| {
            v[r].iter()
                .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
        };
        let (y, m, d) = (num(0..4), num(5..7), num(8..10));
        if chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_none() {
            return Err(TokenizeError::InvalidDate);
        }
        for (prefix, n, width) in [('y', y, 4), ('m', m, 2), ('d', d, 2)] {
            let start = out.bytes.len();
            let _ = write!(out.bytes, "{prefix}{n:0width$}");
            out.finish(start);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(spec: TokenizerSpec, value: &str) -> Result<Vec<String>, TokenizeError> {
        let mut t = Tokens::default();
        from_spec(&spec).tokenize(value, &mut t)?;
        Ok(t.iter().map(str::to_string).collect())
    }

    fn qgram(q: u32, padding: bool, positional: bool) -> TokenizerSpec {
        TokenizerSpec::Qgram {
            q,
            padding,
            positional,
        }
    }

    #[test]
    fn bigrams_with_padding() {
        assert_eq!(
            toks(qgram(2, true, false), "ann").unwrap(),
            ["_a", "an", "nn", "n_"]
        );
    }

    #[test]
    fn trigrams_without_padding_and_short_values() {
        assert_eq!(
            toks(qgram(3, false, false), "anna").unwrap(),
            ["ann", "nna"]
        );
        assert_eq!(toks(qgram(3, false, false), "al").unwrap(), ["al"]);
        assert_eq!(
            toks(qgram(3, true, false), "a").unwrap(),
            ["__a", "_a_", "a__"]
        );
    }

    #[test]
    fn qgrams_count_characters_not_bytes() {
        assert_eq!(toks(qgram(2, false, false), "zoë").unwrap(), ["zo", "oë"]);
    }

    #[test]
    fn positional_qgrams_carry_their_position() {
        assert_eq!(
            toks(qgram(2, true, true), "ab").unwrap(),
            ["0:_a", "1:ab", "2:b_"]
        );
    }

    #[test]
    fn exact_is_one_token() {
        assert_eq!(toks(TokenizerSpec::Exact, "f").unwrap(), ["f"]);
    }

    #[test]
    fn date_parts() {
        assert_eq!(
            toks(TokenizerSpec::Date, "1987-11-03").unwrap(),
            ["y1987", "m11", "d03"]
        );
        for bad in [
            "1987-13-03",
            "1987-02-30",
            "87-11-03",
            "1987/11/03",
            "abcd-ef-gh",
        ] {
            assert_eq!(
                toks(TokenizerSpec::Date, bad),
                Err(TokenizeError::InvalidDate),
                "{bad}"
            );
        }
    }

    #[test]
    fn numeric_neighbourhood_overlap_falls_with_distance() {
        let spec = TokenizerSpec::Numeric {
            distance: 10.0,
            resolution: 5,
        };
        let base = toks(spec.clone(), "100").unwrap();
        assert_eq!(base.len(), 11);
        let shared = |v: &str| {
            let other = toks(spec.clone(), v).unwrap();
            base.iter().filter(|t| other.contains(t)).count()
        };
        assert_eq!(shared("100"), 11);
        assert!(shared("103") > shared("107"));
        assert_eq!(shared("111"), 0);
        assert_eq!(toks(spec.clone(), "x1"), Err(TokenizeError::InvalidNumber));
        assert_eq!(toks(spec.clone(), "inf"), Err(TokenizeError::InvalidNumber));
        assert_eq!(toks(spec, "1e300"), Err(TokenizeError::NumberOutOfRange));
    }
}
