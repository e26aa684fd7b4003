//! Any Automerge client is welcome: the JavaScript Automerge (`@automerge/automerge`, npm) drives a client written
//! from `docs/protocol.md` and `docs/documents.md` alone (`tests/js/client.mjs`) against the real server binary. It
//! reads documents a Rust device wrote, edits one through protocol version 2, and the Rust device sees the edit; a
//! change of the wrong type is refused with an error that names the field.

use doorstep_e2e::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Installs the client's npm packages from its lock file when they are not there yet.
fn npm_ci() {
    if js_dir().join("node_modules/@automerge/automerge").exists() && js_dir().join("node_modules/fzstd").exists() {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(js_dir())
        .output()
        .expect("npm (Node.js) is needed for this test; the test command installs it");
    assert!(out.status.success(), "npm ci: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_javascript_automerge_client_reads_writes_and_is_refused_by_field() {
    npm_ci();
    let f = Fixture::new();
    let phone = f.device("h1", "helper1");
    let id = phone.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    phone.add_member(&id, "张建国", "male", "1962-03-15", "head");
    phone.add_member(&id, "李秀英", "female", "1965-08-02", "spouse");
    assert!(!phone.sync().incomplete);
    f.server.admin(&["rules", "set", "--monthly-visits", "2", "--effective-from", "2026-01-01"]);

    let out = Command::new("node")
        .arg(js_dir().join("client.mjs"))
        .args([f.server.url.as_str(), "helper1", "pw-helper1", "13912345678"])
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "client.mjs: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");

    // What the JavaScript client read: format 2 documents, codes, plain numbers.
    assert_eq!(seen["household_id"], id.as_str());
    assert_eq!(seen["format_header"], "2");
    assert_eq!(seen["document_format"], 2);
    assert_eq!(seen["poverty_status"], "registered_poor", "{seen}");
    let mut sexes: Vec<&str> = seen["member_sexes"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    sexes.sort();
    assert_eq!(sexes, ["female", "male"]);
    // Whole numbers are Automerge ints: JavaScript reads a number, not a BigInt.
    assert_eq!(seen["rules_number_types"], serde_json::json!(["number"]), "{seen}");
    // The edit went up through protocol version 2.
    assert_eq!(seen["push_status"], 200, "{seen}");
    assert_eq!(seen["push_accepted"], 1, "{seen}");
    // The change of the wrong type was refused, naming the field, and stored nothing.
    assert_eq!(seen["wrong_status"], 400, "{seen}");
    assert_eq!(seen["wrong_error"]["code"], "bad_request", "{seen}");
    let message = seen["wrong_error"]["message_en"].as_str().unwrap_or_default();
    assert!(message.contains("field poverty_status: expected str, a PovertyStatus code"), "{seen}");
    assert!(message.contains("found int 5"), "{seen}");

    // The Rust device sees the JavaScript edit, and the household still reads.
    assert!(!phone.sync().incomplete);
    let h = phone.json(&["household", "show", &id])["household"].clone();
    assert_eq!(h["phone"], "13912345678", "{h}");
    assert_eq!(h["poverty_status"], "registered_poor");
    assert_eq!(h["members"].as_object().unwrap().len(), 2);
}
