//! Similarity kernels: `popcount(query & filter)` for one query against a block of filters,
//! with the instruction set chosen once at run time.
//!
//! # What a kernel computes
//!
//! Filters are `W` words of `u64` (`W * 64` bits; 16 words = 1024 bits is the common case), and
//! a *block* is many filters stored back to back in one `&[u64]`: filter `j` is
//! `block[j * W..(j + 1) * W]`. [`Kernel::and_counts`] writes `popcount(query & filter_j)` for
//! every filter of the block. With each filter's own popcount cached, that is all the Dice
//! coefficient `2|A & B| / (|A| + |B|)` needs, so the matcher never calls anything else per pair.
//!
//! # Why a kernel works per tile
//!
//! The fast kernels are compiled with `#[target_feature(enable = ...)]`, which the compiler
//! cannot inline into code built for baseline x86-64. Calling one per pair would pay a call
//! through a function pointer, argument checks and the loading of the query into registers for
//! every comparison, which costs as much as the comparison itself. So one call covers a whole
//! tile (one query against a block of filters, typically about 2,048 filters = 256 KiB, which
//! stays in L2): the dispatch, the length checks and the query loads happen once per tile, and
//! the inner loop runs entirely inside the ISA-specific code with the query held in registers.
//! The design notes measured the AVX-512 kernel at about twice the throughput over L2-sized
//! tiles as over one untiled database, which is why the caller, not the kernel, picks the tile.
//!
//! # Dispatch
//!
//! [`Kernel::detect`] looks at the CPU once (through `is_x86_feature_detected!`, which std
//! caches) and stores a plain function pointer to the best implementation; [`Kernel`] is `Copy`,
//! so a scorer builds it once and hands copies to its threads. Nothing is chosen per pair, and
//! the crate is never built with `-C target-cpu=native`: the binary runs on any x86-64 machine
//! and uses AVX2 or AVX-512 only where [`Kernel::detect`] found them. Each implementation
//! specialises the common widths (8, 16 and 32 words) with const generics so the query stays in
//! registers and loops unroll; every other width takes a general loop that is correct for any
//! `W >= 1`.
//!
//! | [`KernelKind`] | module | method |
//! |---|---|---|
//! | `Portable` | `portable.rs` | `u64::count_ones`, built for baseline x86-64 (no `POPCNT`); the reference |
//! | `Popcnt` | `x86_64/popcnt.rs` | the same loop compiled with the `POPCNT` instruction |
//! | `Avx2` | `x86_64/avx2.rs` | Muła's nibble lookup (`vpshufb`), byte sums by `vpsadbw` |
//! | `Avx512` | `x86_64/avx512.rs` | `vpopcntq` on 512-bit vectors, eight filters reduced together |
//!
//! On other architectures only `Portable` exists. On `aarch64` that is less of a loss than it
//! sounds: LLVM vectorises the 16-word loop with NEON `cnt` and `uaddlp` by itself (checked in
//! the generated assembly). A hand-written NEON kernel (byte counts accumulated, one `uaddlv`
//! per filter) would save the widening adds; it waits for aarch64 hardware to measure it on.
//!
//! # What it refuses to do
//!
//! No kernel allocates, locks or branches per pair on anything but the data. The safe entry
//! point checks slice lengths once per tile and panics on a mismatch rather than reading out of
//! bounds; `unsafe` code lives only in the ISA modules, behind `#[target_feature]`, and is
//! reachable only through a [`Kernel`] whose features were detected on this CPU.

use std::fmt;

pub use self::select::LinearBound;

mod portable;
mod select;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(test)]
mod gather_tests;
#[cfg(test)]
mod select_tests;
#[cfg(test)]
mod tests;

/// An implementation of the kernels, named by the instructions it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelKind {
    /// Plain `u64::count_ones` compiled for the baseline target: no `POPCNT` instruction on
    /// x86-64. Always available; the reference the others are tested against.
    Portable,
    /// The scalar loop compiled with the x86-64 `POPCNT` instruction.
    Popcnt,
    /// AVX2: Muła's `vpshufb` nibble-lookup popcount with `vpsadbw` accumulation. Needs AVX2 and
    /// `POPCNT` (used for the words of a width that is not a multiple of 4).
    Avx2,
    /// AVX-512F with AVX-512 VPOPCNTDQ: `vpopcntq` on 512-bit vectors.
    Avx512,
}

impl KernelKind {
    /// Every kind, from the slowest to the fastest; [`Kernel::detect`] picks the last available.
    pub const ALL: [KernelKind; 4] = [
        KernelKind::Portable,
        KernelKind::Popcnt,
        KernelKind::Avx2,
        KernelKind::Avx512,
    ];

    /// Short lowercase name (`portable`, `popcnt`, `avx2`, `avx512`), as shown by
    /// `pprl --version` and in benchmark output.
    pub fn name(self) -> &'static str {
        match self {
            KernelKind::Portable => "portable",
            KernelKind::Popcnt => "popcnt",
            KernelKind::Avx2 => "avx2",
            KernelKind::Avx512 => "avx512",
        }
    }

    /// Whether this CPU (and operating system, for the vector registers) supports the kind.
    pub fn is_available(self) -> bool {
        Self::function(self).is_some()
    }

    /// The implementations of `and_counts`, `and_counts_split`, `add_counts_at` and
    /// `select_split` for this kind, if the running CPU supports it. This is the only place
    /// that turns a feature check into function pointers.
    fn function(self) -> Option<Functions> {
        match self {
            KernelKind::Portable => Some((
                portable::and_counts,
                portable::and_counts_split,
                portable::add_counts_at,
                portable::select_split,
            )),
            #[cfg(target_arch = "x86_64")]
            KernelKind::Popcnt => x86_64::popcnt_available().then_some((
                x86_64::popcnt::and_counts,
                x86_64::popcnt::and_counts_split,
                x86_64::popcnt::add_counts_at,
                x86_64::popcnt::select_split,
            )),
            #[cfg(target_arch = "x86_64")]
            KernelKind::Avx2 => x86_64::avx2_available().then_some((
                x86_64::avx2::and_counts,
                x86_64::avx2::and_counts_split,
                x86_64::popcnt::add_counts_at,
                x86_64::avx2::select_split,
            )),
            #[cfg(target_arch = "x86_64")]
            KernelKind::Avx512 => x86_64::avx512_available().then_some((
                x86_64::avx512::and_counts,
                x86_64::avx512::and_counts_split,
                x86_64::popcnt::add_counts_at,
                x86_64::avx512::select_split,
            )),
            #[cfg(not(target_arch = "x86_64"))]
            KernelKind::Popcnt | KernelKind::Avx2 | KernelKind::Avx512 => None,
        }
    }
}

impl std::str::FromStr for KernelKind {
    type Err = KernelError;

    /// The kind of a [`KernelKind::name`].
    fn from_str(name: &str) -> Result<KernelKind, KernelError> {
        KernelKind::from_name(name)
    }
}

impl KernelKind {
    /// The kind named `name` ([`KernelKind::name`]: `portable`, `popcnt`, `avx2`, `avx512`).
    pub fn from_name(name: &str) -> Result<KernelKind, KernelError> {
        KernelKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| KernelError::Unknown(name.to_string()))
    }
}

crate::error_kinds! {
    /// What went wrong choosing a kernel by name.
    pub enum KernelErrorKind {
        /// No kernel has that name.
        Unknown => "kernel-unknown",
        /// This CPU cannot run the named kernel.
        Unavailable => "kernel-unavailable",
    }
}

/// A kernel that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// No kernel has that name.
    #[error("unknown kernel `{0}` (portable, popcnt, avx2, avx512)")]
    Unknown(String),
    /// This CPU cannot run it.
    #[error("this CPU cannot run the `{0}` kernel")]
    Unavailable(KernelKind),
}

impl KernelError {
    /// The error's kind.
    pub fn kind(&self) -> KernelErrorKind {
        match self {
            KernelError::Unknown(_) => KernelErrorKind::Unknown,
            KernelError::Unavailable(_) => KernelErrorKind::Unavailable,
        }
    }
}

impl crate::error::Coded for KernelError {
    fn code(&self) -> &'static str {
        self.kind().code()
    }
}

impl fmt::Display for KernelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The shape every implementation has: `(query, block, words, out)`.
///
/// `unsafe` because an implementation may use instructions the CPU lacks; a [`Kernel`] holds
/// one only after checking the CPU. Implementations access memory only through the slices, so
/// inconsistent lengths give wrong counts, never out-of-bounds access; the safe wrapper
/// rejects them anyway.
type AndCountsFn = unsafe fn(&[u64], &[u64], usize, &mut [u32]);

/// The shape of the split implementations: `(query_front, query_back, front, back,
/// front_words, back_words, back_stride, out)`, with the same safety contract as
/// [`AndCountsFn`]: back half `j` is `back[j * back_stride..][..back_words]`.
type AndCountsSplitFn = unsafe fn(&[u64], &[u64], &[u64], &[u64], usize, usize, usize, &mut [u32]);

/// The shape of the gather implementations: `(query, block, stride, offset, at, out)`, with
/// the same safety contract as [`AndCountsFn`] (see [`Kernel::add_counts_at`]).
type AddCountsAtFn = unsafe fn(&[u64], &[u64], usize, usize, &[u32], &mut [u32]);

/// The shape of the select implementations: `(query_front, query_back, front, back, back_pcs,
/// counted, popcounts, bound, at, common)`, returning how many partners were selected, with the same
/// safety contract as [`AndCountsFn`] (see [`Kernel::select_split`]).
type SelectFn = unsafe fn(
    &[u64],
    &[u64],
    &[u64],
    &[u64],
    &[u8],
    usize,
    &[u32],
    LinearBound,
    &mut [u32],
    &mut [u32],
) -> usize;

/// One kind's four entry points.
type Functions = (AndCountsFn, AndCountsSplitFn, AddCountsAtFn, SelectFn);

/// A similarity kernel chosen for this CPU: build it once (with [`Kernel::detect`]) and call it
/// per tile.
///
/// `Kernel` is a kind plus a function pointer, so it is `Copy` and cheap to hand to every
/// thread. It can only be built for a kind the running CPU supports, which is what makes
/// [`Kernel::and_counts`] safe.
#[derive(Clone, Copy)]
pub struct Kernel {
    kind: KernelKind,
    and_counts: AndCountsFn,
    and_counts_split: AndCountsSplitFn,
    add_counts_at: AddCountsAtFn,
    select_split: SelectFn,
}

impl Kernel {
    /// The fastest kernel this CPU supports (AVX-512 VPOPCNTDQ, then AVX2, then `POPCNT`, then
    /// portable).
    pub fn detect() -> Kernel {
        KernelKind::ALL
            .iter()
            .rev()
            .find_map(|&kind| Kernel::new(kind))
            .unwrap_or_else(Kernel::portable)
    }

    /// The kernel of the given kind, or `None` if this CPU does not support it.
    pub fn new(kind: KernelKind) -> Option<Kernel> {
        kind.function().map(
            |(and_counts, and_counts_split, add_counts_at, select_split)| Kernel {
                kind,
                and_counts,
                and_counts_split,
                add_counts_at,
                select_split,
            },
        )
    }

    /// The kernel named `name` ([`KernelKind::name`]), if this CPU can run it.
    pub fn by_name(name: &str) -> Result<Kernel, KernelError> {
        let kind = KernelKind::from_name(name)?;
        Kernel::new(kind).ok_or(KernelError::Unavailable(kind))
    }

    /// The portable kernel, available everywhere.
    pub fn portable() -> Kernel {
        Kernel {
            kind: KernelKind::Portable,
            and_counts: portable::and_counts,
            and_counts_split: portable::and_counts_split,
            add_counts_at: portable::add_counts_at,
            select_split: portable::select_split,
        }
    }

    /// The kinds this CPU supports, from the slowest to the fastest.
    pub fn available() -> Vec<KernelKind> {
        KernelKind::ALL
            .into_iter()
            .filter(|kind| kind.is_available())
            .collect()
    }

    /// Which implementation this is.
    pub fn kind(&self) -> KernelKind {
        self.kind
    }

    /// The implementation's short name, as [`KernelKind::name`].
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// For every filter `j` of `block`, `out[j] = popcount(query & filter_j)`, where filter `j`
    /// is `block[j * words..(j + 1) * words]`.
    ///
    /// One call is one tile: call it with a block of a few thousand filters (about 256 KiB fits
    /// L2), not per pair. Any `words >= 1` works; 8, 16 and 32 words take specialised loops.
    /// With `words == 0` every filter is empty and `out` is filled with zeros.
    ///
    /// # Panics
    ///
    /// If `query.len() != words` or `block.len() != out.len() * words`.
    #[inline]
    pub fn and_counts(&self, query: &[u64], block: &[u64], words: usize, out: &mut [u32]) {
        assert_eq!(
            query.len(),
            words,
            "and_counts: the query must have `words` words"
        );
        assert_eq!(
            Some(block.len()),
            out.len().checked_mul(words),
            "and_counts: the block must hold exactly `out.len()` filters of `words` words"
        );
        if words == 0 {
            out.fill(0);
            return;
        }
        // SAFETY: `self.and_counts` was taken from `KernelKind::function`, which returns an
        // implementation only after checking that this CPU supports its instructions, and
        // `Kernel` has no other constructor. The lengths were checked above.
        #[allow(unsafe_code)]
        unsafe {
            (self.and_counts)(query, block, words, out)
        }
    }
}

impl Kernel {
    /// For every filter `j` stored as two halves, `out[j] = popcount(query_front & front_j) +
    /// popcount(query_back & back_j)`, where `front_j = front[j * front_words..(j + 1) *
    /// front_words]` and `back_j` likewise with `back_words`: the whole filter's
    /// [`Kernel::and_counts`] when its halves live in two arrays, in one pass with one reduction
    /// per filter (the AVX2 kernel accumulates both halves' byte counts before `vpsadbw`).
    ///
    /// `back_words == 0` is [`Kernel::and_counts`] on the front halves. Equal halves of 4, 8,
    /// 16 and 32 words take specialised loops.
    ///
    /// # Panics
    ///
    /// If the query halves are not `front_words` and `back_words` long, or `front` and `back`
    /// do not hold exactly `out.len()` halves.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn and_counts_split(
        &self,
        query_front: &[u64],
        query_back: &[u64],
        front: &[u64],
        back: &[u64],
        front_words: usize,
        back_words: usize,
        out: &mut [u32],
    ) {
        self.and_counts_split_strided(
            query_front,
            query_back,
            front,
            back,
            front_words,
            back_words,
            back_words,
            out,
        );
    }

    /// [`Kernel::and_counts_split`] counting only the first `back_words` words of back halves
    /// stored `back_stride` words apart: `back_j = back[j * back_stride..][..back_words]`.
    /// With the halves of a filter, that is the popcount of a prefix of the AND (the front
    /// and part of the back), which bounds the rest by the query's remaining bits.
    /// `(8, 4, 8)` and `(16, 8, 16)` take specialised loops too.
    ///
    /// # Panics
    ///
    /// As [`Kernel::and_counts_split`], with `back` holding `out.len()` strides, and if
    /// `back_words > back_stride`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn and_counts_split_strided(
        &self,
        query_front: &[u64],
        query_back: &[u64],
        front: &[u64],
        back: &[u64],
        front_words: usize,
        back_words: usize,
        back_stride: usize,
        out: &mut [u32],
    ) {
        assert!(
            back_words <= back_stride,
            "and_counts_split: back words within the stride"
        );
        assert_eq!(query_back.len(), back_words, "and_counts_split: query back");
        assert_eq!(
            Some(back.len()),
            out.len().checked_mul(back_stride),
            "and_counts_split: the back halves must be `out.len()` strides"
        );
        if back_words == 0 {
            return self.and_counts(query_front, front, front_words, out);
        }
        assert_eq!(
            query_front.len(),
            front_words,
            "and_counts_split: query front"
        );
        assert_eq!(
            Some(front.len()),
            out.len().checked_mul(front_words),
            "and_counts_split: the front halves must be `out.len()` halves"
        );
        if front_words == 0 {
            if back_words == back_stride {
                return self.and_counts(query_back, back, back_words, out);
            }
            // No front and a strided back: a shape no scan uses, counted plainly.
            for (count, b) in out.iter_mut().zip(back.chunks_exact(back_stride)) {
                *count = query_back
                    .iter()
                    .zip(b)
                    .map(|(q, f)| (q & f).count_ones())
                    .sum();
            }
            return;
        }
        // SAFETY: as for `and_counts`: the pointer comes from `KernelKind::function` after the
        // CPU check, and the lengths were checked above.
        #[allow(unsafe_code)]
        unsafe {
            (self.and_counts_split)(
                query_front,
                query_back,
                front,
                back,
                front_words,
                back_words,
                back_stride,
                out,
            )
        }
    }
}

impl Kernel {
    /// For every `k`, `out[k] += popcount(query & filter_k)` where `filter_k` is
    /// `block[at[k] * stride + offset..][..query.len()]`: the words a bound left unread (a
    /// filter's last quarter or back half), counted for only the pairs that passed it, which
    /// the scan gathers after one kernel pass over the tile. Dispatched like the other entry
    /// points, so the counting uses `POPCNT` where the CPU has it (not the baseline's
    /// bit-twiddling `count_ones`).
    ///
    /// # Panics
    ///
    /// If `at` and `out` differ in length, `offset + query.len() > stride`, or an index of `at`
    /// is not a filter of `block` (`block.len() / stride` filters).
    #[inline]
    pub fn add_counts_at(
        &self,
        query: &[u64],
        block: &[u64],
        stride: usize,
        offset: usize,
        at: &[u32],
        out: &mut [u32],
    ) {
        assert_eq!(at.len(), out.len(), "add_counts_at: one count per index");
        assert!(
            offset + query.len() <= stride,
            "add_counts_at: the words lie within the stride"
        );
        if query.is_empty() || at.is_empty() {
            return;
        }
        let filters = block.len() / stride;
        assert!(
            at.iter().all(|&i| (i as usize) < filters),
            "add_counts_at: every index is a filter of the block"
        );
        // SAFETY: as for `and_counts`: the pointer comes from `KernelKind::function` after the
        // CPU check; implementations index the slices safely.
        #[allow(unsafe_code)]
        unsafe {
            (self.add_counts_at)(query, block, stride, offset, at, out)
        }
    }
}

impl Default for Kernel {
    /// [`Kernel::detect`].
    fn default() -> Self {
        Kernel::detect()
    }
}

impl fmt::Debug for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernel").field("kind", &self.kind).finish()
    }
}

impl PartialEq for Kernel {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Eq for Kernel {}
