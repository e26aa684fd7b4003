//! Whole records as JSON (`--json FILE|-`): the serde JSON of the core's model types, with two conveniences: a
//! missing `id` means "new", and a household's `members` may be a list instead of an object keyed by id.

use crate::fail::{CliError, CliResult};
use doorstep_core::error::DoorstepError;
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

/// How the user wrote a record's members: each member's id with the path the user knows it by (`members[2]`, its
/// position in a `members` list, counted from 1), so that errors name the member as typed rather than by an id
/// given on the way in.
pub type MemberPaths = Vec<(String, String)>;

/// Turns JSON into a record of type `T` (`what` names it in errors), filling in `id` and list-shaped members.
pub fn record<T: DeserializeOwned>(what: &str, value: Value) -> CliResult<T> {
    record_with_paths(what, value).map(|(record, _)| record)
}

/// [`record`], also telling where each member of a `members` list stood.
pub fn record_with_paths<T: DeserializeOwned>(what: &str, mut value: Value) -> CliResult<(T, MemberPaths)> {
    let Some(obj) = value.as_object_mut() else {
        return Err(CliError::field(what, "must be a JSON object"));
    };
    obj.entry("id").or_insert(Value::String(String::new()));
    let mut paths = MemberPaths::new();
    if let Some(Value::Array(list)) = obj.get("members").cloned() {
        let mut members = Map::new();
        for (i, mut m) in list.into_iter().enumerate() {
            if let Some(mo) = m.as_object_mut() {
                let id = mo.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
                let id = id.unwrap_or_else(doorstep_core::model::new_id);
                mo.insert("id".into(), Value::String(id.clone()));
                paths.push((id.clone(), format!("members[{}]", i + 1)));
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
    serde_json::from_value(value).map(|record| (record, paths)).map_err(|e| CliError::field(what, e))
}

/// Shows validation errors of members by the paths the user knows (`members.<id>.national_id` becomes
/// `members[2].national_id`); the messages already name the member. Other errors pass unchanged.
pub fn name_members(mut error: DoorstepError, paths: &MemberPaths) -> DoorstepError {
    if let DoorstepError::Validation { errors } = &mut error {
        for e in errors.iter_mut() {
            for (id, shown) in paths {
                let renamed = e
                    .field
                    .strip_prefix("members.")
                    .and_then(|rest| rest.strip_prefix(id.as_str()))
                    .and_then(|rest| (rest.is_empty() || rest.starts_with('.')).then(|| format!("{shown}{rest}")));
                if let Some(renamed) = renamed {
                    e.field = renamed;
                    break;
                }
            }
        }
    }
    error
}

/// A blank record of type `T`, from the fewest fields its JSON needs; flags fill it in.
pub fn blank<T: DeserializeOwned>(what: &str, fields: Value) -> CliResult<T> {
    record(what, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::model::{FieldError, Household};

    #[test]
    fn members_of_a_list_are_named_by_their_position() {
        let value = serde_json::json!({
            "number": "1", "village": "石门村", "head_name": "张三", "poverty_status": "ordinary",
            "members": [
                {"name": "张三", "sex": "male", "birth_date": "1960-01-01", "relation": "head"},
                {"id": "kept", "name": "李四", "sex": "female", "birth_date": "1962-01-01", "relation": "spouse"}
            ]
        });
        let (h, paths) = record_with_paths::<Household>("household", value).unwrap();
        assert_eq!(h.members.len(), 2);
        assert_eq!(paths[1], ("kept".to_string(), "members[2]".to_string()));
        let error = |field: String| FieldError {
            field,
            code: "format".into(),
            message_en: "member 李四: wrong".into(),
            message_zh: "成员李四：错".into(),
        };
        let errors = vec![
            error(format!("members.{}.birth_date", paths[0].0)),
            error("members.kept.national_id".into()),
            error("members.keptx.name".into()),
            error("number".into()),
        ];
        let DoorstepError::Validation { errors } = name_members(DoorstepError::Validation { errors }, &paths) else {
            panic!("still a validation error")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["members[1].birth_date", "members[2].national_id", "members.keptx.name", "number"]);
    }
}
