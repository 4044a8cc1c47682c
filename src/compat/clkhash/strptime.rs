//! Python's `datetime.strptime`, as far as clkhash's date fields need it.
//!
//! clkhash validates a date with `datetime.strptime(value, format)` and hashes
//! `strftime('%Y%m%d')` of the result. Python turns the format into a regular expression
//! (case-insensitive; each run of whitespace in the format matches one or more whitespace
//! characters; each directive becomes a group of alternatives such as
//! `3[01]|[12]\d|0[1-9]|[1-9]| [1-9]` for `%d`), takes the *first* match from the start of the
//! value as the regex engine finds it, and fails with "unconverted data remains" if that match
//! does not reach the end, even when another way of matching would have. [`DateFormat`]
//! reproduces exactly that with a small backtracking matcher over the same alternatives, in the
//! same order, with Python's Unicode `\d` and `\s`.
//!
//! Supported directives: `%Y %y %m %d %j %b %B %a %A %w %u %H %I %M %S %f %p %%`, with
//! English names as in the C locale. Directives that depend on the locale's full formats
//! (`%c %x %X`), time zones (`%z %Z`) or week numbers (`%U %W %V %G`) are refused when the
//! schema is loaded, naming the directive, rather than approximated.

use super::pynum::{digit_value, is_space};

/// Why a format cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Python rejects it too (for every value).
    #[error("{0}")]
    Invalid(String),
    /// Python accepts it but pprl does not implement it.
    #[error("the directive `%{0}` is not supported by pprl's clkhash compatibility")]
    Unsupported(char),
}

/// Why a value is not a date in the format; the message is Python's, without the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The start of the value does not match the format.
    #[error("does not match the format")]
    NoMatch,
    /// The format matched a prefix of the value only.
    #[error("unconverted data remains")]
    Unconverted,
    /// The fields do not make a real date.
    #[error("day is out of range for month")]
    DayOutOfRange,
    /// Year 0 (from `%Y` = `0000`), or a day of the year beyond year 9999.
    #[error("year is out of range")]
    YearOutOfRange,
    /// `%S` read 60 or 61, which Python's regex accepts and `datetime` then refuses.
    #[error("second must be in 0..59")]
    SecondOutOfRange,
}

/// A compiled strptime format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    elems: Vec<Elem>,
    /// The word alternatives of each element (empty for all but name directives).
    words: Vec<Vec<(Vec<char>, u32)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    /// A literal character (case-insensitive, like Python's `re.IGNORECASE`).
    Lit(char),
    /// `\s+` (greedy, gives back characters when what follows fails).
    Space,
    /// A directive: its alternatives, in Python's order.
    Dir(Dir),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Year4,
    Year2,
    Month,
    Day,
    Julian,
    MonthAbbr,
    MonthName,
    DayAbbr,
    DayName,
    Weekday0,
    Weekday1,
    Hour24,
    Hour12,
    Minute,
    Second,
    Fraction,
    AmPm,
}

/// One position of an alternative: a set of characters.
#[derive(Debug, Clone, Copy)]
enum Cls {
    /// An ASCII range.
    R(u8, u8),
    /// Python's `\d`: any Unicode decimal digit.
    D,
    /// One character.
    C(char),
}

use Cls::{C, D, R};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl Dir {
    fn from_char(c: char) -> Result<Dir, FormatError> {
        Ok(match c {
            'Y' => Dir::Year4,
            'y' => Dir::Year2,
            'm' => Dir::Month,
            'd' => Dir::Day,
            'j' => Dir::Julian,
            'b' => Dir::MonthAbbr,
            'B' => Dir::MonthName,
            'a' => Dir::DayAbbr,
            'A' => Dir::DayName,
            'w' => Dir::Weekday0,
            'u' => Dir::Weekday1,
            'H' => Dir::Hour24,
            'I' => Dir::Hour12,
            'M' => Dir::Minute,
            'S' => Dir::Second,
            'f' => Dir::Fraction,
            'p' => Dir::AmPm,
            'c' | 'x' | 'X' | 'z' | 'Z' | 'U' | 'W' | 'V' | 'G' => {
                return Err(FormatError::Unsupported(c));
            }
            other => {
                return Err(FormatError::Invalid(format!(
                    "`%{other}` is a bad directive (Python's strptime rejects it)"
                )));
            }
        })
    }

    /// The numeric alternatives of Python 3.11's `_strptime.TimeRE`, in order.
    fn numeric(self) -> &'static [&'static [Cls]] {
        match self {
            Dir::Year4 => &[&[D, D, D, D]],
            Dir::Year2 => &[&[D, D]],
            Dir::Month => &[
                &[C('1'), R(b'0', b'2')],
                &[C('0'), R(b'1', b'9')],
                &[R(b'1', b'9')],
            ],
            Dir::Day => &[
                &[C('3'), R(b'0', b'1')],
                &[R(b'1', b'2'), D],
                &[C('0'), R(b'1', b'9')],
                &[R(b'1', b'9')],
                &[C(' '), R(b'1', b'9')],
            ],
            Dir::Julian => &[
                &[C('3'), C('6'), R(b'0', b'6')],
                &[C('3'), R(b'0', b'5'), D],
                &[R(b'1', b'2'), D, D],
                &[C('0'), R(b'1', b'9'), D],
                &[C('0'), C('0'), R(b'1', b'9')],
                &[R(b'1', b'9'), D],
                &[C('0'), R(b'1', b'9')],
                &[R(b'1', b'9')],
            ],
            Dir::Weekday0 => &[&[R(b'0', b'6')]],
            Dir::Weekday1 => &[&[R(b'1', b'7')]],
            Dir::Hour24 => &[&[C('2'), R(b'0', b'3')], &[R(b'0', b'1'), D], &[D]],
            Dir::Hour12 => &[
                &[C('1'), R(b'0', b'2')],
                &[C('0'), R(b'1', b'9')],
                &[R(b'1', b'9')],
            ],
            Dir::Minute => &[&[R(b'0', b'5'), D], &[D]],
            Dir::Second => &[&[C('6'), R(b'0', b'1')], &[R(b'0', b'5'), D], &[D]],
            Dir::Fraction => &[
                &[R(b'0', b'9'); 6],
                &[R(b'0', b'9'); 5],
                &[R(b'0', b'9'); 4],
                &[R(b'0', b'9'); 3],
                &[R(b'0', b'9'); 2],
                &[R(b'0', b'9'); 1],
            ],
            _ => &[],
        }
    }

    /// The word alternatives (C locale, lower case), in Python's order: longest first, ties
    /// in calendar order (Python sorts by length, stably).
    fn words(self) -> Vec<(String, u32)> {
        let mut words: Vec<(String, u32)> = match self {
            Dir::MonthAbbr => (1..).zip(MONTHS).map(|(i, m)| (m[..3].into(), i)).collect(),
            Dir::MonthName => (1..).zip(MONTHS).map(|(i, m)| (m.into(), i)).collect(),
            Dir::DayAbbr => (0..).zip(DAYS).map(|(i, d)| (d[..3].into(), i)).collect(),
            Dir::DayName => (0..).zip(DAYS).map(|(i, d)| (d.into(), i)).collect(),
            Dir::AmPm => vec![("am".into(), 0), ("pm".into(), 1)],
            _ => return Vec::new(),
        };
        words.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        words
    }
}

/// A parsed date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    /// Year, 1-9999.
    pub year: u32,
    /// Month, 1-12.
    pub month: u32,
    /// Day, 1-31.
    pub day: u32,
}

impl Date {
    /// Appends Python's `strftime('%Y%m%d')` on glibc: the year is *not* zero-padded (year 5
    /// gives `50101`), month and day are.
    pub fn write_ymd(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = write!(out, "{}{:02}{:02}", self.year, self.month, self.day);
    }
}

/// The captures of one match: the value of each date-bearing group.
#[derive(Debug, Default, Clone, Copy)]
struct Captures {
    year: Option<u32>,
    month: Option<u32>,
    day: Option<u32>,
    julian: Option<u32>,
    second: Option<u32>,
}

impl DateFormat {
    /// Compiles a strptime format, refusing what Python refuses and what pprl does not
    /// implement (the error names the directive).
    pub fn new(format: &str) -> Result<DateFormat, FormatError> {
        let mut elems = Vec::new();
        let mut seen = Vec::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '%' {
                let d = chars.next().ok_or_else(|| {
                    FormatError::Invalid("stray `%` at the end of the format".into())
                })?;
                if d == '%' {
                    elems.push(Elem::Lit('%'));
                    continue;
                }
                let dir = Dir::from_char(d)?;
                if seen.contains(&d) {
                    // Python's regex would define the group twice and fail to compile.
                    return Err(FormatError::Invalid(format!(
                        "the directive `%{d}` appears twice (Python's strptime fails on it)"
                    )));
                }
                seen.push(d);
                elems.push(Elem::Dir(dir));
            } else if is_space(c) {
                while chars.peek().is_some_and(|&n| is_space(n)) {
                    chars.next();
                }
                elems.push(Elem::Space);
            } else {
                elems.push(Elem::Lit(c));
            }
        }
        let words = elems
            .iter()
            .map(|e| match e {
                Elem::Dir(d) => d
                    .words()
                    .into_iter()
                    .map(|(w, v)| (w.chars().collect(), v))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        Ok(DateFormat { elems, words })
    }

    /// Parses `value` as Python's `datetime.strptime(value, format)` does, returning the date
    /// (times, weekdays and AM/PM are matched but, as in Python, do not change the date).
    pub fn parse(&self, value: &str) -> Result<Date, DateError> {
        // Dates are short: decode into a stack buffer, and only a long value allocates.
        let mut stack = ['\0'; 48];
        let heap: Vec<char>;
        let chars: &[char] = if value.len() <= stack.len() {
            let mut n = 0;
            for c in value.chars() {
                stack[n] = c;
                n += 1;
            }
            &stack[..n]
        } else {
            heap = value.chars().collect();
            &heap
        };
        let (end, caps) = self
            .match_from(0, chars, 0, Captures::default())
            .ok_or(DateError::NoMatch)?;
        if end != chars.len() {
            return Err(DateError::Unconverted);
        }
        resolve(caps)
    }

    /// The first match of elements `i..` at `pos`, in the regex engine's priority order.
    fn match_from(
        &self,
        i: usize,
        s: &[char],
        pos: usize,
        caps: Captures,
    ) -> Option<(usize, Captures)> {
        let Some(&elem) = self.elems.get(i) else {
            return Some((pos, caps));
        };
        match elem {
            Elem::Lit(c) => {
                let got = *s.get(pos)?;
                same_ignoring_case(c, got).then(|| self.match_from(i + 1, s, pos + 1, caps))?
            }
            Elem::Space => {
                let run = s[pos.min(s.len())..]
                    .iter()
                    .take_while(|&&c| is_space(c))
                    .count();
                (1..=run)
                    .rev()
                    .find_map(|n| self.match_from(i + 1, s, pos + n, caps))
            }
            Elem::Dir(dir) => {
                for alt in dir.numeric() {
                    if let Some(v) = match_digits(alt, s, pos) {
                        let caps = capture(dir, v, caps);
                        if let Some(m) = self.match_from(i + 1, s, pos + alt.len(), caps) {
                            return Some(m);
                        }
                    }
                }
                for (word, v) in &self.words[i] {
                    let (n, v) = (word.len(), *v);
                    let hit = s.len() >= pos + n
                        && word
                            .iter()
                            .zip(&s[pos..pos + n])
                            .all(|(&w, &c)| same_ignoring_case(w, c));
                    if hit {
                        let caps = capture(dir, v, caps);
                        if let Some(m) = self.match_from(i + 1, s, pos + n, caps) {
                            return Some(m);
                        }
                    }
                }
                None
            }
        }
    }
}

/// Matches one numeric alternative at `pos`; its decimal value (Unicode digits included).
fn match_digits(alt: &[Cls], s: &[char], pos: usize) -> Option<u32> {
    let got = s.get(pos..pos + alt.len())?;
    let mut v = 0u32;
    for (cls, &c) in alt.iter().zip(got) {
        let ok = match *cls {
            R(lo, hi) => c.is_ascii() && (lo..=hi).contains(&(c as u8)),
            D => digit_value(c).is_some(),
            C(x) => x == c,
        };
        if !ok {
            return None;
        }
        // A leading space (`%d` as " 5") contributes nothing, as in Python's int(" 5").
        if let Some(d) = digit_value(c) {
            v = v * 10 + d;
        }
    }
    Some(v)
}

fn capture(dir: Dir, v: u32, mut caps: Captures) -> Captures {
    match dir {
        Dir::Year4 => caps.year = Some(v),
        Dir::Year2 => caps.year = Some(if v <= 68 { v + 2000 } else { v + 1900 }),
        Dir::Month | Dir::MonthAbbr | Dir::MonthName => caps.month = Some(v),
        Dir::Day => caps.day = Some(v),
        Dir::Julian => caps.julian = Some(v),
        Dir::Second => caps.second = Some(v),
        _ => {}
    }
    caps
}

/// Python's `re.IGNORECASE` for two characters (simple case mapping).
fn same_ignoring_case(a: char, b: char) -> bool {
    a == b || lower(a) == lower(b)
}

fn lower(c: char) -> char {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// Python 3.11's `_strptime` after the match: defaults (1900-01-01), the leap-day rule, and
/// the day of the year (`%j`) taking precedence over month and day when present, then
/// `datetime`'s own range checks.
fn resolve(caps: Captures) -> Result<Date, DateError> {
    let date = resolve_date(caps)?;
    if caps.second.is_some_and(|s| s > 59) {
        return Err(DateError::SecondOutOfRange);
    }
    Ok(date)
}

fn resolve_date(caps: Captures) -> Result<Date, DateError> {
    let month = caps.month.unwrap_or(1);
    let day = caps.day.unwrap_or(1);
    // Without a year, 29 February is checked against 1904 and then fails as 1900-02-29.
    let year = caps.year.unwrap_or(1900);
    if year == 0 {
        return Err(DateError::YearOutOfRange);
    }
    if let Some(julian) = caps.julian {
        let first = days_from_civil(year, 1, 1);
        let (y, m, d) = civil_from_days(first + i64::from(julian) - 1);
        if !(1..=9999).contains(&y) {
            return Err(DateError::YearOutOfRange);
        }
        return Ok(Date {
            year: y,
            month: m,
            day: d,
        });
    }
    if day > days_in_month(year, month) {
        return Err(DateError::DayOutOfRange);
    }
    Ok(Date { year, month, day })
}

fn is_leap(y: u32) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: u32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (u32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y.max(0) as u32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(format: &str, value: &str) -> Result<String, DateError> {
        let f = DateFormat::new(format).unwrap();
        f.parse(value).map(|d| {
            let mut s = String::new();
            d.write_ymd(&mut s);
            s
        })
    }

    #[test]
    fn common_formats() {
        assert_eq!(ymd("%d/%m/%Y", "18/5/1953").unwrap(), "19530518");
        assert_eq!(ymd("%d/%m/%Y", "03/11/1987").unwrap(), "19871103");
        assert_eq!(ymd("%Y-%m-%d", "2000-02-29").unwrap(), "20000229");
        assert_eq!(ymd("%d.%m.%y", "1.2.68").unwrap(), "20680201");
        assert_eq!(ymd("%d.%m.%y", "1.2.69").unwrap(), "19690201");
        assert_eq!(ymd("%b %d %Y", "FEB  3 2001").unwrap(), "20010203");
        assert_eq!(ymd("%B %d, %Y", "september 9, 1999").unwrap(), "19990909");
        assert_eq!(
            ymd("%A %d %b %Y", "Tuesday 01 jan 2002").unwrap(),
            "20020101"
        );
        assert_eq!(ymd("%Y%j", "2020366").unwrap(), "20201231");
        assert_eq!(
            ymd("%Y-%m-%dT%H:%M:%S.%f", "2020-01-02t23:59:59.5").unwrap(),
            "20200102"
        );
        assert_eq!(
            ymd("%Y-%m-%d %H:%M:%S", "2020-01-02 23:59:60"),
            Err(DateError::SecondOutOfRange)
        );
        assert_eq!(ymd("%I%p %d/%m/%Y", "12am 1/1/2001").unwrap(), "20010101");
        assert_eq!(ymd("%Y-%m-%d", "٢٠٢٠-01-05").unwrap(), "20200105");
        // glibc's strftime does not pad the year.
        assert_eq!(ymd("%Y-%m-%d", "0005-01-02").unwrap(), "50102");
        assert_eq!(ymd("%m", "7").unwrap(), "19000701");
        assert_eq!(ymd("%%%Y", "%1999").unwrap(), "19990101");
    }

    #[test]
    fn first_match_wins_as_in_python() {
        // `%m` takes "1" (as Python's regex does), `%d` then "30", and "1" remains.
        assert_eq!(ymd("%Y%m%d", "19901301"), Err(DateError::Unconverted));
        assert_eq!(ymd("%d.%m.%y", "1.1.2000"), Err(DateError::Unconverted));
        assert_eq!(ymd("%d%m%Y", "1122020").unwrap(), "20200211");
        assert_eq!(ymd("%Y%j", "2019366").unwrap(), "20200101");
    }

    #[test]
    fn invalid_values() {
        assert_eq!(ymd("%d/%m/%Y", "31/02/1990"), Err(DateError::DayOutOfRange));
        assert_eq!(ymd("%d/%m/%Y", "1990-01-01"), Err(DateError::NoMatch));
        assert_eq!(ymd("%d.%m.%y", "32.01.99"), Err(DateError::NoMatch));
        assert_eq!(
            ymd("%Y-%m-%d", "0000-01-01"),
            Err(DateError::YearOutOfRange)
        );
        assert_eq!(ymd("%m/%d", "2/29"), Err(DateError::DayOutOfRange));
        assert_eq!(
            ymd("%d/%m/%Y", " 1/1/2000").unwrap(),
            "20000101",
            "%d accepts \" 1\""
        );
        assert_eq!(ymd("%Y/%m/%d", " 2000/1/1"), Err(DateError::NoMatch));
        assert_eq!(ymd("%d/%m/%Y", "1/1/2000 "), Err(DateError::Unconverted));
        assert_eq!(ymd("%Y-%m-%d", "1999-2-29"), Err(DateError::DayOutOfRange));
    }

    #[test]
    fn formats_refused() {
        assert_eq!(DateFormat::new("%x"), Err(FormatError::Unsupported('x')));
        assert_eq!(DateFormat::new("%Y %z"), Err(FormatError::Unsupported('z')));
        assert!(matches!(
            DateFormat::new("%Y %"),
            Err(FormatError::Invalid(_))
        ));
        assert!(matches!(
            DateFormat::new("%Q"),
            Err(FormatError::Invalid(_))
        ));
        assert!(matches!(
            DateFormat::new("%d %d"),
            Err(FormatError::Invalid(_))
        ));
    }

    #[test]
    fn calendar_round_trip() {
        for days in [-719_162i64, 0, 10_956, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
