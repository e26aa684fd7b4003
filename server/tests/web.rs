//! The supervisors' pages and ledgers over real HTTP: the real `doorstep-server` binary, a small demo county built
//! by its `demo` command (simulated devices syncing over HTTP), and a browser-like client that keeps cookies.
//!
//! The county is built once per run; each test serves its own copy (`VACUUM INTO`) so tests that change data
//! (disable a user, edit a household) never disturb the others.

mod common;

use common::{Server, BIN};
use doorstep_core::model::Household;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The small demo county, built once for the whole run.
fn county() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("doorstep-web-county-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut child = Command::new(BIN)
            .args(["demo", "--size", "small", "--listen", "127.0.0.1:0", "--data"])
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the demo");
        let stdout = child.stdout.take().expect("stdout");
        let mut ready = false;
        // Bounded: the demo prints a fixed number of lines before "listening on".
        for line in BufReader::new(stdout).lines().take(200) {
            let Ok(line) = line else { break };
            if line.starts_with("listening on ") {
                ready = true;
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(ready, "the demo did not finish building");
        dir
    })
}

/// The name the pages show for a demo account (its display name).
fn shown(account: &str) -> String {
    let conn = rusqlite::Connection::open(county().join("doorstep.db")).expect("open county");
    let name: String = conn
        .query_row("SELECT display_name FROM users WHERE name = ?1", [account], |r| r.get(0))
        .expect("a demo account");
    assert!(!name.is_empty(), "the demo names {account}");
    name
}

/// A fresh copy of the county's database in its own directory.
/// A copy of the demo county for one test's server: its SQLite file, and when the tests run on PostgreSQL
/// (`DOORSTEP_TEST_PG`) the same rows in the schema that server will use, so every page test runs on both stores.
fn copy_of_county() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = rusqlite::Connection::open(county().join("doorstep.db")).expect("open county");
    conn.execute("VACUUM INTO ?1", [dir.path().join("doorstep.db").to_string_lossy().to_string()]).expect("copy");
    if let Some(url) = common::store_choice::database_for(dir.path()) {
        let migrate = url.clone();
        std::thread::spawn(move || drop(doorstep_server::storage::postgres::PostgresStorage::open(&migrate)))
            .join()
            .expect("migrate the test's schema");
        doorstep_e2e::sqlite_json::copy_to_postgres(&dir.path().join("doorstep.db"), &url)
            .expect("copy the county to PostgreSQL");
    }
    dir
}

/// Runs statements (in the SQL both stores share) on a copy of the county: its SQLite file, and its PostgreSQL
/// schema when the tests run there.
fn alter_county(dir: &Path, statements: &str) {
    rusqlite::Connection::open(dir.join("doorstep.db")).expect("open").execute_batch(statements).expect("alter");
    if let Some(url) = common::store_choice::database_for(dir) {
        common::store_choice::run_sql(&url, statements).expect("alter on PostgreSQL");
    }
}

/// A copy of the county as if every change and assignment had reached the server `days` days earlier.
fn county_received_days_ago(days: i64) -> tempfile::TempDir {
    let dir = copy_of_county();
    let ms = days * 86_400_000;
    alter_county(
        dir.path(),
        &format!(
            "UPDATE changes SET received_ms = received_ms - {ms};
             UPDATE assignments SET created_ms = created_ms - {ms}; {};",
            doorstep_server::storage::sql::DOC_TIMES_FROM_CHANGES
        ),
    );
    dir
}

/// A browser: keeps cookies, follows no redirects (tests look at them).
struct Browser {
    http: reqwest::Client,
    url: String,
    cookies: HashMap<String, String>,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
    bytes: Vec<u8>,
}

impl Page {
    fn location(&self) -> String {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    /// The value of a hidden form field.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self.body.find(&marker).unwrap_or_else(|| panic!("no field {name}"));
        let rest = &self.body[at + marker.len()..];
        rest[..rest.find('"').expect("closing quote")].to_string()
    }

    /// Household ids linked from the page, in order.
    fn household_ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(at) = rest.find("/household/") {
            let id: String = rest[at + 11..].chars().take_while(|c| c.is_ascii_hexdigit() || *c == '-').collect();
            if id.len() == 36 && !out.contains(&id) {
                out.push(id);
            }
            rest = &rest[at + 11..];
        }
        out
    }
}

impl Browser {
    fn new(url: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .expect("client");
        Self { http, url: url.to_string(), cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, res: reqwest::Response) -> Page {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for c in headers.get_all("set-cookie") {
            let c = c.to_str().unwrap_or_default();
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let bytes = res.bytes().await.expect("body").to_vec();
        Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes }
    }

    async fn get(&mut self, path: &str) -> Page {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.finish(res).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let res = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        self.finish(res).await
    }

    /// Signs in through the form, as a person would.
    async fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, 200);
        let csrf = form.field("csrf");
        self.post("/login", &[("csrf", &csrf), ("user", user), ("password", password)]).await
    }

    async fn signed_in(url: &str, user: &str, password: &str) -> Self {
        let mut b = Self::new(url);
        let p = b.sign_in(user, password).await;
        assert_eq!(p.status, 303, "{user} signs in: {}", p.body);
        assert_eq!(p.location(), "/overview");
        b
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const SUP: (&str, &str) = ("county", "supervise-2026");
const ADMIN: (&str, &str) = ("admin", "admin-2026");
const HELPER_PW: &str = "helper-2026";

fn serve() -> (tempfile::TempDir, Server) {
    let dir = copy_of_county();
    let server = Server::start(dir.path());
    (dir, server)
}

#[tokio::test]
async fn sign_in_page_is_chinese_by_default_and_english_on_request() {
    let (_d, server) = serve();
    let mut b = Browser::new(&server.url);
    let zh = b.get("/login").await;
    assert_eq!(zh.status, 200);
    assert!(zh.body.contains("<html lang=\"zh\">") && zh.body.contains("用户名") && zh.body.contains("密码"));
    let en = b.get("/login?lang=en").await;
    assert!(en.body.contains("User name") && en.body.contains("Sign in"), "{}", en.body);
    assert_eq!(b.cookies.get("ds_lang").map(String::as_str), Some("en"), "the choice is kept in a cookie");
    let again = b.get("/login").await;
    assert!(again.body.contains("User name"), "the cookie keeps English");
    // Unsigned visitors are sent to the sign-in page.
    let mut anon = Browser::new(&server.url);
    let p = anon.get("/overview").await;
    assert_eq!((p.status, p.location().as_str()), (303, "/login"));
}

#[tokio::test]
async fn sign_in_needs_the_csrf_token_and_the_right_password() {
    let (_d, server) = serve();
    let mut b = Browser::new(&server.url);
    let _ = b.get("/login").await;
    let forged = b.post("/login", &[("csrf", "0000"), ("user", SUP.0), ("password", SUP.1)]).await;
    assert_eq!(forged.status, 403, "a form without the matching token is refused");
    let wrong = b.sign_in(SUP.0, "not-the-password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("用户名或密码错误"));
    let ok = b.sign_in(SUP.0, SUP.1).await;
    assert_eq!(ok.status, 303);
    let cookie = ok
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .find(|c| c.starts_with("ds_session="));
    let cookie = cookie.expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");
    // Logging out needs the CSRF token too, and ends the session.
    let overview = b.get("/overview").await;
    let csrf = overview.field("csrf");
    assert_eq!(b.post("/logout", &[("csrf", "nope")]).await.status, 403);
    assert_eq!(b.post("/logout", &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(b.get("/overview").await.location(), "/login");
}

#[tokio::test]
async fn overview_shows_the_supervisors_area_in_chinese_and_english() {
    let (_d, server) = serve();
    let mut b = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let p = b.get("/overview").await;
    assert_eq!(p.status, 200);
    for text in [
        "本月走访覆盖率",
        "按行政村走访覆盖率",
        "逾期未走访",
        "家庭医生签约率",
        "65岁及以上老人",
        "本年度体检率",
        "高血压患者血压控制率",
        "监测户与边缘户",
        "未解决问题",
        "建档立卡人口医保参保率",
        "石门村",
        "河口镇",
        "<svg",
    ] {
        assert!(p.body.contains(text), "overview lacks {text}");
    }
    assert!(p.body.contains("<span class=\"big\">72</span>"), "72 households in the county");
    let csp = p.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("default-src 'none'") && !csp.contains("http"), "{csp}");
    assert!(!p.body.contains("<script") && !p.body.contains("src=\"http") && !p.body.contains("href=\"http"));
    let en = b.get("/overview?lang=en").await;
    for text in [
        "Visit coverage this month",
        "Overdue households",
        "Family-doctor contract coverage",
        "Aged 65+",
        "Blood-pressure control",
        "Open problems",
        "Insurance enrolment",
    ] {
        assert!(en.body.contains(text), "English overview lacks {text}");
    }
    // A township supervisor sees only their township.
    let mut t = Browser::signed_in(&server.url, "sup1", SUP.1).await;
    let p = t.get("/overview").await;
    assert!(p.body.contains("<span class=\"big\">24</span>"), "24 households in 石门镇");
    assert!(p.body.contains("石门村") && !p.body.contains("龙潭村"), "青山乡 is not theirs");
}

#[tokio::test]
async fn overview_filters_by_township_village_and_month() {
    let (_d, server) = serve();
    let mut b = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let t = b.get(&format!("/overview?township={}", enc("青山乡"))).await;
    assert!(t.body.contains("<span class=\"big\">24</span>"));
    assert!(t.body.contains("/village/") && !t.body.contains(">石门村</a>"));
    let v = b.get(&format!("/overview?village={}", enc("石门村"))).await;
    assert!(v.body.contains("<span class=\"big\">12</span>"), "one village of 12 households");
    let m = b.get("/overview?month=2026-05").await;
    assert!(m.body.contains("(2026-05)") && m.body.contains("value=\"2026-05\""));
    let bad = b.get("/overview?asof=yesterday").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn village_page_lists_households_and_leads_to_them() {
    let (_d, server) = serve();
    let mut b = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let v = b.get(&format!("/village/{}", enc("石门村"))).await;
    assert_eq!(v.status, 200);
    assert!(v.body.contains("行政村: 石门村") && v.body.contains("户数: 12"));
    let ids = v.household_ids();
    assert!(ids.len() >= 12, "{ids:?}");
    let h = b.get(&format!("/household/{}", ids[0])).await;
    assert_eq!(h.status, 200);
    assert!(h.body.contains("石门村") && h.body.contains("走访记录"));
    assert_eq!(b.get(&format!("/village/{}", enc("没有这个村"))).await.status, 404);
    let en = b.get(&format!("/village/{}?lang=en", enc("石门村"))).await;
    assert!(en.body.contains("Village: 石门村") && en.body.contains("Households: 12"));
}

#[tokio::test]
async fn helper_page_lists_the_helpers_households() {
    let (_d, server) = serve();
    let mut b = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let p = b.get("/helper/helper01").await;
    assert_eq!(p.status, 200);
    let name = shown("helper01");
    assert!(
        p.body.contains(&format!("帮扶责任人: {name}")) && p.body.contains("户数: 24"),
        "{}",
        &p.body[..2000.min(p.body.len())]
    );
    assert!(p.body.contains("本月走访") && p.body.contains("逾期未走访"));
    let en = b.get("/helper/helper01?lang=en").await;
    assert!(en.body.contains(&format!("Helper: {name}")) && en.body.contains("Visits this month"));
}

async fn household_of(b: &mut Browser, helper: &str) -> String {
    let p = b.get(&format!("/helper/{helper}")).await;
    p.household_ids().into_iter().next().unwrap_or_else(|| panic!("{helper} has households"))
}

#[tokio::test]
async fn household_page_masks_ids_by_role_and_shows_history_and_conflicts() {
    let (_d, server) = serve();
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    // The demo edits the second household of helper01 on two devices at once: a conflict on its phone.
    let helper_page = sup.get("/helper/helper01").await;
    let ids = helper_page.household_ids();
    let mut conflicted = None;
    for id in &ids {
        let p = sup.get(&format!("/household/{id}")).await;
        if p.body.contains("13900000001") && p.body.contains("13900000002") {
            conflicted = Some((id.clone(), p));
            break;
        }
    }
    let (id, p) = conflicted.expect("a household with a conflict");
    assert!(p.body.contains("未解决的冲突") && p.body.contains("phone"));
    assert!(p.body.contains("字段修改记录") && p.body.contains("helper01-phone") && p.body.contains("服务器收到时间"));
    assert!(p.body.contains("贫困状态变化") || p.body.contains("无"));
    let full_id = nid_cells(&p.body);
    assert!(!full_id.is_empty() && full_id.iter().all(|c| c.len() == 18 && !c.contains('*')), "{full_id:?}");
    let mut helper = Browser::signed_in(&server.url, "helper01", HELPER_PW).await;
    let hp = helper.get(&format!("/household/{id}")).await;
    assert_eq!(hp.status, 200);
    let masked = nid_cells(&hp.body);
    assert!(!masked.is_empty() && masked.iter().all(|c| c.contains("************")), "{masked:?}");
    let en = helper.get(&format!("/household/{id}?lang=en")).await;
    assert!(
        en.body.contains("Unresolved conflicts") && en.body.contains("Field history") && en.body.contains("Members")
    );
}

fn nid_cells(body: &str) -> Vec<String> {
    body.split("<td class=\"nid\">").skip(1).map(|s| s[..s.find('<').unwrap_or(0)].to_string()).collect()
}

#[tokio::test]
async fn a_helper_cannot_open_another_helpers_household() {
    let (_d, server) = serve();
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let theirs = household_of(&mut sup, "helper02").await;
    let own = household_of(&mut sup, "helper01").await;
    let mut h1 = Browser::signed_in(&server.url, "helper01", HELPER_PW).await;
    assert_eq!(h1.get(&format!("/household/{own}")).await.status, 200);
    let refused = h1.get(&format!("/household/{theirs}")).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("无权查看") && !refused.body.contains("13"));
    // Their overview and ledgers hold only their own households.
    let o = h1.get("/overview").await;
    assert!(o.body.contains("<span class=\"big\">24</span>"));
    let csv = h1.get("/ledger/households.csv").await;
    assert!(!csv.body.contains("helper02"));
}

#[tokio::test]
async fn an_inspectors_grant_stops_at_its_expiry() {
    let (_d, server) = serve();
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    // inspector1 may see 石门村 (and the last village) for 30 more days; inspector2's grant on 白沙村 ended yesterday.
    let granted = sup.get(&format!("/village/{}", enc("石门村"))).await.household_ids()[0].clone();
    let expired = sup.get(&format!("/village/{}", enc("白沙村"))).await.household_ids()[0].clone();
    let mut i1 = Browser::signed_in(&server.url, "inspector1", "inspect-2026").await;
    assert_eq!(i1.get(&format!("/household/{granted}")).await.status, 200);
    assert_eq!(i1.get(&format!("/household/{expired}")).await.status, 403);
    let mut i2 = Browser::signed_in(&server.url, "inspector2", "inspect-2026").await;
    assert_eq!(i2.get(&format!("/household/{expired}")).await.status, 403, "the grant ended");
    let o = i2.get("/overview").await;
    assert!(o.body.contains("<span class=\"big\">0</span>"), "nothing visible after expiry");
    // Renewing it (as a supervisor, on the grants page) opens the village again.
    let page = sup.get("/admin/grants").await;
    assert!(page.body.contains("inspector2") && page.body.contains("已过期"));
    let csrf = page.field("csrf");
    let until = (chrono::Local::now().date_naive() + chrono::Duration::days(7)).format("%Y-%m-%d").to_string();
    let r = sup
        .post("/admin/grants", &[("csrf", &csrf), ("user", "inspector2"), ("village", "白沙村"), ("until", &until)])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(i2.get(&format!("/household/{expired}")).await.status, 200);
}

#[tokio::test]
async fn an_admin_reassigns_a_household_on_the_assignments_page() {
    let (_d, server) = serve();
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    let id = household_of(&mut admin, "helper03").await;
    let mut old = Browser::signed_in(&server.url, "helper03", HELPER_PW).await;
    let mut new = Browser::signed_in(&server.url, "helper02", HELPER_PW).await;
    assert_eq!(
        (old.get(&format!("/household/{id}")).await.status, new.get(&format!("/household/{id}")).await.status),
        (200, 403)
    );
    let page = admin.get("/admin/assignments").await;
    assert!(page.body.contains("转交"));
    let csrf = page.field("csrf");
    let form =
        [("csrf", csrf.as_str()), ("kind", "reassign"), ("who", "helper03"), ("targets", &id), ("to", "helper02")];
    assert_eq!(admin.post("/admin/assignments", &form).await.status, 303);
    assert_eq!(old.get(&format!("/household/{id}")).await.status, 403, "no longer the old helper's");
    let p = new.get(&format!("/household/{id}")).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains(&shown("helper02")), "the record names the new helper");
    let audit = admin.get("/admin/audit").await;
    assert!(audit.body.contains("assign.reassign"));
}

#[tokio::test]
async fn an_expired_session_is_refused_and_the_cookie_says_how_long_it_lives() {
    let dir = copy_of_county();
    // A one-second lifetime (`--session-seconds` exists for this test; deployments give `--session-hours`).
    let server = Server::start_with(dir.path(), &["--session-seconds", "1"]);
    let mut b = Browser::new(&server.url);
    let _ = b.get("/login").await;
    let ok = b.sign_in(SUP.0, SUP.1).await;
    assert_eq!(ok.status, 303);
    let cookie =
        ok.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with("ds_session="));
    assert!(cookie.expect("a session cookie").contains("Max-Age=1"), "the browser is told the lifetime too");
    assert_eq!(b.get("/overview").await.status, 200, "fresh");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let p = b.get("/overview").await;
    assert_eq!((p.status, p.location().as_str()), (303, "/login"), "refused once older than its lifetime");
    // Signing in again starts a new session.
    let _ = b.get("/login").await;
    assert_eq!(b.sign_in(SUP.0, SUP.1).await.status, 303);
    assert_eq!(b.get("/overview").await.status, 200);

    // The default lifetime is 12 hours, given in the cookie.
    let (_d, default) = serve();
    let mut b = Browser::new(&default.url);
    let _ = b.get("/login").await;
    let ok = b.sign_in(SUP.0, SUP.1).await;
    let cookie =
        ok.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with("ds_session="));
    assert!(cookie.expect("a session cookie").contains("Max-Age=43200"));
}

#[tokio::test]
async fn a_disabled_user_is_signed_out() {
    let (_d, server) = serve();
    let mut helper = Browser::signed_in(&server.url, "helper03", HELPER_PW).await;
    assert_eq!(helper.get("/overview").await.status, 200);
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    let users = admin.get("/admin/users").await;
    assert!(users.body.contains("helper03"));
    let csrf = users.field("csrf");
    assert_eq!(
        admin.post("/admin/users", &[("op", "disable"), ("name", "helper03")]).await.status,
        403,
        "no CSRF token"
    );
    let r = admin.post("/admin/users", &[("csrf", &csrf), ("op", "disable"), ("name", "helper03")]).await;
    assert_eq!(r.status, 303);
    let p = helper.get("/overview").await;
    assert_eq!((p.status, p.location().as_str()), (303, "/login"), "the session stops at once");
    assert_eq!(Browser::new(&server.url).sign_in("helper03", HELPER_PW).await.status, 401);
    let audit = admin.get("/admin/audit").await;
    assert!(audit.body.contains("user.disable") && audit.body.contains("helper03"));
    let row = audit.body.split("<tr").find(|r| r.contains("user.disable")).expect("an audit row for the disable");
    assert!(row.contains(&format!("<td>{}</td>", shown(ADMIN.0))), "the audit log names the admin who acted: {row}");
}

#[tokio::test]
async fn a_session_outlives_a_server_restart() {
    let dir = copy_of_county();
    let server = Server::start(dir.path());
    let mut b = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    assert_eq!(b.get("/overview").await.status, 200);
    drop(server);
    // Sessions live in the database: another process on it (here the same server started again) honours them.
    let again = Server::start(dir.path());
    b.url = again.url.clone();
    assert_eq!(b.get("/overview").await.status, 200, "still signed in");
    let mut stranger = Browser::new(&again.url);
    stranger.cookies.insert("ds_session".into(), "0".repeat(64));
    assert_eq!(stranger.get("/overview").await.status, 303, "an unknown token is no session");
}

fn csv_rows(p: &Page) -> Vec<Vec<String>> {
    assert!(p.bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with a byte-order mark");
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(&p.bytes[3..]);
    let mut rows = vec![r.headers().expect("header").iter().map(String::from).collect::<Vec<_>>()];
    for rec in r.records() {
        rows.push(rec.expect("row").iter().map(String::from).collect());
    }
    rows
}

#[tokio::test]
async fn ledgers_are_csv_with_bom_for_the_filter_and_masked_by_role() {
    let (_d, server) = serve();
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let village = format!("village={}", enc("石门村"));
    let h = sup.get(&format!("/ledger/households.csv?{village}")).await;
    assert_eq!(h.status, 200);
    assert!(h.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().starts_with("text/csv"));
    assert!(h.headers.get("content-disposition").is_some());
    let rows = csv_rows(&h);
    assert_eq!(rows[0][0], "户编号");
    assert!(rows.len() > 12, "one line per member of 12 households");
    assert!(rows[1..].iter().all(|r| r[2] == "石门村"));
    let nid = rows[0].iter().position(|c| c == "身份证号").expect("ID column");
    assert!(rows[1..].iter().all(|r| r[nid].len() == 18 && !r[nid].contains('*')), "supervisors see full numbers");

    let v = csv_rows(&sup.get("/ledger/visits.csv").await);
    assert_eq!(v[0][0], "日期");
    let month = chrono::Local::now().format("%Y-%m").to_string();
    assert!(v.len() > 1 && v[1..].iter().all(|r| r[0].starts_with(&month)), "visits of this month");
    let s = csv_rows(&sup.get("/ledger/screenings.csv").await);
    assert!(s[0].contains(&"血压分级".to_string()) && s.len() > 10);
    let p = csv_rows(&sup.get("/ledger/problems.csv").await);
    assert!(p[0].contains(&"问题".to_string()) && p.len() > 1);

    let en = csv_rows(&sup.get("/ledger/households.csv?lang=en").await);
    assert_eq!(en[0][0], "Number");
    assert_eq!(csv_rows(&sup.get("/ledger/visits.csv?lang=en").await)[0][..2], ["Date", "Number"]);
    assert!(csv_rows(&sup.get("/ledger/screenings.csv?lang=en").await)[0].contains(&"BP grade".to_string()));
    assert!(csv_rows(&sup.get("/ledger/problems.csv?lang=en").await)[0].contains(&"Problem".to_string()));
    let mut helper = Browser::signed_in(&server.url, "helper01", HELPER_PW).await;
    let hrows = csv_rows(&helper.get("/ledger/households.csv").await);
    assert!(hrows.len() > 24);
    assert!(hrows[1..].iter().all(|r| r[nid].contains("************")), "helpers see masked numbers");
    let hs = csv_rows(&helper.get("/ledger/screenings.csv").await);
    let col = hs[0].iter().position(|c| c == "身份证号").expect("ID column");
    assert!(hs[1..].iter().all(|r| r[col].contains('*')));
    assert_eq!(helper.get("/ledger/other.csv").await.status, 404);
}

#[tokio::test]
async fn admin_pages_show_users_assignments_rules_grants_review_and_audit() {
    let (_d, server) = serve();
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    let users = admin.get("/admin/users").await;
    assert!(users.body.contains("helper01") && users.body.contains("检查员") && users.body.contains("新增用户"));
    let a = admin.get("/admin/assignments").await;
    assert!(a.body.contains("石门镇") && a.body.contains("24 户"), "county and helper assignments");
    let rules = admin.get("/admin/rules").await;
    assert!(
        rules.body.contains("每户每月走访次数")
            && rules.body.contains("name=\"monthly_visits\" type=\"number\" min=\"0\" value=\"1\"")
    );
    let csrf = rules.field("csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("monthly_visits", "2"),
        ("monitored_monthly_visits", "2"),
        ("edge_monthly_visits", "2"),
        ("hypertension_followup_days", "90"),
        ("diabetes_followup_days", "90"),
        ("mental_followup_days", "90"),
        ("lookahead_days", "7"),
    ];
    assert_eq!(admin.post("/admin/rules", &form).await.status, 303);
    assert!(admin
        .get("/admin/rules")
        .await
        .body
        .contains("name=\"monthly_visits\" type=\"number\" min=\"0\" value=\"2\""));
    let grants = admin.get("/admin/grants").await;
    assert!(grants.body.contains("inspector1") && grants.body.contains("石门村"));
    let review = admin.get("/admin/review?period=2026-10").await;
    assert!(review.body.contains("动态调整 2026-10") && review.body.contains("已核查"));
    let en = admin.get("/admin/review?period=2026-04&lang=en").await;
    assert!(en.body.contains("Dynamic review 2026-04") && en.body.contains("Reviewed"));
    let audit = admin.get("/admin/audit").await;
    assert!(audit.body.contains("rules.set") && audit.body.contains("grant.inspector"));
    for (path, text) in [
        ("/admin/users?lang=en", "Add a user"),
        ("/admin/assignments?lang=en", "24 households"),
        ("/admin/rules?lang=en", "Helper visits a month per household"),
        ("/admin/grants?lang=en", "Inspector grants"),
        ("/admin/audit?lang=en", "Audit log"),
    ] {
        let p = admin.get(path).await;
        assert!(p.status == 200 && p.body.contains(text), "{path} lacks {text}");
    }
    // Not for helpers.
    let mut helper = Browser::signed_in(&server.url, "helper01", HELPER_PW).await;
    assert_eq!(helper.get("/admin/users").await.status, 403);
    assert_eq!(helper.get("/admin/review").await.status, 403);
}

#[tokio::test]
async fn as_of_a_past_day_shows_that_days_values() {
    // Pretend everything in the county reached the server three days ago.
    let dir = county_received_days_ago(3);
    let server = Server::start(dir.path());
    let past = (chrono::Local::now().date_naive() - chrono::Duration::days(3)).format("%Y-%m-%d").to_string();

    // Today, helper01's phone edits the phone number of a household, and syncs.
    let device = tempfile::tempdir().expect("device dir");
    let store = std::sync::Mutex::new(
        doorstep_core::store::Store::open(&device.path().join("s.db"), &[1; 32], "test-phone").expect("store"),
    );
    let client = doorstep_core::sync::Client::new(Default::default()).expect("client");
    client.login(&store, &server.url, "helper01", HELPER_PW).await.expect("login");
    client.sync_once(&store, &mut |_| {}).await.expect("pull");
    let id: String = store
        .lock()
        .unwrap()
        .conn()
        .query_row("SELECT doc_id FROM ix_households ORDER BY number LIMIT 1", [], |r| r.get(0))
        .expect("a household");
    let mut h: Household = store.lock().unwrap().get(&id).expect("household");
    let old_phone = h.phone.clone();
    h.phone = "13712345678".into();
    store.lock().unwrap().put(&h, &chrono::Local::now().format("%Y-%m-%d").to_string()).expect("edit");
    client.sync_once(&store, &mut |_| {}).await.expect("push");

    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let now = sup.get(&format!("/household/{id}")).await;
    assert!(now.body.contains("<td id=\"phone\">13712345678</td>"), "today's value");
    let then = sup.get(&format!("/household/{id}?asof={past}")).await;
    assert_eq!(then.status, 200);
    assert!(then.body.contains(&format!("<td id=\"phone\">{old_phone}</td>")), "the value of {past}");
    assert!(!then.body.contains("13712345678"), "nothing received after that day");
    assert!(then.body.contains(past.as_str()), "the page says which day it shows");
    let before = sup.get(&format!("/household/{id}?asof=2020-01-01")).await;
    assert!(before.body.contains("id=\"not-known\""), "not yet received on that day");
    // The overview as of that day counts the same households; a day before anything arrived counts none.
    let o = sup.get(&format!("/overview?asof={past}")).await;
    assert!(o.body.contains("<span class=\"big\">72</span>"));
    let o = sup.get("/overview?asof=2020-01-01").await;
    assert!(o.body.contains("<span class=\"big\">0</span>"));
}

#[tokio::test]
async fn a_doctor_sees_the_teams_villages_with_masked_ids() {
    let (_d, server) = serve();
    let mut doctor = Browser::signed_in(&server.url, "doctor01", "doctor-2026").await;
    let o = doctor.get("/overview").await;
    assert!(o.body.contains("<span class=\"big\">36</span>"), "three villages of twelve households");
    assert!(o.body.contains(">石门村</a>") && !o.body.contains(">桃源村</a>"));
    let id = o.household_ids().into_iter().next().expect("a household");
    let h = doctor.get(&format!("/household/{id}")).await;
    assert_eq!(h.status, 200);
    assert!(nid_cells(&h.body).iter().all(|c| c.contains("************")), "doctors see masked numbers");
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let elsewhere = sup.get(&format!("/village/{}", enc("桃源村"))).await.household_ids()[0].clone();
    assert_eq!(doctor.get(&format!("/household/{elsewhere}")).await.status, 403);
}

#[test]
fn the_demo_serves_an_already_built_county_again() {
    let dir = county();
    let mut child = Command::new(BIN)
        .args(["demo", "--size", "small", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the demo");
    let lines: Vec<String> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.starts_with("listening on "))
        .take(50)
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().any(|l| l.contains("already built")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("county") && l.contains("supervise-2026")), "accounts printed: {lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("72 households")), "{lines:?}");
}

#[tokio::test]
async fn an_admin_adds_and_renames_places_and_the_assignments_page_refuses_unknown_ones() {
    let (_d, server) = serve();
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    let page = admin.get("/admin/places").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<td>石门镇</td>") && page.body.contains("<td>白沙村</td>"), "the demo's places");
    assert!(page.body.contains("管理员添加"));
    let csrf = page.field("csrf");
    let add = |kind: &'static str, name: &'static str, township: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("op", "add".into()),
            ("kind", kind.into()),
            ("name", name.into()),
            ("township", township.into()),
        ]
    };
    assert_eq!(post_form(&mut admin, "/admin/places", add("township", "新华乡", "")).await.status, 303);
    assert_eq!(post_form(&mut admin, "/admin/places", add("village", "新华村", "新华乡")).await.status, 303);
    let en = admin.get("/admin/places?lang=en").await;
    assert!(
        en.body.contains("Townships and villages") && en.body.contains("<td>新华村</td><td>新华乡</td>"),
        "{}",
        en.body
    );
    let typo = post_form(&mut admin, "/admin/places", add("village", "新华二村", "新化乡")).await;
    assert_eq!(typo.status, 400);
    assert!(typo.body.contains("新化乡") && typo.body.contains("新华乡"), "names what was typed and the close one");
    assert!(!admin.get("/admin/places").await.body.contains("新华二村"), "nothing added");

    // Renaming 白沙村 renames it on its households' pages.
    let id = admin.get(&format!("/village/{}", enc("白沙村"))).await.household_ids()[0].clone();
    let rename = vec![
        ("csrf", csrf.clone()),
        ("op", "rename".into()),
        ("kind", "village".into()),
        ("name", "白沙村".into()),
        ("new", "白沙新村".into()),
    ];
    assert_eq!(post_form(&mut admin, "/admin/places", rename).await.status, 303);
    let household = admin.get(&format!("/household/{id}")).await;
    assert!(household.body.contains("白沙新村") && !household.body.contains("白沙村<"), "the household moved");
    assert!(admin.get("/admin/audit").await.body.contains("place.rename"));

    // The assignments page refuses a misspelt village, naming it, and assigns nothing.
    let page = admin.get("/admin/assignments").await;
    let csrf = page.field("csrf");
    let form = [("csrf", csrf.as_str()), ("kind", "village"), ("who", "sup1"), ("targets", "龙谭村")];
    let refused = admin.post("/admin/assignments", &form).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("龙谭村") && refused.body.contains("龙潭村"), "{}", refused.body);
    assert!(!admin.get("/admin/assignments").await.body.contains("龙谭村"));

    // Only admins manage places.
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    assert_eq!(sup.get("/admin/places").await.status, 403);
}

/// Posts a form of owned values.
async fn post_form(b: &mut Browser, path: &str, form: Vec<(&str, String)>) -> Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &pairs).await
}

/// helper01's phone: a real core store, signed in and synced with the server.
async fn helper_phone(
    url: &str,
) -> (tempfile::TempDir, std::sync::Mutex<doorstep_core::store::Store>, doorstep_core::sync::Client) {
    let device = tempfile::tempdir().expect("device dir");
    let store = std::sync::Mutex::new(
        doorstep_core::store::Store::open(&device.path().join("s.db"), &[1; 32], "test-phone").expect("store"),
    );
    let client = doorstep_core::sync::Client::new(Default::default()).expect("client");
    client.login(&store, url, "helper01", HELPER_PW).await.expect("login");
    client.sync_once(&store, &mut |_| {}).await.expect("pull");
    (device, store, client)
}

fn today() -> String {
    chrono::Local::now().format("%Y-%m-%d").to_string()
}

/// A visit of a household recorded today by helper01.
fn visit_of(household_id: &str) -> doorstep_core::model::Visit {
    let mut v = doorstep_core::model::samples::visit();
    v.household_id = household_id.to_string();
    v.visitor = "helper01".into();
    v.date = today();
    v
}

const FORMULA_PREFIXES: [&str; 6] = ["=", "+", "-", "@", "\t", "\r"];

#[tokio::test]
async fn ledger_cells_typed_on_a_phone_never_start_a_formula() {
    use doorstep_core::model::{Problem, ProblemStatus};
    let (_d, server) = serve();
    let (_dev, store, client) = helper_phone(&server.url).await;
    // Households of helper01 with a member screened this year (so the screening ledger names them too).
    let year = &today()[..4];
    let picks: Vec<(String, String)> = {
        let s = store.lock().unwrap();
        let mut q = s
            .conn()
            .prepare(
                "SELECT household_id, MIN(member_id) FROM ix_screenings WHERE date LIKE ?1 || '%' AND deleted = 0 \
                 GROUP BY household_id ORDER BY household_id LIMIT 6",
            )
            .expect("query");
        q.query_map([year], |r| Ok((r.get(0)?, r.get(1)?))).expect("rows").map(|r| r.expect("row")).collect()
    };
    assert_eq!(picks.len(), 6, "six households of helper01 with a screening this year");
    let mut typed = Vec::new();
    for (prefix, (hid, mid)) in FORMULA_PREFIXES.iter().zip(&picks) {
        let mut h: Household = store.lock().unwrap().get(hid).expect("household");
        h.hamlet = format!("{prefix}HYPERLINK(\"http://127.0.0.1/x\",\"hamlet\")");
        let m = h.members.get_mut(mid).expect("member");
        m.name = format!("{prefix}1+1 name");
        typed.push(h.hamlet.clone());
        typed.push(m.name.clone());
        store.lock().unwrap().put(&h, &today()).expect("edit household");
        let mut v = visit_of(hid);
        let problem = format!("{prefix}cmd|' /C calc'!A0 problem");
        v.problems.insert(
            doorstep_core::model::new_id(),
            Problem {
                description: problem.clone(),
                assurance: None,
                status: ProblemStatus::Open,
                resolved_date: None,
                action: String::new(),
            },
        );
        v.note = format!("{prefix}SUM(1,2) note");
        typed.push(problem);
        store.lock().unwrap().put(&v, &today()).expect("record visit");
    }
    client.sync_once(&store, &mut |_| {}).await.expect("push");

    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let mut seen = String::new();
    for lang in ["zh", "en"] {
        for name in ["households", "visits", "screenings", "problems", "review"] {
            let page = sup.get(&format!("/ledger/{name}.csv?lang={lang}")).await;
            assert_eq!(page.status, 200, "{name}");
            for row in csv_rows(&page) {
                for cell in &row {
                    let first = cell.chars().next();
                    assert!(
                        !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')),
                        "{name}.csv has a cell that starts a formula: {cell:?}"
                    );
                    seen.push_str(cell);
                    seen.push('\n');
                }
            }
        }
    }
    for t in &typed {
        assert!(seen.contains(&format!("'{t}")), "{t:?} is in a ledger, escaped");
    }
    // Every prefix reached every kind of cell: hamlet (households), name (households, screenings), problem
    // (visits, problems).
    let screenings = csv_rows(&sup.get("/ledger/screenings.csv").await);
    let names: Vec<&String> = screenings.iter().flat_map(|r| r.iter()).filter(|c| c.ends_with("1+1 name")).collect();
    assert_eq!(names.len() >= 6, true, "each renamed member's screening is in the screening ledger: {names:?}");
}

/// The visits ledger reads the records the server keeps beside the documents; a database saved before visits'
/// records were kept (none beside them) gives the same ledger from the documents themselves.
#[tokio::test]
async fn the_visits_ledger_is_the_same_from_kept_records_and_from_documents() {
    let dir = copy_of_county();
    let kept = rusqlite::Connection::open(dir.path().join("doorstep.db"))
        .expect("open")
        .query_row("SELECT count(*) FROM docs WHERE kind = 'visit' AND record IS NOT NULL", [], |r| r.get::<_, i64>(0))
        .expect("count");
    assert!(kept > 100, "each visit's record is kept beside its document ({kept})");
    let from = (chrono::Local::now().date_naive() - chrono::Duration::days(120)).format("%Y-%m-%d").to_string();
    let path = format!("/ledger/visits.csv?from={from}");
    let first = {
        let server = Server::start(dir.path());
        let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
        sup.get(&path).await
    };
    alter_county(dir.path(), "UPDATE docs SET record = NULL WHERE kind = 'visit'");
    let server = Server::start(dir.path());
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let again = sup.get(&path).await;
    assert_eq!(first.status, 200);
    assert!(csv_rows(&first).len() > 50, "four months of visits");
    assert_eq!(csv_rows(&first), csv_rows(&again));
}

#[tokio::test]
async fn ledgers_take_a_date_range_and_name_a_wrong_one() {
    let (_d, server) = serve();
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let now = chrono::Local::now().date_naive();
    let from = (now - chrono::Duration::days(90)).format("%Y-%m-%d").to_string();
    let to = (now - chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    let v = csv_rows(&sup.get(&format!("/ledger/visits.csv?from={from}&to={to}")).await);
    assert!(v.len() > 10, "three months of visits");
    assert!(v[1..].iter().all(|r| r[0] >= from && r[0] <= to), "only visits of the range");
    let months: std::collections::BTreeSet<&str> = v[1..].iter().map(|r| &r[0][..7]).collect();
    assert!(months.len() >= 2, "more than one month: {months:?}");
    let s = csv_rows(&sup.get(&format!("/ledger/screenings.csv?from={from}")).await);
    assert!(s[1..].iter().all(|r| r[0] >= from));
    let bp = s[0].iter().position(|c| c == "血压 (mmHg)").expect("one blood-pressure column");
    assert!(s[1..].iter().any(|r| !r[bp].is_empty()));
    for r in &s[1..] {
        let cell = &r[bp];
        assert!(
            cell.is_empty()
                || cell.split_once('/').is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok()),
            "{cell:?}"
        );
    }
    let p = csv_rows(&sup.get(&format!("/ledger/problems.csv?to={to}")).await);
    assert!(p.len() > 1 && p[1..].iter().all(|r| r[0] <= to));
    let h = csv_rows(&sup.get(&format!("/ledger/households.csv?from={from}&to={to}")).await);
    assert!(h[0].contains(&"期间走访次数".to_string()));
    // A wrong date or an inverted range is refused, naming the parameter; nothing else is answered.
    let bad = sup.get("/ledger/visits.csv?from=2026-13-01").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("from") && bad.body.contains("2026-13-01"), "{}", bad.body);
    let bad = sup.get("/ledger/problems.csv?to=yesterday").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("to: &quot;yesterday&quot;"), "{}", bad.body);
    let bad = sup.get(&format!("/ledger/households.csv?from={to}&to={from}")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("from"));
}

#[tokio::test]
async fn a_visit_page_shows_what_was_checked_to_those_who_see_its_household() {
    use doorstep_core::model::{AssuranceCheck, AssuranceStatus, Problem, ProblemStatus, Satisfaction};
    let (_d, server) = serve();
    let (_dev, store, client) = helper_phone(&server.url).await;
    let hid: String = store
        .lock()
        .unwrap()
        .conn()
        .query_row("SELECT doc_id FROM ix_households ORDER BY number LIMIT 1", [], |r| r.get(0))
        .expect("a household");
    let mut v = visit_of(&hid);
    v.findings.housing = AssuranceCheck { status: AssuranceStatus::Problem, note: "东墙开裂<b>".into() };
    v.findings.water = AssuranceCheck { status: AssuranceStatus::NotApplicable, note: "集中供水".into() };
    v.findings.education = AssuranceCheck { status: AssuranceStatus::NotChecked, note: String::new() };
    v.problems.insert(
        doorstep_core::model::new_id(),
        Problem {
            description: "危房待改造".into(),
            assurance: Some(doorstep_core::model::AssuranceKind::Housing),
            status: ProblemStatus::InProgress,
            resolved_date: None,
            action: "已报乡镇".into(),
        },
    );
    v.measures_delivered = vec!["申请危房改造".into(), "公益岗位".into()];
    v.satisfaction = Some(Satisfaction::Dissatisfied);
    v.note = "户主外出务工".into();
    store.lock().unwrap().put(&v, &today()).expect("record visit");
    client.sync_once(&store, &mut |_| {}).await.expect("push");

    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let household = sup.get(&format!("/household/{hid}")).await;
    assert!(household.body.contains(&format!("href=\"/visit/{}\"", v.id)), "the visit table links to the visit");
    assert!(household.body.contains("aria-label=\"住房安全：有问题\""), "marks with a text alternative");
    assert!(household.body.contains("aria-label=\"饮水安全：不适用\""));
    assert!(household.body.contains("aria-label=\"义务教育：未核查\""));
    assert!(household.body.contains("aria-label=\"不愁吃：达标\""));

    let page = sup.get(&format!("/visit/{}", v.id)).await;
    assert_eq!(page.status, 200);
    for text in ["不愁吃", "不愁穿", "义务教育", "基本医疗", "住房安全", "饮水安全", "东墙开裂&lt;b&gt;", "集中供水"]
    {
        assert!(page.body.contains(text), "{text}");
    }
    for text in
        ["危房待改造", "处理中", "已报乡镇", "申请危房改造；公益岗位", "不满意", "户主外出务工", &shown("helper01")]
    {
        assert!(page.body.contains(text), "{text}");
    }
    assert!(page.body.contains("<td id=\"device\">test-phone</td>"), "the device it was recorded on");
    let received = page.body.split("<td id=\"received\">").nth(1).expect("received").split('<').next().unwrap();
    assert!(received.starts_with(&today()), "received today: {received}");
    assert!(!page.body.contains("东墙开裂<b>"), "escaped");
    let en = sup.get(&format!("/visit/{}?lang=en", v.id)).await;
    for text in
        ["Safe housing", "Problem", "Not checked", "N&#x2f;A", "Dissatisfied", "In progress", "Measures delivered"]
    {
        assert!(en.body.contains(text), "{text}");
    }

    // The visit ledger carries every assurance with its note, the problems, measures, satisfaction and note.
    let rows = csv_rows(&sup.get("/ledger/visits.csv?lang=zh").await);
    let head = &rows[0];
    let row = rows.iter().find(|r| r.contains(&"户主外出务工".to_string())).expect("the visit's line");
    let col = |name: &str| head.iter().position(|c| c == name).unwrap_or_else(|| panic!("column {name} in {head:?}"));
    assert_eq!(row[col("住房安全")], "有问题");
    assert_eq!(row[col("住房安全备注")], "东墙开裂<b>");
    assert_eq!(row[col("饮水安全")], "不适用");
    assert_eq!(row[col("不愁吃")], "达标");
    assert_eq!(row[col("群众满意度")], "不满意");
    assert_eq!(row[col("落实帮扶措施")], "申请危房改造；公益岗位");
    assert_eq!(row[col("问题及状态")], "危房待改造［处理中］");
    let en = csv_rows(&sup.get("/ledger/visits.csv?lang=en").await);
    assert!(en[0].contains(&"Safe housing note".to_string()) && en[0].contains(&"Satisfaction".to_string()));

    // Scope: whoever may open the household may open its visits, nobody else.
    let mut statuses = Vec::new();
    for (user, pw) in [
        ("sup1", SUP.1),
        ("sup2", SUP.1),
        ("sup3", SUP.1),
        ("inspector1", "inspect-2026"),
        ("inspector2", "inspect-2026"),
        ("helper02", HELPER_PW),
        ("helper01", HELPER_PW),
    ] {
        let mut b = Browser::signed_in(&server.url, user, pw).await;
        let h = b.get(&format!("/household/{hid}")).await.status;
        let page = b.get(&format!("/visit/{}", v.id)).await;
        assert_eq!(page.status, h, "{user}: the visit follows its household");
        if page.status == 403 {
            assert!(page.body.contains("无权查看") && !page.body.contains("户主外出务工"));
        }
        statuses.push(page.status);
    }
    assert!(statuses.contains(&200) && statuses.contains(&403), "{statuses:?}");
    assert_eq!(sup.get("/visit/00000000-0000-0000-0000-000000000000").await.status, 404);
    assert_eq!(sup.get(&format!("/visit/{hid}")).await.status, 404, "a household is no visit");
}

/// The first device id of an account on its admin page.
fn first_device(page: &Page) -> String {
    let marker = "name=\"device\" value=\"";
    let at = page.body.find(marker).expect("a revocable device");
    let rest = &page.body[at + marker.len()..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

#[tokio::test]
async fn an_admin_resets_a_password_and_the_person_chooses_a_new_one_before_anything_else() {
    let (_d, server) = serve();
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    let page = admin.get("/admin/users/helper01").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("doorstep&#x2f;0."), "the devices' app version is shown (HTML-escaped)");
    assert!(page.body.contains("最近同步"), "and their last sync");
    let csrf = page.field("csrf");
    let reset = admin
        .post("/admin/users/helper01", &[("csrf", &csrf), ("op", "reset_password"), ("password", "temporary-1")])
        .await;
    assert_eq!(reset.status, 303, "{}", reset.body);
    assert!(admin.get("/admin/users").await.body.contains("待改密码"), "the list says who must change it");

    // A phone cannot sign in with the reset password; the answer says where to change it.
    let (status, body) = common::login_raw(&server.url, "helper01", "temporary-1").await;
    assert_eq!((status, body["code"].as_str()), (403, Some("password_change_required")), "{body}");
    assert!(body["message_zh"].as_str().unwrap_or_default().contains("/password"), "{body}");
    assert_eq!(common::login_raw(&server.url, "helper01", HELPER_PW).await.0, 401, "the old password is gone");

    // On the pages the person is sent to choose a new one, and nothing else opens until then.
    let mut person = Browser::new(&server.url);
    let signed = person.sign_in("helper01", "temporary-1").await;
    assert_eq!((signed.status, signed.location().as_str()), (303, "/password"));
    let overview = person.get("/overview").await;
    assert_eq!((overview.status, overview.location().as_str()), (303, "/password"));
    let form = person.get("/password").await;
    assert!(form.body.contains("管理员重置了您的密码"), "{}", form.body);
    let csrf = form.field("csrf");
    let differ = person
        .post("/password", &[("csrf", &csrf), ("current", "temporary-1"), ("new", "mine-2026x"), ("again", "x")])
        .await;
    assert_eq!(differ.status, 400);
    assert!(differ.body.contains("两次输入不一致"), "{}", differ.body);
    let wrong = person
        .post("/password", &[("csrf", &csrf), ("current", "nope-nope"), ("new", "mine-2026x"), ("again", "mine-2026x")])
        .await;
    assert!(wrong.status == 400 && wrong.body.contains("当前密码：不正确"), "{}", wrong.body);
    let done = person
        .post(
            "/password",
            &[("csrf", &csrf), ("current", "temporary-1"), ("new", "mine-2026x"), ("again", "mine-2026x")],
        )
        .await;
    assert_eq!((done.status, done.location().as_str()), (303, "/password?saved=1"));
    assert_eq!(person.get("/overview").await.status, 200);
    assert_eq!(common::login_raw(&server.url, "helper01", "mine-2026x").await.0, 200, "the phone signs in now");
    let audit = admin.get("/admin/audit").await;
    assert!(audit.body.contains("data-action=\"user.password_reset\"") && audit.body.contains("重置密码"));
    assert!(audit.body.contains("data-action=\"user.password_change\""));
}

#[tokio::test]
async fn an_admin_sees_and_revokes_a_persons_devices_on_their_page() {
    let (_d, server) = serve();
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    let page = admin.get("/admin/users/helper01").await;
    let device = first_device(&page);
    let csrf = page.field("csrf");
    // A device of another account cannot be revoked from this page.
    let other = admin.get("/admin/users/helper02").await;
    let foreign = first_device(&other);
    let refused = admin.post("/admin/users/helper01", &[("csrf", &csrf), ("op", "revoke"), ("device", &foreign)]).await;
    assert_eq!(refused.status, 404);
    let done = admin.post("/admin/users/helper01", &[("csrf", &csrf), ("op", "revoke"), ("device", &device)]).await;
    assert_eq!(done.status, 303);
    let after = admin.get("/admin/users/helper01").await;
    assert!(after.body.contains("已撤销"), "the device is shown revoked");
    assert!(!after.body.contains(&format!("name=\"device\" value=\"{device}\"")), "and offers no second revoke");
    assert!(admin.get("/admin/audit").await.body.contains(&device), "the revocation is audited");
    assert_eq!(admin.get("/admin/users/nobody").await.status, 404);
}

#[tokio::test]
async fn the_last_admin_stays_and_grants_are_bounded_with_chinese_refusals() {
    let (_d, server) = serve();
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    let csrf = admin.get("/admin/users").await.field("csrf");
    let refused = admin.post("/admin/users", &[("csrf", &csrf), ("op", "disable"), ("name", "admin")]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("最后一个在用的管理员"), "{}", refused.body);
    assert_eq!(admin.get("/overview").await.status, 200, "still signed in");
    // With a second admin, the first may be disabled.
    let add = [
        ("csrf", csrf.as_str()),
        ("op", "add"),
        ("name", "admin2"),
        ("role", "admin"),
        ("password", "second-admin-1"),
        ("display_name", "李四"),
        ("unit", "县乡村振兴局"),
    ];
    assert_eq!(admin.post("/admin/users", &add).await.status, 303);
    let mut second = Browser::signed_in(&server.url, "admin2", "second-admin-1").await;
    let csrf2 = second.get("/admin/users").await.field("csrf");
    assert_eq!(
        second.post("/admin/users", &[("csrf", &csrf2), ("op", "disable"), ("name", "admin")]).await.status,
        303
    );
    let users = second.get("/admin/users").await;
    assert!(users.body.contains("李四") && users.body.contains("县乡村振兴局"));
    // Now admin2 is the last one.
    let last = second.post("/admin/users", &[("csrf", &csrf2), ("op", "disable"), ("name", "admin2")]).await;
    assert!(last.status == 400 && last.body.contains("最后一个在用的管理员"));

    let grants = second.get("/admin/grants").await;
    let csrf = grants.field("csrf");
    let far = (chrono::Local::now().date_naive() + chrono::Duration::days(200)).format("%Y-%m-%d").to_string();
    let too_long = second
        .post("/admin/grants", &[("csrf", &csrf), ("user", "inspector1"), ("village", "石门村"), ("until", &far)])
        .await;
    assert_eq!(too_long.status, 400);
    assert!(too_long.body.contains("最长90天"), "{}", too_long.body);
    let english = second
        .post(
            "/admin/grants?lang=en",
            &[("csrf", &csrf), ("user", "inspector1"), ("village", "石门村"), ("until", &far)],
        )
        .await;
    assert!(english.body.contains("at most 90 days"), "{}", english.body);
    let soon = (chrono::Local::now().date_naive() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    let ok = second
        .post("/admin/grants", &[("csrf", &csrf), ("user", "inspector1"), ("village", "石门村"), ("until", &soon)])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    // A wrong number on the rules page is refused in Chinese, naming the rule.
    let rules = second.get("/admin/rules").await;
    let bad = second.post("/admin/rules", &[("csrf", &rules.field("csrf")), ("monthly_visits", "two")]).await;
    assert!(bad.status == 400 && bad.body.contains("每户每月走访次数：应为整数"), "{}", bad.body);
}

#[tokio::test]
async fn a_slowed_sign_in_on_the_pages_answers_429_and_says_how_long_to_wait() {
    let (_d, server) = serve();
    let mut b = Browser::new(&server.url);
    let mut last = None;
    for _ in 0..8 {
        let p = b.sign_in("helper01", "not-the-password").await;
        if p.status == 429 {
            last = Some(p);
            break;
        }
        assert_eq!(p.status, 401);
    }
    let slowed = last.expect("the sign-in is slowed after repeated failures");
    let wait: u64 =
        slowed.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap();
    assert!(wait >= 1);
    assert!(slowed.body.contains(&format!("请 {wait} 秒后再试")), "{}", slowed.body);
}

#[tokio::test]
async fn people_appear_by_name_and_values_as_words() {
    let (_d, server) = serve();
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    let csrf = admin.get("/admin/users/helper01").await.field("csrf");
    let set = [("csrf", csrf.as_str()), ("op", "profile"), ("display_name", "王秀英"), ("unit", "石门镇人民政府")];
    assert_eq!(admin.post("/admin/users/helper01", &set).await.status, 303);
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let overview = sup.get("/overview").await;
    assert!(overview.body.contains("王秀英"), "the helper coverage names the person");
    let household = household_of(&mut sup, "helper01").await;
    let page = sup.get(&format!("/household/{household}")).await;
    assert!(page.body.contains("王秀英"), "helpers by name");
    assert!(!page.body.contains("&quot;"), "no raw JSON strings in field history");
    assert!(!page.body.contains(">null<") && !page.body.contains(">true<"), "no raw JSON values");
    let audit = admin.get("/admin/audit").await;
    assert!(audit.body.contains("修改姓名或单位") && audit.body.contains("王秀英（helper01）"), "the audit log reads");
    let en = admin.get("/admin/audit?lang=en").await;
    assert!(en.body.contains("Name or unit changed"));
}

#[tokio::test]
async fn the_review_has_a_county_total_a_ledger_and_refuses_unknown_periods() {
    let (_d, server) = serve();
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let page = sup.get("/admin/review?period=2026-10").await;
    assert!(page.body.contains("id=\"review-total\"") && page.body.contains("合计"));
    let unknown = sup.get("/admin/review?period=2026-07").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("该月没有动态调整") && unknown.body.contains("2026-10"), "{}", unknown.body);
    let ledger = sup.get("/ledger/review.csv?period=2026-10").await;
    assert_eq!(ledger.status, 200);
    let rows = csv_rows(&ledger);
    assert_eq!(rows[0][0], "户号");
    let households = rows.iter().skip(1).take_while(|r| r.len() > 1).count();
    let total = rows.iter().find(|r| r.first().is_some_and(|c| c == "合计")).expect("a total line");
    assert_eq!(total[2], households.to_string(), "the total counts every household of the ledger");
    assert_eq!(sup.get("/ledger/review.csv?period=1999-04").await.status, 400);
    let mut helper = Browser::signed_in(&server.url, "helper01", HELPER_PW).await;
    assert_eq!(helper.get("/ledger/review.csv").await.status, 403);
}

#[tokio::test]
async fn refusals_of_layers_and_forms_read_in_chinese() {
    let dir = copy_of_county();
    let server = Server::start_with(dir.path(), &["--max-body", "4096"]);
    let mut admin = Browser::signed_in(&server.url, ADMIN.0, ADMIN.1).await;
    // A wrong method and a body over the limit: the error page says it in Chinese, with the status kept.
    let res = admin.http.put(format!("{}/overview", server.url)).send().await.expect("PUT");
    assert_eq!(res.status().as_u16(), 405);
    assert!(res.text().await.unwrap().contains("此地址不支持该操作"));
    let csrf = admin.get("/admin/users/helper01").await.field("csrf");
    let long = "名".repeat(3000);
    let big = admin.post("/admin/users/helper01", &[("csrf", &csrf), ("op", "profile"), ("unit", &long)]).await;
    assert_eq!(big.status, 413);
    assert!(big.body.contains("提交的内容太大"), "{}", big.body);
    // A name too long for a page or a ledger, under the body limit.
    let long = "名".repeat(65);
    let p = admin.post("/admin/users/helper01", &[("csrf", &csrf), ("op", "profile"), ("display_name", &long)]).await;
    assert!(p.status == 400 && p.body.contains("姓名：最多64个字符"), "{}", p.body);
    // The rules form with every status unchecked: refused, naming the field; nothing changes.
    let rules = admin.get("/admin/rules").await;
    let mut form: Vec<(&str, String)> = vec![("csrf", rules.field("csrf")), ("statuses", "1".into())];
    for f in ["monthly_visits", "monitored_monthly_visits", "edge_monthly_visits"] {
        form.push((f, "1".into()));
    }
    for f in ["hypertension_followup_days", "diabetes_followup_days", "mental_followup_days"] {
        form.push((f, "90".into()));
    }
    form.push(("lookahead_days", "7".into()));
    let none = post_form(&mut admin, "/admin/rules", form).await;
    assert_eq!(none.status, 400);
    assert!(none.body.contains("monthly_visit_statuses"), "{}", none.body);
    assert_eq!(admin.get("/admin/rules").await.body.matches("checked").count(), 4, "the four statuses stay");
}

/// The demo county opened for its reports, with its accounts, today and a day 45 days ago ("as of" its end).
struct CountyReports {
    _dir: tempfile::TempDir,
    storage: doorstep_server::storage::SharedStorage,
    reports: std::sync::Arc<dyn doorstep_server::reports::Reports>,
    users: Vec<doorstep_server::storage::User>,
    people: doorstep_server::web::People,
    today: String,
    day: chrono::NaiveDate,
    past_day: chrono::NaiveDate,
    past: doorstep_server::reports::AsOf,
}

fn county_reports() -> CountyReports {
    county_reports_in(copy_of_county())
}

/// The reports of a copy of the county (`copy_of_county`, perhaps altered).
fn county_reports_in(dir: tempfile::TempDir) -> CountyReports {
    // The county on the store the tests run on: its SQLite file, or its copy in PostgreSQL.
    let (storage, reports): (
        doorstep_server::storage::SharedStorage,
        std::sync::Arc<dyn doorstep_server::reports::Reports>,
    ) = match common::store_choice::database_for(dir.path()) {
        Some(url) => {
            let pg = std::sync::Arc::new(
                doorstep_server::storage::postgres::PostgresStorage::open(&url).expect("open the county"),
            );
            let reports = std::sync::Arc::new(doorstep_server::reports::Snapshots::new(pg.report_source()));
            (pg, reports)
        }
        None => {
            let source =
                doorstep_server::storage::sqlite::reports::SqliteReportSource::open(dir.path()).expect("reads");
            (
                std::sync::Arc::new(
                    doorstep_server::storage::sqlite::SqliteStorage::open(dir.path()).expect("open the county"),
                ),
                std::sync::Arc::new(doorstep_server::reports::Snapshots::new(source)),
            )
        }
    };
    let users = storage.users().expect("users");
    let people = doorstep_server::web::People::of(&users);
    let today = doorstep_server::scope::today();
    let day = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").expect("today");
    let past_day = day - chrono::Duration::days(45);
    let cutoff = past_day.and_hms_opt(23, 59, 59).expect("time").and_local_timezone(chrono::Local).unwrap();
    let past = doorstep_server::reports::AsOf {
        day: past_day.format("%Y-%m-%d").to_string(),
        cutoff_ms: cutoff.timestamp_millis(),
    };
    CountyReports { _dir: dir, storage, reports, users, people, today, day, past_day, past }
}

/// An "as of" view of a day after which the server received nothing is the live read as it is (no document is
/// rebuilt): the same households with the same records and helpers, visits, problems, screenings, conflicts and
/// rules. A day before the last changes is rebuilt, and differs.
#[test]
fn an_as_of_view_after_the_last_change_is_the_live_view() {
    use doorstep_server::reports::{AsOf, Snapshot};
    use doorstep_server::storage::ReportScope;

    let CountyReports { reports, day, past, .. } = &county_reports_in(county_received_days_ago(3));
    let everything = ReportScope::everything();
    let live = reports.snapshot_once(&everything, None).expect("live");
    let yesterday = AsOf::end_of(*day - chrono::Duration::days(1)).expect("a day");
    let then = reports.snapshot_once(&everything, Some(&yesterday)).expect("as of yesterday");
    let shape = |s: &Snapshot| {
        let households: Vec<_> = s
            .households
            .iter()
            .map(|(id, e)| (id.clone(), (*e.record).clone(), e.placement.clone(), e.helpers.clone()))
            .collect();
        let screenings: Vec<_> = s.screenings.iter().map(|e| ((*e.record).clone(), e.referral, e.abnormal)).collect();
        let mut conflicts: Vec<_> = s.conflicts.iter().map(|(id, n)| (id.clone(), *n)).collect();
        conflicts.sort();
        (households, s.visits.clone(), s.problems.clone(), screenings, conflicts, s.rules.clone())
    };
    assert!(live.households.len() > 50 && !live.visits.is_empty() && !live.screenings.is_empty());
    assert!(shape(&live) == shape(&then), "nothing was received after yesterday: the same snapshot");
    // Forty-five days back most of the county had not arrived yet.
    let earlier = reports.snapshot_once(&everything, Some(past)).expect("as of 45 days ago");
    assert!(earlier.visits.len() < live.visits.len(), "fewer visits then");
}

/// Once a day has ended, its own overview (counted in the background while it was today) is kept as that day's
/// "as of" view: the same figures an "as of" view counts from the records, read instead of counted, and kept in the
/// database for a restarted server.
#[test]
fn an_ended_days_overview_is_kept_as_its_as_of_view() {
    use doorstep_server::reports::AsOf;
    use doorstep_server::scope::Scope;
    use doorstep_server::storage::{ReportScope, ScopeFacts};
    use doorstep_server::web::i18n::Lang;
    use doorstep_server::web::tallies::{FrameKey, Looker, Tallies};

    let dir = county_received_days_ago(3);
    let CountyReports { reports, people, today, day, .. } = &county_reports_in(dir);
    let shared = reports;
    let reports = shared.as_ref();
    let admin = Scope::new("admin", doorstep_core::model::Role::Admin, ScopeFacts::default(), today);
    let look = Looker { scope: &admin, lang: Lang::Zh, people };
    let area = ReportScope { visible: admin.visible.clone(), ..Default::default() };
    let then = *day - chrono::Duration::days(3);
    let live = FrameKey::of_day(then);
    let as_of = FrameKey { as_of: Some(AsOf::end_of(then).expect("a day")), ..live.clone() };

    let tallies = Tallies::default();
    let places = tallies.places(reports, &admin.visible).expect("places");
    assert!(places.len() > 5, "the county's villages");
    assert_eq!(tallies.keep_ended_day(reports, then).expect("keep"), 0, "nothing counted for that day yet");
    tallies.area(shared, &look, &area, &places, &live).expect("that day's own overview");
    tallies.settle();
    assert_eq!(tallies.keep_ended_day(reports, then).expect("keep"), places.len(), "every village kept");
    assert_eq!(reports.kept_tallies(&as_of.name(), None).expect("kept rows").len(), places.len(), "in the database");

    let from_kept = tallies.area(shared, &look, &area, &places, &as_of).expect("as of, kept");
    let counted = Tallies::default().area(shared, &look, &area, &places, &as_of).expect("as of, counted");
    tallies.settle();
    assert!(from_kept.households > 50);
    assert_eq!(serde_json::to_value(&from_kept).unwrap(), serde_json::to_value(&counted).unwrap());
    // A restarted server finds them in the database, the townships' merged too: there is nothing left to keep, and
    // it shows the same figures.
    let townships = reports.kept_tallies(&format!("{} townships", as_of.name()), None).expect("kept rows");
    assert!(townships.len() >= 2 && townships.iter().all(|t| t.village.is_empty()), "the townships' merged");
    let restarted = Tallies::default().area(shared, &look, &area, &places, &as_of).expect("as of, restarted");
    assert_eq!(serde_json::to_value(&restarted).unwrap(), serde_json::to_value(&counted).unwrap());
    assert_eq!(Tallies::default().keep_ended_day(reports, then).expect("keep"), 0);
    // Today has not ended.
    assert_eq!(Tallies::default().keep_ended_day(reports, *day).expect("keep"), 0);
}

/// An "as of" view of a day that has not ended yet (today) is counted but not kept in the database: changes may
/// still arrive before the day's end. Once the day has ended the view is counted afresh, kept, and shows what a
/// fresh count shows.
#[test]
fn an_as_of_view_of_a_day_not_yet_ended_is_kept_only_once_it_has() {
    use doorstep_server::reports::AsOf;
    use doorstep_server::scope::Scope;
    use doorstep_server::storage::{ReportScope, ScopeFacts};
    use doorstep_server::web::i18n::Lang;
    use doorstep_server::web::tallies::{FrameKey, Looker, Tallies};

    let CountyReports { reports, people, today, day, .. } = &county_reports();
    let shared = reports;
    let reports = shared.as_ref();
    let admin = Scope::new("admin", doorstep_core::model::Role::Admin, ScopeFacts::default(), today);
    let look = Looker { scope: &admin, lang: Lang::Zh, people };
    let area = ReportScope { visible: admin.visible.clone(), ..Default::default() };
    // A day whose end is two seconds away.
    let end = doorstep_server::storage::now_ms() + 2_000;
    let frame = FrameKey { as_of: Some(AsOf { day: today.clone(), cutoff_ms: end }), ..FrameKey::of_day(*day) };
    let tallies = Tallies::default();
    let places = tallies.places(reports, &admin.visible).expect("places");
    let before = tallies.area(shared, &look, &area, &places, &frame).expect("as of a day not ended");
    tallies.settle();
    assert!(before.households > 50);
    assert!(reports.kept_tallies(&frame.name(), None).expect("rows").is_empty(), "nothing kept before the end");
    while doorstep_server::storage::now_ms() <= end {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let after = tallies.area(shared, &look, &area, &places, &frame).expect("as of, ended");
    let fresh = Tallies::default().area(shared, &look, &area, &places, &frame).expect("as of, counted afresh");
    tallies.settle();
    assert_eq!(serde_json::to_value(&after).unwrap(), serde_json::to_value(&fresh).unwrap());
    assert_eq!(reports.kept_tallies(&frame.name(), None).expect("rows").len(), places.len(), "kept once ended");
}

/// The pages read only the account's scope (and a village page only its village) in SQL. For every account of the
/// demo county, now and as of a past day, the overview and every village page show the same figures as the whole
/// county's snapshot filtered by the same scope in Rust, as the pages did before.
#[test]
fn scoped_reports_show_what_the_whole_county_filtered_by_scope_shows() {
    use doorstep_server::reports::Snapshot;
    use doorstep_server::scope::Scope;
    use doorstep_server::storage::ReportScope;
    use doorstep_server::web::i18n::Lang;
    use doorstep_server::web::indicators::{overview, Filter, Selection};

    let CountyReports { storage, reports, users, people, today, day, past_day, past, .. } = &county_reports();
    let figures = |snap: &Snapshot, scope: &Scope, filter: &Filter, on: chrono::NaiveDate| -> serde_json::Value {
        let sel = Selection::new(snap, scope, filter, on, Lang::Zh, &people);
        serde_json::to_value(overview(&sel)).expect("figures as JSON")
    };
    let (mut narrower, mut villages_seen) = (0, 0);
    for when in [None, Some(past)] {
        let on = if when.is_some() { *past_day } else { *day };
        let everything = reports.snapshot(&ReportScope::everything(), when).expect("the whole county");
        assert!(everything.households.len() > 50, "the demo county has its households");
        for user in users {
            let facts = storage.scope_facts(&user.name).expect("scope facts");
            let scope = Scope::new(&user.name, user.role, facts, &today);
            let mine = ReportScope { visible: scope.visible.clone(), ..Default::default() };
            let scoped = reports.snapshot(&mine, when).expect("the account's snapshot");
            let all = Filter::default();
            assert_eq!(
                figures(&everything, &scope, &all, on),
                figures(&scoped, &scope, &all, on),
                "{}'s overview as of {when:?}",
                user.name
            );
            if scoped.households.len() < everything.households.len() {
                narrower += 1;
            }
            let mut villages: Vec<String> = scoped.households.values().map(|e| e.placement.village.clone()).collect();
            villages.sort();
            villages.dedup();
            for village in villages {
                let only = ReportScope { village: Some(village.clone()), ..mine.clone() };
                let narrowed = reports.snapshot(&only, when).expect("one village");
                assert!(narrowed.households.values().all(|e| e.placement.village == village));
                let filter = Filter { village: Some(village.clone()), ..Default::default() };
                assert_eq!(
                    figures(&everything, &scope, &filter, on),
                    figures(&narrowed, &scope, &filter, on),
                    "{}'s page of {village} as of {when:?}",
                    user.name
                );
                villages_seen += 1;
            }
        }
    }
    assert!(narrower >= 4, "helpers, doctors and township supervisors see part of the county ({narrower})");
    assert!(villages_seen >= 6, "village pages compared: {villages_seen}");
}

/// An area's overview is the merge of its villages' tallies (what the overview page serves): for every account of
/// the demo county, now and as of a past day, the whole area and each township counted at once and merged from one
/// tally per village show the same figures, in both languages.
#[test]
fn an_areas_figures_are_the_merge_of_its_villages_tallies() {
    use doorstep_server::scope::Scope;
    use doorstep_server::storage::ReportScope;
    use doorstep_server::web::i18n::Lang;
    use doorstep_server::web::indicators::{overview, Filter, Selection};
    use doorstep_server::web::tally::{merge, render, tally};

    let CountyReports { storage, reports, users, people, today, day, past_day, past, .. } = &county_reports();
    let (mut compared, mut with_lists) = (0, 0);
    for when in [None, Some(past)] {
        let on = if when.is_some() { *past_day } else { *day };
        for user in users {
            let facts = storage.scope_facts(&user.name).expect("scope facts");
            let scope = Scope::new(&user.name, user.role, facts, &today);
            let mine = ReportScope { visible: scope.visible.clone(), ..Default::default() };
            let snap = reports.snapshot(&mine, when).expect("the account's snapshot");
            let places = reports.places(&mine).expect("places");
            let mut townships: Vec<Option<String>> = places.iter().map(|(t, _)| Some(t.clone())).collect();
            townships.dedup();
            townships.insert(0, None);
            for township in townships {
                for lang in [Lang::Zh, Lang::En] {
                    let filter = Filter { township: township.clone(), ..Default::default() };
                    let sel = Selection::new(&snap, &scope, &filter, on, lang, &people);
                    let whole = serde_json::to_value(overview(&sel)).expect("JSON");
                    let parts: Vec<_> = places
                        .iter()
                        .filter(|(t, _)| township.as_ref().is_none_or(|w| w == t))
                        .map(|(t, v)| {
                            let f =
                                Filter { township: Some(t.clone()), village: Some(v.clone()), ..Default::default() };
                            tally(&Selection::new(&snap, &scope, &f, on, lang, &people))
                        })
                        .collect();
                    let merged = serde_json::to_value(render(&merge(&parts), &sel.frame())).expect("JSON");
                    assert_eq!(whole, merged, "{}'s overview of {township:?} as of {when:?}", user.name);
                    compared += 1;
                    if parts.len() > 1 && whole["overdue_total"].as_u64().unwrap_or(0) > 0 {
                        with_lists += 1;
                    }
                }
            }
        }
    }
    assert!(compared >= 20, "areas compared: {compared}");
    assert!(with_lists >= 4, "areas of several villages with overdue households: {with_lists}");
}

/// The overview keeps each village's figures between views until something in the village changes: visits pushed
/// from a phone show on the next view, the same as the village page (which counts its village at once) shows.
#[tokio::test]
async fn the_overview_shows_a_pushed_visit_on_the_next_view() {
    let (_d, server) = serve();
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let coverage = |page: &Page| -> String {
        let at = page.body.find("id=\"coverage-total\"").expect("the coverage card");
        let rest = &page.body[at..];
        rest[..rest.find("</div>").expect("end of the card")].to_string()
    };
    let before = sup.get("/overview").await;
    assert_eq!(before.status, 200);
    assert_eq!(coverage(&before), coverage(&sup.get("/overview").await), "a second view serves the kept figures");

    // helper01's scheduled households that no helper visited this month get a visit today.
    let (_dev, store, client) = helper_phone(&server.url).await;
    let month = today()[..7].to_string();
    let picks: Vec<(String, String)> = {
        let s = store.lock().unwrap();
        let mut q = s
            .conn()
            .prepare(
                "SELECT h.doc_id, h.village FROM ix_households h WHERE h.deleted = 0 AND h.status <> 'ordinary'
                 AND NOT EXISTS (SELECT 1 FROM ix_visits v WHERE v.household_id = h.doc_id AND v.month = ?1
                     AND v.deleted = 0 AND v.kind IN ('monthly', 'verification', 'condolence'))
                 ORDER BY h.doc_id",
            )
            .expect("query");
        q.query_map([&month], |r| Ok((r.get(0)?, r.get(1)?))).expect("rows").map(|r| r.expect("row")).collect()
    };
    assert!(!picks.is_empty(), "helper01 has a household not yet visited this month");
    let village = picks[0].1.clone();
    let village_before = coverage(&sup.get(&format!("/village/{village}")).await);
    for (id, _) in &picks {
        let mut v = visit_of(id);
        v.id = doorstep_core::model::new_id();
        store.lock().unwrap().put(&v, &today()).expect("record visit");
    }
    client.sync_once(&store, &mut |_| {}).await.expect("push");

    let after = sup.get("/overview").await;
    assert_ne!(coverage(&before), coverage(&after), "the county's coverage counts the new visits");
    let page = coverage(&sup.get(&format!("/village/{village}")).await);
    assert_ne!(village_before, page, "the village page counts them");
    let filtered = coverage(&sup.get(&format!("/overview?village={village}")).await);
    assert_eq!(filtered, page, "the overview of the village shows what its page shows");
}

/// The households figure of an overview page (its first card).
fn households_shown(page: &Page) -> u64 {
    let at = page.body.find("<span class=\"big\">").expect("the households card") + "<span class=\"big\">".len();
    let rest = &page.body[at..];
    rest[..rest.find('<').expect("end of the figure")].trim().parse().expect("a number")
}

/// A kept figure in the database: the frame it is kept under, its township and village (empty for a whole
/// township's merged figure), and the sequence it is current at.
type KeptRow = (String, String, String, u64);

/// Waits until the server keeps today's figures of every village with live households in its database, and of every
/// township merged (the background count has run); returns a village whose figures the test then changes, and its
/// township's merged figure. Only today's frame is read: in a day's last hours the server keeps tomorrow's too.
async fn wait_for_kept_tallies(db: &Path) -> (KeptRow, KeptRow) {
    let today = chrono::NaiveDate::parse_from_str(&doorstep_server::scope::today(), "%Y-%m-%d").expect("today");
    let frame = doorstep_server::web::tallies::FrameKey::of_day(today).name();
    let merged_frame = format!("{frame} townships");
    let conn = rusqlite::Connection::open(db).expect("open the database");
    let (places, townships): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT township) FROM (SELECT DISTINCT d.township, d.village FROM docs d
             JOIN ix_households h ON h.doc_id = d.id WHERE d.kind = 'household' AND h.deleted = 0)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("places");
    assert!(places > 1, "the demo county has several villages");
    let count = |sql: &str, frame: &str| -> i64 { conn.query_row(sql, [frame], |r| r.get(0)).expect("tallies") };
    let row = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> KeptRow {
        conn.query_row(sql, params, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64)))
            .expect("a kept tally")
    };
    for _ in 0..300 {
        let villages = count("SELECT count(*) FROM tallies WHERE frame = ?1 AND village <> ''", &frame);
        let merged = count("SELECT count(*) FROM tallies WHERE frame = ?1 AND village = ''", &merged_frame);
        if villages >= places && merged >= townships {
            let village = row(
                "SELECT frame, township, village, seq FROM tallies WHERE frame = ?1 AND village <> ''
                 ORDER BY village LIMIT 1",
                &[&frame],
            );
            let township = row(
                "SELECT frame, township, village, seq FROM tallies WHERE frame = ?1 AND village = '' AND township = ?2",
                &[&merged_frame, &village.1],
            );
            return (village, township);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the server did not keep the figures of {places} villages and {townships} townships within 30 s");
}

/// Each village's overview figures are counted in the background and kept in the database, and each township's
/// merged: a restarted server shows the kept figures without counting them again (shown here by figures changed
/// in the database while it was stopped: the overview reads the township's, the village's own overview its
/// village's), and drops kept figures that a later change made stale, counting the village again.
#[tokio::test]
async fn kept_overview_figures_outlive_a_restart_and_stale_ones_are_counted_again() {
    use doorstep_server::web::tally::{body, Tally};
    use std::collections::{BTreeSet, HashSet};
    /// A village's kept tally as the database holds it: the figures and the households counted.
    type Kept = (Tally, HashSet<String>);
    /// A township's: its villages' merged, the households counted, its villages.
    type Merged = (Tally, HashSet<String>, BTreeSet<String>);
    if common::store_choice::sqlite_only("kept overview figures", "it changes them in the SQLite file") {
        return;
    }
    let dir = copy_of_county();
    let db = dir.path().join("doorstep.db");
    let server = Server::start(dir.path());
    let ((frame, township, village, seq), (merged_frame, _, _, _)) = wait_for_kept_tallies(&db).await;
    assert!(frame.ends_with(" live"), "today's live frame is what is counted in the background: {frame}");
    assert_eq!(merged_frame, format!("{frame} townships"));
    let mut sup = Browser::signed_in(&server.url, SUP.0, SUP.1).await;
    let counted = households_shown(&sup.get("/overview").await);
    let village_path = format!("/overview?village={}", enc(&village));
    let in_village = households_shown(&sup.get(&village_path).await);
    assert!(counted > in_village && in_village > 0);
    drop(server);

    // Stopped: the village's kept figure is made 1,000 households larger and its township's 2,000 (so a page shows
    // which one it read), current at the sequence given (or as kept).
    let conn = rusqlite::Connection::open(&db).expect("open");
    let row_of = |frame: &str, village: &str| -> (Vec<u8>, u64) {
        conn.query_row(
            "SELECT body, seq FROM tallies WHERE frame = ?1 AND township = ?2 AND village = ?3",
            [frame, &township, village],
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
        )
        .expect("the kept tally")
    };
    let body_of = |frame: &str, village: &str| row_of(frame, village).0;
    let put = |frame: &str, village: &str, body: Vec<u8>, seq: u64| {
        conn.execute(
            "UPDATE tallies SET body = ?1, seq = ?2 WHERE frame = ?3 AND township = ?4 AND village = ?5",
            rusqlite::params![body, seq as i64, frame, township, village],
        )
        .expect("update");
    };
    let bump = |by: usize, seq: Option<u64>| {
        let (body, kept_seq) = row_of(&frame, &village);
        let (mut tally, households): Kept = body::decode(&body).expect("a kept tally decodes");
        tally.households += by / 2;
        put(&frame, &village, body::encode(&(tally, households)).expect("encode"), seq.unwrap_or(kept_seq));
        let (body, kept_seq) = row_of(&merged_frame, "");
        let (mut tally, households, villages): Merged = body::decode(&body).expect("decodes");
        assert!(villages.contains(&village), "the township's figure merges the village's");
        tally.households += by;
        put(&merged_frame, "", body::encode(&(tally, households, villages)).expect("encode"), seq.unwrap_or(kept_seq));
    };
    bump(2000, None);
    let again = Server::start(dir.path());
    sup.url = again.url.clone();
    assert_eq!(
        households_shown(&sup.get("/overview").await),
        counted + 2000,
        "a restarted server shows the township's kept figure instead of counting"
    );
    assert_eq!(households_shown(&sup.get(&village_path).await), in_village + 1000, "and the village's");
    drop(again);

    // The same figures said to be current at sequence 0: the village's documents changed after it, so both are
    // stale.
    bump(0, Some(0));
    let third = Server::start(dir.path());
    sup.url = third.url.clone();
    assert_eq!(households_shown(&sup.get("/overview").await), counted, "the stale figures are counted again");
    // A page view's counted figures are written after the page is sent, by a thread of their own.
    let mut kept_again = None;
    for _ in 0..100 {
        let (kept, kept_seq) = row_of(&frame, &village);
        if kept_seq >= seq {
            kept_again = Some(kept);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let kept = kept_again.expect("kept again at the current sequence within 10 s");
    let (tally, _): Kept = body::decode(&kept).expect("a kept tally decodes");
    assert_eq!(tally.households as u64, in_village, "the recounted figure is the village's own");
    assert_eq!(households_shown(&sup.get(&village_path).await), in_village);
    drop(third);

    // Kept figures that do not decode (written by another build, or damaged) are counted again, not shown.
    put(&merged_frame, "", vec![0xffu8; 7], seq);
    put(&frame, &village, vec![0xffu8; 7], seq);
    let fourth = Server::start(dir.path());
    sup.url = fourth.url.clone();
    let page = sup.get("/overview").await;
    assert_eq!(page.status, 200, "a damaged kept figure is no error");
    assert_eq!(households_shown(&page), counted, "it is counted again");
    for _ in 0..100 {
        let village_kept = body::decode::<Kept>(&body_of(&frame, &village)).is_ok();
        if village_kept && body::decode::<Merged>(&body_of(&merged_frame, "")).is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the village's and the township's figures were not kept again (after the page, and by the background count)"
    );
}
