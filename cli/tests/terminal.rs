//! The CLI at a terminal, through the real binary: it ends quietly when its reader goes away, speaks Chinese or
//! English as asked while `--json` keeps the codes, and its errors name what the user typed.

use serde_json::Value;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary with a home and no locale of the caller's: each test says which language it wants.
fn doorstep(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_doorstep"));
    cmd.arg("--home").arg(home).args(args);
    for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn run(home: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child =
        doorstep(home, args, env).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(home: &Path, args: &[&str]) -> String {
    ok_env(home, args, &[])
}

fn ok_env(home: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(home, args, env, "");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs a command that must fail with `code`; returns its stderr.
fn fails(home: &Path, args: &[&str], stdin: &str, code: i32) -> String {
    let out = run(home, args, &[], stdin);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    err
}

/// A home with a monitored household of two members, a visit, a screening and an attachment.
struct Home {
    _dir: tempfile::TempDir,
    path: PathBuf,
    household: String,
    member: String,
    visit: String,
}

fn home() -> Home {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("home");
    ok(&path, &["init", "--device", "desk-1"]);
    let household = ok(
        &path,
        &[
            "household",
            "add",
            "--number",
            "4306210010001",
            "--township",
            "石门镇",
            "--village",
            "石门村",
            "--head",
            "张建国",
            "--status",
            "monitored",
            "--alert",
            "yellow",
            "--risk",
            "illness",
        ],
    );
    let member = ok(
        &path,
        &[
            "member",
            "add",
            &household,
            "--name",
            "李秀英",
            "--sex",
            "female",
            "--birth",
            "1965-08-02",
            "--relation",
            "spouse",
            "--condition",
            "hypertension",
        ],
    );
    let visit = ok(
        &path,
        &[
            "visit",
            "add",
            "--household",
            &household,
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
    ok(
        &path,
        &[
            "screening",
            "add",
            "--household",
            &household,
            "--member",
            &member,
            "--screener",
            "doctor1",
            "--date",
            "2026-11-20",
            "--systolic",
            "150",
            "--diastolic",
            "95",
        ],
    );
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 0xFF, 0xD9]).unwrap();
    ok(&path, &["attach", &visit, photo.to_str().unwrap(), "--kind", "photo"]);
    Home { _dir: dir, path, household, member, visit }
}

/// Every command that lists or shows something, in words and as JSON.
fn list_commands(h: &Home) -> Vec<Vec<String>> {
    let words: Vec<Vec<&str>> = vec![
        vec!["status"],
        vec!["household", "list"],
        vec!["household", "show", &h.household],
        vec!["visit", "list", "--household", &h.household],
        vec!["screening", "list", "--member", &h.member],
        vec!["due", "--date", "2026-12-31"],
        vec!["conflicts"],
        vec!["attachments", &h.visit],
        vec!["set-aside"],
    ];
    let mut all = Vec::new();
    for args in words {
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        let mut json = args.clone();
        json.push("--json".into());
        all.push(args);
        all.push(json);
    }
    all
}

/// Runs a command whose stdout is a pipe nobody reads any more: the reader is closed before the command starts,
/// so its very first write meets a closed pipe, whatever the size of its output.
fn with_closed_reader(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    doorstep(home, args, env).stdin(Stdio::null()).stdout(writer).stderr(Stdio::piped()).output().unwrap()
}

fn assert_quiet_end(args: &[&str], out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    let code = out.status.code().or(out.status.signal().map(|s| 128 + s));
    assert!(matches!(code, Some(0) | Some(141)), "{args:?}: ended with {:?}: {err}", out.status);
}

#[test]
fn every_list_ends_quietly_when_its_reader_goes_away() {
    let h = home();
    for args in list_commands(&h) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for lang in ["zh", "en"] {
            let out = with_closed_reader(&h.path, &args, &[("LANG", lang)]);
            assert_quiet_end(&args, &out);
        }
    }
    // A command that records prints the id after saving: the record is kept although nobody read its id.
    let before = serde_json::from_str::<Value>(&ok(&h.path, &["status", "--json"])).unwrap()["pending"].as_u64();
    let args = ["household", "add", "--number", "4306210010002", "--village", "石门村", "--head", "王五"];
    assert_quiet_end(&args, &with_closed_reader(&h.path, &args, &[]));
    let after = serde_json::from_str::<Value>(&ok(&h.path, &["status", "--json"])).unwrap()["pending"].as_u64();
    assert_eq!(after, before.map(|n| n + 1));
    assert_quiet_end(&["--help"], &with_closed_reader(&h.path, &["--help"], &[]));

    // A reader that takes a little and leaves, as `| head -1` does, with more than a pipe's buffer (64 KiB) still
    // to come: six visits with the longest note each (4,000 characters, 12 KB).
    let note = "很".repeat(4000);
    for day in 21..27 {
        let date = format!("2026-11-{day}");
        ok(
            &h.path,
            &["visit", "add", "--household", &h.household, "--visitor", "helper1", "--date", &date, "--note", &note],
        );
    }
    let mut child = doorstep(&h.path, &["visit", "list", "--household", &h.household, "--json"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_quiet_end(&["visit", "list", "--json"], &out);
}

#[test]
fn a_closed_stderr_does_not_fail_a_command_that_worked() {
    let h = home();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = doorstep(
        &h.path,
        &[
            "screening",
            "add",
            "--household",
            &h.household,
            "--member",
            &h.member,
            "--screener",
            "doctor1",
            "--date",
            "2026-11-21",
            "--systolic",
            "185",
            "--diastolic",
            "112",
        ],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(writer)
    .output()
    .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 36, "the new screening's id");
}

#[test]
fn labels_follow_the_language_and_json_keeps_the_codes() {
    let h = home();
    let list = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["household", "list"];
        args.extend_from_slice(extra);
        ok_env(&h.path, &args, env)
    };
    let zh = list(&[], &["--lang", "zh"]);
    assert!(zh.contains("户编号") && zh.contains("脱贫监测户") && zh.contains("黄色预警"), "{zh}");
    assert!(!zh.contains("monitored") && !zh.contains("yellow"), "{zh}");
    let en = list(&[], &["--lang", "en"]);
    assert!(en.contains("number") && en.contains("Monitored (unstable after exit)") && en.contains("Yellow"), "{en}");
    assert!(!en.contains("脱贫监测户"), "{en}");

    // From the locale: LC_ALL before LC_MESSAGES before LANG; the flag before all of them; no language → Chinese.
    assert_eq!(list(&[("LANG", "zh_CN.UTF-8")], &[]), zh);
    assert_eq!(list(&[("LANG", "en_US.UTF-8")], &[]), en);
    assert_eq!(list(&[("LANG", "zh_CN.UTF-8"), ("LC_MESSAGES", "en_GB.UTF-8")], &[]), en);
    assert_eq!(list(&[("LC_ALL", "zh_CN.UTF-8"), ("LANG", "en_US.UTF-8")], &[]), zh);
    assert_eq!(list(&[("LANG", "en_US.UTF-8")], &["--lang", "zh"]), zh);
    assert_eq!(list(&[("LANG", "C.UTF-8")], &[]), zh);

    for env in [[("LANG", "zh_CN.UTF-8")], [("LANG", "en_US.UTF-8")]] {
        let json: Value = serde_json::from_str(&list(&env, &["--json"])).unwrap();
        assert_eq!((json[0]["status"].as_str(), json[0]["alert"].as_str()), (Some("monitored"), Some("yellow")));
        let detail: Value =
            serde_json::from_str(&ok_env(&h.path, &["household", "show", &h.household, "--json"], &env)).unwrap();
        assert_eq!(detail["household"]["risk_causes"][0], "illness");
        let screenings: Value =
            serde_json::from_str(&ok_env(&h.path, &["screening", "list", "--member", &h.member, "--json"], &env))
                .unwrap();
        assert_eq!(screenings[0]["classification"]["bp_grade"], "grade1");
    }

    let show_zh = ok_env(&h.path, &["household", "show", &h.household], &[("LANG", "zh_CN.UTF-8")]);
    for word in ["户类别: 脱贫监测户", "预警: 黄色预警", "因病", "配偶", "高血压", "月度走访"]
    {
        assert!(show_zh.contains(word), "{word}: {show_zh}");
    }
    let show_en = ok_env(&h.path, &["household", "show", &h.household], &[("LANG", "en_US.UTF-8")]);
    for word in ["status: Monitored (unstable after exit)", "alert: Yellow", "Illness", "Spouse", "Hypertension"] {
        assert!(show_en.contains(word), "{word}: {show_en}");
    }

    let screenings_zh = ok_env(&h.path, &["screening", "list", "--member", &h.member], &[("LANG", "zh_CN.UTF-8")]);
    assert!(screenings_zh.contains("1级高血压") && screenings_zh.contains("血压"), "{screenings_zh}");
    let screenings_en = ok_env(&h.path, &["screening", "list", "--member", &h.member], &[("LANG", "en_US.UTF-8")]);
    assert!(screenings_en.contains("Hypertension grade 1"), "{screenings_en}");

    let status_zh = ok_env(&h.path, &["status"], &[("LANG", "zh_CN.UTF-8")]);
    assert!(status_zh.contains("待上传更改: 5") && status_zh.contains("上次同步: 从未同步"), "{status_zh}");
    let status_en = ok_env(&h.path, &["status"], &[("LANG", "en_US.UTF-8")]);
    assert!(status_en.contains("pending changes: 5") && status_en.contains("last sync: never"), "{status_en}");

    let visits_en = ok_env(&h.path, &["visit", "list", "--household", &h.household], &[("LANG", "en_US.UTF-8")]);
    assert!(visits_en.contains("Monthly helper visit"), "{visits_en}");
    let attachments_zh = ok_env(&h.path, &["attachments", &h.visit], &[("LANG", "zh_CN.UTF-8")]);
    assert!(attachments_zh.contains("照片") && attachments_zh.contains("待上传"), "{attachments_zh}");

    // The classification printed when a screening is recorded.
    let out = run(
        &h.path,
        &[
            "screening",
            "add",
            "--household",
            &h.household,
            "--member",
            &h.member,
            "--screener",
            "doctor1",
            "--date",
            "2026-11-21",
            "--systolic",
            "185",
            "--diastolic",
            "112",
        ],
        &[("LANG", "zh_CN.UTF-8")],
        "",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("3级高血压") && err.contains("紧急转诊"), "{err}");
}

const TWO_MEMBERS: &str = r#"{
  "number": "4306210010003", "village": "石门村", "head_name": "张三", "poverty_status": "ordinary",
  "members": [
    {"name": "张三", "sex": "male", "birth_date": "1962-03-15", "relation": "head"},
    {"name": "李四", "sex": "female", "birth_date": "1965-02-30", "relation": "spouse", "national_id": "43062119650230002X"}
  ]
}"#;

#[test]
fn errors_name_the_member_and_the_date_as_typed() {
    let h = home();
    let err = fails(&h.path, &["household", "add", "--json", "-"], TWO_MEMBERS, 3);
    assert!(err.contains("members[2].birth_date: member 李四: 1965-02-30: February 1965 has 28 days"), "{err}");
    assert!(err.contains("1965-02-30：1965年2月只有28天"), "{err}");
    assert!(err.contains("members[2].national_id: member 李四: "), "{err}");
    assert!(!err.contains("members."), "no member named by an id the user never saw: {err}");

    let err = fails(&h.path, &["member", "add", &h.household, "--name", "王五", "--birth", "1990-13-01"], "", 3);
    assert!(err.contains("member.birth_date: member 王五: 1990-13-01: there is no month 13"), "{err}");
    assert!(!err.contains("members."), "{err}");

    let err = fails(&h.path, &["visit", "add", "--household", &h.household, "--date", "2026-02-30"], "", 3);
    assert!(err.contains("date: 2026-02-30: February 2026 has 28 days / 2026-02-30：2026年2月只有28天"), "{err}");
    let err = fails(&h.path, &["due", "--date", "2026-02-29"], "", 3);
    assert!(err.contains("2026-02-29: February 2026 has 28 days"), "{err}");
    // Nothing of it was saved.
    let status: Value = serde_json::from_str(&ok(&h.path, &["status", "--json"])).unwrap();
    assert_eq!(status["pending"], 5);
}
