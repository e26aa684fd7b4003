use super::*;
use crate::attachment::{AttachmentError, JPEG, PNG};
use crate::model::samples;
use crate::store::KEY_LEN;

const TODAY: &str = "2026-11-29";
const KEY: [u8; KEY_LEN] = [42; KEY_LEN];

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("store.db"), &KEY, "phone-a").unwrap()
}

/// The start of a JPEG file: SOI, then the JFIF APP0 segment.
const JFIF_HEADER: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00";
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A JPEG-looking blob of `len` bytes (a JFIF header, then bytes that depend on `seed`).
fn jpeg(len: usize, seed: u8) -> Vec<u8> {
    let mut b = JFIF_HEADER.to_vec();
    b.extend((0..len.saturating_sub(JFIF_HEADER.len())).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    b
}

fn png(len: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.resize(len.max(8), 7);
    b
}

fn saved_visit(s: &mut Store) -> String {
    let mut v = samples::visit();
    v.id = crate::model::new_id();
    s.put(&v, TODAY).unwrap();
    v.id
}

/// Every file under the blob directory, partial downloads included.
fn blob_files(s: &Store) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in [s.blob_dir().dir().to_path_buf(), s.blob_dir().dir().join("partial")] {
        if let Ok(entries) = fs::read_dir(&sub) {
            out.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    out.sort();
    out
}

fn state(s: &Store) -> (u64, Vec<PathBuf>, i64) {
    let rows = s.conn().query_row("SELECT count(*) FROM attachments", [], |r| r.get(0)).unwrap();
    (s.pending_count().unwrap(), blob_files(s), rows)
}

#[test]
fn attach_then_read_back_byte_identical_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let visit = saved_visit(&mut s);
    let bytes = jpeg(5000, 1);
    let r = s.attach(&visit, &bytes, JPEG, AttachmentKind::Photo, "水窖 water cellar").unwrap();
    assert_eq!(r.hash, attachment::hash_hex(&bytes));
    assert_eq!(s.blob(&r.hash).unwrap().unwrap(), bytes);
    let listed = s.attachments(&visit).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].reference, r);
    assert!(listed[0].local);
    assert_eq!(listed[0].upload, UploadState::Pending);
    // The reference is in the document, as a change to push like any edit.
    assert_eq!(s.get::<Visit>(&visit).unwrap().attachments.get(&r.hash), Some(&r));
    assert_eq!(s.pending_changes(usize::MAX).unwrap().len(), 2);
    // The document's change is not acknowledged yet: the blob waits for it.
    assert!(s.pending_uploads().unwrap().is_empty());
    let hashes: Vec<String> = s.pending_changes(usize::MAX).unwrap().into_iter().map(|p| p.change.hash).collect();
    s.mark_acked(&hashes).unwrap();
    assert_eq!(s.pending_uploads().unwrap().iter().map(|b| b.hash.clone()).collect::<Vec<_>>(), vec![r.hash.clone()]);
    // It survives reopening.
    drop(s);
    let s = open(&dir);
    assert_eq!(s.blob(&r.hash).unwrap().unwrap(), bytes);
    assert!(s.blob(&attachment::hash_hex(b"other")).unwrap().is_none());
    assert!(matches!(s.blob("../../etc/passwd"), Err(Error::Attachment(AttachmentError::BadHash))));
}

#[test]
fn the_same_bytes_on_two_visits_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let (a, b) = (saved_visit(&mut s), saved_visit(&mut s));
    let bytes = jpeg(3000, 2);
    let ra = s.attach(&a, &bytes, JPEG, AttachmentKind::Photo, "").unwrap();
    let rb = s.attach(&b, &bytes, JPEG, AttachmentKind::Photo, "again").unwrap();
    assert_eq!(ra.hash, rb.hash);
    assert_eq!(blob_files(&s).len(), 1);
    let rows: i64 = s.conn().query_row("SELECT count(*) FROM attachments", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 1);
    // The quota counts it once.
    assert_eq!(s.pending_upload_bytes().unwrap(), 3000);
    // Attaching the very same reference again changes nothing.
    let before = s.pending_count().unwrap();
    s.attach(&a, &bytes, JPEG, AttachmentKind::Photo, "").unwrap();
    assert_eq!(s.pending_count().unwrap(), before);
}

#[test]
fn limits_and_quota_are_typed_errors_that_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let visit = saved_visit(&mut s);
    s.set_attachment_limits(AttachmentLimits {
        max_photo: 4000,
        device_quota: 6000,
        max_per_document: 2,
        ..AttachmentLimits::default()
    });
    let before = state(&s);
    let err = s.attach(&visit, &jpeg(4001, 1), JPEG, AttachmentKind::Photo, "").unwrap_err();
    assert!(matches!(err, Error::Attachment(AttachmentError::TooLarge { limit: 4000, size: 4001, .. })), "{err}");
    let public = crate::error::DoorstepError::from(err);
    assert!(
        matches!(&public, crate::error::DoorstepError::AttachmentRefused { code, limit: 4000, .. } if code == "too_large")
    );
    let err = s.attach(&visit, &png(100), JPEG, AttachmentKind::Photo, "").unwrap_err();
    assert!(matches!(err, Error::Attachment(AttachmentError::ContentMismatch { .. })), "{err}");
    assert_eq!(state(&s), before);

    s.attach(&visit, &jpeg(4000, 1), JPEG, AttachmentKind::Photo, "").unwrap();
    let before = state(&s);
    let err = s.attach(&visit, &jpeg(2001, 2), JPEG, AttachmentKind::Photo, "").unwrap_err();
    assert!(matches!(err, Error::AttachmentQuota { used: 4000, size: 2001, quota: 6000 }), "{err}");
    assert!(err.to_string().contains("6000"));
    match crate::error::DoorstepError::from(err) {
        crate::error::DoorstepError::AttachmentRefused { code, limit, .. } => {
            assert_eq!((code.as_str(), limit), ("quota_exceeded", 6000))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(state(&s), before);

    s.attach(&visit, &png(100), PNG, AttachmentKind::Signature, "").unwrap();
    let before = state(&s);
    let err = s.attach(&visit, &png(101), PNG, AttachmentKind::Signature, "").unwrap_err();
    assert!(matches!(err, Error::TooManyAttachments { limit: 2 }), "{err}");
    assert_eq!(state(&s), before);
    assert_eq!(s.get::<Visit>(&visit).unwrap().attachments.len(), 2);

    // Only visits and screenings carry attachments.
    let h = samples::household();
    s.put(&h, TODAY).unwrap();
    assert!(matches!(s.attach(&h.id, &png(10), PNG, AttachmentKind::Signature, ""), Err(Error::Validation(_))));
    assert!(matches!(s.attach("nope", &png(10), PNG, AttachmentKind::Signature, ""), Err(Error::NotFound { .. })));
}

#[test]
fn no_blob_file_holds_a_plaintext_image_header_and_a_wrong_key_cannot_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let visit = saved_visit(&mut s);
    let photo = jpeg(20_000, 3);
    let r = s.attach(&visit, &photo, JPEG, AttachmentKind::Photo, "").unwrap();
    s.attach(&visit, &png(500), PNG, AttachmentKind::Signature, "").unwrap();
    // A partial download too.
    let other = jpeg(9000, 4);
    let other_hash = attachment::hash_hex(&other);
    s.blob_dir().append_partial(&other_hash, 0, &other[..4000]).unwrap();
    let files = blob_files(&s);
    assert_eq!(files.len(), 3);
    for f in &files {
        let bytes = fs::read(f).unwrap();
        // No file starts like an image, and no image header or run of the photo is anywhere in one. (Three bytes
        // such as ff d8 ff do turn up by chance in ciphertext, about once in 5 MB, so whole headers are checked.)
        assert!(!bytes.starts_with(&[0xff, 0xd8, 0xff]) && !bytes.starts_with(b"\x89PNG"), "{}", f.display());
        for needle in [JFIF_HEADER, PNG_SIGNATURE, &photo[100..140]] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "plaintext in {}", f.display());
        }
        // File names do not reveal the hash either.
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert_ne!(name, r.hash);
        assert_ne!(name, other_hash);
    }
    // Another key names the files differently and cannot open them.
    let wrong = BlobDir::new(&dir.path().join("store.db"), &[1; KEY_LEN]).unwrap();
    assert!(wrong.read(&r.hash).unwrap().is_none());
    let sealed = fs::read(s.blob_dir().path_of(&r.hash).unwrap()).unwrap();
    assert!(wrong.keys.open(&sealed, r.hash.as_bytes()).is_none());
    assert!(s.blob_dir().keys.open(&sealed, r.hash.as_bytes()).is_some());
    // Copied under the wrong key's name, it is a typed error, not garbage bytes.
    fs::copy(s.blob_dir().path_of(&r.hash).unwrap(), wrong.path_of(&r.hash).unwrap()).unwrap();
    assert!(matches!(wrong.read(&r.hash), Err(Error::BlobCorrupt { .. })));
    // A damaged file is refused by its tag.
    let mut damaged = sealed.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    fs::write(s.blob_dir().path_of(&r.hash).unwrap(), &damaged).unwrap();
    assert!(matches!(s.blob(&r.hash), Err(Error::BlobCorrupt { .. })));
}

#[test]
fn rekey_re_encrypts_blob_files() {
    let dir = tempfile::tempdir().unwrap();
    let photo = jpeg(7000, 5);
    let hash;
    let old_files;
    {
        let mut s = open(&dir);
        let visit = saved_visit(&mut s);
        hash = s.attach(&visit, &photo, JPEG, AttachmentKind::Photo, "").unwrap().hash;
        old_files = blob_files(&s);
        s.rekey(&[9; KEY_LEN]).unwrap();
        assert_eq!(s.blob(&hash).unwrap().unwrap(), photo);
        let new_files = blob_files(&s);
        assert_eq!(new_files.len(), 1);
        assert_ne!(new_files, old_files);
    }
    let s = Store::open(&dir.path().join("store.db"), &[9; KEY_LEN], "x").unwrap();
    assert_eq!(s.blob(&hash).unwrap().unwrap(), photo);
    // The old key opens nothing any more.
    let old = BlobDir::new(&dir.path().join("store.db"), &KEY).unwrap();
    assert!(old.read(&hash).unwrap().is_none());
    let sealed = fs::read(s.blob_dir().path_of(&hash).unwrap()).unwrap();
    assert!(old.keys.open(&sealed, hash.as_bytes()).is_none());
}

#[test]
fn a_rekey_cut_before_the_store_key_changed_leaves_a_working_store() {
    let dir = tempfile::tempdir().unwrap();
    let photo = jpeg(3000, 6);
    let hash;
    {
        let mut s = open(&dir);
        let visit = saved_visit(&mut s);
        hash = s.attach(&visit, &photo, JPEG, AttachmentKind::Photo, "").unwrap().hash;
        // The new key's files are written, then the app dies before the SQLite key changes.
        s.rekey_blobs(&[9; KEY_LEN]).unwrap();
        assert_eq!(blob_files(&s).len(), 2);
    }
    let s = open(&dir);
    assert_eq!(s.blob(&hash).unwrap().unwrap(), photo);
    assert_eq!(blob_files(&s).len(), 1, "the other key's copy is swept at open");
}

#[test]
fn a_tombstone_keeps_a_blob_another_live_document_refers_to() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let (a, b) = (saved_visit(&mut s), saved_visit(&mut s));
    let shared = jpeg(2000, 7);
    let only_a = jpeg(2100, 8);
    let h_shared = s.attach(&a, &shared, JPEG, AttachmentKind::Photo, "").unwrap().hash;
    s.attach(&b, &shared, JPEG, AttachmentKind::Photo, "").unwrap();
    let h_only = s.attach(&a, &only_a, JPEG, AttachmentKind::Photo, "").unwrap().hash;
    s.delete::<Visit>(&a).unwrap();
    assert_eq!(s.blob(&h_shared).unwrap().unwrap(), shared);
    assert!(s.blob(&h_only).unwrap().is_none(), "no live document refers to it any more");
    assert!(s.blob_info(&h_only).unwrap().is_none());
    assert_eq!(blob_files(&s).len(), 1);
    // Detaching the last reference removes the bytes.
    s.detach(&b, &h_shared).unwrap();
    assert!(s.blob(&h_shared).unwrap().is_none());
    assert!(blob_files(&s).is_empty());
    assert!(matches!(s.detach(&b, &h_shared), Err(Error::NotFound { .. })));
}

#[test]
fn a_partial_download_resumes_and_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let bytes = jpeg(10_000, 9);
    let hash = attachment::hash_hex(&bytes);
    let blobs = s.blob_dir();
    blobs.append_partial(&hash, 0, &bytes[..3000]).unwrap();
    // A torn frame at the end (a killed app) is ignored and cut off.
    let partial = blobs.partial_path(&hash).unwrap();
    let mut f = fs::OpenOptions::new().append(true).open(&partial).unwrap();
    f.write_all(&[0, 0, 9, 0, 1, 2, 3]).unwrap();
    drop(f);
    assert_eq!(blobs.partial_len(&hash).unwrap(), 3000);
    assert!(matches!(blobs.append_partial(&hash, 2000, &bytes[2000..]), Err(Error::Validation(_))));
    blobs.append_partial(&hash, 3000, &bytes[3000..]).unwrap();
    assert_eq!(blobs.finish_partial(&hash).unwrap(), bytes);
    assert_eq!(blobs.read(&hash).unwrap().unwrap(), bytes);
    assert_eq!(blobs.partial_len(&hash).unwrap(), 0);
    // Bytes that do not hash to the name are dropped.
    let wrong = attachment::hash_hex(b"something else");
    blobs.append_partial(&wrong, 0, &bytes).unwrap();
    assert!(matches!(blobs.finish_partial(&wrong), Err(Error::BlobCorrupt { .. })));
    assert_eq!(blobs.partial_len(&wrong).unwrap(), 0);
    assert!(!blobs.contains(&wrong));
}

#[test]
fn pulled_documents_make_their_blobs_known_but_not_local() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let mut a = open(&other);
    let visit = saved_visit(&mut a);
    let photo = jpeg(1500, 10);
    let hash = a.attach(&visit, &photo, JPEG, AttachmentKind::Photo, "").unwrap().hash;
    let (_, mut doc) = a.load_doc(&visit).unwrap().unwrap();
    let mut b = open(&dir);
    let incoming = super::super::Incoming {
        doc_id: visit.clone(),
        kind: DocKind::Visit,
        snapshot: Some(doc.save()),
        changes: vec![],
    };
    b.apply_incoming(&[incoming], "sync.cursor", "1").unwrap();
    let listed = b.attachments(&visit).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].local);
    assert_eq!(listed[0].upload, UploadState::NotNeeded);
    assert_eq!(b.missing_blobs(None).unwrap().len(), 1);
    assert!(b.pending_uploads().unwrap().is_empty());
    assert!(b.blob(&hash).unwrap().is_none());

    // The same bytes attached here too (the document already refers to them): now local, to upload.
    b.attach(&visit, &photo, JPEG, AttachmentKind::Photo, "").unwrap();
    let listed = b.attachments(&visit).unwrap();
    assert_eq!((listed.len(), listed[0].local, listed[0].upload), (1, true, UploadState::Pending));
    assert_eq!(b.blob(&hash).unwrap().unwrap(), photo);
}

#[test]
fn a_document_forgotten_by_the_device_does_not_keep_its_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let visit = saved_visit(&mut s);
    let hash = s.attach(&visit, &jpeg(1000, 11), JPEG, AttachmentKind::Photo, "").unwrap().hash;
    // As when a document leaves the device's scope and is wiped: its row goes, the reference row may linger.
    s.conn().execute("DELETE FROM docs WHERE id = ?1", [&visit]).unwrap();
    assert!(s.pending_uploads().unwrap().is_empty());
    assert_eq!(s.sweep_blobs().unwrap(), 1);
    assert!(s.blob(&hash).unwrap().is_none());
    assert!(s.blob_info(&hash).unwrap().is_none());
}

#[test]
fn a_set_aside_visit_keeps_its_photo_on_the_device_and_takes_it_back_when_put_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = open(&dir);
    let h = samples::household();
    s.put(&h, TODAY).unwrap();
    let mut v = samples::visit();
    v.id = crate::model::new_id();
    v.household_id = h.id.clone();
    s.put(&v, TODAY).unwrap();
    let visit = v.id;
    let photo = jpeg(3000, 9);
    let hash = s.attach(&visit, &photo, JPEG, AttachmentKind::Photo, "").unwrap().hash;

    assert!(s.set_aside(&visit, crate::store::scope_exit::reason::REFUSED).unwrap());
    s.sweep_blobs().unwrap();
    drop(s);
    // Reopening sweeps again: the photo of the set-aside visit is still there, byte for byte.
    let mut s = open(&dir);
    assert_eq!(s.blob(&hash).unwrap().as_deref(), Some(photo.as_slice()));
    assert!(s.pending_uploads().unwrap().is_empty(), "nothing of it uploads while it is set aside");

    // Its household changes (a pulled page, or an edit here): the visit is put back, with its photo.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let mut edited = h.clone();
    edited.phone = "13900001111".into();
    s.put(&edited, TODAY).unwrap();
    assert_eq!(s.retry_set_aside().unwrap(), vec![visit.clone()]);
    assert_eq!(s.set_aside_count().unwrap(), 0);
    assert_eq!(s.attachments(&visit).unwrap().len(), 1);
    assert!(s.pending_count().unwrap() > 0, "its changes are queued again");
}
