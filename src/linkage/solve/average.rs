//! Clustering by average linkage over the candidate graph: candidates in (one file's, or
//! several parties'), clusters out, grown so that they do not chain.
//!
//! Candidates are taken by descending score ([`Candidate::solver_order`]); a candidate joins
//! the clusters of its two records when the **mean similarity of all cross pairs** of the two
//! clusters (every record of one against every record of the other, scored afresh from the
//! filters, candidates or not) is at least the threshold. A true group whose members are all
//! alike merges whole even when some of its pairs fall below the threshold (where complete
//! linkage would split it); a stranger who resembles one member of a group, through a single
//! pair, does not join (where connected components would chain it in, and through it the
//! stranger's own group). With several parties a merge also needs the clusters to share no
//! party: each file lists a person once.
//!
//! Deterministic: the same candidates in any order (a pair given twice counts once, with its
//! higher score) and the same scoring function give the same clusters on any thread count.
//! Cost: one fresh score per cross pair of each attempted merge; for a merge of clusters of
//! sizes `p` and `q` that is `p q`, and an attempt stops early once its mean can no longer
//! reach the threshold.

use crate::linkage::{Candidate, PartyCandidate, RecordRef};

/// Clusters of one file's duplicates by average linkage at `threshold` (see the module docs).
/// `score(x, y)` is the similarity of records `x` and `y`.
///
/// Output as [`super::dedup_components`]: clusters of two or more records, each sorted,
/// sorted by their smallest member; candidates naming a record `>= n`, or a record with
/// itself, are ignored.
pub fn dedup_average_linkage(
    n: u32,
    candidates: &[Candidate],
    threshold: f64,
    score: &dyn Fn(u32, u32) -> f64,
) -> Vec<Vec<u32>> {
    let mut edges: Vec<(u32, u32, f64)> = candidates
        .iter()
        .filter(|c| c.a < n && c.b < n && c.a != c.b)
        .map(|c| (c.a.min(c.b), c.a.max(c.b), c.score))
        .collect();
    let clusters = agglomerate(&mut edges, n as usize, None, threshold, score);
    finish(clusters)
}

/// Clusters across several parties by average linkage at `threshold`, at most one record per
/// party (see the module docs). `score(x, y)` is the similarity of two records.
///
/// Output as [`super::multiparty_greedy`]: clusters of two or more records, each sorted by
/// `(party, index)`, sorted by their first member. Pairs within one party are ignored.
pub fn multiparty_average_linkage(
    candidates: &[PartyCandidate],
    threshold: f64,
    score: &dyn Fn(RecordRef, RecordRef) -> f64,
) -> Vec<Vec<RecordRef>> {
    let mut records: Vec<RecordRef> = candidates
        .iter()
        .filter(|c| c.a.party != c.b.party)
        .flat_map(|c| [c.a, c.b])
        .collect();
    records.sort_unstable();
    records.dedup();
    let id = |r: RecordRef| records.partition_point(|&x| x < r) as u32;
    let mut edges: Vec<(u32, u32, f64)> = candidates
        .iter()
        .filter(|c| c.a.party != c.b.party)
        .map(|c| {
            let (x, y) = (id(c.a), id(c.b));
            (x.min(y), x.max(y), c.score)
        })
        .collect();
    let parties: Vec<u16> = records.iter().map(|r| r.party).collect();
    let local = |x: u32, y: u32| score(records[x as usize], records[y as usize]);
    let clusters = agglomerate(&mut edges, records.len(), Some(&parties), threshold, &local);
    // Local numbers are in (party, index) order, so sorted members stay sorted.
    let mut out: Vec<Vec<RecordRef>> = finish(clusters)
        .into_iter()
        .map(|c| c.into_iter().map(|x| records[x as usize]).collect())
        .collect();
    out.sort_unstable();
    out
}

/// The agglomeration over nodes `0..nodes` (see the module docs); returns the members of
/// every cluster (singletons included, in no particular order).
fn agglomerate(
    edges: &mut Vec<(u32, u32, f64)>,
    nodes: usize,
    parties: Option<&[u16]>,
    threshold: f64,
    score: &dyn Fn(u32, u32) -> f64,
) -> Vec<Vec<u32>> {
    // One entry per pair, its highest score; then descending score, ascending (a, b).
    edges.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(y.2.total_cmp(&x.2)));
    edges.dedup_by(|later, earlier| (later.0, later.1) == (earlier.0, earlier.1));
    edges.sort_unstable_by(|x, y| y.2.total_cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    let mut cluster_of: Vec<u32> = (0..nodes as u32).collect();
    let mut members: Vec<Vec<u32>> = (0..nodes as u32).map(|x| vec![x]).collect();
    for &(u, v, _) in edges.iter() {
        let (cu, cv) = (cluster_of[u as usize], cluster_of[v as usize]);
        if cu == cv {
            continue;
        }
        let (a, b) = (&members[cu as usize], &members[cv as usize]);
        if let Some(p) = parties
            && a.iter()
                .any(|&x| b.iter().any(|&y| p[x as usize] == p[y as usize]))
        {
            continue;
        }
        if !mean_reaches(a, b, threshold, score) {
            continue;
        }
        // The larger cluster absorbs the smaller (ties: the lower number absorbs).
        let (keep, gone) = if (a.len(), cv) > (b.len(), cu) {
            (cu, cv)
        } else {
            (cv, cu)
        };
        let moved = std::mem::take(&mut members[gone as usize]);
        for &x in &moved {
            cluster_of[x as usize] = keep;
        }
        members[keep as usize].extend(moved);
    }
    members.retain(|m| !m.is_empty());
    members
}

/// Whether the mean of `score` over all pairs of `a x b` is at least `threshold`; stops as
/// soon as the answer is known (scores are at most 1).
fn mean_reaches(a: &[u32], b: &[u32], threshold: f64, score: &dyn Fn(u32, u32) -> f64) -> bool {
    let total = (a.len() * b.len()) as f64;
    let need = threshold * total;
    let mut sum = 0.0;
    let mut left = total;
    for &x in a {
        for &y in b {
            sum += score(x, y);
            left -= 1.0;
            if sum + left < need {
                return false;
            }
        }
    }
    sum >= need
}

/// Clusters of two or more, each sorted, sorted by their smallest member.
fn finish(clusters: Vec<Vec<u32>>) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = clusters
        .into_iter()
        .filter(|c| c.len() >= 2)
        .map(|mut c| {
            c.sort_unstable();
            c
        })
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(a: u32, b: u32, score: f64) -> Candidate {
        Candidate { a, b, score }
    }

    /// Scores from a table of pairs; pairs not in it score `rest`.
    fn table(pairs: &[(u32, u32, f64)], rest: f64) -> impl Fn(u32, u32) -> f64 + '_ {
        move |x, y| {
            pairs
                .iter()
                .find(|p| (p.0, p.1) == (x.min(y), x.max(y)))
                .map_or(rest, |p| p.2)
        }
    }

    #[test]
    fn a_bridge_does_not_chain_two_groups() {
        // Groups {0, 1, 2} and {3, 4}, joined only by the bridge 2-3 at 0.81.
        let pairs = [
            (0, 1, 0.95),
            (0, 2, 0.9),
            (1, 2, 0.92),
            (3, 4, 0.97),
            (2, 3, 0.81),
        ];
        let cands: Vec<Candidate> = pairs.iter().map(|p| c(p.0, p.1, p.2)).collect();
        let score = table(&pairs, 0.5);
        assert_eq!(
            crate::linkage::solve::dedup_components(5, &cands),
            vec![vec![0, 1, 2, 3, 4]]
        );
        assert_eq!(
            dedup_average_linkage(5, &cands, 0.8, &score),
            vec![vec![0, 1, 2], vec![3, 4]]
        );
    }

    #[test]
    fn a_group_with_one_weak_pair_stays_whole() {
        // 0-2 is below the threshold (not a candidate), but the group averages above it.
        let pairs = [(0, 1, 0.95), (1, 2, 0.9), (0, 2, 0.75)];
        let cands = [c(0, 1, 0.95), c(1, 2, 0.9)];
        let score = table(&pairs, 0.0);
        assert_eq!(
            crate::linkage::solve::dedup_complete_linkage(3, &cands),
            vec![vec![0, 1]]
        );
        assert_eq!(
            dedup_average_linkage(3, &cands, 0.8, &score),
            vec![vec![0, 1, 2]]
        );
    }

    #[test]
    fn parties_never_repeat_in_a_cluster() {
        let r = |party, index| RecordRef { party, index };
        let pc = |a, b, score| PartyCandidate { a, b, score };
        let cands = [
            pc(r(0, 0), r(1, 0), 0.95),
            pc(r(0, 1), r(1, 0), 0.94),
            pc(r(1, 0), r(2, 0), 0.93),
        ];
        let clusters = multiparty_average_linkage(&cands, 0.5, &|_, _| 0.9);
        assert_eq!(clusters, vec![vec![r(0, 0), r(1, 0), r(2, 0)]]);
    }

    /// Random candidates over `n` records with scores from a hash of the pair.
    fn pair_score(x: u32, y: u32) -> f64 {
        let (x, y) = (x.min(y) as u64, x.max(y) as u64);
        let h = (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ y.wrapping_mul(0xc2b2_ae3d_27d4_eb4f))
            .wrapping_mul(0x94d0_49bb_1331_11eb);
        // Coarse, so that many scores tie.
        0.5 + (h >> 60) as f64 / 32.0
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn deterministic_and_independent_of_input_order(
            pairs in proptest::collection::vec((0u32..40, 0u32..40), 0..200),
            seed in any::<u64>(),
            threshold in 0.5f64..0.9,
        ) {
            let cands: Vec<Candidate> = pairs
                .iter()
                .map(|&(a, b)| c(a, b, pair_score(a, b)))
                .filter(|x| x.score >= threshold)
                .collect();
            let expected = dedup_average_linkage(40, &cands, threshold, &pair_score);
            // Shuffled, with a and b swapped in some, and some pairs given twice.
            let mut shuffled = cands.clone();
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            for (i, x) in shuffled.iter_mut().enumerate() {
                if (seed >> (i % 64)) & 1 == 1 {
                    *x = c(x.b, x.a, x.score);
                }
            }
            shuffled.extend(cands.iter().take(3).copied());
            prop_assert_eq!(dedup_average_linkage(40, &shuffled, threshold, &pair_score), expected.clone());
            // The same on a pool of one thread and of four.
            for threads in [1, 4] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let got = pool.install(|| dedup_average_linkage(40, &shuffled, threshold, &pair_score));
                prop_assert_eq!(&got, &expected);
            }
            // Every cluster averages at least the threshold over its pairs (by induction over
            // the merges: its own pairs, the other's and the cross pairs each do).
            for cl in &expected {
                let mut sum = 0.0;
                let mut k = 0.0;
                for (i, &x) in cl.iter().enumerate() {
                    for &y in &cl[i + 1..] {
                        sum += pair_score(x, y);
                        k += 1.0;
                    }
                }
                prop_assert!(sum / k >= threshold - 1e-9, "cluster {:?}", cl);
            }
        }
    }
}
