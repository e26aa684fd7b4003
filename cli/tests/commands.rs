//! The CLI's local commands through the real binary: records in by flags and by JSON, lists and details out as
//! JSON, and errors that name the field with the documented exit codes.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--home")
        .arg(home)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(home: &Path, args: &[&str]) -> String {
    ok_in(home, args, "")
}

fn ok_in(home: &Path, args: &[&str], stdin: &str) -> String {
    let out = run(home, args, stdin);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn fails(home: &Path, args: &[&str], stdin: &str) -> (i32, String) {
    let out = run(home, args, stdin);
    assert!(!out.status.success(), "{args:?} should fail");
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn json(home: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&ok(home, &args)).unwrap()
}

const HOUSEHOLD_JSON: &str = r#"{
  "number": "4306210010001", "township": "石门镇", "village": "石门村", "head_name": "张建国",
  "poverty_status": "registered_poor", "helper_ids": ["helper1"],
  "members": [
    {"name": "张建国", "sex": "male", "birth_date": "1962-03-15", "relation": "head"},
    {"name": "李秀英", "sex": "female", "birth_date": "1965-08-02", "relation": "spouse", "conditions": ["hypertension"]}
  ]
}"#;

#[test]
fn records_go_in_by_json_and_flags_and_come_out_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    ok(&home, &["init", "--device", "desk-1"]);
    let h = ok_in(&home, &["household", "add", "--json", "-"], HOUSEHOLD_JSON);
    let detail = json(&home, &["household", "show", &h]);
    assert_eq!(detail["household"]["members"].as_object().unwrap().len(), 2);
    assert_eq!(detail["household"]["village"], "石门村");

    let m = ok(
        &home,
        &["member", "add", &h, "--name", "张小明", "--sex", "male", "--birth", "1990-05-01", "--relation", "child"],
    );
    // A status change is saved only with its dated transition; the alert change is recorded by the CLI itself.
    let (_, err) = fails(&home, &["household", "edit", &h, "--status", "monitored"], "");
    assert!(err.contains("status_history"), "{err}");
    #[rustfmt::skip]
    let edit = [
        "household", "edit", &h, "--phone", "13800001234", "--status", "monitored", "--event", "identified",
        "--on", "2026-11-20", "--reason", "因病", "--alert", "yellow",
    ];
    ok(&home, &edit);
    let rec = &json(&home, &["household", "show", &h])["household"];
    assert_eq!(
        (rec["phone"].as_str(), rec["poverty_status"].as_str(), rec["alert_level"].as_str()),
        (Some("13800001234"), Some("monitored"), Some("yellow"))
    );
    let last = rec["status_history"].as_array().unwrap().last().unwrap();
    assert_eq!((last["date"].as_str(), last["event"].as_str()), (Some("2026-11-20"), Some("identified")));
    assert_eq!(rec["alert_history"][0]["level"].as_str(), Some("yellow"));
    assert_eq!(rec["members"][&m]["name"], "张小明");

    let v = ok(
        &home,
        &[
            "visit",
            "add",
            "--household",
            &h,
            "--visitor",
            "helper1",
            "--date",
            "2026-11-20",
            "--assurance",
            "water=problem:井水不足",
            "--problem",
            "饮水不安全",
        ],
    );
    let visits = json(&home, &["visit", "list", "--household", &h]);
    assert_eq!(visits[0]["id"], v);
    assert_eq!(visits[0]["findings"]["water"]["status"], "problem");
    assert_eq!(visits[0]["problems"].as_object().unwrap().len(), 1);

    let out = run(
        &home,
        &[
            "screening",
            "add",
            "--household",
            &h,
            "--member",
            &m,
            "--screener",
            "doctor1",
            "--date",
            "2026-11-20",
            "--systolic",
            "185",
            "--diastolic",
            "112",
            "--glucose",
            "17.2",
            "--lang",
            "en",
        ],
        "",
    );
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("referral Urgent"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = json(&home, &["screening", "list", "--member", &m]);
    assert_eq!(list[0]["classification"]["bp_grade"], "grade3");
    assert_eq!(list[0]["classification"]["suggested_referral"], "urgent");

    let households = json(&home, &["household", "list", "--village", "石门村"]);
    assert_eq!(households.as_array().unwrap().len(), 1);
    assert!(json(&home, &["household", "list", "--village", "青山村"]).as_array().unwrap().is_empty());
    assert!(json(&home, &["due", "--date", "2026-12-31"]).is_array());
    assert!(json(&home, &["conflicts"]).as_array().unwrap().is_empty());
    let status = json(&home, &["status"]);
    assert_eq!(status["pending"], 5);
    assert_eq!(status["server"], Value::Null);
}

#[test]
fn bad_input_names_the_field_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let (code, err) = fails(&home, &["household", "list"], "");
    assert_eq!(code, 2);
    assert!(err.contains("init"), "{err}");
    ok(&home, &["init"]);
    let (code, err) = fails(&home, &["init"], "");
    assert_eq!(code, 2, "{err}");

    let (code, err) = fails(&home, &["household", "add", "--village", "石门村", "--status", "rich"], "");
    assert_eq!(code, 3);
    assert!(err.contains("--status") && err.contains("registered_poor"), "{err}");
    let (code, err) = fails(&home, &["household", "add", "--village", "石门村"], "");
    assert_eq!(code, 3);
    assert!(err.contains("number: is required") && err.contains("head_name: is required"), "{err}");
    let (code, err) = fails(
        &home,
        &["household", "add", "--json", "-"],
        r#"{"number": "1", "head_name": "x", "poverty_status": "ordinary"}"#,
    );
    assert_eq!(code, 3);
    assert!(err.contains("village"), "{err}");
    let (code, err) = fails(&home, &["household", "add", "--json", "-"], "{not json");
    assert_eq!(code, 3);
    assert!(err.contains("--json"), "{err}");
    let (code, err) = fails(&home, &["visit", "add", "--household", "nope", "--visitor", "helper1"], "");
    assert_eq!(code, 3);
    assert!(err.contains("household_id"), "{err}");
    let (code, err) = fails(&home, &["household", "show", "nope"], "");
    assert_eq!(code, 4, "{err}");
    // A plain value is taken as text; an unknown document is not found.
    let (code, err) = fails(&home, &["resolve", "doc", "phone", "13800000000"], "");
    assert_eq!(code, 4);
    assert!(err.contains("not_found"), "{err}");
    let (code, err) = fails(&home, &["sync"], "");
    assert_eq!(code, 2);
    assert!(err.contains("not_signed_in"), "{err}");
    let (code, err) = fails(&home, &["login", "--server", "ftp://x", "--user", "u"], "pw\n");
    assert_eq!(code, 3);
    assert!(err.contains("server"), "{err}");
    let (code, err) = fails(&home, &["login", "--server", "http://127.0.0.1:9", "--user", "u"], "pw\n");
    assert_eq!(code, 5, "{err}");
    assert_eq!(json(&home, &["status"])["pending"], 0);
}
