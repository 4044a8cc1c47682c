//! Comparison levels of one field: a Dice similarity (or "missing") in, a level number out.
//!
//! Level 0 is *null* (the field is missing in either record: it carries no evidence and scores
//! nothing), level 1 is *exact* (identical field filters, Dice 1), then one level per threshold
//! in descending order (`Dice >= t`), and the last level is *else*. The default thresholds are
//! Splink's and Brown et al.'s 0.9, 0.8 and 0.7.

use serde::{Deserialize, Serialize};

use super::FsError;

/// The default thresholds below *exact*.
pub const DEFAULT_THRESHOLDS: [f64; 3] = [0.9, 0.8, 0.7];

/// The comparison levels of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldLevels {
    name: String,
    thresholds: Vec<f64>,
}

impl FieldLevels {
    /// Levels for field `name` with thresholds below *exact* (strictly descending in `(0, 1)`).
    pub fn new(name: impl Into<String>, thresholds: Vec<f64>) -> Result<Self, FsError> {
        let name = name.into();
        let inside = thresholds.iter().all(|t| *t > 0.0 && *t < 1.0);
        let descending = thresholds.windows(2).all(|w| w[0] > w[1]);
        if !inside || !descending {
            return Err(FsError::BadLevels { field: name });
        }
        Ok(FieldLevels { name, thresholds })
    }

    /// Levels for field `name` with the [`DEFAULT_THRESHOLDS`].
    pub fn with_defaults(name: impl Into<String>) -> Self {
        FieldLevels {
            name: name.into(),
            thresholds: DEFAULT_THRESHOLDS.to_vec(),
        }
    }

    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The thresholds below *exact*, descending.
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// How many levels, *null* included: null, exact, one per threshold, else.
    pub fn count(&self) -> usize {
        self.thresholds.len() + 3
    }

    /// The level of a similarity: `None` (missing in either record) is level 0.
    pub fn level(&self, dice: Option<f64>) -> u8 {
        let Some(dice) = dice else { return 0 };
        if dice >= 1.0 {
            return 1;
        }
        let below = self.thresholds.iter().take_while(|t| dice < **t).count();
        (2 + below) as u8
    }

    /// A level's label, for reports and charts.
    pub fn label(&self, level: u8) -> String {
        match level as usize {
            0 => "null".to_string(),
            1 => "exact".to_string(),
            l if l - 2 < self.thresholds.len() => format!(">= {}", self.thresholds[l - 2]),
            _ => "else".to_string(),
        }
    }
}
