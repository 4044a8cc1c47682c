//! `Schema`: a linkage schema file in (pprl's TOML or JSON, or a clkhash JSON linkage schema,
//! told apart as `pprl encode` does), checked and ready for `encode`.
//!
//! A pprl schema names an id column; a clkhash schema does not (clkhash identifies records by
//! their position, `"0"`, `"1"`, ...) and takes a secret file of any length (clkhash secrets are
//! often passphrases), as `pprl encode` does for it.

use std::path::PathBuf;

use pprl::compat::{AnySchema, clkhash};
use pyo3::prelude::*;

use crate::errors::{Failure, raise};

/// The schema behind a [`Schema`].
pub(crate) enum Kind {
    /// pprl's own.
    Pprl(Box<pprl::schema::Schema>),
    /// clkhash's (upgraded to version 3).
    Clkhash(Box<clkhash::Schema>),
}

/// A linkage schema: which fields are encoded, how they are normalised and tokenised, and the
/// filter layout. Load one with `Schema.load(path)`: a pprl schema (TOML, or JSON) or a clkhash
/// linkage schema (JSON with clkhash's `clkConfig` and `features`).
#[pyclass(frozen, module = "pprl._pprl")]
pub(crate) struct Schema {
    pub(crate) kind: Kind,
    path: String,
}

/// Issues `text` as a Python `UserWarning`.
pub(crate) fn warn(py: Python<'_>, text: &str) -> PyResult<()> {
    let text = pprl::error::escape_controls(text);
    let msg = std::ffi::CString::new(text).unwrap_or_default();
    PyErr::warn(
        py,
        &py.get_type::<pyo3::exceptions::PyUserWarning>(),
        &msg,
        1,
    )
}

#[pymethods]
impl Schema {
    /// Loads and checks the schema at `path`: a pprl schema (TOML; JSON) or, for a `.json`
    /// file with clkhash's top-level keys, a clkhash linkage schema (versions 1 to 3), exactly
    /// as `pprl encode --schema` reads it. Its warnings (risky but valid settings) are issued
    /// as Python `UserWarning`s.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Schema> {
        let loaded = py.allow_threads(|| AnySchema::from_path(&path));
        let loaded = raise(py, loaded.map_err(Failure::from))?;
        let kind = match loaded {
            AnySchema::Pprl(s) => {
                for w in s.warnings() {
                    warn(py, &format!("schema: {w}"))?;
                }
                Kind::Pprl(s)
            }
            AnySchema::Clkhash(s) => {
                for w in &s.warnings {
                    warn(py, &format!("schema: (clkhash schema) {w}"))?;
                }
                Kind::Clkhash(s)
            }
        };
        Ok(Schema {
            kind,
            path: path.display().to_string(),
        })
    }

    /// `"pprl"` or `"clkhash"`: which kind of schema the file holds.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.kind {
            Kind::Pprl(_) => "pprl",
            Kind::Clkhash(_) => "clkhash",
        }
    }

    /// The schema's fingerprint (hex SHA-256 of its canonical form), as `.clk` headers and
    /// manifests record it.
    #[getter]
    fn fingerprint(&self) -> String {
        match &self.kind {
            Kind::Pprl(s) => s.fingerprint().to_hex(),
            Kind::Clkhash(s) => s.fingerprint().to_hex(),
        }
    }

    /// The column holding the record ids; None for a clkhash schema (records are named by
    /// their position, `"0"`, `"1"`, ...).
    #[getter]
    fn id_column(&self) -> Option<String> {
        match &self.kind {
            Kind::Pprl(s) => Some(s.id_column.clone()),
            Kind::Clkhash(_) => None,
        }
    }

    /// The input columns the schema's fields read, in field order (for a clkhash schema, its
    /// hashed features; ignored features are not read).
    #[getter]
    fn columns(&self) -> Vec<String> {
        match &self.kind {
            Kind::Pprl(s) => s.fields.iter().map(|f| f.column().to_string()).collect(),
            Kind::Clkhash(s) => s
                .features
                .iter()
                .filter(|f| f.hashing.is_some())
                .map(|f| f.identifier.clone())
                .collect(),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Schema(path={:?}, kind={:?}, fingerprint={:?})",
            self.path,
            self.kind(),
            self.fingerprint()
        )
    }
}

impl Schema {
    /// Every column the encoder may read, in the order it expects them: pprl's id column then
    /// its fields' columns; clkhash's features (all of them, so a table with exactly clkhash's
    /// columns is matched by position, as clkhash does).
    pub(crate) fn input_columns(&self) -> Vec<&str> {
        match &self.kind {
            Kind::Pprl(s) => {
                let mut names: Vec<&str> = vec![s.id_column.as_str()];
                for f in &s.fields {
                    if !names.contains(&f.column()) {
                        names.push(f.column());
                    }
                }
                names
            }
            Kind::Clkhash(s) => s.features.iter().map(|f| f.identifier.as_str()).collect(),
        }
    }
}
