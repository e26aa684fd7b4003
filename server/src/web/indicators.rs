//! The figures supervisors look at (DOMAIN.md, "What supervisors look at"), computed from a snapshot for the
//! households one account may see under one filter. Plain functions over plain data: the pages render them and the
//! ledgers reuse the same selection.

use super::i18n::Lang;
use super::svg;
use super::People;
use crate::reports::{HouseholdEntry, ProblemRow, ScreeningEntry, Snapshot, VisitRow};
use crate::scope::Scope;
use chrono::{Datelike, Duration, NaiveDate};
use doorstep_core::model::{
    classify, parse_date, AlertLevel, BmiBand, BpGrade, Condition, GlucoseBand, Household, Member, MemberEventKind,
    PovertyStatus, ProblemStatus, ReferralLevel, RiskCause, ScheduleRules, Thresholds, VisitKind,
};
use doorstep_core::schedule::{followup_interval, monthly_required, HELPER_VISIT_KINDS};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Rows shown on a page before "download the ledger for all".
pub const PAGE_ROWS: usize = 100;

/// The households (and their visits, screenings, problems) one account sees under one filter.
pub struct Selection<'a> {
    pub snap: &'a Snapshot,
    pub households: Vec<&'a HouseholdEntry>,
    ids: HashSet<&'a str>,
    /// The month the page is about, `YYYY-MM`.
    pub month: String,
    /// The day the page is about (today, or the "as of" day).
    pub today: NaiveDate,
    pub lang: Lang,
    /// The names people read for the accounts the page names.
    pub people: &'a People,
    helper_visits: HashMap<(&'a str, &'a str), u32>,
    /// The months the pages judge (the chosen one, the twelve before, the current and the last), with their last
    /// day and the rules in force then, worked out once rather than for every household.
    judged: Vec<(String, String, &'a ScheduleRules)>,
}

/// Which households a page is about, besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub township: Option<String>,
    pub village: Option<String>,
    pub helper: Option<String>,
    pub month: Option<String>,
}

/// Whether a visit counts towards the monthly helper-visit rule.
pub fn is_helper_visit(kind: VisitKind) -> bool {
    HELPER_VISIT_KINDS.contains(&kind.code())
}

/// A member still living in the household (not died, moved or married out).
pub fn is_current(m: &Member) -> bool {
    !m.events
        .iter()
        .any(|e| matches!(e.kind, MemberEventKind::Died | MemberEventKind::MovedOut | MemberEventKind::MarriedOut))
}

/// Age in whole years on `day`.
pub fn age_on(birth: &str, day: NaiveDate) -> Option<i32> {
    let b = parse_date(birth)?;
    let mut age = day.year() - b.year();
    if (day.month(), day.day()) < (b.month(), b.day()) {
        age -= 1;
    }
    Some(age)
}

/// The last day of `month` (`YYYY-MM`), `YYYY-MM-DD`.
fn month_end(month: &str) -> String {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
        .map(|next| (next - Duration::days(1)).format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| format!("{month}-31"))
}

/// The poverty status a household had on `day`: the last dated transition on or before it. Before its first
/// transition a household was ordinary (一般农户); one without any recorded transition has its status now.
pub fn status_on(h: &Household, day: &str) -> PovertyStatus {
    if h.status_history.is_empty() {
        return h.poverty_status;
    }
    // The latest dated on or before `day` (of equal dates, the one recorded last); no copy, no sort: pages call
    // this for every household and month they show.
    h.status_history
        .iter()
        .filter(|t| t.date.as_str() <= day)
        .max_by(|a, b| a.date.cmp(&b.date))
        .map(|t| t.to_status)
        .unwrap_or(PovertyStatus::Ordinary)
}

/// `YYYY-MM` of the month before.
pub fn previous_month(month: &str) -> String {
    let d = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").unwrap_or_default();
    (d - Duration::days(1)).format("%Y-%m").to_string()
}

/// The twelve months ending with `month`, oldest first.
pub fn last_months(month: &str, n: usize) -> Vec<String> {
    let mut out = vec![month.to_string()];
    while out.len() < n {
        let prev = previous_month(out.last().map(String::as_str).unwrap_or(month));
        out.push(prev);
    }
    out.reverse();
    out
}

impl<'a> Selection<'a> {
    pub fn new(
        snap: &'a Snapshot,
        scope: &Scope,
        filter: &Filter,
        today: NaiveDate,
        lang: Lang,
        people: &'a People,
    ) -> Self {
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w.is_empty() || w == have);
        let households: Vec<&HouseholdEntry> = snap
            .households
            .iter()
            .filter(|(id, e)| scope.sees(id, &e.placement))
            .filter(|(_, e)| matches(&filter.township, &e.placement.township))
            .filter(|(_, e)| matches(&filter.village, &e.placement.village))
            .filter(|(_, e)| filter.helper.as_deref().is_none_or(|h| e.helpers.iter().any(|x| x == h)))
            .map(|(_, e)| e)
            .collect();
        let ids: HashSet<&str> = households.iter().map(|e| e.record.id.as_str()).collect();
        let mut helper_visits = HashMap::new();
        for v in &snap.visits {
            if is_helper_visit(v.kind) && ids.contains(v.household_id.as_str()) {
                *helper_visits.entry((v.household_id.as_str(), v.month.as_str())).or_insert(0) += 1;
            }
        }
        let month = filter
            .month
            .clone()
            .filter(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok())
            .unwrap_or_else(|| today.format("%Y-%m").to_string());
        let current = today.format("%Y-%m").to_string();
        let mut months = last_months(&month, 13);
        months.extend([previous_month(&current), current]);
        months.sort();
        months.dedup();
        let judged = months
            .into_iter()
            .map(|m| {
                let end = month_end(&m);
                let rules = snap.rules.in_force(&end);
                (m, end, rules)
            })
            .collect();
        Self { snap, households, ids, month, today, lang, people, helper_visits, judged }
    }

    pub fn contains(&self, household_id: &str) -> bool {
        self.ids.contains(household_id)
    }

    pub fn visits(&self) -> impl Iterator<Item = &'a VisitRow> + '_ {
        self.snap.visits.iter().filter(|v| self.contains(&v.household_id))
    }

    pub fn problems(&self) -> impl Iterator<Item = &'a ProblemRow> + '_ {
        self.snap.problems.iter().filter(|p| self.contains(&p.household_id))
    }

    pub fn screenings(&self) -> impl Iterator<Item = &'a ScreeningEntry> + '_ {
        self.snap.screenings.iter().filter(|s| self.contains(&s.record.household_id))
    }

    /// Helper visits of a household in a month.
    pub fn helper_visits(&self, household_id: &str, month: &str) -> u32 {
        self.helper_visits.get(&(household_id, month)).copied().unwrap_or(0)
    }

    /// The schedule rules that judge `month` (`YYYY-MM`): those in force on its last day.
    pub fn rules_for(&self, month: &str) -> &ScheduleRules {
        match self.judged.iter().find(|(m, _, _)| m == month) {
            Some((_, _, rules)) => rules,
            None => self.snap.rules.in_force(&month_end(month)),
        }
    }

    /// Whether a household needs helper visits in `month`: it has a helper, and the rules in force then schedule the
    /// status it had at the month's end (ordinary households are not scheduled by default).
    pub fn scheduled(&self, e: &HouseholdEntry, month: &str) -> bool {
        !e.helpers.is_empty() && self.required(e, month) > 0
    }

    /// Helper visits `e` needed in `month`: the rules in force then, for the status it had then.
    pub fn required(&self, e: &HouseholdEntry, month: &str) -> u32 {
        match self.judged.iter().find(|(m, _, _)| m == month) {
            Some((_, end, rules)) => monthly_required(rules, status_on(&e.record, end)),
            None => monthly_required(self.rules_for(month), status_on(&e.record, &month_end(month))),
        }
    }

    /// The month whose shortfall makes a household overdue: the chosen month once it is over, else the one before.
    pub fn overdue_month(&self) -> String {
        let current = self.today.format("%Y-%m").to_string();
        if self.month < current {
            self.month.clone()
        } else {
            previous_month(&current)
        }
    }

    pub fn household(&self, id: &str) -> Option<&'a HouseholdEntry> {
        self.snap.households.get(id)
    }

    fn label_status(&self, s: PovertyStatus) -> String {
        s.label(self.lang.code()).to_string()
    }
}

/// A count out of a total, shown as "yes / total (rate)".
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    pub label: String,
    pub yes: usize,
    pub total: usize,
    pub rate: String,
    pub pct: f64,
}

impl Rate {
    pub fn new(label: &str, yes: usize, total: usize) -> Self {
        let pct = if total == 0 { 0.0 } else { yes as f64 * 100.0 / total as f64 };
        let rate = if total == 0 { "—".to_string() } else { format!("{pct:.1}%") };
        Self { label: label.to_string(), yes, total, rate, pct }
    }
}

/// A line of a coverage table, with its twelve-month trend.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    pub name: String,
    pub href: String,
    pub rate: Rate,
    pub trend_svg: String,
}

/// A household a page links to.
#[derive(Debug, Clone, Serialize)]
pub struct HouseholdLink {
    pub id: String,
    pub number: String,
    pub head: String,
    pub village: String,
    pub status: String,
    pub alert: String,
    pub helpers: String,
}

impl HouseholdLink {
    pub fn of(e: &HouseholdEntry, lang: Lang, people: &People) -> Self {
        let h = &e.record;
        Self {
            id: h.id.clone(),
            number: h.number.clone(),
            head: h.head_name.clone(),
            village: e.placement.village.clone(),
            status: h.poverty_status.label(lang.code()).to_string(),
            alert: h.alert_level.map(|a| a.label(lang.code()).to_string()).unwrap_or_default(),
            helpers: people.list(&e.helpers, "、"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OverdueRow {
    pub household: HouseholdLink,
    pub done: u32,
    pub required: u32,
    pub last_visit: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowUpRow {
    pub household: HouseholdLink,
    pub member: String,
    pub last: String,
    pub due: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScreeningRow {
    pub household: HouseholdLink,
    pub member: String,
    pub date: String,
    pub bp: String,
    pub bp_grade: String,
    pub glucose: String,
    pub referral: String,
    pub urgent: bool,
    /// Why the screening is abnormal, in words: the blood-pressure grade, the glucose band, the BMI band.
    pub reason: String,
}

/// A member the page names because a figure counts them as missing (not insured, not under contract).
#[derive(Debug, Clone, Serialize)]
pub struct MemberRow {
    pub household: HouseholdLink,
    pub member: String,
    /// Why the member is listed: the groups that call for a contract, or the household's status.
    pub why: String,
}

/// How far the page's month has gone, so a coverage figure early in a month is read as such.
#[derive(Debug, Clone, Serialize)]
pub struct MonthProgress {
    /// Days of the month up to the page's day (all of them for a past month).
    pub day: u32,
    pub days: u32,
    /// The same coverage for the month before.
    pub last_month: Rate,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProblemView {
    pub household: HouseholdLink,
    pub date: String,
    pub description: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountRow {
    pub label: String,
    pub cells: Vec<usize>,
}

/// Everything the overview (and a village page) shows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub month: String,
    pub households: usize,
    pub members: usize,
    pub coverage: Rate,
    pub by_village: Vec<CoverageRow>,
    pub by_helper: Vec<CoverageRow>,
    pub trend_svg: String,
    pub overdue_month: String,
    pub overdue: Vec<OverdueRow>,
    pub overdue_total: usize,
    pub followups: Vec<FollowUpRow>,
    pub followups_total: usize,
    pub contracts: Vec<Rate>,
    pub screening: Rate,
    pub screenings_month: usize,
    pub abnormal: Vec<ScreeningRow>,
    /// Abnormal screenings not followed up beyond the rows shown (the screenings ledger lists every one).
    pub abnormal_more: usize,
    pub abnormal_total: usize,
    pub abnormal_not_followed: usize,
    pub urgent_not_followed: usize,
    pub bp_control: Rate,
    pub bp_no_reading: usize,
    pub alert_header: Vec<String>,
    pub alerts: Vec<CountRow>,
    pub alert_svg: String,
    pub risks: Vec<(String, usize)>,
    pub problems: Vec<ProblemView>,
    pub problems_total: usize,
    pub insurance: Rate,
    pub uninsured: Vec<MemberRow>,
    pub unsigned: Vec<MemberRow>,
    pub unsigned_total: usize,
    pub progress: MonthProgress,
}

/// How many abnormal screenings the overview lists, most urgent first; the screenings ledger has them all.
pub const ABNORMAL_ROWS: usize = 20;

/// Coverage of a set of households in a month: (visited, assigned).
fn coverage(sel: &Selection, households: &[&HouseholdEntry], month: &str) -> (usize, usize) {
    let assigned: Vec<_> = households.iter().filter(|e| sel.scheduled(e, month)).collect();
    let visited = assigned.iter().filter(|e| sel.helper_visits(&e.record.id, month) > 0).count();
    (visited, assigned.len())
}

fn coverage_rows(
    sel: &Selection,
    groups: BTreeMap<String, Vec<&HouseholdEntry>>,
    months: &[String],
    href: impl Fn(&str) -> String,
    visits_by: Option<&HashMap<(&str, &str), HashSet<&str>>>,
) -> Vec<CoverageRow> {
    groups
        .into_iter()
        .map(|(name, hs)| {
            let rate_in = |m: &str| -> (usize, usize) {
                match visits_by {
                    // By helper: households of this helper that this helper visited.
                    Some(by) => {
                        let seen = by.get(&(name.as_str(), m));
                        let due: Vec<_> = hs.iter().filter(|e| sel.scheduled(e, m)).collect();
                        let visited =
                            due.iter().filter(|e| seen.is_some_and(|s| s.contains(e.record.id.as_str()))).count();
                        (visited, due.len())
                    }
                    None => coverage(sel, &hs, m),
                }
            };
            let (yes, total) = rate_in(&sel.month);
            let trend: Vec<f64> = months
                .iter()
                .map(|m| {
                    let (y, t) = rate_in(m);
                    if t == 0 {
                        0.0
                    } else {
                        y as f64 / t as f64
                    }
                })
                .collect();
            CoverageRow {
                href: href(&name),
                // Helpers by the name people know them by; villages by their own name.
                rate: Rate::new(&if visits_by.is_some() { sel.people.shown(&name) } else { name.clone() }, yes, total),
                trend_svg: svg::sparkline(&trend),
                name: if visits_by.is_some() { sel.people.shown(&name) } else { name },
            }
        })
        .collect()
}

/// The overview of a selection.
pub fn overview(sel: &Selection) -> Overview {
    let lang = sel.lang;
    let t = lang.texts();
    let tx = |k: &str| t.get(k).copied().unwrap_or_default().to_string();
    let months = last_months(&sel.month, 12);

    // Coverage by village and by helper.
    let mut by_village: BTreeMap<String, Vec<&HouseholdEntry>> = BTreeMap::new();
    let mut by_helper: BTreeMap<String, Vec<&HouseholdEntry>> = BTreeMap::new();
    for e in &sel.households {
        by_village.entry(e.placement.village.clone()).or_default().push(e);
        for h in &e.helpers {
            by_helper.entry(h.clone()).or_default().push(e);
        }
    }
    let mut visited_by: HashMap<(&str, &str), HashSet<&str>> = HashMap::new();
    for v in sel.visits().filter(|v| is_helper_visit(v.kind)) {
        visited_by.entry((&v.visitor, &v.month)).or_default().insert(&v.household_id);
    }
    let today = sel.today.format("%Y-%m-%d").to_string();
    let (yes, total) = coverage(sel, &sel.households, &sel.month);
    let coverage_rate = Rate::new(&tx("coverage"), yes, total);
    let progress = month_progress(sel, &tx("last_month"));
    let trend: Vec<(String, f64)> = months
        .iter()
        .map(|m| {
            let (y, t) = coverage(sel, &sel.households, m);
            (m[2..].to_string(), if t == 0 { 0.0 } else { y as f64 / t as f64 })
        })
        .collect();
    let village_rows = coverage_rows(sel, by_village, &months, |v| format!("/village/{}", super::encode(v)), None);
    let helper_rows =
        coverage_rows(sel, by_helper, &months, |h| format!("/helper/{}", super::encode(h)), Some(&visited_by));

    // Overdue households and chronic follow-ups.
    let overdue_month = previous_or_chosen(sel);
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
    let mut overdue = Vec::new();
    for e in sel.households.iter().filter(|e| !e.helpers.is_empty()) {
        let required = sel.required(e, &overdue_month);
        let done = sel.helper_visits(&e.record.id, &overdue_month);
        if done < required {
            overdue.push(OverdueRow {
                household: HouseholdLink::of(e, lang, sel.people),
                done,
                required,
                last_visit: last_visit.get(e.record.id.as_str()).map(|d| d.to_string()).unwrap_or_default(),
            });
        }
    }
    let overdue_total = overdue.len();
    overdue.truncate(PAGE_ROWS);

    let mut followups = Vec::new();
    for e in &sel.households {
        for m in e.record.members.values().filter(|m| is_current(m)) {
            let Some(contract) = &m.contract else { continue };
            let Some(interval) = followup_interval(sel.rules_for(&sel.month), &m.conditions) else { continue };
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
                followups.push(FollowUpRow {
                    household: HouseholdLink::of(e, lang, sel.people),
                    member: m.name.clone(),
                    last: last.unwrap_or_default(),
                    due: due.format("%Y-%m-%d").to_string(),
                });
            }
        }
    }
    followups.sort_by(|a, b| a.due.cmp(&b.due));
    let followups_total = followups.len();
    followups.truncate(PAGE_ROWS);

    // Members: contracts of priority groups, insurance, screening, blood-pressure control.
    let year = sel.month[..4].to_string();
    let screened: HashSet<&str> = sel
        .screenings()
        .filter(|s| s.record.date.starts_with(&year) && s.record.date <= today)
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
    let groups = ["g_65", "g_child", "g_pregnant", "g_chronic", "g_disabled", "g_mental", "g_poor"];
    let mut counts = vec![(0usize, 0usize); groups.len()];
    let (mut members, mut insured, mut poor_members, mut screened_n) = (0, 0, 0, 0);
    let (mut uninsured, mut unsigned) = (Vec::new(), Vec::new());
    let (mut hyp, mut hyp_read, mut hyp_ok) = (0, 0, 0);
    for e in &sel.households {
        let poor = e.record.poverty_status == PovertyStatus::RegisteredPoor;
        for m in e.record.members.values().filter(|m| is_current(m)) {
            members += 1;
            if screened.contains(m.id.as_str()) {
                screened_n += 1;
            }
            let age = age_on(&m.birth_date, sel.today).unwrap_or(30);
            let chronic = m.conditions.iter().any(|c| *c != Condition::Other);
            let flags = [
                age >= 65,
                age < 7,
                m.pregnant,
                chronic,
                m.disability.is_some(),
                m.conditions.contains(&Condition::SevereMental),
                poor,
            ];
            for (i, f) in flags.iter().enumerate() {
                if *f {
                    counts[i].1 += 1;
                    if m.contract.is_some() {
                        counts[i].0 += 1;
                    }
                }
            }
            if m.contract.is_none() && flags.iter().any(|f| *f) {
                let why: Vec<String> =
                    groups.iter().zip(flags).filter(|(_, f)| *f).map(|(k, _)| tx(k)).collect::<Vec<_>>();
                unsigned.push(MemberRow {
                    household: HouseholdLink::of(e, lang, sel.people),
                    member: m.name.clone(),
                    why: why.join(lang.pick("、", ", ")),
                });
            }
            if poor {
                poor_members += 1;
                if m.insured {
                    insured += 1;
                } else {
                    uninsured.push(MemberRow {
                        household: HouseholdLink::of(e, lang, sel.people),
                        member: m.name.clone(),
                        why: e.record.poverty_status.label(lang.code()).to_string(),
                    });
                }
            }
            if m.conditions.contains(&Condition::Hypertension) {
                hyp += 1;
                if let Some((_, g)) = last_bp.get(m.id.as_str()) {
                    hyp_read += 1;
                    if matches!(g, BpGrade::Normal | BpGrade::HighNormal) {
                        hyp_ok += 1;
                    }
                }
            }
        }
    }
    let contracts = groups.iter().zip(&counts).map(|(k, (y, n))| Rate::new(&tx(k), *y, *n)).collect();

    // Abnormal screenings and urgent referrals without a later doctor follow-up.
    let member_name =
        |hh: &HouseholdEntry, id: &str| hh.record.members.get(id).map(|m| m.name.clone()).unwrap_or_default();
    let mut abnormal = Vec::new();
    let mut urgency = HashMap::new();
    let (mut abnormal_total, mut urgent_nf) = (0, 0);
    for s in sel.screenings().filter(|s| s.abnormal && s.record.date.starts_with(&year)) {
        abnormal_total += 1;
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
        let Some(hh) = sel.household(&s.record.household_id) else { continue };
        let urgent = s.referral == ReferralLevel::Urgent;
        if urgent {
            urgent_nf += 1;
        }
        let bmi_band = classify(&s.record, &Thresholds::default()).bmi_band.filter(|b| *b != BmiBand::Normal);
        let reason = [
            s.bp_grade.filter(|g| !matches!(g, BpGrade::Normal | BpGrade::HighNormal)).map(|g| g.label(lang.code())),
            s.glucose_band.filter(|g| *g != GlucoseBand::Normal).map(|g| g.label(lang.code())),
            bmi_band.map(|b| b.label(lang.code())),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(lang.pick("、", ", "));
        urgency.insert(abnormal.len(), (s.referral, s.bp_grade, s.glucose_band));
        abnormal.push(ScreeningRow {
            reason,
            household: HouseholdLink::of(hh, lang, sel.people),
            member: member_name(hh, &s.record.member_id),
            date: s.record.date.clone(),
            bp: match (s.record.systolic, s.record.diastolic) {
                (Some(a), Some(b)) => format!("{a:.0}/{b:.0}"),
                _ => String::new(),
            },
            bp_grade: s.bp_grade.map(|g| g.label(lang.code()).to_string()).unwrap_or_default(),
            glucose: s.record.glucose.map(|g| format!("{g:.1}")).unwrap_or_default(),
            referral: s.referral.label(lang.code()).to_string(),
            urgent,
        });
    }
    // Most urgent first: the referral, then how high the blood pressure and the glucose are, then the newest.
    let mut order: Vec<usize> = (0..abnormal.len()).collect();
    order.sort_by(|a, b| urgency[b].cmp(&urgency[a]).then(abnormal[*b].date.cmp(&abnormal[*a].date)));
    let mut slots: Vec<Option<ScreeningRow>> = abnormal.into_iter().map(Some).collect();
    let mut abnormal: Vec<ScreeningRow> = order.into_iter().filter_map(|i| slots[i].take()).collect();
    let abnormal_not_followed = abnormal.len();
    abnormal.truncate(ABNORMAL_ROWS);
    let abnormal_more = abnormal_not_followed - abnormal.len();

    // Monitored and edge households by alert level and risk cause.
    let levels: Vec<Option<AlertLevel>> =
        AlertLevel::ALL.iter().copied().map(Some).chain(std::iter::once(None)).collect();
    let mut alert_header: Vec<String> =
        levels.iter().map(|l| l.map(|l| l.label(lang.code()).to_string()).unwrap_or_else(|| tx("no_alert"))).collect();
    alert_header.push(tx("households"));
    let mut alerts = Vec::new();
    let mut risk_counts: BTreeMap<RiskCause, usize> = BTreeMap::new();
    let mut level_totals = vec![0usize; levels.len()];
    for status in [PovertyStatus::Monitored, PovertyStatus::Edge] {
        let hs: Vec<_> = sel.households.iter().filter(|e| e.record.poverty_status == status).collect();
        let mut cells: Vec<usize> =
            levels.iter().map(|l| hs.iter().filter(|e| e.record.alert_level == *l).count()).collect();
        for (i, c) in cells.iter().enumerate() {
            level_totals[i] += c;
        }
        cells.push(hs.len());
        for e in &hs {
            for r in &e.record.risk_causes {
                *risk_counts.entry(*r).or_default() += 1;
            }
        }
        alerts.push(CountRow { label: sel.label_status(status), cells });
    }
    let alert_svg = svg::alert_bars(
        &levels
            .iter()
            .zip(&level_totals)
            .map(|(l, n)| (l.map(|l| l.label(lang.code()).to_string()).unwrap_or_else(|| tx("no_alert")), *l, *n))
            .collect::<Vec<_>>(),
    );
    let risks = risk_counts.into_iter().map(|(r, n)| (r.label(lang.code()).to_string(), n)).collect();

    // Problems not yet resolved.
    let mut problems: Vec<ProblemView> = sel
        .problems()
        .filter(|p| p.status != ProblemStatus::Resolved)
        .filter_map(|p| {
            let hh = sel.household(&p.household_id)?;
            Some(ProblemView {
                household: HouseholdLink::of(hh, lang, sel.people),
                date: p.date.clone(),
                description: p.description.clone(),
                status: p.status.label(lang.code()).to_string(),
            })
        })
        .collect();
    problems.sort_by(|a, b| b.date.cmp(&a.date));
    let problems_total = problems.len();
    problems.truncate(PAGE_ROWS);

    let screenings_month = sel.screenings().filter(|s| s.record.date.starts_with(&sel.month)).count();
    Overview {
        month: sel.month.clone(),
        households: sel.households.len(),
        members,
        coverage: coverage_rate,
        by_village: village_rows,
        by_helper: helper_rows,
        trend_svg: svg::bars(&trend),
        overdue_month,
        overdue,
        overdue_total,
        followups,
        followups_total,
        contracts,
        screening: Rate::new(&tx("screening_rate"), screened_n, members),
        screenings_month,
        abnormal,
        abnormal_more,
        abnormal_total,
        abnormal_not_followed,
        urgent_not_followed: urgent_nf,
        bp_control: Rate::new(&tx("bp_controlled"), hyp_ok, hyp_read),
        bp_no_reading: hyp - hyp_read,
        alert_header,
        alerts,
        alert_svg,
        risks,
        problems,
        problems_total,
        insurance: Rate::new(&tx("insured"), insured, poor_members),
        uninsured: uninsured.into_iter().take(PAGE_ROWS).collect(),
        unsigned_total: unsigned.len(),
        unsigned: unsigned.into_iter().take(PAGE_ROWS).collect(),
        progress,
    }
}

/// Day `day` of `days` in the page's month, and last month's coverage beside this month's.
fn month_progress(sel: &Selection, label: &str) -> MonthProgress {
    let first = NaiveDate::parse_from_str(&format!("{}-01", sel.month), "%Y-%m-%d").unwrap_or(sel.today);
    let last = NaiveDate::parse_from_str(&month_end(&sel.month), "%Y-%m-%d").unwrap_or(first);
    let days = last.day();
    let day = if sel.today < first { 0 } else { sel.today.min(last).day() };
    let (yes, total) = coverage(sel, &sel.households, &previous_month(&sel.month));
    MonthProgress { day, days, last_month: Rate::new(label, yes, total) }
}

fn previous_or_chosen(sel: &Selection) -> String {
    sel.overdue_month()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_judged_by_the_status_the_household_had_then() {
        use doorstep_core::model::{StatusTransition, TransitionEvent};
        let mut h = doorstep_core::model::samples::household();
        let t =
            |date: &str, event, to| StatusTransition { date: date.into(), event, to_status: to, reason: String::new() };
        h.status_history = vec![
            t("2019-11-20", TransitionEvent::Exited, PovertyStatus::Lifted),
            t("2016-05-01", TransitionEvent::Identified, PovertyStatus::RegisteredPoor),
            t("2026-06-12", TransitionEvent::Relapsed, PovertyStatus::RegisteredPoor),
        ];
        h.poverty_status = PovertyStatus::RegisteredPoor;
        assert_eq!(status_on(&h, "2015-12-31"), PovertyStatus::Ordinary, "before it was identified");
        assert_eq!(status_on(&h, "2018-01-31"), PovertyStatus::RegisteredPoor);
        assert_eq!(status_on(&h, "2026-05-31"), PovertyStatus::Lifted, "after exiting, before relapsing");
        assert_eq!(status_on(&h, "2026-06-30"), PovertyStatus::RegisteredPoor);
        h.status_history.clear();
        assert_eq!(status_on(&h, "2000-01-31"), PovertyStatus::RegisteredPoor, "no history: its status now");
        assert_eq!(month_end("2026-02"), "2026-02-28");
        assert_eq!(month_end("2026-12"), "2026-12-31");
    }

    #[test]
    fn months_and_ages() {
        assert_eq!(previous_month("2026-01"), "2025-12");
        assert_eq!(last_months("2026-02", 3), vec!["2025-12", "2026-01", "2026-02"]);
        let day = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(age_on("1961-11-29", day), Some(65));
        assert_eq!(age_on("1961-11-30", day), Some(64));
    }

    #[test]
    fn rates_format() {
        assert_eq!(Rate::new("x", 1, 3).rate, "33.3%");
        assert_eq!(Rate::new("x", 0, 0).rate, "—");
    }
}
