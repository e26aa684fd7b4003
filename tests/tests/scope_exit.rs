//! Leaving the scope, end to end (the real server binary, devices driven through the `doorstep` CLI): a device
//! whose household is reassigned uploads what it wrote for it, then wipes it; a push refused as out of scope is set
//! aside and exported, never dropped. See `docs/security.md`.

use doorstep_e2e::*;
use serde_json::Value;

#[test]
fn a_reassigned_helpers_device_uploads_its_unsynced_visit_then_wipes_the_household() {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let a = h1.add_household("4306210010501", VILLAGE_A, "张建国", &["helper1"]);
    let b = h1.add_household("4306210010502", VILLAGE_A, "李秀英", &["helper1"]);
    let head = h1.add_member(&a, "张建国", "male", "1962-03-15", "head");
    let synced_visit = h1.add_visit(&a, "上月走访");
    let screening = h1.add_screening(&a, &head, "150", "95");
    let b_visit = h1.add_visit(&b, "B户走访");
    h1.sync();
    // Offline, helper1 visits A again; meanwhile the admin gives A to helper2.
    let unsynced = h1.add_visit(&a, "离线走访：调整后才同步");
    assert_eq!(h1.status()["pending"], 1);
    f.server.admin(&["assign", "reassign", &a, "--from", "helper1", "--to", "helper2"]);

    let r = h1.sync();
    assert_eq!(r.sent, 1, "the unsynced visit goes up first");
    assert_eq!((r.removed, r.set_aside), (4, 0), "A, its two visits and its screening are wiped: {r:?}");
    assert_eq!(h1.household_ids(), vec![b.clone()], "B stays");
    assert_eq!(h1.doc_ids("visit"), vec![b_visit.clone()]);
    assert!(h1.doc_ids("screening").is_empty());
    assert_eq!(h1.fails(&["household", "show", &a], None).kind(), "not_found", "A cannot be opened");
    assert_eq!(h1.status()["pending"], 0);
    assert_eq!(h1.status()["set_aside"], 0);
    let again = h1.sync();
    assert_eq!((again.removed, again.received), (0, 0), "nothing more to wipe");

    // The new helper holds A with every visit, the one recorded before the reassignment included.
    let h2 = f.device("h2", "helper2");
    h2.sync();
    assert_eq!(h2.household_ids(), vec![a.clone()]);
    let mut want = vec![synced_visit, unsynced];
    want.sort();
    assert_eq!(h2.doc_ids("visit"), want);
    assert_eq!(h2.doc_ids("screening"), vec![screening]);
    let helpers = &h2.json(&["household", "show", &a])["household"]["helper_ids"];
    assert_eq!(helpers, &serde_json::json!(["helper2"]), "the record names the new helper");
}

#[test]
fn an_inspector_whose_grant_ended_uploads_the_visit_then_wipes_the_village() {
    let f = Fixture::new();
    f.server.admin(&["user", "add", "insp1", "--role", "inspector", "--password", "pw-insp1"]);
    f.server.admin(&["grant", "inspector", "insp1", VILLAGE_A, "--until", &days_from_today(30)]);
    let h1 = f.device("h1", "helper1");
    let a = h1.add_household("4306210010601", VILLAGE_A, "王德明", &["helper1"]);
    h1.sync();
    let insp = f.device("insp", "insp1");
    insp.sync();
    assert_eq!(insp.household_ids(), vec![a.clone()]);
    // The inspector records a visit offline; meanwhile the grant ends (set to a past day, as if it ran out).
    let visit = insp.add_visit(&a, "互查：饮水安全已核实");
    f.server.admin(&["grant", "inspector", "insp1", VILLAGE_A, "--until", "2020-01-01"]);

    let r = insp.sync();
    assert_eq!((r.sent, r.removed, r.set_aside), (1, 2, 0), "{r:?}");
    assert!(insp.household_ids().is_empty() && insp.doc_ids("visit").is_empty());
    h1.sync();
    assert_eq!(h1.doc_ids("visit"), vec![visit], "the inspection reached the household's helper");
}

#[test]
fn a_push_refused_as_out_of_scope_is_set_aside_and_exported_not_dropped() {
    let f = Fixture::new();
    let h2 = f.device("h2", "helper2");
    let own = h2.add_household("4306210010801", VILLAGE_B, "刘明", &["helper2"]);
    h2.sync();
    // helper2 records a household for helper1 (not theirs to write) and a visit to their own household.
    let foreign = h2.add_household("4306210010802", VILLAGE_A, "冒名户", &["helper1"]);
    let visit = h2.add_visit(&own, "本户走访");

    let refused = h2.fails(&["sync"], None);
    assert_eq!(refused.kind(), "out_of_scope", "{}", refused.stderr);
    let status = h2.status();
    assert_eq!((status["pending"].as_u64(), status["set_aside"].as_u64()), (Some(1), Some(1)), "{status}");
    assert_eq!(h2.household_ids(), vec![own.clone()], "off the device's lists");
    let listed = h2.json(&["set-aside"]);
    assert_eq!(
        (listed[0]["doc_id"].as_str(), listed[0]["reason"].as_str()),
        (Some(foreign.as_str()), Some("out_of_scope"))
    );

    // Exported for hand-over, readable, private to its owner.
    let file = f.tmp.path().join("handover.json");
    h2.ok(&["set-aside", "--export", file.to_str().unwrap()]);
    let exported: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let record: Value = serde_json::from_str(exported[0]["record_json"].as_str().unwrap()).unwrap();
    assert_eq!((record["id"].as_str(), record["head_name"].as_str()), (Some(foreign.as_str()), Some("冒名户")));
    assert_eq!(exported[0]["unsynced"], 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    // The refusal no longer blocks the device's other work, and nothing of it reached the server.
    assert_eq!(h2.sync().sent, 1);
    let admin = f.device("adm", "admin");
    admin.sync();
    assert!(admin.doc_ids("visit").contains(&visit));
    assert!(!admin.household_ids().contains(&foreign));
}

#[test]
fn unsynced_work_larger_than_one_request_is_all_uploaded_before_the_wipe() {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let a = h1.add_household("4306210010701", VILLAGE_A, "赵桂兰", &["helper1"]);
    h1.sync();
    let visits = h1.add_visits_in_process(&a, "helper1", 5);
    f.server.admin(&["assign", "reassign", &a, "--from", "helper1", "--to", "helper2"]);
    // One change per request: the page naming A as removed arrives with the first push, but the phone uploads the
    // other four visits (keeping its cursor) before it wipes.
    let r = h1.sync_with(&["--push-bytes", "1"]);
    assert_eq!((r.sent, r.removed, r.set_aside), (5, 6, 0), "{r:?}");
    assert!(h1.household_ids().is_empty());
    let h2 = f.device("h2", "helper2");
    h2.sync();
    let mut want = visits;
    want.sort();
    assert_eq!(h2.doc_ids("visit"), want, "every visit reached the new helper");
}
