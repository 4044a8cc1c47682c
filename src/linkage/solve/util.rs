//! Helpers shared by the solvers: dense renumbering of record indices and union-find.

/// "No vertex" in `u32` vertex arrays.
pub(super) const NONE: u32 = u32::MAX;

/// Renumbers the record indices seen in the candidates as `0..len()`, in ascending order of
/// index, so that solvers can use plain arrays whatever the indices are (sparse, or as large as
/// `u32::MAX`).
pub(super) enum Renumber {
    /// Indices are dense enough for a lookup table: `table[index]` is the new number.
    Table { table: Vec<u32>, len: usize },
    /// The distinct indices, sorted; the new number is the position.
    Sorted(Vec<u32>),
}

impl Renumber {
    pub(super) fn new(indices: impl Iterator<Item = u32> + Clone) -> Renumber {
        let count = indices.clone().count();
        let max = indices.clone().max().map_or(0, |m| m as usize + 1);
        if max <= 2 * count + 1024 {
            let mut table = vec![NONE; max];
            for index in indices {
                table[index as usize] = 0;
            }
            let mut len = 0;
            for slot in table.iter_mut().filter(|slot| **slot == 0) {
                *slot = len as u32;
                len += 1;
            }
            Renumber::Table { table, len }
        } else {
            let mut sorted: Vec<u32> = indices.collect();
            sorted.sort_unstable();
            sorted.dedup();
            Renumber::Sorted(sorted)
        }
    }

    /// Number of distinct indices.
    pub(super) fn len(&self) -> usize {
        match self {
            Renumber::Table { len, .. } => *len,
            Renumber::Sorted(sorted) => sorted.len(),
        }
    }

    /// The new number of `index`, which must have been among the indices given to `new`.
    pub(super) fn id(&self, index: u32) -> usize {
        match self {
            Renumber::Table { table, .. } => table[index as usize] as usize,
            Renumber::Sorted(sorted) => sorted.partition_point(|&x| x < index),
        }
    }
}

/// Disjoint sets over `0..n` with path halving and union by size.
pub(super) struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub(super) fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    pub(super) fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Joins the sets of `a` and `b`; returns false when they were already one set.
    pub(super) fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return false;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumber_dense_and_sparse_agree() {
        let dense = [5u32, 3, 5, 9, 0];
        let r = Renumber::new(dense.iter().copied());
        assert!(matches!(r, Renumber::Table { .. }));
        assert_eq!(r.len(), 4);
        assert_eq!(
            [0, 3, 5, 9].map(|i| r.id(i)),
            [0, 1, 2, 3],
            "numbers follow index order"
        );
        let sparse = [u32::MAX, 3, 70_000, 3];
        let r = Renumber::new(sparse.iter().copied());
        assert!(matches!(r, Renumber::Sorted(_)));
        assert_eq!(r.len(), 3);
        assert_eq!([3, 70_000, u32::MAX].map(|i| r.id(i)), [0, 1, 2]);
        assert_eq!(Renumber::new(std::iter::empty()).len(), 0);
    }

    #[test]
    fn union_find() {
        let mut uf = UnionFind::new(6);
        assert!(uf.union(0, 1));
        assert!(uf.union(2, 3));
        assert!(!uf.union(1, 0));
        assert!(uf.union(1, 3));
        assert_eq!(uf.find(0), uf.find(2));
        assert_ne!(uf.find(0), uf.find(4));
    }
}
