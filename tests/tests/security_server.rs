//! Security of the server, over real HTTP against the real binary: device tokens stored only hashed, revocation
//! stopping the next request without losing the device's data, login guessing slowed per account and per
//! address, security headers and cookie flags on pages, CSRF on every form, a scope matrix of every role over the
//! sync API, blobs, pages and ledgers with in-scope and out-of-scope data, national ID numbers masked by role, and admin
//! actions in the audit log. (Encryption of the device store at rest: `core/src/store/tests.rs`.)

use doorstep_core::model::with_check_digit;
use doorstep_core::sync::protocol::{self, ErrorBody, ErrorCode, MessageType, SyncRequest, SyncResponse};
use doorstep_e2e::faults::ServerDb;
use doorstep_e2e::*;
use std::collections::HashMap;
use std::time::Duration;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// An API login; status and body.
async fn api_login(url: &str, user: &str, password: &str) -> (u16, serde_json::Value, Option<String>) {
    let res = http()
        .post(format!("{url}/api/v1/login"))
        .json(&serde_json::json!({"user": user, "password": password, "device_name": "t"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(String::from);
    (status, res.json().await.unwrap_or_default(), retry)
}

/// A browser that keeps cookies and follows no redirects.
struct Browser {
    url: String,
    cookies: HashMap<String, String>,
    /// Every Set-Cookie header received, as sent.
    set_cookies: Vec<String>,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self.body.find(&marker).unwrap_or_else(|| panic!("no field {name}")) + marker.len();
        self.body[at..at + self.body[at..].find('"').unwrap()].to_string()
    }
}

impl Browser {
    fn new(url: &str) -> Self {
        Browser { url: url.to_string(), cookies: HashMap::new(), set_cookies: vec![] }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let res = req.header("cookie", cookie).send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for c in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            self.set_cookies.push(c.to_string());
            if let Some((k, v)) = c.split(';').next().and_then(|p| p.split_once('=')) {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        Page { status, headers, body: res.text().await.unwrap_or_default() }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = http().get(format!("{}{path}", self.url));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let req = http()
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    async fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let csrf = form.field("csrf");
        self.post("/login", &[("csrf", &csrf), ("user", user), ("password", password)]).await
    }

    async fn signed_in(url: &str, user: &str) -> Browser {
        let mut b = Browser::new(url);
        let p = b.sign_in(user, &format!("pw-{user}")).await;
        assert_eq!(p.status, 303, "{user} signs in: {}", p.body);
        b
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn device_tokens_are_stored_only_as_hashes() {
    if doorstep_e2e::store_choice::sqlite_only("tokens stored as hashes", "it reads the SQLite database files") {
        return;
    }
    let f = Fixture::new();
    let a = f.device("a", "helper1");
    let token = a.meta("sync.token").expect("token");
    assert_eq!(token.len(), 64, "32 random bytes, hex");
    let db = ServerDb::open(&f.server.data);
    let text = db.all_text();
    assert!(!text.contains(&token), "the raw token is in the server's database");
    assert_eq!(db.count("SELECT count(*) FROM srv.devices WHERE length(token_sha256) = 64"), 1);
    // Nor anywhere in the database files (the WAL included).
    for name in ["doorstep.db", "doorstep.db-wal"] {
        if let Ok(bytes) = std::fs::read(f.server.data.join(name)) {
            assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "raw token in {name}");
        }
    }
    // A second device of the same user gets another token.
    let b = f.device("b", "helper1");
    assert_ne!(b.meta("sync.token").unwrap(), token);
}

#[test]
fn a_revoked_device_is_stopped_at_its_next_request_and_keeps_its_unsent_data() {
    let f = Fixture::new();
    let a = f.device("a", "helper1");
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    a.sync();
    let device_id = a.meta("sync.device_id").unwrap();
    let v = a.add_visit(&h, "撤销前记录的走访");
    f.server.admin(&["device", "revoke", &device_id]);
    let refused = a.fails(&["sync"], None);
    assert_eq!(refused.kind(), "token_revoked", "{}", refused.stderr);
    assert_eq!(a.status()["pending"], 1, "the unsent visit stays on the device");
    // The old token is refused on the wire too, with the typed error.
    let token = a.meta("sync.token").unwrap();
    let body = protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    let (status, answer) = raw_sync(&f.server.url, &token, body);
    let err: ErrorBody = serde_json::from_slice(&answer).unwrap();
    assert_eq!((status, err.code), (401, ErrorCode::TokenRevoked));
    // Signing in again sends what was waiting: nothing is lost.
    a.login(&f.server.url, "helper1", "pw-helper1");
    assert_eq!(a.sync().sent, 1);
    let admin = f.device("adm", "admin");
    admin.sync();
    assert!(admin.doc_ids("visit").contains(&v));
    let audit = audit_page(&f.server.url).await_page();
    assert!(audit.contains("device.revoke") && audit.contains(&device_id));
}

/// The audit page as the admin sees it (blocking helper for sync tests).
struct AuditPage(String);

impl AuditPage {
    fn await_page(self) -> String {
        let url = self.0;
        doorstep_core::sync::runtime::block_on(async move {
            let mut b = Browser::signed_in(&url, "admin").await;
            let p = b.get("/admin/audit").await;
            assert_eq!(p.status, 200);
            p.body
        })
        .unwrap()
    }
}

fn audit_page(url: &str) -> AuditPage {
    AuditPage(url.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guessing_is_slowed_per_account_even_for_the_right_password() {
    let f = Fixture::new();
    let url = f.server.url.clone();
    for i in 0..5 {
        let (status, body, _) = api_login(&url, "helper1", &format!("guess-{i}")).await;
        assert_eq!(status, 401, "attempt {i}: {body}");
        assert_eq!(body["code"], "wrong_password");
    }
    let (status, body, retry) = api_login(&url, "helper1", "guess-6").await;
    assert_eq!(status, 429, "the sixth bad attempt: {body}");
    assert_eq!(body["code"], "too_many_attempts");
    assert_eq!(body["retryable"], true);
    assert!(retry.is_some_and(|s| s.parse::<u64>().unwrap_or(0) >= 1), "Retry-After");
    let (status, _, _) = api_login(&url, "helper1", "pw-helper1").await;
    assert_eq!(status, 429, "the right password is refused too while the account is slowed");
    // The web form refuses it as well, and starts no session.
    let mut b = Browser::new(&url);
    let p = b.sign_in("helper1", "pw-helper1").await;
    assert_ne!(p.status, 303);
    assert!(p.body.contains("尝试次数过多"), "{}", p.body);
    assert!(!b.cookies.contains_key("ds_session"));
    // Other accounts from the same address are not slowed by one account's failures.
    let (status, _, _) = api_login(&url, "helper2", "pw-helper2").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_guessing_is_slowed_per_address_across_accounts() {
    let f = Fixture::new();
    let url = f.server.url.clone();
    // Fewer than five failures per account, thirty from the address.
    for i in 0..30 {
        let (status, body, _) = api_login(&url, &format!("nobody{}", i / 3), "guess").await;
        assert_eq!(status, 401, "attempt {i}: {body}");
    }
    let (status, body, _) = api_login(&url, "helper2", "pw-helper2").await;
    assert_eq!(status, 429, "the address is slowed, whichever account: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers_and_cookies_their_flags() {
    let f = Fixture::new();
    let url = f.server.url.clone();
    let a = f.device("a", "helper1");
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    a.sync();
    let mut anon = Browser::new(&url);
    let login = anon.get("/login?lang=en").await;
    let mut admin = Browser::signed_in(&url, "admin").await;
    let mut pages = vec![("/login?lang=en".to_string(), login)];
    let household = format!("/household/{h}");
    for path in [
        "/overview",
        household.as_str(),
        "/village/%E7%9F%B3%E9%97%A8%E6%9D%91",
        "/helper/helper1",
        "/ledger/households.csv",
        "/admin/users",
        "/admin/audit",
        "/static/style.css",
        "/household/no-such-household",
    ] {
        let p = admin.get(path).await;
        assert!(p.status < 500, "{path}: {}", p.status);
        pages.push((path.to_string(), p));
    }
    for (path, p) in &pages {
        let h = |n: &str| p.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let csp = h("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{path}: CSP {csp:?}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: CSP {csp:?}");
        for outside in ["http:", "https:", "*", "data:", "'unsafe-inline'", "'unsafe-eval'"] {
            assert!(!csp.contains(outside), "{path}: CSP allows {outside}: {csp}");
        }
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        for link in ["src=\"http", "href=\"http", "action=\"http", "url(http", "src=\"//", "href=\"//"] {
            assert!(!p.body.contains(link), "{path}: loads from outside the server ({link})");
        }
    }
    // Every cookie: HttpOnly and SameSite; Secure when the request came through a TLS proxy.
    let mut all = anon.set_cookies.clone();
    all.extend(admin.set_cookies.clone());
    for name in ["ds_session=", "ds_login_csrf=", "ds_lang="] {
        let found: Vec<_> = all.iter().filter(|c| c.starts_with(name)).collect();
        assert!(!found.is_empty(), "no {name} cookie seen");
        for c in found {
            assert!(c.contains("HttpOnly") && c.contains("SameSite="), "{c}");
        }
    }
    let res = http().get(format!("{url}/login")).header("x-forwarded-proto", "https").send().await.unwrap();
    let c = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(String::from)
        .collect::<Vec<_>>();
    assert!(!c.is_empty() && c.iter().all(|c| c.contains("Secure")), "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_refuses_a_post_without_its_csrf_token_and_changes_nothing() {
    let f = Fixture::new();
    let url = f.server.url.clone();
    let mut admin = Browser::signed_in(&url, "admin").await;
    let forms: &[(&str, &[(&str, &str)])] = &[
        ("/admin/users", &[("op", "add"), ("name", "mallory"), ("role", "admin"), ("password", "pw-mallory")]),
        ("/admin/users", &[("op", "disable"), ("name", "helper1")]),
        ("/admin/assignments", &[("kind", "team"), ("team", TEAM), ("village", VILLAGE_B)]),
        ("/admin/rules", &[("monthly_visits", "9")]),
        ("/admin/grants", &[("user", "helper1"), ("village", VILLAGE_B), ("until", "2099-12-31")]),
        ("/logout", &[]),
    ];
    for (path, fields) in forms {
        for token in [None, Some("0".repeat(64)), Some(String::new())] {
            let mut form: Vec<(&str, &str)> = fields.to_vec();
            if let Some(t) = &token {
                form.push(("csrf", t));
            }
            let p = admin.post(path, &form).await;
            assert_eq!(p.status, 403, "{path} with csrf {token:?}: {}", p.status);
        }
    }
    // The sign-in form: its token must match the cookie set with the form.
    let mut b = Browser::new(&url);
    let _ = b.get("/login").await;
    let p = b.post("/login", &[("csrf", &"1".repeat(64)), ("user", "admin"), ("password", "pw-admin")]).await;
    assert_eq!(p.status, 403);
    // Nothing changed: no new account, helper1 active, the session still alive, no rules or grants written.
    let users = f.server.admin(&["user", "list"]);
    assert!(!users.contains("mallory"), "{users}");
    assert!(users.lines().any(|l| l.starts_with("helper1\t") && l.split('\t').nth(3) == Some("active")), "{users}");
    assert_eq!(admin.get("/overview").await.status, 200, "still signed in");
    let audit = admin.get("/admin/audit").await.body;
    assert!(!audit.contains("rules.set") && !audit.contains("mallory"));
}

/// Household ids a fresh device of `user` receives from the server.
fn pulled_households(url: &str, token: &str) -> Vec<String> {
    let body = protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes: vec![] });
    let (status, answer) = raw_sync(url, token, body);
    assert_eq!(status, 200);
    let page: SyncResponse = protocol::decode(MessageType::SyncResponse, &answer).unwrap();
    page.docs.into_iter().filter(|d| d.kind == "household").map(|d| d.doc_id).collect()
}

/// Records a visit of `household` on `device` carrying a tiny JPEG (distinct per `tag`), syncs it and uploads the
/// bytes with the device's token; returns the blob's hash.
async fn attached_photo(url: &str, device: &Device, household: &str, tag: &[u8]) -> String {
    use doorstep_core::attachment::{self, AttachmentKind};
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0];
    bytes.extend_from_slice(tag);
    let r = attachment::prepare(&bytes, attachment::JPEG, AttachmentKind::Photo, "", &Default::default()).unwrap();
    let mut v = doorstep_core::model::samples::visit();
    v.id = String::new();
    v.household_id = household.to_string();
    v.attachments = [(r.hash.clone(), r.clone())].into();
    device.open().save_visit(v).expect("save visit");
    device.sync();
    let token = device.meta("sync.token").unwrap();
    let res = http()
        .put(format!("{url}/api/v1/blobs/{}", r.hash))
        .bearer_auth(token)
        .header("content-range", format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len()))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201, "upload");
    r.hash
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_matrix_of_every_role_over_sync_pages_and_ledgers_with_ids_masked_by_role() {
    let f = Fixture::new();
    let url = f.server.url.clone();
    let data = f.server.data.clone();
    for (name, role) in
        [("super1", "supervisor"), ("super2", "supervisor"), ("inspect1", "inspector"), ("inspect2", "inspector")]
    {
        admin(&data, &["user", "add", name, "--role", role, "--password", &format!("pw-{name}")]);
    }
    admin(&data, &["assign", "area", "super1", "--township", "石门镇"]);
    admin(&data, &["assign", "area", "super2", "--village", VILLAGE_B]);
    admin(&data, &["grant", "inspector", "inspect1", VILLAGE_A, "--until", &days_from_today(30)]);
    admin(&data, &["grant", "inspector", "inspect2", VILLAGE_A, "--until", "2020-01-01"]);
    // Household A: 石门村, helper1's (doctor1's team serves 石门村). Household B: 青山村, helper2's.
    let h1 = f.device("h1", "helper1");
    let h2 = f.device("h2", "helper2");
    let a = h1.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    let nid_a = with_check_digit("43062119620315001");
    h1.ok(&[
        "member",
        "add",
        &a,
        "--name",
        "张建国",
        "--sex",
        "male",
        "--birth",
        "1962-03-15",
        "--relation",
        "head",
        "--national-id",
        &nid_a,
    ]);
    let b = h2.add_household("4306210020001", VILLAGE_B, "王德明", &["helper2"]);
    let nid_b = with_check_digit("43062119580120002");
    h2.ok(&[
        "member",
        "add",
        &b,
        "--name",
        "王德明",
        "--sex",
        "male",
        "--birth",
        "1958-01-20",
        "--relation",
        "head",
        "--national-id",
        &nid_b,
    ]);
    h1.sync();
    h2.sync();
    // A photo on a visit of each household, uploaded by its helper: blobs follow their documents' scope.
    let photo_a = attached_photo(&url, &h1, &a, b"A").await;
    let photo_b = attached_photo(&url, &h2, &b, b"B").await;

    // role, sees A, sees B, may see full ID numbers, may open admin pages.
    let matrix = [
        ("helper1", true, false, false, false),
        ("helper2", false, true, false, false),
        ("doctor1", true, false, false, false),
        ("super1", true, true, true, false),
        ("super2", false, true, true, false),
        ("inspect1", true, false, false, false),
        ("inspect2", false, false, false, false),
        ("admin", true, true, true, true),
    ];
    let mut checked = 0;
    for (user, sees_a, sees_b, full_ids, is_admin) in matrix {
        let mut br = Browser::signed_in(&url, user).await;
        for (id, number, nid, sees) in [(&a, "4306210010001", &nid_a, sees_a), (&b, "4306210020001", &nid_b, sees_b)] {
            let page = br.get(&format!("/household/{id}")).await;
            let csv = br.get("/ledger/households.csv").await;
            assert_eq!(csv.status, 200, "{user}: ledger");
            if sees {
                assert_eq!(page.status, 200, "{user} opens {number}");
                assert!(csv.body.contains(number), "{user}: {number} in the ledger");
                for (what, body) in [("page", &page.body), ("ledger", &csv.body)] {
                    assert_eq!(body.contains(nid.as_str()), full_ids, "{user}: full ID number on the {what}");
                    let masked = doorstep_core::model::mask_national_id(nid);
                    assert!(full_ids || body.contains(&masked), "{user}: masked ID on the {what}");
                }
            } else {
                assert_eq!(page.status, 403, "{user} must not open {number}");
                assert!(!page.body.contains(nid.as_str()), "{user}: an ID number on a refusal");
                assert!(!csv.body.contains(number), "{user}: {number} leaks into the ledger");
            }
            checked += 2;
        }
        for (hash, sees) in [(&photo_a, sees_a), (&photo_b, sees_b)] {
            let p = br.get(&format!("/attachment/{hash}")).await;
            assert_eq!(p.status, if sees { 200 } else { 403 }, "{user}: attachment on the pages");
            checked += 1;
        }
        for path in ["/admin/users", "/admin/audit", "/admin/assignments"] {
            let p = br.get(path).await;
            assert_eq!(p.status == 200, is_admin, "{user} {path}: {}", p.status);
            checked += 1;
        }
    }
    // The same rules on the sync API: a fresh device of each field role pulls exactly its households.
    for (user, expect) in [
        ("helper1", vec![a.clone()]),
        ("helper2", vec![b.clone()]),
        ("doctor1", vec![a.clone()]),
        ("super2", vec![b.clone()]),
        ("admin", {
            let mut v = vec![a.clone(), b.clone()];
            v.sort();
            v
        }),
    ] {
        let (status, body, _) = api_login(&url, user, &format!("pw-{user}")).await;
        assert_eq!(status, 200, "{body}");
        let token = body["token"].as_str().unwrap().to_string();
        for (id, hash) in [(&a, &photo_a), (&b, &photo_b)] {
            let res = http().get(format!("{url}/api/v1/blobs/{hash}")).bearer_auth(&token).send().await.unwrap();
            let want = if expect.contains(id) { 200 } else { 403 };
            assert_eq!(res.status().as_u16(), want, "{user}: blob download");
            checked += 1;
        }
        let u = url.clone();
        let mut got = std::thread::spawn(move || pulled_households(&u, &token)).join().unwrap();
        got.sort();
        assert_eq!(got, expect, "{user} pulls");
        checked += 1;
    }
    // And an out-of-scope push is refused with nothing stored: helper2 records a household of 石门村 for helper1.
    // (The change rows are counted in SQLite's file; on PostgreSQL the pull below shows nothing was stored.)
    let rows = || (!doorstep_e2e::store_choice::on_postgres()).then(|| ServerDb::open(&data).change_rows());
    let before = rows();
    let c = h2.add_household("4306210010003", VILLAGE_A, "冒名户", &["helper1"]);
    let refused = h2.fails(&["sync"], None);
    assert_eq!(refused.kind(), "out_of_scope", "{}", refused.stderr);
    assert_eq!(rows(), before, "nothing of a refused push is stored");
    let (u, t) = (url.clone(), h1.meta("sync.token").unwrap());
    assert!(!std::thread::spawn(move || pulled_households(&u, &t)).join().unwrap().contains(&c));
    println!("FIGURES scope-matrix: checks={checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_actions_are_written_to_the_audit_log_shown_to_admins() {
    let f = Fixture::new();
    let url = f.server.url.clone();
    let data = f.server.data.clone();
    admin(&data, &["user", "add", "inspect9", "--role", "inspector", "--password", "pw-inspect9"]);
    let until = days_from_today(60);
    admin(&data, &["grant", "inspector", "inspect9", VILLAGE_B, "--until", &until]);
    admin(&data, &["assign", "team", TEAM, VILLAGE_B]);
    admin(&data, &["user", "disable", "helper2"]);
    let mut adm = Browser::signed_in(&url, "admin").await;
    let csrf = adm.get("/admin/users").await.field("csrf");
    let p = adm
        .post(
            "/admin/users",
            &[("csrf", &csrf), ("op", "add"), ("name", "web-made"), ("role", "helper"), ("password", "pw-web-made-1")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let audit = adm.get("/admin/audit").await;
    assert_eq!(audit.status, 200);
    for needle in [
        "user.add",
        "inspect9",
        "grant.inspector",
        until.as_str(),
        "assign.team",
        "user.disable",
        "helper2",
        "web-made",
    ] {
        assert!(audit.body.contains(needle), "the audit log misses {needle}");
    }
    // Shown to admins only.
    let mut sup = {
        admin(&data, &["user", "add", "super9", "--role", "supervisor", "--password", "pw-super9"]);
        Browser::signed_in(&url, "super9").await
    };
    assert_eq!(sup.get("/admin/audit").await.status, 403);
}
