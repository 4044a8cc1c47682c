//! Fellegi-Sunter probabilistic linkage on per-field similarities of encodings.
//!
//! Per-field Dice similarities of a candidate pair flow in (missing fields flagged, never guessed
//! from an empty filter); [`levels`] turns each into a comparison level, [`patterns`] counts the
//! agreement patterns (one vector of levels per pair) over all candidate pairs ([`count`]
//! counts them straight from field-layout filters, [`similarity`] gives one pair's), [`em`] estimates
//! the model's parameters by expectation-maximisation on those counts (cost independent of the
//! number of pairs, and summable across workers), and [`weights`] scores a pattern by its match
//! weight and probability. What flows out is an [`FsParams`] with an [`EmReport`] saying how it
//! was reached (iterations, convergence, warnings): serialisable, so a model can be saved and
//! reused.
//!
//! The method follows Fellegi and Sunter (1969) with Splink's training recipe: u from random
//! pairs, the prior from a deterministic rule and a recall guess, m by EM over a round robin of
//! blocking passes (a field a pass blocks on is not estimated in it).

pub mod count;
pub mod em;
pub mod exact;
pub mod levels;
pub mod link;
pub mod patterns;
pub mod score;
pub mod similarity;
pub mod train;
pub mod weights;

#[cfg(test)]
mod tests;

pub use self::count::{count_pairs, count_pairs_with};
pub use self::em::{
    EmIteration, EmReport, EmSettings, FsParams, FsWarning, expectation_maximisation,
    prior_from_rule, round_robin,
};
pub use self::exact::ExactGroups;
pub use self::levels::FieldLevels;
pub use self::link::{FsOptions, FsSummary, explain};
pub use self::patterns::PatternCounts;
pub use self::score::{Explanation, FieldEvidence, Scorer};
pub use self::similarity::{FieldRecords, empty_field_masks, field_dice, random_pairs};
pub use self::train::{FsModel, PassReport, PriorChoice, PriorReport, TrainOptions, train};
pub use self::weights::{probability, tf_adjustment};

crate::error_kinds! {
    /// What went wrong in a Fellegi-Sunter model.
    pub enum FsErrorKind {
        /// A field's level thresholds are not strictly descending within `(0, 1)`.
        BadLevels => "fs-bad-levels",
        /// The fields' levels make too many agreement patterns to count densely.
        TooManyPatterns => "fs-too-many-patterns",
        /// Counts, vectors or parameters disagree on the fields or their levels.
        Shape => "fs-shape",
        /// The EM settings are invalid.
        BadSettings => "fs-bad-settings",
        /// There are no pairs to learn from.
        NoPairs => "fs-no-pairs",
        /// The encodings are not in the `field` layout.
        Layout => "fs-layout",
        /// Hardened field filters need the encoder's missing-field flags, which they lack.
        NoMissingFlags => "fs-no-missing-flags",
        /// A saved model does not fit the encodings.
        ModelMismatch => "fs-model-mismatch",
        /// Probabilistic linkage takes one or two inputs.
        Inputs => "fs-inputs",
        /// A model file could not be read.
        ModelFile => "fs-model-file",
        /// The field filters are not hardened, and that was not allowed.
        Unhardened => "fs-unhardened",
        /// A record id to explain is not in the inputs.
        UnknownId => "fs-unknown-id",
    }
}

/// A Fellegi-Sunter model could not be built or trained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// A field's level thresholds are invalid.
    #[error("field {field}: comparison thresholds must be strictly descending within (0, 1)")]
    BadLevels {
        /// The field's name.
        field: String,
    },
    /// Too many agreement patterns.
    #[error(
        "the fields' comparison levels make {patterns} agreement patterns; at most {max} are counted"
    )]
    TooManyPatterns {
        /// Patterns the levels make.
        patterns: u128,
        /// The most allowed.
        max: usize,
    },
    /// Shapes disagree.
    #[error("{0}")]
    Shape(String),
    /// Settings are invalid.
    #[error("{0}")]
    BadSettings(String),
    /// No pairs.
    #[error("there are no pairs with a compared field to learn from")]
    NoPairs,
    /// Not the `field` layout.
    #[error(
        "probabilistic linkage compares fields, so it needs encodings in the `field` layout \
         (one filter per field); these are in the `{layout}` layout"
    )]
    Layout {
        /// The encodings' layout.
        layout: String,
    },
    /// Hardened filters without missing-field flags.
    #[error(
        "these field filters are hardened, so an empty field cannot be told from its filter, \
         and they carry no missing-field flags"
    )]
    NoMissingFlags,
    /// A saved model does not fit.
    #[error("the model does not fit these encodings: {0}")]
    ModelMismatch(String),
    /// Not one or two inputs.
    #[error("probabilistic linkage takes one input (deduplication) or two, not {0}")]
    Inputs(usize),
    /// Unhardened field filters, not allowed.
    #[error(
        "these field filters are not hardened: field-level filters leak values to frequency \
         and pattern attacks field by field, so probabilistic linkage takes hardened ones \
         (`[filter] harden` in the schema, docs/privacy.md)"
    )]
    Unhardened,
    /// A record id is not in the inputs.
    #[error("no record has the id `{id}`")]
    UnknownId {
        /// The id asked for.
        id: String,
    },
    /// A model file could not be read.
    #[error("cannot read the model {path}: {detail}")]
    ModelFile {
        /// The file.
        path: String,
        /// Why (never the file's contents).
        detail: String,
    },
}

impl FsError {
    /// The error's kind.
    pub fn kind(&self) -> FsErrorKind {
        match self {
            FsError::BadLevels { .. } => FsErrorKind::BadLevels,
            FsError::TooManyPatterns { .. } => FsErrorKind::TooManyPatterns,
            FsError::Shape(_) => FsErrorKind::Shape,
            FsError::BadSettings(_) => FsErrorKind::BadSettings,
            FsError::NoPairs => FsErrorKind::NoPairs,
            FsError::Layout { .. } => FsErrorKind::Layout,
            FsError::NoMissingFlags => FsErrorKind::NoMissingFlags,
            FsError::ModelMismatch(_) => FsErrorKind::ModelMismatch,
            FsError::Inputs(_) => FsErrorKind::Inputs,
            FsError::ModelFile { .. } => FsErrorKind::ModelFile,
            FsError::Unhardened => FsErrorKind::Unhardened,
            FsError::UnknownId { .. } => FsErrorKind::UnknownId,
        }
    }
}

impl crate::error::Coded for FsError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}
