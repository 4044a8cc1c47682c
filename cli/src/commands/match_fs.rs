//! `pprl match --model fs`: the probabilistic options in, the library's [`FsOptions`] out; and
//! the model's part of the summary and outputs (`--save-model`, `--review-output`).

use anyhow::Result;
use pprl::linkage::MatchReport;
use pprl::linkage::fs::{FsOptions, FsSummary, PriorChoice, TrainOptions};
use pprl::linkage::job;

use super::thousands;
use crate::args::{CandidatesArg, FsArgs, ModelArg};

/// The library's options for `--model fs` (`None` for `--model dice`).
pub fn options(args: &FsArgs) -> Result<Option<FsOptions>> {
    let fs_only = [
        (args.load_model.is_some(), "--load-model"),
        (args.save_model.is_some(), "--save-model"),
        (args.prior.is_some(), "--prior"),
        (args.recall.is_some(), "--recall"),
        (args.review.is_some(), "--review"),
        (args.allow_unhardened, "--allow-unhardened"),
        (args.plot.is_some(), "--plot"),
    ];
    if args.model != ModelArg::Fs {
        if let Some((_, flag)) = fs_only.iter().find(|(given, _)| *given) {
            anyhow::bail!("{flag} applies only with --model fs");
        }
        return Ok(None);
    }
    let prior = match (args.prior, args.recall) {
        (Some(lambda), _) => PriorChoice::Given { lambda },
        (None, Some(recall)) => PriorChoice::Rule { recall },
        (None, None) => PriorChoice::Passes,
    };
    let tf_fields = match args.tf.as_slice() {
        [one] if one == "all" => None,
        [one] if one == "none" => Some(Vec::new()),
        names => Some(names.to_vec()),
    };
    Ok(Some(FsOptions {
        model: args
            .load_model
            .as_deref()
            .map(job::read_model)
            .transpose()?,
        train: TrainOptions {
            u_pairs: args.u_pairs,
            pass_cap: args.pass_cap,
            prior,
            ..TrainOptions::new(Vec::new())
        },
        thresholds: args.levels.clone(),
        candidates: match args.candidates {
            CandidatesArg::Value(t) => Some(t),
            CandidatesArg::Auto | CandidatesArg::Exact => None,
        },
        exact_candidates: args.candidates == CandidatesArg::Exact,
        tf_fields,
        review: args.review,
        allow_unhardened: args.allow_unhardened,
    }))
}

/// Writes the model and the review band, where asked.
pub fn write_outputs(report: &MatchReport, args: &FsArgs) -> Result<()> {
    let Some(summary) = &report.probabilistic else {
        return Ok(());
    };
    if let Some(path) = &args.save_model {
        job::write_model(&summary.model, path)?;
    }
    if let Some(path) = &args.review_output {
        report.write_review_csv(path)?;
    }
    if let Some(dir) = &args.plot {
        let mut marks = vec![("cut".to_string(), summary.cut_weight)];
        if let Some(low) = summary.review {
            marks.push((
                "review".to_string(),
                pprl::linkage::fs::link::weight_of(low),
            ));
        }
        let plot = pprl::eval::plot::fs::write_weight_histogram(dir, &summary.weights, &marks)?
            .into_iter()
            .chain(pprl::eval::plot::fs::write_model_charts(
                dir,
                &summary.params,
            )?);
        for p in plot {
            eprintln!("wrote {}", super::shown(&p));
        }
    }
    Ok(())
}

/// The model's lines of the text summary.
pub fn print_text(s: &FsSummary) {
    let fields: Vec<&str> = s.params.fields.iter().map(|f| f.name()).collect();
    if s.trained {
        let used: Vec<&str> = s
            .passes
            .iter()
            .filter(|p| p.skipped.is_none())
            .map(|p| p.field.as_str())
            .collect();
        println!(
            "model: Fellegi-Sunter on {} fields ({}), trained in {:.2} s without ground truth: \
             u from {} random pairs, m from {} passes exact on {}",
            fields.len(),
            fields.join(", "),
            s.train_s,
            thousands(s.u_pairs),
            used.len(),
            used.join(", "),
        );
        for p in &s.passes {
            match (&p.skipped, &p.em) {
                (Some(why), _) => println!(
                    "  pass exact on {}: skipped ({} pairs: {why})",
                    p.field,
                    thousands(p.pairs)
                ),
                (None, Some(em)) => println!(
                    "  pass exact on {}: {} pairs, {} iterations{}, {:.1}% matches",
                    p.field,
                    thousands(p.pairs),
                    em.iterations,
                    if em.converged { "" } else { " (not converged)" },
                    100.0 * em.params.lambda
                ),
                (None, None) => {}
            }
        }
    } else {
        println!("model: Fellegi-Sunter on {} fields, loaded", fields.len());
    }
    println!(
        "prior {:.3e} (about {:.0} matches in {} pairs), term frequencies on {}",
        s.prior.lambda,
        s.prior.expected_matches,
        thousands(s.prior.comparisons),
        if s.tf_fields.is_empty() {
            "no field".to_string()
        } else {
            s.tf_fields.join(", ")
        }
    );
    let how = if s.exact_passes.is_empty() {
        format!("record Dice >= {:.3}", s.candidate_threshold)
    } else {
        format!("agreeing exactly on {}", s.exact_passes.join(" or "))
    };
    println!(
        "{} candidates ({how}) scored; cut at match probability {:.4} (weight {:.2}){}: the \
         model expects precision {:.3}, recall {:.3}, F1 {:.3} of about {:.0} matches among \
         them",
        thousands(s.scored),
        s.cut_probability,
        s.cut_weight,
        if s.cut_automatic {
            ", chosen for the best expected F1"
        } else {
            ""
        },
        s.expected.precision,
        s.expected.recall,
        s.expected.f1,
        s.expected.matches,
    );
    if let Some(low) = s.review {
        println!(
            "{} pairs for clerical review (probability {low} up to the cut)",
            thousands(s.review_pairs)
        );
    }
}

/// The model's warnings (training that did not converge, levels that favour non-matches).
pub fn warnings(s: &FsSummary) -> Vec<String> {
    let mut out = Vec::new();
    for p in &s.passes {
        for w in p.em.iter().flat_map(|e| &e.warnings) {
            out.push(format!("pass exact on {}: {w}", p.field));
        }
    }
    out
}
