//! What the administration commands do (`user`, `assign`, `grant`, `device`, `rules`): checks of the arguments,
//! the storage call, and a line in the audit log. `main` only parses and prints.

use crate::auth;
use crate::message::Message;
use crate::places;
use crate::scope::{self, Scope};
use crate::storage::{
    now_ms, Area, Assign, AuditEntry, Device, Grant, PlaceKind, ScopeFacts, Storage, StorageError, User,
};
use crate::sync;
use automerge::ActorId;
use doorstep_core::doc::{Author, Document};
use doorstep_core::model::{DocKind, Household, PovertyStatus, Role, RulesDoc, ScheduleRules, SCHEDULE_RULES_ID};
use doorstep_core::sync::protocol::WireChange;
use serde_json::json;

/// The device id under which server-authored changes (schedule rules edited here) are stored.
pub const SERVER_DEVICE: &str = "server";
/// Who the audit log names for commands run on the server's console.
pub const CONSOLE: &str = "console";

/// Why an administration command failed; printed as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The command or form was refused: what is wrong, naming the field, in both languages.
    #[error("{0}")]
    Invalid(Message),
    /// Something failed that no input can fix (hashing a password); kept for the log.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

type Result<T> = std::result::Result<T, AccountsError>;

fn invalid<T>(en: impl Into<String>, zh: impl Into<String>) -> Result<T> {
    Err(AccountsError::Invalid(Message::new(en, zh)))
}

/// A document the server holds that does not read as its kind (a bug or a damaged database): refused, never a panic.
pub(crate) fn unreadable(e: doorstep_core::Error) -> AccountsError {
    AccountsError::Invalid(Message::new(
        format!("a stored document cannot be read: {e}"),
        format!("存储的记录无法读取：{e}"),
    ))
}

/// Writes one audit-log line. The detail is a JSON object of plain facts (account names, codes, places, dates), so
/// the audit page can say it in the reader's language (`web::audit`), and a program can read it.
pub(crate) fn audit_by(storage: &dyn Storage, by: &str, action: &str, detail: serde_json::Value) -> Result<()> {
    let detail = detail.to_string();
    storage.audit(&AuditEntry { at_ms: now_ms(), actor: by.into(), action: action.into(), detail })?;
    Ok(())
}

/// Checks a user name: what people type on a phone, no spaces or control characters.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid(
            format!("user name {name:?}: must be 1 to 64 characters without spaces"),
            format!("用户名 {name:?}：须为1至64个字符，不含空格"),
        );
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
        return invalid("--team: a doctor needs a family-doctor team", "团队：医生须属于一个家庭医生团队");
    }
    check_password(password)?;
    let password_hash = auth::hash_password(password).map_err(AccountsError::Internal)?;
    let user = User {
        name: name.into(),
        role,
        team: team.clone(),
        password_hash,
        disabled: false,
        created_ms: now_ms(),
        display_name: String::new(),
        unit: String::new(),
        must_change_password: false,
    };
    storage.add_user(&user)?;
    audit_by(storage, by, "user.add", json!({"user": name, "role": role.code(), "team": team.unwrap_or_default()}))
}

/// Checks a display name or unit: what fits on a page and a printed ledger.
fn check_label(en_field: &str, zh_field: &str, value: &str) -> Result<()> {
    if value.chars().count() > 64 || value.chars().any(char::is_control) {
        return invalid(
            format!("{en_field}: at most 64 characters, no control characters"),
            format!("{zh_field}：最多64个字符，不含控制字符"),
        );
    }
    Ok(())
}

/// Sets the name colleagues know a person by and the unit they work for (`None` keeps the current one); pages and
/// ledgers show these. Returns the account as saved.
pub fn set_profile(
    storage: &dyn Storage,
    by: &str,
    name: &str,
    display_name: Option<&str>,
    unit: Option<&str>,
) -> Result<User> {
    let mut user = require_user(storage, name)?;
    if let Some(d) = display_name {
        check_label("display name", "姓名", d.trim())?;
        user.display_name = d.trim().into();
    }
    if let Some(u) = unit {
        check_label("unit", "单位", u.trim())?;
        user.unit = u.trim().into();
    }
    storage.set_profile(name, &user.display_name, &user.unit)?;
    audit_by(storage, by, "user.profile", json!({"user": name, "display_name": user.display_name, "unit": user.unit}))?;
    Ok(user)
}

/// The account, or a refusal naming it with the closest account names.
pub(crate) fn require_user(storage: &dyn Storage, name: &str) -> Result<User> {
    match storage.user(name)? {
        Some(u) => Ok(u),
        None => {
            let users = storage.users()?;
            let hint = places::did_you_mean(&places::close_matches(name, users.iter().map(|u| u.name.as_str())));
            invalid(
                format!("no user {name:?}{hint} (`doorstep-server user list` lists them)"),
                format!("没有用户 {name:?}{hint}"),
            )
        }
    }
}

/// Disables an account and ends its web sessions; its devices are refused at their next request. The last active
/// admin cannot be disabled: nobody could then manage accounts from the pages.
pub fn disable_user(storage: &dyn Storage, by: &str, name: &str) -> Result<()> {
    let user = require_user(storage, name)?;
    if user.role == Role::Admin && !user.disabled {
        let others = storage.users()?.into_iter().filter(|u| u.role == Role::Admin && !u.disabled && u.name != name);
        if others.count() == 0 {
            return invalid(
                format!("{name} is the last active admin and cannot be disabled; add or enable another admin first"),
                format!("{name} 是最后一个在用的管理员，不能停用；请先添加或启用另一个管理员"),
            );
        }
    }
    storage.set_disabled(name, true)?;
    storage.sessions_end_user(name)?;
    audit_by(storage, by, "user.disable", json!({"user": name}))
}

/// Enables a disabled account again.
pub fn enable_user(storage: &dyn Storage, by: &str, name: &str) -> Result<()> {
    require_user(storage, name)?;
    storage.set_disabled(name, false)?;
    audit_by(storage, by, "user.enable", json!({"user": name}))
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return invalid("password: must be 8 to 1024 characters", "密码：须为8至1024个字符");
    }
    Ok(())
}

/// An admin sets a new password for someone who forgot theirs: the person must choose their own at the next
/// sign-in, and every web session of the account ends. Device tokens stay valid (a phone in the field keeps
/// syncing); revoke a device when it is lost.
pub fn reset_password(storage: &dyn Storage, by: &str, name: &str, password: &str) -> Result<()> {
    check_password(password)?;
    require_user(storage, name)?;
    let hash = auth::hash_password(password).map_err(AccountsError::Internal)?;
    storage.set_password(name, &hash, by != name)?;
    storage.sessions_end_user(name)?;
    audit_by(storage, by, "user.password_reset", json!({"user": name}))
}

/// A person chooses a new password (after a reset, or at will): the current one must match, the new one must
/// differ from it.
pub fn change_password(storage: &dyn Storage, name: &str, current: &str, new: &str) -> Result<()> {
    let user = require_user(storage, name)?;
    if !auth::verify_password(&user.password_hash, current) {
        return invalid("current password: does not match", "当前密码：不正确");
    }
    check_password(new)?;
    if new == current {
        return invalid("new password: must differ from the current one", "新密码：不能与当前密码相同");
    }
    let hash = auth::hash_password(new).map_err(AccountsError::Internal)?;
    storage.set_password(name, &hash, false)?;
    audit_by(storage, name, "user.password_change", json!({"user": name}))
}

fn require_role(storage: &dyn Storage, name: &str, role: Role) -> Result<()> {
    let u = require_user(storage, name)?;
    if u.role != role {
        return invalid(
            format!("{name} is a {}, not a {}", u.role.code(), role.code()),
            format!("{name} 是{}，不是{}", u.role.label("zh"), role.label("zh")),
        );
    }
    Ok(())
}

fn require_some(what: &str, items: &[String]) -> Result<()> {
    if items.is_empty() || items.iter().any(|i| i.trim().is_empty()) {
        return invalid(format!("{what}: give at least one, none empty"), format!("{what}：至少填写一个，不能为空"));
    }
    Ok(())
}

pub fn assign_helper(storage: &dyn Storage, by: &str, helper: &str, households: &[String]) -> Result<()> {
    require_some("HOUSEHOLD_ID", households)?;
    require_role(storage, helper, Role::Helper)?;
    let households = places::resolve_households(storage, households)?;
    storage.assign_helper(helper, &households)?;
    audit_by(storage, by, "assign.helper", json!({"user": helper, "households": households}))
}

/// Takes households away from helper `from` and, with `to`, gives them to that helper (and the senior-helper role
/// with them). Each household document's
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
    let bad = unreadable;
    for id in households {
        let Some(stored) = storage.doc(id)?.filter(|d| d.kind == DocKind::Household) else { continue };
        let mut doc = Document::load(&stored.bytes, &ActorId::random()).map_err(bad)?;
        let mut h: Household = doc.read().map_err(bad)?;
        h.helper_ids.retain(|x| x != from);
        if let Some(to) = to.filter(|t| !h.helper_ids.iter().any(|x| x == t)) {
            h.helper_ids.push(to.to_string());
        }
        // The senior helper of a monitored household (red alert) hands the role to whoever takes the household
        // over; with nobody taking it, the role is empty and the household's next edit must name one again.
        if h.senior_helper == from {
            h.senior_helper = match to {
                Some(to) if h.helper_ids.len() > 1 => to.to_string(),
                _ => String::new(),
            };
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
    audit_by(storage, by, "assign.reassign", json!({"households": households, "from": from, "to": to}))
}

/// Takes villages away from a family-doctor team; the team's doctors' devices upload what they wrote for those
/// villages at their next sync, then wipe them (the loss is recorded in the change sequence).
pub fn unassign_team(storage: &dyn Storage, by: &str, team: &str, villages: &[String]) -> Result<()> {
    require_some("VILLAGE", villages)?;
    if team.trim().is_empty() {
        return invalid("TEAM: must not be empty", "团队：不能为空");
    }
    places::require_team(storage, team)?;
    places::require_known(storage, PlaceKind::Village, villages)?;
    storage.unassign_team(team, villages)?;
    audit_by(storage, by, "assign.remove_team", json!({"team": team, "villages": villages}))
}

pub fn assign_team(storage: &dyn Storage, by: &str, team: &str, villages: &[String]) -> Result<()> {
    require_some("VILLAGE", villages)?;
    if team.trim().is_empty() {
        return invalid("TEAM: must not be empty", "团队：不能为空");
    }
    places::require_team(storage, team)?;
    places::require_known(storage, PlaceKind::Village, villages)?;
    storage.assign_team(team, villages)?;
    audit_by(storage, by, "assign.team", json!({"team": team, "villages": villages}))
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
    audit_by(storage, by, "assign.area", json!({"user": user, "townships": townships, "villages": villages}))
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
    audit_by(storage, by, "assign.remove_area", json!({"user": user, "townships": townships, "villages": villages}))
}

/// The areas named on the command line, once it is sure they name some and `user` is a supervisor.
fn supervisor_areas(storage: &dyn Storage, user: &str, townships: &[String], villages: &[String]) -> Result<Vec<Area>> {
    if townships.is_empty() && villages.is_empty() {
        return invalid("give --township T or --village V (at least one)", "请至少指定一个乡镇或行政村");
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

/// How long an inspector grant (互查) may run unless the server is configured otherwise: a cross-inspection takes
/// weeks, not years.
pub const DEFAULT_MAX_GRANT_DAYS: u32 = 90;

/// Gives an inspector one village until `until` (inclusive), at most `max_days` from today; a date already past
/// ends the grant.
pub fn grant_inspector(
    storage: &dyn Storage,
    by: &str,
    user: &str,
    village: &str,
    until: &str,
    max_days: u32,
) -> Result<()> {
    let Ok(end) = chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d") else {
        return invalid(
            format!("--until {until:?}: expected a date YYYY-MM-DD"),
            format!("截止日期 {until:?}：应为日期 YYYY-MM-DD"),
        );
    };
    if village.trim().is_empty() {
        return invalid("VILLAGE: must not be empty", "行政村：不能为空");
    }
    require_role(storage, user, Role::Inspector)?;
    places::require_known(storage, PlaceKind::Village, &[village.to_string()])?;
    let today = chrono::NaiveDate::parse_from_str(&scope::today(), "%Y-%m-%d").unwrap_or(end);
    let latest = today + chrono::Duration::days(i64::from(max_days));
    // A past date ends a running grant at once; only the length is limited.
    if end > latest {
        return invalid(
            format!("--until {until}: at most {max_days} days from today, {latest} at the latest"),
            format!("截止日期 {until}：最长{max_days}天，最晚为 {latest}"),
        );
    }
    storage.grant_inspector(&Grant { user: user.into(), village: village.into(), until: until.into() })?;
    audit_by(storage, by, "grant.inspector", json!({"user": user, "village": village, "until": until}))
}

pub fn devices(storage: &dyn Storage) -> Result<Vec<Device>> {
    Ok(storage.devices()?)
}

pub fn revoke_device(storage: &dyn Storage, by: &str, id: &str) -> Result<()> {
    storage.revoke_device(id)?;
    audit_by(storage, by, "device.revoke", json!({"device": id}))
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
            audit_by(storage, user, "device.replace", json!({"from_device": old.id, "device": new_device}))?;
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
    /// Which household statuses need monthly helper visits.
    pub monthly_visit_statuses: Option<Vec<PovertyStatus>>,
    /// The day the new rules take effect (`YYYY-MM-DD`, today when `None`); months that ended before it keep being
    /// judged by the rules in force then.
    pub effective_from: Option<String>,
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
        if let Some(statuses) = &self.monthly_visit_statuses {
            r.monthly_visit_statuses = statuses.clone();
        }
    }
}

/// The schedule rules document: the rules in force now, since when, and the earlier versions (the defaults, in
/// force since always, until someone sets them).
pub fn rules(storage: &dyn Storage) -> Result<RulesDoc> {
    match storage.doc(SCHEDULE_RULES_ID)? {
        None => Ok(RulesDoc::default()),
        Some(d) => {
            let doc = d.document().map_err(unreadable)?;
            doc.read().map_err(unreadable)
        }
    }
}

/// Edits the schedule rules as a server-authored change to the `schedule-rules` document, stored through the same
/// path as a pushed change, so devices receive it at their next sync.
pub fn set_rules(storage: &dyn Storage, by: &str, update: &RulesUpdate) -> Result<RulesDoc> {
    let actor = ActorId::random();
    let author = Author { user: by.into(), device: SERVER_DEVICE.into() };
    let now = now_ms();
    let existing = storage.doc(SCHEDULE_RULES_ID)?;
    let bad = unreadable;
    let mut record = match &existing {
        Some(d) => Document::load(&d.bytes, &actor).and_then(|doc| doc.read::<RulesDoc>()).map_err(bad)?,
        None => RulesDoc::default(),
    };
    let mut rules = record.rules.clone();
    update.apply(&mut rules);
    let from = update.effective_from.clone().unwrap_or_else(scope::today);
    // A new version from `from` on; the same day corrects the newest one; an earlier day is refused (months already
    // judged keep their rules).
    if let Err(errors) = record.set(rules, from.trim()) {
        let en: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message_en)).collect();
        let zh: Vec<String> = errors.iter().map(|e| format!("{}：{}", e.field, e.message_zh)).collect();
        return invalid(en.join("; "), zh.join("；"));
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
        audit_by(storage, by, "rules.set", json!({"rules": record.rules, "effective_from": record.effective_from}))?;
    }
    Ok(record)
}
