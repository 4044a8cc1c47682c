//! Bit-sliced filters: 256 filters of one side at a time as bit planes (plane `p` holds bit `p`
//! of all 256 filters), and the shared-bit test of one query against all 256 at once.
//!
//! In: filters (words by position, as [`crate::linkage`]'s `FilterSet` stores them) and a
//! query. Out: for each group of 256 filters, the mask of filters whose shared bits with the
//! query may reach a bound linear in their popcount (`c >= offset + slope * pb`, the shape of
//! Dice, Jaccard and Hamming thresholds), a superset of the exact answer that the caller then
//! scores exactly.
//!
//! # Why
//!
//! Counting `popcount(q & f)` filter by filter costs a popcount per word: on AVX2 (no vector
//! popcount) a nibble lookup of seven instructions per 256 bits. Sliced, the count of all 256
//! filters is the sum of the planes at the query's set bits, a vertical sum that carry-save
//! adders (Harley-Seal) do in about five bitwise instructions per plane, for 256 filters at
//! once. Where the query has more than half its bits set, the planes at its clear bits are
//! summed instead (`c = pb - popcount(!q & f)`), so the work is `min(p, bits - p)` planes per
//! 256 pairs whatever the threshold, with no pre-check to tune. The bound is compared in sliced
//! form too (a borrow chain over the counter's planes), so nothing leaves the vector registers
//! but one 256-bit mask per (query, group).
//!
//! Measured (Zen 3, 1 thread, FEBRL CLKs of 67% fill, 5k x 5k at Dice 0.8, `pprl bench match`):
//! 0.053-0.059 s CPU against 0.106-0.161 s for the nibble-lookup scan of `select_split`
//! (docs/benchmarks.md).

#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(test)]
mod tests;

/// Filters per group: the lanes of one plane.
pub(crate) const LANES: usize = 256;

/// One bit of 256 filters.
pub(crate) type Plane = [u64; 4];

/// Counter planes for filters of up to [`SMALL_BITS`] bits (values below `2^12`).
const SMALL_PLANES: usize = 12;
/// The widest filters counted with [`SMALL_PLANES`]: `3 * bits + 4 < 2^12`.
const SMALL_BITS: usize = 1363;
/// Counter planes for wider filters (values below `2^16`).
const LARGE_PLANES: usize = 16;
/// The widest filters this module counts: `3 * bits + 4 < 2^16`.
pub(crate) const MAX_BITS: usize = 21843;

/// The filters of one side, 256 at a time, as `bits + 1` planes per group (the last one all
/// zero: the padding of a query's plane list).
#[derive(Debug, Clone)]
pub(crate) struct SlicedSet {
    bits: usize,
    planes: Vec<Plane>,
}

impl SlicedSet {
    /// Slices `len` filters of `bits` bits; `word(j, w)` is word `w` of filter `j`.
    ///
    /// # Panics
    ///
    /// If `bits` is not a positive multiple of 64 or exceeds [`MAX_BITS`].
    #[allow(clippy::needless_range_loop)] // `quarter` picks both the filters and the plane word
    pub(crate) fn new(len: usize, bits: usize, word: impl Fn(usize, usize) -> u64) -> SlicedSet {
        assert!(
            bits > 0 && bits.is_multiple_of(64) && bits <= MAX_BITS,
            "sliceable width"
        );
        let words = bits / 64;
        let groups = len.div_ceil(LANES);
        let mut planes = vec![[0u64; 4]; groups * (bits + 1)];
        let mut block = [0u64; 64];
        for g in 0..groups {
            let group = &mut planes[g * (bits + 1)..(g + 1) * (bits + 1)];
            for quarter in 0..4 {
                let first = g * LANES + quarter * 64;
                for w in 0..words {
                    // Row 63 - r holds filter r: after the transpose, bit r of row c is
                    // filter r's bit 63 - c of this word.
                    for (r, row) in block.iter_mut().rev().enumerate() {
                        *row = if first + r < len {
                            word(first + r, w)
                        } else {
                            0
                        };
                    }
                    crate::filter::order::transpose(&mut block);
                    for (c, &row) in block.iter().enumerate() {
                        group[w * 64 + 63 - c][quarter] = row;
                    }
                }
            }
        }
        SlicedSet { bits, planes }
    }

    fn group(&self, g: usize) -> &[Plane] {
        &self.planes[g * (self.bits + 1)..(g + 1) * (self.bits + 1)]
    }
}

/// A query ready for [`Counter::pass`]: the byte offsets of the planes to sum (at its set bits,
/// or at its clear bits when more than half are set), padded to whole steps of 16 with the zero
/// plane.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlicedQuery {
    bits: usize,
    offsets: Vec<u32>,
    complement: bool,
    popcount: u32,
}

impl SlicedQuery {
    /// Prepares the filter `words` (reusing this query's buffer).
    pub(crate) fn set(&mut self, words: impl Iterator<Item = u64> + Clone) {
        let bits = words.clone().count() * 64;
        let popcount: u32 = words.clone().map(u64::count_ones).sum();
        let complement = popcount as usize * 2 > bits;
        self.offsets.clear();
        for (w, word) in words.enumerate() {
            let mut x = if complement { !word } else { word };
            while x != 0 {
                self.offsets
                    .push(((w * 64) as u32 + x.trailing_zeros()) * 32);
                x &= x - 1;
            }
        }
        while !self.offsets.len().is_multiple_of(16) {
            self.offsets.push(bits as u32 * 32);
        }
        self.bits = bits;
        self.complement = complement;
        self.popcount = popcount;
    }

    /// The query's popcount.
    pub(crate) fn popcount(&self) -> u32 {
        self.popcount
    }
}

/// Per-lane limits of one group for a bound of slope `slope`: `pass` compares a query's
/// counter with them.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    bits: usize,
    /// `floor(slope * pb) + c0` per lane, sliced (summing set bits: counter >= limit).
    direct: [Plane; LARGE_PLANES],
    /// `pb - floor(slope * pb) + c0` per lane, sliced (summing clear bits: counter <= limit).
    complement: [Plane; LARGE_PLANES],
}

impl Limits {
    /// The limits of the filters of popcounts `popcounts` (at most 256: one group) of `bits`
    /// bits, for a bound of slope `slope` in `[0, 1]`.
    pub(crate) fn new(popcounts: &[u32], bits: usize, slope: f64) -> Limits {
        let slope = if slope.is_nan() {
            0.0
        } else {
            slope.clamp(0.0, 1.0)
        };
        let c0 = c0(bits);
        let mut direct = [[0u64; 4]; LARGE_PLANES];
        let mut complement = [[0u64; 4]; LARGE_PLANES];
        for (lane, &pb) in popcounts.iter().enumerate().take(LANES) {
            let bj = (slope * f64::from(pb)) as u64;
            let (d, c) = (bj + c0, u64::from(pb) - bj.min(u64::from(pb)) + c0);
            for k in 0..LARGE_PLANES {
                direct[k][lane / 64] |= (d >> k & 1) << (lane % 64);
                complement[k][lane / 64] |= (c >> k & 1) << (lane % 64);
            }
        }
        Limits {
            bits,
            direct,
            complement,
        }
    }
}

/// The query's part of the bound: `trunc(offset) - 1`, clamped to `[-bits - 3, bits - 1]`
/// (a lane passes when `c >= this + floor(slope * pb)`; `trunc` is at most `ceil`, so a pair with
/// `c >= offset + slope * pb - 1` always passes).
fn query_bound(offset: f64, bits: usize) -> i64 {
    let offset = if offset.is_nan() { 0.0 } else { offset };
    offset.clamp(-(c0(bits) as f64) + 1.0, bits as f64) as i64 - 1
}

/// The constant that keeps every counter and limit non-negative: `bits + 2`.
fn c0(bits: usize) -> u64 {
    bits as u64 + 2
}

/// The sliced pass test, with the instruction set chosen once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// `[u64; 4]` planes in baseline code: the reference the tests hold the vector counter to
    /// (no scan uses it yet: not measured against the `POPCNT` and portable scans).
    #[cfg_attr(not(test), allow(dead_code))]
    Portable,
    /// `__m256i` planes (AVX2).
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Counter {
    /// The AVX2 counter where this CPU has AVX2 (and `POPCNT`, for [`Counter::and_count`]),
    /// else `None`.
    pub(crate) fn avx2() -> Option<Counter> {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("popcnt")
        {
            return Some(Counter::Avx2);
        }
        None
    }

    /// The lanes of group `g` of `set` whose shared bits `c` with `query` may reach
    /// `offset + slope * pb` (`limits` built for `slope` from the group's popcounts): every lane
    /// with `c >= floor(offset) + floor(slope * pb)` is set, so a lane that reaches the exact
    /// bound, up to one bit of rounding, is never missed. Lanes past the set's end are
    /// meaningless (the caller masks them).
    ///
    /// # Panics
    ///
    /// If the query, limits and set are of different widths.
    pub(crate) fn pass(
        self,
        set: &SlicedSet,
        g: usize,
        query: &SlicedQuery,
        offset: f64,
        limits: &Limits,
    ) -> Plane {
        assert!(
            query.bits == set.bits && limits.bits == set.bits,
            "one width throughout"
        );
        let planes = set.group(g);
        let bq = query_bound(offset, set.bits);
        let c0 = c0(set.bits) as i64;
        let (init, limit) = if query.complement {
            ((bq + c0) as u32, &limits.complement)
        } else {
            ((c0 - bq) as u32, &limits.direct)
        };
        let at_most = query.complement;
        // SAFETY: every offset was made by `SlicedQuery::set` for a filter of `set.bits` bits,
        // so it is at most `bits * 32`: within the group's `bits + 1` planes. The AVX2 variant
        // is only handed out where the CPU has AVX2.
        unsafe {
            match (self, set.bits <= SMALL_BITS) {
                (Counter::Portable, true) => {
                    pass_lanes::<Plane, SMALL_PLANES>(planes, &query.offsets, init, limit, at_most)
                }
                (Counter::Portable, false) => {
                    pass_lanes::<Plane, LARGE_PLANES>(planes, &query.offsets, init, limit, at_most)
                }
                #[cfg(target_arch = "x86_64")]
                (Counter::Avx2, small) => {
                    x86_64::pass(planes, &query.offsets, init, limit, at_most, small)
                }
            }
        }
    }

    /// `popcount(x & y)` over the common length of two filters' words: the exact count of a
    /// pair that [`Counter::pass`] let through, with `POPCNT` on the AVX2 counter (a plain
    /// `count_ones` in a build without `target-cpu` is a dozen instructions a word).
    #[inline]
    pub(crate) fn and_count(self, x: &[u64], y: &[u64]) -> u32 {
        match self {
            Counter::Portable => and_count_words(x, y),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the AVX2 counter is only handed out where the CPU has `POPCNT`.
            Counter::Avx2 => unsafe { x86_64::and_count(x, y) },
        }
    }
}

/// `popcount(x & y)` word by word, in whatever instructions the build targets.
#[inline(always)]
pub(crate) fn and_count_words(x: &[u64], y: &[u64]) -> u32 {
    x.iter().zip(y).map(|(p, q)| (p & q).count_ones()).sum()
}

/// Bitwise operations on 256 lanes, as a plane array or a vector register.
pub(crate) trait Lanes: Copy {
    /// All lanes zero or all one.
    fn splat(bit: bool) -> Self;
    /// Loads the plane `offset` bytes into `planes`.
    ///
    /// # Safety
    ///
    /// `offset + 32` must be within `planes`; the CPU must support the type's instructions.
    unsafe fn load(planes: *const Plane, offset: u32) -> Self;
    /// `a ^ b`.
    unsafe fn xor(self, other: Self) -> Self;
    /// `a & b`.
    unsafe fn and(self, other: Self) -> Self;
    /// `a | b`.
    unsafe fn or(self, other: Self) -> Self;
    /// `!a & b`.
    unsafe fn andnot(self, other: Self) -> Self;
    /// The lanes as a plane.
    unsafe fn plane(self) -> Plane;
}

impl Lanes for Plane {
    #[inline(always)]
    fn splat(bit: bool) -> Self {
        [if bit { u64::MAX } else { 0 }; 4]
    }
    #[inline(always)]
    unsafe fn load(planes: *const Plane, offset: u32) -> Self {
        // SAFETY: the caller keeps `offset` within `planes`.
        unsafe { *planes.byte_add(offset as usize) }
    }
    #[inline(always)]
    unsafe fn xor(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] ^ o[i])
    }
    #[inline(always)]
    unsafe fn and(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] & o[i])
    }
    #[inline(always)]
    unsafe fn or(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] | o[i])
    }
    #[inline(always)]
    unsafe fn andnot(self, o: Self) -> Self {
        std::array::from_fn(|i| !self[i] & o[i])
    }
    #[inline(always)]
    unsafe fn plane(self) -> Plane {
        self
    }
}

/// A carry-save adder: `(high, low)` with `a + b + c = 2 high + low` in every lane.
#[inline(always)]
unsafe fn csa<V: Lanes>(a: V, b: V, c: V) -> (V, V) {
    // SAFETY: as the caller's.
    unsafe {
        let u = a.xor(b);
        (a.and(b).or(u.and(c)), u.xor(c))
    }
}

/// The sliced counter `init + sum of the planes at offsets`, compared with `limit` (`>=`, or
/// `<=` when `at_most`): Harley-Seal over steps of 16 planes (fifteen carry-save adders keep
/// the ones, twos, fours and eights; each step's sixteens ripple into the high planes).
///
/// # Safety
///
/// Every offset within `planes`; `offsets.len()` a multiple of 16 (the rest is ignored); the
/// CPU supports `V`'s instructions.
#[inline(always)]
pub(crate) unsafe fn pass_lanes<V: Lanes, const P: usize>(
    planes: &[Plane],
    offsets: &[u32],
    init: u32,
    limit: &[Plane; LARGE_PLANES],
    at_most: bool,
) -> Plane {
    let bit = |k: usize| V::splat(init >> k & 1 == 1);
    let (mut ones, mut twos, mut fours, mut eights) = (bit(0), bit(1), bit(2), bit(3));
    let mut high = [V::splat(false); P];
    for (k, h) in high.iter_mut().enumerate().take(P - 4) {
        *h = bit(k + 4);
    }
    let base = planes.as_ptr();
    // SAFETY: the caller's contract.
    unsafe {
        let ld = |o: u32| V::load(base, o);
        for c in offsets.chunks_exact(16) {
            let (ta, o) = csa(ones, ld(c[0]), ld(c[1]));
            let (tb, o) = csa(o, ld(c[2]), ld(c[3]));
            let (fa, t) = csa(twos, ta, tb);
            let (ta, o) = csa(o, ld(c[4]), ld(c[5]));
            let (tb, o) = csa(o, ld(c[6]), ld(c[7]));
            let (fb, t) = csa(t, ta, tb);
            let (ea, f) = csa(fours, fa, fb);
            let (ta, o) = csa(o, ld(c[8]), ld(c[9]));
            let (tb, o) = csa(o, ld(c[10]), ld(c[11]));
            let (fa, t) = csa(t, ta, tb);
            let (ta, o) = csa(o, ld(c[12]), ld(c[13]));
            let (tb, o) = csa(o, ld(c[14]), ld(c[15]));
            let (fb, t) = csa(t, ta, tb);
            let (eb, f) = csa(f, fa, fb);
            let (mut x, e) = csa(eights, ea, eb);
            (ones, twos, fours, eights) = (o, t, f, e);
            for h in high.iter_mut().take(P - 4) {
                let carry = h.and(x);
                *h = h.xor(x);
                x = carry;
            }
        }
        // counter >= limit, from the lowest plane up: a higher plane that differs decides.
        let counter = [ones, twos, fours, eights];
        let mut ge = V::splat(true);
        for k in 0..P {
            let x = if k < 4 { counter[k] } else { high[k - 4] };
            let l = V::load(limit.as_ptr(), (k * 32) as u32);
            let (big, small) = if at_most { (l, x) } else { (x, l) };
            ge = small.andnot(big).or(big.xor(small).andnot(ge));
        }
        ge.plane()
    }
}
