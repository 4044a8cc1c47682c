//! Charts of the privacy reports, drawn with [`crate::eval::plot`]: the audit's five
//! vulnerabilities on one page (`pprl privacy audit --plot`) and the privacy-utility sweep's
//! attack success against F1, one point per setting (`pprl privacy sweep --plot`).
//!
//! In: a [`PrivacyAudit`] or the sweep's rows; out: `audit.{svg,png}` or `sweep.{svg,png}` in a
//! directory, written atomically, the same bytes on every run.

use std::path::{Path, PathBuf};

use super::sweep::SweepRow;
use crate::eval::EvalError;
use crate::eval::plot::{Bars, Scatter, write_bars, write_scatter};
use crate::privacy::{Level, PrivacyAudit};

/// The files [`write_audit_chart`] writes into `dir`.
pub fn audit_chart_paths(dir: &Path) -> Vec<PathBuf> {
    crate::eval::plot::simple_paths(dir, "audit")
}

/// The files [`write_sweep_chart`] writes into `dir`.
pub fn sweep_chart_paths(dir: &Path) -> Vec<PathBuf> {
    crate::eval::plot::simple_paths(dir, "sweep")
}

/// The audit on one page: one bar per vulnerability, its measure as a share of the level at
/// which it is judged high (so the high mark is at 1 on every bar), coloured by the verdict,
/// with the medium and high marks.
pub fn write_audit_chart(dir: &Path, audit: &PrivacyAudit) -> Result<Vec<PathBuf>, EvalError> {
    let items = audit
        .verdicts()
        .iter()
        .map(|(name, v)| {
            let scale = if v.high_at > 0.0 { v.high_at } else { 1.0 };
            let level = match v.level {
                Level::Low => 0,
                Level::Medium => 1,
                Level::High => 2,
            };
            (
                format!("{name}: {} ({:.3})", v.level, v.measure),
                (v.measure / scale).max(0.0),
                level,
                v.medium_at / scale,
                1.0,
            )
        })
        .collect();
    write_bars(
        dir,
        "audit",
        &Bars {
            title: format!(
                "Leakage audit: {} records x {} bits",
                audit.records, audit.bits
            ),
            x_label: "measure / its 'high' threshold (marks: medium, high)".into(),
            items,
        },
    )
}

/// The sweep: worst share of records re-identified 1-1 (any attack, any overlap) against
/// two-party F1, one point per setting and data set, with the 1% target marked.
pub fn write_sweep_chart(dir: &Path, rows: &[SweepRow]) -> Result<Vec<PathBuf>, EvalError> {
    let mut series: Vec<String> = Vec::new();
    let mut points = Vec::new();
    for r in rows {
        let s = match series.iter().position(|d| *d == r.data) {
            Some(s) => s,
            None => {
                series.push(r.data.clone());
                series.len() - 1
            }
        };
        points.push((
            r.two_party_f1,
            r.worst_rate_1_1 * 100.0,
            r.setting.clone(),
            s,
        ));
    }
    let lo = points.iter().map(|p| p.0).fold(1.0f64, f64::min);
    let top = points.iter().map(|p| p.1).fold(1.0f64, f64::max);
    let x0 = ((lo - 0.01) * 100.0).floor() / 100.0;
    write_scatter(
        dir,
        "sweep",
        &Scatter {
            title: "Privacy against utility, one point per hardening setting".into(),
            x_label: "two-party F1 (automatic threshold)".into(),
            y_label: "records re-identified 1-1, worst attack (%)".into(),
            x_range: (x0.clamp(0.0, 0.99), 1.0),
            y_range: (0.0, top * 1.1),
            points,
            series,
            y_mark: Some((1.0, "target: 1%".into())),
        },
    )
}
