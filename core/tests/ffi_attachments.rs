//! Bad input to the attachment methods of the FFI object `Doorstep`, as a buggy or hostile app could send it: a
//! missing file, a file over the limit, unknown records and hashes, a path in place of a hash, a household instead
//! of a visit, bytes of no known type. Each comes back as a typed `DoorstepError` (never a panic) and the store,
//! including its attachment rows and blob files, is as it was.

use doorstep_core::attachment::{AttachmentKind, AttachmentLimits};
use doorstep_core::error::DoorstepError;
use doorstep_core::ffi::Doorstep;
use doorstep_core::model::samples;
use std::path::Path;
use std::sync::Arc;

fn open(path: &Path) -> Arc<Doorstep> {
    Doorstep::open(path.to_string_lossy().into(), vec![0x33; 32], "phone-ffi".into()).unwrap()
}

fn refused_code(r: Result<impl std::fmt::Debug, DoorstepError>) -> String {
    match r {
        Err(DoorstepError::AttachmentRefused { code, detail, detail_zh, .. }) => {
            assert!(!detail.is_empty() && !detail_zh.is_empty());
            code
        }
        other => panic!("expected AttachmentRefused, got {other:?}"),
    }
}

/// Attachment rows, reference rows and blob files: what a refused call must leave unchanged.
fn state(app: &Doorstep, dir: &Path, visit: &str) -> (usize, u64, Vec<String>) {
    let files = std::fs::read_dir(dir.join("s.db.blobs"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    (app.list_attachments(visit.into()).unwrap().len(), app.pending_changes().unwrap(), files)
}

#[test]
fn bad_attachment_input_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = open(&dir.path().join("s.db"));
    let household = app.save_household(samples::household()).unwrap();
    let mut v = samples::visit();
    v.id = String::new();
    v.household_id = household.clone();
    let visit = app.save_visit(v).unwrap();
    let jpeg = [&[0xff, 0xd8, 0xff, 0xe0][..], &[7u8; 1000]].concat();
    app.attach_bytes(visit.clone(), jpeg.clone(), AttachmentKind::Photo, "".into(), None).unwrap();
    let before = state(&app, dir.path(), &visit);

    let missing = dir.path().join("no-such.jpg").to_string_lossy().into_owned();
    let r = app.attach_file(visit.clone(), missing, AttachmentKind::Photo, "".into(), None);
    assert!(matches!(r, Err(DoorstepError::Storage { .. })), "{r:?}");

    app.set_attachment_limits(AttachmentLimits { max_photo: 500, ..AttachmentLimits::default() }).unwrap();
    let big = dir.path().join("big.jpg");
    std::fs::write(&big, &jpeg).unwrap();
    let r = app.attach_file(visit.clone(), big.to_string_lossy().into(), AttachmentKind::Photo, "".into(), None);
    assert_eq!(refused_code(r), "too_large");
    assert_eq!(app.attachment_limits().unwrap().max_photo, 500);
    app.set_attachment_limits(AttachmentLimits::default()).unwrap();

    let r = app.attach_bytes(visit.clone(), b"MZ\x90\0 not an image".to_vec(), AttachmentKind::Photo, "".into(), None);
    assert_eq!(refused_code(r), "content_mismatch");
    let r =
        app.attach_bytes(visit.clone(), vec![], AttachmentKind::Document, "".into(), Some("application/pdf".into()));
    assert_eq!(refused_code(r), "empty");
    let r = app.attach_bytes(visit.clone(), jpeg.clone(), AttachmentKind::Photo, "字".repeat(201), None);
    assert_eq!(refused_code(r), "caption_too_long");
    let r = app.attach_bytes(household.clone(), jpeg.clone(), AttachmentKind::Photo, "".into(), None);
    assert!(matches!(r, Err(DoorstepError::Validation { ref errors }) if errors[0].field == "doc_id"), "{r:?}");
    let r = app.attach_bytes("no-such-visit".into(), jpeg.clone(), AttachmentKind::Photo, "".into(), None);
    assert!(matches!(r, Err(DoorstepError::NotFound { .. })), "{r:?}");

    assert_eq!(refused_code(app.open_attachment("../../etc/passwd".into())), "bad_hash");
    let unknown = doorstep_core::attachment::hash_hex(b"never attached");
    assert!(matches!(app.open_attachment(unknown.clone()), Err(DoorstepError::NotFound { .. })));
    assert!(matches!(app.detach(visit.clone(), unknown), Err(DoorstepError::NotFound { .. })));
    assert!(matches!(app.list_attachments("no-such-visit".into()), Err(DoorstepError::NotFound { .. })));
    assert_eq!(state(&app, dir.path(), &visit), before);

    assert_eq!(app.open_attachment(doorstep_core::attachment::hash_hex(&jpeg)).unwrap(), jpeg);

    // A reference whose bytes are not on the device (as from another device) is fetched on open: without a
    // sign-in that is a typed error, not a panic.
    let photo = [&[0xff, 0xd8, 0xff, 0xe0][..], &[9u8; 500]].concat();
    let r = doorstep_core::attachment::prepare(
        &photo,
        doorstep_core::attachment::JPEG,
        AttachmentKind::Photo,
        "",
        &AttachmentLimits::default(),
    )
    .unwrap();
    let mut v = app.get_visit(visit.clone()).unwrap();
    v.attachments.insert(r.hash.clone(), r.clone());
    app.save_visit(v).unwrap();
    let listed = app.list_attachments(visit.clone()).unwrap();
    assert!(listed.iter().any(|a| a.reference.hash == r.hash && !a.local));
    assert!(matches!(app.open_attachment(r.hash), Err(DoorstepError::NotSignedIn)));
    app.set_network(doorstep_core::sync::NetworkKind::Metered, false).unwrap();
}
