//! `pprl keygen -o FILE`.

use anyhow::Result;
use pprl::keys::Secret;

use crate::args::KeygenArgs;

pub fn run(args: &KeygenArgs) -> Result<()> {
    let secret = Secret::generate()?;
    secret.write_new_file(&args.output)?;
    println!(
        "wrote a new {}-byte secret to {} (mode 0600)",
        Secret::GENERATED_LEN,
        args.output.display()
    );
    println!("key fingerprint: {}", secret.fingerprint());
    println!(
        "share it only with the other departments of this project, over a secure channel; \
         never with the third party that matches the encodings"
    );
    Ok(())
}
