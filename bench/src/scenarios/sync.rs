//! Syncing visits recorded offline, device → server over loopback HTTP (the real store and sync client, the real
//! server binary, a byte-counting proxy between them), and the same after one concurrent edit of every visit on
//! each of two devices. Baselines: Automerge's own sync protocol run per document (`automerge::sync`, one exchange
//! per document, each message counted as a round trip), and the same changes zstd-compressed in one blob (the floor).

use crate::fixture::{CountingProxy, Db, Device, ServerProc};
use crate::records;
use crate::report::{bytes, Row};
use crate::{Ctx, Res};
use automerge::sync::{Message, State, SyncDoc};
use automerge::AutoCommit;
use doorstep_core::model::{Role, Visit};
use doorstep_server::accounts::{self, CONSOLE};

const PASSWORD: &str = "helper-bench-2026";

/// What Automerge's per-document sync protocol costs for a set of documents.
#[derive(Debug, Default, Clone, Copy)]
pub struct SyncCost {
    pub messages: u64,
    pub bytes: u64,
}

/// Runs Automerge's sync protocol between two copies of a document until neither has a message to send.
pub fn automerge_sync(a: &mut AutoCommit, b: &mut AutoCommit, cost: &mut SyncCost) -> Res<()> {
    let (mut sa, mut sb) = (State::new(), State::new());
    for _ in 0..64 {
        let mut sent = false;
        if let Some(m) = a.sync().generate_sync_message(&mut sa) {
            let enc = m.encode();
            cost.messages += 1;
            cost.bytes += enc.len() as u64;
            b.sync().receive_sync_message(&mut sb, Message::decode(&enc)?)?;
            sent = true;
        }
        if let Some(m) = b.sync().generate_sync_message(&mut sb) {
            let enc = m.encode();
            cost.messages += 1;
            cost.bytes += enc.len() as u64;
            a.sync().receive_sync_message(&mut sa, Message::decode(&enc)?)?;
            sent = true;
        }
        if !sent {
            return Ok(());
        }
    }
    Err("automerge sync did not settle within 64 exchanges".into())
}

/// The floor: every change concatenated and zstd-compressed in one blob.
pub fn zstd_floor(changes: &[Vec<u8>]) -> Res<u64> {
    let all: Vec<u8> = changes.concat();
    Ok(zstd::bulk::compress(&all, 19)?.len() as u64)
}

/// The saved bytes of a document in a device store.
fn saved(dev: &Device, id: &str) -> Res<AutoCommit> {
    let bytes: Vec<u8> =
        dev.with(|s| Ok(s.conn().query_row("SELECT bytes FROM docs WHERE id = ?1", [id], |r| r.get(0))?))?;
    Ok(AutoCommit::load(&bytes)?)
}

fn unsent(dev: &Device) -> Res<Vec<Vec<u8>>> {
    dev.with(|s| Ok(s.pending_changes(usize::MAX)?.into_iter().map(|p| p.change.bytes).collect()))
}

pub async fn run(ctx: &Ctx) -> Res<Vec<Row>> {
    let n = ctx.scale.sync_visits;
    let dir = crate::fixture::server_dir()?;
    let db = Db::Sqlite(dir.path().to_path_buf());
    {
        let storage = db.open()?;
        accounts::add_user(&*storage, CONSOLE, "helper1", Role::Helper, None, PASSWORD)?;
    }
    let server = ServerProc::start(&ctx.server_bin, &db)?;
    let proxy = CountingProxy::start(server.addr).await?;

    // Phone A: the helper's households are on the server; then a month offline.
    ctx.say("sync: recording offline");
    let a = Device::new("phone-a", true)?;
    a.login(&proxy.url, "helper1", PASSWORD).await?;
    let mut rng = records::rng(2);
    let households = records::households(&mut rng, "helper1", 0, 50);
    let today = doorstep_core::store::today();
    a.with(|s| {
        for h in &households {
            s.put(h, &today)?;
        }
        Ok(())
    })?;
    a.sync().await?;
    let visits = records::visits(&mut rng, &households, "helper1", n);
    a.with(|s| {
        for v in &visits {
            s.put(v, &today)?;
        }
        Ok(())
    })?;
    let changes = unsent(&a)?;

    ctx.say("sync: pushing");
    proxy.reset();
    let result = a.sync().await?;
    let (up, down) = proxy.bytes();
    if result.sent != n as u64 {
        return Err(format!("the server acknowledged {} of {n} visits", result.sent).into());
    }
    let mut base = SyncCost::default();
    for v in &visits {
        automerge_sync(&mut saved(&a, &v.id)?, &mut AutoCommit::new(), &mut base)?;
    }
    let floor = zstd_floor(&changes)?;
    let ours = up + down;
    let name = format!("sync {n} visits recorded offline");
    let r_bytes = ours as f64 / base.bytes as f64;
    let r_trips = f64::from(result.round_trips) / base.messages as f64;
    let mut rows = vec![
        Row::new(
            &name,
            format!(
                "{} on the wire (up {}, down {}; {:.1}× the zstd floor of {})",
                bytes(ours),
                bytes(up),
                bytes(down),
                ours as f64 / floor as f64,
                bytes(floor)
            ),
        )
        .baseline(format!("automerge::sync {}", bytes(base.bytes)), r_bytes)
        .target("≤ 1/5 of the bytes", r_bytes <= 0.2),
        Row::new(&name, format!("{} HTTP round trips", result.round_trips))
            .baseline(format!("automerge::sync {} messages", base.messages), r_trips)
            .target("≤ 1/100 of the round trips", r_trips <= 0.01),
    ];

    // Phone B: a second phone of the same helper holds everything; both edit every visit before either syncs.
    ctx.say("sync: concurrent edits");
    let b = Device::new("phone-b", true)?;
    b.login(&proxy.url, "helper1", PASSWORD).await?;
    b.sync().await?;
    for (dev, edit) in [(&a, 0), (&b, 1)] {
        dev.with(|s| {
            for v in &visits {
                let mut v: Visit = s.get(&v.id)?;
                if edit == 0 {
                    v.note = format!("{}；复核：情况属实", v.note);
                } else {
                    v.time = "16:45".into();
                    v.satisfaction = None;
                }
                s.put(&v, &today)?;
            }
            Ok(())
        })?;
    }
    let mut edits = unsent(&a)?;
    edits.extend(unsent(&b)?);
    let mut base = SyncCost::default();
    for v in &visits {
        automerge_sync(&mut saved(&a, &v.id)?, &mut saved(&b, &v.id)?, &mut base)?;
    }
    proxy.reset();
    let mut trips = 0;
    for dev in [&b, &a, &b] {
        trips += dev.sync().await?.round_trips;
    }
    let (up, down) = proxy.bytes();
    let ours = up + down;
    let floor = zstd_floor(&edits)?;
    // Both phones now hold both edits of every visit.
    let (mut da, mut db_) = (saved(&a, &visits[0].id)?, saved(&b, &visits[0].id)?);
    if da.get_heads() != db_.get_heads() {
        return Err("the two phones did not converge".into());
    }
    let name = format!("the same after one concurrent edit of each visit on each of two phones ({n} visits)");
    let r = ours as f64 / base.bytes as f64;
    rows.push(
        Row::new(
            &name,
            format!(
                "{} on the wire, {trips} round trips (3 syncs to converge; {:.1}× the zstd floor of {})",
                bytes(ours),
                ours as f64 / floor as f64,
                bytes(floor)
            ),
        )
        .baseline(format!("automerge::sync {} in {} messages", bytes(base.bytes), base.messages), r)
        .target("≤ 1/5 of the bytes", r <= 0.2),
    );
    drop(proxy);
    drop(server);
    Ok(rows)
}
