//! Where chart annotations go: threshold labels beside (never on) their marker lines and
//! points, never on top of each other or past the plot's edge, the legend in the corner
//! with the least data, and axis ranges fitted to the data.
//!
//! In: the plot's pixel box, each label's anchor in pixels and its text size; out: the pixel
//! position and anchoring of each label. Pure geometry, so the charts stay deterministic.

use plotters::prelude::SeriesLabelPosition;

/// Pixels between a marker (line or point) and its label.
pub(super) const GAP: i32 = 6;

/// A label to place: its anchor (a point on the marker) and its size in pixels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Want {
    /// The marker's pixel position the label belongs beside.
    pub at: (i32, i32),
    /// Text width and height in pixels.
    pub size: (u32, u32),
}

/// A placed label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Placed {
    /// Pixel position of the text's left-top corner.
    pub at: (i32, i32),
}

/// A pixel box: left, top, right, bottom.
pub(super) type PixelBox = (i32, i32, i32, i32);

/// Places labels beside their markers inside `area`: right of the marker where the text
/// fits, else left of it; a label that would overlap one placed before it or an `obstacle`
/// (the legend) moves down (or up, at the bottom edge) one line at a time.
pub(super) fn place(area: PixelBox, obstacles: &[PixelBox], wants: &[Want]) -> Vec<Placed> {
    let (left, top, right, bottom) = area;
    let mut boxes: Vec<PixelBox> = obstacles.to_vec();
    let mut out = Vec::with_capacity(wants.len());
    for w in wants {
        let (tw, th) = (w.size.0 as i32, w.size.1 as i32);
        let to_right = w.at.0 + GAP + tw <= right;
        let x0 = if to_right {
            w.at.0 + GAP
        } else {
            (w.at.0 - GAP - tw).max(left)
        };
        let mut y0 = (w.at.1 + GAP).clamp(top, (bottom - th).max(top));
        let step = th + 4;
        let mut tries = 0;
        let mut down = true;
        while boxes
            .iter()
            .any(|b| overlaps(*b, (x0, y0, x0 + tw, y0 + th)))
            && tries < 64
        {
            tries += 1;
            if down && y0 + step + th > bottom {
                down = false;
            }
            y0 += if down { step } else { -step };
            if y0 < top {
                break;
            }
        }
        boxes.push((x0, y0, x0 + tw, y0 + th));
        out.push(Placed { at: (x0, y0) });
    }
    out
}

fn overlaps(a: PixelBox, b: PixelBox) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Where plotters draws a legend of `size` pixels in `corner` of `area` (5 pixels in from
/// the edges).
pub(super) fn legend_box(
    area: PixelBox,
    corner: &SeriesLabelPosition,
    size: (i32, i32),
) -> PixelBox {
    let (left, top, right, bottom) = area;
    let (w, h) = size;
    let x = match corner {
        SeriesLabelPosition::UpperLeft | SeriesLabelPosition::LowerLeft => left + 5,
        _ => right - w - 5,
    };
    let y = match corner {
        SeriesLabelPosition::UpperLeft | SeriesLabelPosition::UpperRight => top + 5,
        _ => bottom - h - 5,
    };
    (x, y, x + w, y + h)
}

/// The legend corner holding the fewest data points, given as fractions of the plot (x from
/// the left, y from the bottom, both in `0..=1`); ties go to the first in the order lower
/// right, upper right, lower left, upper left.
pub(super) fn emptiest_corner(points: impl Iterator<Item = (f64, f64)>) -> SeriesLabelPosition {
    // The legend covers about a quarter of the width and height.
    const SIDE: f64 = 0.3;
    let mut counts = [0usize; 4];
    for (x, y) in points {
        let right = x >= 1.0 - SIDE;
        let leftish = x <= SIDE;
        let low = y <= SIDE;
        let high = y >= 1.0 - SIDE;
        counts[0] += usize::from(right && low);
        counts[1] += usize::from(right && high);
        counts[2] += usize::from(leftish && low);
        counts[3] += usize::from(leftish && high);
    }
    let corners = [
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::LowerLeft,
        SeriesLabelPosition::UpperLeft,
    ];
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    corners[best].clone()
}

/// An axis range `lo..hi` fitted to values in `min..=max` within `0..=1`: the low end rounded
/// down to a multiple of `step`, the high end a little past the highest value so markers on
/// it are drawn whole.
pub(super) fn fit(min: f64, max: f64, step: f64) -> (f64, f64) {
    let (min, max) = (min.clamp(0.0, 1.0), max.clamp(0.0, 1.0));
    let lo = ((min / step).floor() * step).clamp(0.0, 1.0 - step);
    let hi = ((max / step).ceil() * step).clamp(lo + step, 1.0);
    (lo, hi + (hi - lo) * 0.03)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_labels_stack_and_stay_inside() {
        let area = (0, 0, 400, 300);
        let wants = [
            Want {
                at: (390, 20),
                size: (80, 14),
            },
            Want {
                at: (392, 22),
                size: (90, 14),
            },
        ];
        let placed = place(area, &[], &wants);
        // Both left of the marker (no room right of it), one below the other.
        for (p, w) in placed.iter().zip(&wants) {
            assert!(p.at.0 + w.size.0 as i32 <= w.at.0 - GAP + 1, "{p:?}");
            assert!(p.at.0 >= 0);
        }
        let (a, b) = (placed[0].at, placed[1].at);
        assert!((a.1 - b.1).abs() >= 14, "{a:?} {b:?}");
    }

    #[test]
    fn legend_avoids_the_data_and_axes_fit_it() {
        let points = (0..100).map(|i| (i as f64 / 100.0, 0.0));
        assert!(matches!(
            emptiest_corner(points),
            SeriesLabelPosition::UpperRight
        ));
        let (lo, hi) = fit(0.563, 1.0, 0.05);
        assert_eq!(lo, 0.55);
        assert!(hi > 1.0 && hi < 1.05);
    }
}
