//! The server is SIGKILLed while pushes are in flight and restarted on the same data: every change it acknowledged
//! is there, nothing is duplicated, and the device's next syncs deliver the rest.

mod common;

use common::*;
use doorstep_core::sync::protocol::{self, MessageType, SyncRequest, SyncResponse};
use std::collections::BTreeSet;

/// A sync that may fail because the server died; `None` then.
async fn try_sync(url: &str, token: &str, req: &SyncRequest) -> Option<SyncResponse> {
    let res = http()
        .post(format!("{url}/api/v1/sync"))
        .bearer_auth(token)
        .body(protocol::encode(MessageType::SyncRequest, req))
        .send()
        .await
        .ok()?;
    if res.status().as_u16() != 200 {
        return None;
    }
    let bytes = res.bytes().await.ok()?;
    protocol::decode(MessageType::SyncResponse, &bytes).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill_and_nothing_is_duplicated() {
    let dir = county();
    let mut server = Server::start(dir.path());
    let mut phone = Phone::login(&server.url, "helper1").await;
    let h = phone.new_household("石门村", &["helper1"]);
    phone.sync_once(&server.url).await.ok();
    let mut recorded: BTreeSet<String> = [h.id.clone()].into();
    let mut acked: BTreeSet<String> = [h.id.clone()].into();
    let mut kills = 0;

    for round in 0..6 {
        for _ in 0..150 {
            recorded.insert(phone.new_visit(&h.id).id);
        }
        let pending = phone.pending();
        let req = SyncRequest { cursor: phone.cursor, max_bytes: 0, changes: pending.clone() };
        let url = server.url.clone();
        let token = phone.token.clone();
        let in_flight = tokio::spawn(async move { try_sync(&url, &token, &req).await });
        if round % 2 == 1 {
            // Kill while the push is on its way or being stored.
            tokio::task::yield_now().await;
            server.kill();
            kills += 1;
        }
        if let Some(resp) = in_flight.await.expect("task") {
            let hashes: Vec<String> = resp.acked.iter().map(hex::encode).collect();
            phone.store.mark_acked(&hashes).unwrap();
            let acked_hashes: BTreeSet<[u8; 32]> = resp.acked.iter().copied().collect();
            for c in &pending {
                let change = automerge::Change::from_bytes(c.bytes.clone()).unwrap();
                if acked_hashes.contains(&change.hash().0) {
                    acked.insert(c.doc_id.clone());
                }
            }
            phone.apply(&resp);
        }
        if round % 2 == 1 {
            server = Server::start(dir.path());
            // Everything acknowledged before the kill is on the restarted server.
            let mut admin = Phone::login(&server.url, "admin").await;
            let held: BTreeSet<String> = admin.sync_all(&server.url).await.into_iter().collect();
            let missing: Vec<&String> = acked.difference(&held).collect();
            assert!(missing.is_empty(), "acknowledged but lost after kill {kills}: {missing:?}");
        }
    }
    assert_eq!(kills, 3);

    // The device pushes what was not acknowledged; the server then holds every record exactly once.
    for _ in 0..10 {
        if phone.store.pending_count().unwrap() == 0 {
            break;
        }
        phone.sync_once(&server.url).await.ok();
    }
    assert_eq!(phone.store.pending_count().unwrap(), 0);
    let mut admin = Phone::login(&server.url, "admin").await;
    let got = admin.sync_all(&server.url).await;
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), unique.len(), "a document was sent twice");
    assert_eq!(unique, recorded);
}
