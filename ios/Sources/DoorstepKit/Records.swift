// Initializers with the defaults a form starts from. The generated records list every field; these let app code
// name only what the user typed. An empty id means "new": the core assigns a time-ordered id when it saves.
import DoorstepCore

public extension Assurances {
    /// Every assurance unchecked: the state of a blank visit form.
    static var unchecked: Assurances {
        let blank = AssuranceCheck(status: .notChecked, note: "")
        return Assurances(food: blank, clothing: blank, education: blank, medical: blank, housing: blank, water: blank)
    }

    /// One assurance by kind, for rendering the six rows.
    subscript(kind: AssuranceKind) -> AssuranceCheck {
        get {
            switch kind {
            case .food: return food
            case .clothing: return clothing
            case .education: return education
            case .medical: return medical
            case .housing: return housing
            case .water: return water
            }
        }
        set {
            switch kind {
            case .food: food = newValue
            case .clothing: clothing = newValue
            case .education: education = newValue
            case .medical: medical = newValue
            case .housing: housing = newValue
            case .water: water = newValue
            }
        }
    }
}

public extension Household {
    /// A new household with the fields a helper must fill in; everything else empty.
    static func new(number: String, village: String, headName: String, povertyStatus: PovertyStatus = .ordinary,
                    township: String = "", helperIds: [String] = [], members: [Member] = []) -> Household {
        var byKey: [String: Member] = [:]
        for (index, member) in members.enumerated() {
            byKey[member.id.isEmpty ? "new-\(index)" : member.id] = member
        }
        return Household(
            id: "", number: number, township: township, village: village, hamlet: "", address: "",
            headName: headName, phone: "", gps: nil, povertyStatus: povertyStatus, statusHistory: [], riskCauses: [],
            alertLevel: nil, relocation: nil, incomePerPerson: nil, incomeYear: nil, assurances: .unchecked,
            measures: [:], helperIds: helperIds, doctorTeam: "", members: byKey, deleted: false)
    }
}

public extension Member {
    /// A new member; `nationalId` may stay empty until the household shows the card.
    static func new(name: String, sex: Sex, birthDate: String, relation: Relation, nationalId: String = "",
                    conditions: [Condition] = []) -> Member {
        Member(
            id: "", name: name, sex: sex, birthDate: birthDate, relation: relation, nationalId: nationalId,
            events: [], insured: false, chronicCertificate: false, disability: nil, conditions: conditions,
            pregnant: false, contract: nil, employment: .notApplicable)
    }
}

public extension Visit {
    /// A new visit of a household on a date; the form fills in findings, problems, measures and the note.
    static func new(householdId: String, visitor: String, date: String, kind: VisitKind = .monthly,
                    visitorRole: Role = .helper) -> Visit {
        Visit(
            id: "", householdId: householdId, memberId: nil, visitor: visitor, visitorRole: visitorRole, date: date,
            time: "", kind: kind, findings: .unchecked, incomeNote: "", riskNote: "", problems: [:],
            measuresDelivered: [], policyExplained: false, satisfaction: nil, note: "", gps: nil,
            signedByHousehold: false, deleted: false)
    }
}

public extension Screening {
    /// A new screening of a member; measurements left nil were not taken.
    static func new(householdId: String, memberId: String, date: String, screener: String,
                    systolic: Double? = nil, diastolic: Double? = nil, glucose: Double? = nil,
                    heightCm: Double? = nil, weightKg: Double? = nil) -> Screening {
        Screening(
            id: "", householdId: householdId, memberId: memberId, date: date, screener: screener, visitId: nil,
            campaign: nil, systolic: systolic, diastolic: diastolic, heartRate: nil, glucose: glucose,
            glucoseKind: .fasting, heightCm: heightCm, weightKg: weightKg, waistCm: nil, findings: "",
            referral: Referral(level: .none, destination: ""), deleted: false)
    }
}

public extension HouseholdFilter {
    /// A filter that matches every household.
    static var all: HouseholdFilter { HouseholdFilter(village: nil, status: nil, alert: nil, text: nil, helper: nil) }
}
