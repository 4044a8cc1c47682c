//! Two plain chart shapes for other reports (the privacy audit, the privacy-utility sweep),
//! drawn with the evaluation charts' size, font and byte-stable PNG encoding:
//!
//! * [`Scatter`]: labelled points on two axes;
//! * [`Bars`]: one horizontal bar per item, coloured by a level, with two marks per bar.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{DrawResult, EvalError, SIZE, font, register_font, write_atomic};

/// Labelled points.
#[derive(Debug, Clone)]
pub struct Scatter {
    /// Title above the chart.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// X range.
    pub x_range: (f64, f64),
    /// Y range.
    pub y_range: (f64, f64),
    /// Points: x, y, label, series (0, 1, ...: a colour and a legend entry each).
    pub points: Vec<(f64, f64, String, usize)>,
    /// Legend names of the series.
    pub series: Vec<String>,
    /// A horizontal line to mark (e.g. a target), with its label.
    pub y_mark: Option<(f64, String)>,
}

/// One bar per item.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Title above the chart.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Items: label, value, level (0 low, 1 medium, 2 high), the two marks (medium, high).
    pub items: Vec<(String, f64, u8, f64, f64)>,
}

const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];
const LEVELS: [RGBColor; 3] = [
    RGBColor(44, 160, 44),
    RGBColor(255, 160, 0),
    RGBColor(214, 39, 40),
];

/// Where [`write_scatter`] / [`write_bars`] write chart `name`.
pub fn simple_paths(dir: &Path, name: &str) -> Vec<PathBuf> {
    ["svg", "png"]
        .map(|e| dir.join(format!("{name}.{e}")))
        .to_vec()
}

/// Writes `chart` as `dir/name.svg` and `dir/name.png` (atomically; `dir` created).
pub fn write_scatter(dir: &Path, name: &str, chart: &Scatter) -> Result<Vec<PathBuf>, EvalError> {
    write(
        dir,
        name,
        &|root| draw_scatter(root, chart).map_err(|e| e.to_string()),
        &|root| draw_scatter(root, chart).map_err(|e| e.to_string()),
    )
}

/// Writes `chart` as `dir/name.svg` and `dir/name.png` (atomically; `dir` created).
pub fn write_bars(dir: &Path, name: &str, chart: &Bars) -> Result<Vec<PathBuf>, EvalError> {
    write(
        dir,
        name,
        &|root| draw_bars(root, chart).map_err(|e| e.to_string()),
        &|root| draw_bars(root, chart).map_err(|e| e.to_string()),
    )
}

type Svg<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Bmp<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn write(
    dir: &Path,
    name: &str,
    svg_draw: &dyn Fn(&Svg<'_>) -> Result<(), String>,
    png_draw: &dyn Fn(&Bmp<'_>) -> Result<(), String>,
) -> Result<Vec<PathBuf>, EvalError> {
    let out_err = |path: &Path, reason: String| EvalError::Output {
        path: path.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| out_err(dir, e.to_string()))?;
    register_font().map_err(|r| out_err(dir, r))?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| out_err(dir, e.to_string()))?;
        svg_draw(&root).map_err(|e| out_err(dir, e))?;
        root.present().map_err(|e| out_err(dir, e.to_string()))?;
    }
    let (w, h) = SIZE;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| out_err(dir, e.to_string()))?;
        png_draw(&root).map_err(|e| out_err(dir, e))?;
        root.present().map_err(|e| out_err(dir, e.to_string()))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Balanced);
        let mut writer = encoder
            .write_header()
            .map_err(|e| out_err(dir, e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| out_err(dir, e.to_string()))?;
        writer.finish().map_err(|e| out_err(dir, e.to_string()))?;
    }
    let paths = simple_paths(dir, name);
    write_atomic(&paths[0], text.as_bytes()).map_err(|e| out_err(&paths[0], e.to_string()))?;
    write_atomic(&paths[1], &png_bytes).map_err(|e| out_err(&paths[1], e.to_string()))?;
    Ok(paths)
}

fn draw_scatter<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Scatter) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, font(18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(c.x_range.0..c.x_range.1, c.y_range.0..c.y_range.1)?;
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .label_style(font(12))
        .axis_desc_style(font(13))
        .draw()?;
    if let Some((y, label)) = &c.y_mark {
        let grey = RGBColor(90, 90, 90);
        chart.draw_series(LineSeries::new(
            [(c.x_range.0, *y), (c.x_range.1, *y)],
            grey.stroke_width(1),
        ))?;
        chart.draw_series([Text::new(
            label.clone(),
            (c.x_range.0, *y),
            font(11).color(&grey),
        )])?;
    }
    for (s, name) in c.series.iter().enumerate() {
        let color = COLORS[s % COLORS.len()];
        chart
            .draw_series(
                c.points
                    .iter()
                    .filter(|p| p.3 == s)
                    .map(|p| Circle::new((p.0, p.1), 5, color.filled())),
            )?
            .label(name.clone())
            .legend(move |(x, y)| Circle::new((x, y), 5, color.filled()));
        chart.draw_series(
            c.points
                .iter()
                .filter(|p| p.3 == s)
                .map(|p| Text::new(p.2.clone(), (p.0, p.1), font(11).color(&color))),
        )?;
    }
    chart
        .configure_series_labels()
        .label_font(font(12))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Bars) -> DrawResult<DB> {
    let n = c.items.len().max(1);
    let max = c
        .items
        .iter()
        .map(|i| i.1.max(i.4))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, font(18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(10)
        .build_cartesian_2d(0.0..max, 0.0..n as f64)?;
    chart
        .configure_mesh()
        .x_desc(&c.x_label)
        .y_labels(0)
        .disable_y_mesh()
        .label_style(font(12))
        .axis_desc_style(font(13))
        .draw()?;
    for (i, (label, value, level, medium, high)) in c.items.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        let color = LEVELS[usize::from((*level).min(2))];
        chart.draw_series([Rectangle::new(
            [(0.0, y + 0.2), (*value, y + 0.8)],
            color.filled(),
        )])?;
        for (mark, shade) in [(*medium, LEVELS[1]), (*high, LEVELS[2])] {
            chart.draw_series(LineSeries::new(
                [(mark, y + 0.1), (mark, y + 0.9)],
                shade.stroke_width(2),
            ))?;
        }
        chart.draw_series([Text::new(
            label.clone(),
            (0.0, y + 0.95),
            font(12).color(&BLACK),
        )])?;
    }
    Ok(())
}
