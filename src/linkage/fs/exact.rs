//! Identical field filters: field-layout records in, groups of records that agree exactly on
//! chosen fields out, for blocking passes, the prior's rule and term frequencies.
//!
//! Equal values give equal field filters (the encoding is deterministic), so the third party
//! sees which records agree exactly on a field without learning the value: that is what
//! a Fellegi-Sunter training pass blocks on ("exact on surname"), what the deterministic rule
//! of the prior counts, and what term frequencies are counted over (with salted tokens, the
//! same value in two salt classes gives two filters, so frequencies are per salt class by
//! construction). Records are grouped by a 128-bit BLAKE3 digest of their filters on the
//! fields (a record missing any of them is in no group); groups are listed in a fixed order.

use std::collections::HashMap;

use rayon::prelude::*;

use super::FieldRecords;

/// The digest of a record's filters on `fields`, or `None` when one is missing.
fn key(records: &FieldRecords<'_>, record: usize, fields: &[usize]) -> Option<[u8; 16]> {
    let mut h = blake3::Hasher::new();
    for &f in fields {
        if records.is_missing(record, f) {
            return None;
        }
        for w in records.filter(record, f) {
            h.update(&w.to_le_bytes());
        }
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    Some(out)
}

/// Every record's digest on `fields`, in record order.
fn keys(records: &FieldRecords<'_>, fields: &[usize]) -> Vec<Option<[u8; 16]>> {
    (0..records.len())
        .into_par_iter()
        .map(|r| key(records, r, fields))
        .collect()
}

/// Records of one or two sides that agree exactly on some fields.
#[derive(Debug, Clone)]
pub struct ExactGroups {
    /// Per group (in order of first appearance on the left, then on the right): the left
    /// records and the right records (empty right lists for deduplication).
    groups: Vec<(Vec<u32>, Vec<u32>)>,
    dedup: bool,
}

impl ExactGroups {
    /// Groups `left` (and `right`; `None` for deduplication) by their filters on `fields`.
    pub fn new(
        left: &FieldRecords<'_>,
        right: Option<&FieldRecords<'_>>,
        fields: &[usize],
    ) -> Self {
        let mut index: HashMap<[u8; 16], usize> = HashMap::new();
        let mut groups: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
        for (r, k) in keys(left, fields).into_iter().enumerate() {
            if let Some(k) = k {
                let g = *index.entry(k).or_insert_with(|| {
                    groups.push((Vec::new(), Vec::new()));
                    groups.len() - 1
                });
                groups[g].0.push(r as u32);
            }
        }
        if let Some(right) = right {
            for (r, k) in keys(right, fields).into_iter().enumerate() {
                if let Some(k) = k {
                    let g = *index.entry(k).or_insert_with(|| {
                        groups.push((Vec::new(), Vec::new()));
                        groups.len() - 1
                    });
                    groups[g].1.push(r as u32);
                }
            }
        }
        ExactGroups {
            groups,
            dedup: right.is_none(),
        }
    }

    /// Pairs that agree exactly: `(left, right)`, or distinct `(lower, higher)` records of one
    /// side for deduplication.
    pub fn pair_count(&self) -> u64 {
        self.groups
            .iter()
            .map(|(l, r)| {
                let (l, r) = (l.len() as u64, r.len() as u64);
                if self.dedup {
                    l * l.saturating_sub(1) / 2
                } else {
                    l * r
                }
            })
            .sum()
    }

    /// The pairs, sorted by left record (the order [`super::count_pairs`] counts fastest).
    pub fn pairs(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::with_capacity(self.pair_count() as usize);
        for (l, r) in &self.groups {
            if self.dedup {
                for (i, &a) in l.iter().enumerate() {
                    out.extend(l[i + 1..].iter().map(|&b| (a.min(b), a.max(b))));
                }
            } else {
                for &a in l {
                    out.extend(r.iter().map(|&b| (a, b)));
                }
            }
        }
        out.par_sort_unstable();
        out
    }

    /// Per left record, the share of all records (both sides) holding its filters, and the
    /// same per right record: the term frequencies of the values, per side as Splink counts
    /// them (`None` for a record missing the fields).
    pub fn frequencies(&self, left: usize, right: usize) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
        let total = (left + if self.dedup { 0 } else { right }).max(1) as f64;
        let (mut fl, mut fr) = (vec![None; left], vec![None; right]);
        for (l, r) in &self.groups {
            let share = (l.len() + r.len()) as f64 / total;
            l.iter().for_each(|&a| fl[a as usize] = Some(share));
            r.iter().for_each(|&b| fr[b as usize] = Some(share));
        }
        (fl, fr)
    }
}
