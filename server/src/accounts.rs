//! What the administration commands do (`user`, `assign`, `grant`, `device`, `rules`): checks of the arguments,
//! the storage call, and a line in the audit log. `main` only parses and prints.

use crate::auth;
use crate::places;
use crate::scope::{self, Scope};
use crate::storage::{now_ms, Area, AuditEntry, Device, Grant, PlaceKind, ScopeFacts, Storage, StorageError, User};
use crate::sync;
use automerge::ActorId;
use doorstep_core::doc::{Author, Document};
use doorstep_core::model::{validate_rules, DocKind, Household, Role, RulesDoc, ScheduleRules, SCHEDULE_RULES_ID};
use doorstep_core::sync::protocol::WireChange;

/// The device id under which server-authored changes (schedule rules edited here) are stored.
pub const SERVER_DEVICE: &str = "server";
/// Who the audit log names for commands run on the server's console.
pub const CONSOLE: &str = "console";

/// Why an administration command failed; printed as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

type Result<T> = std::result::Result<T, AccountsError>;

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(AccountsError::Invalid(message.into()))
}

fn audit_by(storage: &dyn Storage, by: &str, action: &str, detail: String) -> Result<()> {
    storage.audit(&AuditEntry { at_ms: now_ms(), actor: by.into(), action: action.into(), detail })?;
    Ok(())
}

/// Checks a user name: what people type on a phone, no spaces or control characters.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid(format!("user name {name:?}: must be 1 to 64 characters without spaces"));
    }
    Ok(())
}

/// Creates an account. Doctors need a team (their scope is the team's villages).
pub fn add_user(
    storage: &dyn Storage,
    by: &str,
    name: &str,
    role: Role,
    team: Option<String>,
    password: &str,
) -> Result<()> {
    check_name(name)?;
    if role == Role::Doctor && team.as_deref().is_none_or(str::is_empty) {
        return invalid("--team: a doctor needs a family-doctor team");
    }
    if password.chars().count() < 8 {
        return invalid("password: must be at least 8 characters");
    }
    let password_hash = auth::hash_password(password).map_err(AccountsError::Invalid)?;
    let user =
        User { name: name.into(), role, team: team.clone(), password_hash, disabled: false, created_ms: now_ms() };
    storage.add_user(&user)?;
    audit_by(storage, by, "user.add", format!("{name} role={} team={}", role.code(), team.unwrap_or_default()))
}

pub fn disable_user(storage: &dyn Storage, by: &str, name: &str) -> Result<()> {
    storage.set_disabled(name, true)?;
    audit_by(storage, by, "user.disable", name.into())
}

fn require_role(storage: &dyn Storage, name: &str, role: Role) -> Result<()> {
    match storage.user(name)? {
        None => {
            let users = storage.users()?;
            let hint = places::did_you_mean(&places::close_matches(name, users.iter().map(|u| u.name.as_str())));
            invalid(format!("no user {name:?}{hint} (`doorstep-server user list` lists them)"))
        }
        Some(u) if u.role != role => invalid(format!("{name} is a {}, not a {}", u.role.code(), role.code())),
        Some(_) => Ok(()),
    }
}

fn require_some(what: &str, items: &[String]) -> Result<()> {
    if items.is_empty() || items.iter().any(|i| i.trim().is_empty()) {
        return invalid(format!("{what}: give at least one, none empty"));
    }
    Ok(())
}

pub fn assign_helper(storage: &dyn Storage, by: &str, helper: &str, households: &[String]) -> Result<()> {
    require_some("HOUSEHOLD_ID", households)?;
    require_role(storage, helper, Role::Helper)?;
    let households = places::resolve_households(storage, households)?;
    storage.assign_helper(helper, &households)?;
    audit_by(storage, by, "assign.helper", format!("{helper}: {}", households.join(" ")))
}

/// Takes households away from helper `from` and, with `to`, gives them to that helper. Each household document's
/// `helper_ids` is edited first (a server-authored change, so every device sees who is responsible now and no
/// later push names `from` again), then the assignment moves: `from`'s loss is recorded in the change sequence, so
/// `from`'s devices upload what they wrote for these households at their next sync and then wipe them.
pub fn reassign_helper(
    storage: &dyn Storage,
    by: &str,
    from: &str,
    to: Option<&str>,
    households: &[String],
) -> Result<()> {
    require_some("HOUSEHOLD_ID", households)?;
    require_role(storage, from, Role::Helper)?;
    if let Some(to) = to {
        require_role(storage, to, Role::Helper)?;
    }
    let households = &places::resolve_households(storage, households)?;
    let author = Author { user: by.into(), device: SERVER_DEVICE.into() };
    let admin = Scope::new(by, Role::Admin, ScopeFacts::default(), &scope::today());
    let bad = |e: doorstep_core::Error| AccountsError::Invalid(e.to_string());
    for id in households {
        let Some(stored) = storage.doc(id)?.filter(|d| d.kind == DocKind::Household) else { continue };
        let mut doc = Document::load(&stored.bytes, &ActorId::random()).map_err(bad)?;
        let mut h: Household = doc.read().map_err(bad)?;
        h.helper_ids.retain(|x| x != from);
        if let Some(to) = to.filter(|t| !h.helper_ids.iter().any(|x| x == t)) {
            h.helper_ids.push(to.to_string());
        }
        if let Some(change) = doc.update(&h, &author, now_ms()).map_err(bad)? {
            let wire = WireChange { doc_id: id.clone(), kind: DocKind::Household.code().into(), bytes: change.bytes };
            sync::push(storage, SERVER_DEVICE, &admin, &[wire])?;
        }
    }
    storage.unassign_helper(from, households)?;
    if let Some(to) = to {
        storage.assign_helper(to, households)?;
    }
    audit_by(storage, by, "assign.reassign", format!("{}: {from} → {}", households.join(" "), to.unwrap_or("-")))
}

/// Takes villages away from a family-doctor team; the team's doctors' devices upload what they wrote for those
/// villages at their next sync, then wipe them (the loss is recorded in the change sequence).
pub fn unassign_team(storage: &dyn Storage, by: &str, team: &str, villages: &[String]) -> Result<()> {
    require_some("VILLAGE", villages)?;
    if team.trim().is_empty() {
        return invalid("TEAM: must not be empty");
    }
    places::require_team(storage, team)?;
    places::require_known(storage, PlaceKind::Village, villages)?;
    storage.unassign_team(team, villages)?;
    audit_by(storage, by, "assign.remove_team", format!("{team}: {}", villages.join(" ")))
}

pub fn assign_team(storage: &dyn Storage, by: &str, team: &str, villages: &[String]) -> Result<()> {
    require_some("VILLAGE", villages)?;
    if team.trim().is_empty() {
        return invalid("TEAM: must not be empty");
    }
    places::require_team(storage, team)?;
    places::require_known(storage, PlaceKind::Village, villages)?;
    storage.assign_team(team, villages)?;
    audit_by(storage, by, "assign.team", format!("{team}: {}", villages.join(" ")))
}

/// Adds townships or villages to a supervisor's area (audited); the supervisor's devices receive them.
pub fn assign_area(
    storage: &dyn Storage,
    by: &str,
    user: &str,
    townships: &[String],
    villages: &[String],
) -> Result<()> {
    let areas = supervisor_areas(storage, user, townships, villages)?;
    storage.assign_area(user, &areas)?;
    audit_by(storage, by, "assign.area", format!("{user}: townships={townships:?} villages={villages:?}"))
}

/// Takes townships or villages out of a supervisor's area (audited); the supervisor's devices upload, then wipe.
pub fn unassign_area(
    storage: &dyn Storage,
    by: &str,
    user: &str,
    townships: &[String],
    villages: &[String],
) -> Result<()> {
    let areas = supervisor_areas(storage, user, townships, villages)?;
    storage.unassign_area(user, &areas)?;
    audit_by(storage, by, "assign.remove_area", format!("{user}: townships={townships:?} villages={villages:?}"))
}

/// The areas named on the command line, once it is sure they name some and `user` is a supervisor.
fn supervisor_areas(storage: &dyn Storage, user: &str, townships: &[String], villages: &[String]) -> Result<Vec<Area>> {
    if townships.is_empty() && villages.is_empty() {
        return invalid("give --township T or --village V (at least one)");
    }
    require_role(storage, user, Role::Supervisor)?;
    places::require_known(storage, PlaceKind::Township, townships)?;
    places::require_known(storage, PlaceKind::Village, villages)?;
    Ok(townships
        .iter()
        .map(|t| Area::Township(t.clone()))
        .chain(villages.iter().map(|v| Area::Village(v.clone())))
        .collect())
}

pub fn grant_inspector(storage: &dyn Storage, by: &str, user: &str, village: &str, until: &str) -> Result<()> {
    if chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").is_err() {
        return invalid(format!("--until {until:?}: expected a date YYYY-MM-DD"));
    }
    if village.trim().is_empty() {
        return invalid("VILLAGE: must not be empty");
    }
    require_role(storage, user, Role::Inspector)?;
    places::require_known(storage, PlaceKind::Village, &[village.to_string()])?;
    storage.grant_inspector(&Grant { user: user.into(), village: village.into(), until: until.into() })?;
    audit_by(storage, by, "grant.inspector", format!("{user}: {village} until {until}"))
}

pub fn devices(storage: &dyn Storage) -> Result<Vec<Device>> {
    Ok(storage.devices()?)
}

pub fn revoke_device(storage: &dyn Storage, by: &str, id: &str) -> Result<()> {
    storage.revoke_device(id)?;
    audit_by(storage, by, "device.revoke", id.into())
}

/// A store signing in again as the same account (password changed, app data restored, a new sign-in after an
/// expired one) proves it held the previous device's token: that device is retired (revoked), so that the actors it
/// wrote with move to the new device at its first push and its unsynced work still goes up. Returns the retired
/// device; a token of another account, or one already revoked, retires nothing.
pub fn replace_device(
    storage: &dyn Storage,
    user: &str,
    previous_token_sha256: &str,
    new_device: &str,
) -> Result<Option<String>> {
    match storage.device_by_token(previous_token_sha256)? {
        Some((old, _)) if old.user == user && !old.revoked && old.id != new_device => {
            storage.revoke_device(&old.id)?;
            audit_by(storage, user, "device.replace", format!("{} -> {new_device}", old.id))?;
            Ok(Some(old.id))
        }
        _ => Ok(None),
    }
}

/// Which schedule rules to change; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesUpdate {
    pub monthly_visits: Option<u32>,
    pub monitored_monthly_visits: Option<u32>,
    pub edge_monthly_visits: Option<u32>,
    pub hypertension_followup_days: Option<u32>,
    pub diabetes_followup_days: Option<u32>,
    pub mental_followup_days: Option<u32>,
    pub lookahead_days: Option<u32>,
}

impl RulesUpdate {
    fn apply(&self, r: &mut ScheduleRules) {
        let set = |target: &mut u32, v: Option<u32>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        set(&mut r.monthly_visits, self.monthly_visits);
        set(&mut r.monitored_monthly_visits, self.monitored_monthly_visits);
        set(&mut r.edge_monthly_visits, self.edge_monthly_visits);
        set(&mut r.hypertension_followup_days, self.hypertension_followup_days);
        set(&mut r.diabetes_followup_days, self.diabetes_followup_days);
        set(&mut r.mental_followup_days, self.mental_followup_days);
        set(&mut r.lookahead_days, self.lookahead_days);
    }
}

/// The schedule rules in force on the server (the defaults until someone sets them).
pub fn rules(storage: &dyn Storage) -> Result<ScheduleRules> {
    match storage.doc(SCHEDULE_RULES_ID)? {
        None => Ok(ScheduleRules::default()),
        Some(d) => {
            let doc = d.document().map_err(|e| AccountsError::Invalid(e.to_string()))?;
            let r: RulesDoc = doc.read().map_err(|e| AccountsError::Invalid(e.to_string()))?;
            Ok(r.rules)
        }
    }
}

/// Edits the schedule rules as a server-authored change to the `schedule-rules` document, stored through the same
/// path as a pushed change, so devices receive it at their next sync.
pub fn set_rules(storage: &dyn Storage, by: &str, update: &RulesUpdate) -> Result<ScheduleRules> {
    let actor = ActorId::random();
    let author = Author { user: by.into(), device: SERVER_DEVICE.into() };
    let now = now_ms();
    let existing = storage.doc(SCHEDULE_RULES_ID)?;
    let bad = |e: doorstep_core::Error| AccountsError::Invalid(e.to_string());
    let mut record = match &existing {
        Some(d) => Document::load(&d.bytes, &actor).and_then(|doc| doc.read::<RulesDoc>()).map_err(bad)?,
        None => RulesDoc::default(),
    };
    update.apply(&mut record.rules);
    let errors = validate_rules(&record.rules);
    if !errors.is_empty() {
        let msgs: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message_en)).collect();
        return invalid(msgs.join("; "));
    }
    let change = match &existing {
        Some(d) => {
            let mut doc = Document::load(&d.bytes, &actor).map_err(bad)?;
            doc.update(&record, &author, now).map_err(bad)?
        }
        None => Some(Document::create(&record, &actor, &author, now).map_err(bad)?.1),
    };
    if let Some(change) = change {
        let scope = Scope::new(by, Role::Admin, ScopeFacts::default(), &scope::today());
        let wire =
            WireChange { doc_id: SCHEDULE_RULES_ID.into(), kind: DocKind::Rules.code().into(), bytes: change.bytes };
        sync::push(storage, SERVER_DEVICE, &scope, &[wire])?;
        audit_by(storage, by, "rules.set", format!("{:?}", record.rules))?;
    }
    Ok(record.rules)
}
