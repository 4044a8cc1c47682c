use proptest::prelude::*;

use super::*;
use crate::lab::synth::SynthError;
use crate::lab::synth::rng::Rng;
use crate::lab::synth::rng::key;

/// Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a
/// substring), over characters.
fn osa(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[test]
fn osa_oracle() {
    assert_eq!(osa("William", "William"), 0);
    assert_eq!(osa("William", "Wiliam"), 1);
    assert_eq!(osa("William", "Wliliam"), 1);
    assert_eq!(osa("William", "Qilliam"), 1);
    assert_eq!(osa("Smith", "Smyth"), 1);
    assert_eq!(osa("ab", "ba"), 1);
    assert_eq!(osa("abc", "ca"), 3);
}

fn date() -> impl Strategy<Value = Date> {
    (-30_000i64..25_000).prop_map(Date::from_days)
}

proptest! {
    #[test]
    fn a_typo_is_one_edit_and_keeps_the_text_valid(
        s in "[A-Za-z0-9éëÅ' ,-]{0,16}",
        seed in any::<u64>(),
    ) {
        let mut t = s.clone();
        let applied = typo(&mut t, &mut Rng::new(seed));
        prop_assert_eq!(applied, s.bytes().any(|b| b.is_ascii_alphanumeric()));
        if applied {
            // A transposition keeps the case pattern (shift goes with the first keystroke), so
            // compare case-insensitively, as the encoder does.
            prop_assert_eq!(osa(&s.to_lowercase(), &t.to_lowercase()), 1, "{} -> {}", s, t);
            prop_assert_ne!(&s, &t);
            // Nothing but letters and digits appear, and nothing typable vanishes entirely.
            prop_assert!(t.bytes().any(|b| b.is_ascii_alphanumeric()));
        } else {
            prop_assert_eq!(&t, &s);
        }
    }

    #[test]
    fn an_ocr_confusion_changes_one_place(
        s in "[A-Za-z0-9éë' -]{0,16}",
        seed in any::<u64>(),
    ) {
        let mut t = s.clone();
        let applied = ocr(&mut t, &mut Rng::new(seed));
        prop_assert_eq!(applied, has_ocr_confusable(&s));
        if applied {
            prop_assert_ne!(&t, &s);
            let (a, b) = (s.chars().count() as i64, t.chars().count() as i64);
            prop_assert!((a - b).abs() <= 1);
            prop_assert!(osa(&s, &t) <= 2, "{} -> {}", s, t);
        } else {
            prop_assert_eq!(&t, &s);
        }
    }

    #[test]
    fn date_errors_give_other_real_dates(d in date(), seed in any::<u64>()) {
        let real = |x: Date| Date::new(x.year, x.month, x.day) == Some(x);
        let typo = digit_typo(d, &mut Rng::new(seed));
        prop_assert!(real(typo) && typo != d, "{:?} -> {:?}", d, typo);
        // Only the last two digits of the year may change.
        prop_assert_eq!(typo.year.div_euclid(100), d.year.div_euclid(100));
        let off = year_off_by_one(d, &mut Rng::new(seed));
        prop_assert!(real(off) && (off.year - d.year).abs() == 1 && off.month == d.month);
        if can_swap_day_month(d) {
            let s = swap_day_month(d);
            prop_assert!(real(s) && s != d && s.day == d.month && s.month == d.day);
        }
    }
}

#[test]
fn presets_scale_and_validate() {
    let none = CorruptionLevel::None.profile();
    assert!(none.rates().all(|(_, r)| r == 0.0));
    let [low, moderate, high] = [
        CorruptionLevel::Low,
        CorruptionLevel::Moderate,
        CorruptionLevel::High,
    ]
    .map(|l| l.profile());
    for (((name, l), (_, m)), (_, h)) in low.rates().zip(moderate.rates()).zip(high.rates()) {
        assert!(0.0 < l && l < m && m < h && h <= 1.0, "{name}: {l} {m} {h}");
    }
    let names: Vec<&str> = CorruptionProfile::rate_names().collect();
    assert_eq!(names.len(), 24);
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
    for p in [none, low, moderate, high] {
        p.validate().unwrap();
    }
}

#[test]
fn rates_are_set_by_name_and_checked() {
    let mut p = CorruptionProfile::moderate();
    p.set("address.moved", 0.5).unwrap();
    assert_eq!(p.address.moved, 0.5);
    assert_eq!(p.get("address.moved"), Some(0.5));
    assert_eq!(p.get("nope"), None);
    for bad in [-0.1, 1.5, f64::NAN] {
        let err = p.set("surname.typo", bad).unwrap_err();
        assert!(matches!(err, SynthError::Rate { ref name, .. } if name == "surname.typo"));
    }
    assert_eq!(p.surname.typo, 0.03);
    let err = p.set("surname.typos", 0.1).unwrap_err();
    let SynthError::UnknownRate { name, known } = err else {
        panic!("{err:?}")
    };
    assert_eq!(name, "surname.typos");
    assert!(known.contains("surname.typo"));
    p.given_name.ocr = 2.0;
    assert!(matches!(p.validate(), Err(SynthError::Rate { .. })));
}

/// A person's clean record and one corrupted copy under `profile`.
fn copy(entity: u64, profile: &CorruptionProfile) -> (Person, Values, Values) {
    let person = Person::generate(11, entity);
    let mut clean = Values::default();
    clean.fill(&person, false);
    let copy_key = key(&[11, 99, entity]);
    let mut p = person.clone();
    let abbreviate = apply_to_person(&mut p, profile, copy_key);
    let mut dirty = Values::default();
    dirty.fill(&p, abbreviate);
    apply_to_values(&mut dirty, profile, copy_key);
    (person, clean, dirty)
}

/// For operator `name`: the probability factor with which it can apply to this person (1, or
/// 0 where it cannot, or the age ramp of married names), and whether its effect shows.
fn detect(name: &str, person: &Person, clean: &Values, dirty: &Values) -> (f64, bool) {
    let t = &*TABLES;
    let all = 1.0;
    let when = |b: bool| f64::from(u8::from(b));
    let given = dirty.given_name != clean.given_name;
    let surname = dirty.surname != clean.surname;
    let dob = dirty.date_of_birth != clean.date_of_birth;
    let postcode = dirty.postcode != clean.postcode;
    let address = dirty.address != clean.address;
    match name {
        "given_name.typo" => (all, given),
        "given_name.ocr" => (when(has_ocr_confusable(&clean.given_name)), given),
        "given_name.phonetic" => (
            when(t.given_variants.contains_key(person.given_name)),
            given,
        ),
        "given_name.nickname" => (when(t.nicknames.contains_key(person.given_name)), given),
        "given_name.missing" => (all, dirty.given_name.is_empty()),
        "surname.typo" => (all, surname),
        "surname.ocr" => (when(has_ocr_confusable(&clean.surname)), surname),
        "surname.phonetic" => (
            when(t.surname_variants.contains_key(person.surname)),
            surname,
        ),
        "surname.married" => {
            let age = person.date_of_birth.age();
            let ramp = if person.sex == Sex::Female && age >= 18 {
                (f64::from(age - 18) / 12.0).min(1.0)
            } else {
                0.0
            };
            (ramp, surname)
        }
        "surname.missing" => (all, dirty.surname.is_empty()),
        "swap_names" => (
            when(clean.given_name != clean.surname),
            dirty.given_name == clean.surname && dirty.surname == clean.given_name,
        ),
        "date_of_birth.swap_day_month" => (when(can_swap_day_month(person.date_of_birth)), dob),
        "date_of_birth.year_off_by_one" => (
            all,
            dirty
                .date_of_birth
                .is_some_and(|d| (d.year - person.date_of_birth.year).abs() == 1),
        ),
        "date_of_birth.digit_typo" => (all, dob),
        "date_of_birth.missing" => (all, dirty.date_of_birth.is_none()),
        "sex.missing" => (all, dirty.sex.is_none()),
        "postcode.typo" => (all, postcode),
        "postcode.ocr" => (when(has_ocr_confusable(&clean.postcode)), postcode),
        "postcode.missing" => (all, dirty.postcode.is_empty()),
        "address.moved" => (all, address || postcode),
        "address.abbreviation" => (all, address),
        "address.typo" => (all, address),
        "address.ocr" => (when(has_ocr_confusable(&clean.address)), address),
        "address.missing" => (all, dirty.address.is_empty()),
        _ => panic!("no detector for rate `{name}`: add one"),
    }
}

/// Each operator alone, at rate 0.3 on 20,000 copies, shows its effect on a share of the
/// copies where it can apply that is within 4.5 binomial standard deviations of the rate, and
/// never where it cannot.
#[test]
fn realised_rates_match_configured_rates() {
    const N: u64 = 20_000;
    const RATE: f64 = 0.3;
    for name in CorruptionProfile::rate_names() {
        let mut profile = CorruptionLevel::None.profile();
        profile.set(name, RATE).unwrap();
        let (mut expected, mut variance, mut observed, mut applicable) = (0.0, 0.0, 0u64, 0.0);
        for e in 0..N {
            let (person, clean, dirty) = copy(e, &profile);
            let (f, shows) = detect(name, &person, &clean, &dirty);
            if f == 0.0 {
                assert_eq!(clean, dirty, "{name} changed a record it cannot apply to");
                continue;
            }
            let p = RATE * f;
            expected += p;
            variance += p * (1.0 - p);
            applicable += f;
            observed += u64::from(shows);
            if !shows {
                // Where the operator did not show, nothing else changed either.
                assert_eq!(clean, dirty, "{name}: unexpected change");
            }
        }
        assert!(
            applicable >= 500.0,
            "{name}: only {applicable} copies can show it"
        );
        let tolerance = 4.5 * variance.sqrt() + 1.0;
        assert!(
            (observed as f64 - expected).abs() <= tolerance,
            "{name}: {observed} copies changed, expected {expected:.0} +- {tolerance:.0}"
        );
    }
}

/// Each operator has its own random stream: turning one off changes only its own field.
#[test]
fn operators_are_independent() {
    let moderate = CorruptionLevel::High.profile();
    let mut no_typo = moderate;
    no_typo.given_name.typo = 0.0;
    let mut differ = 0;
    for e in 0..5_000 {
        let (_, _, a) = copy(e, &moderate);
        let (_, _, b) = copy(e, &no_typo);
        differ += usize::from(a.given_name != b.given_name);
        assert_eq!(
            (&a.surname, a.date_of_birth, a.sex, &a.postcode, &a.address),
            (&b.surname, b.date_of_birth, b.sex, &b.postcode, &b.address)
        );
    }
    assert!(differ > 100, "{differ}");
}

#[test]
fn nicknames_and_variants_come_from_the_tables() {
    let mut profile = CorruptionLevel::None.profile();
    profile.given_name.nickname = 1.0;
    let mut seen = 0;
    for e in 0..2_000 {
        let (person, _, dirty) = copy(e, &profile);
        if let Some(short) = TABLES.nicknames.get(person.given_name) {
            assert!(short.contains(&dirty.given_name.as_str()));
            seen += 1;
        }
    }
    assert!(seen > 100);
    let mut profile = CorruptionLevel::None.profile();
    profile.surname.phonetic = 1.0;
    for e in 0..2_000 {
        let (person, _, dirty) = copy(e, &profile);
        if let Some(group) = TABLES.surname_variants.get(person.surname) {
            assert!(group.contains(&dirty.surname.as_str()) && dirty.surname != person.surname);
        }
    }
}
