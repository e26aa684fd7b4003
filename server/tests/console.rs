//! The administration console with the real `doorstep-server` binary: places as data (add, rename, list), typos in
//! assignments refused with the name as typed and nothing changed, and the look-ups an admin finds households and
//! accounts with.

mod common;

use common::*;
use doorstep_core::model::{samples, Household};

/// A household with its own number and head, saved on the phone.
fn household(phone: &mut Phone, village: &str, number: &str, head: &str, helpers: &[&str]) -> Household {
    let mut h = samples::household();
    h.village = village.into();
    h.number = number.into();
    h.head_name = head.into();
    if let Some(m) = h.members.values_mut().find(|m| m.relation == doorstep_core::model::Relation::Head) {
        m.name = head.into();
    }
    h.helper_ids = helpers.iter().map(|s| s.to_string()).collect();
    phone.store.put(&h, TODAY).expect("put household");
    h
}

#[tokio::test]
async fn typos_in_assignments_are_refused_naming_what_was_typed_and_nothing_changes() {
    let dir = county();
    let d = dir.path();
    let server = Server::start(d);
    let mut phone = Phone::login(&server.url, "helper1").await;
    let h = household(&mut phone, "石门村", "4306210010001", "张建国", &["helper1"]);
    phone.sync_all(&server.url).await;
    let helper2_before = cli(d, &["user", "show", "helper2"]);

    let e = cli_fails(d, &["assign", "helper", "helper2", "no-such-household"]);
    assert!(e.contains("no household \"no-such-household\"") && e.contains("household list"), "{e}");
    let e = cli_fails(d, &["assign", "helper", "helper2", "4306210010002"]);
    assert!(e.contains("did you mean 4306210010001"), "a close household number is offered: {e}");
    let e = cli_fails(d, &["assign", "helper", "helpr2", &h.id]);
    assert!(e.contains("no user \"helpr2\"; did you mean helper2"), "{e}");
    let e = cli_fails(d, &["assign", "area", "super1", "--township", "不存在镇"]);
    assert!(e.contains("unknown township \"不存在镇\"") && e.contains("place list"), "{e}");
    let e = cli_fails(d, &["assign", "area", "super1", "--village", "石门材"]);
    assert!(e.contains("unknown village \"石门材\"; did you mean 石门村"), "{e}");
    let e = cli_fails(d, &["assign", "team", "T1", "白沙村", "石门材"]);
    assert!(e.contains("石门材"), "one unknown village refuses the whole command: {e}");
    let e = cli_fails(d, &["assign", "team", "T9", "白沙村"]);
    assert!(e.contains("no doctor is in team \"T9\"; did you mean T1"), "{e}");
    add_user(d, "insp1", "inspector", None);
    let e = cli_fails(d, &["grant", "inspector", "insp1", "青山材", "--until", "2099-01-01"]);
    assert!(e.contains("unknown village \"青山材\"; did you mean 青山村"), "{e}");
    let e = cli_fails(d, &["assign", "reassign", "no-such-household", "--from", "helper1", "--to", "helper2"]);
    assert!(e.contains("no-such-household"), "{e}");

    // Nothing changed: the supervisor's area, the team's villages, the helpers' households.
    assert!(cli(d, &["user", "show", "super1"]).contains("area\ttownship 石门镇\n"));
    assert!(cli(d, &["user", "show", "doctor1"]).contains("team villages\t石门村\n"));
    assert!(cli(d, &["user", "show", "insp1"]).contains("grants\t-\n"));
    assert_eq!(cli(d, &["user", "show", "helper2"]), helper2_before);

    // What is right goes through, by id or by household number.
    assert_eq!(cli(d, &["assign", "helper", "helper2", "4306210010001"]).trim(), "assigned");
    assert!(cli(d, &["user", "show", "helper2"]).contains(&format!("  {}\t4306210010001\t石门村\t张建国", h.id)));
}

#[tokio::test]
async fn places_are_added_listed_and_renamed_with_their_households_and_assignments() {
    let dir = county();
    let d = dir.path();
    let server = Server::start(d);
    assert_eq!(cli(d, &["place", "add-township", "西河乡"]).trim(), "added township 西河乡");
    assert_eq!(
        cli(d, &["place", "add-village", "柳树村", "--township", "西河乡"]).trim(),
        "added village 柳树村 (西河乡)"
    );
    assert!(cli_fails(d, &["place", "add-village", "柳树村", "--township", "西河乡"]).contains("exists already"));
    let e = cli_fails(d, &["place", "add-village", "桃树村", "--township", "西河镇"]);
    assert!(e.contains("unknown township \"西河镇\"; did you mean 西河乡"), "{e}");
    assert!(cli_fails(d, &["place", "add-township", " 空格镇"]).contains("no spaces at either end"));

    // A helper's phone places a household in 石门村 and another in a village nobody added: both are kept.
    let mut phone = Phone::login(&server.url, "helper1").await;
    let a = household(&mut phone, "石门村", "4306210010001", "张建国", &["helper1"]);
    household(&mut phone, "未登记村", "4306210019999", "赵六", &["helper1"]);
    phone.sync_all(&server.url).await;
    assert!(phone.pending().is_empty(), "both households were accepted");
    let list = cli(d, &["place", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines.contains(&"township\t西河乡\t-\t0 households\tadded"), "{list}");
    assert!(lines.contains(&"village\t石门村\t石门镇\t1 households\tadded"), "{list}");
    assert!(
        lines.iter().any(|l| l.starts_with("village\t未登记村\t石门镇\t1 households\treported by a device")),
        "{list}"
    );
    let first_village = lines.iter().position(|l| l.starts_with("village")).unwrap();
    assert!(lines[..first_village].iter().all(|l| l.starts_with("township")), "townships first: {list}");
    assert_eq!(
        cli(d, &["place", "add-village", "未登记村", "--township", "石门镇"]).trim(),
        "confirmed village 未登记村 (石门镇)"
    );
    assert!(cli(d, &["place", "list"]).contains("village\t未登记村\t石门镇\t1 households\tadded"));

    // A village misspelt on a phone is corrected onto the known one: its household moves there.
    let typo = household(&mut phone, "石门材", "4306210018888", "钱七", &["helper1"]);
    phone.sync_all(&server.url).await;
    let out = cli(d, &["place", "rename", "village", "石门材", "石门村"]);
    assert_eq!(out.trim(), "renamed village 石门材 to 石门村; 1 households moved");
    assert!(cli(d, &["household", "show", &typo.id]).contains("place\t石门村, 石门镇"));
    assert!(cli(d, &["place", "list"]).contains("village\t石门村\t石门镇\t2 households\tadded"));
    assert!(!cli(d, &["place", "list"]).contains("石门材"));

    // Renaming 石门村 moves its household (the document itself), the team's villages and the supervisor's view.
    assert!(cli_fails(d, &["place", "rename", "village", "石门材", "石门新村"]).contains("did you mean 石门村"));
    assert!(cli_fails(d, &["place", "rename", "village", "石门村", "白沙村"]).contains("exists already"));
    let out = cli(d, &["place", "rename", "village", "石门村", "石门新村"]);
    assert_eq!(out.trim(), "renamed village 石门村 to 石门新村; 2 households moved");
    assert!(cli(d, &["household", "show", &a.id]).contains("place\t石门新村, 石门镇"));
    assert!(cli(d, &["user", "show", "doctor1"]).contains("team villages\t石门新村\n"));
    assert!(cli(d, &["place", "list"]).contains("village\t石门新村\t石门镇\t2 households\tadded"));
    assert!(!cli(d, &["place", "list"]).contains("\t石门村\t"), "the old name is gone");
    // The helper's phone receives the new name at its next sync.
    phone.sync_all(&server.url).await;
    let on_phone: Household = phone.store.get(&a.id).expect("household on the phone");
    assert_eq!(on_phone.village, "石门新村");
    // The doctor's team still sees it under the new name.
    let mut doctor = Phone::login(&server.url, "doctor1").await;
    doctor.sync_all(&server.url).await;
    assert!(doctor.doc_ids().contains(&a.id), "the team keeps the renamed village's household");

    // A township rename carries its villages.
    cli(d, &["place", "rename", "township", "石门镇", "石门新镇"]);
    let list = cli(d, &["place", "list"]);
    assert!(list.contains("village\t石门新村\t石门新镇\t2 households"), "{list}");
    assert!(cli(d, &["user", "show", "super1"]).contains("area\ttownship 石门新镇\n"));
}

#[tokio::test]
async fn households_are_found_by_village_number_and_name_and_shown_with_members_and_visits() {
    let dir = county();
    let d = dir.path();
    let server = Server::start(d);
    let mut phone = Phone::login(&server.url, "helper1").await;
    let a = household(&mut phone, "石门村", "4306210010001", "张建国", &["helper1"]);
    let b = household(&mut phone, "石门村", "4306210010002", "王秀兰", &["helper1"]);
    let c = household(&mut phone, "白沙村", "4306210020001", "刘大海", &["helper1"]);
    let mut v = samples::visit();
    v.household_id = a.id.clone();
    v.date = "2026-11-20".into();
    phone.store.put(&v, TODAY).expect("visit");
    phone.sync_all(&server.url).await;

    let ids = |out: String| -> Vec<String> { out.lines().map(|l| l.split('\t').next().unwrap().to_string()).collect() };
    assert_eq!(ids(cli(d, &["household", "list", "--village", "石门村"])), [a.id.clone(), b.id.clone()]);
    assert_eq!(ids(cli(d, &["household", "list", "--number", "43062100200"])), [c.id.clone()]);
    assert_eq!(ids(cli(d, &["household", "list", "--name", "秀兰"])), [b.id.clone()]);
    assert_eq!(ids(cli(d, &["household", "list", "--village", "白沙村", "--name", "秀兰"])), Vec::<String>::new());
    let all = cli(d, &["household", "list"]);
    assert!(
        all.contains(&format!("{}\t4306210020001\t白沙村\t刘大海\tregistered_poor 建档立卡贫困户\thelper1", c.id)),
        "{all}"
    );

    let show = cli(d, &["household", "show", "4306210010001"]);
    assert!(show.contains(&format!("id\t{}\n", a.id)), "{show}");
    assert!(show.contains("helpers\thelper1\n") && show.contains("place\t石门村, 石门镇"), "{show}");
    assert!(show.contains("  张建国\thead 户主") && show.contains("  李秀英\tspouse 配偶"), "members: {show}");
    assert!(!show.contains("430621196203"), "national ids are masked: {show}");
    assert!(show.contains(&format!("  2026-11-20\tmonthly 月度走访\thelper1\t{}", v.id)), "last visits: {show}");
    assert_eq!(show, cli(d, &["household", "show", &a.id]), "by number or by id alike");
    let e = cli_fails(d, &["household", "show", "4306210010009"]);
    assert!(e.contains("no household \"4306210010009\"") && e.contains("did you mean"), "{e}");
}

#[tokio::test]
async fn an_account_is_shown_with_its_assignments_and_devices_last_sync_as_local_times() {
    let dir = county();
    let d = dir.path();
    let server = Server::start(d);
    let mut phone = Phone::login(&server.url, "helper1").await;
    let a = household(&mut phone, "石门村", "4306210010001", "张建国", &["helper1"]);
    phone.sync_all(&server.url).await;
    let show = cli(d, &["user", "show", "helper1"]);
    assert!(show.starts_with("user\thelper1\nrole\thelper 帮扶责任人\n"), "{show}");
    assert!(show.contains("households\t1\n") && show.contains(&format!("  {}\t4306210010001\t石门村", a.id)), "{show}");
    let device = show.lines().find(|l| l.contains(&phone.device_id)).expect("the phone is listed");
    let local = regex_like_local_time(device.rsplit("last sync ").next().unwrap());
    assert!(local, "a local date and time, not milliseconds: {device}");
    assert!(cli(d, &["user", "show", "super1"]).contains("area\ttownship 石门镇\n"));
    assert!(cli(d, &["user", "show", "admin"]).contains("devices: none"));
    assert!(cli_fails(d, &["user", "show", "helpr1"]).contains("no user \"helpr1\"; did you mean helper1"));

    let devices = cli(d, &["device", "list"]);
    let line = devices.lines().find(|l| l.starts_with(&phone.device_id)).expect("listed");
    assert!(regex_like_local_time(line.rsplit("last sync ").next().unwrap()), "{line}");
    assert!(!line.split('\t').any(|f| f.len() >= 12 && f.chars().all(|c| c.is_ascii_digit())), "no epoch ms: {line}");
}

/// `YYYY-MM-DD HH:MM`.
fn regex_like_local_time(s: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M").is_ok()
}

/// `YYYY-MM-DD` `days` from today on this machine's clock (the server's `today`).
fn day(days: i64) -> String {
    (chrono::Local::now().date_naive() + chrono::Duration::days(days)).format("%Y-%m-%d").to_string()
}

#[test]
fn accounts_and_rules_on_the_console_refuse_what_cannot_be() {
    let dir = county();
    let d = dir.path();
    // Names and units; an unknown account is named with the closest ones.
    cli(d, &["user", "set", "helper1", "--display-name", "王秀英", "--unit", "石门镇人民政府"]);
    assert!(cli(d, &["user", "list"])
        .lines()
        .any(|l| l.starts_with("helper1\t") && l.ends_with("\t王秀英\t石门镇人民政府")));
    let e = cli_fails(d, &["user", "set", "helpr1", "--unit", "x"]);
    assert!(e.contains("no user \"helpr1\"; did you mean helper1"), "{e}");
    let e = cli_fails(d, &["user", "show", "helpr1"]);
    assert!(e.contains("did you mean helper1"), "{e}");
    // A reset password is too short, or is set and must be changed before a phone may sign in with it.
    assert!(cli_fails(d, &["user", "reset-password", "helper1", "--password", "short"]).contains("8 to 1024"));
    cli(d, &["user", "reset-password", "helper1", "--password", "temporary-1"]);
    let e = cli_fails(d, &["user", "enable", "nobody-here"]);
    assert!(e.contains("no user \"nobody-here\""), "{e}");
    cli(d, &["user", "disable", "helper2"]);
    cli(d, &["user", "enable", "helper2"]);
    assert!(cli(d, &["user", "list"])
        .lines()
        .any(|l| l.starts_with("helper2\t") && l.split('\t').nth(3) == Some("active")));

    // Rules: a version from a day ahead, then an earlier day is refused naming the field; an unknown status too.
    let ahead = day(10);
    let json = cli(d, &["rules", "set", "--monthly-visits", "2", "--effective-from", &ahead]);
    assert!(json.contains(&format!("\"effective_from\": \"{ahead}\"")), "{json}");
    let e = cli_fails(d, &["rules", "set", "--monthly-visits", "3", "--effective-from", &day(0)]);
    assert!(e.contains("effective_from"), "an earlier day than the rules in force is refused: {e}");
    let e = cli_fails(d, &["rules", "set", "--monthly-visit-statuses", "registered_poor,rich"]);
    assert!(e.contains("unknown status \"rich\""), "{e}");
    let shown = cli(d, &["rules", "show"]);
    assert!(
        shown.contains("\"monthly_visits\": 2") && shown.contains("\"history\""),
        "the earlier version is kept: {shown}"
    );
}

/// The demo says what it could not do, naming the path or the address, and exits non-zero: a data directory
/// inside a file, a port already taken.
#[test]
fn the_demo_names_what_it_could_not_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "x").expect("a file");
    let demo = |data: &std::path::Path, listen: &str| {
        let out = std::process::Command::new(BIN)
            .env_remove("DOORSTEP_DATABASE")
            .env_remove("DOORSTEP_DATA")
            .args(["demo", "--size", "small", "--listen", listen, "--data"])
            .arg(data)
            .output()
            .expect("run the demo");
        assert!(!out.status.success(), "the demo should have failed");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = demo(&file.join("county"), "127.0.0.1:0");
    assert!(err.contains("creating the data directory") && err.contains("not-a-directory"), "{err}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address").to_string();
    let err = demo(&dir.path().join("county"), &addr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}
