//! Opening a device store with 10,000 documents and showing the household list, in a child process (this binary
//! re-run with a hidden subcommand) so that its peak resident memory (`VmHWM`) is the app's alone, not the
//! benchmark's. The same child on an empty store gives the memory of the program itself, so the difference divided
//! by the households is the memory per household.

use crate::fixture::{vm_hwm_kb, Device, KEY};
use crate::records;
use crate::report::{bytes, ms, Row};
use crate::{Ctx, Res};
use doorstep_core::ffi::Doorstep;
use doorstep_core::query::HouseholdFilter;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The hidden subcommand: open the store at `path`, list its households, print one line of figures.
pub const CHILD: &str = "__open-store";

/// Runs in the child: open, list, report time and peak RSS as `ms households hwm_kb`.
pub fn child(path: &Path) -> Res<()> {
    let t = Instant::now();
    let app = Doorstep::open(path.display().to_string(), KEY.to_vec(), "bench-phone".into())?;
    let list = app.list_households(HouseholdFilter::default())?;
    let elapsed = t.elapsed();
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hwm = vm_hwm_kb(&status).ok_or("no VmHWM in /proc/self/status")?;
    println!("{} {} {hwm}", elapsed.as_micros(), list.len());
    Ok(())
}

fn run_child(path: &Path) -> Res<(Duration, usize, u64)> {
    let out = Command::new(std::env::current_exe()?).arg(CHILD).arg(path).output()?;
    if !out.status.success() {
        return Err(format!("the open-store child failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<u64> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    if f.len() != 3 {
        return Err(format!("unexpected child output {text:?}").into());
    }
    Ok((Duration::from_micros(f[0]), f[1] as usize, f[2]))
}

pub async fn run(ctx: &Ctx) -> Res<Vec<Row>> {
    let docs = ctx.scale.open_docs;
    let nh = docs * 2 / 25; // 8 %: a helper's households with a year and more of visits
    ctx.say("open store: building");
    let dev = Device::new("full-phone", true)?;
    let empty = Device::new("empty-phone", true)?;
    let mut rng = records::rng(4);
    let households = records::households(&mut rng, "helper1", 0, nh);
    let visits = records::visits(&mut rng, &households, "helper1", docs - nh);
    let today = doorstep_core::store::today();
    dev.with(|s| {
        for h in &households {
            s.put(h, &today)?;
        }
        for v in &visits {
            s.put(v, &today)?;
        }
        s.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    })?;
    ctx.say("open store: measuring");
    let runs = 7;
    let mut times = Vec::new();
    let mut hwm = 0;
    for _ in 0..runs {
        let (t, n, h) = run_child(&dev.path)?;
        if n != nh {
            return Err(format!("the list showed {n} of {nh} households").into());
        }
        times.push(t);
        hwm = hwm.max(h);
    }
    times.sort();
    let p50 = times[runs / 2];
    let (_, _, hwm_empty) = run_child(&empty.path)?;
    let name = format!("open a device store with {docs} documents and show the household list ({nh} households)");
    let per_household = hwm.saturating_sub(hwm_empty) * 1024 / nh as u64;
    Ok(vec![
        Row::new(&name, format!("{} (median of {runs} cold processes; slowest {})", ms(p50), ms(times[runs - 1])))
            .target("≤ 300 ms", p50.as_secs_f64() <= 0.3),
        Row::new(&name, format!("peak RSS {:.1} MiB", hwm as f64 / 1024.0))
            .baseline(
                format!("the same program on an empty store {:.1} MiB", hwm_empty as f64 / 1024.0),
                hwm as f64 / hwm_empty as f64,
            )
            .target("≤ 60 MB", hwm * 1024 <= 60_000_000),
        Row::new(
            "memory per household on the device",
            format!("{} (peak RSS above the empty store's, over {nh} households)", bytes(per_household)),
        ),
    ])
}
