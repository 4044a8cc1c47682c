//! Interoperability with clkhash and anonlink (data61): their schemas, encodings and files.
//!
//! Many departments already encode with clkhash and send CLKs to a third party running
//! anonlink or the anonlink entity service. This module lets them switch to pprl one
//! department at a time:
//!
//! * [`clkhash`]: a clkhash linkage schema (v1, v2 or v3) and secret give *bit-identical*
//!   CLKs, so pprl's CLKs link with clkhash's;
//! * [`AnySchema`]: a schema file of either kind;
//! * the file formats themselves (clkhash JSON, anonlink binary) are codecs in
//!   [`crate::io::formats`]; encoding jobs into them are in [`crate::pipeline`].
//!
//! clkhash's formats identify records by their position and carry no fingerprints. pprl
//! therefore refuses to write them with gaps (a rejected row fails the job rather than shift
//! every later record), and warns when it matches them that it cannot check that the files
//! were made with the same secret and schema.

pub mod clkhash;

use std::path::Path;

use crate::error::Position;
use crate::keys::Secret;
use crate::schema::{Schema, SchemaError};

/// A linkage schema of either kind, as an encoding job reads it.
#[derive(Debug, Clone)]
pub enum AnySchema {
    /// pprl's own schema (TOML or JSON).
    Pprl(Box<Schema>),
    /// A clkhash linkage schema (JSON with clkhash's keys).
    Clkhash(Box<clkhash::Schema>),
}

/// A schema that could not be read, of either kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnySchemaError {
    /// A pprl schema problem.
    #[error(transparent)]
    Pprl(#[from] SchemaError),
    /// A clkhash schema problem.
    #[error(transparent)]
    Clkhash(#[from] clkhash::SchemaError),
}

crate::error_kinds! {
    /// Which kind of schema an [`AnySchemaError`] is about; the wrapped error has the details
    /// (for a clkhash schema, its own [`clkhash::SchemaErrorKind`]).
    pub enum AnySchemaErrorKind {
        /// A pprl schema (TOML or JSON) could not be read.
        Pprl => "compat-schema-pprl",
        /// A clkhash schema could not be read.
        Clkhash => "compat-schema-clkhash",
    }
}

impl AnySchemaError {
    /// Which kind of schema the problem is in.
    pub fn kind(&self) -> AnySchemaErrorKind {
        match self {
            AnySchemaError::Pprl(_) => AnySchemaErrorKind::Pprl,
            AnySchemaError::Clkhash(_) => AnySchemaErrorKind::Clkhash,
        }
    }

    /// Where, for a clkhash schema problem ([`clkhash::SchemaError::position`]).
    pub fn position(&self) -> Option<Position> {
        match self {
            AnySchemaError::Pprl(_) => None,
            AnySchemaError::Clkhash(e) => e.position(),
        }
    }
}

impl crate::error::Coded for AnySchemaError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl AnySchema {
    /// Reads a schema file: a `.json` file with clkhash's top-level keys (`clkConfig`,
    /// `features`) is a clkhash schema; anything else is a pprl schema.
    pub fn from_path(path: impl AsRef<Path>) -> Result<AnySchema, AnySchemaError> {
        let path = path.as_ref();
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
                path: path.display().to_string(),
                source,
            })?;
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
                && clkhash::schema::is_clkhash_schema(&value)
            {
                return Ok(AnySchema::Clkhash(Box::new(clkhash::Schema::from_value(
                    &value,
                )?)));
            }
            return Ok(AnySchema::Pprl(Box::new(Schema::from_json_str(&text)?)));
        }
        Ok(AnySchema::Pprl(Box::new(Schema::from_path(path)?)))
    }
}

/// True if the secret file's bytes end with a line break, which clkhash's command-line
/// secrets never have: a frequent cause of CLKs that do not match.
pub fn secret_ends_with_newline(secret: &Secret) -> bool {
    secret.expose_bytes().ends_with(b"\n")
}
