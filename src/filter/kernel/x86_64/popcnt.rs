//! The scalar kernel with the `POPCNT` instruction.
//!
//! The loop is the portable one ([`super::super::portable::and_counts_inline`], always
//! inlined); compiling it inside a `#[target_feature(enable = "popcnt")]` function is what turns
//! each `count_ones` into one `popcnt`.

// The crate warns on `unsafe_code`. This module must declare an `unsafe fn`: calling a
// `#[target_feature]` function on a CPU without that feature is undefined behaviour, so the
// entry point is `unsafe` and only `KernelKind::function` calls it, after the feature check.
#![allow(unsafe_code)]

use super::super::{LinearBound, portable};

/// `out[j] = popcount(query & filter_j)` for every filter of `block` (`words` words each).
///
/// # Safety
///
/// The CPU must support `POPCNT` (see `super::popcnt_available`). Slices are only read and
/// written through safe indexing, so lengths are not a safety condition.
#[target_feature(enable = "popcnt")]
pub(in crate::filter::kernel) unsafe fn and_counts(
    query: &[u64],
    block: &[u64],
    words: usize,
    out: &mut [u32],
) {
    portable::and_counts_inline(query, block, words, out);
}

/// `out[j] = popcount(query_front & front_j) + popcount(query_back & back_j)` (see
/// `Kernel::and_counts_split_strided`).
///
/// # Safety
///
/// As [`and_counts`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "popcnt")]
pub(in crate::filter::kernel) unsafe fn and_counts_split(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    front_words: usize,
    back_words: usize,
    back_stride: usize,
    out: &mut [u32],
) {
    portable::and_counts_split_inline(
        query_front,
        query_back,
        front,
        back,
        (front_words, back_words, back_stride),
        out,
    );
}

/// `out[k] += popcount(query & filter_k)` for the filters at `at[k]` (see
/// `Kernel::add_counts_at`). Also the AVX2 and AVX-512 kinds' implementation: a survivor's
/// rest is one or two vectors' worth of words, which four to eight `POPCNT`s count faster
/// than a vector reduction would.
///
/// # Safety
///
/// As [`and_counts`].
#[target_feature(enable = "popcnt")]
pub(in crate::filter::kernel) unsafe fn add_counts_at(
    query: &[u64],
    block: &[u64],
    stride: usize,
    offset: usize,
    at: &[u32],
    out: &mut [u32],
) {
    portable::add_counts_at_inline(query, block, stride, offset, at, out);
}

/// `Kernel::select_split` with `POPCNT`: the portable loop compiled with the instruction.
///
/// # Safety
///
/// As [`and_counts`].
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "popcnt")]
pub(in crate::filter::kernel) unsafe fn select_split(
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
    portable::select_split_inline(
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
