//! The automatic threshold on simulated score distributions with known answers.
//!
//! Each simulated record has a non-match environment (the best and second-best of `others`
//! independent non-match scores, drawn exactly through order statistics) and, if matched, one
//! true-match score. The scenarios vary the overlap, the separation and the shape of both
//! groups; none of them was used to design the method (see the module docs), and the method has
//! no parameter to tune.

use super::*;

/// SplitMix64, for reproducible simulations.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1).
    fn open(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// A logistic distribution (location, scale): heavier tails than a normal one.
#[derive(Clone, Copy)]
struct Logistic(f64, f64);

impl Logistic {
    /// The quantile at `ln p` and `ln (1 - p)` (given as logs, for precision near 1).
    fn quantile_logs(self, ln_p: f64, ln_q: f64) -> f64 {
        (self.0 + self.1 * (ln_p - ln_q)).clamp(0.0, 1.0)
    }

    fn draw(self, rng: &mut Rng) -> f64 {
        let u = rng.open();
        self.quantile_logs(u.ln(), (-u).ln_1p())
    }

    /// The largest and second largest of `n` independent draws, exactly (order statistics of
    /// uniforms: `U1 = u^(1/n)`, `U2 = U1 v^(1/(n-1))`).
    fn top_two(self, n: usize, rng: &mut Rng) -> (f64, f64) {
        let l1 = rng.open().ln() / n as f64;
        let l2 = l1 + rng.open().ln() / (n - 1) as f64;
        let q = |l: f64| self.quantile_logs(l, (-l.exp_m1()).ln());
        (q(l1), q(l2))
    }
}

#[derive(Clone, Copy)]
struct Scenario {
    /// Records per side.
    records: usize,
    /// Share of records with a match.
    overlap: f64,
    /// Records on the other side (non-matches each record is compared with).
    others: usize,
    /// Non-match score distribution.
    non_match: Logistic,
    /// True-match score distribution.
    matched: Logistic,
    /// Share of true matches that are exact copies (score 1).
    exact: f64,
    /// Scores below this are censored (not kept).
    floor: f64,
}

/// One simulated record: its top two scores, and whether its best is its true match.
struct Record {
    top: TopTwo,
    matched: bool,
    best_is_true: bool,
}

fn simulate(s: &Scenario, seed: u64) -> Vec<Vec<Record>> {
    let mut rng = Rng(seed);
    (0..2)
        .map(|_| {
            (0..s.records)
                .map(|_| {
                    let matched = rng.open() < s.overlap;
                    let strangers = if matched { s.others - 1 } else { s.others };
                    let (x1, x2) = s.non_match.top_two(strangers, &mut rng);
                    let mut top = TopTwo::NONE;
                    top.push(x1);
                    top.push(x2);
                    let mut best_is_true = false;
                    if matched {
                        let m = if rng.open() < s.exact {
                            1.0
                        } else {
                            s.matched.draw(&mut rng)
                        };
                        best_is_true = m > x1;
                        top.push(m);
                    }
                    let censor = |v: f64| if v >= s.floor { v } else { f64::NEG_INFINITY };
                    Record {
                        top: TopTwo {
                            best: censor(top.best),
                            second: censor(top.second),
                        },
                        matched,
                        best_is_true,
                    }
                })
                .collect()
        })
        .collect()
}

/// The true F1 of linking every record whose best score is at least `t`.
fn true_f1(sides: &[Vec<Record>], t: f64) -> f64 {
    let (mut tp, mut links, mut matched) = (0u64, 0u64, 0u64);
    for r in sides.iter().flatten() {
        matched += u64::from(r.matched);
        if r.top.best >= t {
            links += 1;
            tp += u64::from(r.matched && r.best_is_true);
        }
    }
    2.0 * tp as f64 / (links + matched) as f64
}

/// The best F1 over every threshold: one pass over the records by descending best score.
fn best_f1(sides: &[Vec<Record>]) -> (f64, f64) {
    let mut records: Vec<&Record> = sides
        .iter()
        .flatten()
        .filter(|r| r.top.best.is_finite())
        .collect();
    records.sort_unstable_by(|x, y| y.top.best.total_cmp(&x.top.best));
    let matched = sides.iter().flatten().filter(|r| r.matched).count() as f64;
    let (mut tp, mut links) = (0.0, 0.0);
    let mut best = (0.0, 0.0);
    for group in records.chunk_by(|x, y| x.top.best == y.top.best) {
        links += group.len() as f64;
        tp += group.iter().filter(|r| r.matched && r.best_is_true).count() as f64;
        let f1 = 2.0 * tp / (links + matched);
        if f1 > best.0 {
            best = (f1, group[0].top.best);
        }
    }
    best
}

fn check(name: &str, s: &Scenario, seeds: std::ops::Range<u64>, tolerance: f64) {
    for seed in seeds {
        let sim = simulate(s, seed);
        let sides: Vec<SideScores> = sim
            .iter()
            .map(|side| SideScores {
                population: side.len() as u64,
                scores: side.iter().map(|r| r.top).collect(),
            })
            .collect();
        let auto = choose(&sides, s.floor).unwrap();
        let got = true_f1(&sim, auto.value);
        let (best, best_t) = best_f1(&sim);
        assert!(
            got >= best - tolerance,
            "{name}, seed {seed}: F1 {got:.4} at the chosen {:.4} ({}), best {best:.4} at \
             {best_t:.4}; {}",
            auto.value,
            auto.method.as_str(),
            auto.explanation()
        );
        assert_eq!(auto.method, Method::SecondBest, "{name}");
        // Only matched records whose match beats every stranger can be told apart by their
        // scores: those are the matches the method can count.
        let findable = sim
            .iter()
            .flatten()
            .filter(|r| r.matched && r.best_is_true)
            .count() as f64
            / 2.0;
        assert!(
            (auto.estimated_matches - findable).abs() <= 0.25 * findable + 20.0,
            "{name}, seed {seed}: estimated {} matches, findable {findable}",
            auto.estimated_matches
        );
    }
}

const BASE: Scenario = Scenario {
    records: 5_000,
    overlap: 0.5,
    others: 10_000,
    non_match: Logistic(0.45, 0.02),
    matched: Logistic(0.88, 0.035),
    exact: 0.2,
    floor: 0.0,
};

#[test]
fn well_separated() {
    check("well separated", &BASE, 1..4, 0.01);
}

#[test]
fn groups_that_overlap() {
    // Non-match best around 0.5 + 0.025 ln(1e4) = 0.73; matches 0.82 with a heavy lower tail.
    let s = Scenario {
        non_match: Logistic(0.5, 0.025),
        matched: Logistic(0.82, 0.04),
        exact: 0.05,
        ..BASE
    };
    // The best F1 here is only about 0.76: the hardest case, with a looser tolerance.
    check("overlapping", &s, 10..13, 0.02);
}

#[test]
fn few_or_many_matches() {
    // With 5% overlap only about 500 decoys describe 9,500 non-matched records' scores, so
    // their far tail is estimated from few points: a looser tolerance.
    check(
        "few matches",
        &Scenario {
            overlap: 0.05,
            records: 10_000,
            ..BASE
        },
        20..22,
        0.04,
    );
    check(
        "many matches",
        &Scenario {
            overlap: 0.9,
            ..BASE
        },
        30..32,
        0.01,
    );
}

#[test]
fn small_and_large_other_files() {
    check(
        "1,000 others",
        &Scenario {
            others: 1_000,
            ..BASE
        },
        40..42,
        0.01,
    );
    check(
        "1,000,000 others, noisier matches",
        &Scenario {
            others: 1_000_000,
            matched: Logistic(0.85, 0.05),
            ..BASE
        },
        50..52,
        0.01,
    );
}

#[test]
fn censored_below_a_floor() {
    // Candidates only above 0.5: most second-best scores are unknown.
    check("floor 0.5", &Scenario { floor: 0.5, ..BASE }, 60..62, 0.01);
}

#[test]
fn candidates_give_the_same_sides_as_a_scan() {
    use crate::linkage::Candidate;
    let c = |a, b, score| Candidate { a, b, score };
    let cands = [c(0, 0, 0.9), c(0, 1, 0.6), c(1, 1, 0.7), c(2, 1, 0.8)];
    let [a, b] = sides_from_candidates(&cands, [4, 2]);
    assert_eq!(a.population, 4);
    let pair = |t: &TopTwo| (t.best, t.second);
    let ninf = f64::NEG_INFINITY;
    assert_eq!(
        a.scores.iter().map(pair).collect::<Vec<_>>(),
        [(0.9, 0.6), (0.7, ninf), (0.8, ninf), (ninf, ninf)]
    );
    assert_eq!(
        b.scores.iter().map(pair).collect::<Vec<_>>(),
        [(0.9, ninf), (0.8, 0.7)]
    );
}

#[test]
fn too_few_records_is_an_error() {
    let side = SideScores {
        population: 3,
        scores: vec![
            TopTwo {
                best: 0.9,
                second: 0.5
            };
            3
        ],
    };
    assert!(matches!(
        choose(&[side], 0.0),
        Err(MatchError::TooFewScores { .. })
    ));
}

#[test]
fn otsu_splits_two_clear_groups() {
    let mut scores = vec![0.3; 100];
    scores.extend(vec![0.9; 50]);
    let t = otsu(&scores);
    assert!(t > 0.3 && t <= 0.9, "{t}");
    assert_eq!(otsu(&[0.5, 0.5]), 0.5);
}

#[test]
fn unrelated_files_show_few_matches() {
    let s = Scenario {
        overlap: 0.0,
        ..BASE
    };
    let sim = simulate(&s, 70);
    let sides: Vec<SideScores> = sim
        .iter()
        .map(|side| SideScores {
            population: side.len() as u64,
            scores: side.iter().map(|r| r.top).collect(),
        })
        .collect();
    let auto = choose(&sides, 0.0).unwrap();
    // Nothing to find: the estimate must not invent a large match group, and must show it is
    // unsure (a low estimated F1), as docs/threshold.md says.
    assert!(
        auto.estimated_matches < 0.05 * s.records as f64 && auto.estimated_f1 < 0.8,
        "{}",
        auto.explanation()
    );
}

/// Not a check: prints the F1 lost by the automatic threshold over many seeds and scenarios
/// (`cargo test --release --lib threshold::tests::survey -- --ignored --nocapture`).
#[test]
#[ignore]
fn survey() {
    let scenarios = [
        ("base", BASE),
        (
            "overlapping",
            Scenario {
                non_match: Logistic(0.5, 0.025),
                matched: Logistic(0.82, 0.04),
                exact: 0.05,
                ..BASE
            },
        ),
        (
            "few",
            Scenario {
                overlap: 0.05,
                records: 10_000,
                ..BASE
            },
        ),
        (
            "many",
            Scenario {
                overlap: 0.9,
                ..BASE
            },
        ),
        (
            "1k others",
            Scenario {
                others: 1_000,
                ..BASE
            },
        ),
        (
            "1M others",
            Scenario {
                others: 1_000_000,
                matched: Logistic(0.85, 0.05),
                ..BASE
            },
        ),
        ("floor", Scenario { floor: 0.5, ..BASE }),
    ];
    for (name, s) in scenarios {
        let mut losses = Vec::new();
        for seed in 100..120 {
            let sim = simulate(&s, seed);
            let sides: Vec<SideScores> = sim
                .iter()
                .map(|side| SideScores {
                    population: side.len() as u64,
                    scores: side.iter().map(|r| r.top).collect(),
                })
                .collect();
            let auto = choose(&sides, s.floor).unwrap();
            let (best, best_t) = best_f1(&sim);
            let loss = best - true_f1(&sim, auto.value);
            if loss > 0.01 {
                println!(
                    "  {name} seed {seed}: loss {loss:.4}, chosen {:.4}, best at {best_t:.4}, otsu {:.4}, rounds {}: {}",
                    auto.value,
                    auto.otsu,
                    auto.rounds,
                    auto.explanation()
                );
            }
            losses.push(loss);
        }
        losses.sort_by(f64::total_cmp);
        println!(
            "{name:12} median loss {:.4}, worst {:.4}",
            losses[10], losses[19]
        );
    }
}
