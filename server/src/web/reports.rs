//! What the pages read, as plain data: a snapshot of every record the server holds (or held at the end of a past
//! day), behind one trait so that pages and ledgers never see SQL and a PostgreSQL store can serve them too.
//!
//! A snapshot is not filtered by scope: pages filter it with `scope::Scope::sees`, the same rule sync uses.

use crate::storage::{Placement, StorageError};
use doorstep_core::model::{
    BpGrade, GlucoseBand, Household, ProblemStatus, ReferralLevel, RulesDoc, Screening, VisitKind,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// "As of the end of this day": only changes the server received up to `cutoff_ms` count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsOf {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// The last millisecond of that day on the server's clock.
    pub cutoff_ms: i64,
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
    /// The highest server sequence the snapshot includes.
    pub head: u64,
}

/// The report queries a store answers.
pub trait Reports: Send + Sync + 'static {
    /// Every live (not deleted) record, now or as of the end of a past day.
    fn snapshot(&self, as_of: Option<&AsOf>) -> Result<Arc<Snapshot>, StorageError>;
}
