//! What the pages read, as plain data: a snapshot of every record the server holds (or held at the end of a past
//! day), behind one trait so that pages and ledgers never see SQL.
//!
//! How a snapshot is made is written once, here ([`Snapshots`]), over the reads each store answers in its own SQL
//! (`storage::ReportRead`). The live snapshot reads the derived index rows and hydrates household and screening
//! documents, caching each by the sequence of its last change, so only documents changed since the previous page
//! are parsed again. An "as of" snapshot keeps the live rows of documents the server has not changed since that
//! day, and rebuilds the others from the changes received by the end of the day, deriving their rows with the
//! core's own pure `index::derive`.
//!
//! A snapshot is not filtered by scope: pages filter it with `scope::Scope::sees`, the same rule sync uses.

use crate::storage::{Changed, DocMeta, KeptTally, Placement, ReportRead, ReportScope, ReportSource, StorageError};
use automerge::ActorId;
use doorstep_core::doc::Document;
use doorstep_core::model::{
    packed, BmiBand, BpGrade, DocKind, GlucoseBand, Household, ProblemStatus, ReferralLevel, RulesDoc, Screening,
    VisitKind, SCHEDULE_RULES_ID,
};
use doorstep_core::store::index;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// How many past days' snapshots are kept in memory.
const AS_OF_CACHE: usize = 4;
/// How many scopes' live snapshots are kept in memory (accounts with the same scope share one).
const LIVE_CACHE: usize = 8;

/// "As of the end of this day": only changes the server received up to `cutoff_ms` count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsOf {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// The last millisecond of that day on the server's clock.
    pub cutoff_ms: i64,
}

impl AsOf {
    /// The end of `day` on the server's clock (local time), or none for a day without a next one.
    pub fn end_of(day: chrono::NaiveDate) -> Option<Self> {
        use chrono::TimeZone;
        let next = day.succ_opt()?.and_hms_opt(0, 0, 0)?;
        let end = chrono::Local.from_local_datetime(&next).earliest()?.timestamp_millis() - 1;
        Some(AsOf { day: day.format("%Y-%m-%d").to_string(), cutoff_ms: end })
    }
}

/// A household with where the server places it (scope is decided on the placement).
#[derive(Debug, Clone)]
pub struct HouseholdEntry {
    pub record: Arc<Household>,
    pub placement: Placement,
    /// Helpers in charge: the household's own `helper_ids` and the server's assignments together.
    pub helpers: Vec<String>,
}

/// One visit, from the derived index rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitRow {
    pub id: String,
    pub household_id: String,
    pub member_id: Option<String>,
    pub date: String,
    pub month: String,
    pub kind: VisitKind,
    pub visitor: String,
}

/// One problem found on a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProblemRow {
    pub visit_id: String,
    pub problem_id: String,
    pub household_id: String,
    pub date: String,
    pub description: String,
    pub status: ProblemStatus,
}

/// One screening: the record as entered and its derived classification.
#[derive(Debug, Clone)]
pub struct ScreeningEntry {
    pub record: Arc<Screening>,
    pub bp_grade: Option<BpGrade>,
    pub glucose_band: Option<GlucoseBand>,
    pub bmi_band: Option<BmiBand>,
    /// The referral that counts (the screener's or the core's suggestion, whichever is higher).
    pub referral: ReferralLevel,
    pub abnormal: bool,
}

/// Everything the pages compute from.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub households: BTreeMap<String, HouseholdEntry>,
    pub visits: Vec<VisitRow>,
    pub problems: Vec<ProblemRow>,
    pub screenings: Vec<ScreeningEntry>,
    /// Documents with unresolved conflicts and how many fields each.
    pub conflicts: HashMap<String, u32>,
    /// The schedule rules with their earlier versions: a month is judged by the rules in force at its end.
    pub rules: RulesDoc,
    /// The server's head sequence when the snapshot was read.
    pub head: u64,
}

/// The report queries a store answers.
pub trait Reports: Send + Sync + 'static {
    /// Every live (not deleted) record in `scope`, now or as of the end of a past day.
    fn snapshot(&self, scope: &ReportScope, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>, StorageError>;
    /// The same snapshot, not kept for later views (for reads whose results are kept in another form).
    fn snapshot_once(&self, scope: &ReportScope, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>, StorageError>;
    /// The places of the live households in `scope`, `(township, village)`, sorted.
    fn places(&self, scope: &ReportScope) -> Result<Vec<(String, String)>, StorageError>;
    /// The sequence of the last change received by `cutoff_ms` (0 when none was).
    fn head_at(&self, cutoff_ms: i64) -> Result<u64, StorageError>;
    /// The server's head sequence now, and what changed after `since` (nothing asked: nothing listed).
    fn changed_since(&self, since: Option<u64>) -> Result<(u64, Changed), StorageError>;
    /// The figures the database keeps for a page frame, or one township of it (`ReportSource::kept_tallies`).
    fn kept_tallies(&self, frame: &str, township: Option<&str>) -> Result<Vec<KeptTally>, StorageError>;
    /// Keeps villages' figures for a page frame (`ReportSource::keep_tallies`).
    fn keep_tallies(&self, frame: &str, tallies: &[KeptTally], now_ms: i64) -> Result<(), StorageError>;
}

impl From<index::VisitRow> for VisitRow {
    fn from(r: index::VisitRow) -> Self {
        Self {
            id: r.doc_id,
            household_id: r.household_id,
            member_id: r.member_id,
            date: r.date,
            month: r.month,
            kind: VisitKind::parse(&r.kind).unwrap_or_default(),
            visitor: r.visitor,
        }
    }
}

impl From<index::ProblemRow> for ProblemRow {
    fn from(r: index::ProblemRow) -> Self {
        Self {
            visit_id: r.visit_id,
            problem_id: r.problem_id,
            household_id: r.household_id,
            date: r.date,
            description: r.description,
            status: ProblemStatus::parse(&r.status).unwrap_or_default(),
        }
    }
}

impl ScreeningEntry {
    fn of(r: &index::ScreeningRow, record: Arc<Screening>) -> Self {
        Self {
            record,
            bp_grade: r.bp_grade.as_deref().and_then(BpGrade::parse),
            glucose_band: r.glucose_band.as_deref().and_then(GlucoseBand::parse),
            bmi_band: r.bmi_band.as_deref().and_then(BmiBand::parse),
            referral: ReferralLevel::parse(&r.referral).unwrap_or_default(),
            abnormal: r.abnormal,
        }
    }
}

/// The reports of one store: snapshots made from its reads, with parsed documents and recent snapshots cached.
pub struct Snapshots<S> {
    source: S,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    households: HashMap<String, (u64, Arc<Household>)>,
    screenings: HashMap<String, (u64, Arc<Screening>)>,
    /// The latest live snapshot of each recently read scope, most recently used last.
    live: Vec<(ReportScope, Arc<Snapshot>)>,
    past: Vec<((ReportScope, AsOf), Arc<Snapshot>)>,
}

impl Cache {
    /// The cached live snapshot of `scope` if nothing changed since (`head`), marked as the most recently used.
    fn live(&mut self, scope: &ReportScope, head: u64) -> Option<Arc<Snapshot>> {
        let at = self.live.iter().position(|(s, snap)| s == scope && snap.head == head)?;
        let entry = self.live.remove(at);
        let snap = entry.1.clone();
        self.live.push(entry);
        Some(snap)
    }

    fn keep_live(&mut self, scope: &ReportScope, snap: Arc<Snapshot>) {
        self.live.retain(|(s, _)| s != scope);
        self.live.push((scope.clone(), snap));
        if self.live.len() > LIVE_CACHE {
            self.live.remove(0);
        }
    }
}

impl<S: ReportSource> Snapshots<S> {
    /// Reports over `source`; nothing is read until the first snapshot.
    pub fn new(source: S) -> Self {
        Self { source, cache: Mutex::new(Cache::default()) }
    }

    /// A snapshot of `scope`, kept for later views or not.
    fn read(&self, scope: &ReportScope, as_of: Option<&AsOf>, keep: bool) -> Result<Arc<Snapshot>, StorageError> {
        // A read not kept has a cache of its own: several run at once (an area's townships on every core), and
        // none evicts the records a page's kept snapshot reuses.
        let mut own = Cache::default();
        let mut guard = keep.then(|| self.cache.lock().unwrap_or_else(|p| p.into_inner()));
        let cache: &mut Cache = match guard.as_mut() {
            Some(shared) => shared,
            None => &mut own,
        };
        let Some(as_of) = as_of else {
            let mut out = None;
            self.source.read(scope, &mut |r| {
                out = Some(live(r, scope, cache, keep, None)?);
                Ok(())
            })?;
            return out.ok_or_else(|| StorageError::Internal("the report read ended without a snapshot".into()));
        };
        if let Some((_, s)) = cache.past.iter().find(|((s, a), _)| s == scope && a == as_of) {
            return Ok(s.clone());
        }
        // Only a day that has ended is final: today's changes may still arrive.
        let ended = as_of.cutoff_ms < crate::storage::now_ms();
        // A document the server first received after the day is not read at all.
        let then = ReportScope { received_by: Some(as_of.cutoff_ms), ..scope.clone() };
        let mut out = None;
        self.source.read(&then, &mut |r| {
            let mut read = Read { cutoff_ms: Some(as_of.cutoff_ms), ..Default::default() };
            let live = live(r, &then, cache, false, Some(&mut read))?;
            // Not kept, so it is ours: its rows move into the past snapshot instead of being copied.
            let live = Arc::try_unwrap(live).unwrap_or_else(|shared| (*shared).clone());
            out = Some(Arc::new(past(r, live, as_of, read)?));
            Ok(())
        })?;
        let past = out.ok_or_else(|| StorageError::Internal("the report read ended without a snapshot".into()))?;
        if keep && ended {
            cache.past.push(((scope.clone(), as_of.clone()), past.clone()));
            if cache.past.len() > AS_OF_CACHE {
                cache.past.remove(0);
            }
        }
        Ok(past)
    }
}

impl<S: ReportSource> Reports for Snapshots<S> {
    fn snapshot(&self, scope: &ReportScope, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>, StorageError> {
        self.read(scope, as_of, true)
    }

    fn snapshot_once(&self, scope: &ReportScope, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>, StorageError> {
        self.read(scope, as_of, false)
    }

    fn places(&self, scope: &ReportScope) -> Result<Vec<(String, String)>, StorageError> {
        let mut out = Vec::new();
        self.source.read(scope, &mut |r| {
            out = r.places()?;
            Ok(())
        })?;
        Ok(out)
    }

    fn changed_since(&self, since: Option<u64>) -> Result<(u64, Changed), StorageError> {
        let mut out = (0, Changed::default());
        self.source.read(&ReportScope::everything(), &mut |r| {
            let head = r.head()?;
            out = (head, since.map(|s| r.changed_since(s)).transpose()?.unwrap_or_default());
            Ok(())
        })?;
        Ok(out)
    }

    fn head_at(&self, cutoff_ms: i64) -> Result<u64, StorageError> {
        let mut out = 0;
        self.source.read(&ReportScope::everything(), &mut |r| {
            out = r.head_at(cutoff_ms)?;
            Ok(())
        })?;
        Ok(out)
    }

    fn kept_tallies(&self, frame: &str, township: Option<&str>) -> Result<Vec<KeptTally>, StorageError> {
        self.source.kept_tallies(frame, township)
    }

    fn keep_tallies(&self, frame: &str, tallies: &[KeptTally], now_ms: i64) -> Result<(), StorageError> {
        self.source.keep_tallies(frame, tallies, now_ms)
    }
}

/// A document's record as the reports hold it.
enum Record {
    Household(Arc<Household>),
    Screening(Arc<Screening>),
    Rules(RulesDoc),
}

impl Record {
    /// From the record packed beside the document (`index::derive_with_record`); none when it was packed under
    /// another layout.
    fn unpack(kind: DocKind, packed: &[u8]) -> Option<Self> {
        match kind {
            DocKind::Household => packed::unpack(packed).map(|h| Record::Household(Arc::new(h))),
            DocKind::Screening => packed::unpack(packed).map(|s| Record::Screening(Arc::new(s))),
            DocKind::Visit | DocKind::Rules => None,
        }
    }

    /// From the document itself (visits have none: the pages read their index rows).
    fn from_doc(kind: DocKind, doc: &Document) -> Result<Option<Self>, StorageError> {
        Ok(match kind {
            DocKind::Household => Some(Record::Household(Arc::new(doc.read()?))),
            DocKind::Screening => Some(Record::Screening(Arc::new(doc.read()?))),
            DocKind::Rules => Some(Record::Rules(doc.read()?)),
            DocKind::Visit => None,
        })
    }
}

/// Parses a saved document (with a throwaway actor: reports only read).
fn load(bytes: &[u8]) -> Result<Document, StorageError> {
    Ok(Document::load(bytes, &ActorId::random())?)
}

/// What an "as of" view reads through the live read and uses again: the documents' metadata, and the assignments
/// made by its cutoff (the households' helpers then).
#[derive(Default)]
struct Read {
    cutoff_ms: Option<i64>,
    metas: Vec<DocMeta>,
    assignments: HashMap<String, Vec<String>>,
}

/// Above this share of a scope's records to parse afresh, they are read in one pass over the scope instead of one
/// look-up each (an "as of" view, a first view after a restart).
const MOST: f64 = 0.5;

/// The snapshot of everything in `scope` the server holds now, with helpers assigned by `read`'s cutoff when it is
/// given (an "as of" view), what it read going to `read`.
fn live(
    r: &mut dyn ReportRead,
    scope: &ReportScope,
    cache: &mut Cache,
    keep: bool,
    read: Option<&mut Read>,
) -> Result<Arc<Snapshot>, StorageError> {
    let head = r.head()?;
    if read.is_none() {
        if let Some(s) = cache.live(scope, head) {
            return Ok(s);
        }
    }
    let mut docs = r.doc_metas()?;
    // The rules are listed a second time when the scope holds them.
    let mut rules_seen = false;
    docs.retain(|d| d.id != SCHEDULE_RULES_ID || !std::mem::replace(&mut rules_seen, true));
    let assignments = by_household(r.assignments(read.as_ref().and_then(|p| p.cutoff_ms))?);
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
    let kinds: HashMap<&str, DocKind> = docs.iter().map(|d| (d.id.as_str(), d.kind)).collect();
    let mut fresh: HashMap<String, Record> = HashMap::new();
    let mut parse = |id: &str, packed: &[u8]| {
        if let Some(record) = kinds.get(id).and_then(|k| Record::unpack(*k, packed)) {
            fresh.insert(id.to_string(), record);
        }
    };
    // The records packed beside the documents first; the document itself where there is none or it was packed
    // under another layout.
    let with_records = docs.iter().filter(|d| matches!(d.kind, DocKind::Household | DocKind::Screening)).count();
    if stale.len() as f64 > MOST * with_records as f64 {
        // Parsed where the store holds them, not copied first: an "as of" view reads a province's records.
        let wanted: Option<HashSet<&str>> =
            (stale.len() < with_records).then(|| stale.iter().map(String::as_str).collect());
        r.scope_records(&mut |id, packed| {
            if wanted.as_ref().is_none_or(|w| w.contains(id)) {
                parse(id, packed);
            }
        })?;
    } else {
        for (id, packed) in r.doc_records(&stale)? {
            parse(&id, &packed);
        }
    }
    let rest: Vec<String> = stale.into_iter().filter(|id| !fresh.contains_key(id)).collect();
    for (id, bytes) in r.doc_bytes(&rest)? {
        let Some(kind) = kinds.get(id.as_str()) else { continue };
        if let Some(record) = Record::from_doc(*kind, &load(&bytes)?)? {
            fresh.insert(id, record);
        }
    }
    let mut snapshot = Snapshot { head, ..Default::default() };
    let mut seen_h = HashSet::new();
    let mut seen_s = HashSet::new();
    let mut placements = HashMap::new();
    for d in &docs {
        match (d.kind, fresh.remove(&d.id)) {
            (DocKind::Household, found) => {
                if keep {
                    seen_h.insert(d.id.clone());
                }
                let record = match found {
                    // A read not kept (a count's, or an "as of" read) leaves the cache as it is: the live read's
                    // records stay, and a count's private cache is dropped after it anyway.
                    Some(Record::Household(h)) if !keep => h,
                    Some(Record::Household(h)) => {
                        cache.households.insert(d.id.clone(), (d.last_seq, h.clone()));
                        h
                    }
                    _ => match cache.households.get(&d.id) {
                        Some((_, h)) => h.clone(),
                        None => continue,
                    },
                };
                placements.insert(d.id.clone(), (record, d.placement.clone()));
            }
            (DocKind::Screening, found) => {
                seen_s.insert(d.id.clone());
                if let Some(Record::Screening(s)) = found {
                    cache.screenings.insert(d.id.clone(), (d.last_seq, s));
                }
            }
            (DocKind::Rules, Some(Record::Rules(rules))) if d.id == SCHEDULE_RULES_ID => snapshot.rules = rules,
            _ => {}
        }
    }
    // Keep only the records of this read: memory follows the largest scope read, not everything ever read.
    if keep {
        cache.households.retain(|id, _| seen_h.contains(id));
    }
    cache.screenings.retain(|id, _| seen_s.contains(id));
    snapshot.households = households(placements, &assignments);
    // The rows of a kind are read only when the scope has documents of it (a village without screenings, a day
    // before the first visit): each read walks the scope's documents again.
    let has = |kind: DocKind| docs.iter().any(|d| d.kind == kind);
    if has(DocKind::Visit) {
        snapshot.visits = r.visits()?.into_iter().map(VisitRow::from).collect();
        snapshot.problems = r.problems()?.into_iter().map(ProblemRow::from).collect();
    }
    if has(DocKind::Screening) {
        let screenings = &cache.screenings;
        snapshot.screenings = r
            .screenings()?
            .iter()
            .filter_map(|row| screenings.get(&row.doc_id).map(|(_, s)| ScreeningEntry::of(row, s.clone())))
            .collect();
    }
    snapshot.conflicts = r.conflicts()?.into_iter().map(|c| (c.doc_id, c.fields as u32)).collect();
    if let Some(out) = read {
        out.metas = docs;
        out.assignments = assignments;
    }
    let snapshot = Arc::new(snapshot);
    if keep {
        cache.keep_live(scope, snapshot.clone());
    }
    Ok(snapshot)
}

/// The snapshot of what the server held at the end of a past day, from `live` (the documents received by then, as
/// they are now): documents changed after the day are rebuilt from the changes received by its end.
fn past(r: &mut dyn ReportRead, live: Snapshot, as_of: &AsOf, read: Read) -> Result<Snapshot, StorageError> {
    let cutoff = as_of.cutoff_ms;
    let Read { metas, assignments, .. } = read;
    let metas: HashMap<&str, &DocMeta> = metas.iter().map(|d| (d.id.as_str(), d)).collect();
    let changed: HashSet<&str> =
        metas.values().filter(|d| d.created_ms <= cutoff && d.updated_ms > cutoff).map(|d| d.id.as_str()).collect();
    let keep = |id: &str| metas.get(id).is_some_and(|d| d.created_ms <= cutoff) && !changed.contains(id);
    if changed.is_empty() {
        // Nothing the day held has changed since: the documents received by then are the live read's, as they
        // are (it read only those, with the assignments made by then), the rules aside (read whatever their age).
        let mut live = live;
        if !keep(SCHEDULE_RULES_ID) {
            live.rules = Default::default();
        }
        return Ok(live);
    }

    // Rebuild the changed documents from the changes received by the cutoff; derive their rows with the core.
    let mut derived = index::IndexRows::default();
    let mut households_then = HashMap::new();
    let mut screenings_then = HashMap::new();
    let mut rules = if keep(SCHEDULE_RULES_ID) { live.rules } else { Default::default() };
    let mut ids: Vec<&str> = changed.iter().copied().collect();
    ids.sort();
    for id in ids {
        let Some(meta) = metas.get(id) else { continue };
        let mut doc = Document::empty(&ActorId::random());
        doc.apply(&r.changes_until(id, cutoff)?)?;
        let rows = index::derive(id, meta.kind, &mut doc)?;
        derived.visits.extend(rows.visits.into_iter().filter(|v| !v.deleted));
        derived.problems.extend(rows.problems);
        derived.screenings.extend(rows.screenings.into_iter().filter(|s| !s.deleted));
        derived.conflicts.extend(rows.conflicts);
        match meta.kind {
            DocKind::Household => {
                households_then.insert(id.to_string(), (Arc::new(doc.read::<Household>()?), meta.placement.clone()));
            }
            DocKind::Screening => {
                screenings_then.insert(id.to_string(), Arc::new(doc.read::<Screening>()?));
            }
            DocKind::Rules if id == SCHEDULE_RULES_ID => rules = doc.read::<RulesDoc>()?,
            _ => {}
        }
    }

    let mut placements: HashMap<String, (Arc<Household>, Placement)> =
        live.households.into_iter().filter(|(id, _)| keep(id)).map(|(id, e)| (id, (e.record, e.placement))).collect();
    placements.extend(households_then);
    let mut visits: Vec<VisitRow> = live.visits.into_iter().filter(|v| keep(&v.id)).collect();
    visits.extend(derived.visits.into_iter().map(VisitRow::from));
    visits.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
    let mut problems: Vec<ProblemRow> = live.problems.into_iter().filter(|p| keep(&p.visit_id)).collect();
    derived.problems.sort_by(|a, b| {
        (a.date.as_str(), a.visit_id.as_str(), a.problem_id.as_str()).cmp(&(
            b.date.as_str(),
            b.visit_id.as_str(),
            b.problem_id.as_str(),
        ))
    });
    problems.extend(derived.problems.into_iter().map(ProblemRow::from));
    let mut screenings: Vec<ScreeningEntry> = live.screenings.into_iter().filter(|s| keep(&s.record.id)).collect();
    screenings.extend(
        derived
            .screenings
            .iter()
            .filter_map(|row| screenings_then.get(&row.doc_id).map(|s| ScreeningEntry::of(row, s.clone()))),
    );
    screenings.sort_by(|a, b| a.record.date.cmp(&b.record.date).then_with(|| a.record.id.cmp(&b.record.id)));
    let mut conflicts: HashMap<String, u32> = live.conflicts.into_iter().filter(|(id, _)| keep(id)).collect();
    conflicts.extend(derived.conflicts.into_iter().map(|c| (c.doc_id, c.fields as u32)));
    Ok(Snapshot {
        households: households(placements, &assignments),
        visits,
        problems,
        screenings,
        conflicts,
        rules,
        head: live.head,
    })
}

/// `(household_id, helper)` pairs grouped by household, helpers in the order read.
fn by_household(pairs: Vec<(String, String)>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (household, helper) in pairs {
        out.entry(household).or_default().push(helper);
    }
    out
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
