//! Charts of an evaluation, as SVG and PNG (`pprl eval --plot DIR`).
//!
//! * `threshold.{svg,png}`: precision, recall and F1 against the threshold.
//! * `pr_curve.{svg,png}`: the precision-recall curve.
//! * `scores.{svg,png}`: histogram of the scores of true and false pairs, counts on a log
//!   scale (the matches are usually a few thousand pairs next to millions of non-matches).
//!
//! [`write_scatter`] and [`write_bars`] draw two plain shapes for other reports (the privacy
//! audit and sweep) in the same style.
//!
//! Each chart marks the given thresholds (e.g. the best-F1 threshold and the one in use).
//!
//! SVG text is left to the viewer's fonts. PNG text is drawn with a subset of DejaVu Sans
//! compiled into the binary (`assets/fonts/`), so charts render the same on a machine without
//! any fonts, and the bytes are the same on every run: the pixel buffer is drawn by `plotters`
//! and encoded by `png` with fixed settings.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::EvalError;
use super::metrics::Sweep;
use crate::io::AtomicFile;

pub mod fs;
mod layout;
mod simple;

pub use simple::{Bars, Scatter, simple_paths, write_bars, write_scatter};

/// Chart size in pixels.
const SIZE: (u32, u32) = (800, 500);
/// The font family name charts use (registered with the shipped font for PNG).
const FAMILY: &str = "sans-serif";
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");
/// Most points drawn per line; longer sweeps are thinned evenly.
const MAX_POINTS: usize = 1000;
/// Histogram bin width.
const BIN: f64 = 0.01;

/// A threshold to mark on the charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// What it is, e.g. `best F1`.
    pub label: String,
    /// The threshold.
    pub threshold: f64,
}

/// What the charts show.
#[derive(Debug, Clone, Copy)]
pub struct ChartInput<'a> {
    /// The threshold sweep.
    pub sweep: &'a Sweep,
    /// Every scored pair's score and whether it is true.
    pub labelled: &'a [(f64, bool)],
    /// Thresholds to mark.
    pub marks: &'a [Mark],
}

#[derive(Debug, Clone, Copy)]
enum Chart {
    Threshold,
    PrCurve,
    Scores,
}

impl Chart {
    const ALL: [Chart; 3] = [Chart::Threshold, Chart::PrCurve, Chart::Scores];

    fn name(self) -> &'static str {
        match self {
            Chart::Threshold => "threshold",
            Chart::PrCurve => "pr_curve",
            Chart::Scores => "scores",
        }
    }
}

/// The files [`write_charts`] writes into `dir`, in its order: for checking them against the
/// run's inputs before anything is written.
pub fn chart_paths(dir: &Path) -> Vec<PathBuf> {
    Chart::ALL
        .iter()
        .flat_map(|chart| ["svg", "png"].map(|ext| dir.join(format!("{}.{ext}", chart.name()))))
        .collect()
}

/// Writes the three charts into `dir` (created if missing) as SVG and PNG, atomically, and
/// returns the paths written.
pub fn write_charts(dir: &Path, input: &ChartInput<'_>) -> Result<Vec<PathBuf>, EvalError> {
    let mut written = Vec::new();
    for chart in Chart::ALL {
        written.extend(write_drawing(dir, chart.name(), &EvalChart(chart, input))?);
    }
    Ok(written)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.flush()?;
    file.commit()
}

fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the built-in chart font could not be loaded".into())
    }
}

/// Something drawn on a chart's drawing area, by either backend.
pub(crate) trait Drawing {
    /// Draws it on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;

    /// Its size in pixels.
    fn size(&self) -> (u32, u32) {
        SIZE
    }
}

struct EvalChart<'a, 'i>(Chart, &'a ChartInput<'i>);

impl Drawing for EvalChart<'_, '_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw(self.0, root, self.1)
    }
}

#[cfg(test)]
fn svg(chart: Chart, input: &ChartInput<'_>) -> Result<String, String> {
    svg_of(&EvalChart(chart, input))
}

#[cfg(test)]
fn png(chart: Chart, input: &ChartInput<'_>) -> Result<Vec<u8>, String> {
    png_of(&EvalChart(chart, input))
}

/// A drawing as SVG text.
pub(crate) fn svg_of(drawing: &impl Drawing) -> Result<String, String> {
    register_font()?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, drawing.size()).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        drawing.draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// A drawing as PNG bytes (the same on every run: fixed encoder settings, the shipped font).
pub(crate) fn png_of(drawing: &impl Drawing) -> Result<Vec<u8>, String> {
    register_font()?;
    let (w, h) = drawing.size();
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        drawing.draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Writes a drawing as `stem.svg` and `stem.png` in `dir`, atomically; returns both paths.
pub(crate) fn write_drawing(
    dir: &Path,
    stem: &str,
    drawing: &impl Drawing,
) -> Result<Vec<PathBuf>, EvalError> {
    let out_err = |path: &Path, reason: String| EvalError::Output {
        path: path.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| out_err(dir, e.to_string()))?;
    let mut written = Vec::new();
    for (ext, bytes) in [
        ("svg", svg_of(drawing).map(String::into_bytes)),
        ("png", png_of(drawing)),
    ] {
        let path = dir.join(format!("{stem}.{ext}"));
        let bytes = bytes.map_err(|r| out_err(&path, r))?;
        write_atomic(&path, &bytes).map_err(|e| out_err(&path, e.to_string()))?;
        written.push(path);
    }
    Ok(written)
}

pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    chart: Chart,
    root: &DrawingArea<DB, Shift>,
    input: &ChartInput<'_>,
) -> DrawResult<DB> {
    match chart {
        Chart::Threshold => threshold_chart(root, input),
        Chart::PrCurve => pr_chart(root, input),
        Chart::Scores => score_chart(root, input),
    }
}

/// The lowest threshold shown: the lowest score, rounded down to a multiple of 0.05.
fn low_end(input: &ChartInput<'_>) -> f64 {
    let lowest = input.labelled.iter().map(|s| s.0).fold(1.0f64, f64::min);
    ((lowest / 0.05).floor() * 0.05).clamp(0.0, 0.95)
}

pub(crate) fn font(size: u32) -> FontDesc<'static> {
    (FAMILY, size).into_font()
}

pub(crate) const MARK_COLOR: RGBColor = RGBColor(90, 90, 90);
pub(crate) const PRECISION_COLOR: RGBColor = RGBColor(31, 119, 180);
pub(crate) const RECALL_COLOR: RGBColor = RGBColor(214, 39, 40);
pub(crate) const F1_COLOR: RGBColor = RGBColor(44, 160, 44);

fn threshold_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    input: &ChartInput<'_>,
) -> DrawResult<DB> {
    let lo = low_end(input);
    let mut chart = ChartBuilder::on(root)
        .caption("Precision and recall by threshold", font(22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..1.0, 0.0..1.05)?;
    chart
        .configure_mesh()
        .x_desc("threshold (links: score >= threshold)")
        .y_desc("share")
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    let steps = MAX_POINTS;
    let grid: Vec<_> = (0..=steps)
        .map(|i| input.sweep.at(lo + (1.0 - lo) * i as f64 / steps as f64))
        .collect();
    type Line = (&'static str, RGBColor, fn(&super::PairMetrics) -> f64);
    let series: [Line; 3] = [
        ("precision", PRECISION_COLOR, |m| m.precision),
        ("recall", RECALL_COLOR, |m| m.recall),
        ("F1", F1_COLOR, |m| m.f1),
    ];
    for (name, color, value) in series {
        chart
            .draw_series(LineSeries::new(
                grid.iter().map(|p| (p.threshold, value(&p.metrics))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    let mut labels = Vec::new();
    for mark in input.marks {
        if !(lo..=1.0).contains(&mark.threshold) {
            continue;
        }
        chart.draw_series(LineSeries::new(
            [(mark.threshold, 0.0), (mark.threshold, 1.05)],
            MARK_COLOR.stroke_width(1),
        ))?;
        labels.push((
            chart.backend_coord(&(mark.threshold, 0.16)),
            mark_text(mark),
        ));
    }
    let corner = layout::emptiest_corner(grid.iter().flat_map(|p| {
        let x = (p.threshold - lo) / (1.0 - lo);
        let m = p.metrics;
        [m.precision, m.recall, m.f1].map(|v| (x, v / 1.05))
    }));
    let legend = legend_box(
        root,
        plot_box(&chart),
        &corner,
        &["false pairs", "true pairs"],
    );
    chart
        .configure_series_labels()
        .position(corner)
        .label_font(font(13))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    draw_labels(root, plot_box(&chart), Some(legend), &labels)
}

/// The pixel box of a legend of `names` in `corner` of the plot, as plotters lays it out
/// (10 pixels of margin, 30 for the symbols, lines 1.25 font sizes apart), with a little
/// room to spare.
fn legend_box<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: layout::PixelBox,
    corner: &SeriesLabelPosition,
    names: &[&str],
) -> layout::PixelBox {
    let style = font(13).into_text_style(root);
    let width = names
        .iter()
        .map(|n| {
            root.estimate_text_size(n, &style)
                .map_or(8 * n.len() as u32, |s| s.0)
        })
        .max()
        .unwrap_or(0) as i32;
    let height = (names.len() as f64 * 13.0 * 1.25).ceil() as i32;
    layout::legend_box(area, corner, (width + 30 + 20 + 4, height + 20 + 4))
}

/// A mark's label: its name and threshold.
fn mark_text(mark: &Mark) -> String {
    format!("{} {:.3}", mark.label, mark.threshold)
}

/// The plot's pixel box (left, top, right, bottom).
fn plot_box<DB: DrawingBackend, X: Ranged, Y: Ranged>(
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
) -> (i32, i32, i32, i32) {
    let (x, y) = chart.plotting_area().get_pixel_range();
    (x.start, y.start, x.end, y.end)
}

/// Draws each `(marker pixel, text)` label beside its marker ([`layout::place`]), on a light
/// background so that lines under it do not cross the text.
fn draw_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: layout::PixelBox,
    legend: Option<layout::PixelBox>,
    labels: &[((i32, i32), String)],
) -> DrawResult<DB> {
    let style = font(13).color(&MARK_COLOR);
    let mut wants = Vec::with_capacity(labels.len());
    for (at, text) in labels {
        let size = root
            .estimate_text_size(text, &style)
            .unwrap_or((7 * text.len() as u32, 13));
        wants.push(layout::Want { at: *at, size });
    }
    for ((placed, want), (_, text)) in layout::place(area, legend.as_slice(), &wants)
        .iter()
        .zip(&wants)
        .zip(labels)
    {
        let (x, y) = placed.at;
        let (w, h) = (want.size.0 as i32, want.size.1 as i32);
        root.draw(&Rectangle::new(
            [(x - 2, y - 1), (x + w + 2, y + h + 1)],
            WHITE.mix(0.85).filled(),
        ))?;
        root.draw(&Text::new(text.clone(), (x, y), style.clone()))?;
    }
    Ok(())
}

fn pr_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    input: &ChartInput<'_>,
) -> DrawResult<DB> {
    let points = input.sweep.points();
    let stride = points.len().div_ceil(MAX_POINTS).max(1);
    let mut curve: Vec<(f64, f64)> = points
        .iter()
        .step_by(stride)
        .map(|p| (p.metrics.recall, p.metrics.precision))
        .collect();
    if let Some(last) = points.last() {
        curve.push((last.metrics.recall, last.metrics.precision));
    }
    let marked: Vec<(f64, f64)> = input
        .marks
        .iter()
        .map(|m| {
            let p = input.sweep.at(m.threshold).metrics;
            (p.recall, p.precision)
        })
        .collect();
    // Axes fitted to the curve and the marks (the curve often spans only a corner of 0..1).
    let (x_min, x_max, y_min, y_max) = curve
        .iter()
        .chain(&marked)
        .fold((1.0f64, 0.0f64, 1.0f64, 0.0f64), |(a, b, c, d), &(x, y)| {
            (a.min(x), b.max(x), c.min(y), d.max(y))
        });
    let (x_lo, x_hi) = layout::fit(x_min, x_max.max(x_min), 0.05);
    let (y_lo, y_hi) = layout::fit(y_min, y_max.max(y_min), 0.05);
    let mut chart = ChartBuilder::on(root)
        .caption("Precision-recall curve", font(22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_desc("recall")
        .y_desc("precision")
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    chart.draw_series(LineSeries::new(curve, PRECISION_COLOR.stroke_width(2)))?;
    let mut labels = Vec::new();
    for (mark, &point) in input.marks.iter().zip(&marked) {
        chart.draw_series(std::iter::once(Circle::new(point, 5, MARK_COLOR.filled())))?;
        labels.push((chart.backend_coord(&point), mark_text(mark)));
    }
    draw_labels(root, plot_box(&chart), None, &labels)
}

fn score_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    input: &ChartInput<'_>,
) -> DrawResult<DB> {
    let lo = low_end(input);
    let bins = ((1.0 - lo) / BIN).round() as usize + 1;
    let mut counts = vec![[0u64; 2]; bins];
    for &(score, true_pair) in input.labelled {
        let bin = (((score - lo) / BIN).floor().max(0.0) as usize).min(bins - 1);
        counts[bin][usize::from(true_pair)] += 1;
    }
    let top = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption("Scores of true and false pairs", font(22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(lo..1.0 + BIN, (0.5..top * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("similarity score")
        .y_desc("pairs (log scale)")
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    let groups = [
        ("false pairs", RECALL_COLOR, 0usize),
        ("true pairs", PRECISION_COLOR, 1usize),
    ];
    for (name, color, k) in groups {
        let bars = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| c[k] > 0)
            .map(|(i, c)| {
                let x0 = lo + i as f64 * BIN;
                Rectangle::new(
                    [(x0, 0.5), (x0 + BIN, c[k] as f64)],
                    color.mix(0.45).filled(),
                )
            });
        chart.draw_series(bars)?.label(name).legend(move |(x, y)| {
            Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.mix(0.45).filled())
        });
    }
    let mut labels = Vec::new();
    for mark in input.marks {
        if !(lo..=1.0).contains(&mark.threshold) {
            continue;
        }
        chart.draw_series(LineSeries::new(
            [(mark.threshold, 0.5), (mark.threshold, top * 2.0)],
            MARK_COLOR.stroke_width(1),
        ))?;
        labels.push((chart.backend_coord(&(mark.threshold, top)), mark_text(mark)));
    }
    // Each bar as points up its height, in fractions of the plot (log scale upwards).
    let span = (1.0 + BIN - lo).max(BIN);
    let log_top = (top * 2.0 / 0.5).ln();
    let corner = layout::emptiest_corner(counts.iter().enumerate().flat_map(|(i, c)| {
        let x = (i as f64 + 0.5) * BIN / span;
        let height = (c[0].max(c[1]) as f64 / 0.5).max(1.0).ln() / log_top;
        (0..10).map(move |k| (x, height * f64::from(k) / 9.0))
    }));
    let legend = legend_box(
        root,
        plot_box(&chart),
        &corner,
        &["false pairs", "true pairs"],
    );
    chart
        .configure_series_labels()
        .position(corner)
        .label_font(font(13))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    draw_labels(root, plot_box(&chart), Some(legend), &labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input_data() -> (Sweep, Vec<(f64, bool)>) {
        let labelled: Vec<(f64, bool)> = (0..400)
            .map(|i| {
                let t = i % 4 == 0;
                let s = if t {
                    0.8 + (i % 17) as f64 / 100.0
                } else {
                    0.5 + (i % 23) as f64 / 100.0
                };
                (s, t)
            })
            .collect();
        (Sweep::new(labelled.iter().copied(), 110), labelled)
    }

    #[test]
    fn charts_are_valid_and_deterministic() {
        let (sweep, labelled) = input_data();
        let marks = [Mark {
            label: "best F1".into(),
            threshold: sweep.best(1.0).unwrap().threshold,
        }];
        let input = ChartInput {
            sweep: &sweep,
            labelled: &labelled,
            marks: &marks,
        };
        let dir = tempfile::tempdir().unwrap();
        let written = write_charts(dir.path(), &input).unwrap();
        assert_eq!(written.len(), 6);
        for path in &written {
            let bytes = std::fs::read(path).unwrap();
            if path.extension().unwrap() == "png" {
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
                let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
                let reader = decoder.read_info().unwrap();
                assert_eq!((reader.info().width, reader.info().height), SIZE);
            } else {
                let text = String::from_utf8(bytes).unwrap();
                assert!(text.starts_with("<svg"), "{}", path.display());
                assert!(text.trim_end().ends_with("</svg>"));
                assert!(text.contains("<text") && text.contains("best F1"));
                assert!(text.contains("<polyline") || text.contains("<rect"));
            }
        }
        let again = tempfile::tempdir().unwrap();
        write_charts(again.path(), &input).unwrap();
        for path in &written {
            let other = again.path().join(path.file_name().unwrap());
            assert_eq!(std::fs::read(path).unwrap(), std::fs::read(other).unwrap());
        }
    }

    #[test]
    fn png_text_is_drawn_with_the_shipped_font() {
        // The same chart with and without labels differs: the font really draws glyphs.
        let (sweep, labelled) = input_data();
        let with = ChartInput {
            sweep: &sweep,
            labelled: &labelled,
            marks: &[Mark {
                label: "chosen".into(),
                threshold: 0.75,
            }],
        };
        register_font().unwrap();
        let a = png(Chart::Scores, &with).unwrap();
        let b = png(Chart::Scores, &ChartInput { marks: &[], ..with }).unwrap();
        assert_ne!(a, b);
    }

    /// The `(x, y)` of the SVG text element holding `needle`.
    fn text_at(svg: &str, needle: &str) -> (f64, f64) {
        let lines: Vec<&str> = svg.lines().collect();
        let i = lines.iter().position(|l| l.contains(needle)).unwrap();
        let tag = lines[..i]
            .iter()
            .rev()
            .find(|l| l.starts_with("<text"))
            .unwrap();
        let attr = |name: &str| -> f64 {
            let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            tag[start..].split('"').next().unwrap().parse().unwrap()
        };
        (attr("x"), attr("y"))
    }

    #[test]
    fn labels_of_marks_at_one_point_do_not_overlap() {
        let (sweep, labelled) = input_data();
        let best = sweep.best(1.0).unwrap().threshold;
        let marks = [
            Mark {
                label: "best F1".into(),
                threshold: best,
            },
            Mark {
                label: "in use".into(),
                threshold: best,
            },
        ];
        let input = ChartInput {
            sweep: &sweep,
            labelled: &labelled,
            marks: &marks,
        };
        register_font().unwrap();
        for chart in Chart::ALL {
            let text = svg(chart, &input).unwrap();
            let (a, b) = (text_at(&text, "best F1"), text_at(&text, "in use"));
            // Measured: 14 pixels apart (a text line of about 10 pixels, plus 4); at least 12.
            assert!((a.1 - b.1).abs() >= 12.0, "{}: {a:?} {b:?}", chart.name());
        }
    }
}
