//! `pprl demo`: the whole job on synthetic data, in one command.
//!
//! Two departments' exports of invented people (overlapping, with typing errors, nicknames,
//! moves and missing values) are generated, encoded with the example person schema and a
//! freshly generated secret, matched as the third party would with a threshold chosen from the
//! scores alone, and the links are scored against the generator's truth: the library's
//! [`scenario`], rendered.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use pprl::error::escape_controls;
use pprl::io::AtomicFile;
use pprl::keys::Secret;
use pprl::lab::scenario::{self, ScenarioOptions};
use pprl::lab::synth::SynthConfig;
use pprl::linkage::Threshold;
use pprl::linkage::blocking::BlockingRequest;
use pprl::linkage::threshold::AutoOptions;
use pprl::schema::Schema;

use super::{print_encode_summary, thousands};
use crate::args::DemoArgs;

const SCHEMA: &str = include_str!("../../../examples/person.toml");

pub fn run(args: &DemoArgs) -> Result<()> {
    let tmp;
    let dir: PathBuf = match &args.dir {
        Some(d) => {
            let shown = escape_controls(&d.display().to_string());
            let occupied = std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some());
            if occupied && !args.force {
                bail!(
                    "{shown} already holds files; the demo writes only into a new or empty \
                     folder, and never deletes or overwrites what is there (`--force` lets it \
                     overwrite its own files: project.key, person.toml, the CSVs and results)"
                );
            }
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {shown}"))?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let started = Instant::now();
    println!("pprl demo: two departments link their records without sharing identifiers\n");
    if args.dir.is_none() {
        println!(
            "(the demo's files are in the temporary folder {}, removed when the demo ends; keep \
             them with --dir DIR)\n",
            dir.display()
        );
    }

    let schema_path = dir.join("person.toml");
    let mut file = AtomicFile::create(&schema_path)?;
    file.write_all(SCHEMA.as_bytes())?;
    file.commit()
        .with_context(|| format!("cannot write {}", schema_path.display()))?;
    let schema = Schema::from_path(&schema_path)?;
    let key_path = dir.join("project.key");
    // Only with --force (checked above): the demo's own secret of an earlier run.
    if key_path.exists() {
        std::fs::remove_file(&key_path)?;
    }
    let secret = Secret::generate()?;
    secret.write_new_file(&key_path)?;
    let fingerprints = (schema.fingerprint(), secret.fingerprint());
    let report = scenario::run(
        &ScenarioOptions {
            synth: SynthConfig::new(args.records, args.seed),
            schema,
            secret,
            threshold: Threshold::Auto(AutoOptions::default()),
            blocking: BlockingRequest::default(),
            blocking_truth: false,
            dir: dir.clone(),
        },
        &mut |_| {},
    )?;
    let matches = dir.join("matches.csv");
    report.matched.write_csv(&matches, false)?;

    let generate = report.stages.first().map_or(0.0, |s| s.seconds);
    println!(
        "1. two synthetic exports of {} invented people each, half of them in both, with typing \
         errors, nicknames, moves and missing values ({generate:.2} s):",
        thousands(args.records),
    );
    for p in &report.parties {
        println!("   {} ({} rows)", p.input.display(), thousands(p.records));
    }
    println!(
        "2. both agree on the schema {} (fingerprint {})",
        schema_path.display(),
        fingerprints.0
    );
    println!(
        "3. a new project secret is shared between the departments only: {} (key fingerprint {})",
        key_path.display(),
        fingerprints.1
    );
    for (step, (name, party)) in ["department A", "department B"]
        .into_iter()
        .zip(&report.parties)
        .enumerate()
    {
        println!("{}. {name} encodes {}:", step + 4, party.input.display());
        print_encode_summary(&party.summary, "   ");
    }
    println!(
        "6. only the .clk files and their manifests go to the third party, which checks that \
         their fingerprints agree, chooses a threshold from the similarity scores alone (no \
         truth), and links one-to-one (greedy):"
    );
    let matched = &report.matched;
    let explanation = matched.auto.as_ref().map_or("", |a| a.explanation.as_str());
    println!("   threshold {:.3}: {explanation}", matched.threshold);
    println!(
        "   {} comparisons, {} links -> {} (record ids only, no scores); choosing {:.2} s, \
         matching {:.2} s",
        thousands(matched.stats.comparisons),
        thousands(matched.matches),
        matches.display(),
        matched
            .auto
            .as_ref()
            .map_or(0.0, |a| a.choose_time.as_secs_f64()),
        matched.elapsed.as_secs_f64()
    );
    let m = &report.quality;
    println!(
        "7. quality against the generator's truth ({} true pairs): precision {:.3}, recall \
         {:.3}, F1 {:.3} ({} true links, {} false links, {} missed)",
        thousands(report.true_pairs),
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
