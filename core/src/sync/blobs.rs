//! Attachment bytes over the network: the upload phase after document sync, and lazy downloads.
//!
//! Document sync never waits for blobs. Once the documents that refer to a blob are acknowledged, the upload phase
//! pushes it (oldest first) in chunks: it asks the server how much it holds (`GET /api/v1/blobs/{hash}/upload`),
//! then sends the rest with `PUT /api/v1/blobs/{hash}` and `Content-Range`, so a cut upload continues where the
//! server's copy ends. A `409 upload_offset` makes it ask again and resume there; a `400 hash_mismatch` marks the
//! blob broken (its local file is damaged) and never retries it. Photos and scanned forms wait for an unmetered
//! network unless the user allows metered data; signatures are small and always go.
//!
//! Downloads are lazy: opening an attachment whose bytes are not here fetches them in ranged chunks, each stored
//! encrypted as it arrives, so a cut download resumes from the bytes already held; the whole is checked against
//! its hash before it becomes a blob. Every loop is bounded by the blob's size in chunks plus a few corrections.

use super::client::{Client, Session, SyncResult};
use super::error::SyncError;
use super::protocol::ErrorCode;
use super::SyncEvent;
use crate::attachment::{self, AttachmentKind};
use crate::error::{Error, Result};
use crate::store::blobs::{BlobInfo, UploadState};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, MutexGuard};

/// How many times one blob may be told `upload_offset` (or get an unusable range) in one sync before giving up.
const MAX_CORRECTIONS: u32 = 4;

/// The kind of network the phone is on, as the app's connectivity manager reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "snake_case")]
pub enum NetworkKind {
    /// Wi-Fi or wired: anything goes.
    #[default]
    Unmetered,
    /// Mobile data the household pays for: only signatures go, unless the user allows more.
    Metered,
}

/// Which attachments may upload now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct NetworkPolicy {
    pub kind: NetworkKind,
    /// The user allows photos and scanned forms over metered data too.
    pub allow_metered: bool,
}

impl NetworkPolicy {
    /// Whether a blob of this kind may go over the current network.
    pub fn allows(&self, kind: AttachmentKind) -> bool {
        kind == AttachmentKind::Signature || self.kind == NetworkKind::Unmetered || self.allow_metered
    }
}

/// What the blob phase of a sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct BlobResult {
    /// Blobs the server now holds complete (sent now, or found complete there).
    pub uploaded: u64,
    /// Bytes of blob chunks sent (never counts a byte the server already held).
    pub bytes_sent: u64,
    /// Blobs waiting for a network the policy allows.
    pub deferred: u64,
    /// Blobs the server refused as not matching their hash: marked broken, never retried.
    pub broken: u64,
    /// Blobs refused for now (out of scope, too large for this server, an upload that did not settle); tried again
    /// at the next sync.
    pub refused: u64,
    /// Blobs fetched by eager prefetch, and their bytes.
    pub downloaded: u64,
    pub bytes_received: u64,
    /// The chunk limit of the configuration stopped the phase; the rest goes at the next sync.
    pub incomplete: bool,
}

/// The server's answer about one blob upload.
#[derive(Debug, Clone, Deserialize)]
struct UploadStatus {
    #[serde(default)]
    received: u64,
    #[serde(default)]
    complete: bool,
}

fn lock(store: &Mutex<Store>) -> Result<MutexGuard<'_, Store>> {
    store.lock().map_err(|_| Error::Document("store lock poisoned".into()))
}

/// Stops a phase after the configured number of chunks (tests cut an upload in half this way).
struct ChunkBudget(Option<u32>);

impl ChunkBudget {
    fn take(&mut self) -> bool {
        match &mut self.0 {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }
}

/// The blob phase after the documents of a sync were acknowledged: uploads pending blobs the policy allows, then
/// (when configured) fetches the missing blobs of the device's own households. Emits `SyncEvent::Blobs` progress.
pub async fn sync_blobs(
    client: &Client,
    store: &Mutex<Store>,
    policy: NetworkPolicy,
    emit: &(dyn Fn(SyncEvent) + Send + Sync),
    mut result: SyncResult,
) -> Result<SyncResult> {
    // Blobs of documents the pull wiped (they left the scope) or tombstoned go before anything is sent; a file that
    // cannot be removed now is tried again next time and must not stop the uploads.
    let _ = lock(store)?.sweep_blobs();
    result.blobs = upload_blobs(client, store, policy, emit).await?;
    if client.config().prefetch_own_households && !result.blobs.incomplete {
        let (count, bytes) = prefetch_own(client, store, policy).await?;
        result.blobs.downloaded = count;
        result.blobs.bytes_received = bytes;
    }
    Ok(result)
}

/// Pushes every pending blob the policy allows, oldest first, resuming each from what the server holds.
pub async fn upload_blobs(
    client: &Client,
    store: &Mutex<Store>,
    policy: NetworkPolicy,
    emit: &(dyn Fn(SyncEvent) + Send + Sync),
) -> Result<BlobResult> {
    let (session, pending) = {
        let store = lock(store)?;
        (Session::load(&store)?, store.pending_uploads()?)
    };
    let mut result = BlobResult::default();
    let (allowed, deferred): (Vec<BlobInfo>, Vec<BlobInfo>) = pending.into_iter().partition(|b| policy.allows(b.kind));
    result.deferred = deferred.len() as u64;
    if allowed.is_empty() {
        return Ok(result);
    }
    let total = allowed.len() as u64;
    let bytes_total: u64 = allowed.iter().map(|b| b.size).sum();
    let mut done = 0u64;
    let mut bytes_done = 0u64;
    let progress = |done, bytes_done| SyncEvent::Blobs { done, total, bytes_done, bytes_total };
    emit(progress(0, 0));
    let mut budget = ChunkBudget(client.config().blob_chunk_limit);
    for blob in allowed {
        let outcome = upload_one(client, store, &session, &blob, &mut budget, &mut |sent, held| {
            result.bytes_sent += sent;
            emit(progress(done, bytes_done + held));
        })
        .await;
        match outcome {
            Ok(Some(())) => {
                lock(store)?.set_blob_upload(&blob.hash, UploadState::Done)?;
                result.uploaded += 1;
            }
            Ok(None) => {
                result.incomplete = true;
                break;
            }
            Err(Error::Sync(e)) if e.code() == Some(ErrorCode::HashMismatch) => {
                lock(store)?.set_blob_upload(&blob.hash, UploadState::Broken)?;
                result.broken += 1;
            }
            Err(Error::Sync(e))
                if matches!(
                    e.code(),
                    Some(ErrorCode::OutOfScope | ErrorCode::Forbidden | ErrorCode::TooLarge | ErrorCode::NotFound)
                ) =>
            {
                result.refused += 1
            }
            // One blob whose upload does not settle (an offset that keeps moving, an answer that is not the expected
            // JSON) is tried again at the next sync; the blobs after it, signatures too, must not wait behind it.
            Err(Error::Sync(SyncError::Protocol(_))) => result.refused += 1,
            Err(Error::BlobCorrupt { .. } | Error::NotFound { .. }) => {
                // The local file is damaged or gone: the server could only refuse it, and retrying cannot help.
                lock(store)?.set_blob_upload(&blob.hash, UploadState::Broken)?;
                result.broken += 1;
            }
            Err(e) => return Err(e),
        }
        done += 1;
        bytes_done += blob.size;
        emit(progress(done, bytes_done));
    }
    Ok(result)
}

/// Uploads one blob from where the server's copy ends. `Ok(Some)` once the server holds it complete, `Ok(None)`
/// when the chunk budget ran out first. `on_chunk(sent, held)` sees each chunk's size and the bytes now held.
async fn upload_one(
    client: &Client,
    store: &Mutex<Store>,
    session: &Session,
    blob: &BlobInfo,
    budget: &mut ChunkBudget,
    on_chunk: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Option<()>> {
    let mut status = upload_status(client, session, &blob.hash).await?;
    if status.complete {
        return Ok(Some(()));
    }
    let bytes = lock(store)?.blob(&blob.hash)?.ok_or_else(|| Error::not_found("blob", &blob.hash))?;
    let size = bytes.len() as u64;
    let chunk = client.config().blob_chunk_bytes.max(1) as u64;
    let mut corrections = 0;
    // Each pass sends a chunk (the held offset grows) or is a correction; both are bounded.
    for _ in 0..(size / chunk + 2 + u64::from(MAX_CORRECTIONS)) {
        if status.complete {
            return Ok(Some(()));
        }
        let start = status.received.min(size);
        if start >= size {
            // The server holds every byte but did not finish: ask again, which settles it.
            corrections += 1;
        } else {
            if !budget.take() {
                return Ok(None);
            }
            let end = (start + chunk).min(size);
            match put_chunk(client, session, &blob.hash, start, &bytes[start as usize..end as usize], size).await {
                Ok(next) => {
                    on_chunk(end - start, next.received.max(end));
                    lock(store)?.set_blob_confirmed(&blob.hash, next.received)?;
                    status = next;
                    continue;
                }
                Err(Error::Sync(e)) if e.code() == Some(ErrorCode::UploadOffset) => corrections += 1,
                Err(e) => return Err(e),
            }
        }
        if corrections > MAX_CORRECTIONS {
            return Err(SyncError::Protocol(format!("the upload of {} does not settle on an offset", blob.hash)).into());
        }
        status = upload_status(client, session, &blob.hash).await?;
    }
    Err(SyncError::Protocol(format!("the upload of {} did not finish", blob.hash)).into())
}

fn blob_url(session: &Session, hash: &str) -> String {
    format!("{}/api/v1/blobs/{hash}", session.server)
}

async fn upload_status(client: &Client, session: &Session, hash: &str) -> Result<UploadStatus> {
    let resp = client
        .http_for(session)?
        .get(format!("{}/upload", blob_url(session, hash)))
        .bearer_auth(&session.token)
        .send()
        .await
        .map_err(|e| SyncError::from_transport(&e))?;
    status_answer(resp).await
}

async fn put_chunk(
    client: &Client,
    session: &Session,
    hash: &str,
    start: u64,
    body: &[u8],
    total: u64,
) -> Result<UploadStatus> {
    let end = start + body.len() as u64 - 1;
    let resp = client
        .http_for(session)?
        .put(blob_url(session, hash))
        .bearer_auth(&session.token)
        .header(reqwest::header::CONTENT_RANGE, format!("bytes {start}-{end}/{total}"))
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| SyncError::from_transport(&e))?;
    status_answer(resp).await
}

async fn status_answer(resp: reqwest::Response) -> Result<UploadStatus> {
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(|e| SyncError::from_transport(&e))?;
    if !(200..300).contains(&status) {
        return Err(SyncError::from_response(status, &body).into());
    }
    serde_json::from_slice(&body)
        .map_err(|e| SyncError::Protocol(format!("blob upload answer is not the expected JSON: {e}")).into())
}

/// The bytes of an attachment: from this device, or else downloaded (resuming a cut download with `Range`),
/// checked against the hash and stored encrypted.
pub async fn open_attachment(client: &Client, store: &Mutex<Store>, hash: &str) -> Result<Vec<u8>> {
    if !attachment::is_valid_hash(hash) {
        return Err(attachment::AttachmentError::BadHash.into());
    }
    let info = {
        let store = lock(store)?;
        if let Some(bytes) = store.blob(hash)? {
            return Ok(bytes);
        }
        store.blob_info(hash)?.ok_or_else(|| Error::not_found("attachment", hash))?
    };
    let mut budget = ChunkBudget(client.config().blob_chunk_limit);
    fetch(client, store, &info, &mut budget).await
}

/// Downloads a blob in ranged chunks from the bytes already held.
async fn fetch(client: &Client, store: &Mutex<Store>, info: &BlobInfo, budget: &mut ChunkBudget) -> Result<Vec<u8>> {
    let (session, blobs) = {
        let store = lock(store)?;
        (Session::load(&store)?, store.blob_dir().clone())
    };
    let hash = info.hash.as_str();
    let size = info.size;
    let chunk = client.config().blob_chunk_bytes.max(1) as u64;
    let mut corrections = 0;
    for _ in 0..(size / chunk + 2 + u64::from(MAX_CORRECTIONS)) {
        let have = blobs.partial_len(hash)?;
        if have >= size {
            break;
        }
        if !budget.take() {
            return Err(SyncError::Network {
                message: format!("download of {hash} stopped after the configured number of chunks"),
                retryable: true,
            }
            .into());
        }
        let end = (have + chunk).min(size) - 1;
        let resp = client
            .http_for(&session)?
            .get(blob_url(&session, hash))
            .bearer_auth(&session.token)
            .header(reqwest::header::RANGE, format!("bytes={have}-{end}"))
            .send()
            .await
            .map_err(|e| SyncError::from_transport(&e))?;
        let status = resp.status().as_u16();
        let start =
            resp.headers().get(reqwest::header::CONTENT_RANGE).and_then(|v| v.to_str().ok()).and_then(range_start);
        let body = resp.bytes().await.map_err(|e| SyncError::from_transport(&e))?;
        match status {
            206 if start == Some(have) && !body.is_empty() => blobs.append_partial(hash, have, &body)?,
            // The whole blob in one answer: start over from it.
            200 if body.len() as u64 == size => {
                blobs.remove_partial(hash)?;
                blobs.append_partial(hash, 0, &body)?;
            }
            200 | 206 | 416 => {
                corrections += 1;
                if corrections > MAX_CORRECTIONS {
                    return Err(SyncError::Protocol(format!("the server's ranges of {hash} do not fit")).into());
                }
                blobs.remove_partial(hash)?;
            }
            _ => return Err(SyncError::from_response(status, &body).into()),
        }
    }
    let finished = lock(store)?.finish_blob_download(hash);
    match finished {
        Err(Error::BlobCorrupt { .. }) => Err(SyncError::Refused {
            code: ErrorCode::HashMismatch,
            message_en: format!("the downloaded bytes of {hash} do not match their hash; they were dropped"),
            message_zh: "下载的附件校验失败，已丢弃".into(),
            retryable: true,
        }
        .into()),
        other => other,
    }
}

/// The first byte of a `Content-Range: bytes A-B/T` header.
fn range_start(header: &str) -> Option<u64> {
    header.strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

/// Fetches the blobs the device's own households refer to and it does not hold, as far as the policy allows.
/// Returns how many it fetched and their bytes.
async fn prefetch_own(client: &Client, store: &Mutex<Store>, policy: NetworkPolicy) -> Result<(u64, u64)> {
    let missing = {
        let store = lock(store)?;
        let user = store.meta(super::client::meta::USER)?.unwrap_or_default();
        store.missing_blobs(Some(&user))?
    };
    let mut budget = ChunkBudget(client.config().blob_chunk_limit);
    let (mut count, mut bytes) = (0, 0);
    for info in missing.into_iter().filter(|b| policy.allows(b.kind)) {
        match fetch(client, store, &info, &mut budget).await {
            Ok(b) => {
                count += 1;
                bytes += b.len() as u64;
            }
            // Not uploaded yet by its device, or no longer in scope: the next sync tries again.
            Err(Error::Sync(e))
                if matches!(
                    e.code(),
                    Some(ErrorCode::BlobMissing | ErrorCode::OutOfScope | ErrorCode::HashMismatch)
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((count, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_lets_signatures_through_everywhere() {
        let metered = NetworkPolicy { kind: NetworkKind::Metered, allow_metered: false };
        assert!(metered.allows(AttachmentKind::Signature));
        assert!(!metered.allows(AttachmentKind::Photo));
        assert!(!metered.allows(AttachmentKind::Document));
        let allowed = NetworkPolicy { allow_metered: true, ..metered };
        assert!(allowed.allows(AttachmentKind::Photo));
        assert!(NetworkPolicy::default().allows(AttachmentKind::Document));
    }

    #[test]
    fn chunk_budget_and_ranges() {
        let mut b = ChunkBudget(Some(2));
        assert!(b.take() && b.take() && !b.take());
        assert!(ChunkBudget(None).take());
        assert_eq!(range_start("bytes 100-199/1000"), Some(100));
        assert_eq!(range_start("bytes */1000"), None);
    }
}

#[cfg(test)]
mod fake_server_tests;
