//! What every HTTP handler shares — the API's, the blob API's and the pages': the application state, `ApiError`
//! (the one place where a failure becomes a status code and an `ErrorBody`), the client's address, and the
//! authentication of a device token or a password. It sits below `api`, `blob_api` and `web`; `app` puts them
//! together.

use crate::auth::{self, Limiter};
use crate::config::Config;
use crate::scope::{self, Scope};
use crate::storage::{self, Device, Refusal, SharedStorage, StorageError, User};
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use doorstep_core::sync::protocol::{self, ErrorBody, ErrorCode};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What every handler (the API's and the pages') shares.
#[derive(Clone)]
pub struct AppState {
    pub storage: SharedStorage,
    pub limiter: Arc<Limiter>,
    pub config: Arc<Config>,
    /// Attachment bytes on disk (`config.blobs_dir`).
    pub blobs: Arc<crate::blobs::BlobStore>,
}

impl AppState {
    pub fn new(storage: SharedStorage, config: Config) -> Self {
        let blobs = Arc::new(crate::blobs::BlobStore::new(config.blobs_dir.clone()));
        let limiter = Arc::new(Limiter::shared(storage.clone()));
        Self { storage, limiter, config: Arc::new(config), blobs }
    }
}

/// Every refusal the API gives, each with its status and code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not signed in")]
    Unauthorized,
    #[error("wrong user name or password")]
    WrongPassword,
    #[error("this device's sign-in was revoked")]
    TokenRevoked,
    #[error("account disabled")]
    AccountDisabled,
    /// An admin reset the password: the person chooses a new one on the pages before a device may sign in.
    #[error("the password must be changed first")]
    PasswordChangeRequired,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("out of scope: {0}")]
    OutOfScope(String),
    #[error("forged actor: {0}")]
    ForgedActor(String),
    /// A pushed visit or screening names a household the server does not hold yet: the device retries it later.
    #[error("household {household} of {doc} is not on the server yet")]
    HouseholdUnknown { doc: String, household: String },
    #[error("request too large")]
    TooLarge,
    /// A sync message in a protocol version the server does not speak, or no longer: `ended` is the last day
    /// version 1 was served, when that is why.
    #[error("protocol version {found} is not served")]
    UpdateRequired { found: u16, ended: Option<String> },
    #[error("too many attempts")]
    TooManyAttempts { retry_after: Duration },
    #[error("not found")]
    NotFound,
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An upload's size or bytes do not match the blob's hash or its referencing document.
    #[error("hash mismatch: {0}")]
    HashMismatch(String),
    /// A chunk does not start where the server's copy of the blob ends.
    #[error("upload must continue at byte {received}")]
    UploadOffset { received: u64 },
    /// The blob is referenced and in scope but its bytes have not (all) arrived yet.
    #[error("blob {0} is not uploaded yet")]
    BlobMissing(String),
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::Unauthorized => ErrorCode::Unauthorized,
            ApiError::WrongPassword => ErrorCode::WrongPassword,
            ApiError::TokenRevoked => ErrorCode::TokenRevoked,
            ApiError::AccountDisabled => ErrorCode::AccountDisabled,
            ApiError::PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::OutOfScope(_) => ErrorCode::OutOfScope,
            ApiError::ForgedActor(_) => ErrorCode::ForgedActor,
            ApiError::HouseholdUnknown { .. } => ErrorCode::HouseholdUnknown,
            ApiError::TooLarge => ErrorCode::TooLarge,
            ApiError::UpdateRequired { .. } => ErrorCode::UpdateRequired,
            ApiError::TooManyAttempts { .. } => ErrorCode::TooManyAttempts,
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::Unavailable(_) => ErrorCode::Unavailable,
            ApiError::HashMismatch(_) => ErrorCode::HashMismatch,
            ApiError::UploadOffset { .. } => ErrorCode::UploadOffset,
            ApiError::BlobMissing(_) => ErrorCode::BlobMissing,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self.code() {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized | ErrorCode::WrongPassword | ErrorCode::TokenRevoked => StatusCode::UNAUTHORIZED,
            ErrorCode::AccountDisabled
            | ErrorCode::Forbidden
            | ErrorCode::OutOfScope
            | ErrorCode::ForgedActor
            | ErrorCode::PasswordChangeRequired => StatusCode::FORBIDDEN,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UpdateRequired => StatusCode::UPGRADE_REQUIRED,
            ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotFound | ErrorCode::BlobMissing => StatusCode::NOT_FOUND,
            ErrorCode::HashMismatch => StatusCode::BAD_REQUEST,
            ErrorCode::UploadOffset | ErrorCode::HouseholdUnknown => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The messages people read: English and Chinese.
    pub fn messages(&self) -> (String, String) {
        match self {
            ApiError::BadRequest(m) => (format!("Bad request: {m}"), format!("请求无效：{m}")),
            ApiError::Unauthorized => ("Please sign in.".into(), "请先登录。".into()),
            ApiError::WrongPassword => ("Wrong user name or password.".into(), "用户名或密码错误。".into()),
            ApiError::TokenRevoked => (
                "This device's sign-in was revoked; sign in again.".into(),
                "本设备的登录已被撤销，请重新登录。".into(),
            ),
            ApiError::AccountDisabled => ("This account is disabled.".into(), "该账号已停用。".into()),
            ApiError::PasswordChangeRequired => (
                "An administrator reset this password: open the server's web page /password, sign in with it and \
                 choose a new one, then sign in here with the new password."
                    .into(),
                "管理员已重置此密码：请在浏览器中打开服务器的 /password 页面，用该密码登录并设置新密码，然后在此用新密码登录。"
                    .into(),
            ),
            ApiError::Forbidden(m) => (format!("Not allowed: {m}"), format!("无权操作：{m}")),
            ApiError::OutOfScope(id) => (
                format!("Record {id} is outside your assigned area; nothing was saved on the server."),
                format!("记录 {id} 不在您的负责范围内，服务器未保存任何内容。"),
            ),
            ApiError::ForgedActor(a) => (
                format!("Changes claim another device's identity ({a}); nothing was saved."),
                format!("数据声称来自另一台设备（{a}），服务器未保存任何内容。"),
            ),
            ApiError::HouseholdUnknown { doc, household } => (
                format!(
                    "Record {doc} belongs to household {household}, which has not reached the server yet; \
                     the record stays on the device and is sent again at the next sync."
                ),
                format!("记录 {doc} 所属的农户 {household} 尚未同步到服务器；记录保留在本机，下次同步时自动重发。"),
            ),
            ApiError::TooLarge => ("The request is too large.".into(), "请求数据过大。".into()),
            ApiError::UpdateRequired { found, ended: Some(day) } => (
                format!(
                    "This app syncs with protocol version {found}, which the server served until {day}. Please \
                     update the app to sync again; nothing on this device is lost."
                ),
                format!("本应用使用的同步协议版本 {found} 已于 {day} 停止服务。请更新应用后再同步，本机数据不会丢失。"),
            ),
            ApiError::UpdateRequired { found, ended: None } => (
                format!(
                    "This app syncs with protocol version {found}; the server speaks versions {}. Please update the app.",
                    versions()
                ),
                format!("本应用的同步协议版本 {found} 与服务器（支持版本 {}）不符，请更新应用。", versions()),
            ),
            ApiError::TooManyAttempts { retry_after } => (
                format!("Too many attempts; try again in {} seconds.", retry_after.as_secs().max(1)),
                format!("尝试次数过多，请 {} 秒后再试。", retry_after.as_secs().max(1)),
            ),
            ApiError::NotFound => ("Not found.".into(), "未找到。".into()),
            ApiError::Unavailable(_) => (
                "The server cannot store data right now; your data is kept on the device. Try again later.".into(),
                "服务器暂时无法保存数据，数据仍保存在设备上，请稍后再试。".into(),
            ),
            ApiError::HashMismatch(m) => (
                format!("The attachment's bytes do not match its record ({m}); nothing was kept."),
                format!("附件内容与记录不符（{m}），服务器未保留。"),
            ),
            ApiError::UploadOffset { received } => {
                (format!("The upload must continue at byte {received}."), format!("上传应从第 {received} 字节继续。"))
            }
            ApiError::BlobMissing(h) => (
                format!("Attachment {h} has not reached the server yet; try again later."),
                format!("附件 {h} 尚未上传到服务器，请稍后再试。"),
            ),
        }
    }

    /// The error body sent for this error.
    pub fn body(&self) -> ErrorBody {
        let (message_en, message_zh) = self.messages();
        let retryable = matches!(
            self,
            ApiError::Unavailable(_)
                | ApiError::TooManyAttempts { .. }
                | ApiError::BlobMissing(_)
                | ApiError::HouseholdUnknown { .. }
        );
        // A refused push names one document (ids hold no spaces); blob refusals name `attachment <hash>` instead.
        let doc_id = match self {
            ApiError::OutOfScope(id) if !id.contains(' ') => Some(id.clone()),
            ApiError::HouseholdUnknown { doc, .. } => Some(doc.clone()),
            _ => None,
        };
        ErrorBody { code: self.code(), message_en, message_zh, retryable, doc_id }
    }

    /// The error for a status some layer produced without a body of ours.
    pub(crate) fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
            StatusCode::NOT_FOUND => ApiError::NotFound,
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::FORBIDDEN => ApiError::Forbidden("not allowed".into()),
            s if s.is_server_error() => ApiError::Unavailable(s.to_string()),
            s => ApiError::BadRequest(s.canonical_reason().unwrap_or("bad request").to_lowercase()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Unavailable(detail) => tracing::warn!("answering 503: {detail}"),
            // Blob refusals name `attachment <hash>` and are logged by `blob_api` with their operation.
            ApiError::OutOfScope(what) if what.starts_with("attachment ") => {}
            ApiError::OutOfScope(_) | ApiError::ForgedActor(_) => tracing::warn!("refused push: {self}"),
            ApiError::HouseholdUnknown { .. } => tracing::info!("push held back: {self}"),
            _ => tracing::debug!("answering {}: {self}", self.status()),
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        let retry = match &self {
            ApiError::TooManyAttempts { retry_after } => Some(retry_after.as_secs().max(1)),
            ApiError::Unavailable(_) => Some(5),
            _ => None,
        };
        if let Some(secs) = retry {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Refused(Refusal::OutOfScope(id)) => ApiError::OutOfScope(id),
            StorageError::Refused(Refusal::ForgedActor(a)) => ApiError::ForgedActor(a),
            StorageError::Refused(Refusal::HouseholdUnknown { doc, household }) => {
                ApiError::HouseholdUnknown { doc, household }
            }
            StorageError::Refused(Refusal::BadChange(m)) => ApiError::BadRequest(m),
            StorageError::Refused(Refusal::Forbidden(m)) => ApiError::Forbidden(m),
            StorageError::NotFound(_) => ApiError::NotFound,
            StorageError::Exists(m) => ApiError::BadRequest(m),
            // Never a 500: whatever the database says, the device keeps its data and retries.
            StorageError::Unavailable(m) | StorageError::Internal(m) => {
                tracing::error!("storage: {m}");
                ApiError::Unavailable(m)
            }
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest(r.body_text())
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest(r.body_text())
        }
    }
}

/// The client's address as the socket saw it (behind a reverse proxy: the proxy's), for the attempt limiter.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(ClientAddr(ip.unwrap_or_else(|| "unknown".into())))
    }
}

/// The account if the password matches; argon2 runs on the blocking pool.
pub async fn check_password(st: &AppState, name: &str, password: &str) -> Result<Option<User>, ApiError> {
    let name = name.to_string();
    let password = password.to_string();
    let found = storage::run(&st.storage, move |s| s.user(&name)).await?;
    let checked = tokio::task::spawn_blocking(move || match found {
        Some(u) if auth::verify_password(&u.password_hash, &password) => Some(u),
        Some(_) => None,
        None => {
            auth::verify_nobody(&password);
            None
        }
    })
    .await
    .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    Ok(checked)
}

/// The app and version a device reports in its `User-Agent` (`doorstep/0.1.0`), cut to what an admin needs to read.
pub fn app_version(headers: &HeaderMap) -> String {
    let agent = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    agent.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// The device and account behind a bearer token, or why not.
pub async fn authenticate(st: &AppState, headers: &HeaderMap) -> Result<(Device, User), ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    let digest = auth::token_sha256(token);
    match storage::run(&st.storage, move |s| s.device_by_token(&digest)).await? {
        None => Err(ApiError::Unauthorized),
        Some((d, _)) if d.revoked => Err(ApiError::TokenRevoked),
        Some((_, u)) if u.disabled => Err(ApiError::AccountDisabled),
        Some(found) => Ok(found),
    }
}

/// The scope of an account now.
pub async fn scope_of(st: &AppState, user: &User) -> Result<Scope, ApiError> {
    let name = user.name.clone();
    let facts = storage::run(&st.storage, move |s| s.scope_facts(&name)).await?;
    Ok(Scope::new(&user.name, user.role, facts, &scope::today()))
}

/// The protocol versions the server speaks, for messages: "1, 2".
fn versions() -> String {
    protocol::VERSIONS.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
}
