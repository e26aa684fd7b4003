//! The console's look-ups (`place list`, `household list|show`, `user show`, `device list`): what an admin needs to
//! find a household's id or see who is in charge of what, as plain lines. Times are local dates and times; codes
//! are followed by their Chinese label.

use crate::accounts::AccountsError;
use crate::message::Message;
use crate::places;
use crate::storage::{Area, HouseholdFilter, HouseholdSummary, Place, PlaceOrigin, Storage};
use crate::web::local_time;
use doorstep_core::model::{mask_national_id, DocKind, Household, PovertyStatus, Role, VisitKind};

type Result<T> = std::result::Result<T, AccountsError>;

/// How many of a household's latest visits `household show` prints.
const LAST_VISITS: u32 = 5;

fn status_label(code: &str) -> String {
    match PovertyStatus::parse(code) {
        Some(s) => format!("{} {}", s.code(), s.label_zh()),
        None => code.to_string(),
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// `place list`: kind, name, township, households, and how the server came to know the place.
pub fn place_lines(places: &[Place]) -> Vec<String> {
    places
        .iter()
        .map(|p| {
            let origin = match p.origin {
                PlaceOrigin::Admin => "added".to_string(),
                PlaceOrigin::Migration => "found in existing data".to_string(),
                PlaceOrigin::Device => format!(
                    "reported by a device: confirm with `place add-{}` or correct with `place rename`",
                    p.kind.code()
                ),
            };
            format!("{}\t{}\t{}\t{} households\t{origin}", p.kind.code(), p.name, or_dash(&p.township), p.households)
        })
        .collect()
}

/// One line of `household list`: id first, so it can be copied into `assign helper`.
pub fn household_line(h: &HouseholdSummary) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        h.id,
        h.number,
        h.village,
        h.head_name,
        status_label(&h.status),
        or_dash(&h.helpers.join(","))
    )
}

/// Finds one household by id or number, refusing unknown or ambiguous text as `assign` does.
fn one_household(storage: &dyn Storage, typed: &str) -> Result<HouseholdSummary> {
    let id = places::resolve_households(storage, &[typed.to_string()])?.remove(0);
    let filter = HouseholdFilter { ids: vec![id.clone()], limit: 1, ..Default::default() };
    storage.find_households(&filter)?.pop().ok_or_else(|| {
        AccountsError::Invalid(Message::new(
            format!("household {typed:?} is deleted"),
            format!("农户 {typed:?} 已删除"),
        ))
    })
}

/// `household show ID|NUMBER`: where it is, who is in charge, its members and its latest visits.
pub fn household_show(storage: &dyn Storage, typed: &str) -> Result<Vec<String>> {
    let summary = one_household(storage, typed)?;
    let stored = storage.doc(&summary.id)?.filter(|d| d.kind == DocKind::Household).ok_or_else(|| {
        AccountsError::Invalid(Message::new(format!("no household {typed:?}"), format!("没有农户 {typed:?}")))
    })?;
    let h: Household = stored.document().and_then(|d| d.read()).map_err(crate::accounts::unreadable)?;
    let mut out = vec![
        format!("household\t{}", h.number),
        format!("id\t{}", h.id),
        format!(
            "place\t{}, {}{}",
            h.village,
            or_dash(&h.township),
            if h.hamlet.is_empty() { String::new() } else { format!(" ({})", h.hamlet) }
        ),
        format!("address\t{}", or_dash(&h.address)),
        format!("head\t{}", h.head_name),
        format!("status\t{} {}", h.poverty_status.code(), h.poverty_status.label_zh()),
        format!("helpers\t{}", or_dash(&summary.helpers.join(", "))),
        format!("doctor team\t{}", or_dash(&h.doctor_team)),
        format!("last change received\t{}", local_time(stored.updated_ms)),
        "members:".to_string(),
    ];
    let mut members: Vec<_> = h.members.values().collect();
    members.sort_by(|a, b| {
        (a.relation != doorstep_core::model::Relation::Head, &a.birth_date)
            .cmp(&(b.relation != doorstep_core::model::Relation::Head, &b.birth_date))
    });
    for m in members {
        out.push(format!(
            "  {}\t{} {}\t{}\t{}\t{}",
            m.name,
            m.relation.code(),
            m.relation.label_zh(),
            m.sex.label_zh(),
            m.birth_date,
            mask_national_id(&m.national_id)
        ));
    }
    let visits = storage.household_visits(&h.id, LAST_VISITS)?;
    out.push(format!("last visits:{}", if visits.is_empty() { " none" } else { "" }));
    for v in visits {
        let kind = VisitKind::parse(&v.kind).map(|k| format!("{} {}", k.code(), k.label_zh())).unwrap_or(v.kind);
        out.push(format!("  {}\t{kind}\t{}\t{}", v.date, v.visitor, v.id));
    }
    Ok(out)
}

/// `user show NAME`: role, team, state, what the account is in charge of, and its devices with their last sync.
pub fn user_show(storage: &dyn Storage, name: &str) -> Result<Vec<String>> {
    let user = crate::accounts::require_user(storage, name)?;
    let facts = storage.scope_facts(name)?;
    let mut out = vec![
        format!("user\t{}", user.name),
        format!("role\t{} {}", user.role.code(), user.role.label("zh")),
        format!("team\t{}", or_dash(user.team.as_deref().unwrap_or_default())),
        format!("state\t{}", if user.disabled { "disabled" } else { "active" }),
        format!("created\t{}", local_time(user.created_ms)),
    ];
    match user.role {
        Role::Helper => {
            let ids: Vec<String> = facts.households.iter().cloned().collect();
            out.push(format!("households\t{}", ids.len()));
            let found = storage.find_households(&HouseholdFilter {
                ids: ids.clone(),
                limit: u32::MAX,
                ..Default::default()
            })?;
            for h in &found {
                out.push(format!("  {}", household_line(h)));
            }
            for missing in ids.iter().filter(|id| !found.iter().any(|h| &h.id == *id)) {
                out.push(format!("  {missing}\t(not on the server yet, or deleted)"));
            }
        }
        Role::Doctor => {
            let villages: Vec<&str> = facts.team_villages.iter().map(String::as_str).collect();
            out.push(format!("team villages\t{}", or_dash(&villages.join(", "))));
        }
        Role::Supervisor => {
            let areas: Vec<String> = facts
                .areas
                .iter()
                .map(|a| match a {
                    Area::Township(t) => format!("township {t}"),
                    Area::Village(v) => format!("village {v}"),
                })
                .collect();
            out.push(format!("area\t{}", or_dash(&areas.join(", "))));
        }
        Role::Inspector => {
            let today = crate::scope::today();
            for g in &facts.grants {
                let state = if g.until < today { "ended" } else { "in force" };
                out.push(format!("grant\t{} until {} ({state})", g.village, g.until));
            }
            if facts.grants.is_empty() {
                out.push("grants\t-".into());
            }
        }
        Role::Admin => out.push("scope\teverything".into()),
    }
    let devices: Vec<_> = storage.devices()?.into_iter().filter(|d| d.user == user.name).collect();
    out.push(format!("devices:{}", if devices.is_empty() { " none" } else { "" }));
    for d in devices {
        out.push(format!("  {}", device_line(&d)));
    }
    Ok(out)
}

/// One line of `device list` (and of `user show`): id, account, name, state, signed in, last sync — local times.
pub fn device_line(d: &crate::storage::Device) -> String {
    let state = if d.revoked { "revoked" } else { "active" };
    let seen = d.last_seen_ms.map(local_time).unwrap_or_else(|| "never synced".into());
    format!("{}\t{}\t{}\t{state}\tsigned in {}\tlast sync {seen}", d.id, d.user, d.name, local_time(d.created_ms))
}
