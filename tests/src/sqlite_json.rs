//! A SQLite table's rows as JSON objects keyed by column name: what the storage contract compares with
//! PostgreSQL's `row_to_json`, and what the province benchmark copies into PostgreSQL (`json_populate_recordset`).
//! Blobs are written in bytea's hex input form (`\x…`).

use serde_json::{Map, Value};

/// Every row of `table`, in the order SQLite returns them, each passed to `each` (so a large table is never held
/// whole).
pub fn each_row(
    conn: &rusqlite::Connection,
    table: &str,
    mut each: impl FnMut(Value) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use rusqlite::types::ValueRef;
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}"))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let mut obj = Map::new();
        for (i, name) in names.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => n.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Blob(b) => format!("\\x{}", hex::encode(b)).into(),
            };
            obj.insert(name.clone(), v);
        }
        each(Value::Object(obj))?;
    }
    Ok(())
}

/// Every row of `table` as JSON objects.
pub fn rows(conn: &rusqlite::Connection, table: &str) -> Result<Vec<Value>, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = Vec::new();
    each_row(conn, table, |v| {
        out.push(v);
        Ok(())
    })?;
    Ok(out)
}
