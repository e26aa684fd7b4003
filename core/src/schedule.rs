//! What is due: helper visits by calendar month and doctor follow-ups of chronic patients, from rules that are a
//! document (so supervisors set them and sync delivers them) and from index rows (so no document is parsed).

use crate::error::Result;
use crate::model::{
    date_problem, parse_date, Condition, FieldError, PovertyStatus, RulesDoc, ScheduleRules, SCHEDULE_RULES_ID,
};
use crate::store::Store;
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

/// The rules in force: the synced rules document, or the defaults until one arrives.
pub fn rules(store: &Store) -> Result<ScheduleRules> {
    match store.get::<RulesDoc>(SCHEDULE_RULES_ID) {
        Ok(doc) => Ok(doc.rules),
        Err(crate::Error::NotFound { .. }) => Ok(ScheduleRules::default()),
        Err(e) => Err(e),
    }
}

/// Saves new rules as the rules document (validated like any record).
pub fn set_rules(store: &mut Store, rules: ScheduleRules, today: &str) -> Result<()> {
    store.put(&RulesDoc { id: SCHEDULE_RULES_ID.into(), rules, deleted: false }, today)?;
    Ok(())
}

/// Helper visits a household needs each month under the rules.
pub fn monthly_required(rules: &ScheduleRules, status: PovertyStatus) -> u32 {
    match status {
        PovertyStatus::Monitored => rules.monitored_monthly_visits,
        PovertyStatus::Edge => rules.edge_monthly_visits,
        _ => rules.monthly_visits,
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

/// Due and overdue work on `date`: overdue first, then by due date.
pub fn due(store: &Store, date: &str) -> Result<Vec<DueItem>> {
    let day = parse_date(date).ok_or_else(|| {
        let (message_en, message_zh) = date_problem(date);
        crate::Error::Validation(vec![FieldError {
            field: "date".into(),
            code: "invalid".into(),
            message_en,
            message_zh,
        }])
    })?;
    let rules = rules(store)?;
    let this_month = &date[..7];
    let prev_end = previous_month_end(day);
    let prev_month = prev_end.format("%Y-%m").to_string();
    let kinds = HELPER_VISIT_KINDS.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(",");
    let conn = store.conn();
    let mut items = Vec::new();

    let sql = format!(
        "SELECT h.doc_id, h.number, h.head_name, h.village, h.status,
            (SELECT count(*) FROM ix_visits v WHERE v.household_id = h.doc_id AND v.deleted = 0 AND v.month = ?1 AND v.kind IN ({kinds})),
            (SELECT count(*) FROM ix_visits v WHERE v.household_id = h.doc_id AND v.deleted = 0 AND v.month = ?2 AND v.kind IN ({kinds}))
         FROM ix_households h WHERE h.deleted = 0 ORDER BY h.village, h.number"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([this_month, prev_month.as_str()])?;
    while let Some(r) = rows.next()? {
        let status = PovertyStatus::parse(&r.get::<_, String>(4)?).unwrap_or_default();
        let required = monthly_required(&rules, status);
        let (now_count, prev_count): (i64, i64) = (r.get(5)?, r.get(6)?);
        let (overdue, due_date, en, zh) = if prev_count < i64::from(required) {
            (
                true,
                prev_end,
                format!("{prev_count} of {required} helper visits in {prev_month}"),
                format!("{prev_month}走访{prev_count}次,应走访{required}次"),
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
    while let Some(r) = rows.next()? {
        let conditions: Vec<Condition> = r.get::<_, String>(2)?.split(',').filter_map(Condition::parse).collect();
        let Some(interval) = followup_interval(&rules, &conditions) else { continue };
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
        s.put(&h, "2026-11-29").unwrap();
        let items = due(&s, "2026-11-29").unwrap();
        assert!(items[0].overdue && items[0].reason_en.contains("1 of 2"), "{items:?}");
        let mut r = ScheduleRules::default();
        r.monitored_monthly_visits = 1;
        set_rules(&mut s, r, "2026-11-29").unwrap();
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

    #[test]
    fn bad_date_is_a_typed_error() {
        let (_d, s) = store();
        assert!(matches!(due(&s, "soon"), Err(crate::Error::Validation(_))));
    }
}
