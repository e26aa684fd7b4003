//! The overview's figures in two steps: [`tally`] counts a selection into additive numbers and ranked lists (no
//! words, no names), and [`render`] turns a tally into what the page shows in one language.
//!
//! Tallies add up: the tally of an area is the [`merge`] of its villages' tallies, every count summed and every
//! list ranked by the same key and cut at the same length. So an area page reads one small tally per village
//! (kept by `web::tallies` until something in the village changes) instead of every household and visit of the
//! area, and the figures are the same as counting the whole area at once (a test compares the two on the demo
//! county for every account).

use super::i18n::Lang;
use super::indicators::{
    age_on, is_current, is_helper_visit, last_months, month_end, previous_month, CountRow, CoverageRow, FollowUpRow,
    HouseholdLink, MemberRow, MonthProgress, OverdueRow, Overview, ProblemView, Rate, ScreeningRow, Selection,
    ABNORMAL_ROWS, PAGE_ROWS,
};
use super::{svg, People};
use crate::reports::{HouseholdEntry, ScreeningEntry};
use chrono::{Datelike, Duration, NaiveDate};
use doorstep_core::model::{
    parse_date, AlertLevel, BmiBand, BpGrade, Condition, GlucoseBand, PovertyStatus, ProblemStatus, ReferralLevel,
    RiskCause, VisitKind,
};
use doorstep_core::schedule::followup_interval;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// `(yes, total)`.
pub type Count = (usize, usize);

/// The priority groups a family-doctor contract is counted for, in the order the page shows them.
const GROUPS: [&str; 7] = ["g_65", "g_child", "g_pregnant", "g_chronic", "g_disabled", "g_mental", "g_poor"];

/// What a page shows of a household it links to, without words: labels and names come at [`render`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub id: String,
    pub number: String,
    pub head: String,
    pub village: String,
    pub status: PovertyStatus,
    pub alert: Option<AlertLevel>,
    pub helpers: Vec<String>,
}

impl Link {
    pub fn of(e: &HouseholdEntry) -> Arc<Self> {
        let h = &e.record;
        Arc::new(Self {
            id: h.id.clone(),
            number: h.number.clone(),
            head: h.head_name.clone(),
            village: e.placement.village.clone(),
            status: h.poverty_status,
            alert: h.alert_level,
            helpers: e.helpers.clone(),
        })
    }

    pub fn show(&self, lang: Lang, people: &People) -> HouseholdLink {
        HouseholdLink {
            id: self.id.clone(),
            number: self.number.clone(),
            head: self.head.clone(),
            village: self.village.clone(),
            status: self.status.label(lang.code()).to_string(),
            alert: self.alert.map(|a| a.label(lang.code()).to_string()).unwrap_or_default(),
            helpers: people.list(&self.helpers, "、"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overdue {
    #[serde(with = "body::link")]
    pub link: Arc<Link>,
    pub done: u32,
    pub required: u32,
    pub last_visit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    #[serde(with = "body::link")]
    pub link: Arc<Link>,
    pub member_id: String,
    pub member: String,
    pub last: String,
    pub due: String,
}

impl FollowUp {
    /// The soonest due first, then by household and member.
    fn rank(&self) -> (&str, &str, &str) {
        (&self.due, &self.link.id, &self.member_id)
    }
}

/// An abnormal screening as the page lists it: what was measured and how it is classified, not the whole record
/// (a village's kept tally holds up to twenty of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Abnormal {
    #[serde(with = "body::link")]
    pub link: Arc<Link>,
    pub member: String,
    /// The screening's id.
    pub id: String,
    pub date: String,
    pub systolic: Option<f64>,
    pub diastolic: Option<f64>,
    pub glucose: Option<f64>,
    pub bp_grade: Option<BpGrade>,
    pub glucose_band: Option<GlucoseBand>,
    pub bmi_band: Option<BmiBand>,
    /// The referral that counts (`ScreeningEntry::referral`).
    pub referral: ReferralLevel,
}

impl Abnormal {
    fn of(link: Arc<Link>, member: String, s: &ScreeningEntry) -> Self {
        let r = &s.record;
        Self {
            link,
            member,
            id: r.id.clone(),
            date: r.date.clone(),
            systolic: r.systolic,
            diastolic: r.diastolic,
            glucose: r.glucose,
            bp_grade: s.bp_grade,
            glucose_band: s.glucose_band,
            bmi_band: s.bmi_band,
            referral: s.referral,
        }
    }

    /// Most urgent first: the referral, then how high the blood pressure and the glucose are, then the newest, then
    /// the order screenings are read in (by id).
    #[allow(clippy::type_complexity)]
    fn rank(&self) -> (Reverse<(ReferralLevel, Option<BpGrade>, Option<GlucoseBand>)>, Reverse<&str>, &str) {
        (Reverse((self.referral, self.bp_grade, self.glucose_band)), Reverse(self.date.as_str()), self.id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(with = "body::link")]
    pub link: Arc<Link>,
    pub visit_id: String,
    pub problem_id: String,
    pub date: String,
    pub description: String,
    pub status: ProblemStatus,
}

impl Problem {
    /// The newest first, then in the order problems are read (by visit and problem id).
    fn rank(&self) -> (Reverse<&str>, &str, &str) {
        (Reverse(&self.date), &self.visit_id, &self.problem_id)
    }
}

/// A member a figure counts as missing, with the priority groups they belong to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Missing {
    #[serde(with = "body::link")]
    pub link: Arc<Link>,
    pub member_id: String,
    pub member: String,
    pub groups: [bool; 7],
}

impl Missing {
    /// By household, then member.
    fn rank(&self) -> (&str, &str) {
        (&self.link.id, &self.member_id)
    }
}

/// The overview's figures of a set of households as numbers that add up and lists ranked and cut at the length a
/// page shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    pub households: usize,
    pub members: usize,
    /// Coverage in each of the twelve months ending with the page's month, oldest first.
    pub trend: Vec<Count>,
    pub by_village: BTreeMap<String, Vec<Count>>,
    pub by_helper: BTreeMap<String, Vec<Count>>,
    pub overdue: Vec<Overdue>,
    pub overdue_total: usize,
    pub followups: Vec<FollowUp>,
    pub followups_total: usize,
    pub contracts: [Count; 7],
    pub screened: usize,
    pub insured: usize,
    pub poor_members: usize,
    pub hypertensive: usize,
    pub bp_read: usize,
    pub bp_controlled: usize,
    pub abnormal: Vec<Abnormal>,
    pub abnormal_total: usize,
    pub abnormal_not_followed: usize,
    pub urgent_not_followed: usize,
    /// Monitored, then edge households: a cell per alert level (and none), then all of them.
    pub alerts: [Vec<usize>; 2],
    pub risks: BTreeMap<RiskCause, usize>,
    pub problems: Vec<Problem>,
    pub problems_total: usize,
    pub uninsured: Vec<Missing>,
    pub unsigned: Vec<Missing>,
    pub unsigned_total: usize,
    pub screenings_month: usize,
}

/// The alert levels the monitored-household table counts by, and "none".
fn levels() -> Vec<Option<AlertLevel>> {
    AlertLevel::ALL.iter().copied().map(Some).chain(std::iter::once(None)).collect()
}

/// Sorts `list` by `order` and keeps the first `n`.
fn rank<T>(list: &mut Vec<T>, n: usize, order: impl Fn(&T, &T) -> std::cmp::Ordering) {
    list.sort_by(order);
    list.truncate(n);
}

/// Adds `b` into `a` cell by cell.
fn add_counts(a: &mut Vec<Count>, b: &[Count]) {
    if a.len() < b.len() {
        a.resize(b.len(), (0, 0));
    }
    for (x, y) in a.iter_mut().zip(b) {
        x.0 += y.0;
        x.1 += y.1;
    }
}

/// Counts a selection.
pub fn tally(sel: &Selection) -> Tally {
    let months = last_months(&sel.month, 12);
    let today = sel.today.format("%Y-%m-%d").to_string();
    // A household's link is made when a list first names it (most households are in none), then shared.
    let selected: HashMap<&str, &HouseholdEntry> = sel.households.iter().map(|e| (e.record.id.as_str(), *e)).collect();
    let made: RefCell<HashMap<&str, Arc<Link>>> = RefCell::default();
    let link = |id: &str| -> Option<Arc<Link>> {
        let (key, e) = selected.get_key_value(id)?;
        Some(made.borrow_mut().entry(key).or_insert_with(|| Link::of(e)).clone())
    };
    let linked = |e: &HouseholdEntry| link(&e.record.id).unwrap_or_else(|| Link::of(e));
    let mut t = Tally { households: sel.households.len(), ..Default::default() };

    // Coverage: the whole selection, by village and by helper (households of a helper that this helper visited).
    let mut visited_by: HashMap<(&str, &str), HashSet<&str>> = HashMap::new();
    for v in sel.visits().filter(|v| is_helper_visit(v.kind)) {
        visited_by.entry((&v.visitor, &v.month)).or_default().insert(&v.household_id);
    }
    let scheduled: Vec<Vec<bool>> =
        months.iter().map(|m| sel.households.iter().map(|e| sel.scheduled(e, m)).collect()).collect();
    let visited: Vec<Vec<bool>> = months
        .iter()
        .map(|m| sel.households.iter().map(|e| sel.helper_visits(&e.record.id, m) > 0).collect())
        .collect();
    t.trend = vec![(0, 0); months.len()];
    for (i, e) in sel.households.iter().enumerate() {
        let village = t.by_village.entry(e.placement.village.clone()).or_insert_with(|| vec![(0, 0); months.len()]);
        for (k, m) in months.iter().enumerate() {
            if scheduled[k][i] {
                t.trend[k].1 += 1;
                village[k].1 += 1;
                if visited[k][i] {
                    t.trend[k].0 += 1;
                    village[k].0 += 1;
                }
            }
            for h in &e.helpers {
                let row = t.by_helper.entry(h.clone()).or_insert_with(|| vec![(0, 0); months.len()]);
                if scheduled[k][i] {
                    row[k].1 += 1;
                    if visited_by.get(&(h.as_str(), m.as_str())).is_some_and(|s| s.contains(e.record.id.as_str())) {
                        row[k].0 += 1;
                    }
                }
            }
        }
    }

    // Overdue households and chronic follow-ups.
    let overdue_month = sel.overdue_month();
    let mut last_visit: HashMap<&str, &str> = HashMap::new();
    let mut last_followup: HashMap<(&str, Option<&str>), &str> = HashMap::new();
    for v in sel.visits() {
        if is_helper_visit(v.kind) {
            last_visit.insert(&v.household_id, &v.date);
        }
        if v.kind == VisitKind::DoctorFollowUp && v.date <= today {
            last_followup.insert((&v.household_id, v.member_id.as_deref()), &v.date);
        }
    }
    for e in sel.households.iter().filter(|e| !e.helpers.is_empty()) {
        let required = sel.required(e, &overdue_month);
        let done = sel.helper_visits(&e.record.id, &overdue_month);
        if done < required {
            t.overdue_total += 1;
            if t.overdue.len() < PAGE_ROWS {
                t.overdue.push(Overdue {
                    link: linked(e),
                    done,
                    required,
                    last_visit: last_visit.get(e.record.id.as_str()).map(|d| d.to_string()).unwrap_or_default(),
                });
            }
        }
    }
    let followup_rules = sel.rules_for(&sel.month);
    for e in &sel.households {
        for m in e.record.members.values().filter(|m| is_current(m)) {
            let Some(contract) = &m.contract else { continue };
            let Some(interval) = followup_interval(followup_rules, &m.conditions) else { continue };
            let last = [
                last_followup.get(&(e.record.id.as_str(), Some(m.id.as_str()))),
                last_followup.get(&(e.record.id.as_str(), None)),
            ]
            .into_iter()
            .flatten()
            .max()
            .map(|d| d.to_string());
            let base = last.as_deref().unwrap_or(contract.signed_date.as_str());
            let Some(base) = parse_date(base) else { continue };
            let due = base + Duration::days(i64::from(interval));
            if due < sel.today {
                t.followups.push(FollowUp {
                    link: linked(e),
                    member_id: m.id.clone(),
                    member: m.name.clone(),
                    last: last.unwrap_or_default(),
                    due: due.format("%Y-%m-%d").to_string(),
                });
            }
        }
    }
    t.followups_total = t.followups.len();
    rank(&mut t.followups, PAGE_ROWS, |a, b| a.rank().cmp(&b.rank()));

    // Members: contracts of priority groups, insurance, screening, blood-pressure control.
    let year = &sel.month[..4];
    let screened: HashSet<&str> = sel
        .screenings()
        .filter(|s| s.record.date.starts_with(year) && s.record.date <= today)
        .map(|s| s.record.member_id.as_str())
        .collect();
    let mut last_bp: HashMap<&str, (&str, BpGrade)> = HashMap::new();
    for s in sel.screenings() {
        if let Some(g) = s.bp_grade {
            let entry = last_bp.entry(s.record.member_id.as_str()).or_insert((s.record.date.as_str(), g));
            if s.record.date.as_str() >= entry.0 {
                *entry = (s.record.date.as_str(), g);
            }
        }
    }
    for e in &sel.households {
        let poor = e.record.poverty_status == PovertyStatus::RegisteredPoor;
        for m in e.record.members.values().filter(|m| is_current(m)) {
            t.members += 1;
            if screened.contains(m.id.as_str()) {
                t.screened += 1;
            }
            let age = age_on(&m.birth_date, sel.today).unwrap_or(30);
            let chronic = m.conditions.iter().any(|c| *c != Condition::Other);
            let groups = [
                age >= 65,
                age < 7,
                m.pregnant,
                chronic,
                m.disability.is_some(),
                m.conditions.contains(&Condition::SevereMental),
                poor,
            ];
            for (i, f) in groups.iter().enumerate() {
                if *f {
                    t.contracts[i].1 += 1;
                    if m.contract.is_some() {
                        t.contracts[i].0 += 1;
                    }
                }
            }
            let missing = || Missing { link: linked(e), member_id: m.id.clone(), member: m.name.clone(), groups };
            if m.contract.is_none() && groups.iter().any(|f| *f) {
                t.unsigned.push(missing());
            }
            if poor {
                t.poor_members += 1;
                if m.insured {
                    t.insured += 1;
                } else {
                    t.uninsured.push(missing());
                }
            }
            if m.conditions.contains(&Condition::Hypertension) {
                t.hypertensive += 1;
                if let Some((_, g)) = last_bp.get(m.id.as_str()) {
                    t.bp_read += 1;
                    if matches!(g, BpGrade::Normal | BpGrade::HighNormal) {
                        t.bp_controlled += 1;
                    }
                }
            }
        }
    }
    t.unsigned_total = t.unsigned.len();
    rank(&mut t.unsigned, PAGE_ROWS, |a, b| a.rank().cmp(&b.rank()));
    rank(&mut t.uninsured, PAGE_ROWS, |a, b| a.rank().cmp(&b.rank()));

    // Abnormal screenings and urgent referrals without a later doctor follow-up.
    for s in sel.screenings().filter(|s| s.abnormal && s.record.date.starts_with(year)) {
        t.abnormal_total += 1;
        let followed = [
            last_followup.get(&(s.record.household_id.as_str(), Some(s.record.member_id.as_str()))),
            last_followup.get(&(s.record.household_id.as_str(), None)),
        ]
        .into_iter()
        .flatten()
        .any(|d| *d >= s.record.date.as_str());
        if followed {
            continue;
        }
        let (Some(hh), Some(l)) = (sel.household(&s.record.household_id), link(&s.record.household_id)) else {
            continue;
        };
        t.abnormal_not_followed += 1;
        if s.referral == ReferralLevel::Urgent {
            t.urgent_not_followed += 1;
        }
        let member = hh.record.members.get(&s.record.member_id).map(|m| m.name.clone()).unwrap_or_default();
        t.abnormal.push(Abnormal::of(l, member, s));
    }
    rank(&mut t.abnormal, ABNORMAL_ROWS, |a, b| a.rank().cmp(&b.rank()));

    // Monitored and edge households by alert level and risk cause.
    let levels = levels();
    for (k, status) in [PovertyStatus::Monitored, PovertyStatus::Edge].into_iter().enumerate() {
        let hs: Vec<_> = sel.households.iter().filter(|e| e.record.poverty_status == status).collect();
        let mut cells: Vec<usize> =
            levels.iter().map(|l| hs.iter().filter(|e| e.record.alert_level == *l).count()).collect();
        cells.push(hs.len());
        t.alerts[k] = cells;
        for e in &hs {
            for r in &e.record.risk_causes {
                *t.risks.entry(*r).or_default() += 1;
            }
        }
    }

    // Problems not yet resolved, newest first.
    for p in sel.problems().filter(|p| p.status != ProblemStatus::Resolved) {
        let Some(l) = link(&p.household_id) else { continue };
        t.problems.push(Problem {
            link: l,
            visit_id: p.visit_id.clone(),
            problem_id: p.problem_id.clone(),
            date: p.date.clone(),
            description: p.description.clone(),
            status: p.status,
        });
    }
    t.problems_total = t.problems.len();
    rank(&mut t.problems, PAGE_ROWS, |a, b| a.rank().cmp(&b.rank()));

    t.screenings_month = sel.screenings().filter(|s| s.record.date.starts_with(&sel.month)).count();
    t
}

/// The first `n` of several ranked lists together, by `key`: only those are copied.
fn top<'a, T: Clone + 'a, K: Ord>(
    lists: impl Iterator<Item = &'a Vec<T>>,
    n: usize,
    key: impl Fn(&'a T) -> K,
) -> Vec<T> {
    let mut all: Vec<&'a T> = lists.flatten().collect();
    if all.len() > n {
        all.select_nth_unstable_by(n, |a, b| key(a).cmp(&key(b)));
        all.truncate(n);
    }
    all.sort_by(|a, b| key(a).cmp(&key(b)));
    all.into_iter().cloned().collect()
}

/// The tally of several disjoint sets of households (villages) together: what [`tally`] gives for their union.
pub fn merge<'a>(parts: impl IntoIterator<Item = &'a Tally>) -> Tally {
    let parts: Vec<&Tally> = parts.into_iter().collect();
    let mut t = Tally::default();
    for p in &parts {
        t.households += p.households;
        t.members += p.members;
        add_counts(&mut t.trend, &p.trend);
        for (name, counts) in &p.by_village {
            add_counts(t.by_village.entry(name.clone()).or_default(), counts);
        }
        for (name, counts) in &p.by_helper {
            add_counts(t.by_helper.entry(name.clone()).or_default(), counts);
        }
        t.overdue_total += p.overdue_total;
        t.followups_total += p.followups_total;
        for (a, b) in t.contracts.iter_mut().zip(&p.contracts) {
            a.0 += b.0;
            a.1 += b.1;
        }
        t.screened += p.screened;
        t.insured += p.insured;
        t.poor_members += p.poor_members;
        t.hypertensive += p.hypertensive;
        t.bp_read += p.bp_read;
        t.bp_controlled += p.bp_controlled;
        t.abnormal_total += p.abnormal_total;
        t.abnormal_not_followed += p.abnormal_not_followed;
        t.urgent_not_followed += p.urgent_not_followed;
        for (a, b) in t.alerts.iter_mut().zip(&p.alerts) {
            if a.len() < b.len() {
                a.resize(b.len(), 0);
            }
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (r, n) in &p.risks {
            *t.risks.entry(*r).or_default() += n;
        }
        t.problems_total += p.problems_total;
        t.unsigned_total += p.unsigned_total;
        t.screenings_month += p.screenings_month;
    }
    t.overdue = top(parts.iter().map(|p| &p.overdue), PAGE_ROWS, |o| o.link.id.as_str());
    t.followups = top(parts.iter().map(|p| &p.followups), PAGE_ROWS, FollowUp::rank);
    t.unsigned = top(parts.iter().map(|p| &p.unsigned), PAGE_ROWS, Missing::rank);
    t.uninsured = top(parts.iter().map(|p| &p.uninsured), PAGE_ROWS, Missing::rank);
    t.abnormal = top(parts.iter().map(|p| &p.abnormal), ABNORMAL_ROWS, Abnormal::rank);
    t.problems = top(parts.iter().map(|p| &p.problems), PAGE_ROWS, Problem::rank);
    t
}

/// What a page is about: its month and day, and how it speaks.
pub struct Frame<'a> {
    pub month: String,
    pub today: NaiveDate,
    pub lang: Lang,
    pub people: &'a People,
}

impl Frame<'_> {
    /// The month whose shortfall makes a household overdue: the chosen month once it is over, else the one before.
    pub fn overdue_month(&self) -> String {
        let current = self.today.format("%Y-%m").to_string();
        if self.month < current {
            self.month.clone()
        } else {
            previous_month(&current)
        }
    }
}

/// The overview of a tally, in the frame's language.
pub fn render(t: &Tally, f: &Frame) -> Overview {
    let lang = f.lang;
    let texts = lang.texts();
    let tx = |k: &str| texts.get(k).copied().unwrap_or_default().to_string();
    let months = last_months(&f.month, 12);
    let count = |c: Option<&Count>| c.copied().unwrap_or((0, 0));
    let ratio = |(y, n): Count| if n == 0 { 0.0 } else { y as f64 / n as f64 };
    let coverage_rows = |rows: &BTreeMap<String, Vec<Count>>, helpers: bool| -> Vec<CoverageRow> {
        rows.iter()
            .map(|(name, counts)| {
                let (yes, total) = count(counts.last());
                let shown = if helpers { f.people.shown(name) } else { name.clone() };
                let path = if helpers { "helper" } else { "village" };
                CoverageRow {
                    href: format!("/{path}/{}", super::encode(name)),
                    rate: Rate::new(&shown, yes, total),
                    trend_svg: svg::sparkline(&counts.iter().map(|c| ratio(*c)).collect::<Vec<_>>()),
                    name: shown,
                }
            })
            .collect()
    };
    let link = |l: &Link| l.show(lang, f.people);
    let (yes, total) = count(t.trend.last());
    let trend: Vec<(String, f64)> =
        months.iter().enumerate().map(|(k, m)| (m[2..].to_string(), ratio(count(t.trend.get(k))))).collect();

    // How far the page's month has gone, beside last month's coverage.
    let first = NaiveDate::parse_from_str(&format!("{}-01", f.month), "%Y-%m-%d").unwrap_or(f.today);
    let last = NaiveDate::parse_from_str(&month_end(&f.month), "%Y-%m-%d").unwrap_or(first);
    let (ly, ln) = count(t.trend.len().checked_sub(2).and_then(|k| t.trend.get(k)));
    let progress = MonthProgress {
        day: if f.today < first { 0 } else { f.today.min(last).day() },
        days: last.day(),
        last_month: Rate::new(&tx("last_month"), ly, ln),
    };

    let why = |m: &Missing| {
        GROUPS
            .iter()
            .zip(m.groups)
            .filter(|(_, g)| *g)
            .map(|(k, _)| tx(k))
            .collect::<Vec<_>>()
            .join(lang.pick("、", ", "))
    };
    let abnormal = t
        .abnormal
        .iter()
        .map(|a| {
            let reason = [
                a.bp_grade
                    .filter(|g| !matches!(g, BpGrade::Normal | BpGrade::HighNormal))
                    .map(|g| g.label(lang.code())),
                a.glucose_band.filter(|g| *g != GlucoseBand::Normal).map(|g| g.label(lang.code())),
                a.bmi_band.filter(|b| *b != BmiBand::Normal).map(|b| b.label(lang.code())),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(lang.pick("、", ", "));
            ScreeningRow {
                reason,
                household: link(&a.link),
                member: a.member.clone(),
                date: a.date.clone(),
                bp: match (a.systolic, a.diastolic) {
                    (Some(a), Some(b)) => format!("{a:.0}/{b:.0}"),
                    _ => String::new(),
                },
                bp_grade: a.bp_grade.map(|g| g.label(lang.code()).to_string()).unwrap_or_default(),
                glucose: a.glucose.map(|g| format!("{g:.1}")).unwrap_or_default(),
                referral: a.referral.label(lang.code()).to_string(),
                urgent: a.referral == ReferralLevel::Urgent,
            }
        })
        .collect::<Vec<_>>();

    let levels = levels();
    let level_name =
        |l: &Option<AlertLevel>| l.map(|l| l.label(lang.code()).to_string()).unwrap_or_else(|| tx("no_alert"));
    let mut alert_header: Vec<String> = levels.iter().map(level_name).collect();
    alert_header.push(tx("households"));
    let alerts = [PovertyStatus::Monitored, PovertyStatus::Edge]
        .iter()
        .zip(&t.alerts)
        .map(|(status, cells)| {
            let mut cells = cells.clone();
            cells.resize(levels.len() + 1, 0);
            CountRow { label: status.label(lang.code()).to_string(), cells }
        })
        .collect::<Vec<_>>();
    let alert_svg = svg::alert_bars(
        &levels
            .iter()
            .enumerate()
            .map(|(i, l)| (level_name(l), *l, alerts.iter().map(|r| r.cells[i]).sum()))
            .collect::<Vec<_>>(),
    );

    Overview {
        month: f.month.clone(),
        households: t.households,
        members: t.members,
        coverage: Rate::new(&tx("coverage"), yes, total),
        by_village: coverage_rows(&t.by_village, false),
        by_helper: coverage_rows(&t.by_helper, true),
        trend_svg: svg::bars(&trend),
        overdue_month: f.overdue_month(),
        overdue: t
            .overdue
            .iter()
            .map(|o| OverdueRow {
                household: link(&o.link),
                done: o.done,
                required: o.required,
                last_visit: o.last_visit.clone(),
            })
            .collect(),
        overdue_total: t.overdue_total,
        followups: t
            .followups
            .iter()
            .map(|u| FollowUpRow {
                household: link(&u.link),
                member: u.member.clone(),
                last: u.last.clone(),
                due: u.due.clone(),
            })
            .collect(),
        followups_total: t.followups_total,
        contracts: GROUPS.iter().zip(&t.contracts).map(|(k, (y, n))| Rate::new(&tx(k), *y, *n)).collect(),
        screening: Rate::new(&tx("screening_rate"), t.screened, t.members),
        screenings_month: t.screenings_month,
        abnormal_more: t.abnormal_not_followed - abnormal.len(),
        abnormal,
        abnormal_total: t.abnormal_total,
        abnormal_not_followed: t.abnormal_not_followed,
        urgent_not_followed: t.urgent_not_followed,
        bp_control: Rate::new(&tx("bp_controlled"), t.bp_controlled, t.bp_read),
        bp_no_reading: t.hypertensive - t.bp_read,
        alert_header,
        alerts,
        alert_svg,
        risks: t.risks.iter().map(|(r, n)| (r.label(lang.code()).to_string(), *n)).collect(),
        problems: t
            .problems
            .iter()
            .map(|p| ProblemView {
                household: link(&p.link),
                date: p.date.clone(),
                description: p.description.clone(),
                status: p.status.label(lang.code()).to_string(),
            })
            .collect(),
        problems_total: t.problems_total,
        insurance: Rate::new(&tx("insured"), t.insured, t.poor_members),
        uninsured: t
            .uninsured
            .iter()
            .map(|m| MemberRow {
                household: link(&m.link),
                member: m.member.clone(),
                why: m.link.status.label(lang.code()).to_string(),
            })
            .collect(),
        unsigned: t
            .unsigned
            .iter()
            .map(|m| MemberRow { household: link(&m.link), member: m.member.clone(), why: why(m) })
            .collect(),
        unsigned_total: t.unsigned_total,
        progress,
    }
}

/// A tally as the database keeps it (postcard): each household's [`Link`] is written in full the first time a body
/// names it and by its number after that, and read back as one shared `Arc`. A village's lists name the same
/// households many times (a household per overdue visit, a member per follow-up, contract or insurance), and a
/// restarted server's first overview decodes a thousand of these bodies: writing each link once makes the bodies
/// smaller and their decoding allocate less.
pub mod body {
    use super::Link;
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::Arc;

    /// The links of the body being written (by id, their numbers) or read (in order), on this thread.
    enum Table {
        Writing(HashMap<String, u32>),
        Reading(Vec<Arc<Link>>),
    }

    thread_local! {
        static TABLE: RefCell<Option<Table>> = const { RefCell::new(None) };
    }

    /// Runs `f` with `table` as this thread's link table, cleared afterwards however `f` ends.
    fn with_table<T>(table: Table, f: impl FnOnce() -> T) -> T {
        struct Clear;
        impl Drop for Clear {
            fn drop(&mut self) {
                TABLE.with(|t| t.borrow_mut().take());
            }
        }
        TABLE.with(|t| *t.borrow_mut() = Some(table));
        let _clear = Clear;
        f()
    }

    /// `value` as a kept body.
    pub fn encode<T: Serialize>(value: &T) -> postcard::Result<Vec<u8>> {
        with_table(Table::Writing(HashMap::new()), || postcard::to_allocvec(value))
    }

    /// A kept body as its value.
    pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> postcard::Result<T> {
        with_table(Table::Reading(Vec::new()), || postcard::from_bytes(bytes))
    }

    #[derive(serde::Serialize)]
    enum Out<'a> {
        New(&'a Link),
        Seen(u32),
    }

    #[derive(serde::Deserialize)]
    enum In {
        New(Link),
        Seen(u32),
    }

    /// `#[serde(with)]` for a tally's links: shared within a body written by [`encode`] (outside one, such as in
    /// a test's JSON, each link is written in full).
    pub mod link {
        use super::*;

        pub fn serialize<S: serde::Serializer>(link: &Arc<Link>, s: S) -> Result<S::Ok, S::Error> {
            let seen = TABLE.with(|t| match t.borrow_mut().as_mut() {
                Some(Table::Writing(numbers)) => {
                    let next = numbers.len() as u32;
                    match numbers.get(&link.id) {
                        Some(n) => Some(*n),
                        None => {
                            numbers.insert(link.id.clone(), next);
                            None
                        }
                    }
                }
                _ => None,
            });
            match seen {
                Some(n) => Out::Seen(n).serialize(s),
                None => Out::New(link).serialize(s),
            }
        }

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Arc<Link>, D::Error> {
            let read = <In as serde::Deserialize>::deserialize(d)?;
            TABLE.with(|t| match (read, t.borrow_mut().as_mut()) {
                (In::New(link), Some(Table::Reading(links))) => {
                    let link = Arc::new(link);
                    links.push(link.clone());
                    Ok(link)
                }
                (In::New(link), _) => Ok(Arc::new(link)),
                (In::Seen(n), Some(Table::Reading(links))) => links
                    .get(n as usize)
                    .cloned()
                    .ok_or_else(|| serde::de::Error::custom(format!("household link {n} named before it was written"))),
                (In::Seen(n), _) => Err(serde::de::Error::custom(format!("household link {n} outside a kept body"))),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: &str) -> Arc<Link> {
        Arc::new(Link {
            id: id.into(),
            number: format!("No. {id}"),
            head: "王秀英".into(),
            village: "石门村".into(),
            status: PovertyStatus::default(),
            alert: None,
            helpers: vec!["helper-1".into()],
        })
    }

    fn missing(link: &Arc<Link>, member: &str) -> Missing {
        Missing { link: link.clone(), member_id: member.into(), member: member.into(), groups: [false; 7] }
    }

    #[test]
    fn a_kept_body_writes_each_household_once_and_reads_it_back_shared() {
        let (a, b) = (link("h-a"), link("h-b"));
        let t = Tally {
            households: 2,
            unsigned: vec![missing(&a, "m1"), missing(&a, "m2"), missing(&b, "m3")],
            uninsured: vec![missing(&b, "m3"), missing(&a, "m1")],
            ..Default::default()
        };
        let kept = body::encode(&t).unwrap();
        let plain = postcard::to_allocvec(&t).unwrap();
        assert!(kept.len() < plain.len(), "{} bytes kept, {} plain", kept.len(), plain.len());
        let back: Tally = body::decode(&kept).unwrap();
        assert_eq!(back.unsigned, t.unsigned);
        assert_eq!(back.uninsured, t.uninsured);
        assert!(Arc::ptr_eq(&back.unsigned[0].link, &back.unsigned[1].link));
        assert!(Arc::ptr_eq(&back.unsigned[2].link, &back.uninsured[0].link));
        assert!(!Arc::ptr_eq(&back.unsigned[0].link, &back.unsigned[2].link));
        // Outside a kept body every link is written in full, and a body's later link numbers mean nothing.
        let alone: Tally = postcard::from_bytes(&plain).unwrap();
        assert_eq!(alone.uninsured, t.uninsured);
        assert!(postcard::from_bytes::<Tally>(&kept).is_err());
    }
}
