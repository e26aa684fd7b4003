//! Derived index rows: what lists, searches and the due list read, computed from a document's record.
//!
//! The same function runs for a local write, for changes received by sync and for a full rebuild, so the three
//! can never disagree.

use crate::doc::Document;
use crate::error::Result;
use crate::model::{classify, mask_national_id, DocKind, Household, Screening, Thresholds, Visit};
use rusqlite::{params, Transaction};

/// Replaces the index rows of one document with rows derived from its current state.
pub fn reindex(tx: &Transaction, id: &str, kind: DocKind, doc: &mut Document) -> Result<()> {
    clear(tx, id)?;
    match kind {
        DocKind::Household => household(tx, &doc.read::<Household>()?)?,
        DocKind::Visit => visit(tx, &doc.read::<Visit>()?)?,
        DocKind::Screening => screening(tx, &doc.read::<Screening>()?)?,
        DocKind::Rules => {}
    }
    let conflicts = doc.conflict_count();
    if conflicts > 0 {
        exec(tx, "INSERT INTO ix_conflicts (doc_id, fields) VALUES (?1, ?2)", params![id, conflicts as i64])?;
    }
    Ok(())
}

/// Runs a statement through the connection's statement cache: reindexing runs for every write and every pushed
/// document, and preparing its statements anew each time was a tenth of a server's ingest.
fn exec<P: rusqlite::Params>(tx: &Transaction, sql: &str, params: P) -> Result<usize> {
    Ok(tx.prepare_cached(sql)?.execute(params)?)
}

/// Deletes the index rows of one document.
pub(crate) fn clear(tx: &Transaction, id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM ix_households WHERE doc_id = ?1",
        "DELETE FROM ix_household_helpers WHERE doc_id = ?1",
        "DELETE FROM ix_members WHERE household_id = ?1",
        "DELETE FROM ix_visits WHERE doc_id = ?1",
        "DELETE FROM ix_screenings WHERE doc_id = ?1",
        "DELETE FROM ix_problems WHERE visit_id = ?1",
        "DELETE FROM ix_conflicts WHERE doc_id = ?1",
    ] {
        exec(tx, sql, [id])?;
    }
    Ok(())
}

/// Text a household can be found by: number, head, members' names and masked ID numbers, village and hamlet.
fn search_text(h: &Household) -> String {
    let mut parts = vec![h.number.clone(), h.head_name.clone(), h.village.clone(), h.hamlet.clone(), h.address.clone()];
    let mut members: Vec<_> = h.members.values().collect();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    for m in members {
        parts.push(m.name.clone());
        parts.push(mask_national_id(&m.national_id));
    }
    parts.join(" ").to_lowercase()
}

fn household(tx: &Transaction, h: &Household) -> Result<()> {
    exec(
        tx,
        "INSERT INTO ix_households (doc_id, number, township, village, hamlet, head_name, status, alert, doctor_team, search, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            h.id,
            h.number,
            h.township,
            h.village,
            h.hamlet,
            h.head_name,
            h.poverty_status.code(),
            h.alert_level.map(|a| a.code()),
            h.doctor_team,
            search_text(h),
            h.deleted
        ],
    )?;
    if h.deleted {
        return Ok(());
    }
    for helper in &h.helper_ids {
        exec(tx, "INSERT OR IGNORE INTO ix_household_helpers (doc_id, helper) VALUES (?1, ?2)", params![h.id, helper])?;
    }
    for m in h.members.values() {
        let conditions: Vec<&str> = m.conditions.iter().map(|c| c.code()).collect();
        exec(
            tx,
            "INSERT OR REPLACE INTO ix_members (member_id, household_id, name, masked_id, birth_date, conditions, contract_team, contract_signed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                m.id,
                h.id,
                m.name,
                mask_national_id(&m.national_id),
                m.birth_date,
                conditions.join(","),
                m.contract.as_ref().map(|c| c.team.clone()),
                m.contract.as_ref().map(|c| c.signed_date.clone())
            ],
        )?;
    }
    Ok(())
}

fn visit(tx: &Transaction, v: &Visit) -> Result<()> {
    let month = v.date.get(..7).unwrap_or_default();
    exec(
        tx,
        "INSERT INTO ix_visits (doc_id, household_id, member_id, date, month, kind, visitor, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![v.id, v.household_id, v.member_id, v.date, month, v.kind.code(), v.visitor, v.deleted],
    )?;
    if v.deleted {
        return Ok(());
    }
    for (pid, p) in &v.problems {
        exec(
            tx,
            "INSERT INTO ix_problems (visit_id, problem_id, household_id, date, description, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![v.id, pid, v.household_id, v.date, p.description, p.status.code()],
        )?;
    }
    Ok(())
}

fn screening(tx: &Transaction, s: &Screening) -> Result<()> {
    let c = classify(s, &Thresholds::default());
    exec(
        tx,
        "INSERT INTO ix_screenings (doc_id, household_id, member_id, date, bp_grade, glucose_band, bmi_band, referral, abnormal, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            s.id,
            s.household_id,
            s.member_id,
            s.date,
            c.bp_grade.map(|g| g.code()),
            c.glucose_band.map(|g| g.code()),
            c.bmi_band.map(|g| g.code()),
            effective_referral(s, &c).code(),
            c.abnormal,
            s.deleted
        ],
    )?;
    Ok(())
}

/// The referral that counts: the screener's own decision where made, else the core's suggestion.
pub fn effective_referral(s: &Screening, c: &crate::model::Classification) -> crate::model::ReferralLevel {
    s.referral.level.max(c.suggested_referral)
}
