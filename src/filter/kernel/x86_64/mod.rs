//! x86-64 kernels and the feature checks that guard them.
//!
//! Each submodule's entry point is an `unsafe fn` compiled with `#[target_feature]`; the
//! `*_available` functions here are the checks [`super::KernelKind`] makes before handing out
//! a pointer to one. `is_x86_feature_detected!` also checks that the operating system saves
//! the AVX and AVX-512 registers, and caches its answer.

pub(super) mod avx2;
pub(super) mod avx512;
pub(super) mod popcnt;

/// The `POPCNT` instruction.
pub(super) fn popcnt_available() -> bool {
    std::arch::is_x86_feature_detected!("popcnt")
}

/// AVX2, plus `POPCNT` for the words of a width that is not a multiple of 4.
pub(super) fn avx2_available() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && popcnt_available()
}

/// AVX-512 Foundation and AVX-512 VPOPCNTDQ (`vpopcntq`), plus AVX2 and `POPCNT` (the bound
/// compare of `select_split` and the survivors' rest; every AVX-512 CPU has them). Nothing from
/// AVX-512BW or VL is used.
pub(super) fn avx512_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
        && avx2_available()
}
