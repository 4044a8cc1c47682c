//! The true attributes of one synthetic person, and their rendering as the text of one record.
//!
//! A person is a pure function of `(seed, entity)`: every party that holds the person
//! regenerates the same attributes, so no table of people is ever kept in memory.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::rng::{Rng, key};
use super::tables::{self, M, O, Y};

/// Domain label of the person stream in [`key`].
const PERSON_STREAM: u64 = 0x5045_5253_4f4e; // "PERSON"

/// The day the population is observed: ages are measured to it. Fixed, not today, so a seed
/// gives the same population whenever it is run.
pub(crate) const REFERENCE_DATE: Date = Date {
    year: 2025,
    month: 1,
    day: 1,
};

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Date {
    pub(crate) year: i32,
    pub(crate) month: u8,
    pub(crate) day: u8,
}

impl Date {
    /// Whether `year` has a 29 February.
    pub(crate) fn is_leap(year: i32) -> bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// Days in a month of a year.
    pub(crate) fn days_in_month(year: i32, month: u8) -> u8 {
        match month {
            2 if Date::is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// The date, if it exists.
    pub(crate) fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= Date::days_in_month(year, month))
            .then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (Hinnant's `days_from_civil`).
    pub(crate) fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (Hinnant's `civil_from_days`).
    pub(crate) fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Completed years of age on [`REFERENCE_DATE`].
    pub(crate) fn age(self) -> i32 {
        let r = REFERENCE_DATE;
        r.year - self.year - i32::from((r.month, r.day) < (self.month, self.day))
    }
}

/// Sex as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sex {
    Female,
    Male,
}

/// A UK postcode, e.g. `SW20 1AB` (at most 8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Postcode {
    bytes: [u8; 8],
    len: u8,
}

impl Postcode {
    fn new(area: &str, district: u8, sector: u8, unit: [u8; 2]) -> Postcode {
        let mut bytes = [0u8; 8];
        let mut len = 0;
        let mut push = |b: u8| {
            bytes[len] = b;
            len += 1;
        };
        area.bytes().for_each(&mut push);
        if district >= 10 {
            push(b'0' + district / 10);
        }
        push(b'0' + district % 10);
        push(b' ');
        push(b'0' + sector);
        push(unit[0]);
        push(unit[1]);
        Postcode {
            bytes,
            len: len as u8,
        }
    }

    /// The postcode as text.
    pub(crate) fn as_str(&self) -> &str {
        // Built from ASCII letters and digits only.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or_default()
    }
}

/// Where a person lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Address {
    /// Flat number, 0 for none.
    pub(crate) flat: u16,
    pub(crate) house: u16,
    pub(crate) street: u16,
    pub(crate) street_type: u8,
    pub(crate) town: u16,
    pub(crate) postcode: Postcode,
}

impl Address {
    /// A random address; in `town` if given, else in a town drawn by population.
    pub(crate) fn random(rng: &mut Rng, town: Option<u16>) -> Address {
        let t = &*TABLES;
        let town = town.unwrap_or_else(|| t.towns.sample(rng) as u16);
        let info = &tables::TOWNS[town as usize];
        let (lo, hi) = info.districts;
        let district = lo + rng.below(u64::from(hi - lo) + 1) as u8;
        let sector = rng.below(10) as u8;
        let unit = [
            *rng.pick(tables::UNIT_LETTERS),
            *rng.pick(tables::UNIT_LETTERS),
        ];
        // House numbers: most streets are short, so low numbers are commoner.
        let u = rng.unit();
        let house = 1 + (u * u * 220.0) as u16;
        let flat = if rng.chance(0.08) {
            1 + rng.below(24) as u16
        } else {
            0
        };
        Address {
            flat,
            house,
            street: rng.below(tables::STREETS.len() as u64) as u16,
            street_type: t.street_types.sample(rng) as u8,
            town,
            postcode: Postcode::new(info.area, district, sector, unit),
        }
    }

    /// Writes e.g. `Flat 3, 12 High Street, Exeter` (`St` for `Street` if `abbreviate`).
    pub(crate) fn render(&self, abbreviate: bool, out: &mut String) {
        use std::fmt::Write as _;
        if self.flat > 0 {
            let _ = write!(out, "Flat {}, ", self.flat);
        }
        let (full, short, _) = tables::STREET_TYPES[self.street_type as usize];
        let _ = write!(
            out,
            "{} {} {}, {}",
            self.house,
            tables::STREETS[self.street as usize],
            if abbreviate { short } else { full },
            tables::TOWNS[self.town as usize].name
        );
    }
}

/// The true attributes of a person.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) sex: Sex,
    pub(crate) given_name: &'static str,
    pub(crate) surname: &'static str,
    pub(crate) date_of_birth: Date,
    pub(crate) address: Address,
}

impl Person {
    /// Person number `entity` of the population of `seed`.
    pub(crate) fn generate(seed: u64, entity: u64) -> Person {
        let t = &*TABLES;
        let mut rng = Rng::new(key(&[seed, PERSON_STREAM, entity]));
        let sex = if rng.chance(0.51) {
            Sex::Female
        } else {
            Sex::Male
        };
        let band = t.age_bands.sample(&mut rng) as i64;
        let age = band * 5 + rng.below(5) as i64;
        let born = REFERENCE_DATE.to_days() - age * 365 - age / 4 - rng.below(365) as i64 - 1;
        let date_of_birth = Date::from_days(born);
        let cohort = match date_of_birth.year {
            ..1960 => 0,
            1960..1990 => 1,
            _ => 2,
        };
        let given_name = match sex {
            Sex::Female => t.female[cohort].pick(&mut rng, tables::FEMALE_NAMES),
            Sex::Male => t.male[cohort].pick(&mut rng, tables::MALE_NAMES),
        };
        Person {
            sex,
            given_name,
            surname: t.random_surname(&mut rng),
            date_of_birth,
            address: Address::random(&mut rng, None),
        }
    }
}

/// One record's values as text, ready to be corrupted and written. Reused between records so
/// that generating a row allocates nothing once the buffers have grown.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Values {
    pub(crate) given_name: String,
    pub(crate) surname: String,
    /// `None` when missing.
    pub(crate) date_of_birth: Option<Date>,
    /// `None` when not recorded (written `U`).
    pub(crate) sex: Option<Sex>,
    pub(crate) postcode: String,
    pub(crate) address: String,
}

impl Values {
    /// Fills the buffers with `person`'s values.
    pub(crate) fn fill(&mut self, person: &Person, abbreviate: bool) {
        self.given_name.clear();
        self.given_name.push_str(person.given_name);
        self.surname.clear();
        self.surname.push_str(person.surname);
        self.date_of_birth = Some(person.date_of_birth);
        self.sex = Some(person.sex);
        self.postcode.clear();
        self.postcode.push_str(person.address.postcode.as_str());
        self.address.clear();
        person.address.render(abbreviate, &mut self.address);
    }
}

/// Weighted sampling by binary search over cumulative integer weights.
#[derive(Debug)]
pub(crate) struct Sampler {
    cumulative: Vec<u64>,
}

impl Sampler {
    pub(crate) fn new(weights: impl IntoIterator<Item = u64>) -> Sampler {
        let mut total = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Sampler { cumulative }
    }

    /// An index drawn with probability proportional to its weight.
    pub(crate) fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.below(*self.cumulative.last().unwrap_or(&1));
        self.cumulative.partition_point(|&c| c <= x)
    }

    /// The name at a drawn index of `names`.
    fn pick(&self, rng: &mut Rng, names: &[(&'static str, u8)]) -> &'static str {
        names[self.sample(rng)].0
    }
}

/// Weight of rank `rank` (from 0) under a Zipf–Mandelbrot law `1 / (rank + 1 + q)`, in integer
/// units.
fn zipf(rank: usize, q: u64) -> u64 {
    1_000_000_000 / (rank as u64 + 1 + q)
}

/// Tables derived once from [`tables`]: samplers and lookups.
pub(crate) struct Tables {
    /// Given-name samplers per birth cohort (before 1960, 1960-1989, 1990 on).
    male: [Sampler; 3],
    female: [Sampler; 3],
    /// The head list followed by the generated long tail.
    pub(crate) surnames: Vec<&'static str>,
    surname_sampler: Sampler,
    towns: Sampler,
    street_types: Sampler,
    age_bands: Sampler,
    pub(crate) nicknames: HashMap<&'static str, &'static [&'static str]>,
    pub(crate) given_variants: HashMap<&'static str, &'static [&'static str]>,
    pub(crate) surname_variants: HashMap<&'static str, &'static [&'static str]>,
}

impl Tables {
    /// A surname drawn from the population's distribution.
    pub(crate) fn random_surname(&self, rng: &mut Rng) -> &'static str {
        self.surnames[self.surname_sampler.sample(rng)]
    }
}

fn cohort_sampler(names: &[(&str, u8)], cohort: u8) -> Sampler {
    // A name outside its cohorts keeps a twelfth of its weight: names never vanish entirely.
    Sampler::new(names.iter().enumerate().map(|(rank, &(_, cohorts))| {
        let w = zipf(rank, 5);
        if cohorts & cohort != 0 { w } else { w / 12 }
    }))
}

fn variant_map(
    groups: &'static [&'static [&'static str]],
) -> HashMap<&'static str, &'static [&'static str]> {
    groups
        .iter()
        .flat_map(|g| g.iter().map(move |&name| (name, *g)))
        .collect()
}

/// The derived tables, built on first use.
pub(crate) static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let head = tables::SURNAMES;
    let mut surnames: Vec<&'static str> = head.to_vec();
    for p in tables::SURNAME_PREFIXES {
        for s in tables::SURNAME_SUFFIXES {
            let name: &'static str = Box::leak(format!("{p}{s}").into_boxed_str());
            if !head.contains(&name) {
                surnames.push(name);
            }
        }
    }
    // The head (Zipf, q = 3) takes a quarter of the population, the tail shares the rest
    // evenly: the commonest surname then has about 1.4% of people, as Smith does in Britain.
    let head_weights: Vec<u64> = (0..head.len()).map(|r| zipf(r, 3)).collect();
    let head_total: u64 = head_weights.iter().sum();
    let tail_len = (surnames.len() - head.len()) as u64;
    let tail_weight = head_total * 3 / tail_len;
    let surname_sampler = Sampler::new(
        head_weights
            .into_iter()
            .chain(std::iter::repeat_n(tail_weight, tail_len as usize)),
    );
    let cohorts = [O, M, Y];
    Tables {
        male: cohorts.map(|c| cohort_sampler(tables::MALE_NAMES, c)),
        female: cohorts.map(|c| cohort_sampler(tables::FEMALE_NAMES, c)),
        surnames,
        surname_sampler,
        towns: Sampler::new(tables::TOWNS.iter().map(|t| u64::from(t.weight))),
        street_types: Sampler::new(tables::STREET_TYPES.iter().map(|t| u64::from(t.2))),
        age_bands: Sampler::new(tables::AGE_BANDS.iter().map(|&w| u64::from(w))),
        nicknames: tables::NICKNAMES.iter().copied().collect(),
        given_variants: variant_map(tables::GIVEN_VARIANTS),
        surname_variants: variant_map(tables::SURNAME_VARIANTS),
    }
});

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn dates_round_trip_through_day_numbers() {
        assert_eq!(Date::new(1970, 1, 1).unwrap().to_days(), 0);
        assert_eq!(Date::new(2000, 3, 1).unwrap().to_days(), 11_017);
        for days in (-40_000..25_000).step_by(7) {
            let d = Date::from_days(days);
            assert!(Date::new(d.year, d.month, d.day).is_some(), "{d:?}");
            assert_eq!(d.to_days(), days);
        }
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(1900, 2, 29).is_none());
        assert_eq!(Date::new(2000, 1, 2).unwrap().age(), 24);
        assert_eq!(Date::new(2000, 1, 1).unwrap().age(), 25);
        assert_eq!(Date::new(1999, 12, 31).unwrap().age(), 25);
    }

    #[test]
    fn tables_have_no_duplicates_and_every_variant_is_consistent() {
        for (what, names) in [
            (
                "male",
                tables::MALE_NAMES.iter().map(|n| n.0).collect::<Vec<_>>(),
            ),
            ("female", tables::FEMALE_NAMES.iter().map(|n| n.0).collect()),
            ("surnames", TABLES.surnames.clone()),
            ("streets", tables::STREETS.to_vec()),
        ] {
            let mut seen = HashSet::new();
            for n in &names {
                assert!(seen.insert(n), "{what}: {n} twice");
                assert!(!n.is_empty() && n.trim() == *n, "{what}: `{n}`");
            }
        }
        assert!(TABLES.surnames.len() > 2000, "{}", TABLES.surnames.len());
        // A name belongs to one variant group only, or replacing it would be ambiguous.
        for groups in [tables::GIVEN_VARIANTS, tables::SURNAME_VARIANTS] {
            let mut seen = HashSet::new();
            for g in groups {
                assert!(g.len() >= 2);
                for n in *g {
                    assert!(seen.insert(n), "{n} in two variant groups");
                }
            }
        }
        let mut seen = HashSet::new();
        for (formal, short) in tables::NICKNAMES {
            assert!(seen.insert(formal), "{formal} twice");
            assert!(!short.is_empty() && !short.contains(formal));
        }
        for t in tables::TOWNS {
            assert!(t.districts.0 >= 1 && t.districts.0 <= t.districts.1 && t.districts.1 < 100);
            assert!(
                (1..=2).contains(&t.area.len()) && t.area.bytes().all(|b| b.is_ascii_uppercase())
            );
        }
    }

    fn is_uk_postcode(s: &str) -> bool {
        let b = s.as_bytes();
        let Some(space) = s.find(' ') else {
            return false;
        };
        let (out, inw) = (&b[..space], &b[space + 1..]);
        let letters = out.iter().take_while(|c| c.is_ascii_uppercase()).count();
        let digits = &out[letters..];
        (1..=2).contains(&letters)
            && (1..=2).contains(&digits.len())
            && digits.iter().all(u8::is_ascii_digit)
            && inw.len() == 3
            && inw[0].is_ascii_digit()
            && inw[1..].iter().all(|c| tables::UNIT_LETTERS.contains(c))
    }

    #[test]
    fn people_are_plausible() {
        let n = 20_000;
        let mut female = 0;
        let mut ages = [0u32; 20];
        let mut smith = 0;
        let mut surnames = HashSet::new();
        for e in 0..n {
            let p = Person::generate(9, e);
            female += u32::from(p.sex == Sex::Female);
            let age = p.date_of_birth.age();
            assert!((0..100).contains(&age), "{p:?}");
            ages[age as usize / 5] += 1;
            let names = match p.sex {
                Sex::Female => tables::FEMALE_NAMES,
                Sex::Male => tables::MALE_NAMES,
            };
            assert!(names.iter().any(|n| n.0 == p.given_name));
            smith += u32::from(p.surname == "Smith");
            surnames.insert(p.surname);
            let pc = p.address.postcode.as_str();
            assert!(is_uk_postcode(pc), "{pc}");
            let town = &tables::TOWNS[p.address.town as usize];
            assert!(pc.starts_with(town.area) && pc.as_bytes()[town.area.len()].is_ascii_digit());
            let mut v = Values::default();
            v.fill(&p, false);
            assert!(v.address.ends_with(town.name), "{}", v.address);
        }
        // Each count is binomial; 5 sd bounds.
        assert!((female as f64 - 0.51 * n as f64).abs() < 5.0 * (n as f64 * 0.25).sqrt());
        // Children and the middle-aged are many, the very old few.
        assert!(ages[1] > 5 * ages[18], "{ages:?}");
        // Smith about 1.4%, and thousands of distinct surnames: realistic skew.
        assert!((150..450).contains(&smith), "{smith}");
        assert!(surnames.len() > 1500, "{}", surnames.len());
    }

    #[test]
    fn names_follow_birth_cohorts() {
        let people: Vec<Person> = (0..40_000).map(|e| Person::generate(3, e)).collect();
        // The share of men born before 1960 (old) and later with this name.
        let rate = |name: &str, old: bool| {
            let men = people
                .iter()
                .filter(|p| p.sex == Sex::Male && (p.date_of_birth.year < 1960) == old);
            let (n, hits) = men.fold((0, 0), |(n, h), p| {
                (n + 1, h + u32::from(p.given_name == name))
            });
            f64::from(hits) / f64::from(n)
        };
        // Oliver is a young name, Alan an old one; outside its cohorts a name keeps 1/12 of
        // its weight.
        assert!(rate("Oliver", false) > 4.0 * rate("Oliver", true), "Oliver");
        assert!(rate("Alan", true) > 4.0 * rate("Alan", false), "Alan");
    }

    #[test]
    fn people_depend_on_seed_and_entity_only() {
        let a = Person::generate(1, 5);
        let b = Person::generate(1, 5);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let differs = (0..100)
            .filter(|&e| {
                format!("{:?}", Person::generate(1, e)) != format!("{:?}", Person::generate(2, e))
            })
            .count();
        assert_eq!(differs, 100);
    }
}
