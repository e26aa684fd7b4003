//! Record commands: households, members, visits, screenings, the due list and conflicts. Each builds the core's
//! model type (from `--json` or a blank one), applies the flags, and calls the same `Doorstep` methods the apps use;
//! validation is the core's, so errors name the same fields as on the phone.

use crate::fail::{CliError, CliResult};
use crate::input::{blank, name_members, read_json, record, record_with_paths, MemberPaths};
use crate::lang::{self, t, Lang};
use crate::output::{local_time, print_json, table};
use crate::{errln, label, outln};
use clap::{Args, Subcommand};
use doorstep_core::ffi::Doorstep;
use doorstep_core::model::*;
use doorstep_core::query::HouseholdFilter;
use serde_json::json;

/// Parses an enum flag by its code (or label), naming the flag and the accepted codes when it does not fit.
macro_rules! parse_enum {
    ($ty:ty, $flag:expr, $value:expr) => {
        <$ty>::parse($value).ok_or_else(|| {
            CliError::field(
                $flag,
                format!(
                    "{:?} is not one of: {}",
                    $value,
                    <$ty>::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
                ),
            )
        })
    };
}

fn parse_enums<T>(flag: &str, values: &[String], parse: impl Fn(&str) -> Option<T>, all: &[&str]) -> CliResult<Vec<T>> {
    values
        .iter()
        .map(|v| parse(v).ok_or_else(|| CliError::field(flag, format!("{v:?} is not one of: {}", all.join(", ")))))
        .collect()
}

fn codes<T: Copy>(all: &[T], code: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| code(*v)).collect()
}

// ---------------------------------------------------------------- households

#[derive(Subcommand, Debug)]
pub enum HouseholdCmd {
    /// Record a new household (flags, or `--json FILE|-` for a whole record; flags override the JSON).
    Add(HouseholdInput),
    /// List households, filtered.
    List {
        #[arg(long)]
        village: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        alert: Option<String>,
        /// Matches number, names, village, hamlet, address or a masked ID.
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        helper: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A household with members, last visits, open problems, screenings and conflicts.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change fields of a household (only the fields given change), or replace it with `--json`.
    Edit {
        id: String,
        #[command(flatten)]
        input: HouseholdInput,
    },
}

#[derive(Args, Debug, Default)]
pub struct HouseholdInput {
    /// A whole household as JSON (file, or `-` for stdin).
    #[arg(long = "json", value_name = "FILE|-")]
    json: Option<String>,
    /// Household number (户编号).
    #[arg(long)]
    number: Option<String>,
    #[arg(long)]
    township: Option<String>,
    #[arg(long)]
    village: Option<String>,
    #[arg(long)]
    hamlet: Option<String>,
    #[arg(long)]
    address: Option<String>,
    /// Name of the head of household (户主).
    #[arg(long)]
    head: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    /// Poverty status code: ordinary, registered_poor, lifted, monitored, edge.
    #[arg(long)]
    status: Option<String>,
    /// Alert level (monitored and edge households): red, yellow, blue, or "" to lift it. A change is recorded in
    /// the alert history with --on and --reason.
    #[arg(long)]
    alert: Option<String>,
    /// With --status: the transition's event (identified, exited, relapsed, risk_eliminated). A status change is
    /// saved only with its dated transition.
    #[arg(long)]
    event: Option<String>,
    /// Date of the status transition or alert change (default today).
    #[arg(long = "on", value_name = "YYYY-MM-DD")]
    on: Option<String>,
    /// Reason of the status transition or alert change.
    #[arg(long)]
    reason: Option<String>,
    /// The senior second helper, one of the household's helpers (a red alert needs one).
    #[arg(long)]
    senior_helper: Option<String>,
    /// Risk cause codes (repeat the flag); replaces the list.
    #[arg(long = "risk")]
    risks: Vec<String>,
    /// Assigned helper user names (repeat the flag); replaces the list.
    #[arg(long = "helper")]
    helpers: Vec<String>,
    #[arg(long)]
    doctor_team: Option<String>,
}

impl HouseholdInput {
    fn apply(&self, h: &mut Household) -> CliResult<()> {
        let set = |field: &mut String, v: &Option<String>| {
            if let Some(v) = v {
                *field = v.clone();
            }
        };
        set(&mut h.number, &self.number);
        set(&mut h.township, &self.township);
        set(&mut h.village, &self.village);
        set(&mut h.hamlet, &self.hamlet);
        set(&mut h.address, &self.address);
        set(&mut h.head_name, &self.head);
        set(&mut h.phone, &self.phone);
        set(&mut h.doctor_team, &self.doctor_team);
        let on = self.on.clone().unwrap_or_else(doorstep_core::store::today);
        let reason = self.reason.clone().unwrap_or_default();
        if let Some(s) = &self.status {
            h.poverty_status = parse_enum!(PovertyStatus, "--status", s.as_str())?;
        }
        if let Some(e) = &self.event {
            // The dated transition the core requires of a status change (without it the save names status_history).
            h.status_history.push(StatusTransition {
                date: on.clone(),
                event: parse_enum!(TransitionEvent, "--event", e.as_str())?,
                to_status: h.poverty_status,
                reason: reason.clone(),
            });
        }
        if let Some(a) = &self.alert {
            let level = if a.is_empty() { None } else { Some(parse_enum!(AlertLevel, "--alert", a.as_str())?) };
            if level != h.alert_level {
                // Only the level, date and reason vary, so the CLI records the change itself.
                h.alert_history.push(AlertChange { date: on, level, reason });
            }
            h.alert_level = level;
        }
        if !self.risks.is_empty() {
            h.risk_causes =
                parse_enums("--risk", &self.risks, RiskCause::parse, &codes(RiskCause::ALL, RiskCause::code))?;
        }
        if !self.helpers.is_empty() {
            h.helper_ids = self.helpers.clone();
        }
        set(&mut h.senior_helper, &self.senior_helper);
        Ok(())
    }
}

pub fn household(app: &Doorstep, cmd: HouseholdCmd) -> CliResult<()> {
    match cmd {
        HouseholdCmd::Add(input) => {
            let (mut h, paths): (Household, MemberPaths) = match &input.json {
                Some(src) => record_with_paths("household", read_json(src)?)?,
                None => blank(
                    "household",
                    json!({"number": "", "village": "", "head_name": "", "poverty_status": "ordinary"}),
                )
                .map(|h| (h, MemberPaths::new()))?,
            };
            input.apply(&mut h)?;
            if h.helper_ids.is_empty() && signed_in_role(app).as_deref() == Some("helper") {
                h.helper_ids = signed_in_user(app).into_iter().collect();
            }
            outln!("{}", app.save_household(h).map_err(|e| name_members(e, &paths))?);
            Ok(())
        }
        HouseholdCmd::Edit { id, input } => {
            let (mut h, paths) = match &input.json {
                Some(src) => record_with_paths::<Household>("household", read_json(src)?)?,
                None => (app.get_household(id.clone())?, MemberPaths::new()),
            };
            h.id = id;
            input.apply(&mut h)?;
            outln!("{}", app.save_household(h).map_err(|e| name_members(e, &paths))?);
            Ok(())
        }
        HouseholdCmd::List { village, status, alert, text, helper, json } => {
            let filter = HouseholdFilter {
                village,
                status: status.map(|s| parse_enum!(PovertyStatus, "--status", s.as_str())).transpose()?,
                alert: alert.map(|a| parse_enum!(AlertLevel, "--alert", a.as_str())).transpose()?,
                text,
                helper,
            };
            let list = app.list_households(filter)?;
            if json {
                return print_json(&list);
            }
            let rows = list
                .iter()
                .map(|h| {
                    vec![
                        h.id.clone(),
                        h.number.clone(),
                        h.village.clone(),
                        h.head_name.clone(),
                        label!(h.status).into(),
                        h.alert.map(|a| label!(a).to_string()).unwrap_or_default(),
                        h.members.to_string(),
                        h.last_visit.clone().unwrap_or_default(),
                        h.open_problems.to_string(),
                    ]
                })
                .collect();
            let header = match lang::current() {
                Lang::Zh => ["编号", "户编号", "村", "户主", "户类别", "预警", "人口", "上次走访", "待解决问题"],
                Lang::En => {
                    ["id", "number", "village", "head", "status", "alert", "members", "last visit", "open problems"]
                }
            };
            table(&header, rows);
            Ok(())
        }
        HouseholdCmd::Show { id, json } => {
            let d = app.household_detail(id)?;
            if json {
                return print_json(&d);
            }
            let h = &d.household;
            outln!("{} {} — {} {} {}", h.number, h.head_name, h.township, h.village, h.hamlet);
            outln!("{}: {}", t("编号", "id"), h.id);
            outln!("{}: {}", t("户类别", "status"), label!(h.poverty_status));
            if let Some(a) = h.alert_level {
                outln!("{}: {}", t("预警", "alert"), label!(a));
            }
            if !h.risk_causes.is_empty() {
                let causes: Vec<&str> = h.risk_causes.iter().map(|c| label!(c)).collect();
                outln!("{}: {}", t("风险类型", "risks"), causes.join(t("、", ", ")));
            }
            outln!(
                "{}: {}   {}: {}   {}: {}",
                t("帮扶责任人", "helpers"),
                h.helper_ids.join(", "),
                t("家医团队", "doctor team"),
                h.doctor_team,
                t("电话", "phone"),
                h.phone
            );
            let mut members: Vec<&Member> = h.members.values().collect();
            members.sort_by(|a, b| a.birth_date.cmp(&b.birth_date).then(a.id.cmp(&b.id)));
            outln!("{}:", t("成员", "members"));
            for m in members {
                let conditions: Vec<&str> = m.conditions.iter().map(|c| label!(c)).collect();
                outln!(
                    "  {}  {} {} {} {} {} {}",
                    m.id,
                    m.name,
                    label!(m.sex),
                    m.birth_date,
                    label!(m.relation),
                    mask_national_id(&m.national_id),
                    conditions.join(t("、", ", "))
                );
            }
            outln!("{}:", t("最近走访", "last visits"));
            for v in &d.last_visits {
                outln!("  {}  {} {} {} {}", v.id, v.date, label!(v.kind), v.visitor, v.note);
            }
            outln!("{}: {}", t("待解决问题", "open problems"), d.open_problems.len());
            for p in &d.open_problems {
                outln!("  {} {} ({})", p.date, p.description, label!(p.status));
            }
            outln!("{}: {}", t("筛查", "screenings"), d.screenings.len());
            outln!("{}: {}", t("冲突", "conflicts"), d.conflicts.len());
            for c in &d.conflicts {
                outln!(
                    "  {}: {}",
                    c.field,
                    c.values.iter().map(|v| format!("{} ({})", v.value_json, v.user)).collect::<Vec<_>>().join(" | ")
                );
            }
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- members

#[derive(Subcommand, Debug)]
pub enum MemberCmd {
    /// Add a member to a household (or replace the member with the same id from `--json`); prints its id.
    Add(MemberInput),
}

#[derive(Args, Debug)]
pub struct MemberInput {
    /// The household's id.
    household: String,
    #[arg(long = "json", value_name = "FILE|-")]
    json: Option<String>,
    #[arg(long)]
    name: Option<String>,
    /// male, female or unknown.
    #[arg(long)]
    sex: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long)]
    birth: Option<String>,
    /// Relation to the head: head, spouse, child, …
    #[arg(long)]
    relation: Option<String>,
    /// 18-character national ID number (身份证号).
    #[arg(long)]
    national_id: Option<String>,
    /// Condition codes (repeat the flag), e.g. hypertension, diabetes.
    #[arg(long = "condition")]
    conditions: Vec<String>,
    #[arg(long)]
    insured: Option<bool>,
}

pub fn member(app: &Doorstep, cmd: MemberCmd) -> CliResult<()> {
    let MemberCmd::Add(input) = cmd;
    let mut m: Member = match &input.json {
        Some(src) => record("member", read_json(src)?)?,
        None => blank("member", json!({"name": "", "sex": "unknown", "birth_date": "", "relation": "other"}))?,
    };
    if let Some(v) = &input.name {
        m.name = v.clone();
    }
    if let Some(v) = &input.sex {
        m.sex = parse_enum!(Sex, "--sex", v.as_str())?;
    }
    if let Some(v) = &input.birth {
        m.birth_date = v.clone();
    }
    if let Some(v) = &input.relation {
        m.relation = parse_enum!(Relation, "--relation", v.as_str())?;
    }
    if let Some(v) = &input.national_id {
        m.national_id = v.clone();
    }
    if !input.conditions.is_empty() {
        m.conditions =
            parse_enums("--condition", &input.conditions, Condition::parse, &codes(Condition::ALL, Condition::code))?;
    }
    if let Some(v) = input.insured {
        m.insured = v;
    }
    // The id is given here, not by the core, so that errors can name this member as the one being added.
    if m.id.is_empty() {
        m.id = new_id();
    }
    let paths = vec![(m.id.clone(), "member".to_string())];
    outln!("{}", app.save_member(input.household, m).map_err(|e| name_members(e, &paths))?);
    Ok(())
}

// ---------------------------------------------------------------- visits

#[derive(Subcommand, Debug)]
pub enum VisitCmd {
    /// Record a visit; prints its id.
    Add(Box<VisitInput>),
    /// Visits of a household, newest first.
    List {
        #[arg(long)]
        household: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct VisitInput {
    #[arg(long = "json", value_name = "FILE|-")]
    json: Option<String>,
    #[arg(long)]
    household: Option<String>,
    /// The member visited (required for a doctor follow-up).
    #[arg(long)]
    member: Option<String>,
    /// monthly, doctor_follow_up, verification, cross_check, campaign_screening, condolence.
    #[arg(long)]
    kind: Option<String>,
    /// YYYY-MM-DD (default today).
    #[arg(long)]
    date: Option<String>,
    /// HH:MM.
    #[arg(long)]
    time: Option<String>,
    /// Visitor's user name (default the signed-in user).
    #[arg(long)]
    visitor: Option<String>,
    /// Visitor's role (default the signed-in role, else helper).
    #[arg(long)]
    role: Option<String>,
    /// An assurance finding NAME=STATUS[:note] (repeat), e.g. water=problem:"well dry"; names food, clothing,
    /// education, medical, housing, water; statuses ok, problem, n_a, not_checked.
    #[arg(long = "assurance")]
    assurances: Vec<String>,
    /// A problem found (repeat), recorded open.
    #[arg(long = "problem")]
    problems: Vec<String>,
    #[arg(long)]
    note: Option<String>,
    #[arg(long)]
    signed: Option<bool>,
}

fn apply_assurance(findings: &mut Assurances, spec: &str) -> CliResult<()> {
    let (name, rest) = spec
        .split_once('=')
        .ok_or_else(|| CliError::field("--assurance", format!("{spec:?} is not NAME=STATUS[:note]")))?;
    let (status, note) = rest.split_once(':').unwrap_or((rest, ""));
    let check = AssuranceCheck { status: parse_enum!(AssuranceStatus, "--assurance", status)?, note: note.to_string() };
    let slot = match name {
        "food" => &mut findings.food,
        "clothing" => &mut findings.clothing,
        "education" => &mut findings.education,
        "medical" => &mut findings.medical,
        "housing" => &mut findings.housing,
        "water" => &mut findings.water,
        other => {
            return Err(CliError::field(
                "--assurance",
                format!("{other:?} is not one of: food, clothing, education, medical, housing, water"),
            ))
        }
    };
    *slot = check;
    Ok(())
}

pub fn visit(app: &Doorstep, cmd: VisitCmd) -> CliResult<()> {
    match cmd {
        VisitCmd::Add(input) => {
            let mut v: Visit = match &input.json {
                Some(src) => record("visit", read_json(src)?)?,
                None => blank(
                    "visit",
                    json!({"household_id": "", "visitor": "", "visitor_role": "helper", "date": "", "kind": "monthly"}),
                )?,
            };
            if input.json.is_none() {
                v.visitor = signed_in_user(app).unwrap_or_default();
                if let Some(role) = signed_in_role(app).as_deref().and_then(Role::parse) {
                    v.visitor_role = role;
                }
                v.date = doorstep_core::store::today();
            }
            if let Some(x) = &input.household {
                v.household_id = x.clone();
            }
            if let Some(x) = &input.member {
                v.member_id = Some(x.clone());
            }
            if let Some(x) = &input.kind {
                v.kind = parse_enum!(VisitKind, "--kind", x.as_str())?;
            }
            if let Some(x) = &input.date {
                v.date = x.clone();
            }
            if let Some(x) = &input.time {
                v.time = x.clone();
            }
            if let Some(x) = &input.visitor {
                v.visitor = x.clone();
            }
            if let Some(x) = &input.role {
                v.visitor_role = parse_enum!(Role, "--role", x.as_str())?;
            }
            for spec in &input.assurances {
                apply_assurance(&mut v.findings, spec)?;
            }
            for description in &input.problems {
                let problem = Problem {
                    description: description.clone(),
                    assurance: None,
                    status: ProblemStatus::Open,
                    resolved_date: None,
                    action: String::new(),
                };
                v.problems.insert(new_id(), problem);
            }
            if let Some(x) = &input.note {
                v.note = x.clone();
            }
            if let Some(x) = input.signed {
                v.signed_by_household = x;
            }
            if !v.household_id.is_empty() {
                app.get_household(v.household_id.clone()).map_err(|_| {
                    CliError::field("household_id", format!("{} is not a household on this device", v.household_id))
                })?;
            }
            outln!("{}", app.save_visit(v)?);
            Ok(())
        }
        VisitCmd::List { household, json } => {
            let visits = app.visits_of_household(household)?;
            if json {
                return print_json(&visits);
            }
            let rows = visits
                .iter()
                .map(|v| {
                    vec![
                        v.id.clone(),
                        v.date.clone(),
                        label!(v.kind).into(),
                        v.visitor.clone(),
                        v.problems.len().to_string(),
                        v.note.clone(),
                    ]
                })
                .collect();
            let header = match lang::current() {
                Lang::Zh => ["编号", "日期", "类型", "走访人", "问题", "备注"],
                Lang::En => ["id", "date", "kind", "visitor", "problems", "note"],
            };
            table(&header, rows);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- screenings

#[derive(Subcommand, Debug)]
pub enum ScreeningCmd {
    /// Record a screening result; prints its id and classification.
    Add(Box<ScreeningInput>),
    /// Screenings of a member with their classification, newest first.
    List {
        #[arg(long)]
        member: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct ScreeningInput {
    #[arg(long = "json", value_name = "FILE|-")]
    json: Option<String>,
    #[arg(long)]
    household: Option<String>,
    #[arg(long)]
    member: Option<String>,
    /// YYYY-MM-DD (default today).
    #[arg(long)]
    date: Option<String>,
    /// Screener's user name (default the signed-in user).
    #[arg(long)]
    screener: Option<String>,
    /// mmHg.
    #[arg(long)]
    systolic: Option<f64>,
    /// mmHg.
    #[arg(long)]
    diastolic: Option<f64>,
    #[arg(long)]
    heart_rate: Option<f64>,
    /// mmol/L.
    #[arg(long)]
    glucose: Option<f64>,
    /// fasting, random or post_meal_2h.
    #[arg(long)]
    glucose_kind: Option<String>,
    #[arg(long)]
    height: Option<f64>,
    #[arg(long)]
    weight: Option<f64>,
    #[arg(long)]
    waist: Option<f64>,
    #[arg(long)]
    campaign: Option<String>,
    #[arg(long)]
    findings: Option<String>,
    /// none, routine or urgent.
    #[arg(long)]
    referral: Option<String>,
}

/// A screening's classification in words: blood-pressure grade, glucose and BMI bands, suggested referral.
fn classification_line(c: &Classification) -> String {
    let opt = |s: Option<&str>| s.unwrap_or("-").to_string();
    match lang::current() {
        Lang::Zh => format!(
            "血压 {}  血糖 {}  BMI {} {}  {}{}",
            opt(c.bp_grade.map(|g| label!(g))),
            opt(c.glucose_band.map(|g| label!(g))),
            c.bmi.map(|b| format!("{b:.1}")).unwrap_or("-".into()),
            opt(c.bmi_band.map(|g| label!(g))),
            label!(c.suggested_referral),
            if c.abnormal { "  异常" } else { "" }
        ),
        Lang::En => format!(
            "BP {}  glucose {}  BMI {} {}  referral {}{}",
            opt(c.bp_grade.map(|g| label!(g))),
            opt(c.glucose_band.map(|g| label!(g))),
            c.bmi.map(|b| format!("{b:.1}")).unwrap_or("-".into()),
            opt(c.bmi_band.map(|g| label!(g))),
            label!(c.suggested_referral),
            if c.abnormal { "  ABNORMAL" } else { "" }
        ),
    }
}

pub fn screening(app: &Doorstep, cmd: ScreeningCmd) -> CliResult<()> {
    match cmd {
        ScreeningCmd::Add(i) => {
            let mut s: Screening = match &i.json {
                Some(src) => record("screening", read_json(src)?)?,
                None => blank("screening", json!({"household_id": "", "member_id": "", "date": "", "screener": ""}))?,
            };
            if i.json.is_none() {
                s.screener = signed_in_user(app).unwrap_or_default();
                s.date = doorstep_core::store::today();
            }
            let text = |slot: &mut String, v: &Option<String>| {
                if let Some(v) = v {
                    *slot = v.clone();
                }
            };
            text(&mut s.household_id, &i.household);
            text(&mut s.member_id, &i.member);
            text(&mut s.date, &i.date);
            text(&mut s.screener, &i.screener);
            text(&mut s.findings, &i.findings);
            for (slot, v) in [
                (&mut s.systolic, i.systolic),
                (&mut s.diastolic, i.diastolic),
                (&mut s.heart_rate, i.heart_rate),
                (&mut s.glucose, i.glucose),
                (&mut s.height_cm, i.height),
                (&mut s.weight_kg, i.weight),
                (&mut s.waist_cm, i.waist),
            ] {
                if v.is_some() {
                    *slot = v;
                }
            }
            if let Some(k) = &i.glucose_kind {
                s.glucose_kind = parse_enum!(GlucoseKind, "--glucose-kind", k.as_str())?;
            }
            if let Some(r) = &i.referral {
                s.referral.level = parse_enum!(ReferralLevel, "--referral", r.as_str())?;
            }
            if i.campaign.is_some() {
                s.campaign = i.campaign.clone();
            }
            let c = doorstep_core::ffi::classify_screening(s.clone());
            let id = app.save_screening(s)?;
            outln!("{id}");
            errln!("{}", classification_line(&c));
            Ok(())
        }
        ScreeningCmd::List { member, json } => {
            let list = app.screenings_of_member(member)?;
            if json {
                return print_json(&list);
            }
            let num = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
            let rows = list
                .iter()
                .map(|cs| {
                    let s = &cs.screening;
                    vec![
                        s.id.clone(),
                        s.date.clone(),
                        format!("{}/{}", num(s.systolic), num(s.diastolic)),
                        num(s.glucose),
                        classification_line(&cs.classification),
                    ]
                })
                .collect();
            let header = match lang::current() {
                Lang::Zh => ["编号", "日期", "血压", "血糖", "分类"],
                Lang::En => ["id", "date", "BP", "glucose", "classification"],
            };
            table(&header, rows);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------- due, conflicts

pub fn due(app: &Doorstep, date: Option<String>, json: bool) -> CliResult<()> {
    let date = date.unwrap_or_else(doorstep_core::store::today);
    let items = app.due(date)?;
    if json {
        return print_json(&items);
    }
    let rows = items
        .iter()
        .map(|d| {
            vec![
                d.due_date.clone(),
                if d.overdue { t("逾期", "OVERDUE").into() } else { t("待办", "due").into() },
                d.household_number.clone(),
                d.head_name.clone(),
                d.member_name.clone().unwrap_or_default(),
                d.village.clone(),
                t(&d.reason_zh, &d.reason_en).to_string(),
            ]
        })
        .collect();
    let header = match lang::current() {
        Lang::Zh => ["截止日期", "状态", "户编号", "户主", "成员", "村", "事由"],
        Lang::En => ["due", "state", "household", "head", "member", "village", "reason"],
    };
    table(&header, rows);
    Ok(())
}

pub fn conflicts(app: &Doorstep, json: bool) -> CliResult<()> {
    let list = app.conflicts()?;
    if json {
        return print_json(&list);
    }
    let mut rows = Vec::new();
    for c in &list {
        for v in &c.values {
            rows.push(vec![
                c.doc_id.clone(),
                c.field.clone(),
                v.value_json.clone(),
                v.user.clone(),
                v.device.clone(),
                local_time(v.device_time_ms),
            ]);
        }
    }
    let header = match lang::current() {
        Lang::Zh => ["文档", "字段", "值", "用户", "设备", "设备时间"],
        Lang::En => ["doc", "field", "value", "user", "device", "device time"],
    };
    table(&header, rows);
    Ok(())
}

/// Settles a conflicted field with a value typed as plain text (`13800000000`, `下屯`) or as JSON (`2`, `true`,
/// `null`, `'{"status": "ok"}'`, `'"quoted"'`). The field's type decides: each reading of the value is tried in
/// turn (see [`value_readings`]) and the first one the record accepts is saved; a value that fits no reading is
/// refused and nothing changes.
pub fn resolve(app: &Doorstep, doc: String, field: String, value: &str) -> CliResult<()> {
    let mut refused = None;
    for reading in value_readings(value) {
        match app.resolve_conflict(doc.clone(), field.clone(), reading) {
            Ok(()) => {
                outln!("{}", t("已解决", "resolved"));
                return Ok(());
            }
            // The store refuses a value that does not fit the field before saving anything: try the next reading.
            Err(e @ doorstep_core::error::DoorstepError::Validation { .. }) => {
                refused.get_or_insert(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(refused.map(CliError::from).unwrap_or_else(|| CliError::field("VALUE", "is empty")))
}

/// The JSON values a typed VALUE may stand for, the most literal first: the text as JSON when it is JSON (a number,
/// a boolean, null, a record), then the text itself as a string. A quoted JSON string stands only for itself, so
/// `'"2"'` forces the text "2" and `'"null"'` the text "null".
pub fn value_readings(value: &str) -> Vec<String> {
    let as_text = serde_json::Value::String(value.to_string()).to_string();
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::String(_)) => vec![value.to_string()],
        Ok(_) => vec![value.to_string(), as_text],
        Err(_) => vec![as_text],
    }
}

fn signed_in_user(app: &Doorstep) -> Option<String> {
    app.sync_status().ok().and_then(|s| s.user)
}

fn signed_in_role(app: &Doorstep) -> Option<String> {
    app.sync_status().ok().and_then(|s| s.role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_value_is_read_as_json_first_then_as_plain_text() {
        assert_eq!(value_readings("下屯"), vec![r#""下屯""#]);
        assert_eq!(value_readings("13800000000"), vec!["13800000000", r#""13800000000""#]);
        assert_eq!(value_readings("true"), vec!["true", r#""true""#]);
        assert_eq!(value_readings("null"), vec!["null", r#""null""#]);
        assert_eq!(value_readings(r#""2""#), vec![r#""2""#]);
        assert_eq!(value_readings(r#"{"status": "ok"}"#)[0], r#"{"status": "ok"}"#);
        assert_eq!(value_readings(r#"say "hi""#), vec![r#""say \"hi\"""#]);
    }
}
