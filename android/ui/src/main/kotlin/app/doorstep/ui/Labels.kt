package app.doorstep.ui

import app.doorstep.core.AlertLevel
import app.doorstep.core.AssuranceKind
import app.doorstep.core.AssuranceStatus
import app.doorstep.core.BmiBand
import app.doorstep.core.BpGrade
import app.doorstep.core.Condition
import app.doorstep.core.GlucoseBand
import app.doorstep.core.PovertyStatus
import app.doorstep.core.ProblemStatus
import app.doorstep.core.ReferralLevel
import app.doorstep.core.Relation
import app.doorstep.core.Satisfaction

/* The string-table key of each value of the core's enums; `when` makes a new enum value a compile error here. */

fun PovertyStatus.label(): Str = when (this) {
    PovertyStatus.ORDINARY -> Str.POVERTY_ORDINARY
    PovertyStatus.REGISTERED_POOR -> Str.POVERTY_REGISTERED_POOR
    PovertyStatus.LIFTED -> Str.POVERTY_LIFTED
    PovertyStatus.MONITORED -> Str.POVERTY_MONITORED
    PovertyStatus.EDGE -> Str.POVERTY_EDGE
}

fun AlertLevel.label(): Str = when (this) {
    AlertLevel.RED -> Str.ALERT_RED
    AlertLevel.YELLOW -> Str.ALERT_YELLOW
    AlertLevel.BLUE -> Str.ALERT_BLUE
}

fun AssuranceKind.label(): Str = when (this) {
    AssuranceKind.FOOD -> Str.ASSURANCE_FOOD
    AssuranceKind.CLOTHING -> Str.ASSURANCE_CLOTHING
    AssuranceKind.EDUCATION -> Str.ASSURANCE_EDUCATION
    AssuranceKind.MEDICAL -> Str.ASSURANCE_MEDICAL
    AssuranceKind.HOUSING -> Str.ASSURANCE_HOUSING
    AssuranceKind.WATER -> Str.ASSURANCE_WATER
}

fun AssuranceStatus.label(): Str = when (this) {
    AssuranceStatus.NOT_CHECKED -> Str.STATUS_NOT_CHECKED
    AssuranceStatus.OK -> Str.STATUS_OK
    AssuranceStatus.PROBLEM -> Str.STATUS_PROBLEM
    AssuranceStatus.NOT_APPLICABLE -> Str.STATUS_NA
}

fun ProblemStatus.label(): Str = when (this) {
    ProblemStatus.OPEN -> Str.PROBLEM_OPEN
    ProblemStatus.IN_PROGRESS -> Str.PROBLEM_IN_PROGRESS
    ProblemStatus.RESOLVED -> Str.PROBLEM_RESOLVED
}

fun Satisfaction.label(): Str = when (this) {
    Satisfaction.VERY_SATISFIED -> Str.SATISFACTION_VERY
    Satisfaction.SATISFIED -> Str.SATISFACTION_SATISFIED
    Satisfaction.NEUTRAL -> Str.SATISFACTION_NEUTRAL
    Satisfaction.DISSATISFIED -> Str.SATISFACTION_DISSATISFIED
}

fun Condition.label(): Str = when (this) {
    Condition.HYPERTENSION -> Str.CONDITION_HYPERTENSION
    Condition.DIABETES -> Str.CONDITION_DIABETES
    Condition.SEVERE_MENTAL -> Str.CONDITION_SEVERE_MENTAL
    Condition.TUBERCULOSIS -> Str.CONDITION_TUBERCULOSIS
    Condition.ECHINOCOCCOSIS -> Str.CONDITION_ECHINOCOCCOSIS
    Condition.CATARACT -> Str.CONDITION_CATARACT
    Condition.OTHER -> Str.CONDITION_OTHER
}

fun Relation.label(): Str = when (this) {
    Relation.HEAD -> Str.RELATION_HEAD
    Relation.SPOUSE -> Str.RELATION_SPOUSE
    Relation.CHILD -> Str.RELATION_CHILD
    Relation.PARENT -> Str.RELATION_PARENT
    Relation.GRANDCHILD -> Str.RELATION_GRANDCHILD
    Relation.CHILD_IN_LAW -> Str.RELATION_CHILD_IN_LAW
    Relation.SIBLING -> Str.RELATION_SIBLING
    Relation.OTHER -> Str.RELATION_OTHER
}

fun BpGrade.label(): Str = when (this) {
    BpGrade.NORMAL -> Str.BP_NORMAL
    BpGrade.HIGH_NORMAL -> Str.BP_HIGH_NORMAL
    BpGrade.GRADE1 -> Str.BP_GRADE1
    BpGrade.GRADE2 -> Str.BP_GRADE2
    BpGrade.GRADE3 -> Str.BP_GRADE3
}

fun GlucoseBand.label(): Str = when (this) {
    GlucoseBand.NORMAL -> Str.GLUCOSE_NORMAL
    GlucoseBand.IMPAIRED -> Str.GLUCOSE_IMPAIRED
    GlucoseBand.DIABETES -> Str.GLUCOSE_DIABETES
}

fun BmiBand.label(): Str = when (this) {
    BmiBand.UNDERWEIGHT -> Str.BMI_UNDERWEIGHT
    BmiBand.NORMAL -> Str.BMI_NORMAL
    BmiBand.OVERWEIGHT -> Str.BMI_OVERWEIGHT
    BmiBand.OBESE -> Str.BMI_OBESE
}

fun ReferralLevel.label(): Str = when (this) {
    ReferralLevel.NONE -> Str.REFERRAL_NONE
    ReferralLevel.ROUTINE -> Str.REFERRAL_ROUTINE
    ReferralLevel.URGENT -> Str.REFERRAL_URGENT
}
