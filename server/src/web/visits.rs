//! What was checked on a visit: the visit page (`/visit/{id}`), the six assurances at a glance on the household
//! page, and the visit records the visit ledger reads.
//!
//! A visit is shown to whoever sees its household: the stored visit document carries its household's placement,
//! and `scope::Scope::sees` decides on it, as for the household page and sync.

use super::attachments::AttachmentLine;
use super::i18n::Lang;
use super::pages::{doc_at, local_time};
use super::{PageError, Viewer};
use crate::storage::{self, ChangeInfo, Storage};
use axum::extract::Path;
use axum::response::Html;
use doorstep_core::model::{
    packed, AssuranceCheck, AssuranceKind, AssuranceStatus, Assurances, DocKind, Household, Visit,
};
use minijinja::context;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Texts of the visit page and the assurance marks, in both languages (the common ones come from `i18n`).
const TEXTS: &[(&str, &str, &str)] = &[
    ("visit", "走访记录", "Visit"),
    ("assurances", "两不愁三保障", "Six assurances"),
    ("assurance", "保障项", "Assurance"),
    ("note", "备注", "Note"),
    ("visit_note", "走访情况", "Visit note"),
    ("income_note", "收入情况", "Income note"),
    ("risk_note", "风险情况", "Risk note"),
    ("measures", "落实帮扶措施", "Measures delivered"),
    ("policy_explained", "政策已宣讲", "Policy explained"),
    ("satisfaction", "群众满意度", "Satisfaction"),
    ("signed", "农户签字确认", "Signed by the household"),
    ("time", "时间", "Time"),
    ("action", "处理措施", "Action"),
    ("resolved_on", "解决日期", "Resolved on"),
    ("recorded_on", "记录设备", "Recorded on device"),
    ("received_first", "服务器首次收到", "First received"),
    ("received_last", "服务器最后收到", "Last received"),
    ("member", "随访成员", "Member visited"),
    ("view", "查看", "View"),
    ("deleted", "此走访记录已删除。", "This visit was deleted."),
];

/// The visit page's own texts in one language.
pub fn texts(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    TEXTS.iter().map(|(k, zh, en)| (*k, lang.pick(zh, en))).collect()
}

/// The six assurances of a visit in the order the rules name them (两不愁 then 三保障).
pub fn assurance_list(a: &Assurances) -> [(AssuranceKind, &AssuranceCheck); 6] {
    [
        (AssuranceKind::Food, &a.food),
        (AssuranceKind::Clothing, &a.clothing),
        (AssuranceKind::Education, &a.education),
        (AssuranceKind::Medical, &a.medical),
        (AssuranceKind::Housing, &a.housing),
        (AssuranceKind::Water, &a.water),
    ]
}

/// One assurance as a small mark: a symbol, a class for its colour and a text alternative for screen readers and
/// for anyone who cannot tell the colours apart ("不愁吃：达标").
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    pub symbol: &'static str,
    pub class: &'static str,
    pub text: String,
}

/// The symbol and class of a state: ✓ met, ✗ a problem, – not applicable, ? not checked.
fn symbol(status: AssuranceStatus) -> (&'static str, &'static str) {
    match status {
        AssuranceStatus::Ok => ("✓", "ok"),
        AssuranceStatus::Problem => ("✗", "problem"),
        AssuranceStatus::NotApplicable => ("–", "na"),
        AssuranceStatus::NotChecked => ("?", "unchecked"),
    }
}

/// The six marks of a visit, for the household page's visit table.
pub fn marks(a: &Assurances, lang: Lang) -> Vec<Mark> {
    let code = lang.code();
    assurance_list(a)
        .iter()
        .map(|(kind, check)| {
            let (symbol, class) = symbol(check.status);
            let sep = lang.pick("：", ": ");
            Mark { symbol, class, text: format!("{}{sep}{}", kind.label(code), check.status.label(code)) }
        })
        .collect()
}

/// Visit records by id, as the server holds them now (`cutoff_ms` None) or as rebuilt from the changes received by
/// that cutoff (a visit not received by then is left out). Deleted visits are left out.
pub fn visits_at(s: &dyn Storage, ids: &[String], cutoff_ms: Option<i64>) -> storage::Result<HashMap<String, Visit>> {
    let mut out = HashMap::new();
    match cutoff_ms {
        None => {
            // The records packed beside the documents first; the documents of the others (saved before visits'
            // records were kept, or packed under another layout).
            let mut read = HashSet::new();
            for chunk in ids.chunks(500) {
                for (id, packed) in s.records(chunk)? {
                    if let Some(v) = packed::unpack::<Visit>(&packed) {
                        read.insert(id.clone());
                        if !v.deleted {
                            out.insert(id, v);
                        }
                    }
                }
            }
            let rest: Vec<String> = ids.iter().filter(|id| !read.contains(*id)).cloned().collect();
            for chunk in rest.chunks(500) {
                for stored in s.docs(chunk)? {
                    let Ok(doc) = stored.document() else { continue };
                    if let Ok(v) = doc.read::<Visit>() {
                        if !v.deleted {
                            out.insert(stored.id.clone(), v);
                        }
                    }
                }
            }
        }
        Some(_) => {
            for id in ids {
                let Some((doc, _)) = doc_at(s, id, cutoff_ms)? else { continue };
                if let Ok(v) = doc.read::<Visit>() {
                    if !v.deleted {
                        out.insert(id.clone(), v);
                    }
                }
            }
        }
    }
    Ok(out)
}

#[derive(Serialize)]
struct AssuranceLine {
    name: String,
    status: String,
    class: &'static str,
    symbol: &'static str,
    note: String,
}

#[derive(Serialize)]
struct ProblemLine {
    description: String,
    assurance: String,
    status: String,
    resolved: String,
    action: String,
}

/// `GET /visit/{id}`: everything recorded on one visit, who recorded it on which device, and when it arrived.
pub async fn visit(viewer: Viewer, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let st = viewer.state.clone();
    let lid = id.clone();
    let stored = storage::run(&st.storage, move |s| s.doc(&lid)).await?.ok_or(PageError::NotFound)?;
    if stored.kind != DocKind::Visit {
        return Err(PageError::NotFound);
    }
    if !viewer.scope.sees(&id, &stored.placement) {
        return Err(PageError::Forbidden);
    }
    let lang = viewer.lang;
    let code = lang.code();
    let cutoff = viewer.as_of.as_ref().map(|a| a.cutoff_ms);
    let lid = id.clone();
    let found = storage::run(&st.storage, move |s| {
        let Some((doc, changes)) = doc_at(s, &lid, cutoff)? else { return Ok(None) };
        let Ok(v) = doc.read::<Visit>() else { return Ok(None) };
        // The household as the server holds it (for its number, head and member names).
        let household = match doc_at(s, &v.household_id, cutoff)? {
            Some((hd, _)) => hd.read::<Household>().ok(),
            None => None,
        };
        let devices: HashMap<String, String> = s.devices()?.into_iter().map(|d| (d.id, d.name)).collect();
        Ok(Some((v, changes, household, devices)))
    })
    .await?;
    let base = viewer.base(texts(lang)["visit"]);
    let Some((v, changes, household, devices)) = found else {
        return viewer.render("visit.html", context! { vt => texts(lang), not_known => true, ..base });
    };
    let assurances: Vec<AssuranceLine> = assurance_list(&v.findings)
        .iter()
        .map(|(kind, check)| {
            let (symbol, class) = symbol(check.status);
            AssuranceLine {
                name: kind.label(code).into(),
                status: check.status.label(code).into(),
                class,
                symbol,
                note: check.note.clone(),
            }
        })
        .collect();
    let mut problems: Vec<ProblemLine> = v
        .problems
        .values()
        .map(|p| ProblemLine {
            description: p.description.clone(),
            assurance: p.assurance.map(|a| a.label(code).to_string()).unwrap_or_default(),
            status: p.status.label(code).into(),
            resolved: p.resolved_date.clone().unwrap_or_default(),
            action: p.action.clone(),
        })
        .collect();
    problems.sort_by(|a, b| (&a.status, &a.description).cmp(&(&b.status, &b.description)));
    let attachments: Vec<AttachmentLine> =
        super::attachments::lines_of(&st, lang, vec![id.clone()], vec![]).await?.remove(&id).unwrap_or_default();
    let device_of = |c: &ChangeInfo| devices.get(&c.device_id).cloned().unwrap_or_else(|| c.device_id.clone());
    let mut recorded_on: Vec<String> = Vec::new();
    for c in &changes {
        let name = device_of(c);
        if !recorded_on.contains(&name) {
            recorded_on.push(name);
        }
    }
    let member = v
        .member_id
        .as_ref()
        .map(|m| household.as_ref().and_then(|h| h.members.get(m)).map(|m| m.name.clone()).unwrap_or(m.clone()));
    let title = format!(
        "{} {} {}",
        texts(lang)["visit"],
        v.date,
        household.as_ref().map(|h| h.head_name.as_str()).unwrap_or("")
    );
    viewer.render(
        "visit.html",
        context! {
            vt => texts(lang),
            v => context! {
                id => id,
                date => v.date,
                time => v.time,
                kind => v.kind.label(code),
                visitor => viewer.people.shown(&v.visitor),
                visitor_role => v.visitor_role.label(code),
                member => member,
                household_id => v.household_id,
                household_number => household.as_ref().map(|h| h.number.clone()),
                household_head => household.as_ref().map(|h| h.head_name.clone()),
                village => stored.placement.village.clone(),
                income_note => v.income_note,
                risk_note => v.risk_note,
                measures => v.measures_delivered,
                policy_explained => v.policy_explained,
                satisfaction => v.satisfaction.map(|s| s.label(code)),
                note => v.note,
                signed => v.signed_by_household,
                deleted => v.deleted,
                recorded_on => recorded_on.join(lang.pick("、", ", ")),
                received_first => changes.first().map(|c| local_time(c.received_ms)),
                received_last => changes.last().filter(|_| changes.len() > 1).map(|c| local_time(c.received_ms)),
            },
            assurances => assurances,
            problems => problems,
            attachments => attachments,
            ..viewer.base(&title)
        },
    )
}
