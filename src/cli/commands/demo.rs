//! `pprl demo`: the whole job on built-in sample data.
//!
//! Two departments' sample exports (shipped inside the binary, so the demo runs anywhere) are
//! encoded with the example person schema and a freshly generated secret.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use pprl::encode::Encoder;
use pprl::keys::Secret;
use pprl::pipeline::{self, EncodeOptions};
use pprl::schema::Schema;

use super::print_encode_summary;
use crate::cli::args::DemoArgs;

const SCHEMA: &str = include_str!("../../../examples/person.toml");
const DEPT_A: &str = include_str!("../../../testdata/sample/dept_a.csv");
const DEPT_B: &str = include_str!("../../../testdata/sample/dept_b.csv");

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
    for (step, (name, input)) in [("department A", &a), ("department B", &b)]
        .into_iter()
        .enumerate()
    {
        println!("{}. {name} encodes {}:", step + 3, input.display());
        let out = with_ext(input, "clk");
        let opts = EncodeOptions::new(input.display().to_string(), &out);
        let summary = pipeline::encode_csv(&schema, &encoder, &opts, &mut |_, _| {})?;
        print!("   ");
        print_encode_summary(&summary);
    }
    println!(
        "\nOnly the .clk files (and their manifests) leave the departments; the third party \
         checks that their schema and key fingerprints agree, then matches them."
    );
    if args.dir.is_some() {
        println!("files kept in {}", dir.display());
    }
    Ok(())
}

fn with_ext(p: &Path, ext: &str) -> PathBuf {
    p.with_extension(ext)
}
