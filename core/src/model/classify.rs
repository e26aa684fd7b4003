//! Classification of screening measurements, computed in the core so that phone, server and ledgers agree.
//!
//! The cut-offs are reference standards (Chinese hypertension guideline, WHO glucose bands, Chinese adult BMI), kept
//! in `Thresholds` so a county can change them without a code change.

use super::{BmiBand, BpGrade, GlucoseBand, GlucoseKind, ReferralLevel, Screening};
use serde::{Deserialize, Serialize};

/// Cut-offs used by the classification; `Default` holds the reference values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Lower bounds (systolic, diastolic) of high-normal, grade 1, grade 2 and grade 3.
    pub bp_high_normal: (f64, f64),
    pub bp_grade1: (f64, f64),
    pub bp_grade2: (f64, f64),
    pub bp_grade3: (f64, f64),
    pub fasting_impaired: f64,
    pub fasting_diabetes: f64,
    pub random_diabetes: f64,
    pub glucose_urgent: f64,
    pub bmi_normal: f64,
    pub bmi_overweight: f64,
    pub bmi_obese: f64,
    /// Blood pressure under control below these values (for hypertensive patients' follow-ups).
    pub bp_controlled: (f64, f64),
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            bp_high_normal: (120.0, 80.0),
            bp_grade1: (140.0, 90.0),
            bp_grade2: (160.0, 100.0),
            bp_grade3: (180.0, 110.0),
            fasting_impaired: 6.1,
            fasting_diabetes: 7.0,
            random_diabetes: 11.1,
            glucose_urgent: 16.7,
            bmi_normal: 18.5,
            bmi_overweight: 24.0,
            bmi_obese: 28.0,
            bp_controlled: (140.0, 90.0),
        }
    }
}

/// What the screening form shows as the numbers are typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct Classification {
    pub bp_grade: Option<BpGrade>,
    pub glucose_band: Option<GlucoseBand>,
    pub bmi: Option<f64>,
    pub bmi_band: Option<BmiBand>,
    pub suggested_referral: ReferralLevel,
    /// True when any measurement is outside its normal band.
    pub abnormal: bool,
}

/// Grade of a blood-pressure reading: the higher of the grades its two numbers fall in.
pub fn bp_grade(systolic: f64, diastolic: f64, t: &Thresholds) -> BpGrade {
    let at_least = |(s, d): (f64, f64)| systolic >= s || diastolic >= d;
    if at_least(t.bp_grade3) {
        BpGrade::Grade3
    } else if at_least(t.bp_grade2) {
        BpGrade::Grade2
    } else if at_least(t.bp_grade1) {
        BpGrade::Grade1
    } else if at_least(t.bp_high_normal) {
        BpGrade::HighNormal
    } else {
        BpGrade::Normal
    }
}

/// Band of a glucose reading; a random reading is only ever normal or in the diabetes range.
pub fn glucose_band(value: f64, kind: GlucoseKind, t: &Thresholds) -> GlucoseBand {
    match kind {
        GlucoseKind::Fasting if value >= t.fasting_diabetes => GlucoseBand::Diabetes,
        GlucoseKind::Fasting if value >= t.fasting_impaired => GlucoseBand::Impaired,
        GlucoseKind::Random if value >= t.random_diabetes => GlucoseBand::Diabetes,
        _ => GlucoseBand::Normal,
    }
}

/// Body-mass index band for adults.
pub fn bmi_band(bmi: f64, t: &Thresholds) -> BmiBand {
    if bmi >= t.bmi_obese {
        BmiBand::Obese
    } else if bmi >= t.bmi_overweight {
        BmiBand::Overweight
    } else if bmi >= t.bmi_normal {
        BmiBand::Normal
    } else {
        BmiBand::Underweight
    }
}

/// Whether a hypertensive patient's reading counts as controlled.
pub fn bp_controlled(systolic: f64, diastolic: f64, t: &Thresholds) -> bool {
    systolic < t.bp_controlled.0 && diastolic < t.bp_controlled.1
}

/// Classifies every measurement present and suggests a referral: grade 3 or glucose at the urgent level is urgent,
/// grade 2 or the diabetes range is routine.
pub fn classify(s: &Screening, t: &Thresholds) -> Classification {
    let bp = match (s.systolic, s.diastolic) {
        (Some(sys), Some(dia)) => Some(bp_grade(sys, dia, t)),
        _ => None,
    };
    let glucose = s.glucose.map(|g| glucose_band(g, s.glucose_kind, t));
    let bmi = match (s.height_cm, s.weight_kg) {
        (Some(h), Some(w)) if h > 0.0 => Some(((w / (h / 100.0).powi(2)) * 10.0).round() / 10.0),
        _ => None,
    };
    let band = bmi.map(|b| bmi_band(b, t));
    let urgent = bp == Some(BpGrade::Grade3) || s.glucose.is_some_and(|g| g >= t.glucose_urgent);
    let routine = bp == Some(BpGrade::Grade2) || glucose == Some(GlucoseBand::Diabetes);
    let suggested_referral = if urgent {
        ReferralLevel::Urgent
    } else if routine {
        ReferralLevel::Routine
    } else {
        ReferralLevel::None
    };
    let abnormal = matches!(bp, Some(BpGrade::Grade1 | BpGrade::Grade2 | BpGrade::Grade3))
        || matches!(glucose, Some(GlucoseBand::Impaired | GlucoseBand::Diabetes))
        || suggested_referral != ReferralLevel::None;
    Classification { bp_grade: bp, glucose_band: glucose, bmi, bmi_band: band, suggested_referral, abnormal }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Thresholds {
        Thresholds::default()
    }

    #[test]
    fn bp_grades_follow_the_higher_number() {
        assert_eq!(bp_grade(118.0, 78.0, &t()), BpGrade::Normal);
        assert_eq!(bp_grade(120.0, 70.0, &t()), BpGrade::HighNormal);
        assert_eq!(bp_grade(139.0, 90.0, &t()), BpGrade::Grade1);
        assert_eq!(bp_grade(165.0, 85.0, &t()), BpGrade::Grade2);
        assert_eq!(bp_grade(150.0, 110.0, &t()), BpGrade::Grade3);
    }

    #[test]
    fn glucose_and_bmi_bands() {
        assert_eq!(glucose_band(6.0, GlucoseKind::Fasting, &t()), GlucoseBand::Normal);
        assert_eq!(glucose_band(6.1, GlucoseKind::Fasting, &t()), GlucoseBand::Impaired);
        assert_eq!(glucose_band(7.0, GlucoseKind::Fasting, &t()), GlucoseBand::Diabetes);
        assert_eq!(glucose_band(9.0, GlucoseKind::Random, &t()), GlucoseBand::Normal);
        assert_eq!(glucose_band(11.1, GlucoseKind::Random, &t()), GlucoseBand::Diabetes);
        assert_eq!(bmi_band(18.4, &t()), BmiBand::Underweight);
        assert_eq!(bmi_band(23.9, &t()), BmiBand::Normal);
        assert_eq!(bmi_band(24.0, &t()), BmiBand::Overweight);
        assert_eq!(bmi_band(28.0, &t()), BmiBand::Obese);
    }

    #[test]
    fn referral_is_urgent_for_grade3_or_very_high_glucose() {
        let mut s = crate::model::samples::screening();
        s.systolic = Some(185.0);
        s.diastolic = Some(95.0);
        assert_eq!(classify(&s, &t()).suggested_referral, ReferralLevel::Urgent);
        s.systolic = Some(125.0);
        s.diastolic = Some(75.0);
        s.glucose = Some(16.7);
        let c = classify(&s, &t());
        assert_eq!(c.suggested_referral, ReferralLevel::Urgent);
        assert!(c.abnormal);
        s.glucose = Some(7.5);
        assert_eq!(classify(&s, &t()).suggested_referral, ReferralLevel::Routine);
        s.glucose = Some(5.0);
        let c = classify(&s, &t());
        assert_eq!(c.suggested_referral, ReferralLevel::None);
        assert!(!c.abnormal);
    }

    #[test]
    fn bmi_is_computed_from_height_and_weight() {
        let mut s = crate::model::samples::screening();
        s.height_cm = Some(170.0);
        s.weight_kg = Some(72.0);
        let c = classify(&s, &t());
        assert_eq!(c.bmi, Some(24.9));
        assert_eq!(c.bmi_band, Some(BmiBand::Overweight));
    }
}
