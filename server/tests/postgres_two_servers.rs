//! Two `doorstep-server` processes on one PostgreSQL database, several devices syncing through either one at
//! random (concurrently within a round): every device converges to what its scope allows and nothing is lost.
//!
//! Needs `DOORSTEP_TEST_PG=postgres://…` (e.g. `scripts/pg-throwaway.sh run cargo test -p doorstep-server --test
//! postgres_two_servers`); without it the test prints a notice and returns, unless `DOORSTEP_REQUIRE_PG=1`.

mod common;

use common::{Phone, PASSWORD, TODAY};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

/// The database URL for a fresh schema of the test server's database, and the schema's name.
fn fresh_schema() -> Option<(String, String)> {
    let Ok(base) = std::env::var("DOORSTEP_TEST_PG") else {
        assert!(
            std::env::var("DOORSTEP_REQUIRE_PG").map_or(true, |v| v != "1"),
            "DOORSTEP_REQUIRE_PG=1 but DOORSTEP_TEST_PG is not set"
        );
        let _ = writeln!(std::io::stderr(), "SKIPPED two servers on PostgreSQL: set DOORSTEP_TEST_PG=postgres://…");
        return None;
    };
    let schema = format!("doorstep_e2e_{:016x}", rand::random::<u64>());
    sql(&base, &format!("CREATE SCHEMA {schema}")).expect("create the test schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    Some((format!("{base}{sep}options=-c%20search_path%3D{schema}"), schema))
}

/// Runs one statement with the blocking client, on a thread of its own (it starts its own runtime, which must not
/// happen inside the test's).
fn sql(url: &str, statement: &str) -> Result<(), String> {
    let (url, statement) = (url.to_string(), statement.to_string());
    std::thread::spawn(move || {
        let mut c = r2d2_postgres::postgres::Client::connect(&url, r2d2_postgres::postgres::NoTls)
            .map_err(|e| e.to_string())?;
        c.batch_execute(&statement).map_err(|e| e.to_string())
    })
    .join()
    .map_err(|_| "the database thread panicked".to_string())?
}

struct DropSchema(String);

impl Drop for DropSchema {
    fn drop(&mut self) {
        if let Ok(base) = std::env::var("DOORSTEP_TEST_PG") {
            let _ = sql(&base, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0));
        }
    }
}

fn admin(db: &str, args: &[&str]) {
    let out = Command::new(common::BIN).args(["--database", db]).args(args).output().expect("run doorstep-server");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A server process on the shared database, killed when dropped.
struct Proc {
    child: Child,
    url: String,
}

impl Proc {
    fn start(db: &str) -> Self {
        let mut child = Command::new(common::BIN)
            .args(["--database", db, "serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start doorstep-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
        let url =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line:?}")).to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Self { child, url }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic generator (the seed is printed, so a failure can be replayed).
struct Rng(u64);

impl Rng {
    fn pick(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn docs_of(phone: &Phone) -> BTreeSet<String> {
    phone.doc_ids().into_iter().filter(|id| id != doorstep_core::model::SCHEDULE_RULES_ID).collect()
}

fn heads(phone: &Phone, id: &str) -> Vec<String> {
    let (_, mut doc) = phone.store.load_doc(id).expect("load").expect("present");
    let mut h = doc.heads();
    h.sort();
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_converge_and_lose_nothing() {
    let Some((db, schema)) = fresh_schema() else { return };
    let _drop = DropSchema(schema);
    for (name, role, team) in
        [("helper1", "helper", None), ("helper2", "helper", None), ("doctor1", "doctor", Some("T1"))]
    {
        let mut args = vec!["user", "add", name, "--role", role, "--password", PASSWORD];
        if let Some(t) = team {
            args.extend(["--team", t]);
        }
        admin(&db, &args);
    }
    admin(&db, &["place", "add-township", "石门镇"]);
    admin(&db, &["place", "add-village", "石门村", "--township", "石门镇"]);
    admin(&db, &["assign", "team", "T1", "石门村"]);
    let servers = [Proc::start(&db), Proc::start(&db)];
    let seed = std::env::var("DOORSTEP_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261129u64);
    eprintln!("two servers: seed {seed}");
    let mut rng = Rng(seed);
    let url = |rng: &mut Rng| servers[rng.pick(2)].url.clone();

    let mut h1 = Phone::login(&url(&mut rng), "helper1").await;
    let mut h1b = Phone::login(&url(&mut rng), "helper1").await; // the same helper's second phone
    let mut h2 = Phone::login(&url(&mut rng), "helper2").await;
    let mut doc = Phone::login(&url(&mut rng), "doctor1").await;

    let mut mine1 = Vec::new();
    let mut mine2 = Vec::new();
    let mut visits = 0;
    for round in 0..6 {
        // Each helper records offline: a household now and then, visits to their households.
        if round % 2 == 0 {
            mine1.push(h1.new_household("石门村", &["helper1"]).id);
            mine2.push(h2.new_household("石门村", &["helper2"]).id);
        }
        for (phone, mine) in [(&mut h1, &mine1), (&mut h2, &mine2)] {
            let household = mine[rng.pick(mine.len())].clone();
            phone.new_visit(&household);
            visits += 1;
        }
        // The second phone of helper1 edits a household it has (after the first round it holds them).
        if let Some(id) = docs_of(&h1b).into_iter().find(|id| mine1.contains(id)) {
            let mut h: doorstep_core::model::Household = h1b.store.get(&id).expect("household");
            h.phone = format!("1390000{round:04}");
            h1b.store.put(&h, TODAY).expect("edit");
        }
        // The doctor edits a household in the village.
        if let Some(id) = docs_of(&doc).into_iter().find(|id| mine2.contains(id)) {
            let mut h: doorstep_core::model::Household = doc.store.get(&id).expect("household");
            h.hamlet = format!("第{round}组");
            doc.store.put(&h, TODAY).expect("edit");
        }
        // Everyone syncs at once, each through a server picked at random.
        let (u1, u2, u3, u4) = (url(&mut rng), url(&mut rng), url(&mut rng), url(&mut rng));
        tokio::join!(h1.sync_all(&u1), h1b.sync_all(&u2), h2.sync_all(&u3), doc.sync_all(&u4));
    }
    // Two quiet rounds through either server so that every push has reached every device.
    for _ in 0..2 {
        for phone in [&mut h1, &mut h1b, &mut h2, &mut doc] {
            let u = url(&mut rng);
            phone.sync_all(&u).await;
        }
    }
    for phone in [&h1, &h1b, &h2, &doc] {
        assert_eq!(phone.store.pending_count().unwrap(), 0, "everything acknowledged");
    }

    // Scope: each helper's phones hold exactly their households and those households' visits.
    let all = docs_of(&doc);
    assert_eq!(all.len(), mine1.len() + mine2.len() + visits, "the doctor of the village holds every document");
    let households_of = |phone: &Phone| -> BTreeSet<String> {
        docs_of(phone)
            .into_iter()
            .filter(|id| {
                let (kind, _) = phone.store.load_doc(id).expect("load").expect("present");
                kind == doorstep_core::model::DocKind::Household
            })
            .collect()
    };
    assert_eq!(households_of(&h1), mine1.iter().cloned().collect());
    assert_eq!(households_of(&h1b), mine1.iter().cloned().collect());
    assert_eq!(households_of(&h2), mine2.iter().cloned().collect());
    assert_eq!(docs_of(&h1), docs_of(&h1b));
    assert!(docs_of(&h1).is_disjoint(&docs_of(&h2)));
    assert_eq!(docs_of(&h1).len() + docs_of(&h2).len(), all.len(), "nothing lost, nothing shown out of scope");

    // Convergence: every copy of every document has the same heads (the same changes) as the doctor's.
    for phone in [&h1, &h1b, &h2] {
        for id in docs_of(phone) {
            assert_eq!(heads(phone, &id), heads(&doc, &id), "document {id} differs");
        }
    }
    // And a fresh device, through each server, bootstraps to exactly the same state.
    for s in &servers {
        let mut fresh = Phone::login(&s.url, "doctor1").await;
        fresh.sync_all(&s.url).await;
        assert_eq!(docs_of(&fresh), all);
        for id in &all {
            assert_eq!(heads(&fresh, id), heads(&doc, id), "document {id} via {}", s.url);
        }
    }
}
