//! A per-thread memo of blakeHash token contributions.
//!
//! Person data repeats its tokens: the same bigrams of common names, the same positional
//! digits of dates, the same street names. clkhash memoises its token hashes
//! (`functools.lru_cache` on `blake_hash_token`) and whole field encodings for that reason;
//! pprl keeps, per worker thread, the bits each recent token sets: a hit costs a lookup and
//! an OR of the filter's words instead of a BLAKE2b compression and `k` bit updates. The
//! cache changes no output bit: an entry is the exact contribution of one (feature, `k`,
//! token), so it only saves recomputation.
//!
//! It is direct-mapped, with [`SLOTS`] slots of one key and one mask each (about 0.6 MiB per
//! thread for 1024-bit filters), and covers tokens of up to [`MAX_TOKEN`] bytes that set at
//! most 32 bits in filters of at most 1024 bits before folding; everything else is simply
//! computed. The encoder computes a row's keys first and prefetches their slots, so the
//! lookups rarely wait for memory. Entries are keyed digests, as secret as the encodings: they
//! are wiped when the thread's cache is reset for another encoder and when the thread ends.

// The crate warns on `unsafe_code`; prefetching needs it (see the SAFETY comment).
#![allow(unsafe_code)]

use std::cell::RefCell;

use zeroize::Zeroize;

/// Slots per thread (a power of two).
pub const SLOTS: usize = 8192;
/// Longest token kept, in bytes.
pub const MAX_TOKEN: usize = 24;
/// Largest filter (before folding) kept, in 64-bit words.
pub const MAX_WORDS: usize = 16;
/// Bytes a token buffer must extend beyond a token's start for [`Key::new`].
pub const SLACK: usize = MAX_TOKEN;

/// What identifies a token's contribution: feature, bits per token, length, the bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Key([u64; 4]);

impl Key {
    /// The key of the token `buf[start..start + len]`, or `None` if the cache does not keep
    /// such tokens. `buf` must hold [`SLACK`] bytes from `start` (the bytes past the token are
    /// masked off).
    #[inline]
    pub(crate) fn new(field: usize, k: u32, buf: &[u8], start: usize, len: usize) -> Option<Key> {
        if len > MAX_TOKEN || k > 32 || k == 0 || field > 0xffff {
            return None;
        }
        let word = |i: usize| {
            let b: [u8; 8] = buf[start + 8 * i..start + 8 * i + 8]
                .try_into()
                .expect("8 bytes");
            let keep = len.saturating_sub(8 * i).min(8);
            let mask = if keep == 8 {
                !0
            } else {
                (1u64 << (8 * keep)) - 1
            };
            u64::from_le_bytes(b) & mask
        };
        let head = (field as u64) << 48 | u64::from(k) << 40 | (len as u64 + 1) << 32;
        Some(Key([head, word(0), word(1), word(2)]))
    }

    /// The key's slot (a multiplicative hash of its words).
    #[inline]
    pub(crate) fn slot(&self) -> usize {
        let mut h = 0u64;
        for w in self.0 {
            h = (h.rotate_left(23) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        (h >> 40) as usize & (SLOTS - 1)
    }
}

/// The cache of one thread: slot `i` is `data[i * (4 + words)..]`, its key then its mask.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    /// The encoder the entries belong to (0: none).
    owner: u64,
    words: usize,
    data: Vec<u64>,
}

impl TokenCache {
    /// Makes the cache hold entries of encoder `owner` with filters of `words` words,
    /// wiping it if it held another's; false if such filters are too large to keep.
    pub(crate) fn prepare(&mut self, owner: u64, words: usize) -> bool {
        if words > MAX_WORDS {
            return false;
        }
        if self.owner != owner || self.words != words {
            self.data.zeroize();
            self.owner = owner;
            self.words = words;
            self.data = vec![0; SLOTS * (4 + words)];
        }
        true
    }

    #[inline]
    fn entry(&self, slot: usize) -> &[u64] {
        let stride = 4 + self.words;
        &self.data[slot * stride..(slot + 1) * stride]
    }

    /// Asks the CPU to start loading `slot`.
    #[inline]
    pub(crate) fn prefetch(&self, slot: usize) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let p = self.entry(slot).as_ptr().cast::<i8>();
            // SAFETY: a prefetch never faults and changes no memory; `p` points into `data`,
            // and SSE is part of every x86-64 CPU.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// The contribution of `key` if `slot` holds it.
    #[inline]
    pub(crate) fn get(&self, slot: usize, key: &Key) -> Option<&[u64]> {
        let e = self.entry(slot);
        (e[..4] == key.0).then(|| &e[4..])
    }

    /// Stores a contribution (`set` writes its bits into the zeroed mask) and returns it.
    #[inline]
    pub(crate) fn store(&mut self, slot: usize, key: Key, set: impl FnOnce(&mut [u64])) -> &[u64] {
        let stride = 4 + self.words;
        let e = &mut self.data[slot * stride..(slot + 1) * stride];
        e[..4].copy_from_slice(&key.0);
        e[4..].fill(0);
        set(&mut e[4..]);
        &e[4..]
    }
}

impl Drop for TokenCache {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

thread_local! {
    static CACHE: RefCell<TokenCache> = RefCell::new(TokenCache::default());
}

/// Runs `f` with this thread's cache.
pub(crate) fn with<R>(f: impl FnOnce(&mut TokenCache) -> R) -> R {
    CACHE.with(|c| f(&mut c.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(field: usize, k: u32, token: &[u8]) -> Option<Key> {
        let mut buf = token.to_vec();
        buf.extend_from_slice(b"garbage after the token, masked off");
        Key::new(field, k, &buf, 0, token.len())
    }

    #[test]
    fn keys_separate_fields_k_and_bytes() {
        let a = key(1, 20, b"ab").unwrap();
        assert_eq!(
            a,
            key(1, 20, b"ab").unwrap(),
            "bytes past the token do not count"
        );
        assert_ne!(a, key(2, 20, b"ab").unwrap());
        assert_ne!(a, key(1, 21, b"ab").unwrap());
        assert_ne!(a, key(1, 20, b"ab\0").unwrap());
        assert_ne!(
            key(0, 1, b"").unwrap(),
            Key::default(),
            "never an empty slot"
        );
        let long = [7u8; MAX_TOKEN];
        assert_ne!(key(1, 20, &long), key(1, 20, &long[..MAX_TOKEN - 1]));
        assert!(key(1, 33, b"ab").is_none());
        assert!(key(1, 20, &[0; MAX_TOKEN + 1]).is_none());
    }

    #[test]
    fn store_get_and_reset() {
        let mut c = TokenCache::default();
        assert!(c.prepare(7, 16));
        let k = key(0, 3, b"xy").unwrap();
        let slot = k.slot();
        c.prefetch(slot);
        assert!(c.get(slot, &k).is_none());
        assert_eq!(c.store(slot, k, |m| m[1] = 5)[1], 5);
        assert_eq!(c.get(slot, &k).unwrap()[1], 5);
        assert!(c.prepare(8, 16), "another encoder");
        assert!(
            c.get(slot, &k).is_none(),
            "entries of another encoder are gone"
        );
        assert!(!c.prepare(8, 17), "too large to keep");
    }
}
