//! The library's errors as Python exceptions: one class per family, every instance carrying
//! the library's stable `code` (`kind().code()`) and, where known, `path`, `row`, `line` and
//! `field`.
//!
//! Messages are the library's own: they name files and positions, never a secret's bytes or a
//! file's contents, so they are safe to show.

use pprl::error::{Coded, Position};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(
    pprl,
    PprlError,
    PyException,
    "Base class of pprl's errors. `code` is the library's stable error code; `path`, `row`, \
     `line` and `field` say where, when known (else None)."
);
pyo3::create_exception!(
    pprl,
    SchemaError,
    PprlError,
    "The schema file cannot be read or is not a valid schema."
);
pyo3::create_exception!(
    pprl,
    SecretError,
    PprlError,
    "The secret file cannot be read or does not hold a usable secret (the secret is never shown)."
);
pyo3::create_exception!(
    pprl,
    InputError,
    PprlError,
    "The records cannot be read or are not what the schema describes (`row`, `field` say where)."
);
pyo3::create_exception!(
    pprl,
    EncodingFileError,
    PprlError,
    "An encoding file (.clk, clkhash JSON, anonlink binary) cannot be read or written."
);
pyo3::create_exception!(
    pprl,
    OutputError,
    PprlError,
    "An output would overwrite a file the call reads, or cannot be written where asked."
);
pyo3::create_exception!(
    pprl,
    MatchError,
    PprlError,
    "Matching was refused or failed."
);
pyo3::create_exception!(
    pprl,
    KeyMismatchError,
    MatchError,
    "The encodings were made with different secrets, so they cannot be compared."
);
pyo3::create_exception!(
    pprl,
    SchemaMismatchError,
    MatchError,
    "The encodings were made with different schemas, filter layouts or lengths."
);

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("PprlError", py.get_type::<PprlError>())?;
    m.add("SchemaError", py.get_type::<SchemaError>())?;
    m.add("SecretError", py.get_type::<SecretError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("EncodingFileError", py.get_type::<EncodingFileError>())?;
    m.add("OutputError", py.get_type::<OutputError>())?;
    m.add("MatchError", py.get_type::<MatchError>())?;
    m.add("KeyMismatchError", py.get_type::<KeyMismatchError>())?;
    m.add("SchemaMismatchError", py.get_type::<SchemaMismatchError>())?;
    Ok(())
}

/// Which exception class an error becomes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Class {
    Pprl,
    Schema,
    Secret,
    Input,
    EncodingFile,
    Output,
    Match,
    KeyMismatch,
    SchemaMismatch,
}

/// A library error caught without the GIL, raised once it is held again (boxed: results
/// carrying it stay small).
#[derive(Debug)]
pub(crate) struct Failure(Box<Inner>);

/// What a [`Failure`] holds.
#[derive(Debug)]
struct Inner {
    class: Class,
    code: &'static str,
    message: String,
    position: Option<Position>,
}

impl Failure {
    /// `e` as an exception of `class`, with its code, full message (causes included) and
    /// position.
    pub(crate) fn new<E>(class: Class, e: &E, position: Option<Position>) -> Failure
    where
        E: Coded + std::error::Error,
    {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        Failure(Box::new(Inner {
            class,
            code: e.code(),
            message: pprl::error::escape_controls(&message),
            position,
        }))
    }

    /// The Python exception.
    pub(crate) fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let Inner {
            class,
            code,
            message: msg,
            position,
        } = *self.0;
        let err = match class {
            Class::Pprl => PprlError::new_err(msg),
            Class::Schema => SchemaError::new_err(msg),
            Class::Secret => SecretError::new_err(msg),
            Class::Input => InputError::new_err(msg),
            Class::EncodingFile => EncodingFileError::new_err(msg),
            Class::Output => OutputError::new_err(msg),
            Class::Match => MatchError::new_err(msg),
            Class::KeyMismatch => KeyMismatchError::new_err(msg),
            Class::SchemaMismatch => SchemaMismatchError::new_err(msg),
        };
        let pos = position.unwrap_or_default();
        let value = err.value(py);
        let attrs = || -> PyResult<()> {
            value.setattr("code", code)?;
            value.setattr("path", pos.path)?;
            value.setattr("row", pos.row)?;
            value.setattr("line", pos.line)?;
            value.setattr("field", pos.field)?;
            Ok(())
        };
        match attrs() {
            Ok(()) => err,
            Err(e) => e,
        }
    }
}

impl From<pprl::schema::SchemaError> for Failure {
    fn from(e: pprl::schema::SchemaError) -> Failure {
        Failure::new(Class::Schema, &e, e.position())
    }
}

impl From<pprl::compat::clkhash::SchemaError> for Failure {
    fn from(e: pprl::compat::clkhash::SchemaError) -> Failure {
        Failure::new(Class::Schema, &e, e.position())
    }
}

impl From<pprl::compat::AnySchemaError> for Failure {
    fn from(e: pprl::compat::AnySchemaError) -> Failure {
        use pprl::compat::AnySchemaError as E;
        match e {
            // The schema's own error: its precise code and position.
            E::Pprl(inner) => Failure::from(inner),
            E::Clkhash(inner) => Failure::from(inner),
            other => Failure::new(Class::Schema, &other, other.position()),
        }
    }
}

impl From<pprl::keys::KeyError> for Failure {
    fn from(e: pprl::keys::KeyError) -> Failure {
        Failure::new(Class::Secret, &e, e.position())
    }
}

impl From<pprl::io::InputError> for Failure {
    fn from(e: pprl::io::InputError) -> Failure {
        Failure::new(Class::Input, &e, Some(e.position()))
    }
}

impl From<pprl::io::OutputError> for Failure {
    fn from(e: pprl::io::OutputError) -> Failure {
        Failure::new(Class::Output, &e, None)
    }
}

impl From<pprl::io::ClkError> for Failure {
    fn from(e: pprl::io::ClkError) -> Failure {
        Failure::new(Class::EncodingFile, &e, e.position())
    }
}

impl From<pprl::io::formats::ReadError> for Failure {
    fn from(e: pprl::io::formats::ReadError) -> Failure {
        Failure::new(Class::EncodingFile, &e, e.position())
    }
}

impl From<pprl::pipeline::EncodeError> for Failure {
    fn from(e: pprl::pipeline::EncodeError) -> Failure {
        use pprl::pipeline::EncodeErrorKind as K;
        if let pprl::pipeline::EncodeError::Input(inner) = e {
            // The input's own kind (missing column, malformed CSV, ...) is the precise code.
            return Failure::from(inner);
        }
        let class = match e.kind() {
            K::Input | K::DuplicateId | K::RowsRejected => Class::Input,
            K::Clk | K::FilterBits => Class::EncodingFile,
            K::Output | K::OverwritesInput | K::Unsafe => Class::Output,
            _ => Class::Pprl,
        };
        Failure::new(class, &e, Some(e.position()))
    }
}

impl From<pprl::linkage::MatchError> for Failure {
    fn from(e: pprl::linkage::MatchError) -> Failure {
        use pprl::linkage::MatchErrorKind as K;
        let class = match e.kind() {
            K::KeyMismatch => Class::KeyMismatch,
            K::SchemaMismatch | K::LayoutMismatch | K::LengthMismatch => Class::SchemaMismatch,
            K::Output => Class::Output,
            K::Clk => Class::EncodingFile,
            _ => Class::Match,
        };
        Failure::new(class, &e, None)
    }
}

/// Raises a [`Failure`] (or passes a Python error through).
pub(crate) fn raise<T>(py: Python<'_>, r: Result<T, Failure>) -> PyResult<T> {
    r.map_err(|f| f.into_pyerr(py))
}
