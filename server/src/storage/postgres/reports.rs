//! The PostgreSQL answer to the pages' report queries (`web::reports::Reports`), the counterpart of
//! `storage::sqlite_reports` over the same tables.
//!
//! The live snapshot reads the derived `ix_*` rows and hydrates household and screening documents, caching each by
//! the sequence of its last change. An "as of" snapshot keeps the live rows of documents unchanged since that day
//! and rebuilds the others from the changes received by the end of the day, deriving their rows with the core's own
//! `index::reindex` (through `index::derived_rows`). Rows are read as JSON objects both from PostgreSQL
//! (`row_to_json`) and from the derived rows, so one set of converters serves both paths.

use super::{index, off_runtime, pg, Pg, Pool};
use crate::storage::{Placement, Result};
use crate::web::reports::{AsOf, HouseholdEntry, ProblemRow, Reports, ScreeningEntry, Snapshot, VisitRow};
use automerge::ActorId;
use doorstep_core::doc::Document;
use doorstep_core::model::{
    BpGrade, DocKind, GlucoseBand, Household, ProblemStatus, ReferralLevel, RulesDoc, Screening, VisitKind,
    SCHEDULE_RULES_ID,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// How many past days' snapshots are kept in memory.
const AS_OF_CACHE: usize = 4;

/// Report queries over the server's PostgreSQL database.
pub struct PostgresReports {
    pool: Pool,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    households: HashMap<String, (u64, Arc<Household>)>,
    screenings: HashMap<String, (u64, Arc<Screening>)>,
    live: Option<Arc<Snapshot>>,
    past: Vec<(AsOf, Arc<Snapshot>)>,
}

/// A document's row in `docs`, without its bytes.
struct DocMeta {
    id: String,
    kind: DocKind,
    last_seq: u64,
    placement: Placement,
}

impl PostgresReports {
    pub(super) fn new(pool: Pool) -> Self {
        Self { pool, cache: Mutex::new(Cache::default()) }
    }

    fn live(&self, tx: &mut pg::Transaction<'_>, cache: &mut Cache) -> Result<Arc<Snapshot>> {
        let head: i64 = tx.query_one("SELECT last_seq FROM counter WHERE id = 1", &[]).pg()?.get(0);
        if let Some(s) = &cache.live {
            if s.head == head as u64 {
                return Ok(s.clone());
            }
        }
        let docs = doc_metas(tx)?;
        let assignments = assignments(tx, None)?;
        // Parse only documents changed since they were cached.
        let stale: Vec<String> = docs
            .iter()
            .filter(|d| match d.kind {
                DocKind::Household => cache.households.get(&d.id).is_none_or(|(seq, _)| *seq != d.last_seq),
                DocKind::Screening => cache.screenings.get(&d.id).is_none_or(|(seq, _)| *seq != d.last_seq),
                DocKind::Rules => d.id == SCHEDULE_RULES_ID,
                DocKind::Visit => false,
            })
            .map(|d| d.id.clone())
            .collect();
        let mut loaded: HashMap<String, Document> = HashMap::new();
        for r in tx.query("SELECT id, bytes FROM docs WHERE id = ANY($1)", &[&stale]).pg()? {
            let bytes: Vec<u8> = r.get(1);
            loaded.insert(r.get(0), Document::load(&bytes, &ActorId::random())?);
        }
        let mut snapshot = Snapshot { head: head as u64, ..Default::default() };
        let mut seen_h = HashSet::new();
        let mut seen_s = HashSet::new();
        let mut placements = HashMap::new();
        for d in &docs {
            match d.kind {
                DocKind::Household => {
                    seen_h.insert(d.id.clone());
                    let record = match loaded.get(&d.id) {
                        Some(doc) => {
                            let h = Arc::new(doc.read::<Household>()?);
                            cache.households.insert(d.id.clone(), (d.last_seq, h.clone()));
                            h
                        }
                        None => match cache.households.get(&d.id) {
                            Some((_, h)) => h.clone(),
                            None => continue,
                        },
                    };
                    placements.insert(d.id.clone(), (record, d.placement.clone()));
                }
                DocKind::Screening => {
                    seen_s.insert(d.id.clone());
                    if let Some(doc) = loaded.get(&d.id) {
                        cache.screenings.insert(d.id.clone(), (d.last_seq, Arc::new(doc.read::<Screening>()?)));
                    }
                }
                DocKind::Rules if d.id == SCHEDULE_RULES_ID => {
                    if let Some(doc) = loaded.get(&d.id) {
                        snapshot.rules = doc.read::<RulesDoc>()?;
                    }
                }
                _ => {}
            }
        }
        cache.households.retain(|id, _| seen_h.contains(id));
        cache.screenings.retain(|id, _| seen_s.contains(id));
        snapshot.households = households(placements, &assignments);
        snapshot.visits = json_rows(
            tx,
            "SELECT row_to_json(t)::text FROM ix_visits t WHERE deleted = 0 ORDER BY date COLLATE \"C\", doc_id COLLATE \"C\"",
        )?
        .iter()
        .map(visit_row)
        .collect();
        snapshot.problems = json_rows(
            tx,
            "SELECT row_to_json(p)::text FROM ix_problems p JOIN ix_visits v ON v.doc_id = p.visit_id AND v.deleted = 0
             ORDER BY p.date COLLATE \"C\", p.visit_id COLLATE \"C\", p.problem_id COLLATE \"C\"",
        )?
        .iter()
        .map(problem_row)
        .collect();
        let screenings = &cache.screenings;
        snapshot.screenings = screening_rows(
            &json_rows(
                tx,
                "SELECT row_to_json(t)::text FROM ix_screenings t WHERE deleted = 0
                 ORDER BY date COLLATE \"C\", doc_id COLLATE \"C\"",
            )?,
            &|id| screenings.get(id).map(|(_, s)| s.clone()),
        );
        snapshot.conflicts = conflict_rows(&json_rows(tx, "SELECT row_to_json(t)::text FROM ix_conflicts t")?);
        let snapshot = Arc::new(snapshot);
        cache.live = Some(snapshot.clone());
        Ok(snapshot)
    }

    fn past(&self, tx: &mut pg::Transaction<'_>, live: &Snapshot, as_of: &AsOf) -> Result<Snapshot> {
        // Which documents existed at the cutoff, and which have changed since.
        let mut existed = HashSet::new();
        let mut changed = HashSet::new();
        for r in tx.query("SELECT doc_id, min(received_ms), max(received_ms) FROM changes GROUP BY doc_id", &[]).pg()? {
            let (id, first, last): (String, i64, i64) = (r.get(0), r.get(1), r.get(2));
            if first <= as_of.cutoff_ms {
                if last > as_of.cutoff_ms {
                    changed.insert(id.clone());
                }
                existed.insert(id);
            }
        }
        let keep = |id: &str| existed.contains(id) && !changed.contains(id);
        let metas: HashMap<String, DocMeta> = doc_metas(tx)?.into_iter().map(|d| (d.id.clone(), d)).collect();

        // Rebuild the changed documents from the changes received by the cutoff; derive their rows with the core.
        let mut derived: HashMap<&'static str, Vec<Value>> = HashMap::new();
        let mut households_then = HashMap::new();
        let mut screenings_then = HashMap::new();
        let mut rules = if keep(SCHEDULE_RULES_ID) { live.rules.clone() } else { Default::default() };
        let mut ids: Vec<&String> = changed.iter().collect();
        ids.sort();
        for id in ids {
            let Some(meta) = metas.get(id) else { continue };
            let bytes: Vec<Vec<u8>> = tx
                .query(
                    "SELECT bytes FROM changes WHERE doc_id = $1 AND received_ms <= $2 ORDER BY seq",
                    &[id, &as_of.cutoff_ms],
                )
                .pg()?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut doc = Document::empty(&ActorId::random());
            doc.apply(&bytes)?;
            for (table, rows) in index::derived_rows(id, meta.kind, &mut doc)? {
                if let Value::Array(rows) = rows {
                    derived.entry(table).or_default().extend(rows);
                }
            }
            match meta.kind {
                DocKind::Household => {
                    households_then.insert(id.clone(), (Arc::new(doc.read::<Household>()?), meta.placement.clone()));
                }
                DocKind::Screening => {
                    screenings_then.insert(id.clone(), Arc::new(doc.read::<Screening>()?));
                }
                DocKind::Rules if id == SCHEDULE_RULES_ID => rules = doc.read::<RulesDoc>()?,
                _ => {}
            }
        }
        let rows_of = |table: &str| derived.get(table).cloned().unwrap_or_default();
        let live_visit = |v: &Value| text(v, "deleted") == "0";
        let derived_visits: Vec<Value> = rows_of("ix_visits").into_iter().filter(live_visit).collect();
        let live_visit_ids: HashSet<String> = derived_visits.iter().map(|v| text(v, "doc_id")).collect();

        let mut placements: HashMap<String, (Arc<Household>, Placement)> = live
            .households
            .iter()
            .filter(|(id, _)| keep(id))
            .map(|(id, e)| (id.clone(), (e.record.clone(), e.placement.clone())))
            .collect();
        placements.extend(households_then);
        let assignments = assignments(tx, Some(as_of.cutoff_ms))?;
        let mut visits: Vec<VisitRow> = live.visits.iter().filter(|v| keep(&v.id)).cloned().collect();
        visits.extend(derived_visits.iter().map(visit_row));
        visits.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
        let mut problems: Vec<ProblemRow> = live.problems.iter().filter(|p| keep(&p.visit_id)).cloned().collect();
        let mut derived_problems: Vec<ProblemRow> = rows_of("ix_problems")
            .iter()
            .filter(|p| live_visit_ids.contains(&text(p, "visit_id")))
            .map(problem_row)
            .collect();
        derived_problems.sort_by(|a, b| {
            (a.date.as_str(), a.visit_id.as_str(), a.problem_id.as_str()).cmp(&(
                b.date.as_str(),
                b.visit_id.as_str(),
                b.problem_id.as_str(),
            ))
        });
        problems.extend(derived_problems);
        let mut screenings: Vec<ScreeningEntry> =
            live.screenings.iter().filter(|s| keep(&s.record.id)).cloned().collect();
        let derived_screenings: Vec<Value> =
            rows_of("ix_screenings").into_iter().filter(|s| text(s, "deleted") == "0").collect();
        screenings.extend(screening_rows(&derived_screenings, &|id| screenings_then.get(id).cloned()));
        screenings.sort_by(|a, b| a.record.date.cmp(&b.record.date).then_with(|| a.record.id.cmp(&b.record.id)));
        let mut conflicts: HashMap<String, u32> =
            live.conflicts.iter().filter(|(id, _)| keep(id)).map(|(k, v)| (k.clone(), *v)).collect();
        conflicts.extend(conflict_rows(&rows_of("ix_conflicts")));
        let head: i64 = tx
            .query_one("SELECT coalesce(max(seq), 0) FROM changes WHERE received_ms <= $1", &[&as_of.cutoff_ms])
            .pg()?
            .get(0);
        Ok(Snapshot {
            households: households(placements, &assignments),
            visits,
            problems,
            screenings,
            conflicts,
            rules,
            head: head as u64,
        })
    }
}

impl Reports for PostgresReports {
    fn snapshot(&self, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>> {
        off_runtime(|| self.snapshot_now(as_of))
    }
}

impl PostgresReports {
    fn snapshot_now(&self, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>> {
        let mut conn = self.pool.get().map_err(|e| crate::storage::StorageError::Unavailable(e.to_string()))?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        // One snapshot of the database for every row of a report.
        let mut tx = conn
            .build_transaction()
            .isolation_level(pg::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .pg()?;
        let live = self.live(&mut tx, &mut cache)?;
        let out = match as_of {
            None => live,
            Some(as_of) => match cache.past.iter().find(|(a, _)| a == as_of) {
                Some((_, s)) => s.clone(),
                None => {
                    let past = Arc::new(self.past(&mut tx, &live, as_of)?);
                    // Only a day that has ended is final: today's changes may still arrive.
                    if as_of.cutoff_ms < crate::storage::now_ms() {
                        cache.past.push((as_of.clone(), past.clone()));
                        if cache.past.len() > AS_OF_CACHE {
                            cache.past.remove(0);
                        }
                    }
                    past
                }
            },
        };
        tx.commit().pg()?;
        Ok(out)
    }
}

fn doc_metas(tx: &mut pg::Transaction<'_>) -> Result<Vec<DocMeta>> {
    Ok(tx
        .query("SELECT id, kind, last_seq, household_id, village, township FROM docs", &[])
        .pg()?
        .iter()
        .map(|r| DocMeta {
            id: r.get(0),
            kind: DocKind::parse(r.get(1)).unwrap_or_default(),
            last_seq: r.get::<_, i64>(2) as u64,
            placement: Placement { household_id: r.get(3), village: r.get(4), township: r.get(5) },
        })
        .collect())
}

/// Helper assignments recorded by the server, optionally only those made by a cutoff.
fn assignments(tx: &mut pg::Transaction<'_>, cutoff_ms: Option<i64>) -> Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in tx
        .query(
            "SELECT helper, household_id FROM assignments WHERE created_ms <= $1 ORDER BY helper COLLATE \"C\"",
            &[&cutoff_ms.unwrap_or(i64::MAX)],
        )
        .pg()?
    {
        out.entry(r.get(1)).or_default().push(r.get(0));
    }
    Ok(out)
}

/// Live households with their helpers: the household's own `helper_ids`, then the server's assignments.
fn households(
    found: HashMap<String, (Arc<Household>, Placement)>,
    assignments: &HashMap<String, Vec<String>>,
) -> BTreeMap<String, HouseholdEntry> {
    found
        .into_iter()
        .filter(|(_, (h, _))| !h.deleted)
        .map(|(id, (record, placement))| {
            let mut helpers = record.helper_ids.clone();
            for a in assignments.get(&id).into_iter().flatten() {
                if !helpers.contains(a) {
                    helpers.push(a.clone());
                }
            }
            (id, HouseholdEntry { record, placement, helpers })
        })
        .collect()
}

fn json_rows(tx: &mut pg::Transaction<'_>, sql: &str) -> Result<Vec<Value>> {
    tx.query(sql, &[])
        .pg()?
        .iter()
        .map(|r| {
            serde_json::from_str(r.get(0))
                .map_err(|e| crate::storage::StorageError::Internal(format!("row as JSON: {e}")))
        })
        .collect()
}

/// A column as text ("" for null; numbers in decimal).
fn text(row: &Value, column: &str) -> String {
    match row.get(column) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn opt_text(row: &Value, column: &str) -> Option<String> {
    row.get(column).and_then(|v| v.as_str()).map(String::from)
}

fn visit_row(r: &Value) -> VisitRow {
    VisitRow {
        id: text(r, "doc_id"),
        household_id: text(r, "household_id"),
        member_id: opt_text(r, "member_id"),
        date: text(r, "date"),
        month: text(r, "month"),
        kind: VisitKind::parse(&text(r, "kind")).unwrap_or_default(),
        visitor: text(r, "visitor"),
    }
}

fn problem_row(r: &Value) -> ProblemRow {
    ProblemRow {
        visit_id: text(r, "visit_id"),
        problem_id: text(r, "problem_id"),
        household_id: text(r, "household_id"),
        date: text(r, "date"),
        description: text(r, "description"),
        status: ProblemStatus::parse(&text(r, "status")).unwrap_or_default(),
    }
}

fn screening_rows(rows: &[Value], record: &dyn Fn(&str) -> Option<Arc<Screening>>) -> Vec<ScreeningEntry> {
    rows.iter()
        .filter_map(|r| {
            let record = record(&text(r, "doc_id"))?;
            Some(ScreeningEntry {
                record,
                bp_grade: opt_text(r, "bp_grade").as_deref().and_then(BpGrade::parse),
                glucose_band: opt_text(r, "glucose_band").as_deref().and_then(GlucoseBand::parse),
                referral: ReferralLevel::parse(&text(r, "referral")).unwrap_or_default(),
                abnormal: text(r, "abnormal") != "0",
            })
        })
        .collect()
}

fn conflict_rows(rows: &[Value]) -> HashMap<String, u32> {
    rows.iter().map(|r| (text(r, "doc_id"), text(r, "fields").parse().unwrap_or(0))).collect()
}
