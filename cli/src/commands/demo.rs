//! `pprl demo`: the whole job on synthetic data, in one command.
//!
//! Two departments' exports of invented people (overlapping, with typing errors, nicknames,
//! moves and missing values) are generated, encoded with the example person schema and a
//! freshly generated secret, matched as the third party would with a threshold chosen from the
//! scores alone, and the links are scored against the generator's truth.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use pprl::encode::Encoder;
use pprl::eval::PairMetrics;
use pprl::keys::Secret;
use pprl::lab::synth::{Population, SynthConfig};
use pprl::linkage::job::{MatchOptions, MatchResult};
use pprl::linkage::threshold::{self, AutoOptions};
use pprl::pipeline::{self, EncodeOptions};
use pprl::schema::Schema;

use super::{print_encode_summary, thousands};
use crate::args::DemoArgs;

const SCHEMA: &str = include_str!("../../../examples/person.toml");

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
    let started = Instant::now();
    println!("pprl demo: two departments link their records without sharing identifiers\n");

    let t = Instant::now();
    let population = Population::new(SynthConfig::new(args.records, args.seed))?;
    let data = population.write_dir(&dir, None)?;
    println!(
        "1. two synthetic exports of {} invented people each, half of them in both, with typing \
         errors, nicknames, moves and missing values ({:.2} s):",
        thousands(args.records),
        t.elapsed().as_secs_f64()
    );
    for p in &data.parties {
        println!("   {} ({} rows)", p.path.display(), thousands(p.records));
    }

    let schema_path = dir.join("person.toml");
    std::fs::write(&schema_path, SCHEMA)
        .with_context(|| format!("cannot write {}", schema_path.display()))?;
    let schema = Schema::from_path(&schema_path)?;
    println!(
        "2. both agree on the schema {} (fingerprint {})",
        schema_path.display(),
        schema.fingerprint()
    );
    let key_path = dir.join("project.key");
    if key_path.exists() {
        std::fs::remove_file(&key_path)?;
    }
    let secret = Secret::generate()?;
    secret.write_new_file(&key_path)?;
    println!(
        "3. a new project secret is shared between the departments only: {} (key fingerprint {})",
        key_path.display(),
        secret.fingerprint()
    );
    let encoder = Encoder::new(&schema, &secret)?;
    let mut encoded = Vec::new();
    for (step, (name, party)) in ["department A", "department B"]
        .into_iter()
        .zip(&data.parties)
        .enumerate()
    {
        println!("{}. {name} encodes {}:", step + 4, party.path.display());
        let out = party.path.with_extension("clk");
        let opts = EncodeOptions::new(party.path.display().to_string(), &out);
        let summary = pipeline::encode_csv(&schema, &encoder, &opts, &mut |_, _| {})?;
        print_encode_summary(&summary, "   ");
        encoded.push(out);
    }

    println!(
        "6. only the .clk files and their manifests go to the third party, which checks that \
         their fingerprints agree, chooses a threshold from the similarity scores alone (no \
         truth), and links one-to-one (greedy):"
    );
    let auto = threshold::auto_match(
        &encoded,
        &MatchOptions::default(),
        &AutoOptions::default(),
        &|_| {},
    )?;
    let report = &auto.report;
    println!(
        "   threshold {:.3}: {}",
        auto.threshold.value,
        auto.threshold.explanation()
    );
    let matches = dir.join("matches.csv");
    report.write_csv(&matches, false)?;
    let MatchResult::Pairs(pairs) = &report.result else {
        bail!("two files give pairs");
    };
    println!(
        "   {} comparisons, {} links -> {} (record ids only, no scores); choosing {:.2} s, \
         matching {:.2} s",
        thousands(report.stats.comparisons),
        thousands(pairs.len() as u64),
        matches.display(),
        auto.choose_time.as_secs_f64(),
        report.elapsed.as_secs_f64()
    );

    let truth = pprl::eval::truth::read_id_pairs(&data.truth, 2)?;
    let m = PairMetrics::from_pairs(
        truth.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        pairs.iter().map(|c| {
            (
                report.ids[0][c.a as usize].as_str(),
                report.ids[1][c.b as usize].as_str(),
            )
        }),
    );
    println!(
        "7. quality against the generator's truth ({} true pairs): precision {:.3}, recall \
         {:.3}, F1 {:.3} ({} true links, {} false links, {} missed)",
        thousands(truth.len() as u64),
        m.precision,
        m.recall,
        m.f1,
        thousands(m.tp),
        thousands(m.fp),
        thousands(m.fn_)
    );
    println!(
        "done in {:.2} s{}",
        started.elapsed().as_secs_f64(),
        if args.dir.is_some() {
            format!("; files kept in {}", dir.display())
        } else {
            String::new()
        }
    );
    Ok(())
}
