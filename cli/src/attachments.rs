//! Attachment commands: attach a photo, signature or scanned form to a visit or screening, list a record's
//! attachments, and write one out (downloading it when it is not on this device). The same `Doorstep` methods as
//! the apps; the checks (size, media type, quota) are the core's.

use crate::fail::{CliError, CliResult};
use crate::lang::{self, t, Lang};
use crate::output::{print_json, table};
use crate::{errln, outln};
use clap::Args;
use doorstep_core::attachment::AttachmentKind;
use doorstep_core::ffi::Doorstep;
use doorstep_core::store::blobs::UploadState;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// The visit or screening id.
    pub id: String,
    /// The file to attach.
    pub file: PathBuf,
    /// `photo` (JPEG/WebP), `signature` (PNG/SVG) or `document` (PDF/JPEG/PNG/WebP).
    #[arg(long)]
    pub kind: String,
    #[arg(long, default_value = "")]
    pub caption: String,
    /// The media type (`image/jpeg`, …); sniffed from the file's bytes when not given.
    #[arg(long)]
    pub media_type: Option<String>,
    /// Print the reference as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Attaches the file; prints the blob's hash (the attachment's id) on stdout.
pub fn attach(app: &Doorstep, args: AttachArgs) -> CliResult<()> {
    let kind = AttachmentKind::parse(&args.kind).ok_or_else(|| {
        let codes: Vec<&str> = AttachmentKind::ALL.iter().map(|k| k.code()).collect();
        CliError::field("--kind", format!("{:?} is not one of: {}", args.kind, codes.join(", ")))
    })?;
    if !args.file.is_file() {
        return Err(CliError::field("FILE", format!("{} is not a readable file / 文件不存在", args.file.display())));
    }
    let reference =
        app.attach_file(args.id, args.file.to_string_lossy().into_owned(), kind, args.caption, args.media_type)?;
    if args.json {
        return print_json(&reference);
    }
    outln!("{}", reference.hash);
    Ok(())
}

fn upload_label(state: UploadState) -> &'static str {
    match state {
        UploadState::NotNeeded => "-",
        UploadState::Pending => t("待上传", "pending"),
        UploadState::Done => t("已上传", "uploaded"),
        UploadState::Broken => t("已损坏", "broken"),
    }
}

/// Lists a visit's or screening's attachments.
pub fn list(app: &Doorstep, id: String, json: bool) -> CliResult<()> {
    let attachments = app.list_attachments(id)?;
    if json {
        return print_json(&attachments);
    }
    let rows = attachments
        .into_iter()
        .map(|a| {
            vec![
                a.reference.hash,
                t(a.reference.kind.label_zh(), a.reference.kind.label_en()).to_string(),
                a.reference.media_type,
                a.reference.size.to_string(),
                if a.local { t("是", "yes").into() } else { t("否", "no").into() },
                upload_label(a.upload).to_string(),
                a.reference.caption,
            ]
        })
        .collect();
    let header = match lang::current() {
        Lang::Zh => ["哈希", "类型", "媒体类型", "字节", "在本机", "上传", "说明"],
        Lang::En => ["hash", "kind", "media type", "bytes", "on device", "upload", "caption"],
    };
    table(&header, rows);
    Ok(())
}

/// Writes an attachment's bytes to `out`, downloading them first when they are not on this device.
pub fn open(app: &Doorstep, hash: String, out: PathBuf) -> CliResult<()> {
    let bytes = app.open_attachment(hash)?;
    std::fs::write(&out, &bytes).map_err(|e| CliError::io(&out, e))?;
    match lang::current() {
        Lang::Zh => errln!("已写入 {} 字节到 {}", bytes.len(), out.display()),
        Lang::En => errln!("wrote {} bytes to {}", bytes.len(), out.display()),
    }
    Ok(())
}
