//! Deduplication within one file: candidate pairs of one file's records in, clusters out.

use std::collections::HashMap;

use super::util::{NONE, UnionFind};
use crate::linkage::Candidate;

/// Clusters of duplicates by single linkage: the connected components of the candidate graph.
///
/// Records `0..n` of one file are the vertices and every candidate `a-b` an edge; two records
/// are in one cluster when a chain of candidates joins them. Scores are not used, so the result
/// does not depend on ties. Cheap (`O(n + m α(n))`) and generous: a chain `x~y~z` puts `x` and
/// `z` together even when they are not alike (chaining); see [`dedup_complete_linkage`] for the
/// strict variant.
///
/// Only clusters of two or more records are returned: records without a duplicate (singletons)
/// are left out. Each cluster is sorted ascending and clusters are sorted by their smallest
/// member. Candidates naming a record `>= n` are ignored, as are pairs of a record with itself;
/// the order of `a` and `b` within a candidate does not matter.
pub fn dedup_components(n: u32, candidates: &[Candidate]) -> Vec<Vec<u32>> {
    let mut uf = UnionFind::new(n as usize);
    for c in candidates {
        if c.a < n && c.b < n {
            uf.union(c.a, c.b);
        }
    }
    let roots: Vec<u32> = (0..n).map(|x| uf.find(x)).collect();
    clusters_of(&roots, |x| x)
}

/// Clusters of duplicates by complete linkage: every two records in a cluster are a candidate
/// pair.
///
/// Agglomerative complete linkage cut at the candidate threshold. The similarity of two
/// clusters is that of their *least* similar pair, and pairs that are not candidates count as
/// below the threshold, so clusters are cliques of the candidate graph. Candidates are taken in
/// [`Candidate::solver_order`]; the clusters of `a` and `b` merge when this candidate is the
/// last of all their cross pairs to be seen, that is, exactly when their least similar pair is
/// reached. This is the rule of anonlink's greedy solver (it counts the candidates seen between
/// two groups and merges when the count reaches the product of their sizes), and the usual
/// remedy for chaining in [`dedup_components`]: a chain `x~y~z` without `x~z` stays split, with
/// `y` joined to whichever of `x` and `z` is more similar (ties: lower indices first).
///
/// Cost: `O(m log m)` for `m` candidates (sort, then counts between clusters merged from the
/// smaller cluster's table into the larger's).
///
/// Output, out-of-range and self pairs as in [`dedup_components`]; a pair given twice counts
/// once, with its higher score.
pub fn dedup_complete_linkage(n: u32, candidates: &[Candidate]) -> Vec<Vec<u32>> {
    let mut pairs: Vec<Candidate> = candidates
        .iter()
        .filter(|c| c.a < n && c.b < n && c.a != c.b)
        .map(|c| Candidate {
            a: c.a.min(c.b),
            b: c.a.max(c.b),
            score: c.score,
        })
        .collect();
    pairs.sort_unstable_by(|x, y| {
        (x.a, x.b)
            .cmp(&(y.a, y.b))
            .then(y.score.total_cmp(&x.score))
    });
    pairs.dedup_by(|later, earlier| (later.a, later.b) == (earlier.a, earlier.b));
    pairs.sort_unstable_by(Candidate::solver_order);

    // Records in some pair, ascending; local numbers are positions in this list.
    let mut records: Vec<u32> = pairs.iter().flat_map(|c| [c.a, c.b]).collect();
    records.sort_unstable();
    records.dedup();
    let local = |x: u32| records.partition_point(|&r| r < x) as u32;

    let k = records.len();
    let mut parent: Vec<u32> = (0..k as u32).collect();
    let mut size = vec![1u64; k];
    // seen[c][d]: candidates seen so far between clusters c and d (both roots).
    let mut seen: Vec<HashMap<u32, u64>> = (0..k).map(|_| HashMap::new()).collect();
    for c in &pairs {
        let (ru, rv) = (root(&mut parent, local(c.a)), root(&mut parent, local(c.b)));
        if ru == rv {
            continue;
        }
        let count = seen[ru as usize].get(&rv).copied().unwrap_or(0) + 1;
        if count < size[ru as usize].saturating_mul(size[rv as usize]) {
            seen[ru as usize].insert(rv, count);
            seen[rv as usize].insert(ru, count);
            continue;
        }
        // Every cross pair has been seen: merge the smaller table into the larger.
        let (keep, gone) = if seen[ru as usize].len() >= seen[rv as usize].len() {
            (ru, rv)
        } else {
            (rv, ru)
        };
        let moved = std::mem::take(&mut seen[gone as usize]);
        seen[keep as usize].remove(&gone);
        for (other, count) in moved {
            if other == keep {
                continue;
            }
            *seen[keep as usize].entry(other).or_insert(0) += count;
            let table = &mut seen[other as usize];
            table.remove(&gone);
            *table.entry(keep).or_insert(0) += count;
        }
        parent[gone as usize] = keep;
        size[keep as usize] += size[gone as usize];
    }
    let roots: Vec<u32> = (0..k as u32).map(|x| root(&mut parent, x)).collect();
    clusters_of(&roots, |x| records[x as usize])
}

/// Root of `x` with path halving.
fn root(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let grandparent = parent[parent[x as usize] as usize];
        parent[x as usize] = grandparent;
        x = grandparent;
    }
    x
}

/// Groups `0..roots.len()` by root; keeps groups of two or more, members ascending (by
/// `original`, which must be increasing), groups by smallest member.
fn clusters_of(roots: &[u32], original: impl Fn(u32) -> u32) -> Vec<Vec<u32>> {
    let mut size = vec![0u32; roots.len()];
    for &r in roots {
        size[r as usize] += 1;
    }
    let mut cluster_of_root = vec![NONE; roots.len()];
    let mut clusters: Vec<Vec<u32>> = Vec::new();
    for (x, &r) in roots.iter().enumerate() {
        if size[r as usize] < 2 {
            continue;
        }
        if cluster_of_root[r as usize] == NONE {
            cluster_of_root[r as usize] = clusters.len() as u32;
            clusters.push(Vec::with_capacity(size[r as usize] as usize));
        }
        clusters[cluster_of_root[r as usize] as usize].push(original(x as u32));
    }
    clusters
}

#[cfg(test)]
mod tests {
    use super::super::tests::{SplitMix, c};
    use super::*;

    #[test]
    fn components() {
        let cands = [
            c(0, 1, 0.9),
            c(5, 1, 0.6),
            c(3, 4, 0.7),
            c(7, 7, 1.0),
            c(2, 9, 0.8),
        ];
        // 9 is out of range for n = 8; 7-7 is a self pair; 6 has no pair.
        assert_eq!(dedup_components(8, &cands), vec![vec![0, 1, 5], vec![3, 4]]);
        assert_eq!(
            dedup_components(10, &cands),
            vec![vec![0, 1, 5], vec![2, 9], vec![3, 4]]
        );
    }

    #[test]
    fn complete_linkage_refuses_chains() {
        // x=0 ~ y=1 ~ z=2 without 0~2: single linkage chains, complete linkage does not.
        let chain = [c(0, 1, 0.9), c(1, 2, 0.8)];
        assert_eq!(dedup_components(3, &chain), vec![vec![0, 1, 2]]);
        assert_eq!(dedup_complete_linkage(3, &chain), vec![vec![0, 1]]);
        // With 0~2 the three form a clique.
        let clique = [c(0, 1, 0.9), c(1, 2, 0.8), c(2, 0, 0.6)];
        assert_eq!(dedup_complete_linkage(3, &clique), vec![vec![0, 1, 2]]);
    }

    #[test]
    fn complete_linkage_merges_in_order_of_least_similar_pair() {
        // {0,1} (0.95) and {2,3} (0.94) are joined by four cross pairs, the least similar at
        // 0.7; 4 is close to 2 (0.9) but not to 3: it loses 2 to the cluster {2,3}, which formed
        // at 0.94 first, and 4-0 (0.75) cannot pull 4 into {0,1,2,3} without 4~1 and 4~3.
        let cands = [
            c(0, 1, 0.95),
            c(2, 3, 0.94),
            c(2, 4, 0.9),
            c(0, 2, 0.85),
            c(1, 3, 0.8),
            c(0, 3, 0.75),
            c(0, 4, 0.75),
            c(1, 2, 0.7),
        ];
        assert_eq!(dedup_complete_linkage(5, &cands), vec![vec![0, 1, 2, 3]]);
        // Without 1-2 the two pairs never merge.
        let partial: Vec<Candidate> = cands.iter().copied().filter(|x| x.score != 0.7).collect();
        assert_eq!(
            dedup_complete_linkage(5, &partial),
            vec![vec![0, 1], vec![2, 3]]
        );
    }

    #[test]
    fn complete_linkage_counts_duplicates_once() {
        // 0-2 given twice must not stand in for the missing 1-2.
        let cands = [c(0, 1, 0.9), c(0, 2, 0.8), c(2, 0, 0.8), c(0, 2, 0.5)];
        assert_eq!(dedup_complete_linkage(3, &cands), vec![vec![0, 1]]);
    }

    /// Naive agglomerative complete linkage: repeatedly merge the two clusters with the highest
    /// least-similar pair (all pairs candidates), ties by lowest candidate in solver order.
    fn naive_complete_linkage(n: u32, cands: &[Candidate]) -> Vec<Vec<u32>> {
        let mut score = HashMap::new();
        for x in cands {
            let key = (x.a.min(x.b), x.a.max(x.b));
            if key.0 != key.1 {
                let s = score.entry(key).or_insert(x.score);
                if x.score > *s {
                    *s = x.score;
                }
            }
        }
        let mut clusters: Vec<Vec<u32>> = (0..n).map(|x| vec![x]).collect();
        loop {
            // (least similarity, its pair) for each mergeable pair of clusters.
            let mut best: Option<(Candidate, usize, usize)> = None;
            for i in 0..clusters.len() {
                for j in i + 1..clusters.len() {
                    let mut worst: Option<Candidate> = None;
                    let mut all = true;
                    for &p in &clusters[i] {
                        for &q in &clusters[j] {
                            let key = (p.min(q), p.max(q));
                            match score.get(&key) {
                                None => all = false,
                                Some(&s) => {
                                    let cand = c(key.0, key.1, s);
                                    if worst
                                        .is_none_or(|w| Candidate::solver_order(&cand, &w).is_gt())
                                    {
                                        worst = Some(cand);
                                    }
                                }
                            }
                        }
                    }
                    let Some(w) = worst.filter(|_| all) else {
                        continue;
                    };
                    if best.is_none_or(|(b, _, _)| Candidate::solver_order(&w, &b).is_lt()) {
                        best = Some((w, i, j));
                    }
                }
            }
            let Some((_, i, j)) = best else { break };
            let moved = clusters.remove(j);
            clusters[i].extend(moved);
            clusters[i].sort_unstable();
        }
        clusters.retain(|x| x.len() >= 2);
        clusters.sort_unstable();
        clusters
    }

    #[test]
    fn complete_linkage_against_naive() {
        let mut rng = SplitMix(5);
        for round in 0..300 {
            let n = 2 + rng.below(9) as u32;
            let mut cands = Vec::new();
            for a in 0..n {
                for b in a + 1..n {
                    if rng.below(10) < 6 {
                        let s = (rng.below(4) + 1) as f64 / 4.0;
                        if rng.below(2) == 0 {
                            cands.push(c(a, b, s));
                        } else {
                            cands.push(c(b, a, s));
                        }
                    }
                }
            }
            let expected = naive_complete_linkage(n, &cands);
            assert_eq!(
                dedup_complete_linkage(n, &cands),
                expected,
                "round {round}: {cands:?}"
            );
            rng.shuffle(&mut cands);
            assert_eq!(
                dedup_complete_linkage(n, &cands),
                expected,
                "shuffled, round {round}"
            );
            // Every cluster is a clique and a subset of a single-linkage component.
            let components = dedup_components(n, &cands);
            for cluster in &expected {
                assert!(
                    components
                        .iter()
                        .any(|comp| cluster.iter().all(|x| comp.contains(x)))
                );
            }
        }
    }

    #[test]
    fn components_ignore_order_and_direction() {
        let mut rng = SplitMix(11);
        let mut cands: Vec<Candidate> = (0..3000)
            .map(|_| c(rng.below(5000) as u32, rng.below(5000) as u32, 0.9))
            .collect();
        let expected = dedup_components(5000, &cands);
        assert!(expected.iter().all(|x| x.len() >= 2 && x.is_sorted()));
        assert!(expected.windows(2).all(|w| w[0][0] < w[1][0]));
        rng.shuffle(&mut cands);
        for x in &mut cands {
            std::mem::swap(&mut x.a, &mut x.b);
        }
        assert_eq!(dedup_components(5000, &cands), expected);
    }
}
