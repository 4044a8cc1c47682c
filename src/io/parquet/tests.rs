//! Parquet input against CSV input, and the errors of broken files.

use super::*;
use crate::io::CsvInput;

fn fixture(name: &str) -> String {
    format!("{}/testdata/parquet/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn wanted(columns: &[&'static str]) -> Vec<(&'static str, String)> {
    columns
        .iter()
        .map(|c| (*c, format!("field `{c}`")))
        .collect()
}

fn read_all(input: &mut ParquetInput, chunk: usize) -> Result<Vec<InputRow>, InputError> {
    let mut all = Vec::new();
    let mut rows = Vec::new();
    while input.read_chunk(&mut rows, chunk)? > 0 {
        all.extend(rows.iter().cloned());
    }
    Ok(all)
}

/// Each value's text, by column, for the given columns of types.parquet.
fn texts(columns: &[&'static str]) -> Result<Vec<Vec<String>>, InputError> {
    let mut input = ParquetInput::open(&fixture("types.parquet"))?;
    let at = input.resolve_columns(&wanted(columns))?;
    let rows = read_all(&mut input, 2)?;
    Ok(at
        .iter()
        .map(|&i| rows.iter().map(|r| r.record[i].to_string()).collect())
        .collect())
}

#[test]
fn every_supported_type_has_its_documented_text() {
    let cases: &[(&str, [&str; 3])] = &[
        ("id", ["1", "2", "3"]),
        ("i8", ["-5", "", "127"]),
        ("u16", ["0", "65535", ""]),
        ("i32", ["-2147483648", "0", "42"]),
        ("u64", ["18446744073709551615", "7", ""]),
        ("f64", ["1.5", "3", ""]),
        ("f32", ["0.1", "-2", ""]),
        ("flag", ["true", "false", ""]),
        ("dob", ["1990-04-14", "", "0001-01-01"]),
        (
            "seen",
            [
                "1990-04-14",
                "2001-02-03T08:30:00",
                "2001-02-03T08:30:00.250",
            ],
        ),
        ("seen_ns", ["1944-05-21", "", "2020-01-01T00:00:01"]),
        ("town", ["Exeter", "", "Exeter"]),
        ("big", ["Zoë", "", ""]),
        ("raw", ["abc", "", "café"]),
        ("nothing", ["", "", ""]),
    ];
    let names: Vec<&'static str> = cases.iter().map(|(n, _)| *n).collect();
    let got = texts(&names).unwrap();
    for ((name, expected), got) in cases.iter().zip(got) {
        assert_eq!(got, expected, "column {name}");
    }
}

#[test]
fn types_without_an_agreed_text_form_are_refused_before_reading() {
    for column in ["price", "zoned"] {
        let err = texts(&["id", column]).unwrap_err();
        match &err {
            InputError::UnsupportedType {
                column: c, dtype, ..
            } => {
                assert_eq!(c, column);
                assert!(!dtype.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn binary_that_is_not_utf8_names_row_and_column() {
    match texts(&["id", "bad_raw"]).unwrap_err() {
        InputError::InvalidUtf8 {
            row, line, column, ..
        } => assert_eq!((row, line, column.as_str()), (2, 2, "bad_raw")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_column_is_named_without_quoting_the_header() {
    let mut input = ParquetInput::open(&fixture("dept_a.parquet")).unwrap();
    let err = input
        .resolve_columns(&wanted(&["record_id", "nickname"]))
        .unwrap_err();
    assert!(
        matches!(err, InputError::MissingColumn { ref column, .. } if column == "nickname"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("given_name"), "{err}");
}

/// The same rows as the CSV export they were made from, whatever the window and chunk
/// sizes (windows of 7 rows cross the file's row groups of 100 at odd places); nulls (the
/// empty fields of dept_b.csv) read as empty fields.
#[test]
fn rows_match_the_csv_export_across_windows_and_row_groups() {
    let columns = wanted(&["address", "record_id", "date_of_birth", "record_id"]);
    let mut csv = CsvInput::open(
        &format!("{}/testdata/sample/dept_b.csv", env!("CARGO_MANIFEST_DIR")),
        b',',
    )
    .unwrap();
    let csv_at = csv.resolve_columns(&columns).unwrap();
    let mut expected = Vec::new();
    csv.read_chunk(&mut expected, usize::MAX).unwrap();
    assert!(expected.iter().any(|r| r.record[csv_at[2]].is_empty()));
    for (window, chunk) in [(WINDOW_ROWS, 4096), (7, 3), (100, 100), (1, 1000)] {
        let mut input = ParquetInput::open(&fixture("dept_b.parquet"))
            .unwrap()
            .with_window_rows(window);
        let at = input.resolve_columns(&columns).unwrap();
        assert_eq!(at, [0, 1, 2, 1], "repeated columns are read once");
        let rows = read_all(&mut input, chunk).unwrap();
        assert_eq!(rows.len(), expected.len());
        for (i, (p, c)) in rows.iter().zip(&expected).enumerate() {
            assert_eq!((p.row, p.line), (i as u64 + 1, i as u64 + 1));
            assert_eq!(p.row, c.row);
            for (&pi, &ci) in at.iter().zip(&csv_at) {
                assert_eq!(&p.record[pi], &c.record[ci], "row {}", p.row);
            }
        }
        assert_eq!(input.bytes_read(), input.file_len);
    }
}

#[test]
fn truncated_or_foreign_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("dept_a.parquet")).unwrap();
    let cases = [
        ("half.parquet", bytes[..bytes.len() / 2].to_vec()),
        ("no-footer.parquet", bytes[..bytes.len() - 4].to_vec()),
        ("empty.parquet", Vec::new()),
        ("csv.parquet", b"id,name\n1,a\n".to_vec()),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let err = ParquetInput::open(path.to_str().unwrap())
            .err()
            .unwrap_or_else(|| panic!("{name} opened"));
        assert!(
            matches!(err, InputError::Parquet { ref place, .. } if place == "metadata"),
            "{name}: {err:?}"
        );
    }
}

/// Damage to the footer (schema, row groups, offsets) is an error or, if it happens to
/// leave a valid footer, a readable file: never a panic out of polars, which meets some of
/// these with an `unwrap` (caught by `guard`).
#[test]
fn a_damaged_footer_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.parquet");
    let bytes = std::fs::read(fixture("dept_b.parquet")).unwrap();
    let n = bytes.len();
    let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize + 8;
    let (mut errors, mut read) = (0, 0);
    for at in (n - footer..n).step_by(23) {
        for value in [0x00, 0xff, bytes[at] ^ 0x01] {
            let mut damaged = bytes.clone();
            damaged[at] = value;
            std::fs::write(&path, &damaged).unwrap();
            let outcome = ParquetInput::open(path.to_str().unwrap()).and_then(|mut input| {
                input.resolve_columns(&wanted(&["record_id", "surname"]))?;
                read_all(&mut input, 4096)
            });
            match outcome {
                Ok(_) => read += 1,
                Err(_) => errors += 1,
            }
        }
    }
    assert!(errors > 0 && read > 0, "{errors} errors, {read} read");
}

/// Damage inside the column data (the footer intact) surfaces when its rows are read.
#[test]
fn corrupt_column_data_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("dept_a.parquet")).unwrap();
    // A Parquet file ends with its metadata, the metadata's length (4 bytes) and `PAR1`.
    let n = bytes.len();
    let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize + 8;
    for b in &mut bytes[4..n - footer] {
        *b ^= 0x5a;
    }
    let path = dir.path().join("corrupt.parquet");
    std::fs::write(&path, bytes).unwrap();
    let mut input = ParquetInput::open(path.to_str().unwrap()).unwrap();
    input
        .resolve_columns(&wanted(&["record_id", "surname"]))
        .unwrap();
    let err = read_all(&mut input, 4096).unwrap_err();
    assert!(
        matches!(err, InputError::Parquet { ref place, .. } if place.starts_with("rows 1-")),
        "{err:?}"
    );
}
