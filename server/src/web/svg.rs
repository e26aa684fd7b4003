//! Inline SVG charts: no script, no style attribute (the CSP allows neither), only presentation attributes.

use super::html_escape;
use doorstep_core::model::AlertLevel;

/// A tiny bar chart of rates (0..=1), one bar a month, for a table cell.
pub fn sparkline(values: &[f64]) -> String {
    let (w, h, bw) = (12 * values.len().max(1), 24, 10);
    let mut out = format!(
        "<svg class=\"spark\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">"
    );
    for (i, v) in values.iter().enumerate() {
        let bh = (v.clamp(0.0, 1.0) * f64::from(h - 2)).round() as i32;
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{bw}\" height=\"{}\" fill=\"#2f6db5\"/>",
            i * 12,
            h - bh.max(1),
            bh.max(1)
        ));
    }
    out.push_str("</svg>");
    out
}

/// A labelled bar chart of rates (0..=1) by month.
pub fn bars(values: &[(String, f64)]) -> String {
    let (bw, gap, h, top, bottom) = (26, 6, 140, 16, 20);
    let w = values.len() * (bw + gap) + gap;
    let total_h = h + top + bottom;
    let mut out = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{total_h}\" viewBox=\"0 0 {w} {total_h}\" role=\"img\">"
    );
    out.push_str(&format!("<line x1=\"0\" y1=\"{}\" x2=\"{w}\" y2=\"{}\" stroke=\"#999\"/>", top + h, top + h));
    for (i, (label, v)) in values.iter().enumerate() {
        let x = gap + i * (bw + gap);
        let bh = (v.clamp(0.0, 1.0) * h as f64).round() as usize;
        out.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"{bw}\" height=\"{bh}\" fill=\"#2f6db5\"><title>{} {:.0}%</title></rect>",
            top + h - bh,
            html_escape(label),
            v * 100.0
        ));
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#333\">{:.0}</text>",
            x + bw / 2,
            top + h - bh - 3,
            v * 100.0
        ));
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
            x + bw / 2,
            top + h + 14,
            html_escape(label)
        ));
    }
    out.push_str("</svg>");
    out
}

/// Horizontal bars of household counts by alert level, in the level's colour.
pub fn alert_bars(rows: &[(String, Option<AlertLevel>, usize)]) -> String {
    let max = rows.iter().map(|r| r.2).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (90, 220, 22);
    let w = label_w + bar_w + 50;
    let h = rows.len() * row_h + 4;
    let mut out = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">"
    );
    for (i, (label, level, n)) in rows.iter().enumerate() {
        let y = i * row_h + 2;
        let colour = match level {
            Some(AlertLevel::Red) => "#c62828",
            Some(AlertLevel::Yellow) => "#f9a825",
            Some(AlertLevel::Blue) => "#1565c0",
            None => "#9e9e9e",
        };
        let len = n * bar_w / max;
        out.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"12\" fill=\"#333\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{}\" height=\"16\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#333\">{n}</text>",
            y + 13,
            html_escape(label),
            len.max(1),
            label_w + len + 6,
            y + 13
        ));
    }
    out.push_str("</svg>");
    out
}
