//! The figures: one row per measured figure with its baseline and target, printed as a table and written to
//! BENCHMARKS.md together with the machine, the date and the command.

use std::fmt::Write as _;

/// One figure of a scenario.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub figure: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    /// `None` for a figure shown without a target.
    pub met: Option<bool>,
}

impl Row {
    pub fn new(scenario: &str, figure: String) -> Row {
        Row {
            scenario: scenario.into(),
            figure,
            baseline: "—".into(),
            ratio: "—".into(),
            target: "—".into(),
            met: None,
        }
    }

    pub fn baseline(mut self, baseline: String, ratio: f64) -> Row {
        self.baseline = baseline;
        self.ratio = ratio_text(ratio);
        self
    }

    pub fn target(mut self, target: &str, met: bool) -> Row {
        self.target = target.into();
        self.met = Some(met);
        self
    }

    pub fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        }
    }
}

/// `0.19×`, `2.4×`, `310×`.
pub fn ratio_text(r: f64) -> String {
    if !r.is_finite() {
        return "—".into();
    }
    if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 10.0 {
        format!("{r:.1}×")
    } else if r >= 0.01 {
        format!("{r:.2}×")
    } else {
        format!("{r:.4}×")
    }
}

pub fn ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.0} µs", ms * 1000.0)
    }
}

pub fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", n / 1024.0 / 1024.0)
    } else if n >= 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{n:.0} B")
    }
}

/// The table as aligned text for the terminal.
pub fn text_table(rows: &[Row]) -> String {
    let head = ["scenario", "figure", "baseline", "ratio", "target", ""];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.scenario.clone(),
                r.figure.clone(),
                r.baseline.clone(),
                r.ratio.clone(),
                r.target.clone(),
                r.verdict().to_string(),
            ]
        })
        .collect();
    let width = |i: usize| cells.iter().map(|c| c[i].chars().count()).chain([head[i].len()]).max().unwrap_or(0).min(60);
    let widths: Vec<usize> = (0..6).map(width).collect();
    let line = |c: &[String]| {
        let mut s = String::new();
        for (i, cell) in c.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            let _ = write!(s, "{cell}{}  ", " ".repeat(pad));
        }
        s.trim_end().to_string()
    };
    let mut out = line(&head.map(String::from));
    out.push('\n');
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 10));
    out.push('\n');
    for c in &cells {
        out.push_str(&line(c));
        out.push('\n');
    }
    out
}

/// The table as Markdown.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::from("| scenario | figure | baseline (same run) | ratio | target | |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for r in rows {
        let cell = |s: &str| s.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&r.scenario),
            cell(&r.figure),
            cell(&r.baseline),
            cell(&r.ratio),
            cell(&r.target),
            match r.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "",
            }
        );
    }
    out
}
