//! What every `Storage` implementation must do, as checks any store's tests call on a fresh, empty store — so the
//! SQLite and PostgreSQL stores are held to one suite instead of two copies.
//!
//! Each check panics (with a message) on the first difference. `check_all` runs them in order on one store.

use super::*;
use crate::scope::Scope;
use crate::sync;
use doorstep_core::doc::Author;
use doorstep_core::model::{samples, Household};
use doorstep_core::sync::protocol::WireChange;

/// Runs every check on one fresh store.
pub fn check_all(s: &dyn Storage) {
    accounts(s);
    devices(s);
    assignments(s);
    units_of_work(s);
    pulls(s);
    losses(s);
    login_failures(s);
    sessions(s);
    blobs(s);
    places(s);
    household_lookups(s);
    stale_work_ahead(s);
}

/// Browser sessions: found by digest, expired ones dropped when another starts, ended one by one or per account.
pub fn sessions(s: &dyn Storage) {
    s.session_start("c-s1", "c-ann", "csrf-1", 1_000, 0).unwrap();
    s.session_start("c-s2", "c-ann", "csrf-2", 5_000, 0).unwrap();
    s.session_start("c-s3", "c-bob", "csrf-3", 5_000, 0).unwrap();
    assert_eq!(s.session("c-s1").unwrap(), Some(("c-ann".into(), "csrf-1".into(), 1_000)));
    assert_eq!(s.session("c-none").unwrap(), None);
    assert!(s.session_start("c-s1", "c-eve", "x", 6_000, 0).is_err(), "a digest is never taken over");
    s.session_start("c-s4", "c-bob", "csrf-4", 9_000, 2_000).unwrap();
    assert_eq!(s.session("c-s1").unwrap(), None, "started before 2,000 ms: dropped");
    s.session_end("c-s4").unwrap();
    assert_eq!(s.session("c-s4").unwrap(), None);
    s.sessions_end_user("c-ann").unwrap();
    assert_eq!(s.session("c-s2").unwrap(), None);
    assert_eq!(s.session("c-s3").unwrap().map(|x| x.0), Some("c-bob".into()), "other accounts keep theirs");
}

fn user(name: &str, role: Role, team: Option<&str>) -> User {
    User {
        name: name.into(),
        role,
        team: team.map(String::from),
        password_hash: "$argon2id$test".into(),
        disabled: false,
        created_ms: 1,
        display_name: String::new(),
        unit: String::new(),
        must_change_password: false,
    }
}

/// Users: created once, read back, listed by name, disabled.
pub fn accounts(s: &dyn Storage) {
    s.add_user(&user("c-helper", Role::Helper, None)).unwrap();
    s.add_user(&user("c-doctor", Role::Doctor, Some("CT"))).unwrap();
    assert!(matches!(s.add_user(&user("c-helper", Role::Admin, None)), Err(StorageError::Exists(_))));
    let got = s.user("c-doctor").unwrap().expect("user");
    assert_eq!(got, user("c-doctor", Role::Doctor, Some("CT")));
    assert_eq!(s.user("c-nobody").unwrap(), None);
    let names: Vec<String> = s.users().unwrap().into_iter().map(|u| u.name).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "users are listed by name");
    s.set_disabled("c-helper", true).unwrap();
    assert!(s.user("c-helper").unwrap().unwrap().disabled);
    s.set_disabled("c-helper", false).unwrap();
    assert!(matches!(s.set_disabled("c-nobody", true), Err(StorageError::NotFound(_))));
}

/// Devices: found by the token's digest with their account, revoked, touched.
pub fn devices(s: &dyn Storage) {
    let d = Device {
        id: "c-device-1".into(),
        user: "c-helper".into(),
        name: "phone".into(),
        revoked: false,
        created_ms: 2,
        last_seen_ms: None,
        app_version: String::new(),
    };
    s.add_device(&d, "c-digest-1").unwrap();
    let (found, owner) = s.device_by_token("c-digest-1").unwrap().expect("device");
    assert_eq!((found, owner.name.as_str()), (d.clone(), "c-helper"));
    assert_eq!(s.device_by_token("c-other").unwrap(), None);
    s.touch_device(&d.id, 99, "doorstep/test").unwrap();
    s.revoke_device(&d.id).unwrap();
    let (found, _) = s.device_by_token("c-digest-1").unwrap().unwrap();
    assert_eq!((found.revoked, found.last_seen_ms), (true, Some(99)));
    assert!(s.devices().unwrap().iter().any(|x| x.id == d.id));
    assert!(matches!(s.revoke_device("c-none"), Err(StorageError::NotFound(_))));

    // The cursor floor starts at the head when the device signs in, follows the cursors it sends, never goes down,
    // and never goes past the head.
    let next = |s: &dyn Storage| {
        let mut seq = 0;
        s.write(&mut |tx| {
            seq = tx.next_seq()?;
            Ok(())
        })
        .unwrap();
        seq
    };
    let head = next(s);
    let late = Device { id: "c-device-2".into(), ..d.clone() };
    s.add_device(&late, "c-digest-2").unwrap();
    assert_eq!(s.raise_cursor_floor(&late.id, 0).unwrap(), head, "a new device starts at the head");
    assert_eq!(s.raise_cursor_floor(&late.id, head + 100).unwrap(), head, "never past the head");
    let head = next(s);
    assert_eq!(s.raise_cursor_floor(&late.id, head).unwrap(), head);
    assert_eq!(s.raise_cursor_floor(&late.id, 1).unwrap(), head, "an older cursor does not lower it");
    assert_eq!(s.raise_cursor_floor("c-none", 5).unwrap(), 5, "an unknown device is judged by its own cursor");
}

/// Assignments feed `scope_facts`; inspector grants are replaced, not duplicated.
pub fn assignments(s: &dyn Storage) {
    s.add_user(&user("c-super", Role::Supervisor, None)).unwrap();
    s.add_user(&user("c-insp", Role::Inspector, None)).unwrap();
    s.assign_helper("c-helper", &["h1".into(), "h2".into()]).unwrap();
    s.assign_helper("c-helper", &["h1".into()]).unwrap();
    assert!(matches!(s.assign_helper("c-nobody", &["h1".into()]), Err(StorageError::NotFound(_))));
    s.assign_team("CT", &["v1".into()]).unwrap();
    s.assign_area("c-super", &[Area::Township("t1".into()), Area::Village("v9".into())]).unwrap();
    s.grant_inspector(&Grant { user: "c-insp".into(), village: "v1".into(), until: "2026-01-01".into() }).unwrap();
    s.grant_inspector(&Grant { user: "c-insp".into(), village: "v1".into(), until: "2026-06-30".into() }).unwrap();
    let helper = s.scope_facts("c-helper").unwrap();
    assert_eq!(helper.households, ["h1".to_string(), "h2".to_string()].into());
    assert_eq!(s.scope_facts("c-doctor").unwrap().team_villages, ["v1".to_string()].into());
    let mut areas = s.scope_facts("c-super").unwrap().areas;
    areas.sort();
    assert_eq!(areas, vec![Area::Township("t1".into()), Area::Village("v9".into())]);
    let grants = s.scope_facts("c-insp").unwrap().grants;
    assert_eq!(grants, vec![Grant { user: "c-insp".into(), village: "v1".into(), until: "2026-06-30".into() }]);
    s.audit(&AuditEntry { at_ms: 5, actor: "c-admin".into(), action: "test".into(), detail: "d".into() }).unwrap();
    assert_eq!(s.audit_log(1).unwrap()[0].action, "test", "newest first");
}

/// A unit of work commits entirely or not at all, and sequences only grow.
pub fn units_of_work(s: &dyn Storage) {
    let mut seqs = vec![];
    s.write(&mut |tx| {
        seqs.push(tx.next_seq()?);
        seqs.push(tx.next_seq()?);
        Ok(())
    })
    .unwrap();
    assert!(seqs[1] > seqs[0]);
    let refused = s.write(&mut |tx| {
        tx.bind_actor("c-actor", "c-device-1", 1)?;
        Err(Refusal::OutOfScope("x".into()).into())
    });
    assert!(matches!(refused, Err(StorageError::Refused(Refusal::OutOfScope(_)))));
    let mut after = 0;
    s.write(&mut |tx| {
        assert_eq!(tx.actor_device("c-actor")?, None, "a refused unit of work leaves nothing");
        after = tx.next_seq()?;
        Ok(())
    })
    .unwrap();
    assert!(after > seqs[1]);
}

fn scope(user: &str, role: Role, facts: ScopeFacts) -> Scope {
    Scope::new(user, role, facts, "2026-01-01")
}

fn household_change(h: &Household, actor: &automerge::ActorId) -> (WireChange, Document) {
    let author = Author { user: "c".into(), device: "c".into() };
    let (doc, change) = Document::create(h, actor, &author, 1).unwrap();
    (WireChange { doc_id: h.id.clone(), kind: "household".into(), bytes: change.bytes }, doc)
}

fn query(device: &str, user: &str, cursor: u64, visible: Visibility) -> PullQuery {
    PullQuery { cursor, device_id: device.into(), user: user.into(), team: None, visible }
}

/// Pull candidates: new documents to others, not to their author; later changes as changes; scope events bring
/// documents older than the cursor.
pub fn pulls(s: &dyn Storage) {
    let all = Visibility { all: true, ..Default::default() };
    let mut h = samples::household();
    h.helper_ids = vec!["c-helper".into()];
    h.village = "cv1".into();
    let actor_a = automerge::ActorId::random();
    let (wire, mut doc) = household_change(&h, &actor_a);
    let helper = scope("c-helper", Role::Helper, ScopeFacts::default());
    sync::push(s, "c-dev-a", &helper, std::slice::from_ref(&wire)).unwrap();
    assert_eq!(sync::push(s, "c-dev-a", &helper, &[wire]).unwrap().len(), 1, "a second push is acknowledged");
    let (head, own) = s.pull_candidates(&query("c-dev-a", "c-helper", 0, all.clone())).unwrap();
    assert!(own.iter().all(|c| c.doc_id != h.id), "the author does not get its own document back");
    let (_, fresh) = s.pull_candidates(&query("c-dev-b", "c-admin", 0, all.clone())).unwrap();
    let mine: Vec<&Candidate> = fresh.iter().filter(|c| c.doc_id == h.id).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].how, mine[0].kind), (CandidateKind::NewDoc, DocKind::Household));
    assert!(mine[0].seq <= head && mine[0].len > 0);
    let stored = s.doc(&h.id).unwrap().expect("merged document");
    assert_eq!(stored.placement.village, "cv1");
    assert_eq!(s.docs(std::slice::from_ref(&h.id)).unwrap().len(), 1);

    // Another device edits it: device A receives that change after its cursor.
    let mut edited = h.clone();
    edited.phone = "1".into();
    let author = Author { user: "c".into(), device: "b".into() };
    let change = doc.update(&edited, &author, 2).unwrap().unwrap();
    let mut other = Document::load(&doc.save(), &automerge::ActorId::random()).unwrap();
    edited.phone = "2".into();
    let change_b = other.update(&edited, &author, 3).unwrap().unwrap();
    let admin = scope("c-admin", Role::Admin, ScopeFacts::default());
    let wire = |bytes: Vec<u8>| WireChange { doc_id: h.id.clone(), kind: "household".into(), bytes };
    // The change by actor A must come from device A; B's own actor is new. The helper is now assigned.
    let helper = scope("c-helper", Role::Helper, s.scope_facts("c-helper").unwrap());
    sync::push(s, "c-dev-a", &helper, &[wire(change.bytes)]).unwrap();
    sync::push(s, "c-dev-b", &admin, &[wire(change_b.bytes)]).unwrap();
    let (_, later) = s.pull_candidates(&query("c-dev-a", "c-helper", head, all.clone())).unwrap();
    let changes: Vec<&Candidate> = later.iter().filter(|c| c.doc_id == h.id).collect();
    assert_eq!(changes.len(), 1, "only the other device's change: {changes:?}");
    assert_eq!(changes[0].how, CandidateKind::Change);
    assert_eq!(s.change_bytes(&[changes[0].seq]).unwrap().len(), 1);
    assert_eq!(s.doc_changes(&h.id).unwrap().len(), 3);

    // A doctor whose cursor is past the household gets it when their team receives the village.
    let (head, _) = s.pull_candidates(&query("c-dev-d", "c-doctor", 0, all.clone())).unwrap();
    s.assign_team("CT", &["cv1".into()]).unwrap();
    let doctor_sees = Visibility { villages: ["v1".to_string(), "cv1".to_string()].into(), ..Default::default() };
    let q = PullQuery { team: Some("CT".into()), ..query("c-dev-d", "c-doctor", head, doctor_sees) };
    let (_, entered) = s.pull_candidates(&q).unwrap();
    let entered: Vec<&Candidate> = entered.iter().filter(|c| c.doc_id == h.id).collect();
    assert_eq!(entered.len(), 1);
    assert_eq!(entered[0].how, CandidateKind::EnteredScope);
    assert!(entered[0].seq > head);
}

/// Scope losses: unassigning records one loss per household actually taken away, in the change sequence; the
/// documents under a loss after a cursor are listed with their placement; a push predating the loss is recognised.
pub fn losses(s: &dyn Storage) {
    let mut h = samples::household();
    h.helper_ids = vec!["c-helper".into()];
    h.village = "cv-loss".into();
    let (wire, _) = household_change(&h, &automerge::ActorId::random());
    sync::push(s, "c-dev-l", &scope("c-helper", Role::Helper, ScopeFacts::default()), &[wire]).unwrap();
    assert!(s.scope_facts("c-helper").unwrap().households.contains(&h.id));
    let all = Visibility { all: true, ..Default::default() };
    let (before, _) = s.pull_candidates(&query("c-dev-l", "c-helper", 0, all.clone())).unwrap();

    s.unassign_helper("c-helper", std::slice::from_ref(&h.id)).unwrap();
    assert!(!s.scope_facts("c-helper").unwrap().households.contains(&h.id));
    let (after, _) = s.pull_candidates(&query("c-dev-l", "c-helper", 0, all.clone())).unwrap();
    assert_eq!(after, before + 1, "one loss, one sequence number");
    s.unassign_helper("c-helper", std::slice::from_ref(&h.id)).unwrap();
    let (again, _) = s.pull_candidates(&query("c-dev-l", "c-helper", 0, all.clone())).unwrap();
    assert_eq!(again, after, "nothing to lose twice");
    assert!(matches!(s.unassign_helper("c-nobody", std::slice::from_ref(&h.id)), Err(StorageError::NotFound(_))));

    let lost = s.lost_docs(&query("c-dev-l", "c-helper", before, all.clone()), after).unwrap();
    let placement = Placement { household_id: Some(h.id.clone()), village: "cv-loss".into(), township: h.township };
    assert_eq!(lost, vec![(h.id.clone(), placement.clone())]);
    assert!(s.lost_docs(&query("c-dev-l", "c-helper", after, all.clone()), after).unwrap().is_empty(), "seen");
    assert!(s.lost_docs(&query("c-dev-l", "c-helper", before, all.clone()), before).unwrap().is_empty(), "not yet");
    assert!(s.lost_docs(&query("c-dev-x", "c-doctor", before, all), after).unwrap().is_empty(), "not theirs");
    // A team losing a village, an inspector's grant ending: recorded once each.
    let (t0, _) = s.pull_candidates(&query("c-dev-l", "c-helper", 0, Visibility::default())).unwrap();
    s.assign_team("CL", &["cv-loss".into()]).unwrap();
    s.unassign_team("CL", &["cv-loss".into(), "cv-never".into()]).unwrap();
    assert!(!s.scope_facts("c-doctor").unwrap().team_villages.contains("cv-loss"));
    let team_q = PullQuery { team: Some("CL".into()), ..query("c-dev-t", "c-doctor", t0, Visibility::default()) };
    let (t1, _) = s.pull_candidates(&team_q).unwrap();
    assert_eq!(t1, t0 + 2, "one gain, one loss");
    assert_eq!(s.lost_docs(&team_q, t1).unwrap(), vec![(h.id.clone(), placement.clone())], "the team's loss");
    s.grant_inspector(&Grant { user: "c-insp".into(), village: "cv-loss".into(), until: "2026-01-31".into() }).unwrap();
    assert_eq!(s.record_ended_grants("c-insp", "2026-01-31").unwrap(), 0, "valid through its last day");
    assert_eq!(s.record_ended_grants("c-insp", "2026-02-01").unwrap(), 1);
    assert_eq!(s.record_ended_grants("c-insp", "2026-02-02").unwrap(), 0, "recorded once");
    let insp_q = query("c-dev-i", "c-insp", t1, Visibility::default());
    assert_eq!(s.lost_docs(&insp_q, u64::MAX >> 1).unwrap(), vec![(h.id.clone(), placement.clone())]);
    s.grant_inspector(&Grant { user: "c-insp".into(), village: "cv-loss".into(), until: "2026-01-31".into() }).unwrap();
    assert_eq!(s.record_ended_grants("c-insp", "2026-02-03").unwrap(), 1, "granted again, ended again");

    s.write(&mut |tx| {
        assert!(tx.lost_after("c-helper", None, before, &placement)?, "pushed before the loss was seen");
        assert!(!tx.lost_after("c-helper", None, after, &placement)?, "pushed after the loss was seen");
        assert!(!tx.lost_after("c-doctor", Some("CT"), before, &placement)?, "another account");
        Ok(())
    })
    .unwrap();
}

/// Failed sign-ins are counted per key, forgiven after a quiet period, cleared by a success.
pub fn login_failures(s: &dyn Storage) {
    let keys = |k: &[&str]| k.iter().map(|k| k.to_string()).collect::<Vec<String>>();
    assert!(s.login_failures(&keys(&["u:c-x"])).unwrap().is_empty());
    s.login_failed(&keys(&["u:c-x", "a:10.0.0.1"]), 1_000, 60_000).unwrap();
    s.login_failed(&keys(&["u:c-x", "a:10.0.0.1"]), 2_000, 60_000).unwrap();
    let mut got = s.login_failures(&keys(&["u:c-x", "a:10.0.0.1", "u:c-y"])).unwrap();
    got.sort();
    assert_eq!(got, vec![("a:10.0.0.1".to_string(), 2, 2_000), ("u:c-x".to_string(), 2, 2_000)]);
    s.login_failed(&keys(&["u:c-x"]), 100_000, 60_000).unwrap();
    assert_eq!(s.login_failures(&keys(&["u:c-x"])).unwrap(), vec![("u:c-x".to_string(), 1, 100_000)], "forgiven");
    assert!(s.login_failures(&keys(&["a:10.0.0.1"])).unwrap().is_empty(), "old entries are dropped");
    s.login_succeeded("u:c-x").unwrap();
    assert!(s.login_failures(&keys(&["u:c-x"])).unwrap().is_empty());
}

/// Blob references follow the live documents: written with each stored change, dropped with an attachment or a
/// tombstone; a blob's record is forgotten only when nothing live refers to it.
pub fn blobs(s: &dyn Storage) {
    use doorstep_core::attachment::{hash_hex, AttachmentKind, AttachmentRef};
    let admin = scope("c-admin", Role::Admin, ScopeFacts::default());
    let author = Author { user: "c-admin".into(), device: "c-dev-blobs".into() };
    let actor = automerge::ActorId::random();
    let mut h = samples::household();
    h.village = "cb1".into();
    h.township = "ct1".into();
    let (wire, _) = household_change(&h, &actor);
    sync::push(s, "c-dev-blobs", &admin, &[wire]).unwrap();
    let (a, b) = (hash_hex(b"c-blob-a"), hash_hex(b"c-blob-b"));
    let reference = |hash: &str, size: u64| AttachmentRef {
        hash: hash.into(),
        media_type: "image/jpeg".into(),
        size,
        kind: AttachmentKind::Photo,
        caption: String::new(),
    };
    let mut visit = samples::visit();
    visit.household_id = h.id.clone();
    visit.attachments = [(a.clone(), reference(&a, 8)), (b.clone(), reference(&b, 9))].into();
    let mut screening = samples::screening();
    screening.household_id = h.id.clone();
    screening.attachments = [(a.clone(), reference(&a, 8))].into();
    let (mut visit_doc, c1) = Document::create(&visit, &actor, &author, 1).unwrap();
    let (mut screening_doc, c2) = Document::create(&screening, &actor, &author, 1).unwrap();
    let wire = |id: &str, kind: &str, bytes: Vec<u8>| WireChange { doc_id: id.into(), kind: kind.into(), bytes };
    sync::push(
        s,
        "c-dev-blobs",
        &admin,
        &[wire(&visit.id, "visit", c1.bytes), wire(&screening.id, "screening", c2.bytes)],
    )
    .unwrap();

    let info = s.blob(&a).unwrap().expect("a referenced blob is recorded");
    assert_eq!((info.size, info.complete, info.media_type.as_str()), (8, false, "image/jpeg"));
    let referrers = s.blob_referrers(&a).unwrap();
    let mut ids: Vec<&str> = referrers.iter().map(|r| r.doc_id.as_str()).collect();
    ids.sort();
    let mut want = vec![visit.id.as_str(), screening.id.as_str()];
    want.sort();
    assert_eq!(ids, want);
    assert!(referrers.iter().all(|r| r.placement.village == "cb1" && r.placement.household_id == Some(h.id.clone())));
    assert!(s.referenced_blobs().unwrap().is_superset(&[a.clone(), b.clone()].into()));
    assert!(!s.forget_blob(&a).unwrap(), "a referenced blob is kept");
    let of = s.blob_refs_of(&[visit.id.clone(), screening.id.clone(), "c-none".into()]).unwrap();
    assert_eq!(of.len(), 3, "{of:?}");
    let of_visit: Vec<&str> = of.iter().filter(|(d, _)| *d == visit.id).map(|(_, r)| r.hash.as_str()).collect();
    let mut both = vec![a.as_str(), b.as_str()];
    both.sort();
    assert_eq!(of_visit, both, "ordered by hash");
    assert!(of.iter().any(|(d, r)| *d == screening.id && r.hash == a && r.size == 8));
    assert_eq!(s.blob(&hash_hex(b"c-never")).unwrap(), None);

    s.blob_stored(&a, "image/jpeg", 8, 77).unwrap();
    let info = s.blob(&a).unwrap().unwrap();
    assert_eq!((info.complete, info.stored_ms), (true, Some(77)));

    // The visit drops B: nothing refers to B any more.
    visit.attachments.remove(&b);
    let c3 = visit_doc.update(&visit, &author, 2).unwrap().unwrap();
    sync::push(s, "c-dev-blobs", &admin, &[wire(&visit.id, "visit", c3.bytes)]).unwrap();
    assert!(s.blob_referrers(&b).unwrap().is_empty());
    assert!(!s.referenced_blobs().unwrap().contains(&b));
    let unreferenced = s.unreferenced_blob_records().unwrap();
    assert!(unreferenced.contains(&b) && !unreferenced.contains(&a), "{unreferenced:?}");
    assert!(s.forget_blob(&b).unwrap());
    assert_eq!(s.blob(&b).unwrap(), None);
    assert!(!s.unreferenced_blob_records().unwrap().contains(&b));

    // Tombstones refer to nothing: A stays while the visit lives, and may go once both are deleted.
    screening.deleted = true;
    let c4 = screening_doc.update(&screening, &author, 3).unwrap().unwrap();
    sync::push(s, "c-dev-blobs", &admin, &[wire(&screening.id, "screening", c4.bytes)]).unwrap();
    let left: Vec<String> = s.blob_referrers(&a).unwrap().into_iter().map(|r| r.doc_id).collect();
    assert_eq!(left, vec![visit.id.clone()]);
    assert!(!s.forget_blob(&a).unwrap());
    visit.deleted = true;
    let c5 = visit_doc.update(&visit, &author, 4).unwrap().unwrap();
    sync::push(s, "c-dev-blobs", &admin, &[wire(&visit.id, "visit", c5.bytes)]).unwrap();
    assert!(s.blob_referrers(&a).unwrap().is_empty());
    assert!(s.forget_blob(&a).unwrap());
    assert_eq!(s.blob(&a).unwrap(), None);
}

fn place(kind: PlaceKind, name: &str, township: &str) -> Place {
    Place {
        kind,
        name: name.into(),
        township: township.into(),
        origin: PlaceOrigin::Admin,
        created_ms: 7,
        households: 0,
    }
}

fn listed(s: &dyn Storage, kind: PlaceKind, name: &str) -> Option<Place> {
    s.places().unwrap().into_iter().find(|p| p.kind == kind && p.name == name)
}

/// Places: added once, listed townships first with their households counted; a household pushed into a place
/// nobody added is kept and its place listed as reported by a device, which adding then confirms; renaming moves
/// every assignment naming the place.
pub fn places(s: &dyn Storage) {
    assert!(s.add_place(&place(PlaceKind::Township, "p-镇", "")).unwrap());
    assert!(s.add_place(&place(PlaceKind::Village, "p-村", "p-镇")).unwrap());
    assert!(matches!(s.add_place(&place(PlaceKind::Village, "p-村", "p-镇")), Err(StorageError::Exists(_))));
    let all = s.places().unwrap();
    let first_village = all.iter().position(|p| p.kind == PlaceKind::Village).unwrap();
    assert!(all[..first_village].iter().all(|p| p.kind == PlaceKind::Township), "townships first: {all:?}");
    let v = listed(s, PlaceKind::Village, "p-村").unwrap();
    assert_eq!((v.township.as_str(), v.origin, v.created_ms, v.households), ("p-镇", PlaceOrigin::Admin, 7, 0));

    // A household in an unknown village is kept, and the village is listed for the admin.
    let mut h = samples::household();
    h.village = "p-新村".into();
    h.township = "p-新镇".into();
    let (wire, _) = household_change(&h, &automerge::ActorId::random());
    sync::push(s, "p-dev", &scope("p-admin", Role::Admin, ScopeFacts::default()), &[wire]).unwrap();
    let reported = listed(s, PlaceKind::Village, "p-新村").expect("the device's village is listed");
    assert_eq!((reported.origin, reported.township.as_str(), reported.households), (PlaceOrigin::Device, "p-新镇", 1));
    assert_eq!(listed(s, PlaceKind::Township, "p-新镇").unwrap().households, 1);
    assert!(!s.add_place(&place(PlaceKind::Village, "p-新村", "")).unwrap(), "adding confirms it");
    let confirmed = listed(s, PlaceKind::Village, "p-新村").unwrap();
    assert_eq!((confirmed.origin, confirmed.township.as_str()), (PlaceOrigin::Admin, "p-新镇"));

    // Renaming a village moves the team's villages, areas and grants with it.
    s.add_user(&user("p-doc", Role::Doctor, Some("p-team"))).unwrap();
    s.add_user(&user("p-sup", Role::Supervisor, None)).unwrap();
    s.add_user(&user("p-ins", Role::Inspector, None)).unwrap();
    s.assign_team("p-team", &["p-村".into()]).unwrap();
    s.assign_area("p-sup", &[Area::Village("p-村".into()), Area::Township("p-镇".into())]).unwrap();
    s.grant_inspector(&Grant { user: "p-ins".into(), village: "p-村".into(), until: "2099-01-01".into() }).unwrap();
    s.rename_place(PlaceKind::Village, "p-村", "p-好村").unwrap();
    assert!(listed(s, PlaceKind::Village, "p-村").is_none());
    assert_eq!(listed(s, PlaceKind::Village, "p-好村").unwrap().township, "p-镇");
    assert_eq!(s.scope_facts("p-doc").unwrap().team_villages, ["p-好村".to_string()].into());
    assert!(s.scope_facts("p-sup").unwrap().areas.contains(&Area::Village("p-好村".into())));
    assert_eq!(s.scope_facts("p-ins").unwrap().grants[0].village, "p-好村");
    assert!(matches!(s.rename_place(PlaceKind::Village, "p-村", "p-x"), Err(StorageError::NotFound(_))));
    assert!(matches!(s.rename_place(PlaceKind::Village, "p-好村", "p-新村"), Err(StorageError::Exists(_))));
    // A village a device misspelt merges into the known one.
    let mut typo = samples::household();
    typo.village = "p-好材".into();
    let (wire, _) = household_change(&typo, &automerge::ActorId::random());
    sync::push(s, "p-dev", &scope("p-admin", Role::Admin, ScopeFacts::default()), &[wire]).unwrap();
    assert_eq!(listed(s, PlaceKind::Village, "p-好材").unwrap().origin, PlaceOrigin::Device);
    s.rename_place(PlaceKind::Village, "p-好材", "p-好村").unwrap();
    assert!(listed(s, PlaceKind::Village, "p-好材").is_none());
    assert_eq!(listed(s, PlaceKind::Village, "p-好村").unwrap().origin, PlaceOrigin::Admin, "the known one stays");

    // Renaming a township moves its villages and the areas naming it.
    s.rename_place(PlaceKind::Township, "p-镇", "p-大镇").unwrap();
    assert_eq!(listed(s, PlaceKind::Village, "p-好村").unwrap().township, "p-大镇");
    let areas = s.scope_facts("p-sup").unwrap().areas;
    assert!(areas.contains(&Area::Township("p-大镇".into())) && !areas.contains(&Area::Township("p-镇".into())));
}

/// Console look-ups: households by village, number prefix, name and id, with their helpers; visits newest first.
pub fn household_lookups(s: &dyn Storage) {
    let admin = scope("q-admin", Role::Admin, ScopeFacts::default());
    let mut ids = Vec::new();
    for (i, head) in ["王大山", "刘小河"].iter().enumerate() {
        let mut h = samples::household();
        h.village = "q-村".into();
        h.number = format!("q-99{i}");
        h.head_name = head.to_string();
        h.helper_ids = vec!["q-helper".into()];
        let (wire, _) = household_change(&h, &automerge::ActorId::random());
        sync::push(s, "q-dev", &admin, &[wire]).unwrap();
        ids.push(h.id);
    }
    s.add_user(&user("q-other", Role::Helper, None)).unwrap();
    s.assign_helper("q-other", &[ids[1].clone()]).unwrap();
    let find = |f: HouseholdFilter| -> Vec<String> {
        s.find_households(&HouseholdFilter { limit: if f.limit == 0 { 50 } else { f.limit }, ..f })
            .unwrap()
            .into_iter()
            .map(|h| h.number)
            .collect()
    };
    let village = || HouseholdFilter { village: Some("q-村".into()), ..Default::default() };
    assert_eq!(find(village()), ["q-990", "q-991"]);
    assert_eq!(find(HouseholdFilter { number: Some("q-99".into()), ..Default::default() }), ["q-990", "q-991"]);
    assert_eq!(find(HouseholdFilter { number: Some("q-991".into()), ..Default::default() }), ["q-991"]);
    assert_eq!(find(HouseholdFilter { name: Some("小河".into()), ..village() }), ["q-991"]);
    assert_eq!(find(HouseholdFilter { ids: vec![ids[0].clone()], ..Default::default() }), ["q-990"]);
    assert!(find(HouseholdFilter { village: Some("q-无".into()), ..Default::default() }).is_empty());
    assert_eq!(find(HouseholdFilter { limit: 1, ..village() }).len(), 1);
    let second = s.find_households(&HouseholdFilter { ids: vec![ids[1].clone()], limit: 5, ..Default::default() });
    let second = second.unwrap().remove(0);
    assert_eq!((second.head_name.as_str(), second.village.as_str()), ("刘小河", "q-村"));
    assert_eq!(second.helpers, ["q-helper", "q-other"], "the document's helpers and the server's assignments");
    assert_eq!(second.status, "registered_poor");

    for date in ["2026-03-02", "2026-05-09", "2026-04-01"] {
        let mut v = samples::visit();
        v.household_id = ids[0].clone();
        v.date = date.into();
        let (doc, change) =
            Document::create(&v, &automerge::ActorId::random(), &Author { user: "c".into(), device: "c".into() }, 1)
                .unwrap();
        drop(doc);
        let wire = WireChange { doc_id: v.id.clone(), kind: "visit".into(), bytes: change.bytes };
        sync::push(s, "q-dev", &admin, &[wire]).unwrap();
    }
    let visits = s.household_visits(&ids[0], 2).unwrap();
    let dates: Vec<&str> = visits.iter().map(|v| v.date.as_str()).collect();
    assert_eq!(dates, ["2026-05-09", "2026-04-01"], "newest first, at most the limit");
    assert!(s.household_visits(&ids[1], 5).unwrap().is_empty());
}

/// A push works its documents out before it waits for the writer; what another push changed meanwhile is not
/// lost: a document edited in between is merged again from the stored one, and a visit whose household moved in
/// between takes the household's new village.
pub fn stale_work_ahead(s: &dyn Storage) {
    use doorstep_core::model::Visit;
    let admin = scope("c-admin", Role::Admin, ScopeFacts::default());
    let author = Author { user: "c".into(), device: "c".into() };
    let mut h = samples::household();
    h.id = "c-stale-h".into();
    h.village = "cs1".into();
    let (wire, mut doc) = household_change(&h, &automerge::ActorId::random());
    sync::push(s, "c-dev-s", &admin, &[wire]).unwrap();
    let household = |bytes: Vec<u8>| WireChange { doc_id: h.id.clone(), kind: "household".into(), bytes };

    // Two edits of one household from two documents: the second push's worked-out copy misses the first.
    let mut other = Document::load(&doc.save(), &automerge::ActorId::random()).unwrap();
    let mut edited = h.clone();
    edited.phone = "111".into();
    let first = doc.update(&edited, &author, 2).unwrap().unwrap();
    let mut edited_b = h.clone();
    edited_b.head_name = "c-other-head".into();
    let second = other.update(&edited_b, &author, 3).unwrap().unwrap();
    let mut meanwhile = || {
        sync::push(s, "c-dev-s", &admin, &[household(first.bytes.clone())]).unwrap();
    };
    sync::push_meanwhile(s, "c-dev-s2", &admin, None, &[household(second.bytes)], &mut meanwhile).unwrap();
    let stored = s.doc(&h.id).unwrap().expect("stored");
    assert_eq!(stored.heads.len(), 2, "both edits are heads of the stored document");
    let merged: Household = stored.document().unwrap().read().unwrap();
    assert_eq!((merged.phone.as_str(), merged.head_name.as_str()), ("111", "c-other-head"));
    let (_, record) = &s.records(std::slice::from_ref(&h.id)).unwrap()[0];
    let kept: Household = doorstep_core::model::packed::unpack(record).expect("the kept record");
    assert_eq!(kept, merged, "the record kept beside it is the merged one");

    // A visit pushed while its household moves to another village.
    let mut v: Visit = samples::visit();
    v.id = "c-stale-v".into();
    v.household_id = h.id.clone();
    let (_, visit) = Document::create(&v, &automerge::ActorId::random(), &author, 4).unwrap();
    let mut moved = merged.clone();
    moved.village = "cs2".into();
    let mut merged_doc = stored.document().unwrap();
    let move_change = merged_doc.update(&moved, &author, 5).unwrap().unwrap();
    let mut meanwhile = || {
        sync::push(s, "c-dev-s", &admin, &[household(move_change.bytes.clone())]).unwrap();
    };
    let wire = WireChange { doc_id: v.id.clone(), kind: "visit".into(), bytes: visit.bytes };
    sync::push_meanwhile(s, "c-dev-s2", &admin, None, &[wire], &mut meanwhile).unwrap();
    let stored = s.doc(&v.id).unwrap().expect("the visit");
    assert_eq!(stored.placement.village, "cs2", "the visit is placed in the household's new village");
    assert_eq!(stored.placement.household_id.as_deref(), Some(h.id.as_str()));
}
