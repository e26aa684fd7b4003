//! Errors of the CLI: a message for the terminal (naming the field or limit) and an exit code for scripts.

use doorstep_core::error::DoorstepError;
use std::path::Path;

/// Exit codes, documented in docs/cli.md.
pub mod exit {
    pub const USAGE: i32 = 2;
    pub const VALIDATION: i32 = 3;
    pub const NOT_FOUND: i32 = 4;
    pub const NETWORK: i32 = 5;
    pub const REFUSED: i32 = 6;
    pub const UPDATE_REQUIRED: i32 = 7;
    pub const STORAGE: i32 = 8;
    /// The server's certificate was refused, or a plain http:// address off this machine.
    pub const UNTRUSTED: i32 = 9;
}

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
    /// The API's refusal code or the error kind, for `--json` consumers.
    pub kind: String,
}

pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: exit::USAGE, kind: "usage".into() }
    }

    /// A bad value of one field (a flag or a JSON field), named.
    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        Self { message: format!("{field}: {message}"), code: exit::VALIDATION, kind: "validation".into() }
    }

    pub fn io(path: &Path, e: std::io::Error) -> Self {
        Self { message: format!("{}: {e}", path.display()), code: exit::STORAGE, kind: "io".into() }
    }
}

impl From<DoorstepError> for CliError {
    fn from(e: DoorstepError) -> Self {
        let (code, kind, message) = match e {
            DoorstepError::Validation { errors } => (
                exit::VALIDATION,
                "validation".to_string(),
                format!(
                    "the record was not saved / 未保存:\n{}",
                    errors.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n")
                ),
            ),
            DoorstepError::NotFound { what } => {
                (exit::NOT_FOUND, "not_found".into(), format!("not found / 未找到: {what}"))
            }
            DoorstepError::WrongKey => {
                (exit::STORAGE, "wrong_key".into(), "the store does not open with the home's key / 密钥错误".into())
            }
            DoorstepError::Storage { message } => (exit::STORAGE, "storage".into(), format!("storage: {message}")),
            DoorstepError::Internal { message } => (1, "internal".into(), format!("internal error: {message}")),
            DoorstepError::Network { message, retryable } => (
                exit::NETWORK,
                "network".into(),
                format!(
                    "network / 网络: {message}{}",
                    if retryable { " (nothing is lost; try again later / 数据已保存，稍后重试)" } else { "" }
                ),
            ),
            DoorstepError::Refused { code, message, message_zh, retryable } => {
                // A busy server or a rate limit passes: scripts treat it like a network failure and retry later.
                let exit = if retryable { exit::NETWORK } else { exit::REFUSED };
                (exit, code.clone(), format!("refused by the server ({code}): {message} / {message_zh}"))
            }
            DoorstepError::UpdateRequired { message, message_zh } => {
                (exit::UPDATE_REQUIRED, "update_required".into(), format!("update required: {message} / {message_zh}"))
            }
            // A refused attachment is a validation failure of the file: exit 3, kind = the check that failed.
            DoorstepError::AttachmentRefused { code, limit, detail, detail_zh } => (
                exit::VALIDATION,
                code,
                format!(
                    "attachment not saved / 附件未保存: {detail} / {detail_zh}{}",
                    if limit > 0 { format!(" (limit {limit})") } else { String::new() }
                ),
            ),
            DoorstepError::Untrusted { code, message, message_zh } => {
                (exit::UNTRUSTED, code.clone(), format!("server not trusted ({code}): {message} / {message_zh}"))
            }
            DoorstepError::NotSignedIn => (
                exit::USAGE,
                "not_signed_in".into(),
                "not signed in: run `doorstep login --server URL --user NAME` first / 请先登录".into(),
            ),
        };
        Self { message, code, kind }
    }
}
