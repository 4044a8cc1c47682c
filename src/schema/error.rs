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
    /// A `[filter] harden` setting breaks a rule; `problem` is its stable code.
    #[error("schema key `{path}`: {message}")]
    Harden {
        /// The key path, e.g. `filter.harden[1].blip.epsilon`.
        path: String,
        /// What kind of problem, with its stable code (`harden-epsilon`, ...).
        problem: super::HardenProblem,
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
        /// A `[filter] harden` setting breaks a rule (see [`SchemaError::harden_problem`]).
        Harden => "schema-harden",
    }
}

impl SchemaError {
    /// The error's kind.
    pub fn kind(&self) -> SchemaErrorKind {
        match self {
            SchemaError::Io { .. } => SchemaErrorKind::Io,
            SchemaError::Syntax { .. } => SchemaErrorKind::Syntax,
            SchemaError::Invalid { .. } => SchemaErrorKind::Invalid,
            SchemaError::Harden { .. } => SchemaErrorKind::Harden,
        }
    }

    /// What is wrong with the hardening steps, for [`SchemaErrorKind::Harden`].
    pub fn harden_problem(&self) -> Option<super::HardenProblem> {
        match self {
            SchemaError::Harden { problem, .. } => Some(*problem),
            _ => None,
        }
    }

    /// Where the problem is: the file that could not be read, or the key path (as the
    /// position's field, e.g. `fields[2].tokenizer.q`) of the value that breaks a rule. A
    /// syntax error's line and column are in its message.
    pub fn position(&self) -> Option<crate::error::Position> {
        match self {
            SchemaError::Io { path, .. } => Some(crate::error::Position::file(path.clone())),
            SchemaError::Invalid { path, .. } | SchemaError::Harden { path, .. } => {
                Some(crate::error::Position::default().in_field(path.clone()))
            }
            SchemaError::Syntax { .. } => None,
        }
    }

    /// The key path of the value that breaks a rule, for [`SchemaErrorKind::Invalid`].
    pub fn key_path(&self) -> Option<&str> {
        match self {
            SchemaError::Invalid { path, .. } | SchemaError::Harden { path, .. } => Some(path),
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
    /// The kind's code; for a hardening problem, the problem's own code (`harden-epsilon`).
    fn code(&self) -> &'static str {
        match self {
            SchemaError::Harden { problem, .. } => problem.code(),
            _ => self.kind().code(),
        }
    }
}
