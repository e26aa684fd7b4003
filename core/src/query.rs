//! The lists and details the app shows, read from index rows; documents are parsed only for a detail view.

use crate::doc::Conflict;
use crate::error::Result;
use crate::model::{classify, AlertLevel, Classification, Household, PovertyStatus, Screening, Thresholds, Visit};
use crate::store::Store;
use rusqlite::types::Value as SqlValue;
use serde::{Deserialize, Serialize};

/// Filters of the household list; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct HouseholdFilter {
    #[serde(default)]
    pub village: Option<String>,
    #[serde(default)]
    pub status: Option<PovertyStatus>,
    #[serde(default)]
    pub alert: Option<AlertLevel>,
    /// Matches household number, names, village, hamlet, address or a masked ID number.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub helper: Option<String>,
}

/// One line of the household list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct HouseholdSummary {
    pub id: String,
    pub number: String,
    pub village: String,
    pub hamlet: String,
    pub head_name: String,
    pub status: PovertyStatus,
    pub alert: Option<AlertLevel>,
    pub members: u32,
    pub last_visit: Option<String>,
    pub open_problems: u32,
}

/// A problem not yet resolved, from any visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct OpenProblem {
    pub visit_id: String,
    pub problem_id: String,
    pub household_id: String,
    pub date: String,
    pub description: String,
    pub status: crate::model::ProblemStatus,
}

/// A screening with its derived classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct ClassifiedScreening {
    pub screening: Screening,
    pub classification: Classification,
}

/// Everything the household screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct HouseholdDetail {
    pub household: Household,
    pub last_visits: Vec<Visit>,
    pub open_problems: Vec<OpenProblem>,
    pub screenings: Vec<ClassifiedScreening>,
    pub conflicts: Vec<Conflict>,
}

/// An abnormal screening or referral that no doctor follow-up has answered yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct PendingReferral {
    pub screening_id: String,
    pub household_id: String,
    pub member_id: String,
    pub member_name: String,
    pub date: String,
    pub referral: crate::model::ReferralLevel,
    pub bp_grade: Option<crate::model::BpGrade>,
    pub glucose_band: Option<crate::model::GlucoseBand>,
}

/// The household list, filtered, ordered by village and number; tombstoned households are left out.
pub fn households(store: &Store, f: &HouseholdFilter) -> Result<Vec<HouseholdSummary>> {
    let mut sql = String::from(
        "SELECT h.doc_id, h.number, h.village, h.hamlet, h.head_name, h.status, h.alert,
            (SELECT count(*) FROM ix_members m WHERE m.household_id = h.doc_id),
            (SELECT max(v.date) FROM ix_visits v WHERE v.household_id = h.doc_id AND v.deleted = 0),
            (SELECT count(*) FROM ix_problems p WHERE p.household_id = h.doc_id AND p.status <> 'resolved')
         FROM ix_households h WHERE h.deleted = 0",
    );
    let mut args: Vec<SqlValue> = Vec::new();
    let mut add = |clause: &str, v: String| {
        args.push(SqlValue::Text(v));
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(v) = &f.village {
        add(" AND h.village = ?", v.clone());
    }
    if let Some(s) = f.status {
        add(" AND h.status = ?", s.code().into());
    }
    if let Some(a) = f.alert {
        add(" AND h.alert = ?", a.code().into());
    }
    if let Some(t) = f.text.as_ref().filter(|t| !t.trim().is_empty()) {
        let escaped = t.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        add(" AND h.search LIKE ? ESCAPE '\\'", format!("%{escaped}%"));
    }
    if let Some(hp) = &f.helper {
        add(
            " AND EXISTS (SELECT 1 FROM ix_household_helpers x WHERE x.doc_id = h.doc_id AND x.helper = ?)",
            hp.clone(),
        );
    }
    sql.push_str(" ORDER BY h.village, h.number");
    let mut stmt = store.conn().prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        Ok(HouseholdSummary {
            id: r.get(0)?,
            number: r.get(1)?,
            village: r.get(2)?,
            hamlet: r.get(3)?,
            head_name: r.get(4)?,
            status: PovertyStatus::parse(&r.get::<_, String>(5)?).unwrap_or_default(),
            alert: r.get::<_, Option<String>>(6)?.and_then(|a| AlertLevel::parse(&a)),
            members: r.get::<_, i64>(7)? as u32,
            last_visit: r.get(8)?,
            open_problems: r.get::<_, i64>(9)? as u32,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn ids(store: &Store, sql: &str, arg: &str) -> Result<Vec<String>> {
    let mut stmt = store.conn().prepare(sql)?;
    let rows = stmt.query_map([arg], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Visits of a household, newest first.
pub fn visits_of_household(store: &Store, household_id: &str) -> Result<Vec<Visit>> {
    ids(
        store,
        "SELECT doc_id FROM ix_visits WHERE household_id = ?1 AND deleted = 0 ORDER BY date DESC, doc_id DESC",
        household_id,
    )?
    .iter()
    .map(|id| store.get::<Visit>(id))
    .collect()
}

fn classified(store: &Store, ids: Vec<String>) -> Result<Vec<ClassifiedScreening>> {
    let t = Thresholds::default();
    ids.iter()
        .map(|id| {
            let screening: Screening = store.get(id)?;
            let classification = classify(&screening, &t);
            Ok(ClassifiedScreening { screening, classification })
        })
        .collect()
}

/// Screenings of a member, newest first, each with its classification.
pub fn screenings_of_member(store: &Store, member_id: &str) -> Result<Vec<ClassifiedScreening>> {
    let ids = ids(
        store,
        "SELECT doc_id FROM ix_screenings WHERE member_id = ?1 AND deleted = 0 ORDER BY date DESC, doc_id DESC",
        member_id,
    )?;
    classified(store, ids)
}

/// Problems of a household that are not resolved.
pub fn open_problems(store: &Store, household_id: Option<&str>) -> Result<Vec<OpenProblem>> {
    let mut stmt = store.conn().prepare(
        "SELECT visit_id, problem_id, household_id, date, description, status FROM ix_problems
         WHERE status <> 'resolved' AND (?1 IS NULL OR household_id = ?1) ORDER BY date, visit_id, problem_id",
    )?;
    let rows = stmt.query_map([household_id], |r| {
        Ok(OpenProblem {
            visit_id: r.get(0)?,
            problem_id: r.get(1)?,
            household_id: r.get(2)?,
            date: r.get(3)?,
            description: r.get(4)?,
            status: crate::model::ProblemStatus::parse(&r.get::<_, String>(5)?).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The household screen: the record, its five latest visits, open problems, screenings and conflicts.
pub fn household_detail(store: &Store, id: &str) -> Result<HouseholdDetail> {
    let household: Household = store.get(id)?;
    let mut last_visits = visits_of_household(store, id)?;
    last_visits.truncate(5);
    let screening_ids = ids(
        store,
        "SELECT doc_id FROM ix_screenings WHERE household_id = ?1 AND deleted = 0 ORDER BY date DESC, doc_id DESC",
        id,
    )?;
    Ok(HouseholdDetail {
        open_problems: open_problems(store, Some(id))?,
        screenings: classified(store, screening_ids)?,
        conflicts: store.conflicts(id)?,
        household,
        last_visits,
    })
}

/// Abnormal screenings and referrals with no doctor follow-up on or after the screening's date.
pub fn pending_referrals(store: &Store) -> Result<Vec<PendingReferral>> {
    let mut stmt = store.conn().prepare(
        "SELECT s.doc_id, s.household_id, s.member_id, coalesce(m.name, ''), s.date, s.referral, s.bp_grade, s.glucose_band
         FROM ix_screenings s LEFT JOIN ix_members m ON m.member_id = s.member_id
         WHERE s.deleted = 0 AND (s.abnormal = 1 OR s.referral <> 'none')
           AND NOT EXISTS (SELECT 1 FROM ix_visits v WHERE v.household_id = s.household_id AND v.deleted = 0
                AND v.kind = 'doctor_follow_up' AND v.date >= s.date AND (v.member_id IS NULL OR v.member_id = s.member_id))
         ORDER BY CASE s.referral WHEN 'urgent' THEN 0 WHEN 'routine' THEN 1 ELSE 2 END, s.date",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PendingReferral {
            screening_id: r.get(0)?,
            household_id: r.get(1)?,
            member_id: r.get(2)?,
            member_name: r.get(3)?,
            date: r.get(4)?,
            referral: crate::model::ReferralLevel::parse(&r.get::<_, String>(5)?).unwrap_or_default(),
            bp_grade: r.get::<_, Option<String>>(6)?.and_then(|g| crate::model::BpGrade::parse(&g)),
            glucose_band: r.get::<_, Option<String>>(7)?.and_then(|g| crate::model::GlucoseBand::parse(&g)),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every unresolved conflict in the store.
pub fn all_conflicts(store: &Store) -> Result<Vec<Conflict>> {
    let mut out = Vec::new();
    for id in store.conflicted_docs()? {
        out.extend(store.conflicts(&id)?);
    }
    Ok(out)
}
