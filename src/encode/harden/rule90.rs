//! Wolfram's Rule 90: a filter in, a filter of the same length out, with
//! `c[i] = b[i-1] xor b[i+1]` (indices cyclic modulo the length).
//!
//! One step of the elementary cellular automaton, as in R PPRL's `WolframRule90` and
//! ul-mds/pprl's `rule_90`: every output bit depends on two input bits, so a token's positions
//! are smeared over their neighbours. It is linear and keyless.

/// Applies one Rule 90 step to `input` (bit `p` is bit `p % 64` of word `p / 64`) into `out`.
pub fn rule90(input: &[u64], out: &mut [u64]) {
    let n = input.len();
    debug_assert_eq!(out.len(), n, "rule 90 output size");
    for (w, o) in out.iter_mut().enumerate() {
        let prev = input[(w + n - 1) % n];
        let next = input[(w + 1) % n];
        // Bit i of `left` is input bit i-1; bit i of `right` is input bit i+1.
        let left = (input[w] << 1) | (prev >> 63);
        let right = (input[w] >> 1) | (next << 63);
        *o = left ^ right;
    }
}
