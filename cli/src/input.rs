//! Whole records as JSON (`--json FILE|-`): the serde JSON of the core's model types, with two conveniences: a
//! missing `id` means "new", and a household's `members` may be a list instead of an object keyed by id.

use crate::fail::{CliError, CliResult};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::io::Read;

/// Reads JSON from a file, or from stdin for `-`.
pub fn read_json(source: &str) -> CliResult<Value> {
    let text = if source == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| CliError::usage(format!("stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(source).map_err(|e| CliError::usage(format!("--json {source}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| CliError::field("--json", format!("is not valid JSON: {e}")))
}

/// Turns JSON into a record of type `T` (`what` names it in errors), filling in `id` and list-shaped members.
pub fn record<T: DeserializeOwned>(what: &str, mut value: Value) -> CliResult<T> {
    let Some(obj) = value.as_object_mut() else {
        return Err(CliError::field(what, "must be a JSON object"));
    };
    obj.entry("id").or_insert(Value::String(String::new()));
    if let Some(Value::Array(list)) = obj.get("members").cloned() {
        let mut members = Map::new();
        for mut m in list {
            if let Some(mo) = m.as_object_mut() {
                let id = mo.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
                let id = id.unwrap_or_else(doorstep_core::model::new_id);
                mo.insert("id".into(), Value::String(id.clone()));
                members.insert(id, m);
            }
        }
        obj.insert("members".into(), Value::Object(members));
    }
    if let Some(Value::Object(members)) = obj.get_mut("members") {
        for (id, m) in members.iter_mut() {
            if let Some(mo) = m.as_object_mut() {
                mo.entry("id").or_insert(Value::String(id.clone()));
            }
        }
    }
    serde_json::from_value(value).map_err(|e| CliError::field(what, e))
}

/// A blank record of type `T`, from the fewest fields its JSON needs; flags fill it in.
pub fn blank<T: DeserializeOwned>(what: &str, fields: Value) -> CliResult<T> {
    record(what, fields)
}
