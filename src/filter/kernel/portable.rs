//! The portable kernel: `u64::count_ones` in plain Rust.
//!
//! Built for the baseline target, so on x86-64 `count_ones` becomes a bit-twiddling sequence
//! rather than the `POPCNT` instruction. It is the reference every other kernel is tested
//! against, and the loop the `POPCNT` kernel reuses: [`and_counts_inline`] is
//! `#[inline(always)]`, so `x86_64::popcnt` compiles this same code inside a function with the
//! `popcnt` target feature and gets the instruction.

use super::LinearBound;

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
/// stored as two halves, back half `j` being `back[j * back_stride..][..back_words]` (see
/// `Kernel::and_counts_split_strided`), without any CPU feature beyond the baseline. Lengths
/// are checked by the caller; both widths are at least 1.
#[allow(clippy::too_many_arguments)]
pub(super) fn and_counts_split(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    front_words: usize,
    back_words: usize,
    back_stride: usize,
    out: &mut [u32],
) {
    and_counts_split_inline(
        query_front,
        query_back,
        front,
        back,
        (front_words, back_words, back_stride),
        out,
    );
}

/// [`and_counts_split`], always inlined so that it takes on the target features of its caller.
/// `shape` is `(front_words, back_words, back_stride)`.
#[inline(always)]
pub(super) fn and_counts_split_inline(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    shape: (usize, usize, usize),
    out: &mut [u32],
) {
    match shape {
        (4, 4, 4) => fixed_split::<4, 4, 4>(query_front, query_back, front, back, out),
        (8, 8, 8) => fixed_split::<8, 8, 8>(query_front, query_back, front, back, out),
        (16, 16, 16) => fixed_split::<16, 16, 16>(query_front, query_back, front, back, out),
        (32, 32, 32) => fixed_split::<32, 32, 32>(query_front, query_back, front, back, out),
        (8, 4, 8) => fixed_split::<8, 4, 8>(query_front, query_back, front, back, out),
        (16, 8, 16) => fixed_split::<16, 8, 16>(query_front, query_back, front, back, out),
        (fw, bw, stride) => {
            let halves = front
                .chunks_exact(fw.max(1))
                .zip(back.chunks_exact(stride.max(1)));
            for ((f, b), count) in halves.zip(out.iter_mut()) {
                *count = and_count(query_front, f) + and_count(query_back, &b[..bw]);
            }
        }
    }
}

/// Halves of `F` and `B` words (the back `S` words apart), known at compile time.
#[inline(always)]
fn fixed_split<const F: usize, const B: usize, const S: usize>(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    out: &mut [u32],
) {
    let (Ok(qf), Ok(qb)) = (
        <&[u64; F]>::try_from(query_front),
        <&[u64; B]>::try_from(query_back),
    ) else {
        return;
    };
    let halves = front.chunks_exact(F).zip(back.chunks_exact(S));
    for ((f, b), count) in halves.zip(out.iter_mut()) {
        let (Ok(f), Ok(b)) = (<&[u64; F]>::try_from(f), <&[u64; B]>::try_from(&b[..B])) else {
            return; // `chunks_exact` yields whole halves: never taken
        };
        *count = and_count(qf, f) + and_count(qb, b);
    }
}

/// `out[k] += popcount(query & filter_k)` for the filters at `at[k]`, filter `i` being
/// `block[i * stride + offset..][..query.len()]`: the words a bound left unread, for the few
/// pairs that passed it. An index past the block panics (safe indexing); lengths are checked
/// by the caller.
pub(super) fn add_counts_at(
    query: &[u64],
    block: &[u64],
    stride: usize,
    offset: usize,
    at: &[u32],
    out: &mut [u32],
) {
    add_counts_at_inline(query, block, stride, offset, at, out);
}

/// [`add_counts_at`], always inlined so that it takes on the target features of its caller.
#[inline(always)]
pub(super) fn add_counts_at_inline(
    query: &[u64],
    block: &[u64],
    stride: usize,
    offset: usize,
    at: &[u32],
    out: &mut [u32],
) {
    match query.len() {
        4 => fixed_at::<4>(query, block, stride, offset, at, out),
        8 => fixed_at::<8>(query, block, stride, offset, at, out),
        words => {
            for (&i, count) in at.iter().zip(out.iter_mut()) {
                let start = i as usize * stride + offset;
                *count += and_count(query, &block[start..start + words]);
            }
        }
    }
}

/// [`add_counts_at`] with `W` words known at compile time.
#[inline(always)]
fn fixed_at<const W: usize>(
    query: &[u64],
    block: &[u64],
    stride: usize,
    offset: usize,
    at: &[u32],
    out: &mut [u32],
) {
    let Ok(q) = <&[u64; W]>::try_from(query) else {
        return;
    };
    for (&i, count) in at.iter().zip(out.iter_mut()) {
        let start = i as usize * stride + offset;
        let Ok(f) = <&[u64; W]>::try_from(&block[start..start + W]) else {
            return; // a range of W words: never taken
        };
        *count += and_count(q, f);
    }
}

/// `Kernel::select_split` without any CPU feature beyond the baseline: per filter, the prefix
/// count, the rest bound, the bound, and the rest for the survivors. Lengths are checked by the
/// caller.
#[allow(clippy::too_many_arguments)]
pub(super) fn select_split(
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
    select_split_inline(
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

/// The query's back-word popcounts for a select kernel, zero on the `counted` words (at most
/// 16 back words), and their sum: what the unread words of the query can add at most.
#[inline(always)]
pub(super) fn query_rest_pcs(query_back: &[u64], counted: usize) -> ([u8; 16], u32) {
    let mut query_pcs = [0u8; 16];
    for (k, w) in query_back.iter().enumerate().skip(counted) {
        query_pcs[k] = w.count_ones() as u8;
    }
    let rest = query_pcs.iter().map(|&q| u32::from(q)).sum();
    (query_pcs, rest)
}

/// The rest bound of one filter: over the uncounted back words, `min(query word popcount,
/// partner word popcount)` summed (`query_pcs` and `partner_pcs` cover the same words;
/// `partner_pcs` empty: the query's popcounts alone).
#[inline(always)]
pub(super) fn rest_bound(query_pcs: &[u8], partner_pcs: &[u8]) -> u32 {
    if partner_pcs.is_empty() {
        query_pcs.iter().map(|&q| u32::from(q)).sum()
    } else {
        query_pcs
            .iter()
            .zip(partner_pcs)
            .map(|(&q, &p)| u32::from(q.min(p)))
            .sum()
    }
}

/// The partner popcounts of filter `j`'s back words `counted..bw`, or nothing.
#[inline(always)]
pub(super) fn partner_pcs(back_pcs: &[u8], j: usize, bw: usize, counted: usize) -> &[u8] {
    if back_pcs.is_empty() {
        &[]
    } else {
        &back_pcs[j * bw + counted..(j + 1) * bw]
    }
}

/// [`select_split`], always inlined so that it takes on the target features of its caller
/// (the `POPCNT` kind, and the vector kinds for shapes they do not specialise). The common
/// 1024-bit shapes get fixed widths.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn select_split_inline(
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
    let (qf, qb) = (query_front, query_back);
    let (f, b, bp, p) = (front, back, back_pcs, popcounts);
    match (qf.len(), qb.len(), counted) {
        (8, 8, 0) => select_fixed::<8, 0, 8>(qf, qb, f, b, bp, p, bound, at, common),
        (8, 8, 4) => select_fixed::<8, 4, 4>(qf, qb, f, b, bp, p, bound, at, common),
        (8, 8, 8) => select_fixed::<8, 8, 0>(qf, qb, f, b, bp, p, bound, at, common),
        (fw, bw, counted) => {
            let mut n = 0;
            for (j, &pj) in p.iter().enumerate() {
                let (fj, bj) = (&f[j * fw..(j + 1) * fw], &b[j * bw..(j + 1) * bw]);
                let prefix = and_count(qf, fj) + and_count(&qb[..counted], &bj[..counted]);
                // The query's word popcounts again per filter: no buffer for a width of any size.
                let partner = partner_pcs(bp, j, bw, counted);
                let rest: u32 = qb[counted..]
                    .iter()
                    .enumerate()
                    .map(|(k, w)| {
                        partner
                            .get(k)
                            .map_or(w.count_ones(), |&p| w.count_ones().min(u32::from(p)))
                    })
                    .sum();
                if bound.passes(prefix + rest, pj) {
                    at[n] = j as u32;
                    common[n] = prefix + and_count(&qb[counted..], &bj[counted..]);
                    n += 1;
                }
            }
            n
        }
    }
}

/// [`select_split_inline`] with a front of `F` words, `C` counted back words and `R` more.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn select_fixed<const F: usize, const C: usize, const R: usize>(
    query_front: &[u64],
    query_back: &[u64],
    front: &[u64],
    back: &[u64],
    back_pcs: &[u8],
    popcounts: &[u32],
    bound: LinearBound,
    at: &mut [u32],
    common: &mut [u32],
) -> usize {
    let (Ok(qf), Ok(qc), Ok(qr)) = (
        <&[u64; F]>::try_from(query_front),
        <&[u64; C]>::try_from(&query_back[..C]),
        <&[u64; R]>::try_from(&query_back[C..]),
    ) else {
        return 0;
    };
    let query_pcs: [u8; R] = std::array::from_fn(|k| qr[k].count_ones() as u8);
    let mut n = 0;
    let filters = front.chunks_exact(F).zip(back.chunks_exact(C + R));
    for (j, ((f, b), &pj)) in filters.zip(popcounts).enumerate() {
        let prefix = and_count(qf, f) + and_count(qc, &b[..C]);
        let rest = rest_bound(&query_pcs, partner_pcs(back_pcs, j, C + R, C));
        if bound.passes(prefix + rest, pj) {
            at[n] = j as u32;
            common[n] = prefix + and_count(qr, &b[C..]);
            n += 1;
        }
    }
    n
}
