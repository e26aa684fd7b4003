//! Two handles on one store file, as when a background sync worker and the app open it at the same time (two
//! processes, or two opens in one): every write of both must be in the file afterwards.

use super::*;
use crate::model::{samples, Household, Visit};
use std::sync::{Arc, Barrier};

const TODAY: &str = "2026-11-29";
const KEY: [u8; KEY_LEN] = [42; KEY_LEN];
const ROUNDS: usize = 30;

/// Changes of one household made on another device, one change per edit, in order.
fn remote_edits(
    dir: &tempfile::TempDir,
    name: &str,
    base: &[u8],
    h: &Household,
    edit: fn(&mut Household, usize),
) -> Vec<Vec<u8>> {
    let mut remote = Store::open(&dir.path().join(format!("{name}.db")), &[7; KEY_LEN], name).unwrap();
    remote
        .apply_incoming(
            &[Incoming {
                doc_id: h.id.clone(),
                kind: DocKind::Household,
                snapshot: Some(base.to_vec()),
                changes: vec![],
            }],
            "cursor",
            "1",
        )
        .unwrap();
    (0..ROUNDS)
        .map(|i| {
            let mut record: Household = remote.get(&h.id).unwrap();
            edit(&mut record, i);
            remote.put(&record, TODAY).unwrap().unwrap().bytes
        })
        .collect()
}

#[test]
fn two_handles_writing_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut first = Store::open(&path, &KEY, "phone").unwrap();
    let h = samples::household();
    first.put(&h, TODAY).unwrap();
    let (_, mut doc) = first.load_doc(&h.id).unwrap().unwrap();
    let base = doc.save();
    // Two other devices edit different fields of the household; each handle receives one device's edits while
    // also recording new visits, both at once.
    let phones = remote_edits(&dir, "remote-a", &base, &h, |r, i| r.phone = format!("1380000{i:04}"));
    let addresses = remote_edits(&dir, "remote-b", &base, &h, |r, i| r.address = format!("新址{i}"));
    drop(first);

    let start = Arc::new(Barrier::new(2));
    let handles: Vec<_> = [("app", phones), ("worker", addresses)]
        .into_iter()
        .map(|(name, changes)| {
            let (path, start, household_id) = (path.clone(), Arc::clone(&start), h.id.clone());
            std::thread::spawn(move || {
                let mut store = Store::open(&path, &KEY, name).unwrap();
                start.wait();
                for (i, change) in changes.into_iter().enumerate() {
                    let item = Incoming {
                        doc_id: household_id.clone(),
                        kind: DocKind::Household,
                        snapshot: None,
                        changes: vec![change],
                    };
                    store.apply_incoming(&[item], &format!("cursor-{name}"), &i.to_string()).unwrap();
                    let mut visit = samples::visit();
                    visit.household_id = household_id.clone();
                    visit.note = format!("{name} {i}");
                    store.put(&visit, TODAY).unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a writer failed");
    }

    let store = Store::open(&path, &KEY, "phone").unwrap();
    let merged: Household = store.get(&h.id).unwrap();
    assert_eq!(merged.phone, format!("1380000{:04}", ROUNDS - 1), "the app's received edits are all there");
    assert_eq!(merged.address, format!("新址{}", ROUNDS - 1), "the worker's received edits are all there");
    let visits: i64 =
        store.conn().query_row("SELECT count(*) FROM docs WHERE kind = 'visit'", [], |r| r.get(0)).unwrap();
    assert_eq!(visits as usize, 2 * ROUNDS, "every visit of both handles is stored");
    assert_eq!(
        store.pending_count().unwrap() as usize,
        1 + 2 * ROUNDS,
        "the household and every visit wait to be sent"
    );
    for name in ["app", "worker"] {
        let notes = crate::query::visits_of_household(&store, &h.id).unwrap();
        assert_eq!(notes.iter().filter(|v: &&Visit| v.note.starts_with(name)).count(), ROUNDS);
    }
}
