//! Reading the PostgreSQL store's rows into the storage types, the driver's errors mapped to `StorageError`, and
//! the read queries that both the store and its write transaction run.

use super::*;

/// Maps the driver's errors to what the HTTP layer acts on, as the SQLite store does for its own.
pub(super) fn storage_error(e: pg::Error) -> StorageError {
    use pg::error::SqlState;
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection broke or could not be made; the database may be back at the next try.
        return StorageError::Unavailable(e.to_string());
    };
    let class = &code.code()[..2];
    if class == "23" {
        // Integrity constraint violations, as SQLite's ConstraintViolation maps.
        StorageError::Exists(e.to_string())
    } else if matches!(class, "08" | "53" | "57" | "40")
        || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        || *code == SqlState::LOCK_NOT_AVAILABLE
    {
        // Connection lost, out of resources, shutting down, serialisation failure or deadlock, read-only standby.
        StorageError::Unavailable(e.to_string())
    } else {
        StorageError::Internal(e.to_string())
    }
}

/// `.pg()?` turns a driver result into a storage result.
pub(super) trait Pg<T> {
    fn pg(self) -> Result<T>;
}

impl<T> Pg<T> for std::result::Result<T, pg::Error> {
    fn pg(self) -> Result<T> {
        self.map_err(storage_error)
    }
}

pub(super) fn role_of(code: &str) -> Role {
    Role::parse(code).unwrap_or(Role::Helper)
}

pub(super) const USER_COLS: &str =
    "name, role, team, password_hash, disabled, created_ms, display_name, unit, must_change_password";
pub(super) const DEVICE_COLS: &str = "id, user_name, name, revoked, created_ms, last_seen_ms, app_version";
pub(super) const DOC_COLS: &str =
    "id, kind, bytes, heads, first_seq, last_seq, household_id, village, township, updated_ms";

/// A user from columns `USER_COLS` starting at `at`.
pub(super) fn user_row(r: &pg::Row, at: usize) -> User {
    User {
        name: r.get(at),
        role: role_of(r.get(at + 1)),
        team: r.get(at + 2),
        password_hash: r.get(at + 3),
        disabled: r.get(at + 4),
        created_ms: r.get(at + 5),
        display_name: r.get(at + 6),
        unit: r.get(at + 7),
        must_change_password: r.get(at + 8),
    }
}

pub(super) fn device_row(r: &pg::Row) -> Device {
    Device {
        id: r.get(0),
        user: r.get(1),
        name: r.get(2),
        revoked: r.get(3),
        created_ms: r.get(4),
        last_seen_ms: r.get(5),
        app_version: r.get(6),
    }
}

pub(super) fn doc_row(r: &pg::Row) -> StoredDoc {
    let kind: &str = r.get(1);
    let heads: &str = r.get(3);
    StoredDoc {
        id: r.get(0),
        kind: DocKind::parse(kind).unwrap_or_default(),
        bytes: r.get(2),
        heads: heads.split(',').filter(|h| !h.is_empty()).map(String::from).collect(),
        first_seq: r.get::<_, i64>(4) as u64,
        last_seq: r.get::<_, i64>(5) as u64,
        placement: Placement { household_id: r.get(6), village: r.get(7), township: r.get(8) },
        updated_ms: r.get(9),
    }
}

/// Reads a document through any client or transaction.
pub(super) fn load_doc(c: &mut impl pg::GenericClient, id: &str) -> Result<Option<StoredDoc>> {
    Ok(c.query_opt(&format!("SELECT {DOC_COLS} FROM docs WHERE id = $1"), &[&id]).pg()?.as_ref().map(doc_row))
}

/// The SQL condition: a scope loss (alias `e`) of the user `$2` or the team `$3` covers the placement given as
/// `h`, `v`, `t` (household id, village, township).
pub(super) fn loss_covers(h: &str, v: &str, t: &str) -> String {
    format!(
        "((e.subject_kind = 'user' AND e.subject = $2) OR (e.subject_kind = 'team' AND e.subject = $3))
         AND ((e.target_kind = 'household' AND {h} = e.target) OR (e.target_kind = 'village' AND {v} = e.target)
              OR (e.target_kind = 'township' AND {t} = e.target))"
    )
}

/// Every place with its live households counted, townships first (as the SQLite store orders them).
pub(super) const PLACES: &str = "SELECT p.kind, p.name, p.township, p.origin, p.created_ms,
        CASE p.kind WHEN 'village' THEN (SELECT count(*) FROM ix_households h WHERE h.village = p.name AND h.deleted = 0)
             ELSE (SELECT count(*) FROM ix_households h WHERE h.township = p.name AND h.deleted = 0) END
     FROM places p
     ORDER BY CASE p.kind WHEN 'township' THEN 0 ELSE 1 END, p.township COLLATE \"C\", p.name COLLATE \"C\"";

/// The records saved beside documents (`Storage::records`).
pub(super) fn records_of(c: &mut impl pg::GenericClient, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
    let sql = "SELECT id, record FROM docs WHERE id = ANY($1) AND record IS NOT NULL";
    Ok(c.query(sql, &[&ids]).pg()?.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub(super) fn require_user(tx: &mut pg::Transaction<'_>, name: &str) -> Result<()> {
    match tx.query_opt("SELECT 1 FROM users WHERE name = $1", &[&name]).pg()? {
        Some(_) => Ok(()),
        None => Err(StorageError::NotFound(format!("user {name}"))),
    }
}

/// The visibility filter over `docs d`, with parameters `$4` (all), `$5` households, `$6` villages, `$7`
/// townships, `$8` the schedule-rules id.
pub(super) const VISIBLE: &str =
    "($4 OR d.id = $8 OR d.household_id = ANY($5) OR d.village = ANY($6) OR d.township = ANY($7))";

/// Candidates after the cursor, as the SQLite store reads them. The queries of new documents and of changes each
/// stop after `limit` rows (rows of distinct, growing sequences), and the answer is then complete only up to the
/// last row read: that sequence comes back instead of the head, with `true`.
pub(super) fn pull_candidates(
    tx: &mut pg::Transaction<'_>,
    q: &PullQuery,
    limit: usize,
) -> Result<(u64, Vec<Candidate>, bool)> {
    let head: i64 = tx.query_one("SELECT last_seq FROM counter WHERE id = 1", &[]).pg()?.get(0);
    let cursor = q.cursor as i64;
    let v = &q.visible;
    let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<String>>();
    let (households, villages, townships) = (list(&v.households), list(&v.villages), list(&v.townships));
    let rules = doorstep_core::model::SCHEDULE_RULES_ID;
    let team = q.team.clone().unwrap_or_default();
    // $3 is the device for the first two queries and the user for the third; $9 the team.
    let by_device: Vec<&(dyn ToSql + Sync)> =
        vec![&cursor, &head, &q.device_id, &v.all, &households, &villages, &townships, &rules];
    // One row more than the limit tells whether the query stopped early.
    let fetch = limit.saturating_add(1).min(i64::MAX as usize) as i64;
    let mut limited = by_device.clone();
    limited.push(&fetch);
    let mut by_user = by_device.clone();
    by_user[2] = &q.user;
    by_user.push(&team);
    let mut out = Vec::new();
    let mut complete_to = head;
    // Appends candidates from `rows`, at most `cap`; when rows were left over, the sequence of the last one taken.
    let mut push = |rows: Vec<pg::Row>, how: CandidateKind, cap: usize| -> Option<i64> {
        let mut last = 0;
        for (read, r) in rows.iter().enumerate() {
            if read == cap {
                return Some(last);
            }
            last = r.get(0);
            out.push(Candidate {
                seq: last as u64,
                doc_id: r.get(1),
                kind: DocKind::parse(r.get(2)).unwrap_or_default(),
                how,
                len: r.get::<_, i64>(3) as u64,
            });
        }
        None
    };
    // Documents new to the device: created after its cursor and holding some change of another device.
    let rows = tx
        .query(
            &format!(
                "SELECT d.first_seq, d.id, d.kind, octet_length(d.bytes)::bigint FROM docs d
             WHERE d.first_seq > $1 AND d.first_seq <= $2 AND {VISIBLE}
               AND EXISTS (SELECT 1 FROM changes c WHERE c.doc_id = d.id AND c.device_id <> $3 AND c.seq <= $2)
             ORDER BY d.first_seq LIMIT $9"
            ),
            &limited,
        )
        .pg()?;
    if let Some(last) = push(rows, CandidateKind::NewDoc, limit) {
        complete_to = complete_to.min(last);
    }
    if cursor > 0 {
        // Other devices' changes to documents the device has.
        let rows = tx
            .query(
                &format!(
                "SELECT c.seq, d.id, d.kind, octet_length(c.bytes)::bigint FROM changes c JOIN docs d ON d.id = c.doc_id
                 WHERE c.seq > $1 AND c.seq <= $2 AND c.device_id <> $3 AND d.first_seq <= $1 AND {VISIBLE}
                 ORDER BY c.seq LIMIT $9"
            ),
                &limited,
            )
            .pg()?;
        if let Some(last) = push(rows, CandidateKind::Change, limit) {
            complete_to = complete_to.min(last);
        }
        // Documents that entered the device's scope after its cursor.
        let rows = tx
            .query(
                &format!(
                    "SELECT e.seq, d.id, d.kind, octet_length(d.bytes)::bigint FROM scope_events e JOIN docs d ON
                     (e.target_kind = 'household' AND d.household_id = e.target)
                  OR (e.target_kind = 'village' AND d.village = e.target)
                  OR (e.target_kind = 'township' AND d.township = e.target)
                 WHERE e.seq > $1 AND e.seq <= $2 AND d.first_seq <= $1 AND {VISIBLE}
                   AND ((e.subject_kind = 'user' AND e.subject = $3) OR (e.subject_kind = 'team' AND e.subject = $9)
                        OR e.subject_kind = 'anyone')
                 ORDER BY e.seq"
                ),
                &by_user,
            )
            .pg()?;
        push(rows, CandidateKind::EnteredScope, usize::MAX);
    }
    out.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.doc_id.cmp(&b.doc_id)));
    Ok((complete_to as u64, out, complete_to < head))
}
