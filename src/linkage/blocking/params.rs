//! What blocking to use: [`BlockingRequest`] (what was asked for) resolved into
//! [`BlockingOptions`] (keys and [`LshParams`] for these inputs).

use sha2::{Digest, Sha256};

use crate::linkage::error::MatchError;

/// Hamming LSH parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LshParams {
    /// Tables `L`.
    pub tables: u32,
    /// Bits sampled per table `K` (1 to 64).
    pub bits: u32,
    /// Collisions a pair needs, `λ` (1 to `L`).
    pub lambda: u32,
    /// Seed of the sampled bit positions.
    pub seed: u64,
}

impl LshParams {
    /// Parameters that find a pair whose filters agree on a share `agreement` of their bits
    /// with probability at least `pair_completeness` (λ = 1), while random pairs (agreement
    /// `random_agreement`) collide about once per record and table.
    ///
    /// `K` is the smallest number of bits for which `left · right · random^K` is at most
    /// `left + right`: each table then yields about as many spurious comparisons as records.
    /// `L` is the smallest number of tables with `1 - (1 - agreement^K)^L >=
    /// pair_completeness`.
    pub fn for_target(
        agreement: f64,
        random_agreement: f64,
        pair_completeness: f64,
        left: usize,
        right: usize,
        seed: u64,
    ) -> LshParams {
        let agreement = agreement.clamp(0.5, 0.999_999);
        let random = random_agreement.clamp(0.01, agreement - 1e-6);
        let (l, r) = (left.max(1) as f64, right.max(1) as f64);
        let k = ((l * r / (l + r)).ln() / (1.0 / random).ln()).ceil();
        let bits = (k as u32).clamp(1, 64);
        LshParams {
            tables: Self::tables_for(agreement, bits, pair_completeness),
            bits,
            lambda: 1,
            seed,
        }
    }

    /// The fewest tables of `bits` bits with `1 - (1 - agreement^bits)^L >= pair_completeness`
    /// (1 to 1024).
    pub fn tables_for(agreement: f64, bits: u32, pair_completeness: f64) -> u32 {
        let p = agreement.clamp(0.0, 0.999_999).powi(bits as i32);
        let target = pair_completeness.clamp(0.0, 0.999_999);
        let tables = ((1.0 - target).ln() / (1.0 - p).ln()).ceil();
        (tables as u32).clamp(1, 1024)
    }

    /// Probability that a pair agreeing on a share `agreement` of bits becomes a candidate:
    /// `P(at least λ of L tables collide)`, each colliding with probability `agreement^K`.
    pub fn collision_probability(&self, agreement: f64) -> f64 {
        let p = agreement.clamp(0.0, 1.0).powi(self.bits as i32);
        let l = self.tables as i32;
        // P(X >= λ) for X ~ Binomial(L, p).
        let mut below = 0.0;
        let mut term = (1.0 - p).powi(l); // P(X = 0)
        for x in 0..self.lambda as i32 {
            below += term;
            // P(X = x + 1) from P(X = x).
            term *= f64::from(l - x) / f64::from(x + 1) * p / (1.0 - p).max(f64::MIN_POSITIVE);
        }
        (1.0 - below).clamp(0.0, 1.0)
    }

    /// The sampled bit positions of each table, drawn from the seed (distinct within a table).
    pub fn positions(&self, filter_bits: u32) -> Vec<Vec<u32>> {
        let mut rng = SplitMix(self.seed ^ 0x5050_524c_4c53_4821);
        let k = self.bits.min(filter_bits) as usize;
        (0..self.tables)
            .map(|_| {
                let mut chosen: Vec<u32> = Vec::with_capacity(k);
                while chosen.len() < k {
                    let p = (rng.next() % u64::from(filter_bits)) as u32;
                    if !chosen.contains(&p) {
                        chosen.push(p);
                    }
                }
                chosen
            })
            .collect()
    }

    /// A seed bound to the project: derived from the files' key fingerprint, so every run of
    /// the same project samples the same bits without anyone choosing them.
    pub fn seed_for(key_fingerprint: &[u8; 32]) -> u64 {
        let d = Sha256::new()
            .chain_update(b"pprl lsh seed\0")
            .chain_update(key_fingerprint)
            .finalize();
        u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
    }
}

/// splitmix64: a small, well-mixed generator for the sampled positions (not secret).
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The share of bit positions on which two filters of mean fill `fill` (share of bits set)
/// and Dice similarity `similarity` agree: they disagree on `2 f (1 - s)` of the bits.
pub fn agreement_at(fill: f64, similarity: f64) -> f64 {
    let f = fill.clamp(0.01, 0.99);
    1.0 - 2.0 * f * (1.0 - similarity.clamp(0.0, 1.0))
}

/// Which blocks to use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockingOptions {
    /// Use the keyed blocking keys stored in the files.
    pub keys: bool,
    /// Use Hamming LSH with these parameters.
    pub lsh: Option<LshParams>,
    /// A block is reported as oversized when it holds more than this share of either side's
    /// records (and at least 100 records).
    pub oversized_share: f64,
}

impl BlockingOptions {
    /// True if some blocking is configured.
    pub fn is_enabled(&self) -> bool {
        self.keys || self.lsh.is_some()
    }
}

/// Pairs up to which `auto` blocking compares everything: about ten seconds on two cores.
pub const AUTO_EXHAUSTIVE_PAIRS: u64 = 4_000_000_000;

/// Blocking as asked for on the command line, before the data is seen.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockingRequest {
    /// Use the files' keyed blocking keys.
    pub keys: bool,
    /// Use Hamming LSH.
    pub lsh: bool,
    /// Decide from the data: exhaustive up to [`AUTO_EXHAUSTIVE_PAIRS`], else the keys (if the
    /// files carry them) and LSH.
    pub auto: bool,
    /// LSH tables `L` (default: derived from the target pair completeness).
    pub lsh_tables: Option<u32>,
    /// LSH bits per table `K` (default: derived from the sizes of the data).
    pub lsh_bits: Option<u32>,
    /// LSH collisions needed, `λ`.
    pub lsh_lambda: u32,
    /// The Dice similarity at which LSH should still find pairs with probability
    /// `pair_completeness`; more similar pairs are found more surely. `None` (the default):
    /// the match's threshold, fixed or chosen automatically, so that pairs that can become
    /// links are found with at least that probability.
    pub lsh_similarity: Option<f64>,
    /// Target pair completeness for derived LSH parameters.
    pub pair_completeness: f64,
    /// See [`BlockingOptions::oversized_share`].
    pub oversized_share: f64,
}

impl Default for BlockingRequest {
    fn default() -> Self {
        BlockingRequest {
            keys: false,
            lsh: false,
            auto: false,
            lsh_tables: None,
            lsh_bits: None,
            lsh_lambda: 1,
            lsh_similarity: None,
            pair_completeness: 0.99,
            oversized_share: 0.01,
        }
    }
}

impl BlockingRequest {
    /// The blocking for two sides of `left` and `right` records (equal for deduplication)
    /// whose filters have a mean fill (share of bits set) `fill` and carry `key_count` block
    /// ids; `seed` places the LSH bits ([`LshParams::seed_for`]); `threshold` is the match's
    /// threshold, which LSH targets unless [`BlockingRequest::lsh_similarity`] is set.
    #[allow(clippy::too_many_arguments)]
    pub fn resolve(
        &self,
        left: usize,
        right: usize,
        pairs: u64,
        fill: f64,
        key_count: usize,
        seed: u64,
        threshold: f64,
    ) -> Result<BlockingOptions, MatchError> {
        let (keys, lsh) = if self.auto {
            if pairs <= AUTO_EXHAUSTIVE_PAIRS {
                (false, false)
            } else {
                (key_count > 0, true)
            }
        } else {
            (self.keys, self.lsh)
        };
        if keys && key_count == 0 {
            return Err(MatchError::NoBlockingKeys);
        }
        if self.lsh_lambda == 0 || self.lsh_tables.is_some_and(|t| t < self.lsh_lambda) {
            return Err(MatchError::BadLsh);
        }
        let lsh = lsh.then(|| {
            // Filters of fill f with Dice s disagree on 2f(1-s) of the bits; random ones on
            // 2f(1-f).
            let agreement = agreement_at(fill, self.lsh_similarity.unwrap_or(threshold));
            let f = fill.clamp(0.01, 0.99);
            let random = 1.0 - 2.0 * f * (1.0 - f);
            let mut p =
                LshParams::for_target(agreement, random, self.pair_completeness, left, right, seed);
            if let Some(bits) = self.lsh_bits {
                p.bits = bits.clamp(1, 64);
                p.tables = LshParams::tables_for(agreement, p.bits, self.pair_completeness);
            }
            if let Some(t) = self.lsh_tables {
                p.tables = t;
            }
            p.lambda = self.lsh_lambda.min(p.tables);
            p
        });
        Ok(BlockingOptions {
            keys,
            lsh,
            oversized_share: self.oversized_share,
        })
    }
}
