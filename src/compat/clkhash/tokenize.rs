//! clkhash's comparisons (tokenizers) and insertion strategies, producing encoded token bytes.
//!
//! * `ngram` (clkhash `NgramComparison`): for `n > 1` the value is padded with `n - 1` spaces
//!   on each side; the grams are the windows of `n` characters (Unicode scalar values, as
//!   Python indexes strings). Positional grams are `"{i} {gram}"` with `i` counted from 1.
//! * `exact`: the whole value.
//! * `numeric` (Vatsalan & Christen 2015, as clkhash implements it): the value is read with
//!   Python's `int()` (times `10^fractional_precision`) or else `float()` (scaled and rounded
//!   half to even, or truncated when the precision is 0), multiplied by `2 * resolution`,
//!   moved to the nearest multiple of the grid spacing (halves up), and the tokens are the
//!   `2 * resolution + 1` grid points around it, written in decimal.
//!
//! An empty value gives no tokens, whatever the comparison. Each token is written straight
//! into a byte buffer in the feature's encoding (see [`TextEncoding`]), ready to hash.
//!
//! Where clkhash would stop with an exception (a `numeric` value that is not a number, or an
//! infinite one), the row is rejected instead, with the field named.

use std::fmt::Write as _;

use super::format::Invalid;
use super::pynum::{PyInt, parse_float};
use super::schema::{Comparison, Strategy, TextEncoding};

/// Reusable token storage: the encoded bytes of every token, back to back.
#[derive(Debug, Default, Clone)]
pub struct TokenBytes {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl TokenBytes {
    /// Removes all tokens, keeping the allocations.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The tokens' bytes, in order.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(s, &e)| &self.bytes[s as usize..e as usize])
    }

    /// The `(start, end)` byte ranges of the tokens, in order.
    pub fn spans(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(s, e)| (s as usize, e as usize))
    }

    /// Appends `slack` zero bytes after the last token (they belong to no token), so that
    /// fixed-size reads from any token's start stay within [`TokenBytes::buffer`].
    pub fn pad(&mut self, slack: usize) {
        let end = self.ends.last().copied().unwrap_or(0) as usize;
        self.bytes.truncate(end);
        self.bytes.resize(end + slack, 0);
    }

    /// The whole buffer: the tokens' bytes, back to back, and any padding.
    pub fn buffer(&self) -> &[u8] {
        &self.bytes
    }

    /// Starts a token: writes the encoding's byte-order mark, if it has one.
    fn begin(&mut self, enc: TextEncoding) {
        match enc {
            TextEncoding::Utf16 => self.bytes.extend_from_slice(&[0xff, 0xfe]),
            TextEncoding::Utf32 => self.bytes.extend_from_slice(&[0xff, 0xfe, 0, 0]),
            TextEncoding::Ascii | TextEncoding::Utf8 => {}
        }
    }

    /// Appends one character in the encoding (Python's `str.encode` on little-endian x86-64).
    fn push_char(&mut self, c: char, enc: TextEncoding) {
        match enc {
            TextEncoding::Ascii | TextEncoding::Utf8 => {
                let mut buf = [0u8; 4];
                self.bytes
                    .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            TextEncoding::Utf16 => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    self.bytes.extend_from_slice(&unit.to_le_bytes());
                }
            }
            TextEncoding::Utf32 => self.bytes.extend_from_slice(&(c as u32).to_le_bytes()),
        }
    }

    /// Appends ASCII bytes in the encoding.
    fn push_ascii(&mut self, s: &[u8], enc: TextEncoding) {
        match enc {
            TextEncoding::Ascii | TextEncoding::Utf8 => self.bytes.extend_from_slice(s),
            _ => s.iter().for_each(|&b| self.push_char(char::from(b), enc)),
        }
    }

    /// Appends a positional n-gram's prefix: `"{i} "`.
    fn push_position(&mut self, i: usize, enc: TextEncoding) {
        let mut digits = [0u8; 21];
        let mut at = digits.len() - 1;
        digits[at] = b' ';
        let mut v = i;
        loop {
            at -= 1;
            digits[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.push_ascii(&digits[at..], enc);
    }

    fn push_str(&mut self, s: &str, enc: TextEncoding) {
        match enc {
            TextEncoding::Ascii | TextEncoding::Utf8 => self.bytes.extend_from_slice(s.as_bytes()),
            _ => s.chars().for_each(|c| self.push_char(c, enc)),
        }
    }

    fn end(&mut self) {
        self.ends.push(self.bytes.len() as u32);
    }
}

/// Per-thread buffers of the tokenizers.
#[derive(Debug, Default, Clone)]
pub struct TokenScratch {
    chars: Vec<char>,
    bytes: Vec<u8>,
    int: PyInt,
    text: String,
}

/// Appends the tokens of `value` (already validated and normalised) to `out`.
pub(crate) fn tokenize(
    comparison: &Comparison,
    value: &str,
    enc: TextEncoding,
    scratch: &mut TokenScratch,
    out: &mut TokenBytes,
) -> Result<(), Invalid> {
    if value.is_empty() {
        return Ok(());
    }
    if enc == TextEncoding::Ascii && !value.is_ascii() {
        // Only reachable through a numeric comparison's digits; clkhash would raise.
        return Err(Invalid {
            code: "invalid-encoding",
            reason: "the value cannot be encoded as ascii".into(),
        });
    }
    match *comparison {
        Comparison::Exact => {
            out.begin(enc);
            out.push_str(value, enc);
            out.end();
        }
        Comparison::Ngram { n, positional } if value.is_ascii() => {
            // The common case, without decoding: characters are bytes.
            let (n, pad) = (n as usize, (n as usize).saturating_sub(1));
            let bytes = &mut scratch.bytes;
            bytes.clear();
            bytes.resize(pad, b' ');
            bytes.extend_from_slice(value.as_bytes());
            bytes.resize(bytes.len() + pad, b' ');
            if bytes.len() >= n {
                for (i, gram) in bytes.windows(n).enumerate() {
                    out.begin(enc);
                    if positional {
                        out.push_position(i + 1, enc);
                    }
                    out.push_ascii(gram, enc);
                    out.end();
                }
            }
        }
        Comparison::Ngram { n, positional } => {
            let n = n as usize;
            let chars = &mut scratch.chars;
            chars.clear();
            let pad = n.saturating_sub(1);
            chars.extend(std::iter::repeat_n(' ', pad));
            chars.extend(value.chars());
            chars.extend(std::iter::repeat_n(' ', pad));
            if chars.len() >= n {
                for (i, gram) in chars.windows(n).enumerate() {
                    out.begin(enc);
                    if positional {
                        out.push_position(i + 1, enc);
                    }
                    for &c in gram {
                        out.push_char(c, enc);
                    }
                    out.end();
                }
            }
        }
        Comparison::Numeric {
            resolution,
            fractional_precision,
            distance_interval,
            ..
        } => {
            let v = numeric_value(value, fractional_precision, scratch)?;
            let di = i128::from(distance_interval);
            let res = i128::from(resolution);
            let too_large = || Invalid {
                code: "number-too-large",
                reason: "the number is too large for pprl's clkhash compatibility (128 bits)"
                    .into(),
            };
            let v = v.checked_mul(2 * res).ok_or_else(too_large)?;
            let residue = v.rem_euclid(di);
            // Python compares `residue < distance_interval / 2` in floating point.
            let v = if residue == 0 {
                v
            } else if 2 * residue < di {
                v - residue
            } else {
                v.checked_add(di - residue).ok_or_else(too_large)?
            };
            for i in -res..=res {
                let t = i
                    .checked_mul(di)
                    .and_then(|d| v.checked_add(d))
                    .ok_or_else(too_large)?;
                scratch.text.clear();
                let _ = write!(scratch.text, "{t}");
                out.begin(enc);
                out.push_str(&scratch.text, enc);
                out.end();
            }
        }
    }
    Ok(())
}

/// clkhash's reading of a numeric value: `int(v) * 10^fp`, else `round(float(v) * 10^fp)`
/// (or `int(float(v))` when `fp` is 0).
fn numeric_value(value: &str, fp: u32, scratch: &mut TokenScratch) -> Result<i128, Invalid> {
    let not_a_number = || Invalid {
        code: "invalid-number",
        reason: "not a number (clkhash would stop with a ValueError here)".into(),
    };
    let too_large = || Invalid {
        code: "number-too-large",
        reason: "the number is too large for pprl's clkhash compatibility (128 bits)".into(),
    };
    if scratch.int.parse_into(value) {
        let v = scratch.int.to_i128().ok_or_else(too_large)?;
        return 10i128
            .checked_pow(fp)
            .and_then(|p| v.checked_mul(p))
            .ok_or_else(too_large);
    }
    let f = parse_float(value, &mut scratch.text).ok_or_else(not_a_number)?;
    if !f.is_finite() {
        return Err(Invalid {
            code: "invalid-number",
            reason: "an infinite or NaN number (clkhash would stop with an error here)".into(),
        });
    }
    let scaled = if fp > 0 {
        // Python multiplies by the int 10**fp converted to the nearest float.
        let scale: f64 = format!("1e{fp}").parse().unwrap_or(f64::INFINITY);
        (f * scale).round_ties_even()
    } else {
        f.trunc()
    };
    if scaled.is_finite() && scaled.abs() < 1.7e38 {
        Ok(scaled as i128)
    } else {
        Err(too_large())
    }
}

/// How many bits each of `tokens` tokens sets (clkhash `StrategySpec.bits_per_token`).
pub(crate) fn bits_for_token(strategy: Strategy, tokens: usize, index: usize) -> u32 {
    match strategy {
        Strategy::BitsPerToken(k) => k,
        Strategy::BitsPerFeature(n) => {
            let t = tokens as u32;
            n / t + u32::from((index as u32) < n % t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(c: &Comparison, value: &str, enc: TextEncoding) -> Vec<Vec<u8>> {
        let mut out = TokenBytes::default();
        tokenize(c, value, enc, &mut TokenScratch::default(), &mut out).unwrap();
        out.iter().map(<[u8]>::to_vec).collect()
    }

    fn text(c: &Comparison, value: &str) -> Vec<String> {
        tokens(c, value, TextEncoding::Utf8)
            .into_iter()
            .map(|t| String::from_utf8(t).unwrap())
            .collect()
    }

    fn numeric(td: i64, res: u32, fp: u32) -> Comparison {
        Comparison::Numeric {
            threshold_distance: td as f64,
            resolution: res,
            fractional_precision: fp,
            distance_interval: td,
        }
    }

    #[test]
    fn ngrams_like_clkhash() {
        let bigram = Comparison::Ngram {
            n: 2,
            positional: false,
        };
        assert_eq!(
            text(&bigram, "clkhash"),
            [" c", "cl", "lk", "kh", "ha", "as", "sh", "h "]
        );
        let pos = Comparison::Ngram {
            n: 2,
            positional: true,
        };
        assert_eq!(text(&pos, "ab"), ["1  a", "2 ab", "3 b "]);
        let uni = Comparison::Ngram {
            n: 1,
            positional: false,
        };
        assert_eq!(text(&uni, "Zoë"), ["Z", "o", "ë"]);
        assert!(text(&bigram, "").is_empty());
        let long = Comparison::Ngram {
            n: 5,
            positional: false,
        };
        assert_eq!(
            text(&long, "a"),
            ["    a", "   a ", "  a  ", " a   ", "a    "]
        );
        assert_eq!(text(&Comparison::Exact, " x "), [" x "]);
        let pos3 = Comparison::Ngram {
            n: 3,
            positional: true,
        };
        let grams = text(&pos3, "abcdefghij");
        assert_eq!(
            (grams.len(), grams[9].as_str(), grams[11].as_str()),
            (12, "10 hij", "12 j  ")
        );
        // ASCII and non-ASCII values take different paths; both give clkhash's grams.
        assert_eq!(text(&pos3, "aé")[1], "2  aé");
        assert_eq!(
            tokens(&bigram, "ab", TextEncoding::Utf16)[0],
            [0xff, 0xfe, 0x20, 0, 0x61, 0]
        );
    }

    #[test]
    fn encodings_like_python_on_x86_64() {
        let exact = Comparison::Exact;
        assert_eq!(
            tokens(&exact, "a€", TextEncoding::Utf16),
            [vec![0xff, 0xfe, 0x61, 0, 0xac, 0x20]]
        );
        assert_eq!(
            tokens(&exact, "😀", TextEncoding::Utf16),
            [vec![0xff, 0xfe, 0x3d, 0xd8, 0x00, 0xde]]
        );
        assert_eq!(
            tokens(&exact, "a", TextEncoding::Utf32),
            [vec![0xff, 0xfe, 0, 0, 0x61, 0, 0, 0]]
        );
    }

    #[test]
    fn numeric_like_clkhash() {
        // The docstring's example: threshold 8, resolution 2, x = 25 -> 88, 96, ..., 120.
        assert_eq!(
            text(&numeric(8, 2, 0), "25"),
            ["88", "96", "104", "112", "120"]
        );
        assert_eq!(text(&numeric(5, 1, 0), "-3"), ["-10", "-5", "0"]);
        // float path: truncation at precision 0, rounding half to even above.
        assert_eq!(
            text(&numeric(8, 2, 0), "25.9"),
            text(&numeric(8, 2, 0), "25")
        );
        assert_eq!(
            text(&numeric(25, 2, 1), "72.5"),
            ["2850", "2875", "2900", "2925", "2950"]
        );
        assert_eq!(
            text(&numeric(30, 1, 2), "0.125")[1],
            "30",
            "12.5 -> 12 -> 24 -> 30"
        );
        let mut scratch = TokenScratch::default();
        let mut out = TokenBytes::default();
        let err = tokenize(
            &numeric(5, 1, 0),
            "abc",
            TextEncoding::Utf8,
            &mut scratch,
            &mut out,
        );
        assert_eq!(err.unwrap_err().code, "invalid-number");
        let err = tokenize(
            &numeric(5, 1, 0),
            "inf",
            TextEncoding::Utf8,
            &mut scratch,
            &mut out,
        );
        assert_eq!(err.unwrap_err().code, "invalid-number");
    }

    #[test]
    fn strategies() {
        let ks: Vec<u32> = (0..3)
            .map(|i| bits_for_token(Strategy::BitsPerFeature(200), 3, i))
            .collect();
        assert_eq!(ks, [67, 67, 66]);
        assert_eq!(bits_for_token(Strategy::BitsPerFeature(2), 3, 2), 0);
        assert_eq!(bits_for_token(Strategy::BitsPerToken(7), 3, 2), 7);
    }
}
