// The app's view models over a real store: what each screen shows after what the user does.
// Mirrors android/app-logic/src/test/kotlin/app/doorstep/logic/ViewModelTest.kt.
import DoorstepAppLogic
import DoorstepKit
import Foundation
import Security
import XCTest

@MainActor
final class ViewModelTests: XCTestCase {
    private var client: DoorstepClient!
    private var householdId = ""
    private var headId = ""

    override func setUp() async throws {
        var bytes = [UInt8](repeating: 0, count: 32)
        _ = SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("doorstep-vm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        client = try await DoorstepClient.open(path: dir.appendingPathComponent("s.db"), key: Data(bytes),
                                               deviceName: "vm-phone")
        let household = Household.new(
            number: "HH-001", village: "石门村", headName: "王大山", povertyStatus: .monitored, helperIds: ["helper1"],
            members: [
                Member.new(name: "王大山", sex: .male, birthDate: "1961-03-05", relation: .head),
                Member.new(name: "李秀英", sex: .female, birthDate: "1964-08-19", relation: .spouse),
            ])
        householdId = try await client.save(household)
        headId = try await client.household(householdId).members.values.first { $0.name == "王大山" }!.id
    }

    func testDueListShowsTheUnvisitedHousehold() async throws {
        let due = DueListModel(client: client)
        await due.refresh()
        XCTAssertTrue(due.items.contains { $0.householdId == householdId && $0.kind == .helperVisit })
        XCTAssertEqual(due.items.first?.overdue, true, "overdue items come first")
    }

    func testVisitFormRecordsSixAssurancesAProblemMeasuresAndANote() async throws {
        let form = VisitFormModel(client: client, householdId: householdId, visitor: "helper1")
        form.set(.water, status: .problem)
        form.set(.education, status: .notApplicable)
        form.newProblem = "饮水不安全"
        form.addProblem(assurance: .water)
        form.visit.measuresDelivered = ["HEALTH"]
        form.visit.note = "户主血压偏高"
        await form.save()
        XCTAssertTrue(form.saved, "\(form.errors)")
        let visits = try await client.visits(of: householdId)
        XCTAssertEqual(visits.first?.findings.water.status, .problem)
        XCTAssertEqual(visits.first?.problems.values.first?.description, "饮水不安全")
        XCTAssertEqual(visits.first?.note, "户主血压偏高")

        let detail = HouseholdDetailModel(client: client, householdId: householdId)
        await detail.refresh()
        XCTAssertEqual(detail.detail?.openProblems.count, 1)
    }

    func testVisitFormWithAFutureDateShowsTheErrorAndStoresNothing() async throws {
        let form = VisitFormModel(client: client, householdId: householdId, visitor: "helper1")
        form.visit.date = "2999-01-01"
        await form.save()
        XCTAssertFalse(form.saved)
        XCTAssertNotNil(form.errors["date"])
        let visits = try await client.visits(of: householdId)
        XCTAssertTrue(visits.isEmpty)
    }

    func testScreeningFormClassifiesAsTheNumbersAreTyped() async throws {
        let form = ScreeningFormModel(client: client, householdId: householdId, memberId: headId, screener: "doctor1")
        XCTAssertNil(form.classification.bpGrade)
        form.input(.systolic, "1")
        XCTAssertNotNil(form.errors["systolic"], "1 mmHg is out of range")
        form.input(.systolic, "185")
        form.input(.diastolic, "11x")
        XCTAssertNotNil(form.errors["diastolic"], "unparsable text is an error of its field")
        form.input(.diastolic, "112")
        XCTAssertEqual(form.classification.bpGrade, .grade3)
        XCTAssertEqual(form.classification.suggestedReferral, .urgent)
        form.input(.glucose, "7,5")
        XCTAssertEqual(form.classification.glucoseBand, .diabetes)
        XCTAssertTrue(form.errors.isEmpty, "\(form.errors)")
        await form.save()
        XCTAssertTrue(form.saved)
        let stored = try await client.screenings(of: headId)
        XCTAssertEqual(stored.first?.classification.bpGrade, .grade3)
    }

    func testHouseholdListFiltersByText() async throws {
        _ = try await client.save(Household.new(number: "HH-002", village: "水口村", headName: "张二妹"))
        let list = HouseholdListModel(client: client)
        await list.refresh()
        XCTAssertEqual(list.households.count, 2)
        list.text = "张二妹"
        await list.refresh()
        XCTAssertEqual(list.households.map { $0.number }, ["HH-002"])
    }

    func testLoginAndSyncScreensShowTypedFailuresWithoutAServer() async throws {
        let login = LoginModel(client: client)
        login.server = "http://127.0.0.1:9"
        login.user = "helper1"
        login.password = "pw"
        let info = await login.signIn()
        XCTAssertNil(info)
        XCTAssertNotNil(login.error)
        XCTAssertEqual(login.password, "", "the password is cleared")

        let sync = SyncModel(client: client)
        await sync.syncNow()
        XCTAssertEqual(sync.error?.zh, "请先登录")
        XCTAssertGreaterThan(sync.status?.pending ?? 0, 0)
    }
}
