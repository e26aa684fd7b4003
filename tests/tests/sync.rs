//! The acceptance tests of sync: the real server binary on a loopback port, device homes driven through the
//! `doorstep` CLI (and the core in-process for bulk recording). See `docs/cli.md` for the commands.

use doorstep_core::sync::protocol::{self, ErrorCode, MessageType, SyncRequest, SyncResponse};
use doorstep_core::sync::SyncError;
use doorstep_e2e::proxy::{Proxy, Trigger};
use doorstep_e2e::*;
use serde_json::Value;

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn conflict_fields(d: &Device) -> Vec<(String, String, usize)> {
    let list = d.json(&["conflicts"]);
    let mut out: Vec<(String, String, usize)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["doc_id"].as_str().unwrap().to_string(),
                c["field"].as_str().unwrap().to_string(),
                c["values"].as_array().unwrap().len(),
            )
        })
        .collect();
    out.sort();
    out
}

fn household(d: &Device, id: &str) -> Value {
    d.json(&["household", "show", id])["household"].clone()
}

/// Two helpers and a doctor record offline, then sync in the order given (indices into [h1, h2, d1]), each twice
/// round, then once more: every device holds exactly its scope, the server everything, the last sync moves nothing.
fn three_devices_converge(order: [usize; 3]) {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let h2 = f.device("h2", "helper2");
    let d1 = f.device("d1", "doctor1");

    // Offline: each records households, members, visits and screenings.
    let ha = h1.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    let ha_head = h1.add_member(&ha, "张建国", "male", "1962-03-15", "head");
    h1.add_member(&ha, "李秀英", "female", "1965-08-02", "spouse");
    let va = h1.add_visit(&ha, "家中情况稳定");
    let sa = h1.add_screening(&ha, &ha_head, "152", "96");

    let hb = h2.add_household("4306210020001", VILLAGE_B, "王德明", &["helper2"]);
    h2.add_member(&hb, "王德明", "male", "1958-01-20", "head");
    let vb = h2.add_visit(&hb, "需要修缮房屋");

    let hc = d1.add_household("4306210010002", VILLAGE_A, "赵桂兰", &[]);
    let hc_head = d1.add_member(&hc, "赵桂兰", "female", "1950-07-07", "head");
    let sc = d1.add_screening(&hc, &hc_head, "128", "82");

    // Twice round, so that every device also sees what the others pushed after its first sync.
    let devices = [&h1, &h2, &d1];
    for round in 0..2 {
        for i in order {
            let r = devices[i].sync();
            assert!(!r.incomplete, "round {round}: {r:?}");
        }
    }
    // A further sync transfers nothing new.
    for d in [&h1, &h2, &d1] {
        let r = d.sync();
        assert_eq!((r.sent, r.received), (0, 0), "{}: {r:?}", d.name);
        assert_eq!(d.status()["pending"], 0, "{}", d.name);
    }

    assert_eq!(h1.doc_ids("household"), vec![ha.clone()]);
    assert_eq!(h1.doc_ids("visit"), vec![va.clone()]);
    assert_eq!(h1.doc_ids("screening"), vec![sa.clone()]);
    assert_eq!(h2.doc_ids("household"), vec![hb.clone()]);
    assert_eq!(h2.doc_ids("visit"), vec![vb.clone()]);
    assert!(h2.doc_ids("screening").is_empty());
    assert_eq!(d1.doc_ids("household"), sorted(vec![ha.clone(), hc.clone()]));
    assert_eq!(d1.doc_ids("visit"), vec![va.clone()]);
    assert_eq!(d1.doc_ids("screening"), sorted(vec![sa.clone(), sc.clone()]));

    // The server holds everything: an admin's fresh device receives all of it.
    let admin = f.device("adm", "admin");
    let r = admin.sync();
    assert!(r.received >= 6, "{r:?}");
    assert_eq!(admin.doc_ids("household"), sorted(vec![ha.clone(), hb.clone(), hc.clone()]));
    assert_eq!(admin.doc_ids("visit"), sorted(vec![va, vb]));
    assert_eq!(admin.doc_ids("screening"), sorted(vec![sa, sc]));
    assert_eq!(household(&admin, &ha)["members"].as_object().unwrap().len(), 2);
    assert_eq!(household(&d1, &ha)["head_name"], "张建国");
}

#[test]
fn three_devices_record_offline_then_each_holds_exactly_its_scope() {
    three_devices_converge([0, 1, 2]);
}

#[test]
fn three_devices_converge_whatever_the_order_of_their_syncs() {
    three_devices_converge([2, 1, 0]);
}

#[test]
fn concurrent_edits_merge_and_a_conflict_resolved_on_one_device_clears_everywhere() {
    let f = Fixture::new();
    let a = f.device("a", "helper1");
    let b = f.device("b", "doctor1");
    let admin = f.device("adm", "admin");
    let h = a.add_household("4306210010009", VILLAGE_A, "陈大山", &["helper1"]);
    a.sync();
    b.sync();
    assert_eq!(b.doc_ids("household"), vec![h.clone()]);

    // Offline on both: different fields, and the same field with different values.
    a.ok(&["household", "edit", &h, "--phone", "13900000001", "--hamlet", "上屯"]);
    b.ok(&["household", "edit", &h, "--address", "石门村下屯8号", "--hamlet", "下屯"]);
    for d in [&a, &b, &a, &admin] {
        d.sync();
    }
    for d in [&a, &b, &admin] {
        let rec = household(d, &h);
        assert_eq!(rec["phone"], "13900000001", "{}", d.name);
        assert_eq!(rec["address"], "石门村下屯8号", "{}", d.name);
        assert_eq!(conflict_fields(d), vec![(h.clone(), "hamlet".to_string(), 2)], "{}", d.name);
        let values: Vec<String> = d.json(&["conflicts"])[0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["value_json"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(sorted(values), vec!["\"上屯\"".to_string(), "\"下屯\"".to_string()], "{}", d.name);
    }

    b.ok(&["resolve", &h, "hamlet", "\"中屯\""]);
    for d in [&b, &a, &admin] {
        d.sync();
    }
    for d in [&a, &b, &admin] {
        assert!(conflict_fields(d).is_empty(), "{}", d.name);
        assert_eq!(household(d, &h)["hamlet"], "中屯", "{}", d.name);
    }
}

#[test]
fn a_thousand_offline_visits_go_up_in_three_round_trips_and_bootstrap_a_fresh_device_from_snapshots() {
    let f = Fixture::new();
    // Through the proxy, so the round trips are counted on the wire as well as by the client.
    let proxy = Proxy::start(f.server.addr);
    let a = f.device_at("a", "helper1", &proxy.url());
    let h = a.add_household("4306210010100", VILLAGE_A, "刘永福", &["helper1"]);
    let visits = a.add_visits_in_process(&h, "helper1", 1000);
    assert_eq!(a.status()["pending"], 1001);
    let before = proxy.sync_requests();
    let up = a.sync();
    let on_the_wire = proxy.sync_requests() - before;
    assert!(on_the_wire <= 3, "{on_the_wire} round trips");
    assert_eq!(on_the_wire, up.round_trips as u64, "{up:?}");
    assert_eq!(up.sent, 1001, "{up:?}");
    assert_eq!(a.status()["pending"], 0);

    // A fresh device of the same scope is answered with compacted snapshots, not change history.
    let fresh = f.device("fresh", "helper1");
    let token = fresh.meta("sync.token").expect("token");
    let request = SyncRequest { cursor: 0, max_bytes: 32 * 1024 * 1024, changes: vec![] };
    let (status, body) = raw_sync(&f.server.url, &token, protocol::encode(MessageType::SyncRequest, &request));
    assert_eq!(status, 200);
    let page: SyncResponse = protocol::decode(MessageType::SyncResponse, &body).unwrap();
    let of_scope: Vec<_> = page.docs.iter().filter(|d| d.kind != "rules").collect();
    assert_eq!(of_scope.len(), 1001);
    assert!(of_scope.iter().all(|d| d.snapshot.is_some() && d.changes.is_empty()));

    let down = fresh.sync();
    assert!(down.received >= 1001, "{down:?}");
    assert_eq!(fresh.doc_ids("visit"), sorted(visits));
    assert_eq!(fresh.doc_ids("household"), vec![h.clone()]);
    assert_eq!(fresh.json(&["visit", "list", "--household", &h]).as_array().unwrap().len(), 1000);
    let again = fresh.sync();
    assert_eq!((again.sent, again.received), (0, 0));
}

#[test]
fn the_server_killed_mid_push_and_mid_pull_loses_and_duplicates_nothing() {
    let mut f = Fixture::new();
    let proxy = Proxy::start(f.server.addr);
    let a = f.device_at("a", "helper1", &proxy.url());
    let h = a.add_household("4306210010200", VILLAGE_A, "周秀兰", &["helper1"]);
    let mut visits = a.add_visits_in_process(&h, "helper1", 300);

    // Killed while the push's body is still arriving.
    proxy.arm(Trigger::RequestBytes(2048), f.server.pid());
    let fail = a.fails(&["sync"], None);
    assert!(proxy.fired());
    assert_eq!(fail.kind(), "network", "{fail:?}");
    assert_eq!(a.status()["pending"], 301);
    f.server.wait_killed();
    f.server = Server::start(&f.server.data.clone());
    proxy.set_upstream(f.server.addr);
    assert_eq!(a.sync().sent, 301);

    // Killed after the server took the push, as its answer starts: the device never saw the acknowledgement and
    // pushes the same changes again.
    visits.extend(a.add_visits_in_process(&h, "helper1", 100));
    proxy.arm(Trigger::ResponseBytes(1), f.server.pid());
    let fail = a.fails(&["sync"], None);
    assert!(proxy.fired());
    assert_eq!(fail.kind(), "network", "{fail:?}");
    assert_eq!(a.status()["pending"], 100);
    f.server.wait_killed();
    f.server = Server::start(&f.server.data.clone());
    proxy.set_upstream(f.server.addr);
    assert_eq!(a.sync().sent, 100);
    assert_eq!(a.status()["pending"], 0);

    // Killed in the middle of a pull made of small pages.
    let b = f.device_at("b", "helper1", &proxy.url());
    proxy.arm(Trigger::ResponseBytes(6_000), f.server.pid());
    let fail = b.fails(&["sync", "--page-bytes", "16384"], None);
    assert!(proxy.fired());
    assert_eq!(fail.kind(), "network", "{fail:?}");
    let partial = b.doc_ids("visit").len();
    assert!(partial < 400, "{partial}");
    f.server.wait_killed();
    f.server = Server::start(&f.server.data.clone());
    proxy.set_upstream(f.server.addr);
    b.sync_with(&["--page-bytes", "16384"]);

    // Nothing lost, nothing twice: every visit once, on both devices and on the server.
    let admin = f.device("adm", "admin");
    admin.sync();
    let expected = sorted(visits);
    assert_eq!(expected.len(), 400);
    for d in [&a, &b, &admin] {
        assert_eq!(d.doc_ids("visit"), expected, "{}", d.name);
        assert_eq!(d.json(&["visit", "list", "--household", &h]).as_array().unwrap().len(), 400, "{}", d.name);
        let r = d.sync();
        assert_eq!((r.sent, r.received), (0, 0), "{}", d.name);
    }
}

#[test]
fn refusals_are_typed_errors_and_store_nothing() {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let h2 = f.device("h2", "helper2");
    let admin = f.device("adm", "admin");
    let ha = h1.add_household("4306210010300", VILLAGE_A, "黄明", &["helper1"]);
    h1.sync();

    // Wrong password: refused, and the device keeps no session.
    let fresh = Device::init(f.tmp.path(), "fresh");
    let fail = fresh.fails(&["login", "--server", &f.server.url, "--user", "helper1"], Some("not-the-password\n"));
    assert_eq!((fail.kind(), fail.code), ("wrong_password", 6), "{fail:?}");
    assert_eq!(fresh.status()["server"], Value::Null);
    assert_eq!(fresh.meta("sync.token"), None);

    // Out-of-scope pull: helper2 never receives helper1's household.
    h2.sync();
    assert!(h2.doc_ids("household").is_empty());

    // Out-of-scope push: helper2 records a household assigned to helper1.
    let foreign = h2.add_household("4306210010301", VILLAGE_A, "冒名户", &["helper1"]);
    let fail = h2.fails(&["sync"], None);
    assert_eq!((fail.kind(), fail.code), ("out_of_scope", 6), "{fail:?}");
    // Kept on the device, set aside for hand-over, so it no longer blocks the device's other work.
    assert_eq!((h2.status()["pending"].as_u64(), h2.status()["set_aside"].as_u64()), (Some(0), Some(1)));

    // Forged actor: a copy of helper1's home, given helper2's device session, writes with helper1's actor id.
    // (Signing in on the copy would be signing in again, which rightly retires the original; here the copy keeps
    // another device's credentials and claims helper1's identity.)
    let copy = f.tmp.path().join("h1-copy");
    let status = std::process::Command::new("cp").arg("-r").arg(&h1.home).arg(&copy).status().unwrap();
    assert!(status.success());
    let forged = Device { home: copy, name: "h1-copy".into() };
    {
        let store = forged.store();
        for key in ["sync.token", "sync.user", "sync.device_id"] {
            store.set_meta(key, &h2.meta(key).unwrap()).unwrap();
        }
    }
    let forged_visit = forged.add_visit(&ha, "用别人的actor写的");
    let fail = forged.fails(&["sync"], None);
    assert_eq!((fail.kind(), fail.code), ("forged_actor", 6), "{fail:?}");

    // Revoked token: the device's next sync is refused and its new visit stays pending on it.
    let device_id = h1.status()["device_id"].as_str().expect("device id").to_string();
    f.server.admin(&["device", "revoke", &device_id]);
    let revoked_visit = h1.add_visit(&ha, "吊销后记录");
    let fail = h1.fails(&["sync"], None);
    assert_eq!((fail.kind(), fail.code), ("token_revoked", 6), "{fail:?}");
    assert_eq!(h1.status()["pending"], 1);

    // Another protocol version: 426 update_required, decided before decoding, nothing stored.
    let token = h2.meta("sync.token").unwrap();
    let pending = h2.open().sync_status().unwrap();
    assert_eq!((pending.pending, pending.set_aside), (0, 1));
    let mut body =
        protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    body[4..6].copy_from_slice(&99u16.to_be_bytes());
    let (status, answer) = raw_sync(&f.server.url, &token, body);
    assert_eq!(status, 426);
    assert!(matches!(SyncError::from_response(status, &answer), SyncError::UpdateRequired { .. }));

    // Nothing of any refused request reached the server.
    admin.sync();
    assert_eq!(admin.doc_ids("household"), vec![ha.clone()]);
    assert!(admin.doc_ids("visit").iter().all(|v| v != &forged_visit && v != &revoked_visit));
    assert!(!admin.doc_ids("household").contains(&foreign));
}

#[test]
fn an_oversized_body_is_refused_with_413_and_nothing_stored() {
    let f = Fixture::with_server_args(&["--max-body", "4096"]);
    let a = f.device("a", "helper1");
    let admin = f.device("adm", "admin");
    let h = a.add_household("4306210010400", VILLAGE_A, "孙福", &["helper1"]);
    let visits = a.add_visits_in_process(&h, "helper1", 400);

    // A backlog larger than the server's limit goes up in smaller requests.
    let r = a.sync();
    assert_eq!(r.sent, 401, "{r:?}");
    assert!(r.round_trips > 1, "{r:?}");

    // One change larger than the limit by itself: 413 too_large, typed, kept on the device, nothing stored.
    let note: String = (0..3900u32).map(|i| char::from_u32(0x4e00 + (i * 7919) % 20000).unwrap()).collect();
    let big = a.ok(&["visit", "add", "--household", &h, "--note", &note]);
    let fail = a.fails(&["sync"], None);
    assert_eq!((fail.kind(), fail.code), ("too_large", 6), "{fail:?}");
    assert_eq!(a.status()["pending"], 1);

    // The same limit through the raw API: a body over it.
    let token = a.meta("sync.token").unwrap();
    let mut body =
        protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    body.truncate(7);
    body.extend((0..20_000u32).flat_map(|i| i.to_le_bytes()));
    let (status, answer) = raw_sync(&f.server.url, &token, body);
    assert_eq!(status, 413);
    assert_eq!(SyncError::from_response(status, &answer).code(), Some(ErrorCode::TooLarge));

    admin.sync();
    assert_eq!(admin.doc_ids("visit"), sorted(visits));
    assert!(!admin.doc_ids("visit").contains(&big));
}

#[test]
fn a_new_assignment_brings_the_household_and_its_visits_at_the_next_sync() {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let h2 = f.device("h2", "helper2");
    let h = h1.add_household("4306210010500", VILLAGE_B, "吴春花", &["helper1"]);
    let v = h1.add_visit(&h, "每月走访");
    h1.sync();
    h2.sync();
    assert!(h2.doc_ids("household").is_empty());

    f.server.admin(&["assign", "helper", "helper2", &h]);
    let r = h2.sync();
    assert!(r.received >= 2, "{r:?}");
    assert_eq!(h2.doc_ids("household"), vec![h.clone()]);
    assert_eq!(h2.doc_ids("visit"), vec![v]);
    assert_eq!(household(&h2, &h)["head_name"], "吴春花");
}
