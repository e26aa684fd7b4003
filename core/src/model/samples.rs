//! Well-formed sample records, for tests, examples and the demo county: each passes validation as built.

use super::*;

/// A registered-poor household of two members in 石门村, with valid national ID numbers.
pub fn household() -> Household {
    let head = member("张建国", Sex::Male, "1962-03-15", Relation::Head, "430621");
    let mut spouse = member("李秀英", Sex::Female, "1965-08-02", Relation::Spouse, "430621");
    spouse.conditions = vec![Condition::Hypertension];
    spouse.contract =
        Some(DoctorContract {
            team: "石门村家医团队".into(), signed_date: "2026-01-10".into(), renewal_date: None
        });
    Household {
        id: new_id(),
        number: "4306210010001".into(),
        township: "石门镇".into(),
        village: "石门村".into(),
        hamlet: "上屯".into(),
        address: "石门村上屯12号".into(),
        head_name: head.name.clone(),
        phone: "13800001234".into(),
        gps: None,
        poverty_status: PovertyStatus::RegisteredPoor,
        status_history: vec![StatusTransition {
            date: "2016-05-01".into(),
            event: TransitionEvent::Identified,
            to_status: PovertyStatus::RegisteredPoor,
            reason: "因病".into(),
        }],
        risk_causes: vec![RiskCause::Illness],
        alert_level: None,
        alert_history: vec![],
        relocation: None,
        income_per_person: Some(6200.0),
        income_year: Some(2025),
        assurances: Assurances::default(),
        measures: HashMap::new(),
        helper_ids: vec!["helper1".into()],
        senior_helper: String::new(),
        doctor_team: "石门村家医团队".into(),
        members: [head, spouse].into_iter().map(|m| (m.id.clone(), m)).collect(),
        deleted: false,
    }
}

/// A member whose national ID number is made valid from the region code and birth date.
pub fn member(name: &str, sex: Sex, birth: &str, relation: Relation, region: &str) -> Member {
    let seq = if sex == Sex::Female { "002" } else { "001" };
    let national_id = with_check_digit(&format!("{region}{}{seq}", birth.replace('-', "")));
    Member {
        id: new_id(),
        name: name.into(),
        sex,
        birth_date: birth.into(),
        relation,
        national_id,
        events: vec![],
        insured: true,
        chronic_certificate: false,
        disability: None,
        conditions: vec![],
        pregnant: false,
        contract: None,
        employment: Employment::NotApplicable,
    }
}

/// A monthly helper visit with every assurance checked.
pub fn visit() -> Visit {
    let ok = AssuranceCheck { status: AssuranceStatus::Ok, note: String::new() };
    Visit {
        id: new_id(),
        household_id: new_id(),
        member_id: None,
        visitor: "helper1".into(),
        visitor_role: Role::Helper,
        date: "2026-11-20".into(),
        time: "10:30".into(),
        kind: VisitKind::Monthly,
        findings: Assurances {
            food: ok.clone(),
            clothing: ok.clone(),
            education: ok.clone(),
            medical: ok.clone(),
            housing: ok.clone(),
            water: ok,
        },
        income_note: String::new(),
        risk_note: String::new(),
        problems: HashMap::new(),
        measures_delivered: vec![],
        policy_explained: true,
        satisfaction: Some(Satisfaction::Satisfied),
        note: "家中情况稳定".into(),
        gps: None,
        signed_by_household: true,
        attachments: Default::default(),
        deleted: false,
    }
}

/// A screening with normal readings.
pub fn screening() -> Screening {
    Screening {
        id: new_id(),
        household_id: new_id(),
        member_id: new_id(),
        date: "2026-11-20".into(),
        screener: "doctor1".into(),
        visit_id: None,
        campaign: None,
        systolic: Some(118.0),
        diastolic: Some(76.0),
        heart_rate: Some(72.0),
        glucose: Some(5.2),
        glucose_kind: GlucoseKind::Fasting,
        height_cm: Some(165.0),
        weight_kg: Some(60.0),
        waist_cm: None,
        findings: String::new(),
        referral: Referral::default(),
        attachments: Default::default(),
        deleted: false,
    }
}

/// `household()` with every optional field and every list and map filled: the schema test's witness that each field
/// the model writes is documented.
pub fn full_household() -> Household {
    let mut h = household();
    h.gps = Some(Gps { lat: 27.1, lon: 111.5 });
    h.alert_level = Some(AlertLevel::Red);
    h.alert_history =
        vec![AlertChange { date: "2026-02-01".into(), level: Some(AlertLevel::Red), reason: "病".into() }];
    h.relocation =
        Some(Relocation { kind: RelocationKind::InPlace, date: "2019-01-01".into(), from_village: "老村".into() });
    h.measures.insert(
        new_id(),
        Measure {
            kind: MeasureKind::Health,
            start_date: "2026-01-01".into(),
            status: MeasureStatus::Planned,
            note: "".into(),
        },
    );
    h.senior_helper = "helper2".into();
    h.helper_ids.push("helper2".into());
    for m in h.members.values_mut() {
        m.events = vec![MemberEvent { kind: MemberEventKind::MovedIn, date: "2020-01-01".into() }];
        m.disability = Some(Disability { kind: DisabilityKind::Physical, grade: 2 });
        m.conditions = vec![Condition::Diabetes];
        m.contract = Some(DoctorContract {
            team: "石门村家医团队".into(),
            signed_date: "2026-01-10".into(),
            renewal_date: Some("2027-01-10".into()),
        });
    }
    h
}

/// `visit()` with every optional field, a problem, a measure and an attachment.
pub fn full_visit() -> Visit {
    let mut v = visit();
    v.member_id = Some(new_id());
    v.problems.insert(
        new_id(),
        Problem {
            description: "屋顶漏雨".into(),
            assurance: Some(AssuranceKind::Housing),
            status: ProblemStatus::Resolved,
            resolved_date: Some("2026-11-21".into()),
            action: "修缮".into(),
        },
    );
    v.measures_delivered = vec![new_id()];
    v.gps = Some(Gps { lat: 27.1, lon: 111.5 });
    let hash = "a1".repeat(32);
    v.attachments.insert(hash.clone(), sample_attachment(hash));
    v
}

/// `screening()` with every optional field and an attachment.
pub fn full_screening() -> Screening {
    let mut s = screening();
    s.visit_id = Some(new_id());
    s.campaign = Some("2026秋季筛查".into());
    s.waist_cm = Some(80.0);
    let hash = "b2".repeat(32);
    s.attachments.insert(hash.clone(), sample_attachment(hash));
    s
}

fn sample_attachment(hash: String) -> crate::attachment::AttachmentRef {
    crate::attachment::AttachmentRef {
        hash,
        media_type: crate::attachment::JPEG.into(),
        size: 1234,
        kind: crate::attachment::AttachmentKind::Photo,
        caption: "".into(),
    }
}
