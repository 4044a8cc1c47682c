//! Per-field common-bit counts of record pairs: two parties' records in the `field` layout
//! (`fields` filters of `field_words` words each, one after the other) and a list of pairs in,
//! `popcount(a_f & b_f)` for every pair and field out.
//!
//! This is what probabilistic linkage (`linkage::fs`) needs per candidate pair: one count per
//! field, from which, with each field filter's cached popcount, its Dice and comparison level
//! follow. One call covers a batch of pairs, so the dispatch through a function pointer, chosen
//! once at run time as for [`super::Kernel`], is paid per batch and never per pair; a record is
//! read once per pair with every field fused (contiguous words), and the next pairs' records are
//! prefetched, which matters when the pairs are random (estimating `u`) and the records do not
//! fit in cache.
//!
//! | [`FieldCounter`] kind | method |
//! |---|---|
//! | portable | `u64::count_ones` for baseline x86-64; the reference |
//! | `POPCNT` | the same loop compiled with `POPCNT`, plus `prefetcht0` of the pairs ahead |
//! | `avx2` | records of 1 to 8 fields of 8 words (512-bit field filters): per 256 bits a nibble-table popcount (`vpshufb`) summed per lane by `vpsadbw`, the fields' lane sums packed into 16-bit slots and reduced together; other shapes take the `POPCNT` loop |
//! | `avx512` | `vpopcntq` per 8-word vector; four fields' lane counts packed into 16-bit slots so one reduction sums them; records of 4 to 8 fields of 8 words take a loop with the number of fields fixed at compile time |
//!
//! A field filter is typically 4 to 16 words, so a vector kernel that reduced each field's
//! count on its own would spend as much on the horizontal sums as it saves (the reason
//! [`super::Kernel::add_counts_at`] is scalar). The AVX-512 kernel avoids that: a lane's count of
//! one word is at most 64, so four fields' lane counts, shifted into the four 16-bit slots of
//! each 64-bit lane, are summed over the lanes by one `reduce_add` without carries between
//! slots (a slot holds at most `8 * 64 * W / 8` for `W`-word fields, far below 65,536). Widths
//! that are not a multiple of 8 words take the `POPCNT` loop. The AVX2 kernel packs the same
//! way after `vpsadbw`. On AVX2-only CPUs it is the fast one: measured on Zen 3 (EPYC, KVM), the
//! `POPCNT` loop is bound by its two loads per word (about two a cycle there, so 64 cycles for
//! eight 512-bit fields), where the AVX2 kernel reads 256 bits a load; about 2.7x the pairs per
//! second at eight fields (docs/probabilistic.md). The `x86_64` module also hands out the
//! per-pair cores (`x86_64::fields_of_vectors`, `x86_64::avx2_field_counts!`) for loops
//! that keep the counts in registers (`linkage::fs::count`'s fused loop).

use std::fmt;

/// `(left, right, record_words, field_words, pairs, out)`; `unsafe` because an implementation
/// may use instructions the CPU lacks (a [`FieldCounter`] holds one only after checking).
type PairCountsFn = unsafe fn(&[u64], &[u64], usize, usize, &[(u32, u32)], &mut [u32]);

/// How far ahead (in pairs) the records of later pairs are prefetched.
pub(crate) const PREFETCH_AHEAD: usize = 8;

/// Per-field common-bit counts, with the instruction set chosen once for this CPU.
#[derive(Clone, Copy)]
pub struct FieldCounter {
    name: &'static str,
    counts: PairCountsFn,
}

impl FieldCounter {
    /// The fastest implementation this CPU supports: AVX-512, else AVX2 (but `POPCNT` on
    /// Intel cores, where it measured faster), else `POPCNT`, else portable.
    pub fn detect() -> FieldCounter {
        let order: &[&str] = if intel() {
            &["avx512", "popcnt"]
        } else {
            &["avx512", "avx2", "popcnt"]
        };
        order
            .iter()
            .find_map(|name| FieldCounter::by_name(name))
            .unwrap_or_else(FieldCounter::portable)
    }

    /// The implementation named `name` (`portable`, `popcnt`, `avx2`, `avx512`: see
    /// [`FieldCounter::name`]), if this CPU supports it; for benchmarks and tests that time
    /// or check one path.
    pub fn by_name(name: &str) -> Option<FieldCounter> {
        match name {
            "portable" => Some(FieldCounter::portable()),
            #[cfg(target_arch = "x86_64")]
            "popcnt" if std::arch::is_x86_feature_detected!("popcnt") => Some(FieldCounter {
                name: "popcnt",
                counts: x86_64::pair_counts,
            }),
            #[cfg(target_arch = "x86_64")]
            "avx2"
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("popcnt") =>
            {
                Some(FieldCounter {
                    name: "avx2",
                    counts: x86_64::pair_counts_avx2,
                })
            }
            #[cfg(target_arch = "x86_64")]
            "avx512"
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
                    && std::arch::is_x86_feature_detected!("popcnt") =>
            {
                Some(FieldCounter {
                    name: "avx512",
                    counts: x86_64::pair_counts_avx512,
                })
            }
            _ => None,
        }
    }

    /// The portable implementation, available everywhere (the reference in tests).
    pub fn portable() -> FieldCounter {
        FieldCounter {
            name: "portable",
            counts: portable_pair_counts,
        }
    }

    /// The implementation's short name (`portable`, `popcnt`, `avx2`, `avx512`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// For every pair `k = (a, b)` and field `f`, `out[k * fields + f] = popcount(left_a_f &
    /// right_b_f)`, where record `a` is `left[a * record_words..][..record_words]`, its field
    /// `f` the `field_words` words from `f * field_words`, and `fields = record_words /
    /// field_words`.
    ///
    /// # Panics
    ///
    /// If `field_words` is 0 or does not divide `record_words`, a side is not whole records,
    /// a pair names a record outside its side, or `out` is not `pairs.len() * fields` long.
    pub fn pair_counts(
        &self,
        left: &[u64],
        right: &[u64],
        record_words: usize,
        field_words: usize,
        pairs: &[(u32, u32)],
        out: &mut [u32],
    ) {
        assert!(
            field_words > 0 && record_words.is_multiple_of(field_words),
            "pair_counts: records are whole fields"
        );
        assert!(
            left.len().is_multiple_of(record_words) && right.len().is_multiple_of(record_words),
            "pair_counts: sides are whole records"
        );
        let fields = record_words / field_words;
        assert_eq!(
            Some(out.len()),
            pairs.len().checked_mul(fields),
            "pair_counts: one count per pair and field"
        );
        let (nl, nr) = (left.len() / record_words, right.len() / record_words);
        assert!(
            pairs
                .iter()
                .all(|&(a, b)| (a as usize) < nl && (b as usize) < nr),
            "pair_counts: every pair names records of the sides"
        );
        // SAFETY: `self.counts` is the portable function or one whose CPU feature `detect`
        // checked; implementations index the slices safely (the checks above only make the
        // panics precise).
        #[allow(unsafe_code)]
        unsafe {
            (self.counts)(left, right, record_words, field_words, pairs, out)
        }
    }
}

/// Whether this is an Intel CPU (the vendor string of CPUID leaf 0). On the Intel Xeon measured
/// (with its AVX-512 off) the `POPCNT` loop beat a nibble-table AVX2 loop, 28.6 against 23.0
/// M pairs/s at eight fields; on Zen 3 it is the other way round (module documentation).
fn intel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let id = std::arch::x86_64::__cpuid(0);
        let vendor = |s: &[u8; 4]| u32::from_le_bytes(*s);
        (id.ebx, id.edx, id.ecx) == (vendor(b"Genu"), vendor(b"ineI"), vendor(b"ntel"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

impl fmt::Debug for FieldCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldCounter")
            .field("name", &self.name)
            .finish()
    }
}

/// The loop every implementation compiles; `prefetch` is called with the records of the pair
/// [`PREFETCH_AHEAD`] places on. Field filters of 4, 8 and 16 words (256, 512 and 1024 bits)
/// take loops unrolled at compile time.
#[inline(always)]
fn pair_counts_inline(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    field_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
    prefetch: impl Fn(&[u64]),
) {
    let any = |ra: &[u64], rb: &[u64], out: &mut [u32]| fields_of(field_words, ra, rb, out);
    let (l, r, rw, p) = (left, right, record_words, pairs);
    match field_words {
        4 => each_pair(l, r, rw, p, out, prefetch, fields_of_width::<4>),
        8 => each_pair(l, r, rw, p, out, prefetch, fields_of_width::<8>),
        16 => each_pair(l, r, rw, p, out, prefetch, fields_of_width::<16>),
        _ => each_pair(l, r, rw, p, out, prefetch, any),
    }
}

/// `out[f] = popcount(a_f & b_f)` for the `W`-word fields of two records.
#[inline(always)]
fn fields_of_width<const W: usize>(ra: &[u64], rb: &[u64], out: &mut [u32]) {
    let (fa, fb) = (ra.as_chunks::<W>().0, rb.as_chunks::<W>().0);
    for ((o, fa), fb) in out.iter_mut().zip(fa).zip(fb) {
        let mut sum = 0;
        for w in 0..W {
            sum += (fa[w] & fb[w]).count_ones();
        }
        *o = sum;
    }
}

/// [`fields_of_width`] for any width.
#[inline(always)]
fn fields_of(field_words: usize, ra: &[u64], rb: &[u64], out: &mut [u32]) {
    let fields = ra
        .chunks_exact(field_words)
        .zip(rb.chunks_exact(field_words));
    for (o, (fa, fb)) in out.iter_mut().zip(fields) {
        *o = fa.iter().zip(fb).map(|(x, y)| (x & y).count_ones()).sum();
    }
}

/// Calls `count(record_a, record_b, out_k)` for every pair `k`, prefetching ahead.
#[inline(always)]
fn each_pair(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
    prefetch: impl Fn(&[u64]),
    count: impl Fn(&[u64], &[u64], &mut [u32]),
) {
    if pairs.is_empty() {
        return;
    }
    let fields = out.len() / pairs.len();
    for (k, (&(a, b), out)) in pairs.iter().zip(out.chunks_exact_mut(fields)).enumerate() {
        if let Some(&(na, nb)) = pairs.get(k + PREFETCH_AHEAD) {
            prefetch(&right[nb as usize * record_words..][..record_words]);
            if na != a {
                prefetch(&left[na as usize * record_words..][..record_words]);
            }
        }
        count(
            &left[a as usize * record_words..][..record_words],
            &right[b as usize * record_words..][..record_words],
            out,
        );
    }
}

/// The portable implementation.
///
/// # Safety
///
/// None needed; `unsafe` only to share [`PairCountsFn`]'s type.
#[allow(unsafe_code)]
unsafe fn portable_pair_counts(
    left: &[u64],
    right: &[u64],
    record_words: usize,
    field_words: usize,
    pairs: &[(u32, u32)],
    out: &mut [u32],
) {
    pair_counts_inline(left, right, record_words, field_words, pairs, out, |_| ());
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(left: &[u64], right: &[u64], rw: usize, fw: usize, pairs: &[(u32, u32)]) -> Vec<u32> {
        let mut out = Vec::new();
        for &(a, b) in pairs {
            for f in 0..rw / fw {
                let fa = &left[a as usize * rw + f * fw..][..fw];
                let fb = &right[b as usize * rw + f * fw..][..fw];
                out.push(fa.iter().zip(fb).map(|(x, y)| (x & y).count_ones()).sum());
            }
        }
        out
    }

    #[test]
    fn every_implementation_equals_the_naive_count() {
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state ^ (state >> 29)
        };
        for (fields, fw) in [
            (1, 1),
            (3, 2),
            (8, 8),
            (4, 8),
            (5, 8),
            (6, 8),
            (7, 8),
            (9, 8),
            (1, 8),
            (2, 8),
            (3, 8),
            (5, 16),
            (2, 7),
        ] {
            let rw = fields * fw;
            let left: Vec<u64> = (0..40 * rw).map(|_| next()).collect();
            let right: Vec<u64> = (0..30 * rw).map(|_| next() & next()).collect();
            let pairs: Vec<(u32, u32)> = (0..100)
                .map(|_| ((next() % 40) as u32, (next() % 30) as u32))
                .collect();
            let want = naive(&left, &right, rw, fw, &pairs);
            let named = ["portable", "popcnt", "avx2", "avx512"].map(FieldCounter::by_name);
            let counters = [Some(FieldCounter::detect())].into_iter().chain(named);
            for counter in counters.flatten() {
                let mut out = vec![0; pairs.len() * fields];
                counter.pair_counts(&left, &right, rw, fw, &pairs, &mut out);
                assert_eq!(out, want, "{} at {fields} x {fw}", counter.name());
            }
        }
    }

    #[test]
    fn by_name_gives_the_named_kind_or_none() {
        for name in ["portable", "popcnt", "avx2", "avx512"] {
            if let Some(counter) = FieldCounter::by_name(name) {
                assert_eq!(counter.name(), name);
            }
        }
        assert_eq!(
            FieldCounter::by_name("portable").map(|c| c.name()),
            Some("portable")
        );
        assert!(FieldCounter::by_name("sse9").is_none());
        let best = FieldCounter::detect();
        assert_eq!(
            FieldCounter::by_name(best.name()).map(|c| c.name()),
            Some(best.name())
        );
    }

    #[test]
    #[should_panic(expected = "every pair names records")]
    fn a_pair_outside_the_records_panics() {
        let side = vec![0u64; 4];
        let mut out = vec![0; 2];
        FieldCounter::detect().pair_counts(&side, &side, 4, 2, &[(1, 0)], &mut out);
    }
}
