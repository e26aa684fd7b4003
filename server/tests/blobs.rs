//! The blob endpoints of the real server binary over loopback HTTP: chunked and resumed uploads, hash checks,
//! ranged downloads, scope, storing once, tombstones and garbage collection.

mod common;

use common::*;
use doorstep_core::attachment::{self, AttachmentKind, AttachmentLimits, AttachmentRef};
use doorstep_core::model::Visit;
use serde_json::Value;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A deterministic JPEG photo of about `edge`×`edge` pixels, noisy enough not to compress to nothing.
fn photo(edge: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(edge, edge * 3 / 4, |x, y| {
        let v =
            (x.wrapping_mul(31) ^ y.wrapping_mul(17) ^ seed.wrapping_mul(2_654_435_761)).wrapping_mul(2_246_822_519);
        image::Rgb([(v >> 24) as u8, (v >> 16) as u8, (x + y + seed) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).expect("encode jpeg");
    out
}

fn reference(bytes: &[u8]) -> AttachmentRef {
    attachment::prepare(
        bytes,
        attachment::JPEG,
        AttachmentKind::Photo,
        "水窖 water cellar",
        &AttachmentLimits::default(),
    )
    .expect("a valid photo")
}

/// helper1's phone with a household in 石门村 (team T1's village, in super1's township) and visits referring to
/// `refs`, all synced.
async fn visits_with(url: &str, refs: &[Vec<AttachmentRef>]) -> (Phone, Vec<Visit>) {
    let mut phone = Phone::login(url, "helper1").await;
    let h = phone.new_household("石门村", &["helper1"]);
    let mut visits = Vec::new();
    for r in refs {
        let mut v = phone.new_visit(&h.id);
        v.attachments = r.iter().map(|a| (a.hash.clone(), a.clone())).collect();
        phone.store.put(&v, TODAY).expect("visit with attachments");
        visits.push(v);
    }
    phone.sync_all(url).await;
    assert_eq!(phone.store.pending_count().unwrap(), 0);
    (phone, visits)
}

async fn status(url: &str, token: &str, hash: &str) -> (u16, Value) {
    let res = http().get(format!("{url}/api/v1/blobs/{hash}/upload")).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// Sends bytes `start..start+chunk.len()` of a blob of `total` bytes.
async fn put(url: &str, token: &str, hash: &str, start: u64, chunk: &[u8], total: u64) -> (u16, Value) {
    let end = start + chunk.len() as u64 - 1;
    let res = http()
        .put(format!("{url}/api/v1/blobs/{hash}"))
        .bearer_auth(token)
        .header("content-range", format!("bytes {start}-{end}/{total}"))
        .header("content-type", "application/octet-stream")
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// Uploads in chunks of `chunk` bytes; returns how many body bytes were sent.
async fn upload(url: &str, token: &str, bytes: &[u8], chunk: usize) -> u64 {
    let hash = attachment::hash_hex(bytes);
    let mut sent = 0;
    for (i, part) in bytes.chunks(chunk).enumerate() {
        let start = (i * chunk) as u64;
        let (code, body) = put(url, token, &hash, start, part, bytes.len() as u64).await;
        sent += part.len() as u64;
        let last = start + part.len() as u64 == bytes.len() as u64;
        assert_eq!(code, if last { 201 } else { 202 }, "{body}");
        assert_eq!(body["received"], start + part.len() as u64);
        assert_eq!(body["complete"], last);
    }
    sent
}

async fn get(url: &str, token: &str, hash: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = http().get(format!("{url}/api/v1/blobs/{hash}")).bearer_auth(token);
    if let Some(r) = range {
        req = req.header("range", r);
    }
    req.send().await.unwrap()
}

async fn error_code(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

/// Complete and partial blob files on disk.
fn blob_files(data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(data.join("blobs")) else { return out };
    for d in dirs.flatten() {
        for f in std::fs::read_dir(d.path()).unwrap().flatten() {
            out.push(format!("{}/{}", d.file_name().to_string_lossy(), f.file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_chunked_upload_comes_down_byte_identical_whole_or_in_ranges() {
    let dir = county();
    let server = Server::start(dir.path());
    let bytes = photo(400, 1);
    let r = reference(&bytes);
    let (phone, _) = visits_with(&server.url, &[vec![r.clone()]]).await;

    let (code, body) = status(&server.url, &phone.token, &r.hash).await;
    assert_eq!(code, 200);
    assert_eq!(body, serde_json::json!({"hash": r.hash, "size": r.size, "received": 0, "complete": false}));
    let doctor = login(&server.url, "doctor1").await;
    let (code, missing) = error_code(get(&server.url, &doctor.token, &r.hash, None).await).await;
    assert_eq!((code, missing.as_str()), (404, "blob_missing"), "referenced but not uploaded yet");

    assert_eq!(upload(&server.url, &phone.token, &bytes, 7000).await, bytes.len() as u64);
    let (_, body) = status(&server.url, &phone.token, &r.hash).await;
    assert_eq!((body["received"].as_u64(), body["complete"].as_bool()), (Some(r.size), Some(true)));

    // The doctor of the village downloads it.
    let res = get(&server.url, &doctor.token, &r.hash, None).await;
    assert_eq!(res.status().as_u16(), 200);
    let h = res.headers().clone();
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["etag"].to_str().unwrap(), format!("\"{}\"", r.hash));
    assert_eq!(h["accept-ranges"], "bytes");
    assert_eq!(h["cache-control"], "private, max-age=31536000, immutable");
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes, "byte-identical");

    let n = bytes.len();
    for (range, want, from) in [
        ("bytes=0-99", 100, 0),
        ("bytes=100-", n - 100, 100),
        ("bytes=-10", 10, n - 10),
        ("bytes=5-999999999", n - 5, 5),
    ] {
        let res = get(&server.url, &doctor.token, &r.hash, Some(range)).await;
        assert_eq!(res.status().as_u16(), 206, "{range}");
        let cr = res.headers()["content-range"].to_str().unwrap().to_string();
        assert_eq!(cr, format!("bytes {from}-{}/{n}", from + want - 1), "{range}");
        assert_eq!(res.bytes().await.unwrap().to_vec(), bytes[from..from + want], "{range}");
    }
    let res = get(&server.url, &doctor.token, &r.hash, Some(&format!("bytes={n}-"))).await;
    assert_eq!(res.headers()["content-range"].to_str().unwrap(), format!("bytes */{n}"));
    assert_eq!(error_code(res).await, (416, "bad_request".to_string()));

    let head = http().head(format!("{}/api/v1/blobs/{}", server.url, r.hash)).bearer_auth(&doctor.token);
    let head = head.send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["content-length"].to_str().unwrap(), n.to_string());
    assert!(head.bytes().await.unwrap().is_empty());
    let cached = http()
        .get(format!("{}/api/v1/blobs/{}", server.url, r.hash))
        .bearer_auth(&doctor.token)
        .header("if-none-match", format!("\"{}\"", r.hash))
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status().as_u16(), 304);
}

/// Sends a PUT whose body stops after `send` of its announced bytes, then drops the connection.
async fn cut_put(url: &str, token: &str, hash: &str, start: u64, chunk: &[u8], total: u64, send: usize) {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT /api/v1/blobs/{hash} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/octet-stream\r\nContent-Range: bytes {start}-{}/{total}\r\n\
         Content-Length: {}\r\n\r\n",
        start + chunk.len() as u64 - 1,
        chunk.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&chunk[..send]).await.unwrap();
    s.flush().await.unwrap();
    s.shutdown().await.unwrap();
    // Wait for the server to notice (it closes or answers); bounded by the client's read.
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut sink)).await;
}

#[tokio::test]
async fn an_upload_cut_after_the_first_half_resumes_with_only_the_second_half() {
    let dir = county();
    let server = Server::start(dir.path());
    let bytes = photo(500, 2);
    let r = reference(&bytes);
    let (phone, _) = visits_with(&server.url, &[vec![r.clone()]]).await;
    let half = bytes.len() / 2;
    let total = bytes.len() as u64;

    let mut sent = 0u64;
    let (code, body) = put(&server.url, &phone.token, &r.hash, 0, &bytes[..half], total).await;
    assert_eq!((code, body["received"].as_u64()), (202, Some(half as u64)));
    sent += half as u64;
    // The second chunk is cut in the middle of its body: the connection drops.
    let cut = (bytes.len() - half) / 3;
    cut_put(&server.url, &phone.token, &r.hash, half as u64, &bytes[half..], total, cut).await;
    sent += cut as u64;

    // The device asks where to continue: exactly the first half is held, nothing of the cut chunk.
    let (_, body) = status(&server.url, &phone.token, &r.hash).await;
    assert_eq!(body["received"].as_u64(), Some(half as u64));
    // Resending from zero is refused with the offset to continue at.
    let (code, body) = put(&server.url, &phone.token, &r.hash, 0, &bytes[..half], total).await;
    assert_eq!((code, body["code"].as_str()), (409, Some("upload_offset")));
    let (_, body) = status(&server.url, &phone.token, &r.hash).await;
    let at = body["received"].as_u64().unwrap() as usize;
    assert_eq!(at, half);
    let (code, body) = put(&server.url, &phone.token, &r.hash, at as u64, &bytes[at..], total).await;
    assert_eq!((code, body["complete"].as_bool()), (201, Some(true)), "{body}");
    let resumed = (bytes.len() - at) as u64;
    sent += resumed;
    assert_eq!(resumed, total - half as u64, "only the second half is sent again");
    assert_eq!(sent, total + cut as u64, "first half once, the cut part, the second half once");

    let got = get(&server.url, &phone.token, &r.hash, None).await.bytes().await.unwrap().to_vec();
    assert_eq!(got, bytes);
}

#[tokio::test]
async fn wrong_bytes_or_a_wrong_total_are_refused_and_nothing_is_kept() {
    let bytes = photo(300, 3);
    let r = reference(&bytes);
    let big = photo(600, 4);
    assert!(big.len() > bytes.len(), "{}", big.len());
    let rb = reference(&big);
    let dir = county();
    let server = Server::start_with(dir.path(), &["--max-blob", &bytes.len().to_string()]);
    let (phone, _) = visits_with(&server.url, &[vec![r.clone()], vec![rb.clone()]]).await;
    let total = bytes.len() as u64;

    // Same length, other bytes: refused at the last chunk, the partial file deleted.
    let mut forged = bytes.clone();
    forged[total as usize / 2] ^= 0xff;
    let (code, _) = put(&server.url, &phone.token, &r.hash, 0, &forged[..1000], total).await;
    assert_eq!(code, 202);
    let (code, body) = put(&server.url, &phone.token, &r.hash, 1000, &forged[1000..], total).await;
    assert_eq!((code, body["code"].as_str()), (400, Some("hash_mismatch")), "{body}");
    let (_, body) = status(&server.url, &phone.token, &r.hash).await;
    assert_eq!((body["received"].as_u64(), body["complete"].as_bool()), (Some(0), Some(false)));
    assert!(blob_files(dir.path()).iter().all(|f| !f.contains(&r.hash)), "{:?}", blob_files(dir.path()));

    // A total other than the record's size.
    let (code, body) = put(&server.url, &phone.token, &r.hash, 0, &bytes, total + 1).await;
    assert_eq!((code, body["code"].as_str()), (400, Some("hash_mismatch")));
    // Over the server's blob limit.
    let (code, body) = put(&server.url, &phone.token, &rb.hash, 0, &big[..100], rb.size).await;
    assert_eq!((code, body["code"].as_str()), (413, Some("too_large")));
    // A body that is not what Content-Range announces, and no Content-Range at all.
    let res = http()
        .put(format!("{}/api/v1/blobs/{}", server.url, r.hash))
        .bearer_auth(&phone.token)
        .header("content-range", format!("bytes 0-99/{total}"))
        .body(bytes[..50].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, (400, "bad_request".to_string()));
    let res = http()
        .put(format!("{}/api/v1/blobs/{}", server.url, r.hash))
        .bearer_auth(&phone.token)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await, (400, "bad_request".to_string()));
    assert!(blob_files(dir.path()).iter().all(|f| f.starts_with("partial/") && !f.contains(&r.hash)));

    // The right bytes still go up afterwards.
    upload(&server.url, &phone.token, &bytes, 100_000).await;
}

#[tokio::test]
async fn the_log_says_which_blob_operation_was_refused() {
    let dir = county();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = Server::start_logging(dir.path(), &[], log.into());
    let bytes = photo(200, 6);
    let r = reference(&bytes);
    let (phone, _) = visits_with(&server.url, &[vec![r.clone()]]).await;
    upload(&server.url, &phone.token, &bytes, 100_000).await;
    let outsider = login(&server.url, "helper2").await;
    assert_eq!(error_code(get(&server.url, &outsider.token, &r.hash, None).await).await.1, "out_of_scope");
    let (code, _) = put(&server.url, &outsider.token, &r.hash, 0, &bytes, r.size).await;
    assert_eq!(code, 403);
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(&log_path).unwrap();
        if text.contains("refused upload") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let download = format!("refused download: attachment {} is outside the scope of helper2", r.hash);
    assert!(text.contains(&download), "{text}");
    assert!(text.contains(&format!("refused upload: attachment {}", r.hash)), "{text}");
    assert!(!text.contains("refused push"), "a blob refusal is not a push: {text}");
}

#[tokio::test]
async fn scope_decides_who_uploads_and_downloads() {
    let dir = county();
    let server = Server::start(dir.path());
    let bytes = photo(200, 5);
    let r = reference(&bytes);
    let (phone, _) = visits_with(&server.url, &[vec![r.clone()]]).await;
    let outsider = login(&server.url, "helper2").await;

    let (code, body) = status(&server.url, &outsider.token, &r.hash).await;
    assert_eq!((code, body["code"].as_str()), (403, Some("out_of_scope")));
    let (code, body) = put(&server.url, &outsider.token, &r.hash, 0, &bytes, r.size).await;
    assert_eq!((code, body["code"].as_str()), (403, Some("out_of_scope")));
    assert!(blob_files(dir.path()).is_empty(), "nothing stored for an outsider");
    upload(&server.url, &phone.token, &bytes, 1 << 20).await;
    assert_eq!(error_code(get(&server.url, &outsider.token, &r.hash, None).await).await.1, "out_of_scope");
    for user in ["doctor1", "super1", "admin"] {
        let who = login(&server.url, user).await;
        assert_eq!(get(&server.url, &who.token, &r.hash, None).await.status().as_u16(), 200, "{user}");
    }

    // Bytes no document refers to are never taken.
    let stray = photo(100, 6);
    let stray_hash = attachment::hash_hex(&stray);
    let (code, body) = put(&server.url, &phone.token, &stray_hash, 0, &stray, stray.len() as u64).await;
    assert_eq!((code, body["code"].as_str()), (403, Some("out_of_scope")));
    assert_eq!(error_code(get(&server.url, &phone.token, &stray_hash, None).await).await.1, "out_of_scope");
    // A malformed hash, and no token.
    let (code, body) = status(&server.url, &phone.token, "ABCDEF").await;
    assert_eq!((code, body["code"].as_str()), (400, Some("bad_request")));
    let (code, body) = status(&server.url, &phone.token, &r.hash.to_uppercase()).await;
    assert_eq!((code, body["code"].as_str()), (400, Some("bad_request")));
    let res = http().get(format!("{}/api/v1/blobs/{}", server.url, r.hash)).send().await.unwrap();
    assert_eq!(error_code(res).await, (401, "unauthorized".to_string()));
}

#[tokio::test]
async fn the_same_photo_on_two_visits_is_stored_and_sent_once_and_kept_until_gc() {
    let dir = county();
    let server = Server::start(dir.path());
    let bytes = photo(300, 7);
    let r = reference(&bytes);
    let (mut phone, visits) = visits_with(&server.url, &[vec![r.clone()], vec![r.clone()]]).await;

    upload(&server.url, &phone.token, &bytes, 1 << 20).await;
    // The second visit's upload finds it complete: 200, nothing rewritten.
    let (_, body) = status(&server.url, &phone.token, &r.hash).await;
    assert_eq!(body["complete"], true);
    let (code, body) = put(&server.url, &phone.token, &r.hash, 0, &bytes, r.size).await;
    assert_eq!((code, body["complete"].as_bool()), (200, Some(true)));
    let files = blob_files(dir.path());
    assert_eq!(files, vec![format!("{}/{}", &r.hash[..2], r.hash)], "stored once");

    // A stray partial upload nobody refers to any more: a visit that dropped its attachment.
    let other = photo(200, 8);
    let ro = reference(&other);
    let mut third = phone.new_visit(&visits[0].household_id);
    third.attachments = [(ro.hash.clone(), ro.clone())].into();
    phone.store.put(&third, TODAY).unwrap();
    phone.sync_all(&server.url).await;
    put(&server.url, &phone.token, &ro.hash, 0, &other[..500], ro.size).await;
    third.attachments.clear();
    phone.store.put(&third, TODAY).unwrap();
    phone.sync_all(&server.url).await;

    // One visit deleted: the other still refers to the photo.
    phone.store.delete::<Visit>(&visits[0].id).unwrap();
    phone.sync_all(&server.url).await;
    let doctor = login(&server.url, "doctor1").await;
    assert_eq!(get(&server.url, &doctor.token, &r.hash, None).await.status().as_u16(), 200);
    let out = cli(dir.path(), &["blobs", "gc", "--dry-run"]);
    assert!(out.contains("would delete 0 complete and 1 partial"), "{out}");
    assert_eq!(blob_files(dir.path()).len(), 2, "a dry run deletes nothing");

    // Both deleted: out of reach at once, but the bytes stay until an explicit gc.
    phone.store.delete::<Visit>(&visits[1].id).unwrap();
    phone.sync_all(&server.url).await;
    assert_eq!(error_code(get(&server.url, &doctor.token, &r.hash, None).await).await.1, "out_of_scope");
    assert_eq!(blob_files(dir.path()).len(), 2);
    let out = cli(dir.path(), &["blobs", "gc", "--dry-run"]);
    assert!(out.contains(&format!("would delete 1 complete and 1 partial blobs ({} bytes)", bytes.len() + 500)));
    let out = cli(dir.path(), &["blobs", "gc"]);
    assert!(out.contains("deleted 1 complete and 1 partial"), "{out}");
    assert!(blob_files(dir.path()).is_empty(), "{:?}", blob_files(dir.path()));
    let again = cli(dir.path(), &["blobs", "gc"]);
    assert!(again.contains("deleted 0 complete and 0 partial"), "{again}");
    // Each run (not the dry ones) left one line in the audit log the admin reads.
    let mut admin = Browser::signed_in(&server.url, "admin").await;
    let (code, _, page) = admin.get("/admin/audit").await;
    let page = String::from_utf8_lossy(&page).to_string();
    assert_eq!(code, 200);
    assert_eq!(page.matches("blobs.gc").count(), 2, "{page}");
    assert!(page.contains(&format!("deleted 1 complete and 1 partial blobs, {} bytes", bytes.len() + 500)));
}

/// A browser session on the supervisors' pages (cookies kept by hand, no redirects followed).
struct Browser {
    http: reqwest::Client,
    url: String,
    cookies: Vec<String>,
}

impl Browser {
    async fn signed_in(url: &str, user: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut b = Self { http, url: url.into(), cookies: vec![] };
        let form = b.get("/login").await;
        let body = String::from_utf8_lossy(&form.2).to_string();
        let marker = "name=\"csrf\" value=\"";
        let at = body.find(marker).expect("csrf field") + marker.len();
        let csrf = body[at..at + body[at..].find('"').unwrap()].to_string();
        let res = b
            .http
            .post(format!("{url}/login"))
            .header("cookie", b.cookies.join("; "))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&user={user}&password={}", PASSWORD.replace(' ', "+")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303, "{user} signs in");
        b.keep_cookies(res.headers());
        b
    }

    fn keep_cookies(&mut self, headers: &reqwest::header::HeaderMap) {
        for c in headers.get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            self.cookies.retain(|k| !k.starts_with(&format!("{name}=")));
            self.cookies.push(pair);
        }
    }

    async fn get(&mut self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let res = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", self.cookies.join("; "))
            .send()
            .await
            .unwrap();
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        self.keep_cookies(&headers);
        (status, headers, res.bytes().await.unwrap().to_vec())
    }
}

#[tokio::test]
async fn supervisors_see_thumbnails_in_scope_and_ledgers_link_the_attachments() {
    let dir = county();
    add_user(dir.path(), "super2", "supervisor", None);
    cli(dir.path(), &["assign", "area", "super2", "--township", "东山镇"]);
    let server = Server::start(dir.path());
    let big = photo(800, 9);
    let r = reference(&big);
    let signature = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><path d=\"M0 0L9 9\"/></svg>".to_vec();
    let rs =
        attachment::prepare(&signature, attachment::SVG, AttachmentKind::Signature, "", &Default::default()).unwrap();
    let pending = photo(100, 10);
    let rp = reference(&pending);
    let (phone, visits) = visits_with(&server.url, &[vec![r.clone(), rs.clone(), rp.clone()]]).await;
    upload(&server.url, &phone.token, &big, 1 << 20).await;
    upload(&server.url, &phone.token, &signature, 1 << 20).await;

    let mut sup = Browser::signed_in(&server.url, "super1").await;
    let (code, _, page) = sup.get(&format!("/household/{}", visits[0].household_id)).await;
    let page = String::from_utf8_lossy(&page).to_string();
    assert_eq!(code, 200);
    assert!(page.contains(&format!("<a class=\"attachment\" href=\"/attachment/{}\"", r.hash)), "{page}");
    assert!(page.contains(&format!("<img src=\"/attachment/{}/thumb\"", r.hash)));
    assert!(page.contains("水窖 water cellar"));
    assert!(!page.contains(&format!("/attachment/{}/thumb", rp.hash)), "no broken image for a missing upload");
    assert!(page.contains("尚未上传"));

    let (code, headers, thumb) = sup.get(&format!("/attachment/{}/thumb", r.hash)).await;
    assert_eq!((code, headers["content-type"].to_str().unwrap()), (200, "image/jpeg"));
    assert_eq!(attachment::sniff_media_type(&thumb), Some(attachment::JPEG));
    assert!(thumb.len() < big.len(), "{} < {}", thumb.len(), big.len());
    let decoded = image::load_from_memory(&thumb).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (240, 180));
    let thumb_file = dir.path().join("blobs").join(&r.hash[..2]).join(format!("{}.thumb.jpg", r.hash));
    assert_eq!(std::fs::read(&thumb_file).unwrap(), thumb, "cached beside the blob");
    let (_, _, again) = sup.get(&format!("/attachment/{}/thumb", r.hash)).await;
    assert_eq!(again, thumb);
    let (code, headers, _) = sup.get(&format!("/attachment/{}/thumb", rs.hash)).await;
    assert_eq!((code, headers["content-type"].to_str().unwrap()), (200, "image/svg+xml"), "an icon, not the SVG");
    let (code, headers, full) = sup.get(&format!("/attachment/{}", r.hash)).await;
    assert_eq!((code, full), (200, big.clone()));
    assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let (code, _, _) = sup.get(&format!("/attachment/{}", rp.hash)).await;
    assert_eq!(code, 404, "referenced, not uploaded");
    let (code, _, _) = sup.get("/attachment/not-a-hash/thumb").await;
    assert_eq!(code, 400);

    let (code, _, csv) = sup.get("/ledger/visits.csv?month=2026-11").await;
    let csv = String::from_utf8_lossy(&csv).to_string();
    assert_eq!(code, 200);
    assert!(csv.lines().next().unwrap().ends_with(",附件"), "{csv}");
    assert!(csv.contains(&format!("/attachment/{}", r.hash)), "{csv}");

    // A supervisor of another township: neither the page nor the attachment.
    let mut other = Browser::signed_in(&server.url, "super2").await;
    let (code, _, _) = other.get(&format!("/household/{}", visits[0].household_id)).await;
    assert!(code == 403 || code == 404, "{code}");
    for path in [format!("/attachment/{}", r.hash), format!("/attachment/{}/thumb", r.hash)] {
        let (code, _, body) = other.get(&path).await;
        assert!(code == 403 || code == 404, "{path}: {code}");
        assert!(!body.starts_with(&[0xff, 0xd8]), "{path}: no image bytes");
    }
    // Signed out: sent to sign in.
    let mut anon = Browser { http: other.http.clone(), url: server.url.clone(), cookies: vec![] };
    let (code, _, _) = anon.get(&format!("/attachment/{}", r.hash)).await;
    assert_eq!(code, 303);
}

/// A PDF large and repetitive enough that gzip would pay.
fn scanned_form() -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    for i in 0..3000 {
        pdf.extend_from_slice(
            format!("{i} 0 obj << /Type /Page /Contents (村民签字 form line {i}) >> endobj\n").as_bytes(),
        );
    }
    pdf.extend_from_slice(b"%%EOF\n");
    pdf
}

#[tokio::test]
async fn a_whole_pdf_comes_down_uncompressed_with_its_length_and_ranges_for_clients_accepting_gzip() {
    let dir = county();
    let server = Server::start(dir.path());
    let pdf = scanned_form();
    let r = attachment::prepare(&pdf, attachment::PDF, AttachmentKind::Document, "表格 form", &Default::default())
        .expect("a valid PDF");
    let (phone, visits) = visits_with(&server.url, &[vec![r.clone()]]).await;
    upload(&server.url, &phone.token, &pdf, 1 << 20).await;

    let check = |who: &str, res: &reqwest::header::HeaderMap, body: &[u8]| {
        assert!(res.get("content-encoding").is_none(), "{who}: {res:?}");
        assert_eq!(res["accept-ranges"], "bytes", "{who}");
        assert_eq!(res["content-length"].to_str().unwrap(), pdf.len().to_string(), "{who}");
        assert_eq!(body, pdf.as_slice(), "{who}: byte-identical");
    };
    let res = http()
        .get(format!("{}/api/v1/blobs/{}", server.url, r.hash))
        .bearer_auth(&phone.token)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let headers = res.headers().clone();
    check("api", &headers, &res.bytes().await.unwrap());

    let sup = Browser::signed_in(&server.url, "super1").await;
    let res = sup
        .http
        .get(format!("{}/attachment/{}", server.url, r.hash))
        .header("cookie", sup.cookies.join("; "))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let headers = res.headers().clone();
    check("page", &headers, &res.bytes().await.unwrap());
    // The pages themselves are still compressed.
    let res = sup
        .http
        .get(format!("{}/household/{}", server.url, visits[0].household_id))
        .header("cookie", sup.cookies.join("; "))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers().get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"));
}

#[tokio::test]
async fn an_upload_cut_after_its_last_byte_is_finished_by_the_status_request() {
    let dir = county();
    let server = Server::start(dir.path());
    let (a, b, c) = (photo(200, 21), photo(200, 22), photo(200, 23));
    let (ra, rb, rc) = (reference(&a), reference(&b), reference(&c));
    let (phone, visits) = visits_with(&server.url, &[vec![ra.clone(), rb.clone(), rc.clone()]]).await;
    let blobs = dir.path().join("blobs");
    std::fs::create_dir_all(blobs.join("partial")).unwrap();
    // The server stopped after the last chunk's fsync, before the rename: every byte waits in the partial file,
    // and no chunk can finish it (each would start past the last byte).
    std::fs::write(blobs.join("partial").join(&ra.hash), &a).unwrap();
    let (code, body) = put(&server.url, &phone.token, &ra.hash, ra.size - 1, &a[a.len() - 1..], ra.size).await;
    assert_eq!((code, body["code"].as_str()), (409, Some("upload_offset")), "{body}");
    // Stopped after the rename, before the record: the bytes are in place, the record says nothing arrived.
    std::fs::create_dir_all(blobs.join(&rb.hash[..2])).unwrap();
    std::fs::write(blobs.join(&rb.hash[..2]).join(&rb.hash), &b).unwrap();
    // All of c's length arrived, but not c's bytes.
    let mut wrong = c.clone();
    wrong.reverse();
    std::fs::write(blobs.join("partial").join(&rc.hash), &wrong).unwrap();

    for (r, bytes) in [(&ra, &a), (&rb, &b)] {
        let (code, body) = status(&server.url, &phone.token, &r.hash).await;
        assert_eq!(code, 200);
        assert_eq!((body["received"].as_u64(), body["complete"].as_bool()), (Some(r.size), Some(true)), "{body}");
        let res = get(&server.url, &phone.token, &r.hash, None).await;
        assert_eq!(res.status().as_u16(), 200);
        assert_eq!(&res.bytes().await.unwrap().to_vec(), bytes);
    }
    assert!(!blobs.join("partial").join(&ra.hash).exists(), "moved into place");
    let (_, body) = status(&server.url, &phone.token, &rc.hash).await;
    assert_eq!((body["received"].as_u64(), body["complete"].as_bool()), (Some(0), Some(false)), "{body}");
    assert!(!blobs.join("partial").join(&rc.hash).exists(), "bytes that do not verify are dropped");
    assert_eq!(upload(&server.url, &phone.token, &c, 1 << 20).await, c.len() as u64, "sent again from byte 0");

    // The household page shows all three as uploaded.
    let mut sup = Browser::signed_in(&server.url, "super1").await;
    let (code, _, page) = sup.get(&format!("/household/{}", visits[0].household_id)).await;
    let page = String::from_utf8_lossy(&page).to_string();
    assert_eq!(code, 200);
    for r in [&ra, &rb, &rc] {
        assert!(page.contains(&format!("<img src=\"/attachment/{}/thumb\"", r.hash)), "{}: {page}", r.hash);
    }
    assert!(!page.contains("尚未上传"), "{page}");
}

#[tokio::test]
async fn bytes_a_document_calls_html_come_down_as_plain_bytes_not_as_a_page() {
    let dir = county();
    let server = Server::start(dir.path());
    let html =
        b"<html><body><form action=\"/login\" method=\"post\">password: <input name=\"password\"></form>".to_vec();
    let r = AttachmentRef {
        hash: attachment::hash_hex(&html),
        media_type: "text/html".into(),
        size: html.len() as u64,
        kind: AttachmentKind::Document,
        caption: String::new(),
    };
    // The core's validation refuses such a reference on a phone; a hostile device writes the document itself.
    let mut phone = Phone::login(&server.url, "helper1").await;
    let h = phone.new_household("石门村", &["helper1"]);
    phone.sync_all(&server.url).await;
    let mut v = doorstep_core::model::samples::visit();
    v.household_id = h.id.clone();
    v.attachments.insert(r.hash.clone(), r.clone());
    assert!(!doorstep_core::model::validate_visit(&v, TODAY).is_empty(), "a phone would not save it");
    let author = doorstep_core::doc::Author { user: "helper1".into(), device: "hostile".into() };
    let (_, change) =
        doorstep_core::doc::Document::create(&v, &automerge::ActorId::random(), &author, 1).expect("document");
    let push = doorstep_core::sync::protocol::SyncRequest {
        cursor: 0,
        max_bytes: 0,
        changes: vec![doorstep_core::sync::protocol::WireChange {
            doc_id: v.id.clone(),
            kind: "visit".into(),
            bytes: change.bytes.clone(),
        }],
    };
    assert_eq!(sync(&server.url, &phone.token, &push).await.ok().acked.len(), 1, "the server takes the document");
    upload(&server.url, &phone.token, &html, 1 << 20).await;

    let res = get(&server.url, &phone.token, &r.hash, None).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert_eq!(res.bytes().await.unwrap().to_vec(), html);
    let mut sup = Browser::signed_in(&server.url, "super1").await;
    let (code, headers, body) = sup.get(&format!("/attachment/{}", r.hash)).await;
    assert_eq!((code, headers["content-type"].to_str().unwrap()), (200, "application/octet-stream"));
    assert_eq!(body, html);
}
