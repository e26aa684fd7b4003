//! Supervisors' and inspectors' web pages (server-rendered HTML), merged into the server's router.
//!
//! - `indicators`: the figures supervisors look at, computed from a snapshot for one scope and filter;
//! - `pages`: sign-in, overview, village, helper and household pages;
//! - `visits`: the visit page and what was checked on a visit (assurance marks, visit records for the ledger);
//! - `ledgers`: CSV downloads (台账);
//! - `attachments`: photos and signatures of visits and screenings, and their thumbnails;
//! - `admin`: users, assignments, places, rules, inspector grants, the dynamic review, the audit log;
//! - `session`: cookies, sessions, CSRF; `i18n`: the pages' words; `svg`: inline charts.
//!
//! Every page works without JavaScript, every asset is embedded, and the Content-Security-Policy allows nothing
//! from outside the server. Every page and ledger shows only what the signed-in account's scope (`scope::Scope`,
//! the same rule as sync) allows, optionally as the server knew it at the end of a chosen day.

mod account;
mod admin;
mod attachments;
mod audit;
pub mod i18n;
pub mod indicators;
mod ledgers;
mod pages;
pub use pages::local_time;
pub mod session;
mod svg;
pub mod tallies;
pub mod tally;
mod visits;

use crate::http::{self, AppState};
use crate::message::Message;
use crate::reports::{self, AsOf, Reports, Snapshots};
use crate::scope::Scope;
use crate::storage::sqlite::reports::SqliteReportSource;
use crate::storage::ReportScope;
use crate::storage::{self, StorageError, User};
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use doorstep_core::model::Role;
use i18n::Lang;
use minijinja::Environment;
use session::Session;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How often the server checks for changes that made today's overview figures stale, and counts them.
const COUNT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the pages share besides the server's `AppState`.
pub struct Web {
    env: Environment<'static>,
    reports: Mutex<Option<Arc<dyn Reports>>>,
    /// Each village's overview figures, kept until the village changes.
    tallies: Arc<tallies::Tallies>,
}

impl Web {
    /// The pages' state, reading reports from `reports` (PostgreSQL's), or from SQLite's file in the data
    /// directory when `None`.
    pub fn new(reports: Option<Arc<dyn Reports>>) -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).expect("embedded templates parse");
        }
        Self { env, reports: Mutex::new(reports), tallies: Default::default() }
    }

    /// Starts counting today's overview figures in the background (`Tallies::keep_current`): at once, then after
    /// every change, so that pages read counted figures. Needs a Tokio runtime; without a store to read it does
    /// nothing (the pages then say why on their own).
    pub fn count_in_background(&self, st: &AppState) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        match self.reports(st) {
            Ok(reports) => {
                runtime.spawn(self.tallies.clone().keep_current(reports, COUNT_EVERY));
            }
            Err(e) => tracing::warn!("the overview is counted on each view: {e:?}"),
        }
    }

    /// The report queries: those given at start, or SQLite's, opened on first use over the server's database.
    fn reports(&self, st: &AppState) -> Result<Arc<dyn Reports>, PageError> {
        let mut slot = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = slot.as_ref() {
            return Ok(r.clone());
        }
        let r: Arc<dyn Reports> = Arc::new(Snapshots::new(SqliteReportSource::open(&st.config.data_dir)?));
        *slot = Some(r.clone());
        Ok(r)
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<Html<String>, PageError> {
        let t = self.env.get_template(name).map_err(|e| PageError::Unavailable(e.to_string()))?;
        t.render(ctx).map(Html).map_err(|e| PageError::Unavailable(format!("template {name}: {e:#}")))
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("indicators.html", include_str!("templates/indicators.html")),
    ("village.html", include_str!("templates/village.html")),
    ("helper.html", include_str!("templates/helper.html")),
    ("household.html", include_str!("templates/household.html")),
    ("visit.html", include_str!("templates/visit.html")),
    ("admin.html", include_str!("templates/admin.html")),
    ("password.html", include_str!("templates/password.html")),
];

const STYLE: &str = include_str!("static/style.css");
const ICON: &str = include_str!("static/icon.svg");

/// The strictest policy the pages work under: nothing from outside, no scripts at all.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

/// The pages' routes, merged into the server's router.
pub fn router(web: Arc<Web>) -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { redirect("/overview") }))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/overview", get(pages::overview))
        .route("/village/{name}", get(pages::village))
        .route("/helper/{name}", get(pages::helper))
        .route("/household/{id}", get(pages::household))
        .route("/visit/{id}", get(visits::visit))
        .route("/ledger/{name}", get(ledgers::download))
        .route("/attachment/{hash}", get(attachments::full))
        .route("/attachment/{hash}/thumb", get(attachments::thumb))
        .route("/admin", get(|| async { redirect("/admin/users") }))
        .route("/admin/users", get(admin::users).post(admin::users_post))
        .route("/admin/users/{name}", get(admin::user).post(admin::user_post))
        .route("/password", get(account::password_form).post(account::password_post))
        .route("/admin/assignments", get(admin::assignments).post(admin::assignments_post))
        .route("/admin/places", get(admin::places).post(admin::places_post))
        .route("/admin/rules", get(admin::rules).post(admin::rules_post))
        .route("/admin/grants", get(admin::grants).post(admin::grants_post))
        .route("/admin/review", get(admin::review))
        .route("/admin/audit", get(admin::audit_log))
        .route("/static/style.css", get(style))
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .layer(middleware::from_fn(headers))
        .layer(Extension(web))
}

async fn style() -> Response {
    let mut r = STYLE.into_response();
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    r
}

async fn icon() -> Response {
    let mut r = ICON.into_response();
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    r.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("max-age=86400"));
    r
}

/// Security headers on every page, and the language cookie when `?lang=` chose a language.
async fn headers(req: Request, next: Next) -> Response {
    let chosen = query_map(req.uri().query()).get("lang").and_then(|l| Lang::parse(l));
    let secure = session::is_https(req.headers());
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(lang) = chosen {
        let year = std::time::Duration::from_secs(365 * 86400);
        if let Ok(v) =
            HeaderValue::from_str(&session::set_cookie(session::LANG_COOKIE, lang.code(), Some(year), secure))
        {
            h.append(SET_COOKIE, v);
        }
    }
    response
}

/// Query parameters as a map (later keys win); malformed pairs are skipped.
pub fn query_map(query: Option<&str>) -> HashMap<String, String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Decodes one `application/x-www-form-urlencoded` component.
pub fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Encodes a query or path component.
pub fn encode(s: &str) -> String {
    minijinja::filters::urlencode(&minijinja::Value::from(s)).unwrap_or_default()
}

/// The language of a request: `?lang=` first, then the cookie, else Chinese.
pub fn lang_of(headers: &HeaderMap, query: &HashMap<String, String>) -> Lang {
    query
        .get("lang")
        .and_then(|l| Lang::parse(l))
        .or_else(|| session::cookie(headers, session::LANG_COOKIE).and_then(|l| Lang::parse(&l)))
        .unwrap_or(Lang::Zh)
}

/// A 303 to another page.
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// Why a page could not be shown; each becomes an HTML answer with its status, never a 500.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended, or the account was disabled): back to the sign-in page.
    SignIn,
    /// An admin reset the password: nothing but choosing a new one until it is done.
    ChangePassword,
    NotFound,
    Forbidden,
    /// A request the page cannot take, with what is wrong in both languages.
    BadRequest(Message),
    Unavailable(String),
}

impl From<StorageError> for PageError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(_) => PageError::NotFound,
            StorageError::Exists(m) => {
                PageError::BadRequest(Message::new(format!("{m} already exists"), "已存在，不能重复添加"))
            }
            StorageError::Refused(r) => PageError::BadRequest(Message::new(r.to_string(), format!("记录被拒绝：{r}"))),
            StorageError::Unavailable(m) | StorageError::Internal(m) => PageError::Unavailable(m),
        }
    }
}

impl From<http::ApiError> for PageError {
    fn from(e: http::ApiError) -> Self {
        match e {
            http::ApiError::Unauthorized | http::ApiError::AccountDisabled => PageError::SignIn,
            http::ApiError::NotFound => PageError::NotFound,
            http::ApiError::Forbidden(_) | http::ApiError::OutOfScope(_) => PageError::Forbidden,
            http::ApiError::BadRequest(m) => {
                PageError::BadRequest(Message::new(m.clone(), format!("请求的内容不符合要求（{m}）")))
            }
            other => PageError::Unavailable(other.to_string()),
        }
    }
}

impl From<doorstep_core::Error> for PageError {
    fn from(e: doorstep_core::Error) -> Self {
        PageError::Unavailable(e.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, zh, en) = match &self {
            PageError::SignIn => return redirect("/login"),
            PageError::ChangePassword => return redirect("/password"),
            PageError::NotFound => {
                (StatusCode::NOT_FOUND, "未找到该页面或记录。".to_string(), "Not found.".to_string())
            }
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "无权查看或操作：超出您的权限或负责范围。".to_string(),
                "Not allowed: outside your role or scope.".to_string(),
            ),
            PageError::BadRequest(m) => {
                (StatusCode::BAD_REQUEST, format!("请求无效：{}", m.zh), format!("Bad request: {}", m.en))
            }
            PageError::Unavailable(m) => {
                tracing::error!("page unavailable: {m}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "服务器暂时无法显示此页面，请稍后再试。".to_string(),
                    "The server cannot show this page right now; try again later.".to_string(),
                )
            }
        };
        let body = format!(
            "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
             content=\"width=device-width, initial-scale=1\"><title>{code}</title><link rel=\"stylesheet\" \
             href=\"/static/style.css\"></head><body><main><h1>{code}</h1><p>{zh}</p><p lang=\"en\">{en}</p>\
             <p><a href=\"/overview\">总览 / Overview</a></p></main></body></html>",
            code = status.as_u16(),
            zh = html_escape(&zh),
            en = html_escape(&en)
        );
        (status, Html(body)).into_response()
    }
}

/// The error page for a status a layer or extractor answered with a bare body (an unknown path, a wrong method, a
/// body too large, a path segment that is not UTF-8), with the same status.
pub fn error_page(status: StatusCode) -> Response {
    let error = match status {
        StatusCode::NOT_FOUND => PageError::NotFound,
        StatusCode::FORBIDDEN => PageError::Forbidden,
        StatusCode::PAYLOAD_TOO_LARGE => {
            PageError::BadRequest(Message::new("what was sent is too large", "提交的内容太大（例如附件超过上限）"))
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            PageError::BadRequest(Message::new("this address does not take that method", "此地址不支持该操作"))
        }
        s => PageError::BadRequest(Message::new(
            s.canonical_reason().unwrap_or("bad request").to_lowercase(),
            "请求的格式不正确",
        )),
    };
    let mut r = error.into_response();
    *r.status_mut() = status;
    r
}

/// Escapes text for HTML outside templates (error pages, SVG).
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// Every account's name as people read it (the display name an admin set, else the account name), so pages show
/// 张三 rather than `helper01`. Read once per page request: accounts are few.
#[derive(Debug, Clone, Default)]
pub struct People(HashMap<String, String>);

impl People {
    pub fn of(users: &[User]) -> Self {
        Self(users.iter().map(|u| (u.name.clone(), u.shown_name().to_string())).collect())
    }

    /// The name people read for an account (the account name for one the server does not know, such as
    /// `console`).
    pub fn shown(&self, account: &str) -> String {
        self.0.get(account).cloned().unwrap_or_else(|| account.to_string())
    }

    /// Several accounts as one line of names.
    pub fn list(&self, accounts: &[String], sep: &str) -> String {
        accounts.iter().map(|a| self.shown(a)).collect::<Vec<_>>().join(sep)
    }
}

/// The signed-in account of a page request, its scope, language and the chosen "as of" day.
pub struct Viewer {
    pub user: User,
    /// The names people read, for every account.
    pub people: People,
    pub scope: Scope,
    pub session: Session,
    pub lang: Lang,
    pub query: HashMap<String, String>,
    pub as_of: Option<AsOf>,
    pub web: Arc<Web>,
    pub state: AppState,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, PageError> {
        let web = parts.extensions.get::<Arc<Web>>().cloned().ok_or(PageError::Unavailable("no web state".into()))?;
        let token = session::cookie(&parts.headers, session::SESSION_COOKIE).ok_or(PageError::SignIn)?;
        let session = session::get(&st.storage, &token, st.config.session_max_age).await?.ok_or(PageError::SignIn)?;
        let name = session.user.clone();
        // The accounts are read on every request: a disabled account is signed out at once, and every page shows
        // the names people know each other by.
        let users = storage::run(&st.storage, |s| s.users()).await?;
        let people = People::of(&users);
        let user = users.into_iter().find(|u| u.name == name);
        let user = match user {
            Some(u) if !u.disabled => u,
            _ => {
                session::end(&st.storage, &token).await?;
                return Err(PageError::SignIn);
            }
        };
        if user.must_change_password && !matches!(parts.uri.path(), "/password" | "/logout") {
            return Err(PageError::ChangePassword);
        }
        let scope = http::scope_of(st, &user).await?;
        let query = query_map(parts.uri.query());
        let lang = lang_of(&parts.headers, &query);
        let as_of = match query.get("asof").filter(|d| !d.is_empty()) {
            Some(day) => Some(as_of_day(day)?),
            None => None,
        };
        Ok(Viewer { user, people, scope, session, lang, query, as_of, web, state: st.clone() })
    }
}

impl Viewer {
    /// Whether the account may see full national ID numbers: admins, and supervisors (within their area, the only
    /// households they can open); helpers, doctors and inspectors see them masked.
    pub fn sees_full_ids(&self) -> bool {
        matches!(self.user.role, Role::Admin | Role::Supervisor)
    }

    /// The day the page is about: the "as of" day, or today on the server.
    pub fn today(&self) -> String {
        self.as_of.as_ref().map(|a| a.day.clone()).unwrap_or_else(crate::scope::today)
    }

    /// The snapshot the page reads (now, or as of the chosen day): everything the account may see.
    pub fn snapshot(&self) -> Result<Arc<reports::Snapshot>, PageError> {
        self.snapshot_in(None, None)
    }

    /// The snapshot of what the account may see in one township or village only (a village page, a ledger for one
    /// place): the store reads that place alone.
    pub fn snapshot_in(
        &self,
        township: Option<&str>,
        village: Option<&str>,
    ) -> Result<Arc<reports::Snapshot>, PageError> {
        self.snapshot_of(ReportScope {
            township: township.filter(|t| !t.is_empty()).map(String::from),
            village: village.filter(|v| !v.is_empty()).map(String::from),
            ..Default::default()
        })
    }

    /// The snapshot of what the account may see, narrowed as `narrow` says (its visibility is the account's).
    pub fn snapshot_of(&self, narrow: ReportScope) -> Result<Arc<reports::Snapshot>, PageError> {
        let scope = ReportScope { visible: self.scope.visible.clone(), ..narrow };
        Ok(self.reports()?.snapshot(&scope, self.as_of.as_ref())?)
    }

    fn reports(&self) -> Result<Arc<dyn Reports>, PageError> {
        self.web.reports(&self.state)
    }

    /// The places of the households the account may see, `(township, village)`, sorted.
    pub fn places(&self) -> Result<Vec<tallies::Place>, PageError> {
        Ok(self.web.tallies.places(self.reports()?.as_ref(), &self.scope.visible)?)
    }

    /// The overview's figures of the account's area under `filter` (no helper), in `month`: the kept tally of each
    /// village merged, those missing counted now. `None` when some household has no place (then the page counts
    /// the area at once).
    pub fn area_tally(
        &self,
        places: &[tallies::Place],
        filter: &indicators::Filter,
        month: &str,
    ) -> Result<Option<tally::Tally>, PageError> {
        let matches = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w.is_empty() || w == have);
        let chosen: Vec<tallies::Place> = places
            .iter()
            .filter(|(t, v)| matches(&filter.township, t) && matches(&filter.village, v))
            .cloned()
            .collect();
        if chosen.iter().any(|(t, v)| t.is_empty() || v.is_empty()) {
            return Ok(None);
        }
        let frame =
            tallies::FrameKey { month: month.to_string(), today: pages::today_of(self), as_of: self.as_of.clone() };
        let look = tallies::Looker { scope: &self.scope, lang: self.lang, people: &self.people };
        let area = ReportScope {
            visible: self.scope.visible.clone(),
            township: filter.township.clone().filter(|t| !t.is_empty()),
            village: filter.village.clone().filter(|v| !v.is_empty()),
            ..Default::default()
        };
        Ok(Some(self.web.tallies.area(&self.reports()?, &look, &area, &chosen, &frame)?))
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<Html<String>, PageError> {
        self.web.render(name, ctx)
    }

    /// The context every page template gets: texts, language links, the account, navigation, filter state.
    pub fn base(&self, title: &str) -> minijinja::Value {
        let mut q = self.query.clone();
        q.insert("lang".into(), self.lang.other().code().into());
        let switch = format!("?{}", query_string(&q));
        minijinja::context! {
            t => self.lang.texts(),
            lang => self.lang.code(),
            lang_switch_href => switch,
            title => title,
            user => self.user.shown_name(),
            account => self.user.name,
            unit => self.user.unit,
            role => self.user.role.label(self.lang.code()),
            is_admin => self.user.role == Role::Admin,
            may_review => matches!(self.user.role, Role::Admin | Role::Supervisor),
            csrf => self.session.csrf,
            as_of => self.as_of.as_ref().map(|a| a.day.clone()),
            keep => self.as_of.as_ref().map(|a| format!("?asof={}", a.day)).unwrap_or_default(),
            today => crate::scope::today(),
            area => self.area(),
        }
    }

    /// What the account answers for, for the title of printed pages: its team, else its townships and villages
    /// (empty for a helper, whose households the page lists), "all" for an account that sees everything.
    fn area(&self) -> String {
        let v = &self.scope.visible;
        if v.all {
            return self.lang.texts()["all"].to_string();
        }
        if let Some(team) = self.user.team.as_ref().filter(|t| !t.is_empty()) {
            return team.clone();
        }
        v.townships.iter().chain(&v.villages).cloned().collect::<Vec<_>>().join(self.lang.pick("、", ", "))
    }

    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), PageError> {
        match form.get("csrf") {
            Some(t) if session::same_secret(t, &self.session.csrf) => Ok(()),
            _ => Err(PageError::Forbidden),
        }
    }
}

/// `k=v&…` with every component encoded, keys sorted, empty values left out.
pub fn query_string(q: &HashMap<String, String>) -> String {
    let mut pairs: Vec<_> = q.iter().filter(|(_, v)| !v.is_empty()).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// The end of a day on the server's clock, for an "as of" view.
pub fn as_of_day(day: &str) -> Result<AsOf, PageError> {
    let bad = || {
        PageError::BadRequest(Message::new(
            format!("asof: {day:?} is not a date YYYY-MM-DD"),
            format!("截至日期 {day:?}：不是日期（应为 YYYY-MM-DD）"),
        ))
    };
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| bad())?;
    AsOf::end_of(date).ok_or_else(bad)
}

/// Reads an `application/x-www-form-urlencoded` body.
pub fn form_map(body: &[u8]) -> HashMap<String, String> {
    query_map(std::str::from_utf8(body).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_round_trip() {
        let mut q = HashMap::new();
        q.insert("village".to_string(), "石门村 1&2".to_string());
        q.insert("month".to_string(), "2026-11".to_string());
        let s = query_string(&q);
        assert_eq!(query_map(Some(&s)), q);
        assert_eq!(decode("a+b%E7%9F%B3").as_deref(), Some("a b石"));
        assert_eq!(decode("%zz"), None);
    }

    #[test]
    fn as_of_is_the_end_of_the_day() {
        let a = as_of_day("2026-11-01").unwrap();
        let b = as_of_day("2026-11-02").unwrap();
        assert_eq!(b.cutoff_ms - a.cutoff_ms, 86_400_000);
        assert!(as_of_day("2026-13-01").is_err());
    }
}
