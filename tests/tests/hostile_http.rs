//! Hostile input over HTTP: every route of the server (API and pages), each with malformed, truncated, oversized
//! and wrong-typed bodies, bad content types, garbage authorization, huge and non-UTF-8 headers, bad cookies and
//! bad paths, signed out and signed in. Every answer must be below 500 (never a 5xx, never a crash), a 4xx must
//! carry a message (an `ErrorBody` in both languages under `/api/`, an HTML page elsewhere), and the server must
//! still serve a normal sync afterwards. Raw TCP garbage (what no HTTP client sends) is checked the same way.

use doorstep_core::sync::protocol::{self, ErrorBody, MessageType, SyncRequest, WireChange};
use doorstep_e2e::faults::Rng;
use doorstep_e2e::*;
use reqwest::header::{HeaderName, HeaderValue};
use std::io::{Read, Write};
use std::time::Duration;

/// Bodies beyond this are oversized for the server under test (started with `--max-body`).
const MAX_BODY: usize = 64 * 1024;

const GET_ROUTES: &[&str] = &[
    "/",
    "/api/v1/health",
    "/login",
    "/overview",
    "/village/%E7%9F%B3%E9%97%A8%E6%9D%91",
    "/helper/helper1",
    "/household/00000000-0000-0000-0000-000000000000",
    "/ledger/households.csv",
    "/ledger/visits.csv",
    "/ledger/screenings.csv",
    "/ledger/problems.csv",
    "/admin",
    "/admin/users",
    "/admin/assignments",
    "/admin/rules",
    "/admin/grants",
    "/admin/review",
    "/admin/audit",
    "/static/style.css",
    "/api/v1/blobs/abababababababababababababababababababababababababababababababab/upload",
    "/api/v1/blobs/abababababababababababababababababababababababababababababababab",
    "/attachment/abababababababababababababababababababababababababababababababab",
    "/attachment/abababababababababababababababababababababababababababababababab/thumb",
];

const POST_ROUTES: &[&str] = &[
    "/api/v1/login",
    "/api/v1/sync",
    "/login",
    "/logout",
    "/admin/users",
    "/admin/assignments",
    "/admin/rules",
    "/admin/grants",
];

/// Paths no page has, or with hostile parameters.
const BAD_PATHS: &[&str] = &[
    "/household/..%2F..%2Fdoorstep.db",
    "/household/%FF%FE",
    "/household/%00",
    "/village/%zz",
    "/helper/%C0%AF",
    "/ledger/..%2Fdoorstep.db",
    "/ledger/households.csv?village=%zz&month=abc&lang=xx",
    "/overview?asof=9999-99-99",
    "/overview?asof=%3Cscript%3E",
    "/overview?asof=2026-02-30&month=2026-13&township=%00",
    "/admin/review?period=abcd",
    "/api/v1/nothing",
    "/api/v2/sync",
    "/static/../Cargo.toml",
    "/api/v1/blobs/..%2F..%2Fdoorstep.db",
    "/api/v1/blobs/ABCDEF/upload",
    "/api/v1/blobs/%00%FF/upload",
    "/attachment/..%2Fdoorstep.db/thumb",
    "/attachment/%FF%FE",
    "/%2e%2e/%2e%2e/etc/passwd",
];

struct Case {
    what: String,
    method: reqwest::Method,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn case(what: &str, method: reqwest::Method, path: &str, headers: Vec<(&str, Vec<u8>)>, body: Vec<u8>) -> Case {
    Case {
        what: what.to_string(),
        method,
        path: path.to_string(),
        headers: headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        body,
    }
}

/// Bodies that no client of ours sends.
fn bad_bodies(rng: &mut Rng, valid_sync: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let garbage: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    let mut nested = "[".repeat(20_000);
    nested.push_str(&"]".repeat(20_000));
    let mut wrong_version = valid_sync.to_vec();
    wrong_version[4] = 0xFF;
    let mut wrong_type = valid_sync.to_vec();
    wrong_type[6] = MessageType::SyncResponse as u8;
    let mut bad_zstd = valid_sync[..7].to_vec();
    bad_zstd.extend_from_slice(&garbage[..512]);
    vec![
        ("empty", vec![]),
        ("garbage", garbage.clone()),
        ("truncated json", br#"{"user":"adm"#.to_vec()),
        ("wrong-typed json", br#"{"user":1,"password":[],"device_name":{"a":null}}"#.to_vec()),
        ("json array", b"[]".to_vec()),
        ("json null", b"null".to_vec()),
        ("deeply nested json", nested.into_bytes()),
        ("huge json field", format!(r#"{{"user":"{}","password":"x"}}"#, "u".repeat(40_000)).into_bytes()),
        ("oversized", vec![b'a'; MAX_BODY * 2]),
        ("bad form encoding", b"csrf=%zz&op=%FF%FE&name=%&role=%%".to_vec()),
        ("invalid utf-8 form", b"csrf=\xff\xfe&op=add&name=\xc0\xaf".to_vec()),
        ("nul bytes", b"op=add\0&name=\0\0&password=\0".to_vec()),
        ("huge form value", format!("op=add&name={}&role=helper", "n".repeat(50_000)).into_bytes()),
        ("sync envelope truncated", valid_sync[..valid_sync.len().min(9)].to_vec()),
        ("sync magic only", b"DSTP".to_vec()),
        ("sync other version", wrong_version),
        ("sync wrong message type", wrong_type),
        ("sync corrupt compression", bad_zstd),
    ]
}

fn content_types() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("no content type", vec![]),
        ("json", b"application/json".to_vec()),
        ("form", b"application/x-www-form-urlencoded".to_vec()),
        ("sync", protocol::CONTENT_TYPE.as_bytes().to_vec()),
        ("multipart", b"multipart/form-data; boundary=x".to_vec()),
        ("garbage content type", b"text/\xff\xfe; charset==;;".to_vec()),
    ]
}

/// Authorization and cookie headers an attacker might send.
fn bad_credentials() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("empty bearer", "authorization", b"Bearer ".to_vec()),
        ("unknown token", "authorization", format!("Bearer {}", "ab".repeat(32)).into_bytes()),
        ("sql in token", "authorization", b"Bearer ' OR 1=1 --".to_vec()),
        ("basic auth", "authorization", b"Basic YWRtaW46cHctYWRtaW4=".to_vec()),
        ("huge authorization", "authorization", format!("Bearer {}", "A".repeat(16_000)).into_bytes()),
        ("non-utf-8 authorization", "authorization", b"Bearer \xff\xfe\xfd".to_vec()),
        ("garbage session cookie", "cookie", b"ds_session=garbage".to_vec()),
        ("huge session cookie", "cookie", format!("ds_session={}", "c".repeat(16_000)).into_bytes()),
        ("bad cookie syntax", "cookie", b"ds_session; =; ds_lang=%zz; ds_login_csrf==".to_vec()),
        ("non-utf-8 cookie", "cookie", b"ds_session=\xff\xfe; ds_lang=\xc0".to_vec()),
        ("many cookies", "cookie", (0..300).map(|i| format!("c{i}=v{i}")).collect::<Vec<_>>().join("; ").into_bytes()),
        ("huge header", "x-junk", vec![b'j'; 60_000]),
    ]
}

/// Sends one case; None when the server closed the connection without an answer (allowed only for requests
/// that break HTTP itself, checked by the caller).
async fn send(http: &reqwest::Client, url: &str, c: &Case) -> Option<(u16, String, Vec<u8>)> {
    let mut req = http.request(c.method.clone(), format!("{url}{}", c.path)).body(c.body.clone());
    for (k, v) in &c.headers {
        let name = HeaderName::from_bytes(k.as_bytes()).expect("header name");
        let value = HeaderValue::from_bytes(v).expect("header value");
        req = req.header(name, value);
    }
    let res = req.send().await.ok()?;
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let body = res.bytes().await.ok()?.to_vec();
    Some((status, ctype, body))
}

/// The answer rules: never 5xx; a 4xx with a message, an ErrorBody in both languages under `/api/`.
fn check(c: &Case, status: u16, ctype: &str, body: &[u8], failures: &mut Vec<String>) {
    let label = format!("{} {} [{}]", c.method, c.path, c.what);
    if status >= 500 {
        failures.push(format!("{label}: {status} {}", String::from_utf8_lossy(&body[..body.len().min(200)])));
        return;
    }
    if !(400..500).contains(&status) {
        return;
    }
    if c.path.starts_with("/api/") {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) if !e.message_en.is_empty() && !e.message_zh.is_empty() => {}
            _ => failures.push(format!("{label}: {status} without an ErrorBody: {:?}", String::from_utf8_lossy(body))),
        }
    } else if body.is_empty() || !ctype.starts_with("text/html") {
        failures.push(format!("{label}: {status} without a message page ({ctype:?}, {} bytes)", body.len()));
    }
}

/// Signs in through the form; returns the session cookie and its CSRF token.
async fn web_session(http: &reqwest::Client, url: &str, user: &str) -> (String, String) {
    let form = http.get(format!("{url}/login")).send().await.expect("login form");
    let cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ds_login_csrf="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("login csrf cookie");
    let csrf = cookie.split_once('=').unwrap().1.to_string();
    let res = http
        .post(format!("{url}/login"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&user={user}&password=pw-{user}"))
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status().as_u16(), 303, "{user} signs in");
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ds_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("session cookie");
    let page = http.get(format!("{url}/admin/users")).header("cookie", &session).send().await.unwrap();
    let body = page.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = body.find(marker).expect("csrf field on the page") + marker.len();
    let token = body[at..at + body[at..].find('"').unwrap()].to_string();
    (session, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_hostile_input_with_a_4xx_message_and_never_a_5xx() {
    let f = Fixture::with_server_args(&["--max-body", &MAX_BODY.to_string()]);
    let url = f.server.url.clone();
    let mut rng = Rng::from_env("hostile_http");
    let a = f.device("a", "helper1");
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    a.sync();
    let token = a.meta("sync.token").unwrap();
    let valid_sync =
        protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 1 << 20, changes: vec![] });
    // A fresh connection for each request: the server closes one after refusing a body unread (413), and a pooled
    // connection closed that way would be blamed on the next case.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let (session, csrf) = web_session(&http, &url, "admin").await;
    let bearer = format!("Bearer {token}").into_bytes();

    let mut cases = Vec::new();
    let bodies = bad_bodies(&mut rng, &valid_sync);
    // Every POST route × every bad body × every content type, signed out and signed in (session and token).
    for path in POST_ROUTES {
        for (what, body) in &bodies {
            for (ct_what, ct) in content_types() {
                let mut headers = vec![];
                if !ct.is_empty() {
                    headers.push(("content-type", ct.clone()));
                }
                let label = format!("{what}, {ct_what}");
                cases.push(case(&label, reqwest::Method::POST, path, headers.clone(), body.clone()));
                let mut signed = headers.clone();
                signed.push(("cookie", session.clone().into_bytes()));
                signed.push(("authorization", bearer.clone()));
                cases.push(case(&format!("{label}, signed in"), reqwest::Method::POST, path, signed, body.clone()));
            }
        }
        // A well-formed form with the right CSRF token but hostile values (not on /logout: it would end the session).
        if *path == "/logout" {
            continue;
        }
        for form in [
            format!("csrf={csrf}&op=add&name={}&role=king&password=x", "n".repeat(70)),
            format!("csrf={csrf}&op=add&name=x%00y&role=helper&password="),
            format!("csrf={csrf}&op=explode&name=helper1"),
            format!("csrf={csrf}&op=disable&name=nobody-at-all"),
            format!("csrf={csrf}&kind=helper&user=nobody&household=%FF"),
            format!("csrf={csrf}&monthly_visits=-1&lookahead_days=99999999999999999999"),
            format!("csrf={csrf}&user=nobody&village=&until=2026-02-30"),
        ] {
            let headers = vec![
                ("content-type", b"application/x-www-form-urlencoded".to_vec()),
                ("cookie", session.clone().into_bytes()),
            ];
            cases.push(case("hostile form values", reqwest::Method::POST, path, headers, form.into_bytes()));
        }
    }
    // Every GET route with bad credentials, and with methods it does not have.
    for path in GET_ROUTES.iter().chain(BAD_PATHS) {
        for (what, name, value) in bad_credentials() {
            cases.push(case(what, reqwest::Method::GET, path, vec![(name, value)], vec![]));
        }
        cases.push(case(
            "signed in",
            reqwest::Method::GET,
            path,
            vec![("cookie", session.clone().into_bytes())],
            vec![],
        ));
        for method in [reqwest::Method::PUT, reqwest::Method::DELETE, reqwest::Method::PATCH] {
            cases.push(case("wrong method", method, path, vec![], b"x".to_vec()));
        }
    }
    for path in POST_ROUTES {
        for (what, name, value) in bad_credentials() {
            cases.push(case(what, reqwest::Method::POST, path, vec![(name, value)], valid_sync.clone()));
        }
        cases.push(case("wrong method", reqwest::Method::GET, path, vec![], vec![]));
    }
    // Sync requests that decode but carry hostile content, with a valid token.
    let garbage_change = |doc_id: &str, kind: &str, bytes: Vec<u8>| {
        let req = SyncRequest {
            cursor: u64::MAX,
            max_bytes: u32::MAX,
            changes: vec![WireChange { doc_id: doc_id.into(), kind: kind.into(), bytes }],
        };
        protocol::encode(MessageType::SyncRequest, &req)
    };
    let sync_headers = || vec![("authorization", bearer.clone()), ("content-type", protocol::CONTENT_TYPE.into())];
    for (what, body) in [
        ("garbage change bytes", garbage_change(&h, "household", (0..300).map(|i| i as u8).collect())),
        ("empty change", garbage_change(&h, "household", vec![])),
        ("unknown kind", garbage_change("x", "nonsense", vec![1, 2, 3])),
        ("huge doc id", garbage_change(&"d".repeat(30_000), "visit", vec![0x85, 0x6f, 0x4a, 0x83])),
        ("empty doc id", garbage_change("", "visit", vec![0x85, 0x6f, 0x4a, 0x83])),
        (
            "cursor from the future",
            protocol::encode(
                MessageType::SyncRequest,
                &SyncRequest { cursor: u64::MAX, max_bytes: 0, changes: vec![] },
            ),
        ),
    ] {
        cases.push(case(what, reqwest::Method::POST, "/api/v1/sync", sync_headers(), body));
    }

    // Blob uploads and downloads with hostile ranges and bodies, with a valid token.
    let blob = format!("/api/v1/blobs/{}", "ab".repeat(32));
    let ranges: Vec<(&str, Vec<u8>)> = vec![
        ("garbage content range", b"bytes x-y/z".to_vec()),
        ("reversed content range", b"bytes 9-0/10".to_vec()),
        ("content range past its total", b"bytes 0-99/10".to_vec()),
        ("huge content range", format!("bytes 0-0/{}", u64::MAX).into_bytes()),
        ("overflowing content range", b"bytes 99999999999999999999-1/2".to_vec()),
        ("non-utf-8 content range", b"bytes \xff-\xfe/1".to_vec()),
    ];
    cases.push(case("no content range", reqwest::Method::PUT, &blob, sync_headers(), b"x".to_vec()));
    for (what, range) in ranges {
        let headers = vec![("authorization", bearer.clone()), ("content-range", range)];
        cases.push(case(what, reqwest::Method::PUT, &blob, headers, b"x".to_vec()));
    }
    for (what, body) in &bodies {
        let range = format!("bytes 0-{}/{}", body.len().max(1) - 1, body.len().max(1)).into_bytes();
        let headers = vec![("authorization", bearer.clone()), ("content-range", range)];
        cases.push(case(what, reqwest::Method::PUT, &blob, headers, body.clone()));
    }
    let page = format!("/attachment/{}", "ab".repeat(32));
    for range in [&b"bytes=99999999999999999999-"[..], b"bytes=-", b"bytes=0-0,1-1,2-2", b"bytes=\xff-", b"lines=1-2"] {
        let headers = vec![("authorization", bearer.clone()), ("range", range.to_vec())];
        cases.push(case("hostile range", reqwest::Method::GET, &blob, headers, vec![]));
        let headers = vec![("cookie", session.clone().into_bytes()), ("range", range.to_vec())];
        cases.push(case("hostile range", reqwest::Method::GET, &page, headers, vec![]));
    }

    let mut failures = Vec::new();
    let mut closed = Vec::new();
    for c in &cases {
        match send(&http, &url, c).await {
            Some((status, ctype, body)) => check(c, status, &ctype, &body, &mut failures),
            None => closed.push(format!("{} {} [{}]", c.method, c.path, c.what)),
        }
    }
    // Only an oversized body may end with the connection closed by the server's limit before the answer is read.
    closed.retain(|c| !c.contains("oversized"));
    assert!(
        failures.is_empty(),
        "{} of {} answers broke the rules:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(closed.is_empty(), "connections closed without an answer:\n{}", closed.join("\n"));

    // Still healthy: the health check, the device's next sync, the admin's pages.
    let health = http.get(format!("{url}/api/v1/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let v = a.add_visits_in_process(&h, "helper1", 1);
    let r = a.sync();
    assert_eq!(r.sent, 1, "{r:?}");
    let page = http.get(format!("{url}/admin/users")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(!v.is_empty());
    println!("FIGURES hostile-http: requests={} answered_5xx=0", cases.len());
}

/// Sends raw bytes over TCP and reads the status line of the answer, if any.
fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    // A request the server still waits on the rest of is given up after a while (its answer is not needed).
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let _ = s.take(64 * 1024).read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    text.strip_prefix("HTTP/1.1 ").and_then(|r| r.get(..3)).and_then(|c| c.parse().ok())
}

#[test]
fn broken_http_gets_a_4xx_or_a_closed_connection_and_the_server_lives_on() {
    let f = Fixture::with_server_args(&["--max-body", &MAX_BODY.to_string()]);
    let addr = f.server.addr;
    let many_headers: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let requests: Vec<Vec<u8>> = vec![
        b"GARBAGE\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}".to_vec(),
        b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
        b"POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n".to_vec(),
        b"POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nDSTP".to_vec(),
        format!("GET /overview HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
        format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(200_000)).into_bytes(),
        format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(1_000_000)).into_bytes(),
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    ];
    for r in &requests {
        if let Some(status) = raw(addr, r) {
            assert!(status < 500, "{status} for {:?}", String::from_utf8_lossy(&r[..r.len().min(80)]));
        }
    }
    assert_eq!(raw(addr, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Some(200));
}
