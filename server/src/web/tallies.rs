//! Each village's tally (`tally::Tally`) kept between page views, so that an area's overview merges one small tally
//! per village instead of counting every household and visit of the area on every view.
//!
//! A kept tally stays valid until the server changes something in its village: on every area view the store is
//! asked what changed since the sequence last checked (`Reports::changed_since`, one indexed query), and the
//! tallies of the villages those documents are in (or were in, for a household that moved) are forgotten. A change
//! of the schedule rules or of anyone's scope (an assignment, a grant, a move), or more changed documents than the
//! store lists at once, forgets them all. Views of a day that
//! has ended are final and are not forgotten on a change.
//!
//! Missing tallies are counted from the store: each village alone when a few are missing, or from one read of the
//! whole area split by village when many are (the first view after a start or of a new day). Reading the area at
//! once was measured faster than reading it 64 villages at a time (BENCHMARKS.md, "Pages at scale"), and that
//! snapshot is not kept once counted.

use super::indicators::{Filter, Selection};
use super::tally::{self, Tally};
use super::{i18n::Lang, People};
use crate::reports::{AsOf, Reports, Snapshot};
use crate::scope::Scope;
use crate::storage::{ReportScope, StorageError, Visibility};
use chrono::NaiveDate;
use doorstep_core::model::{DocKind, SCHEDULE_RULES_ID};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// How many page frames (month, day, "as of") keep their tallies.
const FRAMES: usize = 4;
/// Up to this many missing villages are read one by one; more are counted from one read of the area.
const ONE_BY_ONE: usize = 8;

/// `(township, village)`.
pub type Place = (String, String);

/// What a tally depends on besides its village: the page's month and day, and the "as of" day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FrameKey {
    pub month: String,
    pub today: NaiveDate,
    pub as_of: Option<AsOf>,
}

/// A village's tally, for everyone who sees the whole village (`None`) or for one visibility that sees part of it.
type Key = (Place, Option<Visibility>);

struct Kept {
    tally: Arc<Tally>,
    /// The households counted (a household that moves away is forgotten from here too).
    households: HashSet<String>,
}

#[derive(Default)]
struct Inner {
    /// The sequence the kept tallies and places are known to be current at.
    head: u64,
    /// The places each visibility sees, as of `head`.
    places: HashMap<Visibility, Vec<Place>>,
    /// Most recently used last.
    frames: Vec<(FrameKey, HashMap<Key, Kept>)>,
}

/// The tallies kept by one server.
#[derive(Default)]
pub struct Tallies {
    inner: Mutex<Inner>,
}

/// Who is looking and how the page speaks (a tally does not depend on the words, but a selection carries them).
pub struct Looker<'a> {
    pub scope: &'a Scope,
    pub lang: Lang,
    pub people: &'a People,
}

impl Tallies {
    /// The places of the live households `visible` covers, `(township, village)`, sorted (kept until a change).
    pub fn places(&self, reports: &dyn Reports, visible: &Visibility) -> Result<Vec<Place>, StorageError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        refresh(&mut inner, reports)?;
        if let Some(places) = inner.places.get(visible) {
            return Ok(places.clone());
        }
        let places = reports.places(&ReportScope { visible: visible.clone(), ..Default::default() })?;
        inner.places.insert(visible.clone(), places.clone());
        Ok(places)
    }

    /// The tally of `places` (each a whole village, or the part `look` sees) in `frame`: kept ones merged with
    /// those counted now.
    pub fn area(
        &self,
        reports: &dyn Reports,
        look: &Looker,
        area: &ReportScope,
        places: &[Place],
        frame: &FrameKey,
    ) -> Result<Tally, StorageError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        refresh(&mut inner, reports)?;
        let at = match inner.frames.iter().position(|(k, _)| k == frame) {
            Some(at) => at,
            None => {
                inner.frames.push((frame.clone(), HashMap::new()));
                if inner.frames.len() > FRAMES {
                    inner.frames.remove(0);
                }
                inner.frames.len() - 1
            }
        };
        let entry = inner.frames.remove(at);
        inner.frames.push(entry);
        let kept = &mut inner.frames.last_mut().expect("the frame just pushed").1;

        let visible = &look.scope.visible;
        let key_of = |(t, v): &Place| -> Key {
            let whole = visible.all || visible.townships.contains(t) || visible.villages.contains(v);
            ((t.clone(), v.clone()), if whole { None } else { Some(visible.clone()) })
        };
        let missing: Vec<&Place> = places.iter().filter(|p| !kept.contains_key(&key_of(p))).collect();
        let count = |snap: &Snapshot, (t, v): &Place| -> Kept {
            let filter = Filter {
                township: Some(t.clone()),
                village: Some(v.clone()),
                helper: None,
                month: Some(frame.month.clone()),
            };
            let sel = Selection::new(snap, look.scope, &filter, frame.today, look.lang, look.people);
            Kept {
                tally: Arc::new(tally::tally(&sel)),
                households: sel.households.iter().map(|e| e.record.id.clone()).collect(),
            }
        };
        if missing.len() <= ONE_BY_ONE {
            for place in missing {
                let scope = ReportScope {
                    visible: visible.clone(),
                    township: Some(place.0.clone()),
                    village: Some(place.1.clone()),
                    ..Default::default()
                };
                let snap = reports.snapshot_once(&scope, frame.as_of.as_ref())?;
                kept.insert(key_of(place), count(&snap, place));
            }
        } else {
            let snap = reports.snapshot_once(area, frame.as_of.as_ref())?;
            // Not kept by the reports, so it is ours: its rows move into the parts instead of being copied.
            let snap = Arc::try_unwrap(snap).unwrap_or_else(|shared| (*shared).clone());
            let empty = Snapshot { rules: snap.rules.clone(), ..Default::default() };
            let parts = by_place(snap);
            for place in missing {
                kept.insert(key_of(place), count(parts.get(place).unwrap_or(&empty), place));
            }
        }
        Ok(tally::merge(places.iter().filter_map(|p| kept.get(&key_of(p)).map(|k| k.tally.as_ref()))))
    }
}

/// A snapshot split by the place of its households (with what belongs to them); each part has the rules.
fn by_place(snap: Snapshot) -> BTreeMap<Place, Snapshot> {
    let mut parts: BTreeMap<Place, Snapshot> = BTreeMap::new();
    let mut place_of: HashMap<String, Place> = HashMap::new();
    for (id, e) in snap.households {
        let place = (e.placement.township.clone(), e.placement.village.clone());
        place_of.insert(id.clone(), place.clone());
        let part = parts.entry(place).or_insert_with(|| Snapshot {
            rules: snap.rules.clone(),
            head: snap.head,
            ..Default::default()
        });
        part.households.insert(id, e);
    }
    for v in snap.visits {
        if let Some(part) = place_of.get(&v.household_id).and_then(|p| parts.get_mut(p)) {
            part.visits.push(v);
        }
    }
    for p in snap.problems {
        if let Some(part) = place_of.get(&p.household_id).and_then(|p| parts.get_mut(p)) {
            part.problems.push(p);
        }
    }
    for s in snap.screenings {
        if let Some(part) = place_of.get(&s.record.household_id).and_then(|p| parts.get_mut(p)) {
            part.screenings.push(s);
        }
    }
    parts
}

/// Forgets what the store changed since the tallies were last checked.
fn refresh(inner: &mut Inner, reports: &dyn Reports) -> Result<(), StorageError> {
    // Nothing kept yet (the first view after a start): nothing to forget, only the head to note.
    let nothing_kept = inner.frames.iter().all(|(_, kept)| kept.is_empty());
    let (head, changed) = reports.changed_since(if nothing_kept { None } else { Some(inner.head) })?;
    if head != inner.head {
        let now = crate::storage::now_ms();
        let forget_all = changed.scope || changed.many || changed.docs.iter().any(|(id, _, _)| id == SCHEDULE_RULES_ID);
        let touched: HashSet<Place> =
            changed.docs.iter().map(|(_, _, p)| (p.township.clone(), p.village.clone())).collect();
        let households: HashSet<&str> =
            changed.docs.iter().filter(|(_, k, _)| *k == DocKind::Household).map(|(id, _, _)| id.as_str()).collect();
        for (key, kept) in inner.frames.iter_mut() {
            let ended = key.as_of.as_ref().is_some_and(|a| a.cutoff_ms < now);
            if forget_all {
                kept.clear();
            } else if !ended {
                kept.retain(|(place, _), k| {
                    !touched.contains(place) && !households.iter().any(|h| k.households.contains(*h))
                });
            }
        }
        inner.head = head;
        inner.places.clear();
    }
    Ok(())
}
