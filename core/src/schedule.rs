//! What is due: helper visits by calendar month and doctor follow-ups of chronic patients, from rules that are a
//! document (so supervisors set them and sync delivers them) and from index rows (so no document is parsed).

use crate::error::Result;
use crate::model::{
    date_problem, in_force, parse_date, Condition, FieldError, PovertyStatus, Role, RulesDoc, ScheduleRules,
    SCHEDULE_RULES_ID,
};
use crate::store::Store;
use crate::sync::client::meta;
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// Visit kinds that count as a helper's visit for the monthly rule.
pub const HELPER_VISIT_KINDS: &[&str] = &["monthly", "verification", "condolence"];

/// What kind of work is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
pub enum DueKind {
    HelperVisit,
    DoctorFollowUp,
}

/// One household (or member) that needs a visit, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct DueItem {
    pub kind: DueKind,
    pub household_id: String,
    pub household_number: String,
    pub head_name: String,
    pub village: String,
    pub member_id: Option<String>,
    pub member_name: Option<String>,
    /// The last day by which the visit should happen.
    pub due_date: String,
    pub overdue: bool,
    pub reason_en: String,
    pub reason_zh: String,
}

/// The rules document: the synced one, or the defaults (in force since always) until one arrives.
pub fn rules_doc(store: &Store) -> Result<RulesDoc> {
    match store.get::<RulesDoc>(SCHEDULE_RULES_ID) {
        Ok(doc) => Ok(doc),
        Err(crate::Error::NotFound { .. }) => Ok(RulesDoc::default()),
        Err(e) => Err(e),
    }
}

/// The newest rules (what a supervisor set last; they may take effect in the future, see `rules_on`).
pub fn rules(store: &Store) -> Result<ScheduleRules> {
    Ok(rules_doc(store)?.rules)
}

/// The rules in force on `date` (`YYYY-MM-DD`).
pub fn rules_on(store: &Store, date: &str) -> Result<ScheduleRules> {
    Ok(in_force(&rules_doc(store)?, date).clone())
}

/// Saves new rules in force from `effective_from` (`YYYY-MM-DD`) as the newest version of the rules document; the
/// version they follow stays in its history, so past months keep being judged by it. Refused, naming the field,
/// when the rules are not sensible or `effective_from` is not a date or lies before the newest version's date
/// (see `RulesDoc::set`).
pub fn set_rules(store: &mut Store, rules: ScheduleRules, effective_from: &str, today: &str) -> Result<()> {
    let mut doc = rules_doc(store)?;
    doc.set(rules, effective_from).map_err(crate::Error::Validation)?;
    store.put(&doc, today)?;
    Ok(())
}

/// Helper visits a household needs each month under the rules: none for a status the rules do not list (ordinary
/// rural households, by default).
pub fn monthly_required(rules: &ScheduleRules, status: PovertyStatus) -> u32 {
    if !rules.monthly_visit_statuses.contains(&status) {
        return 0;
    }
    match status {
        PovertyStatus::Monitored => rules.monitored_monthly_visits,
        PovertyStatus::Edge => rules.edge_monthly_visits,
        _ => rules.monthly_visits,
    }
}

/// Whose work a due list shows, decided by the role the device signed in as (kept in the store's metadata by the
/// sign-in, `sync::client::meta::ROLE` and `USER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueAudience {
    /// A helper: the monthly visits of the households whose `helper_ids` name this account. A household the device
    /// holds for another reason (a cross-check, a hand-over) is not their monthly work.
    Helper(String),
    /// A family doctor: the follow-ups of every contracted chronic patient on the device. The server gives a
    /// doctor's device exactly the households of the team's villages (`server::scope`), and the device does not
    /// know the team's name, so it filters no further.
    Doctor,
    /// Both kinds for every household on the device. A supervisor's or admin's device holds their area, and this
    /// is its due and overdue list (what supervisors review: "overdue lists"); a store never signed in (local
    /// use, tests, the CLI before `login`) has only what was entered on it.
    Everyone,
    /// Nothing: an inspector, whose cross-checks in granted villages are not scheduled work (those households'
    /// visits belong to their own helpers and doctors), and a role this version of the core does not know.
    Nothing,
}

impl DueAudience {
    /// The audience for a signed-in role code (`helper`, `doctor`, …) and account name; an empty role is a store
    /// never signed in.
    pub fn for_role(role: &str, user: &str) -> Self {
        if role.trim().is_empty() {
            return Self::Everyone;
        }
        match Role::parse(role.trim()) {
            Some(Role::Helper) if !user.trim().is_empty() => Self::Helper(user.trim().to_string()),
            Some(Role::Helper) => Self::Nothing,
            Some(Role::Doctor) => Self::Doctor,
            Some(Role::Supervisor | Role::Admin) => Self::Everyone,
            Some(Role::Inspector) | None => Self::Nothing,
        }
    }

    /// The audience of the account this store is signed in as.
    pub fn of_store(store: &Store) -> Result<Self> {
        let role = store.meta(meta::ROLE)?.unwrap_or_default();
        let user = store.meta(meta::USER)?.filter(|u| !u.is_empty()).unwrap_or_else(|| store.author().user.clone());
        Ok(Self::for_role(&role, &user))
    }

    fn helper_visits(&self) -> bool {
        matches!(self, Self::Helper(_) | Self::Everyone)
    }

    fn doctor_follow_ups(&self) -> bool {
        matches!(self, Self::Doctor | Self::Everyone)
    }
}

/// Days between doctor follow-ups for a member with these conditions, if any condition needs follow-up.
pub fn followup_interval(rules: &ScheduleRules, conditions: &[Condition]) -> Option<u32> {
    conditions
        .iter()
        .filter_map(|c| match c {
            Condition::Hypertension => Some(rules.hypertension_followup_days),
            Condition::Diabetes => Some(rules.diabetes_followup_days),
            Condition::SevereMental => Some(rules.mental_followup_days),
            _ => None,
        })
        .min()
}

fn month_end(d: NaiveDate) -> NaiveDate {
    let first_next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    };
    first_next.map(|n| n - Duration::days(1)).unwrap_or(d)
}

fn previous_month_end(d: NaiveDate) -> NaiveDate {
    d.with_day(1).map(|f| f - Duration::days(1)).unwrap_or(d)
}

/// Due and overdue work on `date` for the account the store is signed in as (see `DueAudience`): overdue first,
/// then by due date.
pub fn due(store: &Store, date: &str) -> Result<Vec<DueItem>> {
    due_for(store, date, &DueAudience::of_store(store)?)
}

/// Due and overdue work on `date` for `audience`: overdue first, then by due date. Each month is judged by the
/// rules in force then: this month by the rules in force on `date`, the previous month by those in force on its
/// last day (when its count was final); follow-ups by the rules in force on `date`.
pub fn due_for(store: &Store, date: &str, audience: &DueAudience) -> Result<Vec<DueItem>> {
    let day = parse_date(date).ok_or_else(|| {
        let (message_en, message_zh) = date_problem(date);
        crate::Error::Validation(vec![FieldError {
            field: "date".into(),
            code: "invalid".into(),
            message_en,
            message_zh,
        }])
    })?;
    let doc = rules_doc(store)?;
    let rules = in_force(&doc, date);
    let this_month = &date[..7];
    let prev_end = previous_month_end(day);
    let prev_rules = in_force(&doc, &prev_end.format("%Y-%m-%d").to_string()).clone();
    let prev_month = prev_end.format("%Y-%m").to_string();
    let kinds = HELPER_VISIT_KINDS.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(",");
    let conn = store.conn();
    let mut items = Vec::new();

    // A helper's list holds the households assigned to them (`?3`); an empty `?3` is every household.
    let helper = match audience {
        DueAudience::Helper(user) => user.as_str(),
        _ => "",
    };
    let sql = format!(
        "SELECT h.doc_id, h.number, h.head_name, h.village, h.status,
            (SELECT count(*) FROM ix_visits v WHERE v.household_id = h.doc_id AND v.deleted = 0 AND v.month = ?1 AND v.kind IN ({kinds})),
            (SELECT count(*) FROM ix_visits v WHERE v.household_id = h.doc_id AND v.deleted = 0 AND v.month = ?2 AND v.kind IN ({kinds}))
         FROM ix_households h WHERE h.deleted = 0
            AND (?3 = '' OR EXISTS (SELECT 1 FROM ix_household_helpers a WHERE a.doc_id = h.doc_id AND a.helper = ?3))
         ORDER BY h.village, h.number"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([this_month, prev_month.as_str(), helper])?;
    while audience.helper_visits() {
        let Some(r) = rows.next()? else { break };
        let status = PovertyStatus::parse(&r.get::<_, String>(4)?).unwrap_or_default();
        let required = monthly_required(rules, status);
        let prev_required = monthly_required(&prev_rules, status);
        if required == 0 && prev_required == 0 {
            continue;
        }
        let (now_count, prev_count): (i64, i64) = (r.get(5)?, r.get(6)?);
        let (overdue, due_date, en, zh) = if prev_count < i64::from(prev_required) {
            (
                true,
                prev_end,
                format!("{prev_count} of {prev_required} helper visits in {prev_month}"),
                format!("{prev_month}走访{prev_count}次,应走访{prev_required}次"),
            )
        } else if now_count < i64::from(required) {
            (
                false,
                month_end(day),
                format!("{now_count} of {required} helper visits this month"),
                format!("本月已走访{now_count}次,应走访{required}次"),
            )
        } else {
            continue;
        };
        items.push(DueItem {
            kind: DueKind::HelperVisit,
            household_id: r.get(0)?,
            household_number: r.get(1)?,
            head_name: r.get(2)?,
            village: r.get(3)?,
            member_id: None,
            member_name: None,
            due_date: due_date.format("%Y-%m-%d").to_string(),
            overdue,
            reason_en: en,
            reason_zh: zh,
        });
    }

    let mut stmt = conn.prepare(
        "SELECT m.member_id, m.name, m.conditions, m.contract_signed, h.doc_id, h.number, h.head_name, h.village,
            (SELECT max(v.date) FROM ix_visits v WHERE v.household_id = h.doc_id AND v.deleted = 0 AND v.kind = 'doctor_follow_up'
                AND (v.member_id IS NULL OR v.member_id = m.member_id))
         FROM ix_members m JOIN ix_households h ON h.doc_id = m.household_id
         WHERE h.deleted = 0 AND m.contract_signed IS NOT NULL AND m.conditions <> ''
         ORDER BY h.village, h.number",
    )?;
    let mut rows = stmt.query([])?;
    while audience.doctor_follow_ups() {
        let Some(r) = rows.next()? else { break };
        let conditions: Vec<Condition> = r.get::<_, String>(2)?.split(',').filter_map(Condition::parse).collect();
        let Some(interval) = followup_interval(rules, &conditions) else { continue };
        let signed: String = r.get(3)?;
        let last: Option<String> = r.get(8)?;
        let Some(base) = last.as_deref().or(Some(signed.as_str())).and_then(parse_date) else { continue };
        let due_date = base + Duration::days(i64::from(interval));
        if due_date > day + Duration::days(i64::from(rules.lookahead_days)) {
            continue;
        }
        let since = match &last {
            Some(l) => (format!("last follow-up {l}"), format!("上次随访{l}")),
            None => (format!("no follow-up since contract {signed}"), format!("签约{signed}后未随访")),
        };
        items.push(DueItem {
            kind: DueKind::DoctorFollowUp,
            household_id: r.get(4)?,
            household_number: r.get(5)?,
            head_name: r.get(6)?,
            village: r.get(7)?,
            member_id: Some(r.get(0)?),
            member_name: Some(r.get(1)?),
            due_date: due_date.format("%Y-%m-%d").to_string(),
            overdue: due_date < day,
            reason_en: format!("follow-up every {interval} days; {}", since.0),
            reason_zh: format!("每{interval}天随访;{}", since.1),
        });
    }
    items.sort_by(|a, b| b.overdue.cmp(&a.overdue).then(a.due_date.cmp(&b.due_date)));
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{samples, VisitKind};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db"), &[7; 32], "test").unwrap();
        (dir, store)
    }

    #[test]
    fn monthly_visits_due_and_overdue() {
        let (_d, mut s) = store();
        let mut h = samples::household();
        for m in h.members.values_mut() {
            m.contract = None;
        }
        s.put(&h, "2026-11-29").unwrap();
        let items = due(&s, "2026-11-29").unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0].overdue, "no visit in October: overdue");
        assert_eq!(items[0].due_date, "2026-10-31");

        let mut v = samples::visit();
        v.household_id = h.id.clone();
        v.date = "2026-10-15".into();
        s.put(&v, "2026-11-29").unwrap();
        let items = due(&s, "2026-11-29").unwrap();
        assert_eq!(items.len(), 1);
        assert!(!items[0].overdue);
        assert_eq!(items[0].due_date, "2026-11-30");
        assert!(items[0].reason_en.contains("0 of 1"));

        let mut v2 = samples::visit();
        v2.household_id = h.id.clone();
        v2.date = "2026-11-02".into();
        s.put(&v2, "2026-11-29").unwrap();
        assert!(due(&s, "2026-11-29").unwrap().is_empty());

        // Rules are data: a monitored household needs two visits a month.
        h.poverty_status = PovertyStatus::Monitored;
        h.status_history.push(crate::model::StatusTransition {
            date: "2026-11-20".into(),
            event: crate::model::TransitionEvent::Identified,
            to_status: PovertyStatus::Monitored,
            reason: "因病".into(),
        });
        s.put(&h, "2026-11-29").unwrap();
        let items = due(&s, "2026-11-29").unwrap();
        assert!(items[0].overdue && items[0].reason_en.contains("1 of 2"), "{items:?}");
        let mut r = ScheduleRules::default();
        r.monitored_monthly_visits = 1;
        set_rules(&mut s, r, "2026-10-01", "2026-11-29").unwrap();
        assert!(due(&s, "2026-11-29").unwrap().is_empty());
    }

    #[test]
    fn doctor_follow_up_every_90_days() {
        let (_d, mut s) = store();
        let h = samples::household();
        s.put(&h, "2026-11-29").unwrap();
        let patient = h.members.values().find(|m| m.contract.is_some()).unwrap().clone();
        // Signed 2026-01-10 and never followed up: overdue.
        let items: Vec<_> =
            due(&s, "2026-11-29").unwrap().into_iter().filter(|i| i.kind == DueKind::DoctorFollowUp).collect();
        assert_eq!(items.len(), 1);
        assert!(items[0].overdue);
        assert_eq!(items[0].member_id.as_deref(), Some(patient.id.as_str()));
        assert_eq!(items[0].due_date, "2026-04-10");

        let mut v = samples::visit();
        v.household_id = h.id.clone();
        v.kind = VisitKind::DoctorFollowUp;
        v.member_id = Some(patient.id.clone());
        v.date = "2026-11-01".into();
        s.put(&v, "2026-11-29").unwrap();
        let follow: Vec<_> =
            due(&s, "2026-11-29").unwrap().into_iter().filter(|i| i.kind == DueKind::DoctorFollowUp).collect();
        assert!(follow.is_empty(), "next due 2027-01-30");
        let follow: Vec<_> =
            due(&s, "2027-01-25").unwrap().into_iter().filter(|i| i.kind == DueKind::DoctorFollowUp).collect();
        assert_eq!(follow.len(), 1, "within the lookahead");
        assert!(!follow[0].overdue);
    }

    /// A household assigned to `helper`, with one contracted hypertensive member (signed 2026-01-10: overdue).
    fn assigned(s: &mut Store, helper: &str, number: &str) -> crate::model::Household {
        let mut h = samples::household();
        h.number = number.into();
        h.helper_ids = vec![helper.into()];
        s.put(&h, "2026-11-29").unwrap();
        h
    }

    fn sign_in(s: &Store, role: &str, user: &str) {
        s.set_meta(meta::ROLE, role).unwrap();
        s.set_meta(meta::USER, user).unwrap();
    }

    fn kinds(items: &[DueItem]) -> Vec<(DueKind, String)> {
        items.iter().map(|i| (i.kind, i.household_number.clone())).collect()
    }

    #[test]
    fn the_due_list_follows_the_signed_in_role() {
        let (_d, mut s) = store();
        assigned(&mut s, "helper1", "H1");
        assigned(&mut s, "helper2", "H2");
        let both = vec![
            (DueKind::DoctorFollowUp, "H1".to_string()),
            (DueKind::DoctorFollowUp, "H2".to_string()),
            (DueKind::HelperVisit, "H1".to_string()),
            (DueKind::HelperVisit, "H2".to_string()),
        ];
        let sorted = |mut v: Vec<(DueKind, String)>| {
            v.sort_by_key(|(k, n)| (*k == DueKind::HelperVisit, n.clone()));
            v
        };
        // Never signed in: everything on the device.
        assert_eq!(sorted(kinds(&due(&s, "2026-11-29").unwrap())), both);

        // A helper: the monthly visits of the households assigned to them, no follow-ups.
        sign_in(&s, "helper", "helper1");
        assert_eq!(DueAudience::of_store(&s).unwrap(), DueAudience::Helper("helper1".into()));
        assert_eq!(kinds(&due(&s, "2026-11-29").unwrap()), vec![(DueKind::HelperVisit, "H1".to_string())]);

        // A doctor: the follow-ups of every contracted chronic patient the device holds, no helper visits.
        sign_in(&s, "doctor", "doctor1");
        assert_eq!(
            sorted(kinds(&due(&s, "2026-11-29").unwrap())),
            vec![(DueKind::DoctorFollowUp, "H1".to_string()), (DueKind::DoctorFollowUp, "H2".to_string())]
        );

        // A supervisor or an admin: their area's whole due and overdue list.
        for role in ["supervisor", "admin"] {
            sign_in(&s, role, "boss");
            assert_eq!(sorted(kinds(&due(&s, "2026-11-29").unwrap())), both, "{role}");
        }

        // An inspector (cross-checks are not scheduled work) and a role this core does not know: nothing.
        for role in ["inspector", "astronaut"] {
            sign_in(&s, role, "someone");
            assert!(due(&s, "2026-11-29").unwrap().is_empty(), "{role}");
        }
    }

    #[test]
    fn ordinary_households_need_no_monthly_visit_unless_the_rules_say_so() {
        let (_d, mut s) = store();
        let mut h = samples::household();
        h.poverty_status = PovertyStatus::Ordinary;
        h.status_history.clear();
        for m in h.members.values_mut() {
            m.contract = None;
        }
        s.put(&h, "2026-11-29").unwrap();
        let rules = ScheduleRules::default();
        assert_eq!(monthly_required(&rules, PovertyStatus::Ordinary), 0);
        for status in [PovertyStatus::RegisteredPoor, PovertyStatus::Lifted] {
            assert_eq!(monthly_required(&rules, status), 1, "{status}");
        }
        assert_eq!(monthly_required(&rules, PovertyStatus::Monitored), 2);
        assert_eq!(monthly_required(&rules, PovertyStatus::Edge), 2);
        assert!(due(&s, "2026-11-29").unwrap().is_empty(), "an ordinary household is not due");

        // A county that visits every household says so in its rules.
        let mut every = ScheduleRules::default();
        every.monthly_visit_statuses.push(PovertyStatus::Ordinary);
        set_rules(&mut s, every, "2026-10-01", "2026-11-29").unwrap();
        let items = due(&s, "2026-11-29").unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0].overdue && items[0].reason_en == "0 of 1 helper visits in 2026-10", "{items:?}");

        // Lifted households drop out when the rules stop listing them.
        let mut few = ScheduleRules::default();
        few.monthly_visit_statuses = vec![PovertyStatus::Monitored];
        assert_eq!(monthly_required(&few, PovertyStatus::Lifted), 0);
        // An empty list is refused (a binding that left it out), naming the field.
        few.monthly_visit_statuses.clear();
        let Err(crate::Error::Validation(errors)) = set_rules(&mut s, few, "2026-11-01", "2026-11-29") else {
            panic!("an empty list of statuses must be refused")
        };
        assert_eq!(errors[0].field, "monthly_visit_statuses");
        assert!(!errors[0].message_zh.is_empty() && !errors[0].message_en.is_empty());
    }

    #[test]
    fn a_past_month_is_judged_by_the_rules_in_force_then() {
        let (_d, mut s) = store();
        let mut h = samples::household();
        for m in h.members.values_mut() {
            m.contract = None;
        }
        s.put(&h, "2026-11-29").unwrap();
        for date in ["2026-10-15", "2026-11-02"] {
            let mut v = samples::visit();
            v.household_id = h.id.clone();
            v.date = date.into();
            s.put(&v, "2026-11-29").unwrap();
        }
        assert!(due(&s, "2026-11-29").unwrap().is_empty(), "one visit a month under the defaults");

        // From 1 November registered-poor households need two visits a month: October stays judged by the rules
        // of October (one visit, done), November by the new ones (one of two).
        let mut twice = ScheduleRules::default();
        twice.monthly_visits = 2;
        set_rules(&mut s, twice.clone(), "2026-11-01", "2026-11-29").unwrap();
        let items = due(&s, "2026-11-29").unwrap();
        assert_eq!(items.len(), 1, "{items:?}");
        assert!(!items[0].overdue);
        assert_eq!(items[0].reason_en, "1 of 2 helper visits this month");
        // On 5 December, November is the past month, judged by the rules of November: overdue.
        let items = due(&s, "2026-12-05").unwrap();
        assert!(items[0].overdue && items[0].reason_en == "1 of 2 helper visits in 2026-11", "{items:?}");

        let doc = rules_doc(&s).unwrap();
        assert_eq!(doc.effective_from, "2026-11-01");
        assert_eq!(doc.history.len(), 1, "the defaults, in force since always, are kept");
        assert_eq!(in_force(&doc, "2026-10-31").monthly_visits, 1);
        assert_eq!(in_force(&doc, "2026-11-01").monthly_visits, 2);
        assert_eq!(rules_on(&s, "2020-01-01").unwrap().monthly_visits, 1);

        // Rules may not be backdated before the newest version: past months keep their judgement.
        let Err(crate::Error::Validation(errors)) = set_rules(&mut s, twice.clone(), "2026-10-15", "2026-11-29") else {
            panic!("backdating before the newest version must be refused")
        };
        assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("effective_from", "range"));
        assert!(errors[0].message_zh.contains("2026-11-01"), "{:?}", errors[0]);
        let Err(crate::Error::Validation(errors)) = set_rules(&mut s, twice.clone(), "next month", "2026-11-29") else {
            panic!("a date that is not a date must be refused")
        };
        assert_eq!(errors[0].field, "effective_from");
        // The same day corrects the newest version; nothing more goes to the history.
        twice.monthly_visits = 3;
        set_rules(&mut s, twice, "2026-11-01", "2026-11-29").unwrap();
        let doc = rules_doc(&s).unwrap();
        assert_eq!((doc.history.len(), doc.rules.monthly_visits), (1, 3));
    }

    #[test]
    fn in_force_picks_the_version_of_the_date() {
        let mut doc = RulesDoc::new(ScheduleRules { monthly_visits: 1, ..Default::default() }, "2025-01-01");
        doc.set(ScheduleRules { monthly_visits: 2, ..Default::default() }, "2026-01-01").unwrap();
        doc.set(ScheduleRules { monthly_visits: 3, ..Default::default() }, "2026-07-01").unwrap();
        for (date, visits) in [
            ("2024-06-30", 1), // before every version: the oldest known
            ("2025-01-01", 1),
            ("2025-12-31", 1),
            ("2026-01-01", 2),
            ("2026-06-30", 2),
            ("2026-07-01", 3),
            ("2030-01-01", 3),
        ] {
            assert_eq!(in_force(&doc, date).monthly_visits, visits, "{date}");
        }
        assert_eq!(
            doc.history.iter().map(|v| v.effective_from.as_str()).collect::<Vec<_>>(),
            ["2025-01-01", "2026-01-01"]
        );
    }

    #[test]
    fn a_rules_document_written_before_effective_dates_still_loads() {
        // The shape rules documents had before: no effective date, no history, no list of statuses.
        #[derive(autosurgeon::Reconcile)]
        struct OldRules {
            monthly_visits: u32,
            monitored_monthly_visits: u32,
            edge_monthly_visits: u32,
            hypertension_followup_days: u32,
            diabetes_followup_days: u32,
            mental_followup_days: u32,
            lookahead_days: u32,
        }
        #[derive(autosurgeon::Reconcile)]
        struct OldRulesDoc {
            id: String,
            rules: OldRules,
            deleted: bool,
        }
        let old = OldRulesDoc {
            id: SCHEDULE_RULES_ID.into(),
            rules: OldRules {
                monthly_visits: 2,
                monitored_monthly_visits: 3,
                edge_monthly_visits: 3,
                hypertension_followup_days: 60,
                diabetes_followup_days: 90,
                mental_followup_days: 90,
                lookahead_days: 7,
            },
            deleted: false,
        };
        let mut doc = automerge::AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &old).unwrap();
        let loaded: RulesDoc = autosurgeon::hydrate(&doc).unwrap();
        assert_eq!(loaded.effective_from, "", "in force since always");
        assert!(loaded.history.is_empty());
        assert_eq!(loaded.rules.monthly_visits, 2);
        assert_eq!(loaded.rules.monthly_visit_statuses, crate::model::default_monthly_visit_statuses());
        assert_eq!(in_force(&loaded, "2026-11-29").hypertension_followup_days, 60);
    }

    #[test]
    fn bad_date_is_a_typed_error() {
        let (_d, s) = store();
        assert!(matches!(due(&s, "soon"), Err(crate::Error::Validation(_))));
    }
}
