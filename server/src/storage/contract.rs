//! The storage contract: one suite of tests that every `Storage` implementation must pass, run against the SQLite
//! store and the PostgreSQL store (`contract!` below generates one test per case and store).
//!
//! PostgreSQL tests find the server through `DOORSTEP_TEST_PG` (a URL; each test works in a fresh schema it drops
//! afterwards). Without it they print a notice on stderr and return; with `DOORSTEP_REQUIRE_PG=1` (set by
//! `scripts/test.d/60-postgres.sh`) a missing server fails them instead, so the PostgreSQL run can never pass empty.

use super::postgres::{self, PostgresStorage};
use crate::storage::sqlite::SqliteStorage;
use crate::storage::*;
use automerge::ActorId;
use doorstep_core::doc::{Author, ChangeRecord, Document};
use doorstep_core::model::{samples, DocKind, Problem, ProblemStatus, Role, SCHEDULE_RULES_ID};
use doorstep_core::store::schema::INDEX_TABLES;
use std::any::Any;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One store under test.
pub struct UnderTest {
    pub name: &'static str,
    /// Opens a handle on the same database: a restart, or another server process sharing it.
    open: Box<dyn Fn() -> Arc<dyn Storage>>,
    /// Every row of one derived table, each as JSON text, sorted.
    ix: Box<dyn Fn(&str) -> Vec<String>>,
    /// How many handles the concurrency case spreads its writers over (several processes for PostgreSQL; SQLite is
    /// one process by design).
    processes: usize,
    /// Takes the database back to schema 6, before places were a table (the migration test).
    before_places: Box<dyn Fn()>,
    /// Keeps the database alive for the subject's life (a temporary directory, a schema dropped on drop).
    _guard: Box<dyn Any>,
}

impl UnderTest {
    pub fn open(&self) -> Arc<dyn Storage> {
        (self.open)()
    }
}

/// Undoes schemas 14 (document format), 11 (kept tallies), 10 (document indexes), 9 (records) and 8 (profiles), the same statements in both dialects.
const V8_UNDO: &str = "DELETE FROM meta WHERE key = 'document_format'; DROP TABLE tallies; DROP INDEX assignments_household; DROP INDEX docs_last_seq; DROP INDEX docs_kind_place; DROP INDEX docs_township; ALTER TABLE docs DROP COLUMN created_ms; CREATE INDEX docs_township ON docs (township); ALTER TABLE docs DROP COLUMN record; ALTER TABLE users DROP COLUMN display_name; ALTER TABLE users DROP COLUMN unit; \
                       ALTER TABLE users DROP COLUMN must_change_password; ALTER TABLE devices DROP COLUMN app_version;";

pub fn sqlite() -> UnderTest {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().to_path_buf();
    let db = path.join("doorstep.db");
    let undo = db.clone();
    UnderTest {
        name: "sqlite",
        open: Box::new(move || Arc::new(SqliteStorage::open(&path).expect("open SQLite store"))),
        ix: Box::new(move |table| {
            let conn = rusqlite::Connection::open(&db).expect("open SQLite file");
            let mut rows: Vec<String> = doorstep_e2e::sqlite_json::rows(&conn, table)
                .expect("read table")
                .iter()
                .map(|v| v.to_string())
                .collect();
            rows.sort();
            rows
        }),
        processes: 1,
        before_places: Box::new(move || {
            let conn = rusqlite::Connection::open(&undo).expect("open SQLite file");
            conn.execute_batch(&format!("DROP TABLE places; {V8_UNDO} PRAGMA user_version = 6;"))
                .expect("back to schema 6");
        }),
        _guard: Box::new(dir),
    }
}

/// Drops a test schema when the subject goes away.
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::pg::Client::connect(&self.url, postgres::pg::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// The PostgreSQL subject, in a fresh schema of the database at `DOORSTEP_TEST_PG`; `None` (with a notice on
/// stderr, outside the test harness's capture) when no server is configured.
pub fn postgres() -> Option<UnderTest> {
    let Ok(url) = std::env::var("DOORSTEP_TEST_PG") else {
        if std::env::var("DOORSTEP_REQUIRE_PG").is_ok_and(|v| v == "1") {
            panic!("DOORSTEP_REQUIRE_PG=1 but DOORSTEP_TEST_PG is not set");
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED PostgreSQL storage test: set DOORSTEP_TEST_PG=postgres://… (scripts/pg-throwaway.sh run …)"
        );
        return None;
    };
    let schema = format!("doorstep_t_{:016x}", rand::random::<u64>());
    let mut admin = postgres::pg::Client::connect(&url, postgres::pg::NoTls).expect("connect to DOORSTEP_TEST_PG");
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create test schema");
    let mut config: postgres::pg::Config = url.parse().expect("DOORSTEP_TEST_PG is a PostgreSQL URL");
    config.options(&format!("-c search_path={schema}"));
    let reader = config.clone();
    let undo = config.clone();
    Some(UnderTest {
        name: "postgres",
        open: Box::new(move || Arc::new(PostgresStorage::connect(config.clone()).expect("open PostgreSQL store"))),
        ix: Box::new(move |table| {
            let mut c = reader.connect(postgres::pg::NoTls).expect("connect");
            let mut rows: Vec<String> = c
                .query(&format!("SELECT row_to_json(t)::text FROM {table} t"), &[])
                .expect("read table")
                .iter()
                .map(|r| {
                    let v: serde_json::Value = serde_json::from_str(r.get(0)).expect("JSON row");
                    v.to_string()
                })
                .collect();
            rows.sort();
            rows
        }),
        processes: 2,
        before_places: Box::new(move || {
            let mut c = undo.connect(postgres::pg::NoTls).expect("connect");
            c.batch_execute(&format!("DROP TABLE places; {V8_UNDO} UPDATE schema_version SET version = 6"))
                .expect("back to schema 6");
        }),
        _guard: Box::new(SchemaGuard { url, schema }),
    })
}

/// One test per case and store.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite_store {
            $(#[test]
            fn $case() {
                super::$case(&super::sqlite());
            })*
        }
        mod postgres_store {
            $(#[test]
            fn $case() {
                if let Some(s) = super::postgres() {
                    super::$case(&s);
                }
            })*
        }
    };
}

contract!(
    accounts_devices_and_tokens,
    assignments_record_scope_facts_and_events,
    a_unit_of_work_commits_or_rolls_back_whole,
    pull_candidates_after_a_cursor,
    derived_rows_follow_the_document,
    records_are_packed_again_when_opened_under_another_layout,
    concurrent_writers_get_gap_free_sequences_and_lose_nothing,
    reopening_keeps_everything,
    the_conformance_checks,
    limited_pulls_are_complete_up_to_their_cursor,
    actors_know_their_owner_and_move_to_a_new_device,
    the_migration_creates_every_place_existing_data_names,
    profiles_passwords_and_the_admin_rules,
    one_unit_of_work_reads_its_own_writes,
);

// ---- helpers ----

fn user(name: &str, role: Role, team: Option<&str>) -> User {
    User {
        name: name.into(),
        role,
        team: team.map(String::from),
        password_hash: format!("$argon2id$fake${name}"),
        disabled: false,
        created_ms: 1_000,
        display_name: String::new(),
        unit: String::new(),
        must_change_password: false,
    }
}

fn device(id: &str, user: &str, created_ms: i64) -> Device {
    Device {
        id: id.into(),
        user: user.into(),
        name: format!("{id} phone"),
        revoked: false,
        created_ms,
        last_seen_ms: None,
        app_version: String::new(),
    }
}

fn author(device: &str) -> Author {
    Author { user: "someone".into(), device: device.into() }
}

fn everything(cursor: u64, device: &str) -> PullQuery {
    PullQuery {
        cursor,
        device_id: device.into(),
        user: "admin".into(),
        team: None,
        visible: Visibility { all: true, ..Default::default() },
    }
}

/// Stores `changes` of document `id` (whose full state is `saved`) as pushed by `device`, in one unit of work, the
/// way the sync logic does; returns their sequences.
fn commit(
    s: &dyn Storage,
    id: &str,
    kind: DocKind,
    placement: &Placement,
    device: &str,
    changes: &[ChangeRecord],
    saved: &[u8],
) -> Vec<u64> {
    let mut seqs = Vec::new();
    s.write(&mut |tx| {
        seqs.clear();
        let existing = tx.doc(id)?;
        for c in changes {
            let seq = tx.next_seq()?;
            tx.insert_change(&NewChange {
                seq,
                hash: c.hash.clone(),
                doc_id: id.into(),
                actor: c.actor.clone(),
                device_id: device.into(),
                received_ms: 5,
                bytes: c.bytes.clone(),
            })?;
            seqs.push(seq);
        }
        let mut document = Document::load(saved, &ActorId::random())?;
        let stored = StoredDoc {
            id: id.into(),
            kind,
            bytes: document.save(),
            heads: document.heads(),
            first_seq: existing.as_ref().map_or(seqs[0], |e| e.first_seq),
            last_seq: *seqs.last().expect("at least one change"),
            placement: placement.clone(),
            updated_ms: 7,
        };
        tx.save_doc(&stored, &mut document)
    })
    .expect("commit");
    seqs
}

fn household(id: &str, village: &str, township: &str) -> doorstep_core::model::Household {
    let mut h = samples::household();
    h.id = id.into();
    h.village = village.into();
    h.township = township.into();
    h
}

fn place(household: &str, village: &str, township: &str) -> Placement {
    Placement { household_id: Some(household.into()), village: village.into(), township: township.into() }
}

/// A new document holding `record`, as created on `device`: (document, its first change).
fn create<R: doorstep_core::model::Record>(record: &R, device: &str) -> (Document, ChangeRecord) {
    Document::create(record, &ActorId::random(), &author(device), 1).expect("create document")
}

// ---- cases ----

pub fn accounts_devices_and_tokens(s: &UnderTest) {
    let st = s.open();
    st.add_user(&user("zhao", Role::Helper, None)).unwrap();
    st.add_user(&user("an", Role::Doctor, Some("team1"))).unwrap();
    assert!(matches!(st.add_user(&user("zhao", Role::Admin, None)), Err(StorageError::Exists(_))), "{}", s.name);
    assert_eq!(st.user("an").unwrap(), Some(user("an", Role::Doctor, Some("team1"))));
    assert_eq!(st.user("nobody").unwrap(), None);
    let names: Vec<String> = st.users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, vec!["an", "zhao"]);

    st.set_disabled("zhao", true).unwrap();
    assert!(st.user("zhao").unwrap().unwrap().disabled);
    st.set_disabled("zhao", false).unwrap();
    assert!(!st.user("zhao").unwrap().unwrap().disabled);
    assert!(matches!(st.set_disabled("nobody", true), Err(StorageError::NotFound(_))));

    st.add_device(&device("d2", "zhao", 20), "tok2").unwrap();
    st.add_device(&device("d1", "zhao", 10), "tok1").unwrap();
    st.add_device(&device("d3", "an", 30), "tok3").unwrap();
    assert!(matches!(st.add_device(&device("d4", "zhao", 40), "tok1"), Err(StorageError::Exists(_))), "token unique");
    assert!(matches!(st.add_device(&device("d5", "ghost", 50), "tok5"), Err(StorageError::Exists(_))), "no user");
    let (d, u) = st.device_by_token("tok1").unwrap().expect("device by token");
    assert_eq!((d, u.name), (device("d1", "zhao", 10), "zhao".to_string()));
    assert_eq!(st.device_by_token("nope").unwrap(), None);
    let ids: Vec<String> = st.devices().unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(ids, vec!["d3", "d1", "d2"], "by user, then age");

    st.touch_device("d1", 99, "doorstep/9.9").unwrap();
    st.revoke_device("d1").unwrap();
    let (d, _) = st.device_by_token("tok1").unwrap().unwrap();
    assert!(d.revoked, "a revoked device is still found, marked revoked");
    assert_eq!(d.last_seen_ms, Some(99));
    assert!(matches!(st.revoke_device("nope"), Err(StorageError::NotFound(_))));

    for i in 1..=3 {
        st.audit(&AuditEntry { at_ms: i, actor: "root".into(), action: format!("a{i}"), detail: "x".into() }).unwrap();
    }
    let log: Vec<String> = st.audit_log(2).unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(log, vec!["a3", "a2"], "newest first, limited");
}

/// Names people read, password resets and the rules an admin cannot break, through `accounts` as the console and
/// the pages call them.
pub fn profiles_passwords_and_the_admin_rules(s: &UnderTest) {
    use crate::accounts::{self, AccountsError};
    let st = s.open();
    let st = &*st;
    accounts::add_user(st, "root", "boss", Role::Admin, None, "boss-password").unwrap();
    accounts::add_user(st, "root", "zhao", Role::Helper, None, "zhao-password").unwrap();
    accounts::add_user(st, "root", "insp", Role::Inspector, None, "insp-password").unwrap();

    // Display name and unit, kept apart when only one is given.
    let u = accounts::set_profile(st, "boss", "zhao", Some(" 赵六 "), Some("石门镇")).unwrap();
    assert_eq!((u.display_name.as_str(), u.unit.as_str()), ("赵六", "石门镇"), "{}", s.name);
    accounts::set_profile(st, "boss", "zhao", None, Some("石门镇人民政府")).unwrap();
    let zhao = st.user("zhao").unwrap().unwrap();
    assert_eq!((zhao.display_name.as_str(), zhao.unit.as_str()), ("赵六", "石门镇人民政府"), "{}", s.name);
    assert_eq!(zhao.shown_name(), "赵六");
    let long = "名".repeat(65);
    assert!(
        matches!(accounts::set_profile(st, "boss", "zhao", Some(&long), None), Err(AccountsError::Invalid(m)) if m.zh.contains("姓名"))
    );
    assert!(matches!(accounts::set_profile(st, "boss", "ghost", Some("x"), None), Err(AccountsError::Invalid(_))));

    // A reset password must be changed; the change needs the current one and a different new one.
    accounts::reset_password(st, "boss", "zhao", "temporary-1").unwrap();
    let zhao = st.user("zhao").unwrap().unwrap();
    assert!(
        zhao.must_change_password && crate::auth::verify_password(&zhao.password_hash, "temporary-1"),
        "{}",
        s.name
    );
    assert!(accounts::reset_password(st, "boss", "zhao", "short").is_err());
    assert!(accounts::change_password(st, "zhao", "wrong-one", "mine-12345").is_err());
    assert!(accounts::change_password(st, "zhao", "temporary-1", "temporary-1").is_err());
    accounts::change_password(st, "zhao", "temporary-1", "mine-12345").unwrap();
    let zhao = st.user("zhao").unwrap().unwrap();
    assert!(!zhao.must_change_password && crate::auth::verify_password(&zhao.password_hash, "mine-12345"));

    // The last active admin stays; with another one, either may go, and `enable` brings one back.
    let last = accounts::disable_user(st, "boss", "boss");
    assert!(matches!(last, Err(AccountsError::Invalid(m)) if m.en.contains("last active admin")), "{}", s.name);
    assert!(!st.user("boss").unwrap().unwrap().disabled);
    accounts::add_user(st, "boss", "boss2", Role::Admin, None, "boss2-password").unwrap();
    accounts::disable_user(st, "boss2", "boss").unwrap();
    assert!(accounts::disable_user(st, "boss2", "boss2").is_err(), "now boss2 is the last one");
    accounts::enable_user(st, "boss2", "boss").unwrap();
    accounts::disable_user(st, "boss", "boss2").unwrap();
    accounts::disable_user(st, "boss", "zhao").unwrap();
    accounts::enable_user(st, "boss", "zhao").unwrap();
    assert!(!st.user("zhao").unwrap().unwrap().disabled);

    // Inspector grants: at most `max_days` ahead; a past day ends one.
    crate::places::add_township(st, "boss", "石门镇").unwrap();
    crate::places::add_village(st, "boss", "石门村", "石门镇").unwrap();
    let day = |n: i64| (chrono::Local::now().date_naive() + chrono::Duration::days(n)).format("%Y-%m-%d").to_string();
    let too_long = accounts::grant_inspector(st, "boss", "insp", "石门村", &day(91), 90);
    assert!(matches!(too_long, Err(AccountsError::Invalid(m)) if m.zh.contains("最长90天")), "{}", s.name);
    accounts::grant_inspector(st, "boss", "insp", "石门村", &day(90), 90).unwrap();
    accounts::grant_inspector(st, "boss", "insp", "石门村", &day(-1), 90).unwrap();
    assert_eq!(st.scope_facts("insp").unwrap().grants[0].until, day(-1));

    // Devices record the app version they report.
    st.add_device(&Device { app_version: "doorstep/0.1.0".into(), ..device("dz", "zhao", 5) }, "tokz").unwrap();
    st.touch_device("dz", 50, "doorstep/0.2.0").unwrap();
    let (d, u) = st.device_by_token("tokz").unwrap().unwrap();
    assert_eq!((d.app_version.as_str(), d.last_seen_ms, u.display_name.as_str()), ("doorstep/0.2.0", Some(50), "赵六"));

    let actions: Vec<String> = st.audit_log(100).unwrap().into_iter().map(|e| e.action).collect();
    for a in [
        "user.profile",
        "user.password_reset",
        "user.password_change",
        "user.disable",
        "user.enable",
        "grant.inspector",
    ] {
        assert!(actions.iter().any(|x| x == a), "{} audits {a}", s.name);
    }
}

pub fn assignments_record_scope_facts_and_events(s: &UnderTest) {
    let st = s.open();
    st.add_user(&user("zhao", Role::Helper, None)).unwrap();
    st.add_user(&user("an", Role::Doctor, Some("team1"))).unwrap();
    st.add_user(&user("sup", Role::Supervisor, None)).unwrap();
    st.add_user(&user("insp", Role::Inspector, None)).unwrap();

    assert!(matches!(st.assign_helper("ghost", &["h1".into()]), Err(StorageError::NotFound(_))));
    st.assign_helper("zhao", &["h1".into(), "h2".into()]).unwrap();
    st.assign_helper("zhao", &["h2".into(), "h3".into()]).unwrap(); // h2 again: no new event
    st.assign_team("team1", &["v1".into(), "v2".into()]).unwrap();
    st.assign_team("team1", &["v1".into()]).unwrap(); // no new event
    st.assign_area("sup", &[Area::Village("v9".into()), Area::Township("t1".into())]).unwrap();
    assert!(matches!(st.assign_area("ghost", &[Area::Village("v".into())]), Err(StorageError::NotFound(_))));
    st.grant_inspector(&Grant { user: "insp".into(), village: "v2".into(), until: "2026-01-01".into() }).unwrap();
    st.grant_inspector(&Grant { user: "insp".into(), village: "v2".into(), until: "2026-03-01".into() }).unwrap();
    st.grant_inspector(&Grant { user: "insp".into(), village: "v1".into(), until: "2026-02-01".into() }).unwrap();

    let f = st.scope_facts("zhao").unwrap();
    assert_eq!(f.households, ["h1", "h2", "h3"].map(String::from).into());
    assert!(f.team_villages.is_empty() && f.areas.is_empty() && f.grants.is_empty());
    assert_eq!(st.scope_facts("an").unwrap().team_villages, ["v1", "v2"].map(String::from).into());
    assert_eq!(st.scope_facts("sup").unwrap().areas, vec![Area::Township("t1".into()), Area::Village("v9".into())]);
    let mut grants = st.scope_facts("insp").unwrap().grants;
    grants.sort_by(|a, b| a.village.cmp(&b.village));
    assert_eq!(
        grants,
        vec![
            Grant { user: "insp".into(), village: "v1".into(), until: "2026-02-01".into() },
            Grant { user: "insp".into(), village: "v2".into(), until: "2026-03-01".into() },
        ],
        "a renewed grant keeps its latest expiry"
    );
    assert_eq!(st.scope_facts("nobody").unwrap(), ScopeFacts::default());

    // Events: h1, h2, h3, v1, v2, v9, t1, three grants = 10 sequences; the next one is 11.
    let mut next = 0;
    st.write(&mut |tx| {
        next = tx.next_seq()?;
        Ok(())
    })
    .unwrap();
    assert_eq!(next, 11, "{}: one sequence per new assignment and per grant", s.name);
}

pub fn a_unit_of_work_commits_or_rolls_back_whole(s: &UnderTest) {
    let st = s.open();
    let h = household("h1", "v1", "t1");
    let (mut doc, change) = create(&h, "dA");
    let saved = doc.save();
    // A refused unit of work: everything it did is gone.
    let err = st.write(&mut |tx| {
        tx.bind_actor(&change.actor, "dA", 1)?;
        let seq = tx.next_seq()?;
        tx.insert_change(&NewChange {
            seq,
            hash: change.hash.clone(),
            doc_id: "h1".into(),
            actor: change.actor.clone(),
            device_id: "dA".into(),
            received_ms: 1,
            bytes: change.bytes.clone(),
        })?;
        let mut d = Document::load(&saved, &ActorId::random())?;
        let stored = StoredDoc {
            id: "h1".into(),
            kind: DocKind::Household,
            bytes: saved.clone(),
            heads: d.heads(),
            first_seq: seq,
            last_seq: seq,
            placement: place("h1", "v1", "t1"),
            updated_ms: 1,
        };
        tx.save_doc(&stored, &mut d)?;
        assert!(tx.link(&Link::Helper { helper: "zhao".into(), household: "h1".into() })?);
        tx.scope_event(&ScopeEvent { subject: Subject::User("zhao".into()), target: Target::Household("h1".into()) })?;
        assert!(tx.change_exists(&change.hash)?, "visible inside its own unit of work");
        Err(Refusal::OutOfScope("h1".into()).into())
    });
    assert!(matches!(err, Err(StorageError::Refused(Refusal::OutOfScope(_)))), "{}: {err:?}", s.name);
    assert_eq!(st.doc("h1").unwrap(), None);
    assert!(st.doc_changes("h1").unwrap().is_empty());
    assert!(st.scope_facts("zhao").unwrap().households.is_empty());
    assert!(s.ix.as_ref()("ix_households").is_empty(), "derived rows rolled back too");
    let mut seen = (true, Some(String::new()), 0);
    st.write(&mut |tx| {
        seen = (tx.change_exists(&change.hash)?, tx.actor_device(&change.actor)?, tx.next_seq()?);
        Err(Refusal::Forbidden("look only".into()).into())
    })
    .unwrap_err();
    assert_eq!(seen, (false, None, 1), "no change, no actor binding, the sequence not consumed");

    // The same work, committed.
    let seqs = commit(st.as_ref(), "h1", DocKind::Household, &place("h1", "v1", "t1"), "dA", &[change.clone()], &saved);
    assert_eq!(seqs, vec![1]);
    st.write(&mut |tx| tx.bind_actor(&change.actor, "dA", 1)).unwrap();
    let stored = st.doc("h1").unwrap().expect("stored");
    assert_eq!((stored.kind, stored.first_seq, stored.last_seq), (DocKind::Household, 1, 1));
    assert_eq!(stored.placement, place("h1", "v1", "t1"));
    assert_eq!(stored.heads, vec![change.hash.clone()]);
    assert_eq!(stored.document().unwrap().read::<doorstep_core::model::Household>().unwrap(), h);
    let infos = st.doc_changes("h1").unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!((infos[0].seq, &infos[0].hash, &infos[0].device_id), (1, &change.hash, &"dA".to_string()));
    assert_eq!(st.change_bytes(&[5, 1]).unwrap(), vec![(1, change.bytes.clone())], "missing sequences left out");
    assert_eq!(st.docs(&["nope".into(), "h1".into()]).unwrap(), vec![stored]);
    let mut owner = None;
    st.write(&mut |tx| {
        owner = tx.actor_device(&change.actor)?;
        // The same change twice violates the content address: the unit of work fails and stores nothing.
        let seq = tx.next_seq()?;
        tx.insert_change(&NewChange {
            seq,
            hash: change.hash.clone(),
            doc_id: "h1".into(),
            actor: change.actor.clone(),
            device_id: "dA".into(),
            received_ms: 1,
            bytes: change.bytes.clone(),
        })
    })
    .unwrap_err();
    assert_eq!(owner.as_deref(), Some("dA"));
    assert_eq!(st.doc_changes("h1").unwrap().len(), 1);
    assert_eq!(st.pull_candidates(&everything(0, "x")).unwrap().0, 1, "the failed unit left the head at 1");
}

pub fn pull_candidates_after_a_cursor(s: &UnderTest) {
    let st = s.open();
    let st = st.as_ref();
    let (p1, p2) = (place("H1", "V1", "T1"), place("H2", "V2", "T2"));
    let (mut h1, c1) = create(&household("H1", "V1", "T1"), "dA");
    let (mut h2, c2) = create(&household("H2", "V2", "T2"), "dB");
    assert_eq!(commit(st, "H1", DocKind::Household, &p1, "dA", &[c1], &h1.save()), vec![1]);
    assert_eq!(commit(st, "H2", DocKind::Household, &p2, "dB", &[c2], &h2.save()), vec![2]);
    let mut h1b = household("H1", "V1", "T1");
    h1b.phone = "13800000000".into();
    let c3 = h1.update(&h1b, &author("dB"), 2).unwrap().unwrap();
    assert_eq!(commit(st, "H1", DocKind::Household, &p1, "dB", &[c3], &h1.save()), vec![3]);
    let rules = doorstep_core::model::RulesDoc { id: SCHEDULE_RULES_ID.into(), ..Default::default() };
    let (mut r, c4) = create(&rules, "dB");
    assert_eq!(commit(st, SCHEDULE_RULES_ID, DocKind::Rules, &Placement::default(), "dB", &[c4], &r.save()), vec![4]);
    let mut five = 0;
    st.write(&mut |tx| {
        five =
            tx.scope_event(&ScopeEvent { subject: Subject::User("u".into()), target: Target::Household("H2".into()) })?;
        Ok(())
    })
    .unwrap();
    assert_eq!(five, 5);
    let mut h2b = household("H2", "V2", "T2");
    h2b.phone = "13900000000".into();
    let c6 = h2.update(&h2b, &author("dA"), 3).unwrap().unwrap();
    assert_eq!(commit(st, "H2", DocKind::Household, &p2, "dA", &[c6.clone()], &h2.save()), vec![6]);
    let mut v = samples::visit();
    v.id = "X".into();
    v.household_id = "H2".into();
    let (mut x, c7) = create(&v, "dB");
    assert_eq!(commit(st, "X", DocKind::Visit, &p2, "dB", &[c7], &x.save()), vec![7]);

    let doc_len = |id: &str| st.doc(id).unwrap().unwrap().bytes.len() as u64;
    let got = |q: PullQuery| -> (u64, Vec<(u64, String, CandidateKind, u64)>) {
        let (head, c) = st.pull_candidates(&q).unwrap();
        (head, c.into_iter().map(|c| (c.seq, c.doc_id, c.how, c.len)).collect())
    };
    let vis = |households: &[&str], villages: &[&str]| Visibility {
        all: false,
        households: households.iter().map(|s| s.to_string()).collect(),
        villages: villages.iter().map(|s| s.to_string()).collect(),
        townships: Default::default(),
    };
    use CandidateKind::*;

    // Fresh device in V1: H1 (it has another device's change) and the rules, as whole documents.
    let q = PullQuery { cursor: 0, device_id: "dA".into(), user: "a".into(), team: None, visible: vis(&[], &["V1"]) };
    assert_eq!(
        got(q),
        (
            7,
            vec![
                (1, "H1".into(), NewDoc, doc_len("H1")),
                (4, SCHEDULE_RULES_ID.into(), NewDoc, doc_len(SCHEDULE_RULES_ID))
            ]
        ),
        "{}",
        s.name
    );
    // A helper whose scope gained H2 at 5: H2 whole at 5 (its own change at 6 not sent back), the new visit X at 7.
    let q = PullQuery { cursor: 4, device_id: "dA".into(), user: "u".into(), team: None, visible: vis(&["H2"], &[]) };
    assert_eq!(got(q), (7, vec![(5, "H2".into(), EnteredScope, doc_len("H2")), (7, "X".into(), NewDoc, doc_len("X"))]));
    // Everything after 1 for device dA: other devices' documents whole, and dB's change to H1 on its own.
    let c3_len = st.change_bytes(&[3]).unwrap()[0].1.len() as u64;
    assert_eq!(
        got(everything(1, "dA")),
        (
            7,
            vec![
                (2, "H2".into(), NewDoc, doc_len("H2")),
                (3, "H1".into(), Change, c3_len),
                (4, SCHEDULE_RULES_ID.into(), NewDoc, doc_len(SCHEDULE_RULES_ID)),
                (7, "X".into(), NewDoc, doc_len("X")),
            ]
        )
    );
    // Device dB after 5: only dA's change to H2 (its own visit is not echoed).
    let c6_len = c6.bytes.len() as u64;
    assert_eq!(got(everything(5, "dB")), (7, vec![(6, "H2".into(), Change, c6_len)]));
    // Up to date: nothing, cursor at the head.
    assert_eq!(got(everything(7, "dA")), (7, vec![]));
    // A team gains V2 at 8: both documents in V2 enter a team doctor's scope, at 8, ordered by id.
    st.assign_team("team1", &["V2".into()]).unwrap();
    let q = PullQuery {
        cursor: 7,
        device_id: "dD".into(),
        user: "doc".into(),
        team: Some("team1".into()),
        visible: vis(&[], &["V2"]),
    };
    assert_eq!(
        got(q),
        (8, vec![(8, "H2".into(), EnteredScope, doc_len("H2")), (8, "X".into(), EnteredScope, doc_len("X"))])
    );
    // Another team's doctor sees nothing of it.
    let q = PullQuery {
        cursor: 7,
        device_id: "dE".into(),
        user: "doc2".into(),
        team: Some("team2".into()),
        visible: vis(&[], &["V2"]),
    };
    assert_eq!(got(q), (8, vec![]));
    // A household moves village: its visit moves with it.
    st.write(&mut |tx| tx.move_dependents("H2", &place("H2", "V3", "T3"))).unwrap();
    assert_eq!(st.doc("X").unwrap().unwrap().placement, place("H2", "V3", "T3"));
}

/// A push writes many documents in one unit of work, and later steps read what earlier ones wrote (a visit reads
/// the household pushed with it); a store may hold the writes back until commit (PostgreSQL sends them as one
/// statement per table), so every read inside the unit must still see them, and the commit must keep them all.
pub fn one_unit_of_work_reads_its_own_writes(s: &UnderTest) {
    let st = s.open();
    let ix = |t: &str| s.ix.as_ref()(t);
    let (mut hd, hc) = create(&household("H1", "V1", "T1"), "dA");
    let mut v = samples::visit();
    v.id = "X1".into();
    v.household_id = "H1".into();
    let (mut vd, vc) = create(&v, "dA");
    let stored = |id: &str, kind, doc: &mut Document, seq: u64, village: &str| StoredDoc {
        id: id.into(),
        kind,
        bytes: doc.save(),
        heads: doc.heads(),
        first_seq: seq,
        last_seq: seq,
        placement: place("H1", village, "T1"),
        updated_ms: 7,
    };
    let blob = BlobRef { hash: "a".repeat(64), media_type: "image/jpeg".into(), size: 10 };
    let mut seqs = Vec::new();
    st.write(&mut |tx| {
        seqs.clear();
        tx.prefetch(&["H1", "X1"], &[&hc.hash, &vc.hash])?;
        assert_eq!(tx.doc("H1")?, None, "{}", s.name);
        assert!(!tx.change_exists(&hc.hash)?);
        for (id, kind, doc, c) in [("H1", DocKind::Household, &mut hd, &hc), ("X1", DocKind::Visit, &mut vd, &vc)] {
            let seq = tx.next_seq()?;
            seqs.push(seq);
            let change = NewChange {
                seq,
                hash: c.hash.clone(),
                doc_id: id.into(),
                actor: c.actor.clone(),
                device_id: "dA".into(),
                received_ms: 7,
                bytes: c.bytes.clone(),
            };
            tx.insert_change(&change)?;
            assert!(tx.change_exists(&c.hash)?, "{}: a change inserted is seen at once", s.name);
            let d = stored(id, kind, doc, seq, "V1");
            tx.save_doc(&d, doc)?;
            assert_eq!(tx.doc(id)?.map(|d| d.last_seq), Some(seq), "{}: a saved document is read back", s.name);
        }
        tx.set_blob_refs("X1", &[blob.clone(), blob.clone()])?;
        // The household moves; its visit, saved just before, moves with it, as a read inside the unit shows.
        let moved = stored("H1", DocKind::Household, &mut hd, seqs[0], "V2");
        tx.save_doc(&moved, &mut hd)?;
        tx.move_dependents("H1", &place("H1", "V2", "T1"))?;
        assert_eq!(tx.doc("X1")?.map(|d| d.placement.village), Some("V2".to_string()), "{}", s.name);
        // Sequences go on from the last one handed out, scope events included.
        let event = tx.scope_event(&ScopeEvent { subject: Subject::Anyone, target: Target::Household("H1".into()) })?;
        assert_eq!(event, seqs[1] + 1, "{}", s.name);
        seqs.push(event);
        Ok(())
    })
    .unwrap();
    assert_eq!(seqs, vec![seqs[0], seqs[0] + 1, seqs[0] + 2], "{}", s.name);
    let x = st.doc("X1").unwrap().expect("the visit is stored");
    assert_eq!((x.placement.village.as_str(), x.last_seq), ("V2", seqs[1]), "{}", s.name);
    assert_eq!(st.doc("H1").unwrap().map(|h| h.placement.village), Some("V2".to_string()));
    assert_eq!(st.doc_changes("X1").unwrap().len(), 1);
    assert_eq!(ix("ix_households").len(), 1, "{}: the household's rows once, as last saved", s.name);
    assert_eq!(ix("ix_visits").len(), 1, "{}", s.name);
    let referrers = st.blob_referrers(&blob.hash).unwrap();
    assert_eq!(referrers.iter().map(|r| r.doc_id.as_str()).collect::<Vec<_>>(), vec!["X1"], "{}", s.name);
    // The next unit of work continues the sequence: the counter was written.
    let mut next = 0;
    st.write(&mut |tx| {
        next = tx.next_seq()?;
        Ok(())
    })
    .unwrap();
    assert_eq!(next, seqs[2] + 1, "{}", s.name);
}

pub fn derived_rows_follow_the_document(s: &UnderTest) {
    let st = s.open();
    let ix = |t: &str| s.ix.as_ref()(t);
    let mut h = household("H1", "V1", "T1");
    h.helper_ids = vec!["zhao".into(), "zhao".into(), "qian".into()];
    let (mut hd, c1) = create(&h, "dA");
    commit(st.as_ref(), "H1", DocKind::Household, &place("H1", "V1", "T1"), "dA", &[c1], &hd.save());
    let rows = ix("ix_households");
    assert_eq!(rows.len(), 1, "{}", s.name);
    assert!(rows[0].contains("4306210010001") && rows[0].contains("张建国"), "{}", rows[0]);
    assert_eq!(ix("ix_household_helpers").len(), 2, "duplicates collapse");
    assert_eq!(ix("ix_members").len(), h.members.len());

    let mut v = samples::visit();
    v.id = "X1".into();
    v.household_id = "H1".into();
    v.problems.insert(
        "p1".into(),
        Problem {
            description: "屋顶漏雨".into(),
            assurance: None,
            status: ProblemStatus::Open,
            resolved_date: None,
            action: String::new(),
        },
    );
    let (mut vd, c2) = create(&v, "dA");
    commit(st.as_ref(), "X1", DocKind::Visit, &place("H1", "V1", "T1"), "dA", &[c2], &vd.save());
    let mut sc = samples::screening();
    sc.id = "S1".into();
    sc.household_id = "H1".into();
    let (mut sd, c3) = create(&sc, "dA");
    commit(st.as_ref(), "S1", DocKind::Screening, &place("H1", "V1", "T1"), "dA", &[c3], &sd.save());
    assert_eq!((ix("ix_visits").len(), ix("ix_problems").len(), ix("ix_screenings").len()), (1, 1, 1));
    assert!(ix("ix_problems")[0].contains("屋顶漏雨"));

    // An edit replaces the rows: one member fewer, one helper fewer, the problem resolved.
    let gone = h.members.iter().find(|(_, m)| m.name == "李秀英").map(|(id, _)| id.clone()).expect("sample spouse");
    h.members.remove(&gone);
    h.helper_ids = vec!["zhao".into()];
    let c4 = hd.update(&h, &author("dA"), 2).unwrap().unwrap();
    commit(st.as_ref(), "H1", DocKind::Household, &place("H1", "V1", "T1"), "dA", &[c4], &hd.save());
    assert_eq!(ix("ix_members").len(), h.members.len());
    assert!(!ix("ix_members").iter().any(|r| r.contains(&gone)));
    assert_eq!(ix("ix_household_helpers").len(), 1);
    v.problems.get_mut("p1").unwrap().status = ProblemStatus::Resolved;
    let c5 = vd.update(&v, &author("dA"), 2).unwrap().unwrap();
    commit(st.as_ref(), "X1", DocKind::Visit, &place("H1", "V1", "T1"), "dA", &[c5], &vd.save());
    assert!(ix("ix_problems")[0].contains("resolved"), "{:?}", ix("ix_problems"));
    assert_eq!(ix("ix_households").len(), 1);
}

/// Records are packed beside their documents; a database whose records were kept as JSON (before schema 15), were
/// packed under another layout, or are unreadable has them packed again, from the JSON or from the document, the
/// next time it is opened; a database already packed under this layout is not walked again.
pub fn records_are_packed_again_when_opened_under_another_layout(s: &UnderTest) {
    use doorstep_core::model::{packed, Household, Visit};
    let st = s.open();
    let h = household("H1", "V1", "T1");
    let (mut hd, c1) = create(&h, "dA");
    commit(st.as_ref(), "H1", DocKind::Household, &place("H1", "V1", "T1"), "dA", &[c1], &hd.save());
    let mut v = samples::visit();
    v.id = "X1".into();
    v.household_id = "H1".into();
    let (mut vd, c2) = create(&v, "dA");
    commit(st.as_ref(), "X1", DocKind::Visit, &place("H1", "V1", "T1"), "dA", &[c2], &vd.save());
    let mut w = samples::visit();
    w.id = "X2".into();
    w.household_id = "H1".into();
    let (mut wd, c3) = create(&w, "dA");
    commit(st.as_ref(), "X2", DocKind::Visit, &place("H1", "V1", "T1"), "dA", &[c3], &wd.save());
    let ids: Vec<String> = ["H1", "X1", "X2"].map(String::from).to_vec();
    let bytes = |st: &dyn Storage| {
        let mut held = st.records(&ids).unwrap();
        held.sort();
        held
    };
    // Unpacked: a map's entries are packed in no fixed order.
    let read = |st: &dyn Storage| {
        let held = bytes(st);
        assert_eq!(held.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["H1", "X1", "X2"]);
        (
            packed::unpack::<Household>(&held[0].1),
            packed::unpack::<Visit>(&held[1].1),
            packed::unpack::<Visit>(&held[2].1),
        )
    };
    let packed_now = read(st.as_ref());
    assert_eq!(packed_now, (Some(h.clone()), Some(v.clone()), Some(w.clone())), "{}", s.name);

    // JSON as schemas before 15 kept it, another layout's bytes, nothing readable.
    let mut json = serde_json::to_vec(&h).unwrap();
    let mut other = bytes(st.as_ref())[1].1.clone();
    other[0] ^= 0xff;
    st.set_records(&[("H1".into(), json.clone()), ("X1".into(), other), ("X2".into(), b"{".to_vec())]).unwrap();
    st.set_meta(sql::RECORD_LAYOUT, "0badcafe").unwrap();
    assert_eq!(read(st.as_ref()), (None, None, None));
    drop(st);
    let st = s.open();
    assert_eq!(read(st.as_ref()), packed_now, "{}: packed again when opened", s.name);
    assert_eq!(st.meta(sql::RECORD_LAYOUT).unwrap(), Some(hex::encode(packed::layout())));
    // The JSON is what a household is packed from when it reads (the document is not parsed): a JSON that says
    // something else than the document shows it.
    json = serde_json::to_vec(&Household { phone: "from the JSON".into(), ..h.clone() }).unwrap();
    st.set_records(&[("H1".into(), json)]).unwrap();
    st.set_meta(sql::RECORD_LAYOUT, "0badcafe").unwrap();
    assert_eq!(super::records::repack(st.as_ref()).unwrap(), 1, "only the household's record is written");
    assert_eq!(read(st.as_ref()).0.map(|h| h.phone).as_deref(), Some("from the JSON"));
    assert_eq!(super::records::repack(st.as_ref()).unwrap(), 0, "nothing more once the layout is recorded");
}

/// Several writers (threads, spread over several handles where the store allows) push changes to one document at
/// once, each a read-merge-write, while a reader pulls: sequences are gap-free and unique, every pull's head has
/// every change below it in the same answer, and the merged document holds every change.
pub fn concurrent_writers_get_gap_free_sequences_and_lose_nothing(s: &UnderTest) {
    const WRITERS: usize = 4;
    const EACH: usize = 12;
    let handles: Vec<Arc<dyn Storage>> = (0..s.processes).map(|_| s.open()).collect();
    let mut base = samples::visit();
    base.id = "V".into();
    base.household_id = "H".into();
    let (mut doc, c0) = create(&base, "seed");
    let saved = doc.save();
    assert_eq!(commit(handles[0].as_ref(), "V", DocKind::Visit, &place("H", "v", "t"), "seed", &[c0], &saved), vec![1]);

    let done = AtomicBool::new(false);
    let (all_seqs, all_hashes, reads) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let st = handles[w % handles.len()].clone();
                let (saved, base) = (&saved, &base);
                scope.spawn(move || {
                    let device = format!("w{w}");
                    let mut mine = Document::load(saved, &ActorId::random()).unwrap();
                    let mut record = base.clone();
                    let mut out: Vec<(u64, String)> = Vec::new();
                    for k in 0..EACH {
                        record.note = format!("{device}-{k}");
                        let c = mine.update(&record, &author(&device), k as i64).unwrap().unwrap();
                        let mut seq = 0;
                        st.write(&mut |tx| {
                            let existing = tx.doc("V")?.expect("base document");
                            let mut merged = existing.document()?;
                            merged.apply(&[c.bytes.clone()])?;
                            seq = tx.next_seq()?;
                            tx.insert_change(&NewChange {
                                seq,
                                hash: c.hash.clone(),
                                doc_id: "V".into(),
                                actor: c.actor.clone(),
                                device_id: device.clone(),
                                received_ms: 1,
                                bytes: c.bytes.clone(),
                            })?;
                            let stored = StoredDoc {
                                bytes: merged.save(),
                                heads: merged.heads(),
                                last_seq: seq,
                                updated_ms: 2,
                                ..existing
                            };
                            tx.save_doc(&stored, &mut merged)
                        })
                        .expect("concurrent write");
                        out.push((seq, c.hash));
                    }
                    out
                })
            })
            .collect();
        let reader = {
            let st = handles[handles.len() - 1].clone();
            let done = &done;
            scope.spawn(move || {
                let mut last = 0;
                let mut reads = 0;
                // Bounded: stops when the writers are done (one last read), or after many reads regardless.
                for _ in 0..100_000 {
                    let finished = done.load(Ordering::SeqCst);
                    let (head, c) = st.pull_candidates(&everything(1, "reader")).expect("pull");
                    let seqs: Vec<u64> = c.iter().map(|c| c.seq).collect();
                    assert!(head >= last, "head went back from {last} to {head}");
                    assert_eq!(seqs, (2..=head).collect::<Vec<_>>(), "a pull at head {head} misses a committed change");
                    last = head;
                    reads += 1;
                    if finished {
                        break;
                    }
                }
                reads
            })
        };
        let mut seqs = Vec::new();
        let mut hashes: Vec<String> = Vec::new();
        for w in writers {
            for (seq, hash) in w.join().expect("writer") {
                seqs.push(seq);
                hashes.push(hash);
            }
        }
        done.store(true, Ordering::SeqCst);
        (seqs, hashes, reader.join().expect("reader"))
    });
    let total = WRITERS * EACH;
    let mut sorted = all_seqs.clone();
    sorted.sort();
    assert_eq!(sorted, (2..=(total as u64 + 1)).collect::<Vec<_>>(), "{}: unique and gap-free", s.name);
    assert!(reads >= 1);
    let st = s.open();
    assert_eq!(st.doc_changes("V").unwrap().len(), total + 1, "no change lost");
    let stored = st.doc("V").unwrap().unwrap();
    assert_eq!(stored.last_seq, total as u64 + 1);
    let mut merged = stored.document().unwrap();
    for h in &all_hashes {
        assert!(merged.has_change(h), "{}: the merged document lost change {h}", s.name);
    }
}

pub fn reopening_keeps_everything(s: &UnderTest) {
    let first = s.open();
    first.add_user(&user("zhao", Role::Helper, None)).unwrap();
    first.assign_helper("zhao", &["h1".into()]).unwrap();
    let (mut d, c) = create(&household("h1", "v1", "t1"), "dA");
    commit(first.as_ref(), "h1", DocKind::Household, &place("h1", "v1", "t1"), "dA", &[c], &d.save());
    let second = s.open(); // a restart, or a second server process on the same database
    assert!(second.user("zhao").unwrap().is_some());
    assert_eq!(second.scope_facts("zhao").unwrap().households.len(), 1);
    assert_eq!(second.doc("h1").unwrap(), first.doc("h1").unwrap());
    let mut next = 0;
    second
        .write(&mut |tx| {
            next = tx.next_seq()?;
            Ok(())
        })
        .unwrap();
    assert_eq!(next, 3, "{}: the sequence continues where it was", s.name);
    assert_eq!(first.pull_candidates(&everything(0, "x")).unwrap().0, 3, "and the first handle sees it");
}

/// Upgrading a database written before places were a list: every village and township its households, team
/// villages, areas and grants name becomes a place, so no assignment refers to an unknown place afterwards.
pub fn the_migration_creates_every_place_existing_data_names(s: &UnderTest) {
    let st = s.open();
    st.add_user(&user("doc", Role::Doctor, Some("T"))).unwrap();
    st.add_user(&user("sup", Role::Supervisor, None)).unwrap();
    st.add_user(&user("ins", Role::Inspector, None)).unwrap();
    let (mut d, c) = create(&household("h1", "旧村", "旧镇"), "dA");
    commit(st.as_ref(), "h1", DocKind::Household, &place("h1", "旧村", "旧镇"), "dA", &[c], &d.save());
    st.assign_team("T", &["队村".into()]).unwrap();
    st.assign_area("sup", &[Area::Township("片镇".into()), Area::Village("片村".into())]).unwrap();
    st.grant_inspector(&Grant { user: "ins".into(), village: "查村".into(), until: "2099-12-31".into() }).unwrap();
    drop(st);
    (s.before_places)();
    let places = s.open().places().unwrap();
    let found: Vec<(PlaceKind, &str, &str, PlaceOrigin, u64)> =
        places.iter().map(|p| (p.kind, p.name.as_str(), p.township.as_str(), p.origin, p.households)).collect();
    let m = PlaceOrigin::Migration;
    assert_eq!(
        found,
        [
            (PlaceKind::Township, "旧镇", "", m, 1),
            (PlaceKind::Township, "片镇", "", m, 0),
            (PlaceKind::Village, "查村", "", m, 0),
            (PlaceKind::Village, "片村", "", m, 0),
            (PlaceKind::Village, "队村", "", m, 0),
            (PlaceKind::Village, "旧村", "旧镇", m, 1),
        ],
        "{}",
        s.name
    );
    assert!(places.iter().all(|p| p.created_ms > 1_600_000_000_000), "{}: stamped with the migration's time", s.name);
    // Schema 12 gives each document the times its changes were received (5 here; the document says 7).
    let h1: Vec<serde_json::Value> = (s.ix)("docs")
        .iter()
        .map(|row| serde_json::from_str::<serde_json::Value>(row).unwrap())
        .filter(|row| row["id"] == "h1")
        .collect();
    assert_eq!((h1[0]["created_ms"].as_i64(), h1[0]["updated_ms"].as_i64()), (Some(5), Some(5)), "{}", s.name);
}

/// A pull limited to a number of candidates says up to where it is complete: new documents and changes alike.
pub fn limited_pulls_are_complete_up_to_their_cursor(s: &UnderTest) {
    let st = s.open();
    let mut docs = Vec::new();
    for i in 0..10 {
        let id = format!("L{i:02}");
        let h = household(&id, "V1", "T1");
        let (mut d, c) = create(&h, "dA");
        commit(st.as_ref(), &id, DocKind::Household, &place(&id, "V1", "T1"), "dA", &[c], &d.save());
        docs.push((id, h, d));
    }
    let seqs = |c: &[Candidate]| c.iter().map(|c| c.seq).collect::<Vec<_>>();
    let (to, c, cut) = st.pull_candidates_limited(&everything(0, "dB"), 4).unwrap();
    assert_eq!((to, cut, seqs(&c)), (4, true, vec![1, 2, 3, 4]), "{}", s.name);
    let (to, c, cut) = st.pull_candidates_limited(&everything(0, "dB"), 10).unwrap();
    assert_eq!((to, cut, c.len()), (10, false, 10));
    for (id, h, d) in docs.iter_mut().take(5) {
        h.phone = "13700000000".into();
        let c = d.update(h, &author("dB"), 2).unwrap().unwrap();
        commit(st.as_ref(), id, DocKind::Household, &place(id, "V1", "T1"), "dB", &[c], &d.save());
    }
    let (to, c, cut) = st.pull_candidates_limited(&everything(10, "dA"), 2).unwrap();
    assert_eq!((to, cut, seqs(&c)), (12, true, vec![11, 12]));
    let (to, c, cut) = st.pull_candidates_limited(&everything(12, "dA"), 100).unwrap();
    assert_eq!((to, cut, seqs(&c)), (15, false, vec![13, 14, 15]));
    assert_eq!(st.pull_candidates(&everything(10, "dA")).unwrap().0, 15, "unlimited: complete to the head");
}

/// An actor's owner (device, account, revoked), and moving it to another device of the same account.
pub fn actors_know_their_owner_and_move_to_a_new_device(s: &UnderTest) {
    let st = s.open();
    st.add_user(&user("zhao", Role::Helper, None)).unwrap();
    st.add_device(&device("d1", "zhao", 1), "tok1").unwrap();
    st.add_device(&device("d2", "zhao", 2), "tok2").unwrap();
    let owner = |st: &dyn Storage, actor: &str| {
        let mut found = None;
        st.write(&mut |tx| {
            found = tx.actor_owner(actor)?.map(|o| (o.device_id, o.user, o.revoked));
            Ok(())
        })
        .unwrap();
        found
    };
    st.write(&mut |tx| {
        tx.bind_actor("aa", "d1", 5)?;
        tx.bind_actor("bb", "ghost", 5)
    })
    .unwrap();
    assert_eq!(owner(st.as_ref(), "aa"), Some(("d1".into(), "zhao".into(), false)), "{}", s.name);
    assert_eq!(owner(st.as_ref(), "bb"), Some(("ghost".into(), String::new(), false)), "an unknown device");
    assert_eq!(owner(st.as_ref(), "cc"), None);
    st.revoke_device("d1").unwrap();
    assert_eq!(owner(st.as_ref(), "aa"), Some(("d1".into(), "zhao".into(), true)));
    st.write(&mut |tx| tx.rebind_actor("aa", "d2", 6)).unwrap();
    assert_eq!(owner(st.as_ref(), "aa"), Some(("d2".into(), "zhao".into(), false)));
}

/// The server's own conformance checks (`storage::conformance`), which drive the store through `sync::push`.
pub fn the_conformance_checks(s: &UnderTest) {
    crate::storage::conformance::check_all(s.open().as_ref());
}

// ---- PostgreSQL only ----

/// The PostgreSQL store holds exactly the derived rows the SQLite store holds for the same documents.
#[test]
fn postgres_derives_the_same_rows_as_sqlite() {
    let Some(pg) = postgres() else { return };
    let lite = sqlite();
    derived_rows_follow_the_document(&lite);
    derived_rows_follow_the_document(&pg);
    for table in INDEX_TABLES {
        // Member ids are random per run; compare rows with them and each document's own random parts masked.
        let mask = |rows: Vec<String>| -> Vec<String> {
            let mut rows: Vec<String> = rows
                .into_iter()
                .map(|r| {
                    let mut v: serde_json::Value = serde_json::from_str(&r).unwrap();
                    if let Some(o) = v.as_object_mut() {
                        for k in ["member_id", "search", "masked_id"] {
                            if o.contains_key(k) {
                                o.insert(k.into(), serde_json::Value::Null);
                            }
                        }
                    }
                    v.to_string()
                })
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(mask(lite.ix.as_ref()(table)), mask(pg.ix.as_ref()(table)), "{table}");
    }
}

#[test]
fn postgres_refuses_a_newer_schema() {
    let Some(pg) = postgres() else { return };
    let _ = pg.open();
    let url = std::env::var("DOORSTEP_TEST_PG").unwrap();
    let guard = pg._guard.downcast_ref::<SchemaGuard>().expect("schema guard");
    let mut c = postgres::pg::Client::connect(&url, postgres::pg::NoTls).unwrap();
    c.batch_execute(&format!("UPDATE {}.schema_version SET version = 99", guard.schema)).unwrap();
    let mut config: postgres::pg::Config = url.parse().unwrap();
    config.options(&format!("-c search_path={}", guard.schema));
    match PostgresStorage::connect(config) {
        Err(StorageError::Internal(m)) => assert!(m.contains("newer"), "{m}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

#[test]
fn postgres_unreachable_is_unavailable() {
    let Some(_pg) = postgres() else { return };
    // A closed loopback port: nothing listens on port 1.
    match PostgresStorage::open("postgres://nobody@127.0.0.1:1/none?connect_timeout=2") {
        Err(StorageError::Unavailable(_)) => {}
        Err(e) => panic!("expected Unavailable, got {e}"),
        Ok(_) => panic!("connected to nothing"),
    }
}

/// Writers waiting their turn hold no pooled connection: while one unit of work is open and more writers than the
/// pool has connections queue behind it, reads still get a connection at once. (When waiting writers took
/// connections first, reads waited the pool's timeout and pushes were answered 503 at month end.)
#[test]
fn postgres_waiting_writers_leave_connections_to_readers() {
    let Some(pg) = postgres() else { return };
    let st = PostgresStorage::connect(schema_config(&pg)).unwrap();
    st.add_user(&user("zhao", Role::Helper, None)).unwrap();
    let (entered_tx, entered) = std::sync::mpsc::channel::<()>();
    let (release_tx, release) = std::sync::mpsc::channel::<()>();
    let writers = postgres::POOL_SIZE as usize + 2;
    std::thread::scope(|s| {
        let st = &st;
        // Dropped when this closure ends, failing or not, so the first writer is never left waiting.
        let release_tx = release_tx;
        let first = s.spawn(move || {
            st.write(&mut |tx| {
                tx.next_seq()?;
                entered_tx.send(()).expect("the test waits");
                let _ = release.recv();
                Ok(())
            })
        });
        entered.recv().unwrap();
        let waiting: Vec<_> = (0..writers)
            .map(|_| {
                s.spawn(move || {
                    st.write(&mut |tx| {
                        tx.next_seq()?;
                        Ok(())
                    })
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let t = std::time::Instant::now();
        for _ in 0..2 * postgres::POOL_SIZE {
            assert!(st.user("zhao").unwrap().is_some(), "a read while writers wait");
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "reads waited {:?}", t.elapsed());
        release_tx.send(()).unwrap();
        first.join().unwrap().unwrap();
        for w in waiting {
            w.join().unwrap().unwrap();
        }
    });
    // Every writer got its sequence number, in turn.
    let mut next = 0;
    st.write(&mut |tx| {
        next = tx.next_seq()?;
        Ok(())
    })
    .unwrap();
    assert!(next >= writers as u64 + 2, "{next}");
}

/// The directory of PostgreSQL's client programs (`pg_dump`, `pg_restore`): `DOORSTEP_PG_BIN` (set by
/// `scripts/pg-throwaway.sh`), else the newest Debian install.
fn pg_bin() -> Option<std::path::PathBuf> {
    if let Ok(dir) = std::env::var("DOORSTEP_PG_BIN") {
        return Some(dir.into());
    }
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_dump").exists())
        .collect();
    found.sort();
    found.pop()
}

/// Drops a restored database when the test ends.
struct DatabaseGuard {
    url: String,
    name: String,
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::pg::Client::connect(&self.url, postgres::pg::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// Backup with `pg_dump`, restore with `pg_restore` into a new database, and sync on against the restored copy:
/// documents, changes, accounts and the sequence are all there, and a device pushes and pulls as before.
#[test]
fn postgres_backup_restores_and_sync_goes_on() {
    use crate::scope::Scope;
    use doorstep_core::sync::protocol::WireChange;
    use std::process::Command;
    let Some(pg) = postgres() else { return };
    let bin = pg_bin().expect("pg_dump and pg_restore (DOORSTEP_PG_BIN or /usr/lib/postgresql/*/bin)");
    let url = std::env::var("DOORSTEP_TEST_PG").unwrap();
    let schema = pg._guard.downcast_ref::<SchemaGuard>().expect("schema guard").schema.clone();
    let st = pg.open();
    st.add_user(&user("zhao", Role::Helper, None)).unwrap();
    let scope = |st: &dyn Storage| Scope::new("zhao", Role::Helper, st.scope_facts("zhao").unwrap(), "2026-11-29");
    let mut h = household("H1", "V1", "T1");
    h.helper_ids = vec!["zhao".into()];
    let (mut doc, c1) = create(&h, "dA");
    let wire = |c: &ChangeRecord| WireChange { doc_id: "H1".into(), kind: "household".into(), bytes: c.bytes.clone() };
    crate::sync::push(st.as_ref(), "dA", &scope(st.as_ref()), &[wire(&c1)]).unwrap();
    let before = st.doc("H1").unwrap().expect("pushed");

    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("doorstep.dump");
    let out = Command::new(bin.join("pg_dump"))
        .args(["--format=custom", "--schema", &schema, "--file"])
        .arg(&dump)
        .arg(&url)
        .output()
        .expect("run pg_dump");
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
    let name = format!("doorstep_restore_{:016x}", rand::random::<u64>());
    let mut admin = postgres::pg::Client::connect(&url, postgres::pg::NoTls).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let _guard = DatabaseGuard { url: url.clone(), name: name.clone() };
    let mut config: postgres::pg::Config = url.parse().unwrap();
    config.dbname(&name);
    let out = Command::new(bin.join("pg_restore"))
        .args(["--no-owner", "--exit-on-error", "--host", "127.0.0.1"])
        .args(["--port", &config.get_ports()[0].to_string()])
        .args(["--username", config.get_user().unwrap_or("postgres"), "--dbname", &name])
        .arg(&dump)
        .output()
        .expect("run pg_restore");
    assert!(out.status.success(), "pg_restore: {}", String::from_utf8_lossy(&out.stderr));

    // The restored copy, opened as a server would.
    config.options(&format!("-c search_path={schema}"));
    let restored = PostgresStorage::connect(config).expect("open the restored database");
    assert_eq!(restored.doc("H1").unwrap(), Some(before.clone()));
    assert_eq!(restored.user("zhao").unwrap().map(|u| u.name), Some("zhao".into()));
    assert_eq!(restored.scope_facts("zhao").unwrap().households.len(), 1, "the recorded assignment");
    // Sync goes on: the same device pushes an edit, another device of the helper pulls everything.
    h.phone = "13800000000".into();
    let c2 = doc.update(&h, &author("dA"), 2).unwrap().unwrap();
    let acked = crate::sync::push(&restored, "dA", &scope(&restored), &[wire(&c1), wire(&c2)]).unwrap();
    assert_eq!(acked.len(), 2, "the old change again (harmless) and the new one");
    assert_eq!(restored.doc_changes("H1").unwrap().iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 3]);
    let q = PullQuery {
        cursor: 0,
        device_id: "dB".into(),
        user: "zhao".into(),
        team: None,
        visible: scope(&restored).visible,
    };
    let page = crate::sync::pull(&restored, q, 1 << 20).unwrap();
    assert_eq!((page.cursor, page.more, page.docs.len()), (3, false, 1));
    let snapshot = page.docs[0].snapshot.as_ref().expect("a fresh device gets a snapshot");
    let got = Document::load(snapshot, &ActorId::random()).unwrap().read::<doorstep_core::model::Household>().unwrap();
    assert_eq!(got.phone, "13800000000");
    assert_eq!(st.doc("H1").unwrap(), Some(before), "the original database is untouched");
}

/// A connection configuration for the subject's own schema.
fn schema_config(pg: &UnderTest) -> postgres::pg::Config {
    let url = std::env::var("DOORSTEP_TEST_PG").unwrap();
    let schema = &pg._guard.downcast_ref::<SchemaGuard>().expect("schema guard").schema;
    let mut config: postgres::pg::Config = url.parse().unwrap();
    config.options(&format!("-c search_path={schema}"));
    config
}

/// The pages' report snapshots (live and as of a past moment) are the same from both stores after the same pushes.
#[test]
fn postgres_reports_match_sqlite_reports() {
    use crate::reports::{AsOf, Reports, Snapshot, Snapshots};
    use crate::scope::Scope;
    use crate::storage::sqlite::reports::SqliteReportSource;
    use doorstep_core::sync::protocol::WireChange;
    let Some(pg) = postgres() else { return };
    let dir = tempfile::tempdir().unwrap();
    let lite = SqliteStorage::open(dir.path()).unwrap();
    let post = PostgresStorage::connect(schema_config(&pg)).unwrap();
    let stores: [&dyn Storage; 2] = [&lite, &post];
    let admin = Scope::new("root", Role::Admin, ScopeFacts::default(), "2026-11-29");
    let push = |changes: &[(&str, &str, &ChangeRecord)]| {
        let wire: Vec<WireChange> = changes
            .iter()
            .map(|(id, kind, c)| WireChange { doc_id: id.to_string(), kind: kind.to_string(), bytes: c.bytes.clone() })
            .collect();
        for s in stores {
            crate::sync::push(s, "dA", &admin, &wire).unwrap();
        }
    };
    let mut h = household("H1", "V1", "T1");
    h.helper_ids = vec!["zhao".into()];
    let (mut hd, c1) = create(&h, "dA");
    let mut v = samples::visit();
    v.id = "X1".into();
    v.household_id = "H1".into();
    v.problems.insert(
        "p1".into(),
        Problem {
            description: "饮水不安全".into(),
            assurance: None,
            status: ProblemStatus::Open,
            resolved_date: None,
            action: String::new(),
        },
    );
    let (mut vd, c2) = create(&v, "dA");
    let mut sc = samples::screening();
    sc.id = "S1".into();
    sc.household_id = "H1".into();
    sc.systolic = Some(165.0);
    let (_, c3) = create(&sc, "dA");
    let (_, c7) = create(&household("H2", "V2", "T1"), "dA");
    push(&[("H1", "household", &c1), ("X1", "visit", &c2), ("S1", "screening", &c3), ("H2", "household", &c7)]);

    // A moment after the first pushes; the next ones are received after it.
    let cutoff = now_ms();
    for _ in 0..1000 {
        if now_ms() > cutoff {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    h.phone = "13800000000".into();
    let c4 = hd.update(&h, &author("dA"), 2).unwrap().unwrap();
    v.problems.get_mut("p1").unwrap().status = ProblemStatus::Resolved;
    let c5 = vd.update(&v, &author("dA"), 2).unwrap().unwrap();
    let mut v2 = samples::visit();
    v2.id = "X2".into();
    v2.household_id = "H1".into();
    let (_, c6) = create(&v2, "dA");
    push(&[("H1", "household", &c4), ("X1", "visit", &c5), ("X2", "visit", &c6)]);

    let summary = |s: &Snapshot| -> String {
        let households: Vec<_> = s
            .households
            .iter()
            .map(|(id, e)| (id.clone(), e.record.phone.clone(), e.helpers.clone(), e.placement.clone()))
            .collect();
        let screenings: Vec<_> = s
            .screenings
            .iter()
            .map(|e| {
                (e.record.id.clone(), format!("{:?} {:?} {:?} {}", e.bp_grade, e.glucose_band, e.referral, e.abnormal))
            })
            .collect();
        let mut conflicts: Vec<_> = s.conflicts.iter().collect();
        conflicts.sort();
        format!(
            "households {households:?}\nvisits {:?}\nproblems {:?}\nscreenings {screenings:?}\nconflicts {conflicts:?}\nrules {:?}\nhead {}",
            s.visits, s.problems, s.rules, s.head
        )
    };
    let lite_reports = Snapshots::new(SqliteReportSource::open(dir.path()).unwrap());
    let pg_reports = Snapshots::new(post.report_source());
    let as_of = AsOf { day: "2026-11-29".into(), cutoff_ms: cutoff };
    let all = ReportScope::everything();
    let v1 = ReportScope {
        visible: Visibility { villages: ["V1".to_string()].into(), ..Default::default() },
        ..Default::default()
    };
    let only_v2 = ReportScope { village: Some("V2".into()), ..all.clone() };
    let only_h1 = ReportScope { household: Some("H1".into()), ..all.clone() };
    let helper =
        lite_reports.snapshot(&all, None).unwrap().households["H1"].helpers.first().cloned().expect("a helper");
    let of_helper = ReportScope { helper: Some(helper.clone()), ..all.clone() };
    let townships = ReportScope { townships: vec!["T1".into(), "T9".into()], ..all.clone() };
    let elsewhere = ReportScope { townships: vec!["T9".into()], ..v1.clone() };
    for scope in [&all, &v1, &only_v2, &only_h1, &of_helper, &townships, &elsewhere] {
        for when in [None, Some(&as_of), None] {
            let a = summary(&lite_reports.snapshot(scope, when).unwrap());
            let b = summary(&pg_reports.snapshot(scope, when).unwrap());
            assert_eq!(a, b, "as of {when:?} in {scope:?}");
        }
    }
    // A scope is applied by the store: only what it holds is read, and the rules always are.
    for reports in [&lite_reports as &dyn Reports, &pg_reports] {
        let seen = reports.snapshot(&v1, None).unwrap();
        assert_eq!(seen.households.keys().collect::<Vec<_>>(), ["H1"]);
        assert_eq!((seen.visits.len(), seen.screenings.len()), (2, 1));
        let narrowed = reports.snapshot(&only_v2, Some(&as_of)).unwrap();
        assert_eq!(narrowed.households.keys().collect::<Vec<_>>(), ["H2"]);
        assert!(narrowed.visits.is_empty() && narrowed.screenings.is_empty() && narrowed.problems.is_empty());
        let one = reports.snapshot(&only_h1, None).unwrap();
        assert_eq!(one.households.keys().collect::<Vec<_>>(), ["H1"], "a household's page reads that household");
        assert_eq!(one.visits.len(), 2);
        let both = reports.snapshot(&townships, Some(&as_of)).unwrap();
        assert_eq!(both.households.keys().collect::<Vec<_>>(), ["H1", "H2"], "several townships read together");
        let none = reports.snapshot(&elsewhere, None).unwrap();
        assert!(none.households.is_empty() && none.visits.is_empty(), "a township the scope does not hold");
        let theirs = reports.snapshot(&of_helper, None).unwrap();
        assert!(theirs.households.values().all(|e| e.helpers.contains(&helper)), "a helper's page reads theirs");
        assert!(theirs.households.contains_key("H1"));
        let none = ReportScope { visible: Visibility::default(), ..Default::default() };
        assert!(reports.snapshot(&none, None).unwrap().households.is_empty(), "an empty scope reads nothing");
    }
    // Kept overview figures: read back per frame, replaced when a village is kept again (not by an older count),
    // pruned by age.
    for reports in [&lite_reports as &dyn Reports, &pg_reports] {
        let row = |village: &str, seq: u64, body: &[u8]| crate::storage::KeptTally {
            township: "T".into(),
            village: village.into(),
            seq,
            body: body.to_vec(),
        };
        reports.keep_tallies("f1", &[row("V1", 5, b"\x00"), row("V2", 5, b"")], 1_000).unwrap();
        reports.keep_tallies("f2", &[row("V1", 6, b"\x01\xff")], 2_000).unwrap();
        reports.keep_tallies("f1", &[row("V1", 7, &[7u8; 300])], 3_000).unwrap();
        let mut f1 = reports.kept_tallies("f1", None).unwrap();
        f1.sort_by(|a, b| a.village.cmp(&b.village));
        assert_eq!(f1, vec![row("V1", 7, &[7u8; 300]), row("V2", 5, b"")]);
        // A tally counted earlier and written late (a page view's, written after the page) never replaces it.
        reports.keep_tallies("f1", &[row("V1", 6, b"late")], 3_500).unwrap();
        assert_eq!(
            reports.kept_tallies("f1", Some("T")).unwrap().iter().find(|t| t.village == "V1"),
            Some(&row("V1", 7, &[7u8; 300]))
        );
        assert_eq!(reports.kept_tallies("f2", None).unwrap(), vec![row("V1", 6, b"\x01\xff")]);
        let other = crate::storage::KeptTally { township: "U".into(), ..row("V9", 8, b"u") };
        reports.keep_tallies("f2", &[other.clone()], 2_000).unwrap();
        assert_eq!(reports.kept_tallies("f2", Some("U")).unwrap(), vec![other], "one township's");
        assert_eq!(reports.kept_tallies("f2", Some("T")).unwrap(), vec![row("V1", 6, b"\x01\xff")]);
        reports.keep_tallies("f3", &[], 2_500 + crate::storage::sql::TALLY_KEPT_MS).unwrap();
        assert_eq!(reports.kept_tallies("f1", None).unwrap(), vec![row("V1", 7, &[7u8; 300])], "older ones pruned");
        assert!(
            reports.kept_tallies("f2", None).unwrap().is_empty()
                && reports.kept_tallies("f3", None).unwrap().is_empty()
        );
        assert_eq!(reports.snapshot(&all, None).unwrap().households.len(), 2, "the reads go on after a write");
    }
    // Records saved beside the documents are what the reports read; a database saved before them (no records)
    // reads the documents and shows the same.
    let with_records = summary(&lite_reports.snapshot(&all, None).unwrap());
    let lite_conn = rusqlite::Connection::open(dir.path().join("doorstep.db")).unwrap();
    let kept: i64 =
        lite_conn.query_row("SELECT count(*) FROM docs WHERE record IS NOT NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(kept, 5, "two households, two visits and a screening have records");
    let ids: Vec<String> = ["X1", "X2", "H1", "nobody"].map(String::from).to_vec();
    // Unpacked: a map's entries are packed in no fixed order.
    use doorstep_core::model::{packed, Household, Visit};
    let records = |s: &dyn Storage| {
        let mut out: Vec<(String, Option<Household>, Option<Visit>)> = s
            .records(&ids)
            .unwrap()
            .into_iter()
            .map(|(id, p)| (id, packed::unpack::<Household>(&p), packed::unpack::<Visit>(&p)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    let (from_lite, from_pg) = (records(&lite), records(&post));
    assert_eq!(from_lite, from_pg, "both stores keep the same records");
    assert_eq!(from_lite.iter().map(|(id, ..)| id.as_str()).collect::<Vec<_>>(), ["H1", "X1", "X2"]);
    assert!(from_lite[0].1.is_some() && from_lite[0].2.is_none(), "H1 is a household");
    let x1 = from_lite[1].2.clone().expect("X1 is a visit");
    assert_eq!(x1.problems["p1"].status, ProblemStatus::Resolved, "the record of the merged document");
    // A record packed under another layout (here JSON, as schemas before 15 kept them), or none at all, reads the
    // document and shows the same.
    let mut pg_conn = schema_config(&pg).connect(postgres::pg::NoTls).unwrap();
    let json = r#"'{"id": "H1", "number": "1"}'"#;
    for (in_lite, in_pg) in [
        (
            format!("UPDATE docs SET record = CAST({json} AS BLOB)"),
            format!("UPDATE docs SET record = convert_to({json}, 'UTF8')"),
        ),
        ("UPDATE docs SET record = NULL".to_string(), "UPDATE docs SET record = NULL".to_string()),
    ] {
        lite_conn.execute(&in_lite, []).unwrap();
        pg_conn.execute(&in_pg, &[]).unwrap();
        for fresh in [
            Snapshots::new(SqliteReportSource::open(dir.path()).unwrap()).snapshot(&all, None).unwrap(),
            Snapshots::new(post.report_source()).snapshot(&all, None).unwrap(),
        ] {
            assert_eq!(summary(&fresh), with_records, "{in_lite}");
        }
    }
    let live = pg_reports.snapshot(&all, None).unwrap();
    assert_eq!(live.visits.len(), 2);
    assert_eq!(live.problems[0].status, ProblemStatus::Resolved);
    assert_eq!(live.households["H1"].record.phone, "13800000000");
    assert_eq!(live.households["H1"].helpers, vec!["zhao".to_string()]);
    let past = pg_reports.snapshot(&all, Some(&as_of)).unwrap();
    assert_eq!(past.visits.len(), 1, "the second visit came after the cutoff");
    assert_eq!(past.problems[0].status, ProblemStatus::Open);
    assert_eq!(past.households["H1"].record.phone, samples::household().phone, "the phone before the edit");
    assert_eq!((live.screenings.len(), past.screenings.len()), (1, 1));
    assert!(live.screenings[0].abnormal, "systolic 165");
}

/// The pages call report queries straight from async handlers, and a server drops its store inside its runtime:
/// neither may trip over the blocking client's own runtime.
#[test]
fn postgres_reports_and_shutdown_work_inside_an_async_runtime() {
    use crate::reports::{Reports, Snapshots};
    let Some(pg) = postgres() else { return };
    let storage = PostgresStorage::connect(schema_config(&pg)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async move {
        let reports = Snapshots::new(storage.report_source());
        let snapshot = reports.snapshot(&ReportScope::everything(), None).expect("a snapshot from async code");
        assert_eq!((snapshot.head, snapshot.households.len()), (0, 0));
        drop(reports);
        drop(storage);
    });
}
