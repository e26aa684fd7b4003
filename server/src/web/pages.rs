//! Sign-in and the reading pages: overview, village, helper and household.

use super::attachments::AttachmentLine;
use super::i18n::Lang;
use super::indicators::{self, is_current, Filter, HouseholdLink, Selection};
use super::session::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use super::tally;
use super::{form_map, lang_of, query_map, query_string, redirect, PageError, People, Viewer, Web};
use crate::http::{self, AppState, ClientAddr};
use crate::storage::ReportScope;
use crate::storage::{self, ChangeInfo};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use chrono::{NaiveDate, TimeZone};
use doorstep_core::doc::Document;
use doorstep_core::model::{classify, mask_national_id, Household, ProblemStatus, Thresholds};
use minijinja::context;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

fn login_page(web: &Web, lang: Lang, csrf: &str, error: Option<&str>) -> Result<Html<String>, PageError> {
    let mut q = HashMap::new();
    q.insert("lang".to_string(), lang.other().code().to_string());
    web.render(
        "login.html",
        context! {
            t => lang.texts(),
            lang => lang.code(),
            lang_switch_href => format!("/login?{}", query_string(&q)),
            title => lang.texts()["login"],
            csrf => csrf,
            error => error,
        },
    )
}

fn with_login_cookie(page: Html<String>, csrf: &str, headers: &HeaderMap) -> Response {
    let mut r = page.into_response();
    let cookie = session::set_cookie(LOGIN_CSRF_COOKIE, csrf, None, session::is_https(headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// `GET /login`: the form, with a fresh CSRF token in a cookie and a hidden field.
pub async fn login_form(Extension(web): Extension<Arc<Web>>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = lang_of(&headers, &query_map(uri.query()));
    let csrf = session::random_hex();
    match login_page(&web, lang, &csrf, None) {
        Ok(page) => with_login_cookie(page, &csrf, &headers),
        Err(e) => e.into_response(),
    }
}

/// `POST /login`: the same accounts and password check as the sync API, then a session cookie.
pub async fn login(
    State(st): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = form_map(&body);
    let lang = lang_of(&headers, &query_map(uri.query()));
    let cookie = session::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let field = form.get("csrf").cloned().unwrap_or_default();
    if cookie.is_empty() || !session::same_secret(&cookie, &field) {
        return Err(PageError::Forbidden);
    }
    let user = form.get("user").map(|u| u.trim().to_string()).unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let fail = |message: &str, status: StatusCode| -> Result<Response, PageError> {
        let csrf = session::random_hex();
        let page = login_page(&web, lang, &csrf, Some(message))?;
        let mut r = with_login_cookie(page, &csrf, &headers);
        *r.status_mut() = status;
        Ok(r)
    };
    let failed = lang.texts()["login_failed"];
    if user.is_empty() || user.len() > 64 || password.len() > 1024 {
        return fail(failed, StatusCode::UNAUTHORIZED);
    }
    // Slowed down like the sync API: 429 with Retry-After, and the page says how long to wait.
    if let Some(wait) = st.limiter.check(&user, &addr).await {
        let seconds = wait.as_secs().max(1);
        let message = match lang {
            Lang::Zh => format!("尝试次数过多，请 {seconds} 秒后再试。"),
            Lang::En => format!("Too many attempts; try again in {seconds} seconds."),
        };
        let mut r = fail(&message, StatusCode::TOO_MANY_REQUESTS)?;
        if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let found = http::check_password(&st, &user, &password).await?;
    let Some(account) = found.filter(|u| !u.disabled) else {
        st.limiter.record_failure(&user, &addr).await;
        return fail(failed, StatusCode::UNAUTHORIZED);
    };
    st.limiter.record_success(&account.name).await;
    let token = session::start(&st.storage, &account.name, st.config.session_max_age).await?;
    let mut r = redirect(if account.must_change_password { "/password" } else { "/overview" });
    let secure = session::is_https(&headers);
    for c in [
        session::set_cookie(SESSION_COOKIE, &token, Some(st.config.session_max_age), secure),
        session::set_cookie(LOGIN_CSRF_COOKIE, "", Some(std::time::Duration::ZERO), secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(SET_COOKIE, v);
        }
    }
    Ok(r)
}

/// `POST /logout`: ends the session.
pub async fn logout(viewer: Viewer, headers: HeaderMap, body: Bytes) -> Result<Response, PageError> {
    viewer.check_csrf(&form_map(&body))?;
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE) {
        session::end(&viewer.state.storage, &token).await?;
    }
    let mut r = redirect("/login");
    let c = session::set_cookie(SESSION_COOKIE, "", Some(std::time::Duration::ZERO), session::is_https(&headers));
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    Ok(r)
}

/// The filter of a page from its query.
pub fn filter_of(viewer: &Viewer) -> Filter {
    let get = |k: &str| viewer.query.get(k).filter(|v| !v.is_empty()).cloned();
    Filter { township: get("township"), village: get("village"), helper: None, month: get("month") }
}

pub fn today_of(viewer: &Viewer) -> NaiveDate {
    NaiveDate::parse_from_str(&viewer.today(), "%Y-%m-%d").unwrap_or_default()
}

/// Townships and villages the account may see, for the filter's choices.
fn place_names(places: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let townships: BTreeSet<&String> = places.iter().map(|(t, _)| t).collect();
    let villages: BTreeSet<&String> = places.iter().map(|(_, v)| v).collect();
    (townships.into_iter().cloned().collect(), villages.into_iter().cloned().collect())
}

/// The current filter as a query string (for ledger links and language switches).
fn filter_query(viewer: &Viewer, extra: &[(&str, &str)]) -> String {
    let mut q: HashMap<String, String> = HashMap::new();
    for k in ["township", "village", "month", "asof"] {
        if let Some(v) = viewer.query.get(k) {
            q.insert(k.into(), v.clone());
        }
    }
    for (k, v) in extra {
        q.insert(k.to_string(), v.to_string());
    }
    query_string(&q)
}

/// `GET /overview`: the account's area, filterable by township, village and month.
pub async fn overview(viewer: Viewer) -> Result<Html<String>, PageError> {
    let filter = filter_of(&viewer);
    let places = viewer.places()?;
    let today = today_of(&viewer);
    let month = indicators::page_month(filter.month.as_deref(), today);
    // Each village's kept figures merged; the whole area counted at once only when some household has no place.
    let ov = match viewer.area_tally(&places, &filter, &month)? {
        Some(t) => {
            tally::render(&t, &tally::Frame { month: month.clone(), today, lang: viewer.lang, people: &viewer.people })
        }
        None => {
            let snap = viewer.snapshot()?;
            let sel = Selection::new(&snap, &viewer.scope, &filter, today, viewer.lang, &viewer.people);
            indicators::overview(&sel)
        }
    };
    let (townships, villages) = place_names(&places);
    let title = viewer.lang.texts()["overview"];
    viewer.render(
        "overview.html",
        context! {
            ov => ov,
            townships => townships,
            villages => villages,
            f_township => filter.township.unwrap_or_default(),
            f_village => filter.village.unwrap_or_default(),
            f_month => month,
            ledger_query => filter_query(&viewer, &[]),
            ..viewer.base(title)
        },
    )
}

#[derive(Serialize)]
struct HouseholdLine {
    link: HouseholdLink,
    members: usize,
    visits_month: u32,
    last_visit: String,
    open_problems: usize,
}

fn household_lines(sel: &Selection) -> Vec<HouseholdLine> {
    let mut last: HashMap<&str, &str> = HashMap::new();
    for v in sel.visits() {
        last.insert(&v.household_id, &v.date);
    }
    let mut open: HashMap<&str, usize> = HashMap::new();
    for p in sel.problems().filter(|p| p.status != ProblemStatus::Resolved) {
        *open.entry(&p.household_id).or_default() += 1;
    }
    let mut lines: Vec<HouseholdLine> = sel
        .households
        .iter()
        .map(|e| HouseholdLine {
            link: HouseholdLink::of(e, sel.lang, sel.people),
            members: e.record.members.values().filter(|m| is_current(m)).count(),
            visits_month: sel.helper_visits(&e.record.id, &sel.month),
            last_visit: last.get(e.record.id.as_str()).map(|d| d.to_string()).unwrap_or_default(),
            open_problems: open.get(e.record.id.as_str()).copied().unwrap_or(0),
        })
        .collect();
    lines.sort_by(|a, b| a.link.number.cmp(&b.link.number));
    lines
}

/// `GET /village/{name}`: the village's figures and every household in it.
pub async fn village(viewer: Viewer, Path(name): Path<String>) -> Result<Html<String>, PageError> {
    let snap = viewer.snapshot_in(None, Some(&name))?;
    let mut filter = filter_of(&viewer);
    filter.township = None;
    filter.village = Some(name.clone());
    let sel = Selection::new(&snap, &viewer.scope, &filter, today_of(&viewer), viewer.lang, &viewer.people);
    if sel.households.is_empty() && !snap.households.values().any(|e| e.placement.village == name) {
        return Err(PageError::NotFound);
    }
    let ov = indicators::overview(&sel);
    let lines = household_lines(&sel);
    viewer.render(
        "village.html",
        context! {
            name => name,
            ov => ov,
            lines => lines,
            f_month => sel.month.clone(),
            ledger_query => filter_query(&viewer, &[("village", &name)]),
            ..viewer.base(&name)
        },
    )
}

#[derive(Serialize)]
struct VisitLine {
    date: String,
    kind: String,
    visitor: String,
    household: HouseholdLink,
}

/// `GET /helper/{name}`: a helper's households, this month's visits and the overdue ones.
pub async fn helper(viewer: Viewer, Path(name): Path<String>) -> Result<Html<String>, PageError> {
    let snap = viewer.snapshot_of(ReportScope { helper: Some(name.clone()), ..Default::default() })?;
    let mut filter = filter_of(&viewer);
    filter.helper = Some(name.clone());
    let sel = Selection::new(&snap, &viewer.scope, &filter, today_of(&viewer), viewer.lang, &viewer.people);
    let ov = indicators::overview(&sel);
    let lines = household_lines(&sel);
    let visits: Vec<VisitLine> = sel
        .visits()
        .filter(|v| v.month == sel.month && v.visitor == name)
        .filter_map(|v| {
            Some(VisitLine {
                date: v.date.clone(),
                kind: v.kind.label(viewer.lang.code()).to_string(),
                visitor: viewer.people.shown(&v.visitor),
                household: HouseholdLink::of(sel.household(&v.household_id)?, viewer.lang, &viewer.people),
            })
        })
        .collect();
    let shown = viewer.people.shown(&name);
    viewer.render(
        "helper.html",
        context! {
            name => shown,
            ov => ov,
            lines => lines,
            visits => visits,
            f_month => sel.month.clone(),
            ..viewer.base(&shown)
        },
    )
}

/// Milliseconds as local date and time.
pub fn local_time(ms: i64) -> String {
    chrono::Local.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

/// A household document as the server knew it: now, or rebuilt from the changes received by the cutoff.
pub async fn document_as_of(
    st: &AppState,
    id: &str,
    cutoff_ms: Option<i64>,
) -> Result<Option<(Document, Vec<ChangeInfo>)>, PageError> {
    let id = id.to_string();
    Ok(storage::run(&st.storage, move |s| doc_at(s, &id, cutoff_ms)).await?)
}

/// A stored document and its changes' metadata: as the server holds it now (`cutoff_ms` None), or rebuilt from the
/// changes received by the cutoff. None when it is unknown, or was not received by then.
pub fn doc_at(
    s: &dyn storage::Storage,
    id: &str,
    cutoff_ms: Option<i64>,
) -> storage::Result<Option<(Document, Vec<ChangeInfo>)>> {
    let Some(stored) = s.doc(id)? else { return Ok(None) };
    let changes = s.doc_changes(id)?;
    let doc = match cutoff_ms {
        None => Some(stored.document()?),
        Some(cut) => {
            let seqs: Vec<u64> = changes.iter().filter(|c| c.received_ms <= cut).map(|c| c.seq).collect();
            if seqs.is_empty() {
                None
            } else {
                let bytes: Vec<Vec<u8>> = s.change_bytes(&seqs)?.into_iter().map(|(_, b)| b).collect();
                let mut doc = Document::empty(&automerge::ActorId::random());
                doc.apply(&bytes)?;
                Some(doc)
            }
        }
    };
    Ok(doc.map(|d| {
        let changes = match cutoff_ms {
            Some(cut) => changes.into_iter().filter(|c| c.received_ms <= cut).collect(),
            None => changes,
        };
        (d, changes)
    }))
}

#[derive(Serialize)]
struct MemberLine {
    name: String,
    sex: String,
    birth: String,
    relation: String,
    national_id: String,
    insured: bool,
    conditions: String,
    contract: String,
    disability: String,
    current: bool,
}

#[derive(Serialize)]
struct HistoryLine {
    field: String,
    value: String,
    who: String,
    device: String,
    device_time: String,
    received: String,
}

#[derive(Serialize)]
struct ConflictLine {
    field: String,
    values: Vec<HistoryLine>,
}

#[derive(Serialize)]
struct ScreeningLine {
    date: String,
    member: String,
    bp: String,
    bp_grade: String,
    glucose: String,
    glucose_band: String,
    bmi: String,
    referral: String,
    abnormal: bool,
    attachments: Vec<AttachmentLine>,
}

#[derive(Serialize)]
struct VisitDetail {
    id: String,
    date: String,
    kind: String,
    visitor: String,
    problems: Vec<String>,
    attachments: Vec<AttachmentLine>,
    marks: Vec<super::visits::Mark>,
}

/// `GET /household/{id}`: everything about one household, with each field's history and open conflicts.
pub async fn household(viewer: Viewer, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let st = viewer.state.clone();
    let lid = id.clone();
    let stored = storage::run(&st.storage, move |s| s.doc(&lid)).await?.ok_or(PageError::NotFound)?;
    if stored.kind != doorstep_core::model::DocKind::Household {
        return Err(PageError::NotFound);
    }
    if !viewer.scope.sees(&id, &stored.placement) {
        return Err(PageError::Forbidden);
    }
    let lang = viewer.lang;
    let code = lang.code();
    let title = lang.texts()["household"];
    let Some((mut doc, changes)) = document_as_of(&st, &id, viewer.as_of.as_ref().map(|a| a.cutoff_ms)).await? else {
        return viewer.render("household.html", context! { not_known => true, ..viewer.base(title) });
    };
    let h: Household = doc.read()?;
    let full_ids = viewer.sees_full_ids();
    let mut members: Vec<&doorstep_core::model::Member> = h.members.values().collect();
    members.sort_by(|a, b| (a.relation, &a.birth_date).cmp(&(b.relation, &b.birth_date)));
    let member_lines: Vec<MemberLine> = members
        .iter()
        .map(|m| MemberLine {
            name: m.name.clone(),
            sex: m.sex.label(code).into(),
            birth: m.birth_date.clone(),
            relation: m.relation.label(code).into(),
            national_id: if full_ids { m.national_id.clone() } else { mask_national_id(&m.national_id) },
            insured: m.insured,
            conditions: m.conditions.iter().map(|c| c.label(code)).collect::<Vec<_>>().join(", "),
            contract: m.contract.as_ref().map(|c| format!("{} {}", c.team, c.signed_date)).unwrap_or_default(),
            disability: m
                .disability
                .as_ref()
                .map(|d| format!("{} {}", d.kind.label(code), d.grade))
                .unwrap_or_default(),
            current: is_current(m),
        })
        .collect();
    let mut timeline: Vec<(String, String, String, String)> = h
        .status_history
        .iter()
        .map(|t| (t.date.clone(), t.event.label(code).into(), t.to_status.label(code).into(), t.reason.clone()))
        .collect();
    timeline.sort();

    // Visits, screenings and problems as the snapshot of the same day has them (of this household alone).
    let snap = viewer.snapshot_of(ReportScope { household: Some(id.clone()), ..Default::default() })?;
    let mut problems_by_visit: HashMap<&str, Vec<String>> = HashMap::new();
    let mut open_problems = Vec::new();
    for p in snap.problems.iter().filter(|p| p.household_id == id) {
        let line = format!("{} [{}]", p.description, p.status.label(code));
        problems_by_visit.entry(&p.visit_id).or_default().push(line);
        if p.status != ProblemStatus::Resolved {
            open_problems.push((p.date.clone(), p.description.clone(), p.status.label(code).to_string()));
        }
    }
    // Photos and signatures: read from the visits' documents and the screenings' records.
    let visit_ids: Vec<String> = snap.visits.iter().filter(|v| v.household_id == id).map(|v| v.id.clone()).collect();
    let screening_refs = snap
        .screenings
        .iter()
        .filter(|s| s.record.household_id == id && !s.record.attachments.is_empty())
        .map(|s| (s.record.id.clone(), s.record.attachments.clone()))
        .collect();
    let mut attachments = super::attachments::lines_of(&st, lang, visit_ids.clone(), screening_refs).await?;
    // What was checked on each visit, from the visits' own records of the same day.
    let cutoff = viewer.as_of.as_ref().map(|a| a.cutoff_ms);
    let records = storage::run(&st.storage, move |s| super::visits::visits_at(s, &visit_ids, cutoff)).await?;
    let mut visits: Vec<VisitDetail> = snap
        .visits
        .iter()
        .filter(|v| v.household_id == id)
        .map(|v| VisitDetail {
            id: v.id.clone(),
            marks: records.get(&v.id).map(|r| super::visits::marks(&r.findings, lang)).unwrap_or_default(),
            date: v.date.clone(),
            kind: v.kind.label(code).into(),
            visitor: viewer.people.shown(&v.visitor),
            problems: problems_by_visit.remove(v.id.as_str()).unwrap_or_default(),
            attachments: attachments.remove(&v.id).unwrap_or_default(),
        })
        .collect();
    visits.reverse();
    let thresholds = Thresholds::default();
    let mut screenings: Vec<ScreeningLine> = snap
        .screenings
        .iter()
        .filter(|s| s.record.household_id == id)
        .map(|s| {
            let r = &s.record;
            let c = classify(r, &thresholds);
            ScreeningLine {
                date: r.date.clone(),
                member: h.members.get(&r.member_id).map(|m| m.name.clone()).unwrap_or_default(),
                bp: match (r.systolic, r.diastolic) {
                    (Some(a), Some(b)) => format!("{a:.0}/{b:.0}"),
                    _ => String::new(),
                },
                bp_grade: c.bp_grade.map(|g| g.label(code).to_string()).unwrap_or_default(),
                glucose: r.glucose.map(|g| format!("{g:.1} ({})", r.glucose_kind.label(code))).unwrap_or_default(),
                glucose_band: c.glucose_band.map(|g| g.label(code).to_string()).unwrap_or_default(),
                bmi: match (c.bmi, c.bmi_band) {
                    (Some(b), Some(band)) => format!("{b:.1} {}", band.label(code)),
                    _ => String::new(),
                },
                referral: s.referral.label(code).into(),
                abnormal: c.abnormal,
                attachments: attachments.remove(&r.id).unwrap_or_default(),
            }
        })
        .collect();
    screenings.reverse();

    // Field history and conflicts, with the server's received time and the device each change came from.
    let devices = storage::run(&st.storage, |s| s.devices()).await?;
    let device_names: HashMap<String, String> = devices.into_iter().map(|d| (d.id, d.name)).collect();
    let by_hash: HashMap<&str, &ChangeInfo> = changes.iter().map(|c| (c.hash.as_str(), c)).collect();
    let received_of = |hash: &str| by_hash.get(hash).map(|c| local_time(c.received_ms)).unwrap_or_default();
    let mut fields: Vec<String> =
        ["head_name", "phone", "address", "poverty_status", "alert_level", "income_per_person"]
            .iter()
            .chain(&["doctor_team", "helper_ids", "risk_causes"])
            .map(|s| s.to_string())
            .collect();
    for m in &members {
        fields.push(format!("members.{}.name", m.id));
        fields.push(format!("members.{}.insured", m.id));
    }
    let mut history = Vec::new();
    for f in &fields {
        let Ok(versions) = doc.field_history(f) else { continue };
        let label = field_label(f, &h, lang);
        for v in versions {
            let device = by_hash
                .get(v.change_hash.as_str())
                .and_then(|c| device_names.get(&c.device_id))
                .cloned()
                .unwrap_or_else(|| v.device.clone());
            history.push(HistoryLine {
                field: label.clone(),
                value: readable_value(f, &v.value_json, lang, &viewer.people),
                who: viewer.people.shown(&v.user),
                device,
                device_time: local_time(v.device_time_ms),
                received: received_of(&v.change_hash),
            });
        }
    }
    let conflicts: Vec<ConflictLine> = doc
        .conflicts(&id)
        .into_iter()
        .map(|c| ConflictLine {
            field: field_label(&c.field, &h, lang),
            values: c
                .values
                .into_iter()
                .map(|v| HistoryLine {
                    field: String::new(),
                    value: readable_value(&c.field, &v.value_json, lang, &viewer.people),
                    who: viewer.people.shown(&v.user),
                    device: v.device,
                    device_time: local_time(v.device_time_ms),
                    received: String::new(),
                })
                .collect(),
        })
        .collect();
    let title = format!("{} {}", h.number, h.head_name);
    viewer.render(
        "household.html",
        context! {
            h => context! {
                id => h.id,
                number => h.number,
                township => h.township,
                village => h.village,
                hamlet => h.hamlet,
                address => h.address,
                head => h.head_name,
                phone => h.phone,
                status => h.poverty_status.label(code),
                alert => h.alert_level.map(|a| a.label(code)),
                risks => h.risk_causes.iter().map(|r| r.label(code)).collect::<Vec<_>>().join(", "),
                income => h.income_per_person.map(|i| format!("{i:.0} ({})", h.income_year.unwrap_or_default())),
                helpers => viewer.people.list(&h.helper_ids, lang.pick("、", ", ")),
                doctor_team => h.doctor_team,
            },
            members => member_lines,
            timeline => timeline,
            visits => visits,
            screenings => screenings,
            open_problems => open_problems,
            history => history,
            conflicts => conflicts,
            vt => super::visits::texts(lang),
            ..viewer.base(&title)
        },
    )
}

/// A stored value as a person reads it, for field history and conflicts: codes as their labels in the page's
/// language (whether stored as the code or as the enum's variant name), accounts as people's names, `true` as
/// 是, nothing as 无, lists as text.
fn readable_value(path: &str, json: &str, lang: Lang, people: &People) -> String {
    use doorstep_core::model::{AlertLevel, PovertyStatus, RiskCause};
    let field = path.rsplit('.').next().unwrap_or(path);
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else { return json.to_string() };
    let code = lang.code();
    let word = |s: &str| -> String {
        fn find<E: Copy + std::fmt::Debug>(all: &[E], s: &str, code: fn(E) -> &'static str) -> Option<E> {
            all.iter().copied().find(|e| code(*e) == s || format!("{e:?}") == s)
        }
        let found = match field {
            "poverty_status" | "to_status" => find(PovertyStatus::ALL, s, PovertyStatus::code).map(|e| e.label(code)),
            "alert_level" => find(AlertLevel::ALL, s, AlertLevel::code).map(|e| e.label(code)),
            "risk_causes" => find(RiskCause::ALL, s, RiskCause::code).map(|e| e.label(code)),
            _ => None,
        };
        match found {
            Some(label) => label.to_string(),
            None if field == "helper_ids" => people.shown(s),
            None => s.to_string(),
        }
    };
    fn text(v: &serde_json::Value, lang: Lang, word: &dyn Fn(&str) -> String) -> String {
        match v {
            serde_json::Value::Null => lang.pick("无", "none").into(),
            serde_json::Value::Bool(b) => lang.pick(if *b { "是" } else { "否" }, if *b { "yes" } else { "no" }).into(),
            serde_json::Value::String(s) if s.is_empty() => lang.pick("（空）", "(empty)").into(),
            serde_json::Value::String(s) => word(s),
            serde_json::Value::Array(items) if items.is_empty() => lang.pick("无", "none").into(),
            serde_json::Value::Array(items) => {
                items.iter().map(|i| text(i, lang, word)).collect::<Vec<_>>().join(lang.pick("、", ", "))
            }
            other => other.to_string(),
        }
    }
    text(&value, lang, &word)
}

/// A readable name for a dotted field path in the page's language (`members.<id>.name` → `张三 · 姓名`); fields
/// without a label keep their path.
fn field_label(path: &str, h: &Household, lang: Lang) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("head_name", "head"),
        ("phone", "phone"),
        ("address", "address"),
        ("poverty_status", "status"),
        ("alert_level", "alert"),
        ("income_per_person", "income"),
        ("doctor_team", "doctor_team"),
        ("helper_ids", "helpers"),
        ("risk_causes", "risk_causes"),
        ("name", "name"),
        ("insured", "insured"),
        ("national_id", "national_id"),
        ("contract", "contract"),
    ];
    let texts = lang.texts();
    let word = |f: &str| {
        NAMES.iter().find(|(k, _)| *k == f).and_then(|(_, t)| texts.get(t)).map(|t| t.to_string()).unwrap_or(f.into())
    };
    match path.strip_prefix("members.").and_then(|rest| rest.split_once('.')) {
        Some((id, field)) => {
            let name = h.members.get(id).map(|m| m.name.as_str()).unwrap_or(id);
            format!("{name} · {}", word(field))
        }
        None => word(path),
    }
}
