//! A deployment made before document format 2 (`tests/data/format1`, made by `make.sh` with the binaries of commit
//! a1e0519: a server database and a helper's phone with conflicts, history and an unsent edit) is served, then
//! moved to format 2, by today's binaries: nothing is lost, conflicts and history stay, the late edit wins over the
//! move, and every document ends in format 2 (`docs/documents.md`, *Format versions*).

use automerge::ActorId;
use doorstep_core::doc::Document;
use doorstep_core::model::{form, schema, DocKind};
use doorstep_e2e::faults::ServerDb;
use doorstep_e2e::*;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/format1")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture().join(name)).unwrap().trim().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The fixture's server database and phone in a temporary directory.
fn deployment() -> (tempfile::TempDir, PathBuf, Device) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    copy_dir(&fixture().join("server"), &data);
    copy_dir(&fixture().join("phone"), &tmp.path().join("phone"));
    let phone = Device { home: tmp.path().join("phone"), name: "phone".into() };
    (tmp, data, phone)
}

/// Every document the server holds, loaded.
fn server_docs(data: &Path) -> Vec<(String, DocKind, Document)> {
    ServerDb::open(data)
        .docs()
        .into_iter()
        .map(|(id, kind, bytes)| {
            (id, DocKind::parse(&kind).unwrap(), Document::load(&bytes, &ActorId::random()).unwrap())
        })
        .collect()
}

fn server_doc(data: &Path, id: &str) -> Document {
    server_docs(data).into_iter().find(|(d, ..)| d == id).expect("the document on the server").2
}

fn conflict_fields(doc: &mut Document, id: &str) -> Vec<String> {
    let mut fields: Vec<String> = doc.conflicts(id).into_iter().map(|c| c.field).collect();
    fields.sort();
    fields
}

#[test]
fn a_format_1_deployment_is_served_then_moved_keeping_conflicts_history_and_a_late_edit() {
    let (tmp, data, phone) = deployment();
    let household = read("household");
    let head = read("head");
    let before = server_docs(&data);
    assert!(before.iter().all(|(_, _, d)| d.format() == form::LEGACY));
    let mut h = server_doc(&data, &household);
    let conflicts_before = conflict_fields(&mut h, &household);
    assert_eq!(conflicts_before, vec![format!("members.{head}.sex"), "phone".to_string()]);
    let phone_history = h.field_history("phone").unwrap().len();

    // While protocol version 1 is served, the deployment stays at format 1: new documents too.
    let mut server = Server::start_with(&data, "127.0.0.1:0", &[]);
    let other = Device::init(tmp.path(), "other");
    other.login(&server.url, "helper1", "pw-helper1");
    assert!(!other.sync().incomplete);
    assert_eq!(other.meta("documents.format").as_deref(), Some("1"));
    let visit = other.add_visit(&household, "format 1 still");
    assert!(!other.sync().incomplete);
    assert_eq!(server_doc(&data, &visit).format(), form::LEGACY);
    server.kill();
    server.wait_killed();

    // The first start after the last day of protocol version 1 moves every document, before it listens.
    let server = Server::start_with(&data, "127.0.0.1:0", &["--protocol-v1-until", "2020-01-01"]);
    let moved = server_docs(&data);
    assert_eq!(moved.len(), before.len() + 1);
    for (id, kind, doc) in &moved {
        assert_eq!(doc.format(), form::CURRENT, "{id}");
        assert_eq!(schema::check(doc.raw(), *kind), vec![], "{id}");
        assert!(schema::normalize(doc.raw(), *kind).0.is_empty(), "{id}");
    }
    let mut h = server_doc(&data, &household);
    assert_eq!(conflict_fields(&mut h, &household), conflicts_before, "conflicts are kept");
    assert_eq!(h.field_history("phone").unwrap().len(), phone_history, "the move leaves text alone");
    let status_history = h.field_history("poverty_status").unwrap();
    assert_eq!(status_history.len(), 2, "the value written first, then the move: {status_history:?}");
    assert_eq!((status_history[1].user.as_str(), status_history[1].device.as_str()), ("system", "server"));
    assert_eq!(status_history[1].value_json, "\"registered_poor\"");

    // The phone's edit, made on format 1 before the move, goes up and wins over the move. (The devices know the
    // server by the address it had before: it moved here.)
    for d in [&phone, &other] {
        doorstep_e2e::faults::device_store(d).set_meta("sync.server", &server.url).unwrap();
    }
    let r = phone.sync();
    assert!(!r.incomplete && r.sent >= 1, "{r:?}");
    let mut h = server_doc(&data, &household);
    // The app of that time wrote every field of the record again with each edit, which settled the two conflicts
    // its phone showed (today's app writes only what changed: `doc::keep`).
    assert_eq!(conflict_fields(&mut h, &household), Vec::<String>::new());
    assert!(h.field_history("phone").unwrap().len() >= phone_history, "history is kept");
    let record: doorstep_core::model::Household = h.read().unwrap();
    assert_eq!(record.poverty_status, doorstep_core::model::PovertyStatus::Lifted);
    assert!(schema::normalize(h.raw(), DocKind::Household).0.is_empty(), "the late edit was moved too");
    let shown = phone.json(&["household", "show", &household])["household"].clone();
    assert_eq!(shown["poverty_status"], "lifted");
    assert_eq!(phone.meta("documents.format").as_deref(), Some("2"));

    // From now on the phone creates format 2 documents, and the other device sees everything.
    let visit = phone.add_visit(&household, "format 2 now");
    assert!(!phone.sync().incomplete);
    assert_eq!(server_doc(&data, &visit).format(), form::CURRENT);
    assert!(!other.sync().incomplete);
    let shown = other.json(&["household", "show", &household])["household"].clone();
    assert_eq!(shown["poverty_status"], "lifted");
    assert_eq!(shown["members"].as_object().unwrap().len(), 2);
    drop(server);
}

#[test]
fn migrate_documents_moves_a_deployment_at_once_and_a_second_run_moves_nothing() {
    let (_tmp, data, _) = deployment();
    let count = server_docs(&data).len();
    let out = admin(&data, &["migrate-documents"]);
    assert_eq!(out.trim(), format!("{count} documents moved to document format 2"));
    assert!(server_docs(&data).iter().all(|(_, _, d)| d.format() == form::CURRENT));
    let out = admin(&data, &["migrate-documents"]);
    assert_eq!(out.trim(), "0 documents moved to document format 2");
}
