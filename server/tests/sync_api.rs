//! The sync API of the real server binary over loopback HTTP: logins, round trips, scope, refusals.

mod common;

use automerge::ActorId;
use common::*;
use doorstep_core::doc::{Author, Document};
use doorstep_core::model::{samples, DocKind, SCHEDULE_RULES_ID};
use doorstep_core::sync::protocol::{self, ErrorCode, MessageType, SyncRequest, WireChange};

#[tokio::test]
async fn login_ok_wrong_password_disabled_and_slowed() {
    let dir = county();
    let server = Server::start(dir.path());
    let ok = login(&server.url, "helper1").await;
    assert_eq!((ok.user.as_str(), ok.role.as_str()), ("helper1", "helper"));
    assert_eq!(ok.token.len(), 64);
    assert!(!ok.device_id.is_empty());

    let (status, body) = login_raw(&server.url, "helper1", "wrong password").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("wrong_password")));
    let (status, body) = login_raw(&server.url, "nobody", "whatever1").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("wrong_password")), "unknown names look the same");
    let (status, body) = login_raw(&server.url, "", "x").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));

    cli(dir.path(), &["user", "disable", "helper2"]);
    let (status, body) = login_raw(&server.url, "helper2", PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("account_disabled")));

    // Guessing is slowed: after a few failures even the right password waits.
    for _ in 0..5 {
        let (status, _) = login_raw(&server.url, "doctor1", "guess guess").await;
        assert_eq!(status, 401);
    }
    let (status, body) = login_raw(&server.url, "doctor1", PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str(), body["retryable"].as_bool()),
        (429, Some("too_many_attempts"), Some(true))
    );
    // Another account from the same address is not affected yet.
    login(&server.url, "super1").await;
}

#[tokio::test]
async fn login_slowing_is_shared_by_two_server_processes_on_one_database() {
    let dir = county();
    let (one, two) = (Server::start(dir.path()), Server::start(dir.path()));
    // Failures through one process slow the account on the other (the counts live in the database).
    for _ in 0..5 {
        assert_eq!(login_raw(&one.url, "doctor1", "guess guess").await.0, 401);
    }
    let (status, body) = login_raw(&two.url, "doctor1", PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("too_many_attempts")), "{body}");
    // Other accounts are not affected, and a restarted process still remembers.
    assert_eq!(login_raw(&two.url, "helper1", PASSWORD).await.0, 200);
    drop(one);
    let three = Server::start(dir.path());
    assert_eq!(login_raw(&three.url, "doctor1", PASSWORD).await.0, 429);
}

#[tokio::test]
async fn push_then_pull_round_trip_and_a_second_push_is_harmless() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut phone = Phone::login(&server.url, "helper1").await;
    let h = phone.new_household("石门村", &["helper1"]);
    let v = phone.new_visit(&h.id);
    let pushed = phone.pending();
    assert_eq!(pushed.len(), 2);

    let resp = phone.sync_once(&server.url).await.ok();
    assert_eq!(resp.acked.len(), 2);
    assert!(resp.docs.is_empty(), "a device does not get its own changes back: {:?}", resp.docs);
    assert!(resp.cursor >= 2 && !resp.more);
    assert_eq!(phone.store.pending_count().unwrap(), 0);

    // The same changes again: acknowledged, nothing new stored (the cursor does not move).
    let again =
        sync(&server.url, &phone.token, &SyncRequest { cursor: resp.cursor, max_bytes: 0, changes: pushed }).await.ok();
    assert_eq!(again.acked.len(), 2);
    assert_eq!((again.cursor, again.docs.len()), (resp.cursor, 0));

    // The doctor of the village and the supervisor of the township receive both, as snapshots.
    for user in ["doctor1", "super1", "admin"] {
        let mut other = Phone::login(&server.url, user).await;
        let got = other.sync_once(&server.url).await.ok();
        let mut ids: Vec<&str> = got.docs.iter().map(|d| d.doc_id.as_str()).collect();
        ids.sort();
        let mut want = vec![h.id.as_str(), v.id.as_str()];
        want.sort();
        assert_eq!(ids, want, "{user}");
        assert!(got.docs.iter().all(|d| d.snapshot.is_some() && d.changes.is_empty()));
        other.apply(&got);
        let household: doorstep_core::model::Household = other.store.get(&h.id).unwrap();
        assert_eq!(household, h);
    }

    // An edit on the doctor's device travels back to the helper as a change, not a snapshot.
    let mut doctor = Phone::login(&server.url, "doctor1").await;
    doctor.sync_all(&server.url).await;
    let mut edited = h.clone();
    edited.phone = "13911112222".into();
    doctor.store.put(&edited, TODAY).unwrap();
    doctor.sync_once(&server.url).await.ok();
    let resp = phone.sync_once(&server.url).await.ok();
    assert_eq!(resp.docs.len(), 1);
    assert!(resp.docs[0].snapshot.is_none() && resp.docs[0].changes.len() == 1);
    let household: doorstep_core::model::Household = phone.store.get(&h.id).unwrap();
    assert_eq!(household.phone, "13911112222");
}

#[tokio::test]
async fn a_version_1_phone_and_a_version_2_phone_sync_the_same_households() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut old = Phone::login(&server.url, "helper1").await;
    old.version = protocol::V1;
    let mut new = Phone::login(&server.url, "doctor1").await;
    assert_eq!(new.version, protocol::V2);

    // The app not yet updated records a household and a visit; its answer lists their hashes (version 1).
    let h = old.new_household("石门村", &["helper1"]);
    let v = old.new_visit(&h.id);
    let up = old.sync_once(&server.url).await.ok();
    assert_eq!(up.acked.len(), 2);
    assert_eq!(old.store.pending_count().unwrap(), 0);

    // The updated app receives both in version 2, edits the household and pushes the edit as a whole.
    let mut got = new.sync_all(&server.url).await;
    got.sort();
    let mut want = vec![h.id.clone(), v.id.clone()];
    want.sort();
    assert_eq!(got, want);
    let mut edited: doorstep_core::model::Household = new.store.get(&h.id).unwrap();
    edited.phone = "13911112222".into();
    new.store.put(&edited, TODAY).unwrap();
    let body = protocol::encode_request(
        new.version,
        &SyncRequest { cursor: new.cursor, max_bytes: 0, changes: new.pending() },
    );
    assert_eq!(&body[4..6], &[0, 2], "the updated app speaks version 2");
    assert_eq!(new.sync_once(&server.url).await.ok().acked.len(), 1);
    assert_eq!(new.store.pending_count().unwrap(), 0);

    // The old app gets the edit in version 1, and both hold the same household.
    let resp = old.sync_once(&server.url).await.ok();
    assert_eq!(resp.docs.len(), 1);
    let on_old: doorstep_core::model::Household = old.store.get(&h.id).unwrap();
    assert_eq!(on_old.phone, "13911112222");
    assert_eq!(on_old, new.store.get::<doorstep_core::model::Household>(&h.id).unwrap());
}

#[tokio::test]
async fn after_its_last_day_version_1_is_asked_to_update_and_version_2_goes_on() {
    let dir = county();
    let server = Server::start_with(dir.path(), &["--protocol-v1-until", "2020-01-31"]);
    let health: serde_json::Value =
        http().get(format!("{}/api/v1/health", server.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (health["protocol_version"].as_u64(), &health["protocol_versions"]),
        (Some(2), &serde_json::json!([1, 2]))
    );
    let mut old = Phone::login(&server.url, "helper1").await;
    old.version = protocol::V1;
    old.new_household("石门村", &["helper1"]);
    let req = SyncRequest { cursor: 0, max_bytes: 0, changes: old.pending() };
    let (status, body) =
        post_sync_bytes(&server.url, &old.token, protocol::encode_request(protocol::V1, &req)).await.refusal();
    assert_eq!(status, 426);
    assert_eq!(body.code, ErrorCode::UpdateRequired);
    assert!(body.message_en.contains("until 2020-01-31") && body.message_en.contains("update the app"), "{body:?}");
    assert!(body.message_zh.contains("2020-01-31") && body.message_zh.contains("更新应用"), "{body:?}");
    assert_eq!(old.store.pending_count().unwrap(), 1, "the device keeps its data");

    // The same changes in version 2 are taken.
    old.version = protocol::V2;
    assert_eq!(old.sync_once(&server.url).await.ok().acked.len(), 1);

    // A version nobody speaks names the versions served.
    let mut odd = protocol::encode_request(protocol::V2, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    odd[4..6].copy_from_slice(&3u16.to_be_bytes());
    let (status, body) = post_sync_bytes(&server.url, &old.token, odd).await.refusal();
    assert_eq!(status, 426);
    assert!(body.message_en.contains("version 3") && body.message_en.contains("versions 1, 2"), "{body:?}");
}

#[tokio::test]
async fn a_version_2_message_that_is_not_canonical_is_refused_with_what_is_wrong() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut phone = Phone::login(&server.url, "helper1").await;
    phone.new_household("石门村", &["helper1"]);
    let req = SyncRequest { cursor: 0, max_bytes: 0, changes: phone.pending() };
    let mut trailing = protocol::encode_request(protocol::V2, &req);
    trailing.push(0);
    let (status, body) = post_sync_bytes(&server.url, &phone.token, trailing).await.refusal();
    assert_eq!(status, 400);
    assert!(body.message_en.contains("follow the zstd frame"), "{body:?}");
    // A label where a code belongs: version 1 took it, version 2 names the field.
    let label = SyncRequest {
        changes: req.changes.iter().map(|c| WireChange { kind: "Household".into(), ..c.clone() }).collect(),
        ..req.clone()
    };
    let (status, body) =
        post_sync_bytes(&server.url, &phone.token, protocol::encode_request(protocol::V2, &label)).await.refusal();
    assert_eq!(status, 400);
    assert!(body.message_en.contains("changes[0].kind"), "{body:?}");
    assert_eq!(phone.store.pending_count().unwrap(), 1);
    assert_eq!(phone.sync_once(&server.url).await.ok().acked.len(), 1);
}

#[tokio::test]
async fn out_of_scope_push_is_refused_and_nothing_is_stored() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut helper2 = Phone::login(&server.url, "helper2").await;
    // One household of their own and one naming another helper: the whole push is refused.
    helper2.new_household("石门村", &["helper2"]);
    helper2.new_household("石门村", &["helper1"]);
    assert_eq!(helper2.sync_once(&server.url).await.err(), (403, ErrorCode::OutOfScope));
    assert_eq!(helper2.store.pending_count().unwrap(), 2, "the device keeps its data");

    // A doctor may not create a household outside the team's villages.
    let mut doctor = Phone::login(&server.url, "doctor1").await;
    doctor.new_household("白沙村", &[]);
    assert_eq!(doctor.sync_once(&server.url).await.err(), (403, ErrorCode::OutOfScope));

    // A helper may not write the schedule rules.
    let mut rules = doorstep_core::model::RulesDoc { id: SCHEDULE_RULES_ID.into(), ..Default::default() };
    rules.rules.monthly_visits = 3;
    let mut helper1 = Phone::login(&server.url, "helper1").await;
    helper1.store.put(&rules, TODAY).unwrap();
    assert_eq!(helper1.sync_once(&server.url).await.err(), (403, ErrorCode::OutOfScope));

    let mut admin = Phone::login(&server.url, "admin").await;
    assert!(admin.sync_all(&server.url).await.is_empty(), "nothing of the refused pushes was stored");
}

#[tokio::test]
async fn a_visit_of_a_household_the_server_lacks_is_held_back_as_household_unknown_not_out_of_scope() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut helper1 = Phone::login(&server.url, "helper1").await;
    let mut doctor = Phone::login(&server.url, "doctor1").await;
    // The helper's new household has not reached the server; the doctor already visited it.
    let h = helper1.new_household("石门村", &["helper1"]);
    let v = doctor.new_visit(&h.id);
    let req = SyncRequest { cursor: 0, max_bytes: 0, changes: doctor.pending() };
    match sync(&server.url, &doctor.token, &req).await {
        Answer::Err(status, body) => {
            assert_eq!((status, body.code, body.retryable), (409, ErrorCode::HouseholdUnknown, true), "{body:?}");
            assert_eq!(body.doc_id.as_deref(), Some(v.id.as_str()));
            assert!(body.message_en.contains(&h.id) && body.message_zh.contains(&h.id), "{body:?}");
        }
        Answer::Ok(_) => panic!("a visit of an unknown household was accepted"),
    }
    // Once the household is there, the same push is accepted.
    helper1.sync_once(&server.url).await.ok();
    let resp = sync(&server.url, &doctor.token, &req).await.ok();
    assert_eq!(resp.acked.len(), req.changes.len());
}

#[tokio::test]
async fn pull_never_returns_other_helpers_households_and_assignment_brings_them_later() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut h1 = Phone::login(&server.url, "helper1").await;
    let mine = h1.new_household("石门村", &["helper1"]);
    h1.new_visit(&mine.id);
    h1.sync_once(&server.url).await.ok();
    let mut h2 = Phone::login(&server.url, "helper2").await;
    let theirs = h2.new_household("石门村", &["helper2"]);
    let their_visit = h2.new_visit(&theirs.id);
    h2.sync_once(&server.url).await.ok();

    // A second device of helper1 gets helper1's documents and the (absent) rules only.
    let mut h1b = Phone::login(&server.url, "helper1").await;
    let got = h1b.sync_all(&server.url).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(!got.contains(&theirs.id) && !got.contains(&their_visit.id));
    let cursor_before = h1b.cursor;

    // Assigning helper2's household to helper1 makes it arrive at the next sync, although it is older than the
    // cursor: as snapshots, with its visit.
    cli(dir.path(), &["assign", "helper", "helper1", &theirs.id]);
    let resp = h1b.sync_once(&server.url).await.ok();
    assert!(resp.cursor > cursor_before);
    let mut ids: Vec<&str> = resp.docs.iter().map(|d| d.doc_id.as_str()).collect();
    ids.sort();
    let mut want = vec![theirs.id.as_str(), their_visit.id.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert!(resp.docs.iter().all(|d| d.snapshot.is_some()));
    h1b.apply(&resp);
    let nothing = h1b.sync_once(&server.url).await.ok();
    assert!(nothing.docs.is_empty(), "a second sync transfers nothing new");
}

#[tokio::test]
async fn a_reassigned_household_is_uploaded_first_then_removed_from_the_old_helpers_devices() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut h1 = Phone::login(&server.url, "helper1").await;
    let a = h1.new_household("石门村", &["helper1"]);
    let b = h1.new_household("石门村", &["helper1"]);
    let old_visit = h1.new_visit(&a.id);
    h1.sync_all(&server.url).await;
    let mut h1b = Phone::login(&server.url, "helper1").await; // a second phone, already past everything
    h1b.sync_all(&server.url).await;
    // Offline, helper1 records another visit to A; meanwhile the admin gives A to helper2.
    let unsynced = h1.new_visit(&a.id);
    cli(dir.path(), &["assign", "reassign", &a.id, "--from", "helper1", "--to", "helper2"]);

    // The next sync uploads the visit (the device had not yet seen the loss) and lists what to wipe.
    let resp = h1.sync_once(&server.url).await.ok();
    assert_eq!(resp.acked.len(), 1, "the visit written while A was still helper1's is accepted");
    let mut removed = resp.removed.clone();
    removed.sort();
    let mut want = vec![a.id.clone(), old_visit.id.clone(), unsynced.id.clone()];
    want.sort();
    assert_eq!(removed, want, "A with its visits, not B");
    assert!(resp.docs.iter().all(|d| d.doc_id != a.id), "nothing of A is sent any more");
    // The other phone of helper1 is told too; a sync after that lists nothing again.
    let other = h1b.sync_once(&server.url).await.ok();
    let mut removed = other.removed.clone();
    removed.sort();
    assert_eq!(removed, want);
    assert!(h1b.sync_once(&server.url).await.ok().removed.is_empty());
    // helper1 may no longer write A now that the device is past the loss.
    let late = h1b.new_visit(&a.id);
    assert_eq!(h1b.sync_once(&server.url).await.err(), (403, ErrorCode::OutOfScope));
    let _ = late;
    // Claiming an older cursor does not reopen the door: the server remembers the highest cursor each device sent.
    h1b.cursor = 0;
    assert_eq!(h1b.sync_once(&server.url).await.err(), (403, ErrorCode::OutOfScope), "a replayed cursor 0");
    // Nor does a phone signed in after the loss: it never held A, whatever cursor it sends.
    let mut h1c = Phone::login(&server.url, "helper1").await;
    let _ = h1c.new_visit(&a.id);
    assert_eq!(h1c.sync_once(&server.url).await.err(), (403, ErrorCode::OutOfScope), "a phone newer than the loss");

    // helper2 receives A with both visits, naming helper2 as its helper.
    let mut h2 = Phone::login(&server.url, "helper2").await;
    let got = h2.sync_all(&server.url).await;
    for id in [&a.id, &old_visit.id, &unsynced.id] {
        assert!(got.contains(id), "{id} reaches the new helper");
    }
    assert!(!got.contains(&b.id));
    let moved: doorstep_core::model::Household = h2.store.get(&a.id).unwrap();
    assert_eq!(moved.helper_ids, vec!["helper2".to_string()]);
    // Reassigning an unknown helper or a non-helper is a clear error.
    assert!(cli_fails(dir.path(), &["assign", "reassign", &b.id, "--from", "helper1", "--to", "doctor1"])
        .contains("not a helper"));
}

#[tokio::test]
async fn forged_actor_is_refused() {
    let dir = county();
    let server = Server::start(dir.path());
    let actor = ActorId::random();
    let author = Author { user: "helper1".into(), device: "a".into() };
    let mut first = samples::household();
    first.helper_ids = vec!["helper1".into()];
    let (_, c1) = Document::create(&first, &actor, &author, 1).unwrap();
    let a = login(&server.url, "helper1").await;
    let push = |doc_id: String, bytes: Vec<u8>| SyncRequest {
        cursor: 0,
        max_bytes: 0,
        changes: vec![WireChange { doc_id, kind: DocKind::Household.code().into(), bytes }],
    };
    sync(&server.url, &a.token, &push(first.id.clone(), c1.bytes)).await.ok();

    // Another device (even of the same user) claims the same actor.
    let mut second = samples::household();
    second.helper_ids = vec!["helper1".into()];
    let (_, c2) = Document::create(&second, &actor, &author, 2).unwrap();
    let b = login(&server.url, "helper1").await;
    assert_eq!(
        sync(&server.url, &b.token, &push(second.id.clone(), c2.bytes)).await.err(),
        (403, ErrorCode::ForgedActor)
    );

    let mut admin = Phone::login(&server.url, "admin").await;
    assert_eq!(admin.sync_all(&server.url).await, vec![first.id], "the forged change was not stored");
}

#[tokio::test]
async fn revoked_token_and_bad_tokens_are_refused() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut phone = Phone::login(&server.url, "helper1").await;
    phone.sync_once(&server.url).await.ok();
    let listed = cli(dir.path(), &["device", "list"]);
    assert!(listed.contains(&phone.device_id), "{listed}");
    cli(dir.path(), &["device", "revoke", &phone.device_id]);
    phone.new_household("石门村", &["helper1"]);
    assert_eq!(phone.sync_once(&server.url).await.err(), (401, ErrorCode::TokenRevoked));
    let req = SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] };
    assert_eq!(sync(&server.url, "not-a-token", &req).await.err(), (401, ErrorCode::Unauthorized));
    let mut admin = Phone::login(&server.url, "admin").await;
    assert!(admin.sync_all(&server.url).await.is_empty());
    assert!(cli_fails(dir.path(), &["device", "revoke", "no-such-device"]).contains("not found"));
}

#[tokio::test]
async fn unknown_protocol_version_is_426_and_garbage_is_400() {
    let dir = county();
    let server = Server::start(dir.path());
    let a = login(&server.url, "helper1").await;
    let mut body =
        protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    body[4..6].copy_from_slice(&99u16.to_be_bytes());
    assert_eq!(post_sync_bytes(&server.url, &a.token, body).await.err(), (426, ErrorCode::UpdateRequired));
    assert_eq!(post_sync_bytes(&server.url, &a.token, b"hello".to_vec()).await.err(), (400, ErrorCode::BadRequest));
    let mut truncated =
        protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    truncated.truncate(9);
    assert_eq!(post_sync_bytes(&server.url, &a.token, truncated).await.err(), (400, ErrorCode::BadRequest));
    // A well-formed message whose change bytes are not an Automerge change.
    let junk = SyncRequest {
        cursor: 0,
        max_bytes: 0,
        changes: vec![WireChange { doc_id: "x".into(), kind: "visit".into(), bytes: vec![1, 2, 3] }],
    };
    assert_eq!(sync(&server.url, &a.token, &junk).await.err(), (400, ErrorCode::BadRequest));
}

#[tokio::test]
async fn oversized_body_is_413_with_an_error_body() {
    let dir = county();
    let server = Server::start_with(dir.path(), &["--max-body", "65536"]);
    let a = login(&server.url, "helper1").await;
    let big = vec![0u8; 200_000];
    assert_eq!(post_sync_bytes(&server.url, &a.token, big).await.err(), (413, ErrorCode::TooLarge));
    let res = http().get(format!("{}/api/v1/health", server.url)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    // JSON is gzip-compressed for clients that accept it; sync bodies (already zstd) are not.
    let res =
        http().get(format!("{}/api/v1/health", server.url)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
    let empty = protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    let res = http()
        .post(format!("{}/api/v1/sync", server.url))
        .bearer_auth(&a.token)
        .header("accept-encoding", "gzip")
        .body(empty)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.headers().get("content-type").unwrap(), protocol::CONTENT_TYPE);
    let res = http().get(format!("{}/api/v1/nothing-here", server.url)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let body: protocol::ErrorBody = res.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn rules_set_on_the_server_reach_devices() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut phone = Phone::login(&server.url, "helper1").await;
    phone.sync_all(&server.url).await;
    let out = cli(dir.path(), &["rules", "set", "--monthly-visits", "2"]);
    assert!(out.contains("\"monthly_visits\": 2"), "{out}");
    assert!(cli_fails(dir.path(), &["rules", "set", "--monthly-visits", "0"]).contains("monthly_visits"));
    let got = phone.sync_all(&server.url).await;
    assert_eq!(got, vec![SCHEDULE_RULES_ID.to_string()]);
    assert_eq!(doorstep_core::schedule::rules(&phone.store).unwrap().monthly_visits, 2);
    cli(dir.path(), &["rules", "set", "--lookahead-days", "10"]);
    phone.sync_all(&server.url).await;
    let rules = doorstep_core::schedule::rules(&phone.store).unwrap();
    assert_eq!((rules.monthly_visits, rules.lookahead_days), (2, 10));
}

#[tokio::test]
async fn pages_are_bounded_and_resume_from_the_cursor() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut phone = Phone::login(&server.url, "helper1").await;
    let h = phone.new_household("石门村", &["helper1"]);
    for _ in 0..60 {
        phone.new_visit(&h.id);
    }
    phone.sync_once(&server.url).await.ok();
    let mut fresh = Phone::login(&server.url, "super1").await;
    let mut pages = 0;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100 {
        let req = SyncRequest { cursor: fresh.cursor, max_bytes: 16 * 1024, changes: vec![] };
        let resp = sync(&server.url, &fresh.token, &req).await.ok();
        pages += 1;
        for d in &resp.docs {
            assert!(seen.insert(d.doc_id.clone()), "{} sent twice", d.doc_id);
        }
        fresh.apply(&resp);
        if !resp.more {
            break;
        }
    }
    assert_eq!(seen.len(), 61);
    assert!(pages > 1, "61 documents do not fit in 16 KiB");
    assert_eq!(fresh.doc_ids().len(), 61);
}

#[tokio::test]
async fn cli_errors_are_clear() {
    let dir = county();
    let d = dir.path();
    assert!(cli_fails(d, &["user", "add", "x1", "--role", "king", "--password", PASSWORD]).contains("unknown role"));
    assert!(cli_fails(d, &["user", "add", "doc2", "--role", "doctor", "--password", PASSWORD]).contains("--team"));
    assert!(cli_fails(d, &["user", "add", "helper1", "--role", "helper", "--password", PASSWORD]).contains("exists"));
    assert!(cli_fails(d, &["user", "add", "h9", "--role", "helper"]).contains("--password"));
    assert!(cli_fails(d, &["assign", "helper", "doctor1", "some-household"]).contains("not a helper"));
    assert!(cli_fails(d, &["grant", "inspector", "helper1", "石门村", "--until", "tomorrow"]).contains("YYYY-MM-DD"));
    let bad = cli_fails(d, &["serve", "--listen", "127.0.0.1:0", "--protocol-v1-until", "2027-13-45"]);
    assert!(bad.contains("--protocol-v1-until") && bad.contains("YYYY-MM-DD or `never`"), "{bad}");
    let users = cli(d, &["user", "list"]);
    assert!(users.contains("doctor1\tdoctor\tT1\tactive"), "{users}");
}

#[tokio::test]
async fn inspector_grants_end_by_themselves_and_disabled_accounts_stop_syncing() {
    let dir = county();
    let d = dir.path();
    add_user(d, "insp1", "inspector", None);
    add_user(d, "insp2", "inspector", None);
    let server = Server::start(d);
    let mut helper = Phone::login(&server.url, "helper1").await;
    let h = helper.new_household("石门村", &["helper1"]);
    helper.sync_once(&server.url).await.ok();

    let soon = (chrono::Local::now().date_naive() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    cli(d, &["grant", "inspector", "insp1", "石门村", "--until", &soon]);
    // Longer than the server's maximum (90 days unless --max-grant-days says otherwise): refused, naming the limit.
    assert!(
        cli_fails(d, &["grant", "inspector", "insp1", "石门村", "--until", "2099-12-31"]).contains("at most 90 days")
    );
    cli(d, &["grant", "inspector", "insp2", "石门村", "--until", "2020-01-01"]);
    let mut valid = Phone::login(&server.url, "insp1").await;
    assert_eq!(valid.sync_all(&server.url).await, vec![h.id.clone()]);
    let mut expired = Phone::login(&server.url, "insp2").await;
    assert!(expired.sync_all(&server.url).await.is_empty(), "an expired grant shows nothing");

    // A disabled account's device is refused at once, with its data kept.
    cli(d, &["user", "disable", "helper1"]);
    helper.new_visit(&h.id);
    assert_eq!(helper.sync_once(&server.url).await.err(), (403, ErrorCode::AccountDisabled));
    assert_eq!(helper.store.pending_count().unwrap(), 1);
}

#[tokio::test]
async fn a_household_moving_village_reaches_the_new_villages_doctor_with_its_visits() {
    let dir = county();
    let d = dir.path();
    add_user(d, "doctor2", "doctor", Some("T2"));
    cli(d, &["assign", "team", "T2", "白沙村"]);
    let server = Server::start(d);
    let mut helper = Phone::login(&server.url, "helper1").await;
    let h = helper.new_household("石门村", &["helper1"]);
    let v = helper.new_visit(&h.id);
    helper.sync_once(&server.url).await.ok();
    let mut doctor2 = Phone::login(&server.url, "doctor2").await;
    assert!(doctor2.sync_all(&server.url).await.is_empty());
    assert!(doctor2.cursor > 0);

    let mut moved = h.clone();
    moved.village = "白沙村".into();
    helper.store.put(&moved, TODAY).unwrap();
    helper.sync_once(&server.url).await.ok();
    let mut got = doctor2.sync_all(&server.url).await;
    got.sort();
    let mut want = vec![h.id.clone(), v.id.clone()];
    want.sort();
    assert_eq!(got, want, "the household and its visit arrive although older than the cursor");
    let household: doorstep_core::model::Household = doctor2.store.get(&h.id).unwrap();
    assert_eq!(household.village, "白沙村");

    // The old village's doctor no longer receives its changes.
    let mut doctor1 = Phone::login(&server.url, "doctor1").await;
    assert!(doctor1.sync_all(&server.url).await.is_empty());
}

#[tokio::test]
async fn a_household_moving_out_of_a_doctors_village_is_removed_from_the_doctors_phone() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut helper = Phone::login(&server.url, "helper1").await;
    let h = helper.new_household("石门村", &["helper1"]);
    let v = helper.new_visit(&h.id);
    helper.sync_once(&server.url).await.ok();
    let mut doctor1 = Phone::login(&server.url, "doctor1").await;
    let got = doctor1.sync_all(&server.url).await;
    assert!(got.contains(&h.id) && got.contains(&v.id));
    // The doctor records a screening offline; meanwhile the helper corrects the household's village.
    let mut s = samples::screening();
    s.household_id = h.id.clone();
    doctor1.store.put(&s, TODAY).unwrap();
    let mut moved = h.clone();
    moved.village = "白沙村".into();
    helper.store.put(&moved, TODAY).unwrap();
    helper.sync_once(&server.url).await.ok();

    let resp = doctor1.sync_once(&server.url).await.ok();
    assert_eq!(resp.acked.len(), 1, "the screening written before the move goes up");
    let mut removed = resp.removed.clone();
    removed.sort();
    let mut want = vec![h.id.clone(), v.id.clone(), s.id.clone()];
    want.sort();
    assert_eq!(removed, want, "the household with its visit and the new screening");
    // The supervisor of the whole township still sees it: nothing to wipe there.
    let mut sup = Phone::login(&server.url, "super1").await;
    sup.sync_all(&server.url).await;
    let mut moved_again = moved.clone();
    moved_again.village = "青山村".into();
    helper.store.put(&moved_again, TODAY).unwrap();
    helper.sync_once(&server.url).await.ok();
    assert!(sup.sync_once(&server.url).await.ok().removed.is_empty());
}

#[tokio::test]
async fn a_township_taken_from_a_supervisors_area_is_uploaded_then_removed_from_the_supervisors_phone() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut helper = Phone::login(&server.url, "helper1").await;
    let h = helper.new_household("石门村", &["helper1"]);
    let v = helper.new_visit(&h.id);
    helper.sync_once(&server.url).await.ok();
    let mut sup = Phone::login(&server.url, "super1").await;
    let got = sup.sync_all(&server.url).await;
    assert!(got.contains(&h.id) && got.contains(&v.id));
    // Offline, the supervisor notes a problem on the visit; meanwhile the township leaves the supervisor's area.
    let mut noted = v.clone();
    noted.note = "督查：已核实".into();
    sup.store.put(&noted, TODAY).unwrap();
    cli(dir.path(), &["assign", "remove-area", "super1", "--township", "石门镇"]);

    let resp = sup.sync_once(&server.url).await.ok();
    assert_eq!(resp.acked.len(), 1, "the note written while the township was the supervisor's goes up");
    let mut removed = resp.removed.clone();
    removed.sort();
    let mut want = vec![h.id.clone(), v.id.clone()];
    want.sort();
    assert_eq!(removed, want);
    // The supervisor may no longer write there, and the helper still holds the household with the note.
    let late = sup.new_visit(&h.id);
    assert_eq!(sup.sync_once(&server.url).await.err(), (403, ErrorCode::OutOfScope));
    let _ = late;
    helper.sync_all(&server.url).await;
    let seen: doorstep_core::model::Visit = helper.store.get(&v.id).unwrap();
    assert_eq!(seen.note, "督查：已核实");
    // Only a supervisor's area can be taken, and only one it has.
    assert!(cli_fails(dir.path(), &["assign", "remove-area", "helper1", "--village", "石门村"]).contains("supervisor"));
    assert!(cli_fails(dir.path(), &["assign", "remove-area", "super1"]).contains("--township T or --village V"));
}

#[tokio::test]
async fn a_change_pushed_under_another_documents_id_is_refused() {
    let dir = county();
    let server = Server::start(dir.path());
    let mut phone = Phone::login(&server.url, "helper1").await;
    phone.new_household("石门村", &["helper1"]);
    let mut changes = phone.pending();
    changes[0].doc_id = "0193a1b2-0000-7000-8000-00000000dead".into();
    let req = SyncRequest { cursor: 0, max_bytes: 0, changes };
    assert_eq!(sync(&server.url, &phone.token, &req).await.err(), (400, ErrorCode::BadRequest));
}

#[tokio::test]
async fn after_a_revocation_the_same_account_may_push_the_stores_remaining_work() {
    let dir = county();
    let server = Server::start(dir.path());
    let actor = ActorId::random();
    let author = Author { user: "helper1".into(), device: "a".into() };
    let change_of = |n: i64| {
        let mut h = samples::household();
        h.helper_ids = vec!["helper1".into(), "helper2".into()];
        let (_, c) = Document::create(&h, &actor, &author, n).unwrap();
        SyncRequest {
            cursor: 0,
            max_bytes: 0,
            changes: vec![WireChange { doc_id: h.id, kind: DocKind::Household.code().into(), bytes: c.bytes }],
        }
    };
    let a = login(&server.url, "helper1").await;
    sync(&server.url, &a.token, &change_of(1)).await.ok();
    cli(dir.path(), &["device", "revoke", &a.device_id]);
    // Another account may never take the actor over, revoked or not.
    let other = login(&server.url, "helper2").await;
    assert_eq!(sync(&server.url, &other.token, &change_of(2)).await.err(), (403, ErrorCode::ForgedActor));
    // The same account, signed in again from the same store, may: its unsynced work goes up.
    let again = login(&server.url, "helper1").await;
    assert_eq!(sync(&server.url, &again.token, &change_of(3)).await.ok().acked.len(), 1);
    // And from then on the actor is the new device's.
    let third = login(&server.url, "helper1").await;
    assert_eq!(sync(&server.url, &third.token, &change_of(4)).await.err(), (403, ErrorCode::ForgedActor));
}

#[tokio::test]
async fn a_locked_database_is_a_retryable_503_and_the_device_keeps_its_data() {
    if store_choice::sqlite_only("a locked database", "it takes SQLite's file lock (PostgreSQL has row locks)") {
        return;
    }
    let dir = county();
    let server = Server::start(dir.path());
    let mut phone = Phone::login(&server.url, "helper1").await;
    phone.new_household("石门村", &["helper1"]);
    // Another process holds the write lock (as a backup tool or a stuck admin command might).
    let lock = rusqlite::Connection::open(dir.path().join("doorstep.db")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let answer =
        sync(&server.url, &phone.token, &SyncRequest { cursor: 0, max_bytes: 0, changes: phone.pending() }).await;
    match answer {
        Answer::Err(status, body) => {
            assert_eq!((status, body.code, body.retryable), (503, ErrorCode::Unavailable, true));
        }
        Answer::Ok(_) => panic!("a locked database cannot acknowledge"),
    }
    assert_eq!(phone.store.pending_count().unwrap(), 1);
    lock.execute_batch("ROLLBACK").unwrap();
    assert_eq!(phone.sync_once(&server.url).await.ok().acked.len(), 1);
}
