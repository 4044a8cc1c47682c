//! Keyed blocking keys: opaque 64-bit block ids computed beside each record's filter.
//!
//! A blocking key (declared in the schema's `[[blocking]]` section) concatenates a few
//! normalised values, for example the Soundex code of the surname and the year of birth. The
//! department hashes that string with HMAC-SHA256 under the key's own HKDF subkey (purpose
//! `blocking-key:NAME`), so the third party receives only an opaque id: it can group records
//! that share it, but it cannot compute the id of a guessed value without the secret.
//!
//! Block ids still leak the *size* of each block, which follows the frequency of the values
//! behind it: coarse keys (many records per id) leak less than fine ones. `docs/blocking.md`
//! discusses the trade-off.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::keys::Secret;
use crate::normalize::Normalizer;
use crate::schema::{Schema, SchemaError, SchemaFingerprint};

/// The id stored for a record that has no value for a key (a part was missing). Real ids are
/// never 0: a hash that happens to be 0 is stored as 1.
pub const NO_BLOCK: u64 = 0;

/// One compiled blocking key.
#[derive(Debug, Clone)]
pub(crate) struct BlockKeyEncoder {
    mac: Hmac<Sha256>,
    parts: Vec<PartEncoder>,
}

#[derive(Debug, Clone)]
struct PartEncoder {
    /// Index of the schema field the part reads.
    field: usize,
    extra: Normalizer,
    prefix: Option<usize>,
}

/// Compiles the schema's blocking keys under `secret`.
pub(crate) fn compile(
    schema: &Schema,
    fp: &SchemaFingerprint,
    secret: &Secret,
) -> Result<Vec<BlockKeyEncoder>, SchemaError> {
    schema
        .blocking
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let key = secret.purpose_key(fp, &format!("blocking-key:{}", spec.name));
            let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&*key)
                .expect("HMAC takes keys of any length");
            let parts = spec
                .parts
                .iter()
                .enumerate()
                .map(|(j, part)| {
                    let field = schema
                        .fields
                        .iter()
                        .position(|f| f.name == part.field)
                        .expect("validated schema names existing fields");
                    let extra = Normalizer::new(&part.normalize).map_err(|message| {
                        SchemaError::Invalid {
                            path: format!("blocking[{i}].parts[{j}].normalize"),
                            message,
                        }
                    })?;
                    Ok(PartEncoder {
                        field,
                        extra,
                        prefix: part.prefix.map(|p| p as usize),
                    })
                })
                .collect::<Result<_, SchemaError>>()?;
            Ok(BlockKeyEncoder { mac, parts })
        })
        .collect()
}

impl BlockKeyEncoder {
    /// The block id of one record, or [`NO_BLOCK`]. `value(i, out, tmp)` normalises schema
    /// field `i` into `out` exactly as the filter does, returning false when the value is
    /// missing or invalid; `tmp` is a scratch buffer.
    pub(crate) fn block_id(
        &self,
        mut value: impl FnMut(usize, &mut String, &mut String) -> bool,
        bufs: &mut [String; 3],
    ) -> u64 {
        let [raw, out, tmp] = bufs;
        let mut mac = self.mac.clone();
        mac.update(&(self.parts.len() as u32).to_le_bytes());
        for part in &self.parts {
            if !value(part.field, raw, tmp) || self.extra_into(part, raw, out, tmp).is_none() {
                return NO_BLOCK;
            }
            // Length-prefixed parts: ("ab", "c") and ("a", "bc") hash differently.
            mac.update(&(out.len() as u32).to_le_bytes());
            mac.update(out.as_bytes());
        }
        let digest = mac.finalize().into_bytes();
        let id = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
        if id == NO_BLOCK { 1 } else { id }
    }

    /// Applies a part's own steps and prefix to `value`, leaving the result in `out`;
    /// `None` if nothing is left.
    fn extra_into(
        &self,
        part: &PartEncoder,
        value: &str,
        out: &mut String,
        tmp: &mut String,
    ) -> Option<()> {
        part.extra.apply_into(value, out, tmp).ok()?;
        if let Some(n) = part.prefix
            && let Some((cut, _)) = out.char_indices().nth(n)
        {
            out.truncate(cut);
        }
        (!out.trim().is_empty()).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::NO_BLOCK;
    use crate::encode::{Encoder, Scratch};
    use crate::keys::Secret;
    use crate::schema::Schema;

    const SCHEMA: &str = r#"
        version = 1
        id_column = "id"
        [[fields]]
        name = "surname"
        normalize = ["nfkc", "casefold"]
        missing_values = ["unknown"]
        tokenizer = { kind = "qgram", q = 2 }
        bits_per_token = 20
        [[fields]]
        name = "dob"
        normalize = [{ date = { formats = ["%d/%m/%Y"] } }]
        tokenizer = { kind = "date" }
        bits_per_token = 20
        [[blocking]]
        name = "soundex_year"
        parts = [{ field = "surname", normalize = ["soundex"] }, { field = "dob", prefix = 4 }]
        [[blocking]]
        name = "surname_initial"
        parts = [{ field = "surname", prefix = 1 }]
    "#;

    fn blocks(secret: u8, surname: &str, dob: &str) -> Vec<u64> {
        let schema = Schema::from_toml_str(SCHEMA).unwrap();
        let enc =
            Encoder::new(&schema, &Secret::from_bytes(vec![secret; 32], "t").unwrap()).unwrap();
        assert_eq!(enc.block_keys(), 2);
        let mut out = vec![0; 2];
        let values = [surname, dob];
        enc.encode_blocks(|i| values[i], &mut Scratch::default(), &mut out);
        out
    }

    #[test]
    fn equal_keys_give_equal_opaque_ids() {
        let smith = blocks(1, "Smith", "01/02/1980");
        let smyth = blocks(1, "SMYTH", "31/12/1980");
        assert_eq!(smith, smyth, "same Soundex, same year, same initial");
        assert!(smith.iter().all(|&b| b != NO_BLOCK));
        let other_year = blocks(1, "Smith", "01/02/1981");
        assert_ne!(other_year[0], smith[0]);
        assert_eq!(other_year[1], smith[1]);
        let jones = blocks(1, "Jones", "01/02/1980");
        assert_ne!(jones[0], smith[0]);
        assert_ne!(jones[1], smith[1]);
    }

    #[test]
    fn missing_parts_give_no_block_and_keys_depend_on_the_secret() {
        assert_eq!(blocks(1, "unknown", "01/02/1980"), vec![NO_BLOCK, NO_BLOCK]);
        assert_eq!(blocks(1, "Smith", "")[0], NO_BLOCK);
        assert_eq!(blocks(1, "Smith", "not a date")[0], NO_BLOCK);
        assert_ne!(blocks(1, "Smith", "")[1], NO_BLOCK);
        let a = blocks(1, "Smith", "01/02/1980");
        let b = blocks(2, "Smith", "01/02/1980");
        assert_ne!(a[0], b[0]);
        assert_ne!(a[1], b[1]);
    }

    #[test]
    fn blocking_keys_are_validated_and_fingerprinted() {
        let schema = Schema::from_toml_str(SCHEMA).unwrap();
        let mut without = schema.clone();
        without.blocking.clear();
        assert_ne!(schema.fingerprint(), without.fingerprint());
        assert!(
            !String::from_utf8(without.canonical_json())
                .unwrap()
                .contains("blocking")
        );
        let bad = SCHEMA.replace(
            r#"{ field = "surname", prefix = 1 }"#,
            r#"{ field = "nope" }"#,
        );
        let err = Schema::from_toml_str(&bad).unwrap_err().to_string();
        assert!(err.contains("blocking[1].parts[0].field"), "{err}");
        let twice = SCHEMA.replace("surname_initial", "soundex_year");
        let err = Schema::from_toml_str(&twice).unwrap_err().to_string();
        assert!(err.contains("used twice"), "{err}");
    }
}
