//! Places as data: the townships and villages an admin adds and renames, and the checks that make an assignment
//! naming an unknown place, household or user fail with the name as typed and the closest known ones, instead of
//! silently giving an empty scope.
//!
//! A household a device pushes into a village nobody added is kept (never lost): the store lists that village as
//! reported by a device, for the admin to confirm (`place add-village`) or correct (`place rename`).

use crate::accounts::{audit_by, AccountsError, SERVER_DEVICE};
use crate::message::Message;
use crate::scope::{self, Scope};
use crate::storage::{now_ms, HouseholdFilter, Place, PlaceKind, PlaceOrigin, ScopeFacts, Storage, StorageError};
use crate::sync;
use automerge::ActorId;
use doorstep_core::doc::{Author, Document};
use doorstep_core::model::{DocKind, Household, Role};
use doorstep_core::sync::protocol::WireChange;
use serde_json::json;

type Result<T> = std::result::Result<T, AccountsError>;

fn invalid<T>(en: impl Into<String>, zh: impl Into<String>) -> Result<T> {
    Err(AccountsError::Invalid(Message::new(en, zh)))
}

/// At most this many close matches are offered after an unknown name.
const SUGGESTIONS: usize = 3;

/// The known names closest to `typed` (by edit distance over characters, at most half the typed length away),
/// closest first: what the admin most likely meant.
pub fn close_matches<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let limit = (typed.chars().count() / 2).max(1);
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|k| (strsim::levenshtein(typed, k), k))
        .filter(|(d, k)| *d <= limit || (!typed.is_empty() && (k.contains(typed) || typed.contains(k))))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(SUGGESTIONS).map(|(_, k)| k.to_string()).collect()
}

/// "; did you mean A or B?" when there are close matches, nothing otherwise.
pub fn did_you_mean(matches: &[String]) -> String {
    if matches.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", matches.join(" or "))
    }
}

/// Checks a place name an admin types: what fits on a page and in a ledger, no control characters or spaces at
/// either end.
fn check_place_name(kind: PlaceKind, name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > 64 || name.trim() != name || name.chars().any(char::is_control) {
        return invalid(
            format!("{} name {name:?}: must be 1 to 64 characters, no spaces at either end", kind.code()),
            format!("{}名称 {name:?}：须为1至64个字符，首尾不能有空格", kind.label("zh")),
        );
    }
    Ok(())
}

/// Refuses any of `names` that is not a known place of `kind`, naming it as typed with the closest known names.
pub fn require_known(storage: &dyn Storage, kind: PlaceKind, names: &[String]) -> Result<()> {
    let places = storage.places()?;
    let known: Vec<&str> = places.iter().filter(|p| p.kind == kind).map(|p| p.name.as_str()).collect();
    for name in names {
        if !known.contains(&name.as_str()) {
            let hint = did_you_mean(&close_matches(name, known.iter().copied()));
            return invalid(
                format!(
                    "unknown {} {name:?}{hint} (`doorstep-server place list` lists the known ones; `place add-{}` \
                     adds one)",
                    kind.code(),
                    kind.code()
                ),
                format!("没有这个{} {name:?}{hint}（请先在“地名”中添加）", kind.label("zh")),
            );
        }
    }
    Ok(())
}

/// Adds a township; false when it confirms one a device reported.
pub fn add_township(storage: &dyn Storage, by: &str, name: &str) -> Result<bool> {
    check_place_name(PlaceKind::Township, name)?;
    let place = Place {
        kind: PlaceKind::Township,
        name: name.into(),
        township: String::new(),
        origin: PlaceOrigin::Admin,
        created_ms: now_ms(),
        households: 0,
    };
    let new = storage.add_place(&place).map_err(|e| exists_as(e, "township", name))?;
    audit_by(storage, by, "place.add_township", json!({"township": name}))?;
    Ok(new)
}

/// Adds a village of a known township; false when it confirms one a device reported.
pub fn add_village(storage: &dyn Storage, by: &str, name: &str, township: &str) -> Result<bool> {
    check_place_name(PlaceKind::Village, name)?;
    require_known(storage, PlaceKind::Township, &[township.to_string()])?;
    let place = Place {
        kind: PlaceKind::Village,
        name: name.into(),
        township: township.into(),
        origin: PlaceOrigin::Admin,
        created_ms: now_ms(),
        households: 0,
    };
    let new = storage.add_place(&place).map_err(|e| exists_as(e, "village", name))?;
    audit_by(storage, by, "place.add_village", json!({"village": name, "township": township}))?;
    Ok(new)
}

fn exists_as(e: StorageError, kind: &str, name: &str) -> AccountsError {
    match e {
        StorageError::Exists(_) => {
            AccountsError::Invalid(Message::new(format!("{kind} {name:?} exists already"), format!("{name:?} 已存在")))
        }
        e => e.into(),
    }
}

/// Renames a township or village: the place, every assignment naming it, and each household placed there (a
/// server-authored change to the household's document, pushed like a device's, so every device and page sees the
/// new name and the visits and screenings move with it). A name a device reported may be renamed onto a known
/// place (fixing a misspelling made on a phone): its households join that place. Returns how many households were
/// edited.
pub fn rename(storage: &dyn Storage, by: &str, kind: PlaceKind, old: &str, new: &str) -> Result<usize> {
    check_place_name(kind, new)?;
    require_known(storage, kind, &[old.to_string()])?;
    storage.rename_place(kind, old, new).map_err(|e| exists_as(e, kind.code(), new))?;
    let filter = match kind {
        PlaceKind::Village => HouseholdFilter { village: Some(old.into()), limit: u32::MAX, ..Default::default() },
        PlaceKind::Township => HouseholdFilter { township: Some(old.into()), limit: u32::MAX, ..Default::default() },
    };
    let author = Author { user: by.into(), device: SERVER_DEVICE.into() };
    let admin = Scope::new(by, Role::Admin, ScopeFacts::default(), &scope::today());
    let bad = crate::accounts::unreadable;
    let mut moved = 0;
    for found in storage.find_households(&filter)? {
        let Some(stored) = storage.doc(&found.id)?.filter(|d| d.kind == DocKind::Household) else { continue };
        let mut doc = Document::load(&stored.bytes, &ActorId::random()).map_err(bad)?;
        let mut h: Household = doc.read().map_err(bad)?;
        match kind {
            PlaceKind::Village => h.village = new.into(),
            PlaceKind::Township => h.township = new.into(),
        }
        if let Some(change) = doc.update(&h, &author, now_ms()).map_err(bad)? {
            let wire = WireChange { doc_id: found.id, kind: DocKind::Household.code().into(), bytes: change.bytes };
            sync::push(storage, SERVER_DEVICE, &admin, &[wire])?;
            moved += 1;
        }
    }
    audit_by(storage, by, "place.rename", json!({"kind": kind.code(), "old": old, "new": new, "moved": moved}))?;
    Ok(moved)
}

/// Resolves what an admin typed for households — an id or a household number — to household ids, refusing
/// anything unknown or ambiguous with the text as typed (and close numbers).
pub fn resolve_households(storage: &dyn Storage, typed: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(typed.len());
    for t in typed {
        if storage.doc(t)?.is_some_and(|d| d.kind == DocKind::Household) {
            ids.push(t.clone());
            continue;
        }
        let by_number = HouseholdFilter { number: Some(t.clone()), limit: 50, ..Default::default() };
        let exact: Vec<_> = storage.find_households(&by_number)?.into_iter().filter(|h| &h.number == t).collect();
        match exact.as_slice() {
            [one] => ids.push(one.id.clone()),
            [] => {
                // Close numbers share the beginning of what was typed (households are numbered by place).
                let prefix: String = t.chars().take(t.chars().count().saturating_sub(3)).collect();
                let near = if prefix.is_empty() {
                    vec![]
                } else {
                    let f = HouseholdFilter { number: Some(prefix), limit: 500, ..Default::default() };
                    storage.find_households(&f)?.into_iter().map(|h| h.number).collect()
                };
                let hint = did_you_mean(&close_matches(t, near.iter().map(String::as_str)));
                return invalid(
                    format!(
                        "no household {t:?} (neither an id nor a household number){hint}; \
                         `doorstep-server household list --village V` lists households with their ids"
                    ),
                    format!("没有农户 {t:?}（既不是编号也不是户号）{hint}"),
                );
            }
            many => {
                let places: Vec<String> = many.iter().map(|h| format!("{} ({})", h.id, h.village)).collect();
                return invalid(
                    format!("household number {t:?} is ambiguous: {}; give the id", places.join(", ")),
                    format!("户号 {t:?} 不唯一：{}；请给出编号", places.join("、")),
                );
            }
        }
    }
    Ok(ids)
}

/// Refuses a team no doctor belongs to (a misspelt team would hold villages nobody sees), naming close teams.
pub fn require_team(storage: &dyn Storage, team: &str) -> Result<()> {
    let users = storage.users()?;
    let teams: Vec<&str> = users.iter().filter_map(|u| u.team.as_deref()).collect();
    if teams.contains(&team) {
        return Ok(());
    }
    let hint = did_you_mean(&close_matches(team, teams.iter().copied()));
    invalid(
        format!("no doctor is in team {team:?}{hint} (`user add NAME --role doctor --team T` adds one)"),
        format!("团队 {team:?} 中没有医生{hint}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_matches_are_the_near_names_nearest_first() {
        let known = ["石门村", "石门镇", "青山村", "白沙村", "东山镇"];
        assert_eq!(close_matches("石门材", known), ["石门村", "石门镇"]);
        assert_eq!(close_matches("青山", known), ["青山村"]);
        assert!(close_matches("不存在镇", ["东山镇"]).is_empty(), "two of four characters differ: not offered");
        assert_eq!(did_you_mean(&["a".into(), "b".into()]), "; did you mean a or b?");
        assert_eq!(did_you_mean(&[]), "");
    }
}
