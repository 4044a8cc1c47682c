//! Multi-party linkage: scored pairs between records of several files in, clusters out.

use super::util::NONE;
use crate::linkage::{PartyCandidate, RecordRef};

/// Clusters across several parties by greedy agglomeration, at most one record per party.
///
/// The idea of anonlink's greedy multi-party solver: a cluster is a set of records believed to
/// be one person, and since each party's file lists a person once, a cluster holds at most one
/// record of each party. Candidates are taken by descending score, ties by ascending `a`, then
/// ascending `b` (with `a` the lower of the two records by `(party, index)`), and for pair
/// `a-b`:
///
/// * neither record is clustered: they form a new cluster;
/// * one is clustered: the other joins that cluster if its party is not in it yet;
/// * both are, in different clusters: the clusters merge if no party is in both;
/// * otherwise (same cluster, or a party conflict) the pair is skipped.
///
/// A strong pair therefore claims its records first, and a weaker pair can never put two
/// records of one party together. Unlike anonlink's solver, a record or cluster joins through a
/// single pair; anonlink also waits until every cross pair of two groups has been seen, as
/// [`dedup_complete_linkage`](super::dedup_complete_linkage) does.
///
/// Pairs of two records of one party are ignored. Cost: `O(m log m)` for `m` candidates, plus
/// `O(p)` per merge for clusters of up to `p` records.
///
/// Returns the clusters (two or more records each), each sorted by `(party, index)`, sorted by
/// their first member.
pub fn multiparty_greedy(candidates: &[PartyCandidate]) -> Vec<Vec<RecordRef>> {
    let mut pairs: Vec<PartyCandidate> = candidates
        .iter()
        .filter(|c| c.a.party != c.b.party)
        .map(|c| PartyCandidate {
            a: c.a.min(c.b),
            b: c.a.max(c.b),
            score: c.score,
        })
        .collect();
    pairs.sort_unstable_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    let mut records: Vec<RecordRef> = pairs.iter().flat_map(|c| [c.a, c.b]).collect();
    records.sort_unstable();
    records.dedup();
    let id = |r: RecordRef| records.partition_point(|&x| x < r) as u32;

    // Members are record numbers; since `records` is sorted by (party, index), a cluster's
    // sorted members are also sorted by party, which makes the party checks merge walks.
    let mut cluster_of = vec![NONE; records.len()];
    let mut clusters: Vec<Vec<u32>> = Vec::new();
    let party = |x: u32| records[x as usize].party;
    for c in &pairs {
        let (u, v) = (id(c.a), id(c.b));
        match (cluster_of[u as usize], cluster_of[v as usize]) {
            (NONE, NONE) => {
                cluster_of[u as usize] = clusters.len() as u32;
                cluster_of[v as usize] = clusters.len() as u32;
                clusters.push(vec![u, v]);
            }
            (k, NONE) | (NONE, k) => {
                let newcomer = if cluster_of[u as usize] == NONE { u } else { v };
                let members = &mut clusters[k as usize];
                let at = members.partition_point(|&x| party(x) < party(newcomer));
                if members.get(at).is_none_or(|&x| party(x) != party(newcomer)) {
                    members.insert(at, newcomer);
                    cluster_of[newcomer as usize] = k;
                }
            }
            (ku, kv) if ku == kv => {}
            (ku, kv) => {
                let (x, y) = (&clusters[ku as usize], &clusters[kv as usize]);
                if !disjoint_parties(x, y, party) {
                    continue;
                }
                let (keep, gone) = if x.len() >= y.len() {
                    (ku, kv)
                } else {
                    (kv, ku)
                };
                let moved = std::mem::take(&mut clusters[gone as usize]);
                for &m in &moved {
                    cluster_of[m as usize] = keep;
                }
                let kept = &mut clusters[keep as usize];
                kept.extend(moved);
                kept.sort_unstable();
            }
        }
    }
    let mut out: Vec<Vec<RecordRef>> = clusters
        .into_iter()
        .filter(|members| members.len() >= 2)
        .map(|members| members.into_iter().map(|x| records[x as usize]).collect())
        .collect();
    out.sort_unstable_by(|x: &Vec<RecordRef>, y| x[0].cmp(&y[0]));
    out
}

/// Whether two member lists, each sorted by party, share no party.
fn disjoint_parties(x: &[u32], y: &[u32], party: impl Fn(u32) -> u16) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        match party(x[i]).cmp(&party(y[j])) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::SplitMix;
    use super::*;

    fn r(party: u16, index: u32) -> RecordRef {
        RecordRef { party, index }
    }

    fn p(a: RecordRef, b: RecordRef, score: f64) -> PartyCandidate {
        PartyCandidate { a, b, score }
    }

    #[test]
    fn builds_and_grows_clusters() {
        let cands = [
            p(r(0, 1), r(1, 5), 0.95),
            p(r(1, 5), r(2, 3), 0.9),  // joins: party 2 is new
            p(r(0, 2), r(1, 6), 0.85), // a second cluster
            p(r(3, 0), r(2, 3), 0.6),  // joins the first
        ];
        assert_eq!(
            multiparty_greedy(&cands),
            vec![
                vec![r(0, 1), r(1, 5), r(2, 3), r(3, 0)],
                vec![r(0, 2), r(1, 6)],
            ]
        );
    }

    #[test]
    fn one_record_per_party() {
        // r(1,7) cannot join {r(0,1), r(1,5)}: party 1 is there already.
        let cands = [p(r(0, 1), r(1, 5), 0.95), p(r(0, 1), r(1, 7), 0.9)];
        assert_eq!(multiparty_greedy(&cands), vec![vec![r(0, 1), r(1, 5)]]);
        // Same-party pairs are ignored.
        let cands = [p(r(0, 1), r(0, 2), 0.99)];
        assert!(multiparty_greedy(&cands).is_empty());
    }

    #[test]
    fn merge_refused_when_parties_overlap() {
        let cands = [
            p(r(0, 1), r(1, 1), 0.95),
            p(r(0, 2), r(2, 2), 0.94),
            // Would merge {0:1, 1:1} with {0:2, 2:2}: both have party 0.
            p(r(1, 1), r(2, 2), 0.9),
            p(r(1, 3), r(2, 4), 0.8),
            // Merges {0:1, 1:1} with {1:3 ...}? No: party 1 in both.
            p(r(0, 1), r(2, 4), 0.7),
            // {0:2, 2:2} and {3:9, 4:9} share no party: merged.
            p(r(3, 9), r(4, 9), 0.65),
            p(r(2, 2), r(4, 9), 0.6),
        ];
        let clusters = multiparty_greedy(&cands);
        assert_eq!(
            clusters,
            vec![
                vec![r(0, 1), r(1, 1)],
                vec![r(0, 2), r(2, 2), r(3, 9), r(4, 9)],
                vec![r(1, 3), r(2, 4)],
            ]
        );
    }

    #[test]
    fn ties_by_a_then_b() {
        // Two candidates for r(1,0)'s party-0 partner with equal scores: the lower a wins.
        let cands = [p(r(0, 9), r(1, 0), 0.8), p(r(0, 3), r(1, 0), 0.8)];
        assert_eq!(multiparty_greedy(&cands), vec![vec![r(0, 3), r(1, 0)]]);
        // The orientation of a pair does not matter.
        let cands = [p(r(1, 0), r(0, 9), 0.8), p(r(1, 0), r(0, 3), 0.8)];
        assert_eq!(multiparty_greedy(&cands), vec![vec![r(0, 3), r(1, 0)]]);
    }

    #[test]
    fn random_invariants_and_order_independence() {
        let mut rng = SplitMix(3);
        let mut cands: Vec<PartyCandidate> = (0..5000)
            .map(|_| {
                let pa = rng.below(5) as u16;
                let pb = (pa + 1 + rng.below(4) as u16) % 5;
                let score = (rng.below(10) + 1) as f64 / 10.0;
                p(
                    r(pa, rng.below(400) as u32),
                    r(pb, rng.below(400) as u32),
                    score,
                )
            })
            .collect();
        let clusters = multiparty_greedy(&cands);
        let mut all: Vec<RecordRef> = Vec::new();
        for cluster in &clusters {
            assert!(cluster.len() >= 2);
            assert!(
                cluster.windows(2).all(|w| w[0].party < w[1].party),
                "{cluster:?}"
            );
            all.extend(cluster);
        }
        assert!(clusters.windows(2).all(|w| w[0][0] < w[1][0]));
        all.sort_unstable();
        assert!(
            all.windows(2).all(|w| w[0] != w[1]),
            "a record in two clusters"
        );
        rng.shuffle(&mut cands);
        assert_eq!(multiparty_greedy(&cands), clusters);
    }
}
