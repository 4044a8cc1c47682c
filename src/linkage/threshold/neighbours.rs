//! The raw material of the automatic threshold: each sampled record's `k` most similar records
//! of the other file (of its own file, for deduplication), and a sample of random pairs.
//!
//! Filters in (two [`FilterSet`]-able word arrays), [`SideNeighbours`] out. The scan runs the
//! ordinary candidate search ([`candidates::link`]) for chunks of sampled records against the
//! whole other side, at a *floor* low enough that nearly every record keeps `k` neighbours,
//! and keeps each record's best `k` (its own filter left out, for deduplication). The floor
//! is the score that about `50 k` of the other side's records reach for a typical record,
//! read from random pairs: it bounds the memory of the scan while leaving the tail that the
//! model needs (see the model in [`super`]). A record with fewer than `k` neighbours above the floor
//! keeps what it has, and the model treats the floor as its anchor.

use crate::filter::kernel::Kernel;
use crate::linkage::candidates::{self, CandidateOptions, FilterSet, Similarity};

/// Sampled records scanned per call of the candidate search (bounds its memory).
const CHUNK: usize = 512;
/// Random pairs scored to place the floor.
const RANDOM_PAIRS: usize = 20_000;

/// One record's nearest neighbours on the other side.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// The record's position in its file.
    pub index: u32,
    /// Its highest scores, descending, at most `k` (fewer when few partners reach the floor).
    pub scores: Vec<f64>,
    /// The partner of each score: its position in the other file (ties: lower first).
    pub partners: Vec<u32>,
}

/// One side: a sample of one file's records, each with its neighbours in another file (or in
/// the same file, for deduplication).
#[derive(Debug, Clone, PartialEq)]
pub struct SideNeighbours {
    /// Records of the scanned file in all; the sample is scaled up to it.
    pub population: u64,
    /// Records of the other file (the same file, for deduplication).
    pub others: u64,
    /// Neighbours kept per record at most.
    pub k: usize,
    /// Scores below this were not kept.
    pub floor: f64,
    /// One file against itself.
    pub same: bool,
    /// The sampled records, in file order.
    pub records: Vec<Neighbours>,
    /// Scores of random pairs between the two files (distinct records, for deduplication):
    /// almost all non-matches.
    pub random: Vec<f64>,
}

/// The similarity of two equally long filters: how `pprl match` rescores a pair that was not a
/// candidate (average-linkage clustering, the automatic threshold's samples).
pub fn pair_score(similarity: Similarity, a: &[u64], b: &[u64]) -> f64 {
    let common: u32 = a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
    let pa: u32 = a.iter().map(|x| x.count_ones()).sum();
    let pb: u32 = b.iter().map(|x| x.count_ones()).sum();
    similarity.score(common, pa, pb, a.len() as u32 * 64)
}

/// SplitMix64: reproducible draws for the random pairs.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// What one side's scan needs.
pub(crate) struct Scan<'a> {
    /// Filters of the scanned file, `words` per record.
    pub(crate) left: &'a [u64],
    /// Filters of the other file (the same slice for deduplication).
    pub(crate) right: &'a [u64],
    pub(crate) words: usize,
    pub(crate) same: bool,
    pub(crate) sample: usize,
    pub(crate) k: usize,
    /// The lowest floor allowed (the user's).
    pub(crate) min_floor: f64,
    pub(crate) similarity: Similarity,
}

impl Scan<'_> {
    /// Scans the side (see the module docs). Deterministic: independent of the thread count.
    pub(crate) fn run(&self, kernel: &Kernel, progress: &(dyn Fn(u64) + Sync)) -> SideNeighbours {
        let w = self.words;
        let (n, m) = (self.left.len() / w, self.right.len() / w);
        let random = self.random_pairs(n, m);
        let floor = self.floor(&random, m);
        let s = self.sample.min(n);
        let sampled: Vec<usize> = (0..s).map(|i| i * n / s.max(1)).collect();
        let right = FilterSet::new(self.right, w);
        let opts = CandidateOptions {
            threshold: floor,
            similarity: self.similarity,
            top_k: Some(self.k + usize::from(self.same)),
        };
        let mut records = Vec::with_capacity(s);
        for chunk in sampled.chunks(CHUNK) {
            let words: Vec<u64> = chunk
                .iter()
                .flat_map(|&i| self.left[i * w..(i + 1) * w].iter().copied())
                .collect();
            let left = FilterSet::new(&words, w);
            let (cands, _) = candidates::link(&left, &right, &opts, kernel, progress);
            // Candidates come sorted by (a, b): one run per sampled record.
            let mut lists: Vec<Vec<(f64, u32)>> = vec![Vec::new(); chunk.len()];
            for c in &cands {
                if self.same && c.b as usize == chunk[c.a as usize] {
                    continue;
                }
                lists[c.a as usize].push((c.score, c.b));
            }
            for (&index, mut list) in chunk.iter().zip(lists) {
                list.sort_unstable_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
                list.truncate(self.k);
                records.push(Neighbours {
                    index: index as u32,
                    scores: list.iter().map(|x| x.0).collect(),
                    partners: list.iter().map(|x| x.1).collect(),
                });
            }
        }
        SideNeighbours {
            population: n as u64,
            others: m as u64,
            k: self.k,
            floor,
            same: self.same,
            records,
            random,
        }
    }

    /// Scores of random pairs, ascending.
    fn random_pairs(&self, n: usize, m: usize) -> Vec<f64> {
        let w = self.words;
        if n == 0 || m == 0 || (self.same && n < 2) {
            return Vec::new();
        }
        let mut rng = SplitMix(0x005e_ed0f_a1e5 ^ ((n as u64) << 20) ^ m as u64);
        let mut out = Vec::with_capacity(RANDOM_PAIRS);
        while out.len() < RANDOM_PAIRS {
            let (i, j) = (rng.below(n), rng.below(m));
            if self.same && i == j {
                continue;
            }
            out.push(pair_score(
                self.similarity,
                &self.left[i * w..(i + 1) * w],
                &self.right[j * w..(j + 1) * w],
            ));
        }
        out.sort_unstable_by(f64::total_cmp);
        out
    }

    /// The floor: the random-pair score that about `50 k` of the `m` partners reach.
    fn floor(&self, random: &[f64], m: usize) -> f64 {
        if random.is_empty() {
            return self.min_floor;
        }
        let share = (50.0 * self.k as f64 / m.max(1) as f64).min(0.5);
        let at = ((1.0 - share) * (random.len() - 1) as f64) as usize;
        random[at].max(self.min_floor)
    }
}
