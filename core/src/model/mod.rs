//! Typed records of the field: households with their members, visits and screening results.
//!
//! These types are what the app edits, what documents hold (through autosurgeon) and what crosses the FFI (through
//! uniffi), so that one definition serves every layer. Validation (`validate`) and classification (`classify`) are
//! plain functions over them; nothing here touches storage.

mod classify;
mod enums;
pub mod form;
mod national_id;
pub mod packed;
pub mod samples;
pub mod schema;
mod validate;

pub use classify::*;
pub use enums::*;
pub use national_id::{mask_national_id, national_id_birth_date, with_check_digit};
pub use validate::*;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Dates are ISO `YYYY-MM-DD` strings: readable in documents, in JSON and in every binding language alike.
pub type IsoDate = String;

/// A point where a record was made; optional everywhere because many phones have no fix in the mountains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Gps {
    #[autosurgeon(with = "form::number")]
    pub lat: f64,
    #[autosurgeon(with = "form::number")]
    pub lon: f64,
}

/// One of the six assurances (两不愁三保障): its state and a note the helper wrote.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct AssuranceCheck {
    pub status: AssuranceStatus,
    #[serde(default)]
    pub note: String,
}

/// The six assurances, each checked on its own so that two helpers' edits to different ones both survive a merge.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Assurances {
    #[serde(default)]
    pub food: AssuranceCheck,
    #[serde(default)]
    pub clothing: AssuranceCheck,
    #[serde(default)]
    pub education: AssuranceCheck,
    #[serde(default)]
    pub medical: AssuranceCheck,
    #[serde(default)]
    pub housing: AssuranceCheck,
    #[serde(default)]
    pub water: AssuranceCheck,
}

/// A dated change of poverty status (识别, 脱贫退出, 返贫, 消除风险): kept as a list so the timeline is auditable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct StatusTransition {
    pub date: IsoDate,
    pub event: TransitionEvent,
    pub to_status: PovertyStatus,
    #[serde(default)]
    pub reason: String,
}

/// A dated change of a monitored household's alert level (红黄蓝三级预警): raised, changed or lifted (`level` None).
/// Kept like the status history, so an inspection can tell how long a household stood at red.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct AlertChange {
    pub date: IsoDate,
    /// The level from this date on; `None` when the alert was lifted.
    #[serde(default)]
    pub level: Option<AlertLevel>,
    #[serde(default)]
    pub reason: String,
}

/// One line of "one household, one plan" (一户一策).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Measure {
    pub kind: MeasureKind,
    pub start_date: IsoDate,
    pub status: MeasureStatus,
    #[serde(default)]
    pub note: String,
}

/// A household's relocation (易地扶贫搬迁); the household's village field holds where it lives now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Relocation {
    pub kind: RelocationKind,
    pub date: IsoDate,
    #[serde(default)]
    pub from_village: String,
}

/// Disability of a member, by kind and grade (1 most severe … 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Disability {
    pub kind: DisabilityKind,
    #[autosurgeon(with = "form::count")]
    pub grade: u8,
}

/// A family-doctor contract (家庭医生签约) between a member and a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct DoctorContract {
    pub team: String,
    pub signed_date: IsoDate,
    pub renewal_date: Option<IsoDate>,
}

/// A natural change of a member (born, died, married in or out, moved), with its date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct MemberEvent {
    pub kind: MemberEventKind,
    pub date: IsoDate,
}

/// A person in a household (人口). Lives inside the household's document, keyed by its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub sex: Sex,
    pub birth_date: IsoDate,
    pub relation: Relation,
    #[serde(default)]
    pub national_id: String,
    #[serde(default)]
    pub events: Vec<MemberEvent>,
    #[serde(default)]
    pub insured: bool,
    #[serde(default)]
    pub chronic_certificate: bool,
    #[serde(default)]
    pub disability: Option<Disability>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub pregnant: bool,
    #[serde(default)]
    pub contract: Option<DoctorContract>,
    #[serde(default)]
    pub employment: Employment,
}

/// The unit of work and of access (户): everything a helper checks and every member, in one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Household {
    pub id: String,
    pub number: String,
    #[serde(default)]
    pub township: String,
    pub village: String,
    #[serde(default)]
    pub hamlet: String,
    #[serde(default)]
    pub address: String,
    pub head_name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub gps: Option<Gps>,
    pub poverty_status: PovertyStatus,
    #[serde(default)]
    pub status_history: Vec<StatusTransition>,
    #[serde(default)]
    pub risk_causes: Vec<RiskCause>,
    #[serde(default)]
    pub alert_level: Option<AlertLevel>,
    /// Every change of `alert_level`, dated, in the order recorded; a save that changes the level must add one.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    #[uniffi(default)]
    pub alert_history: Vec<AlertChange>,
    #[serde(default)]
    pub relocation: Option<Relocation>,
    #[serde(default)]
    #[autosurgeon(with = "form::optional_number")]
    pub income_per_person: Option<f64>,
    #[serde(default)]
    pub income_year: Option<i32>,
    #[serde(default)]
    pub assurances: Assurances,
    #[serde(default)]
    pub measures: HashMap<String, Measure>,
    #[serde(default)]
    pub helper_ids: Vec<String>,
    /// The second, senior helper (an account name among `helper_ids`, beside at least one other helper) that a
    /// red-alert household must have (防止返贫监测: "add a senior helper"); empty when none is named.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    #[uniffi(default)]
    pub senior_helper: String,
    #[serde(default)]
    pub doctor_team: String,
    #[serde(default)]
    pub members: HashMap<String, Member>,
    #[serde(default)]
    pub deleted: bool,
}

/// A problem found on a visit (问题清单), tracked until it is resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Problem {
    pub description: String,
    #[serde(default)]
    pub assurance: Option<AssuranceKind>,
    pub status: ProblemStatus,
    #[serde(default)]
    pub resolved_date: Option<IsoDate>,
    #[serde(default)]
    pub action: String,
}

/// One visit to a household (走访 / 随访): one document, so visits never contend with each other or the household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Visit {
    pub id: String,
    pub household_id: String,
    #[serde(default)]
    pub member_id: Option<String>,
    pub visitor: String,
    pub visitor_role: Role,
    pub date: IsoDate,
    #[serde(default)]
    pub time: String,
    pub kind: VisitKind,
    #[serde(default)]
    pub findings: Assurances,
    #[serde(default)]
    pub income_note: String,
    #[serde(default)]
    pub risk_note: String,
    #[serde(default)]
    pub problems: HashMap<String, Problem>,
    #[serde(default)]
    pub measures_delivered: Vec<String>,
    #[serde(default)]
    pub policy_explained: bool,
    #[serde(default)]
    pub satisfaction: Option<Satisfaction>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub gps: Option<Gps>,
    #[serde(default)]
    pub signed_by_household: bool,
    /// Photos, signatures and scanned forms, keyed by the blob's hash; the bytes live beside the store, never here.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    #[uniffi(default)]
    pub attachments: HashMap<String, crate::attachment::AttachmentRef>,
    #[serde(default)]
    pub deleted: bool,
}

/// A referral decision: none, routine or urgent, and where to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Referral {
    pub level: ReferralLevel,
    #[serde(default)]
    pub destination: String,
}

/// One member's measurements at one screening (体检 / 筛查), as entered; classification is derived, never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct Screening {
    pub id: String,
    pub household_id: String,
    pub member_id: String,
    pub date: IsoDate,
    pub screener: String,
    #[serde(default)]
    pub visit_id: Option<String>,
    #[serde(default)]
    pub campaign: Option<String>,
    #[serde(default)]
    #[autosurgeon(with = "form::optional_number")]
    pub systolic: Option<f64>,
    #[serde(default)]
    #[autosurgeon(with = "form::optional_number")]
    pub diastolic: Option<f64>,
    #[serde(default)]
    #[autosurgeon(with = "form::optional_number")]
    pub heart_rate: Option<f64>,
    #[serde(default)]
    #[autosurgeon(with = "form::optional_number")]
    pub glucose: Option<f64>,
    #[serde(default)]
    pub glucose_kind: GlucoseKind,
    #[serde(default)]
    #[autosurgeon(with = "form::optional_number")]
    pub height_cm: Option<f64>,
    #[serde(default)]
    #[autosurgeon(with = "form::optional_number")]
    pub weight_kg: Option<f64>,
    #[serde(default)]
    #[autosurgeon(with = "form::optional_number")]
    pub waist_cm: Option<f64>,
    #[serde(default)]
    pub findings: String,
    #[serde(default)]
    pub referral: Referral,
    /// Photos, signatures and scanned forms, keyed by the blob's hash; the bytes live beside the store, never here.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    #[uniffi(default)]
    pub attachments: HashMap<String, crate::attachment::AttachmentRef>,
    #[serde(default)]
    pub deleted: bool,
}

/// Rules for what is due, set by supervisors. Stored as a document so the server can sync them to devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate, uniffi::Record)]
pub struct ScheduleRules {
    /// Helper visits each calendar month for every household whose status needs them ("每月走访…" — at least 1).
    #[autosurgeon(with = "form::count")]
    pub monthly_visits: u32,
    /// Helper visits a month for monitored (脱贫监测户) households.
    #[autosurgeon(with = "form::count")]
    pub monitored_monthly_visits: u32,
    /// Helper visits a month for edge (边缘易致贫户) households.
    #[autosurgeon(with = "form::count")]
    pub edge_monthly_visits: u32,
    /// Which poverty statuses need monthly helper visits at all; other households are never due. Rules written
    /// before this existed load with the default (registered poor, lifted, monitored, edge — not ordinary 一般农户).
    /// A binding that leaves it out sends an empty list, which validation refuses rather than reading as "nobody".
    #[serde(default = "default_monthly_visit_statuses")]
    #[autosurgeon(missing = "default_monthly_visit_statuses")]
    #[uniffi(default)]
    pub monthly_visit_statuses: Vec<PovertyStatus>,
    /// Days between doctor follow-ups of hypertensive patients under contract.
    #[autosurgeon(with = "form::count")]
    pub hypertension_followup_days: u32,
    /// Days between doctor follow-ups of type 2 diabetes patients under contract.
    #[autosurgeon(with = "form::count")]
    pub diabetes_followup_days: u32,
    /// Days between doctor follow-ups of severe mental disorder patients under contract.
    #[autosurgeon(with = "form::count")]
    pub mental_followup_days: u32,
    /// How many days ahead a follow-up shows as due before it is overdue.
    #[autosurgeon(with = "form::count")]
    pub lookahead_days: u32,
}

/// The statuses that need monthly helper visits unless the rules say otherwise: every household the poverty
/// programmes follow, not ordinary rural households.
pub fn default_monthly_visit_statuses() -> Vec<PovertyStatus> {
    vec![PovertyStatus::RegisteredPoor, PovertyStatus::Lifted, PovertyStatus::Monitored, PovertyStatus::Edge]
}

impl Default for ScheduleRules {
    fn default() -> Self {
        Self {
            monthly_visits: 1,
            monitored_monthly_visits: 2,
            edge_monthly_visits: 2,
            monthly_visit_statuses: default_monthly_visit_statuses(),
            hypertension_followup_days: 90,
            diabetes_followup_days: 90,
            mental_followup_days: 90,
            lookahead_days: 7,
        }
    }
}

/// Anything that lives in a document of its own, so storage and sync can handle all kinds through one path.
pub trait Record: Reconcile + Hydrate + Clone + Send + 'static {
    const KIND: DocKind;
    fn id(&self) -> &str;
    /// Tombstoned records stay in the store and sync like any edit; lists hide them.
    fn is_deleted(&self) -> bool;
    fn set_deleted(&mut self, deleted: bool);
    /// Every problem with the record, each naming its field; empty when the record may be saved.
    fn validate(&self, today: &str) -> Vec<FieldError>;
    /// Every problem with saving this record over `previous`, the version the store holds: rules about changes
    /// (a household's status change needs a dated transition).
    fn validate_change(&self, previous: &Self, today: &str) -> Vec<FieldError>;
}

macro_rules! record_kind {
    ($ty:ty, $kind:expr, $validate:path) => {
        record_kind!($ty, $kind, $validate, |_: &$ty, _: &$ty, _: &str| Vec::new());
    };
    ($ty:ty, $kind:expr, $validate:path, $validate_change:expr) => {
        impl Record for $ty {
            const KIND: DocKind = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn is_deleted(&self) -> bool {
                self.deleted
            }
            fn set_deleted(&mut self, deleted: bool) {
                self.deleted = deleted;
            }
            fn validate(&self, today: &str) -> Vec<FieldError> {
                $validate(self, today)
            }
            fn validate_change(&self, previous: &Self, today: &str) -> Vec<FieldError> {
                ($validate_change)(self, previous, today)
            }
        }
    };
}

record_kind!(Household, DocKind::Household, validate_household, validate_household_change);
record_kind!(Visit, DocKind::Visit, validate_visit);
record_kind!(Screening, DocKind::Screening, validate_screening);

/// Schedule rules live in one well-known document.
pub const SCHEDULE_RULES_ID: &str = "schedule-rules";

/// One earlier version of the schedule rules and the day it took effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct RulesVersion {
    pub effective_from: IsoDate,
    pub rules: ScheduleRules,
}

/// The rules document carries an id and a tombstone like every record so that it flows through the same store path.
///
/// Rules have effective dates, so that a past month is judged by the rules in force then: `rules` is the newest
/// version, in force from `effective_from`; `history` holds the earlier versions, oldest first, each in force from
/// its own date until the next one's (see `in_force`). A new version may not take effect before the newest one
/// (`RulesDoc::set`): history is only ever appended to, so a month already judged under some rules is never
/// silently re-judged under rules that were written later but backdated past them. A version dated the same day as
/// the newest replaces it (a correction). Future dates are allowed: rules can be announced ahead of the month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct RulesDoc {
    pub id: String,
    /// The newest rules.
    pub rules: ScheduleRules,
    /// The day `rules` took effect (`YYYY-MM-DD`); empty in documents written before rules had dates, and for the
    /// defaults: in force since always.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub effective_from: IsoDate,
    /// Earlier versions, oldest first.
    #[serde(default)]
    #[autosurgeon(missing = "Default::default")]
    pub history: Vec<RulesVersion>,
    #[serde(default)]
    pub deleted: bool,
}

impl Default for RulesDoc {
    /// The default rules, in force since always: what a device uses until a rules document arrives.
    fn default() -> Self {
        Self {
            id: SCHEDULE_RULES_ID.into(),
            rules: ScheduleRules::default(),
            effective_from: String::new(),
            history: Vec::new(),
            deleted: false,
        }
    }
}

impl RulesDoc {
    /// A rules document whose only version is `rules`, in force from `effective_from` (empty: since always).
    pub fn new(rules: ScheduleRules, effective_from: &str) -> Self {
        Self { rules, effective_from: effective_from.into(), ..Self::default() }
    }

    /// The rules in force on `date` (see `in_force`).
    pub fn in_force(&self, date: &str) -> &ScheduleRules {
        in_force(self, date)
    }

    /// Makes `rules` the newest version, in force from `effective_from`; the version it replaces as newest goes to
    /// `history` (or, dated the same day, is corrected in place). Refused, naming the field, when the rules are not
    /// sensible, the date is not a date, or it lies before the newest version's date.
    pub fn set(&mut self, rules: ScheduleRules, effective_from: &str) -> Result<(), Vec<FieldError>> {
        let mut errors = validate_rules(&rules);
        if parse_date(effective_from).is_none() {
            let (en, zh) = date_problem(effective_from);
            errors.push(FieldError {
                field: "effective_from".into(),
                code: "format".into(),
                message_en: en,
                message_zh: zh,
            });
        } else if effective_from < self.effective_from.as_str() {
            let current = &self.effective_from;
            errors.push(FieldError {
                field: "effective_from".into(),
                code: "range".into(),
                message_en: format!(
                    "{effective_from} is before {current}, when the current rules took effect: rules for past months \
                     cannot be rewritten"
                ),
                message_zh: format!("{effective_from}早于现行规则的生效日期{current}：不能改写过去月份的规则"),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        if effective_from != self.effective_from {
            let previous = RulesVersion {
                effective_from: std::mem::replace(&mut self.effective_from, effective_from.into()),
                rules: self.rules.clone(),
            };
            self.history.push(previous);
        }
        self.rules = rules;
        // Two supervisors' concurrent edits merge into one list: keep it ordered, one version per day (the later
        // in the list wins, as it does for the newest version).
        self.history.sort_by(|a, b| a.effective_from.cmp(&b.effective_from));
        let mut kept: Vec<RulesVersion> = Vec::with_capacity(self.history.len());
        for v in std::mem::take(&mut self.history) {
            match kept.last_mut() {
                Some(last) if last.effective_from == v.effective_from => *last = v,
                _ => kept.push(v),
            }
        }
        kept.retain(|v| v.effective_from < self.effective_from);
        self.history = kept;
        Ok(())
    }
}

/// The rules in force on `date` (`YYYY-MM-DD`): the version with the latest effective date on or before it. A date
/// before every version gets the oldest one, the best knowledge there is of those days. Pure, so the server judges
/// a past month exactly as a device does.
pub fn in_force<'a>(doc: &'a RulesDoc, date: &str) -> &'a ScheduleRules {
    let current = (doc.effective_from.as_str(), &doc.rules);
    let versions = doc.history.iter().map(|v| (v.effective_from.as_str(), &v.rules)).chain([current]);
    // `max_by` keeps the last of equal dates: the newest version, then the later one in the history.
    versions
        .clone()
        .filter(|(from, _)| *from <= date)
        .max_by(|a, b| a.0.cmp(b.0))
        .or_else(|| versions.min_by(|a, b| a.0.cmp(b.0)))
        .map(|(_, r)| r)
        .unwrap_or(&doc.rules)
}

/// Rules are checked on their own and for their dates; the device's date does not matter to them.
fn validate_rules_doc(doc: &RulesDoc, _today: &str) -> Vec<FieldError> {
    let mut errors = validate_rules(&doc.rules);
    let date_error = |field: String, value: &str| {
        let (en, zh) = date_problem(value);
        FieldError { field, code: "format".into(), message_en: en, message_zh: zh }
    };
    if !doc.effective_from.is_empty() && parse_date(&doc.effective_from).is_none() {
        errors.push(date_error("effective_from".into(), &doc.effective_from));
    }
    for (i, v) in doc.history.iter().enumerate() {
        if !v.effective_from.is_empty() && parse_date(&v.effective_from).is_none() {
            errors.push(date_error(format!("history.{i}.effective_from"), &v.effective_from));
        } else if v.effective_from >= doc.effective_from {
            errors.push(FieldError {
                field: format!("history.{i}.effective_from"),
                code: "range".into(),
                message_en: format!("an earlier version must take effect before {}", doc.effective_from),
                message_zh: format!("旧版规则的生效日期须早于{}", doc.effective_from),
            });
        }
        for mut e in validate_rules(&v.rules) {
            e.field = format!("history.{i}.rules.{}", e.field);
            errors.push(e);
        }
    }
    errors
}

record_kind!(RulesDoc, DocKind::Rules, validate_rules_doc);

/// A fresh time-ordered id (UUIDv7), made on the device so records can be created offline.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
