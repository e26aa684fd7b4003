//! The sync API: `/api/v1/login`, `/api/v1/sync`, `/api/v1/health` and the OpenAPI description. Errors, state and
//! authentication are `http`'s; `app` mounts these routes with the others.

use crate::auth::{self};
use crate::http::{app_version, authenticate, check_password, scope_of, ApiError, AppState, ClientAddr};
use crate::scope::{self, Scope};
use crate::storage::{self, now_ms, Device, PullQuery, StorageError};
use crate::sync;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doorstep_core::sync::protocol::{self, SyncRequest, SyncResponse};
use serde::{Deserialize, Serialize};

/// The API's routes, mounted by `app::router`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/sync", post(sync_handler))
        .route("/api/v1/health", get(health))
        .route("/api/v1/openapi.json", get(openapi))
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
    Json(serde_json::json!({
        "status": "ok",
        "protocol_version": protocol::CURRENT,
        "protocol_versions": protocol::VERSIONS,
    }))
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

/// Whether sync messages of `version` are served: version 2 always, version 1 until the configured last day.
fn served(st: &AppState, version: u16) -> Result<(), ApiError> {
    match version {
        protocol::V2 => Ok(()),
        protocol::V1 => match st.config.protocol_v1_until {
            Some(last) if scope::today() > last.format("%Y-%m-%d").to_string() => {
                Err(ApiError::UpdateRequired { found: version, ended: Some(last.format("%Y-%m-%d").to_string()) })
            }
            _ => Ok(()),
        },
        _ => Err(ApiError::UpdateRequired { found: version, ended: None }),
    }
}

async fn sync_handler(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let version = protocol::peek_version(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    served(&st, version)?;
    let (device, user) = authenticate(&st, &headers).await?;
    let (version, req) = protocol::decode_request(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
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
    let (page, format) = storage::run(&st.storage, move |s| {
        // The scope must hold every assignment committed before the page's snapshot: one committed in between (a
        // household created by the same helper on another phone, pushed meanwhile) would hide that household while
        // the cursor moves past it; a loss committed in between (a reassignment) would keep a document off the
        // page's `removed` list. Facts read after the page that equal the ones it used prove the page right.
        for _ in 0..8 {
            let page = sync::pull(s, query.clone(), max_bytes)?;
            let visible = Scope::new(&name, role, s.scope_facts(&name)?, &scope::today()).visible;
            if visible == query.visible {
                return Ok((page, crate::documents::format(s)?));
            }
            query.visible = visible;
        }
        Err(StorageError::Unavailable("the account's scope keeps changing; retry".into()))
    })
    .await?;
    // "Last seen" to the minute is enough, and saves a disk flush on most syncs.
    let now = now_ms();
    let app = app_version(&headers);
    if device.last_seen_ms.is_none_or(|seen| now - seen > 60_000) || device.app_version != app {
        let device_id = device.id.clone();
        if let Err(e) = storage::run(&st.storage, move |s| s.touch_device(&device_id, now, &app)).await {
            tracing::warn!("could not record last sync of a device: {e}");
        }
    }
    let response = SyncResponse { acked, docs: page.docs, cursor: page.cursor, more: page.more, removed: page.removed };
    let bytes = protocol::encode_response(version, &response);
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(protocol::CONTENT_TYPE)),
        (HeaderName::from_static(protocol::DOCUMENT_FORMAT_HEADER), HeaderValue::from(format)),
    ];
    Ok((headers, bytes).into_response())
}
