use std::collections::{HashMap, HashSet};

use super::write::{push_date, push_field};
use super::*;

fn config(records: u64, parties: usize, seed: u64) -> SynthConfig {
    SynthConfig {
        parties,
        ..SynthConfig::new(records, seed)
    }
}

/// Every file of a population, generated on `threads` threads.
fn files(config: SynthConfig, threads: usize) -> Vec<Vec<u8>> {
    let pop = Population::new(config).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut out: Vec<Vec<u8>> = (0..config.parties)
            .map(|p| {
                let mut buf = Vec::new();
                pop.write_party(p, &mut buf).unwrap();
                buf
            })
            .collect();
        let mut truth = Vec::new();
        pop.write_truth(&mut truth).unwrap();
        out.push(truth);
        out
    })
}

/// The rows of a CSV file as string vectors, header first.
fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    rdr.records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// A party row without its id, with the date in one format, for comparing copies.
fn content(row: &[String]) -> Vec<String> {
    let mut c = row[1..].to_vec();
    if let Some((y, m, d)) = c[2]
        .split_once('-')
        .and_then(|(y, rest)| rest.split_once('-').map(|(m, d)| (y, m, d)))
    {
        c[2] = format!("{d}/{m}/{y}");
    }
    c
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = files(config(3_000, 3, 5), 2);
    let b = files(config(3_000, 3, 5), 2);
    assert_eq!(a, b);
    let c = files(config(3_000, 3, 6), 2);
    for (x, y) in a.iter().zip(&c) {
        assert_ne!(x, y);
    }
}

#[test]
fn bytes_do_not_depend_on_thread_count() {
    // Not a multiple of the chunk size, so the last chunk is partial.
    let cfg = SynthConfig {
        duplicates: 0.1,
        ..config(3 * CHUNK_ROWS + 17, 2, 8)
    };
    let one = files(cfg, 1);
    assert_eq!(one, files(cfg, 2));
    assert_eq!(one, files(cfg, 5));
}

#[test]
fn party_files_have_the_schema_columns_and_unique_opaque_ids() {
    let out = files(config(5_000, 2, 1), 2);
    for (party, file) in out[..2].iter().enumerate() {
        let rows = rows(file);
        assert_eq!(rows[0].join(","), PARTY_HEADER);
        assert_eq!(rows.len(), 5_001);
        let ids: HashSet<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(ids.len(), 5_000);
        let letter = ["a", "b"][party];
        for (i, r) in rows[1..].iter().enumerate() {
            assert_eq!(r.len(), 7);
            assert_eq!(r[0], format!("{letter}-{:06}", i + 1));
            let format = if party == 0 { "%d/%m/%Y" } else { "%Y-%m-%d" };
            assert!(
                r[3].is_empty() || chrono::NaiveDate::parse_from_str(&r[3], format).is_ok(),
                "{r:?}"
            );
            assert!(["F", "M", "U"].contains(&r[4].as_str()));
        }
    }
}

#[test]
fn pair_truth_names_exactly_the_copies_of_the_same_person() {
    let cfg = SynthConfig {
        overlap: 0.3,
        corruption: CorruptionLevel::None.profile(),
        ..config(4_000, 2, 3)
    };
    let out = files(cfg, 2);
    let (a, b, truth) = (rows(&out[0]), rows(&out[1]), rows(&out[2]));
    assert_eq!(truth[0], ["a_id", "b_id"]);
    assert_eq!(truth.len() - 1, 1_200);
    let by_id = |rows: &[Vec<String>]| -> HashMap<String, Vec<String>> {
        rows[1..]
            .iter()
            .map(|r| (r[0].clone(), content(r)))
            .collect()
    };
    let (a_rows, b_rows) = (by_id(&a), by_id(&b));
    let pairs: HashSet<(String, String)> = truth[1..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(pairs.len(), 1_200);
    // Without corruption, two records are the same person exactly when their values agree.
    let mut b_by_content: HashMap<&Vec<String>, Vec<&String>> = HashMap::new();
    for (id, c) in &b_rows {
        b_by_content.entry(c).or_default().push(id);
    }
    let mut found = 0;
    for (a_id, c) in &a_rows {
        for b_id in b_by_content.get(c).into_iter().flatten() {
            assert!(
                pairs.contains(&(a_id.clone(), (*b_id).clone())),
                "{a_id} {b_id}"
            );
            found += 1;
        }
    }
    assert_eq!(found, 1_200);
    // Truth rows are in the first party's id order, as in testdata/sample/truth.csv.
    assert!(truth[1..].windows(2).all(|w| w[0][0] < w[1][0]));
}

#[test]
fn entity_truth_for_many_parties_matches_the_files_and_the_layout() {
    let cfg = SynthConfig {
        overlap: 0.4,
        corruption: CorruptionLevel::None.profile(),
        ..config(2_000, 4, 12)
    };
    let pop = Population::new(cfg).unwrap();
    assert_eq!(pop.truth_format(), TruthFormat::Entities);
    let out = files(cfg, 2);
    let truth = rows(&out[4]);
    assert_eq!(truth[0], ["entity_id", "party", "record_id"]);
    assert_eq!(truth.len() - 1, 8_000);
    let mut content_of: HashMap<String, Vec<String>> = HashMap::new();
    for file in &out[..4] {
        for r in &rows(file)[1..] {
            content_of.insert(r[0].clone(), content(r));
        }
    }
    let mut members: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
    for (i, r) in truth[1..].iter().enumerate() {
        let party: usize = r[1].parse().unwrap();
        let row = (i % 2_000) as u64;
        assert_eq!(r[2], pop.record_id(party, row));
        assert_eq!(r[0], pop.entity(party, row).to_string());
        members.entry(&r[0]).or_default().push((party, &r[2]));
    }
    let mut shared_per_party = [0u64; 4];
    let mut contents = HashSet::new();
    for records in members.values() {
        // Copies of one person are identical without corruption, and people differ.
        let first = &content_of[records[0].1];
        assert!(records.iter().all(|(_, id)| &content_of[*id] == first));
        assert!(contents.insert(first.clone()));
        let parties: HashSet<usize> = records.iter().map(|r| r.0).collect();
        assert_eq!(parties.len(), records.len(), "no duplicates within a party");
        // People are in one party, in two neighbouring ones, or in all.
        match parties.len() {
            1 | 4 => {}
            2 => {
                let v: Vec<usize> = parties.iter().copied().collect();
                assert!(matches!((v[0] + 4 - v[1]) % 4, 1 | 3), "{v:?}");
            }
            n => panic!("a person in {n} parties"),
        }
        if parties.len() > 1 {
            for p in parties {
                shared_per_party[p] += 1;
            }
        }
    }
    assert_eq!(shared_per_party, [800; 4]);
    assert_eq!(pop.shared_per_party(), 800);
}

#[test]
fn dedup_duplicates_are_corrupted_copies_within_the_file() {
    let cfg = SynthConfig {
        duplicates: 0.2,
        ..config(5_000, 1, 4)
    };
    let pop = Population::new(cfg).unwrap();
    assert_eq!(pop.duplicates_per_party(), 1_000);
    let out = files(cfg, 2);
    let (file, truth) = (rows(&out[0]), rows(&out[1]));
    assert_eq!(truth.len() - 1, 5_000);
    let mut by_entity: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &truth[1..] {
        assert_eq!(r[1], "0");
        by_entity.entry(&r[0]).or_default().push(&r[2]);
    }
    // 4,000 people, and 1,000 extra records of them.
    assert_eq!(by_entity.len(), 4_000);
    let content_of: HashMap<&str, Vec<String>> = file[1..]
        .iter()
        .map(|r| (r[0].as_str(), content(r)))
        .collect();
    let (mut clusters, mut differ) = (0, 0);
    for ids in by_entity.values().filter(|ids| ids.len() > 1) {
        clusters += 1;
        differ += usize::from(ids.iter().any(|id| content_of[id] != content_of[ids[0]]));
    }
    // Some people have several duplicates, and moderate corruption changes about half of the
    // copies.
    assert!((800..1_000).contains(&clusters), "{clusters}");
    assert!(differ * 3 > clusters, "{differ} of {clusters}");
}

#[test]
fn the_first_party_is_clean_and_the_others_corrupted() {
    let cfg = SynthConfig {
        overlap: 1.0,
        corruption: CorruptionLevel::High.profile(),
        ..config(2_000, 2, 2)
    };
    let pop = Population::new(cfg).unwrap();
    let out = files(cfg, 2);
    let clean = Population::new(SynthConfig {
        corruption: CorruptionLevel::None.profile(),
        ..cfg
    })
    .unwrap();
    let mut none = Vec::new();
    clean.write_party(0, &mut none).unwrap();
    assert_eq!(out[0], none);
    let mut clean_b = Vec::new();
    clean.write_party(1, &mut clean_b).unwrap();
    let changed = rows(&out[1])
        .iter()
        .zip(rows(&clean_b))
        .filter(|(x, y)| *x != y)
        .count();
    assert!(changed > 1_000, "{changed}");
    assert_eq!(pop.shared_per_party(), 2_000);
}

#[test]
fn bad_configurations_are_refused() {
    let err = |c: SynthConfig| Population::new(c).unwrap_err();
    assert!(matches!(
        err(config(0, 2, 1)),
        SynthError::Records { found: 0, .. }
    ));
    assert!(matches!(
        err(config(MAX_RECORDS + 1, 2, 1)),
        SynthError::Records { .. }
    ));
    assert!(matches!(
        err(config(10, 0, 1)),
        SynthError::Parties { found: 0 }
    ));
    assert!(matches!(
        err(config(10, 27, 1)),
        SynthError::Parties { found: 27 }
    ));
    for overlap in [-0.1, 1.01, f64::NAN] {
        let c = SynthConfig {
            overlap,
            ..config(10, 2, 1)
        };
        assert!(matches!(err(c), SynthError::Overlap { .. }));
    }
    for duplicates in [-0.1, 1.0, f64::NAN] {
        let c = SynthConfig {
            duplicates,
            ..config(10, 1, 1)
        };
        assert!(matches!(err(c), SynthError::Duplicates { .. }));
    }
    let mut c = config(10, 2, 1);
    c.corruption.sex.missing = 1.5;
    assert!(matches!(err(c), SynthError::Rate { .. }));
}

#[test]
fn tiny_populations_work() {
    // One record: no duplicate can be made, whatever the fraction.
    let c = SynthConfig {
        duplicates: 0.9,
        ..config(1, 1, 1)
    };
    let out = files(c, 1);
    assert_eq!(rows(&out[0]).len(), 2);
    assert_eq!(rows(&out[1]).len(), 2);
    let out = files(config(1, 26, 1), 1);
    assert_eq!(out.len(), 27);
    assert!(String::from_utf8_lossy(&out[25]).contains("\nz-000001,"));
}

#[test]
fn write_dir_writes_every_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pop = Population::new(config(1_000, 3, 9)).unwrap();
    let summary = pop.write_dir(&dir.path().join("out"), Some(2)).unwrap();
    let names: Vec<String> = summary
        .parties
        .iter()
        .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["party_a.csv", "party_b.csv", "party_c.csv"]);
    assert_eq!(summary.truth_rows, 3_000);
    assert_eq!(summary.truth_format, TruthFormat::Entities);
    let mut expected = Vec::new();
    pop.write_party(2, &mut expected).unwrap();
    assert_eq!(std::fs::read(&summary.parties[2].path).unwrap(), expected);
    let mut listing: Vec<String> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listing.sort();
    assert_eq!(
        listing,
        ["party_a.csv", "party_b.csv", "party_c.csv", "truth.csv"]
    );
}

#[test]
fn fields_with_commas_or_quotes_are_quoted() {
    let mut buf = Vec::new();
    push_field(&mut buf, "12 High Street, Exeter");
    push_field(&mut buf, "O'Brien");
    push_field(&mut buf, "a\"b");
    assert_eq!(buf, b"\"12 High Street, Exeter\"O'Brien\"a\"\"b\"");
    let mut buf = Vec::new();
    push_date(&mut buf, Date::new(1987, 3, 9).unwrap(), false);
    push_date(&mut buf, Date::new(1987, 3, 9).unwrap(), true);
    assert_eq!(buf, b"09/03/19871987-03-09");
}
