use super::*;

fn run(steps: &[NormalizeStep], value: &str) -> Result<String, NormalizeError> {
    Normalizer::new(steps).unwrap().apply(value)
}

fn date(formats: &[&str]) -> NormalizeStep {
    NormalizeStep::Date {
        formats: formats.iter().map(|f| f.to_string()).collect(),
    }
}

use NormalizeStep::*;

#[test]
fn the_issue_example() {
    assert_eq!(
        run(&[Nfkc, Casefold, StripDiacritics], "Zoë Ångström").unwrap(),
        "zoe angstrom"
    );
}

#[test]
fn nfkc_folds_compatibility_forms() {
    assert_eq!(run(&[Nfkc], "ﬁnn").unwrap(), "finn");
    assert_eq!(run(&[Nfkc], "ＡＢＣ").unwrap(), "ABC");
    // Decomposed e + combining acute composes to one character.
    assert_eq!(run(&[Nfkc], "Rene\u{301}e").unwrap(), "Renée");
}

#[test]
fn casefold_is_full_unicode_folding() {
    assert_eq!(run(&[Casefold], "Straße").unwrap(), "strasse");
    assert_eq!(run(&[Casefold], "ΣΊΣΥΦΟΣ").unwrap(), "σίσυφοσ");
    assert_eq!(run(&[Casefold], "MacLEOD").unwrap(), "macleod");
}

#[test]
fn diacritics_and_transliteration() {
    assert_eq!(
        run(&[StripDiacritics], "Renée Ní Bhriain").unwrap(),
        "Renee Ni Bhriain"
    );
    // No decomposition for ø and ł: strip-diacritics keeps them, ascii transliterates.
    assert_eq!(
        run(&[StripDiacritics], "Ørsted Łódź").unwrap(),
        "Ørsted Łodz"
    );
    assert_eq!(run(&[Ascii], "Ørsted Łódź").unwrap(), "Orsted Lodz");
}

#[test]
fn whitespace_and_punctuation() {
    assert_eq!(
        run(&[CollapseWhitespace], "  Mary \t Ann\n ").unwrap(),
        "Mary Ann"
    );
    assert_eq!(run(&[RemoveWhitespace], " SW1A  1AA ").unwrap(), "SW1A1AA");
    assert_eq!(
        run(&[StripPunctuation], "O'Brien-Smith, Jr.").unwrap(),
        "OBrienSmith Jr"
    );
    assert_eq!(
        run(&[DigitsOnly], "+44 (0)20 7946-0018").unwrap(),
        "440207946 0018".replace(' ', "")
    );
    assert_eq!(run(&[Truncate(3)], "Zoëlle").unwrap(), "Zoë");
}

#[test]
fn dates_parse_to_iso_from_declared_formats() {
    let steps = [date(&["%d/%m/%Y", "%Y-%m-%d", "%d %b %Y"])];
    assert_eq!(run(&steps, "03/11/1987").unwrap(), "1987-11-03");
    assert_eq!(run(&steps, " 1987-11-03 ").unwrap(), "1987-11-03");
    assert_eq!(run(&steps, "3 Nov 1987").unwrap(), "1987-11-03");
    for bad in [
        "31/02/1990",
        "1987-13-01",
        "yesterday",
        "03/11/87",
        "11/03/1987x",
    ] {
        let err = run(&steps, bad).unwrap_err();
        assert_eq!(err.kind(), super::NormalizeErrorKind::InvalidDate, "{bad}");
        assert_eq!(err.code(), "invalid-date", "{bad}");
        // The message names the formats but never echoes the value.
        assert!(!err.to_string().contains(bad), "{err}");
    }
}

#[test]
fn incomplete_or_invalid_date_formats_are_refused() {
    assert!(DateParser::new(&["%Y-%m".to_string()]).is_err());
    assert!(DateParser::new(&["%Q".to_string()]).is_err());
    assert!(DateParser::new(&[]).is_err());
    assert!(DateParser::new(&["%Y%m%d".to_string()]).is_ok());
}

#[test]
fn phonetic_codes() {
    assert_eq!(run(&[Soundex], "Robert").unwrap(), "R163");
    assert_eq!(run(&[Soundex], "Rupert").unwrap(), "R163");
    assert_eq!(
        run(&[Soundex], "O'Brien").unwrap(),
        run(&[Soundex], "obrien").unwrap()
    );
    assert_eq!(run(&[DoubleMetaphone], "Schmidt").unwrap(), "XMT");
    assert_eq!(run(&[DoubleMetaphone], "Smith").unwrap(), "SM0");
    assert_eq!(run(&[Nysiis], "Macintosh").unwrap(), "MCANT");
    // Non-Latin letters are transliterated first; no letters at all gives an empty code.
    assert_eq!(
        run(&[Soundex], "Müller").unwrap(),
        run(&[Soundex], "Muller").unwrap()
    );
    assert_eq!(run(&[Soundex], "1234").unwrap(), "");
}

#[test]
fn steps_apply_in_order() {
    let a = run(&[Casefold, Truncate(2)], "ABCD").unwrap();
    let b = run(&[Truncate(2), Casefold], "ABCD").unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("ab", "ab"));
    assert_eq!(
        run(&[StripPunctuation, CollapseWhitespace], "a - b").unwrap(),
        "a b"
    );
    assert_eq!(
        run(&[CollapseWhitespace, StripPunctuation], "a - b").unwrap(),
        "a  b"
    );
}

proptest::proptest! {
    #[test]
    fn text_steps_are_idempotent_and_never_panic(s in "\\PC{0,40}") {
        for step in [Nfkc, Casefold, StripDiacritics, Ascii, CollapseWhitespace, RemoveWhitespace,
                     StripPunctuation, DigitsOnly, Soundex, DoubleMetaphone, Nysiis] {
            let once = run(std::slice::from_ref(&step), &s).unwrap();
            if !matches!(step, Soundex | DoubleMetaphone | Nysiis | Ascii) {
                proptest::prop_assert_eq!(run(&[step], &once).unwrap(), once.clone());
            }
        }
    }

    #[test]
    fn date_step_never_panics(s in "\\PC{0,20}") {
        let _ = run(&[date(&["%d/%m/%Y", "%Y-%m-%d"])], &s);
    }
}
