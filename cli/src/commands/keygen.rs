//! `pprl keygen -o FILE`.

use anyhow::{Result, bail};
use pprl::keys::Secret;

use crate::args::KeygenArgs;

pub fn run(args: &KeygenArgs) -> Result<()> {
    if args.output.as_os_str() == "-" {
        bail!(
            "refusing to write a secret to standard output (`-o -`): a secret goes only to a new \
             file, readable by its owner (mode 0600); name one, e.g. `-o project.key`"
        );
    }
    let secret = Secret::generate()?;
    secret.write_new_file(&args.output)?;
    println!(
        "wrote a new {}-byte secret to {} (mode 0600)",
        Secret::GENERATED_LEN,
        super::shown(&args.output)
    );
    println!("key fingerprint: {}", secret.fingerprint());
    println!(
        "share it only with the other departments of this project, over a secure channel; \
         never with the third party that matches the encodings"
    );
    Ok(())
}
