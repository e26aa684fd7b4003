//! The blob endpoints of the API (`docs/protocol.md`, "Blobs"): upload status, chunked upload, download with
//! ranges. Scope is decided exactly as for documents: a blob is reachable when at least one live visit or screening
//! that refers to it is in the account's scope (`scope::Scope::sees` on the referring document's placement). A
//! server never stores bytes no document refers to.
//!
//! The supervisors' pages reach the same bytes through [`blob_response`] and [`access`], under their own session.

use crate::blobs::{Appended, BlobError};
use crate::http::{authenticate, scope_of, ApiError, AppState};
use crate::scope::Scope;
use crate::storage::{self, now_ms, BlobReferrer};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use doorstep_core::attachment::{self, AttachmentKind};
use serde::{Deserialize, Serialize};

/// The blob routes, merged into the API's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/blobs/{hash}/upload", get(upload_status))
        .route("/api/v1/blobs/{hash}", get(download).head(download).put(upload))
}

/// How far an upload is: the answer of the status request and of every chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    pub hash: String,
    pub size: u64,
    pub received: u64,
    pub complete: bool,
}

/// Checks a `{hash}` path segment before it is used anywhere.
pub fn check_hash(hash: &str) -> Result<(), ApiError> {
    if attachment::is_valid_hash(hash) {
        Ok(())
    } else {
        Err(ApiError::BadRequest("hash: must be 64 lowercase hex characters (SHA-256)".into()))
    }
}

/// The live documents referring to `hash` that `scope` sees; refused when there are none (also when nothing refers
/// to the hash at all, so an unreferenced blob is indistinguishable from one out of scope).
pub async fn access(st: &AppState, scope: &Scope, hash: &str) -> Result<Vec<BlobReferrer>, ApiError> {
    let h = hash.to_string();
    let referrers = storage::run(&st.storage, move |s| s.blob_referrers(&h)).await?;
    let visible: Vec<BlobReferrer> = referrers.into_iter().filter(|r| scope.sees(&r.doc_id, &r.placement)).collect();
    if visible.is_empty() {
        return Err(ApiError::OutOfScope(format!("attachment {hash}")));
    }
    Ok(visible)
}

/// Authenticates the device and checks the hash and its scope. A refusal is logged with what was refused (`op`:
/// download, upload, upload status) and by whom; the API's error layer logs pushes only.
async fn device_access(
    st: &AppState,
    headers: &HeaderMap,
    hash: &str,
    op: &str,
) -> Result<Vec<BlobReferrer>, ApiError> {
    check_hash(hash)?;
    let (device, user) = authenticate(st, headers).await?;
    let scope = scope_of(st, &user).await?;
    access(st, &scope, hash).await.inspect_err(|e| {
        if matches!(e, ApiError::OutOfScope(_)) {
            tracing::warn!(
                "refused {op}: attachment {hash} is outside the scope of {} (device {})",
                user.name,
                device.id
            );
        }
    })
}

fn io_error(e: std::io::Error) -> ApiError {
    tracing::error!("blob store: {e}");
    ApiError::Unavailable(format!("blob store: {e}"))
}

/// Runs blocking blob-store work on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::Unavailable(format!("blob task failed: {e}")))
}

/// `GET /api/v1/blobs/{hash}/upload`: how many leading bytes the server holds.
async fn upload_status(
    State(st): State<AppState>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Json<UploadState>, ApiError> {
    let referrers = device_access(&st, &headers, &hash, "upload status").await?;
    let store = st.blobs.clone();
    let h = hash.clone();
    let sizes: Vec<u64> = referrers.iter().map(|r| r.size).collect();
    // An upload that holds every byte but was cut before it was moved into place is finished here: no chunk can.
    let (complete, received) = blocking(move || {
        for size in sizes {
            match store.settle(&h, size) {
                Ok(Some(done)) => {
                    tracing::info!(hash = h, ?done, "settled an upload whose bytes had all arrived");
                    break;
                }
                Ok(None) => {}
                // Deleted: the device sends the blob again from byte 0.
                Err(BlobError::HashMismatch(_)) => tracing::warn!(hash = h, "a finished upload did not verify"),
                Err(BlobError::Io(e)) => return Err(e),
                Err(other) => return Err(std::io::Error::other(other.to_string())),
            }
        }
        let complete = store.complete_size(&h)?;
        Ok::<_, std::io::Error>((complete.is_some(), complete.map_or_else(|| store.received(&h), Ok)?))
    })
    .await?
    .map_err(io_error)?;
    if complete {
        // Also when the server stopped between the rename and this record: the pages show what the record says.
        let h = hash.clone();
        let recorded = storage::run(&st.storage, move |s| s.blob(&h)).await?.is_some_and(|b| b.complete);
        if let (false, Some(referrer)) = (recorded, referrers.iter().find(|r| r.size == received)) {
            let (h, media_type) = (hash.clone(), referrer.media_type.clone());
            storage::run(&st.storage, move |s| s.blob_stored(&h, &media_type, received, now_ms())).await?;
        }
    }
    Ok(Json(UploadState { hash, size: referrers[0].size, received, complete }))
}

/// A parsed `Content-Range: bytes START-END/TOTAL`.
fn content_range(headers: &HeaderMap) -> Result<(u64, u64, u64), ApiError> {
    let bad =
        || ApiError::BadRequest("Content-Range: must be `bytes START-END/TOTAL` with START <= END < TOTAL".into());
    let value = headers.get(CONTENT_RANGE).ok_or_else(bad)?.to_str().map_err(|_| bad())?;
    let rest = value.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (range, total) = rest.split_once('/').ok_or_else(bad)?;
    let (start, end) = range.split_once('-').ok_or_else(bad)?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    let (start, end, total) = (num(start)?, num(end)?, num(total)?);
    if start > end || end >= total {
        return Err(bad());
    }
    Ok((start, end, total))
}

/// `PUT /api/v1/blobs/{hash}`: one chunk of an upload.
async fn upload(
    State(st): State<AppState>,
    Path(hash): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let referrers = device_access(&st, &headers, &hash, "upload").await?;
    let (start, end, total) = content_range(&headers)?;
    let Some(referrer) = referrers.iter().find(|r| r.size == total) else {
        return Err(ApiError::HashMismatch(format!(
            "Content-Range total {total} is not the size {} the record gives",
            referrers[0].size
        )));
    };
    if total > st.config.max_blob {
        return Err(ApiError::TooLarge);
    }
    let body = body?;
    if body.len() as u64 != end - start + 1 {
        return Err(ApiError::BadRequest(format!(
            "body: {} bytes, but Content-Range announces {}",
            body.len(),
            end - start + 1
        )));
    }
    let store = st.blobs.clone();
    let h = hash.clone();
    let appended = blocking(move || store.append(&h, start, &body, total)).await?;
    let (status, received) = match appended {
        Ok(Appended::Partial(received)) => (StatusCode::ACCEPTED, received),
        Ok(Appended::Stored) => (StatusCode::CREATED, total),
        Ok(Appended::AlreadyComplete) => (StatusCode::OK, total),
        Err(BlobError::Offset { received }) => return Err(ApiError::UploadOffset { received }),
        Err(BlobError::HashMismatch(_)) => {
            tracing::warn!(hash, "refused an upload whose bytes do not match its hash");
            return Err(ApiError::HashMismatch("the SHA-256 of the bytes is not the hash".into()));
        }
        Err(BlobError::PastEnd(size)) => return Err(ApiError::BadRequest(format!("chunk ends past byte {size}"))),
        Err(BlobError::Io(e)) => return Err(io_error(e)),
        Err(BlobError::Image(m)) => return Err(ApiError::Unavailable(m)),
    };
    let complete = status != StatusCode::ACCEPTED;
    if complete {
        let (h, media_type) = (hash.clone(), referrer.media_type.clone());
        storage::run(&st.storage, move |s| s.blob_stored(&h, &media_type, total, now_ms())).await?;
    }
    Ok((status, Json(UploadState { hash, size: total, received, complete })).into_response())
}

/// `GET` and `HEAD /api/v1/blobs/{hash}`: the bytes, whole or a range.
async fn download(
    State(st): State<AppState>,
    Path(hash): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let referrers = device_access(&st, &headers, &hash, "download").await?;
    blob_response(&st, &hash, &referrers, &method, &headers).await
}

/// What a `Range` header asks for, against a blob of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    Range(u64, u64),
    Unsatisfiable,
}

/// Parses a single `bytes=` range; anything else (several ranges, another unit, bad syntax) is ignored and the
/// whole blob is sent, as HTTP allows.
fn wanted(headers: &HeaderMap, size: u64) -> Wanted {
    let Some(spec) = headers.get(RANGE).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((a, b)) = spec.split_once('-') else { return Wanted::Whole };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Wanted::Whole,
        // bytes=-N: the last N bytes.
        (true, false) => match parse(b) {
            Some(0) => Wanted::Unsatisfiable,
            Some(n) if size > 0 => Wanted::Range(size.saturating_sub(n), size - 1),
            Some(_) => Wanted::Unsatisfiable,
            None => Wanted::Whole,
        },
        (false, _) => {
            let Some(start) = parse(a) else { return Wanted::Whole };
            let end = if b.is_empty() { Some(u64::MAX) } else { parse(b) };
            match end {
                None => Wanted::Whole,
                Some(end) if end < start => Wanted::Whole,
                Some(_) if start >= size => Wanted::Unsatisfiable,
                Some(end) => Wanted::Range(start, end.min(size - 1)),
            }
        }
    }
}

/// The answer carrying a complete blob (or its range, or nothing for HEAD), with its caching headers.
pub async fn blob_response(
    st: &AppState,
    hash: &str,
    referrers: &[BlobReferrer],
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let store = st.blobs.clone();
    let h = hash.to_string();
    let Some(size) = blocking(move || store.complete_size(&h)).await?.map_err(io_error)? else {
        return Err(ApiError::BlobMissing(hash.to_string()));
    };
    let h = hash.to_string();
    let media_type = match storage::run(&st.storage, move |s| s.blob(&h)).await? {
        Some(info) if info.complete => info.media_type,
        _ => referrers[0].media_type.clone(),
    };
    let etag = format!("\"{hash}\"");
    let mut response = Response::new(Body::empty());
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, header_value(served_type(&media_type), "application/octet-stream"));
    h.insert(ETAG, header_value(&etag, "\"\""));
    // Also what keeps the compression layer off these bytes (`app::router`): ranges count identity bytes.
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    let not_modified = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    let (start, end) = match wanted(headers, size) {
        Wanted::Whole => (0, size.saturating_sub(1)),
        Wanted::Range(a, b) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            response.headers_mut().insert(CONTENT_RANGE, header_value(&format!("bytes {a}-{b}/{size}"), ""));
            (a, b)
        }
        Wanted::Unsatisfiable => {
            let err = ApiError::BadRequest(format!("Range: not satisfiable for a blob of {size} bytes"));
            let mut r = (StatusCode::RANGE_NOT_SATISFIABLE, Json(err.body())).into_response();
            r.headers_mut().insert(CONTENT_RANGE, header_value(&format!("bytes */{size}"), ""));
            return Ok(r);
        }
    };
    let len = if size == 0 { 0 } else { end - start + 1 };
    response.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(len));
    if method == Method::HEAD || len == 0 {
        return Ok(response);
    }
    let store = st.blobs.clone();
    let h = hash.to_string();
    let bytes = blocking(move || store.read_range(&h, start, end)).await?.map_err(io_error)?;
    *response.body_mut() = Body::from(bytes);
    Ok(response)
}

/// The `Content-Type` a blob is served with. The media type comes from a device's document, so only the types an
/// attachment may have are served as such: bytes a document calls `text/html` must not render as a page under the
/// server's origin (the supervisors' `/attachment` route) but come down as plain bytes.
fn served_type(media_type: &str) -> &str {
    let accepted = AttachmentKind::ALL.iter().any(|k| k.allowed_media_types().contains(&media_type));
    if accepted {
        media_type
    } else {
        "application/octet-stream"
    }
}

fn header_value(s: &str, fallback: &'static str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(fallback))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str, size: u64) -> Wanted {
        let mut h = HeaderMap::new();
        h.insert(RANGE, HeaderValue::from_str(v).unwrap());
        wanted(&h, size)
    }

    #[test]
    fn ranges_of_every_form() {
        assert_eq!(range("bytes=0-9", 100), Wanted::Range(0, 9));
        assert_eq!(range("bytes=90-", 100), Wanted::Range(90, 99));
        assert_eq!(range("bytes=-10", 100), Wanted::Range(90, 99));
        assert_eq!(range("bytes=-1000", 100), Wanted::Range(0, 99));
        assert_eq!(range("bytes=50-5000", 100), Wanted::Range(50, 99));
        assert_eq!(range("bytes=100-", 100), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=0-1,5-6", 100), Wanted::Whole);
        assert_eq!(range("items=0-1", 100), Wanted::Whole);
        assert_eq!(range("bytes=x-1", 100), Wanted::Whole);
        assert_eq!(range("bytes=9-3", 100), Wanted::Whole);
        assert_eq!(wanted(&HeaderMap::new(), 100), Wanted::Whole);
    }

    #[test]
    fn content_range_is_checked() {
        let parse = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_RANGE, HeaderValue::from_str(v).unwrap());
            content_range(&h)
        };
        assert_eq!(parse("bytes 0-9/100").unwrap(), (0, 9, 100));
        assert!(parse("bytes 9-0/100").is_err());
        assert!(parse("bytes 0-100/100").is_err());
        assert!(parse("bytes 0-9/*").is_err());
        assert!(parse("0-9/100").is_err());
        assert!(content_range(&HeaderMap::new()).is_err());
    }
}
