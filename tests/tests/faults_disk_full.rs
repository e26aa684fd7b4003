//! The server's disk full: its data directory on a small tmpfs that the test fills up while a device pushes. The
//! device must get a retryable refusal (503 `unavailable`), keep every change, and succeed once space is back, with
//! every change on the server exactly once. Mounting needs root (the test machine's test command runs as root); as
//! another user the test says so and checks nothing.

use doorstep_e2e::faults::*;
use doorstep_e2e::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted for the test, unmounted when dropped (also when the test panics).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros until the filesystem is full (bounded by its size); returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 16 * 1024];
    let mut written = 0;
    // Bounded: the tmpfs is a few MB.
    for _ in 0..100_000 {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    let _ = f.sync_all();
    written
}

#[test]
fn a_full_server_disk_gives_a_retryable_503_and_the_device_keeps_its_data_and_retries() {
    if doorstep_e2e::store_choice::sqlite_only("a full server disk", "it fills the disk under SQLite's file") {
        return;
    }
    if Command::new("id").arg("-u").output().map(|o| o.stdout != b"0\n").unwrap_or(true) {
        eprintln!("not root: cannot mount a small tmpfs for the server's disk; nothing checked");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let _disk = Tmpfs::mount(&data, "8m").expect("mount a tmpfs (root)");
    admin(&data, &["user", "add", "helper1", "--role", "helper", "--password", "pw-helper1"]);
    let server = Server::start(&data);
    let a = Device::init(tmp.path(), "a");
    a.login(&server.url, "helper1", "pw-helper1");
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    a.sync();

    let filler = data.join("filler");
    let filled = fill(&filler);
    assert!(filled > 0);
    a.add_visits_in_process(&h, "helper1", 400);
    let pending = a.status()["pending"].as_u64().unwrap();
    let failure = a.fails(&["sync"], None);
    assert_eq!(failure.kind(), "unavailable", "{}", failure.stderr);
    assert_eq!(a.status()["pending"].as_u64(), Some(pending), "the device keeps every change");
    // The server is still up and answers.
    assert_eq!(raw_health(&server.url), 200);

    std::fs::remove_file(&filler).unwrap();
    let r = a.sync();
    assert_eq!(r.sent, pending, "{r:?}");
    let checked = assert_each_write_on_server_once(&data, &[&a]);
    println!(
        "FIGURES disk-full: filler_bytes={filled} changes_refused_then_sent={pending} changes_checked={checked} lost=0"
    );
    drop(server);
}

fn raw_health(url: &str) -> u16 {
    let url = format!("{url}/api/v1/health");
    doorstep_core::sync::runtime::block_on(
        async move { reqwest::get(url).await.map(|r| r.status().as_u16()).unwrap_or(0) },
    )
    .unwrap()
}
