//! One component as the solver sees it: edge lists in solver order ([`Graph`], built by
//! [`components`](super::components)) and, per side, the compressed adjacency that the auction
//! and the exact search walk ([`Adjacency`], built by [`Solver`](super::solver::Solver)).

/// One connected component with records renumbered from 0, edges in solver order.
#[derive(Default)]
pub(super) struct Graph {
    pub(super) nl: usize,
    pub(super) nr: usize,
    pub(super) el: Vec<u32>,
    pub(super) er: Vec<u32>,
    pub(super) score: Vec<f64>,
}

/// Buffers of at least this many elements are freed after use rather than kept for the next
/// component: a giant component's copies would otherwise stay resident while later phases
/// allocate their own (see docs/benchmarks.md, optimal solver memory).
pub(super) const KEEP_BELOW: usize = 1 << 16;

/// Empties `v`, and frees its memory if it is large.
pub(super) fn release<T>(v: &mut Vec<T>) {
    if v.capacity() >= KEEP_BELOW {
        *v = Vec::new();
    } else {
        v.clear();
    }
}

impl Graph {
    /// Frees the scores of a large component once the weights are made from them (they are
    /// not read again); a small component's are left as they are.
    pub(super) fn release_scores(&mut self) {
        if self.score.capacity() >= KEEP_BELOW {
            self.score = Vec::new();
        }
    }

    /// Frees the edge lists of a large component once both adjacencies are built from them:
    /// the final pick of links reads the ends again from the candidates (8 bytes per
    /// candidate less at the peak); a small component's are left as they are.
    pub(super) fn release_edges(&mut self) {
        if self.el.capacity() >= KEEP_BELOW {
            self.el = Vec::new();
            self.er = Vec::new();
        }
    }

    /// Room for exactly `m` more edges (a giant component's lists are not doubled).
    pub(super) fn reserve_exact(&mut self, m: usize) {
        self.el.reserve_exact(m);
        self.er.reserve_exact(m);
        self.score.reserve_exact(m);
    }

    pub(super) fn clear(&mut self) {
        self.nl = 0;
        self.nr = 0;
        self.el.clear();
        self.er.clear();
        self.score.clear();
    }
}

/// One side of a component's bipartite graph in compressed form: the edges of vertex `v` are
/// `start[v]..start[v + 1]`; edge `i` leads to vertex `next[i]` of the other side, and on the
/// right side it is edge `slot[i]` of the left side (`slot` is empty on the left).
#[derive(Default)]
pub(super) struct Adjacency {
    pub(super) start: Vec<u32>,
    pub(super) next: Vec<u32>,
    pub(super) slot: Vec<u32>,
}

impl Adjacency {
    pub(super) fn len(&self) -> usize {
        self.start.len() - 1
    }

    pub(super) fn edges(&self, v: usize) -> std::ops::Range<usize> {
        self.start[v] as usize..self.start[v + 1] as usize
    }

    /// Groups the edges `0..keys.len()` by their vertex `keys[e]` among `n` (stably, so in
    /// rank order): fills `start` and leaves the edges in `order`; `cursor` is scratch.
    pub(super) fn group(
        &mut self,
        n: usize,
        keys: &[u32],
        order: &mut Vec<u32>,
        cursor: &mut Vec<u32>,
    ) {
        let start = &mut self.start;
        start.clear();
        start.resize(n + 1, 0);
        for &k in keys {
            start[k as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        cursor.clear();
        cursor.extend_from_slice(&start[..n]);
        order.clear();
        order.resize(keys.len(), 0);
        for (e, &k) in keys.iter().enumerate() {
            order[cursor[k as usize] as usize] = e as u32;
            cursor[k as usize] += 1;
        }
    }
}
