//! Tokens per record of an export under a schema: rows of a [`RowSource`] in, each record's id
//! and the number of tokens its present, valid fields make out.
//!
//! What the length measure of a leakage audit compares popcounts with
//! ([`crate::privacy::length_token_correlation`]): where a filter's popcount follows its token
//! count, it reveals how long the encoded values are. Normalisation and tokenising are the
//! encoder's own; no secret is needed, since only tokens are counted, never hashed.

use super::profile::ProfileError;
use super::rows::NativeRows;
use crate::encode::Encoder;
use crate::encode::tokenize::Tokens;
use crate::io::{InputRow, RowSource};
use crate::keys::Secret;
use crate::schema::Schema;

/// Every record's id and token count (all fields together), in row order. A missing, invalid
/// or untokenisable value adds no tokens, as it sets no bits.
pub fn record_tokens<S: RowSource + ?Sized>(
    schema: &Schema,
    source: &mut S,
) -> Result<Vec<(String, u32)>, ProfileError> {
    schema.validate()?;
    // Only to find the columns: nothing is hashed with it.
    let encoder = Encoder::new(schema, &Secret::generate()?)?;
    let rows = NativeRows::new(schema, &encoder, source)?;
    let (id_col, cols) = (rows.id_column(), rows.field_columns().to_vec());
    let (normalizers, tokenizers) = super::profile::field_steps(schema)?;
    let (mut value, mut tmp, mut tokens) = (String::new(), String::new(), Tokens::default());
    let mut chunk: Vec<InputRow> = Vec::new();
    let mut out = Vec::new();
    while source.read_chunk(&mut chunk, 4096)? > 0 {
        for row in &chunk {
            let mut count = 0u32;
            for (i, spec) in schema.fields.iter().enumerate() {
                let raw = row.record.get(cols[i]).unwrap_or("");
                if super::profile::is_marked_missing(spec, raw)
                    || normalizers[i]
                        .apply_into(raw, &mut value, &mut tmp)
                        .is_err()
                    || value.trim().is_empty()
                {
                    continue;
                }
                tokens.clear();
                if tokenizers[i].tokenize(&value, &mut tokens).is_ok() {
                    count += tokens.len() as u32;
                }
            }
            out.push((row.record.get(id_col).unwrap_or("").to_string(), count));
        }
    }
    Ok(out)
}
