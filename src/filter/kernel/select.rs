//! The fused scan step, [`Kernel::select_split`]: a prefix of every filter counted, the
//! counts compared with a [`LinearBound`] in vector registers, and the rest of each filter
//! counted only for the survivors. What flows in: one query (front and back halves), a block of
//! filters stored as halves, their popcounts and the bound; what flows out: the positions of the
//! survivors and their whole-filter shared bits.

use super::{Kernel, KernelKind};

/// A bound on a partner's counted shared bits that is linear in the partner's popcount: partner
/// `j` passes [`Kernel::select_split`] when `count_j as f32 >= offset + slope * popcount_j as
/// f32`, in single precision, the product rounded before the sum (no fused multiply-add), so
/// that every kernel selects exactly the same partners.
///
/// The shared bits a Dice, Jaccard or Hamming score needs are linear in the partner's popcount
/// for a fixed query, so one bound per (query, block) replaces a bound per partner; the caller
/// makes it conservative (a margin below the exact need) and decides each survivor exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearBound {
    /// The bound at popcount 0.
    pub offset: f32,
    /// What each bit of the partner's popcount adds to the bound.
    pub slope: f32,
}

impl LinearBound {
    /// A bound every partner passes.
    pub const ALL: LinearBound = LinearBound {
        offset: f32::NEG_INFINITY,
        slope: 0.0,
    };

    /// Whether a partner with popcount `popcount` and `count` counted shared bits passes.
    #[inline(always)]
    pub fn passes(&self, count: u32, popcount: u32) -> bool {
        count as f32 >= self.limit(popcount)
    }

    /// The bound for a partner of popcount `popcount`: `offset + slope * popcount` in `f32`.
    #[inline(always)]
    pub fn limit(&self, popcount: u32) -> f32 {
        let product = self.slope * popcount as f32;
        self.offset + product
    }
}

impl Kernel {
    /// Words per vector register of this kernel (1 for the scalar kinds, 4 for AVX2, 8 for
    /// AVX-512): a prefix of a filter costs what it costs rounded up to whole vectors, so a
    /// scan that counts part of each filter picks a prefix of whole vectors.
    pub fn vector_words(&self) -> usize {
        match self.kind {
            KernelKind::Portable | KernelKind::Popcnt => 1,
            KernelKind::Avx2 => 4,
            KernelKind::Avx512 => 8,
        }
    }

    /// The fused scan step: counts a prefix of every filter, keeps the filters whose count
    /// passes `bound`, and counts the rest of those only.
    ///
    /// Filter `j` is `front_j = front[j * fw..][..fw]` followed by `back_j = back[j * bw..][..bw]`
    /// (`fw = query_front.len()`, `bw = query_back.len()`; `bw = 0` when filters are not
    /// split). Its prefix count is `popcount(query_front & front_j) +
    /// popcount(query_back[..counted] & back_j[..counted])`, and its rest bound is the sum over
    /// the uncounted back words `k` of `min(popcount(query_back[k]), back_pcs[j * bw + k])`
    /// (what word `k` can add at most; `back_pcs` holds each back word's popcount, or is
    /// empty, and then the query's word popcounts alone bound the rest). For every `j` in order
    /// whose prefix count plus rest bound passes `bound` with popcount `popcounts[j]`
    /// ([`LinearBound::passes`]), the call
    /// writes `at[n] = j` and `common[n]` = the whole filter's `popcount(query & filter_j)`,
    /// and returns `n`, the number of filters written. With `counted = bw` the bound tests
    /// whole filters and nothing is read twice; with `counted = 0` it tests the front halves.
    ///
    /// This is what a scan did with [`Kernel::and_counts_split_strided`], a loop over the
    /// counts and [`Kernel::add_counts_at`], in one pass: the counts are compared with the bound
    /// in vector registers, and only the survivors leave them. Every kind returns the same
    /// survivors and counts.
    ///
    /// # Panics
    ///
    /// If `counted > bw`, `front` or `back` do not hold exactly `popcounts.len()` halves,
    /// `back_pcs` is neither empty nor one byte per back word, or `at` or `common` are shorter
    /// than `popcounts`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn select_split(
        &self,
        query_front: &[u64],
        query_back: &[u64],
        front: &[u64],
        back: &[u64],
        back_pcs: &[u8],
        counted: usize,
        popcounts: &[u32],
        bound: LinearBound,
        at: &mut [u32],
        common: &mut [u32],
    ) -> usize {
        let m = popcounts.len();
        assert!(
            counted <= query_back.len(),
            "select_split: counted words within the back half"
        );
        assert_eq!(
            Some(front.len()),
            m.checked_mul(query_front.len()),
            "select_split: one front half per popcount"
        );
        assert_eq!(
            Some(back.len()),
            m.checked_mul(query_back.len()),
            "select_split: one back half per popcount"
        );
        assert!(
            back_pcs.is_empty() || back_pcs.len() == back.len(),
            "select_split: one popcount per back word, or none"
        );
        assert!(
            at.len() >= m && common.len() >= m,
            "select_split: room for every filter"
        );
        if m == 0 {
            return 0;
        }
        // SAFETY: as for `and_counts`: the pointer comes from `KernelKind::function` after the
        // CPU check, and the lengths were checked above.
        #[allow(unsafe_code)]
        unsafe {
            (self.select_split)(
                query_front,
                query_back,
                front,
                back,
                back_pcs,
                counted,
                popcounts,
                bound,
                at,
                common,
            )
        }
    }
}
