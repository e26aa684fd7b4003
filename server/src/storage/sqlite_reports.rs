//! The SQLite answer to the pages' report queries (`web::reports::Reports`), over the same `doorstep.db` the
//! storage writes, through its own read connection.
//!
//! The live snapshot reads the derived index rows (`ix_*`, kept by the core's `index::reindex` on every push) and
//! hydrates household and screening documents, caching each by the sequence of its last change so that only
//! documents changed since the previous page are parsed again. An "as of" snapshot takes the live rows of documents
//! the server has not changed since that day, and rebuilds the others from the changes received up to the end of
//! the day, indexing them with the same core code into a scratch in-memory database.

use super::{Placement, Result};
use crate::web::reports::{AsOf, HouseholdEntry, ProblemRow, Reports, ScreeningEntry, Snapshot, VisitRow};
use automerge::ActorId;
use doorstep_core::doc::Document;
use doorstep_core::model::{
    BpGrade, DocKind, GlucoseBand, Household, ProblemStatus, ReferralLevel, RulesDoc, Screening, VisitKind,
    SCHEDULE_RULES_ID,
};
use doorstep_core::store::{index, schema::INDEX_DDL};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many past days' snapshots are kept in memory.
const AS_OF_CACHE: usize = 4;

/// Report queries over the server's SQLite database.
pub struct SqliteReports {
    conn: Mutex<Connection>,
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

impl SqliteReports {
    /// Opens a read connection to the database in `dir` (created by `SqliteStorage::open`).
    pub fn open(dir: &Path) -> Result<Self> {
        // Never creates a database: the pages read the one the storage made (and fail clearly without it).
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(dir.join("doorstep.db"), flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(Self { conn: Mutex::new(conn), cache: Mutex::new(Cache::default()) })
    }

    fn live(&self, conn: &Connection, cache: &mut Cache) -> Result<Arc<Snapshot>> {
        let head: i64 = conn.query_row("SELECT last_seq FROM counter WHERE id = 1", [], |r| r.get(0))?;
        if let Some(s) = &cache.live {
            if s.head == head as u64 {
                return Ok(s.clone());
            }
        }
        let docs = doc_metas(conn)?;
        let assignments = assignments(conn, None)?;
        let mut bytes_stmt = conn.prepare("SELECT bytes FROM docs WHERE id = ?1")?;
        let mut load = |id: &str| -> Result<Option<Document>> {
            let bytes: Option<Vec<u8>> = bytes_stmt.query_row([id], |r| r.get(0)).optional()?;
            Ok(match bytes {
                Some(b) => Some(Document::load(&b, &ActorId::random())?),
                None => None,
            })
        };
        let mut snapshot = Snapshot { head: head as u64, ..Default::default() };
        let mut seen_h = HashSet::new();
        let mut seen_s = HashSet::new();
        let mut placements = HashMap::new();
        for d in &docs {
            match d.kind {
                DocKind::Household => {
                    seen_h.insert(d.id.clone());
                    let fresh =
                        cache.households.get(&d.id).filter(|(seq, _)| *seq == d.last_seq).map(|(_, h)| h.clone());
                    let record = match fresh {
                        Some(h) => h,
                        None => match load(&d.id)? {
                            Some(doc) => {
                                let h = Arc::new(doc.read::<Household>()?);
                                cache.households.insert(d.id.clone(), (d.last_seq, h.clone()));
                                h
                            }
                            None => continue,
                        },
                    };
                    placements.insert(d.id.clone(), (record, d.placement.clone()));
                }
                DocKind::Screening => {
                    seen_s.insert(d.id.clone());
                    let fresh = cache.screenings.get(&d.id).filter(|(seq, _)| *seq == d.last_seq).is_some();
                    if !fresh {
                        if let Some(doc) = load(&d.id)? {
                            cache.screenings.insert(d.id.clone(), (d.last_seq, Arc::new(doc.read::<Screening>()?)));
                        }
                    }
                }
                DocKind::Rules if d.id == SCHEDULE_RULES_ID => {
                    if let Some(doc) = load(&d.id)? {
                        snapshot.rules = doc.read::<RulesDoc>()?;
                    }
                }
                _ => {}
            }
        }
        cache.households.retain(|id, _| seen_h.contains(id));
        cache.screenings.retain(|id, _| seen_s.contains(id));
        snapshot.households = households(placements, &assignments);
        snapshot.visits = visit_rows(conn)?;
        snapshot.problems = problem_rows(conn)?;
        let screenings = &cache.screenings;
        snapshot.screenings = screening_rows(conn, &|id| screenings.get(id).map(|(_, s)| s.clone()))?;
        snapshot.conflicts = conflict_rows(conn)?;
        let snapshot = Arc::new(snapshot);
        cache.live = Some(snapshot.clone());
        Ok(snapshot)
    }

    fn past(&self, conn: &Connection, live: &Snapshot, as_of: &AsOf) -> Result<Snapshot> {
        // Which documents existed at the cutoff, and which have changed since.
        let mut stmt =
            conn.prepare("SELECT doc_id, min(received_ms), max(received_ms) FROM changes GROUP BY doc_id")?;
        let mut existed = HashSet::new();
        let mut changed = HashSet::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (id, first, last): (String, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            if first <= as_of.cutoff_ms {
                if last > as_of.cutoff_ms {
                    changed.insert(id.clone());
                }
                existed.insert(id);
            }
        }
        let keep = |id: &str| existed.contains(id) && !changed.contains(id);
        let metas: HashMap<String, DocMeta> = doc_metas(conn)?.into_iter().map(|d| (d.id.clone(), d)).collect();

        // Rebuild the changed documents from the changes received by the cutoff, indexed by the core's code.
        let mut scratch = Connection::open_in_memory()?;
        scratch.execute_batch(INDEX_DDL)?;
        let mut households_then = HashMap::new();
        let mut screenings_then = HashMap::new();
        let mut rules = if keep(SCHEDULE_RULES_ID) { live.rules.clone() } else { Default::default() };
        {
            let mut change_stmt =
                conn.prepare("SELECT bytes FROM changes WHERE doc_id = ?1 AND received_ms <= ?2 ORDER BY seq")?;
            let tx = scratch.transaction()?;
            for id in &changed {
                let Some(meta) = metas.get(id) else { continue };
                let bytes = change_stmt
                    .query_map(params![id, as_of.cutoff_ms], |r| r.get::<_, Vec<u8>>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut doc = Document::empty(&ActorId::random());
                doc.apply(&bytes)?;
                index::reindex(&tx, id, meta.kind, &mut doc)?;
                match meta.kind {
                    DocKind::Household => {
                        households_then
                            .insert(id.clone(), (Arc::new(doc.read::<Household>()?), meta.placement.clone()));
                    }
                    DocKind::Screening => {
                        screenings_then.insert(id.clone(), Arc::new(doc.read::<Screening>()?));
                    }
                    DocKind::Rules if id == SCHEDULE_RULES_ID => rules = doc.read::<RulesDoc>()?,
                    _ => {}
                }
            }
            tx.commit()?;
        }

        let mut placements: HashMap<String, (Arc<Household>, Placement)> = live
            .households
            .iter()
            .filter(|(id, _)| keep(id))
            .map(|(id, e)| (id.clone(), (e.record.clone(), e.placement.clone())))
            .collect();
        placements.extend(households_then);
        let assignments = assignments(conn, Some(as_of.cutoff_ms))?;
        let mut visits: Vec<VisitRow> = live.visits.iter().filter(|v| keep(&v.id)).cloned().collect();
        visits.extend(visit_rows(&scratch)?);
        visits.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
        let mut problems: Vec<ProblemRow> = live.problems.iter().filter(|p| keep(&p.visit_id)).cloned().collect();
        problems.extend(problem_rows(&scratch)?);
        let mut screenings: Vec<ScreeningEntry> =
            live.screenings.iter().filter(|s| keep(&s.record.id)).cloned().collect();
        screenings.extend(screening_rows(&scratch, &|id| screenings_then.get(id).cloned())?);
        screenings.sort_by(|a, b| a.record.date.cmp(&b.record.date).then_with(|| a.record.id.cmp(&b.record.id)));
        let mut conflicts: HashMap<String, u32> =
            live.conflicts.iter().filter(|(id, _)| keep(id)).map(|(k, v)| (k.clone(), *v)).collect();
        conflicts.extend(conflict_rows(&scratch)?);
        let head: i64 = conn.query_row(
            "SELECT coalesce(max(seq), 0) FROM changes WHERE received_ms <= ?1",
            [as_of.cutoff_ms],
            |r| r.get(0),
        )?;
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

impl Reports for SqliteReports {
    fn snapshot(&self, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        // One read transaction: every row of a snapshot comes from the same state of the database.
        conn.execute_batch("BEGIN")?;
        let out = (|| {
            let live = self.live(&conn, &mut cache)?;
            let Some(as_of) = as_of else { return Ok(live) };
            if let Some((_, s)) = cache.past.iter().find(|(a, _)| a == as_of) {
                return Ok(s.clone());
            }
            let past = Arc::new(self.past(&conn, &live, as_of)?);
            // Only a day that has ended is final: today's changes may still arrive.
            if as_of.cutoff_ms < super::now_ms() {
                cache.past.push((as_of.clone(), past.clone()));
                if cache.past.len() > AS_OF_CACHE {
                    cache.past.remove(0);
                }
            }
            Ok(past)
        })();
        let _ = conn.execute_batch("COMMIT");
        out
    }
}

fn doc_metas(conn: &Connection) -> Result<Vec<DocMeta>> {
    let mut stmt = conn.prepare("SELECT id, kind, last_seq, household_id, village, township FROM docs")?;
    let rows = stmt.query_map([], |r| {
        let kind: String = r.get(1)?;
        Ok(DocMeta {
            id: r.get(0)?,
            kind: DocKind::parse(&kind).unwrap_or_default(),
            last_seq: r.get::<_, i64>(2)? as u64,
            placement: Placement { household_id: r.get(3)?, village: r.get(4)?, township: r.get(5)? },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Helper assignments recorded by the server (by an admin or when a helper created the household), optionally only
/// those made by a cutoff.
fn assignments(conn: &Connection, cutoff_ms: Option<i64>) -> Result<HashMap<String, Vec<String>>> {
    let mut stmt =
        conn.prepare("SELECT helper, household_id FROM assignments WHERE created_ms <= ?1 ORDER BY helper")?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut rows = stmt.query([cutoff_ms.unwrap_or(i64::MAX)])?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(1)?).or_default().push(r.get(0)?);
    }
    Ok(out)
}

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

fn visit_rows(conn: &Connection) -> Result<Vec<VisitRow>> {
    let mut stmt = conn.prepare(
        "SELECT doc_id, household_id, member_id, date, month, kind, visitor FROM ix_visits WHERE deleted = 0
         ORDER BY date, doc_id",
    )?;
    let rows = stmt.query_map([], |r| {
        let kind: String = r.get(5)?;
        Ok(VisitRow {
            id: r.get(0)?,
            household_id: r.get(1)?,
            member_id: r.get(2)?,
            date: r.get(3)?,
            month: r.get(4)?,
            kind: VisitKind::parse(&kind).unwrap_or_default(),
            visitor: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn problem_rows(conn: &Connection) -> Result<Vec<ProblemRow>> {
    let mut stmt = conn.prepare(
        "SELECT p.visit_id, p.problem_id, p.household_id, p.date, p.description, p.status FROM ix_problems p
         JOIN ix_visits v ON v.doc_id = p.visit_id AND v.deleted = 0 ORDER BY p.date, p.visit_id, p.problem_id",
    )?;
    let rows = stmt.query_map([], |r| {
        let status: String = r.get(5)?;
        Ok(ProblemRow {
            visit_id: r.get(0)?,
            problem_id: r.get(1)?,
            household_id: r.get(2)?,
            date: r.get(3)?,
            description: r.get(4)?,
            status: ProblemStatus::parse(&status).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn screening_rows(conn: &Connection, record: &dyn Fn(&str) -> Option<Arc<Screening>>) -> Result<Vec<ScreeningEntry>> {
    let mut stmt = conn.prepare(
        "SELECT doc_id, bp_grade, glucose_band, referral, abnormal FROM ix_screenings WHERE deleted = 0
         ORDER BY date, doc_id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let Some(record) = record(&id) else { continue };
        let bp: Option<String> = r.get(1)?;
        let glucose: Option<String> = r.get(2)?;
        let referral: String = r.get(3)?;
        out.push(ScreeningEntry {
            record,
            bp_grade: bp.as_deref().and_then(BpGrade::parse),
            glucose_band: glucose.as_deref().and_then(GlucoseBand::parse),
            referral: ReferralLevel::parse(&referral).unwrap_or_default(),
            abnormal: r.get(4)?,
        });
    }
    Ok(out)
}

fn conflict_rows(conn: &Connection) -> Result<HashMap<String, u32>> {
    let mut stmt = conn.prepare("SELECT doc_id, fields FROM ix_conflicts")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u32)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
