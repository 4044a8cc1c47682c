//! The portable kernel: `u64::count_ones` in plain Rust.
//!
//! Built for the baseline target, so on x86-64 `count_ones` becomes a bit-twiddling sequence
//! rather than the `POPCNT` instruction. It is the reference every other kernel is tested
//! against, and the loop the `POPCNT` kernel reuses: [`and_counts_inline`] is
//! `#[inline(always)]`, so `x86_64::popcnt` compiles this same code inside a function with the
//! `popcnt` target feature and gets the instruction.

/// `out[j] = popcount(query & filter_j)` for every filter of `block`, without any CPU feature
/// beyond the baseline.
///
/// Takes any `words >= 1`; `query.len() == words` and `block.len() == out.len() * words` are
/// checked by the caller (a shorter slice gives fewer counts, never a wrong access).
pub(super) fn and_counts(query: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
    and_counts_inline(query, block, words, out);
}

/// [`and_counts`], always inlined so that it takes on the target features of its caller.
#[inline(always)]
pub(super) fn and_counts_inline(query: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
    match words {
        8 => fixed::<8>(query, block, out),
        16 => fixed::<16>(query, block, out),
        32 => fixed::<32>(query, block, out),
        64 => fixed::<64>(query, block, out),
        _ => any_width(query, block, words, out),
    }
}

/// `W` known at compile time: the loop over words unrolls completely.
#[inline(always)]
fn fixed<const W: usize>(query: &[u64], block: &[u64], out: &mut [u32]) {
    let Ok(query) = <&[u64; W]>::try_from(query) else {
        return;
    };
    for (filter, count) in block.chunks_exact(W).zip(out.iter_mut()) {
        let Ok(filter) = <&[u64; W]>::try_from(filter) else {
            return; // `chunks_exact(W)` yields W words: never taken
        };
        *count = and_count(query, filter);
    }
}

/// Any width.
#[inline(always)]
fn any_width(query: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
    for (filter, count) in block.chunks_exact(words).zip(out.iter_mut()) {
        *count = and_count(query, filter);
    }
}

/// `popcount(a & b)` over two equally long word slices.
#[inline(always)]
fn and_count(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// `out[j] = popcount(query_front & front_j) + popcount(query_back & back_j)` for filters
/// stored as two halves (see `Kernel::and_counts_split`), without any CPU feature beyond the
/// baseline. Lengths are checked by the caller.
pub(super) fn and_counts_split(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    front_words: usize,
    back_words: usize,
    out: &mut [u32],
) {
    and_counts_split_inline(
        query_front,
        query_back,
        front,
        back,
        front_words,
        back_words,
        out,
    );
}

/// [`and_counts_split`], always inlined so that it takes on the target features of its caller.
#[inline(always)]
pub(super) fn and_counts_split_inline(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    front_words: usize,
    back_words: usize,
    out: &mut [u32],
) {
    match (front_words, back_words) {
        (4, 4) => fixed_split::<4>(query_front, query_back, front, back, out),
        (8, 8) => fixed_split::<8>(query_front, query_back, front, back, out),
        (16, 16) => fixed_split::<16>(query_front, query_back, front, back, out),
        (32, 32) => fixed_split::<32>(query_front, query_back, front, back, out),
        _ => {
            let halves = front
                .chunks_exact(front_words)
                .zip(back.chunks_exact(back_words));
            for ((f, b), count) in halves.zip(out.iter_mut()) {
                *count = and_count(query_front, f) + and_count(query_back, b);
            }
        }
    }
}

/// Two halves of `W` words each, `W` known at compile time.
#[inline(always)]
fn fixed_split<const W: usize>(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    out: &mut [u32],
) {
    let (Ok(qf), Ok(qb)) = (
        <&[u64; W]>::try_from(query_front),
        <&[u64; W]>::try_from(query_back),
    ) else {
        return;
    };
    let halves = front.chunks_exact(W).zip(back.chunks_exact(W));
    for ((f, b), count) in halves.zip(out.iter_mut()) {
        let (Ok(f), Ok(b)) = (<&[u64; W]>::try_from(f), <&[u64; W]>::try_from(b)) else {
            return; // `chunks_exact(W)` yields W words: never taken
        };
        *count = and_count(qf, f) + and_count(qb, b);
    }
}
