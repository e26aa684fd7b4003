package app.doorstep.core

/*
 * Constructors with the defaults a form starts from. The generated records list every field; these let app code
 * name only what the user typed. An empty id means "new": the core assigns a time-ordered id when it saves.
 */

/** An unchecked assurance, the state of every assurance on a blank visit form. */
fun uncheckedAssurances(): Assurances {
    fun blank() = AssuranceCheck(AssuranceStatus.NOT_CHECKED, "")
    return Assurances(blank(), blank(), blank(), blank(), blank(), blank())
}

/** A new household with the fields a helper must fill in; everything else empty. */
fun newHousehold(
    number: String,
    village: String,
    headName: String,
    povertyStatus: PovertyStatus = PovertyStatus.ORDINARY,
    township: String = "",
    helperIds: List<String> = emptyList(),
    members: List<Member> = emptyList(),
): Household = Household(
    id = "", number = number, township = township, village = village, hamlet = "", address = "",
    headName = headName, phone = "", gps = null, povertyStatus = povertyStatus, statusHistory = emptyList(),
    riskCauses = emptyList(), alertLevel = null, relocation = null, incomePerPerson = null, incomeYear = null,
    assurances = uncheckedAssurances(), measures = emptyMap(), helperIds = helperIds, doctorTeam = "",
    members = members.associateBy { it.id.ifEmpty { "new-" + it.name + "-" + it.birthDate } }, deleted = false,
)

/** A new member; `nationalId` may stay empty until the household shows the card. */
fun newMember(
    name: String,
    sex: Sex,
    birthDate: String,
    relation: Relation,
    nationalId: String = "",
    conditions: List<Condition> = emptyList(),
): Member = Member(
    id = "", name = name, sex = sex, birthDate = birthDate, relation = relation, nationalId = nationalId,
    events = emptyList(), insured = false, chronicCertificate = false, disability = null, conditions = conditions,
    pregnant = false, contract = null, employment = Employment.NOT_APPLICABLE,
)

/** A new visit of a household on a date; the form fills in findings, problems, measures and the note. */
fun newVisit(
    householdId: String,
    visitor: String,
    date: String,
    kind: VisitKind = VisitKind.MONTHLY,
    visitorRole: Role = Role.HELPER,
): Visit = Visit(
    id = "", householdId = householdId, memberId = null, visitor = visitor, visitorRole = visitorRole, date = date,
    time = "", kind = kind, findings = uncheckedAssurances(), incomeNote = "", riskNote = "", problems = emptyMap(),
    measuresDelivered = emptyList(), policyExplained = false, satisfaction = null, note = "", gps = null,
    signedByHousehold = false, deleted = false,
)

/** A new screening of a member; measurements left null were not taken. */
fun newScreening(
    householdId: String,
    memberId: String,
    date: String,
    screener: String,
    systolic: Double? = null,
    diastolic: Double? = null,
    glucose: Double? = null,
    heightCm: Double? = null,
    weightKg: Double? = null,
): Screening = Screening(
    id = "", householdId = householdId, memberId = memberId, date = date, screener = screener, visitId = null,
    campaign = null, systolic = systolic, diastolic = diastolic, heartRate = null, glucose = glucose,
    glucoseKind = GlucoseKind.FASTING, heightCm = heightCm, weightKg = weightKg, waistCm = null, findings = "",
    referral = Referral(ReferralLevel.NONE, ""), deleted = false,
)

/** A filter that matches every household. */
fun allHouseholds(): HouseholdFilter = HouseholdFilter(village = null, status = null, alert = null, text = null, helper = null)
