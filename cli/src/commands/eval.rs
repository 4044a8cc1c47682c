//! `pprl eval --truth truth.csv --matches matches.csv [--scores candidates.csv] [--plot DIR]`.

use anyhow::Result;
use pprl::eval::metrics::SweepPoint;
use pprl::eval::plot::{self, ChartInput, Mark};
use pprl::eval::report::{self, EvalOptions};
use pprl::eval::summary::SummaryOptions;
use pprl::eval::{EvalError, EvalErrorKind};

use super::thousands;
use crate::args::{EvalArgs, Format};

/// Sweep table rows: every 0.05 from the lowest score.
const TABLE_STEP: f64 = 0.05;
/// JSON sweep points: every 0.01 from the lowest score.
const JSON_STEP: f64 = 0.01;

pub fn run(args: &EvalArgs) -> Result<()> {
    use pprl::io::{FileRole, RunFiles};
    let mut files = RunFiles::new()
        .read(FileRole::Truth, &args.truth)
        .read(FileRole::Truth, &args.matches)
        .reads(FileRole::Truth, &args.scores);
    // The charts' folder is created when missing; only existing charts can collide.
    if let Some(dir) = args.plot.as_ref().filter(|d| d.is_dir()) {
        for path in plot::chart_paths(dir) {
            files = files.write(path);
        }
    }
    super::check_files(files)?;
    let report = report::evaluate(&EvalOptions {
        truth: args.truth.clone(),
        matches: args.matches.clone(),
        scores: args.scores.clone(),
        one_to_one: args.one_to_one,
        records: args.records.clone(),
    })
    .map_err(with_hint)?;
    let best = report.scored.as_ref().and_then(|s| s.sweep.best(1.0));
    let mut marks = Vec::new();
    if let Some(b) = best {
        marks.push(Mark {
            label: "best F1".into(),
            threshold: b.threshold,
        });
    }
    if let Some(t) = args.threshold {
        marks.push(Mark {
            label: "in use".into(),
            threshold: t,
        });
    }
    let charts = match (&args.plot, &report.scored) {
        (Some(dir), Some(s)) => plot::write_charts(
            dir,
            &ChartInput {
                sweep: &s.sweep,
                labelled: &s.labelled,
                marks: &marks,
            },
        )?,
        _ => Vec::new(),
    };
    let lowest = report
        .scored
        .as_ref()
        .map_or(0.0, |s| s.grid_start(TABLE_STEP));

    let m = &report.metrics;
    match args.format {
        Format::Json => {
            let summary = report.summary(&SummaryOptions {
                truth: args.truth.display().to_string(),
                matches: args.matches.display().to_string(),
                beta: args.beta,
                threshold: args.threshold,
                step: JSON_STEP,
                start_multiple: TABLE_STEP,
                plots: charts.iter().map(|p| p.display().to_string()).collect(),
            });
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
        Format::Text => {
            let rows: Vec<(String, String)> = [
                ("linkage", report.linkage.as_str().to_string()),
                ("true pairs", thousands(report.true_pairs)),
                ("predicted pairs", thousands(report.predicted_pairs)),
                ("precision", format!("{:.4}", m.precision)),
                ("recall", format!("{:.4}", m.recall)),
                ("F1", format!("{:.4}", m.f1)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .chain(
                args.beta
                    .map(|b| (format!("F{b}"), format!("{:.4}", m.f_beta(b)))),
            )
            .chain([
                ("true links (TP)".to_string(), thousands(m.tp)),
                ("false links (FP)".to_string(), thousands(m.fp)),
                ("missed (FN)".to_string(), thousands(m.fn_)),
            ])
            .collect();
            for (k, v) in rows {
                println!("{k:<18} {v:>12}");
            }
            if let Some(b) = &report.blocking {
                println!(
                    "\ncandidate set: {} of {} possible pairs\n  reduction ratio    {:.6}\n  \
                     pair completeness  {:.4}\n  pairs quality      {:.6}",
                    thousands(b.candidates),
                    thousands(b.comparison_space),
                    b.reduction_ratio,
                    b.pair_completeness,
                    b.pairs_quality,
                );
            }
            if let Some(s) = &report.scored {
                println!(
                    "\nthreshold sweep over {} scored pairs{}:",
                    thousands(s.labelled.len() as u64),
                    if s.one_to_one {
                        ", resolved one-to-one (greedy)"
                    } else {
                        ""
                    }
                );
                println!(
                    "  {:>9}  {:>9}  {:>7}  {:>7}  {:>9}  {:>9}  {:>9}",
                    "threshold", "precision", "recall", "F1", "TP", "FP", "FN"
                );
                let mut table = s.sweep.grid(lowest, TABLE_STEP);
                table.extend(marks.iter().map(|mk| s.sweep.at(mk.threshold)));
                table.sort_by(|x, y| x.threshold.total_cmp(&y.threshold));
                table.dedup_by(|x, y| x.threshold == y.threshold);
                for p in &table {
                    let note = marks
                        .iter()
                        .filter(|mk| mk.threshold == p.threshold)
                        .map(|mk| mk.label.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    println!("  {}  {note}", sweep_row(p));
                }
                match best {
                    Some(b) => println!(
                        "best F1 {:.4} at threshold {:.4} (precision {:.4}, recall {:.4})",
                        b.metrics.f1, b.threshold, b.metrics.precision, b.metrics.recall
                    ),
                    None => println!("no scored pairs"),
                }
            }
            for c in &charts {
                println!("wrote {}", c.display());
            }
        }
    }
    Ok(())
}

/// The library's error with a hint in the CLI's words (flags), for the kinds whose fix is a
/// different argument. Other kinds pass through unchanged (some get their hint in `main`).
fn with_hint(e: EvalError) -> anyhow::Error {
    let hint = match e.kind() {
        EvalErrorKind::TruthKind => {
            "--truth takes the true pairs or entities; the output of `pprl match` goes to --matches"
        }
        EvalErrorKind::MatchesKind => {
            "--matches takes the output of `pprl match`; the true pairs or entities go to --truth"
        }
        EvalErrorKind::TruthParties | EvalErrorKind::NoTruePairs => {
            "--truth takes the truth of the files that were given to `pprl match`"
        }
        EvalErrorKind::RecordCount | EvalErrorKind::RecordsBeyondCount => {
            "--records takes the record count of each file given to `pprl match`, in its order \
             (the `records` of its `--format json` summary)"
        }
        _ => return e.into(),
    };
    anyhow::anyhow!("{e}\nhint: {hint}")
}

fn sweep_row(p: &SweepPoint) -> String {
    let m = &p.metrics;
    format!(
        "{:>9.4}  {:>9.4}  {:>7.4}  {:>7.4}  {:>9}  {:>9}  {:>9}",
        p.threshold,
        m.precision,
        m.recall,
        m.f1,
        thousands(m.tp),
        thousands(m.fp),
        thousands(m.fn_)
    )
}
