//! Each village's tally (`tally::Tally`) kept between page views, so that an area's overview merges one small tally
//! per village instead of counting every household and visit of the area on every view.
//!
//! A kept tally stays valid until the server changes something in its village: on every area view the store is
//! asked what changed since the sequence last checked (`Reports::changed_since`, one indexed query), and the
//! tallies of the villages those documents are in (or were in, for a household that moved) are forgotten. A change
//! of the schedule rules or of anyone's scope (an assignment, a grant, a move), or more changed documents than the
//! store lists at once, forgets them all. Views of a day that has ended are final and are not forgotten on a change.
//!
//! Whole villages' tallies are also kept in the database (`Reports::keep_tallies`, schema 11) with the sequence
//! they are current at, so a restarted server, or another server process over the same PostgreSQL database, reads
//! them instead of counting again: a frame met for the first time loads the database's tallies and drops those a
//! change since made stale. [`Tallies::keep_current`] counts today's tallies in the background after changes, and
//! in the last hours of a day tomorrow's too (a tally depends on the day), so that a page view rarely counts
//! anything itself, at midnight included.
//!
//! Missing tallies are counted from the store: each village alone when a few are missing, otherwise a few whole
//! townships per read (what a read holds in memory is a few townships' records, whatever the size of the area).

use super::indicators::{Filter, Selection};
use super::tally::{self, Tally};
use super::{i18n::Lang, People};
use crate::reports::{AsOf, Reports, Snapshot};
use crate::scope::Scope;
use crate::storage::{Changed, KeptTally, ReportScope, StorageError, Visibility};
use chrono::NaiveDate;
use doorstep_core::model::{DocKind, SCHEDULE_RULES_ID};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// How many page frames (month, day, "as of") keep their tallies: today's and tomorrow's and four more.
const FRAMES: usize = 6;
/// In the last this many hours of a day, tomorrow's overview is counted in the background too.
const TOMORROW_HOURS: u32 = 2;
/// Up to this many missing villages are read one by one; more are counted from reads of whole townships.
const ONE_BY_ONE: usize = 8;
/// Whole townships are read together up to about this many villages per read (a few thousand households' records
/// held at once per core): each read costs PostgreSQL about a millisecond of planning per query, whatever its size,
/// so a province read one township at a time spent a fifth of its "as of" view planning.
const READ_VILLAGES: usize = 30;
/// At most this many townships are counted at once (one per core, up to this many).
const MAX_WORKERS: usize = 4;

/// `(township, village)`.
pub type Place = (String, String);

/// What a tally depends on besides its village: the page's month and day, and the "as of" day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FrameKey {
    pub month: String,
    pub today: NaiveDate,
    pub as_of: Option<AsOf>,
}

impl FrameKey {
    /// The frame as the database names it; `t4` is the tally's format, so a server that counts differently never
    /// reads another's tallies.
    pub fn name(&self) -> String {
        let as_of = self.as_of.as_ref().map(|a| format!("asof {}", a.day)).unwrap_or_else(|| "live".into());
        format!("t4 {} {} {as_of}", self.month, self.today)
    }

    /// Whether the frame is a day that has ended: its tallies never change.
    fn ended(&self, now_ms: i64) -> bool {
        self.as_of.as_ref().is_some_and(|a| a.cutoff_ms < now_ms)
    }

    /// A day's overview as a page shows it by default on that day: its month, live.
    pub fn of_day(day: NaiveDate) -> Self {
        Self { month: day.format("%Y-%m").to_string(), today: day, as_of: None }
    }
}

/// A village's tally, for everyone who sees the whole village (`None`) or for one visibility that sees part of it.
type Key = (Place, Option<Visibility>);

#[derive(Clone)]
struct Kept {
    tally: Arc<Tally>,
    /// The sequence it was counted at.
    seq: u64,
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
    frames: Vec<(FrameKey, Frame)>,
    /// The last ended day whose own overview was kept as its "as of" view ([`Tallies::keep_ended_day`]).
    ended_kept: Option<NaiveDate>,
}

/// A frame's kept tallies. A restarted server reads the whole townships' tallies the database keeps (one merged
/// tally per township, a tenth of the villages' in a province) and reads a township's village tallies only when a
/// page needs them one by one: a province's first overview decodes a hundred tallies, not a thousand.
#[derive(Default)]
struct Frame {
    /// Villages' tallies, and parts' for accounts that see part of a village.
    villages: HashMap<Key, Kept>,
    /// Whole townships' tallies read from the database, standing for their villages.
    townships: HashMap<String, Folded>,
    /// Townships whose village tallies have been read from the database (every one when `all_read`).
    read: HashSet<String>,
    all_read: bool,
    /// Townships whose merged tally the database holds as it is now.
    written: HashSet<String>,
    /// An "as of" frame met after its day ended: its tallies are final, never forgotten, and kept in the database.
    /// One met before (a view "as of" today) is kept current like a live frame and only in memory, and is read
    /// afresh once its day has ended, so a change received in its last moments is never missed.
    fixed: bool,
}

/// A whole township's tally: its villages' merged.
#[derive(Clone)]
struct Folded {
    kept: Kept,
    /// The villages merged.
    villages: BTreeSet<String>,
}

impl Frame {
    /// Whether its tallies are kept in the database: a live frame's, and a fixed "as of" frame's.
    fn persists(&self, frame: &FrameKey) -> bool {
        frame.as_of.is_none() || self.fixed
    }

    fn is_empty(&self) -> bool {
        self.villages.is_empty() && self.townships.is_empty()
    }

    /// The township's merged tally when it stands for exactly `places` (all of them whole villages of it).
    fn folded(&self, township: &str, places: &[&Place]) -> Option<&Folded> {
        let f = self.townships.get(township)?;
        (f.villages.len() == places.len() && places.iter().all(|p| f.villages.contains(&p.1))).then_some(f)
    }
}

/// The tallies kept by one server.
#[derive(Default)]
pub struct Tallies {
    inner: Mutex<Inner>,
    /// How many page views' tallies are still being written to the database ([`Tallies::settle`]).
    writing: Arc<(Mutex<usize>, Condvar)>,
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
    /// those counted now. The villages counted are kept in the database by a thread of their own after the page
    /// has its figures: writing a province's thousand tallies (and waiting for the disk) took a third of a first
    /// "as of" view.
    pub fn area(
        &self,
        reports: &Arc<dyn Reports>,
        look: &Looker,
        area: &ReportScope,
        places: &[Place],
        frame: &FrameKey,
    ) -> Result<Tally, StorageError> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (parts, unsaved) = ensure(&mut inner, reports.as_ref(), look, area, places, frame)?;
        drop(inner);
        if !unsaved.is_empty() {
            self.write_later(reports.clone(), frame.name(), unsaved);
        }
        Ok(tally::merge(parts.iter().map(|t| t.as_ref())))
    }

    /// Writes `rows` to the database on a thread of its own ([`Tallies::settle`] waits for it).
    fn write_later(&self, reports: Arc<dyn Reports>, frame: String, rows: Vec<Unsaved>) {
        let writing = self.writing.clone();
        *writing.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        let done = move || {
            let mut n = writing.0.lock().unwrap_or_else(|p| p.into_inner());
            *n -= 1;
            writing.1.notify_all();
        };
        let spawned = std::thread::Builder::new().name("keep-tallies".into()).spawn({
            let done = done.clone();
            move || {
                write(reports.as_ref(), &frame, rows);
                done();
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("keeping the overview's village figures: no thread: {e}");
            done();
        }
    }

    /// Waits until the tallies page views counted are written to the database (a test reads them next). A stop
    /// does not wait: a tally not written is counted again by the next view.
    pub fn settle(&self) {
        let (lock, cvar) = &*self.writing;
        let mut n = lock.lock().unwrap_or_else(|p| p.into_inner());
        while *n > 0 {
            n = cvar.wait(n).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Counts today's tallies of every village that lacks one (all of them after a bulk import, the changed ones
    /// after pushes; tomorrow's too in the day's last hours) and keeps them: what the server does in the background
    /// so that a page rarely counts. It counts one township at a time without holding the lock, so page views go
    /// on meanwhile; a tally whose village changed while it was counted is dropped and counted again next time.
    /// Returns how many villages were counted.
    pub fn count_missing(&self, reports: &dyn Reports) -> Result<usize, StorageError> {
        let scope = Scope {
            user: String::new(),
            role: doorstep_core::model::Role::Admin,
            visible: Visibility { all: true, ..Default::default() },
        };
        let places = self.whole_places(reports)?;
        let by_township = by_township(&places);
        let people = People::default();
        let look = Looker { scope: &scope, lang: Lang::Zh, people: &people };
        let area = ReportScope { visible: scope.visible.clone(), ..Default::default() };
        let now = chrono::Local::now().naive_local();
        let yesterday = now.date().pred_opt();
        let kept_already = self.inner.lock().unwrap_or_else(|p| p.into_inner()).ended_kept;
        // A failure here is logged and tried again next time; today's counting goes on.
        if let Some(day) = yesterday.filter(|d| kept_already != Some(*d)) {
            match self.keep_ended_day(reports, day) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(villages = n, day = %day, "kept the ended day's overview as its \"as of\" view")
                }
                Err(e) => tracing::warn!("keeping {day}'s overview as its \"as of\" view: {e}"),
            }
        }
        let mut counted = 0;
        for day in days_to_count(now) {
            let frame = FrameKey::of_day(day);
            // At most one round per township, so that pushes arriving all the time cannot keep this going.
            for _ in 0..by_township.len() {
                // Under the lock: the next township with villages lacking a tally, and the sequence it is read at.
                let (batch, head) = {
                    let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                    refresh(&mut inner, reports)?;
                    let head = inner.head;
                    let f = frame_of(&mut inner, reports, &frame)?;
                    let mut batch = Vec::new();
                    for (township, villages) in &by_township {
                        if f.folded(township, villages).is_some() {
                            continue;
                        }
                        read_township(f, reports, &frame, head, township)?;
                        batch = villages
                            .iter()
                            .copied()
                            .filter(|p| !f.villages.contains_key(&((*p).clone(), None)))
                            .collect();
                        if !batch.is_empty() {
                            break;
                        }
                    }
                    if batch.is_empty() {
                        break;
                    }
                    (batch, head)
                };
                let parts = count_places(reports, &look, &area, &batch, &frame, head)?;
                // Under the lock again: keep what no change made stale meanwhile.
                let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
                refresh(&mut inner, reports)?;
                let stale = Stale::since(reports, head, inner.head)?;
                let parts: Vec<(Place, Kept)> = parts.into_iter().filter(|(p, k)| !stale.judges_stale(p, k)).collect();
                let f = frame_of(&mut inner, reports, &frame)?;
                let keys: Vec<Key> = parts.iter().map(|(p, _)| (p.clone(), None)).collect();
                f.villages.extend(parts.into_iter().map(|(p, k)| ((p, None), k)));
                save(reports, &frame, head, f, &keys);
                counted += keys.len();
            }
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            refresh(&mut inner, reports)?;
            let head = inner.head;
            let f = frame_of(&mut inner, reports, &frame)?;
            fold(reports, &frame, f, &by_township, head);
        }
        Ok(counted)
    }

    /// Keeps an ended day's overview as its "as of" view. A whole village's tally of the day's own frame that is
    /// still current, and was counted from changes all received by the day's end, is exactly what an "as of" view
    /// of that day counts (the same records, rules and assignments, the same month and day), so it is kept under
    /// that frame too, in memory and in the database, instead of being counted again on the first view. The
    /// background does this for yesterday once a day; a village without such a tally is counted on the first view
    /// as before. Returns how many villages were kept.
    pub fn keep_ended_day(&self, reports: &dyn Reports, day: NaiveDate) -> Result<usize, StorageError> {
        let Some(end) = AsOf::end_of(day).filter(|end| end.cutoff_ms < crate::storage::now_ms()) else {
            return Ok(0);
        };
        let last_of_day = reports.head_at(end.cutoff_ms)?;
        let places = self.whole_places(reports)?;
        let live = FrameKey::of_day(day);
        let as_of = FrameKey { as_of: Some(end), ..live.clone() };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        refresh(&mut inner, reports)?;
        let head = inner.head;
        let f = frame_of(&mut inner, reports, &live)?;
        read_all(f, reports, &live, head)?;
        let current: Vec<(Key, Kept)> = f
            .villages
            .iter()
            .filter(|((_, visibility), k)| visibility.is_none() && k.seq <= last_of_day)
            .map(|(key, k)| (key.clone(), k.clone()))
            .collect();
        let f = frame_of(&mut inner, reports, &as_of)?;
        read_all(f, reports, &as_of, head)?;
        let kept = &mut f.villages;
        let keys: Vec<Key> = current.iter().map(|(key, _)| key.clone()).filter(|key| !kept.contains_key(key)).collect();
        for (key, k) in current {
            kept.entry(key).or_insert(k);
        }
        save(reports, &as_of, head, f, &keys);
        fold(reports, &as_of, f, &by_township(&places), head);
        inner.ended_kept = Some(day);
        Ok(keys.len())
    }

    /// The places of every live household that has both a township and a village (a household without one has no
    /// village tally: its area's overview counts it at once).
    fn whole_places(&self, reports: &dyn Reports) -> Result<Vec<Place>, StorageError> {
        let all = Visibility { all: true, ..Default::default() };
        Ok(self.places(reports, &all)?.into_iter().filter(|(t, v)| !t.is_empty() && !v.is_empty()).collect())
    }

    /// Keeps today's tallies counted while the server runs: checks for changes every `every` and counts what they
    /// made stale (one indexed query when nothing changed). After a count it waits at least four times as long as
    /// the count took, so that under a storm of pushes counting takes at most a fifth of one core from the ingest.
    /// Runs until the process ends.
    pub async fn keep_current(self: Arc<Self>, reports: Arc<dyn Reports>, every: std::time::Duration) {
        loop {
            let (tallies, reports) = (self.clone(), reports.clone());
            let t = std::time::Instant::now();
            match tokio::task::spawn_blocking(move || tallies.count_missing(reports.as_ref())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(villages = n, ms = t.elapsed().as_millis() as u64, "counted the overview"),
                Ok(Err(e)) => tracing::warn!("counting the overview: {e}"),
                Err(e) => tracing::warn!("counting the overview stopped: {e}"),
            }
            tokio::time::sleep(every.max(t.elapsed() * 4)).await;
        }
    }
}

/// The days whose overview the background keeps counted at `now`: today, and in the day's last hours tomorrow too
/// (kept current like today's, so at midnight the first overview finds them counted instead of waiting for every
/// village).
fn days_to_count(now: chrono::NaiveDateTime) -> Vec<NaiveDate> {
    let today = now.date();
    let mut days = vec![today];
    if now.time() >= chrono::NaiveTime::from_hms_opt(24 - TOMORROW_HOURS, 0, 0).unwrap_or_default() {
        days.extend(today.succ_opt());
    }
    days
}

/// The key of a place's tally for an account that sees `visible`: the whole village's when it sees all of it.
fn key_of(visible: &Visibility) -> impl Fn(&Place) -> Key + '_ {
    move |(t, v): &Place| {
        let whole = visible.all || visible.townships.contains(t) || visible.villages.contains(v);
        ((t.clone(), v.clone()), if whole { None } else { Some(visible.clone()) })
    }
}

/// The tallies `places` merge from in `frame`: whole townships' kept tallies where a township's villages are all
/// there, whole, and the villages' (or parts') tallies for the rest, those missing counted now (and the whole
/// villages' to be kept in the database: returned). What a page view does: it needs the figures, so it counts under
/// the lock.
fn ensure(
    inner: &mut Inner,
    reports: &dyn Reports,
    look: &Looker,
    area: &ReportScope,
    places: &[Place],
    frame: &FrameKey,
) -> Result<(Vec<Arc<Tally>>, Vec<Unsaved>), StorageError> {
    refresh(inner, reports)?;
    let head = inner.head;
    let f = frame_of(inner, reports, frame)?;
    let key_of = key_of(&look.scope.visible);
    let mut parts = Vec::new();
    let mut rest: Vec<&Place> = Vec::new();
    for (township, villages) in by_township(places) {
        let whole = villages.iter().all(|p| key_of(p).1.is_none());
        if let Some(folded) = f.folded(township, &villages).filter(|_| whole) {
            parts.push(folded.kept.tally.clone());
            continue;
        }
        read_township(f, reports, frame, head, township)?;
        rest.extend(villages);
    }
    let missing: Vec<&Place> = rest.iter().copied().filter(|p| !f.villages.contains_key(&key_of(p))).collect();
    let counted = count_places(reports, look, area, &missing, frame, head)?;
    let keys: Vec<Key> = counted.iter().map(|(p, _)| key_of(p)).collect();
    f.villages.extend(counted.into_iter().map(|(p, k)| (key_of(&p), k)));
    let unsaved = unsaved(frame, head, f, &keys);
    parts.extend(rest.iter().filter_map(|p| f.villages.get(&key_of(p)).map(|k| k.tally.clone())));
    Ok((parts, unsaved))
}

/// `places` by township, in order.
fn by_township<'a>(places: impl IntoIterator<Item = &'a Place>) -> BTreeMap<&'a str, Vec<&'a Place>> {
    let mut out: BTreeMap<&str, Vec<&Place>> = BTreeMap::new();
    for place in places {
        out.entry(place.0.as_str()).or_default().push(place);
    }
    out
}

/// Townships in order, grouped so that each group's villages to count are at most `villages` (a township with more
/// is a group alone): the townships each read counts.
fn read_groups<'a>(townships: &BTreeMap<&'a str, Vec<&Place>>, villages: usize) -> Vec<Vec<&'a str>> {
    let mut groups: Vec<(Vec<&str>, usize)> = Vec::new();
    for (township, places) in townships {
        match groups.last_mut() {
            Some((group, n)) if *n + places.len() <= villages => {
                group.push(township);
                *n += places.len();
            }
            _ => groups.push((vec![township], places.len())),
        }
    }
    groups.into_iter().map(|(g, _)| g).collect()
}

/// The kept tallies of `frame`, made the most recently used: the whole townships' loaded from the database the
/// first time (the least recently used frame is then forgotten).
fn frame_of<'a>(inner: &'a mut Inner, reports: &dyn Reports, frame: &FrameKey) -> Result<&'a mut Frame, StorageError> {
    let ended = frame.ended(crate::storage::now_ms());
    // An "as of" frame met before its day ended is read afresh once it has.
    inner.frames.retain(|(k, f)| k != frame || f.fixed || !ended);
    let at = match inner.frames.iter().position(|(k, _)| k == frame) {
        Some(at) => at,
        None => {
            let loaded = load(reports, frame, inner.head)?;
            inner.frames.push((frame.clone(), loaded));
            if inner.frames.len() > FRAMES {
                inner.frames.remove(0);
            }
            inner.frames.len() - 1
        }
    };
    let entry = inner.frames.remove(at);
    inner.frames.push(entry);
    Ok(&mut inner.frames.last_mut().expect("the frame just pushed").1)
}

/// Reads the village tallies the database keeps for `township` into `f`, once (those counted in memory since are
/// newer and stay).
fn read_township(
    f: &mut Frame,
    reports: &dyn Reports,
    frame: &FrameKey,
    head: u64,
    township: &str,
) -> Result<(), StorageError> {
    if f.all_read || f.read.contains(township) {
        return Ok(());
    }
    for (key, kept) in load_villages(reports, frame, head, Some(township))? {
        f.villages.entry(key).or_insert(kept);
    }
    f.read.insert(township.to_string());
    Ok(())
}

/// Reads every village tally the database keeps for the frame into `f`, once.
fn read_all(f: &mut Frame, reports: &dyn Reports, frame: &FrameKey, head: u64) -> Result<(), StorageError> {
    if f.all_read {
        return Ok(());
    }
    for (key, kept) in load_villages(reports, frame, head, None)? {
        f.villages.entry(key).or_insert(kept);
    }
    f.all_read = true;
    Ok(())
}

/// Keeps in the database the merged tally of every township of `by_township` whose villages are all kept whole in
/// `f` and that the database does not hold as they are now, for a restarted server's first overview. The kept
/// tallies are current at `head` (the caller has just refreshed them), and so is their merge. A failure is logged:
/// the villages' tallies are kept already.
fn fold(reports: &dyn Reports, frame: &FrameKey, f: &mut Frame, by_township: &BTreeMap<&str, Vec<&Place>>, head: u64) {
    if !f.persists(frame) {
        return;
    }
    let mut rows = Vec::new();
    for (township, villages) in by_township {
        if f.written.contains(*township) || f.folded(township, villages).is_some() {
            continue;
        }
        let Some(kept) = villages.iter().map(|p| f.villages.get(&((*p).clone(), None))).collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let tally = tally::merge(kept.iter().map(|k| k.tally.as_ref()));
        let households: HashSet<&String> = kept.iter().flat_map(|k| &k.households).collect();
        let names: BTreeSet<&String> = villages.iter().map(|p| &p.1).collect();
        let Ok(body) = tally::body::encode(&(&tally, &households, &names)) else { continue };
        rows.push(KeptTally { township: township.to_string(), village: String::new(), seq: head, body });
    }
    if rows.is_empty() {
        return;
    }
    match reports.keep_tallies(&townships_of(frame), &rows, crate::storage::now_ms()) {
        Ok(()) => f.written.extend(rows.into_iter().map(|r| r.township)),
        Err(e) => tracing::warn!("keeping the overview's township figures: {e}"),
    }
}

/// The name under which the database keeps a frame's whole townships' tallies.
fn townships_of(frame: &FrameKey) -> String {
    format!("{} townships", frame.name())
}

/// Counts the tallies of `places` (each a whole village, or the part `look` sees) in `frame` from the store, at
/// sequence `head` or later: each village alone when a few are missing, else a few whole townships per read
/// (`READ_VILLAGES`), reads on every core (what is held at once is a few townships' records per core, whatever the
/// area).
fn count_places(
    reports: &dyn Reports,
    look: &Looker,
    area: &ReportScope,
    places: &[&Place],
    frame: &FrameKey,
    head: u64,
) -> Result<Vec<(Place, Kept)>, StorageError> {
    let visible = &look.scope.visible;
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
            seq: head,
            households: sel.households.iter().map(|e| e.record.id.clone()).collect(),
        }
    };
    let mut counted = Vec::new();
    if places.len() <= ONE_BY_ONE {
        for place in places {
            let scope = ReportScope {
                visible: visible.clone(),
                township: Some(place.0.clone()),
                village: Some(place.1.clone()),
                ..Default::default()
            };
            let snap = reports.snapshot_once(&scope, frame.as_of.as_ref())?;
            counted.push(((*place).clone(), count(&snap, place)));
        }
        return Ok(counted);
    }
    let townships = by_township(places.iter().copied());
    let reads = read_groups(&townships, READ_VILLAGES);
    // A few townships per read, on every core: each worker takes the next group until none is left.
    let next = AtomicUsize::new(0);
    let work = || -> Result<Vec<(Place, Kept)>, StorageError> {
        let mut counted = Vec::new();
        while let Some(group) = reads.get(next.fetch_add(1, Ordering::Relaxed)) {
            let names = group.iter().map(|t| t.to_string()).collect();
            let scope = ReportScope { townships: names, ..area.clone() };
            let snap = reports.snapshot_once(&scope, frame.as_of.as_ref())?;
            // Not kept by the reports, so it is ours: its rows move into the parts instead of being copied.
            let snap = Arc::try_unwrap(snap).unwrap_or_else(|shared| (*shared).clone());
            let empty = Snapshot { rules: snap.rules.clone(), ..Default::default() };
            let parts = by_place(snap);
            for place in group.iter().flat_map(|t| &townships[t]) {
                counted.push(((*place).clone(), count(parts.get(*place).unwrap_or(&empty), place)));
            }
        }
        Ok(counted)
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_WORKERS).min(reads.len());
    let results: Vec<Result<Vec<(Place, Kept)>, StorageError>> =
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..workers).map(|_| s.spawn(work)).collect();
            let mut results = vec![work()];
            results.extend(handles.into_iter().map(|h| {
                h.join().unwrap_or_else(|_| Err(StorageError::Internal("a township's count panicked".into())))
            }));
            results
        });
    for part in results {
        counted.extend(part?);
    }
    counted.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(counted)
}

/// What changed after a sequence, as a judge of tallies current at that sequence.
struct Stale {
    /// A scope or rules change, or too many changes to list: every tally is stale.
    all: bool,
    touched: HashSet<Place>,
    /// Households changed (one may have moved away from the village that counted it).
    households: HashSet<String>,
}

impl Stale {
    /// What changed after `since` (nothing when `since` is the head).
    fn since(reports: &dyn Reports, since: u64, head: u64) -> Result<Self, StorageError> {
        if since >= head {
            return Ok(Self::of(Changed::default()));
        }
        Ok(Self::of(reports.changed_since(Some(since))?.1))
    }

    fn of(changed: Changed) -> Self {
        let all = changed.scope || changed.many || changed.docs.iter().any(|(id, _, _)| id == SCHEDULE_RULES_ID);
        let mut stale = Stale { all, touched: HashSet::new(), households: HashSet::new() };
        for (id, kind, p) in changed.docs {
            stale.touched.insert((p.township, p.village));
            if kind == DocKind::Household {
                stale.households.insert(id);
            }
        }
        stale
    }

    fn judges_stale(&self, place: &Place, kept: &Kept) -> bool {
        self.all || self.touched.contains(place) || kept.households.iter().any(|h| self.households.contains(h))
    }

    /// Whether a whole township's tally is stale: a change in any of its villages, or to a household it counted.
    fn judges_township(&self, township: &str, kept: &Kept) -> bool {
        self.all
            || self.touched.iter().any(|(t, _)| t == township)
            || kept.households.iter().any(|h| self.households.contains(h))
    }
}

/// A frame as a restart finds it in the database: its whole townships' tallies, without those a change after their
/// sequence made stale (`head`: the sequence the server's kept tallies are current at). With none kept, the
/// villages' tallies are read at once.
fn load(reports: &dyn Reports, frame: &FrameKey, head: u64) -> Result<Frame, StorageError> {
    let rows = reports.kept_tallies(&townships_of(frame), None)?;
    let mut f = Frame { fixed: frame.ended(crate::storage::now_ms()), ..Default::default() };
    if rows.is_empty() {
        read_all(&mut f, reports, frame, head)?;
        return Ok(f);
    }
    let stale = judge(reports, frame, &rows, head)?;
    let decoded = decode_all::<(Tally, HashSet<String>, BTreeSet<String>)>(&rows);
    for (row, decoded) in rows.into_iter().zip(decoded) {
        let Some((tally, households, villages)) = decoded else { continue };
        let kept = Kept { tally: Arc::new(tally), seq: row.seq, households };
        if row.seq < head && stale.judges_township(&row.township, &kept) {
            continue;
        }
        f.written.insert(row.township.clone());
        f.townships.insert(row.township, Folded { kept, villages });
    }
    Ok(f)
}

/// What changed after the oldest of `rows`; a row written later is judged by the same list (it may be dropped for a
/// change it had counted already, never kept for one it had not). An ended day's rows never change.
fn judge(reports: &dyn Reports, frame: &FrameKey, rows: &[KeptTally], head: u64) -> Result<Stale, StorageError> {
    let since = rows.iter().map(|r| r.seq).min().unwrap_or(head);
    if frame.ended(crate::storage::now_ms()) {
        Stale::since(reports, head, head)
    } else {
        Stale::since(reports, since, head)
    }
}

/// The whole villages' tallies the database keeps for `frame` (or one township of it), without those a change
/// after their sequence made stale.
fn load_villages(
    reports: &dyn Reports,
    frame: &FrameKey,
    head: u64,
    township: Option<&str>,
) -> Result<HashMap<Key, Kept>, StorageError> {
    let rows = reports.kept_tallies(&frame.name(), township)?;
    let mut loaded = HashMap::new();
    if rows.is_empty() {
        return Ok(loaded);
    }
    let stale = judge(reports, frame, &rows, head)?;
    let decoded = decode_all::<(Tally, HashSet<String>)>(&rows);
    for (row, decoded) in rows.into_iter().zip(decoded) {
        let Some((tally, households)) = decoded else { continue };
        let place = (row.township, row.village);
        let kept = Kept { tally: Arc::new(tally), seq: row.seq, households };
        if row.seq < head && stale.judges_stale(&place, &kept) {
            continue;
        }
        loaded.insert((place, None), kept);
    }
    Ok(loaded)
}

/// The kept tallies' bodies decoded (none for a body that does not decode: that village is counted again), on every
/// core: a province's thousand tallies are most of a restarted server's first overview.
fn decode_all<T: serde::de::DeserializeOwned + Send + Clone>(rows: &[KeptTally]) -> Vec<Option<T>> {
    let decode = |row: &KeptTally| tally::body::decode::<T>(&row.body).ok();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if threads == 1 || rows.len() < 64 {
        return rows.iter().map(decode).collect();
    }
    let chunks: Vec<&[KeptTally]> = rows.chunks(rows.len().div_ceil(threads)).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> =
            chunks.iter().map(|c| s.spawn(move || c.iter().map(decode).collect::<Vec<_>>())).collect();
        handles.into_iter().zip(&chunks).flat_map(|(h, c)| h.join().unwrap_or_else(|_| vec![None; c.len()])).collect()
    })
}

/// A whole village's tally to keep in the database, current at `seq`.
struct Unsaved {
    place: Place,
    seq: u64,
    tally: Arc<Tally>,
    households: HashSet<String>,
}

/// Keeps the whole villages' tallies just counted in the database, current at `head`. A failure is logged, not
/// returned: the page has its figures, and the next view counts again.
fn save(reports: &dyn Reports, frame: &FrameKey, head: u64, f: &Frame, counted: &[Key]) {
    write(reports, &frame.name(), unsaved(frame, head, f, counted));
}

/// What [`save`] writes: the whole villages among `counted` when the frame is kept in the database.
fn unsaved(frame: &FrameKey, head: u64, f: &Frame, counted: &[Key]) -> Vec<Unsaved> {
    if !f.persists(frame) {
        return Vec::new();
    }
    counted
        .iter()
        .filter(|(_, visibility)| visibility.is_none())
        .filter_map(|key| {
            let k = f.villages.get(key)?;
            Some(Unsaved { place: key.0.clone(), seq: head, tally: k.tally.clone(), households: k.households.clone() })
        })
        .collect()
}

/// Writes tallies under the frame named `frame` (a failure is logged).
fn write(reports: &dyn Reports, frame: &str, rows: Vec<Unsaved>) {
    let rows: Vec<KeptTally> = rows
        .into_iter()
        .filter_map(|u| {
            let body = tally::body::encode(&(u.tally.as_ref(), &u.households)).ok()?;
            Some(KeptTally { township: u.place.0, village: u.place.1, seq: u.seq, body })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    if let Err(e) = reports.keep_tallies(frame, &rows, crate::storage::now_ms()) {
        tracing::warn!("keeping the overview's village figures: {e}");
    }
}

/// A snapshot split by the place of its households (with what belongs to them); each part has the rules.
fn by_place(snap: Snapshot) -> BTreeMap<Place, Snapshot> {
    let Snapshot { households, visits, problems, screenings, rules, head, .. } = snap;
    // Each household's part by index, found without copying ids or places (a township's thousand households).
    let mut slots: HashMap<(&str, &str), usize> = HashMap::new();
    let mut parts: Vec<Snapshot> = Vec::new();
    let slot_of: HashMap<&str, usize> = households
        .iter()
        .map(|(id, e)| {
            let at = *slots.entry((&e.placement.township, &e.placement.village)).or_insert_with(|| {
                parts.push(Snapshot { rules: rules.clone(), head, ..Default::default() });
                parts.len() - 1
            });
            (id.as_str(), at)
        })
        .collect();
    for v in visits {
        if let Some(&at) = slot_of.get(v.household_id.as_str()) {
            parts[at].visits.push(v);
        }
    }
    for p in problems {
        if let Some(&at) = slot_of.get(p.household_id.as_str()) {
            parts[at].problems.push(p);
        }
    }
    for s in screenings {
        if let Some(&at) = slot_of.get(s.record.household_id.as_str()) {
            parts[at].screenings.push(s);
        }
    }
    let mut places: Vec<(Place, usize)> =
        slots.into_iter().map(|((t, v), at)| ((t.to_string(), v.to_string()), at)).collect();
    places.sort_by_key(|(_, at)| *at);
    let slot_list: Vec<usize> = households.iter().map(|(id, _)| slot_of[id.as_str()]).collect();
    drop(slot_of);
    for ((id, e), at) in households.into_iter().zip(slot_list) {
        parts[at].households.insert(id, e);
    }
    places.into_iter().zip(parts).map(|((place, _), part)| (place, part)).collect()
}

/// Forgets what the store changed since the tallies were last checked.
fn refresh(inner: &mut Inner, reports: &dyn Reports) -> Result<(), StorageError> {
    // Nothing kept yet (the first view after a start): nothing to forget, only the head to note.
    let nothing_kept = inner.frames.iter().all(|(_, f)| f.is_empty());
    let (head, changed) = reports.changed_since(if nothing_kept { None } else { Some(inner.head) })?;
    if head != inner.head {
        let stale = Stale::of(changed);
        for (_, f) in inner.frames.iter_mut().filter(|(_, f)| !f.fixed) {
            if stale.all {
                f.villages.clear();
                f.townships.clear();
                f.written.clear();
            } else {
                // A township with a tally forgotten, or a change in it (a new village, a household without one), is
                // merged and kept again once its villages are counted.
                let mut forgotten: HashSet<String> = stale.touched.iter().map(|(t, _)| t.clone()).collect();
                f.villages.retain(|(place, _), k| {
                    let gone = stale.judges_stale(place, k);
                    if gone {
                        forgotten.insert(place.0.clone());
                    }
                    !gone
                });
                f.townships.retain(|t, folded| {
                    let gone = stale.judges_township(t, &folded.kept);
                    if gone {
                        forgotten.insert(t.clone());
                    }
                    !gone
                });
                f.written.retain(|t| !forgotten.contains(t));
            }
        }
        inner.head = head;
        inner.places.clear();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn townships_are_read_together_up_to_a_number_of_villages() {
        let places: Vec<Place> = [("A", 3), ("B", 4), ("C", 1), ("D", 9), ("E", 2)]
            .iter()
            .flat_map(|(t, n)| (0..*n).map(move |v| (t.to_string(), format!("{t}{v}"))))
            .collect();
        let townships = by_township(&places);
        assert_eq!(read_groups(&townships, 8), [vec!["A", "B", "C"], vec!["D"], vec!["E"]]);
        assert_eq!(read_groups(&townships, 1), [["A"], ["B"], ["C"], ["D"], ["E"]], "one each, however large");
        assert_eq!(read_groups(&townships, 100).len(), 1);
        assert!(read_groups(&BTreeMap::new(), 8).is_empty());
    }

    #[test]
    fn tomorrow_is_counted_in_the_last_hours_of_a_day() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let at = |h, m| day.and_hms_opt(h, m, 0).unwrap();
        assert_eq!(days_to_count(at(9, 0)), [day]);
        assert_eq!(days_to_count(at(21, 59)), [day]);
        let next = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        assert_eq!(days_to_count(at(22, 0)), [day, next]);
        assert_eq!(days_to_count(at(23, 59)), [day, next]);
        assert_eq!(FrameKey::of_day(next).month, "2027-01", "tomorrow may be in another month");
    }

    #[test]
    fn a_frame_name_says_everything_a_tally_depends_on() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let live = FrameKey::of_day(day);
        let past = FrameKey { as_of: Some(AsOf { day: "2026-11-01".into(), cutoff_ms: 1 }), ..live.clone() };
        let other_month = FrameKey { month: "2026-10".into(), ..live.clone() };
        let names = [live.name(), past.name(), other_month.name()];
        assert_eq!(names[0], "t4 2026-12 2026-12-06 live");
        assert!(names[1].ends_with("asof 2026-11-01") && names[1] != names[0] && names[2] != names[0]);
        assert!(past.ended(2) && !past.ended(1) && !live.ended(i64::MAX));
    }
}
