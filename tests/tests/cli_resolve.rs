//! `doorstep resolve` with a value as a user types it, against the real server: a conflict made by two devices
//! editing offline is settled with plain text, and the field's type decides how the text is read.

use doorstep_e2e::*;
use serde_json::Value;

fn household(d: &Device, id: &str) -> Value {
    d.json(&["household", "show", id])["household"].clone()
}

fn conflicted_fields(d: &Device) -> Vec<String> {
    let mut fields: Vec<String> =
        d.json(&["conflicts"]).as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap().to_string()).collect();
    fields.sort();
    fields
}

#[test]
fn a_conflict_is_settled_with_a_plain_value_read_by_the_fields_type() {
    let f = Fixture::new();
    let a = f.device("a", "helper1");
    let b = f.device("b", "doctor1");
    let h = a.add_household("4306210010021", VILLAGE_A, "陈大山", &["helper1"]);
    a.sync();
    b.sync();

    // Offline on both: the same two fields with different values.
    a.ok(&["household", "edit", &h, "--phone", "13900000001", "--hamlet", "上屯"]);
    b.ok(&["household", "edit", &h, "--phone", "13900000002", "--hamlet", "下屯"]);
    for d in [&a, &b, &a] {
        d.sync();
    }
    assert_eq!(conflicted_fields(&a), vec!["hamlet".to_string(), "phone".to_string()]);

    // Plain text, no JSON quotes; digits stay text because a phone number is text.
    a.ok(&["resolve", &h, "hamlet", "中屯"]);
    a.ok(&["resolve", &h, "phone", "13700000000"]);
    assert!(conflicted_fields(&a).is_empty());
    let rec = household(&a, &h);
    assert_eq!((rec["hamlet"].as_str(), rec["phone"].as_str()), (Some("中屯"), Some("13700000000")));

    // The settled values travel like any edit.
    a.sync();
    b.sync();
    assert!(conflicted_fields(&b).is_empty());
    let rec = household(&b, &h);
    assert_eq!((rec["hamlet"].as_str(), rec["phone"].as_str()), (Some("中屯"), Some("13700000000")));

    // A value no reading of which fits the field is refused, and nothing changes.
    a.ok(&["household", "edit", &h, "--status", "lifted", "--event", "exited"]);
    b.ok(&["household", "edit", &h, "--status", "monitored", "--event", "identified"]);
    for d in [&a, &b, &a] {
        d.sync();
    }
    assert_eq!(conflicted_fields(&a), vec!["poverty_status".to_string()]);
    let refused = a.fails(&["resolve", &h, "poverty_status", "rich"], None);
    assert_eq!((refused.code, refused.kind()), (3, "validation"), "{}", refused.stderr);
    assert_eq!(conflicted_fields(&a), vec!["poverty_status".to_string()]);
    // A value as `conflicts` lists it, without its JSON quotes.
    let listed: Vec<String> = a.json(&["conflicts"])[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| serde_json::from_str::<String>(v["value_json"].as_str().unwrap()).unwrap())
        .collect();
    let lifted = listed.iter().find(|v| v.eq_ignore_ascii_case("lifted")).expect("the value written on a");
    a.ok(&["resolve", &h, "poverty_status", lifted]);
    assert!(conflicted_fields(&a).is_empty());
    assert_eq!(household(&a, &h)["poverty_status"], "lifted");
}
