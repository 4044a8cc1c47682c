//! Charts of a probabilistic model, for the third party (never for data providers: they are
//! similarity information): a model or a pair's explanation in, SVG and PNG out.
//!
//! * `waterfall.{svg,png}` ([`write_waterfall`]): how one pair's weight builds up, from the
//!   prior through each field's level (and term-frequency) weight to the total.
//! * `match_weights.{svg,png}` ([`write_model_charts`]): every field's level weights,
//!   `log2(m / u)`, one bar each.
//! * `m_u.{svg,png}`: `m` and `u` of every level, on a log scale.
//! * `weights.{svg,png}` ([`write_weight_histogram`]): the candidates' total weights, with the
//!   cut and the review threshold marked.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    DrawResult, Drawing, F1_COLOR, MARK_COLOR, PRECISION_COLOR, RECALL_COLOR, font, write_drawing,
};
use crate::eval::EvalError;
use crate::linkage::fs::{Explanation, FsParams};

/// One bar of a horizontal bar chart: its label, where it starts and ends, its colour.
struct Bar {
    label: String,
    from: f64,
    to: f64,
    color: RGBColor,
    /// A second bar in the lower half of the row (from the axis start), e.g. `u` beside `m`.
    second: Option<(f64, RGBColor)>,
}

/// A horizontal bar chart (bars top to bottom), with a value axis `x_desc`.
struct Bars {
    caption: String,
    x_desc: &'static str,
    bars: Vec<Bar>,
    log: bool,
}

impl Drawing for Bars {
    fn size(&self) -> (u32, u32) {
        (800, (90 + 22 * self.bars.len() as u32).max(500))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let n = self.bars.len().max(1);
        let ends = self.bars.iter().flat_map(|b| [b.from, b.to]);
        let (lo, hi) = ends.fold((0.0f64, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
        let pad = ((hi - lo) * 0.05).max(0.5);
        let label_area = self.bars.iter().map(|b| b.label.len()).max().unwrap_or(4) as u32 * 7 + 10;
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(&self.caption, font(20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_area.min(300));
        let labels: Vec<String> = self.bars.iter().map(|b| b.label.clone()).collect();
        let y_fmt = |y: &f64| {
            let k = (-*y).round();
            if (k + *y).abs() < 1e-9 && k >= 0.0 && (k as usize) < labels.len() {
                labels[k as usize].clone()
            } else {
                String::new()
            }
        };
        if self.log {
            let lo = self
                .bars
                .iter()
                .map(|b| b.to)
                .fold(1.0f64, f64::min)
                .max(1e-9)
                / 2.0;
            let mut chart =
                builder.build_cartesian_2d((lo..1.5f64).log_scale(), -(n as f64) + 0.5..0.5f64)?;
            chart
                .configure_mesh()
                .x_desc(self.x_desc)
                .y_labels(n)
                .y_label_formatter(&y_fmt)
                .x_label_formatter(&|x: &f64| format!("{x:.0e}"))
                .label_style(font(12))
                .axis_desc_style(font(14))
                .draw()?;
            chart.draw_series(self.bars.iter().enumerate().map(|(k, b)| {
                let y = -(k as f64);
                Rectangle::new([(lo, y), (b.to.max(lo), y + 0.4)], b.color.filled())
            }))?;
            chart.draw_series(self.bars.iter().enumerate().filter_map(|(k, b)| {
                let (to, color) = b.second?;
                let y = -(k as f64);
                Some(Rectangle::new(
                    [(lo, y - 0.4), (to.max(lo), y)],
                    color.filled(),
                ))
            }))?;
        } else {
            let mut chart =
                builder.build_cartesian_2d(lo - pad..hi + pad, -(n as f64) + 0.5..0.5f64)?;
            chart
                .configure_mesh()
                .x_desc(self.x_desc)
                .y_labels(n)
                .y_label_formatter(&y_fmt)
                .label_style(font(12))
                .axis_desc_style(font(14))
                .draw()?;
            chart.draw_series(LineSeries::new(
                [(0.0, -(n as f64) + 0.5), (0.0, 0.5)],
                MARK_COLOR.stroke_width(1),
            ))?;
            chart.draw_series(self.bars.iter().enumerate().map(|(k, b)| {
                let y = -(k as f64);
                Rectangle::new([(b.from, y - 0.35), (b.to, y + 0.35)], b.color.filled())
            }))?;
        }
        Ok(())
    }
}

fn signed(v: f64) -> RGBColor {
    if v >= 0.0 { F1_COLOR } else { RECALL_COLOR }
}

/// Writes the waterfall of one pair's explanation into `dir`.
pub fn write_waterfall(dir: &Path, e: &Explanation) -> Result<Vec<PathBuf>, EvalError> {
    let mut bars = vec![Bar {
        label: "prior".into(),
        from: 0.0,
        to: e.prior_weight,
        color: signed(e.prior_weight),
        second: None,
    }];
    let mut at = e.prior_weight;
    for f in &e.fields {
        let w = f.weight + f.tf_adjustment.unwrap_or(0.0);
        let tf = f
            .tf_adjustment
            .map_or(String::new(), |t| format!(", tf {t:+.1}"));
        bars.push(Bar {
            label: format!("{}: {}{tf}", f.field, f.label),
            from: at,
            to: at + w,
            color: signed(w),
            second: None,
        });
        at += w;
    }
    bars.push(Bar {
        label: "total".into(),
        from: 0.0,
        to: e.weight,
        color: PRECISION_COLOR,
        second: None,
    });
    let chart = Bars {
        caption: format!(
            "Match weight {:.2} (probability {:.4})",
            e.weight, e.probability
        ),
        x_desc: "match weight (log2 Bayes factor)",
        bars,
        log: false,
    };
    write_drawing(dir, "waterfall", &chart)
}

/// Writes the model's level weights and its `m` and `u` into `dir`.
pub fn write_model_charts(dir: &Path, params: &FsParams) -> Result<Vec<PathBuf>, EvalError> {
    let mut weights = Vec::new();
    let mut m_u = Vec::new();
    for (f, field) in params.fields.iter().enumerate() {
        for level in 1..field.count() as u8 {
            let label = format!("{}: {}", field.name(), field.label(level));
            let w = params.level_weight(f, level);
            weights.push(Bar {
                label: label.clone(),
                from: 0.0,
                to: w,
                color: signed(w),
                second: None,
            });
            let l = usize::from(level) - 1;
            m_u.push(Bar {
                label,
                from: 0.0,
                to: params.m[f][l],
                color: PRECISION_COLOR,
                second: Some((params.u[f][l], RECALL_COLOR)),
            });
        }
    }
    let mut written = write_drawing(
        dir,
        "match_weights",
        &Bars {
            caption: "Match weight of each comparison level".into(),
            x_desc: "log2(m / u)",
            bars: weights,
            log: false,
        },
    )?;
    written.extend(write_drawing(
        dir,
        "m_u",
        &Bars {
            caption: "m (matches, blue) and u (non-matches, red) of each level".into(),
            x_desc: "probability (log scale)",
            bars: m_u,
            log: true,
        },
    )?);
    Ok(written)
}

/// A histogram of total weights with marked cuts.
struct WeightHistogram<'a> {
    weights: &'a [f64],
    marks: &'a [(String, f64)],
}

impl Drawing for WeightHistogram<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let finite = self.weights.iter().copied().filter(|w| w.is_finite());
        let (lo, hi) = finite.fold((f64::MAX, f64::MIN), |(l, h), w| (l.min(w), h.max(w)));
        let (lo, hi) = if lo > hi {
            (-1.0, 1.0)
        } else {
            (lo.floor() - 1.0, hi.ceil() + 1.0)
        };
        let bins = ((hi - lo) * 2.0).ceil().max(1.0) as usize;
        let width = (hi - lo) / bins as f64;
        let mut counts = vec![0u64; bins];
        for w in self.weights.iter().filter(|w| w.is_finite()) {
            counts[(((w - lo) / width) as usize).min(bins - 1)] += 1;
        }
        let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption("Match weights of the candidate pairs", font(20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, (0.5..top * 2.0).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("match weight (log2 Bayes factor)")
            .y_desc("pairs (log scale)")
            .label_style(font(13))
            .axis_desc_style(font(15))
            .draw()?;
        chart.draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| {
                    let x0 = lo + i as f64 * width;
                    Rectangle::new(
                        [(x0, 0.5), (x0 + width, *c as f64)],
                        PRECISION_COLOR.mix(0.5).filled(),
                    )
                }),
        )?;
        for (label, at) in self.marks.iter().filter(|(_, at)| (lo..=hi).contains(at)) {
            chart.draw_series(LineSeries::new(
                [(*at, 0.5), (*at, top * 2.0)],
                MARK_COLOR.stroke_width(1),
            ))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{label} {at:.2}"),
                (*at, top),
                font(13).color(&MARK_COLOR),
            )))?;
        }
        Ok(())
    }
}

/// Writes the histogram of the candidates' match weights, with `marks` (label, weight).
pub fn write_weight_histogram(
    dir: &Path,
    weights: &[f64],
    marks: &[(String, f64)],
) -> Result<Vec<PathBuf>, EvalError> {
    write_drawing(dir, "weights", &WeightHistogram { weights, marks })
}
