//! A helper's day with the core alone: opens a temporary encrypted store, records a household, two visits and a
//! screening, and prints the household list, the due list and the classified screening in Chinese and English.
//!
//! Run it with `cargo run -p doorstep-core --example field_day`.

use doorstep_core::ffi::Doorstep;
use doorstep_core::model::{
    samples, AlertLevel, Condition, DoctorContract, PovertyStatus, Problem, ProblemStatus, Relation, Role, Sex,
    VisitKind,
};
use doorstep_core::query::HouseholdFilter;
use doorstep_core::schedule::DueKind;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("field.db");
    // On a phone the key comes from Android Keystore or the iOS Keychain; here it is a fixed demo key.
    let app = Doorstep::open(path.to_string_lossy().into(), vec![0x42; 32], "demo-phone".into())?;
    println!("加密台账已打开 / encrypted store opened: {}\n", path.display());

    // 张建国's household in 石门村, monitored after leaving poverty; his wife has hypertension under a contract.
    let mut household = samples::household();
    household.id.clear();
    household.poverty_status = PovertyStatus::Monitored;
    household.alert_level = Some(AlertLevel::Yellow);
    let mut son = samples::member("张小明", Sex::Male, "1990-06-18", Relation::Child, "430621");
    son.id.clear();
    son.conditions = vec![Condition::Diabetes];
    son.contract =
        Some(DoctorContract {
            team: "石门村家医团队".into(), signed_date: "2026-07-01".into(), renewal_date: None
        });
    household.members.insert("new".into(), son);
    let household_id = app.save_household(household)?;
    let saved = app.get_household(household_id.clone())?;
    let wife = saved.members.values().find(|m| m.name == "李秀英").ok_or("spouse missing")?.id.clone();
    let son = saved.members.values().find(|m| m.name == "张小明").ok_or("son missing")?.id.clone();

    // The helper's monthly visit finds a leaking roof; the family doctor follows up the wife.
    let mut monthly = samples::visit();
    monthly.id.clear();
    monthly.household_id = household_id.clone();
    monthly.date = "2026-11-05".into();
    monthly.problems.insert(
        "roof".into(),
        Problem {
            description: "屋顶漏雨".into(),
            assurance: Some(doorstep_core::model::AssuranceKind::Housing),
            status: ProblemStatus::Open,
            resolved_date: None,
            action: "报镇住建办".into(),
        },
    );
    app.save_visit(monthly)?;
    let mut follow_up = samples::visit();
    follow_up.id.clear();
    follow_up.household_id = household_id.clone();
    follow_up.member_id = Some(wife);
    follow_up.kind = VisitKind::DoctorFollowUp;
    follow_up.visitor = "doctor1".into();
    follow_up.visitor_role = Role::Doctor;
    follow_up.date = "2026-11-10".into();
    app.save_visit(follow_up)?;

    // The autumn campaign screens the son: very high blood pressure and glucose.
    let mut screening = samples::screening();
    screening.id.clear();
    screening.household_id = household_id.clone();
    screening.member_id = son.clone();
    screening.date = "2026-11-20".into();
    screening.campaign = Some("2026秋季慢病筛查".into());
    (screening.systolic, screening.diastolic, screening.glucose) = (Some(184.0), Some(112.0), Some(17.1));
    app.save_screening(screening)?;

    println!("户列表 / Household list");
    for h in app.list_households(HouseholdFilter::default())? {
        println!(
            "  {} {} {}  {} / {}  预警 alert: {}  人口 members: {}  最近走访 last visit: {}  待解决问题 open problems: {}",
            h.number,
            h.village,
            h.head_name,
            h.status.label_zh(),
            h.status.label_en(),
            h.alert.map_or("-".to_string(), |a| format!("{} / {}", a.label_zh(), a.label_en())),
            h.members,
            h.last_visit.as_deref().unwrap_or("-"),
            h.open_problems,
        );
    }

    let today = "2026-11-29";
    println!("\n待办 / Due on {today}");
    for item in app.due(today.into())? {
        let (zh, en) = match item.kind {
            DueKind::HelperVisit => ("帮扶走访", "helper visit"),
            DueKind::DoctorFollowUp => ("家医随访", "doctor follow-up"),
        };
        println!(
            "  {}{zh} / {en}: {} {}{}  by {}",
            if item.overdue { "[逾期 overdue] " } else { "" },
            item.household_number,
            item.head_name,
            item.member_name.map(|m| format!(" · {m}")).unwrap_or_default(),
            item.due_date,
        );
        println!("      {} / {}", item.reason_zh, item.reason_en);
    }

    println!("\n筛查结果 / Screening of 张小明");
    for s in app.screenings_of_member(son)? {
        let c = &s.classification;
        let label = |zh: Option<&str>, en: Option<&str>| match (zh, en) {
            (Some(zh), Some(en)) => format!("{zh} / {en}"),
            _ => "-".into(),
        };
        println!(
            "  {} 血压 BP {}/{} mmHg: {}",
            s.screening.date,
            s.screening.systolic.unwrap_or_default(),
            s.screening.diastolic.unwrap_or_default(),
            label(c.bp_grade.map(|g| g.label_zh()), c.bp_grade.map(|g| g.label_en()))
        );
        println!(
            "  空腹血糖 fasting glucose {} mmol/L: {}",
            s.screening.glucose.unwrap_or_default(),
            label(c.glucose_band.map(|g| g.label_zh()), c.glucose_band.map(|g| g.label_en()))
        );
        println!(
            "  BMI {}: {}",
            c.bmi.map_or("-".to_string(), |b| b.to_string()),
            label(c.bmi_band.map(|g| g.label_zh()), c.bmi_band.map(|g| g.label_en()))
        );
        println!(
            "  建议转诊 suggested referral: {} / {}",
            c.suggested_referral.label_zh(),
            c.suggested_referral.label_en()
        );
    }
    println!("\n待上传的变更 / changes waiting for the server: {}", app.pending_changes()?);
    Ok(())
}
