//! Client tests against a small in-process server that speaks the HTTP API with an in-memory change log, so the
//! client's paging, acknowledgement and error mapping are checked at the core's own level. The real server is
//! exercised end to end in `tests/`.

use super::*;
use crate::model::{samples, Visit};
use crate::store::today;
use crate::sync::protocol::{ErrorBody, ErrorCode, WireDoc};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use std::collections::HashSet;
use std::sync::Arc;

#[derive(Default)]
struct FakeState {
    /// (sequence, doc id, kind, change bytes); the sequence is the index + 1.
    log: Vec<(String, String, Vec<u8>)>,
    hashes: HashSet<String>,
    requests: u32,
    refuse: Option<(u16, ErrorBody)>,
    /// Bodies larger than this are refused with 413, as a server with a small limit does.
    max_body: Option<usize>,
    /// How many requests were refused for their size.
    too_large: u32,
    /// Speaks only protocol version 1, as a server not yet updated does.
    v1_only: bool,
    /// The protocol version of each sync request, in order.
    versions: Vec<u16>,
    /// Answers every request in version 1, whatever version it came in.
    answer_v1: bool,
    /// The document format named in the answers' header (none: no header, as a server before format 2).
    document_format: Option<i64>,
}

type Fake = Arc<Mutex<FakeState>>;

fn error(status: u16, code: ErrorCode) -> (u16, ErrorBody) {
    (
        status,
        ErrorBody {
            code, message_en: format!("{code:?}"), message_zh: "拒绝".into(), retryable: false, doc_id: None
        },
    )
}

async fn login(State(fake): State<Fake>, Json(body): Json<serde_json::Value>) -> Response {
    if body["password"] != "secret" {
        let (status, body) = error(401, ErrorCode::WrongPassword);
        return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    }
    fake.lock().unwrap().requests += 1;
    Json(serde_json::json!({"token": "t0k3n", "user": body["user"], "role": "helper", "device_id": 7})).into_response()
}

async fn sync(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = fake.lock().unwrap();
    s.requests += 1;
    if let Some((status, body)) = s.refuse.clone() {
        return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    }
    if s.max_body.is_some_and(|max| body.len() > max) {
        s.too_large += 1;
        let (status, body) = error(413, ErrorCode::TooLarge);
        return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    }
    assert_eq!(headers["authorization"], "Bearer t0k3n");
    let version = protocol::peek_version(&body).unwrap();
    s.versions.push(version);
    if s.v1_only && version != protocol::V1 {
        let (status, body) = error(426, ErrorCode::UpdateRequired);
        return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
    }
    let (version, req) = protocol::decode_request(&body).unwrap();
    let mut acked = Vec::new();
    for c in req.changes {
        let change = automerge::Change::from_bytes(c.bytes.clone()).unwrap();
        let hash = change.hash();
        if s.hashes.insert(hash.to_string()) {
            s.log.push((c.doc_id, c.kind, c.bytes));
        }
        acked.push(hash.0);
    }
    let mut docs: Vec<WireDoc> = Vec::new();
    let mut size = 0usize;
    let mut cursor = req.cursor;
    for (i, (doc_id, kind, bytes)) in s.log.iter().enumerate().skip(req.cursor as usize) {
        if size > 0 && size + bytes.len() > req.max_bytes as usize {
            break;
        }
        size += bytes.len();
        cursor = i as u64 + 1;
        match docs.iter_mut().find(|d| &d.doc_id == doc_id) {
            Some(d) => d.changes.push(bytes.clone()),
            None => docs.push(WireDoc {
                doc_id: doc_id.clone(),
                kind: kind.clone(),
                snapshot: None,
                changes: vec![bytes.clone()],
            }),
        }
    }
    let more = (cursor as usize) < s.log.len();
    let version = if s.answer_v1 { protocol::V1 } else { version };
    let mut response = protocol::encode_response(version, &SyncResponse { acked, docs, cursor, more, removed: vec![] })
        .into_response();
    if let Some(format) = s.document_format {
        response.headers_mut().insert(protocol::DOCUMENT_FORMAT_HEADER, format.into());
    }
    response
}

async fn serve() -> (String, Fake) {
    let fake: Fake = Arc::default();
    let app = Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/sync", post(sync))
        .layer(DefaultBodyLimit::disable())
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), fake)
}

fn device(dir: &tempfile::TempDir, name: &str) -> Mutex<Store> {
    Mutex::new(Store::open(&dir.path().join(format!("{name}.db")), &[7; 32], name).unwrap())
}

fn client() -> Client {
    Client::new(SyncConfig::default()).unwrap()
}

fn record_visits(store: &Mutex<Store>, n: usize) -> Vec<String> {
    let mut store = store.lock().unwrap();
    (0..n)
        .map(|i| {
            let mut v: Visit = samples::visit();
            v.note = format!("visit {i}");
            store.put(&v, &today()).unwrap();
            v.id
        })
        .collect()
}

fn count(store: &Mutex<Store>, kind: &str) -> i64 {
    store.lock().unwrap().conn().query_row("SELECT count(*) FROM docs WHERE kind = ?1", [kind], |r| r.get(0)).unwrap()
}

#[tokio::test]
async fn login_keeps_the_session_and_a_wrong_password_keeps_nothing() {
    let (url, _fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir, "a");
    let err = client().login(&a, &url, "helper1", "wrong").await.unwrap_err();
    assert!(matches!(err, Error::Sync(SyncError::Refused { code: ErrorCode::WrongPassword, .. })), "{err}");
    assert_eq!(a.lock().unwrap().meta(meta::TOKEN).unwrap(), None);
    assert!(matches!(client().sync_once(&a, &mut |_| {}).await, Err(Error::Sync(SyncError::NotSignedIn))));

    let info = client().login(&a, &format!("{url}/"), "helper1", "secret").await.unwrap();
    assert_eq!(
        info,
        LoginInfo { server: url.clone(), user: "helper1".into(), role: "helper".into(), device_id: "7".into() }
    );
    let store = a.lock().unwrap();
    assert_eq!(store.meta(meta::TOKEN).unwrap().as_deref(), Some("t0k3n"));
    assert_eq!(store.meta(meta::SERVER).unwrap().as_deref(), Some(url.as_str()));
    assert_eq!(store.author().user, "helper1");
    assert!(matches!(normalize_server_url("ftp://x"), Err(Error::Validation(e)) if e[0].field == "server"));
}

#[tokio::test]
async fn a_thousand_offline_visits_go_up_in_one_round_trip_and_reach_another_device() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (device(&dir, "a"), device(&dir, "b"));
    for d in [&a, &b] {
        client().login(d, &url, "helper1", "secret").await.unwrap();
    }
    record_visits(&a, 1000);
    let mut seen = Vec::new();
    let up = client().sync_once(&a, &mut |r| seen.push(*r)).await.unwrap();
    assert_eq!(up.sent, 1000);
    assert!(up.round_trips <= 3, "{up:?}");
    assert_eq!(seen.last(), Some(&up));
    assert_eq!(a.lock().unwrap().pending_count().unwrap(), 0);
    assert_eq!(fake.lock().unwrap().log.len(), 1000);

    let down = client().sync_once(&b, &mut |_| {}).await.unwrap();
    assert_eq!((down.sent, down.received), (0, 1000));
    assert_eq!(count(&b, "visit"), 1000);

    let again = client().sync_once(&a, &mut |_| {}).await.unwrap();
    assert_eq!((again.sent, again.received, again.round_trips), (0, 0, 1));
    assert!(a.lock().unwrap().meta(meta::LAST_SYNC_MS).unwrap().is_some());
}

#[tokio::test]
async fn a_server_that_speaks_only_version_1_is_spoken_to_in_version_1() {
    let (url, fake) = serve().await;
    fake.lock().unwrap().v1_only = true;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (device(&dir, "a"), device(&dir, "b"));
    for d in [&a, &b] {
        client().login(d, &url, "helper1", "secret").await.unwrap();
    }
    record_visits(&a, 3);
    let old = client();
    assert_eq!(old.sync_once(&a, &mut |_| {}).await.unwrap().sent, 3);
    assert_eq!(old.sync_once(&a, &mut |_| {}).await.unwrap().sent, 0);
    // Such a server reads document format 1 alone: new documents are created in it.
    assert_eq!(a.lock().unwrap().creating_format().unwrap(), crate::model::form::LEGACY);
    // Version 2 once, refused; version 1 since, by the same client.
    assert_eq!(fake.lock().unwrap().versions, vec![protocol::V2, protocol::V1, protocol::V1]);
    assert_eq!(client().sync_once(&b, &mut |_| {}).await.unwrap().received, 3);
    assert_eq!(count(&b, "visit"), 3);

    // A server that answers version 2 in version 1 is spoken to in version 1 from then on; what it stored twice is
    // acknowledged again, not duplicated.
    let (url, fake) = serve().await;
    fake.lock().unwrap().answer_v1 = true;
    let d = device(&dir, "d");
    client().login(&d, &url, "helper1", "secret").await.unwrap();
    record_visits(&d, 2);
    assert_eq!(client().sync_once(&d, &mut |_| {}).await.unwrap().sent, 2);
    assert_eq!(fake.lock().unwrap().versions, vec![protocol::V2, protocol::V1]);
    assert_eq!(fake.lock().unwrap().log.len(), 2);
    assert_eq!(d.lock().unwrap().pending_count().unwrap(), 0);

    // An up-to-date server is spoken to in version 2 only, and names the document format of the deployment.
    let (url, fake) = serve().await;
    fake.lock().unwrap().document_format = Some(2);
    let c = device(&dir, "c");
    assert_eq!(c.lock().unwrap().creating_format().unwrap(), crate::model::form::CURRENT, "a new store");
    client().login(&c, &url, "helper1", "secret").await.unwrap();
    fake.lock().unwrap().document_format = Some(1);
    assert_eq!(client().sync_once(&c, &mut |_| {}).await.unwrap().sent, 0);
    assert_eq!(c.lock().unwrap().creating_format().unwrap(), crate::model::form::LEGACY, "as the server said");
    fake.lock().unwrap().document_format = Some(2);
    fake.lock().unwrap().versions.clear();
    record_visits(&c, 2);
    assert_eq!(client().sync_once(&c, &mut |_| {}).await.unwrap().sent, 2);
    assert_eq!(fake.lock().unwrap().versions, vec![protocol::V2]);
    assert_eq!(c.lock().unwrap().pending_count().unwrap(), 0, "a version 2 answer acknowledges the whole push");
    assert_eq!(c.lock().unwrap().creating_format().unwrap(), crate::model::form::CURRENT);
}

#[tokio::test]
async fn small_pages_take_several_round_trips_and_each_advances_the_cursor() {
    let (url, _fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (device(&dir, "a"), device(&dir, "b"));
    for d in [&a, &b] {
        client().login(d, &url, "helper1", "secret").await.unwrap();
    }
    let ids = record_visits(&a, 30);
    client().sync_once(&a, &mut |_| {}).await.unwrap();
    let small = Client::new(SyncConfig { pull_max_bytes: 2000, ..SyncConfig::default() }).unwrap();
    let mut cursors = Vec::new();
    let r = small.sync_once(&b, &mut |_| cursors.push(cursor(&b.lock().unwrap()).unwrap())).await.unwrap();
    assert!(r.round_trips > 3, "{r:?}");
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    assert_eq!(cursors.last(), Some(&30));
    for id in ids {
        b.lock().unwrap().get::<Visit>(&id).unwrap();
    }

    let limited = Client::new(SyncConfig { pull_max_bytes: 1, max_round_trips: 2, ..SyncConfig::default() }).unwrap();
    let c = device(&dir, "c");
    client().login(&c, &url, "helper1", "secret").await.unwrap();
    let r = limited.sync_once(&c, &mut |_| {}).await.unwrap();
    assert!(r.incomplete && r.round_trips == 2, "{r:?}");
}

#[tokio::test]
async fn refusals_are_typed_and_leave_the_changes_pending() {
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir, "a");
    client().login(&a, &url, "helper1", "secret").await.unwrap();
    record_visits(&a, 3);
    for (status, code) in [(401, ErrorCode::TokenRevoked), (403, ErrorCode::OutOfScope), (403, ErrorCode::ForgedActor)]
    {
        fake.lock().unwrap().refuse = Some(error(status, code));
        let err = client().sync_once(&a, &mut |_| {}).await.unwrap_err();
        match &err {
            Error::Sync(e) => {
                assert_eq!(e.code(), Some(code));
                assert!(!e.retryable());
            }
            other => panic!("{other}"),
        }
        assert_eq!(a.lock().unwrap().pending_count().unwrap(), 3);
    }
    fake.lock().unwrap().refuse = Some(error(426, ErrorCode::UpdateRequired));
    assert!(matches!(client().sync_once(&a, &mut |_| {}).await, Err(Error::Sync(SyncError::UpdateRequired { .. }))));
    fake.lock().unwrap().refuse = None;
    assert_eq!(client().sync_once(&a, &mut |_| {}).await.unwrap().sent, 3);
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir, "a");
    {
        let store = a.lock().unwrap();
        store.set_meta(meta::SERVER, &url).unwrap();
        store.set_meta(meta::TOKEN, "t").unwrap();
    }
    record_visits(&a, 1);
    let err = client().sync_once(&a, &mut |_| {}).await.unwrap_err();
    assert!(matches!(&err, Error::Sync(SyncError::Network { retryable: true, .. })), "{err}");
    assert_eq!(a.lock().unwrap().pending_count().unwrap(), 1);
}

struct Events(std::sync::mpsc::Sender<crate::sync::SyncEvent>);

impl crate::sync::SyncListener for Events {
    fn on_event(&self, event: crate::sync::SyncEvent) {
        let _ = self.0.send(event);
    }
}

/// Waits (bounded) for the next event that is not progress.
fn next_outcome(rx: &std::sync::mpsc::Receiver<crate::sync::SyncEvent>) -> crate::sync::SyncEvent {
    use crate::sync::SyncEvent;
    for _ in 0..100 {
        match rx.recv_timeout(std::time::Duration::from_secs(30)).expect("a sync event") {
            SyncEvent::Started | SyncEvent::Progress { .. } => continue,
            other => return other,
        }
    }
    panic!("no outcome after 100 events")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_task_syncs_when_online_and_reports_events() {
    use crate::sync::{BackgroundOptions, SyncEngine, SyncEvent};
    let (url, fake) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(device(&dir, "a"));
    let engine = SyncEngine::new(store.clone(), SyncConfig::default()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    engine.set_listener(Some(Arc::new(Events(tx))));
    engine.set_online(false);
    engine.login(&url, "helper1", "secret").await.unwrap();
    record_visits(&store, 5);
    let options = BackgroundOptions {
        check_every: Duration::from_millis(20),
        backoff_base: Duration::from_millis(20),
        ..BackgroundOptions::default()
    };
    let handle = engine.start(options).unwrap();
    engine.set_online(true);
    let outcome = tokio::task::spawn_blocking(move || next_outcome(&rx)).await.unwrap();
    assert_eq!(outcome, SyncEvent::Done { sent: 5, received: 5, round_trips: 1 });
    assert_eq!(store.lock().unwrap().pending_count().unwrap(), 0);

    fake.lock().unwrap().refuse = Some(error(401, ErrorCode::TokenRevoked));
    let (tx, rx) = std::sync::mpsc::channel();
    engine.set_listener(Some(Arc::new(Events(tx))));
    engine.request_sync();
    let outcome = tokio::task::spawn_blocking(move || next_outcome(&rx)).await.unwrap();
    assert!(
        matches!(outcome, SyncEvent::Failed { retryable: false, ref reason } if reason.contains("token_revoked")),
        "{outcome:?}"
    );
    assert!(!handle.is_finished());
    handle.cancel();
    assert!(handle.is_finished());
}

#[tokio::test]
async fn a_server_with_a_small_body_limit_gets_the_backlog_in_halves_and_a_single_oversized_change_is_refused() {
    let (url, fake) = serve().await;
    fake.lock().unwrap().max_body = Some(4000);
    let dir = tempfile::tempdir().unwrap();
    let a = device(&dir, "a");
    client().login(&a, &url, "helper1", "secret").await.unwrap();
    record_visits(&a, 300);
    let c = client();
    let r = c.sync_once(&a, &mut |_| {}).await.unwrap();
    assert_eq!(r.sent, 300);
    assert!(r.round_trips > 2, "{r:?}");
    assert_eq!(fake.lock().unwrap().log.len(), 300);
    // The same client remembers the size that fits: the next backlog is not refused first.
    assert!(fake.lock().unwrap().too_large > 0);
    fake.lock().unwrap().too_large = 0;
    record_visits(&a, 300);
    let r = c.sync_once(&a, &mut |_| {}).await.unwrap();
    assert_eq!(r.sent, 300);
    assert_eq!(fake.lock().unwrap().too_large, 0, "{r:?}");

    // One change that alone exceeds the limit: a typed refusal, and the change stays pending.
    let mut v = samples::visit();
    v.note = (0..1900u32).map(|i| char::from_u32(0x4e00 + (i * 7919) % 20000).unwrap()).collect();
    a.lock().unwrap().put(&v, &today()).unwrap();
    let err = client().sync_once(&a, &mut |_| {}).await.unwrap_err();
    assert!(matches!(&err, Error::Sync(e) if e.code() == Some(ErrorCode::TooLarge)), "{err}");
    assert_eq!(a.lock().unwrap().pending_count().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_task_ends_by_itself_when_the_app_drops_the_engine() {
    use crate::sync::{BackgroundOptions, SyncEngine};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(device(&dir, "a"));
    let engine = SyncEngine::new(store.clone(), SyncConfig::default()).unwrap();
    engine.set_online(false);
    let options = BackgroundOptions { check_every: Duration::from_millis(10), ..BackgroundOptions::default() };
    let handle = engine.start(options).unwrap();
    assert!(!handle.is_finished());
    drop(engine);
    for _ in 0..500 {
        if handle.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(handle.is_finished());
    assert_eq!(Arc::strong_count(&store), 1, "the task released the store");
}
