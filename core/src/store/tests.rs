use super::*;
use crate::model::{samples, Household, Screening, Visit};

const TODAY: &str = "2026-11-29";

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("store.db"), &[42; KEY_LEN], "phone-a").unwrap()
}

/// Every index row, table by table, sorted, for comparing two ways of deriving them.
fn dump_indices(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for table in schema::INDEX_TABLES {
        let mut stmt = store.conn().prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        out.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
    }
    out
}

#[test]
fn a_wrong_key_is_a_typed_error_and_the_file_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = samples::household();
    h.head_name = "独一无二的户主名".into();
    {
        let mut s = open(&dir);
        s.put(&h, TODAY).unwrap();
    }
    let wrong = Store::open(&dir.path().join("store.db"), &[1; KEY_LEN], "phone-a");
    assert!(matches!(wrong, Err(Error::WrongKey)));
    let short = Store::open(&dir.path().join("store.db"), &[1; 5], "phone-a");
    assert!(matches!(short, Err(Error::Validation(ref e)) if e[0].field == "key"));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for needle in
            [h.head_name.as_bytes(), h.members.values().next().unwrap().national_id.as_bytes(), b"SQLite format 3"]
        {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "plaintext found on disk");
        }
    }
    assert_eq!(open(&dir).get::<Household>(&h.id).unwrap(), h);
}

#[test]
fn rekey_keeps_the_data_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let h = samples::household();
    {
        let mut s = open(&dir);
        s.put(&h, TODAY).unwrap();
        s.rekey(&[9; KEY_LEN]).unwrap();
    }
    assert!(matches!(Store::open(&dir.path().join("store.db"), &[42; KEY_LEN], "x"), Err(Error::WrongKey)));
    let s = Store::open(&dir.path().join("store.db"), &[9; KEY_LEN], "x").unwrap();
    assert_eq!(s.get::<Household>(&h.id).unwrap(), h);
}

#[test]
fn validation_failure_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let mut v = samples::visit();
    v.visitor.clear();
    assert!(matches!(s.put(&v, TODAY), Err(Error::Validation(_))));
    assert!(matches!(s.get::<Visit>(&v.id), Err(Error::NotFound { .. })));
    assert_eq!(s.pending_count().unwrap(), 0);
}

#[test]
fn each_write_logs_one_change_and_unchanged_writes_log_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let mut h = samples::household();
    s.put(&h, TODAY).unwrap();
    assert!(s.put(&h, TODAY).unwrap().is_none());
    h.phone = "13911112222".into();
    s.put(&h, TODAY).unwrap().unwrap();
    let pending = s.pending_changes(usize::MAX).unwrap();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|p| p.doc_id == h.id && p.kind == DocKind::Household && !p.change.bytes.is_empty()));
    s.mark_acked(&[pending[0].change.hash.clone()]).unwrap();
    assert_eq!(s.pending_count().unwrap(), 1);
    let bytes: Option<Vec<u8>> = s
        .conn()
        .query_row("SELECT bytes FROM changes WHERE hash = ?1", [&pending[0].change.hash], |r| r.get(0))
        .unwrap();
    assert_eq!(bytes, None, "acknowledged changes keep no second copy of their bytes");
    // A byte budget bounds a page but always lets one change through.
    assert_eq!(s.pending_changes(1).unwrap().len(), 1);
}

#[test]
fn tombstones_hide_records_from_lists_but_keep_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let h = samples::household();
    s.put(&h, TODAY).unwrap();
    assert_eq!(crate::query::households(&s, &Default::default()).unwrap().len(), 1);
    s.delete::<Household>(&h.id).unwrap();
    assert!(crate::query::households(&s, &Default::default()).unwrap().is_empty());
    assert!(s.get::<Household>(&h.id).unwrap().deleted);
    assert_eq!(s.pending_count().unwrap(), 2, "the tombstone is a change that syncs");
}

#[test]
fn rebuilt_indices_equal_incremental_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let mut h = samples::household();
    s.put(&h, TODAY).unwrap();
    let member = h.members.values().next().unwrap().id.clone();
    for i in 0..3 {
        let mut v = samples::visit();
        v.household_id = h.id.clone();
        v.date = format!("2026-0{}-10", i + 7);
        if i == 1 {
            v.problems.insert(
                "p1".into(),
                crate::model::Problem {
                    description: "屋顶漏雨".into(),
                    assurance: Some(crate::model::AssuranceKind::Housing),
                    status: crate::model::ProblemStatus::Open,
                    resolved_date: None,
                    action: String::new(),
                },
            );
        }
        s.put(&v, TODAY).unwrap();
    }
    let mut sc = samples::screening();
    sc.household_id = h.id.clone();
    sc.member_id = member;
    sc.systolic = Some(182.0);
    sc.diastolic = Some(100.0);
    s.put(&sc, TODAY).unwrap();
    h.poverty_status = crate::model::PovertyStatus::Monitored;
    h.alert_level = Some(crate::model::AlertLevel::Yellow);
    s.put(&h, TODAY).unwrap();
    let doomed = samples::visit();
    s.put(&doomed, TODAY).unwrap();
    s.delete::<Visit>(&doomed.id).unwrap();

    let incremental = dump_indices(&s);
    assert!(incremental.len() >= 10, "{incremental:?}");
    s.conn().execute_batch("DELETE FROM ix_households; DELETE FROM ix_visits; DELETE FROM ix_problems;").unwrap();
    s.rebuild_indices().unwrap();
    assert_eq!(dump_indices(&s), incremental);
}

#[test]
fn incoming_pages_merge_with_local_edits_and_move_the_cursor() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = open(&dir_a);
    let mut b = Store::open(&dir_b.path().join("b.db"), &[5; KEY_LEN], "phone-b").unwrap();
    let h = samples::household();
    a.put(&h, TODAY).unwrap();
    let (_, mut doc) = a.load_doc(&h.id).unwrap().unwrap();
    // b bootstraps from a snapshot.
    b.apply_incoming(
        &[Incoming { doc_id: h.id.clone(), kind: DocKind::Household, snapshot: Some(doc.save()), changes: vec![] }],
        "cursor",
        "7",
    )
    .unwrap();
    assert_eq!(b.get::<Household>(&h.id).unwrap(), h);
    assert_eq!(b.meta("cursor").unwrap().as_deref(), Some("7"));
    assert_eq!(b.pending_count().unwrap(), 0, "received changes are not sent back");
    // Both edit different fields; b receives a's change and keeps its own.
    let mut ha = h.clone();
    ha.phone = "1".into();
    let change = a.put(&ha, TODAY).unwrap().unwrap();
    let mut hb = h.clone();
    hb.address = "新址".into();
    b.put(&hb, TODAY).unwrap();
    b.apply_incoming(
        &[Incoming {
            doc_id: h.id.clone(),
            kind: DocKind::Household,
            snapshot: None,
            changes: vec![change.bytes.clone()],
        }],
        "cursor",
        "8",
    )
    .unwrap();
    let merged: Household = b.get(&h.id).unwrap();
    assert_eq!((merged.phone.as_str(), merged.address.as_str()), ("1", "新址"));
    // Applying the same change again is harmless.
    b.apply_incoming(
        &[Incoming { doc_id: h.id.clone(), kind: DocKind::Household, snapshot: None, changes: vec![change.bytes] }],
        "cursor",
        "9",
    )
    .unwrap();
    assert_eq!(b.get::<Household>(&h.id).unwrap(), merged);
}

#[test]
fn conflicts_are_indexed_and_resolution_clears_them() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = open(&dir_a);
    let mut b = Store::open(&dir_b.path().join("b.db"), &[5; KEY_LEN], "phone-b").unwrap();
    let s = samples::screening();
    a.put(&s, TODAY).unwrap();
    let (_, mut doc) = a.load_doc(&s.id).unwrap().unwrap();
    b.apply_incoming(
        &[Incoming { doc_id: s.id.clone(), kind: DocKind::Screening, snapshot: Some(doc.save()), changes: vec![] }],
        "c",
        "1",
    )
    .unwrap();
    let mut sa = s.clone();
    sa.systolic = Some(150.0);
    let ca = a.put(&sa, TODAY).unwrap().unwrap();
    let mut sb = s.clone();
    sb.systolic = Some(160.0);
    b.put(&sb, TODAY).unwrap();
    b.apply_incoming(
        &[Incoming { doc_id: s.id.clone(), kind: DocKind::Screening, snapshot: None, changes: vec![ca.bytes] }],
        "c",
        "2",
    )
    .unwrap();
    assert_eq!(b.conflicted_docs().unwrap(), vec![s.id.clone()]);
    let conflicts = b.conflicts(&s.id).unwrap();
    assert_eq!(conflicts[0].field, "systolic");
    let mut devices: Vec<&str> = conflicts[0].values.iter().map(|v| v.device.as_str()).collect();
    devices.sort();
    assert_eq!(devices, vec!["phone-a", "phone-b"]);
    // A value of the wrong shape is refused and nothing changes.
    assert!(matches!(b.resolve(&s.id, "systolic", "\"high\""), Err(Error::Validation(_))));
    b.resolve(&s.id, "systolic", "150").unwrap();
    assert!(b.conflicted_docs().unwrap().is_empty());
    assert_eq!(b.get::<Screening>(&s.id).unwrap().systolic, Some(150.0));
}
