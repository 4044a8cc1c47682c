//! What can go wrong reading or validating a schema: [`SchemaError`] and its kinds.

/// A schema problem found when reading or validating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema file could not be read.
    #[error("cannot read schema {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The text is not valid TOML/JSON, or a key or value is unknown or of the wrong type.
    /// The message carries the line and column.
    #[error("schema {format} syntax: {message}")]
    Syntax {
        /// `TOML` or `JSON`.
        format: &'static str,
        /// The parser's message, with its position.
        message: String,
    },
    /// A value parsed but breaks a rule.
    #[error("schema key `{path}`: {message}")]
    Invalid {
        /// The key path, e.g. `fields[2].tokenizer.q`.
        path: String,
        /// What was expected.
        message: String,
    },
}

crate::error_kinds! {
    /// What kind of problem a [`SchemaError`] is.
    pub enum SchemaErrorKind {
        /// The schema file could not be read.
        Io => "schema-io",
        /// The text is not valid TOML/JSON, or a key or value is unknown or of the wrong type.
        Syntax => "schema-syntax",
        /// A value parsed but breaks a rule.
        Invalid => "schema-invalid",
    }
}

impl SchemaError {
    /// The error's kind.
    pub fn kind(&self) -> SchemaErrorKind {
        match self {
            SchemaError::Io { .. } => SchemaErrorKind::Io,
            SchemaError::Syntax { .. } => SchemaErrorKind::Syntax,
            SchemaError::Invalid { .. } => SchemaErrorKind::Invalid,
        }
    }

    /// Where the problem is: the file that could not be read, or the key path (as the
    /// position's field, e.g. `fields[2].tokenizer.q`) of the value that breaks a rule. A
    /// syntax error's line and column are in its message.
    pub fn position(&self) -> Option<crate::error::Position> {
        match self {
            SchemaError::Io { path, .. } => Some(crate::error::Position::file(path.clone())),
            SchemaError::Invalid { path, .. } => {
                Some(crate::error::Position::default().in_field(path.clone()))
            }
            SchemaError::Syntax { .. } => None,
        }
    }

    /// The key path of the value that breaks a rule, for [`SchemaErrorKind::Invalid`].
    pub fn key_path(&self) -> Option<&str> {
        match self {
            SchemaError::Invalid { path, .. } => Some(path),
            _ => None,
        }
    }

    pub(super) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        SchemaError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl crate::error::Coded for SchemaError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}
