//! Reference answers for the tests, computed independently of the solver: components by a
//! quadratic scan, the rule's objective of a set of links, the optimum by brute force
//! (enumerating every matching) and by a textbook dense Hungarian method.

use super::integers;
use crate::linkage::Candidate;

pub(super) fn total(links: &[Candidate]) -> f64 {
    links.iter().map(|l| l.score).sum()
}

/// One component of the usable candidates, in solver order, with what the tie rule needs.
pub(super) struct Component {
    pub(super) edges: Vec<Candidate>,
    /// Exact integer weights, in proportion to the scores.
    w: Vec<u128>,
    nl: usize,
    nr: usize,
}

impl Component {
    /// The rule's objective for a set of links of this component: exact total weight, then
    /// the perturbation sum (`R - rank`, a link ranked as the first equal candidate).
    fn objective(&self, links: &[Candidate]) -> (u128, u128) {
        let r = self.edges.len() as u128;
        links.iter().fold((0, 0), |(w, p), link| {
            let rank = self
                .edges
                .iter()
                .position(|e| e == link)
                .expect("a candidate");
            (w + self.w[rank], p + r - rank as u128)
        })
    }

    /// The same as one perturbed integer, `w·K + p` with `K = min(nl, nr)·R + 1`.
    pub(super) fn perturbed(&self, (w, p): (u128, u128)) -> u128 {
        w * (self.nl.min(self.nr) as u128 * self.edges.len() as u128 + 1) + p
    }
}

/// Components computed independently of the solver (quadratic, for small tests).
pub(super) fn components(candidates: &[Candidate]) -> Vec<Component> {
    let mut edges: Vec<Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| c.score.is_finite() && c.score > 0.0)
        .collect();
    edges.sort_by(Candidate::solver_order);
    let mut group: Vec<usize> = (0..edges.len()).collect();
    // Merge until stable: edges sharing a record share a group.
    loop {
        let mut changed = false;
        for i in 0..edges.len() {
            for j in 0..edges.len() {
                if (edges[i].a == edges[j].a || edges[i].b == edges[j].b) && group[j] > group[i] {
                    group[j] = group[i];
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut ids: Vec<usize> = group.clone();
    ids.sort_unstable();
    ids.dedup();
    ids.iter()
        .map(|&g| {
            let edges: Vec<Candidate> = edges
                .iter()
                .zip(&group)
                .filter(|&(_, &h)| h == g)
                .map(|(e, _)| *e)
                .collect();
            let scores: Vec<f64> = edges.iter().map(|e| e.score).collect();
            let (w, bits) = integers(&scores, 125);
            assert!(bits < 125, "test scores must scale exactly");
            let mut ls: Vec<u32> = edges.iter().map(|e| e.a).collect();
            let mut rs: Vec<u32> = edges.iter().map(|e| e.b).collect();
            ls.sort_unstable();
            ls.dedup();
            rs.sort_unstable();
            rs.dedup();
            Component {
                edges,
                w,
                nl: ls.len(),
                nr: rs.len(),
            }
        })
        .collect()
}

/// Asserts that `links` is a one-to-one subset of `candidates` in solver order, and returns
/// the rule's objective for each component.
pub(super) fn objectives(candidates: &[Candidate], links: &[Candidate]) -> Vec<(u128, u128)> {
    assert!(
        links
            .windows(2)
            .all(|p| Candidate::solver_order(&p[0], &p[1]).is_lt()),
        "sorted by solver order: {links:?}"
    );
    for (i, x) in links.iter().enumerate() {
        assert!(candidates.contains(x), "{x:?} is no candidate");
        for y in &links[i + 1..] {
            assert!(x.a != y.a && x.b != y.b, "{x:?} and {y:?} share a record");
        }
    }
    components(candidates)
        .iter()
        .map(|comp| {
            let mine: Vec<Candidate> = links
                .iter()
                .copied()
                .filter(|l| comp.edges.iter().any(|e| e.a == l.a))
                .collect();
            comp.objective(&mine)
        })
        .collect()
}

/// The rule's optimum per component, by enumerating every matching.
pub(super) fn brute_force(candidates: &[Candidate]) -> Vec<(u128, u128)> {
    fn walk(comp: &Component, i: usize, current: &mut Vec<Candidate>, best: &mut (u128, u128)) {
        if i == comp.edges.len() {
            *best = (*best).max(comp.objective(current));
            return;
        }
        let e = comp.edges[i];
        if current.iter().all(|l| l.a != e.a && l.b != e.b) {
            current.push(e);
            walk(comp, i + 1, current, best);
            current.pop();
        }
        walk(comp, i + 1, current, best);
    }
    components(candidates)
        .iter()
        .map(|comp| {
            let mut best = (0, 0);
            walk(comp, 0, &mut Vec::new(), &mut best);
            best
        })
        .collect()
}

/// The rule's optimum per component as one perturbed integer, by a textbook `O(n^3)`
/// Hungarian method on the dense (padded) weight matrix: an independent check for graphs
/// too large to enumerate.
pub(super) fn reference_hungarian(candidates: &[Candidate]) -> Vec<u128> {
    components(candidates)
        .iter()
        .map(|comp| {
            let mut ls: Vec<u32> = comp.edges.iter().map(|e| e.a).collect();
            let mut rs: Vec<u32> = comp.edges.iter().map(|e| e.b).collect();
            ls.sort_unstable();
            ls.dedup();
            rs.sort_unstable();
            rs.dedup();
            let n = ls.len().max(rs.len());
            // Cost = -weight, 0 for "unmatched"; keep the best duplicate.
            let mut cost = vec![vec![0i128; n + 1]; n + 1];
            for (rank, e) in comp.edges.iter().enumerate() {
                let weight = comp.perturbed(comp.objective(&comp.edges[rank..=rank]));
                let (i, j) = (
                    ls.binary_search(&e.a).unwrap() + 1,
                    rs.binary_search(&e.b).unwrap() + 1,
                );
                cost[i][j] = cost[i][j].min(-(weight as i128));
            }
            let (mut u, mut v) = (vec![0i128; n + 1], vec![0i128; n + 1]);
            let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
            for i in 1..=n {
                p[0] = i;
                let mut j0 = 0;
                let mut minv = vec![i128::MAX; n + 1];
                let mut used = vec![false; n + 1];
                loop {
                    used[j0] = true;
                    let (i0, mut delta, mut j1) = (p[j0], i128::MAX, 0);
                    for j in 1..=n {
                        if !used[j] {
                            let cur = cost[i0][j] - u[i0] - v[j];
                            if cur < minv[j] {
                                minv[j] = cur;
                                way[j] = j0;
                            }
                            if minv[j] < delta {
                                delta = minv[j];
                                j1 = j;
                            }
                        }
                    }
                    for j in 0..=n {
                        if used[j] {
                            u[p[j]] += delta;
                            v[j] -= delta;
                        } else {
                            minv[j] -= delta;
                        }
                    }
                    j0 = j1;
                    if p[j0] == 0 {
                        break;
                    }
                }
                loop {
                    let j1 = way[j0];
                    p[j0] = p[j1];
                    j0 = j1;
                    if j0 == 0 {
                        break;
                    }
                }
            }
            (1..=n).map(|j| -cost[p[j]][j]).sum::<i128>() as u128
        })
        .collect()
}
