//! Derived index rows: what lists, searches, the due list and the server's reports read, computed from a
//! document's record.
//!
//! Two steps: [`derive`] is a pure function from a document to its rows ([`IndexRows`]); a writer stores them. The
//! SQLite writer is here ([`reindex`], [`write`]); the server's PostgreSQL store writes the same rows with its own
//! writer. The same derivation runs for a local write, for changes received by sync, for a full rebuild and for a
//! server's view of a past day, so none of them can disagree.

use crate::doc::Document;
use crate::error::{Error, Result};
use crate::model::{classify, mask_national_id, DocKind, Household, Screening, Thresholds, Visit};
use rusqlite::{params, Transaction};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Every index row one document yields, table by table. Field names are the tables' column names, so a database
/// that maps JSON objects onto rows by name (PostgreSQL's `json_populate_recordset`) stores them as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRows {
    pub households: Vec<HouseholdRow>,
    pub helpers: Vec<HelperRow>,
    pub members: Vec<MemberRow>,
    pub visits: Vec<VisitRow>,
    pub problems: Vec<ProblemRow>,
    pub screenings: Vec<ScreeningRow>,
    pub conflicts: Vec<ConflictRow>,
}

/// `ix_households`: a household's list and search columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HouseholdRow {
    pub doc_id: String,
    pub number: String,
    pub township: String,
    pub village: String,
    pub hamlet: String,
    pub head_name: String,
    pub status: String,
    pub alert: Option<String>,
    pub doctor_team: String,
    pub search: String,
    #[serde(serialize_with = "flag_out", deserialize_with = "flag_in")]
    pub deleted: bool,
}

/// `ix_household_helpers`: a helper named in the household's own record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelperRow {
    pub doc_id: String,
    pub helper: String,
}

/// `ix_members`: one current member of a live household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub member_id: String,
    pub household_id: String,
    pub name: String,
    pub masked_id: String,
    pub birth_date: String,
    /// Condition codes joined with `,`.
    pub conditions: String,
    pub contract_team: Option<String>,
    pub contract_signed: Option<String>,
}

/// `ix_visits`: one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitRow {
    pub doc_id: String,
    pub household_id: String,
    pub member_id: Option<String>,
    pub date: String,
    /// `YYYY-MM` of `date`.
    pub month: String,
    pub kind: String,
    pub visitor: String,
    #[serde(serialize_with = "flag_out", deserialize_with = "flag_in")]
    pub deleted: bool,
}

/// `ix_problems`: one problem found on a live visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemRow {
    pub visit_id: String,
    pub problem_id: String,
    pub household_id: String,
    pub date: String,
    pub description: String,
    pub status: String,
}

/// `ix_screenings`: one screening with its classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningRow {
    pub doc_id: String,
    pub household_id: String,
    pub member_id: String,
    pub date: String,
    pub bp_grade: Option<String>,
    pub glucose_band: Option<String>,
    pub bmi_band: Option<String>,
    /// The referral that counts ([`effective_referral`]).
    pub referral: String,
    #[serde(serialize_with = "flag_out", deserialize_with = "flag_in")]
    pub abnormal: bool,
    #[serde(serialize_with = "flag_out", deserialize_with = "flag_in")]
    pub deleted: bool,
}

/// `ix_conflicts`: a document with fields whose concurrent values wait for a person to choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictRow {
    pub doc_id: String,
    pub fields: i64,
}

/// Flags are stored as 0/1 integers in both databases (the DDL is shared).
fn flag_out<S: Serializer>(v: &bool, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_i64(i64::from(*v))
}

/// Reads a flag written as 0/1 (or as a JSON boolean).
fn flag_in<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Int(i64),
        Bool(bool),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Int(n) => n != 0,
        Flag::Bool(b) => b,
    })
}

/// The rows a document yields in its current state. Pure: reads the document, touches no database.
pub fn derive(id: &str, kind: DocKind, doc: &mut Document) -> Result<IndexRows> {
    Ok(derive_rows(id, kind, doc, false)?.0)
}

/// The rows a document yields, with its record packed (`model::packed`: households, visits and screenings), for a
/// store that keeps each record beside its document so that pages read records without parsing documents. The record
/// is read from the document once for both.
pub fn derive_with_record(id: &str, kind: DocKind, doc: &mut Document) -> Result<(IndexRows, Option<Vec<u8>>)> {
    derive_rows(id, kind, doc, true)
}

fn derive_rows(id: &str, kind: DocKind, doc: &mut Document, packed: bool) -> Result<(IndexRows, Option<Vec<u8>>)> {
    fn pack<R: serde::Serialize>(packed: bool, record: &R) -> Result<Option<Vec<u8>>> {
        packed
            .then(|| crate::model::packed::pack(record).map_err(|e| Error::Document(format!("record packed: {e}"))))
            .transpose()
    }
    let mut rows = IndexRows::default();
    let record = match kind {
        DocKind::Household => {
            let h = doc.read::<Household>()?;
            household(&mut rows, &h);
            pack(packed, &h)?
        }
        DocKind::Visit => {
            let v = doc.read::<Visit>()?;
            visit(&mut rows, &v);
            pack(packed, &v)?
        }
        DocKind::Screening => {
            let s = doc.read::<Screening>()?;
            screening(&mut rows, &s);
            pack(packed, &s)?
        }
        DocKind::Rules => None,
    };
    let conflicts = doc.conflict_count();
    if conflicts > 0 {
        rows.conflicts.push(ConflictRow { doc_id: id.to_string(), fields: conflicts as i64 });
    }
    Ok((rows, record))
}

/// Replaces the index rows of one document with rows derived from its current state (the SQLite writer).
pub fn reindex(tx: &Transaction, id: &str, kind: DocKind, doc: &mut Document) -> Result<()> {
    replace(tx, id, &derive(id, kind, doc)?)
}

/// Replaces the index rows of one document with `rows`.
pub fn replace(tx: &Transaction, id: &str, rows: &IndexRows) -> Result<()> {
    clear(tx, id)?;
    write(tx, rows)
}

/// Runs a statement through the connection's statement cache: reindexing runs for every write and every pushed
/// document, and preparing its statements anew each time was a tenth of a server's ingest.
fn exec<P: rusqlite::Params>(tx: &Transaction, sql: &str, params: P) -> Result<usize> {
    Ok(tx.prepare_cached(sql)?.execute(params)?)
}

/// Statements that delete the index rows of one document (`?1`), in SQL both databases accept once placeholders
/// are spelt their way.
pub const CLEAR_SQL: &[&str] = &[
    "DELETE FROM ix_households WHERE doc_id = ?1",
    "DELETE FROM ix_household_helpers WHERE doc_id = ?1",
    "DELETE FROM ix_members WHERE household_id = ?1",
    "DELETE FROM ix_visits WHERE doc_id = ?1",
    "DELETE FROM ix_screenings WHERE doc_id = ?1",
    "DELETE FROM ix_problems WHERE visit_id = ?1",
    "DELETE FROM ix_conflicts WHERE doc_id = ?1",
];

/// Deletes the index rows of one document.
pub(crate) fn clear(tx: &Transaction, id: &str) -> Result<()> {
    for sql in CLEAR_SQL {
        exec(tx, sql, [id])?;
    }
    Ok(())
}

/// Writes derived rows into SQLite's `ix_*` tables (the document's old rows already cleared).
pub fn write(tx: &Transaction, rows: &IndexRows) -> Result<()> {
    for h in &rows.households {
        exec(
            tx,
            "INSERT INTO ix_households (doc_id, number, township, village, hamlet, head_name, status, alert, doctor_team, search, deleted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                h.doc_id, h.number, h.township, h.village, h.hamlet, h.head_name, h.status, h.alert, h.doctor_team,
                h.search, h.deleted
            ],
        )?;
    }
    for h in &rows.helpers {
        exec(
            tx,
            "INSERT OR IGNORE INTO ix_household_helpers (doc_id, helper) VALUES (?1, ?2)",
            params![h.doc_id, h.helper],
        )?;
    }
    for m in &rows.members {
        // Keyed by member id across households: a member moved between households keeps one row.
        exec(
            tx,
            "INSERT OR REPLACE INTO ix_members (member_id, household_id, name, masked_id, birth_date, conditions, contract_team, contract_signed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                m.member_id, m.household_id, m.name, m.masked_id, m.birth_date, m.conditions, m.contract_team,
                m.contract_signed
            ],
        )?;
    }
    for v in &rows.visits {
        exec(
            tx,
            "INSERT INTO ix_visits (doc_id, household_id, member_id, date, month, kind, visitor, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![v.doc_id, v.household_id, v.member_id, v.date, v.month, v.kind, v.visitor, v.deleted],
        )?;
    }
    for p in &rows.problems {
        exec(
            tx,
            "INSERT INTO ix_problems (visit_id, problem_id, household_id, date, description, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![p.visit_id, p.problem_id, p.household_id, p.date, p.description, p.status],
        )?;
    }
    for s in &rows.screenings {
        exec(
            tx,
            "INSERT INTO ix_screenings (doc_id, household_id, member_id, date, bp_grade, glucose_band, bmi_band, referral, abnormal, deleted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                s.doc_id, s.household_id, s.member_id, s.date, s.bp_grade, s.glucose_band, s.bmi_band, s.referral,
                s.abnormal, s.deleted
            ],
        )?;
    }
    for c in &rows.conflicts {
        exec(tx, "INSERT INTO ix_conflicts (doc_id, fields) VALUES (?1, ?2)", params![c.doc_id, c.fields])?;
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

fn household(rows: &mut IndexRows, h: &Household) {
    rows.households.push(HouseholdRow {
        doc_id: h.id.clone(),
        number: h.number.clone(),
        township: h.township.clone(),
        village: h.village.clone(),
        hamlet: h.hamlet.clone(),
        head_name: h.head_name.clone(),
        status: h.poverty_status.code().to_string(),
        alert: h.alert_level.map(|a| a.code().to_string()),
        doctor_team: h.doctor_team.clone(),
        search: search_text(h),
        deleted: h.deleted,
    });
    if h.deleted {
        return;
    }
    for helper in &h.helper_ids {
        let row = HelperRow { doc_id: h.id.clone(), helper: helper.clone() };
        if !rows.helpers.contains(&row) {
            rows.helpers.push(row);
        }
    }
    for m in h.members.values() {
        let conditions: Vec<&str> = m.conditions.iter().map(|c| c.code()).collect();
        rows.members.push(MemberRow {
            member_id: m.id.clone(),
            household_id: h.id.clone(),
            name: m.name.clone(),
            masked_id: mask_national_id(&m.national_id),
            birth_date: m.birth_date.clone(),
            conditions: conditions.join(","),
            contract_team: m.contract.as_ref().map(|c| c.team.clone()),
            contract_signed: m.contract.as_ref().map(|c| c.signed_date.clone()),
        });
    }
}

fn visit(rows: &mut IndexRows, v: &Visit) {
    rows.visits.push(VisitRow {
        doc_id: v.id.clone(),
        household_id: v.household_id.clone(),
        member_id: v.member_id.clone(),
        date: v.date.clone(),
        month: v.date.get(..7).unwrap_or_default().to_string(),
        kind: v.kind.code().to_string(),
        visitor: v.visitor.clone(),
        deleted: v.deleted,
    });
    if v.deleted {
        return;
    }
    for (pid, p) in &v.problems {
        rows.problems.push(ProblemRow {
            visit_id: v.id.clone(),
            problem_id: pid.clone(),
            household_id: v.household_id.clone(),
            date: v.date.clone(),
            description: p.description.clone(),
            status: p.status.code().to_string(),
        });
    }
}

fn screening(rows: &mut IndexRows, s: &Screening) {
    let c = classify(s, &Thresholds::default());
    rows.screenings.push(ScreeningRow {
        doc_id: s.id.clone(),
        household_id: s.household_id.clone(),
        member_id: s.member_id.clone(),
        date: s.date.clone(),
        bp_grade: c.bp_grade.map(|g| g.code().to_string()),
        glucose_band: c.glucose_band.map(|g| g.code().to_string()),
        bmi_band: c.bmi_band.map(|g| g.code().to_string()),
        referral: effective_referral(s, &c).code().to_string(),
        abnormal: c.abnormal,
        deleted: s.deleted,
    });
}

/// The referral that counts: the screener's own decision where made, else the core's suggestion.
pub fn effective_referral(s: &Screening, c: &crate::model::Classification) -> crate::model::ReferralLevel {
    s.referral.level.max(c.suggested_referral)
}
