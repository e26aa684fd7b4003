//! Ledgers (台账): CSV downloads of the current filter, UTF-8 with a byte-order mark so that Excel reads Chinese
//! correctly, national ID numbers masked unless the account may see them.

use super::i18n::Lang;
use super::indicators::{is_current, Selection};
use super::pages::{filter_of, today_of};
use super::{PageError, Viewer};
use crate::storage;
use axum::extract::Path;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use doorstep_core::model::{classify, mask_national_id, Thresholds};
use std::collections::HashMap;

/// The byte-order mark Excel needs to take a CSV file as UTF-8.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `GET /ledger/{households|visits|screenings|problems}.csv`.
pub async fn download(viewer: Viewer, Path(name): Path<String>) -> Result<Response, PageError> {
    let snap = viewer.snapshot()?;
    let filter = filter_of(&viewer);
    let sel = Selection::new(&snap, &viewer.scope, &filter, today_of(&viewer), viewer.lang);
    let mut w = csv::Writer::from_writer(BOM.to_vec());
    let lang = viewer.lang;
    let full = viewer.sees_full_ids();
    let rows = match name.as_str() {
        "households.csv" => households(&sel, lang, full),
        "visits.csv" => {
            let ids: Vec<String> = sel.visits().filter(|v| v.month == sel.month).map(|v| v.id.clone()).collect();
            let refs = storage::run(&viewer.state.storage, move |s| s.blob_refs_of(&ids)).await?;
            let mut links: HashMap<String, Vec<String>> = HashMap::new();
            for (doc_id, r) in refs {
                links.entry(doc_id).or_default().push(format!("/attachment/{}", r.hash));
            }
            visits(&sel, lang, &links)
        }
        "screenings.csv" => screenings(&sel, lang, full),
        "problems.csv" => problems(&sel, lang),
        _ => return Err(PageError::NotFound),
    };
    for row in rows {
        w.write_record(&row).map_err(|e| PageError::Unavailable(e.to_string()))?;
    }
    let bytes = w.into_inner().map_err(|e| PageError::Unavailable(e.to_string()))?;
    let stem = name.trim_end_matches(".csv");
    let place = filter.village.or(filter.township).map(|p| format!("-{}", super::encode(&p))).unwrap_or_default();
    let file = format!("{stem}{place}-{}.csv", sel.month);
    let mut r = bytes.into_response();
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{stem}.csv\"; filename*=UTF-8''{file}")) {
        r.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

fn header(lang: Lang, cols: &[(&str, &str)]) -> Vec<String> {
    cols.iter().map(|(zh, en)| lang.pick(zh, en).to_string()).collect()
}

/// One line per member (the household's own booklet lists people), household columns repeated.
fn households(sel: &Selection, lang: Lang, full_ids: bool) -> Vec<Vec<String>> {
    let code = lang.code();
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
            ("本月走访次数", "Helper visits this month"),
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
                e.helpers.join("、"),
                h.doctor_team.clone(),
                sel.helper_visits(&h.id, &sel.month).to_string(),
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

/// Visits of the chosen month, with links to their attachments (relative to the server's address).
fn visits(sel: &Selection, lang: Lang, attachments: &HashMap<String, Vec<String>>) -> Vec<Vec<String>> {
    let code = lang.code();
    let mut out = vec![header(
        lang,
        &[
            ("日期", "Date"),
            ("户编号", "Number"),
            ("户主", "Head"),
            ("行政村", "Village"),
            ("类型", "Kind"),
            ("走访人", "Visitor"),
            ("发现问题数", "Problems found"),
            ("附件", "Attachments"),
        ],
    )];
    for v in sel.visits().filter(|v| v.month == sel.month) {
        let Some(e) = sel.household(&v.household_id) else { continue };
        let problems = sel.snap.problems.iter().filter(|p| p.visit_id == v.id).count();
        out.push(vec![
            v.date.clone(),
            e.record.number.clone(),
            e.record.head_name.clone(),
            e.placement.village.clone(),
            v.kind.label(code).into(),
            v.visitor.clone(),
            problems.to_string(),
            attachments.get(&v.id).map(|l| l.join(" ")).unwrap_or_default(),
        ]);
    }
    out
}

/// Screenings of the chosen month's year, with the core's classification.
fn screenings(sel: &Selection, lang: Lang, full_ids: bool) -> Vec<Vec<String>> {
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
            ("收缩压", "Systolic"),
            ("舒张压", "Diastolic"),
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
    for s in sel.screenings().filter(|s| s.record.date.starts_with(year)) {
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
            num(r.systolic),
            num(r.diastolic),
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

/// Every problem found (open ones first), whatever month it was found in.
fn problems(sel: &Selection, lang: Lang) -> Vec<Vec<String>> {
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
    let mut rows: Vec<_> = sel.problems().collect();
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
