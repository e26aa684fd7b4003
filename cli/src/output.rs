//! Output: aligned tables for people, pretty JSON (the core's serde types) for scripts, and local times.
//!
//! Everything the CLI prints goes through [`write_out`] (the `outln!` macro) or [`write_err`] (`errln!`), never
//! `println!`: a reader that closes early (`doorstep household list | head -3`) ends the run quietly with the
//! shell's usual status 141 instead of a panic. By then every command has finished its work; only the rest of its
//! output is dropped.

use crate::fail::{CliError, CliResult};
use crate::lang::t;
use serde::Serialize;
use std::io::Write;

/// The exit status of a process ended by SIGPIPE, as shells report it (128 + 13).
pub const CLOSED_PIPE_EXIT: i32 = 141;

/// Prints a line on stdout; see [`write_out`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_out(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints a line on stderr; see [`write_err`].
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::write_err(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes text on stdout. A closed reader ends the process with status 141 and no message; any other failure to
/// write (a full disk behind a redirection) ends it with status 1 and says so on stderr.
pub fn write_out(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(CLOSED_PIPE_EXIT);
        }
        write_err(&format!("error[io]: stdout: {e}\n"));
        std::process::exit(1);
    }
}

/// Writes text on stderr; a stderr nobody reads any more is no reason to fail a command that worked.
pub fn write_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|_| err.flush());
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> CliResult<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError {
        message: e.to_string(),
        code: 1,
        kind: "internal".into(),
    })?;
    outln!("{text}");
    Ok(())
}

/// Display width of a cell: CJK characters take two columns.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// Prints rows under a header, columns padded to their widest cell, as one write.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(width(cell));
            }
        }
    }
    let mut text = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i].saturating_sub(width(cell)) + 2));
            }
        }
        text.push_str(out.trim_end());
        text.push('\n');
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    if rows.is_empty() {
        text.push_str(t("（无）", "(none)"));
        text.push('\n');
    }
    write_out(&text);
}

/// Milliseconds since the epoch as a local date and time (`2026-11-20 14:05:09`); every time the CLI prints for
/// people goes through here (JSON keeps the milliseconds).
pub fn local_time(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Local
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}
