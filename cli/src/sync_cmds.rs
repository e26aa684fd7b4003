//! Login, sync and status: the same sync engine the apps use, with a progress bar on a terminal.

use crate::fail::{CliError, CliResult};
use crate::output::print_json;
use clap::Args;
use doorstep_core::ffi::Doorstep;
use doorstep_core::sync::{NetworkKind, SyncConfig, SyncEvent, SyncListener};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

/// Signs in; the password comes from stdin (first line) when stdin is not a terminal, else from a prompt.
pub fn login(app: &Doorstep, server: &str, user: &str) -> CliResult<()> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password / 密码: ").map_err(|e| CliError::usage(format!("password: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("password from stdin: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        return Err(CliError::field("password", "is empty / 密码为空"));
    }
    let info = app.login(server.to_string(), user.to_string(), password)?;
    println!("signed in to {} as {} ({}), device {}", info.server, info.user, info.role, info.device_id);
    Ok(())
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// Print the result as JSON (`sent`, `received`, `round_trips`, `incomplete`).
    #[arg(long)]
    json: bool,
    /// Most bytes of documents per pulled page (default 4 MiB); smaller pages mean more, shorter round trips.
    #[arg(long, value_name = "BYTES")]
    page_bytes: Option<u32>,
    /// Most bytes of changes per pushed request (default 4 MiB).
    #[arg(long, value_name = "BYTES")]
    push_bytes: Option<usize>,
    /// The network is metered (mobile data): only signatures upload; photos and forms wait.
    #[arg(long)]
    metered: bool,
    /// With `--metered`: upload photos and forms over metered data too.
    #[arg(long)]
    allow_metered: bool,
    /// Bytes of one attachment upload or download request (default 256 KiB).
    #[arg(long, value_name = "BYTES")]
    blob_chunk_bytes: Option<usize>,
    /// Stop the attachment phase after this many chunks (the rest goes at the next sync).
    #[arg(long, value_name = "N")]
    blob_chunk_limit: Option<u32>,
    /// Also download the attachments of the households assigned to the signed-in user.
    #[arg(long)]
    prefetch: bool,
}

struct Bar(ProgressBar);

impl SyncListener for Bar {
    fn on_event(&self, event: SyncEvent) {
        match event {
            SyncEvent::Started => self.0.set_message("syncing / 同步中"),
            SyncEvent::Progress { sent, received } => {
                self.0.set_message(format!("sent {sent} · received {received} / 已上传 {sent} · 已下载 {received}"));
                self.0.tick();
            }
            SyncEvent::Blobs { done, total, bytes_done, bytes_total } => {
                self.0.set_message(format!(
                    "attachments {done}/{total} · {} / {} KiB / 附件 {done}/{total}",
                    bytes_done / 1024,
                    bytes_total / 1024
                ));
                self.0.tick();
            }
            SyncEvent::Done { .. } | SyncEvent::Failed { .. } => self.0.finish_and_clear(),
        }
    }
}

pub fn sync(app: &Doorstep, args: SyncArgs) -> CliResult<()> {
    let mut config = SyncConfig::default();
    if let Some(p) = args.page_bytes {
        config.pull_max_bytes = p.max(1);
    }
    if let Some(p) = args.push_bytes {
        config.push_max_bytes = p.max(1);
    }
    if let Some(b) = args.blob_chunk_bytes {
        config.blob_chunk_bytes = b.max(1);
    }
    config.blob_chunk_limit = args.blob_chunk_limit;
    config.prefetch_own_households = args.prefetch;
    app.sync_engine_with(config)?;
    let kind = if args.metered { NetworkKind::Metered } else { NetworkKind::Unmetered };
    app.set_network(kind, args.allow_metered)?;
    if std::io::stderr().is_terminal() && !args.json {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        app.set_sync_listener(Arc::new(Bar(bar)))?;
    }
    let result = app.sync_now()?;
    if args.json {
        return print_json(&result);
    }
    println!(
        "synced: sent {} changes, received {} documents in {} round trips{}",
        result.sent,
        result.received,
        result.round_trips,
        if result.incomplete { " (more waiting: run sync again)" } else { "" }
    );
    let b = result.blobs;
    if b.uploaded + b.deferred + b.broken + b.refused + b.downloaded > 0 || b.incomplete {
        println!(
            "attachments: {} uploaded ({} bytes sent), {} waiting for an unmetered network, {} refused, {} broken, {} downloaded{}",
            b.uploaded,
            b.bytes_sent,
            b.deferred,
            b.refused,
            b.broken,
            b.downloaded,
            if b.incomplete { " (more waiting: run sync again)" } else { "" }
        );
    }
    Ok(())
}

pub fn status(app: &Doorstep, json: bool) -> CliResult<()> {
    let s = app.sync_status()?;
    if json {
        return print_json(&s);
    }
    let last = s.last_sync_ms.and_then(chrono_like).unwrap_or_else(|| "never / 从未".to_string());
    println!("pending changes / 待上传: {}", s.pending);
    println!("pending attachments / 待上传附件: {} ({} bytes)", s.pending_blobs, s.pending_blob_bytes);
    if s.set_aside > 0 {
        println!("set aside for hand-over / 待移交: {} (doorstep set-aside)", s.set_aside);
    }
    println!("last sync / 上次同步: {last}");
    println!("server / 服务器: {}", s.server.as_deref().unwrap_or("-"));
    println!("user / 用户: {} ({})", s.user.as_deref().unwrap_or("-"), s.role.as_deref().unwrap_or("-"));
    println!("device / 设备: {}", s.device_id.as_deref().unwrap_or("-"));
    Ok(())
}

/// Lists the documents set aside on this device, or writes them to a file for hand-over.
pub fn set_aside(app: &Doorstep, export: Option<std::path::PathBuf>, json: bool) -> CliResult<()> {
    let docs = app.set_aside_docs()?;
    if let Some(path) = export {
        let text = serde_json::to_string_pretty(&docs).map_err(|e| CliError {
            message: e.to_string(),
            code: 1,
            kind: "internal".into(),
        })?;
        write_private(&path, text.as_bytes()).map_err(|e| CliError {
            message: format!("{}: {e}", path.display()),
            code: 1,
            kind: "io".into(),
        })?;
        println!("exported {} set-aside document(s) to {} / 已导出", docs.len(), path.display());
        return Ok(());
    }
    if json {
        return print_json(&docs);
    }
    for d in &docs {
        println!("{}\t{}\t{}\tunsynced={}", d.doc_id, d.kind, d.reason, d.unsynced);
    }
    println!("{} set aside / 待移交", docs.len());
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Milliseconds since the epoch as local `YYYY-MM-DD HH:MM:SS`.
fn chrono_like(ms: i64) -> Option<String> {
    use chrono::TimeZone;
    chrono::Local.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}
