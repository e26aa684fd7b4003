//! Ledgers (台账): CSV downloads of the current filter, UTF-8 with a byte-order mark so that Excel reads Chinese
//! correctly, national ID numbers masked unless the account may see them.
//!
//! Every cell goes through `neutralise` (OWASP's CSV-injection rule): a spreadsheet must never run what a device
//! typed as a formula. Every ledger takes an optional date range (`from`, `to`, inclusive, `YYYY-MM-DD`).

use super::i18n::Lang;
use super::indicators::{is_current, is_helper_visit, Selection};
use super::pages::{filter_of, today_of};
use super::visits::{assurance_list, visits_at};
use super::{PageError, Viewer};
use crate::message::Message;
use crate::reports::VisitRow;
use crate::storage;
use axum::extract::Path;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use doorstep_core::model::{classify, mask_national_id, Role, Thresholds, Visit};
use std::borrow::Cow;
use std::collections::HashMap;

/// The byte-order mark Excel needs to take a CSV file as UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `GET /ledger/{households|visits|screenings|problems}.csv[?from=YYYY-MM-DD&to=YYYY-MM-DD]`.
pub async fn download(viewer: Viewer, Path(name): Path<String>) -> Result<Response, PageError> {
    if name == "review.csv" {
        return review(&viewer);
    }
    if !["households.csv", "visits.csv", "screenings.csv", "problems.csv"].contains(&name.as_str()) {
        return Err(PageError::NotFound);
    }
    let range = Range::of(&viewer.query)?;
    let filter = filter_of(&viewer);
    let snap = viewer.snapshot_in(filter.township.as_deref(), filter.village.as_deref())?;
    let sel = Selection::new(&snap, &viewer.scope, &filter, today_of(&viewer), viewer.lang, &viewer.people);
    let lang = viewer.lang;
    let full = viewer.sees_full_ids();
    let rows = match name.as_str() {
        "households.csv" => households(&sel, lang, full, &range),
        "visits.csv" => {
            let ids: Vec<String> =
                sel.visits().filter(|v| range.holds_visit(v, &sel.month)).map(|v| v.id.clone()).collect();
            let cutoff = viewer.as_of.as_ref().map(|a| a.cutoff_ms);
            let (records, refs) =
                storage::run(&viewer.state.storage, move |s| Ok((visits_at(s, &ids, cutoff)?, s.blob_refs_of(&ids)?)))
                    .await?;
            let mut links: HashMap<String, Vec<String>> = HashMap::new();
            for (doc_id, r) in refs {
                links.entry(doc_id).or_default().push(format!("/attachment/{}", r.hash));
            }
            visits(&sel, lang, &range, &records, &links)
        }
        "screenings.csv" => screenings(&sel, lang, full, &range),
        _ => problems(&sel, lang, &range),
    };
    let stem = name.trim_end_matches(".csv");
    let place = filter.village.or(filter.township).map(|p| format!("-{}", super::encode(&p))).unwrap_or_default();
    let period = match (&range.from, &range.to) {
        (None, None) => sel.month.clone(),
        (f, t) => format!("{}_{}", f.as_deref().unwrap_or(""), t.as_deref().unwrap_or("")),
    };
    csv_file(rows, stem, &format!("{stem}{place}-{period}.csv"))
}

/// `GET /ledger/review.csv?period=YYYY-04|YYYY-10[&village=V]`: the dynamic review's ledger (动态调整台账), one
/// line per household with its state and any status change in the period, then each village's and the total count.
fn review(viewer: &Viewer) -> Result<Response, PageError> {
    if !matches!(viewer.user.role, Role::Admin | Role::Supervisor) {
        return Err(PageError::Forbidden);
    }
    let review = super::admin::review_of(viewer)?;
    let lang = viewer.lang;
    let mut rows = vec![header(
        lang,
        &[
            ("户号", "Number"),
            ("户主", "Head"),
            ("行政村", "Village"),
            ("帮扶责任人", "Helpers"),
            ("户类型", "Status"),
            ("核查状态", "Review"),
            ("核查日期", "Review date"),
            ("期间状态变化", "Status changed in period"),
        ],
    )];
    for l in &review.lines {
        let h = &l.household;
        rows.push(vec![
            h.number.clone(),
            h.head.clone(),
            h.village.clone(),
            h.helpers.clone(),
            h.status.clone(),
            l.state.clone(),
            l.visit_date.clone(),
            l.status_change.clone(),
        ]);
    }
    rows.push(vec![]);
    rows.push(header(
        lang,
        &[("行政村", "Village"), ("已核查", "Reviewed"), ("户数", "Households"), ("核查率", "Rate")],
    ));
    for r in review.by_village.iter().chain([&review.total]) {
        rows.push(vec![r.label.clone(), r.yes.to_string(), r.total.to_string(), r.rate.clone()]);
    }
    let place = viewer.query.get("village").filter(|v| !v.is_empty()).map(|v| format!("-{}", super::encode(v)));
    csv_file(rows, "review", &format!("review{}-{}.csv", place.unwrap_or_default(), review.period))
}

/// A ledger as a CSV download: UTF-8 with a byte-order mark (Excel and WPS open it as such), every cell neutralised.
fn csv_file(rows: Vec<Vec<String>>, stem: &str, file: &str) -> Result<Response, PageError> {
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(BOM.to_vec());
    for row in rows {
        w.write_record(row.iter().map(|c| neutralise(c).into_owned()))
            .map_err(|e| PageError::Unavailable(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| PageError::Unavailable(e.to_string()))?;
    let mut r = bytes.into_response();
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{stem}.csv\"; filename*=UTF-8''{file}")) {
        r.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// OWASP's rule against CSV injection: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is
/// prefixed with `'`, so Excel and WPS show it as text instead of running it. No ledger has a negative number (dates,
/// counts, readings and BMI are never below zero), so no cell is spared; the `csv` writer quotes the rest.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// The dates a ledger covers: `from` and `to` (inclusive, either may be left out). Without either, each ledger keeps
/// its own period: the filter's month for visits and for the households' visit counts, that month's year for
/// screenings, every problem.
#[derive(Debug, Default)]
pub struct Range {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The words for a range's ends on a Chinese page.
fn lang_label(key: &str) -> &'static str {
    if key == "from" {
        "开始日期"
    } else {
        "结束日期"
    }
}

impl Range {
    /// Reads and checks `from` and `to`; a wrong one is a 400 naming it.
    pub fn of(query: &HashMap<String, String>) -> Result<Self, PageError> {
        let day = |key: &str| -> Result<Option<String>, PageError> {
            let Some(v) = query.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) else { return Ok(None) };
            match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                Ok(d) => Ok(Some(d.format("%Y-%m-%d").to_string())),
                Err(_) => Err(PageError::BadRequest(Message::new(
                    format!("{key}: {v:?} is not a date YYYY-MM-DD"),
                    format!("{}：{v:?} 不是日期（应为 YYYY-MM-DD）", lang_label(key)),
                ))),
            }
        };
        let range = Range { from: day("from")?, to: day("to")? };
        if let (Some(f), Some(t)) = (&range.from, &range.to) {
            if f > t {
                return Err(PageError::BadRequest(Message::new(
                    format!("from: {f} is after to {t}"),
                    format!("开始日期 {f} 晚于结束日期 {t}"),
                )));
            }
        }
        Ok(range)
    }

    fn given(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }

    /// Whether an ISO date lies in the range.
    pub fn holds(&self, date: &str) -> bool {
        self.from.as_deref().is_none_or(|f| date >= f) && self.to.as_deref().is_none_or(|t| date <= t)
    }

    fn holds_visit(&self, v: &VisitRow, month: &str) -> bool {
        if self.given() {
            self.holds(&v.date)
        } else {
            v.month == month
        }
    }
}

fn header(lang: Lang, cols: &[(&str, &str)]) -> Vec<String> {
    cols.iter().map(|(zh, en)| lang.pick(zh, en).to_string()).collect()
}

/// One line per member (the household's own booklet lists people), household columns repeated.
fn households(sel: &Selection, lang: Lang, full_ids: bool, range: &Range) -> Vec<Vec<String>> {
    let code = lang.code();
    // Helper visits in the range, when one is given (else the filter's month, as the pages count them).
    let mut in_range: HashMap<&str, u32> = HashMap::new();
    if range.given() {
        for v in sel.visits().filter(|v| is_helper_visit(v.kind) && range.holds(&v.date)) {
            *in_range.entry(&v.household_id).or_default() += 1;
        }
    }
    let mut out = vec![header(
        lang,
        &[
            ("户编号", "Number"),
            ("乡镇", "Township"),
            ("行政村", "Village"),
            ("自然村", "Hamlet"),
            ("户主", "Head"),
            ("贫困状态", "Poverty status"),
            ("预警等级", "Alert level"),
            ("风险因素", "Risk causes"),
            ("帮扶责任人", "Helpers"),
            ("家医团队", "Doctor team"),
            if range.given() {
                ("期间走访次数", "Helper visits in the period")
            } else {
                ("本月走访次数", "Helper visits this month")
            },
            ("姓名", "Name"),
            ("性别", "Sex"),
            ("出生日期", "Born"),
            ("与户主关系", "Relation"),
            ("身份证号", "National ID"),
            ("参加医保", "Insured"),
            ("疾病", "Conditions"),
            ("家庭医生签约", "Doctor contract"),
            ("残疾", "Disability"),
        ],
    )];
    let mut hs = sel.households.clone();
    hs.sort_by(|a, b| a.record.number.cmp(&b.record.number));
    for e in hs {
        let h = &e.record;
        let mut members: Vec<_> = h.members.values().filter(|m| is_current(m)).collect();
        members.sort_by(|a, b| (a.relation, &a.birth_date).cmp(&(b.relation, &b.birth_date)));
        for m in members {
            out.push(vec![
                h.number.clone(),
                e.placement.township.clone(),
                e.placement.village.clone(),
                h.hamlet.clone(),
                h.head_name.clone(),
                h.poverty_status.label(code).into(),
                h.alert_level.map(|a| a.label(code).to_string()).unwrap_or_default(),
                h.risk_causes.iter().map(|r| r.label(code)).collect::<Vec<_>>().join("、"),
                sel.people.list(&e.helpers, "、"),
                h.doctor_team.clone(),
                if range.given() {
                    in_range.get(h.id.as_str()).copied().unwrap_or(0).to_string()
                } else {
                    sel.helper_visits(&h.id, &sel.month).to_string()
                },
                m.name.clone(),
                m.sex.label(code).into(),
                m.birth_date.clone(),
                m.relation.label(code).into(),
                if full_ids { m.national_id.clone() } else { mask_national_id(&m.national_id) },
                lang.pick(if m.insured { "是" } else { "否" }, if m.insured { "yes" } else { "no" }).into(),
                m.conditions.iter().map(|c| c.label(code)).collect::<Vec<_>>().join("、"),
                m.contract.as_ref().map(|c| format!("{} {}", c.team, c.signed_date)).unwrap_or_default(),
                m.disability.as_ref().map(|d| format!("{} {}", d.kind.label(code), d.grade)).unwrap_or_default(),
            ]);
        }
    }
    out
}

/// Visits of the range (or the chosen month): what was checked (each assurance and its note), the problems found
/// with their status, measures delivered, satisfaction, the note, and links to their attachments (relative to the
/// server's address).
fn visits(
    sel: &Selection,
    lang: Lang,
    range: &Range,
    records: &HashMap<String, Visit>,
    attachments: &HashMap<String, Vec<String>>,
) -> Vec<Vec<String>> {
    let code = lang.code();
    let mut head = header(
        lang,
        &[
            ("日期", "Date"),
            ("户编号", "Number"),
            ("户主", "Head"),
            ("行政村", "Village"),
            ("类型", "Kind"),
            ("走访人", "Visitor"),
        ],
    );
    for (kind, _) in assurance_list(&Default::default()) {
        head.push(kind.label(code).to_string());
        head.push(format!("{}{}", kind.label(code), lang.pick("备注", " note")));
    }
    head.extend(header(
        lang,
        &[
            ("发现问题数", "Problems found"),
            ("问题及状态", "Problems and status"),
            ("落实帮扶措施", "Measures delivered"),
            ("政策宣讲", "Policy explained"),
            ("群众满意度", "Satisfaction"),
            ("走访情况", "Note"),
            ("附件", "Attachments"),
        ],
    ));
    let mut out = vec![head];
    let sep = lang.pick("；", "; ");
    for v in sel.visits().filter(|v| range.holds_visit(v, &sel.month)) {
        let Some(e) = sel.household(&v.household_id) else { continue };
        let record = records.get(&v.id);
        let mut problems: Vec<String> = sel
            .snap
            .problems
            .iter()
            .filter(|p| p.visit_id == v.id)
            .map(|p| format!("{}［{}］", p.description, p.status.label(code)))
            .collect();
        problems.sort();
        let mut row = vec![
            v.date.clone(),
            e.record.number.clone(),
            e.record.head_name.clone(),
            e.placement.village.clone(),
            v.kind.label(code).into(),
            sel.people.shown(&v.visitor),
        ];
        let findings = record.map(|r| r.findings.clone()).unwrap_or_default();
        for (_, check) in assurance_list(&findings) {
            row.push(if record.is_some() { check.status.label(code).to_string() } else { String::new() });
            row.push(check.note.clone());
        }
        row.extend([
            problems.len().to_string(),
            problems.join(sep),
            record.map(|r| r.measures_delivered.join(sep)).unwrap_or_default(),
            record.map(|r| yes_no(lang, r.policy_explained)).unwrap_or_default(),
            record.and_then(|r| r.satisfaction).map(|s| s.label(code).to_string()).unwrap_or_default(),
            record.map(|r| r.note.clone()).unwrap_or_default(),
            attachments.get(&v.id).map(|l| l.join(" ")).unwrap_or_default(),
        ]);
        out.push(row);
    }
    out
}

fn yes_no(lang: Lang, b: bool) -> String {
    lang.pick(if b { "是" } else { "否" }, if b { "yes" } else { "no" }).to_string()
}

/// Screenings of the range (or the chosen month's year), with the core's classification; blood pressure in one cell
/// as it is written on paper (`119/72`).
fn screenings(sel: &Selection, lang: Lang, full_ids: bool, range: &Range) -> Vec<Vec<String>> {
    let code = lang.code();
    let t = Thresholds::default();
    let year = &sel.month[..4];
    let mut out = vec![header(
        lang,
        &[
            ("日期", "Date"),
            ("户编号", "Number"),
            ("行政村", "Village"),
            ("姓名", "Name"),
            ("身份证号", "National ID"),
            ("血压 (mmHg)", "Blood pressure (mmHg)"),
            ("血压分级", "BP grade"),
            ("血糖", "Glucose"),
            ("血糖分级", "Glucose band"),
            ("体重指数", "BMI"),
            ("转诊", "Referral"),
            ("异常", "Abnormal"),
            ("筛查活动", "Campaign"),
        ],
    )];
    let num = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_default();
    let held = |date: &str| if range.given() { range.holds(date) } else { date.starts_with(year) };
    for s in sel.screenings().filter(|s| held(&s.record.date)) {
        let Some(e) = sel.household(&s.record.household_id) else { continue };
        let r = &s.record;
        let c = classify(r, &t);
        let member = e.record.members.get(&r.member_id);
        let id = member.map(|m| m.national_id.as_str()).unwrap_or_default();
        out.push(vec![
            r.date.clone(),
            e.record.number.clone(),
            e.placement.village.clone(),
            member.map(|m| m.name.clone()).unwrap_or_default(),
            if full_ids { id.to_string() } else { mask_national_id(id) },
            match (r.systolic, r.diastolic) {
                (Some(a), Some(b)) => format!("{a:.0}/{b:.0}"),
                (Some(a), None) => format!("{a:.0}/"),
                (None, Some(b)) => format!("/{b:.0}"),
                (None, None) => String::new(),
            },
            c.bp_grade.map(|g| g.label(code).to_string()).unwrap_or_default(),
            num(r.glucose),
            c.glucose_band.map(|g| g.label(code).to_string()).unwrap_or_default(),
            c.bmi.map(|b| format!("{b:.1}")).unwrap_or_default(),
            s.referral.label(code).into(),
            lang.pick(if c.abnormal { "是" } else { "否" }, if c.abnormal { "yes" } else { "no" }).into(),
            r.campaign.clone().unwrap_or_default(),
        ]);
    }
    out
}

/// Every problem found in the range (or whenever it was found), open ones first.
fn problems(sel: &Selection, lang: Lang, range: &Range) -> Vec<Vec<String>> {
    let code = lang.code();
    let mut out = vec![header(
        lang,
        &[
            ("发现日期", "Found on"),
            ("户编号", "Number"),
            ("户主", "Head"),
            ("行政村", "Village"),
            ("问题", "Problem"),
            ("状态", "Status"),
        ],
    )];
    let mut rows: Vec<_> = sel.problems().filter(|p| range.holds(&p.date)).collect();
    rows.sort_by(|a, b| {
        (a.status == doorstep_core::model::ProblemStatus::Resolved, &b.date)
            .cmp(&(b.status == doorstep_core::model::ProblemStatus::Resolved, &a.date))
    });
    for p in rows {
        let Some(e) = sel.household(&p.household_id) else { continue };
        out.push(vec![
            p.date.clone(),
            e.record.number.clone(),
            e.record.head_name.clone(),
            e.placement.village.clone(),
            p.description.clone(),
            p.status.label(code).into(),
        ]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_leading_cells_are_prefixed_and_others_kept() {
        for p in ["=", "+", "-", "@", "\t", "\r"] {
            let cell = format!("{p}1+1");
            assert_eq!(neutralise(&cell), format!("'{cell}"));
        }
        for cell in ["", "2026-11-01", "119/72", "张三", " =1", "'=1", "/attachment/ab"] {
            assert_eq!(neutralise(cell), cell);
        }
    }

    #[test]
    fn a_range_names_the_wrong_parameter() {
        let q = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let r = Range::of(&q(&[("from", "2026-01-01"), ("to", "2026-01-31")])).unwrap();
        assert!(r.holds("2026-01-01") && r.holds("2026-01-31") && !r.holds("2026-02-01") && !r.holds("2025-12-31"));
        assert!(
            matches!(Range::of(&q(&[("from", "2026-02-30")])), Err(PageError::BadRequest(m)) if m.en.starts_with("from:"))
        );
        assert!(
            matches!(Range::of(&q(&[("to", "x")])), Err(PageError::BadRequest(m)) if m.en.starts_with("to:") && m.zh.starts_with("结束日期"))
        );
        assert!(
            matches!(Range::of(&q(&[("from", "2026-02-01"), ("to", "2026-01-01")])), Err(PageError::BadRequest(m)) if m.en.starts_with("from:"))
        );
        assert!(!Range::of(&q(&[("from", "")])).unwrap().given());
    }
}
