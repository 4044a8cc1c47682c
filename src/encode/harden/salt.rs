//! Salting: a field's tokens and the record's salt value in, salted tokens out.
//!
//! Each token `g` of a salted field is hashed as `len(s) ":" s g`, where `s` is the record's
//! salt: the value of a stable attribute (e.g. the year of birth, the salt field's normalised
//! value cut to `prefix` characters). The length prefix makes the salted token unambiguous.
//! Equal names of people with different salts then set unrelated bits, which splits the
//! frequency classes an attacker aligns (the ANU attack code's `salt` hardening). An error in
//! the salt value breaks every salted token of the record, so choose an attribute that is
//! rarely wrong.

use std::fmt::Write as _;

use crate::encode::tokenize::Tokens;

/// Writes the salted form of every token of `tokens` into `out` (cleared first).
pub fn salt_tokens(salt: &str, tokens: &Tokens, out: &mut Tokens, buf: &mut String) {
    out.clear();
    for token in tokens.iter() {
        buf.clear();
        // Writing to a String cannot fail.
        let _ = write!(buf, "{}:{salt}{token}", salt.len());
        out.push(buf);
    }
}

/// The salt of a normalised value: its first `prefix` characters (all of it without one).
pub fn salt_value(normalized: &str, prefix: Option<u32>) -> &str {
    match prefix {
        Some(n) => match normalized.char_indices().nth(n as usize) {
            Some((end, _)) => &normalized[..end],
            None => normalized,
        },
        None => normalized,
    }
}
