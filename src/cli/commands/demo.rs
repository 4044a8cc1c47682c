//! `pprl demo`: the whole job on built-in sample data.
//!
//! Two departments' sample exports (shipped inside the binary, so the demo runs anywhere) are
//! encoded with the example person schema and a freshly generated secret, matched as the
//! third party would, and the links are scored against the samples' known truth.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use pprl::encode::Encoder;
use pprl::eval::PairMetrics;
use pprl::keys::Secret;
use pprl::linkage::job::{self, MatchOptions, MatchResult};
use pprl::pipeline::{self, EncodeOptions};
use pprl::schema::Schema;

use super::print_encode_summary;
use crate::cli::args::DemoArgs;

const SCHEMA: &str = include_str!("../../../examples/person.toml");
const DEPT_A: &str = include_str!("../../../testdata/sample/dept_a.csv");
const DEPT_B: &str = include_str!("../../../testdata/sample/dept_b.csv");
const TRUTH: &str = include_str!("../../../testdata/sample/truth.csv");
/// The demo's threshold: a common choice for 1024-bit CLKs of person records.
const THRESHOLD: f64 = 0.8;

pub fn run(args: &DemoArgs) -> Result<()> {
    let tmp;
    let dir: PathBuf = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let write = |name: &str, text: &str| -> Result<PathBuf> {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
        Ok(p)
    };
    let schema_path = write("person.toml", SCHEMA)?;
    let a = write("dept_a.csv", DEPT_A)?;
    let b = write("dept_b.csv", DEPT_B)?;
    let key_path = dir.join("project.key");
    if key_path.exists() {
        std::fs::remove_file(&key_path)?;
    }

    println!("pprl demo: two departments encode their exports with a shared secret\n");
    let schema = Schema::from_path(&schema_path)?;
    println!(
        "1. both agree on the schema {} (fingerprint {})",
        schema_path.display(),
        schema.fingerprint()
    );
    let secret = Secret::generate()?;
    secret.write_new_file(&key_path)?;
    println!(
        "2. a new project secret is shared between the departments only: {} (key fingerprint {})",
        key_path.display(),
        secret.fingerprint()
    );
    let encoder = Encoder::new(&schema, &secret)?;
    let mut encoded = Vec::new();
    for (step, (name, input)) in [("department A", &a), ("department B", &b)]
        .into_iter()
        .enumerate()
    {
        println!("{}. {name} encodes {}:", step + 3, input.display());
        let out = with_ext(input, "clk");
        let opts = EncodeOptions::new(input.display().to_string(), &out);
        let summary = pipeline::encode_csv(&schema, &encoder, &opts, &mut |_, _| {})?;
        print_encode_summary(&summary, "   ");
        encoded.push(out);
    }
    println!(
        "5. only the .clk files and their manifests go to the third party, which checks that \
         their fingerprints agree and matches them (Dice >= {THRESHOLD}, greedy one-to-one):"
    );
    let report = job::match_files(
        &encoded,
        &MatchOptions {
            threshold: THRESHOLD,
            ..MatchOptions::default()
        },
        &|_| {},
    )?;
    let matches = dir.join("matches.csv");
    report.write_csv(&matches, false)?;
    let MatchResult::Pairs(pairs) = &report.result else {
        bail!("two files give pairs");
    };
    println!(
        "   {} comparisons, {} links -> {} (record ids only, no scores) in {:.3} s",
        report.stats.comparisons,
        pairs.len(),
        matches.display(),
        report.elapsed.as_secs_f64()
    );
    let truth = read_truth(TRUTH)?;
    let predicted: Vec<(&str, &str)> = pairs
        .iter()
        .map(|c| {
            (
                report.ids[0][c.a as usize].as_str(),
                report.ids[1][c.b as usize].as_str(),
            )
        })
        .collect();
    let m = PairMetrics::from_pairs(
        truth.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        predicted,
    );
    println!(
        "6. quality against the known truth ({} true pairs): precision {:.3}, recall {:.3}, \
         F1 {:.3} ({} true links, {} false links, {} missed)",
        truth.len(),
        m.precision,
        m.recall,
        m.f1,
        m.tp,
        m.fp,
        m.fn_
    );
    if args.dir.is_some() {
        println!("files kept in {}", dir.display());
    }
    Ok(())
}

fn read_truth(text: &str) -> Result<Vec<(String, String)>> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    rdr.records()
        .map(|r| {
            let r = r?;
            Ok((r[0].to_string(), r[1].to_string()))
        })
        .collect()
}

fn with_ext(p: &Path, ext: &str) -> PathBuf {
    p.with_extension(ext)
}
