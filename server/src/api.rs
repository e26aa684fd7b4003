//! The server's HTTP API (`/api/v1/login`, `/api/v1/sync`, `/api/v1/health`), its layers (body limit,
//! gzip, tracing) and `ApiError`, the one place where a failure becomes a status code and an `ErrorBody`.

use crate::auth::{self, Limiter};
use crate::config::Config;
use crate::scope::{self, Scope};
use crate::storage::{self, now_ms, Device, PullQuery, Refusal, SharedStorage, StorageError, User};
use crate::sync;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::header::{ACCEPT_RANGES, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doorstep_core::sync::protocol::{self, ErrorBody, ErrorCode, MessageType, SyncRequest, SyncResponse};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

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

/// The whole application: the API, the pages (`web::router`) and the layers around both.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body;
    let compress =
        DefaultPredicate::new().and(NotForContentType::const_new(protocol::CONTENT_TYPE)).and(not_for_byte_ranges);
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/sync", post(sync_handler))
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
        .merge(crate::blob_api::routes())
        .merge(crate::web::router())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(middleware::from_fn(json_errors))
        .layer(CompressionLayer::new().compress_when(compress))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Keeps compression off every answer that offers byte ranges: the blob downloads of the API and the pages'
/// `/attachment` routes (a PDF or SVG would otherwise be gzipped for a client accepting it, losing `Accept-Ranges`
/// and its length, so a download cut half-way could not resume with a `Range` on the same bytes).
fn not_for_byte_ranges(_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    !headers.contains_key(ACCEPT_RANGES)
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
    #[error("protocol version {found} is not {}", protocol::PROTOCOL_VERSION)]
    UpdateRequired { found: u16 },
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
            ApiError::UpdateRequired { .. } => ("Please update the app.".into(), "请更新应用。".into()),
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
    fn from_status(status: StatusCode) -> Self {
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

/// Gives every error answer under `/api/` an `ErrorBody`, including those of layers and extractors (413 of the
/// body limit, 404, 405, keeping their status), gives the pages' bare ones a message page, and turns any 500 into
/// a retryable 503.
async fn json_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes().to_vec()).unwrap_or_default();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        return ApiError::from_status(status).into_response();
    }
    if api && !content_type.starts_with(b"application/json") {
        let mut r = ApiError::from_status(status).into_response();
        *r.status_mut() = status;
        return r;
    }
    if !api && !content_type.starts_with(b"text/html") && !content_type.starts_with(b"text/csv") {
        return crate::web::error_page(status);
    }
    response
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

/// `POST /api/v1/login` body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
    #[serde(default)]
    pub device_name: String,
    /// The token the store held for this account before signing in again: its device is retired and hands its
    /// actors to the new one (`accounts::replace_device`).
    #[serde(default)]
    pub previous_token: Option<String>,
}

/// `POST /api/v1/login` answer: the device token (shown once, never stored in clear) and who signed in.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub user: String,
    pub role: String,
    pub device_id: String,
}

/// The API's OpenAPI description, for clients and for schemathesis (`scripts/test.d/70-reliability.sh`).
async fn openapi() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], include_str!("openapi.json")).into_response()
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "protocol_version": protocol::PROTOCOL_VERSION }))
}

async fn login(
    State(st): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let Json(req) = body?;
    if req.user.is_empty() || req.user.len() > 64 {
        return Err(ApiError::BadRequest("user: must be 1 to 64 bytes".into()));
    }
    if req.password.len() > 1024 || req.device_name.len() > 128 {
        return Err(ApiError::BadRequest("password or device_name: too long".into()));
    }
    if let Some(wait) = st.limiter.check(&req.user, &addr).await {
        return Err(ApiError::TooManyAttempts { retry_after: wait });
    }
    let user = check_password(&st, &req.user, &req.password).await?;
    let Some(user) = user else {
        st.limiter.record_failure(&req.user, &addr).await;
        return Err(ApiError::WrongPassword);
    };
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    if user.must_change_password {
        return Err(ApiError::PasswordChangeRequired);
    }
    st.limiter.record_success(&user.name).await;
    let (token, digest) = auth::new_token();
    let device_name = if req.device_name.is_empty() { "device".to_string() } else { req.device_name };
    let device = Device {
        id: uuid::Uuid::now_v7().to_string(),
        user: user.name.clone(),
        name: device_name,
        revoked: false,
        created_ms: now_ms(),
        last_seen_ms: None,
        app_version: app_version(&headers),
    };
    let stored = device.clone();
    storage::run(&st.storage, move |s| s.add_device(&stored, &digest)).await?;
    if let Some(previous) = req.previous_token.filter(|t| !t.is_empty() && t.len() <= 128) {
        let (digest, name, new_id) = (auth::token_sha256(&previous), user.name.clone(), device.id.clone());
        storage::run(&st.storage, move |s| {
            crate::accounts::replace_device(s, &name, &digest, &new_id).map_err(|e| match e {
                crate::accounts::AccountsError::Storage(e) => e,
                other => StorageError::Internal(other.to_string()),
            })
        })
        .await?;
    }
    Ok(Json(LoginResponse { token, user: user.name, role: user.role.code().into(), device_id: device.id }))
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
fn app_version(headers: &HeaderMap) -> String {
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

async fn sync_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let version = protocol::peek_version(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if version != protocol::PROTOCOL_VERSION {
        return Err(ApiError::UpdateRequired { found: version });
    }
    let (device, user) = authenticate(&st, &headers).await?;
    let req: SyncRequest =
        protocol::decode(MessageType::SyncRequest, &body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    drop(body);
    let SyncRequest { cursor, max_bytes, changes } = req;
    if user.role == doorstep_core::model::Role::Inspector {
        // A grant that ran out is recorded as a loss now, so the devices upload what they wrote, then wipe.
        let name = user.name.clone();
        storage::run(&st.storage, move |s| s.record_ended_grants(&name, &scope::today())).await?;
    }
    let scope = scope_of(&st, &user).await?;
    let device_id = device.id.clone();
    let push_scope = scope.clone();
    // A device not yet past the loss of a document may still upload what it wrote while it held it. "Past" is
    // judged by the highest cursor this device ever sent (or the head when it signed in), not by this request's:
    // the push raises that floor in its own transaction; a sync that pushes nothing raises it here.
    if changes.is_empty() {
        let device_id = device.id.clone();
        storage::run(&st.storage, move |s| s.raise_cursor_floor(&device_id, cursor)).await?;
    }
    let grace = sync::Grace { cursor, team: user.team.clone() };
    let acked =
        storage::run(&st.storage, move |s| sync::push_within(s, &device_id, &push_scope, Some(&grace), &changes))
            .await?;
    let mut query = PullQuery {
        cursor,
        device_id: device.id.clone(),
        user: user.name.clone(),
        team: user.team.clone(),
        visible: scope.visible,
    };
    let max_bytes = sync::page_bytes(max_bytes);
    let (name, role) = (user.name.clone(), user.role);
    let page = storage::run(&st.storage, move |s| {
        // The scope must hold every assignment committed before the page's snapshot: one committed in between (a
        // household created by the same helper on another phone, pushed meanwhile) would hide that household while
        // the cursor moves past it; a loss committed in between (a reassignment) would keep a document off the
        // page's `removed` list. Facts read after the page that equal the ones it used prove the page right.
        for _ in 0..8 {
            let page = sync::pull(s, query.clone(), max_bytes)?;
            let visible = Scope::new(&name, role, s.scope_facts(&name)?, &scope::today()).visible;
            if visible == query.visible {
                return Ok(page);
            }
            query.visible = visible;
        }
        Err(StorageError::Unavailable("the account's scope keeps changing; retry".into()))
    })
    .await?;
    // "Last seen" to the minute is enough, and saves a disk flush on most syncs.
    let now = now_ms();
    let version = app_version(&headers);
    if device.last_seen_ms.is_none_or(|seen| now - seen > 60_000) || device.app_version != version {
        let device_id = device.id.clone();
        if let Err(e) = storage::run(&st.storage, move |s| s.touch_device(&device_id, now, &version)).await {
            tracing::warn!("could not record last sync of a device: {e}");
        }
    }
    let response = SyncResponse { acked, docs: page.docs, cursor: page.cursor, more: page.more, removed: page.removed };
    let bytes = protocol::encode(MessageType::SyncResponse, &response);
    Ok(([(CONTENT_TYPE, HeaderValue::from_static(protocol::CONTENT_TYPE))], bytes).into_response())
}
