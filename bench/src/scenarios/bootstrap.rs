//! A fresh helper device's first sync (its households with a year of visits and the screenings), against replaying
//! the full change history: the raw bytes of every change, and the time to apply them all to empty documents. Then
//! the bootstrapped store's size per household against the saved Automerge documents alone.

use crate::fixture::{CountingProxy, Db, Device, ServerProc};
use crate::records;
use crate::report::{bytes, ms, Row};
use crate::{Ctx, Res};
use doorstep_core::doc::Document;
use doorstep_core::model::{Household, Role};
use doorstep_server::accounts::{self, CONSOLE};
use std::collections::BTreeMap;
use std::time::Instant;

const PASSWORD: &str = "helper-bench-2026";

pub async fn run(ctx: &Ctx) -> Res<Vec<Row>> {
    let (nh, nv, ns) = ctx.scale.helper;
    let dir = crate::fixture::server_dir()?;
    let db = Db::Sqlite(dir.path().to_path_buf());
    {
        let storage = db.open()?;
        accounts::add_user(&*storage, CONSOLE, "helper1", Role::Helper, None, PASSWORD)?;
    }
    let server = ServerProc::start(&ctx.server_bin, &db)?;

    // The helper's old phone recorded the year: households (each edited twice since), visits, screenings.
    ctx.say("helper bootstrap: recording the year");
    let old = Device::new("old-phone", true)?;
    old.login(&server.url, "helper1", PASSWORD).await?;
    let mut rng = records::rng(3);
    let households = records::households(&mut rng, "helper1", 0, nh);
    let visits = records::visits(&mut rng, &households, "helper1", nv);
    let screenings: Vec<_> = (0..ns).map(|i| records::screening(&mut rng, &households[i % nh], "helper1")).collect();
    let today = doorstep_core::store::today();
    old.with(|s| {
        for h in &households {
            s.put(h, &today)?;
        }
        for v in &visits {
            s.put(v, &today)?;
        }
        for sc in &screenings {
            s.put(sc, &today)?;
        }
        for (i, h) in households.iter().enumerate() {
            let mut h: Household = s.get(&h.id)?;
            h.phone = format!("139{:08}", i);
            s.put(&h, &today)?;
            h.income_per_person = h.income_per_person.map(|x| x + 600.0);
            s.put(&h, &today)?;
        }
        Ok(())
    })?;
    let history: Vec<(String, Vec<u8>)> =
        old.with(|s| Ok(s.pending_changes(usize::MAX)?.into_iter().map(|p| (p.doc_id, p.change.bytes)).collect()))?;
    ctx.say("helper bootstrap: syncing the year");
    old.sync().await?;

    // Baseline: replay the whole history into empty documents.
    let history_bytes: u64 = history.iter().map(|(_, b)| b.len() as u64).sum();
    let mut by_doc: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    for (id, b) in &history {
        by_doc.entry(id).or_default().push(b.clone());
    }
    let actor = automerge::ActorId::random();
    let t = Instant::now();
    for changes in by_doc.values() {
        let mut d = Document::empty(&actor);
        d.apply(changes)?;
    }
    let replay = t.elapsed();

    // The new phone: sign in, then one whole sync, timed, through the counting proxy.
    ctx.say("helper bootstrap: fresh phone");
    let proxy = CountingProxy::start(server.addr).await?;
    let fresh = Device::new("new-phone", false)?;
    fresh.login(&proxy.url, "helper1", PASSWORD).await?;
    proxy.reset();
    let t = Instant::now();
    let r = fresh.sync().await?;
    let wall = t.elapsed();
    let (up, down) = proxy.bytes();
    let docs = nh + nv + ns;
    if r.received < docs as u64 {
        return Err(format!("the fresh phone received {} of {docs} documents", r.received).into());
    }
    let name = format!("bootstrap a fresh helper phone: {nh} households, {nv} visits, {ns} screenings");
    let rt = wall.as_secs_f64() / replay.as_secs_f64();
    let rb = (up + down) as f64 / history_bytes as f64;
    let mut rows = vec![
        Row::new(&name, format!("{} wall, {} round trips", ms(wall), r.round_trips))
            .baseline(format!("replaying {} changes: {}", history.len(), ms(replay)), rt)
            .target("≤ 2 s", wall.as_secs_f64() <= 2.0),
        Row::new(&name, format!("{} on the wire", bytes(up + down)))
            .baseline(format!("the change history: {}", bytes(history_bytes)), rb)
            .target("fewer bytes than the history", rb < 1.0),
    ];

    // Disk per household on that phone: the whole store against the documents it holds, each in Automerge's
    // compacted saved form (a document made by one change is kept as that change, which is larger: measuring
    // against the bytes kept would flatter the store).
    let (file, doc_bytes) = fresh
        .with(|s| {
            s.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            let mut stmt = s.conn().prepare("SELECT bytes FROM docs")?;
            let kept = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut saved = 0u64;
            for bytes in kept {
                let mut doc = doorstep_core::doc::Document::load(&bytes, &automerge::ActorId::random())?;
                saved += doc.save().len() as u64;
            }
            Ok(saved)
        })
        .and_then(|d| Ok((file_size(&fresh.path), d)))?;
    let per = |x: u64| x / nh as u64;
    let r = file as f64 / doc_bytes as f64;
    rows.push(
        Row::new(
            "disk per household on the device (with its visits and screenings)",
            format!("{} (store file {} for {nh} households)", bytes(per(file)), bytes(file)),
        )
        .baseline(format!("saved Automerge documents {}", bytes(per(doc_bytes))), r)
        .target("store ≤ 2× the documents", r <= 2.0),
    );
    drop(proxy);
    drop(server);
    Ok(rows)
}

/// Bytes of an SQLite file with its WAL and shared-memory files.
pub fn file_size(path: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}
