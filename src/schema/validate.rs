//! The rules serde cannot check (versions, ranges, uniqueness, combinations), reported with the
//! key path at fault, and the warnings for legal but risky choices.

use std::fmt;

use super::*;

/// Something legal but risky in a schema, with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaWarning {
    /// Stable code, e.g. `W001`.
    pub code: &'static str,
    /// What is risky and what to do instead.
    pub message: String,
}

impl fmt::Display for SchemaWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl Schema {
    /// Checks the rules serde cannot: versions, ranges, uniqueness and combinations.
    pub fn validate(&self) -> Result<(), SchemaError> {
        if self.version != SCHEMA_VERSION {
            return Err(SchemaError::invalid(
                "version",
                format!(
                    "unsupported schema version {}; this build reads version {SCHEMA_VERSION}",
                    self.version
                ),
            ));
        }
        if self.id_column.trim().is_empty() {
            return Err(SchemaError::invalid(
                "id_column",
                "must name the column that holds the record id",
            ));
        }
        let bits = self.filter.length_bits;
        if !(MIN_FILTER_BITS..=MAX_FILTER_BITS).contains(&bits) || !bits.is_multiple_of(64) {
            return Err(SchemaError::invalid(
                "filter.length_bits",
                format!(
                    "expected a multiple of 64 between {MIN_FILTER_BITS} and {MAX_FILTER_BITS}, found {bits}"
                ),
            ));
        }
        if self.filter.hashing == HashingScheme::Clkhash {
            return Err(SchemaError::invalid(
                "filter.hashing",
                "`clkhash` hashing comes only from clkhash schemas (encode with the clkhash \
                 schema itself)",
            ));
        }
        if self.fields.is_empty() {
            return Err(SchemaError::invalid(
                "fields",
                "a schema needs at least one identifier field",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, field) in self.fields.iter().enumerate() {
            let at = |key: &str| format!("fields[{i}].{key}");
            if field.name.trim().is_empty() || field.name.chars().any(char::is_control) {
                return Err(SchemaError::invalid(
                    at("name"),
                    "expected a non-empty name without control characters",
                ));
            }
            if !seen.insert(field.name.as_str()) {
                return Err(SchemaError::invalid(
                    at("name"),
                    format!("field name `{}` is used twice", field.name),
                ));
            }
            if field.column() == self.id_column {
                return Err(SchemaError::invalid(
                    at("column"),
                    format!(
                        "`{}` is the id column; record ids are carried along, never hashed",
                        self.id_column
                    ),
                ));
            }
            for (j, step) in field.normalize.iter().enumerate() {
                step.validate().map_err(|message| {
                    SchemaError::invalid(at(&format!("normalize[{j}]")), message)
                })?;
            }
            match &field.tokenizer {
                TokenizerSpec::Qgram { q, .. } if !(1..=8).contains(q) => {
                    return Err(SchemaError::invalid(
                        at("tokenizer.q"),
                        format!("expected 1 to 8 characters per gram, found {q}"),
                    ));
                }
                TokenizerSpec::Numeric {
                    distance,
                    resolution,
                } => {
                    if !(distance.is_finite() && *distance > 0.0) {
                        return Err(SchemaError::invalid(
                            at("tokenizer.distance"),
                            format!("expected a finite number > 0, found {distance}"),
                        ));
                    }
                    if !(1..=64).contains(resolution) {
                        return Err(SchemaError::invalid(
                            at("tokenizer.resolution"),
                            format!("expected 1 to 64 tokens on each side, found {resolution}"),
                        ));
                    }
                }
                _ => {}
            }
            let target_bits = match field.layout_bits(self) {
                Some(b) => b,
                None => {
                    return Err(SchemaError::invalid(
                        at("rbf_bits"),
                        format!(
                            "expected a multiple of 64 between {MIN_FILTER_BITS} and {MAX_FILTER_BITS}"
                        ),
                    ));
                }
            };
            match (field.bits_per_token, field.bits_per_field) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(SchemaError::invalid(
                        at("bits_per_token"),
                        "give exactly one of `bits_per_token` and `bits_per_field`",
                    ));
                }
                (Some(k), None) if k == 0 || k > target_bits / 2 => {
                    return Err(SchemaError::invalid(
                        at("bits_per_token"),
                        format!(
                            "expected 1 to {} (half the filter), found {k}",
                            target_bits / 2
                        ),
                    ));
                }
                (None, Some(n)) if n == 0 || n > target_bits => {
                    return Err(SchemaError::invalid(
                        at("bits_per_field"),
                        format!("expected 1 to {target_bits} (the filter length), found {n}"),
                    ));
                }
                _ => {}
            }
            if let MissingRule::ReplaceWith(v) = &field.missing
                && v.trim().is_empty()
            {
                return Err(SchemaError::invalid(
                    at("missing.replace_with"),
                    "the replacement must not be empty",
                ));
            }
            if self.filter.layout != Layout::Rbf
                && (field.rbf_weight.is_some() || field.rbf_bits.is_some())
            {
                return Err(SchemaError::invalid(
                    at("rbf_weight"),
                    "`rbf_weight` and `rbf_bits` apply only to `layout = \"rbf\"`",
                ));
            }
            if let Some(w) = field.rbf_weight
                && !(w.is_finite() && w > 0.0)
            {
                return Err(SchemaError::invalid(
                    at("rbf_weight"),
                    format!("expected a finite number > 0, found {w}"),
                ));
            }
        }
        if self.filter.layout == Layout::Field && self.fields.len() > 64 {
            return Err(SchemaError::invalid(
                "fields",
                "the field layout supports at most 64 fields",
            ));
        }
        self.validate_blocking()?;
        self.validate_harden()
    }

    fn validate_blocking(&self) -> Result<(), SchemaError> {
        if self.blocking.len() > MAX_BLOCKING_KEYS {
            return Err(SchemaError::invalid(
                "blocking",
                format!("at most {MAX_BLOCKING_KEYS} blocking keys"),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, key) in self.blocking.iter().enumerate() {
            let at = |k: &str| format!("blocking[{i}].{k}");
            if key.name.trim().is_empty() || key.name.chars().any(char::is_control) {
                return Err(SchemaError::invalid(
                    at("name"),
                    "expected a non-empty name without control characters",
                ));
            }
            if !names.insert(key.name.as_str()) {
                return Err(SchemaError::invalid(
                    at("name"),
                    format!("blocking key name `{}` is used twice", key.name),
                ));
            }
            if key.parts.is_empty() {
                return Err(SchemaError::invalid(
                    at("parts"),
                    "a blocking key needs at least one part",
                ));
            }
            for (j, part) in key.parts.iter().enumerate() {
                let at = |k: &str| format!("blocking[{i}].parts[{j}].{k}");
                if !self.fields.iter().any(|f| f.name == part.field) {
                    return Err(SchemaError::invalid(
                        at("field"),
                        format!("no field named `{}` in `fields`", part.field),
                    ));
                }
                if part.prefix == Some(0) {
                    return Err(SchemaError::invalid(
                        at("prefix"),
                        "expected at least 1 character",
                    ));
                }
                for (k, step) in part.normalize.iter().enumerate() {
                    step.validate().map_err(|message| {
                        SchemaError::invalid(at(&format!("normalize[{k}]")), message)
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Risky but legal choices, for `pprl schema check` and `pprl encode` to print.
    pub fn warnings(&self) -> Vec<SchemaWarning> {
        let mut out = Vec::new();
        if self.filter.layout == Layout::Field {
            out.push(SchemaWarning {
                code: "W001",
                message: "field-level filters: equal values give equal filters, which frequency \
                          attacks exploit field by field; prefer the default `clk` layout unless \
                          the linkage needs field weights (`pprl match --model fs`), and then \
                          harden them (docs/privacy.md)"
                    .into(),
            });
        }
        if self.filter.length_bits < 512 {
            out.push(SchemaWarning {
                code: "W002",
                message: format!(
                    "filters of {} bits fill up quickly and make attacks easier; 1024 is usual",
                    self.filter.length_bits
                ),
            });
        }
        let low_entropy = |f: &FieldSpec| {
            matches!(
                f.tokenizer,
                TokenizerSpec::Exact | TokenizerSpec::Date | TokenizerSpec::Numeric { .. }
            )
        };
        if self.fields.iter().all(low_entropy) {
            out.push(SchemaWarning {
                code: "W003",
                message: "every field is an exact, date or numeric value: such encodings are \
                          easy to enumerate; add name or address q-gram fields"
                    .into(),
            });
        }
        if self.filter.layout != Layout::Field && self.fields.len() < 3 {
            out.push(SchemaWarning {
                code: "W004",
                message: format!(
                    "only {} field(s) in one filter: frequent values give frequent filters; \
                     three or more fields make filters unique",
                    self.fields.len()
                ),
            });
        }
        let fill = self.expected_fill();
        if fill.max_filter_fill > super::fill::DENSE_FILL {
            out.push(SchemaWarning {
                code: "W005",
                message: format!(
                    "the filters are expected to be {:.0}% full: nearly every pair of records \
                     would score close to 1; lower the weights (`bits_per_token`, \
                     `bits_per_field`) or lengthen the filter, aiming at about 50%",
                    fill.max_filter_fill * 100.0
                ),
            });
        }
        out
    }
}
