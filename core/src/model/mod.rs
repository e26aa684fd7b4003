//! Typed records of the field: households with their members, visits and screening results.
//!
//! These types are what the app edits, what documents hold (through autosurgeon) and what crosses the FFI (through
//! uniffi), so that one definition serves every layer. Validation (`validate`) and classification (`classify`) are
//! plain functions over them; nothing here touches storage.

mod classify;
mod enums;
mod national_id;
pub mod samples;
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
    pub lat: f64,
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
    #[serde(default)]
    pub relocation: Option<Relocation>,
    #[serde(default)]
    pub income_per_person: Option<f64>,
    #[serde(default)]
    pub income_year: Option<i32>,
    #[serde(default)]
    pub assurances: Assurances,
    #[serde(default)]
    pub measures: HashMap<String, Measure>,
    #[serde(default)]
    pub helper_ids: Vec<String>,
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
    pub systolic: Option<f64>,
    #[serde(default)]
    pub diastolic: Option<f64>,
    #[serde(default)]
    pub heart_rate: Option<f64>,
    #[serde(default)]
    pub glucose: Option<f64>,
    #[serde(default)]
    pub glucose_kind: GlucoseKind,
    #[serde(default)]
    pub height_cm: Option<f64>,
    #[serde(default)]
    pub weight_kg: Option<f64>,
    #[serde(default)]
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
    /// Helper visits each calendar month for every assigned household ("每月走访…" — at least 1).
    pub monthly_visits: u32,
    /// Helper visits a month for monitored (脱贫监测户) households.
    pub monitored_monthly_visits: u32,
    /// Helper visits a month for edge (边缘易致贫户) households.
    pub edge_monthly_visits: u32,
    /// Days between doctor follow-ups of hypertensive patients under contract.
    pub hypertension_followup_days: u32,
    /// Days between doctor follow-ups of type 2 diabetes patients under contract.
    pub diabetes_followup_days: u32,
    /// Days between doctor follow-ups of severe mental disorder patients under contract.
    pub mental_followup_days: u32,
    /// How many days ahead a follow-up shows as due before it is overdue.
    pub lookahead_days: u32,
}

impl Default for ScheduleRules {
    fn default() -> Self {
        Self {
            monthly_visits: 1,
            monitored_monthly_visits: 2,
            edge_monthly_visits: 2,
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
}

macro_rules! record_kind {
    ($ty:ty, $kind:expr, $validate:path) => {
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
        }
    };
}

record_kind!(Household, DocKind::Household, validate_household);
record_kind!(Visit, DocKind::Visit, validate_visit);
record_kind!(Screening, DocKind::Screening, validate_screening);

/// Schedule rules live in one well-known document.
pub const SCHEDULE_RULES_ID: &str = "schedule-rules";

/// The rules document carries an id and a tombstone like every record so that it flows through the same store path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct RulesDoc {
    pub id: String,
    pub rules: ScheduleRules,
    #[serde(default)]
    pub deleted: bool,
}

/// Rules are checked on their own; the date does not matter to them.
fn validate_rules_doc(doc: &RulesDoc, _today: &str) -> Vec<FieldError> {
    validate_rules(&doc.rules)
}

record_kind!(RulesDoc, DocKind::Rules, validate_rules_doc);

/// A fresh time-ordered id (UUIDv7), made on the device so records can be created offline.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
