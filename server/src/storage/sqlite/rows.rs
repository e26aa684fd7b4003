//! Reading the SQLite store's rows into the storage types, the driver's errors mapped to `StorageError`, and the
//! read queries that both the store and its write transaction run (pull candidates, scope losses, places).

use super::*;

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(
                ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::ReadOnly
                | ErrorCode::CannotOpen
                | ErrorCode::SystemIoFailure
                | ErrorCode::OutOfMemory,
            ) => StorageError::Unavailable(e.to_string()),
            Some(ErrorCode::ConstraintViolation) => StorageError::Exists(e.to_string()),
            _ => StorageError::Internal(e.to_string()),
        }
    }
}

impl From<doorstep_core::Error> for StorageError {
    fn from(e: doorstep_core::Error) -> Self {
        match e {
            doorstep_core::Error::Storage(e) => e.into(),
            doorstep_core::Error::Io(e) => StorageError::Unavailable(e.to_string()),
            other => StorageError::Refused(Refusal::BadChange(other.to_string())),
        }
    }
}

pub(super) fn role_of(code: &str) -> Role {
    Role::parse(code).unwrap_or(Role::Helper)
}

pub(super) fn user_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    user_at(r, 0)
}

/// A user from columns `USER_COLS` starting at `at`.
pub(super) fn user_at(r: &rusqlite::Row, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        name: r.get(at)?,
        role: role_of(&r.get::<_, String>(at + 1)?),
        team: r.get(at + 2)?,
        password_hash: r.get(at + 3)?,
        disabled: r.get(at + 4)?,
        created_ms: r.get(at + 5)?,
        display_name: r.get(at + 6)?,
        unit: r.get(at + 7)?,
        must_change_password: r.get(at + 8)?,
    })
}

pub(super) const USER_COLS: &str =
    "name, role, team, password_hash, disabled, created_ms, display_name, unit, must_change_password";
pub(super) const DEVICE_COLS: &str = "id, user_name, name, revoked, created_ms, last_seen_ms, app_version";

pub(super) fn device_row(r: &rusqlite::Row) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        user: r.get(1)?,
        name: r.get(2)?,
        revoked: r.get(3)?,
        created_ms: r.get(4)?,
        last_seen_ms: r.get(5)?,
        app_version: r.get(6)?,
    })
}

pub(super) const DOC_COLS: &str =
    "id, kind, bytes, heads, first_seq, last_seq, household_id, village, township, updated_ms";

pub(super) fn doc_row(r: &rusqlite::Row) -> rusqlite::Result<StoredDoc> {
    let kind: String = r.get(1)?;
    let heads: String = r.get(3)?;
    Ok(StoredDoc {
        id: r.get(0)?,
        kind: DocKind::parse(&kind).unwrap_or_default(),
        bytes: r.get(2)?,
        heads: heads.split(',').filter(|h| !h.is_empty()).map(String::from).collect(),
        first_seq: r.get::<_, i64>(4)? as u64,
        last_seq: r.get::<_, i64>(5)? as u64,
        placement: Placement { household_id: r.get(6)?, village: r.get(7)?, township: r.get(8)? },
        updated_ms: r.get(9)?,
    })
}

pub(super) fn load_doc(conn: &Connection, id: &str) -> Result<Option<StoredDoc>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {DOC_COLS} FROM docs WHERE id = ?1"))?
        .query_row([id], doc_row)
        .optional()?)
}

/// The records saved beside documents (`Storage::records`), one indexed look-up each.
pub(super) fn records_of(c: &Connection, ids: &[String]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt = c.prepare_cached("SELECT record FROM docs WHERE id = ?1 AND record IS NOT NULL")?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(record) = stmt.query_row([id], |r| Ok(r.get_ref(0)?.as_bytes()?.to_vec())).optional()? {
            out.push((id.clone(), record));
        }
    }
    Ok(out)
}

pub(super) fn require_user(tx: &Connection, name: &str) -> Result<()> {
    let found: Option<String> =
        tx.query_row("SELECT name FROM users WHERE name = ?1", [name], |r| r.get(0)).optional()?;
    found.map(|_| ()).ok_or_else(|| StorageError::NotFound(format!("user {name}")))
}

/// The visibility filter over `docs d`, with its parameters as JSON arrays (`json_each` keeps it one statement).
pub(super) fn visible_sql(v: &Visibility) -> (String, [String; 3]) {
    let json = |s: &BTreeSet<String>| serde_json::to_string(s).unwrap_or_else(|_| "[]".into());
    let sql = if v.all {
        "1".to_string()
    } else {
        format!(
            "(d.id = '{}' OR d.household_id IN (SELECT value FROM json_each(:households))
              OR d.village IN (SELECT value FROM json_each(:villages))
              OR d.township IN (SELECT value FROM json_each(:townships)))",
            doorstep_core::model::SCHEDULE_RULES_ID
        )
    };
    (sql, [json(&v.households), json(&v.villages), json(&v.townships)])
}

/// Every place with its live households counted, townships first.
pub(super) const PLACES: &str = "SELECT p.kind, p.name, p.township, p.origin, p.created_ms,
        CASE p.kind WHEN 'village' THEN (SELECT count(*) FROM ix_households h WHERE h.village = p.name AND h.deleted = 0)
             ELSE (SELECT count(*) FROM ix_households h WHERE h.township = p.name AND h.deleted = 0) END
     FROM places p ORDER BY CASE p.kind WHEN 'township' THEN 0 ELSE 1 END, p.township, p.name";

/// A household's helpers: its own `helper_ids` and the server's assignments.
pub(super) const HELPERS_OF: &str = "SELECT helper FROM ix_household_helpers WHERE doc_id = ?1
     UNION SELECT helper FROM assignments WHERE household_id = ?1 ORDER BY 1";

pub(super) fn place_row(r: &rusqlite::Row) -> rusqlite::Result<Place> {
    let kind: String = r.get(0)?;
    let origin: String = r.get(3)?;
    Ok(Place {
        kind: PlaceKind::parse(&kind).unwrap_or(PlaceKind::Village),
        name: r.get(1)?,
        township: r.get(2)?,
        origin: PlaceOrigin::parse(&origin),
        created_ms: r.get(4)?,
        households: r.get::<_, i64>(5)? as u64,
    })
}

/// The SQL condition: a scope loss of `:user` or `:team` (alias `e`) covers the placement given as `{h}`, `{v}`,
/// `{t}` (household id, village, township).
pub(super) fn loss_covers(h: &str, v: &str, t: &str) -> String {
    format!(
        "((e.subject_kind = 'user' AND e.subject = :user) OR (e.subject_kind = 'team' AND e.subject = :team))
         AND ((e.target_kind = 'household' AND {h} = e.target) OR (e.target_kind = 'village' AND {v} = e.target)
              OR (e.target_kind = 'township' AND {t} = e.target))"
    )
}

pub(super) fn lost_after(c: &Connection, user: &str, team: Option<&str>, cursor: u64, p: &Placement) -> Result<bool> {
    let sql = format!(
        "SELECT 1 FROM scope_losses e WHERE e.seq > :cursor AND {} LIMIT 1",
        loss_covers(":household", ":village", ":township")
    );
    let household = p.household_id.clone().unwrap_or_default();
    let params: &[(&str, &dyn rusqlite::ToSql)] = &[
        (":cursor", &(cursor.min(i64::MAX as u64) as i64)),
        (":user", &user),
        (":team", &team.unwrap_or_default()),
        (":household", &household),
        (":village", &p.village),
        (":township", &p.township),
    ];
    Ok(c.query_row(&sql, params, |_| Ok(())).optional()?.is_some())
}

pub(super) fn lost_docs(c: &Connection, q: &PullQuery, up_to: u64) -> Result<Vec<(String, Placement)>> {
    let sql = format!(
        "SELECT DISTINCT d.id, d.household_id, d.village, d.township FROM scope_losses e JOIN docs d ON {}
         WHERE e.seq > :cursor AND e.seq <= :up_to ORDER BY d.id",
        loss_covers("d.household_id", "d.village", "d.township")
    );
    let team = q.team.clone().unwrap_or_default();
    let params: &[(&str, &dyn rusqlite::ToSql)] =
        &[(":cursor", &(q.cursor as i64)), (":up_to", &(up_to as i64)), (":user", &q.user), (":team", &team)];
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok((r.get(0)?, Placement { household_id: r.get(1)?, village: r.get(2)?, township: r.get(3)? }))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn pull_candidates(c: &Connection, q: &PullQuery, limit: usize) -> Result<(u64, Vec<Candidate>, bool)> {
    let head: i64 = c.query_row("SELECT last_seq FROM counter WHERE id = 1", [], |r| r.get(0))?;
    let (visible, [households, villages, townships]) = visible_sql(&q.visible);
    let cursor = q.cursor as i64;
    let mut out = Vec::new();
    // Each query of new documents and changes yields rows of distinct, growing sequences; when one stops early at
    // `limit` rows, everything up to its last row is complete.
    let mut complete_to = head;
    let mut base: Vec<(&str, &dyn rusqlite::ToSql)> =
        vec![(":cursor", &cursor), (":head", &head), (":device", &q.device_id)];
    if !q.visible.all {
        base.push((":households", &households));
        base.push((":villages", &villages));
        base.push((":townships", &townships));
    }
    // Documents new to the device: created after its cursor and holding some change of another device.
    let sql = format!(
        "SELECT d.first_seq, d.id, d.kind, length(d.bytes) FROM docs d
         WHERE d.first_seq > :cursor AND d.first_seq <= :head AND {visible}
           AND EXISTS (SELECT 1 FROM changes c WHERE c.doc_id = d.id AND c.device_id != :device AND c.seq <= :head)
         ORDER BY d.first_seq"
    );
    read_candidates(c, &sql, &base, CandidateKind::NewDoc, Some(limit), &mut complete_to, &mut out)?;
    if cursor > 0 {
        // Other devices' changes to documents the device has.
        let sql = format!(
            "SELECT c.seq, d.id, d.kind, length(c.bytes) FROM changes c JOIN docs d ON d.id = c.doc_id
             WHERE c.seq > :cursor AND c.seq <= :head AND c.device_id != :device AND d.first_seq <= :cursor AND {visible}
             ORDER BY c.seq"
        );
        read_candidates(c, &sql, &base, CandidateKind::Change, Some(limit), &mut complete_to, &mut out)?;
        // Documents that entered the device's scope after its cursor.
        let team = q.team.clone().unwrap_or_default();
        let sql = format!(
            "SELECT e.seq, d.id, d.kind, length(d.bytes) FROM scope_events e JOIN docs d ON
                 (e.target_kind = 'household' AND d.household_id = e.target)
              OR (e.target_kind = 'village' AND d.village = e.target)
              OR (e.target_kind = 'township' AND d.township = e.target)
             WHERE e.seq > :cursor AND e.seq <= :head AND d.first_seq <= :cursor AND {visible}
               AND ((e.subject_kind = 'user' AND e.subject = :user) OR (e.subject_kind = 'team' AND e.subject = :team)
                    OR e.subject_kind = 'anyone')
             ORDER BY e.seq"
        );
        // This query has no :device; SQLite refuses a named parameter the statement lacks.
        let mut params: Vec<(&str, &dyn rusqlite::ToSql)> =
            base.iter().filter(|(n, _)| *n != ":device").cloned().collect();
        params.push((":user", &q.user));
        params.push((":team", &team));
        read_candidates(c, &sql, &params, CandidateKind::EnteredScope, None, &mut complete_to, &mut out)?;
    }
    out.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.doc_id.cmp(&b.doc_id)));
    Ok((complete_to as u64, out, complete_to < head))
}

/// Reads candidate rows `(seq, doc id, kind, length)` in sequence order, at most `limit` of them; a query cut short
/// lowers `complete_to` to the last sequence it read, up to which the page is still complete.
pub(super) fn read_candidates(
    c: &Connection,
    sql: &str,
    params: &[(&str, &dyn rusqlite::ToSql)],
    how: CandidateKind,
    limit: Option<usize>,
    complete_to: &mut i64,
    out: &mut Vec<Candidate>,
) -> Result<()> {
    let mut stmt = c.prepare(sql)?;
    let mut rows = stmt.query(params)?;
    let (mut read, mut last) = (0, 0i64);
    while let Some(r) = rows.next()? {
        if Some(read) == limit {
            *complete_to = (*complete_to).min(last);
            break;
        }
        last = r.get(0)?;
        read += 1;
        let kind: String = r.get(2)?;
        out.push(Candidate {
            seq: last as u64,
            doc_id: r.get(1)?,
            kind: DocKind::parse(&kind).unwrap_or_default(),
            how,
            len: r.get::<_, i64>(3)? as u64,
        });
    }
    Ok(())
}
