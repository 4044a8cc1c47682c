//! The frequency tables behind the synthetic population, compiled into the crate.
//!
//! All lists were written for pprl from general knowledge of names, streets and towns in the
//! United Kingdom; none is copied from a data set, so they carry the crate's own licence
//! (Apache-2.0). Frequencies are not measured: names are listed in rough order of popularity
//! and weighted by a Zipf–Mandelbrot law over that rank (weight `1 / (rank + q)`), which gives the
//! heavy head and long tail that real name distributions have. Given names are tagged with the
//! birth cohorts in which they were common, so an 80-year-old is seldom called Oliver.
//!
//! Weights are integers, so sampling involves no floating-point function whose last bit could
//! differ between platforms.
//!
//! One file per family: `given` (given names by cohort), `surnames`, `variants` (nicknames and
//! sound-alike spellings), `places` (streets, towns, postcodes), `typing` (keyboard and OCR
//! errors); the age pyramid is here.

mod given;
mod places;
mod surnames;
mod typing;
mod variants;

pub(crate) use self::given::{FEMALE_NAMES, M, MALE_NAMES, O, Y};
pub(crate) use self::places::{STREET_TYPES, STREETS, TOWNS, UNIT_LETTERS};
pub(crate) use self::surnames::{SURNAME_PREFIXES, SURNAME_SUFFIXES, SURNAMES};
pub(crate) use self::typing::{OCR, keyboard_neighbours};
pub(crate) use self::variants::{GIVEN_VARIANTS, NICKNAMES, SURNAME_VARIANTS};

/// Share of the population in each five-year age band (0-4, 5-9, ..., 95-99), in tenths of a
/// percent, shaped like the United Kingdom's age pyramid.
pub(crate) static AGE_BANDS: [u32; 20] = [
    55, 60, 60, 57, 60, 66, 69, 67, 63, 64, 69, 68, 60, 52, 50, 38, 26, 16, 7, 2,
];
