//! Faults during sync, against the real server binary on loopback with device homes driven through the real
//! `doorstep` CLI: the device killed mid-sync, the server killed mid-ingest, a faulty network (chaos proxy), and
//! the server's database locked. After each: nothing a user wrote is lost, nothing is stored twice, and every
//! device converges. `DOORSTEP_FAULT_RUNS` sets the number of runs (the full suite: `scripts/reliability-full.sh`);
//! `DOORSTEP_FAULT_SEED` repeats a run. Each test prints one `FIGURES` line that the full suite collects.

use doorstep_core::sync::protocol::{self, ErrorBody, ErrorCode, MessageType, SyncRequest, WireChange};
use doorstep_e2e::faults::*;
use doorstep_e2e::proxy::{Proxy, Trigger};
use doorstep_e2e::*;
use std::collections::BTreeSet;
use std::time::Duration;

const SYNC_LIMIT: Duration = Duration::from_secs(120);

/// Syncs every device in turn, twice round, so each has what the others pushed; every sync must succeed.
fn settle(devices: &[&Device]) {
    for _ in 0..2 {
        for d in devices {
            d.sync();
        }
    }
}

/// Every document both devices hold is in the same state on both.
fn assert_same_shared_docs(a: &Device, b: &Device) -> usize {
    let (ha, hb) = (device_heads(a), device_heads(b));
    let mut shared = 0;
    for (id, heads) in &ha {
        if let Some(other) = hb.get(id) {
            assert_eq!(heads, other, "{id} differs between {} and {}", a.name, b.name);
            shared += 1;
        }
    }
    shared
}

/// Checks an admin's fresh device gets exactly the recorded visits, and every device agrees with it.
fn assert_converged(f: &Fixture, url: &str, devices: &[&Device], visits: &BTreeSet<String>) {
    let admin = f.device_at("admin-check", "admin", url);
    admin.sync();
    let on_server: BTreeSet<String> = admin.doc_ids("visit").into_iter().collect();
    assert_eq!(on_server.len(), visits.len(), "visits on the server");
    assert_eq!(&on_server, visits, "the server holds exactly the recorded visits");
    for d in devices {
        let shared = assert_same_shared_docs(d, &admin);
        assert_eq!(shared, device_heads(d).len(), "{}: holds documents the server does not", d.name);
    }
}

#[test]
fn a_device_killed_at_random_points_of_a_sync_loses_and_duplicates_nothing() {
    if doorstep_e2e::store_choice::sqlite_only("a device killed mid-sync", "it checks exactly-once in SQLite") {
        return;
    }
    let runs = fault_runs(5);
    let mut rng = Rng::from_env("device_kill");
    let f = Fixture::new();
    let proxy = Proxy::start(f.server.addr);
    let a = f.device_at("a", "helper1", &proxy.url());
    let b = f.device_at("b", "doctor1", &proxy.url());
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    settle(&[&a, &b]);
    let mut visits = BTreeSet::new();
    let (mut killed, mut by_bytes, mut by_time) = (0, 0, 0);
    // How long a sync here takes, learnt from the ones that ended by themselves: a timed kill waits a random part of
    // it, so it lands inside the sync however fast syncing has become.
    let mut takes = Duration::from_millis(600);
    for run in 0..runs {
        let (d, other, user, other_user) =
            if rng.chance(50) { (&a, &b, "helper1", "doctor1") } else { (&b, &a, "doctor1", "helper1") };
        // The other device has pushed something, so the killed sync has both a push and a pull to do.
        visits.extend(other.add_visits_in_process(&h, other_user, rng.range(1, 15) as usize));
        other.sync();
        visits.extend(d.add_visits_in_process(&h, user, rng.range(5, 60) as usize));
        if rng.chance(40) {
            d.ok(&["household", "edit", &h, "--phone", &format!("139{run:08}")]);
        }
        // Small pages and pushes: many round trips, so a kill can land between any two of them.
        let mut child = spawn_sync(d, &["--page-bytes", "1", "--push-bytes", &rng.range(512, 8192).to_string()]);
        let started = std::time::Instant::now();
        if rng.chance(60) {
            let trigger = if rng.chance(50) {
                Trigger::RequestBytes(rng.range(1, 3000))
            } else {
                Trigger::ResponseBytes(rng.range(1, 3000))
            };
            proxy.arm(trigger, child.id());
            wait_bounded(&mut child, SYNC_LIMIT);
            if proxy.fired() {
                killed += 1;
                by_bytes += 1;
            } else {
                takes = started.elapsed();
            }
            // Disarm: a limit no transfer reaches.
            proxy.arm(Trigger::RequestBytes(u64::MAX), child.id());
        } else {
            let wait = Duration::from_millis(rng.range(0, (takes.as_millis() as u64).max(10)));
            std::thread::sleep(wait);
            if kill_now(&mut child) {
                killed += 1;
                by_time += 1;
            } else {
                // It ended before the kill: it takes less than that.
                takes = started.elapsed().min(takes);
            }
        }
    }
    settle(&[&a, &b, &a]);
    let changes = assert_each_write_on_server_once(&f.server.data, &[&a, &b]);
    assert!(assert_same_shared_docs(&a, &b) >= visits.len() + 1, "both hold the household and every visit");
    assert_converged(&f, &proxy.url(), &[&a, &b], &visits);
    assert!(runs < 5 || killed > 0, "no run interrupted a sync: the test tested nothing");
    println!(
        "FIGURES device-kill: runs={runs} syncs_killed={killed} (mid-transfer={by_bytes} timed={by_time}) \
         visits={} changes_checked={changes} lost=0 duplicated=0",
        visits.len()
    );
}

#[test]
fn the_server_killed_during_ingest_from_several_devices_loses_no_acknowledged_change() {
    if doorstep_e2e::store_choice::sqlite_only("the server killed during ingest", "it reads the SQLite database file") {
        return;
    }
    let runs = fault_runs(3);
    let mut rng = Rng::from_env("server_kill");
    let mut f = Fixture::new();
    let data = f.server.data.clone();
    let proxy = Proxy::start(f.server.addr);
    let h1 = f.device_at("h1", "helper1", &proxy.url());
    let h2 = f.device_at("h2", "helper2", &proxy.url());
    let d1 = f.device_at("d1", "doctor1", &proxy.url());
    let ha = h1.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    let hb = h2.add_household("4306210020001", VILLAGE_B, "王德明", &["helper2"]);
    let hc = d1.add_household("4306210010002", VILLAGE_A, "赵桂兰", &[]);
    settle(&[&h1, &h2, &d1]);
    let devices = [(&h1, &ha, "helper1"), (&h2, &hb, "helper2"), (&d1, &hc, "doctor1")];
    let mut visits = BTreeSet::new();
    let (mut killed_mid_ingest, mut acked_checked) = (0, 0);
    for run in 0..runs {
        for (d, h, user) in devices {
            visits.extend(d.add_visits_in_process(h, user, rng.range(20, 120) as usize));
        }
        // All three push at once, in several requests each; the server dies at a random byte of the traffic. The
        // trigger is armed before the devices start, so its count covers all their traffic; the first run's byte
        // lies within the smallest push the run can make (three devices, 20 visits each), so every seed kills the
        // server mid-ingest at least once.
        let trigger = if run == 0 {
            Trigger::RequestBytes(rng.range(200, 4_000))
        } else if rng.chance(75) {
            Trigger::RequestBytes(rng.range(200, 40_000))
        } else {
            Trigger::ResponseBytes(rng.range(1, 3000))
        };
        proxy.arm(trigger, f.server.pid());
        let mut children: Vec<_> = devices
            .iter()
            .map(|(d, _, _)| spawn_sync(d, &["--push-bytes", &rng.range(1024, 16384).to_string()]))
            .collect();
        for c in &mut children {
            wait_bounded(c, SYNC_LIMIT);
        }
        if proxy.fired() {
            killed_mid_ingest += 1;
        }
        proxy.arm(Trigger::RequestBytes(u64::MAX), 0);
        f.server.kill();
        f.server = Server::start(&data);
        proxy.set_upstream(f.server.addr);
        // What a device marked as acknowledged is on the server after the restart.
        let on_server = ServerDb::open(&data).change_devices();
        for (d, _, _) in devices {
            for hash in local_hashes(d, true) {
                assert!(on_server.contains_key(&hash), "{}: acknowledged change {hash} is missing", d.name);
                acked_checked += 1;
            }
        }
    }
    settle(&[&h1, &h2, &d1]);
    let changes = assert_each_write_on_server_once(&data, &[&h1, &h2, &d1]);
    assert_converged(&f, &proxy.url(), &[&h1, &h2, &d1], &visits);
    assert!(killed_mid_ingest > 0, "the server was never killed mid-ingest: the test tested nothing");
    println!(
        "FIGURES server-kill: runs={runs} killed_mid_ingest={killed_mid_ingest} acked_checks={acked_checked} \
         visits={} changes_checked={changes} lost=0 duplicated=0",
        visits.len()
    );
}

#[test]
fn sync_through_a_faulty_network_converges_with_nothing_lost_or_duplicated() {
    if doorstep_e2e::store_choice::sqlite_only("a faulty network", "it checks exactly-once in the SQLite file") {
        return;
    }
    let rounds = fault_runs(5) * 2;
    let mut rng = Rng::from_env("chaos");
    let f = Fixture::new();
    let chaos = ChaosProxy::start(f.server.addr, rng.next_u64(), 0);
    let h1 = f.device_at("h1", "helper1", &chaos.url());
    let h2 = f.device_at("h2", "helper2", &chaos.url());
    let d1 = f.device_at("d1", "doctor1", &chaos.url());
    let ha = h1.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    let hb = h2.add_household("4306210020001", VILLAGE_B, "王德明", &["helper2"]);
    chaos.set_rate(30);
    let devices = [(&h1, &ha, "helper1"), (&h2, &hb, "helper2"), (&d1, &ha, "doctor1")];
    let mut visits = BTreeSet::new();
    let (mut failed, mut succeeded) = (0, 0);
    for round in 0..rounds {
        for (d, h, user) in devices {
            visits.extend(d.add_visits_in_process(h, user, rng.range(1, 30) as usize));
            // A device edits only a household it already holds: the doctor receives the helper's household by sync.
            if rng.chance(30) && d.household_ids().iter().any(|id| id == h) {
                d.ok(&["household", "edit", h, "--phone", &format!("138{round:04}{}", rng.range(1000, 9999))]);
            }
            let mut child = spawn_sync(d, &["--page-bytes", "1", "--push-bytes", &rng.range(512, 8192).to_string()]);
            match wait_bounded(&mut child, SYNC_LIMIT) {
                Some(s) if s.success() => succeeded += 1,
                _ => failed += 1,
            }
        }
    }
    let injected = chaos.injected();
    let faults: u64 = injected.iter().filter(|(k, _)| **k != Fault::Pass).map(|(_, n)| n).sum();
    assert!(faults > 0 && failed > 0, "no fault reached a sync: {injected:?}");
    chaos.set_rate(0);
    settle(&[&h1, &h2, &d1]);
    let changes = assert_each_write_on_server_once(&f.server.data, &[&h1, &h2, &d1]);
    // The helper and the doctor share the household of 石门村 and its visits; they hold it identically.
    assert!(assert_same_shared_docs(&h1, &d1) > 1);
    assert_eq!(h1.doc_ids("visit"), d1.doc_ids("visit"));
    assert_converged(&f, &chaos.url(), &[&h1, &h2, &d1], &visits);
    println!(
        "FIGURES network: rounds={rounds} syncs_failed={failed} syncs_ok={succeeded} faults_injected={faults} \
         by_kind={injected:?} visits={} changes_checked={changes} lost=0 duplicated=0",
        visits.len()
    );
}

#[test]
fn a_locked_server_database_gives_a_retryable_503_and_the_device_keeps_its_data_and_retries() {
    if doorstep_e2e::store_choice::sqlite_only("a locked server database", "it takes SQLite's file lock") {
        return;
    }
    let f = Fixture::new();
    let a = f.device("a", "helper1");
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    let visits = a.add_visits_in_process(&h, "helper1", 5);
    let pending = a.status()["pending"].as_u64().unwrap();
    assert_eq!(pending, 6);

    let db = ServerDb::open(&f.server.data);
    db.lock();
    // Through the CLI: a refusal the app may retry, nothing marked as sent.
    let failure = a.fails(&["sync"], None);
    assert_eq!(failure.kind(), "unavailable", "{}", failure.stderr);
    assert_eq!(a.status()["pending"].as_u64(), Some(pending), "the device keeps every change");
    // On the wire: 503 with a retryable ErrorBody and Retry-After.
    let store = device_store(&a);
    let changes: Vec<WireChange> = store
        .pending_changes(1 << 20)
        .unwrap()
        .into_iter()
        .map(|p| WireChange { doc_id: p.doc_id, kind: p.kind.code().to_string(), bytes: p.change.bytes })
        .collect();
    drop(store);
    let token = a.meta("sync.token").unwrap();
    let body = protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes });
    let (status, answer) = raw_sync(&f.server.url, &token, body);
    assert_eq!(status, 503);
    let err: ErrorBody = serde_json::from_slice(&answer).expect("an ErrorBody");
    assert_eq!(err.code, ErrorCode::Unavailable);
    assert!(err.retryable && !err.message_en.is_empty() && !err.message_zh.is_empty(), "{err:?}");
    assert_eq!(db.count("SELECT count(*) FROM srv.changes"), 0, "nothing half-stored");
    db.unlock();

    // Later, the same device syncs and everything arrives once.
    let r = a.sync();
    assert_eq!(r.sent, pending, "{r:?}");
    assert_eq!(assert_each_write_on_server_once(&f.server.data, &[&a]), pending as usize);
    let mut listed = a.doc_ids("visit");
    listed.sort();
    let mut expected = visits.clone();
    expected.sort();
    assert_eq!(listed, expected);
}
