//! XOR folding: a filter of `m` bits in, `m / 2` bits out, `c[i] = b[i] xor b[i + m/2]`.
//!
//! Folding maps two positions onto one, so a set output bit no longer names one position of
//! one token (Schnell, Borgs & Encarnação 2016; clkhash's `xor_folds`). Its inverse is not
//! unique, which is the point; the cost is more collisions, hence a lower Dice contrast.

/// Folds `input` (a whole number of 64-bit words, an even number of them) into `out`
/// (half as many words).
pub fn xor_fold(input: &[u64], out: &mut [u64]) {
    let half = input.len() / 2;
    debug_assert_eq!(out.len(), half, "fold output size");
    let (lo, hi) = input.split_at(half);
    for ((o, a), b) in out.iter_mut().zip(lo).zip(hi) {
        *o = a ^ b;
    }
}
