//! Attachments end to end: device homes driven through the `doorstep` CLI against the real server binary. A photo
//! attached on one phone reaches another phone in scope byte for byte, never a phone out of scope; a cut upload
//! resumes without sending its first half again; the same photo on two visits goes up once; a blob the server
//! cannot verify is refused and marked broken; documents sync while a large photo waits for an unmetered network.

use doorstep_core::model::Visit;
use doorstep_core::store::Store;
use doorstep_core::sync::SyncResult;
use doorstep_e2e::*;
use std::path::{Path, PathBuf};

/// The start of a JPEG file: SOI, then the JFIF APP0 segment.
const JFIF_HEADER: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00";

/// True when a file on the phone shows a JPEG in clear: it starts like one, or holds a JPEG header anywhere.
/// (Three bytes such as ff d8 ff turn up by chance in ciphertext about once in 5 MB, so the whole header is sought.)
fn shows_a_jpeg(raw: &[u8]) -> bool {
    raw.starts_with(&[0xff, 0xd8, 0xff]) || raw.windows(JFIF_HEADER.len()).any(|w| w == JFIF_HEADER)
}

/// A JPEG-looking photo of `len` bytes: a JFIF header, then noise that depends on `seed`.
fn photo(len: usize, seed: u64) -> Vec<u8> {
    let mut out = JFIF_HEADER.to_vec();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A small PNG-looking signature.
fn signature() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend((0..2000u32).map(|i| (i % 251) as u8));
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn sha256_hex(bytes: &[u8]) -> String {
    doorstep_core::attachment::hash_hex(bytes)
}

/// helper1's phone with a household of `VILLAGE_A` (in doctor1's team's village) and one visit; returns the
/// device, the household and the visit.
fn helper_with_visit(f: &Fixture, name: &str) -> (Device, String, String) {
    let a = f.device(name, "helper1");
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    let v = a.add_visit(&h, "看了水窖");
    (a, h, v)
}

fn attach(d: &Device, doc: &str, file: &Path, kind: &str) -> String {
    d.ok(&["attach", doc, file.to_str().unwrap(), "--kind", kind, "--caption", "水窖 water cellar"])
}

fn open_attachment(d: &Device, hash: &str) -> Vec<u8> {
    let out = d.home.join(format!("opened-{hash}"));
    d.ok(&["open-attachment", hash, "--out", out.to_str().unwrap()]);
    std::fs::read(out).unwrap()
}

/// Every file under a device's blob directory.
fn device_blob_files(d: &Device) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let dir = d.home.join("store.db.blobs");
    for sub in [dir.clone(), dir.join("partial")] {
        if let Ok(entries) = std::fs::read_dir(sub) {
            out.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    out
}

/// Complete blob files in the server's data directory (`blobs/ab/abcdef…`).
fn server_blob_files(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(shards) = std::fs::read_dir(data.join("blobs")) else { return out };
    for shard in shards.flatten() {
        if shard.file_name() == "partial" || !shard.path().is_dir() {
            continue;
        }
        out.extend(std::fs::read_dir(shard.path()).unwrap().flatten().map(|e| e.path()));
    }
    out
}

fn device_key(d: &Device) -> Vec<u8> {
    let hex = std::fs::read_to_string(d.home.join("key")).unwrap();
    let hex = hex.trim();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

fn device_store(d: &Device) -> Store {
    Store::open(&d.home.join("store.db"), &device_key(d), &d.name).unwrap()
}

/// A GET with the device's own token, for what the CLI never asks (a blob of another household's visit).
fn get_with_token(url: &str, token: &str) -> (u16, serde_json::Value) {
    let (url, token) = (url.to_string(), token.to_string());
    doorstep_core::sync::runtime::block_on(async move {
        let resp = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    })
    .unwrap()
}

fn sync(d: &Device, extra: &[&str]) -> SyncResult {
    d.sync_with(extra)
}

#[test]
fn a_photo_reaches_a_device_in_scope_byte_identical_and_no_other() {
    let f = Fixture::new();
    let (a, _h, visit) = helper_with_visit(&f, "a");
    let bytes = photo(600_000, 1);
    let hash = attach(&a, &visit, &write(f.tmp.path(), "house.jpg", &bytes), "photo");
    assert_eq!(hash, sha256_hex(&bytes));
    let r = sync(&a, &[]);
    assert_eq!((r.blobs.uploaded, r.blobs.bytes_sent), (1, bytes.len() as u64), "{r:?}");
    let listed = a.json(&["attachments", &visit]);
    assert_eq!(listed[0]["upload"], "done", "{listed}");

    // doctor1 serves the household's village: the visit arrives, the photo is fetched when opened.
    let b = f.device("b", "doctor1");
    sync(&b, &[]);
    let listed = b.json(&["attachments", &visit]);
    assert_eq!((listed[0]["local"].as_bool(), listed[0]["reference"]["hash"].as_str()), (Some(false), Some(&*hash)));
    assert_eq!(open_attachment(&b, &hash), bytes);
    assert_eq!(b.json(&["attachments", &visit])[0]["local"], true);
    // Stored encrypted on that phone too.
    let files = device_blob_files(&b);
    assert_eq!(files.len(), 1);
    for file in files {
        let raw = std::fs::read(file).unwrap();
        assert!(!shows_a_jpeg(&raw), "plaintext JPEG header on the device");
    }

    // helper2 is not assigned to the household: the visit never reaches the phone, and the server refuses the blob.
    let c = f.device("c", "helper2");
    sync(&c, &[]);
    assert!(c.doc_ids("visit").is_empty());
    assert_eq!(c.fails(&["open-attachment", &hash, "--out", "/dev/null"], None).kind(), "not_found");
    let token = c.meta("sync.token").unwrap();
    let (status, body) = get_with_token(&format!("{}/api/v1/blobs/{hash}", f.server.url), &token);
    assert_eq!((status, body["code"].as_str()), (403, Some("out_of_scope")), "{body}");
}

#[test]
fn an_upload_cut_at_half_resumes_without_sending_the_first_half_again() {
    let f = Fixture::new();
    let (a, _h, visit) = helper_with_visit(&f, "a");
    let chunk = 128 * 1024;
    let bytes = photo(8 * chunk, 2);
    let hash = attach(&a, &visit, &write(f.tmp.path(), "big.jpg", &bytes), "photo");
    let chunk_arg = chunk.to_string();
    // The upload loop stops after half the chunks, as a connection lost half-way would.
    let first = sync(&a, &["--blob-chunk-bytes", &chunk_arg, "--blob-chunk-limit", "4"]);
    assert_eq!(first.sent, 3, "the household, the visit and its reference went first: {first:?}");
    assert_eq!((first.blobs.uploaded, first.blobs.bytes_sent, first.blobs.incomplete), (0, 4 * chunk as u64, true));
    let token = a.meta("sync.token").unwrap();
    let (_, status) = get_with_token(&format!("{}/api/v1/blobs/{hash}/upload", f.server.url), &token);
    assert_eq!((status["received"].as_u64(), status["complete"].as_bool()), (Some(4 * chunk as u64), Some(false)));
    assert_eq!(a.json(&["attachments", &visit])[0]["confirmed"], 4 * chunk as u64);

    let second = sync(&a, &["--blob-chunk-bytes", &chunk_arg]);
    assert_eq!(second.blobs.uploaded, 1, "{second:?}");
    assert_eq!(second.blobs.bytes_sent, (bytes.len() - 4 * chunk) as u64, "only the missing half is sent");
    // Nothing is sent a third time.
    let third = sync(&a, &[]);
    assert_eq!((third.blobs.uploaded, third.blobs.bytes_sent), (0, 0));

    let b = f.device("b", "doctor1");
    sync(&b, &[]);
    assert_eq!(open_attachment(&b, &hash), bytes);
}

#[test]
fn the_same_photo_on_two_visits_is_stored_and_sent_once() {
    let f = Fixture::new();
    let (a, h, v1) = helper_with_visit(&f, "a");
    let v2 = a.add_visit(&h, "第二次走访");
    let bytes = photo(300_000, 3);
    let file = write(f.tmp.path(), "same.jpg", &bytes);
    let hash = attach(&a, &v1, &file, "photo");
    assert_eq!(attach(&a, &v2, &file, "photo"), hash);
    assert_eq!(device_blob_files(&a).len(), 1, "stored once on the device");
    let r = sync(&a, &[]);
    assert_eq!((r.blobs.uploaded, r.blobs.bytes_sent), (1, bytes.len() as u64), "{r:?}");
    assert_eq!(server_blob_files(&f.server.data).len(), 1, "stored once on the server");

    // A third visit with the same photo, later: the server has it, nothing is sent.
    let v3 = a.add_visit(&h, "第三次走访");
    attach(&a, &v3, &file, "photo");
    let r = sync(&a, &[]);
    assert_eq!((r.sent, r.blobs.bytes_sent), (2, 0), "{r:?}");
    assert_eq!(server_blob_files(&f.server.data).len(), 1);

    // Deleting one visit keeps the photo for the others; detaching it from the last ones removes it from the phone.
    a.open().delete_visit(v1).unwrap();
    assert_eq!(open_attachment(&a, &hash), bytes);
    assert_eq!(a.ok(&["detach", &v2, &hash]), "detached");
    assert_eq!(device_blob_files(&a).len(), 1);
    a.ok(&["detach", &v3, &hash]);
    assert!(device_blob_files(&a).is_empty());
    assert_eq!(a.fails(&["detach", &v3, &hash], None).kind(), "not_found");
}

#[test]
fn a_blob_the_server_cannot_verify_is_refused_and_marked_broken() {
    let f = Fixture::new();
    let (a, _h, visit) = helper_with_visit(&f, "a");
    let bytes = photo(50_000, 4);
    let hash = attach(&a, &visit, &write(f.tmp.path(), "p.jpg", &bytes), "photo");
    // The document claims another size than the bytes have (a corrupt reference): the server refuses the upload.
    {
        let mut store = device_store(&a);
        let mut v: Visit = store.get(&visit).unwrap();
        v.attachments.get_mut(&hash).unwrap().size += 1;
        store.put(&v, "2026-11-29").unwrap();
    }
    let r = sync(&a, &[]);
    assert_eq!((r.blobs.broken, r.blobs.uploaded), (1, 0), "{r:?}");
    assert_eq!(a.json(&["attachments", &visit])[0]["upload"], "broken");
    // Broken is final: the next sync sends nothing of it.
    let again = sync(&a, &[]);
    assert_eq!((again.blobs.broken, again.blobs.bytes_sent), (0, 0), "{again:?}");
    // Nothing was stored: another phone in scope cannot open it.
    let b = f.device("b", "doctor1");
    sync(&b, &[]);
    assert_eq!(b.fails(&["open-attachment", &hash, "--out", "/dev/null"], None).kind(), "blob_missing");

    // A damaged file on the phone is never sent: marked broken at once.
    let h2 = a.add_household("4306210010002", VILLAGE_A, "李四", &["helper1"]);
    let v2 = a.add_visit(&h2, "另一户");
    let other = photo(40_000, 5);
    let other_hash = attach(&a, &v2, &write(f.tmp.path(), "q.jpg", &other), "photo");
    {
        let store = device_store(&a);
        let path = store.blob_dir().path_of(&other_hash).unwrap();
        let mut raw = std::fs::read(&path).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 0x55;
        std::fs::write(&path, raw).unwrap();
    }
    let r = sync(&a, &[]);
    assert_eq!((r.blobs.broken, r.blobs.bytes_sent), (1, 0), "{r:?}");
}

#[test]
fn documents_sync_while_a_large_photo_waits_for_an_unmetered_network() {
    let f = Fixture::new();
    let (a, _h, visit) = helper_with_visit(&f, "a");
    let big = photo(1_800_000, 6);
    let sig = signature();
    let big_hash = attach(&a, &visit, &write(f.tmp.path(), "big.jpg", &big), "photo");
    let sig_hash = attach(&a, &visit, &write(f.tmp.path(), "sig.png", &sig), "signature");

    let r = sync(&a, &["--metered"]);
    assert_eq!(r.sent, 4, "the household, the visit and both references went at once: {r:?}");
    assert_eq!((r.blobs.uploaded, r.blobs.deferred, r.blobs.bytes_sent), (1, 1, sig.len() as u64), "{r:?}");
    let status = a.status();
    assert_eq!((status["pending"].as_u64(), status["pending_blobs"].as_u64()), (Some(0), Some(1)), "{status}");
    assert_eq!(status["pending_blob_bytes"].as_u64(), Some(big.len() as u64));

    let b = f.device("b", "doctor1");
    sync(&b, &[]);
    assert_eq!(b.doc_ids("visit"), vec![visit.clone()], "the visit reached the other phone");
    assert_eq!(open_attachment(&b, &sig_hash), sig);
    let waiting = b.fails(&["open-attachment", &big_hash, "--out", "/dev/null"], None);
    assert_eq!(waiting.kind(), "blob_missing", "{waiting:?}");

    // Allowed over metered data, or back on Wi-Fi: the photo goes.
    let r = sync(&a, &["--metered", "--allow-metered"]);
    assert_eq!((r.blobs.uploaded, r.blobs.bytes_sent), (1, big.len() as u64), "{r:?}");
    assert_eq!(open_attachment(&b, &big_hash), big);
}

#[test]
fn an_upload_cut_by_a_dying_server_resumes_from_what_the_server_kept() {
    use doorstep_e2e::proxy::{Proxy, Trigger};
    let mut f = Fixture::new();
    let data = f.server.data.clone();
    let proxy = Proxy::start(f.server.addr);
    let a = f.device_at("a", "helper1", &proxy.url());
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    let visit = a.add_visit(&h, "看了水窖");
    let bytes = photo(1024 * 1024, 7);
    let hash = attach(&a, &visit, &write(f.tmp.path(), "big.jpg", &bytes), "photo");
    // The documents first, the photo waiting for Wi-Fi.
    let r = sync(&a, &["--metered"]);
    assert_eq!((r.sent, r.blobs.deferred), (3, 1), "{r:?}");

    // On Wi-Fi the upload starts; the server dies about half-way through the photo's bytes.
    proxy.arm(Trigger::RequestBytes(bytes.len() as u64 / 2), f.server.pid());
    let cut = a.fails(&["sync", "--json", "--blob-chunk-bytes", "65536"], None);
    assert!(proxy.fired(), "the server was killed mid-upload: {cut:?}");
    assert_eq!(cut.kind(), "network", "{cut:?}");
    proxy.arm(Trigger::RequestBytes(u64::MAX), 0);
    f.server.kill();
    f.server = Server::start(&data);
    proxy.set_upstream(f.server.addr);

    let token = a.meta("sync.token").unwrap();
    let (_, status) = get_with_token(&format!("{}/api/v1/blobs/{hash}/upload", f.server.url), &token);
    let kept = status["received"].as_u64().unwrap();
    assert!(kept > 0 && kept < bytes.len() as u64, "the server kept part of the photo: {status}");
    let r = sync(&a, &["--blob-chunk-bytes", "65536"]);
    assert_eq!(r.blobs.uploaded, 1, "{r:?}");
    assert_eq!(r.blobs.bytes_sent, bytes.len() as u64 - kept, "only what the server did not keep is sent again");

    let b = f.device("b", "doctor1");
    sync(&b, &[]);
    assert_eq!(open_attachment(&b, &hash), bytes);
}

#[test]
fn prefetch_fetches_the_photos_of_the_users_own_households_ahead_of_opening() {
    let f = Fixture::new();
    let (a, _h, visit) = helper_with_visit(&f, "a");
    let bytes = photo(200_000, 8);
    let hash = attach(&a, &visit, &write(f.tmp.path(), "p.jpg", &bytes), "photo");
    sync(&a, &[]);
    // helper1's second phone: the household is its own, so with --prefetch the photo comes down with the sync.
    let second = f.device("a2", "helper1");
    let r = sync(&second, &["--prefetch"]);
    assert_eq!((r.blobs.downloaded, r.blobs.bytes_received), (1, bytes.len() as u64), "{r:?}");
    assert_eq!(second.json(&["attachments", &visit])[0]["local"], true);
    // doctor1 sees the visit but the household is not assigned to it: nothing is fetched until opened.
    let doctor = f.device("d", "doctor1");
    let r = sync(&doctor, &["--prefetch"]);
    assert_eq!(r.blobs.downloaded, 0, "{r:?}");
    assert_eq!(doctor.json(&["attachments", &visit])[0]["local"], false);
    assert_eq!(open_attachment(&doctor, &hash), bytes);
}

#[test]
fn a_download_cut_by_a_dying_server_resumes_from_the_bytes_already_on_the_phone() {
    use doorstep_e2e::proxy::{Proxy, Trigger};
    let mut f = Fixture::new();
    let data = f.server.data.clone();
    let (a, _h, visit) = helper_with_visit(&f, "a");
    let bytes = photo(1024 * 1024, 9);
    let hash = attach(&a, &visit, &write(f.tmp.path(), "p.jpg", &bytes), "photo");
    sync(&a, &[]);
    let proxy = Proxy::start(f.server.addr);
    let b = f.device_at("b", "doctor1", &proxy.url());
    sync(&b, &[]);

    // The server dies after about 600 KB of the photo came down (chunks of 256 KiB: two are whole on the phone).
    proxy.arm(Trigger::ResponseBytes(600_000), f.server.pid());
    let out = b.home.join("p.jpg");
    let cut = b.fails(&["open-attachment", &hash, "--out", out.to_str().unwrap()], None);
    assert!(proxy.fired(), "{cut:?}");
    assert_eq!(cut.kind(), "network", "{cut:?}");
    let held = device_store(&b).blob_dir().partial_len(&hash).unwrap();
    assert!(held > 0 && held < bytes.len() as u64, "a partial download is kept: {held}");
    for file in device_blob_files(&b) {
        let raw = std::fs::read(file).unwrap();
        assert!(!shows_a_jpeg(&raw), "the partial download is encrypted too");
    }

    proxy.arm(Trigger::RequestBytes(u64::MAX), 0);
    f.server.kill();
    f.server = Server::start(&data);
    proxy.set_upstream(f.server.addr);
    proxy.arm(Trigger::ResponseBytes(u64::MAX), 0);
    assert_eq!(open_attachment(&b, &hash), bytes);
    // Only the rest came down: the response bytes after the restart are the missing part plus HTTP headers.
    let rest = bytes.len() as u64 - held;
    let fetched = proxy.response_bytes();
    assert!(fetched >= rest && fetched < rest + 16 * 1024, "fetched {fetched} bytes for the missing {rest}");
    assert_eq!(device_store(&b).blob_dir().partial_len(&hash).unwrap(), 0);
}
