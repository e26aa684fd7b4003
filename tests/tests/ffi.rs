//! The sync part of the FFI object (`Doorstep::login`, `sync_now`, `set_online`, `set_sync_listener`,
//! `start_background_sync`, `sync_status`) against the real server: what the Android and iOS apps call.

use doorstep_core::error::DoorstepError;
use doorstep_core::ffi::Doorstep;
use doorstep_core::model::samples;
use doorstep_core::sync::{SyncEvent, SyncListener};
use doorstep_e2e::*;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Events(Mutex<Sender<SyncEvent>>);

impl SyncListener for Events {
    fn on_event(&self, event: SyncEvent) {
        let _ = self.0.lock().unwrap().send(event);
    }
}

fn listen(app: &Doorstep) -> Receiver<SyncEvent> {
    let (tx, rx) = channel();
    app.set_sync_listener(Arc::new(Events(Mutex::new(tx)))).unwrap();
    rx
}

/// The next Done or Failed event (bounded wait: the background task is driven by the app's state, not by time).
fn outcome(rx: &Receiver<SyncEvent>) -> SyncEvent {
    for _ in 0..1000 {
        match rx.recv_timeout(Duration::from_secs(60)).expect("a sync event") {
            SyncEvent::Started | SyncEvent::Progress { .. } | SyncEvent::Blobs { .. } => continue,
            other => return other,
        }
    }
    panic!("no outcome")
}

fn open(dir: &std::path::Path, name: &str) -> Arc<Doorstep> {
    Doorstep::open(dir.join(format!("{name}.db")).to_string_lossy().into_owned(), vec![9; 32], name.into()).unwrap()
}

#[test]
fn the_app_signs_in_syncs_with_events_and_syncs_in_the_background() {
    let f = Fixture::new();
    let app = open(f.tmp.path(), "phone");
    assert!(matches!(app.sync_now(), Err(DoorstepError::NotSignedIn)));
    match app.login(f.server.url.clone(), "helper1".into(), "nope".into()) {
        Err(DoorstepError::Refused { code, retryable: false, .. }) => assert_eq!(code, "wrong_password"),
        other => panic!("{other:?}"),
    }
    let info = app.login(f.server.url.clone(), "helper1".into(), "pw-helper1".into()).unwrap();
    assert_eq!((info.user.as_str(), info.role.as_str()), ("helper1", "helper"));

    let mut h = samples::household();
    h.id = String::new();
    h.village = VILLAGE_A.into();
    let hid = app.save_household(h).unwrap();
    let mut v = samples::visit();
    v.household_id = hid.clone();
    app.save_visit(v).unwrap();
    let status = app.sync_status().unwrap();
    assert_eq!((status.pending, status.user.as_deref(), status.last_sync_ms), (2, Some("helper1"), None));

    let rx = listen(&app);
    let r = app.sync_now().unwrap();
    assert_eq!((r.sent, r.round_trips), (2, 1));
    assert_eq!(rx.try_recv().unwrap(), SyncEvent::Started);
    assert!(matches!(outcome(&rx), SyncEvent::Done { sent: 2, .. }));
    let status = app.sync_status().unwrap();
    assert_eq!(status.pending, 0);
    assert!(status.last_sync_ms.is_some() && status.cursor > 0);

    // Background: offline, a visit waits; online, it goes up by itself.
    app.set_online(false).unwrap();
    let handle = app.start_background_sync().unwrap();
    let mut v = samples::visit();
    v.household_id = hid.clone();
    let vid = app.save_visit(v).unwrap();
    assert_eq!(app.sync_status().unwrap().pending, 1);
    let rx = listen(&app);
    app.set_online(true).unwrap();
    assert!(matches!(outcome(&rx), SyncEvent::Done { sent: 1, .. }));
    assert_eq!(app.sync_status().unwrap().pending, 0);
    handle.cancel();
    assert!(handle.is_finished());

    // Another device of the same helper receives both visits.
    let other = open(f.tmp.path(), "tablet");
    other.login(f.server.url.clone(), "helper1".into(), "pw-helper1".into()).unwrap();
    other.sync_now().unwrap();
    assert_eq!(other.visits_of_household(hid).unwrap().iter().filter(|v| v.id == vid).count(), 1);

    // A revoked device gets a typed refusal through the listener and the call alike.
    f.server.admin(&["device", "revoke", &info.device_id]);
    let rx = listen(&app);
    match app.sync_now() {
        Err(DoorstepError::Refused { code, .. }) => assert_eq!(code, "token_revoked"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(outcome(&rx), SyncEvent::Failed { retryable: false, .. }));
}

#[test]
fn an_unreachable_server_is_a_retryable_network_error_through_the_ffi() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(dir.path(), "phone");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    match app.login(url, "helper1".into(), "pw".into()) {
        Err(DoorstepError::Network { retryable: true, .. }) => {}
        other => panic!("{other:?}"),
    }
    match app.login("not a url".into(), "helper1".into(), "pw".into()) {
        Err(DoorstepError::Validation { errors }) => assert_eq!(errors[0].field, "server"),
        other => panic!("{other:?}"),
    }
}
