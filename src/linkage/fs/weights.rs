//! Match weights: a trained model and a pair's agreement pattern in, the pair's evidence out.
//!
//! The weight of a pattern is the prior's log2 Bayes factor plus, per present field, `log2(m /
//! u)` of its level (a missing field adds nothing); the match probability is `2^w / (1 + 2^w)`.
//! Weights are what the solvers and the threshold chooser rank pairs by. The term-frequency
//! adjustment replaces an exact level's `u` by the value's own frequency (Splink's formula),
//! so agreeing on a rare value counts more than agreeing on a common one.

use super::FsParams;

impl FsParams {
    /// The prior's weight, `log2(lambda / (1 - lambda))`.
    pub fn prior_weight(&self) -> f64 {
        (self.lambda / (1.0 - self.lambda)).log2()
    }

    /// The weight of level `level` in field `field`: `log2(m / u)`, 0 for *null*.
    pub fn level_weight(&self, field: usize, level: u8) -> f64 {
        if level == 0 {
            return 0.0;
        }
        let l = usize::from(level) - 1;
        (self.m[field][l] / self.u[field][l]).log2()
    }

    /// The total match weight of a pattern.
    pub fn weight(&self, gamma: &[u8]) -> f64 {
        gamma
            .iter()
            .enumerate()
            .fold(self.prior_weight(), |w, (f, g)| {
                w + self.level_weight(f, *g)
            })
    }
}

/// The match probability of a total weight.
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

/// Splink's term-frequency adjustment of an exact level: `log2(u_exact) - log2(max(tf_left,
/// tf_right, tf_minimum))`, added to the level's weight. `tf_*` are the shares of records that
/// hold the pair's value on either side.
pub fn tf_adjustment(u_exact: f64, tf_left: f64, tf_right: f64, tf_minimum: f64) -> f64 {
    u_exact.log2() - tf_left.max(tf_right).max(tf_minimum).log2()
}
