//! Counter-based randomness: every random choice is a pure function of the seed and of what is
//! being chosen (which person, which party's copy, which corruption), never of the order in
//! which records are generated.
//!
//! That is what lets any record be generated alone, on any thread, in any order, and still come
//! out byte for byte the same. The generator is written here rather than taken from a crate so
//! that a dependency upgrade can never change the populations an old seed produces: published
//! experiments stay reproducible.
//!
//! The mixer is SplitMix64's finaliser (Steele, Lea & Flood 2014), which passes BigCrush as a
//! stream generator; statistical quality far beyond what a synthetic population needs.

/// SplitMix64's increment (2^64 / golden ratio).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finaliser: a bijective mix in which every input bit affects every output bit.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A key naming one random decision: the seed followed by labels and indices.
#[inline]
pub(crate) fn key(parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(GOLDEN, |h, &p| mix64(h ^ p).wrapping_add(GOLDEN))
}

/// A SplitMix64 stream started from a [`key`].
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// The stream for `key`.
    #[inline]
    pub(crate) fn new(key: u64) -> Rng {
        Rng { state: key }
    }

    /// The stream of one sub-decision of `key` (a corruption operator of one record copy, say),
    /// independent of the streams of its siblings.
    #[inline]
    pub(crate) fn sub(key: u64, label: u64) -> Rng {
        Rng::new(mix64(key ^ mix64(label.wrapping_add(GOLDEN))))
    }

    /// The next 64 random bits.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// Uniform in `0..n` (`n > 0`), by a multiply-shift (Lemire 2019) whose bias, at most
    /// `n / 2^64`, is far below anything a population can show.
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)` with 53 random bits: exact IEEE arithmetic, so the same on every
    /// platform.
    #[inline]
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// A uniformly chosen element of a non-empty slice.
    #[inline]
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A keyed pseudo-random permutation of `0..n`: a four-round Feistel network over the
/// smallest power-of-four domain that holds `n`, with cycle walking for the values beyond `n`.
///
/// It shuffles each party's rows without holding a shuffled array (constant memory for any
/// size), and it can be inverted, which is how the truth file finds the row of a person in the
/// other party.
#[derive(Debug, Clone)]
pub(crate) struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; 4],
}

impl Permutation {
    /// The permutation of `0..n` for `key`.
    pub(crate) fn new(n: u64, key: u64) -> Permutation {
        let mut half_bits = 1;
        while half_bits < 32 && (1u64 << (2 * half_bits)) < n {
            half_bits += 1;
        }
        let keys = [1, 2, 3, 4].map(|r| mix64(key ^ mix64(r)));
        Permutation { n, half_bits, keys }
    }

    #[inline]
    fn round(&self, r: usize, x: u64) -> u64 {
        mix64(x ^ self.keys[r]) & ((1u64 << self.half_bits) - 1)
    }

    /// Where `x` (in `0..n`) goes.
    #[inline]
    pub(crate) fn apply(&self, mut x: u64) -> u64 {
        debug_assert!(x < self.n);
        let mask = (1u64 << self.half_bits) - 1;
        loop {
            let (mut l, mut r) = (x >> self.half_bits, x & mask);
            for k in 0..4 {
                (l, r) = (r, l ^ self.round(k, r));
            }
            x = (l << self.half_bits) | r;
            if x < self.n {
                return x;
            }
        }
    }

    /// Which `x` goes to `y` (in `0..n`).
    #[inline]
    pub(crate) fn invert(&self, mut y: u64) -> u64 {
        debug_assert!(y < self.n);
        let mask = (1u64 << self.half_bits) - 1;
        loop {
            let (mut l, mut r) = (y >> self.half_bits, y & mask);
            for k in (0..4).rev() {
                (l, r) = (r ^ self.round(k, l), l);
            }
            y = (l << self.half_bits) | r;
            if y < self.n {
                return y;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection_and_inverts() {
        for n in [1u64, 2, 3, 4, 5, 17, 64, 1000, 4097] {
            let p = Permutation::new(n, key(&[7, n]));
            let mut seen = vec![false; n as usize];
            for x in 0..n {
                let y = p.apply(x);
                assert!(y < n);
                assert!(!seen[y as usize], "n={n}: {y} hit twice");
                seen[y as usize] = true;
                assert_eq!(p.invert(y), x);
            }
        }
    }

    #[test]
    fn permutation_shuffles() {
        // A shuffle of 10,000 rows leaves about one row in place; the identity leaves all.
        let p = Permutation::new(10_000, key(&[1]));
        let fixed = (0..10_000).filter(|&x| p.apply(x) == x).count();
        assert!(fixed < 10, "{fixed} fixed points");
        let q = Permutation::new(10_000, key(&[2]));
        let same = (0..10_000).filter(|&x| p.apply(x) == q.apply(x)).count();
        assert!(same < 10, "two keys agree on {same} rows");
    }

    #[test]
    fn below_and_chance_are_uniform() {
        let mut rng = Rng::new(key(&[42]));
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            counts[rng.below(10) as usize] += 1;
        }
        // Each count is Binomial(100000, 0.1): sd ~95; 6 sd is a failure no fair generator
        // produces.
        for c in counts {
            assert!((c as i64 - 10_000).abs() < 570, "{counts:?}");
        }
        let hits = (0..100_000).filter(|_| rng.chance(0.25)).count() as i64;
        assert!((hits - 25_000).abs() < 820, "{hits}");
        assert!(!(0..1000).any(|_| rng.chance(0.0)));
        assert!((0..1000).all(|_| rng.chance(1.0)));
    }

    #[test]
    fn keys_depend_on_every_part_and_their_order() {
        assert_ne!(key(&[1, 2]), key(&[2, 1]));
        assert_ne!(key(&[1, 2]), key(&[1, 2, 0]));
        assert_ne!(Rng::sub(5, 1).next_u64(), Rng::sub(5, 2).next_u64());
    }
}
