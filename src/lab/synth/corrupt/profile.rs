//! The corruption model's settings: one rate per operator, grouped by field, with named levels
//! and checks that every rate is a probability.

use crate::lab::synth::SynthError;

/// Rates of the errors in given names.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct GivenNameRates {
    /// One typing error: a character inserted, deleted, replaced by a keyboard neighbour, or
    /// two neighbours transposed.
    pub typo: f64,
    /// One OCR confusion (`rn`/`m`, `l`/`1`, `O`/`0`, ...), where the name has a confusable.
    pub ocr: f64,
    /// A spelling that sounds the same (Catherine/Kathryn), where the table has one.
    pub phonetic: f64,
    /// The short form the person goes by (William/Bill), where the table has one.
    pub nickname: f64,
    /// The name is left empty.
    pub missing: f64,
}

/// Rates of the errors and changes in surnames.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SurnameRates {
    /// One typing error (see [`GivenNameRates::typo`]).
    pub typo: f64,
    /// One OCR confusion.
    pub ocr: f64,
    /// A spelling that sounds the same (Smith/Smyth), where the table has one.
    pub phonetic: f64,
    /// A woman's surname changed by marriage: this rate for women of 30 or over, rising
    /// linearly from 0 at 18, never below 18.
    pub married: f64,
    /// The name is left empty.
    pub missing: f64,
}

/// Rates of the errors in dates of birth.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DateRates {
    /// Day and month swapped (the American order), where the day is at most 12 and differs
    /// from the month.
    pub swap_day_month: f64,
    /// The year one more or one less (29 February becomes the 28th if needed).
    pub year_off_by_one: f64,
    /// One digit of the day, month or the last two of the year mistyped, always giving a real
    /// date.
    pub digit_typo: f64,
    /// The date is left empty.
    pub missing: f64,
}

/// Rates of the errors in the sex field.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SexRates {
    /// Sex not recorded (written `U`).
    pub missing: f64,
}

/// Rates of the errors in postcodes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PostcodeRates {
    /// One typing error.
    pub typo: f64,
    /// One OCR confusion (`0`/`O`, `1`/`I`, `5`/`S`, ...), where the postcode has one.
    pub ocr: f64,
    /// The postcode is left empty.
    pub missing: f64,
}

/// Rates of the errors and changes in addresses.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AddressRates {
    /// The person moved: a new address and postcode, in the same town half of the time.
    pub moved: f64,
    /// The street type abbreviated (`Road` to `Rd`).
    pub abbreviation: f64,
    /// One typing error.
    pub typo: f64,
    /// One OCR confusion.
    pub ocr: f64,
    /// The address is left empty.
    pub missing: f64,
}

/// Every rate of the corruption model, per field. Each rate is a probability in `[0, 1]`;
/// names such as `given_name.typo` address them one by one ([`CorruptionProfile::set`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CorruptionProfile {
    /// Given names.
    pub given_name: GivenNameRates,
    /// Surnames.
    pub surname: SurnameRates,
    /// Given name and surname written in each other's fields.
    pub swap_names: f64,
    /// Dates of birth.
    pub date_of_birth: DateRates,
    /// Sex.
    pub sex: SexRates,
    /// Postcodes.
    pub postcode: PostcodeRates,
    /// Addresses.
    pub address: AddressRates,
}

/// The named presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptionLevel {
    /// No corruption: every copy equals the truth (useful to check a pipeline end to end).
    None,
    /// 0.4 times the moderate rates.
    Low,
    /// Rates in the range reported for administrative data (a few percent per field).
    Moderate,
    /// 2.5 times the moderate rates.
    High,
}

impl CorruptionLevel {
    /// The preset's rates.
    pub fn profile(self) -> CorruptionProfile {
        match self {
            CorruptionLevel::None => CorruptionProfile::moderate().scaled(0.0),
            CorruptionLevel::Low => CorruptionProfile::moderate().scaled(0.4),
            CorruptionLevel::Moderate => CorruptionProfile::moderate(),
            CorruptionLevel::High => CorruptionProfile::moderate().scaled(2.5),
        }
    }
}

type Accessor = fn(&mut CorruptionProfile) -> &mut f64;

/// Every rate's name, in the order the operators are applied within each stage.
static RATES: &[(&str, Accessor)] = &[
    ("given_name.typo", |p| &mut p.given_name.typo),
    ("given_name.ocr", |p| &mut p.given_name.ocr),
    ("given_name.phonetic", |p| &mut p.given_name.phonetic),
    ("given_name.nickname", |p| &mut p.given_name.nickname),
    ("given_name.missing", |p| &mut p.given_name.missing),
    ("surname.typo", |p| &mut p.surname.typo),
    ("surname.ocr", |p| &mut p.surname.ocr),
    ("surname.phonetic", |p| &mut p.surname.phonetic),
    ("surname.married", |p| &mut p.surname.married),
    ("surname.missing", |p| &mut p.surname.missing),
    ("swap_names", |p| &mut p.swap_names),
    ("date_of_birth.swap_day_month", |p| {
        &mut p.date_of_birth.swap_day_month
    }),
    ("date_of_birth.year_off_by_one", |p| {
        &mut p.date_of_birth.year_off_by_one
    }),
    ("date_of_birth.digit_typo", |p| {
        &mut p.date_of_birth.digit_typo
    }),
    ("date_of_birth.missing", |p| &mut p.date_of_birth.missing),
    ("sex.missing", |p| &mut p.sex.missing),
    ("postcode.typo", |p| &mut p.postcode.typo),
    ("postcode.ocr", |p| &mut p.postcode.ocr),
    ("postcode.missing", |p| &mut p.postcode.missing),
    ("address.moved", |p| &mut p.address.moved),
    ("address.abbreviation", |p| &mut p.address.abbreviation),
    ("address.typo", |p| &mut p.address.typo),
    ("address.ocr", |p| &mut p.address.ocr),
    ("address.missing", |p| &mut p.address.missing),
];

impl CorruptionProfile {
    /// The moderate preset (see [`CorruptionLevel::Moderate`]).
    pub fn moderate() -> CorruptionProfile {
        CorruptionProfile {
            given_name: GivenNameRates {
                typo: 0.03,
                ocr: 0.01,
                phonetic: 0.05,
                nickname: 0.08,
                missing: 0.01,
            },
            surname: SurnameRates {
                typo: 0.03,
                ocr: 0.01,
                phonetic: 0.05,
                married: 0.10,
                missing: 0.005,
            },
            swap_names: 0.01,
            date_of_birth: DateRates {
                swap_day_month: 0.02,
                year_off_by_one: 0.01,
                digit_typo: 0.02,
                missing: 0.01,
            },
            sex: SexRates { missing: 0.02 },
            postcode: PostcodeRates {
                typo: 0.02,
                ocr: 0.01,
                missing: 0.02,
            },
            address: AddressRates {
                moved: 0.08,
                abbreviation: 0.10,
                typo: 0.03,
                ocr: 0.01,
                missing: 0.02,
            },
        }
    }

    /// Every rate multiplied by `factor` (capped at 1).
    pub fn scaled(mut self, factor: f64) -> CorruptionProfile {
        for (_, rate) in RATES {
            let r = rate(&mut self);
            *r = (*r * factor).min(1.0);
        }
        self
    }

    /// The names of all rates, as [`CorruptionProfile::set`] takes them.
    pub fn rate_names() -> impl Iterator<Item = &'static str> {
        RATES.iter().map(|(name, _)| *name)
    }

    /// Every rate with its name.
    pub fn rates(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        let mut copy = *self;
        RATES
            .iter()
            .map(move |(name, rate)| (*name, *rate(&mut copy)))
    }

    /// The rate called `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.rates().find(|(n, _)| *n == name).map(|(_, r)| r)
    }

    /// Sets the rate called `name` (e.g. `given_name.typo`) to a probability in `[0, 1]`.
    pub fn set(&mut self, name: &str, value: f64) -> Result<(), SynthError> {
        let Some((name, rate)) = RATES.iter().find(|(n, _)| *n == name) else {
            return Err(SynthError::UnknownRate {
                name: name.to_string(),
                known: Self::rate_names().collect::<Vec<_>>().join(", "),
            });
        };
        check_rate(name, value)?;
        *rate(self) = value;
        Ok(())
    }

    /// Checks that every rate is a probability.
    pub fn validate(&self) -> Result<(), SynthError> {
        self.rates().try_for_each(|(name, r)| check_rate(name, r))
    }
}

fn check_rate(name: &str, value: f64) -> Result<(), SynthError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(SynthError::Rate {
            name: name.to_string(),
            value,
        })
    }
}
