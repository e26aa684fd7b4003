//! Errors: a precise internal `Error`, and the small public `DoorstepError` the app acts on, mapped in one place.

use crate::model::FieldError;

/// Everything that can go wrong inside the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The record may not be saved; every problem names its field.
    #[error("validation failed: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Validation(Vec<FieldError>),
    #[error("{kind} {id} not found")]
    NotFound { kind: String, id: String },
    /// The store key is wrong, or the file is not a Doorstep store.
    #[error("the store could not be opened with this key")]
    WrongKey,
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("document: {0}")]
    Document(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The store was written by a newer version of the app.
    #[error("the store has schema version {found}, newer than this app's {supported}")]
    NewerSchema { found: i64, supported: i64 },
    /// Logging in or syncing with the server failed.
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    /// Bytes that may not be attached (size, media type, caption); nothing was stored.
    #[error(transparent)]
    Attachment(#[from] crate::attachment::AttachmentError),
    /// Attaching would pass the device quota of bytes waiting for upload; nothing was stored.
    #[error(
        "attachment: {size} more bytes would pass the device quota of {quota} bytes ({used} bytes wait for upload)"
    )]
    AttachmentQuota { used: u64, size: u64, quota: u64 },
    /// The document already holds the most attachments allowed; nothing was stored.
    #[error("attachment: a document holds at most {limit} attachments")]
    TooManyAttachments { limit: u32 },
    /// A blob file or download whose bytes are damaged (or encrypted under another key).
    #[error("blob {hash}: {reason}")]
    BlobCorrupt { hash: String, reason: String },
}

/// Results inside the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation failure of a single field.
    pub fn invalid(field: &str, message: &str) -> Self {
        Error::Validation(vec![FieldError {
            field: field.to_string(),
            code: "invalid".into(),
            message_en: message.to_string(),
            message_zh: format!("{field}无效"),
        }])
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Error::NotFound { kind: kind.to_string(), id: id.to_string() }
    }

    /// True when the same operation may succeed later unchanged (network trouble, a busy server).
    pub fn retryable(&self) -> bool {
        matches!(self, Error::Sync(e) if e.retryable())
    }
}

/// The errors the app sees, each a case it handles differently.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DoorstepError {
    /// Show each error next to its field.
    #[error("validation failed")]
    Validation { errors: Vec<FieldError> },
    #[error("not found: {what}")]
    NotFound { what: String },
    /// Ask the user to unlock again; never retry with the same key.
    #[error("wrong key")]
    WrongKey,
    /// The phone's storage failed (full disk, corrupt file); the message is for support.
    #[error("storage: {message}")]
    Storage { message: String },
    /// Anything else internal; the message is for support.
    #[error("internal: {message}")]
    Internal { message: String },
    /// The server could not be reached or the connection broke; nothing is lost. `retryable`: try again later.
    #[error("network: {message}")]
    Network { message: String, retryable: bool },
    /// The server refused (`code` as in the HTTP API: `wrong_password`, `token_revoked`, `out_of_scope`, …);
    /// nothing of the request was stored. Show `message` / `message_zh`.
    #[error("refused ({code}): {message}")]
    Refused { code: String, message: String, message_zh: String, retryable: bool },
    /// The server speaks another protocol version: ask the user to update the app.
    #[error("update required: {message}")]
    UpdateRequired { message: String, message_zh: String },
    /// The device is not signed in to a server yet.
    #[error("not signed in")]
    NotSignedIn,
    /// The server's certificate was refused, or its address is plain `http://` off this machine; nothing was sent.
    /// `code` names the cause: `certificate_untrusted`, `certificate_expired`, `host_mismatch`, `pin_mismatch`,
    /// `tls_handshake` or `insecure_http`. Show `message_zh` / `message`; signing in again with the deployment's
    /// CA certificate or pin is the fix for the first ones.
    #[error("server not trusted ({code}): {message}")]
    Untrusted { code: String, message: String, message_zh: String },
    /// The attachment was refused and nothing was stored: `code` names the check (`too_large`, `empty`,
    /// `media_type`, `content_mismatch`, `caption_too_long`, `quota_exceeded`, `too_many`, `bad_hash`), `limit` its
    /// bound (0 when it has none). Show `detail` / `detail_zh`.
    #[error("attachment refused ({code}): {detail}")]
    AttachmentRefused { code: String, limit: u64, detail: String, detail_zh: String },
}

impl From<Error> for DoorstepError {
    fn from(e: Error) -> Self {
        match e {
            Error::Validation(errors) => DoorstepError::Validation { errors },
            Error::NotFound { kind, id } => DoorstepError::NotFound { what: format!("{kind} {id}") },
            Error::WrongKey => DoorstepError::WrongKey,
            Error::Storage(e) => DoorstepError::Storage { message: e.to_string() },
            Error::Io(e) => DoorstepError::Storage { message: e.to_string() },
            e @ Error::NewerSchema { .. } => DoorstepError::Storage { message: e.to_string() },
            Error::Document(m) => DoorstepError::Internal { message: m },
            Error::Sync(e) => e.into(),
            Error::Attachment(e) => attachment_refused(&e),
            e @ Error::AttachmentQuota { quota, .. } => DoorstepError::AttachmentRefused {
                code: "quota_exceeded".into(),
                limit: quota,
                detail: e.to_string(),
                detail_zh: "待上传的附件已达本机上限，请先联网同步".into(),
            },
            e @ Error::TooManyAttachments { limit } => DoorstepError::AttachmentRefused {
                code: "too_many".into(),
                limit: limit.into(),
                detail: e.to_string(),
                detail_zh: format!("每条记录最多 {limit} 个附件"),
            },
            e @ Error::BlobCorrupt { .. } => DoorstepError::Storage { message: e.to_string() },
        }
    }
}

/// The public form of a refused attachment, naming the check and its limit.
fn attachment_refused(e: &crate::attachment::AttachmentError) -> DoorstepError {
    use crate::attachment::AttachmentError as A;
    let (code, limit, detail_zh) = match e {
        A::TooLarge { limit, .. } => ("too_large", *limit, format!("附件超过 {limit} 字节的上限")),
        A::Empty => ("empty", 0, "附件为空".to_string()),
        A::MediaTypeNotAllowed { .. } => ("media_type", 0, "此类附件不允许该文件类型".to_string()),
        A::ContentMismatch { .. } => ("content_mismatch", 0, "文件内容与声明的类型不符".to_string()),
        A::CaptionTooLong { limit } => ("caption_too_long", u64::from(*limit), format!("说明最多 {limit} 个字")),
        A::BadHash => ("bad_hash", 0, "附件标识无效".to_string()),
    };
    DoorstepError::AttachmentRefused { code: code.into(), limit, detail: e.to_string(), detail_zh }
}

impl From<crate::sync::SyncError> for DoorstepError {
    fn from(e: crate::sync::SyncError) -> Self {
        use crate::sync::SyncError as S;
        let retryable = e.retryable();
        match e {
            S::Untrusted { cause, detail } => DoorstepError::Untrusted {
                code: cause.code().into(),
                message: detail,
                message_zh: cause.message_zh().into(),
            },
            S::NotSignedIn => DoorstepError::NotSignedIn,
            S::Network { message, retryable } => DoorstepError::Network { message, retryable },
            S::Protocol(message) => DoorstepError::Network { message, retryable },
            S::UpdateRequired { message_en, message_zh } => {
                DoorstepError::UpdateRequired { message: message_en, message_zh }
            }
            S::Refused { code, message_en, message_zh, .. } => DoorstepError::Refused {
                code: crate::sync::error::code_str(code),
                message: message_en,
                message_zh,
                retryable,
            },
            // Refused by the device itself, before asking the server: the same handling in the app.
            e @ S::UnsyncedWork { .. } => DoorstepError::Refused {
                code: "unsynced_work".into(),
                message: e.to_string(),
                message_zh: e.message_zh(),
                retryable: false,
            },
        }
    }
}
