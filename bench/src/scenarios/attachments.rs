//! Documents syncing at full speed while a large photo backlog is pending: a phone on mobile data holds photos
//! waiting for Wi-Fi (the network policy defers them) and syncs a day's new visits; the same sync on a twin phone
//! with no backlog is the baseline. Then the backlog goes up on Wi-Fi, for its time and bytes.
//!
//! The sync is what the background engine runs: the documents (`Client::sync_once`), then the blob phase
//! (`sync::blobs::sync_blobs`) under the network policy. Photos are JPEG-headed random bytes (real photos do not
//! compress either) attached through the store's own `attach`, encrypted beside the store.

use crate::fixture::{CountingProxy, Db, Device, ServerProc};
use crate::records;
use crate::report::{bytes, ms, Row};
use crate::{Ctx, Res};
use doorstep_core::attachment::AttachmentKind;
use doorstep_core::model::Role;
use doorstep_core::sync::blobs::{sync_blobs, NetworkKind, NetworkPolicy};
use doorstep_server::accounts::{self, CONSOLE};
use rand::RngCore;
use std::time::{Duration, Instant};

const PASSWORD: &str = "helper-bench-2026";

/// A photo-sized attachment: a JPEG start of image, then bytes that do not compress.
fn photo(rng: &mut rand::rngs::StdRng, size: usize) -> Vec<u8> {
    let mut b = vec![0u8; size];
    rng.fill_bytes(&mut b);
    b[..4].copy_from_slice(&[0xff, 0xd8, 0xff, 0xe0]);
    b
}

/// Documents then the blob phase, as the engine runs a sync; the documents' time and the whole.
async fn engine_sync(dev: &Device, policy: NetworkPolicy) -> Res<(Duration, Duration, u64)> {
    let t = Instant::now();
    let r = dev.client.sync_once(&dev.store, &mut |_| {}).await?;
    let docs = t.elapsed();
    let r = sync_blobs(&dev.client, &dev.store, policy, &|_| {}, r).await?;
    Ok((docs, t.elapsed(), r.sent + r.blobs.uploaded))
}

pub async fn run(ctx: &Ctx) -> Res<Vec<Row>> {
    let (photos, size) = if ctx.scale.quick { (4, 256 * 1024) } else { (60, 1536 * 1024) };
    let n = ctx.scale.sync_visits / 2;
    let dir = crate::fixture::server_dir()?;
    let db = Db::Sqlite(dir.path().to_path_buf());
    {
        let storage = db.open()?;
        accounts::add_user(&*storage, CONSOLE, "helper1", Role::Helper, None, PASSWORD)?;
        accounts::add_user(&*storage, CONSOLE, "helper2", Role::Helper, None, PASSWORD)?;
    }
    let server = ServerProc::start(&ctx.server_bin, &db)?;
    let proxy = CountingProxy::start(server.addr).await?;
    let metered = NetworkPolicy { kind: NetworkKind::Metered, allow_metered: false };
    let wifi = NetworkPolicy { kind: NetworkKind::Unmetered, allow_metered: false };
    let today = doorstep_core::store::today();
    let mut rng = records::rng(6);

    // Two helpers' phones with 50 households each; the first one took photos on earlier visits.
    ctx.say("attachments: photos waiting for Wi-Fi");
    let households = records::households(&mut rng, "helper1", 0, 50);
    let others = records::households(&mut rng, "helper2", 1, 50);
    let (with, without) = (Device::new("photo-phone", true)?, Device::new("plain-phone", true)?);
    with.login(&proxy.url, "helper1", PASSWORD).await?;
    without.login(&proxy.url, "helper2", PASSWORD).await?;
    for (dev, hs) in [(&with, &households), (&without, &others)] {
        dev.with(|s| {
            for h in hs {
                s.put(h, &today)?;
            }
            Ok(())
        })?;
    }
    engine_sync(&with, metered).await?;
    engine_sync(&without, metered).await?;
    let earlier = records::visits(&mut rng, &households, "helper1", photos);
    let images: Vec<Vec<u8>> = (0..photos).map(|_| photo(&mut rng, size)).collect();
    with.with(|s| {
        for (v, img) in earlier.iter().zip(&images) {
            s.put(v, &today)?;
            s.attach(&v.id, img, "image/jpeg", AttachmentKind::Photo, "房屋外观")?;
        }
        Ok(())
    })?;
    engine_sync(&with, metered).await?;
    let (waiting, waiting_bytes) = with.with(|s| Ok(s.pending_blob_totals()?))?;
    if waiting < photos as u64 {
        return Err(format!("{waiting} of {photos} photos wait for upload").into());
    }

    // A day's visits on each phone, synced on mobile data: with the backlog waiting, and without.
    ctx.say("attachments: a day's visits on mobile data");
    // Three rounds, the two phones alternating (and which goes first); the median round of each.
    let mut measured: [Vec<(Duration, Duration, u64)>; 2] = [Vec::new(), Vec::new()];
    for round in 0..3 {
        let mut phones = [(0, &with, &households, "helper1"), (1, &without, &others, "helper2")];
        if round % 2 == 1 {
            phones.reverse();
        }
        for (k, dev, hs, user) in phones {
            let visits = records::visits(&mut rng, hs, user, n);
            dev.with(|s| {
                for v in &visits {
                    s.put(v, &today)?;
                }
                Ok(())
            })?;
            proxy.reset();
            let (docs, whole, sent) = engine_sync(dev, metered).await?;
            let (up, down) = proxy.bytes();
            if sent < n as u64 {
                return Err(format!("the server acknowledged {sent} of {n} visits").into());
            }
            measured[k].push((docs, whole, up + down));
        }
    }
    for m in &mut measured {
        m.sort_by_key(|x| x.1);
    }
    let (docs, whole, wire) = measured[0][1];
    let (b_docs, b_whole, b_bytes) = measured[1][1];
    let r = whole.as_secs_f64() / b_whole.as_secs_f64();
    let name = format!(
        "sync {n} new visits on mobile data (median of 3) while {waiting} photos ({}) wait for Wi-Fi",
        bytes(waiting_bytes)
    );
    let mut rows =
        vec![Row::new(&name, format!("{} (documents {}), {} on the wire", ms(whole), ms(docs), bytes(wire)))
            .baseline(format!("no backlog: {} (documents {}), {}", ms(b_whole), ms(b_docs), bytes(b_bytes)), r)
            .target("full speed: ≤ 1.5× the time without backlog", r <= 1.5)];

    // Then Wi-Fi: the backlog goes up after the documents.
    ctx.say("attachments: the backlog on Wi-Fi");
    proxy.reset();
    let t = Instant::now();
    let r = dev_blobs(&with, wifi).await?;
    let took = t.elapsed();
    let (up, _) = proxy.bytes();
    if r < photos as u64 {
        return Err(format!("{r} of {photos} photos went up").into());
    }
    rows.push(Row::new(
        "then the photo backlog on Wi-Fi (resumable chunked upload)",
        format!(
            "{photos} photos, {} in {} ({:.1} MiB/s), {} sent",
            bytes(waiting_bytes),
            ms(took),
            waiting_bytes as f64 / 1024.0 / 1024.0 / took.as_secs_f64(),
            bytes(up)
        ),
    ));
    drop(proxy);
    drop(server);
    Ok(rows)
}

/// The engine's sync on Wi-Fi; how many blobs the server now holds.
async fn dev_blobs(dev: &Device, policy: NetworkPolicy) -> Res<u64> {
    let r = dev.client.sync_once(&dev.store, &mut |_| {}).await?;
    let r = sync_blobs(&dev.client, &dev.store, policy, &|_| {}, r).await?;
    Ok(r.blobs.uploaded)
}
