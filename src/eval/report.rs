//! One evaluation: a match output against the truth, optionally with the scored candidates
//! (threshold sweep) and the input sizes (reduction ratio, pair completeness). This is what
//! `pprl eval` runs; it prints nothing.

use std::collections::HashSet;
use std::path::PathBuf;

use super::EvalError;
use super::metrics::{BlockingMetrics, PairMetrics, Sweep, comparison_space};
use super::truth::{Layout, Links, Pair, PairRule, Records};
use crate::linkage::{Candidate, RecordRef, solve};

/// Which kind of linkage the match output describes (from its layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linkage {
    /// Two files, one-to-one or many-to-many pairs (`a_id,b_id`).
    TwoParty,
    /// One file, clusters of duplicates (`cluster,id`).
    Dedup,
    /// Three or more files, clusters (`cluster,party,id`); pairs across files count.
    MultiParty,
}

impl Linkage {
    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Linkage::TwoParty => "two-party",
            Linkage::Dedup => "dedup",
            Linkage::MultiParty => "multi-party",
        }
    }
}

/// What to evaluate.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// The ground truth (see [`super::truth`] for the layouts).
    pub truth: PathBuf,
    /// The links to evaluate: a `pprl match` output.
    pub matches: PathBuf,
    /// Scored candidates `a_id,b_id,score` (e.g. `pprl match --solver none` at a low
    /// threshold): enables the threshold sweep.
    pub scores: Option<PathBuf>,
    /// Before sweeping, resolve the scored candidates one-to-one with the greedy solver, so each
    /// threshold shows what `pprl match --solver greedy` would give there.
    pub one_to_one: bool,
    /// Records in each input file, in the order given to `pprl match` (as in its JSON
    /// summary's `records`): enables reduction ratio and pair completeness.
    pub records: Option<Vec<u64>>,
}

/// The scored candidates, labelled by the truth.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Precision, recall and F1 at every threshold.
    pub sweep: Sweep,
    /// Each scored pair's score and whether it is a true pair, in file order.
    pub labelled: Vec<(f64, bool)>,
    /// Whether the candidates were resolved one-to-one first.
    pub one_to_one: bool,
}

/// The result of [`evaluate`].
#[derive(Debug, Clone)]
pub struct EvalReport {
    /// The kind of linkage evaluated.
    pub linkage: Linkage,
    /// Quality of the match output's pairs.
    pub metrics: PairMetrics,
    /// Pairs in the truth.
    pub true_pairs: u64,
    /// Pairs in the match output.
    pub predicted_pairs: u64,
    /// Reduction ratio and pair completeness of the candidate set (the scores file if given,
    /// otherwise the match output), when the input sizes are known.
    pub blocking: Option<BlockingMetrics>,
    /// The sweep, when scores were given.
    pub scored: Option<Scored>,
}

/// Evaluates a match output against the truth (see [`EvalOptions`]).
pub fn evaluate(opts: &EvalOptions) -> Result<EvalReport, EvalError> {
    let mut records = Records::new();
    // Scores first: records are then numbered in the candidates' order, which is the order the
    // greedy solver breaks ties by in `pprl match`.
    let scores = match &opts.scores {
        Some(path) => {
            let links = Links::read(path, &mut records)?;
            if links.layout() != Layout::Pairs || !links.has_scores() {
                return Err(EvalError::ScoresLayout {
                    path: path.display().to_string(),
                });
            }
            Some(links)
        }
        None => None,
    };
    let matches = Links::read(&opts.matches, &mut records)?;
    if matches.has_truth_names() {
        return Err(EvalError::MatchesKind {
            path: opts.matches.display().to_string(),
        });
    }
    let truth = Links::read(&opts.truth, &mut records)?;
    if truth.has_score_column() {
        return Err(EvalError::TruthKind {
            path: opts.truth.display().to_string(),
        });
    }
    let linkage = match matches.layout() {
        Layout::Pairs => Linkage::TwoParty,
        Layout::Clusters => Linkage::Dedup,
        Layout::PartyClusters => Linkage::MultiParty,
    };
    check_parties(opts, linkage, &truth)?;
    if scores.is_some() && linkage != Linkage::TwoParty {
        return Err(EvalError::ScoresNeedTwoFiles {
            path: opts.matches.display().to_string(),
            linkage: linkage.as_str(),
        });
    }
    let rule = match linkage {
        Linkage::Dedup => PairRule::All,
        _ => PairRule::CrossParty,
    };
    let true_set = truth.pairs(rule);
    if true_set.is_empty() {
        return Err(EvalError::NoTruePairs {
            truth: opts.truth.display().to_string(),
            linkage: linkage.as_str(),
            across: match rule {
                PairRule::All => "",
                PairRule::CrossParty => " in different files",
            },
        });
    }
    check_counts(opts, &records)?;
    let predicted = matches.pairs(rule);
    let tp = predicted.intersection(&true_set).count() as u64;
    let metrics =
        PairMetrics::from_counts(tp, predicted.len() as u64 - tp, true_set.len() as u64 - tp);

    let scored = scores.as_ref().map(|links| {
        let mut pairs: Vec<(Pair, f64)> = links.scored_pairs().collect();
        if opts.one_to_one {
            pairs = greedy(&pairs);
        }
        let mut seen = HashSet::with_capacity(pairs.len());
        let labelled: Vec<(f64, bool)> = pairs
            .iter()
            .filter(|(p, _)| seen.insert(*p))
            .map(|(p, s)| (*s, true_set.contains(p)))
            .collect();
        Scored {
            sweep: Sweep::new(labelled.iter().copied(), true_set.len() as u64),
            labelled,
            one_to_one: opts.one_to_one,
        }
    });

    let blocking = match &opts.records {
        Some(sizes) => {
            let candidates: HashSet<Pair> = match &scores {
                Some(links) => links.pairs(rule),
                None => predicted.clone(),
            };
            let true_candidates = candidates.intersection(&true_set).count() as u64;
            Some(BlockingMetrics::new(
                comparison_space(sizes),
                candidates.len() as u64,
                true_set.len() as u64,
                true_candidates,
            ))
        }
        None => None,
    };
    Ok(EvalReport {
        linkage,
        metrics,
        true_pairs: true_set.len() as u64,
        predicted_pairs: predicted.len() as u64,
        blocking,
        scored,
    })
}

/// Refuses a truth that names other files than the match output, and sizes that do not fit.
fn check_parties(opts: &EvalOptions, linkage: Linkage, truth: &Links) -> Result<(), EvalError> {
    let max_party = truth.parties().iter().next_back().copied().unwrap_or(0);
    // A truth of clusters within one file describes one file, a pairs truth two.
    let (fits, parties) = match (truth.layout(), linkage) {
        (Layout::Clusters, Linkage::Dedup) | (Layout::Pairs, Linkage::TwoParty) => (true, 0),
        (Layout::Clusters, _) => (false, 1),
        (Layout::Pairs, _) => (false, 2),
        (Layout::PartyClusters, Linkage::Dedup) => (max_party == 0, truth.parties().len()),
        (Layout::PartyClusters, Linkage::TwoParty) => (max_party <= 1, truth.parties().len()),
        (Layout::PartyClusters, Linkage::MultiParty) => (true, 0),
    };
    if !fits {
        return Err(EvalError::TruthParties {
            truth: opts.truth.display().to_string(),
            parties,
            matches: opts.matches.display().to_string(),
            linkage: linkage.as_str(),
        });
    }
    if let Some(sizes) = &opts.records {
        let wanted = match linkage {
            Linkage::Dedup => Some(1),
            Linkage::TwoParty => Some(2),
            Linkage::MultiParty => None,
        };
        let ok = match wanted {
            Some(n) => sizes.len() == n,
            None => sizes.len() > usize::from(max_party) && sizes.len() >= 3,
        };
        if !ok {
            return Err(EvalError::RecordSizes {
                given: sizes.len(),
                linkage: linkage.as_str(),
                wanted: wanted.map_or("one per file (three or more)".to_string(), |n| {
                    n.to_string()
                }),
            });
        }
    }
    Ok(())
}

/// Refuses record counts of zero, and counts below the distinct records the files name.
fn check_counts(opts: &EvalOptions, records: &Records) -> Result<(), EvalError> {
    let Some(sizes) = &opts.records else {
        return Ok(());
    };
    if let Some(i) = sizes.iter().position(|&n| n == 0) {
        return Err(EvalError::RecordCount { position: i + 1 });
    }
    for (file, &given) in sizes.iter().enumerate() {
        let seen = u16::try_from(file).map_or(0, |p| records.len(p)) as u64;
        if seen > given {
            return Err(EvalError::RecordsBeyondCount {
                file: file + 1,
                given,
                seen,
            });
        }
    }
    Ok(())
}

/// The greedy one-to-one solver of `pprl match` over scored two-party pairs.
fn greedy(pairs: &[(Pair, f64)]) -> Vec<(Pair, f64)> {
    let candidates: Vec<Candidate> = pairs
        .iter()
        .map(|&((a, b), score)| Candidate {
            a: a.index,
            b: b.index,
            score,
        })
        .collect();
    solve::greedy(&candidates)
        .into_iter()
        .map(|c| {
            let a = RecordRef {
                party: 0,
                index: c.a,
            };
            let b = RecordRef {
                party: 1,
                index: c.b,
            };
            ((a, b), c.score)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::EvalErrorKind;

    struct Files(tempfile::TempDir);

    impl Files {
        fn new() -> Files {
            Files(tempfile::tempdir().unwrap())
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        }
    }

    #[test]
    fn two_party_by_hand() {
        let f = Files::new();
        let opts = EvalOptions {
            truth: f.write("truth.csv", "a_id,b_id\na1,b1\na2,b2\na3,b3\na4,b4\n"),
            matches: f.write(
                "m.csv",
                "a_id,b_id,score\na1,b1,0.95\na2,b2,0.9\na3,b9,0.85\n",
            ),
            scores: Some(f.write(
                "s.csv",
                "a_id,b_id,score\na1,b1,0.95\na2,b2,0.9\na3,b9,0.85\na3,b3,0.8\na1,b2,0.7\n",
            )),
            one_to_one: false,
            records: Some(vec![10, 20]),
        };
        let r = evaluate(&opts).unwrap();
        assert_eq!(r.linkage, Linkage::TwoParty);
        assert_eq!((r.metrics.tp, r.metrics.fp, r.metrics.fn_), (2, 1, 2));
        assert_eq!((r.true_pairs, r.predicted_pairs), (4, 3));
        let b = r.blocking.unwrap();
        assert_eq!(
            (b.comparison_space, b.candidates, b.true_candidates),
            (200, 5, 3)
        );
        assert!((b.pair_completeness - 0.75).abs() < 1e-12);
        assert!((b.reduction_ratio - (1.0 - 5.0 / 200.0)).abs() < 1e-12);
        let s = r.scored.unwrap();
        // At 0.8: a1-b1, a2-b2, a3-b3 true, a3-b9 false -> F1 = 6/8; at 0.7 a1-b2 adds a false one.
        let best = s.sweep.best(1.0).unwrap();
        assert_eq!(best.threshold, 0.8);
        assert_eq!((best.metrics.tp, best.metrics.fp), (3, 1));
    }

    #[test]
    fn one_to_one_sweep_is_greedy() {
        let f = Files::new();
        let opts = EvalOptions {
            truth: f.write("truth.csv", "a_id,b_id\na1,b1\na2,b2\n"),
            matches: f.write("m.csv", "a_id,b_id\na1,b1\n"),
            // Greedy takes a1-b1 (0.9), then drops a1-b2 and a2-b1, keeps a2-b2.
            scores: Some(f.write(
                "s.csv",
                "a_id,b_id,score\na1,b2,0.8\na1,b1,0.9\na2,b1,0.85\na2,b2,0.6\n",
            )),
            one_to_one: true,
            records: None,
        };
        let s = evaluate(&opts).unwrap().scored.unwrap();
        assert_eq!(s.labelled, [(0.9, true), (0.6, true)]);
        assert_eq!(s.sweep.best(1.0).unwrap().metrics.f1, 1.0);
    }

    #[test]
    fn dedup_and_multi_party_clusters() {
        let f = Files::new();
        // Truth: {x, y, z} and {u, v}; predicted {x, y} and {u, v, w}.
        let opts = EvalOptions {
            truth: f.write(
                "t.csv",
                "entity_id,record_id\ne1,x\ne1,y\ne1,z\ne2,u\ne2,v\n",
            ),
            matches: f.write("m.csv", "cluster,id\n0,x\n0,y\n1,u\n1,v\n1,w\n"),
            records: Some(vec![6]),
            ..EvalOptions::default()
        };
        let r = evaluate(&opts).unwrap();
        assert_eq!(r.linkage, Linkage::Dedup);
        // True pairs xy xz yz uv; predicted xy uv uw vw.
        assert_eq!((r.metrics.tp, r.metrics.fp, r.metrics.fn_), (2, 2, 2));
        assert_eq!(r.blocking.unwrap().comparison_space, 15);

        let opts = EvalOptions {
            truth: f.write(
                "t3.csv",
                "entity_id,party,record_id\ne,0,a\ne,1,b\ne,2,c\nf,0,d\nf,2,e\n",
            ),
            matches: f.write("m3.csv", "cluster,party,id\n0,0,a\n0,1,b\n1,0,d\n1,1,q\n"),
            ..EvalOptions::default()
        };
        let r = evaluate(&opts).unwrap();
        assert_eq!(r.linkage, Linkage::MultiParty);
        // True: a-b a-c b-c d-e; predicted: a-b d-q.
        assert_eq!((r.metrics.tp, r.metrics.fp, r.metrics.fn_), (1, 1, 3));
    }

    #[test]
    fn mismatched_inputs_are_refused() {
        let f = Files::new();
        let two = f.write("t.csv", "a_id,b_id\na,b\n");
        let dedup = f.write("m.csv", "cluster,id\n0,x\n0,y\n");
        let pairs = f.write("p.csv", "a_id,b_id\na,b\n");
        let err = |o: EvalOptions| evaluate(&o).unwrap_err();
        let e = err(EvalOptions {
            truth: two.clone(),
            matches: dedup.clone(),
            ..EvalOptions::default()
        });
        assert_eq!(e.kind(), EvalErrorKind::TruthParties, "{e}");
        let e = err(EvalOptions {
            truth: two.clone(),
            matches: pairs.clone(),
            scores: Some(pairs.clone()),
            ..EvalOptions::default()
        });
        assert_eq!(e.kind(), EvalErrorKind::ScoresLayout, "{e}");
        let e = err(EvalOptions {
            truth: two,
            matches: pairs,
            records: Some(vec![3]),
            ..EvalOptions::default()
        });
        assert!(matches!(e, EvalError::RecordSizes { given: 1, .. }), "{e}");
        assert_eq!(e.kind(), EvalErrorKind::RecordSizes);
    }

    #[test]
    fn files_of_the_wrong_kind_are_refused() {
        let f = Files::new();
        let pairs = f.write("p.csv", "a_id,b_id\na1,b1\na2,b2\n");
        let scored = f.write("s.csv", "a_id,b_id,score\na1,b1,0.9\n");
        let dedup_truth = f.write("d.csv", "entity_id,record_id\ne,x\ne,y\n");
        let singles = f.write("one.csv", "entity_id,party,record_id\ne,0,a1\nf,1,b1\n");
        let kind = |truth: &PathBuf, matches: &PathBuf| {
            evaluate(&EvalOptions {
                truth: truth.clone(),
                matches: matches.clone(),
                ..EvalOptions::default()
            })
            .unwrap_err()
            .kind()
        };
        // A match output given as the truth, and a truth given as the matches.
        assert_eq!(kind(&scored, &pairs), EvalErrorKind::TruthKind);
        assert_eq!(kind(&pairs, &dedup_truth), EvalErrorKind::MatchesKind);
        // Clusters of one file against a two-file result (was precision 0, recall 1).
        assert_eq!(kind(&dedup_truth, &pairs), EvalErrorKind::TruthParties);
        // A truth whose entities each have one record holds no true pair.
        assert_eq!(kind(&singles, &pairs), EvalErrorKind::NoTruePairs);
    }

    #[test]
    fn record_counts_are_checked_against_the_files() {
        let f = Files::new();
        let truth = f.write("t.csv", "a_id,b_id\na1,b1\na2,b2\n");
        let matches = f.write("m.csv", "a_id,b_id,score\na1,b1,0.9\na3,b2,0.8\n");
        let run = |records: Vec<u64>| {
            evaluate(&EvalOptions {
                truth: truth.clone(),
                matches: matches.clone(),
                records: Some(records),
                ..EvalOptions::default()
            })
        };
        assert_eq!(
            run(vec![0, 5]).unwrap_err().kind(),
            EvalErrorKind::RecordCount
        );
        // Three distinct a ids (a1, a3, a2), two b ids.
        let e = run(vec![1, 1]).unwrap_err();
        assert!(
            matches!(
                e,
                EvalError::RecordsBeyondCount {
                    file: 1,
                    given: 1,
                    seen: 3
                }
            ),
            "{e}"
        );
        let b = run(vec![3, 2]).unwrap().blocking.unwrap();
        assert!(b.reduction_ratio >= 0.0);
        assert_eq!((b.comparison_space, b.candidates), (6, 2));
    }
}
