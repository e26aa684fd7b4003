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
    h.status_history.push(crate::model::StatusTransition {
        date: TODAY.into(),
        event: crate::model::TransitionEvent::Identified,
        to_status: crate::model::PovertyStatus::Monitored,
        reason: "因病".into(),
    });
    h.alert_level = Some(crate::model::AlertLevel::Yellow);
    h.alert_history.push(crate::model::AlertChange {
        date: TODAY.into(),
        level: Some(crate::model::AlertLevel::Yellow),
        reason: "医疗支出大".into(),
    });
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
fn a_received_snapshot_is_kept_as_it_came_and_received_history_is_not_logged() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = open(&dir_a);
    let mut b = Store::open(&dir_b.path().join("b.db"), &[5; KEY_LEN], "phone-b").unwrap();
    let mut h = samples::household();
    a.put(&h, TODAY).unwrap();
    let mut history = Vec::new();
    for phone in ["1", "2", "3"] {
        h.phone = phone.into();
        history.push(a.put(&h, TODAY).unwrap().unwrap().bytes);
    }
    let (_, mut doc) = a.load_doc(&h.id).unwrap().unwrap();
    let snapshot = doc.save();
    let heads = doc.heads();
    b.apply_incoming(
        &[Incoming {
            doc_id: h.id.clone(),
            kind: DocKind::Household,
            snapshot: Some(snapshot.clone()),
            changes: vec![],
        }],
        "cursor",
        "4",
    )
    .unwrap();
    let kept: Vec<u8> = b.conn().query_row("SELECT bytes FROM docs WHERE id = ?1", [&h.id], |r| r.get(0)).unwrap();
    assert_eq!(kept, snapshot, "the snapshot's own bytes, not saved again");
    let logged = |s: &Store| -> Vec<String> {
        let mut stmt = s.conn().prepare("SELECT hash FROM changes WHERE doc_id = ?1 ORDER BY hash").unwrap();
        stmt.query_map([&h.id], |r| r.get(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    };
    assert_eq!(logged(&b), Vec::<String>::new(), "received changes live in the document alone");
    assert_eq!(heads.len(), 1);
    assert_eq!(b.get::<Household>(&h.id).unwrap(), h);

    // The same history as changes into a store that has none of it: again nothing is logged.
    let dir_c = tempfile::tempdir().unwrap();
    let mut c = Store::open(&dir_c.path().join("c.db"), &[6; KEY_LEN], "phone-c").unwrap();
    let mut all = vec![doc.changes()[0].bytes.clone()];
    all.extend(history);
    c.apply_incoming(
        &[Incoming { doc_id: h.id.clone(), kind: DocKind::Household, snapshot: None, changes: all }],
        "cursor",
        "4",
    )
    .unwrap();
    assert_eq!(logged(&c), Vec::<String>::new());
    assert_eq!(c.get::<Household>(&h.id).unwrap(), h);
    // A later local edit still logs its own change with its bytes, for the push.
    h.phone = "4".into();
    let mine = c.put(&h, TODAY).unwrap().unwrap();
    assert_eq!(
        c.pending_changes(10).unwrap().iter().map(|p| p.change.hash.clone()).collect::<Vec<_>>(),
        vec![mine.hash]
    );
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

fn field_errors(result: Result<Option<ChangeRecord>>) -> Vec<crate::model::FieldError> {
    match result {
        Err(Error::Validation(errors)) => errors,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn a_status_change_needs_a_new_dated_transition() {
    use crate::model::{PovertyStatus, StatusTransition, TransitionEvent};
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let mut h = samples::household();
    s.put(&h, TODAY).unwrap();

    // Exiting poverty without saying when: refused, naming the history, in both languages.
    h.poverty_status = PovertyStatus::Lifted;
    let errors = field_errors(s.put(&h, TODAY));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("status_history", "required"));
    assert!(errors[0].message_en.contains("Lifted out of poverty"), "{}", errors[0].message_en);
    assert!(errors[0].message_zh.contains("已脱贫户"), "{}", errors[0].message_zh);
    assert_eq!(s.get::<Household>(&h.id).unwrap().poverty_status, PovertyStatus::RegisteredPoor, "nothing saved");

    // A transition to another status does not count, nor does editing an old one into a new one's place.
    h.status_history.push(StatusTransition {
        date: "2026-11-20".into(),
        event: TransitionEvent::Relapsed,
        to_status: PovertyStatus::Monitored,
        reason: String::new(),
    });
    assert_eq!(field_errors(s.put(&h, TODAY))[0].field, "status_history");

    // The matching dated transition: saved.
    h.status_history.pop();
    h.status_history.push(StatusTransition {
        date: "2026-11-20".into(),
        event: TransitionEvent::Exited,
        to_status: PovertyStatus::Lifted,
        reason: "人均纯收入达标，两不愁三保障达标".into(),
    });
    s.put(&h, TODAY).unwrap().expect("a change");
    let stored = s.get::<Household>(&h.id).unwrap();
    assert_eq!((stored.poverty_status, stored.status_history.len()), (PovertyStatus::Lifted, 2));

    // A transition with a date that is not a date is refused by field.
    h.poverty_status = PovertyStatus::Monitored;
    h.status_history.push(StatusTransition {
        date: "2026-13-01".into(),
        event: TransitionEvent::Relapsed,
        to_status: PovertyStatus::Monitored,
        reason: "因病".into(),
    });
    assert_eq!(field_errors(s.put(&h, TODAY))[0].field, "status_history.2.date");

    // Other edits of a household whose status stays the same need no transition.
    let mut same = s.get::<Household>(&h.id).unwrap();
    same.phone = "13900001111".into();
    s.put(&same, TODAY).unwrap();
}

#[test]
fn an_alert_level_change_is_recorded_with_its_date() {
    use crate::model::{AlertChange, AlertLevel, PovertyStatus, StatusTransition, TransitionEvent};
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let mut h = samples::household();
    h.poverty_status = PovertyStatus::Monitored;
    h.helper_ids = vec!["helper1".into(), "senior1".into()];
    s.put(&h, TODAY).unwrap();

    let alert = |date: &str, level: Option<AlertLevel>, reason: &str| AlertChange {
        date: date.into(),
        level,
        reason: reason.into(),
    };
    // Raised to yellow without an entry: refused, naming the field.
    h.alert_level = Some(AlertLevel::Yellow);
    let errors = field_errors(s.put(&h, TODAY));
    assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("alert_history", "required"));
    assert!(errors[0].message_zh.contains("黄色预警"), "{}", errors[0].message_zh);
    h.alert_history.push(alert("2026-11-02", Some(AlertLevel::Yellow), "大病住院"));
    s.put(&h, TODAY).unwrap();

    // Raised to red: the entry and the senior helper are both needed.
    h.alert_level = Some(AlertLevel::Red);
    h.alert_history.push(alert("2026-11-25", Some(AlertLevel::Red), "医疗支出超过家庭收入"));
    assert_eq!(field_errors(s.put(&h, TODAY))[0].field, "senior_helper");
    h.senior_helper = "senior1".into();
    s.put(&h, TODAY).unwrap();

    // Lifted, when the risk is eliminated: the status transition and an entry without a level.
    h.alert_level = None;
    h.poverty_status = PovertyStatus::Lifted;
    h.status_history.push(StatusTransition {
        date: "2026-11-28".into(),
        event: TransitionEvent::RiskEliminated,
        to_status: PovertyStatus::Lifted,
        reason: "入户排查：两不愁三保障达标".into(),
    });
    assert_eq!(field_errors(s.put(&h, TODAY))[0].field, "alert_history", "lifting is a change too");
    h.alert_history.push(alert("2026-11-28", None, "消除返贫风险"));
    s.put(&h, TODAY).unwrap();
    let stored = s.get::<Household>(&h.id).unwrap();
    let levels: Vec<_> = stored.alert_history.iter().map(|a| (a.date.as_str(), a.level)).collect();
    assert_eq!(
        levels,
        [("2026-11-02", Some(AlertLevel::Yellow)), ("2026-11-25", Some(AlertLevel::Red)), ("2026-11-28", None)]
    );
}

#[test]
fn a_household_written_before_the_senior_helper_and_alert_history_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let h = samples::household();
    s.put(&h, TODAY).unwrap();
    // Take the two new fields out of the stored document, as an older core wrote it.
    let (_, mut doc) = s.load_doc(&h.id).unwrap().unwrap();
    assert!(doc.read::<Household>().is_ok());
    let mut am = automerge::AutoCommit::load(&doc.save()).unwrap();
    use automerge::transaction::Transactable;
    am.delete(automerge::ROOT, "senior_helper").unwrap();
    am.delete(automerge::ROOT, "alert_history").unwrap();
    use automerge::ReadDoc;
    assert!(am.get(automerge::ROOT, "senior_helper").unwrap().is_none(), "the field is gone");
    let old = crate::doc::Document::load(&am.save(), &automerge::ActorId::random()).unwrap();
    let read: Household = old.read().unwrap();
    assert_eq!((read.senior_helper.as_str(), read.alert_history.len()), ("", 0));
    assert_eq!(read.id, h.id);
}

#[test]
fn a_new_record_is_kept_as_its_one_change_and_an_edit_saves_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let mut v = samples::visit();
    let created = s.put(&v, TODAY).unwrap().unwrap();
    let stored = |s: &Store| -> Vec<u8> {
        s.conn().query_row("SELECT bytes FROM docs WHERE id = ?1", [&v.id], |r| r.get(0)).unwrap()
    };
    assert_eq!(stored(&s), created.bytes, "the creating change is the document");
    assert_eq!(s.get::<Visit>(&v.id).unwrap(), v);
    v.note = "复查".into();
    s.put(&v, TODAY).unwrap().unwrap();
    let (_, mut doc) = s.load_doc(&v.id).unwrap().unwrap();
    assert_eq!(stored(&s), doc.save(), "after an edit, the saved document");
    assert_eq!(s.get::<Visit>(&v.id).unwrap(), v);
    assert_eq!(doc.changes().len(), 2);
}

#[test]
fn a_large_page_is_prepared_on_several_threads_and_stored_whole() {
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = open(&dir_a);
    let mut b = Store::open(&dir_b.path().join("b.db"), &[5; KEY_LEN], "phone-b").unwrap();
    let mut items = Vec::new();
    let mut visits = Vec::new();
    for i in 0..60 {
        let mut v = samples::visit();
        v.note = format!("visit {i}");
        let change = a.put(&v, TODAY).unwrap().unwrap();
        let (_, mut doc) = a.load_doc(&v.id).unwrap().unwrap();
        // Half arrive as snapshots, half as their change.
        items.push(if i % 2 == 0 {
            Incoming { doc_id: v.id.clone(), kind: DocKind::Visit, snapshot: Some(doc.save()), changes: vec![] }
        } else {
            Incoming { doc_id: v.id.clone(), kind: DocKind::Visit, snapshot: None, changes: vec![change.bytes] }
        });
        visits.push(v);
    }
    b.apply_incoming(&items, "cursor", "60").unwrap();
    for v in &visits {
        assert_eq!(&b.get::<Visit>(&v.id).unwrap(), v);
    }
    let rows: i64 = b.conn().query_row("SELECT count(*) FROM ix_visits", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 60);
    assert_eq!(b.meta("cursor").unwrap().as_deref(), Some("60"));
    // A bad document anywhere in the page stores nothing of it.
    let mut bad = items.clone();
    bad[37].snapshot = Some(vec![1, 2, 3]);
    bad[37].changes.clear();
    let dir_c = tempfile::tempdir().unwrap();
    let mut c = Store::open(&dir_c.path().join("c.db"), &[6; KEY_LEN], "phone-c").unwrap();
    assert!(c.apply_incoming(&bad, "cursor", "60").is_err());
    let docs: i64 = c.conn().query_row("SELECT count(*) FROM docs", [], |r| r.get(0)).unwrap();
    assert_eq!(docs, 0);
    assert_eq!(c.meta("cursor").unwrap(), None);
}
