//! The figures supervisors look at (DOMAIN.md, "What supervisors look at"), computed from a snapshot for the
//! households one account may see under one filter. Plain functions over plain data: the pages render them and the
//! ledgers reuse the same selection.

use super::i18n::Lang;
use super::People;
use crate::reports::{HouseholdEntry, ProblemRow, ScreeningEntry, Snapshot, VisitRow};
use crate::scope::Scope;
use chrono::{Datelike, Duration, NaiveDate};
use doorstep_core::model::{parse_date, Household, Member, MemberEventKind, PovertyStatus, ScheduleRules, VisitKind};
use doorstep_core::schedule::{monthly_required, HELPER_VISIT_KINDS};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

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
pub fn month_end(month: &str) -> String {
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

/// The month a page is about: the one asked for (`YYYY-MM`) when it is a month, else the month of `today`.
pub fn page_month(asked: Option<&str>, today: NaiveDate) -> String {
    asked
        .filter(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").is_ok())
        .map(String::from)
        .unwrap_or_else(|| today.format("%Y-%m").to_string())
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
        let month = page_month(filter.month.as_deref(), today);
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
        self.frame().overdue_month()
    }

    /// The page's month, day and language, for rendering a tally.
    pub fn frame(&self) -> super::tally::Frame<'a> {
        super::tally::Frame { month: self.month.clone(), today: self.today, lang: self.lang, people: self.people }
    }

    pub fn household(&self, id: &str) -> Option<&'a HouseholdEntry> {
        self.snap.households.get(id)
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
    /// The link in the page's language: the household's facts (`tally::Link`) put into words.
    pub fn of(e: &HouseholdEntry, lang: Lang, people: &People) -> Self {
        super::tally::Link::of(e).show(lang, people)
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

/// The overview of a selection: its tally rendered in the page's language.
pub fn overview(sel: &Selection) -> Overview {
    super::tally::render(&super::tally::tally(sel), &sel.frame())
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
