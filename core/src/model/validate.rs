//! Validation: every problem of a record at once, each naming its field, so the app can mark all inputs together.

use super::national_id::{check_national_id, IdProblem};
use super::*;
use serde::{Deserialize, Serialize};

/// One problem with one field. `field` is a dotted path (`members.<id>.national_id`, `systolic`), stable for
/// programs that place the error beside its input; the messages are for people and name what they typed: the
/// value as written (`2026-02-30: February 2026 has 28 days`) and, for a member, the member's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct FieldError {
    pub field: String,
    /// A stable code for programs: `required`, `range`, `format`, `check_digit`, `future`, `mismatch`, `too_long`.
    pub code: String,
    pub message_en: String,
    pub message_zh: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} / {}", self.field, self.message_en, self.message_zh)
    }
}

/// The longest free text accepted in any field; longer input is refused rather than truncated.
pub const MAX_TEXT: usize = 4000;
/// The longest id accepted: UUIDs have 36 characters, well-known ids such as `schedule-rules` fewer.
pub const MAX_ID: usize = 128;
/// The most days a record's date may lie ahead of the device clock (clock skew between cheap phones).
pub const FUTURE_SKEW_DAYS: i64 = 1;

/// Collects field errors while a record is checked.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn push(&mut self, field: impl Into<String>, code: &str, en: impl Into<String>, zh: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            code: code.into(),
            message_en: en.into(),
            message_zh: zh.into(),
        });
    }

    fn required(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(field, "required", "is required", "必填");
        }
    }

    fn text(&mut self, field: &str, value: &str) {
        if value.chars().count() > MAX_TEXT {
            self.push(field, "too_long", format!("is longer than {MAX_TEXT} characters"), format!("超过{MAX_TEXT}字"));
        }
    }

    /// Attachment references: keyed by their own hash, well formed, of a media type their kind allows, not empty. A
    /// reference that passes may still lack its bytes; the bytes are checked against it when they are attached or
    /// uploaded.
    fn attachments(&mut self, map: &HashMap<String, crate::attachment::AttachmentRef>) {
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        for key in keys {
            let a = &map[key];
            let f = format!("attachments.{}", key.chars().take(MAX_ID).collect::<String>());
            if !crate::attachment::is_valid_hash(key) || a.hash != *key {
                self.push(
                    format!("{f}.hash"),
                    "format",
                    "must be the SHA-256 of the bytes (64 lowercase hex digits), the same as its key",
                    "须为附件内容的SHA-256（64位小写十六进制），且与键相同",
                );
            }
            if !a.kind.allowed_media_types().contains(&a.media_type.as_str()) {
                let allowed = a.kind.allowed_media_types().join(", ");
                self.push(
                    format!("{f}.media_type"),
                    "format",
                    format!("must be one of {allowed} for a {}", a.kind.code()),
                    format!("{}只能是 {allowed}", a.kind.label_zh()),
                );
            }
            if a.size == 0 {
                self.push(format!("{f}.size"), "range", "must be above 0", "须大于0");
            }
            self.text(&format!("{f}.caption"), &a.caption);
        }
    }

    /// An id or a key of a map: bounded, so a bad caller cannot store megabytes in index rows.
    fn id(&mut self, field: &str, value: &str) {
        if value.len() > MAX_ID {
            self.push(field, "too_long", format!("is longer than {MAX_ID} characters"), format!("超过{MAX_ID}个字符"));
        }
    }

    /// A date that must parse and must not lie in the future beyond the clock skew.
    fn date(&mut self, field: &str, value: &str, today: &str) -> Option<chrono::NaiveDate> {
        let Some(date) = parse_date(value) else {
            let (en, zh) = date_problem(value);
            self.push(field, "format", en, zh);
            return None;
        };
        if let Some(today) = parse_date(today) {
            if (date - today).num_days() > FUTURE_SKEW_DAYS {
                self.push(
                    field,
                    "future",
                    format!("{value} is in the future (today is {today})"),
                    format!("{value}晚于今天（{today}）"),
                );
            }
        }
        Some(date)
    }

    fn range(&mut self, field: &str, value: Option<f64>, lo: f64, hi: f64, unit: &str) {
        if let Some(v) = value {
            if !v.is_finite() || v < lo || v > hi {
                self.push(
                    field,
                    "range",
                    format!("must be between {lo} and {hi} {unit}"),
                    format!("应在{lo}–{hi}{unit}之间"),
                );
            }
        }
    }
}

/// Parses an ISO date; shared by validation, schedules and queries. Only the canonical `YYYY-MM-DD` form is
/// accepted (chrono alone also takes `2026-1-5` or leading spaces), because stored dates are compared and sliced
/// as text: months in index rows are their first seven characters.
pub fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    // Read digit by digit: pages parse every member's birth date for every figure, and a parse with a format
    // string followed by a format back to compare cost a tenth of an area's count. Four, two and two digits with
    // dashes between are exactly the texts that format back to themselves.
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    chrono::NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)
}

/// Why a text is not a date, in English and Chinese, told with the text as written: an impossible day or month
/// says what the calendar has (`2026-02-30: February 2026 has 28 days`), a non-canonical form shows the canonical
/// one (`2026-2-3: write it as 2026-02-03`), anything else asks for `YYYY-MM-DD`.
pub fn date_problem(value: &str) -> (String, String) {
    if value.trim().is_empty() {
        return ("is required: a date YYYY-MM-DD".into(), "必填：日期格式为YYYY-MM-DD".into());
    }
    let parts: Vec<&str> = value.split('-').collect();
    let numbers: Option<Vec<u32>> = match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            parts.iter().map(|p| p.chars().all(|c| c.is_ascii_digit()).then(|| p.parse().ok()).flatten()).collect()
        }
        _ => None,
    };
    if let Some([year, month, day]) = numbers.as_deref() {
        let (year, month, day) = (*year, *month, *day);
        if !(1..=12).contains(&month) {
            return (format!("{value}: there is no month {month}"), format!("{value}：没有{month}月"));
        }
        if day == 0 {
            return (format!("{value}: there is no day 0"), format!("{value}：没有0日"));
        }
        let days = chrono::NaiveDate::from_ymd_opt(year as i32, month, 1)
            .and_then(|first| first.checked_add_months(chrono::Months::new(1)))
            .and_then(|next| next.pred_opt())
            .map(|last| chrono::Datelike::day(&last));
        if let Some(days) = days.filter(|days| day > *days) {
            let name = chrono::Month::try_from(month as u8).map(|m| m.name()).unwrap_or("that month");
            return (
                format!("{value}: {name} {year} has {days} days"),
                format!("{value}：{year}年{month}月只有{days}天"),
            );
        }
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d") {
        let canonical = date.format("%Y-%m-%d");
        return (format!("{value}: write it as {canonical}"), format!("{value}：请写作{canonical}"));
    }
    (format!("{value}: not a date YYYY-MM-DD"), format!("{value}：不是YYYY-MM-DD格式的日期"))
}

/// The member as people know it, for messages: by name, or by position among the household's members (in the
/// order of their ids, which is the order they were added) when the name is missing.
fn member_subject(m: &Member, position: usize) -> (String, String) {
    match m.name.trim() {
        "" => (format!("member {position} (no name)"), format!("第{position}位成员（未填姓名）")),
        name => (format!("member {name}"), format!("成员{name}")),
    }
}

/// Checks one member; every problem's message starts with the member's name, because a new member's key is an id
/// nobody has seen (the field path keeps the key, for programs).
fn check_member(c: &mut Checker, key: &str, m: &Member, position: usize, today: &str) {
    let first = c.errors.len();
    check_member_fields(c, key, m, today);
    let (en, zh) = member_subject(m, position);
    for e in &mut c.errors[first..] {
        e.message_en = format!("{en}: {}", e.message_en);
        e.message_zh = format!("{zh}：{}", e.message_zh);
    }
}

fn check_member_fields(c: &mut Checker, key: &str, m: &Member, today: &str) {
    let p = |f: &str| format!("members.{key}.{f}");
    if m.id != key {
        c.push(p("id"), "mismatch", "does not match the member's key", "成员编号不一致");
    }
    c.id(&p("id"), key);
    c.required(&p("name"), &m.name);
    c.text(&p("name"), &m.name);
    let birth = c.date(&p("birth_date"), &m.birth_date, today);
    if !m.national_id.is_empty() {
        match check_national_id(&m.national_id) {
            Err(IdProblem::Length) => c.push(p("national_id"), "format", "must have 18 characters", "身份证号应为18位"),
            Err(IdProblem::Characters) => {
                c.push(p("national_id"), "format", "must be 17 digits and a digit or X", "身份证号应为17位数字加校验位")
            }
            Err(IdProblem::CheckDigit) => {
                c.push(p("national_id"), "check_digit", "check digit is wrong", "身份证号校验位错误")
            }
            Err(IdProblem::BirthDate) => {
                c.push(p("national_id"), "format", "holds no valid birth date", "身份证号中的出生日期无效")
            }
            Ok(()) => {
                let id_birth = national_id_birth_date(&m.national_id);
                if birth.is_some() && id_birth.as_deref() != Some(m.birth_date.as_str()) {
                    c.push(
                        p("national_id"),
                        "mismatch",
                        "birth date differs from the member's",
                        "身份证号与出生日期不一致",
                    );
                }
            }
        }
    }
    for (i, e) in m.events.iter().enumerate() {
        c.date(&p(&format!("events.{i}.date")), &e.date, today);
    }
    if let Some(d) = &m.disability {
        if !(1..=4).contains(&d.grade) {
            c.push(p("disability.grade"), "range", "must be between 1 and 4", "残疾等级应为1–4级");
        }
    }
    if let Some(k) = &m.contract {
        c.required(&p("contract.team"), &k.team);
        c.text(&p("contract.team"), &k.team);
        c.date(&p("contract.signed_date"), &k.signed_date, today);
        if let Some(r) = &k.renewal_date {
            if parse_date(r).is_none() {
                let (en, zh) = date_problem(r);
                c.push(p("contract.renewal_date"), "format", en, zh);
            }
        }
    }
}

/// Every problem with a household and its members.
pub fn validate_household(h: &Household, today: &str) -> Vec<FieldError> {
    let mut c = Checker::default();
    c.required("id", &h.id);
    c.id("id", &h.id);
    c.required("number", &h.number);
    c.required("village", &h.village);
    c.required("head_name", &h.head_name);
    for (f, v) in [
        ("number", &h.number),
        ("village", &h.village),
        ("hamlet", &h.hamlet),
        ("address", &h.address),
        ("head_name", &h.head_name),
        ("township", &h.township),
        ("doctor_team", &h.doctor_team),
        ("assurances.food.note", &h.assurances.food.note),
        ("assurances.clothing.note", &h.assurances.clothing.note),
        ("assurances.education.note", &h.assurances.education.note),
        ("assurances.medical.note", &h.assurances.medical.note),
        ("assurances.housing.note", &h.assurances.housing.note),
        ("assurances.water.note", &h.assurances.water.note),
    ] {
        c.text(f, v);
    }
    for (i, helper) in h.helper_ids.iter().enumerate() {
        c.text(&format!("helper_ids.{i}"), helper);
    }
    if !h.phone.is_empty()
        && !(h.phone.len() <= 20 && h.phone.chars().all(|ch| ch.is_ascii_digit() || "+- ".contains(ch)))
    {
        c.push("phone", "format", "must be a phone number", "电话号码格式错误");
    }
    if let Some(g) = &h.gps {
        c.range("gps.lat", Some(g.lat), -90.0, 90.0, "°");
        c.range("gps.lon", Some(g.lon), -180.0, 180.0, "°");
    }
    for (i, t) in h.status_history.iter().enumerate() {
        c.date(&format!("status_history.{i}.date"), &t.date, today);
        c.text(&format!("status_history.{i}.reason"), &t.reason);
    }
    for (i, a) in h.alert_history.iter().enumerate() {
        c.date(&format!("alert_history.{i}.date"), &a.date, today);
        c.text(&format!("alert_history.{i}.reason"), &a.reason);
    }
    check_senior_helper(&mut c, h);
    if h.alert_level.is_some() && !matches!(h.poverty_status, PovertyStatus::Monitored | PovertyStatus::Edge) {
        c.push(
            "alert_level",
            "mismatch",
            "only monitored and edge households have an alert level",
            "仅监测户和边缘户设预警等级",
        );
    }
    c.range("income_per_person", h.income_per_person, 0.0, 10_000_000.0, "元");
    if let Some(y) = h.income_year {
        c.range("income_year", Some(f64::from(y)), 2000.0, 2100.0, "");
    }
    for (key, m) in &h.measures {
        c.id(&format!("measures.{key}"), key);
        c.date(&format!("measures.{key}.start_date"), &m.start_date, today);
        c.text(&format!("measures.{key}.note"), &m.note);
    }
    if let Some(r) = &h.relocation {
        c.date("relocation.date", &r.date, today);
        c.text("relocation.from_village", &r.from_village);
    }
    let mut keys: Vec<&String> = h.members.keys().collect();
    keys.sort();
    for (i, key) in keys.into_iter().enumerate() {
        check_member(&mut c, key, &h.members[key], i + 1, today);
    }
    c.errors
}

/// A red-alert household needs a second, senior helper (防止返贫监测: "add a senior helper"): `senior_helper` names
/// one of `helper_ids`, and not the only one. A senior helper may be named at any level; then the same holds.
fn check_senior_helper(c: &mut Checker, h: &Household) {
    let senior = h.senior_helper.trim();
    c.text("senior_helper", &h.senior_helper);
    if senior.is_empty() {
        if h.alert_level == Some(AlertLevel::Red) {
            c.push(
                "senior_helper",
                "required",
                "is required for a red-alert household: name a second, senior helper among its helpers",
                "红色预警户须指定一名高级别帮扶责任人（第二帮扶人），且须为该户帮扶责任人之一",
            );
        }
        return;
    }
    if !h.helper_ids.iter().any(|x| x.trim() == senior) {
        c.push(
            "senior_helper",
            "mismatch",
            format!("{senior} is not one of the household's helpers"),
            format!("{senior}不是该户的帮扶责任人"),
        );
    } else if !h.helper_ids.iter().any(|x| !x.trim().is_empty() && x.trim() != senior) {
        c.push(
            "senior_helper",
            "mismatch",
            format!("{senior} is the only helper: the senior helper is a second helper beside another"),
            format!("{senior}是该户唯一的帮扶责任人：高级别帮扶人须是另一名帮扶人之外的第二帮扶人"),
        );
    }
}

/// The entries of `now` that `before` does not hold (as many times as they are new): what a save adds to a
/// history list. Compared by value, so a merge that reorders nothing still counts nothing as new.
fn added<'a, T: PartialEq>(before: &[T], now: &'a [T]) -> Vec<&'a T> {
    let mut old: Vec<&T> = before.iter().collect();
    let mut out = Vec::new();
    for item in now {
        match old.iter().position(|o| *o == item) {
            Some(i) => {
                old.swap_remove(i);
            }
            None => out.push(item),
        }
    }
    out
}

/// Rules about changing a household, against the version the store holds: a change of poverty status needs a new
/// dated transition to that status in `status_history`, a change of alert level a new dated entry with that level
/// (None when lifted) in `alert_history`. Both histories are kept so an inspection can follow the household's
/// timeline (识别 → 脱贫 → 返贫 …, red since when); the store checks this when it saves (`Store::put`).
pub fn validate_household_change(h: &Household, previous: &Household, _today: &str) -> Vec<FieldError> {
    let mut c = Checker::default();
    if h.poverty_status != previous.poverty_status
        && !added(&previous.status_history, &h.status_history).iter().any(|t| t.to_status == h.poverty_status)
    {
        let (from, to) = (previous.poverty_status, h.poverty_status);
        c.push(
            "status_history",
            "required",
            format!(
                "the status changes from {} to {}: add a dated transition to this status (identified, exited, \
                 relapsed or risk eliminated) with its reason",
                from.label_en(),
                to.label_en()
            ),
            format!(
                "户类别由{}变为{}：须添加一条转为{}的状态变更记录（识别纳入、脱贫退出、返贫或消除返贫风险），注明日期和原因",
                from.label_zh(),
                to.label_zh(),
                to.label_zh()
            ),
        );
    }
    if h.alert_level != previous.alert_level
        && !added(&previous.alert_history, &h.alert_history).iter().any(|a| a.level == h.alert_level)
    {
        let label = |l: Option<AlertLevel>, en: bool| match (l, en) {
            (Some(l), true) => l.label_en().to_string(),
            (Some(l), false) => l.label_zh().to_string(),
            (None, true) => "none".to_string(),
            (None, false) => "无预警".to_string(),
        };
        let (from, to) = (previous.alert_level, h.alert_level);
        c.push(
            "alert_history",
            "required",
            format!(
                "the alert level changes from {} to {}: add a dated entry for it with its reason",
                label(from, true),
                label(to, true)
            ),
            format!("预警等级由{}变为{}：须添加一条注明日期和原因的预警变更记录", label(from, false), label(to, false)),
        );
    }
    c.errors
}

/// Every problem with a visit.
pub fn validate_visit(v: &Visit, today: &str) -> Vec<FieldError> {
    let mut c = Checker::default();
    c.required("id", &v.id);
    c.required("household_id", &v.household_id);
    c.required("visitor", &v.visitor);
    c.id("id", &v.id);
    c.id("household_id", &v.household_id);
    c.id("member_id", v.member_id.as_deref().unwrap_or(""));
    c.text("visitor", &v.visitor);
    for (i, m) in v.measures_delivered.iter().enumerate() {
        c.text(&format!("measures_delivered.{i}"), m);
    }
    c.date("date", &v.date, today);
    if !v.time.is_empty() && chrono::NaiveTime::parse_from_str(&v.time, "%H:%M").is_err() {
        c.push("time", "format", "must be a time HH:MM", "时间格式应为HH:MM");
    }
    for (f, t) in [("income_note", &v.income_note), ("risk_note", &v.risk_note), ("note", &v.note)] {
        c.text(f, t);
    }
    let mut keys: Vec<&String> = v.problems.keys().collect();
    keys.sort();
    for key in keys {
        let p = &v.problems[key];
        c.id(&format!("problems.{key}"), key);
        c.text(&format!("problems.{key}.action"), &p.action);
        c.required(&format!("problems.{key}.description"), &p.description);
        c.text(&format!("problems.{key}.description"), &p.description);
        if p.status == ProblemStatus::Resolved && p.resolved_date.is_none() {
            c.push(
                format!("problems.{key}.resolved_date"),
                "required",
                "is required for a resolved problem",
                "已解决的问题须填写解决日期",
            );
        }
        if let Some(d) = &p.resolved_date {
            c.date(&format!("problems.{key}.resolved_date"), d, today);
        }
    }
    if v.kind == VisitKind::DoctorFollowUp && v.member_id.as_deref().unwrap_or("").is_empty() {
        c.push("member_id", "required", "is required for a doctor follow-up", "家医随访须选择成员");
    }
    c.attachments(&v.attachments);
    c.errors
}

/// Every problem with a screening result: ranges, the diastolic below the systolic, required fields and dates.
pub fn validate_screening(s: &Screening, today: &str) -> Vec<FieldError> {
    let mut c = Checker::default();
    c.required("id", &s.id);
    c.required("household_id", &s.household_id);
    c.required("member_id", &s.member_id);
    c.required("screener", &s.screener);
    c.id("id", &s.id);
    c.id("household_id", &s.household_id);
    c.id("member_id", &s.member_id);
    c.id("visit_id", s.visit_id.as_deref().unwrap_or(""));
    c.text("screener", &s.screener);
    c.text("campaign", s.campaign.as_deref().unwrap_or(""));
    c.text("referral.destination", &s.referral.destination);
    c.attachments(&s.attachments);
    c.date("date", &s.date, today);
    c.range("systolic", s.systolic, 50.0, 300.0, "mmHg");
    c.range("diastolic", s.diastolic, 30.0, 200.0, "mmHg");
    if let (Some(sys), Some(dia)) = (s.systolic, s.diastolic) {
        if dia >= sys {
            c.push("diastolic", "range", "must be lower than the systolic", "舒张压应低于收缩压");
        }
    }
    if s.systolic.is_some() != s.diastolic.is_some() {
        let missing = if s.systolic.is_none() { "systolic" } else { "diastolic" };
        c.push(missing, "required", "is required with the other blood-pressure value", "血压须同时填写收缩压和舒张压");
    }
    c.range("heart_rate", s.heart_rate, 20.0, 250.0, "bpm");
    c.range("glucose", s.glucose, 1.0, 40.0, "mmol/L");
    c.range("height_cm", s.height_cm, 40.0, 250.0, "cm");
    c.range("weight_kg", s.weight_kg, 2.0, 300.0, "kg");
    c.range("waist_cm", s.waist_cm, 30.0, 200.0, "cm");
    c.text("findings", &s.findings);
    c.errors
}

/// Rules must ask for something sensible: at least one visit a month, follow-ups within a year.
pub fn validate_rules(r: &ScheduleRules) -> Vec<FieldError> {
    let mut c = Checker::default();
    c.range("monthly_visits", Some(f64::from(r.monthly_visits)), 1.0, 31.0, "");
    c.range("monitored_monthly_visits", Some(f64::from(r.monitored_monthly_visits)), 1.0, 31.0, "");
    c.range("edge_monthly_visits", Some(f64::from(r.edge_monthly_visits)), 1.0, 31.0, "");
    if r.monthly_visit_statuses.is_empty() {
        c.push(
            "monthly_visit_statuses",
            "required",
            "name at least one poverty status that needs monthly helper visits",
            "须至少选择一种需要每月走访的户类别",
        );
    }
    for (f, v) in [
        ("hypertension_followup_days", r.hypertension_followup_days),
        ("diabetes_followup_days", r.diabetes_followup_days),
        ("mental_followup_days", r.mental_followup_days),
    ] {
        c.range(f, Some(f64::from(v)), 7.0, 366.0, "days");
    }
    c.range("lookahead_days", Some(f64::from(r.lookahead_days)), 0.0, 60.0, "days");
    c.errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::samples::*;

    const TODAY: &str = "2026-11-29";

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn attachment_references_are_checked_on_visits_and_screenings() {
        use crate::attachment::{hash_hex, AttachmentKind, AttachmentRef, JPEG, PNG};
        let good = AttachmentRef {
            hash: hash_hex(b"photo"),
            media_type: JPEG.into(),
            size: 5,
            kind: AttachmentKind::Photo,
            caption: "水窖".into(),
        };
        let mut v = visit();
        v.attachments.insert(good.hash.clone(), good.clone());
        assert!(validate_visit(&v, TODAY).is_empty(), "{:?}", validate_visit(&v, TODAY));

        let bad =
            AttachmentRef { media_type: PNG.into(), size: 0, caption: "字".repeat(MAX_TEXT + 1), ..good.clone() };
        v.attachments.insert("ABC".into(), bad.clone());
        let mut s = screening();
        s.attachments.insert(bad.hash.clone(), bad);
        for errors in [validate_visit(&v, TODAY), validate_screening(&s, TODAY)] {
            let f = fields(&errors);
            let key =
                if f.iter().any(|x| x.starts_with("attachments.ABC")) { "ABC".to_string() } else { good.hash.clone() };
            for part in ["media_type", "size", "caption"] {
                assert!(f.contains(&format!("attachments.{key}.{part}").as_str()), "{part}: {f:?}");
            }
        }
        assert!(fields(&validate_visit(&v, TODAY)).contains(&"attachments.ABC.hash"), "a key that is not its hash");
    }

    #[test]
    fn a_good_household_has_no_errors() {
        assert_eq!(validate_household(&household(), TODAY), vec![]);
    }

    #[test]
    fn household_errors_are_all_returned_with_field_names() {
        let mut h = household();
        h.number.clear();
        h.head_name = " ".into();
        let m = h.members.values_mut().next().unwrap();
        let key = m.id.clone();
        m.national_id = "110105194912310021".into();
        m.birth_date = "2027-05-01".into();
        let errors = validate_household(&h, TODAY);
        let f = fields(&errors);
        assert!(f.contains(&"number"), "{f:?}");
        assert!(f.contains(&"head_name"), "{f:?}");
        assert!(f.contains(&format!("members.{key}.national_id").as_str()), "{f:?}");
        assert!(f.contains(&format!("members.{key}.birth_date").as_str()), "{f:?}");
        assert!(errors.iter().any(|e| e.code == "check_digit"));
        assert!(errors.iter().any(|e| e.code == "future"));
    }

    #[test]
    fn an_impossible_date_is_told_as_written_and_why() {
        for (value, en, zh) in [
            ("2026-02-30", "2026-02-30: February 2026 has 28 days", "2026-02-30：2026年2月只有28天"),
            ("2024-02-30", "2024-02-30: February 2024 has 29 days", "2024-02-30：2024年2月只有29天"),
            ("2026-04-31", "2026-04-31: April 2026 has 30 days", "2026-04-31：2026年4月只有30天"),
            ("2026-13-01", "2026-13-01: there is no month 13", "2026-13-01：没有13月"),
            ("2026-00-10", "2026-00-10: there is no month 0", "2026-00-10：没有0月"),
            ("2026-04-00", "2026-04-00: there is no day 0", "2026-04-00：没有0日"),
            ("2026-2-3", "2026-2-3: write it as 2026-02-03", "2026-2-3：请写作2026-02-03"),
            ("30/11/2026", "30/11/2026: not a date YYYY-MM-DD", "30/11/2026：不是YYYY-MM-DD格式的日期"),
            ("", "is required: a date YYYY-MM-DD", "必填：日期格式为YYYY-MM-DD"),
        ] {
            assert_eq!(date_problem(value), (en.to_string(), zh.to_string()), "{value:?}");
            let mut v = visit();
            v.date = value.into();
            let errors = validate_visit(&v, TODAY);
            assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("date", "format"), "{value:?}");
            assert_eq!(errors[0].message_en, en);
        }
    }

    #[test]
    fn a_members_errors_keep_the_field_path_and_name_the_member() {
        let mut h = household();
        let mut unnamed = h.members.values().next().unwrap().clone();
        let m = h.members.values_mut().next().unwrap();
        let key = m.id.clone();
        m.name = "李四".into();
        m.national_id = "110105194912310021".into();
        m.birth_date = "1949-02-30".into();
        unnamed.id = "zz-unnamed".into(); // sorts last: the third member
        unnamed.name.clear();
        h.members.insert(unnamed.id.clone(), unnamed.clone());
        let errors = validate_household(&h, TODAY);
        let id = errors.iter().find(|e| e.field == format!("members.{key}.national_id")).expect("national_id");
        assert!(id.message_en.starts_with("member 李四: "), "{id:?}");
        assert!(id.message_zh.starts_with("成员李四："), "{id:?}");
        let birth = errors.iter().find(|e| e.field == format!("members.{key}.birth_date")).expect("birth_date");
        assert_eq!(birth.message_en, "member 李四: 1949-02-30: February 1949 has 28 days");
        let name = errors.iter().find(|e| e.field == format!("members.{}.name", unnamed.id)).expect("name");
        let position = h.members.len();
        assert_eq!(name.message_en, format!("member {position} (no name): is required"));
        assert_eq!(name.message_zh, format!("第{position}位成员（未填姓名）：必填"));
    }

    #[test]
    fn national_id_birth_date_must_match_member() {
        let mut h = household();
        let m = h.members.values_mut().next().unwrap();
        m.birth_date = "1950-01-01".into();
        let errors = validate_household(&h, TODAY);
        assert!(errors.iter().any(|e| e.field.ends_with("national_id") && e.code == "mismatch"), "{errors:?}");
    }

    #[test]
    fn screening_ranges_and_order() {
        let mut s = screening();
        s.systolic = Some(320.0);
        s.diastolic = Some(25.0);
        s.glucose = Some(0.5);
        s.height_cm = Some(10.0);
        s.weight_kg = Some(400.0);
        let f: Vec<String> = validate_screening(&s, TODAY).into_iter().map(|e| e.field).collect();
        for name in ["systolic", "diastolic", "glucose", "height_cm", "weight_kg"] {
            assert!(f.iter().any(|x| x == name), "{name} missing in {f:?}");
        }
        let mut s = screening();
        s.systolic = Some(120.0);
        s.diastolic = Some(130.0);
        let errors = validate_screening(&s, TODAY);
        assert_eq!(fields(&errors), vec!["diastolic"]);
        s.diastolic = Some(f64::NAN);
        assert!(!validate_screening(&s, TODAY).is_empty());
    }

    #[test]
    fn dates_allow_one_day_of_clock_skew_only() {
        let mut v = visit();
        v.date = "2026-11-30".into();
        assert!(validate_visit(&v, TODAY).is_empty());
        v.date = "2026-12-01".into();
        assert_eq!(fields(&validate_visit(&v, TODAY)), vec!["date"]);
        v.date = "30/11/2026".into();
        assert_eq!(validate_visit(&v, TODAY)[0].code, "format");
    }

    #[test]
    fn only_canonical_dates_are_accepted() {
        assert!(parse_date("2026-01-05").is_some());
        for lenient in ["2026-1-5", " 2026-01-05", "2026-01-05 ", "+2026-01-05", "2026-02-30"] {
            assert_eq!(parse_date(lenient), None, "{lenient:?}");
        }
        // The same answers as parsing with the format and formatting back, on every shape of text around a date.
        let reference = |s: &str| {
            let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
            (s.len() == 10 && date.format("%Y-%m-%d").to_string() == s).then_some(date)
        };
        let texts = [
            "2024-02-29",
            "2023-02-29",
            "2026-00-10",
            "2026-13-01",
            "2026-12-31",
            "2026-12-32",
            "0000-01-01",
            "9999-12-31",
            "2026a01-05",
            "2026-01a05",
            "20260-1-05",
            "2026-001-5",
            "-026-01-05",
            "2026-0-105",
            "２０２６-01-05",
            "2026-01-0５",
            "",
            "2026-01-05\n",
            "2026/01/05",
            "2026-1-005",
        ];
        for t in texts {
            assert_eq!(parse_date(t), reference(t), "{t:?}");
        }
        assert_eq!(parse_date("2024-02-29"), chrono::NaiveDate::from_ymd_opt(2024, 2, 29));
    }

    #[test]
    fn ids_and_free_text_everywhere_are_bounded() {
        let mut v = visit();
        v.visitor = "x".repeat(MAX_TEXT + 1);
        v.household_id = "h".repeat(MAX_ID + 1);
        assert_eq!(fields(&validate_visit(&v, TODAY)), vec!["household_id", "visitor"]);
        let mut s = screening();
        s.referral.destination = "县".repeat(MAX_TEXT + 1);
        assert_eq!(fields(&validate_screening(&s, TODAY)), vec!["referral.destination"]);
    }

    #[test]
    fn visit_requires_visitor_and_resolved_date() {
        let mut v = visit();
        v.visitor.clear();
        v.problems.insert(
            "p1".into(),
            Problem {
                description: "漏水".into(),
                assurance: Some(AssuranceKind::Housing),
                status: ProblemStatus::Resolved,
                resolved_date: None,
                action: String::new(),
            },
        );
        let errors = validate_visit(&v, TODAY);
        assert_eq!(fields(&errors), vec!["visitor", "problems.p1.resolved_date"]);
    }

    #[test]
    fn overly_long_text_is_refused() {
        let mut v = visit();
        v.note = "很".repeat(MAX_TEXT + 1);
        assert_eq!(validate_visit(&v, TODAY)[0].code, "too_long");
    }

    #[test]
    fn a_red_alert_household_needs_a_senior_second_helper() {
        let mut h = household();
        h.poverty_status = PovertyStatus::Monitored;
        h.alert_level = Some(AlertLevel::Red);
        let errors = validate_household(&h, TODAY);
        assert_eq!(fields(&errors), vec!["senior_helper"]);
        assert_eq!(errors[0].code, "required");
        assert!(errors[0].message_en.contains("senior helper"), "{}", errors[0].message_en);
        assert!(errors[0].message_zh.contains("红色预警"), "{}", errors[0].message_zh);

        // The only helper cannot be the second one.
        h.senior_helper = "helper1".into();
        let errors = validate_household(&h, TODAY);
        assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("senior_helper", "mismatch"));
        // Nor can someone who is not among the helpers.
        h.helper_ids.push("helper9".into());
        h.senior_helper = "senior1".into();
        let errors = validate_household(&h, TODAY);
        assert_eq!(fields(&errors), vec!["senior_helper"]);
        assert!(errors[0].message_zh.contains("senior1"), "{}", errors[0].message_zh);
        // A senior helper beside another helper: saved.
        h.senior_helper = "helper9".into();
        assert_eq!(validate_household(&h, TODAY), vec![]);
        // Yellow and blue need none.
        h.alert_level = Some(AlertLevel::Yellow);
        h.senior_helper.clear();
        assert_eq!(validate_household(&h, TODAY), vec![]);
    }

    #[test]
    fn a_change_is_judged_against_the_stored_version() {
        let before = household();
        let mut after = before.clone();
        after.phone = "13900000000".into();
        assert!(validate_household_change(&after, &before, TODAY).is_empty(), "no status change");
        after.poverty_status = PovertyStatus::Edge;
        after.alert_level = Some(AlertLevel::Blue);
        assert_eq!(fields(&validate_household_change(&after, &before, TODAY)), vec!["status_history", "alert_history"]);
        // An entry that was already there is not new, even if it names the new status.
        let mut stale = before.clone();
        stale.status_history.push(StatusTransition {
            date: "2020-01-01".into(),
            event: TransitionEvent::Identified,
            to_status: PovertyStatus::Edge,
            reason: String::new(),
        });
        let mut after2 = stale.clone();
        after2.poverty_status = PovertyStatus::Edge;
        assert_eq!(fields(&validate_household_change(&after2, &stale, TODAY)), vec!["status_history"]);
        after2.status_history.push(stale.status_history[1].clone());
        assert!(validate_household_change(&after2, &stale, TODAY).is_empty(), "a second, new entry counts");
    }

    #[test]
    fn rules_must_be_sensible() {
        let mut r = ScheduleRules::default();
        assert!(validate_rules(&r).is_empty());
        r.monthly_visits = 0;
        assert_eq!(validate_rules(&r)[0].field, "monthly_visits");
    }
}
