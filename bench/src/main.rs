//! `doorstep-bench`: the benchmark program. Every figure is measured against a baseline taken in the same run on
//! the same machine, printed as a table, and (for a full run, or with `--write`) written to BENCHMARKS.md with the
//! machine's description, the date and the command.
//!
//! ```text
//! cargo run --release -p doorstep-bench -- all            every scenario at full size
//! cargo run --release -p doorstep-bench -- all --quick    CI-sized (the test command runs this)
//! cargo run --release -p doorstep-bench -- --only sync    one scenario (`list` names them)
//! DOORSTEP_BENCH_PG=postgres://… (or --pg URL)            the server ingest on PostgreSQL too
//! ```
//!
//! A benchmark is a program, not a test: it asserts nothing about its figures, but it fails (exit 1) when a
//! scenario cannot run or a sync loses data. Every loop is bounded; temporary stores and servers are removed.

mod fixture;
mod machine;
mod records;
mod report;
mod scenarios;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use report::Row;
use std::path::PathBuf;
use std::process::ExitCode;

/// Errors of the benchmark: anything that stops a scenario, with its message.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser)]
#[command(name = "doorstep-bench", about = "Doorstep benchmarks: figures against baselines measured in the same run")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// CI-sized scenarios (seconds instead of minutes); figures are then not written to BENCHMARKS.md.
    #[arg(long, global = true)]
    quick: bool,
    /// Run only this scenario (see `list`).
    #[arg(long, global = true)]
    only: Option<String>,
    /// Write BENCHMARKS.md even for a quick or partial run.
    #[arg(long, global = true)]
    write: bool,
    /// A PostgreSQL server (`postgres://user@127.0.0.1:port/db`, a role that may create databases) for the ingest
    /// scenario on PostgreSQL; each server of the run gets a fresh database there, dropped afterwards.
    #[arg(long, env = "DOORSTEP_BENCH_PG", global = true)]
    pg: Option<String>,
    /// Where to write the figures.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every scenario.
    All,
    /// The scenario names for --only.
    List,
    /// (internal) Opens a store and lists its households in a process of its own, for its peak memory.
    #[command(name = "__open-store", hide = true)]
    OpenStore { path: PathBuf },
}

/// Sizes of the scenarios: the issue's figures, or CI-sized ones with `--quick`.
#[derive(Debug, Clone)]
pub struct Scale {
    pub quick: bool,
    pub record_samples: usize,
    pub sync_visits: usize,
    /// households, visits, screenings of the helper's phone
    pub helper: (usize, usize, usize),
    pub open_docs: usize,
    pub devices: usize,
    pub households_per_device: usize,
    pub visits_per_device: usize,
    pub extra_per_device: usize,
}

impl Scale {
    fn new(quick: bool) -> Scale {
        if quick {
            Scale {
                quick,
                record_samples: 100,
                sync_visits: 100,
                helper: (20, 240, 40),
                open_docs: 1000,
                devices: 10,
                households_per_device: 10,
                visits_per_device: 100,
                extra_per_device: 20,
            }
        } else {
            Scale {
                quick,
                record_samples: 1000,
                sync_visits: 1000,
                helper: (200, 2400, 400),
                open_docs: 10_000,
                devices: 100,
                households_per_device: 100,
                visits_per_device: 1000,
                extra_per_device: 200,
            }
        }
    }
}

/// What every scenario gets: sizes, the server binary, PostgreSQL when given, the progress bar.
pub struct Ctx {
    pub scale: Scale,
    pub server_bin: PathBuf,
    pub pg: Option<fixture::PgCluster>,
    bar: ProgressBar,
    failures: std::sync::Mutex<Vec<String>>,
}

impl Ctx {
    /// Shows what is running now.
    pub fn say(&self, what: &str) {
        self.bar.set_message(what.to_string());
    }

    /// Records a part of a scenario that failed while the scenario kept its other figures: the run fails.
    pub fn failed(&self, what: &str) {
        self.bar.suspend(|| eprintln!("failed: {what}"));
        if let Ok(mut f) = self.failures.lock() {
            f.push(what.to_string());
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Cmd::OpenStore { path }) => scenarios::open::child(path),
        Some(Cmd::List) => {
            for (name, what) in scenarios::ALL {
                println!("{name:<18} {what}");
            }
            Ok(())
        }
        Some(Cmd::All) => run(&cli),
        None if cli.only.is_some() => run(&cli),
        None => {
            eprintln!("give `all` (every scenario) or `--only NAME` (see `list`); --help for more");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Res<()> {
    let names: Vec<&str> = match &cli.only {
        Some(only) => {
            let only = if only == "ingest" { "county" } else { only.as_str() };
            if !scenarios::ALL.iter().any(|(n, _)| *n == only) {
                let all: Vec<&str> = scenarios::ALL.iter().map(|(n, _)| *n).collect();
                return Err(format!("unknown scenario {only:?}; one of {}", all.join(", ")).into());
            }
            vec![only]
        }
        None => scenarios::ALL.iter().map(|(n, _)| *n).collect(),
    };
    let server_bin = fixture::ensure_server_binary()?;
    let bar = ProgressBar::new(names.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:<18} [{bar:30}] {pos}/{len} {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let ctx = Ctx {
        scale: Scale::new(cli.quick),
        server_bin,
        pg: cli.pg.as_deref().filter(|u| !u.is_empty()).map(fixture::PgCluster::new),
        bar: bar.clone(),
        failures: std::sync::Mutex::new(Vec::new()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = std::time::Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut failed = Vec::new();
    for name in &names {
        bar.set_prefix(name.to_string());
        let result = runtime.block_on(async {
            match *name {
                "record" => scenarios::record::run(&ctx.scale),
                "sync" => scenarios::sync::run(&ctx).await,
                "helper-bootstrap" => scenarios::bootstrap::run(&ctx).await,
                "open-store" => scenarios::open::run(&ctx).await,
                "county" => scenarios::county::run(&ctx).await,
                "storm" => scenarios::storm::run(&ctx).await,
                "attachments" => scenarios::attachments::run(&ctx).await,
                "province" => scenarios::province::run(&ctx).await,
                other => Err(format!("no scenario {other}").into()),
            }
        });
        match result {
            Ok(r) => rows.extend(r),
            Err(e) => {
                bar.suspend(|| eprintln!("scenario {name} failed: {e}"));
                rows.push(Row::new(name, format!("FAILED: {e}")));
                failed.push(name.to_string());
            }
        }
        bar.inc(1);
    }
    bar.finish_with_message("done");
    // Parts that failed inside a scenario that kept its other figures: the table is still written (they show as
    // FAILED rows), but the run fails.
    let partial: Vec<String> = ctx.failures.lock().map(|f| f.clone()).unwrap_or_default();
    drop(ctx);
    let table = report::text_table(&rows);
    println!("\n{table}");
    println!("{} scenarios in {:.0} s", names.len(), started.elapsed().as_secs_f64());
    let full = !cli.quick && cli.only.is_none();
    if (full || cli.write) && failed.is_empty() {
        let path =
            cli.out.clone().unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../BENCHMARKS.md")));
        write_markdown(&path, &rows, cli, started.elapsed())?;
        println!("figures written to {}", path.display());
    }
    failed.extend(partial);
    if !failed.is_empty() {
        return Err(format!("failed: {}", failed.join("; ")).into());
    }
    Ok(())
}

const BEGIN: &str = "<!-- figures: written by doorstep-bench; everything outside these two markers is kept -->";
const END: &str = "<!-- end of figures -->";

/// Writes the run's section of BENCHMARKS.md (machine, date, command, table) between the markers, keeping the
/// hand-written text around them (how each figure is measured, the hot spots).
fn write_markdown(path: &std::path::Path, rows: &[Row], cli: &Cli, took: std::time::Duration) -> Res<()> {
    let machine = machine::Machine::read();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = std::env::var("DOORSTEP_BENCH_COMMAND").unwrap_or_else(|_| {
        let profile = if cfg!(debug_assertions) { "" } else { "--release " };
        format!("cargo run {profile}-p doorstep-bench -- {}", args.join(" "))
    });
    let store = if cli.pg.is_some() { "SQLite and PostgreSQL" } else { "SQLite only (no PostgreSQL given)" };
    let section = format!(
        "{BEGIN}\n\n## Last run\n\n- Date: {}\n- Command: `{command}`\n- Build: {} profile; server stores: {store}; \
         the run took {:.0} s\n{}\n{}\n{END}",
        chrono::Local::now().format("%Y-%m-%d %H:%M %Z"),
        if cfg!(debug_assertions) { "debug" } else { "release" },
        took.as_secs_f64(),
        machine.describe(),
        report::markdown_table(rows),
    );
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let text = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => format!("{}{section}{}", &old[..b], &old[e + END.len()..]),
        _ if old.is_empty() => format!("# Benchmarks\n\n{section}\n"),
        _ => format!("{old}\n{section}\n"),
    };
    std::fs::write(path, text)?;
    Ok(())
}
