//! SQL text both stores run, written once with SQLite's `?N` placeholders; the PostgreSQL store rewrites them with
//! [`to_pg`]. Only statements whose syntax both dialects share live here.

use super::PlaceKind;

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
