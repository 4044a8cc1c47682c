//! The corruption model: how one copy of a person's record comes to differ from the truth.
//!
//! Each operator has its own rate, the probability that it is applied to a record copy, and its
//! own random stream derived from the copy's key, so changing one rate changes only what that
//! operator does: the rest of the population stays the same, and two corruption settings can be
//! compared on the same people.
//!
//! Operators run in a fixed order, so a later one can hide an earlier one (a misspelt name that
//! then goes missing is simply missing):
//!
//! 1. life events: `surname.married`, `address.moved`;
//! 2. whole-value substitutions: `given_name.nickname`, `given_name.phonetic`,
//!    `surname.phonetic`, `address.abbreviation`;
//! 3. `swap_names`;
//! 4. character errors, per text field: `typo` then `ocr`;
//! 5. date errors: `date_of_birth.swap_day_month`, `year_off_by_one`, `digit_typo`;
//! 6. missing values, per field.
//!
//! Operators that need something to work on (a nickname exists, the day is at most 12, the
//! text holds a character OCR confuses) are applied with their rate to the copies where they
//! can be, and never elsewhere; `docs/synth.md` lists the conditions.

mod profile;

pub use self::profile::*;
use super::person::{Address, Date, Person, Sex, TABLES, Values};
use super::rng::Rng;
use super::tables;

/// The operators, whose discriminants label their random streams. Never renumber: a label
/// change changes every population generated with a seed.
#[derive(Debug, Clone, Copy)]
enum Op {
    GivenTypo = 1,
    GivenOcr,
    GivenPhonetic,
    GivenNickname,
    GivenMissing,
    SurnameTypo,
    SurnameOcr,
    SurnamePhonetic,
    SurnameMarried,
    SurnameMissing,
    SwapNames,
    DateSwapDayMonth,
    DateYearOffByOne,
    DateDigitTypo,
    DateMissing,
    SexMissing,
    PostcodeTypo,
    PostcodeOcr,
    PostcodeMissing,
    AddressMoved,
    AddressAbbreviation,
    AddressTypo,
    AddressOcr,
    AddressMissing,
}

/// A decision of operator `op` for the copy `key`: its stream, if it fires.
#[inline]
fn fires(key: u64, op: Op, rate: f64) -> Option<Rng> {
    let mut rng = Rng::sub(key, op as u64);
    rng.chance(rate).then_some(rng)
}

/// Stages 1 and 2 on the person's true attributes; returns whether the street type is to be
/// abbreviated when the address is written.
pub(crate) fn apply_to_person(p: &mut Person, rates: &CorruptionProfile, key: u64) -> bool {
    let t = &*TABLES;
    let age = p.date_of_birth.age();
    if p.sex == Sex::Female && age >= 18 {
        let ramp = (f64::from(age - 18) / 12.0).min(1.0);
        if let Some(mut rng) = fires(key, Op::SurnameMarried, rates.surname.married * ramp) {
            p.surname = married_name(p.surname, &mut rng);
        }
    }
    if let Some(mut rng) = fires(key, Op::AddressMoved, rates.address.moved) {
        let town = rng.chance(0.5).then_some(p.address.town);
        p.address = Address::random(&mut rng, town);
    }
    if let Some(short) = t.nicknames.get(p.given_name)
        && let Some(mut rng) = fires(key, Op::GivenNickname, rates.given_name.nickname)
    {
        p.given_name = *rng.pick(short);
    }
    if let Some(group) = t.given_variants.get(p.given_name)
        && let Some(mut rng) = fires(key, Op::GivenPhonetic, rates.given_name.phonetic)
    {
        p.given_name = other_member(group, p.given_name, &mut rng);
    }
    if let Some(group) = t.surname_variants.get(p.surname)
        && let Some(mut rng) = fires(key, Op::SurnamePhonetic, rates.surname.phonetic)
    {
        p.surname = other_member(group, p.surname, &mut rng);
    }
    fires(key, Op::AddressAbbreviation, rates.address.abbreviation).is_some()
}

/// Stages 3 to 6 on the record's text.
pub(crate) fn apply_to_values(v: &mut Values, rates: &CorruptionProfile, key: u64) {
    if fires(key, Op::SwapNames, rates.swap_names).is_some() {
        std::mem::swap(&mut v.given_name, &mut v.surname);
    }
    let text_fields: [(&mut String, [(Op, f64); 2]); 4] = [
        (
            &mut v.given_name,
            [
                (Op::GivenTypo, rates.given_name.typo),
                (Op::GivenOcr, rates.given_name.ocr),
            ],
        ),
        (
            &mut v.surname,
            [
                (Op::SurnameTypo, rates.surname.typo),
                (Op::SurnameOcr, rates.surname.ocr),
            ],
        ),
        (
            &mut v.postcode,
            [
                (Op::PostcodeTypo, rates.postcode.typo),
                (Op::PostcodeOcr, rates.postcode.ocr),
            ],
        ),
        (
            &mut v.address,
            [
                (Op::AddressTypo, rates.address.typo),
                (Op::AddressOcr, rates.address.ocr),
            ],
        ),
    ];
    for (text, [(typo_name, typo_rate), (ocr_name, ocr_rate)]) in text_fields {
        if let Some(mut rng) = fires(key, typo_name, typo_rate) {
            typo(text, &mut rng);
        }
        if has_ocr_confusable(text)
            && let Some(mut rng) = fires(key, ocr_name, ocr_rate)
        {
            ocr(text, &mut rng);
        }
    }
    if let Some(d) = v.date_of_birth {
        let r = &rates.date_of_birth;
        let mut d = d;
        if can_swap_day_month(d) && fires(key, Op::DateSwapDayMonth, r.swap_day_month).is_some() {
            d = swap_day_month(d);
        }
        if let Some(mut rng) = fires(key, Op::DateYearOffByOne, r.year_off_by_one) {
            d = year_off_by_one(d, &mut rng);
        }
        if let Some(mut rng) = fires(key, Op::DateDigitTypo, r.digit_typo) {
            d = digit_typo(d, &mut rng);
        }
        v.date_of_birth = Some(d);
    }
    if fires(key, Op::GivenMissing, rates.given_name.missing).is_some() {
        v.given_name.clear();
    }
    if fires(key, Op::SurnameMissing, rates.surname.missing).is_some() {
        v.surname.clear();
    }
    if fires(key, Op::DateMissing, rates.date_of_birth.missing).is_some() {
        v.date_of_birth = None;
    }
    if fires(key, Op::SexMissing, rates.sex.missing).is_some() {
        v.sex = None;
    }
    if fires(key, Op::PostcodeMissing, rates.postcode.missing).is_some() {
        v.postcode.clear();
    }
    if fires(key, Op::AddressMissing, rates.address.missing).is_some() {
        v.address.clear();
    }
}

/// A surname other than `old`, drawn from the population's distribution.
fn married_name(old: &'static str, rng: &mut Rng) -> &'static str {
    loop {
        let new = TABLES.random_surname(rng);
        if new != old {
            return new;
        }
    }
}

/// A member of `group` other than `name`.
fn other_member(group: &[&'static str], name: &str, rng: &mut Rng) -> &'static str {
    let others = group.len() as u64 - u64::from(group.contains(&name));
    let mut k = rng.below(others);
    for &g in group {
        if g != name {
            if k == 0 {
                return g;
            }
            k -= 1;
        }
    }
    group[0]
}

/// Whether a typing error can touch byte `b`: only ASCII letters and digits are, which keeps
/// every edit on a character boundary.
fn typable(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// The byte index of the `k`-th (from 0) position in `s` where `at` holds.
fn nth_position(s: &str, k: u64, at: impl Fn(&[u8], usize) -> bool) -> usize {
    let b = s.as_bytes();
    (0..b.len())
        .filter(|&i| at(b, i))
        .nth(k as usize)
        .unwrap_or(0)
}

/// `c` in the case of `like`.
fn case_of(c: u8, like: u8) -> u8 {
    if like.is_ascii_uppercase() {
        c.to_ascii_uppercase()
    } else {
        c.to_ascii_lowercase()
    }
}

/// One typing error: an insertion, a deletion, a substitution by a keyboard neighbour or a
/// transposition of two neighbouring characters (weights 20/25/40/15, roughly the shares
/// reported for keyboard errors). The result always differs from the input, at
/// Damerau-Levenshtein distance 1. Returns false, changing nothing, if `s` has no ASCII letter
/// or digit.
pub(crate) fn typo(s: &mut String, rng: &mut Rng) -> bool {
    let typable_at = |b: &[u8], i: usize| typable(b[i]);
    let n = s.bytes().filter(|&b| typable(b)).count() as u64;
    if n == 0 {
        return false;
    }
    // Inserted letters are lower case unless the value has no lower-case letter (postcodes).
    let shouting = !s.bytes().any(|b| b.is_ascii_lowercase());
    let kind = rng.below(100);
    let swappable = |b: &[u8], i: usize| {
        i + 1 < b.len()
            && typable(b[i])
            && typable(b[i + 1])
            && !b[i].eq_ignore_ascii_case(&b[i + 1])
    };
    let pairs = (0..s.len()).filter(|&i| swappable(s.as_bytes(), i)).count() as u64;
    if kind < 20 {
        let i = nth_position(s, rng.below(n), typable_at);
        let c = s.as_bytes()[i];
        let new = *rng.pick(tables::keyboard_neighbours(c));
        let new = if shouting {
            new.to_ascii_uppercase()
        } else {
            new
        };
        let at = if rng.chance(0.5) { i } else { i + 1 };
        s.insert(at, char::from(new));
    } else if kind < 45 && n >= 2 {
        let i = nth_position(s, rng.below(n), typable_at);
        s.remove(i);
    } else if kind >= 85 && pairs > 0 {
        let i = nth_position(s, rng.below(pairs), swappable);
        let b = s.as_bytes();
        let (x, y) = (b[i], b[i + 1]);
        let swapped = [case_of(y, x), case_of(x, y)];
        let swapped = std::str::from_utf8(&swapped)
            .unwrap_or_default()
            .to_string();
        s.replace_range(i..i + 2, &swapped);
    } else {
        let i = nth_position(s, rng.below(n), typable_at);
        let c = s.as_bytes()[i];
        let new = case_of(*rng.pick(tables::keyboard_neighbours(c)), c);
        s.replace_range(i..i + 1, char::from(new).encode_utf8(&mut [0; 4]));
    }
    true
}

/// Whether `s` holds a sequence that OCR confuses.
pub(crate) fn has_ocr_confusable(s: &str) -> bool {
    tables::OCR.iter().any(|(from, _)| s.contains(from))
}

/// One OCR confusion, chosen uniformly among all places in `s` where one can happen. Returns
/// false, changing nothing, if there is none.
pub(crate) fn ocr(s: &mut String, rng: &mut Rng) -> bool {
    let count: usize = tables::OCR
        .iter()
        .map(|(from, _)| s.matches(from).count())
        .sum();
    if count == 0 {
        return false;
    }
    let mut k = rng.below(count as u64) as usize;
    for (from, to) in tables::OCR {
        let n = s.matches(from).count();
        if k < n {
            let (i, _) = s.match_indices(from).nth(k).unwrap_or((0, ""));
            s.replace_range(i..i + from.len(), to);
            return true;
        }
        k -= n;
    }
    false
}

/// Whether swapping day and month gives a different real date.
pub(crate) fn can_swap_day_month(d: Date) -> bool {
    d.day <= 12 && d.day != d.month
}

fn swap_day_month(d: Date) -> Date {
    Date {
        year: d.year,
        month: d.day,
        day: d.month,
    }
}

fn year_off_by_one(d: Date, rng: &mut Rng) -> Date {
    let year = if rng.chance(0.5) {
        d.year + 1
    } else {
        d.year - 1
    };
    let day = d.day.min(Date::days_in_month(year, d.month));
    Date {
        year,
        month: d.month,
        day,
    }
}

/// One mistyped digit of the day, the month or the last two digits of the year (a slip in the
/// century is rare and implausible), always giving a real date.
fn digit_typo(d: Date, rng: &mut Rng) -> Date {
    let century = d.year.div_euclid(100) * 100;
    let yy = d.year.rem_euclid(100) as u8;
    let digits = [
        d.day / 10,
        d.day % 10,
        d.month / 10,
        d.month % 10,
        yy / 10,
        yy % 10,
    ];
    let candidate = |c: u64| {
        let (pos, shift) = ((c / 9) as usize, (c % 9) as u8 + 1);
        let mut x = digits;
        x[pos] = (x[pos] + shift) % 10;
        Date::new(
            century + i32::from(x[4] * 10 + x[5]),
            x[2] * 10 + x[3],
            x[0] * 10 + x[1],
        )
    };
    // 54 candidates (6 digits, 9 other values each); most are real dates.
    for _ in 0..16 {
        if let Some(new) = candidate(rng.below(54)) {
            return new;
        }
    }
    let start = rng.below(54);
    (0..54)
        .find_map(|i| candidate((start + i) % 54))
        .unwrap_or(d)
}

#[cfg(test)]
mod tests;
