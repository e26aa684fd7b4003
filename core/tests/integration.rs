//! A field day through the public API: two households (one with three members), three visits and two screenings are
//! recorded, the store is closed and reopened, and every list and detail the app shows is read back and checked.
//! The same day is recorded once through `Store` and once through the FFI object `Doorstep`, and each recording is
//! read back through the other API, so both surfaces are held to the same answers.

use doorstep_core::ffi::Doorstep;
use doorstep_core::model::{
    self, samples, AlertLevel, AssuranceKind, BpGrade, Condition, DoctorContract, GlucoseBand, GlucoseKind, Household,
    PovertyStatus, Problem, ProblemStatus, ReferralLevel, Relation, Role, Screening, Sex, Visit, VisitKind,
};
use doorstep_core::query::{
    self, ClassifiedScreening, HouseholdDetail, HouseholdFilter, HouseholdSummary, PendingReferral,
};
use doorstep_core::schedule::{self, DueItem, DueKind};
use doorstep_core::store::Store;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

const KEY: [u8; 32] = [0x5a; 32];
const TODAY: &str = "2026-11-29";

/// What was recorded, with the ids the checks refer to.
struct Day {
    stone: Household,
    green: Household,
    head: String,
    spouse: String,
    child: String,
    visits: [Visit; 3],
    screenings: [Screening; 2],
}

/// Builds the day's records: 张建国's monitored household in 石门村 (three members, red alert) and 王秀珍's edge
/// household in 青山村 (yellow alert); three visits to the first; a screening of the spouse at her follow-up and
/// an urgent one of the son.
fn field_day() -> Day {
    let mut stone = samples::household();
    stone.poverty_status = PovertyStatus::Monitored;
    stone.alert_level = Some(AlertLevel::Red);
    // A red-alert household has a second, senior helper beside its own.
    stone.helper_ids.push("senior1".into());
    stone.senior_helper = "senior1".into();
    let mut child = samples::member("张小明", Sex::Male, "1990-06-18", Relation::Child, "430621");
    child.conditions = vec![Condition::Diabetes];
    child.contract =
        Some(DoctorContract {
            team: "石门村家医团队".into(), signed_date: "2026-07-01".into(), renewal_date: None
        });
    stone.members.insert(child.id.clone(), child.clone());
    let by_name = |h: &Household, name: &str| h.members.values().find(|m| m.name == name).unwrap().id.clone();
    let head = by_name(&stone, "张建国");
    let spouse = by_name(&stone, "李秀英");

    let mut green = samples::household();
    let widow = samples::member("王秀珍", Sex::Female, "1948-12-01", Relation::Head, "522601");
    green.members = HashMap::from([(widow.id.clone(), widow.clone())]);
    green.number = "5226010030002".into();
    green.township = "青山镇".into();
    green.village = "青山村".into();
    green.hamlet = "后寨".into();
    green.address = "青山村后寨8号".into();
    green.head_name = widow.name.clone();
    green.poverty_status = PovertyStatus::Edge;
    green.alert_level = Some(AlertLevel::Yellow);
    green.status_history.clear();
    green.helper_ids = vec!["helper2".into()];
    green.doctor_team = "青山村家医团队".into();

    let mut october = samples::visit();
    october.household_id = stone.id.clone();
    october.date = "2026-10-12".into();
    october.problems.insert(
        "roof".into(),
        Problem {
            description: "屋顶漏雨 / roof leaks".into(),
            assurance: Some(AssuranceKind::Housing),
            status: ProblemStatus::Open,
            resolved_date: None,
            action: "报镇住建办".into(),
        },
    );
    let mut november = samples::visit();
    november.household_id = stone.id.clone();
    november.date = "2026-11-05".into();
    let mut follow_up = samples::visit();
    follow_up.household_id = stone.id.clone();
    follow_up.member_id = Some(spouse.clone());
    follow_up.kind = VisitKind::DoctorFollowUp;
    follow_up.visitor = "doctor1".into();
    follow_up.visitor_role = Role::Doctor;
    follow_up.date = "2026-11-10".into();

    let mut grade1 = samples::screening();
    grade1.household_id = stone.id.clone();
    grade1.member_id = spouse.clone();
    grade1.visit_id = Some(follow_up.id.clone());
    grade1.date = "2026-11-10".into();
    grade1.systolic = Some(150.0);
    grade1.diastolic = Some(95.0);
    let mut urgent = samples::screening();
    urgent.household_id = stone.id.clone();
    urgent.member_id = child.id.clone();
    urgent.date = "2026-11-20".into();
    urgent.campaign = Some("2026秋季慢病筛查".into());
    urgent.systolic = Some(185.0);
    urgent.diastolic = Some(115.0);
    urgent.glucose = Some(17.0);
    urgent.glucose_kind = GlucoseKind::Fasting;

    Day {
        stone,
        green,
        head,
        spouse,
        child: child.id,
        visits: [october, november, follow_up],
        screenings: [grade1, urgent],
    }
}

/// The app's read side, as both public APIs offer it.
trait Views {
    fn household(&self, id: &str) -> Household;
    fn households(&self, filter: HouseholdFilter) -> Vec<HouseholdSummary>;
    fn detail(&self, id: &str) -> HouseholdDetail;
    fn visits(&self, household_id: &str) -> Vec<Visit>;
    fn screenings(&self, member_id: &str) -> Vec<ClassifiedScreening>;
    fn referrals(&self) -> Vec<PendingReferral>;
    fn due(&self, date: &str) -> Vec<DueItem>;
    fn pending(&self) -> u64;
}

impl Views for Store {
    fn household(&self, id: &str) -> Household {
        self.get(id).unwrap()
    }
    fn households(&self, filter: HouseholdFilter) -> Vec<HouseholdSummary> {
        query::households(self, &filter).unwrap()
    }
    fn detail(&self, id: &str) -> HouseholdDetail {
        query::household_detail(self, id).unwrap()
    }
    fn visits(&self, household_id: &str) -> Vec<Visit> {
        query::visits_of_household(self, household_id).unwrap()
    }
    fn screenings(&self, member_id: &str) -> Vec<ClassifiedScreening> {
        query::screenings_of_member(self, member_id).unwrap()
    }
    fn referrals(&self) -> Vec<PendingReferral> {
        query::pending_referrals(self).unwrap()
    }
    fn due(&self, date: &str) -> Vec<DueItem> {
        schedule::due(self, date).unwrap()
    }
    fn pending(&self) -> u64 {
        self.pending_count().unwrap()
    }
}

impl Views for Arc<Doorstep> {
    fn household(&self, id: &str) -> Household {
        self.get_household(id.into()).unwrap()
    }
    fn households(&self, filter: HouseholdFilter) -> Vec<HouseholdSummary> {
        self.list_households(filter).unwrap()
    }
    fn detail(&self, id: &str) -> HouseholdDetail {
        self.household_detail(id.into()).unwrap()
    }
    fn visits(&self, household_id: &str) -> Vec<Visit> {
        self.visits_of_household(household_id.into()).unwrap()
    }
    fn screenings(&self, member_id: &str) -> Vec<ClassifiedScreening> {
        self.screenings_of_member(member_id.into()).unwrap()
    }
    fn referrals(&self) -> Vec<PendingReferral> {
        self.pending_referrals().unwrap()
    }
    fn due(&self, date: &str) -> Vec<DueItem> {
        Doorstep::due(self, date.into()).unwrap()
    }
    fn pending(&self) -> u64 {
        self.pending_changes().unwrap()
    }
}

fn ids_of(list: &[HouseholdSummary]) -> Vec<&str> {
    list.iter().map(|h| h.id.as_str()).collect()
}

fn filter(f: impl FnOnce(&mut HouseholdFilter)) -> HouseholdFilter {
    let mut filter = HouseholdFilter::default();
    f(&mut filter);
    filter
}

/// Every read the app makes after the field day, with the answers the day's records call for.
fn check(day: &Day, v: &dyn Views) {
    let (stone, green) = (&day.stone.id, &day.green.id);
    let [october, november, follow_up] = &day.visits;
    let [grade1, urgent] = &day.screenings;

    // Records read back whole.
    assert_eq!(v.household(stone), day.stone);
    assert_eq!(v.household(green), day.green);
    assert_eq!(v.household(stone).members.len(), 3);
    // Seven records, one unacknowledged change each.
    assert_eq!(v.pending(), 7);

    // The household list, ordered by village, and each filter.
    let all = v.households(HouseholdFilter::default());
    assert_eq!(ids_of(&all), vec![stone.as_str(), green.as_str()], "石门村 sorts before 青山村");
    let s = &all[0];
    assert_eq!((s.number.as_str(), s.head_name.as_str(), s.village.as_str()), ("4306210010001", "张建国", "石门村"));
    assert_eq!((s.status, s.alert, s.members), (PovertyStatus::Monitored, Some(AlertLevel::Red), 3));
    assert_eq!(s.last_visit.as_deref(), Some("2026-11-10"));
    assert_eq!(s.open_problems, 1);
    assert_eq!((all[1].members, all[1].last_visit.as_deref(), all[1].open_problems), (1, None, 0));

    assert_eq!(ids_of(&v.households(filter(|f| f.village = Some("青山村".into())))), vec![green.as_str()]);
    assert_eq!(ids_of(&v.households(filter(|f| f.status = Some(PovertyStatus::Monitored)))), vec![stone.as_str()]);
    assert_eq!(ids_of(&v.households(filter(|f| f.alert = Some(AlertLevel::Yellow)))), vec![green.as_str()]);
    assert!(v.households(filter(|f| f.status = Some(PovertyStatus::Lifted))).is_empty());
    assert_eq!(ids_of(&v.households(filter(|f| f.helper = Some("helper2".into())))), vec![green.as_str()]);
    for (text, expected) in [
        ("小明", vec![stone.as_str()]),              // a member's name, not the head's
        ("王秀珍", vec![green.as_str()]),            // the head's name
        ("0030002", vec![green.as_str()]),           // part of the household number
        ("5226", vec![green.as_str()]),              // the region of a masked ID number
        ("上屯", vec![stone.as_str()]),              // the hamlet
        ("  石门村上屯12号 ", vec![stone.as_str()]), // the address, trimmed
        ("村", vec![stone.as_str(), green.as_str()]),
        ("%", vec![]), // LIKE wildcards are matched literally
        ("_", vec![]),
    ] {
        let found = v.households(filter(|f| f.text = Some(text.into())));
        assert_eq!(ids_of(&found), expected, "text search {text:?}");
    }
    // The full ID number is not searchable: lists hold masked numbers only.
    let spouse_id = &day.stone.members[&day.spouse].national_id;
    assert!(v.households(filter(|f| f.text = Some(spouse_id.clone()))).is_empty());
    // Filters combine.
    let both = filter(|f| {
        f.village = Some("石门村".into());
        f.alert = Some(AlertLevel::Yellow);
    });
    assert!(v.households(both).is_empty());

    // Visits of a household, newest first.
    let visits = v.visits(stone);
    assert_eq!(visits, vec![follow_up.clone(), november.clone(), october.clone()]);
    assert!(v.visits(green).is_empty());

    // Screenings of a member, with classification.
    let spouse = v.screenings(&day.spouse);
    assert_eq!(spouse.len(), 1);
    assert_eq!(&spouse[0].screening, grade1);
    assert_eq!(spouse[0].classification.bp_grade, Some(BpGrade::Grade1));
    assert_eq!(spouse[0].classification.suggested_referral, ReferralLevel::None);
    assert!(spouse[0].classification.abnormal);
    let child = v.screenings(&day.child);
    assert_eq!(child.len(), 1);
    assert_eq!(&child[0].screening, urgent);
    let c = &child[0].classification;
    assert_eq!((c.bp_grade, c.glucose_band), (Some(BpGrade::Grade3), Some(GlucoseBand::Diabetes)));
    assert_eq!(c.suggested_referral, ReferralLevel::Urgent);
    assert_eq!((c.bmi, c.bmi_band), (Some(22.0), Some(model::BmiBand::Normal)));
    assert!(v.screenings(&day.head).is_empty());

    // The household screen.
    let d = v.detail(stone);
    assert_eq!(d.household, day.stone);
    assert_eq!(d.last_visits, visits);
    assert_eq!(d.open_problems.len(), 1);
    let p = &d.open_problems[0];
    assert_eq!((p.visit_id.as_str(), p.problem_id.as_str()), (october.id.as_str(), "roof"));
    assert_eq!((p.date.as_str(), p.status), ("2026-10-12", ProblemStatus::Open));
    let mut screened: Vec<&str> = d.screenings.iter().map(|s| s.screening.id.as_str()).collect();
    screened.sort();
    let mut expected = vec![grade1.id.as_str(), urgent.id.as_str()];
    expected.sort();
    assert_eq!(screened, expected);
    assert_eq!(d.screenings[0].screening.id, urgent.id, "newest first");
    assert!(d.conflicts.is_empty());
    let g = v.detail(green);
    assert!(g.last_visits.is_empty() && g.open_problems.is_empty() && g.screenings.is_empty());

    // Referrals without follow-up: the spouse's grade-1 reading was followed up the same day; the son's urgent
    // referral was not.
    let referrals = v.referrals();
    assert_eq!(referrals.len(), 1, "{referrals:?}");
    let r = &referrals[0];
    assert_eq!((r.screening_id.as_str(), r.member_id.as_str()), (urgent.id.as_str(), day.child.as_str()));
    assert_eq!((r.member_name.as_str(), r.referral), ("张小明", ReferralLevel::Urgent));
    assert_eq!((r.bp_grade, r.glucose_band), (Some(BpGrade::Grade3), Some(GlucoseBand::Diabetes)));

    // The due list on 29 November (default rules: monitored and edge households twice a month, follow-ups every
    // 90 days): both households are overdue for October's helper visits, and the son, under contract since July
    // with diabetes, has had no follow-up. The spouse's next follow-up (2027-02-08) is not due yet.
    let due = v.due(TODAY);
    let summary: Vec<(DueKind, &str, Option<&str>, &str, bool)> = due
        .iter()
        .map(|i| (i.kind, i.household_id.as_str(), i.member_id.as_deref(), i.due_date.as_str(), i.overdue))
        .collect();
    assert_eq!(
        summary,
        vec![
            (DueKind::DoctorFollowUp, stone.as_str(), Some(day.child.as_str()), "2026-09-29", true),
            (DueKind::HelperVisit, stone.as_str(), None, "2026-10-31", true),
            (DueKind::HelperVisit, green.as_str(), None, "2026-10-31", true),
        ]
    );
    assert_eq!(due[1].reason_en, "1 of 2 helper visits in 2026-10");
    assert_eq!(due[1].reason_zh, "2026-10走访1次,应走访2次");
    assert!(due[0].reason_en.contains("no follow-up since contract 2026-07-01"), "{}", due[0].reason_en);
    assert_eq!(due[0].member_name.as_deref(), Some("张小明"));
    // On 21 September the son's first follow-up (due 29 September) still lay beyond the 7-day lookahead.
    assert!(v.due("2026-09-21").iter().all(|i| i.kind == DueKind::HelperVisit));
}

fn record_through_store(path: &Path, day: &Day) {
    let mut store = Store::open(path, &KEY, "phone-store").unwrap();
    store.put(&day.stone, TODAY).unwrap().expect("a new household is a change");
    store.put(&day.green, TODAY).unwrap();
    for v in &day.visits {
        store.put(v, TODAY).unwrap();
    }
    for s in &day.screenings {
        store.put(s, TODAY).unwrap();
    }
    // Saving the same record again is no change at all.
    assert!(store.put(&day.stone, TODAY).unwrap().is_none());
}

fn record_through_ffi(path: &Path, day: &mut Day) {
    let app = Doorstep::open(path.to_string_lossy().into(), KEY.to_vec(), "phone-ffi".into()).unwrap();
    // New records come without ids; the core gives them UUIDv7 ids, which the later records then refer to.
    let mut stone = day.stone.clone();
    stone.id.clear();
    let id = app.save_household(stone).unwrap();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    day.stone.id = id.clone();
    for v in &mut day.visits {
        v.household_id = id.clone();
    }
    for s in &mut day.screenings {
        s.household_id = id.clone();
    }
    day.green.id = app.save_household(day.green.clone()).unwrap();
    for v in &mut day.visits {
        let mut fresh = v.clone();
        fresh.id.clear();
        v.id = app.save_visit(fresh).unwrap();
    }
    day.screenings[0].visit_id = Some(day.visits[2].id.clone());
    for s in &mut day.screenings {
        let mut fresh = s.clone();
        fresh.id.clear();
        s.id = app.save_screening(fresh).unwrap();
    }
    assert_ne!(day.visits[0].id, day.visits[1].id);
}

#[test]
fn a_field_day_recorded_through_the_store_reads_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let day = field_day();
    record_through_store(&path, &day);

    // Reopened as the app would: through the FFI object, and through the store.
    let app = Doorstep::open(path.to_string_lossy().into(), KEY.to_vec(), "phone-store".into()).unwrap();
    check(&day, &app);
    drop(app);
    let store = Store::open(&path, &KEY, "phone-store").unwrap();
    check(&day, &store);
}

#[test]
fn a_field_day_recorded_through_the_ffi_reads_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let mut day = field_day();
    record_through_ffi(&path, &mut day);

    let store = Store::open(&path, &KEY, "phone-ffi").unwrap();
    check(&day, &store);
    drop(store);
    let app = Doorstep::open(path.to_string_lossy().into(), KEY.to_vec(), "phone-ffi".into()).unwrap();
    check(&day, &app);
}

#[test]
fn edits_after_reopening_update_lists_and_clear_what_was_answered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("field.db");
    let day = field_day();
    record_through_store(&path, &day);

    let app = Doorstep::open(path.to_string_lossy().into(), KEY.to_vec(), "phone-b".into()).unwrap();
    // The son's follow-up answers his urgent referral and his due follow-up.
    let mut answer = samples::visit();
    answer.id.clear();
    answer.household_id = day.stone.id.clone();
    answer.member_id = Some(day.child.clone());
    answer.kind = VisitKind::DoctorFollowUp;
    answer.visitor = "doctor1".into();
    answer.visitor_role = Role::Doctor;
    answer.date = "2026-11-21".into();
    let answer_id = app.save_visit(answer).unwrap();
    assert!(app.pending_referrals().unwrap().is_empty());
    assert!(Doorstep::due(&app, TODAY.into()).unwrap().iter().all(|i| i.kind == DueKind::HelperVisit));

    // The roof is repaired: the problem leaves the open list.
    let mut october = day.visits[0].clone();
    let roof = october.problems.get_mut("roof").unwrap();
    roof.status = ProblemStatus::Resolved;
    roof.resolved_date = Some("2026-11-25".into());
    app.save_visit(october).unwrap();
    assert!(app.open_problems().unwrap().is_empty());

    // A member joins; the household is found by the new name, and the change touched the household alone.
    let baby = samples::member("张乐乐", Sex::Female, "2026-11-02", Relation::Grandchild, "430621");
    let before = app.pending_changes().unwrap();
    app.save_member(day.stone.id.clone(), baby.clone()).unwrap();
    assert_eq!(app.pending_changes().unwrap(), before + 1);
    let found = app.list_households(filter(|f| f.text = Some("乐乐".into()))).unwrap();
    assert_eq!(ids_of(&found), vec![day.stone.id.as_str()]);
    assert_eq!(found[0].members, 4);

    // Deleting a visit is a tombstone: lists hide it, the record stays readable.
    app.delete_visit(answer_id.clone()).unwrap();
    assert_eq!(app.pending_referrals().unwrap().len(), 1, "the referral is open again");
    assert!(app.get_visit(answer_id.clone()).unwrap().deleted);
    assert_eq!(app.visits_of_household(day.stone.id.clone()).unwrap().len(), 3);

    drop(app);
    let store = Store::open(&path, &KEY, "phone-b").unwrap();
    let stone: Household = store.get(&day.stone.id).unwrap();
    assert_eq!(stone.members[&baby.id], baby);
    let history = {
        let (_, mut doc) = store.load_doc(&day.stone.id).unwrap().unwrap();
        doc.field_history(&format!("members.{}.name", baby.id)).unwrap()
    };
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].value_json.as_str(), history[0].device.as_str()), ("\"张乐乐\"", "phone-b"));
}
