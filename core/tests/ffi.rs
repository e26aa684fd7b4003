//! Bad input through the FFI object `Doorstep`, as a buggy or hostile app could send it: wrong keys, huge strings,
//! invalid dates, ID numbers and values, unknown ids. Each must come back as a typed `DoorstepError` naming the
//! field or the thing not found (never a panic), and the store must be exactly as it was afterwards.

use doorstep_core::error::DoorstepError;
use doorstep_core::ffi::Doorstep;
use doorstep_core::model::{samples, with_check_digit, Household, ScheduleRules, Screening, Visit};
use doorstep_core::query::HouseholdFilter;
use doorstep_core::store::{schema, Store};
use std::path::Path;
use std::sync::Arc;

const KEY: [u8; 32] = [0x21; 32];
const DEVICE: &str = "phone-ffi";
const MB: usize = 1 << 20;

fn open(path: &Path, key: &[u8]) -> Result<Arc<Doorstep>, DoorstepError> {
    Doorstep::open(path.to_string_lossy().into(), key.to_vec(), DEVICE.into())
}

/// Everything the store holds that a write could change: documents, the change log and every index row.
fn snapshot(path: &Path) -> Vec<String> {
    let store = Store::open(path, &KEY, DEVICE).unwrap();
    let mut tables = vec!["docs", "changes"];
    tables.extend(schema::INDEX_TABLES);
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = store.conn().prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok((0..n).map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap())).collect::<Vec<_>>())
            })
            .unwrap()
            .map(|r| format!("{table}: {}", r.unwrap().join("|")))
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// The fields a validation error names; panics (failing the test) on any other outcome.
fn invalid_fields<T: std::fmt::Debug>(result: Result<T, DoorstepError>) -> Vec<(String, String)> {
    match result {
        Err(DoorstepError::Validation { errors }) => {
            assert!(!errors.is_empty());
            for e in &errors {
                assert!(!e.message_en.is_empty() && !e.message_zh.is_empty(), "{e:?}");
            }
            errors.into_iter().map(|e| (e.field, e.code)).collect()
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, DoorstepError>, field: &str, code: &str) {
    let fields = invalid_fields(result);
    assert!(fields.iter().any(|(f, c)| f == field && c == code), "expected {field}/{code} in {fields:?}");
}

fn assert_not_found<T: std::fmt::Debug>(result: Result<T, DoorstepError>, what: &str) {
    match result {
        Err(DoorstepError::NotFound { what: w }) => assert!(w.contains(what), "{w} should name {what}"),
        other => panic!("expected not found, got {other:?}"),
    }
}

/// A store with one household, one visit and one screening, and the ids of each.
fn seeded(dir: &tempfile::TempDir) -> (Arc<Doorstep>, std::path::PathBuf, Household, Visit, Screening) {
    let path = dir.path().join("ffi.db");
    let app = open(&path, &KEY).unwrap();
    let household = samples::household();
    app.save_household(household.clone()).unwrap();
    let mut visit = samples::visit();
    visit.household_id = household.id.clone();
    app.save_visit(visit.clone()).unwrap();
    let mut screening = samples::screening();
    screening.household_id = household.id.clone();
    screening.member_id = household.members.keys().next().unwrap().clone();
    app.save_screening(screening.clone()).unwrap();
    (app, path, household, visit, screening)
}

#[test]
fn keys_of_the_wrong_length_or_value_are_typed_errors_and_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("never.db");
    for len in [0, 16, 31, 33, 64] {
        assert_invalid(open(&fresh, &vec![1; len]).map(drop), "key", "invalid");
    }
    assert!(!fresh.exists(), "a refused key creates no file");

    let (app, path, household, ..) = seeded(&dir);
    drop(app);
    let before = snapshot(&path);
    let mut wrong = KEY;
    wrong[31] ^= 1;
    assert!(matches!(open(&path, &wrong), Err(DoorstepError::WrongKey)));
    assert!(matches!(open(&path, &[0; 32]), Err(DoorstepError::WrongKey)));
    assert_invalid(open(&path, &KEY[..31]).map(drop), "key", "invalid");
    assert_eq!(snapshot(&path), before, "failed opens change nothing");

    // A file that is not a store at all, and a path that cannot be created.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0xAB; 8192]).unwrap();
    assert!(matches!(open(&junk, &KEY), Err(DoorstepError::WrongKey)));
    let nowhere = dir.path().join("no/such/dir/s.db");
    assert!(matches!(open(&nowhere, &KEY), Err(DoorstepError::Storage { .. })));

    // Rekeying with a bad key is refused and the old key still opens the store.
    let app = open(&path, &KEY).unwrap();
    assert_invalid(app.rekey(vec![7; 12]), "key", "invalid");
    drop(app);
    assert_eq!(open(&path, &KEY).unwrap().get_household(household.id.clone()).unwrap(), household);
}

#[test]
fn bad_records_are_refused_field_by_field_and_nothing_stored_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (app, path, household, visit, screening) = seeded(&dir);
    let before = snapshot(&path);
    let pending = app.pending_changes().unwrap();
    let huge = "户".repeat(MB / 3); // about 1 MB of UTF-8
    let member_key = household.members.keys().next().unwrap().clone();
    let m = |f: &str| format!("members.{member_key}.{f}");

    // Huge strings: refused with too_long, whichever field carries them.
    let mut h = household.clone();
    h.head_name = huge.clone();
    h.members.get_mut(&member_key).unwrap().name = "x".repeat(MB);
    let fields = invalid_fields(app.save_household(h));
    assert!(fields.contains(&("head_name".into(), "too_long".into())), "{fields:?}");
    assert!(fields.contains(&(m("name"), "too_long".into())), "{fields:?}");
    let mut v = visit.clone();
    v.note = huge.clone();
    assert_invalid(app.save_visit(v), "note", "too_long");
    let mut v = visit.clone();
    v.visitor = huge.clone();
    assert_invalid(app.save_visit(v), "visitor", "too_long");
    let mut s = screening.clone();
    s.findings = huge.clone();
    assert_invalid(app.save_screening(s), "findings", "too_long");
    let mut s = screening.clone();
    s.screener = huge.clone();
    assert_invalid(app.save_screening(s), "screener", "too_long");
    let mut v = samples::visit();
    v.id = "v".repeat(MB);
    v.household_id = household.id.clone();
    assert_invalid(app.save_visit(v), "id", "too_long");
    let newcomer = samples::member(&huge, Default::default(), "1970-01-01", Default::default(), "430621");
    let field = format!("members.{}.name", newcomer.id);
    assert_invalid(app.save_member(household.id.clone(), newcomer), &field, "too_long");

    // Invalid dates: malformed, impossible, lenient forms and the far future.
    for bad in ["", "tomorrow", "2026-02-30", "2026-13-01", "2026-1-5", " 2026-11-05", "2026-11-05 ", "20261105"] {
        let mut v = visit.clone();
        v.date = bad.into();
        let fields = invalid_fields(app.save_visit(v));
        assert_eq!(fields, vec![("date".to_string(), "format".to_string())], "date {bad:?}");
    }
    let mut s = screening.clone();
    s.date = "2099-01-01".into();
    assert_invalid(app.save_screening(s), "date", "future");
    let mut h = household.clone();
    h.members.get_mut(&member_key).unwrap().birth_date = "1962-02-29".into();
    assert_invalid(app.save_household(h), &m("birth_date"), "format");
    for bad in ["soon", "2026-11-31", "2026-1-1", "\u{3000}\u{3000}\u{3000}2026-11-01", "٢٠٢٦-١١-٠١"] {
        assert_invalid(app.due(bad.into()), "date", "invalid");
    }

    // Invalid national ID numbers: length, characters, check digit, birth date inside, and a mismatch.
    let right = household.members[&member_key].national_id.clone();
    let wrong_check = format!("{}{}", &right[..17], if right.ends_with('0') { "1" } else { "0" });
    for (id, code) in [
        ("43062119620315001", "format"),
        ("4306211962031500123", "format"),
        ("一二三四五六七八九十一二三四五六七八", "format"),
        ("43062119620315A01X", "format"),
        (wrong_check.as_str(), "check_digit"),
        (with_check_digit("43062119621315001").as_str(), "format"),
        (with_check_digit(&format!("430621{}", "19700101001")).as_str(), "mismatch"),
    ] {
        let mut h = household.clone();
        h.members.get_mut(&member_key).unwrap().national_id = id.into();
        assert_invalid(app.save_household(h), &m("national_id"), code);
    }

    // Values out of range, including ones no form would produce.
    let mut s = screening.clone();
    (s.systolic, s.diastolic, s.glucose, s.height_cm) = (Some(f64::NAN), Some(f64::INFINITY), Some(-3.0), Some(1e300));
    let fields = invalid_fields(app.save_screening(s));
    for f in ["systolic", "diastolic", "glucose", "height_cm"] {
        assert!(fields.iter().any(|(x, _)| x == f), "{f} in {fields:?}");
    }
    let mut h = household.clone();
    h.gps = Some(doorstep_core::model::Gps { lat: f64::NAN, lon: 500.0 });
    h.phone = "call me maybe".into();
    let fields = invalid_fields(app.save_household(h));
    for f in ["gps.lat", "gps.lon", "phone"] {
        assert!(fields.iter().any(|(x, _)| x == f), "{f} in {fields:?}");
    }
    let mut rules = ScheduleRules::default();
    rules.monthly_visits = 0;
    rules.hypertension_followup_days = 100_000;
    let fields = invalid_fields(app.set_schedule_rules(rules));
    assert_eq!(fields.len(), 2, "{fields:?}");

    // A record whose id belongs to another kind of record.
    let mut v = visit.clone();
    v.id = household.id.clone();
    assert_invalid(app.save_visit(v), "id", "invalid");

    assert_eq!(app.pending_changes().unwrap(), pending);
    assert_eq!(snapshot(&path), before, "refused records leave the store as it was");
    drop(huge);
}

#[test]
fn unknown_ids_fields_and_values_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (app, path, household, visit, _) = seeded(&dir);
    let before = snapshot(&path);
    let unknown = || "0190f0f0-0000-7000-8000-000000000000".to_string();

    assert_not_found(app.get_household(unknown()), "household");
    assert_not_found(app.get_visit(unknown()), "visit");
    assert_not_found(app.get_screening(unknown()), "screening");
    assert_not_found(app.get_visit(household.id.clone()), "visit"); // right id, wrong kind
    assert_not_found(app.get_household(String::new()), "household");
    assert_not_found(app.household_detail(unknown()), "household");
    assert_not_found(app.delete_household(unknown()), "household");
    assert_not_found(app.delete_visit(unknown()), "visit");
    assert_not_found(app.delete_screening(unknown()), "screening");
    assert_not_found(
        app.save_member(
            unknown(),
            samples::member("新成员", Default::default(), "2000-01-01", Default::default(), "430621"),
        ),
        "household",
    );
    assert_not_found(app.field_history(unknown(), "phone".into()), unknown().as_str());
    assert_not_found(app.resolve_conflict(unknown(), "phone".into(), "\"1\"".into()), unknown().as_str());
    // Lists of unknown things are empty, not errors.
    assert!(app.visits_of_household(unknown()).unwrap().is_empty());
    assert!(app.screenings_of_member(unknown()).unwrap().is_empty());
    let nobody = HouseholdFilter { village: Some("\u{0}'; DROP TABLE docs; --".into()), ..Default::default() };
    assert!(app.list_households(nobody).unwrap().is_empty());

    // Fields that do not exist, and values that are not JSON or do not fit the field (an invalid enum code).
    // A field that was never written has no history (an empty list, or a typed error), never a panic.
    match app.field_history(household.id.clone(), "no_such_field".into()) {
        Ok(history) => assert!(history.is_empty()),
        Err(e) => assert!(matches!(e, DoorstepError::NotFound { .. } | DoorstepError::Validation { .. }), "{e:?}"),
    }
    for (field, value) in [
        ("no_such_field", "\"x\""),
        ("phone", "{not json"),
        ("poverty_status", "\"rich\""),
        ("members", "42"),
        ("", "\"x\""),
    ] {
        let result = app.resolve_conflict(household.id.clone(), field.into(), value.into());
        assert!(
            matches!(result, Err(DoorstepError::Validation { .. } | DoorstepError::NotFound { .. })),
            "{field} = {value}: {result:?}"
        );
    }
    let result = app.resolve_conflict(visit.id.clone(), "kind".into(), "\"party\"".into());
    assert!(matches!(result, Err(DoorstepError::Validation { .. })), "{result:?}");

    assert_eq!(snapshot(&path), before, "nothing stored changed");
    // And the store still takes good writes.
    let mut v = samples::visit();
    v.household_id = household.id.clone();
    app.save_visit(v).unwrap();
    assert_eq!(app.visits_of_household(household.id).unwrap().len(), 2);
}
