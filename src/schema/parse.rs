//! Schema text in: a file, TOML or JSON, parsed by serde and then validated.

use std::path::Path;

use super::{Schema, SchemaError};

impl Schema {
    /// Reads and validates a schema file; `.json` files are read as JSON, anything else as TOML.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Schema, SchemaError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            Schema::from_json_str(&text)
        } else {
            Schema::from_toml_str(&text)
        }
    }

    /// Parses and validates a TOML schema.
    pub fn from_toml_str(text: &str) -> Result<Schema, SchemaError> {
        // The parser's own message, where, and nothing it quotes from the text.
        let schema: Schema = toml::from_str(text).map_err(|e| SchemaError::Syntax {
            format: "TOML",
            message: match e.span() {
                Some(span) => {
                    let (line, column) = crate::error::line_column(text, span.start);
                    let what = crate::error::scrub_parser_message(e.message());
                    format!("line {line}, column {column}: {what}")
                }
                None => crate::error::scrub_parser_message(e.message()),
            },
        })?;
        schema.validate()?;
        Ok(schema)
    }

    /// Parses and validates a JSON schema (same keys as TOML).
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        let schema: Schema = serde_json::from_str(text).map_err(|e| SchemaError::Syntax {
            format: "JSON",
            message: crate::error::scrub_parser_message(&e.to_string()),
        })?;
        schema.validate()?;
        Ok(schema)
    }
}
