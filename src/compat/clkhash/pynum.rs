//! Python's reading of numbers and whitespace, as clkhash relies on it.
//!
//! clkhash validates integers with `int(s, 10)`, tokenizes numbers with `int(...)` and
//! `float(...)`, and matches dates with `re` patterns whose `\d` and `\s` are Unicode classes.
//! Python is more liberal than Rust's parsers in three ways, all reproduced here so that a value
//! clkhash accepts is never refused (and the reverse):
//!
//! * any Unicode decimal digit (category `Nd`: `٣`, `３`, `৩`) counts as a digit;
//! * surrounding whitespace is ignored, with Python's idea of whitespace (which includes the
//!   ASCII separators `\x1c`-`\x1f`);
//! * single underscores may separate digits (`1_000`).
//!
//! The digit table is Unicode 14.0, the version of Python 3.11 on which the vectors were made.

/// The first code point of each run of ten Unicode decimal digits (`Nd`, values 0-9), from
/// Python 3.11's `unicodedata` (Unicode 14.0): every `Nd` character is `zero + value`.
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
    0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
    0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// The value of a Unicode decimal digit (Python's `unicodedata.decimal`), or `None`.
pub fn digit_value(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        return Some(c as u32 - '0' as u32);
    }
    let cp = c as u32;
    if cp < 0x660 {
        return None;
    }
    // The runs are sorted and disjoint: the last zero not above `cp` is the only candidate.
    let i = DIGIT_ZEROS.partition_point(|&z| z <= cp);
    let zero = DIGIT_ZEROS[i.checked_sub(1)?];
    (cp - zero < 10).then_some(cp - zero)
}

/// Python's `str.isspace()` for one character (also what `re`'s `\s` matches in a `str`
/// pattern): Rust's `White_Space` plus the ASCII information separators `\x1c`-`\x1f`.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// An integer as Python's `int(s, 10)` reads it: sign and ASCII digits without leading zeros
/// (`"0"` for zero, which is never negative). Arbitrarily long, like Python's integers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PyInt {
    /// True for a value below zero.
    pub negative: bool,
    /// ASCII decimal digits, no leading zeros.
    pub digits: String,
}

impl PyInt {
    /// Parses like Python's `int(s, 10)`; `None` where Python raises `ValueError`.
    #[cfg(test)]
    pub fn parse(s: &str) -> Option<PyInt> {
        let mut out = PyInt::default();
        out.parse_into(s).then_some(out)
    }

    /// `PyInt::parse` into `self`, reusing its buffer; false (and `self` unspecified) where
    /// Python raises.
    pub fn parse_into(&mut self, s: &str) -> bool {
        let s = strip(s);
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        self.digits.clear();
        if !ascii_digits_into(body, &mut self.digits) {
            return false;
        }
        let zeros = self.digits.len() - self.digits.trim_start_matches('0').len();
        let keep = zeros.min(self.digits.len() - 1);
        self.digits.drain(..keep);
        self.negative = negative && self.digits != "0";
        true
    }

    /// The value, if it fits an `i128`.
    pub fn to_i128(&self) -> Option<i128> {
        let magnitude: i128 = self.digits.parse().ok()?;
        Some(if self.negative { -magnitude } else { magnitude })
    }

    /// Compares with a bound such as a schema's `minimum`, for any length of `self`.
    pub fn cmp_i64(&self, bound: i64) -> std::cmp::Ordering {
        match self.to_i128() {
            Some(v) => v.cmp(&i128::from(bound)),
            // Longer than any i128: beyond every i64 bound, on the side of its sign.
            None if self.negative => std::cmp::Ordering::Less,
            None => std::cmp::Ordering::Greater,
        }
    }

    /// Appends Python's `str(value)`.
    pub fn write_into(&self, out: &mut String) {
        if self.negative {
            out.push('-');
        }
        out.push_str(&self.digits);
    }
}

/// Appends the digits of `body` (Unicode digits, single underscores between them) as ASCII
/// to `out`; false unless `body` is one or more digits in that form.
fn ascii_digits_into(body: &str, out: &mut String) -> bool {
    let mut prev_digit = false;
    for c in body.chars() {
        if c == '_' {
            if !prev_digit {
                return false;
            }
            prev_digit = false;
        } else if let Some(d) = digit_value(c) {
            out.push(char::from(b'0' + d as u8));
            prev_digit = true;
        } else {
            return false;
        }
    }
    prev_digit
}

/// Parses like Python's `float(s)`; `None` where Python raises `ValueError`. `buf` is scratch.
///
/// Python first turns Unicode digits into ASCII and strips whitespace, then accepts
/// `[sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits] | inf | infinity | nan`
/// (any case), where single underscores may separate digits. Rust's grammar for the part
/// after the underscores is the same, and both round correctly.
pub fn parse_float(s: &str, buf: &mut String) -> Option<f64> {
    let s = strip(s);
    buf.clear();
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            let before = prev.is_some_and(|p| p.is_ascii_digit());
            let after = chars.peek().is_some_and(|&n| digit_value(n).is_some());
            if !(before && after) {
                return None;
            }
            prev = Some('_');
            continue;
        }
        let c = match digit_value(c) {
            Some(d) => char::from(b'0' + d as u8),
            None if c.is_ascii() => c,
            None => return None,
        };
        buf.push(c);
        prev = Some(c);
    }
    let lower = buf.to_ascii_lowercase();
    let word = lower.trim_start_matches(['+', '-']);
    // Rust also reads "infinity"/"inf"/"nan"; Python reads exactly those words too, but Rust
    // would also take a second sign ("+-inf") which Python refuses.
    if lower.len() - word.len() > 1 {
        return None;
    }
    buf.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_like_python() {
        let n = |s: &str| PyInt::parse(s).map(|p| (p.negative, p.digits));
        assert_eq!(n("42"), Some((false, "42".into())));
        assert_eq!(n(" +007 "), Some((false, "7".into())));
        assert_eq!(n("-0"), Some((false, "0".into())));
        assert_eq!(n("-000"), Some((false, "0".into())));
        assert_eq!(n("1_000"), Some((false, "1000".into())));
        assert_eq!(n("١٩٨٥"), Some((false, "1985".into())));
        assert_eq!(n("\u{1c}12\u{3000}"), Some((false, "12".into())));
        assert_eq!(n("-12"), Some((true, "12".into())));
        for bad in [
            "", " ", "+", "1__0", "_1", "1_", "1.0", "- 1", "+-1", "0x10", "1e3", "١_",
        ] {
            assert_eq!(n(bad), None, "{bad:?}");
        }
        let big = PyInt::parse("-123456789012345678901234567890123456789012").unwrap();
        assert_eq!(big.to_i128(), None);
        assert_eq!(big.cmp_i64(i64::MIN), std::cmp::Ordering::Less);
    }

    #[test]
    fn float_like_python() {
        let mut buf = String::new();
        let f = |s: &str, buf: &mut String| parse_float(s, buf);
        assert_eq!(f(" 1_0.5 ", &mut buf), Some(10.5));
        assert_eq!(f("١٢.٥", &mut buf), Some(12.5));
        assert_eq!(f("1.e2", &mut buf), Some(100.0));
        assert_eq!(f(".5", &mut buf), Some(0.5));
        assert_eq!(f("-1.25", &mut buf), Some(-1.25));
        assert_eq!(f("1E-3", &mut buf), Some(0.001));
        assert!(f("-Infinity", &mut buf).unwrap().is_infinite());
        assert!(f("nan", &mut buf).unwrap().is_nan());
        for bad in [
            "", ".", "1_.5", "1._5", "e5", "1e", "+-1", "--inf", "1,5", "½",
        ] {
            assert_eq!(f(bad, &mut buf), None, "{bad:?}");
        }
    }

    #[test]
    fn digits_and_spaces() {
        assert_eq!(digit_value('7'), Some(7));
        assert_eq!(digit_value('٣'), Some(3));
        assert_eq!(digit_value('\u{1fbf9}'), Some(9));
        assert_eq!(digit_value('\u{1fbfa}'), None);
        assert_eq!(digit_value('½'), None);
        assert_eq!(digit_value('a'), None);
        assert!(is_space('\u{1f}') && is_space('\u{a0}') && !is_space('\u{200b}'));
    }
}
