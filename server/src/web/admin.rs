//! Admin pages: users, assignments, places (townships and villages), schedule rules, inspector grants (互查), the
//! twice-yearly dynamic review and the audit log. Every change made here goes through the storage trait (or, for the
//! rules document, through the same push path as a device's change) and is written to the audit log.

use super::indicators::{Filter, HouseholdLink, Selection};
use super::pages::today_of;
use super::{form_map, redirect, PageError, Viewer};
use crate::accounts::{self, AccountsError, RulesUpdate};
use crate::message::Message;
use crate::places;
use crate::storage::{self, Area, Device, PlaceKind, User};
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::{Html, Response};
use doorstep_core::model::{PovertyStatus, Role, ScheduleRules, VisitKind};
use minijinja::context;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

impl From<AccountsError> for PageError {
    fn from(e: AccountsError) -> Self {
        match e {
            AccountsError::Invalid(m) => PageError::BadRequest(m),
            AccountsError::Internal(m) => PageError::Unavailable(m),
            AccountsError::Storage(e) => e.into(),
        }
    }
}

/// A refused form, in both languages.
fn bad(en: &str, zh: &str) -> PageError {
    PageError::BadRequest(Message::new(en, zh))
}

fn require(viewer: &Viewer, roles: &[Role]) -> Result<(), PageError> {
    if roles.contains(&viewer.user.role) {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

const ADMIN: &[Role] = &[Role::Admin];
const MANAGERS: &[Role] = &[Role::Admin, Role::Supervisor];

fn page(viewer: &Viewer, section: &str, data: minijinja::Value) -> Result<Html<String>, PageError> {
    let title = viewer.lang.texts().get(section).copied().unwrap_or("admin");
    viewer.render("admin.html", context! { section => section, data => data, ..viewer.base(title) })
}

#[derive(Serialize)]
struct UserLine {
    name: String,
    display_name: String,
    unit: String,
    role: String,
    team: String,
    disabled: bool,
    must_change_password: bool,
    created: String,
}

impl UserLine {
    fn of(u: User, lang: &str) -> Self {
        UserLine {
            role: u.role.label(lang).into(),
            team: u.team.unwrap_or_default(),
            disabled: u.disabled,
            must_change_password: u.must_change_password,
            created: super::pages::local_time(u.created_ms),
            display_name: u.display_name,
            unit: u.unit,
            name: u.name,
        }
    }
}

/// `GET /admin/users`.
pub async fn users(viewer: Viewer) -> Result<Html<String>, PageError> {
    require(&viewer, ADMIN)?;
    let users = storage::run(&viewer.state.storage, |s| s.users()).await?;
    let code = viewer.lang.code();
    let lines: Vec<UserLine> = users.into_iter().map(|u| UserLine::of(u, code)).collect();
    let roles: Vec<(String, String)> = Role::ALL.iter().map(|r| (r.code().into(), r.label(code).into())).collect();
    page(&viewer, "users", context! { users => lines, roles => roles, saved => viewer.query.contains_key("saved") })
}

/// `POST /admin/users`: add a user (with the name people read and the unit), or disable / enable one (a disabled
/// user's sessions end at once; the last active admin cannot be disabled).
pub async fn users_post(viewer: Viewer, body: Bytes) -> Result<Response, PageError> {
    require(&viewer, ADMIN)?;
    let form = form_map(&body);
    viewer.check_csrf(&form)?;
    let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let name = get("name");
    if name.is_empty() || name.len() > 64 {
        return Err(bad("name: must be 1 to 64 bytes", "用户名：须为1至64个字节"));
    }
    let by = viewer.user.name.clone();
    match get("op").as_str() {
        "add" => {
            let role = Role::parse(&get("role")).ok_or_else(|| bad("role: unknown", "角色：未知"))?;
            let (password, team) = (get("password"), Some(get("team")).filter(|t| !t.is_empty()));
            let (display_name, unit) = (get("display_name"), get("unit"));
            storage::run(&viewer.state.storage, move |s| {
                Ok(accounts::add_user(s, &by, &name, role, team, &password)
                    .and_then(|()| accounts::set_profile(s, &by, &name, Some(&display_name), Some(&unit)).map(|_| ())))
            })
            .await??;
        }
        op => user_op(&viewer, op, &name, &form).await?,
    }
    Ok(redirect("/admin/users?saved=1"))
}

/// The changes to one account both users pages make: disable, enable, profile, password reset, device revocation.
async fn user_op(viewer: &Viewer, op: &str, name: &str, form: &HashMap<String, String>) -> Result<(), PageError> {
    let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let (by, name) = (viewer.user.name.clone(), name.to_string());
    let result = match op {
        "disable" => storage::run(&viewer.state.storage, move |s| Ok(accounts::disable_user(s, &by, &name))).await?,
        "enable" => storage::run(&viewer.state.storage, move |s| Ok(accounts::enable_user(s, &by, &name))).await?,
        "profile" => {
            let (display_name, unit) = (get("display_name"), get("unit"));
            storage::run(&viewer.state.storage, move |s| {
                Ok(accounts::set_profile(s, &by, &name, Some(&display_name), Some(&unit)).map(|_| ()))
            })
            .await?
        }
        "reset_password" => {
            let password = form.get("password").cloned().unwrap_or_default();
            storage::run(&viewer.state.storage, move |s| Ok(accounts::reset_password(s, &by, &name, &password))).await?
        }
        "revoke" => {
            // Only a device of this account, checked and revoked in one call.
            let device = get("device");
            let revoked = storage::run(&viewer.state.storage, move |s| {
                if !s.devices()?.iter().any(|d| d.id == device && d.user == name) {
                    return Ok(None);
                }
                Ok(Some(accounts::revoke_device(s, &by, &device)))
            })
            .await?;
            revoked.ok_or(PageError::NotFound)?
        }
        _ => return Err(bad("op: unknown", "操作：未知")),
    };
    Ok(result?)
}

#[derive(Serialize)]
struct DeviceLine {
    id: String,
    name: String,
    app_version: String,
    created: String,
    last_sync: String,
    revoked: bool,
}

/// `GET /admin/users/{name}`: one account — the name people read and the unit, state, password reset, and its
/// devices with their last sync and app version, each revocable.
pub async fn user(viewer: Viewer, Path(name): Path<String>) -> Result<Html<String>, PageError> {
    require(&viewer, ADMIN)?;
    let n = name.clone();
    let (user, devices) = storage::run(&viewer.state.storage, move |s| {
        let devices: Vec<Device> = s.devices()?.into_iter().filter(|d| d.user == n).collect();
        Ok((s.user(&n)?, devices))
    })
    .await?;
    let user = user.ok_or(PageError::NotFound)?;
    let never = viewer.lang.pick("从未同步", "never synced");
    let devices: Vec<DeviceLine> = devices
        .into_iter()
        .rev()
        .map(|d| DeviceLine {
            last_sync: d.last_seen_ms.map(super::pages::local_time).unwrap_or_else(|| never.to_string()),
            created: super::pages::local_time(d.created_ms),
            id: d.id,
            name: d.name,
            app_version: d.app_version,
            revoked: d.revoked,
        })
        .collect();
    let title = format!("{}: {}", viewer.lang.texts()["user"], user.shown_name());
    let line = UserLine::of(user, viewer.lang.code());
    let data = context! { account => line, devices => devices, saved => viewer.query.contains_key("saved") };
    viewer.render("admin.html", context! { section => "user", data => data, ..viewer.base(&title) })
}

/// `POST /admin/users/{name}`.
pub async fn user_post(viewer: Viewer, Path(name): Path<String>, body: Bytes) -> Result<Response, PageError> {
    require(&viewer, ADMIN)?;
    let form = form_map(&body);
    viewer.check_csrf(&form)?;
    let op = form.get("op").cloned().unwrap_or_default();
    user_op(&viewer, &op, &name, &form).await?;
    Ok(redirect(&format!("/admin/users/{}?saved=1", super::encode(&name))))
}

#[derive(Serialize)]
struct AssignmentLine {
    user: String,
    role: String,
    detail: String,
}

/// `GET /admin/assignments`: who is in charge of what.
pub async fn assignments(viewer: Viewer) -> Result<Html<String>, PageError> {
    require(&viewer, ADMIN)?;
    let users = storage::run(&viewer.state.storage, |s| s.users()).await?;
    let code = viewer.lang.code();
    let mut lines = Vec::new();
    for u in users {
        let name = u.name.clone();
        let facts = storage::run(&viewer.state.storage, move |s| s.scope_facts(&name)).await?;
        let detail = match u.role {
            Role::Helper => format!("{} {}", facts.households.len(), viewer.lang.pick("户", "households")),
            Role::Doctor => format!(
                "{}: {}",
                u.team.clone().unwrap_or_default(),
                facts.team_villages.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
            Role::Supervisor => facts
                .areas
                .iter()
                .map(|a| match a {
                    Area::Township(t) => t.clone(),
                    Area::Village(v) => v.clone(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Role::Inspector => {
                facts.grants.iter().map(|g| format!("{} ≤ {}", g.village, g.until)).collect::<Vec<_>>().join(", ")
            }
            Role::Admin => viewer.lang.pick("全部", "everything").into(),
        };
        lines.push(AssignmentLine { user: u.name, role: u.role.label(code).into(), detail });
    }
    page(&viewer, "assignments", context! { lines => lines, saved => viewer.query.contains_key("saved") })
}

/// `POST /admin/assignments`: a helper to households (by number), a team to villages, a supervisor to an area.
pub async fn assignments_post(viewer: Viewer, body: Bytes) -> Result<Response, PageError> {
    require(&viewer, ADMIN)?;
    let form = form_map(&body);
    viewer.check_csrf(&form)?;
    let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let who = get("who");
    let list: Vec<String> = get("targets")
        .split([',', '，', ' ', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if who.is_empty() || list.is_empty() {
        return Err(bad("who, targets: required", "人员和对象：必填"));
    }
    let kind = get("kind");
    let targets = match kind.as_str() {
        "helper" | "reassign" => {
            let snap = viewer.snapshot()?;
            let ids: Vec<String> = snap
                .households
                .values()
                .filter(|e| list.contains(&e.record.number) || list.contains(&e.record.id))
                .map(|e| e.record.id.clone())
                .collect();
            if ids.is_empty() {
                return Err(bad("targets: no household with these numbers", "对象：没有这些户号的农户"));
            }
            ids
        }
        "team" | "township" | "village" | "remove_team" => list,
        _ => return Err(bad("kind: unknown", "类型：未知")),
    };
    let by = viewer.user.name.clone();
    let to = Some(get("to")).filter(|t| !t.is_empty());
    storage::run(&viewer.state.storage, move |s| {
        Ok(match kind.as_str() {
            "helper" => accounts::assign_helper(s, &by, &who, &targets),
            // The old helper's devices upload what they wrote for these households, then wipe them.
            "reassign" => accounts::reassign_helper(s, &by, &who, to.as_deref(), &targets),
            "remove_team" => accounts::unassign_team(s, &by, &who, &targets),
            "team" => accounts::assign_team(s, &by, &who, &targets),
            "township" => accounts::assign_area(s, &by, &who, &targets, &[]),
            _ => accounts::assign_area(s, &by, &who, &[], &targets),
        })
    })
    .await??;
    Ok(redirect("/admin/assignments?saved=1"))
}

#[derive(Serialize)]
struct PlaceLine {
    kind: String,
    kind_code: String,
    name: String,
    township: String,
    households: u64,
    /// `admin`, `migration` or `device` (a village a device reported, to confirm or correct).
    origin: String,
}

/// `GET /admin/places`: the townships and villages assignments may name, with their households; villages devices
/// reported are marked for the admin to confirm or rename.
pub async fn places(viewer: Viewer) -> Result<Html<String>, PageError> {
    require(&viewer, ADMIN)?;
    let places = storage::run(&viewer.state.storage, |s| s.places()).await?;
    let code = viewer.lang.code();
    let townships: Vec<String> =
        places.iter().filter(|p| p.kind == PlaceKind::Township).map(|p| p.name.clone()).collect();
    let lines: Vec<PlaceLine> = places
        .into_iter()
        .map(|p| PlaceLine {
            kind: p.kind.label(code).into(),
            kind_code: p.kind.code().into(),
            name: p.name,
            township: p.township,
            households: p.households,
            origin: p.origin.code().into(),
        })
        .collect();
    page(
        &viewer,
        "places",
        context! { lines => lines, townships => townships, saved => viewer.query.contains_key("saved") },
    )
}

/// `POST /admin/places`: adds a township or a village (confirming one a device reported), or renames one — the
/// same calls as `doorstep-server place …`, audited under the admin's name.
pub async fn places_post(viewer: Viewer, body: Bytes) -> Result<Response, PageError> {
    require(&viewer, ADMIN)?;
    let form = form_map(&body);
    viewer.check_csrf(&form)?;
    let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let kind = PlaceKind::parse(&get("kind")).ok_or_else(|| bad("kind: township or village", "类型：乡镇或行政村"))?;
    let (op, name, township, new) = (get("op"), get("name"), get("township"), get("new"));
    let by = viewer.user.name.clone();
    storage::run(&viewer.state.storage, move |s| {
        Ok(match (op.as_str(), kind) {
            ("add", PlaceKind::Township) => places::add_township(s, &by, &name).map(|_| ()),
            ("add", PlaceKind::Village) => places::add_village(s, &by, &name, &township).map(|_| ()),
            ("rename", kind) => places::rename(s, &by, kind, &name, &new).map(|_| ()),
            _ => Err(AccountsError::Invalid(Message::new("op: add or rename", "操作：添加或改名"))),
        })
    })
    .await??;
    Ok(redirect("/admin/places?saved=1"))
}

/// `GET /admin/rules`: the schedule rules in force.
pub async fn rules(viewer: Viewer) -> Result<Html<String>, PageError> {
    require(&viewer, MANAGERS)?;
    let snap = viewer.snapshot()?;
    let doc = &snap.rules;
    let code = viewer.lang.code();
    let numbers = |r: &ScheduleRules| -> Vec<(&'static str, &'static str, u64)> {
        let value = serde_json::to_value(r).unwrap_or_default();
        super::audit::RULE_FIELDS
            .iter()
            .map(|(field, word)| (*field, *word, value.get(*field).and_then(|v| v.as_u64()).unwrap_or_default()))
            .collect()
    };
    let statuses = |r: &ScheduleRules| -> Vec<String> {
        r.monthly_visit_statuses.iter().map(|s| s.label(code).to_string()).collect()
    };
    let choices: Vec<(String, String, bool)> = PovertyStatus::ALL
        .iter()
        .map(|s| (s.code().into(), s.label(code).into(), doc.rules.monthly_visit_statuses.contains(s)))
        .collect();
    // Newest first: the rules in force now, then each earlier version with the day it took effect.
    let always = viewer.lang.pick("一直", "always");
    let mut versions = vec![context! {
        from => if doc.effective_from.is_empty() { always.to_string() } else { doc.effective_from.clone() },
        numbers => numbers(&doc.rules),
        statuses => statuses(&doc.rules),
    }];
    for v in doc.history.iter().rev() {
        versions.push(context! {
            from => if v.effective_from.is_empty() { always.to_string() } else { v.effective_from.clone() },
            numbers => numbers(&v.rules),
            statuses => statuses(&v.rules),
        });
    }
    let data = context! {
        fields => numbers(&doc.rules),
        choices => choices,
        versions => versions,
        today => viewer.today(),
        saved => viewer.query.contains_key("saved"),
    };
    page(&viewer, "rules", data)
}

/// `POST /admin/rules`: a new version of the rules document, pushed through the same path as a device's change
/// (validated, scope-checked, sequenced), so devices receive it at their next sync.
pub async fn rules_post(viewer: Viewer, body: Bytes) -> Result<Response, PageError> {
    require(&viewer, MANAGERS)?;
    let form = form_map(&body);
    viewer.check_csrf(&form)?;
    let num = |k: &str| -> Result<u32, PageError> {
        form.get(k).and_then(|v| v.trim().parse().ok()).ok_or_else(|| {
            let word = super::audit::RULE_FIELDS.iter().find(|(f, _)| *f == k).map(|(_, w)| *w).unwrap_or(k);
            let label = super::i18n::Lang::Zh.texts().get(word).copied().unwrap_or(k);
            PageError::BadRequest(Message::new(format!("{k}: a whole number"), format!("{label}：应为整数")))
        })
    };
    let update = RulesUpdate {
        monthly_visits: Some(num("monthly_visits")?),
        monitored_monthly_visits: Some(num("monitored_monthly_visits")?),
        edge_monthly_visits: Some(num("edge_monthly_visits")?),
        hypertension_followup_days: Some(num("hypertension_followup_days")?),
        diabetes_followup_days: Some(num("diabetes_followup_days")?),
        mental_followup_days: Some(num("mental_followup_days")?),
        lookahead_days: Some(num("lookahead_days")?),
        // The checkboxes count only when the form carried them (`statuses` marks it): an unchecked box sends nothing.
        monthly_visit_statuses: form.contains_key("statuses").then(|| {
            PovertyStatus::ALL.iter().copied().filter(|s| form.contains_key(&format!("status_{}", s.code()))).collect()
        }),
        effective_from: form.get("effective_from").map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
    };
    let by = viewer.user.name.clone();
    // The same path as `doorstep-server rules set`: a change pushed through sync, so devices receive it.
    storage::run(&viewer.state.storage, move |s| Ok(accounts::set_rules(s, &by, &update).map(|_| ()))).await??;
    Ok(redirect("/admin/rules?saved=1"))
}

#[derive(Serialize)]
struct GrantLine {
    user: String,
    village: String,
    until: String,
    expired: bool,
}

/// `GET /admin/grants`: inspectors' time-limited access to villages.
pub async fn grants(viewer: Viewer) -> Result<Html<String>, PageError> {
    require(&viewer, MANAGERS)?;
    let users = storage::run(&viewer.state.storage, |s| s.users()).await?;
    let today = crate::scope::today();
    let mut lines = Vec::new();
    let mut inspectors = Vec::new();
    for u in users.into_iter().filter(|u| u.role == Role::Inspector) {
        inspectors.push(u.name.clone());
        let name = u.name.clone();
        let facts = storage::run(&viewer.state.storage, move |s| s.scope_facts(&name)).await?;
        for g in facts.grants {
            lines.push(GrantLine { expired: g.until < today, user: g.user, village: g.village, until: g.until });
        }
    }
    let snap = viewer.snapshot()?;
    let mut villages: Vec<String> = snap
        .households
        .iter()
        .filter(|(id, e)| viewer.scope.sees(id, &e.placement))
        .map(|(_, e)| e.placement.village.clone())
        .collect();
    villages.sort();
    villages.dedup();
    page(
        &viewer,
        "grants",
        context! { lines => lines, inspectors => inspectors, villages => villages, saved => viewer.query.contains_key("saved") },
    )
}

/// `POST /admin/grants`: grants an inspector a village until a date (inclusive); it ends by itself.
pub async fn grants_post(viewer: Viewer, body: Bytes) -> Result<Response, PageError> {
    require(&viewer, MANAGERS)?;
    let form = form_map(&body);
    viewer.check_csrf(&form)?;
    let get = |k: &str| form.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let (user, village, until) = (get("user"), get("village"), get("until"));
    // A supervisor grants only villages of their own area.
    if viewer.user.role == Role::Supervisor && !viewer.scope.visible.villages.contains(&village) {
        let snap = viewer.snapshot()?;
        let in_area =
            snap.households.iter().any(|(id, e)| e.placement.village == village && viewer.scope.sees(id, &e.placement));
        if !in_area {
            return Err(PageError::Forbidden);
        }
    }
    let (by, max_days) = (viewer.user.name.clone(), viewer.state.config.max_grant_days);
    storage::run(&viewer.state.storage, move |s| {
        Ok(accounts::grant_inspector(s, &by, &user, &village, &until, max_days))
    })
    .await??;
    Ok(redirect("/admin/grants?saved=1"))
}

#[derive(Serialize)]
pub(super) struct ReviewLine {
    pub household: HouseholdLink,
    pub state: String,
    state_code: String,
    pub visit_date: String,
    pub status_change: String,
}

/// The twice-yearly dynamic review (动态调整) of the households a page shows: each household is reviewed when a
/// verification visit (核查) was recorded in the period's month; until the month ends the rest are pending, after it
/// they are missed.
pub(super) struct Review {
    pub period: String,
    pub periods: Vec<String>,
    pub lines: Vec<ReviewLine>,
    pub by_village: Vec<super::indicators::Rate>,
    /// Every village of the selection together: the county (or township) total.
    pub total: super::indicators::Rate,
}

/// The review of `?period=` (the latest when none is given); a period that is not a review month up to now is
/// refused, naming the ones there are.
pub(super) fn review_of(viewer: &Viewer) -> Result<Review, PageError> {
    let today = today_of(viewer);
    let current = today.format("%Y-%m").to_string();
    let year: i32 = current[..4].parse().unwrap_or(2026);
    let mut periods: Vec<String> = Vec::new();
    for y in [year - 1, year] {
        for m in ["04", "10"] {
            let p = format!("{y}-{m}");
            if p <= current {
                periods.push(p);
            }
        }
    }
    periods.reverse();
    let period = match viewer.query.get("period").map(|p| p.trim()).filter(|p| !p.is_empty()) {
        Some(p) if periods.iter().any(|known| known == p) => p.to_string(),
        Some(p) => {
            let known = periods.join(", ");
            return Err(PageError::BadRequest(Message::new(
                format!("period {p:?}: no review in that month; the reviews are {known} (April and October)"),
                format!("时段 {p:?}：该月没有动态调整；可选时段为 {known}（每年4月和10月）"),
            )));
        }
        None => periods.first().cloned().unwrap_or_else(|| format!("{year}-04")),
    };
    let snap = viewer.snapshot()?;
    let filter =
        Filter { village: viewer.query.get("village").filter(|v| !v.is_empty()).cloned(), ..Default::default() };
    let sel = Selection::new(&snap, &viewer.scope, &filter, today, viewer.lang, &viewer.people);
    let mut reviewed_on: HashMap<&str, &str> = HashMap::new();
    for v in sel.visits().filter(|v| v.month == period && v.kind == VisitKind::Verification) {
        reviewed_on.insert(&v.household_id, &v.date);
    }
    let texts = viewer.lang.texts();
    let over = period < current;
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut lines: Vec<ReviewLine> = sel
        .households
        .iter()
        .map(|e| {
            let date = reviewed_on.get(e.record.id.as_str()).map(|d| d.to_string());
            let code = match (&date, over) {
                (Some(_), _) => "reviewed",
                (None, true) => "missed",
                (None, false) => "pending",
            };
            let c = counts.entry(e.placement.village.clone()).or_default();
            c.1 += 1;
            if date.is_some() {
                c.0 += 1;
            }
            let change = e
                .record
                .status_history
                .iter()
                .filter(|t| t.date.starts_with(&period))
                .map(|t| {
                    format!(
                        "{} {} → {}",
                        t.date,
                        t.event.label(viewer.lang.code()),
                        t.to_status.label(viewer.lang.code())
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            ReviewLine {
                household: HouseholdLink::of(e, viewer.lang, &viewer.people),
                state: texts[code].to_string(),
                state_code: code.into(),
                visit_date: date.unwrap_or_default(),
                status_change: change,
            }
        })
        .collect();
    lines.sort_by(|a, b| (&a.household.village, &a.household.number).cmp(&(&b.household.village, &b.household.number)));
    let (yes, all) = counts.values().fold((0, 0), |(y, n), (cy, cn)| (y + cy, n + cn));
    let total = super::indicators::Rate::new(texts["total"], yes, all);
    let by_village = counts.into_iter().map(|(v, (y, n))| super::indicators::Rate::new(&v, y, n)).collect();
    Ok(Review { period, periods, lines, by_village, total })
}

/// `GET /admin/review?period=YYYY-04|YYYY-10`: the review's progress by village with the total, and its households.
pub async fn review(viewer: Viewer) -> Result<Html<String>, PageError> {
    require(&viewer, MANAGERS)?;
    let Review { period, periods, mut lines, by_village, total } = review_of(&viewer)?;
    let ledger = format!("period={}", super::encode(&period));
    lines.truncate(2000);
    page(
        &viewer,
        "review",
        context! { period => period, periods => periods, lines => lines, by_village => by_village, total => total, ledger => ledger },
    )
}

#[derive(Serialize)]
struct AuditLine {
    time: String,
    actor: String,
    action: String,
    /// The action's stable code, kept in the page for programs and tests (`data-action`).
    code: String,
    detail: String,
}

/// `GET /admin/audit`: the latest admin actions.
pub async fn audit_log(viewer: Viewer) -> Result<Html<String>, PageError> {
    require(&viewer, ADMIN)?;
    let entries = storage::run(&viewer.state.storage, |s| s.audit_log(500)).await?;
    let lines: Vec<AuditLine> = entries
        .into_iter()
        .map(|e| {
            let (action, detail) = super::audit::describe(&e, viewer.lang, &viewer.people);
            AuditLine {
                time: super::pages::local_time(e.at_ms),
                actor: viewer.people.shown(&e.actor),
                action,
                code: e.action,
                detail,
            }
        })
        .collect();
    page(&viewer, "audit", context! { lines => lines })
}
