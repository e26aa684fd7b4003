// The library over a real encrypted store: records go in, come back, survive a reopen, and errors are typed.
// Mirrors android/doorstep-kotlin/src/test/kotlin/app/doorstep/core/StoreTest.kt.
import DoorstepKit
import XCTest

final class StoreTests: XCTestCase {
    func testHouseholdVisitAndScreeningAreReadBackAfterReopening() async throws {
        let dir = try Fixtures.tempDir()
        let key = Fixtures.newKey()
        var store: DoorstepClient? = try await Fixtures.open(dir, key: key)
        let hh = try await store!.save(Fixtures.household())
        let head = try await store!.household(hh).members.values.first { $0.relation == .head }!
        var visit = Visit.new(householdId: hh, visitor: "helper1", date: Fixtures.day())
        visit.findings.water = AssuranceCheck(status: .problem, note: "井水浑浊")
        visit.problems = ["p1": Problem(description: "饮水不安全", assurance: .water, status: .open, resolvedDate: nil, action: "")]
        visit.measuresDelivered = ["HEALTH"]
        visit.note = "走访正常"
        let visitId = try await store!.save(visit)
        let screeningId = try await store!.save(Screening.new(
            householdId: hh, memberId: head.id, date: Fixtures.day(), screener: "doctor1",
            systolic: 168, diastolic: 102, glucose: 6.5, heightCm: 165, weightKg: 72))
        store = nil

        let reopened = try await Fixtures.open(dir, key: key)
        let household = try await reopened.household(hh)
        XCTAssertEqual(household.headName, "王大山")
        XCTAssertEqual(household.members.count, 2)
        let savedVisit = try await reopened.visit(visitId)
        XCTAssertEqual(savedVisit.findings.water.status, .problem)
        XCTAssertEqual(savedVisit.problems["p1"]?.description, "饮水不安全")
        let visits = try await reopened.visits(of: hh)
        XCTAssertEqual(visits.map { $0.id }, [visitId])
        let screening = try await reopened.screening(screeningId)
        XCTAssertEqual(screening.systolic, 168)
        let classified = try await reopened.screenings(of: head.id)
        XCTAssertEqual(classified.first?.classification.bpGrade, .grade2)
        let list = try await reopened.households()
        XCTAssertEqual(list.map { $0.id }, [hh])
        XCTAssertEqual(list.first?.openProblems, 1)
        let pending = try await reopened.pendingChanges()
        XCTAssertGreaterThan(pending, 0)
    }

    func testValidationErrorNamesTheField() async throws {
        let store = try await Fixtures.open(try Fixtures.tempDir(), key: Fixtures.newKey())
        let hh = try await store.save(Fixtures.household())
        let member = try await store.household(hh).members.keys.first!
        let bad = Screening.new(householdId: hh, memberId: member, date: Fixtures.day(), screener: "doctor1",
                                systolic: 400, diastolic: 80)
        do {
            _ = try await store.save(bad)
            XCTFail("an out-of-range systolic must be refused")
        } catch let error as DoorstepClientError {
            XCTAssertTrue(error.fields.contains("systolic"), "\(error)")
        }
        let stored = try await store.screenings(of: member)
        XCTAssertTrue(stored.isEmpty, "nothing invalid is stored")
    }

    func testMissingRecordAndWrongKeyAreTyped() async throws {
        let dir = try Fixtures.tempDir()
        let store = try await Fixtures.open(dir, key: Fixtures.newKey())
        _ = try await store.save(Fixtures.household())
        do {
            _ = try await store.household("no-such-household")
            XCTFail("expected notFound")
        } catch DoorstepClientError.notFound(let what) {
            XCTAssertTrue(what.contains("no-such-household"))
        }
        do {
            _ = try await Fixtures.open(dir, key: Fixtures.newKey(), device: "thief")
            XCTFail("a wrong key must not open the store")
        } catch DoorstepClientError.wrongKey {
        }
        let bytes = try Data(contentsOf: dir.appendingPathComponent("store.db"))
        XCTAssertFalse(String(decoding: bytes, as: UTF8.self).contains("王大山"), "the file holds no plaintext name")
    }

    func testClassificationFollowsTheNumbersAsTyped() {
        var s = Screening.new(householdId: "h", memberId: "m", date: Fixtures.day(), screener: "doctor1")
        XCTAssertNil(Forms.classify(s).bpGrade)
        s.systolic = 185
        s.diastolic = 112
        XCTAssertEqual(Forms.classify(s).bpGrade, .grade3)
        XCTAssertEqual(Forms.classify(s).suggestedReferral, .urgent)
        s.glucose = 8.1
        XCTAssertEqual(Forms.classify(s).glucoseBand, .diabetes)
        s.diastolic = 250
        XCTAssertTrue(Forms.validate(s).contains { $0.field == "diastolic" })
        let id = Fixtures.nationalId(region: "522422", birthDate: "1961-03-05", sequence: "123")
        XCTAssertFalse(Forms.maskNationalId(id).contains("19610305"))
    }

    func testDeletedRecordsLeaveTheListsAndDueItemsComeFromTheSchedule() async throws {
        let store = try await Fixtures.open(try Fixtures.tempDir(), key: Fixtures.newKey())
        let hh = try await store.save(Fixtures.household())
        let due = try await store.due(on: Fixtures.day())
        XCTAssertTrue(due.contains { $0.householdId == hh && $0.kind == .helperVisit })
        var rules = try await store.scheduleRules()
        rules.monthlyVisits = 2
        try await store.setScheduleRules(rules)
        let after = try await store.scheduleRules()
        XCTAssertEqual(after.monthlyVisits, 2)
        // Rules announced ahead take effect on their date; today is still judged by the rules in force.
        rules.monthlyVisits = 3
        try await store.setScheduleRules(rules, from: "2099-01-01")
        let today = try await store.scheduleRules(on: Fixtures.day())
        XCTAssertEqual(today.monthlyVisits, 2)
        let visitId = try await store.save(Visit.new(householdId: hh, visitor: "helper1", date: Fixtures.day()))
        try await store.deleteVisit(visitId)
        let visits = try await store.visits(of: hh)
        XCTAssertTrue(visits.isEmpty)
        let problems = try await store.openProblems()
        XCTAssertTrue(problems.isEmpty)
        let referrals = try await store.pendingReferrals()
        XCTAssertTrue(referrals.isEmpty)
        try await store.deleteHousehold(hh)
        let list = try await store.households()
        XCTAssertTrue(list.isEmpty)
    }

    func testMemberAddedFieldHistoryKeptAndNewKeyReplacesOld() async throws {
        let dir = try Fixtures.tempDir()
        let oldKey = Fixtures.newKey()
        let newKey = Fixtures.newKey()
        var store: DoorstepClient? = try await Fixtures.open(dir, key: oldKey)
        let hh = try await store!.save(Fixtures.household())
        let child = try await store!.save(Member.new(name: "王小明", sex: .male, birthDate: "2012-06-01",
                                                     relation: .grandchild), in: hh)
        let withChild = try await store!.household(hh)
        XCTAssertEqual(withChild.members[child]?.name, "王小明")
        for phone in ["13800000001", "13800000002"] {
            var h = try await store!.household(hh)
            h.phone = phone
            _ = try await store!.save(h)
        }
        let history = try await store!.fieldHistory(docId: hh, field: "phone")
        XCTAssertTrue(Set(history.map { $0.valueJson }).isSuperset(of: ["\"13800000001\"", "\"13800000002\""]))
        try await store!.rekey(newKey)
        store = nil
        do {
            _ = try await Fixtures.open(dir, key: oldKey)
            XCTFail("the old key must no longer open the store")
        } catch DoorstepClientError.wrongKey {
        }
        let reopened = try await Fixtures.open(dir, key: newKey)
        let household = try await reopened.household(hh)
        XCTAssertEqual(household.members.count, 3)
    }
}
