//! A record whose household has not reached the server yet, end to end (the real server binary, devices driven
//! through the `doorstep` CLI). A doctor can visit a household a helper created on a phone that has not synced: the
//! server answers `household_unknown` (not `out_of_scope`), the doctor's phone keeps the visit queued and syncs the
//! rest, and the visit goes up once the household is on the server. A record set aside before its household
//! arrived is put back into the queue when the household comes. See `docs/protocol.md`, "Holding back".

use doorstep_e2e::*;

#[test]
fn a_visit_for_a_household_not_yet_on_the_server_waits_in_the_queue_and_goes_up_when_it_arrives() {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let d1 = f.device("d1", "doctor1");
    // The helper records a new household offline; the doctor visits it before the helper's phone syncs.
    let ha = h1.add_household("4306210011001", VILLAGE_A, "张建国", &["helper1"]);
    let visits = d1.add_visits_in_process(&ha, "doctor1", 3);
    // The doctor's own work in the same push must not wait for it.
    let own = d1.add_household("4306210011002", VILLAGE_A, "李秀英", &[]);
    let own_visit = d1.add_visit(&own, "本户随访");

    let r = d1.sync();
    assert_eq!((r.sent, r.held_back, r.set_aside), (2, 3, 0), "the rest went up, the three visits wait: {r:?}");
    let status = d1.status();
    assert_eq!((status["pending"].as_u64(), status["set_aside"].as_u64()), (Some(3), Some(0)), "{status}");
    // Syncing again before the household arrives changes nothing and fails nothing.
    let r = d1.sync();
    assert_eq!((r.sent, r.held_back, r.set_aside), (0, 3, 0), "{r:?}");

    h1.sync();
    let r = d1.sync();
    assert_eq!((r.sent, r.held_back, r.set_aside), (3, 0, 0), "the household arrived, the visits follow: {r:?}");
    assert_eq!(d1.status()["pending"], 0);
    assert!(d1.household_ids().contains(&ha), "and the doctor now holds the household");

    h1.sync();
    let mut want = visits;
    want.sort();
    assert_eq!(h1.doc_ids("visit"), want, "the helper sees the doctor's visits of their household");
    let admin = f.device("adm", "admin");
    admin.sync();
    assert!(admin.doc_ids("visit").contains(&own_visit));
}

#[test]
fn a_record_set_aside_before_its_household_arrived_is_put_back_and_sent_when_the_household_comes() {
    let f = Fixture::new();
    let h1 = f.device("h1", "helper1");
    let d1 = f.device("d1", "doctor1");
    let ha = h1.add_household("4306210011101", VILLAGE_A, "王德明", &["helper1"]);
    let visit = d1.add_visits_in_process(&ha, "doctor1", 1).remove(0);
    // A phone of an earlier version set such a visit aside as out of scope.
    assert!(d1.store().set_aside(&visit, "out_of_scope").unwrap());
    assert_eq!(d1.status()["set_aside"], 1);

    // The household is still unknown here: nothing to retry, the record stays set aside.
    let r = d1.sync();
    assert_eq!((r.retried, r.set_aside), (0, 0), "{r:?}");
    assert_eq!(d1.status()["set_aside"], 1);

    // Once the household reaches the server, the doctor's next sync pulls it, puts the visit back and sends it.
    h1.sync();
    let r = d1.sync();
    assert_eq!((r.retried, r.sent), (1, 1), "{r:?}");
    let status = d1.status();
    assert_eq!((status["pending"].as_u64(), status["set_aside"].as_u64()), (Some(0), Some(0)), "{status}");
    assert_eq!(d1.doc_ids("visit"), vec![visit.clone()]);
    h1.sync();
    assert_eq!(h1.doc_ids("visit"), vec![visit], "it reached the server and the helper");
}

#[test]
fn a_visit_of_a_household_refused_as_out_of_scope_is_set_aside_with_it_not_queued_forever() {
    let f = Fixture::new();
    let h2 = f.device("h2", "helper2");
    // helper2 records a household for helper1 (not theirs to write) and visits it.
    let foreign = h2.add_household("4306210011201", VILLAGE_A, "冒名户", &["helper1"]);
    let visit = h2.add_visit(&foreign, "冒名走访");

    assert_eq!(h2.fails(&["sync"], None).kind(), "out_of_scope");
    // The household is set aside; its visit cannot reach the server from here either, so it joins it.
    let r = h2.sync();
    assert_eq!((r.set_aside, r.held_back), (1, 0), "{r:?}");
    let status = h2.status();
    assert_eq!((status["pending"].as_u64(), status["set_aside"].as_u64()), (Some(0), Some(2)), "{status}");
    let listed = h2.json(&["set-aside"]);
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|d| d["doc_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&foreign.as_str()) && ids.contains(&visit.as_str()), "{listed}");
    // And later syncs are clean.
    let r = h2.sync();
    assert_eq!((r.sent, r.set_aside, r.held_back), (0, 0, 0), "{r:?}");
}
