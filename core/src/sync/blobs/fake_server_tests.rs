//! The blob phase against a small in-process server that speaks the three blob endpoints and misbehaves on demand
//! (answers `upload_offset`, `hash_mismatch`, ranges), so the client's bounded loops are checked where the real
//! server cannot be made to misbehave. The real server is exercised end to end in `tests/tests/attachments.rs`.

use super::*;
use crate::attachment::{JPEG, PNG};
use crate::model::{samples, Visit};
use crate::store::today;
use crate::sync::client::{meta, SyncConfig};
use crate::sync::protocol::ErrorBody;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Normal,
    /// The first chunk is kept but answered 409, as when another upload of the same blob got there first.
    OffsetOnce,
    /// Every chunk is answered 409 while the status keeps saying 0.
    AlwaysOffset,
    /// The last chunk is answered 400 hash_mismatch.
    HashMismatch,
}

#[derive(Default)]
struct FakeState {
    mode: Mode,
    /// A blob answered as in `Mode::AlwaysOffset` whatever the mode.
    stuck: Option<String>,
    held: HashMap<String, Vec<u8>>,
    complete: HashMap<String, bool>,
    /// Bytes served for downloads, by hash, and how many bytes were sent out.
    served: HashMap<String, Vec<u8>>,
    bytes_out: usize,
    puts: u32,
    statuses: u32,
}

type Fake = Arc<Mutex<FakeState>>;

fn refuse(status: u16, code: ErrorCode) -> Response {
    let body =
        ErrorBody {
            code, message_en: format!("{code:?}"), message_zh: "拒绝".into(), retryable: false, doc_id: None
        };
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

fn status_body(s: &FakeState, hash: &str) -> serde_json::Value {
    let received = s.held.get(hash).map_or(0, Vec::len);
    serde_json::json!({"hash": hash, "size": 0, "received": received, "complete": s.complete.get(hash) == Some(&true)})
}

async fn upload_status(State(fake): State<Fake>, Path(hash): Path<String>) -> Response {
    let mut s = fake.lock().unwrap();
    s.statuses += 1;
    if s.mode == Mode::AlwaysOffset || s.stuck.as_deref() == Some(hash.as_str()) {
        return Json(serde_json::json!({"hash": hash, "size": 0, "received": 0, "complete": false})).into_response();
    }
    Json(status_body(&s, &hash)).into_response()
}

async fn put(State(fake): State<Fake>, Path(hash): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = fake.lock().unwrap();
    s.puts += 1;
    let range = headers["content-range"].to_str().unwrap().strip_prefix("bytes ").unwrap().to_string();
    let (span, total) = range.split_once('/').unwrap();
    let (start, end) = span.split_once('-').unwrap();
    let (start, end, total): (usize, usize, usize) =
        (start.parse().unwrap(), end.parse().unwrap(), total.parse().unwrap());
    assert_eq!(end + 1 - start, body.len());
    let mode = s.mode;
    if mode == Mode::AlwaysOffset || s.stuck.as_deref() == Some(hash.as_str()) {
        return refuse(409, ErrorCode::UploadOffset);
    }
    let held = s.held.entry(hash.clone()).or_default();
    if start != held.len() {
        return refuse(409, ErrorCode::UploadOffset);
    }
    held.extend_from_slice(&body);
    if mode == Mode::OffsetOnce {
        s.mode = Mode::Normal;
        return refuse(409, ErrorCode::UploadOffset);
    }
    if end + 1 == total {
        if mode == Mode::HashMismatch || attachment::hash_hex(&s.held[&hash]) != hash {
            s.held.remove(&hash);
            return refuse(400, ErrorCode::HashMismatch);
        }
        s.complete.insert(hash.clone(), true);
        return (StatusCode::CREATED, Json(status_body(&s, &hash))).into_response();
    }
    (StatusCode::ACCEPTED, Json(status_body(&s, &hash))).into_response()
}

async fn download(State(fake): State<Fake>, Path(hash): Path<String>, headers: HeaderMap) -> Response {
    let mut s = fake.lock().unwrap();
    let Some(bytes) = s.served.get(&hash).cloned() else { return refuse(404, ErrorCode::BlobMissing) };
    let range = headers.get("range").and_then(|r| r.to_str().ok()).and_then(|r| r.strip_prefix("bytes="));
    let (a, b) = match range.and_then(|r| r.split_once('-')) {
        Some((a, b)) => (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap_or(bytes.len() - 1)),
        None => (0, bytes.len() - 1),
    };
    let b = b.min(bytes.len() - 1);
    s.bytes_out += b + 1 - a;
    let mut resp = bytes[a..=b].to_vec().into_response();
    *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    resp.headers_mut().insert("content-range", format!("bytes {a}-{b}/{}", bytes.len()).parse().unwrap());
    resp
}

async fn serve() -> (String, Fake) {
    let fake: Fake = Arc::default();
    let app = Router::new()
        .route("/api/v1/blobs/{hash}/upload", get(upload_status))
        .route("/api/v1/blobs/{hash}", get(download).put(put))
        .layer(DefaultBodyLimit::disable())
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), fake)
}

fn jpeg(len: usize, seed: u8) -> Vec<u8> {
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
    b.extend((0..len - 4).map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed)));
    b
}

/// A signed-in device with a synced visit carrying `blobs` (bytes, media type, kind); returns the hashes.
fn device(dir: &tempfile::TempDir, url: &str, blobs: &[(&[u8], &str, AttachmentKind)]) -> (Mutex<Store>, Vec<String>) {
    let mut store = Store::open(&dir.path().join("d.db"), &[7; 32], "d").unwrap();
    store.set_meta(meta::SERVER, url).unwrap();
    store.set_meta(meta::TOKEN, "t0k3n").unwrap();
    let v: Visit = samples::visit();
    store.put(&v, &today()).unwrap();
    let hashes = blobs.iter().map(|(b, m, k)| store.attach(&v.id, b, m, *k, "").unwrap().hash).collect();
    let acked: Vec<String> = store.pending_changes(usize::MAX).unwrap().into_iter().map(|p| p.change.hash).collect();
    store.mark_acked(&acked).unwrap();
    (Mutex::new(store), hashes)
}

fn client(chunk: usize) -> Client {
    Client::new(SyncConfig { blob_chunk_bytes: chunk, ..SyncConfig::default() }).unwrap()
}

fn state(store: &Mutex<Store>, hash: &str) -> UploadState {
    store.lock().unwrap().blob_info(hash).unwrap().unwrap().upload
}

#[tokio::test]
async fn an_offset_refusal_asks_again_and_resumes_where_the_server_is() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = jpeg(5000, 1);
    let (store, hashes) = device(&dir, &url, &[(&bytes, JPEG, AttachmentKind::Photo)]);
    fake.lock().unwrap().mode = Mode::OffsetOnce;
    let events = Mutex::new(Vec::new());
    let r = upload_blobs(&client(1000), &store, NetworkPolicy::default(), &|e| events.lock().unwrap().push(e))
        .await
        .unwrap();
    assert_eq!((r.uploaded, r.broken), (1, 0), "{r:?}");
    let s = fake.lock().unwrap();
    assert_eq!(s.held[&hashes[0]], bytes);
    // Five chunks, the first of them answered 409 once; after it the client asked where to go on.
    assert_eq!((s.puts, s.statuses), (5, 2));
    assert_eq!(state(&store, &hashes[0]), UploadState::Done);
    let events = events.lock().unwrap();
    assert_eq!(events.first(), Some(&SyncEvent::Blobs { done: 0, total: 1, bytes_done: 0, bytes_total: 5000 }));
    assert_eq!(events.last(), Some(&SyncEvent::Blobs { done: 1, total: 1, bytes_done: 5000, bytes_total: 5000 }));
}

#[tokio::test]
async fn a_hash_mismatch_marks_the_blob_broken_and_it_is_never_sent_again() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = jpeg(2500, 2);
    let (store, hashes) = device(&dir, &url, &[(&bytes, JPEG, AttachmentKind::Photo)]);
    fake.lock().unwrap().mode = Mode::HashMismatch;
    let r = upload_blobs(&client(1000), &store, NetworkPolicy::default(), &|_| {}).await.unwrap();
    assert_eq!((r.uploaded, r.broken), (0, 1), "{r:?}");
    assert_eq!(state(&store, &hashes[0]), UploadState::Broken);
    let puts = fake.lock().unwrap().puts;
    let again = upload_blobs(&client(1000), &store, NetworkPolicy::default(), &|_| {}).await.unwrap();
    assert_eq!(again, BlobResult::default());
    assert_eq!(fake.lock().unwrap().puts, puts);
}

#[tokio::test]
async fn a_server_that_never_settles_the_offset_does_not_keep_the_client_looping() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = jpeg(3000, 3);
    let (store, hashes) = device(&dir, &url, &[(&bytes, JPEG, AttachmentKind::Photo)]);
    fake.lock().unwrap().mode = Mode::AlwaysOffset;
    let r = upload_blobs(&client(1000), &store, NetworkPolicy::default(), &|_| {}).await.unwrap();
    assert_eq!((r.uploaded, r.refused), (0, 1), "{r:?}");
    assert!(fake.lock().unwrap().puts <= MAX_CORRECTIONS + 1);
    assert_eq!(state(&store, &hashes[0]), UploadState::Pending, "tried again at the next sync");
}

#[tokio::test]
async fn a_blob_whose_upload_does_not_settle_does_not_hold_back_the_ones_after_it() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let photo = jpeg(3000, 5);
    let mut sig = b"\x89PNG\r\n\x1a\n".to_vec();
    sig.extend([2u8; 300]);
    let (store, hashes) =
        device(&dir, &url, &[(&photo, JPEG, AttachmentKind::Photo), (&sig, PNG, AttachmentKind::Signature)]);
    fake.lock().unwrap().stuck = Some(hashes[0].clone());
    let r = upload_blobs(&client(1000), &store, NetworkPolicy::default(), &|_| {}).await.unwrap();
    assert_eq!((r.uploaded, r.refused, r.bytes_sent), (1, 1, sig.len() as u64), "{r:?}");
    assert_eq!((state(&store, &hashes[0]), state(&store, &hashes[1])), (UploadState::Pending, UploadState::Done));
    assert_eq!(fake.lock().unwrap().held[&hashes[1]], sig);
}

#[tokio::test]
async fn on_a_metered_network_signatures_go_and_photos_wait() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let photo = jpeg(4000, 4);
    let mut sig = b"\x89PNG\r\n\x1a\n".to_vec();
    sig.extend([1u8; 300]);
    let (store, hashes) =
        device(&dir, &url, &[(&photo, JPEG, AttachmentKind::Photo), (&sig, PNG, AttachmentKind::Signature)]);
    let metered = NetworkPolicy { kind: NetworkKind::Metered, allow_metered: false };
    let r = upload_blobs(&client(1000), &store, metered, &|_| {}).await.unwrap();
    assert_eq!((r.uploaded, r.deferred, r.bytes_sent), (1, 1, sig.len() as u64), "{r:?}");
    assert_eq!((state(&store, &hashes[0]), state(&store, &hashes[1])), (UploadState::Pending, UploadState::Done));
    let r = upload_blobs(&client(1000), &store, NetworkPolicy::default(), &|_| {}).await.unwrap();
    assert_eq!((r.uploaded, r.deferred, r.bytes_sent), (1, 0, photo.len() as u64), "{r:?}");
    assert_eq!(fake.lock().unwrap().held[&hashes[0]], photo);
}

#[tokio::test]
async fn a_cut_download_resumes_from_its_partial_file_and_bad_bytes_are_refused() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = device(&dir, &url, &[]);
    let bytes = jpeg(4500, 5);
    let hash = attachment::hash_hex(&bytes);
    {
        let mut s = store.lock().unwrap();
        let mut v: Visit = samples::visit();
        v.id = crate::model::new_id();
        let r = attachment::prepare(&bytes, JPEG, AttachmentKind::Photo, "", &Default::default()).unwrap();
        v.attachments.insert(hash.clone(), r);
        s.put(&v, &today()).unwrap();
        assert!(!s.blob_info(&hash).unwrap().unwrap().local);
    }
    fake.lock().unwrap().served.insert(hash.clone(), bytes.clone());
    let cut =
        Client::new(SyncConfig { blob_chunk_bytes: 1000, blob_chunk_limit: Some(2), ..Default::default() }).unwrap();
    let err = open_attachment(&cut, &store, &hash).await.unwrap_err();
    assert!(err.retryable(), "{err}");
    assert_eq!(store.lock().unwrap().blob_dir().partial_len(&hash).unwrap(), 2000);
    assert_eq!(open_attachment(&client(1000), &store, &hash).await.unwrap(), bytes);
    assert_eq!(fake.lock().unwrap().bytes_out, bytes.len(), "no byte fetched twice");
    assert!(store.lock().unwrap().blob_info(&hash).unwrap().unwrap().local);
    // Served again from the device, without the network.
    assert_eq!(open_attachment(&client(1000), &store, &hash).await.unwrap(), bytes);
    assert_eq!(fake.lock().unwrap().bytes_out, bytes.len());

    // Bytes that do not match the hash are dropped, nothing is stored.
    let other = jpeg(1200, 6);
    let other_hash = attachment::hash_hex(&other);
    {
        let mut s = store.lock().unwrap();
        let mut v: Visit = samples::visit();
        v.id = crate::model::new_id();
        let r = attachment::prepare(&other, JPEG, AttachmentKind::Photo, "", &Default::default()).unwrap();
        v.attachments.insert(other_hash.clone(), r);
        s.put(&v, &today()).unwrap();
    }
    let mut wrong = other.clone();
    wrong[600] ^= 1;
    fake.lock().unwrap().served.insert(other_hash.clone(), wrong);
    let err = open_attachment(&client(1000), &store, &other_hash).await.unwrap_err();
    assert!(err.to_string().contains("hash_mismatch"), "{err}");
    let s = store.lock().unwrap();
    assert!(s.blob(&other_hash).unwrap().is_none());
    assert_eq!(s.blob_dir().partial_len(&other_hash).unwrap(), 0);
}

#[tokio::test]
async fn a_blob_file_lost_from_the_phone_is_marked_broken_instead_of_failing_every_sync() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let (lost, kept) = (jpeg(1500, 7), jpeg(1600, 8));
    let (store, hashes) =
        device(&dir, &url, &[(&lost, JPEG, AttachmentKind::Photo), (&kept, JPEG, AttachmentKind::Photo)]);
    let path = store.lock().unwrap().blob_dir().path_of(&hashes[0]).unwrap();
    std::fs::remove_file(path).unwrap();
    let r = upload_blobs(&client(1000), &store, NetworkPolicy::default(), &|_| {}).await.unwrap();
    assert_eq!((r.broken, r.uploaded, r.bytes_sent), (1, 1, kept.len() as u64), "{r:?}");
    assert_eq!(state(&store, &hashes[0]), UploadState::Broken);
    assert_eq!(fake.lock().unwrap().held[&hashes[1]], kept);
}
