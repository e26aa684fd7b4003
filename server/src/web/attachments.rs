//! Attachments on the supervisors' pages: the full blob (`/attachment/{hash}`) and its thumbnail
//! (`/attachment/{hash}/thumb`), under the page session and the same scope rule as the API (`blob_api::access`).
//!
//! Thumbnails of JPEG, PNG and WebP are made on the server on first request and cached beside the blob
//! (`blobs::BlobStore::thumbnail`); SVG and PDF — and an image that cannot be decoded — get a generic icon, so no
//! untrusted document is ever rasterised.

use super::{PageError, Viewer};
use crate::blob_api;
use crate::blobs;
use crate::http::ApiError;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use doorstep_core::attachment::{self, AttachmentRef};
use doorstep_core::model::Visit;
use std::collections::HashMap;

/// The generic icon shown for attachments without a thumbnail.
const ICON: &str = include_str!("static/attachment.svg");

fn page_error(e: ApiError) -> PageError {
    match e {
        ApiError::BlobMissing(_) => PageError::NotFound,
        ApiError::BadRequest(m) => {
            PageError::BadRequest(crate::message::Message::new(m.clone(), format!("请求的内容不符合要求（{m}）")))
        }
        other => other.into(),
    }
}

/// `GET /attachment/{hash}`: the attachment itself (ranges and HEAD as in the API).
pub async fn full(
    viewer: Viewer,
    Path(hash): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    blob_api::check_hash(&hash).map_err(page_error)?;
    let referrers = blob_api::access(&viewer.state, &viewer.scope, &hash).await.map_err(page_error)?;
    blob_api::blob_response(&viewer.state, &hash, &referrers, &method, &headers).await.map_err(page_error)
}

/// `GET /attachment/{hash}/thumb`: a JPEG at most 240 pixels on its long side, or the generic icon.
pub async fn thumb(viewer: Viewer, Path(hash): Path<String>) -> Result<Response, PageError> {
    blob_api::check_hash(&hash).map_err(page_error)?;
    let referrers = blob_api::access(&viewer.state, &viewer.scope, &hash).await.map_err(page_error)?;
    let store = viewer.state.blobs.clone();
    let h = hash.clone();
    let media_type = referrers[0].media_type.clone();
    let made = tokio::task::spawn_blocking(move || {
        if store.complete_size(&h)?.is_none() {
            return Ok(None);
        }
        if !blobs::has_thumbnail(&media_type) {
            return Ok(Some(None));
        }
        match store.thumbnail(&h, &media_type) {
            Ok(jpeg) => Ok(Some(Some(jpeg))),
            Err(blobs::BlobError::Image(e)) => {
                tracing::warn!(hash = h, "no thumbnail: {e}");
                Ok(Some(None))
            }
            Err(blobs::BlobError::Io(e)) => Err(e),
            Err(other) => Err(std::io::Error::other(other.to_string())),
        }
    })
    .await
    .map_err(|e| PageError::Unavailable(e.to_string()))?
    .map_err(|e: std::io::Error| PageError::Unavailable(format!("blob store: {e}")))?;
    let mut r = match made {
        None => return Err(PageError::NotFound),
        Some(Some(jpeg)) => {
            let mut r = jpeg.into_response();
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            r
        }
        Some(None) => {
            let mut r = ICON.into_response();
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
            r
        }
    };
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{hash}-thumb\"")) {
        r.headers_mut().insert(ETAG, v);
    }
    Ok(r)
}

/// One attachment as the household page shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttachmentLine {
    pub hash: String,
    pub caption: String,
    pub kind: String,
    pub media_type: String,
    /// Whether its bytes reached the server (else the page says so instead of showing a broken image).
    pub uploaded: bool,
}

/// The attachments of these visits (read from their stored documents) and screenings (already read), by document
/// id, each with whether its bytes are on the server.
pub async fn lines_of(
    st: &crate::http::AppState,
    lang: super::i18n::Lang,
    visit_ids: Vec<String>,
    screenings: Vec<(String, HashMap<String, AttachmentRef>)>,
) -> Result<HashMap<String, Vec<AttachmentLine>>, PageError> {
    let found = crate::storage::run(&st.storage, move |s| {
        let mut refs: Vec<(String, AttachmentRef)> = Vec::new();
        for stored in s.docs(&visit_ids)? {
            let Ok(doc) = stored.document() else { continue };
            let Ok(visit) = doc.read::<Visit>() else { continue };
            if !visit.deleted {
                refs.extend(visit.attachments.into_values().map(|a| (stored.id.clone(), a)));
            }
        }
        for (id, map) in screenings {
            refs.extend(map.into_values().map(|a| (id.clone(), a)));
        }
        let mut uploaded = HashMap::new();
        for (_, a) in &refs {
            if attachment::is_valid_hash(&a.hash) && !uploaded.contains_key(&a.hash) {
                uploaded.insert(a.hash.clone(), s.blob(&a.hash)?.is_some_and(|b| b.complete));
            }
        }
        Ok((refs, uploaded))
    })
    .await?;
    let (refs, uploaded) = found;
    let mut out: HashMap<String, Vec<AttachmentLine>> = HashMap::new();
    for (id, a) in refs {
        let Some(&done) = uploaded.get(&a.hash) else { continue };
        out.entry(id).or_default().push(AttachmentLine {
            caption: a.caption,
            kind: lang.pick(a.kind.label_zh(), a.kind.label_en()).to_string(),
            media_type: a.media_type,
            uploaded: done,
            hash: a.hash,
        });
    }
    for lines in out.values_mut() {
        lines.sort_by(|a, b| (&a.kind, &a.caption, &a.hash).cmp(&(&b.kind, &b.caption, &b.hash)));
    }
    Ok(out)
}
