//! Signing in again on a device, end to end (the real server binary, devices driven through the `doorstep` CLI):
//! the same account after a password change or a restored store, the same account after its sign-in was revoked,
//! and another account after the phone is handed over. Pending work syncs, or the sign-in says exactly why not and
//! what to do. See `docs/security.md`, "Signing in again".

use doorstep_core::sync::protocol::{self, MessageType, SyncRequest};
use doorstep_e2e::*;

fn empty_sync(url: &str, token: &str) -> u16 {
    let body = protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    raw_sync(url, token, body).0
}

#[test]
fn signing_in_again_as_the_same_account_keeps_the_device_syncing_its_pending_work() {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let ha = h1.add_household("4306210012001", VILLAGE_A, "张建国", &["helper1"]);
    h1.sync();
    let offline = h1.add_visit(&ha, "重新登录前的走访");
    let old_token = h1.meta("sync.token").unwrap();
    let old_device = h1.status()["device_id"].as_str().unwrap().to_string();

    h1.login(&f.server.url, "helper1", "pw-helper1");
    assert_ne!(h1.status()["device_id"].as_str().unwrap(), old_device, "a new device on the server");
    let r = h1.sync();
    assert_eq!(r.sent, 1, "the visit written before signing in again goes up: {r:?}");
    let later = h1.add_visit(&ha, "重新登录后的走访");
    assert_eq!(h1.sync().sent, 1, "and so does new work");
    assert_eq!(h1.status()["pending"], 0);
    // The previous sign-in is retired: its token no longer syncs.
    assert_eq!(empty_sync(&f.server.url, &old_token), 401);

    let other = f.device("h1b", "helper1");
    other.sync();
    let visits = other.doc_ids("visit");
    assert!(visits.contains(&offline) && visits.contains(&later), "{visits:?}");
}

#[test]
fn after_a_revoked_sign_in_the_same_account_signs_in_again_and_its_pending_work_goes_up() {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let ha = h1.add_household("4306210012101", VILLAGE_A, "李秀英", &["helper1"]);
    h1.sync();
    let device_id = h1.status()["device_id"].as_str().unwrap().to_string();
    f.server.admin(&["device", "revoke", &device_id]);
    let visit = h1.add_visit(&ha, "吊销后记录");
    assert_eq!(h1.fails(&["sync"], None).kind(), "token_revoked");
    assert_eq!(h1.status()["pending"], 1, "kept on the device");

    h1.login(&f.server.url, "helper1", "pw-helper1");
    assert_eq!(h1.sync().sent, 1);
    assert_eq!(h1.status()["pending"], 0);
    let admin = f.device("adm", "admin");
    admin.sync();
    assert!(admin.doc_ids("visit").contains(&visit));
}

#[test]
fn another_account_signs_in_after_the_previous_one_synced_and_sees_only_its_own_households() {
    let f = Fixture::new();
    let phone = f.device("phone", "helper1");
    let ha = phone.add_household("4306210012201", VILLAGE_A, "王德明", &["helper1"]);
    phone.sync();
    // Written offline; the phone is then handed to helper2, and the old session still works.
    let visit = phone.add_visit(&ha, "交接前的走访");

    phone.login(&f.server.url, "helper2", "pw-helper2");
    let status = phone.status();
    assert_eq!((status["user"].as_str(), status["pending"].as_u64()), (Some("helper2"), Some(0)), "{status}");
    assert!(phone.household_ids().is_empty(), "helper1's households are gone from the phone");
    let admin = f.device("adm", "admin");
    admin.sync();
    assert!(admin.doc_ids("visit").contains(&visit), "helper1's visit went up with helper1's session first");

    // helper2's own work syncs (a new actor: no forged_actor).
    let hb = phone.add_household("4306210022201", VILLAGE_B, "赵桂兰", &["helper2"]);
    assert_eq!(phone.sync().sent, 1);
    assert_eq!(phone.household_ids(), vec![hb]);
}

#[test]
fn another_account_is_refused_while_unsendable_work_remains_and_signs_in_after_a_hand_over() {
    let f = Fixture::new();
    let phone = f.device("phone", "helper1");
    let ha = phone.add_household("4306210012301", VILLAGE_A, "陈玉兰", &["helper1"]);
    phone.sync();
    let visit = phone.add_visit(&ha, "无法上传的走访");
    // helper1's sign-in was revoked: the visit cannot go up with it.
    let device_id = phone.status()["device_id"].as_str().unwrap().to_string();
    f.server.admin(&["device", "revoke", &device_id]);

    let args = ["login", "--server", f.server.url.as_str(), "--user", "helper2"];
    let refused = phone.fails(&args, Some("pw-helper2\n"));
    assert_eq!((refused.kind(), refused.code), ("unsynced_work", 6), "{refused:?}");
    assert!(refused.stderr.contains("helper1") && refused.stderr.contains('1'), "{}", refused.stderr);
    let status = phone.status();
    assert_eq!((status["user"].as_str(), status["pending"].as_u64()), (Some("helper1"), Some(1)), "nothing changed");
    assert_eq!(phone.household_ids(), vec![ha.clone()]);

    let mut with_hand_over = args.to_vec();
    with_hand_over.push("--hand-over");
    phone.ok_with_stdin(&with_hand_over, Some("pw-helper2\n"));
    let status = phone.status();
    assert_eq!(
        (status["user"].as_str(), status["pending"].as_u64(), status["set_aside"].as_u64()),
        (Some("helper2"), Some(0), Some(1)),
        "{status}"
    );
    let kept = phone.json(&["set-aside"]);
    assert_eq!((kept[0]["doc_id"].as_str(), kept[0]["reason"].as_str()), (Some(visit.as_str()), Some("handed_over")));
    assert!(phone.household_ids().is_empty());
    let hb = phone.add_household("4306210022301", VILLAGE_B, "周志强", &["helper2"]);
    assert_eq!(phone.sync().sent, 1);
    assert_eq!(phone.household_ids(), vec![hb]);
}
