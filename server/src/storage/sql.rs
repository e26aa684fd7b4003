//! SQL text both stores run, written once with SQLite's `?N` placeholders; the PostgreSQL store rewrites them with
//! [`to_pg`]. Only statements whose syntax both dialects share live here.

use super::{area_level, Link, PlaceKind};

/// Records a place a pushed household names, unless the server knows it already (`?1` kind, `?2` name,
/// `?3` township, `?4` time). Plain upsert syntax that PostgreSQL shares.
pub const DEVICE_PLACE: &str = "INSERT INTO places (kind, name, township, origin, created_ms)
     VALUES (?1, ?2, ?3, 'device', ?4) ON CONFLICT DO NOTHING";

/// What else a renamed place's name is written in (`?1` old name, `?2` new), in both stores' SQL: assignments
/// are copied under the new name (merging with any already there) and the old rows removed.
pub fn rename_sql(kind: PlaceKind) -> &'static [&'static str] {
    match kind {
        PlaceKind::Village => &[
            "INSERT INTO team_villages (team, village) SELECT team, ?2 FROM team_villages WHERE village = ?1
             ON CONFLICT DO NOTHING",
            "DELETE FROM team_villages WHERE village = ?1",
            "INSERT INTO areas (user_name, level, name) SELECT user_name, level, ?2 FROM areas
             WHERE level = 'village' AND name = ?1 ON CONFLICT DO NOTHING",
            "DELETE FROM areas WHERE level = 'village' AND name = ?1",
            "INSERT INTO inspector_grants (user_name, village, until, created_ms)
             SELECT user_name, ?2, until, created_ms FROM inspector_grants WHERE village = ?1 ON CONFLICT DO NOTHING",
            "DELETE FROM inspector_grants WHERE village = ?1",
        ],
        PlaceKind::Township => &[
            "UPDATE places SET township = ?2 WHERE kind = 'village' AND township = ?1",
            "INSERT INTO areas (user_name, level, name) SELECT user_name, level, ?2 FROM areas
             WHERE level = 'township' AND name = ?1 ON CONFLICT DO NOTHING",
            "DELETE FROM areas WHERE level = 'township' AND name = ?1",
        ],
    }
}

/// A statement written for SQLite (`?N` placeholders) in PostgreSQL's spelling (`$N`).
pub fn to_pg(sql: &str) -> String {
    sql.replace('?', "$")
}

/// Each household's and screening's typed record as JSON beside its document (`index::derive_with_record`; visits'
/// too since schema 12), so the pages
/// read records without parsing every document (the same statement in both dialects).
pub const V9_RECORDS: &str = "ALTER TABLE docs ADD COLUMN record TEXT;";

/// Schema 10: documents by the sequence of their last change (what the pages' cached figures ask after a change),
/// and households by place (the places a page lists).
pub const V10_DOC_ORDER: [&str; 2] =
    ["CREATE INDEX docs_last_seq ON docs (last_seq)", "CREATE INDEX docs_kind_place ON docs (kind, township, village)"];

/// The documents changed after a sequence (`?1`), with their placement, at most [`CHANGED_LIMIT`] and one more.
pub const CHANGED_DOCS: &str =
    "SELECT id, kind, household_id, village, township FROM docs WHERE last_seq > ?1 LIMIT 10001";

/// How many changed documents `ReportRead::changed_since` lists; beyond that it says there were many.
pub const CHANGED_LIMIT: usize = 10_000;

/// Whether anyone's scope changed after a sequence (`?1`).
pub const SCOPE_CHANGED: &str = "SELECT EXISTS (SELECT 1 FROM scope_events WHERE seq > ?1)
    OR EXISTS (SELECT 1 FROM scope_losses WHERE seq > ?1)";

/// The places of live households in scope (`{in_scope}` as each store writes it). The deleted households are read
/// once as a list, not looked up one by one (a province's hundred thousand look-ups were most of a first overview).
pub const PLACES: &str = "SELECT DISTINCT d.township, d.village FROM docs d
    WHERE d.kind = 'household' AND {in_scope}
        AND d.id NOT IN (SELECT h.doc_id FROM ix_households h WHERE h.deleted <> 0)
    ORDER BY d.township, d.village";

/// Saves a merged document and what is derived from it with the document (`?1` id … `?11` record).
pub const SAVE_DOC: &str = "INSERT INTO docs (id, kind, bytes, heads, first_seq, last_seq, household_id, village, township, updated_ms, record,
        created_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10)
     ON CONFLICT (id) DO UPDATE SET bytes = excluded.bytes, heads = excluded.heads, last_seq = excluded.last_seq,
        household_id = excluded.household_id, village = excluded.village, township = excluded.township,
        updated_ms = excluded.updated_ms, record = excluded.record";

/// A value bound to a shared statement; each store turns it into its driver's parameter type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param<'a> {
    Text(&'a str),
    Int(i64),
}

/// A shared statement with its parameters in placeholder order (`?1`, `?2`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    pub sql: &'static str,
    pub params: Vec<Param<'a>>,
}

/// The statement that adds a link (nothing when it is there already; a grant is renewed to its new last day).
pub fn link(link: &Link, now_ms: i64) -> Statement<'_> {
    use Param::{Int, Text};
    let (sql, params) = match link {
        Link::Helper { helper, household } => (
            "INSERT INTO assignments (helper, household_id, created_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            vec![Text(helper), Text(household), Int(now_ms)],
        ),
        Link::Team { team, village } => (
            "INSERT INTO team_villages (team, village) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            vec![Text(team), Text(village)],
        ),
        Link::Area { user, area } => {
            let (level, name) = area_level(area);
            (
                "INSERT INTO areas (user_name, level, name) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                vec![Text(user), Text(level), Text(name)],
            )
        }
        Link::Grant(g) => (
            "INSERT INTO inspector_grants (user_name, village, until, created_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (user_name, village) DO UPDATE SET until = excluded.until",
            vec![Text(&g.user), Text(&g.village), Text(&g.until), Int(now_ms)],
        ),
    };
    Statement { sql, params }
}

/// The statement that removes a link.
pub fn unlink(link: &Link) -> Statement<'_> {
    use Param::Text;
    let (sql, params) = match link {
        Link::Helper { helper, household } => {
            ("DELETE FROM assignments WHERE helper = ?1 AND household_id = ?2", vec![Text(helper), Text(household)])
        }
        Link::Team { team, village } => {
            ("DELETE FROM team_villages WHERE team = ?1 AND village = ?2", vec![Text(team), Text(village)])
        }
        Link::Area { user, area } => {
            let (level, name) = area_level(area);
            (
                "DELETE FROM areas WHERE user_name = ?1 AND level = ?2 AND name = ?3",
                vec![Text(user), Text(level), Text(name)],
            )
        }
        Link::Grant(g) => (
            "DELETE FROM inspector_grants WHERE user_name = ?1 AND village = ?2",
            vec![Text(&g.user), Text(&g.village)],
        ),
    };
    Statement { sql, params }
}

/// The households of a helper (`?1`): named in the household's record or assigned by the server.
pub const HELPER_HOUSEHOLDS: &str =
    "SELECT doc_id FROM ix_household_helpers WHERE helper = ?1 UNION SELECT household_id FROM assignments WHERE helper = ?1";

/// Schema 11: the pages' figures of each village kept in the database (`ReportSource::keep_tallies`), so a
/// restarted server, or another process over the same database, shows an overview without counting it again.
/// `frame` names what a tally depends on besides its village (month, day, "as of"); `seq` is the sequence it is
/// current at; `body` the tally with the ids of the households it counted (so a household that moves away makes it
/// stale), in postcard's binary form written by the pages (a province's overview reads a thousand of them at once). `BYTEA` is
/// PostgreSQL's bytes; SQLite stores the bytes as they are under that name too (a blob is never converted).
/// Also: assignments by household, so a report over one township or village finds its households' helpers
/// without reading every assignment.
pub const V11_TALLIES: [&str; 3] = [
    "CREATE TABLE tallies (
        frame TEXT NOT NULL,
        township TEXT NOT NULL,
        village TEXT NOT NULL,
        seq BIGINT NOT NULL,
        body BYTEA NOT NULL,
        written_ms BIGINT NOT NULL,
        PRIMARY KEY (frame, township, village)
    )",
    "CREATE INDEX tallies_written ON tallies (written_ms)",
    "CREATE INDEX assignments_household ON assignments (household_id)",
];

/// Schema 12: households by place with everything a scope decides on, so the places of an area (the first thing
/// an overview reads) come from the index alone, without reading a document's row.
pub const V12_PLACES_INDEX: &str =
    "CREATE INDEX docs_kind_place ON docs (kind, township, village, household_id, id, created_ms)";

/// Schema 13: a household's helpers as of a day come from the assignments index alone (a report joins a
/// township's households to it, once per township of an "as of" view).
pub const V13_ASSIGNMENTS_INDEX: [&str; 2] = [
    "DROP INDEX assignments_household",
    "CREATE INDEX assignments_household ON assignments (household_id, created_ms, helper)",
];

/// The `meta` key holding the document format the deployment writes (`doorstep_core::model::form`).
pub const DOCUMENT_FORMAT: &str = "document_format";

/// The `meta` key holding the layout tag of the records packed beside documents (`model::packed::layout`): a
/// database whose records were packed under another layout has them packed again when it is opened
/// (`storage::records::repack`).
pub const RECORD_LAYOUT: &str = "record_layout";

/// Schema 15: records are packed (`model::packed`), no longer JSON; PostgreSQL's column becomes `BYTEA` (the JSON
/// kept as its bytes until it is packed again), SQLite keeps the column and stores blobs in it.
pub const V15_PACKED_RECORDS_PG: [&str; 2] = [
    "ALTER TABLE docs ALTER COLUMN record TYPE BYTEA USING convert_to(record, 'UTF8')",
    "DELETE FROM meta WHERE key = 'record_layout'",
];
/// See [`V15_PACKED_RECORDS_PG`].
pub const V15_PACKED_RECORDS_SQLITE: [&str; 1] = ["DELETE FROM meta WHERE key = 'record_layout'"];

/// Schema 14: the document format. A database that already holds documents was written in format 1 and stays
/// there until its documents are moved (`crate::documents::migrate`); an empty one starts at format 2.
pub const V14_DOCUMENT_FORMAT: [&str; 1] = ["INSERT INTO meta (key, value) SELECT 'document_format', \
     CASE WHEN EXISTS (SELECT 1 FROM docs) THEN '1' ELSE '2' END"];

/// The township index both stores end with: every column a report's scope check and document list read, so a
/// township's report reads no document row (SQLite since schema 12, PostgreSQL since 13). The time a document was
/// first received comes second (schema 16), so an "as of" view of a year ago seeks the documents received by then
/// instead of walking past every later visit of the township (a million index entries in the province).
pub const DOCS_TOWNSHIP_INDEX: &str =
    "CREATE INDEX docs_township ON docs (township, created_ms, village, household_id, kind, id, updated_ms, last_seq)";

/// Schema 16: the township index with `created_ms` second ([`DOCS_TOWNSHIP_INDEX`]).
pub const V16_TOWNSHIP_BY_TIME: [&str; 2] = ["DROP INDEX docs_township", DOCS_TOWNSHIP_INDEX];

/// Sets each document's first and last received times from its stored changes (a document without any keeps its
/// last one for both). Schema 12 runs it once it has added `created_ms`, the time the server received a document's
/// first change (beside `updated_ms`, its last), so an "as of" view tells which documents existed at the end of a
/// day, and which changed after it, from the documents it reads anyway instead of from every change. The demo and
/// tests run it again after moving the changes' received times into the past.
pub const DOC_TIMES_FROM_CHANGES: &str = "UPDATE docs SET
    created_ms = coalesce((SELECT min(c.received_ms) FROM changes c WHERE c.doc_id = docs.id), updated_ms),
    updated_ms = coalesce((SELECT max(c.received_ms) FROM changes c WHERE c.doc_id = docs.id), updated_ms)";

/// The highest sequence of a change received by a time (`?1`). Read from the newest change backwards: the server
/// numbers changes as it receives them, so for a recent time (yesterday's end) only the changes since are read.
pub const HEAD_AT: &str = "SELECT seq FROM changes WHERE received_ms <= ?1 ORDER BY seq DESC LIMIT 1";

/// The bytes of a document's (`?1`) changes received by a time (`?2`), in sequence order.
pub const CHANGES_UNTIL: &str = "SELECT bytes FROM changes WHERE doc_id = ?1 AND received_ms <= ?2 ORDER BY seq";

/// Every document a report reads: those in scope (`{in_scope}`, written by each store) and the schedule rules
/// (`{rules}`, the id's parameter), which come twice when the scope holds them too. A `UNION ALL`, not an `OR`: an
/// `OR` on the primary key made both engines collect row ids from two indexes and read every document's row, where
/// the township index alone answers; and not a `UNION`, whose removal of duplicates sorted every row of a
/// province's "as of" view for the sake of one.
pub const DOC_METAS: &str =
    "SELECT d.id, d.kind, d.last_seq, d.created_ms, d.updated_ms, d.household_id, d.village, d.township FROM docs d
     WHERE {in_scope}
     UNION ALL SELECT d.id, d.kind, d.last_seq, d.created_ms, d.updated_ms, d.household_id, d.village, d.township
     FROM docs d WHERE d.id = {rules}";

/// The records of the households and screenings in a report's scope (`ReportRead::scope_records`).
pub const SCOPE_RECORDS: &str = "SELECT d.id, d.record FROM docs d
     WHERE d.kind IN ('household', 'screening') AND d.record IS NOT NULL AND {in_scope}";

/// The kept tallies of a frame (`?1`).
pub const KEPT_TALLIES: &str = "SELECT township, village, seq, body FROM tallies WHERE frame = ?1";

/// The kept tallies of one township (`?2`) of a frame (`?1`).
pub const KEPT_TALLIES_IN: &str = "SELECT township, village, seq, body FROM tallies WHERE frame = ?1 AND township = ?2";

/// Keeps a village's tally (`?1` frame, `?2` township, `?3` village, `?4` seq, `?5` body, `?6` time), replacing
/// the one kept before unless that one was counted later (a page view's tallies are written by a thread of their
/// own and may arrive after the background's newer count).
pub const KEEP_TALLY: &str = "INSERT INTO tallies (frame, township, village, seq, body, written_ms)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (frame, township, village) DO UPDATE SET seq = excluded.seq, body = excluded.body,
        written_ms = excluded.written_ms WHERE excluded.seq >= tallies.seq";

/// Forgets the tallies written before a time (`?1`): frames of past days nobody looks at any more.
pub const PRUNE_TALLIES: &str = "DELETE FROM tallies WHERE written_ms < ?1";

/// How long a kept tally stays in the database after it was written, in milliseconds (seven days).
pub const TALLY_KEPT_MS: i64 = 7 * 86_400_000;
