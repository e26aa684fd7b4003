//! Change ingestion on the server with the inputs that once broke a fuzz target: every input kept in
//! `fuzz/regressions/apply_changes/` is pushed by a signed-in device as the changes of a new visit. The server must
//! refuse it as a bad request (400, not a retryable 503 that would make the device send it forever, and no crash),
//! store nothing of it, and keep serving.

use doorstep_fuzz_bodies as bodies;

use doorstep_core::sync::protocol::{self, ErrorBody, ErrorCode, MessageType, SyncRequest, WireChange};
use doorstep_e2e::faults::ServerDb;
use doorstep_e2e::*;

#[test]
fn changes_that_once_crashed_ingestion_are_refused_as_bad_requests_and_nothing_is_stored() {
    if doorstep_e2e::store_choice::sqlite_only("crashing ingestion inputs", "it counts rows in the SQLite file") {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/apply_changes");
    let mut inputs: Vec<_> = std::fs::read_dir(&dir).map(|d| d.filter_map(|e| e.ok()).collect()).unwrap_or_default();
    inputs.sort_by_key(|e| e.path());
    assert!(!inputs.is_empty(), "no regression inputs in {}", dir.display());
    let f = Fixture::new();
    let a = f.device("a", "helper1");
    let h = a.add_household("4306210010001", VILLAGE_A, "张建国", &["helper1"]);
    a.sync();
    let token = a.meta("sync.token").unwrap();
    let before = ServerDb::open(&f.server.data).change_rows();
    for entry in inputs {
        let data = std::fs::read(entry.path()).unwrap();
        let (_, parts) = bodies::split_parts(&data).expect("an input with parts");
        for (doc_id, kind) in [("0194e5a0-0000-7000-8000-000000000001", "visit"), (h.as_str(), "household")] {
            let changes: Vec<WireChange> = parts
                .iter()
                .map(|p| WireChange { doc_id: doc_id.to_string(), kind: kind.to_string(), bytes: p.clone() })
                .collect();
            let body = protocol::encode(MessageType::SyncRequest, &SyncRequest { cursor: 0, max_bytes: 0, changes });
            let (status, answer) = raw_sync(&f.server.url, &token, body);
            let err: ErrorBody = serde_json::from_slice(&answer)
                .unwrap_or_else(|e| panic!("{}: {status} is not an ErrorBody ({e})", entry.path().display()));
            assert_eq!((status, err.code), (400, ErrorCode::BadRequest), "{}: {err:?}", entry.path().display());
        }
    }
    assert_eq!(ServerDb::open(&f.server.data).change_rows(), before, "nothing of the bad pushes is stored");
    a.add_visits_in_process(&h, "helper1", 1);
    assert_eq!(a.sync().sent, 1, "the server still ingests");
}
