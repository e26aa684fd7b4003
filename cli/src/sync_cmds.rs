//! Login, sync and status: the same sync engine the apps use, with a progress bar on a terminal.

use crate::fail::{CliError, CliResult};
use crate::lang::{self, t, Lang};
use crate::output::{local_time, print_json, table, write_out};
use crate::{label, outln};
use clap::Args;
use doorstep_core::error::DoorstepError;
use doorstep_core::ffi::Doorstep;
use doorstep_core::model::{DocKind, Role};
use doorstep_core::sync::{LoginOptions, NetworkKind, SyncConfig, SyncEvent, SyncListener};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

/// Signs in; the password comes from stdin (first line) when stdin is not a terminal, else from a prompt.
pub fn login(app: &Doorstep, server: &str, user: &str, hand_over: bool, trust: &TrustArgs) -> CliResult<()> {
    let options = trust.options()?;
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
    let info = match app.login_with(server, user, &password, &options) {
        // The previous account's work could not be sent: with --hand-over it is set aside, and the sign-in goes on.
        Err(DoorstepError::Refused { code, .. }) if hand_over && code == "unsynced_work" => {
            let n = app.set_aside_unsynced()?;
            match lang::current() {
                Lang::Zh => outln!("已将 {n} 份未同步的记录另存待移交（doorstep set-aside --export 导出）"),
                Lang::En => {
                    outln!("set aside {n} unsynced records for hand-over (export: doorstep set-aside --export FILE)")
                }
            }
            app.login_with(server, user, &password, &options)?
        }
        other => other?,
    };
    let role = Role::parse(&info.role).map(|r| label!(r).to_string()).unwrap_or(info.role.clone());
    match lang::current() {
        Lang::Zh => outln!("已登录 {}：{}（{}），设备 {}", info.server, info.user, role, info.device_id),
        Lang::En => outln!("signed in to {} as {} ({role}), device {}", info.server, info.user, info.device_id),
    }
    Ok(())
}

/// How `login` trusts the server: a county server with a private CA or a self-signed certificate is signed in to
/// with its CA file or its certificate's fingerprint; both are kept in the encrypted store for later syncs.
#[derive(Args, Debug)]
pub struct TrustArgs {
    /// Trust only certificates issued by this CA certificate (PEM file from the deployment) instead of the
    /// system's CAs; the certificate must still name the server's host.
    #[arg(long, value_name = "FILE", display_order = 100, conflicts_with = "pin_sha256")]
    ca_cert: Option<std::path::PathBuf>,
    /// Accept exactly the server certificate with this SHA-256 fingerprint (64 hex digits, colons allowed:
    /// `openssl x509 -in server.pem -noout -fingerprint -sha256`).
    #[arg(long, value_name = "HEX", display_order = 101)]
    pin_sha256: Option<String>,
    /// Developer option: allow a plain http:// server that is not on this machine (the password and all data
    /// travel unencrypted). Never for field use.
    #[arg(long, display_order = 102)]
    insecure_http_dev: bool,
}

impl TrustArgs {
    fn options(&self) -> CliResult<LoginOptions> {
        let ca_cert_pem = match &self.ca_cert {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| CliError::field("--ca-cert", format!("{}: {e}", path.display())))?,
            ),
            None => None,
        };
        Ok(LoginOptions {
            ca_cert_pem,
            pin_sha256: self.pin_sha256.clone(),
            allow_insecure_http: self.insecure_http_dev,
        })
    }
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
            SyncEvent::Started => self.0.set_message(t("同步中", "syncing")),
            SyncEvent::Progress { sent, received } => {
                self.0.set_message(match lang::current() {
                    Lang::Zh => format!("已上传 {sent} · 已下载 {received}"),
                    Lang::En => format!("sent {sent} · received {received}"),
                });
                self.0.tick();
            }
            SyncEvent::Blobs { done, total, bytes_done, bytes_total } => {
                self.0.set_message(format!(
                    "{} {done}/{total} · {} / {} KiB",
                    t("附件", "attachments"),
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
    let more = if result.incomplete {
        t("（还有待同步的内容，请再次同步）", " (more waiting: run sync again)")
    } else {
        ""
    };
    match lang::current() {
        Lang::Zh => outln!(
            "同步完成：上传 {} 条更改，收到 {} 份文档，往返 {} 次{more}",
            result.sent,
            result.received,
            result.round_trips
        ),
        Lang::En => outln!(
            "synced: sent {} changes, received {} documents in {} round trips{more}",
            result.sent,
            result.received,
            result.round_trips
        ),
    }
    if result.held_back > 0 {
        match lang::current() {
            Lang::Zh => outln!("{} 份记录所属的农户尚未同步到服务器，记录保留在本机，下次同步时重发", result.held_back),
            Lang::En => outln!(
                "{} records wait in the queue: their household has not reached the server yet (sent at a later sync)",
                result.held_back
            ),
        }
    }
    if result.retried > 0 {
        match lang::current() {
            Lang::Zh => outln!("{} 份此前另存的记录已重新上传", result.retried),
            Lang::En => outln!("{} records set aside earlier were sent again and accepted", result.retried),
        }
    }
    let b = result.blobs;
    if b.uploaded + b.deferred + b.broken + b.refused + b.downloaded > 0 || b.incomplete {
        let more = if b.incomplete {
            t("（还有待同步的附件，请再次同步）", " (more waiting: run sync again)")
        } else {
            ""
        };
        match lang::current() {
            Lang::Zh => outln!(
                "附件：已上传 {}（发送 {} 字节），{} 个等待非计费网络，{} 个被拒绝，{} 个已损坏，已下载 {}{more}",
                b.uploaded,
                b.bytes_sent,
                b.deferred,
                b.refused,
                b.broken,
                b.downloaded
            ),
            Lang::En => outln!(
                "attachments: {} uploaded ({} bytes sent), {} waiting for an unmetered network, {} refused, {} broken, {} downloaded{more}",
                b.uploaded,
                b.bytes_sent,
                b.deferred,
                b.refused,
                b.broken,
                b.downloaded
            ),
        }
    }
    Ok(())
}

pub fn status(app: &Doorstep, json: bool) -> CliResult<()> {
    let s = app.sync_status()?;
    if json {
        return print_json(&s);
    }
    let dash = |v: Option<&str>| v.unwrap_or("-").to_string();
    let last = s.last_sync_ms.map(local_time).unwrap_or_else(|| t("从未同步", "never").to_string());
    let role = s.role.as_deref().map(|r| Role::parse(r).map(|r| label!(r).to_string()).unwrap_or(r.to_string()));
    let mut rows = vec![
        (t("待上传更改", "pending changes"), s.pending.to_string()),
        (
            t("待上传附件", "pending attachments"),
            format!("{} ({} {})", s.pending_blobs, s.pending_blob_bytes, t("字节", "bytes")),
        ),
    ];
    if s.set_aside > 0 {
        rows.push((
            t("待移交（doorstep set-aside）", "set aside for hand-over (doorstep set-aside)"),
            s.set_aside.to_string(),
        ));
    }
    rows.push((t("上次同步", "last sync"), last));
    rows.push((t("服务器", "server"), dash(s.server.as_deref())));
    rows.push((t("用户", "user"), format!("{} ({})", dash(s.user.as_deref()), dash(role.as_deref()))));
    rows.push((t("设备", "device"), dash(s.device_id.as_deref())));
    let text: String = rows.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    write_out(&text);
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
        match lang::current() {
            Lang::Zh => outln!("已导出 {} 份待移交文档到 {}", docs.len(), path.display()),
            Lang::En => outln!("exported {} set-aside document(s) to {}", docs.len(), path.display()),
        }
        return Ok(());
    }
    if json {
        return print_json(&docs);
    }
    let rows = docs
        .iter()
        .map(|d| {
            vec![
                d.doc_id.clone(),
                DocKind::parse(&d.kind).map(|k| label!(k).to_string()).unwrap_or(d.kind.clone()),
                set_aside_reason(&d.reason),
                d.unsynced.to_string(),
                local_time(d.at_ms),
            ]
        })
        .collect();
    let header = match lang::current() {
        Lang::Zh => ["文档", "类型", "原因", "未同步更改", "时间"],
        Lang::En => ["doc", "kind", "reason", "unsynced changes", "since"],
    };
    table(&header, rows);
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

/// Why a document was set aside, in words (an unknown reason keeps its code).
fn set_aside_reason(code: &str) -> String {
    match code {
        "out_of_scope" => t("服务器拒收：超出范围", "refused by the server: out of scope").into(),
        "left_scope" => t("已移出范围，仍有未同步更改", "left this account's scope with unsynced changes").into(),
        "handed_over" => t("换账号登录前另存待移交", "handed over before another account signed in").into(),
        other => other.into(),
    }
}
