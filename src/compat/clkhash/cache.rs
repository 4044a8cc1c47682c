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
//! It is direct-mapped with [`SLOTS`] slots (about 0.6 MiB per thread for 1024-bit filters)
//! and covers tokens of up to [`MAX_TOKEN`] bytes that set at most 32 bits in filters of at
//! most 1024 bits before folding; everything else is simply computed. Entries are keyed
//! digests, as secret as the encodings: they are wiped when the thread's cache is reset for
//! another encoder and when the thread ends.

use std::cell::RefCell;

use zeroize::Zeroize;

/// Slots per thread (a power of two).
pub const SLOTS: usize = 4096;
/// Longest token kept, in bytes.
pub const MAX_TOKEN: usize = 27;
/// Largest filter (before folding) kept, in 64-bit words.
pub const MAX_WORDS: usize = 16;

/// What identifies a token's contribution: feature, bits per token, the token's bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Key {
    field: u16,
    k: u8,
    len: u8,
    bytes: [u8; MAX_TOKEN + 1],
}

impl Key {
    /// The key of a token, or `None` if the cache does not keep such tokens.
    #[inline]
    pub(crate) fn new(field: usize, k: u32, token: &[u8]) -> Option<Key> {
        if token.len() > MAX_TOKEN || k > 32 || k == 0 || field > usize::from(u16::MAX) {
            return None;
        }
        let mut key = Key {
            field: field as u16,
            k: k as u8,
            len: token.len() as u8 + 1,
            bytes: [0; MAX_TOKEN + 1],
        };
        key.bytes[..token.len()].copy_from_slice(token);
        Some(key)
    }

    /// The key's slot (a multiplicative hash of its 32 bytes).
    #[inline]
    fn slot(&self) -> usize {
        let mut h = u64::from(self.field) << 16 | u64::from(self.k) << 8 | u64::from(self.len);
        for chunk in self.bytes.chunks_exact(8) {
            let w = u64::from_le_bytes(chunk.try_into().expect("8"));
            h = (h.rotate_left(23) ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        (h >> 40) as usize & (SLOTS - 1)
    }
}

/// The cache of one thread.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    /// The encoder the entries belong to (0: none).
    owner: u64,
    words: usize,
    keys: Vec<Key>,
    masks: Vec<u64>,
}

impl TokenCache {
    /// Makes the cache hold entries of encoder `owner` with filters of `words` words,
    /// wiping it if it held another's; false if such filters are too large to keep.
    pub(crate) fn prepare(&mut self, owner: u64, words: usize) -> bool {
        if words > MAX_WORDS {
            return false;
        }
        if self.owner != owner || self.words != words {
            self.masks.zeroize();
            self.keys.zeroize();
            self.owner = owner;
            self.words = words;
            self.keys = vec![Key::default(); SLOTS];
            self.masks = vec![0; SLOTS * words];
        }
        true
    }

    /// The slot of `key`, and whether it holds `key`'s contribution.
    #[inline]
    pub(crate) fn find(&self, key: &Key) -> (usize, bool) {
        let slot = key.slot();
        (slot, self.keys[slot] == *key)
    }

    /// The contribution in `slot`.
    #[inline]
    pub(crate) fn mask(&self, slot: usize) -> &[u64] {
        &self.masks[slot * self.words..(slot + 1) * self.words]
    }

    /// Stores a contribution: `set` writes its bits into the zeroed mask.
    #[inline]
    pub(crate) fn store(&mut self, slot: usize, key: Key, set: impl FnOnce(&mut [u64])) {
        let mask = &mut self.masks[slot * self.words..(slot + 1) * self.words];
        mask.fill(0);
        set(mask);
        self.keys[slot] = key;
    }
}

impl Drop for TokenCache {
    fn drop(&mut self) {
        self.masks.zeroize();
        self.keys.zeroize();
    }
}

impl Zeroize for Key {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.len = 0;
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

    #[test]
    fn keys_separate_fields_k_and_bytes() {
        let a = Key::new(1, 20, b"ab").unwrap();
        assert_ne!(a, Key::new(2, 20, b"ab").unwrap());
        assert_ne!(a, Key::new(1, 21, b"ab").unwrap());
        assert_ne!(a, Key::new(1, 20, b"ab\0").unwrap());
        assert_ne!(
            Key::new(1, 20, b"").unwrap(),
            Key::default(),
            "never the empty slot"
        );
        assert!(Key::new(1, 33, b"ab").is_none());
        assert!(Key::new(1, 20, &[0; MAX_TOKEN + 1]).is_none());
    }

    #[test]
    fn store_find_and_reset() {
        let mut c = TokenCache::default();
        assert!(c.prepare(7, 16));
        let key = Key::new(0, 3, b"xy").unwrap();
        let (slot, hit) = c.find(&key);
        assert!(!hit);
        c.store(slot, key, |m| m[1] = 5);
        assert_eq!(c.find(&key), (slot, true));
        assert_eq!(c.mask(slot)[1], 5);
        assert!(c.prepare(8, 16), "another encoder");
        assert!(!c.find(&key).1, "entries of another encoder are gone");
        assert!(!c.prepare(8, 17), "too large to keep");
    }
}
