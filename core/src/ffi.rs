//! The uniffi surface: one `Doorstep` object the app holds. Each method converts arguments, calls the core and
//! converts the result; the logic and its tests live in the modules it calls.

use crate::doc::{Conflict, FieldVersion};
use crate::error::DoorstepError;
use crate::model::{self, Classification, FieldError, Household, Member, Record, ScheduleRules, Screening, Visit};
use crate::query::{
    self, ClassifiedScreening, HouseholdDetail, HouseholdFilter, HouseholdSummary, OpenProblem, PendingReferral,
};
use crate::schedule::{self, DueItem};
use crate::store::{self, Store};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

type FfiResult<T> = Result<T, DoorstepError>;

/// The opened, encrypted store of one signed-in device.
#[derive(uniffi::Object)]
pub struct Doorstep {
    /// Shared with the sync engine, which takes the lock only around store work, never across the network.
    pub(crate) store: Arc<Mutex<Store>>,
    /// The sync engine, made on first use (see `ffi_sync`).
    pub(crate) sync: std::sync::OnceLock<Arc<crate::sync::SyncEngine>>,
}

impl Doorstep {
    fn store(&self) -> FfiResult<MutexGuard<'_, Store>> {
        self.store.lock().map_err(|_| DoorstepError::Internal { message: "store lock poisoned".into() })
    }

    fn save<R: Record>(&self, mut record: R, set_id: impl FnOnce(&mut R, String)) -> FfiResult<String> {
        if record.id().is_empty() {
            set_id(&mut record, model::new_id());
        }
        self.store()?.put(&record, &store::today())?;
        Ok(record.id().to_string())
    }
}

#[uniffi::export]
impl Doorstep {
    /// Opens (or creates) the store at `path` with the 32-byte key the app keeps in its keystore.
    #[uniffi::constructor]
    pub fn open(path: String, key: Vec<u8>, device_name: String) -> FfiResult<Arc<Self>> {
        let store = Store::open(Path::new(&path), &key, &device_name)?;
        Ok(Arc::new(Self { store: Arc::new(Mutex::new(store)), sync: std::sync::OnceLock::new() }))
    }

    /// Replaces the store key.
    pub fn rekey(&self, new_key: Vec<u8>) -> FfiResult<()> {
        Ok(self.store()?.rekey(&new_key)?)
    }

    /// Saves a household (new when its id is empty; members without ids get one); returns its id.
    pub fn save_household(&self, household: Household) -> FfiResult<String> {
        let mut household = household;
        let members = std::mem::take(&mut household.members);
        household.members = members
            .into_values()
            .map(|mut m| {
                if m.id.is_empty() {
                    m.id = model::new_id();
                }
                (m.id.clone(), m)
            })
            .collect();
        self.save(household, |h, id| h.id = id)
    }

    /// Adds a member to a household, or replaces the member with the same id; returns the member's id.
    pub fn save_member(&self, household_id: String, member: Member) -> FfiResult<String> {
        let mut store = self.store()?;
        let mut household: Household = store.get(&household_id)?;
        let mut member = member;
        if member.id.is_empty() {
            member.id = model::new_id();
        }
        let id = member.id.clone();
        household.members.insert(id.clone(), member);
        store.put(&household, &store::today())?;
        Ok(id)
    }

    pub fn get_household(&self, id: String) -> FfiResult<Household> {
        Ok(self.store()?.get(&id)?)
    }

    pub fn delete_household(&self, id: String) -> FfiResult<()> {
        Ok(self.store()?.delete::<Household>(&id)?)
    }

    /// Saves a visit; returns its id.
    pub fn save_visit(&self, visit: Visit) -> FfiResult<String> {
        self.save(visit, |v, id| v.id = id)
    }

    pub fn get_visit(&self, id: String) -> FfiResult<Visit> {
        Ok(self.store()?.get(&id)?)
    }

    pub fn delete_visit(&self, id: String) -> FfiResult<()> {
        Ok(self.store()?.delete::<Visit>(&id)?)
    }

    /// Saves a screening result; returns its id.
    pub fn save_screening(&self, screening: Screening) -> FfiResult<String> {
        self.save(screening, |s, id| s.id = id)
    }

    pub fn get_screening(&self, id: String) -> FfiResult<Screening> {
        Ok(self.store()?.get(&id)?)
    }

    pub fn delete_screening(&self, id: String) -> FfiResult<()> {
        Ok(self.store()?.delete::<Screening>(&id)?)
    }

    pub fn list_households(&self, filter: HouseholdFilter) -> FfiResult<Vec<HouseholdSummary>> {
        Ok(query::households(&*self.store()?, &filter)?)
    }

    pub fn household_detail(&self, id: String) -> FfiResult<HouseholdDetail> {
        Ok(query::household_detail(&*self.store()?, &id)?)
    }

    pub fn visits_of_household(&self, household_id: String) -> FfiResult<Vec<Visit>> {
        Ok(query::visits_of_household(&*self.store()?, &household_id)?)
    }

    pub fn screenings_of_member(&self, member_id: String) -> FfiResult<Vec<ClassifiedScreening>> {
        Ok(query::screenings_of_member(&*self.store()?, &member_id)?)
    }

    pub fn open_problems(&self) -> FfiResult<Vec<OpenProblem>> {
        Ok(query::open_problems(&*self.store()?, None)?)
    }

    pub fn pending_referrals(&self) -> FfiResult<Vec<PendingReferral>> {
        Ok(query::pending_referrals(&*self.store()?)?)
    }

    /// Due and overdue visits on `date` (`YYYY-MM-DD`).
    pub fn due(&self, date: String) -> FfiResult<Vec<DueItem>> {
        Ok(schedule::due(&*self.store()?, &date)?)
    }

    /// The newest schedule rules (they may take effect later than today: see `schedule_rules_on`).
    pub fn schedule_rules(&self) -> FfiResult<ScheduleRules> {
        Ok(schedule::rules(&*self.store()?)?)
    }

    /// The schedule rules in force on `date` (`YYYY-MM-DD`).
    pub fn schedule_rules_on(&self, date: String) -> FfiResult<ScheduleRules> {
        Ok(schedule::rules_on(&*self.store()?, &date)?)
    }

    /// Sets the schedule rules, in force from today.
    pub fn set_schedule_rules(&self, rules: ScheduleRules) -> FfiResult<()> {
        let today = store::today();
        Ok(schedule::set_rules(&mut *self.store()?, rules, &today, &today)?)
    }

    /// Sets the schedule rules, in force from `effective_from` (`YYYY-MM-DD`, not before the newest rules' date).
    pub fn set_schedule_rules_from(&self, rules: ScheduleRules, effective_from: String) -> FfiResult<()> {
        Ok(schedule::set_rules(&mut *self.store()?, rules, &effective_from, &store::today())?)
    }

    pub fn conflicts(&self) -> FfiResult<Vec<Conflict>> {
        Ok(query::all_conflicts(&*self.store()?)?)
    }

    /// Settles a conflicted field of a document with `value_json` (one of the listed values, or a new one).
    pub fn resolve_conflict(&self, doc_id: String, field: String, value_json: String) -> FfiResult<()> {
        self.store()?.resolve(&doc_id, &field, &value_json)?;
        Ok(())
    }

    /// Every value a field of a document has held, with who wrote it on which device.
    pub fn field_history(&self, doc_id: String, field: String) -> FfiResult<Vec<FieldVersion>> {
        let store = self.store()?;
        let (_, mut doc) = store.load_doc(&doc_id)?.ok_or_else(|| crate::Error::not_found("document", &doc_id))?;
        Ok(doc.field_history(&field)?)
    }

    /// How many changes wait to be sent to the server.
    pub fn pending_changes(&self) -> FfiResult<u64> {
        Ok(self.store()?.pending_count()?)
    }
}

/// Classifies measurements as they are typed, before the screening is saved.
#[uniffi::export]
pub fn classify_screening(screening: Screening) -> Classification {
    model::classify(&screening, &model::Thresholds::default())
}

/// Every problem of a screening form, for showing errors before saving.
#[uniffi::export]
pub fn validate_screening(screening: Screening) -> Vec<FieldError> {
    model::validate_screening(&screening, &store::today())
}

/// Every problem of a visit form, for showing errors before saving.
#[uniffi::export]
pub fn validate_visit(visit: Visit) -> Vec<FieldError> {
    model::validate_visit(&visit, &store::today())
}

/// Every problem of a household form, for showing errors before saving.
#[uniffi::export]
pub fn validate_household(household: Household) -> Vec<FieldError> {
    model::validate_household(&household, &store::today())
}

/// The masked form of a national ID number, as lists show it.
#[uniffi::export]
pub fn mask_national_id(id: String) -> String {
    model::mask_national_id(&id)
}
